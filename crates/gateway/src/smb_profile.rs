//! smbd's profiling counters (smbgw_samba::profile): the node's SMB requests, operations and
//! bytes read and written, for the daemon's metrics and, sampled by the daemon, a short
//! history of the node's SMB throughput (`io-history`, the UI's chart). Per server: Samba 4.17
//! has no per-share figures.

use serde::{Deserialize, Serialize};
use smbgw_core::{bail_field, schema, Error, Result};
use smbgw_samba::profile::{self, Profile};
use smbgw_sys::fs;

use crate::Gateway;

/// The history keeps `schema::MAX_HOURS`, and at most this many samples (a daemon sampling every few
/// seconds still keeps a bounded file).
const MAX_HOURS: u64 = schema::MAX_HOURS as u64;
const KEEP_SECONDS: u64 = MAX_HOURS * 3600;
const KEEP_SAMPLES: usize = 2880;

/// One sample of the counters, as stored, with the pid of the smbd that counted them: a
/// restarted smbd counts from zero again, which a drop alone does not reveal once its fresh
/// counters pass the last sample's.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
struct Counters {
    time: u64,
    /// Absent in samples stored before it was recorded.
    #[serde(default)]
    pid: Option<i32>,
    requests: u64,
    read_bytes: u64,
    write_bytes: u64,
}

/// The node's SMB throughput between two samples, per second.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IoPoint {
    /// End of the interval (Unix time).
    pub time: u64,
    pub seconds: u64,
    pub read_bytes_per_second: f64,
    pub write_bytes_per_second: f64,
    pub requests_per_second: f64,
}

#[derive(Debug, Serialize)]
pub struct IoHistory {
    /// Samples recorded in the period asked for (the daemon records one per sampling round
    /// with `smb-profiling: count`); the points need two.
    pub samples: usize,
    pub points: Vec<IoPoint>,
}

impl Gateway {
    /// The counters of the running smbd, or `None` while it does not run. With `count`,
    /// counting is turned on first (it is off unless smb.conf or an earlier call turned it on,
    /// and a restarted smbd starts with it off again).
    pub fn smb_profile(&self, count: bool) -> Result<Option<Profile>> {
        if self.samba.smbd_pid().is_none() {
            return Ok(None);
        }
        if count {
            profile::start_counting(&self.samba)?;
        }
        profile::read(&self.samba).map(Some)
    }

    /// The daemon's round: the counters (counting turned on), recorded in the history.
    pub fn smb_profile_sample(&self) -> Result<Option<Profile>> {
        let pid = self.samba.smbd_pid();
        let Some(p) = self.smb_profile(true)? else {
            return Ok(None);
        };
        if self.samba.smbd_pid() != pid {
            // smbd restarted while being read: whose counters these are is unknown
            return Ok(Some(p));
        }
        let path = self.io_history_path();
        let mut samples = load(&path)?;
        let now = smbgw_sys::time::now();
        samples.push(Counters {
            time: now,
            pid,
            requests: p.requests,
            read_bytes: p.read_bytes,
            write_bytes: p.write_bytes,
        });
        samples.retain(|s| s.time + KEEP_SECONDS >= now && s.time <= now);
        let excess = samples.len().saturating_sub(KEEP_SAMPLES);
        samples.drain(..excess);
        let data =
            serde_json::to_vec(&samples).map_err(|e| Error::system(format!("serialising the SMB history: {e}")))?;
        fs::create_dir_all(&self.layout.state_dir, 0o700)?;
        // derived figures: losing the last one in a crash costs one point of a chart
        fs::atomic_write_derived(&path, &data, 0o600)?;
        Ok(Some(p))
    }

    /// The node's SMB throughput over the last `hours` (1-`MAX_HOURS`).
    pub fn io_history(&self, hours: u64) -> Result<IoHistory> {
        if !(1..=MAX_HOURS).contains(&hours) {
            bail_field!(
                "hours",
                "hours must be from 1 to {MAX_HOURS} (the history keeps {MAX_HOURS} hours)"
            );
        }
        let since = smbgw_sys::time::now().saturating_sub(hours * 3600);
        let samples: Vec<Counters> = load(&self.io_history_path())?
            .into_iter()
            .filter(|s| s.time >= since)
            .collect();
        Ok(IoHistory {
            samples: samples.len(),
            points: rates(&samples),
        })
    }

    fn io_history_path(&self) -> std::path::PathBuf {
        self.layout.state_dir.join("smb-profile.json")
    }
}

fn load(path: &std::path::Path) -> Result<Vec<Counters>> {
    match fs::read_optional(path)? {
        None => Ok(Vec::new()),
        Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            Error::system(format!(
                "SMB throughput history '{}' is corrupt ({e}); move it away to start a new one",
                path.display()
            ))
        }),
    }
}

/// The rates between consecutive samples. Where smbd restarted (another pid, or a counter that
/// went down) its counters began again at zero: that interval has no figure.
fn rates(samples: &[Counters]) -> Vec<IoPoint> {
    samples
        .windows(2)
        .filter_map(|w| {
            let (a, b) = (w[0], w[1]);
            if a.pid != b.pid {
                return None;
            }
            let seconds = b.time.checked_sub(a.time).filter(|s| *s > 0)?;
            let delta = |x: u64, y: u64| y.checked_sub(x).map(|d| d as f64 / seconds as f64);
            Some(IoPoint {
                time: b.time,
                seconds,
                read_bytes_per_second: delta(a.read_bytes, b.read_bytes)?,
                write_bytes_per_second: delta(a.write_bytes, b.write_bytes)?,
                requests_per_second: delta(a.requests, b.requests)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(time: u64, requests: u64, read_bytes: u64, write_bytes: u64) -> Counters {
        Counters {
            time,
            pid: Some(7),
            requests,
            read_bytes,
            write_bytes,
        }
    }

    #[test]
    fn rates_between_samples_skip_restarts() {
        let points = rates(&[
            at(100, 10, 0, 0),
            at(110, 30, 1000, 5000),
            // smbd restarted: its counters began again at zero
            at(120, 5, 100, 0),
            at(140, 25, 300, 4000),
            // the same second twice: no interval
            at(140, 26, 300, 4000),
        ]);
        assert_eq!(points.len(), 2, "{points:?}");
        assert_eq!(
            points[0],
            IoPoint {
                time: 110,
                seconds: 10,
                read_bytes_per_second: 100.0,
                write_bytes_per_second: 500.0,
                requests_per_second: 2.0,
            }
        );
        assert_eq!((points[1].time, points[1].read_bytes_per_second), (140, 10.0));
        assert!(rates(&[at(1, 1, 1, 1)]).is_empty());
    }

    #[test]
    fn a_restart_whose_counters_passed_the_last_sample_leaves_a_gap() {
        let restarted = |c: Counters| Counters { pid: Some(8), ..c };
        let points = rates(&[
            at(100, 10, 1000, 0),
            // a new smbd that already counted more than the old one had: no drop, another pid
            restarted(at(110, 50, 9000, 100)),
            restarted(at(120, 70, 9500, 100)),
        ]);
        assert_eq!(points.len(), 1, "{points:?}");
        assert_eq!((points[0].time, points[0].read_bytes_per_second), (120, 50.0));
        // samples stored before pids were recorded read as pid-less
        let old: Counters = serde_json::from_str(r#"{"time":1,"requests":2,"read_bytes":3,"write_bytes":4}"#).unwrap();
        assert_eq!(old.pid, None);
    }
}
