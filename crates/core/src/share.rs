//! The share model. A share is built only through `Share::from_properties`, which validates
//! every value, so a `Share` in memory is always valid.

use std::collections::BTreeMap;

use crate::placement::Placement;
use crate::quota_backend::QuotaBackend;
use crate::schema::{self, Kind, SHARE_PROPERTIES};
use crate::{bail_field, bail_input, guest, options, size, validate, Result, ResultExt};

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
    pub audit: bool,
    pub encrypt: bool,
    pub case_sensitive: String,
    /// Local users and groups only while the domain is unreachable (AD members).
    pub fallback_local: bool,
    pub options: BTreeMap<String, String>,
}

/// Properties in their text form, as they come from the CLI, the API or the config file.
pub type Properties = BTreeMap<String, String>;

impl Share {
    /// Previous Versions from the share's ZFS dataset (its `.zfs/snapshot`).
    pub fn serves_zfs_snapshots(&self) -> bool {
        self.shadow_copies && self.quota_backend == QuotaBackend::Zfs
    }

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
                    "share '{name}' needs a path: give --path with the absolute directory to share"
                )
            }
        };
        validate::path_syntax(path)?;
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
        let share = Share {
            name: name.to_string(),
            mode: placement,
            path: path.to_string(),
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
            audit: flag("audit")?,
            encrypt: flag("encrypt")?,
            case_sensitive: choice("case-sensitive")?,
            fallback_local: flag("fallback-local")?,
            options: options::parse(get("options").unwrap_or("")).field("options")?,
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
        if !self.mode.has_node_directory() {
            self.check_vm_share()?;
        }
        Ok(())
    }

    /// `hosts allow` and `hosts deny` together, as smbd reads them (checked against smbd 4.17):
    /// a client `hosts allow` matches is let in, whatever `hosts deny` says; else one `hosts
    /// deny` matches is refused; any other client is let in. So with both lists, a denied entry
    /// inside an allowed one has no effect, and an allowed entry outside every denied one
    /// changes nothing: the hosts it does not name get in too. Both are refused; the entries
    /// are normalised already, so `10.0.0.0/08` meets `10.0.0.0/8` here.
    fn check_hosts(&self) -> Result<()> {
        if self.hosts_allow.is_empty() || self.hosts_deny.is_empty() {
            return Ok(());
        }
        let name = &self.name;
        let nets = |list: &[String]| -> Result<Vec<(validate::HostNet, String)>> {
            list.iter()
                .map(|h| Ok((validate::host_network(h)?, h.clone())))
                .collect()
        };
        let (allowed, denied) = (nets(&self.hosts_allow)?, nets(&self.hosts_deny)?);
        for (deny, deny_text) in &denied {
            let Some((_, allow_text)) = allowed.iter().find(|(a, _)| a.contains(deny)) else {
                continue;
            };
            if allow_text == deny_text {
                bail_field!(
                    "hosts-deny",
                    "share '{name}': host {deny_text:?} is both allowed and denied; remove it from one of --hosts-allow and --hosts-deny"
                );
            }
            bail_field!(
                "hosts-deny",
                "share '{name}': --hosts-deny {deny_text} lies inside --hosts-allow {allow_text}, and smbd lets in every host hosts allow matches, so the deny entry would have no effect; leave {allow_text} out of --hosts-allow or list the allowed hosts one by one"
            );
        }
        if let Some((_, allow_text)) = allowed.iter().find(|(a, _)| !denied.iter().any(|(d, _)| d.contains(a))) {
            bail_field!(
                "hosts-allow",
                "share '{name}': --hosts-allow {allow_text} lies outside every --hosts-deny entry; once hosts deny is set, smbd lets in every host it does not deny, so {allow_text} would be let in anyway and so would every other host. To let in only the allowed hosts, add 0.0.0.0/0,::/0 to --hosts-deny (or leave --hosts-deny out)"
            );
        }
        Ok(())
    }

    /// What is wrong with the share's host entries (a stored config from an earlier version):
    /// each entry smbd would not match as meant, and allow/deny combinations it would not honour.
    pub fn host_problems(&self) -> Vec<String> {
        let mut problems: Vec<String> = self
            .hosts_allow
            .iter()
            .chain(&self.hosts_deny)
            .filter_map(|h| validate::host_network(h).err())
            .map(|e| e.message)
            .collect();
        if problems.is_empty() {
            problems.extend(self.check_hosts().err().map(|e| e.message));
        }
        problems
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

/// Host entries of a stored config that today's checks refuse, kept verbatim when they are
/// safe in smb.conf (one word of address or name characters): what earlier versions accepted.
fn legacy_hosts(key: &str, value: &str) -> Result<Vec<String>> {
    let items = validate::list(key, value)?;
    match items.iter().find(|h| {
        !h.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '/' | '-'))
    }) {
        Some(bad) => {
            validate::host_network(bad)?;
            bail_input!("{key} entry {bad:?} is not valid")
        }
        None => Ok(items.into_iter().map(String::from).collect()),
    }
}

