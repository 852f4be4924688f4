//! The PBS target from storage.cfg, how the client's failures are told apart, the backoff, and
//! the client's output as the gateway reads it. The client itself runs in tests/pbs.rs.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use smbgw_core::pve_storage;

use super::client::archive_path;
use super::output::json_error;
use super::retry::Jitter;
use super::*;

const FP: &str = "6f:0a:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee";

fn storage(props: &str) -> Storage {
    let text = format!("pbs: backup\n{props}");
    pve_storage::parse(&text)
        .into_iter()
        .find(|s| s.id == "backup")
        .unwrap()
}

fn refusal(props: &str) -> (Option<String>, String) {
    let e = PbsTarget::from_storage(&storage(props), "pve1").unwrap_err();
    assert_eq!(e.kind, smbgw_sys::ErrorKind::Input, "{e:?}");
    (e.field, e.message)
}

#[test]
fn a_pbs_storage_gives_the_repository_pve_uses() {
    let t = PbsTarget::from_storage(
        &storage(&format!("\tserver pbs.example.com\n\tdatastore store1\n\tfingerprint {FP}\n\tusername gw@pbs!smb\n\tnamespace smb/gw\n")),
        "pve1",
    )
    .unwrap();
    assert_eq!(t.repository(), "gw@pbs!smb@pbs.example.com:store1");
    assert_eq!(t.namespace.as_deref(), Some("smb/gw"));
    assert_eq!(
        t.password_file(Path::new("/etc/pve")),
        Path::new("/etc/pve/priv/storage/backup.pw")
    );
    // defaults: root@pam, port 8007 left out; an IPv6 server in brackets, another port after it
    let t = PbsTarget::from_storage(&storage("\tserver fd00::2\n\tdatastore ds\n\tport 8008\n"), "pve1").unwrap();
    assert_eq!(t.repository(), "root@pam@[fd00::2]:8008:ds");
    assert_eq!(t.fingerprint, None);
}

#[test]
fn a_storage_that_cannot_take_backups_is_refused_naming_the_field() {
    let dir = pve_storage::parse("dir: backup\n\tpath /srv\n")
        .into_iter()
        .find(|s| s.id == "backup")
        .unwrap();
    let e = PbsTarget::from_storage(&dir, "pve1").unwrap_err();
    assert_eq!(e.field.as_deref(), Some("storage"));
    assert!(e.message.contains("is of type 'dir'"), "{}", e.message);

    let ok = "\tserver pbs\n\tdatastore ds\n";
    let cases = [
        (format!("{ok}\tdisable 1\n"), "storage", "is disabled"),
        (
            format!("{ok}\tnodes pve2,pve3\n"),
            "storage",
            "not enabled on node 'pve1'",
        ),
        ("\tdatastore ds\n".to_string(), "server", "names no server"),
        ("\tserver pbs\n".to_string(), "datastore", "names no datastore"),
        (
            "\tserver bad_host!\n\tdatastore ds\n".to_string(),
            "server",
            "\"bad_host!\"",
        ),
        (format!("{ok}\tport 70000\n"), "port", "\"70000\""),
        ("\tserver pbs\n\tdatastore ../x\n".to_string(), "datastore", "\"../x\""),
        (format!("{ok}\tusername backup\n"), "username", "user@realm"),
        (format!("{ok}\tusername a@pbs!\n"), "username", "user@realm"),
        (
            format!("{ok}\tfingerprint {}\n", FP.replace(':', "")),
            "fingerprint",
            "not a SHA-256 fingerprint",
        ),
        (
            format!("{ok}\tfingerprint {}\n", &FP[3..]),
            "fingerprint",
            "not a SHA-256 fingerprint",
        ),
        (
            format!("{ok}\tfingerprint {}:zz\n", &FP[..FP.len() - 3]),
            "fingerprint",
            "not a SHA-256 fingerprint",
        ),
        (
            format!("{ok}\tnamespace a/b/c/d/e/f/g/h\n"),
            "namespace",
            "up to 7 names",
        ),
        (format!("{ok}\tnamespace a//b\n"), "namespace", "up to 7 names"),
        (
            format!("{ok}\tencryption-key {FP}\n"),
            "encryption-key",
            "not supported yet",
        ),
    ];
    for (props, field, says) in cases {
        let (f, msg) = refusal(&props);
        assert_eq!(f.as_deref(), Some(field), "{props}: {msg}");
        assert!(msg.contains(says) && msg.contains("'backup'"), "{props}: {msg}");
    }
}

