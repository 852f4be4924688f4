//! Samba users: a unix account (without login shell) plus the Samba password.

use smbgw_core::plan::Recovery;
use smbgw_core::{bail_input, validate, Plan, Result, Step};
use smbgw_samba::users::{self, SambaUser};
use smbgw_samba::Samba;

use crate::{Change, Gateway};

/// Regular accounts (Debian policy); the others belong to the system and never become Samba users.
const REGULAR_UIDS: std::ops::Range<u32> = 1000..60000;

impl Gateway {
    pub fn user_list(&self) -> Result<Vec<SambaUser>> {
        users::list(&self.samba)
    }

    /// Add a user (or give an existing unix account a Samba password), optionally adding it to groups.
    pub fn user_add(&self, name: &str, password: &str, groups: &[String], dry_run: bool) -> Result<Change> {
        validate::account_name("user name", name)?;
        groups
            .iter()
            .try_for_each(|g| validate::account_name("group name", g))?;
        users::check_password(password)?;
        let _lock = self.store.lock()?;
        if users::list(&self.samba)?.iter().any(|u| u.name == name) {
            bail_input!("user '{name}' already exists; change its password with 'pve-smbgateway user passwd {name}'");
        }
        for group in groups {
            if let Some(gid) = self.samba.accounts().group_id(group)? {
                if !REGULAR_UIDS.contains(&gid) {
                    bail_input!("'{group}' is a system group (gid {gid}); Samba users may only join regular groups");
                }
            }
        }
        if let Some(account) = self.samba.accounts().user(name)? {
            if !REGULAR_UIDS.contains(&account.uid) && !account.ours {
                bail_input!(
                    "'{name}' is a system account (uid {}); Samba users must be regular accounts",
                    account.uid
                );
            }
        }
        let mut plan = Plan::new();
        // Samba's tools need our smb.conf (in a sandbox it names the password database)
        // a running smbd is reloaded with the (re)generated config; a stopped one stays stopped
        let cfg = self.store.load()?;
        self.samba_steps(&cfg, &mut plan, self.samba.smbd_pid().is_some())?;
        plan.push(EnsureAccount {
            samba: self.samba.clone(),
            name: name.into(),
            groups: groups.to_vec(),
            created: false,
        });
        plan.push(SetPassword {
            samba: self.samba.clone(),
            name: name.into(),
            password: password.into(),
            new: true,
        });
        self.execute(plan, dry_run, None, Vec::new())
    }

    pub fn user_passwd(&self, name: &str, password: &str, dry_run: bool) -> Result<Change> {
        validate::account_name("user name", name)?;
        users::check_password(password)?;
        let _lock = self.store.lock()?;
        self.require_user(name)?;
        let mut plan = Plan::new();
        plan.push(SetPassword {
            samba: self.samba.clone(),
            name: name.into(),
            password: password.into(),
            new: false,
        });
        self.execute(plan, dry_run, None, Vec::new())
    }

    /// Remove the Samba user, and its unix account if the gateway created it. Refused while a
    /// share still names the user.
    pub fn user_delete(&self, name: &str, dry_run: bool) -> Result<Change> {
        validate::account_name("user name", name)?;
        let _lock = self.store.lock()?;
        // an account the gateway made whose Samba user is gone (a crash) may be removed too
        if !self.samba.accounts().user(name)?.is_some_and(|a| a.ours) {
            self.require_user(name)?;
        }
        let users_of: Vec<String> = self
            .store
            .load()?
            .shares()
            .iter()
            .filter(|s| s.users.iter().any(|u| u == name))
            .map(|s| s.name.clone())
            .collect();
        if !users_of.is_empty() {
            bail_input!(
                "user '{name}' is still granted access to share(s) {}; remove it there first",
                users_of.join(", ")
            );
        }
        let mut plan = Plan::new();
        plan.push(DeleteUser {
            samba: self.samba.clone(),
            name: name.into(),
        });
        self.execute(plan, dry_run, None, Vec::new())
    }

    fn require_user(&self, name: &str) -> Result<()> {
        if !users::list(&self.samba)?.iter().any(|u| u.name == name) {
            bail_input!("user '{name}' is not a Samba user; add it with 'pve-smbgateway user add {name}'");
        }
        Ok(())
    }
}

struct EnsureAccount {
    samba: Samba,
    name: String,
    groups: Vec<String>,
    created: bool,
}

impl Step for EnsureAccount {
    fn describe(&self) -> String {
        let groups = if self.groups.is_empty() {
            String::new()
        } else {
            format!(" in group(s) {}", self.groups.join(","))
        };
        format!(
            "make sure the unix account '{}' exists (no login shell){groups}",
            self.name
        )
    }
    fn apply(&mut self) -> Result<()> {
        let accounts = self.samba.accounts();
        self.created = accounts.ensure_user(&self.name)?;
        for group in &self.groups {
            accounts.add_to_group(&self.name, group)?;
        }
        Ok(())
    }
    fn undo(&mut self) -> Result<()> {
        if self.created {
            self.samba.accounts().remove_user(&self.name)?;
        }
        Ok(())
    }
    /// Asked as the plan starts: an account that is missing now is this step's to create.
    fn intent(&self) -> Option<Recovery> {
        match self.samba.accounts().user(&self.name) {
            Ok(None) => Some(Recovery::AddsAccount {
                name: self.name.clone(),
            }),
            _ => None,
        }
    }
}

struct SetPassword {
    samba: Samba,
    name: String,
    password: String,
    new: bool,
}

impl Step for SetPassword {
    fn describe(&self) -> String {
        let what = if self.new { "add" } else { "change the password of" };
        format!("{what} Samba user '{}' (password passed on stdin)", self.name)
    }
    fn apply(&mut self) -> Result<()> {
        users::set_password(&self.samba, &self.name, &self.password)
    }
    fn undo(&mut self) -> Result<()> {
        if self.new {
            users::delete(&self.samba, &self.name)?;
        }
        Ok(())
    }
}

struct DeleteUser {
    samba: Samba,
    name: String,
}

impl Step for DeleteUser {
    fn describe(&self) -> String {
        format!(
            "delete Samba user '{}' and the unix account if pve-smbgateway created it",
            self.name
        )
    }
    fn apply(&mut self) -> Result<()> {
        if users::exists(&self.samba, &self.name)? {
            users::delete(&self.samba, &self.name)?;
        }
        self.samba.accounts().remove_user(&self.name)
    }
    fn undo(&mut self) -> Result<()> {
        Ok(())
    }
    fn intent(&self) -> Option<Recovery> {
        Some(Recovery::RemovesAccount {
            name: self.name.clone(),
        })
    }
}
