//! Mode lxc for real: the share's Samba in an unprivileged LXC container (Debian 12 booting
//! systemd, from our template), created through the `pct` stand-in (t/bin/pct: pct's syntax on
//! plain LXC). smbclient on the node talks to the container's smbd over a bridge; the share's
//! btrfs subvolume and quota stay on the node, bind-mounted into the container.
//!
//! With Active Directory (common/ad_lab.rs): the node is a member of a real Samba AD domain, the
//! container joins it as a computer of its own, and domain accounts own the same files inside
//! as on the node. The container answers discovery itself: a WS-Discovery Probe and an mDNS
//! query from a client namespace on the bridge find it under its own name.

#[allow(dead_code)]
#[path = "common/ad_lab.rs"]
mod ad_lab;
mod common;
#[allow(dead_code)]
#[path = "common/wsd.rs"]
mod wsd;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{repo, Bridge, Btrfs, Sandbox};

const ALICE: (&str, &str) = ("alice", "Al1ce-lxc-pw");
const MIB: u64 = 1 << 20;

/// The gateway template, built once into the cache (about 90 s) and reused.
fn template() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root/.cache"))
        .join("pve-smbgateway/lxc");
    let file = cache.join("debian-12-smbgateway_1_amd64.tar.gz");
    if !file.exists() {
        let status = Command::new(repo().join("scripts/create_ct_template.sh"))
            .arg(&file)
            .status()
            .unwrap();
        assert!(status.success(), "building the container template failed");
    }
    file
}

