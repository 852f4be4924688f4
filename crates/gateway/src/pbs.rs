//! Backups of shares to Proxmox Backup Server, through PBS's own client
//! (`proxmox-backup-client`), as PVE's PBS storage plugin drives it: the target is a `pbs`
//! storage of storage.cfg (`smbgw_core::pve_storage` reads it; this module judges it) with its
//! password from the file PVE keeps beside the cluster config (`priv/storage/<ID>.pw`).
//!
//! Secrets never reach argv: the password goes to the client on its standard input, named by
//! `PBS_PASSWORD_FD=0` (the client's own way to take a secret from a descriptor), so it is
//! not in the environment either; the certificate fingerprint (not a secret) in
//! `PBS_FINGERPRINT`. A run that fails for a reason that passes (network, busy server) is
//! retried with exponential backoff and jitter; one that cannot pass (credentials, certificate,
//! missing datastore) fails at once with what to fix (`Error::external`, exit 3). The tests run
//! against the client's stand-in, t/bin/proxmox-backup-client.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use smbgw_core::pve_storage::Storage;
use smbgw_core::{bail_field, Error, Result};
use smbgw_sys::command::{Command, Output};

use crate::Gateway;

/// PBS's client, as PATH finds it (`/usr/bin/proxmox-backup-client` on a PVE node).
pub const CLIENT: &str = "proxmox-backup-client";
/// PBS's single-file restore tool (package proxmox-file-restore), which PVE's own file
/// restore runs (PVE::PBSClient `file_restore_list`, `file_restore_extract`).
pub const FILE_RESTORE: &str = "proxmox-file-restore";
/// PBS's API port, the client's default.
pub const DEFAULT_PORT: u16 = 8007;
/// The user PVE connects as when the storage names none (PVE::PBSClient::get_repository).
pub const DEFAULT_USER: &str = "root@pam";
/// Variables of ours that would override how the client takes its secret or target.
const CLIENT_ENV: &[&str] = &[
    "PBS_PASSWORD",
    "PBS_PASSWORD_FD",
    "PBS_PASSWORD_FILE",
    "PBS_PASSWORD_CMD",
    "PBS_REPOSITORY",
    "PBS_FINGERPRINT",
];

/// A `pbs` storage of storage.cfg, checked: where backups go.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct PbsTarget {
    pub storage: String,
    pub server: String,
    pub port: u16,
    pub datastore: String,
    /// `user@realm` or an API token `user@realm!token`.
    pub username: String,
    pub fingerprint: Option<String>,
    pub namespace: Option<String>,
}

impl PbsTarget {
    /// The target `storage` names, or why it cannot take backups from `node`: the field at
    /// fault (`storage`, or the storage.cfg property) and the value.
    pub fn from_storage(storage: &Storage, node: &str) -> Result<Self> {
        let id = &storage.id;
        if storage.kind != "pbs" {
            bail_field!(
                "storage",
                "storage '{id}' is of type '{}'; backups go to a Proxmox Backup Server storage (type pbs)",
                storage.kind
            );
        }
        if storage.disabled {
            bail_field!("storage", "storage '{id}' is disabled (storage.cfg: disable)");
        }
        if !storage.on_node(node) {
            bail_field!(
                "storage",
                "storage '{id}' is not enabled on node '{node}' (storage.cfg: nodes {})",
                storage.nodes.as_deref().unwrap_or_default().join(",")
            );
        }
        let p = &storage.pbs;
        let Some(server) = p.server.clone() else {
            bail_field!("server", "storage '{id}' names no server (storage.cfg: server)");
        };
        if !server_ok(&server) {
            bail_field!(
                "server",
                "storage '{id}' has the server {server:?}, which is no host name or IP address"
            );
        }
        let port = match p.port.as_deref() {
            None => DEFAULT_PORT,
            Some(port) => match port.parse::<u16>() {
                Ok(n) if n > 0 => n,
                _ => bail_field!("port", "storage '{id}' has the port {port:?}; a port is 1-65535"),
            },
        };
        let Some(datastore) = p.datastore.clone() else {
            bail_field!(
                "datastore",
                "storage '{id}' names no datastore (storage.cfg: datastore)"
            );
        };
        if !safe_id(&datastore) {
            bail_field!(
                "datastore",
                "storage '{id}' has the datastore {datastore:?}, which is no PBS datastore name (letters, digits, '_', '-', '.')"
            );
        }
        let username = p.username.clone().unwrap_or_else(|| DEFAULT_USER.into());
        if !auth_id_ok(&username) {
            bail_field!(
                "username",
                "storage '{id}' has the username {username:?}; PBS takes user@realm or an API token user@realm!token"
            );
        }
        if let Some(fp) = &p.fingerprint {
            if !fingerprint_ok(fp) {
                bail_field!(
                    "fingerprint",
                    "storage '{id}' has the fingerprint {fp:?}, which is not a SHA-256 fingerprint: 32 hexadecimal bytes separated by ':' (e.g. as `proxmox-backup-manager cert info` shows it)"
                );
            }
        }
        if let Some(ns) = &p.namespace {
            if !namespace_ok(ns) {
                bail_field!(
                    "namespace",
                    "storage '{id}' has the namespace {ns:?}; a PBS namespace is up to 7 names (letters, digits, '_', '-', '.') separated by '/'"
                );
            }
        }
        Ok(PbsTarget {
            storage: id.clone(),
            server,
            port,
            datastore,
            username,
            fingerprint: p.fingerprint.clone(),
            namespace: p.namespace.clone(),
        })
    }

