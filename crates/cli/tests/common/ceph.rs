//! A real, throw-away Ceph cluster with a CephFS for the tests (issue #16 item 5): started by
//! t/bin/smbgw-ceph-cluster (1 mon, 1 mgr, 2 bluestore OSDs, an MDS + standby, cephx; copied
//! from a cache under ~/.cache/pve-smbgateway/ceph, built on first use), stopped when dropped.
//! Every mount made through it is a ceph-fuse in its own session (smbd's process-group kill on
//! exit cannot take it down) and is unmounted when the fixture is dropped.
//!
//! Only std and tempfile, so other crates' tests can use it too:
//! `#[path = "../../cli/tests/common/ceph.rs"] mod ceph;` (crates/ha/tests does).
//! No silent skip: without Ceph installed the test fails, pointing at scripts/install-deps.sh.

#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The file system the cluster serves.
pub const FS: &str = "cephfs";

static CLUSTERS: AtomicUsize = AtomicUsize::new(0);

pub struct Ceph {
    /// The work dir: ceph.conf, keys/, daemon data, log/ (thrown away on drop).
    pub dir: tempfile::TempDir,
    /// Netns prefix: `<prefix>-ceph` holds the daemons, `<prefix>-br` the bridge.
    pub prefix: String,
    script: PathBuf,
    mounts: Mutex<Vec<Mount>>,
    /// Network namespaces (names, or PIDs as text) already on the cluster's bridge.
    attached: Mutex<Vec<String>>,
}

struct Mount {
    /// nsenter arguments that enter the mount's namespaces (empty: ours).
    enter: Vec<String>,
    at: PathBuf,
    fuse_pid: u32,
}

/// Where a ceph-fuse runs: its network namespace and the mount namespace it mounts in.
enum Place<'a> {
    /// In our mount namespace, in the daemons' netns (None) or a named one.
    Netns(Option<&'a str>),
    /// In the mount and network namespaces of a process (e.g. an HA node's anchor).
    Process(u32),
}

