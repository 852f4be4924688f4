//! Mode `lxc`: the share's Samba runs in a Proxmox VE container instead of on the node. The
//! share's directory (with its quota) stays on the node and is bind-mounted into the container
//! (`mp0`); the share's users get the same uid and gid inside as outside (1:1 entries in the
//! container's `lxc.idmap`), so files keep their owners and the node's ACLs apply unchanged.
//! Samba inside is set up from the same `GuestSetup` a VM gets as cloud-init, here through
//! `pct exec` (lxc_inside.rs).
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
        // shadow copies turned on later: the snapshot mount only comes with a restart
        let view_missing = serves_zfs_snapshots(share)
            && facts.config.as_deref().is_some_and(|text| {
                let line = snapshot_view_line(Path::new(&share.path));
                !pve::main_section(text).any(|l| l == line)
            });
        if view_missing {
            facts.snapshot_mount.unwrap_or(Ok(()))?;
            if facts.running {
                plan.push(FnStep::new(
                    format!("shut container {id} down to add the snapshot mount"),
                    move || {
                        pct()
                            .args(["shutdown", &id.to_string(), "--timeout", "60", "--forceStop", "1"])
                            .run()
                            .map(|_| ())
                    },
                    move || pct().args(["start", &id.to_string()]).run().map(|_| ()),
                ));
            }
            self.snapshot_view_step(gw, share, plan);
        }
        if !facts.running || view_missing {
            plan.push(FnStep::new(
                format!("start container {id}"),
                move || pct().args(["start", &id.to_string()]).run().map(|_| ()),
                || Ok(()),
            ));
        }
        self.configure_step(gw, share, plan);
        Ok(())
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

    /// Samba inside the container: users, configuration, smbd restarted; done when SMB answers.
    fn configure_step(&self, gw: &Gateway, share: &Share, plan: &mut Plan) {
        let (samba, share, ct) = (gw.samba().clone(), share.clone(), self.0.clone());
        plan.push(FnStep::new(
            format!(
                "configure Samba in container {} for share '{}' (installing it first if the template has none) and wait until it answers SMB",
                ct.id.unwrap_or(0),
                share.name
            ),
            move || {
                // the container shows the dataset's snapshots at their own mount (see above)
                let snapshots = serves_zfs_snapshots(&share).then_some(guest::SNAPSHOT_MOUNT);
                lxc_inside::configure(&super::guest::guest_setup(&samba, &share, snapshots)?, &ct)
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
            bail_field!(
                "users",
                "share '{}': domain users and groups are not available in --mode lxc yet (the container is not joined to the domain); use --mode native",
                share.name
            );
        }
        let ct = self.0;
        let id = gw.choose_guest_id(ct.id, taken, None, "--ct-id")?;
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
                "the ids of the share's users and the domain's ranges {} 1:1",
                domain.iter().map(IdRange::to_string).collect::<Vec<_>>().join(", ")
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
        let facts = ContainerFacts {
            running: pve::guest_state(Guest::Container(id)) == "running",
            config: std::fs::read_to_string(Guest::Container(id).config_path(&gw.layout)).ok(),
            snapshot_mount: serves_zfs_snapshots(share).then(|| check_shared_mount(Path::new(&share.path))),
        };
        self.plan_converge(gw, share, facts, plan)
    }

    /// Stop and destroy the container (the data stays on the node).
    fn destroy_steps(&self, gw: &Gateway, _: &Share, _: bool, plan: &mut Plan, _: &mut Vec<String>) -> Result<()> {
        let Some(id) = self.0.id else {
            return Ok(());
        };
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

/// On a node, root may map an id 1:1 only if /etc/subuid and /etc/subgid allow it.
fn subid_steps(uids: &[u32], gids: &[u32], domain: &[IdRange], plan: &mut Plan) {
    for (file, ids) in [("/etc/subuid", uids), ("/etc/subgid", gids)] {
        let path = PathBuf::from(file);
        let before = std::fs::read(&path).unwrap_or_default();
        let mut text = String::from_utf8_lossy(&before).to_string();
        let wanted = lxc_idmap::subid_entries(ids, domain);
        let missing: Vec<String> = wanted.into_iter().filter(|w| !text.lines().any(|l| l == w)).collect();
        if missing.is_empty() {
            continue;
        }
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        missing.iter().for_each(|m| text.push_str(&format!("{m}\n")));
        let restore = path.clone();
        plan.push(FnStep::new(
            format!("allow root to map {} in {file}", missing.join(", ")),
            move || smbgw_sys::fs::atomic_write(&path, text.as_bytes(), 0o644),
            move || smbgw_sys::fs::atomic_write(&restore, &before, 0o644),
        ));
    }
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
}
