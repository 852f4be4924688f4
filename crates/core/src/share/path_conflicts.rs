//! Shares on one directory tree: whether two shares serve the same directory or one inside
//! the other, and the refusal of a share whose tree meets another's.
//!
//! These rules compare a share with the others of the config, unlike the checks in `mod.rs`,
//! which need only the share itself; crates/gateway/src/shares.rs calls `check_paths_apart` on
//! create and update, and crates/gateway/src/status.rs reports `path_conflict` for a stored
//! config. Re-exported from `share` so those paths stay as they were.

use super::Share;
use crate::{bail_field, validate, Result};

/// What is wrong when `share` and `other` serve one directory tree (the same directory, or one
/// inside the other), or `None`. Each share's ACL and quota would act on the other's data: an
/// ACL change locks the other share's users out, two quotas on one subvolume overwrite each
/// other at every apply. A VM share keeps its data on the VM's own disk: never a conflict.
pub fn path_conflict(share: &Share, other: &Share) -> Option<String> {
    if !share.mode.has_node_directory()
        || !other.mode.has_node_directory()
        || share.name.eq_ignore_ascii_case(&other.name)
    {
        return None;
    }
    let (mine, theirs) = (share.path.as_str(), other.path.as_str());
    if mine == theirs {
        Some(format!("{mine} is also the directory of share '{}'", other.name))
    } else if validate::path_within(mine, theirs) {
        Some(format!(
            "{mine} lies inside {theirs}, the directory of share '{}'",
            other.name
        ))
    } else if validate::path_within(theirs, mine) {
        Some(format!(
            "{mine} contains {theirs}, the directory of share '{}'",
            other.name
        ))
    } else {
        None
    }
}

/// Refuse `share` if its directory tree meets another share's. Shares on one tree are refused
/// outright, even read-only ones: a nested share's ACL entries would still reach into the
/// outer share's data.
pub fn check_paths_apart<'a>(share: &Share, others: impl IntoIterator<Item = &'a Share>) -> Result<()> {
    for other in others {
        if let Some(conflict) = path_conflict(share, other) {
            bail_field!(
                "path",
                "share '{}': path {conflict}; two shares on one directory tree overwrite each other's ACLs and storage limits. Give a directory outside {}, or reach that data through share '{}'",
                share.name,
                other.path,
                other.name
            );
        }
    }
    Ok(())
}
