//! The share properties, defined once. The config store, the CLI (arguments, help, completion,
//! man page), the Perl API (PVE::JSONSchema) and the UI are all generated from this table.

use serde_json::{json, Value};

use crate::options;
use crate::validate::{MAX_PATH, MAX_SHARE_NAME, MAX_TEXT};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Bool,
    Text,
    Path,
    Size,
    /// One of fixed words.
    Enum(&'static [&'static str]),
    /// Comma separated local user names.
    Users,
    /// Comma separated local group names.
    Groups,
    /// Comma separated hosts or networks.
    Hosts,
    /// Allow-listed extra Samba parameters, `key=value` comma separated.
    Options,
    /// A ZFS dataset name such as `tank/shares/data`.
    Dataset,
    /// Comma separated percentages, e.g. `80,90,95`.
    Percents,
    /// Comma separated `user=SIZE` / `@group=SIZE`.
    UserQuotas,
    /// A whole number in a range.
    Integer {
        min: u32,
        max: u32,
    },
    /// One word checked by the named format (`check_format`).
    Word(&'static str),
}

#[derive(Debug)]
pub struct Property {
    pub name: &'static str,
    pub kind: Kind,
    pub description: &'static str,
    /// Default in its stored text form; `None` means unset.
    pub default: Option<&'static str>,
    /// Can only be given on create.
    pub fixed: bool,
}

const fn prop(name: &'static str, kind: Kind, description: &'static str, default: Option<&'static str>) -> Property {
    Property {
        name,
        kind,
        description,
        default,
        fixed: false,
    }
}

/// A property that can only be given on create.
const fn fixed(name: &'static str, kind: Kind, description: &'static str, default: Option<&'static str>) -> Property {
    Property {
        name,
        kind,
        description,
        default,
        fixed: true,
    }
}

pub const MODES: &[&str] = &["native", "lxc", "vm"];
pub const CASE_SENSITIVITY: &[&str] = &["auto", "yes", "no"];
pub const QUOTA_BACKENDS: &[&str] = &["auto", "btrfs", "zfs", "project"];

