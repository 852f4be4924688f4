//! Storage backends as one trait: what differs between btrfs, ZFS, project quotas and CephFS
//! (detection, the volume a share gets, its limit and usage, what a purge must refuse, how SMB
//! clients see its size and its snapshots) is answered by one implementation per backend, in
//! its own file (`btrfs.rs`, `zfs.rs`, `project.rs`, `cephfs.rs`). The gateway
//! (`gateway::storage`, `gateway::quota`) and the renderer (`samba::render`) ask through [`of`]
//! and hold no `match` on the backend: a new backend is one file here plus one arm in [`of`]
//! (and its variant in `core::QuotaBackend`).

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use smbgw_core::plan::FnStep;
use smbgw_core::{Error, Plan, QuotaBackend, Result, Share};
use smbgw_sys::safe_fs::{self, Dir};

use crate::{Filesystem, Usage};

/// What detection reads from the filesystem under a path (pure input, so detection is tested
/// without the filesystems).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FsFacts {
    /// statfs `f_type`.
    pub magic: i64,
    /// The filesystem answers `getxattr("ceph.dir.rbytes")`: CephFS, through the kernel client or
    /// ceph-fuse (whose statfs magic is FUSE's).
    pub ceph_xattrs: bool,
}

/// What planning the quotas of many shares reads of their filesystems, read once per
/// filesystem and kept for one plan: a no-op `apply` over many quota shares then starts
/// programs per filesystem, not per share. Each backend keys and types its own entries.
#[derive(Default)]
pub struct QuotaFacts {
    by_fs: RefCell<HashMap<FsKey, Rc<dyn Any>>>,
}

/// A filesystem as a backend names it (btrfs: its fsid).
type FsKey = (QuotaBackend, Vec<u8>);

impl QuotaFacts {
    /// The facts `backend` keeps for its filesystem `key`, read by `read` the first time.
    pub fn get_or_read<T: Any>(
        &self,
        backend: QuotaBackend,
        key: &[u8],
        read: impl FnOnce() -> Result<T>,
    ) -> Result<Rc<T>> {
        let id = (backend, key.to_vec());
        if let Some(known) = self.by_fs.borrow().get(&id) {
            return Ok(known.clone().downcast::<T>().expect("one type per backend"));
        }
        let fresh = Rc::new(read()?);
        self.by_fs.borrow_mut().insert(id, fresh.clone());
        Ok(fresh)
    }
}

/// How a backend's snapshots become Previous Versions: the renderer's input, turned into
/// `vfs objects` and its parameters by `samba::render`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreviousVersions {
    /// `shadow_copy2` over read-only snapshots in `.snapshots/@GMT-...` (snapper's btrfs layout).
    SnapshotsDir,
    /// `shadow_copy2` over the dataset's `.zfs/snapshot`, named as zfs-auto-snapshot names them.
    ZfsSnapdir,
    /// `vfs_ceph_snapshots` over the directory's `.snap`, on the mounted CephFS path.
    CephSnap,
}

impl PreviousVersions {
    /// The VFS module that serves them.
    pub fn vfs_object(self) -> &'static str {
        match self {
            Self::SnapshotsDir | Self::ZfsSnapdir => "shadow_copy2",
            Self::CephSnap => "ceph_snapshots",
        }
    }
}

/// What the filesystem enforces on a volume, as the health check compares it with the share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Enforced {
    /// No limit holds at all, and why (btrfs quotas switched off on the filesystem).
    Off(String),
    /// The limit in force (`None`: none).
    Limit(Option<u64>),
}

/// Where a share's bytes live as far as its quota is concerned: the share directory, and for
/// ZFS its dataset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Volume {
    pub backend: QuotaBackend,
    pub path: PathBuf,
    pub dataset: Option<String>,
}

/// What planning a share's volume is given.
#[derive(Clone, Copy, Debug)]
pub struct VolumeRequest<'a> {
    pub path: &'a Path,
    /// The share directory exists already.
    pub exists: bool,
    /// Mode of a new share root.
    pub mode: u32,
    /// The ZFS dataset the share names, if any.
    pub dataset: Option<&'a str>,
}

/// What planning a share's volume decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedVolume {
    /// The volume exists before the plan runs (its usage can be read now).
    pub exists: bool,
    /// The dataset in use (ZFS).
    pub dataset: Option<String>,
}

