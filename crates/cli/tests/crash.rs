//! Crash consistency, checked by killing: each mutating operation is killed (SIGKILL, through
//! the test-only hook `PVE_SMBGW_CRASH_AT=N`) right before each of its steps and after the last
//! one, and at random moments; then `apply` must heal the node: the shares listed are the
//! shares served, each share's ACL matches its config, nothing the operation created is left
//! over, and a second `apply` has nothing to do. Real smbd, real btrfs on a loop device.

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Btrfs, Sandbox};

const ALICE: (&str, &str) = ("alice", "Alice-pw1");
const BOB: (&str, &str) = ("bob", "Bob-pw1");
const MIB: u64 = 1 << 20;

struct Lab {
    sb: Sandbox,
    fs: Btrfs,
}

/// One operation under test: how to reach the state before it, its arguments, and how to
/// return to the common baseline afterwards (whichever way recovery decided).
struct Case {
    name: &'static str,
    setup: fn(&Lab),
    args: fn(&Lab) -> Vec<String>,
    stdin: &'static str,
    reset: fn(&Lab),
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

impl Lab {
    fn new() -> Lab {
        let sb = Sandbox::new();
        let fs = Btrfs::new(sb.dir.path(), "512M");
        sb.add_user(ALICE.0, ALICE.1);
        sb.add_user(BOB.0, BOB.1);
        let lab = Lab { sb, fs };
        // a share no operation touches, and the one the updates change
        lab.create("keep", &["--quota", "10M"]);
        lab.create("u", &["--quota", "10M"]);
        lab
    }

    fn path(&self, name: &str) -> PathBuf {
        self.fs.mount.join(name)
    }

    fn create(&self, name: &str, extra: &[&str]) {
        let path = self.path(name);
        let mut args = vec!["create", name, "--path", path.to_str().unwrap(), "--users", "alice"];
        args.extend_from_slice(extra);
        self.sb.ok(&args);
    }

    fn shares(&self) -> Vec<serde_json::Value> {
        let list = json(&self.sb.ok(&["list", "--output-format", "json"]));
        list.as_array().unwrap().clone()
    }

    fn share(&self, name: &str) -> Option<serde_json::Value> {
        self.shares().into_iter().find(|s| s["name"] == name)
    }

    fn samba_users(&self) -> BTreeSet<String> {
        let list = json(&self.sb.ok(&["user", "list", "--output-format", "json"]));
        let names = list.as_array().unwrap().iter();
        names.map(|u| u["name"].as_str().unwrap().to_string()).collect()
    }

