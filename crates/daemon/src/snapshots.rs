//! The snapshot schedules of the shares, run from the daemon's loop (no timer per share):
//! every scheduling tick asks the gateway which schedules are due
//! (`Gateway::snapshot_schedules`, which takes, prunes and records the last runs) and turns
//! what failed into alerts, as quota alerts are. The clock is the system's, or the one
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
    ScheduleOutcome {
        runs: gw.snapshot_schedules(now),
        seconds: start.elapsed().as_secs_f64(),
    }
}

/// The alert for a share whose scheduled snapshot or pruning failed.
pub fn alert(run: &ScheduleRun) -> Option<Notification> {
    let error = run.error.as_ref()?;
    let mut details = vec![("Share".to_string(), run.share.clone())];
    if let Some(taken) = &run.taken {
        details.push(("Taken".to_string(), taken.clone()));
    }
    Some(Notification {
        severity: "error",
        title: format!("SMB gateway: scheduled snapshot of share '{}' failed", run.share),
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
