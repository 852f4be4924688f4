//! Joining and leaving the domain: `ad-join` and `ad-leave` as plans, and the checks of what
//! an admin gives for them (OU, administrator name, NetBIOS name, free id ranges).
//!
//! Kept apart from `status.rs` (read-only questions to the domain) and `system_steps.rs` (the
//! node's files and services both plans change): this file decides what a membership change
//! does, in which order, and how each step is undone. The types and the public surface are in
//! `mod.rs`.

use std::time::Duration;

use smbgw_core::ad::{self, AdJoin, AdState, IdRange};
use smbgw_core::plan::{FnStep, RemoveFile, WriteFile};
use smbgw_core::{bail_field, bail_input, validate, Error, Plan, Result, ResultExt};
use smbgw_samba::ad::Credentials;
use smbgw_samba::render::Globals;
use smbgw_samba::Samba;

use super::{preflight, JoinRequest};
use crate::placement::lxc_idmap;
use crate::{Change, Gateway};

/// An OU for `createcomputer=`: `Servers/PVE` or `OU=PVE,OU=Servers` style.
fn check_ou(ou: &str) -> Result<()> {
    let ok = !ou.is_empty()
        && ou.len() <= 256
        && ou
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '-' | '.' | '/' | '=' | ','));
    if !ok {
        validate::text("OU", ou)?;
        bail_input!(
            "OU {ou:?} is not valid: use letters, digits, spaces and '_-./=,' (e.g. Servers/PVE or OU=PVE,OU=Servers)"
        );
    }
    Ok(())
}

pub(crate) fn check_user(user: &str) -> Result<()> {
    let ok = !user.is_empty()
        && !user.starts_with(['-', ' '])
        && user.len() <= 64
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@' | ' '));
    if !ok {
        validate::text("user", user)?;
        bail_input!("administrator name {user:?} is not valid (letters, digits, '_-.@', spaces)");
    }
    Ok(())
}

/// This node's NetBIOS name by default: its host name, upper case, cut to 15 characters.
fn default_netbios_name() -> Result<String> {
    let host = nix::unistd::gethostname()
        .map_err(|e| Error::system(format!("cannot read the host name: {e}")))?
        .to_string_lossy()
        .to_string();
    let short: String = host.split('.').next().unwrap_or("").chars().take(15).collect();
    let name = short.to_ascii_uppercase();
    validate::netbios_name("host name", &name)
        .map_err(|e| Error::input(format!("{}; give a NetBIOS name with --netbios", e.message)))?;
    Ok(name)
}

/// Domain ids must not land on local accounts: refuse a range an existing uid/gid falls into,
/// or one that a subordinate id range or a container's id map gives to other ids
/// (`placement::lxc_idmap`; the 1:1 maps of lxc shares with domain accounts are the domain's
/// own).
fn check_idmap_ranges(samba: &Samba, ranges: &[IdRange]) -> Result<()> {
    let mut taken: Vec<(String, u32)> = Vec::new();
    for (what, file) in [("uid", "passwd"), ("gid", "group")] {
        let path = match &samba.layout.sandbox {
            Some(s) => s.root.join("accounts").join(file),
            None => format!("/etc/{file}").into(),
        };
        for line in std::fs::read_to_string(&path).unwrap_or_default().lines() {
            let fields: Vec<&str> = line.split(':').collect();
            if let Some(id) = fields.get(2).and_then(|i| i.parse::<u32>().ok()) {
                taken.push((format!("{what} {id} ({})", fields[0]), id));
            }
        }
    }
    for range in ranges {
        if let Some((what, _)) = taken.iter().find(|(_, id)| range.overlaps(*id, *id)) {
            return Err(Error::input(format!(
                "the id range for domain accounts {range} collides with {what}; move that account or range first"
            )));
        }
    }
    let layout = &samba.layout;
    lxc_idmap::check_domain_ranges(
        ranges,
        &lxc_idmap::node_subids(layout),
        &lxc_idmap::container_configs(layout),
    )
}