/// One storage backend. Methods with a default are where most backends agree.
pub trait StorageBackend: Sync {
    /// Its name in `core`.
    fn kind(&self) -> QuotaBackend;

    /// Whether the filesystem with these facts is this backend's.
    fn detects(&self, facts: &FsFacts) -> bool;

    /// Refuse a filesystem of this backend that cannot enforce a quota as it is mounted.
    fn check_filesystem(&self, _fs: &Filesystem, _path: &Path) -> Result<()> {
        Ok(())
    }

    /// Whether a share on this filesystem without a quota still gets this backend (and its
    /// volume): btrfs gives a new share its own subvolume (for a quota or snapshots later);
    /// CephFS records every share on it, since HA tells cluster storage from that.
    fn claims_share_without_quota(&self, _dir_exists: bool) -> bool {
        false
    }

    /// What a share's volume is called in plan steps.
    fn volume_noun(&self) -> &'static str {
        "directory"
    }

    /// Create the share's volume `name` in `parent`, a handle opened without following links,
    /// with `mode`, and return a handle on it. A plain directory unless overridden.
    fn create_volume(&self, parent: &Dir, name: &OsStr, mode: u32) -> Result<Dir> {
        parent.mkdir_child(name, mode)
    }

    /// Undo `create_volume`: remove `name` from `parent` if it still is the volume `identity`
    /// (device, inode) and empty.
    fn remove_volume(&self, parent: &Dir, name: &OsStr, identity: (u64, u64)) -> Result<()> {
        parent.remove_empty_child(name, identity).map(|_| ())
    }

    /// Plan the share's volume: created when missing, refused where the path cannot be one.
    fn plan_volume(&'static self, request: &VolumeRequest<'_>, plan: &mut Plan) -> Result<PlannedVolume> {
        if !request.exists {
            plan.push(smbgw_core::plan::CreateDir::new(request.path, request.mode));
        }
        Ok(PlannedVolume {
            exists: request.exists,
            dataset: None,
        })
    }

    /// The share's volume, `None` where it has none (ZFS without a dataset).
    fn volume(&self, path: &Path, dataset: Option<&str>) -> Option<Volume> {
        Some(Volume {
            backend: self.kind(),
            path: path.to_path_buf(),
            dataset: dataset.map(str::to_string),
        })
    }

    fn usage(&self, volume: &Volume) -> Result<Usage>;

    /// Usage of many volumes of this backend, one result each, in order.
    fn usage_many(&self, volumes: &[&Volume]) -> Vec<Result<Usage>> {
        volumes.iter().map(|v| self.usage(v)).collect()
    }

    /// Whether the filesystem enforces limits on the volume at all now (btrfs: quotas on).
    fn limits_active(&self, _volume: &Volume, _facts: &QuotaFacts) -> Result<bool> {
        Ok(true)
    }

    /// The volume's usage as planning sees it, from `facts` where the backend keeps them.
    fn planned_usage(&self, volume: &Volume, _facts: &QuotaFacts) -> Result<Usage> {
        self.usage(volume)
    }

    /// Steps a limit needs before it is set (btrfs: switching quotas on).
    fn limit_prerequisites(
        &self,
        _volume: &Volume,
        _limit: Option<u64>,
        _facts: &QuotaFacts,
        _plan: &mut Plan,
    ) -> Result<()> {
        Ok(())
    }

    fn set_limit(&self, volume: &Volume, limit: Option<u64>) -> Result<()>;

    /// The plan step's description of setting `limit` (`None`: lifting it).
    fn describe_limit(&self, volume: &Volume, limit: Option<u64>) -> String;

    /// What is enforced now, for the health check (read without programs where possible).
    fn enforced(&self, volume: &Volume) -> Result<Enforced> {
        self.usage(volume).map(|u| Enforced::Limit(u.limit))
    }

    /// What a purge must refuse beyond what every backend refuses (immutable entries, mount
    /// points): each problem with how to clear it.
    fn purge_refusals(&self, _root: &Dir) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    /// How a purge destroys the volume, if not by deleting the directory tree (a dataset, a
    /// subvolume); `identity` is the share root as the purge check saw it.
    fn destroy_volume(&self, _volume: &Volume, _identity: (u64, u64)) -> Option<Box<dyn FnMut() -> Result<()>>> {
        None
    }

    /// Whether the purge is journalled (finished by recovery after a crash); not for a dataset,
    /// which `zfs destroy` takes at once.
    fn purge_journaled(&self) -> bool {
        true
    }

    /// Whether per-user and per-group limits exist (ZFS `userquota@`).
    fn user_quotas(&self) -> bool {
        false
    }

    /// Set the limit of `who` (a user, or `@group`).
    fn set_user_limit(&self, volume: &Volume, _who: &str, _limit: Option<u64>) -> Result<()> {
        Err(Error::input(format!(
            "{} has no per-user quotas",
            volume.path.display()
        )))
    }

    fn describe_user_limit(&self, volume: &Volume, who: &str, limit: Option<u64>) -> String {
        format!(
            "set the limit of {who} on {} to {}",
            volume.path.display(),
            limit.map_or("none".into(), smbgw_core::size::format_size)
        )
    }

    /// Why SMB clients need the `dfree command` helper to see the quota as the disk size
    /// (`None`: statfs shows it already).
    fn dfree_reason(&self) -> Option<&'static str> {
        None
    }

    /// Usage and limit read directly by the unprivileged `dfree` helper where it can (CephFS
    /// virtual xattrs); `None`: the helper uses the figures the gateway cached.
    fn live_usage(&self, _path: &Path) -> Option<Usage> {
        None
    }

    /// How Previous Versions are served from this backend's snapshots.
    fn previous_versions(&self) -> PreviousVersions {
        PreviousVersions::SnapshotsDir
    }

    /// Its snapshots (`snapshot.rs`), `None` on a filesystem without any.
    fn snapshots(&self) -> Option<&'static dyn crate::snapshot::SnapshotBackend> {
        None
    }

    /// Why the share directory at `path` is no longer this backend's volume (its filesystem
    /// not mounted, so a plain directory below shows instead), or `None`.
    fn displaced(&self, _path: &Path) -> Option<String> {
        None
    }
}

