//! Shares on PVE storages, as this node sees them: which storages of storage.cfg
//! (`smbgw_core::pve_storage` reads the file) are enabled here and mounted, with how much room;
//! and, for `create NAME --storage ID`, the share's place there, refused with the reason when
//! the storage cannot take it (unknown, wrong type, disabled, not for this node, not mounted, no
//! room for the quota). `storages` is the list the API and the UI's create wizard offer.

use std::path::Path;

use serde::Serialize;
use smbgw_core::pve_storage::{self, Storage, StorageType};
use smbgw_core::share::Properties;
use smbgw_core::size::format_size;
use smbgw_core::{bail_field, Error, QuotaBackend, Result, Share};
use smbgw_sys::mounts::{self, Mount};

use crate::Gateway;

/// A storage shares can be put on, for `storages` (the API, the UI's wizard).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct StorageStatus {
    pub storage: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Where its shares go on this node (a zfspool's mountpoint).
    pub path: String,
    /// The same data on every node that has it (cephfs; `shared` in storage.cfg).
    pub shared: bool,
    /// Mounted and ready for a share.
    pub active: bool,
    /// Why not, when not active.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Bytes of the filesystem, and available to unprivileged writers, when active.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avail: Option<u64>,
    /// The quota backend shares on it get (`auto`: the filesystem's, on a dir storage).
    pub backend: QuotaBackend,
}

impl Gateway {
    /// This node's name, as PVE names it: `nodename` of pmxcfs's `.members`, else the host
    /// name up to its first dot (what PVE::INotify::nodename gives).
    pub(crate) fn node_name(&self) -> Result<String> {
        if let Some(members) = smbgw_ha::members::read_members(&self.layout.pve_members)? {
            return Ok(members.nodename);
        }
        let host = nix::unistd::gethostname().map_err(|e| Error::system(format!("cannot read the host name: {e}")))?;
        Ok(host.to_string_lossy().split('.').next().unwrap_or_default().to_string())
    }

    /// Every storage of storage.cfg (no file: only `local`, as PVE has it).
    pub(crate) fn pve_storages(&self) -> Result<Vec<Storage>> {
        let path = &self.layout.pve_storage_cfg;
        let text = match std::fs::read(path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(Error::io("reading", path, e)),
        };
        Ok(pve_storage::parse(&text))
    }

    /// The storages of this node a share can be put on: a supported type, enabled, for this
    /// node; each with whether it is mounted and its room.
    pub fn storages(&self) -> Result<Vec<StorageStatus>> {
        let node = self.node_name()?;
        let table = mounts::read()?;
        Ok(self
            .pve_storages()?
            .iter()
            .filter(|s| s.refusal(&node).is_none())
            .map(|s| {
                let reason = inactive_reason(s, &table);
                let room = match reason {
                    None => room(Path::new(s.root().unwrap_or("/"))).ok(),
                    Some(_) => None,
                };
                StorageStatus {
                    storage: s.id.clone(),
                    kind: s.kind.clone(),
                    path: s.root().unwrap_or_default().to_string(),
                    shared: s.shared,
                    active: reason.is_none(),
                    reason,
                    total: room.map(|r| r.0),
                    avail: room.map(|r| r.1),
                    backend: s.backend().unwrap_or_default(),
                }
            })
            .collect())
    }

    /// The storage `id` if a share can be put on it on this node now, else the field error
    /// naming why (unknown: with the list of usable ones).
    pub(crate) fn usable_storage(&self, id: &str) -> Result<Storage> {
        let node = self.node_name()?;
        let all = self.pve_storages()?;
        let usable: Vec<&Storage> = all.iter().filter(|s| s.refusal(&node).is_none()).collect();
        let storage = pve_storage::find(&all, id, &usable)?;
        if let Some(reason) = storage.refusal(&node) {
            bail_field!("storage", "{reason}; nothing was changed");
        }
        if let Some(reason) = inactive_reason(storage, &mounts::read()?) {
            bail_field!("storage", "{reason}; nothing was changed");
        }
        Ok(storage.clone())
    }

