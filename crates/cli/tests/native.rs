//! Native shares against a real smbd: the behaviour an admin and an SMB client see.

mod common;

use std::os::unix::process::CommandExt;

use common::Sandbox;

const ALICE: (&str, &str) = ("alice", "Alice-pw1");
const BOB: (&str, &str) = ("bob", "Bob-pw2");

fn sandbox_with_share(extra: &[&str]) -> Sandbox {
    let sb = Sandbox::new();
    sb.add_user(ALICE.0, ALICE.1);
    let path = sb.data("data");
    let mut args = vec!["create", "data", "--path", path.to_str().unwrap(), "--users", "alice"];
    args.extend_from_slice(extra);
    sb.ok(&args);
    sb
}

#[test]
fn put_and_get_as_share_user() {
    let sb = sandbox_with_share(&[]);
    let payload: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let local = sb.write_local("in.bin", &payload);
    sb.smbclient(
        "data",
        Some(ALICE),
        &format!("put {} f.bin; get f.bin out.bin", local.display()),
    )
    .unwrap();
    assert_eq!(std::fs::read(sb.dir.path().join("out.bin")).unwrap(), payload);
    // and it really landed in the share directory, owned by alice's uid
    let stored = sb.data("data").join("f.bin");
    assert_eq!(std::fs::read(&stored).unwrap(), payload);
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata(&stored).unwrap().uid();
    let listed = sb.ok(&["user", "list", "--output-format", "json"]);
    let users: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(users[0]["name"], "alice");
    assert_eq!(users[0]["uid"], uid);
}

#[test]
fn other_user_and_wrong_password_are_refused() {
    let sb = sandbox_with_share(&[]);
    sb.add_user(BOB.0, BOB.1);
    let err = sb.smbclient("data", Some(BOB), "ls").unwrap_err();
    assert!(err.contains("NT_STATUS_ACCESS_DENIED"), "{err}");
    let err = sb.smbclient("data", Some(("alice", "wrong")), "ls").unwrap_err();
    assert!(err.contains("NT_STATUS_LOGON_FAILURE"), "{err}");
    // granting bob access through update works without restarting smbd
    let pid_before = sb.ok(&["status", "--output-format", "json"]);
    sb.ok(&["update", "data", "--users", "alice,bob"]);
    sb.smbclient("data", Some(BOB), "ls").unwrap();
    let pid_after = sb.ok(&["status", "--output-format", "json"]);
    let pid = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap()["smbd"]["pid"].clone();
    assert_eq!(
        pid(&pid_before),
        pid(&pid_after),
        "smbd must be reloaded, not restarted"
    );
}

#[test]
fn read_only_share_refuses_writes() {
    let sb = sandbox_with_share(&["--read-only"]);
    std::fs::write(sb.data("data").join("existing.txt"), b"readable").unwrap();
    let local = sb.write_local("w.txt", b"x");
    let err = sb
        .smbclient("data", Some(ALICE), &format!("put {} w.txt", local.display()))
        .unwrap_err();
    assert!(
        err.contains("NT_STATUS_ACCESS_DENIED") || err.contains("NT_STATUS_MEDIA_WRITE_PROTECTED"),
        "{err}"
    );
    assert!(!sb.data("data").join("w.txt").exists());
    sb.smbclient("data", Some(ALICE), "get existing.txt r.txt").unwrap();
    assert_eq!(std::fs::read(sb.dir.path().join("r.txt")).unwrap(), b"readable");
    // switching read-only off opens it for writes
    sb.ok(&["update", "data", "--read-only", "0"]);
    sb.smbclient("data", Some(ALICE), &format!("put {} w.txt", local.display()))
        .unwrap();
}

