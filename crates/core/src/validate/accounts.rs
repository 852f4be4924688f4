//! Accounts a share names: local users and groups (Debian's rules), domain accounts as
//! `DOMAIN\name`, and NetBIOS names (of this node and of a domain).
//!
//! Apart from `hosts.rs` and `paths.rs` because these names reach smb.conf's `valid users` and
//! the AD join (crates/gateway/src/ad), where they follow Samba's and Active Directory's rules
//! rather than DNS or filesystem ones.

use super::check_no_control;
use crate::{bail_input, Result};

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
