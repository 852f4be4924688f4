//! Snapshot schedules run by the built `pve-smbgatewayd` (sandbox mode, `--once --now EPOCH`:
//! the scheduler's clock is the test's, nothing waits on wall-clock minutes) on btrfs shares
//! made with the real CLI: the first round only starts the schedule, a round after downtime
//! takes exactly one snapshot, the retention prunes our scheduled snapshots and never a foreign
//! or a manual one, and a failed snapshot is an alert through PVE::Notify (a stand-in module;
//! the real perl glue runs); a CephFS share's schedule (a real Ceph cluster) runs on one node of
//! two that share the config dir. Needs root, like the CLI's integration tests.

#[path = "common/notify.rs"]
mod notify;
use notify::NOTIFY_STANDIN;

#[path = "../../cli/tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::Command;

use common::{Btrfs, Sandbox};

const DAEMON: &str = env!("CARGO_BIN_EXE_pve-smbgatewayd");

/// 2026-11-22 20:00:30 UTC.
const T0: i64 = 1_795_377_630;
const HOUR: i64 = 3600;

struct Node {
    sb: Sandbox,
    fs: Btrfs,
    notify_log: std::path::PathBuf,
}

impl Node {
    fn new() -> Node {
        let sb = Sandbox::new();
        let fs = Btrfs::new(sb.dir.path(), "512M");
        let perl = sb.dir.path().join("perl");
        std::fs::create_dir_all(perl.join("PVE")).unwrap();
        std::fs::write(perl.join("PVE/Notify.pm"), NOTIFY_STANDIN).unwrap();
        std::fs::create_dir_all(sb.root.join("config")).unwrap();
        std::fs::write(sb.root.join("config/daemon.conf"), "notify: pve\n").unwrap();
        let notify_log = sb.dir.path().join("notify.jsonl");
        Node { sb, fs, notify_log }
    }

    /// One daemon round with the schedules' clock at `now`.
    fn round(&self, now: i64) {
        let out = Command::new(DAEMON)
            .args(["--once", "--now", &now.to_string()])
            .env("PVE_SMBGW_ROOT", &self.sb.root)
            .env("PVE_SMBGW_SMB_PORT", self.sb.port.to_string())
            .env("PVE_SMBGW_BIN", common::BIN)
            // hourly counts in the node's time zone; the test's is fixed
            .env("TZ", "UTC")
            .env("PERL5LIB", self.sb.dir.path().join("perl"))
            .env("SMBGW_TEST_NOTIFY_LOG", &self.notify_log)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "daemon --once --now {now}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// (name, kind) of the share's snapshots, oldest first.
    fn snapshots(&self, share: &str) -> Vec<(String, Option<String>)> {
        let out = self.sb.ok(&["snapshot", "list", share, "--output-format", "json"]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["snapshots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["name"].as_str().unwrap().to_string(),
                    s["kind"].as_str().map(String::from),
                )
            })
            .collect()
    }

    fn notifications(&self, share: &str) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.notify_log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|n| n["fields"]["share"] == share)
            .collect()
    }
}

fn gmt(time: i64) -> String {
    let out = common::run("date", &["-u", "-d", &format!("@{time}"), "+@GMT-%Y.%m.%d-%H.%M.%S"]);
    out.trim().to_string()
}

fn scheduled(names: &[i64]) -> Vec<(String, Option<String>)> {
    names.iter().map(|t| (gmt(*t), Some("scheduled".to_string()))).collect()
}

