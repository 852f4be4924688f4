//! Home shares and the listing switches against a real smbd and smbclient, with two real users:
//! each user of a home share lands in their own folder (made by the gateway, owned by them,
//! 0700) and cannot see or enter another's; a home quota on btrfs stops a write; a removed
//! user's home is kept and listed by `show`; a link planted where a home belongs is not
//! followed; what a crash while making a home leaves is healed by `apply`;
//! `--access-based-enum` hides a share from a user who may not use it in `smbclient -L`;
//! `--hide-unreadable` hides a file the user cannot read.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use common::{Btrfs, Sandbox};

const ALICE: (&str, &str) = ("alice", "Alice-pw1");
const BOB: (&str, &str) = ("bob", "Bob-pw-22");
const CAROL: (&str, &str) = ("carol", "Carol-pw3");
const MIB: u64 = 1 << 20;

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

/// The uid the sandbox gave `user` (its own passwd file, which smbd reads through nss_wrapper).
fn uid(sb: &Sandbox, user: &str) -> u32 {
    let passwd = std::fs::read_to_string(sb.root.join("accounts/passwd")).unwrap();
    let line = passwd
        .lines()
        .find(|l| l.starts_with(&format!("{user}:")))
        .unwrap_or_else(|| panic!("{user} not in\n{passwd}"));
    line.split(':').nth(2).unwrap().parse().unwrap()
}

/// A sandbox with alice and bob (their folders are `alice` and `bob` below the share).
fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.add_user(ALICE.0, ALICE.1);
    sb.add_user(BOB.0, BOB.1);
    sb
}

/// Create share `name` at `path` for `users`, with the options in `extra`.
fn create(sb: &Sandbox, name: &str, path: &Path, users: &str, extra: &[&str]) {
    let mut args = vec!["create", name, "--path", path.to_str().unwrap(), "--users", users];
    args.extend_from_slice(extra);
    sb.ok(&args);
}

/// Create the home share `homes` at `path` for `users`.
fn create_homes(sb: &Sandbox, path: &Path, users: &str, extra: &[&str]) {
    create(sb, "homes", path, users, &[&["--homes", "1"], extra].concat());
}

/// The root-owned directory a planted link points to is as it was made (0750).
fn assert_untouched(target: &Path) {
    let meta = std::fs::metadata(target).unwrap();
    assert_eq!(
        (meta.uid(), meta.mode() & 0o7777),
        (0, 0o750),
        "the link's target is untouched"
    );
}

/// The names a user sees in the root of `share`.
fn listing(sb: &Sandbox, share: &str, user: (&str, &str)) -> Vec<String> {
    let out = sb.smbclient(share, Some(user), "ls").unwrap();
    out.lines()
        .filter_map(|l| {
            let l = l.trim_start();
            // "  name   D   0  date": the name ends where two spaces start
            let end = l.find("  ")?;
            Some(l[..end].to_string())
        })
        .filter(|n| !n.is_empty() && n != "." && n != "..")
        .collect()
}

fn put(sb: &Sandbox, share: &str, user: (&str, &str), name: &str, data: &[u8]) -> Result<String, String> {
    let local = sb.write_local(&format!("{}.{name}", user.0), data);
    sb.smbclient(share, Some(user), &format!("put {} {name}", local.display()))
}

fn get(sb: &Sandbox, share: &str, user: (&str, &str), name: &str) -> Result<Vec<u8>, String> {
    let local = sb.dir.path().join(format!("got.{}.{name}", user.0));
    let _ = std::fs::remove_file(&local);
    sb.smbclient(share, Some(user), &format!("get {name} {}", local.display()))?;
    Ok(std::fs::read(&local).unwrap())
}

