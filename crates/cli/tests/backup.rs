//! Backups of a share to PBS through the CLI, for real where it can be: a btrfs share on a loop
//! device served by the sandbox's smbd, files written and changed over SMB, the backup read
//! from a btrfs snapshot, restored into a new directory and compared byte for byte (and one
//! file alone). PBS itself cannot be installed here, so its tools are the stand-ins of t/bin,
//! which keep real archives in a directory. The storage's password never shows in any
//! process's argv or environment; a busy server is retried, bad credentials fail at once
//! (exit 3); the backup snapshot is gone afterwards either way; refusals change nothing.

mod common;
#[path = "common/secret_watch.rs"]
mod secret_watch;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::{Btrfs, Sandbox};
use secret_watch::SecretWatch;

const ALICE: (&str, &str) = ("alice", "Alice-pw1");
const SECRET: &str = "pbs-Secret-51c0de";
const FP: &str = "ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:cd:cd:cd:cd:cd:cd:cd:cd:cd:cd:cd:cd:cd:cd:cd:cd";

/// A sandbox with a btrfs volume, alice, PBS storages in its storage.cfg (passwords where PVE
/// keeps them) and the PBS "server": the stand-in's store, holding datastore `ds`.
struct Lab {
    sb: Sandbox,
    fs: Btrfs,
}

impl Lab {
    fn new() -> Lab {
        let sb = Sandbox::new();
        let fs = Btrfs::new(sb.dir.path(), "512M");
        sb.add_user(ALICE.0, ALICE.1);
        let pve = sb.root.join("pve");
        std::fs::create_dir_all(pve.join("priv/storage")).unwrap();
        std::fs::write(
            pve.join("storage.cfg"),
            format!(
                "dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n\n\
                 dir: scratch\n\tpath {}\n\tcontent backup\n\n\
                 pbs: pbs1\n\tserver pbs.example\n\tdatastore ds\n\tusername smbgw@pbs\n\tfingerprint {FP}\n\tcontent backup\n\n\
                 pbs: badauth\n\tserver pbs.example\n\tdatastore ds\n\tusername smbgw@pbs\n\tfingerprint {FP}\n\n\
                 pbs: off\n\tserver pbs.example\n\tdatastore ds\n\tfingerprint {FP}\n\tdisable 1\n",
                sb.dir.path().display()
            ),
        )
        .unwrap();
        std::fs::write(pve.join("priv/storage/pbs1.pw"), format!("{SECRET}\n")).unwrap();
        std::fs::write(pve.join("priv/storage/badauth.pw"), "not-the-password\n").unwrap();
        std::fs::write(pve.join("priv/storage/off.pw"), format!("{SECRET}\n")).unwrap();
        let store = sb.dir.path().join("pbs");
        std::fs::create_dir_all(store.join("ds")).unwrap();
        // the server's only accepted secret, in a file: out of every environment
        std::fs::write(store.join("secret"), format!("{SECRET}\n")).unwrap();
        let mut lab = Lab { sb, fs };
        lab.hooks(&[]);
        lab
    }

    /// PBS's tools as the CLI finds them on PATH: the stand-ins, with test `hooks` set.
    fn hooks(&mut self, hooks: &[(&str, &str)]) {
        let bin = self.sb.dir.path().join("pbs-bin");
        std::fs::create_dir_all(&bin).unwrap();
        let stand_ins = common::repo().join("t/bin");
        for tool in ["proxmox-backup-client", "proxmox-file-restore"] {
            let mut script = format!("#!/bin/sh\nexport PBS_STANDIN_STORE='{}'\n", self.store().display());
            for (k, v) in hooks {
                script.push_str(&format!("export {k}='{v}'\n"));
            }
            script.push_str(&format!("exec '{}' \"$@\"\n", stand_ins.join(tool).display()));
            let path = bin.join(tool);
            std::fs::write(&path, script).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
        self.sb.env.retain(|(k, _)| k != "PATH");
        self.sb.env.push(("PATH".into(), path));
        let _ = std::fs::remove_file(self.store().join(".busy-calls"));
    }

    fn store(&self) -> PathBuf {
        self.sb.dir.path().join("pbs")
    }

    /// The commands the PBS server saw (argv), in order.
    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.store().join("calls"))
            .unwrap_or_default()
            .lines()
            .map(|l| l.rsplit_once('\t').map_or(l, |(argv, _)| argv).to_string())
            .collect()
    }

    /// A share for alice on the btrfs volume.
    fn share(&self, name: &str) -> PathBuf {
        let path = self.fs.mount.join(name);
        self.sb
            .ok(&["create", name, "--path", path.to_str().unwrap(), "--users", "alice"]);
        path
    }

    fn put(&self, share: &str, file: &str, data: &[u8]) {
        let local = self.sb.write_local("upload.bin", data);
        self.sb
            .smbclient(share, Some(ALICE), &format!("put {} {file}", local.display()))
            .unwrap();
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.extend(["--output-format", "json"]);
        serde_json::from_str(&self.sb.ok(&all)).unwrap()
    }

    /// The share's snapshots as `snapshot list` shows them.
    fn snapshots(&self, share: &str) -> Vec<serde_json::Value> {
        self.json(&["snapshot", "list", share])["snapshots"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// Run, require exit 1 naming `field`, and that nothing was written.
    fn refused(&self, args: &[&str], field: &str, says: &str) {
        let before = self.sb.snapshot();
        let calls = self.calls().len();
        let mut all = args.to_vec();
        all.extend(["--output-format", "json"]);
        let r = self.sb.run(&all);
        assert_eq!(r.code, 1, "{args:?}: {}{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains(&format!("\"field\":\"{field}\"")),
            "{args:?}: {}",
            r.stderr
        );
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
        assert_eq!(self.sb.snapshot(), before, "{args:?}: a refusal writes nothing");
        if !args.contains(&"restore") || field != "snapshot" {
            assert_eq!(self.calls().len(), calls, "{args:?}: no PBS tool ran");
        }
    }
}

