//! `backup create|list|restore`: a share's backups to a Proxmox Backup Server storage, each read
//! from a snapshot of the share (so files changing during the upload do not make it
//! inconsistent), run through PBS's own client (crates/gateway/src/pbs.rs) into the group
//! `host/<node>-smbgw-<share>`; restored as a whole into a new directory, or file by file.
//!
//! The snapshot a backup reads is ours, of kind `backup` (crates/gateway/src/snapshots.rs): no
//! retention prunes it, and it is deleted when the backup ends, passed or failed. The config
//! lock is held while it is taken and deleted, not during the upload, which may take hours.
//! Every refusal (storage, filesystem, mode, target) comes before anything is written or any
//! PBS tool runs.

use std::os::fd::AsRawFd;
use std::path::PathBuf;

use serde::Serialize;
use smbgw_core::plan::FnStep;
use smbgw_core::{bail_field, validate, Error, ErrorKind, Plan, QuotaBackend, Result, ResultExt, Share};
use smbgw_quota::backend::Volume;
use smbgw_quota::snapshot::{Snapshot, SnapshotBackend, SNAPSHOTS_DIR};

use crate::pbs::{self, backup_id, utc_time, PbsClient};
use crate::snapshots::{ScheduleJob, ScheduleRun, SnapshotKind};
use crate::{Change, Gateway};

mod target;

use target::{check_file, parent_and_leaf};

/// What `backup create` did (or would do): the plan's steps and the PBS snapshot made.
#[derive(Debug, Serialize)]
pub struct BackupMade {
    #[serde(flatten)]
    pub change: Change,
    pub storage: String,
    /// The PBS snapshot, `host/<node>-smbgw-<share>/<time>`, as `backup list` and `backup
    /// restore --snapshot` name it (by its time).
    pub snapshot: String,
}

/// One backup of a share on one storage.
#[derive(Clone, Debug, Serialize)]
pub struct BackupEntry {
    /// Its backup time as PBS writes it: what `backup restore --snapshot` takes.
    pub time: String,
    #[serde(flatten)]
    pub snapshot: pbs::Snapshot,
}

/// The backups of a share on one PBS storage, or why they could not be read.
#[derive(Clone, Debug, Serialize)]
pub struct StorageBackups {
    pub storage: String,
    pub backups: Vec<BackupEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct BackupList {
    pub share: String,
    /// The share's backup group on every storage: `host/<this>`.
    pub backup_id: String,
    pub storages: Vec<StorageBackups>,
    /// When the daemon runs the next scheduled backup (unix seconds); none without a schedule
    /// (or for a share that no longer exists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_run: Option<i64>,
}

/// What `backup restore` is asked for.
#[derive(Clone, Debug, Default)]
pub struct RestoreRequest {
    pub storage: String,
    pub snapshot: String,
    pub target: String,
    /// One file or directory of the backup (relative to the share), else the whole share.
    pub file: Option<String>,
}

/// Where the content of `snapshot` of `volume` can be read: the directory Previous Versions
/// read it from.
fn content_dir(volume: &Volume, snapshot: &Snapshot) -> PathBuf {
    match volume.backend {
        QuotaBackend::Zfs => volume.path.join(".zfs/snapshot").join(&snapshot.name),
        QuotaBackend::Cephfs => volume.path.join(smbgw_quota::cephfs::SNAPDIR).join(&snapshot.name),
        _ => volume.path.join(SNAPSHOTS_DIR).join(&snapshot.name),
    }
}

impl Gateway {
    /// The share to back up: one whose directory is on this node and on a filesystem with
    /// snapshots (a backup is read from one); refused on `name` otherwise.
    fn backup_source(&self, name: &str) -> Result<(Share, &'static dyn SnapshotBackend, Volume)> {
        let share = self.share(name)?;
        if !share.mode.has_node_directory() {
            bail_field!(
                "name",
                "share '{}' keeps its data on its VM's own disk, which the node cannot read: back the VM up with PVE's own backup (vzdump) instead",
                share.name
            );
        }
        let (backend, volume) = smbgw_quota::snapshot::of(&share, "name").map_err(|e| match e.kind {
            ErrorKind::Input => Error::input(format!(
                "{}; a backup is read from a snapshot of the share, so that files changing during the upload cannot make it inconsistent",
                e.message
            ))
            .field("name"),
            _ => e,
        })?;
        Ok((share, backend, volume))
    }