#[test]
fn schedules_catch_up_once_and_prune_only_our_scheduled_snapshots() {
    let node = Node::new();
    let path = node.fs.mount.join("docs");
    node.sb.ok(&[
        "create",
        "docs",
        "--path",
        path.to_str().unwrap(),
        "--shadow-copies",
        "1",
        "--snapshot-schedule",
        "hourly",
        "--snapshot-keep",
        "keep-last=2",
    ]);
    // one made by hand, older than all: never ours, never pruned
    let foreign = "@GMT-2026.01.01-00.00.00";
    std::fs::create_dir(path.join(".snapshots")).unwrap();
    common::run(
        "btrfs",
        &[
            "subvolume",
            "snapshot",
            "-r",
            path.to_str().unwrap(),
            path.join(".snapshots").join(foreign).to_str().unwrap(),
        ],
    );
    let foreign = (foreign.to_string(), None);

    // the first round starts the schedule: the next hour is the first run
    node.round(T0);
    assert_eq!(node.snapshots("docs"), std::slice::from_ref(&foreign));
    // the list says when: the hour after the round that started the schedule
    let next_run = |node: &Node| {
        let out = node.sb.ok(&["snapshot", "list", "docs", "--output-format", "json"]);
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["next_run"].as_i64()
    };
    let first = T0 - T0 % HOUR + HOUR;
    assert_eq!(next_run(&node), Some(first));
    node.round(T0 + 60);
    assert_eq!(
        node.snapshots("docs"),
        std::slice::from_ref(&foreign),
        "20:01:30 is before 21:00"
    );

    // five hourly runs missed while the node was down: one snapshot catches up
    let back = T0 + 5 * HOUR;
    node.round(back);
    assert_eq!(
        node.snapshots("docs"),
        [vec![foreign.clone()], scheduled(&[back])].concat()
    );
    node.round(back + 10);
    assert_eq!(node.snapshots("docs").len(), 2, "not due again before the next hour");
    assert_eq!(
        next_run(&node),
        Some(back - back % HOUR + HOUR),
        "the hour after the catch-up"
    );

    // a manual one is outside the retention
    node.sb.ok(&["snapshot", "create", "docs"]);
    let manual = node
        .snapshots("docs")
        .into_iter()
        .find(|s| s.1.as_deref() == Some("manual"))
        .unwrap();

    node.round(back + HOUR);
    node.round(back + 2 * HOUR);
    // keep-last=2 over our scheduled snapshots: the oldest of three goes
    let mut want = [vec![foreign.clone()], scheduled(&[back + HOUR, back + 2 * HOUR])].concat();
    want.push(manual.clone());
    assert_eq!(node.snapshots("docs"), want);
    assert!(!path.join(".snapshots").join(gmt(back)).exists());
    assert!(path.join(".snapshots/@GMT-2026.01.01-00.00.00").exists());
    assert!(node.notifications("docs").is_empty());

    // one of ours removed by hand: the next run drops it from the record
    let record = || std::fs::read_to_string(node.sb.root.join("state/snapshots.json")).unwrap();
    assert_eq!(record().matches("\"scheduled\"").count(), 2, "{}", record());
    common::run(
        "btrfs",
        &[
            "subvolume",
            "delete",
            path.join(".snapshots").join(gmt(back + HOUR)).to_str().unwrap(),
        ],
    );
    node.round(back + 3 * HOUR);
    let mut want = [vec![foreign.clone()], scheduled(&[back + 2 * HOUR, back + 3 * HOUR])].concat();
    want.push(manual.clone());
    assert_eq!(node.snapshots("docs"), want);
    assert_eq!(record().matches("\"scheduled\"").count(), 2, "{}", record());

    // the last runs are the node's state (a btrfs share is node-local)
    let state = std::fs::read_to_string(node.sb.root.join("state/snapshot-schedule.json")).unwrap();
    assert!(state.contains("\"docs\""), "{state}");
}

/// A user who may write in the share root renames the root-owned `.snapshots` away for a
/// while: a round in between makes a new one, but keeps the record of the hidden snapshots
/// (their subvolumes still exist), so once swapped back they are ours again (pruned, deletable).
#[test]
fn snapshots_renamed_away_and_back_stay_ours() {
    let node = Node::new();
    let path = node.fs.mount.join("team");
    node.sb.ok(&[
        "create",
        "team",
        "--path",
        path.to_str().unwrap(),
        "--snapshot-schedule",
        "hourly",
    ]);
    node.round(T0);
    node.round(T0 + HOUR);
    node.sb.ok(&["snapshot", "create", "team"]);
    let before = node.snapshots("team");
    assert_eq!(before.len(), 2, "{before:?}");
    assert!(before.iter().all(|s| s.1.is_some()), "{before:?}");

    // a user id of no one in particular, allowed to write in the share root (as --users are,
    // by ACL, in a root without the sticky bit)
    common::run("chmod", &["0770", path.to_str().unwrap()]);
    common::run("setfacl", &["-m", "u:12345:rwx", path.to_str().unwrap()]);
    let as_user = |from: &str, to: &str| {
        common::run(
            "setpriv",
            &[
                "--reuid=12345",
                "--regid=12345",
                "--clear-groups",
                "mv",
                "-T",
                path.join(from).to_str().unwrap(),
                path.join(to).to_str().unwrap(),
            ],
        )
    };
    as_user(".snapshots", "hidden");
    node.round(T0 + 2 * HOUR);
    assert_eq!(node.snapshots("team"), scheduled(&[T0 + 2 * HOUR]));
    as_user(".snapshots", "new");
    as_user("hidden", ".snapshots");

    assert_eq!(
        node.snapshots("team"),
        before,
        "the swapped-back snapshots are ours again"
    );
    let record = std::fs::read_to_string(node.sb.root.join("state/snapshots.json")).unwrap();
    assert_eq!(record.matches("\"team\"").count(), 3, "{record}");
    node.sb.ok(&["snapshot", "delete", "team", &before[1].0]);
}

