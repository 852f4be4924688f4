//! Share operations: list, show, create, update, delete, apply.

use std::path::Path;

use smbgw_core::share::Properties;
use smbgw_core::store::SharesConfig;
use smbgw_core::{bail_input, validate, Error, Mode, Plan, Result, Share};

use crate::acl::GrantAccess;
use crate::{guests, journal, Change, Gateway};

impl Gateway {
    pub fn list(&self) -> Result<Vec<Share>> {
        Ok(self.store.load()?.shares().to_vec())
    }

    pub fn show(&self, name: &str) -> Result<Share> {
        validate::share_name(name)?;
        let cfg = self.store.load()?;
        cfg.get(name).cloned().ok_or_else(|| no_such_share(name, &cfg))
    }

    pub fn create(&self, name: &str, props: &Properties, dry_run: bool) -> Result<Change> {
        let mut share = Share::from_properties(name, props)?;
        let _lock = self.store.lock()?;
        let mut cfg = self.store.load()?;
        cfg.insert(share.clone())?;
        self.check_users(&share)?;
        let (mut plan, mut notes) = (Plan::new(), Vec::new());
        let others = cfg.shares().iter().filter(|s| s.name != share.name);
        let taken: Vec<u32> = others.filter_map(guest_id).collect();
        if share.vm.is_some() {
            // the VM brings its own data disk: nothing on the node's filesystems
            self.vm_create_steps(&mut share, &taken, &mut plan)?;
        } else {
            self.path_steps(&mut share, None, &mut plan, &mut notes, false)?;
            self.user_quota_steps(&share, None, &mut plan)?;
        }
        if share.container.is_some() {
            self.container_create_steps(&mut share, &taken, &mut plan)?;
        }
        cfg.replace(share.clone())?;
        self.config_step(&cfg, &mut plan)?;
        self.samba_steps(&cfg, &mut plan, share.mode == Mode::Native)?;
        self.execute(plan, dry_run, Some(share), notes)
    }

    pub fn update(&self, name: &str, changes: &Properties, delete: &[String], dry_run: bool) -> Result<Change> {
        validate::share_name(name)?;
        let _lock = self.store.lock()?;
        let mut cfg = self.store.load()?;
        let old = cfg.get(name).cloned().ok_or_else(|| no_such_share(name, &cfg))?;
        let mut share = old.updated(changes, delete)?;
        if share.path != old.path && old.container.is_some() {
            bail_input!(
                "share '{}' is mounted into its container from {} at create; its path cannot change: create a new share and move the data",
                old.name,
                old.path
            );
        }
        if share.path != old.path && old.quota_backend != "auto" {
            bail_input!(
                "share '{}' lives in its own {} volume at {}; its path cannot change: create a new share and move the data",
                old.name,
                old.quota_backend,
                old.path
            );
        }
        self.check_users(&share)?;
        guests::check_guest_change(&share, &old)?;
        let (mut plan, mut notes) = (Plan::new(), Vec::new());
        if share.vm.is_none() {
            self.path_steps(&mut share, Some(&old), &mut plan, &mut notes, false)?;
            self.user_quota_steps(&share, Some(&old), &mut plan)?;
        }
        cfg.replace(share.clone())?;
        self.config_step(&cfg, &mut plan)?;
        self.samba_steps(&cfg, &mut plan, share.mode == Mode::Native)?;
        if share.container.is_some() {
            self.container_converge_steps(&share, &mut plan)?;
        }
        self.vm_converge_steps(&share, &mut plan)?;
        self.execute(plan, dry_run, Some(share), notes)
    }

    /// Remove a share. Its data stays unless `purge_data`.
    pub fn delete(&self, name: &str, purge_data: bool, dry_run: bool) -> Result<Change> {
        validate::share_name(name)?;
        let _lock = self.store.lock()?;
        let mut cfg = self.store.load()?;
        let share = cfg.remove(name).map_err(|_| no_such_share(name, &cfg))?;
        let mut plan = Plan::new();
        self.config_step(&cfg, &mut plan)?;
        self.samba_steps(&cfg, &mut plan, share.mode == Mode::Native)?;
        // the container goes before the data: it holds the share directory mounted
        self.container_destroy_steps(&share, &mut plan);
        let mut notes = Vec::new();
        if share.vm.is_some() {
            // the data is the VM's disk, not a directory on the node
            self.vm_destroy_steps(&share, purge_data, &mut plan, &mut notes);
            return self.execute(plan, dry_run, Some(share), notes);
        }
        if purge_data {
            let mut on_node = cfg.shares().iter().filter(|s| s.vm.is_none());
            if let Some(other) = on_node.find(|s| overlaps(&s.path, &share.path)) {
                bail_input!(
                    "--purge-data refused: share '{}' uses {} too; delete it first or delete without --purge-data",
                    other.name,
                    other.path
                );
            }
            validate::path_on_disk(&share.path)?;
            validate::protected_trees(&share.path, &self.layout.owned_dirs())?;
        } else if Path::new(&share.path).exists() {
            notes.push(format!("the data stays in {}; delete it with --purge-data", share.path));
        }
        // last: purging cannot be undone, so it runs only after everything else succeeded
        self.release_steps(&share, purge_data, &mut plan)?;
        let marker = self.purge_marker(&share.name);
        let change = match self.execute(plan, dry_run, Some(share), notes) {
            Ok(change) => change,
            // the rollback brought the share back; with half its data gone it is not served
            Err(e) if marker.exists() => return Err(self.stop_serving_after_purge(e)),
            Err(e) => return Err(e),
        };
        if !dry_run {
            let _ = smbgw_sys::fs::remove_if_exists(&marker);
        }
        Ok(change)
    }

