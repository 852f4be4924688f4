//! Filesystem changes as root on trees other users can write (DESIGN.md §9). A name can be
//! swapped for a symbolic link between any check and any use, so nothing here acts on a path:
//! a directory is opened once, from `/`, without following any symbolic link (openat2 with
//! RESOLVE_NO_SYMLINKS, or component by component with O_NOFOLLOW where the kernel lacks it),
//! and every change (mkdir, chmod, chown, ACLs, flags, unlink) is made through that handle or
//! relative to it.

use std::ffi::{CStr, CString, OsStr, OsString};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Component, Path, PathBuf};

use crate::posix_acl::{Acl, AclKind};
use crate::{Error, Result};

/// FS_IMMUTABLE_FL and FS_APPEND_FL of linux/fs.h: neither root nor anyone can delete such a file.
pub const FS_IMMUTABLE_FL: u32 = 0x0000_0010;
pub const FS_APPEND_FL: u32 = 0x0000_0020;

/// What `fstat` says about a handle, the fields the gateway decides on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u64,
}

impl Stat {
    fn from(st: &libc::stat) -> Self {
        Stat {
            dev: st.st_dev,
            ino: st.st_ino,
            mode: st.st_mode,
            uid: st.st_uid,
            gid: st.st_gid,
            nlink: st.st_nlink,
        }
    }
    pub fn is_dir(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFDIR
    }
    pub fn is_file(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFREG
    }
    pub fn is_symlink(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFLNK
    }
    /// (device, inode): what a handle is, whatever its name is now.
    pub fn identity(&self) -> (u64, u64) {
        (self.dev, self.ino)
    }
}

/// An open directory. `path` is only for messages: it is where the directory was when opened.
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
    path: PathBuf,
}

/// An open file or directory found below a `Dir` (never a symbolic link).
#[derive(Debug)]
pub struct Handle {
    fd: OwnedFd,
    pub path: PathBuf,
}

pub(crate) fn errno() -> std::io::Error {
    std::io::Error::last_os_error()
}

fn cstr(name: &OsStr) -> Result<CString> {
    CString::new(name.as_bytes()).map_err(|_| Error::input(format!("name {name:?} contains a NUL byte")))
}

/// A single path component: no '/', not '.' or '..'.
fn check_component(name: &OsStr) -> Result<()> {
    let b = name.as_bytes();
    if b.is_empty() || b == b"." || b == b".." || b.contains(&b'/') {
        return Err(Error::input(format!("{name:?} is not a single directory entry name")));
    }
    Ok(())
}

const DIR_FLAGS: libc::c_int = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;

/// Whether to try openat2 first. Tests turn it off to exercise the fallback.
static OPENAT2: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Use only per-component openat (as on kernels before 5.6). For tests of the fallback.
pub fn disable_openat2_for_tests() {
    OPENAT2.store(false, std::sync::atomic::Ordering::Relaxed);
}

/// openat2(dirfd, path, flags, resolve). `None` when the kernel (or a seccomp filter) does not
/// offer openat2.
fn openat2(dirfd: RawFd, path: &CStr, flags: libc::c_int, resolve: u64) -> Option<std::io::Result<OwnedFd>> {
    if !OPENAT2.load(std::sync::atomic::Ordering::Relaxed) {
        return None;
    }
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = flags as u64;
    how.resolve = resolve;
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dirfd,
            path.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd >= 0 {
        return Some(Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) }));
    }
    let err = errno();
    match err.raw_os_error() {
        // no openat2 here (old kernel, or a container's seccomp filter): fall back
        Some(libc::ENOSYS) | Some(libc::EPERM) | Some(libc::E2BIG) => None,
        _ => Some(Err(err)),
    }
}

fn openat(dirfd: RawFd, name: &CStr, flags: libc::c_int) -> std::io::Result<OwnedFd> {
    let fd = unsafe { libc::openat(dirfd, name.as_ptr(), flags, 0) };
    if fd < 0 {
        return Err(errno());
    }
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn fstat_fd(fd: BorrowedFd<'_>) -> std::io::Result<Stat> {
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } != 0 {
        return Err(errno());
    }
    Ok(Stat::from(&st))
}

