//! The storage of a share: its directory or its backend's volume (btrfs subvolume, ZFS dataset,
//! CephFS directory), created when missing, its quota and per-user quotas set, and on delete its
//! limit lifted or (purge) its volume destroyed. What differs per backend is asked of
//! `smbgw_quota::backend::StorageBackend`; nothing here matches on the backend. The quota
//! figures read back live in `quota.rs`. Every change on the share tree goes through handles
//! opened without following links (`smbgw_sys::safe_fs`): its parent and its contents may
//! belong to users.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use smbgw_core::plan::FnStep;
use smbgw_core::size::format_size;
use smbgw_core::{bail_field, bail_input, Error, Plan, QuotaBackend, Result, Share};
use smbgw_quota::backend::{self, QuotaFacts, Volume, VolumeRequest};
use smbgw_quota::Filesystem;
use smbgw_sys::safe_fs::{self, Dir};
use smbgw_sys::walk;

use crate::Gateway;

/// What planning a share's storage decided: the backend its volume is in (and the dataset of a
/// ZFS one), and whether its directory was there already. The share planned for is left as it
/// was; the operation records the decision in the share it stores (`record`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StorageDecision {
    pub backend: QuotaBackend,
    pub zfs_dataset: Option<String>,
    pub existed: bool,
}

/// What planning a share's storage reads from the node first.
pub(crate) struct StorageFacts {
    /// The share's directory exists.
    pub exists: bool,
    /// The filesystem under it (or where it will be).
    pub filesystem: Filesystem,
}

/// The backend the share's storage is made in; `None`: a plain directory. A share that needs a
/// volume (a quota, a dataset, per-user quotas, a backend chosen) gets the configured backend or
/// the filesystem's; without, the filesystem's backend decides (`claims_share_without_quota`:
/// a new share on btrfs still gets its own subvolume, every share on CephFS is recorded as
/// such); any other share is a directory.
fn storage_backend(share: &Share, facts: &StorageFacts) -> Result<Option<QuotaBackend>> {
    let wants_volume = share.quota.is_some()
        || share.zfs_dataset.is_some()
        || !share.user_quotas.is_empty()
        || !share.quota_backend.is_auto();
    if wants_volume {
        return facts
            .filesystem
            .resolve(share.quota_backend, Path::new(&share.path))
            .map(Some);
    }
    Ok(facts
        .filesystem
        .backend
        .filter(|b| backend::of(*b).is_some_and(|imp| imp.claims_share_without_quota(facts.exists))))
}

impl StorageDecision {
    /// The share as it is stored after this plan: with the backend (and dataset) in use.
    pub(crate) fn record(&self, share: &mut Share) {
        share.quota_backend = self.backend;
        share.zfs_dataset = self.zfs_dataset.clone();
    }
}

impl Gateway {
    /// Create the share's storage if it is missing (a subvolume on btrfs, a dataset on ZFS
    /// when the share has a quota or a dataset, a directory otherwise) and bring its quota to
    /// what the share says. Returns the quota backend (and dataset) it decided on.
    /// `previous` is the share's configuration before this change (`None` on create).
    pub(crate) fn storage_steps(
        &self,
        share: &Share,
        previous: Option<&Share>,
        quota_facts: &QuotaFacts,
        plan: &mut Plan,
        notes: &mut Vec<String>,
    ) -> Result<StorageDecision> {
        let path = PathBuf::from(&share.path);
        let facts = StorageFacts {
            exists: path.exists(),
            filesystem: Filesystem::of(&path)?,
        };
        let exists = facts.exists;
        let backend = storage_backend(share, &facts)?;
        let mode = share_root_mode(share);
        let mut decision = StorageDecision {
            backend: backend.unwrap_or(share.quota_backend),
            zfs_dataset: share.zfs_dataset.clone(),
            existed: exists,
        };
        let request = VolumeRequest {
            path: &path,
            exists,
            mode,
            dataset: share.zfs_dataset.as_deref(),
        };
        // `resolve` and `detect` never answer `Auto`; no backend: a plain directory
        let planned = match backend.and_then(backend::of) {
            Some(imp) => imp.plan_volume(&request, plan)?,
            None => {
                if !exists {
                    plan.push(smbgw_core::plan::CreateDir::new(&path, mode));
                }
                backend::PlannedVolume { exists, dataset: None }
            }
        };
        if planned.dataset.is_some() {
            decision.zfs_dataset = planned.dataset;
        }
        let volume = Volume::new(decision.backend, &path, decision.zfs_dataset.as_deref());
        let volume = volume.map(|v| (v, planned.exists));
        self.quota_steps(share, volume, previous, quota_facts, plan, notes)?;
        Ok(decision)
    }