    /// After a purge stopped part-way: Samba config without the (now marked) share.
    fn stop_serving_after_purge(&self, err: Error) -> Error {
        let mut plan = Plan::new();
        let result = self
            .store
            .load()
            .and_then(|cfg| self.samba_steps(&cfg, &mut plan, true))
            .and_then(|()| plan.apply().map(|_| ()));
        let outcome = match result {
            Ok(()) => "it is no longer served".to_string(),
            Err(e) => format!("it could not be taken out of Samba ({e}); run 'pve-smbgateway apply'"),
        };
        Error {
            kind: err.kind,
            message: format!("{}; {outcome}", err.message),
        }
    }

    /// Re-converge this node from the stored config. A second run changes nothing.
    pub fn apply(&self, dry_run: bool) -> Result<Change> {
        let _lock = self.store.lock()?;
        let cfg = self.store.load()?;
        let (mut plan, mut notes) = (Plan::new(), Vec::new());
        for share in cfg.shares() {
            if share.vm.is_none() {
                self.path_steps(&mut share.clone(), Some(share), &mut plan, &mut notes, true)?;
            }
            self.container_converge_steps(share, &mut plan)?;
            self.vm_converge_steps(share, &mut plan)?;
        }
        // a domain member needs winbindd before smbd can serve domain users
        if self.globals()?.ad.is_some() && self.samba.winbindd_pid().is_none() {
            self.winbind_steps(true, &mut plan);
        }
        match self.ha_config()? {
            Some(ha) => self.ha_steps(&ha, &mut plan)?,
            None => self.samba_steps(&cfg, &mut plan, true)?,
        }
        let change = self.execute(plan, dry_run, None, notes)?;
        if !dry_run {
            journal::end(&self.layout);
        }
        Ok(change)
    }

    /// Every user of the share needs a Samba password, or it could never connect.
    fn check_users(&self, share: &Share) -> Result<()> {
        self.check_domain_principals(share)?;
        let mut local = share
            .users
            .iter()
            .filter(|u| validate::principal_domain(u).is_none())
            .peekable();
        if local.peek().is_none() {
            return Ok(());
        }
        let known = smbgw_samba::users::list(&self.samba)?;
        for user in local {
            if !known.iter().any(|u| &u.name == user) {
                bail_input!("user '{user}' is not a Samba user; add it first with 'pve-smbgateway user add {user}'");
            }
        }
        Ok(())
    }

    /// The share directory: checked on disk, its storage created if missing (with its quota),
    /// opened to the share's users. With `repair_only` (apply), shares whose directory exists
    /// and that have no quota are left as the admin has them.
    fn path_steps(
        &self,
        share: &mut Share,
        previous: Option<&Share>,
        plan: &mut Plan,
        notes: &mut Vec<String>,
        repair_only: bool,
    ) -> Result<()> {
        validate::path_on_disk(&share.path)?;
        validate::protected_trees(&share.path, &self.layout.owned_dirs())?;
        if repair_only && share.quota.is_none() && Path::new(&share.path).exists() {
            return Ok(());
        }
        if let Some(dir) = closed_ancestor(Path::new(&share.path)) {
            notes.push(format!(
                "{} is not searchable by other users, so SMB users cannot reach {}; run 'chmod o+x {}'",
                dir.display(),
                share.path,
                dir.display()
            ));
        }
        let existed = self.storage_steps(share, previous, plan, notes)?;
        if repair_only && existed {
            return Ok(());
        }
        // on another node of the cluster a user may not exist yet: apply repairs what it can
        let revoke_from = if repair_only { None } else { previous };
        match GrantAccess::plan(share, revoke_from, &self.samba, existed) {
            Ok(Some(step)) => plan.push(step),
            Ok(None) => {}
            Err(e) if repair_only => notes.push(format!("share '{}': {}", share.name, e.message)),
            Err(e) => return Err(e),
        }
        Ok(())
    }

    pub(crate) fn config_step(&self, cfg: &SharesConfig, plan: &mut Plan) -> Result<()> {
        let step =
            smbgw_core::plan::WriteFile::new("share config", &self.store.path(), cfg.render().into_bytes(), 0o640)?;
        if step.changes() {
            plan.push(step);
        }
        Ok(())
    }
}

/// The first directory above `path` that other users cannot pass through (no `o+x`): smbd
/// works as the connected user and could not enter the share. ACLs may still allow it; this is
/// a warning, not an error.
pub(crate) fn closed_ancestor(path: &Path) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    path.ancestors()
        .skip(1)
        .filter_map(|p| std::fs::metadata(p).ok().map(|m| (p, m)))
        .find(|(_, m)| m.permissions().mode() & 0o001 == 0)
        .map(|(p, _)| p.to_path_buf())
}

/// The guest id of an lxc or vm share.
fn guest_id(share: &Share) -> Option<u32> {
    share
        .container
        .as_ref()
        .and_then(|c| c.id)
        .or_else(|| share.vm.as_ref()?.id)
}

fn no_such_share(name: &str, cfg: &SharesConfig) -> Error {
    let known: Vec<&str> = cfg.shares().iter().map(|s| s.name.as_str()).collect();
    if known.is_empty() {
        Error::input(format!("share '{name}' does not exist; there are no shares yet"))
    } else {
        Error::input(format!(
            "share '{name}' does not exist; existing shares: {}",
            known.join(", ")
        ))
    }
}

/// Whether one path is the other or inside it.
fn overlaps(a: &str, b: &str) -> bool {
    let inside = |x: &str, y: &str| x == y || x.starts_with(&format!("{}/", y.trim_end_matches('/')));
    inside(a, b) || inside(b, a)
}