    /// The sandbox's unix accounts: (name, uid, created by the gateway).
    fn accounts(&self) -> Vec<(String, u32, bool)> {
        let passwd = std::fs::read_to_string(self.sb.root.join("accounts/passwd")).unwrap();
        passwd
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f[0].to_string(), f[2].parse().unwrap(), f[4] == "pve-smbgateway user")
            })
            .collect()
    }

    fn uid(&self, user: &str) -> u32 {
        let accounts = self.accounts();
        accounts
            .iter()
            .find(|a| a.0 == user)
            .unwrap_or_else(|| panic!("no account {user}"))
            .1
    }

    /// The number of steps the operation's plan has in the current state.
    fn steps(&self, case: &Case) -> usize {
        let mut args = (case.args)(self);
        args.extend(["--dry-run".to_string(), "--output-format".into(), "json".into()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = self.sb.run_with_stdin(&args, case.stdin.as_bytes());
        assert_eq!(
            run.code, 0,
            "{}: dry run failed: {}{}",
            case.name, run.stdout, run.stderr
        );
        json(&run.stdout)["steps"].as_array().unwrap().len()
    }

    /// Start the operation in its own process group (a kill takes its helpers too).
    fn spawn(&self, case: &Case, crash_at: Option<usize>) -> std::process::Child {
        let mut cmd = self.sb.command();
        cmd.args((case.args)(self))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        if let Some(k) = crash_at {
            cmd.env("PVE_SMBGW_CRASH_AT", k.to_string());
        }
        let mut child = cmd.spawn().unwrap();
        let _ = child.stdin.take().unwrap().write_all(case.stdin.as_bytes());
        child
    }

    /// How long the operation takes here when nothing interrupts it, and when its journal
    /// appeared (set up before, reset after).
    fn time(&self, case: &Case) -> (Duration, Option<Duration>) {
        (case.setup)(self);
        let start = Instant::now();
        let mut child = self.spawn(case, None);
        let mut journal_at = None;
        while child.try_wait().unwrap().is_none() {
            if journal_at.is_none() && journal_left(self) {
                journal_at = Some(start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let total = start.elapsed();
        (case.reset)(self);
        (total, journal_at)
    }

    /// `apply` after the crash: it must succeed, and a second run must have nothing to do.
    fn heal(&self, context: &str) -> serde_json::Value {
        let run = self.sb.run(&["apply", "--output-format", "json"]);
        assert_eq!(run.code, 0, "{context}: apply failed: {}{}", run.stdout, run.stderr);
        let first = json(&run.stdout);
        self.check_invariants(context);
        let again = json(&self.sb.ok(&["apply", "--output-format", "json"]));
        assert_eq!(
            again["changed"], false,
            "{context}: the second apply changed something: {again}"
        );
        assert!(again.get("notes").is_none(), "{context}: second apply: {again}");
        first
    }

    fn check_invariants(&self, context: &str) {
        let shares = self.shares();
        let listed: BTreeSet<String> = shares.iter().map(|s| s["name"].as_str().unwrap().into()).collect();
        let served: BTreeSet<String> = self.sb.listed_shares(ALICE).into_iter().collect();
        assert_eq!(listed, served, "{context}: listed != served");

        for share in &shares {
            let name = share["name"].as_str().unwrap();
            let path = Path::new(share["path"].as_str().unwrap());
            let read_only = share["read-only"] == true;
            // the ACL names exactly the share's users, with the share's permissions
            let perms = if read_only { "r-x" } else { "rwx" };
            let mut wanted = BTreeSet::new();
            for user in share["users"].as_array().unwrap() {
                let uid = self.uid(user.as_str().unwrap());
                wanted.insert(format!("user:{uid}:{perms}"));
                wanted.insert(format!("default:user:{uid}:{perms}"));
            }
            let acl = common::run("getfacl", &["--numeric", "--omit-header", path.to_str().unwrap()]);
            let named: BTreeSet<String> = acl
                .lines()
                .map(|l| l.split('\t').next().unwrap().trim().to_string())
                .filter(|l| {
                    let l = l.strip_prefix("default:").unwrap_or(l);
                    l.starts_with("user:") && !l.starts_with("user::")
                })
                .collect();
            assert_eq!(named, wanted, "{context}: ACL of share {name} ({path:?}):\n{acl}");
            // and it holds over SMB: a user of the share writes where it is writable, not elsewhere
            let first = share["users"][0].as_str().unwrap();
            let user = [ALICE, BOB].into_iter().find(|u| u.0 == first).unwrap();
            let file = self.sb.write_local("probe.txt", b"probe");
            let put = self
                .sb
                .smbclient(name, Some(user), &format!("put {} probe.txt", file.display()));
            assert_eq!(put.is_ok(), !read_only, "{context}: {first} writing to {name}: {put:?}");
            if put.is_ok() {
                std::fs::remove_file(path.join("probe.txt")).unwrap();
            }
            if let Some(limit) = share["quota"].as_u64() {
                assert_eq!(self.fs.qgroup(path).1, Some(limit), "{context}: quota of {name}");
            }
        }

        // no subvolume no share names
        let paths: BTreeSet<PathBuf> = shares
            .iter()
            .map(|s| PathBuf::from(s["path"].as_str().unwrap()))
            .collect();
        let list = common::run("btrfs", &["subvolume", "list", self.fs.mount.to_str().unwrap()]);
        for line in list.lines() {
            let sub = self.fs.mount.join(line.rsplit(" path ").next().unwrap());
            assert!(paths.contains(&sub), "{context}: orphan subvolume {sub:?}\n{list}");
        }
        // nothing else left in the share parents either
        for parent in [self.fs.mount.clone(), self.sb.data("")] {
            for entry in std::fs::read_dir(parent).into_iter().flatten().flatten() {
                assert!(
                    paths.contains(&entry.path()),
                    "{context}: left over: {:?}",
                    entry.path()
                );
            }
        }
        // no journal, no recovery state, no staging directory, no temporary file
        let state = self.sb.root.join("state");
        assert!(!state.join("journal").exists(), "{context}: journal left");
        assert!(!state.join("recovery.json").exists(), "{context}: recovery state left");
        for leftover in walk(&self.sb.root) {
            let name = leftover.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                !name.contains(".tmp.") && !name.starts_with("staging."),
                "{context}: leftover {leftover:?}"
            );
        }
        // every account the gateway made is a Samba user
        let samba = self.samba_users();
        for (name, _, ours) in self.accounts() {
            assert!(
                !ours || samba.contains(&name),
                "{context}: account {name} without Samba user"
            );
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        out.push(path.clone());
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            out.extend(walk(&path));
        }
    }
    out
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "create with btrfs quota and recycle bin",
            setup: |_| {},
            args: |lab| {
                let path = lab.path("c");
                let path = path.to_str().unwrap();
                let args = ["create", "c", "--path", path, "--users", "alice", "--quota", "10M"];
                let mut args = strings(&args);
                args.extend(strings(&["--recycle-bin", "1"]));
                args
            },
            stdin: "",
            reset: |lab| {
                if lab.share("c").is_some() {
                    lab.sb.ok(&["delete", "c", "--purge-data"]);
                }
            },
        },
        Case {
            name: "create on a plain directory",
            setup: |lab| std::fs::create_dir_all(lab.sb.data("")).unwrap(),
            args: |lab| {
                let path = lab.sb.data("p");
                strings(&["create", "p", "--path", path.to_str().unwrap(), "--users", "bob"])
            },
            stdin: "",
            reset: |lab| {
                if lab.share("p").is_some() {
                    lab.sb.ok(&["delete", "p", "--purge-data"]);
                }
            },
        },
        Case {
            name: "update: read-only flip",
            setup: |_| {},
            args: |_| strings(&["update", "u", "--read-only", "1"]),
            stdin: "",
            reset: |lab| {
                if lab.share("u").unwrap()["read-only"] == true {
                    lab.sb.ok(&["update", "u", "--read-only", "0"]);
                }
            },
        },
        Case {
            name: "update: users change",
            setup: |_| {},
            args: |_| strings(&["update", "u", "--users", "bob"]),
            stdin: "",
            reset: |lab| {
                if lab.share("u").unwrap()["users"] != serde_json::json!(["alice"]) {
                    lab.sb.ok(&["update", "u", "--users", "alice"]);
                }
            },
        },
        Case {
            name: "delete --purge-data",
            setup: |lab| {
                lab.create("d", &["--quota", "10M"]);
                let data = lab.sb.write_local("data.bin", &vec![1; MIB as usize]);
                let put = format!("put {} data.bin", data.display());
                lab.sb.smbclient("d", Some(ALICE), &put).unwrap();
            },
            args: |_| strings(&["delete", "d", "--purge-data"]),
            stdin: "",
            reset: |lab| {
                if lab.share("d").is_some() {
                    lab.sb.ok(&["delete", "d", "--purge-data"]);
                }
            },
        },
        Case {
            name: "user add",
            setup: |_| {},
            args: |_| strings(&["user", "add", "carol", "--password-stdin"]),
            stdin: "Carol-pw1\n",
            reset: |lab| {
                if lab.samba_users().contains("carol") {
                    lab.sb.ok(&["user", "delete", "carol"]);
                }
            },
        },
        Case {
            name: "user delete",
            setup: |lab| lab.sb.add_user("dave", "Dave-pw1"),
            args: |_| strings(&["user", "delete", "dave"]),
            stdin: "",
            reset: |lab| {
                if lab.samba_users().contains("dave") {
                    lab.sb.ok(&["user", "delete", "dave"]);
                }
            },
        },
    ]
}

#[test]
fn a_crash_at_every_step_boundary_heals_with_apply() {
    let lab = Lab::new();
    lab.check_invariants("baseline");
    let mut killed = 0;
    for case in cases() {
        (case.setup)(&lab);
        let count = lab.steps(&case);
        eprintln!("{}: {count} steps", case.name);
        assert!(count > 0, "{}: the plan has no steps", case.name);
        (case.reset)(&lab);
        for k in 1..=count + 1 {
            let context = format!("{} killed before step {k} of {count}", case.name);
            (case.setup)(&lab);
            let out = lab.spawn(&case, Some(k)).wait_with_output().unwrap();
            assert_eq!(
                out.status.signal(),
                Some(9),
                "{context}: not killed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            killed += 1;
            // nothing else runs over an interrupted operation
            let refused = lab
                .sb
                .run_with_stdin(&["user", "add", "eve", "--password-stdin"], b"Eve-pw1\n");
            assert_eq!(refused.code, 2, "{context}: {}{}", refused.stdout, refused.stderr);
            assert!(
                refused.stderr.contains("run 'pve-smbgateway apply' first"),
                "{}",
                refused.stderr
            );
            let healed = lab.heal(&context);
            let notes = healed["notes"].to_string();
            assert!(
                notes.contains("healing the interrupted operation"),
                "{context}: {healed}"
            );
            (case.reset)(&lab);
        }
    }
    eprintln!("{killed} crashes at step boundaries, each healed by apply");
    assert!(killed >= 15, "only {killed} crashes");
}

#[test]
fn random_kills_heal_with_apply() {
    let lab = Lab::new();
    let cases = cases();
    // a fixed seed: the same delays on every run, different points in every operation
    let mut seed: u64 = 0x5eed_c0de;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut interrupted = 0;
    for round in 0..10 {
        let case = &cases[round % cases.len()];
        // even rounds count from the start (planning, testparm), odd ones from the moment the
        // journal exists (the steps themselves); the delay falls inside what this operation
        // takes on this machine now, timed by one uninterrupted run (a fixed range would miss
        // once operations get faster, or the machine slower)
        let from_journal = round % 2 == 1;
        let (total, journal_at) = lab.time(case);
        let window = if from_journal {
            total - journal_at.unwrap_or(total)
        } else {
            total
        };
        let delay = next() % (window.as_millis() as u64).max(1);
        let context = format!(
            "{} killed {delay} ms after {}",
            case.name,
            if from_journal {
                "its journal began"
            } else {
                "it started"
            }
        );
        (case.setup)(&lab);
        let mut child = lab.spawn(case, None);
        while from_journal && !journal_left(&lab) && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(delay));
        let group = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        let status = child.wait().unwrap();
        if status.signal() == Some(9) && journal_left(&lab) {
            interrupted += 1;
        }
        eprintln!("{context}: {status}");
        lab.heal(&context);
        (case.reset)(&lab);
    }
    // the delays must hit operations mid-way, or this test checks nothing
    assert!(
        interrupted >= 3,
        "only {interrupted} of 10 kills interrupted an operation's steps"
    );
}

fn journal_left(lab: &Lab) -> bool {
    lab.sb.root.join("state/journal").exists()
}

#[test]
fn a_subvolume_that_got_data_is_reported_not_deleted() {
    let lab = Lab::new();
    let path = lab.path("c");
    let args = [
        "create",
        "c",
        "--path",
        path.to_str().unwrap(),
        "--users",
        "alice",
        "--quota",
        "10M",
    ];
    // the subvolume exists, the config does not name it yet: kill before the config is written
    let plan = json(
        &lab.sb
            .ok(&[&args[..], &["--dry-run", "--output-format", "json"]].concat()),
    );
    let steps = plan["steps"].as_array().unwrap();
    let config = steps
        .iter()
        .position(|s| s.as_str().unwrap().contains("share config"))
        .unwrap();
    let mut cmd = lab.sb.command();
    cmd.args(args).env("PVE_SMBGW_CRASH_AT", (config + 1).to_string());
    assert_eq!(cmd.status().unwrap().signal(), Some(9));
    std::fs::write(path.join("precious"), b"data").unwrap();

    let run = lab.sb.run(&["apply"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("could not heal")
            && run
                .stderr
                .contains(&format!("btrfs subvolume delete {}", path.display())),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read(path.join("precious")).unwrap(), b"data");
    // reported again until resolved, and shown by status
    let status = json(&lab.sb.ok(&["status", "--output-format", "json"]));
    assert!(status["recovery"].to_string().contains("apply cannot heal"), "{status}");
    assert_eq!(lab.sb.run(&["apply"]).code, 2);
    // the admin removes it: the next apply is clean
    common::run("btrfs", &["subvolume", "delete", path.to_str().unwrap()]);
    lab.heal("after the admin removed the orphan");
}

#[test]
fn an_account_without_samba_user_is_reported_and_user_delete_removes_it() {
    let sb = Sandbox::new();
    sb.add_user(ALICE.0, ALICE.1);
    // 'user add' killed between the unix account and the Samba password, its journal lost (as
    // with a version before the journal): nothing tells recovery, so apply can only report it
    let mut cmd = sb.command();
    cmd.args(["user", "add", "zed", "--password-stdin"])
        .env("PVE_SMBGW_CRASH_AT", "2")
        .stdin(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"Zed-pw1\n").unwrap();
    assert_eq!(child.wait().unwrap().signal(), Some(9));
    std::fs::remove_file(sb.root.join("state/journal")).unwrap();
    let passwd = || std::fs::read_to_string(sb.root.join("accounts/passwd")).unwrap();
    assert!(passwd().contains("zed:"), "{}", passwd());

    let apply = json(&sb.ok(&["apply", "--output-format", "json"]));
    let notes = apply["notes"].to_string();
    assert!(
        notes.contains("unix account 'zed'") && notes.contains("pve-smbgateway user delete zed"),
        "{apply}"
    );
    let status = json(&sb.ok(&["status", "--output-format", "json"]));
    assert!(
        status["recovery"].to_string().contains("unix account 'zed'"),
        "{status}"
    );

    sb.ok(&["user", "delete", "zed"]);
    assert!(!passwd().contains("zed:"), "{}", passwd());
    let apply = json(&sb.ok(&["apply", "--output-format", "json"]));
    assert!(apply.get("notes").is_none(), "{apply}");
    // alice, a Samba user, is untouched
    assert!(passwd().contains("alice:"));
}

#[test]
fn an_unreadable_journal_converges_every_share_in_full() {
    let lab = Lab::new();
    // the ACL an update left half-way (alice read-only on a writable share), and a journal in
    // the plain-text form of an earlier version: which share it touched is unknown
    let uid = lab.uid("alice");
    let path = lab.path("u");
    common::run(
        "setfacl",
        &["-m", &format!("u:{uid}:r-x,d:u:{uid}:r-x"), path.to_str().unwrap()],
    );
    std::fs::write(lab.sb.root.join("state/journal"), "pid 12345\nupdate share u\n").unwrap();
    let healed = lab.heal("an unreadable journal");
    assert!(healed["notes"].to_string().contains("unreadable journal"), "{healed}");
}

#[test]
fn apply_removes_leftovers_of_dead_processes_only() {
    let sb = Sandbox::new();
    sb.add_user(ALICE.0, ALICE.1);
    // pid_max is at most 2^22: these processes cannot be running
    let dead = [
        sb.root.join("config/.shares.cfg.tmp.9999999"),
        sb.root.join("state/.journal.tmp.9999999"),
        sb.root.join("accounts/.passwd.tmp.9999999"),
        // a config version on its way into the history (a kill found it left behind)
        sb.root
            .join("config/history/.20261204T224820.308602041Z.cfg.tmp.9999999"),
    ];
    std::fs::create_dir_all(sb.root.join("config/history")).unwrap();
    for file in &dead {
        std::fs::write(file, b"half").unwrap();
    }
    let staging = sb.root.join("state/staging.9999999");
    std::fs::create_dir_all(staging.join("shares.d")).unwrap();
    // a writer that is still running keeps its file
    let live = sb.root.join(format!("config/.shares.cfg.tmp.{}", std::process::id()));
    std::fs::write(&live, b"busy").unwrap();

    let apply = json(&sb.ok(&["apply", "--output-format", "json"]));
    let notes = apply["notes"].to_string();
    for gone in dead.iter().chain([&staging]) {
        assert!(!gone.exists(), "{gone:?} left");
        assert!(notes.contains(gone.to_str().unwrap()), "{gone:?} not reported: {apply}");
    }
    assert!(live.exists());
    std::fs::remove_file(&live).unwrap();
    let again = json(&sb.ok(&["apply", "--output-format", "json"]));
    assert!(again.get("notes").is_none(), "{again}");
}

/// The 1-based number of the first step of `args`' plan whose description contains `needle`.
fn step_of(lab: &Lab, args: &[&str], needle: &str) -> usize {
    let plan = json(&lab.sb.ok(&[args, &["--dry-run", "--output-format", "json"]].concat()));
    let steps = plan["steps"].as_array().unwrap();
    1 + steps
        .iter()
        .position(|s| s.as_str().unwrap().contains(needle))
        .unwrap_or_else(|| panic!("no step '{needle}' in {plan}"))
}

fn killed_before(lab: &Lab, args: &[&str], step: usize) {
    let mut cmd = lab.sb.command();
    cmd.args(args).env("PVE_SMBGW_CRASH_AT", step.to_string());
    assert_eq!(cmd.status().unwrap().signal(), Some(9), "{args:?} was not killed");
}

#[test]
fn a_purge_killed_before_its_commit_never_deletes_data_even_when_the_config_is_emptied() {
    let lab = Lab::new();
    lab.create("p", &["--quota", "10M"]);
    let path = lab.path("p");
    std::fs::write(path.join("precious"), b"data").unwrap();
    let args = ["delete", "p", "--purge-data"];
    // killed before the share config is written: the share was never deleted
    let commit = step_of(&lab, &args, "share config");
    killed_before(&lab, &args, commit);
    // ... and then the config file is lost
    let cfg = lab.sb.root.join("config/shares.cfg");
    std::fs::write(&cfg, b"").unwrap();
    let run = lab.sb.run(&["apply"]);
    assert_eq!(
        run.code, 2,
        "an emptied config was applied: {}{}",
        run.stdout, run.stderr
    );
    assert_eq!(std::fs::read(path.join("precious")).unwrap(), b"data");
    // even an admin who confirms the empty config loses no data to the uncommitted purge
    let run = lab.sb.run(&["apply", "--force"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        std::fs::read(path.join("precious")).unwrap(),
        b"data",
        "recovery finished a purge that never committed"
    );
}

#[test]
fn a_committed_purge_recovery_cannot_finish_is_reported_and_the_rest_converges() {
    let lab = Lab::new();
    let data = lab.sb.data("p");
    let data_s = data.to_str().unwrap();
    lab.sb.ok(&["create", "p", "--path", data_s, "--users", "alice"]);
    std::fs::write(data.join("a"), b"a").unwrap();
    std::fs::write(data.join("b"), b"b").unwrap();
    let args = ["delete", "p", "--purge-data"];
    // killed after the config dropped the share, before its data went
    let purge = step_of(&lab, &args, "delete the share's data");
    killed_before(&lab, &args, purge);
    // something recovery cannot delete, and something converging must repair
    common::run("chattr", &["+i", data.join("b").to_str().unwrap()]);
    let keep_include = lab.sb.root.join("samba/shares.d/keep.conf");
    std::fs::remove_file(&keep_include).unwrap();

    let run = lab.sb.run(&["apply"]);
    common::run("chattr", &["-i", data.join("b").to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("could not heal") && run.stderr.contains(data_s),
        "{}",
        run.stderr
    );
    assert!(
        keep_include.exists(),
        "apply stopped at the unhealed purge instead of converging"
    );
    assert!(lab.sb.listed_shares(ALICE).contains(&"keep".to_string()));
    // once the admin lifted the flag, the next apply finishes the purge
    let run = lab.sb.run(&["apply"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(!data.exists(), "the committed purge was not finished");
}

#[test]
fn a_share_apply_cannot_repair_stays_served_and_is_named() {
    let lab = Lab::new();
    let keep = lab.path("keep");
    // the limit lifted behind the gateway's back, and more written than the share's quota
    common::run("btrfs", &["qgroup", "limit", "none", keep.to_str().unwrap()]);
    std::fs::write(keep.join("big"), vec![7u8; 12 * MIB as usize]).unwrap();
    common::run("btrfs", &["filesystem", "sync", keep.to_str().unwrap()]);

    let run = lab.sb.run(&["apply"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("stay served as they are but could not be repaired") && run.stderr.contains("'keep'"),
        "{}",
        run.stderr
    );
    assert!(
        lab.sb.listed_shares(ALICE).contains(&"keep".to_string()),
        "a share with a repair apply could not plan was unpublished"
    );
    lab.sb.smbclient("keep", Some(ALICE), "ls").unwrap();
}
