//! Mode vm through the `qm` stand-in (t/bin/qm: qm's syntax and config format; it boots
//! nothing, so no VM runs here). What is real: the CLI and the gateway, the validation, the plan
//! and its rollback, the cloud-init user-data we render (checked with Debian's `cloud-init
//! schema`), the Samba config inside it (checked with `testparm`), the bridge on the node. The
//! VM's smbd is stood in for by a TCP listener on the VM's address on that bridge. Failures are
//! injected at every step of create, delete and apply (QM_STANDIN_FAIL, QM_STANDIN_AGENT, a
//! silent address, a missing snippets directory) and the free space of the storage is set
//! (PVESM_STANDIN_AVAIL).

mod common;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use common::{repo, Bridge, Run, Sandbox};
use serde_json::Value;

const ALICE: (&str, &str) = ("alice", "Al1ce-vm-secret");

/// The bridge of the share VM, with `.20` (the VM's address) on the node: a listener on port
/// 445 there stands in for the VM's smbd. Each lab has its own (the tests of one process run
/// side by side under `cargo test`).
fn vm_bridge() -> Bridge {
    static LABS: AtomicU32 = AtomicU32::new(0);
    let n = LABS.fetch_add(1, Ordering::SeqCst);
    let bridge = Bridge::new(&format!("smbgwvm{n}"), &format!("10.{}", 98 - n));
    common::run(
        "ip",
        &["addr", "add", &format!("{}.20/24", bridge.net), "dev", &bridge.name],
    );
    let listener = TcpListener::bind(format!("{}.20:445", bridge.net)).unwrap();
    std::thread::spawn(move || for _ in listener.incoming() {});
    bridge
}

struct Lab {
    sb: Sandbox,
    bridge: Bridge,
}

impl Lab {
    fn new() -> Lab {
        let mut sb = Sandbox::new();
        let bridge = vm_bridge();
        let dir = sb.dir.path().to_path_buf();
        let path = format!("{}:{}", repo().join("t/bin").display(), std::env::var("PATH").unwrap());
        for (k, v) in [
            ("PATH", path),
            (
                "QM_STANDIN_CONF_DIR",
                sb.root.join("pve/qemu-server").display().to_string(),
            ),
            ("QM_STANDIN_STATE_DIR", dir.join("qm-state").display().to_string()),
            ("QM_STANDIN_VOLUME_DIR", dir.join("volumes").display().to_string()),
            ("QM_STANDIN_LOG", dir.join("qm.log").display().to_string()),
            ("PCT_STANDIN_CONF_DIR", sb.root.join("pve/lxc").display().to_string()),
            ("PCT_STANDIN_STORAGE_DIR", dir.join("vz").display().to_string()),
            // what the node's disk has free must not decide the outcome
            ("PVESM_STANDIN_AVAIL", "local-lvm=100G".into()),
        ] {
            sb.env.push((k.into(), v));
        }
        sb.add_user(ALICE.0, ALICE.1);
        let lab = Lab { sb, bridge };
        // the gateway's template VM, made by our script (from a stand-in image), and a VM that
        // is no template
        let out = lab.template_script("9000");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        lab.qm(&["create", "9100", "--name", "other"]);
        std::fs::remove_file(lab.sb.dir.path().join("qm.log")).unwrap();
        lab
    }

    /// scripts/create_vm_template.sh against the stand-in, with an image that needs no
    /// customizing (the real one is downloaded and customized; no network or libguestfs here).
    fn template_script(&self, vmid: &str) -> std::process::Output {
        // 2 GiB as Debian's cloud image (sparse: nothing is written)
        let image = self.sb.dir.path().join("debian-12-genericcloud-amd64.qcow2");
        std::fs::File::create(&image).unwrap().set_len(2 << 30).unwrap();
        Command::new(repo().join("scripts/create_vm_template.sh"))
            .arg(vmid)
            .envs(self.sb.env.iter().map(|(k, v)| (k, v)))
            .env("IMAGE", &image)
            .env("CUSTOMIZED", "1")
            .output()
            .unwrap()
    }