    /// The node-local lock a backup of share `name` holds from start to end; taken at once or
    /// refused, as PBS refuses a second backup of one group.
    fn backup_running_lock(&self, name: &str) -> Result<smbgw_sys::lock::LockGuard> {
        let dir = self.layout.state_dir.join("backup-locks");
        smbgw_sys::fs::create_dir_all(&dir, 0o700)?;
        let path = dir.join(format!("{}.lock", pbs::pbs_name(name)));
        smbgw_sys::lock::lock_file(&path, std::time::Duration::ZERO).map_err(|_| {
            Error::system(format!(
                "a backup of share '{name}' is already running on this node; try again when it has ended"
            ))
        })
    }

    /// The client for `storage`, its id checked first.
    fn backup_client(&self, storage: &str) -> Result<PbsClient> {
        smbgw_core::schema::check_format("smbgw-storage", storage).field("storage")?;
        self.pbs_client(storage)
    }

    /// Back share `name` up to PBS storage `storage`: a snapshot of kind `backup`, the client
    /// run on it (retried on transient failures), the snapshot deleted again whatever the
    /// outcome.
    pub fn backup_create(&self, name: &str, storage: &str, dry_run: bool) -> Result<BackupMade> {
        let client = self.backup_client(storage)?;
        self.backup_create_with(name, client, dry_run)
    }

    /// `backup_create` with `client` (tests: the PBS tools' stand-ins, recorded waits).
    pub fn backup_create_with(&self, name: &str, client: PbsClient, dry_run: bool) -> Result<BackupMade> {
        self.backup_at(name, client, dry_run, smbgw_sys::time::now() as i64)
    }

    /// The backup, its snapshot and PBS snapshot named for `time` (or the next free second).
    fn backup_at(&self, name: &str, mut client: PbsClient, dry_run: bool, at: i64) -> Result<BackupMade> {
        let (share, backend, volume) = self.backup_source(name)?;
        let id = backup_id(&self.node_name()?, &share.name);
        let storage = client.target().storage.clone();
        // one backup of a share at a time on this node, held until the end (also in a dry run:
        // it tells what a real run would find)
        let _running = self.backup_running_lock(&share.name)?;
        let lock = self.lock_for(dry_run)?;
        let (_, _, entries) = self.snapshots_of(&share)?;
        // a name of its own: a scheduled or manual snapshot may have been taken this second
        let mut time = at;
        while entries.iter().any(|e| e.snapshot.name == backend.name_at(time)) {
            time += 1;
        }
        let pbs_snapshot = format!("host/{id}/{}", utc_time(time));
        let snapshot_name = backend.name_at(time);
        let mut plan = Plan::new();
        let mut notes = Vec::new();
        // with the share's backup lock held, a backup snapshot is one an interrupted run left
        // (CephFS: another node may be backing up the share now, so its are left alone)
        if volume.backend != QuotaBackend::Cephfs {
            for left in entries.iter().filter(|e| e.kind == Some(SnapshotKind::Backup)) {
                notes.push(format!(
                    "backup snapshot {} was left by an interrupted backup",
                    left.snapshot.name
                ));
                self.delete_step(&share, backend, &volume, left.snapshot.clone(), &mut plan);
            }
        }
        let taken = self.take_step(&share, backend, &volume, time, SnapshotKind::Backup, &mut plan);
        let upload = format!(
            "back up the snapshot to PBS storage '{storage}' ({}) as {pbs_snapshot}",
            client.target().repository()
        );
        let cleanup = format!("delete backup snapshot {snapshot_name} of {}", share.path);
        if dry_run {
            plan.push(FnStep::irreversible(upload, || Ok(())));
            plan.push(FnStep::irreversible(cleanup, || Ok(())));
            let change = self.execute(plan, true, None, notes)?;
            return Ok(BackupMade {
                change,
                storage,
                snapshot: pbs_snapshot,
            });
        }
        let mut change = self.execute(plan, false, None, notes)?;
        drop(lock);
        let snap = taken.borrow_mut().take().expect("the snapshot step ran");
        if self.progress {
            eprintln!("{upload}");
        }
        // the client reads the directory a handle holds (opened without following links), so
        // nobody who may write to the share can swap another tree in under the snapshot's path
        let uploaded = smbgw_sys::safe_fs::Dir::open(&content_dir(&volume, &snap)).and_then(|dir| {
            let held = PathBuf::from(format!("/proc/{}/fd/{}", std::process::id(), dir.fd().as_raw_fd()));
            client.backup(&share.name, &held, &id, Some(time))
        });
        // the snapshot goes whatever the upload did
        let _lock = self.lock_for(false)?;
        let mut plan = Plan::new();
        self.delete_step(&share, backend, &volume, snap, &mut plan);
        let deleted = self.execute(plan, false, None, Vec::new());
        if let Err(e) = uploaded {
            return Err(match deleted {
                Ok(_) => e,
                Err(d) => Error {
                    message: format!(
                        "{}; the backup snapshot {snapshot_name} was not deleted ({}): delete it with 'pve-smbgateway snapshot delete {} {snapshot_name}'",
                        e.message, d.message, share.name
                    ),
                    ..e
                },
            });
        }
        change.steps.push(upload);
        match deleted {
            Ok(d) => change.steps.extend(d.steps),
            Err(d) => change.notes.push(format!(
                "the backup passed, but its snapshot {snapshot_name} was not deleted ({}): delete it with 'pve-smbgateway snapshot delete {} {snapshot_name}'",
                d.message, share.name
            )),
        }
        change
            .notes
            .push(format!("backed up as {pbs_snapshot} on PBS storage '{storage}'"));
        Ok(BackupMade {
            change,
            storage,
            snapshot: pbs_snapshot,
        })
    }

