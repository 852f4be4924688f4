//! Where `backup restore` may write (crates/gateway/src/backups.rs): a new or empty directory
//! on a storage of the node, outside every share's tree and the protected trees, below
//! directories only root may change (PBS's tools restore by path, as root); and which paths
//! inside a backup may be asked for.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use smbgw_core::{bail_field, validate, Error, ErrorKind, Result};

use crate::Gateway;

impl Gateway {
    /// The restore target: an absolute normalised path without symbolic links, inside a storage
    /// of the node, outside the protected trees and every share's tree; for a whole share one
    /// that does not exist or is an empty directory, for a file an existing directory or a new
    /// one.
    pub(super) fn check_restore_target(&self, target: &str, whole: bool) -> Result<PathBuf> {
        const F: &str = "target";
        if target.is_empty() {
            bail_field!(F, "give --target: the new directory to restore into");
        }
        on_field(validate::path_syntax(target), F)?;
        on_field(validate::path_on_disk(target), F)?;
        on_field(validate::protected_trees(target, &self.layout.owned_dirs()), F)?;
        for share in self.store.load()?.shares() {
            if share.mode.has_node_directory() && validate::paths_overlap(target, &share.path) {
                bail_field!(
                    F,
                    "{target} {} {}, the directory of share '{}': restore into a new directory outside every share, then move what you need",
                    match (target == share.path, validate::path_within(target, &share.path)) {
                        (true, _) => "is",
                        (false, true) => "lies inside",
                        (false, false) => "contains",
                    },
                    share.path,
                    share.name
                );
            }
        }
        // onto a storage of the node, as shares are: not the root filesystem or some mount
        let node = self.node_name()?;
        let roots: Vec<(String, String)> = self
            .pve_storages()?
            .into_iter()
            .filter(|s| !s.disabled && s.on_node(&node) && s.kind != "pbs")
            .filter_map(|s| s.root().map(|r| (s.id.clone(), r.trim_end_matches('/').to_string())))
            .collect();
        if !roots
            .iter()
            .any(|(_, root)| validate::path_within(target, root) && target != root)
        {
            bail_field!(
                F,
                "{target} is outside every storage of this node (storage.cfg: {}): restore into a new directory on one of them",
                roots
                    .iter()
                    .map(|(id, root)| format!("{id} {root}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let path = PathBuf::from(target);
        let parent = path.parent().unwrap_or(Path::new("/"));
        if !parent.is_dir() {
            bail_field!(
                F,
                "the parent directory {} of {target} does not exist",
                parent.display()
            );
        }
        if whole {
            if let Ok(mut entries) = std::fs::read_dir(&path) {
                if entries.next().is_some() {
                    bail_field!(
                        F,
                        "{target} is not empty: a share is restored into a new or empty directory, so nothing there is overwritten"
                    );
                }
            }
        }
        root_only(&path)?;
        Ok(path)
    }
}

/// An input error of a path check (which names `path`) named after `field` instead.
fn on_field<T>(result: Result<T>, field: &str) -> Result<T> {
    result.map_err(|e| match e.kind {
        ErrorKind::Input => e.field(field),
        _ => e,
    })
}

/// Refuse a target that someone other than root could replace or redirect while root restores
/// into it by path (PBS's tools take a path): every directory on the way, and the target when
/// it exists, must be root's and writable by root only; a sticky directory (/tmp) may be
/// writable by all, as there only the owner of an entry may rename it, if that entry is root's.
fn root_only(target: &Path) -> Result<()> {
    let mut dirs: Vec<&Path> = target.ancestors().collect();
    dirs.reverse();
    for pair in dirs.windows(2).map(Some).chain([None]) {
        let (dir, next) = match pair {
            Some([dir, next]) => (*dir, Some(*next)),
            _ => (target, None),
        };
        let Ok(meta) = std::fs::symlink_metadata(dir) else {
            return Ok(()); // the rest is made by the gateway, 0700
        };
        let others_write = meta.mode() & 0o022 != 0;
        let sticky_guarded = meta.mode() & 0o1000 != 0
            && next.is_some_and(|n| std::fs::symlink_metadata(n).map_or(true, |m| m.uid() == 0));
        if meta.uid() != 0 || (others_write && !sticky_guarded) {
            bail_field!(
                "target",
                "{} may be changed by users other than root (owner uid {}, mode {:o}), who could redirect what root restores into {}: restore below directories only root may change",
                dir.display(),
                meta.uid(),
                meta.mode() & 0o7777,
                target.display()
            );
        }
    }
    Ok(())
}

/// A path inside the backup: relative, normalised, no `..`.
pub(super) fn check_file(file: &str) -> Result<String> {
    let inside = file.trim_start_matches('/');
    if inside.is_empty()
        || inside.ends_with('/')
        || inside.split('/').any(|c| c.is_empty() || c == "." || c == "..")
        || inside.chars().any(char::is_control)
    {
        bail_field!(
            "file",
            "{file:?} is not a path inside the share's backup: give it relative to the share, without '.', '..' or '//', e.g. docs/report.odt"
        );
    }
    Ok(inside.to_string())
}

pub(super) fn parent_and_leaf(path: &Path) -> Result<(&Path, &std::ffi::OsStr)> {
    match (path.parent(), path.file_name()) {
        (Some(p), Some(l)) => Ok((p, l)),
        _ => Err(Error::input(format!("{} has no parent directory", path.display())).field("target")),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn files_inside_a_backup() {
        assert_eq!(super::check_file("docs/a.txt").unwrap(), "docs/a.txt");
        assert_eq!(super::check_file("/a.txt").unwrap(), "a.txt");
        for bad in ["", "/", "../etc/passwd", "a/../../b", "a//b", "a/", "a\nb"] {
            assert!(super::check_file(bad).is_err(), "{bad:?}");
        }
    }
}
