//! Healing after a crash, run by `apply` before it re-converges the node.
//!
//! The share config is the commit point of every share operation. Recovery decides from what
//! it finds on the node, never from what the journal claims alone, so each rule can run again:
//! - a volume an interrupted operation created is removed if no share in the config uses it
//!   (the operation never committed), it is still what was created (same device and inode, or
//!   born after the plan was made) and it is empty; otherwise it is reported with the command
//!   that removes it;
//! - a purge the committed config asked for is finished if the data is still what was checked;
//! - a unix account `user add` created without its Samba user is removed again, and one
//!   `user delete` left behind after removing the Samba user is removed too;
//! - every share the interrupted operation touched is converged in full (its ACL too), revoking
//!   what the other version of the share (before or after) granted;
//! - a btrfs snapshot rollback interrupted in its irreversible step is finished or undone
//!   (`Gateway::heal_rollbacks`, which decides from the subvolumes on disk);
//! - temporary files and staging directories of dead processes are removed.
//!
//! What cannot be healed stays in `state/recovery.json`, is reported by every `apply` (which
//! then exits non-zero) and by `status` until it is resolved.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use smbgw_core::plan::{identity, Recovery};
use smbgw_core::store::SharesConfig;
use smbgw_core::{Error, Plan, Result, Share};
use smbgw_quota::btrfs;
use smbgw_sys::{fs, safe_fs, walk};

use crate::journal::{self, Commit};
use crate::{Change, Gateway};

/// What recovery still has to do, kept durably from the moment the journal is taken over
/// until `apply` has converged: a crash of `apply` itself loses nothing.
#[derive(Default, Serialize, Deserialize)]
struct Pending {
    operations: Vec<String>,
    entries: Vec<Recovery>,
    commits: Vec<Commit>,
    /// An operation whose journal was unreadable: every share is converged in full.
    #[serde(default)]
    converge_all: bool,
}

fn pending_path(gw: &Gateway) -> PathBuf {
    gw.layout.state_dir.join("recovery.json")
}

fn load_pending(gw: &Gateway) -> Result<Pending> {
    let path = pending_path(gw);
    match fs::read_optional(&path)? {
        None => Ok(Pending::default()),
        Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            Error::system(format!(
                "{} is unreadable ({e}); move it away and run 'pve-smbgateway apply' again",
                path.display()
            ))
        }),
    }
}

fn save_pending(gw: &Gateway, pending: &Pending) -> Result<()> {
    let path = pending_path(gw);
    if pending.entries.is_empty() && pending.commits.is_empty() && !pending.converge_all {
        return fs::remove_if_exists(&path);
    }
    let text = serde_json::to_string_pretty(pending).expect("recovery state serializes");
    fs::atomic_write(&path, text.as_bytes(), 0o600)
}

/// The outcome of recovery, for `apply` to converge and report.
#[derive(Default)]
pub(crate) struct Healing {
    notes: Vec<String>,
    unhealed: Vec<String>,
    /// Entries still unhealed, kept for the next `apply`.
    remaining: Vec<Recovery>,
    operations: Vec<String>,
    /// Shares an interrupted operation touched, with the other version of each (whose grants
    /// a full converge revokes).
    converge: BTreeMap<String, Share>,
    /// Something on the node was changed (or would be, in a dry run).
    acted: bool,
    /// Leftovers recovery does not remove, with what the admin can do.
    orphans: Vec<String>,
    /// The interrupted operation is unknown (unreadable journal): converge every share in full.
    converge_all: bool,
}

enum Outcome {
    /// Nothing left to do for this entry.
    Resolved,
    Healed(String),
    Unhealed(String),
}

