//! Timing of the snapshot retention and schedules for `make bench` (scripts/bench/prune.sh):
//! `prune::keep_marks` over 10,000 snapshots beside a plain sort of the same times, and
//! `CalendarEvent::next_after` for 1,000 schedules beside 1,000 local-time round trips through
//! libc (localtime_r + mktime, the conversion every step of the search makes). Each figure is
//! measured RUNS times, interleaved with its baseline; printed as `KEY SAMPLES...` lines.
//!
//! Usage: prune-bench [RUNS]    (default 21)

use std::hint::black_box;
use std::time::Instant;

use smbgw_core::calendar::CalendarEvent;
use smbgw_core::prune::{keep_marks, KeepOptions};
use smbgw_sys::localtime;

const SNAPSHOTS: i64 = 10_000;
const SCHEDULES: usize = 1_000;
/// Monday 2026-03-02 00:00 UTC: where the snapshots end and the schedules are asked from.
const NOW: i64 = 1_772_409_600;

fn micros(start: Instant) -> String {
    format!("{:.1}", start.elapsed().as_secs_f64() * 1e6)
}

fn main() {
    let runs: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(21);

    // every 15 minutes for 104 days, a few seconds late each, in shuffled order (as listed
    // from a directory)
    let mut times: Vec<i64> = (0..SNAPSHOTS).map(|i| NOW - i * 900 - (i * 7) % 13).collect();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for i in (1..times.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        times.swap(i, (seed % (i as u64 + 1)) as usize);
    }
    let keep =
        KeepOptions::parse("keep-last=4,keep-hourly=24,keep-daily=7,keep-weekly=4,keep-monthly=12,keep-yearly=5")
            .expect("a valid retention");

    let mut schedules = Vec::with_capacity(SCHEDULES);
    let forms = [
        "*:{m}/15",
        "mon..fri 08..18:{m}",
        "sat,sun 12:{m}",
        "{h}:{m}",
        "mon,wed,fri {h}:{m}",
        "*-*-01 {h}:{m}",
        "hourly",
        "daily",
        "fri 12..13:{m}/20",
        "Sat *-1..7 {h}:{m}",
    ];
    for i in 0..SCHEDULES {
        let text = forms[i % forms.len()]
            .replace("{m}", &(i % 15).to_string())
            .replace("{h}", &(i % 24).to_string());
        schedules.push(CalendarEvent::parse(&text).expect("a valid schedule"));
    }

    let (mut prune_us, mut sort_us, mut next_us, mut libc_us) = (vec![], vec![], vec![], vec![]);
    let mut kept = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let marks = keep_marks(black_box(&times), &keep);
        prune_us.push(micros(start));
        kept = marks.iter().filter(|k| **k).count();

        let start = Instant::now();
        let mut sorted = black_box(&times).clone();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        black_box(&sorted);
        sort_us.push(micros(start));

        let start = Instant::now();
        for s in &schedules {
            black_box(s.next_after(black_box(NOW)));
        }
        next_us.push(micros(start));

        let start = Instant::now();
        for i in 0..SCHEDULES as i64 {
            let t = localtime::split(black_box(NOW + i * 60), false).expect("a local time");
            black_box(localtime::join(&t, false));
        }
        libc_us.push(micros(start));
    }
    println!("snapshots {SNAPSHOTS}");
    println!("kept {kept}");
    println!("schedules {SCHEDULES}");
    println!("keep_marks_us {}", prune_us.join(" "));
    println!("sort_us {}", sort_us.join(" "));
    println!("next_after_us {}", next_us.join(" "));
    println!("localtime_us {}", libc_us.join(" "));
}
