//! Share snapshots for real: btrfs on a loop device and the sandbox's smbd. A snapshot the
//! gateway takes is a Previous Version a client lists (`allinfo`) and reads (`@GMT-...` path);
//! one made by hand is never deleted by the gateway; a rollback needs --confirm and keeps the
//! replaced content in its safety snapshot. Scheduling (the daemon) is in daemon tests.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{Btrfs, Sandbox};

const ALICE: (&str, &str) = ("alice", "Alice-pw1");

fn sandbox() -> (Sandbox, Btrfs) {
    let sb = Sandbox::new();
    let fs = Btrfs::new(sb.dir.path(), "512M");
    sb.add_user(ALICE.0, ALICE.1);
    (sb, fs)
}

/// A share for alice on the btrfs volume with Previous Versions.
fn share(sb: &Sandbox, fs: &Btrfs, name: &str) -> std::path::PathBuf {
    let path = fs.mount.join(name);
    share_at(sb, name, &path);
    path
}

/// Share `name` at `path` for alice, with Previous Versions.
fn share_at(sb: &Sandbox, name: &str, path: &std::path::Path) {
    sb.ok(&[
        "create",
        name,
        "--path",
        path.to_str().unwrap(),
        "--users",
        "alice",
        "--shadow-copies",
        "1",
    ]);
}

fn put(sb: &Sandbox, share: &str, file: &str, text: &str) {
    let local = sb.write_local("upload.txt", text.as_bytes());
    sb.smbclient(share, Some(ALICE), &format!("put {} {file}", local.display()))
        .unwrap();
}

/// The text of `file` as of `token` over SMB (Previous Versions), or smbclient's error.
fn read_version(sb: &Sandbox, share: &str, file: &str, token: &str) -> Result<String, String> {
    let back = sb.dir.path().join("previous.txt");
    let _ = std::fs::remove_file(&back);
    sb.smbclient(share, Some(ALICE), &format!("get {token}/{file} {}", back.display()))
        .map(|_| std::fs::read_to_string(&back).unwrap())
}

