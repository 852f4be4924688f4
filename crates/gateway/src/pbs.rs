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
//! against the tools' stand-in, t/bin/proxmox-backup-client (and proxmox-file-restore).
//!
//! This module judges the target and reads the password; `client` runs the tools, `retry`
//! decides on another attempt, `output` reads their answers.

use std::path::{Path, PathBuf};

use serde::Serialize;
use smbgw_core::pve_storage::Storage;
use smbgw_core::{bail_field, Error, Result};

use crate::Gateway;

mod client;
mod output;
mod retry;

pub use client::{base64, PbsClient};

pub use output::{parse_catalog, utc_time, CatalogEntry, FileEntry, Keep, PruneItem, Snapshot, SnapshotFile};
pub use retry::{classify, client_message, retry, Attempt, Backoff, Failure};

/// PBS's client, as PATH finds it (`/usr/bin/proxmox-backup-client` on a PVE node).
pub const CLIENT: &str = "proxmox-backup-client";
/// PBS's single-file restore tool (package proxmox-file-restore), which PVE's own file
/// restore runs (PVE::PBSClient `file_restore_list`, `file_restore_extract`).
pub const FILE_RESTORE: &str = "proxmox-file-restore";
/// PBS's API port, the client's default.
pub const DEFAULT_PORT: u16 = 8007;
/// The user PVE connects as when the storage names none (PVE::PBSClient::get_repository).
pub const DEFAULT_USER: &str = "root@pam";

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
        // PVE encrypts such a storage's backups; the gateway cannot yet, and must not store
        // them in the clear where the admin asked for encryption
        if let Some(key) = &p.encryption_key {
            bail_field!(
                "encryption-key",
                "storage '{id}' encrypts its backups (encryption-key {key}); backups of shares to an encrypted PBS storage are not supported yet: use a storage without encryption-key"
            );
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

    /// The password itself, for the one place it goes: the tool's standard input.
    pub(crate) fn expose(&self) -> &str {
        &self.0
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

/// A PBS storage of storage.cfg as this node sees it, for choosing where backups go (the
/// API, the UI): usable, or why not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct PbsStorage {
    pub storage: String,
    /// `user@server:datastore` as the client is given it, when the storage is usable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub usable: bool,
    /// Why not, when not usable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Gateway {
    /// Every PBS storage of storage.cfg, usable from this node or with the reason it is not
    /// (the same checks as `pbs_client`, without running anything).
    pub fn pbs_storages(&self) -> Result<Vec<PbsStorage>> {
        let node = self.node_name()?;
        let pve_dir = self.layout.pve_storage_cfg.parent().unwrap_or(Path::new("/etc/pve"));
        Ok(self
            .pve_storages()?
            .iter()
            .filter(|s| s.kind == "pbs")
            .map(|s| {
                let checked = PbsTarget::from_storage(s, &node)
                    .and_then(|t| read_password(&t, &t.password_file(pve_dir)).map(|_| t));
                PbsStorage {
                    storage: s.id.clone(),
                    repository: checked.as_ref().ok().map(PbsTarget::repository),
                    namespace: checked.as_ref().ok().and_then(|t| t.namespace.clone()),
                    usable: checked.is_ok(),
                    reason: checked.err().map(|e| e.message),
                }
            })
            .collect())
    }

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
