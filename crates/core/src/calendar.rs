//! Calendar events in PVE's syntax, the schedules of vzdump jobs, storage replication and PBS
//! (the PVE admin guide's "Schedule Format"): `[WEEKDAYS] [[YEAR-]MONTH-DAY] [[HOUR:]MINUTE[:SECOND]]
//! [UTC]`, or one of the words `minutely`, `hourly`, `daily`, `weekly`, `monthly`, `yearly`
//! (`annually`), `quarterly`, `semiannually` (`semi-annually`). A share's `snapshot-schedule` is
//! one; the daemon asks `next_after` when it runs next.
//!
//! What parses and which time comes next are proxmox-time's rules (PVE::CalendarEvent reaches them
//! through pve-rs), re-implemented here from their behaviour: a field without a value means every
//! value, except that an event without a time runs at 00:00 and one without seconds at second 0;
//! `*/N`, `A/N` and `A..B/N` repeat every N from the field's first value, from A, or from A to B;
//! the time is the node's local time unless the event ends in `UTC`, and a DST change moves a run
//! as it moves PVE's (a time the change skips is not run that day). Deliberately stricter than
//! PVE: a repetition of 0 (`*:0/0`), month 0 and day 0 are refused (PVE accepts them and they fire
//! once or never), surrounding blanks are dropped, and in the hour the end of DST repeats the next
//! run is never before the time asked about.

use std::fmt;

use smbgw_sys::localtime::{self, DateTime};

use crate::{Error, Result};

/// Longest event accepted: far above any real one, short enough for one config line.
const MAX_LEN: usize = 256;

/// Steps after which the search for the next run gives up, as PVE's does (`02-30` never comes).
const MAX_STEPS: u32 = 1000;

/// All seven weekdays; bit 0 is Monday.
const ALL_DAYS: u8 = 0x7f;

const WEEKDAYS: [[&str; 2]; 7] = [
    ["mon", "monday"],
    ["tue", "tuesday"],
    ["wed", "wednesday"],
    ["thu", "thursday"],
    ["fri", "friday"],
    ["sat", "saturday"],
    ["sun", "sunday"],
];

/// A schedule: when a share's snapshots are taken. Built only by `parse`, so always valid; shown
/// (`Display`) as the normalized text it was parsed from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalendarEvent {
    text: String,
    utc: bool,
    /// Bit i is weekday i (0 Monday); 0 means every day.
    weekdays: u8,
    year: Field,
    month: Field,
    day: Field,
    hour: Field,
    minute: Field,
    second: Field,
}

/// The values one field (year, month, ...) takes: any of `items`, or every value when empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Field(Vec<Item>);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Item {
    Value(u32),
    Range(u32, u32),
    Every { start: u32, step: u32, end: Option<u32> },
}

/// A field's name and bounds. `first` is where `*/N` counts from.
struct Unit {
    name: &'static str,
    first: u32,
    min: u32,
    max: u32,
}

const YEAR: Unit = Unit {
    name: "year",
    first: 0,
    min: 0,
    // systemd's and proxmox-time's limit
    max: 2199,
};
const MONTH: Unit = Unit {
    name: "month",
    first: 1,
    min: 1,
    max: 12,
};
const DAY: Unit = Unit {
    name: "day",
    first: 1,
    min: 1,
    max: 31,
};
const HOUR: Unit = Unit {
    name: "hour",
    first: 0,
    min: 0,
    max: 23,
};
const MINUTE: Unit = Unit {
    name: "minute",
    first: 0,
    min: 0,
    max: 59,
};
const SECOND: Unit = Unit {
    name: "second",
    first: 0,
    min: 0,
    max: 59,
};

impl Item {
    fn accepts(self, v: u32) -> bool {
        match self {
            Item::Value(x) => x == v,
            Item::Range(a, b) => (a..=b).contains(&v),
            Item::Every { start, step, end } => {
                v >= start && (v - start).is_multiple_of(step) && end.is_none_or(|e| v <= e)
            }
        }
    }

