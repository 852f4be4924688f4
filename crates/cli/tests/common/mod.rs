//! Harness for the integration tests: a sandbox (`PVE_SMBGW_ROOT`) with its own smbd on a free
//! loopback port, the real CLI binary, and the real smbclient. Needs root (smbd switches users).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A real Ceph cluster with CephFS (t/bin/smbgw-ceph-cluster), for the CephFS tests.
pub mod ceph;

pub const BIN: &str = env!("CARGO_BIN_EXE_pve-smbgateway");

pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub root: PathBuf,
    pub port: u16,
    /// Extra environment for the CLI (e.g. PATH with a stand-in first).
    pub env: Vec<(String, String)>,
    /// A command the CLI runs under, e.g. `nsenter` into a test host's namespaces.
    pub wrapper: Vec<String>,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Self {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Sandbox {
    pub fn new() -> Self {
        assert!(
            nix::unistd::geteuid().is_root(),
            "the integration tests need root: smbd must switch to the share users"
        );
        let dir = tempfile::Builder::new().prefix("smbgw-test.").tempdir().unwrap();
        // smbd runs the dfree helper as the share user, who must reach the sandbox
        std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let root = dir.path().join("root");
        Sandbox {
            root,
            port: free_port(),
            dir,
            env: Vec::new(),
            wrapper: Vec::new(),
        }
    }

    /// A path for share data inside this sandbox's temp dir (outside the gateway's own dirs).
    pub fn data(&self, name: &str) -> PathBuf {
        self.dir.path().join("data").join(name)
    }

    pub fn command(&self) -> Command {
        let mut cmd = match self.wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(BIN);
                c
            }
            None => Command::new(BIN),
        };
        cmd.env("PVE_SMBGW_ROOT", &self.root)
            .env("PVE_SMBGW_SMB_PORT", self.port.to_string())
            .env_remove("PVE_SMBGW_BIND")
            .env("PVE_SMBGW_BIN", BIN)
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    pub fn run_with_stdin(&self, args: &[&str], stdin: &[u8]) -> Run {
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // the CLI may exit (bad input) before it reads its stdin: a broken pipe is fine
        let _ = child.stdin.take().unwrap().write_all(stdin);
        Run::from(child.wait_with_output().unwrap())
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, b"")
    }

    /// Run and require success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert_eq!(r.code, 0, "{args:?} failed: {}{}", r.stdout, r.stderr);
        r.stdout
    }

    pub fn add_user(&self, name: &str, password: &str) {
        let r = self.run_with_stdin(
            &["user", "add", name, "--password-stdin"],
            format!("{password}\n").as_bytes(),
        );
        assert_eq!(r.code, 0, "user add {name}: {}{}", r.stdout, r.stderr);
    }

    /// smbclient against a share; Ok(output) only if it exited 0 and printed no NT_STATUS error
    /// (smbclient exits 0 when a command inside -c fails).
    pub fn smbclient(&self, share: &str, user: Option<(&str, &str)>, commands: &str) -> Result<String, String> {
        self.smbclient_max_protocol(share, user, "SMB3", commands)
    }

    /// The same with the client's highest protocol set (e.g. SMB2_10, which cannot encrypt).
    pub fn smbclient_max_protocol(
        &self,
        share: &str,
        user: Option<(&str, &str)>,
        max_protocol: &str,
        commands: &str,
    ) -> Result<String, String> {
        let mut cmd = Command::new("smbclient");
        cmd.arg(format!("//127.0.0.1/{share}"))
            .args(["-p", &self.port.to_string(), "-m", max_protocol]);
        let mut auth = None;
        match user {
            Some((u, p)) => {
                // credentials file, not argv
                let path = self.dir.path().join(format!("creds.{u}"));
                std::fs::write(&path, format!("username = {u}\npassword = {p}\n")).unwrap();
                cmd.arg("-A").arg(&path);
                auth = Some(path);
            }
            None => {
                cmd.arg("-N");
            }
        }
        let out = cmd
            .args(["-c", commands])
            .current_dir(self.dir.path())
            .output()
            .unwrap();
        let _ = auth;
        smbclient_result(out)
    }

    /// The share names smbd lists to `user`.
    pub fn listed_shares(&self, user: (&str, &str)) -> Vec<String> {
        let path = self.dir.path().join("creds.list");
        std::fs::write(&path, format!("username = {}\npassword = {}\n", user.0, user.1)).unwrap();
        let out = Command::new("smbclient")
            .args(["-L", "//127.0.0.1", "-p", &self.port.to_string(), "-g", "-A"])
            .arg(&path)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("Disk|"))
            .map(|l| l.split('|').next().unwrap().to_string())
            .collect()
    }

    /// Every file the gateway generated or stores, with its bytes: config, smb.conf, includes, accounts.
    pub fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut files = BTreeMap::new();
        for dir in ["config", "samba/shares.d", "accounts"] {
            collect(&self.root.join(dir), &mut files);
        }
        let conf = self.root.join("samba/smb.conf");
        if let Ok(data) = std::fs::read(&conf) {
            files.insert(conf, data);
        }
        files
    }

    pub fn write_local(&self, name: &str, data: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, data).unwrap();
        path
    }
}

