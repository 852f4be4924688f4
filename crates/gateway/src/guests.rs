//! What the two guest placements (mode lxc: container.rs, mode vm: vm.rs) share: the guest's
//! name, the Samba configuration it serves, the checks before a guest is made, and whether its
//! smbd answers.

use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use smbgw_core::size::format_size;
use smbgw_core::{bail_field, bail_input, guest, Error, Layout, Result, ResultExt, Share};
use smbgw_samba::render::{self, Globals};
use smbgw_samba::Samba;
use smbgw_sys::Command;

use crate::Gateway;

/// The guest's host name: `smbgw-<share>`, in the letters a host name may have.
pub fn guest_name(share: &str) -> String {
    let name: String = share
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let full: String = format!("smbgw-{}", name.trim_matches('-')).chars().take(63).collect();
    full.trim_end_matches('-').to_string()
}

/// The Samba configuration inside a guest: the node's renderer, for a server that has only this
/// share, at its mount point. No `dfree command`: the node's helper does not exist there.
pub fn render_inside(share: &Share) -> render::Rendered {
    let mut layout = Layout::host();
    layout.cli = PathBuf::from("/bin/false");
    let mut inside = share.clone();
    inside.path = guest::SHARE_MOUNT.into();
    inside.quota = None;
    inside.container = None;
    inside.vm = None;
    let globals = Globals {
        guest_snapshot_dir: (share.container.is_some() && share.serves_zfs_snapshots())
            .then(|| guest::SNAPSHOT_MOUNT.to_string()),
        ..Globals::default()
    };
    render::render(&layout, &[inside], &globals, &layout.smb_conf, &layout.share_conf_dir)
}

/// A value of a PVE guest config (`key: value` lines, up to the first snapshot section).
pub fn config_value(config: &str, key: &str) -> Option<String> {
    config
        .lines()
        .take_while(|l| !l.starts_with('['))
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(": ").map(|v| v.trim().to_string()))
}

/// The share users' NT hashes in smbpasswd format, for `pdbedit -i` in the guest (never a
/// password).
pub fn password_hashes(samba: &Samba, share: &Share) -> Result<String> {
    let mut hashes = String::new();
    for user in &share.users {
        let line = samba.tool("pdbedit").args(["-L", "-w", "-u", user]).run()?.stdout;
        hashes.push_str(line.trim_end());
        hashes.push('\n');
    }
    Ok(hashes)
}

pub fn smb_answers(ip: &str) -> bool {
    ip.parse::<IpAddr>()
        .is_ok_and(|a| TcpStream::connect_timeout(&SocketAddr::new(a, 445), Duration::from_millis(500)).is_ok())
}

/// A guest's new memory must fit the node too.
pub fn check_guest_change(share: &Share, old: &Share) -> Result<()> {
    if let (Some(new), Some(old)) = (&share.container, &old.container) {
        if new.memory != old.memory {
            check_resources(&new.bridge, new.memory, "ct-memory")?;
        }
    }
    if let (Some(new), Some(old)) = (&share.vm, &old.vm) {
        if new.memory != old.memory {
            check_resources(&new.bridge, new.memory, "vm-memory")?;
        }
    }
    Ok(())
}

/// The bridge must exist and the memory fit the node, before a guest is made.
pub fn check_resources(bridge: &str, memory_mib: u32, what: &str) -> Result<()> {
    if !Path::new("/sys/class/net").join(bridge).join("bridge").is_dir() {
        bail_field!("bridge", "bridge {bridge} does not exist on this node");
    }
    let total_mib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map(|kib| kib / 1024)
        .unwrap_or(u64::MAX);
    if u64::from(memory_mib) > total_mib {
        bail_field!(
            what,
            "{what} {memory_mib} MiB is more than this node has ({total_mib} MiB)"
        );
    }
    Ok(())
}

