//! The Ceph test fixture itself (common/ceph.rs, t/bin/smbgw-ceph-cluster): one real CephFS,
//! mounted by two ceph-fuse clients from two network namespaces, shows each client what the
//! other wrote; a cephx user made by `authorize` reaches its own path. The CephFS tests
//! (crates/ha/tests/cephfs_failover.rs) build on exactly this.

mod common;

use common::ceph::Ceph;

#[test]
fn two_mounts_of_one_cephfs_see_each_others_writes() {
    // declared first, dropped last: the fixture unmounts before this directory is removed
    let mnt = tempfile::Builder::new().prefix("smbgw-ceph-mnt.").tempdir().unwrap();
    let ceph = Ceph::start();
    let health = ceph.ceph(&["health"]);
    assert!(health.starts_with("HEALTH_OK"), "{health}");

    let a = ceph.client_netns("a");
    let b = ceph.client_netns("b");
    let (ma, mb) = (mnt.path().join("a"), mnt.path().join("b"));
    ceph.mount(Some(&a), &ma);
    ceph.mount(Some(&b), &mb);

    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 + i / 4096) as u8).collect();
    std::fs::create_dir(ma.join("smoke")).unwrap();
    std::fs::write(ma.join("smoke/from-a.bin"), &data).unwrap();
    assert_eq!(std::fs::read(mb.join("smoke/from-a.bin")).unwrap(), data);
    std::fs::write(mb.join("smoke/from-b.txt"), "written through b\n").unwrap();
    assert_eq!(
        std::fs::read_to_string(ma.join("smoke/from-b.txt")).unwrap(),
        "written through b\n"
    );

    // a user restricted to /smoke, mounting only that subtree from a third netns
    let keyring = ceph.authorize("smoke", "/smoke");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&keyring).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let c = ceph.client_netns("c");
    let mc = mnt.path().join("c");
    ceph.mount_as("smoke", "/smoke", Some(&c), &mc);
    assert_eq!(std::fs::read(mc.join("from-a.bin")).unwrap(), data);

    // unmounted cleanly: the directory is empty again
    ceph.umount(&mb);
    assert!(!mb.join("smoke").exists());
}