/// What is wrong when `share` and `other` serve one directory tree (the same directory, or one
/// inside the other), or `None`. Each share's ACL and quota would act on the other's data: an
/// ACL change locks the other share's users out, two quotas on one subvolume overwrite each
/// other at every apply. A VM share keeps its data on the VM's own disk: never a conflict.
pub fn path_conflict(share: &Share, other: &Share) -> Option<String> {
    if !share.mode.has_node_directory()
        || !other.mode.has_node_directory()
        || share.name.eq_ignore_ascii_case(&other.name)
    {
        return None;
    }
    let (mine, theirs) = (share.path.as_str(), other.path.as_str());
    if mine == theirs {
        Some(format!("{mine} is also the directory of share '{}'", other.name))
    } else if validate::path_within(mine, theirs) {
        Some(format!(
            "{mine} lies inside {theirs}, the directory of share '{}'",
            other.name
        ))
    } else if validate::path_within(theirs, mine) {
        Some(format!(
            "{mine} contains {theirs}, the directory of share '{}'",
            other.name
        ))
    } else {
        None
    }
}

/// Refuse `share` if its directory tree meets another share's. Shares on one tree are refused
/// outright, even read-only ones: a nested share's ACL entries would still reach into the
/// outer share's data.
pub fn check_paths_apart<'a>(share: &Share, others: impl IntoIterator<Item = &'a Share>) -> Result<()> {
    for other in others {
        if let Some(conflict) = path_conflict(share, other) {
            bail_field!(
                "path",
                "share '{}': path {conflict}; two shares on one directory tree overwrite each other's ACLs and storage limits. Give a directory outside {}, or reach that data through share '{}'",
                share.name,
                other.path,
                other.name
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Properties {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn fallback_local_users_only_while_the_domain_is_down() {
        let p = props(&[
            ("path", "/srv/t"),
            ("users", "EXAMPLE\\carol,bob"),
            ("groups", "EXAMPLE\\Domain Users,staff"),
            ("fallback-local", "1"),
        ]);
        let share = Share::from_properties("t", &p).unwrap();
        assert_eq!(
            share.valid_users(true),
            ["\"EXAMPLE\\carol\"", "@\"EXAMPLE\\Domain Users\""]
        );
        assert_eq!(
            share.valid_users(false),
            ["\"EXAMPLE\\carol\"", "bob", "@\"EXAMPLE\\Domain Users\"", "@staff"]
        );
        // without the flag local accounts always count
        let mut p2 = p.clone();
        p2.remove("fallback-local");
        assert_eq!(Share::from_properties("t", &p2).unwrap().valid_users(true).len(), 4);
        // a fallback needs something to fall back from
        let only_local = props(&[("path", "/srv/t"), ("users", "bob"), ("fallback-local", "1")]);
        let err = Share::from_properties("t", &only_local).unwrap_err();
        assert!(
            err.message.contains("at least one domain user or group"),
            "{}",
            err.message
        );
    }

    /// Every refused value names the parameter it belongs to, as the API and the UI spell it.
    #[test]
    fn errors_name_their_field() {
        let field = |pairs: &[(&str, &str)]| {
            let err = Share::from_properties("x", &props(pairs)).unwrap_err();
            assert_eq!(err.kind, crate::ErrorKind::Input, "{}", err.message);
            err.field.unwrap_or_else(|| panic!("no field: {}", err.message))
        };
        for (pairs, expected) in [
            (&[("path", "/srv/x"), ("quota", "512K")][..], "quota"),
            (&[("path", "/srv/x"), ("quota", "lots")], "quota"),
            (&[("mode", "lxc"), ("path", "/srv/x"), ("ct-id", "abc")], "ct-id"),
            (&[("mode", "lxc"), ("path", "/srv/x"), ("ct-memory", "1")], "ct-memory"),
            (&[("path", "/srv/x"), ("users", "Bad User")], "users"),
            (&[("path", "/srv/x"), ("users", "a,a")], "users"),
            (&[("path", "/srv/x"), ("guest", "1"), ("users", "a")], "guest"),
            (&[("path", "srv/x")], "path"),
            (&[("path", "/etc/x")], "path"),
            (&[], "path"),
            (&[("path", "/srv/x"), ("hosts-allow", "10.0.0.0/33")], "hosts-allow"),
            (&[("path", "/srv/x"), ("read-only", "maybe")], "read-only"),
            (&[("path", "/srv/x"), ("wide-links", "1")], "wide-links"),
            (&[("path", "/srv/x"), ("ct-id", "100")], "ct-id"),
            (&[("path", "/srv/x"), ("user-quotas", "alice")], "user-quotas"),
        ] {
            assert_eq!(field(pairs), expected, "{pairs:?}");
        }
        let err = Share::from_properties("bad/name", &props(&[("path", "/srv/x")])).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("name"));
        let share = Share::from_properties("x", &props(&[("path", "/srv/x")])).unwrap();
        let err = share.updated(&Properties::new(), &["path".to_string()]).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("delete"));
    }

    #[test]
    fn round_trip() {
        let p = props(&[
            ("path", "/srv/data"),
            ("users", "alice,bob"),
            ("quota", "10G"),
            ("recycle-bin", "yes"),
            ("options", "create mask=0660"),
            ("comment", "Team"),
        ]);
        let share = Share::from_properties("data", &p).unwrap();
        assert_eq!(share.quota, Some(10 << 30));
        assert!(share.recycle_bin);
        let back: Properties = share
            .to_properties()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        assert_eq!(Share::from_properties("data", &back).unwrap(), share);
        assert_eq!(back.get("recycle-bin").map(String::as_str), Some("1"));
        assert!(!back.contains_key("browseable"), "defaults are not stored");
    }

    #[test]
    fn unknown_and_inconsistent() {
        assert!(Share::from_properties("x", &props(&[("path", "/srv/x"), ("wide-links", "1")])).is_err());
        assert!(Share::from_properties("x", &props(&[])).is_err());
        assert!(Share::from_properties("x", &props(&[("path", "/srv/x"), ("guest", "1"), ("users", "a")])).is_err());
        assert!(Share::from_properties("x", &props(&[("path", "/srv/x"), ("quota", "512K")])).is_err());
        assert!(Share::from_properties("x", &props(&[("path", "/srv/x"), ("users", "a,a")])).is_err());
        for bad in [
            "alice",
            "alice=",
            "alice=10",
            "Alice=1G",
            "@=1G",
            "alice=1G,alice=2G",
            "alice=1G\nx=1G",
        ] {
            let p = props(&[("path", "/srv/x"), ("user-quotas", bad)]);
            assert!(Share::from_properties("x", &p).is_err(), "{bad:?} accepted");
        }
        let p = props(&[("path", "/srv/x"), ("user-quotas", "alice=1G,@staff=10G")]);
        let share = Share::from_properties("x", &p).unwrap();
        let expected: BTreeMap<String, u64> = [("alice".to_string(), 1 << 30), ("@staff".to_string(), 10 << 30)].into();
        assert_eq!(share.user_quotas, expected);
    }

    #[test]
    fn same_and_nested_paths_conflict() {
        let at = |name: &str, path: &str| Share::from_properties(name, &props(&[("path", path)])).unwrap();
        let data = at("data", "/srv/data");
        for (path, says) in [
            ("/srv/data", "is also the directory of share 'data'"),
            ("/srv/data/sub", "lies inside /srv/data"),
            ("/srv/data/a/b", "lies inside /srv/data"),
            ("/srv", "contains /srv/data"),
        ] {
            let err = check_paths_apart(&at("new", path), [&data]).unwrap_err();
            assert!(err.message.contains(says), "{path}: {}", err.message);
            assert!(err.message.contains("Give a directory outside"), "{}", err.message);
            assert_eq!(err.kind, crate::ErrorKind::Input);
        }
        for path in ["/srv/data2", "/srv/dat", "/srv/other/data", "/mnt/srv/data"] {
            check_paths_apart(&at("new", path), [&data]).unwrap_or_else(|e| panic!("{path}: {e}"));
        }
        // a share does not conflict with itself (update), whatever the case of its name
        check_paths_apart(&at("DATA", "/srv/data"), [&data]).unwrap();
        // a VM share's data is on the VM's disk
        let vm = props(&[("mode", "vm"), ("quota", "10G")]);
        let vm = Share::from_properties("v", &vm).unwrap();
        assert!(path_conflict(&at("new", guest::SHARE_MOUNT), &vm).is_none());
        assert!(path_conflict(&vm, &at("new", "/srv")).is_none());
    }

    #[test]
    fn hosts_allowed_and_denied() {
        let share = |allow: &str, deny: &str| {
            Share::from_properties(
                "x",
                &props(&[("path", "/srv/x"), ("hosts-allow", allow), ("hosts-deny", deny)]),
            )
        };
        // stored normalised, so Samba reads what the admin meant
        let s = share("10.0.0.0/08,FD00::/064", "0.0.0.0/0.0.0.0,::/0000").unwrap_err();
        assert!(s.message.contains("prefix length"), "{}", s.message);
        let s = share("10.0.0.0/08,FD00::/064", "0.0.0.0/0.0.0.0,::/000").unwrap();
        assert_eq!(s.hosts_allow, ["10.0.0.0/8", "fd00::/64"]);
        assert_eq!(s.hosts_deny, ["0.0.0.0/0", "::/0"]);
        // either list alone has its plain meaning
        let only = |key: &str, value: &str| Share::from_properties("x", &props(&[("path", "/srv/x"), (key, value)]));
        assert_eq!(only("hosts-allow", "10.1.").unwrap().hosts_allow, ["10.1.0.0/16"]);
        assert_eq!(only("hosts-deny", "192.0.2.66").unwrap().hosts_deny, ["192.0.2.66"]);
        // a denied network holding allowed hosts: the allowed ones are the exceptions
        share("10.0.0.5", "10.0.0.0/8").unwrap();
        share("10.0.0.0/8", "0.0.0.0/0,::/0").unwrap();
        for (allow, deny, says) in [
            ("10.0.0.1", "10.0.0.1", "both allowed and denied"),
            ("10.0.0.1", "10.0.0.1/32", "both allowed and denied"),
            ("10.0.0.0/08", "10.0.0.0/8", "both allowed and denied"),
            ("fd00::1", "FD00:0::1", "both allowed and denied"),
            ("10.0.0.0/8", "10.1.2.3", "no effect"),
            ("10.", "10.1.", "no effect"),
            ("0.0.0.0/0", "192.168.1.7", "no effect"),
            // an unrelated deny list opens the share to every host it does not name
            ("10.0.0.0/8", "192.0.2.66", "every other host"),
            ("10.0.0.0/8,fd00::/64", "0.0.0.0/0", "outside every --hosts-deny entry"),
        ] {
            let err = share(allow, deny).unwrap_err();
            assert!(err.message.contains(says), "{allow} / {deny}: {}", err.message);
        }
    }

    #[test]
    fn stored_host_entries_of_earlier_versions_still_load() {
        let p = props(&[
            ("path", "/srv/x"),
            ("hosts-allow", "10.0.0.0/8,nas.example.com"),
            ("hosts-deny", "10.0.0.66"),
        ]);
        assert!(Share::from_properties("x", &p).is_err());
        let share = Share::from_stored("x", &p).unwrap();
        assert_eq!(share.hosts_allow, ["10.0.0.0/8", "nas.example.com"]);
        let problems = share.host_problems();
        assert!(
            problems.len() == 1 && problems[0].contains("hostname lookups = no"),
            "{problems:?}"
        );
        // once the names are gone the combination is named
        let share = share
            .updated(&props(&[("hosts-allow", "10.0.0.0/8")]), &[])
            .unwrap_err();
        assert!(share.message.contains("no effect"), "{}", share.message);
        let ok = Share::from_stored("x", &props(&[("path", "/srv/x"), ("hosts-deny", "10.0.0.0/08")])).unwrap();
        assert_eq!(ok.hosts_deny, ["10.0.0.0/8"]);
        assert!(ok.host_problems().is_empty());
        // what was never accepted is not accepted now either
        let bad = props(&[("path", "/srv/x"), ("hosts-deny", "a b")]);
        assert!(Share::from_stored("x", &bad).is_err());
    }

    #[test]
    fn update_and_delete() {
        let share = Share::from_properties("x", &props(&[("path", "/srv/x"), ("quota", "1G")])).unwrap();
        let up = share
            .updated(&props(&[("read-only", "1")]), &["quota".to_string()])
            .unwrap();
        assert!(up.read_only);
        assert_eq!(up.quota, None);
        assert!(share.updated(&props(&[("mode", "vm")]), &[]).is_err());
        assert!(share.updated(&props(&[]), &["path".to_string()]).is_err());
    }

    #[test]
    fn json_keeps_the_keys_front_ends_read() {
        let lxc = props(&[("mode", "lxc"), ("path", "/srv/l"), ("ct-id", "950"), ("quota", "1G")]);
        let text = serde_json::to_string(&Share::from_properties("l", &lxc).unwrap()).unwrap();
        assert!(
            text.starts_with(r#"{"name":"l","mode":"lxc","path":"/srv/l","#),
            "{text}"
        );
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["mode"], "lxc");
        assert_eq!(json["container"]["id"], 950);
        assert_eq!(json["container"]["memory"], 512);
        assert_eq!(json["quota-backend"], "auto");
        assert!(json.get("vm").is_none() && json.get("zfs-dataset").is_none());
        let vm = props(&[("mode", "vm"), ("quota", "10G"), ("vm-id", "960")]);
        let json = serde_json::to_value(Share::from_properties("v", &vm).unwrap()).unwrap();
        assert_eq!(
            (json["mode"].as_str(), json["vm"]["template"].as_u64()),
            (Some("vm"), Some(9000))
        );
        assert!(json.get("container").is_none());
        let native = serde_json::to_value(Share::from_properties("n", &props(&[("path", "/srv/n")])).unwrap()).unwrap();
        assert_eq!(native["mode"], "native");
        assert!(native.get("container").is_none() && native.get("vm").is_none());
    }

    #[test]
    fn vm_share() {
        let p = props(&[
            ("mode", "vm"),
            ("quota", "10G"),
            ("vm-id", "960"),
            ("ip", "10.0.0.5/24"),
        ]);
        let share = Share::from_properties("v", &p).unwrap();
        let vm = share.mode.vm().cloned().unwrap();
        assert_eq!((vm.id, vm.template, vm.memory, vm.cores), (Some(960), 9000, 1024, 1));
        assert_eq!(share.path, guest::SHARE_MOUNT);
        assert!(share.mode.container().is_none());
        // round trip through the stored form
        let back: Properties = share
            .to_properties()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        assert_eq!(Share::from_properties("v", &back).unwrap(), share);
        assert_eq!(back.get("vm-id").map(String::as_str), Some("960"));
        // foreign properties, a node path, no quota, node storage features
        for (key, value) in [
            ("ct-memory", "512"),
            ("path", "/srv/v"),
            ("quota-backend", "zfs"),
            ("shadow-copies", "1"),
            ("users", "EXAMPLE\\carol"),
            ("vm-cores", "0"),
            ("vm-template", "99"),
        ] {
            let mut bad = p.clone();
            bad.insert(key.into(), value.into());
            assert!(Share::from_properties("v", &bad).is_err(), "{key}={value} accepted");
        }
        let mut no_quota = p.clone();
        no_quota.remove("quota");
        assert!(Share::from_properties("v", &no_quota).is_err());
        // vm-* and the network only with their modes
        let native = props(&[("path", "/srv/x"), ("vm-memory", "1024")]);
        let err = Share::from_properties("x", &native).unwrap_err();
        assert!(err.message.contains("--mode vm"), "{}", err.message);
        let native = props(&[("path", "/srv/x"), ("bridge", "vmbr1")]);
        assert!(Share::from_properties("x", &native).is_err());
        let lxc = props(&[("mode", "lxc"), ("path", "/srv/x"), ("vm-cores", "2")]);
        assert!(Share::from_properties("x", &lxc).is_err());
        // memory and cores may grow; where the VM comes from may not change
        let bigger = share
            .updated(&props(&[("vm-memory", "2048"), ("vm-cores", "2")]), &[])
            .unwrap();
        assert_eq!(bigger.mode.vm().map(|v| (v.memory, v.cores)), Some((2048, 2)));
        assert!(share.updated(&props(&[("vm-template", "9001")]), &[]).is_err());
    }
}
