//! Snapshots of a share's volume, taken where its Previous Versions read them (`backend::
//! PreviousVersions`: btrfs `.snapshots/@GMT-...`, ZFS `zfs-auto-snap_...`, CephFS `.snap`).
//! What differs between the filesystems is one trait, [`SnapshotBackend`], implemented in
//! `btrfs.rs`, `zfs.rs` and `cephfs.rs`; a backend without snapshots (project quotas on ext4 or
//! XFS) has none (`StorageBackend::snapshots`). Which snapshots the gateway made is decided by
//! the gateway (`gateway::snapshots`) from each snapshot's [`Snapshot::id`], which no later
//! snapshot of the same name can share, and from the tag ZFS keeps on the snapshot itself.

use std::path::Path;

use serde::Serialize;
use smbgw_core::{Error, Result, Share};

use crate::backend::{self, Volume};

/// Where btrfs shares keep their snapshots (snapper's layout, what shadow_copy2 reads).
pub const SNAPSHOTS_DIR: &str = ".snapshots";

/// One snapshot of a share as its backend sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    /// The name Previous Versions read it by (`@GMT-2026.12.05-06.00.00`, ZFS's
    /// `zfs-auto-snap_smbgw-2026-12-05-0600`).
    pub name: String,
    /// When it was taken, unix seconds (UTC), as its name says.
    pub time: i64,
    /// What tells it from every other snapshot, one later made under the same name included:
    /// btrfs its subvolume UUID, ZFS its `guid`, CephFS its name and birth time.
    pub id: String,
    /// ZFS: the gateway's tag on the snapshot itself (user property), if any.
    #[serde(skip)]
    pub tag: Option<String>,
    /// Bytes only this snapshot holds, where the filesystem says so cheaply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// A filesystem's snapshots of a share's volume.
pub trait SnapshotBackend: Sync {
    /// Refuse a volume that cannot be snapshotted as it is (a plain directory on btrfs).
    fn check(&self, volume: &Volume) -> Result<()>;

    /// The name a snapshot taken at `time` gets.
    fn name_at(&self, time: i64) -> String;

    /// The snapshots of the volume that Previous Versions show, oldest first.
    fn list(&self, volume: &Volume) -> Result<Vec<Snapshot>>;

    /// Take a read-only snapshot named for `time`; `tag` is kept on it where the filesystem
    /// can keep one (ZFS).
    fn create(&self, volume: &Volume, time: i64, tag: &str) -> Result<Snapshot>;

    /// Delete `snapshot`, only if the one of that name still is it (`id`).
    fn delete(&self, volume: &Volume, snapshot: &Snapshot) -> Result<()>;

    /// Whether the snapshot with `id` (listed no more) no longer exists anywhere on the
    /// volume's filesystem, so its record may go. btrfs finds a renamed one by its UUID (a
    /// user may rename `.snapshots` away for a while); elsewhere what is not listed is gone.
    fn gone(&self, _volume: &Volume, _id: &str) -> Result<bool> {
        Ok(true)
    }

    /// Refuse, before anything is done, a rollback that would lose data no snapshot holds
    /// (btrfs: subvolumes nested in the share).
    fn check_rollback(&self, _volume: &Volume) -> Result<()> {
        Ok(())
    }

    /// Replace the volume's content by the snapshot's. Returns notes for the admin.
    fn rollback(&self, volume: &Volume, _snapshot: &Snapshot) -> Result<Vec<String>> {
        Err(Error::input(format!(
            "rollback is not supported for {}: restore files from Previous Versions instead",
            volume.path.display()
        ))
        .field("snapshot"))
    }
}

