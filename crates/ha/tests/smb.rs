//! Clustered Samba on the real 3-node CTDB + corosync cluster of common/mod.rs (recipe 05d):
//! smbd with our `clustering = yes` globals on every node, one share on the directory all nodes
//! share (the stand-in for the cluster filesystem), a Samba user added once with `pdbedit` (the
//! passdb is one of CTDB's clustered databases, so every node knows it), and a client namespace
//! that only ever talks to the VIP with smbclient.
//!
//! The test proves that a file written through the VIP before a failure is read back through
//! the VIP after (a) kill -9 of the VIP holder's ctdbd + its bridge port down and (b) the
//! leader cut off (its bridge port down), and that a planned `ha-failover` moves the VIP with
//! the client's next smbclient command succeeding (the time is printed).
//!
//! `SMBGW_HA_BENCH=FILE` adds the failover figures of issue 5 (`SMBGW_HA_BENCH_RUNS`, default
//! 3, runs each): ours (KeepaliveInterval=1/KeepaliveLimit=3 + the corosync lock) on this
//! cluster, then CTDB's defaults (5/5 + an fcntl lock file on a directory all nodes share) on a
//! second one. Lines `label|ours ms ...|baseline ms ...`.

mod common;

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::*;
use smbgw_ha::config::{HaConfig, LockSpec, Tunables};
use smbgw_ha::render;
use smbgw_ha::status;

const USER: &str = "smbgwha";
const PASSWORD: &str = "Sm8gw-HA-pw!";
const SHARE: &str = "data";
/// CTDB ≤ 4.17 disables takeover runs for 2 × `-t 2` after a `moveip` (see status::failover):
/// a failure injected inside that window would measure the window, not the failover.
const AFTER_MOVE: Duration = Duration::from_millis(4500);

/// What the client saw after a failure or a move, in seconds since it started.
#[derive(Debug, Default)]
struct Outcome {
    from: usize,
    to: Option<usize>,
    /// The VIP on another node's eth0 and the client's ping answered from that node's MAC.
    reach: Option<f64>,
    /// An smbclient `get` through the VIP returned the file written before.
    read: Option<f64>,
    /// How many smbclient attempts had failed before that.
    failed_reads: usize,
}

impl Outcome {
    fn show(&self) -> String {
        let t = |t: Option<f64>| t.map_or("never".into(), |t| format!("+{t:.2} s"));
        format!(
            "n{} -> {}: client reaches the VIP there {}, SMB read through the VIP {} ({} failed attempts before)",
            self.from,
            self.to.map_or("nowhere".into(), |to| format!("n{to}")),
            t(self.reach),
            t(self.read),
            self.failed_reads
        )
    }
}

/// The cluster with Samba on every node.
struct Lab {
    c: Cluster,
    cfg: HaConfig,
    creds: PathBuf,
    /// smbd per node and the ctdbd it was started against.
    smbd: Vec<(u32, u32)>,
    last_move: Instant,
    files: usize,
}

/// /etc/passwd and /etc/group of the nodes: the host's plus the share's user.
fn user_files() -> (Vec<NodeFile>, u32) {
    let passwd = fs::read_to_string("/etc/passwd").unwrap();
    let group = fs::read_to_string("/etc/group").unwrap();
    let used = |text: &str, id: u32| text.lines().any(|l| l.split(':').nth(2) == Some(&id.to_string()));
    let id = (64000..65000)
        .find(|&id| !used(&passwd, id) && !used(&group, id))
        .unwrap();
    let files = vec![
        NodeFile {
            target: "/etc/passwd",
            content: format!("{passwd}{USER}:x:{id}:{id}:smbgw HA test:/nonexistent:/usr/sbin/nologin\n"),
        },
        NodeFile {
            target: "/etc/group",
            content: format!("{group}{USER}:x:{id}:\n"),
        },
    ];
    (files, id)
}

