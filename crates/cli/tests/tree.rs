//! The whole share tree, not only its root: ACL grants and revocations reach files that exist
//! already (checked over SMB with the real smbclient), and `delete --purge-data` refuses up
//! front what it could not finish, or, failing part-way after all, says what it deleted.

mod common;

use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use common::Sandbox;
use nix::libc;

const ALICE: (&str, &str) = ("alice", "Alice-pw1");
const BOB: (&str, &str) = ("bob", "Bob-pw2");
const FS_IMMUTABLE_FL: libc::c_long = 0x10;

fn uid_of(sb: &Sandbox, name: &str) -> String {
    let users: serde_json::Value = serde_json::from_str(&sb.ok(&["user", "list", "--output-format", "json"])).unwrap();
    users.as_array().unwrap().iter().find(|u| u["name"] == name).unwrap()["uid"].to_string()
}

fn getfacl(path: &Path) -> String {
    common::run("getfacl", &["--numeric", "--omit-header", path.to_str().unwrap()])
}

#[test]
fn users_added_and_removed_later_reach_existing_files() {
    let sb = Sandbox::new();
    sb.add_user(ALICE.0, ALICE.1);
    sb.add_user(BOB.0, BOB.1);
    let data = sb.data("data");
    sb.ok(&["create", "data", "--path", data.to_str().unwrap(), "--users", "alice"]);
    sb.write_local("from-alice", b"written by alice\n");
    sb.write_local("from-bob", b"overwritten by bob\n");
    sb.smbclient(
        "data",
        Some(ALICE),
        "mkdir sub; put from-alice f.txt; put from-alice sub\\g.txt",
    )
    .unwrap();

    sb.ok(&["update", "data", "--users", "alice,bob"]);
    sb.smbclient(
        "data",
        Some(BOB),
        "get f.txt bob-f.txt; get sub\\g.txt bob-g.txt; put from-bob f.txt",
    )
    .unwrap_or_else(|e| panic!("bob reads and overwrites alice's files: {e}"));
    assert_eq!(
        std::fs::read(sb.dir.path().join("bob-f.txt")).unwrap(),
        b"written by alice\n"
    );
    assert_eq!(
        std::fs::read(sb.dir.path().join("bob-g.txt")).unwrap(),
        b"written by alice\n"
    );
    assert_eq!(std::fs::read(data.join("f.txt")).unwrap(), b"overwritten by bob\n");

    let alice = uid_of(&sb, "alice");
    sb.ok(&["update", "data", "--users", "bob"]);
    for p in [
        data.clone(),
        data.join("f.txt"),
        data.join("sub"),
        data.join("sub/g.txt"),
    ] {
        let acl = getfacl(&p);
        assert!(
            !acl.contains(&format!("user:{alice}:")),
            "alice's entries revoked on {}: {acl}",
            p.display()
        );
    }
    let denied = sb.smbclient("data", Some(ALICE), "get f.txt alice-again.txt");
    assert!(denied.is_err(), "alice can no longer read: {denied:?}");
    assert!(!sb.dir.path().join("alice-again.txt").exists());
    sb.smbclient("data", Some(BOB), "get sub\\g.txt bob-g2.txt").unwrap();
}

/// A tree of `dirs` directories with `files` files each, written as root.
fn fill(root: &Path, dirs: usize, files: usize) -> usize {
    for d in 0..dirs {
        let dir = root.join(format!("d{d}"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..files {
            std::fs::write(dir.join(format!("f{f}")), b"data").unwrap();
        }
    }
    dirs * (files + 1)
}

fn set_immutable(file: &std::fs::File, on: bool) {
    let flags: libc::c_long = if on { FS_IMMUTABLE_FL } else { 0 };
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), libc::FS_IOC_SETFLAGS, &flags) };
    assert_eq!(rc, 0, "FS_IOC_SETFLAGS: {}", std::io::Error::last_os_error());
}

fn entries(root: &Path) -> usize {
    common::run("find", &[root.to_str().unwrap(), "-mindepth", "1"])
        .lines()
        .count()
}

