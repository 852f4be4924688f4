//! Validation of every user-supplied value. Each check returns a message that names the bad
//! value and says what would be valid. Nothing reaches smb.conf, argv or a path unchecked.

use std::net::IpAddr;
use std::path::Path;

use crate::{bail_field, bail_input, Result, ResultExt};

/// Share names Samba reserves or treats specially.
const RESERVED_SHARE_NAMES: [&str; 5] = ["global", "homes", "printers", "ipc$", "print$"];
/// Characters Windows and Samba refuse in share names, plus `%` (Samba variable substitution).
const FORBIDDEN_SHARE_CHARS: &str = "\\/[]:|<>+=;,*?\"%";
pub const MAX_SHARE_NAME: usize = 80;
pub const MAX_TEXT: usize = 256;
pub const MAX_PATH: usize = 1024;
pub const MAX_LIST: usize = 64;

/// Directories a share must never expose, nor be placed inside.
const FORBIDDEN_PATHS: [&str; 12] = [
    "/etc",
    "/proc",
    "/sys",
    "/dev",
    "/boot",
    "/run",
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib64",
    "/var/lib/samba",
];

/// Characters that are invisible or reorder text: they make one value look like another.
fn is_deceptive(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' |
        '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{180E}')
}

fn check_no_control(what: &str, value: &str) -> Result<()> {
    if let Some(c) = value
        .chars()
        .find(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}'))
    {
        bail_input!("{what} {value:?} contains the control character U+{:04X}; line breaks, tabs and other control characters are not allowed", c as u32);
    }
    if let Some(c) = value.chars().find(|c| is_deceptive(*c)) {
        bail_input!(
            "{what} {value:?} contains the invisible or direction-changing character U+{:04X}, which is not allowed",
            c as u32
        );
    }
    Ok(())
}

/// A share name, following Samba and Windows rules. ASCII only: look-alike Unicode letters
/// would let one share pose as another, and several clients mangle non-ASCII share names.
pub fn share_name(name: &str) -> Result<()> {
    share_name_rules(name).field("name")
}

fn share_name_rules(name: &str) -> Result<()> {
    let rules = format!(
        "share names are 1-{MAX_SHARE_NAME} ASCII characters without {FORBIDDEN_SHARE_CHARS} or control characters"
    );
    if name.is_empty() {
        bail_input!("share name is empty: {rules}");
    }
    check_no_control("share name", name)?;
    if !name.is_ascii() {
        bail_input!("share name {name:?} contains non-ASCII characters: {rules}");
    }
    if name.len() > MAX_SHARE_NAME {
        bail_input!("share name is {} characters long: {rules}", name.len());
    }
    if let Some(c) = name.chars().find(|c| FORBIDDEN_SHARE_CHARS.contains(*c)) {
        bail_input!("share name {name:?} contains '{c}': {rules}");
    }
    if name.starts_with([' ', '-', '#']) || name.ends_with(' ') {
        bail_input!("share name {name:?} must not start with a space, '-' or '#', nor end with a space");
    }
    if name.chars().all(|c| c == '.') {
        bail_input!("share name {name:?} is not allowed: it must contain something other than dots");
    }
    if RESERVED_SHARE_NAMES.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        bail_input!(
            "share name {name:?} is reserved by Samba; reserved names are {}",
            RESERVED_SHARE_NAMES.join(", ")
        );
    }
    Ok(())
}

/// Free text such as a comment: one line, no Samba substitutions, no line continuation.
pub fn text(what: &str, value: &str) -> Result<()> {
    check_no_control(what, value)?;
    if value.chars().count() > MAX_TEXT {
        bail_input!(
            "{what} is {} characters long; at most {MAX_TEXT} are allowed",
            value.chars().count()
        );
    }
    if value.contains('%') {
        bail_input!("{what} {value:?} contains '%', which Samba would expand as a variable; leave it out");
    }
    // '\' ends a line as continuation; '[', ']' and '=' are smb.conf syntax
    if let Some(c) = value.chars().find(|c| matches!(c, '\\' | '[' | ']' | '=')) {
        bail_input!("{what} {value:?} contains '{c}', which is smb.conf syntax and not allowed here");
    }
    if value.trim() != value {
        bail_input!("{what} {value:?} has leading or trailing spaces");
    }
    Ok(())
}