    fn qm(&self, args: &[&str]) -> String {
        let out = Command::new("qm")
            .envs(self.sb.env.iter().map(|(k, v)| (k, v)))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "qm {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The qm calls since the last one, one argv each; the log starts over.
    fn qm_calls(&self) -> Vec<Vec<String>> {
        let log = self.sb.dir.path().join("qm.log");
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let _ = std::fs::remove_file(&log);
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    fn conf(&self, id: u32) -> PathBuf {
        self.sb.root.join(format!("pve/qemu-server/{id}.conf"))
    }

    fn volume(&self, name: &str) -> PathBuf {
        self.sb.dir.path().join("volumes/local-lvm").join(name)
    }

    fn snippet(&self, share: &str) -> PathBuf {
        self.sb.dir.path().join(format!("vz/snippets/smbgw-{share}-user.yaml"))
    }

    /// The CLI with extra environment (failure injection).
    fn run_with(&self, env: &[(&str, &str)], args: &[&str]) -> Run {
        let out = self.sb.command().envs(env.iter().copied()).args(args).output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// What VM `id` has on the node through the stand-in: its config, its volumes on every
    /// storage, its run state.
    fn traces(&self, id: u32) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = [self.conf(id)].into_iter().filter(|p| p.exists()).collect();
        for dir in ["volumes/local-lvm", "volumes/local", "qm-state"] {
            for entry in std::fs::read_dir(self.sb.dir.path().join(dir))
                .into_iter()
                .flatten()
                .flatten()
            {
                let name = entry.file_name().to_string_lossy().to_string();
                if name.starts_with(&format!("vm-{id}-")) || name.starts_with(&format!("{id}.")) {
                    found.push(entry.path());
                }
            }
        }
        found
    }

    fn state(&self, id: &str) -> String {
        self.qm(&["status", id]).trim().to_string()
    }
}

/// A failure injected into `create`, and what must follow.
struct Failure<'a> {
    what: &'a str,
    env: Vec<(&'a str, &'a str)>,
    args: &'a [&'a str],
    code: i32,
    /// what the error must say
    messages: Vec<&'a str>,
    /// the steps done before the failure, all of them undone
    undone: usize,
}

/// A refused run: exit `code`, each of `messages` in the error, `undone` steps rolled back.
fn assert_rolled_back(r: &Run, what: &str, code: i32, messages: &[&str], undone: usize) {
    assert_eq!(r.code, code, "{what}: {}{}", r.stdout, r.stderr);
    for message in messages {
        assert!(r.stderr.contains(message), "{what}: {message:?} missing: {}", r.stderr);
    }
    let rollback = format!("(rolled back {undone} completed step(s), nothing was changed)");
    assert!(r.stderr.contains(&rollback), "{what}: {}", r.stderr);
}

