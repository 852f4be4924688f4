//! Calendar events against PVE's documentation (the admin guide's "Schedule Format" chapter and
//! PBS's calendar event page), proxmox-time's rules, and a brute-force search for the next run.
//! Zone-free tests read their events in UTC (as proxmox-time's own tests do); the node's local time
//! is tested in Europe/Vienna, across both DST changes.

use super::*;
use crate::test_zone::{at, in_zone};

/// `epoch` as `Fri 2026-03-06 17:45` (`:SS` only when not 0).
fn show(epoch: i64, utc: bool) -> String {
    let t = localtime::split(epoch, utc).unwrap();
    let day = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][t.weekday as usize];
    let mut s = format!(
        "{day} {:04}-{:02}-{:02} {:02}:{:02}",
        t.year, t.month, t.day, t.hour, t.minute
    );
    if t.second != 0 {
        s.push_str(&format!(":{:02}", t.second));
    }
    s
}

/// The next `n` runs of `event` (read in UTC) after `from`.
fn runs(event: &str, from: &str, n: usize) -> Vec<String> {
    let e = CalendarEvent::parse(&format!("{event} UTC")).unwrap_or_else(|err| panic!("{event}: {}", err.message));
    let mut t = at(from, true);
    let mut out = Vec::new();
    for _ in 0..n {
        match e.next_after(t) {
            Some(next) => {
                assert!(next > t, "{event}: {next} is not after {t}");
                out.push(show(next, true));
                t = next;
            }
            None => {
                out.push("never".into());
                break;
            }
        }
    }
    out
}