#[test]
fn purge_refuses_immutable_files_and_mounts_up_front() {
    let sb = Sandbox::new();
    let data = sb.data("p");
    sb.ok(&["create", "p", "--path", data.to_str().unwrap()]);
    let total = fill(&data, 3, 6);
    let locked = std::fs::File::open(data.join("d1/f3")).unwrap();
    set_immutable(&locked, true);
    let run = sb.run(&["delete", "p", "--purge-data"]);
    set_immutable(&locked, false);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("d1/f3 is immutable"), "{}", run.stderr);
    assert!(run.stderr.contains("nothing was changed"), "{}", run.stderr);
    assert_eq!(entries(&data), total, "nothing deleted");
    sb.ok(&["show", "p"]);

    // a mount inside (here a bind mount) is refused the same way
    let elsewhere = sb.dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("keep"), b"not the share's").unwrap();
    std::fs::create_dir(data.join("mnt")).unwrap();
    common::run(
        "mount",
        &[
            "--bind",
            elsewhere.to_str().unwrap(),
            data.join("mnt").to_str().unwrap(),
        ],
    );
    let run = sb.run(&["delete", "p", "--purge-data"]);
    common::run("umount", &[data.join("mnt").to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("mnt is a mount point"), "{}", run.stderr);
    assert!(elsewhere.join("keep").exists());

    sb.ok(&["delete", "p", "--purge-data"]);
    assert!(!data.exists());
    assert_eq!(sb.run(&["show", "p"]).code, 1, "the share is gone");
}

