//! `snapshot list|create|delete|rollback`: a share's snapshots, taken where its Previous
//! Versions read them (smbgw_quota::snapshot and the backends' implementations), and the
//! record of which of them the gateway made: it never deletes one it did not make.
//!
//! Which are ours: ZFS keeps our tag on the snapshot itself (a user property). btrfs and
//! CephFS snapshots cannot carry one, so the gateway records them by an identity no other
//! snapshot can take over by name: btrfs the snapshot's subvolume UUID (a snapshot made by
//! hand, or received, has its own), recorded on this node (btrfs is node-local, and the
//! record must not follow a config copied to another node whose subvolumes differ); CephFS
//! the snapshot's name and birth time, recorded cluster-wide beside the share config (any
//! node may serve a CephFS share and run its schedule after a failover).
//!
//! Manual snapshots (and the safety snapshot of a rollback) are ours but outside the
//! retention, as PBS and PVE keep protected backups: only `snapshot delete` removes them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use smbgw_core::plan::FnStep;
use smbgw_core::{bail_field, Error, Plan, QuotaBackend, Result, Share};
use smbgw_quota::backend::Volume;
use smbgw_quota::snapshot::{self, Snapshot, SnapshotBackend};

use crate::{Change, Gateway};

/// Why the gateway took a snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SnapshotKind {
    /// By the share's schedule: pruned by its retention.
    Scheduled,
    /// By hand (`snapshot create`): kept until deleted by hand.
    Manual,
    /// Before a rollback, holding the content it replaced: kept until deleted by hand.
    Safety,
    /// What a backup to PBS reads (crates/gateway/src/backups.rs): deleted after the backup,
    /// whether it passed or not; never pruned.
    Backup,
}

impl SnapshotKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Manual => "manual",
            Self::Safety => "safety",
            Self::Backup => "backup",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [Self::Scheduled, Self::Manual, Self::Safety, Self::Backup]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// One snapshot as `snapshot list` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct SnapshotEntry {
    #[serde(flatten)]
    pub snapshot: Snapshot,
    /// The gateway made it, and why; `None`: not ours (never deleted by the gateway).
    pub kind: Option<SnapshotKind>,
}

impl SnapshotEntry {
    pub fn ours(&self) -> bool {
        self.kind.is_some()
    }
}

#[derive(Debug, Serialize)]
pub struct SnapshotList {
    pub share: String,
    pub path: String,
    pub backend: String,
    pub snapshots: Vec<SnapshotEntry>,
    /// When the daemon takes the next scheduled snapshot (unix seconds); none without a schedule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_run: Option<i64>,
}

/// One recorded snapshot of ours.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Recorded {
    share: String,
    name: String,
    kind: SnapshotKind,
}

/// The record of our snapshots by identity (`Snapshot::id`), one file per scope.
#[derive(Default, Serialize, Deserialize)]
struct Record {
    snapshots: BTreeMap<String, Recorded>,
}

impl Gateway {
    /// Where the record of `backend`'s snapshots lives (`None`: on the snapshots, ZFS).
    fn record_path(&self, backend: QuotaBackend) -> Option<PathBuf> {
        match backend {
            QuotaBackend::Zfs => None,
            QuotaBackend::Cephfs => Some(self.layout.config_dir.join("snapshots.json")),
            _ => Some(self.layout.state_dir.join("snapshots.json")),
        }
    }