    /// Set the limit the share asks for where the filesystem enforces another one. A limit the
    /// gateway never set is left alone: only a quota removed from the share is lifted.
    /// `volume`: the share's volume and whether it exists before the plan runs.
    fn quota_steps(
        &self,
        share: &Share,
        volume: Option<(Volume, bool)>,
        previous: Option<&Share>,
        facts: &QuotaFacts,
        plan: &mut Plan,
        notes: &mut Vec<String>,
    ) -> Result<()> {
        let Some((volume, volume_exists)) = volume else {
            return Ok(());
        };
        let wanted = match (share.quota, previous.and_then(|p| p.quota)) {
            (Some(limit), _) => Some(limit),
            (None, Some(_)) => None,
            (None, None) => return Ok(()),
        };
        let imp = volume.backend();
        // limits switched off behind our back: none is enforced, whatever was set before
        let quotas_off = volume_exists && !imp.limits_active(&volume, facts)?;
        let current = if volume_exists && !quotas_off {
            Some(imp.planned_usage(&volume, facts)?)
        } else {
            None
        };
        let previous = current.and_then(|u| u.limit);
        if previous == wanted {
            return Ok(());
        }
        if let (Some(limit), Some(usage)) = (share.quota, current) {
            if usage.used > limit {
                bail_field!(
                    "quota",
                    "share '{}' already stores {} ({} bytes), more than the requested quota of {} ({} bytes); free space first or choose a larger quota",
                    share.name,
                    format_size(usage.used),
                    usage.used,
                    format_size(limit),
                    limit
                );
            }
        }
        if let Some(limit) = share.quota {
            let probe = smbgw_quota::existing_ancestor(Path::new(&share.path));
            if let Ok(st) = nix::sys::statvfs::statvfs(&probe) {
                let total = st.blocks() * st.fragment_size();
                if limit > total {
                    notes.push(format!(
                        "the quota of {} is larger than the whole filesystem under {} ({}); it cannot be reached",
                        format_size(limit),
                        share.path,
                        format_size(total)
                    ));
                }
            }
        }
        imp.limit_prerequisites(&volume, share.quota, facts, plan)?;
        let (apply, undo) = (volume.clone(), volume.clone());
        let limit = share.quota;
        plan.push(FnStep::new(
            volume.describe_limit(limit),
            move || apply.set_limit(limit),
            move || undo.set_limit(previous),
        ));
        Ok(())
    }

    /// ZFS per-user and per-group limits (`userquota@NAME`, `groupquota@NAME`), set where they
    /// differ from the previous configuration of the share.
    pub(crate) fn user_quota_steps(&self, share: &Share, previous: Option<&Share>, plan: &mut Plan) -> Result<()> {
        let empty = BTreeMap::new();
        let old = previous.map_or(&empty, |p| &p.user_quotas);
        let new = &share.user_quotas;
        if old == new {
            return Ok(());
        }
        let Some(volume) = Volume::of(share).filter(|v| v.backend().user_quotas()) else {
            bail_input!(
                "share '{}': per-user quotas need a ZFS dataset (userquota@); this share uses '{}'",
                share.name,
                share.quota_backend
            );
        };
        let names: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
        for who in names {
            let (before, after) = (old.get(who).copied(), new.get(who).copied());
            if before == after {
                continue;
            }
            let (v1, v2, w1, w2) = (volume.clone(), volume.clone(), who.clone(), who.clone());
            plan.push(FnStep::new(
                volume.backend().describe_user_limit(&volume, who, after),
                move || v1.backend().set_user_limit(&v1, &w1, after),
                move || v2.backend().set_user_limit(&v2, &w2, before),
            ));
        }
        Ok(())
    }

