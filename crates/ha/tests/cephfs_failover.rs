//! HA over CephFS, for real (issue #16 item 5): the 3-node CTDB + corosync cluster of
//! common/mod.rs, each node with its OWN ceph-fuse mount of one real CephFS (the Ceph fixture
//! crates/cli/tests/common/ceph.rs) at the same path, /mnt/pve/cephfs, as PVE mounts a cephfs
//! storage on every node. The share is made by the gateway's CLI (common/gateway.rs: sandbox mode
//! per node, cluster-wide config shared like /etc/pve): no hand-written smb.conf.
//!
//! A client that only talks to the VIP writes one file per smbclient connection and logs every
//! write that was acknowledged; the VIP holder crashes (kill -9 of ctdbd and smbd, its link
//! down); the client reconnects through the VIP, and every acknowledged file must read back
//! byte for byte through the VIP from a survivor and on the CephFS itself. A second test lets
//! the whole node die (its ceph-fuse too): the writes resume because the leader fences the dead
//! node (its CephFS client evicted and blocklisted by the gateway's CTDB event script) long
//! before the MDS would give up the dead client's session; Ceph is asked that it did. A third
//! makes a quota and a snapshot on one node and uses them through the others.
//!
//! Each node's mount namespace (anchored by the harness) gets a tmpfs on /mnt, so
//! /mnt/pve/cephfs exists per node without touching the host's /mnt.
//!
//! Bench mode (`SMBGW_HA_BENCH=FILE`, scripts/bench.sh `phase_ha_cephfs`): the crash tests add
//! their figures, and `failover_figures_on_cephfs_bench` (which returns at once otherwise)
//! measures a planned move, the leader cut off beside corosync's own membership change, and
//! kill -9 of the active MDS beside Ceph's own failover, on the same kind of lab.

mod common;

#[path = "../../cli/tests/common/ceph.rs"]
mod ceph;
#[path = "common/gateway.rs"]
mod gateway;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ceph::Ceph;
use common::*;
use gateway::Gateway;
use smbgw_ha::render;
use smbgw_ha::status;

/// Every node's CephFS mount (PVE: /mnt/pve/<storage id>).
const MNT: &str = "/mnt/pve/cephfs";
const STORAGE: &str = "cephfs";
const SHARE: &str = "cephdata";
const USER: &str = "cfsuser";
const PASSWORD: &str = "Ceph-HA-pw1!";

/// Where a share goes: on the cluster's CephFS storage, the gateway making its directory
/// (`<path>/smbgateway/<name>`).
fn placement() -> Vec<String> {
    vec!["--storage".into(), STORAGE.into()]
}

/// storage.cfg of the cluster as PVE writes it for a CephFS storage (read by `--storage`).
fn storage_cfg() -> String {
    format!("cephfs: {STORAGE}\n\tpath {MNT}\n\tcontent backup,iso,vztmpl\n\tfs-name cephfs\n")
}

/// The client: smbclient from the client netns, one connection per command.
#[derive(Clone)]
struct Client {
    share: String,
    netns: String,
    creds: PathBuf,
    dir: PathBuf,
}

impl Client {
    fn run(&self, server: &str, cmd: &str, secs: u32) -> Result<String, String> {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.netns, "timeout", "-k", "1", &secs.to_string()])
            .args([
                "smbclient",
                &format!("//{server}/{}", self.share),
                "-s",
                "/dev/null",
                "-m",
                "SMB3",
            ])
            .arg("-A")
            .arg(&self.creds)
            .args(["-c", cmd])
            .stdin(Stdio::null())
            .output()
            .unwrap();
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

    fn put(&self, server: &str, name: &str, data: &[u8], secs: u32) -> Result<String, String> {
        let local = self.dir.join(name);
        fs::write(&local, data).unwrap();
        let r = self.run(server, &format!("put {} {name}", local.display()), secs);
        let _ = fs::remove_file(&local);
        r
    }

    fn get(&self, server: &str, name: &str) -> Result<Vec<u8>, String> {
        let local = self.dir.join(format!("{name}.read"));
        let _ = fs::remove_file(&local);
        self.run(server, &format!("get {name} {}", local.display()), 20)?;
        let data = fs::read(&local).map_err(|e| e.to_string());
        let _ = fs::remove_file(&local);
        data
    }
}

/// Kill -9 node i's Samba processes (smbd, samba-dcerpcd and its rpcd_* workers).
fn kill_samba(c: &Cluster, i: usize) -> usize {
    let mut killed = 0;
    for _ in 0..50 {
        let pids: Vec<u32> = c
            .netns_pids(i)
            .into_iter()
            .filter(|&p| {
                alive(p)
                    && fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|comm| {
                        let comm = comm.trim();
                        comm == "smbd" || comm == "samba-dcerpcd" || comm.starts_with("rpcd_")
                    })
            })
            .collect();
        if pids.is_empty() {
            break;
        }
        for &p in &pids {
            unsafe { libc::kill(p as i32, libc::SIGKILL) };
        }
        killed += pids.len();
        std::thread::sleep(Duration::from_millis(50));
    }
    killed
}

/// Ceph, the HA cluster with the share made by the CLI, and the client. Fields drop in order:
/// the HA cluster (its nodes' ceph-fuse with it) before the Ceph cluster.
struct Lab {
    c: Cluster,
    gw: Gateway,
    client: Client,
    /// The fixture's own mount of the CephFS (root mount namespace): what is really stored.
    check: PathBuf,
    ceph: Ceph,
    t_all: Instant,
}

