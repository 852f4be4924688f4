//! The arguments of each bridge method: one JSON object per call, with the names the API and the
//! schema use (`{ name => 'team', properties => {...}, 'dry-run' => 1 }`), read into these typed
//! structs. Perl scalars have no fixed type (a share name may arrive as a number, a flag as
//! `"1"`, `1` or `JSON::true`), so the fields read them leniently, as the command line would.

use std::cell::RefCell;

use serde::de::{DeserializeSeed, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use smbgw_core::schema::{self, DEFAULT_ADMIN, DEFAULT_LOCK};
use smbgw_core::share::Properties;
use smbgw_core::{Error, Result};

/// The arguments of a call: a JSON object (or nothing), read into `T`.
pub fn parse<T: for<'de> Deserialize<'de>>(input: &str) -> Result<T> {
    let value: Value = match serde_json::from_str(input) {
        Ok(v) => v,
        Err(_) => {
            return Err(match non_finite(input) {
                Some((arg, nested, value)) => {
                    let is = if nested { "contains" } else { "is" };
                    Error::input(format!("argument '{arg}' {is} {value}; numbers must be finite")).field(arg)
                }
                None => Error::input("the bridge expects its arguments as a JSON object"),
            })
        }
    };
    let value = match value {
        Value::Null => Value::Object(Default::default()),
        v @ Value::Object(_) => v,
        _ => return Err(Error::input("the bridge expects its arguments as a JSON object")),
    };
    let Value::Object(map) = value else {
        unreachable!("an object by now")
    };
    let key = RefCell::new(None);
    T::deserialize(Tracked { map, key: &key }).map_err(|e| {
        let message = e.to_string();
        // a missing argument is named by serde; any other error is about the argument being read
        let field = between(&message, "missing field `", "`").or_else(|| key.borrow().clone());
        let error = Error::input(format!("invalid arguments: {message}"));
        match field {
            Some(field) => error.field(field),
            None => error,
        }
    })
}

fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let rest = &text[text.find(start)? + start.len()..];
    Some(rest[..rest.find(end)?].to_string())
}

/// The top-level arguments as a map that remembers the name of the argument being read, so an
/// unknown or ill-typed argument's error names its field (as the API's `errors` need).
struct Tracked<'k> {
    map: serde_json::Map<String, Value>,
    key: &'k RefCell<Option<String>>,
}

impl<'de> Deserializer<'de> for Tracked<'_> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, Self::Error> {
        visitor.visit_map(TrackedAccess {
            entries: self.map.into_iter(),
            value: None,
            key: self.key,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

struct TrackedAccess<'k> {
    entries: serde_json::map::IntoIter,
    value: Option<Value>,
    key: &'k RefCell<Option<String>>,
}

impl<'de> MapAccess<'de> for TrackedAccess<'_> {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> std::result::Result<Option<K::Value>, Self::Error> {
        let Some((key, value)) = self.entries.next() else {
            *self.key.borrow_mut() = None;
            return Ok(None);
        };
        *self.key.borrow_mut() = Some(key.clone());
        self.value = Some(value);
        seed.deserialize(Value::String(key)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> std::result::Result<V::Value, Self::Error> {
        seed.deserialize(self.value.take().unwrap_or(Value::Null))
    }
}

/// A Perl number JSON cannot carry (JSON::XS writes `inf`, `-inf`, `nan`; JSON::PP `Inf`,
/// `NaN`): the first one outside a string, as (the argument's name, whether it is inside a
/// hash or list argument, the value as Perl prints it).
fn non_finite(input: &str) -> Option<(String, bool, &'static str)> {
    let bytes = input.as_bytes();
    let (mut depth, mut i) = (0usize, 0usize);
    // the last string at the top level: in `{"key":value}` the name of the value being read
    let mut key = String::new();
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if depth == 1 {
                    key = input.get(start..i.min(input.len())).unwrap_or_default().to_string();
                }
            }
            b'[' | b'{' => depth += 1,
            b']' | b'}' => depth = depth.saturating_sub(1),
            c if c == b'-' || c.is_ascii_alphabetic() => {
                let len = bytes[i..]
                    .iter()
                    .take_while(|b| **b == b'-' || b.is_ascii_alphabetic())
                    .count();
                let value = match input[i..i + len].to_ascii_lowercase().as_str() {
                    "inf" | "infinity" => Some("Inf"),
                    "-inf" | "-infinity" => Some("-Inf"),
                    "nan" | "-nan" => Some("NaN"),
                    _ => None,
                };
                if let Some(value) = value {
                    return Some((key, depth > 1, value));
                }
                i += len;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// A Perl scalar as text: strings as they are, numbers written out.
fn scalar_text(value: Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if b { "1" } else { "0" }.to_string()),
        _ => None,
    }
}

