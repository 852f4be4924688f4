//! The real-cluster harness shared by tests/cluster.rs and tests/smb.rs: a 3-node CTDB cluster
//! plus a 3-node corosync on this machine, in network namespaces (recipes 05* and 10 in
//! ../shared/recipes/platform), configured by this crate's rendered files and locked by this
//! crate's `smbgw-ctdb-quorum-lock`.
//!
//! Topology (nothing in the root netns, so no traffic leaves the box):
//!   netns <id>-br: bridge br0 with ports v1 v2 v3 vc
//!   netns <id>-n1..3: eth0 10.99.40.1..3/24; corosync, ctdbd (and smbd in tests/smb.rs) share one
//!     private mount namespace per node (anchored by a `sleep`) with /etc/ctdb, /var/lib/ctdb,
//!     /etc/corosync, /var/lib/corosync, /var/log/corosync, the whole /run and /dev/shm replaced,
//!     and one host directory bind-mounted on [`CLUSTER_FS`] in every node (the cluster filesystem)
//!   netns <id>-cl: the client, 10.99.40.50/24
//!   VIPs 10.99.40.100/24 and 10.99.40.101/24 on eth0
//!
//! `<id>` is `smbgw-ha-<pid>-<k>`: unique per cluster, also with several clusters in one process.

#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use smbgw_ha::config::{parse_nodes, parse_vips, Environment, HaConfig, LockSpec, Tunables};
use smbgw_ha::render::{self, RenderOptions};
use smbgw_ha::status::Ctdb;

pub const N: usize = 3;
pub const BUILT_HELPER: &str = env!("CARGO_BIN_EXE_smbgw-ctdb-quorum-lock");
pub const VIP_A: &str = "10.99.40.100";
pub const VIP_B: &str = "10.99.40.101";
/// Where every node sees the same host directory (stands in for CephFS/GFS2...).
pub const CLUSTER_FS: &str = "/run/smbgw-cluster-fs";

static CLUSTERS: AtomicUsize = AtomicUsize::new(0);

pub fn sh(cmd: &str) {
    let out = std::process::Command::new("sh").args(["-c", cmd]).output().unwrap();
    assert!(out.status.success(), "{cmd}: {}", String::from_utf8_lossy(&out.stderr));
}

pub fn sh_out(cmd: &str) -> String {
    let out = std::process::Command::new("sh").args(["-c", cmd]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A process that exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| s.rsplit_once(") ").is_some_and(|(_, rest)| !rest.starts_with('Z')))
}

/// PIDs of all processes whose command line contains `needle`.
pub fn pids_with_arg(needle: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    let me = std::process::id();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        if String::from_utf8_lossy(&cmdline).contains(needle) {
            pids.push(pid);
        }
    }
    pids
}

/// Everything the cluster consists of; dropping it tears it all down, also after a panic.
pub struct Cluster {
    pub id: String,
    pub dir: tempfile::TempDir,
    pub anchors: Vec<u32>,
    pub children: Vec<Child>,
    /// A private copy: a concurrent `cargo build` replacing the built binary must not touch
    /// the running cluster (nor hide its helpers, whose /proc/PID/exe would read "(deleted)").
    pub helper: PathBuf,
    /// ctdbd per node (index node - 1), 0 when not started.
    pub ctdbd: Vec<u32>,
    /// corosync per node, 0 when not started.
    pub corosync: Vec<u32>,
}

impl Cluster {
    /// CTDB healthy on every node, all agreeing on one leader, and each VIP on exactly the one
    /// node CTDB says holds it.
    pub fn consistent(&self, cfg: &HaConfig) -> bool {
        let mut leaders = Vec::new();
        for i in 1..=N {
            match smbgw_ha::status::status(&self.ctdb(i), Some(cfg)) {
                Ok(s) if s.healthy && s.nodes.len() == N && s.leader.is_some() => {
                    leaders.push(s.leader);
                    for v in &s.vips {
                        let on = self.vip_on(&v.address.to_string());
                        if on.len() != 1 || Some(on[0] as u32 - 1) != v.holder {
                            return false;
                        }
                    }
                }
                _ => return false,
            }
        }
        leaders.windows(2).all(|w| w[0] == w[1])
    }