#[test]
fn fingerprints_have_pves_form() {
    assert!(fingerprint_ok(FP));
    assert!(fingerprint_ok(&FP.to_uppercase()));
    assert!(!fingerprint_ok(""));
    assert!(!fingerprint_ok(&format!("{FP}:00")));
    assert!(!fingerprint_ok(&format!(" {FP}")));
    assert!(!fingerprint_ok(&FP.replace(':', "-")));
}

#[test]
fn the_clients_failures_are_told_apart() {
    let e = |m: &str| format!("Starting backup: host/x/2024-01-01T00:00:00Z\nError: {m}\n");
    let cases = [
        ("error trying to connect: tcp connect error: Connection refused (os error 111)", Failure::Transient),
        ("error trying to connect: tcp connect error: deadline has elapsed", Failure::Transient),
        ("error trying to connect: tcp connect error: No route to host (os error 113)", Failure::Transient),
        ("http request timed out", Failure::Transient),
        (
            "unable to acquire lock on backup group directory \"/ds/host/x\" - another backup is already running",
            Failure::Transient,
        ),
        ("503 Service Unavailable", Failure::Transient),
        ("list not finished in time", Failure::Transient),
        // numbers in a path say nothing about the kind
        (
            "unable to open snapshot directory \"/ds/host/pve1-smbgw-x401/2024-01-01T00:00:00Z\" for locking - ENOENT: No such file or directory",
            Failure::Other,
        ),
        ("permission check failed.", Failure::Auth),
        ("authentication failed - invalid credentials", Failure::Auth),
        (
            "error building client for repository root@pam@pbs:8007:ds - no password input mechanism available",
            Failure::Auth,
        ),
        (
            "error trying to connect: error:0A000086:SSL routines:tls_post_process_server_certificate:certificate verify failed:../ssl/statem/statem_clnt.c:1889:",
            Failure::Fingerprint,
        ),
        ("no such datastore 'ds'", Failure::Datastore),
        ("namespace 'smb' does not exist", Failure::Datastore),
        ("backup timestamp is older than last backup.", Failure::Other),
        (
            "error trying to connect: dns error: failed to lookup address information: Name or service not known",
            Failure::Other,
        ),
    ];
    for (msg, want) in cases {
        assert_eq!(classify(Some(255), &e(msg)), want, "{msg}");
    }
    // the warning lines before the error do not decide: the error line does
    assert_eq!(
        classify(
            Some(255),
            "WARNING: certificate fingerprint does not match expected fingerprint!\nError: no such datastore 'x'\n"
        ),
        Failure::Datastore
    );
    assert_eq!(classify(None, ""), Failure::Transient, "killed: try again");
    assert_eq!(client_message("a\nError: first\nError: last\n\n"), "last");
    assert_eq!(client_message("just this\n"), "just this");
}

#[test]
fn backoff_doubles_with_jitter_up_to_its_cap() {
    let b = Backoff {
        attempts: 6,
        first: Duration::from_secs(2),
        max: Duration::from_secs(10),
    };
    assert_eq!(b.delay(0, 0.0), Duration::from_secs(1));
    assert_eq!(b.delay(0, 1.0), Duration::from_secs(2));
    assert_eq!(b.delay(1, 0.5), Duration::from_secs(3));
    assert_eq!(b.delay(2, 0.0), Duration::from_secs(4));
    // capped: 2 * 2^3 = 16 > 10
    assert_eq!(b.delay(3, 0.0), Duration::from_secs(5));
    assert_eq!(b.delay(3, 1.0), Duration::from_secs(10));
    assert_eq!(b.delay(40, 1.0), Duration::from_secs(10), "no overflow far out");
    // the jitter source stays in [0, 1) and varies
    let mut j = Jitter::new();
    let draws: Vec<f64> = (0..1000).map(|_| j.next()).collect();
    assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
    assert!(draws.iter().any(|d| *d < 0.25) && draws.iter().any(|d| *d > 0.75));
}

