//! The parameters of `backup create|list|restore`: a share's backups to a Proxmox Backup Server
//! storage of storage.cfg, taken from a snapshot of the share (gateway/src/backups.rs).

use super::{formatted, param, required, Cli, Kind, Property};
use crate::validate::{MAX_PATH, MAX_SHARE_NAME};

pub const BACKUP: &[Property] = &[
    required(param(
        "name",
        formatted("smbgw-share-name", Some(MAX_SHARE_NAME as u32)),
        Cli::Positional("NAME"),
        "The share.",
    )),
    param(
        "storage",
        Kind::Word("smbgw-storage"),
        Cli::Long("ID"),
        "The PVE storage of type pbs (storage.cfg) the backups go to or come from.",
    ),
    // PBS names a snapshot by its backup time, RFC 3339 in UTC, as 'backup list' shows it
    param(
        "snapshot",
        formatted("smbgw-backup-time", Some(32)),
        Cli::Long("TIME"),
        "The backup to restore, by its time as 'backup list' shows it (e.g. 2026-12-05T07:30:00Z).",
    ),
    param(
        "target",
        Kind::Path,
        Cli::Long("PATH"),
        "Restore into this new (or empty) directory; never a share's directory nor one inside a share.",
    ),
    param(
        "file",
        Kind::Str {
            format: None,
            max_length: Some(MAX_PATH as u32),
        },
        Cli::Long("PATH-IN-ARCHIVE"),
        "Restore only this file or directory of the backup (a path inside the share, e.g. docs/report.odt), into the target directory under its own name.",
    ),
];

/// PBS's backup time as the client prints it: `YYYY-MM-DDTHH:MM:SSZ`.
pub fn check_time(value: &str) -> crate::Result<()> {
    let b = value.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    let ok = b.len() == 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && b[19] == b'Z';
    if !ok {
        crate::bail_input!("{value:?} is not a backup time: YYYY-MM-DDTHH:MM:SSZ (UTC), as 'backup list' shows it");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn backup_times() {
        super::check_time("2026-12-05T07:30:00Z").unwrap();
        for bad in [
            "",
            "2026-12-05 07:30:00",
            "2026-12-05T07:30:00+01:00",
            "../2026-12-05T07:30:00Z",
            "2026-12-05T07:30:0xZ",
        ] {
            assert!(super::check_time(bad).is_err(), "{bad:?}");
        }
    }
}
