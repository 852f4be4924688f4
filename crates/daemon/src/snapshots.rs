//! The snapshot and backup schedules of the shares, run from the daemon's loop (no timer per
//! share): every scheduling tick asks the gateway which schedules are due
//! (`Gateway::snapshot_schedules` and `backup_schedules`, one scheduling code for both, which
//! take, prune and record the last runs) and turns what failed into alerts, as quota alerts
//! are. The clock is the system's, or the one
//! `--now EPOCH` gives a `--once` run, so tests drive schedules without waiting.

use std::time::{Duration, Instant};

use smbgw_core::Result;
use smbgw_gateway::{Gateway, ScheduleRun};

use crate::notify::Notification;

/// How often schedules are looked at: calendar events name minutes.
pub const PERIOD: Duration = Duration::from_secs(60);

/// What one scheduling round did, and how long it took.
pub struct ScheduleOutcome {
    pub runs: Result<Vec<ScheduleRun>>,
    pub seconds: f64,
}

/// The blocking part of a round, at `now` (unix seconds) or the system clock's time.
pub fn run(gw: &Gateway, now: Option<i64>) -> ScheduleOutcome {
    let start = Instant::now();
    let now = now.unwrap_or_else(|| smbgw_sys::time::now() as i64);
    // the snapshots first: they are quick, a backup may take hours
    let snapshots = gw.snapshot_schedules(now);
    let backups = gw.backup_schedules(now);
    ScheduleOutcome {
        runs: match (snapshots, backups) {
            (Ok(mut runs), Ok(more)) => {
                runs.extend(more);
                Ok(runs)
            }
            (Err(e), _) | (_, Err(e)) => Err(e),
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