    fn read_record(&self, backend: QuotaBackend) -> Result<Record> {
        let Some(path) = self.record_path(backend) else {
            return Ok(Record::default());
        };
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| Error::system(format!("{} is not a snapshot record: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Record::default()),
            Err(e) => Err(Error::io("reading", &path, e)),
        }
    }

    /// Change the record of `backend` under the config lock the caller holds.
    fn update_record(&self, backend: QuotaBackend, change: impl FnOnce(&mut Record)) -> Result<()> {
        let Some(path) = self.record_path(backend) else {
            return Ok(());
        };
        let mut record = self.read_record(backend)?;
        change(&mut record);
        if let Some(dir) = path.parent() {
            smbgw_sys::fs::create_dir_all(dir, 0o750)?;
        }
        let text = serde_json::to_vec_pretty(&record).map_err(|e| Error::system(e.to_string()))?;
        smbgw_sys::fs::atomic_write(&path, &text, 0o640)
    }

    /// The share's snapshots with which are ours; the backend and volume for changes.
    pub(crate) fn snapshots_of(
        &self,
        share: &Share,
    ) -> Result<(&'static dyn SnapshotBackend, Volume, Vec<SnapshotEntry>)> {
        let (backend, volume) = snapshot::of(share, "name")?;
        let record = self.read_record(volume.backend)?;
        let entries = backend
            .list(&volume)?
            .into_iter()
            .map(|s| {
                let kind = match &s.tag {
                    Some(tag) => SnapshotKind::parse(tag),
                    None => record
                        .snapshots
                        .get(&s.id)
                        .filter(|r| r.share == share.name && r.name == s.name)
                        .map(|r| r.kind),
                };
                SnapshotEntry { snapshot: s, kind }
            })
            .collect();
        Ok((backend, volume, entries))
    }

    pub fn snapshot_list(&self, name: &str) -> Result<SnapshotList> {
        let share = self.share(name)?;
        let (_, volume, snapshots) = self.snapshots_of(&share)?;
        let next_run = self.next_scheduled_run(ScheduleJob::Snapshot, &share);
        Ok(SnapshotList {
            share: share.name,
            path: share.path,
            backend: volume.backend.to_string(),
            snapshots,
            next_run,
        })
    }

    /// When `job`'s schedule of `share` runs next, as the daemon decides it (`plan_round`):
    /// after the last run it recorded, or after now for a schedule it has not seen yet. A time
    /// already past means the daemon's next cycle takes it. Unknown while the state is unreadable.
    pub(crate) fn next_scheduled_run(&self, job: ScheduleJob, share: &Share) -> Option<i64> {
        let schedule = job.schedule(share)?;
        let states = self.read_schedule_states(job).ok()?;
        let last = states[usize::from(cluster_scope(share))]
            .last_run
            .get(&share.name)
            .copied()
            .unwrap_or_else(now);
        schedule.next_after(last)
    }

    /// Take a snapshot by hand: ours, kept until deleted by hand.
    pub fn snapshot_create(&self, name: &str, dry_run: bool) -> Result<Change> {
        let share = self.share(name)?;
        let _lock = self.lock_for(dry_run)?;
        let (backend, volume, _) = self.snapshots_of(&share)?;
        refuse_btrfs_homes(&share, volume.backend, "name")?;
        let mut plan = Plan::new();
        self.take_step(&share, backend, &volume, now(), SnapshotKind::Manual, &mut plan);
        self.execute(plan, dry_run, None, Vec::new())
    }

    /// Delete one of our snapshots; one we did not make is refused.
    pub fn snapshot_delete(&self, name: &str, snapshot: &str, dry_run: bool) -> Result<Change> {
        check_snapshot_name(snapshot)?;
        let share = self.share(name)?;
        let _lock = self.lock_for(dry_run)?;
        let (backend, volume, entries) = self.snapshots_of(&share)?;
        let entry = find(&share, &entries, snapshot)?;
        if !entry.ours() {
            bail_field!(
                "snapshot",
                "snapshot {} of share '{}' was not made by the gateway; it is not deleted (remove it with the tool that made it)",
                entry.snapshot.name,
                share.name
            );
        }
        let mut plan = Plan::new();
        self.delete_step(&share, backend, &volume, entry.snapshot.clone(), &mut plan);
        self.execute(plan, dry_run, None, Vec::new())
    }

    /// Replace the share's content by a snapshot's, after a safety snapshot of the content as
    /// it is; only with `confirm`. smbd closes the share's connections afterwards, so clients
    /// reconnect to the restored content instead of holding handles on the replaced one.
    pub fn snapshot_rollback(&self, name: &str, snapshot: &str, confirm: bool, dry_run: bool) -> Result<Change> {
        check_snapshot_name(snapshot)?;
        let share = self.share(name)?;
        let _lock = self.lock_for(dry_run)?;
        let (backend, volume, entries) = self.snapshots_of(&share)?;
        let entry = find(&share, &entries, snapshot)?.clone();
        if !confirm {
            bail_field!(
                "confirm",
                "a rollback replaces everything in share '{}' ({}) by snapshot {}; give --confirm to do it (a safety snapshot of the current content is taken first)",
                share.name,
                share.path,
                entry.snapshot.name
            );
        }
        if volume.backend != QuotaBackend::Btrfs {
            bail_field!(
                "snapshot",
                "rollback is supported for btrfs shares only ({} keeps {} as it is): restore files from Previous Versions instead",
                volume.backend,
                share.path
            );
        }
        backend.check_rollback(&volume)?;
        let mut plan = Plan::new();
        let mut time = now();
        // the safety snapshot needs a name of its own
        while entries.iter().any(|e| e.snapshot.name == backend.name_at(time)) {
            time += 1;
        }
        self.take_step(&share, backend, &volume, time, SnapshotKind::Safety, &mut plan);
        let (v, s, target) = (volume.clone(), self.samba.clone(), entry.snapshot.clone());
        let (quota, share_name) = (share.quota, share.name.clone());
        let later = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let notes = later.clone();
        plan.push(FnStep::irreversible(
            format!(
                "replace the content of {} by snapshot {} and close the share's SMB connections",
                share.path, entry.snapshot.name
            ),
            move || {
                notes.borrow_mut().extend(backend.rollback(&v, &target)?);
                // the content is replaced now: nothing after this may fail the step, whose undo
                // would delete the safety snapshot holding what was replaced
                if quota.is_some() {
                    // the new subvolume has no limit yet
                    if let Err(e) = v.set_limit(quota) {
                        notes.borrow_mut().push(format!(
                            "the restored share has no quota limit yet ({e}); run 'pve-smbgateway apply'"
                        ));
                    }
                }
                // clients holding the replaced subvolume reconnect to the restored one
                let closed = s.tool("smbcontrol").args(["smbd", "close-share", &share_name]).output();
                if let Err(e) = closed.and_then(|out| match out.success() {
                    true => Ok(()),
                    false => Err(Error::external(out.stderr.trim().to_string())),
                }) {
                    notes.borrow_mut().push(format!(
                        "smbd did not close the share's connections ({e}); clients connected before the rollback must reconnect"
                    ));
                }
                Ok(())
            },
        ));
        let mut change = self.execute(
            plan,
            dry_run,
            None,
            vec![format!(
                "the content before the rollback is kept in the safety snapshot {}",
                backend.name_at(time)
            )],
        )?;
        change.notes.extend(later.take());
        Ok(change)
    }

    /// The config lock, also for snapshot changes: the record and the schedule state are
    /// written under it.
    pub(crate) fn lock_for(&self, dry_run: bool) -> Result<Option<smbgw_sys::lock::Guard>> {
        match dry_run {
            true => Ok(None),
            false => self.store.lock().map(Some),
        }
    }

    /// A plan step taking a snapshot of `kind` at `time` and recording it as ours; the
    /// snapshot taken, once the step ran.
    pub(crate) fn take_step(
        &self,
        share: &Share,
        backend: &'static dyn SnapshotBackend,
        volume: &Volume,
        time: i64,
        kind: SnapshotKind,
        plan: &mut Plan,
    ) -> std::rc::Rc<std::cell::RefCell<Option<Snapshot>>> {
        let name = backend.name_at(time);
        let taken = std::rc::Rc::new(std::cell::RefCell::new(None::<Snapshot>));
        let (t1, t2) = (taken.clone(), taken.clone());
        let (v1, v2) = (volume.clone(), volume.clone());
        let (gw, share_name) = (self.clone_for_steps(), share.name.clone());
        let gw2 = self.clone_for_steps();
        plan.push(FnStep::new(
            format!("take {} snapshot {name} of {}", kind.as_str(), share.path),
            move || {
                let snap = backend.create(&v1, time, kind.as_str())?;
                let recorded = Recorded {
                    share: share_name.clone(),
                    name: snap.name.clone(),
                    kind,
                };
                let id = snap.id.clone();
                *t1.borrow_mut() = Some(snap);
                gw.update_record(v1.backend, |r| {
                    r.snapshots.insert(id, recorded);
                })
            },
            move || match t2.borrow_mut().take() {
                Some(snap) => {
                    backend.delete(&v2, &snap)?;
                    gw2.update_record(v2.backend, |r| {
                        r.snapshots.remove(&snap.id);
                    })
                }
                None => Ok(()),
            },
        ));
        taken
    }

    /// A plan step deleting one of our snapshots and its record.
    pub(crate) fn delete_step(
        &self,
        share: &Share,
        backend: &'static dyn SnapshotBackend,
        volume: &Volume,
        snap: Snapshot,
        plan: &mut Plan,
    ) {
        let gw = self.clone_for_steps();
        let v = volume.clone();
        plan.push(FnStep::irreversible(
            format!("delete snapshot {} of {}", snap.name, share.path),
            move || {
                backend.delete(&v, &snap)?;
                gw.update_record(v.backend, |r| {
                    r.snapshots.remove(&snap.id);
                })
            },
        ));
    }

    /// What plan steps need of the gateway: its layout (for the record).
    fn clone_for_steps(&self) -> Gateway {
        Gateway::new(self.layout.clone())
    }
}

/// Refuse snapshots of a home share on btrfs: each home is a subvolume of its own, which a
/// snapshot of the share holds only as an empty folder (its Previous Versions would show
/// every home empty, and a rollback would take them away).
fn refuse_btrfs_homes(share: &Share, backend: QuotaBackend, field: &str) -> Result<()> {
    if share.homes && backend == QuotaBackend::Btrfs {
        bail_field!(
            field,
            "share '{}' is a home share on btrfs: each home is a subvolume of its own, which a snapshot of the share holds only as an empty folder; snapshots of it would show every home empty",
            share.name
        );
    }
    Ok(())
}

/// A snapshot name's form, before anything is read.
fn check_snapshot_name(value: &str) -> Result<()> {
    use smbgw_core::ResultExt;
    smbgw_core::schema::check_format("smbgw-snapshot-name", value).field("snapshot")
}

/// The snapshot `wanted` names (its name, or the `@GMT-...` token of its time).
fn find<'a>(share: &Share, entries: &'a [SnapshotEntry], wanted: &str) -> Result<&'a SnapshotEntry> {
    let time = snapshot::parse_gmt_name(wanted);
    entries
        .iter()
        .find(|e| e.snapshot.name == wanted)
        .or_else(|| time.and_then(|t| entries.iter().find(|e| e.snapshot.time == t)))
        .ok_or_else(|| {
            let known: Vec<&str> = entries.iter().rev().take(5).map(|e| e.snapshot.name.as_str()).collect();
            Error::not_found(format!(
                "share '{}' has no snapshot '{wanted}'{}",
                share.name,
                match known.len() {
                    0 => " (it has none)".to_string(),
                    _ => format!("; the newest are {}", known.join(", ")),
                }
            ))
            .field("snapshot")
        })
}

