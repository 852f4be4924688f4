//! The share model. A share is built only through `Share::from_properties`, which validates
//! every value, so a `Share` in memory is always valid.
//!
//! The rules between the two host lists are in `hosts.rs`, the conflicts between the
//! directories of different shares in `path_conflicts.rs`.

mod hosts;
mod path_conflicts;

pub use path_conflicts::{check_paths_apart, path_conflict};

use std::collections::BTreeMap;

use crate::calendar::CalendarEvent;
use crate::placement::Placement;
use crate::prune::KeepOptions;
use crate::quota_backend::QuotaBackend;
use crate::schema::{self, Kind, SHARE_PROPERTIES};
use crate::{bail_field, bail_input, guest, options, size, validate, Result, ResultExt};
use hosts::legacy_hosts;

/// The properties of mode lxc only.
const CONTAINER_PROPERTIES: [&str; 4] = ["ct-id", "ct-template", "ct-memory", "ct-storage"];
/// The properties of mode vm only.
const VM_PROPERTIES: [&str; 5] = ["vm-id", "vm-template", "vm-memory", "vm-cores", "vm-storage"];
/// The guest's network, for modes lxc and vm.
const NETWORK_PROPERTIES: [&str; 3] = ["bridge", "ip", "gateway"];

/// A share. Serialised (for the CLI's JSON, the API and the UI) as `share_json.rs` says, which
/// keeps the placement in the keys front ends read: `mode`, `container`, `vm`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Share {
    pub name: String,
    /// Where the share's Samba runs (the `mode` property with its guest).
    pub mode: Placement,
    pub path: String,
    /// The PVE storage the share was put on (`--storage`); its path lies inside it.
    pub storage: Option<String>,
    pub comment: Option<String>,
    pub read_only: bool,
    pub browseable: bool,
    pub guest: bool,
    pub users: Vec<String>,
    pub groups: Vec<String>,
    pub hosts_allow: Vec<String>,
    pub hosts_deny: Vec<String>,
    /// Bytes; enforced by the quota backends.
    pub quota: Option<u64>,
    /// `auto` until the gateway detected the backend, then the one in use.
    pub quota_backend: QuotaBackend,
    pub zfs_dataset: Option<String>,
    pub quota_alerts: Vec<u8>,
    /// Limits per user (or per group, '@group'), in bytes.
    pub user_quotas: BTreeMap<String, u64>,
    pub shadow_copies: bool,
    pub recycle_bin: bool,
    pub macos: bool,
    /// Alternate data streams in xattrs (vfs_streams_xattr); on unless turned off.
    pub streams: bool,
    pub audit: bool,
    pub encrypt: bool,
    pub case_sensitive: String,
    /// Local users and groups only while the domain is unreachable (AD members).
    pub fallback_local: bool,
    pub options: BTreeMap<String, String>,
    /// A Time Machine destination (`fruit:time machine`); needs `macos`.
    pub time_machine: bool,
    /// Bytes Time Machine is told the share holds; never above `quota`.
    pub time_machine_max_size: Option<u64>,
    /// When the daemon snapshots the share (PVE's calendar events).
    pub snapshot_schedule: Option<CalendarEvent>,
    /// Which scheduled snapshots the daemon keeps (PVE's prune format); unset keeps them all.
    pub snapshot_keep: Option<KeepOptions>,
    /// The PBS storage the daemon backs the share up to (`backup-schedule`).
    pub backup_storage: Option<String>,
    /// When the daemon backs the share up (PVE's calendar events).
    pub backup_schedule: Option<CalendarEvent>,
    /// Which backups of the share PBS keeps after each scheduled backup (PVE's prune format).
    pub backup_keep: Option<KeepOptions>,
    /// Who owns the permissions inside the share (`acl-mode`).
    pub acl_mode: AclMode,
    /// Listed only to users who may connect (`access based share enum`).
    pub access_based_enum: bool,
    /// Entries the user cannot read are left out of listings (`hide unreadable`).
    pub hide_unreadable: bool,
    /// A home share: one private directory per user under `path` (see `gateway::homes`).
    pub homes: bool,
    /// Bytes each home may hold; only on a home share.
    pub home_quota: Option<u64>,
}