/// The syntax of a share path: absolute, normalised, outside system directories.
pub fn path_syntax(path: &str) -> Result<()> {
    path_syntax_rules(path).field("path")
}

fn path_syntax_rules(path: &str) -> Result<()> {
    if path.is_empty() {
        bail_input!("path is empty: give the absolute path of the directory to share, e.g. /srv/data");
    }
    check_no_control("path", path)?;
    if path.len() > MAX_PATH {
        bail_input!("path is {} bytes long; at most {MAX_PATH} are allowed", path.len());
    }
    if !path.starts_with('/') {
        bail_input!("path {path:?} is not absolute: give it from the root, e.g. /srv/data");
    }
    if let Some(c) = path.chars().find(|c| matches!(c, '%' | '\\' | '"')) {
        bail_input!("path {path:?} contains '{c}', which Samba would interpret; rename the directory");
    }
    if path != "/" && (path.ends_with('/') || path.contains("//") || path.split('/').any(|c| c == "." || c == "..")) {
        bail_input!(
            "path {path:?} is not normalised: no '.', '..', '//' or trailing '/' (did you mean {:?}?)",
            normalise_hint(path)
        );
    }
    if path.split('/').any(|c| c.trim() != c) {
        bail_input!("path {path:?} has a component with leading or trailing spaces");
    }
    if path == "/" {
        bail_input!("path '/' would share the whole system; give a directory such as /srv/data");
    }
    for forbidden in FORBIDDEN_PATHS {
        if path == forbidden || path.starts_with(&format!("{forbidden}/")) {
            bail_input!("path {path:?} is inside the system directory {forbidden}; share a data directory such as /srv/data or a storage mount instead");
        }
    }
    Ok(())
}

fn normalise_hint(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// The path as it is on disk: no component may be a symbolic link (a link could later be
/// re-pointed to expose something else), and an existing path must be a directory.
pub fn path_on_disk(path: &str) -> Result<()> {
    let mut current = std::path::PathBuf::from("/");
    for component in Path::new(path).components().skip(1) {
        current.push(component);
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                bail_field!(
                    "path",
                    "path {path:?} goes through the symbolic link {:?}; give the real path instead",
                    current.display().to_string()
                );
            }
            Ok(meta) if !meta.is_dir() => {
                bail_field!(
                    "path",
                    "path {path:?}: {:?} exists and is not a directory",
                    current.display().to_string()
                );
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => bail_field!("path", "path {path:?} cannot be checked: {e}"),
        }
    }
    Ok(())
}

/// Trees a share must never be, nor contain: the gateway changes permissions and ACLs on the
/// whole share tree as root, and `--purge-data` deletes it. (`path_syntax` already refuses
/// paths inside the system directories.)
const PROTECTED_TREES: [(&str, &str, Whole); 16] = [
    ("/", "the root filesystem", Whole::Only),
    (
        "/home",
        "every user's home (a directory below it, such as /home/alice/share, is fine)",
        Whole::Only,
    ),
    ("/var", "the system's state", Whole::Only),
    ("/var/lib", "the state of the system's services", Whole::Only),
    ("/root", "root's home", Whole::AndInside),
    ("/etc", "the system configuration", Whole::AndInside),
    ("/usr", "the system's programs", Whole::AndInside),
    ("/boot", "the boot loader and kernels", Whole::AndInside),
    (
        "/var/lib/pve-cluster",
        "Proxmox VE's cluster database",
        Whole::AndInside,
    ),
    ("/etc/pve", "Proxmox VE's cluster filesystem", Whole::AndInside),
    ("/var/lib/samba", "Samba's state", Whole::AndInside),
    (
        "/var/lib/samba/private",
        "Samba's private dir (passwords, secrets)",
        Whole::AndInside,
    ),
    ("/etc/samba", "Samba's configuration", Whole::AndInside),
    ("/var/cache/samba", "Samba's caches", Whole::AndInside),
    ("/var/lib/pve-smbgateway", "the gateway's own state", Whole::AndInside),
    ("/var/log/pve-smbgateway", "the gateway's own logs", Whole::AndInside),
];

