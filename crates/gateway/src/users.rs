//! Samba users: a unix account (without login shell) plus the Samba password. Also the checks
//! that the accounts a share names (forced user and group, groups) exist and may be used.

use smbgw_core::plan::Recovery;
use smbgw_core::{bail_field, bail_input, validate, Error, Plan, Result, ResultExt, Share, Step};
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
        validate::account_name("user name", name).field("user")?;
        groups
            .iter()
            .try_for_each(|g| validate::account_name("group name", g))
            .field("groups")?;
        users::check_password(password).field("password")?;
        let _lock = self.store.lock()?;
        if users::list(&self.samba)?.iter().any(|u| u.name == name) {
            bail_field!(
                "user",
                "user '{name}' already exists; change its password with 'pve-smbgateway user passwd {name}'"
            );
        }
        for group in groups {
            if let Some(gid) = self.samba.accounts().group_id(group)? {
                if !REGULAR_UIDS.contains(&gid) {
                    bail_field!(
                        "groups",
                        "'{group}' is a system group (gid {gid}); Samba users may only join regular groups"
                    );
                }
            }
        }
        match self.samba.accounts().user(name)? {
            Some(account) if !REGULAR_UIDS.contains(&account.uid) && !account.ours => bail_field!(
                "user",
                "'{name}' is a system account (uid {}); Samba users must be regular accounts",
                account.uid
            ),
            Some(_) => {}
            // a new account gets its own group of the same name, with a fresh id
            None if self.samba.accounts().group_id(name)?.is_some() => bail_field!(
                "user",
                "a group named '{name}' exists already, so a new user '{name}' cannot get its own group; choose another user name"
            ),
            None => {}
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
        self.new_member_home_steps(name, groups, &cfg, &mut plan)?;
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
        let cfg = self.store.load()?;
        let shares_where = |named: &dyn Fn(&Share) -> bool| -> Vec<String> {
            cfg.shares()
                .iter()
                .filter(|s| named(s))
                .map(|s| s.name.clone())
                .collect()
        };
        let users_of = shares_where(&|s| s.users.iter().any(|u| u == name));
        if !users_of.is_empty() {
            bail_input!(
                "user '{name}' is still granted access to share(s) {}; remove it there first",
                users_of.join(", ")
            );
        }
        let forced_by = shares_where(&|s| forced_user(s) == Some(name));
        if !forced_by.is_empty() {
            bail_input!(
                "user '{name}' is the forced user ('force user') of share(s) {}; change that option there first",
                forced_by.join(", ")
            );
        }
        let uid = self.samba.accounts().user(name)?.map(|a| a.uid);
        let mut plan = Plan::new();
        plan.push(DeleteUser {
            samba: self.samba.clone(),
            name: name.into(),
        });
        // after the account is gone, so the client cannot log on again when it reconnects
        plan.push(CloseSessions {
            samba: self.samba.clone(),
            name: name.into(),
            uid,
        });
        self.execute(plan, dry_run, None, Vec::new())
    }

    /// The accounts a share names besides its users: `force user` is a Samba user among the
    /// share's users (smbd acts as that user, so it needs the ACL the share's users get);
    /// `force group` and the share's local groups are existing regular groups, as for `user add
    /// --groups` (a system group such as root or disk would hand out the system's files).
    pub(crate) fn check_share_accounts(&self, share: &Share) -> Result<()> {
        let name = &share.name;
        if let Some(user) = forced_user(share) {
            if !users::exists(&self.samba, user)? {
                if let Some(account) = self.samba.accounts().user(user)? {
                    if !REGULAR_UIDS.contains(&account.uid) {
                        bail_input!(
                            "share '{name}': force user '{user}' is a system account (uid {}); name a regular Samba user",
                            account.uid
                        );
                    }
                }
                bail_input!(
                    "share '{name}': force user '{user}' is not a Samba user, so every client would be refused (NT_STATUS_NO_SUCH_USER); add it with 'pve-smbgateway user add {user}'"
                );
            }
            let restricted = !share.users.is_empty() || !share.groups.is_empty();
            if restricted && !share.users.iter().any(|u| u == user) {
                bail_input!(
                    "share '{name}': force user '{user}' is not one of the share's users, so the files would be worked on as an account the share grants no access to; add {user} to --users"
                );
            }
        }
        let forced_group = share.options.get("force group").map(|g| ("force group", g));
        let local_groups = share
            .groups
            .iter()
            .filter(|g| validate::principal_domain(g).is_none())
            .map(|g| ("group", g));
        for (what, group) in forced_group.into_iter().chain(local_groups) {
            match self.samba.accounts().group_id(group)? {
                Some(gid) if !REGULAR_UIDS.contains(&gid) => bail_field!(
                    if what == "group" { "groups" } else { "options" },
                    "share '{name}': {what} '{group}' is a system group (gid {gid}); shares may only name regular groups (gid {}-{})",
                    REGULAR_UIDS.start,
                    REGULAR_UIDS.end - 1
                ),
                Some(_) => {}
                None => bail_field!(
                    if what == "group" { "groups" } else { "options" },
                    "share '{name}': {what} '{group}' does not exist; create it, or add a user to it with 'pve-smbgateway user add NAME --groups {group}'"
                ),
            }
        }
        Ok(())
    }

    fn require_user(&self, name: &str) -> Result<()> {
        if !users::list(&self.samba)?.iter().any(|u| u.name == name) {
            return Err(Error::not_found(format!(
                "user '{name}' is not a Samba user; add it with 'pve-smbgateway user add {name}'"
            ))
            .field("user"));
        }
        Ok(())
    }
}

/// The user a share's clients act as (`--option 'force user=NAME'`).
fn forced_user(share: &Share) -> Option<&str> {
    share.options.get("force user").map(String::as_str)
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
    /// A deleted password cannot come back: say so rather than report a clean rollback.
    fn undo(&mut self) -> Result<()> {
        Err(smbgw_core::Error::system(format!(
            "user '{0}' stays deleted (its Samba password cannot be restored); add it again with 'pve-smbgateway user add {0}' if it should exist",
            self.name
        )))
    }
}

/// End the open SMB sessions of a deleted user: an authenticated session outlives the account
/// otherwise and keeps working on the share.
struct CloseSessions {
    samba: Samba,
    name: String,
    uid: Option<u32>,
}

impl Step for CloseSessions {
    fn describe(&self) -> String {
        format!(
            "end the open SMB sessions of '{}' (their smbd processes, found with smbstatus)",
            self.name
        )
    }
    fn apply(&mut self) -> Result<()> {
        if self.samba.smbd_pid().is_none() {
            return Ok(());
        }
        let pids = users::session_pids(&self.samba, &self.name, self.uid)?;
        users::close_connections(&self.samba, &pids)
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