impl Lab {
    fn up(cfg: HaConfig) -> Lab {
        let t0 = Instant::now();
        let (files, uid) = user_files();
        let c = build_with(&cfg, &files);
        let creds = c.dir.path().join("creds");
        fs::write(
            &creds,
            format!("username = {USER}\npassword = {PASSWORD}\ndomain = SMBGWHA\n"),
        )
        .unwrap();
        fs::create_dir_all(c.dir.path().join("client")).unwrap();
        let data = c.cluster_fs().join(SHARE);
        fs::create_dir_all(&data).unwrap();
        sh(&format!(
            "chown {uid}:{uid} {} && chmod 0770 {}",
            data.display(),
            data.display()
        ));
        let mut lab = Lab {
            c,
            cfg,
            creds,
            smbd: vec![(0, 0); N],
            last_move: Instant::now() - AFTER_MOVE,
            files: 0,
        };
        if lab.cfg.lock == LockSpec::Corosync {
            let t = lab.c.start_corosync();
            println!("corosync (token {} ms) quorate with 3 nodes after {t:.1} s", token_ms());
        }
        for i in 1..=N {
            lab.c.start_ctdbd(i);
        }
        let ctdb1 = lab.c.ctdb(1);
        let cfg = lab.cfg.clone();
        wait("CTDB healthy with a leader", Duration::from_secs(90), || {
            status::status(&ctdb1, Some(&cfg)).is_ok_and(|s| s.healthy && s.leader.is_some())
        });
        println!("CTDB healthy after {:.1} s", t0.elapsed().as_secs_f64());

        // the user, added once on n1: the passdb is clustered, so the other nodes see it
        for i in 1..=N {
            lab.write_smb_conf(i);
        }
        let conf = lab.smb_conf(1).display().to_string();
        let out = lab.run_on(1, &["testparm", "-s", &conf], None);
        assert!(out.0, "testparm: {}", out.1);
        let out = lab.run_on(
            1,
            &["pdbedit", "-s", &conf, "-a", "-t", "-u", USER],
            Some(format!("{PASSWORD}\n{PASSWORD}\n")),
        );
        assert!(out.0, "pdbedit -a: {}", out.1);
        for i in 2..=N {
            let conf = lab.smb_conf(i).display().to_string();
            let out = lab.run_on(i, &["pdbedit", "-s", &conf, "-L"], None);
            assert!(
                out.0 && out.1.lines().any(|l| l.starts_with(&format!("{USER}:{uid}:"))),
                "n{i} does not see the user added on n1 (passdb not clustered?): {}",
                out.1
            );
        }
        lab.settle();
        println!("Samba up on 3 nodes after {:.1} s", t0.elapsed().as_secs_f64());
        lab
    }

    fn smb_dir(&self, i: usize) -> PathBuf {
        self.c.node_dir(i).join("smb")
    }

    fn smb_conf(&self, i: usize) -> PathBuf {
        self.smb_dir(i).join("smb.conf")
    }

    fn write_smb_conf(&self, i: usize) {
        let d = self.smb_dir(i);
        for sub in ["private", "lock", "state", "cache", "pid", "log", "ncalrpc"] {
            fs::create_dir_all(d.join(sub)).unwrap();
        }
        let mut conf = String::from("[global]\n");
        for (k, v) in render::SMB_GLOBALS {
            conf.push_str(&format!("\t{k} = {v}\n"));
        }
        conf.push_str(&format!(
            "\tnetbios name = SMBGWHA\n\tworkgroup = SMBGWHA\n\tserver role = standalone server\n\
             \tdisable netbios = yes\n\tsmb ports = 445\n\tprivate dir = {d}/private\n\
             \tlock directory = {d}/lock\n\tstate directory = {d}/state\n\tcache directory = {d}/cache\n\
             \tpid directory = {d}/pid\n\tncalrpc dir = {d}/ncalrpc\n\tlog file = {d}/log/log.%m\n\
             \tpassdb backend = tdbsam\n\tload printers = no\n\tprinting = bsd\n\tprintcap name = /dev/null\n\
             \tdisable spoolss = yes\n\n[{SHARE}]\n\tpath = {CLUSTER_FS}/{SHARE}\n\tread only = no\n\
             \tvalid users = {USER}\n",
            d = d.display()
        ));
        fs::write(self.smb_conf(i), conf).unwrap();
    }

