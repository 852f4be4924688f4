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
use std::os::unix::fs::MetadataExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
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
    /// Mounts made so far (names their log files).
    mounted: AtomicUsize,
    /// Network namespaces (names, or PIDs as text) already on the cluster's bridge, with
    /// their addresses there.
    attached: Mutex<Vec<(String, String)>>,
}

struct Mount {
    /// nsenter arguments that enter the mount's namespaces.
    enter: Vec<String>,
    /// For a mount inside another process's mount namespace: that process and the namespace's
    /// inode, so a PID reused after the process died is never entered.
    owner: Option<(u32, u64)>,
    at: PathBuf,
    /// ceph-fuse itself: signalled through the Child only while it is not reaped, so its PID
    /// can never be another process's by then.
    fuse: Child,
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
            mounted: AtomicUsize::new(0),
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
    /// once; its address there (interface `ceph0`), e.g. to evict or blocklist that client.
    pub fn attach(&self, target: &str) -> String {
        let mut attached = self.attached.lock().unwrap();
        if let Some((_, addr)) = attached.iter().find(|(t, _)| t == target) {
            return addr.clone();
        }
        let out = self.script_cmd().args(["attach", target]).output().unwrap();
        assert!(
            out.status.success(),
            "smbgw-ceph-cluster attach {target}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let addr = String::from_utf8_lossy(&out.stdout).trim().to_string();
        attached.push((target.to_string(), addr.clone()));
        addr
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
        let k = self.mounted.fetch_add(1, Ordering::SeqCst);
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
            let exited = child.try_wait().unwrap();
            if exited.is_some() || start.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                let _ = child.wait();
                let log = fs::read_to_string(self.dir.path().join(format!("log/fuse.{k}.stdout"))).unwrap_or_default();
                panic!("ceph-fuse on {} did not mount ({exited:?}): {log}", at.display());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let owner = match place {
            Place::Process(pid) => Some((pid, mnt_ns(pid).expect("the process owning the mount"))),
            Place::Netns(_) => None,
        };
        self.mounts.lock().unwrap().push(Mount {
            enter,
            owner,
            at: at.to_path_buf(),
            fuse: child,
        });
    }

    /// Unmount what [`Ceph::mount`] & co. mounted at `at` (cleanly: ceph-fuse exits).
    pub fn umount(&self, at: &Path) {
        let mut mounts = self.mounts.lock().unwrap();
        if let Some(i) = mounts.iter().position(|m| m.at == at) {
            let m = mounts.remove(i);
            umount(m);
        }
    }
}

/// The inode of a process's mount namespace.
fn mnt_ns(pid: u32) -> Option<u64> {
    fs::metadata(format!("/proc/{pid}/ns/mnt")).ok().map(|m| m.ino())
}

/// umount (ceph-fuse exits), or when that hangs (an MDS gone) kill it and detach lazily.
fn umount(mut m: Mount) {
    // a mount namespace already gone (the HA cluster dropped first) took the mount with it
    let reachable = m.owner.is_none_or(|(pid, ns)| mnt_ns(pid) == Some(ns));
    let run = |args: &[&str]| {
        reachable
            && Command::new("timeout")
                .args(["10", "nsenter"])
                .args(&m.enter)
                .args(args)
                .arg(&m.at)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
    };
    if !run(&["umount"]) {
        let _ = m.fuse.kill();
        run(&["umount", "-l"]);
    }
    let start = Instant::now();
    while m.fuse.try_wait().ok().flatten().is_none() && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = m.fuse.kill();
    let _ = m.fuse.wait();
}

impl Drop for Ceph {
    fn drop(&mut self) {
        let mounts: Vec<Mount> = self.mounts.lock().unwrap().drain(..).rev().collect();
        for m in mounts {
            umount(m);
        }
        // SIGKILL of every daemon: the data is thrown away, nothing needs a clean shutdown
        let _ = self.script_cmd().arg("stop").status();
    }
}