/// Whether a directory below a protected tree may be shared.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Whole {
    /// Only the tree as a whole is protected: /home/alice/share is fine, /home is not.
    Only,
    /// Nothing in it may be shared either.
    AndInside,
}

/// A share path that is, contains or lies inside a protected tree (the system's and Proxmox
/// VE's state, Samba's private dirs, the gateway's own dirs given as `own`) is refused.
/// Whether `inner` is the directory `outer` or lies below it. Share paths are normalised by
/// `path_syntax` (absolute, no `.`, `..`, `//` or trailing `/`), so comparing components
/// compares the directories.
pub fn path_within(inner: &str, outer: &str) -> bool {
    let outer = outer.trim_end_matches('/');
    inner == outer || outer.is_empty() || inner.strip_prefix(outer).is_some_and(|rest| rest.starts_with('/'))
}

/// Whether one path is the other or lies inside it.
pub fn paths_overlap(a: &str, b: &str) -> bool {
    path_within(a, b) || path_within(b, a)
}

pub fn protected_trees(path: &str, own: &[std::path::PathBuf]) -> Result<()> {
    let inside = path_within;
    for (tree, what, whole) in PROTECTED_TREES {
        let relation = if tree == path {
            "is"
        } else if inside(tree, path) {
            "contains"
        } else if whole == Whole::AndInside && inside(path, tree) {
            "is inside"
        } else {
            continue;
        };
        bail_field!(
            "path",
            "path {path:?} {relation} {tree} ({what}); root would open it to the share's users and --purge-data would delete it: share a directory that holds only share data, such as /srv/data or a storage mount"
        );
    }
    for dir in own {
        let dir = dir.to_string_lossy();
        if inside(&dir, path) || inside(path, &dir) {
            bail_field!(
                "path",
                "path {path:?} overlaps the gateway's own directory {dir}; choose another directory"
            );
        }
    }
    Ok(())
}

/// A local user or group name (Debian's rules: lower case, digits, '_', '-', '.').
pub fn account_name(what: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.'));
    if !ok {
        check_no_control(what, name)?;
        bail_input!("{what} {name:?} is not valid: 1-32 characters, lower-case letters, digits, '_', '-' or '.', starting with a letter or '_'");
    }
    Ok(())
}

/// Characters Active Directory refuses in account names (sAMAccountName), plus those smb.conf
/// or our lists would take for syntax.
const FORBIDDEN_DOMAIN_ACCOUNT_CHARS: &str = "\"/\\[]:;|=,+*?<>@%#";

/// A user or group for a share: a local account, or a domain account as `DOMAIN\name` (the
/// domain's NetBIOS name; names may contain spaces, e.g. `EXAMPLE\Domain Users`).
pub fn principal(what: &str, value: &str) -> Result<()> {
    let Some((domain, name)) = value.split_once('\\') else {
        return account_name(what, value);
    };
    check_no_control(what, value)?;
    netbios_name(&format!("domain of {what}"), domain)?;
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.trim() == name
        && !name.ends_with('.')
        && name.is_ascii()
        && !name.chars().any(|c| FORBIDDEN_DOMAIN_ACCOUNT_CHARS.contains(c));
    if !ok {
        bail_input!(
            "{what} {value:?} is not valid: expected DOMAIN\\name, the name 1-64 ASCII characters without leading or trailing spaces and none of {FORBIDDEN_DOMAIN_ACCOUNT_CHARS}"
        );
    }
    Ok(())
}

/// The domain part of a `DOMAIN\name` principal.
pub fn principal_domain(value: &str) -> Option<&str> {
    value.split_once('\\').map(|(d, _)| d)
}

/// A NetBIOS name (computer or domain): 1-15 letters, digits, '-' or '_', not only digits.
pub fn netbios_name(what: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 15
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        && !name.chars().all(|c| c.is_ascii_digit())
        && !name.starts_with('-');
    if !ok {
        check_no_control(what, name)?;
        bail_input!("{what} {name:?} is not a valid NetBIOS name: 1-15 letters, digits, '-' or '_', not only digits");
    }
    Ok(())
}

