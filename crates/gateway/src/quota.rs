//! Quota figures of shares: `quota-status`, the storage size PVE shows, what SMB clients see as
//! the disk size (the dfree helper's figures), the usage history and its alerts. Setting quotas
//! is part of a share's storage (`storage.rs`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use smbgw_core::size::format_size;
use smbgw_core::store::SharesConfig;
use smbgw_core::{bail_field, bail_input, Error, QuotaBackend, Result, Share};
use smbgw_quota::alerts::{self, Alert};
use smbgw_quota::backend::{self, Enforced, Volume};
use smbgw_quota::history::{History, Sample};
use smbgw_quota::Usage;
use smbgw_samba::render;
use smbgw_sys::fs;
use smbgw_sys::time::now;

use crate::Gateway;

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
    pub backend: QuotaBackend,
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
    /// The share's backend, for one that the helper can read live (CephFS xattrs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
}

const DFREE_CACHE: &str = "quota.json";

impl Gateway {
    pub fn quota_status(&self, name: &str) -> Result<QuotaStatus> {
        let share = self.share(name)?;
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
            backend: share.quota_backend,
            limit: usage.limit,
            used: usage.used,
            free: smbgw_quota::free(&usage),
            percent: usage.limit.map(|l| usage.used as f64 * 100.0 / l as f64),
        })
    }

    /// The share's size for PVE's storage status (pvestatd asks every 10 s): its quota where it
    /// has one, else the filesystem it is on.
    pub fn space(&self, name: &str) -> Result<Space> {
        let share = self.share(name)?;
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

    /// Every share whose quota the filesystem does not enforce as configured, and why (for the
    /// daemon's health check; `status` reports the same per share).
    pub fn quota_problems(&self) -> Result<Vec<(String, String)>> {
        let cfg = self.store.load()?;
        Ok(cfg
            .shares()
            .iter()
            .filter(|s| crate::availability::unavailable_reason(s).is_none())
            .filter_map(|s| quota_problem(s).map(|p| (s.name.clone(), p)))
            .collect())
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
        let max = smbgw_core::schema::MAX_DAYS as u64;
        if !(1..=max).contains(&days) {
            bail_field!(
                "days",
                "--days {days} is out of range: history is kept for 1 to {max} days"
            );
        }
        let share = self.share(name)?;
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

    /// The alert level `used` of `limit` puts `share` at: the highest of its thresholds reached,
    /// 0 below them all (the level `quota_sample` keeps in the history is this function of the
    /// usage, so front ends showing it ask here rather than evaluate thresholds themselves).
    pub fn alert_level(&self, share: &Share, used: u64, limit: u64) -> u8 {
        alerts::evaluate(&share.name, &share.quota_alerts, 0, used, limit).0
    }

    fn log_alert(&self, alert: &Alert) -> Result<()> {
        self.log_event(&alert.message)
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
        // a backend that any user can ask directly (CephFS) is asked now, not from the cache
        let live = best.and_then(|(path, e)| {
            let b = backend::of(QuotaBackend::from_name(e.backend.as_deref()?)?)?;
            b.live_usage(Path::new(path))
        });
        if let Some(Usage {
            used,
            limit: Some(limit),
        }) = live
        {
            return Ok((limit, limit.saturating_sub(used).min(fs_free)));
        }
        Ok(match best.and_then(|(_, e)| e.limit.map(|l| (l, e))) {
            Some((limit, entry)) => {
                let used = entry.used.saturating_add(fs_used.saturating_sub(entry.fs_used));
                (limit, limit.saturating_sub(used).min(fs_free))
            }
            None => (fs_total, fs_free),
        })
    }
}

/// Why the share's quota is not enforced as configured (`None`: it is, or it has none): limits
/// switched off behind the gateway's back (btrfs quotas), or a limit that differs from the config.
pub(crate) fn quota_problem(share: &Share) -> Option<String> {
    let limit = share.quota?;
    let volume = Volume::of(share)?;
    let fix = "run 'pve-smbgateway apply' to set it again";
    let enforced = match volume.enforced() {
        Ok(Enforced::Off(reason)) => {
            return Some(format!(
                "{reason}: the quota of {} is not enforced; {fix}",
                format_size(limit)
            ))
        }
        Ok(Enforced::Limit(enforced)) => Ok(enforced),
        Err(e) => Err(e),
    };
    match enforced {
        Ok(enforced) if enforced == Some(limit) => None,
        Ok(enforced) => Some(format!(
            "the enforced limit is {}, the share's quota is {}; {fix}",
            enforced.map_or("none".into(), format_size),
            format_size(limit)
        )),
        Err(e) => Some(format!("the quota cannot be read: {e}")),
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
        backend: Some(share.quota_backend.to_string()),
    }
}

/// Usage of many shares, each backend asked once for all of its shares (btrfs reads them
/// together: one sync and one qgroup listing per filesystem instead of two programs per share).
fn usages(shares: &[&Share]) -> Vec<Result<Usage>> {
    let volumes: Vec<Option<Volume>> = shares.iter().map(|s| Volume::of(s)).collect();
    backend::usage_many(&volumes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dfree_cache_written_before_backends_were_recorded_still_reads() {
        let old = r#"{"shares":{"/srv/q":{"used":1,"limit":10,"fs_used":5}}}"#;
        let cache: DfreeCache = serde_json::from_str(old).unwrap();
        assert_eq!(cache.shares["/srv/q"].backend, None);
        let entry = DfreeEntry {
            used: 1,
            limit: Some(10),
            fs_used: 5,
            backend: Some("cephfs".into()),
        };
        let text = serde_json::to_string(&entry).unwrap();
        assert!(text.contains(r#""backend":"cephfs""#), "{text}");
    }
}