impl Healing {
    /// How `apply` converges `share`: (previous version, repair only). A share an interrupted
    /// operation touched is converged in full, as if changed from its other version.
    pub fn converge_of<'a>(&'a self, share: &'a Share) -> (&'a Share, bool) {
        match self.converge.get(&share.name) {
            Some(other) => (other, false),
            None => (share, !self.converge_all),
        }
    }

    /// Report what recovery did and keep what it could not heal; an error when something
    /// could not be healed (after `apply` converged everything else).
    pub fn finish(self, gw: &Gateway, mut change: Change, dry_run: bool) -> Result<Change> {
        if !dry_run {
            save_pending(
                gw,
                &Pending {
                    operations: if self.remaining.is_empty() {
                        Vec::new()
                    } else {
                        self.operations
                    },
                    entries: self.remaining,
                    commits: Vec::new(),
                    converge_all: false,
                },
            )?;
        }
        change.changed |= self.acted;
        change.notes.extend(self.notes);
        change.notes.extend(self.orphans);
        if self.unhealed.is_empty() {
            return Ok(change);
        }
        let unhealed = self.unhealed.iter().map(|u| format!("could not heal: {u}"));
        if dry_run {
            change.notes.extend(unhealed);
            return Ok(change);
        }
        let mut lines: Vec<String> = change.notes.iter().map(|n| format!("note: {n}")).collect();
        lines.extend(unhealed);
        Err(Error::system(format!(
            "apply converged the node, but could not heal everything an interrupted operation left:\n  {}",
            lines.join("\n  ")
        )))
    }
}

impl Gateway {
    /// Take over the journal of an interrupted operation (and what earlier runs could not heal)
    /// and heal what re-converging cannot. Runs under the config lock.
    pub(crate) fn recover(&self, dry_run: bool) -> Result<Healing> {
        let mut healing = Healing::default();
        self.clean_leftovers(dry_run, &mut healing)?;
        let mut pending = load_pending(self)?;
        if let Some(interrupted) = journal::read(&self.layout)? {
            let verb = if dry_run { "would heal" } else { "healing" };
            healing
                .notes
                .push(format!("{verb} the interrupted operation {}", interrupted.summary()));
            pending.converge_all |= !interrupted.readable;
            pending.operations.push(interrupted.operation);
            pending.entries.extend(interrupted.entries);
            pending.commits.extend(interrupted.commit);
            if !dry_run {
                // durably ours before the journal goes: a crash now leaves it to the next apply
                save_pending(self, &pending)?;
                journal::remove(&self.layout)?;
            }
            healing.acted = true;
        }
        let cfg = self.store.load()?;
        // a rollback interrupted in its irreversible step: finished or undone from the disk
        for (what, healed) in self.heal_rollbacks(&cfg, dry_run) {
            match healed {
                true => healing.notes.push(what),
                false => healing.unhealed.push(what),
            }
            healing.acted = true;
        }
        let mut seen = Vec::new();
        // newest first, as a rollback would: a volume before the directory it was made in
        for entry in pending.entries.iter().rev() {
            if seen.contains(&entry) {
                continue;
            }
            seen.push(entry);
            // one entry that cannot be healed (an immutable file in a half-purged tree) must not
            // stop apply from converging the rest: it is reported and kept for the next run
            let outcome = self.heal(entry, &pending.entries, &cfg, dry_run).unwrap_or_else(|e| {
                Outcome::Unhealed(format!(
                    "{e}; fix that and run 'pve-smbgateway apply' again to finish healing"
                ))
            });
            match outcome {
                Outcome::Resolved => {}
                Outcome::Healed(what) => {
                    let verb = if dry_run { "would heal" } else { "healed" };
                    healing.notes.push(format!("{verb}: {what}"));
                    healing.acted = true;
                }
                Outcome::Unhealed(what) => {
                    healing.unhealed.push(what);
                    healing.remaining.push(entry.clone());
                }
            }
        }
        // kept in journal order for the next run
        healing.remaining.reverse();
        for commit in &pending.commits {
            touched_shares(commit, &cfg, &mut healing.converge);
        }
        healing.orphans = self.orphan_accounts()?;
        healing.converge_all = pending.converge_all;
        healing.operations = pending.operations;
        Ok(healing)
    }