/// A DNS domain name such as `example.com`: at least two labels of letters, digits and '-'.
pub fn domain_name(what: &str, name: &str) -> Result<()> {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    let ok = name.len() <= 253
        && name.contains('.')
        && name.split('.').all(label_ok)
        && !name
            .rsplit('.')
            .next()
            .unwrap_or("")
            .chars()
            .all(|c| c.is_ascii_digit());
    if !ok {
        check_no_control(what, name)?;
        bail_input!("{what} {name:?} is not a valid DNS domain name such as example.com");
    }
    Ok(())
}

/// A host name or an IP address (of a domain controller, say).
pub fn host_name(what: &str, name: &str) -> Result<()> {
    if name.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    if !name.contains('.') {
        // a short name: one label
        if domain_name(what, &format!("{name}.x")).is_ok() {
            return Ok(());
        }
    } else if domain_name(what, name).is_ok() {
        return Ok(());
    }
    check_no_control(what, name)?;
    bail_input!("{what} {name:?} is not a host name or an IP address")
}

/// A host for `hosts allow` / `hosts deny`, parsed: an address (prefix at its maximum) or a
/// network. Samba compares client addresses only: the gateway leaves `hostname lookups` at
/// Samba's default (no), so host names and `LOCAL` never match and are refused, not stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostNet {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl HostNet {
    fn max_prefix(addr: IpAddr) -> u8 {
        if addr.is_ipv4() {
            32
        } else {
            128
        }
    }

    /// `addr` with every bit after the first `prefix` cleared.
    fn masked(addr: IpAddr, prefix: u8) -> IpAddr {
        match addr {
            IpAddr::V4(a) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                IpAddr::V4((u32::from(a) & mask).into())
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                IpAddr::V6((u128::from(a) & mask).into())
            }
        }
    }

    /// Whether every address of `other` is also in `self`.
    pub fn contains(&self, other: &HostNet) -> bool {
        self.addr.is_ipv4() == other.addr.is_ipv4()
            && self.prefix <= other.prefix
            && Self::masked(other.addr, self.prefix) == self.addr
    }
}

/// The normalised form Samba is given: `10.0.0.1`, `10.0.0.0/8`, `fd00::/64` (lower case).
impl std::fmt::Display for HostNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.prefix == Self::max_prefix(self.addr) {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

/// An IP address; an IPv4-mapped IPv6 address is the IPv4 address Samba sees for that client.
fn ip_address(text: &str) -> Option<IpAddr> {
    match text.parse::<IpAddr>().ok()? {
        IpAddr::V6(v6) => Some(v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)),
        v4 => Some(v4),
    }
}

/// A decimal IPv4 octet as people write them, without leading zeros (which inet_aton would
/// read as octal).
fn octet(text: &str) -> Option<u8> {
    let ok = !text.is_empty() && text.len() <= 3 && text.bytes().all(|b| b.is_ascii_digit());
    (ok && (text == "0" || !text.starts_with('0')))
        .then(|| text.parse().ok())
        .flatten()
}

