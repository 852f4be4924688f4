//! Time Machine shares against a real smbd, testparm and smbclient: `--time-machine` with
//! `--time-machine-max-size` renders vfs_fruit's parameters as Samba parses them, the share
//! takes a backup's files, the size Mac clients are told is the max size, and the combinations
//! that cannot work (no `--macos`, no streams, a max size without Time Machine or above the
//! quota, a malformed size) are refused on their field before anything is written.

mod common;

use std::process::Command;

use common::Sandbox;

const ALICE: (&str, &str) = ("alice", "Alice-pw1");

fn sandbox_with_share(extra: &[&str]) -> Sandbox {
    let sb = Sandbox::new();
    sb.add_user(ALICE.0, ALICE.1);
    let path = sb.data("backups");
    let mut args = vec![
        "create",
        "backups",
        "--path",
        path.to_str().unwrap(),
        "--users",
        "alice",
    ];
    args.extend_from_slice(extra);
    sb.ok(&args);
    sb
}

/// `testparm -s` of the sandbox's live config: what Samba itself parsed.
fn testparm(sb: &Sandbox) -> String {
    let out = Command::new("testparm")
        .arg("-s")
        .arg(sb.root.join("samba/smb.conf"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "testparm: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The share's section of a testparm dump.
fn section<'a>(dump: &'a str, name: &str) -> &'a str {
    let start = dump
        .find(&format!("[{name}]"))
        .unwrap_or_else(|| panic!("no [{name}] in\n{dump}"));
    let rest = &dump[start + 1..];
    &dump[start..start + 1 + rest.find("\n[").unwrap_or(rest.len())]
}

/// Total size smbclient's `du` reports for the share, in bytes.
fn reported_size(sb: &Sandbox) -> u64 {
    let out = sb.smbclient("backups", Some(ALICE), "du").unwrap();
    // "\t\tN blocks of size S. F blocks available"
    let line = out
        .lines()
        .find(|l| l.contains("blocks of size"))
        .unwrap_or_else(|| panic!("{out}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let blocks: u64 = words[0].parse().unwrap();
    let size: u64 = words[4].trim_end_matches('.').parse().unwrap();
    blocks * size
}

#[test]
fn a_time_machine_share_is_parsed_by_samba_and_takes_a_backup() {
    let sb = sandbox_with_share(&["--macos", "1", "--time-machine", "1", "--time-machine-max-size", "2G"]);
    let dump = testparm(&sb);
    let global = section(&dump, "global");
    assert!(global.contains("\tfruit:aapl = yes\n"), "{global}");
    let share = section(&dump, "backups");
    for line in [
        "\tvfs objects = catia fruit streams_xattr\n",
        "\tfruit:time machine = yes\n",
        "\tfruit:time machine max size = 2G\n",
        "\tfruit:metadata = stream\n",
    ] {
        assert!(share.contains(line), "{line:?} missing in\n{share}");
    }
    // stored as given, read back as the same property
    let cfg = std::fs::read_to_string(sb.root.join("config/shares.cfg")).unwrap();
    assert!(cfg.contains("time-machine 1"), "{cfg}");
    assert!(cfg.contains("time-machine-max-size 2G"), "{cfg}");
    let json: serde_json::Value =
        serde_json::from_str(&sb.ok(&["show", "backups", "--output-format", "json"])).unwrap();
    assert_eq!(json["time-machine"], true, "{json}");
    assert_eq!(json["time-machine-max-size"], 2u64 << 30, "{json}");

    // a backup's files go in and come back
    let band = sb.write_local("band", &[0x5a; 64 * 1024]);
    sb.smbclient(
        "backups",
        Some(ALICE),
        &format!("mkdir mac.sparsebundle; put {} mac.sparsebundle/0", band.display()),
    )
    .unwrap();
    let stored = sb.data("backups").join("mac.sparsebundle/0");
    assert_eq!(std::fs::read(&stored).unwrap(), vec![0x5a; 64 * 1024]);
    // what the Mac is told the disk holds is the max size, not the node's filesystem
    assert_eq!(reported_size(&sb), 2u64 << 30);

    // off again: the fruit parameters and the global go
    sb.ok(&[
        "update",
        "backups",
        "--time-machine",
        "0",
        "--delete",
        "time-machine-max-size",
    ]);
    let dump = testparm(&sb);
    assert!(!dump.contains("time machine"), "{dump}");
    assert!(!dump.contains("fruit:aapl"), "{dump}");
    assert_ne!(reported_size(&sb), 2u64 << 30);
}

#[test]
fn impossible_time_machine_settings_are_refused_on_their_field_and_nothing_is_written() {
    let sb = sandbox_with_share(&["--macos", "1"]);
    let before = sb.snapshot();
    let other = sb.data("other");
    let create = |extra: &[&str]| common::args(&["create", "other", "--path", other.to_str().unwrap()], extra);
    let update = |extra: &[&str]| common::args(&["update", "backups"], extra);
    for (args, field, reason) in [
        (create(&["--time-machine", "1"]), "time-machine", "needs --macos 1"),
        (
            update(&["--macos", "0", "--time-machine", "1"]),
            "time-machine",
            "needs --macos 1",
        ),
        (
            create(&["--macos", "1", "--time-machine-max-size", "100G"]),
            "time-machine-max-size",
            "needs --time-machine 1",
        ),
        (
            update(&["--time-machine-max-size", "500M"]),
            "time-machine-max-size",
            "needs --time-machine 1",
        ),
        (
            create(&["--macos", "1", "--time-machine", "1", "--time-machine-max-size", "lots"]),
            "time-machine-max-size",
            "invalid size",
        ),
        (
            update(&["--time-machine", "1", "--time-machine-max-size", "10X"]),
            "time-machine-max-size",
            "invalid size",
        ),
        (
            create(&[
                "--macos",
                "1",
                "--quota",
                "1G",
                "--time-machine",
                "1",
                "--time-machine-max-size",
                "2G",
            ]),
            "time-machine-max-size",
            "above the share's --quota",
        ),
        (
            create(&["--macos", "1", "--time-machine", "1", "--streams", "0"]),
            "streams",
            "Time Machine writes its backups' metadata as streams",
        ),
        (
            update(&["--time-machine", "1", "--streams", "0"]),
            "streams",
            "Time Machine writes its backups' metadata as streams",
        ),
    ] {
        sb.assert_refused(&args, field, reason, &before);
        assert!(!other.exists(), "{args:?} created the share's directory");
    }
    // within the quota it is taken; lowering the quota under it is then refused on the max size
    sb.ok(&[
        "update",
        "backups",
        "--time-machine",
        "1",
        "--time-machine-max-size",
        "1G",
    ]);
    let before = sb.snapshot();
    let r = sb.run(&["update", "backups", "--quota", "512M", "--output-format", "json"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let err: serde_json::Value = serde_json::from_str(r.stderr.trim()).unwrap();
    assert_eq!(err["field"], "time-machine-max-size", "{err}");
    assert_eq!(sb.snapshot(), before);
}
