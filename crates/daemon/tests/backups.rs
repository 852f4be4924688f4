//! Backup schedules run by the built `pve-smbgatewayd` (sandbox mode, `--once --now EPOCH`: the
//! scheduler's clock is the test's) on a btrfs share made with the real CLI, backed up through
//! the stand-ins of PBS's tools (t/bin, PBS cannot be installed here): the same scheduling as
//! the snapshot schedules (first round starts, one catch-up after downtime), PBS's prune on the
//! server after each backup, no snapshot left behind, a failed backup an alert through
//! PVE::Notify (a stand-in module), and the share settings refused on their fields.

#[path = "common/notify.rs"]
mod notify;
use notify::NOTIFY_STANDIN;

#[path = "../../cli/tests/common/mod.rs"]
mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use common::{Btrfs, Sandbox};

const DAEMON: &str = env!("CARGO_BIN_EXE_pve-smbgatewayd");
const SECRET: &str = "pbs-Sched-Secret-4d2";
const FP: &str = "ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:cd:cd:cd:cd:cd:cd:cd:cd:cd:cd:cd:cd:cd:cd:cd:cd";

/// 2026-11-22 20:00:30 UTC.
const T0: i64 = 1_795_377_630;
const HOUR: i64 = 3600;

struct Node {
    sb: Sandbox,
    fs: Btrfs,
}

