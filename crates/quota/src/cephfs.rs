//! CephFS (issue #16 item 2): a share is a plain directory on a CephFS mount (kernel client or
//! ceph-fuse), limited by its `ceph.quota.max_bytes`, its usage `ceph.dir.rbytes`; both are
//! virtual xattrs, set with fsetxattr on a handle opened without following links (DESIGN.md §9).
//!
//! What the recipe measured (../shared/recipes/platform/README.md item 11, Ceph 16.2):
//! - the quota is enforced by each client, not by the servers: writes overshoot it before
//!   EDQUOT, by up to 2.4 MiB on 10 MiB with one writer and up to 9.1 MiB on 50 MiB with two;
//! - ceph-fuse reports the quota in statfs only at its mount root, so SMB clients see it as the
//!   disk size only through the `dfree command` helper (which reads these xattrs itself);
//! - snapshots (`mkdir DIR/.snap/NAME`) are on by default, and a directory that has some cannot
//!   be removed until they are: a purge refuses first, naming them;
//! - Previous Versions work with `vfs_ceph_snapshots` on the mounted path.
//!
//! `ceph.dir.rbytes` lags the writes: the MDS learns a file's size when the writing client
//! flushes its caps and propagates it up lazily (seconds here; crates/cli/tests/cephfs.rs waits
//! for it). `quota-status` and the refusal of a quota below the usage see what CephFS counted.
//!
//! Detection asks the filesystem for `ceph.dir.rbytes`: ceph-fuse's statfs magic is FUSE's.

use std::ffi::{CString, OsStr};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use smbgw_core::size::format_size;
use smbgw_core::{Error, Plan, QuotaBackend, Result};
use smbgw_sys::safe_fs::Dir;
use smbgw_sys::walk;

use crate::backend::{self, FsFacts, PlannedVolume, PreviousVersions, StorageBackend, Volume, VolumeRequest};
use crate::Usage;

/// Bytes below a directory, recursively (maintained by the MDS).
const RBYTES: &str = "ceph.dir.rbytes";
/// The directory's quota in bytes; 0 or absent: none (setting 0 removes it).
const MAX_BYTES: &str = "ceph.quota.max_bytes";
/// Snapshots taken on the directory and below it, recursively.
const RSNAPS: &str = "ceph.dir.rsnaps";
/// The client's snapshot directory (`client_snapdir` / `snapdirname`, default `.snap`).
pub const SNAPDIR: &str = ".snap";

fn xattr_name(name: &str) -> CString {
    CString::new(name).expect("xattr names have no NUL")
}

/// Read an xattr through `call` (getxattr or fgetxattr): `None` when the file has no such
/// attribute (ENODATA); other errors (EOPNOTSUPP: not CephFS) as they come.
fn read_xattr(call: impl Fn(*mut libc::c_void, usize) -> isize) -> std::io::Result<Option<String>> {
    let mut buf = [0u8; 64];
    let n = call(buf.as_mut_ptr().cast(), buf.len());
    if n < 0 {
        let e = std::io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::ENODATA) => Ok(None),
            _ => Err(e),
        };
    }
    Ok(Some(
        String::from_utf8_lossy(&buf[..n as usize])
            .trim_end_matches('\0')
            .to_string(),
    ))
}

fn fget(fd: BorrowedFd<'_>, name: &str) -> std::io::Result<Option<String>> {
    let c = xattr_name(name);
    read_xattr(|buf, len| unsafe { libc::fgetxattr(fd.as_raw_fd(), c.as_ptr(), buf, len) })
}

