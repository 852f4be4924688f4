//! Mode `lxc`: the share's Samba runs in a Proxmox VE container instead of on the node. The
//! share's directory (with its quota) stays on the node and is bind-mounted into the container
//! (`mp0`); the share's users get the same uid and gid inside as outside (1:1 entries in the
//! container's `lxc.idmap`), so files keep their owners and the node's ACLs apply unchanged.
//! Samba inside is configured with the same renderer as on the node; the users' password
//! hashes move over with `pdbedit` (never a password).
//!
//! Everything goes through `pct`, as an admin would type it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use smbgw_core::guest::{self, Container};
use smbgw_core::plan::FnStep;
use smbgw_core::{bail_input, validate, Error, Plan, Result, Share};
use smbgw_samba::Samba;
use smbgw_sys::Command;

use crate::{guests, Gateway};

const SMB_WAIT: Duration = Duration::from_secs(90);
/// How long a stock template's container may take to reach its Debian mirror, and to install
/// Samba from it.
const NETWORK_WAIT: Duration = Duration::from_secs(60);
const APT_TIMEOUT: Duration = Duration::from_secs(900);
/// The id range of an unprivileged container (PVE's default).
const ID_BASE: u32 = 100_000;
const ID_COUNT: u32 = 65_536;
/// The container's root filesystem: the template unpacked is about 400 MB.
const ROOTFS_GIB: u64 = 4;

