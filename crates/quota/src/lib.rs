//! Storage backends and quotas for shares: enforced by the filesystem under the share, read
//! back for `quota-status`, the sizes SMB clients see (`dfree command`), the usage history and
//! its alerts. Detection (`detect`, `Filesystem`) reads the filesystem's facts and asks the
//! backends (`backend::detect`).
//!
//! | backend | unit of quota | limit | usage |
//! |---|---|---|---|
//! | btrfs | a subvolume per share | qgroup `max_rfer` | `btrfs qgroup show --raw` |
//! | zfs | a dataset per share | `refquota` | `zfs get -Hp` |
//! | project | a project id per share directory (ext4, XFS) | `quotactl` block hard limit | `quotactl` |
//! | cephfs | a directory per share (kernel client or ceph-fuse) | `ceph.quota.max_bytes` | `ceph.dir.rbytes` |
//!
//! What differs between them is one trait, `backend::StorageBackend`, one file per backend.

pub mod alerts;
pub mod backend;
pub mod btrfs;
pub mod cephfs;
pub mod history;
pub mod project;
pub mod snapshot;
pub mod zfs;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use smbgw_core::{bail_input, Error, QuotaBackend, Result};

use backend::FsFacts;

/// What a quota backend reports for one share.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub used: u64,
    /// `None`: no limit set.
    pub limit: Option<u64>,
}

// statfs magic numbers (linux/magic.h; ZFS from its own sources)
pub(crate) const BTRFS_MAGIC: i64 = 0x9123_683e;
pub(crate) const ZFS_MAGIC: i64 = 0x2fc1_2fc1;
pub(crate) const EXT4_MAGIC: i64 = 0xef53;
pub(crate) const XFS_MAGIC: i64 = 0x5846_5342;
pub(crate) const TMPFS_MAGIC: i64 = 0x0102_1994;
const OVERLAY_MAGIC: i64 = 0x794c_7630;
pub(crate) const CEPH_MAGIC: i64 = 0x00c3_6400;
pub(crate) const FUSE_MAGIC: i64 = 0x6573_5546;

/// The deepest existing directory on the way to `path` (the share directory may not exist yet).
pub fn existing_ancestor(path: &Path) -> PathBuf {
    path.ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("/"))
        .to_path_buf()
}

fn fs_magic(path: &Path) -> Result<i64> {
    let at = existing_ancestor(path);
    let st =
        nix::sys::statfs::statfs(&at).map_err(|e| Error::system(format!("statfs '{}' failed: {e}", at.display())))?;
    Ok(st.filesystem_type().0 as i64)
}

/// What detection needs to know about the filesystem holding `path` (or its deepest existing
/// ancestor).
pub fn fs_facts(path: &Path) -> Result<FsFacts> {
    Ok(FsFacts {
        magic: fs_magic(path)?,
        ceph_xattrs: cephfs::answers(&existing_ancestor(path)),
    })
}

/// The filesystem's name, for messages.
pub fn fs_name(path: &Path) -> String {
    if cephfs::answers(&existing_ancestor(path)) {
        return "cephfs".into();
    }
    match fs_magic(path) {
        Ok(BTRFS_MAGIC) => "btrfs".into(),
        Ok(ZFS_MAGIC) => "zfs".into(),
        Ok(EXT4_MAGIC) => "ext4".into(),
        Ok(XFS_MAGIC) => "xfs".into(),
        Ok(TMPFS_MAGIC) => "tmpfs".into(),
        Ok(OVERLAY_MAGIC) => "overlayfs".into(),
        Ok(FUSE_MAGIC) => "a FUSE filesystem".into(),
        Ok(CEPH_MAGIC) => "cephfs".into(),
        Ok(other) => format!("filesystem type {other:#x}"),
        Err(_) => "unknown filesystem".into(),
    }
}

/// The backend the filesystem under `path` supports, if any (never `Auto`).
pub fn detect(path: &Path) -> Result<Option<QuotaBackend>> {
    Ok(backend::detect(&fs_facts(path)?))
}

/// What the filesystem under a share's path offers quotas: read by `Filesystem::of`, decided on
/// by `Filesystem::resolve` (pure, so the choice is tested without the filesystems).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filesystem {
    /// Its name, for messages (`ext4`, `tmpfs`).
    pub name: String,
    /// The backend it supports, if any.
    pub backend: Option<QuotaBackend>,
    /// Mounted with project quota accounting (ext4, XFS).
    pub project_quotas: bool,
}

impl Filesystem {
    /// The filesystem holding `path` (or, when it does not exist yet, its deepest ancestor).
    pub fn of(path: &Path) -> Result<Filesystem> {
        let facts = fs_facts(path)?;
        Ok(Filesystem {
            name: fs_name(path),
            backend: backend::detect(&facts),
            project_quotas: project::Project::supports(&facts) && project::enabled(&existing_ancestor(path)),
        })
    }

    /// The backend for a share at `path`: the configured one, or this filesystem's for `auto`
    /// (never `Auto`); refused where it cannot enforce a quota.
    pub fn resolve(&self, configured: QuotaBackend, path: &Path) -> Result<QuotaBackend> {
        let backend = match configured {
            QuotaBackend::Auto => self.backend,
            b => Some(b),
        };
        if let Some(b) = backend.and_then(backend::of) {
            b.check_filesystem(self, path)?;
        }
        match backend {
            Some(b) => Ok(b),
            None => bail_input!(
                "{} is on {}, which has no quota support; put the share on btrfs (a subvolume per share), ZFS (a dataset per share), CephFS or ext4/XFS with project quotas",
                path.display(),
                self.name
            ),
        }
    }
}

/// Free space as SMB clients should see it: what is left of the quota.
pub fn free(usage: &Usage) -> Option<u64> {
    usage.limit.map(|l| l.saturating_sub(usage.used))
}