/// `acl-mode`: the gateway's POSIX ACLs for the share's accounts, or Windows ACLs that clients
/// own (vfs_acl_xattr; the gateway sets only the initial owner and administrators entry, in
/// crates/gateway/src/acl.rs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AclMode {
    #[default]
    Posix,
    Windows,
}

impl AclMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AclMode::Posix => "posix",
            AclMode::Windows => "windows",
        }
    }

    pub fn is_windows(self) -> bool {
        self == AclMode::Windows
    }
}

/// Properties in their text form, as they come from the CLI, the API or the config file.
pub type Properties = BTreeMap<String, String>;

impl Share {
    /// Build and validate a share from text properties. Unknown keys are refused.
    pub fn from_properties(name: &str, props: &Properties) -> Result<Share> {
        Self::build(name, props, false)
    }

    /// A share from the stored config. Host entries earlier versions accepted and smbd never
    /// matches (names, `10.0.0.0/08`, a deny inside an allow) are kept as they are, so the
    /// config still loads; `host_problems` names them for status, and the next update of the
    /// share must fix them.
    pub fn from_stored(name: &str, props: &Properties) -> Result<Share> {
        Self::build(name, props, true)
    }

    fn build(name: &str, props: &Properties, stored: bool) -> Result<Share> {
        validate::share_name(name)?;
        if let Some(key) = props.keys().find(|k| schema::property(k).is_none()) {
            validate::text("property", key)?;
            bail_field!(
                key,
                "unknown share property '{key}'; known are: {}",
                SHARE_PROPERTIES.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
            );
        }
        if let Some((key, _)) = props.iter().find(|(_, v)| v.is_empty()) {
            bail_field!(
                key,
                "property '{key}' is empty; to reset it to its default use --delete {key}"
            );
        }
        let get = |key: &str| -> Option<&str> {
            props
                .get(key)
                .map(String::as_str)
                .or_else(|| schema::property(key).and_then(|p| p.default))
        };
        let flag = |key: &str| -> Result<bool> { validate::boolean(key, get(key).unwrap_or("0")).field(key) };
        let accounts = |key: &str, what: &str| -> Result<Vec<String>> {
            let items = validate::list(key, get(key).unwrap_or("")).field(key)?;
            items.iter().try_for_each(|n| validate::principal(what, n).field(key))?;
            Ok(items.into_iter().map(String::from).collect())
        };
        let hosts = |key: &str| -> Result<Vec<String>> {
            let value = get(key).unwrap_or("");
            match validate::host_list(key, value) {
                Err(_) if stored => legacy_hosts(key, value),
                checked => checked,
            }
            .field(key)
        };
        let choice = |key: &str| -> Result<String> {
            let value = get(key).unwrap_or("");
            let Some(Kind::Enum(values)) = schema::property(key).map(|p| p.kind) else {
                unreachable!()
            };
            match values.iter().find(|v| v.eq_ignore_ascii_case(value)) {
                Some(v) => Ok(v.to_string()),
                None => bail_field!(
                    key,
                    "{key} {value:?} is not valid: expected one of {}",
                    values.join(", ")
                ),
            }
        };

        let mode = choice("mode")?;
        // each guest property belongs to its mode; given to another it is a mistake, not ignored
        let foreign: Vec<&str> = match mode.as_str() {
            "native" => [&CONTAINER_PROPERTIES[..], &VM_PROPERTIES, &NETWORK_PROPERTIES].concat(),
            "lxc" => VM_PROPERTIES.to_vec(),
            _ => CONTAINER_PROPERTIES.to_vec(),
        };
        if let Some(key) = foreign.iter().find(|k| props.contains_key(**k)) {
            let owner = match (CONTAINER_PROPERTIES.contains(key), VM_PROPERTIES.contains(key)) {
                (true, _) => "--mode lxc",
                (_, true) => "--mode vm",
                _ => "--mode lxc or --mode vm",
            };
            bail_field!(*key, "--{key} is a property of {owner}, not of --mode {mode}");
        }
        let word = |key: &str, check: fn(&str) -> Result<()>| -> Result<String> {
            let value = get(key).unwrap_or_default();
            check(value).field(key)?;
            Ok(value.to_string())
        };
        let gateway = match props.get("gateway") {
            Some(g) => Some(word("gateway", guest::check_gateway).map(|_| g.clone())?),
            None => None,
        };
        let placement = match mode.as_str() {
            "native" => Placement::Native,
            "lxc" => Placement::Lxc(guest::Container {
                id: props
                    .get("ct-id")
                    .map(|v| guest::check_id(v))
                    .transpose()
                    .field("ct-id")?,
                template: word("ct-template", guest::check_template)?,
                memory: guest::check_memory(get("ct-memory").unwrap_or_default()).field("ct-memory")?,
                storage: word("ct-storage", |v| guest::check_storage_of("ct-storage", v))?,
                bridge: word("bridge", guest::check_bridge)?,
                ip: word("ip", guest::check_ip)?,
                gateway,
            }),
            _ => Placement::Vm(guest::Vm {
                id: props
                    .get("vm-id")
                    .map(|v| guest::check_guest_id("vm-id", v))
                    .transpose()
                    .field("vm-id")?,
                template: guest::check_guest_id("vm-template", get("vm-template").unwrap_or_default())
                    .field("vm-template")?,
                memory: guest::check_vm_memory(get("vm-memory").unwrap_or_default()).field("vm-memory")?,
                cores: guest::check_cores(get("vm-cores").unwrap_or_default()).field("vm-cores")?,
                storage: word("vm-storage", |v| guest::check_storage_of("vm-storage", v))?,
                bridge: word("bridge", guest::check_bridge)?,
                ip: word("ip", guest::check_ip)?,
                gateway,
            }),
        };
        // a VM share's data is on the VM's own disk, mounted inside the VM: no node directory
        let on_node = placement.has_node_directory();
        let path = match (on_node, get("path")) {
            (false, None) => guest::SHARE_MOUNT,
            (false, Some(p)) if p != guest::SHARE_MOUNT => {
                validate::text("path", p).field("path")?;
                bail_field!(
                    "path",
                    "--mode vm keeps the share's data on the VM's own disk, mounted at {} inside the VM; leave --path out",
                    guest::SHARE_MOUNT
                );
            }
            (_, Some(p)) => p,
            (_, None) => {
                bail_field!(
                    "path",
                    "share '{name}' needs a path: give --path with the absolute directory to share, or --storage with the PVE storage to put it on"
                )
            }
        };
        validate::path_syntax(path)?;
        let storage = match get("storage") {
            Some(_) if !on_node => bail_field!(
                "storage",
                "--mode vm keeps the share's data on the VM's own disk; its storage is --vm-storage, leave --storage out"
            ),
            Some(id) => {
                guest::check_storage_of("storage", id).field("storage")?;
                Some(id.to_string())
            }
            None => None,
        };
        let comment = match get("comment") {
            Some(c) if !c.is_empty() => {
                validate::text("comment", c).field("comment")?;
                Some(c.to_string())
            }
            _ => None,
        };
        let quota = match get("quota") {
            Some(q) if !q.is_empty() => {
                let bytes = size::round_to_kib(size::parse_size(q).field("quota")?);
                if bytes < size::MIN_QUOTA {
                    bail_field!(
                        "quota",
                        "quota '{q}' is below the minimum of {}",
                        size::format_size(size::MIN_QUOTA)
                    );
                }
                Some(bytes)
            }
            _ => None,
        };
        let zfs_dataset = match get("zfs-dataset") {
            Some(d) => {
                validate::zfs_dataset(d).field("zfs-dataset")?;
                Some(d.to_string())
            }
            None => None,
        };
        let quota_alerts =
            validate::percents("quota-alerts", get("quota-alerts").unwrap_or("")).field("quota-alerts")?;
        let mut user_quotas = BTreeMap::new();
        let user_quota = |item: &str| -> Result<(String, u64)> {
            let Some((who, size_text)) = item.split_once('=') else {
                bail_input!("user quota {item:?} is not of the form USER=SIZE or @GROUP=SIZE, e.g. alice=10G");
            };
            match who.strip_prefix('@') {
                Some(group) => validate::account_name("group name", group)?,
                None => validate::account_name("user name", who)?,
            }
            Ok((who.to_string(), size::round_to_kib(size::parse_size(size_text)?)))
        };
        for item in validate::list("user-quotas", get("user-quotas").unwrap_or("")).field("user-quotas")? {
            let (who, bytes) = user_quota(item).field("user-quotas")?;
            if user_quotas.insert(who.clone(), bytes).is_some() {
                bail_field!("user-quotas", "user-quotas names {who:?} twice");
            }
        }
        let time_machine_max_size = match get("time-machine-max-size") {
            Some(t) if !t.is_empty() => Some(size::round_to_kib(size::parse_size(t).field("time-machine-max-size")?)),
            _ => None,
        };
        if name.eq_ignore_ascii_case(validate::HOMES_SECTION) && !flag("homes")? {
            bail_field!(
                "name",
                "share name {name:?} is reserved for Samba's home-directory section (each user reaches their own folder under it): only a home share may be called so; add --homes 1, or choose another name"
            );
        }
        let home_quota = match get("home-quota") {
            Some(t) if !t.is_empty() => Some(size::round_to_kib(size::parse_size(t).field("home-quota")?)),
            _ => None,
        };
        let share = Share {
            name: name.to_string(),
            mode: placement,
            path: path.to_string(),
            storage,
            comment,
            read_only: flag("read-only")?,
            browseable: flag("browseable")?,
            guest: flag("guest")?,
            users: accounts("users", "user name")?,
            groups: accounts("groups", "group name")?,
            hosts_allow: hosts("hosts-allow")?,
            hosts_deny: hosts("hosts-deny")?,
            quota,
            quota_backend: QuotaBackend::from_name(&choice("quota-backend")?).expect("a schema choice"),
            zfs_dataset,
            quota_alerts,
            user_quotas,
            shadow_copies: flag("shadow-copies")?,
            recycle_bin: flag("recycle-bin")?,
            macos: flag("macos")?,
            streams: flag("streams")?,
            audit: flag("audit")?,
            encrypt: flag("encrypt")?,
            case_sensitive: choice("case-sensitive")?,
            fallback_local: flag("fallback-local")?,
            options: options::parse(get("options").unwrap_or("")).field("options")?,
            time_machine: flag("time-machine")?,
            time_machine_max_size,
            snapshot_schedule: get("snapshot-schedule")
                .map(CalendarEvent::parse)
                .transpose()
                .field("snapshot-schedule")?,
            snapshot_keep: get("snapshot-keep")
                .map(KeepOptions::parse)
                .transpose()
                .field("snapshot-keep")?,
            backup_storage: match get("backup-storage") {
                Some(id) => {
                    crate::guest::check_storage_of("backup-storage", id).field("backup-storage")?;
                    Some(id.to_string())
                }
                None => None,
            },
            backup_schedule: get("backup-schedule")
                .map(CalendarEvent::parse)
                .transpose()
                .field("backup-schedule")?,
            backup_keep: get("backup-keep")
                .map(KeepOptions::parse)
                .transpose()
                .field("backup-keep")?,
            acl_mode: match choice("acl-mode")?.as_str() {
                "windows" => AclMode::Windows,
                _ => AclMode::Posix,
            },
            access_based_enum: flag("access-based-enum")?,
            hide_unreadable: flag("hide-unreadable")?,
            homes: flag("homes")?,
            home_quota,
        };
        share.check_consistency()?;
        if !stored {
            share.check_hosts()?;
        }
        Ok(share)
    }

