//! The parameters of `snapshot list|create|delete|rollback`: a share's snapshots, the ones
//! its Previous Versions show (gateway/src/snapshots.rs).

use super::{formatted, param, required, Cli, Kind, Property};
use crate::validate::MAX_SHARE_NAME;

pub const SNAPSHOT: &[Property] = &[
    required(param(
        "name",
        formatted("smbgw-share-name", Some(MAX_SHARE_NAME as u32)),
        Cli::Positional("NAME"),
        "The share.",
    )),
    // a name as 'snapshot list' shows it, or the @GMT-... token a Windows client shows
    required(param(
        "snapshot",
        formatted("smbgw-snapshot-name", Some(255)),
        Cli::Positional("SNAPSHOT"),
        "The snapshot, as 'snapshot list' names it (or its @GMT-YYYY.MM.DD-HH.MM.SS token).",
    )),
    param(
        "confirm",
        Kind::Flag,
        Cli::Auto,
        "Confirm the rollback: the share's content is replaced by the snapshot's (after a safety snapshot of the current content).",
    ),
];

/// A snapshot name as the backends make them (`@GMT-...`, `zfs-auto-snap_...`) or a foreign
/// one could be: letters, digits and `@._:-`, not starting with a dot (no path, no `..`).
pub fn check_name(value: &str) -> crate::Result<()> {
    let ok = !value.is_empty()
        && value.len() <= 255
        && !value.starts_with('.')
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'@' | b'.' | b'_' | b':' | b'-'));
    if !ok {
        crate::bail_input!(
            "{value:?} is not a snapshot name: 1-255 letters, digits, '@', '.', '_', ':' or '-', as 'snapshot list' shows them"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn snapshot_names() {
        for good in [
            "@GMT-2026.12.05-06.00.00",
            "zfs-auto-snap_frequent-2026-12-05-0600",
            "manual:1",
        ] {
            super::check_name(good).unwrap();
        }
        for bad in ["", "..", ".snapshots", "a/b", "@GMT x", "a\nb"] {
            assert!(super::check_name(bad).is_err(), "{bad:?}");
        }
    }
}
