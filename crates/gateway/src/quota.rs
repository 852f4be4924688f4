//! Storage and quota of shares: the subvolume or dataset a share lives in, its limit, what SMB
//! clients see as the disk size, the usage history and its alerts.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use smbgw_core::plan::{CreateDir, FnStep};
use smbgw_core::size::format_size;
use smbgw_core::store::SharesConfig;
use smbgw_core::{bail_input, Error, Plan, Result, Share};
use smbgw_quota::alerts::{self, Alert};
use smbgw_quota::history::{History, Sample};
use smbgw_quota::{btrfs, project, zfs, Backend, Usage};
use smbgw_samba::render;
use smbgw_sys::fs;

use crate::Gateway;

/// Where a share's bytes live, as far as quotas are concerned.
#[derive(Clone, Debug)]
enum Volume {
    Btrfs(PathBuf),
    Zfs(String),
    Project(PathBuf),
}

impl Volume {
    fn of(share: &Share) -> Option<Volume> {
        match share.quota_backend.as_str() {
            "btrfs" => Some(Volume::Btrfs(share.path.clone().into())),
            "zfs" => share.zfs_dataset.clone().map(Volume::Zfs),
            "project" => Some(Volume::Project(share.path.clone().into())),
            _ => None,
        }
    }

    fn usage(&self) -> Result<Usage> {
        match self {
            Volume::Btrfs(p) => btrfs::usage(p),
            Volume::Zfs(d) => zfs::usage(d),
            Volume::Project(p) => project::usage(p),
        }
    }

    fn set_limit(&self, limit: Option<u64>) -> Result<()> {
        match self {
            Volume::Btrfs(p) => btrfs::set_limit(p, limit),
            Volume::Zfs(d) => zfs::set_refquota(d, limit),
            Volume::Project(p) => project::set_limit(p, limit),
        }
    }

    fn describe_limit(&self, limit: Option<u64>) -> String {
        let value = limit.map_or("no limit".to_string(), format_size);
        match self {
            Volume::Btrfs(p) => format!("set the btrfs qgroup limit of {} to {value}", p.display()),
            Volume::Zfs(d) => format!("set refquota of ZFS dataset {d} to {value}"),
            Volume::Project(p) => format!("set the project quota of {} to {value}", p.display()),
        }
    }
}

/// Size and usage of a share as PVE's storage status wants it, in bytes.
#[derive(Debug, Serialize)]
pub struct Space {
    pub total: u64,
    pub avail: u64,
    pub used: u64,
}

