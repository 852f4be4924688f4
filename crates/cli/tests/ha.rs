//! `ha-*` through the CLI in a sandbox: validation before anything is written, the plan, the
//! CTDB files and the clustered smb.conf. (The CTDB cluster itself, failover and the corosync
//! lock run for real in crates/ha/tests/cluster.rs.)

mod common;

use common::Sandbox;

const MEMBERS: &str = "{\n\"nodename\": \"pve1\",\n\"version\": 5,\n\"cluster\": { \"name\": \"lab\", \"version\": 3, \"nodes\": 2, \"quorate\": 1 },\n\"nodelist\": {\n  \"pve1\": { \"id\": 1, \"online\": 1, \"ip\": \"10.99.78.1\"},\n  \"pve2\": { \"id\": 2, \"online\": 1, \"ip\": \"10.99.78.2\"}\n  }\n}\n";

fn setup_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["ha-setup", "--vip", "10.99.77.100/24", "--interface", "d0"];
    args.extend_from_slice(extra);
    args
}

/// A network namespace with both "nodes" on one interface (a veth end; no dummy module here), so they answer ping.
struct Net(String);

impl Net {
    fn new() -> Net {
        let ns = format!("smbgw-ha-cli-{}", std::process::id());
        assert!(std::process::Command::new("ip")
            .args(["netns", "add", &ns])
            .status()
            .unwrap()
            .success());
        // from here on Drop removes the namespace, also when a step below fails
        let net = Net(ns.clone());
        let script = format!(
            "ip -n {ns} link set lo up && ip -n {ns} link add d0 type veth peer name d1 && ip -n {ns} link set d1 up && \
             ip -n {ns} addr add 10.99.78.1/24 dev d0 && ip -n {ns} addr add 10.99.78.2/24 dev d0 && ip -n {ns} link set d0 up"
        );
        assert!(std::process::Command::new("sh")
            .args(["-ec", &script])
            .status()
            .unwrap()
            .success());
        net
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.0])
            .status();
    }
}