/// Turn an open error on `path` into a message that says why root refused it.
fn open_error(path: &Path, err: std::io::Error) -> Error {
    match err.raw_os_error() {
        Some(libc::ELOOP) | Some(libc::EXDEV) => Error::system(format!(
            "{} goes through a symbolic link (or was swapped for one while being opened); the gateway does not follow links as root",
            path.display()
        )),
        // O_DIRECTORY|O_NOFOLLOW on a link gives ENOTDIR
        Some(libc::ENOTDIR) => Error::system(format!(
            "{} is a symbolic link or not a directory (or a part of it is); the gateway does not follow links as root",
            path.display()
        )),
        _ => Error::io("opening", path, err),
    }
}

impl Dir {
    /// Open the absolute directory `path` from `/`, refusing any symbolic link on the way.
    pub fn open(path: &Path) -> Result<Dir> {
        match Self::open_optional(path)? {
            Some(dir) => Ok(dir),
            None => Err(Error::system(format!("{} does not exist", path.display()))),
        }
    }

    /// `open`, or `None` if the directory (or a parent) does not exist.
    pub fn open_optional(path: &Path) -> Result<Option<Dir>> {
        if !path.is_absolute() {
            return Err(Error::input(format!("{} is not an absolute path", path.display())));
        }
        let c = cstr(path.as_os_str())?;
        match openat2(libc::AT_FDCWD, &c, DIR_FLAGS, libc::RESOLVE_NO_SYMLINKS) {
            Some(Ok(fd)) => return Ok(Some(Dir::from_fd(fd, path.to_owned()))),
            Some(Err(e)) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(None),
            Some(Err(e)) => return Err(open_error(path, e)),
            None => {}
        }
        let root = openat(libc::AT_FDCWD, c"/", DIR_FLAGS).map_err(|e| Error::io("opening", Path::new("/"), e))?;
        let mut dir = Dir::from_fd(root, PathBuf::from("/"));
        for component in path.components() {
            match component {
                Component::RootDir => {}
                Component::Normal(name) => match dir.open_child_optional(name)? {
                    Some(next) => dir = next,
                    None => return Ok(None),
                },
                _ => {
                    return Err(Error::input(format!(
                        "{} is not a normalised path (no '.' or '..')",
                        path.display()
                    )))
                }
            }
        }
        Ok(Some(dir))
    }