    /// `create --storage ID`: the share's path, backend and dataset on that storage, written
    /// into `props` (a given `--path` must lie inside it; a given backend or dataset must be
    /// the storage's). Returns the storage, for `check_storage_room` once the share is built.
    pub(crate) fn place_on_storage(&self, name: &str, props: &mut Properties) -> Result<Option<Storage>> {
        let Some(id) = props.get("storage").cloned() else {
            return Ok(None);
        };
        // a VM keeps its data on its own disk: the share model refuses --storage there
        if props.get("mode").is_some_and(|m| m.eq_ignore_ascii_case("vm")) {
            return Ok(None);
        }
        smbgw_core::validate::share_name(name)?;
        let storage = self.usable_storage(&id)?;
        let location = storage.locate(name, props.get("path").map(String::as_str))?;
        // a backend that is no backend is the share model's error, named there
        match props.get("quota-backend").map(|b| QuotaBackend::from_name(b)) {
            None => {
                props.insert("quota-backend".into(), location.backend.to_string());
            }
            Some(None) => {}
            Some(Some(given)) if location.backend.is_auto() || given == location.backend => {}
            Some(Some(given)) => bail_field!(
                "quota-backend",
                "storage '{id}' is of type {}, so its shares use the {} backend, not {given}; leave --quota-backend out",
                storage.kind,
                location.backend
            ),
        }
        if let Some(dataset) = &location.zfs_dataset {
            match props.get("zfs-dataset") {
                Some(given) if given != dataset => bail_field!(
                    "zfs-dataset",
                    "on storage '{id}' the share's dataset is {dataset}, from its path; leave --zfs-dataset out (give --path to choose the place)"
                ),
                _ => {
                    props.insert("zfs-dataset".into(), dataset.clone());
                }
            }
        } else if props.contains_key("zfs-dataset") {
            bail_field!(
                "zfs-dataset",
                "storage '{id}' is of type {}, not zfspool; leave --zfs-dataset out",
                storage.kind
            );
        }
        props.insert("path".into(), location.path);
        Ok(Some(storage))
    }

    /// The storage must have room for the share's quota (a quota larger than the free space
    /// would promise what the filesystem cannot hold).
    pub(crate) fn check_storage_room(&self, share: &Share, storage: &Storage) -> Result<()> {
        self.check_room_for(share, storage, 0)
    }

    /// `update` of a share on a storage that raises its quota: the storage must have room for
    /// the growth (what the old quota reserved is already taken into account by the share's data).
    pub(crate) fn check_storage_growth(&self, share: &Share, old: &Share) -> Result<()> {
        let (Some(id), Some(new)) = (&share.storage, share.quota) else {
            return Ok(());
        };
        let before = old.quota.unwrap_or(0);
        if new <= before {
            return Ok(());
        }
        let storage = self.usable_storage(id)?;
        self.check_room_for(share, &storage, before)
    }

    /// Room for `share.quota` minus `reserved` (bytes an earlier quota already set aside).
    fn check_room_for(&self, share: &Share, storage: &Storage, reserved: u64) -> Result<()> {
        let Some(quota) = share.quota else { return Ok(()) };
        let root = storage.root().unwrap_or("/");
        let (_, avail) = room(Path::new(root))?;
        let needed = quota.saturating_sub(reserved);
        if avail < needed {
            let what = match reserved {
                0 => format!("the quota of {}", format_size(quota)),
                _ => format!(
                    "the {} more a quota of {} needs",
                    format_size(needed),
                    format_size(quota)
                ),
            };
            bail_field!(
                "quota",
                "storage '{}' has {} available at {root}, less than {what}; give a smaller --quota or free space there (nothing was changed)",
                storage.id,
                format_size(avail),
            );
        }
        Ok(())
    }

    /// A changed path of a share on a storage must stay inside it (`update --path`).
    pub(crate) fn check_storage_path(&self, share: &Share, old: &Share) -> Result<()> {
        let Some(id) = &share.storage else { return Ok(()) };
        if share.path == old.path {
            return Ok(());
        }
        let storage = self.usable_storage(id)?;
        storage.locate(&share.name, Some(&share.path)).map(|_| ())
    }
}

