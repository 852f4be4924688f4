//! Backups to PBS through the gateway's client runner (crates/gateway/src/pbs.rs), against the
//! stand-in of proxmox-backup-client (t/bin/proxmox-backup-client, PBS cannot be installed
//! here): a directory backed up and restored elsewhere reads back byte for byte, the storage's
//! password never shows in any process's argv or environment, transient failures are retried
//! (the waits recorded, not slept) and permanent ones end at once with what to fix.

use std::cell::RefCell;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

#[path = "../../cli/tests/common/secret_watch.rs"]
mod secret_watch;

use secret_watch::SecretWatch;
use smbgw_core::{ErrorKind, Layout};
use smbgw_gateway::pbs::{backup_id, Backoff, Keep, PbsClient};
use smbgw_gateway::Gateway;

const SECRET: &str = "pbs-Secret-7f3a91";
const FP: &str = "ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:cd:cd:cd:cd:cd:cd:cd:cd:cd:cd:cd:cd:cd:cd:cd:cd";

/// The stand-in of PBS program `tool` (proxmox-backup-client, proxmox-file-restore).
fn stand_in(tool: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../t/bin").join(tool)
}

/// A sandboxed node with PBS storages in its storage.cfg, the password of `pbs1` where PVE
/// keeps it, and a PBS "server" (the stand-in's store) holding datastore `ds`.
struct Lab {
    dir: tempfile::TempDir,
    gw: Gateway,
}

impl Lab {
    fn new() -> Lab {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("pve/priv/storage")).unwrap();
        std::fs::write(
            root.join("pve/storage.cfg"),
            format!(
                "dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n\n\
                 pbs: pbs1\n\tserver pbs.example\n\tdatastore ds\n\tusername smbgw@pbs\n\tfingerprint {FP}\n\tcontent backup\n\n\
                 pbs: wrongfp\n\tserver pbs.example\n\tdatastore ds\n\tfingerprint {}\n\n\
                 pbs: nostore\n\tserver pbs.example\n\tdatastore gone\n\tfingerprint {FP}\n\n\
                 pbs: off\n\tserver pbs.example\n\tdatastore ds\n\tdisable 1\n\n\
                 pbs: badfp\n\tserver pbs.example\n\tdatastore ds\n\tfingerprint AB-CD\n\n\
                 pbs: nopw\n\tserver pbs.example\n\tdatastore ds\n\tfingerprint {FP}\n",
                FP.replace("ab", "00")
            ),
        )
        .unwrap();
        for id in ["pbs1", "wrongfp", "nostore"] {
            std::fs::write(root.join(format!("pve/priv/storage/{id}.pw")), format!("{SECRET}\n")).unwrap();
        }
        // the server: datastore ds, accepting only SECRET (kept in a file, out of every environment)
        std::fs::create_dir_all(root.join("pbs/ds")).unwrap();
        std::fs::write(root.join("pbs/secret"), format!("{SECRET}\n")).unwrap();
        let gw = Gateway::new(Layout::sandbox(root, [127, 0, 0, 1].into(), 4450).unwrap());
        Lab { dir, gw }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The stand-in of `tool` with `hooks` (its test variables) set, as a program the runner
    /// can call.
    fn program(&self, name: &str, hooks: &[(&str, &str)], tool: &str) -> PathBuf {
        let path = self.root().join(format!("{tool}-{name}"));
        let mut script = format!("#!/bin/sh\nexport PBS_STANDIN_STORE='{}/pbs'\n", self.root().display());
        for (k, v) in hooks {
            script.push_str(&format!("export {k}='{v}'\n"));
        }
        script.push_str(&format!("exec '{}' \"$@\"\n", stand_in(tool).display()));
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// The client for `storage`, running the stand-in with `hooks`, recording its waits.
    fn client(&self, storage: &str, hooks: &[(&str, &str)], waits: &Rc<RefCell<Vec<Duration>>>) -> PbsClient {
        let w = waits.clone();
        self.gw
            .pbs_client(storage)
            .unwrap()
            .with_programs(
                self.program(storage, hooks, "proxmox-backup-client"),
                self.program(storage, hooks, "proxmox-file-restore"),
            )
            .with_backoff(Backoff {
                attempts: 4,
                first: Duration::from_secs(10),
                max: Duration::from_secs(600),
            })
            .with_sleep(move |d| w.borrow_mut().push(d))
    }

    /// The calls the server saw: (argv, where the secret came from).
    fn calls(&self) -> Vec<(String, String)> {
        let text = std::fs::read_to_string(self.root().join("pbs/calls")).unwrap_or_default();
        text.lines()
            .map(|l| {
                let (argv, from) = l.rsplit_once('\t').unwrap();
                (argv.to_string(), from.to_string())
            })
            .collect()
    }
}

/// A share's data: every byte value, a 0600 file in a subdirectory, a symlink.
fn share_data(dir: &Path) {
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 256) as u8).collect();
    std::fs::write(dir.join("data.bin"), bytes).unwrap();
    std::fs::write(dir.join("sub/private.txt"), "only the owner reads this\n").unwrap();
    std::fs::set_permissions(dir.join("sub/private.txt"), std::fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::symlink("../data.bin", dir.join("sub/link")).unwrap();
}

