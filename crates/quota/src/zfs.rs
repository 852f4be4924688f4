//! ZFS: every quota share is its own dataset, limited by `refquota` (snapshots do not count
//! against what users may store). Talks to the `zfs` command in its script mode (`-H`, `-p`).
//! `Zfs` is its `backend::StorageBackend`.

use std::path::Path;

use smbgw_core::plan::FnStep;
use smbgw_core::size::format_size;
use smbgw_core::{bail_input, Error, Plan, QuotaBackend, Result};
use smbgw_sys::safe_fs::Dir;
use smbgw_sys::Command;

use crate::backend::{FsFacts, PlannedVolume, PreviousVersions, StorageBackend, Volume, VolumeRequest};
use crate::Usage;

pub fn exists(dataset: &str) -> Result<bool> {
    let out = Command::new("zfs")
        .args(["list", "-H", "-o", "name", dataset])
        .output()?;
    Ok(out.success())
}

/// Create `dataset` mounted at `mountpoint` (parents must exist: a missing pool is an error).
pub fn create(dataset: &str, mountpoint: &Path) -> Result<()> {
    Command::new("zfs")
        .args(["create", "-o"])
        .arg(format!("mountpoint={}", mountpoint.display()))
        .arg(dataset)
        .run()?;
    Ok(())
}

/// Destroy a dataset. Deliberately without -r: ZFS refuses when there are children or
/// snapshots, which the share's purge must never take along.
pub fn destroy(dataset: &str) -> Result<()> {
    Command::new("zfs").args(["destroy", dataset]).run()?;
    Ok(())
}

pub fn mountpoint(dataset: &str) -> Result<std::path::PathBuf> {
    let out = Command::new("zfs")
        .args(["get", "-H", "-p", "-o", "property,value", "mountpoint", dataset])
        .run()?;
    out.stdout
        .lines()
        .find_map(|l| l.strip_prefix("mountpoint\t").map(|m| m.trim().into()))
        .ok_or_else(|| Error::external(format!("zfs did not report the mountpoint of {dataset}")))
}

pub fn set_refquota(dataset: &str, limit: Option<u64>) -> Result<()> {
    set_quota_property(dataset, "refquota", limit)
}

/// `zfs set PROPERTY=BYTES|none DATASET`, for refquota, userquota@NAME and groupquota@NAME.
pub fn set_quota_property(dataset: &str, property: &str, limit: Option<u64>) -> Result<()> {
    let value = limit.map_or("none".to_string(), |l| l.to_string());
    Command::new("zfs")
        .args(["set", &format!("{property}={value}"), dataset])
        .run()?;
    Ok(())
}

/// The dataset mounted exactly at `dir`, if any (`zfs list -H -p -o name,mountpoint`).
pub fn dataset_mounted_at(dir: &Path) -> Result<Option<String>> {
    let out = Command::new("zfs")
        .args(["list", "-H", "-p", "-o", "name,mountpoint", "-t", "filesystem"])
        .run()?;
    Ok(out.stdout.lines().find_map(|l| {
        let (name, mountpoint) = l.split_once('\t')?;
        (Path::new(mountpoint) == dir).then(|| name.to_string())
    }))
}

pub fn usage(dataset: &str) -> Result<Usage> {
    let out = Command::new("zfs")
        .args([
            "get",
            "-H",
            "-p",
            "-o",
            "property,value",
            "referenced,refquota",
            dataset,
        ])
        .run()?;
    parse_get(&out.stdout, dataset)
}

/// Parse `zfs get -H -p -o property,value referenced,refquota`: tab separated, exact byte
/// numbers; a refquota of "0" means none (libzfs prints the literal 0 for an unset quota).
pub fn parse_get(text: &str, dataset: &str) -> Result<Usage> {
    let mut used = None;
    let mut limit = None;
    for line in text.lines() {
        let Some((property, value)) = line.split_once('\t') else {
            continue;
        };
        let number = || {
            value
                .trim()
                .parse::<u64>()
                .map_err(|_| Error::external(format!("unexpected zfs output for {dataset}: {line:?}")))
        };
        match property {
            "referenced" => used = Some(number()?),
            "refquota" => limit = Some(number()?),
            _ => {}
        }
    }
    match (used, limit) {
        (Some(used), Some(limit)) => Ok(Usage {
            used,
            limit: (limit > 0).then_some(limit),
        }),
        _ => Err(Error::external(format!(
            "zfs did not report referenced and refquota of {dataset}"
        ))),
    }
}