pub const SHARE_PROPERTIES: &[Property] = &[
    Property { name: "mode", kind: Kind::Enum(MODES), description: "Where Samba serves the share: on the host (native), in a managed container (lxc) or in a dedicated VM (vm).", default: Some("native"), fixed: true },
    prop("path", Kind::Path, "Absolute path of the shared directory on the node; created if missing.", None),
    prop("comment", Kind::Text, "Description shown to SMB clients.", None),
    prop("read-only", Kind::Bool, "Refuse all writes.", Some("0")),
    prop("browseable", Kind::Bool, "List the share when clients browse the server.", Some("1")),
    prop("guest", Kind::Bool, "Allow access without a password (as the guest account).", Some("0")),
    prop(
        "users",
        Kind::Users,
        "Users allowed to connect (comma separated): local users, or domain users as DOMAIN\\name once the node is joined to Active Directory. Empty: every user.",
        None,
    ),
    prop(
        "groups",
        Kind::Groups,
        "Groups whose members may connect (comma separated): local groups, or domain groups as DOMAIN\\name.",
        None,
    ),
    prop("hosts-allow", Kind::Hosts, "Only these hosts or networks may connect (comma separated).", None),
    prop("hosts-deny", Kind::Hosts, "These hosts or networks may not connect (comma separated).", None),
    prop("quota", Kind::Size, "Maximum size of the share, e.g. 500M, 10G, 1.5T (binary units).", None),
    Property {
        name: "quota-backend",
        kind: Kind::Enum(QUOTA_BACKENDS),
        description: "How the quota is enforced: btrfs subvolume qgroup, ZFS dataset refquota or ext4/XFS project quota; auto detects it from the filesystem.",
        default: Some("auto"),
        fixed: true,
    },
    Property {
        name: "zfs-dataset",
        kind: Kind::Dataset,
        description: "ZFS dataset of the share (created, mounted at the path); default: a child of the dataset mounted at the path's parent.",
        default: None,
        fixed: true,
    },
    prop(
        "user-quotas",
        Kind::UserQuotas,
        "Per-user and per-group limits inside the share (ZFS userquota/groupquota), e.g. alice=10G,@staff=100G.",
        None,
    ),
    prop("quota-alerts", Kind::Percents, "Usage percentages that raise an alert when crossed.", Some("80,90,95")),
    prop("shadow-copies", Kind::Bool, "Offer filesystem snapshots as Windows 'Previous Versions'.", Some("0")),
    prop("recycle-bin", Kind::Bool, "Move deleted files to a .recycle folder instead of deleting them.", Some("0")),
    prop("macos", Kind::Bool, "Tune the share for macOS clients (vfs_fruit, Time Machine friendly).", Some("0")),
    prop("audit", Kind::Bool, "Log every file operation to syslog (vfs_full_audit).", Some("0")),
    prop("encrypt", Kind::Bool, "Require SMB3 encryption for this share.", Some("0")),
    prop("case-sensitive", Kind::Enum(CASE_SENSITIVITY), "Case sensitivity of file names.", Some("auto")),
    fixed("ct-id", Kind::Integer { min: 100, max: 999_999_999 }, "Mode lxc: id of the container (default: the next free id).", None),
    fixed("ct-template", Kind::Word("smbgw-ct-template"), "Mode lxc: container template (volume id).", Some(crate::guest::DEFAULT_TEMPLATE)),
    prop("ct-memory", Kind::Integer { min: 128, max: 65536 }, "Mode lxc: memory of the container in MiB.", Some("512")),
    fixed("ct-storage", Kind::Word("smbgw-storage"), "Mode lxc: PVE storage for the container's root disk.", Some("local-lvm")),
    fixed("vm-id", Kind::Integer { min: 100, max: 999_999_999 }, "Mode vm: VMID of the share's VM (default: the next free id).", None),
    fixed("vm-template", Kind::Integer { min: 100, max: 999_999_999 }, "Mode vm: VMID of the template VM the share's VM is cloned from (scripts/create_vm_template.sh).", Some(crate::guest::DEFAULT_VM_TEMPLATE)),
    prop("vm-memory", Kind::Integer { min: 512, max: 262_144 }, "Mode vm: memory of the VM in MiB.", Some("1024")),
    prop("vm-cores", Kind::Integer { min: 1, max: 128 }, "Mode vm: CPU cores of the VM.", Some("1")),
    fixed("vm-storage", Kind::Word("smbgw-storage"), "Mode vm: PVE storage for the VM's disks (system disk and the share's data disk).", Some("local-lvm")),
    fixed("bridge", Kind::Word("smbgw-bridge"), "Modes lxc and vm: bridge the guest's network interface joins.", Some("vmbr0")),
    fixed("ip", Kind::Word("smbgw-ip"), "Modes lxc and vm: the guest's IPv4 address with prefix (e.g. 192.168.1.50/24), or dhcp.", Some("dhcp")),
    fixed("gateway", Kind::Word("smbgw-gateway"), "Modes lxc and vm: IPv4 default gateway of the guest.", None),
    prop(
        "fallback-local",
        Kind::Bool,
        "On a domain member: the share's local users and groups are a fallback, let in only while the domain is unreachable.",
        Some("0"),
    ),
    prop("options", Kind::Options, "Extra Samba parameters from an allow list, as KEY=VALUE (comma separated).", None),
];

pub fn property(name: &str) -> Option<&'static Property> {
    SHARE_PROPERTIES.iter().find(|p| p.name == name)
}

/// The formats the exported schema names; the Perl side registers each with PVE::JSONSchema and
/// checks values through `check_format`, so the API validates exactly like the CLI. (No name
/// ends in "-list": PVE::JSONSchema would split such values itself and check each item.)
pub const FORMATS: &[&str] = &[
    "smbgw-share-name",
    "smbgw-users",
    "smbgw-groups",
    "smbgw-hosts",
    "smbgw-options",
    "smbgw-zfs-dataset",
    "smbgw-percents",
    "smbgw-user-quotas",
    "smbgw-ct-template",
    "smbgw-storage",
    "smbgw-bridge",
    "smbgw-ip",
    "smbgw-gateway",
];