    /// Rules between properties.
    fn check_consistency(&self) -> Result<()> {
        if self.guest && (!self.users.is_empty() || !self.groups.is_empty()) {
            bail_field!(
                "guest",
                "share '{}': --guest lets everyone in, so it cannot be combined with --users or --groups",
                self.name
            );
        }
        if !self.user_quotas.is_empty() && !self.quota_backend.may_be_zfs() {
            bail_field!(
                "user-quotas",
                "share '{}': --user-quotas needs ZFS (userquota@/groupquota@), not '{}'",
                self.name,
                self.quota_backend
            );
        }
        if self.zfs_dataset.is_some() && !self.quota_backend.may_be_zfs() {
            bail_field!(
                "zfs-dataset",
                "share '{}': --zfs-dataset needs the zfs quota backend, not '{}'",
                self.name,
                self.quota_backend
            );
        }
        if self.guest && self.encrypt {
            bail_field!(
                "encrypt",
                "share '{}': guest sessions cannot be encrypted, so --guest and --encrypt exclude each other",
                self.name
            );
        }
        if self.fallback_local && !self.domain_principals().any(|_| true) {
            bail_field!(
                "fallback-local",
                "share '{}': --fallback-local makes local users a fallback for domain users, so the share needs at least one domain user or group (DOMAIN\\name)",
                self.name
            );
        }
        self.check_time_machine()?;
        self.check_listing_options()?;
        self.check_homes()?;
        if self.macos && !self.streams {
            bail_field!(
                "streams",
                "share '{}': --macos keeps resource forks and Finder metadata in streams (vfs_fruit needs streams_xattr), so it cannot be combined with --streams 0",
                self.name
            );
        }
        options::check_share(&self.options, self.streams, &|module| self.stacks(module)).field("options")?;
        if !self.mode.has_node_directory() {
            self.check_vm_share()?;
        }
        self.check_snapshots()?;
        self.check_backups()?;
        self.check_acl_mode()?;
        Ok(())
    }