#[test]
fn the_admin_guide_schedule_examples() {
    // the "Schedule Examples" table: schedule, its alternative, and what it means
    let table: &[(&str, &str, &str, &[&str])] = &[
        // every working day at 0:00
        (
            "mon,tue,wed,thu,fri",
            "mon..fri",
            "2026-03-05 12:00",
            &["Fri 2026-03-06 00:00", "Mon 2026-03-09 00:00", "Tue 2026-03-10 00:00"],
        ),
        // only on weekends at 0:00
        (
            "sat,sun",
            "sat..sun",
            "2026-03-02 00:00",
            &["Sat 2026-03-07 00:00", "Sun 2026-03-08 00:00", "Sat 2026-03-14 00:00"],
        ),
        // only on Monday, Wednesday and Friday at 0:00
        (
            "mon,wed,fri",
            "mon,wed,fri",
            "2026-03-02 00:00",
            &["Wed 2026-03-04 00:00", "Fri 2026-03-06 00:00", "Mon 2026-03-09 00:00"],
        ),
        // every day at 12:05 PM
        (
            "12:05",
            "12:05",
            "2026-03-02 12:05",
            &["Tue 2026-03-03 12:05", "Wed 2026-03-04 12:05"],
        ),
        // every five minutes
        (
            "*/5",
            "0/5",
            "2026-03-02 23:52",
            &["Mon 2026-03-02 23:55", "Tue 2026-03-03 00:00", "Tue 2026-03-03 00:05"],
        ),
        // Monday to Wednesday 30, 40 and 50 minutes after every full hour
        (
            "mon..wed 30/10",
            "mon,tue,wed 30/10",
            "2026-03-04 23:45",
            &[
                "Wed 2026-03-04 23:50",
                "Mon 2026-03-09 00:30",
                "Mon 2026-03-09 00:40",
                "Mon 2026-03-09 00:50",
                "Mon 2026-03-09 01:30",
            ],
        ),
        // every working day every 15 minutes between 8 AM and 6 PM and between 10 PM and 11 PM
        (
            "mon..fri 8..17,22:0/15",
            "mon..fri 8..17,22:0/15",
            "2026-03-06 17:40",
            &[
                "Fri 2026-03-06 17:45",
                "Fri 2026-03-06 22:00",
                "Fri 2026-03-06 22:15",
                "Fri 2026-03-06 22:30",
                "Fri 2026-03-06 22:45",
                "Mon 2026-03-09 08:00",
            ],
        ),
        // Friday at 12:05, 12:25, 12:45, 13:05, 13:25 and 13:45
        (
            "fri 12..13:5/20",
            "fri 12,13:5/20",
            "2026-03-06 00:00",
            &[
                "Fri 2026-03-06 12:05",
                "Fri 2026-03-06 12:25",
                "Fri 2026-03-06 12:45",
                "Fri 2026-03-06 13:05",
                "Fri 2026-03-06 13:25",
                "Fri 2026-03-06 13:45",
                "Fri 2026-03-13 12:05",
            ],
        ),
        // every day starting at 12:05 until 22:05, every 2 hours
        (
            "12,14,16,18,20,22:5",
            "12/2:5",
            "2026-03-02 20:05",
            &["Mon 2026-03-02 22:05", "Tue 2026-03-03 12:05", "Tue 2026-03-03 14:05"],
        ),
        // every minute (minimum interval)
        (
            "*",
            "*/1",
            "2026-03-02 23:59",
            &["Tue 2026-03-03 00:00", "Tue 2026-03-03 00:01"],
        ),
        // on the 5th day of every month
        (
            "*-05",
            "*-05",
            "2026-03-05 00:00",
            &["Sun 2026-04-05 00:00", "Tue 2026-05-05 00:00"],
        ),
        // first Saturday each month at 15:00
        (
            "Sat *-1..7 15:00",
            "sat *-1..7 15:00",
            "2026-03-07 15:00",
            &["Sat 2026-04-04 15:00", "Sat 2026-05-02 15:00", "Sat 2026-06-06 15:00"],
        ),
        // 21st October 2015 at 00:00, once
        (
            "2015-10-21",
            "2015-10-21",
            "2015-01-01 00:00",
            &["Wed 2015-10-21 00:00", "never"],
        ),
        // the prose: from 8 AM every 15 minutes until 9 AM
        (
            "8:00/15",
            "8:0,15,30,45",
            "2026-03-02 07:00",
            &[
                "Mon 2026-03-02 08:00",
                "Mon 2026-03-02 08:15",
                "Mon 2026-03-02 08:30",
                "Mon 2026-03-02 08:45",
                "Tue 2026-03-03 08:00",
            ],
        ),
    ];
    for (schedule, alternative, from, expected) in table {
        assert_eq!(runs(schedule, from, expected.len()), *expected, "{schedule}");
        assert_eq!(runs(alternative, from, expected.len()), *expected, "{alternative}");
    }
    // the guide's prose calls 'mon..fri 22' "every workday at 10 PM", but by its own rule (a value
    // without ':' is a minute) and by PVE's parser it is minute 22 of every hour; we follow the parser
    assert_eq!(
        runs("mon..fri 22", "2026-03-06 22:30", 2),
        ["Fri 2026-03-06 23:22", "Mon 2026-03-09 00:22"]
    );
}

#[test]
fn keywords_are_the_documented_long_forms() {
    // the "Special Values" table of both guides
    for (word, long) in [
        ("minutely", "*-*-* *:*:00"),
        ("hourly", "*-*-* *:00:00"),
        ("daily", "*-*-* 00:00:00"),
        ("weekly", "mon *-*-* 00:00:00"),
        ("monthly", "*-*-01 00:00:00"),
        ("yearly", "*-01-01 00:00:00"),
        ("annually", "*-01-01 00:00:00"),
        ("quarterly", "*-01,04,07,10-01 00:00:00"),
        ("semiannually", "*-01,07-01 00:00:00"),
        ("semi-annually", "*-01,07-01 00:00:00"),
    ] {
        assert_eq!(
            runs(word, "2026-03-02 00:00", 6),
            runs(long, "2026-03-02 00:00", 6),
            "{word}"
        );
    }
    assert_eq!(
        runs("minutely", "2026-03-02 23:58:30", 2),
        ["Mon 2026-03-02 23:59", "Tue 2026-03-03 00:00"]
    );
    assert_eq!(
        runs("hourly", "2026-03-02 23:00", 2),
        ["Tue 2026-03-03 00:00", "Tue 2026-03-03 01:00"]
    );
    assert_eq!(runs("daily", "2026-03-02 00:00", 1), ["Tue 2026-03-03 00:00"]);
    assert_eq!(
        runs("weekly", "2026-03-02 00:00", 2),
        ["Mon 2026-03-09 00:00", "Mon 2026-03-16 00:00"]
    );
    assert_eq!(
        runs("monthly", "2026-01-31 12:00", 2),
        ["Sun 2026-02-01 00:00", "Sun 2026-03-01 00:00"]
    );
    assert_eq!(
        runs("quarterly", "2026-03-02 00:00", 3),
        ["Wed 2026-04-01 00:00", "Wed 2026-07-01 00:00", "Thu 2026-10-01 00:00"]
    );
    assert_eq!(
        runs("semiannually", "2026-03-02 00:00", 2),
        ["Wed 2026-07-01 00:00", "Fri 2027-01-01 00:00"]
    );
    assert_eq!(runs("yearly", "2026-03-02 00:00", 1), ["Fri 2027-01-01 00:00"]);
}