/// The ZFS backend: a dataset per share (only where the share asks for a volume), limited by
/// `refquota`, per-user quotas, Previous Versions from `.zfs/snapshot`.
pub struct Zfs;

impl StorageBackend for Zfs {
    fn kind(&self) -> QuotaBackend {
        QuotaBackend::Zfs
    }

    fn detects(&self, facts: &FsFacts) -> bool {
        facts.magic == crate::ZFS_MAGIC
    }

    fn volume_noun(&self) -> &'static str {
        "ZFS dataset"
    }

    /// The share's dataset (given, or a child of the dataset mounted at the path's parent),
    /// created mounted at the share path; an existing one only where it is mounted there.
    fn plan_volume(&'static self, request: &VolumeRequest<'_>, plan: &mut Plan) -> Result<PlannedVolume> {
        let path = request.path;
        let dataset = match request.dataset {
            Some(d) => d.to_string(),
            None => derive_dataset(path)?,
        };
        let exists = exists(&dataset)?;
        if exists {
            // an existing dataset is only used where it is mounted: never repurpose another
            let mountpoint = mountpoint(&dataset)?;
            if mountpoint != path {
                bail_input!(
                    "ZFS dataset {dataset} is mounted at {}, not at {}; give the dataset mounted at the share path, or a new dataset name",
                    mountpoint.display(),
                    path.display()
                );
            }
        } else {
            if request.exists {
                bail_input!(
                    "{} exists but ZFS dataset {dataset} does not; give a new path or the dataset mounted there",
                    path.display()
                );
            }
            let (d, p, u) = (dataset.clone(), path.to_path_buf(), dataset.clone());
            plan.push(FnStep::new(
                format!("create ZFS dataset {dataset} mounted at {}", path.display()),
                move || create(&d, &p),
                move || destroy(&u),
            ));
            let (p, mode) = (path.to_path_buf(), request.mode);
            plan.push(FnStep::new(
                format!("set mode {mode:04o} on {}", path.display()),
                move || Dir::open(&p)?.chmod(mode),
                || Ok(()),
            ));
        }
        Ok(PlannedVolume {
            exists,
            dataset: Some(dataset),
        })
    }

    fn volume(&self, path: &Path, dataset: Option<&str>) -> Option<Volume> {
        Some(Volume {
            backend: QuotaBackend::Zfs,
            path: path.to_path_buf(),
            dataset: Some(dataset?.to_string()),
        })
    }

    fn usage(&self, volume: &Volume) -> Result<Usage> {
        usage(dataset_of(volume))
    }

    fn set_limit(&self, volume: &Volume, limit: Option<u64>) -> Result<()> {
        set_refquota(dataset_of(volume), limit)
    }

    fn describe_limit(&self, volume: &Volume, limit: Option<u64>) -> String {
        format!(
            "set refquota of ZFS dataset {} to {}",
            dataset_of(volume),
            limit.map_or("no limit".to_string(), format_size)
        )
    }

    fn destroy_volume(&self, volume: &Volume, _identity: (u64, u64)) -> Option<Box<dyn FnMut() -> Result<()>>> {
        let dataset = dataset_of(volume).to_string();
        Some(Box::new(move || destroy(&dataset)))
    }

    fn purge_journaled(&self) -> bool {
        false
    }

    fn user_quotas(&self) -> bool {
        true
    }

    fn set_user_limit(&self, volume: &Volume, who: &str, limit: Option<u64>) -> Result<()> {
        set_quota_property(dataset_of(volume), &user_property(who), limit)
    }

    fn describe_user_limit(&self, volume: &Volume, who: &str, limit: Option<u64>) -> String {
        format!(
            "set {} of ZFS dataset {} to {}",
            user_property(who),
            dataset_of(volume),
            limit.map_or("none".into(), format_size)
        )
    }

    fn snapshots(&self) -> Option<&'static dyn crate::snapshot::SnapshotBackend> {
        Some(&ZfsSnapshots)
    }

    fn previous_versions(&self) -> PreviousVersions {
        PreviousVersions::ZfsSnapdir
    }
}

