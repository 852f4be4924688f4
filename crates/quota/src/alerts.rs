//! Threshold alerts: raised once when usage crosses a threshold upwards, cleared (once) when it
//! falls back below. The crossing state lives in the share's history file.

use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alert {
    pub share: String,
    /// The threshold crossed (percent); 0 when usage fell below all thresholds.
    pub threshold: u8,
    pub percent: f64,
    pub rising: bool,
    pub message: String,
}

/// Compare the new usage with the previous alert level; returns the new level and the alert
/// to raise, if any.
pub fn evaluate(share: &str, thresholds: &[u8], previous: u8, used: u64, limit: u64) -> (u8, Option<Alert>) {
    let percent = if limit == 0 {
        0.0
    } else {
        used as f64 * 100.0 / limit as f64
    };
    let level = thresholds
        .iter()
        .copied()
        .filter(|t| percent >= *t as f64)
        .max()
        .unwrap_or(0);
    let alert = match level.cmp(&previous) {
        std::cmp::Ordering::Greater => Some(Alert {
            share: share.to_string(),
            threshold: level,
            percent,
            rising: true,
            message: format!("share '{share}' uses {percent:.1}% of its quota (crossed {level}%)"),
        }),
        std::cmp::Ordering::Less => Some(Alert {
            share: share.to_string(),
            threshold: level,
            percent,
            rising: false,
            message: if level == 0 {
                format!(
                    "share '{share}' is back below {}% of its quota ({percent:.1}%)",
                    thresholds.first().copied().unwrap_or(0)
                )
            } else {
                format!("share '{share}' fell to {percent:.1}% of its quota (below {previous}%)")
            },
        }),
        std::cmp::Ordering::Equal => None,
    };
    (level, alert)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_per_crossing() {
        let t = [80, 90, 95];
        let mut level = 0;
        let mut raised = Vec::new();
        for used in [10, 50, 81, 85, 89, 91, 96, 97, 96, 70, 60, 82] {
            let (l, alert) = evaluate("s", &t, level, used, 100);
            level = l;
            if let Some(a) = alert {
                raised.push((a.threshold, a.rising));
            }
        }
        assert_eq!(raised, vec![(80, true), (90, true), (95, true), (0, false), (80, true)]);
    }
}
