//! Shares on PVE storages (`create NAME --storage ID`, issue 16 item 1): a sandbox whose
//! `pve/storage.cfg` lists a `dir` storage on a temp dir, a `btrfs` one on a real btrfs loop
//! device, a `zfspool` through the `zfs` stand-in (t/bin/zfs), a `cephfs` one that is not
//! mounted, and storages this node must not use. Shares land where PVE would put a guest's
//! volume, with the storage's backend; every refusal exits 1, names its field and writes nothing.

mod common;

use std::path::{Path, PathBuf};

use common::{Btrfs, Sandbox};

const ALICE: (&str, &str) = ("alice", "Alice-pw1");
const MIB: u64 = 1 << 20;

struct Lab {
    sb: Sandbox,
    fs: Btrfs,
    dir_store: PathBuf,
    zfs_state: PathBuf,
    tank: PathBuf,
}

fn lab() -> Lab {
    let mut sb = Sandbox::new();
    let fs = Btrfs::new(sb.dir.path(), "512M");
    let base = sb.dir.path();
    let dir_store = base.join("dirstore");
    let tank = base.join("tank");
    let zfs_state = base.join("zfs-standin");
    for d in [&dir_store, &tank, &zfs_state, &base.join("cephfs"), &base.join("plain")] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(zfs_state.join("datasets"), format!("tank\t{}\t0\n", tank.display())).unwrap();
    let standin = concat!(env!("CARGO_MANIFEST_DIR"), "/../../t/bin");
    sb.env
        .push(("PATH".into(), format!("{standin}:{}", std::env::var("PATH").unwrap())));
    sb.env
        .push(("ZFS_STANDIN_STATE".into(), zfs_state.display().to_string()));

    let pve = sb.root.join("pve");
    std::fs::create_dir_all(&pve).unwrap();
    std::fs::write(pve.join(".members"), "{\n\"nodename\": \"pve1\",\n\"version\": 3\n}\n").unwrap();
    // as pvesm writes it: tab indented, an empty line between sections
    let cfg = format!(
        "dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n\n\
         lvmthin: local-lvm\n\tthinpool data\n\tvgname pve\n\tcontent rootdir,images\n\n\
         dir: data\n\tpath {dir}\n\tcontent backup\n\n\
         btrfs: fast\n\tpath {btrfs}\n\tcontent rootdir,images\n\tnodes pve1,pve2\n\n\
         zfspool: tank\n\tpool tank\n\tmountpoint {tank}\n\tcontent images,rootdir\n\n\
         cephfs: ceph\n\tpath {ceph}\n\tcontent backup\n\tfs-name cephfs\n\n\
         btrfs: notbtrfs\n\tpath {plain}\n\n\
         dir: off\n\tpath {dir}\n\tdisable 1\n\n\
         dir: pve2only\n\tpath {dir}\n\tnodes pve2\n",
        dir = dir_store.display(),
        btrfs = fs.mount.display(),
        tank = tank.display(),
        ceph = base.join("cephfs").display(),
        plain = base.join("plain").display(),
    );
    std::fs::write(pve.join("storage.cfg"), cfg).unwrap();
    sb.add_user(ALICE.0, ALICE.1);
    Lab {
        sb,
        fs,
        dir_store,
        zfs_state,
        tank,
    }
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

fn show(sb: &Sandbox, name: &str) -> serde_json::Value {
    json(&sb.ok(&["show", name, "--output-format", "json"]))
}

#[test]
fn storages_lists_what_this_node_can_use() {
    let lab = lab();
    let list = json(&lab.sb.ok(&["storages", "--output-format", "json"]));
    let by_id = |id: &str| list.as_array().unwrap().iter().find(|s| s["storage"] == id).cloned();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["storage"].as_str().unwrap())
        .collect();
    // not listed: lvmthin (no directory), disabled, defined for another node
    assert_eq!(ids, ["local", "data", "fast", "tank", "ceph", "notbtrfs"], "{list}");
    let fast = by_id("fast").unwrap();
    assert_eq!(
        (fast["type"].as_str(), fast["active"].as_bool()),
        (Some("btrfs"), Some(true))
    );
    assert_eq!(fast["path"], lab.fs.mount.display().to_string());
    assert!(fast["total"].as_u64().unwrap() > 400 * MIB && fast["avail"].as_u64().unwrap() > 0);
    assert_eq!(fast["backend"], "btrfs");
    let ceph = by_id("ceph").unwrap();
    assert_eq!(ceph["active"], false);
    assert_eq!(ceph["shared"], true);
    assert!(ceph["reason"].as_str().unwrap().contains("no CephFS at"), "{ceph}");
    assert!(ceph.get("avail").is_none());
    assert_eq!(by_id("notbtrfs").unwrap()["active"], false);
    assert_eq!(by_id("tank").unwrap()["active"], true);
    assert_eq!(by_id("tank").unwrap()["backend"], "zfs");
    // the text form names the state of each
    let text = lab.sb.ok(&["storages"]);
    assert!(
        text.lines().any(|l| l.starts_with("data ") && l.ends_with("active")),
        "{text}"
    );
}