    /// On delete: lift the limit (the data stays), or with `purge` destroy the volume. A purge
    /// first walks the tree and refuses, before anything is changed, what it could not finish:
    /// immutable or append-only entries, mount points and subvolumes (snapshots) inside, and
    /// what the backend refuses (CephFS snapshots).
    pub(crate) fn release_steps(&self, share: &Share, purge: bool, plan: &mut Plan) -> Result<()> {
        let path = PathBuf::from(&share.path);
        let volume = Volume::of(share);
        if !path.exists() {
            return Ok(());
        }
        if purge {
            let mut check = purge_check(&path)?;
            // the stored backend, or for a share stored before it was recorded, the filesystem's
            let imp = backend::of(share.quota_backend)
                .or_else(|| smbgw_quota::detect(&path).ok().flatten().and_then(backend::of));
            if let Some(imp) = imp {
                check.problems.extend(imp.purge_refusals(&Dir::open(&path)?)?);
            }
            if !check.problems.is_empty() {
                let more = check.problems.len().saturating_sub(MAX_LISTED);
                bail_input!(
                    "--purge-data refused: {} of the {} entries in {} cannot be deleted: {}{}; nothing was changed. Clear those first (chattr -i / -a, umount, btrfs subvolume delete, rmdir of CephFS snapshots) and run the delete again, or delete without --purge-data",
                    check.problems.len(),
                    check.entries,
                    path.display(),
                    check.problems[..check.problems.len().min(MAX_LISTED)].join("; "),
                    if more > 0 { format!("; and {more} more") } else { String::new() }
                );
            }
            let description = format!(
                "delete the share's data in {} ({} entries; cannot be undone)",
                path.display(),
                check.entries
            );
            let identity = check.identity;
            let journaled = volume.as_ref().is_none_or(|v| v.backend().purge_journaled());
            let destroy = volume.as_ref().and_then(|v| v.backend().destroy_volume(v, identity));
            let action: Box<dyn FnMut() -> Result<()>> = match destroy {
                Some(destroy) => destroy,
                None => {
                    let (name, total, progress) = (share.name.clone(), check.entries, self.progress);
                    let marker = self.purge_marker(&share.name);
                    Box::new(move || {
                        let result = purge_directory(&path, identity, total, &name, progress);
                        // the share stays known as purge-incomplete until a re-run finishes
                        match &result {
                            Err(e) => {
                                let dir = marker.parent().unwrap_or(Path::new("/"));
                                let _ = smbgw_sys::fs::create_dir_all(dir, 0o700);
                                // the path first: a later share of the same name is another share
                                let text = format!("{}\n{}", path.display(), e.message);
                                let _ = smbgw_sys::fs::atomic_write(&marker, text.as_bytes(), 0o600);
                            }
                            Ok(()) => {
                                let _ = smbgw_sys::fs::remove_if_exists(&marker);
                            }
                        }
                        result
                    })
                }
            };
            let step = FnStep::irreversible(description, action);
            // journalled, so that a crash after the commit still purges (a dataset: not here)
            plan.push(if journaled {
                step.purges(Path::new(&share.path))?
            } else {
                step
            });
        } else if let (Some(volume), Some(_)) = (volume, share.quota) {
            let (apply, undo, limit) = (volume.clone(), volume.clone(), share.quota);
            plan.push(FnStep::new(
                volume.describe_limit(None),
                move || apply.set_limit(None),
                move || undo.set_limit(limit),
            ));
        }
        Ok(())
    }
}

impl Gateway {
    /// Node-local mark of a share whose purge stopped part-way (its message inside): `status`
    /// shows the share as purge-incomplete until `delete NAME --purge-data` finishes.
    pub(crate) fn purge_marker(&self, share: &str) -> PathBuf {
        self.layout.state_dir.join("purge-incomplete").join(share)
    }

    /// Why the share's purge is incomplete, if it is (a marker left by an earlier share of the
    /// same name on another path does not count).
    pub(crate) fn purge_incomplete(&self, share: &Share) -> Option<String> {
        let text = std::fs::read_to_string(self.purge_marker(&share.name)).ok()?;
        let (path, reason) = text.split_once('\n')?;
        (path == share.path).then(|| reason.trim().to_string())
    }
}

/// How many problems or leftovers a message lists by name.
const MAX_LISTED: usize = 10;

