//! Exclusive advisory locks (flock) so concurrent CLI, API and daemon calls never lose an update.
//! The lock is released when the guard is dropped or the process dies.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};

use crate::{Error, Result};

pub struct LockGuard {
    _lock: Flock<File>,
}

/// What `Store::lock` and friends hand out: a node-local or a cluster-wide lock.
pub enum Guard {
    Local(LockGuard),
    Cluster(ClusterLock),
}

/// Take an exclusive lock on `path` (created if missing), waiting up to `timeout`.
pub fn lock_file(path: &Path, timeout: Duration) -> Result<LockGuard> {
    let deadline = Instant::now() + timeout;
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io("opening lock file", path, e))?;
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => return Ok(LockGuard { _lock: lock }),
            Err((f, nix::errno::Errno::EWOULDBLOCK)) | Err((f, nix::errno::Errno::EINTR)) => {
                if Instant::now() >= deadline {
                    return Err(Error::system(format!(
                        "could not lock '{}' within {} s: another pve-smbgateway operation is running",
                        path.display(),
                        timeout.as_secs()
                    )));
                }
                file = f;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err((_, e)) => return Err(Error::system(format!("locking '{}' failed: {e}", path.display()))),
        }
    }
}

/// A lock in the Proxmox cluster filesystem, taken the way PVE's `cfs_lock` takes it: creating
/// the directory `<lockdir>/<id>` is atomic cluster-wide. While waiting, the directory's times are
/// reset to 0, which asks pmxcfs to expire a stale lock (pmxcfs drops locks older than 120 s).
pub struct ClusterLock {
    path: std::path::PathBuf,
}

impl ClusterLock {
    pub fn acquire(lockdir: &Path, id: &str, timeout: Duration) -> Result<Self> {
        let _ = std::fs::create_dir(lockdir);
        if !lockdir.is_dir() {
            return Err(Error::system(format!(
                "pve cluster filesystem not online: {} is missing",
                lockdir.display()
            )));
        }
        let path = lockdir.join(id);
        let deadline = Instant::now() + timeout;
        loop {
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(Self { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if Instant::now() >= deadline {
                        return Err(Error::system(format!(
                            "could not get the cluster lock '{id}' within {} s: another operation holds it (or the cluster has no quorum)",
                            timeout.as_secs()
                        )));
                    }
                    let _ = nix::sys::stat::utimes(
                        &path,
                        &nix::sys::time::TimeVal::new(0, 0),
                        &nix::sys::time::TimeVal::new(0, 0),
                    );
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => return Err(Error::io("taking the cluster lock", &path, e)),
            }
        }
    }
}

impl Drop for ClusterLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_lock_excludes_and_releases() {
        let dir = tempfile::tempdir().unwrap();
        let lockdir = dir.path().join("lock");
        let first = ClusterLock::acquire(&lockdir, "x", Duration::from_secs(1)).unwrap();
        let err = ClusterLock::acquire(&lockdir, "x", Duration::from_millis(300))
            .err()
            .unwrap();
        assert!(err.message.contains("cluster lock 'x'"), "{}", err.message);
        drop(first);
        ClusterLock::acquire(&lockdir, "x", Duration::from_millis(300)).unwrap();
    }

    #[test]
    fn file_lock_times_out_while_held() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l");
        let _held = lock_file(&path, Duration::from_secs(1)).unwrap();
        assert!(lock_file(&path, Duration::from_millis(100)).is_err());
    }
}