fn text<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    scalar_text(Value::deserialize(d)?).ok_or_else(|| serde::de::Error::custom("expected a string"))
}

/// An optional text: undef and the empty string are "not given", as a missing API parameter.
fn optional_text<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        v => match scalar_text(v) {
            Some(s) if s.is_empty() => Ok(None),
            Some(s) => Ok(Some(s)),
            None => Err(serde::de::Error::custom("expected a string")),
        },
    }
}

/// A Perl truth value: `1`, `"1"`, `JSON::true`; `0`, `""`, `"0"` and undef are false.
fn flag<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => b,
        Value::Number(n) => n.as_f64().unwrap_or(0.0) != 0.0,
        Value::String(s) => !matches!(s.as_str(), "" | "0"),
        _ => false,
    })
}

/// A list of words: an array, or a comma separated string.
fn words<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .into_iter()
            .map(|v| scalar_text(v).ok_or_else(|| serde::de::Error::custom("expected a list of words")))
            .collect(),
        Value::String(s) => Ok(s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()),
        _ => Err(serde::de::Error::custom("expected a list of words")),
    }
}

/// Share properties from a Perl hash: scalars become their text form, as on the command line.
fn properties<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Properties, D::Error> {
    let mut props = Properties::new();
    match Value::deserialize(d)? {
        Value::Null => {}
        Value::Object(map) => {
            for (key, value) in map {
                if value.is_null() {
                    continue;
                }
                let text = scalar_text(value)
                    .ok_or_else(|| serde::de::Error::custom(format!("property '{key}' must be a scalar")))?;
                props.insert(key, text);
            }
        }
        _ => return Err(serde::de::Error::custom("share properties must be a hash")),
    }
    Ok(props)
}

fn default_admin() -> String {
    DEFAULT_ADMIN.into()
}

fn default_lock() -> String {
    DEFAULT_LOCK.into()
}

fn default_days() -> u64 {
    schema::integer_default(schema::QUOTA_HISTORY, "days")
}

/// Days of quota history: a whole number, given as a number or as text.
fn days<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<u64, D::Error> {
    scalar_text(Value::deserialize(d)?)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| serde::de::Error::custom("days must be a whole number"))
}

/// No arguments (a call without any, or with an empty hash).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Nothing {}

/// One share, by name.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Named {
    #[serde(deserialize_with = "text")]
    pub name: String,
}