fn now() -> i64 {
    smbgw_sys::time::now() as i64
}

/// What a share's schedule does: snapshots (`snapshot-schedule`) or backups to PBS
/// (`backup-schedule`, crates/gateway/src/backups.rs). Both are scheduled by the same code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScheduleJob {
    #[default]
    Snapshot,
    Backup,
}

impl ScheduleJob {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Snapshot => "snapshot",
            Self::Backup => "backup",
        }
    }

    fn schedule(self, share: &Share) -> Option<&smbgw_core::calendar::CalendarEvent> {
        match self {
            Self::Snapshot => share.snapshot_schedule.as_ref(),
            Self::Backup => share.backup_schedule.as_ref(),
        }
    }

    /// A snapshot is quick and its record is written under the config lock; a backup may take
    /// hours and takes the lock itself around its snapshot, so it runs after the lock is let go.
    fn runs_locked(self) -> bool {
        self == Self::Snapshot
    }
}

/// What one scheduling round did for one share with a schedule.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ScheduleRun {
    pub job: ScheduleJob,
    pub share: String,
    /// The snapshot (or PBS snapshot) taken this round, if one was due.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taken: Option<String>,
    /// Our scheduled snapshots (or the PBS snapshots) the retention removed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pruned: Vec<String>,
    /// When the schedule fires next (unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<i64>,
    /// Why the snapshot or the pruning failed (an alert).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// When each schedule last ran (`Gateway::schedule_state_path`).