impl Node {
    fn new() -> Node {
        let mut sb = Sandbox::new();
        let fs = Btrfs::new(sb.dir.path(), "512M");
        let dir = sb.dir.path().to_path_buf();
        std::fs::create_dir_all(dir.join("perl/PVE")).unwrap();
        std::fs::write(dir.join("perl/PVE/Notify.pm"), NOTIFY_STANDIN).unwrap();
        std::fs::create_dir_all(sb.root.join("config")).unwrap();
        std::fs::write(sb.root.join("config/daemon.conf"), "notify: pve\n").unwrap();
        let pve = sb.root.join("pve");
        std::fs::create_dir_all(pve.join("priv/storage")).unwrap();
        std::fs::write(
            pve.join("storage.cfg"),
            format!(
                "pbs: pbs1\n\tserver pbs.example\n\tdatastore ds\n\tusername smbgw@pbs\n\tfingerprint {FP}\n\n\
                 pbs: badauth\n\tserver pbs.example\n\tdatastore ds\n\tusername smbgw@pbs\n\tfingerprint {FP}\n"
            ),
        )
        .unwrap();
        std::fs::write(pve.join("priv/storage/pbs1.pw"), format!("{SECRET}\n")).unwrap();
        std::fs::write(pve.join("priv/storage/badauth.pw"), "wrong\n").unwrap();
        std::fs::create_dir_all(dir.join("pbs/ds")).unwrap();
        std::fs::write(dir.join("pbs/secret"), format!("{SECRET}\n")).unwrap();
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        for tool in ["proxmox-backup-client", "proxmox-file-restore"] {
            let script = format!(
                "#!/bin/sh\nexport PBS_STANDIN_STORE='{}'\nexec '{}' \"$@\"\n",
                dir.join("pbs").display(),
                common::repo().join("t/bin").join(tool).display()
            );
            std::fs::write(dir.join("bin").join(tool), script).unwrap();
            std::fs::set_permissions(dir.join("bin").join(tool), std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let path = format!(
            "{}:{}",
            dir.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        sb.env.push(("PATH".into(), path));
        Node { sb, fs }
    }

    /// One daemon round with the schedules' clock at `now`.
    fn round(&self, now: i64) {
        let dir = self.sb.dir.path();
        let out = Command::new(DAEMON)
            .args(["--once", "--now", &now.to_string()])
            .env("PVE_SMBGW_ROOT", &self.sb.root)
            .env("PVE_SMBGW_SMB_PORT", self.sb.port.to_string())
            .env("PVE_SMBGW_BIN", common::BIN)
            .envs(self.sb.env.iter().map(|(k, v)| (k, v)))
            .env("TZ", "UTC")
            .env("PERL5LIB", dir.join("perl"))
            .env("SMBGW_TEST_NOTIFY_LOG", dir.join("notify.jsonl"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "daemon --once --now {now}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The times of the share's backups on pbs1, oldest first.
    fn backups(&self, share: &str) -> Vec<String> {
        let out = self
            .sb
            .ok(&["backup", "list", share, "--storage", "pbs1", "--output-format", "json"]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["storages"][0]["backups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["time"].as_str().unwrap().to_string())
            .collect()
    }

    fn snapshot_count(&self, share: &str) -> usize {
        let out = self.sb.ok(&["snapshot", "list", share, "--output-format", "json"]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["snapshots"].as_array().unwrap().len()
    }

    fn notifications(&self, share: &str) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.sb.dir.path().join("notify.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|n| n["fields"]["share"] == share)
            .collect()
    }
}

fn pbs_time(time: i64) -> String {
    common::run("date", &["-u", "-d", &format!("@{time}"), "+%Y-%m-%dT%H:%M:%SZ"])
        .trim()
        .to_string()
}

#[test]
fn backups_run_on_schedule_and_are_pruned_on_the_server() {
    let node = Node::new();
    let path = node.fs.mount.join("docs");
    node.sb.ok(&[
        "create",
        "docs",
        "--path",
        path.to_str().unwrap(),
        "--backup-storage",
        "pbs1",
        "--backup-schedule",
        "hourly",
        "--backup-keep",
        "keep-last=2",
    ]);
    std::fs::write(path.join("a.txt"), "a\n").unwrap();

    node.round(T0);
    assert!(node.backups("docs").is_empty(), "the first round starts the schedule");
    // five hourly runs missed: one backup catches up, named for the round's time
    let back = T0 + 5 * HOUR;
    node.round(back);
    assert_eq!(node.backups("docs"), [pbs_time(back)]);
    node.round(back + 10);
    assert_eq!(node.backups("docs").len(), 1, "not due again before the next hour");
    node.round(back + HOUR);
    node.round(back + 2 * HOUR);
    // keep-last=2 on the server: the oldest of three goes
    assert_eq!(node.backups("docs"), [pbs_time(back + HOUR), pbs_time(back + 2 * HOUR)]);
    let calls = std::fs::read_to_string(node.sb.dir.path().join("pbs/calls")).unwrap();
    assert!(calls.contains("-smbgw-docs --keep-last 2"), "{calls}");
    assert_eq!(node.snapshot_count("docs"), 0, "no backup snapshot is left");
    assert!(node.notifications("docs").is_empty());
    // the snapshot schedules' state is apart from the backups'
    assert!(node.sb.root.join("state/backup-schedule.json").exists());
}

#[test]
fn a_failed_scheduled_backup_is_an_alert_and_leaves_no_snapshot() {
    let node = Node::new();
    let path = node.fs.mount.join("team");
    node.sb.ok(&[
        "create",
        "team",
        "--path",
        path.to_str().unwrap(),
        "--backup-storage",
        "badauth",
        "--backup-schedule",
        "hourly",
    ]);
    node.round(T0);
    node.round(T0 + HOUR);
    let alerts = node.notifications("team");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let text = alerts[0].to_string();
    assert!(text.contains("scheduled backup of share 'team' failed"), "{text}");
    assert!(text.contains("refused the credentials"), "{text}");
    assert_eq!(node.snapshot_count("team"), 0);
    let log = std::fs::read_to_string(node.sb.root.join("log/alerts.log")).unwrap_or_default();
    assert!(log.contains("backup schedule of share 'team' failed"), "{log}");
}

#[test]
fn backup_settings_are_refused_on_their_fields() {
    let node = Node::new();
    let path = node.fs.mount.join("x");
    let plain = node.sb.data("plain");
    std::fs::create_dir_all(&plain).unwrap();
    let before = node.sb.snapshot();
    let p = path.to_str().unwrap();
    for (args, field, says) in [
        (
            vec!["--backup-schedule", "daily"],
            "backup-schedule",
            "needs --backup-storage",
        ),
        (
            vec!["--backup-storage", "nope"],
            "backup-storage",
            "does not exist in storage.cfg",
        ),
        (
            vec!["--backup-storage", "pbs1", "--backup-keep", "keep-last=3"],
            "backup-keep",
            "needs --backup-schedule",
        ),
        (
            vec![
                "--backup-storage",
                "pbs1",
                "--backup-schedule",
                "daily",
                "--backup-keep",
                "keep-last=0",
            ],
            "backup-keep",
            "",
        ),
        (
            vec!["--backup-storage", "pbs1", "--backup-schedule", "25:00"],
            "backup-schedule",
            "",
        ),
    ] {
        let mut all = vec!["create", "x", "--path", p, "--output-format", "json"];
        all.extend(args.iter().copied());
        let r = node.sb.run(&all);
        assert_eq!(r.code, 1, "{args:?}: {}{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains(&format!("\"field\":\"{field}\"")),
            "{args:?}: {}",
            r.stderr
        );
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
    }
    let r = node.sb.run(&[
        "create",
        "plain",
        "--path",
        plain.to_str().unwrap(),
        "--backup-storage",
        "pbs1",
        "--backup-schedule",
        "daily",
        "--output-format",
        "json",
    ]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("\"field\":\"backup-schedule\""), "{}", r.stderr);
    assert!(r.stderr.contains("has no snapshots"), "{}", r.stderr);
    assert_eq!(node.sb.snapshot(), before, "refusals write nothing");
    assert!(!path.exists());
}