impl Ceph {
    /// Start a cluster and wait until its CephFS has an active MDS and a standby.
    pub fn start() -> Ceph {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let script = repo.join("t/bin/smbgw-ceph-cluster").canonicalize().unwrap();
        for tool in ["ceph-mon", "ceph-osd", "ceph-mds", "ceph-mgr", "ceph-fuse", "ceph"] {
            let found = Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .is_ok_and(|o| o.status.success());
            assert!(
                found,
                "{tool} is not installed: run scripts/install-deps.sh (the Ceph packages of the test tier)"
            );
        }
        let dir = tempfile::Builder::new().prefix("smbgw-ceph.").tempdir().unwrap();
        let prefix = format!(
            "smbgwceph-{}-{}",
            std::process::id(),
            CLUSTERS.fetch_add(1, Ordering::SeqCst)
        );
        let ceph = Ceph {
            dir,
            prefix,
            script,
            mounts: Mutex::new(Vec::new()),
            attached: Mutex::new(Vec::new()),
        };
        let t = Instant::now();
        let out = ceph.script_cmd().arg("start").output().unwrap();
        let log = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success(),
            "smbgw-ceph-cluster start failed:\n{log}\nlogs in {}",
            ceph.dir.path().join("log").display()
        );
        println!(
            "ceph cluster {} up in {:.1} s:\n{log}",
            ceph.prefix,
            t.elapsed().as_secs_f64()
        );
        ceph
    }

    fn script_cmd(&self) -> Command {
        let mut cmd = Command::new(&self.script);
        cmd.env("SMBGW_CEPH_DIR", self.dir.path())
            .env("SMBGW_CEPH_NETNS", &self.prefix)
            .stdin(Stdio::null());
        cmd
    }

    pub fn conf(&self) -> PathBuf {
        self.dir.path().join("ceph.conf")
    }

    pub fn admin_keyring(&self) -> PathBuf {
        self.keyring("admin")
    }

    /// Where the keyring of `client.<id>` is (the conf finds it there by name).
    pub fn keyring(&self, id: &str) -> PathBuf {
        self.dir.path().join(format!("keys/client.{id}.keyring"))
    }

    /// The netns the daemons run in (the mon listens on its eth0).
    pub fn daemons_netns(&self) -> String {
        format!("{}-ceph", self.prefix)
    }

    /// The ceph CLI as client.admin (from the daemons' netns); panics on failure, returns stdout.
    pub fn ceph(&self, args: &[&str]) -> String {
        let out = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", self.daemons_netns()))
            .arg("ceph")
            .arg("-c")
            .arg(self.conf())
            .args(["--connect-timeout", "15"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ceph {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A cephx user `client.<id>` with rw on `path` of the CephFS (`ceph fs authorize`); its
    /// keyring (0600) is where the conf finds it, returned.
    pub fn authorize(&self, id: &str, path: &str) -> PathBuf {
        let keyring = self.ceph(&["fs", "authorize", FS, &format!("client.{id}"), path, "rw"]);
        let file = self.keyring(id);
        fs::write(&file, keyring).unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
        file
    }

    /// A new network namespace `<prefix>-<name>` on the cluster's bridge (deleted on drop).
    pub fn client_netns(&self, name: &str) -> String {
        let ns = format!("{}-{name}", self.prefix);
        let out = Command::new("ip").args(["netns", "add", &ns]).output().unwrap();
        assert!(
            out.status.success(),
            "ip netns add {ns}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.attach(&ns);
        ns
    }

    /// Put a network namespace (a name, or the PID of a process in it) on the cluster's bridge,
    /// once; returns nothing, the address is in the work dir's `attached` file.
    pub fn attach(&self, target: &str) {
        let mut attached = self.attached.lock().unwrap();
        if attached.iter().any(|a| a == target) {
            return;
        }
        let out = self.script_cmd().args(["attach", target]).output().unwrap();
        assert!(
            out.status.success(),
            "smbgw-ceph-cluster attach {target}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        attached.push(target.to_string());
    }

    /// A ceph-fuse mount (as client.admin) of the CephFS root at `at`, visible in our mount
    /// namespace; the ceph-fuse runs in `netns` (put on the cluster's bridge first) or, with
    /// None, in the daemons' own netns.
    pub fn mount(&self, netns: Option<&str>, at: &Path) {
        self.mount_at(Place::Netns(netns), "admin", None, at);
    }

    /// A ceph-fuse mount (as client.admin) made inside the mount and network namespaces of
    /// process `pid` (an HA node's namespace anchor): seen only by that node's processes.
    pub fn mount_in(&self, pid: u32, at: &Path) {
        self.mount_at(Place::Process(pid), "admin", None, at);
    }

    /// A ceph-fuse mount as `client.<id>` (see [`Ceph::authorize`]) of `root` inside the CephFS.
    pub fn mount_as(&self, id: &str, root: &str, netns: Option<&str>, at: &Path) {
        self.mount_at(Place::Netns(netns), id, Some(root), at);
    }

    fn mount_at(&self, place: Place, id: &str, root: Option<&str>, at: &Path) {
        let enter: Vec<String> = match place {
            Place::Netns(None) => vec![format!("--net=/run/netns/{}", self.daemons_netns())],
            Place::Netns(Some(ns)) => {
                self.attach(ns);
                vec![format!("--net=/run/netns/{ns}")]
            }
            Place::Process(pid) => {
                self.attach(&pid.to_string());
                vec!["-t".into(), pid.to_string(), "-m".into(), "-n".into()]
            }
        };
        let in_ns = |program: &str| {
            let mut cmd = Command::new("nsenter");
            cmd.args(&enter).arg(program);
            cmd
        };
        let status = in_ns("mkdir").arg("-p").arg(at).status().unwrap();
        assert!(status.success(), "mkdir {}", at.display());
        let k = self.mounts.lock().unwrap().len();
        let log = fs::File::create(self.dir.path().join(format!("log/fuse.{k}.stdout"))).unwrap();
        // setsid: its own session (nsenter needs no fork for net/mount, so the PID is ceph-fuse's);
        // -f keeps it in the foreground so it is the process we record
        let mut cmd = in_ns("setsid");
        cmd.arg("ceph-fuse").arg("-c").arg(self.conf()).args(["--id", id, "-f"]);
        if let Some(root) = root {
            cmd.args(["-r", root]);
        }
        let mut child = cmd
            .arg(at)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let fuse_pid = child.id();
        // reaped by a thread: an exited ceph-fuse must not stay a zombie that looks alive
        std::thread::spawn(move || {
            let _ = child.wait();
        });
        let start = Instant::now();
        let want = format!(" {} ", at.display());
        loop {
            let mountinfo = fs::read_to_string(format!("/proc/{fuse_pid}/mountinfo")).unwrap_or_default();
            if mountinfo
                .lines()
                .any(|l| l.contains(&want) && l.contains(" - fuse.ceph-fuse "))
            {
                break;
            }
            let log = fs::read_to_string(self.dir.path().join(format!("log/fuse.{k}.stdout"))).unwrap_or_default();
            assert!(
                Path::new(&format!("/proc/{fuse_pid}")).exists() && start.elapsed() < Duration::from_secs(30),
                "ceph-fuse on {} did not mount: {log}",
                at.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        self.mounts.lock().unwrap().push(Mount {
            enter,
            at: at.to_path_buf(),
            fuse_pid,
        });
    }

    /// Unmount what [`Ceph::mount`] & co. mounted at `at` (cleanly: ceph-fuse exits).
    pub fn umount(&self, at: &Path) {
        let mut mounts = self.mounts.lock().unwrap();
        if let Some(i) = mounts.iter().position(|m| m.at == at) {
            let m = mounts.remove(i);
            umount(&m);
        }
    }
}

/// umount (ceph-fuse exits), or when that hangs (an MDS gone) kill it and detach lazily.
fn umount(m: &Mount) {
    let run = |args: &[&str]| {
        Command::new("timeout")
            .args(["10", "nsenter"])
            .args(&m.enter)
            .args(args)
            .arg(&m.at)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    // a namespace anchor already gone (the HA cluster dropped first) took the mount with it
    if !run(&["umount"]) {
        unsafe_kill(m.fuse_pid);
        run(&["umount", "-l"]);
    }
    let start = Instant::now();
    while Path::new(&format!("/proc/{}", m.fuse_pid)).exists() && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
    unsafe_kill(m.fuse_pid);
}

/// SIGKILL through kill(1): this file uses only std (no libc/nix in every crate's tests).
fn unsafe_kill(pid: u32) {
    if Path::new(&format!("/proc/{pid}")).exists() {
        let _ = Command::new("kill")
            .args(["-9", &pid.to_string()])
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for Ceph {
    fn drop(&mut self) {
        for m in self.mounts.lock().unwrap().drain(..).rev() {
            umount(&m);
        }
        // SIGKILL of every daemon: the data is thrown away, nothing needs a clean shutdown
        let _ = self.script_cmd().arg("stop").status();
    }
}