    /// The client's `--repository`, as PVE::PBSClient::get_repository writes it: an IPv6
    /// server in brackets, the port only when it is not the default.
    pub fn repository(&self) -> String {
        let mut server = match self.server.parse::<std::net::Ipv6Addr>() {
            Ok(_) => format!("[{}]", self.server),
            Err(_) => self.server.clone(),
        };
        if self.port != DEFAULT_PORT {
            server = format!("{server}:{}", self.port);
        }
        format!("{}@{server}:{}", self.username, self.datastore)
    }

    /// Where PVE keeps the storage's password (PBSPlugin.pm `pbs_password_file_name`), below
    /// the cluster config directory `pve_dir` (`/etc/pve`).
    pub fn password_file(&self, pve_dir: &Path) -> PathBuf {
        pve_dir.join("priv/storage").join(format!("{}.pw", self.storage))
    }
}

/// PVE's `fingerprint-sha256`: `([A-Fa-f0-9]{2}:){31}[A-Fa-f0-9]{2}`, the whole value.
pub fn fingerprint_ok(fp: &str) -> bool {
    let parts: Vec<&str> = fp.split(':').collect();
    parts.len() == 32
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// PBS's safe id (datastore, realm, token and namespace names): a letter, digit or '_' first,
/// then letters, digits, '_', '-', '.'.
fn safe_id(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 32
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
}

/// PBS's Authid: `name@realm`, optionally `!token`; the name without white space, ':', '/'
/// or control characters (it may hold '@': the realm follows the last one).
fn auth_id_ok(id: &str) -> bool {
    let (user, token) = match id.split_once('!') {
        Some((user, token)) => (user, Some(token)),
        None => (id, None),
    };
    let Some((name, realm)) = user.rsplit_once('@') else {
        return false;
    };
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, ':' | '/'))
        && realm.len() >= 2
        && realm.as_bytes()[0].is_ascii_alphabetic()
        && safe_id(realm)
        && token.is_none_or(|t| t.as_bytes().first().is_some_and(u8::is_ascii_alphabetic) && safe_id(t))
}

/// A PBS namespace: 1-7 safe ids separated by '/'.
fn namespace_ok(ns: &str) -> bool {
    let parts: Vec<&str> = ns.split('/').collect();
    parts.len() <= 7 && parts.iter().all(|p| safe_id(p))
}

/// PVE's `pve-storage-server`: an IP address or a DNS name.
fn server_ok(server: &str) -> bool {
    server.parse::<std::net::IpAddr>().is_ok()
        || (!server.is_empty()
            && server.len() <= 253
            && server.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            }))
}