/// A btrfs filesystem on a loop device, mounted below `dir`; gone when dropped.
pub struct Btrfs {
    pub mount: PathBuf,
    loop_dev: String,
}

impl Btrfs {
    /// A read-only snapshot of subvolume `source` at `target`, made by hand (as an admin or
    /// snapper would), not by the gateway.
    pub fn snapshot_by_hand(source: &Path, target: &Path) {
        run(
            "btrfs",
            &[
                "subvolume",
                "snapshot",
                "-r",
                source.to_str().unwrap(),
                target.to_str().unwrap(),
            ],
        );
    }

    pub fn new(dir: &Path, size: &str) -> Btrfs {
        let image = dir.join("btrfs.img");
        let mount = dir.join("btrfs");
        std::fs::create_dir_all(&mount).unwrap();
        run("truncate", &["-s", size, image.to_str().unwrap()]);
        let loop_dev = run("losetup", &["--find", "--show", image.to_str().unwrap()])
            .trim()
            .to_string();
        run("mkfs.btrfs", &["-q", "-f", &loop_dev]);
        run("mount", &[&loop_dev, mount.to_str().unwrap()]);
        Btrfs { mount, loop_dev }
    }

    /// `btrfs qgroup show` of the subvolume at `path`: (referenced, max referenced).
    pub fn qgroup(&self, path: &Path) -> (u64, Option<u64>) {
        run("btrfs", &["filesystem", "sync", path.to_str().unwrap()]);
        let out = run("btrfs", &["qgroup", "show", "-reF", "--raw", path.to_str().unwrap()]);
        let line = out.lines().find(|l| l.starts_with("0/")).expect("a level-0 qgroup");
        let f: Vec<&str> = line.split_whitespace().collect();
        (f[1].parse().unwrap(), f[3].parse().ok())
    }
}

impl Drop for Btrfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.mount).status();
        let _ = Command::new("losetup").arg("-d").arg(&self.loop_dev).status();
    }
}

pub fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Sandbox {
    /// The CLI refuses `args` (with `--output-format json`) on `field`, exit 1, with a message
    /// holding `reason`, and no file of the sandbox differs from `before` (`snapshot`).
    pub fn assert_refused(
        &self,
        args: &[impl AsRef<str>],
        field: &str,
        reason: &str,
        before: &BTreeMap<PathBuf, Vec<u8>>,
    ) {
        let mut args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
        args.extend(["--output-format", "json"]);
        let r = self.run(&args);
        assert_eq!(r.code, 1, "{args:?}: {}{}", r.stdout, r.stderr);
        // the error is the last line (warnings may come before it)
        let last = r.stderr.trim().lines().last().unwrap_or("");
        let err: serde_json::Value =
            serde_json::from_str(last).unwrap_or_else(|_| panic!("{args:?}: {}{}", r.stdout, r.stderr));
        assert_eq!(err["field"], field, "{args:?}: {err}");
        let message = err["message"].as_str().unwrap();
        assert!(message.contains(reason), "{args:?}: {message}");
        assert_eq!(&self.snapshot(), before, "{args:?} changed files");
    }
}

/// A command line: `head` then `extra` (the options a case adds).
pub fn args(head: &[&str], extra: &[&str]) -> Vec<String> {
    head.iter().chain(extra).map(|s| s.to_string()).collect()
}

