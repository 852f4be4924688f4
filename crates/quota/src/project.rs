//! ext4 and XFS project quotas: the share directory gets a project id (its inode number, stable and
//! unique on the filesystem) with the inherit flag, so everything created below it is counted
//! against that project; the limit is set with quotactl. All through syscalls, no quota tools.
//!
//! Not verified on a real kernel in this project's CI: the test machine's kernel has neither
//! ext4 quota formats nor XFS quota. The parsing is unit-tested; the syscalls follow
//! linux/fs.h (struct fsxattr) and linux/quota.h (struct if_dqblk).

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use smbgw_core::{Error, Result};
use smbgw_sys::safe_fs::Dir;
use smbgw_sys::walk;

use crate::Usage;

const FS_XFLAG_PROJINHERIT: u32 = 0x0000_0200;
const PRJQUOTA: i32 = 2;
const Q_GETQUOTA: i32 = 0x80_0007;
const Q_SETQUOTA: i32 = 0x80_0008;
const QIF_BLIMITS: u32 = 1;
const QIF_SPACE: u32 = 4;
/// Quota block limits are in units of 1 KiB (QIF_DQBLKSIZE).
const QUOTA_BLOCK: u64 = 1024;

#[repr(C)]
#[derive(Default)]
struct FsXattr {
    xflags: u32,
    extsize: u32,
    nextents: u32,
    projid: u32,
    cowextsize: u32,
    pad: [u8; 8],
}

#[repr(C)]
#[derive(Default)]
struct IfDqblk {
    bhardlimit: u64,
    bsoftlimit: u64,
    curspace: u64,
    ihardlimit: u64,
    isoftlimit: u64,
    curinodes: u64,
    btime: u64,
    itime: u64,
    valid: u32,
}

nix::ioctl_read!(fs_ioc_fsgetxattr, b'X', 31, FsXattr);
nix::ioctl_write_ptr!(fs_ioc_fssetxattr, b'X', 32, FsXattr);

/// The project id of a share directory.
pub fn project_id(path: &Path) -> Result<u32> {
    let ino = Dir::open(path)?.stat()?.ino;
    u32::try_from(ino)
        .map_err(|_| Error::system(format!("inode number of {} does not fit a project id", path.display())))
}

/// Put `path` and everything below it into project `id`, inheriting to new files. Users write
/// in the tree while this runs: it walks by handles (`smbgw_sys::walk`: no link followed, no
/// other mount entered) and sets the attribute on each opened file or directory.
pub fn assign_project(path: &Path, id: u32) -> Result<()> {
    use std::os::fd::{AsRawFd, BorrowedFd};
    let set = |fd: BorrowedFd<'_>, dir: bool, p: &Path| -> Result<()> {
        let fd = fd.as_raw_fd();
        let mut attr = FsXattr::default();
        unsafe { fs_ioc_fsgetxattr(fd, &mut attr) }
            .map_err(|e| Error::system(format!("FS_IOC_FSGETXATTR on {}: {e}", p.display())))?;
        attr.projid = id;
        if dir {
            attr.xflags |= FS_XFLAG_PROJINHERIT;
        }
        unsafe { fs_ioc_fssetxattr(fd, &attr) }
            .map_err(|e| Error::system(format!("FS_IOC_FSSETXATTR on {}: {e}", p.display())))?;
        Ok(())
    };
    // only files and directories carry a project; links, FIFOs, sockets and devices are skipped
    walk::walk(Dir::open(path)?, &mut |_| {}, &mut |entry| match entry {
        walk::Entry::Dir(d, _) => set(d.fd(), true, d.path()),
        walk::Entry::File(f, _) => set(f.fd(), false, &f.path),
        walk::Entry::Skipped(..) => Ok(()),
    })?;
    Ok(())
}

