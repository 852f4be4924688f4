//! Share operations: list, show, create, update, delete, apply.

use std::path::Path;

use smbgw_core::digest::Digested;
use smbgw_core::share::Properties;
use smbgw_core::store::SharesConfig;
use smbgw_core::{bail_field, bail_input, validate, Error, Plan, Result, Share};
use smbgw_quota::backend::QuotaFacts;

use crate::acl::GrantAccess;
use crate::availability::{self, unavailable_reason, Unavailable};
use crate::storage::StorageDecision;
use crate::{placement, Change, Gateway};

impl Gateway {
    /// Every share, each with the digest of the config (as PVE lists its config entries).
    pub fn list(&self) -> Result<Vec<Digested<Share>>> {
        let (cfg, digest) = self.store.read()?;
        Ok(cfg
            .shares()
            .iter()
            .map(|share| Digested {
                value: share.clone(),
                digest: digest.clone(),
            })
            .collect())
    }

    /// One share, with the digest `update` and `delete` take to refuse a concurrent change.
    pub fn show(&self, name: &str) -> Result<Digested<Share>> {
        validate::share_name(name)?;
        let (cfg, digest) = self.store.read()?;
        let share = cfg.get(name).cloned().ok_or_else(|| no_such_share(name, &cfg))?;
        Ok(Digested { value: share, digest })
    }

    /// The config lock for a change; a dry run reads without it (every write is an atomic
    /// rename), so the API's check before its task never waits behind a running operation.
    fn lock_unless_dry_run(&self, dry_run: bool) -> Result<Option<smbgw_sys::lock::Guard>> {
        match dry_run {
            true => Ok(None),
            false => self.store.lock().map(Some),
        }
    }

    /// One share, as the other operations look it up.
    pub(crate) fn share(&self, name: &str) -> Result<Share> {
        Ok(self.show(name)?.into_inner())
    }

    pub fn create(&self, name: &str, props: &Properties, dry_run: bool) -> Result<Change> {
        // --storage: the share's place on that PVE storage, or why the storage cannot take it
        let mut props = props.clone();
        let storage = self.place_on_storage(name, &mut props)?;
        let mut share = Share::from_properties(name, &props)?;
        if let Some(storage) = &storage {
            self.check_storage_room(&share, storage)?;
        }
        let _lock = self.lock_unless_dry_run(dry_run)?;
        let mut cfg = self.store.load()?;
        self.refuse_emptied(
            &cfg,
            &format!("creating '{name}' would write a config holding only '{name}'"),
        )?;
        cfg.insert(share.clone())?;
        smbgw_core::share::check_paths_apart(&share, cfg.shares())?;
        check_one_home_share(&share, cfg.shares())?;
        self.check_users(&share)?;
        let (mut plan, mut notes) = (Plan::new(), Vec::new());
        let others = cfg.shares().iter().filter(|s| s.name != share.name);
        let taken: Vec<u32> = others.filter_map(|s| s.mode.guest_id()).collect();
        // a VM brings its own data disk: nothing on the node's filesystems
        if share.mode.has_node_directory() {
            if let Some(decided) =
                self.path_steps(&share, None, &QuotaFacts::default(), &mut plan, &mut notes, false)?
            {
                decided.record(&mut share);
            }
            self.user_quota_steps(&share, None, &mut plan)?;
            self.check_snapshot_schedule(&share)?;
            self.check_backup_settings(&share)?;
            self.home_steps(&share, None, &mut plan)?;
        }
        let placed = placement::of(&share.mode).check(self, &share, &taken)?;
        share.mode = placed;
        self.check_share_for_ha(&share)?;
        placement::of(&share.mode).create_steps(self, &share, &mut plan)?;
        cfg.replace(share.clone())?;
        self.config_step(&cfg, &mut plan)?;
        self.samba_steps_creating(&cfg, &mut plan, share.mode.is_native(), &share.name)?;
        self.execute(plan, dry_run, Some(share), notes)
    }