#[derive(Clone, Default, Serialize, Deserialize)]
struct ScheduleState {
    last_run: BTreeMap<String, i64>,
}

fn sorted(mut runs: Vec<ScheduleRun>) -> Vec<ScheduleRun> {
    runs.sort_by(|a, b| a.share.cmp(&b.share));
    runs
}

/// Whether the share's schedule state is cluster-wide (CephFS: every HA node serves it).
fn cluster_scope(share: &Share) -> bool {
    share.quota_backend == QuotaBackend::Cephfs
}

/// Which schedules are due at `now`, from `states` ([node, cluster]), which forget shares
/// without a schedule and start the ones seen first at `now`; the others' next runs.
fn plan_round<'a>(
    job: ScheduleJob,
    shares: &'a [Share],
    states: &mut [ScheduleState; 2],
    now: i64,
) -> (Vec<ScheduleRun>, Vec<&'a Share>) {
    for (cluster, state) in [false, true].into_iter().zip(states.iter_mut()) {
        state
            .last_run
            .retain(|name, _| shares.iter().any(|s| &s.name == name && cluster_scope(s) == cluster));
    }
    let (mut runs, mut due) = (Vec::new(), Vec::new());
    for share in shares {
        let schedule = job.schedule(share).expect("shares with a schedule");
        let state = &mut states[usize::from(cluster_scope(share))];
        let last = *state.last_run.entry(share.name.clone()).or_insert(now);
        match schedule.next_after(last) {
            Some(next) if next <= now => due.push(share),
            next => runs.push(ScheduleRun {
                job,
                share: share.name.clone(),
                next,
                ..Default::default()
            }),
        }
    }
    (runs, due)
}

