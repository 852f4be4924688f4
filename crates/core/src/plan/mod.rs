//! Plan, then apply, with rollback. An operation first validates everything and builds a plan of
//! steps, each knowing how to undo itself. `--dry-run` prints the plan and stops. Applying runs
//! the steps in order; if one fails, the completed ones are undone in reverse order, so the node
//! is left as it was. Steps that cannot be undone (deleting data) say so, and then the failure
//! message says what stays done instead of claiming nothing changed.
//!
//! A crash cannot be rolled back in-process. For that, a plan applied with a `Journal` tells it,
//! before the first step, what each step intends (`Step::intent`) and, after each step, that it
//! is done and what it left behind (`Step::record`); the gateway writes both durably, and
//! `apply` heals from them after a crash.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use smbgw_sys::{fs, safe_fs};

use crate::{Error, Result};

pub trait Step {
    /// One line saying what the step will do, for `--dry-run` and logs.
    fn describe(&self) -> String;
    fn apply(&mut self) -> Result<()>;
    fn undo(&mut self) -> Result<()>;
    /// What recovery after a crash must know before this step runs (e.g. the data an
    /// irreversible purge is to destroy once the operation has committed).
    fn intent(&self) -> Option<Recovery> {
        None
    }
    /// What recovery after a crash must know once this step is done (e.g. what it created).
    fn record(&self) -> Option<Recovery> {
        None
    }
    /// The file this step writes and its new content: the write of the share config is the
    /// commit point of a share operation.
    fn writes(&self) -> Option<(&Path, &[u8])> {
        None
    }
    /// A step whose effect cannot be undone (deleting data). A rollback then must not claim
    /// that nothing was changed.
    fn irreversible(&self) -> bool {
        false
    }
}

#[derive(Default)]
pub struct Plan {
    steps: Vec<Box<dyn Step>>,
}

#[derive(Debug, Serialize)]
pub struct Applied {
    pub steps: Vec<String>,
}

impl Plan {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, step: impl Step + 'static) {
        self.steps.push(Box::new(step));
    }

    /// Move every step of `other` to the end of this plan.
    pub fn append(&mut self, other: Plan) {
        self.steps.extend(other.steps);
    }

    pub fn len(&self) -> usize {
        self.steps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    pub fn describe(&self) -> Vec<String> {
        self.steps.iter().map(|s| s.describe()).collect()
    }

    /// Apply all steps; on failure undo the completed ones (newest first) and return the error,
    /// extended by what the rollback did.
    pub fn apply(self) -> Result<Applied> {
        self.apply_with(&mut |_, _, _| {})
    }

    /// `apply`, telling `progress` about each step (number from 1, count, description) as it
    /// starts: creating a guest takes minutes, and the admin watches.
    pub fn apply_with(self, progress: &mut dyn FnMut(usize, usize, &str)) -> Result<Applied> {
        self.apply_journalled(&mut NoJournal, progress)
    }

    /// What the steps intend, by step number (from 1), for the journal's header.
    pub fn intents(&self) -> Vec<(usize, Recovery)> {
        let intents = self.steps.iter().enumerate();
        intents.filter_map(|(i, s)| Some((i + 1, s.intent()?))).collect()
    }

    /// The step (number from 1) that writes `path`, and the content it writes.
    pub fn writer_of(&self, path: &Path) -> Option<(usize, Vec<u8>)> {
        self.steps.iter().enumerate().find_map(|(i, s)| match s.writes() {
            Some((p, content)) if p == path => Some((i + 1, content.to_vec())),
            _ => None,
        })
    }

    /// `apply_with`, telling `journal` about each completed step and about a rollback; a
    /// journal that cannot record a step fails the step (and so rolls the plan back).
    pub fn apply_journalled(
        mut self,
        journal: &mut dyn Journal,
        progress: &mut dyn FnMut(usize, usize, &str),
    ) -> Result<Applied> {
        let mut done = Vec::new();
        let count = self.steps.len();
        for idx in 0..count {
            crash_hook::point(journal, idx + 1);
            let step = &mut self.steps[idx];
            let description = step.describe();
            progress(idx + 1, count, &description);
            let result = step.apply().and_then(|()| {
                // applied: from here on it is undone with the others, even if the journal fails
                done.push(idx);
                journal.step_done(idx + 1, step.record().as_ref())
            });
            if let Err(err) = result {
                let mut failed_undo = Vec::new();
                for &prev in done.iter().rev() {
                    let step: &mut Box<dyn Step> = &mut self.steps[prev];
                    if let Err(e) = step.undo() {
                        failed_undo.push(format!("undo of '{}' failed: {e}", step.describe()));
                    }
                }
                journal.rolled_back(failed_undo.is_empty());
                // what stays done whatever the rollback does: completed irreversible steps, and
                // the part of the failed one that ran (its error says what that was)
                let kept: Vec<String> = done
                    .iter()
                    .filter(|&&i: &&usize| self.steps[i].irreversible())
                    .map(|&i: &usize| self.steps[i].describe())
                    .collect();
                let partial = self.steps[idx].irreversible();
                let undoable = done.len() - kept.len();
                let rollback = if failed_undo.is_empty() && kept.is_empty() && !partial {
                    format!("rolled back {} completed step(s), nothing was changed", done.len())
                } else if failed_undo.is_empty() {
                    let mut parts = vec![format!("rolled back {undoable} completed step(s)")];
                    if !kept.is_empty() {
                        parts.push(format!(
                            "{} completed step(s) cannot be undone and stay done: {}",
                            kept.len(),
                            kept.join("; ")
                        ));
                    }
                    if partial {
                        parts.push("what the failed step did before it failed cannot be undone".into());
                    }
                    parts.join("; ")
                } else {
                    format!(
                        "rollback incomplete ({}); run 'pve-smbgateway apply' to repair",
                        failed_undo.join("; ")
                    )
                };
                return Err(Error {
                    message: format!("{description}: {} ({rollback})", err.message),
                    ..err
                });
            }
        }
        crash_hook::point(journal, count + 1);
        Ok(Applied { steps: self.describe() })
    }
}