    /// Change a share. `digest`: the one `show` returned; a config changed since is refused.
    pub fn update(
        &self,
        name: &str,
        changes: &Properties,
        delete: &[String],
        digest: Option<&str>,
        dry_run: bool,
    ) -> Result<Change> {
        validate::share_name(name)?;
        let _lock = self.lock_unless_dry_run(dry_run)?;
        let (mut cfg, current) = self.store.read()?;
        current.check(digest, "share config")?;
        self.refuse_emptied(&cfg, &format!("share '{name}' is not in it"))?;
        let old = cfg.get(name).cloned().ok_or_else(|| no_such_share(name, &cfg))?;
        let mut share = old.updated(changes, delete)?;
        placement::of(&share.mode).check_update(&share, &old)?;
        if share.path != old.path && !old.quota_backend.is_auto() {
            bail_input!(
                "share '{}' lives in its own {} volume at {}; its path cannot change: create a new share and move the data",
                old.name,
                old.quota_backend,
                old.path
            );
        }
        self.check_storage_growth(&share, &old)?;
        // a conflict already in the stored config is named by status; changes that keep
        // the path stay possible (e.g. dropping the quota that flips)
        if share.path != old.path {
            self.check_storage_path(&share, &old)?;
            smbgw_core::share::check_paths_apart(&share, cfg.shares())?;
        }
        self.check_users(&share)?;
        let (mut plan, mut notes) = (Plan::new(), Vec::new());
        if share.mode.has_node_directory() {
            if let Some(decided) =
                self.path_steps(&share, Some(&old), &QuotaFacts::default(), &mut plan, &mut notes, false)?
            {
                decided.record(&mut share);
            }
            self.user_quota_steps(&share, Some(&old), &mut plan)?;
            self.check_snapshot_schedule(&share)?;
            self.check_backup_settings(&share)?;
            self.home_steps(&share, Some(&old), &mut plan)?;
        }
        // no HA check here: a share on CephFS keeps its volume (its path cannot change, above),
        // and a node-local one made before HA was set up stays editable; ha-status lists it
        cfg.replace(share.clone())?;
        self.config_step(&cfg, &mut plan)?;
        self.samba_steps_creating(&cfg, &mut plan, share.mode.is_native(), &share.name)?;
        placement::of(&share.mode).converge_steps(self, &share, &mut plan)?;
        self.execute(plan, dry_run, Some(share), notes)
    }

