//! Unit tests of plans in crates/core/src/plan: completed steps undone in reverse on a failure
//! (also when the journal cannot record one), the share config write found as the commit point,
//! what a rollback reports after an irreversible step, file steps restoring the previous state,
//! and dry runs that change nothing. In their own file so the plan machinery stays short to read.

use super::*;
use std::sync::{Arc, Mutex};

struct Probe {
    name: &'static str,
    fail: bool,
    log: Arc<Mutex<Vec<String>>>,
}

impl Step for Probe {
    fn describe(&self) -> String {
        self.name.to_string()
    }
    fn apply(&mut self) -> Result<()> {
        self.log.lock().unwrap().push(format!("apply {}", self.name));
        if self.fail {
            Err(Error::external("injected"))
        } else {
            Ok(())
        }
    }
    fn undo(&mut self) -> Result<()> {
        self.log.lock().unwrap().push(format!("undo {}", self.name));
        Ok(())
    }
}

#[test]
fn failure_undoes_completed_steps_in_reverse() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut plan = Plan::new();
    for (name, fail) in [("a", false), ("b", false), ("c", true), ("d", false)] {
        plan.push(Probe {
            name,
            fail,
            log: log.clone(),
        });
    }
    let mut started = Vec::new();
    let err = plan
        .apply_with(&mut |n, count, step| started.push(format!("{n}/{count} {step}")))
        .unwrap_err();
    assert!(err.message.starts_with("c: injected (rolled back 2"), "{}", err.message);
    assert_eq!(
        *log.lock().unwrap(),
        ["apply a", "apply b", "apply c", "undo b", "undo a"]
    );
    assert_eq!(started, ["1/4 a", "2/4 b", "3/4 c"], "progress as each step starts");
}

/// A journal whose disk fails at step `fail_at`.
struct FailingJournal {
    fail_at: usize,
    recorded: Vec<(usize, Option<Recovery>)>,
    rolled_back: Option<bool>,
}

impl Journal for FailingJournal {
    fn step_done(&mut self, n: usize, record: Option<&Recovery>) -> Result<()> {
        if n == self.fail_at {
            return Err(Error::system("journal: no space left"));
        }
        self.recorded.push((n, record.cloned()));
        Ok(())
    }
    fn rolled_back(&mut self, complete: bool) {
        self.rolled_back = Some(complete);
    }
}

#[test]
fn a_step_the_journal_cannot_record_is_undone_with_the_others() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let dir = tempfile::tempdir().unwrap();
    let made = dir.path().join("made");
    let mut plan = Plan::new();
    let target = made.clone();
    let mkdir = move || std::fs::create_dir(&target).map_err(|e| Error::io("mkdir", &target, e));
    plan.push(FnStep::new("mkdir", mkdir, || Ok(())).creates(&made));
    for name in ["b", "c"] {
        plan.push(Probe {
            name,
            fail: false,
            log: log.clone(),
        });
    }
    assert!(matches!(&plan.intents()[..], [(1, Recovery::Creates { path, .. })] if *path == made));
    let mut journal = FailingJournal {
        fail_at: 2,
        recorded: Vec::new(),
        rolled_back: None,
    };
    let err = plan.apply_journalled(&mut journal, &mut |_, _, _| {}).unwrap_err();
    assert!(err.message.contains("no space left"), "{}", err.message);
    assert_eq!(*log.lock().unwrap(), ["apply b", "undo b"]);
    assert_eq!(journal.rolled_back, Some(true));
    // step 1 recorded what it created, with its identity
    let (dev, ino) = identity(&made).unwrap();
    assert_eq!(
        journal.recorded,
        [(
            1,
            Some(Recovery::Created {
                path: made.clone(),
                dev,
                ino,
                subvolume: false
            })
        )]
    );
}

#[test]
fn the_share_config_write_is_found_as_the_commit_point() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("shares.cfg");
    let mut plan = Plan::new();
    plan.push(CreateDir::new(&dir.path().join("d"), 0o755));
    plan.push(WriteFile::new("share config", &config, b"share: s\n".to_vec(), 0o640).unwrap());
    assert_eq!(plan.writer_of(&config), Some((2, b"share: s\n".to_vec())));
    assert_eq!(plan.writer_of(&dir.path().join("other")), None);
}

#[test]
fn rollback_never_claims_nothing_changed_after_an_irreversible_step() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut plan = Plan::new();
    plan.push(Probe {
        name: "a",
        fail: false,
        log: log.clone(),
    });
    plan.push(FnStep::irreversible("delete data", || Ok(())));
    plan.push(Probe {
        name: "c",
        fail: true,
        log: log.clone(),
    });
    let err = plan.apply().unwrap_err();
    assert!(!err.message.contains("nothing was changed"), "{}", err.message);
    assert!(
        err.message.contains(
            "rolled back 1 completed step(s); 1 completed step(s) cannot be undone and stay done: delete data"
        ),
        "{}",
        err.message
    );
    // the failing step itself irreversible: part of it may have run
    let mut plan = Plan::new();
    plan.push(FnStep::irreversible("purge", || {
        Err(Error::system("deleted 3 of 5 entries"))
    }));
    let err = plan.apply().unwrap_err();
    assert!(!err.message.contains("nothing was changed"), "{}", err.message);
    assert!(err.message.contains("deleted 3 of 5"), "{}", err.message);
}

#[test]
fn file_steps_restore_previous_state() {
    let dir = tempfile::tempdir().unwrap();
    let existing = dir.path().join("existing");
    std::fs::write(&existing, b"old").unwrap();
    let fresh = dir.path().join("sub/fresh");
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut plan = Plan::new();
    plan.push(WriteFile::new("test", &existing, b"new".to_vec(), 0o644).unwrap());
    plan.push(CreateDir::new(&dir.path().join("d1/d2"), 0o755));
    plan.push(WriteFile::new("test", &fresh, b"x".to_vec(), 0o644).unwrap());
    plan.push(RemoveFile::new("test", &existing).unwrap().unwrap());
    plan.push(Probe {
        name: "boom",
        fail: true,
        log,
    });
    plan.apply().unwrap_err();
    assert_eq!(std::fs::read(&existing).unwrap(), b"old");
    assert!(!fresh.exists());
    assert!(!dir.path().join("d1").exists());
}

#[test]
fn dry_run_describes_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let mut plan = Plan::new();
    plan.push(WriteFile::new("config", &path, b"x".to_vec(), 0o644).unwrap());
    assert_eq!(plan.describe(), [format!("create config {}", path.display())]);
    drop(plan);
    assert!(!path.exists());
}
