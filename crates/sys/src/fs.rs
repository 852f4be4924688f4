//! Atomic file writes: write a temporary file beside the target, fsync, rename, fsync the
//! directory. A reader sees either the old or the new content, never a mix.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind as IoKind, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::{Error, Result};

/// Replace `path` with `data`, created with `mode` (e.g. 0o644, or 0o600 for secrets), durably.
pub fn atomic_write(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    write_replace(path, data, mode, true)
}

/// The same without fsync: readers still see the old or the new content, never a mix, but a
/// crash may lose the write. For derived files that `apply` can always rebuild (generated Samba
/// config): a thousand fsyncs would dominate an apply.
pub fn atomic_write_derived(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    write_replace(path, data, mode, false)
}

fn write_replace(path: &Path, data: &[u8], mode: u32, durable: bool) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| Error::system(format!("not a file path: {}", path.display())))?;
    let tmp = dir.join(format!(".{}.tmp.{}", name.to_string_lossy(), std::process::id()));

    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)
            .map_err(|e| Error::io("creating", &tmp, e))?;
        // the umask may have narrowed the mode; secrets must never end up wider than asked
        file.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io("chmod", &tmp, e))?;
        file.write_all(data).map_err(|e| Error::io("writing", &tmp, e))?;
        if durable {
            file.sync_all().map_err(|e| Error::io("syncing", &tmp, e))?;
        }
        fs::rename(&tmp, path).map_err(|e| Error::io("renaming into", path, e))?;
        if durable {
            sync_dir(dir)?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Read a file, `None` if it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(data) => Ok(Some(data)),
        Err(e) if e.kind() == IoKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("reading", path, e)),
    }
}

/// Restore a file to a previous state: `Some(content)` is written back, `None` removes it.
pub fn restore(path: &Path, previous: Option<&[u8]>, mode: u32) -> Result<()> {
    match previous {
        Some(data) => atomic_write(path, data, mode),
        None => remove_if_exists(path),
    }
}

pub fn remove_if_exists(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == IoKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("removing", path, e)),
    }
}

pub fn create_dir_all(path: &Path, mode: u32) -> Result<()> {
    if path.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(path)
        .map_err(|e| Error::io("creating directory", path, e))
}

fn sync_dir(dir: &Path) -> Result<()> {
    // Some filesystems (pmxcfs among them) refuse fsync on directories; the rename is done anyway.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

use std::os::unix::fs::DirBuilderExt;

/// The temporary files `atomic_write` left in `dir` when its process died before the rename
/// (`.NAME.tmp.PID` of a PID that no longer runs). Live writers' files are never listed.
pub fn stale_tmp_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut stale: Vec<_> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some((stem, pid)) = name.rsplit_once(".tmp.") else {
                return false;
            };
            stem.starts_with('.') && pid.parse::<i32>().is_ok_and(|pid| !pid_alive(pid))
        })
        .map(|e| e.path())
        .collect();
    stale.sort();
    stale
}

/// Whether a process with this id runs (EPERM: it runs, as another user).
pub fn pid_alive(pid: i32) -> bool {
    use nix::errno::Errno;
    pid > 0
        && !matches!(
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None),
            Err(Errno::ESRCH)
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_sets_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        atomic_write(&p, b"one", 0o600).unwrap();
        atomic_write(&p, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        // no temporary file left behind
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn stale_tmp_files_are_those_of_dead_processes() {
        let dir = tempfile::tempdir().unwrap();
        // pid_max is at most 2^22: this pid cannot run
        let dead = dir.path().join(".shares.cfg.tmp.9999999");
        let live = dir.path().join(format!(".shares.cfg.tmp.{}", std::process::id()));
        for p in [
            &dead,
            &live,
            &dir.path().join("shares.cfg"),
            &dir.path().join("x.tmp.9999999"),
        ] {
            fs::write(p, b"x").unwrap();
        }
        assert_eq!(stale_tmp_files(dir.path()), [dead]);
        assert!(pid_alive(std::process::id() as i32));
    }

    #[test]
    fn restore_none_removes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        atomic_write(&p, b"x", 0o644).unwrap();
        restore(&p, None, 0o644).unwrap();
        assert!(read_optional(&p).unwrap().is_none());
    }
}