/// A stock Debian template without Samba, like pveam's debian-12-standard: made once from the
/// gateway template by purging Samba (offline), cached beside it.
fn stock_template() -> PathBuf {
    let gateway = template();
    let file = gateway.with_file_name("debian-12-standard_12.7-1_amd64.tar.gz");
    if file.exists() {
        return file;
    }
    let work = tempfile::Builder::new()
        .prefix("stock-template.")
        .tempdir_in(file.parent().unwrap())
        .unwrap();
    let root = work.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let root_s = root.to_str().unwrap();
    common::run(
        "tar",
        &["-xzf", gateway.to_str().unwrap(), "--numeric-owner", "-C", root_s],
    );
    // no services started or stopped inside the chroot
    let policy = root.join("usr/sbin/policy-rc.d");
    std::fs::write(&policy, "#!/bin/sh\nexit 101\n").unwrap();
    std::fs::set_permissions(&policy, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let purge = Command::new("chroot")
        .args([root_s, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-q", "-y"])
        .args(["purge", "--autoremove", "samba", "samba-common-bin", "samba-common"])
        .output()
        .unwrap();
    assert!(purge.status.success(), "{}", String::from_utf8_lossy(&purge.stderr));
    std::fs::remove_file(&policy).unwrap();
    assert!(
        !root.join("usr/sbin/smbd").exists(),
        "the stock template still has smbd"
    );
    let tmp = work.path().join("template.tar.gz");
    common::run(
        "tar",
        &["-czf", tmp.to_str().unwrap(), "--numeric-owner", "-C", root_s, "."],
    );
    std::fs::rename(&tmp, &file).unwrap();
    file
}

/// Masquerading for the test bridge, so a container reaches the Debian mirror as on a node
/// with an uplink; undone when dropped.
struct Nat {
    table: String,
    forward_before: String,
}

impl Nat {
    fn new(bridge: &common::Bridge) -> Nat {
        let forward_before = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
        std::fs::write("/proc/sys/net/ipv4/ip_forward", "1").unwrap();
        let table = bridge.name.clone();
        common::run("nft", &["add", "table", "ip", &table]);
        common::run(
            "nft",
            &[
                "add",
                "chain",
                "ip",
                &table,
                "post",
                "{ type nat hook postrouting priority 100; }",
            ],
        );
        let rule = format!(
            "add rule ip {table} post ip saddr {}.0/24 oifname != {} masquerade",
            bridge.net, bridge.name
        );
        common::run("nft", &rule.split(' ').collect::<Vec<_>>());
        Nat { table, forward_before }
    }
}

impl Drop for Nat {
    fn drop(&mut self) {
        let _ = Command::new("nft")
            .args(["delete", "table", "ip", &self.table])
            .status();
        let _ = std::fs::write("/proc/sys/net/ipv4/ip_forward", self.forward_before.trim());
    }
}

/// Lines added to /etc/subuid and /etc/subgid (LXC's newuidmap checks them), removed again.
struct SubIds {
    saved: Vec<(PathBuf, Option<Vec<u8>>)>,
}

impl SubIds {
    /// `root:ID:1` for each of `ids`, and the `ranges` given as whole entries.
    fn allow(ids: &[u32], ranges: &[String]) -> SubIds {
        let mut saved = Vec::new();
        for file in ["/etc/subuid", "/etc/subgid"] {
            let before = std::fs::read(file).ok();
            let mut text = String::from_utf8_lossy(before.as_deref().unwrap_or_default()).to_string();
            let mut wanted = vec!["root:100000:65536".to_string()];
            wanted.extend(ids.iter().map(|i| format!("root:{i}:1")));
            wanted.extend(ranges.iter().cloned());
            for w in wanted {
                if !text.lines().any(|l| l == w) {
                    text.push_str(&format!("{w}\n"));
                }
            }
            std::fs::write(file, text).unwrap();
            saved.push((file.into(), before));
        }
        SubIds { saved }
    }
}

impl Drop for SubIds {
    fn drop(&mut self) {
        for (file, before) in &self.saved {
            match before {
                Some(data) => std::fs::write(file, data).unwrap(),
                None => {
                    let _ = std::fs::remove_file(file);
                }
            }
        }
    }
}

struct Lab {
    sb: Sandbox,
    fs: Btrfs,
    bridge: Bridge,
    lxc_path: PathBuf,
    _subids: SubIds,
}

impl Lab {
    fn new() -> Lab {
        Lab::with(("smbgwlxc", "10.99"), &[])
    }

    /// A lab on the bridge `name`+pid in `net`.0/16, with root allowed `subid_ranges` too.
    fn with((name, net): (&str, &str), subid_ranges: &[String]) -> Lab {
        let template = template();
        let mut sb = Sandbox::new();
        let fs = Btrfs::new(sb.dir.path(), "512M");
        let bridge = Bridge::new(name, net);
        let storage = sb.dir.path().join("vz");
        std::fs::create_dir_all(storage.join("template/cache")).unwrap();
        std::os::unix::fs::symlink(
            &template,
            storage.join("template/cache").join(template.file_name().unwrap()),
        )
        .unwrap();
        let lxc_path = sb.dir.path().join("lxc");
        let path = format!("{}:{}", repo().join("t/bin").display(), std::env::var("PATH").unwrap());
        // a ZFS pool "tank" for the zfs stand-in, its datasets mounts like ZFS's
        let zfs_state = sb.dir.path().join("zfs");
        std::fs::create_dir_all(&zfs_state).unwrap();
        std::fs::create_dir_all(fs.mount.join("tank")).unwrap();
        std::fs::write(
            zfs_state.join("datasets"),
            format!("tank\t{}\t0\n", fs.mount.join("tank").display()),
        )
        .unwrap();
        for (k, v) in [
            ("PATH", path),
            ("ZFS_STANDIN_STATE", zfs_state.display().to_string()),
            ("ZFS_STANDIN_MOUNT", "1".into()),
            ("PCT_STANDIN_CONF_DIR", sb.root.join("pve/lxc").display().to_string()),
            ("PCT_STANDIN_LXC_PATH", lxc_path.display().to_string()),
            ("PCT_STANDIN_STORAGE_DIR", storage.display().to_string()),
            ("PCT_STANDIN_LOG", sb.dir.path().join("pct.log").display().to_string()),
        ] {
            sb.env.push((k.into(), v));
        }
        sb.add_user(ALICE.0, ALICE.1);
        let uid: u32 = std::fs::read_to_string(sb.root.join("accounts/passwd"))
            .unwrap()
            .lines()
            .find(|l| l.starts_with("alice:"))
            .and_then(|l| l.split(':').nth(2)?.parse().ok())
            .unwrap();
        let subids = SubIds::allow(&[uid], subid_ranges);
        Lab {
            sb,
            fs,
            bridge,
            lxc_path,
            _subids: subids,
        }
    }

    /// `create NAME --mode lxc` for alice, in container `ct_id` at `NET.host` on the lab's bridge.
    fn create_args(&self, name: &str, path: &Path, ct_id: &str, host: u8, extra: &[&str]) -> Vec<String> {
        let ip = format!("{}.{host}/24", self.bridge.net);
        let mut args = vec!["create", name, "--mode", "lxc", "--path", path.to_str().unwrap()];
        args.extend([
            "--users",
            "alice",
            "--ct-id",
            ct_id,
            "--bridge",
            &self.bridge.name,
            "--ip",
            &ip,
        ]);
        args.extend_from_slice(extra);
        args.into_iter().map(String::from).collect()
    }

    /// The zfs stand-in, as the node's admin (or zfs-auto-snapshot) runs it.
    fn zfs(&self, args: &[&str]) -> Result<(), String> {
        let out = Command::new("zfs")
            .envs(self.sb.env.iter().map(|(k, v)| (k, v)))
            .args(args)
            .output()
            .unwrap();
        out.status
            .success()
            .then_some(())
            .ok_or_else(|| String::from_utf8_lossy(&out.stderr).to_string())
    }

    fn pct_log(&self) -> String {
        std::fs::read_to_string(self.sb.dir.path().join("pct.log")).unwrap_or_default()
    }

    fn smbclient(&self, ip: &str, share: &str, commands: &str) -> Result<String, String> {
        let creds = self.sb.dir.path().join("creds.lxc");
        std::fs::write(&creds, format!("username = {}\npassword = {}\n", ALICE.0, ALICE.1)).unwrap();
        let out = Command::new("smbclient")
            .arg(format!("//{ip}/{share}"))
            .arg("-A")
            .arg(&creds)
            .args(["-c", commands])
            .current_dir(self.sb.dir.path())
            .output()
            .unwrap();
        common::smbclient_result(out)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // containers and dataset mounts left by a failed test
        for entry in std::fs::read_dir(&self.lxc_path).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let p = self.lxc_path.display().to_string();
            let _ = Command::new("lxc-stop").args(["-P", &p, "-n", &name, "-k"]).output();
        }
        for entry in std::fs::read_dir(self.fs.mount.join("tank"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let _ = Command::new("umount").arg("-R").arg("-l").arg(entry.path()).output();
        }
    }
}

/// The container tests, each a few minutes of two busy cores, run one at a time (they also
/// share /etc/subuid and /etc/subgid, which each restores when done).
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn lxc_share_serves_from_a_container() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let lab = Lab::new();
    let sb = &lab.sb;
    let ip = format!("{}.10", lab.bridge.net);
    let path = lab.fs.mount.join("team");
    // the share every step below creates: alice's, with a quota, in container 950 on the bridge
    let team = lab.create_args("team", &path, "950", 10, &["--quota", "32M"]);
    let team: Vec<&str> = team.iter().map(String::as_str).collect();

    // -- bad input and missing resources are refused before anything is created
    let before = sb.snapshot();
    let r = sb.run(&["create", "x", "--path", path.to_str().unwrap(), "--ct-id", "950"]);
    assert_eq!(r.code, 1, "ct-id without --mode lxc: {}{}", r.stdout, r.stderr);
    for (extra, message) in [
        (vec!["--bridge", "nosuchbr0"], "bridge nosuchbr0 does not exist"),
        (
            vec![
                "--bridge",
                &lab.bridge.name,
                "--ct-template",
                "local:vztmpl/missing.tar.gz",
            ],
            "does not exist",
        ),
    ] {
        let mut args = vec!["create", "x", "--mode", "lxc", "--path", path.to_str().unwrap()];
        args.extend(extra);
        let r = sb.run(&args);
        assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains(message), "{}", r.stderr);
    }
    // no room for the container's root filesystem
    let r = sb
        .command()
        .env("PVESM_STANDIN_AVAIL", "local-lvm=1G")
        .args(&team)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("storage local-lvm has 1G free"), "{stderr}");
    assert_eq!(sb.snapshot(), before);
    assert!(
        !lab.pct_log().contains("\"create\""),
        "pct create ran: {}",
        lab.pct_log()
    );

    // -- a failure at each pct step (create, start, and pushing Samba's files into the running
    // container) leaves nothing behind: no container, no volume, no config
    for step in ["create", "start", "push"] {
        let mut cmd = sb.command();
        cmd.env("PCT_STANDIN_FAIL", step);
        let r = cmd.args(&team).output().unwrap();
        let stderr = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(3), "failure at {step}: {stderr}");
        assert!(stderr.contains("injected failure"), "failure at {step}: {stderr}");
        assert!(
            !sb.root.join("pve/lxc/950.conf").exists(),
            "failure at {step}: the container config is left"
        );
        assert!(
            !lab.lxc_path.join("950").exists(),
            "failure at {step}: the container is left"
        );
        assert!(!path.exists(), "failure at {step}: the subvolume is left");
        assert_eq!(sb.snapshot(), before, "failure at {step}: files changed");
    }

    // -- the real thing
    let started = std::time::Instant::now();
    let r = sb.run(&team);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let ours = started.elapsed();
    eprintln!("create --mode lxc until SMB answers: {:.1} s", ours.as_secs_f64());
    let log = lab.pct_log();
    assert!(
        log.contains("[\"pct\",\"create\",\"950\",\"local:vztmpl/debian-12-smbgateway_1_amd64.tar.gz\""),
        "{log}"
    );
    assert!(
        log.contains(&format!("\"--mp0\",\"{},mp=/srv/share,backup=0\"", path.display())),
        "{log}"
    );
    assert!(log.contains("\"--rootfs\",\"local-lvm:4\""), "{log}");
    let conf = std::fs::read_to_string(sb.root.join("pve/lxc/950.conf")).unwrap();
    assert!(conf.contains("unprivileged: 1"), "{conf}");
    assert!(conf.contains("lxc.idmap: u 20000 20000 1"), "{conf}");

    let data = sb.write_local("hello.txt", b"hello from the container\n");
    lab.smbclient(&ip, "team", &format!("put {} hello.txt", data.display()))
        .expect("alice writes through the container's smbd");
    let back = sb.dir.path().join("hello.back");
    lab.smbclient(&ip, "team", &format!("get hello.txt {}", back.display()))
        .expect("alice reads back");
    assert_eq!(std::fs::read(&back).unwrap(), b"hello from the container\n");
    // on the node the file belongs to alice, not to a shifted container id
    let meta = std::fs::metadata(path.join("hello.txt")).unwrap();
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), 20000, "owner on the node");
    // nobody else gets in: the container's smbd knows only the share's users
    let creds = sb.dir.path().join("creds.bad");
    std::fs::write(&creds, "username = alice\npassword = wrong\n").unwrap();
    let out = Command::new("smbclient")
        .arg(format!("//{ip}/team"))
        .arg("-A")
        .arg(&creds)
        .args(["-c", "ls"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("NT_STATUS_LOGON_FAILURE"));
    // the node's quota holds inside the container
    let big = sb.write_local("big.bin", &vec![7u8; (48 * MIB) as usize]);
    let err = lab
        .smbclient(&ip, "team", &format!("put {} big.bin", big.display()))
        .unwrap_err();
    assert!(err.contains("NT_STATUS_DISK_FULL"), "{err}");
    let (used, limit) = lab.fs.qgroup(&path);
    assert_eq!(limit, Some(32 * MIB));
    assert!(used <= 32 * MIB, "{used}");

    let status: serde_json::Value =
        serde_json::from_str(&sb.ok(&["status", "team", "--output-format", "json"])).unwrap();
    let share = &status["shares"][0];
    assert_eq!(share["state"], "ok", "{status}");
    assert_eq!(share["container"]["state"], "running", "{status}");
    assert_eq!(share["container"]["smb"], true, "{status}");
    // the node's own smb.conf does not carry the container's share
    let node_conf = std::fs::read_to_string(sb.root.join("samba/smb.conf")).unwrap_or_default();
    assert!(!node_conf.contains("team"), "{node_conf}");

    // -- more memory: at once, in the running container (its cgroup's limit, v2 or v1)
    let memory_max = || {
        let p = lab.lxc_path.display().to_string();
        ["memory.max", "memory.limit_in_bytes"]
            .iter()
            .find_map(|key| {
                let out = Command::new("lxc-cgroup")
                    .args(["-P", &p, "-n", "950", key])
                    .output()
                    .unwrap();
                out.status
                    .success()
                    .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
            })
            .unwrap_or_default()
    };
    assert_eq!(memory_max(), (512 * MIB).to_string(), "the default ct-memory");
    sb.ok(&["update", "team", "--ct-memory", "768"]);
    assert_eq!(memory_max(), (768 * MIB).to_string(), "ct-memory changed live");
    let conf = std::fs::read_to_string(sb.root.join("pve/lxc/950.conf")).unwrap();
    assert!(conf.contains("memory: 768\n"), "{conf}");
    let r = sb.run(&["update", "team", "--ct-memory", "100"]);
    assert_eq!(r.code, 1, "below the schema's minimum: {}{}", r.stdout, r.stderr);
    let r = sb.run(&["update", "team", "--ct-storage", "other"]);
    assert!(
        r.code != 0 && r.stderr.contains("'--ct-storage'"),
        "fixed at create: {}",
        r.stderr
    );
    lab.smbclient(&ip, "team", "ls").expect("SMB after the memory change");
    // the directory is mounted into the container at create: it stays
    let r = sb.run(&["update", "team", "--path", "/srv/elsewhere"]);
    assert!(
        r.code == 1 && r.stderr.contains("its path cannot change"),
        "{}{}",
        r.stdout,
        r.stderr
    );

    // -- apply restarts a stopped container
    let st = Command::new("pct")
        .env("PATH", &sb.env[0].1)
        .envs(sb.env.iter().skip(1).map(|(k, v)| (k, v)))
        .args(["stop", "950"])
        .status()
        .unwrap();
    assert!(st.success());
    sb.ok(&["apply"]);
    lab.smbclient(&ip, "team", "ls").expect("SMB after apply");

    // -- delete: the container goes, the data stays
    sb.ok(&["delete", "team"]);
    assert!(!sb.root.join("pve/lxc/950.conf").exists());
    assert!(!lab.lxc_path.join("950").exists());
    assert!(path.join("hello.txt").exists(), "the data stays");

    zfs_snapshots_are_previous_versions_in_the_container(&lab);
    stock_template_gets_samba_installed(&lab);

    // make bench: the same container by hand (pct create + start, until its smbd answers on
    // the template's default configuration), beside our create
    if let Some(out) = std::env::var_os("SMBGW_LXC_BENCH") {
        let pct = |args: &[&str]| {
            let mut cmd = Command::new("pct");
            cmd.envs(sb.env.iter().map(|(k, v)| (k, v))).args(args);
            assert!(cmd.status().unwrap().success(), "pct {args:?}");
        };
        let started = std::time::Instant::now();
        let net = format!("name=eth0,bridge={},ip={ip}/24", lab.bridge.name);
        let mp = format!("{},mp=/srv/share", path.display());
        pct(&[
            "create",
            "951",
            "local:vztmpl/debian-12-smbgateway_1_amd64.tar.gz",
            "--rootfs",
            "local-lvm:4",
            "--unprivileged",
            "1",
        ]
        .into_iter()
        .chain(["--net0", &net, "--mp0", &mp])
        .collect::<Vec<_>>());
        pct(&["start", "951"]);
        let addr: std::net::SocketAddr = format!("{ip}:445").parse().unwrap();
        while std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(200)).is_err() {
            assert!(
                started.elapsed().as_secs() < 120,
                "the hand-made container's smbd never answered"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let hand = started.elapsed();
        pct(&["stop", "951"]);
        pct(&["destroy", "951"]);
        std::fs::write(
            out,
            format!(
                "create --mode lxc until SMB answers|{:.1}|{:.1}\n",
                ours.as_secs_f64() * 1000.0,
                hand.as_secs_f64() * 1000.0
            ),
        )
        .unwrap();
    }
}

/// A ZFS-backed lxc share with shadow copies: snapshots taken before the container started and
/// while it runs are both offered as Previous Versions by the container's smbd, and can still be
/// destroyed on the node.
fn zfs_snapshots_are_previous_versions_in_the_container(lab: &Lab) {
    let sb = &lab.sb;
    let ip = format!("{}.11", lab.bridge.net);
    let path = lab.fs.mount.join("tank/projects");
    // an existing dataset with a snapshot from before the container
    lab.zfs(&[
        "create",
        "-o",
        &format!("mountpoint={}", path.display()),
        "tank/projects",
    ])
    .unwrap();
    std::fs::write(path.join("report.txt"), "version 0\n").unwrap();
    std::os::unix::fs::chown(path.join("report.txt"), Some(20000), None).unwrap();
    lab.zfs(&["snapshot", "tank/projects@zfs-auto-snap_daily-2026-11-21-0000"])
        .unwrap();
    std::fs::write(path.join("report.txt"), "version 1\n").unwrap();

    let args = lab.create_args(
        "projects",
        &path,
        "952",
        11,
        &["--quota", "64M", "--quota-backend", "zfs", "--shadow-copies", "1"],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // snapshots mounted at a private mount would never reach the container: refused up front
    common::run("mount", &["--make-private", path.to_str().unwrap()]);
    let before = sb.snapshot();
    let r = sb.run(&[args.as_slice(), &["--dry-run"]].concat());
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("is not shared"), "{}", r.stderr);
    assert_eq!(sb.snapshot(), before);
    common::run("mount", &["--make-shared", path.to_str().unwrap()]);

    // the share first without Previous Versions; turning them on restarts the container once
    let plain: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| *a != "--shadow-copies" && *a != "1")
        .collect();
    let r = sb.run(&plain);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let out = sb.ok(&["update", "projects", "--shadow-copies", "1"]);
    assert!(
        out.contains("shut container 952 down to add the snapshot mount"),
        "{out}"
    );
    let conf = std::fs::read_to_string(sb.root.join("pve/lxc/952.conf")).unwrap();
    assert!(
        conf.contains(&format!(
            "lxc.mount.entry: {}/.zfs/snapshot srv/snapshots none rbind,ro,create=dir,rslave 0 0",
            path.display()
        )),
        "{conf}"
    );

    // a snapshot taken while the container runs, then a change
    lab.zfs(&["snapshot", "tank/projects@zfs-auto-snap_hourly-2026-11-22-2000"])
        .unwrap();
    let v2 = sb.write_local("report.v2", b"version 2\n");
    lab.smbclient(&ip, "projects", &format!("put {} report.txt", v2.display()))
        .expect("alice writes the current version");

    let info = lab.smbclient(&ip, "projects", "allinfo report.txt").unwrap();
    for token in ["@GMT-2026.11.22-20.00.00", "@GMT-2026.11.21-00.00.00"] {
        assert!(info.contains(token), "{token} is not offered:\n{info}");
    }
    for (token, text) in [
        ("@GMT-2026.11.21-00.00.00", "version 0\n"),
        ("@GMT-2026.11.22-20.00.00", "version 1\n"),
    ] {
        let back = sb.dir.path().join("report.old");
        lab.smbclient(&ip, "projects", &format!("get {token}/report.txt {}", back.display()))
            .unwrap_or_else(|e| panic!("reading report.txt as of {token}: {e}"));
        assert_eq!(std::fs::read_to_string(&back).unwrap(), text, "as of {token}");
    }
    // Previous Versions are read-only: a write to one changes neither it nor the current file
    let put = lab.smbclient(
        &ip,
        "projects",
        &format!("put {} @GMT-2026.11.22-20.00.00/report.txt", v2.display()),
    );
    assert!(
        put.as_ref()
            .is_err_and(|e| e.contains("NT_STATUS_MEDIA_WRITE_PROTECTED")),
        "writing to a previous version: {put:?}"
    );
    for (name, text) in [
        ("@GMT-2026.11.22-20.00.00/report.txt", "version 1\n"),
        ("report.txt", "version 2\n"),
    ] {
        let back = sb.dir.path().join("report.check");
        lab.smbclient(&ip, "projects", &format!("get {name} {}", back.display()))
            .unwrap();
        assert_eq!(std::fs::read_to_string(&back).unwrap(), text, "{name} after the write");
    }

    // the view is read-only in the container too
    for target in [
        "/srv/snapshots/new",
        "/srv/snapshots/zfs-auto-snap_daily-2026-11-21-0000/new",
    ] {
        let out = Command::new("pct")
            .envs(sb.env.iter().map(|(k, v)| (k, v)))
            .args(["exec", "952", "--", "touch", target])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains("Read-only file system"),
            "{target}: {stderr}"
        );
    }

    // the container does not keep a snapshot busy: the node can still destroy it
    lab.zfs(&["destroy", "tank/projects@zfs-auto-snap_hourly-2026-11-22-2000"])
        .expect("destroying a snapshot the container has seen");
    let info = lab.smbclient(&ip, "projects", "allinfo report.txt").unwrap();
    assert!(!info.contains("@GMT-2026.11.22-20.00.00"), "{info}");
    assert!(info.contains("@GMT-2026.11.21-00.00.00"), "{info}");

    sb.ok(&["delete", "projects"]);
    assert!(!sb.root.join("pve/lxc/952.conf").exists());
    lab.zfs(&["destroy", "-r", "tank/projects"]).unwrap();
}

