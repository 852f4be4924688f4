//! When a failed run of PBS's client is worth another attempt, and how long to wait before it:
//! the client's failures told apart by its message (crates/gateway/src/pbs.rs runs it), and
//! exponential backoff with jitter. The sleep and the random source are the caller's, so tests
//! record the waits instead of waiting.

use std::time::Duration;

/// What a failed run of the client means for the next attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// It may pass later: network, a busy or overloaded server.
    Transient,
    /// The server refused the credentials.
    Auth,
    /// The server's certificate is not the one the storage names (or none is named).
    Fingerprint,
    /// The datastore or namespace does not exist on the server.
    Datastore,
    /// Anything else: not retried, reported as the client said it.
    Other,
    /// The client could not be run here (not installed): a system error.
    Local,
}

impl Failure {
    pub fn transient(self) -> bool {
        self == Failure::Transient
    }
}

/// The client's own message: its last `Error: ` line (its anyhow error), else its last line.
pub fn client_message(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    lines
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("Error: "))
        .or(lines.last().copied())
        .unwrap_or("no error message")
        .to_string()
}

/// Classify a failed run by the client's exit status (None: killed) and its stderr.
pub fn classify(code: Option<i32>, stderr: &str) -> Failure {
    if code.is_none() {
        return Failure::Transient;
    }
    let msg = client_message(stderr).to_ascii_lowercase();
    let any = |words: &[&str]| words.iter().any(|w| msg.contains(w));
    if any(&[
        "certificate verify failed",
        "fingerprint",
        "certificate validation failed",
    ]) {
        Failure::Fingerprint
    } else if any(&[
        "permission check failed",
        "authentication failed",
        "no password input mechanism",
        "api token secret must be provided",
        "owner check failed",
    ]) {
        Failure::Auth
    } else if any(&["no such datastore", "datastore '"]) && !any(&["maintenance", "another backup"])
        || msg.contains("namespace") && msg.contains("does not exist")
    {
        Failure::Datastore
    } else if any(&[
        "connection refused",
        "timed out",
        "deadline has elapsed",
        "connection reset",
        "broken pipe",
        "no route to host",
        "network is unreachable",
        "temporary failure in name resolution",
        "service unavailable",
        "not finished in time",
        "another backup is already running",
        "locked by another operation",
        "unexpected eof",
        "connection closed",
    ]) {
        Failure::Transient
    } else {
        Failure::Other
    }
}

/// How often and how long to wait between attempts: the n-th retry waits a random time
/// between half and all of `first * 2^n`, at most `max` (exponential backoff, equal jitter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Attempts in all (1: no retry).
    pub attempts: u32,
    pub first: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            attempts: 5,
            first: Duration::from_secs(5),
            max: Duration::from_secs(120),
        }
    }
}

impl Backoff {
    /// The wait before retry `retry` (0: the first retry), with `jitter` in [0, 1).
    pub fn delay(&self, retry: u32, jitter: f64) -> Duration {
        let full = self
            .first
            .saturating_mul(1u32.checked_shl(retry).unwrap_or(u32::MAX))
            .min(self.max);
        full / 2 + full.mul_f64(jitter.clamp(0.0, 1.0) / 2.0)
    }
}

/// A small random source for the jitter (xorshift64*, seeded from the clock and the pid): the
/// waits of many nodes retrying at once spread out; nothing here needs more.
pub(crate) struct Jitter(u64);

impl Jitter {
    pub(crate) fn new() -> Self {
        let seed = smbgw_sys::time::now_ns() ^ (u64::from(std::process::id()) << 32);
        Jitter(seed | 1)
    }

    pub(crate) fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A failed attempt: its kind and the client's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    pub failure: Failure,
    pub message: String,
}

/// Run `attempt` until it succeeds, fails permanently, or `backoff.attempts` are spent,
/// calling `sleep` with each wait (tests record the waits instead of waiting). Returns the
/// result or the last failed attempt with the number of attempts made.
pub fn retry<T>(
    backoff: &Backoff,
    sleep: &mut dyn FnMut(Duration),
    jitter: &mut dyn FnMut() -> f64,
    mut attempt: impl FnMut() -> std::result::Result<T, Attempt>,
) -> std::result::Result<T, (Attempt, u32)> {
    let mut n = 0;
    loop {
        n += 1;
        match attempt() {
            Ok(v) => return Ok(v),
            Err(a) if a.failure.transient() && n < backoff.attempts.max(1) => sleep(backoff.delay(n - 1, jitter())),
            Err(a) => return Err((a, n)),
        }
    }
}