    /// Run a tool on node i; (success, stdout + stderr).
    fn run_on(&self, i: usize, argv: &[&str], stdin: Option<String>) -> (bool, String) {
        let mut cmd = self.c.on(i, argv[0]);
        cmd.args(&argv[1..])
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        if let Some(input) = stdin {
            std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes()).unwrap();
        }
        let out = child.wait_with_output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    /// Kill node i's smbd and everything it started (samba-dcerpcd re-parents to PID 1 and
    /// is found by its --configfile).
    fn kill_smbd(&self, i: usize) {
        let conf = self.smb_conf(i).display().to_string();
        wait("node's Samba processes to exit", Duration::from_secs(10), || {
            let pids: Vec<u32> = pids_with_arg(&conf).into_iter().filter(|&p| alive(p)).collect();
            for &pid in &pids {
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            }
            pids.is_empty()
        });
    }

    fn start_smbd(&mut self, i: usize) {
        self.kill_smbd(i);
        let conf = self.smb_conf(i).display().to_string();
        let pid = self.c.spawn(
            i,
            "smbd.log",
            &["smbd", "-F", "--no-process-group", "--debug-stdout", "-d1", "-s", &conf],
        );
        self.smbd[i - 1] = (pid, self.c.ctdbd[i - 1]);
    }

    /// smbclient from the client namespace to `server`, bounded by `secs`.
    fn smbclient(&self, server: &str, cmd: &str, secs: u32) -> std::process::Command {
        let mut c = std::process::Command::new("ip");
        c.args([
            "netns",
            "exec",
            &self.c.ns("cl"),
            "timeout",
            "-k",
            "1",
            &secs.to_string(),
        ])
        .args([
            "smbclient",
            &format!("//{server}/{SHARE}"),
            "-s",
            "/dev/null",
            "-m",
            "SMB3",
        ])
        .arg("-A")
        .arg(&self.creds)
        .args(["-c", cmd])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        c
    }

    fn client_path(&self, name: &str) -> PathBuf {
        self.c.dir.path().join("client").join(name)
    }

    /// Write a new file through `server`; its name and content.
    fn put(&mut self, server: &str) -> (String, Vec<u8>) {
        self.files += 1;
        let name = format!("f{}.bin", self.files);
        let data = content(self.files, 64 * 1024);
        let local = self.client_path(&name);
        fs::write(&local, &data).unwrap();
        let out = self
            .smbclient(server, &format!("put {} {name}", local.display()), 20)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "put {name} via {server}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (name, data)
    }