/// `retry` over scripted attempts: the waits it asked for, the attempts made, the outcome.
fn scripted(script: &[Failure], attempts: u32) -> (Vec<Duration>, usize, std::result::Result<u32, (Attempt, u32)>) {
    let b = Backoff {
        attempts,
        first: Duration::from_secs(1),
        max: Duration::from_secs(60),
    };
    let mut waits = Vec::new();
    let mut calls = 0;
    let result = retry(&b, &mut |d| waits.push(d), &mut || 1.0, || {
        calls += 1;
        match script.get(calls - 1) {
            Some(f) => Err(Attempt {
                failure: *f,
                message: format!("attempt {calls}"),
            }),
            None => Ok(calls as u32),
        }
    });
    (waits, calls, result)
}

#[test]
fn transient_failures_are_retried_permanent_ones_are_not() {
    let secs = |v: &[u64]| v.iter().map(|s| Duration::from_secs(*s)).collect::<Vec<_>>();
    // two transient failures, then success: waits 1 s and 2 s (jitter 1.0: the full wait)
    let (waits, calls, result) = scripted(&[Failure::Transient, Failure::Transient], 5);
    assert_eq!((waits, calls, result.unwrap()), (secs(&[1, 2]), 3, 3));
    // permanent at once: no wait, one attempt
    for f in [
        Failure::Auth,
        Failure::Fingerprint,
        Failure::Datastore,
        Failure::Other,
        Failure::Local,
    ] {
        let (waits, calls, result) = scripted(&[f], 5);
        assert_eq!((waits.len(), calls), (0, 1), "{f:?}");
        let (a, n) = result.unwrap_err();
        assert_eq!((a.failure, n), (f, 1));
    }
    // a permanent failure after a transient one ends it there
    let (waits, calls, result) = scripted(&[Failure::Transient, Failure::Auth, Failure::Transient], 5);
    assert_eq!(
        (waits.len(), calls, result.unwrap_err().0.failure),
        (1, 2, Failure::Auth)
    );
    // transient every time: all attempts spent, the last message kept
    let (waits, calls, result) = scripted(&[Failure::Transient; 10], 4);
    assert_eq!((waits, calls), (secs(&[1, 2, 4]), 4));
    let (a, n) = result.unwrap_err();
    assert_eq!((a.message.as_str(), n), ("attempt 4", 4));
}

#[test]
fn the_client_waits_through_the_injected_sleep() {
    // a client that cannot run at all: a system error, no wait
    let target = PbsTarget::from_storage(&storage("\tserver pbs\n\tdatastore ds\n"), "pve1").unwrap();
    let waits = Rc::new(RefCell::new(Vec::new()));
    let w = waits.clone();
    let mut client = PbsClient::new(target, Secret::new("pw"), "/nonexistent/backup.pw".into())
        .with_programs(
            "/nonexistent/proxmox-backup-client",
            "/nonexistent/proxmox-file-restore",
        )
        .with_sleep(move |d| w.borrow_mut().push(d));
    let e = client.snapshots("n1-smbgw-x").unwrap_err();
    assert_eq!(e.kind, smbgw_sys::ErrorKind::System, "{e:?}");
    assert!(e.message.contains("apt install proxmox-backup-client"), "{}", e.message);
    assert!(waits.borrow().is_empty());
    assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret(***)");
}

#[test]
fn share_names_become_distinct_pbs_names() {
    assert_eq!(pbs_name("docs"), "docs");
    assert_eq!(pbs_name("Team-2"), "Team-2");
    assert_eq!(pbs_name("my share"), "my_20share");
    assert_eq!(pbs_name("my_share"), "my_5fshare");
    assert_eq!(pbs_name("a.b"), "a_2eb");
    assert_eq!(backup_id("pve1", "docs"), "pve1-smbgw-docs");
}

