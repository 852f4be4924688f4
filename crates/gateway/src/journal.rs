//! The durable journal of the operation being applied (`state/journal`, one JSON object a
//! line). Before the first step: the operation, its steps, what they intend, and the share
//! config before and after (its write is the operation's commit point). After each step: "step
//! N done" with what the step left behind, appended and fdatasync'd. Removed when the operation
//! has finished or was rolled back completely. If the process dies, the journal stays, and
//! `apply` (recover.rs) heals the node from it.

use std::io::Write;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use smbgw_core::plan::Recovery;
use smbgw_core::{Error, Layout, Plan, Result};
use smbgw_sys::fs;

pub(crate) fn path(layout: &Layout) -> PathBuf {
    layout.state_dir.join("journal")
}

/// The share config as the operation found it and as its commit step writes it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Commit {
    /// Number (from 1) of the step that writes the config.
    pub step: usize,
    pub before: Option<String>,
    pub after: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
enum Line {
    Begin {
        pid: u32,
        operation: String,
        steps: Vec<String>,
        intents: Vec<(usize, Recovery)>,
        commit: Option<Commit>,
    },
    Done {
        step: usize,
        record: Option<Recovery>,
    },
    RolledBack {
        complete: bool,
    },
}

/// A journal as read back after a crash.
#[derive(Debug, Default)]
pub(crate) struct Interrupted {
    pub pid: u32,
    pub operation: String,
    pub steps: Vec<String>,
    /// Step numbers done (from 1).
    pub done: Vec<usize>,
    /// Intents of all steps and records of the steps done.
    pub entries: Vec<Recovery>,
    pub commit: Option<Commit>,
    /// Set when a failed operation could not undo everything.
    pub rollback_incomplete: bool,
    /// False when the header could not be read: what the operation did is unknown.
    pub readable: bool,
}

impl Interrupted {
    /// One line for the admin: what was interrupted, and where.
    pub fn summary(&self) -> String {
        let next = (1..=self.steps.len()).find(|n| !self.done.contains(n));
        let at = match next {
            _ if self.rollback_incomplete => "its rollback was incomplete".to_string(),
            Some(n) => format!(
                "{} of {} step(s) done, next: '{}'",
                n - 1,
                self.steps.len(),
                self.steps[n - 1]
            ),
            None => format!("all {} step(s) done", self.steps.len()),
        };
        format!("'{}' (pid {}; {at})", self.operation, self.pid)
    }
}

/// The open journal of the running operation.
pub(crate) struct Journal {
    file: std::fs::File,
    path: PathBuf,
    rollback_complete: Option<bool>,
}

impl Journal {
    /// Write the header durably; from here on a crash is healed by `apply`.
    pub fn begin(layout: &Layout, operation: String, plan: &Plan, commit: Option<Commit>) -> Result<Journal> {
        fs::create_dir_all(&layout.state_dir, 0o700)?;
        let path = path(layout);
        let header = Line::Begin {
            pid: std::process::id(),
            operation,
            steps: plan.describe(),
            intents: plan.intents(),
            commit,
        };
        fs::atomic_write(&path, format!("{}\n", to_json(&header)).as_bytes(), 0o600)?;
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| Error::io("opening", &path, e))?;
        Ok(Journal {
            file,
            path,
            rollback_complete: None,
        })
    }

    fn append(&mut self, line: &Line) -> Result<()> {
        writeln!(self.file, "{}", to_json(line)).map_err(|e| Error::io("writing", &self.path, e))?;
        self.file.sync_data().map_err(|e| Error::io("syncing", &self.path, e))
    }

    /// The operation is over: finished, or rolled back completely. After an incomplete
    /// rollback the journal stays for `apply` to heal.
    pub fn end(mut self) {
        if self.rollback_complete == Some(false) {
            let _ = self.append(&Line::RolledBack { complete: false });
            return;
        }
        let _ = fs::remove_if_exists(&self.path);
    }
}

impl smbgw_core::plan::Journal for Journal {
    fn step_done(&mut self, step: usize, record: Option<&Recovery>) -> Result<()> {
        self.append(&Line::Done {
            step,
            record: record.cloned(),
        })
    }