    /// The smallest value above `v` this item takes.
    fn next_above(self, v: u32) -> Option<u32> {
        match self {
            Item::Value(x) => (x > v).then_some(x),
            Item::Range(a, b) => Some(if v < a { a } else { v + 1 }).filter(|n| *n <= b),
            Item::Every { start, step, end } => {
                let n = match v < start {
                    true => start,
                    false => start + ((v - start) / step + 1) * step,
                };
                end.is_none_or(|e| n <= e).then_some(n)
            }
        }
    }
}

impl Field {
    fn at(values: &[u32]) -> Field {
        Field(values.iter().map(|v| Item::Value(*v)).collect())
    }

    fn accepts(&self, v: i32) -> bool {
        self.0.is_empty() || u32::try_from(v).is_ok_and(|v| self.0.iter().any(|i| i.accepts(v)))
    }

    fn next_above(&self, v: i32) -> Option<i32> {
        let v = u32::try_from(v).ok()?;
        let next = self.0.iter().filter_map(|i| i.next_above(v)).min()?;
        i32::try_from(next).ok()
    }
}

impl CalendarEvent {
    /// Parse an event in PVE's syntax. The error says what is wrong and shows the format; the
    /// caller names the field.
    pub fn parse(text: &str) -> Result<CalendarEvent> {
        let bad = |why: String| {
            Error::input(format!(
                "calendar event {text:?} is not valid: {why}; expected PVE's calendar event format, e.g. 'hourly', 'daily', '*:0/15', 'mon..fri 08..18:00', 'sat,sun 12:00' or '2026-12-24 18:00' (optionally ending in UTC)"
            ))
        };
        if text.len() > MAX_LEN {
            return Err(bad(format!("it is longer than {MAX_LEN} characters")));
        }
        // blanks are spaces and tabs, as in PVE; a newline is no blank
        let blank = [' ', '\t'];
        let mut rest = text.trim_matches(blank);
        let utc = match rest.strip_suffix("UTC") {
            Some(r) => {
                rest = r.trim_end_matches(blank);
                true
            }
            None => false,
        };
        if rest.is_empty() {
            return Err(bad("it names no weekday, date or time".into()));
        }
        let midnight = || Field::at(&[0]);
        let mut event = CalendarEvent {
            text: String::new(),
            utc,
            weekdays: 0,
            year: Field::default(),
            month: Field::default(),
            day: Field::default(),
            hour: midnight(),
            minute: midnight(),
            second: midnight(),
        };
        let mut words = Vec::new();
        if let Some(apply) = keyword(rest) {
            apply(&mut event);
            words.push(rest.to_string());
        } else {
            // the weekdays lead, letters with ',' and '..' between them; the blank after is optional
            let end = match rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
                true => rest
                    .find(|c: char| !(c.is_ascii_alphabetic() || c == ',' || c == '.'))
                    .unwrap_or(rest.len()),
                false => 0,
            };
            let (days, after) = rest.split_at(end);
            if !days.is_empty() {
                event.weekdays = weekdays(days).map_err(bad)?;
                words.push(days.to_ascii_lowercase());
            }
            let tokens: Vec<&str> = after.split(blank).filter(|t| !t.is_empty()).collect();
            let (date, time) = match tokens[..] {
                [] => (None, None),
                [d] if d.contains('-') => (Some(d), None),
                [t] => (None, Some(t)),
                [d, t] if d.contains('-') => (Some(d), Some(t)),
                [_, extra] | [_, _, extra, ..] => {
                    return Err(bad(format!(
                        "unexpected {extra:?} (a date comes before the time, once each)"
                    )))
                }
            };
            if let Some(date) = date {
                let parts: Vec<&str> = date.split('-').collect();
                let (year, month, day) = match parts[..] {
                    [y, m, d] => (Some(y), m, d),
                    [m, d] => (None, m, d),
                    _ => return Err(bad(format!("date {date:?} is not [YEAR-]MONTH-DAY"))),
                };
                if let Some(year) = year {
                    event.year = field(year, &YEAR).map_err(bad)?;
                }
                event.month = field(month, &MONTH).map_err(bad)?;
                event.day = field(day, &DAY).map_err(bad)?;
                words.push(date.to_string());
            }
            if let Some(time) = time {
                let parts: Vec<&str> = time.split(':').collect();
                let (hour, minute, second) = match parts[..] {
                    [m] => (None, m, None),
                    [h, m] => (Some(h), m, None),
                    [h, m, s] => (Some(h), m, Some(s)),
                    _ => return Err(bad(format!("time {time:?} is not [HOUR:]MINUTE[:SECOND]"))),
                };
                event.hour = match hour {
                    Some(h) => field(h, &HOUR).map_err(bad)?,
                    None => Field::default(),
                };
                event.minute = field(minute, &MINUTE).map_err(bad)?;
                if let Some(s) = second {
                    event.second = field(s, &SECOND).map_err(bad)?;
                }
                words.push(time.to_string());
            }
        }
        if utc {
            words.push("UTC".into());
        }
        event.text = words.join(" ");
        Ok(event)
    }

    /// The first time strictly after `after` (unix seconds) the event fires, in the node's local
    /// time zone unless the event says UTC; `None` if it never fires again.
    pub fn next_after(&self, after: i64) -> Option<i64> {
        let mut t = Cursor::new(after.checked_add(1)?, self.utc)?;
        let every_day = self.weekdays == 0 || self.weekdays == ALL_DAYS;
        for _ in 0..MAX_STEPS {
            let now = t.at;
            if !self.year.accepts(now.year) {
                // no later year: the event is over
                let next = self.year.next_above(now.year)?;
                t.start_of_year(next)?;
                continue;
            }
            if !self.month.accepts(now.month) {
                match self.month.next_above(now.month) {
                    Some(next) => t.start_of_month(now.year, next)?,
                    None => t.start_of_year(now.year + 1)?,
                }
                continue;
            }
            if !self.day.accepts(now.day) {
                match self.day.next_above(now.day) {
                    Some(next) => t.start_of_day(next)?,
                    None => t.start_of_month(now.year, now.month + 1)?,
                }
                continue;
            }
            if !every_day && self.weekdays & (1 << now.weekday) == 0 {
                // the next chosen day of this week, else the next Monday
                let ahead = (now.weekday + 1..7)
                    .find(|d| self.weekdays & (1 << d) != 0)
                    .unwrap_or(7);
                t.start_of_day(now.day + ahead - now.weekday)?;
                continue;
            }
            if !self.hour.accepts(now.hour) {
                match self.hour.next_above(now.hour) {
                    Some(next) => t.set_time(next, 0, 0)?,
                    None => t.start_of_day(now.day + 1)?,
                }
                continue;
            }
            if !self.minute.accepts(now.minute) {
                match self.minute.next_above(now.minute) {
                    Some(next) => t.set_time(now.hour, next, 0)?,
                    None => t.set_time(now.hour + 1, 0, 0)?,
                }
                continue;
            }
            if !self.second.accepts(now.second) {
                match self.second.next_above(now.second) {
                    Some(next) => t.set_time(now.hour, now.minute, next)?,
                    None => t.set_time(now.hour, now.minute + 1, 0)?,
                }
                continue;
            }
            return Some(t.epoch);
        }
        None
    }

    /// Whether the event counts in UTC rather than the node's local time.
    pub fn is_utc(&self) -> bool {
        self.utc
    }
}

