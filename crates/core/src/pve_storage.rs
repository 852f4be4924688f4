//! PVE's storage definitions (`/etc/pve/storage.cfg`; `pve/storage.cfg` in a sandbox, see
//! `layout.rs`) and where a share goes on one of them, as `pct create --rootfs STORAGE:SIZE`
//! places a container's volume: `create NAME --storage ID` (issue 16, item 1).
//!
//! The file is PVE's, not ours, so it is read with PVE's own rules (pve-common
//! `PVE::SectionConfig::parse_config`, pve-storage `PVE::Storage::Plugin`) and not with the strict
//! reader of our own files (`section.rs`, where anything unreadable is corruption): a header is
//! `TYPE: ID` (the type in any case), its properties follow on lines that start with white space,
//! an empty line ends the section, `#` lines are comments anywhere; a section whose id is not a
//! `pve-storage-id` is skipped, a repeated property keeps its first value, other lines are
//! ignored. `local` is always the `dir` storage at /var/lib/vz on every node, as PVE makes it.
//!
//! What the node says (mounted, room, enabled here) is checked by the gateway
//! (crates/gateway/src/pve_storage.rs); this module is pure.

use std::collections::BTreeMap;
use std::fmt;

use crate::quota_backend::QuotaBackend;
use crate::section::Section;
use crate::{bail_field, validate, Result, ResultExt};

/// The storage types a share can be put on.
pub const SUPPORTED_TYPES: &[&str] = &["btrfs", "cephfs", "dir", "zfspool"];

/// The directory under a directory-like storage that holds the gateway's shares.
pub const SHARES_DIR: &str = "smbgateway";
/// The prefix of a share's dataset on a `zfspool` storage (`<pool>/smbgw-<name>`).
pub const DATASET_PREFIX: &str = "smbgw-";

/// The storage types a share can use, by their behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageType {
    Dir,
    Btrfs,
    Zfspool,
    Cephfs,
}

impl StorageType {
    fn of(name: &str) -> Option<Self> {
        match name {
            "dir" => Some(Self::Dir),
            "btrfs" => Some(Self::Btrfs),
            "zfspool" => Some(Self::Zfspool),
            "cephfs" => Some(Self::Cephfs),
            _ => None,
        }
    }
}

/// One storage of storage.cfg, with the properties a share needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Storage {
    pub id: String,
    /// The type as written (`dir`, `rbd`, a plugin's own ...).
    pub kind: String,
    /// `path` of dir, btrfs and cephfs (cephfs: default `/mnt/pve/<id>`).
    pub path: Option<String>,
    /// `pool` of zfspool.
    pub pool: Option<String>,
    /// `mountpoint` of zfspool (default: `/<pool>`, ZFS's own default).
    pub mountpoint: Option<String>,
    /// `subdir` of cephfs: the CephFS directory mounted at `path` (the mount source, not a local
    /// path: the share still lives under `path`).
    pub subdir: Option<String>,
    /// `fs-name` of cephfs.
    pub fs_name: Option<String>,
    /// `nodes`: the nodes the storage is defined for; `None`: every node.
    pub nodes: Option<Vec<String>>,
    pub disabled: bool,
    pub shared: bool,
    /// `is_mountpoint` of dir and btrfs: `yes` (the path itself) or another path that must be a
    /// mount point before the storage is used.
    pub is_mountpoint: Option<String>,
    pub content: Vec<String>,
    /// The properties of a `pbs` storage (empty for other types).
    pub pbs: PbsProperties,
}