/// Parse a `hosts allow` / `hosts deny` entry: an address, a network as `ADDR/PREFIX` or
/// `ADDR/NETMASK`, or Samba's prefix form `10.0.0.` (= 10.0.0.0/24).
pub fn host_network(entry: &str) -> Result<HostNet> {
    let what = "an IPv4/IPv6 address or a network such as 10.0.0.0/8, 10.0.0. or fd00::/64";
    check_no_control("host", entry)?;
    if entry.eq_ignore_ascii_case("ALL") {
        bail_input!("host entry {entry:?} is a Samba keyword; to match every host give 0.0.0.0/0,::/0");
    }
    if entry.eq_ignore_ascii_case("LOCAL") {
        bail_input!(
            "host entry {entry:?} is a Samba keyword for client names without a dot; smbd does not look up client names (hostname lookups = no), so it would match nothing you mean: give addresses, e.g. 127.0.0.1,::1"
        );
    }
    if ["EXCEPT", "FAIL"].iter().any(|k| k.eq_ignore_ascii_case(entry)) {
        bail_input!("host entry {entry:?} is a Samba keyword, not a host; give addresses or networks, and the exceptions in --hosts-deny");
    }
    // Samba's prefix form: 1-3 leading octets and a trailing dot
    if let Some(head) = entry.strip_suffix('.') {
        let octets: Option<Vec<u8>> = head.split('.').map(octet).collect();
        if let Some(octets) = octets.filter(|o| (1..=3).contains(&o.len())) {
            let mut bytes = [0u8; 4];
            bytes[..octets.len()].copy_from_slice(&octets);
            return Ok(HostNet {
                addr: IpAddr::from(bytes),
                prefix: 8 * octets.len() as u8,
            });
        }
    }
    if let Some((addr_text, prefix_text)) = entry.split_once('/') {
        let Some(addr) = ip_address(addr_text) else {
            bail_input!("host entry {entry:?} is not valid: expected {what}");
        };
        let max = HostNet::max_prefix(addr);
        // the prefix length in decimal (leading zeros dropped: Samba would read "08" as
        // octal and fail), or an IPv4 netmask such as 255.255.0.0
        let prefix = match (prefix_text.parse::<std::net::Ipv4Addr>(), addr) {
            (Ok(mask), IpAddr::V4(_)) => {
                let bits = u32::from(mask);
                (bits.leading_ones() + bits.trailing_zeros() == 32).then(|| bits.leading_ones() as u8)
            }
            _ if (1..=3).contains(&prefix_text.len()) && prefix_text.bytes().all(|b| b.is_ascii_digit()) => {
                prefix_text.parse::<u8>().ok().filter(|p| *p <= max)
            }
            _ => None,
        };
        let Some(prefix) = prefix else {
            bail_input!("host entry {entry:?} has an invalid prefix length: expected 0-{max} (or an IPv4 netmask such as 255.255.255.0)");
        };
        let network = HostNet::masked(addr, prefix);
        if network != addr {
            bail_input!(
                "host entry {entry:?} has host bits set after its /{prefix} prefix: give the network {network}/{prefix}, or the single host {addr}"
            );
        }
        return Ok(HostNet { addr, prefix });
    }
    if let Some(addr) = ip_address(entry) {
        return Ok(HostNet {
            addr,
            prefix: HostNet::max_prefix(addr),
        });
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if entry.len() <= 253 && entry.split('.').all(label_ok) && !entry.chars().all(|c| c.is_ascii_digit() || c == '.') {
        let example = if entry.eq_ignore_ascii_case("localhost") {
            "127.0.0.1,::1".to_string()
        } else {
            format!("the address 'getent hosts {entry}' prints")
        };
        bail_input!(
            "host entry {entry:?} is a host name: smbd does not look up client names (hostname lookups = no), so a name never matches; give the host's address instead, e.g. {example}"
        );
    }
    bail_input!("host entry {entry:?} is not valid: expected {what}")
}

/// Check a `hosts allow` / `hosts deny` entry (see `host_network`).
pub fn host_entry(entry: &str) -> Result<()> {
    host_network(entry).map(|_| ())
}

/// A list of host entries in the form Samba is given: normalised, each network once.
pub fn host_list(what: &str, value: &str) -> Result<Vec<String>> {
    let mut out: Vec<(HostNet, &str)> = Vec::new();
    for entry in list(what, value)? {
        let net = host_network(entry).map_err(|e| crate::Error::input(format!("--{what}: {}", e.message)))?;
        if let Some((_, first)) = out.iter().find(|(n, _)| *n == net) {
            bail_input!("{what} lists {net} twice (as {first:?} and {entry:?})");
        }
        out.push((net, entry));
    }
    Ok(out.into_iter().map(|(n, _)| n.to_string()).collect())
}

/// A ZFS dataset name: pool/child/..., the characters ZFS allows, no snapshots.
pub fn zfs_dataset(name: &str) -> Result<()> {
    let component_ok = |c: &str| {
        !c.is_empty()
            && c.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '-' | '.' | ':'))
            && c != "."
            && c != ".."
    };
    let ok = name.len() <= 255
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.contains('/')
        && name.split('/').all(component_ok);
    if !ok {
        check_no_control("zfs dataset", name)?;
        bail_input!(
            "ZFS dataset {name:?} is not valid: expected pool/child[/...] of letters, digits, '_', '-', '.', ':'"
        );
    }
    Ok(())
}

