//! Mode vm through the `qm` stand-in (t/bin/qm: qm's syntax and config format; it boots
//! nothing, so no VM runs here). What is real: the CLI and the gateway, the validation, the plan
//! and its rollback, the cloud-init user-data we render (checked with Debian's `cloud-init
//! schema`), the Samba config inside it (checked with `testparm`), the bridge on the node. The
//! VM's smbd is stood in for by a TCP listener on the VM's address on that bridge.

mod common;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{repo, Bridge, Sandbox};
use serde_json::Value;

const ALICE: (&str, &str) = ("alice", "Al1ce-vm-secret");

/// The bridge of the share VM, with `.20` (the VM's address) on the node: a listener on port
/// 445 there stands in for the VM's smbd.
fn vm_bridge() -> Bridge {
    let bridge = Bridge::new("smbgwvm", "10.98");
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
        let image = self.sb.dir.path().join("debian-12-genericcloud-amd64.qcow2");
        std::fs::write(&image, vec![0u8; 4096]).unwrap();
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
        "scsi0: local-lvm:vm-9000-disk-0",
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
        (vec!["--bridge", "nosuchbr0"], "bridge nosuchbr0 does not exist"),
        (
            vec!["--bridge", &lab.bridge.name, "--vm-memory", "262144"],
            "more than this node has",
        ),
    ] {
        let args = with(&extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = sb.run(&args);
        assert_eq!(r.code, 1, "{extra:?}: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains(message), "{extra:?}: {}", r.stderr);
    }
    let calls = lab.qm_calls();
    assert!(calls.iter().all(|c| c[1] == "config"), "only reads: {calls:?}");
    assert_eq!(sb.snapshot(), before);
    assert!(!lab.snippet("team").exists());

    // -- a failure at the start step leaves nothing behind: no VM, no volume, no snippet, no config
    let r = {
        let mut cmd = sb.command();
        cmd.env("QM_STANDIN_FAIL", "start");
        cmd.args(&team).output().unwrap()
    };
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("injected failure"), "{stderr}");
    assert!(!lab.conf(960).exists(), "the VM config is left");
    assert!(!lab.snippet("team").exists(), "the snippet is left");
    let volumes: Vec<_> = std::fs::read_dir(lab.sb.dir.path().join("volumes/local-lvm"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.contains("960"))
        .collect();
    assert!(volumes.is_empty(), "volumes left: {volumes:?}");
    assert_eq!(sb.snapshot(), before, "files changed after a failed create");
    let calls = lab.qm_calls();
    assert_eq!(
        calls.last().unwrap(),
        &argv(&["qm", "destroy", "960", "--purge", "1"]),
        "{calls:?}"
    );

    // -- create: exactly these qm calls
    let r = sb.run(&team);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
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
    let schema = Command::new("cloud-init")
        .args(["schema", "--config-file"])
        .arg(&snippet)
        .output()
        .expect("cloud-init (apt-get install cloud-init)");
    assert!(
        schema.status.success(),
        "cloud-init schema: {}{}",
        String::from_utf8_lossy(&schema.stdout),
        String::from_utf8_lossy(&schema.stderr)
    );
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

    // -- apply starts a stopped VM, and changes nothing else
    lab.qm(&["stop", "960"]);
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
        vec![argv(&["qm", "status", "960"]), argv(&["qm", "reboot", "960"])]
    );
    let text = std::fs::read_to_string(lab.snippet("team")).unwrap();
    assert!(text.contains("comment = Team files"), "{text}");

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
