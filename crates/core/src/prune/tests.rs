//! The retention against the cases PVE's storage tests and PBS's prune tests pin down, PBS's
//! documented rules (ISO weeks, "already covered" periods), the parser's refusals, and local time
//! in Europe/Vienna. Periods depend on the zone, so those tests run with TZ set (`test_zone`).

use super::*;
use crate::test_zone::{at, in_zone};

fn keep(text: &str) -> KeepOptions {
    KeepOptions::parse(text).unwrap_or_else(|e| panic!("{text}: {}", e.message))
}

/// The snapshots of `list` (UTC times) that `retention` keeps, in the order of `list`.
fn kept<'a>(list: &[&'a str], retention: &str) -> Vec<&'a str> {
    let times: Vec<i64> = list.iter().map(|t| at(t, true)).collect();
    let marks = keep_marks(&times, &keep(retention));
    list.iter().zip(marks).filter(|(_, k)| *k).map(|(t, _)| *t).collect()
}

#[test]
fn parse_and_show_the_prune_format() {
    let k = keep("keep-last=3,keep-daily=7");
    assert_eq!(
        k,
        KeepOptions {
            last: Some(3),
            daily: Some(7),
            ..Default::default()
        }
    );
    assert_eq!(k.to_string(), "keep-last=3,keep-daily=7");
    // shown in the order the options apply, whatever order they came in; blanks around items go
    let all = keep(" keep-yearly=9, keep-monthly=11,keep-weekly=8 ,keep-daily=13,keep-hourly=0,keep-last=3 ");
    assert_eq!(
        all.to_string(),
        "keep-last=3,keep-hourly=0,keep-daily=13,keep-weekly=8,keep-monthly=11,keep-yearly=9"
    );
    assert_eq!(keep(&all.to_string()), all);
    // a 0 beside a count is PVE's "not set"; the largest count is accepted
    assert_eq!(keep("keep-last=0,keep-weekly=1").weekly, Some(1));
    assert_eq!(keep("keep-last=1000000").last, Some(MAX_KEEP));
    assert_eq!(keep("keep-daily=7,").daily, Some(7));
}

#[test]
fn malformed_retention_is_refused_with_the_reason() {
    for (text, reason) in [
        ("", "is empty"),
        (" , ", "is empty"),
        ("keep-last", "\"keep-last\" is not KEY=N"),
        ("keep-last=", "keep-last \"\" is not a whole number from 0 to 1000000"),
        ("keep-last=-1", "keep-last \"-1\" is not a whole number"),
        ("keep-last=+3", "keep-last \"+3\" is not a whole number"),
        ("keep-last=1.5", "keep-last \"1.5\" is not a whole number"),
        ("keep-last=three", "keep-last \"three\" is not a whole number"),
        (
            "keep-last=1000001",
            "keep-last \"1000001\" is not a whole number from 0 to 1000000",
        ),
        ("keep-last=99999999999999999999999", "is not a whole number"),
        ("keep-hours=3", "unknown option \"keep-hours\""),
        ("KEEP-LAST=3", "unknown option \"KEEP-LAST\""),
        ("last=3", "unknown option \"last\""),
        ("keep-all=1", "keep-all is not a retention here"),
        ("keep-last=1,keep-last=2", "gives keep-last twice"),
        ("keep-last=0", "keeps nothing: every value is 0"),
        ("keep-last=0,keep-daily=0,keep-yearly=0", "keeps nothing"),
        (
            "keep-last=3;keep-daily=7",
            "keep-last \"3;keep-daily=7\" is not a whole number",
        ),
    ] {
        let err = KeepOptions::parse(text).unwrap_err();
        assert_eq!(err.kind, crate::ErrorKind::Input, "{text:?}");
        assert!(err.message.contains(reason), "{text:?}: {}", err.message);
    }
}