#[test]
fn each_user_lands_in_their_own_private_home() {
    let sb = sandbox();
    let path = sb.data("homes");
    create_homes(&sb, &path, "alice,bob", &[]);

    // the gateway made both homes: owned by their user, 0700, the root passable only
    for user in ["alice", "bob"] {
        let meta = std::fs::symlink_metadata(path.join(user)).unwrap();
        assert!(meta.is_dir());
        assert_eq!(meta.uid(), uid(&sb, user), "{user}");
        assert_eq!(meta.mode() & 0o7777, 0o700, "{user}");
    }
    let root = std::fs::metadata(&path).unwrap();
    assert_eq!((root.uid(), root.mode() & 0o777), (0, 0o711));
    // an update leaves a root that is as it should be without a warning
    let r = sb.run(&["update", "homes", "--comment", "Home folders"]);
    assert!(r.code == 0 && !r.stderr.contains("warning"), "{}", r.stderr);
    // a home share is healthy in status, with no ACL grant on its root
    let status = json(&sb.ok(&["status", "--output-format", "json"]));
    assert_eq!(status["shares"][0]["state"], "ok", "{status}");
    let acl = common::run("getfacl", &["-cp", path.to_str().unwrap()]);
    let named = |l: &&str| l.starts_with("user:") && !l.starts_with("user::");
    assert!(!acl.lines().any(|l| named(&l)) && !acl.contains("default:"), "{acl}");

    // alice connects to 'homes', writes, reads back: the file is in her folder on disk
    put(&sb, "homes", ALICE, "diary.txt", b"alice's own words").unwrap();
    assert_eq!(get(&sb, "homes", ALICE, "diary.txt").unwrap(), b"alice's own words");
    assert_eq!(
        std::fs::read(path.join("alice/diary.txt")).unwrap(),
        b"alice's own words"
    );
    assert_eq!(
        std::fs::metadata(path.join("alice/diary.txt")).unwrap().uid(),
        uid(&sb, "alice")
    );

    // bob connects to the same share and lands in his own, empty folder
    assert_eq!(listing(&sb, "homes", BOB), Vec::<String>::new());
    assert!(get(&sb, "homes", BOB, "diary.txt").is_err());
    // nor can he climb out of it to alice's
    let up = sb.smbclient("homes", Some(BOB), "get ../alice/diary.txt /dev/null");
    assert!(up.is_err(), "{up:?}");
    let cd = sb.smbclient("homes", Some(BOB), "cd ..\\alice; ls");
    assert!(cd.is_err() || !cd.as_ref().unwrap().contains("diary"), "{cd:?}");
    // Samba's home section also answers to the user's name; bob asking for alice's gets his own
    assert_eq!(listing(&sb, "homes", ALICE), vec!["diary.txt".to_string()]);
    match sb.smbclient("alice", Some(BOB), "ls") {
        Ok(out) => assert!(!out.contains("diary"), "{out}"),
        Err(e) => assert!(e.contains("NT_STATUS_"), "{e}"),
    }
    put(&sb, "homes", BOB, "notes.txt", b"bob").unwrap();
    assert_eq!(std::fs::read(path.join("bob/notes.txt")).unwrap(), b"bob");
    assert!(!path.join("alice/notes.txt").exists());

    // not browseable: the list shows each user their own folder by name, not the section
    assert!(sb.listed_shares(ALICE).contains(&"homes".to_string()));
    sb.ok(&["update", "homes", "--browseable", "0"]);
    let listed = sb.listed_shares(ALICE);
    assert!(
        listed.contains(&"alice".to_string()) && !listed.contains(&"homes".to_string()),
        "{listed:?}"
    );
    assert!(!listed.contains(&"bob".to_string()), "{listed:?}");
}