fn fset(fd: BorrowedFd<'_>, name: &str, value: &str) -> std::io::Result<()> {
    let c = xattr_name(name);
    let rc = unsafe { libc::fsetxattr(fd.as_raw_fd(), c.as_ptr(), value.as_ptr().cast(), value.len(), 0) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Whether the filesystem holding `path` is CephFS: it answers `ceph.dir.rbytes` (a read, by
/// path: it changes nothing).
pub fn answers(path: &Path) -> bool {
    let Ok(p) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    let c = xattr_name(RBYTES);
    matches!(
        read_xattr(|buf, len| unsafe { libc::getxattr(p.as_ptr(), c.as_ptr(), buf, len) }),
        Ok(Some(_))
    )
}

/// A number-valued virtual xattr (CephFS prints them in decimal).
pub fn parse_number(text: &str, name: &str, path: &Path) -> Result<u64> {
    text.trim()
        .parse()
        .map_err(|_| Error::external(format!("CephFS gave {name} = {text:?} for {}", path.display())))
}

/// The limit as `ceph.quota.max_bytes` says it: absent or 0 is none.
pub fn parse_limit(text: Option<&str>, path: &Path) -> Result<Option<u64>> {
    Ok(match text {
        None => None,
        Some(t) => Some(parse_number(t, MAX_BYTES, path)?).filter(|l| *l > 0),
    })
}

fn ceph_error(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::external(format!("{what} of {} on CephFS failed: {e}", path.display()))
}

/// Usage and limit of the directory held by `dir`.
fn usage_of(dir: &Dir) -> Result<Usage> {
    let path = dir.path();
    let used = fget(dir.fd(), RBYTES)
        .map_err(|e| ceph_error(&format!("reading {RBYTES}"), path, e))?
        .ok_or_else(|| Error::external(format!("{} has no {RBYTES}: is it on CephFS?", path.display())))?;
    let limit = fget(dir.fd(), MAX_BYTES).map_err(|e| ceph_error(&format!("reading {MAX_BYTES}"), path, e))?;
    Ok(Usage {
        used: parse_number(&used, RBYTES, path)?,
        limit: parse_limit(limit.as_deref(), path)?,
    })
}

pub fn usage(path: &Path) -> Result<Usage> {
    usage_of(&Dir::open(path)?)
}

/// Set (or with `None` remove: 0) the quota of the directory at `path`, on a handle opened
/// without following links: a user who can rename the share's parent cannot redirect it.
pub fn set_limit(path: &Path, limit: Option<u64>) -> Result<()> {
    let dir = Dir::open(path)?;
    fset(dir.fd(), MAX_BYTES, &limit.unwrap_or(0).to_string()).map_err(|e| {
        let denied = matches!(e.raw_os_error(), Some(libc::EPERM | libc::EACCES));
        let mut err = ceph_error(&format!("setting {MAX_BYTES}"), path, e);
        if denied {
            // setting quotas is a layout change: the MDS wants the 'p' flag in the client's caps
            err.message.push_str(
                "; this node's CephFS client may not set quotas: its cephx caps need the 'p' flag (ceph fs authorize FS client.ID PATH rwp)",
            );
        }
        err
    })
}

/// The snapshots taken on the directory held by `dir` (names in its `.snap`). Entries named
/// `_NAME_INODE` are snapshots of an ancestor seen from here: they do not keep this directory
/// from being removed, and CephFS refuses such names for new snapshots.
pub fn snapshots(dir: &Dir) -> Result<Vec<String>> {
    let Some(snapdir) = dir.open_child_optional(OsStr::new(SNAPDIR))? else {
        return Ok(Vec::new());
    };
    Ok(own_snapshots(
        snapdir.names()?.iter().map(|n| n.to_string_lossy().into_owned()),
    ))
}

/// The directory's own snapshots among the names in its `.snap`, sorted.
pub fn own_snapshots(names: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut own: Vec<String> = names.into_iter().filter(|n| !n.starts_with('_')).collect();
    own.sort();
    own
}

/// What a purge of `path` must refuse: a directory with snapshots, its own snapshots named.
pub fn snapshot_problem(path: &Path, names: &[String]) -> String {
    format!(
        "{} has CephFS snapshots ({}): a directory with snapshots cannot be removed; remove each with 'rmdir {}/{SNAPDIR}/NAME'",
        path.display(),
        names.join(", "),
        path.display()
    )
}

/// Every directory in the tree of `root` that has snapshots. The root's `.snap` is always
/// read; the tree is walked only when `ceph.dir.rsnaps` counts more snapshots than the root
/// has (one xattr instead of a `.snap` per directory).
fn snapshot_problems(root: &Dir) -> Result<Vec<String>> {
    let own = snapshots(root)?;
    let mut problems = Vec::new();
    if !own.is_empty() {
        problems.push(snapshot_problem(root.path(), &own));
    }
    let total = fget(root.fd(), RSNAPS)
        .ok()
        .flatten()
        .and_then(|t| t.trim().parse::<usize>().ok())
        .unwrap_or(0);
    if total > own.len() {
        walk::walk(root.try_clone()?, &mut |_| {}, &mut |entry| {
            if let walk::Entry::Dir(d, _) = entry {
                if d.path() != root.path() {
                    let names = snapshots(d)?;
                    if !names.is_empty() {
                        problems.push(snapshot_problem(d.path(), &names));
                    }
                }
            }
            Ok(())
        })?;
    }
    Ok(problems)
}

/// The CephFS backend.
pub struct Cephfs;

impl StorageBackend for Cephfs {
    fn kind(&self) -> QuotaBackend {
        QuotaBackend::Cephfs
    }

    fn detects(&self, facts: &FsFacts) -> bool {
        facts.ceph_xattrs
    }

    // every share on CephFS records it: HA decides "on cluster storage" from the stored backend
    fn claims_share_without_quota(&self, _dir_exists: bool) -> bool {
        true
    }

    fn volume_noun(&self) -> &'static str {
        "CephFS directory"
    }

    fn plan_volume(&'static self, request: &VolumeRequest<'_>, plan: &mut Plan) -> Result<PlannedVolume> {
        if !request.exists {
            backend::create_volume_steps(self, request.path, request.mode, plan);
        }
        Ok(PlannedVolume {
            exists: request.exists,
            dataset: None,
        })
    }

    fn usage(&self, volume: &Volume) -> Result<Usage> {
        usage(&volume.path)
    }

    fn set_limit(&self, volume: &Volume, limit: Option<u64>) -> Result<()> {
        set_limit(&volume.path, limit)
    }

    fn describe_limit(&self, volume: &Volume, limit: Option<u64>) -> String {
        format!(
            "set {MAX_BYTES} of {} to {}",
            volume.path.display(),
            limit.map_or("0 (no limit)".to_string(), format_size)
        )
    }

    fn purge_refusals(&self, root: &Dir) -> Result<Vec<String>> {
        snapshot_problems(root)
    }

    fn dfree_reason(&self) -> Option<&'static str> {
        Some("CephFS statfs shows a quota only at a mount's root")
    }

    // the xattrs are readable by anyone who may read the directory: no cache needed
    fn live_usage(&self, path: &Path) -> Option<Usage> {
        usage(path).ok()
    }

    fn previous_versions(&self) -> PreviousVersions {
        PreviousVersions::CephSnap
    }

    fn snapshots(&self) -> Option<&'static dyn crate::snapshot::SnapshotBackend> {
        Some(&CephSnapshots)
    }

    fn displaced(&self, path: &Path) -> Option<String> {
        (!answers(path)).then(|| {
            format!(
                "{} is no longer on CephFS but on {} (is CephFS mounted?)",
                path.display(),
                crate::fs_name(path)
            )
        })
    }
}

