//! What users are told is what happened: an emptied share config is refused instead of
//! unpublishing every share, a share whose storage is gone is left out (never recreated on the
//! filesystem below) while the others converge, and quotas switched off behind the gateway's
//! back are reported and repaired. Real smbd, smbclient and btrfs on a loop device.

mod common;

use std::path::Path;

use common::{run, Btrfs, Sandbox};

const ALICE: (&str, &str) = ("alice", "Alice-pw1");
const MIB: usize = 1 << 20;

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text:?}"))
}

/// A sandbox with alice and her shares `names`, each in its own directory.
fn sandbox_with(names: &[&str]) -> Sandbox {
    let sb = Sandbox::new();
    sb.add_user(ALICE.0, ALICE.1);
    for name in names {
        share(&sb, name, &sb.data(name), &[]);
    }
    sb
}

fn share(sb: &Sandbox, name: &str, path: &Path, extra: &[&str]) {
    let mut args = vec!["create", name, "--path", path.to_str().unwrap(), "--users", "alice"];
    args.extend_from_slice(extra);
    sb.ok(&args);
}

/// Put `text` into `share` as a file and read it back over SMB.
fn round_trip(sb: &Sandbox, share: &str, text: &str) {
    let local = sb.write_local("in.txt", text.as_bytes());
    let back = sb.dir.path().join("back.txt");
    let _ = std::fs::remove_file(&back);
    sb.smbclient(
        share,
        Some(ALICE),
        &format!("put {} t.txt; get t.txt {}", local.display(), back.display()),
    )
    .unwrap_or_else(|e| panic!("share {share}: {e}"));
    assert_eq!(std::fs::read_to_string(&back).unwrap(), text);
}

fn listed(sb: &Sandbox) -> Vec<String> {
    let mut names = sb.listed_shares(ALICE);
    names.sort();
    names
}

