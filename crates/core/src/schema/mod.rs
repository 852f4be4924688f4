//! Every parameter of every operation, defined once: the share properties (`share.rs`, the
//! guest sizing among them), Active Directory (`ad.rs`), high availability (`ha.rs`), Samba
//! users (`user.rs`), the sessions of smbd (`sessions.rs`), share snapshots (`snapshot.rs`), their backups to PBS (`backup.rs`) and how far back the histories
//! look (`history.rs`). The config store, the CLI
//! (arguments, help, completion, man page), the Perl API (PVE::JSONSchema, through the bridge)
//! and the UI (`GET .../smbgateway/schema`) are all generated from these tables, and checks
//! read their limits from them (`guest.rs`).

mod ad;
mod backup;
mod discovery;
mod ha;
mod history;
mod sessions;
mod share;
mod snapshot;
mod user;

use serde_json::{json, Map, Value};

use crate::options;
use crate::validate::{MAX_PATH, MAX_SHARE_NAME, MAX_TEXT};

pub use ad::{AD_JOIN, AD_LEAVE, AD_TEST, DEFAULT_ADMIN};
pub use backup::BACKUP;
pub use discovery::DISCOVERY;
pub use ha::{DEFAULT_LOCK, HA_FAILOVER, HA_NODE, HA_SETUP};
pub use history::{IO_HISTORY, MAX_DAYS, MAX_HOURS, QUOTA_HISTORY};
pub use sessions::SESSIONS;
pub use share::{property, CASE_SENSITIVITY, GUEST_PROPERTIES, MODES, QUOTA_BACKENDS, SHARE_PROPERTIES};
pub use snapshot::SNAPSHOT;
pub use user::USER;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Bool,
    /// A switch: given or not (`--no-lock`); a boolean in the API.
    Flag,
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
    /// A string of at most `max_length` characters, checked by `format` (one of `FORMATS`, or a
    /// PVE::JSONSchema format such as `dns-name`) when there is one.
    Str {
        format: Option<&'static str>,
        max_length: Option<u32>,
    },
    /// Comma separated `NAME=VALUE` settings; on the command line one per repeated option.
    Settings,
    /// A password: never on a command line (read from stdin or a prompt there).
    Secret,
}

