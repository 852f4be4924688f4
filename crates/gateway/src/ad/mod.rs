//! Active Directory membership: join, leave, preflight test and health.
//!
//! A join is one plan: the Kerberos and Samba configuration naming the domain, the machine
//! account (`net ads join`), winbindd, a verification, and smbd restarted in its new role. Any
//! failed step rolls back to the configuration before the join, including the machine account.
//!
//! `membership.rs` builds the join and leave plans, `status.rs` answers `ad-test` and
//! `ad-status`, `system_steps.rs` holds the steps on krb5.conf, nsswitch.conf, winbindd and smbd,
//! and `preflight.rs` the checks before a join. This file keeps the public types and the check
//! of a share's domain accounts against the joined domain.

pub mod preflight;

pub(crate) mod membership;
mod status;
mod system_steps;

use serde::Serialize;
use smbgw_core::ad::AdState;
use smbgw_core::{bail_field, validate, Error, Result, Share};
use smbgw_samba::ad::Credentials;

pub use preflight::Check;

use crate::Gateway;

/// The domain group that administers Windows ACL shares (`--acl-mode windows`): it owns their
/// roots (crates/gateway/src/acl.rs) and holds SeDiskOperatorPrivilege on the node.
pub const ADMINISTRATORS: &str = "Domain Admins";

pub struct JoinRequest {
    pub domain: String,
    pub ou: Option<String>,
    pub netbios_name: Option<String>,
    pub dc: Option<String>,
    pub credentials: Credentials,
}

/// `ad-test`: the checklist.
#[derive(Debug, Serialize)]
pub struct AdTest {
    pub domain: String,
    pub ok: bool,
    pub checks: Vec<Check>,
}

/// `ad-status`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct AdStatus {
    pub joined: bool,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub state: Option<AdState>,
    /// The DC winbind or `net ads info` talks to (with `--check`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dc_in_use: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock_skew: Option<i64>,
    pub winbind_running: bool,
    pub keytab: Option<String>,
    pub keytab_present: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
    /// What the check changed (domain lost or back), for the log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transition: Option<String>,
}

impl Gateway {
    fn ad_state(&self) -> Result<Option<AdState>> {
        AdState::load(&self.layout)
    }

    fn keytab_path(&self) -> std::path::PathBuf {
        match &self.layout.sandbox {
            Some(s) => s.root.join("samba/private/krb5.keytab"),
            None => "/etc/krb5.keytab".into(),
        }
    }

    /// Domain users and groups of a share must exist in the domain this node is joined to.
    pub(crate) fn check_domain_principals(&self, share: &Share) -> Result<()> {
        let mut names = share.domain_principals().peekable();
        let Some(first) = names.peek() else {
            return Ok(());
        };
        // the share's parameter that names the account
        let field = |name: &String| if share.groups.contains(name) { "groups" } else { "users" };
        let Some(state) = self.ad_state()? else {
            return Err(Error::not_set_up(format!(
                "share '{}' names domain accounts, but this node is not joined to a domain; run 'pve-smbgateway ad-join' first",
                share.name
            ))
            .field(field(first)));
        };
        for name in names {
            let domain = validate::principal_domain(name).unwrap_or_default();
            if !domain.eq_ignore_ascii_case(&state.join.workgroup) {
                bail_field!(
                    field(name),
                    "{name:?} is not in the domain this node is joined to ({}\\...)",
                    state.join.workgroup
                );
            }
            let is_group = share.groups.contains(name);
            match self.samba.lookup_name(name)? {
                None => bail_field!(
                    field(name),
                    "{} {name:?} does not exist in {}",
                    if is_group { "group" } else { "user" },
                    state.join.domain
                ),
                Some(r) if r.is_group != is_group => bail_field!(
                    field(name),
                    "{name:?} is a {} in the domain; list it under --{}",
                    if r.is_group { "group" } else { "user" },
                    if r.is_group { "groups" } else { "users" }
                ),
                Some(_) => {}
            }
        }
        Ok(())
    }
}
