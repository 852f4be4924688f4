//! ext4 and XFS project quotas: the share directory gets a project id (its inode number, stable and
//! unique on the filesystem) with the inherit flag, so everything created below it is counted
//! against that project; the limit is set with quotactl. All through syscalls, no quota tools.
//!
//! Not verified on a real kernel in this project's CI: the test machine's kernel has neither
//! ext4 quota formats nor XFS quota. The parsing is unit-tested; the syscalls follow
//! linux/fs.h (struct fsxattr) and linux/quota.h (struct if_dqblk). `Project` is its
//! `backend::StorageBackend`.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use smbgw_core::size::format_size;
use smbgw_core::{bail_input, Error, QuotaBackend, Result};
use smbgw_sys::mounts;
use smbgw_sys::safe_fs::Dir;
use smbgw_sys::walk;

use crate::backend::{FsFacts, StorageBackend, Volume};
use crate::{Filesystem, Usage};

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
    mounts::read().ok().is_some_and(|table| {
        mounts::containing(&table, path).is_some_and(|m| {
            m.options
                .split(',')
                .any(|o| matches!(o, "prjquota" | "pquota" | "prjjquota" | "pqnoenforce"))
        })
    })
}

/// The block device of the filesystem holding `path` (what `quotactl` names).
pub fn mount_device(path: &Path) -> Result<PathBuf> {
    let table = mounts::read()?;
    mounts::containing(&table, path)
        .map(|m| PathBuf::from(&m.source))
        .ok_or_else(|| Error::system(format!("no mount found for {}", path.display())))
}

/// The project-quota backend (ext4, XFS): the share directory is the volume.
pub struct Project;

impl Project {
    /// Whether the filesystem with `facts` can carry project quotas at all.
    pub fn supports(facts: &FsFacts) -> bool {
        matches!(facts.magic, crate::EXT4_MAGIC | crate::XFS_MAGIC)
    }
}

impl StorageBackend for Project {
    fn kind(&self) -> QuotaBackend {
        QuotaBackend::Project
    }

    fn detects(&self, facts: &FsFacts) -> bool {
        Self::supports(facts)
    }

    fn check_filesystem(&self, fs: &Filesystem, path: &Path) -> Result<()> {
        if !fs.project_quotas {
            bail_input!(
                "{} is on {} mounted without project quotas; remount it with the option prjquota (ext4 also needs the 'project' and 'quota' features), or put the share on btrfs or ZFS",
                path.display(),
                fs.name
            );
        }
        Ok(())
    }

    fn usage(&self, volume: &Volume) -> Result<Usage> {
        usage(&volume.path)
    }

    fn set_limit(&self, volume: &Volume, limit: Option<u64>) -> Result<()> {
        set_limit(&volume.path, limit)
    }

    fn describe_limit(&self, volume: &Volume, limit: Option<u64>) -> String {
        format!(
            "set the project quota of {} to {}",
            volume.path.display(),
            limit.map_or("no limit".to_string(), format_size)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struct_layouts_match_the_kernel() {
        assert_eq!(std::mem::size_of::<FsXattr>(), 28);
        assert_eq!(std::mem::size_of::<IfDqblk>(), 72);
    }
}