/// PBS's own prune tests (tests/prune.rs of proxmox-backup), as outcomes.
#[test]
fn the_cases_of_pbs_prune_tests() {
    in_zone!("UTC", the_cases_of_pbs_prune_tests, || {
        let hourly = [
            "2019-11-15 09:39:15",
            "2019-11-15 10:49:15",
            "2019-11-15 10:59:15",
            "2019-11-15 11:39:15",
            "2019-11-15 11:49:15",
            "2019-11-15 11:59:15",
        ];
        assert_eq!(
            kept(&hourly, "keep-hourly=3"),
            ["2019-11-15 09:39:15", "2019-11-15 10:59:15", "2019-11-15 11:59:15"]
        );
        assert_eq!(
            kept(&hourly, "keep-hourly=2"),
            ["2019-11-15 10:59:15", "2019-11-15 11:59:15"]
        );

        let spread = [
            "2018-11-15 11:59:15",
            "2019-11-15 11:59:15",
            "2019-11-21 11:59:15",
            "2019-11-22 11:59:15",
            "2019-11-29 11:59:15",
            "2019-12-01 11:59:15",
            "2019-12-02 11:59:15",
            "2019-12-03 11:59:15",
            "2019-12-04 11:59:15",
        ];
        for (retention, expected) in [
            ("keep-daily=1", &["2019-12-04 11:59:15"][..]),
            (
                "keep-last=1,keep-daily=1",
                &["2019-12-03 11:59:15", "2019-12-04 11:59:15"],
            ),
            // 12-01 is the Sunday of the week before 12-04's
            (
                "keep-daily=1,keep-weekly=1",
                &["2019-12-01 11:59:15", "2019-12-04 11:59:15"],
            ),
            // 11-29 shares 12-01's week, dropped by keep-weekly, so keep-monthly takes 11-22
            (
                "keep-daily=1,keep-weekly=1,keep-monthly=1",
                &["2019-11-22 11:59:15", "2019-12-01 11:59:15", "2019-12-04 11:59:15"],
            ),
            (
                "keep-monthly=1,keep-yearly=1",
                &["2018-11-15 11:59:15", "2019-12-04 11:59:15"],
            ),
        ] {
            assert_eq!(kept(&spread, retention), expected, "{retention}");
        }

        let simple = [
            "2019-12-02 11:59:15",
            "2019-12-03 11:59:15",
            "2019-12-04 11:59:15",
            "2019-12-04 12:59:15",
        ];
        let all = &simple[..];
        for (retention, expected) in [
            ("keep-last=4", all),
            ("keep-last=3", &simple[1..]),
            ("keep-last=2", &simple[2..]),
            ("keep-last=1", &simple[3..]),
            ("keep-last=2,keep-daily=2", all),
            (
                "keep-daily=3",
                &["2019-12-02 11:59:15", "2019-12-03 11:59:15", "2019-12-04 12:59:15"],
            ),
            ("keep-daily=2", &["2019-12-03 11:59:15", "2019-12-04 12:59:15"]),
            // one week, one month, one year: one snapshot
            ("keep-weekly=5", &simple[3..]),
            ("keep-daily=1,keep-weekly=5", &simple[3..]),
            ("keep-monthly=6", &simple[3..]),
            ("keep-yearly=7", &simple[3..]),
            ("keep-weekly=5,keep-monthly=6,keep-yearly=7", &simple[3..]),
        ] {
            assert_eq!(kept(&simple, retention), expected, "{retention}");
        }
    });
}