    fn from_fd(fd: OwnedFd, path: PathBuf) -> Dir {
        Dir { fd, path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A second handle on the same directory (dup): what it refers to cannot change.
    pub fn try_clone(&self) -> Result<Dir> {
        let fd = self.fd.try_clone().map_err(|e| Error::io("dup", &self.path, e))?;
        Ok(Dir::from_fd(fd, self.path.clone()))
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The entry `name` of this directory as a directory, not following a link.
    pub fn open_child(&self, name: &OsStr) -> Result<Dir> {
        self.open_child_optional(name)?
            .ok_or_else(|| Error::system(format!("{} does not exist", self.path.join(name).display())))
    }

    /// `open_child`, `None` if there is no such entry.
    pub fn open_child_optional(&self, name: &OsStr) -> Result<Option<Dir>> {
        check_component(name)?;
        let path = self.path.join(name);
        let c = cstr(name)?;
        let opened = match openat2(
            self.fd.as_raw_fd(),
            &c,
            DIR_FLAGS,
            libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_BENEATH,
        ) {
            Some(r) => r,
            None => openat(self.fd.as_raw_fd(), &c, DIR_FLAGS),
        };
        match opened {
            Ok(fd) => Ok(Some(Dir::from_fd(fd, path))),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(open_error(&path, e)),
        }
    }

    /// The entry `name` as a regular file or directory handle (read-only, never a link, a FIFO
    /// or a device: opening those could block or have side effects). `None` if it is gone or
    /// of another type.
    pub fn open_entry(&self, name: &OsStr) -> Result<Option<(Handle, Stat)>> {
        check_component(name)?;
        let c = cstr(name)?;
        let path = self.path.join(name);
        let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;
        match openat(self.fd.as_raw_fd(), &c, flags) {
            Ok(fd) => {
                let st = fstat_fd(fd.as_fd()).map_err(|e| Error::io("stat", &path, e))?;
                if st.is_dir() || st.is_file() {
                    Ok(Some((Handle { fd, path }, st)))
                } else {
                    Ok(None)
                }
            }
            // a symbolic link (O_NOFOLLOW), gone, or a FIFO nobody writes to
            Err(e) if matches!(e.raw_os_error(), Some(libc::ELOOP | libc::ENOENT | libc::ENXIO)) => Ok(None),
            Err(e) => Err(Error::io("opening", &path, e)),
        }
    }

    /// lstat of an entry, relative to this directory.
    pub fn stat_child(&self, name: &OsStr) -> Result<Option<Stat>> {
        check_component(name)?;
        let c = cstr(name)?;
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        if unsafe { libc::fstatat(self.fd.as_raw_fd(), c.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) } != 0 {
            let e = errno();
            if e.raw_os_error() == Some(libc::ENOENT) {
                return Ok(None);
            }
            return Err(Error::io("stat", &self.path.join(name), e));
        }
        Ok(Some(Stat::from(&st)))
    }

    /// Create the directory `name` here and open it. The new directory is checked to be the
    /// one this call made (a directory owned by us, still empty, with the mode we gave it),
    /// not something the owner of this directory put in its place in between.
    pub fn mkdir_child(&self, name: &OsStr, mode: u32) -> Result<Dir> {
        check_component(name)?;
        let c = cstr(name)?;
        let path = self.path.join(name);
        // 0700 until it is verified: nobody else can use it in between (a new directory has
        // 2 links, 1 on btrfs; more would mean subdirectories: not ours)
        if unsafe { libc::mkdirat(self.fd.as_raw_fd(), c.as_ptr(), 0o700) } != 0 {
            return Err(Error::io("creating directory", &path, errno()));
        }
        let dir = self.open_child(name).map_err(|e| {
            Error::system(format!(
                "{} was replaced right after it was created ({e}); not using it",
                path.display()
            ))
        })?;
        let st = dir.stat()?;
        let me = unsafe { libc::geteuid() };
        if st.uid != me || st.mode & 0o7777 != 0o700 & !current_umask() || st.nlink > 2 {
            return Err(Error::system(format!(
                "{} was replaced right after it was created (owner {}, mode {:04o}); not using it",
                path.display(),
                st.uid,
                st.mode & 0o7777
            )));
        }
        dir.chmod(mode)?;
        Ok(dir)
    }

    pub fn stat(&self) -> Result<Stat> {
        fstat_fd(self.fd.as_fd()).map_err(|e| Error::io("stat", &self.path, e))
    }

    pub fn chmod(&self, mode: u32) -> Result<()> {
        fchmod(self.fd.as_fd(), mode, &self.path)
    }

    pub fn chown(&self, uid: Option<u32>, gid: Option<u32>) -> Result<()> {
        let (u, g) = (uid.unwrap_or(u32::MAX), gid.unwrap_or(u32::MAX));
        if unsafe { libc::fchown(self.fd.as_raw_fd(), u, g) } != 0 {
            return Err(Error::io("chown", &self.path, errno()));
        }
        Ok(())
    }

    pub fn acl(&self, kind: AclKind) -> Result<Option<Acl>> {
        crate::posix_acl::get(self.fd.as_fd(), kind, &self.path)
    }

    pub fn set_acl(&self, kind: AclKind, acl: &Acl) -> Result<()> {
        crate::posix_acl::set(self.fd.as_fd(), kind, acl, &self.path)
    }

    pub fn remove_acl(&self, kind: AclKind) -> Result<()> {
        crate::posix_acl::remove(self.fd.as_fd(), kind, &self.path)
    }

    pub fn flags(&self) -> Result<u32> {
        get_flags(self.fd.as_fd(), &self.path)
    }

    /// The names in this directory (without `.` and `..`), read through the handle.
    pub fn names(&self) -> Result<Vec<OsString>> {
        Ok(self.entries()?.into_iter().map(|(name, _)| name).collect())
    }

    /// The names with the type readdir reports (`libc::DT_*`; DT_UNKNOWN on filesystems that
    /// do not say). Only a hint: the entry may change before it is opened.
    pub fn entries(&self) -> Result<Vec<(OsString, u8)>> {
        let fd = openat(self.fd.as_raw_fd(), c".", DIR_FLAGS).map_err(|e| Error::io("opening", &self.path, e))?;
        let raw = fd.as_raw_fd();
        let dirp = unsafe { libc::fdopendir(raw) };
        if dirp.is_null() {
            return Err(Error::io("reading", &self.path, errno()));
        }
        // the DIR stream owns the descriptor now
        std::mem::forget(fd);
        let mut names = Vec::new();
        let result = loop {
            unsafe { *libc::__errno_location() = 0 };
            let entry = unsafe { libc::readdir64(dirp) };
            if entry.is_null() {
                let e = errno();
                break if e.raw_os_error().unwrap_or(0) == 0 {
                    Ok(())
                } else {
                    Err(Error::io("reading", &self.path, e))
                };
            }
            let name = unsafe { CStr::from_ptr((*entry).d_name.as_ptr()) }.to_bytes();
            if name != b"." && name != b".." {
                names.push((OsString::from_vec(name.to_vec()), unsafe { (*entry).d_type }));
            }
        };
        unsafe { libc::closedir(dirp) };
        result.map(|()| names)
    }

    /// Remove the entry `name` (a file, a link, or an empty directory with `dir`).
    pub fn unlink_child(&self, name: &OsStr, dir: bool) -> Result<()> {
        check_component(name)?;
        let c = cstr(name)?;
        let flag = if dir { libc::AT_REMOVEDIR } else { 0 };
        if unsafe { libc::unlinkat(self.fd.as_raw_fd(), c.as_ptr(), flag) } != 0 {
            return Err(Error::io("deleting", &self.path.join(name), errno()));
        }
        Ok(())
    }

    /// Remove the empty directory `name` only if it still is the one with `identity`.
    pub fn remove_empty_child(&self, name: &OsStr, identity: (u64, u64)) -> Result<bool> {
        match self.stat_child(name)? {
            Some(st) if st.is_dir() && st.identity() == identity => {
                self.unlink_child(name, true)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

impl Handle {
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
    pub fn acl(&self, kind: AclKind) -> Result<Option<Acl>> {
        crate::posix_acl::get(self.fd.as_fd(), kind, &self.path)
    }
    pub fn set_acl(&self, kind: AclKind, acl: &Acl) -> Result<()> {
        crate::posix_acl::set(self.fd.as_fd(), kind, acl, &self.path)
    }
    pub fn flags(&self) -> Result<u32> {
        get_flags(self.fd.as_fd(), &self.path)
    }
    /// This handle as a directory (it must be one).
    pub fn into_dir(self) -> Dir {
        Dir::from_fd(self.fd, self.path)
    }
}

fn fchmod(fd: BorrowedFd<'_>, mode: u32, path: &Path) -> Result<()> {
    if unsafe { libc::fchmod(fd.as_raw_fd(), mode as libc::mode_t) } != 0 {
        return Err(Error::io("chmod", path, errno()));
    }
    Ok(())
}

/// FS_IOC_GETFLAGS (chattr's flags). Filesystems without them (tmpfs before 6.0, ...) have none.
fn get_flags(fd: BorrowedFd<'_>, path: &Path) -> Result<u32> {
    let mut flags: libc::c_long = 0;
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut flags) } != 0 {
        let e = errno();
        if matches!(e.raw_os_error(), Some(libc::ENOTTY | libc::EOPNOTSUPP | libc::EINVAL)) {
            return Ok(0);
        }
        return Err(Error::io("reading the flags of", path, e));
    }
    Ok(flags as u32)
}

fn current_umask() -> u32 {
    // umask can only be read by setting it; set it back at once
    let old = unsafe { libc::umask(0o022) };
    unsafe { libc::umask(old) };
    old
}

/// A directory `create_dir_all` made: where, and its (device, inode).
pub type Created = (PathBuf, (u64, u64));

/// Split an absolute path into its parent (opened safely) and its last component.
pub fn open_parent(path: &Path) -> Result<(Dir, OsString)> {
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(Error::input(format!("{} has no parent directory", path.display())));
    };
    Ok((Dir::open(parent)?, name.to_owned()))
}

/// Create `path` and its missing parents through handles, each new directory with `mode`
/// (the parents with `parent_mode`). Returns the handle of `path` and the directories created,
/// outermost first, with their identities (for an undo that removes exactly those).
pub fn create_dir_all(path: &Path, mode: u32, parent_mode: u32) -> Result<(Dir, Vec<Created>)> {
    if !path.is_absolute() {
        return Err(Error::input(format!("{} is not an absolute path", path.display())));
    }
    let mut names: Vec<&OsStr> = Vec::new();
    for c in path.components() {
        match c {
            Component::RootDir => {}
            Component::Normal(n) => names.push(n),
            _ => return Err(Error::input(format!("{} is not a normalised path", path.display()))),
        }
    }
    let mut dir = Dir::open(Path::new("/"))?;
    let mut created = Vec::new();
    let last = names.len().saturating_sub(1);
    for (i, name) in names.iter().enumerate() {
        dir = match dir.open_child_optional(name)? {
            Some(d) => d,
            None => {
                let d = dir.mkdir_child(name, if i == last { mode } else { parent_mode })?;
                created.push((d.path().to_owned(), d.stat()?.identity()));
                d
            }
        };
    }
    Ok((dir, created))
}

/// Undo `create_dir_all`: remove the directories it created, innermost first, while each is
/// still empty and still the one created.
pub fn remove_created(created: &[Created]) -> Result<()> {
    for (path, identity) in created.iter().rev() {
        let (parent, name) = match open_parent(path) {
            Ok(p) => p,
            Err(_) => continue,
        };
        // only empty directories: never delete data a client already wrote
        let _ = parent.remove_empty_child(&name, *identity);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};

    #[test]
    fn open_refuses_symlinks_anywhere_with_and_without_openat2() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir_all(real.join("sub")).unwrap();
        symlink(&real, dir.path().join("link")).unwrap();
        for round in 0..2 {
            if round == 1 {
                disable_openat2_for_tests();
            }
            assert!(Dir::open(&real.join("sub")).is_ok());
            let err = Dir::open(&dir.path().join("link/sub")).unwrap_err();
            assert!(err.message.contains("symbolic link"), "{err}");
            let err = Dir::open(&dir.path().join("link")).unwrap_err();
            assert!(err.message.contains("symbolic link"), "{err}");
            assert!(Dir::open_optional(&dir.path().join("missing/x")).unwrap().is_none());
            let top = Dir::open(dir.path()).unwrap();
            assert!(top.open_child(OsStr::new("link")).is_err());
            assert!(top.open_child(OsStr::new("..")).is_err());
        }
        OPENAT2.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    #[test]
    fn create_dir_all_and_undo() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a/b/c");
        let (handle, created) = create_dir_all(&target, 0o1777, 0o755).unwrap();
        assert_eq!(created.len(), 3);
        assert_eq!(handle.stat().unwrap().mode & 0o7777, 0o1777);
        assert_eq!(
            std::fs::metadata(&target).unwrap().permissions().mode() & 0o7777,
            0o1777
        );
        assert_eq!(
            std::fs::metadata(dir.path().join("a")).unwrap().permissions().mode() & 0o7777,
            0o755
        );
        std::fs::write(dir.path().join("a/b/keep"), b"x").unwrap();
        remove_created(&created).unwrap();
        // c was empty and removed; b holds a client's file and stays, so does a
        assert!(!target.exists());
        assert!(dir.path().join("a/b/keep").exists());
    }

    #[test]
    fn mkdir_child_gives_a_handle_on_the_new_directory() {
        let dir = tempfile::tempdir().unwrap();
        let top = Dir::open(dir.path()).unwrap();
        let new = top.mkdir_child(OsStr::new("n"), 0o750).unwrap();
        let meta = std::fs::metadata(dir.path().join("n")).unwrap();
        assert_eq!((meta.dev(), meta.ino()), new.stat().unwrap().identity());
        assert!(top.mkdir_child(OsStr::new("n"), 0o750).is_err(), "exists already");
        let mut names = top.names().unwrap();
        names.sort();
        assert_eq!(names, [OsString::from("n")]);
    }
}
