//! The allow list of extra Samba share parameters an admin may set with `--option KEY=VALUE`.
//! Everything else is refused: a free-form parameter could re-enable what the gateway secures
//! (`wide links`, `root preexec`, `include`, ...). Each entry knows the values it accepts.
//! `vfs objects` and the `streams_xattr:` parameters are also checked against the share's own
//! properties (`check_share`), so an option cannot silently turn off what a property promises.

use std::collections::BTreeMap;

use crate::{bail_input, validate, vfs, Result};

#[derive(Clone, Copy, Debug)]
pub enum OptionValue {
    Bool,
    /// Unix permission bits in octal, at most the given mask.
    Octal(u32),
    UInt {
        min: u64,
        max: u64,
    },
    Choice(&'static [&'static str]),
    /// A local account name (user or group).
    Account,
    /// The whole VFS module stack, in `vfs::ORDER`.
    VfsObjects,
    /// The xattr name prefix of streams_xattr: in the `user.` namespace (the connected user
    /// writes it) and ending in '.', so it cannot take in Samba's own `user.DOSATTRIB`.
    XattrPrefix,
}

/// (parameter as Samba spells it, accepted values, why an admin wants it)
pub const ALLOWED: &[(&str, OptionValue, &str)] = &[
    (
        "access based share enum",
        OptionValue::Bool,
        "hide the share from users who may not access it",
    ),
    (
        "acl allow execute always",
        OptionValue::Bool,
        "let Windows clients run files without the execute bit",
    ),
    (
        "create mask",
        OptionValue::Octal(0o777),
        "permission bits new files may have",
    ),
    (
        "directory mask",
        OptionValue::Octal(0o7777),
        "permission bits new directories may have",
    ),
    (
        "force create mode",
        OptionValue::Octal(0o777),
        "permission bits always set on new files",
    ),
    (
        "force directory mode",
        OptionValue::Octal(0o7777),
        "permission bits always set on new directories",
    ),
    (
        "force group",
        OptionValue::Account,
        "unix group that owns every new file",
    ),
    (
        "force user",
        OptionValue::Account,
        "unix user every client acts as on this share",
    ),
    (
        "hide dot files",
        OptionValue::Bool,
        "mark files starting with a dot hidden",
    ),
    ("hide unreadable", OptionValue::Bool, "hide files the user cannot read"),
    (
        "inherit acls",
        OptionValue::Bool,
        "new files inherit the parent directory's ACL",
    ),
    (
        "inherit owner",
        OptionValue::Choice(&["no", "windows and unix", "unix only"]),
        "new files inherit the parent's owner",
    ),
    (
        "inherit permissions",
        OptionValue::Bool,
        "new files inherit the parent directory's mode",
    ),
    (
        "kernel oplocks",
        OptionValue::Bool,
        "break oplocks for local (non-SMB) access",
    ),
    ("level2 oplocks", OptionValue::Bool, "allow read-only oplocks"),
    (
        "map acl inherit",
        OptionValue::Bool,
        "keep Windows ACL inheritance flags",
    ),
    (
        "max connections",
        OptionValue::UInt { min: 0, max: 65535 },
        "limit concurrent connections (0 = unlimited)",
    ),
    ("nt acl support", OptionValue::Bool, "map Windows ACLs to POSIX ACLs"),
    ("oplocks", OptionValue::Bool, "allow client-side caching"),
    (
        "store dos attributes",
        OptionValue::Bool,
        "keep DOS attributes in extended attributes",
    ),
    (
        "strict locking",
        OptionValue::Choice(&["auto", "yes", "no"]),
        "check byte-range locks on every read and write",
    ),
    (
        "strict sync",
        OptionValue::Bool,
        "honour client flush requests with fsync",
    ),
    (
        "csc policy",
        OptionValue::Choice(&["manual", "documents", "programs", "disable"]),
        "Windows offline files policy",
    ),
    (
        "vfs objects",
        OptionValue::VfsObjects,
        "the whole VFS module stack, to add acl_xattr or io_uring (the modules of share properties must stay)",
    ),
    (
        "streams_xattr:prefix",
        OptionValue::XattrPrefix,
        "xattr name prefix of alternate data streams (default user.DosStream.), to read streams another server stored",
    ),
    (
        "streams_xattr:store_stream_type",
        OptionValue::Bool,
        "suffix stream xattrs with :$DATA (Samba's default yes), to read streams another server stored",
    ),
];