/// What `quota-status` reports.
#[derive(Debug, Serialize)]
pub struct QuotaStatus {
    pub name: String,
    pub path: String,
    pub backend: String,
    pub limit: Option<u64>,
    pub used: u64,
    pub free: Option<u64>,
    pub percent: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct QuotaHistory {
    pub name: String,
    pub samples: Vec<Sample>,
    pub growth_per_day: Option<f64>,
    pub days_until_full: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct SampleReport {
    pub name: String,
    pub used: u64,
    pub limit: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<Alert>,
    /// Why the share could not be sampled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The figures the unprivileged `dfree` helper reads (smbd runs it as the connected user, who
/// may not ask btrfs for qgroup numbers).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct DfreeCache {
    pub shares: BTreeMap<String, DfreeEntry>,
}

/// A share's figures when they were read, with the filesystem's used bytes at that moment:
/// the helper adds the filesystem's growth since then, so a client writing into the share sees
/// the free space shrink before the next refresh (never more free space than there is).
#[derive(Debug, Serialize, Deserialize)]
pub struct DfreeEntry {
    pub used: u64,
    pub limit: Option<u64>,
    pub fs_used: u64,
}

const DFREE_CACHE: &str = "quota.json";

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Gateway {
    /// Create the share's storage if it is missing (a subvolume on btrfs, a dataset on ZFS
    /// when the share has a quota or a dataset, a directory otherwise) and bring its quota to
    /// what the share says. Fills in the quota backend (and dataset) it decided on.
    /// `previous` is the share's configuration before this change (`None` on create).
    pub(crate) fn storage_steps(
        &self,
        share: &mut Share,
        previous: Option<&Share>,
        plan: &mut Plan,
        notes: &mut Vec<String>,
    ) -> Result<bool> {
        let path = PathBuf::from(&share.path);
        let exists = path.exists();
        let mut volume_exists = exists;
        let wants_volume = share.quota.is_some()
            || share.zfs_dataset.is_some()
            || !share.user_quotas.is_empty()
            || share.quota_backend != "auto";
        let backend = if wants_volume {
            Some(smbgw_quota::resolve(&share.quota_backend, &path)?)
        } else {
            // a new share on btrfs still gets its own subvolume: quota and snapshots later
            smbgw_quota::detect(&path)?.filter(|b| *b == Backend::Btrfs && !exists)
        };
        let mode = share_root_mode(share);

        match backend {
            Some(Backend::Btrfs) => {
                if exists && !btrfs::is_subvolume(&path) {
                    bail_input!(
                        "{} is a plain directory on btrfs; a quota needs its own subvolume: give a path that does not exist yet and the gateway creates the subvolume",
                        path.display()
                    );
                }
                if !exists {
                    create_parent(&path, plan);
                    let (p, u) = (path.clone(), path.clone());
                    plan.push(FnStep::new(
                        format!("create btrfs subvolume {}", path.display()),
                        move || btrfs::create_subvolume(&p),
                        move || btrfs::delete_subvolume(&u),
                    ));
                    plan.push(chmod_step(&path, mode));
                }
                share.quota_backend = "btrfs".into();
            }
            Some(Backend::Zfs) => {
                let dataset = match &share.zfs_dataset {
                    Some(d) => d.clone(),
                    None => derive_dataset(&path)?,
                };
                volume_exists = zfs::exists(&dataset)?;
                if volume_exists {
                    // an existing dataset is only used where it is mounted: never repurpose another
                    let mountpoint = zfs::mountpoint(&dataset)?;
                    if mountpoint != path {
                        bail_input!(
                            "ZFS dataset {dataset} is mounted at {}, not at {}; give the dataset mounted at the share path, or a new dataset name",
                            mountpoint.display(),
                            path.display()
                        );
                    }
                } else {
                    if exists {
                        bail_input!(
                            "{} exists but ZFS dataset {dataset} does not; give a new path or the dataset mounted there",
                            path.display()
                        );
                    }
                    let (d, p, u) = (dataset.clone(), path.clone(), dataset.clone());
                    plan.push(FnStep::new(
                        format!("create ZFS dataset {dataset} mounted at {}", path.display()),
                        move || zfs::create(&d, &p),
                        move || zfs::destroy(&u),
                    ));
                    plan.push(chmod_step(&path, mode));
                }
                share.quota_backend = "zfs".into();
                share.zfs_dataset = Some(dataset);
            }
            Some(Backend::Project) | None => {
                if !exists {
                    plan.push(CreateDir::new(&path, mode));
                }
                if backend.is_some() {
                    share.quota_backend = "project".into();
                }
            }
        }
        self.quota_steps(share, previous, volume_exists, plan, notes)?;
        Ok(exists)
    }

    /// Set the limit the share asks for where the filesystem enforces another one. A limit the
    /// gateway never set is left alone: only a quota removed from the share is lifted.
    fn quota_steps(
        &self,
        share: &Share,
        previous: Option<&Share>,
        volume_exists: bool,
        plan: &mut Plan,
        notes: &mut Vec<String>,
    ) -> Result<()> {
        let Some(volume) = Volume::of(share) else { return Ok(()) };
        let wanted = match (share.quota, previous.and_then(|p| p.quota)) {
            (Some(limit), _) => Some(limit),
            (None, Some(_)) => None,
            (None, None) => return Ok(()),
        };
        let current = if volume_exists { Some(volume.usage()?) } else { None };
        let previous = current.and_then(|u| u.limit);
        if previous == wanted {
            return Ok(());
        }
        if let (Some(limit), Some(usage)) = (share.quota, current) {
            if usage.used > limit {
                bail_input!(
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
        if let Volume::Btrfs(path) = &volume {
            let probe = smbgw_quota::existing_ancestor(path);
            if share.quota.is_some() && !btrfs::quota_enabled(&probe)? {
                let (a, u) = (probe.clone(), probe.clone());
                plan.push(FnStep::new(
                    format!("enable btrfs quotas on the filesystem of {}", probe.display()),
                    move || btrfs::enable_quota(&a),
                    move || btrfs::disable_quota(&u),
                ));
            }
        }
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
        let dataset = match (&share.quota_backend[..], &share.zfs_dataset) {
            ("zfs", Some(d)) => d.clone(),
            _ => bail_input!(
                "share '{}': per-user quotas need a ZFS dataset (userquota@); this share uses '{}'",
                share.name,
                share.quota_backend
            ),
        };
        let names: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
        for who in names {
            let (before, after) = (old.get(who).copied(), new.get(who).copied());
            if before == after {
                continue;
            }
            let property = match who.strip_prefix('@') {
                Some(group) => format!("groupquota@{group}"),
                None => format!("userquota@{who}"),
            };
            let (d1, d2, p1, p2) = (dataset.clone(), dataset.clone(), property.clone(), property.clone());
            plan.push(FnStep::new(
                format!(
                    "set {property} of ZFS dataset {dataset} to {}",
                    after.map_or("none".into(), format_size)
                ),
                move || zfs::set_quota_property(&d1, &p1, after),
                move || zfs::set_quota_property(&d2, &p2, before),
            ));
        }
        Ok(())
    }

    /// On delete: lift the limit (the data stays), or with `purge` destroy the volume.
    pub(crate) fn release_steps(&self, share: &Share, purge: bool, plan: &mut Plan) -> Result<()> {
        let path = PathBuf::from(&share.path);
        let volume = Volume::of(share);
        if !path.exists() {
            return Ok(());
        }
        if purge {
            let description = format!("delete the share's data in {} (cannot be undone)", path.display());
            let action: Box<dyn FnMut() -> Result<()>> = match volume {
                Some(Volume::Btrfs(p)) if btrfs::is_subvolume(&p) => Box::new(move || btrfs::delete_subvolume(&p)),
                Some(Volume::Zfs(d)) => Box::new(move || zfs::destroy(&d)),
                _ => {
                    // the directory deleted must be the one checked now, not a link put in its place
                    let seen = identity(&path)?;
                    Box::new(move || {
                        if identity(&path)? != seen {
                            return Err(Error::system(format!(
                                "{} changed since it was checked; not deleting it",
                                path.display()
                            )));
                        }
                        std::fs::remove_dir_all(&path).map_err(|e| Error::io("deleting", &path, e))
                    })
                }
            };
            plan.push(FnStep::new(description, action, || Ok(())));
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

    pub fn quota_status(&self, name: &str) -> Result<QuotaStatus> {
        let share = self.show(name)?;
        let Some(volume) = Volume::of(&share) else {
            bail_input!(
                "share '{}' has no quota; set one with 'pve-smbgateway update {} --quota SIZE'",
                share.name,
                share.name
            );
        };
        let usage = volume.usage()?;
        self.update_dfree_entry(&share, usage)?;
        Ok(QuotaStatus {
            name: share.name.clone(),
            path: share.path.clone(),
            backend: share.quota_backend.clone(),
            limit: usage.limit,
            used: usage.used,
            free: smbgw_quota::free(&usage),
            percent: usage.limit.map(|l| usage.used as f64 * 100.0 / l as f64),
        })
    }

    /// The share's size for PVE's storage status (pvestatd asks every 10 s): its quota where it
    /// has one, else the filesystem it is on.
    pub fn space(&self, name: &str) -> Result<Space> {
        let share = self.show(name)?;
        if let (Some(volume), Some(_)) = (Volume::of(&share), share.quota) {
            let usage = volume.usage()?;
            if let Some(limit) = usage.limit {
                return Ok(Space {
                    total: limit,
                    avail: limit.saturating_sub(usage.used),
                    used: usage.used,
                });
            }
        }
        let (total, avail, used) = fs_figures(Path::new(&share.path))?;
        Ok(Space { total, avail, used })
    }

    fn history_path(&self, share: &Share) -> PathBuf {
        self.layout
            .state_dir
            .join("quota-history")
            .join(format!("{}.json", render::share_file_stem(&share.name)))
    }

    /// Sample every quota share into its history and raise threshold alerts (for a timer or the daemon).
    pub fn quota_sample(&self) -> Result<Vec<SampleReport>> {
        let cfg = self.store.load()?;
        let shares: Vec<&Share> = cfg.shares().iter().filter(|s| Volume::of(s).is_some()).collect();
        let usages = usages(&shares);
        let mut reports = Vec::new();
        let time = now();
        for (share, usage) in shares.into_iter().zip(usages) {
            // one unreadable share must not stop the sampling of the others
            let usage = match usage {
                Ok(u) => u,
                Err(e) => {
                    let report = SampleReport {
                        name: share.name.clone(),
                        used: 0,
                        limit: None,
                        alert: None,
                        error: Some(e.message),
                    };
                    reports.push(report);
                    continue;
                }
            };
            let path = self.history_path(share);
            let mut history = History::load(&path)?;
            history.add(Sample {
                time,
                used: usage.used,
                limit: usage.limit,
            });
            let mut alert = None;
            if let Some(limit) = usage.limit {
                let (level, raised) =
                    alerts::evaluate(&share.name, &share.quota_alerts, history.alert_level, usage.used, limit);
                history.alert_level = level;
                if let Some(a) = &raised {
                    self.log_alert(a)?;
                }
                alert = raised;
            }
            history.save(&path)?;
            reports.push(SampleReport {
                name: share.name.clone(),
                used: usage.used,
                limit: usage.limit,
                alert,
                error: None,
            });
        }
        self.write_dfree_cache(&cfg, Some(&reports))?;
        Ok(reports)
    }

    pub fn quota_history(&self, name: &str, days: u64) -> Result<QuotaHistory> {
        if !(1..=90).contains(&days) {
            bail_input!("--days {days} is out of range: history is kept for 1 to 90 days");
        }
        let share = self.show(name)?;
        if share.quota.is_none() {
            bail_input!("share '{}' has no quota, so no usage history is kept", share.name);
        }
        let history = History::load(&self.history_path(&share))?;
        Ok(QuotaHistory {
            name: share.name,
            samples: history.since(now(), days),
            growth_per_day: history.growth_per_day(),
            days_until_full: history.days_until_full(),
        })
    }

    fn log_alert(&self, alert: &Alert) -> Result<()> {
        use std::io::Write;
        fs::create_dir_all(&self.layout.log_dir, 0o750)?;
        let path = self.layout.log_dir.join("alerts.log");
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::io("opening", &path, e))?;
        writeln!(f, "{} {}", now(), alert.message).map_err(|e| Error::io("writing", &path, e))
    }

    /// Refresh one share's figures for the `dfree` helper.
    fn update_dfree_entry(&self, share: &Share, usage: Usage) -> Result<()> {
        let path = self.layout.run_dir.join(DFREE_CACHE);
        let mut cache: DfreeCache = fs::read_optional(&path)?
            .and_then(|d| serde_json::from_slice(&d).ok())
            .unwrap_or_default();
        cache.shares.insert(share.path.clone(), dfree_entry(share, usage));
        self.save_dfree_cache(&cache)
    }

    /// Rewrite the figures the `dfree` helper reads, from the backends.
    pub(crate) fn refresh_dfree_cache(&self) -> Result<()> {
        let cfg = self.store.load()?;
        self.write_dfree_cache(&cfg, None)
    }

    fn write_dfree_cache(&self, cfg: &SharesConfig, sampled: Option<&[SampleReport]>) -> Result<()> {
        let mut cache = DfreeCache::default();
        let shares: Vec<&Share> = cfg
            .shares()
            .iter()
            .filter(|s| s.quota.is_some() && Volume::of(s).is_some())
            .collect();
        let fresh = match sampled {
            Some(reports) => shares
                .iter()
                .map(
                    |s| match reports.iter().find(|r| r.name == s.name && r.error.is_none()) {
                        Some(r) => Ok(Usage {
                            used: r.used,
                            limit: r.limit,
                        }),
                        None => Err(Error::system("not sampled")),
                    },
                )
                .collect(),
            None => usages(&shares),
        };
        for (share, usage) in shares.into_iter().zip(fresh) {
            if let Ok(usage) = usage {
                cache.shares.insert(share.path.clone(), dfree_entry(share, usage));
            }
        }
        self.save_dfree_cache(&cache)
    }

    fn save_dfree_cache(&self, cache: &DfreeCache) -> Result<()> {
        fs::create_dir_all(&self.layout.run_dir, 0o755)?;
        let data = serde_json::to_vec(cache).map_err(|e| Error::system(e.to_string()))?;
        // read by smbd's helper as the connected user: world-readable, holds no secret
        fs::atomic_write(&self.layout.run_dir.join(DFREE_CACHE), &data, 0o644)
    }

    /// The disk size and free space SMB clients see for `dir`, in bytes: the quota where the
    /// directory is in a quota share, else the filesystem's. Runs unprivileged, inside smbd.
    pub fn dfree(&self, dir: &Path) -> Result<(u64, u64)> {
        let dir = std::fs::canonicalize(dir).map_err(|e| Error::io("resolving", dir, e))?;
        let cache: DfreeCache = fs::read_optional(&self.layout.run_dir.join(DFREE_CACHE))?
            .and_then(|d| serde_json::from_slice(&d).ok())
            .unwrap_or_default();
        let best = cache
            .shares
            .iter()
            .filter(|(path, _)| dir.starts_with(path))
            .max_by_key(|(path, _)| path.len());
        if best.is_some() {
            // btrfs counts new data in statfs only once it is committed; any user may ask for that
            if let Ok(d) = std::fs::File::open(&dir) {
                let _ = nix::unistd::syncfs(&d);
            }
        }
        let (fs_total, fs_free, fs_used) = fs_figures(&dir)?;
        Ok(match best.and_then(|(_, e)| e.limit.map(|l| (l, e))) {
            Some((limit, entry)) => {
                let used = entry.used.saturating_add(fs_used.saturating_sub(entry.fs_used));
                (limit, limit.saturating_sub(used).min(fs_free))
            }
            None => (fs_total, fs_free),
        })
    }
}

/// (total, available, used) bytes of the filesystem holding `path`.
fn fs_figures(path: &Path) -> Result<(u64, u64, u64)> {
    let st = nix::sys::statvfs::statvfs(path).map_err(|e| Error::system(format!("statvfs {}: {e}", path.display())))?;
    let block = st.fragment_size();
    Ok((
        st.blocks() * block,
        st.blocks_available() * block,
        (st.blocks() - st.blocks_free()) * block,
    ))
}

fn dfree_entry(share: &Share, usage: Usage) -> DfreeEntry {
    // unknown: no growth is ever added
    let fs_used = fs_figures(Path::new(&share.path)).map_or(u64::MAX, |(_, _, used)| used);
    DfreeEntry {
        used: usage.used,
        limit: usage.limit,
        fs_used,
    }
}

/// Mode of a share root the gateway creates: shares open to every user (or guests) need a
/// world-writable root, sticky so nobody removes another's files; the others get access
/// through ACL entries.
pub(crate) fn share_root_mode(share: &Share) -> u32 {
    if share.guest || (share.users.is_empty() && share.groups.is_empty()) {
        0o1777
    } else {
        0o770
    }
}

/// (device, inode) of a directory, refusing symbolic links.
fn identity(path: &Path) -> Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(path).map_err(|e| Error::io("stat", path, e))?;
    if !meta.is_dir() {
        return Err(Error::system(format!("{} is no longer a directory", path.display())));
    }
    Ok((meta.dev(), meta.ino()))
}

fn chmod_step(path: &Path, mode: u32) -> FnStep {
    let p = path.to_path_buf();
    FnStep::new(
        format!("set mode {mode:04o} on {}", path.display()),
        move || chmod(&p, mode),
        || Ok(()),
    )
}

/// Usage of many shares; btrfs ones are read together (one sync and one qgroup listing per
/// filesystem instead of two programs per share).
fn usages(shares: &[&Share]) -> Vec<Result<Usage>> {
    let volumes: Vec<Option<Volume>> = shares.iter().map(|s| Volume::of(s)).collect();
    let btrfs_paths: Vec<&Path> = volumes
        .iter()
        .filter_map(|v| match v {
            Some(Volume::Btrfs(p)) if p.exists() => Some(p.as_path()),
            _ => None,
        })
        .collect();
    let mut btrfs_usage = match btrfs::usage_many(&btrfs_paths) {
        Ok(list) => list.into_iter().map(Ok).collect::<Vec<_>>().into_iter(),
        Err(e) => vec![Err(e); btrfs_paths.len()].into_iter(),
    };
    volumes
        .into_iter()
        .map(|v| match v {
            Some(Volume::Btrfs(p)) if p.exists() => btrfs_usage.next().expect("one result per btrfs path"),
            Some(v) => v.usage(),
            None => Err(Error::input("no quota volume")),
        })
        .collect()
}

/// Missing parents of a new subvolume are plain directories.
fn create_parent(path: &Path, plan: &mut Plan) {
    if let Some(parent) = path.parent().filter(|p| !p.exists()) {
        plan.push(CreateDir::new(parent, 0o755));
    }
}

fn chmod(path: &Path, mode: u32) -> Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| Error::io("chmod", path, e))
}

/// The dataset for a new share on ZFS: a child of the dataset mounted at the path's parent.
fn derive_dataset(path: &Path) -> Result<String> {
    let parent = path.parent().unwrap_or(Path::new("/"));
    let Some(parent_ds) = zfs::dataset_mounted_at(parent)? else {
        bail_input!(
            "no ZFS dataset is mounted at {}; give --zfs-dataset POOL/NAME, or a path directly below a dataset's mountpoint",
            parent.display()
        );
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dataset = format!("{parent_ds}/{name}");
    smbgw_core::validate::zfs_dataset(&dataset)?;
    Ok(dataset)
}