    fn heal(&self, entry: &Recovery, all: &[Recovery], cfg: &SharesConfig, dry_run: bool) -> Result<Outcome> {
        let used_by = |path: &Path| {
            cfg.shares()
                .iter()
                .find(|s| smbgw_core::validate::paths_overlap(&s.path, &path.to_string_lossy()))
        };
        match entry {
            Recovery::Creates { path, since_ns } => {
                let recorded = all
                    .iter()
                    .any(|e| matches!(e, Recovery::Created { path: p, .. } if p == path));
                if recorded || used_by(path).is_some() || std::fs::symlink_metadata(path).is_err() {
                    return Ok(Outcome::Resolved);
                }
                // killed between creating it and recording it: what is there was born after
                // the plan was made, while the lock was held, so it is what the step created
                // (file times come from a coarse clock, a few ms behind the precise one)
                if born_ns(path).is_some_and(|b| b + COARSE_CLOCK_SLACK_NS >= *since_ns) {
                    let subvolume = btrfs::is_subvolume(path);
                    return self.remove_created(path, identity(path)?, subvolume, dry_run);
                }
                Ok(Outcome::Unhealed(format!(
                    "{} appeared while an interrupted operation was creating it for a share, and it cannot be told whether that operation made it; keep it by creating a share with this path, or remove it",
                    path.display()
                )))
            }
            Recovery::Created {
                path,
                dev,
                ino,
                subvolume,
            } => {
                if used_by(path).is_some() || identity(path).ok() != Some((*dev, *ino)) {
                    // committed (a share uses it), gone, or replaced by something not ours
                    return Ok(Outcome::Resolved);
                }
                self.remove_created(path, (*dev, *ino), *subvolume, dry_run)
            }
            Recovery::Purge {
                path,
                dev,
                ino,
                subvolume,
            } => {
                if used_by(path).is_some() || std::fs::symlink_metadata(path).is_err() {
                    // not committed (the share is still there), or already purged
                    return Ok(Outcome::Resolved);
                }
                if identity(path).ok() != Some((*dev, *ino)) {
                    return Ok(Outcome::Unhealed(format!(
                        "the interrupted 'delete --purge-data' did not delete {}, and it has changed since it was checked; look at it and delete it yourself",
                        path.display()
                    )));
                }
                if !dry_run {
                    if *subvolume {
                        btrfs::delete_subvolume(path, Some((*dev, *ino)))?;
                    } else {
                        remove_tree(path, (*dev, *ino))?;
                    }
                }
                Ok(Outcome::Healed(format!(
                    "finished the purge of {} that the deleted share's '--purge-data' asked for",
                    path.display()
                )))
            }
            Recovery::AddsAccount { name } | Recovery::RemovesAccount { name } => {
                // committed: the Samba user exists after `user add`, is gone after `user delete`
                let samba_user = smbgw_samba::users::exists(&self.samba, name)?;
                let account = self.samba.accounts().user(name)?;
                if samba_user || !account.as_ref().is_some_and(|a| a.ours) {
                    return Ok(Outcome::Resolved);
                }
                if !dry_run {
                    self.samba.accounts().remove_user(name)?;
                }
                let why = match entry {
                    Recovery::AddsAccount { .. } => "'user add' created it but never added the Samba user",
                    _ => "'user delete' removed the Samba user but not the account",
                };
                Ok(Outcome::Healed(format!("removed unix account '{name}': {why}")))
            }
        }
    }

    /// Remove an empty volume an interrupted operation created for a share it never committed.
    /// Through handles only: share users may write in the parent and swap the path meanwhile.
    fn remove_created(&self, path: &Path, id: (u64, u64), subvolume: bool, dry_run: bool) -> Result<Outcome> {
        let (parent, name) = safe_fs::open_parent(path)?;
        let dir = parent.open_child(&name)?;
        if dir.stat()?.identity() != id {
            return Ok(Outcome::Unhealed(format!(
                "{} changed while recovery looked at it; look at it and remove it yourself if it holds nothing",
                path.display()
            )));
        }
        let empty = dir.names()?.is_empty();
        let command = if subvolume {
            format!("btrfs subvolume delete {}", path.display())
        } else {
            format!("rm -r {}", path.display())
        };
        if !empty {
            return Ok(Outcome::Unhealed(format!(
                "{} was created for a share by an interrupted operation that never committed, and it is not empty; keep it by creating a share with this path, or remove it with '{command}'",
                path.display()
            )));
        }
        if !dry_run {
            if subvolume {
                btrfs::delete_subvolume(path, Some(id))?;
            } else {
                parent.remove_empty_child(&name, id)?;
            }
        }
        let what = if subvolume { "btrfs subvolume" } else { "directory" };
        Ok(Outcome::Healed(format!(
            "removed the empty {what} {} that an interrupted operation created for a share it never committed",
            path.display()
        )))
    }