fn argv(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The YAML as JSON (python3-yaml comes with cloud-init).
fn yaml_to_json(path: &Path) -> Value {
    let out = Command::new("python3")
        .args([
            "-c",
            "import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn vm_template_script() {
    let lab = Lab::new();
    // Lab::new ran it for 9000: this is what it did
    let conf = std::fs::read_to_string(lab.conf(9000)).unwrap();
    for line in [
        "template: 1",
        "description: pve-smbgateway template 1",
        "scsi0: local-lvm:vm-9000-disk-0,size=2G",
        "ide2: local-lvm:vm-9000-cloudinit,media=cdrom",
        "agent: 1",
        "boot: order=scsi0",
    ] {
        assert!(conf.lines().any(|l| l == line), "{line:?} missing: {conf}");
    }
    assert!(!conf.contains("unused"), "{conf}");
    // again: nothing to do
    let out = lab.template_script("9000");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("template exists"));
    assert_eq!(lab.qm_calls(), vec![argv(&["qm", "config", "9000"])]);
    // a VM that is not ours is refused, and left alone
    let before = std::fs::read(lab.conf(9100)).unwrap();
    let out = lab.template_script("9100");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not the gateway's template"));
    assert_eq!(std::fs::read(lab.conf(9100)).unwrap(), before);
    // a failure half-way destroys the half-made VM
    lab.qm_calls();
    let mut cmd = Command::new(repo().join("scripts/create_vm_template.sh"));
    cmd.arg("9200")
        .envs(lab.sb.env.iter().map(|(k, v)| (k, v)))
        .env("IMAGE", lab.sb.dir.path().join("debian-12-genericcloud-amd64.qcow2"))
        .env("CUSTOMIZED", "1")
        .env("QM_STANDIN_FAIL", "template");
    assert!(!cmd.status().unwrap().success());
    assert!(!lab.conf(9200).exists(), "the half-made VM is left");
    let calls: Vec<String> = lab.qm_calls().iter().map(|c| c[1].clone()).collect();
    assert_eq!(
        calls,
        [
            "config",
            "create",
            "importdisk",
            "config",
            "set",
            "set",
            "template",
            "destroy"
        ]
    );
}

#[test]
fn vm_share_through_qm() {
    let lab = Lab::new();
    let sb = &lab.sb;
    let ip = format!("{}.20", lab.bridge.net);
    let cidr = format!("{ip}/24");
    // an address where nothing answers SMB
    let silent_cidr = format!("{}.21/24", lab.bridge.net);
    let gw = format!("{}.1", lab.bridge.net);
    let team: Vec<&str> = vec![
        "create",
        "team",
        "--mode",
        "vm",
        "--users",
        "alice",
        "--quota",
        "1G",
        "--vm-id",
        "960",
        "--vm-cores",
        "2",
        "--bridge",
        &lab.bridge.name,
        "--ip",
        &cidr,
        "--gateway",
        &gw,
    ];

    // -- bad input is refused before any qm call, missing resources before anything is created
    let before = sb.snapshot();
    let with = |extra: &[&str]| -> Vec<String> {
        let mut args = argv(&["create", "x", "--mode", "vm", "--quota", "1G"]);
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    for bad in [
        with(&["--vm-id", "12"]),
        with(&["--vm-memory", "64"]),
        with(&["--vm-cores", "0"]),
        with(&["--vm-template", "9000;reboot"]),
        with(&["--vm-storage", "local lvm"]),
        with(&["--bridge", "vmbr0;ls"]),
        with(&["--ip", "10.0.0.5"]),
        with(&["--gateway", "$(reboot)"]),
        with(&["--path", "/srv/team"]),
        with(&["--ct-memory", "512"]),
        with(&["--zfs-dataset", "tank/team"]),
        with(&["--shadow-copies", "1"]),
        argv(&["create", "x", "--mode", "vm", "--bridge", &lab.bridge.name]),
        argv(&["create", "x", "--path", "/srv/x", "--vm-memory", "1024"]),
        argv(&["create", "x", "--path", "/srv/x", "--bridge", "vmbr0"]),
        argv(&["create", "bad\nname", "--mode", "vm", "--quota", "1G"]),
    ] {
        let args: Vec<&str> = bad.iter().map(String::as_str).collect();
        let r = sb.run(&args);
        assert_eq!(r.code, 1, "{bad:?}: {}{}", r.stdout, r.stderr);
    }
    assert_eq!(lab.qm_calls(), Vec::<Vec<String>>::new(), "qm ran for invalid input");
    for (extra, message) in [
        (vec!["--vm-template", "9001"], "template VM 9001 does not exist"),
        (vec!["--vm-template", "9100"], "VM 9100 is not a template"),
        (vec!["--vm-id", "9100"], "guest id 9100 is in use"),
        (vec!["--vm-id", "9000"], "guest id 9000 is in use"),
        (vec!["--bridge", "nosuchbr0"], "bridge nosuchbr0 does not exist"),
        (
            vec!["--bridge", &lab.bridge.name, "--vm-memory", "262144"],
            "more than this node has",
        ),
        (
            vec!["--bridge", &lab.bridge.name, "--vm-storage", "nosuch"],
            "storage nosuch does not exist on this node or does not allow content 'images'",
        ),
        // PVE's `local` holds no VM disks
        (
            vec!["--bridge", &lab.bridge.name, "--vm-storage", "local"],
            "storage local does not exist on this node or does not allow content 'images'",
        ),
    ] {
        let args = with(&extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = sb.run(&args);
        assert_eq!(r.code, 1, "{extra:?}: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains(message), "{extra:?}: {}", r.stderr);
    }
    // room on the storage: the clone of the 2 GiB template and the 1 GiB data disk, to the KiB
    // (checked with --dry-run, which validates everything and creates nothing)
    let dry = with(&["--bridge", &lab.bridge.name, "--dry-run"]);
    let dry: Vec<&str> = dry.iter().map(String::as_str).collect();
    let r = lab.run_with(&[("PVESM_STANDIN_AVAIL", "local-lvm=3145727K")], &dry);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(
            "storage local-lvm has 2.99G free, but VM 100 (2G for the clone of template 9000, 1G for the data disk) needs 3G; free space on it or choose another --vm-storage"
        ),
        "{}",
        r.stderr
    );
    let r = lab.run_with(&[("PVESM_STANDIN_AVAIL", "local-lvm=2G")], &dry);
    assert!(r.stderr.contains("local-lvm has 2G free"), "{}", r.stderr);
    // a fresh install's `local` takes no snippets: the user-data would have nowhere to go
    let r = lab.run_with(&[("PVESM_STANDIN_LOCAL_CONTENT", "backup,iso,vztmpl")], &dry);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("storage local does not allow snippets") && r.stderr.contains("pvesm set local --content"),
        "{}",
        r.stderr
    );
    let r = lab.run_with(&[("PVESM_STANDIN_AVAIL", "local-lvm=3G")], &dry);
    assert_eq!(r.code, 0, "exactly enough room: {}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("(dry run, nothing was changed)"), "{}", r.stdout);
    let calls = lab.qm_calls();
    assert!(calls.iter().all(|c| c[1] == "config"), "only reads: {calls:?}");
    assert_eq!(sb.snapshot(), before);
    assert!(!lab.snippet("team").exists());
    assert!(lab.traces(100).is_empty() && lab.traces(960).is_empty());

    // -- a failure at any step of create leaves nothing behind: no VM config, no volume, no
    // run state, no snippet, no share in shares.cfg, no account or Samba file changed; the
    // template is untouched. The error names the step and says the rollback was complete.
    let template_conf = std::fs::read(lab.conf(9000)).unwrap();
    let template_disk = std::fs::read(lab.volume("vm-9000-disk-0")).unwrap();
    let silent = {
        let mut t = team.clone();
        let at = t.iter().position(|a| *a == "--ip").unwrap() + 1;
        t[at] = &silent_cidr;
        t
    };
    let snippets = sb.dir.path().join("vz/snippets");
    let silent_ip = format!("{}.21:445", lab.bridge.net);
    let qm_fails = |what, fail, message, undone| Failure {
        what,
        env: vec![("QM_STANDIN_FAIL", fail)],
        args: &team,
        code: 3,
        messages: vec![message, "injected failure"],
        undone,
    };
    let failures = [
        Failure {
            what: "snippet write",
            env: vec![],
            args: &team,
            code: 2,
            messages: vec!["create cloud-init user-data", "smbgw-team-user.yaml"],
            undone: 0,
        },
        qm_fails(
            "clone",
            "clone",
            "create VM 960 as a full clone of template 9000 (qm clone)",
            1,
        ),
        qm_fails(
            "configuration",
            "set:--cicustom",
            "configure VM 960: memory, cores, network",
            2,
        ),
        qm_fails(
            "data disk",
            "set:--scsi1",
            "add the share's data disk to VM 960: 1 GiB on local-lvm (scsi1)",
            3,
        ),
        qm_fails("start", "start", "start VM 960: ", 4),
        Failure {
            what: "guest agent",
            env: vec![("QM_STANDIN_AGENT", "never"), ("PVE_SMBGW_VM_WAIT", "2")],
            args: &team,
            code: 3,
            messages: vec!["wait until the guest agent of VM 960 answers (the VM booted): no answer within 2 s"],
            undone: 5,
        },
        Failure {
            what: "cloud-init failed",
            env: vec![("QM_STANDIN_CLOUDINIT", "failed")],
            args: &team,
            code: 3,
            messages: vec!["cloud-init failed in VM 960: ('scripts_user', RuntimeError("],
            undone: 6,
        },
        Failure {
            what: "cloud-init never finishes",
            env: vec![("QM_STANDIN_CLOUDINIT", "running"), ("PVE_SMBGW_VM_WAIT", "2")],
            args: &team,
            code: 3,
            messages: vec!["cloud-init did not finish in VM 960 within 2 s"],
            undone: 6,
        },
        Failure {
            what: "SMB",
            env: vec![("PVE_SMBGW_VM_WAIT", "2")],
            args: &silent,
            code: 3,
            messages: vec![
                "wait until cloud-init has configured Samba in VM 960 and it answers SMB for share 'team'",
                &silent_ip,
            ],
            undone: 6,
        },
    ];
    for Failure {
        what,
        env,
        args,
        code,
        messages,
        undone,
    } in failures
    {
        if what == "snippet write" {
            // the snippets directory of `local` is gone (a storage that is not mounted)
            std::fs::create_dir_all(snippets.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(sb.dir.path().join("vz/not-mounted"), &snippets).unwrap();
        }
        let r = lab.run_with(&env, args);
        if what == "snippet write" {
            std::fs::remove_file(&snippets).unwrap();
        }
        assert_rolled_back(&r, what, code, &messages, undone);
        assert_eq!(lab.traces(960), Vec::<PathBuf>::new(), "{what}: VM traces left");
        assert!(!lab.snippet("team").exists(), "{what}: the snippet is left");
        assert_eq!(sb.snapshot(), before, "{what}: files changed after a failed create");
        assert!(sb.ok(&["list"]).lines().all(|l| !l.starts_with("team")), "{what}");
        assert_eq!(std::fs::read(lab.conf(9000)).unwrap(), template_conf, "{what}");
        assert_eq!(
            std::fs::read(lab.volume("vm-9000-disk-0")).unwrap(),
            template_disk,
            "{what}"
        );
        let calls = lab.qm_calls();
        if undone >= 2 {
            // the clone's undo runs last: qm destroy frees what the config names
            assert_eq!(
                calls.last().unwrap(),
                &argv(&["qm", "destroy", "960", "--purge", "1"]),
                "{what}: {calls:?}"
            );
        } else {
            assert!(!calls.iter().any(|c| c[1] == "destroy"), "{what}: {calls:?}");
        }
    }

    // -- when undoing the clone fails too, the share is not created and the error says how to
    // remove the VM that is left (no share names it, so `apply` cannot)
    let r = lab.run_with(
        &[
            ("QM_STANDIN_AGENT", "never"),
            ("PVE_SMBGW_VM_WAIT", "1"),
            ("QM_STANDIN_FAIL", "destroy"),
        ],
        &team,
    );
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("rollback incomplete"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("VM 960 is left over, in no share: remove it with 'qm destroy 960 --purge 1'"),
        "{}",
        r.stderr
    );
    assert_eq!(sb.snapshot(), before, "files changed after a failed create");
    assert!(!lab.snippet("team").exists());
    assert_eq!(lab.state("960"), "status: stopped");
    lab.qm(&["destroy", "960", "--purge", "1"]);
    assert_eq!(lab.traces(960), Vec::<PathBuf>::new());
    // the incomplete rollback left its journal: the next change waits for apply to settle it
    let r = sb.run(&team);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("run 'pve-smbgateway apply' first"), "{}", r.stderr);
    sb.ok(&["apply"]);
    lab.qm_calls();

    // -- create: exactly these qm calls, a line for each step done
    let r = sb.run(&team);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let done: Vec<&str> = r.stdout.lines().filter_map(|l| l.strip_prefix("done: ")).collect();
    let expected = [
        "create cloud-init user-data ",
        "create VM 960 as a full clone of template 9000 (qm clone)",
        "configure VM 960: memory, cores, network, cloud-init user-data, guest agent (qm set)",
        "add the share's data disk to VM 960: 1 GiB on local-lvm (scsi1)",
        "start VM 960",
        "wait until the guest agent of VM 960 answers (the VM booted)",
        "wait until cloud-init has configured Samba in VM 960 and it answers SMB for share 'team'",
        "create share config ",
    ];
    assert!(done.len() >= expected.len(), "{}", r.stdout);
    for (line, start) in done.iter().zip(expected) {
        assert!(line.starts_with(start), "{start:?} expected: {}", r.stdout);
    }
    let snippet_volume = "user=local:snippets/smbgw-team-user.yaml";
    assert_eq!(
        lab.qm_calls(),
        vec![
            argv(&["qm", "config", "9000"]),
            argv(&[
                "qm",
                "clone",
                "9000",
                "960",
                "--name",
                "smbgw-team",
                "--full",
                "1",
                "--storage",
                "local-lvm"
            ]),
            argv(&[
                "qm",
                "set",
                "960",
                "--memory",
                "1024",
                "--cores",
                "2",
                "--net0",
                &format!("virtio,bridge={}", lab.bridge.name),
                "--ipconfig0",
                &format!("ip={cidr},gw={gw}"),
                "--cicustom",
                snippet_volume,
                "--agent",
                "1",
            ]),
            argv(&["qm", "set", "960", "--scsi1", "local-lvm:1"]),
            argv(&["qm", "start", "960"]),
            argv(&["qm", "guest", "cmd", "960", "ping"]),
            argv(&["qm", "guest", "exec", "960", "--", "cat", "/run/cloud-init/result.json"]),
        ]
    );
    let conf = std::fs::read_to_string(lab.conf(960)).unwrap();
    assert!(conf.contains("scsi1: local-lvm:vm-960-disk-1,size=1G\n"), "{conf}");
    assert!(!conf.lines().any(|l| l == "template: 1"), "{conf}");
    assert!(lab.volume("vm-960-disk-1").exists());
    // the node's own smb.conf does not serve the VM's share
    let node_conf = std::fs::read_to_string(sb.root.join("samba/smb.conf")).unwrap_or_default();
    assert!(!node_conf.contains("[team]"), "{node_conf}");

    // -- the user-data: valid cloud-config, valid Samba config, hashes only, root only
    let snippet = lab.snippet("team");
    let mode = std::fs::metadata(&snippet).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the snippet holds NT hashes");
    assert_cloud_config(&snippet);
    let text = std::fs::read_to_string(&snippet).unwrap();
    assert!(text.starts_with("#cloud-config\n"));
    assert!(!text.contains(ALICE.1), "the password is in the user-data");
    let log = std::fs::read_to_string(sb.dir.path().join("qm.log")).unwrap_or_default();
    assert!(!log.contains(ALICE.1) && !conf.contains(ALICE.1));
    let data = yaml_to_json(&snippet);
    let files: BTreeMap<String, &Value> = data["write_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap().to_string(), f))
        .collect();
    let hashes = files["/root/.pve-smbgateway-users"];
    assert_eq!(hashes["permissions"], "0600");
    let line = hashes["content"].as_str().unwrap().trim_end();
    let fields: Vec<&str> = line.split(':').collect();
    assert_eq!(fields[0], "alice", "{line}");
    assert!(
        fields[3].len() == 32 && fields[3].chars().all(|c| c.is_ascii_hexdigit()),
        "an NT hash: {line}"
    );
    let runcmd = data["runcmd"].to_string();
    assert!(
        runcmd.contains(r#"["pdbedit","-i","smbpasswd:/root/.pve-smbgateway-users","-e","tdbsam"]"#),
        "{runcmd}"
    );
    assert!(
        runcmd.contains(r#"["rm","-f","/root/.pve-smbgateway-users"]"#),
        "{runcmd}"
    );
    assert!(runcmd.ends_with(r#"["systemctl","restart","smbd"]]"#), "{runcmd}");
    assert_eq!(
        data["mounts"][0],
        serde_json::json!(["LABEL=smbgw-data", "/srv/share", "ext4", "defaults,nofail", "0", "2"])
    );
    assert_eq!(
        data["fs_setup"][0]["device"],
        "/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_drive-scsi1"
    );
    // the Samba config, as the VM gets it, passes testparm
    let etc = sb.dir.path().join("vm-etc");
    for (path, file) in &files {
        if let Some(rel) = path.strip_prefix("/etc/samba/") {
            let content = file["content"]
                .as_str()
                .unwrap()
                .replace("/etc/samba/", &format!("{}/", etc.display()));
            std::fs::create_dir_all(etc.join(rel).parent().unwrap()).unwrap();
            std::fs::write(etc.join(rel), content).unwrap();
        }
    }
    let out = Command::new("testparm")
        .arg("-s")
        .arg(etc.join("smb.conf"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "testparm: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("[team]"), "{stdout}");
    assert!(stdout.contains("path = /srv/share"), "{stdout}");
    assert!(stdout.contains("valid users = alice"), "{stdout}");

    // -- status: the VM, its address, SMB on it
    let status: Value = serde_json::from_str(&sb.ok(&["status", "team", "--output-format", "json"])).unwrap();
    let share = &status["shares"][0];
    assert_eq!(share["vm"]["state"], "running", "{status}");
    assert_eq!(share["vm"]["ip"], ip.as_str(), "{status}");
    assert_eq!(share["vm"]["smb"], true, "{status}");
    assert_eq!(share["state"], "ok", "{status}");

    // -- apply starts a stopped VM, and changes nothing else; when that fails, the VM stays
    // stopped as it was (a start that did not lead to SMB is undone) and the next apply retries
    lab.qm(&["stop", "960"]);
    let conf_before = std::fs::read(lab.conf(960)).unwrap();
    let files_before = sb.snapshot();
    for (env, message, undone) in [
        (vec![("QM_STANDIN_FAIL", "start")], "start VM 960: ", 0),
        (
            vec![("QM_STANDIN_AGENT", "never"), ("PVE_SMBGW_VM_WAIT", "1")],
            "wait until the guest agent of VM 960 answers (the VM booted): no answer within 1 s",
            1,
        ),
    ] {
        let r = lab.run_with(&env, &["apply"]);
        assert_rolled_back(&r, &format!("{env:?}"), 3, &[message], undone);
        assert_eq!(lab.state("960"), "status: stopped", "{env:?}");
        assert_eq!(std::fs::read(lab.conf(960)).unwrap(), conf_before, "{env:?}");
        assert_eq!(sb.snapshot(), files_before, "{env:?}");
    }
    lab.qm_calls();
    sb.ok(&["apply"]);
    let calls = lab.qm_calls();
    assert!(calls.contains(&argv(&["qm", "start", "960"])), "{calls:?}");
    assert!(!calls.iter().any(|c| c[1] == "set" || c[1] == "clone"), "{calls:?}");
    let r = sb.ok(&["apply"]);
    assert!(!lab.qm_calls().iter().any(|c| c[1] == "start"), "{r}");

    // -- update: new user-data, and a reboot so cloud-init applies it
    sb.ok(&["update", "team", "--comment", "Team files"]);
    assert_eq!(
        lab.qm_calls(),
        vec![
            argv(&["qm", "config", "960"]),
            argv(&["qm", "status", "960"]),
            argv(&["qm", "reboot", "960"])
        ]
    );
    let text = std::fs::read_to_string(lab.snippet("team")).unwrap();
    assert!(text.contains("comment = Team files"), "{text}");

    // -- more memory and cores: set, and the reboot applies them
    sb.ok(&["update", "team", "--vm-memory", "2048", "--vm-cores", "2"]);
    assert_eq!(
        lab.qm_calls(),
        vec![
            argv(&["qm", "config", "960"]),
            argv(&["qm", "status", "960"]),
            argv(&["qm", "set", "960", "--memory", "2048", "--cores", "2"]),
            argv(&["qm", "reboot", "960"])
        ]
    );
    let config = lab.qm(&["config", "960"]);
    assert!(
        config.contains("memory: 2048\n") && config.contains("cores: 2\n"),
        "{config}"
    );
    let r = sb.run(&["update", "team", "--vm-memory", "100000000"]);
    assert_eq!(r.code, 1, "beyond the schema: {}{}", r.stdout, r.stderr);

    // -- a failure at any step of delete leaves the share as it was: configured, its VM running
    // with the data disk attached, the snippet in place
    let conf_before = std::fs::read(lab.conf(960)).unwrap();
    let snippet_before = std::fs::read(lab.snippet("team")).unwrap();
    let files_before = sb.snapshot();
    for (fail, message, undone) in [
        ("stop", "stop VM 960: ", 1),
        (
            "set:--delete",
            "detach the data disk local-lvm:vm-960-disk-1 from VM 960, so destroying the VM keeps it: ",
            2,
        ),
        ("destroy", "destroy VM 960 (qm destroy): ", 4),
    ] {
        let r = lab.run_with(&[("QM_STANDIN_FAIL", fail)], &["delete", "team"]);
        assert_rolled_back(&r, fail, 3, &[message, "injected failure"], undone);
        assert_eq!(lab.state("960"), "status: running", "{fail}");
        assert_eq!(std::fs::read(lab.conf(960)).unwrap(), conf_before, "{fail}");
        assert!(lab.volume("vm-960-disk-0").exists() && lab.volume("vm-960-disk-1").exists());
        let snippet = lab.snippet("team");
        assert_eq!(std::fs::read(&snippet).unwrap(), snippet_before, "{fail}");
        assert_eq!(std::fs::metadata(&snippet).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(sb.snapshot(), files_before, "{fail}: shares.cfg or Samba files changed");
    }
    lab.qm_calls();

    // -- delete: the VM goes, its data disk stays (detached)
    let r = sb.run(&["delete", "team"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("local-lvm:vm-960-disk-1"), "{}", r.stdout);
    let calls = lab.qm_calls();
    assert!(
        calls.contains(&argv(&["qm", "set", "960", "--delete", "scsi1"])),
        "{calls:?}"
    );
    assert_eq!(calls.last().unwrap(), &argv(&["qm", "destroy", "960", "--purge", "1"]));
    assert!(!lab.conf(960).exists());
    assert!(!lab.snippet("team").exists());
    assert!(!lab.volume("vm-960-disk-0").exists(), "the system disk goes");
    assert!(lab.volume("vm-960-disk-1").exists(), "the data disk stays");

    // -- delete --purge-data: the data disk goes too
    let mut other = team.clone();
    other[1] = "other";
    other[9] = "961";
    sb.ok(&other);
    assert!(lab.volume("vm-961-disk-1").exists());
    sb.ok(&["delete", "other", "--purge-data"]);
    assert!(!lab.conf(961).exists());
    assert!(!lab.volume("vm-961-disk-1").exists(), "the data disk is purged");
    assert!(!lab.volume("vm-961-disk-0").exists());
    assert!(
        lab.volume("vm-960-disk-1").exists(),
        "another share's kept disk is untouched"
    );
}

/// `cloud-init schema` on a rendered snippet: valid cloud-config.
fn assert_cloud_config(snippet: &Path) {
    let schema = Command::new("cloud-init")
        .args(["schema", "--config-file"])
        .arg(snippet)
        .output()
        .expect("cloud-init (apt-get install cloud-init)");
    assert!(
        schema.status.success(),
        "cloud-init schema: {}{}",
        String::from_utf8_lossy(&schema.stdout),
        String::from_utf8_lossy(&schema.stderr)
    );
}

/// With the node's discovery setting on, the VM answers discovery itself: its user-data
/// installs wsdd and avahi-daemon (a no-op where the template has them), writes their files
/// from the same renderer as the node's and the containers' (wsdd on the VM's eth0; Avahi with
/// `_smb._tcp` and, a Time Machine share, `_adisk._tcp`) and enables both. Turned off, the next
/// `apply` renders user-data without them that withdraws what the earlier one set up, and
/// reboots the VM so cloud-init runs it. The VM itself does not boot here (t/bin/qm); what it
/// runs is the user-data, checked with `cloud-init schema`.
#[test]
fn vm_share_discovery_follows_the_setting() {
    let lab = Lab::new();
    let sb = &lab.sb;
    // a sandbox's guests answer only when its setting names interfaces (the sandbox's own wsdd
    // then stays on lo)
    sb.ok(&["discovery", "--interfaces", "lo"]);
    let cidr = format!("{}.20/24", lab.bridge.net);
    sb.ok(&[
        "create",
        "tm",
        "--mode",
        "vm",
        "--quota",
        "1G",
        "--vm-id",
        "962",
        "--macos",
        "1",
        "--time-machine",
        "1",
        "--bridge",
        &lab.bridge.name,
        "--ip",
        &cidr,
    ]);
    let snippet = lab.snippet("tm");
    assert_cloud_config(&snippet);
    let data = yaml_to_json(&snippet);
    assert_eq!(data["packages"], serde_json::json!(["wsdd", "avahi-daemon"]));
    let file = |data: &Value, path: &str| {
        data["write_files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == path)
            .map(|f| f["content"].as_str().unwrap().to_string())
    };
    let wsdd = file(&data, "/etc/default/wsdd").expect("wsdd's file");
    assert!(wsdd.contains("WSDD_PARAMS=\"--interface eth0\"\n"), "{wsdd}");
    let avahi = file(&data, "/etc/avahi/services/pve-smbgateway.service").expect("Avahi's file");
    for record in [
        "<type>_smb._tcp</type>\n    <port>445</port>",
        "<type>_adisk._tcp</type>",
        "dk0=adVN=tm,adVF=0x82",
    ] {
        assert!(avahi.contains(record), "{record} missing: {avahi}");
    }
    // avahi-daemon reads it as XML
    let xml = Command::new("python3")
        .args([
            "-c",
            "import sys, xml.dom.minidom as m; m.parseString(sys.stdin.read())",
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut p| {
            use std::io::Write;
            p.stdin.take().unwrap().write_all(avahi.as_bytes())?;
            p.wait()
        })
        .unwrap();
    assert!(xml.success(), "{avahi}");
    let runcmd: Vec<String> = data["runcmd"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(
        runcmd[runcmd.len() - 3..],
        [
            r#"["systemctl","enable","wsdd.service","avahi-daemon.service"]"#,
            r#"["systemctl","restart","wsdd.service","avahi-daemon.service"]"#,
            r#"["systemctl","restart","smbd"]"#,
        ]
    );
    lab.qm_calls();

    // -- off: the next apply renders the withdrawal and reboots the VM, so cloud-init runs it
    sb.ok(&["discovery", "--discovery", "off"]);
    assert!(
        lab.qm_calls().is_empty(),
        "the setting alone touches no VM: it follows at the next apply"
    );
    sb.ok(&["apply"]);
    assert!(
        lab.qm_calls().contains(&argv(&["qm", "reboot", "962"])),
        "the VM is not rebooted"
    );
    assert_cloud_config(&snippet);
    let data = yaml_to_json(&snippet);
    assert_eq!(data["packages"], Value::Null);
    assert_eq!(file(&data, "/etc/default/wsdd"), None);
    assert_eq!(file(&data, "/etc/avahi/services/pve-smbgateway.service"), None);
    let runcmd = data["runcmd"].to_string();
    assert!(
        runcmd.contains(r#""withdraw-discovery","/etc/avahi/services/pve-smbgateway.service","/etc/default/wsdd"]"#),
        "{runcmd}"
    );
    assert!(!runcmd.contains(r#""enable""#), "{runcmd}");
    // in line now: nothing more to do
    sb.ok(&["apply"]);
    assert!(!lab.qm_calls().iter().any(|c| c[1] == "reboot"));
    sb.ok(&["delete", "tm", "--purge-data"]);
}