/// Check `value` against one of `FORMATS`.
pub fn check_format(format: &str, value: &str) -> crate::Result<()> {
    use crate::validate;
    match format {
        "smbgw-share-name" => validate::share_name(value),
        "smbgw-users" => validate::list("users", value)?
            .iter()
            .try_for_each(|u| validate::principal("user name", u)),
        "smbgw-groups" => validate::list("groups", value)?
            .iter()
            .try_for_each(|g| validate::principal("group name", g)),
        "smbgw-hosts" => validate::list("hosts", value)?
            .iter()
            .try_for_each(|h| validate::host_entry(h)),
        "smbgw-options" => options::parse(value).map(|_| ()),
        "smbgw-zfs-dataset" => validate::zfs_dataset(value),
        "smbgw-percents" => validate::percents("quota-alerts", value).map(|_| ()),
        "smbgw-user-quotas" => {
            let props = [
                ("path".to_string(), "/srv/x".to_string()),
                ("user-quotas".to_string(), value.to_string()),
            ]
            .into();
            crate::Share::from_properties("x", &props).map(|_| ())
        }
        "smbgw-ct-template" => crate::guest::check_template(value),
        "smbgw-storage" => crate::guest::check_storage(value),
        "smbgw-bridge" => crate::guest::check_bridge(value),
        "smbgw-ip" => crate::guest::check_ip(value),
        "smbgw-gateway" => crate::guest::check_gateway(value),
        other => Err(crate::Error::input(format!("unknown format '{other}'"))),
    }
}

/// The share properties in PVE::JSONSchema form, plus the `name` key, for the Perl API.
pub fn pve_json_schema() -> Value {
    let mut props = serde_json::Map::new();
    props.insert(
        "name".into(),
        json!({ "type": "string", "description": "Share name.", "maxLength": MAX_SHARE_NAME, "format": "smbgw-share-name" }),
    );
    for p in SHARE_PROPERTIES {
        let mut entry = match p.kind {
            Kind::Bool => json!({ "type": "boolean" }),
            Kind::Text => json!({ "type": "string", "maxLength": MAX_TEXT }),
            Kind::Path => json!({ "type": "string", "maxLength": MAX_PATH }),
            Kind::Size => json!({ "type": "string", "pattern": r"\d+(\.\d+)?\s?[KMGTPkmgtp]([iI]?[bB])?" }),
            Kind::Enum(values) => json!({ "type": "string", "enum": values }),
            Kind::Users => json!({ "type": "string", "format": "smbgw-users" }),
            Kind::Groups => json!({ "type": "string", "format": "smbgw-groups" }),
            Kind::Hosts => json!({ "type": "string", "format": "smbgw-hosts" }),
            Kind::Dataset => json!({ "type": "string", "format": "smbgw-zfs-dataset", "maxLength": 255 }),
            Kind::Percents => json!({ "type": "string", "format": "smbgw-percents" }),
            Kind::UserQuotas => json!({ "type": "string", "format": "smbgw-user-quotas" }),
            Kind::Options => json!({ "type": "string", "format": "smbgw-options" }),
            Kind::Integer { min, max } => json!({ "type": "integer", "minimum": min, "maximum": max }),
            Kind::Word(format) => json!({ "type": "string", "format": format, "maxLength": 256 }),
        };
        entry["description"] = match p.kind {
            Kind::Options => format!(
                "{} Allowed: {}.",
                p.description,
                options::ALLOWED
                    .iter()
                    .map(|(n, _, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
            .into(),
            _ => p.description.into(),
        };
        entry["optional"] = 1.into();
        if let Some(default) = p.default {
            entry["default"] = match p.kind {
                Kind::Bool => (default == "1").into(),
                Kind::Integer { .. } => default.parse::<u64>().expect("integer default").into(),
                _ => default.into(),
            };
        }
        props.insert(p.name.into(), entry);
    }
    json!({ "type": "object", "additionalProperties": 0, "properties": props })
}
