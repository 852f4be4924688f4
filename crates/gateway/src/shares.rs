//! Share operations: list, show, create, update, delete, apply.

use std::path::Path;

use smbgw_core::plan::CreateDir;
use smbgw_core::share::Properties;
use smbgw_core::store::SharesConfig;
use smbgw_core::{bail_input, validate, Error, Mode, Plan, Result, Share, Step};

use crate::acl::GrantAccess;
use crate::{journal, Change, Gateway};

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
        let share = Share::from_properties(name, props)?;
        let _lock = self.store.lock()?;
        let mut cfg = self.store.load()?;
        cfg.insert(share.clone())?;
        let mut plan = Plan::new();
        self.check_placement(&share)?;
        self.check_users(&share)?;
        self.path_steps(&share, &mut plan, false)?;
        self.config_step(&cfg, &mut plan)?;
        self.samba_steps(&cfg, &mut plan, true)?;
        self.execute(plan, dry_run, Some(share), Vec::new())
    }

    pub fn update(&self, name: &str, changes: &Properties, delete: &[String], dry_run: bool) -> Result<Change> {
        validate::share_name(name)?;
        let _lock = self.store.lock()?;
        let mut cfg = self.store.load()?;
        let old = cfg.get(name).cloned().ok_or_else(|| no_such_share(name, &cfg))?;
        let share = old.updated(changes, delete)?;
        cfg.replace(share.clone())?;
        let mut plan = Plan::new();
        self.check_users(&share)?;
        self.path_steps(&share, &mut plan, false)?;
        self.config_step(&cfg, &mut plan)?;
        self.samba_steps(&cfg, &mut plan, true)?;
        self.execute(plan, dry_run, Some(share), Vec::new())
    }

    /// Remove a share. Its data stays unless `purge_data`.
    pub fn delete(&self, name: &str, purge_data: bool, dry_run: bool) -> Result<Change> {
        validate::share_name(name)?;
        let _lock = self.store.lock()?;
        let mut cfg = self.store.load()?;
        let share = cfg.remove(name).map_err(|_| no_such_share(name, &cfg))?;
        let mut plan = Plan::new();
        self.config_step(&cfg, &mut plan)?;
        self.samba_steps(&cfg, &mut plan, true)?;
        let mut notes = Vec::new();
        if purge_data {
            if let Some(other) = cfg.shares().iter().find(|s| overlaps(&s.path, &share.path)) {
                bail_input!(
                    "--purge-data refused: share '{}' uses {} too; delete it first or delete without --purge-data",
                    other.name,
                    other.path
                );
            }
            if Path::new(&share.path).exists() {
                validate::path_on_disk(&share.path)?;
                plan.push(PurgeData {
                    path: share.path.clone(),
                });
            }
        } else if Path::new(&share.path).exists() {
            notes.push(format!("the data stays in {}; delete it with --purge-data", share.path));
        }
        self.execute(plan, dry_run, Some(share), notes)
    }

    /// Re-converge this node from the stored config. A second run changes nothing.
    pub fn apply(&self, dry_run: bool) -> Result<Change> {
        let _lock = self.store.lock()?;
        let cfg = self.store.load()?;
        let mut plan = Plan::new();
        for share in cfg.shares() {
            self.path_steps(share, &mut plan, true)?;
        }
        self.samba_steps(&cfg, &mut plan, true)?;
        let change = self.execute(plan, dry_run, None, Vec::new())?;
        if !dry_run {
            journal::end(&self.layout);
        }
        Ok(change)
    }

    fn check_placement(&self, share: &Share) -> Result<()> {
        match share.mode {
            Mode::Native => Ok(()),
            other => bail_input!(
                "placement '{}' is not available in this version of pve-smbgateway; use --mode native",
                other.as_str()
            ),
        }
    }

    /// Every user of the share needs a Samba password, or it could never connect.
    fn check_users(&self, share: &Share) -> Result<()> {
        if share.users.is_empty() {
            return Ok(());
        }
        let known = smbgw_samba::users::list(&self.samba)?;
        for user in &share.users {
            if !known.iter().any(|u| &u.name == user) {
                bail_input!("user '{user}' is not a Samba user; add it first with 'pve-smbgateway user add {user}'");
            }
        }
        Ok(())
    }

    /// The share directory: checked on disk, created if missing, opened to the share's users.
    /// With `repair_only` (apply), existing directories are left as the admin has them.
    fn path_steps(&self, share: &Share, plan: &mut Plan, repair_only: bool) -> Result<()> {
        validate::path_on_disk(&share.path)?;
        for owned in self.layout.owned_dirs() {
            if overlaps(&share.path, &owned.to_string_lossy()) {
                bail_input!(
                    "path {:?} overlaps the gateway's own directory {}; choose another directory",
                    share.path,
                    owned.display()
                );
            }
        }
        let path = Path::new(&share.path);
        let exists = path.exists();
        if !exists {
            // open shares need a world-writable root; others get access through ACL entries
            let open = share.guest || (share.users.is_empty() && share.groups.is_empty());
            let mode = if open { 0o777 } else { 0o770 };
            plan.push(CreateDir::new(path, mode));
        }
        if repair_only && exists {
            return Ok(());
        }
        if let Some(step) = GrantAccess::plan(share, &self.samba.accounts(), exists)? {
            plan.push(step);
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

/// Delete the share's data. Last in its plan and not undoable: it runs only after everything
/// else succeeded.
struct PurgeData {
    path: String,
}

impl Step for PurgeData {
    fn describe(&self) -> String {
        format!("delete the share's data in {} (cannot be undone)", self.path)
    }
    fn apply(&mut self) -> Result<()> {
        std::fs::remove_dir_all(&self.path).map_err(|e| Error::io("deleting", Path::new(&self.path), e))
    }
    fn undo(&mut self) -> Result<()> {
        Ok(())
    }
}
