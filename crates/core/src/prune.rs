//! Retention in PVE's and PBS's prune format, `keep-last=N,keep-hourly=N,keep-daily=N,
//! keep-weekly=N,keep-monthly=N,keep-yearly=N`: a share's `snapshot-keep`, and which of its
//! snapshots it keeps (`keep_marks`).
//!
//! The rules are those of PVE::Storage::prune_mark_backup_group and PBS's compute_prune_info,
//! re-implemented from their behaviour: newest first, each option in the order above keeps the
//! newest snapshot of each of its last N periods (the snapshot itself, the hour, the day, the ISO
//! week, the month, the year, in the node's local time), and skips what an earlier option already
//! decided: a snapshot kept or dropped before is not counted again, nor is a period in which an
//! earlier option already keeps one. An option of 0 keeps nothing by itself (PVE's minimum is 0).
//! Stricter than PVE: a string whose every value is 0 is refused, where PVE reads it as
//! keep-all (an unset `snapshot-keep` keeps everything), and so is `keep-all` itself.

use std::collections::HashSet;
use std::fmt;

use smbgw_sys::localtime;

use crate::{bail_input, Result};

/// Largest count accepted: more than a snapshot a minute for a year.
pub const MAX_KEEP: u64 = 1_000_000;

/// How many snapshots of each period to keep; `None` (or 0): that option keeps nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeepOptions {
    pub last: Option<u64>,
    pub hourly: Option<u64>,
    pub daily: Option<u64>,
    pub weekly: Option<u64>,
    pub monthly: Option<u64>,
    pub yearly: Option<u64>,
}

/// The options in the order they apply, with their keys.
const KEYS: [&str; 6] = [
    "keep-last",
    "keep-hourly",
    "keep-daily",
    "keep-weekly",
    "keep-monthly",
    "keep-yearly",
];

const FORMAT: &str = "keep-last=N,keep-hourly=N,keep-daily=N,keep-weekly=N,keep-monthly=N,keep-yearly=N (any of them, comma separated, e.g. keep-last=3,keep-daily=7)";

impl KeepOptions {
    /// Parse `keep-last=3,keep-daily=7`. Refused: unknown or repeated keys, values that are not
    /// whole numbers from 0 to `MAX_KEEP`, nothing given, and every value 0 (that would delete
    /// every snapshot). The caller names the field.
    pub fn parse(text: &str) -> Result<KeepOptions> {
        let mut keep = KeepOptions::default();
        let mut given = false;
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let Some((key, value)) = item.split_once('=') else {
                bail_input!("retention {text:?}: {item:?} is not KEY=N; expected {FORMAT}");
            };
            let key = key.trim();
            let value = value.trim();
            let Some(index) = KEYS.iter().position(|k| *k == key) else {
                if key == "keep-all" {
                    bail_input!(
                        "retention {text:?}: keep-all is not a retention here; to keep every snapshot leave the retention unset"
                    );
                }
                bail_input!("retention {text:?}: unknown option {key:?}; expected {FORMAT}");
            };
            let count = match value.parse::<u64>() {
                Ok(n) if n <= MAX_KEEP && value.bytes().all(|b| b.is_ascii_digit()) => n,
                _ => bail_input!("retention {text:?}: {key} {value:?} is not a whole number from 0 to {MAX_KEEP}"),
            };
            let slot = keep.slot(index);
            if slot.is_some() {
                bail_input!("retention {text:?} gives {key} twice");
            }
            *slot = Some(count);
            given = true;
        }
        if !given {
            bail_input!("retention {text:?} is empty; expected {FORMAT}");
        }
        if !keep.keeps_something() {
            bail_input!(
                "retention {text:?} keeps nothing: every value is 0, so every snapshot would be deleted; give at least one count above 0 (or leave the retention unset to keep every snapshot)"
            );
        }
        Ok(keep)
    }

    /// Whether some option keeps at least one snapshot.
    pub fn keeps_something(&self) -> bool {
        self.counts().iter().any(|c| c.unwrap_or(0) > 0)
    }

    fn counts(&self) -> [Option<u64>; 6] {
        [
            self.last,
            self.hourly,
            self.daily,
            self.weekly,
            self.monthly,
            self.yearly,
        ]
    }

    fn slot(&mut self, index: usize) -> &mut Option<u64> {
        match index {
            0 => &mut self.last,
            1 => &mut self.hourly,
            2 => &mut self.daily,
            3 => &mut self.weekly,
            4 => &mut self.monthly,
            _ => &mut self.yearly,
        }
    }
}

