//! Unit tests of the validation in crates/core/src/validate: every rule with values it accepts
//! and values it refuses, and the messages that say why. In their own file so the checks stay
//! short to read.

use super::*;

#[test]
fn protected_trees_are_refused_with_what_they_hold() {
    let own = [
        std::path::PathBuf::from("/var/lib/pve-smbgateway"),
        "/tmp/sb/root/config".into(),
    ];
    for bad in [
        "/",
        "/var",
        "/var/lib",
        "/root",
        "/home",
        "/etc",
        "/usr",
        "/boot",
        "/var/lib/pve-cluster",
        "/var/lib/samba",
        "/var/lib/samba/private/x",
        "/var/lib/pve-smbgateway/x",
        "/tmp/sb",
        "/tmp/sb/root/config/x",
    ] {
        let err = protected_trees(bad, &own).unwrap_err();
        assert_eq!(err.kind, crate::ErrorKind::Input);
        assert!(err.message.contains(bad), "{bad}: {err}");
    }
    let err = protected_trees("/var/lib", &own).unwrap_err();
    assert!(
        err.message.contains("is /var/lib (the state of the system's services)"),
        "{err}"
    );
    let err = protected_trees("/var/lib/samba/private/x", &own).unwrap_err();
    assert!(
        err.message.contains("is inside /var/lib/samba (Samba's state)"),
        "{err}"
    );
    for good in [
        "/home/alice/share",
        "/srv/data",
        "/var/lib/vz-shares/x",
        "/tmp/sb/data/x",
        "/mnt/pve/cephfs/s",
    ] {
        protected_trees(good, &own).unwrap_or_else(|e| panic!("{good}: {e}"));
    }
}

