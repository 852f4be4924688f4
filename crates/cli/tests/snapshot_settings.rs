//! The snapshot settings of a share through the real CLI: `--snapshot-schedule` (PVE's calendar
//! events) and `--snapshot-keep` (PVE's prune format) are stored in their normalized text and
//! shown back; malformed ones, a retention that keeps nothing or has no schedule are refused on
//! their field with exit 1, and nothing is written.

mod common;

use common::Sandbox;

#[test]
fn snapshot_settings_are_stored_and_bad_ones_refused_on_their_field() {
    let sb = Sandbox::new();
    // a schedule needs a filesystem with snapshots (gateway::snapshots refuses others)
    let fs = common::Btrfs::new(sb.dir.path(), "256M");
    let path = fs.mount.join("docs");
    sb.ok(&[
        "create",
        "docs",
        "--path",
        path.to_str().unwrap(),
        "--snapshot-schedule",
        "mon..fri  08..18:00",
        "--snapshot-keep",
        "keep-daily=7,keep-last=3",
    ]);
    let shown: serde_json::Value = serde_json::from_str(&sb.ok(&["show", "docs", "--output-format", "json"])).unwrap();
    assert_eq!(shown["snapshot-schedule"], "mon..fri 08..18:00", "{shown}");
    assert_eq!(shown["snapshot-keep"], "keep-last=3,keep-daily=7", "{shown}");
    // the stored config (shares.cfg) holds the normalized text
    let files = sb.snapshot();
    let (_, cfg) = files
        .iter()
        .find(|(p, _)| p.ends_with("shares.cfg"))
        .unwrap_or_else(|| panic!("no shares.cfg in {:?}", files.keys().collect::<Vec<_>>()));
    let cfg = String::from_utf8_lossy(cfg);
    assert!(cfg.contains("snapshot-schedule mon..fri 08..18:00"), "{cfg}");
    assert!(cfg.contains("snapshot-keep keep-last=3,keep-daily=7"), "{cfg}");

    let before = sb.snapshot();
    let other = sb.data("other");
    let create = |extra: &[&str]| common::args(&["create", "other", "--path", other.to_str().unwrap()], extra);
    let update = |extra: &[&str]| common::args(&["update", "docs"], extra);
    for (args, field, reason) in [
        (
            create(&["--snapshot-schedule", "25:00"]),
            "snapshot-schedule",
            "hour 25 is out of range",
        ),
        (
            update(&["--snapshot-schedule", "mon..funday"]),
            "snapshot-schedule",
            "is not a weekday",
        ),
        (
            update(&["--snapshot-schedule", "*:0/0"]),
            "snapshot-schedule",
            "a repetition of 0",
        ),
        (
            update(&["--snapshot-keep", "keep-last=0,keep-daily=0"]),
            "snapshot-keep",
            "every snapshot would be deleted",
        ),
        (
            update(&["--snapshot-keep", "keep-often=3"]),
            "snapshot-keep",
            "unknown option",
        ),
        (
            update(&["--snapshot-keep", "keep-last=-1"]),
            "snapshot-keep",
            "is not a whole number",
        ),
        (
            update(&["--snapshot-keep", "keep-last=99999999999999999999"]),
            "snapshot-keep",
            "is not a whole number",
        ),
        (
            create(&["--snapshot-keep", "keep-last=3"]),
            "snapshot-keep",
            "needs --snapshot-schedule",
        ),
        (
            update(&["--delete", "snapshot-schedule"]),
            "snapshot-keep",
            "needs --snapshot-schedule",
        ),
    ] {
        sb.assert_refused(&args, field, reason, &before);
        assert!(!other.exists(), "{args:?} created the share's directory");
    }
    // both unset again: no snapshots are scheduled and nothing of them is stored
    sb.ok(&["update", "docs", "--delete", "snapshot-schedule,snapshot-keep"]);
    let shown: serde_json::Value = serde_json::from_str(&sb.ok(&["show", "docs", "--output-format", "json"])).unwrap();
    assert!(shown.get("snapshot-schedule").is_none(), "{shown}");
}