/// A `pbs` storage's properties as PVE defines them (pve-storage `PVE::Storage::PBSPlugin`
/// `options`; `server`, `port`, `username` are the common ones of `PVE::Storage::Plugin`), as
/// written: whether they make a usable repository is the gateway's to say
/// (crates/gateway/src/pbs.rs). Its password is not here: PVE keeps it in
/// `/etc/pve/priv/storage/<ID>.pw`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PbsProperties {
    pub server: Option<String>,
    pub port: Option<String>,
    pub datastore: Option<String>,
    /// `user@realm` or an API token `user@realm!token` (PVE's default: `root@pam`).
    pub username: Option<String>,
    /// The SHA-256 fingerprint of the server's certificate (`fingerprint-sha256`).
    pub fingerprint: Option<String>,
    pub namespace: Option<String>,
    /// `encryption-key`: the fingerprint of the key backups are encrypted with (the key itself
    /// is in `/etc/pve/priv/storage/<ID>.enc`).
    pub encryption_key: Option<String>,
}

/// Where a share on a storage lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub path: String,
    pub backend: QuotaBackend,
    pub zfs_dataset: Option<String>,
}

impl Storage {
    pub fn storage_type(&self) -> Option<StorageType> {
        StorageType::of(&self.kind)
    }

    /// The directory the storage is on this node: `path`, or a zfspool's mountpoint.
    pub fn root(&self) -> Option<&str> {
        match self.storage_type() {
            Some(StorageType::Zfspool) => self.mountpoint.as_deref(),
            _ => self.path.as_deref(),
        }
    }

    /// The quota backend shares on this storage get: its type's (`auto` on a dir storage: the
    /// filesystem's).
    pub fn backend(&self) -> Option<QuotaBackend> {
        Some(match self.storage_type()? {
            StorageType::Dir => QuotaBackend::Auto,
            StorageType::Btrfs => QuotaBackend::Btrfs,
            StorageType::Zfspool => QuotaBackend::Zfs,
            StorageType::Cephfs => QuotaBackend::Cephfs,
        })
    }

    /// Whether the storage is defined for `node` (no `nodes`, or `node` among them).
    pub fn on_node(&self, node: &str) -> bool {
        self.nodes.as_ref().is_none_or(|n| n.iter().any(|n| n == node))
    }

    /// Why a share cannot be put on this storage on `node` from its definition alone: its type,
    /// `disable`, `nodes`, a missing path. The node's state (mounted, room) is the gateway's.
    pub fn refusal(&self, node: &str) -> Option<String> {
        let id = &self.id;
        let Some(kind) = self.storage_type() else {
            return Some(format!(
                "storage '{id}' is of type '{}'; shares can be put on storages of type {}",
                self.kind,
                SUPPORTED_TYPES.join(", ")
            ));
        };
        if self.disabled {
            return Some(format!("storage '{id}' is disabled (storage.cfg: disable)"));
        }
        if !self.on_node(node) {
            return Some(format!(
                "storage '{id}' is not enabled on node '{node}' (storage.cfg: nodes {})",
                self.nodes.as_deref().unwrap_or_default().join(",")
            ));
        }
        match (kind, self.root()) {
            (StorageType::Zfspool, _) if self.pool.is_none() => {
                Some(format!("storage '{id}' names no ZFS pool (storage.cfg: pool)"))
            }
            (_, None) => Some(format!("storage '{id}' has no path (storage.cfg: path)")),
            (_, Some(root)) if validate::path_syntax(root).is_err() => Some(format!(
                "storage '{id}' has the path {root:?}, which cannot hold a share"
            )),
            _ => None,
        }
    }

