//! Mode `lxc`: the share's Samba runs in a Proxmox VE container instead of on the node. The
//! share's directory (with its quota) stays on the node and is bind-mounted into the container
//! (`mp0`); the share's users get the same uid and gid inside as outside (1:1 entries in the
//! container's `lxc.idmap`), so files keep their owners and the node's ACLs apply unchanged.
//! Samba inside is set up from the same `GuestSetup` a VM gets as cloud-init, here through
//! `pct exec` (lxc_inside.rs).
//!
//! A share naming domain accounts gets a container that is a domain member of its own
//! (`SMBGW-CT<id>`, joined once with a domain administrator the caller gives) and maps the
//! domain's id ranges 1:1 (lxc_idmap.rs), so domain users own the same files seen from both.
//!
//! Everything goes through `pct`, as an admin would type it; the raw `lxc.*` lines PVE's tools
//! cannot set are written under PVE's config lock (`pve::Guest::edit_config`).

use std::path::{Path, PathBuf};

use smbgw_core::ad::{AdState, IdRange};
use smbgw_core::guest::{self, Container};
use smbgw_core::plan::FnStep;
use smbgw_core::{bail_field, bail_input, validate, Error, Placement, Plan, Result, ResultExt, Share};
use smbgw_sys::Command;

use super::guest::{check_guest_memory, check_resources, check_storage_room, guest_name};
use super::{lxc_idmap, lxc_inside, ContainerStatus, PlacementPlugin, PlacementStatus};
use crate::pve::{self, pct, Guest};
use crate::Gateway;

/// The container's root filesystem: the template unpacked is about 400 MB.
const ROOTFS_GIB: u64 = 4;

pub(crate) struct Lxc<'a>(pub &'a Container);

/// What converging a container needs to know about it, read before planning.
struct ContainerFacts {
    running: bool,
    /// The domain's id ranges the container maps 1:1 (a share with domain accounts).
    domain: Vec<IdRange>,
    /// Whether those ranges are free of other maps (`lxc_idmap::check_node`), when the
    /// container does not map them yet.
    domain_clear: Option<Result<()>>,
    /// The container's config; `None` when there is none.
    config: Option<String>,
    /// Whether the dataset's mount lets snapshots reach the container (shares serving ZFS
    /// snapshots only; see `snapshot_view_steps`).
    snapshot_mount: Option<Result<()>>,
}