    fn rolled_back(&mut self, complete: bool) {
        self.rollback_complete = Some(complete);
    }
}

fn to_json(line: &Line) -> String {
    serde_json::to_string(line).expect("journal lines serialize")
}

/// The journal an earlier operation left behind, if any. A torn last line (the crash came
/// while it was appended) is the step that was not recorded, so it is skipped.
pub(crate) fn read(layout: &Layout) -> Result<Option<Interrupted>> {
    let path = path(layout);
    let Some(bytes) = fs::read_optional(&path)? else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut found = Interrupted::default();
    for line in text.lines() {
        match serde_json::from_str::<Line>(line) {
            Ok(Line::Begin {
                pid,
                operation,
                steps,
                intents,
                commit,
            }) => {
                found.readable = true;
                found.pid = pid;
                found.operation = operation;
                found.steps = steps;
                found.entries.extend(intents.into_iter().map(|(_, r)| r));
                found.commit = commit;
            }
            Ok(Line::Done { step, record }) => {
                found.done.push(step);
                found.entries.extend(record);
            }
            Ok(Line::RolledBack { complete }) => found.rollback_incomplete = !complete,
            Err(_) => {}
        }
    }
    // a purge is finished by recovery only once the operation committed (its config write
    // done): before that the share still exists, whatever the config file says now
    let committed = found.commit.as_ref().is_some_and(|c| found.done.contains(&c.step));
    if !committed {
        found.entries.retain(|e| !matches!(e, Recovery::Purge { .. }));
    }
    if !found.readable {
        // the journal of an older version (plain text), or a header torn by the crash: the
        // steps are unknown, a full re-converge is all recovery can do
        found.operation = "an operation of an earlier version or with an unreadable journal".into();
    }
    Ok(Some(found))
}

pub(crate) fn remove(layout: &Layout) -> Result<()> {
    fs::remove_if_exists(&path(layout))
}

#[cfg(test)]
mod tests {
    use super::*;
    use smbgw_core::plan::{FnStep, Journal as _};

    fn layout(dir: &std::path::Path) -> Layout {
        Layout::sandbox(dir, [127, 0, 0, 1].into(), 4450).unwrap()
    }

    #[test]
    fn records_survive_and_a_torn_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let layout = layout(dir.path());
        let mut plan = Plan::new();
        let volume = dir.path().join("vol");
        plan.push(FnStep::new("make vol", || Ok(()), || Ok(())).creates(&volume));
        plan.push(FnStep::new("two", || Ok(()), || Ok(())));
        let commit = Commit {
            step: 2,
            before: None,
            after: "x".into(),
        };
        let mut journal = Journal::begin(&layout, "create share s".into(), &plan, Some(commit.clone())).unwrap();
        std::fs::create_dir(&volume).unwrap();
        let record = Recovery::created(&volume);
        journal.step_done(1, record.as_ref()).unwrap();
        // the crash: no end(); a half-written line at the end
        drop(journal);
        let mut f = std::fs::OpenOptions::new().append(true).open(path(&layout)).unwrap();
        f.write_all(b"{\"type\":\"done\",\"st").unwrap();

        let found = read(&layout).unwrap().unwrap();
        assert_eq!(found.operation, "create share s");
        assert_eq!(found.done, [1]);
        assert_eq!(found.commit, Some(commit));
        assert!(matches!(&found.entries[0], Recovery::Creates { path, .. } if *path == volume));
        assert_eq!(found.entries[1], record.unwrap());
        assert!(
            found.summary().contains("1 of 2 step(s) done, next: 'two'"),
            "{}",
            found.summary()
        );
    }

    #[test]
    fn end_removes_the_journal_unless_the_rollback_was_incomplete() {
        let dir = tempfile::tempdir().unwrap();
        let layout = layout(dir.path());
        let plan = Plan::new();
        Journal::begin(&layout, "op".into(), &plan, None).unwrap().end();
        assert!(read(&layout).unwrap().is_none());

        let mut journal = Journal::begin(&layout, "op".into(), &plan, None).unwrap();
        journal.rolled_back(false);
        journal.end();
        assert!(read(&layout).unwrap().unwrap().rollback_incomplete);
    }
}