fn bytes(seed: u32, len: u32) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(seed) >> 3) as u8).collect()
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_share_written_over_smb_is_backed_up_from_a_snapshot_and_restored_byte_for_byte() {
    let lab = Lab::new();
    let path = lab.share("docs");
    let (big, notes) = (bytes(7919, 2_000_000), b"version 1\n".to_vec());
    lab.put("docs", "big.bin", &big);
    lab.put("docs", "notes.txt", &notes);
    lab.sb.smbclient("docs", Some(ALICE), "mkdir sub").unwrap();
    lab.put("docs", "sub/deep.txt", b"deep inside\n");

    // the watch sees a secret in argv, so it can fail
    let probe = SecretWatch::start(SECRET);
    std::process::Command::new("sh")
        .args(["-c", "sleep 0.3", "probe", SECRET])
        .status()
        .unwrap();
    assert!(!probe.finish().is_empty(), "the watch did not see a secret in argv");

    let dry = lab
        .sb
        .ok(&["backup", "create", "docs", "--storage", "pbs1", "--dry-run"]);
    assert!(dry.contains("take backup snapshot @GMT-"), "{dry}");
    assert!(dry.contains("back up the snapshot to PBS storage 'pbs1'"), "{dry}");
    assert!(
        lab.calls().is_empty() && lab.snapshots("docs").is_empty(),
        "a dry run runs nothing"
    );

    let watch = SecretWatch::start(SECRET);
    let made = lab.json(&["backup", "create", "docs", "--storage", "pbs1"]);
    assert_eq!(
        watch.finish(),
        Vec::<String>::new(),
        "the password was in a process's argv or environment"
    );
    let snapshot = made["snapshot"].as_str().unwrap().to_string();
    assert!(
        snapshot.starts_with("host/") && snapshot.contains("-smbgw-docs/"),
        "{made}"
    );
    let calls = lab.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    // read from a handle on the snapshot (the gateway's own fd), not from a path users could swap
    assert!(calls[0].contains("docs.pxar:/proc/"), "{calls:?}");
    assert!(calls[0].contains("--backup-type host"), "{calls:?}");
    assert!(
        lab.snapshots("docs").is_empty(),
        "the backup snapshot is deleted afterwards"
    );

    // the share changes after the backup
    lab.put("docs", "notes.txt", b"version 2, written later\n");
    lab.sb.smbclient("docs", Some(ALICE), "del big.bin").unwrap();

    let list = lab.json(&["backup", "list", "docs", "--storage", "pbs1"]);
    let backups = list["storages"][0]["backups"].as_array().unwrap();
    assert_eq!(backups.len(), 1, "{list}");
    let time = backups[0]["time"].as_str().unwrap().to_string();
    assert!(snapshot.ends_with(&time), "{snapshot} {time}");
    // without --storage: every usable PBS storage (badauth's failure is a note, not an error)
    let all = lab.json(&["backup", "list", "docs"]);
    let on: Vec<&str> = all["storages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["storage"].as_str().unwrap())
        .collect();
    assert_eq!(on, ["pbs1", "badauth"], "{all}");
    assert!(
        all["storages"][1]["error"].as_str().unwrap().contains("credentials"),
        "{all}"
    );

    // the whole share into a new directory
    let target = lab.sb.dir.path().join("restored");
    lab.sb.ok(&[
        "backup",
        "restore",
        "docs",
        "--storage",
        "pbs1",
        "--snapshot",
        &time,
        "--target",
        target.to_str().unwrap(),
    ]);
    assert_eq!(read(&target.join("big.bin")), big);
    assert_eq!(read(&target.join("notes.txt")), notes);
    assert_eq!(read(&target.join("sub/deep.txt")), b"deep inside\n");
    assert_eq!(
        read(&path.join("notes.txt")),
        b"version 2, written later\n",
        "the share is untouched"
    );
    // again into it: not empty, refused
    lab.refused(
        &[
            "backup",
            "restore",
            "docs",
            "--storage",
            "pbs1",
            "--snapshot",
            &time,
            "--target",
            target.to_str().unwrap(),
        ],
        "target",
        "is not empty",
    );

    // one file, into a directory of its own
    let single = lab.sb.dir.path().join("single");
    lab.sb.ok(&[
        "backup",
        "restore",
        "docs",
        "--storage",
        "pbs1",
        "--snapshot",
        &time,
        "--target",
        single.to_str().unwrap(),
        "--file",
        "notes.txt",
    ]);
    assert_eq!(read(&single.join("notes.txt")), notes);
    assert_eq!(std::fs::read_dir(&single).unwrap().count(), 1, "only that file");
    // the same name again: nothing is overwritten
    lab.refused(
        &[
            "backup",
            "restore",
            "docs",
            "--storage",
            "pbs1",
            "--snapshot",
            &time,
            "--target",
            single.to_str().unwrap(),
            "--file",
            "notes.txt",
        ],
        "target",
        "already holds 'notes.txt'",
    );

    // the restored copy reads back over SMB as a share of its own
    lab.sb.ok(&[
        "create",
        "restored",
        "--path",
        target.to_str().unwrap(),
        "--users",
        "alice",
    ]);
    let back = lab.sb.dir.path().join("back.bin");
    lab.sb
        .smbclient("restored", Some(ALICE), &format!("get big.bin {}", back.display()))
        .unwrap();
    assert_eq!(read(&back), big);
}

#[test]
fn a_busy_server_is_retried_and_bad_credentials_fail_at_once_without_leaving_the_snapshot() {
    let mut lab = Lab::new();
    lab.share("team");
    lab.put("team", "a.txt", b"a\n");

    // the first call meets a busy server (its group locked by another backup)
    lab.hooks(&[("PBS_STANDIN_BUSY", "1")]);
    let r = lab.sb.run(&["backup", "create", "team", "--storage", "pbs1"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let backups: Vec<String> = lab
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("proxmox-backup-client backup "))
        .collect();
    assert_eq!(backups.len(), 2, "one retry: {backups:?}");
    assert!(lab.snapshots("team").is_empty());
    let list = lab.json(&["backup", "list", "team", "--storage", "pbs1"]);
    assert_eq!(list["storages"][0]["backups"].as_array().unwrap().len(), 1, "{list}");

    // bad credentials: one attempt, exit 3, what to fix, the snapshot gone
    lab.hooks(&[]);
    let before = lab.calls().len();
    let r = lab.sb.run(&["backup", "create", "team", "--storage", "badauth"]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("refused the credentials"), "{}", r.stderr);
    assert!(r.stderr.contains("badauth.pw"), "{}", r.stderr);
    assert_eq!(lab.calls().len() - before, 1, "not retried: {:?}", lab.calls());
    assert!(
        lab.snapshots("team").is_empty(),
        "the backup snapshot is deleted after a failure too"
    );

    // a backup killed during its upload leaves its snapshot; the next backup deletes it
    let client = lab.sb.dir.path().join("pbs-bin/proxmox-backup-client");
    std::fs::write(&client, "#!/bin/sh\nkill -9 $PPID\n").unwrap();
    let r = lab.sb.run(&["backup", "create", "team", "--storage", "pbs1"]);
    assert_ne!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let left = lab.snapshots("team");
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["kind"], "backup", "{left:?}");
    lab.hooks(&[]);
    let out = lab.sb.ok(&["backup", "create", "team", "--storage", "pbs1"]);
    assert!(
        out.contains(&format!(
            "{} was left by an interrupted backup",
            left[0]["name"].as_str().unwrap()
        )),
        "{out}"
    );
    assert!(lab.snapshots("team").is_empty());

    // while a backup of the share runs (its lock held), another is refused and touches nothing
    let lock = std::fs::File::open(lab.sb.root.join("state/backup-locks/team.lock")).unwrap();
    let held = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusiveNonblock).unwrap();
    let calls = lab.calls().len();
    let r = lab.sb.run(&["backup", "create", "team", "--storage", "pbs1"]);
    drop(held);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("already running"), "{}", r.stderr);
    assert_eq!(lab.calls().len(), calls);
    assert!(lab.snapshots("team").is_empty());
}

