//! The CTDB cluster lock that follows PVE's corosync membership (`smbgw-ctdb-quorum-lock`).
//!
//! CTDB runs a mutex helper (`cluster lock = !helper args`) on every node that wants to become
//! leader; the helper answers one character on stdout ('0' taken, '1' contention, '3' error) and,
//! having said '0', holds the lock until it exits (ctdb/doc/cluster_mutex_helper.txt).
//!
//! # Why this is a mutex
//!
//! 1. *Between partitions*: only a node in the quorate corosync partition may hold the lock, and
//!    a holder exits the moment its node loses quorum (libquorum calls back at the instant the
//!    membership changes; recipe 10 measured both sides flipping within ~10 ms of each other).
//!    A new holder waits `margin` before answering '0', so the old holder is gone first.
//! 2. *Inside the quorate partition*: every helper joins one corosync CPG group. CPG is
//!    virtually synchronous: all members see the same sequence of memberships. A helper takes the
//!    lock only when it is the *only* member of the group. Any later helper therefore sees the
//!    holder in its first membership and cannot take the lock while the holder lives; a helper
//!    that sees a smaller (nodeid, pid) member gives up at once ('1'), the smallest one waits up to
//!    `contend` for the others to go. So two helpers racing for a free lock never livelock: the
//!    bigger one leaves, the smaller one ends up alone and takes it. A holder is never preempted.
//!
//! What it does not cover: a node whose corosync hangs without dying (SIGSTOP, a kernel stall)
//! keeps believing it is quorate; PVE fences such nodes with its watchdog (pve-ha-crm/lrm), and
//! the margin only covers callback skew, not a frozen node. With no lock the same split brain
//! happens on every partition, so this is strictly better than `--no-lock`, and unlike a local
//! lock file it fails over when the leader is cut off.

use std::time::{Duration, Instant};

use crate::corosync::{events, Cpg, Quorum};

pub const DEFAULT_GROUP: &str = "smbgw-ctdb-lock";
pub const DEFAULT_MARGIN: Duration = Duration::from_millis(500);
pub const DEFAULT_CONTEND: Duration = Duration::from_millis(1000);

#[derive(Clone, Debug)]
pub struct LockOptions {
    /// CPG group name: one per CTDB cluster.
    pub group: String,
    /// Wait after winning before answering '0' (see the module docs).
    pub margin: Duration,
    /// How long the smallest contender waits for the others to leave.
    pub contend: Duration,
}

impl Default for LockOptions {
    fn default() -> Self {
        Self {
            group: DEFAULT_GROUP.into(),
            margin: DEFAULT_MARGIN,
            contend: DEFAULT_CONTEND,
        }
    }
}

/// One step of the election, from what this helper sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Take,
    Wait,
    Contention,
}

/// `me` and `members` are (corosync nodeid, pid); `members` includes `me`.
pub fn decide(me: (u32, u32), members: &[(u32, u32)], quorate: bool) -> Decision {
    if !quorate || members.iter().any(|&m| m < me) {
        Decision::Contention
    } else if members.iter().all(|&m| m == me) {
        Decision::Take
    } else {
        Decision::Wait
    }
}

/// Parse the helper's arguments: `[--group NAME] [--margin-ms N] [--contend-ms N]`.
///
/// Errors stay plain messages here: the helper is its own program, run by ctdbd, which reads
/// only its one-character answers; the gateway's error kinds, fields and exit codes mean
/// nothing to it, and the message goes to its stderr as it is.
pub fn parse_args(args: &[String]) -> Result<LockOptions, String> {
    let mut opts = LockOptions::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{arg} needs a value"));
        let ms = |v: String| {
            v.parse::<u64>()
                .map(Duration::from_millis)
                .map_err(|_| format!("{arg}: bad number {v:?}"))
        };
        match arg.as_str() {
            "--group" => opts.group = value()?,
            "--margin-ms" => opts.margin = ms(value()?)?,
            "--contend-ms" => opts.contend = ms(value()?)?,
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    Ok(opts)
}

/// How the helper ended, for the exit code (ctdb ignores it; it helps when run by hand).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Contention,
    Error,
    /// Held, then released because quorum was lost, corosync died or ctdbd went away.
    Released,
}

