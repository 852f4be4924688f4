//! Golden files of the renderer, each also checked by Samba's own testparm. The sandbox root is
//! a temp dir, written as /ROOT in the golden files. Regenerate with UPDATE_GOLDEN=1.

use std::path::{Path, PathBuf};

use smbgw_core::share::Properties;
use smbgw_core::{Layout, Share};
use smbgw_samba::{render, testparm, Samba};

fn share(name: &str, pairs: &[(&str, &str)]) -> Share {
    let props: Properties = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Share::from_properties(name, &props).unwrap()
}

fn shares() -> Vec<Share> {
    vec![
        share("minimal", &[("path", "/srv/minimal")]),
        share(
            "Team Data",
            &[
                ("path", "/srv/team data"),
                ("comment", "Team – files"),
                ("users", "alice,bob"),
                ("groups", "staff"),
                ("hosts-allow", "10.0.0.0/8,fd00::/64"),
                ("hosts-deny", "0.0.0.0/0,::/0"),
                ("recycle-bin", "1"),
                ("shadow-copies", "1"),
                ("macos", "1"),
                ("audit", "1"),
                ("encrypt", "1"),
                ("case-sensitive", "yes"),
                (
                    "options",
                    "create mask=0660,directory mask=2770,force group=staff,access based share enum=1",
                ),
            ],
        ),
        share(
            "public",
            &[
                ("path", "/srv/public"),
                ("guest", "1"),
                ("read-only", "1"),
                ("browseable", "0"),
            ],
        ),
        share(
            "quota",
            &[
                ("path", "/srv/quota"),
                ("quota", "10G"),
                ("quota-backend", "btrfs"),
                ("users", "alice"),
            ],
        ),
        // streams are on by default; this share turns them off
        share("nostreams", &[("path", "/srv/nostreams"), ("streams", "0")]),
        // an admin's stack: the modules of the properties, plus the two no property owns
        share(
            "stack",
            &[
                ("path", "/srv/stack"),
                ("recycle-bin", "1"),
                ("audit", "1"),
                (
                    "options",
                    "vfs objects=full_audit streams_xattr recycle acl_xattr io_uring",
                ),
            ],
        ),
    ]
}

fn check(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing golden file {}", path.display()));
    assert_eq!(
        actual, expected,
        "{name} differs from its golden file (UPDATE_GOLDEN=1 regenerates)"
    );
}

#[test]
fn rendered_config_matches_golden_files_and_passes_testparm() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let layout = Layout::sandbox(&root, "127.0.0.1".parse().unwrap(), 4450).unwrap();
    let samba = Samba::new(layout.clone());
    let rendered = testparm::render_validated(&samba, &shares(), &Default::default())
        .expect("testparm accepts the rendered config");
    let anon = |text: &str| text.replace(root.to_str().unwrap(), "/ROOT");

    check("smb.conf", &anon(&rendered.smb_conf.1));
    for (path, text) in &rendered.shares {
        check(
            &format!("shares.d/{}", path.file_name().unwrap().to_str().unwrap()),
            &anon(text),
        );
    }
    let (helper, script) = rendered
        .dfree_helper
        .as_ref()
        .expect("a btrfs quota share needs the dfree helper");
    assert_eq!(helper, &layout.share_conf_dir.join("dfree"));
    check("shares.d/dfree", &anon(script));

    // What Samba itself understood, after writing the files where they go live.
    for (path, text) in std::iter::once((&rendered.smb_conf.0, &rendered.smb_conf.1)).chain(&rendered.shares) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let dump = testparm::check_file(&samba, &layout.smb_conf).unwrap();
    check("testparm.out", &anon(&dump));
}

#[test]
fn guest_free_config_closes_anonymous_access() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::sandbox(dir.path(), "127.0.0.1".parse().unwrap(), 4450).unwrap();
    let only_private = &shares()[..2];
    let r = render::render(
        &layout,
        only_private,
        &Default::default(),
        &layout.smb_conf,
        &layout.share_conf_dir,
    );
    assert!(r.smb_conf.1.contains("restrict anonymous = 2") && r.smb_conf.1.contains("map to guest = Never"));
    let r = render::render(
        &layout,
        &shares(),
        &Default::default(),
        &layout.smb_conf,
        &layout.share_conf_dir,
    );
    assert!(r.smb_conf.1.contains("map to guest = Bad User"));
    let _: PathBuf = layout.smb_conf;
}

/// A share on CephFS (its own golden file, so the files above stay as they were): Previous
/// Versions by vfs_ceph_snapshots in shadow_copy2's place of the VFS order, the dfree helper for
/// its quota; Samba's testparm accepts it.
#[test]
fn cephfs_share_matches_its_golden_file_and_passes_testparm() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let layout = Layout::sandbox(&root, "127.0.0.1".parse().unwrap(), 4450).unwrap();
    let samba = Samba::new(layout.clone());
    let cephfs = share(
        "cephfs",
        &[
            ("path", "/mnt/pve/cephfs/smbgateway/cephfs"),
            ("quota", "10G"),
            ("quota-backend", "cephfs"),
            ("users", "alice"),
            ("shadow-copies", "1"),
            ("recycle-bin", "1"),
            ("macos", "1"),
            ("audit", "1"),
        ],
    );
    let rendered = testparm::render_validated(&samba, &[cephfs], &Default::default())
        .expect("testparm accepts the rendered config");
    let anon = |text: &str| text.replace(root.to_str().unwrap(), "/ROOT");
    let (path, text) = rendered.shares.iter().next().unwrap();
    assert_eq!(path.file_name().unwrap(), "cephfs.conf");
    check("cephfs/cephfs.conf", &anon(text));
    assert!(rendered.dfree_helper.is_some());
}