/// PVE's storage tests (test/prune_backups_test.pm of pve-storage): one guest's five backups
/// around the turn of 2019/2020, marks oldest first.
#[test]
fn the_cases_of_pve_storage_prune_tests() {
    in_zone!("UTC", the_cases_of_pve_storage_prune_tests, || {
        let group = [
            "2018-05-26 11:18:21",
            "2019-12-31 11:18:21",
            "2019-12-31 11:19:21",
            "2020-01-01 11:18:21",
            "2020-01-01 12:18:21",
        ];
        let marks = |retention: &str| -> String {
            let times: Vec<i64> = group.iter().map(|t| at(t, true)).collect();
            keep_marks(&times, &keep(retention))
                .iter()
                .map(|k| if *k { 'K' } else { '-' })
                .collect()
        };
        for (retention, expected) in [
            ("keep-last=3", "--KKK"),
            // 2019-12-31 is in ISO week 1 of 2020, with 2020-01-01
            ("keep-weekly=2", "K---K"),
            ("keep-hourly=0,keep-daily=1,keep-weekly=1,keep-monthly=1", "K-K-K"),
            ("keep-hourly=4,keep-daily=0", "K-KKK"),
            (
                "keep-hourly=0,keep-daily=0,keep-weekly=0,keep-monthly=0,keep-yearly=2",
                "--K-K",
            ),
            ("keep-last=2,keep-hourly=2", "K-KKK"),
            ("keep-last=1,keep-monthly=2", "K-K-K"),
            ("keep-monthly=3", "K-K-K"),
            ("keep-last=1,keep-daily=1,keep-weekly=1", "K-K-K"),
            (
                "keep-hourly=0,keep-last=1,keep-daily=1,keep-weekly=1,keep-monthly=0,keep-yearly=0",
                "K-K-K",
            ),
            ("keep-daily=2", "--K-K"),
            // keep-weekly dropped 2019-12-31 11:19, so keep-monthly does not take it for December
            ("keep-weekly=1,keep-monthly=1", "K---K"),
            ("keep-weekly=1,keep-yearly=1", "K---K"),
        ] {
            assert_eq!(marks(retention), expected, "{retention}");
        }
        // a year before 2000 and one after
        assert_eq!(
            keep_marks(&[83, at("2070-01-01 00:01:00", true)], &keep("keep-yearly=1")),
            [false, true]
        );
        // "month is already covered by the backup kept by keep-weekly"
        let threeway = ["2019-12-25 12:18:21", "2019-12-31 12:18:21", "2020-01-01 12:18:21"];
        assert_eq!(
            kept(&threeway, "keep-daily=1,keep-weekly=1,keep-monthly=1"),
            ["2019-12-25 12:18:21", "2020-01-01 12:18:21"]
        );
    });
}

#[test]
fn weeks_are_iso_weeks() {
    // (date, day of the year from 0, weekday from Monday 0) against `date +%G/%V`
    for (date, yday, weekday, expected) in [
        ("2020-12-31", 365, 3, (2020, 53)),
        ("2021-01-03", 2, 6, (2020, 53)),
        ("2021-01-04", 3, 0, (2021, 1)),
        ("2024-12-29", 363, 6, (2024, 52)),
        ("2024-12-30", 364, 0, (2025, 1)),
        ("2025-12-29", 362, 0, (2026, 1)),
        ("2026-01-01", 0, 3, (2026, 1)),
        ("2026-12-31", 364, 3, (2026, 53)),
        ("2027-01-01", 0, 4, (2026, 53)),
        ("2027-01-03", 2, 6, (2026, 53)),
        ("2027-01-04", 3, 0, (2027, 1)),
        ("2008-12-29", 363, 0, (2009, 1)),
        ("2010-01-03", 2, 6, (2009, 53)),
    ] {
        let year = date[..4].parse().unwrap();
        assert_eq!(iso_week(year, yday, weekday), expected, "{date}");
    }
    in_zone!("UTC", weeks_are_iso_weeks, || {
        // keep-weekly=2 over Sun 2027-01-03, Fri 2027-01-01, Mon 2026-12-28 (one ISO week) and
        // Sun 2026-12-27 (the week before)
        let days = [
            "2026-12-27 12:00:00",
            "2026-12-28 12:00:00",
            "2027-01-01 12:00:00",
            "2027-01-03 12:00:00",
        ];
        assert_eq!(
            kept(&days, "keep-weekly=2"),
            ["2026-12-27 12:00:00", "2027-01-03 12:00:00"]
        );
        // weeks start on Monday: Sunday and the Monday after are two weeks
        let turn = ["2026-03-08 23:00:00", "2026-03-09 01:00:00"];
        assert_eq!(kept(&turn, "keep-weekly=2"), turn);
    });
}