/// Where a plan reports its progress for crash recovery (the gateway's durable journal).
pub trait Journal {
    /// Step `n` (from 1) is done; `record` is what recovery must know about what it did.
    fn step_done(&mut self, n: usize, record: Option<&Recovery>) -> Result<()>;
    /// The plan failed and was rolled back; `complete` is false when an undo failed too.
    fn rolled_back(&mut self, complete: bool);
    /// Whether a crash here would need recovery (the test-only crash hook fires only then).
    fn durable(&self) -> bool {
        true
    }
}

struct NoJournal;

impl Journal for NoJournal {
    fn step_done(&mut self, _: usize, _: Option<&Recovery>) -> Result<()> {
        Ok(())
    }
    fn rolled_back(&mut self, _: bool) {}
    fn durable(&self) -> bool {
        false
    }
}

/// What recovery after a crash must know about a step, written to the journal. Recovery acts
/// on what it finds on the node, so every entry can be checked again and again (idempotent).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Recovery {
    /// The step creates `path`, which did not exist when the plan was made (at `since_ns`,
    /// nanoseconds since the epoch): something there born later, and empty, is what it made.
    Creates { path: PathBuf, since_ns: u64 },
    /// The step created `path`, (device, inode) `dev`/`ino`.
    Created {
        path: PathBuf,
        dev: u64,
        ino: u64,
        subvolume: bool,
    },
    /// The step destroys the data at `path` (as checked: `dev`/`ino`) once the operation has
    /// committed; a crash after the commit leaves recovery to finish it.
    Purge {
        path: PathBuf,
        dev: u64,
        ino: u64,
        subvolume: bool,
    },
    /// The step creates unix account `name` for a new Samba user.
    AddsAccount { name: String },
    /// The step removes Samba user `name` and then its unix account.
    RemovesAccount { name: String },
}

impl Recovery {
    /// `Creates` for a path about to be created.
    pub fn creates(path: &Path) -> Self {
        Recovery::Creates {
            path: path.to_owned(),
            since_ns: smbgw_sys::time::now_ns(),
        }
    }

