//! The storage backend that enforces a share's quota, in one type from the config to the
//! gateway: `core::share` parses and stores it; `smbgw_quota::backend::of` maps it to its
//! implementation of `StorageBackend` (detection, volume, limit, usage, purge, SMB view), which
//! `gateway::storage`, `gateway::quota` and `samba::render` ask. A new backend is one more
//! variant here plus one file in `crates/quota/src/` and its arm in `backend::of`.

use std::fmt;

use serde::{Serialize, Serializer};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum QuotaBackend {
    /// Not decided yet: the gateway detects it from the filesystem when the share gets a volume.
    #[default]
    Auto,
    /// A subvolume per share, its qgroup's `max_rfer` the limit.
    Btrfs,
    /// A dataset per share, its `refquota` the limit.
    Zfs,
    /// A project id per share directory (ext4, XFS).
    Project,
    /// A directory on CephFS, its `ceph.quota.max_bytes` the limit. Recorded for every share on
    /// CephFS, with or without a quota: it tells that the share is on cluster storage.
    Cephfs,
}

impl QuotaBackend {
    /// Every backend, `auto` first, in the order the schema lists them.
    pub const ALL: [QuotaBackend; 5] = [Self::Auto, Self::Btrfs, Self::Zfs, Self::Project, Self::Cephfs];
    /// Their names, as `shares.cfg`, the CLI and the API spell them.
    pub const NAMES: &'static [&'static str] = &["auto", "btrfs", "zfs", "project", "cephfs"];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Btrfs => "btrfs",
            Self::Zfs => "zfs",
            Self::Project => "project",
            Self::Cephfs => "cephfs",
        }
    }

    /// The backend of `name` in any case (`ZFS` is `zfs`), or `None`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.as_str().eq_ignore_ascii_case(name))
    }

    pub fn is_auto(self) -> bool {
        self == Self::Auto
    }

    /// Whether per-user quotas and a named dataset may go with this backend (ZFS only; `auto`
    /// may still turn out to be ZFS).
    pub fn may_be_zfs(self) -> bool {
        matches!(self, Self::Auto | Self::Zfs)
    }
}

impl fmt::Display for QuotaBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Serialised as its name: the JSON of a share says `"quota-backend": "btrfs"`.
impl Serialize for QuotaBackend {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_the_schema() {
        for b in QuotaBackend::ALL {
            assert_eq!(QuotaBackend::from_name(b.as_str()), Some(b));
            assert_eq!(serde_json::to_string(&b).unwrap(), format!("\"{b}\""));
        }
        assert_eq!(QuotaBackend::from_name("ZFS"), Some(QuotaBackend::Zfs));
        assert_eq!(QuotaBackend::from_name("ext4"), None);
        let names: Vec<&str> = QuotaBackend::ALL.iter().map(|b| b.as_str()).collect();
        assert_eq!(names, QuotaBackend::NAMES);
    }
}