fn list(sb: &Sandbox, share: &str) -> Vec<serde_json::Value> {
    let out = sb.ok(&["snapshot", "list", share, "--output-format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["snapshots"].as_array().unwrap().clone()
}

fn names(list: &[serde_json::Value]) -> Vec<String> {
    list.iter().map(|s| s["name"].as_str().unwrap().to_string()).collect()
}

#[test]
fn a_snapshot_is_a_previous_version_and_only_ours_are_deleted() {
    let (sb, fs) = sandbox();
    let path = share(&sb, &fs, "docs");
    put(&sb, "docs", "notes.txt", "version 1\n");

    let dry = sb.ok(&["snapshot", "create", "docs", "--dry-run"]);
    assert!(dry.contains("take manual snapshot @GMT-"), "{dry}");
    assert!(list(&sb, "docs").is_empty(), "a dry run takes nothing");

    sb.ok(&["snapshot", "create", "docs"]);
    let snaps = list(&sb, "docs");
    assert_eq!(snaps.len(), 1, "{snaps:?}");
    assert_eq!(snaps[0]["kind"], "manual");
    assert!(snaps[0].get("size").is_none(), "no quotas, no size: {snaps:?}");
    let token = snaps[0]["name"].as_str().unwrap().to_string();
    assert!(token.starts_with("@GMT-"), "{token}");
    // a read-only subvolume snapshot in the layout shadow_copy2 reads
    let info = common::run(
        "btrfs",
        &[
            "subvolume",
            "show",
            path.join(".snapshots").join(&token).to_str().unwrap(),
        ],
    );
    assert!(info.contains("readonly"), "{info}");

    put(&sb, "docs", "notes.txt", "version 2\n");
    let allinfo = sb.smbclient("docs", Some(ALICE), "allinfo notes.txt").unwrap();
    assert!(allinfo.contains(&token), "{allinfo}");
    assert_eq!(read_version(&sb, "docs", "notes.txt", &token).unwrap(), "version 1\n");

    // one made by hand (snapper's way), in the same directory: listed, never ours
    let foreign = "@GMT-2026.01.01-12.00.00";
    Btrfs::snapshot_by_hand(&path, &path.join(".snapshots").join(foreign));
    let snaps = list(&sb, "docs");
    assert_eq!(names(&snaps), [foreign.to_string(), token.clone()]);
    assert!(snaps[0]["kind"].is_null(), "{snaps:?}");
    let before = sb.snapshot();
    let r = sb.run(&["snapshot", "delete", "docs", foreign]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("was not made by the gateway"), "{}", r.stderr);
    assert!(path.join(".snapshots").join(foreign).exists());
    assert_eq!(sb.snapshot(), before, "a refusal writes nothing");

    // ours, renamed to the foreign one's name and back, is still told apart by its UUID
    let ours = path.join(".snapshots").join(&token);
    let moved = path.join(".snapshots/@GMT-2026.01.02-12.00.00");
    std::fs::rename(&ours, &moved).unwrap();
    let r = sb.run(&["snapshot", "delete", "docs", "@GMT-2026.01.02-12.00.00"]);
    assert_eq!(
        r.code, 1,
        "a renamed snapshot is not ours by name: {}{}",
        r.stdout, r.stderr
    );
    std::fs::rename(&moved, &ours).unwrap();

    // unknown and malformed names
    let r = sb.run(&["snapshot", "delete", "docs", "@GMT-2020.01.01-00.00.00"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("has no snapshot"), "{}", r.stderr);
    let r = sb.run(&["snapshot", "delete", "docs", "../../etc", "--output-format", "json"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("\"field\":\"snapshot\""), "{}", r.stderr);

    sb.ok(&["snapshot", "delete", "docs", &token]);
    assert!(!ours.exists());
    assert_eq!(names(&list(&sb, "docs")), [foreign.to_string()]);
    let allinfo = sb.smbclient("docs", Some(ALICE), "allinfo notes.txt").unwrap();
    assert!(!allinfo.contains(&token), "{allinfo}");
}

#[test]
fn rollback_needs_confirmation_and_keeps_a_safety_snapshot() {
    let (sb, fs) = sandbox();
    let path = share(&sb, &fs, "proj");
    sb.ok(&["update", "proj", "--quota", "100M"]);
    put(&sb, "proj", "plan.txt", "old plan\n");
    sb.ok(&["snapshot", "create", "proj"]);
    let target = names(&list(&sb, "proj"))[0].clone();
    put(&sb, "proj", "plan.txt", "new plan\n");
    put(&sb, "proj", "added.txt", "added later\n");

    let before = sb.snapshot();
    let r = sb.run(&["snapshot", "rollback", "proj", &target]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("--confirm"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(path.join("plan.txt")).unwrap(), "new plan\n");
    assert_eq!(list(&sb, "proj").len(), 1, "no safety snapshot without --confirm");
    assert_eq!(sb.snapshot(), before);

    // a user's client connected across the rollback (its connection stays open between commands)
    let creds = sb.write_local("creds.held", b"username = alice\npassword = Alice-pw1\n");
    let mut held = Command::new("stdbuf")
        .args([
            "-oL",
            "smbclient",
            "//127.0.0.1/proj",
            "-p",
            &sb.port.to_string(),
            "-m",
            "SMB3",
            "-A",
        ])
        .arg(&creds)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = common::output_lines(&mut held);
    let mut ask = |command: &str| -> String {
        let stdin = held.stdin.as_mut().unwrap();
        writeln!(stdin, "{command}").unwrap();
        stdin.flush().unwrap();
        let mut got = Vec::new();
        loop {
            // a bound on a hung smbclient only, not a measurement
            let line = lines
                .recv_timeout(std::time::Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("smbclient ended or hung after '{command}': {got:?}"));
            let end = line.contains("blocks of size") || line.contains("NT_STATUS_");
            got.push(line);
            if end {
                return got.join("\n");
            }
        }
    };
    let before_rollback = ask("ls");
    assert!(before_rollback.contains("added.txt"), "{before_rollback}");

    // a second apart: the safety snapshot gets a name of its own
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = sb.ok(&["snapshot", "rollback", "proj", &target, "--confirm"]);
    assert!(out.contains("safety snapshot"), "{out}");
    // smbd was told: the connection to the replaced share is closed (the client reconnects);
    // untold, it would answer from the deleted subvolume (NT_STATUS_OBJECT_PATH_NOT_FOUND)
    let after = ask("ls");
    assert!(
        after.contains("NT_STATUS_NETWORK_NAME_DELETED"),
        "the held connection was not closed: {after}"
    );
    let _ = held.kill();
    let _ = held.wait();
    // the share is the snapshot's content again, over SMB too
    let back = sb.dir.path().join("plan.back");
    sb.smbclient("proj", Some(ALICE), &format!("get plan.txt {}", back.display()))
        .unwrap();
    assert_eq!(std::fs::read_to_string(&back).unwrap(), "old plan\n");
    assert!(!path.join("added.txt").exists());
    // still a subvolume with its snapshots: the target, and the safety one holding what was replaced
    assert!(common::run("btrfs", &["subvolume", "show", path.to_str().unwrap()]).contains("UUID"));
    // the restored subvolume has the share's quota
    assert_eq!(fs.qgroup(&path).1, Some(100 << 20));
    assert!(sb.ok(&["status", "proj"]).contains("proj"));
    let snaps = list(&sb, "proj");
    assert_eq!(snaps.len(), 2, "{snaps:?}");
    // quotas are on (the share has one): each snapshot's exclusive bytes are its size
    assert!(snaps.iter().all(|s| s["size"].is_u64()), "{snaps:?}");
    let safety = snaps.iter().find(|s| s["kind"] == "safety").expect("a safety snapshot");
    let safety = safety["name"].as_str().unwrap();
    assert_eq!(read_version(&sb, "proj", "plan.txt", safety).unwrap(), "new plan\n");
    assert_eq!(read_version(&sb, "proj", "added.txt", safety).unwrap(), "added later\n");
    assert_eq!(read_version(&sb, "proj", "plan.txt", &target).unwrap(), "old plan\n");
    // nothing is left beside the share
    let beside: Vec<_> = std::fs::read_dir(&fs.mount)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains("rollback"))
        .collect();
    assert!(beside.is_empty(), "{beside:?}");
    // and both remain ours to delete
    sb.ok(&["snapshot", "delete", "proj", safety]);
    sb.ok(&["snapshot", "delete", "proj", &target]);
    assert!(list(&sb, "proj").is_empty());
}

/// A subvolume inside the share (a user's, or a home's) is only an empty folder in a snapshot:
/// a rollback would take its content away, so it is refused and nothing changes; a home
/// share on btrfs takes no snapshots at all.
#[test]
fn nested_subvolumes_refuse_rollback_and_home_shares_snapshots() {
    let (sb, fs) = sandbox();
    let path = share(&sb, &fs, "team");
    put(&sb, "team", "a.txt", "a\n");
    sb.ok(&["snapshot", "create", "team"]);
    let target = names(&list(&sb, "team"))[0].clone();
    let nested = path.join("work");
    common::run("btrfs", &["subvolume", "create", nested.to_str().unwrap()]);
    std::fs::write(nested.join("data.txt"), "only here\n").unwrap();

    let before = sb.snapshot();
    let r = sb.run(&["snapshot", "rollback", "team", &target, "--confirm"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("snapshot") && r.stderr.contains("subvolume"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_to_string(nested.join("data.txt")).unwrap(), "only here\n");
    assert_eq!(
        names(&list(&sb, "team")),
        std::slice::from_ref(&target),
        "no safety snapshot was taken"
    );
    assert_eq!(sb.snapshot(), before);
    let beside: Vec<_> = std::fs::read_dir(&fs.mount)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains("rollback"))
        .collect();
    assert!(beside.is_empty(), "{beside:?}");
    // without it the rollback goes ahead
    common::run("btrfs", &["subvolume", "delete", nested.to_str().unwrap()]);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    sb.ok(&["snapshot", "rollback", "team", &target, "--confirm"]);

    // a home share on btrfs: each home is a subvolume; its snapshots would show them empty
    let homes = fs.mount.join("homes");
    sb.ok(&[
        "create",
        "homes",
        "--path",
        homes.to_str().unwrap(),
        "--homes",
        "1",
        "--users",
        "alice",
    ]);
    let r = sb.run(&["snapshot", "create", "homes"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("home share on btrfs"), "{}", r.stderr);
    assert!(!homes.join(".snapshots").exists());
    let r = sb.run(&["update", "homes", "--snapshot-schedule", "hourly"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("home share on btrfs"), "{}", r.stderr);
}

/// `.snapshots` is made without the ACLs the share root passes on, and one that lets a user
/// write (by ACL as by mode) is refused: they could rename what Previous Versions show.
#[test]
fn snapshots_dir_has_no_acl_and_one_granting_write_is_refused() {
    let (sb, fs) = sandbox();
    let path = share(&sb, &fs, "acl");
    let p = path.to_str().unwrap();
    // a user id of no one in particular: the share root passes its default ACL on to new folders
    common::run("setfacl", &["-m", "d:u:12345:rwx,u:12345:rwx", p]);
    sb.ok(&["snapshot", "create", "acl"]);
    let snaps = path.join(".snapshots");
    let acl = common::run("getfacl", &["-cp", snaps.to_str().unwrap()]);
    assert!(!acl.contains("12345") && !acl.contains("default"), "{acl}");

    common::run("setfacl", &["-m", "u:12345:rwx", snaps.to_str().unwrap()]);
    let r = sb.run(&["snapshot", "create", "acl"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("writable by others"), "{}", r.stderr);
    common::run("setfacl", &["-b", "-m", "d:u:12345:rwx", snaps.to_str().unwrap()]);
    let r = sb.run(&["snapshot", "list", "acl"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("default acl"), "{}", r.stderr);
}

/// A rollback killed (SIGKILL, the test-only hook `PVE_SMBGW_CRASH_IN`) after the share's
/// snapshots moved into the new content, or after the exchange: `apply` undoes or completes it
/// from what is on disk, the snapshots are listed again, and a second `apply` has nothing to do.
#[test]
fn apply_heals_a_rollback_killed_midway() {
    let (sb, fs) = sandbox();
    let path = share(&sb, &fs, "proj");
    let leftover = fs.mount.join(".proj.smbgw-rollback");
    for (point, restored) in [("rollback-moved", false), ("rollback-exchanged", true)] {
        put(&sb, "proj", "plan.txt", "old plan\n");
        sb.ok(&["snapshot", "create", "proj"]);
        let target = names(&list(&sb, "proj")).last().unwrap().clone();
        put(&sb, "proj", "plan.txt", "new plan\n");
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let out = sb
            .command()
            .args(["snapshot", "rollback", "proj", &target, "--confirm"])
            .env("PVE_SMBGW_CRASH_IN", point)
            .output()
            .unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(out.status.signal(), Some(9), "{point}: {out:?}");
        assert!(leftover.exists(), "{point}");

        let healed = sb.ok(&["apply"]);
        assert!(healed.contains("interrupted rollback"), "{point}: {healed}");
        assert!(!leftover.exists(), "{point}: {healed}");
        let want = if restored { "old plan\n" } else { "new plan\n" };
        assert_eq!(std::fs::read_to_string(path.join("plan.txt")).unwrap(), want, "{point}");
        let snaps = list(&sb, "proj");
        assert!(snaps.iter().any(|s| s["name"] == target.as_str()), "{point}: {snaps:?}");
        assert!(snaps.iter().any(|s| s["kind"] == "safety"), "{point}: {snaps:?}");
        assert!(
            snaps.iter().all(|s| s["kind"].is_string()),
            "{point}: still ours: {snaps:?}"
        );
        let again = sb.ok(&["apply", "--output-format", "json"]);
        let again: serde_json::Value = serde_json::from_str(&again).unwrap();
        assert_eq!(again["changed"], false, "{point}: {again}");
        for s in snaps {
            sb.ok(&["snapshot", "delete", "proj", s["name"].as_str().unwrap()]);
        }
    }
}

#[test]
fn a_filesystem_without_snapshots_is_refused() {
    let sb = Sandbox::new();
    // the sandbox's temp dir: tmpfs or ext4 here, neither has snapshots
    let path = sb.data("plain");
    sb.ok(&["create", "plain", "--path", path.to_str().unwrap()]);
    let before = sb.snapshot();
    let r = sb.run(&["snapshot", "create", "plain", "--output-format", "json"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("has no snapshots"), "{}", r.stderr);
    assert_eq!(sb.snapshot(), before);
    let r = sb.run(&["snapshot", "list", "nosuch"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
}

#[test]
fn a_plain_directory_on_btrfs_is_refused() {
    let (sb, fs) = sandbox();
    let path = fs.mount.join("existing");
    std::fs::create_dir(&path).unwrap();
    sb.ok(&["create", "existing", "--path", path.to_str().unwrap()]);
    let r = sb.run(&["snapshot", "create", "existing"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("only a subvolume can be snapshotted"), "{}", r.stderr);
    assert!(!path.join(".snapshots").exists());
}

/// ZFS through the stand-in (t/bin/zfs): our snapshots carry our tag as a user property and
/// are named as the share's shadow copies read them; one zfs-auto-snapshot took is not ours.
#[test]
fn zfs_snapshots_carry_our_tag_and_are_previous_versions() {
    let (sb, state, pool) = common::zfs_sandbox(true);
    sb.add_user(ALICE.0, ALICE.1);
    let (_, _mounts) = common::zfs_docs_share(&sb, &pool);
    put(&sb, "docs", "notes.txt", "version 1\n");
    sb.ok(&["snapshot", "create", "docs"]);
    let calls = std::fs::read_to_string(state.join("calls")).unwrap();
    assert!(
        calls.contains("snapshot -o pve-smbgateway:kind=manual tank/docs@zfs-auto-snap_smbgw-"),
        "{calls}"
    );
    // outside the names zfs-auto-snapshot's retention destroys (`zfs-auto-snap_<its label>-*`)
    assert!(!calls.contains("@zfs-auto-snap_frequent-"), "{calls}");
    // what zfs-auto-snapshot's cron job does: listed, not ours
    sb.zfs(&["snapshot", "tank/docs@zfs-auto-snap_hourly-2026-11-22-2000"]);
    put(&sb, "docs", "notes.txt", "version 2\n");

    let snaps = list(&sb, "docs");
    assert_eq!(snaps.len(), 2, "{snaps:?}");
    assert_eq!(snaps[0]["name"], "zfs-auto-snap_hourly-2026-11-22-2000");
    assert!(snaps[0]["kind"].is_null());
    assert_eq!(snaps[1]["kind"], "manual");
    let ours = snaps[1]["name"].as_str().unwrap().to_string();
    // the client's token is the snapshot's minute in UTC
    let time = snaps[1]["time"].as_i64().unwrap();
    let token = {
        let (y, mo, d, h, mi, _) = utc_fields(time);
        format!("@GMT-{y:04}.{mo:02}.{d:02}-{h:02}.{mi:02}.00")
    };
    let allinfo = sb.smbclient("docs", Some(ALICE), "allinfo notes.txt").unwrap();
    assert!(allinfo.contains(&token), "{token}: {allinfo}");
    assert_eq!(read_version(&sb, "docs", "notes.txt", &token).unwrap(), "version 1\n");

    let r = sb.run(&["snapshot", "delete", "docs", "zfs-auto-snap_hourly-2026-11-22-2000"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("was not made by the gateway"), "{}", r.stderr);
    let r = sb.run(&["snapshot", "rollback", "docs", &ours, "--confirm"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("btrfs shares only"), "{}", r.stderr);
    sb.ok(&["snapshot", "delete", "docs", &ours]);
    assert_eq!(names(&list(&sb, "docs")), ["zfs-auto-snap_hourly-2026-11-22-2000"]);
    sb.zfs(&["destroy", "tank/docs@zfs-auto-snap_hourly-2026-11-22-2000"]);
    sb.ok(&["delete", "docs", "--purge-data"]);
}

/// UTC fields of a unix time (the test's own arithmetic, not the gateway's).
fn utc_fields(time: i64) -> (i64, u32, u32, u32, u32, u32) {
    let out = common::run("date", &["-u", "-d", &format!("@{time}"), "+%Y %m %d %H %M %S"]);
    let f: Vec<i64> = out.split_whitespace().map(|x| x.parse().unwrap()).collect();
    (f[0], f[1] as u32, f[2] as u32, f[3] as u32, f[4] as u32, f[5] as u32)
}

/// CephFS (a real cluster, common::ceph): snapshots are `mkdir .snap/NAME` on the share's
/// handle, recorded cluster-wide beside the share config by name and birth time; one made by
/// hand is not ours; vfs_ceph_snapshots serves ours as a Previous Version.
#[test]
fn cephfs_snapshots_are_recorded_cluster_wide_and_previous_versions() {
    // declared first, dropped last: the fixture unmounts before this directory goes
    let mnt = tempfile::Builder::new().prefix("smbgw-snapops-mnt.").tempdir().unwrap();
    let ceph = common::ceph::Ceph::start();
    let sb = Sandbox::new();
    sb.add_user(ALICE.0, ALICE.1);
    std::fs::set_permissions(mnt.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mount = mnt.path().join("n1");
    ceph.mount(None, &mount);
    let path = mount.join("smbgateway/cs");
    share_at(&sb, "cs", &path);
    put(&sb, "cs", "notes.txt", "version 1\n");
    sb.ok(&["snapshot", "create", "cs"]);
    let record = std::fs::read_to_string(sb.root.join("config/snapshots.json")).unwrap();
    std::fs::create_dir(path.join(".snap/by-hand")).unwrap();
    put(&sb, "cs", "notes.txt", "version 2\n");

    let snaps = list(&sb, "cs");
    assert_eq!(snaps.len(), 2, "{snaps:?}");
    let ours = snaps.iter().find(|s| s["kind"] == "manual").expect("ours");
    let ours = ours["name"].as_str().unwrap().to_string();
    assert!(record.contains(&ours), "{record}");
    assert!(
        snaps.iter().any(|s| s["name"] == "by-hand" && s["kind"].is_null()),
        "{snaps:?}"
    );

    // the token a client sees is the snapshot's birth time; ours holds version 1
    let allinfo = sb.smbclient("cs", Some(ALICE), "allinfo notes.txt").unwrap();
    let tokens: Vec<&str> = allinfo.split_whitespace().filter(|w| w.starts_with("@GMT-")).collect();
    assert_eq!(tokens.len(), 2, "{allinfo}");
    let versions: Vec<String> = tokens
        .iter()
        .map(|t| read_version(&sb, "cs", "notes.txt", t).unwrap())
        .collect();
    assert!(versions.iter().all(|v| v == "version 1\n"), "{versions:?}");

    let r = sb.run(&["snapshot", "delete", "cs", "by-hand"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(path.join(".snap/by-hand").exists());
    sb.ok(&["snapshot", "delete", "cs", &ours]);
    assert!(!path.join(".snap").join(&ours).exists());
    std::fs::remove_dir(path.join(".snap/by-hand")).unwrap();
}
