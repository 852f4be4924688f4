//! Quotas for real: btrfs qgroups on a loop device, enforced against writes over SMB and shown
//! to SMB clients as the share's size; ZFS through the `zfs` stand-in (t/bin/zfs).

mod common;

use common::{Btrfs, Sandbox};

const ALICE: (&str, &str) = ("alice", "Alice-pw1");
const MIB: u64 = 1 << 20;

fn quota_sandbox() -> (Sandbox, Btrfs) {
    let sb = Sandbox::new();
    let fs = Btrfs::new(sb.dir.path(), "512M");
    sb.add_user(ALICE.0, ALICE.1);
    (sb, fs)
}

/// A share for alice with a quota on the btrfs volume, e.g. `quota_share(.., "g", &["--quota", "10M"])`.
fn quota_share(sb: &Sandbox, fs: &Btrfs, name: &str, extra: &[&str]) -> std::path::PathBuf {
    let path = fs.mount.join(name);
    let mut args = vec!["create", name, "--path", path.to_str().unwrap(), "--users", "alice"];
    args.extend_from_slice(extra);
    sb.ok(&args);
    path
}

/// Write `mib` MiB into `share` over SMB as alice.
fn put(sb: &Sandbox, share: &str, file: &str, mib: usize) {
    let local = sb.write_local(file, &vec![7; mib * MIB as usize]);
    sb.smbclient(share, Some(ALICE), &format!("put {} {file}", local.display()))
        .unwrap();
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

#[test]
fn btrfs_quota_refuses_writes_over_smb_and_shows_as_disk_size() {
    let (sb, fs) = quota_sandbox();
    let path = fs.mount.join("q");
    sb.ok(&[
        "create",
        "q",
        "--path",
        path.to_str().unwrap(),
        "--users",
        "alice",
        "--quota",
        "10M",
    ]);

    // clients see the quota as the disk size
    let du = sb.smbclient("q", Some(ALICE), "du").unwrap();
    assert!(du.contains("10240 blocks of size 1024"), "{du}");

    // the free space shrinks as data arrives, before any refresh of the quota figures
    let four = sb.write_local("four.bin", &vec![0x33; 4 * MIB as usize]);
    let du = sb
        .smbclient("q", Some(ALICE), &format!("put {} four.bin; du", four.display()))
        .unwrap();
    let free: u64 = du
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("10240 blocks of size 1024. ")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("{du}"));
    assert!(
        free <= 6 * 1024 + 64,
        "{free} KiB shown free after 4 MiB of 10 MiB were written"
    );
    std::fs::remove_file(path.join("four.bin")).unwrap();

    let big = sb.write_local("big.bin", &vec![0x5a; 20 * MIB as usize]);
    let err = sb
        .smbclient("q", Some(ALICE), &format!("put {} big.bin", big.display()))
        .unwrap_err();
    assert!(err.contains("NT_STATUS_DISK_FULL"), "{err}");
    let stored = std::fs::metadata(path.join("big.bin")).map(|m| m.len()).unwrap_or(0);
    assert!(stored <= 10 * MIB, "stored {stored} bytes, more than the 10 MiB quota");

    let (referenced, max) = fs.qgroup(&path);
    assert_eq!(max, Some(10 * MIB));
    let status = json(&sb.ok(&["quota-status", "q", "--output-format", "json"]));
    assert_eq!(status["limit"], 10 * MIB);
    assert_eq!(status["used"], referenced);
    assert_eq!(status["backend"], "btrfs");
}