    fn get(&self, server: &str, name: &str, tag: &str) -> Option<Vec<u8>> {
        let local = self.client_path(&format!("{name}.{tag}"));
        let _ = fs::remove_file(&local);
        let ok = self
            .smbclient(server, &format!("get {name} {}", local.display()), 10)
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            fs::read(&local).ok()
        } else {
            None
        }
    }

    /// Until `stop` or `limit`: an smbclient `get name` every 250 ms (several in flight, each
    /// bounded to 3 s); the time since `t0` at which the first returned `data`, and the
    /// number of attempts that had failed before.
    fn read_until_ok(
        &self,
        t0: Instant,
        name: &str,
        data: &[u8],
        limit: Duration,
        stop: &AtomicBool,
    ) -> (Option<f64>, usize) {
        let mut running: Vec<(Child, PathBuf)> = Vec::new();
        let mut next = Instant::now();
        let (mut k, mut failed) = (0, 0);
        let mut result = None;
        while result.is_none() && t0.elapsed() < limit && !stop.load(Ordering::SeqCst) {
            if Instant::now() >= next && running.len() < 12 {
                k += 1;
                let local = self.client_path(&format!("{name}.probe{k}"));
                let child = self
                    .smbclient(VIP_A, &format!("get {name} {}", local.display()), 3)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                running.push((child, local));
                next = Instant::now() + Duration::from_millis(250);
            }
            let mut still = Vec::new();
            for (mut child, local) in running {
                match child.try_wait().unwrap() {
                    None => still.push((child, local)),
                    Some(st) => {
                        if st.success() && fs::read(&local).is_ok_and(|d| d == data) {
                            result.get_or_insert(t0.elapsed().as_secs_f64());
                        } else if result.is_none() {
                            failed += 1;
                        }
                        let _ = fs::remove_file(&local);
                    }
                }
            }
            running = still;
            std::thread::sleep(Duration::from_millis(20));
        }
        for (mut child, local) in running {
            let _ = child.kill();
            let _ = child.wait();
            let _ = fs::remove_file(&local);
        }
        (result, failed)
    }

    fn observer(&self, not: &[usize]) -> usize {
        (1..=N).find(|i| !not.contains(i)).unwrap()
    }

    fn leader(&self) -> usize {
        status::status(&self.c.ctdb(1), None).unwrap().leader.expect("a leader") as usize + 1
    }

    fn holder(&self, vip: &str) -> usize {
        let on = self.c.vip_on(vip);
        assert_eq!(on.len(), 1, "{vip} on {on:?}");
        on[0]
    }

    /// Write a file through VIP A, do `action` (which returns the node VIP A leaves), then
    /// measure until the client reaches VIP A on another node and reads the file back
    /// through it.
    fn measure(&mut self, limit: Duration, action: impl FnOnce(&Lab) -> usize) -> Outcome {
        let (name, data) = self.put(VIP_A);
        let wait_more = AFTER_MOVE.saturating_sub(self.last_move.elapsed());
        std::thread::sleep(wait_more);
        let lab = &*self;
        let t0 = Instant::now();
        let from = action(lab);
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            let reader = s.spawn(|| lab.read_until_ok(t0, &name, &data, limit, &stop));
            let mut o = Outcome {
                from,
                ..Outcome::default()
            };
            while t0.elapsed() < limit {
                if o.to.is_none() {
                    o.to = (1..=N).find(|&i| i != from && lab.c.has_vip(i, VIP_A));
                }
                if let (Some(to), None) = (o.to, o.reach) {
                    if lab.c.client_reaches_via(VIP_A, to) {
                        o.reach = Some(t0.elapsed().as_secs_f64());
                    }
                }
                if o.reach.is_some() && reader.is_finished() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            stop.store(true, Ordering::SeqCst);
            (o.read, o.failed_reads) = reader.join().unwrap();
            o
        })
    }

    /// Planned move (`ha-failover`, status::failover) of VIP A to node `to`.
    fn planned_move(&mut self, to: usize) -> Outcome {
        let o = self.measure(Duration::from_secs(30), |lab| {
            let from = lab.holder(VIP_A);
            let ctdb = lab.c.ctdb(from);
            let secs = status::failover(&ctdb, VIP_A.parse().unwrap(), (to - 1) as u32).unwrap();
            println!("  ha-failover: CTDB reports n{to} after {secs:.2} s");
            from
        });
        self.last_move = Instant::now();
        o
    }

    /// VIP A onto a node that `fits` (unmeasured), then past the takeover-run window.
    fn place(&mut self, fits: impl Fn(usize) -> bool) {
        let from = self.holder(VIP_A);
        if fits(from) {
            return;
        }
        let to = (1..=N).find(|&i| fits(i)).unwrap();
        status::failover(&self.c.ctdb(from), VIP_A.parse().unwrap(), (to - 1) as u32).unwrap();
        wait("VIP A on its new node", Duration::from_secs(10), || {
            self.c.vip_on(VIP_A) == [to]
        });
        self.last_move = Instant::now();
    }

    /// kill -9 of node i's ctdbd and its bridge port down (= the node died).
    fn crash(&mut self, i: usize, limit: Duration) -> Outcome {
        self.measure(limit, |lab| {
            unsafe { libc::kill(lab.c.ctdbd[i - 1] as i32, libc::SIGKILL) };
            lab.c.set_port(i, false);
            i
        })
    }

    /// Node i's bridge port down; its daemons keep running (= cut off).
    fn partition(&mut self, i: usize, limit: Duration) -> Outcome {
        self.measure(limit, |lab| {
            lab.c.set_port(i, false);
            i
        })
    }

    /// Everything back: every port up, ctdbd and smbd running on every node (restarted where
    /// they died or where ctdbd was restarted under smbd), CTDB healthy with one leader, each
    /// VIP on exactly one node's eth0 where CTDB says, stable for 2 s, smbd serving on every
    /// node's own address.
    fn settle(&mut self) -> f64 {
        let t0 = Instant::now();
        for i in 1..=N {
            self.c.set_port(i, true);
        }
        let limit = Duration::from_secs(150);
        let mut restarted_all = false;
        loop {
            for i in 1..=N {
                if !alive(self.c.ctdbd[i - 1]) {
                    self.c.start_ctdbd(i);
                }
            }
            let wanted = t0.elapsed() < Duration::from_secs(75);
            let ok = wait_quietly(if wanted { Duration::from_secs(75) } else { limit }, || {
                self.unban();
                self.consistent()
            });
            if ok {
                // stays that way (a rejoined node may get a VIP moved back to it)
                std::thread::sleep(Duration::from_secs(2));
                if self.consistent() {
                    break;
                }
                continue;
            }
            assert!(
                !restarted_all,
                "the cluster did not settle in {limit:?}:\n{}",
                self.diagnose()
            );
            println!(
                "  (not settled after {:.0} s: restarting ctdbd everywhere)\n{}",
                t0.elapsed().as_secs_f64(),
                self.diagnose()
            );
            for i in 1..=N {
                unsafe { libc::kill(self.c.ctdbd[i - 1] as i32, libc::SIGKILL) };
            }
            wait("the killed ctdbd to go", Duration::from_secs(10), || {
                self.c.ctdbd.iter().all(|&p| !alive(p))
            });
            restarted_all = true;
        }
        let mut restarted = Vec::new();
        for i in 1..=N {
            let (pid, under) = self.smbd[i - 1];
            if pid == 0 || !alive(pid) || under != self.c.ctdbd[i - 1] {
                self.start_smbd(i);
                restarted.push(i);
            }
        }
        for i in restarted {
            let addr = format!("10.99.40.{i}");
            let mut last = String::new();
            let serving = |last: &mut String| {
                let out = self.smbclient(&addr, "ls", 5).output().unwrap();
                *last = format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
                out.status.success()
            };
            if !wait_quietly(Duration::from_secs(30), || serving(&mut last)) {
                println!("  (n{i}'s smbd does not serve after 30 s: restarted) {last}");
                self.start_smbd(i);
            }
            let ok = wait_quietly(Duration::from_secs(30), || {
                let out = self.smbclient(&addr, "ls", 5).output().unwrap();
                last = format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
                out.status.success()
            });
            assert!(
                ok,
                "n{i}'s smbd does not serve the share after 30 s: {last}\nsmbd.log:\n{}",
                self.c.log(i, "smbd.log")
            );
        }
        t0.elapsed().as_secs_f64()
    }

    fn consistent(&self) -> bool {
        self.c.consistent(&self.cfg)
    }

    /// A node cut off while it led can come back BANNED (CTDB bans a node that keeps failing
    /// recoveries, for 300 s by default): lift that, or the next run would wait minutes.
    fn unban(&self) {
        if let Some(st) = (1..=N).find_map(|i| status::status(&self.c.ctdb(i), None).ok()) {
            for n in st.nodes.iter().filter(|n| n.flags.iter().any(|f| f == "BANNED")) {
                println!("  (n{} is banned after the heal: ctdb unban)", n.pnn + 1);
                let _ = self.c.ctdb(n.pnn as usize + 1).run(&["unban"]);
            }
        }
    }

    fn diagnose(&self) -> String {
        let mut s = String::new();
        for i in 1..=N {
            let log = self.c.log(i, "ctdbd.log");
            let tail: Vec<&str> = log.lines().rev().take(12).collect();
            s.push_str(&format!(
                "n{i}: ctdbd alive {} status {:?}\n  VIP A on {:?}, VIP B on {:?}\n  ctdbd.log: ...\n    {}\n",
                alive(self.c.ctdbd[i - 1]),
                status::status(&self.c.ctdb(i), Some(&self.cfg)).map(|s| (
                    s.healthy,
                    s.leader,
                    s.nodes.iter().map(|n| n.state.clone()).collect::<Vec<_>>()
                )),
                self.c.vip_on(VIP_A),
                self.c.vip_on(VIP_B),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n    ")
            ));
        }
        s
    }
}