impl Lab {
    fn up() -> Lab {
        let t_all = Instant::now();
        // the Ceph cluster starts while the HA cluster is built
        let ceph: Ceph;
        let starting = std::thread::spawn(Ceph::start);
        let cfg = ha_config();
        let mut c = build(&cfg);
        let t = c.start_corosync();
        println!("corosync quorate after {t:.1} s");
        for i in 1..=N {
            c.start_ctdbd(i);
        }
        let ctdb1 = c.ctdb(1);
        wait("CTDB healthy with a leader", Duration::from_secs(90), || {
            status::status(&ctdb1, Some(&cfg)).is_ok_and(|s| s.healthy && s.leader.is_some())
        });
        println!("CTDB healthy after {:.1} s", t_all.elapsed().as_secs_f64());
        ceph = starting.join().unwrap_or_else(|e| std::panic::resume_unwind(e));

        // every node mounts the one CephFS itself, at the same path
        for i in 1..=N {
            let st = c
                .on(i, "sh")
                .args([
                    "-c",
                    &format!("mount -t tmpfs -o mode=0755 smbgw-mnt /mnt && mkdir -p {MNT}"),
                ])
                .status()
                .unwrap();
            assert!(st.success(), "tmpfs on n{i}'s /mnt");
            ceph.mount_in(c.anchors[i - 1], Path::new(MNT));
        }
        // the fixture's own view of the CephFS (root mount namespace), to check what is stored
        let check = ceph.dir.path().join("mnt-check");
        ceph.mount(None, &check);
        println!("CephFS mounted on 3 nodes after {:.1} s", t_all.elapsed().as_secs_f64());

        // the gateway: HA set up once, the user and the share made on n1, applied everywhere
        let gw = Gateway::new(&c);
        gw.write_shared("pve/storage.cfg", &storage_cfg());
        // the cluster runs Ceph: PVE's ceph.conf on pmxcfs (the fixture's, naming its admin
        // keyring), which makes the gateway render its fencing event script
        gw.write_shared("pve/ceph.conf", &fs::read_to_string(ceph.conf()).unwrap());
        gw.ok(
            &c,
            1,
            &[
                "ha-setup",
                "--nodes",
                "n1=10.99.40.1,n2=10.99.40.2,n3=10.99.40.3",
                "--vip",
                &format!("{VIP_A}/24,{VIP_B}/24"),
                "--interface",
                "eth0",
                // what the harness's ctdbd runs (common/mod.rs); with Ceph the default is RADOS
                "--lock",
                "corosync",
            ],
        );
        let r = gw.run_with_stdin(
            &c,
            1,
            &["user", "add", USER, "--password-stdin"],
            &format!("{PASSWORD}\n"),
        );
        assert_eq!(r.code, 0, "user add: {}{}", r.stdout, r.stderr);
        let place = placement();
        if place[0] == "--path" {
            // an explicit directory is the admin's to make (--storage makes its own)
            let st = c.on(1, "mkdir").args(["-p", &place[1]]).status().unwrap();
            assert!(st.success());
        }
        let mut args = vec!["create", SHARE, "--users", USER];
        args.extend(place.iter().map(String::as_str));
        gw.ok(&c, 1, &args);
        for i in 2..=N {
            gw.ok(&c, i, &["apply"]);
            gw.start_smbd(&c, i);
        }
        for i in 1..=N {
            let conf = fs::read_to_string(c.node_dir(i).join("run/smbgw-root/samba/smb.conf")).unwrap();
            assert!(conf.contains("clustering = yes"), "n{i} smb.conf:\n{conf}");
            // the fencing event script the gateway rendered into its CTDB config dir goes where
            // this node's ctdbd reads its event scripts (ha-setup writes /etc/ctdb on a host)
            let rel = render::fence_script_path();
            let script = c.node_dir(i).join("run/smbgw-root/ctdb").join(&rel);
            let installed = c.node_dir(i).join("etc-ctdb").join(&rel);
            fs::copy(&script, &installed)
                .unwrap_or_else(|e| panic!("n{i}: no fencing script {} rendered: {e}", script.display()));
        }

        let client_dir = c.dir.path().join("client");
        fs::create_dir_all(&client_dir).unwrap();
        let creds = c.dir.path().join("creds");
        fs::write(&creds, format!("username = {USER}\npassword = {PASSWORD}\n")).unwrap();
        let client = Client {
            share: SHARE.into(),
            netns: c.ns("cl"),
            creds,
            dir: client_dir,
        };

        // one file written through n1's own address reads back through each node's own address:
        // three mounts, one filesystem
        let probe = content(0, 48 * 1024);
        let mut last = String::new();
        let ok = (0..100).any(|_| {
            match client.put("10.99.40.1", "probe.bin", &probe, 10) {
                Ok(_) => return true,
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(300));
            false
        });
        assert!(ok, "n1 does not serve the share: {last}");
        for i in 1..=N {
            let mut got = client.get(&format!("10.99.40.{i}"), "probe.bin");
            for _ in 0..50 {
                if got.is_ok() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(300));
                got = client.get(&format!("10.99.40.{i}"), "probe.bin");
            }
            if got.as_deref().ok() != Some(&probe[..]) {
                let log = fs::read_to_string(c.node_dir(i).join("run/smbgw-root/log/smbd.log")).unwrap_or_default();
                panic!(
                    "probe.bin through n{i}: {:?}\nstatus: {}\nsmbd.log: {}",
                    got.map(|d| d.len()),
                    gw.run_with_stdin(&c, i, &["status"], "").stdout,
                    &log[log.len().saturating_sub(3000)..]
                );
            }
        }
        assert_eq!(
            fs::read(check.join("smbgateway").join(SHARE).join("probe.bin")).unwrap(),
            probe
        );
        println!("share served by 3 nodes after {:.1} s", t_all.elapsed().as_secs_f64());
        Lab {
            c,
            gw,
            client,
            check,
            ceph,
            t_all,
        }
    }
}