    /// `Created` for what is at `path` now (not following a symbolic link).
    pub fn created(path: &Path) -> Option<Self> {
        let (dev, ino) = identity(path).ok()?;
        Some(Recovery::Created {
            path: path.to_owned(),
            dev,
            ino,
            subvolume: ino == BTRFS_SUBVOLUME_ROOT_INODE,
        })
    }

    /// `Purge` of what is at `path` now.
    pub fn purge(path: &Path) -> Result<Self> {
        let (dev, ino) = identity(path)?;
        Ok(Recovery::Purge {
            path: path.to_owned(),
            dev,
            ino,
            subvolume: ino == BTRFS_SUBVOLUME_ROOT_INODE,
        })
    }
}

/// The root directory of every btrfs subvolume has this inode number.
const BTRFS_SUBVOLUME_ROOT_INODE: u64 = 256;

/// (device, inode) of `path` itself, never of a symbolic link's target.
pub fn identity(path: &Path) -> Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(path).map_err(|e| Error::io("stat", path, e))?;
    Ok((meta.dev(), meta.ino()))
}

/// `PVE_SMBGW_CRASH_AT=N` kills the process (SIGKILL, as a power cut would) right before step
/// N of a journalled plan, or after the last one for N = steps + 1. Compiled in only with the
/// `crash-hook` feature, which only the test build enables: shipped binaries do not have it.
mod crash_hook {
    #[cfg(feature = "crash-hook")]
    pub fn point(journal: &dyn super::Journal, step: usize) {
        if !journal.durable() {
            return;
        }
        let wanted = std::env::var("PVE_SMBGW_CRASH_AT").ok().and_then(|v| v.parse().ok());
        if wanted == Some(step) {
            let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
        }
    }

    #[cfg(not(feature = "crash-hook"))]
    pub fn point(_journal: &dyn super::Journal, _step: usize) {}
}

type Action = Box<dyn FnMut() -> Result<()>>;

/// A step made of two closures, for actions that need no state of their own beyond what they
/// capture (set a limit and restore the old one, create and remove a volume, ...).
pub struct FnStep {
    description: String,
    apply: Action,
    undo: Action,
    intent: Option<Recovery>,
    /// The path whose creation this step records once it is done.
    creates: Option<PathBuf>,
    irreversible: bool,
}

impl FnStep {
    pub fn new(
        description: impl Into<String>,
        apply: impl FnMut() -> Result<()> + 'static,
        undo: impl FnMut() -> Result<()> + 'static,
    ) -> Self {
        Self {
            description: description.into(),
            apply: Box::new(apply),
            undo: Box::new(undo),
            intent: None,
            creates: None,
            irreversible: false,
        }
    }

    /// A step that cannot be undone: it has no undo, and a rollback says it stays done.
    pub fn irreversible(description: impl Into<String>, apply: impl FnMut() -> Result<()> + 'static) -> Self {
        Self {
            irreversible: true,
            ..Self::new(description, apply, || Ok(()))
        }
    }

    /// The step creates `path` (a volume for a share): the journal notes it, so that recovery
    /// removes it again if the operation never committed.
    pub fn creates(mut self, path: &Path) -> Self {
        self.intent = Some(Recovery::creates(path));
        self.creates = Some(path.to_owned());
        self
    }

    /// The step irreversibly destroys the data at `path`: the journal notes what is there now,
    /// so that recovery finishes the purge if the operation committed before a crash.
    pub fn purges(mut self, path: &Path) -> Result<Self> {
        self.intent = Some(Recovery::purge(path)?);
        Ok(self)
    }
}

impl Step for FnStep {
    fn describe(&self) -> String {
        self.description.clone()
    }
    fn apply(&mut self) -> Result<()> {
        (self.apply)()
    }
    fn undo(&mut self) -> Result<()> {
        (self.undo)()
    }
    fn intent(&self) -> Option<Recovery> {
        self.intent.clone()
    }
    fn record(&self) -> Option<Recovery> {
        Recovery::created(self.creates.as_deref()?)
    }
    fn irreversible(&self) -> bool {
        self.irreversible
    }
}