impl Gateway {
    /// Where the last run of a share's schedule is kept: for a CephFS share, which every node
    /// of an HA cluster serves, beside the share config (cluster-wide, written under the cluster
    /// lock, so one node takes each run); else in this node's state dir.
    fn schedule_state_path(&self, job: ScheduleJob, cluster: bool) -> PathBuf {
        let file = format!("{}-schedule.json", job.as_str());
        match cluster {
            true => self.layout.config_dir.join(file),
            false => self.layout.state_dir.join(file),
        }
    }

    fn read_schedule_state(&self, job: ScheduleJob, cluster: bool) -> Result<ScheduleState> {
        let path = self.schedule_state_path(job, cluster);
        match std::fs::read(&path) {
            // a damaged state only loses the last runs: every schedule starts again from now
            Ok(bytes) => Ok(serde_json::from_slice(&bytes).unwrap_or_default()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ScheduleState::default()),
            Err(e) => Err(Error::io("reading", &path, e)),
        }
    }

    fn write_schedule_state(&self, job: ScheduleJob, cluster: bool, state: &ScheduleState) -> Result<()> {
        let path = self.schedule_state_path(job, cluster);
        if let Some(dir) = path.parent() {
            smbgw_sys::fs::create_dir_all(dir, 0o750)?;
        }
        let text = serde_json::to_vec_pretty(state).map_err(|e| Error::system(e.to_string()))?;
        smbgw_sys::fs::atomic_write(&path, &text, 0o640)
    }

    /// Both schedule states: this node's and the cluster-wide one.
    fn read_schedule_states(&self, job: ScheduleJob) -> Result<[ScheduleState; 2]> {
        Ok([
            self.read_schedule_state(job, false)?,
            self.read_schedule_state(job, true)?,
        ])
    }

    /// One scheduling round at `now` (unix seconds): per share with a schedule whose next run
    /// after its last one is due, one snapshot (one only, however many runs were missed while
    /// the node was down), then our scheduled snapshots pruned by the share's retention; never
    /// a snapshot we did not make, nor a manual one. A schedule seen for the first time starts
    /// counting from `now`, as PVE's jobs do. The daemon calls it every cycle; shares served by
    /// a guest's smbd are left out (the node snapshots its own directories only). Due runs are
    /// decided again under the config lock, which is cluster-wide on PVE: a CephFS share's run
    /// another node took in between is not taken twice.
    pub fn snapshot_schedules(&self, now: i64) -> Result<Vec<ScheduleRun>> {
        self.schedule_round(ScheduleJob::Snapshot, now)
    }