impl Lxc<'_> {
    /// The converge plan from the container's facts: nothing here reads the node.
    fn plan_converge(&self, gw: &Gateway, share: &Share, facts: ContainerFacts, plan: &mut Plan) -> Result<()> {
        let id = self.id();
        if let Some(config) = &facts.config {
            self.memory_step(config, plan);
        }
        let has_line = |line: &str| {
            facts
                .config
                .as_deref()
                .is_none_or(|text| pve::main_section(text).any(|l| l == line))
        };
        // shadow copies turned on later: the snapshot mount only comes with a restart
        let view_missing = serves_zfs_snapshots(share) && !has_line(&snapshot_view_line(Path::new(&share.path)));
        // domain accounts added later: so does the map of the domain's ids, and the join
        let domain_lines = lxc_idmap::domain_lines(&facts.domain);
        let domain_missing = !domain_lines.iter().all(|l| has_line(l));
        if view_missing {
            facts.snapshot_mount.unwrap_or(Ok(()))?;
        }
        if domain_missing {
            facts.domain_clear.unwrap_or(Ok(()))?;
            self.require_join_credentials(gw, share)?;
        }
        let mut reasons = Vec::new();
        if view_missing {
            reasons.push("add the snapshot mount");
        }
        if domain_missing {
            reasons.push("map the domain's ids");
        }
        if facts.running && !reasons.is_empty() {
            plan.push(FnStep::new(
                format!("shut container {id} down to {}", reasons.join(" and ")),
                move || {
                    pct()
                        .args(["shutdown", &id.to_string(), "--timeout", "60", "--forceStop", "1"])
                        .run()
                        .map(|_| ())
                },
                move || pct().args(["start", &id.to_string()]).run().map(|_| ()),
            ));
        }
        if view_missing {
            self.snapshot_view_step(gw, share, plan);
        }
        if domain_missing {
            self.domain_map_step(gw, &facts.domain, domain_lines, plan);
        }
        if !facts.running || !reasons.is_empty() {
            plan.push(FnStep::new(
                format!("start container {id}"),
                move || pct().args(["start", &id.to_string()]).run().map(|_| ()),
                || Ok(()),
            ));
        }
        self.configure_step(gw, share, plan);
        Ok(())
    }

    /// A container joins the domain as a computer of its own; that takes a domain
    /// administrator, asked for before anything changes (at create before its id is chosen).
    pub(super) fn require_join_credentials(&self, gw: &Gateway, share: &Share) -> Result<()> {
        if let Some(creds) = &gw.guest_join {
            crate::ad::membership::check_user(&creds.user).field("ad-user")?;
        } else {
            let (ct, computer) = match self.0.id {
                Some(id) => (format!("container {id}"), guest_netbios_name(id)),
                None => ("container".to_string(), "SMBGW-CT<its id>".to_string()),
            };
            bail_field!(
                "ad-user",
                "share '{}' names domain accounts: its {ct} joins the domain as the computer {computer}; give a domain administrator who may join computers with --ad-user NAME --password-stdin",
                share.name,
            );
        }
        Ok(())
    }

    /// The domain's id ranges mapped 1:1 into an existing container (stopped), with root's
    /// subordinate ids for them.
    fn domain_map_step(&self, gw: &Gateway, domain: &[IdRange], lines: Vec<String>, plan: &mut Plan) {
        let id = self.id();
        let (layout, undo_layout, undo_lines) = (gw.layout.clone(), gw.layout.clone(), lines.clone());
        plan.push(FnStep::new(
            format!(
                "map the domain's id ranges {} 1:1 into container {id} (lxc.idmap)",
                ranges_text(domain)
            ),
            move || Guest::Container(id).edit_config(&layout, |t| pve::with_lines(t, &lines)),
            move || {
                Guest::Container(id).edit_config(&undo_layout, |t| {
                    undo_lines.iter().fold(t.to_string(), |t, l| pve::without_line(&t, l))
                })
            },
        ));
        if !gw.layout.is_sandbox() {
            subid_steps(&[], &[], domain, plan);
        }
    }

    fn id(&self) -> u32 {
        self.0.id.expect("the container's id is chosen at create")
    }

    /// The unix ids of the share's users and groups (with the users' primary groups).
    fn share_ids(gw: &Gateway, share: &Share) -> Result<(Vec<u32>, Vec<u32>)> {
        let accounts = gw.samba().accounts();
        let (mut uids, mut gids) = (Vec::new(), Vec::new());
        // domain accounts come through the domain's ranges (`domain_ranges`)
        let local = |name: &&String| validate::principal_domain(name).is_none();
        for user in share.users.iter().filter(local) {
            let a = accounts
                .user(user)?
                .ok_or_else(|| Error::input(format!("user '{user}' does not exist")).field("users"))?;
            uids.push(a.uid);
            gids.push(a.gid);
        }
        for group in share.groups.iter().filter(local) {
            gids.push(
                accounts
                    .group_id(group)?
                    .ok_or_else(|| Error::input(format!("group '{group}' does not exist")).field("groups"))?,
            );
        }
        uids.sort_unstable();
        uids.dedup();
        gids.sort_unstable();
        gids.dedup();
        if let Some(id) = uids.iter().chain(&gids).find(|&&i| i >= lxc_idmap::ID_COUNT) {
            bail_field!(
                "users",
                "id {id} of a user or group of share '{}' is beyond what a container maps (65535)",
                share.name
            );
        }
        Ok((uids, gids))
    }

    /// The domain's id ranges, mapped 1:1 into the container of a share that names domain
    /// accounts (see lxc_idmap.rs); none for a share of local accounts only.
    fn domain_ranges(gw: &Gateway, share: &Share) -> Result<Vec<IdRange>> {
        if share.domain_principals().next().is_none() {
            return Ok(Vec::new());
        }
        let state = AdState::load(&gw.layout)?.ok_or_else(|| {
            Error::not_set_up(format!(
                "share '{}' names domain accounts, but this node is not joined to a domain; run 'pve-smbgateway ad-join' first",
                share.name
            ))
            .field("users")
        })?;
        Ok(vec![state.join.idmap_default, state.join.idmap_domain])
    }

    /// ZFS snapshots for Previous Versions. `.zfs/snapshot` does not work through the share's
    /// bind mount: ZFS mounts a snapshot on first access in the node's mount namespace, at the
    /// dataset's mountpoint, so the container never sees it ("Too many levels of symbolic
    /// links", openzfs#3512, #9479, #9958). Instead the container gets the node's
    /// `.zfs/snapshot` as a separate recursive, read-only mount with slave propagation:
    /// snapshots mounted when it starts come along, later ones (also those a lookup from inside
    /// triggers) propagate in, and ZFS can still unmount them to destroy a snapshot. This needs
    /// the dataset's mount to be shared, as datasets are on a node booted by systemd.
    fn snapshot_view_steps(&self, gw: &Gateway, share: &Share, plan: &mut Plan) -> Result<()> {
        if serves_zfs_snapshots(share) {
            check_shared_mount(Path::new(&share.path))?;
            self.snapshot_view_step(gw, share, plan);
        }
        Ok(())
    }

    /// The `lxc.mount.entry` of the snapshot view, written under PVE's config lock.
    fn snapshot_view_step(&self, gw: &Gateway, share: &Share, plan: &mut Plan) {
        let id = self.id();
        let line = snapshot_view_line(Path::new(&share.path));
        let (layout, undo_layout, undo_line) = (gw.layout.clone(), gw.layout.clone(), line.clone());
        plan.push(FnStep::new(
            format!(
                "show the dataset's snapshots in container {id} at {} (lxc.mount.entry)",
                guest::SNAPSHOT_MOUNT
            ),
            move || Guest::Container(id).edit_config(&layout, |t| pve::with_lines(t, std::slice::from_ref(&line))),
            move || Guest::Container(id).edit_config(&undo_layout, |t| pve::without_line(t, &undo_line)),
        ));
    }

    /// Samba inside the container: users, configuration (a member of the node's domain when
    /// the share names domain accounts), smbd restarted; done when SMB answers.
    fn configure_step(&self, gw: &Gateway, share: &Share, plan: &mut Plan) {
        let (samba, share, ct) = (gw.samba().clone(), share.clone(), self.0.clone());
        let (layout, creds) = (gw.layout.clone(), gw.guest_join.clone());
        let id = ct.id.unwrap_or(0);
        let domain = share.domain_principals().next().is_some();
        let joined = match domain {
            true => format!(", as the domain member {}", guest_netbios_name(id)),
            false => String::new(),
        };
        plan.push(FnStep::new(
            format!(
                "configure Samba in container {id} for share '{}'{joined} (installing it first if the template has none) and wait until it answers SMB",
                share.name
            ),
            move || {
                // the container shows the dataset's snapshots at their own mount (see above)
                let snapshots = serves_zfs_snapshots(&share).then_some(guest::SNAPSHOT_MOUNT);
                let state = match domain {
                    true => AdState::load(&layout)?,
                    false => None,
                };
                let netbios = guest_netbios_name(id);
                let member = state.as_ref().map(|s| (s, netbios.as_str()));
                let setup = super::guest::guest_setup_with(&samba, &share, snapshots, member)?;
                lxc_inside::configure(&setup, &ct, creds.as_deref())
            },
            || Ok(()),
        ));
    }

    /// `ct-memory` changed: PVE applies it to a running container at once.
    fn memory_step(&self, config: &str, plan: &mut Plan) {
        let (id, memory) = (self.id(), self.0.memory);
        let Some(current) = pve::config_value(config, "memory") else {
            return;
        };
        if current == memory.to_string() {
            return;
        }
        let set = ["set".to_string(), id.to_string(), "--memory".into(), memory.to_string()];
        let undo = ["set".to_string(), id.to_string(), "--memory".into(), current.clone()];
        plan.push(FnStep::new(
            format!("set the memory of container {id} from {current} to {memory} MiB (pct set)"),
            move || pct().args(&set).run().map(|_| ()),
            move || pct().args(&undo).run().map(|_| ()),
        ));
    }
}