/// `status`: one share, or the node.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Status {
    #[serde(default, deserialize_with = "optional_text")]
    pub name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Create {
    #[serde(deserialize_with = "text")]
    pub name: String,
    #[serde(default, deserialize_with = "properties")]
    pub properties: Properties,
    #[serde(default, deserialize_with = "flag")]
    pub dry_run: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Update {
    #[serde(deserialize_with = "text")]
    pub name: String,
    #[serde(default, deserialize_with = "properties")]
    pub properties: Properties,
    /// Properties reset to their defaults.
    #[serde(default, deserialize_with = "words")]
    pub delete: Vec<String>,
    /// The config digest the caller read (`show`, `list`).
    #[serde(default, deserialize_with = "optional_text")]
    pub digest: Option<String>,
    #[serde(default, deserialize_with = "flag")]
    pub dry_run: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Delete {
    #[serde(deserialize_with = "text")]
    pub name: String,
    #[serde(default, deserialize_with = "flag")]
    pub purge_data: bool,
    #[serde(default, deserialize_with = "optional_text")]
    pub digest: Option<String>,
    #[serde(default, deserialize_with = "flag")]
    pub dry_run: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Apply {
    #[serde(default, deserialize_with = "flag")]
    pub dry_run: bool,
    #[serde(default, deserialize_with = "flag")]
    pub force: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageDirs {
    #[serde(deserialize_with = "text")]
    pub name: String,
    #[serde(default, deserialize_with = "words")]
    pub subdirs: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaHistory {
    #[serde(deserialize_with = "text")]
    pub name: String,
    #[serde(default = "default_days", deserialize_with = "days")]
    pub days: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdStatus {
    #[serde(default, deserialize_with = "flag")]
    pub check: bool,
}

/// `ad_test`: credentials are checked only when a user is named.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdTest {
    #[serde(deserialize_with = "text")]
    pub domain: String,
    #[serde(default, deserialize_with = "optional_text")]
    pub dc: Option<String>,
    #[serde(default, deserialize_with = "optional_text")]
    pub user: Option<String>,
    #[serde(default, deserialize_with = "optional_text")]
    pub password: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AdJoin {
    #[serde(deserialize_with = "text")]
    pub domain: String,
    #[serde(default, deserialize_with = "optional_text")]
    pub ou: Option<String>,
    #[serde(default, deserialize_with = "optional_text")]
    pub netbios: Option<String>,
    #[serde(default, deserialize_with = "optional_text")]
    pub dc: Option<String>,
    #[serde(default = "default_admin", deserialize_with = "text")]
    pub user: String,
    #[serde(deserialize_with = "text")]
    pub password: String,
    #[serde(default, deserialize_with = "flag")]
    pub dry_run: bool,
}

/// `ad_leave`: without a password the computer account stays in the domain.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AdLeave {
    #[serde(default = "default_admin", deserialize_with = "text")]
    pub user: String,
    #[serde(default, deserialize_with = "optional_text")]
    pub password: Option<String>,
    #[serde(default, deserialize_with = "flag")]
    pub dry_run: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HaSetup {
    #[serde(default, deserialize_with = "optional_text")]
    pub nodes: Option<String>,
    #[serde(deserialize_with = "text")]
    pub vip: String,
    #[serde(deserialize_with = "text")]
    pub interface: String,
    #[serde(default = "default_lock", deserialize_with = "text")]
    pub lock: String,
    #[serde(default, deserialize_with = "flag")]
    pub no_lock: bool,
    /// `Name=Value` CTDB tunables: a list, or a string split at commas.
    #[serde(default, deserialize_with = "words")]
    pub tunable: Vec<String>,
    /// The HA config digest the caller read (`ha_status`).
    #[serde(default, deserialize_with = "optional_text")]
    pub digest: Option<String>,
    #[serde(default, deserialize_with = "flag")]
    pub dry_run: bool,
}

/// `ha_failover`, `ha_test`, `ha_node`: with `dry-run` only the checks the API makes before
/// forking its task (HA set up, the VIP and node known).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HaFailover {
    #[serde(deserialize_with = "text")]
    pub vip: String,
    #[serde(deserialize_with = "text")]
    pub node: String,
    #[serde(default, deserialize_with = "flag")]
    pub dry_run: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HaTest {
    #[serde(deserialize_with = "text")]
    pub vip: String,
    #[serde(default, deserialize_with = "flag")]
    pub dry_run: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HaNode {
    #[serde(deserialize_with = "text")]
    pub node: String,
    #[serde(default, deserialize_with = "flag")]
    pub enable: bool,
    #[serde(default, deserialize_with = "flag")]
    pub dry_run: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckFormat {
    #[serde(deserialize_with = "text")]
    pub format: String,
    #[serde(deserialize_with = "text")]
    pub value: String,
}

/// `disconnect_session`: the session id as `sessions` lists it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Disconnect {
    #[serde(deserialize_with = "text")]
    pub session: String,
    #[serde(default, deserialize_with = "flag")]
    pub dry_run: bool,
}

/// `io_history`: the last `hours` of the node's SMB throughput.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IoHistory {
    #[serde(default = "default_hours", deserialize_with = "hours")]
    pub hours: u64,
}

fn default_hours() -> u64 {
    schema::integer_default(schema::IO_HISTORY, "hours")
}

/// Hours of SMB throughput history: a whole number, given as a number or as text.
fn hours<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<u64, D::Error> {
    scalar_text(Value::deserialize(d)?)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| serde::de::Error::custom("hours must be a whole number"))
}

/// `discovery`: the node's discovery setting, shown when neither is given. An empty
/// `interfaces` is a value (every interface), as `--interfaces ''` is on the command line.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Discovery {
    #[serde(default, deserialize_with = "optional_text")]
    pub discovery: Option<String>,
    #[serde(default, deserialize_with = "given_text")]
    pub interfaces: Option<String>,
}

/// A text where only undef is "not given" (the empty string is a value).
fn given_text<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        v => scalar_text(v)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom("expected a string")),
    }
}

/// `snapshot_create`: the share.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SnapshotCreate {
    #[serde(deserialize_with = "text")]
    pub name: String,
    #[serde(default, deserialize_with = "flag")]
    pub dry_run: bool,
}

/// `snapshot_delete`, `snapshot_rollback`: the share and one of its snapshots (the schema's
/// `snapshot` operation).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SnapshotChange {
    #[serde(deserialize_with = "text")]
    pub name: String,
    #[serde(deserialize_with = "text")]
    pub snapshot: String,
    #[serde(default, deserialize_with = "flag")]
    pub confirm: bool,
    #[serde(default, deserialize_with = "flag")]
    pub dry_run: bool,
}

/// `backup_create`: the share and the PBS storage (the schema's `backup` operation).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BackupCreate {
    #[serde(deserialize_with = "text")]
    pub name: String,
    #[serde(deserialize_with = "text")]
    pub storage: String,
    #[serde(default, deserialize_with = "flag")]
    pub dry_run: bool,
}

/// `backup_list`: the share, and one storage or every usable one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupList {
    #[serde(deserialize_with = "text")]
    pub name: String,
    #[serde(default, deserialize_with = "optional_text")]
    pub storage: Option<String>,
}