/// The client writes through VIP A while its holder crashes; with `node_death` the node's
/// CephFS client dies too (its ceph-fuse killed -9, its link to Ceph down), as when the whole
/// machine fails. Every acknowledged write must read back afterwards.
fn crash_test(node_death: bool) {
    let lab = Lab::up();
    let (c, client, check, t_all) = (&lab.c, &lab.client, &lab.check, lab.t_all);
    // the client writes through VIP A, one connection per file, logging what was acknowledged
    let holder = {
        let on = c.vip_on(VIP_A);
        assert_eq!(on.len(), 1, "{VIP_A} on {on:?}");
        on[0]
    };
    // the dead node's client must be fenced: every node registered its own CephFS client, and
    // the MDS would keep a dead client's caps for 300 s without fencing
    let fencing = node_death.then(|| {
        lab.ceph
            .ceph(&["fs", "set", ceph::FS, "session_timeout", &SESSION_TIMEOUT.to_string()]);
        let t = wait(
            "every node registering its CephFS client for fencing",
            Duration::from_secs(60),
            || (1..=N).all(|i| registered(&lab.gw, i).is_some()),
        );
        let sessions = mds_sessions(&lab.ceph);
        let addrs: Vec<String> = (1..=N)
            .map(|i| lab.ceph.attach(&c.anchors[i - 1].to_string()))
            .collect();
        for i in 1..=N {
            let mut by_addr: Vec<u64> = sessions
                .iter()
                .filter(|(_, inst)| from_addr(inst, &addrs[i - 1]))
                .map(|(id, _)| *id)
                .collect();
            by_addr.sort();
            assert_eq!(
                registered(&lab.gw, i),
                Some(by_addr),
                "n{i} registered other clients than the MDS sees from its address {}: {sessions:?}",
                addrs[i - 1]
            );
        }
        println!("every node registered its CephFS client after {t:.1} s; MDS session_timeout {SESSION_TIMEOUT} s");
        addrs
    });
    // (name, when its put started, when it was acknowledged)
    let acked: Mutex<Vec<(String, Instant, Instant)>> = Mutex::new(Vec::new());
    let failed = Mutex::new(Vec::<String>::new());
    let stop = AtomicBool::new(false);
    let first_after = std::thread::scope(|s| {
        s.spawn(|| {
            let mut k = 0;
            while !stop.load(Ordering::SeqCst) {
                k += 1;
                let name = format!("w{k:04}.bin");
                let started = Instant::now();
                match client.put(VIP_A, &name, &content(k, 48 * 1024), 5) {
                    Ok(_) => acked.lock().unwrap().push((name, started, Instant::now())),
                    Err(e) => {
                        failed.lock().unwrap().push(name);
                        if e.contains("NT_STATUS_ACCESS_DENIED") || e.contains("NT_STATUS_LOGON_FAILURE") {
                            panic!("write refused (not a failover symptom): {e}");
                        }
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            }
        });
        let count = || acked.lock().unwrap().len();
        wait(
            "10 acknowledged writes before the crash",
            Duration::from_secs(60),
            || count() >= 10,
        );

        // the holder crashes: ctdbd and smbd killed, its link down
        let t0 = Instant::now();
        // smbd first: it exits by itself once its ctdbd is gone, which would hide the kill
        let killed = kill_samba(c, holder);
        assert!(killed >= 1, "no smbd on n{holder}, which held {VIP_A}");
        unsafe { libc::kill(c.ctdbd[holder - 1] as i32, libc::SIGKILL) };
        c.set_port(holder, false);
        let mut what = format!("kill -9 of {killed} Samba processes and ctdbd, link down");
        if node_death {
            let fuse: Vec<u32> = c
                .netns_pids(holder)
                .into_iter()
                .filter(|&p| fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|x| x.trim() == "ceph-fuse"))
                .collect();
            for &p in &fuse {
                unsafe { libc::kill(p as i32, libc::SIGKILL) };
            }
            let st = c
                .on(holder, "ip")
                .args(["link", "set", "ceph0", "down"])
                .status()
                .unwrap();
            assert!(st.success() && fuse.len() == 1, "ceph-fuse of n{holder}: {fuse:?}");
            what.push_str(", its ceph-fuse killed -9 and its link to Ceph down");
        }
        // writes started from here on cannot reach the crashed node's smbd
        let t_down = Instant::now();
        let at_crash = count();
        println!("CRASH of VIP holder n{holder} ({what}) after {at_crash} acknowledged writes");

        let mut moved = None;
        // with fencing, well before the dead client's session would time out
        let limit = if node_death { SESSION_TIMEOUT / 2 } else { 180 };
        let resumed = wait_quietly(Duration::from_secs(limit), || {
            if moved.is_none() {
                moved = (1..=N)
                    .find(|&i| i != holder && c.has_vip(i, VIP_A))
                    .map(|i| (i, t0.elapsed().as_secs_f64()));
            }
            acked.lock().unwrap().iter().filter(|(_, s, _)| *s > t_down).count() >= 10
        });
        stop.store(true, Ordering::SeqCst);
        let first = acked
            .lock()
            .unwrap()
            .iter()
            .find(|(_, s, _)| *s > t_down)
            .map(|(_, _, t)| t.duration_since(t0).as_secs_f64());
        println!(
            "{VIP_A} on n{} +{} s; first write started after the crash acknowledged +{} s",
            moved.map_or(0, |m| m.0),
            moved.map_or("never".into(), |m| format!("{:.2}", m.1)),
            first.map_or("never".into(), |t| format!("{t:.2}"))
        );
        bench_rows(node_death, moved.map(|m| m.1), first);
        assert!(
            resumed,
            "the client's writes through {VIP_A} did not resume within {limit} s of the crash{}; fencing logs:\n{}",
            if node_death {
                " (the MDS keeps the dead client's caps for 300 s unless it is fenced)"
            } else {
                ""
            },
            fence_logs(c)
        );
        first
    });
    if let Some(addrs) = &fencing {
        check_fenced(&lab, holder, addrs);
    }

    // every acknowledged write reads back, byte for byte, through the VIP (a survivor) and on
    // the CephFS itself
    let acked = acked.into_inner().unwrap();
    let failed = failed.into_inner().unwrap();
    println!(
        "{} writes acknowledged, {} failed (not acknowledged: the client knows to retry them)",
        acked.len(),
        failed.len()
    );
    // (the crashed node keeps the address on its dead link: only the survivors count)
    let new_holder: Vec<usize> = c.vip_on(VIP_A).into_iter().filter(|&i| i != holder).collect();
    assert_eq!(new_holder.len(), 1, "{VIP_A} is on survivors {new_holder:?}");
    let dir = check.join("smbgateway").join(SHARE);
    let mut lost = Vec::new();
    for (name, _, _) in &acked {
        let k: usize = name[1..5].parse().unwrap();
        let want = content(k, 48 * 1024);
        let via_vip = client.get(VIP_A, name);
        let stored = fs::read(dir.join(name));
        if via_vip.as_deref().ok() != Some(&want[..]) || stored.as_deref().ok() != Some(&want[..]) {
            lost.push(format!(
                "{name}: via VIP {:?}, on CephFS {:?}",
                via_vip.map(|d| d.len()),
                stored.map(|d| d.len())
            ));
        }
    }
    assert!(
        lost.is_empty(),
        "acknowledged writes lost or changed after the crash of n{holder}:\n{}",
        lost.join("\n")
    );
    // the survivor's gateway still serves the share; Ceph's view of what happened
    let st = lab.gw.ok(c, new_holder[0], &["status"]);
    assert!(st.contains(SHARE), "{st}");
    println!("ceph after the crash: {}", lab.ceph.ceph(&["health", "detail"]).trim());
    println!(
        "all {} acknowledged files read back through {VIP_A} from n{} and on the CephFS; writes resumed +{:.2} s \
         after the crash ({:.1} s in all)",
        acked.len(),
        new_holder[0],
        first_after.unwrap_or(f64::NAN),
        t_all.elapsed().as_secs_f64()
    );
}

/// In bench mode (`SMBGW_HA_BENCH=FILE`, scripts/bench.sh) the figures of a crash go to FILE as
/// `label|ms|baseline ms[|target ms]` rows (no baseline: 0); the target: the VIP answers within
/// 4 s of a crash.
fn bench_rows(node_death: bool, moved: Option<f64>, first: Option<f64>) {
    let Ok(path) = std::env::var("SMBGW_HA_BENCH") else {
        return;
    };
    let event = if node_death {
        "CephFS HA: the VIP holder node dies (+ its ceph-fuse)"
    } else {
        "CephFS HA: crash of the VIP holder (ctdbd, smbd)"
    };
    let ms = |s: Option<f64>| s.map_or(f64::NAN, |s| s * 1000.0);
    let rows = format!(
        "{event}, until the VIP answers|{:.0}|0|4000\n{event}, until writes resume|{:.0}|0\n",
        ms(moved),
        ms(first)
    );
    use std::io::Write;
    let mut f = fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
    f.write_all(rows.as_bytes()).unwrap();
}

#[test]
fn acknowledged_writes_survive_a_crash_on_cephfs() {
    crash_test(false);
}

/// The whole node dies. Its CephFS client held capabilities on the share directory: the MDS
/// lets another client write there only after that session times out (session_timeout, set to
/// 300 s here), so writes through the VIP resume within half of that only because the leader
/// fenced the dead node (CTDB's event script, `ha-fence`): its client evicted and blocklisted,
/// the survivors' clients untouched (asked of Ceph).
#[test]
fn acknowledged_writes_survive_a_node_death_on_cephfs() {
    crash_test(true);
}

/// The MDS session timeout the node-death test sets: without fencing, writes into a directory
/// the dead client had caps on wait that long.
const SESSION_TIMEOUT: u64 = 300;

/// The CephFS client ids node i registered for fencing (`ha-fence`, from CTDB's events).
fn registered(gw: &Gateway, i: usize) -> Option<Vec<u64>> {
    let text = fs::read_to_string(gw.shared.join(format!("config/ha-fence/n{i}.client.json"))).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let mut ids: Vec<u64> = v["clients"].as_array()?.iter().filter_map(|x| x.as_u64()).collect();
    ids.sort();
    Some(ids)
}

/// (id, inst) of every client session of the file system's rank 0, as the MDS sees them.
fn mds_sessions(ceph: &Ceph) -> Vec<(u64, String)> {
    let out = ceph.ceph(&[
        "tell",
        &format!("mds.{}:0", ceph::FS),
        "session",
        "ls",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("session ls: {e}: {out}"));
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_u64().unwrap(),
                s["inst"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// A session's `inst` (`client.4166 v1:10.97.0.12:0/3271`) is from `addr`.
fn from_addr(inst: &str, addr: &str) -> bool {
    inst.contains(&format!(":{addr}:")) || inst.contains(&format!(" {addr}:"))
}

/// Every node's fencing log (what CTDB's event script ran).
fn fence_logs(c: &Cluster) -> String {
    (1..=N)
        .map(|i| format!("n{i}:\n{}", c.log(i, "run/smbgw-root/log/ha-fence.log")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// After the death of node `dead`: its client is evicted and blocklisted (Ceph says so), the
/// survivors' clients are not, and ha-status reports the fencing.
fn check_fenced(lab: &Lab, dead: usize, addrs: &[String]) {
    let c = &lab.c;
    let sessions = mds_sessions(&lab.ceph);
    let blocklist = lab.ceph.ceph(&["osd", "blocklist", "ls"]);
    let blocked = |addr: &str| blocklist.lines().any(|l| l.starts_with(&format!("{addr}:")));
    let dead_ids = registered(&lab.gw, dead).unwrap();
    let logs = fence_logs(c);
    for id in &dead_ids {
        assert!(
            !sessions.iter().any(|(s, _)| s == id),
            "the dead n{dead}'s client {id} still has a session: {sessions:?}\n{logs}"
        );
    }
    assert!(
        blocked(&addrs[dead - 1]),
        "the dead n{dead}'s client ({}) is not blocklisted: {blocklist}\n{logs}",
        addrs[dead - 1]
    );
    for i in (1..=N).filter(|&i| i != dead) {
        for id in registered(&lab.gw, i).unwrap() {
            assert!(
                sessions.iter().any(|(s, _)| *s == id),
                "surviving n{i}'s client {id} lost its session: {sessions:?}\n{logs}"
            );
        }
        assert!(
            !blocked(&addrs[i - 1]),
            "surviving n{i} ({}) is blocklisted: {blocklist}\n{logs}",
            addrs[i - 1]
        );
    }
    let survivor = (1..=N).find(|&i| i != dead).unwrap();
    let st = lab.gw.ok(c, survivor, &["ha-status"]);
    assert!(
        st.contains(&format!("fenced n{dead}: CephFS client(s) {dead_ids:?} evicted")),
        "{st}"
    );
    println!(
        "n{dead}'s CephFS client {dead_ids:?} evicted and blocklisted ({}), the survivors' sessions kept:\n{}",
        addrs[dead - 1],
        logs.lines()
            .filter(|l| l.contains("fence"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Backend features across nodes: a quota made by the CLI on n1 is enforced for writes through
/// n2 (CephFS keeps the limit, `ceph.quota.max_bytes`, on the directory and every node's client
/// enforces it), and a snapshot taken on n1 is a Previous Version through the VIP.
#[test]
fn quota_and_snapshot_made_on_one_node_work_through_others() {
    const QUOTA_SHARE: &str = "cephquota";
    const LIMIT: u64 = 20 << 20;
    let lab = Lab::up();
    let c = &lab.c;
    // the gateway makes the directory itself (a CephFS quota directory, backend `cephfs`)
    let mut args = vec![
        "create",
        QUOTA_SHARE,
        "--users",
        USER,
        "--quota",
        "20M",
        "--shadow-copies",
        "1",
    ];
    let place = placement();
    args.extend(place.iter().map(String::as_str));
    lab.gw.ok(c, 1, &args);
    for i in 2..=N {
        lab.gw.ok(c, i, &["apply"]);
    }
    let dir = lab.check.join("smbgateway").join(QUOTA_SHARE);
    let out = Command::new("getfattr")
        .args(["--only-values", "-n", "ceph.quota.max_bytes"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), LIMIT.to_string());
    let client = Client {
        share: QUOTA_SHARE.into(),
        ..lab.client.clone()
    };
    // a node's smbd reads the new share's include at its next connection
    let put = |server: &str, name: &str, data: &[u8]| {
        let mut r = client.put(server, name, data, 120);
        for _ in 0..50 {
            match &r {
                Err(e) if e.contains("NT_STATUS_BAD_NETWORK_NAME") => {
                    std::thread::sleep(Duration::from_millis(300));
                    r = client.put(server, name, data, 120);
                }
                _ => break,
            }
        }
        r
    };

    // a snapshot taken on n1 (in its own mount) is a Previous Version through the VIP
    put(VIP_A, "doc.txt", b"version 1\n").unwrap();
    let st = c
        .on(1, "mkdir")
        .arg(format!("{MNT}/smbgateway/{QUOTA_SHARE}/.snap/s1"))
        .status()
        .unwrap();
    assert!(st.success(), "snapshot on n1");
    put(VIP_A, "doc.txt", b"version 2\n").unwrap();
    let info = client.run(VIP_A, "allinfo doc.txt", 20).unwrap();
    let gmt = info
        .split_whitespace()
        .find(|w| w.starts_with("@GMT-"))
        .unwrap_or_else(|| panic!("no Previous Version listed through {VIP_A}: {info}"))
        .to_string();
    assert_eq!(client.get(VIP_A, &format!("{gmt}\\doc.txt")).unwrap(), b"version 1\n");
    assert_eq!(client.get(VIP_A, "doc.txt").unwrap(), b"version 2\n");
    println!("snapshot taken on n1 is the Previous Version {gmt} through {VIP_A}");

    // 40 MiB through n2's own address: refused once the quota is full
    let big: Vec<u8> = (0..2 * LIMIT as usize).map(|i| (i % 251) as u8).collect();
    let err = put("10.99.40.2", "big.bin", &big).expect_err("a 40 MiB write into a 20 MiB quota was accepted");
    assert!(err.contains("NT_STATUS_DISK_FULL"), "{err}");
    let stored = fs::metadata(dir.join("big.bin")).map_or(0, |m| m.len());
    assert!(stored < 2 * LIMIT, "{stored} bytes stored");
    println!(
        "quota 20 MiB set on n1, write through n2: refused with NT_STATUS_DISK_FULL after {stored} bytes \
         (overshoot {} bytes: CephFS enforces quotas in the client, late)",
        stored.saturating_sub(LIMIT)
    );
    // and n3 reports the same limit, backend and usage
    let st: serde_json::Value = serde_json::from_str(&lab.gw.ok(
        c,
        3,
        &["quota-status", QUOTA_SHARE, "--output-format", "json"],
    ))
    .unwrap();
    assert_eq!(
        (st["backend"].as_str(), st["limit"].as_u64()),
        (Some("cephfs"), Some(LIMIT)),
        "{st}"
    );
    assert!(st["used"].as_u64().is_some_and(|u| u > 0), "{st}");
}

// ---- bench (SMBGW_HA_BENCH=FILE, scripts/bench.sh phase_ha_cephfs) -------------------------
//
// The failovers the crash tests do not cover, on the same CephFS lab: a planned move
// (`ha-failover`), the leader cut off (its link down) beside corosync's own membership change
// seen by a survivor in the same event, and kill -9 of the active MDS (CephFS itself fails
// over to its standby) beside the moment Ceph reports the standby active. A client writes
// through VIP A during each event; every write acknowledged in any event reads back at the end.

/// CTDB ≤ 4.17 disables takeover runs for 2 × `-t 2` after a `moveip` (status::failover): a
/// failure injected inside that window would measure the window (as in tests/smb.rs).
const AFTER_MOVE: Duration = Duration::from_millis(4500);
/// The `mds_beacon_grace` of the second MDS kill (Ceph's default is 15 s). The mon fails an MDS
/// whose last beacon is older than the grace, checked at its tick (`mon_tick_interval`, 5 s);
/// but it resets every beacon's time when its tick came later than grace − `mds_beacon_interval`
/// (4 s) after the previous one (MDSMonitor::check_health: "mon delay"), so with a grace of
/// 9 s or less every tick resets them and a dead MDS is never replaced (measured with 8 s:
/// writes hung past 90 s). 10 s is the shortest grace that works with the default intervals.
const SHORT_GRACE: &str = "10";

/// What the client and the cluster showed after an event, in seconds since it.
#[derive(Debug, Default)]
struct Seen {
    /// The event may move VIP A (the MDS kill does not).
    vip: bool,
    /// VIP A on another node's eth0 and the client's ping answered from that node's MAC.
    reach: Option<f64>,
    to: Option<usize>,
    /// The first write started after the event that was acknowledged (its acknowledgement).
    write: Option<f64>,
    /// Writes started after the event that failed before that.
    failed: usize,
    /// What the last of them said (smbclient's output, shortened).
    error: Option<String>,
    /// The survivor's corosync no longer lists the cut-off node (leader partition only).
    members: Option<f64>,
    /// Ceph reports the standby MDS active (MDS kill only).
    mds: Option<f64>,
    /// Rank 0 as `ceph mds stat` showed it after the kill, each change with its time.
    mds_states: Vec<(f64, String)>,
}

impl Seen {
    fn show(&self) -> String {
        let t = |t: Option<f64>| t.map_or("never".into(), |t| format!("+{t:.2} s"));
        let mut s = String::new();
        if self.vip {
            s.push_str(&format!(
                "VIP answers {}{}, ",
                t(self.reach),
                self.to.map_or(String::new(), |n| format!(" from n{n}"))
            ));
        }
        s.push_str(&format!(
            "write acknowledged {} ({} failed writes before{})",
            t(self.write),
            self.failed,
            self.error
                .as_ref()
                .map_or(String::new(), |e| format!(", the last: {e}"))
        ));
        if self.members.is_some() {
            s.push_str(&format!(", corosync membership changed {}", t(self.members)));
        }
        if !self.mds_states.is_empty() {
            s.push_str(&format!(", standby MDS active {}; rank 0:", t(self.mds)));
            for (at, state) in &self.mds_states {
                s.push_str(&format!(" {state} +{at:.1} s"));
            }
        }
        s
    }
}

/// What an event is measured by besides the client's writes through VIP A.
enum Watch<'a> {
    /// The client reaching VIP A on another node.
    Vip,
    /// That, and the time until `observer`'s corosync no longer lists node id `node`.
    VipAndMembership { observer: usize, node: u32 },
    /// Ceph reporting an active MDS other than this one (VIP A stays where it is).
    Mds(&'a str),
}

/// The bench's writes: names handed out in order, those acknowledged kept to read back.
#[derive(Default)]
struct Writes {
    next: std::sync::atomic::AtomicUsize,
    acked: Mutex<Vec<(String, usize)>>,
}

impl Writes {
    /// From `t0` until `stop` or `limit`: an smbclient put through VIP A every 250 ms (at most
    /// 12 at once, each bounded to `secs`), until 5 were acknowledged; the time since `t0` at
    /// which the first one was, and how many failed before it. Every acknowledged write is
    /// recorded (to be read back).
    fn until_ok(
        &self,
        client: &Client,
        t0: Instant,
        limit: Duration,
        secs: u32,
        stop: &AtomicBool,
    ) -> (Option<f64>, usize, Option<String>) {
        struct Put {
            child: std::process::Child,
            name: String,
            k: usize,
            out: PathBuf,
        }
        let mut running: Vec<Put> = Vec::new();
        let mut next = Instant::now();
        let (mut first, mut failed, mut acked, mut error) = (None, 0, 0, None);
        while acked < 5 && t0.elapsed() < limit && !stop.load(Ordering::SeqCst) {
            if Instant::now() >= next && running.len() < 12 {
                let k = self.next.fetch_add(1, Ordering::SeqCst) + 1;
                let name = format!("b{k:05}.bin");
                let local = client.dir.join(&name);
                fs::write(&local, content(k, 48 * 1024)).unwrap();
                let out = client.dir.join(format!("{name}.out"));
                let log = fs::File::create(&out).unwrap();
                let child = Command::new("ip")
                    .args(["netns", "exec", &client.netns, "timeout", "-k", "1", &secs.to_string()])
                    .args([
                        "smbclient",
                        &format!("//{VIP_A}/{}", client.share),
                        "-s",
                        "/dev/null",
                        "-m",
                        "SMB3",
                    ])
                    .arg("-A")
                    .arg(&client.creds)
                    .args(["-c", &format!("put {} {name}", local.display())])
                    .stdin(Stdio::null())
                    .stdout(log.try_clone().unwrap())
                    .stderr(log)
                    .spawn()
                    .unwrap();
                running.push(Put { child, name, k, out });
                next = Instant::now() + Duration::from_millis(250);
            }
            let mut still = Vec::new();
            for mut p in running {
                match p.child.try_wait().unwrap() {
                    None => still.push(p),
                    Some(st) => {
                        let text = fs::read_to_string(&p.out).unwrap_or_default();
                        if st.success() && !text.contains("NT_STATUS_") {
                            self.acked.lock().unwrap().push((p.name.clone(), p.k));
                            first.get_or_insert(t0.elapsed().as_secs_f64());
                            acked += 1;
                        } else {
                            assert!(
                                !text.contains("NT_STATUS_ACCESS_DENIED") && !text.contains("NT_STATUS_LOGON_FAILURE"),
                                "write refused (not a failover symptom): {text}"
                            );
                            if first.is_none() {
                                failed += 1;
                                let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
                                error = Some(if text.is_empty() {
                                    format!("no answer within {secs} s")
                                } else {
                                    text.chars().take(200).collect()
                                });
                            }
                        }
                        let _ = fs::remove_file(client.dir.join(&p.name));
                        let _ = fs::remove_file(&p.out);
                    }
                }
            }
            running = still;
            std::thread::sleep(Duration::from_millis(20));
        }
        // still in flight: never acknowledged (the client would retry them)
        for mut p in running {
            let _ = p.child.kill();
            let _ = p.child.wait();
            let _ = fs::remove_file(client.dir.join(&p.name));
            let _ = fs::remove_file(&p.out);
        }
        (first, failed, error)
    }
}

/// The corosync node ids node i's corosync lists as members (`corosync-quorumtool -l -p`).
fn members(c: &Cluster, i: usize) -> Option<Vec<u32>> {
    let out = c.on(i, "corosync-quorumtool").args(["-l", "-p"]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let id = l.split_whitespace().next()?;
                match id.strip_prefix("0x") {
                    Some(hex) => u32::from_str_radix(hex, 16).ok(),
                    None => id.parse().ok(),
                }
            })
            .collect(),
    )
}

/// Rank 0 of the file system (`ceph mds stat`: `cephfs:1 {0=a=up:active} 1 up:standby`):
/// `a=up:active`, or `failed` when no daemon holds it.
fn rank0(ceph: &Ceph) -> String {
    let stat = ceph.ceph(&["mds", "stat"]);
    stat.split("{0=")
        .nth(1)
        .and_then(|r| r.split('}').next())
        .map_or("failed".into(), str::to_string)
}

/// The active MDS of rank 0.
fn active_mds(ceph: &Ceph) -> Option<String> {
    rank0(ceph).strip_suffix("=up:active").map(str::to_string)
}

/// Standby MDS daemons (`… 1 up:standby`).
fn standbys(ceph: &Ceph) -> usize {
    let stat = ceph.ceph(&["mds", "stat"]);
    let words: Vec<&str> = stat.split_whitespace().collect();
    words
        .windows(2)
        .find(|w| w[1] == "up:standby")
        .and_then(|w| w[0].parse().ok())
        .unwrap_or(0)
}

/// The PID of the fixture's MDS daemon `name` (its argv names the cluster's ceph.conf).
fn mds_pid(ceph: &Ceph, name: &str) -> Option<u32> {
    let conf = ceph.conf().to_string_lossy().into_owned();
    pids_with_arg(&conf).into_iter().find(|&p| {
        alive(p)
            && fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|cmd| {
                let args: Vec<&[u8]> = cmd.split(|&b| b == 0).collect();
                args.first().is_some_and(|a| a.ends_with(b"ceph-mds"))
                    && args.windows(2).any(|w| w[0] == b"-i" && w[1] == name.as_bytes())
            })
    })
}

/// Start the killed MDS `name` again (it joins as the standby), as the fixture starts it:
/// in the daemons' netns, its own session, its PID recorded where the fixture looks.
fn restart_mds(ceph: &Ceph, name: &str) -> std::process::Child {
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(ceph.dir.path().join(format!("log/mds.{name}.stdout")))
        .unwrap();
    let child = Command::new("nsenter")
        .arg(format!("--net=/run/netns/{}", ceph.daemons_netns()))
        .args(["setsid", "ceph-mds", "-c"])
        .arg(ceph.conf())
        .args(["-f", "-i", name])
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    fs::write(ceph.dir.path().join(format!("pids/mds.{name}")), child.id().to_string()).unwrap();
    child
}

impl Lab {
    fn leader(&self) -> usize {
        status::status(&self.c.ctdb(1), None).unwrap().leader.expect("a leader") as usize + 1
    }

    fn holder(&self) -> usize {
        let on = self.c.vip_on(VIP_A);
        assert_eq!(on.len(), 1, "{VIP_A} on {on:?}");
        on[0]
    }

    /// The client pings VIP A and its ARP entry points at node `to` (common's
    /// `client_reaches_via` with a 0.2 s reply timeout instead of 1 s: a ping sent just before
    /// the VIP moved would otherwise hide up to a second of the failover).
    fn reaches(&self, to: usize) -> bool {
        let cl = self.c.ns("cl");
        let ok = Command::new("ip")
            .args(["netns", "exec", &cl, "ping", "-n", "-q", "-c1", "-W0.2", VIP_A])
            .output()
            .is_ok_and(|o| o.status.success());
        ok && sh_out(&format!("ip -n {cl} neigh show {VIP_A}")).contains(&self.c.mac(to))
    }

    /// `ha-failover` of VIP A to node `to`, run by the gateway's CLI on node `on`.
    fn move_vip(&self, on: usize, to: usize) {
        self.gw
            .ok(&self.c, on, &["ha-failover", "--vip", VIP_A, "--to", &format!("n{to}")]);
    }

    /// Do `action` (which returns the node VIP A may leave), then measure until a write
    /// through VIP A is acknowledged and what `watch` says.
    fn event(
        &self,
        writes: &Writes,
        limit: Duration,
        put_secs: u32,
        watch: Watch,
        action: impl FnOnce(&Lab) -> usize,
    ) -> Seen {
        let vip = !matches!(watch, Watch::Mds(_));
        let (membership, mds) = match watch {
            Watch::Vip => (None, None),
            Watch::VipAndMembership { observer, node } => (Some((observer, node)), None),
            Watch::Mds(old) => (None, Some(old)),
        };
        let t0 = Instant::now();
        let from = action(self);
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            let writer = s.spawn(|| writes.until_ok(&self.client, t0, limit, put_secs, &stop));
            let coro = membership.map(|(observer, id)| {
                let stop = &stop;
                s.spawn(move || {
                    while t0.elapsed() < limit && !stop.load(Ordering::SeqCst) {
                        if members(&self.c, observer).is_some_and(|m| !m.is_empty() && !m.contains(&id)) {
                            return Some(t0.elapsed().as_secs_f64());
                        }
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    None
                })
            });
            let ceph_side = mds.map(|old| {
                let stop = &stop;
                s.spawn(move || {
                    let mut states: Vec<(f64, String)> = Vec::new();
                    while t0.elapsed() < limit && !stop.load(Ordering::SeqCst) {
                        let state = rank0(&self.ceph);
                        let at = t0.elapsed().as_secs_f64();
                        if states.last().is_none_or(|(_, s)| *s != state) {
                            states.push((at, state.clone()));
                        }
                        if state.strip_suffix("=up:active").is_some_and(|a| a != old) {
                            return (Some(at), states);
                        }
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    (None, states)
                })
            });
            let mut seen = Seen { vip, ..Seen::default() };
            while t0.elapsed() < limit {
                if vip {
                    if seen.to.is_none() {
                        seen.to = (1..=N).find(|&i| i != from && self.c.has_vip(i, VIP_A));
                    }
                    if let (Some(to), None) = (seen.to, seen.reach) {
                        if self.reaches(to) {
                            seen.reach = Some(t0.elapsed().as_secs_f64());
                        }
                    }
                }
                let others =
                    coro.as_ref().is_none_or(|h| h.is_finished()) && ceph_side.as_ref().is_none_or(|h| h.is_finished());
                if (!vip || seen.reach.is_some()) && writer.is_finished() && others {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            stop.store(true, Ordering::SeqCst);
            (seen.write, seen.failed, seen.error) = writer.join().unwrap();
            seen.members = coro.and_then(|h| h.join().unwrap());
            if let Some(h) = ceph_side {
                (seen.mds, seen.mds_states) = h.join().unwrap();
            }
            seen
        })
    }

    /// CTDB healthy on every node with one leader and each VIP on exactly one node where CTDB
    /// says.
    fn consistent(&self) -> bool {
        self.c.consistent(&ha_config())
    }

    /// After node `x` was cut off (and fenced: its CephFS client evicted and blocklisted):
    /// its link up, ctdbd running everywhere (restarted where it died; CTDB's ban on a node
    /// that kept failing recoveries lifted), CTDB consistent for 2 s, `x`'s CephFS mounted
    /// again (a fenced mount stays dead) and registered for fencing anew, and smbd serving
    /// on every node's own address.
    fn heal(&mut self, x: usize) -> f64 {
        let t0 = Instant::now();
        let old = registered(&self.gw, x);
        self.c.set_port(x, true);
        let mut restart_smbd: Vec<usize> = vec![x];
        let mut restarted_all = false;
        loop {
            for i in 1..=N {
                if !alive(self.c.ctdbd[i - 1]) {
                    self.c.start_ctdbd(i);
                    restart_smbd.push(i);
                }
            }
            let ok = wait_quietly(Duration::from_secs(75), || {
                if let Some(st) = (1..=N).find_map(|i| status::status(&self.c.ctdb(i), None).ok()) {
                    for n in st.nodes.iter().filter(|n| n.flags.iter().any(|f| f == "BANNED")) {
                        let _ = self.c.ctdb(n.pnn as usize + 1).run(&["unban"]);
                    }
                }
                self.consistent()
            });
            if ok {
                std::thread::sleep(Duration::from_secs(2));
                if self.consistent() {
                    break;
                }
                continue;
            }
            assert!(!restarted_all, "the cluster did not settle after n{x} came back");
            println!(
                "  (not settled after {:.0} s: restarting ctdbd everywhere)",
                t0.elapsed().as_secs_f64()
            );
            for i in 1..=N {
                unsafe { libc::kill(self.c.ctdbd[i - 1] as i32, libc::SIGKILL) };
            }
            wait("the killed ctdbd to go", Duration::from_secs(10), || {
                self.c.ctdbd.iter().all(|&p| !alive(p))
            });
            restart_smbd.extend(1..=N);
            restarted_all = true;
        }
        // x's fenced mount: unmounted (cleanly where it can be: a client that was not fenced
        // must end its session, or the MDS holds its caps for session_timeout), else its
        // ceph-fuse killed and the mount detached; then a new one (new client id)
        kill_samba(&self.c, x);
        let clean = self
            .c
            .on(x, "timeout")
            .args(["10", "umount", MNT])
            .status()
            .unwrap()
            .success();
        if !clean {
            for p in self.c.netns_pids(x) {
                if fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|n| n.trim() == "ceph-fuse") {
                    unsafe { libc::kill(p as i32, libc::SIGKILL) };
                }
            }
            let st = self.c.on(x, "umount").args(["-l", MNT]).status().unwrap();
            assert!(st.success(), "umount -l {MNT} on n{x}");
        }
        self.ceph.mount_in(self.c.anchors[x - 1], Path::new(MNT));
        restart_smbd.sort();
        restart_smbd.dedup();
        for &i in &restart_smbd {
            kill_samba(&self.c, i);
            self.gw.start_smbd(&self.c, i);
        }
        wait(
            "the remounted node registering its new CephFS client",
            Duration::from_secs(60),
            || registered(&self.gw, x).is_some_and(|r| Some(&r) != old.as_ref()),
        );
        for i in 1..=N {
            let mut last = String::new();
            let ok = wait_quietly(Duration::from_secs(60), || {
                match self
                    .client
                    .put(&format!("10.99.40.{i}"), "heal-probe.bin", b"probe", 10)
                {
                    Ok(_) => true,
                    Err(e) => {
                        last = e;
                        false
                    }
                }
            });
            if !ok {
                let log = self.c.log(i, "run/smbgw-root/log/smbd.log");
                panic!(
                    "n{i} does not serve the share after n{x} came back: {last}\nCTDB: {:?}\nsessions: {:?}\n\
                     ceph: {}\nn{i} smbd.log: ...{}\nfencing:\n{}",
                    status::status(&self.c.ctdb(i), None),
                    mds_sessions(&self.ceph),
                    self.ceph.ceph(&["health", "detail"]),
                    &log[log.len().saturating_sub(3000)..],
                    fence_logs(&self.c)
                );
            }
        }
        t0.elapsed().as_secs_f64()
    }
}

/// Bench only: returns at once unless `SMBGW_HA_BENCH=FILE` is set (`SMBGW_HA_BENCH_RUNS`
/// rounds, default 1). Each round: a planned move of VIP A onto the leader, the leader cut off,
/// the active MDS killed with Ceph's `mds_beacon_grace` and again with [`SHORT_GRACE`]. Rows
/// `label|ours ms ...|baseline ms ...[|target ms]` are appended to FILE.
#[test]
fn failover_figures_on_cephfs_bench() {
    let Some(out) = std::env::var_os("SMBGW_HA_BENCH") else {
        return;
    };
    let runs: usize = std::env::var("SMBGW_HA_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1);
    // restarted MDS daemons: reaped after the lab (the fixture's stop kills them by argv)
    let mut mds_children = Vec::new();
    let mut lab = Lab::up();
    let writes = Writes::default();
    // a node is fenced by the client ids it registered (at its CTDB events): all of them first
    let t = wait(
        "every node registering its CephFS client for fencing",
        Duration::from_secs(60),
        || (1..=N).all(|i| registered(&lab.gw, i).is_some()),
    );
    println!("every node registered its CephFS client after {t:.1} s");
    let ms = |t: Option<f64>, limit: Duration| t.unwrap_or(limit.as_secs_f64()) * 1000.0;
    let short = Duration::from_secs(30);
    let long = Duration::from_secs(90);
    let grace_default = lab.ceph.ceph(&["config", "get", "mon", "mds_beacon_grace"]);
    let grace_default = grace_default
        .trim()
        .parse::<f64>()
        .map_or(grace_default.trim().to_string(), |g| format!("{g}"));
    #[derive(Default)]
    struct Figures {
        move_reach: Vec<f64>,
        move_write: Vec<f64>,
        members: Vec<f64>,
        cut_reach: Vec<f64>,
        cut_write: Vec<f64>,
        cut_after_members: Vec<f64>,
        mds_write: Vec<f64>,
        mds_active: Vec<f64>,
        short_write: Vec<f64>,
        short_active: Vec<f64>,
    }
    let mut f = Figures::default();
    // MDS log lines already shown
    let mut reported: Vec<String> = Vec::new();
    for run in 1..=runs {
        let t_run = Instant::now();
        // planned move of VIP A onto the leader (from elsewhere: unmeasured first if needed)
        let leader = lab.leader();
        if lab.holder() == leader {
            let other = (1..=N).find(|&i| i != leader).unwrap();
            lab.move_vip(leader, other);
            wait("VIP A off the leader", Duration::from_secs(10), || {
                lab.c.vip_on(VIP_A) == [other]
            });
            std::thread::sleep(AFTER_MOVE);
        }
        let seen = lab.event(&writes, short, 3, Watch::Vip, |lab| {
            let from = lab.holder();
            lab.move_vip(from, leader);
            from
        });
        println!(
            "[run {run}] planned move (ha-failover) of {VIP_A} onto the leader n{leader}: {}",
            seen.show()
        );
        assert_eq!(seen.to, Some(leader), "ha-failover did not move {VIP_A} onto n{leader}");
        f.move_reach.push(ms(seen.reach, short));
        f.move_write.push(ms(seen.write, short));
        std::thread::sleep(AFTER_MOVE);

        // the leader, holding VIP A, cut off (its link down; its daemons and its CephFS client
        // keep running): the survivors' corosync drops it, CTDB elects a new leader and moves
        // VIP A, the new leader fences the cut-off node's CephFS client
        let observer = (1..=N).find(|&i| i != leader).unwrap();
        let watch = Watch::VipAndMembership {
            observer,
            node: leader as u32,
        };
        let seen = lab.event(&writes, long, 3, watch, |lab| {
            lab.c.set_port(leader, false);
            leader
        });
        println!(
            "[run {run}] leader n{leader} (holding {VIP_A}) cut off: {}",
            seen.show()
        );
        // the new leader fenced it: its CephFS client evicted (Ceph says so)
        let ids = registered(&lab.gw, leader).unwrap();
        let evicted = wait_quietly(Duration::from_secs(30), || {
            let sessions = mds_sessions(&lab.ceph);
            !ids.iter().any(|id| sessions.iter().any(|(s, _)| s == id))
        });
        println!(
            "[run {run}] n{leader}'s CephFS client {ids:?} evicted by the new leader: {}",
            if evicted { "yes" } else { "NO" }
        );
        assert!(
            evicted,
            "the cut-off leader n{leader} was not fenced:\n{}",
            fence_logs(&lab.c)
        );
        f.members.push(ms(seen.members, long));
        f.cut_reach.push(ms(seen.reach, long));
        f.cut_write.push(ms(seen.write, long));
        // (either never: counted as the limit, as in every row)
        f.cut_after_members.push(ms(seen.reach, long) - ms(seen.members, long));
        let t = lab.heal(leader);
        println!("[run {run}] n{leader} back, remounted, cluster settled after {t:.1} s");

        // kill -9 of the active MDS, with Ceph's beacon grace and then with a shorter one
        for grace in [None, Some(SHORT_GRACE)] {
            wait("a standby MDS", Duration::from_secs(60), || standbys(&lab.ceph) >= 1);
            if let Some(g) = grace {
                lab.ceph.ceph(&["config", "set", "global", "mds_beacon_grace", g]);
            }
            let active = active_mds(&lab.ceph).expect("an active MDS");
            let pid = mds_pid(&lab.ceph, &active).unwrap_or_else(|| panic!("no process of mds.{active}"));
            let seen = lab.event(&writes, long, 60, Watch::Mds(&active), |lab| {
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
                lab.holder()
            });
            println!(
                "[run {run}] kill -9 of the active mds.{active} (mds_beacon_grace {} s): {}",
                grace.unwrap_or(&grace_default),
                seen.show()
            );
            // a failover that waited in up:reconnect for clients that never came (their sessions
            // evicted after mds_reconnect_timeout): who, as the new MDS logged it
            let waited: Vec<String> = fs::read_dir(lab.ceph.dir.path().join("log"))
                .unwrap()
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("ceph-mds."))
                .flat_map(|e| {
                    fs::read_to_string(e.path())
                        .unwrap_or_default()
                        .lines()
                        .map(str::to_string)
                        .collect::<Vec<_>>()
                })
                .filter(|l| l.contains("evicting unresponsive client") && !reported.contains(l))
                .collect();
            for l in &waited {
                println!("[run {run}] the new MDS waited for a client: {l}");
            }
            reported.extend(waited);
            let (w, a) = if grace.is_some() {
                (&mut f.short_write, &mut f.short_active)
            } else {
                (&mut f.mds_write, &mut f.mds_active)
            };
            w.push(ms(seen.write, long));
            a.push(ms(seen.mds, long));
            if grace.is_some() {
                lab.ceph.ceph(&["config", "rm", "global", "mds_beacon_grace"]);
            }
            wait("the killed MDS to go", Duration::from_secs(10), || !alive(pid));
            // (with a grace that never fails the dead MDS, the default one does it now)
            wait("an active MDS again", Duration::from_secs(60), || {
                active_mds(&lab.ceph).is_some_and(|a| a != active)
            });
            mds_children.push(restart_mds(&lab.ceph, &active));
        }
        println!("[run {run}] round took {:.0} s", t_run.elapsed().as_secs_f64());
    }

    // every write acknowledged in any event reads back, byte for byte, through the VIP and
    // on the CephFS itself
    let acked = writes.acked.into_inner().unwrap();
    let dir = lab.check.join("smbgateway").join(SHARE);
    let mut lost = Vec::new();
    for (name, k) in &acked {
        let want = content(*k, 48 * 1024);
        // (a read that fails is tried again: only what it returns counts)
        let mut via_vip = lab.client.get(VIP_A, name);
        for _ in 0..3 {
            if via_vip.is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_secs(1));
            via_vip = lab.client.get(VIP_A, name);
        }
        let stored = fs::read(dir.join(name));
        if via_vip.as_deref().ok() != Some(&want[..]) || stored.as_deref().ok() != Some(&want[..]) {
            lost.push(format!(
                "{name}: via VIP {:?}, on CephFS {:?}",
                via_vip.map(|d| d.len()),
                stored.map(|d| d.len())
            ));
        }
    }
    assert!(
        lost.is_empty(),
        "acknowledged writes lost or changed:\n{}",
        lost.join("\n")
    );
    println!(
        "all {} acknowledged writes of the bench read back through {VIP_A} and on the CephFS",
        acked.len()
    );

    let list = |v: &[f64]| v.iter().map(|x| format!("{x:.0}")).collect::<Vec<_>>().join(" ");
    let zeros = |v: &[f64]| vec!["0"; v.len().max(1)].join(" ");
    let ev = "CephFS HA";
    let text = format!(
        "{ev}: planned move (ha-failover), until the VIP answers|{}|{}\n\
         {ev}: planned move (ha-failover), until writes resume|{}|{}\n\
         {ev}: leader cut off, until corosync drops it (survivor's view)|{}|{}\n\
         {ev}: leader cut off, until the VIP answers (baseline: corosync membership)|{}|{}\n\
         {ev}: leader cut off, VIP answers after the membership change|{}|{}|1500\n\
         {ev}: leader cut off, until writes resume (baseline: corosync membership)|{}|{}\n\
         {ev}: kill -9 of the active MDS (grace {grace_default} s), until writes resume (baseline: standby MDS active)|{}|{}\n\
         {ev}: kill -9 of the active MDS (grace {SHORT_GRACE} s), until writes resume (baseline: standby MDS active)|{}|{}\n",
        list(&f.move_reach),
        zeros(&f.move_reach),
        list(&f.move_write),
        zeros(&f.move_write),
        list(&f.members),
        zeros(&f.members),
        list(&f.cut_reach),
        list(&f.members),
        list(&f.cut_after_members),
        zeros(&f.cut_after_members),
        list(&f.cut_write),
        list(&f.members),
        list(&f.mds_write),
        list(&f.mds_active),
        list(&f.short_write),
        list(&f.short_active),
    );
    print!("BENCH ({out:?}):\n{text}");
    use std::io::Write;
    let mut file = fs::OpenOptions::new().create(true).append(true).open(&out).unwrap();
    file.write_all(text.as_bytes()).unwrap();
    drop(lab);
    for mut child in mds_children {
        let _ = child.kill();
        let _ = child.wait();
    }
}