#[test]
fn the_schedules_of_the_snapshot_issue() {
    assert_eq!(
        runs("*:0/15", "2026-03-02 23:40", 3),
        ["Mon 2026-03-02 23:45", "Tue 2026-03-03 00:00", "Tue 2026-03-03 00:15"]
    );
    // every hour from 8 to 18 on working days
    assert_eq!(
        runs("mon..fri 08..18:00", "2026-03-06 17:30", 3),
        ["Fri 2026-03-06 18:00", "Mon 2026-03-09 08:00", "Mon 2026-03-09 09:00"]
    );
    assert_eq!(
        runs("sat,sun 12:00", "2026-03-02 00:00", 3),
        ["Sat 2026-03-07 12:00", "Sun 2026-03-08 12:00", "Sat 2026-03-14 12:00"]
    );
    assert_eq!(
        runs("2026-12-24 18:00", "2026-03-02 00:00", 2),
        ["Thu 2026-12-24 18:00", "never"]
    );
    assert_eq!(
        runs("*-*-01 00:00", "2026-12-15 00:00", 2),
        ["Fri 2027-01-01 00:00", "Mon 2027-02-01 00:00"]
    );
}

#[test]
fn repetitions_and_ranges_in_every_field() {
    // proxmox-time's rules: a bare number is a minute; hours and seconds may be lists, ranges
    // and repetitions, in any order
    assert_eq!(
        runs("0", "2026-03-02 00:00", 2),
        ["Mon 2026-03-02 01:00", "Mon 2026-03-02 02:00"]
    );
    assert_eq!(
        runs("*:3:5", "2026-03-02 00:00", 2),
        ["Mon 2026-03-02 00:03:05", "Mon 2026-03-02 01:03:05"]
    );
    assert_eq!(
        runs("*:*:*", "2026-03-02 00:00", 2),
        ["Mon 2026-03-02 00:00:01", "Mon 2026-03-02 00:00:02"]
    );
    assert_eq!(
        runs("*:*:0/20", "2026-03-02 00:00", 2),
        ["Mon 2026-03-02 00:00:20", "Mon 2026-03-02 00:00:40"]
    );
    assert_eq!(
        runs("*:0:10..12", "2026-03-02 00:00", 4)[2..],
        ["Mon 2026-03-02 00:00:12", "Mon 2026-03-02 01:00:10"]
    );
    assert_eq!(
        runs("4..10/2:0", "2026-03-02 05:00", 4),
        [
            "Mon 2026-03-02 06:00",
            "Mon 2026-03-02 08:00",
            "Mon 2026-03-02 10:00",
            "Tue 2026-03-03 04:00"
        ]
    );
    assert_eq!(
        runs("5,10:4,8", "2026-03-02 00:00", 3),
        runs("10,5:8,4", "2026-03-02 00:00", 3)
    );
    assert_eq!(runs("5,10:4,8", "2026-03-02 00:00", 3)[0], "Mon 2026-03-02 05:04");
    assert_eq!(runs("6,4..10:23,5/5", "2026-03-02 00:00", 1), ["Mon 2026-03-02 04:05"]);
    assert_eq!(
        runs("5/2:0", "2026-03-02 00:00", 3),
        ["Mon 2026-03-02 05:00", "Mon 2026-03-02 07:00", "Mon 2026-03-02 09:00"]
    );
    // days and months: ranges, repetitions, lists; years: lists and repetitions
    assert_eq!(
        runs("2020-7..9-2/2", "2020-07-31 00:00", 2),
        ["Sun 2020-08-02 00:00", "Tue 2020-08-04 00:00"]
    );
    assert_eq!(
        runs("2020,2021-12-31", "2020-07-31 00:00", 3),
        ["Thu 2020-12-31 00:00", "Fri 2021-12-31 00:00", "never"]
    );
    assert_eq!(
        runs("2026/2-01-01", "2026-03-02 00:00", 2),
        ["Sat 2028-01-01 00:00", "Tue 2030-01-01 00:00"]
    );
    assert_eq!(
        runs("*/3-1", "2026-03-02 00:00", 2),
        ["Wed 2026-04-01 00:00", "Wed 2026-07-01 00:00"]
    );
    assert_eq!(
        runs("*-*-*/10", "2026-03-02 00:00", 3),
        ["Wed 2026-03-11 00:00", "Sat 2026-03-21 00:00", "Tue 2026-03-31 00:00"]
    );
    assert_eq!(
        runs("*-*-28..31/2", "2026-02-01 00:00", 3),
        ["Sat 2026-02-28 00:00", "Sat 2026-03-28 00:00", "Mon 2026-03-30 00:00"]
    );
    // weekdays wrap over the end of a month, a year and the week (fri..mon)
    assert_eq!(runs("sat", "2020-07-31 00:00", 1), ["Sat 2020-08-01 00:00"]);
    assert_eq!(runs("mon", "2020-12-31 00:00", 1), ["Mon 2021-01-04 00:00"]);
    assert_eq!(
        runs("fri..mon", "2026-03-03 00:00", 5),
        [
            "Fri 2026-03-06 00:00",
            "Sat 2026-03-07 00:00",
            "Sun 2026-03-08 00:00",
            "Mon 2026-03-09 00:00",
            "Fri 2026-03-13 00:00"
        ]
    );
    assert_eq!(
        runs("mon,tue..wednesday,fri..sat", "2026-03-05 00:00", 2),
        ["Fri 2026-03-06 00:00", "Sat 2026-03-07 00:00"]
    );
    // February 29th comes in leap years only; the 30th never, nor a 29th of 2021
    assert_eq!(
        runs("02-29", "2026-03-02 00:00", 2),
        ["Tue 2028-02-29 00:00", "Sun 2032-02-29 00:00"]
    );
    assert_eq!(runs("02-30", "2026-03-02 00:00", 1), ["never"]);
    assert_eq!(runs("2021-02-29", "2020-01-01 00:00", 1), ["never"]);
    // a year already past never comes again
    assert_eq!(runs("2015-10-21", "2026-03-02 00:00", 1), ["never"]);
}