/// A Time Machine share (its own golden files, so the files above stay as they were): the
/// fruit parameters on the share, `fruit:aapl` in the globals only because of it, and what
/// Samba's testparm makes of both.
#[test]
fn time_machine_share_matches_its_golden_files_and_passes_testparm() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let layout = Layout::sandbox(&root, "127.0.0.1".parse().unwrap(), 4450).unwrap();
    let samba = Samba::new(layout.clone());
    let backups = share(
        "backups",
        &[
            ("path", "/srv/backups"),
            ("quota", "600G"),
            ("quota-backend", "btrfs"),
            ("users", "alice"),
            ("macos", "1"),
            ("time-machine", "1"),
            ("time-machine-max-size", "500G"),
        ],
    );
    let rendered = testparm::render_validated(&samba, &[backups], &Default::default())
        .expect("testparm accepts the rendered config");
    let anon = |text: &str| text.replace(root.to_str().unwrap(), "/ROOT");
    check("timemachine/smb.conf", &anon(&rendered.smb_conf.1));
    let (path, text) = rendered.shares.iter().next().unwrap();
    assert_eq!(path.file_name().unwrap(), "backups.conf");
    check("timemachine/backups.conf", &anon(text));
    for (path, text) in std::iter::once((&rendered.smb_conf.0, &rendered.smb_conf.1)).chain(&rendered.shares) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let dump = testparm::check_file(&samba, &layout.smb_conf).unwrap();
    check("timemachine/testparm.out", &anon(&dump));
}

/// A Windows ACL share (its own golden files, so the files above stay as they were): acl_xattr
/// below recycle, fruit, shadow_copy2 and full_audit and above io_uring, the parameters that
/// map the NT ACL, and what Samba's testparm makes of them.
#[test]
fn windows_acl_share_matches_its_golden_files_and_passes_testparm() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let layout = Layout::sandbox(&root, "127.0.0.1".parse().unwrap(), 4450).unwrap();
    let samba = Samba::new(layout.clone());
    let office = share(
        "office",
        &[
            ("path", "/srv/office"),
            ("acl-mode", "windows"),
            ("audit", "1"),
            ("macos", "1"),
            ("shadow-copies", "1"),
            ("recycle-bin", "1"),
            (
                "options",
                "vfs objects=full_audit catia fruit streams_xattr recycle io_uring",
            ),
        ],
    );
    let rendered = testparm::render_validated(&samba, &[office], &Default::default())
        .expect("testparm accepts the rendered config");
    let anon = |text: &str| text.replace(root.to_str().unwrap(), "/ROOT");
    let (path, text) = rendered.shares.iter().next().unwrap();
    assert_eq!(path.file_name().unwrap(), "office.conf");
    check("winacl/office.conf", &anon(text));
    for (path, text) in std::iter::once((&rendered.smb_conf.0, &rendered.smb_conf.1)).chain(&rendered.shares) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let dump = testparm::check_file(&samba, &layout.smb_conf).unwrap();
    let section = &dump[dump.find("[office]").expect("the share in testparm's dump")..];
    check("winacl/testparm.out", &anon(section));
}

/// A home share beside a shared one with the listing switches (their own golden files, so the
/// files above stay as they were): the connected user's folder as the path, the switches on
/// their shares, and what Samba's testparm makes of them; nothing in the globals changes.
#[test]
fn home_and_listing_shares_match_their_golden_files_and_pass_testparm() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let layout = Layout::sandbox(&root, "127.0.0.1".parse().unwrap(), 4450).unwrap();
    let samba = Samba::new(layout.clone());
    let homes = share(
        "homes",
        &[
            ("path", "/srv/homes"),
            ("homes", "1"),
            ("home-quota", "10G"),
            ("users", "alice,bob"),
            ("groups", "staff"),
            ("browseable", "0"),
        ],
    );
    let team = share(
        "team",
        &[
            ("path", "/srv/team"),
            ("users", "alice"),
            ("access-based-enum", "1"),
            ("hide-unreadable", "1"),
        ],
    );
    let rendered = testparm::render_validated(&samba, &[homes, team], &Default::default())
        .expect("testparm accepts the rendered config");
    let anon = |text: &str| text.replace(root.to_str().unwrap(), "/ROOT");
    check("homes/smb.conf", &anon(&rendered.smb_conf.1));
    for (path, text) in &rendered.shares {
        let name = path.file_name().unwrap().to_str().unwrap();
        check(&format!("homes/{name}"), &anon(text));
    }
    for (path, text) in std::iter::once((&rendered.smb_conf.0, &rendered.smb_conf.1)).chain(&rendered.shares) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let dump = testparm::check_file(&samba, &layout.smb_conf).unwrap();
    check("homes/testparm.out", &anon(&dump));
}