/// A share's name as a PBS name (backup id, archive label: letters, digits, '-', '_'): other
/// bytes, and '_' itself, become `_HH`, so two shares never get the same name.
pub fn pbs_name(share: &str) -> String {
    share
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' => (b as char).to_string(),
            _ => format!("_{b:02x}"),
        })
        .collect()
}

/// The backup group of share `share` of node `node`: `host/<node>-smbgw-<share>`.
pub fn backup_id(node: &str, share: &str) -> String {
    format!("{node}-smbgw-{}", pbs_name(share))
}

/// The password of a PBS storage. Shown nowhere: its Debug hides it.
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The first line of PVE's password file (PBSPlugin.pm `pbs_get_password`).
fn read_password(target: &PbsTarget, file: &Path) -> Result<Secret> {
    let text = match std::fs::read(file) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail_field!(
            "storage",
            "storage '{}' has no password: PVE keeps it in {} (set it with `pvesm set {} --password`)",
            target.storage,
            file.display(),
            target.storage
        ),
        Err(e) => return Err(Error::io("reading", file, e)),
    };
    let line = text.lines().next().unwrap_or_default();
    if line.is_empty() {
        bail_field!(
            "storage",
            "storage '{}' has an empty password in {}",
            target.storage,
            file.display()
        );
    }
    Ok(Secret(line.to_string()))
}

/// What a failed run of the client means for the next attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// It may pass later: network, a busy or overloaded server.
    Transient,
    /// The server refused the credentials.
    Auth,
    /// The server's certificate is not the one the storage names (or none is named).
    Fingerprint,
    /// The datastore or namespace does not exist on the server.
    Datastore,
    /// Anything else: not retried, reported as the client said it.
    Other,
    /// The client could not be run here (not installed): a system error.
    Local,
}

impl Failure {
    pub fn transient(self) -> bool {
        self == Failure::Transient
    }
}

/// The client's own message: its last `Error: ` line (its anyhow error), else its last line.
pub fn client_message(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    lines
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("Error: "))
        .or(lines.last().copied())
        .unwrap_or("no error message")
        .to_string()
}

/// Classify a failed run by the client's exit status (None: killed) and its stderr.
pub fn classify(code: Option<i32>, stderr: &str) -> Failure {
    if code.is_none() {
        return Failure::Transient;
    }
    let msg = client_message(stderr).to_ascii_lowercase();
    let any = |words: &[&str]| words.iter().any(|w| msg.contains(w));
    if any(&[
        "certificate verify failed",
        "fingerprint",
        "certificate validation failed",
    ]) {
        Failure::Fingerprint
    } else if any(&[
        "permission check failed",
        "authentication failed",
        "401",
        "403",
        "no password input mechanism",
        "api token secret must be provided",
        "owner check failed",
    ]) {
        Failure::Auth
    } else if any(&["no such datastore", "datastore '"]) && !any(&["maintenance", "another backup"])
        || msg.contains("namespace") && msg.contains("does not exist")
    {
        Failure::Datastore
    } else if any(&[
        "connection refused",
        "timed out",
        "deadline has elapsed",
        "connection reset",
        "broken pipe",
        "no route to host",
        "network is unreachable",
        "temporary failure in name resolution",
        "503",
        "service unavailable",
        "another backup is already running",
        "locked by another operation",
        "unexpected eof",
        "connection closed",
    ]) {
        Failure::Transient
    } else {
        Failure::Other
    }
}

/// How often and how long to wait between attempts: the n-th retry waits a random time
/// between half and all of `first * 2^n`, at most `max` (exponential backoff, equal jitter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Attempts in all (1: no retry).
    pub attempts: u32,
    pub first: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            attempts: 5,
            first: Duration::from_secs(5),
            max: Duration::from_secs(120),
        }
    }
}

impl Backoff {
    /// The wait before retry `retry` (0: the first retry), with `jitter` in [0, 1).
    pub fn delay(&self, retry: u32, jitter: f64) -> Duration {
        let full = self
            .first
            .saturating_mul(1u32.checked_shl(retry).unwrap_or(u32::MAX))
            .min(self.max);
        full / 2 + full.mul_f64(jitter.clamp(0.0, 1.0) / 2.0)
    }
}