/// How the command line spells a parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cli {
    /// `--NAME VALUE`, the value named after the kind.
    Auto,
    /// `--NAME VALUE-NAME`.
    Long(&'static str),
    /// `--LONG VALUE-NAME`: the command line's own spelling.
    Renamed(&'static str, &'static str),
    /// A positional argument, named VALUE-NAME.
    Positional(&'static str),
    /// Not an argument (`Kind::Secret`).
    Hidden,
}

#[derive(Debug)]
pub struct Property {
    pub name: &'static str,
    pub kind: Kind,
    pub description: &'static str,
    /// Default in its stored text form; `None` means unset.
    pub default: Option<&'static str>,
    /// Can only be given on create (share properties).
    pub fixed: bool,
    /// Must be given (operation parameters; the share model checks its own).
    pub required: bool,
    pub cli: Cli,
}

/// An optional property that can be changed later.
const fn prop(name: &'static str, kind: Kind, description: &'static str, default: Option<&'static str>) -> Property {
    Property {
        name,
        kind,
        description,
        default,
        fixed: false,
        required: false,
        cli: Cli::Auto,
    }
}

/// A property that can only be given on create.
const fn fixed(name: &'static str, kind: Kind, description: &'static str, default: Option<&'static str>) -> Property {
    Property {
        fixed: true,
        ..prop(name, kind, description, default)
    }
}

/// An operation parameter: `cli` says how the command line takes it.
const fn param(name: &'static str, kind: Kind, cli: Cli, description: &'static str) -> Property {
    Property {
        cli,
        ..prop(name, kind, description, None)
    }
}

/// A parameter that must be given.
const fn required(p: Property) -> Property {
    Property { required: true, ..p }
}

/// A parameter with a default.
const fn defaults(p: Property, default: &'static str) -> Property {
    Property {
        default: Some(default),
        ..p
    }
}

/// A string parameter of at most `max` characters.
const fn text(max: u32) -> Kind {
    Kind::Str {
        format: None,
        max_length: Some(max),
    }
}

/// A string parameter checked by `format`.
const fn formatted(format: &'static str, max_length: Option<u32>) -> Kind {
    Kind::Str {
        format: Some(format),
        max_length,
    }
}

/// The parameters of each operation, by the name the API's schema endpoint gives them. `guest`
/// is the part of `share` that sizes and places a share's container or VM.
pub const OPERATIONS: &[(&str, &[Property])] = &[
    ("ad-join", AD_JOIN),
    ("ad-test", AD_TEST),
    ("ad-leave", AD_LEAVE),
    ("ha-setup", HA_SETUP),
    ("ha-failover", HA_FAILOVER),
    ("ha-node", HA_NODE),
    ("user", USER),
    ("sessions", SESSIONS),
    ("snapshot", SNAPSHOT),
    ("backup", BACKUP),
    ("discovery", DISCOVERY),
    ("io-history", IO_HISTORY),
    ("quota-history", QUOTA_HISTORY),
];

/// The range of an integer share property: what `guest.rs` checks against.
pub fn bounds(name: &str) -> (u32, u32) {
    match property(name).map(|p| p.kind) {
        Some(Kind::Integer { min, max }) => (min, max),
        _ => panic!("share property '{name}' is not an integer"),
    }
}

/// The default of an integer operation parameter, for callers that fill it in themselves (the
/// bridge).
pub fn integer_default(params: &[Property], name: &str) -> u64 {
    params
        .iter()
        .find(|p| p.name == name && matches!(p.kind, Kind::Integer { .. }))
        .and_then(|p| p.default)
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("'{name}' is not an integer parameter with a default"))
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
    "smbgw-host",
    "smbgw-netbios-name",
    "smbgw-account",
    "smbgw-calendar-event",
    "smbgw-prune-keep",
    "smbgw-snapshot-name",
    "smbgw-backup-time",
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
        "smbgw-host" => validate::host_name("domain controller", value),
        "smbgw-netbios-name" => validate::netbios_name("NetBIOS name", value),
        "smbgw-account" => validate::account_name("user name", value),
        "smbgw-calendar-event" => crate::calendar::CalendarEvent::parse(value).map(|_| ()),
        "smbgw-prune-keep" => crate::prune::KeepOptions::parse(value).map(|_| ()),
        "smbgw-snapshot-name" => snapshot::check_name(value),
        "smbgw-backup-time" => backup::check_time(value),
        other => Err(crate::Error::input(format!("unknown format '{other}'"))),
    }
}

/// One property in PVE::JSONSchema form.
pub fn pve_entry(p: &Property) -> Value {
    let mut entry = match p.kind {
        Kind::Bool | Kind::Flag => json!({ "type": "boolean" }),
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
        Kind::Str { format, max_length } => {
            let mut e = json!({ "type": "string" });
            if let Some(format) = format {
                e["format"] = format.into();
            }
            if let Some(max) = max_length {
                e["maxLength"] = max.into();
            }
            e
        }
        // PVE's own list format: it splits the value and checks each item
        Kind::Settings => json!({ "type": "string", "format": "string-list" }),
        Kind::Secret => json!({ "type": "string", "maxLength": MAX_TEXT }),
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
    if !p.required {
        entry["optional"] = 1.into();
    }
    if let Some(default) = p.default {
        entry["default"] = match p.kind {
            Kind::Bool | Kind::Flag => (default == "1").into(),
            Kind::Integer { .. } => default.parse::<u64>().expect("integer default").into(),
            _ => default.into(),
        };
    }
    entry
}

fn pve_properties<'a>(props: impl IntoIterator<Item = &'a Property>) -> Map<String, Value> {
    props.into_iter().map(|p| (p.name.to_string(), pve_entry(p))).collect()
}