    /// Remove a share. Its data stays unless `purge_data`. `digest` as for `update`.
    pub fn delete(&self, name: &str, purge_data: bool, digest: Option<&str>, dry_run: bool) -> Result<Change> {
        validate::share_name(name)?;
        let _lock = self.lock_unless_dry_run(dry_run)?;
        let (mut cfg, current) = self.store.read()?;
        current.check(digest, "share config")?;
        let share = cfg.remove(name).map_err(|_| no_such_share(name, &cfg))?;
        let mut plan = Plan::new();
        self.config_step(&cfg, &mut plan)?;
        self.samba_steps(&cfg, &mut plan, share.mode.is_native())?;
        // a container goes before the data: it holds the share directory mounted
        let mut notes = Vec::new();
        placement::of(&share.mode).destroy_steps(self, &share, purge_data, &mut plan, &mut notes)?;
        if !share.mode.has_node_directory() {
            // the data is the VM's disk, not a directory on the node
            return self.execute(plan, dry_run, Some(share), notes);
        }
        if purge_data {
            let mut on_node = cfg.shares().iter().filter(|s| s.mode.has_node_directory());
            if let Some(other) = on_node.find(|s| validate::paths_overlap(&s.path, &share.path)) {
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
        let share_after = share.clone();
        let change = match self.execute(plan, dry_run, Some(share), notes) {
            Ok(change) => change,
            // the rollback brought the share back; with half its data gone it is not served
            Err(e) if self.purge_incomplete(&share_after).is_some() => return Err(self.stop_serving_after_purge(e)),
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
            message: format!("{}; {outcome}", err.message),
            ..err
        }
    }

    /// Re-converge this node from the stored config. A second run changes nothing.
    ///
    /// Storage is never created here: a share whose directory or subvolume is missing (its
    /// filesystem not mounted) or whose path turned into a symbolic link is left out of the
    /// served config; a share whose repair cannot be planned otherwise stays served as it is.
    /// Every other share converges, and the change names the others (`unavailable`, `error`).
    /// An emptied config is refused unless `force` confirms it.
    pub fn apply(&self, dry_run: bool, force: bool) -> Result<Change> {
        let _lock = self.store.lock()?;
        let cfg = self.store.load()?;
        let (mut plan, mut notes) = (Plan::new(), Vec::new());
        // before recovery: an emptied config must not make a purge look committed
        if let Some(emptied) = self.emptied(&cfg)? {
            if !force {
                return Err(self.emptied_error(&emptied, "applying it would unpublish them all"));
            }
            notes.push(format!(
                "--force: the empty share config is confirmed{}",
                match emptied.published.is_empty() {
                    true => String::new(),
                    false => format!("; unpublishing {}", emptied.published.join(", ")),
                }
            ));
            plan.push(self.store.accept_empty_step()?);
        }
        // an interrupted operation next: heal what converging cannot, learn what it touched
        let healing = self.recover(dry_run)?;
        let mut unavailable = Vec::new();
        let mut not_repaired = Vec::new();
        // each filesystem's quota facts read once for all its shares
        let quota_facts = QuotaFacts::default();
        for share in cfg.shares() {
            // a missing volume, or a path turned into a link: serving it would hand clients the
            // filesystem below or the link's target
            let reason = unavailable_reason(share).or_else(|| {
                (share.mode.has_node_directory())
                    .then(|| validate::path_on_disk(&share.path).err())
                    .flatten()
                    .map(|e| e.message)
            });
            if let Some(reason) = reason {
                unavailable.push(Unavailable {
                    share: share.name.clone(),
                    reason,
                });
                continue;
            }
            // one share's steps go in only when all of them could be planned
            let mut steps = Plan::new();
            let planned = (|| {
                if share.mode.has_node_directory() {
                    let (previous, repair_only) = healing.converge_of(share);
                    // apply stores nothing: what storage planning decides is not recorded
                    self.path_steps(share, Some(previous), &quota_facts, &mut steps, &mut notes, repair_only)?;
                    self.home_steps(share, Some(previous), &mut steps)?;
                }
                placement::of(&share.mode).converge_steps(self, share, &mut steps)
            })();
            // anything else (a user not on this node yet, a quota raised behind the gateway)
            // keeps the share served as it is, and is reported
            match planned {
                Ok(()) => plan.append(steps),
                Err(e) => not_repaired.push(format!("'{}': {}", share.name, e.message)),
            }
        }
        let served = availability::without(&cfg, &unavailable);
        // a domain member needs winbindd before smbd can serve domain users
        if self.globals()?.ad.is_some() && self.samba.winbindd_pid().is_none() {
            self.winbind_steps(true, &mut plan);
        }
        let mut errors = Vec::new();
        match self.ha_config()? {
            Some(ha) => errors.extend(self.ha_steps(&ha, &served, &mut plan, force)?),
            None => self.samba_steps_for_apply(&served, &self.globals()?, &mut plan, true, force)?,
        }
        let mut change = self.execute(plan, dry_run, None, notes)?;
        if !unavailable.is_empty() {
            let list: Vec<String> = unavailable
                .iter()
                .map(|u| format!("'{}': {}", u.share, u.reason))
                .collect();
            errors.push(format!(
                "{} share(s) are not served: {}",
                unavailable.len(),
                list.join("; ")
            ));
        }
        if !not_repaired.is_empty() {
            errors.push(format!(
                "{} share(s) stay served as they are but could not be repaired: {}",
                not_repaired.len(),
                not_repaired.join("; ")
            ));
        }
        if !errors.is_empty() {
            change.error = Some(format!("every other share converged, but {}", errors.join("; and ")));
        }
        change.unavailable = unavailable;
        healing.finish(self, change, dry_run)
    }

    /// Every user of the share needs a Samba password, or it could never connect.
    fn check_users(&self, share: &Share) -> Result<()> {
        self.check_domain_principals(share)?;
        self.check_share_accounts(share)?;
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
                bail_field!(
                    "users",
                    "user '{user}' is not a Samba user; add it first with 'pve-smbgateway user add {user}'"
                );
            }
        }
        Ok(())
    }