#[test]
fn a_backup_restores_byte_for_byte_and_the_password_stays_out_of_argv() {
    let lab = Lab::new();
    let src = lab.root().join("share");
    share_data(&src);
    let waits = Rc::new(RefCell::new(Vec::new()));
    let mut client = lab.client("pbs1", &[], &waits);
    let id = backup_id("pve1", "team docs");
    assert_eq!(id, "pve1-smbgw-team_20docs");

    // the watch must see a secret in argv: it is able to fail
    let probe = SecretWatch::start(SECRET);
    let mut sleeper = std::process::Command::new("sh")
        .args(["-c", "sleep 0.3", "probe", SECRET])
        .spawn()
        .unwrap();
    sleeper.wait().unwrap();
    assert!(!probe.finish().is_empty(), "the watch did not see a secret in argv");

    let watch = SecretWatch::start(SECRET);
    client.backup("team docs", &src, &id, Some(1_700_000_000)).unwrap();
    client.backup("team docs", &src, &id, Some(1_700_003_600)).unwrap();
    let snapshots = client.snapshots(&id).unwrap();
    let target = lab.root().join("restored");
    client.restore(&snapshots[0].path(), "team docs", &target).unwrap();
    let catalog = client.catalog(&snapshots[1].path()).unwrap();
    let pruned = client
        .prune(
            &id,
            &Keep {
                last: Some(1),
                ..Keep::default()
            },
            true,
        )
        .unwrap();
    // single files through proxmox-file-restore: a listing, one file, one directory
    let listing = client.files(&snapshots[1].path(), "team docs", "sub").unwrap();
    let single = lab.root().join("single");
    client
        .extract(&snapshots[1].path(), "team docs", "sub/private.txt", &single)
        .unwrap();
    client
        .extract(&snapshots[1].path(), "team docs", "/sub/", &single)
        .unwrap();
    let again = client.extract(&snapshots[1].path(), "team docs", "sub/private.txt", &single);
    let seen = watch.finish();
    assert!(
        seen.is_empty(),
        "the password was in the argv or environment of: {seen:?}"
    );

    // every call had the secret from the descriptor, none with it in argv
    let calls = lab.calls();
    assert_eq!(calls.len(), 10, "{calls:?}");
    for (argv, from) in &calls {
        assert_eq!(from, "PBS_PASSWORD_FD", "{argv}");
        assert!(!argv.contains(SECRET));
        assert!(argv.contains("--repository smbgw@pbs@pbs.example:ds"), "{argv}");
    }
    assert!(
        calls[0].0.contains(&format!("team_20docs.pxar:{}", src.display())),
        "{}",
        calls[0].0
    );

    assert_eq!(
        snapshots.iter().map(|s| s.path()).collect::<Vec<_>>(),
        [
            format!("host/{id}/2023-11-14T22:13:20Z"),
            format!("host/{id}/2023-11-14T23:13:20Z")
        ]
    );
    assert_eq!(snapshots[0].owner.as_deref(), Some("smbgw@pbs"));
    assert!(snapshots[0].files.iter().any(|f| f.filename == "team_20docs.pxar.didx"));

    // read back: the bytes, the private file and its mode, the symlink as a symlink
    assert_eq!(
        std::fs::read(target.join("data.bin")).unwrap(),
        std::fs::read(src.join("data.bin")).unwrap()
    );
    assert_eq!(
        std::fs::read_to_string(target.join("sub/private.txt")).unwrap(),
        "only the owner reads this\n"
    );
    let mode = std::fs::metadata(target.join("sub/private.txt"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o600);
    assert_eq!(
        std::fs::read_link(target.join("sub/link")).unwrap(),
        Path::new("../data.bin")
    );

    let files: Vec<(&str, Option<u64>)> = catalog
        .iter()
        .filter(|e| e.kind == 'f')
        .map(|e| (e.path.as_str(), e.size))
        .collect();
    assert_eq!(
        files,
        [
            ("team_20docs.pxar.didx/data.bin", Some(300_000)),
            ("team_20docs.pxar.didx/sub/private.txt", Some(26))
        ]
    );
    assert!(catalog
        .iter()
        .any(|e| e.kind == 'l' && e.path == "team_20docs.pxar.didx/sub/link"));
    assert_eq!(
        pruned.iter().map(|p| (p.backup_time, p.keep)).collect::<Vec<_>>(),
        [(1_700_000_000, false), (1_700_003_600, true)]
    );
    assert_eq!(client.snapshots(&id).unwrap().len(), 2, "a dry run removes nothing");

    let names: Vec<(&str, &str, bool, Option<u64>)> = listing
        .iter()
        .map(|e| (e.text.as_str(), e.kind.as_str(), e.leaf, e.size))
        .collect();
    assert_eq!(names, [("link", "l", true, None), ("private.txt", "f", true, Some(26))]);
    assert_eq!(
        std::fs::read_to_string(single.join("private.txt")).unwrap(),
        "only the owner reads this\n"
    );
    let mode = std::fs::metadata(single.join("private.txt"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o600);
    assert_eq!(
        std::fs::read_link(single.join("sub/link")).unwrap(),
        Path::new("../data.bin")
    );
    let e = again.unwrap_err();
    assert!(
        e.kind == ErrorKind::External && e.message.contains("failed to create file \"private.txt\""),
        "an existing file is not overwritten: {e:?}"
    );
    let e = client.files(&snapshots[1].path(), "team docs", "nope").unwrap_err();
    assert!(e.message.contains("not found in catalog"), "{}", e.message);
    assert!(waits.borrow().is_empty(), "nothing failed, nothing waited");

    // restoring onto the restored tree fails at once: no retry that could write more
    let e = client.restore(&snapshots[0].path(), "team docs", &target).unwrap_err();
    assert_eq!(e.kind, ErrorKind::External);
    assert!(e.message.contains("EEXIST"), "{}", e.message);
}

#[test]
fn transient_failures_are_retried_with_growing_waits() {
    let lab = Lab::new();
    let src = lab.root().join("share");
    share_data(&src);
    let id = backup_id("pve1", "docs");

    // busy for two calls: the third gets through; the waits grow and stay within the backoff
    let waits = Rc::new(RefCell::new(Vec::new()));
    let mut client = lab.client("pbs1", &[("PBS_STANDIN_BUSY", "2")], &waits);
    client.backup("docs", &src, &id, None).unwrap();
    let w = waits.borrow().clone();
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(
        Duration::from_secs(5) <= w[0] && w[0] <= Duration::from_secs(10),
        "{w:?}"
    );
    assert!(
        Duration::from_secs(10) <= w[1] && w[1] <= Duration::from_secs(20),
        "{w:?}"
    );
    assert_eq!(client.snapshots(&id).unwrap().len(), 1);

    // unreachable every time: all four attempts, then the client's message and exit 3
    let waits = Rc::new(RefCell::new(Vec::new()));
    let mut client = lab.client("pbs1", &[("PBS_STANDIN_UNREACHABLE", "1")], &waits);
    let before = lab.calls().len();
    let e = client.backup("docs", &src, &id, None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::External);
    assert_eq!(e.kind.exit_code(), 3);
    assert!(
        e.message.contains("still failed after 4 attempts")
            && e.message.contains("Connection refused (os error 111)")
            && e.message.contains("PBS storage 'pbs1'"),
        "{}",
        e.message
    );
    assert_eq!(waits.borrow().len(), 3);
    assert_eq!(lab.calls().len() - before, 4);
}

#[test]
fn permanent_failures_end_at_once_saying_what_to_fix() {
    let lab = Lab::new();
    let src = lab.root().join("share");
    share_data(&src);
    let id = backup_id("pve1", "docs");
    let cases = [
        (
            "pbs1",
            vec![("PBS_STANDIN_SECRET", "another")],
            "refused the credentials",
            "permission check failed.",
        ),
        (
            "wrongfp",
            vec![],
            "is not the one `fingerprint`",
            "certificate verify failed",
        ),
        ("nostore", vec![], "has no datastore 'gone'", "no such datastore 'gone'"),
    ];
    for (storage, hooks, says, client_says) in cases {
        let waits = Rc::new(RefCell::new(Vec::new()));
        let mut client = lab.client(storage, &hooks, &waits);
        let before = lab.calls().len();
        let e = client.backup("docs", &src, &id, None).unwrap_err();
        assert_eq!(e.kind, ErrorKind::External, "{storage}: {e:?}");
        assert!(
            e.message.contains(says) && e.message.contains(client_says),
            "{storage}: {}",
            e.message
        );
        assert!(waits.borrow().is_empty(), "{storage}: waited {:?}", waits.borrow());
        assert_eq!(lab.calls().len() - before, 1, "{storage}: one attempt only");
    }
    assert!(
        !lab.root().join("pbs/ds/host").exists(),
        "a refused backup stores nothing"
    );
}

#[test]
fn storages_that_cannot_take_backups_are_refused_naming_the_field() {
    let lab = Lab::new();
    let cases = [
        (
            "nosuch",
            "storage",
            "storage 'nosuch' does not exist in storage.cfg; PBS storages: pbs1, wrongfp, nostore, off, badfp, nopw",
        ),
        ("local", "storage", "storage 'local' is of type 'dir'"),
        ("off", "storage", "storage 'off' is disabled"),
        ("badfp", "fingerprint", "\"AB-CD\", which is not a SHA-256 fingerprint"),
        ("nopw", "storage", "storage 'nopw' has no password: PVE keeps it in"),
    ];
    for (storage, field, says) in cases {
        let e = lab.gw.pbs_client(storage).unwrap_err();
        assert_eq!(
            (e.kind, e.field.as_deref()),
            (ErrorKind::Input, Some(field)),
            "{storage}: {e:?}"
        );
        assert_eq!(e.kind.exit_code(), 1);
        assert!(e.message.contains(says), "{storage}: {}", e.message);
    }
    assert!(lab.calls().is_empty(), "a refused storage runs no client");

    // the list to choose from says the same, storage by storage
    let list = lab.gw.pbs_storages().unwrap();
    let seen: Vec<(&str, bool, Option<&str>)> = list
        .iter()
        .map(|s| (s.storage.as_str(), s.usable, s.repository.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [
            ("pbs1", true, Some("smbgw@pbs@pbs.example:ds")),
            ("wrongfp", true, Some("root@pam@pbs.example:ds")),
            ("nostore", true, Some("root@pam@pbs.example:gone")),
            ("off", false, None),
            ("badfp", false, None),
            ("nopw", false, None),
        ]
    );
    assert!(list[3].reason.as_deref().unwrap().contains("is disabled"));
    assert!(list[5].reason.as_deref().unwrap().contains("has no password"));
}