impl Gateway {
    /// `ad-join`.
    pub fn ad_join(&self, req: JoinRequest, dry_run: bool) -> Result<Change> {
        validate::domain_name("domain", &req.domain).field("domain")?;
        let domain = req.domain.to_ascii_lowercase();
        if let Some(ou) = &req.ou {
            check_ou(ou).field("ou")?;
        }
        if let Some(dc) = &req.dc {
            validate::host_name("domain controller", dc).field("dc")?;
        }
        check_user(&req.credentials.user).field("user")?;
        if req.credentials.password.is_empty() {
            bail_field!("password", "the administrator password is empty");
        }
        let netbios_name = match &req.netbios_name {
            Some(n) => {
                validate::netbios_name("NetBIOS name", n).field("netbios")?;
                n.to_ascii_uppercase()
            }
            None => default_netbios_name().field("netbios")?,
        };
        let _lock = self.store.lock()?;
        if let Some(state) = self.ad_state()? {
            bail_input!(
                "this node is already joined to {} as {}; run 'pve-smbgateway ad-leave' first",
                state.join.domain,
                state.join.netbios_name
            );
        }
        let pre = preflight::run(&self.samba, &domain, req.dc.as_deref());
        let Some(dc) = pre.dc.clone().filter(|_| pre.ok()) else {
            return Err(Error::input(format!(
                "cannot join {domain}: {} ('pve-smbgateway ad-test --domain {domain}' shows the checklist)",
                pre.failures()
            )));
        };
        let realm = domain.to_ascii_uppercase();
        let workgroup = self.samba.ads_workgroup(&realm, &dc)?;
        validate::netbios_name("the domain's NetBIOS name", &workgroup)?;
        if workgroup.eq_ignore_ascii_case(&netbios_name) {
            bail_field!(
                "netbios",
                "this node's NetBIOS name {netbios_name} equals the domain's; give another one with --netbios"
            );
        }
        check_idmap_ranges(&self.samba, &[ad::IDMAP_DEFAULT, ad::IDMAP_DOMAIN])?;

        let now = ad::now();
        let state = AdState {
            join: AdJoin {
                domain,
                realm,
                workgroup,
                netbios_name,
                dc: req.dc.clone(),
                ou: req.ou.clone(),
                idmap_default: ad::IDMAP_DEFAULT,
                idmap_domain: ad::IDMAP_DOMAIN,
                joined_at: now,
            },
            online: true,
            since: now,
            last_check: Some(now),
            last_success: Some(now),
            last_error: None,
        };
        let mut plan = Plan::new();
        let cfg = self.store.load()?;
        self.krb5_steps(Some(&state.join), &mut plan)?;
        plan.push(WriteFile::new(
            "AD membership",
            &AdState::path(&self.layout),
            state.to_bytes(),
            0o644,
        )?);
        let globals = Globals {
            ad: Some(state.clone()),
            ..self.globals()?
        };
        self.samba_steps_with(&cfg, &globals, &mut plan, false)?;
        let (samba, creds) = (self.samba.clone(), std::rc::Rc::new(req.credentials));
        let (undo_samba, undo_creds) = (samba.clone(), creds.clone());
        let (ou, join_dc) = (state.join.ou.clone(), req.dc.clone());
        plan.push(FnStep::new(
            format!(
                "join {} as {} (net ads join{})",
                state.join.domain,
                state.join.netbios_name,
                ou.as_deref().map(|o| format!(", OU {o}")).unwrap_or_default()
            ),
            move || samba.ads_join(&creds, ou.as_deref(), join_dc.as_deref()),
            move || undo_samba.ads_leave(&undo_creds),
        ));
        self.winbind_steps(true, &mut plan);
        let verify = self.samba.clone();
        plan.push(FnStep::new(
            "verify the join (net ads testjoin, wbinfo -t)",
            move || verify_join(&verify),
            || Ok(()),
        ));
        self.privilege_step(&state.join.workgroup, true, &mut plan);
        self.restart_smbd_step(&mut plan);
        self.execute(plan, dry_run, None, Vec::new())
    }