#[test]
fn a_share_on_a_dir_storage_is_a_directory_below_it() {
    let lab = lab();
    let sb = &lab.sb;
    sb.ok(&["create", "docs", "--storage", "data", "--users", "alice"]);
    let share = show(sb, "docs");
    let path = lab.dir_store.join("smbgateway/docs");
    assert_eq!(share["path"], path.display().to_string());
    assert_eq!(share["storage"], "data");
    assert!(path.is_dir());
    // served: a file written over SMB is on the storage
    let local = sb.write_local("hello.txt", b"on the dir storage\n");
    sb.smbclient("docs", Some(ALICE), &format!("put {} hello.txt", local.display()))
        .unwrap();
    assert_eq!(std::fs::read(path.join("hello.txt")).unwrap(), b"on the dir storage\n");
    // an explicit path inside the storage is taken; update does not take --storage (fixed)
    let inside = lab.dir_store.join("teams/a");
    sb.ok(&[
        "create",
        "team-a",
        "--storage",
        "data",
        "--path",
        inside.to_str().unwrap(),
    ]);
    assert_eq!(show(sb, "team-a")["path"], inside.display().to_string());
    let r = sb.run(&["update", "team-a", "--storage", "fast"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("unexpected argument '--storage'"), "{}", r.stderr);
    // moving it out of its storage is refused
    let r = sb.run(&["update", "team-a", "--path", sb.data("away").to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("not inside storage 'data'"), "{}", r.stderr);
}

#[test]
fn a_share_on_a_btrfs_storage_is_a_subvolume_with_its_quota() {
    let lab = lab();
    let sb = &lab.sb;
    sb.ok(&["create", "q", "--storage", "fast", "--quota", "10M", "--users", "alice"]);
    let share = show(sb, "q");
    let path = lab.fs.mount.join("smbgateway/q");
    assert_eq!(share["path"], path.display().to_string());
    assert_eq!(share["quota-backend"], "btrfs");
    let (_, max) = lab.fs.qgroup(&path);
    assert_eq!(max, Some(10 * MIB));
    // the quota holds against writes over SMB
    let big = sb.write_local("big.bin", &vec![0x5a; 20 * MIB as usize]);
    let err = sb
        .smbclient("q", Some(ALICE), &format!("put {} big.bin", big.display()))
        .unwrap_err();
    assert!(err.contains("NT_STATUS_DISK_FULL"), "{err}");
    let stored = std::fs::metadata(path.join("big.bin")).map(|m| m.len()).unwrap_or(0);
    assert!(stored <= 10 * MIB, "stored {stored} bytes, more than the 10 MiB quota");
    // raising the quota past the storage's room is refused on the quota, and changes nothing
    let before = sb.snapshot();
    let r = sb.run(&["update", "q", "--quota", "100T", "--output-format", "json"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let err = json(r.stderr.trim());
    assert_eq!(err["field"], "quota", "{err}");
    assert!(
        err["message"].as_str().unwrap().contains("more a quota of 100T needs"),
        "{err}"
    );
    assert_eq!(sb.snapshot(), before);
    assert_eq!(lab.fs.qgroup(&path).1, Some(10 * MIB));
    sb.ok(&["update", "q", "--quota", "20M"]);
    assert_eq!(lab.fs.qgroup(&path).1, Some(20 * MIB));
}

#[test]
fn a_share_on_a_zfspool_is_a_dataset_of_the_pool() {
    let lab = lab();
    let sb = &lab.sb;
    sb.ok(&["create", "z", "--storage", "tank", "--quota", "1G"]);
    let share = show(sb, "z");
    let path = lab.tank.join("smbgw-z");
    assert_eq!(share["path"], path.display().to_string());
    assert_eq!(share["quota-backend"], "zfs");
    assert_eq!(share["zfs-dataset"], "tank/smbgw-z");
    let calls = std::fs::read_to_string(lab.zfs_state.join("calls")).unwrap();
    assert!(
        calls.contains(&format!("create -o mountpoint={} tank/smbgw-z", path.display())),
        "{calls}"
    );
    assert!(calls.contains("set refquota=1073741824 tank/smbgw-z"), "{calls}");
}

/// `args` must exit 1 naming `field` with `expect` in its message, and change nothing.
fn refused(lab: &Lab, args: &[&str], field: &str, expect: &str) {
    let sb = &lab.sb;
    let before = sb.snapshot();
    let data_before = listing(&lab.dir_store);
    let r = sb.run(&[args, &["--output-format", "json"][..]].concat());
    assert_eq!(r.code, 1, "{args:?}: {}{}", r.stdout, r.stderr);
    let err = json(r.stderr.trim());
    assert_eq!(err["field"], field, "{args:?}: {err}");
    assert!(err["message"].as_str().unwrap().contains(expect), "{args:?}: {err}");
    assert_eq!(sb.snapshot(), before, "{args:?} wrote something");
    assert_eq!(listing(&lab.dir_store), data_before, "{args:?} made a directory");
    assert!(!lab.fs.mount.join("smbgateway").exists(), "{args:?} made a subvolume");
}

fn listing(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walk(dir);
    out.sort();
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|e| {
            let p = e.path();
            let mut below = if p.is_dir() { walk(&p) } else { Vec::new() };
            below.push(p);
            below
        })
        .collect()
}

#[test]
fn every_refusal_exits_1_names_its_field_and_writes_nothing() {
    let lab = lab();
    // one share first, so "nothing written" also covers an existing config
    lab.sb
        .ok(&["create", "first", "--path", lab.sb.data("first").to_str().unwrap()]);
    let elsewhere = lab.sb.data("elsewhere");
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["create", "x", "--storage", "nope"],
            "storage",
            "storage 'nope' does not exist in storage.cfg; storages for shares on this node: local (dir, /var/lib/vz), data (dir, ",
        ),
        (
            &["create", "x", "--storage", "local-lvm"],
            "storage",
            "of type 'lvmthin'; shares can be put on storages of type btrfs, cephfs, dir, zfspool",
        ),
        (&["create", "x", "--storage", "off"], "storage", "storage 'off' is disabled"),
        (
            &["create", "x", "--storage", "pve2only"],
            "storage",
            "not enabled on node 'pve1' (storage.cfg: nodes pve2)",
        ),
        (&["create", "x", "--storage", "ceph"], "storage", "storage 'ceph' is not mounted: no CephFS at"),
        (&["create", "x", "--storage", "notbtrfs"], "storage", "not on btrfs"),
        (
            &["create", "x", "--storage", "fast", "--quota", "100T"],
            "quota",
            "less than the quota of 100T",
        ),
        (
            &["create", "x", "--storage", "data", "--path", elsewhere.to_str().unwrap()],
            "path",
            "is not inside storage 'data'",
        ),
        (
            &["create", "x", "--storage", "fast", "--quota-backend", "zfs"],
            "quota-backend",
            "its shares use the btrfs backend, not zfs",
        ),
        (
            &["create", "x", "--storage", "tank", "--zfs-dataset", "tank/other"],
            "zfs-dataset",
            "the share's dataset is tank/smbgw-x",
        ),
        (&["create", "x", "--storage", "bad/id"], "storage", "is not a PVE storage id"),
        (
            &["create", "x", "--storage", "data", "--mode", "vm", "--quota", "1G"],
            "storage",
            "--vm-storage",
        ),
    ];
    for (args, field, expect) in cases {
        refused(&lab, args, field, expect);
    }
    // the dry run of a valid one writes nothing either, and says where the share would go
    let out = lab.sb.ok(&["create", "x", "--storage", "data", "--dry-run"]);
    assert!(
        out.contains(&lab.dir_store.join("smbgateway/x").display().to_string()),
        "{out}"
    );
    assert!(!lab.dir_store.join("smbgateway").exists());
}

#[test]
fn a_cephfs_storage_is_usable_only_while_a_cephfs_is_mounted_at_its_path() {
    let lab = lab();
    // started after the sandbox, dropped before it: the fixture unmounts first
    let ceph = common::ceph::Ceph::start();
    let at = lab.sb.dir.path().join("cephfs");
    refused(
        &lab,
        &["create", "c", "--storage", "ceph"],
        "storage",
        "not mounted: no CephFS at",
    );

    let ns = ceph.client_netns("n1");
    ceph.mount(Some(&ns), &at);
    let list = json(&lab.sb.ok(&["storages", "--output-format", "json"]));
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["storage"] == "ceph")
        .unwrap()
        .clone();
    assert_eq!(entry["active"], true, "{entry}");
    assert_eq!(
        (entry["type"].as_str(), entry["backend"].as_str()),
        (Some("cephfs"), Some("cephfs"))
    );
    assert!(
        entry["total"].as_u64().unwrap() > 0 && entry.get("reason").is_none(),
        "{entry}"
    );
    // mounted: what is refused now is the share's own mistake, on its field
    let outside = lab.dir_store.join("c");
    refused(
        &lab,
        &["create", "c", "--storage", "ceph", "--path", outside.to_str().unwrap()],
        "path",
        "is not inside storage 'ceph'",
    );
    refused(
        &lab,
        &["create", "c", "--storage", "ceph", "--quota", "1P"],
        "quota",
        "less than the quota of 1P",
    );
    refused(
        &lab,
        &["create", "c", "--storage", "ceph", "--quota-backend", "btrfs"],
        "quota-backend",
        "its shares use the cephfs backend",
    );

    // a filesystem mounted over the CephFS hides it: that is not the storage any more
    common::run("mount", &["-t", "tmpfs", "tmpfs", at.to_str().unwrap()]);
    refused(
        &lab,
        &["create", "c", "--storage", "ceph"],
        "storage",
        "the mount table shows tmpfs",
    );
    common::run("umount", &[at.to_str().unwrap()]);

    ceph.umount(&at);
    refused(
        &lab,
        &["create", "c", "--storage", "ceph"],
        "storage",
        "nothing mounted there",
    );
}
