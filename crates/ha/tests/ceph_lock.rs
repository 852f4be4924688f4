//! The CTDB cluster lock on a real Ceph cluster (issue #16 items 4 and 5): two lock clients
//! compete for a RADOS object through `ctdb_mutex_ceph_rados_helper`, run exactly as the
//! `cluster lock` line this crate renders tells ctdbd to run it, with the client config and
//! keyring this crate writes. The holder is cut off (its netns link down); another node takes
//! the lock once it expired, and the old holder has given it up first: never two holders. The
//! same run without the op timeouts shows why they are there (the cut-off holder keeps
//! believing it holds the lock while the other one takes it). Also: the lock arguments are
//! checked against the cluster (a pool that does not exist, a user without caps, an object its
//! caps do not cover). The contenders run as the lock's own user (ceph::DEFAULT_USER) made with
//! ceph::lock_user_caps: those caps are enough to hold the lock, and no more than that.
//!
//! Ceph comes from the test fixture crates/cli/tests/common/ceph.rs (its own cluster, never the
//! dev one). Needs root, ctdb (for the helper) and the Ceph packages of scripts/install-deps.sh.

#[path = "../../cli/tests/common/ceph.rs"]
mod ceph_fixture;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use ceph_fixture::Ceph;
use smbgw_ha::ceph::{self, Cluster};
use smbgw_ha::config::{LockSpec, CEPH_LOCK_HELPER};
use smbgw_ha::render::{cluster_lock_line, RenderOptions};

const POOL: &str = "ctdb";
const USER: &str = ceph::DEFAULT_USER;
const OBJECT: &str = ceph::DEFAULT_OBJECT;

/// One helper "on" a node: its process, and what it answered (0 holding, 1 contended, 3 error).
struct Contender {
    child: Child,
    answer: u8,
}

/// Run the rendered lock line (without its '!') in netns `ns`, as ctdbd does: we stay its
/// parent (nsenter execs in place, so does env), which the helper requires.
fn contend(ns: &str, line: &str) -> Contender {
    let argv: Vec<&str> = line.trim_start_matches('!').split_whitespace().collect();
    let mut child = Command::new("nsenter")
        .arg(format!("--net=/run/netns/{ns}"))
        .args(&argv)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut answer = [0u8];
    let n = child.stdout.as_mut().unwrap().read(&mut answer).unwrap();
    Contender {
        child,
        answer: if n == 1 { answer[0] } else { b'?' },
    }
}

/// End a helper and return its stderr: SIGTERM makes a holder unlock (its handler), SIGKILL
/// (`kill`) leaves the lock to expire.
fn end(mut child: Child, signal: i32) -> String {
    // SAFETY: a plain kill(2) of our own child
    unsafe { libc::kill(child.id() as i32, signal) };
    let _ = child.wait();
    let mut text = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut text);
    }
    text
}

/// The lock's client config and keyring as the gateway writes them; returns the lock line.
fn lock_files(cluster: &Cluster, dir: &Path, with_timeouts: bool) -> String {
    let entity = cluster.auth_get(USER).unwrap().expect("the lock user exists");
    let keyring = dir.join(ceph::CLIENT_KEYRING);
    std::fs::write(&keyring, ceph::keyring(&entity)).unwrap();
    std::fs::set_permissions(&keyring, std::fs::Permissions::from_mode(0o600)).unwrap();
    let cluster_conf = std::fs::read_to_string(&cluster.conf).unwrap();
    let mut conf = ceph::client_conf(&cluster_conf, USER, &keyring);
    if !with_timeouts {
        conf = conf
            .lines()
            .filter(|l| !l.contains("op_timeout"))
            .map(|l| format!("{l}\n"))
            .collect();
    }
    let conf_path = dir.join(ceph::CLIENT_CONF);
    std::fs::write(&conf_path, conf).unwrap();
    let opts = RenderOptions {
        ceph_client_conf: conf_path,
        ..RenderOptions::default()
    };
    let spec = LockSpec::Ceph {
        cluster: "ceph".into(),
        user: USER.into(),
        pool: POOL.into(),
        object: OBJECT.into(),
    };
    cluster_lock_line(&spec, &opts).unwrap()
}