#[test]
fn utc_suffix_whitespace_and_the_normalized_text() {
    for (given, normalized, utc) in [
        ("hourly", "hourly", false),
        ("hourly UTC", "hourly UTC", true),
        ("dailyUTC", "daily UTC", true),
        ("  mon..fri \t 08..18:00   UTC ", "mon..fri 08..18:00 UTC", true),
        ("MON,Tuesday 2:50", "mon,tuesday 2:50", false),
        ("mon08:00", "mon 08:00", false),
        ("sat  *-1..7\t15:00", "sat *-1..7 15:00", false),
        ("2026-12-24 18:00", "2026-12-24 18:00", false),
    ] {
        let e = CalendarEvent::parse(given).unwrap_or_else(|err| panic!("{given:?}: {}", err.message));
        assert_eq!(e.to_string(), normalized, "{given:?}");
        assert_eq!(e.is_utc(), utc, "{given:?}");
        // the normalized text is the same event
        assert_eq!(CalendarEvent::parse(normalized).unwrap(), e, "{given:?}");
    }
    // UTC changes the runs: midnight UTC is not midnight in Vienna
    assert_ne!(
        CalendarEvent::parse("daily UTC").unwrap(),
        CalendarEvent::parse("daily").unwrap()
    );
}

#[test]
fn malformed_events_are_refused_with_the_reason() {
    for (text, reason) in [
        ("25:00", "hour 25 is out of range 0..23"),
        ("24:00", "hour 24 is out of range"),
        ("*:60", "minute 60 is out of range 0..59"),
        ("*:0:60", "second 60 is out of range"),
        ("mon..funday", "\"funday\" is not a weekday"),
        ("mon,", "\"\" is not a weekday"),
        ("Daily", "\"Daily\" is not a weekday"),
        ("*:0/0", "a repetition of 0 in the minute"),
        ("*/0", "a repetition of 0"),
        ("*:0/60", "not a number from 1 to 59"),
        ("", "names no weekday, date or time"),
        ("   ", "names no weekday, date or time"),
        ("UTC", "names no weekday, date or time"),
        ("08:00 mon", "unexpected \"mon\""),
        ("2026-12-24 18:00 19:00", "unexpected \"19:00\""),
        ("18:00 2026-12-24", "unexpected \"2026-12-24\""),
        ("2026-13-01", "month 13 is out of range 1..12"),
        ("2026-00-01", "month 00 is out of range"),
        ("02-00", "day 00 is out of range 1..31"),
        ("02-32", "day 32 is out of range"),
        ("2200-01-01", "year 2200 is out of range"),
        ("1-2-3-4", "is not [YEAR-]MONTH-DAY"),
        ("1:2:3:4", "is not [HOUR:]MINUTE[:SECOND]"),
        ("08:", "the minute is missing"),
        ("8..:00", "the hour is missing"),
        ("18..8:00", "the hour range 18..8 starts after it ends"),
        ("1,*:00", "hour \"*\" is not a number"),
        ("-1:00", "the month is missing"),
        ("99999999999:00", "out of range"),
        ("+5:00", "hour \"+5\" is not a number"),
        ("mon\n08:00", "hour \"\\n08\" is not a number"),
        ("mön", "is not a weekday"),
    ] {
        let err = CalendarEvent::parse(text).unwrap_err();
        assert_eq!(err.kind, crate::ErrorKind::Input, "{text:?}");
        assert!(err.message.contains(reason), "{text:?}: {}", err.message);
        assert!(
            err.message.contains("calendar event format"),
            "{text:?}: {}",
            err.message
        );
    }
    let long = format!("{}0", "0,".repeat(200));
    assert!(CalendarEvent::parse(&long)
        .unwrap_err()
        .message
        .contains("longer than 256"));
}