#[test]
fn homes_follow_the_users_and_a_removed_users_home_is_kept_and_listed() {
    let sb = sandbox();
    let path = sb.data("homes");
    create_homes(&sb, &path, "alice,bob", &[]);
    put(&sb, "homes", BOB, "keep.txt", b"bob's data").unwrap();

    // carol joins through a group: her home comes with the update that adds the group
    let r = sb.run_with_stdin(
        &["user", "add", "carol", "--groups", "staff", "--password-stdin"],
        format!("{}\n", CAROL.1).as_bytes(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!path.join("carol").exists());
    let dry = sb.ok(&["update", "homes", "--groups", "staff", "--dry-run"]);
    assert!(
        dry.contains("create the home folder") && dry.contains("'carol'"),
        "{dry}"
    );
    assert!(!path.join("carol").exists(), "a dry run creates nothing");
    sb.ok(&["update", "homes", "--groups", "staff"]);
    assert_eq!(std::fs::metadata(path.join("carol")).unwrap().uid(), uid(&sb, "carol"));
    put(&sb, "homes", CAROL, "c.txt", b"carol").unwrap();
    // dave is made a Samba user in the group later: his home comes with 'user add'
    let r = sb.run_with_stdin(
        &["user", "add", "dave", "--groups", "staff", "--password-stdin"],
        b"Dave-pw-44\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("create the home folder"), "{}", r.stdout);
    let meta = std::fs::metadata(path.join("dave")).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o7777), (uid(&sb, "dave"), 0o700));
    put(&sb, "homes", ("dave", "Dave-pw-44"), "d.txt", b"dave").unwrap();
    assert!(path.join("dave/d.txt").exists());

    // bob is taken off: his home stays with his data, show lists it as no longer served,
    // and he cannot connect any more
    sb.ok(&["update", "homes", "--users", "alice"]);
    assert_eq!(std::fs::read(path.join("bob/keep.txt")).unwrap(), b"bob's data");
    let shown = json(&sb.ok(&["show", "homes", "--output-format", "json"]));
    let homes = shown["homes"].as_array().unwrap();
    let served = |name: &str| homes.iter().find(|h| h["name"] == name).map(|h| h["served"].clone());
    assert_eq!(served("alice"), Some(serde_json::Value::Bool(true)), "{shown}");
    assert_eq!(served("carol"), Some(serde_json::Value::Bool(true)), "{shown}");
    assert_eq!(served("bob"), Some(serde_json::Value::Bool(false)), "{shown}");
    let text = sb.ok(&["show", "homes"]);
    assert!(
        text.contains("bob (uid") && text.contains("kept for its data"),
        "{text}"
    );
    let err = sb.smbclient("homes", Some(BOB), "ls").unwrap_err();
    assert!(
        err.contains("NT_STATUS_ACCESS_DENIED") || err.contains("NT_STATUS_BAD_NETWORK_NAME"),
        "{err}"
    );
    // apply changes nothing more and keeps the home
    sb.ok(&["apply"]);
    assert!(path.join("bob/keep.txt").exists());
}

#[test]
fn home_shares_refuse_what_they_cannot_do_and_write_nothing() {
    let sb = sandbox();
    let path = sb.data("homes");
    create_homes(&sb, &path, "alice", &[]);
    let before = sb.snapshot();
    let other = sb.data("more-homes");
    for (args, field, reason) in [
        (
            vec![
                "create",
                "more",
                "--path",
                other.to_str().unwrap(),
                "--homes",
                "1",
                "--users",
                "bob",
            ],
            "homes",
            "one home share per node",
        ),
        (
            vec!["create", "more", "--path", other.to_str().unwrap(), "--homes", "1"],
            "homes",
            "needs --users or --groups",
        ),
        (
            vec!["update", "homes", "--groups", "nosuchgroup"],
            "groups",
            "does not exist",
        ),
        (
            // /tmp is no btrfs: a per-home limit cannot be enforced there
            vec!["update", "homes", "--home-quota", "10M"],
            "home-quota",
            "cannot be enforced",
        ),
        (
            vec!["update", "homes", "--users", "EXAMPLE\\carol"],
            "users",
            "domain account",
        ),
        (
            vec![
                "create",
                "more",
                "--path",
                other.to_str().unwrap(),
                "--home-quota",
                "1G",
            ],
            "home-quota",
            "needs --homes 1",
        ),
    ] {
        sb.assert_refused(&args, field, reason, &before);
        assert!(!other.exists(), "{args:?}");
    }
}