/// The share properties in PVE::JSONSchema form, plus the `name` key, for the Perl API.
pub fn pve_json_schema() -> Value {
    let mut props = serde_json::Map::new();
    props.insert(
        "name".into(),
        json!({ "type": "string", "description": "Share name.", "maxLength": MAX_SHARE_NAME, "format": "smbgw-share-name" }),
    );
    props.extend(pve_properties(SHARE_PROPERTIES));
    json!({ "type": "object", "additionalProperties": 0, "properties": props })
}

/// Every operation's parameters in PVE::JSONSchema form, one `{ properties }` object per key:
/// `share`, `guest` and each of `OPERATIONS`. The API serves it to the UI as it is.
pub fn pve_operation_schemas() -> Value {
    let share = pve_json_schema();
    let guest = pve_properties(GUEST_PROPERTIES.iter().filter_map(|name| property(name)));
    let mut all = json!({
        "share": { "properties": share["properties"] },
        "guest": { "properties": guest },
    });
    for (name, params) in OPERATIONS {
        all[*name] = json!({ "properties": pve_properties(*params) });
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_and_the_guest_bounds_are_exported() {
        let all = pve_operation_schemas();
        let mut keys: Vec<_> = all.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "ad-join",
                "ad-leave",
                "ad-test",
                "backup",
                "discovery",
                "guest",
                "ha-failover",
                "ha-node",
                "ha-setup",
                "io-history",
                "quota-history",
                "sessions",
                "share",
                "snapshot",
                "user"
            ]
        );
        let guest = &all["guest"]["properties"];
        assert_eq!(guest["ct-memory"]["minimum"], 128);
        assert_eq!(guest["ct-memory"]["maximum"], 65536);
        assert_eq!(guest["ct-memory"]["default"], 512);
        assert_eq!(guest["vm-cores"]["maximum"], 128);
        assert_eq!(guest["vm-id"]["maximum"], 999_999_999);
        assert_eq!(all["ad-join"]["properties"]["user"]["default"], "Administrator");
        assert!(
            all["ad-join"]["properties"]["domain"].get("optional").is_none(),
            "domain is required"
        );
        assert_eq!(all["ad-test"]["properties"]["password"]["optional"], 1);
        assert_eq!(all["ha-setup"]["properties"]["no-lock"]["default"], false);
        assert_eq!(
            all["ha-node"]["properties"]["action"]["enum"],
            json!(["disable", "enable"])
        );
        assert_eq!(all["io-history"]["properties"]["hours"]["maximum"], 48);
        assert_eq!(all["io-history"]["properties"]["hours"]["default"], 2);
        assert_eq!(all["quota-history"]["properties"]["days"]["maximum"], 90);
        assert_eq!(integer_default(IO_HISTORY, "hours"), 2);
        // the share entries are those of the share schema
        assert_eq!(all["share"]["properties"], pve_json_schema()["properties"]);
    }

    #[test]
    fn every_named_format_is_checked() {
        let named = SHARE_PROPERTIES
            .iter()
            .chain(OPERATIONS.iter().flat_map(|(_, params)| params.iter()))
            .filter_map(|p| pve_entry(p)["format"].as_str().map(String::from));
        for format in named.filter(|f| f.starts_with("smbgw-")) {
            assert!(FORMATS.contains(&format.as_str()), "{format} is not in FORMATS");
            let err = check_format(&format, "\u{1}").unwrap_err();
            assert!(!err.message.starts_with("unknown format"), "{format}: {}", err.message);
        }
        check_format("smbgw-host", "dc1.example.com").unwrap();
        let err = check_format("smbgw-host", "dc1;reboot").unwrap_err();
        assert!(
            err.message.contains("is not a host name or an IP address"),
            "{}",
            err.message
        );
        check_format("smbgw-netbios-name", "PVE1").unwrap();
        check_format("smbgw-account", "alice").unwrap();
        assert!(check_format("smbgw-account", "Bad User").is_err());
    }

    #[test]
    fn bounds_come_from_the_share_table() {
        assert_eq!(bounds("ct-id"), (100, 999_999_999));
        assert_eq!(bounds("vm-memory"), (512, 262_144));
    }
}