/// Whether `event` fires at `epoch` exactly: its fields hold the time (the oracle the search is
/// checked against).
fn fires_at(event: &CalendarEvent, epoch: i64) -> bool {
    let t = localtime::split(epoch, event.utc).unwrap();
    let every_day = event.weekdays == 0 || event.weekdays == ALL_DAYS;
    event.year.accepts(t.year)
        && event.month.accepts(t.month)
        && event.day.accepts(t.day)
        && (every_day || event.weekdays & (1 << t.weekday) != 0)
        && event.hour.accepts(t.hour)
        && event.minute.accepts(t.minute)
        && event.second.accepts(t.second)
}

#[test]
fn the_next_run_is_the_first_matching_minute_found_by_brute_force() {
    let events = [
        "*:0/15",
        "mon..fri 08..18:00",
        "sat,sun 12:00",
        "mon..fri 8..17,22:0/15",
        "fri 12..13:5/20",
        "12/2:5",
        "Sat *-1..7 15:00",
        "*-*-01 00:00",
        "*-05",
        "tue,thu 23:59",
        "sun 0..2:30",
        "*-*-29..31 6:00",
        "weekly",
    ];
    // starts spread over a year, on and off the minute
    let starts: Vec<i64> = (0..12)
        .map(|i| at("2026-01-01 00:00", true) + i * 2_590_321 + (i % 3) * 60 + i % 2)
        .collect();
    for text in events {
        let event = CalendarEvent::parse(&format!("{text} UTC")).unwrap();
        for from in &starts {
            let next = event.next_after(*from).unwrap();
            assert!(next > *from);
            assert!(fires_at(&event, next), "{text}: {} does not match", show(next, true));
            // every minute in between misses (all these events fire at second 0)
            let mut m = (*from / 60 + 1) * 60;
            while m < next {
                assert!(
                    !fires_at(&event, m),
                    "{text} after {}: {} comes first",
                    show(*from, true),
                    show(m, true)
                );
                m += 60;
            }
        }
    }
}