#[test]
fn backup_times_are_written_as_pbs_writes_them() {
    assert_eq!(utc_time(0), "1970-01-01T00:00:00Z");
    assert_eq!(utc_time(1_700_000_000), "2023-11-14T22:13:20Z");
    assert_eq!(utc_time(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(utc_time(4_102_444_799), "2099-12-31T23:59:59Z");
    assert_eq!(utc_time(-1), "1969-12-31T23:59:59Z");
    let s = Snapshot {
        backup_type: "host".into(),
        backup_id: "pve1-smbgw-docs".into(),
        backup_time: 1_700_000_000,
        files: vec![],
        size: None,
        protected: false,
        comment: None,
        owner: None,
    };
    assert_eq!(s.path(), "host/pve1-smbgw-docs/2023-11-14T22:13:20Z");
}

#[test]
fn the_clients_json_is_read() {
    let list: Vec<Snapshot> = serde_json::from_str(
        r#"[{"backup-id":"pve1-smbgw-docs","backup-time":1700000000,"backup-type":"host",
            "files":[{"crypt-mode":"none","filename":"docs.pxar.didx","size":10240},
                     {"crypt-mode":"none","filename":"index.json.blob","size":269}],
            "owner":"root@pam","protected":false,"size":10509,"verification":{"state":"ok","upid":"x"}}]"#,
    )
    .unwrap();
    assert_eq!(list[0].files[0].filename, "docs.pxar.didx");
    assert_eq!((list[0].size, list[0].protected), (Some(10509), false));
    let prune: Vec<PruneItem> = serde_json::from_str(
        r#"[{"backup-id":"x","backup-time":1,"backup-type":"host","keep":false,"protected":false},
            {"backup-id":"x","backup-time":2,"backup-type":"host","keep":true,"protected":true}]"#,
    )
    .unwrap();
    assert_eq!(
        prune.iter().map(|p| (p.keep, p.protected)).collect::<Vec<_>>(),
        [(false, false), (true, true)]
    );
    let keep = Keep {
        last: Some(3),
        daily: Some(7),
        ..Keep::default()
    };
    assert_eq!(keep.args(), ["--keep-last", "3", "--keep-daily", "7"]);
    assert!(Keep::default().args().is_empty());
}

#[test]
fn catalog_lines_are_read_with_their_quoting() {
    let text = "d \"./docs.pxar.didx\"\n\
                f \"./docs.pxar.didx/a \\\"quoted\\\" name\" 12 2024-01-01T00:00:00Z\n\
                l \"./docs.pxar.didx/link\"\n\
                f \"./docs.pxar.didx/tab\\there\\u{7f}\" 0 2024-01-01T00:00:00Z\n\
                f \"./docs.pxar.didx/Grüße\" 5 2024-01-01T00:00:00Z\n";
    let entries = parse_catalog(text);
    let got: Vec<(char, &str, Option<u64>)> = entries.iter().map(|e| (e.kind, e.path.as_str(), e.size)).collect();
    assert_eq!(
        got,
        [
            ('d', "docs.pxar.didx", None),
            ('f', "docs.pxar.didx/a \"quoted\" name", Some(12)),
            ('l', "docs.pxar.didx/link", None),
            ('f', "docs.pxar.didx/tab\there\u{7f}", Some(0)),
            ('f', "docs.pxar.didx/Grüße", Some(5)),
        ]
    );
}

#[test]
fn file_restore_paths_go_base64_encoded() {
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foo"), "Zm9v");
    assert_eq!(base64(b"/share.pxar.didx"), "L3NoYXJlLnB4YXIuZGlkeA==");
    assert_eq!(base64(&[0xff, 0xfe, 0x00]), "//4A");
    assert_eq!(archive_path("my docs", "/sub/a b/"), "/my_20docs.pxar.didx/sub/a b");
    assert_eq!(archive_path("docs", ""), "/docs.pxar.didx");
    assert_eq!(
        json_error(r#"{"message":"path \"x\" not found in catalog"}"#).as_deref(),
        Some("path \"x\" not found in catalog")
    );
    assert_eq!(json_error(r#"[{"message":"a file entry is no error"}]"#), None);
    assert_eq!(json_error("not json"), None);
}