    pub fn ns(&self, node: &str) -> String {
        format!("{}-{node}", self.id)
    }

    pub fn node_ns(&self, i: usize) -> String {
        self.ns(&format!("n{i}"))
    }

    pub fn node_dir(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("n{i}"))
    }

    /// The host directory every node sees at [`CLUSTER_FS`].
    pub fn cluster_fs(&self) -> PathBuf {
        self.dir.path().join("cluster-fs")
    }

    pub fn ctdb(&self, i: usize) -> Ctdb {
        Ctdb::with_prefix(["nsenter", "-t", &self.anchors[i - 1].to_string(), "-m", "-n"])
    }

    /// A command run inside node i's namespaces.
    pub fn on(&self, i: usize, program: &str) -> std::process::Command {
        let mut cmd = std::process::Command::new("nsenter");
        cmd.args(["-t", &self.anchors[i - 1].to_string(), "-m", "-n", program]);
        cmd
    }

    /// Run a program inside node i's namespaces, as a daemon writing to `log` (appended).
    pub fn spawn(&mut self, i: usize, log: &str, argv: &[&str]) -> u32 {
        let out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.node_dir(i).join(log))
            .unwrap();
        let child = std::process::Command::new("nsenter")
            .args(["-t", &self.anchors[i - 1].to_string(), "-m", "-n"])
            .args(argv)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let pid = child.id();
        self.children.push(child);
        pid
    }

    /// corosync on every node, then wait until all three are members of a quorate ring.
    pub fn start_corosync(&mut self) -> f64 {
        for i in 1..=N {
            self.corosync[i - 1] = self.spawn(i, "corosync.log", &["corosync", "-f"]);
        }
        wait("corosync: 3 members, quorate", Duration::from_secs(30), || {
            (1..=N).all(|i| self.quorate_members(i) == Some(3))
        })
    }

    /// Members of node i's quorate corosync partition, `None` when not quorate.
    pub fn quorate_members(&self, i: usize) -> Option<usize> {
        let out = self.on(i, "corosync-quorumtool").arg("-s").output().ok()?;
        if !out.status.success() {
            return None;
        }
        String::from_utf8_lossy(&out.stdout).lines().find_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            match words[..] {
                ["Nodes:", n] => n.parse().ok(),
                _ => None,
            }
        })
    }

    /// Start ctdbd on node i (again, after a kill: the killed ctdbd's ctdb-eventd lingers and
    /// holds eventd.pid, so a new ctdbd would fail with "Failed to initialize event daemon";
    /// it is killed first).
    pub fn start_ctdbd(&mut self, i: usize) -> u32 {
        wait("the old ctdb-eventd to exit", Duration::from_secs(20), || {
            let eventd: Vec<u32> = self
                .netns_pids(i)
                .into_iter()
                .filter(|&pid| {
                    alive(pid)
                        && fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "ctdb-eventd")
                })
                .collect();
            for &pid in &eventd {
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            }
            eventd.is_empty()
        });
        let pid = self.spawn(
            i,
            "ctdbd.log",
            &["env", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "ctdbd", "-i"],
        );
        self.ctdbd[i - 1] = pid;
        pid
    }

    pub fn netns_pids(&self, i: usize) -> Vec<u32> {
        sh_out(&format!("ip netns pids {} 2>/dev/null", self.node_ns(i)))
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }

    /// Run the lock helper by hand on node i, as ctdbd would.
    pub fn start_helper(&self, i: usize) -> Child {
        std::process::Command::new("nsenter")
            .args(["-t", &self.anchors[i - 1].to_string(), "-m", "-n"])
            .arg(&self.helper)
            .args(["--group", &self.id])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn net_ns_inode(pid: u32) -> Option<u64> {
        fs::metadata(format!("/proc/{pid}/ns/net")).ok().map(|m| m.ino())
    }

    /// PIDs of our lock helper running on node i.
    pub fn helpers_on(&self, i: usize) -> Vec<u32> {
        let Some(node_ns) = Self::net_ns_inode(self.anchors[i - 1]) else {
            return Vec::new();
        };
        let mut pids = Vec::new();
        for entry in fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let is_helper = fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == self.helper);
            if is_helper && Self::net_ns_inode(pid) == Some(node_ns) {
                pids.push(pid);
            }
        }
        pids
    }

    pub fn has_vip(&self, i: usize, vip: &str) -> bool {
        sh_out(&format!("ip -n {} -4 -o addr show dev eth0", self.node_ns(i))).contains(&format!(" {vip}/"))
    }

    /// The nodes that really have `vip` on their eth0.
    pub fn vip_on(&self, vip: &str) -> Vec<usize> {
        (1..=N).filter(|&i| self.has_vip(i, vip)).collect()
    }

    pub fn mac(&self, i: usize) -> String {
        let out = sh_out(&format!("ip -n {} -o link show eth0", self.node_ns(i)));
        out.split("link/ether ")
            .nth(1)
            .unwrap_or("")
            .split(' ')
            .next()
            .unwrap_or("")
            .to_string()
    }

    /// The client pings `vip` and its ARP entry points at node i.
    pub fn client_reaches_via(&self, vip: &str, i: usize) -> bool {
        let cl = self.ns("cl");
        let ok = std::process::Command::new("ip")
            .args(["netns", "exec", &cl, "ping", "-n", "-q", "-c1", "-W1", vip])
            .output()
            .is_ok_and(|o| o.status.success());
        ok && sh_out(&format!("ip -n {cl} neigh show {vip}")).contains(&self.mac(i))
    }

    /// Node i's bridge port up or down (down = node cut off / dead cable).
    pub fn set_port(&self, i: usize, up: bool) {
        let state = if up { "up" } else { "down" };
        sh(&format!("ip -n {} link set v{i} {state}", self.ns("br")));
    }

    pub fn log(&self, i: usize, name: &str) -> String {
        fs::read_to_string(self.node_dir(i).join(name)).unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // everything in our namespaces was started by this test: ctdbd and its helpers,
        // ctdb-eventd, corosync, smbd and the samba-dcerpcd it re-parents to PID 1, the anchors;
        // and anything else naming our temp dir (e.g. a samba-dcerpcd by its --configfile)
        let namespaces: Vec<String> = ["br", "cl", "n1", "n2", "n3"].iter().map(|n| self.ns(n)).collect();
        let dir = self.dir.path().to_string_lossy().into_owned();
        for _ in 0..50 {
            let mut any = false;
            let mut pids = pids_with_arg(&dir);
            for ns in &namespaces {
                pids.extend(
                    sh_out(&format!("ip netns pids {ns} 2>/dev/null"))
                        .split_whitespace()
                        .filter_map(|p| p.parse::<u32>().ok()),
                );
            }
            for pid in pids {
                if alive(pid) {
                    any = true;
                }
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            }
            for pid in &self.anchors {
                unsafe { libc::kill(*pid as i32, libc::SIGKILL) };
            }
            for child in &mut self.children {
                let _ = child.try_wait();
            }
            if !any {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in &namespaces {
            let _ = std::process::Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// Our defaults: the corosync lock and `Tunables::default()`.
pub fn ha_config() -> HaConfig {
    ha_config_with(LockSpec::Corosync, Tunables::default())
}

pub fn ha_config_with(lock: LockSpec, tunables: Tunables) -> HaConfig {
    HaConfig {
        nodes: parse_nodes("n1=10.99.40.1,n2=10.99.40.2,n3=10.99.40.3", |_| None).unwrap(),
        vips: parse_vips(&format!("{VIP_A}/24,{VIP_B}/24")).unwrap(),
        interface: "eth0".into(),
        lock,
        tunables,
        ad: false,
    }
}

/// corosync's token timeout: 1000 ms keeps the test short; `SMBGW_HA_TOKEN=3000` is PVE's default.
pub fn token_ms() -> u32 {
    std::env::var("SMBGW_HA_TOKEN")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(1000)
}

pub fn corosync_conf(cluster: &str) -> String {
    let mut s = format!(
        "totem {{\n\tversion: 2\n\tcluster_name: {cluster}\n\ttransport: knet\n\tcrypto_cipher: aes256\n\
         \tcrypto_hash: sha256\n\ttoken: {}\n}}\nlogging {{\n\tto_stderr: yes\n\tto_logfile: no\n\
         \tto_syslog: no\n\ttimestamp: hires\n}}\nquorum {{\n\tprovider: corosync_votequorum\n}}\nnodelist {{\n",
        token_ms()
    );
    for i in 1..=N {
        s.push_str(&format!(
            "\tnode {{\n\t\tname: n{i}\n\t\tnodeid: {i}\n\t\tring0_addr: 10.99.40.{i}\n\t}}\n"
        ));
    }
    s.push_str("}\n");
    s
}

/// The status character a helper answers ('0' taken, '1' contention, '3' error).
pub fn answer(child: &mut Child) -> char {
    let mut out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut byte = [0u8; 1];
        let _ = tx.send(std::io::Read::read_exact(&mut out, &mut byte).map(|_| byte[0] as char));
    });
    match rx.recv_timeout(Duration::from_secs(10)) {
        Ok(Ok(c)) => c,
        other => panic!("no answer from the lock helper: {other:?}"),
    }
}

pub fn stop(mut child: Child) {
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = child.wait();
}

pub fn wait(what: &str, limit: Duration, mut done: impl FnMut() -> bool) -> f64 {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
    start.elapsed().as_secs_f64()
}

/// `len` bytes that differ per file (`seed`) and per run, so a read of stale or foreign data
/// cannot pass.
pub fn content(seed: usize, len: usize) -> Vec<u8> {
    let mut x = (seed as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(std::process::id());
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Like `wait`, but a timeout is an answer (`false`), not a failure.
pub fn wait_quietly(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// A file bind-mounted over a path in every node's mount namespace (e.g. /etc/passwd).
pub struct NodeFile {
    pub target: &'static str,
    pub content: String,
}

pub fn build(cfg: &HaConfig) -> Cluster {
    build_with(cfg, &[])
}

/// Bridge, client and node namespaces with the rendered CTDB config; nothing started yet but
/// the mount-namespace anchors.
pub fn build_with(cfg: &HaConfig, node_files: &[NodeFile]) -> Cluster {
    let dir = tempfile::Builder::new().prefix("smbgw-ha-test").tempdir().unwrap();
    let helper = dir.path().join("smbgw-ctdb-quorum-lock");
    fs::copy(BUILT_HELPER, &helper).unwrap();
    let mut c = Cluster {
        id: format!(
            "smbgw-ha-{}-{}",
            std::process::id(),
            CLUSTERS.fetch_add(1, Ordering::SeqCst)
        ),
        dir,
        anchors: Vec::new(),
        children: Vec::new(),
        helper,
        ctdbd: vec![0; N],
        corosync: vec![0; N],
    };
    let (br, cl) = (c.ns("br"), c.ns("cl"));
    sh(&format!(
        "ip netns add {br} && ip -n {br} link set lo up && \
         ip -n {br} link add br0 type bridge stp_state 0 forward_delay 0 && ip -n {br} link set br0 up"
    ));
    for (port, ns, addr) in (1..=N)
        .map(|i| (format!("v{i}"), c.node_ns(i), format!("10.99.40.{i}")))
        .chain([("vc".to_string(), cl.clone(), "10.99.40.50".to_string())])
    {
        sh(&format!(
            "ip netns add {ns} && ip -n {ns} link set lo up && \
             ip -n {br} link add {port} type veth peer name eth0 netns {ns} && \
             ip -n {br} link set {port} master br0 up && \
             ip -n {ns} addr add {addr}/24 dev eth0 && ip -n {ns} link set eth0 up"
        ));
    }

    // our rendered CTDB config, validated first (the sysfs override stands for the node's netns)
    let sysfs = c.dir.path().join("sysfs");
    fs::create_dir_all(sysfs.join("class/net/eth0")).unwrap();
    cfg.validate(&Environment { sysfs }).unwrap();
    let opts = RenderOptions {
        lock_helper: c.helper.clone(),
        lock_helper_args: vec!["--group".into(), c.id.clone()],
        log_location: "syslog".into(),
        realtime_scheduling: false,
        ..RenderOptions::default()
    };
    let files = render::render(cfg, &opts);
    let authkey = c.dir.path().join("authkey");
    sh(&format!("corosync-keygen -k {} -s 256 >/dev/null", authkey.display()));
    fs::create_dir_all(c.cluster_fs()).unwrap();
    for (k, f) in node_files.iter().enumerate() {
        fs::write(c.dir.path().join(format!("node-file-{k}")), &f.content).unwrap();
    }
    for i in 1..=N {
        let d = c.node_dir(i);
        for sub in [
            "var-ctdb/persistent",
            "var-ctdb/state",
            "var-ctdb/volatile",
            "run/ctdb",
            "run/corosync",
            "run/smbgw-cluster-fs",
        ] {
            fs::create_dir_all(d.join(sub)).unwrap();
        }
        for sub in ["coro-etc", "coro-var", "coro-log"] {
            fs::create_dir_all(d.join(sub)).unwrap();
        }
        // the stock /etc/ctdb keeps `functions` and the default event script links
        sh(&format!("cp -a /etc/ctdb {}/etc-ctdb", d.display()));
        let mut plan = smbgw_core::Plan::new();
        render::plan_files(&files, &d.join("etc-ctdb"), &mut plan).unwrap();
        plan.push(render::EnableEventScript::new(&d.join("etc-ctdb"), "10.interface"));
        plan.apply().unwrap();
        fs::write(d.join("coro-etc/corosync.conf"), corosync_conf(&c.id.replace('-', "_"))).unwrap();
        sh(&format!(
            "install -m 400 {} {d}/coro-etc/authkey && cp -a /etc/corosync/uidgid.d {d}/coro-etc/",
            authkey.display(),
            d = d.display()
        ));

        let mut mounts = format!(
            "mount --bind {d}/coro-etc /etc/corosync && mount --bind {d}/coro-var /var/lib/corosync && \
             mount --bind {d}/coro-log /var/log/corosync && mount --bind {d}/run /run && \
             mount --bind {fs} {CLUSTER_FS} && \
             mount -t tmpfs -o mode=1777 smbgw-ha-shm /dev/shm && \
             mount --bind {d}/etc-ctdb /etc/ctdb && mount --bind {d}/var-ctdb /var/lib/ctdb && ",
            d = d.display(),
            fs = c.cluster_fs().display()
        );
        for (k, f) in node_files.iter().enumerate() {
            mounts.push_str(&format!(
                "mount --bind {}/node-file-{k} {} && ",
                c.dir.path().display(),
                f.target
            ));
        }
        mounts.push_str("exec sleep 100000");
        let anchor = std::process::Command::new("ip")
            .args([
                "netns",
                "exec",
                &c.node_ns(i),
                "unshare",
                "-m",
                "--propagation",
                "private",
            ])
            .args(["sh", "-c", &mounts])
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let pid = anchor.id();
        c.anchors.push(pid);
        c.children.push(anchor);
        wait("the namespace anchor", Duration::from_secs(10), || {
            fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|s| s.trim() == "sleep")
        });
    }
    c
}

/// The process is gone (not for our own children: a zombie still has its /proc entry).
pub fn gone(pid: u32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
}
