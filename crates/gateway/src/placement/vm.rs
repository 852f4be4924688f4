//! Mode `vm`: the share's Samba runs in a dedicated VM, a full clone of the gateway's template
//! VM (scripts/create_vm_template.sh: Debian 12, cloud-init, qemu-guest-agent, Samba). The
//! share's data lives on the VM's own second disk (`scsi1`), sized from the quota. The VM is set
//! up by cloud-init user-data (`smbgw_samba::cloud_init`, from the share's `GuestSetup`) put in
//! the snippets storage. That user-data is the only way in: nothing is pushed into a running VM,
//! so it follows a change (of the share, or of the node's discovery setting, which decides whether
//! the VM answers discovery itself) when its share is converged (update, `apply`), by a reboot.
//!
//! Everything goes through `qm`, as an admin would type it (`pve.rs`); the waits for the
//! booting VM are in vm_wait.rs.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use smbgw_core::guest::{self, Vm as VmConfig};
use smbgw_core::plan::{FnStep, RemoveFile, WriteFile};
use smbgw_core::size::{format_size, parse_size};
use smbgw_core::{bail_field, bail_input, Error, Placement, Plan, Result, Share};
use smbgw_samba::cloud_init::{self, DataDisk};
use smbgw_samba::render;

use super::guest::{check_guest_memory, check_resources, check_storage_room, guest_name, guest_setup};
use super::vm_wait::{vm_ip, wait_for_agent, wait_for_cloud_init, wait_for_smb, wait_limits};
use super::{PlacementPlugin, PlacementStatus, VmStatus};
use crate::pve::{self, qm, run_qm, Guest};
use crate::Gateway;

/// A full clone copies the template's disks: far longer than other qm calls, and a clone killed
/// half-way would leave a locked, half-made VM behind.
const CLONE_TIMEOUT: Duration = Duration::from_secs(3600);
/// Where the user-data snippets go: PVE's `local` directory storage (snippets content).
const SNIPPET_STORAGE: &str = "local";
/// The share's data disk, and how the guest sees it (virtio-scsi names disks by their drive).
const DATA_DRIVE: &str = "scsi1";
const DATA_DEVICE: &str = "/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_drive-scsi1";

pub(crate) struct Vm<'a>(pub &'a VmConfig);

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

/// The snippet's file name; the share name's safe stem keeps names of different shares apart.
pub fn snippet_file(share: &str) -> String {
    format!("smbgw-{}-user.yaml", render::share_file_stem(share))
}

fn snippet_volume(share: &str) -> String {
    format!("{SNIPPET_STORAGE}:snippets/{}", snippet_file(share))
}

/// The volume id of a drive property string (`local-lvm:vm-960-disk-1,size=10G`).
fn volume_of(drive: &str) -> String {
    drive.split(',').next().unwrap_or_default().to_string()
}

/// The data disk: the quota, in whole GiB (what `qm set --scsi1 STORAGE:SIZE` takes).
fn data_disk_gib(share: &Share) -> u64 {
    share.quota.expect("vm shares have a quota").div_ceil(1 << 30)
}

/// Where the share's snippet lives on this node (`pvesm path`).
fn snippet_path(share: &Share) -> Result<PathBuf> {
    let volume = snippet_volume(&share.name);
    pve::volume_path(&volume).map_err(|e| {
        Error::input(format!(
            "snippets storage '{SNIPPET_STORAGE}' is not available for {volume}: {}",
            e.message
        ))
    })
}

/// The user-data snippet, readable by root only: it holds the users' NT hashes.
fn snippet_step(gw: &Gateway, share: &Share) -> Result<Option<WriteFile>> {
    let disk = DataDisk {
        device: DATA_DEVICE,
        mount: guest::SHARE_MOUNT,
    };
    // the data disk has no snapshots inside the VM (core refuses shadow copies in mode vm)
    let setup = guest_setup(gw.samba(), share, None)?;
    let text = cloud_init::user_data(&setup, &share.name, &guest_name(&share.name), &disk);
    let step = WriteFile::new("cloud-init user-data", &snippet_path(share)?, text.into_bytes(), 0o600)?;
    Ok(step.changes().then_some(step))
}

/// What converging a VM needs to know about it, read before planning.
struct VmFacts {
    /// The user-data snippet to write, when it differs from the one in place.
    user_data: Option<WriteFile>,
    /// `qm config`; `None` when the VM does not exist.
    config: Option<Vec<(String, String)>>,
    /// `qm status`: `running`, `stopped`, `missing`.
    state: String,
}

