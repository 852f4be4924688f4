//! Whether a share's storage is there. A share whose directory is missing, or whose volume is
//! gone (its btrfs or CephFS not mounted, the path now a plain directory on the filesystem
//! below: `StorageBackend::displaced`), is unavailable: `apply` never creates its storage and leaves it out of the
//! served Samba config, so clients cannot fill the filesystem under an unmounted one. `status`
//! and the daemon report the same verdict.

use std::path::Path;

use serde::Serialize;
use smbgw_core::store::SharesConfig;
use smbgw_core::{validate, Result, Share};
use smbgw_sys::safe_fs;

use crate::Gateway;

/// A share this node does not serve, and why.
#[derive(Clone, Debug, Serialize)]
pub struct Unavailable {
    pub share: String,
    pub reason: String,
}

/// Why the node cannot serve `share` from its storage now (`None`: it can). A VM share's data
/// is inside its VM: nothing to check on the node.
pub(crate) fn unavailable_reason(share: &Share) -> Option<String> {
    if !share.mode.has_node_directory() {
        return None;
    }
    let path = Path::new(&share.path);
    let fix = "mount its storage and run 'pve-smbgateway apply'";
    // a link in the path could lead anywhere, root's files included
    if let Err(e) = validate::path_on_disk(&share.path) {
        return Some(e.message);
    }
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Some(format!(
                "directory {} is missing (is its storage mounted?); apply does not create it: {fix}",
                share.path
            ))
        }
        Err(e) => return Some(format!("cannot check {}: {e}", share.path)),
        Ok(_) => {}
    }
    if !path.is_dir() {
        return Some(format!("{} is not a directory", share.path));
    }
    if let Some(reason) = smbgw_quota::backend::of(share.quota_backend).and_then(|b| b.displaced(path)) {
        return Some(format!("{reason}: {fix}"));
    }
    None
}

impl Gateway {
    /// Make the share usable as a PVE storage: refuse it while its storage is missing (PVE would
    /// write backups onto the filesystem below an unmounted one) and create the content
    /// directories (`dump`, `template/iso`, ...) under it through handles: the share's users
    /// may have put links there.
    pub fn activate_storage_dirs(&self, name: &str, subdirs: &[String]) -> Result<()> {
        let share = self.share(name)?;
        if let Some(reason) = unavailable_reason(&share) {
            return Err(smbgw_core::Error::system(format!(
                "share '{}' is unavailable: {reason}",
                share.name
            )));
        }
        validate::path_on_disk(&share.path)?;
        let root = safe_fs::Dir::open(Path::new(&share.path))?;
        for subdir in subdirs {
            let mut dir = root.try_clone()?;
            for component in Path::new(subdir).components() {
                let std::path::Component::Normal(name) = component else {
                    smbgw_core::bail_input!("content directory {subdir:?} must be a relative path inside the share");
                };
                dir = match dir.open_child_optional(name)? {
                    Some(existing) => existing,
                    None => dir.mkdir_child(name, 0o755)?,
                };
            }
        }
        Ok(())
    }

    /// The shares of the stored config this node cannot serve, and why.
    pub fn unavailable_shares(&self) -> Result<Vec<Unavailable>> {
        Ok(unavailable_in(&self.store.load()?))
    }
}

impl Gateway {
    /// The shares the node's smbd serves: no guest shares (their Samba runs in the guest), none
    /// whose storage is unavailable, except the one whose storage the change at hand creates.
    pub(crate) fn served_shares(&self, cfg: &SharesConfig, creating: Option<&str>) -> Vec<Share> {
        self.node_shares(cfg.shares())
            .into_iter()
            .filter(|s| creating.is_some_and(|c| c.eq_ignore_ascii_case(&s.name)) || unavailable_reason(s).is_none())
            .collect()
    }

    /// Only the node's own shares go into the node's smb.conf (a guest's Samba serves the
    /// others), and not those whose purge stopped part-way (their data is half gone).
    pub(crate) fn node_shares(&self, shares: &[Share]) -> Vec<Share> {
        shares
            .iter()
            .filter(|s| s.mode.is_native())
            .filter(|s| self.purge_incomplete(s).is_none())
            .cloned()
            .collect()
    }
}

/// The shares of `cfg` whose storage is missing, and why.
pub(crate) fn unavailable_in(cfg: &SharesConfig) -> Vec<Unavailable> {
    cfg.shares()
        .iter()
        .filter_map(|s| {
            unavailable_reason(s).map(|reason| Unavailable {
                share: s.name.clone(),
                reason,
            })
        })
        .collect()
}

/// `cfg` without the shares in `left_out`: what the node serves.
pub(crate) fn without(cfg: &SharesConfig, left_out: &[Unavailable]) -> SharesConfig {
    let mut served = cfg.clone();
    for u in left_out {
        let _ = served.remove(&u.share);
    }
    served
}