#[test]
fn refusals_name_their_field_and_change_nothing() {
    let lab = Lab::new();
    let path = lab.share("docs");
    lab.put("docs", "a.txt", b"a\n");
    let plain = lab.sb.data("plain");
    std::fs::create_dir_all(&plain).unwrap();
    lab.sb
        .ok(&["create", "plain", "--path", plain.to_str().unwrap(), "--users", "alice"]);

    lab.refused(
        &["backup", "create", "docs", "--storage", "nope"],
        "storage",
        "does not exist in storage.cfg",
    );
    lab.refused(
        &["backup", "create", "docs", "--storage", "off"],
        "storage",
        "is disabled",
    );
    lab.refused(
        &["backup", "create", "docs", "--storage", "local"],
        "storage",
        "is of type 'dir'",
    );
    lab.refused(
        &["backup", "create", "docs", "--storage", "bad/id"],
        "storage",
        "not a PVE storage id",
    );
    lab.refused(
        &["backup", "create", "plain", "--storage", "pbs1"],
        "name",
        "consistent",
    );
    // a VM share, as stored: its data is on the VM's own disk, out of the node's reach
    let cfg = lab.sb.root.join("config/shares.cfg");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str("\nshare: vmshare\n\tmode vm\n\tquota 10G\n\tvm-id 4321\n");
    std::fs::write(&cfg, text).unwrap();
    lab.refused(
        &["backup", "create", "vmshare", "--storage", "pbs1"],
        "name",
        "VM's own disk",
    );
    assert!(lab.snapshots("docs").is_empty());

    lab.sb.ok(&["backup", "create", "docs", "--storage", "pbs1"]);
    let time = lab.json(&["backup", "list", "docs", "--storage", "pbs1"])["storages"][0]["backups"][0]["time"]
        .as_str()
        .unwrap()
        .to_string();
    let restore = |target: &str| {
        vec![
            "backup".to_string(),
            "restore".into(),
            "docs".into(),
            "--storage".into(),
            "pbs1".into(),
            "--snapshot".into(),
            time.clone(),
            "--target".into(),
            target.into(),
        ]
    };
    let refused = |args: Vec<String>, field: &str, says: &str| {
        lab.refused(&args.iter().map(String::as_str).collect::<Vec<_>>(), field, says)
    };
    refused(
        restore(path.to_str().unwrap()),
        "target",
        "the directory of share 'docs'",
    );
    refused(restore(path.join("new").to_str().unwrap()), "target", "lies inside");
    refused(restore(plain.join("x").to_str().unwrap()), "target", "share 'plain'");
    refused(restore(lab.fs.mount.to_str().unwrap()), "target", "contains");
    refused(restore("/etc/restored"), "target", "system directory");
    refused(
        restore("/srv/smbgw-restore-elsewhere"),
        "target",
        "outside every storage of this node",
    );
    refused(restore("relative/dir"), "target", "not absolute");
    // below a directory others may change, root's restore could be redirected
    let open = lab.sb.dir.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    refused(
        restore(open.join("x").to_str().unwrap()),
        "target",
        "may be changed by users other than root",
    );
    let theirs = lab.sb.dir.path().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
    refused(restore(theirs.join("x").to_str().unwrap()), "target", "owner uid 65534");
    assert!(!open.join("x").exists() && !theirs.join("x").exists());
    let mut bad_time = restore(lab.sb.dir.path().join("r1").to_str().unwrap());
    bad_time[6] = "yesterday".into();
    refused(bad_time, "snapshot", "not a backup time");
    let mut unknown = restore(lab.sb.dir.path().join("r2").to_str().unwrap());
    unknown[6] = "2001-01-01T00:00:00Z".into();
    refused(unknown, "snapshot", "has no backup of share 'docs'");
    let mut escape = restore(lab.sb.dir.path().join("r3").to_str().unwrap());
    escape.extend(["--file".into(), "../../etc/passwd".into()]);
    refused(escape, "file", "not a path inside");
    for dir in ["r1", "r2", "r3"] {
        assert!(!lab.sb.dir.path().join(dir).exists(), "{dir}: nothing written");
    }
}
