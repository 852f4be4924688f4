//! The one clock of the gateway. Every timestamp it stores or compares (the alert log, quota
//! samples, AD state, journal entries, config versions) is read here, so a test or a later
//! change of the time source has one place to look at.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Time since the epoch; zero on a clock set before 1970.
pub fn since_epoch() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    since_epoch().as_secs()
}

/// Nanoseconds since the epoch (change times of created entries, see `core::plan`).
pub fn now_ns() -> u64 {
    since_epoch().as_nanos() as u64
}

#[cfg(test)]
mod tests {
    #[test]
    fn seconds_and_nanoseconds_agree() {
        let (s, ns) = (super::now(), super::now_ns());
        assert!(s > 1_600_000_000 && ns / 1_000_000_000 >= s);
    }
}
