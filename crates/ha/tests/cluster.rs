//! A real 3-node CTDB cluster plus a real 3-node corosync on this machine, in network namespaces
//! (recipes 05* and 10 in ../shared/recipes/platform), configured by this crate's rendered files
//! and locked by this crate's `smbgw-ctdb-quorum-lock`. The harness is in common/mod.rs.
//!
//! Topology (nothing in the root netns, so no traffic leaves the box):
//!   netns <id>-br: bridge br0 with ports v1 v2 v3 vc
//!   netns <id>-n1..3: eth0 10.99.40.1..3/24; corosync and ctdbd share one private mount namespace
//!     per node (anchored by a `sleep`) with /etc/ctdb, /var/lib/ctdb, /etc/corosync,
//!     /var/lib/corosync, /var/log/corosync, the whole /run and /dev/shm replaced
//!   netns <id>-cl: the client, 10.99.40.50/24
//!   VIPs 10.99.40.100/24 and 10.99.40.101/24 on eth0

mod common;

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use common::*;
use smbgw_ha::status::{self, DrillOptions};

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
