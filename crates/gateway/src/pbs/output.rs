//! What PBS's tools answer, as the gateway reads it: the JSON of `snapshot list`, `prune` and
//! `proxmox-file-restore list` (PBS's SnapshotListItem, prune result, ArchiveEntry), the lines
//! of `catalog dump`, and backup times written as PBS writes them. Pure: the runner is
//! crates/gateway/src/pbs/client.rs.

use serde::{Deserialize, Serialize};

/// One snapshot of `snapshot list --output-format json` (PBS's SnapshotListItem).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Snapshot {
    pub backup_type: String,
    pub backup_id: String,
    pub backup_time: i64,
    #[serde(default)]
    pub files: Vec<SnapshotFile>,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub protected: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SnapshotFile {
    pub filename: String,
    #[serde(default)]
    pub crypt_mode: Option<String>,
    #[serde(default)]
    pub size: Option<u64>,
}

impl Snapshot {
    /// The snapshot's path for the client: `TYPE/ID/YYYY-MM-DDTHH:MM:SSZ`.
    pub fn path(&self) -> String {
        format!("{}/{}/{}", self.backup_type, self.backup_id, utc_time(self.backup_time))
    }
}

/// One line of `prune --output-format json`: what happens to a snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PruneItem {
    pub backup_type: String,
    pub backup_id: String,
    pub backup_time: i64,
    pub keep: bool,
    #[serde(default)]
    pub protected: bool,
}

/// PBS's keep options (`--keep-last` ...); none set keeps everything, as on the server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Keep {
    pub last: Option<u32>,
    pub hourly: Option<u32>,
    pub daily: Option<u32>,
    pub weekly: Option<u32>,
    pub monthly: Option<u32>,
    pub yearly: Option<u32>,
}

impl Keep {
    pub(crate) fn args(&self) -> Vec<String> {
        [
            ("last", self.last),
            ("hourly", self.hourly),
            ("daily", self.daily),
            ("weekly", self.weekly),
            ("monthly", self.monthly),
            ("yearly", self.yearly),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| [format!("--keep-{k}"), v.to_string()]))
        .flatten()
        .collect()
    }
}

/// An entry of a snapshot's catalog (`catalog dump`): its type as the catalog writes it
/// (`d`, `f`, `l`, `h`, `b`, `c`, `p`, `s`), its path below the catalog's root
/// (`ARCHIVE.pxar.didx/...`) and, for files, the size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CatalogEntry {
    pub kind: char,
    pub path: String,
    pub size: Option<u64>,
}

/// `seconds` since the epoch as PBS writes a backup time: `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub fn utc_time(seconds: i64) -> String {
    // the one UTC calendar split of the project (the snapshots' @GMT names use it too)
    let (y, mo, d, h, mi, s) = smbgw_quota::snapshot::utc(seconds);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// A path as the client prints it (Rust's `{:?}` of a path): in double quotes, with `\"`,
/// `\\`, `\n`, `\r`, `\t`, `\0`, `\'` and `\u{HEX}` escapes.
fn unquote(s: &str) -> Option<String> {
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            '0' => out.push('\0'),
            'u' => {
                let hex: String = chars.by_ref().skip(1).take_while(|c| *c != '}').collect();
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
            }
            other => out.push(other),
        }
    }
    Some(out)
}

/// The entries of `catalog dump`'s output (its log lines: `TYPE "PATH"`, files with size and
/// time).
pub fn parse_catalog(text: &str) -> Vec<CatalogEntry> {
    text.lines()
        .filter_map(|line| {
            let (kind, rest) = line.split_once(' ')?;
            let mut kind_chars = kind.chars();
            let (Some(kind), None) = (kind_chars.next(), kind_chars.next()) else {
                return None;
            };
            // the path is quoted; a file's size and time follow the closing quote
            let end = rest.rfind('"')?;
            let path = unquote(&rest[..=end])?;
            let path = path.strip_prefix("./").unwrap_or(&path).to_string();
            let size = rest[end + 1..].split_whitespace().next().and_then(|s| s.parse().ok());
            Some(CatalogEntry { kind, path, size })
        })
        .collect()
}

/// One entry of a directory in an archive (`proxmox-file-restore list`, PBS's ArchiveEntry).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// The entry's path in the snapshot, base64-encoded (as PBS gives it).
    pub filepath: String,
    /// Its name.
    pub text: String,
    /// `d`, `f`, `l`, `h`, `b`, `c`, `p`, `s` as in the catalog.
    #[serde(rename = "type")]
    pub kind: String,
    /// False for directories.
    pub leaf: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime: Option<i64>,
}

/// The message of a JSON error object (`{"message": ...}`) on stdout, if that is what it is.
pub(crate) fn json_error(stdout: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(stdout.trim()).ok()?;
    value.as_object()?.get("message")?.as_str().map(String::from)
}