impl PlacementPlugin for Lxc<'_> {
    fn check(&self, gw: &Gateway, share: &Share, taken: &[u32]) -> Result<Placement> {
        let domain = Self::domain_ranges(gw, share)?;
        if !domain.is_empty() {
            // the domain's ranges are mapped 1:1: no other container may own ids there
            lxc_idmap::check_node(&gw.layout, &domain, self.0.id).field("users")?;
        }
        let ct = self.0;
        let id = gw.choose_guest_id(ct.id, taken, None, "--ct-id")?;
        if !domain.is_empty() {
            let placed = Container {
                id: Some(id),
                ..ct.clone()
            };
            Lxc(&placed).require_join_credentials(gw, share)?;
        }
        let template = pve::volume_path(&ct.template)
            .map_err(|e| Error::input(format!("template {} is not available: {}", ct.template, e.message)))
            .field("ct-template")?;
        if !template.is_file() {
            bail_field!(
                "ct-template",
                "template {} ({}) does not exist; build it with 'scripts/create_ct_template.sh' or download one with pveam",
                ct.template,
                template.display()
            );
        }
        check_resources(&ct.bridge, ct.memory, "ct-memory")?;
        check_storage_room(
            &ct.storage,
            "rootdir",
            ROOTFS_GIB << 30,
            &format!("the root filesystem of container {id}"),
            "--ct-storage",
        )?;
        Ok(share.mode.with_guest_id(id))
    }

    fn check_update(&self, share: &Share, old: &Share) -> Result<()> {
        if share.path != old.path {
            bail_input!(
                "share '{}' is mounted into its container from {} at create; its path cannot change: create a new share and move the data",
                old.name,
                old.path
            );
        }
        match old.mode.container() {
            Some(before) => check_guest_memory(&self.0.bridge, self.0.memory, before.memory, "ct-memory"),
            None => Ok(()),
        }
    }

    /// Create, configure and start the container of a new lxc share.
    fn create_steps(&self, gw: &Gateway, share: &Share, plan: &mut Plan) -> Result<()> {
        let (uids, gids) = Self::share_ids(gw, share)?;
        let domain = Self::domain_ranges(gw, share)?;
        let ct = self.0;
        let id = self.id();
        let mut net = format!("name=eth0,bridge={},ip={}", ct.bridge, ct.ip);
        if let Some(gw) = &ct.gateway {
            net.push_str(&format!(",gw={gw}"));
        }
        // the share directory is created by an earlier step; pct only mounts it
        let create_args: Vec<String> = vec![
            "create".into(),
            id.to_string(),
            ct.template.clone(),
            "--hostname".into(),
            guest_name(&share.name),
            "--memory".into(),
            ct.memory.to_string(),
            // pct refuses mount points without an explicit root filesystem
            "--rootfs".into(),
            format!("{}:{ROOTFS_GIB}", ct.storage),
            "--unprivileged".into(),
            "1".into(),
            "--onboot".into(),
            "1".into(),
            "--net0".into(),
            net,
            "--mp0".into(),
            format!("{},mp={},backup=0", share.path, guest::SHARE_MOUNT),
        ];
        plan.push(FnStep::new(
            format!("create container {id} from {} (pct create)", ct.template),
            move || pct().args(&create_args).run().map(|_| ()),
            move || {
                let _ = pct().args(["stop", &id.to_string()]).output();
                pct()
                    .args(["destroy", &id.to_string(), "--purge", "1"])
                    .run()
                    .map(|_| ())
            },
        ));
        let mut lines = lxc_idmap::idmap_lines('u', &uids, &domain);
        lines.extend(lxc_idmap::idmap_lines('g', &gids, &domain));
        let layout = gw.layout.clone();
        let what = match domain.is_empty() {
            true => "the ids of the share's users".to_string(),
            false => format!(
                "the ids of the share's users and the domain's id ranges {}",
                ranges_text(&domain)
            ),
        };
        plan.push(FnStep::new(
            format!("map {what} into container {id} (lxc.idmap)"),
            move || Guest::Container(id).edit_config(&layout, |t| pve::with_lines(t, &lines)),
            || Ok(()),
        ));
        self.snapshot_view_steps(gw, share, plan)?;
        if !gw.layout.is_sandbox() {
            subid_steps(&uids, &gids, &domain, plan);
        }
        plan.push(FnStep::new(
            format!("start container {id}"),
            move || pct().args(["start", &id.to_string()]).run().map(|_| ()),
            move || pct().args(["stop", &id.to_string()]).run().map(|_| ()),
        ));
        self.configure_step(gw, share, plan);
        Ok(())
    }

    /// Start a stopped container and bring Samba inside in line.
    fn converge_steps(&self, gw: &Gateway, share: &Share, plan: &mut Plan) -> Result<()> {
        let Some(id) = self.0.id else {
            return Ok(());
        };
        let config = std::fs::read_to_string(Guest::Container(id).config_path(&gw.layout)).ok();
        let domain = Self::domain_ranges(gw, share)?;
        let mapped = |text: &String| {
            let lines = lxc_idmap::domain_lines(&domain);
            lines.iter().all(|l| pve::main_section(text).any(|m| m == l))
        };
        let domain_clear = (!domain.is_empty() && !config.as_ref().is_some_and(mapped))
            .then(|| lxc_idmap::check_node(&gw.layout, &domain, Some(id)).field("users"));
        let facts = ContainerFacts {
            running: pve::guest_state(Guest::Container(id)) == "running",
            domain,
            domain_clear,
            config,
            snapshot_mount: serves_zfs_snapshots(share).then(|| check_shared_mount(Path::new(&share.path))),
        };
        self.plan_converge(gw, share, facts, plan)
    }

    /// Stop and destroy the container (the data stays on the node).
    fn destroy_steps(
        &self,
        gw: &Gateway,
        share: &Share,
        _: bool,
        plan: &mut Plan,
        notes: &mut Vec<String>,
    ) -> Result<()> {
        let Some(id) = self.0.id else {
            return Ok(());
        };
        if share.domain_principals().next().is_some() {
            notes.push(format!(
                "the computer account {} of container {id} stays in the domain: delete it there",
                guest_netbios_name(id)
            ));
        }
        let conf = Guest::Container(id).config_path(&gw.layout);
        plan.push(FnStep::new(
            format!("stop and destroy container {id} (pct destroy)"),
            move || {
                if !conf.exists() {
                    return Ok(());
                }
                let _ = pct().args(["stop", &id.to_string()]).output();
                pct()
                    .args(["destroy", &id.to_string(), "--purge", "1"])
                    .run()
                    .map(|_| ())
            },
            || Ok(()),
        ));
        Ok(())
    }

    fn status(&self, _: &Share, _: bool) -> PlacementStatus {
        let ct = self.0;
        let state = ct
            .id
            .map(|id| pve::guest_state(Guest::Container(id)))
            .unwrap_or_else(|| "missing".into());
        let ip = (state == "running").then(|| lxc_inside::container_ip(ct)).flatten();
        let smb = ip.as_deref().is_some_and(super::guest::smb_answers);
        let mut problems = Vec::new();
        if state != "running" {
            problems.push(format!("container {} is {state}", super::id_text(ct.id)));
        } else if !smb {
            problems.push("smbd in the container does not answer on port 445".into());
        }
        PlacementStatus {
            container: Some(ContainerStatus {
                ct_id: ct.id,
                state,
                ip,
                smb,
            }),
            vm: None,
            problems,
        }
    }
}