/// A small random source for the jitter (xorshift64*, seeded from the clock and the pid): the
/// waits of many nodes retrying at once spread out; nothing here needs more.
struct Jitter(u64);

impl Jitter {
    fn new() -> Self {
        let seed = smbgw_sys::time::now_ns() ^ (u64::from(std::process::id()) << 32);
        Jitter(seed | 1)
    }

    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A failed attempt: its kind and the client's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    pub failure: Failure,
    pub message: String,
}

/// Run `attempt` until it succeeds, fails permanently, or `backoff.attempts` are spent,
/// calling `sleep` with each wait (tests record the waits instead of waiting). Returns the
/// result or the last failed attempt with the number of attempts made.
pub fn retry<T>(
    backoff: &Backoff,
    sleep: &mut dyn FnMut(Duration),
    jitter: &mut dyn FnMut() -> f64,
    mut attempt: impl FnMut() -> std::result::Result<T, Attempt>,
) -> std::result::Result<T, (Attempt, u32)> {
    let mut n = 0;
    loop {
        n += 1;
        match attempt() {
            Ok(v) => return Ok(v),
            Err(a) if a.failure.transient() && n < backoff.attempts.max(1) => sleep(backoff.delay(n - 1, jitter())),
            Err(a) => return Err((a, n)),
        }
    }
}

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
    fn args(&self) -> Vec<String> {
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
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let (mut days, secs) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let mut year = 1970;
    while days < 0 {
        year -= 1;
        days += if leap(year) { 366 } else { 365 };
    }
    while days >= if leap(year) { 366 } else { 365 } {
        days -= if leap(year) { 366 } else { 365 };
        year += 1;
    }
    let lengths = [
        31,
        if leap(year) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let mut month = 0;
    while days >= lengths[month] {
        days -= lengths[month];
        month += 1;
    }
    format!(
        "{year:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        month + 1,
        days + 1,
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
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

/// The PBS programs the gateway runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tool {
    Client,
    FileRestore,
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::Client => CLIENT,
            Tool::FileRestore => FILE_RESTORE,
        }
    }
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

/// The path proxmox-file-restore takes for `path` in archive `<archive>.pxar`:
/// `/<archive>.pxar.didx/<path>`.
fn archive_path(archive: &str, path: &str) -> String {
    let inside = path.trim_matches('/');
    match inside.is_empty() {
        true => format!("/{}.pxar.didx", pbs_name(archive)),
        false => format!("/{}.pxar.didx/{inside}", pbs_name(archive)),
    }
}

/// Standard base64 with padding: paths go to proxmox-file-restore encoded (`--base64 1`, as
/// PVE passes them), so no byte of a file name can be taken for an option.
pub fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            out.push(match i <= chunk.len() {
                true => ABC[(n >> (18 - 6 * i) & 63) as usize] as char,
                false => '=',
            });
        }
    }
    out
}

/// The message of a JSON error object (`{"message": ...}`) on stdout, if that is what it is.
fn json_error(stdout: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(stdout.trim()).ok()?;
    value.as_object()?.get("message")?.as_str().map(String::from)
}

/// What one run of the client needs: the target, its password, the programs.
struct Invocation {
    target: PbsTarget,
    password: Secret,
    client: OsString,
    file_restore: OsString,
}

impl Invocation {
    /// The command for one attempt: the repository and namespace after `args`, the password
    /// on stdin, the fingerprint in the environment, none of our own PBS_* variables.
    fn command(&self, tool: Tool, args: &[String], timeout: Duration) -> Command {
        let program = match tool {
            Tool::Client => &self.client,
            Tool::FileRestore => &self.file_restore,
        };
        let mut cmd = Command::new(program)
            .args(args)
            .arg("--repository")
            .arg(self.target.repository());
        if let Some(ns) = &self.target.namespace {
            cmd = cmd.arg("--ns").arg(ns);
        }
        for var in CLIENT_ENV {
            cmd = cmd.env_remove(var);
        }
        if let Some(fp) = &self.target.fingerprint {
            cmd = cmd.env("PBS_FINGERPRINT", fp);
        }
        cmd.env("PBS_PASSWORD_FD", "0")
            .stdin(format!("{}\n", self.password.0))
            .timeout(timeout)
    }
}

