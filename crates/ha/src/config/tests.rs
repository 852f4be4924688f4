//! Unit tests of the HA model in crates/ha/src/config: the checks of floating addresses,
//! interfaces, nodes, cluster lock specs and tunables, each refusal with its message, and the
//! round trip through JSON. In their own file so the model stays short to read.

use super::*;

fn sysfs(ifaces: &[&str]) -> (tempfile::TempDir, Environment) {
    let dir = tempfile::tempdir().unwrap();
    for i in ifaces {
        std::fs::create_dir_all(dir.path().join("class/net").join(i)).unwrap();
    }
    let env = Environment {
        sysfs: dir.path().to_owned(),
    };
    (dir, env)
}

fn config() -> HaConfig {
    HaConfig {
        nodes: parse_nodes("n1=10.0.0.1,n2=10.0.0.2,n3=10.0.0.3", |_| None).unwrap(),
        vips: parse_vips("10.1.1.100/24,10.1.1.101/24").unwrap(),
        interface: "vmbr0".into(),
        lock: LockSpec::Corosync,
        tunables: Tunables::default(),
        ad: false,
    }
}

fn err(cfg: &HaConfig, env: &Environment) -> String {
    let e = cfg.validate(env).unwrap_err();
    assert_eq!(e.kind, smbgw_core::ErrorKind::Input);
    e.message
}

#[test]
fn good_config_validates() {
    let (_d, env) = sysfs(&["vmbr0", "lo"]);
    config().validate(&env).unwrap();
    assert!(config().warnings().is_empty());
}

#[test]
fn bad_vips_are_refused() {
    for (bad, why) in [
        ("10.1.1.100", "no prefix"),
        ("10.1.1.100/33", "prefix length"),
        ("10.1.1.100/0", "prefix length"),
        ("10.1.1.100/-1", "not a number"),
        ("10.1.1.100/+24", "not a number"),
        ("10.1.1.0/24", "network address"),
        ("10.1.1.255/24", "broadcast address"),
        ("255.255.255.255/32", "broadcast"),
        ("10.1.1/24", "not an IP"),
        ("10.1.1.300/24", "not an IP"),
        ("127.0.0.1/8", "unicast"),
        ("0.0.0.0/8", "unicast"),
        ("224.0.0.5/24", "unicast"),
        ("10.1.1.1/24;reboot", "not a number"),
        ("$(reboot)/24", "not an IP"),
        ("fe80::1/129", "prefix length"),
    ] {
        let e = bad.parse::<Vip>().unwrap_err();
        assert!(e.message.contains(why), "{bad}: {}", e.message);
    }
    assert_eq!("10.1.1.1/31".parse::<Vip>().unwrap().prefix, 31);
    assert!("2001:db8::10/64".parse::<Vip>().is_ok());
}

#[test]
fn vip_conflicts_are_refused() {
    let (_d, env) = sysfs(&["vmbr0"]);
    let mut cfg = config();
    cfg.vips = parse_vips("10.0.0.2/24").unwrap();
    assert!(err(&cfg, &env).contains("address of node \"n2\""));
    cfg.vips = parse_vips("10.1.1.100/24, 10.1.1.100/16").unwrap();
    assert!(err(&cfg, &env).contains("listed twice"));
    cfg.vips.clear();
    assert!(err(&cfg, &env).contains("no VIP"));
}

#[test]
fn interface_must_exist_and_be_sane() {
    let (_d, env) = sysfs(&["eth0"]);
    let e = err(&config(), &env);
    assert!(e.contains("does not exist") && e.contains("eth0"), "{e}");
    for bad in ["", "a/b", "..", "eth0;ls", "veryveryverylongname", "eth 0"] {
        let mut cfg = config();
        cfg.interface = bad.into();
        assert!(err(&cfg, &env).contains("not valid"), "{bad}");
    }
}