/// A comma separated list of percentages 1-100, returned sorted.
pub fn percents(what: &str, value: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for item in list(what, value)? {
        match item.parse::<u8>() {
            Ok(p) if (1..=100).contains(&p) && !item.starts_with('+') => out.push(p),
            _ => bail_input!("{what} entry {item:?} is not a percentage from 1 to 100"),
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// A boolean as PVE writes them (`1`/`0`) or as people type them.
pub fn boolean(what: &str, value: &str) -> Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "yes" | "true" | "on" => Ok(true),
        "0" | "no" | "false" | "off" => Ok(false),
        _ => bail_input!("{what} {value:?} is not a boolean: use 1 or 0 (yes/no, true/false, on/off also work)"),
    }
}

/// Split a comma separated list, refusing empty items and over-long lists.
pub fn list<'a>(what: &str, value: &'a str) -> Result<Vec<&'a str>> {
    if value.is_empty() {
        return Ok(Vec::new());
    }
    let items: Vec<&str> = value.split(',').map(|i| i.trim_matches(' ')).collect();
    if items.iter().any(|i| i.is_empty()) {
        bail_input!("{what} {value:?} has an empty entry; separate entries with single commas");
    }
    if items.len() > MAX_LIST {
        bail_input!("{what} has {} entries; at most {MAX_LIST} are allowed", items.len());
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = items.iter().find(|i| !seen.insert(i.to_ascii_lowercase())) {
        bail_input!("{what} lists {dup:?} twice");
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protected_trees_are_refused_with_what_they_hold() {
        let own = [
            std::path::PathBuf::from("/var/lib/pve-smbgateway"),
            "/tmp/sb/root/config".into(),
        ];
        for bad in [
            "/",
            "/var",
            "/var/lib",
            "/root",
            "/home",
            "/etc",
            "/usr",
            "/boot",
            "/var/lib/pve-cluster",
            "/var/lib/samba",
            "/var/lib/samba/private/x",
            "/var/lib/pve-smbgateway/x",
            "/tmp/sb",
            "/tmp/sb/root/config/x",
        ] {
            let err = protected_trees(bad, &own).unwrap_err();
            assert_eq!(err.kind, crate::ErrorKind::Input);
            assert!(err.message.contains(bad), "{bad}: {err}");
        }
        let err = protected_trees("/var/lib", &own).unwrap_err();
        assert!(
            err.message.contains("is /var/lib (the state of the system's services)"),
            "{err}"
        );
        let err = protected_trees("/var/lib/samba/private/x", &own).unwrap_err();
        assert!(
            err.message.contains("is inside /var/lib/samba (Samba's state)"),
            "{err}"
        );
        for good in [
            "/home/alice/share",
            "/srv/data",
            "/var/lib/vz-shares/x",
            "/tmp/sb/data/x",
            "/mnt/pve/cephfs/s",
        ] {
            protected_trees(good, &own).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
    }

    #[test]
    fn share_names() {
        for good in ["data", "Team Data", "backup$", "a.b-c_d", "x", &"n".repeat(80)] {
            share_name(good).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        for bad in [
            "",
            " data",
            "data ",
            "-data",
            "#x",
            "a/b",
            "a\\b",
            "a[b",
            "a]b",
            "a:b",
            "a|b",
            "a<b",
            "a>b",
            "a+b",
            "a=b",
            "a;b",
            "a,b",
            "a*b",
            "a?b",
            "a\"b",
            "a%b",
            "global",
            "GLOBAL",
            "homes",
            "printers",
            "IPC$",
            "print$",
            ".",
            "..",
            "a\nb",
            "a\rb",
            "a\tb",
            "a\0b",
            "dаta",
            "da\u{200b}ta",
            &"n".repeat(81),
        ] {
            assert!(share_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn paths() {
        for good in [
            "/srv/data",
            "/mnt/pve/tank/share 1",
            "/var/lib/vz/smb",
            "/home/ünïcode",
            "/root/x",
        ] {
            path_syntax(good).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        for bad in [
            "",
            "srv",
            "/",
            "/etc",
            "/etc/samba",
            "/proc/1",
            "/sys",
            "/dev/sda",
            "/boot",
            "/run/x",
            "/usr/share",
            "/srv/../etc",
            "/srv/./x",
            "/srv//x",
            "/srv/x/",
            "/srv/%u",
            "/srv/a\\b",
            "/srv/a\nb",
            "/srv/\u{202e}x",
            "/srv/ a",
            "/var/lib/samba/private",
            "/srv/\"x",
        ] {
            assert!(path_syntax(bad).is_err(), "{bad:?} accepted");
        }
        let err = path_syntax("/srv/a/../b").unwrap_err();
        assert!(err.message.contains("\"/srv/b\""), "{}", err.message);
    }

    #[test]
    fn symlinks_refused() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::os::unix::fs::symlink(&real, dir.path().join("link")).unwrap();
        path_on_disk(real.to_str().unwrap()).unwrap();
        path_on_disk(real.join("missing/child").to_str().unwrap()).unwrap();
        assert!(path_on_disk(dir.path().join("link").to_str().unwrap()).is_err());
        assert!(path_on_disk(dir.path().join("link/sub").to_str().unwrap()).is_err());
        std::fs::write(dir.path().join("file"), b"").unwrap();
        assert!(path_on_disk(dir.path().join("file").to_str().unwrap()).is_err());
    }

    #[test]
    fn texts() {
        text("comment", "Team data – shared").unwrap();
        for bad in [
            "a\nb",
            "a\r\nb",
            "a\\",
            " a",
            "100%",
            "a]",
            "[x",
            "include = /etc/passwd",
            "x\u{2028}y",
            "x\u{85}y",
            &"c".repeat(257),
        ] {
            assert!(text("comment", bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn accounts() {
        for good in ["alice", "_svc", "bob-1", "c.d"] {
            account_name("user", good).unwrap();
        }
        for bad in [
            "",
            "Alice",
            "1bob",
            "-x",
            "a b",
            "a,b",
            "a@b",
            "root\n",
            &"a".repeat(33),
            "ädmin",
            "a\\b",
        ] {
            assert!(account_name("user", bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn domain_principals() {
        for good in [
            "alice",
            "EXAMPLE\\alice",
            "EXAMPLE\\Domain Users",
            "CORP-1\\svc.backup",
            "ex_2\\O'Neil",
        ] {
            principal("user", good).unwrap();
        }
        for bad in [
            "EXAMPLE\\",
            "\\alice",
            "EXAMPLE\\a\\b",
            "EXAMPLE\\ alice",
            "EXAMPLE\\alice ",
            "EXAMPLE\\al\"ice",
            "EXAMPLE\\a%U",
            "EXAMPLE\\a,b",
            "EXAMPLE\\a\nb",
            "EXAMPLE\\dot.",
            "TOOLONGDOMAINNAME1\\a",
            "EX AMPLE\\a",
            "EXAMPLE\\ädmin",
            "EXAMPLE\\a[1]",
            "12345\\a",
        ] {
            assert!(principal("user", bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(principal_domain("EXAMPLE\\bob"), Some("EXAMPLE"));
        assert_eq!(principal_domain("bob"), None);
    }

    #[test]
    fn domains_and_hosts() {
        for good in ["example.com", "ad.corp.example", "x-1.test"] {
            domain_name("domain", good).unwrap();
        }
        for bad in [
            "example", ".com", "a..b", "-a.com", "a.com-", "1.2.3.4", "a b.com", "a.com\n", "ä.com",
        ] {
            assert!(domain_name("domain", bad).is_err(), "{bad:?} accepted");
        }
        for good in ["dc1", "dc1.example.com", "10.0.0.1", "::1"] {
            host_name("dc", good).unwrap();
        }
        for bad in ["", "-dc", "dc;rm", "dc 1", "$(x)"] {
            assert!(host_name("dc", bad).is_err(), "{bad:?} accepted");
        }
        for good in ["MEM1", "pve-node1", "A_B"] {
            netbios_name("n", good).unwrap();
        }
        for bad in ["", "1234", "SIXTEENCHARSLONG", "a.b", "-x", "a b"] {
            assert!(netbios_name("n", bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn hosts() {
        for good in [
            "10.0.0.1",
            "10.0.0.0/8",
            "fd00::1",
            "fd00::/64",
            "10.1.",
            "0.0.0.0/0",
            "::/0",
        ] {
            host_entry(good).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        for bad in [
            "",
            "10.0.0.0/33",
            "10.0.0.0/",
            "fd00::/129",
            "-host",
            "a..b",
            "10.0.0",
            "ALL EXCEPT",
            "x;y",
            "1.2.3.4/+8",
            "256.1.1.1",
            "010.0.0.1",
            "10.0.0.0/0008",
            "10.0.0.0/255.0.255.0",
            "10.0.0.0/-1",
            "10.0.0.0/8/8",
            "10.256.",
            "10.01.",
            "1.2.3.4.",
            ".",
            "fe80::1%eth0",
            "[fd00::1]",
            "10.0.0.*",
            "@netgroup",
            ".example.com",
        ] {
            assert!(host_entry(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn host_names_and_keywords_say_why() {
        // smbd runs with hostname lookups = no: a name is stored but never matches
        for name in ["localhost", "LocalHost", "nas.example.com", "host-1"] {
            let err = host_entry(name).unwrap_err();
            assert!(err.message.contains("hostname lookups = no"), "{}", err.message);
            assert!(err.message.contains("address"), "{}", err.message);
        }
        assert!(host_entry("localhost").unwrap_err().message.contains("127.0.0.1,::1"));
        for keyword in ["ALL", "all", "LOCAL", "local", "EXCEPT", "FAIL"] {
            let err = host_entry(keyword).unwrap_err();
            assert!(err.message.contains("keyword"), "{}", err.message);
        }
        let err = host_entry("10.0.0.1/8").unwrap_err();
        assert!(
            err.message.contains("10.0.0.0/8") && err.message.contains("single host 10.0.0.1"),
            "{}",
            err.message
        );
    }

    #[test]
    fn hosts_normalised_as_samba_reads_them() {
        for (given, stored) in [
            ("10.0.0.0/08", "10.0.0.0/8"),
            ("10.0.0.1/32", "10.0.0.1"),
            ("10.0.0.0/255.255.0.0", "10.0.0.0/16"),
            ("0.0.0.0/0.0.0.0", "0.0.0.0/0"),
            ("10.", "10.0.0.0/8"),
            ("192.168.1.", "192.168.1.0/24"),
            ("FD00::1", "fd00::1"),
            ("FD00:0:0::/064", "fd00::/64"),
            ("fd00::1/128", "fd00::1"),
            ("::ffff:10.0.0.1", "10.0.0.1"),
            ("0.0.0.0/0", "0.0.0.0/0"),
        ] {
            assert_eq!(host_list("hosts-allow", given).unwrap(), [stored], "{given}");
        }
        // the same host in two spellings is one entry listed twice
        for twice in [
            "10.0.0.1,10.0.0.1/32",
            "fd00::1,FD00:0::1",
            "10.0.0.0/8,10.",
            "10.0.0.0/08,10.0.0.0/8",
        ] {
            let err = host_list("hosts-deny", twice).unwrap_err();
            assert!(err.message.contains("twice"), "{twice}: {}", err.message);
        }
        let a = host_network("10.0.0.0/8").unwrap();
        assert!(a.contains(&host_network("10.2.3.4").unwrap()));
        assert!(a.contains(&host_network("10.2.0.0/16").unwrap()));
        assert!(a.contains(&a));
        assert!(!a.contains(&host_network("11.0.0.1").unwrap()));
        assert!(!a.contains(&host_network("0.0.0.0/0").unwrap()));
        // an IPv4-mapped address is the IPv4 client smbd sees
        assert!(a.contains(&host_network("::ffff:a00:1").unwrap()));
        assert!(host_network("0.0.0.0/0").unwrap().contains(&a));
        assert!(!host_network("::/0").unwrap().contains(&a));
        assert!(host_network("fd00::/8")
            .unwrap()
            .contains(&host_network("fdff::1").unwrap()));
    }
}