#[test]
fn clustered_samba_survives_failover() {
    let t_all = Instant::now();
    let mut lab = Lab::up(ha_config());

    // every node serves the same share with the same user and data
    let (name, data) = lab.put(VIP_A);
    for i in 1..=N {
        let got = lab.get(&format!("10.99.40.{i}"), &name, &format!("n{i}"));
        assert_eq!(got.as_deref(), Some(&data[..]), "{name} through n{i}'s own address");
    }
    assert_eq!(fs::read(lab.c.cluster_fs().join(SHARE).join(&name)).unwrap(), data);

    // planned move onto a node that is neither leader nor holder
    let leader = lab.leader();
    let holder = lab.holder(VIP_A);
    let x = (1..=N).find(|&i| i != leader && i != holder).unwrap();
    let o = lab.planned_move(x);
    println!("PLANNED MOVE (ha-failover) of {VIP_A}: {}", o.show());
    assert_eq!(o.to, Some(x));
    assert!(
        o.read.is_some(),
        "no smbclient command succeeded after the planned move"
    );

    // (a) the holder dies: kill -9 of its ctdbd and its port down
    let o = lab.crash(x, Duration::from_secs(60));
    println!("CRASH of holder n{x} (kill -9 ctdbd + link down): {}", o.show());
    assert!(o.reach.is_some(), "{VIP_A} never answered from a survivor");
    assert!(
        o.read.is_some(),
        "the file written before the crash was not read back through the VIP"
    );
    let t = lab.settle();
    println!("n{x} restarted, cluster settled after {t:.1} s");

    // (b) the leader is cut off, holding VIP A
    let leader = lab.leader();
    lab.place(|i| i == leader);
    let o = lab.partition(leader, Duration::from_secs(60));
    println!("PARTITION of leader + holder n{leader}: {}", o.show());
    assert!(o.reach.is_some(), "{VIP_A} never answered from a survivor");
    assert!(
        o.read.is_some(),
        "the file written before the partition was not read back through the VIP"
    );
    let survivor = lab.observer(&[leader]);
    let new_leader = status::status(&lab.c.ctdb(survivor), None).unwrap().leader;
    assert!(
        new_leader.is_some_and(|l| l as usize + 1 != leader),
        "the survivors have no new leader: {new_leader:?}"
    );
    println!("test part done after {:.1} s", t_all.elapsed().as_secs_f64());

    if let Some(out) = std::env::var_os("SMBGW_HA_BENCH") {
        let t = lab.settle();
        println!("n{leader} reconnected, cluster settled after {t:.1} s");
        bench(lab, PathBuf::from(out));
    }
}

