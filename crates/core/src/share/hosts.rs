//! The host rules of a share: `hosts allow` and `hosts deny` together as smbd reads them, what
//! is wrong with the entries of a stored config from an earlier version, and how those entries
//! still load.
//!
//! Each entry on its own is checked and normalised by crates/core/src/validate/hosts.rs; this
//! file holds the rules between the two lists of one share, which only make sense knowing how
//! smbd combines them. Apart from `mod.rs` so the share's build reads as the order of its checks.

use super::Share;
use crate::{bail_field, bail_input, validate, Result};

impl Share {
    /// `hosts allow` and `hosts deny` together, as smbd reads them (checked against smbd 4.17):
    /// a client `hosts allow` matches is let in, whatever `hosts deny` says; else one `hosts
    /// deny` matches is refused; any other client is let in. So with both lists, a denied entry
    /// inside an allowed one has no effect, and an allowed entry outside every denied one
    /// changes nothing: the hosts it does not name get in too. Both are refused; the entries
    /// are normalised already, so `10.0.0.0/08` meets `10.0.0.0/8` here.
    pub(super) fn check_hosts(&self) -> Result<()> {
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
}

/// Host entries of a stored config that today's checks refuse, kept verbatim when they are
/// safe in smb.conf (one word of address or name characters): what earlier versions accepted.
pub(super) fn legacy_hosts(key: &str, value: &str) -> Result<Vec<String>> {
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