    /// The daemon prunes only after its scheduled runs, so a retention without a schedule would
    /// never apply; a VM share's data is on the VM's own disk, which the node cannot snapshot.
    fn check_snapshots(&self) -> Result<()> {
        if self.snapshot_keep.is_some() && self.snapshot_schedule.is_none() {
            bail_field!(
                "snapshot-keep",
                "share '{}': --snapshot-keep prunes the scheduled snapshots, so it needs --snapshot-schedule",
                self.name
            );
        }
        if self.snapshot_schedule.is_some() && !self.mode.has_node_directory() {
            bail_field!(
                "snapshot-schedule",
                "share '{}': --snapshot-schedule is not available in --mode vm (the data disk has no snapshots the node can take)",
                self.name
            );
        }
        Ok(())
    }

    /// A backup schedule needs the storage it backs up to, and backup-keep prunes after the
    /// scheduled backups; a VM share's data is on the VM's disk, out of the node's reach.
    fn check_backups(&self) -> Result<()> {
        if self.backup_schedule.is_some() && self.backup_storage.is_none() {
            bail_field!(
                "backup-schedule",
                "share '{}': --backup-schedule needs --backup-storage, the PBS storage the backups go to",
                self.name
            );
        }
        if self.backup_keep.is_some() && self.backup_schedule.is_none() {
            bail_field!(
                "backup-keep",
                "share '{}': --backup-keep prunes on the server after each scheduled backup, so it needs --backup-schedule",
                self.name
            );
        }
        if self.backup_storage.is_some() && !self.mode.has_node_directory() {
            bail_field!(
                "backup-storage",
                "share '{}': backups to PBS are not available in --mode vm (its data is on the VM's own disk: back the VM up with vzdump)",
                self.name
            );
        }
        Ok(())
    }