// ---- bench (SMBGW_HA_BENCH=FILE) -----------------------------------------------------------

#[derive(Default)]
struct Figures {
    crash: Vec<f64>,
    nonleader: Vec<f64>,
    leader: Vec<f64>,
    planned: Vec<f64>,
    resume: Vec<f64>,
}

/// Runs of each failover kind on `lab`; a failover that does not happen within its limit
/// counts as the limit.
fn rounds(lab: &mut Lab, runs: usize, what: &str, leader_limit: Duration) -> Figures {
    let mut f = Figures::default();
    let ms = |t: Option<f64>, limit: Duration| t.unwrap_or(limit.as_secs_f64()) * 1000.0;
    let long = Duration::from_secs(60);
    for run in 1..=runs {
        let t_run = Instant::now();
        // planned move onto a non-leader
        let leader = lab.leader();
        let holder = lab.holder(VIP_A);
        let x = (1..=N).find(|&i| i != leader && i != holder).unwrap();
        let o = lab.planned_move(x);
        println!("[{what} {run}] planned move: {}", o.show());
        f.planned.push(ms(o.read, Duration::from_secs(30)));

        // that non-leader holder cut off
        let o = lab.partition(x, long);
        println!("[{what} {run}] non-leader n{x} cut off: {}", o.show());
        f.nonleader.push(ms(o.reach, long));
        lab.settle();

        // a non-leader holder crashes
        let leader = lab.leader();
        lab.place(|i| i != leader);
        let y = lab.holder(VIP_A);
        let o = lab.crash(y, long);
        println!("[{what} {run}] crash of non-leader n{y}: {}", o.show());
        f.crash.push(ms(o.reach, long));
        f.resume.push(ms(o.read, long));
        lab.settle();

        // the leader (holding VIP A) cut off
        let leader = lab.leader();
        lab.place(|i| i == leader);
        let o = lab.partition(leader, leader_limit);
        println!("[{what} {run}] leader n{leader} cut off: {}", o.show());
        f.leader.push(ms(o.reach, leader_limit));
        lab.settle();
        println!("[{what} {run}] round took {:.0} s", t_run.elapsed().as_secs_f64());
    }
    f
}

