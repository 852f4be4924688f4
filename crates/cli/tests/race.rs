//! Races between root and an unprivileged user who owns the directory a share lives in: a
//! helper process running as `nobody` swaps the share's directory for a symbolic link to a
//! root-owned victim while the CLI works on it. Whatever the CLI reports, the victim's owner,
//! mode and ACLs must stay as they were, over many tries.

mod common;

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use common::Sandbox;
use nix::libc;

const NOBODY: u32 = 65534;

/// Owner, group, mode and both ACL xattrs of `path` (not following a link).
fn fingerprint(path: &Path) -> (u32, u32, u32, Option<Vec<u8>>, Option<Vec<u8>>) {
    let meta = std::fs::symlink_metadata(path).unwrap();
    let xattr = |name: &str| {
        let c = CString::new(path.as_os_str().as_bytes()).unwrap();
        let n = CString::new(name).unwrap();
        let mut buf = vec![0u8; 4096];
        let len = unsafe { libc::lgetxattr(c.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        (len >= 0).then(|| buf[..len as usize].to_vec())
    };
    (
        meta.uid(),
        meta.gid(),
        meta.mode(),
        xattr("system.posix_acl_access"),
        xattr("system.posix_acl_default"),
    )
}

/// A child process that drops to `nobody` and runs `body` (raw syscalls only: it is forked
/// from a threaded test process) until killed.
struct Helper(libc::pid_t);

impl Helper {
    fn spawn(body: impl Fn()) -> Helper {
        match unsafe { libc::fork() } {
            0 => unsafe {
                if libc::setgroups(0, std::ptr::null()) != 0 || libc::setgid(NOBODY) != 0 || libc::setuid(NOBODY) != 0 {
                    libc::_exit(3);
                }
                loop {
                    body();
                }
            },
            pid if pid > 0 => Helper(pid),
            _ => panic!("fork failed"),
        }
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        unsafe {
            libc::kill(self.0, libc::SIGKILL);
            libc::waitpid(self.0, std::ptr::null_mut(), 0);
        }
    }
}

fn c(path: &Path) -> CString {
    CString::new(path.as_os_str().as_bytes()).unwrap()
}

/// A directory owned by nobody, where the helper may rename and plant links.
fn nobody_parent(sb: &Sandbox) -> std::path::PathBuf {
    let parent = sb.dir.path().join("parent");
    std::fs::create_dir(&parent).unwrap();
    std::os::unix::fs::chown(&parent, Some(NOBODY), Some(NOBODY)).unwrap();
    std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o755)).unwrap();
    parent
}

fn tries() -> usize {
    std::env::var("SMBGW_RACE_TRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

/// mkdir → chmod in `create`: as soon as the new directory appears, nobody renames it away and
/// puts a link to a root-owned file in its place.
#[test]
fn create_never_chmods_a_planted_link_target() {
    let mut sb = Sandbox::new();
    // strace stops the CLI at every system call (not its children: smbd stays running), as
    // a loaded machine would pause it: the window between creating the directory and using it
    // grows from microseconds to a fraction of a millisecond, and the helper wins often. The
    // outcome must not depend on that timing.
    sb.wrapper = ["strace", "-qq", "-o", "/dev/null", "-e", "trace=mkdir,mkdirat"]
        .map(String::from)
        .to_vec();
    let parent = nobody_parent(&sb);
    let victim = sb.write_local("victim", b"root only\n");
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
    let before = fingerprint(&victim);
    let nd = parent.join("nd");
    let (nd_c, moved_c, victim_c) = (c(&nd), c(&parent.join("moved")), c(&victim));
    let helper = Helper::spawn(|| unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::lstat(nd_c.as_ptr(), &mut st) == 0 && st.st_mode & libc::S_IFMT == libc::S_IFDIR {
            // a directory root just made: swap it for a link to the victim
            libc::rename(nd_c.as_ptr(), moved_c.as_ptr());
            libc::symlink(victim_c.as_ptr(), nd_c.as_ptr());
        }
    });
    let (mut refused, mut created) = (0, 0);
    for i in 0..tries() {
        let name = format!("r{i}");
        let run = sb.run(&["create", &name, "--path", nd.to_str().unwrap()]);
        match run.code {
            0 => {
                created += 1;
                sb.ok(&["delete", &name]);
            }
            _ => refused += 1,
        }
        assert_eq!(
            fingerprint(&victim),
            before,
            "try {i}: the victim changed ({}{})",
            run.stdout,
            run.stderr
        );
        // clean up as root for the next try, whatever the helper left
        for p in [&nd, &parent.join("moved")] {
            match std::fs::symlink_metadata(p) {
                Ok(m) if m.is_dir() => std::fs::remove_dir_all(p).unwrap(),
                Ok(_) => std::fs::remove_file(p).unwrap(),
                Err(_) => {}
            }
        }
    }
    drop(helper);
    assert_eq!(fingerprint(&victim), before);
    assert_eq!(std::fs::read(&victim).unwrap(), b"root only\n");
    eprintln!(
        "{} tries: {created} created, {refused} refused; the victim is untouched",
        tries()
    );
}

/// check → setfacl in `update`: nobody flips the share directory between the directory and a
/// link to a root-owned directory while `update --read-only` loops.
#[test]
fn update_never_sets_an_acl_through_a_swapped_link() {
    let sb = Sandbox::new();
    sb.add_user("alice", "Alice-pw1");
    let parent = nobody_parent(&sb);
    let victim = sb.dir.path().join("victim-dir");
    std::fs::create_dir(&victim).unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(victim.join("secret"), b"x").unwrap();
    let before = (fingerprint(&victim), fingerprint(&victim.join("secret")));
    let share_dir = parent.join("sd");
    sb.ok(&["create", "s", "--path", share_dir.to_str().unwrap(), "--users", "alice"]);
    // nobody owns the share directory's parent: it may rename the share directory at will
    let (sd_c, real_c, victim_c) = (c(&share_dir), c(&parent.join("sd.real")), c(&victim));
    let helper = Helper::spawn(|| unsafe {
        // the link stays a short while, the directory a longer one: both states are met
        let pause = |micros: i64| {
            let t = libc::timespec {
                tv_sec: 0,
                tv_nsec: micros * 1000,
            };
            libc::nanosleep(&t, std::ptr::null_mut());
        };
        if libc::rename(sd_c.as_ptr(), real_c.as_ptr()) == 0 {
            libc::symlink(victim_c.as_ptr(), sd_c.as_ptr());
            pause(300);
            libc::unlink(sd_c.as_ptr());
            libc::rename(real_c.as_ptr(), sd_c.as_ptr());
        }
        pause(1500);
    });
    let mut outcomes = std::collections::BTreeMap::new();
    for i in 0..tries() {
        let flag = if i % 2 == 0 { "1" } else { "0" };
        let run = sb.run(&["update", "s", "--read-only", flag]);
        *outcomes.entry(run.code).or_insert(0) += 1;
        assert_eq!(
            (fingerprint(&victim), fingerprint(&victim.join("secret"))),
            before,
            "try {i}: the victim changed ({}{})",
            run.stdout,
            run.stderr
        );
    }
    drop(helper);
    assert_eq!((fingerprint(&victim), fingerprint(&victim.join("secret"))), before);
    eprintln!("{} tries, exit codes {outcomes:?}; the victim is untouched", tries());
}