fn quotactl(cmd: i32, device: &Path, id: u32, data: &mut IfDqblk) -> Result<()> {
    let dev = CString::new(device.as_os_str().as_bytes()).map_err(|_| Error::system("device path contains NUL"))?;
    let qcmd = (cmd << 8) | (PRJQUOTA & 0xff);
    let rc = unsafe { libc::quotactl(qcmd, dev.as_ptr(), id as i32, data as *mut IfDqblk as *mut libc::c_char) };
    if rc != 0 {
        return Err(Error::system(format!(
            "quotactl on {} for project {id} failed: {}; is the filesystem mounted with prjquota?",
            device.display(),
            std::io::Error::last_os_error()
        )));
    }
    Ok(())
}

pub fn set_limit(path: &Path, limit: Option<u64>) -> Result<()> {
    let id = project_id(path)?;
    assign_project(path, id)?;
    let mut dq = IfDqblk {
        bhardlimit: limit.map_or(0, |l| l.div_ceil(QUOTA_BLOCK)),
        valid: QIF_BLIMITS,
        ..Default::default()
    };
    quotactl(Q_SETQUOTA, &mount_device(path)?, id, &mut dq)
}

pub fn usage(path: &Path) -> Result<Usage> {
    let id = project_id(path)?;
    let mut dq = IfDqblk {
        valid: QIF_SPACE | QIF_BLIMITS,
        ..Default::default()
    };
    quotactl(Q_GETQUOTA, &mount_device(path)?, id, &mut dq)?;
    Ok(Usage {
        used: dq.curspace,
        limit: (dq.bhardlimit > 0).then(|| dq.bhardlimit * QUOTA_BLOCK),
    })
}

/// Whether the filesystem holding `path` is mounted with project quota accounting.
pub fn enabled(path: &Path) -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .ok()
        .and_then(|text| mount_options(&text, path))
        .is_some_and(|opts| {
            opts.split(',')
                .any(|o| matches!(o, "prjquota" | "pquota" | "prjjquota" | "pqnoenforce"))
        })
}

/// The super-block options (after the " - type source" part) of the mount holding `path`.
pub fn mount_options(text: &str, path: &Path) -> Option<String> {
    find_mount(text, path).map(|(_, opts)| opts)
}

/// The block device of the filesystem holding `path`, from /proc/self/mountinfo.
pub fn mount_device(path: &Path) -> Result<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| Error::io("reading", Path::new("/proc/self/mountinfo"), e))?;
    device_from_mountinfo(&text, path).ok_or_else(|| Error::system(format!("no mount found for {}", path.display())))
}

/// Longest mount point that contains `path`: its source device.
pub fn device_from_mountinfo(text: &str, path: &Path) -> Option<PathBuf> {
    find_mount(text, path).map(|(dev, _)| dev)
}

/// Longest mount point that contains `path`: (source, super options). After the " - "
/// separator come the filesystem type, the source and the super-block options.
fn find_mount(text: &str, path: &Path) -> Option<(PathBuf, String)> {
    let mut best: Option<(usize, PathBuf, String)> = None;
    for line in text.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let (Some(mount_point), Some(source)) = (left.split(' ').nth(4), right.split(' ').nth(1)) else {
            continue;
        };
        let mount_point = unescape(mount_point);
        if path.starts_with(&mount_point) {
            let depth = Path::new(&mount_point).components().count();
            if best.as_ref().is_none_or(|(d, _, _)| depth >= *d) {
                let opts = right.split(' ').nth(2).unwrap_or("").to_string();
                best = Some((depth, PathBuf::from(unescape(source)), opts));
            }
        }
    }
    best.map(|(_, dev, opts)| (dev, opts))
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

    #[test]
    fn mountinfo_longest_prefix_wins() {
        let text = "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n\
                    40 22 7:0 / /srv/data\\040disk rw,relatime shared:5 - xfs /dev/loop0 rw,prjquota\n";
        assert_eq!(
            device_from_mountinfo(text, Path::new("/srv/data disk/share")),
            Some("/dev/loop0".into())
        );
        assert_eq!(
            device_from_mountinfo(text, Path::new("/srv/other")),
            Some("/dev/vda".into())
        );
    }

    #[test]
    fn struct_layouts_match_the_kernel() {
        assert_eq!(std::mem::size_of::<FsXattr>(), 28);
        assert_eq!(std::mem::size_of::<IfDqblk>(), 72);
    }
}