#[test]
fn share_names() {
    for good in ["data", "Team Data", "backup$", "a.b-c_d", "x", &"n".repeat(80)] {
        share_name(good).unwrap_or_else(|e| panic!("{good}: {e}"));
    }
    for bad in [
        "",
        " data",
        "data ",
        "-data",
        "#x",
        "a/b",
        "a\\b",
        "a[b",
        "a]b",
        "a:b",
        "a|b",
        "a<b",
        "a>b",
        "a+b",
        "a=b",
        "a;b",
        "a,b",
        "a*b",
        "a?b",
        "a\"b",
        "a%b",
        "global",
        "GLOBAL",
        "printers",
        "IPC$",
        "print$",
        ".",
        "..",
        "a\nb",
        "a\rb",
        "a\tb",
        "a\0b",
        "dаta",
        "da\u{200b}ta",
        &"n".repeat(81),
    ] {
        assert!(share_name(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn paths() {
    for good in [
        "/srv/data",
        "/mnt/pve/tank/share 1",
        "/var/lib/vz/smb",
        "/home/ünïcode",
        "/root/x",
    ] {
        path_syntax(good).unwrap_or_else(|e| panic!("{good}: {e}"));
    }
    for bad in [
        "",
        "srv",
        "/",
        "/etc",
        "/etc/samba",
        "/proc/1",
        "/sys",
        "/dev/sda",
        "/boot",
        "/run/x",
        "/usr/share",
        "/srv/../etc",
        "/srv/./x",
        "/srv//x",
        "/srv/x/",
        "/srv/%u",
        "/srv/a\\b",
        "/srv/a\nb",
        "/srv/\u{202e}x",
        "/srv/ a",
        "/var/lib/samba/private",
        "/srv/\"x",
    ] {
        assert!(path_syntax(bad).is_err(), "{bad:?} accepted");
    }
    let err = path_syntax("/srv/a/../b").unwrap_err();
    assert!(err.message.contains("\"/srv/b\""), "{}", err.message);
}

#[test]
fn symlinks_refused() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    std::fs::create_dir(&real).unwrap();
    std::os::unix::fs::symlink(&real, dir.path().join("link")).unwrap();
    path_on_disk(real.to_str().unwrap()).unwrap();
    path_on_disk(real.join("missing/child").to_str().unwrap()).unwrap();
    assert!(path_on_disk(dir.path().join("link").to_str().unwrap()).is_err());
    assert!(path_on_disk(dir.path().join("link/sub").to_str().unwrap()).is_err());
    std::fs::write(dir.path().join("file"), b"").unwrap();
    assert!(path_on_disk(dir.path().join("file").to_str().unwrap()).is_err());
}

#[test]
fn texts() {
    text("comment", "Team data – shared").unwrap();
    for bad in [
        "a\nb",
        "a\r\nb",
        "a\\",
        " a",
        "100%",
        "a]",
        "[x",
        "include = /etc/passwd",
        "x\u{2028}y",
        "x\u{85}y",
        &"c".repeat(257),
    ] {
        assert!(text("comment", bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn accounts() {
    for good in ["alice", "_svc", "bob-1", "c.d"] {
        account_name("user", good).unwrap();
    }
    for bad in [
        "",
        "Alice",
        "1bob",
        "-x",
        "a b",
        "a,b",
        "a@b",
        "root\n",
        &"a".repeat(33),
        "ädmin",
        "a\\b",
    ] {
        assert!(account_name("user", bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn domain_principals() {
    for good in [
        "alice",
        "EXAMPLE\\alice",
        "EXAMPLE\\Domain Users",
        "CORP-1\\svc.backup",
        "ex_2\\O'Neil",
    ] {
        principal("user", good).unwrap();
    }
    for bad in [
        "EXAMPLE\\",
        "\\alice",
        "EXAMPLE\\a\\b",
        "EXAMPLE\\ alice",
        "EXAMPLE\\alice ",
        "EXAMPLE\\al\"ice",
        "EXAMPLE\\a%U",
        "EXAMPLE\\a,b",
        "EXAMPLE\\a\nb",
        "EXAMPLE\\dot.",
        "TOOLONGDOMAINNAME1\\a",
        "EX AMPLE\\a",
        "EXAMPLE\\ädmin",
        "EXAMPLE\\a[1]",
        "12345\\a",
    ] {
        assert!(principal("user", bad).is_err(), "{bad:?} accepted");
    }
    assert_eq!(principal_domain("EXAMPLE\\bob"), Some("EXAMPLE"));
    assert_eq!(principal_domain("bob"), None);
}

#[test]
fn domains_and_hosts() {
    for good in ["example.com", "ad.corp.example", "x-1.test"] {
        domain_name("domain", good).unwrap();
    }
    for bad in [
        "example", ".com", "a..b", "-a.com", "a.com-", "1.2.3.4", "a b.com", "a.com\n", "ä.com",
    ] {
        assert!(domain_name("domain", bad).is_err(), "{bad:?} accepted");
    }
    for good in ["dc1", "dc1.example.com", "10.0.0.1", "::1"] {
        host_name("dc", good).unwrap();
    }
    for bad in ["", "-dc", "dc;rm", "dc 1", "$(x)"] {
        assert!(host_name("dc", bad).is_err(), "{bad:?} accepted");
    }
    for good in ["MEM1", "pve-node1", "A_B"] {
        netbios_name("n", good).unwrap();
    }
    for bad in ["", "1234", "SIXTEENCHARSLONG", "a.b", "-x", "a b"] {
        assert!(netbios_name("n", bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn hosts() {
    for good in [
        "10.0.0.1",
        "10.0.0.0/8",
        "fd00::1",
        "fd00::/64",
        "10.1.",
        "0.0.0.0/0",
        "::/0",
    ] {
        host_entry(good).unwrap_or_else(|e| panic!("{good}: {e}"));
    }
    for bad in [
        "",
        "10.0.0.0/33",
        "10.0.0.0/",
        "fd00::/129",
        "-host",
        "a..b",
        "10.0.0",
        "ALL EXCEPT",
        "x;y",
        "1.2.3.4/+8",
        "256.1.1.1",
        "010.0.0.1",
        "10.0.0.0/0008",
        "10.0.0.0/255.0.255.0",
        "10.0.0.0/-1",
        "10.0.0.0/8/8",
        "10.256.",
        "10.01.",
        "1.2.3.4.",
        ".",
        "fe80::1%eth0",
        "[fd00::1]",
        "10.0.0.*",
        "@netgroup",
        ".example.com",
    ] {
        assert!(host_entry(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn host_names_and_keywords_say_why() {
    // smbd runs with hostname lookups = no: a name is stored but never matches
    for name in ["localhost", "LocalHost", "nas.example.com", "host-1"] {
        let err = host_entry(name).unwrap_err();
        assert!(err.message.contains("hostname lookups = no"), "{}", err.message);
        assert!(err.message.contains("address"), "{}", err.message);
    }
    assert!(host_entry("localhost").unwrap_err().message.contains("127.0.0.1,::1"));
    for keyword in ["ALL", "all", "LOCAL", "local", "EXCEPT", "FAIL"] {
        let err = host_entry(keyword).unwrap_err();
        assert!(err.message.contains("keyword"), "{}", err.message);
    }
    let err = host_entry("10.0.0.1/8").unwrap_err();
    assert!(
        err.message.contains("10.0.0.0/8") && err.message.contains("single host 10.0.0.1"),
        "{}",
        err.message
    );
}

#[test]
fn hosts_normalised_as_samba_reads_them() {
    for (given, stored) in [
        ("10.0.0.0/08", "10.0.0.0/8"),
        ("10.0.0.1/32", "10.0.0.1"),
        ("10.0.0.0/255.255.0.0", "10.0.0.0/16"),
        ("0.0.0.0/0.0.0.0", "0.0.0.0/0"),
        ("10.", "10.0.0.0/8"),
        ("192.168.1.", "192.168.1.0/24"),
        ("FD00::1", "fd00::1"),
        ("FD00:0:0::/064", "fd00::/64"),
        ("fd00::1/128", "fd00::1"),
        ("::ffff:10.0.0.1", "10.0.0.1"),
        ("0.0.0.0/0", "0.0.0.0/0"),
    ] {
        assert_eq!(host_list("hosts-allow", given).unwrap(), [stored], "{given}");
    }
    // the same host in two spellings is one entry listed twice
    for twice in [
        "10.0.0.1,10.0.0.1/32",
        "fd00::1,FD00:0::1",
        "10.0.0.0/8,10.",
        "10.0.0.0/08,10.0.0.0/8",
    ] {
        let err = host_list("hosts-deny", twice).unwrap_err();
        assert!(err.message.contains("twice"), "{twice}: {}", err.message);
    }
    let a = host_network("10.0.0.0/8").unwrap();
    assert!(a.contains(&host_network("10.2.3.4").unwrap()));
    assert!(a.contains(&host_network("10.2.0.0/16").unwrap()));
    assert!(a.contains(&a));
    assert!(!a.contains(&host_network("11.0.0.1").unwrap()));
    assert!(!a.contains(&host_network("0.0.0.0/0").unwrap()));
    // an IPv4-mapped address is the IPv4 client smbd sees
    assert!(a.contains(&host_network("::ffff:a00:1").unwrap()));
    assert!(host_network("0.0.0.0/0").unwrap().contains(&a));
    assert!(!host_network("::/0").unwrap().contains(&a));
    assert!(host_network("fd00::/8")
        .unwrap()
        .contains(&host_network("fdff::1").unwrap()));
}