// ---- snapshots: `mkdir DIR/.snap/NAME` through the directory's handle ----

/// A snapshot's birth time (`secs.nanosecs`), which a later snapshot of the same name cannot
/// share: with the name, our record's key.
const SNAP_BTIME: &str = "ceph.snap.btime";

/// The share's `.snap` through a handle on the share root.
fn snapdir(path: &Path) -> Result<Dir> {
    Dir::open(path)?.open_child(OsStr::new(SNAPDIR))
}

fn snapshot_of(snaps: &Dir, name: &str) -> Result<Option<crate::snapshot::Snapshot>> {
    let Some(snap) = snaps.open_child_optional(OsStr::new(name))? else {
        return Ok(None);
    };
    let btime = fget(snap.fd(), SNAP_BTIME)
        .map_err(|e| Error::system(format!("reading {SNAP_BTIME} of {}: {e}", snap.path().display())))?
        .ok_or_else(|| Error::system(format!("{} has no {SNAP_BTIME}", snap.path().display())))?;
    let born = btime.split('.').next().and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
    Ok(Some(crate::snapshot::Snapshot {
        name: name.to_string(),
        time: crate::snapshot::parse_gmt_name(name).unwrap_or(born),
        id: format!("{name}@{btime}"),
        tag: None,
        size: None,
    }))
}