    /// The backups of share `name` (which need not exist any more) on `storage`, or on every
    /// usable PBS storage of this node.
    pub fn backup_list(&self, name: &str, storage: Option<&str>) -> Result<BackupList> {
        validate::share_name(name).field("name")?;
        let id = backup_id(&self.node_name()?, name);
        let storages: Vec<String> = match storage {
            Some(s) => vec![s.to_string()],
            None => self
                .pbs_storages()?
                .into_iter()
                .filter(|s| s.usable)
                .map(|s| s.storage)
                .collect(),
        };
        let mut list = BackupList {
            share: name.to_string(),
            backup_id: id.clone(),
            storages: Vec::new(),
            next_run: self
                .share(name)
                .ok()
                .and_then(|share| self.next_scheduled_run(ScheduleJob::Backup, &share)),
        };
        for s in storages {
            let read = self.backup_client(&s).and_then(|mut c| self.backups_in(&mut c, &id));
            let (backups, error) = match (read, storage) {
                (Ok(b), _) => (b, None),
                // the one storage asked for: its failure is the answer
                (Err(e), Some(_)) => return Err(e),
                (Err(e), None) => (Vec::new(), Some(e.message)),
            };
            list.storages.push(StorageBackups {
                storage: s,
                backups,
                error,
            });
        }
        Ok(list)
    }

    /// The snapshots of group `host/<id>`, oldest first; none when the group does not exist.
    pub fn backups_in(&self, client: &mut PbsClient, id: &str) -> Result<Vec<BackupEntry>> {
        Ok(client
            .snapshots(id)?
            .into_iter()
            .map(|snapshot| BackupEntry {
                time: utc_time(snapshot.backup_time),
                snapshot,
            })
            .collect())
    }

    /// Restore a backup of share `name`: the whole share into a new (or empty) directory, or
    /// one file or directory into a directory, under its own name. The target is never a
    /// share's directory nor inside or around one, nor a protected tree.
    pub fn backup_restore(&self, name: &str, request: &RestoreRequest, dry_run: bool) -> Result<Change> {
        let client = self.backup_client(&request.storage)?;
        self.backup_restore_with(name, request, client, dry_run)
    }