    /// The share directory: checked on disk, its storage created if missing (with its quota),
    /// opened to the share's users. With `repair_only` (apply), shares whose directory exists
    /// and that have no quota are left as the admin has them. Returns what storage planning
    /// decided (the backend in use), unless the storage was left alone.
    fn path_steps(
        &self,
        share: &Share,
        previous: Option<&Share>,
        quota_facts: &QuotaFacts,
        plan: &mut Plan,
        notes: &mut Vec<String>,
        repair_only: bool,
    ) -> Result<Option<StorageDecision>> {
        validate::path_on_disk(&share.path)?;
        // an existing share's storage is created at its create only: missing now, it is most
        // likely not mounted, and a new directory would land on the filesystem below
        if let Some(reason) = previous.filter(|p| p.path == share.path).and_then(unavailable_reason) {
            return Err(Error::system(format!(
                "share '{}' is unavailable: {reason}; nothing was changed",
                share.name
            )));
        }
        validate::protected_trees(&share.path, &self.layout.owned_dirs())?;
        if repair_only && share.quota.is_none() && Path::new(&share.path).exists() {
            return Ok(None);
        }
        if let Some(dir) = closed_ancestor(Path::new(&share.path)) {
            self.warn(format!(
                "{} is not searchable by other users, so SMB users cannot reach {}; run 'chmod o+x {}'",
                dir.display(),
                share.path,
                dir.display()
            ));
        }
        let decided = self.storage_steps(share, previous, quota_facts, plan, notes)?;
        let existed = decided.existed;
        if repair_only && existed {
            return Ok(Some(decided));
        }
        // a home share's users each own their folder (`homes`): nobody gets the whole tree
        if share.homes {
            return Ok(Some(decided));
        }
        // on another node of the cluster a user may not exist yet: apply repairs what it can
        let revoke_from = if repair_only { None } else { previous };
        match GrantAccess::plan(share, revoke_from, &self.samba, existed) {
            Ok(Some(step)) => plan.push(step),
            Ok(None) => {}
            Err(e) if repair_only => notes.push(format!("share '{}': {}", share.name, e.message)),
            Err(e) => return Err(e),
        }
        Ok(Some(decided))
    }

    /// Write the share config, keeping the previous version (`.bak`, `history/`).
    pub(crate) fn config_step(&self, cfg: &SharesConfig, plan: &mut Plan) -> Result<()> {
        if let Some(step) = self.store.write_step(cfg)? {
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

/// One home share per node: a user has one home, and only one share can be Samba's `[homes]`.
fn check_one_home_share(share: &Share, shares: &[Share]) -> Result<()> {
    if !share.homes {
        return Ok(());
    }
    if let Some(other) = shares.iter().find(|s| s.homes && s.name != share.name) {
        bail_field!(
            "homes",
            "share '{}' is this node's home share already (at {}); there is one home share per node: add the users to it",
            other.name,
            other.path
        );
    }
    Ok(())
}

fn no_such_share(name: &str, cfg: &SharesConfig) -> Error {
    let known: Vec<&str> = cfg.shares().iter().map(|s| s.name.as_str()).collect();
    let message = if known.is_empty() {
        format!("share '{name}' does not exist; there are no shares yet")
    } else {
        format!("share '{name}' does not exist; existing shares: {}", known.join(", "))
    };
    Error::not_found(message).field("name")
}
