//! The VFS modules a share may stack, in the one order the gateway renders them (the renderer in
//! `crates/samba/src/render.rs` sorts by it), and the check of an admin's `vfs objects` option
//! (`options.rs`) against the share's own properties.
//!
//! Samba passes every file operation down `vfs objects` from left to right, so the order decides
//! what each module sees:
//! - `full_audit` first: it must log every call, before any module below answers or rewrites it.
//! - `catia fruit streams_xattr` in this order, as vfs_fruit(8) requires: catia maps the
//!   characters macOS uses before fruit looks at names; fruit handles the AFP_* streams and
//!   passes every other named stream to `streams_xattr`, which must lie below it.
//! - the Previous Versions module (`shadow_copy2`, or `ceph_snapshots` on CephFS) below the
//!   streams: it turns `@GMT-...` paths into snapshot paths, so a stream of an old version is
//!   read from the snapshot's own xattrs.
//! - `recycle` below them: a delete is a rename into `.recycle` of the base file, whose streams
//!   (xattrs) move with it.
//! - `acl_xattr` (Windows ACLs in `security.NTACL`, vfs_acl_xattr(8)) next: it guards the base
//!   file with the ACL stored there, below every module that rewrites names or paths.
//! - `io_uring` last: vfs_io_uring(8) says it should be the last module as it needs real kernel
//!   file descriptors.

use crate::{bail_input, Result};

/// Every module a share's `vfs objects` may hold, in stacking order.
pub const ORDER: &[&str] = &[
    "full_audit",
    "catia",
    "fruit",
    "streams_xattr",
    "shadow_copy2",
    "ceph_snapshots",
    "recycle",
    "acl_xattr",
    "io_uring",
];

/// Which share property (a boolean) puts each module on the stack: the one place that says so
/// (`Share::stacks` and the renderer ask [`owner`]). The modules without one (`acl_xattr`,
/// `io_uring`) are the ones an admin may add with `--option 'vfs objects=...'`.
const OWNERS: &[(&str, &str)] = &[
    ("full_audit", "audit"),
    ("catia", "macos"),
    ("fruit", "macos"),
    ("streams_xattr", "streams"),
    ("shadow_copy2", "shadow-copies"),
    ("ceph_snapshots", "shadow-copies"),
    ("recycle", "recycle-bin"),
];

/// The share property that stacks `module`, if one does.
pub fn owner(module: &str) -> Option<&'static str> {
    OWNERS.iter().find(|(m, _)| *m == module).map(|(_, property)| *property)
}

/// Sort `modules` into stacking order (modules not in `ORDER` cannot occur: `check_list`
/// refuses them and the renderer only adds listed ones).
pub fn sorted<'a>(modules: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = modules.into_iter().collect();
    out.sort_by_key(|m| ORDER.iter().position(|o| o == m).unwrap_or(ORDER.len()));
    out.dedup();
    out
}

/// The value of a `vfs objects` option by itself: known modules, each once, in `ORDER`.
/// Returns the canonical text (single spaces).
pub fn check_list(value: &str) -> Result<String> {
    let modules: Vec<&str> = value.split_whitespace().collect();
    if modules.is_empty() {
        bail_input!("vfs objects is empty; name the whole stack, e.g. 'vfs objects=streams_xattr io_uring'");
    }
    for (i, m) in modules.iter().enumerate() {
        if !ORDER.contains(m) {
            crate::validate::text("vfs objects", m)?;
            bail_input!(
                "vfs objects: module {m:?} is not one the gateway stacks; allowed are, in this order: {}",
                ORDER.join(" ")
            );
        }
        if modules[..i].contains(m) {
            bail_input!("vfs objects names {m} twice");
        }
    }
    let want = sorted(modules.iter().copied());
    if want != modules {
        bail_input!(
            "vfs objects {:?} is in an order Samba does not work in: {} (e.g. fruit must come before streams_xattr, io_uring last)",
            modules.join(" "),
            want.join(" ")
        );
    }
    if modules.contains(&"fruit") && !modules.contains(&"streams_xattr") {
        bail_input!("vfs objects: fruit needs streams_xattr below it (vfs_fruit(8))");
    }
    Ok(modules.join(" "))
}

/// Which modules of `ORDER` the share's properties put on its stack, as a function of the
/// module name: `Some(true)` on, `Some(false)` off, `None` for modules no property owns.
pub type Wanted<'a> = &'a dyn Fn(&str) -> Option<bool>;

/// A `vfs objects` option against the share's properties: it names the whole stack, so each
/// module a property turns on must be in it, and none a property leaves off. The Previous
/// Versions module depends on the storage, so the option leaves it out: the gateway puts the
/// right one in its place.
pub fn check_against_share(modules: &str, wanted: Wanted) -> Result<()> {
    let list: Vec<&str> = modules.split_whitespace().collect();
    for (module, property) in OWNERS {
        let owner = format!("--{property} 1");
        let present = list.contains(module);
        if matches!(*module, "shadow_copy2" | "ceph_snapshots") {
            if present {
                bail_input!(
                    "vfs objects: leave {module} out; Previous Versions are {owner}, and the gateway stacks the module the storage needs in its place"
                );
            }
            continue;
        }
        match (wanted(module), present) {
            (Some(true), false) if *module == "streams_xattr" => bail_input!(
                "vfs objects {modules:?} drops streams_xattr, so Windows clients would lose alternate data streams (Zone.Identifier, Office and macOS metadata); keep it in the list, or turn streams off with --streams 0"
            ),
            (Some(true), false) => {
                bail_input!("vfs objects {modules:?} leaves out {module}, which {owner} needs; keep it in the list")
            }
            (Some(false), true) => bail_input!(
                "vfs objects {modules:?} names {module}, which is the share property {owner}: set that instead"
            ),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_follows_the_man_pages() {
        let pos = |m: &str| ORDER.iter().position(|o| *o == m).unwrap();
        assert!(pos("full_audit") < pos("catia"));
        assert!(pos("catia") < pos("fruit") && pos("fruit") < pos("streams_xattr"));
        assert!(pos("streams_xattr") < pos("shadow_copy2") && pos("shadow_copy2") < pos("recycle"));
        assert_eq!(ORDER.last(), Some(&"io_uring"));
        assert_eq!(
            sorted(["recycle", "io_uring", "streams_xattr", "full_audit"]),
            ["full_audit", "streams_xattr", "recycle", "io_uring"]
        );
    }

    #[test]
    fn lists() {
        assert_eq!(
            check_list("  streams_xattr   io_uring ").unwrap(),
            "streams_xattr io_uring"
        );
        for bad in [
            "",
            "io_uring streams_xattr",
            "streams_xattr fruit catia",
            "widelinks",
            "streams_xattr streams_xattr",
            "catia fruit",
            "streams_depot",
        ] {
            assert!(check_list(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn against_the_share() {
        let streams_only = |m: &str| match m {
            "streams_xattr" => Some(true),
            "acl_xattr" | "io_uring" => None,
            _ => Some(false),
        };
        assert!(check_against_share("streams_xattr io_uring", &streams_only).is_ok());
        let e = check_against_share("io_uring", &streams_only).unwrap_err();
        assert!(e.message.contains("drops streams_xattr"), "{e}");
        assert!(check_against_share("streams_xattr recycle", &streams_only).is_err());
        assert!(check_against_share("streams_xattr shadow_copy2", &streams_only).is_err());
        let off = |m: &str| if m == "io_uring" { None } else { Some(false) };
        assert!(check_against_share("io_uring", &off).is_ok());
        assert!(check_against_share("streams_xattr io_uring", &off).is_err());
    }
}