#[test]
fn an_emptied_config_is_refused_until_restored_or_confirmed() {
    let sb = sandbox_with(&["one", "two"]);
    let cfg = sb.root.join("config/shares.cfg");
    let good = std::fs::read_to_string(&cfg).unwrap();
    assert!(good.contains("share: one") && good.contains("share: two"), "{good}");
    // the backup holds what the last write replaced: the config before 'two'
    let bak = std::fs::read_to_string(sb.root.join("config/shares.cfg.bak")).unwrap();
    assert!(bak.contains("share: one") && !bak.contains("share: two"), "{bak}");
    let history = json(&sb.ok(&["config-history", "--output-format", "json"]));
    assert_eq!(history.as_array().unwrap().len(), 2, "{history}");
    assert_eq!(history[1]["current"], true, "{history}");

    for emptied in ["truncated", "deleted"] {
        match emptied {
            "truncated" => std::fs::write(&cfg, "").unwrap(),
            _ => std::fs::remove_file(&cfg).unwrap(),
        }
        let before = sb.snapshot();
        let r = sb.run(&["apply"]);
        assert_eq!(r.code, 2, "{emptied}: {}{}", r.stdout, r.stderr);
        for needle in ["one, two", "config-restore", "apply --force", "Nothing was changed"] {
            assert!(r.stderr.contains(needle), "{emptied}: no {needle:?} in {}", r.stderr);
        }
        assert_eq!(sb.snapshot(), before, "{emptied}: a refused apply changes nothing");
        assert_eq!(listed(&sb), ["one", "two"], "{emptied}: every share is still served");
        round_trip(&sb, "two", "still here");

        // a create would write a file holding only itself
        let r = sb.run(&["create", "three", "--path", sb.data("three").to_str().unwrap()]);
        assert_eq!(r.code, 2, "{emptied}: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains("holding only 'three'"), "{}", r.stderr);
        assert_eq!(sb.snapshot(), before, "{emptied}: a refused create changes nothing");
        // nor does any other change re-render Samba from it
        let r = sb.run_with_stdin(&["user", "add", "bob", "--password-stdin"], b"Bob-pw2\n");
        assert_eq!(r.code, 2, "{emptied}: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains("would unpublish them all"), "{}", r.stderr);
        assert_eq!(sb.snapshot(), before, "{emptied}: a refused user add changes nothing");
        assert_eq!(listed(&sb), ["one", "two"], "{emptied}");

        sb.ok(&["config-restore"]);
        assert_eq!(std::fs::read_to_string(&cfg).unwrap(), good, "{emptied}");
        let again = json(&sb.ok(&["apply", "--output-format", "json"]));
        assert_eq!(again["changed"], false, "{emptied}: restored as it was: {again}");
    }

    // confirmed: the shares go, and the empty config is accepted from then on
    std::fs::write(&cfg, "").unwrap();
    let out = sb.ok(&["apply", "--force"]);
    assert!(out.contains("unpublishing one, two"), "{out}");
    assert!(listed(&sb).is_empty(), "{:?}", listed(&sb));
    sb.ok(&["apply"]);
    share(&sb, "three", &sb.data("three"), &[]);
    assert_eq!(listed(&sb), ["three"]);
    // the data of the unpublished shares stays, and the config they were in can come back
    assert!(sb.data("two").join("t.txt").exists());
    let history = json(&sb.ok(&["config-history", "--output-format", "json"]));
    let id = history
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["shares"] == serde_json::json!(["one", "two"]))
        .unwrap_or_else(|| panic!("{history}"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    sb.ok(&["config-restore", &id]);
    sb.ok(&["apply"]);
    assert_eq!(listed(&sb), ["one", "two"]);
}

#[test]
fn unmounted_storage_is_not_recreated_and_the_other_shares_converge() {
    let sb = sandbox_with(&["local"]);
    let fs = Btrfs::new(sb.dir.path(), "256M");
    let (plain, quota) = (fs.mount.join("plain"), fs.mount.join("quota"));
    share(&sb, "plain", &plain, &[]);
    share(&sb, "quota", &quota, &["--quota", "50M"]);
    round_trip(&sb, "plain", "on btrfs");
    let image = sb.dir.path().join("btrfs.img");
    let loop_dev = run("losetup", &["-j", image.to_str().unwrap()]);
    let loop_dev = loop_dev.split(':').next().unwrap().to_string();

    run("umount", &["-l", fs.mount.to_str().unwrap()]);
    // something for apply to converge on the shares that are there
    std::fs::remove_dir_all(sb.root.join("samba/shares.d")).unwrap();

    let r = sb.run(&["apply", "--output-format", "json"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("'plain'") && r.stderr.contains("'quota'") && r.stderr.contains("missing"),
        "{}",
        r.stderr
    );
    let change = json(&r.stdout);
    let left_out: Vec<&str> = change["unavailable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["share"].as_str().unwrap())
        .collect();
    assert_eq!(left_out, ["plain", "quota"], "{change}");
    assert!(
        !plain.exists() && !quota.exists(),
        "apply created a share directory on the parent filesystem"
    );
    assert_eq!(listed(&sb), ["local"]);
    round_trip(&sb, "local", "the others still work");
    let err = sb.smbclient("plain", Some(ALICE), "ls").unwrap_err();
    assert!(err.contains("NT_STATUS_BAD_NETWORK_NAME"), "{err}");

    let r = sb.run(&["status", "--output-format", "json"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let status = json(&r.stdout);
    let state = |name: &str| {
        status["shares"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()["state"]
            .clone()
    };
    assert_eq!(state("local"), "ok", "{status}");
    assert_eq!(state("plain"), "unavailable", "{status}");
    assert_eq!(state("quota"), "unavailable", "{status}");

    // no other change publishes them or creates their storage either
    share(&sb, "other", &sb.data("other"), &[]);
    assert_eq!(listed(&sb), ["local", "other"]);
    let r = sb.run(&["update", "plain", "--comment", "changed while unmounted"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("'plain' is unavailable"), "{}", r.stderr);
    assert!(
        !plain.exists(),
        "update created the share directory on the parent filesystem"
    );
    assert_eq!(listed(&sb), ["local", "other"]);

    // a plain directory where the subvolume was is not the share's storage either
    std::fs::create_dir(&quota).unwrap();
    let r = sb.run(&["apply"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("no longer the share's btrfs subvolume"),
        "{}",
        r.stderr
    );
    assert_eq!(listed(&sb), ["local", "other"]);
    std::fs::remove_dir(&quota).unwrap();

    // mounted again: served again, with the data written before
    run("mount", &[&loop_dev, fs.mount.to_str().unwrap()]);
    sb.ok(&["apply"]);
    assert_eq!(listed(&sb), ["local", "other", "plain", "quota"]);
    assert_eq!(std::fs::read_to_string(plain.join("t.txt")).unwrap(), "on btrfs");
    sb.ok(&["status"]);
}

#[test]
fn a_share_turned_into_a_symlink_does_not_stop_the_others() {
    let sb = sandbox_with(&["good", "bad"]);
    sb.ok(&["stop"]);
    std::fs::remove_file(sb.root.join("samba/smb.conf")).unwrap();
    std::fs::remove_dir_all(sb.root.join("samba/shares.d")).unwrap();
    let bad = sb.data("bad");
    std::fs::remove_dir(&bad).unwrap();
    std::os::unix::fs::symlink("/etc", &bad).unwrap();

    let r = sb.run(&["apply"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("'bad'") && r.stderr.contains("symbolic link"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("'good'"), "{}", r.stderr);
    assert_eq!(listed(&sb), ["good"]);
    round_trip(&sb, "good", "converged");
    let err = sb.smbclient("bad", Some(ALICE), "ls").unwrap_err();
    assert!(err.contains("NT_STATUS_BAD_NETWORK_NAME"), "{err}");
}

#[test]
fn quotas_disabled_behind_the_gateways_back_are_reported_and_repaired() {
    let sb = sandbox_with(&[]);
    let fs = Btrfs::new(sb.dir.path(), "512M");
    let path = fs.mount.join("q");
    share(&sb, "q", &path, &["--quota", "20M"]);
    sb.ok(&["status"]);

    run("btrfs", &["quota", "disable", fs.mount.to_str().unwrap()]);
    let r = sb.run(&["status"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("'q'") && r.stderr.contains("quotas are disabled") && r.stderr.contains("apply"),
        "{}",
        r.stderr
    );

    sb.ok(&["apply"]);
    assert_eq!(fs.qgroup(&path).1, Some(20 * MIB as u64));
    let big = sb.write_local("big.bin", &vec![0x5a; 30 * MIB]);
    let err = sb
        .smbclient("q", Some(ALICE), &format!("put {} big.bin", big.display()))
        .unwrap_err();
    assert!(err.contains("NT_STATUS_DISK_FULL"), "{err}");
    let stored = std::fs::metadata(path.join("big.bin")).map_or(0, |m| m.len());
    assert!(stored <= 20 * MIB as u64, "stored {stored} bytes in a 20 MiB share");
    std::fs::remove_file(path.join("big.bin")).unwrap();
    sb.ok(&["status"]);

    // a limit changed behind the gateway's back is reported and set again too
    run("btrfs", &["qgroup", "limit", "none", path.to_str().unwrap()]);
    let r = sb.run(&["status"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("the enforced limit is none"), "{}", r.stderr);
    sb.ok(&["apply"]);
    assert_eq!(fs.qgroup(&path).1, Some(20 * MIB as u64));
    sb.ok(&["status"]);
}
