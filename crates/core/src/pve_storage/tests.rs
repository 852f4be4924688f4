//! storage.cfg as PVE writes it (pvesm add, the installer's defaults) and as people edit it.

use super::*;

/// A node's storage.cfg as `pvesm add` and the PVE installer write it (tab indented, an empty
/// line between sections), with the types a share can use and some it cannot.
const REAL: &str = "dir: local
\tpath /var/lib/vz
\tcontent iso,vztmpl,backup

lvmthin: local-lvm
\tthinpool data
\tvgname pve
\tcontent rootdir,images

zfspool: local-zfs
\tpool rpool/data
\tsparse
\tcontent images,rootdir

cephfs: cephfs
\tpath /mnt/pve/cephfs
\tcontent backup,vztmpl,iso
\tfs-name cephfs

btrfs: fast
\tpath /srv/fast
\tcontent rootdir,images
\tnodes pve1,pve2

dir: old
\tpath /srv/old/
\tcontent backup
\tdisable 1

rbd: ceph-vm
\tcontent images,rootdir
\tkrbd 0
\tpool ceph-vm
";

fn by_id<'a>(all: &'a [Storage], id: &str) -> &'a Storage {
    all.iter().find(|s| s.id == id).unwrap()
}

#[test]
fn reads_what_pvesm_writes() {
    let all = parse(REAL);
    let ids: Vec<&str> = all.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids,
        ["local", "local-lvm", "local-zfs", "cephfs", "fast", "old", "ceph-vm"]
    );
    let zfs = by_id(&all, "local-zfs");
    assert_eq!(
        (zfs.pool.as_deref(), zfs.mountpoint.as_deref()),
        (Some("rpool/data"), Some("/rpool/data")),
        "a zfspool without mountpoint is where ZFS mounts it by default"
    );
    let ceph = by_id(&all, "cephfs");
    assert_eq!(ceph.path.as_deref(), Some("/mnt/pve/cephfs"));
    assert_eq!(ceph.fs_name.as_deref(), Some("cephfs"));
    assert!(ceph.shared, "cephfs is shared by type (PVE's @SHARED_STORAGE)");
    let fast = by_id(&all, "fast");
    assert_eq!(fast.nodes, Some(vec!["pve1".to_string(), "pve2".to_string()]));
    assert!(fast.on_node("pve2") && !fast.on_node("pve3"));
    let old = by_id(&all, "old");
    assert!(old.disabled);
    assert_eq!(old.path.as_deref(), Some("/srv/old"), "a trailing slash is dropped");
    assert_eq!(by_id(&all, "local").content, ["iso", "vztmpl", "backup"]);
}

#[test]
fn pve_section_rules_comments_blank_lines_bad_ids_and_case() {
    let text = "# storages\nDIR: Backup2\n    path /srv/b\n# a comment inside\n\tnodes pve1;pve2 bad_node\n\tpath /srv/ignored\n\n\tpath /srv/orphan\nrandom text\ncephfs: x\n\tpath /mnt/x\n\ncephfs: 9bad\n\tpath /mnt/bad\n\ncephfs: ceph2\n\tsubdir /sub\n";
    let all = parse(text);
    let ids: Vec<&str> = all.iter().map(|s| s.id.as_str()).collect();
    // `x` is too short and `9bad` starts with a digit: PVE skips both sections
    assert_eq!(ids, ["local", "Backup2", "ceph2"]);
    let b = by_id(&all, "Backup2");
    assert_eq!(b.kind, "dir", "the type is read in any case");
    assert_eq!(
        b.path.as_deref(),
        Some("/srv/b"),
        "the first of a repeated property counts"
    );
    assert_eq!(b.nodes, Some(vec!["pve1".to_string(), "pve2".to_string()]));
    let c = by_id(&all, "ceph2");
    assert_eq!(c.path.as_deref(), Some("/mnt/pve/ceph2"), "cephfs default path");
    assert_eq!(c.subdir.as_deref(), Some("/sub"));
}

#[test]
fn headers_are_pves_type_colon_id() {
    let all =
        parse("dir : spaced\n\tpath /a\n\ndir:tight\n\tpath /b\n\ndir: two words\n\tpath /c\n\ndir:\n\tpath /d\n");
    let ids: Vec<&str> = all.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["local", "tight"]);
}

#[test]
fn a_header_without_an_empty_line_before_it_is_ignored_like_pve_does() {
    let all = parse("dir: one\n\tpath /srv/one\ndir: two\n\tpath /srv/two\n\tshared 1\n");
    let ids: Vec<&str> = all.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["local", "one"]);
    assert_eq!(by_id(&all, "one").path.as_deref(), Some("/srv/one"));
    assert!(by_id(&all, "one").shared);
}

#[test]
fn local_is_always_the_dir_at_var_lib_vz_on_every_node() {
    let all = parse("");
    assert_eq!(all.len(), 1);
    assert_eq!(
        (all[0].kind.as_str(), all[0].path.as_deref()),
        ("dir", Some("/var/lib/vz"))
    );
    let all = parse("btrfs: local\n\tpath /srv/x\n\tnodes a1\n");
    assert_eq!(
        (all[0].kind.as_str(), all[0].path.as_deref()),
        ("dir", Some("/var/lib/vz"))
    );
    let all = parse("dir: local\n\tpath /var/lib/vz\n\tnodes a1\n");
    assert_eq!(all[0].nodes, None, "PVE drops node restrictions of local");
}

