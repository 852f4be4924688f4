//! Alternate data streams against a real smbd and smbclient: every share keeps named streams
//! (`streams` property, vfs_streams_xattr, stacked as `smbgw_core::vfs::ORDER` says), `--streams
//! 0` turns them off without losing what was stored, and `--option` values that would break
//! them are refused before anything is written.

mod common;

use std::process::Command;

use common::Sandbox;

const ALICE: (&str, &str) = ("alice", "Alice-pw1");
/// What Windows writes beside every downloaded file.
const ZONE: &[u8] = b"[ZoneTransfer]\r\nZoneId=3\r\nReferrerUrl=https://example.com/\r\n";

fn sandbox_with_share(extra: &[&str]) -> Sandbox {
    let sb = Sandbox::new();
    sb.add_user(ALICE.0, ALICE.1);
    let path = sb.data("data");
    let mut args = vec!["create", "data", "--path", path.to_str().unwrap(), "--users", "alice"];
    args.extend_from_slice(extra);
    sb.ok(&args);
    sb
}

/// Write `f.txt` and its Zone.Identifier stream through SMB.
fn put_with_stream(sb: &Sandbox) -> Result<String, String> {
    let data = sb.write_local("f.txt", b"file data");
    let zone = sb.write_local("zone.txt", ZONE);
    sb.smbclient(
        "data",
        Some(ALICE),
        &format!(
            "put {} f.txt; put {} \"f.txt:Zone.Identifier\"",
            data.display(),
            zone.display()
        ),
    )
}

/// Read the stream back through SMB into the sandbox's `back.txt`.
fn get_stream(sb: &Sandbox) -> Result<Vec<u8>, String> {
    let back = sb.dir.path().join("back.txt");
    let _ = std::fs::remove_file(&back);
    sb.smbclient("data", Some(ALICE), "get \"f.txt:Zone.Identifier\" back.txt")?;
    Ok(std::fs::read(back).unwrap())
}

fn rendered_include(sb: &Sandbox) -> String {
    std::fs::read_to_string(sb.root.join("samba/shares.d/data.conf")).unwrap()
}

#[test]
fn a_named_stream_is_written_read_back_and_listed() {
    let sb = sandbox_with_share(&[]);
    assert!(
        rendered_include(&sb).contains("\tvfs objects = streams_xattr\n"),
        "{}",
        rendered_include(&sb)
    );
    // the default is not stored: a shares.cfg written before the property reads the same
    let cfg = std::fs::read_to_string(sb.root.join("config/shares.cfg")).unwrap();
    assert!(!cfg.contains("streams"), "{cfg}");
    put_with_stream(&sb).unwrap();
    assert_eq!(get_stream(&sb).unwrap(), ZONE);
    let info = sb.smbclient("data", Some(ALICE), "allinfo f.txt").unwrap();
    let listed = format!("stream: [:Zone.Identifier:$DATA], {} bytes", ZONE.len());
    assert!(info.contains(&listed), "{info}");
    // the file's own data is untouched, and the stream lives in its xattr on the node
    let stored = sb.data("data").join("f.txt");
    assert_eq!(std::fs::read(&stored).unwrap(), b"file data");
    let out = Command::new("getfattr")
        .args(["--only-values", "-n", "user.DosStream.Zone.Identifier:$DATA"])
        .arg(&stored)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.stdout.starts_with(ZONE),
        "{:?}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn streams_off_refuses_stream_writes_and_on_again_finds_them() {
    let sb = sandbox_with_share(&[]);
    put_with_stream(&sb).unwrap();
    sb.ok(&["update", "data", "--streams", "0"]);
    assert!(
        !rendered_include(&sb).contains("vfs objects"),
        "{}",
        rendered_include(&sb)
    );
    let err = put_with_stream(&sb).unwrap_err();
    assert!(err.contains("NT_STATUS_OBJECT_NAME_INVALID"), "{err}");
    assert!(get_stream(&sb).is_err());
    let info = sb.smbclient("data", Some(ALICE), "allinfo f.txt").unwrap();
    assert!(!info.contains("Zone.Identifier"), "{info}");
    // the xattrs stay on disk: streams on again serve what was stored before
    sb.ok(&["update", "data", "--delete", "streams"]);
    assert_eq!(get_stream(&sb).unwrap(), ZONE);

    // a share created with streams off never had them
    let sb = sandbox_with_share(&["--streams", "0"]);
    let err = put_with_stream(&sb).unwrap_err();
    assert!(err.contains("NT_STATUS_OBJECT_NAME_INVALID"), "{err}");
}

#[test]
fn an_admins_stack_keeps_streams_working() {
    let sb = sandbox_with_share(&["--option", "vfs objects=streams_xattr io_uring"]);
    assert!(
        rendered_include(&sb).contains("\tvfs objects = streams_xattr io_uring\n"),
        "{}",
        rendered_include(&sb)
    );
    put_with_stream(&sb).unwrap();
    assert_eq!(get_stream(&sb).unwrap(), ZONE);
}

#[test]
fn options_that_break_streams_are_refused_and_nothing_is_written() {
    let sb = sandbox_with_share(&[]);
    let before = sb.snapshot();
    let other = sb.data("other");
    let create = |option: &str| {
        vec![
            "create".to_string(),
            "other".into(),
            "--path".into(),
            other.display().to_string(),
            "--option".into(),
            option.into(),
        ]
    };
    let update = |option: &str| vec!["update".to_string(), "data".into(), "--option".into(), option.into()];
    for (args, reason) in [
        (create("vfs objects=io_uring"), "drops streams_xattr"),
        (update("vfs objects=io_uring"), "drops streams_xattr"),
        (
            update("vfs objects=io_uring streams_xattr"),
            "order Samba does not work in",
        ),
        (
            update("vfs objects=streams_xattr widelinks"),
            "not one the gateway stacks",
        ),
        (update("vfs objects=streams_xattr recycle"), "--recycle-bin 1"),
        (update("streams_xattr:prefix=trusted.DosStream."), "would break streams"),
        (update("streams_xattr:prefix=user."), "would break streams"),
    ] {
        let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
        args.extend(["--output-format", "json"]);
        let r = sb.run(&args);
        assert_eq!(r.code, 1, "{args:?}: {}{}", r.stdout, r.stderr);
        let err: serde_json::Value = serde_json::from_str(r.stderr.trim()).unwrap_or_else(|_| panic!("{}", r.stderr));
        assert_eq!(err["field"], "options", "{args:?}: {err}");
        let message = err["message"].as_str().unwrap();
        assert!(message.contains(reason), "{args:?}: {message}");
        assert_eq!(sb.snapshot(), before, "{args:?} changed files");
        assert!(!other.exists());
    }
    // streams_xattr parameters need streams, and --macos needs streams
    sb.ok(&["update", "data", "--streams", "0"]);
    let before = sb.snapshot();
    for (args, field) in [
        (update("streams_xattr:store_stream_type=no"), "options"),
        (
            vec!["update".into(), "data".into(), "--macos".into(), "1".into()],
            "streams",
        ),
    ] {
        let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
        args.extend(["--output-format", "json"]);
        let r = sb.run(&args);
        assert_eq!(r.code, 1, "{args:?}: {}{}", r.stdout, r.stderr);
        let err: serde_json::Value = serde_json::from_str(r.stderr.trim()).unwrap();
        assert_eq!(err["field"], field, "{args:?}: {err}");
        assert_eq!(sb.snapshot(), before, "{args:?} changed files");
    }
}
