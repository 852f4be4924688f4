//! Usage history of a share, bounded on disk: 5-minute samples for 48 hours and hourly samples
//! for 90 days, whatever the sampling schedule (at most 576 + 2160 entries per share).

use std::path::Path;

use serde::{Deserialize, Serialize};
use smbgw_core::{Error, Result};
use smbgw_sys::fs;

pub const FINE_STEP: u64 = 300;
pub const FINE_KEEP: u64 = 48 * 3600;
pub const COARSE_STEP: u64 = 3600;
pub const COARSE_KEEP: u64 = 90 * 24 * 3600;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    /// Unix time, seconds.
    pub time: u64,
    pub used: u64,
    pub limit: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    pub fine: Vec<Sample>,
    pub coarse: Vec<Sample>,
    /// Highest alert threshold currently crossed (0: none).
    #[serde(default)]
    pub alert_level: u8,
}

impl History {
    pub fn load(path: &Path) -> Result<History> {
        match fs::read_optional(path)? {
            None => Ok(History::default()),
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::system(format!(
                    "usage history '{}' is corrupt ({e}); move it away to start a new one",
                    path.display()
                ))
            }),
        }
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir, 0o700)?;
        }
        let data = serde_json::to_vec(self).map_err(|e| Error::system(format!("serialising history: {e}")))?;
        fs::atomic_write(path, &data, 0o600)
    }

    /// Record a sample: one per 5-minute slot (the latest wins) and one per hour (the highest
    /// usage of the hour wins, so peaks are not lost), then drop what is older than kept.
    pub fn add(&mut self, sample: Sample) {
        put(&mut self.fine, sample, FINE_STEP, |_, new| new);
        put(&mut self.coarse, sample, COARSE_STEP, |old, new| {
            if new.used >= old.used {
                new
            } else {
                Sample { time: old.time, ..old }
            }
        });
        let now = sample.time;
        self.fine.retain(|s| s.time + FINE_KEEP > now);
        self.coarse.retain(|s| s.time + COARSE_KEEP > now);
    }

    /// Samples of the last `days` days, oldest first: fine ones where they exist, hourly before.
    pub fn since(&self, now: u64, days: u64) -> Vec<Sample> {
        let start = now.saturating_sub(days * 86400);
        let fine_start = self.fine.first().map_or(u64::MAX, |s| s.time);
        let mut out: Vec<Sample> = self
            .coarse
            .iter()
            .filter(|s| s.time >= start && s.time < fine_start)
            .copied()
            .collect();
        out.extend(self.fine.iter().filter(|s| s.time >= start));
        out
    }

    /// Growth in bytes per day over the fine samples (least squares), if there are enough.
    pub fn growth_per_day(&self) -> Option<f64> {
        let s = &self.fine;
        if s.len() < 2 || s.last()?.time - s.first()?.time < 600 {
            return None;
        }
        let n = s.len() as f64;
        let t0 = s[0].time as f64;
        let mean_t = s.iter().map(|x| x.time as f64 - t0).sum::<f64>() / n;
        let mean_u = s.iter().map(|x| x.used as f64).sum::<f64>() / n;
        let cov: f64 = s
            .iter()
            .map(|x| (x.time as f64 - t0 - mean_t) * (x.used as f64 - mean_u))
            .sum();
        let var: f64 = s.iter().map(|x| (x.time as f64 - t0 - mean_t).powi(2)).sum();
        (var > 0.0).then(|| cov / var * 86400.0)
    }

    /// Days until the quota is full at the current growth; `None` if not growing or no quota.
    pub fn days_until_full(&self) -> Option<f64> {
        let last = self.fine.last()?;
        let limit = last.limit?;
        let growth = self.growth_per_day()?;
        (growth > 0.0).then(|| limit.saturating_sub(last.used) as f64 / growth)
    }
}

fn put(series: &mut Vec<Sample>, sample: Sample, step: u64, merge: impl Fn(Sample, Sample) -> Sample) {
    match series.last_mut() {
        Some(last) if last.time / step == sample.time / step => *last = merge(*last, sample),
        Some(last) if last.time > sample.time => {} // clock went back: ignore rather than reorder
        _ => series.push(sample),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(time: u64, used: u64) -> Sample {
        Sample {
            time,
            used,
            limit: Some(1 << 30),
        }
    }

    #[test]
    fn bounded_whatever_the_schedule() {
        let mut h = History::default();
        // one sample a minute for 100 days
        for minute in 0..(100 * 24 * 60) {
            h.add(sample(minute * 60, minute));
        }
        assert!(h.fine.len() <= (FINE_KEEP / FINE_STEP) as usize, "{}", h.fine.len());
        assert!(
            h.coarse.len() <= (COARSE_KEEP / COARSE_STEP) as usize,
            "{}",
            h.coarse.len()
        );
        let bytes = serde_json::to_vec(&h).unwrap().len();
        assert!(bytes < 300_000, "history file is {bytes} bytes");
    }

    #[test]
    fn hourly_keeps_the_peak() {
        let mut h = History::default();
        h.add(sample(3600, 10));
        h.add(sample(3700, 50));
        h.add(sample(3800, 20));
        assert_eq!(
            h.coarse,
            vec![Sample {
                time: 3700,
                used: 50,
                limit: Some(1 << 30)
            }]
        );
    }

    #[test]
    fn trend_and_days_until_full() {
        let mut h = History::default();
        // grows 100 MiB per day from 512 MiB of 1 GiB
        for i in 0..48 {
            let t = i * 1800;
            h.add(sample(t, (512 << 20) + (100 << 20) * t / 86400));
        }
        let growth = h.growth_per_day().unwrap();
        assert!((growth - (100 << 20) as f64).abs() < 1e6, "{growth}");
        let days = h.days_until_full().unwrap();
        let expected = ((1u64 << 30) - h.fine.last().unwrap().used) as f64 / (100 << 20) as f64;
        assert!((days - expected).abs() < 0.01, "{days} vs {expected}");
    }

    #[test]
    fn since_prefers_fine_samples() {
        let mut h = History::default();
        for hour in 0..72u64 {
            h.add(sample(hour * 3600, hour));
        }
        let now = 71 * 3600;
        let all = h.since(now, 3);
        assert!(all.windows(2).all(|w| w[0].time < w[1].time));
        assert_eq!(all.last().unwrap().time, now);
    }
}
