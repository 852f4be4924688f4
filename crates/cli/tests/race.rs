//! Races between root and an unprivileged user who owns the directory a share lives in: a
//! helper process running as `nobody` swaps the share's directory for a symbolic link to a
//! root-owned victim while the CLI works on it. Whatever the CLI reports, the victim's owner,
//! mode and ACLs must stay as they were, over many tries. Each test also proves that the race
//! was really run: the helper counts its swaps, and enough tries must have ended with the CLI
//! refusing a link the helper planted (a test whose helper never wins would pass vacuously).

mod common;

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};

use common::{Run, Sandbox};
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

/// What the test and its forked helper share (anonymous shared memory, zeroed: disarmed).
#[repr(C)]
struct Shared {
    /// The helper swaps only while armed: during a CLI run, never during the test's own
    /// clean-up between tries.
    armed: AtomicBool,
    /// Bumped by each disarmed turn of the helper's loop: a bump after disarming proves
    /// that no swap is still under way.
    idle_turns: AtomicU64,
    /// Swaps the helper completed.
    swaps: AtomicU64,
}

/// A child process that drops to `nobody` and, while armed, runs `swap` (raw syscalls only:
/// it is forked from a threaded test process; it returns whether it swapped) until killed.
struct Helper {
    pid: libc::pid_t,
    shared: &'static Shared,
}

impl Helper {
    fn spawn(swap: impl Fn() -> bool) -> Helper {
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                std::mem::size_of::<Shared>(),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(map, libc::MAP_FAILED, "mmap for the helper's counters failed");
        // zeroed memory is a valid `Shared`; the mapping lives as long as the test process
        let shared: &'static Shared = unsafe { &*map.cast::<Shared>() };
        match unsafe { libc::fork() } {
            0 => unsafe {
                if libc::setgroups(0, std::ptr::null()) != 0 || libc::setgid(NOBODY) != 0 || libc::setuid(NOBODY) != 0 {
                    libc::_exit(3);
                }
                loop {
                    if shared.armed.load(SeqCst) {
                        if swap() {
                            shared.swaps.fetch_add(1, SeqCst);
                        }
                    } else {
                        shared.idle_turns.fetch_add(1, SeqCst);
                        pause_micros(50);
                    }
                }
            },
            pid if pid > 0 => Helper { pid, shared },
            _ => panic!("fork failed"),
        }
    }

    fn arm(&self) {
        self.shared.armed.store(true, SeqCst);
    }

    /// Stop swapping and wait until the helper stands still; returns its swaps so far.
    fn disarm(&self) -> u64 {
        self.shared.armed.store(false, SeqCst);
        let turns = self.shared.idle_turns.load(SeqCst);
        while self.shared.idle_turns.load(SeqCst) == turns {
            // an exited helper is only looked at here (WNOWAIT): `drop` reaps it
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
            let looked = unsafe { libc::waitid(libc::P_PID, self.pid as libc::id_t, &mut info, flags) };
            let gone = looked == 0 && unsafe { info.si_pid() } != 0;
            assert!(
                !gone,
                "the helper (running as nobody) exited with status {}; the race cannot run",
                unsafe { info.si_status() }
            );
            pause_micros(200);
        }
        self.shared.swaps.load(SeqCst)
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        unsafe {
            libc::kill(self.pid, libc::SIGKILL);
            libc::waitpid(self.pid, std::ptr::null_mut(), 0);
        }
    }
}

