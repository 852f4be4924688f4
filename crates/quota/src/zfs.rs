//! ZFS: every quota share is its own dataset, limited by `refquota` (snapshots do not count
//! against what users may store). Talks to the `zfs` command in its script mode (`-H`, `-p`).

use std::path::Path;

use smbgw_core::{Error, Result};
use smbgw_sys::Command;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