/// A ZFS volume always has its dataset (`volume` makes none without).
fn dataset_of(volume: &Volume) -> &str {
    volume.dataset.as_deref().expect("a ZFS volume has a dataset")
}

/// `userquota@NAME`, or `groupquota@GROUP` for `@GROUP`.
pub fn user_property(who: &str) -> String {
    match who.strip_prefix('@') {
        Some(group) => format!("groupquota@{group}"),
        None => format!("userquota@{who}"),
    }
}

/// The dataset for a new share on ZFS: a child of the dataset mounted at the path's parent.
fn derive_dataset(path: &Path) -> Result<String> {
    let parent = path.parent().unwrap_or(Path::new("/"));
    let Some(parent_ds) = dataset_mounted_at(parent)? else {
        bail_input!(
            "no ZFS dataset is mounted at {}; give --zfs-dataset POOL/NAME, or a path directly below a dataset's mountpoint",
            parent.display()
        );
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dataset = format!("{parent_ds}/{name}");
    smbgw_core::validate::zfs_dataset(&dataset)?;
    Ok(dataset)
}

// ---- snapshots: named as zfs-auto-snapshot names them, which the share's shadow copies read ----

/// The user property that marks a snapshot as the gateway's, with why it was taken.
pub const TAG_PROPERTY: &str = "pve-smbgateway:kind";
/// Our label beside zfs-auto-snapshot's (the share's `shadow:snapprefix` accepts these): one
/// of its own, so that zfs-auto-snapshot's retention, which destroys the oldest
/// `zfs-auto-snap_<its label>-*` snapshots, never counts or destroys ours. Names keep its
/// minute resolution: `shadow:format` is one for all names, and seconds would hide
/// zfs-auto-snapshot's own from Previous Versions (a second snapshot in the same minute is
/// refused as a conflict).
const LABEL: &str = "smbgw";
const LABELS: [&str; 6] = ["frequent", "hourly", "daily", "weekly", "monthly", LABEL];

/// `zfs-auto-snap_<label>-YYYY-MM-DD-HHMM` (UTC) of `time`.
pub fn snapshot_name(time: i64) -> String {
    let (y, mo, d, h, mi, _) = crate::snapshot::utc(time);
    format!("zfs-auto-snap_{LABEL}-{y:04}-{mo:02}-{d:02}-{h:02}{mi:02}")
}

/// The time of a zfs-auto-snapshot name, if it is one Previous Versions show.
pub fn parse_snapshot_name(name: &str) -> Option<i64> {
    let rest = name.strip_prefix("zfs-auto-snap_")?;
    let (label, stamp) = rest.split_once('-')?;
    if !LABELS.contains(&label) {
        return None;
    }
    let b = stamp.as_bytes();
    if b.len() != 15
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'-'
        || !stamp.bytes().all(|c| c.is_ascii_digit() || c == b'-')
    {
        return None;
    }
    let n = |r: std::ops::Range<usize>| stamp.get(r)?.parse::<u32>().ok();
    crate::snapshot::from_utc(i64::from(n(0..4)?), n(5..7)?, n(8..10)?, n(11..13)?, n(13..15)?, 0)
}

fn snapshot_dataset(volume: &Volume) -> Result<&str> {
    volume
        .dataset
        .as_deref()
        .ok_or_else(|| Error::input(format!("{} has no ZFS dataset of its own", volume.path.display())))
}

/// `zfs list -t snapshot -d 1`: name, guid, used and our tag of the dataset's snapshots.
fn list_snapshots(dataset: &str) -> Result<Vec<crate::snapshot::Snapshot>> {
    let out = Command::new("zfs")
        .args(["list", "-H", "-p", "-t", "snapshot", "-d", "1", "-o"])
        .arg(format!("name,guid,used,{TAG_PROPERTY}"))
        .arg(dataset)
        .run()?;
    let mut list = Vec::new();
    for line in out.stdout.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let [full, guid, used, tag] = f[..] else {
            return Err(Error::external(format!("unexpected 'zfs list' line: {line:?}")));
        };
        let Some(name) = full.strip_prefix(dataset).and_then(|n| n.strip_prefix('@')) else {
            continue;
        };
        let Some(time) = parse_snapshot_name(name) else {
            continue;
        };
        list.push(crate::snapshot::Snapshot {
            name: name.to_string(),
            time,
            id: guid.to_string(),
            tag: (tag != "-" && !tag.is_empty()).then(|| tag.to_string()),
            size: used.parse().ok(),
        });
    }
    list.sort_by(|a, b| (a.time, &a.name).cmp(&(b.time, &b.name)));
    Ok(list)
}