    /// `ad-leave`: delete the machine account (with credentials) and return to a standalone
    /// server. Shares naming domain accounts must be changed first.
    pub fn ad_leave(&self, credentials: Option<Credentials>, dry_run: bool) -> Result<Change> {
        let _lock = self.store.lock()?;
        let Some(state) = self.ad_state()? else {
            return Err(Error::not_set_up("this node is not joined to a domain"));
        };
        let cfg = self.store.load()?;
        let using: Vec<&str> = cfg
            .shares()
            .iter()
            .filter(|s| s.domain_principals().next().is_some())
            .map(|s| s.name.as_str())
            .collect();
        if !using.is_empty() {
            bail_input!(
                "shares {} grant access to domain accounts of {}; remove those users and groups from them first",
                using.join(", "),
                state.join.workgroup
            );
        }
        let mut notes = Vec::new();
        let mut plan = Plan::new();
        // while winbindd still resolves the domain's names; a domain that does not answer now
        // leaves the entry behind, naming a SID nothing on this node maps any more
        let admins = format!("{}\\{}", state.join.workgroup, super::ADMINISTRATORS);
        match self.samba.lookup_name(&admins) {
            Ok(Some(_)) => self.privilege_step(&state.join.workgroup, false, &mut plan),
            _ => notes.push(format!(
                "{admins} keeps its privilege entry on this node (the domain did not answer to revoke it)"
            )),
        }
        match credentials {
            Some(creds) => {
                check_user(&creds.user)?;
                let samba = self.samba.clone();
                plan.push(FnStep::new(
                    format!(
                        "delete the computer account {} in {} (net ads leave)",
                        state.join.netbios_name, state.join.domain
                    ),
                    move || samba.ads_leave(&creds),
                    || Ok(()),
                ));
            }
            None => notes.push(format!(
                "the computer account {} stays in {}: delete it there, or leave with --password-stdin",
                state.join.netbios_name, state.join.domain
            )),
        }
        self.krb5_steps(None, &mut plan)?;
        self.nsswitch_steps(false, &mut plan)?;
        if let Some(step) = RemoveFile::new("AD membership", &AdState::path(&self.layout))? {
            plan.push(step);
        }
        let globals = Globals {
            ad: None,
            ..self.globals()?
        };
        self.samba_steps_with(&cfg, &globals, &mut plan, false)?;
        self.winbind_steps(false, &mut plan);
        self.restart_smbd_step(&mut plan);
        self.execute(plan, dry_run, None, notes)
    }
}

/// The join works: the machine account answers, and winbind trusts the domain.
fn verify_join(samba: &Samba) -> Result<()> {
    samba.ads_testjoin()?;
    // winbind may need a moment for its first connection to the DC
    let mut last = None;
    for _ in 0..150 {
        match samba.wbinfo(&["-t"]) {
            Ok(_) => return Ok(()),
            Err(e) => last = Some(e),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(last.unwrap_or_else(|| Error::external("wbinfo -t failed")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ou_and_user_checks() {
        check_ou("Servers/PVE").unwrap();
        check_ou("OU=PVE,OU=Servers").unwrap();
        for bad in ["", "a\"b", "a;b", "a\nb", "$(x)"] {
            assert!(check_ou(bad).is_err(), "{bad:?}");
        }
        check_user("Administrator").unwrap();
        check_user("admin@EXAMPLE.COM").unwrap();
        for bad in ["", "a%b", "-U x", "a\\b", "a:b"] {
            assert!(check_user(bad).is_err(), "{bad:?}");
        }
    }
}
