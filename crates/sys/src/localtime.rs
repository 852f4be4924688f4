//! Calendar time of the node: a timestamp split into year, month, day, hour... in the node's
//! local time zone (or UTC), and such fields joined back into a timestamp. The snapshot schedules
//! (`smbgw_core::calendar`) and the retention (`smbgw_core::prune`) count in these fields, as
//! PVE's own calendar events and prune do, through the same libc calls (localtime_r, mktime,
//! timegm), so a DST change moves our schedules exactly as it moves a vzdump job's.

/// A point in time as a calendar shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime {
    pub year: i32,
    /// 1 to 12.
    pub month: i32,
    /// 1 to 31.
    pub day: i32,
    pub hour: i32,
    pub minute: i32,
    pub second: i32,
    /// 0 is Monday, 6 is Sunday (PVE's and ISO 8601's week).
    pub weekday: i32,
    /// Day of the year, 0 for January 1st.
    pub yday: i32,
}

/// `epoch` (seconds) in the node's local time zone, or in UTC; `None` beyond what libc can show.
pub fn split(epoch: i64, utc: bool) -> Option<DateTime> {
    let t: libc::time_t = epoch;
    // SAFETY: an all-zero `tm` is a valid value (a null tm_zone pointer included).
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call; the *_r forms use no shared buffer.
    let done = unsafe {
        match utc {
            true => libc::gmtime_r(&t, &mut tm),
            false => libc::localtime_r(&t, &mut tm),
        }
    };
    if done.is_null() {
        return None;
    }
    Some(DateTime {
        year: tm.tm_year.checked_add(1900)?,
        month: tm.tm_mon + 1,
        day: tm.tm_mday,
        hour: tm.tm_hour,
        minute: tm.tm_min,
        second: tm.tm_sec,
        weekday: (tm.tm_wday + 6) % 7,
        yday: tm.tm_yday,
    })
}

/// The timestamp of `t`'s fields (weekday and yday are ignored). Fields out of their range carry
/// over as mktime does (hour 24 is the next day's 0, day 32 of January is February 1st). In local
/// time the zone decides whether DST applies; a time a DST change skips comes out shifted by the
/// change, an hour that repeats gives one of its two instants (mktime's choice).
pub fn join(t: &DateTime, utc: bool) -> Option<i64> {
    to_epoch(t, utc, if utc { 0 } else { -1 })
}

/// The local timestamp of `t` read as standard time (no DST): of an hour the end of DST repeats,
/// its second instant, where `join` may give the first.
pub fn join_standard(t: &DateTime) -> Option<i64> {
    to_epoch(t, false, 0)
}

fn to_epoch(t: &DateTime, utc: bool, isdst: i32) -> Option<i64> {
    // SAFETY: as in `split`.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    tm.tm_year = t.year.checked_sub(1900)?;
    tm.tm_mon = t.month.checked_sub(1)?;
    tm.tm_mday = t.day;
    tm.tm_hour = t.hour;
    tm.tm_min = t.minute;
    tm.tm_sec = t.second;
    tm.tm_isdst = isdst;
    // SAFETY: `tm` is a valid, exclusively borrowed struct for the call.
    let epoch = unsafe {
        match utc {
            true => libc::timegm(&mut tm),
            false => libc::mktime(&mut tm),
        }
    };
    // -1 is also 1969-12-31 23:59:59 UTC, never a time the gateway computes with
    (epoch != -1).then_some(epoch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_fields_round_trip_and_carry_over() {
        // 2026-12-24 18:00:00 UTC, a Thursday
        let t = split(1_798_135_200, true).unwrap();
        assert_eq!(
            (t.year, t.month, t.day, t.hour, t.minute, t.second, t.weekday, t.yday),
            (2026, 12, 24, 18, 0, 0, 3, 357)
        );
        assert_eq!(join(&t, true), Some(1_798_135_200));
        // the 32nd of December is January 1st of the next year
        let next = DateTime { day: 32, hour: 0, ..t };
        assert_eq!(split(join(&next, true).unwrap(), true).unwrap().yday, 0);
        assert_eq!(join(&next, true), Some(1_798_761_600));
    }
}