/// `backup_restore`: the share, the storage, the backup (its time), the target directory and
/// optionally one file or directory of the backup.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BackupRestore {
    #[serde(deserialize_with = "text")]
    pub name: String,
    #[serde(deserialize_with = "text")]
    pub storage: String,
    #[serde(deserialize_with = "text")]
    pub snapshot: String,
    #[serde(deserialize_with = "text")]
    pub target: String,
    #[serde(default, deserialize_with = "optional_text")]
    pub file: Option<String>,
    #[serde(default, deserialize_with = "flag")]
    pub dry_run: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_non_finite_number_is_named_with_its_argument() {
        let message = |input: &str| parse::<Nothing>(input).err().unwrap().message;
        assert_eq!(
            message(r#"{"days":inf}"#),
            "argument 'days' is Inf; numbers must be finite"
        );
        assert_eq!(
            message(r#"{"name":"a,b","days":-Inf}"#),
            "argument 'days' is -Inf; numbers must be finite"
        );
        assert_eq!(
            message(r#"{"name":"share","properties":{"quota":inf,"comment":"Inf"},"dry-run":1}"#),
            "argument 'properties' contains Inf; numbers must be finite"
        );
        assert_eq!(message("[1]"), "the bridge expects its arguments as a JSON object");
    }

    #[test]
    fn an_empty_interface_list_is_a_value_an_empty_discovery_is_not() {
        let d: Discovery = parse(r#"{"discovery":"","interfaces":""}"#).unwrap();
        assert_eq!((d.discovery, d.interfaces.as_deref()), (None, Some("")));
        let d: Discovery = parse(r#"{"discovery":"off","interfaces":null}"#).unwrap();
        assert_eq!((d.discovery.as_deref(), d.interfaces), (Some("off"), None));
        assert!(parse::<Discovery>(r#"{"interface":"lo"}"#).is_err());
    }

    #[test]
    fn perl_scalars_are_read_as_the_command_line_would() {
        let create: Create =
            parse(r#"{"name":42,"properties":{"quota":"10G","read-only":true,"comment":null},"dry-run":"1"}"#).unwrap();
        assert_eq!(create.name, "42");
        assert_eq!(create.properties.get("read-only").map(String::as_str), Some("1"));
        assert!(!create.properties.contains_key("comment"));
        assert!(create.dry_run);
        // the word "inf" inside a string is text
        let named: Named = parse(r#"{"name":"inf"}"#).unwrap();
        assert_eq!(named.name, "inf");
        let join: AdJoin = parse(r#"{"domain":"example.com","password":"x","ou":""}"#).unwrap();
        assert_eq!(
            (join.user.as_str(), join.ou, join.dry_run),
            (DEFAULT_ADMIN, None, false)
        );
        let setup: HaSetup = parse(r#"{"vip":"10.0.0.9/24","interface":"eth0","tunable":"A=1, B=2"}"#).unwrap();
        assert_eq!(
            (setup.lock.as_str(), setup.tunable),
            (DEFAULT_LOCK, vec!["A=1".into(), "B=2".into()])
        );
        let err = parse::<Named>(r#"{"name":"x","nmae":"y"}"#).err().unwrap();
        assert!(err.message.contains("unknown field `nmae`"), "{}", err.message);
        assert_eq!(err.field.as_deref(), Some("nmae"));
        let err = parse::<Create>(r#"{"name":"x","properties":{"comment":{"nested":1}}}"#)
            .err()
            .unwrap();
        assert!(
            err.message.contains("property 'comment' must be a scalar"),
            "{}",
            err.message
        );
        parse::<Nothing>("null").unwrap();
    }

    #[test]
    fn an_argument_error_names_its_field() {
        let field = |input: &str| parse::<HaSetup>(input).err().unwrap().field;
        // ill-typed, wherever it stands among the others
        assert_eq!(
            field(r#"{"vip":"10.0.0.9/24","tunable":{"a":1},"interface":"eth0"}"#).as_deref(),
            Some("tunable")
        );
        assert_eq!(field(r#"{"vip":["x"],"interface":"eth0"}"#).as_deref(), Some("vip"));
        // missing
        assert_eq!(field(r#"{"interface":"eth0"}"#).as_deref(), Some("vip"));
        // unknown
        assert_eq!(
            field(r#"{"vip":"10.0.0.9/24","interface":"eth0","colour":"red"}"#).as_deref(),
            Some("colour")
        );
        let days = parse::<QuotaHistory>(r#"{"name":"a","days":"many"}"#).err().unwrap();
        assert_eq!(
            (days.field.as_deref(), days.kind),
            (Some("days"), smbgw_core::ErrorKind::Input)
        );
    }
}