/// The container's computer account in the node's domain: its PVE id, unique in the cluster,
/// within NetBIOS's 15 characters.
pub(crate) fn guest_netbios_name(id: u32) -> String {
    let name = format!("SMBGW-CT{id}");
    match name.len() <= 15 {
        true => name,
        false => format!("SMBGW{id}"),
    }
}

fn ranges_text(domain: &[IdRange]) -> String {
    let ranges: Vec<String> = domain.iter().map(IdRange::to_string).collect();
    ranges.join(", ")
}

/// On a node, root may map an id 1:1 only if /etc/subuid and /etc/subgid allow it. Other tools
/// (useradd, PVE) edit these files too: the file is read again when the step runs, only the
/// lines still missing are appended, and the undo removes those lines alone.
fn subid_steps(uids: &[u32], gids: &[u32], domain: &[IdRange], plan: &mut Plan) {
    for (file, ids) in [("/etc/subuid", uids), ("/etc/subgid", gids)] {
        let path = PathBuf::from(file);
        let wanted = lxc_idmap::subid_entries(ids, domain);
        // whether there is something to do; a file that cannot be read fails when the step runs
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        let missing: Vec<String> = wanted
            .into_iter()
            .filter(|w| !current.lines().any(|l| l == w))
            .collect();
        if missing.is_empty() {
            continue;
        }
        plan.push(subid_step(path, missing));
    }
}

