//! The snapshot and backup schedules of the shares, run from the daemon's loop (no timer per
//! share): every scheduling tick asks the gateway which schedules are due
//! (`Gateway::snapshot_schedules` and `backup_schedules`, one scheduling code for both, which
//! take, prune and record the last runs) and turns what failed into alerts, as quota alerts
//! are. The clock is the system's, or the one
//! `--now EPOCH` gives a `--once` run, so tests drive schedules without waiting.

use std::time::{Duration, Instant};

use smbgw_core::Result;
use smbgw_gateway::{Gateway, ScheduleJob, ScheduleRun};

use crate::notify::Notification;

/// How often schedules are looked at: calendar events name minutes.
pub const PERIOD: Duration = Duration::from_secs(60);

/// What one scheduling round did, and how long it took.
pub struct ScheduleOutcome {
    pub runs: Result<Vec<ScheduleRun>>,
    pub seconds: f64,
}

/// The blocking part of a round of `job`'s schedules, at `now` (unix seconds) or the system
/// clock's time. The daemon runs the two jobs apart: a backup may take hours, and the
/// snapshot schedules must not wait for it.
pub fn run(gw: &Gateway, now: Option<i64>, job: ScheduleJob) -> ScheduleOutcome {
    let start = Instant::now();
    let now = now.unwrap_or_else(|| smbgw_sys::time::now() as i64);
    ScheduleOutcome {
        runs: match job {
            ScheduleJob::Snapshot => gw.snapshot_schedules(now),
            ScheduleJob::Backup => gw.backup_schedules(now),
        },
        seconds: start.elapsed().as_secs_f64(),
    }
}

/// The alert for a share whose scheduled snapshot or backup, or its pruning, failed.
pub fn alert(run: &ScheduleRun) -> Option<Notification> {
    let error = run.error.as_ref()?;
    let mut details = vec![
        ("Share".to_string(), run.share.clone()),
        ("Schedule".to_string(), run.job.as_str().to_string()),
    ];
    if let Some(taken) = &run.taken {
        details.push(("Taken".to_string(), taken.clone()));
    }
    Some(Notification {
        severity: "error",
        title: format!(
            "SMB gateway: scheduled {} of share '{}' failed",
            run.job.as_str(),
            run.share
        ),
        message: error.clone(),
        details,
        fields: vec![("share", run.share.clone())],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failures_are_alerts() {
        let ok = ScheduleRun {
            share: "docs".into(),
            taken: Some("@GMT-2026.12.05-06.00.00".into()),
            ..Default::default()
        };
        assert!(alert(&ok).is_none());
        let failed = ScheduleRun {
            error: Some("disk full".into()),
            ..ok
        };
        let n = alert(&failed).unwrap();
        assert_eq!(n.severity, "error");
        assert_eq!(n.message, "disk full");
        assert_eq!(n.fields, vec![("share", "docs".to_string())]);
    }
}
