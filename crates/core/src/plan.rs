//! Plan, then apply, with rollback. An operation first validates everything and builds a plan of
//! steps, each knowing how to undo itself. `--dry-run` prints the plan and stops. Applying runs
//! the steps in order; if one fails, the completed ones are undone in reverse order, so the node
//! is left as it was. Steps that cannot be undone (deleting data) say so, and then the failure
//! message says what stays done instead of claiming nothing changed.

use std::path::{Path, PathBuf};

use serde::Serialize;
use smbgw_sys::{fs, safe_fs};

use crate::{Error, Result};

pub trait Step {
    /// One line saying what the step will do, for `--dry-run` and logs.
    fn describe(&self) -> String;
    fn apply(&mut self) -> Result<()>;
    fn undo(&mut self) -> Result<()>;
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
    pub fn apply_with(mut self, progress: &mut dyn FnMut(usize, usize, &str)) -> Result<Applied> {
        let mut done = Vec::new();
        let count = self.steps.len();
        for idx in 0..count {
            let step = &mut self.steps[idx];
            let description = step.describe();
            progress(idx + 1, count, &description);
            if let Err(err) = step.apply() {
                let mut failed_undo = Vec::new();
                for &prev in done.iter().rev() {
                    let step: &mut Box<dyn Step> = &mut self.steps[prev];
                    if let Err(e) = step.undo() {
                        failed_undo.push(format!("undo of '{}' failed: {e}", step.describe()));
                    }
                }
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
                    kind: err.kind,
                    message: format!("{description}: {} ({rollback})", err.message),
                });
            }
            done.push(idx);
        }
        Ok(Applied { steps: self.describe() })
    }
}

type Action = Box<dyn FnMut() -> Result<()>>;

/// A step made of two closures, for actions that need no state of their own beyond what they
/// capture (set a limit and restore the old one, create and remove a volume, ...).
pub struct FnStep {
    description: String,
    apply: Action,
    undo: Action,
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

    fn undo(&mut self) -> Result<()> {
        safe_fs::remove_created(&std::mem::take(&mut self.created))
    }
}

#[cfg(test)]
mod tests {
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
}
