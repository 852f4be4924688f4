//! Walking and removing a directory tree that users can write, through handles only: every
//! child is opened relative to its parent's descriptor with O_NOFOLLOW, symbolic links are
//! never followed, and the walk stays on the tree's own mount and filesystem (a mount point,
//! a bind mount or a btrfs subvolume inside is reported, not entered). It is iterative, with an
//! explicit stack of open directories bounded by `MAX_DEPTH`, so a deep tree cannot exhaust
//! the program's stack, and it reports progress every `PROGRESS_EVERY` entries.

use std::ffi::OsString;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::Path;

use crate::safe_fs::{errno, Dir, Handle, Stat};
use crate::{Error, Result};

/// Open directories held at once (one descriptor each): the deepest tree a walk accepts.
pub const MAX_DEPTH: usize = 400;
/// A progress callback runs after this many entries.
pub const PROGRESS_EVERY: u64 = 10_000;

/// Why an entry was not opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// A symbolic link: never followed.
    Link,
    /// A FIFO, socket or device: nothing the gateway changes.
    Special,
    /// Another mount or filesystem (a mount point, a bind mount, a btrfs subvolume).
    OtherMount,
}

pub enum Entry<'a> {
    /// A directory, before its contents.
    Dir(&'a Dir, Stat),
    File(&'a Handle, Stat),
    Skipped(&'a Path, Skip),
}

/// The mount id of a descriptor (statx STATX_MNT_ID): tells a bind mount of the same
/// filesystem apart, which st_dev does not.
pub fn mount_id(fd: BorrowedFd<'_>, path: &Path) -> Result<u64> {
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    let rc = unsafe {
        libc::statx(
            fd.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
            libc::STATX_MNT_ID,
            &mut stx,
        )
    };
    if rc != 0 {
        return Err(Error::io("statx", path, errno()));
    }
    if stx.stx_mask & libc::STATX_MNT_ID == 0 {
        return Ok(0); // kernel before 5.8: st_dev alone decides
    }
    Ok(stx.stx_mnt_id)
}

struct Frame {
    dir: Dir,
    names: Vec<OsString>,
}

/// A directory being walked, with the types readdir gave for its entries.
struct WalkFrame {
    dir: Dir,
    entries: Vec<(OsString, u8)>,
}

/// Where the walk started: entries elsewhere are not entered.
struct Home {
    dev: u64,
    mount: u64,
}

impl Home {
    fn contains(&self, fd: BorrowedFd<'_>, st: &Stat, path: &Path) -> Result<bool> {
        Ok(st.dev == self.dev && mount_id(fd, path)? == self.mount)
    }
}

/// Visit `root` and everything below it on the same mount. `progress` gets the number of
/// entries seen so far, every `PROGRESS_EVERY` entries. Returns the number of entries seen.
pub fn walk(root: Dir, progress: &mut dyn FnMut(u64), visit: &mut dyn FnMut(Entry<'_>) -> Result<()>) -> Result<u64> {
    walk_pruned(root, &|_, _| false, progress, visit)
}

/// [`walk`], leaving out (neither visited nor entered) every entry for which `prune` answers
/// true, given its depth (1 for the root's children) and its name: trees inside the walked one
/// that belong to someone else, such as a share's snapshots.
pub fn walk_pruned(
    root: Dir,
    prune: &dyn Fn(usize, &std::ffi::OsStr) -> bool,
    progress: &mut dyn FnMut(u64),
    visit: &mut dyn FnMut(Entry<'_>) -> Result<()>,
) -> Result<u64> {
    let st = root.stat()?;
    let home = Home {
        dev: st.dev,
        mount: mount_id(root.fd(), root.path())?,
    };
    visit(Entry::Dir(&root, st))?;
    let mut count = 1u64;
    let entries = root.entries()?;
    let mut stack = vec![WalkFrame { dir: root, entries }];
    loop {
        let depth = stack.len();
        let Some(frame) = stack.last_mut() else {
            break;
        };
        let Some((name, d_type)) = frame.entries.pop() else {
            stack.pop();
            continue;
        };
        if prune(depth, &name) {
            continue;
        }
        count += 1;
        if count.is_multiple_of(PROGRESS_EVERY) {
            progress(count);
        }
        let parent = &frame.dir;
        let path = parent.path().join(&name);
        // readdir's type spares a stat for files and directories; the handle opened below is
        // checked again, so a type changed in between is caught there
        let kind = match d_type {
            libc::DT_REG | libc::DT_DIR => None,
            libc::DT_LNK => Some(Skip::Link),
            libc::DT_UNKNOWN => match parent.stat_child(&name)? {
                None => continue,
                Some(st) if st.is_symlink() => Some(Skip::Link),
                Some(st) if st.is_dir() || st.is_file() => None,
                Some(_) => Some(Skip::Special),
            },
            _ => Some(Skip::Special),
        };
        if let Some(skip) = kind {
            visit(Entry::Skipped(&path, skip))?;
            continue;
        }
        // opened without following a link; what is opened is what is changed, whatever the
        // name points to by then
        let Some((handle, st)) = parent.open_entry(&name)? else {
            continue;
        };
        if !home.contains(handle.fd(), &st, &path)? {
            visit(Entry::Skipped(&path, Skip::OtherMount))?;
            continue;
        }
        if st.is_dir() {
            let dir = handle.into_dir();
            visit(Entry::Dir(&dir, st))?;
            if stack.len() >= MAX_DEPTH {
                return Err(Error::system(format!(
                    "{} is more than {MAX_DEPTH} directories deep; the gateway does not walk deeper trees",
                    dir.path().display()
                )));
            }
            let entries = dir.entries()?;
            stack.push(WalkFrame { dir, entries });
        } else {
            visit(Entry::File(&handle, st))?;
        }
    }
    Ok(count)
}

/// What a removal did before it stopped.
#[derive(Debug)]
pub struct Removal {
    /// Entries deleted (files, links, directories).
    pub deleted: u64,
    /// The first few entries deleted, for the message of a failure.
    pub examples: Vec<String>,
    pub error: Option<Error>,
}

/// Delete everything inside `root` (not `root` itself), deepest first, through handles. Stops
/// at the first error (an immutable file, a mount point inside, a race) and says how far it
/// got.
pub fn remove_contents(root: Dir, progress: &mut dyn FnMut(u64)) -> Removal {
    let mut removal = Removal {
        deleted: 0,
        examples: Vec::new(),
        error: None,
    };
    if let Err(e) = remove_inner(root, progress, &mut removal) {
        removal.error = Some(e);
    }
    removal
}

fn remove_inner(root: Dir, progress: &mut dyn FnMut(u64), removal: &mut Removal) -> Result<()> {
    let st = root.stat()?;
    let home = Home {
        dev: st.dev,
        mount: mount_id(root.fd(), root.path())?,
    };
    let mut note = |removal: &mut Removal, path: &Path| {
        removal.deleted += 1;
        if removal.examples.len() < 5 {
            removal.examples.push(path.display().to_string());
        }
        if removal.deleted.is_multiple_of(PROGRESS_EVERY) {
            progress(removal.deleted);
        }
    };
    let names = root.names()?;
    // each frame: a directory, its names left, and its own name in the frame below
    let mut stack: Vec<(Frame, Option<OsString>)> = vec![(Frame { dir: root, names }, None)];
    while let Some((frame, _)) = stack.last_mut() {
        let Some(name) = frame.names.pop() else {
            let (frame, own_name) = stack.pop().unwrap();
            if let (Some(name), Some((parent, _))) = (own_name, stack.last()) {
                let path = frame.dir.path().to_owned();
                drop(frame);
                parent.dir.unlink_child(&name, true)?;
                note(removal, &path);
            }
            continue;
        };
        let dir = &frame.dir;
        let Some(st) = dir.stat_child(&name)? else { continue };
        let path = dir.path().join(&name);
        if st.is_dir() {
            let child = dir.open_child(&name)?;
            let cst = child.stat()?;
            if !home.contains(child.fd(), &cst, &path)? {
                return Err(Error::system(format!(
                    "{} is a mount point or subvolume; not deleting into it",
                    path.display()
                )));
            }
            if stack.len() >= MAX_DEPTH {
                return Err(Error::system(format!(
                    "{} is more than {MAX_DEPTH} directories deep",
                    path.display()
                )));
            }
            let names = child.names()?;
            stack.push((Frame { dir: child, names }, Some(name)));
        } else {
            dir.unlink_child(&name, false)?;
            note(removal, &path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::create_dir_all(p.join("a/b/c")).unwrap();
        std::fs::write(p.join("a/f1"), b"1").unwrap();
        std::fs::write(p.join("a/b/c/f2"), b"2").unwrap();
        std::fs::write(p.join("top"), b"t").unwrap();
        symlink("/etc", p.join("a/link-to-etc")).unwrap();
        nix::unistd::mkfifo(&p.join("fifo"), nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        dir
    }

    #[test]
    fn walks_without_following_links() {
        let dir = tree();
        let (mut dirs, mut files, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
        let rel = |p: &Path| p.strip_prefix(dir.path()).unwrap().display().to_string();
        let count = walk(Dir::open(dir.path()).unwrap(), &mut |_| {}, &mut |e| {
            match e {
                Entry::Dir(d, _) => dirs.push(rel(d.path())),
                Entry::File(f, _) => files.push(rel(&f.path)),
                Entry::Skipped(p, why) => skipped.push((rel(p), why)),
            }
            Ok(())
        })
        .unwrap();
        dirs.sort();
        files.sort();
        skipped.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(dirs, ["", "a", "a/b", "a/b/c"]);
        assert_eq!(files, ["a/b/c/f2", "a/f1", "top"]);
        assert_eq!(
            skipped,
            [
                ("a/link-to-etc".to_string(), Skip::Link),
                ("fifo".to_string(), Skip::Special)
            ]
        );
        assert_eq!(count, 9);
    }

    #[test]
    fn removes_everything_inside_and_counts() {
        let dir = tree();
        let target = std::fs::read_link(dir.path().join("a/link-to-etc")).unwrap();
        let removal = remove_contents(Dir::open(dir.path()).unwrap(), &mut |_| {});
        assert!(removal.error.is_none(), "{:?}", removal.error);
        assert_eq!(removal.deleted, 8);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        assert!(target.is_dir(), "the link's target is untouched");
    }
}
