//! Unit tests of crates/gateway/src/storage: which quota backend a share gets from its settings
//! and its filesystem, and that the decision is recorded by the operation, not by planning. In
//! their own file so the storage code stays short to read.

use super::*;

fn share(pairs: &[(&str, &str)]) -> Share {
    let props = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Share::from_properties("s", &props).unwrap()
}

fn on(name: &str, backend: Option<QuotaBackend>, project_quotas: bool, exists: bool) -> StorageFacts {
    StorageFacts {
        exists,
        filesystem: Filesystem {
            name: name.into(),
            backend,
            project_quotas,
        },
    }
}

#[test]
fn the_backend_follows_the_share_and_the_filesystem() {
    use QuotaBackend::*;
    let plain = share(&[("path", "/srv/s")]);
    let quota = share(&[("path", "/srv/s"), ("quota", "1G")]);
    let chosen = share(&[("path", "/srv/s"), ("quota-backend", "zfs")]);
    // a new share on btrfs gets its own subvolume, an existing directory stays one
    assert_eq!(
        storage_backend(&plain, &on("btrfs", Some(Btrfs), false, false)).unwrap(),
        Some(Btrfs)
    );
    assert_eq!(
        storage_backend(&plain, &on("btrfs", Some(Btrfs), false, true)).unwrap(),
        None
    );
    assert_eq!(
        storage_backend(&plain, &on("zfs", Some(Zfs), false, false)).unwrap(),
        None
    );
    assert_eq!(storage_backend(&plain, &on("tmpfs", None, false, false)).unwrap(), None);
    // every share on CephFS is recorded as one, new or existing, with or without a quota
    for exists in [false, true] {
        assert_eq!(
            storage_backend(&plain, &on("cephfs", Some(Cephfs), false, exists)).unwrap(),
            Some(Cephfs)
        );
        assert_eq!(
            storage_backend(&quota, &on("cephfs", Some(Cephfs), false, exists)).unwrap(),
            Some(Cephfs)
        );
    }
    // a quota takes the filesystem's backend; a chosen backend wins
    assert_eq!(
        storage_backend(&quota, &on("zfs", Some(Zfs), false, false)).unwrap(),
        Some(Zfs)
    );
    assert_eq!(
        storage_backend(&quota, &on("xfs", Some(Project), true, true)).unwrap(),
        Some(Project)
    );
    assert_eq!(
        storage_backend(&chosen, &on("btrfs", Some(Btrfs), false, false)).unwrap(),
        Some(Zfs)
    );
    // and is refused where the filesystem cannot enforce it
    let err = storage_backend(&quota, &on("ext4", Some(Project), false, true)).unwrap_err();
    assert!(
        err.message.contains("/srv/s is on ext4 mounted without project quotas"),
        "{}",
        err.message
    );
    let err = storage_backend(&quota, &on("tmpfs", None, false, true)).unwrap_err();
    assert!(
        err.message.contains("/srv/s is on tmpfs, which has no quota support"),
        "{}",
        err.message
    );
}

#[test]
fn the_decision_is_recorded_by_the_operation_not_by_planning() {
    let mut s = share(&[("path", "/srv/s")]);
    let decided = StorageDecision {
        backend: QuotaBackend::Zfs,
        zfs_dataset: Some("tank/s".into()),
        existed: false,
    };
    assert_eq!(s.quota_backend, QuotaBackend::Auto);
    decided.record(&mut s);
    assert_eq!(
        (s.quota_backend, s.zfs_dataset.as_deref()),
        (QuotaBackend::Zfs, Some("tank/s"))
    );
}
