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