fn pct() -> Command {
    Command::new("pct").timeout(Duration::from_secs(300))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ContainerStatus {
    pub ct_id: Option<u32>,
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    pub smb: bool,
}

/// `lxc.idmap` lines: `ids` (sorted, unique, below 65536) map to themselves, everything else
/// to the usual unprivileged range.
pub fn idmap_lines(kind: char, ids: &[u32]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut next = 0;
    for &id in ids.iter().filter(|&&i| i < ID_COUNT) {
        if id > next {
            lines.push(format!("lxc.idmap: {kind} {next} {} {}", ID_BASE + next, id - next));
        }
        lines.push(format!("lxc.idmap: {kind} {id} {id} 1"));
        next = id + 1;
    }
    if next < ID_COUNT {
        lines.push(format!(
            "lxc.idmap: {kind} {next} {} {}",
            ID_BASE + next,
            ID_COUNT - next
        ));
    }
    lines
}

impl Gateway {
    /// Only the node's own shares go into the node's smb.conf (a guest's Samba serves the others),
    /// and not those whose purge stopped part-way (their data is half gone).
    pub(crate) fn node_shares(&self, shares: &[Share]) -> Vec<Share> {
        shares
            .iter()
            .filter(|s| s.container.is_none() && s.vm.is_none())
            .filter(|s| self.purge_incomplete(s).is_none())
            .cloned()
            .collect()
    }

    /// Validate what the container needs before anything is created, and pick its id.
    fn check_container(&self, share: &mut Share, taken_by_shares: &[u32]) -> Result<()> {
        if share.domain_principals().next().is_some() {
            bail_input!(
                "share '{}': domain users and groups are not available in --mode lxc yet; use --mode native",
                share.name
            );
        }
        let ct = share.container.as_mut().expect("lxc share");
        ct.id = Some(self.choose_guest_id(ct.id, taken_by_shares, None, "--ct-id")?);
        let template = Command::new("pvesm")
            .args(["path", &ct.template])
            .run()
            .map_err(|e| Error::input(format!("template {} is not available: {}", ct.template, e.message)))?;
        let template = template.stdout.trim();
        if !Path::new(template).is_file() {
            bail_input!(
                "template {} ({template}) does not exist; build it with 'scripts/create_ct_template.sh' or download one with pveam",
                ct.template
            );
        }
        guests::check_resources(&ct.bridge, ct.memory, "ct-memory")?;
        guests::check_storage_room(
            &ct.storage,
            "rootdir",
            ROOTFS_GIB << 30,
            &format!("the root filesystem of container {}", ct.id.expect("id chosen")),
            "--ct-storage",
        )
    }

    /// The unix ids of the share's users and groups (with the users' primary groups).
    fn share_ids(&self, share: &Share) -> Result<(Vec<u32>, Vec<u32>)> {
        let accounts = self.samba.accounts();
        let (mut uids, mut gids) = (Vec::new(), Vec::new());
        for user in &share.users {
            let a = accounts
                .user(user)?
                .ok_or_else(|| Error::input(format!("user '{user}' does not exist")))?;
            uids.push(a.uid);
            gids.push(a.gid);
        }
        for group in &share.groups {
            gids.push(
                accounts
                    .group_id(group)?
                    .ok_or_else(|| Error::input(format!("group '{group}' does not exist")))?,
            );
        }
        uids.sort_unstable();
        uids.dedup();
        gids.sort_unstable();
        gids.dedup();
        if let Some(id) = uids.iter().chain(&gids).find(|&&i| i >= ID_COUNT) {
            bail_input!(
                "id {id} of a user or group of share '{}' is beyond what a container maps (65535)",
                share.name
            );
        }
        Ok((uids, gids))
    }

    /// Create, configure and start the container of a new lxc share.
    pub(crate) fn container_create_steps(&self, share: &mut Share, taken: &[u32], plan: &mut Plan) -> Result<()> {
        self.check_container(share, taken)?;
        let (uids, gids) = self.share_ids(share)?;
        let ct = share.container.clone().expect("lxc share");
        let id = ct.id.expect("id chosen").to_string();
        let mut net = format!("name=eth0,bridge={},ip={}", ct.bridge, ct.ip);
        if let Some(gw) = &ct.gateway {
            net.push_str(&format!(",gw={gw}"));
        }
        // the share directory is created by an earlier step; pct only mounts it
        let create_args: Vec<String> = vec![
            "create".into(),
            id.clone(),
            ct.template.clone(),
            "--hostname".into(),
            guests::guest_name(&share.name),
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
        let undo_id = id.clone();
        plan.push(FnStep::new(
            format!("create container {id} from {} (pct create)", ct.template),
            move || pct().args(&create_args).run().map(|_| ()),
            move || {
                let _ = pct().args(["stop", &undo_id]).output();
                pct().args(["destroy", &undo_id, "--purge", "1"]).run().map(|_| ())
            },
        ));
        let conf = self.layout.pve_lxc_dir.join(format!("{id}.conf"));
        let mut lines = idmap_lines('u', &uids);
        lines.extend(idmap_lines('g', &gids));
        plan.push(FnStep::new(
            format!("map the ids of the share's users 1:1 into container {id} (lxc.idmap)"),
            move || add_config_lines(&conf, &lines),
            || Ok(()),
        ));
        self.snapshot_view_steps(share, plan)?;
        if !self.layout.is_sandbox() {
            self.subid_steps(&uids, &gids, plan);
        }
        let (start_id, stop_id) = (id.clone(), id.clone());
        plan.push(FnStep::new(
            format!("start container {id}"),
            move || pct().args(["start", &start_id]).run().map(|_| ()),
            move || pct().args(["stop", &stop_id]).run().map(|_| ()),
        ));
        self.container_configure_step(share, plan);
        Ok(())
    }

    /// ZFS snapshots for Previous Versions. `.zfs/snapshot` does not work through the share's
    /// bind mount: ZFS mounts a snapshot on first access in the node's mount namespace, at the
    /// dataset's mountpoint, so the container never sees it ("Too many levels of symbolic
    /// links", openzfs#3512, #9479, #9958). Instead the container gets the node's
    /// `.zfs/snapshot` as a separate recursive, read-only mount with slave propagation: snapshots
    /// mounted when it starts come along, later ones (also those a lookup from inside triggers)
    /// propagate in, and ZFS can still unmount them to destroy a snapshot. This needs the
    /// dataset's mount to be shared, as datasets are on a node booted by systemd.
    fn snapshot_view_steps(&self, share: &Share, plan: &mut Plan) -> Result<()> {
        if !share.serves_zfs_snapshots() {
            return Ok(());
        }
        check_shared_mount(Path::new(&share.path))?;
        let id = share.container.as_ref().and_then(|c| c.id).expect("id chosen");
        let conf = self.layout.pve_lxc_dir.join(format!("{id}.conf"));
        let line = snapshot_view_line(Path::new(&share.path));
        let (undo_conf, undo_line) = (conf.clone(), line.clone());
        plan.push(FnStep::new(
            format!(
                "show the dataset's snapshots in container {id} at {} (lxc.mount.entry)",
                guest::SNAPSHOT_MOUNT
            ),
            move || add_config_lines(&conf, std::slice::from_ref(&line)),
            move || remove_config_line(&undo_conf, &undo_line),
        ));
        Ok(())
    }

    /// Samba inside the container: users, configuration, smbd restarted; done when SMB answers.
    fn container_configure_step(&self, share: &Share, plan: &mut Plan) {
        let (samba, share) = (self.samba.clone(), share.clone());
        let ct = share.container.clone().expect("lxc share");
        plan.push(FnStep::new(
            format!(
                "configure Samba in container {} for share '{}' (installing it first if the template has none) and wait until it answers SMB",
                ct.id.unwrap_or(0),
                share.name
            ),
            move || configure_inside(&samba, &share, &ct),
            || Ok(()),
        ));
    }

    /// On a node, root may map an id 1:1 only if /etc/subuid and /etc/subgid allow it.
    fn subid_steps(&self, uids: &[u32], gids: &[u32], plan: &mut Plan) {
        for (file, ids) in [("/etc/subuid", uids.to_vec()), ("/etc/subgid", gids.to_vec())] {
            let path = PathBuf::from(file);
            let before = std::fs::read(&path).unwrap_or_default();
            let mut text = String::from_utf8_lossy(&before).to_string();
            let mut wanted = vec![format!("root:{ID_BASE}:{ID_COUNT}")];
            wanted.extend(ids.iter().map(|i| format!("root:{i}:1")));
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

    /// Stop and destroy the container of a deleted lxc share (the data stays on the node).
    pub(crate) fn container_destroy_steps(&self, share: &Share, plan: &mut Plan) {
        let Some(id) = share.container.as_ref().and_then(|c| c.id) else {
            return;
        };
        let conf = self.layout.pve_lxc_dir.join(format!("{id}.conf"));
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
    }

    /// `apply` for an lxc share: start a stopped container and bring Samba inside in line.
    pub(crate) fn container_converge_steps(&self, share: &Share, plan: &mut Plan) -> Result<()> {
        let Some(id) = share.container.as_ref().and_then(|c| c.id) else {
            return Ok(());
        };
        let running = container_state(id) == "running";
        let conf = self.layout.pve_lxc_dir.join(format!("{id}.conf"));
        self.container_memory_step(id, share, &conf, plan);
        // shadow copies turned on later: the snapshot mount only comes with a restart
        let view_missing = share.serves_zfs_snapshots()
            && std::fs::read_to_string(&conf).is_ok_and(|text| {
                let line = snapshot_view_line(Path::new(&share.path));
                !main_section(&text).any(|l| l == line)
            });
        if view_missing {
            if running {
                let (stop, start) = (id.to_string(), id.to_string());
                plan.push(FnStep::new(
                    format!("shut container {id} down to add the snapshot mount"),
                    move || {
                        pct()
                            .args(["shutdown", &stop, "--timeout", "60", "--forceStop", "1"])
                            .run()
                            .map(|_| ())
                    },
                    move || pct().args(["start", &start]).run().map(|_| ()),
                ));
            }
            self.snapshot_view_steps(share, plan)?;
        }
        if !running || view_missing {
            let start = id.to_string();
            plan.push(FnStep::new(
                format!("start container {id}"),
                move || pct().args(["start", &start]).run().map(|_| ()),
                || Ok(()),
            ));
        }
        self.container_configure_step(share, plan);
        Ok(())
    }

    /// `ct-memory` changed: PVE applies it to a running container at once.
    fn container_memory_step(&self, id: u32, share: &Share, conf: &Path, plan: &mut Plan) {
        let ct = share.container.as_ref().expect("lxc share");
        let Some(current) = std::fs::read_to_string(conf)
            .ok()
            .and_then(|text| guests::config_value(&text, "memory"))
        else {
            return;
        };
        if current == ct.memory.to_string() {
            return;
        }
        let (set, undo) = (
            vec![
                "set".to_string(),
                id.to_string(),
                "--memory".into(),
                ct.memory.to_string(),
            ],
            vec!["set".to_string(), id.to_string(), "--memory".into(), current.clone()],
        );
        plan.push(FnStep::new(
            format!(
                "set the memory of container {id} from {current} to {} MiB (pct set)",
                ct.memory
            ),
            move || pct().args(&set).run().map(|_| ()),
            move || pct().args(&undo).run().map(|_| ()),
        ));
    }

    pub(crate) fn container_status(&self, share: &Share) -> Option<ContainerStatus> {
        let ct = share.container.as_ref()?;
        let state = ct.id.map(container_state).unwrap_or_else(|| "missing".into());
        let ip = (state == "running").then(|| container_ip(ct)).flatten();
        let smb = ip.as_deref().is_some_and(guests::smb_answers);
        Some(ContainerStatus {
            ct_id: ct.id,
            state,
            ip,
            smb,
        })
    }
}

fn container_state(id: u32) -> String {
    match pct().args(["status", &id.to_string()]).output() {
        Ok(o) if o.success() => o.stdout.trim().trim_start_matches("status:").trim().to_string(),
        _ => "missing".into(),
    }
}

fn container_ip(ct: &Container) -> Option<String> {
    if let Some((addr, _)) = ct.ip.split_once('/') {
        return Some(addr.to_string());
    }
    // dhcp: ask the container
    let out = pct()
        .args([
            "exec",
            &ct.id?.to_string(),
            "--",
            "ip",
            "-4",
            "-o",
            "addr",
            "show",
            "dev",
            "eth0",
        ])
        .output()
        .ok()?;
    let field = out.stdout.split_whitespace().skip_while(|f| *f != "inet").nth(1)?;
    field.split('/').next().map(String::from)
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

/// The lines of a PVE guest config before its first section (`[snapshot]`, `[pve:pending]`).
fn main_section(text: &str) -> impl Iterator<Item = &str> {
    text.lines().take_while(|l| !l.starts_with('['))
}

/// Add `lines` to the main section of a PVE guest config, unless there already.
fn add_config_lines(path: &Path, lines: &[String]) -> Result<()> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("reading", path, e))?;
    let main: Vec<&str> = main_section(&text).collect();
    let mut out: Vec<&str> = main.clone();
    out.extend(lines.iter().map(String::as_str).filter(|l| !main.contains(l)));
    out.extend(text.lines().skip(main.len()));
    smbgw_sys::fs::atomic_write(path, format!("{}\n", out.join("\n")).as_bytes(), 0o640)
}

fn remove_config_line(path: &Path, line: &str) -> Result<()> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("reading", path, e))?;
    let main = main_section(&text).count();
    let out: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|&(i, l)| i >= main || l != line)
        .map(|(_, l)| l)
        .collect();
    smbgw_sys::fs::atomic_write(path, format!("{}\n", out.join("\n")).as_bytes(), 0o640)
}

