//! Share paths: their syntax (absolute, normalised, outside the system directories), the path
//! as it is on disk (no symbolic links), the trees a share must never be nor contain, and
//! whether two paths overlap.
//!
//! Apart from the other checks in `mod.rs` because a path is the value root acts on: the
//! gateway changes ownership and ACLs on the whole share tree and `--purge-data` deletes it, so
//! these rules are what keeps a share away from the system's and Proxmox VE's own state. The
//! fd-based file operations that follow them are in crates/sys/src (safe_fs, walk).

use std::path::Path;

use super::{check_no_control, MAX_PATH};
use crate::{bail_field, bail_input, Result, ResultExt};

/// Directories a share must never expose, nor be placed inside.
const FORBIDDEN_PATHS: [&str; 12] = [
    "/etc",
    "/proc",
    "/sys",
    "/dev",
    "/boot",
    "/run",
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib64",
    "/var/lib/samba",
];

/// The syntax of a share path: absolute, normalised, outside system directories.
pub fn path_syntax(path: &str) -> Result<()> {
    path_syntax_rules(path).field("path")
}

fn path_syntax_rules(path: &str) -> Result<()> {
    if path.is_empty() {
        bail_input!("path is empty: give the absolute path of the directory to share, e.g. /srv/data");
    }
    check_no_control("path", path)?;
    if path.len() > MAX_PATH {
        bail_input!("path is {} bytes long; at most {MAX_PATH} are allowed", path.len());
    }
    if !path.starts_with('/') {
        bail_input!("path {path:?} is not absolute: give it from the root, e.g. /srv/data");
    }
    if let Some(c) = path.chars().find(|c| matches!(c, '%' | '\\' | '"')) {
        bail_input!("path {path:?} contains '{c}', which Samba would interpret; rename the directory");
    }
    if path != "/" && (path.ends_with('/') || path.contains("//") || path.split('/').any(|c| c == "." || c == "..")) {
        bail_input!(
            "path {path:?} is not normalised: no '.', '..', '//' or trailing '/' (did you mean {:?}?)",
            normalise_hint(path)
        );
    }
    if path.split('/').any(|c| c.trim() != c) {
        bail_input!("path {path:?} has a component with leading or trailing spaces");
    }
    if path == "/" {
        bail_input!("path '/' would share the whole system; give a directory such as /srv/data");
    }
    for forbidden in FORBIDDEN_PATHS {
        if path == forbidden || path.starts_with(&format!("{forbidden}/")) {
            bail_input!("path {path:?} is inside the system directory {forbidden}; share a data directory such as /srv/data or a storage mount instead");
        }
    }
    Ok(())
}

fn normalise_hint(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// The path as it is on disk: no component may be a symbolic link (a link could later be
/// re-pointed to expose something else), and an existing path must be a directory.
pub fn path_on_disk(path: &str) -> Result<()> {
    let mut current = std::path::PathBuf::from("/");
    for component in Path::new(path).components().skip(1) {
        current.push(component);
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                bail_field!(
                    "path",
                    "path {path:?} goes through the symbolic link {:?}; give the real path instead",
                    current.display().to_string()
                );
            }
            Ok(meta) if !meta.is_dir() => {
                bail_field!(
                    "path",
                    "path {path:?}: {:?} exists and is not a directory",
                    current.display().to_string()
                );
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => bail_field!("path", "path {path:?} cannot be checked: {e}"),
        }
    }
    Ok(())
}

/// Trees a share must never be, nor contain: the gateway changes permissions and ACLs on the
/// whole share tree as root, and `--purge-data` deletes it. (`path_syntax` already refuses
/// paths inside the system directories.)
const PROTECTED_TREES: [(&str, &str, Whole); 16] = [
    ("/", "the root filesystem", Whole::Only),
    (
        "/home",
        "every user's home (a directory below it, such as /home/alice/share, is fine)",
        Whole::Only,
    ),
    ("/var", "the system's state", Whole::Only),
    ("/var/lib", "the state of the system's services", Whole::Only),
    ("/root", "root's home", Whole::AndInside),
    ("/etc", "the system configuration", Whole::AndInside),
    ("/usr", "the system's programs", Whole::AndInside),
    ("/boot", "the boot loader and kernels", Whole::AndInside),
    (
        "/var/lib/pve-cluster",
        "Proxmox VE's cluster database",
        Whole::AndInside,
    ),
    ("/etc/pve", "Proxmox VE's cluster filesystem", Whole::AndInside),
    ("/var/lib/samba", "Samba's state", Whole::AndInside),
    (
        "/var/lib/samba/private",
        "Samba's private dir (passwords, secrets)",
        Whole::AndInside,
    ),
    ("/etc/samba", "Samba's configuration", Whole::AndInside),
    ("/var/cache/samba", "Samba's caches", Whole::AndInside),
    ("/var/lib/pve-smbgateway", "the gateway's own state", Whole::AndInside),
    ("/var/log/pve-smbgateway", "the gateway's own logs", Whole::AndInside),
];

/// Whether a directory below a protected tree may be shared.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Whole {
    /// Only the tree as a whole is protected: /home/alice/share is fine, /home is not.
    Only,
    /// Nothing in it may be shared either.
    AndInside,
}

/// Whether `inner` is the directory `outer` or lies below it. Share paths are normalised by
/// `path_syntax` (absolute, no `.`, `..`, `//` or trailing `/`), so comparing components
/// compares the directories.
pub fn path_within(inner: &str, outer: &str) -> bool {
    let outer = outer.trim_end_matches('/');
    inner == outer || outer.is_empty() || inner.strip_prefix(outer).is_some_and(|rest| rest.starts_with('/'))
}

/// Whether one path is the other or lies inside it.
pub fn paths_overlap(a: &str, b: &str) -> bool {
    path_within(a, b) || path_within(b, a)
}

/// A share path that is, contains or lies inside a protected tree (the system's and Proxmox
/// VE's state, Samba's private dirs, the gateway's own dirs given as `own`) is refused.
pub fn protected_trees(path: &str, own: &[std::path::PathBuf]) -> Result<()> {
    let inside = path_within;
    for (tree, what, whole) in PROTECTED_TREES {
        let relation = if tree == path {
            "is"
        } else if inside(tree, path) {
            "contains"
        } else if whole == Whole::AndInside && inside(path, tree) {
            "is inside"
        } else {
            continue;
        };
        bail_field!(
            "path",
            "path {path:?} {relation} {tree} ({what}); root would open it to the share's users and --purge-data would delete it: share a directory that holds only share data, such as /srv/data or a storage mount"
        );
    }
    for dir in own {
        let dir = dir.to_string_lossy();
        if inside(&dir, path) || inside(path, &dir) {
            bail_field!(
                "path",
                "path {path:?} overlaps the gateway's own directory {dir}; choose another directory"
            );
        }
    }
    Ok(())
}