#[test]
fn ha_setup_validates_then_writes_ctdb_and_clustered_samba() {
    let net = Net::new();
    let mut sb = Sandbox::new();
    sb.wrapper = vec!["ip".into(), "netns".into(), "exec".into(), net.0.clone()];
    std::fs::create_dir_all(sb.data("d")).unwrap();
    sb.ok(&["create", "d", "--path", sb.data("d").to_str().unwrap()]);
    let r = sb.run(&["ha-status"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("not set up"), "{}", r.stderr);

    // refused, nothing written
    let before = sb.snapshot();
    for (extra, message) in [
        (vec!["--nodes", "n1=10.99.78.1"], "at least 2 nodes"),
        (vec!["--nodes", "n1=10.99.78.1,n2=10.99.78.1"], "two nodes"),
        (vec!["--nodes", "n1=10.99.78.1,n1=10.99.78.2"], "twice"),
        (
            vec!["--nodes", "n1=10.99.78.1,n2=10.99.78.2", "--lock", "none"],
            "--no-lock",
        ),
        (
            vec!["--nodes", "n1=10.99.78.1,n2=10.99.78.2", "--lock", "file:relative"],
            "",
        ),
        (vec!["--nodes", "n1;reboot=10.99.78.1,n2=10.99.78.2"], ""),
        (
            vec![
                "--nodes",
                "n1=10.99.78.1,n2=10.99.78.2",
                "--tunable",
                "KeepaliveInterval=x",
            ],
            "",
        ),
        (vec!["--nodes", "pve1,pve2"], "pve1"), // no PVE membership yet: names cannot be looked up
    ] {
        let r = sb.run(&setup_args(&extra));
        assert_eq!(r.code, 1, "{extra:?} must be refused: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains(message), "{extra:?}: {}", r.stderr);
    }
    let nodes = ["--nodes", "n1=10.99.78.1,n2=10.99.78.2"];
    for (vip, iface) in [
        ("10.99.78.1/24", "d0"),                   // a node's own address
        ("10.99.77.100/24,10.99.77.100/24", "d0"), // twice
        ("10.99.77.0/24", "d0"),                   // the network address
        ("10.99.77.100/24", "nosuchif0"),          // no such interface
        ("10.99.77.100", "d0"),                    // no prefix
    ] {
        let mut args = vec!["ha-setup", "--vip", vip, "--interface", iface];
        args.extend(nodes);
        let r = sb.run(&args);
        assert_eq!(r.code, 1, "{vip} on {iface} must be refused: {}{}", r.stdout, r.stderr);
    }
    assert_eq!(sb.snapshot(), before, "a refused ha-setup changed files");
    assert!(!sb.root.join("ctdb").exists());

    // the plan, then the real thing: nodes from the PVE membership
    std::fs::create_dir_all(sb.root.join("pve")).unwrap();
    std::fs::write(sb.root.join("pve/.members"), MEMBERS).unwrap();
    // a share on node-local storage cannot go behind VIPs: refused, naming it
    let r = sb.run(&setup_args(&[]));
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("node-local storage: 'd' (") && r.stderr.contains("--storage"),
        "{}",
        r.stderr
    );
    assert_eq!(sb.snapshot(), before, "a refused ha-setup changed files");
    sb.ok(&["delete", "d"]);
    let plan = sb.ok(&setup_args(&["--dry-run"]));
    assert!(
        plan.contains("ctdb.conf") && plan.contains("public_addresses"),
        "{plan}"
    );
    assert!(!sb.root.join("ctdb").exists(), "dry run wrote files");
    let out = sb.ok(&setup_args(&["--tunable", "KeepaliveLimit=5"]));
    assert!(
        out.contains("2-node corosync cluster"),
        "the 2-node warning is shown: {out}"
    );
    let ctdb = |f: &str| std::fs::read_to_string(sb.root.join("ctdb").join(f)).unwrap();
    assert!(ctdb("nodes").ends_with("10.99.78.1\n10.99.78.2\n"), "{}", ctdb("nodes"));
    assert!(
        ctdb("public_addresses").contains("10.99.77.100/24 d0"),
        "{}",
        ctdb("public_addresses")
    );
    assert!(ctdb("ctdb.conf").contains("cluster lock = !"), "{}", ctdb("ctdb.conf"));
    assert!(
        ctdb("ctdb.conf").contains("smbgw-ctdb-quorum-lock"),
        "{}",
        ctdb("ctdb.conf")
    );
    assert!(
        ctdb("ctdb.tunables").contains("KeepaliveLimit=5"),
        "{}",
        ctdb("ctdb.tunables")
    );
    let conf = std::fs::read_to_string(sb.root.join("samba/smb.conf")).unwrap();
    assert!(conf.contains("\tclustering = yes\n"), "{conf}");
    // section config beside shares.cfg, the nodes in PNN order
    let ha_cfg = std::fs::read_to_string(sb.root.join("config/ha.cfg")).unwrap();
    assert!(
        ha_cfg.starts_with("cluster: ctdb\n\tinterface d0\n\tvips 10.99.77.100/24\n"),
        "{ha_cfg}"
    );
    assert!(
        ha_cfg.ends_with("\nnode: pve1\n\taddress 10.99.78.1\n\nnode: pve2\n\taddress 10.99.78.2\n"),
        "{ha_cfg}"
    );
    assert!(ha_cfg.contains("\tkeepalive-limit 5\n"), "{ha_cfg}");

    // with HA set up, a new share on node-local storage is refused on its path, nothing written
    let before = sb.snapshot();
    let r = sb.run(&[
        "create",
        "e",
        "--path",
        sb.data("d").to_str().unwrap(),
        "--output-format",
        "json",
    ]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let err: serde_json::Value = serde_json::from_str(r.stderr.trim()).unwrap();
    assert_eq!(err["field"].as_str(), Some("path"), "{err}");
    let message = err["message"].as_str().unwrap();
    assert!(
        message.contains("node-local") && message.contains("--storage"),
        "{message}"
    );
    assert_eq!(sb.snapshot(), before, "a refused create changed files");

    // a stale digest is a conflict on the digest field; the current one (sha1 of ha.cfg) passes
    let r = sb.run(&setup_args(&[
        "--tunable",
        "KeepaliveLimit=5",
        "--digest",
        "0000000000000000000000000000000000000000",
        "--output-format",
        "json",
    ]));
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let err: serde_json::Value = serde_json::from_str(r.stderr.trim()).unwrap();
    assert_eq!(
        (err["code"].as_str(), err["field"].as_str()),
        (Some("conflict"), Some("digest")),
        "{err}"
    );
    let sha1 = std::process::Command::new("sha1sum")
        .arg(sb.root.join("config/ha.cfg"))
        .output()
        .unwrap();
    let digest = String::from_utf8(sha1.stdout).unwrap();
    let digest = digest.split_whitespace().next().unwrap().to_string();

    // idempotent, and apply keeps the cluster config
    let again: serde_json::Value = serde_json::from_str(&sb.ok(&setup_args(&[
        "--tunable",
        "KeepaliveLimit=5",
        "--digest",
        &digest,
        "--output-format",
        "json",
    ])))
    .unwrap();
    assert_eq!(again["changed"], false, "{again}");
    sb.ok(&["apply"]);
    assert!(std::fs::read_to_string(sb.root.join("samba/smb.conf"))
        .unwrap()
        .contains("clustering = yes"));

    // without ctdbd: a clear external error
    let r = sb.run(&["ha-status"]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    let r = sb.run(&["ha-failover", "--vip", "10.99.77.200", "--to", "pve2"]);
    assert_eq!(r.code, 1, "not a VIP: {}{}", r.stdout, r.stderr);
    let r = sb.run(&["ha-failover", "--vip", "10.99.77.100", "--to", "pve9"]);
    assert_eq!(r.code, 1, "not a node: {}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("pve1, pve2"), "{}", r.stderr);
    let r = sb.run(&[
        "ha-failover",
        "--vip",
        "10.99.77.100",
        "--to",
        "pve9",
        "--output-format",
        "json",
    ]);
    let err: serde_json::Value = serde_json::from_str(r.stderr.trim()).unwrap();
    assert_eq!(
        (err["code"].as_str(), err["field"].as_str()),
        (Some("not-found"), Some("node")),
        "{err}"
    );

    // an HA config as an earlier version wrote it, ha.json alone: still read (apply keeps the
    // cluster), and the next ha-setup writes ha.cfg beside it
    let legacy = serde_json::json!({
        "nodes": [{"name": "pve1", "address": "10.99.78.1"}, {"name": "pve2", "address": "10.99.78.2"}],
        "vips": ["10.99.77.100/24"],
        "interface": "d0",
        "lock": "corosync",
        "tunables": {"keepalive-interval": 1, "keepalive-limit": 5, "extra": {}},
        "ad": false
    });
    std::fs::remove_file(sb.root.join("config/ha.cfg")).unwrap();
    std::fs::write(
        sb.root.join("config/ha.json"),
        serde_json::to_vec_pretty(&legacy).unwrap(),
    )
    .unwrap();
    sb.ok(&["apply"]);
    assert!(std::fs::read_to_string(sb.root.join("samba/smb.conf"))
        .unwrap()
        .contains("clustering = yes"));
    let r = sb.run(&["ha-failover", "--vip", "10.99.77.100", "--to", "pve9"]);
    assert!(r.stderr.contains("pve1, pve2"), "the legacy file is read: {}", r.stderr);
    let plan = sb.ok(&setup_args(&["--tunable", "KeepaliveLimit=5", "--dry-run"]));
    assert!(plan.contains("ha.cfg") && plan.contains("ha.json"), "{plan}");
    assert!(!sb.root.join("config/ha.cfg").exists(), "a dry run migrates nothing");
    sb.ok(&setup_args(&["--tunable", "KeepaliveLimit=5"]));
    assert_eq!(std::fs::read_to_string(sb.root.join("config/ha.cfg")).unwrap(), ha_cfg);
    // ha.json stays, in step, for nodes not upgraded yet (a rolling upgrade)
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sb.root.join("config/ha.json")).unwrap()).unwrap();
    assert_eq!(json["vips"], serde_json::json!(["10.99.77.100/24"]), "{json}");
    assert_eq!(json["nodes"][1]["name"], "pve2", "{json}");
    sb.ok(&["apply"]);

    // a node of an earlier version changes ha.json after the upgrade: neither file is trusted
    let mut changed = json.clone();
    changed["vips"] = serde_json::json!(["10.99.77.101/24"]);
    std::fs::write(
        sb.root.join("config/ha.json"),
        serde_json::to_vec_pretty(&changed).unwrap(),
    )
    .unwrap();
    let smb_conf = std::fs::read_to_string(sb.root.join("samba/smb.conf")).unwrap();
    let r = sb.run(&["apply"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("hold different HA configs"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(sb.root.join("samba/smb.conf")).unwrap(),
        smb_conf,
        "nothing changed"
    );
}

fn as_str(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// The first IPv4 address of `dev` in netns `ns`.
fn address_in(ns: &str, dev: &str) -> String {
    let out = std::process::Command::new("ip")
        .args(["-n", ns, "-4", "-o", "addr", "show", dev])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let cidr = text.split_whitespace().skip_while(|w| *w != "inet").nth(1).unwrap();
    cidr.split('/').next().unwrap().to_string()
}

/// On a node that runs Ceph (PVE's ceph.conf present; here a real cluster of the test fixture)
/// ha-setup takes the RADOS lock by default, refuses lock arguments Ceph does not know, makes
/// the lock's own cephx user (caps for the lock object only, its keyring on pmxcfs for every
/// node) and writes the lock's client config and keyring, with which ctdbd's helper really
/// takes the lock.
#[test]
fn ha_setup_on_a_ceph_node_defaults_to_the_rados_lock() {
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;

    let lab = common::ceph::Ceph::start();
    let ns = lab.client_netns("gw");
    // two "nodes" on the cluster network, both this netns, so they answer ping
    let first = address_in(&ns, "ceph0");
    let prefix = first.rsplit_once('.').unwrap().0.to_string();
    let second = format!("{prefix}.250");
    for cmd in [
        vec!["-n", &ns, "link", "set", "lo", "up"],
        vec!["-n", &ns, "addr", "add", &format!("{second}/24"), "dev", "ceph0"],
    ] {
        assert!(std::process::Command::new("ip").args(&cmd).status().unwrap().success());
    }
    let mut sb = Sandbox::new();
    // ip netns exec (not nsenter): its /sys shows the netns' interfaces, which ha-setup checks
    sb.wrapper = vec!["ip".into(), "netns".into(), "exec".into(), ns.clone()];
    std::fs::create_dir_all(sb.root.join("pve")).unwrap();
    std::fs::copy(lab.conf(), sb.root.join("pve/ceph.conf")).unwrap();
    let fs: serde_json::Value = serde_json::from_str(&lab.ceph(&["fs", "ls", "--format", "json"])).unwrap();
    let pool = fs[0]["metadata_pool"].as_str().unwrap().to_string();
    lab.ceph(&["auth", "get-or-create", "client.nocaps"]);

    let nodes = format!("n1={first},n2={second}");
    let vip = format!("{prefix}.200/24");
    let setup = |extra: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = ["ha-setup", "--vip", &vip, "--interface", "ceph0", "--nodes", &nodes]
            .map(String::from)
            .to_vec();
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };

    // lock arguments Ceph does not know: refused on the lock field, nothing written
    let before = sb.snapshot();
    for (lock, message) in [
        ("ceph:ceph:client.admin:no-such-pool:lock".to_string(), "not a pool"),
        (format!("ceph:ceph:client.nocaps:{pool}:lock"), "no mon caps"),
        (format!("ceph:ceph:client.ghost:{pool}:lock"), "does not exist"),
        // the lock's own user, to be made: its caps would not cover another object
        (format!("ceph:ceph:client.smbgw-ctdb:{pool}:other"), "smbgw-ctdb-lock*"),
        (
            "ceph:ceph:client.smbgw-ctdb:no-such-pool:smbgw-ctdb-lock".to_string(),
            "not a pool",
        ),
    ] {
        let args = setup(&["--lock", &lock, "--output-format", "json"]);
        let r = sb.run(&as_str(&args));
        assert_eq!(r.code, 1, "{lock}: {}{}", r.stdout, r.stderr);
        let err: serde_json::Value = serde_json::from_str(r.stderr.trim()).unwrap();
        assert_eq!(err["field"].as_str(), Some("lock"), "{err}");
        assert!(err["message"].as_str().unwrap().contains(message), "{err}");
    }
    assert_eq!(sb.snapshot(), before, "a refused ha-setup changed files");
    let lock_user = || -> Option<serde_json::Value> {
        let out = std::process::Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", lab.daemons_netns()))
            .args(["ceph", "-c"])
            .arg(lab.conf())
            .args(["auth", "get", "client.smbgw-ctdb", "--format", "json"])
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()[0].clone())
    };
    assert!(lock_user().is_none(), "a refused ha-setup made the lock user");

    // the default on a Ceph node: RADOS, in the CephFS metadata pool, as the lock's own user
    sb.ok(&as_str(&setup(&[])));
    let user = lock_user().expect("ha-setup made the lock user");
    assert_eq!(
        user["caps"],
        serde_json::json!({
            "mon": "allow r",
            "osd": format!("allow rwx pool={pool} object_prefix smbgw-ctdb-lock"),
        }),
        "caps for the lock object only"
    );
    let user_key = user["key"].as_str().unwrap().to_string();
    let admin: serde_json::Value =
        serde_json::from_str(&lab.ceph(&["auth", "get", "client.admin", "--format", "json"])).unwrap();
    assert_ne!(admin[0]["key"].as_str().unwrap(), user_key, "not client.admin's key");
    let ctdb_dir = sb.root.join("ctdb");
    let ctdb_conf = std::fs::read_to_string(ctdb_dir.join("ctdb.conf")).unwrap();
    let client_conf = ctdb_dir.join("ceph-lock.conf");
    let expected = format!(
        "cluster lock = !/usr/bin/env CEPH_CONF={} /usr/libexec/ctdb/ctdb_mutex_ceph_rados_helper ceph client.smbgw-ctdb {pool} smbgw-ctdb-lock 10\n",
        client_conf.display()
    );
    assert!(ctdb_conf.contains(&expected), "{ctdb_conf}");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let conf_text = std::fs::read_to_string(&client_conf).unwrap();
    assert_eq!(mode(&client_conf), 0o644);
    assert!(
        conf_text.contains("[client.smbgw-ctdb]\n")
            && conf_text.contains("\trados_osd_op_timeout = 1\n")
            && conf_text.contains("\trados_mon_op_timeout = 1\n"),
        "{conf_text}"
    );
    let keyring = ctdb_dir.join("ceph-lock.keyring");
    assert_eq!(mode(&keyring), 0o600);
    let key_text = std::fs::read_to_string(&keyring).unwrap();
    let key = key_text.split("key = ").nth(1).unwrap().trim();
    assert_eq!(key, user_key);
    assert!(!conf_text.contains(key), "no secret in the 0644 config");
    // the cluster-wide copy every node takes its key from (PVE's /etc/pve/priv)
    let shared = sb.root.join("pve/priv/ceph.client.smbgw-ctdb.keyring");
    assert_eq!(mode(&shared), 0o600);
    assert_eq!(std::fs::read_to_string(&shared).unwrap(), key_text);
    let ha_cfg = std::fs::read_to_string(sb.root.join("config/ha.cfg")).unwrap();
    assert!(
        ha_cfg.contains(&format!("\tlock ceph:ceph:client.smbgw-ctdb:{pool}:smbgw-ctdb-lock\n")),
        "{ha_cfg}"
    );

    // the rendered line, run as ctdbd runs it (we are its parent), takes the lock
    let line = ctdb_conf
        .lines()
        .find_map(|l| l.trim().strip_prefix("cluster lock = !"))
        .unwrap();
    let mut helper = std::process::Command::new("nsenter")
        .arg(format!("--net=/run/netns/{ns}"))
        .args(line.split_whitespace())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut answer = [0u8];
    helper.stdout.as_mut().unwrap().read_exact(&mut answer).unwrap();
    // SIGTERM makes the helper unlock
    std::process::Command::new("kill")
        .args(["-TERM", &helper.id().to_string()])
        .status()
        .unwrap();
    let out = helper.wait_with_output().unwrap();
    assert_eq!(
        answer[0],
        b'0',
        "the helper holds the lock: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // ha-setup again, this node's keyrings gone: the user is reused, not made anew
    std::fs::remove_file(&keyring).unwrap();
    std::fs::remove_file(&shared).unwrap();
    sb.ok(&as_str(&setup(&[])));
    assert_eq!(
        lock_user().unwrap()["key"].as_str(),
        Some(user_key.as_str()),
        "the same user"
    );
    assert_eq!(std::fs::read_to_string(&keyring).unwrap(), key_text);
    assert_eq!(std::fs::read_to_string(&shared).unwrap(), key_text);

    // Ceph out of reach (the node's link down): apply heals without it while the node has the
    // lock's keyring or the cluster-wide copy (a node joining later), and reports the keyring
    // it can get from neither without giving up the rest
    let link = |state: &str| {
        assert!(std::process::Command::new("ip")
            .args(["-n", &ns, "link", "set", "ceph0", state])
            .status()
            .unwrap()
            .success());
    };
    link("down");
    std::fs::remove_file(ctdb_dir.join("ctdb.conf")).unwrap();
    sb.ok(&["apply"]);
    assert!(
        ctdb_dir.join("ctdb.conf").exists(),
        "apply rebuilt ctdb.conf without Ceph"
    );
    std::fs::remove_file(&keyring).unwrap();
    sb.ok(&["apply"]);
    assert_eq!(
        std::fs::read_to_string(&keyring).unwrap(),
        key_text,
        "taken from the cluster-wide copy"
    );
    assert_eq!(mode(&keyring), 0o600);
    std::fs::remove_file(ctdb_dir.join("ctdb.conf")).unwrap();
    std::fs::remove_file(&keyring).unwrap();
    std::fs::remove_file(&shared).unwrap();
    let r = sb.run(&["apply"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("CTDB lock's Ceph files"), "{}", r.stderr);
    assert!(ctdb_dir.join("ctdb.conf").exists(), "the rest was converged");
    assert!(!keyring.exists());
    link("up");
    sb.ok(&["apply"]);
    assert_eq!(
        std::fs::read_to_string(&keyring).unwrap(),
        key_text,
        "fetched again once Ceph answers"
    );
    assert_eq!(std::fs::read_to_string(&shared).unwrap(), key_text);

    // another user named explicitly keeps working: its keyring on this node only (PVE's priv/
    // has its own admin keyring, never overwritten)
    sb.ok(&as_str(&setup(&[
        "--lock",
        &format!("ceph:ceph:client.admin:{pool}:smbgw-ctdb-lock"),
    ])));
    assert!(std::fs::read_to_string(&keyring)
        .unwrap()
        .starts_with("[client.admin]\n"));
    assert!(std::fs::read_to_string(&client_conf)
        .unwrap()
        .contains("[client.admin]\n"));
    assert!(!sb.root.join("pve/priv/ceph.client.admin.keyring").exists());

    // another lock chosen: no keyring stays behind
    sb.ok(&as_str(&setup(&["--lock", "corosync"])));
    assert!(!keyring.exists() && !client_conf.exists());
    assert!(
        !shared.exists(),
        "the cluster-wide copy of the lock user's key is gone too"
    );
    let ctdb_conf = std::fs::read_to_string(ctdb_dir.join("ctdb.conf")).unwrap();
    assert!(ctdb_conf.contains("smbgw-ctdb-quorum-lock"), "{ctdb_conf}");
    // a cluster set up keeps its lock when ha-setup runs again without --lock
    sb.ok(&as_str(&setup(&[])));
    let ha_cfg = std::fs::read_to_string(sb.root.join("config/ha.cfg")).unwrap();
    assert!(ha_cfg.contains("\tlock corosync\n"), "{ha_cfg}");
}
