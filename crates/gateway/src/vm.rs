//! Mode `vm`: the share's Samba runs in a dedicated VM, a full clone of the gateway's template
//! VM (scripts/create_vm_template.sh: Debian 12, cloud-init, qemu-guest-agent, Samba). The
//! share's data lives on the VM's own second disk (`scsi1`), sized from the quota. The VM is
//! configured by cloud-init user-data we render (samba-templates/cloud-init-user-data.yaml) and
//! put in the snippets storage: Samba's configuration from the node's renderer, the users with
//! their NT hashes (imported with `pdbedit`, never a password), the data disk at /srv/share.
//!
//! Everything goes through `qm`, as an admin would type it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use smbgw_core::guest::{self, Vm};
use smbgw_core::plan::{FnStep, RemoveFile, WriteFile};
use smbgw_core::size::{format_size, parse_size};
use smbgw_core::{bail_input, validate, Error, Plan, Result, Share};
use smbgw_samba::render;
use smbgw_samba::Samba;
use smbgw_sys::Command;

use crate::{guests, Gateway};

/// A cloud image's first boot (cloud-init, fs_setup) takes a while, longer without KVM.
const AGENT_WAIT: Duration = Duration::from_secs(300);
const SMB_WAIT: Duration = Duration::from_secs(120);
/// Seconds that replace both waits: a node without KVM may need longer, a test less.
const ENV_WAIT: &str = "PVE_SMBGW_VM_WAIT";
/// A full clone copies the template's disks: far longer than other qm calls, and a clone killed
/// half-way would leave a locked, half-made VM behind.
const CLONE_TIMEOUT: Duration = Duration::from_secs(3600);
/// Where the user-data snippets go: PVE's `local` directory storage (snippets content).
const SNIPPET_STORAGE: &str = "local";
/// The share's data disk, and how the guest sees it (virtio-scsi names disks by their drive).
const DATA_DRIVE: &str = "scsi1";
const DATA_DEVICE: &str = "/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_drive-scsi1";
/// The users' hashes inside the VM until `pdbedit` imported them.
const HASHES: &str = "/root/.pve-smbgateway-users";
const USER_DATA: &str = include_str!("../../../samba-templates/cloud-init-user-data.yaml");

fn qm() -> Command {
    Command::new("qm").timeout(Duration::from_secs(300))
}

fn run_qm(args: &[String]) -> Result<()> {
    qm().args(args).run().map(|_| ())
}

/// How long to wait for the guest agent, and then for SMB.
fn wait_limits() -> Result<(Duration, Duration)> {
    match std::env::var(ENV_WAIT) {
        Ok(v) if !v.is_empty() => match v.parse::<u64>() {
            Ok(secs) if secs > 0 => Ok((Duration::from_secs(secs), Duration::from_secs(secs))),
            _ => bail_input!("{ENV_WAIT}={v:?} is not a number of seconds"),
        },
        _ => Ok((AGENT_WAIT, SMB_WAIT)),
    }
}

/// Whether a VM config key is a disk drive (`scsi0`, `efidisk0`, ...), as qemu-server names them.
fn is_drive(key: &str) -> bool {
    let bus = key.trim_end_matches(|c: char| c.is_ascii_digit());
    bus.len() < key.len() && matches!(bus, "ide" | "sata" | "scsi" | "virtio" | "efidisk" | "tpmstate")
}