/// Vienna's DST in 2026: clocks jump from 02:00 CET to 03:00 CEST on March 29th and fall back
/// from 03:00 CEST to 02:00 CET on October 25th.
#[test]
fn local_time_across_both_dst_changes_in_vienna() {
    in_zone!("Europe/Vienna", local_time_across_both_dst_changes_in_vienna, || {
        let utc = |text| at(text, true);
        let next = |event: &str, after: i64| CalendarEvent::parse(event).unwrap().next_after(after).unwrap();
        // local midnight is 23:00 UTC in winter, 22:00 UTC in summer
        assert_eq!(next("daily", utc("2026-03-27 12:00")), utc("2026-03-27 23:00"));
        assert_eq!(next("daily", utc("2026-03-28 23:00")), utc("2026-03-29 22:00"));
        assert_eq!(next("daily UTC", utc("2026-03-28 23:00")), utc("2026-03-29 00:00"));
        // spring: 02:30 does not exist on the 29th, so that day has no run (as in PVE)
        assert_eq!(next("02:30", utc("2026-03-28 01:00")), utc("2026-03-28 01:30"));
        assert_eq!(next("02:30", utc("2026-03-28 01:30")), utc("2026-03-30 00:30"));
        // every 30 minutes: 01:30 CET, then 03:00 CEST, half an hour later in real time
        let half = "*:0/30";
        assert_eq!(next(half, utc("2026-03-29 00:00")), utc("2026-03-29 00:30"));
        assert_eq!(next(half, utc("2026-03-29 00:30")), utc("2026-03-29 01:00"));
        assert_eq!(show(utc("2026-03-29 01:00"), false), "Sun 2026-03-29 03:00");
        // autumn: the hour from 02:00 repeats; a run there happens once, in its first pass
        assert_eq!(next("02:30", utc("2026-10-24 12:00")), utc("2026-10-25 00:30"));
        assert_eq!(show(utc("2026-10-25 00:30"), false), "Sun 2026-10-25 02:30");
        assert_eq!(next("02:30", utc("2026-10-25 00:30")), utc("2026-10-26 01:30"));
        assert_eq!(next(half, utc("2026-10-25 00:30")), utc("2026-10-25 02:00"));
        assert_eq!(show(utc("2026-10-25 02:00"), false), "Sun 2026-10-25 03:00");
        // asked from inside the repeated hour (02:10 CET), the run is never behind the question
        let inside = utc("2026-10-25 01:10");
        assert_eq!(show(inside, false), "Sun 2026-10-25 02:10");
        let n = next(half, inside);
        assert!(n > inside, "{} is not after {}", show(n, false), show(inside, false));
        assert_eq!(n, utc("2026-10-25 01:30"));
        // the weekday is the local one: Monday 00:30 in Vienna is Sunday 22:30 UTC in summer
        assert_eq!(next("mon 00:30", utc("2026-07-01 00:00")), utc("2026-07-05 22:30"));
    });
}

#[test]
fn runs_in_the_node_zone_unless_utc() {
    in_zone!("UTC", runs_in_the_node_zone_unless_utc, || {
        let e = CalendarEvent::parse("mon..fri 08..18:00").unwrap();
        assert_eq!(
            e.next_after(at("2026-03-06 17:30", true)),
            Some(at("2026-03-06 18:00", true))
        );
    });
}