    /// Windows ACLs need a Samba that can write `security.NTACL` on the share's files, and the
    /// Samba parameters that map them: refused where either cannot be had. (Whether the
    /// filesystem takes the xattrs is asked of the filesystem when the share's ACL is planned.)
    fn check_acl_mode(&self) -> Result<()> {
        if !self.acl_mode.is_windows() {
            return Ok(());
        }
        let name = &self.name;
        if self.mode.container().is_some() {
            bail_field!(
                "acl-mode",
                "share '{name}': --acl-mode windows needs Samba to write the security.NTACL extended attribute, which root of an unprivileged container may not (the kernel asks for CAP_SYS_ADMIN over the node's filesystem); use --mode native"
            );
        }
        if self.mode.vm().is_some() {
            bail_field!(
                "acl-mode",
                "share '{name}': --acl-mode windows is not available in --mode vm yet (Windows ACLs are edited by domain administrators, and a VM share has no domain accounts yet); use --mode native"
            );
        }
        for key in ["nt acl support", "map acl inherit"] {
            if self.options.get(key).map(String::as_str) == Some("no") {
                bail_field!(
                    "options",
                    "share '{name}': --acl-mode windows needs '{key} = yes' (vfs_acl_xattr maps the Windows ACL through it); remove the option '{key}'"
                );
            }
        }
        Ok(())
    }