#[test]
fn a_home_quota_on_btrfs_stops_a_write_with_disk_full() {
    let sb = sandbox();
    let fs = Btrfs::new(sb.dir.path(), "512M");
    let path = fs.mount.join("homes");
    // the share's own quota would not count the homes' subvolumes: refused, nothing made
    let r = sb.run(&[
        "create",
        "homes",
        "--path",
        path.to_str().unwrap(),
        "--homes",
        "1",
        "--users",
        "alice,bob",
        "--quota",
        "100M",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("--home-quota"), "{}", r.stderr);
    assert!(!path.exists());

    create_homes(&sb, &path, "alice,bob", &["--home-quota", "10M"]);
    for user in ["alice", "bob"] {
        let (_, max) = fs.qgroup(&path.join(user));
        assert_eq!(max, Some(10 * MIB), "{user}'s home is a subvolume with its limit");
        assert_eq!(
            std::fs::metadata(path.join(user)).unwrap().ino(),
            256,
            "{user}: a subvolume"
        );
    }
    let big = vec![7u8; 20 * MIB as usize];
    let err = put(&sb, "homes", ALICE, "big.bin", &big).unwrap_err();
    assert!(err.contains("NT_STATUS_DISK_FULL"), "{err}");
    let stored = std::fs::metadata(path.join("alice/big.bin"))
        .map(|m| m.len())
        .unwrap_or(0);
    assert!(
        stored <= 10 * MIB,
        "stored {stored} bytes, more than the 10 MiB home quota"
    );
    // bob's home has its own limit: alice's full home does not stop him
    put(&sb, "homes", BOB, "small.bin", &vec![1u8; 2 * MIB as usize]).unwrap();

    // the limit is raised on every home by an update, and shown
    sb.ok(&["update", "homes", "--home-quota", "30M"]);
    assert_eq!(fs.qgroup(&path.join("alice")).1, Some(30 * MIB));
    assert_eq!(fs.qgroup(&path.join("bob")).1, Some(30 * MIB));
    put(&sb, "homes", ALICE, "big.bin", &big).unwrap();
    let shown = json(&sb.ok(&["show", "homes", "--output-format", "json"]));
    assert_eq!(shown["homes"][0]["limit"], 30 * MIB, "{shown}");
    // taken off: every home's limit is lifted, the homes stay
    sb.ok(&["update", "homes", "--delete", "home-quota"]);
    assert_eq!(fs.qgroup(&path.join("alice")).1, None);
    assert_eq!(fs.qgroup(&path.join("bob")).1, None);
    assert!(path.join("alice/big.bin").exists());
}

#[test]
fn a_link_where_a_home_belongs_is_not_followed() {
    let sb = sandbox();
    let path = sb.data("homes");
    create_homes(&sb, &path, "alice", &[]);
    // a root-owned directory elsewhere, and a link to it where bob's home would be made
    let target = sb.dir.path().join("root-only");
    std::fs::create_dir(&target).unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o750)).unwrap();
    std::os::unix::fs::symlink(&target, path.join("bob")).unwrap();
    let before = sb.snapshot();

    let r = sb.run(&["update", "homes", "--users", "alice,bob"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("symbolic link") && r.stderr.contains("does not follow"),
        "{}",
        r.stderr
    );
    assert_untouched(&target);
    assert_eq!(sb.snapshot(), before, "the refused update wrote nothing");
    assert!(std::fs::symlink_metadata(path.join("bob"))
        .unwrap()
        .file_type()
        .is_symlink());

    // a root others may write in is named in a warning, and left as it is
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
    let r = sb.run(&["update", "homes", "--comment", "open root"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("warning") && r.stderr.contains("could move another's home"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o7777, 0o777);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o711)).unwrap();

    // once the link is gone, bob's home is made in its place
    std::fs::remove_file(path.join("bob")).unwrap();
    sb.ok(&["update", "homes", "--users", "alice,bob"]);
    let meta = std::fs::symlink_metadata(path.join("bob")).unwrap();
    assert!(meta.is_dir() && meta.uid() == uid(&sb, "bob"));
    assert_eq!(std::fs::metadata(&target).unwrap().uid(), 0);

    // apply meets a link where bob's home was: it reports the share, leaves the target alone,
    // and makes the home again once the link is gone
    std::fs::remove_dir(path.join("bob")).unwrap();
    std::os::unix::fs::symlink(&target, path.join("bob")).unwrap();
    let r = sb.run(&["apply"]);
    assert_ne!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("symbolic link"), "{}", r.stderr);
    assert_untouched(&target);
    put(&sb, "homes", ALICE, "still.txt", b"served").unwrap();
    std::fs::remove_file(path.join("bob")).unwrap();
    sb.ok(&["apply"]);
    assert_eq!(
        std::fs::symlink_metadata(path.join("bob")).unwrap().uid(),
        uid(&sb, "bob")
    );
}