#[test]
fn shares_go_below_the_storage() {
    let all = parse(REAL);
    let at = |id: &str| by_id(&all, id).locate("team", None).unwrap();
    let ceph = at("cephfs");
    assert_eq!(
        (ceph.path.as_str(), ceph.backend, ceph.zfs_dataset),
        ("/mnt/pve/cephfs/smbgateway/team", QuotaBackend::Cephfs, None)
    );
    let zfs = at("local-zfs");
    assert_eq!(
        (zfs.path.as_str(), zfs.backend, zfs.zfs_dataset.as_deref()),
        (
            "/rpool/data/smbgw-team",
            QuotaBackend::Zfs,
            Some("rpool/data/smbgw-team")
        )
    );
    assert_eq!(at("fast").backend, QuotaBackend::Btrfs);
    assert_eq!(at("fast").path, "/srv/fast/smbgateway/team");
    assert_eq!(at("local").backend, QuotaBackend::Auto);
    // an explicit path inside the storage; on a zfspool the dataset follows it
    let fast = by_id(&all, "fast").locate("team", Some("/srv/fast/teams/a")).unwrap();
    assert_eq!(fast.path, "/srv/fast/teams/a");
    let zfs = by_id(&all, "local-zfs").locate("t", Some("/rpool/data/team")).unwrap();
    assert_eq!(zfs.zfs_dataset.as_deref(), Some("rpool/data/team"));
}

#[test]
fn a_path_outside_the_storage_is_a_path_error() {
    let all = parse(REAL);
    for outside in ["/srv/fastx/a", "/srv/fast", "/srv/other", "/mnt/pve"] {
        let err = by_id(&all, "fast").locate("team", Some(outside)).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("path"), "{outside}");
        assert!(
            err.message.contains("not inside storage 'fast' (/srv/fast)"),
            "{}",
            err.message
        );
    }
}

#[test]
fn refusals_name_the_reason() {
    let all = parse(REAL);
    let why = |id: &str, node: &str| by_id(&all, id).refusal(node).unwrap_or_default();
    assert!(why("ceph-vm", "pve1")
        .contains("of type 'rbd'; shares can be put on storages of type btrfs, cephfs, dir, zfspool"));
    assert!(why("old", "pve1").contains("is disabled"));
    assert!(why("fast", "pve3").contains("not enabled on node 'pve3' (storage.cfg: nodes pve1,pve2)"));
    assert_eq!(why("fast", "pve1"), "");
    assert_eq!(why("cephfs", "pve3"), "");
    let all = parse("dir: nopath\n\tcontent iso\n");
    assert!(by_id(&all, "nopath").refusal("a1").unwrap().contains("has no path"));
}

#[test]
fn an_unknown_storage_lists_the_usable_ones() {
    let all = parse(REAL);
    let usable: Vec<&Storage> = all.iter().filter(|s| s.refusal("pve1").is_none()).collect();
    let err = find(&all, "nope", &usable).unwrap_err();
    assert_eq!(err.field.as_deref(), Some("storage"));
    assert!(
        err.message.contains("local (dir, /var/lib/vz), local-zfs (zfspool, /rpool/data), cephfs (cephfs, /mnt/pve/cephfs), fast (btrfs, /srv/fast)"),
        "{}",
        err.message
    );
    assert!(find(&all, "bad id!", &usable).is_err());
    assert_eq!(find(&all, "fast", &usable).unwrap().id, "fast");
}

#[test]
fn storage_ids_follow_pve() {
    for ok in ["local", "local-zfs", "a1", "ceph.fs_2"] {
        assert!(storage_id_ok(ok), "{ok}");
    }
    for bad in ["a", "1abc", "abc-", "a b", "", "ab/c"] {
        assert!(!storage_id_ok(bad), "{bad}");
    }
}

#[test]
fn of_two_sections_with_one_id_the_last_counts_like_pve() {
    let all = parse("dir: data\n\tpath /srv/first\n\ndir: other\n\tpath /srv/o\n\ndir: data\n\tpath /srv/second\n");
    assert_eq!(all.iter().filter(|s| s.id == "data").count(), 1);
    assert_eq!(by_id(&all, "data").path.as_deref(), Some("/srv/second"));
}

#[test]
fn reads_a_pbs_storage_as_pvesm_add_pbs_writes_it() {
    let text = "pbs: pbs1
\tdatastore store1
\tserver 192.0.2.10
\tcontent backup
\tfingerprint 6F:0A:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE
\tnamespace smb/gw
\tport 8008
\tprune-backups keep-all=1
\tusername backup@pbs!gw
\tnodes pve1

dir: store
\tpath /srv/store
";
    let all = parse(text);
    let pbs = by_id(&all, "pbs1");
    assert_eq!(pbs.kind, "pbs");
    assert_eq!(
        pbs.pbs,
        PbsProperties {
            server: Some("192.0.2.10".into()),
            port: Some("8008".into()),
            datastore: Some("store1".into()),
            username: Some("backup@pbs!gw".into()),
            fingerprint: Some(
                "6F:0A:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE"
                    .into()
            ),
            namespace: Some("smb/gw".into()),
            encryption_key: None,
        }
    );
    assert_eq!(pbs.nodes.as_deref(), Some(&["pve1".to_string()][..]));
    assert!(pbs.refusal("pve1").is_some(), "a pbs storage holds no shares");
    // another type's same-named lines are not PBS properties
    assert_eq!(by_id(&all, "store").pbs, PbsProperties::default());
}
