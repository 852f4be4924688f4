//! A real 3-node CTDB cluster plus a real 3-node corosync on this machine, in network namespaces
//! (recipes 05* and 10 in ../shared/recipes/platform), configured by this crate's rendered files
//! and locked by this crate's `smbgw-ctdb-quorum-lock`.
//!
//! Topology (nothing in the root netns, so no traffic leaves the box):
//!   netns <id>-br: bridge br0 with ports v1 v2 v3 vc
//!   netns <id>-n1..3: eth0 10.99.40.1..3/24; corosync and ctdbd share one private mount namespace
//!     per node (anchored by a `sleep`) with /etc/ctdb, /var/lib/ctdb, /etc/corosync,
//!     /var/lib/corosync, /var/log/corosync, the whole /run and /dev/shm replaced
//!   netns <id>-cl: the client, 10.99.40.50/24
//!   VIPs 10.99.40.100/24 and 10.99.40.101/24 on eth0

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use smbgw_ha::config::{parse_nodes, parse_vips, Environment, HaConfig, LockSpec, Tunables};
use smbgw_ha::render::{self, RenderOptions};
use smbgw_ha::status::{self, Ctdb, DrillOptions};

const N: usize = 3;
const BUILT_HELPER: &str = env!("CARGO_BIN_EXE_smbgw-ctdb-quorum-lock");
const VIP_A: &str = "10.99.40.100";
const VIP_B: &str = "10.99.40.101";

fn sh(cmd: &str) {
    let out = std::process::Command::new("sh").args(["-c", cmd]).output().unwrap();
    assert!(out.status.success(), "{cmd}: {}", String::from_utf8_lossy(&out.stderr));
}