    /// Temporary files and staging directories of processes that died: ours, and holding no data.
    fn clean_leftovers(&self, dry_run: bool, healing: &mut Healing) -> Result<()> {
        let layout = &self.layout;
        let mut dirs = vec![
            layout.state_dir.clone(),
            layout.share_conf_dir.clone(),
            layout.run_dir.clone(),
            layout.log_dir.clone(),
        ];
        if let Some(sandbox) = &layout.sandbox {
            dirs.push(sandbox.root.join("accounts"));
        }
        let mut leftovers: Vec<PathBuf> = dirs.iter().flat_map(|d| fs::stale_tmp_files(d)).collect();
        // the cluster filesystem holds other nodes' files too, whose pids mean nothing here:
        // only files no writer has touched for a while (a write takes milliseconds)
        // (the config's history is written the same way, one directory below)
        let history = layout.config_dir.join(smbgw_core::store::HISTORY_DIR);
        let config_tmp = [&layout.config_dir, &history]
            .into_iter()
            .flat_map(|d| fs::stale_tmp_files(d));
        let cluster_wide = !layout.is_sandbox() && layout.config_dir.starts_with("/etc/pve");
        leftovers.extend(config_tmp.filter(|p| !cluster_wide || idle_for(p) > CLUSTER_TMP_IDLE));
        // beside smb.conf live other programs' files: only ours
        if let (Some(dir), Some(name)) = (layout.smb_conf.parent(), layout.smb_conf.file_name()) {
            let prefix = format!(".{}.", name.to_string_lossy());
            leftovers.extend(
                fs::stale_tmp_files(dir)
                    .into_iter()
                    .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(&prefix))),
            );
        }
        let staging = smbgw_samba::testparm::stale_staging_dirs(layout);
        for path in leftovers.iter().chain(&staging) {
            if !dry_run {
                if path.is_dir() {
                    std::fs::remove_dir_all(path).map_err(|e| Error::io("removing", path, e))?;
                } else {
                    fs::remove_if_exists(path)?;
                }
            }
            let verb = if dry_run { "would remove" } else { "removed" };
            healing
                .notes
                .push(format!("{verb} {} left behind by a process that died", path.display()));
            healing.acted = true;
        }
        Ok(())
    }

    /// For `status`: what `apply` would heal, and what it could not, without changing anything.
    pub(crate) fn recovery_problems(&self) -> Vec<String> {
        // a journal whose process still runs is an operation in progress, not an interrupted one
        if let Ok(Some(running)) = journal::read(&self.layout) {
            if running.pid != std::process::id() && Path::new(&format!("/proc/{}", running.pid)).exists() {
                return Vec::new();
            }
        }
        match self.recover(true) {
            Ok(healing) => {
                let would = healing
                    .notes
                    .into_iter()
                    .map(|n| format!("run 'pve-smbgateway apply': {n}"));
                let cannot = healing.unhealed.into_iter().map(|u| format!("apply cannot heal: {u}"));
                would.chain(cannot).chain(healing.orphans).collect()
            }
            Err(e) => vec![format!("checking for leftovers of interrupted operations failed: {e}")],
        }
    }

    /// Unix accounts the gateway created that are no Samba user (any more): found on every
    /// `apply`, reported with both ways out. The ones an interrupted operation left are
    /// removed by recovery; others may own files, so their removal is the admin's call.
    fn orphan_accounts(&self) -> Result<Vec<String>> {
        let passwd = match &self.layout.sandbox {
            Some(sandbox) => sandbox.root.join("accounts/passwd"),
            None => PathBuf::from("/etc/passwd"),
        };
        let text = fs::read_optional(&passwd)?.unwrap_or_default();
        let text = String::from_utf8_lossy(&text);
        let ours: Vec<(&str, &str)> = text
            .lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .filter(|f| f.len() > 4 && f[4] == smbgw_samba::accounts::MARKER)
            .map(|f| (f[0], f[2]))
            .collect();
        if ours.is_empty() {
            return Ok(Vec::new());
        }
        let samba = smbgw_samba::users::list(&self.samba)?;
        Ok(ours
            .into_iter()
            .filter(|(name, _)| !samba.iter().any(|u| u.name == *name))
            .map(|(name, uid)| {
                format!(
                    "unix account '{name}' (uid {uid}) was created by pve-smbgateway but is no Samba user: give it a password with 'pve-smbgateway user add {name}', or remove it with 'pve-smbgateway user delete {name}'"
                )
            })
            .collect())
    }
}