fn lookup(key: &str) -> Option<&'static (&'static str, OptionValue, &'static str)> {
    // accept "create mask", "create-mask" and "create_mask", in any case
    let normal = |k: &str| k.trim().to_ascii_lowercase().replace(['-', '_'], " ");
    let key = normal(key);
    ALLOWED.iter().find(|(name, _, _)| normal(name) == key)
}

/// Check one `KEY=VALUE` pair; returns the canonical key and value.
pub fn check(key: &str, value: &str) -> Result<(String, String)> {
    let name = canonical(key)?;
    let (_, kind, _) = lookup(name).expect("canonical names are in the allow list");
    let value = match kind {
        OptionValue::Bool => if validate::boolean(name, value)? { "yes" } else { "no" }.to_string(),
        OptionValue::Octal(max) => {
            let ok = (3..=4).contains(&value.len()) && value.bytes().all(|b| (b'0'..=b'7').contains(&b));
            match u32::from_str_radix(value, 8) {
                Ok(v) if ok && v & !max == 0 => format!("{v:04o}"),
                _ => bail_input!(
                    "{name} {value:?} is not valid: expected octal permission bits such as 0770 (at most {max:04o})"
                ),
            }
        }
        OptionValue::UInt { min, max } => match value.parse::<u64>() {
            Ok(v) if (*min..=*max).contains(&v) && !value.starts_with('+') => v.to_string(),
            _ => bail_input!("{name} {value:?} is not valid: expected a whole number from {min} to {max}"),
        },
        OptionValue::Choice(choices) => match choices.iter().find(|c| c.eq_ignore_ascii_case(value)) {
            Some(c) => c.to_string(),
            None => bail_input!("{name} {value:?} is not valid: expected one of {}", choices.join(", ")),
        },
        OptionValue::Account => {
            validate::account_name(name, value)?;
            if value == "root" {
                bail_input!("{name} = root would give every client root's rights on the share; name a regular account");
            }
            value.to_string()
        }
        OptionValue::VfsObjects => vfs::check_list(value)?,
        OptionValue::XattrPrefix => {
            let ok = value.len() > "user.".len()
                && value.starts_with("user.")
                && value.ends_with('.')
                && !value.ends_with("..")
                && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !ok {
                validate::text(name, value)?;
                bail_input!(
                    "{name} {value:?} would break streams: smbd writes them as the connected user, so the prefix must be in the user. namespace, name something after it and end in '.', e.g. user.DosStream."
                );
            }
            value.to_string()
        }
    };
    Ok((name.to_string(), value))
}

/// Parse the stored form `key=value,key=value` (also what `--option` values are joined into).
pub fn parse(text: &str) -> Result<BTreeMap<String, String>> {
    let mut map = BTreeMap::new();
    for item in validate::list("options", text)? {
        let Some((key, value)) = item.split_once('=') else {
            bail_input!("option {item:?} is not of the form KEY=VALUE, e.g. 'create mask=0770'");
        };
        let (key, value) = check(key, value.trim())?;
        if map.insert(key.clone(), value).is_some() {
            bail_input!("option '{key}' is given twice");
        }
    }
    check_combination(&map)?;
    Ok(map)
}