/// What happened when the holder in `ns_a` was cut off: when it exited (if it did), when the
/// contender in `ns_b` got the lock, and the old holder's last words.
struct CutOff {
    old_exited: Option<Instant>,
    taken: Instant,
    old_stderr: String,
}

fn cut_off_holder(line: &str, ns_a: &str, ns_b: &str) -> CutOff {
    let a = contend(ns_a, line);
    assert_eq!(a.answer, b'0', "the first contender takes the free lock");
    let b = contend(ns_b, line);
    assert_eq!(b.answer, b'1', "a second one is told the lock is held");
    assert!(b.child.wait_with_output().unwrap().status.code().is_some(), "and exits");

    // a thread waits for the old holder and notes when it went
    let (tx, rx) = mpsc::channel();
    let mut holder = a.child;
    let holder_pid = holder.id();
    let waiter = thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            if holder.try_wait().unwrap().is_some() {
                let _ = tx.send(Instant::now());
                return holder;
            }
            if Instant::now() > deadline {
                return holder;
            }
            thread::sleep(Duration::from_millis(20));
        }
    });

    let out = Command::new("ip")
        .args(["-n", ns_a, "link", "set", "ceph0", "down"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // another node tries, as ctdbd does, until it holds the lock
    let taken = loop {
        let attempt = contend(ns_b, line);
        match attempt.answer {
            b'0' => break (Instant::now(), attempt.child),
            b'1' => {
                let _ = attempt.child.wait_with_output();
            }
            other => panic!(
                "the contender answered {:?}: {}",
                other as char,
                end(attempt.child, libc::SIGKILL)
            ),
        }
        thread::sleep(Duration::from_millis(100));
    };
    let (taken_at, new_holder) = taken;
    let old_exited = rx.try_recv().ok();
    if old_exited.is_none() {
        // the old holder still runs, cut off: end it so the waiter returns
        // SAFETY: a plain kill(2) of our own child
        unsafe { libc::kill(holder_pid as i32, libc::SIGKILL) };
    }
    let old_stderr = end(waiter.join().unwrap(), libc::SIGKILL);
    // the new holder unlocks, so the next run finds the object free
    end(new_holder, libc::SIGTERM);
    CutOff {
        old_exited,
        taken: taken_at,
        old_stderr,
    }
}

#[test]
fn a_cut_off_holder_gives_up_the_rados_lock_before_another_node_takes_it() {
    assert!(
        Path::new(CEPH_LOCK_HELPER).exists(),
        "{CEPH_LOCK_HELPER} is missing: install ctdb (scripts/install-deps.sh)"
    );
    let lab = Ceph::start();
    lab.ceph(&["osd", "pool", "create", POOL, "8"]);
    lab.ceph(&["osd", "pool", "application", "enable", POOL, "ctdb"]);
    lab.ceph(&["auth", "get-or-create", "client.nocaps"]);
    let cluster = Cluster {
        name: "ceph".into(),
        conf: lab.conf(),
        prefix: vec!["nsenter".into(), format!("--net=/run/netns/{}", lab.daemons_netns())],
    };

    // the lock's own user: exactly the restricted caps, a key of its own; made twice, one user
    assert!(cluster.auth_get(USER).unwrap().is_none());
    let made = cluster.create_lock_user(USER, POOL).unwrap();
    let caps: Vec<(String, String)> = made.caps.clone().into_iter().collect();
    assert_eq!(
        caps,
        ceph::lock_user_caps(POOL).map(|(s, c)| (s.to_string(), c)).to_vec(),
        "the lock user may read the maps and lock its object, nothing else"
    );
    let admin = cluster.auth_get("client.admin").unwrap().unwrap();
    assert_ne!(made.key, admin.key);
    assert_eq!(
        cluster.create_lock_user(USER, POOL).unwrap().key,
        made.key,
        "get-or-create reuses it"
    );

    // the arguments are checked against the cluster: input errors naming what is wrong
    let entity = cluster.check_lock(USER, POOL, OBJECT).unwrap();
    assert_eq!(entity.entity, USER);
    let err = cluster.check_lock(USER, POOL, "other-object").unwrap_err();
    assert_eq!(err.kind, smbgw_core::ErrorKind::Input);
    assert!(err.message.contains("smbgw-ctdb-lock*"), "{}", err.message);
    let err = cluster.check_new_lock_user(POOL, "other-object").unwrap_err();
    assert!(err.message.contains("smbgw-ctdb-lock*"), "{}", err.message);
    assert!(cluster.check_new_lock_user(POOL, OBJECT).is_ok());
    let err = cluster.check_lock(USER, "no-such-pool", OBJECT).unwrap_err();
    assert_eq!(err.kind, smbgw_core::ErrorKind::Input);
    assert!(
        err.message.contains("not a pool") && err.message.contains(POOL),
        "{}",
        err.message
    );
    let err = cluster.check_lock("client.nocaps", POOL, OBJECT).unwrap_err();
    assert_eq!(err.kind, smbgw_core::ErrorKind::Input);
    assert!(err.message.contains("no mon caps"), "{}", err.message);
    // a user whose write grant is for another pool cannot hold a lock in this one
    let other = cluster.pools().unwrap().into_iter().find(|p| p != POOL).unwrap();
    let err = cluster.check_lock(USER, &other, OBJECT).unwrap_err();
    assert_eq!(err.kind, smbgw_core::ErrorKind::Input);
    assert!(
        err.message.contains(&format!("for pool {POOL}, not {other}")),
        "{}",
        err.message
    );
    let err = cluster.check_lock("client.ghost", POOL, OBJECT).unwrap_err();
    assert!(err.message.contains("does not exist"), "{}", err.message);
    // Ceph itself failing is an external error (exit 3)
    let unreachable = Cluster {
        prefix: Vec::new(),
        ..cluster.clone()
    };
    assert_eq!(
        unreachable.check_lock(USER, POOL, OBJECT).unwrap_err().kind,
        smbgw_core::ErrorKind::External
    );

    let dir = tempfile::tempdir().unwrap();
    let line = lock_files(&cluster, dir.path(), true);
    assert!(line.contains(" 10"), "the lock duration is passed: {line}");
    let [a, b, c, d] = ["a", "b", "c", "d"].map(|n| lab.client_netns(n));

    // the caps are the limit: the same user cannot lock an object outside its prefix
    let elsewhere = line.replace(&format!(" {OBJECT} "), " other-object ");
    assert_ne!(elsewhere, line);
    let refused = contend(&a, &elsewhere);
    let stderr = end(refused.child, libc::SIGKILL);
    // '3' (an error: EPERM), not '1' (held by another) nor '0' (held)
    assert_eq!(
        refused.answer, b'3',
        "locking an object its caps do not cover: {stderr}"
    );
    println!("outside its caps: {}", stderr.trim());

    // with the gateway's op timeouts: the old holder is gone before the new one holds it
    let cut = cut_off_holder(&line, &a, &b);
    let exited = cut.old_exited.unwrap_or_else(|| {
        panic!(
            "the cut-off holder still believed it held the lock when another node took it:\n{}",
            cut.old_stderr
        )
    });
    assert!(exited < cut.taken, "two holders: the old one exited after the takeover");
    assert!(
        cut.old_stderr.contains("renew failed") || cut.old_stderr.contains("Lock contention during renew"),
        "it gave up because its renew failed: {}",
        cut.old_stderr
    );
    println!(
        "with op timeouts: old holder gone {:.1} s before the takeover",
        (cut.taken - exited).as_secs_f64()
    );

    // the control: librados' defaults leave a cut-off holder blocked in its renew, still
    // "holding" while the other node takes the expired lock (what the op timeouts prevent)
    let dir = tempfile::tempdir().unwrap();
    let line = lock_files(&cluster, dir.path(), false);
    let cut = cut_off_holder(&line, &c, &d);
    assert!(
        cut.old_exited.is_none_or(|t| t > cut.taken),
        "without op timeouts the cut-off holder was expected to outlive the takeover"
    );
}