#[test]
fn nodes_are_checked() {
    let (_d, env) = sysfs(&["vmbr0"]);
    let mut cfg = config();
    cfg.nodes.truncate(1);
    assert!(err(&cfg, &env).contains("at least 2"));
    let mut cfg = config();
    cfg.nodes[1].name = "N1".into();
    assert!(err(&cfg, &env).contains("listed twice"));
    let mut cfg = config();
    cfg.nodes[1].address = cfg.nodes[0].address;
    assert!(err(&cfg, &env).contains("two nodes"));
    let mut cfg = config();
    cfg.nodes[2].address = "127.0.0.1".parse().unwrap();
    assert!(err(&cfg, &env).contains("cannot reach"));
    for bad in [
        "n1;reboot",
        "$(id)",
        "`id`",
        "n 1",
        "-n1",
        "n1-",
        "",
        "a..b",
        "n1|x",
        "ñ1",
        "n1\n",
    ] {
        let e = parse_nodes(&format!("{bad}=10.0.0.9"), |_| None).unwrap_err();
        assert!(e.message.contains("not a valid host name"), "{bad:?}: {}", e.message);
    }
    assert!(parse_nodes("n1=10.0.0.999", |_| None)
        .unwrap_err()
        .message
        .contains("not an IP"));
    let nodes = parse_nodes("pve1,pve2", |n| (n == "pve1").then(|| "10.0.0.1".parse().unwrap()));
    assert!(nodes.unwrap_err().message.contains("pve2=ADDRESS"));
}

#[test]
fn lock_specs() {
    assert_eq!(LockSpec::parse("corosync", false).unwrap(), LockSpec::Corosync);
    assert_eq!(
        LockSpec::parse("file:/mnt/cephfs/ctdb.lock", false).unwrap(),
        LockSpec::File("/mnt/cephfs/ctdb.lock".into())
    );
    let ceph = LockSpec::parse("ceph:ceph:client.admin:rbd:ctdb_lock", false).unwrap();
    assert_eq!(ceph.to_string(), "ceph:ceph:client.admin:rbd:ctdb_lock");
    // a bare id (as `ceph --id` takes it, and as earlier configs may hold it) is a client's
    let bare = LockSpec::parse("ceph:ceph:admin:rbd:ctdb_lock", false).unwrap();
    assert_eq!(bare, ceph);
    assert!(LockSpec::parse("ceph:ceph:osd.0:rbd:ctdb_lock", false).is_err());
    assert!(LockSpec::parse("none", false)
        .unwrap_err()
        .message
        .contains("--no-lock"));
    assert_eq!(LockSpec::parse("none", true).unwrap(), LockSpec::None);
    for bad in [
        "file:relative",
        "file:/a b",
        "file:/a/../b",
        "ceph:a:b:c",
        "ceph:a:b:c:d;rm",
        "etcd",
        "",
    ] {
        assert!(LockSpec::parse(bad, true).is_err(), "{bad}");
    }
    let mut cfg = config();
    cfg.lock = LockSpec::None;
    assert!(cfg.warnings()[0].contains("split brain"));
}

#[test]
fn tunables() {
    let mut t = Tunables::default();
    t.set("KeepaliveLimit=5").unwrap();
    t.set("MonitorInterval=15").unwrap();
    assert_eq!((t.keepalive_interval, t.keepalive_limit), (1, 5));
    assert_eq!(t.extra["MonitorInterval"], 15);
    assert!(t.clone().set("KeepaliveInterval=0").is_err());
    assert!(t.clone().set("Bad Name=1").is_err());
    assert!(t.clone().set("X=-1").is_err());
    assert!(t.clone().set("X").is_err());
}

#[test]
fn config_round_trips_through_json() {
    let cfg = config();
    let json = serde_json::to_string(&cfg).unwrap();
    assert!(
        json.contains("\"10.1.1.100/24\"") && json.contains("\"corosync\""),
        "{json}"
    );
    assert_eq!(serde_json::from_str::<HaConfig>(&json).unwrap(), cfg);
    let bad = json.replace("10.1.1.100/24", "10.1.1.0/24");
    assert!(serde_json::from_str::<HaConfig>(&bad).is_err());
}
