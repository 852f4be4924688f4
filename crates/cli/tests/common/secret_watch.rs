//! A watch over every process's argv and environment for a secret while a test runs: the
//! proof that a password handed to a child program (on stdin, `*_FD=0`) shows up nowhere else.
//! Shared by the CLI's backup test and the gateway's PBS runner test (by path: tests of two
//! crates).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Watches every process's argv and environment for a secret while it runs.
pub struct SecretWatch {
    stop: Arc<AtomicBool>,
    seen: Arc<std::sync::Mutex<Vec<String>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The processes whose command line or environment holds `secret`, by pid and name.
fn holders(secret: &[u8]) -> Vec<String> {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    procs
        .flatten()
        .filter(|p| p.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
        .filter(|p| {
            ["cmdline", "environ"]
                .iter()
                .any(|f| std::fs::read(p.path().join(f)).is_ok_and(|d| d.windows(secret.len()).any(|w| w == secret)))
        })
        .map(|p| {
            let comm = std::fs::read_to_string(p.path().join("comm")).unwrap_or_default();
            format!("{} (pid {})", comm.trim(), p.file_name().to_string_lossy())
        })
        .collect()
}

impl SecretWatch {
    pub fn start(secret: &str) -> SecretWatch {
        let secret = secret.as_bytes().to_vec();
        assert!(
            holders(&secret).is_empty(),
            "the secret is in a process before the watch starts"
        );
        let (stop, seen) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(std::sync::Mutex::new(Vec::new())),
        );
        let (s, found) = (stop.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                found.lock().unwrap().extend(holders(&secret));
            }
        });
        SecretWatch {
            stop,
            seen,
            thread: Some(thread),
        }
    }

    pub fn finish(mut self) -> Vec<String> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap();
        let mut seen = std::mem::take(&mut *self.seen.lock().unwrap());
        seen.dedup();
        seen
    }
}