    /// Time Machine is a vfs_fruit feature (so it needs `--macos`, which needs streams), and
    /// its max size is what Mac clients are told: the quota stays the hard stop underneath. A
    /// max size above the quota is refused rather than clamped, so what is stored is what the
    /// admin typed and Time Machine never plans for space the quota would refuse.
    fn check_time_machine(&self) -> Result<()> {
        if self.time_machine && !self.macos {
            bail_field!(
                "time-machine",
                "share '{}': Time Machine is served by vfs_fruit, so --time-machine 1 needs --macos 1",
                self.name
            );
        }
        if self.time_machine && !self.streams {
            bail_field!(
                "streams",
                "share '{}': Time Machine writes its backups' metadata as streams (vfs_fruit with streams_xattr), so --time-machine 1 cannot be combined with --streams 0",
                self.name
            );
        }
        let Some(max) = self.time_machine_max_size else {
            return Ok(());
        };
        if !self.time_machine {
            bail_field!(
                "time-machine-max-size",
                "share '{}': --time-machine-max-size limits Time Machine backups, so it needs --time-machine 1",
                self.name
            );
        }
        if max < size::MIN_QUOTA {
            bail_field!(
                "time-machine-max-size",
                "share '{}': --time-machine-max-size {} is below the minimum of {}",
                self.name,
                size::format_size(max),
                size::format_size(size::MIN_QUOTA)
            );
        }
        if let Some(quota) = self.quota.filter(|q| max > *q) {
            bail_field!(
                "time-machine-max-size",
                "share '{}': --time-machine-max-size {} is above the share's --quota {}; the quota is the hard stop, so Time Machine would plan for space it cannot write (lower the max size or raise the quota)",
                self.name,
                size::format_size_exact(max),
                size::format_size_exact(quota)
            );
        }
        Ok(())
    }

    /// `access based share enum` and `hide unreadable` are properties now; the same parameter
    /// also given through `--option` would be written twice, so one of the two is refused (a
    /// share that has only the option keeps it, as before the properties existed).
    fn check_listing_options(&self) -> Result<()> {
        for (set, property, parameter) in [
            (self.access_based_enum, "access-based-enum", "access based share enum"),
            (self.hide_unreadable, "hide-unreadable", "hide unreadable"),
        ] {
            if set && self.options.contains_key(parameter) {
                bail_field!(
                    "options",
                    "share '{}': option '{parameter}' and --{property} set the same Samba parameter; keep --{property} and remove the option (--option '{parameter}=')",
                    self.name
                );
            }
        }
        Ok(())
    }

    /// A home share gives each of its users a private directory the gateway creates, so it
    /// needs named users or groups (never "everyone", never guests), runs on the node's smbd
    /// (a guest would see the homes through its own id map: not done), and acts as the
    /// connected user (a forced user or group would own every home). A per-home limit is
    /// only for a home share.
    fn check_homes(&self) -> Result<()> {
        let name = &self.name;
        if !self.homes {
            if self.home_quota.is_some() {
                bail_field!(
                    "home-quota",
                    "share '{name}': --home-quota limits each user's home folder, so it needs --homes 1"
                );
            }
            return Ok(());
        }
        if !self.mode.is_native() {
            bail_field!(
                "homes",
                "share '{name}': home shares are served by the node's smbd only (--mode native): the homes are created on the node with the users' ids, which a container or VM maps differently"
            );
        }
        if self.users.is_empty() && self.groups.is_empty() {
            bail_field!(
                "homes",
                "share '{name}': --homes 1 creates a home folder for each of the share's users, so it needs --users or --groups (a share for everyone has no list to create homes from)"
            );
        }
        if let Some(who) = self.domain_principals().next() {
            let field = if self.groups.contains(who) { "groups" } else { "users" };
            bail_field!(
                field,
                "share '{name}': {who:?} is a domain account; home shares create homes for local users and groups only so far"
            );
        }
        if let Some(option) = ["force user", "force group"]
            .into_iter()
            .find(|o| self.options.contains_key(*o))
        {
            bail_field!(
                "options",
                "share '{name}': option '{option}' would make one account own every home folder; a home share acts as the connected user"
            );
        }
        if let Some(limit) = self.home_quota.filter(|l| *l < size::MIN_QUOTA) {
            bail_field!(
                "home-quota",
                "share '{name}': --home-quota {} is below the minimum of {}",
                size::format_size(limit),
                size::format_size(size::MIN_QUOTA)
            );
        }
        Ok(())
    }

    /// Whether the share's properties put a VFS module on its stack (`None`: no property
    /// decides it). The Previous Versions module also depends on the storage backend, which
    /// the renderer asks `smbgw_quota::backend` for.
    pub fn stacks(&self, module: &str) -> Option<bool> {
        crate::vfs::owner(module).map(|property| match property {
            "audit" => self.audit,
            "macos" => self.macos,
            "streams" => self.streams,
            "shadow-copies" => self.shadow_copies,
            "recycle-bin" => self.recycle_bin,
            other => unreachable!("vfs::OWNERS names {other}, which is not a boolean share property"),
        })
    }