/// What a purge would meet, found by an fd walk before anything is deleted.
struct PurgeCheck {
    /// Entries in the tree, the share root included.
    entries: u64,
    problems: Vec<String>,
    /// (device, inode) of the share root as checked: the purge deletes only that directory.
    identity: (u64, u64),
}

fn purge_check(path: &Path) -> Result<PurgeCheck> {
    let root = Dir::open(path)?;
    let identity = root.stat()?.identity();
    let mut problems = Vec::new();
    let flag_problem = |flags: u32, p: &Path| {
        if flags & safe_fs::FS_IMMUTABLE_FL != 0 {
            Some(format!("{} is immutable (chattr -i)", p.display()))
        } else if flags & safe_fs::FS_APPEND_FL != 0 {
            Some(format!("{} is append-only (chattr -a)", p.display()))
        } else {
            None
        }
    };
    let entries = walk::walk(root, &mut |_| {}, &mut |entry| {
        let problem = match entry {
            walk::Entry::Dir(d, _) => flag_problem(d.flags()?, d.path()),
            walk::Entry::File(f, _) => flag_problem(f.flags()?, &f.path),
            walk::Entry::Skipped(p, walk::Skip::OtherMount) => Some(format!(
                "{} is a mount point or a btrfs subvolume (a snapshot?)",
                p.display()
            )),
            walk::Entry::Skipped(..) => None,
        };
        problems.extend(problem);
        Ok(())
    })?;
    Ok(PurgeCheck {
        entries,
        problems,
        identity,
    })
}

/// Delete the share directory and everything in it through handles. If it stops part-way (a
/// race: something became immutable or was mounted after the check), say exactly what was
/// deleted and what is left, and how to finish.
fn purge_directory(path: &Path, identity: (u64, u64), total: u64, share: &str, progress: bool) -> Result<()> {
    let (parent, name) = safe_fs::open_parent(path)?;
    let root = parent.open_child(&name)?;
    if root.stat()?.identity() != identity {
        return Err(Error::system(format!(
            "{} changed since it was checked; not deleting it (nothing was deleted)",
            path.display()
        )));
    }
    let mut report = |n: u64| {
        if progress {
            eprintln!("deleted {n} of {total} entries in {}", path.display());
        }
    };
    let removal = walk::remove_contents(root, &mut report);
    let result = match removal.error {
        None => parent.remove_empty_child(&name, identity).map(|_| ()),
        Some(e) => Err(e),
    };
    result.map_err(|e| {
        let left = leftovers(path);
        Error::system(format!(
            "purge of {} stopped: {}; deleted {} of {} entries{}; left: {}. The share stays configured, marked purge-incomplete in 'status': run 'pve-smbgateway delete {share} --purge-data' again to finish",
            path.display(),
            e.message,
            removal.deleted,
            total,
            if removal.examples.is_empty() {
                String::new()
            } else {
                format!(" (among them {})", removal.examples.join(", "))
            },
            left
        ))
    })
}

/// The entries still in `path` after a failed purge, for the message.
fn leftovers(path: &Path) -> String {
    let Ok(root) = Dir::open(path) else {
        return format!("{} (could not be opened)", path.display());
    };
    let mut names = Vec::new();
    let count = walk::walk(root, &mut |_| {}, &mut |entry| {
        if names.len() < MAX_LISTED {
            names.push(match entry {
                walk::Entry::Dir(d, _) => d.path().display().to_string(),
                walk::Entry::File(f, _) => f.path.display().to_string(),
                walk::Entry::Skipped(p, ..) => p.display().to_string(),
            });
        }
        Ok(())
    });
    match count {
        Ok(n) if n as usize > names.len() => format!("{n} entries: {}, ...", names.join(", ")),
        Ok(n) => format!("{n} entries: {}", names.join(", ")),
        Err(e) => format!("{}, ... (walk stopped: {e})", names.join(", ")),
    }
}

/// Mode of a share root the gateway creates: shares open to every user (or guests) need a
/// world-writable root, sticky so nobody removes another's files; the others get access
/// through ACL entries.
pub(crate) fn share_root_mode(share: &Share) -> u32 {
    // a home share's root: each user passes through to their own folder, lists nothing
    if share.homes {
        0o711
    } else if share.guest || (share.users.is_empty() && share.groups.is_empty()) {
        0o1777
    } else {
        0o770
    }
}

#[cfg(test)]
mod tests;