pub struct CephSnapshots;

impl crate::snapshot::SnapshotBackend for CephSnapshots {
    fn check(&self, volume: &Volume) -> Result<()> {
        if !answers(&volume.path) {
            return Err(Error::input(format!("{} is not on CephFS", volume.path.display())));
        }
        Ok(())
    }

    fn name_at(&self, time: i64) -> String {
        crate::snapshot::gmt_name(time)
    }

    /// Every snapshot of the directory itself (vfs_ceph_snapshots shows them all, by birth time).
    fn list(&self, volume: &Volume) -> Result<Vec<crate::snapshot::Snapshot>> {
        let snaps = snapdir(&volume.path)?;
        let mut list = Vec::new();
        for name in own_snapshots(snaps.names()?.iter().map(|n| n.to_string_lossy().into_owned())) {
            list.extend(snapshot_of(&snaps, &name)?);
        }
        list.sort_by(|a, b| (a.time, &a.name).cmp(&(b.time, &b.name)));
        Ok(list)
    }

    fn create(&self, volume: &Volume, time: i64, _tag: &str) -> Result<crate::snapshot::Snapshot> {
        let snaps = snapdir(&volume.path)?;
        let name = crate::snapshot::gmt_name(time);
        let c = CString::new(name.as_str()).expect("no NUL in a @GMT name");
        // SAFETY: a NUL-terminated name relative to our handle
        if unsafe { libc::mkdirat(snaps.fd().as_raw_fd(), c.as_ptr(), 0o755) } != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EEXIST) {
                return Err(Error::conflict(format!(
                    "{} exists already (one snapshot per second)",
                    snaps.path().join(&name).display()
                )));
            }
            return Err(Error::io("creating CephFS snapshot", &snaps.path().join(&name), e));
        }
        snapshot_of(&snaps, &name)?.ok_or_else(|| {
            Error::system(format!(
                "{} is gone right after it was taken",
                snaps.path().join(&name).display()
            ))
        })
    }

    fn delete(&self, volume: &Volume, snapshot: &crate::snapshot::Snapshot) -> Result<()> {
        let snaps = snapdir(&volume.path)?;
        if snapshot_of(&snaps, &snapshot.name)?.as_ref().map(|s| &s.id) != Some(&snapshot.id) {
            return Err(Error::system(format!(
                "{} is no longer the snapshot the gateway checked; not deleting it",
                snaps.path().join(&snapshot.name).display()
            )));
        }
        snaps.unlink_child(OsStr::new(&snapshot.name), true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_zero_and_absent_mean_none() {
        let p = Path::new("/mnt/pve/cephfs/s");
        assert_eq!(parse_limit(None, p).unwrap(), None);
        assert_eq!(parse_limit(Some("0"), p).unwrap(), None);
        assert_eq!(parse_limit(Some("10485760"), p).unwrap(), Some(10 << 20));
        let err = parse_limit(Some("lots"), p).unwrap_err();
        assert!(err.message.contains("ceph.quota.max_bytes"), "{}", err.message);
        assert_eq!(parse_number("4096\n", RBYTES, p).unwrap(), 4096);
    }

    #[test]
    fn ancestor_snapshots_do_not_count() {
        let names = ["_daily_1099511627776", "s2", "s1"].map(String::from);
        assert_eq!(own_snapshots(names), vec!["s1".to_string(), "s2".to_string()]);
        let msg = snapshot_problem(Path::new("/mnt/c/s"), &["s1".into(), "s2".into()]);
        assert!(msg.contains("/mnt/c/s has CephFS snapshots (s1, s2)"), "{msg}");
        assert!(msg.contains("'rmdir /mnt/c/s/.snap/NAME'"), "{msg}");
    }

    #[test]
    fn a_path_elsewhere_is_not_cephfs() {
        assert!(!answers(Path::new("/")));
        assert!(!answers(Path::new("/nonexistent/x")));
    }
}