/// Runs the client against one PBS storage.
pub struct PbsClient {
    inv: Invocation,
    password_file: PathBuf,
    backoff: Backoff,
    /// How long one run of a data command (backup, restore) may take.
    pub transfer_timeout: Duration,
    /// How long one run of any other command may take.
    pub query_timeout: Duration,
    sleep: Box<dyn FnMut(Duration)>,
    jitter: Box<dyn FnMut() -> f64>,
}

impl std::fmt::Debug for PbsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PbsClient")
            .field("target", &self.inv.target)
            .field("password", &self.inv.password)
            .field("client", &self.inv.client)
            .field("file_restore", &self.inv.file_restore)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

impl PbsClient {
    pub fn new(target: PbsTarget, password: Secret, password_file: PathBuf) -> Self {
        let mut jitter = Jitter::new();
        PbsClient {
            inv: Invocation {
                target,
                password,
                client: CLIENT.into(),
                file_restore: FILE_RESTORE.into(),
            },
            password_file,
            backoff: Backoff::default(),
            transfer_timeout: Duration::from_secs(24 * 3600),
            query_timeout: Duration::from_secs(300),
            sleep: Box::new(std::thread::sleep),
            jitter: Box::new(move || jitter.next()),
        }
    }

    pub fn target(&self) -> &PbsTarget {
        &self.inv.target
    }

    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Wait with `sleep` instead of the thread's sleep (tests count the waits).
    pub fn with_sleep(mut self, sleep: impl FnMut(Duration) + 'static) -> Self {
        self.sleep = Box::new(sleep);
        self
    }

    /// Run `client` for proxmox-backup-client and `file_restore` for proxmox-file-restore
    /// (tests: the stand-ins).
    pub fn with_programs(mut self, client: impl Into<OsString>, file_restore: impl Into<OsString>) -> Self {
        self.inv.client = client.into();
        self.inv.file_restore = file_restore.into();
        self
    }

    /// Run `args` until it passes or fails for good (a transient failure counts as one only
    /// while `again` says a new attempt is safe); the error says what to fix.
    fn run(&mut self, tool: Tool, args: &[String], timeout: Duration, again: &dyn Fn() -> bool) -> Result<Output> {
        let what = std::iter::once(tool.name())
            .chain(
                args.iter()
                    .map(String::as_str)
                    .take_while(|a| !a.starts_with('-'))
                    .take(2),
            )
            .collect::<Vec<_>>()
            .join(" ");
        let inv = &self.inv;
        let result = retry(&self.backoff, &mut *self.sleep, &mut *self.jitter, || {
            let mut out = inv.command(tool, args, timeout).output().map_err(|e| Attempt {
                // the runner's timeout (external): the server stopped answering
                failure: match e.kind {
                    smbgw_sys::ErrorKind::System => Failure::Local,
                    _ => Failure::Transient,
                },
                message: e.message,
            })?;
            // `proxmox-file-restore list` with a JSON format fails with a JSON message, exit 0
            if let (true, Some(msg)) = (out.success(), json_error(&out.stdout)) {
                out = Output {
                    code: Some(255),
                    stdout: String::new(),
                    stderr: format!("Error: {msg}\n"),
                };
            }
            if out.success() {
                return Ok(out);
            }
            let failure = match classify(out.code, &out.stderr) {
                Failure::Transient if !again() => Failure::Other,
                f => f,
            };
            Err(Attempt {
                failure,
                message: client_message(&out.stderr),
            })
        });
        result.map_err(|(a, n)| self.failure(tool, &what, &a, n))
    }