/// The fallback: a stock Debian template without Samba gets it installed from the Debian mirror
/// inside the container, then serves like the gateway template.
fn stock_template_gets_samba_installed(lab: &Lab) {
    let sb = &lab.sb;
    let stock = stock_template();
    let cache = sb.dir.path().join("vz/template/cache");
    std::os::unix::fs::symlink(&stock, cache.join(stock.file_name().unwrap())).unwrap();
    let _nat = Nat::new(&lab.bridge);
    let ip = format!("{}.12", lab.bridge.net);
    let path = lab.fs.mount.join("stock");
    let started = std::time::Instant::now();
    let gateway = format!("{}.1", lab.bridge.net);
    let template = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.gz";
    let args = lab.create_args(
        "stock",
        &path,
        "953",
        12,
        &["--ct-template", template, "--gateway", &gateway],
    );
    let r = sb.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    eprintln!(
        "create --mode lxc from a stock template (Samba installed inside): {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let log = lab.pct_log();
    assert!(
        log.contains(
            "\"exec\",\"953\",\"--\",\"env\",\"DEBIAN_FRONTEND=noninteractive\",\"apt-get\",\"-q\",\"-y\",\"install\""
        ),
        "Samba was not installed: {log}"
    );
    let data = sb.write_local("stock.txt", b"served by an installed Samba\n");
    lab.smbclient(&ip, "stock", &format!("put {} stock.txt", data.display()))
        .expect("alice writes through the installed smbd");
    let back = sb.dir.path().join("stock.back");
    lab.smbclient(&ip, "stock", &format!("get stock.txt {}", back.display()))
        .unwrap();
    assert_eq!(std::fs::read(&back).unwrap(), b"served by an installed Samba\n");
    sb.ok(&["delete", "stock"]);
    assert!(!sb.root.join("pve/lxc/953.conf").exists());
}

/// Stops the containers of the AD test from inside the member host's namespaces, where they
/// run (LXC's command socket is per network namespace); before the lab goes.
struct MemberContainers<'a> {
    lab: &'a Lab,
    member: &'a ad_lab::Host,
}