pub struct ZfsSnapshots;

impl crate::snapshot::SnapshotBackend for ZfsSnapshots {
    fn check(&self, volume: &Volume) -> Result<()> {
        snapshot_dataset(volume).map(|_| ())
    }

    fn name_at(&self, time: i64) -> String {
        snapshot_name(time)
    }

    fn list(&self, volume: &Volume) -> Result<Vec<crate::snapshot::Snapshot>> {
        list_snapshots(snapshot_dataset(volume)?)
    }

    fn create(&self, volume: &Volume, time: i64, tag: &str) -> Result<crate::snapshot::Snapshot> {
        let dataset = snapshot_dataset(volume)?;
        let name = snapshot_name(time);
        if list_snapshots(dataset)?.iter().any(|s| s.name == name) {
            return Err(Error::conflict(format!(
                "{dataset}@{name} exists already (zfs-auto-snapshot names hold one snapshot per minute)"
            )));
        }
        Command::new("zfs")
            .args([
                "snapshot",
                "-o",
                &format!("{TAG_PROPERTY}={tag}"),
                &format!("{dataset}@{name}"),
            ])
            .run()?;
        list_snapshots(dataset)?
            .into_iter()
            .find(|s| s.name == name)
            .ok_or_else(|| Error::external(format!("zfs does not list {dataset}@{name} after taking it")))
    }

    fn delete(&self, volume: &Volume, snapshot: &crate::snapshot::Snapshot) -> Result<()> {
        let dataset = snapshot_dataset(volume)?;
        let now = list_snapshots(dataset)?;
        if !now.iter().any(|s| s.name == snapshot.name && s.id == snapshot.id) {
            return Err(Error::system(format!(
                "{dataset}@{} is no longer the snapshot the gateway checked; not deleting it",
                snapshot.name
            )));
        }
        Command::new("zfs")
            .args(["destroy", &format!("{dataset}@{}", snapshot.name)])
            .run()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_names_are_zfs_auto_snapshots() {
        // 2026-11-22 20:00 UTC
        assert_eq!(snapshot_name(1_795_377_600 + 59), "zfs-auto-snap_smbgw-2026-11-22-2000");
        assert_eq!(
            parse_snapshot_name("zfs-auto-snap_hourly-2026-11-22-2000"),
            Some(1_795_377_600)
        );
        assert_eq!(
            parse_snapshot_name("zfs-auto-snap_smbgw-2026-11-22-2000"),
            Some(1_795_377_600)
        );
        // every label parsed here is one the share's shadow copies show
        let template = include_str!("../../../samba-templates/features/shadow-copies-zfs.conf");
        let prefix = template
            .lines()
            .find_map(|l| l.trim().strip_prefix("shadow:snapprefix = "))
            .unwrap();
        for label in LABELS {
            assert!(
                prefix.contains(&format!("\\|{label}\\|"))
                    || prefix.contains(&format!("({label}\\|"))
                    || prefix.contains(&format!("\\|{label}\\)")),
                "{label}: {prefix}"
            );
        }
        for other in [
            "manual-before-upgrade",
            "zfs-auto-snap_yearly-2026-11-22-2000",
            "zfs-auto-snap_daily-2026-11-22-20000",
            "zfs-auto-snap_daily-2026-02-30-2000",
        ] {
            assert_eq!(parse_snapshot_name(other), None, "{other}");
        }
    }

    #[test]
    fn parses_script_mode_output() {
        let text = "referenced\t1048576\nrefquota\t10737418240\n";
        assert_eq!(
            parse_get(text, "tank/a").unwrap(),
            Usage {
                used: 1 << 20,
                limit: Some(10 << 30)
            }
        );
        let text = "referenced\t98304\nrefquota\t0\n";
        assert_eq!(parse_get(text, "tank/a").unwrap().limit, None);
        assert!(parse_get("referenced\tlots\nrefquota\t0\n", "tank/a").is_err());
    }

    #[test]
    fn users_and_groups_get_their_property() {
        assert_eq!(user_property("alice"), "userquota@alice");
        assert_eq!(user_property("@staff"), "groupquota@staff");
    }
}