    /// Where share `name` goes on this storage: `<path>/smbgateway/<name>` (dir, btrfs, cephfs)
    /// or the dataset `<pool>/smbgw-<name>` at `<mountpoint>/smbgw-<name>` (zfspool). With
    /// `path` given it must lie inside the storage (a zfspool's dataset then follows the path).
    /// The backend follows the type: btrfs, zfs, cephfs, and for dir what the filesystem offers.
    pub fn locate(&self, name: &str, path: Option<&str>) -> Result<Location> {
        let (Some(kind), Some(backend), Some(root)) = (self.storage_type(), self.backend(), self.root()) else {
            bail_field!("storage", "storage '{}' cannot hold shares", self.id);
        };
        let path = match path {
            Some(p) => {
                validate::path_syntax(p)?;
                if p == root || !validate::path_within(p, root) {
                    bail_field!(
                        "path",
                        "path {p} is not inside storage '{}' ({root}); leave --path out to put the share at its default place there, or give a directory under {root}",
                        self.id
                    );
                }
                p.to_string()
            }
            None => match kind {
                StorageType::Zfspool => format!("{root}/{DATASET_PREFIX}{name}"),
                _ => format!("{root}/{SHARES_DIR}/{name}"),
            },
        };
        validate::path_syntax(&path)?;
        let zfs_dataset = match (kind, &self.pool) {
            (StorageType::Zfspool, Some(pool)) => {
                let below = &path[root.trim_end_matches('/').len()..];
                let dataset = format!("{pool}{below}");
                validate::zfs_dataset(&dataset).field("path")?;
                Some(dataset)
            }
            _ => None,
        };
        Ok(Location {
            path,
            backend,
            zfs_dataset,
        })
    }
}

impl fmt::Display for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}", self.id, self.kind)?;
        if let Some(root) = self.root() {
            write!(f, ", {root}")?;
        }
        f.write_str(")")
    }
}