impl Drop for MemberContainers<'_> {
    fn drop(&mut self) {
        let p = self.lab.lxc_path.display().to_string();
        for entry in std::fs::read_dir(&self.lab.lxc_path).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let _ = self.member.run("lxc-stop", &["-P", &p, "-n", &name, "-k"]);
        }
    }
}

/// A share naming a domain group, in a container that joins the node's domain: a member of the
/// group writes over SMB (NTLM, checked by the container's winbind with its own computer
/// account; and Kerberos), the file has the same owner inside and on the node, a user outside
/// the group is refused. Before that, a domain range another container maps its ids onto, and a
/// missing administrator, are refused with nothing written.
#[test]
fn lxc_share_serves_domain_accounts_from_a_joined_container() {
    use ad_lab::{AdLab, ADMIN_PASSWORD, DOMAIN, REALM};
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // root may map the domain's ranges (what the gateway writes on a node)
    let domain_subids = ["root:2000000:1000000".to_string(), "root:3000000:3000000".to_string()];
    // before the AD lab: the member host's mount namespace sees the share's filesystem
    let mut lab = Lab::with(("smbgwad", "10.98"), &domain_subids);
    let ad = AdLab::start();
    let net = lab.bridge.net.clone();
    // the node (the member host) holds the containers' bridge and routes between them and the
    // DC; LXC needs the cgroup hierarchy, which the member's /sys (mounted for its network
    // namespace by ip netns) lacks
    for cmd in [
        "mount -t cgroup2 cgroup2 /sys/fs/cgroup".to_string(),
        format!("ip link add {} type bridge", lab.bridge.name),
        format!("ip addr add {net}.1/24 dev {}", lab.bridge.name),
        format!("ip link set {} up", lab.bridge.name),
        "sysctl -qw net.ipv4.ip_forward=1".to_string(),
    ] {
        let args: Vec<&str> = cmd.split(' ').collect();
        let (ok, out) = ad.member.run(args[0], &args[1..]);
        assert!(ok, "{cmd}: {out}");
    }
    let (ok, out) = ad
        .dc
        .run("ip", &["route", "add", &format!("{net}.0/24"), "via", &ad.member.addr]);
    assert!(ok, "{out}");
    // the gateway runs on the member host, with the pct stand-in on its PATH
    let path = lab.sb.env.iter().find(|(k, _)| k == "PATH").unwrap().1.clone();
    let mut wrapper = ad.member.prefix();
    *wrapper.last_mut().unwrap() = format!("PATH={path}");
    lab.sb.wrapper = wrapper;
    lab.sb.port = 445;
    lab.sb.env.push(("PVE_SMBGW_BIND".into(), ad.member.addr.clone()));
    let containers = MemberContainers {
        lab: &lab,
        member: &ad.member,
    };
    let sb = &lab.sb;
    let password = format!("{ADMIN_PASSWORD}\n");
    let r = sb.run_with_stdin(
        &["ad-join", "--domain", DOMAIN, "--password-stdin"],
        password.as_bytes(),
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);

    let share_path = lab.fs.mount.join("dom");
    let ip = format!("{net}.60");
    let create: Vec<String> = [
        "create",
        "dom",
        "--mode",
        "lxc",
        "--path",
        share_path.to_str().unwrap(),
        "--groups",
        "EXAMPLE\\shareusers",
        "--ct-id",
        "960",
        "--bridge",
        &lab.bridge.name,
        "--ip",
        &format!("{ip}/24"),
        "--gateway",
        &format!("{net}.1"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let create: Vec<&str> = create.iter().map(String::as_str).collect();
    let with_admin = [&create[..], &["--ad-user", "Administrator", "--password-stdin"]].concat();

    // -- refused, nothing written: a container maps its own ids onto domain ids on the node,
    // and (once that is gone) no administrator to join the container
    let other = sb.root.join("pve/lxc/970.conf");
    std::fs::create_dir_all(other.parent().unwrap()).unwrap();
    std::fs::write(
        &other,
        "unprivileged: 1\nlxc.idmap: u 0 3000000 65536\nlxc.idmap: g 0 100000 65536\n",
    )
    .unwrap();
    let before = sb.snapshot();
    let r = sb.run_with_stdin(&with_admin, password.as_bytes());
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("the domain id range 3000000-5999999 overlaps the id map of container 970"),
        "{}",
        r.stderr
    );
    assert_eq!(sb.snapshot(), before, "a refused create changed files");
    std::fs::remove_file(&other).unwrap();
    let before = sb.snapshot();
    let r = sb.run(&create);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("--ad-user"), "{}", r.stderr);
    assert_eq!(sb.snapshot(), before, "a refused create changed files");
    assert!(!lab.pct_log().contains("\"create\""), "{}", lab.pct_log());

    // -- the container joins as SMBGW-CT960 and serves the domain group; the password reaches
    // net ads join on stdin only, never an argv or environment
    let started = std::time::Instant::now();
    let watching = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let watch = {
        let watching = watching.clone();
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            while watching.load(std::sync::atomic::Ordering::Relaxed) {
                seen.extend(ad_lab::carriers(ADMIN_PASSWORD.as_bytes()));
            }
            seen
        })
    };
    let r = sb.run_with_stdin(&with_admin, password.as_bytes());
    watching.store(false, std::sync::atomic::Ordering::Relaxed);
    let seen = watch.join().unwrap();
    assert!(
        seen.is_empty(),
        "the admin password showed up in argv or environment: {seen:?}"
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    eprintln!(
        "create --mode lxc with a domain join: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let conf = std::fs::read_to_string(sb.root.join("pve/lxc/960.conf")).unwrap();
    assert!(conf.contains("lxc.idmap: u 3000000 3000000 3000000"), "{conf}");
    assert!(conf.contains("lxc.idmap: g 2000000 2000000 1000000"), "{conf}");
    let computer = ad.samba_tool(&["computer", "show", "SMBGW-CT960"]);
    assert!(computer.contains("CN=SMBGW-CT960"), "{computer}");

    let pct = |args: &[&str]| {
        let out = Command::new(&sb.wrapper[0])
            .args(&sb.wrapper[1..])
            .arg("pct")
            .args(args)
            .envs(sb.env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pct {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    // smbclient from the member host to share `name` of container `ct` at `addr`
    let smbclient_at = |(ct, addr, name): (&str, &str, &str), user: &str, pw: &str, kerberos: bool, cmd: &str| {
        let creds = ad.path("ct-client.creds");
        let text = match kerberos {
            true => format!("username={user}@{REALM}\npassword={pw}\n"),
            false => format!("username={user}\npassword={pw}\ndomain=EXAMPLE\n"),
        };
        std::fs::write(&creds, text).unwrap();
        let host = match kerberos {
            true => format!("smbgw-ct{ct}.{DOMAIN}"),
            false => addr.to_string(),
        };
        let out = ad
            .member
            .command("smbclient")
            .arg(format!("//{host}/{name}"))
            .args(["-I", addr])
            .arg("-A")
            .arg(&creds)
            .arg(if kerberos {
                "--use-kerberos=required"
            } else {
                "--use-kerberos=disabled"
            })
            .args(["-c", cmd])
            .env("KRB5_CONFIG", sb.root.join("samba/krb5.conf"))
            .output()
            .unwrap();
        common::smbclient_result(out)
    };
    let smbclient =
        |user: &str, pw: &str, kerberos: bool, cmd: &str| smbclient_at(("960", &ip, "dom"), user, pw, kerberos, cmd);
    // absolute local paths: entering the member's mount namespace leaves smbclient in /
    let hello = ad.path("hello.txt");
    std::fs::write(&hello, b"hello from the domain\n").unwrap();
    smbclient(
        "alice",
        "Al1ce!Passw0rd",
        false,
        &format!("put {} hello.txt", hello.display()),
    )
    .expect("alice (in shareusers) writes with NTLM");
    let denied = smbclient("carol", "Car0l!Passw0rd", false, "ls").unwrap_err();
    assert!(
        denied.contains("NT_STATUS_ACCESS_DENIED"),
        "carol is not in shareusers: {denied}"
    );
    let wrong = smbclient("alice", "wrong", false, "ls").unwrap_err();
    assert!(wrong.contains("NT_STATUS_LOGON_FAILURE"), "{wrong}");
    // Kerberos: a ticket for the container's own computer account (its DNS name, as the join
    // recorded it in dNSHostName and the SPNs)
    let back = ad.path("hello.krb");
    smbclient(
        "alice",
        "Al1ce!Passw0rd",
        true,
        &format!("get hello.txt {}", back.display()),
    )
    .expect("alice reads with Kerberos");
    assert_eq!(std::fs::read(&back).unwrap(), b"hello from the domain\n");

    // one owner: alice's rid-mapped uid, on the node and inside the container
    let sid = ad.samba_tool(&["user", "show", "alice"]);
    let rid: u32 = sid
        .lines()
        .find_map(|l| l.strip_prefix("objectSid: "))
        .and_then(|s| s.rsplit('-').next()?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no objectSid: {sid}"));
    let node_uid = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(share_path.join("hello.txt")).unwrap());
    assert_eq!(node_uid, 3_000_000 + rid, "owner on the node");
    // (the share's directory is open to its group only, so alice looks herself)
    let inside = pct(&[
        "exec",
        "960",
        "--",
        "runuser",
        "-u",
        "EXAMPLE\\alice",
        "--",
        "stat",
        "-c",
        "%u",
        "/srv/share/hello.txt",
    ]);
    assert_eq!(inside, node_uid.to_string(), "owner inside the container");
    assert_eq!(
        pct(&["exec", "960", "--", "id", "-u", "EXAMPLE\\alice"]),
        node_uid.to_string()
    );

    // -- apply keeps the membership; delete names the computer account left in the domain
    sb.ok(&["apply"]);
    smbclient("alice", "Al1ce!Passw0rd", false, "ls").expect("still served after apply");

    // -- domain accounts added to a share of local users: its container restarts with the
    // domain's map and joins as SMBGW-CT961
    let late_path = lab.fs.mount.join("late");
    let late_ip = format!("{net}.61");
    let late = lab.create_args("late", &late_path, "961", 61, &["--gateway", &format!("{net}.1")]);
    sb.ok(&late.iter().map(String::as_str).collect::<Vec<_>>());
    let conf = std::fs::read_to_string(sb.root.join("pve/lxc/961.conf")).unwrap();
    assert!(!conf.contains("lxc.idmap: u 3000000"), "{conf}");
    let add = ["update", "late", "--users", "alice,EXAMPLE\\alice"];
    let r = sb.run(&add);
    assert_eq!(r.code, 1, "no --ad-user: {}{}", r.stdout, r.stderr);
    let r = sb.run_with_stdin(
        &[&add[..], &["--ad-user", "Administrator", "--password-stdin"]].concat(),
        password.as_bytes(),
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("shut container 961 down to map the domain's ids"),
        "{}",
        r.stdout
    );
    let conf = std::fs::read_to_string(sb.root.join("pve/lxc/961.conf")).unwrap();
    assert!(conf.contains("lxc.idmap: u 3000000 3000000 3000000"), "{conf}");
    smbclient_at(("961", &late_ip, "late"), "alice", "Al1ce!Passw0rd", false, "ls")
        .expect("EXAMPLE\\alice gets into the updated share");
    smbclient_at(("961", &late_ip, "late"), "carol", "Car0l!Passw0rd", false, "ls")
        .expect_err("carol is no user of it");
    sb.ok(&["delete", "late"]);
    let r = sb.run(&["delete", "dom"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("computer account SMBGW-CT960"), "{}", r.stdout);
    drop(containers);
}

/// A client network namespace on the lab's bridge at `NET.77`; removed when dropped.
struct Client {
    ns: String,
    veth: String,
}

impl Client {
    fn on(bridge: &Bridge) -> Client {
        let id = std::process::id() % 100_000;
        let c = Client {
            ns: format!("smbgwdc-c{id}"),
            veth: format!("smbgwcl{id}"),
        };
        common::run("ip", &["netns", "add", &c.ns]);
        common::run(
            "ip",
            &[
                "link", "add", &c.veth, "type", "veth", "peer", "name", "eth0", "netns", &c.ns,
            ],
        );
        common::run("ip", &["link", "set", &c.veth, "master", &bridge.name, "up"]);
        let addr = format!("{}.77/24", bridge.net);
        for args in [
            vec!["addr", "add", &addr, "dev", "eth0"],
            vec!["link", "set", "eth0", "up"],
            vec!["link", "set", "lo", "up"],
            vec!["route", "add", "224.0.0.0/4", "dev", "eth0"],
        ] {
            let mut all = vec!["-n", c.ns.as_str()];
            all.extend(args);
            common::run("ip", &all);
        }
        c
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.veth]).status();
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
    }
}

/// With discovery on, the container of an lxc share answers discovery itself, on its own
/// address under its own name: a WS-Discovery Probe from a client namespace on the bridge gets
/// a ProbeMatch whose metadata names the container, and an mDNS query finds its `_smb._tcp`
/// and (a Time Machine share) `_adisk._tcp` services. Turned off, the container withdraws.
#[test]
fn lxc_share_is_discovered_from_its_container() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let lab = Lab::with(("smbgwdc", "10.97"), &[]);
    // a template made before discovery came to containers installs wsdd and Avahi from the mirror
    let _nat = Nat::new(&lab.bridge);
    let client = Client::on(&lab.bridge);
    let sb = &lab.sb;
    // a sandbox's guests answer only when its setting names interfaces; the sandbox's own wsdd
    // then answers on lo, so on the bridge only the container does
    sb.ok(&["discovery", "--interfaces", "lo"]);
    let path = lab.fs.mount.join("tm");
    let ip = format!("{}.70", lab.bridge.net);
    let gateway = format!("{}.1", lab.bridge.net);
    let extra = ["--macos", "1", "--time-machine", "1", "--gateway", &gateway];
    let args = lab.create_args("tm", &path, "970", 70, &extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = sb.run(&args);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let pct = |args: &[&str]| {
        Command::new("pct")
            .envs(sb.env.iter().map(|(k, v)| (k, v)))
            .args(args)
            .output()
            .unwrap()
    };
    // the container's own name (PVE writes --hostname into it; the stand-in leaves the template's)
    let host = String::from_utf8_lossy(&pct(&["exec", "970", "--", "hostname"]).stdout)
        .trim()
        .to_string();
    let inside = || {
        let out = pct(&[
            "exec",
            "970",
            "--",
            "sh",
            "-c",
            "systemctl status wsdd avahi-daemon; cat /etc/default/wsdd",
        ]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };

    let (probe, from) = client_wsd(&client, wsd::PROBE.to_string(), &["ProbeMatches"])
        .unwrap_or_else(|| panic!("no ProbeMatch from the container: {}", inside()));
    assert_eq!(from.to_string(), ip, "{probe}");
    assert!(probe.contains("pub:Computer"), "{probe}");
    let endpoint = wsd::element(&probe, "Address").expect("endpoint").to_string();
    let (resolved, _) = client_wsd(&client, wsd::resolve(&endpoint), &["ResolveMatches"])
        .unwrap_or_else(|| panic!("no ResolveMatch: {}", inside()));
    let xaddr = wsd::element(&resolved, "XAddrs").unwrap().to_string();
    assert!(xaddr.starts_with(&format!("http://{ip}:")), "{resolved}");
    let meta = wsd::in_netns(&client.ns, move || wsd::metadata(&xaddr, &endpoint));
    let computer = wsd::element(&meta, "Computer").unwrap_or_else(|| panic!("no Computer in {meta}"));
    assert_eq!(
        computer.to_lowercase(),
        format!("{}/workgroup:workgroup", host.to_lowercase()),
        "{meta}"
    );
    for service in ["_smb._tcp", "_adisk._tcp"] {
        let want = host.clone();
        let answer = wsd::in_netns(&client.ns, move || wsd::mdns_ptr(service, &want));
        let (_, from) = answer.unwrap_or_else(|| panic!("no mDNS answer naming {host} for {service}: {}", inside()));
        assert_eq!(from.to_string(), ip, "{service}");
    }

    // -- off: the container stops answering WS-Discovery, its Avahi service file is gone
    sb.ok(&["discovery", "--discovery", "off"]);
    sb.ok(&["apply"]);
    let left = pct(&[
        "exec",
        "970",
        "--",
        "test",
        "-e",
        "/etc/avahi/services/pve-smbgateway.service",
    ]);
    assert!(!left.status.success(), "the Avahi service file stays");
    let wsdd = pct(&["exec", "970", "--", "systemctl", "is-active", "wsdd"]);
    assert!(
        !wsdd.status.success(),
        "wsdd still runs: {}",
        String::from_utf8_lossy(&wsdd.stdout)
    );
    sb.ok(&["delete", "tm"]);
}

/// A WS-Discovery exchange from the client namespace.
fn client_wsd(client: &Client, message: String, want: &[&str]) -> Option<(String, std::net::IpAddr)> {
    let want: Vec<String> = want.iter().map(|w| w.to_string()).collect();
    wsd::in_netns(&client.ns, move || {
        let want: Vec<&str> = want.iter().map(String::as_str).collect();
        wsd::wsd(&message, &want)
    })
}