/// After the check, files become immutable while the purge runs: it stops, says how many
/// entries it deleted and what is left, never that nothing changed; re-running finishes.
#[test]
fn purge_failing_part_way_says_what_was_deleted_and_can_be_finished() {
    let sb = Sandbox::new();
    let data = sb.data("p");
    sb.ok(&["create", "p", "--path", data.to_str().unwrap()]);
    for attempt in 0..5 {
        let total = fill(&data, 10, 300);
        // handles on every third file, opened before the purge starts
        let held: Vec<std::fs::File> = (0..10)
            .flat_map(|d| (0..300).step_by(3).map(move |f| (d, f)))
            .map(|(d, f)| std::fs::File::open(data.join(format!("d{d}/f{f}"))).unwrap())
            .collect();
        let child = sb
            .command()
            .args(["delete", "p", "--purge-data"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // as soon as the first held file is gone, lock every held file still there
        let started = std::time::Instant::now();
        while !held.iter().any(|f| f.metadata().unwrap().nlink() == 0) {
            if started.elapsed() > std::time::Duration::from_secs(60) {
                break;
            }
        }
        let locked: Vec<&std::fs::File> = held.iter().filter(|f| f.metadata().unwrap().nlink() > 0).collect();
        for f in &locked {
            set_immutable(f, true);
        }
        let out = child.wait_with_output().unwrap();
        for f in &locked {
            set_immutable(f, false);
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.code() == Some(0) {
            // the purge won the race: start again with a new tree
            eprintln!("attempt {attempt}: the purge finished before the files were locked");
            sb.ok(&["create", "p", "--path", data.to_str().unwrap()]);
            continue;
        }
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(!stderr.contains("nothing was changed"), "{stderr}");
        let left = entries(&data);
        let deleted = total - left;
        assert!(deleted > 0, "{stderr}");
        assert!(
            stderr.contains(&format!("deleted {deleted} of {} entries", total + 1)),
            "deleted {deleted} of {total}: {stderr}"
        );
        assert!(stderr.contains(&format!("left: {} entries", left + 1)), "{stderr}");
        assert!(
            stderr.contains("run 'pve-smbgateway delete p --purge-data' again to finish"),
            "{stderr}"
        );
        assert!(stderr.contains("cannot be undone"), "{stderr}");
        eprintln!("attempt {attempt}: {stderr}");
        // the share is still known, marked, so the purge can be finished
        sb.ok(&["show", "p"]);
        let status = sb.run(&["status", "p"]);
        assert!(
            status.stdout.contains("purge-incomplete"),
            "{}{}",
            status.stdout,
            status.stderr
        );
        // ... but no longer served: its data is half gone
        assert!(stderr.contains("it is no longer served"), "{stderr}");
        let includes = std::process::Command::new("grep")
            .arg("-rl")
            .arg(&data)
            .arg(sb.root.join("samba"))
            .output()
            .unwrap();
        assert!(
            includes.stdout.is_empty(),
            "{}",
            String::from_utf8_lossy(&includes.stdout)
        );
        sb.ok(&["delete", "p", "--purge-data"]);
        assert_eq!(sb.run(&["show", "p"]).code, 1, "the share is gone");
        assert!(!data.exists());
        assert!(!sb.root.join("state/purge-incomplete/p").exists());
        return;
    }
    panic!("the purge always finished before the files could be locked");
}

/// A share on btrfs is its own subvolume; a snapshot inside (`.snapshots`, as Previous
/// Versions and snapper keep them) is found before anything is deleted.
#[test]
fn purge_refuses_snapshots_inside_a_subvolume_up_front() {
    let sb = Sandbox::new();
    let fs = common::Btrfs::new(sb.dir.path(), "256M");
    // its parent is missing too: a plain directory made through handles on btrfs
    let path = fs.mount.join("new/snap");
    sb.ok(&["create", "snap", "--path", path.to_str().unwrap(), "--quota", "50M"]);
    std::fs::write(path.join("file"), b"data").unwrap();
    std::fs::create_dir(path.join(".snapshots")).unwrap();
    let snapshot = path.join(".snapshots/@GMT-2026.11.22-20.00.00");
    common::run(
        "btrfs",
        &[
            "subvolume",
            "snapshot",
            "-r",
            path.to_str().unwrap(),
            snapshot.to_str().unwrap(),
        ],
    );
    let run = sb.run(&["delete", "snap", "--purge-data"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains(".snapshots/@GMT-2026.11.22-20.00.00 is a mount point or a btrfs subvolume"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("nothing was changed"), "{}", run.stderr);
    assert_eq!(std::fs::read(path.join("file")).unwrap(), b"data");
    assert!(snapshot.join("file").exists());
    sb.ok(&["show", "snap"]);

    common::run("btrfs", &["subvolume", "delete", snapshot.to_str().unwrap()]);
    sb.ok(&["delete", "snap", "--purge-data"]);
    assert!(!path.exists(), "the subvolume is gone");
}

/// A long walk tells the task log (PVE_SMBGW_PROGRESS=1) how far it got.
#[test]
fn a_long_walk_reports_progress() {
    let mut sb = Sandbox::new();
    sb.add_user(ALICE.0, ALICE.1);
    sb.add_user(BOB.0, BOB.1);
    let data = sb.data("big");
    let total = fill(&data, 12, 1000);
    sb.ok(&["create", "big", "--path", data.to_str().unwrap(), "--users", "alice"]);
    sb.env.push(("PVE_SMBGW_PROGRESS".into(), "1".into()));
    let run = sb.run(&["update", "big", "--users", "alice,bob"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains(&format!("walked 10000 entries in {}", data.display())),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "walked {} entries in {}, changed {total}",
            total + 1,
            data.display()
        )),
        "{}",
        run.stderr
    );
}

/// A grant never reaches the share's snapshots: a user with write access in `.snapshots` could
/// forge Previous Versions, and the snapshot commands would find entries not theirs.
#[test]
fn a_grant_leaves_the_snapshots_alone() {
    let sb = Sandbox::new();
    let fs = common::Btrfs::new(sb.dir.path(), "512M");
    sb.add_user(ALICE.0, ALICE.1);
    sb.add_user(BOB.0, BOB.1);
    let path = fs.mount.join("docs");
    sb.ok(&[
        "create",
        "docs",
        "--path",
        path.to_str().unwrap(),
        "--users",
        "alice",
        "--shadow-copies",
        "1",
    ]);
    sb.write_local("f", b"before the snapshot\n");
    sb.smbclient("docs", Some(ALICE), "put f f.txt").unwrap();
    sb.ok(&["snapshot", "create", "docs"]);
    let snapshots = path.join(".snapshots");
    let before = getfacl(&snapshots);

    sb.ok(&["update", "docs", "--users", "alice,bob"]);
    let bob = uid_of(&sb, "bob");
    assert!(
        getfacl(&path).contains(&format!("user:{bob}:rwx")),
        "{}",
        getfacl(&path)
    );
    assert_eq!(getfacl(&snapshots), before, "the walk changed .snapshots");
    assert!(!before.contains(&format!(":{bob}:")), "{before}");
    let list: serde_json::Value =
        serde_json::from_str(&sb.ok(&["snapshot", "list", "docs", "--output-format", "json"])).unwrap();
    assert_eq!(list["snapshots"].as_array().map(Vec::len), Some(1), "{list}");
    // bob may not write into the history
    sb.write_local("forged", b"forged\n");
    assert!(sb
        .smbclient("docs", Some(BOB), "put forged .snapshots\\forged.txt")
        .is_err());
    assert!(!snapshots.join("forged.txt").exists());
}