/// The snapshot backend of the share's filesystem, and its volume; an input error (on
/// `field`) where snapshots cannot be taken.
pub fn of(share: &Share, field: &str) -> Result<(&'static dyn SnapshotBackend, Volume)> {
    let path = Path::new(&share.path);
    let kind = match share.quota_backend {
        smbgw_core::QuotaBackend::Auto => crate::detect(path)?.unwrap_or(smbgw_core::QuotaBackend::Auto),
        kind => kind,
    };
    let none = || {
        Error::input(format!(
            "{} is on {}, which has no snapshots: schedules and snapshots need btrfs, ZFS or CephFS",
            path.display(),
            crate::fs_name(path)
        ))
        .field(field)
    };
    let storage = backend::of(kind).ok_or_else(none)?;
    let snapshots = storage.snapshots().ok_or_else(none)?;
    let volume = Volume::new(kind, path, share.zfs_dataset.as_deref()).ok_or_else(|| {
        Error::input(format!(
            "{} has no ZFS dataset of its own to snapshot (create the share with --zfs-dataset)",
            path.display()
        ))
        .field(field)
    })?;
    snapshots.check(&volume).map_err(|e| match e.kind {
        smbgw_core::ErrorKind::Input => e.field(field),
        _ => e,
    })?;
    Ok((snapshots, volume))
}

/// Civil date (year, month, day) of the day `days` after 1970-01-01 (Howard Hinnant's
/// algorithm: proleptic Gregorian, no time zone).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Days from 1970-01-01 to the civil date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// UTC fields of `time`: year, month, day, hour, minute, second.
pub fn utc(time: i64) -> (i64, u32, u32, u32, u32, u32) {
    let (y, mo, d) = civil(time.div_euclid(86_400));
    let s = time.rem_euclid(86_400) as u32;
    (y, mo, d, s / 3600, s / 60 % 60, s % 60)
}

/// Unix seconds of UTC fields, if they name a real time.
pub fn from_utc(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<i64> {
    if !(1..=12).contains(&mo) || d == 0 || d > 31 || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    // 31 February and friends roll over: refuse them
    (civil(days) == (y, mo, d)).then(|| days * 86_400 + i64::from(h * 3600 + mi * 60 + s))
}

/// `@GMT-YYYY.MM.DD-HH.MM.SS` (UTC): the token SMB clients use, and the btrfs/CephFS name.
pub fn gmt_name(time: i64) -> String {
    let (y, mo, d, h, mi, s) = utc(time);
    format!("@GMT-{y:04}.{mo:02}.{d:02}-{h:02}.{mi:02}.{s:02}")
}

/// The time of a `@GMT-...` name.
pub fn parse_gmt_name(name: &str) -> Option<i64> {
    let rest = name.strip_prefix("@GMT-")?;
    let b = rest.as_bytes();
    if b.len() != 19 || b[4] != b'.' || b[7] != b'.' || b[10] != b'-' || b[13] != b'.' || b[16] != b'.' {
        return None;
    }
    let n = |r: std::ops::Range<usize>| -> Option<u32> {
        let s = rest.get(r)?;
        s.bytes().all(|c| c.is_ascii_digit()).then(|| s.parse().ok())?
    };
    from_utc(
        i64::from(n(0..4)?),
        n(5..7)?,
        n(8..10)?,
        n(11..13)?,
        n(14..16)?,
        n(17..19)?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmt_names_round_trip() {
        assert_eq!(gmt_name(0), "@GMT-1970.01.01-00.00.00");
        // 2026-11-22 20:00:00 UTC
        assert_eq!(gmt_name(1_795_377_600), "@GMT-2026.11.22-20.00.00");
        assert_eq!(parse_gmt_name("@GMT-2026.11.22-20.00.00"), Some(1_795_377_600));
        for t in [0, 951_782_400, 1_709_164_799, 4_102_444_800, 1_795_377_601] {
            assert_eq!(parse_gmt_name(&gmt_name(t)), Some(t), "{t}");
        }
        for bad in [
            "@GMT-2026.02.30-00.00.00",
            "@GMT-2026.13.01-00.00.00",
            "@GMT-2026.11.22-24.00.00",
            "@GMT-2026.11.22-20.00",
            "GMT-2026.11.22-20.00.00",
            "@GMT-2026.11.22-20.00.0x",
            "@GMT-+026.11.22-20.00.00",
        ] {
            assert_eq!(parse_gmt_name(bad), None, "{bad}");
        }
    }
}
