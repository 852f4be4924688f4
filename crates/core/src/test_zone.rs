//! For unit tests whose outcome depends on the node's time zone (schedules in `calendar.rs`,
//! retention in `prune.rs`): such a test runs again as a child process of the test binary with
//! `TZ` set from its start, so libc reads that zone and no other test's zone leaks in. `at` reads
//! the times those tests are written in.

use std::process::Command;

/// Run `body` with the local time zone `tz` (e.g. `Europe/Vienna`). `test` is the test's path
/// inside the crate (`calendar::tests::name`), which the child runs alone.
pub(crate) fn run_in_zone(tz: &str, test: &str, body: impl FnOnce()) {
    if std::env::var("SMBGW_TEST_ZONE").as_deref() == Ok(tz) {
        body();
        return;
    }
    assert!(
        std::path::Path::new("/usr/share/zoneinfo").join(tz).exists() || tz == "UTC",
        "time zone {tz} is not installed (tzdata, scripts/install-deps.sh)"
    );
    let out = Command::new(std::env::current_exe().expect("the test binary"))
        .args([test, "--exact", "--test-threads=1"])
        .env("TZ", tz)
        .env("SMBGW_TEST_ZONE", tz)
        .output()
        .expect("run the test binary again");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{test} with TZ={tz} failed:\n{report}");
    // a misspelt name runs nothing and passes: the child must have run exactly this test
    assert!(
        stdout.contains("test result: ok. 1 passed"),
        "{test} did not run with TZ={tz}:\n{report}"
    );
}

/// `in_zone` for the test it is written in: `in_zone!("UTC", name, || ...)`.
macro_rules! in_zone {
    ($tz:expr, $name:ident, $body:expr) => {
        $crate::test_zone::run_in_zone(
            $tz,
            concat!(module_path!(), "::", stringify!($name))
                .trim_start_matches(concat!(env!("CARGO_CRATE_NAME"), "::")),
            $body,
        )
    };
}
pub(crate) use in_zone;

/// `2026-03-06 17:45[:SS]` (no time: midnight) as unix seconds, read in UTC or in the local zone.
pub(crate) fn at(text: &str, utc: bool) -> i64 {
    let (date, time) = text.split_once(' ').unwrap_or((text, "00:00"));
    let d: Vec<i32> = date.split('-').map(|v| v.parse().unwrap()).collect();
    let t: Vec<i32> = time.split(':').map(|v| v.parse().unwrap()).collect();
    let fields = smbgw_sys::localtime::DateTime {
        year: d[0],
        month: d[1],
        day: d[2],
        hour: t[0],
        minute: t[1],
        second: t.get(2).copied().unwrap_or(0),
        weekday: 0,
        yday: 0,
    };
    smbgw_sys::localtime::join(&fields, utc).unwrap()
}