/// Run in the container; the output of a failing command becomes the error.
fn exec(id: &str, args: &[&str]) -> Result<String> {
    let mut cmd = pct().args(["exec", id, "--"]);
    cmd = cmd.args(args);
    Ok(cmd.run()?.stdout)
}

/// Push `content` to `dest` in the container, with `mode`.
fn push(id: &str, content: &[u8], dest: &str, mode: u32) -> Result<()> {
    let tmp = tempfile::NamedTempFile::new().map_err(|e| Error::system(format!("temporary file: {e}")))?;
    std::fs::write(tmp.path(), content).map_err(|e| Error::io("writing", tmp.path(), e))?;
    pct()
        .args(["push", id])
        .arg(tmp.path())
        .args([dest, "--perms", &format!("{mode:o}")])
        .run()
        .map(|_| ())
}

/// A stock Debian template (pveam's debian-12-standard) has no Samba: install it from the
/// container's Debian mirror. The gateway template has it already and needs no network.
fn install_samba(id: &str) -> Result<()> {
    if exec(
        id,
        &[
            "sh",
            "-c",
            "command -v smbd && command -v pdbedit && command -v testparm",
        ],
    )
    .is_ok()
    {
        return Ok(());
    }
    let apt = |args: &[&str]| {
        pct()
            .timeout(APT_TIMEOUT)
            .args([
                "exec",
                id,
                "--",
                "env",
                "DEBIAN_FRONTEND=noninteractive",
                "apt-get",
                "-q",
                "-y",
            ])
            .args(args)
            .run()
    };
    // the container's network (a DHCP lease, DNS) may still be coming up
    let deadline = Instant::now() + NETWORK_WAIT;
    let mut update = apt(&["update"]);
    while update.is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_secs(2));
        update = apt(&["update"]);
    }
    update
        .and_then(|_| apt(&["install", "--no-install-recommends", "samba"]))
        .map(|_| ())
        .map_err(|e| {
            Error::external(format!(
                "container {id} has no Samba and installing it failed; it needs its Debian mirror (network, DNS), or use the gateway template (scripts/create_ct_template.sh): {}",
                e.message
            ))
        })
}