/// The implementation of `backend`; `None` for `auto` (not decided yet).
pub fn of(backend: QuotaBackend) -> Option<&'static dyn StorageBackend> {
    match backend {
        QuotaBackend::Auto => None,
        QuotaBackend::Btrfs => Some(&crate::btrfs::Btrfs),
        QuotaBackend::Zfs => Some(&crate::zfs::Zfs),
        QuotaBackend::Project => Some(&crate::project::Project),
        QuotaBackend::Cephfs => Some(&crate::cephfs::Cephfs),
    }
}

/// The backend of the filesystem with `facts`, if any (never `Auto`).
pub fn detect(facts: &FsFacts) -> Option<QuotaBackend> {
    QuotaBackend::ALL
        .into_iter()
        .filter_map(of)
        .find(|b| b.detects(facts))
        .map(|b| b.kind())
}

impl Volume {
    /// The share's volume as stored (none while its backend is still `auto`).
    pub fn of(share: &Share) -> Option<Volume> {
        Volume::new(
            share.quota_backend,
            Path::new(&share.path),
            share.zfs_dataset.as_deref(),
        )
    }

    /// The volume of `backend` at `path` (a ZFS volume is its dataset).
    pub fn new(backend: QuotaBackend, path: &Path, dataset: Option<&str>) -> Option<Volume> {
        of(backend)?.volume(path, dataset)
    }

    /// Its backend's implementation.
    pub fn backend(&self) -> &'static dyn StorageBackend {
        of(self.backend).expect("a volume has a backend")
    }

    pub fn usage(&self) -> Result<Usage> {
        self.backend().usage(self)
    }

    pub fn set_limit(&self, limit: Option<u64>) -> Result<()> {
        self.backend().set_limit(self, limit)
    }

    pub fn describe_limit(&self, limit: Option<u64>) -> String {
        self.backend().describe_limit(self, limit)
    }

    pub fn enforced(&self) -> Result<Enforced> {
        self.backend().enforced(self)
    }
}

/// Usage of many volumes, each backend asked once for all of its volumes (btrfs reads them
/// with one sync and one qgroup listing per filesystem); one result per entry, in order.
pub fn usage_many(volumes: &[Option<Volume>]) -> Vec<Result<Usage>> {
    let mut out: Vec<Result<Usage>> = volumes.iter().map(|_| Err(Error::input("no quota volume"))).collect();
    for backend in QuotaBackend::ALL.into_iter().filter_map(of) {
        let indices: Vec<usize> = (0..volumes.len())
            .filter(|&i| volumes[i].as_ref().is_some_and(|v| v.backend == backend.kind()))
            .collect();
        if indices.is_empty() {
            continue;
        }
        let group: Vec<&Volume> = indices.iter().filter_map(|&i| volumes[i].as_ref()).collect();
        for (i, usage) in indices.into_iter().zip(backend.usage_many(&group)) {
            out[i] = usage;
        }
    }
    out
}

