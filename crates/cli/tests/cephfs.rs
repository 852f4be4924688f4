//! CephFS as a share's storage backend for real (issue #16 item 2), on a throw-away Ceph cluster
//! (common/ceph.rs) mounted with ceph-fuse: the CLI creates a share under the mount with a quota,
//! CephFS enforces it (client-side: the overshoot is measured and printed), `quota-status` and
//! the dfree helper (through smbd, `du`) report it, a snapshot is a Previous Version, and a purge
//! refuses while the snapshot exists, changing nothing, then succeeds once it is removed.

mod common;

use std::io::Write;
use std::path::Path;

use common::ceph::Ceph;
use common::Sandbox;

const ALICE: (&str, &str) = ("alice", "Alice-pw1");
const MIB: u64 = 1 << 20;

fn xattr(path: &Path, name: &str) -> Option<String> {
    let out = std::process::Command::new("getfattr")
        .args(["--only-values", "-n", name])
        .arg(path)
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn rbytes(path: &Path) -> u64 {
    xattr(path, "ceph.dir.rbytes").unwrap().parse().unwrap()
}

/// CephFS propagates `ceph.dir.rbytes` lazily (a few seconds after the writer's caps are
/// flushed): wait until it counts at least `bytes` (a condition, polled; not a time measured).
fn wait_for_rbytes(path: &Path, bytes: u64) -> u64 {
    for _ in 0..600 {
        let now = rbytes(path);
        if now >= bytes {
            return now;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("ceph.dir.rbytes of {} never reached {bytes}", path.display());
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

/// `N blocks of size 1024. M blocks available` of smbclient's `du`: (N, M).
fn du(sb: &Sandbox, share: &str) -> (u64, u64) {
    let out = sb.smbclient(share, Some(ALICE), "du").unwrap();
    out.lines()
        .find_map(|l| {
            let (size, rest) = l.trim().split_once(" blocks of size 1024. ")?;
            Some((size.parse().ok()?, rest.split_whitespace().next()?.parse().ok()?))
        })
        .unwrap_or_else(|| panic!("{out}"))
}

/// Write 1 MiB chunks into `file` (buffered, as a client does) until CephFS says EDQUOT, at a
/// write or at the flush; the bytes it took.
fn fill_until_edquot(file: &Path) -> u64 {
    let chunk = vec![0x5a_u8; MIB as usize];
    let mut f = std::fs::File::create(file).unwrap();
    let mut written = 0;
    for i in 0..256 {
        let step = match i % 8 {
            7 => f.write_all(&chunk).and_then(|_| f.sync_data()),
            _ => f.write_all(&chunk),
        };
        match step {
            Ok(()) => written += MIB,
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(nix::libc::EDQUOT), "{e}");
                return std::fs::metadata(file).unwrap().len();
            }
        }
    }
    panic!(
        "256 MiB written into {} without EDQUOT ({written} bytes)",
        file.display()
    );
}

#[test]
fn cephfs_share_quota_snapshot_and_purge() {
    // declared first, dropped last: the fixture unmounts before this directory goes
    let mnt = tempfile::Builder::new().prefix("smbgw-cephfs-mnt.").tempdir().unwrap();
    let ceph = Ceph::start();
    let sb = Sandbox::new();
    sb.add_user(ALICE.0, ALICE.1);
    // smbd runs the dfree helper as alice, who must reach the share through the mount's parents
    std::fs::set_permissions(mnt.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mount = mnt.path().join("n1");
    ceph.mount(None, &mount);

    // a share under the mount (its parent made on the way) with a quota of 10 MiB
    let path = mount.join("smbgateway/cq");
    let p = path.to_str().unwrap();
    let out = sb.ok(&["create", "cq", "--path", p, "--quota", "10M", "--shadow-copies", "1"]);
    assert!(out.contains(&format!("create CephFS directory {p}")), "{out}");
    assert_eq!(xattr(&path, "ceph.quota.max_bytes").as_deref(), Some("10485760"));
    let show = json(&sb.ok(&["show", "cq", "--output-format", "json"]));
    assert_eq!(show["quota-backend"], "cephfs");
    let include = std::fs::read_to_string(sb.root.join("samba/shares.d/cq.conf")).unwrap();
    assert!(
        include.contains("\tvfs objects = streams_xattr ceph_snapshots\n"),
        "{include}"
    );

    // SMB clients see the quota as the disk size (ceph-fuse's statfs would show the whole fs)
    assert_eq!(du(&sb, "cq"), (10240, 10240));

    // a share on CephFS without a quota records the backend too (HA reads it)
    let plain = mount.join("smbgateway/plain");
    sb.ok(&["create", "plain", "--path", plain.to_str().unwrap()]);
    let show = json(&sb.ok(&["show", "plain", "--output-format", "json"]));
    assert_eq!(show["quota-backend"], "cephfs");
    assert_eq!(xattr(&plain, "ceph.quota.max_bytes"), None);

    // writes stop with EDQUOT; CephFS enforces quotas in the client, so some overshoot
    let taken = fill_until_edquot(&path.join("fill.bin"));
    println!(
        "CephFS took {taken} bytes into a 10 MiB quota before EDQUOT: overshoot {} KiB",
        taken.saturating_sub(10 * MIB) / 1024
    );
    // the recipe saw up to 2.4 MiB with one writer (README item 11), this test 0-6 MiB (the
    // client checks against its own, lagging view of the usage); unenforced, it would reach 256
    assert!(taken <= 10 * MIB + 16 * MIB, "overshoot of {taken} bytes");
    let big = sb.write_local("big.bin", &vec![7; 4 * MIB as usize]);
    let err = sb
        .smbclient("cq", Some(ALICE), &format!("put {} big.bin", big.display()))
        .unwrap_err();
    assert!(err.contains("NT_STATUS_DISK_FULL"), "{err}");

    let used = wait_for_rbytes(&path, taken);
    let status = json(&sb.ok(&["quota-status", "cq", "--output-format", "json"]));
    assert_eq!(status["backend"], "cephfs");
    assert_eq!(status["limit"], 10 * MIB);
    let reported = status["used"].as_u64().unwrap();
    assert!(reported >= used && reported <= rbytes(&path), "{status}");
    // sampling, history and alerts work on it as on any backend
    let sampled = json(&sb.ok(&["quota-sample", "--output-format", "json"]));
    let cq = sampled
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "cq")
        .unwrap_or_else(|| panic!("{sampled}"));
    assert_eq!(cq["limit"], 10 * MIB);
    assert!(cq["used"].as_u64().unwrap() >= used, "{cq}");
    assert_eq!(cq["alert"]["threshold"], 95, "{cq}");
    let history = json(&sb.ok(&["quota-history", "cq", "--output-format", "json"]));
    assert_eq!(history["samples"][0]["used"], cq["used"], "{history}");

    // the dfree helper's figures (1 KiB blocks, run in the share as smbd runs it): the quota
    // as size, nothing left; smbd passes a full disk on as one 1 MiB unit free (measured)
    let helper = std::process::Command::new(sb.root.join("samba/shares.d/dfree"))
        .arg(".")
        .current_dir(&path)
        .output()
        .unwrap();
    let figures = String::from_utf8_lossy(&helper.stdout);
    assert_eq!(
        figures.split_whitespace().take(2).collect::<Vec<_>>(),
        ["10240", "0"],
        "{figures}"
    );
    let (size, free) = du(&sb, "cq");
    assert_eq!(size, 10240);
    assert!(free <= 1024, "{free} KiB shown free in a full 10 MiB quota");

    // a quota below what is stored is refused on its field, and nothing changes
    let before = sb.snapshot();
    let run = sb.run(&["update", "cq", "--quota", "4M", "--output-format", "json"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("already stores"), "{}", run.stderr);
    assert!(run.stderr.contains("\"field\":\"quota\""), "{}", run.stderr);
    assert_eq!(sb.snapshot(), before);
    assert_eq!(xattr(&path, "ceph.quota.max_bytes").as_deref(), Some("10485760"));

    // a snapshot is a Previous Version over SMB
    std::fs::remove_file(path.join("fill.bin")).unwrap();
    std::fs::write(path.join("doc.txt"), "version 1\n").unwrap();
    std::fs::create_dir(path.join(".snap/x")).unwrap();
    std::fs::write(path.join("doc.txt"), "version 2\n").unwrap();
    let info = sb.smbclient("cq", Some(ALICE), "allinfo doc.txt").unwrap();
    let gmt = info
        .split_whitespace()
        .find(|w| w.starts_with("@GMT-"))
        .unwrap_or_else(|| panic!("no Previous Version listed: {info}"))
        .to_string();
    let old = sb.dir.path().join("old.txt");
    sb.smbclient("cq", Some(ALICE), &format!("get {gmt}\\doc.txt {}", old.display()))
        .unwrap();
    assert_eq!(std::fs::read_to_string(&old).unwrap(), "version 1\n");

    // the purge refuses while snapshots exist (also below the root: ceph.dir.rsnaps counts
    // them), naming them and how to remove them; nothing changes
    std::fs::create_dir(path.join("sub")).unwrap();
    std::fs::create_dir(path.join("sub/.snap/y")).unwrap();
    let before = sb.snapshot();
    let run = sb.run(&["delete", "cq", "--purge-data"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(&format!("{p} has CephFS snapshots (x)")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("'rmdir {p}/.snap/NAME'")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("{p}/sub has CephFS snapshots (y)")),
        "{}",
        run.stderr
    );
    assert_eq!(sb.snapshot(), before);
    assert_eq!(std::fs::read_to_string(path.join("doc.txt")).unwrap(), "version 2\n");
    assert_eq!(xattr(&path, "ceph.quota.max_bytes").as_deref(), Some("10485760"));

    // without the snapshot the purge goes through
    std::fs::remove_dir(path.join(".snap/x")).unwrap();
    std::fs::remove_dir(path.join("sub/.snap/y")).unwrap();
    sb.ok(&["delete", "cq", "--purge-data"]);
    assert!(!path.exists());

    // a delete without purge keeps the data and lifts the limit
    let keep = mount.join("smbgateway/keep");
    sb.ok(&["create", "keep", "--path", keep.to_str().unwrap(), "--quota", "5M"]);
    std::fs::write(keep.join("f.txt"), "kept\n").unwrap();
    sb.ok(&["delete", "keep"]);
    assert_eq!(std::fs::read_to_string(keep.join("f.txt")).unwrap(), "kept\n");
    assert_eq!(xattr(&keep, "ceph.quota.max_bytes"), None);
}