#[test]
fn order_repeats_and_the_already_covered_rule() {
    in_zone!("UTC", order_repeats_and_the_already_covered_rule, || {
        // any order in, same order out
        let list = [
            "2026-03-04 10:00:00",
            "2026-03-02 10:00:00",
            "2026-03-05 10:00:00",
            "2026-03-03 10:00:00",
        ];
        assert_eq!(
            kept(&list, "keep-last=2"),
            ["2026-03-04 10:00:00", "2026-03-05 10:00:00"]
        );
        // of equal times the first given counts as the newer; keep-last counts a time once
        let t = at("2026-03-04 10:00:00", true);
        assert_eq!(keep_marks(&[t, t, t - 60], &keep("keep-last=2")), [true, false, true]);
        assert_eq!(keep_marks(&[t - 60, t, t], &keep("keep-last=2")), [true, true, false]);
        // keep-last covers today, so keep-daily=2 keeps yesterday and the day before
        let days = [
            "2026-03-02 10:00:00",
            "2026-03-03 10:00:00",
            "2026-03-04 09:00:00",
            "2026-03-04 10:00:00",
        ];
        assert_eq!(
            kept(&days, "keep-last=1,keep-daily=2"),
            ["2026-03-02 10:00:00", "2026-03-03 10:00:00", "2026-03-04 10:00:00"]
        );
        // the counts stop at the first period beyond them; what is left goes to the next option
        let daily: Vec<String> = (1..=20).map(|d| format!("2026-03-{d:02} 12:00:00")).collect();
        let daily: Vec<&str> = daily.iter().map(String::as_str).collect();
        // the 20th and 19th by keep-last, then the weeks of Mar 9 and Mar 2 by keep-weekly (their Sundays)
        assert_eq!(
            kept(&daily, "keep-last=2,keep-weekly=2"),
            [
                "2026-03-08 12:00:00",
                "2026-03-15 12:00:00",
                "2026-03-19 12:00:00",
                "2026-03-20 12:00:00"
            ]
        );
        // periods without snapshots do not count (PBS's prune simulator docs): three days kept
        // over two weeks
        let sparse = ["2026-03-01 12:00:00", "2026-03-05 12:00:00", "2026-03-12 12:00:00"];
        assert_eq!(kept(&sparse, "keep-daily=3"), sparse);
        // nothing to decide
        assert!(keep_marks(&[], &keep("keep-last=1")).is_empty());
        // a retention that keeps nothing keeps everything (PVE's keep-all); parse refuses it
        assert_eq!(keep_marks(&[t, t - 1], &KeepOptions::default()), [true, true]);
    });
}

#[test]
fn keep_daily_is_the_newest_of_each_of_the_newest_days() {
    in_zone!("UTC", keep_daily_is_the_newest_of_each_of_the_newest_days, || {
        // an independent count over irregular times: per day the newest, of the newest N days
        let base = at("2026-01-01 00:00:00", true);
        let times: Vec<i64> = (0..500u64)
            .map(|i| base + ((i * 7919 * 7907) % 5_000_000) as i64)
            .collect();
        for n in [1, 3, 10, 40] {
            let marks = keep_marks(&times, &keep(&format!("keep-daily={n}")));
            let mut newest_per_day = std::collections::BTreeMap::new();
            for t in &times {
                let e = newest_per_day.entry(t.div_euclid(86_400)).or_insert(*t);
                *e = (*e).max(*t);
            }
            let expected: HashSet<i64> = newest_per_day.values().rev().take(n).copied().collect();
            let got: HashSet<i64> = times.iter().zip(&marks).filter(|(_, k)| **k).map(|(t, _)| *t).collect();
            assert_eq!(got, expected, "keep-daily={n}");
            assert_eq!(marks.iter().filter(|k| **k).count(), n);
        }
    });
}

/// Periods are the node's local ones: in Vienna a day starts at 23:00 or 22:00 UTC.
#[test]
fn periods_are_local_days_and_hours_in_vienna() {
    in_zone!("Europe/Vienna", periods_are_local_days_and_hours_in_vienna, || {
        // 23:30 and 00:30 UTC on the turn of July 1st are both July 2nd in Vienna (CEST)
        let turn = ["2026-07-01 21:30:00", "2026-07-01 23:30:00", "2026-07-02 00:30:00"];
        assert_eq!(
            kept(&turn, "keep-daily=3"),
            ["2026-07-01 21:30:00", "2026-07-02 00:30:00"]
        );
        // the hour the end of DST repeats is one hour on the clock: 02:15 CEST and 02:15 CET
        // (00:15 and 01:15 UTC on October 25th) share it, as in PVE ("$hour/$day/$month/$year")
        let fall = ["2026-10-24 23:15:00", "2026-10-25 00:15:00", "2026-10-25 01:15:00"];
        assert_eq!(
            kept(&fall, "keep-hourly=3"),
            ["2026-10-24 23:15:00", "2026-10-25 01:15:00"]
        );
    });
}