/// PVE's storage id (`pve-storage-id`, pve-common `PVE::JSONSchema::parse_id`): at least two
/// characters, a letter first, then letters, digits, `-`, `_`, `.`, ending in a letter or digit.
pub fn storage_id_ok(id: &str) -> bool {
    let bytes = id.as_bytes();
    bytes.len() >= 2
        && bytes[0].is_ascii_alphabetic()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// PVE's node name (`pve_verify_node_name`).
fn node_name_ok(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
}

/// PVE's `split_list`: items separated by `,`, `;` or white space.
fn split_list(value: &str) -> Vec<String> {
    value
        .split([',', ';', ' ', '\t'])
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// PVE's booleans (PVE::JSONSchema: 1/0, yes/no, on/off, true/false); anything else is false,
/// as a value PVE would refuse leaves the property unset there.
fn flag(value: Option<&String>) -> bool {
    value.is_some_and(|v| validate::boolean("", v).unwrap_or(false))
}

/// The sections of storage.cfg as PVE's section config reads them (see the module comment).
pub fn sections(text: &str) -> Vec<Section> {
    let mut out = Vec::new();
    let mut current: Option<Section> = None;
    for (idx, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim_start().starts_with('#') {
            continue;
        }
        if let Some(section) = current.as_mut() {
            // PVE's `while ($line = $nextline->())` stops at an empty line only
            if line.is_empty() {
                out.extend(current.take());
                continue;
            }
            if line.starts_with([' ', '\t']) {
                let body = line.trim();
                if body.is_empty() {
                    continue;
                }
                let (key, value) = body
                    .split_once([' ', '\t'])
                    .map(|(k, v)| (k, v.trim()))
                    .unwrap_or((body, ""));
                section
                    .props
                    .entry(key.to_string())
                    .or_insert_with(|| value.to_string());
                continue;
            }
            // PVE reads a header without an empty line before it as a line it ignores: the
            // properties below it still go to the current section (a repeated one keeps its
            // first value there)
            continue;
        }
        let Some((kind, id)) = line.split_once(':') else {
            continue;
        };
        // `^(\S+):\s*(\S+)\s*$`
        let id = id.trim();
        if kind.is_empty() || kind.contains(char::is_whitespace) || id.is_empty() || id.contains(char::is_whitespace) {
            continue;
        }
        // PVE skips a section with a bad id, properties and all
        let mut section = Section {
            kind: kind.to_ascii_lowercase(),
            name: id.to_string(),
            line: idx + 1,
            props: BTreeMap::new(),
        };
        if !storage_id_ok(id) {
            section.kind = String::new();
        }
        current = Some(section);
    }
    out.extend(current);
    out.retain(|s| !s.kind.is_empty());
    out
}

/// The storages of storage.cfg, in file order, `local` first as PVE always has it.
pub fn parse(text: &str) -> Vec<Storage> {
    let mut storages: Vec<Storage> = Vec::new();
    for s in sections(text) {
        // PVE keeps one entry per id, the last one read (SectionConfig assigns $ids->{$id})
        storages.retain(|known| known.id != s.name);
        let p = &s.props;
        let get = |k: &str| p.get(k).filter(|v| !v.is_empty()).cloned();
        let path = match (s.kind.as_str(), get("path")) {
            ("cephfs", None) => Some(format!("/mnt/pve/{}", s.name)),
            (_, path) => path,
        };
        let mountpoint = match s.kind.as_str() {
            "zfspool" => get("mountpoint").or_else(|| get("pool").map(|pool| format!("/{pool}"))),
            _ => None,
        };
        storages.push(Storage {
            id: s.name.clone(),
            kind: s.kind.clone(),
            path: path.map(|p| trim_slash(&p)),
            pool: get("pool"),
            mountpoint: mountpoint.map(|p| trim_slash(&p)),
            subdir: get("subdir"),
            fs_name: get("fs-name"),
            nodes: get("nodes").map(|n| split_list(&n).into_iter().filter(|n| node_name_ok(n)).collect()),
            disabled: flag(p.get("disable")),
            shared: flag(p.get("shared")) || s.kind == "cephfs",
            is_mountpoint: get("is_mountpoint"),
            content: get("content").map(|c| split_list(&c)).unwrap_or_default(),
            pbs: match s.kind.as_str() {
                "pbs" => PbsProperties {
                    server: get("server"),
                    port: get("port"),
                    datastore: get("datastore"),
                    username: get("username"),
                    fingerprint: get("fingerprint"),
                    namespace: get("namespace"),
                    encryption_key: get("encryption-key"),
                },
                _ => PbsProperties::default(),
            },
        });
    }
    // PVE::Storage::Plugin::parse_config: `local` is always the dir at /var/lib/vz, on every node
    let local = storages.iter().position(|s| s.id == "local");
    let ok = local.is_some_and(|i| {
        let s = &storages[i];
        s.kind == "dir" && s.path.as_deref().is_none_or(|p| p == "/var/lib/vz")
    });
    if !ok {
        if let Some(i) = local {
            storages.remove(i);
        }
        storages.insert(
            0,
            Storage {
                id: "local".into(),
                kind: "dir".into(),
                path: None,
                pool: None,
                mountpoint: None,
                subdir: None,
                fs_name: None,
                nodes: None,
                disabled: false,
                shared: false,
                is_mountpoint: None,
                content: ["backup", "images", "iso", "rootdir", "snippets", "vztmpl"]
                    .map(String::from)
                    .to_vec(),
                pbs: PbsProperties::default(),
            },
        );
    }
    if let Some(local) = storages.iter_mut().find(|s| s.id == "local") {
        local.path = Some("/var/lib/vz".into());
        local.nodes = None;
    }
    storages
}

/// A path without trailing slashes (`/mnt/pve/x/` is `/mnt/pve/x`), `/` stays `/`.
fn trim_slash(path: &str) -> String {
    match path.trim_end_matches('/') {
        "" => "/".into(),
        p => p.to_string(),
    }
}

/// Storage `id` among `storages`, or the field error naming those `usable` lists.
pub fn find<'a>(storages: &'a [Storage], id: &str, usable: &[&Storage]) -> Result<&'a Storage> {
    crate::guest::check_storage(id).field("storage")?;
    if let Some(s) = storages.iter().find(|s| s.id == id) {
        return Ok(s);
    }
    let list = match usable.is_empty() {
        true => format!(
            "this node has no storage a share can be put on (types {})",
            SUPPORTED_TYPES.join(", ")
        ),
        false => format!(
            "storages for shares on this node: {}",
            usable.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ")
        ),
    };
    bail_field!("storage", "storage '{id}' does not exist in storage.cfg; {list}")
}

#[cfg(test)]
mod tests;