/// What a PVE storage has free, in bytes, if it may hold `content` (`images`: VM disks,
/// `rootdir`: container volumes): the "Available (KiB)" column of `pvesm status` (its table:
/// Name, Type, Status, Total, Used, Available, %; PVE/CLI/pvesm.pm).
pub fn storage_free(storage: &str, content: &str) -> Result<u64> {
    let out = Command::new("pvesm")
        .args(["status", "--storage", storage, "--content", content])
        .run()
        .map_err(|e| {
            // pvesm says "No such storage." for both
            Error::input(format!(
                "storage {storage} does not exist on this node or does not allow content '{content}' ({})",
                e.message
            ))
        })?;
    let row: Option<Vec<&str>> = out
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .find(|f: &Vec<&str>| f.first() == Some(&storage));
    match row.as_deref() {
        Some([_, _, "active", _, _, avail, ..]) => avail
            .parse::<u64>()
            .map(|kib| kib * 1024)
            .map_err(|_| Error::external(format!("pvesm status: no free space for storage {storage}: {avail:?}"))),
        Some([_, _, state, ..]) => {
            bail_input!("storage {storage} is {state} (pvesm status); activate or enable it first")
        }
        _ => Err(Error::external(format!(
            "pvesm status printed no line for storage {storage}: {}",
            out.stdout.trim()
        ))),
    }
}

/// Refuse, before anything is created, a guest whose volumes do not fit on `storage`: PVE would
/// find out half-way, while allocating.
pub fn check_storage_room(storage: &str, content: &str, needed: u64, what: &str, flag: &str) -> Result<()> {
    let field = flag.trim_start_matches('-');
    let free = storage_free(storage, content).field(field)?;
    if free < needed {
        bail_field!(
            field,
            "storage {storage} has {} free, but {what} needs {}; free space on it or choose another {flag}",
            format_size_down(free),
            format_size(needed)
        );
    }
    Ok(())
}

/// `format_size`, rounded down: free space just short of 3G must not read "3.00G".
fn format_size_down(bytes: u64) -> String {
    let shift = [40, 30, 20, 10].into_iter().find(|s| bytes >> s > 0).unwrap_or(0);
    if shift == 0 || bytes.is_multiple_of(1 << shift) {
        return format_size(bytes);
    }
    let hundredths = (u128::from(bytes) * 100) >> shift;
    let unit = match shift {
        40 => 'T',
        30 => 'G',
        20 => 'M',
        _ => 'K',
    };
    format!("{}.{:02}{unit}", hundredths / 100, hundredths % 100)
}

impl Gateway {
    /// PVE's VM configs (`qm` reads them), beside the container configs.
    pub(crate) fn pve_qemu_dir(&self) -> PathBuf {
        self.layout.pve_lxc_dir.with_file_name("qemu-server")
    }

    /// Guest ids in use: containers and VMs of every node (on a host), or of the sandbox.
    fn guest_ids_in_use(&self) -> Vec<u32> {
        let dirs: Vec<PathBuf> = if self.layout.is_sandbox() {
            vec![self.layout.pve_lxc_dir.clone(), self.pve_qemu_dir()]
        } else {
            let nodes = std::fs::read_dir("/etc/pve/nodes").into_iter().flatten().flatten();
            nodes
                .flat_map(|n| [n.path().join("lxc"), n.path().join("qemu-server")])
                .collect()
        };
        let mut ids = Vec::new();
        for dir in dirs {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let name = entry.file_name().to_string_lossy().to_string();
                if let Some(id) = name.strip_suffix(".conf").and_then(|i| i.parse().ok()) {
                    ids.push(id);
                }
            }
        }
        ids
    }

    /// The guest id: the one asked for (refused when in use), else the next free one from 100.
    /// `taken` are the ids other shares hold, `reserved` one more to avoid (a VM's template).
    pub(crate) fn choose_guest_id(
        &self,
        asked: Option<u32>,
        taken: &[u32],
        reserved: Option<u32>,
        flag: &str,
    ) -> Result<u32> {
        let used = self.guest_ids_in_use();
        let busy = |id: u32| used.contains(&id) || taken.contains(&id) || reserved == Some(id);
        match asked {
            Some(id) if busy(id) => bail_field!(
                flag.trim_start_matches('-'),
                "guest id {id} is in use; choose another {flag} or leave it out"
            ),
            Some(id) => Ok(id),
            None => Ok((100..).find(|&i| !busy(i)).expect("a free guest id")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_round_down() {
        assert_eq!(format_size_down((3 << 30) - 1024), "2.99G");
        assert_eq!(format_size_down(3 << 30), "3G");
        assert_eq!(format_size_down(1536 << 20), "1.50G");
        assert_eq!(format_size_down(512), "512B");
        assert_eq!(format_size_down(2047), "1.99K");
    }

    #[test]
    fn guest_names() {
        assert_eq!(guest_name("Team Data$"), "smbgw-team-data");
        assert_eq!(guest_name("a".repeat(80).as_str()).len(), 63);
    }
}