fn configure_inside(samba: &Samba, share: &Share, ct: &Container) -> Result<()> {
    let id = ct.id.expect("id chosen").to_string();
    // the container's init needs a moment before it takes commands
    let deadline = Instant::now() + SMB_WAIT;
    while exec(&id, &["true"]).is_err() {
        if Instant::now() > deadline {
            return Err(Error::external(format!("container {id} does not take commands")));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    install_samba(&id)?;
    let accounts = samba.accounts();
    for user in &share.users {
        let a = accounts
            .user(user)?
            .ok_or_else(|| Error::input(format!("user '{user}' does not exist")))?;
        let (uid, gid) = (a.uid.to_string(), a.gid.to_string());
        validate::account_name("user name", user)?;
        if exec(&id, &["getent", "group", &gid]).is_err() {
            exec(&id, &["groupadd", "-g", &gid, user])?;
        }
        if exec(&id, &["getent", "passwd", user]).is_err() {
            exec(
                &id,
                &[
                    "useradd",
                    "-M",
                    "-N",
                    "-u",
                    &uid,
                    "-g",
                    &gid,
                    "-s",
                    "/usr/sbin/nologin",
                    user,
                ],
            )?;
        }
    }
    for group in &share.groups {
        let gid = accounts
            .group_id(group)?
            .ok_or_else(|| Error::input(format!("group '{group}' does not exist")))?
            .to_string();
        if exec(&id, &["getent", "group", group]).is_err() {
            exec(&id, &["groupadd", "-g", &gid, group])?;
        }
    }
    // the NT hashes, in smbpasswd format (never the passwords)
    let hashes = guests::password_hashes(samba, share)?;
    if !hashes.is_empty() {
        const IMPORT: &str = "/root/.pve-smbgateway-users";
        push(&id, hashes.as_bytes(), IMPORT, 0o600)?;
        let imported = exec(&id, &["pdbedit", "-i", &format!("smbpasswd:{IMPORT}"), "-e", "tdbsam"]);
        let _ = exec(&id, &["rm", "-f", IMPORT]);
        imported?;
    }
    let rendered = guests::render_inside(share);
    exec(&id, &["mkdir", "-p", "/etc/samba/smbgateway.d"])?;
    for (path, text) in &rendered.shares {
        push(&id, text.as_bytes(), &path.display().to_string(), 0o644)?;
    }
    push(&id, rendered.smb_conf.1.as_bytes(), "/etc/samba/smb.conf", 0o644)?;
    exec(&id, &["testparm", "-s", "/etc/samba/smb.conf"])?;
    exec(&id, &["systemctl", "restart", "smbd"])?;
    let deadline = Instant::now() + SMB_WAIT;
    loop {
        if container_ip(ct).as_deref().is_some_and(guests::smb_answers) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Error::external(format!(
                "smbd in container {id} does not answer on port 445 within {} s",
                SMB_WAIT.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
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
    fn config_lines_go_into_the_main_section() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("950.conf");
        let text = "memory: 512\nlxc.idmap: u 0 100000 65536\n[before-upgrade]\nmemory: 256\n";
        std::fs::write(&conf, text).unwrap();
        let line = "lxc.mount.entry: /a b none bind 0 0".to_string();
        add_config_lines(&conf, &[line.clone(), "memory: 512".into()]).unwrap();
        let added = std::fs::read_to_string(&conf).unwrap();
        assert_eq!(
            added,
            "memory: 512\nlxc.idmap: u 0 100000 65536\nlxc.mount.entry: /a b none bind 0 0\n[before-upgrade]\nmemory: 256\n"
        );
        remove_config_line(&conf, &line).unwrap();
        assert_eq!(std::fs::read_to_string(&conf).unwrap(), text);
    }

    #[test]
    fn idmap_maps_share_ids_one_to_one() {
        assert_eq!(
            idmap_lines('u', &[20000, 20002]),
            [
                "lxc.idmap: u 0 100000 20000",
                "lxc.idmap: u 20000 20000 1",
                "lxc.idmap: u 20001 120001 1",
                "lxc.idmap: u 20002 20002 1",
                "lxc.idmap: u 20003 120003 45533",
            ]
        );
        assert_eq!(idmap_lines('g', &[]), ["lxc.idmap: g 0 100000 65536"]);
        assert_eq!(
            idmap_lines('u', &[0]),
            ["lxc.idmap: u 0 0 1", "lxc.idmap: u 1 100001 65535"]
        );
    }
}