/// A sandbox with the zfs stand-in (t/bin/zfs) on PATH and its pool "tank"; `mount`: datasets
/// are mounts, with snapshots under .zfs/snapshot (ZFS_STANDIN_MOUNT). Returns the stand-in's
/// state and the pool's mountpoint.
pub fn zfs_sandbox(mount: bool) -> (Sandbox, PathBuf, PathBuf) {
    let mut sb = Sandbox::new();
    let state = sb.dir.path().join("zfs-standin");
    let pool = sb.dir.path().join("tank");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::create_dir_all(&pool).unwrap();
    std::fs::write(state.join("datasets"), format!("tank\t{}\t0\n", pool.display())).unwrap();
    let standin = concat!(env!("CARGO_MANIFEST_DIR"), "/../../t/bin");
    sb.env
        .push(("PATH".into(), format!("{standin}:{}", std::env::var("PATH").unwrap())));
    sb.env.push(("ZFS_STANDIN_STATE".into(), state.display().to_string()));
    if mount {
        sb.env.push(("ZFS_STANDIN_MOUNT".into(), "1".into()));
    }
    (sb, state, pool)
}

impl Sandbox {
    /// `zfs ARGS` as the CLI runs it (the sandbox's environment: the stand-in), as an admin or
    /// a cron job would; it must succeed.
    pub fn zfs(&self, args: &[&str]) {
        let out = Command::new("zfs")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "zfs {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Share "docs" for alice on the stand-in's dataset tank/docs (a zfs quota of 1G) with
/// Previous Versions, in a `zfs_sandbox(true)`: its path, and the guard of its mounts.
pub fn zfs_docs_share(sb: &Sandbox, pool: &Path) -> (PathBuf, ZfsMounts) {
    let path = pool.join("docs");
    let mounts = ZfsMounts(path.clone());
    sb.ok(&[
        "create",
        "docs",
        "--path",
        path.to_str().unwrap(),
        "--users",
        "alice",
        "--quota",
        "1G",
        "--quota-backend",
        "zfs",
        "--shadow-copies",
        "1",
    ]);
    (path, mounts)
}

/// Dataset mounts the zfs stand-in makes (ZFS_STANDIN_MOUNT), undone even when a test fails.
pub struct ZfsMounts(pub PathBuf);

impl Drop for ZfsMounts {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-R").arg("-l").arg(&self.0).output();
    }
}

/// Every file below `dir` with its bytes (the store's lock files aside).
pub fn collect(dir: &Path, files: &mut BTreeMap<PathBuf, Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files);
        } else if !path.file_name().unwrap().to_string_lossy().starts_with(".shares.lock") {
            files.insert(path.clone(), std::fs::read(&path).unwrap());
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.command().arg("stop").output();
        // samba-dcerpcd, started on demand by smbd and winbindd, re-parents to PID 1 and
        // outlives them
        kill_matching(&self.root.join("samba/smb.conf").display().to_string());
    }
}

/// The repository root (for t/bin stand-ins and scripts/).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// A Linux bridge on the node with a private /24 `NET.0/24` (the node is `NET.1`), no uplink;
/// removed when dropped. `prefix` keeps the bridges of different tests apart.
pub struct Bridge {
    pub name: String,
    pub net: String,
}

impl Bridge {
    pub fn new(prefix: &str, net_base: &str) -> Bridge {
        let id = std::process::id() % 100_000;
        let bridge = Bridge {
            name: format!("{prefix}{id}"),
            net: format!("{net_base}.{}", 100 + id % 100),
        };
        run("ip", &["link", "add", &bridge.name, "type", "bridge"]);
        run(
            "ip",
            &["addr", "add", &format!("{}.1/24", bridge.net), "dev", &bridge.name],
        );
        run("ip", &["link", "set", &bridge.name, "up"]);
        bridge
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.name]).status();
    }
}

/// smbclient's outcome: Ok(output) only if it exited 0 and printed no NT_STATUS error
/// (smbclient exits 0 when a command inside -c fails).
pub fn smbclient_result(out: Output) -> Result<String, String> {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() && !text.contains("NT_STATUS_") {
        Ok(text)
    } else {
        Err(text)
    }
}

/// Kill every process whose command line mentions `needle`.
pub fn kill_matching(needle: &str) {
    for _ in 0..50 {
        let mut found = false;
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).replace('\0', " ").contains(needle) {
                found = true;
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
            }
        }
        if !found {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The lines a child prints on stdout and stderr, as one stream in the order they arrive (an
/// interactive smbclient reports successes on one and failures on the other).
pub fn output_lines(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<String> {
    use std::io::{BufRead, BufReader, Read};
    let (tx, output) = std::sync::mpsc::channel();
    let stdout: Box<dyn Read + Send> = Box::new(child.stdout.take().unwrap());
    let stderr: Box<dyn Read + Send> = Box::new(child.stderr.take().unwrap());
    for stream in [stdout, stderr] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    output
}