impl fmt::Display for CalendarEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The fields of PVE's keywords.
fn keyword(word: &str) -> Option<fn(&mut CalendarEvent)> {
    Some(match word {
        "minutely" => |e| {
            e.hour = Field::default();
            e.minute = Field::default();
        },
        "hourly" => |e| e.hour = Field::default(),
        "daily" => |_| {},
        "weekly" => |e| e.weekdays = 1,
        "monthly" => |e| e.day = Field::at(&[1]),
        "yearly" | "annually" => |e| {
            e.month = Field::at(&[1]);
            e.day = Field::at(&[1]);
        },
        "quarterly" => |e| {
            e.month = Field::at(&[1, 4, 7, 10]);
            e.day = Field::at(&[1]);
        },
        "semiannually" | "semi-annually" => |e| {
            e.month = Field::at(&[1, 7]);
            e.day = Field::at(&[1]);
        },
        _ => return None,
    })
}

/// `mon,wed..fri`: days and ranges of days; a range may wrap over Sunday (`fri..mon`).
fn weekdays(text: &str) -> std::result::Result<u8, String> {
    let day = |name: &str| -> std::result::Result<u32, String> {
        let lower = name.to_ascii_lowercase();
        match WEEKDAYS.iter().position(|names| names.contains(&lower.as_str())) {
            Some(i) => Ok(i as u32),
            None => Err(format!(
                "{name:?} is not a weekday (mon, tue, wed, thu, fri, sat, sun or the full names)"
            )),
        }
    };
    let mut bits = 0u8;
    for item in text.split(',') {
        let (first, last) = match item.split_once("..") {
            Some((a, b)) => (day(a)?, day(b)?),
            None => (day(item)?, day(item)?),
        };
        let mut d = first;
        loop {
            bits |= 1 << d;
            if d == last {
                break;
            }
            d = (d + 1) % 7;
        }
    }
    Ok(bits)
}