#[test]
fn shrinking_below_usage_is_refused_and_growing_works() {
    let (sb, fs) = quota_sandbox();
    let path = quota_share(&sb, &fs, "g", &["--quota", "10M"]);
    put(&sb, "g", "six.bin", 6);

    let before = sb.snapshot();
    let run = sb.run(&["update", "g", "--quota", "4M"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("already stores") && run.stderr.contains("4M"),
        "{}",
        run.stderr
    );
    assert_eq!(sb.snapshot(), before);
    assert_eq!(fs.qgroup(&path).1, Some(10 * MIB));

    sb.ok(&["update", "g", "--quota", "20M"]);
    assert_eq!(fs.qgroup(&path).1, Some(20 * MIB));
    put(&sb, "g", "six2.bin", 6);
    let du = sb.smbclient("g", Some(ALICE), "du").unwrap();
    assert!(du.contains("20480 blocks of size 1024"), "{du}");

    // the quota can be lifted again
    sb.ok(&["update", "g", "--delete", "quota"]);
    assert_eq!(fs.qgroup(&path).1, None);
}

#[test]
fn quota_on_a_filesystem_without_quotas_is_refused() {
    let sb = Sandbox::new();
    let before = sb.snapshot();
    // the sandbox lives on the root filesystem: ext4 without prjquota (or tmpfs)
    let run = sb.run(&["create", "x", "--path", sb.data("x").to_str().unwrap(), "--quota", "1G"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("without project quotas") || run.stderr.contains("no quota support"),
        "{}",
        run.stderr
    );
    assert_eq!(sb.snapshot(), before);
    assert!(!sb.data("x").exists());
}

#[test]
fn delete_lifts_the_quota_and_purge_destroys_the_subvolume() {
    let (sb, fs) = quota_sandbox();
    let keep = fs.mount.join("keep");
    let gone = fs.mount.join("gone");
    sb.ok(&["create", "keep", "--path", keep.to_str().unwrap(), "--quota", "8M"]);
    sb.ok(&["create", "gone", "--path", gone.to_str().unwrap(), "--quota", "8M"]);
    std::fs::write(keep.join("data.txt"), b"keep me").unwrap();
    sb.ok(&["delete", "keep"]);
    assert_eq!(fs.qgroup(&keep).1, None, "the limit is lifted");
    assert_eq!(std::fs::read(keep.join("data.txt")).unwrap(), b"keep me");
    sb.ok(&["delete", "gone", "--purge-data"]);
    assert!(!gone.exists());
    let subvolumes = common::run("btrfs", &["subvolume", "list", fs.mount.to_str().unwrap()]);
    assert!(
        !subvolumes.contains("gone") && subvolumes.contains("keep"),
        "{subvolumes}"
    );
}

#[test]
fn sampling_raises_each_alert_once() {
    let (sb, fs) = quota_sandbox();
    quota_share(&sb, &fs, "a", &["--quota", "10M", "--quota-alerts", "50,90"]);
    put(&sb, "a", "six.bin", 6);

    let first = json(&sb.ok(&["quota-sample", "--output-format", "json"]));
    assert_eq!(first[0]["alert"]["threshold"], 50, "{first}");
    let second = json(&sb.ok(&["quota-sample", "--output-format", "json"]));
    assert!(
        second[0].get("alert").is_none(),
        "an alert is raised once per crossing: {second}"
    );
    let log = std::fs::read_to_string(sb.root.join("log/alerts.log")).unwrap();
    assert_eq!(log.lines().count(), 1, "{log}");
    assert!(log.contains("crossed 50%"), "{log}");

    let history = json(&sb.ok(&["quota-history", "a", "--days", "1", "--output-format", "json"]));
    assert!(!history["samples"].as_array().unwrap().is_empty());
    assert_eq!(sb.run(&["quota-history", "a", "--days", "0"]).code, 1);
}

#[test]
fn zfs_backend_drives_the_zfs_command() {
    let (sb, state, pool) = common::zfs_sandbox(false);

    let path = pool.join("projects");
    sb.ok(&[
        "create",
        "projects",
        "--path",
        path.to_str().unwrap(),
        "--quota",
        "1G",
        "--quota-backend",
        "zfs",
    ]);
    let show = json(&sb.ok(&["show", "projects", "--output-format", "json"]));
    assert_eq!(
        show["zfs-dataset"], "tank/projects",
        "derived from the dataset mounted at the parent"
    );
    std::fs::write(path.join("f.bin"), vec![0u8; 1 << 20]).unwrap();
    let status = json(&sb.ok(&["quota-status", "projects", "--output-format", "json"]));
    assert_eq!(status["limit"], 1u64 << 30);
    assert!(status["used"].as_u64().unwrap() >= 1 << 20);

    sb.ok(&[
        "update",
        "projects",
        "--quota",
        "2G",
        "--user-quotas",
        "alice=100M,@staff=1G",
    ]);
    let limits = std::fs::read_to_string(state.join("userquotas")).unwrap();
    assert!(limits.contains("tank/projects\tuserquota@alice\t104857600"), "{limits}");
    assert!(
        limits.contains("tank/projects\tgroupquota@staff\t1073741824"),
        "{limits}"
    );
    sb.ok(&["update", "projects", "--user-quotas", "alice=200M"]);
    let limits = std::fs::read_to_string(state.join("userquotas")).unwrap();
    assert_eq!(
        limits, "tank/projects\tuserquota@alice\t209715200\n",
        "staff's limit is lifted"
    );
    sb.ok(&["delete", "projects", "--purge-data"]);
    let calls = std::fs::read_to_string(state.join("calls")).unwrap();
    let expected_in_order = [
        "list -H -p -o name,mountpoint -t filesystem".to_string(),
        format!("create -o mountpoint={} tank/projects", path.display()),
        "set refquota=1073741824 tank/projects".into(),
        "get -H -p -o property,value referenced,refquota tank/projects".into(),
        "set refquota=2147483648 tank/projects".into(),
        "set groupquota@staff=1073741824 tank/projects".into(),
        "set groupquota@staff=none tank/projects".into(),
        "destroy tank/projects".into(),
    ];
    let mut rest = calls.as_str();
    for call in &expected_in_order {
        let at = rest
            .find(call.as_str())
            .unwrap_or_else(|| panic!("missing or out of order: {call}\n{calls}"));
        rest = &rest[at + call.len()..];
    }
    assert!(!path.exists());
    // the include asks for no dfree helper: ZFS reports refquota through statfs itself
    assert!(!sb.root.join("samba/shares.d/dfree").exists());
}

/// Reads `file` through Previous Versions: the tokens smbd offers, and the text as of `token`.
fn previous_version(sb: &Sandbox, share: &str, file: &str, token: &str) -> (String, String) {
    let info = sb.smbclient(share, Some(ALICE), &format!("allinfo {file}")).unwrap();
    let back = sb.dir.path().join("previous.txt");
    let _ = std::fs::remove_file(&back);
    let got = sb.smbclient(share, Some(ALICE), &format!("get {token}/{file} {}", back.display()));
    (
        info,
        got.map(|_| std::fs::read_to_string(&back).unwrap())
            .unwrap_or_else(|e| e),
    )
}

#[test]
fn btrfs_snapshots_are_previous_versions() {
    let (sb, fs) = quota_sandbox();
    let path = quota_share(&sb, &fs, "docs", &["--shadow-copies", "1"]);
    let v1 = sb.write_local("v1.txt", b"version 1\n");
    sb.smbclient("docs", Some(ALICE), &format!("put {} notes.txt", v1.display()))
        .unwrap();
    // the layout the share's shadow copies read: read-only snapshots in .snapshots/@GMT-...
    std::fs::create_dir(path.join(".snapshots")).unwrap();
    Btrfs::snapshot_by_hand(&path, &path.join(".snapshots/@GMT-2026.11.22-20.00.00"));
    let v2 = sb.write_local("v2.txt", b"version 2\n");
    sb.smbclient("docs", Some(ALICE), &format!("put {} notes.txt", v2.display()))
        .unwrap();
    let (info, old) = previous_version(&sb, "docs", "notes.txt", "@GMT-2026.11.22-20.00.00");
    assert!(info.contains("@GMT-2026.11.22-20.00.00"), "{info}");
    assert_eq!(old, "version 1\n");
}

#[test]
fn zfs_snapshots_are_previous_versions() {
    let (mut sb, _, pool) = common::zfs_sandbox(true);
    // zfs-auto-snapshot names snapshots in UTC: smbd must not read them in its own time zone
    sb.env.push(("TZ".into(), "Europe/Berlin".into()));
    sb.add_user(ALICE.0, ALICE.1);

    let (path, _mounts) = common::zfs_docs_share(&sb, &pool);
    let v1 = sb.write_local("v1.txt", b"version 1\n");
    sb.smbclient("docs", Some(ALICE), &format!("put {} notes.txt", v1.display()))
        .unwrap();
    // what zfs-auto-snapshot's cron job does, and a snapshot of another tool's naming
    sb.zfs(&["snapshot", "tank/docs@zfs-auto-snap_hourly-2026-11-22-2000"]);
    sb.zfs(&["snapshot", "tank/docs@manual-before-upgrade"]);
    let v2 = sb.write_local("v2.txt", b"version 2\n");
    sb.smbclient("docs", Some(ALICE), &format!("put {} notes.txt", v2.display()))
        .unwrap();
    let (info, old) = previous_version(&sb, "docs", "notes.txt", "@GMT-2026.11.22-20.00.00");
    assert!(info.contains("@GMT-2026.11.22-20.00.00"), "{info}");
    assert_eq!(
        info.matches("@GMT-").count(),
        1,
        "only zfs-auto-snapshot's names are versions: {info}"
    );
    assert_eq!(old, "version 1\n");

    sb.zfs(&["destroy", "tank/docs@zfs-auto-snap_hourly-2026-11-22-2000"]);
    sb.zfs(&["destroy", "tank/docs@manual-before-upgrade"]);
    sb.ok(&["delete", "docs", "--purge-data"]);
    assert!(!path.exists());
}

/// The CLI as a fresh clone under /root has it: inside a directory only root can enter. smbd runs
/// the dfree helper as the connected user, so the helper must not exec that binary: the sandbox
/// installs its own copy, refreshed when the binary changes.
#[test]
fn quota_shows_as_disk_size_when_the_cli_lives_in_a_private_directory() {
    use std::os::unix::fs::PermissionsExt;
    let (mut sb, fs) = quota_sandbox();
    let private = tempfile::Builder::new().prefix("smbgw-private.").tempdir().unwrap();
    std::fs::set_permissions(private.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let bin = private.path().join("target/release/pve-smbgateway");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::copy(common::BIN, &bin).unwrap();
    // run that binary (not common::BIN) for every command of this sandbox
    sb.wrapper = vec![
        "/bin/sh".into(),
        "-c".into(),
        r#"shift; exec "$0" "$@""#.into(),
        bin.to_str().unwrap().into(),
    ];
    sb.env.push(("PVE_SMBGW_BIN".into(), bin.to_str().unwrap().into()));
    let version = sb.ok(&["--version"]);
    assert!(version.contains("pve-smbgateway"), "{version}");

    let run = sb.run(&[
        "create",
        "q",
        "--path",
        fs.mount.join("q").to_str().unwrap(),
        "--users",
        "alice",
        "--quota",
        "10M",
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        !run.stderr.contains("warning:"),
        "the sandbox itself is reachable: {}",
        run.stderr
    );
    let helper = std::fs::read_to_string(sb.root.join("samba/shares.d/dfree")).unwrap();
    assert!(!helper.contains(private.path().to_str().unwrap()), "{helper}");

    let du = sb.smbclient("q", Some(ALICE), "du").unwrap();
    assert!(
        du.contains("10240 blocks of size 1024"),
        "the quota, not the 512 MiB volume: {du}"
    );

    // a rebuilt binary: the next change installs it again
    let copy = sb.root.join("run/pve-smbgateway");
    assert_eq!(std::fs::read(&copy).unwrap(), std::fs::read(&bin).unwrap());
    std::fs::OpenOptions::new()
        .append(true)
        .open(&bin)
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"rebuilt"))
        .unwrap();
    sb.ok(&["apply"]);
    assert_eq!(std::fs::read(&copy).unwrap(), std::fs::read(&bin).unwrap());
    assert_eq!(std::fs::metadata(&copy).unwrap().permissions().mode() & 0o7777, 0o755);
    let again = sb.ok(&["apply"]);
    assert!(
        again.contains("nothing to do"),
        "an unchanged binary is not copied again: {again}"
    );
    let du = sb.smbclient("q", Some(ALICE), "du").unwrap();
    assert!(du.contains("10240 blocks of size 1024"), "{du}");
}

/// Every `btrfs` the CLI starts, logged by a shim first on its PATH that runs the real one.
fn log_btrfs(sb: &mut Sandbox) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let real = common::run("sh", &["-c", "command -v btrfs"]).trim().to_string();
    let (dir, log) = (sb.dir.path().join("btrfs-shim"), sb.dir.path().join("btrfs.log"));
    std::fs::create_dir_all(&dir).unwrap();
    let shim = dir.join("btrfs");
    std::fs::write(
        &shim,
        format!("#!/bin/sh\necho \"$*\" >>'{}'\nexec '{real}' \"$@\"\n", log.display()),
    )
    .unwrap();
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    sb.env.push((
        "PATH".into(),
        format!("{}:{}", dir.display(), std::env::var("PATH").unwrap()),
    ));
    log
}

/// The `btrfs` runs logged since the last call, as (syncs, qgroup listings); the log emptied.
fn btrfs_runs(log: &std::path::Path) -> (usize, usize) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    std::fs::write(log, "").unwrap();
    let count = |what: &str| text.lines().filter(|l| l.starts_with(what)).count();
    (count("filesystem sync"), count("qgroup show"))
}