    /// A VM share's storage is one virtual disk sized from the quota, formatted inside the VM:
    /// the node's quota backends, datasets and snapshots do not reach it.
    fn check_vm_share(&self) -> Result<()> {
        let name = &self.name;
        if self.quota.is_none() {
            bail_field!(
                "quota",
                "share '{name}': --mode vm needs --quota, the size of the share's data disk"
            );
        }
        if !self.quota_backend.is_auto() || self.zfs_dataset.is_some() || !self.user_quotas.is_empty() {
            bail_field!(
                "quota-backend",
                "share '{name}': --quota-backend, --zfs-dataset and --user-quotas are for shares on the node; --mode vm sizes its own disk from --quota"
            );
        }
        if self.shadow_copies {
            bail_field!("shadow-copies", "share '{name}': --shadow-copies is not available in --mode vm yet (the data disk has no snapshots inside the VM)");
        }
        if self.domain_principals().next().is_some() {
            bail_field!(
                "users",
                "share '{name}': domain users and groups are not available in --mode vm yet; use --mode native"
            );
        }
        Ok(())
    }

    /// Who may connect, in Samba's notation: users, then groups as `@group`; domain names are
    /// quoted (they may hold spaces). Empty: every user. `domain_online: false` (a member whose
    /// domain is unreachable) lets a `fallback-local` share's local accounts in; otherwise a
    /// fallback share serves its domain accounts only.
    pub fn valid_users(&self, domain_online: bool) -> Vec<String> {
        let wanted =
            |name: &&String| !self.fallback_local || validate::principal_domain(name).is_some() || !domain_online;
        let quote = |n: &str| match validate::principal_domain(n) {
            Some(_) => format!("\"{n}\""),
            None => n.to_string(),
        };
        self.users
            .iter()
            .filter(wanted)
            .map(|u| quote(u))
            .chain(self.groups.iter().filter(wanted).map(|g| format!("@{}", quote(g))))
            .collect()
    }

    /// A guest property (`ct-*`, `vm-*`, network) of an lxc or vm share in its text form ("" when unset).
    fn guest_property(&self, key: &str) -> String {
        if let Some(ct) = self.mode.container() {
            return match key {
                "ct-id" => ct.id.map(|i| i.to_string()).unwrap_or_default(),
                "ct-template" => ct.template.clone(),
                "ct-memory" => ct.memory.to_string(),
                "ct-storage" => ct.storage.clone(),
                "bridge" => ct.bridge.clone(),
                "ip" => ct.ip.clone(),
                "gateway" => ct.gateway.clone().unwrap_or_default(),
                _ => unreachable!("not a container property"),
            };
        }
        let Some(vm) = self.mode.vm() else {
            return String::new();
        };
        match key {
            "vm-id" => vm.id.map(|i| i.to_string()).unwrap_or_default(),
            "vm-template" => vm.template.to_string(),
            "vm-memory" => vm.memory.to_string(),
            "vm-cores" => vm.cores.to_string(),
            "vm-storage" => vm.storage.clone(),
            "bridge" => vm.bridge.clone(),
            "ip" => vm.ip.clone(),
            "gateway" => vm.gateway.clone().unwrap_or_default(),
            _ => unreachable!("not a vm property"),
        }
    }

    /// The domain users and groups (`DOMAIN\name`) of the share.
    pub fn domain_principals(&self) -> impl Iterator<Item = &String> {
        self.users
            .iter()
            .chain(&self.groups)
            .filter(|n| validate::principal_domain(n).is_some())
    }