/// A round that only records a newly seen schedule writes the schedule state under the config
/// lock too (the cluster-wide one for CephFS): while another holds the lock, the round waits,
/// gives up after the lock's timeout and writes nothing; afterwards it records the schedule.
#[test]
fn a_round_writes_the_schedule_state_only_under_the_lock() {
    let node = Node::new();
    let path = node.fs.mount.join("locked");
    node.sb.ok(&[
        "create",
        "locked",
        "--path",
        path.to_str().unwrap(),
        "--snapshot-schedule",
        "hourly",
    ]);
    let state = node.sb.root.join("state/snapshot-schedule.json");
    let _ = std::fs::remove_file(&state);
    let lock = node.sb.root.join("config/.shares.lock");
    let mut holder = Command::new("flock")
        // --no-fork: the process holding the lock is the one killed below
        .args(["--no-fork", "-x", lock.to_str().unwrap(), "sleep", "300"])
        .spawn()
        .unwrap();
    // the lock is taken once flock runs its command (a bound on a hung flock only)
    let mut held = false;
    for _ in 0..200 {
        let probe = Command::new("flock")
            .args(["-n", lock.to_str().unwrap(), "true"])
            .status()
            .unwrap();
        if !probe.success() {
            held = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(held, "flock did not take the lock");
    node.round(T0);
    let _ = holder.kill();
    let _ = holder.wait();
    assert!(
        !state.exists(),
        "written without the lock: {:?}",
        std::fs::read_to_string(&state)
    );
    node.round(T0);
    let text = std::fs::read_to_string(&state).unwrap();
    assert!(text.contains("\"locked\""), "{text}");
}

#[test]
fn a_failed_scheduled_snapshot_is_an_alert() {
    let node = Node::new();
    let path = node.fs.mount.join("bad");
    node.sb.ok(&[
        "create",
        "bad",
        "--path",
        path.to_str().unwrap(),
        "--snapshot-schedule",
        "*:0/15",
    ]);
    // a .snapshots users could rename in: the gateway refuses to keep snapshots there
    std::fs::create_dir(path.join(".snapshots")).unwrap();
    std::os::unix::fs::chown(path.join(".snapshots"), Some(65534), Some(65534)).unwrap();
    node.round(T0);
    node.round(T0 + 15 * 60);
    let alerts = node.notifications("bad");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["severity"], "error");
    let text = alerts[0].to_string();
    assert!(text.contains("writable by others than root"), "{text}");
    assert_eq!(
        std::fs::read_dir(path.join(".snapshots")).unwrap().count(),
        0,
        "nothing taken"
    );
    // the failed run counts as run: no alert every round until the next quarter hour
    node.round(T0 + 15 * 60 + 30);
    assert_eq!(node.notifications("bad").len(), 1);
    let log = std::fs::read_to_string(node.sb.root.join("log/alerts.log")).unwrap_or_default();
    assert!(log.contains("snapshot schedule of share 'bad' failed"), "{log}");
}

#[test]
fn a_schedule_on_a_filesystem_without_snapshots_is_refused() {
    let node = Node::new();
    let plain = node.sb.data("plain");
    let before = node.sb.snapshot();
    let r = node.sb.run(&[
        "create",
        "plain",
        "--path",
        plain.to_str().unwrap(),
        "--snapshot-schedule",
        "daily",
        "--output-format",
        "json",
    ]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("\"field\":\"snapshot-schedule\""), "{}", r.stderr);
    assert!(r.stderr.contains("has no snapshots"), "{}", r.stderr);
    assert_eq!(node.sb.snapshot(), before, "nothing written");
    assert!(!Path::new(&plain).exists());

    // an existing share gains a schedule only where snapshots exist
    node.sb.ok(&["create", "plain", "--path", plain.to_str().unwrap()]);
    let r = node.sb.run(&["update", "plain", "--snapshot-schedule", "daily"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let on_btrfs = node.fs.mount.join("sub");
    std::fs::create_dir(&on_btrfs).unwrap();
    node.sb.ok(&["create", "sub", "--path", on_btrfs.to_str().unwrap()]);
    let r = node.sb.run(&["update", "sub", "--snapshot-schedule", "daily"]);
    assert_eq!(r.code, 1, "a plain directory on btrfs: {}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("only a subvolume"), "{}", r.stderr);
}

/// A bind mount undone when dropped (the second node's view of the shared config dir).
struct BindMount(std::path::PathBuf);

impl Drop for BindMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// A CephFS share is served by every node of an HA cluster: two nodes (sandboxes whose config
/// dir is one directory, as /etc/pve is) run the same schedule, and only one of them takes
/// each run; the last run is kept beside the shared config, not per node.
#[test]
fn a_cephfs_schedule_runs_on_one_node_of_two() {
    // declared first, dropped last: the fixture unmounts before this directory goes
    let mnt = tempfile::Builder::new().prefix("smbgw-snapops-mnt.").tempdir().unwrap();
    let ceph = common::ceph::Ceph::start();
    let mount = mnt.path().join("cephfs");
    ceph.mount(None, &mount);
    let nodes = [Sandbox::new(), Sandbox::new()];
    for sb in &nodes {
        std::fs::create_dir_all(sb.root.join("config")).unwrap();
    }
    std::fs::write(nodes[0].root.join("config/daemon.conf"), "notify: log\n").unwrap();
    common::run(
        "mount",
        &[
            "--bind",
            nodes[0].root.join("config").to_str().unwrap(),
            nodes[1].root.join("config").to_str().unwrap(),
        ],
    );
    let _shared = BindMount(nodes[1].root.join("config"));
    let path = mount.join("smbgateway/team");
    nodes[0].ok(&[
        "create",
        "team",
        "--path",
        path.to_str().unwrap(),
        "--snapshot-schedule",
        "hourly",
    ]);
    let round = |node: usize, now: i64| {
        let sb = &nodes[node];
        let out = Command::new(DAEMON)
            .args(["--once", "--now", &now.to_string()])
            .env("PVE_SMBGW_ROOT", &sb.root)
            .env("PVE_SMBGW_SMB_PORT", sb.port.to_string())
            .env("PVE_SMBGW_BIN", common::BIN)
            .env("TZ", "UTC")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "node {node}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let snaps = || -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(path.join(".snap"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| !n.starts_with('_'))
            .collect();
        names.sort();
        names
    };
    round(0, T0);
    round(1, T0 + 1);
    assert!(snaps().is_empty());
    // both nodes come to the 21:00 run, a few seconds apart: one snapshot
    round(0, T0 + HOUR);
    round(1, T0 + HOUR + 5);
    assert_eq!(snaps(), [gmt(T0 + HOUR)]);
    let state = std::fs::read_to_string(nodes[0].root.join("config/snapshot-schedule.json")).unwrap();
    assert!(state.contains(&(T0 + HOUR).to_string()), "{state}");
    // the next run is the other node's if it comes first
    round(1, T0 + 2 * HOUR);
    round(0, T0 + 2 * HOUR + 5);
    assert_eq!(snaps(), [gmt(T0 + HOUR), gmt(T0 + 2 * HOUR)]);
    // both are ours to either node
    let listed = nodes[1].ok(&["snapshot", "list", "team", "--output-format", "json"]);
    assert_eq!(listed.matches("\"kind\":\"scheduled\"").count(), 2, "{listed}");
    for name in snaps() {
        nodes[1].ok(&["snapshot", "delete", "team", &name]);
    }
}