/// The step adding `missing` to the subordinate id file `path`, undone line by line.
fn subid_step(path: PathBuf, missing: Vec<String>) -> FnStep {
    let added = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let (undo_path, undo_added) = (path.clone(), added.clone());
    FnStep::new(
        format!("allow root to map {} in {}", missing.join(", "), path.display()),
        move || {
            *added.borrow_mut() = append_lines(&path, &missing)?;
            Ok(())
        },
        move || remove_lines(&undo_path, &undo_added.borrow()),
    )
}

/// Append the `lines` that `path` does not hold yet (as read now, a missing file being empty),
/// keeping every other byte; returns the lines appended.
fn append_lines(path: &Path, lines: &[String]) -> Result<Vec<String>> {
    let before = smbgw_sys::fs::read_optional(path)?.unwrap_or_default();
    let mut text = String::from_utf8_lossy(&before).into_owned();
    let added: Vec<String> = lines
        .iter()
        .filter(|w| !text.lines().any(|l| l == *w))
        .cloned()
        .collect();
    if added.is_empty() {
        return Ok(added);
    }
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    added.iter().for_each(|m| text.push_str(&format!("{m}\n")));
    smbgw_sys::fs::atomic_write(path, text.as_bytes(), 0o644)?;
    Ok(added)
}