fn pause_micros(micros: i64) {
    let t = libc::timespec {
        tv_sec: 0,
        tv_nsec: micros * 1000,
    };
    unsafe { libc::nanosleep(&t, std::ptr::null_mut()) };
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

/// The CLI under strace, which holds it for `delay_micros` after each of the given system
/// calls returns (not its children: smbd stays running), as a loaded machine could pause it
/// there: the window after them grows from microseconds to milliseconds, and the helper wins
/// nearly every time. The outcome must not depend on that timing, but without the pause the
/// helper may never win: strace is required.
fn run_under_strace(sb: &mut Sandbox, syscalls: &str, delay_micros: u32) {
    let probe = std::process::Command::new("strace")
        .args(["-qq", "-o", "/dev/null", "-e", "trace=none", "true"])
        .output();
    assert!(
        probe.as_ref().is_ok_and(|out| out.status.success()),
        "strace is needed to widen the race window but cannot trace here ({probe:?}); install it (scripts/install-deps.sh lists it)"
    );
    sb.wrapper = [
        "strace",
        "-qq",
        "-o",
        "/dev/null",
        "-e",
        &format!("trace={syscalls}"),
        "-e",
        &format!("inject={syscalls}:delay_exit={delay_micros}"),
    ]
    .map(String::from)
    .to_vec();
}

/// Tries that met a planted link where it matters must be at least this many: one in twenty,
/// and one at least. (Here nearly every try of `create` and about two in five of `update`
/// meet one; a helper that cannot swap, or swaps at the wrong moments, stays far below.)
fn required_hits(tries: usize) -> usize {
    tries.div_ceil(20)
}

/// The CLI's whole output, for the messages.
fn output(run: &Run) -> String {
    format!("{}{}", run.stdout, run.stderr)
}

/// mkdir → chmod in `create`: as soon as the new directory appears, nobody renames it away and
/// puts a link to a root-owned file in its place.
#[test]
fn create_never_chmods_a_planted_link_target() {
    let mut sb = Sandbox::new();
    run_under_strace(&mut sb, "mkdir,mkdirat", 5000);
    let parent = nobody_parent(&sb);
    let victim = sb.write_local("victim", b"root only\n");
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
    let before = fingerprint(&victim);
    let (nd, moved) = (parent.join("nd"), parent.join("moved"));
    let (nd_c, moved_c, victim_c) = (c(&nd), c(&moved), c(&victim));
    let helper = Helper::spawn(|| unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        // a directory root just made: swap it for a link to the victim
        let swapped = libc::lstat(nd_c.as_ptr(), &mut st) == 0
            && st.st_mode & libc::S_IFMT == libc::S_IFDIR
            && libc::rename(nd_c.as_ptr(), moved_c.as_ptr()) == 0
            && libc::symlink(victim_c.as_ptr(), nd_c.as_ptr()) == 0;
        // well inside the CLI's pause after mkdir, without hogging a CPU
        pause_micros(100);
        swapped
    });
    // refused: the CLI met the planted link; created: no swap, or one after the CLI was done
    let (mut refused, mut created, mut swapped_late) = (0, 0, 0);
    let mut swaps = 0;
    for i in 0..tries() {
        let name = format!("r{i}");
        helper.arm();
        let run = sb.run(&["create", &name, "--path", nd.to_str().unwrap()]);
        let swapped = {
            let now = helper.disarm();
            let swapped = now > swaps;
            swaps = now;
            swapped
        };
        assert_eq!(
            fingerprint(&victim),
            before,
            "try {i}: the victim changed ({})",
            output(&run)
        );
        if swapped {
            // the helper's work, seen from here: the link in place of the directory
            assert_eq!(
                std::fs::read_link(&nd).ok().as_deref(),
                Some(victim.as_path()),
                "try {i}"
            );
            assert!(
                moved.is_dir(),
                "try {i}: the directory root made is not where the helper put it"
            );
        }
        match run.code {
            0 => {
                created += 1;
                swapped_late += usize::from(swapped);
                sb.ok(&["delete", &name]);
            }
            _ => {
                // a refusal is only right when the helper swapped, and must say why
                let out = output(&run);
                assert!(swapped, "try {i}: create failed without any swap: {out}");
                assert!(
                    out.contains(nd.to_str().unwrap()) && (out.contains("replaced") || out.contains("symbolic link")),
                    "try {i}: the refusal does not name the swapped directory: {out}"
                );
                refused += 1;
            }
        }
        // clean up as root for the next try, whatever the helper left (it stands still now)
        for p in [&nd, &moved] {
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
        "{} tries: {refused} refused a planted link, {created} created ({swapped_late} of them swapped only afterwards); {swaps} swaps; the victim is untouched",
        tries()
    );
    assert!(
        refused >= required_hits(tries()),
        "the race was not exercised: only {refused} of {} tries met a planted link ({swaps} swaps; at least {} needed)",
        tries(),
        required_hits(tries())
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
        // the link and the directory take turns of 10 ms each, far shorter than a run (whose
        // planning checks the directory, then runs testparm, then sets the ACLs): a run that
        // passed its checks on the directory often meets the link when it sets the ACLs. A
        // swap always ends with the directory back in place.
        let swapped = libc::rename(sd_c.as_ptr(), real_c.as_ptr()) == 0;
        if swapped {
            libc::symlink(victim_c.as_ptr(), sd_c.as_ptr());
            pause_micros(10_000);
            libc::unlink(sd_c.as_ptr());
            libc::rename(real_c.as_ptr(), sd_c.as_ptr());
        }
        pause_micros(10_000);
        swapped
    });
    let mut outcomes = std::collections::BTreeMap::new();
    // refusals by where the CLI met the swap: while planning (its checks), or (the race that
    // matters: checked, then the ACLs set) while applying the plan it made on the directory
    const APPLYING: &str = "link met while applying";
    let mut refusals = std::collections::BTreeMap::new();
    let mut swaps = 0;
    for i in 0..tries() {
        let flag = if i % 2 == 0 { "1" } else { "0" };
        helper.arm();
        let run = sb.run(&["update", "s", "--read-only", flag]);
        let swapped = {
            let now = helper.disarm();
            let swapped = now > swaps;
            swaps = now;
            swapped
        };
        *outcomes.entry(run.code).or_insert(0) += 1;
        assert_eq!(
            (fingerprint(&victim), fingerprint(&victim.join("secret"))),
            before,
            "try {i}: the victim changed ({})",
            output(&run)
        );
        assert!(
            share_dir.is_dir() && !share_dir.is_symlink(),
            "try {i}: the helper left the share directory swapped"
        );
        if run.code != 0 {
            // a refusal is only right when the helper swapped, and must name the share directory
            let out = output(&run);
            assert!(swapped, "try {i}: update failed without any swap: {out}");
            assert!(
                out.contains(share_dir.to_str().unwrap()),
                "try {i}: the refusal does not name the swapped share directory: {out}"
            );
            let kind = match (out.contains("symbolic link"), out.contains("rolled back")) {
                (true, true) => APPLYING,
                (true, false) => "link met while planning",
                (false, _) => "directory missing or not a directory",
            };
            *refusals.entry(kind).or_insert(0) += 1;
        }
    }
    drop(helper);
    assert_eq!((fingerprint(&victim), fingerprint(&victim.join("secret"))), before);
    eprintln!(
        "{} tries, exit codes {outcomes:?}, refusals {refusals:?}; {swaps} swaps; the victim is untouched",
        tries()
    );
    let met_link = refusals.get(APPLYING).copied().unwrap_or(0);
    assert!(
        met_link >= required_hits(tries()),
        "the race was not exercised: only {met_link} of {} tries met a planted link while applying what they planned on the directory ({refusals:?}; {swaps} swaps; at least {} needed)",
        tries(),
        required_hits(tries())
    );
}