    /// `backup_restore` with `client`.
    pub fn backup_restore_with(
        &self,
        name: &str,
        request: &RestoreRequest,
        mut client: PbsClient,
        dry_run: bool,
    ) -> Result<Change> {
        validate::share_name(name).field("name")?;
        smbgw_core::schema::check_format("smbgw-backup-time", &request.snapshot).field("snapshot")?;
        let file = request.file.as_deref().map(check_file).transpose()?;
        let target = self.check_restore_target(&request.target, file.is_none())?;
        if let Some(file) = &file {
            let entry = file.rsplit('/').next().unwrap_or(file);
            if std::fs::symlink_metadata(target.join(entry)).is_ok() {
                bail_field!(
                    "target",
                    "{} already holds '{entry}'; nothing is overwritten: choose another target directory",
                    target.display()
                );
            }
        }
        let id = backup_id(&self.node_name()?, name);
        let backups = self.backups_in(&mut client, &id)?;
        let Some(backup) = backups.iter().find(|b| b.time == request.snapshot) else {
            let newest: Vec<&str> = backups.iter().rev().take(5).map(|b| b.time.as_str()).collect();
            return Err(Error::not_found(format!(
                "PBS storage '{}' has no backup of share '{name}' at {} (group host/{id}){}",
                request.storage,
                request.snapshot,
                match newest.len() {
                    0 => " and none at all".to_string(),
                    _ => format!("; the newest are {}", newest.join(", ")),
                }
            ))
            .field("snapshot"));
        };
        let path = backup.snapshot.path();
        let mut plan = Plan::new();
        let made = std::rc::Rc::new(std::cell::Cell::new(false));
        if std::fs::symlink_metadata(&target).is_err() {
            let (t1, t2, m1, m2) = (target.clone(), target.clone(), made.clone(), made.clone());
            plan.push(FnStep::new(
                format!("create {} (mode 0700)", target.display()),
                move || {
                    let (parent, leaf) = parent_and_leaf(&t1)?;
                    smbgw_sys::safe_fs::Dir::open(parent)?.mkdir_child(leaf, 0o700)?;
                    m1.set(true);
                    Ok(())
                },
                move || {
                    // only the directory we made, and only while nothing is in it
                    if m2.get() {
                        let (parent, leaf) = parent_and_leaf(&t2)?;
                        let dir = smbgw_sys::safe_fs::Dir::open(parent)?;
                        if let Some(stat) = dir.stat_child(leaf)? {
                            dir.remove_empty_child(leaf, stat.identity())?;
                        }
                    }
                    Ok(())
                },
            ));
        }
        let client = std::rc::Rc::new(std::cell::RefCell::new(client));
        let (archive, t) = (name.to_string(), target.clone());
        match file {
            None => plan.push(FnStep::irreversible(
                format!("restore share '{name}' from {path} into {}", target.display()),
                move || client.borrow_mut().restore(&path, &archive, &t),
            )),
            Some(file) => plan.push(FnStep::irreversible(
                format!(
                    "restore '{file}' of share '{name}' from {path} into {}",
                    target.display()
                ),
                move || client.borrow_mut().extract(&path, &archive, &file, &t),
            )),
        }
        self.execute(plan, dry_run, None, Vec::new())
    }
}

impl Gateway {
    /// One round of the backup schedules at `now` (the daemon's clock): per share whose
    /// `backup-schedule` is due, one backup to its `backup-storage` (catching up one missed run,
    /// as the snapshot schedules do, with the same scheduling code), then the share's group
    /// pruned on the server by `backup-keep`. Failures are in the runs (the daemon alerts).
    pub fn backup_schedules(&self, now: i64) -> Result<Vec<ScheduleRun>> {
        self.schedule_round(ScheduleJob::Backup, now)
    }

    /// The scheduled backup of `share` at `now`, then PBS's prune of its group.
    pub(crate) fn run_backup_schedule(&self, share: &Share, now: i64) -> ScheduleRun {
        let mut run = ScheduleRun {
            job: ScheduleJob::Backup,
            share: share.name.clone(),
            ..Default::default()
        };
        let result = (|| -> Result<()> {
            let storage = share.backup_storage.as_deref().unwrap_or_default();
            let made = self.backup_at(&share.name, self.backup_client(storage)?, false, now)?;
            run.taken = Some(made.snapshot);
            let Some(keep) = &share.backup_keep else {
                return Ok(());
            };
            let keep = pbs::Keep {
                last: keep.last.map(clamp),
                hourly: keep.hourly.map(clamp),
                daily: keep.daily.map(clamp),
                weekly: keep.weekly.map(clamp),
                monthly: keep.monthly.map(clamp),
                yearly: keep.yearly.map(clamp),
            };
            let id = backup_id(&self.node_name()?, &share.name);
            let pruned = self.backup_client(storage)?.prune(&id, &keep, false)?;
            run.pruned = pruned
                .into_iter()
                .filter(|p| !p.keep)
                .map(|p| format!("{}/{}/{}", p.backup_type, p.backup_id, utc_time(p.backup_time)))
                .collect();
            Ok(())
        })();
        if let Err(e) = result {
            run.error = Some(e.message);
        }
        run
    }

    /// On create and update: the share's `backup-storage` is a usable PBS storage, and a
    /// `backup-schedule` can snapshot the share; refused on those fields otherwise.
    pub(crate) fn check_backup_settings(&self, share: &Share) -> Result<()> {
        if let Some(storage) = &share.backup_storage {
            self.pbs_client(storage).map_err(|e| match e.kind {
                ErrorKind::Input => e.field("backup-storage"),
                _ => e,
            })?;
        }
        if share.backup_schedule.is_some() {
            self.check_snapshots_possible(share, "backup-schedule")?;
        }
        Ok(())
    }
}

/// A keep count as PBS takes it.
fn clamp(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