/// Remove the last occurrence of each of `lines` from `path` (the ones `append_lines` added),
/// keeping whatever else the file holds by now.
fn remove_lines(path: &Path, lines: &[String]) -> Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let Some(before) = smbgw_sys::fs::read_optional(path)? else {
        return Ok(());
    };
    let text = String::from_utf8_lossy(&before);
    let mut kept: Vec<&str> = text.split_inclusive('\n').collect();
    for line in lines {
        if let Some(i) = kept.iter().rposition(|l| l.trim_end_matches('\n') == line) {
            kept.remove(i);
        }
    }
    smbgw_sys::fs::atomic_write(path, kept.concat().as_bytes(), 0o644)
}

/// The container's view of the dataset's snapshots (see `snapshot_view_steps`). The entry is
/// fstab format: blanks and backslashes in the path are octal escapes.
fn snapshot_view_line(dataset_mount: &Path) -> String {
    let source: String = dataset_mount
        .join(".zfs/snapshot")
        .display()
        .to_string()
        .chars()
        .map(|c| match c {
            ' ' | '\t' | '\n' | '\\' => format!("\\{:03o}", c as u32),
            c => c.to_string(),
        })
        .collect();
    format!(
        "lxc.mount.entry: {source} {} none rbind,ro,create=dir,rslave 0 0",
        guest::SNAPSHOT_MOUNT.trim_start_matches('/')
    )
}