impl Vm<'_> {
    /// The converge plan from the VM's facts: nothing here reads the node.
    fn plan_converge(&self, share: &Share, facts: VmFacts, plan: &mut Plan) -> Result<()> {
        let id = self.id();
        let mut changed = match facts.user_data {
            Some(step) => {
                plan.push(step);
                true
            }
            None => false,
        };
        if let Some(config) = &facts.config {
            changed |= self.size_step(config, plan);
        }
        match facts.state.as_str() {
            "running" if changed => {
                let reboot = id.to_string();
                plan.push(FnStep::new(
                    format!("reboot VM {id}, so cloud-init applies the new user-data"),
                    move || run_qm(&["reboot".into(), reboot.clone()]),
                    || Ok(()),
                ));
            }
            "running" => {}
            _ => self.start_steps(share, plan)?,
        }
        Ok(())
    }

    fn id(&self) -> u32 {
        self.0.id.expect("the VM's id is chosen at create")
    }

    /// Start the VM, wait for its guest agent (it booted), then for SMB (cloud-init configured
    /// Samba).
    fn start_steps(&self, share: &Share, plan: &mut Plan) -> Result<()> {
        let (agent_wait, smb_wait) = wait_limits()?;
        let vm = self.0.clone();
        let id = self.id().to_string();
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

    /// `vm-memory` or `vm-cores` changed: set them; a running VM gets them with its reboot.
    fn size_step(&self, config: &[(String, String)], plan: &mut Plan) -> bool {
        let (id, vm) = (self.id(), self.0);
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
}

impl PlacementPlugin for Vm<'_> {
    /// The template, the id, the bridge, the memory, and room on the storage for the clone and
    /// the data disk.
    fn check(&self, gw: &Gateway, share: &Share, taken: &[u32]) -> Result<Placement> {
        let data_disk = data_disk_gib(share) << 30;
        let vm = self.0;
        let template = qm().args(["config", &vm.template.to_string()]).output()?;
        if !template.success() {
            // qm: "Configuration file '...' does not exist"; anything else is PVE failing us
            let missing = template.stderr.contains("does not exist");
            let message = match missing {
                true => format!(
                    "template VM {} does not exist; build it with 'scripts/create_vm_template.sh' or give --vm-template",
                    vm.template
                ),
                false => format!("qm config {} failed: {}", vm.template, template.stderr.trim()),
            };
            return Err(match missing {
                true => Error::input(message).field("vm-template"),
                false => Error::external(message),
            });
        }
        if !template.stdout.lines().any(|l| l.trim() == "template: 1") {
            bail_field!(
                "vm-template",
                "VM {} is not a template (qm template {0} makes it one); --vm-template must name the gateway's template VM",
                vm.template
            );
        }
        let id = gw.choose_guest_id(vm.id, taken, Some(vm.template), "--vm-id")?;
        check_resources(&vm.bridge, vm.memory, "vm-memory")?;
        let clone_size = template_disks_size(&template.stdout);
        check_storage_room(
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
            bail_field!(
                "users",
                "share '{}': domain users and groups are not available in --mode vm yet",
                share.name
            );
        }
        // a fresh PVE install's `local` takes iso, vztmpl and backup, but no snippets
        if pve::storage_free(SNIPPET_STORAGE, "snippets").is_err() {
            bail_input!(
                "storage {SNIPPET_STORAGE} does not allow snippets, which carry the VM's cloud-init user-data; \
                 add them to its content types, e.g. 'pvesm set {SNIPPET_STORAGE} --content iso,vztmpl,backup,snippets'"
            );
        }
        Ok(share.mode.with_guest_id(id))
    }

    fn check_update(&self, _: &Share, old: &Share) -> Result<()> {
        match old.mode.vm() {
            Some(before) => check_guest_memory(&self.0.bridge, self.0.memory, before.memory, "vm-memory"),
            None => Ok(()),
        }
    }

    /// Clone, configure and start the VM of a new vm share; done when SMB answers.
    fn create_steps(&self, gw: &Gateway, share: &Share, plan: &mut Plan) -> Result<()> {
        let vm = self.0;
        let id = self.id().to_string();
        let quota_gib = data_disk_gib(share);
        if let Some(step) = snippet_step(gw, share)? {
            plan.push(step);
        }
        let clone: Vec<String> = [
            "clone",
            &vm.template.to_string(),
            &id,
            "--name",
            &guest_name(&share.name),
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
        self.start_steps(share, plan)
    }

    /// The user-data in line (cloud-init applies a changed one at the VM's next boot, so a
    /// running VM is rebooted), a stopped VM started.
    fn converge_steps(&self, gw: &Gateway, share: &Share, plan: &mut Plan) -> Result<()> {
        let Some(id) = self.0.id else {
            return Ok(());
        };
        let facts = VmFacts {
            user_data: snippet_step(gw, share)?,
            config: pve::vm_config(id),
            state: pve::guest_state(Guest::Vm(id)),
        };
        self.plan_converge(share, facts, plan)
    }

    /// Destroy the VM. Its data disk stays unless `purge_data`: it is detached first (`qm set
    /// --delete scsi1` makes it `unusedN`), and that entry dropped from the config, since `qm
    /// destroy` frees every volume its config names, unused ones too.
    fn destroy_steps(
        &self,
        gw: &Gateway,
        share: &Share,
        purge_data: bool,
        plan: &mut Plan,
        notes: &mut Vec<String>,
    ) -> Result<()> {
        let Some(id) = self.0.id else {
            return Ok(());
        };
        let conf = Guest::Vm(id).config_path(&gw.layout);
        if pve::guest_state(Guest::Vm(id)) == "running" {
            // undone by a start: a failed delete leaves the share served
            let (stop, start) = (id.to_string(), id.to_string());
            plan.push(FnStep::new(
                format!("stop VM {id}"),
                move || run_qm(&["stop".into(), stop.clone()]),
                move || run_qm(&["start".into(), start.clone()]),
            ));
        }
        let data =
            pve::vm_config(id).and_then(|c| c.into_iter().find(|(k, _)| k == DATA_DRIVE).map(|(_, v)| volume_of(&v)));
        if let (false, Some(volume)) = (purge_data, &data) {
            notes.push(format!(
                "the data stays on volume {volume} (detached); delete it with 'pvesm free {volume}'"
            ));
            let (volume, again, layout) = (volume.clone(), volume.clone(), gw.layout.clone());
            plan.push(FnStep::new(
                format!("detach the data disk {volume} from VM {id}, so destroying the VM keeps it"),
                move || {
                    run_qm(&["set".into(), id.to_string(), "--delete".into(), DATA_DRIVE.into()])?;
                    Guest::Vm(id).edit_config(&layout, |t| pve::without_unused(t, &volume))
                },
                move || run_qm(&["set".into(), id.to_string(), format!("--{DATA_DRIVE}"), again.clone()]),
            ));
        }
        if let Ok(Some(step)) = snippet_path(share).and_then(|p| RemoveFile::new("cloud-init user-data", &p)) {
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
        Ok(())
    }

    fn status(&self, _: &Share, _: bool) -> PlacementStatus {
        let vm = self.0;
        let state = vm
            .id
            .map(|id| pve::guest_state(Guest::Vm(id)))
            .unwrap_or_else(|| "missing".into());
        let ip = (state == "running").then(|| vm_ip(vm)).flatten();
        let smb = ip.as_deref().is_some_and(super::guest::smb_answers);
        let mut problems = Vec::new();
        if state != "running" {
            problems.push(format!("VM {} is {state}", super::id_text(vm.id)));
        } else if !smb {
            problems.push("smbd in the VM does not answer on port 445".into());
        }
        PlacementStatus {
            container: None,
            vm: Some(VmStatus {
                vm_id: vm.id,
                state,
                ip,
                smb,
            }),
            problems,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(guest_name("Team Data$"), "smbgw-team-data");
        assert_eq!(snippet_file("Team Data"), "smbgw-team+20data-user.yaml");
        assert_eq!(volume_of("local-lvm:vm-960-disk-1,size=10G"), "local-lvm:vm-960-disk-1");
    }

    #[test]
    fn converging_follows_the_vms_state() {
        let props = [
            ("mode", "vm"),
            ("quota", "10G"),
            ("vm-id", "960"),
            ("vm-memory", "2048"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let share = Share::from_properties("v", &props).unwrap();
        let vm = Vm(share.mode.vm().unwrap());
        let config = |memory: &str| {
            Some(vec![
                ("memory".to_string(), memory.to_string()),
                ("cores".into(), "1".into()),
            ])
        };
        let plan_for = |config: Option<Vec<(String, String)>>, state: &str| {
            let mut plan = Plan::new();
            let facts = VmFacts {
                user_data: None,
                config,
                state: state.into(),
            };
            vm.plan_converge(&share, facts, &mut plan).unwrap();
            plan.describe()
        };
        // in line and running: nothing to do
        assert!(plan_for(config("2048"), "running").is_empty());
        // more memory: set, and a running VM rebooted to get it
        assert_eq!(
            plan_for(config("1024"), "running"),
            [
                "set VM 960 to 2048 MiB memory and 1 cores (qm set)",
                "reboot VM 960, so cloud-init applies the new user-data"
            ]
        );
        // stopped: started, and waited for until it serves
        let steps = plan_for(config("2048"), "stopped");
        assert_eq!(steps.len(), 3, "{steps:?}");
        assert_eq!(steps[0], "start VM 960");
        assert!(steps[2].starts_with("wait until cloud-init has configured Samba in VM 960"));
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
}