#[test]
fn quota_shares_of_one_filesystem_are_read_with_one_sync_and_one_listing() {
    let (mut sb, fs) = quota_sandbox();
    for name in ["a", "b", "c"] {
        quota_share(&sb, &fs, name, &["--quota", "10M"]);
    }
    put(&sb, "b", "two.bin", 2);
    let log = log_btrfs(&mut sb);

    // every subvolume has its own st_dev; they are one filesystem all the same
    let sample = json(&sb.ok(&["quota-sample", "--output-format", "json"]));
    assert_eq!(btrfs_runs(&log), (1, 1), "{sample}");
    let used = |name: &str| {
        sample.as_array().unwrap().iter().find(|s| s["name"] == name).unwrap()["used"]
            .as_u64()
            .unwrap()
    };
    assert!(used("b") >= 2 * MIB && used("a") < MIB, "{sample}");
}

#[test]
fn a_no_op_apply_reads_each_filesystems_quotas_once() {
    let (mut sb, fs) = quota_sandbox();
    let paths: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|name| quota_share(&sb, &fs, name, &["--quota", "10M"]))
        .collect();
    let log = log_btrfs(&mut sb);

    let out = sb.ok(&["apply"]);
    assert!(out.contains("nothing to do"), "{out}");
    assert_eq!(btrfs_runs(&log), (1, 1), "{out}");

    // a limit changed behind the gateway is still seen from that one listing and set back; the
    // figures SMB clients see are read once more after the change
    common::run("btrfs", &["qgroup", "limit", "20M", paths[1].to_str().unwrap()]);
    sb.ok(&["apply"]);
    assert_eq!(fs.qgroup(&paths[1]).1, Some(10 * MIB));
    let text = std::fs::read_to_string(&log).unwrap();
    let limits: Vec<&str> = text.lines().filter(|l| l.starts_with("qgroup limit")).collect();
    assert_eq!(limits.len(), 1, "{text}");
    assert_eq!(btrfs_runs(&log), (2, 2), "{text}");
}