/// `keep-last=3,keep-daily=7`: the options given, in the order they apply.
impl fmt::Display for KeepOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let given: Vec<String> = KEYS
            .iter()
            .zip(self.counts())
            .filter_map(|(key, count)| count.map(|n| format!("{key}={n}")))
            .collect();
        f.write_str(&given.join(","))
    }
}

/// Which of `times` (unix seconds, any order, may repeat) the retention keeps, in the order of
/// `times`. Of equal times the one first in `times` counts as the newer. A retention that keeps
/// nothing keeps everything, as PVE's does.
pub fn keep_marks(times: &[i64], keep: &KeepOptions) -> Vec<bool> {
    if !keep.keeps_something() {
        return vec![true; times.len()];
    }
    // newest first; a stable sort keeps equal times in their given order
    let mut order: Vec<usize> = (0..times.len()).collect();
    order.sort_by(|a, b| times[*b].cmp(&times[*a]));
    let periods: Vec<Periods> = order.iter().map(|i| Periods::of(times[*i])).collect();
    // per position in `order`: None undecided, Some(kept)
    let mut marks: Vec<Option<bool>> = vec![None; order.len()];
    for (option, count) in keep.counts().into_iter().enumerate() {
        let Some(count) = count.filter(|c| *c > 0) else {
            continue;
        };
        let period = |i: usize| periods[i].key(option);
        // periods an earlier option already keeps a snapshot in
        let covered: HashSet<u64> = (0..order.len())
            .filter(|i| marks[*i] == Some(true))
            .map(period)
            .collect();
        let mut chosen: HashSet<u64> = HashSet::new();
        for (i, mark) in marks.iter_mut().enumerate() {
            if mark.is_some() || covered.contains(&period(i)) {
                continue;
            }
            if chosen.contains(&period(i)) {
                // an older snapshot of a period this option already keeps the newest of
                *mark = Some(false);
                continue;
            }
            if chosen.len() as u64 >= count {
                break;
            }
            chosen.insert(period(i));
            *mark = Some(true);
        }
    }
    let mut kept = vec![false; times.len()];
    for (position, index) in order.into_iter().enumerate() {
        kept[index] = marks[position] == Some(true);
    }
    kept
}

/// The periods one time falls in, in the node's local time, as keys: the time itself, then its
/// hour, day, ISO week, month and year.
struct Periods([u64; 6]);

impl Periods {
    fn of(time: i64) -> Periods {
        let Some(t) = localtime::split(time, false) else {
            // beyond what libc shows: a period of its own for every option
            return Periods([time as u64; 6]);
        };
        let year = (t.year as i64 + 1_000_000) as u64;
        let day = year * 1000 + t.yday as u64;
        let (week_year, week) = iso_week(t.year, t.yday, t.weekday);
        Periods([
            time as u64,
            day * 100 + t.hour as u64,
            day,
            (week_year as i64 + 1_000_000) as u64 * 100 + week as u64,
            year * 100 + t.month as u64,
            year,
        ])
    }

    fn key(&self, option: usize) -> u64 {
        self.0[option]
    }
}

/// The ISO 8601 week (`%G/%V`: weeks start on Monday, week 1 holds the year's first Thursday) of
/// a day given by its year, day of the year (0-based) and weekday (0 Monday).
fn iso_week(year: i32, yday: i32, weekday: i32) -> (i32, i32) {
    let days_in = |y: i32| {
        if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 {
            366
        } else {
            365
        }
    };
    // the Thursday of this day's week decides the week's year
    let thursday = yday - weekday + 3;
    if thursday < 0 {
        let prev = year - 1;
        return (prev, (thursday + days_in(prev)) / 7 + 1);
    }
    if thursday >= days_in(year) {
        return (year + 1, 1);
    }
    (year, thursday / 7 + 1)
}

#[cfg(test)]
mod tests;