/// One field of a date or time: `*`, `*/N`, or a comma list of `A`, `A..B`, `A/N`, `A..B/N`.
fn field(text: &str, unit: &Unit) -> std::result::Result<Field, String> {
    let name = unit.name;
    let number = |t: &str| -> std::result::Result<u32, String> {
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(match t.is_empty() {
                true => format!("the {name} is missing"),
                false => format!("{name} {t:?} is not a number"),
            });
        }
        match t.parse::<u32>() {
            Ok(v) if (unit.min..=unit.max).contains(&v) => Ok(v),
            _ => Err(format!("{name} {t} is out of range {}..{}", unit.min, unit.max)),
        }
    };
    let step = |t: &str| -> std::result::Result<u32, String> {
        match t.parse::<u32>() {
            Ok(0) => Err(format!("a repetition of 0 in the {name} ({text:?}) never repeats")),
            Ok(n) if n <= unit.max && t.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
            _ => Err(format!(
                "the repetition {t:?} in the {name} is not a number from 1 to {}",
                unit.max.max(1)
            )),
        }
    };
    if text == "*" {
        return Ok(Field::default());
    }
    if let Some(n) = text.strip_prefix("*/") {
        return Ok(Field(vec![Item::Every {
            start: unit.first,
            step: step(n)?,
            end: None,
        }]));
    }
    let mut items = Vec::new();
    for part in text.split(',') {
        let (span, every) = match part.split_once('/') {
            Some((s, n)) => (s, Some(step(n)?)),
            None => (part, None),
        };
        let (start, end) = match span.split_once("..") {
            Some((a, b)) => {
                let (a, b) = (number(a)?, number(b)?);
                if a > b {
                    return Err(format!("the {name} range {span} starts after it ends"));
                }
                (a, Some(b))
            }
            None => (number(span)?, None),
        };
        items.push(match (end, every) {
            (None, None) => Item::Value(start),
            (Some(end), None) => Item::Range(start, end),
            (end, Some(step)) => Item::Every { start, step, end },
        });
    }
    Ok(Field(items))
}

/// A point in time the search moves forward field by field; every move goes through libc, which
/// carries over (hour 24, day 32) and places it in the zone's DST.
struct Cursor {
    utc: bool,
    epoch: i64,
    at: DateTime,
}

impl Cursor {
    fn new(epoch: i64, utc: bool) -> Option<Cursor> {
        let at = localtime::split(epoch, utc)?;
        Some(Cursor { utc, epoch, at })
    }

    fn start_of_year(&mut self, year: i32) -> Option<()> {
        self.at.year = year;
        self.start_of_month(year, 1)
    }

    fn start_of_month(&mut self, year: i32, month: i32) -> Option<()> {
        self.at.year = year;
        self.at.month = month;
        self.start_of_day(1)
    }

    fn start_of_day(&mut self, day: i32) -> Option<()> {
        self.at.day = day;
        self.set_time(0, 0, 0)
    }

    fn set_time(&mut self, hour: i32, minute: i32, second: i32) -> Option<()> {
        let mut at = self.at;
        (at.hour, at.minute, at.second) = (hour, minute, second);
        let mut epoch = localtime::join(&at, self.utc)?;
        if epoch < self.epoch && !self.utc {
            // the hour the end of DST repeats, and mktime took its first instant, behind us: the
            // search only moves forward, so take the second one
            if let Some(later) = localtime::join_standard(&at).filter(|e| *e >= self.epoch) {
                epoch = later;
            }
        }
        *self = Cursor::new(epoch, self.utc)?;
        Some(())
    }
}

#[cfg(test)]
mod tests;
