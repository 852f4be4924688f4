//! Access to the share directory for the share's users and groups: POSIX ACL entries on the
//! share root (and default entries, inherited by new files). Samba decides who may connect;
//! the filesystem must then let those users in. Ids are numeric, so this works the same with
//! the host's accounts and with a sandbox's own.

use std::path::PathBuf;

use smbgw_core::{bail_input, Result, Share, Step};
use smbgw_samba::accounts::Accounts;
use smbgw_sys::Command;

pub struct GrantAccess {
    path: PathBuf,
    entries: Vec<String>,
    previous: Option<String>,
}

impl GrantAccess {
    /// The step that grants `share`'s users and groups access, or `None` if they already have it.
    pub fn plan(share: &Share, accounts: &Accounts, exists: bool) -> Result<Option<Self>> {
        let perms = if share.read_only { "r-x" } else { "rwx" };
        let mut entries = Vec::new();
        for user in &share.users {
            let Some(account) = accounts.user(user)? else {
                bail_input!("user '{user}' does not exist; add it first with 'pve-smbgateway user add {user}'");
            };
            entries.push(format!("u:{}:{perms}", account.uid));
        }
        for group in &share.groups {
            let Some(gid) = accounts.group_id(group)? else {
                bail_input!("group '{group}' does not exist; create it, or add a user to it with 'pve-smbgateway user add NAME --groups {group}'");
            };
            entries.push(format!("g:{gid}:{perms}"));
        }
        if entries.is_empty() {
            return Ok(None);
        }
        let path = PathBuf::from(&share.path);
        let previous = if exists { Some(current_acl(&path)?) } else { None };
        if let Some(acl) = &previous {
            let have = |e: &String| {
                let full = e.replacen("u:", "user:", 1).replacen("g:", "group:", 1);
                acl.lines().any(|l| l == full) && acl.lines().any(|l| l == format!("default:{full}"))
            };
            if entries.iter().all(have) {
                return Ok(None);
            }
        }
        Ok(Some(Self {
            path,
            entries,
            previous,
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
        format!(
            "grant {} on {} (POSIX ACL, inherited by new files)",
            self.entries.join(","),
            self.path.display()
        )
    }

    fn apply(&mut self) -> Result<()> {
        let spec: Vec<String> = self
            .entries
            .iter()
            .flat_map(|e| [e.clone(), format!("d:{e}")])
            .collect();
        Command::new("setfacl")
            .arg("-m")
            .arg(spec.join(","))
            .arg(&self.path)
            .run()?;
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