/// Snapshots mounted at `path` reach the container only if the mount is shared. A dataset not
/// created yet will be mounted below its parent's mount, and is shared if that one is.
fn check_shared_mount(path: &Path) -> Result<()> {
    let existing = path.ancestors().find(|p| p.exists()).unwrap_or(Path::new("/"));
    let out = Command::new("findmnt")
        .args(["-n", "-o", "TARGET,PROPAGATION", "--target"])
        .arg(existing)
        .run()?;
    let (target, propagation) = out.stdout.trim().rsplit_once(' ').unwrap_or(("", ""));
    if existing == path && Path::new(target.trim()) != path {
        bail_input!(
            "{} is not a mount point (findmnt: '{}'): a ZFS dataset must be mounted at the share's path",
            path.display(),
            out.stdout.trim()
        );
    }
    if !propagation.starts_with("shared") {
        bail_input!(
            "the mount at {} is not shared (findmnt: '{}'), so ZFS snapshots mounted there would never reach the container; make it shared with 'mount --make-shared {}', or turn --shadow-copies off",
            target.trim(),
            out.stdout.trim(),
            target.trim()
        );
    }
    Ok(())
}

/// Previous Versions from the share's ZFS dataset (`.zfs/snapshot`): a container sees them only
/// through a mount of their own (see `snapshot_view_steps`).
fn serves_zfs_snapshots(share: &Share) -> bool {
    smbgw_quota::backend::previous_versions(share) == Some(smbgw_quota::backend::PreviousVersions::ZfsSnapdir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use smbgw_core::Step;

    /// /etc/subuid is read when the step runs: lines another tool added meanwhile stay, a file
    /// that cannot be read fails instead of becoming empty, and the undo removes only ours.
    #[test]
    fn subid_lines_are_appended_and_removed_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("subuid");
        std::fs::write(&path, "root:100000:65536").unwrap();
        let ours = vec!["root:20000:1".to_string(), "root:100000:65536".to_string()];
        assert_eq!(append_lines(&path, &ours).unwrap(), ["root:20000:1"]);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "root:100000:65536\nroot:20000:1\n"
        );
        // useradd adds a user meanwhile; the undo leaves it and the admin's line
        let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        std::io::Write::write_all(&mut f, b"bob:165536:65536\n").unwrap();
        remove_lines(&path, &["root:20000:1".to_string()]).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "root:100000:65536\nbob:165536:65536\n"
        );
        // the step as planned: a line added between plan and apply, and one after, both stay
        let mut step = subid_step(path.clone(), vec!["root:20001:1".to_string()]);
        std::fs::write(&path, "root:100000:65536\nbob:165536:65536\ncarol:231072:65536\n").unwrap();
        step.apply().unwrap();
        let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        std::io::Write::write_all(&mut f, b"dave:296608:65536\n").unwrap();
        step.undo().unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "root:100000:65536\nbob:165536:65536\ncarol:231072:65536\ndave:296608:65536\n"
        );
        // a missing file is empty; one that cannot be read is an error, and stays as it was
        let fresh = dir.path().join("subgid");
        assert_eq!(append_lines(&fresh, &ours).unwrap().len(), 2);
        let unreadable = dir.path().join("a-directory");
        std::fs::create_dir(&unreadable).unwrap();
        assert!(append_lines(&unreadable, &ours).is_err());
        assert!(unreadable.is_dir());
    }

    #[test]
    fn snapshot_view_is_an_fstab_line() {
        assert_eq!(
            snapshot_view_line(Path::new("/tank/team data")),
            "lxc.mount.entry: /tank/team\\040data/.zfs/snapshot srv/snapshots none rbind,ro,create=dir,rslave 0 0"
        );
    }

    #[test]
    fn converging_follows_the_containers_state() {
        let gw = Gateway::new(smbgw_core::Layout::host());
        let props = [
            ("mode", "lxc"),
            ("path", "/tank/team"),
            ("ct-id", "950"),
            ("ct-memory", "1024"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let mut share = Share::from_properties("team", &props).unwrap();
        let plan_for = |share: &Share, running: bool, config: &str, mount: Option<Result<()>>| {
            let mut plan = Plan::new();
            let facts = ContainerFacts {
                running,
                domain: Vec::new(),
                domain_clear: None,
                config: Some(config.to_string()),
                snapshot_mount: mount,
            };
            Lxc(share.mode.container().unwrap())
                .plan_converge(&gw, share, facts, &mut plan)
                .map(|()| plan.describe())
        };
        let configure = "configure Samba in container 950 for share 'team' (installing it first if the template has none) and wait until it answers SMB";
        assert_eq!(plan_for(&share, true, "memory: 1024\n", None).unwrap(), [configure]);
        assert_eq!(
            plan_for(&share, false, "memory: 512\n", None).unwrap(),
            [
                "set the memory of container 950 from 512 to 1024 MiB (pct set)",
                "start container 950",
                configure
            ]
        );
        // shadow copies turned on: a running container is restarted with the snapshot view
        share.shadow_copies = true;
        share.quota_backend = smbgw_core::QuotaBackend::Zfs;
        assert_eq!(
            plan_for(&share, true, "memory: 1024\n", Some(Ok(()))).unwrap(),
            [
                "shut container 950 down to add the snapshot mount",
                "show the dataset's snapshots in container 950 at /srv/snapshots (lxc.mount.entry)",
                "start container 950",
                configure
            ]
        );
        let with_view = format!("memory: 1024\n{}\n", snapshot_view_line(Path::new("/tank/team")));
        assert_eq!(plan_for(&share, true, &with_view, Some(Ok(()))).unwrap(), [configure]);
        // a mount that is not shared is refused, before anything is planned
        let not_shared = Err(smbgw_core::Error::input("not shared"));
        assert!(plan_for(&share, true, "memory: 1024\n", Some(not_shared)).is_err());
    }

    #[test]
    fn a_container_joins_under_its_id() {
        assert_eq!(guest_netbios_name(105), "SMBGW-CT105");
        assert_eq!(guest_netbios_name(9_999_999), "SMBGW-CT9999999");
        assert_eq!(guest_netbios_name(999_999_999), "SMBGW999999999");
    }

    #[test]
    fn domain_accounts_added_later_map_the_domain_and_join() {
        use smbgw_core::ad::{IDMAP_DEFAULT, IDMAP_DOMAIN};
        let props = [
            ("mode", "lxc"),
            ("path", "/tank/team"),
            ("ct-id", "950"),
            ("users", "EXAMPLE\\alice"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let share = Share::from_properties("team", &props).unwrap();
        let domain = vec![IDMAP_DEFAULT, IDMAP_DOMAIN];
        let plan_for = |gw: &Gateway, config: &str, clear: Option<Result<()>>| {
            let mut plan = Plan::new();
            let facts = ContainerFacts {
                running: true,
                domain: domain.clone(),
                domain_clear: clear,
                config: Some(config.to_string()),
                snapshot_mount: None,
            };
            Lxc(share.mode.container().unwrap())
                .plan_converge(gw, &share, facts, &mut plan)
                .map(|()| plan.describe())
        };
        let configure = "configure Samba in container 950 for share 'team', as the domain member SMBGW-CT950 (installing it first if the template has none) and wait until it answers SMB";
        // a sandbox: the node's subordinate id files stay out of it
        let dir = tempfile::tempdir().unwrap();
        let gw = Gateway::new(smbgw_core::Layout::sandbox(dir.path(), [127, 0, 0, 1].into(), 445).unwrap());
        // without an administrator the container cannot join: refused before anything
        let err = plan_for(&gw, "memory: 512\n", Some(Ok(()))).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("ad-user"), "{}", err.message);
        let gw = gw.with_guest_join_credentials(smbgw_samba::ad::Credentials {
            user: "Administrator".into(),
            password: "x".into(),
        });
        // ranges another map holds are refused
        let taken = Err(Error::input("the domain id range 2000000-2999999 overlaps"));
        assert!(plan_for(&gw, "memory: 512\n", Some(taken)).is_err());
        let steps = plan_for(&gw, "memory: 512\n", Some(Ok(()))).unwrap();
        assert_eq!(
            steps,
            [
                "shut container 950 down to map the domain's ids",
                "map the domain's id ranges 2000000-2999999, 3000000-5999999 1:1 into container 950 (lxc.idmap)",
                "start container 950",
                configure
            ]
        );
        // mapped already: only the configuration (which keeps a working join)
        let mapped = format!("memory: 512\n{}\n", lxc_idmap::domain_lines(&domain).join("\n"));
        assert_eq!(plan_for(&gw, &mapped, None).unwrap(), [configure]);
    }
}