/// What a full clone allocates on the target storage: the template's disks (their `size=`).
/// CD-ROMs are left out; the cloud-init drive, one of them, takes 4 MiB.
fn template_disks_size(config: &str) -> u64 {
    config
        .lines()
        .filter_map(|l| l.split_once(": "))
        .filter(|(k, v)| is_drive(k) && !v.split(',').any(|p| p == "media=cdrom"))
        .filter_map(|(_, v)| v.split(',').find_map(|p| p.strip_prefix("size=")))
        // PVE's disk-size: bytes, or a number with K, M, G or T
        .filter_map(|size| size.parse::<u64>().ok().or_else(|| parse_size(size).ok()))
        .sum()
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct VmStatus {
    pub vm_id: Option<u32>,
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    pub smb: bool,
}

/// The snippet's file name; the share name's safe stem keeps names of different shares apart.
pub fn snippet_file(share: &str) -> String {
    format!("smbgw-{}-user.yaml", render::share_file_stem(share))
}

fn snippet_volume(share: &str) -> String {
    format!("{SNIPPET_STORAGE}:snippets/{}", snippet_file(share))
}

/// A YAML scalar: a JSON string is a valid YAML double-quoted scalar, so nothing inside can be
/// taken for syntax (and `no` stays a name, not a boolean).
fn scalar(value: &str) -> String {
    serde_json::to_string(value).expect("a string serialises")
}

/// One `write_files` entry; the content as a literal block, every line indented.
fn write_file_entry(path: &str, mode: u32, content: &str) -> String {
    let mut out = format!(
        "  - path: {}\n    owner: \"root:root\"\n    permissions: \"{mode:04o}\"\n    content: |\n",
        scalar(path)
    );
    for line in content.lines() {
        if !line.is_empty() {
            out.push_str("      ");
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

fn runcmd_entry(argv: &[&str]) -> String {
    let items: Vec<String> = argv.iter().map(|a| scalar(a)).collect();
    format!("  - [{}]\n", items.join(", "))
}

/// The cloud-init user-data of the share's VM.
pub fn user_data(samba: &Samba, share: &Share) -> Result<String> {
    let rendered = guests::render_inside(share);
    let mut files = write_file_entry(&rendered.smb_conf.0.display().to_string(), 0o644, &rendered.smb_conf.1);
    for (path, text) in &rendered.shares {
        files.push_str(&write_file_entry(&path.display().to_string(), 0o644, text));
    }
    let accounts = samba.accounts();
    let mut commands = String::new();
    for group in &share.groups {
        let gid = accounts
            .group_id(group)?
            .ok_or_else(|| Error::input(format!("group '{group}' does not exist")))?;
        commands.push_str(&runcmd_entry(&["groupadd", "-f", "-g", &gid.to_string(), group]));
    }
    for user in &share.users {
        validate::account_name("user name", user)?;
        let a = accounts
            .user(user)?
            .ok_or_else(|| Error::input(format!("user '{user}' does not exist")))?;
        let (uid, gid) = (a.uid.to_string(), a.gid.to_string());
        // same ids as on the node; names and ids go as arguments, never into the script text
        commands.push_str(&runcmd_entry(&["groupadd", "-f", "-g", &gid, user]));
        commands.push_str(&runcmd_entry(&[
            "sh",
            "-c",
            "getent passwd \"$1\" >/dev/null || useradd -M -N -u \"$2\" -g \"$3\" -s /usr/sbin/nologin \"$1\"",
            "useradd",
            user,
            &uid,
            &gid,
        ]));
        commands.push_str(&runcmd_entry(&[
            "setfacl",
            "-m",
            &format!("u:{user}:rwx,d:u:{user}:rwx"),
            guest::SHARE_MOUNT,
        ]));
    }
    for group in &share.groups {
        commands.push_str(&runcmd_entry(&[
            "setfacl",
            "-m",
            &format!("g:{group}:rwx,d:g:{group}:rwx"),
            guest::SHARE_MOUNT,
        ]));
    }
    if share.users.is_empty() && share.groups.is_empty() {
        // open to every user (or guests): sticky, so nobody removes another's files
        commands.push_str(&runcmd_entry(&["chmod", "1777", guest::SHARE_MOUNT]));
    }
    // the NT hashes, in smbpasswd format (never the passwords)
    let hashes = guests::password_hashes(samba, share)?;
    if !hashes.is_empty() {
        files.push_str(&write_file_entry(HASHES, 0o600, &hashes));
        commands.push_str(&runcmd_entry(&[
            "pdbedit",
            "-i",
            &format!("smbpasswd:{HASHES}"),
            "-e",
            "tdbsam",
        ]));
        commands.push_str(&runcmd_entry(&["rm", "-f", HASHES]));
    }
    Ok(render::fill(
        USER_DATA,
        &[
            ("name", &scalar(&share.name)),
            ("hostname", &scalar(&guests::guest_name(&share.name))),
            ("data_disk", &scalar(DATA_DEVICE)),
            ("mount", &scalar(guest::SHARE_MOUNT)),
            ("write_files", files.trim_end()),
            ("runcmd", commands.trim_end()),
        ],
    ))
}

impl Gateway {
    /// Validate what the VM needs before anything is created, and pick its id: the template,
    /// the id, the bridge, the memory, and room on the storage for the clone and the data disk.
    fn check_vm(&self, share: &mut Share, taken_by_shares: &[u32]) -> Result<()> {
        let data_disk = data_disk_gib(share) << 30;
        let vm = share.vm.as_mut().expect("vm share");
        let template = qm()
            .args(["config", &vm.template.to_string()])
            .output()
            .ok()
            .filter(|o| o.success())
            .ok_or_else(|| {
                Error::input(format!(
                    "template VM {} does not exist; build it with 'scripts/create_vm_template.sh' or give --vm-template",
                    vm.template
                ))
            })?;
        if !template.stdout.lines().any(|l| l.trim() == "template: 1") {
            bail_input!(
                "VM {} is not a template (qm template {0} makes it one); --vm-template must name the gateway's template VM",
                vm.template
            );
        }
        let id = self.choose_guest_id(vm.id, taken_by_shares, Some(vm.template), "--vm-id")?;
        vm.id = Some(id);
        guests::check_resources(&vm.bridge, vm.memory, "vm-memory")?;
        let clone_size = template_disks_size(&template.stdout);
        guests::check_storage_room(
            &vm.storage,
            "images",
            clone_size + data_disk,
            &format!(
                "VM {id} ({} for the clone of template {}, {} for the data disk)",
                format_size(clone_size),
                vm.template,
                format_size(data_disk)
            ),
            "--vm-storage",
        )?;
        if share.domain_principals().next().is_some() {
            bail_input!(
                "share '{}': domain users and groups are not available in --mode vm yet",
                share.name
            );
        }
        // a fresh PVE install's `local` takes iso, vztmpl and backup, but no snippets
        if guests::storage_free(SNIPPET_STORAGE, "snippets").is_err() {
            bail_input!(
                "storage {SNIPPET_STORAGE} does not allow snippets, which carry the VM's cloud-init user-data; \
                 add them to its content types, e.g. 'pvesm set {SNIPPET_STORAGE} --content iso,vztmpl,backup,snippets'"
            );
        }
        Ok(())
    }

    /// Where the share's snippet lives on this node (`pvesm path`).
    fn snippet_path(&self, share: &Share) -> Result<PathBuf> {
        let volume = snippet_volume(&share.name);
        let out = Command::new("pvesm").args(["path", &volume]).run().map_err(|e| {
            Error::input(format!(
                "snippets storage '{SNIPPET_STORAGE}' is not available for {volume}: {}",
                e.message
            ))
        })?;
        Ok(PathBuf::from(out.stdout.trim()))
    }

    /// The user-data snippet, readable by root only: it holds the users' NT hashes.
    fn snippet_step(&self, share: &Share) -> Result<Option<WriteFile>> {
        let path = self.snippet_path(share)?;
        let step = WriteFile::new(
            "cloud-init user-data",
            &path,
            user_data(&self.samba, share)?.into_bytes(),
            0o600,
        )?;
        Ok(step.changes().then_some(step))
    }

    /// Clone, configure and start the VM of a new vm share; done when SMB answers.
    pub(crate) fn vm_create_steps(&self, share: &mut Share, taken: &[u32], plan: &mut Plan) -> Result<()> {
        self.check_vm(share, taken)?;
        let vm = share.vm.clone().expect("vm share");
        let id = vm.id.expect("id chosen").to_string();
        let quota_gib = data_disk_gib(share);
        if let Some(step) = self.snippet_step(share)? {
            plan.push(step);
        }
        let clone: Vec<String> = [
            "clone",
            &vm.template.to_string(),
            &id,
            "--name",
            &guests::guest_name(&share.name),
            "--full",
            "1",
            "--storage",
            &vm.storage,
        ]
        .map(String::from)
        .to_vec();
        let undo_id = id.clone();
        plan.push(FnStep::new(
            format!("create VM {id} as a full clone of template {} (qm clone)", vm.template),
            move || qm().timeout(CLONE_TIMEOUT).args(&clone).run().map(|_| ()),
            move || {
                let _ = qm().args(["stop", &undo_id]).output();
                // `apply` cannot repair this: no share names the VM any more
                qm().args(["destroy", &undo_id, "--purge", "1"])
                    .run()
                    .map(|_| ())
                    .map_err(|e| {
                        Error::external(format!(
                        "{}; VM {undo_id} is left over, in no share: remove it with 'qm destroy {undo_id} --purge 1'",
                        e.message
                    ))
                    })
            },
        ));
        let mut ipconfig = format!("ip={}", vm.ip);
        if let Some(gw) = &vm.gateway {
            ipconfig.push_str(&format!(",gw={gw}"));
        }
        let set: Vec<String> = [
            "set",
            &id,
            "--memory",
            &vm.memory.to_string(),
            "--cores",
            &vm.cores.to_string(),
            "--net0",
            &format!("virtio,bridge={}", vm.bridge),
            "--ipconfig0",
            &ipconfig,
            "--cicustom",
            &format!("user={}", snippet_volume(&share.name)),
            "--agent",
            "1",
        ]
        .map(String::from)
        .to_vec();
        plan.push(FnStep::new(
            format!("configure VM {id}: memory, cores, network, cloud-init user-data, guest agent (qm set)"),
            move || run_qm(&set),
            || Ok(()),
        ));
        let disk: Vec<String> = [
            "set",
            &id,
            &format!("--{DATA_DRIVE}"),
            &format!("{}:{quota_gib}", vm.storage),
        ]
        .map(String::from)
        .to_vec();
        plan.push(FnStep::new(
            format!(
                "add the share's data disk to VM {id}: {quota_gib} GiB on {} ({DATA_DRIVE})",
                vm.storage
            ),
            move || run_qm(&disk),
            || Ok(()),
        ));
        self.vm_start_steps(share, plan)
    }

    /// Start the VM, wait for its guest agent (it booted), then for SMB (cloud-init configured
    /// Samba).
    fn vm_start_steps(&self, share: &Share, plan: &mut Plan) -> Result<()> {
        let (agent_wait, smb_wait) = wait_limits()?;
        let vm = share.vm.clone().expect("vm share");
        let id = vm.id.expect("id chosen").to_string();
        let (start, stop, agent) = (id.clone(), id.clone(), id.clone());
        plan.push(FnStep::new(
            format!("start VM {id}"),
            move || run_qm(&["start".into(), start.clone()]),
            move || run_qm(&["stop".into(), stop.clone()]),
        ));
        plan.push(FnStep::new(
            format!("wait until the guest agent of VM {id} answers (the VM booted)"),
            move || wait_for_agent(&agent, agent_wait),
            || Ok(()),
        ));
        plan.push(FnStep::new(
            format!(
                "wait until cloud-init has configured Samba in VM {id} and it answers SMB for share '{}'",
                share.name
            ),
            move || {
                let deadline = Instant::now() + smb_wait;
                wait_for_cloud_init(vm.id.expect("id chosen"), smb_wait)?;
                wait_for_smb(&vm, deadline.saturating_duration_since(Instant::now()))
            },
            || Ok(()),
        ));
        Ok(())
    }

    /// Destroy the VM of a deleted vm share. Its data disk stays unless `purge_data`: it is
    /// detached first (`qm set --delete scsi1` makes it `unusedN`), and that entry dropped from
    /// the config, since `qm destroy` frees every volume its config names, unused ones too.
    pub(crate) fn vm_destroy_steps(&self, share: &Share, purge_data: bool, plan: &mut Plan, notes: &mut Vec<String>) {
        let Some(id) = share.vm.as_ref().and_then(|v| v.id) else {
            return;
        };
        let conf = self.pve_qemu_dir().join(format!("{id}.conf"));
        if vm_state(id) == "running" {
            // undone by a start: a failed delete leaves the share served
            let (stop, start) = (id.to_string(), id.to_string());
            plan.push(FnStep::new(
                format!("stop VM {id}"),
                move || run_qm(&["stop".into(), stop.clone()]),
                move || run_qm(&["start".into(), start.clone()]),
            ));
        }
        let data = vm_config(id).and_then(|c| c.into_iter().find(|(k, _)| k == DATA_DRIVE).map(|(_, v)| volume_of(&v)));
        if !purge_data {
            if let Some(volume) = &data {
                notes.push(format!(
                    "the data stays on volume {volume} (detached); delete it with 'pvesm free {volume}'"
                ));
                let (detach_id, reattach_id) = (id.to_string(), id.to_string());
                let (volume, again, conf) = (volume.clone(), volume.clone(), conf.clone());
                plan.push(FnStep::new(
                    format!("detach the data disk {volume} from VM {id}, so destroying the VM keeps it"),
                    move || {
                        run_qm(&["set".into(), detach_id.clone(), "--delete".into(), DATA_DRIVE.into()])?;
                        drop_config_entry(&conf, &volume)
                    },
                    move || {
                        run_qm(&[
                            "set".into(),
                            reattach_id.clone(),
                            format!("--{DATA_DRIVE}"),
                            again.clone(),
                        ])
                    },
                ));
            }
        }
        if let Ok(Some(step)) = self
            .snippet_path(share)
            .and_then(|p| RemoveFile::new("cloud-init user-data", &p))
        {
            plan.push(step);
        }
        // last: destroying cannot be undone, so it runs only after everything else succeeded
        let what = if purge_data { "with its data disk " } else { "" };
        plan.push(FnStep::new(
            format!("destroy VM {id} {what}(qm destroy)"),
            move || {
                if !conf.exists() {
                    return Ok(());
                }
                qm().args(["destroy", &id.to_string(), "--purge", "1"])
                    .run()
                    .map(|_| ())
            },
            || Ok(()),
        ));
    }

    /// `apply` and `update` for a vm share: the user-data in line (cloud-init applies a changed
    /// one at the VM's next boot, so a running VM is rebooted), a stopped VM started.
    pub(crate) fn vm_converge_steps(&self, share: &Share, plan: &mut Plan) -> Result<()> {
        let Some(id) = share.vm.as_ref().and_then(|v| v.id) else {
            return Ok(());
        };
        let mut changed = match self.snippet_step(share)? {
            Some(step) => {
                plan.push(step);
                true
            }
            None => false,
        };
        changed |= self.vm_size_step(id, share, plan);
        match vm_state(id).as_str() {
            "running" if changed => {
                let reboot = id.to_string();
                plan.push(FnStep::new(
                    format!("reboot VM {id}, so cloud-init applies the new user-data"),
                    move || run_qm(&["reboot".into(), reboot.clone()]),
                    || Ok(()),
                ));
            }
            "running" => {}
            _ => self.vm_start_steps(share, plan)?,
        }
        Ok(())
    }

    /// `vm-memory` or `vm-cores` changed: set them; a running VM gets them with its reboot.
    fn vm_size_step(&self, id: u32, share: &Share, plan: &mut Plan) -> bool {
        let vm = share.vm.as_ref().expect("vm share");
        let Some(config) = vm_config(id) else {
            return false;
        };
        let current = |key: &str| config.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        let (memory, cores) = (
            current("memory").unwrap_or_default(),
            current("cores").unwrap_or_default(),
        );
        if memory == vm.memory.to_string() && cores == vm.cores.to_string() {
            return false;
        }
        let apply: Vec<String> = ["set", &id.to_string(), "--memory", &vm.memory.to_string()]
            .into_iter()
            .chain(["--cores", &vm.cores.to_string()])
            .map(String::from)
            .collect();
        // back to what was there; a value the config did not have is deleted again
        let mut undo: Vec<String> = vec!["set".into(), id.to_string()];
        let mut unset = Vec::new();
        for (key, value) in [("memory", &memory), ("cores", &cores)] {
            match value.is_empty() {
                true => unset.push(key),
                false => undo.extend([format!("--{key}"), value.clone()]),
            }
        }
        if !unset.is_empty() {
            undo.extend(["--delete".to_string(), unset.join(",")]);
        }
        plan.push(FnStep::new(
            format!(
                "set VM {id} to {} MiB memory and {} cores (qm set)",
                vm.memory, vm.cores
            ),
            move || run_qm(&apply),
            move || run_qm(&undo),
        ));
        true
    }

    pub(crate) fn vm_status(&self, share: &Share) -> Option<VmStatus> {
        let vm = share.vm.as_ref()?;
        let state = vm.id.map(vm_state).unwrap_or_else(|| "missing".into());
        let ip = (state == "running").then(|| vm_ip(vm)).flatten();
        let smb = ip.as_deref().is_some_and(guests::smb_answers);
        Some(VmStatus {
            vm_id: vm.id,
            state,
            ip,
            smb,
        })
    }
}

fn vm_state(id: u32) -> String {
    match qm().args(["status", &id.to_string()]).output() {
        Ok(o) if o.success() => o.stdout.trim().trim_start_matches("status:").trim().to_string(),
        _ => "missing".into(),
    }
}

/// `qm config` as key and value, or None when the VM does not exist.
fn vm_config(id: u32) -> Option<Vec<(String, String)>> {
    let out = qm()
        .args(["config", &id.to_string()])
        .output()
        .ok()
        .filter(|o| o.success())?;
    Some(
        out.stdout
            .lines()
            .filter_map(|l| l.split_once(": "))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

/// The volume id of a drive property string (`local-lvm:vm-960-disk-1,size=10G`).
fn volume_of(drive: &str) -> String {
    drive.split(',').next().unwrap_or_default().to_string()
}

/// Remove the `unusedN: VOLUME` line of a VM config (the one `qm set --delete` left).
fn drop_config_entry(conf: &Path, volume: &str) -> Result<()> {
    let text = std::fs::read_to_string(conf).map_err(|e| Error::io("reading", conf, e))?;
    let kept: String = text
        .lines()
        .filter(|l| {
            !l.split_once(": ")
                .is_some_and(|(k, v)| k.starts_with("unused") && v.trim() == volume)
        })
        .map(|l| format!("{l}\n"))
        .collect();
    smbgw_sys::fs::atomic_write(conf, kept.as_bytes(), 0o640)
}

fn vm_ip(vm: &Vm) -> Option<String> {
    if let Some((addr, _)) = vm.ip.split_once('/') {
        return Some(addr.to_string());
    }
    // dhcp: ask the guest agent
    let out = qm()
        .args(["guest", "cmd", &vm.id?.to_string(), "network-get-interfaces"])
        .output()
        .ok()
        .filter(|o| o.success())?;
    let interfaces: serde_json::Value = serde_json::from_str(&out.stdout).ok()?;
    interfaces
        .as_array()?
        .iter()
        .filter(|i| i["name"] != "lo")
        .flat_map(|i| i["ip-addresses"].as_array().into_iter().flatten())
        .find(|a| a["ip-address-type"] == "ipv4")
        .and_then(|a| a["ip-address"].as_str().map(String::from))
}

/// The guest agent answers once the VM booted.
fn wait_for_agent(id: &str, limit: Duration) -> Result<()> {
    let deadline = Instant::now() + limit;
    // `qm guest cmd`: `qm agent` is its alias, marked for removal in qemu-server
    while !qm()
        .args(["guest", "cmd", id, "ping"])
        .output()
        .is_ok_and(|o| o.success())
    {
        if Instant::now() > deadline {
            return Err(Error::external(format!(
                "no answer within {} s; the template needs qemu-guest-agent (scripts/create_vm_template.sh), \
                 and a node without KVM may need a longer {ENV_WAIT}",
                limit.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    Ok(())
}

/// cloud-init's verdict, through the guest agent: the template's smbd answers long before
/// cloud-init has imported the users and restarted it with our configuration, and still answers
/// when cloud-init failed.
fn wait_for_cloud_init(id: u32, limit: Duration) -> Result<()> {
    const RESULT: &str = "/run/cloud-init/result.json";
    let deadline = Instant::now() + limit;
    loop {
        // `qm guest exec` answers with the command's exit code and output as JSON
        let answer: Option<serde_json::Value> = qm()
            .args(["guest", "exec", &id.to_string(), "--", "cat", RESULT])
            .output()
            .ok()
            .filter(|o| o.success())
            .and_then(|o| serde_json::from_str(&o.stdout).ok());
        if let Some(answer) = answer.filter(|a| a["exitcode"] == 0) {
            let result: serde_json::Value =
                serde_json::from_str(answer["out-data"].as_str().unwrap_or_default()).unwrap_or_default();
            let errors: Vec<&str> = result["v1"]["errors"]
                .as_array()
                .map(|e| e.iter().filter_map(|e| e.as_str()).collect())
                .unwrap_or_default();
            if errors.is_empty() {
                return Ok(());
            }
            return Err(Error::external(format!(
                "cloud-init failed in VM {id}: {}; /var/log/cloud-init-output.log in the VM says more",
                errors.join("; ")
            )));
        }
        if Instant::now() > deadline {
            return Err(Error::external(format!(
                "cloud-init did not finish in VM {id} within {} s ({RESULT} is missing)",
                limit.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// After cloud-init, smbd runs with the share's configuration.
fn wait_for_smb(vm: &Vm, limit: Duration) -> Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        let ip = vm_ip(vm);
        if ip.as_deref().is_some_and(guests::smb_answers) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Error::external(format!(
                "nothing answers on {}:445 within {} s; cloud-init's log in the VM \
                 (/var/log/cloud-init-output.log) says why",
                ip.as_deref().unwrap_or("its address"),
                limit.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The data disk: the quota, in whole GiB (what `qm set --scsi1 STORAGE:SIZE` takes).
fn data_disk_gib(share: &Share) -> u64 {
    share.quota.expect("vm shares have a quota").div_ceil(1 << 30)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(guests::guest_name("Team Data$"), "smbgw-team-data");
        assert_eq!(snippet_file("Team Data"), "smbgw-team+20data-user.yaml");
        assert_eq!(volume_of("local-lvm:vm-960-disk-1,size=10G"), "local-lvm:vm-960-disk-1");
    }

    #[test]
    fn template_disks() {
        let config = "boot: order=scsi0\n\
            efidisk0: local-lvm:vm-9000-disk-1,efitype=4m,size=4M\n\
            ide2: local-lvm:vm-9000-cloudinit,media=cdrom\n\
            scsi0: local-lvm:vm-9000-disk-0,size=2G\n\
            scsihw: virtio-scsi-pci\n\
            unused0: local-lvm:vm-9000-disk-2\n\
            virtio1: local-lvm:vm-9000-disk-3,size=1536\n";
        assert_eq!(template_disks_size(config), (2 << 30) + (4 << 20) + 1536);
        assert!(is_drive("scsi30") && is_drive("tpmstate0") && !is_drive("scsihw") && !is_drive("ide"));
    }

    #[test]
    fn yaml_scalars_and_blocks() {
        assert_eq!(scalar("no"), "\"no\"");
        assert_eq!(scalar("a\"b\\c"), "\"a\\\"b\\\\c\"");
        let entry = write_file_entry("/etc/x", 0o600, "[global]\n\tkey = 1\n\nend\n");
        assert!(entry.contains("permissions: \"0600\""), "{entry}");
        assert!(
            entry.ends_with("    content: |\n      [global]\n      \tkey = 1\n\n      end\n"),
            "{entry}"
        );
    }
}