fn sh_out(cmd: &str) -> String {
    let out = std::process::Command::new("sh").args(["-c", cmd]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Everything the cluster consists of; dropping it tears it all down, also after a panic.
struct Cluster {
    id: String,
    dir: tempfile::TempDir,
    anchors: Vec<u32>,
    children: Vec<Child>,
    /// A private copy: a concurrent `cargo build` replacing the built binary must not touch
    /// the running cluster (nor hide its helpers, whose /proc/PID/exe would read "(deleted)").
    helper: PathBuf,
}

impl Cluster {
    fn ns(&self, node: &str) -> String {
        format!("{}-{node}", self.id)
    }

    fn node_dir(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("n{i}"))
    }

    fn ctdb(&self, i: usize) -> Ctdb {
        Ctdb::with_prefix(["nsenter", "-t", &self.anchors[i - 1].to_string(), "-m", "-n"])
    }

    /// Run a program inside node i's namespaces, as a daemon writing to `log`.
    fn spawn(&mut self, i: usize, log: &str, argv: &[&str]) -> u32 {
        let out = fs::File::create(self.node_dir(i).join(log)).unwrap();
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

    /// Run the lock helper by hand on node i, as ctdbd would.
    fn start_helper(&self, i: usize) -> Child {
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
    fn helpers_on(&self, i: usize) -> Vec<u32> {
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

    fn has_vip(&self, i: usize, vip: &str) -> bool {
        sh_out(&format!("ip -n {} -4 -o addr show dev eth0", self.ns(&format!("n{i}")))).contains(&format!(" {vip}/"))
    }

    fn mac(&self, i: usize) -> String {
        let out = sh_out(&format!("ip -n {} -o link show eth0", self.ns(&format!("n{i}"))));
        out.split("link/ether ")
            .nth(1)
            .unwrap_or("")
            .split(' ')
            .next()
            .unwrap_or("")
            .to_string()
    }

    fn client_reaches_via(&self, vip: &str, i: usize) -> bool {
        let cl = self.ns("cl");
        let ok = std::process::Command::new("ip")
            .args(["netns", "exec", &cl, "ping", "-n", "-q", "-c1", "-W1", vip])
            .output()
            .is_ok_and(|o| o.status.success());
        ok && sh_out(&format!("ip -n {cl} neigh show {vip}")).contains(&self.mac(i))
    }

    fn log(&self, i: usize, name: &str) -> String {
        fs::read_to_string(self.node_dir(i).join(name)).unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // everything in our namespaces was started by this test: ctdbd and its helpers,
        // ctdb-eventd, corosync, the anchors
        let namespaces: Vec<String> = ["br", "cl", "n1", "n2", "n3"].iter().map(|n| self.ns(n)).collect();
        for _ in 0..50 {
            let mut any = false;
            for ns in &namespaces {
                for pid in sh_out(&format!("ip netns pids {ns} 2>/dev/null")).split_whitespace() {
                    if let Ok(pid) = pid.parse::<i32>() {
                        any = true;
                        unsafe { libc::kill(pid, libc::SIGKILL) };
                    }
                }
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

fn ha_config() -> HaConfig {
    HaConfig {
        nodes: parse_nodes("n1=10.99.40.1,n2=10.99.40.2,n3=10.99.40.3", |_| None).unwrap(),
        vips: parse_vips(&format!("{VIP_A}/24,{VIP_B}/24")).unwrap(),
        interface: "eth0".into(),
        lock: LockSpec::Corosync,
        tunables: Tunables::default(),
        ad: false,
    }
}

/// corosync's token timeout: 1000 ms keeps the test short; `SMBGW_HA_TOKEN=3000` is PVE's default.
fn token_ms() -> u32 {
    std::env::var("SMBGW_HA_TOKEN")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(1000)
}

fn corosync_conf(cluster: &str) -> String {
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
fn answer(child: &mut Child) -> char {
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

fn stop(mut child: Child) {
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = child.wait();
}

fn wait(what: &str, limit: Duration, mut done: impl FnMut() -> bool) -> f64 {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
    start.elapsed().as_secs_f64()
}

fn build(cfg: &HaConfig) -> Cluster {
    let dir = tempfile::Builder::new().prefix("smbgw-ha-test").tempdir().unwrap();
    let helper = dir.path().join("smbgw-ctdb-quorum-lock");
    fs::copy(BUILT_HELPER, &helper).unwrap();
    let mut c = Cluster {
        id: format!("smbgw-ha-{}", std::process::id()),
        dir,
        anchors: Vec::new(),
        children: Vec::new(),
        helper,
    };
    let (br, cl) = (c.ns("br"), c.ns("cl"));
    sh(&format!(
        "ip netns add {br} && ip -n {br} link set lo up && \
         ip -n {br} link add br0 type bridge stp_state 0 forward_delay 0 && ip -n {br} link set br0 up"
    ));
    for (port, ns, addr) in (1..=N)
        .map(|i| (format!("v{i}"), c.ns(&format!("n{i}")), format!("10.99.40.{i}")))
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
    };
    let files = render::render(cfg, &opts);
    let authkey = c.dir.path().join("authkey");
    sh(&format!("corosync-keygen -k {} -s 256 >/dev/null", authkey.display()));
    for i in 1..=N {
        let d = c.node_dir(i);
        for sub in [
            "var-ctdb/persistent",
            "var-ctdb/state",
            "var-ctdb/volatile",
            "run/ctdb",
            "run/corosync",
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

        let mounts = format!(
            "mount --bind {d}/coro-etc /etc/corosync && mount --bind {d}/coro-var /var/lib/corosync && \
             mount --bind {d}/coro-log /var/log/corosync && mount --bind {d}/run /run && \
             mount -t tmpfs -o mode=1777 smbgw-ha-shm /dev/shm && \
             mount --bind {d}/etc-ctdb /etc/ctdb && mount --bind {d}/var-ctdb /var/lib/ctdb && \
             exec sleep 100000",
            d = d.display()
        );
        let anchor = std::process::Command::new("ip")
            .args([
                "netns",
                "exec",
                &c.ns(&format!("n{i}")),
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

#[test]
fn ctdb_cluster_with_corosync_lock_fails_over() {
    let cfg = ha_config();
    let mut c = build(&cfg);

    // corosync first: the lock helper needs quorum
    let t0 = Instant::now();
    let corosync: Vec<u32> = (1..=N)
        .map(|i| c.spawn(i, "corosync.log", &["corosync", "-f"]))
        .collect();
    let anchors = c.anchors.clone();
    let t = wait("corosync: 3 members, quorate", Duration::from_secs(30), || {
        anchors.iter().all(|pid| {
            let out = std::process::Command::new("nsenter")
                .args(["-t", &pid.to_string(), "-m", "-n", "corosync-quorumtool", "-s"])
                .output()
                .unwrap();
            out.status.success()
                && String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["Nodes:", "3"])
        })
    });
    println!("corosync (token {} ms) quorate with 3 nodes after {t:.1} s", token_ms());

    // the helper alone: three racing for a free lock, exactly one wins; nobody else gets it
    // while it is held (not even on the same node); released, the next one gets it
    let t = Instant::now();
    let mut racers: Vec<Child> = (1..=N).map(|i| c.start_helper(i)).collect();
    let answers: Vec<char> = racers.iter_mut().map(answer).collect();
    println!(
        "lock race answers per node: {answers:?} ({:.2} s)",
        t.elapsed().as_secs_f64()
    );
    assert_eq!(answers.iter().filter(|&&a| a == '0').count(), 1, "{answers:?}");
    assert_eq!(answers.iter().filter(|&&a| a == '1').count(), N - 1, "{answers:?}");
    let winner = answers.iter().position(|&a| a == '0').unwrap() + 1;
    for i in 1..=N {
        let mut late = c.start_helper(i);
        assert_eq!(
            answer(&mut late),
            '1',
            "second helper on n{i} while n{winner} holds the lock"
        );
        stop(late);
    }
    for (i, racer) in racers.into_iter().enumerate() {
        if i + 1 == winner {
            stop(racer);
        } else {
            let _ = racer.wait_with_output();
        }
    }
    let next = winner % N + 1;
    let mut again = c.start_helper(next);
    assert_eq!(answer(&mut again), '0', "n{next} after n{winner} released the lock");
    stop(again);

    let ctdbd: Vec<u32> = (1..=N)
        .map(|i| {
            c.spawn(
                i,
                "ctdbd.log",
                &["env", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "ctdbd", "-i"],
            )
        })
        .collect();
    let ctdb1 = c.ctdb(1);
    wait("CTDB healthy with a leader", Duration::from_secs(90), || {
        status::status(&ctdb1, Some(&cfg)).is_ok_and(|s| s.healthy && s.leader.is_some())
    });
    println!("CTDB healthy {:.1} s after corosync start", t0.elapsed().as_secs_f64());

    // ha-status matches reality: every VIP hosted where CTDB says, on the real eth0
    let st = status::status(&ctdb1, Some(&cfg)).unwrap();
    println!("{}", serde_json::to_string_pretty(&st).unwrap());
    for args in [&["status"][..], &["ip", "-v"], &["leader"], &["getreclock"]] {
        println!("ctdb -X {args:?}:\n{}", ctdb1.run(args).unwrap());
    }
    assert_eq!(st.nodes.len(), N);
    assert!(st.nodes.iter().all(|n| n.state == "OK" && n.name.is_some()));
    assert_eq!(st.this_node, Some(0));
    assert!(st
        .cluster_lock
        .configured
        .as_deref()
        .unwrap()
        .contains(c.helper.to_str().unwrap()));
    for v in &st.vips {
        let holder = v.holder.expect("VIP hosted") as usize + 1;
        assert!(
            c.has_vip(holder, &v.address.to_string()),
            "{} not on n{holder}",
            v.address
        );
    }

    // exactly one lock holder, on the leader's node
    let mut seen = (None, Vec::new());
    let waited = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait("one lock helper, on the leader", Duration::from_secs(15), || {
            let leader = status::status(&ctdb1, None)
                .ok()
                .and_then(|s| s.leader)
                .map(|l| l as usize + 1);
            seen = (leader, (1..=N).map(|i| c.helpers_on(i)).collect());
            leader.is_some_and(|l| (1..=N).all(|i| seen.1[i - 1].len() == usize::from(i == l)))
        })
    }));
    if waited.is_err() {
        for i in 1..=N {
            println!("=== n{i} ctdbd.log\n{}", c.log(i, "ctdbd.log"));
        }
        panic!("leader and lock helpers (per node) did not agree: {seen:?}");
    }
    let leader = seen.0.unwrap();
    let holder_pid = c.helpers_on(leader)[0];
    assert!(c.log(leader, "ctdbd.log").contains("cluster lock taken"));

    // failover drill on VIP B (disable its holder, measure, enable)
    let before: Vec<usize> = (1..=N).map(|i| c.log(i, "ctdbd.log").len()).collect();
    let drill = status::ha_test(
        &ctdb1,
        VIP_B.parse().unwrap(),
        &DrillOptions {
            timeout: Duration::from_secs(30),
            ping_prefix: vec!["ip".into(), "netns".into(), "exec".into(), c.ns("cl")],
        },
    )
    .unwrap();
    println!(
        "FAILOVER drill (disable n{}) {VIP_B}: ctdb shows n{} after {:.2} s, answers ping after {:.2} s",
        drill.from + 1,
        drill.to + 1,
        drill.seconds_to_move,
        drill.seconds_to_answer
    );
    assert_ne!(drill.from, drill.to);
    if drill.seconds_to_move > 5.0 {
        for i in 1..=N {
            println!(
                "=== n{i} ctdbd.log during the drill\n{}",
                &c.log(i, "ctdbd.log")[before[i - 1]..]
            );
        }
    }
    wait("healthy after the drill", Duration::from_secs(30), || {
        status::status(&ctdb1, Some(&cfg)).is_ok_and(|s| s.healthy)
    });

    // planned move of VIP A onto the leader, so the partition below hits holder and leader at once
    let secs = status::failover(&ctdb1, VIP_A.parse().unwrap(), (leader - 1) as u32).unwrap();
    println!("FAILOVER planned moveip {VIP_A} -> n{leader}: {secs:.2} s");
    wait("VIP A on the leader's eth0", Duration::from_secs(10), || {
        c.has_vip(leader, VIP_A)
    });

    // partition: the leader's bridge port goes down (ctdbd and corosync keep running there)
    let survivor = if leader == 1 { 2 } else { 1 };
    let others: Vec<usize> = (1..=N).filter(|&i| i != leader).collect();
    let t0 = Instant::now();
    sh(&format!("ip -n {} link set v{leader} down", c.ns("br")));
    let (mut t_vip, mut t_client, mut t_release, mut new_holder) = (None, None, None, None);
    while t0.elapsed() < Duration::from_secs(60) {
        let now = || t0.elapsed().as_secs_f64();
        if t_release.is_none() && !Path::new(&format!("/proc/{holder_pid}")).exists() {
            t_release = Some(now());
        }
        if new_holder.is_none() {
            new_holder = others.iter().copied().find(|&i| c.has_vip(i, VIP_A));
            if new_holder.is_some() {
                t_vip = Some(now());
            }
        }
        if let (Some(i), None) = (new_holder, t_client) {
            if c.client_reaches_via(VIP_A, i) {
                t_client = Some(now());
            }
        }
        if t_client.is_some() && t_release.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let show = |t: Option<f64>| t.map_or("never".to_string(), |t| format!("+{t:.2} s"));
    println!(
        "FAILOVER partition of leader+holder n{leader} ({VIP_A}): VIP on n{} eth0 {}, client ping via its MAC {}, \
         cut-off helper released the lock {}",
        new_holder.unwrap_or(0),
        show(t_vip),
        show(t_client),
        show(t_release)
    );
    assert!(
        t_release.is_some(),
        "the cut-off leader's lock helper did not release the lock"
    );
    assert!(c.log(leader, "ctdbd.log").contains("left the quorate partition"));
    assert!(t_client.is_some(), "VIP {VIP_A} never answered from a survivor");

    // a helper on the cut-off node answers contention: it is not quorate
    let mut cut_off = c.start_helper(leader);
    assert_eq!(answer(&mut cut_off), '1');
    stop(cut_off);

    // the majority elected a new leader which holds the lock; the cut-off node holds none
    let ctdb_s = c.ctdb(survivor);
    let t = wait("a new leader among the survivors", Duration::from_secs(30), || {
        status::status(&ctdb_s, Some(&cfg)).is_ok_and(|s| s.leader.is_some_and(|l| others.contains(&(l as usize + 1))))
    });
    println!("new leader known {t:.2} s after the VIP answered");
    let new_leader = status::status(&ctdb_s, Some(&cfg)).unwrap().leader.unwrap() as usize + 1;
    wait("the new leader holds the lock", Duration::from_secs(10), || {
        c.helpers_on(new_leader).len() == 1
    });
    // a helper on the cut-off node may be spawned to contend, but never stays (it is not quorate)
    let first = c.helpers_on(leader);
    std::thread::sleep(Duration::from_millis(1500));
    let staying: Vec<u32> = c.helpers_on(leader).into_iter().filter(|p| first.contains(p)).collect();
    assert!(
        staying.is_empty(),
        "a lock helper stays on the cut-off node: {staying:?}"
    );

    // crash of the new leader's ctdbd (kill -9; its corosync stays, so the partition stays
    // quorate): its helper sees ctdbd gone and releases, the last node takes lock and VIPs
    let last = others.iter().copied().find(|&i| i != new_leader).unwrap();
    let killed_helper = c.helpers_on(new_leader)[0];
    let ctdb_last = c.ctdb(last);
    let t0 = Instant::now();
    unsafe { libc::kill(ctdbd[new_leader - 1] as i32, libc::SIGKILL) };
    let released = wait("the crashed leader's helper to exit", Duration::from_secs(10), || {
        !Path::new(&format!("/proc/{killed_helper}")).exists()
    });
    let takeover = wait(
        "the last node to lead and host both VIPs",
        Duration::from_secs(60),
        || {
            c.has_vip(last, VIP_A)
                && c.has_vip(last, VIP_B)
                && c.client_reaches_via(VIP_A, last)
                && status::status(&ctdb_last, None).is_ok_and(|s| s.leader == Some((last - 1) as u32))
        },
    );
    println!(
        "FAILOVER kill -9 of leader n{new_leader}'s ctdbd: its helper released +{released:.2} s, \
         n{last} leads and answers on both VIPs +{takeover:.2} s"
    );
    assert_eq!(c.helpers_on(last).len(), 1, "the last node holds the lock");

    // corosync itself dies under the holder: the helper cannot know quorum any more and releases
    let holder = c.helpers_on(last)[0];
    unsafe { libc::kill(corosync[last - 1] as i32, libc::SIGKILL) };
    let t = wait(
        "the helper to exit after corosync died",
        Duration::from_secs(10),
        || !Path::new(&format!("/proc/{holder}")).exists(),
    );
    println!("corosync killed under the lock holder: helper released +{t:.2} s");
    assert!(t0.elapsed() < Duration::from_secs(60));
}
