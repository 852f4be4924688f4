//! Validation of every user-supplied value. Each check returns a message that names the bad
//! value and says what would be valid. Nothing reaches smb.conf, argv or a path unchecked.

//!
//! The checks are grouped by what they guard: `paths.rs` (share paths and protected trees),
//! `accounts.rs` (local and domain accounts, NetBIOS names) and `hosts.rs` (domain and host
//! names, `hosts allow` / `hosts deny`). This file keeps the shared rules (no control or
//! invisible characters), names and text, small values and lists, and re-exports every check
//! so callers keep writing `validate::share_name`, `validate::path_syntax` and so on.

mod accounts;
mod hosts;
mod paths;

pub use accounts::{account_name, netbios_name, principal, principal_domain};
pub use hosts::{domain_name, host_entry, host_list, host_name, host_network, HostNet};
pub use paths::{path_on_disk, path_syntax, path_within, paths_overlap, protected_trees};

use crate::{bail_input, Result, ResultExt};

/// Share names Samba reserves or treats specially.
const RESERVED_SHARE_NAMES: [&str; 4] = ["global", "printers", "ipc$", "print$"];
/// Samba's home-directory section: only a home share (`homes` property) may be called so,
/// which the share model checks (`Share::from_properties`).
pub const HOMES_SECTION: &str = "homes";
/// Characters Windows and Samba refuse in share names, plus `%` (Samba variable substitution).
const FORBIDDEN_SHARE_CHARS: &str = "\\/[]:|<>+=;,*?\"%";
pub const MAX_SHARE_NAME: usize = 80;
pub const MAX_TEXT: usize = 256;
pub const MAX_PATH: usize = 1024;
pub const MAX_LIST: usize = 64;

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
mod tests;