/// How the share's Previous Versions are served, `None` without shadow copies. A share whose
/// backend is not decided yet gets the snapper layout (the behaviour before backends).
pub fn previous_versions(share: &Share) -> Option<PreviousVersions> {
    share
        .shadow_copies
        .then(|| of(share.quota_backend).map_or(PreviousVersions::SnapshotsDir, |b| b.previous_versions()))
}

/// Why the share needs the `dfree command` helper, `None` if it does not. A quota share whose
/// backend is not decided yet gets it (the helper shows the filesystem where no quota is
/// known).
pub fn dfree_reason(share: &Share) -> Option<&'static str> {
    share.quota?;
    match of(share.quota_backend) {
        Some(b) => b.dfree_reason(),
        None => Some("the quota's backend is not decided yet"),
    }
}

/// Plan steps creating the volume at `path` through `backend.create_volume` on a handle of its
/// parent (missing parents become plain directories first); the undo removes exactly the
/// volume the step created. Journalled, so recovery removes it if the operation never commits.
pub fn create_volume_steps(backend: &'static dyn StorageBackend, path: &Path, mode: u32, plan: &mut Plan) {
    if let Some(parent) = path.parent().filter(|p| !p.exists()) {
        plan.push(smbgw_core::plan::CreateDir::new(parent, 0o755));
    }
    let created = std::rc::Rc::new(std::cell::Cell::new(None));
    let (p, u, c1, c2) = (path.to_path_buf(), path.to_path_buf(), created.clone(), created);
    plan.push(
        FnStep::new(
            format!("create {} {} (mode {mode:04o})", backend.volume_noun(), path.display()),
            move || {
                let (parent, name) = safe_fs::open_parent(&p)?;
                let volume = backend.create_volume(&parent, &name, mode)?;
                c1.set(Some(volume.stat()?.identity()));
                Ok(())
            },
            move || match c2.take() {
                Some(identity) => {
                    let (parent, name) = safe_fs::open_parent(&u)?;
                    backend.remove_volume(&parent, &name, identity)
                }
                None => Ok(()),
            },
        )
        .creates(path),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_backend_is_found_by_its_name_and_its_filesystem() {
        for kind in QuotaBackend::ALL {
            match of(kind) {
                None => assert_eq!(kind, QuotaBackend::Auto),
                Some(b) => assert_eq!(b.kind(), kind),
            }
        }
        let facts = |magic, ceph_xattrs| FsFacts { magic, ceph_xattrs };
        assert_eq!(detect(&facts(crate::BTRFS_MAGIC, false)), Some(QuotaBackend::Btrfs));
        assert_eq!(detect(&facts(crate::ZFS_MAGIC, false)), Some(QuotaBackend::Zfs));
        assert_eq!(detect(&facts(crate::EXT4_MAGIC, false)), Some(QuotaBackend::Project));
        assert_eq!(detect(&facts(crate::XFS_MAGIC, false)), Some(QuotaBackend::Project));
        // ceph-fuse answers with FUSE's magic; only its xattrs tell CephFS
        assert_eq!(detect(&facts(crate::FUSE_MAGIC, true)), Some(QuotaBackend::Cephfs));
        assert_eq!(detect(&facts(crate::CEPH_MAGIC, true)), Some(QuotaBackend::Cephfs));
        assert_eq!(detect(&facts(crate::FUSE_MAGIC, false)), None);
        assert_eq!(detect(&facts(crate::TMPFS_MAGIC, false)), None);
    }

    fn share(pairs: &[(&str, &str)]) -> Share {
        let props = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Share::from_properties("s", &props).unwrap()
    }

    #[test]
    fn smb_clients_get_the_helper_and_snapshots_the_backend_needs() {
        let with = |backend: &str, extra: &[(&str, &str)]| {
            let mut pairs = vec![("path", "/srv/s"), ("quota-backend", backend)];
            pairs.extend_from_slice(extra);
            share(&pairs)
        };
        let quota = [("quota", "1G")];
        assert!(dfree_reason(&with("btrfs", &quota)).is_some());
        assert!(dfree_reason(&with("cephfs", &quota)).is_some());
        assert!(dfree_reason(&with("auto", &quota)).is_some());
        assert_eq!(dfree_reason(&with("zfs", &quota)), None);
        assert_eq!(dfree_reason(&with("project", &quota)), None);
        assert_eq!(dfree_reason(&with("cephfs", &[])), None);

        let snaps = [("shadow-copies", "1")];
        assert_eq!(previous_versions(&with("cephfs", &[])), None);
        assert_eq!(
            previous_versions(&with("cephfs", &snaps)),
            Some(PreviousVersions::CephSnap)
        );
        assert_eq!(
            previous_versions(&with("zfs", &snaps)),
            Some(PreviousVersions::ZfsSnapdir)
        );
        for b in ["auto", "btrfs", "project"] {
            assert_eq!(
                previous_versions(&with(b, &snaps)),
                Some(PreviousVersions::SnapshotsDir),
                "{b}"
            );
        }
        assert_eq!(PreviousVersions::CephSnap.vfs_object(), "ceph_snapshots");
        assert_eq!(PreviousVersions::ZfsSnapdir.vfs_object(), "shadow_copy2");
    }

    #[test]
    fn a_created_volume_is_removed_again_when_the_plan_fails() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("parent/share");
        // CephFS volumes are plain directories: made through the parent's handle
        let mut plan = Plan::new();
        create_volume_steps(&crate::cephfs::Cephfs, &path, 0o750, &mut plan);
        assert_eq!(
            plan.describe().last().unwrap(),
            &format!("create CephFS directory {} (mode 0750)", path.display())
        );
        plan.push(FnStep::new(
            "fail",
            || Err(Error::system("later step failed")),
            || Ok(()),
        ));
        assert!(plan.apply().is_err());
        assert!(!tmp.path().join("parent").exists());

        let mut plan = Plan::new();
        create_volume_steps(&crate::cephfs::Cephfs, &path, 0o750, &mut plan);
        plan.apply().unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, 0o750);
    }

    #[test]
    fn quota_facts_are_read_once_per_filesystem() {
        let facts = QuotaFacts::default();
        let reads = std::cell::Cell::new(0);
        let read = |v: u32| {
            reads.set(reads.get() + 1);
            Ok(v)
        };
        assert_eq!(*facts.get_or_read(QuotaBackend::Btrfs, b"fs1", || read(1)).unwrap(), 1);
        assert_eq!(*facts.get_or_read(QuotaBackend::Btrfs, b"fs1", || read(2)).unwrap(), 1);
        assert_eq!(*facts.get_or_read(QuotaBackend::Btrfs, b"fs2", || read(3)).unwrap(), 3);
        assert_eq!(*facts.get_or_read(QuotaBackend::Cephfs, b"fs1", || read(4)).unwrap(), 4);
        assert_eq!(reads.get(), 3);
        // a failed read is not kept: the next share asks again
        let failed = facts.get_or_read::<u32>(QuotaBackend::Zfs, b"x", || Err(Error::system("busy")));
        assert!(failed.is_err());
        assert_eq!(*facts.get_or_read(QuotaBackend::Zfs, b"x", || read(5)).unwrap(), 5);
    }

    #[test]
    fn volumes_need_a_decided_backend_and_zfs_its_dataset() {
        let p = Path::new("/srv/s");
        assert_eq!(Volume::new(QuotaBackend::Auto, p, None), None);
        assert_eq!(Volume::new(QuotaBackend::Zfs, p, None), None);
        let v = Volume::new(QuotaBackend::Zfs, p, Some("tank/s")).unwrap();
        assert_eq!(v.dataset.as_deref(), Some("tank/s"));
        let v = Volume::new(QuotaBackend::Cephfs, p, None).unwrap();
        assert_eq!((v.backend, v.path.as_path()), (QuotaBackend::Cephfs, p));
        assert!(v.describe_limit(Some(10 << 20)).contains("ceph.quota.max_bytes"));
        // usage of volumes that cannot be read is an error each, never a panic or a shift
        let none = usage_many(&[
            None,
            Some(Volume::new(QuotaBackend::Project, Path::new("/nonexistent/x"), None).unwrap()),
        ]);
        assert_eq!(none.len(), 2);
        assert!(none.iter().all(|u| u.is_err()));
    }
}