    /// The error for a failed command: what the server said and what to do about it.
    fn failure(&self, tool: Tool, what: &str, a: &Attempt, attempts: u32) -> Error {
        let t = &self.inv.target;
        let at = format!("PBS storage '{}' ({})", t.storage, t.repository());
        let msg = &a.message;
        if a.failure == Failure::Local {
            return Error::system(format!(
                "{msg}: backups to PBS need its tools (`apt install {}`)",
                tool.name()
            ));
        }
        Error::external(match a.failure {
            Failure::Auth => format!(
                "{at}: the server refused the credentials ({msg}); check `username` of the storage in storage.cfg and its password in {}",
                self.password_file.display()
            ),
            Failure::Fingerprint => match &t.fingerprint {
                Some(fp) => format!(
                    "{at}: the server's certificate is not the one `fingerprint` {fp} of the storage names ({msg}); set the fingerprint the server shows (`proxmox-backup-manager cert info`)"
                ),
                None => format!(
                    "{at}: the server's certificate is not trusted and the storage names no `fingerprint` ({msg}); set the one the server shows (`proxmox-backup-manager cert info`)"
                ),
            },
            Failure::Datastore => format!(
                "{at}: the server has no datastore '{}'{} ({msg}); check `datastore` and `namespace` of the storage",
                t.datastore,
                t.namespace.as_deref().map(|ns| format!(" with namespace '{ns}'")).unwrap_or_default()
            ),
            Failure::Transient => format!("{at}: '{what}' still failed after {attempts} attempts: {msg}"),
            Failure::Other | Failure::Local => format!("{at}: '{what}' failed: {msg}"),
        })
    }

    /// Back up directory `dir` as archive `<archive>.pxar` into group `host/<backup_id>` (at
    /// `time`, else now). A failed attempt leaves nothing on the server, so it is retried.
    pub fn backup(&mut self, archive: &str, dir: &Path, backup_id: &str, time: Option<i64>) -> Result<()> {
        let mut args = vec![
            "backup".to_string(),
            format!("{}.pxar:{}", pbs_name(archive), dir.display()),
            "--backup-type".into(),
            "host".into(),
            "--backup-id".into(),
            backup_id.into(),
            "--crypt-mode=none".into(),
        ];
        if let Some(t) = time {
            args.extend(["--backup-time".into(), t.to_string()]);
        }
        let timeout = self.transfer_timeout;
        self.run(Tool::Client, &args, timeout, &|| true).map(drop)
    }

    /// The snapshots of group `host/<backup_id>`, oldest first.
    pub fn snapshots(&mut self, backup_id: &str) -> Result<Vec<Snapshot>> {
        let args = [
            "snapshot".to_string(),
            "list".into(),
            format!("host/{backup_id}"),
            "--output-format".into(),
            "json".into(),
        ];
        let timeout = self.query_timeout;
        let out = self.run(Tool::Client, &args, timeout, &|| true)?;
        let mut list: Vec<Snapshot> = self.parse(&out.stdout, "snapshot list")?;
        list.sort_by_key(|s| s.backup_time);
        Ok(list)
    }

    /// Restore archive `<archive>.pxar` of `snapshot` (a path, or a group for its latest) into
    /// the directory `target`, which must not exist or be empty: a failed attempt is retried
    /// only while nothing was written there.
    pub fn restore(&mut self, snapshot: &str, archive: &str, target: &Path) -> Result<()> {
        let args = [
            "restore".to_string(),
            snapshot.into(),
            format!("{}.pxar", pbs_name(archive)),
            target.display().to_string(),
        ];
        let timeout = self.transfer_timeout;
        let untouched = || std::fs::read_dir(target).map_or(true, |mut d| d.next().is_none());
        self.run(Tool::Client, &args, timeout, &untouched).map(drop)
    }

    /// Apply `keep` to group `host/<backup_id>` on the server (with `dry_run`, only say what
    /// it would remove).
    pub fn prune(&mut self, backup_id: &str, keep: &Keep, dry_run: bool) -> Result<Vec<PruneItem>> {
        let mut args = vec!["prune".to_string(), format!("host/{backup_id}")];
        args.extend(keep.args());
        if dry_run {
            args.push("--dry-run".into());
        }
        args.extend(["--output-format".into(), "json".into()]);
        let timeout = self.query_timeout;
        let out = self.run(Tool::Client, &args, timeout, &|| true)?;
        self.parse(&out.stdout, "proxmox-backup-client prune")
    }

