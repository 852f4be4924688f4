//! The mount table as the kernel reports it (`/proc/self/mountinfo`, proc(5)): which filesystem
//! holds a path, and what is mounted exactly at one. The gateway asks whether a PVE storage is
//! mounted (crates/gateway/src/pve_storage.rs), e.g. a CephFS by the kernel (`ceph`) or by
//! ceph-fuse (`fuse.ceph-fuse`); the project quota backend (crates/quota/src/project.rs) asks for
//! the device and the options of the mount holding a share.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

pub const MOUNTINFO: &str = "/proc/self/mountinfo";

/// One line of mountinfo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    pub mount_point: PathBuf,
    /// Filesystem type, with its subtype (`fuse.ceph-fuse`).
    pub fstype: String,
    /// The mount source (a device, `ceph-fuse`, `10.0.0.1:/sub`).
    pub source: String,
    /// Super-block options.
    pub options: String,
}

/// The mounts of this process's namespace, in mount order.
pub fn read() -> Result<Vec<Mount>> {
    let text = std::fs::read_to_string(MOUNTINFO).map_err(|e| Error::io("reading", Path::new(MOUNTINFO), e))?;
    Ok(parse(&text))
}

/// Every mount of a mountinfo text, in its order. Lines that are none are skipped: the kernel
/// writes the file, so a line we cannot read is a format we do not know, not bad input.
pub fn parse(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            // ID PARENT MAJ:MIN ROOT MOUNT-POINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER-OPTIONS
            let (left, right) = line.split_once(" - ")?;
            let mount_point = left.split(' ').nth(4)?;
            let mut right = right.split(' ');
            let (fstype, source) = (right.next()?, right.next()?);
            Some(Mount {
                mount_point: PathBuf::from(unescape(mount_point)),
                fstype: unescape(fstype),
                source: unescape(source),
                options: right.next().unwrap_or("").to_string(),
            })
        })
        .collect()
}

/// The mount holding `path`: the longest mount point above it; of mounts stacked on one point,
/// the last (the one on top).
pub fn containing<'a>(mounts: &'a [Mount], path: &Path) -> Option<&'a Mount> {
    let mut best: Option<(usize, &Mount)> = None;
    for m in mounts.iter().filter(|m| path.starts_with(&m.mount_point)) {
        let depth = m.mount_point.components().count();
        if best.is_none_or(|(d, _)| depth >= d) {
            best = Some((depth, m));
        }
    }
    best.map(|(_, m)| m)
}

/// The mount on top of exactly `path`, if something is mounted there.
pub fn at<'a>(mounts: &'a [Mount], path: &Path) -> Option<&'a Mount> {
    mounts.iter().rev().find(|m| m.mount_point == path)
}

/// mountinfo escapes space, tab, newline and backslash as octal (\040 ...).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 3 < bytes.len() && bytes[i + 1..i + 4].iter().all(|b| (b'0'..=b'7').contains(b)) {
            out.push(u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 4]).unwrap(), 8).unwrap_or(b'?'));
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n\
        40 22 7:0 / /srv/data\\040disk rw,relatime shared:5 - xfs /dev/loop0 rw,prjquota\n\
        61 22 0:52 / /mnt/pve/cephfs rw,relatime shared:30 - ceph 10.0.0.1,10.0.0.2:/ rw,name=admin\n\
        75 22 0:60 / /tmp/cephlab/mnt/n1 rw,nosuid,nodev,relatime shared:40 - fuse.ceph-fuse ceph-fuse rw,user_id=0\n\
        76 75 0:61 / /tmp/cephlab/mnt/n1 rw shared:41 - tmpfs tmpfs rw\n";

    #[test]
    fn longest_mount_point_wins_and_escapes_are_read() {
        let mounts = parse(TABLE);
        assert_eq!(mounts.len(), 5);
        let m = containing(&mounts, Path::new("/srv/data disk/share")).unwrap();
        assert_eq!((m.source.as_str(), m.options.as_str()), ("/dev/loop0", "rw,prjquota"));
        assert_eq!(containing(&mounts, Path::new("/srv/other")).unwrap().source, "/dev/vda");
        // "/srv/data diskette" is not under "/srv/data disk"
        assert_eq!(
            containing(&mounts, Path::new("/srv/data diskette")).unwrap().source,
            "/dev/vda"
        );
    }

    #[test]
    fn the_mount_on_top_is_the_one_seen() {
        let mounts = parse(TABLE);
        assert_eq!(at(&mounts, Path::new("/mnt/pve/cephfs")).unwrap().fstype, "ceph");
        // something mounted over the ceph-fuse mount hides it
        assert_eq!(at(&mounts, Path::new("/tmp/cephlab/mnt/n1")).unwrap().fstype, "tmpfs");
        assert_eq!(
            containing(&mounts, Path::new("/tmp/cephlab/mnt/n1/x")).unwrap().fstype,
            "tmpfs"
        );
        assert!(at(&mounts, Path::new("/mnt/pve")).is_none());
    }
}