/// A root-owned directory with `mode` at `path`, as an interrupted create leaves it.
fn root_dir(path: &Path, mode: u32) {
    std::fs::create_dir(path).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The owner and mode of `path` itself.
fn owner_mode(path: &Path) -> (u32, u32) {
    let meta = std::fs::symlink_metadata(path).unwrap();
    (meta.uid(), meta.mode() & 0o7777)
}

#[test]
fn apply_heals_what_an_interrupted_home_create_left() {
    let sb = sandbox();
    sb.add_user(CAROL.0, CAROL.1);
    let path = sb.data("homes");
    create_homes(&sb, &path, "alice,bob,carol", &[]);
    // the states a crash in the middle of making a home leaves: bob's made under the temporary
    // name and not yet his; carol's (as older versions made it) at her name, still root's
    std::fs::remove_dir(path.join("bob")).unwrap();
    std::fs::remove_dir(path.join("carol")).unwrap();
    let temp = path.join(".smbgw-new-home.bob");
    root_dir(&temp, 0o700);
    root_dir(&path.join("carol"), 0o700);
    // a leftover someone wrote into is not removed; the gateway's own entries are no homes
    let full = path.join(".smbgw-new-home.dave");
    root_dir(&full, 0o700);
    std::fs::write(full.join("kept.txt"), b"data").unwrap();
    root_dir(&path.join(".snapshots"), 0o755);
    root_dir(&path.join("lost+found"), 0o700);

    let r = sb.run(&["apply"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(".smbgw-new-home.dave") && r.stderr.contains("holds data"),
        "{}",
        r.stderr
    );
    assert!(!temp.exists(), "the empty leftover is removed");
    assert_eq!(std::fs::read(full.join("kept.txt")).unwrap(), b"data");
    assert_eq!(owner_mode(&path.join("bob")), (uid(&sb, "bob"), 0o700));
    assert_eq!(owner_mode(&path.join("carol")), (uid(&sb, "carol"), 0o700));
    put(&sb, "homes", CAROL, "c.txt", b"carol's").unwrap();
    assert_eq!(std::fs::read(path.join("carol/c.txt")).unwrap(), b"carol's");
    put(&sb, "homes", BOB, "b.txt", b"bob's").unwrap();
    // show lists the homes only
    let shown = json(&sb.ok(&["show", "homes", "--output-format", "json"]));
    let names: Vec<&str> = shown["homes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice", "bob", "carol"], "{shown}");
    // apply again: nothing left to heal
    let r = sb.run(&["apply", "--dry-run"]);
    assert!(
        !r.stdout.contains(".smbgw-new-home.bob") && !r.stdout.contains("the home"),
        "{}",
        r.stdout
    );

    // a root-owned folder someone made on purpose (another mode, or not empty) stays refused
    std::fs::remove_file(path.join("carol/c.txt")).unwrap();
    std::fs::remove_dir(path.join("carol")).unwrap();
    root_dir(&path.join("carol"), 0o755);
    let r = sb.run(&["update", "homes", "--comment", "again"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("belongs to uid 0"), "{}", r.stderr);
    std::fs::set_permissions(path.join("carol"), std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(path.join("carol/root.txt"), b"root's").unwrap();
    let r = sb.run(&["update", "homes", "--comment", "again"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert_eq!(owner_mode(&path.join("carol")), (0, 0o700));
}

#[test]
fn apply_heals_an_interrupted_btrfs_home_create_with_its_limit() {
    let sb = sandbox();
    let fs = Btrfs::new(sb.dir.path(), "512M");
    let path = fs.mount.join("homes");
    create_homes(&sb, &path, "alice,bob", &["--home-quota", "10M"]);
    let subvolume = |p: &Path, mode: &str| {
        common::run("btrfs", &["subvolume", "create", p.to_str().unwrap()]);
        common::run("chmod", &[mode, p.to_str().unwrap()]);
    };
    let delete = |p: &Path| common::run("btrfs", &["subvolume", "delete", p.to_str().unwrap()]);
    // bob's home made under the temporary name, alice's (as older versions made it) root's
    delete(&path.join("bob"));
    delete(&path.join("alice"));
    let temp = path.join(".smbgw-new-home.bob");
    subvolume(&temp, "0700");
    subvolume(&path.join("alice"), "0700");

    sb.ok(&["apply"]);
    assert!(!temp.exists(), "the empty leftover subvolume is removed");
    for user in ["alice", "bob"] {
        let home = path.join(user);
        assert_eq!(owner_mode(&home), (uid(&sb, user), 0o700), "{user}");
        assert_eq!(std::fs::metadata(&home).unwrap().ino(), 256, "{user}: a subvolume");
        assert_eq!(fs.qgroup(&home).1, Some(10 * MIB), "{user}'s limit");
    }
    let err = put(&sb, "homes", ALICE, "big.bin", &vec![7u8; 20 * MIB as usize]).unwrap_err();
    assert!(err.contains("NT_STATUS_DISK_FULL"), "{err}");
}

#[test]
fn access_based_enum_lists_a_share_only_to_its_users() {
    let sb = sandbox();
    let path = sb.data("private");
    create(&sb, "private", &path, "alice", &["--access-based-enum", "1"]);
    create(&sb, "open", &sb.data("open"), "alice,bob", &[]);
    let bob = sb.listed_shares(BOB);
    assert!(bob.contains(&"open".to_string()), "{bob:?}");
    assert!(!bob.contains(&"private".to_string()), "{bob:?}");
    assert!(sb.listed_shares(ALICE).contains(&"private".to_string()));
    // without the switch bob sees it listed (and still cannot connect)
    sb.ok(&["update", "private", "--access-based-enum", "0"]);
    assert!(sb.listed_shares(BOB).contains(&"private".to_string()));
    assert!(sb.smbclient("private", Some(BOB), "ls").is_err());
}

#[test]
fn hide_unreadable_hides_a_file_bob_cannot_read() {
    let sb = sandbox();
    let path = sb.data("team");
    create(&sb, "team", &path, "alice,bob", &["--hide-unreadable", "1"]);
    put(&sb, "team", ALICE, "secret.txt", b"for alice").unwrap();
    put(&sb, "team", ALICE, "shared.txt", b"for all").unwrap();
    // alice's file made private: 0600 (the ACL mask drops bob's inherited entry)
    std::fs::set_permissions(path.join("secret.txt"), std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(get(&sb, "team", BOB, "secret.txt").is_err(), "bob cannot read it");
    let seen = listing(&sb, "team", BOB);
    assert!(seen.contains(&"shared.txt".to_string()), "{seen:?}");
    assert!(!seen.contains(&"secret.txt".to_string()), "{seen:?}");
    assert!(listing(&sb, "team", ALICE).contains(&"secret.txt".to_string()));
    // without the switch bob sees the name (and still cannot read it)
    sb.ok(&["update", "team", "--hide-unreadable", "0"]);
    assert!(listing(&sb, "team", BOB).contains(&"secret.txt".to_string()));
}