#[test]
fn delete_removes_share_from_listing_and_keeps_data() {
    let sb = sandbox_with_share(&[]);
    sb.ok(&["create", "second", "--path", sb.data("second").to_str().unwrap()]);
    let listed = sb.listed_shares(ALICE);
    assert!(
        listed.contains(&"data".to_string()) && listed.contains(&"second".to_string()),
        "{listed:?}"
    );
    std::fs::write(sb.data("data").join("keep.txt"), b"keep").unwrap();
    let out = sb.ok(&["delete", "data"]);
    assert!(out.contains("data stays"), "{out}");
    assert_eq!(sb.listed_shares(ALICE), vec!["second".to_string()]);
    assert!(sb.data("data").join("keep.txt").exists());
    assert_eq!(sb.run(&["show", "data"]).code, 1);
    // purge really removes the data
    sb.ok(&["delete", "second", "--purge-data"]);
    assert!(!sb.data("second").exists());
}

#[test]
fn apply_restores_service_after_generated_files_are_deleted() {
    let sb = sandbox_with_share(&[]);
    sb.ok(&["stop"]);
    std::fs::remove_file(sb.root.join("samba/smb.conf")).unwrap();
    std::fs::remove_dir_all(sb.root.join("samba/shares.d")).unwrap();
    assert!(sb.smbclient("data", Some(ALICE), "ls").is_err());
    let run = sb.run(&["status", "--output-format", "json"]);
    assert_eq!(run.code, 2, "status of a degraded share: {}", run.stderr);
    let status: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(status["shares"][0]["state"], "degraded");

    let first: serde_json::Value = serde_json::from_str(&sb.ok(&["apply", "--output-format", "json"])).unwrap();
    assert_eq!(first["changed"], true);
    sb.smbclient("data", Some(ALICE), "ls").unwrap();
    let second: serde_json::Value = serde_json::from_str(&sb.ok(&["apply", "--output-format", "json"])).unwrap();
    assert_eq!(second["changed"], false, "a second apply must change nothing: {second}");
    let status: serde_json::Value = serde_json::from_str(&sb.ok(&["status", "--output-format", "json"])).unwrap();
    assert_eq!(status["shares"][0]["state"], "ok", "{status}");
}

#[test]
fn failure_mid_apply_keeps_previous_config_live() {
    let sb = sandbox_with_share(&[]);
    let local = sb.write_local("a.txt", b"before");
    sb.smbclient("data", Some(ALICE), &format!("put {} a.txt", local.display()))
        .unwrap();
    let before = sb.snapshot();

    // The share include directory turns immutable: the config write succeeds, then writing the
    // new include fails, mid-plan.
    let includes = sb.root.join("samba/shares.d");
    let chattr = std::process::Command::new("chattr")
        .arg("+i")
        .arg(&includes)
        .status()
        .unwrap();
    assert!(chattr.success(), "chattr +i needs a filesystem with immutable flags");
    let run = sb.run(&["create", "broken", "--path", sb.data("broken").to_str().unwrap()]);
    std::process::Command::new("chattr")
        .arg("-i")
        .arg(&includes)
        .status()
        .unwrap();

    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("rolled back"), "{}", run.stderr);
    assert_eq!(
        sb.snapshot(),
        before,
        "config and generated files must be exactly as before"
    );
    assert!(
        !sb.data("broken").exists(),
        "the directory created by the failed plan is removed"
    );
    sb.smbclient("data", Some(ALICE), "get a.txt back.txt").unwrap();
    assert_eq!(std::fs::read(sb.dir.path().join("back.txt")).unwrap(), b"before");
}