/// `base` with the `KEY=VALUE` items of `text` set, and those written `KEY=` removed: what
/// `update --option` does.
pub fn merge(base: &BTreeMap<String, String>, text: &str) -> Result<BTreeMap<String, String>> {
    let mut map = base.clone();
    for item in validate::list("options", text)? {
        let Some((key, value)) = item.split_once('=') else {
            bail_input!("option {item:?} is not of the form KEY=VALUE (or KEY= to remove it)");
        };
        if value.trim().is_empty() {
            map.remove(canonical(key)?);
        } else {
            let (key, value) = check(key, value.trim())?;
            map.insert(key, value);
        }
    }
    check_combination(&map)?;
    Ok(map)
}

/// The canonical name of an allowed parameter.
pub fn canonical(key: &str) -> Result<&'static str> {
    if let Some((name, _, _)) = lookup(key) {
        return Ok(name);
    }
    validate::text("option", key)?;
    bail_input!(
        "Samba parameter {key:?} is not in the allow list; allowed are: {}",
        ALLOWED.iter().map(|(n, _, _)| *n).collect::<Vec<_>>().join(", ")
    )
}

/// Rules between parameters that testparm would otherwise reject late.
fn check_combination(map: &BTreeMap<String, String>) -> Result<()> {
    if map.get("oplocks").map(String::as_str) == Some("no")
        && map.get("level2 oplocks").map(String::as_str) == Some("yes")
    {
        bail_input!(
            "'level2 oplocks=yes' needs oplocks; with 'oplocks=no' leave level2 oplocks out (it is switched off too)"
        );
    }
    Ok(())
}

/// The options against the share's own properties: `vfs objects` must keep the modules the
/// share's properties stack (`wanted`, see `vfs::check_against_share`), and the
/// `streams_xattr:` parameters need streams on.
pub fn check_share(options: &BTreeMap<String, String>, streams: bool, wanted: vfs::Wanted) -> Result<()> {
    if let Some(modules) = options.get("vfs objects") {
        vfs::check_against_share(modules, wanted)?;
    }
    if !streams {
        if let Some(key) = options.keys().find(|k| k.starts_with("streams_xattr:")) {
            bail_input!("option '{key}' configures alternate data streams, which this share has off (--streams 0)");
        }
    }
    Ok(())
}

pub fn format(options: &BTreeMap<String, String>) -> String {
    options
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_and_canonical() {
        let map = parse("Create-Mask=0660,force_group=staff,oplocks=off").unwrap();
        assert_eq!(format(&map), "create mask=0660,force group=staff,oplocks=no");
        let map = parse("VFS-Objects=streams_xattr  io_uring,streams-xattr:prefix=user.Ads.").unwrap();
        assert_eq!(
            format(&map),
            "streams_xattr:prefix=user.Ads.,vfs objects=streams_xattr io_uring"
        );
    }

    #[test]
    fn merge_sets_and_removes() {
        let base = parse("create mask=0660,force group=staff").unwrap();
        let merged = merge(&base, "force user=alice,create mask=").unwrap();
        assert_eq!(format(&merged), "force group=staff,force user=alice");
        assert!(merge(&base, "wide links=").is_err());
    }

    #[test]
    fn refused() {
        for bad in [
            "wide links=yes",
            "root preexec=/bin/sh",
            "include=/etc/shadow",
            "path=/etc",
            "create mask=999",
            "create mask=07777",
            "create mask=0660\ninclude=/x",
            "max connections=-1",
            "force user=root x",
            "oplocks=maybe",
            "oplocks",
            "oplocks=yes,oplocks=no",
            "vfs objects=fruit",
            "vfs objects=io_uring streams_xattr",
            "vfs objects=catia fruit",
            "vfs objects=widelinks",
            "streams_xattr:prefix=security.",
            "streams_xattr:prefix=user.",
            "streams_xattr:prefix=user.x y.",
            "streams_xattr:prefix=user.DOSATTRIB",
            "streams_xattr:store_stream_type=maybe",
            "=",
            "",
        ] {
            if bad.is_empty() {
                continue;
            }
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