    /// One round of `job`'s schedules at `now`, as `snapshot_schedules` describes. The state
    /// is read without the lock only to see whether anything is to do: every write (a run's
    /// last time, and a round that only records newly seen or forgets gone schedules, since the
    /// state may be cluster-wide) happens under the config lock, on a state read again under
    /// it. The last runs of the due shares are recorded before they run, so one node takes each
    /// run even for a job that runs unlocked.
    pub(crate) fn schedule_round(&self, job: ScheduleJob, now: i64) -> Result<Vec<ScheduleRun>> {
        let scheduled = || -> Result<Vec<Share>> {
            Ok(self
                .store
                .load()?
                .shares()
                .iter()
                .filter(|s| job.schedule(s).is_some() && s.mode.has_node_directory())
                .cloned()
                .collect())
        };
        let shares = scheduled()?;
        let mut states = self.read_schedule_states(job)?;
        let unlocked = states.clone();
        let (runs, due) = plan_round(job, &shares, &mut states, now);
        let changed = states.iter().zip(&unlocked).any(|(a, b)| a.last_run != b.last_run);
        if due.is_empty() && !changed {
            return Ok(sorted(runs));
        }
        let lock = self.store.lock()?;
        // another node may have changed the shares or taken a run in between
        let shares = scheduled()?;
        let before = self.read_schedule_states(job)?;
        let mut states = before.clone();
        let (mut runs, due) = plan_round(job, &shares, &mut states, now);
        for share in &due {
            states[usize::from(cluster_scope(share))]
                .last_run
                .insert(share.name.clone(), now);
        }
        for (cluster, (state, old)) in [false, true].into_iter().zip(states.iter().zip(&before)) {
            if state.last_run != old.last_run {
                self.write_schedule_state(job, cluster, state)?;
            }
        }
        let lock = job.runs_locked().then_some(lock);
        for share in due {
            let mut run = match job {
                ScheduleJob::Snapshot => self.run_schedule(share, now),
                ScheduleJob::Backup => self.run_backup_schedule(share, now),
            };
            run.next = job.schedule(share).and_then(|s| s.next_after(now));
            if let Some(error) = &run.error {
                let _ = self.log_event(&format!(
                    "{} schedule of share '{}' failed: {error}",
                    job.as_str(),
                    share.name
                ));
            }
            runs.push(run);
        }
        drop(lock);
        Ok(sorted(runs))
    }

    /// Take the scheduled snapshot of `share` at `now` and prune by its retention.
    fn run_schedule(&self, share: &Share, now: i64) -> ScheduleRun {
        let mut run = ScheduleRun {
            job: ScheduleJob::Snapshot,
            share: share.name.clone(),
            ..Default::default()
        };
        let result = (|| -> Result<()> {
            let (backend, volume, _) = self.snapshots_of(share)?;
            let mut plan = Plan::new();
            self.take_step(share, backend, &volume, now, SnapshotKind::Scheduled, &mut plan);
            plan.apply()?;
            run.taken = Some(backend.name_at(now));
            let (_, _, entries) = self.snapshots_of(share)?;
            // snapshots of ours someone removed by hand leave the record; one only moved out
            // of sight (`.snapshots` renamed away by a user) stays: it may come back
            let present: std::collections::HashSet<&str> = entries.iter().map(|e| e.snapshot.id.as_str()).collect();
            let record = self.read_record(volume.backend)?;
            let gone: Vec<&String> = record
                .snapshots
                .iter()
                .filter(|(id, rec)| rec.share == share.name && !present.contains(id.as_str()))
                .map(|(id, _)| id)
                .filter(|id| backend.gone(&volume, id).unwrap_or(false))
                .collect();
            if !gone.is_empty() {
                self.update_record(volume.backend, |r| r.snapshots.retain(|id, _| !gone.contains(&id)))?;
            }
            let Some(keep) = &share.snapshot_keep else {
                return Ok(());
            };
            let scheduled: Vec<&SnapshotEntry> = entries
                .iter()
                .filter(|e| e.kind == Some(SnapshotKind::Scheduled))
                .collect();
            let times: Vec<i64> = scheduled.iter().map(|e| e.snapshot.time).collect();
            let marks = smbgw_core::prune::keep_marks(&times, keep);
            let mut plan = Plan::new();
            for (entry, keep) in scheduled.into_iter().zip(marks) {
                if !keep {
                    run.pruned.push(entry.snapshot.name.clone());
                    self.delete_step(share, backend, &volume, entry.snapshot.clone(), &mut plan);
                }
            }
            plan.apply().map(|_| ())
        })();
        if let Err(e) = result {
            run.error = Some(e.message);
        }
        run
    }
}