/// The helper's main loop. `answer` writes the status character to ctdbd.
pub fn run(opts: &LockOptions, mut answer: impl FnMut(u8)) -> Outcome {
    let log = |msg: &str| eprintln!("smbgw-ctdb-quorum-lock[{}]: {msg}", std::process::id());
    // SAFETY: getppid cannot fail
    let parent = unsafe { libc::getppid() };

    let quorum = match Quorum::connect() {
        Ok(q) => q,
        Err(e) => {
            log(&e.message);
            answer(b'3');
            return Outcome::Error;
        }
    };
    if events().quorate != Some(true) {
        answer(b'1');
        return Outcome::Contention;
    }
    let cpg = match Cpg::join(&opts.group) {
        Ok(c) => c,
        Err(e) => {
            log(&e.message);
            answer(b'3');
            return Outcome::Error;
        }
    };
    let me = (cpg.nodeid(), std::process::id());

    // contend until alone in the group, then sit out the margin still watching
    let start = Instant::now();
    let mut won_at: Option<Instant> = None;
    loop {
        if let Err(e) = wait(&quorum, &cpg, Duration::from_millis(50)) {
            log(&e);
            answer(b'3');
            return Outcome::Error;
        }
        let ev = events();
        let Some(members) = ev.members.as_ref().filter(|m| m.contains(&me)) else {
            // our own join not delivered yet
            if start.elapsed() > opts.contend + Duration::from_secs(5) {
                log("joined the CPG group but never saw our own membership");
                answer(b'3');
                return Outcome::Error;
            }
            continue;
        };
        match decide(me, members, ev.quorate == Some(true)) {
            Decision::Contention => {
                answer(b'1');
                return Outcome::Contention;
            }
            Decision::Wait => {
                won_at = None;
                if start.elapsed() > opts.contend {
                    answer(b'1');
                    return Outcome::Contention;
                }
            }
            Decision::Take => {
                let since = *won_at.get_or_insert_with(Instant::now);
                if since.elapsed() >= opts.margin {
                    break;
                }
            }
        }
    }
    answer(b'0');
    log(&format!("cluster lock taken (corosync node {})", me.0));

    // hold: until quorum is lost, corosync goes away, or ctdbd (our parent) dies
    loop {
        if let Err(e) = wait(&quorum, &cpg, Duration::from_millis(500)) {
            log(&format!("{e}; releasing the cluster lock"));
            return Outcome::Released;
        }
        if events().quorate != Some(true) {
            log("node left the quorate partition; releasing the cluster lock");
            return Outcome::Released;
        }
        // SAFETY: getppid cannot fail
        if unsafe { libc::getppid() } != parent {
            log("ctdbd went away; releasing the cluster lock");
            return Outcome::Released;
        }
    }
}

/// Wait up to `timeout` for either connection to have news, and dispatch it.
fn wait(quorum: &Quorum, cpg: &Cpg, timeout: Duration) -> Result<(), String> {
    let mut fds = [
        libc::pollfd {
            fd: quorum.fd(),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: cpg.fd(),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    // SAFETY: two valid pollfds
    let rc = unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout.as_millis() as libc::c_int) };
    if rc < 0 {
        let err = std::io::Error::last_os_error();
        return if err.kind() == std::io::ErrorKind::Interrupted {
            Ok(())
        } else {
            Err(format!("poll: {err}"))
        };
    }
    if fds
        .iter()
        .any(|f| f.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0)
    {
        return Err("lost the connection to corosync".into());
    }
    if fds[0].revents != 0 {
        quorum.dispatch().map_err(|e| e.message)?;
    }
    if fds[1].revents != 0 {
        cpg.dispatch().map_err(|e| e.message)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn election_rules() {
        let me = (2, 100);
        assert_eq!(decide(me, &[me], true), Decision::Take);
        assert_eq!(decide(me, &[me], false), Decision::Contention);
        // a holder or an older contender on a smaller node: give up
        assert_eq!(decide(me, &[(1, 5), me], true), Decision::Contention);
        // same node, smaller pid
        assert_eq!(decide(me, &[(2, 99), me], true), Decision::Contention);
        // we are the smallest: wait for the others to leave
        assert_eq!(decide(me, &[me, (3, 1)], true), Decision::Wait);
    }

    #[test]
    fn args() {
        let o = parse_args(&["--group".into(), "g1".into(), "--margin-ms".into(), "200".into()]).unwrap();
        assert_eq!((o.group.as_str(), o.margin), ("g1", Duration::from_millis(200)));
        assert_eq!(o.contend, DEFAULT_CONTEND);
        assert!(parse_args(&["--margin-ms".into()]).is_err());
        assert!(parse_args(&["--margin-ms".into(), "x".into()]).is_err());
        assert!(parse_args(&["--bogus".into()]).is_err());
    }
}
