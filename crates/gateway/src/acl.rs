//! Access to the share directory for the share's users and groups: POSIX ACL entries on the
//! share root (and default entries, inherited by new files). Samba decides who may connect;
//! the filesystem must then let those users in. Users and groups removed from a share lose
//! their entries again. Ids are numeric, so this works the same with the host's accounts and
//! with a sandbox's own.

use std::path::PathBuf;

use smbgw_core::{bail_input, validate, Result, Share, Step};
use smbgw_samba::Samba;
use smbgw_sys::Command;

pub struct GrantAccess {
    path: PathBuf,
    /// setfacl entries to add, e.g. `u:20000:rwx`.
    grant: Vec<String>,
    /// setfacl entries to remove, e.g. `u:20001`.
    revoke: Vec<String>,
    previous: Option<String>,
}

/// `u:UID` / `g:GID` of the share's users and groups (removed users whose account is gone
/// are skipped: their uid is unknown, and `user delete` refuses while a share names them).
fn subjects(share: &Share, samba: &Samba, strict: bool) -> Result<Vec<String>> {
    let accounts = samba.accounts();
    let mut out = Vec::new();
    // domain accounts: their ids come from winbind (idmap rid, the same on every node)
    for name in share.domain_principals() {
        let group = share.groups.contains(name);
        let id = match samba.lookup_name(name) {
            Ok(Some(r)) => samba.sid_to_id(&r.sid, group).map(Some),
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        match id {
            Ok(Some(id)) => out.push(format!("{}:{id}", if group { "g" } else { "u" })),
            Ok(None) if strict => bail_input!("{name:?} does not exist in the domain"),
            Err(e) if strict => return Err(e),
            _ => {}
        }
    }
    for user in share.users.iter().filter(|u| validate::principal_domain(u).is_none()) {
        match accounts.user(user)? {
            Some(account) => out.push(format!("u:{}", account.uid)),
            None if strict => {
                bail_input!("user '{user}' does not exist; add it first with 'pve-smbgateway user add {user}'")
            }
            None => {}
        }
    }
    for group in share.groups.iter().filter(|g| validate::principal_domain(g).is_none()) {
        match accounts.group_id(group)? {
            Some(gid) => out.push(format!("g:{gid}")),
            None if strict => bail_input!(
                "group '{group}' does not exist; create it, or add a user to it with 'pve-smbgateway user add NAME --groups {group}'"
            ),
            None => {}
        }
    }
    Ok(out)
}

impl GrantAccess {
    /// The step that brings the ACL of `share`'s root in line with its users and groups (and
    /// revokes those only `previous` had), or `None` if nothing is to change.
    pub fn plan(share: &Share, previous: Option<&Share>, samba: &Samba, exists: bool) -> Result<Option<Self>> {
        let perms = if share.read_only { "r-x" } else { "rwx" };
        let wanted = subjects(share, samba, true)?;
        let had = match previous {
            Some(p) if p.path == share.path => subjects(p, samba, false)?,
            _ => Vec::new(),
        };
        let grant: Vec<String> = wanted.iter().map(|s| format!("{s}:{perms}")).collect();
        let revoke: Vec<String> = had.into_iter().filter(|s| !wanted.contains(s)).collect();
        if grant.is_empty() && revoke.is_empty() {
            return Ok(None);
        }
        let path = PathBuf::from(&share.path);
        let previous_acl = if exists { Some(current_acl(&path)?) } else { None };
        if let Some(acl) = &previous_acl {
            let long = |e: &str| e.replacen("u:", "user:", 1).replacen("g:", "group:", 1);
            let has =
                |e: &str| acl.lines().any(|l| l == long(e)) && acl.lines().any(|l| l == format!("default:{}", long(e)));
            let present = |s: &str| acl.lines().any(|l| l.starts_with(&format!("{}:", long(s))));
            if grant.iter().all(|e| has(e)) && !revoke.iter().any(|s| present(s)) {
                return Ok(None);
            }
        }
        Ok(Some(Self {
            path,
            grant,
            revoke,
            previous: previous_acl,
        }))
    }
}

fn current_acl(path: &std::path::Path) -> Result<String> {
    Ok(Command::new("getfacl")
        .args(["--absolute-names", "--numeric", "--omit-header"])
        .arg(path)
        .run()?
        .stdout)
}

impl Step for GrantAccess {
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.grant.is_empty() {
            parts.push(format!("grant {}", self.grant.join(",")));
        }
        if !self.revoke.is_empty() {
            parts.push(format!("revoke {}", self.revoke.join(",")));
        }
        format!(
            "{} on {} (POSIX ACL, inherited by new files)",
            parts.join(", "),
            self.path.display()
        )
    }

    fn apply(&mut self) -> Result<()> {
        // the path was checked when the plan was made; check again right before acting as root
        validate::path_on_disk(&self.path.to_string_lossy())?;
        if !self.revoke.is_empty() {
            let spec: Vec<String> = self.revoke.iter().flat_map(|e| [e.clone(), format!("d:{e}")]).collect();
            Command::new("setfacl")
                .arg("-x")
                .arg(spec.join(","))
                .arg(&self.path)
                .run()?;
        }
        if !self.grant.is_empty() {
            let spec: Vec<String> = self.grant.iter().flat_map(|e| [e.clone(), format!("d:{e}")]).collect();
            Command::new("setfacl")
                .arg("-m")
                .arg(spec.join(","))
                .arg(&self.path)
                .run()?;
        }
        Ok(())
    }

    fn undo(&mut self) -> Result<()> {
        match &self.previous {
            Some(acl) => {
                Command::new("setfacl").arg("-b").arg(&self.path).run()?;
                Command::new("setfacl")
                    .args(["-M", "-"])
                    .arg(&self.path)
                    .stdin(acl.clone())
                    .run()
                    .map(|_| ())
            }
            // the directory was created by this plan and is removed by its own undo
            None => Ok(()),
        }
    }
}