/// The shares an operation changed, each with the version recovery converges away from: the
/// one before if the operation committed, the one it was writing if not.
fn touched_shares(commit: &Commit, cfg: &SharesConfig, out: &mut BTreeMap<String, Share>) {
    let parse = |text: Option<&str>| {
        text.and_then(|t| SharesConfig::parse(t, Path::new("shares.cfg")).ok())
            .unwrap_or_default()
    };
    let (before, after) = (parse(commit.before.as_deref()), parse(Some(&commit.after)));
    for share in before.shares().iter().chain(after.shares()) {
        let (b, a) = (before.get(&share.name), after.get(&share.name));
        if b == a {
            continue;
        }
        let Some(current) = cfg.get(&share.name) else { continue };
        let other = if Some(current) == a { b } else { a };
        out.insert(share.name.clone(), other.unwrap_or(current).clone());
    }
}

/// The operation a journal is about, for humans.
pub(crate) fn operation_name(share: Option<&Share>, commit: Option<&Commit>, plan: &Plan) -> String {
    if let (Some(share), Some(commit)) = (share, commit) {
        let has = |text: Option<&str>| {
            text.and_then(|t| SharesConfig::parse(t, Path::new("shares.cfg")).ok())
                .is_some_and(|c| c.get(&share.name).is_some())
        };
        let verb = match (has(commit.before.as_deref()), has(Some(&commit.after))) {
            (false, true) => "create",
            (true, false) => "delete",
            _ => "update",
        };
        return format!("{verb} share {}", share.name);
    }
    for (_, intent) in plan.intents() {
        match intent {
            Recovery::AddsAccount { name } => return format!("user add {name}"),
            Recovery::RemovesAccount { name } => return format!("user delete {name}"),
            _ => {}
        }
    }
    let steps = plan.describe();
    match (share, steps.first()) {
        (Some(share), _) => format!("change of share {}", share.name),
        (None, Some(first)) => format!("{} step(s) starting with '{first}'", steps.len()),
        (None, None) => "an empty operation".into(),
    }
}

/// How far a file's birth time may lag the clock that stamped `Recovery::Creates`.
const COARSE_CLOCK_SLACK_NS: u64 = 1_000_000_000;

/// How long a temporary file in the cluster filesystem must be untouched to be a leftover.
const CLUSTER_TMP_IDLE: std::time::Duration = std::time::Duration::from_secs(600);

/// Time since `path` was last modified (zero if unknown: then it is not idle).
fn idle_for(path: &Path) -> std::time::Duration {
    let modified = std::fs::symlink_metadata(path).and_then(|m| m.modified());
    modified.ok().and_then(|m| m.elapsed().ok()).unwrap_or_default()
}

/// When `path` was born (statx btime), in nanoseconds since the epoch.
fn born_ns(path: &Path) -> Option<u64> {
    let born = std::fs::symlink_metadata(path).ok()?.created().ok()?;
    Some(born.duration_since(std::time::UNIX_EPOCH).ok()?.as_nanos() as u64)
}

/// Delete the directory tree at `path`, which must still be `id`, through handles (no link
/// followed, no other mount entered): what a committed purge left undone.
fn remove_tree(path: &Path, id: (u64, u64)) -> Result<()> {
    let (parent, name) = safe_fs::open_parent(path)?;
    let root = parent.open_child(&name)?;
    if root.stat()?.identity() != id {
        return Err(Error::system(format!(
            "{} changed since it was checked; not deleting it",
            path.display()
        )));
    }
    if let Some(e) = walk::remove_contents(root, &mut |_| {}).error {
        return Err(e);
    }
    parent.remove_empty_child(&name, id).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> SharesConfig {
        SharesConfig::parse(text, Path::new("shares.cfg")).unwrap()
    }

    #[test]
    fn touched_shares_converge_away_from_the_other_version() {
        let rw = "share: s\n\tpath /srv/s\n\tusers alice\n\n";
        let ro = "share: s\n\tpath /srv/s\n\tusers alice\n\tread-only 1\n\n";
        let commit = Commit {
            step: 2,
            before: Some(rw.into()),
            after: ro.into(),
        };
        // not committed: the config still says writable, converge away from read-only
        let mut out = BTreeMap::new();
        touched_shares(&commit, &cfg(rw), &mut out);
        assert!(out["s"].read_only);
        // committed: converge away from writable
        let mut out = BTreeMap::new();
        touched_shares(&commit, &cfg(ro), &mut out);
        assert!(!out["s"].read_only);
        // an untouched share is not converged in full
        let mut out = BTreeMap::new();
        let same = Commit {
            step: 1,
            before: Some(rw.into()),
            after: rw.into(),
        };
        touched_shares(&same, &cfg(rw), &mut out);
        assert!(out.is_empty());
    }
}