/// Write a file (atomically), remembering the old content to restore it on undo.
pub struct WriteFile {
    pub path: PathBuf,
    pub content: Vec<u8>,
    pub mode: u32,
    previous: Option<Vec<u8>>,
    previous_mode: u32,
    label: String,
    /// fsync on write; off for derived files `apply` can rebuild.
    durable: bool,
}

impl WriteFile {
    /// `label` names the file for humans ("share config", "smb.conf").
    pub fn new(label: &str, path: &Path, content: Vec<u8>, mode: u32) -> Result<Self> {
        use std::os::unix::fs::PermissionsExt;
        let previous = fs::read_optional(path)?;
        let previous_mode = std::fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(mode);
        Ok(Self {
            path: path.to_owned(),
            content,
            mode,
            previous,
            previous_mode,
            label: label.to_string(),
            durable: true,
        })
    }

    /// A generated file that `apply` can always rebuild: written without fsync.
    pub fn derived(mut self) -> Self {
        self.durable = false;
        self
    }

    /// Whether applying would change anything.
    pub fn changes(&self) -> bool {
        self.previous.as_deref() != Some(self.content.as_slice())
    }
}

impl Step for WriteFile {
    fn describe(&self) -> String {
        let verb = if self.previous.is_some() { "update" } else { "create" };
        format!("{verb} {} {}", self.label, self.path.display())
    }

    fn apply(&mut self) -> Result<()> {
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir, 0o755)?;
        }
        if self.durable {
            fs::atomic_write(&self.path, &self.content, self.mode)
        } else {
            fs::atomic_write_derived(&self.path, &self.content, self.mode)
        }
    }

    fn undo(&mut self) -> Result<()> {
        fs::restore(&self.path, self.previous.as_deref(), self.previous_mode)
    }

    fn writes(&self) -> Option<(&Path, &[u8])> {
        Some((&self.path, &self.content))
    }
}

/// Remove a file, restoring it on undo.
pub struct RemoveFile {
    path: PathBuf,
    previous: Vec<u8>,
    mode: u32,
    label: String,
}

impl RemoveFile {
    /// `None` when the file does not exist (nothing to do).
    pub fn new(label: &str, path: &Path) -> Result<Option<Self>> {
        use std::os::unix::fs::PermissionsExt;
        let Some(previous) = fs::read_optional(path)? else {
            return Ok(None);
        };
        let mode = std::fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0o644);
        Ok(Some(Self {
            path: path.to_owned(),
            previous,
            mode,
            label: label.to_string(),
        }))
    }
}

impl Step for RemoveFile {
    fn describe(&self) -> String {
        format!("remove {} {}", self.label, self.path.display())
    }

    fn apply(&mut self) -> Result<()> {
        fs::remove_if_exists(&self.path)
    }

    fn undo(&mut self) -> Result<()> {
        fs::atomic_write(&self.path, &self.previous, self.mode)
    }
}

/// Create a directory (and missing parents) through handles opened without following links
/// (`safe_fs`): the owner of a parent may swap names while this runs, and root must not chmod
/// whatever they put there. Undo removes what this step created, if still empty and still the
/// directory it created.
pub struct CreateDir {
    path: PathBuf,
    mode: u32,
    created: Vec<safe_fs::Created>,
}

impl CreateDir {
    pub fn new(path: &Path, mode: u32) -> Self {
        Self {
            path: path.to_owned(),
            mode,
            created: Vec::new(),
        }
    }
}

impl Step for CreateDir {
    fn describe(&self) -> String {
        format!("create directory {} (mode {:04o})", self.path.display(), self.mode)
    }

    fn apply(&mut self) -> Result<()> {
        let (dir, created) = safe_fs::create_dir_all(&self.path, self.mode, 0o755)?;
        self.created = created;
        // an existing directory gets the mode too, through the handle
        dir.chmod(self.mode)
    }

    fn intent(&self) -> Option<Recovery> {
        Some(Recovery::creates(&self.path))
    }

    fn record(&self) -> Option<Recovery> {
        self.created.last().and_then(|_| Recovery::created(&self.path))
    }

    fn undo(&mut self) -> Result<()> {
        safe_fs::remove_created(&std::mem::take(&mut self.created))
    }
}

#[cfg(test)]
mod tests;