fn bench(mut ours: Lab, out: PathBuf) {
    let runs: usize = std::env::var("SMBGW_HA_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let leader_limit = Duration::from_secs(45);
    let t = Instant::now();
    let a = rounds(&mut ours, runs, "ours", Duration::from_secs(30));
    drop(ours);
    println!("ours: {runs} rounds in {:.0} s", t.elapsed().as_secs_f64());

    // CTDB's defaults: KeepaliveInterval=5, KeepaliveLimit=5 and an fcntl lock file in a
    // directory every node shares (on this machine a local one, as CTDB users typically do)
    let defaults = Tunables {
        keepalive_interval: 5,
        keepalive_limit: 5,
        extra: Default::default(),
    };
    let lock = LockSpec::File(PathBuf::from(format!("{CLUSTER_FS}/ctdb.reclock")));
    let t = Instant::now();
    let mut base = Lab::up(ha_config_with(lock, defaults));
    let b = rounds(&mut base, runs, "defaults", leader_limit);
    drop(base);
    println!("defaults: {runs} rounds in {:.0} s", t.elapsed().as_secs_f64());

    let list = |v: &[f64]| v.iter().map(|x| format!("{x:.0}")).collect::<Vec<_>>().join(" ");
    let never = |v: &[f64]| v.iter().any(|&x| x >= leader_limit.as_secs_f64() * 1000.0);
    let leader_label = if never(&b.leader) {
        format!("ha leader cut off -> VIP (never = {} s waited)", leader_limit.as_secs())
    } else {
        "ha leader cut off -> client reaches VIP".to_string()
    };
    let text = format!(
        "ha crash of a non-leader (kill -9+link down) -> VIP|{}|{}\n\
         ha non-leader cut off -> client reaches VIP|{}|{}\n\
         {leader_label}|{}|{}\n\
         ha planned move -> next smbclient succeeds|{}|{}\n\
         ha SMB read through VIP resumes after crash|{}|{}\n",
        list(&a.crash),
        list(&b.crash),
        list(&a.nonleader),
        list(&b.nonleader),
        list(&a.leader),
        list(&b.leader),
        list(&a.planned),
        list(&b.planned),
        list(&a.resume),
        list(&b.resume),
    );
    print!("BENCH ({out:?}):\n{text}");
    fs::write(&out, text).unwrap();
}