/// Why a usable-by-definition storage cannot take a share on this node now: its filesystem is
/// not mounted (cephfs: no CephFS at its path; dir and btrfs with `is_mountpoint`: nothing
/// mounted there) or its directory is missing.
fn inactive_reason(storage: &Storage, table: &[Mount]) -> Option<String> {
    let id = &storage.id;
    let root = storage.root()?;
    let seen = |p: &str| match mounts::at(table, Path::new(p)) {
        Some(m) => format!("{} ({})", m.fstype, m.source),
        None => "nothing mounted there".into(),
    };
    match storage.storage_type()? {
        StorageType::Cephfs => {
            let subdir = storage.subdir.as_deref().unwrap_or("/");
            let ceph = mounts::at(table, Path::new(root)).is_some_and(|m| is_cephfs_of(m, subdir));
            if !ceph {
                return Some(format!(
                    "storage '{id}' is not mounted: no CephFS at {root} (the mount table shows {}); mount it first (PVE mounts an enabled cephfs storage when it activates it, e.g. for 'pvesm status')",
                    seen(root)
                ));
            }
        }
        StorageType::Dir | StorageType::Btrfs => {
            let wanted = match storage.is_mountpoint.as_deref() {
                None => None,
                Some(v) => match smbgw_core::validate::boolean("is_mountpoint", v) {
                    Ok(true) => Some(root),
                    Ok(false) => None,
                    Err(_) => Some(v),
                },
            };
            if let Some(point) = wanted {
                if mounts::at(table, Path::new(point)).is_none() {
                    return Some(format!(
                        "storage '{id}' is not mounted: storage.cfg says {point} is a mount point (is_mountpoint), and nothing is mounted there"
                    ));
                }
            }
        }
        StorageType::Zfspool => {}
    }
    if !Path::new(root).is_dir() {
        return Some(format!(
            "storage '{id}' is not available: its directory {root} does not exist"
        ));
    }
    if storage.storage_type() == Some(StorageType::Btrfs) {
        let fstype = mounts::containing(table, Path::new(root)).map(|m| m.fstype.as_str());
        if fstype != Some("btrfs") {
            return Some(format!(
                "storage '{id}' is not available: {root} is on {}, not on btrfs (not mounted?)",
                fstype.unwrap_or("no filesystem")
            ));
        }
    }
    if let (Some(StorageType::Zfspool), Some(pool)) = (storage.storage_type(), &storage.pool) {
        match smbgw_quota::zfs::exists(pool) {
            Ok(true) => {}
            Ok(false) => {
                return Some(format!(
                    "storage '{id}' is not available: ZFS pool/dataset {pool} does not exist"
                ))
            }
            Err(e) => return Some(format!("storage '{id}' is not available: {}", e.message)),
        }
    }
    None
}

/// Whether `m` is the CephFS a cephfs storage mounts, as pve-storage's `cephfs_is_mounted`
/// decides: ceph-fuse (source `ceph-fuse`), or the kernel client with the storage's `subdir`
/// (default `/`) as the source's path (`MONS:/subdir`, or `NAME@FSID.FS=/subdir` in the newer
/// device syntax of mount.ceph).
fn is_cephfs_of(m: &Mount, subdir: &str) -> bool {
    match m.fstype.as_str() {
        "fuse.ceph-fuse" => m.source == "ceph-fuse",
        "ceph" => m.source.ends_with(&format!(":{subdir}")) || m.source.ends_with(&format!("={subdir}")),
        _ => false,
    }
}

/// (total, available) bytes of the filesystem at `path`.
fn room(path: &Path) -> Result<(u64, u64)> {
    let st = nix::sys::statvfs::statvfs(path).map_err(|e| Error::system(format!("statvfs {}: {e}", path.display())))?;
    let frsize = st.fragment_size() as u64;
    Ok((st.blocks() as u64 * frsize, st.blocks_available() as u64 * frsize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cephfs_is_the_storages_when_pve_would_say_so() {
        let table = mounts::parse(
            "61 22 0:52 / /mnt/pve/a rw - ceph 10.0.0.1,10.0.0.2:/ rw,name=admin\n\
             62 22 0:53 / /mnt/pve/b rw - ceph 10.0.0.1:/shares rw,name=admin\n\
             63 22 0:54 / /mnt/pve/c rw - ceph admin@2f0e.cephfs=/shares rw\n\
             64 22 0:55 / /mnt/pve/d rw - fuse.ceph-fuse ceph-fuse rw\n\
             65 22 0:56 / /mnt/pve/e rw - fuse.sshfs host:/x rw\n",
        );
        let at = |p: &str| mounts::at(&table, Path::new(p)).unwrap();
        assert!(is_cephfs_of(at("/mnt/pve/a"), "/"));
        assert!(
            !is_cephfs_of(at("/mnt/pve/a"), "/shares"),
            "another subtree of the CephFS"
        );
        assert!(is_cephfs_of(at("/mnt/pve/b"), "/shares"));
        assert!(is_cephfs_of(at("/mnt/pve/c"), "/shares"));
        assert!(
            is_cephfs_of(at("/mnt/pve/d"), "/shares"),
            "ceph-fuse: PVE does not look at its root"
        );
        assert!(!is_cephfs_of(at("/mnt/pve/e"), "/"));
    }
}