    /// The share as text properties, only those that differ from the default, in schema order.
    pub fn to_properties(&self) -> Vec<(&'static str, String)> {
        let bool_text = |b: bool| if b { "1" } else { "0" }.to_string();
        let mut out = Vec::new();
        for p in SHARE_PROPERTIES {
            let guest = !self.mode.is_native();
            if (self.mode.container().is_none() && CONTAINER_PROPERTIES.contains(&p.name))
                || (self.mode.vm().is_none() && VM_PROPERTIES.contains(&p.name))
                || (!guest && NETWORK_PROPERTIES.contains(&p.name))
            {
                continue;
            }
            let value = match p.name {
                "mode" => self.mode.as_str().to_string(),
                "path" => self.path.clone(),
                "storage" => self.storage.clone().unwrap_or_default(),
                "comment" => self.comment.clone().unwrap_or_default(),
                "read-only" => bool_text(self.read_only),
                "browseable" => bool_text(self.browseable),
                "guest" => bool_text(self.guest),
                "users" => self.users.join(","),
                "groups" => self.groups.join(","),
                "hosts-allow" => self.hosts_allow.join(","),
                "hosts-deny" => self.hosts_deny.join(","),
                "quota" => self.quota.map(size::format_size_exact).unwrap_or_default(),
                "quota-backend" => self.quota_backend.to_string(),
                "zfs-dataset" => self.zfs_dataset.clone().unwrap_or_default(),
                "user-quotas" => self
                    .user_quotas
                    .iter()
                    .map(|(who, bytes)| format!("{who}={}", size::format_size_exact(*bytes)))
                    .collect::<Vec<_>>()
                    .join(","),
                "quota-alerts" => self
                    .quota_alerts
                    .iter()
                    .map(u8::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
                "shadow-copies" => bool_text(self.shadow_copies),
                "recycle-bin" => bool_text(self.recycle_bin),
                "macos" => bool_text(self.macos),
                "streams" => bool_text(self.streams),
                "audit" => bool_text(self.audit),
                "encrypt" => bool_text(self.encrypt),
                "case-sensitive" => self.case_sensitive.clone(),
                "fallback-local" => bool_text(self.fallback_local),
                key if [&CONTAINER_PROPERTIES[..], &VM_PROPERTIES, &NETWORK_PROPERTIES]
                    .concat()
                    .contains(&key) =>
                {
                    self.guest_property(key)
                }
                "options" => options::format(&self.options),
                "time-machine" => bool_text(self.time_machine),
                "time-machine-max-size" => self
                    .time_machine_max_size
                    .map(size::format_size_exact)
                    .unwrap_or_default(),
                "snapshot-schedule" => self
                    .snapshot_schedule
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                "snapshot-keep" => self.snapshot_keep.as_ref().map(ToString::to_string).unwrap_or_default(),
                "backup-storage" => self.backup_storage.clone().unwrap_or_default(),
                "backup-schedule" => self
                    .backup_schedule
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                "backup-keep" => self.backup_keep.as_ref().map(ToString::to_string).unwrap_or_default(),
                "acl-mode" => self.acl_mode.as_str().to_string(),
                "access-based-enum" => bool_text(self.access_based_enum),
                "hide-unreadable" => bool_text(self.hide_unreadable),
                "homes" => bool_text(self.homes),
                "home-quota" => self.home_quota.map(size::format_size_exact).unwrap_or_default(),
                other => unreachable!("property {other} not mapped"),
            };
            let is_default = match p.default {
                Some(d) => d == value,
                None => value.is_empty(),
            };
            if !is_default || p.name == "mode" {
                out.push((p.name, value));
            }
        }
        out
    }

    /// A copy with `changes` applied and the properties in `delete` reset to their defaults.
    pub fn updated(&self, changes: &Properties, delete: &[String]) -> Result<Share> {
        let mut props: Properties = self
            .to_properties()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        for key in delete {
            let Some(p) = schema::property(key) else {
                validate::text("property", key).field("delete")?;
                bail_field!("delete", "cannot delete unknown property '{key}'");
            };
            if p.name == "path" || p.fixed {
                bail_field!("delete", "property '{key}' cannot be deleted");
            }
            if changes.contains_key(key) {
                bail_field!("delete", "property '{key}' is both set and deleted");
            }
            props.remove(key);
        }
        for (key, value) in changes {
            if key == "options" {
                // --option adds or changes single parameters ("KEY=" removes one)
                let merged = options::merge(&self.options, value).field("options")?;
                match merged.is_empty() {
                    true => props.remove(key),
                    false => props.insert(key.clone(), options::format(&merged)),
                };
                continue;
            }
            if let Some(p) = schema::property(key) {
                if p.fixed && props.get(key) != Some(value) {
                    bail_field!(
                        key.as_str(),
                        "property '{key}' cannot be changed after the share is created; delete and re-create the share"
                    );
                }
            }
            props.insert(key.clone(), value.clone());
        }
        Share::from_properties(&self.name, &props)
    }
}

#[cfg(test)]
mod tests;