    /// Remove one snapshot.
    pub fn forget(&mut self, snapshot: &str) -> Result<()> {
        let args = ["snapshot".to_string(), "forget".into(), snapshot.into()];
        let timeout = self.query_timeout;
        self.run(Tool::Client, &args, timeout, &|| true).map(drop)
    }

    /// The entries of a snapshot's catalog (for restoring single files).
    pub fn catalog(&mut self, snapshot: &str) -> Result<Vec<CatalogEntry>> {
        let args = ["catalog".to_string(), "dump".into(), snapshot.into()];
        let timeout = self.query_timeout;
        let out = self.run(Tool::Client, &args, timeout, &|| true)?;
        // the client prints the catalog through its logger, on stderr
        Ok(parse_catalog(&format!("{}{}", out.stdout, out.stderr)))
    }

    /// The entries of directory `dir` (`""` for the top) of archive `<archive>.pxar` in
    /// `snapshot`, from the snapshot's catalog (`proxmox-file-restore list`).
    pub fn files(&mut self, snapshot: &str, archive: &str, dir: &str) -> Result<Vec<FileEntry>> {
        let path = archive_path(archive, dir);
        let args = [
            "list".to_string(),
            snapshot.into(),
            base64(path.as_bytes()),
            "--base64".into(),
            "1".into(),
            "--output-format".into(),
            "json".into(),
        ];
        let timeout = self.query_timeout;
        let out = self.run(Tool::FileRestore, &args, timeout, &|| true)?;
        self.parse(&out.stdout, "proxmox-file-restore list")
    }

    /// Restore the file or directory `path` of archive `<archive>.pxar` in `snapshot` into the
    /// directory `target`, under its own name (`proxmox-file-restore extract`); nothing there
    /// is overwritten, and a failed attempt is retried only while that name is still free.
    pub fn extract(&mut self, snapshot: &str, archive: &str, path: &str, target: &Path) -> Result<()> {
        let inside = archive_path(archive, path);
        let args = [
            "extract".to_string(),
            snapshot.into(),
            base64(inside.as_bytes()),
            target.display().to_string(),
            "--base64".into(),
            "1".into(),
        ];
        let name = path
            .trim_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        let free = move || name.is_empty() || std::fs::symlink_metadata(target.join(&name)).is_err();
        let timeout = self.transfer_timeout;
        self.run(Tool::FileRestore, &args, timeout, &free).map(drop)
    }

    fn parse<T: serde::de::DeserializeOwned>(&self, stdout: &str, what: &str) -> Result<T> {
        serde_json::from_str(stdout.trim()).map_err(|e| {
            Error::external(format!(
                "PBS storage '{}': cannot read the answer of '{what}': {e}",
                self.inv.target.storage
            ))
        })
    }
}

impl Gateway {
    /// The client for PBS storage `storage` of storage.cfg, with its password; refused (exit
    /// 1, naming the field) when the storage is missing, not `pbs`, disabled here, or
    /// malformed, or has no password.
    pub fn pbs_client(&self, storage: &str) -> Result<PbsClient> {
        let all = self.pve_storages()?;
        let Some(found) = all.iter().find(|s| s.id == storage) else {
            let pbs: Vec<&str> = all.iter().filter(|s| s.kind == "pbs").map(|s| s.id.as_str()).collect();
            bail_field!(
                "storage",
                "storage '{storage}' does not exist in storage.cfg; {}",
                match pbs.is_empty() {
                    true =>
                        "there is no Proxmox Backup Server storage (type pbs): add one with `pvesm add pbs`".to_string(),
                    false => format!("PBS storages: {}", pbs.join(", ")),
                }
            );
        };
        let target = PbsTarget::from_storage(found, &self.node_name()?)?;
        let pve_dir = self.layout.pve_storage_cfg.parent().unwrap_or(Path::new("/etc/pve"));
        let file = target.password_file(pve_dir);
        let password = read_password(&target, &file)?;
        Ok(PbsClient::new(target, password, file))
    }
}

#[cfg(test)]
mod tests;