impl Gateway {
    /// For `apply`: finish or undo each btrfs rollback a crash interrupted (its work directory
    /// `.NAME.smbgw-rollback` is left beside the share), deciding from what is on disk
    /// (`btrfs::heal_rollback`); what it did (true) or why it could not (false).
    pub(crate) fn heal_rollbacks(&self, cfg: &smbgw_core::store::SharesConfig, dry_run: bool) -> Vec<(String, bool)> {
        use smbgw_quota::btrfs;
        cfg.shares()
            .iter()
            .filter(|s| s.mode.has_node_directory() && btrfs::rollback_left(std::path::Path::new(&s.path)))
            .filter_map(|s| match btrfs::heal_rollback(std::path::Path::new(&s.path), dry_run) {
                Ok(done) => done.map(|d| (format!("share '{}': {d}", s.name), true)),
                Err(e) => Some((
                    format!("share '{}': an interrupted rollback: {}", s.name, e.message),
                    false,
                )),
            })
            .collect()
    }
}

impl Gateway {
    /// Refuse a schedule on a filesystem without snapshots (tmpfs, ext4, a plain directory on
    /// btrfs), on `snapshot-schedule`, when a share is created or changed. A share directory
    /// still to be made on btrfs passes: the gateway makes it a subvolume.
    pub(crate) fn check_snapshot_schedule(&self, share: &Share) -> Result<()> {
        if share.snapshot_schedule.is_none() || !share.mode.has_node_directory() {
            return Ok(());
        }
        self.check_snapshots_possible(share, "snapshot-schedule")
    }

    /// Refuse, on `field`, a share whose filesystem has no snapshots (or will have none).
    pub(crate) fn check_snapshots_possible(&self, share: &Share, field: &str) -> Result<()> {
        let path = std::path::Path::new(&share.path);
        if path.exists() {
            let (_, volume) = snapshot::of(share, field)?;
            return refuse_btrfs_homes(share, volume.backend, field);
        }
        let kind = match share.quota_backend {
            QuotaBackend::Auto => smbgw_quota::detect(path)?,
            kind => Some(kind),
        };
        if let Some(kind) = kind {
            refuse_btrfs_homes(share, kind, field)?;
        }
        match kind.and_then(smbgw_quota::backend::of).and_then(|b| b.snapshots()) {
            Some(_) => Ok(()),
            None => bail_field!(
                field,
                "{} would be on {}, which has no snapshots: schedules need btrfs, ZFS or CephFS",
                share.path,
                smbgw_quota::fs_name(path)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share(name: &str, schedule: &str, backend: QuotaBackend) -> Share {
        let props = [
            ("path".to_string(), format!("/srv/{name}")),
            ("snapshot-schedule".to_string(), schedule.to_string()),
        ]
        .into();
        let mut share = Share::from_properties(name, &props).unwrap();
        share.quota_backend = backend;
        share
    }

    /// 2026-11-22 20:00:30 UTC; the schedules below say UTC, so the node's zone does not matter.
    const T0: i64 = 1_795_377_630;

    #[test]
    fn a_round_starts_new_schedules_and_catches_up_once() {
        let shares = [
            share("local", "hourly UTC", QuotaBackend::Btrfs),
            share("ceph", "*:0/15 UTC", QuotaBackend::Cephfs),
        ];
        let mut states: [ScheduleState; 2] = Default::default();
        states[0].last_run.insert("gone".into(), 1);
        let (runs, due) = plan_round(ScheduleJob::Snapshot, &shares, &mut states, T0);
        assert!(due.is_empty(), "first seen: nothing due yet");
        assert_eq!(runs.len(), 2);
        assert_eq!(
            states[0].last_run,
            [("local".to_string(), T0)].into(),
            "a share gone is forgotten"
        );
        assert_eq!(
            states[1].last_run,
            [("ceph".to_string(), T0)].into(),
            "CephFS is cluster-wide"
        );
        let next = |name: &str| runs.iter().find(|r| r.share == name).unwrap().next;
        assert_eq!(next("local"), Some(T0 - 30 + 3600));
        assert_eq!(next("ceph"), Some(T0 - 30 + 900));

        // ten hours later: each is due once (the caller records one run at `now`)
        let (runs, due) = plan_round(ScheduleJob::Snapshot, &shares, &mut states, T0 + 36_000);
        assert!(runs.is_empty());
        assert_eq!(due.len(), 2);
        states[0].last_run.insert("local".into(), T0 + 36_000);
        let (_, due) = plan_round(ScheduleJob::Snapshot, &shares, &mut states, T0 + 36_001);
        assert_eq!(due.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["ceph"]);
    }
}