#[test]
fn dry_run_prints_plan_and_changes_nothing() {
    let sb = sandbox_with_share(&[]);
    let before = sb.snapshot();
    let path = sb.data("new");
    let out = sb.ok(&["create", "new", "--path", path.to_str().unwrap(), "--dry-run"]);
    assert!(out.contains("dry run") && out.contains("create share include"), "{out}");
    sb.ok(&["update", "data", "--comment", "changed", "--dry-run"]);
    sb.ok(&["delete", "data", "--purge-data", "--dry-run"]);
    sb.ok(&["apply", "--dry-run"]);
    let r = sb.run_with_stdin(
        &["user", "add", "carol", "--password-stdin", "--dry-run"],
        b"pw-Carol1\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(sb.snapshot(), before);
    assert!(!path.exists());
    assert!(sb.data("data").exists());
}

#[test]
fn guest_share_needs_no_password() {
    let sb = Sandbox::new();
    sb.ok(&[
        "create",
        "public",
        "--path",
        sb.data("public").to_str().unwrap(),
        "--guest",
    ]);
    let local = sb.write_local("g.txt", b"guest");
    sb.smbclient("public", None, &format!("put {} g.txt", local.display()))
        .unwrap();
    assert_eq!(std::fs::read(sb.data("public").join("g.txt")).unwrap(), b"guest");
}

#[test]
fn group_grants_access() {
    let sb = Sandbox::new();
    let r = sb.run_with_stdin(
        &["user", "add", "dave", "--password-stdin", "--groups", "staff"],
        b"Dave-pw3\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    sb.add_user(BOB.0, BOB.1);
    sb.ok(&[
        "create",
        "team",
        "--path",
        sb.data("team").to_str().unwrap(),
        "--groups",
        "staff",
    ]);
    let local = sb.write_local("t.txt", b"team");
    sb.smbclient(
        "team",
        Some(("dave", "Dave-pw3")),
        &format!("put {} t.txt", local.display()),
    )
    .unwrap();
    let err = sb.smbclient("team", Some(BOB), "ls").unwrap_err();
    assert!(err.contains("NT_STATUS_ACCESS_DENIED"), "{err}");
}

#[test]
fn password_change_takes_effect() {
    let sb = sandbox_with_share(&[]);
    let r = sb.run_with_stdin(&["user", "passwd", "alice", "--password-stdin"], b"New-pw-4\n");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(sb.smbclient("data", Some(ALICE), "ls").is_err());
    sb.smbclient("data", Some(("alice", "New-pw-4")), "ls").unwrap();
    // a user still named by a share cannot be deleted
    assert_eq!(sb.run(&["user", "delete", "alice"]).code, 1);
}

#[test]
fn corrupt_config_is_a_clear_error_and_nothing_is_dropped() {
    let sb = sandbox_with_share(&[]);
    let cfg = sb.root.join("config/shares.cfg");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str("\nshare: other\n\tpath /srv/other\n\tbogus-key 1\n");
    std::fs::write(&cfg, &text).unwrap();
    let r = sb.run(&["list"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("line") && r.stderr.contains("bogus-key"),
        "{}",
        r.stderr
    );
    let r = sb.run(&["create", "x", "--path", sb.data("x").to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert_eq!(
        std::fs::read_to_string(&cfg).unwrap(),
        text,
        "a corrupt file is never rewritten"
    );
}

#[test]
fn concurrent_creates_lose_no_update() {
    let sb = Sandbox::new();
    sb.ok(&["apply"]);
    let children: Vec<_> = (0..8)
        .map(|i| {
            sb.command()
                .args([
                    "create",
                    &format!("s{i}"),
                    "--path",
                    sb.data(&format!("s{i}")).to_str().unwrap(),
                ])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let list: serde_json::Value = serde_json::from_str(&sb.ok(&["list", "--output-format", "json"])).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 8);
}

#[test]
fn features_render_and_serve() {
    let sb = sandbox_with_share(&[
        "--recycle-bin",
        "--macos",
        "--audit",
        "--encrypt",
        "--option",
        "create mask=0660",
    ]);
    let local = sb.write_local("r.txt", b"recycle me");
    sb.smbclient(
        "data",
        Some(ALICE),
        &format!("put {} r.txt; del r.txt", local.display()),
    )
    .unwrap();
    assert!(
        sb.data("data").join(".recycle/alice/r.txt").exists(),
        "deleted file goes to the recycle bin"
    );
    let include = std::fs::read_to_string(sb.root.join("samba/shares.d/data.conf")).unwrap();
    assert!(
        include.contains("server smb encrypt = required") && include.contains("create mask = 0660"),
        "{include}"
    );
    // a client that cannot encrypt (SMB 2.1) is refused; SMB3 works
    let err = sb
        .smbclient_max_protocol("data", Some(ALICE), "SMB2_10", "ls")
        .unwrap_err();
    assert!(err.contains("NT_STATUS_ACCESS_DENIED"), "{err}");
    sb.ok(&["update", "data", "--encrypt", "0"]);
    sb.smbclient_max_protocol("data", Some(ALICE), "SMB2_10", "ls").unwrap();
}

#[test]
fn update_option_merges_and_removed_users_lose_access() {
    let sb = sandbox_with_share(&["--option", "create mask=0660", "--option", "force group=alice"]);
    sb.add_user(BOB.0, BOB.1);
    sb.ok(&[
        "update",
        "data",
        "--users",
        "alice,bob",
        "--option",
        "hide dot files=no",
    ]);
    let show = sb.ok(&["show", "data"]);
    assert!(
        show.contains("options: create mask=0660,force group=alice,hide dot files=no"),
        "{show}"
    );
    sb.ok(&["update", "data", "--option", "force group="]);
    assert!(sb
        .ok(&["show", "data"])
        .contains("options: create mask=0660,hide dot files=no"));

    let acl = |sb: &Sandbox| {
        common::run(
            "getfacl",
            &["--numeric", "--omit-header", sb.data("data").to_str().unwrap()],
        )
    };
    let users: serde_json::Value = serde_json::from_str(&sb.ok(&["user", "list", "--output-format", "json"])).unwrap();
    let bob_uid = users.as_array().unwrap().iter().find(|u| u["name"] == "bob").unwrap()["uid"].clone();
    assert!(acl(&sb).contains(&format!("user:{bob_uid}:rwx")), "{}", acl(&sb));
    sb.ok(&["update", "data", "--users", "alice"]);
    let after = acl(&sb);
    assert!(
        !after.contains(&format!("user:{bob_uid}:")),
        "bob's ACL entries are revoked: {after}"
    );
    assert!(sb.smbclient("data", Some(BOB), "ls").is_err());
    sb.smbclient("data", Some(ALICE), "ls").unwrap();
}

/// The PVE way against lost updates: `show` prints the digest of the share config, `update` and
/// `delete` with a digest the config no longer has are refused (a conflict) and change nothing;
/// the current digest is accepted, and without one nothing is checked.
#[test]
fn a_stale_digest_is_refused_and_changes_nothing() {
    let sb = sandbox_with_share(&[]);
    let show = |sb: &Sandbox| -> serde_json::Value {
        serde_json::from_str(&sb.ok(&["show", "data", "--output-format", "json"])).unwrap()
    };
    let first = show(&sb)["digest"].as_str().expect("show carries a digest").to_string();
    assert_eq!(first.len(), 40, "SHA-1 hex, as PVE's: {first}");
    let text = sb.ok(&["show", "data"]);
    assert!(text.contains(&format!("\ndigest: {first}\n")), "{text}");
    let listed: serde_json::Value = serde_json::from_str(&sb.ok(&["list", "--output-format", "json"])).unwrap();
    assert_eq!(listed[0]["digest"], first.as_str(), "{listed}");

    // the current digest: accepted
    sb.ok(&["update", "data", "--comment", "one", "--digest", &first]);
    let second = show(&sb)["digest"].as_str().unwrap().to_string();
    assert_ne!(second, first, "the change changed the digest");

    // the first digest is stale now: refused, nothing changed
    let before = sb.snapshot();
    for args in [
        vec!["update", "data", "--comment", "two", "--digest", first.as_str()],
        vec!["delete", "data", "--digest", first.as_str()],
    ] {
        let r = sb.run(&args);
        assert_eq!(r.code, 1, "{args:?}: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains("changed since it was read"), "{}", r.stderr);
        let mut json = args.clone();
        json.extend(["--output-format", "json"]);
        let r = sb.run(&json);
        let err: serde_json::Value =
            serde_json::from_str(r.stderr.trim()).unwrap_or_else(|e| panic!("{e}: {}", r.stderr));
        assert_eq!(err["code"], "conflict", "{err}");
        assert_eq!(err["field"], "digest", "{err}");
        assert_eq!(err["kind"], "input", "{err}");
    }
    assert_eq!(sb.snapshot(), before, "a refused change changed files");

    // no digest: no check
    sb.ok(&["update", "data", "--comment", "three"]);
    assert_eq!(show(&sb)["comment"], "three");
    sb.ok(&["delete", "data", "--digest", show(&sb)["digest"].as_str().unwrap()]);
    assert!(sb.run(&["show", "data"]).code == 1);
}

/// A dry run (the API's check before its task) reads the config without waiting for the lock
/// a running operation holds; the change itself waits for it.
#[test]
fn a_dry_run_does_not_wait_for_a_running_operation() {
    let sb = sandbox_with_share(&[]);
    let lock = sb.root.join("config/.shares.lock");
    // flock and its sleep in a process group of their own, ended together below
    let mut holder = std::process::Command::new("flock")
        .arg(&lock)
        .args(["sleep", "120"])
        .process_group(0)
        .spawn()
        .unwrap();
    while std::process::Command::new("flock")
        .arg("-n")
        .arg(&lock)
        .arg("true")
        .status()
        .unwrap()
        .success()
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let plan = sb.ok(&["update", "data", "--comment", "while locked", "--dry-run"]);
    assert!(plan.contains("share config"), "{plan}");
    let r = sb.run(&[
        "update",
        "data",
        "--comment",
        "x",
        "--digest",
        &"0".repeat(40),
        "--dry-run",
    ]);
    assert_eq!(
        r.code, 1,
        "a stale digest is refused in a dry run too: {}{}",
        r.stdout, r.stderr
    );
    sb.ok(&[
        "create",
        "more",
        "--path",
        sb.data("more").to_str().unwrap(),
        "--dry-run",
    ]);
    let group = nix::unistd::Pid::from_raw(holder.id() as i32);
    nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL).unwrap();
    holder.wait().unwrap();
}

/// An input error in a JSON format names its field and code on stderr, as the API gets it.
#[test]
fn json_errors_carry_field_and_code() {
    let sb = sandbox_with_share(&[]);
    let error = |args: &[&str]| -> serde_json::Value {
        let mut args = args.to_vec();
        args.extend(["--output-format", "json"]);
        let r = sb.run(&args);
        assert_eq!(r.code, 1, "{args:?}: {}{}", r.stdout, r.stderr);
        serde_json::from_str(r.stderr.trim()).unwrap_or_else(|e| panic!("{e}: {}", r.stderr))
    };
    let e = error(&["update", "data", "--quota", "1K"]);
    assert_eq!(
        (e["kind"].as_str(), e["field"].as_str()),
        (Some("input"), Some("quota")),
        "{e}"
    );
    let e = error(&["update", "data", "--users", "nosuchuser"]);
    assert_eq!(e["field"], "users", "{e}");
    let path = sb.data("other");
    let e = error(&[
        "create",
        "other",
        "--path",
        path.to_str().unwrap(),
        "--mode",
        "lxc",
        "--ct-id",
        "x",
    ]);
    assert_eq!(e["field"], "ct-id", "{e}");
    let e = error(&["show", "nosuch"]);
    assert_eq!(
        (e["code"].as_str(), e["field"].as_str()),
        (Some("not-found"), Some("name")),
        "{e}"
    );
    assert!(
        e.get("message")
            .is_some_and(|m| m.as_str().unwrap().contains("does not exist")),
        "{e}"
    );
    // text output is unchanged
    let r = sb.run(&["show", "nosuch"]);
    assert!(
        r.stderr.starts_with("error: share 'nosuch' does not exist"),
        "{}",
        r.stderr
    );
}
