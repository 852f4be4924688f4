//! Proxmox VE's guest tools and guest configs, in one place: `pct` (containers), `qm` (VMs),
//! `pvesm` (storages), and the few edits PVE's tools cannot make (raw `lxc.*` lines, dropping a
//! detached disk's `unusedN` entry). Those edits of `/etc/pve/lxc/ID.conf` and
//! `/etc/pve/qemu-server/ID.conf` are made under the lock PVE's own tools take for the guest
//! (`PVE::AbstractConfig::lock_config`: an exclusive flock on `/run/lock/lxc/pve-config-ID.lock`
//! for a container, `/var/lock/qemu-server/lock-ID.conf` for a VM, waited for up to 10 s), so a
//! concurrent `pct set` or `qm set` never loses our line or has its change overwritten. The lock
//! is held only around the edit: `pct` and `qm` take it themselves.

use std::path::{Path, PathBuf};
use std::time::Duration;

use smbgw_core::{bail_input, Error, Layout, Result};
use smbgw_sys::lock::{lock_file, LockGuard};
use smbgw_sys::Command;

/// What PVE's `lock_config` waits for the lock by default.
const CONFIG_LOCK_WAIT: Duration = Duration::from_secs(10);

pub(crate) fn pct() -> Command {
    Command::new("pct").timeout(Duration::from_secs(300))
}

pub(crate) fn qm() -> Command {
    Command::new("qm").timeout(Duration::from_secs(300))
}

pub(crate) fn run_qm(args: &[String]) -> Result<()> {
    qm().args(args).run().map(|_| ())
}

pub(crate) fn pvesm() -> Command {
    Command::new("pvesm")
}

/// A PVE guest: its kind decides where its config and its lock are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Guest {
    Container(u32),
    Vm(u32),
}

impl Guest {
    /// The guest's config file (`/etc/pve/lxc/ID.conf`, `/etc/pve/qemu-server/ID.conf`).
    pub(crate) fn config_path(self, layout: &Layout) -> PathBuf {
        match self {
            Guest::Container(id) => layout.pve_lxc_dir.join(format!("{id}.conf")),
            Guest::Vm(id) => qemu_dir(layout).join(format!("{id}.conf")),
        }
    }

    /// The lock file PVE's tools take for this guest's config (PVE::LXC::Config and
    /// PVE::QemuConfig `config_file_lock`); in a sandbox, the same names under its run dir.
    fn lock_path(self, layout: &Layout) -> PathBuf {
        let (host_dir, name) = match self {
            Guest::Container(id) => ("/run/lock/lxc", format!("pve-config-{id}.lock")),
            Guest::Vm(id) => ("/var/lock/qemu-server", format!("lock-{id}.conf")),
        };
        match layout.is_sandbox() {
            true => layout
                .run_dir
                .join("pve-lock")
                .join(host_dir.trim_start_matches('/'))
                .join(name),
            false => Path::new(host_dir).join(name),
        }
    }

    /// Hold the guest's config lock, as `pct set` and `qm set` do around their change.
    pub(crate) fn lock_config(self, layout: &Layout) -> Result<LockGuard> {
        self.lock_config_within(layout, CONFIG_LOCK_WAIT)
    }

    fn lock_config_within(self, layout: &Layout, wait: Duration) -> Result<LockGuard> {
        let path = self.lock_path(layout);
        if let Some(dir) = path.parent() {
            smbgw_sys::fs::create_dir_all(dir, 0o755)?;
        }
        lock_file(&path, wait).map_err(|e| {
            Error::system(format!(
                "{}; a PVE task may hold the guest's config ('pct unlock' or 'qm unlock' if none does)",
                e.message
            ))
        })
    }

    /// Rewrite the guest's config with `edit` under its lock. `edit` gets the whole text and
    /// answers the new one; nothing is written when it answers the same.
    pub(crate) fn edit_config(self, layout: &Layout, edit: impl FnOnce(&str) -> String) -> Result<()> {
        let _lock = self.lock_config(layout)?;
        let path = self.config_path(layout);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io("reading", &path, e))?;
        // as pct set / qm set (check_lock): a guest in a backup, migration or snapshot is not
        // edited; the `lock:` line of the current config, before its first [snapshot] section
        let locked = text
            .lines()
            .take_while(|l| !l.starts_with('['))
            .find_map(|l| l.strip_prefix("lock:").map(str::trim));
        if let Some(reason) = locked {
            return Err(Error::conflict(format!(
                "{} is locked ({reason}) by a PVE task; try again when it is done",
                path.display()
            )));
        }
        let new = edit(&text);
        if new == text {
            return Ok(());
        }
        smbgw_sys::fs::atomic_write(&path, new.as_bytes(), 0o640)
    }
}

/// PVE's VM configs (`qm` reads them), beside the container configs.
pub(crate) fn qemu_dir(layout: &Layout) -> PathBuf {
    layout.pve_lxc_dir.with_file_name("qemu-server")
}

/// The lines of a PVE guest config before its first section (`[snapshot]`, `[pve:pending]`).
pub(crate) fn main_section(text: &str) -> impl Iterator<Item = &str> {
    text.lines().take_while(|l| !l.starts_with('['))
}

/// A value of a PVE guest config (`key: value` lines, up to the first snapshot section).
pub fn config_value(config: &str, key: &str) -> Option<String> {
    main_section(config).find_map(|l| l.strip_prefix(key)?.strip_prefix(": ").map(|v| v.trim().to_string()))
}

/// `text` with `lines` added to its main section, unless there already.
pub(crate) fn with_lines(text: &str, lines: &[String]) -> String {
    let main: Vec<&str> = main_section(text).collect();
    let mut out: Vec<&str> = main.clone();
    out.extend(lines.iter().map(String::as_str).filter(|l| !main.contains(l)));
    out.extend(text.lines().skip(main.len()));
    format!("{}\n", out.join("\n"))
}

/// `text` without `line` in its main section.
pub(crate) fn without_line(text: &str, line: &str) -> String {
    let main = main_section(text).count();
    let out: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|&(i, l)| i >= main || l != line)
        .map(|(_, l)| l)
        .collect();
    format!("{}\n", out.join("\n"))
}

/// `text` without the `unusedN: VOLUME` entry `qm set --delete` left for `volume`.
pub(crate) fn without_unused(text: &str, volume: &str) -> String {
    text.lines()
        .filter(|l| {
            !l.split_once(": ")
                .is_some_and(|(k, v)| k.starts_with("unused") && v.trim() == volume)
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

/// `pct status` / `qm status`: `running`, `stopped`, or `missing` when there is no such guest.
pub(crate) fn guest_state(guest: Guest) -> String {
    let (mut cmd, id) = match guest {
        Guest::Container(id) => (pct(), id),
        Guest::Vm(id) => (qm(), id),
    };
    cmd = cmd.args(["status", &id.to_string()]);
    match cmd.output() {
        Ok(o) if o.success() => o.stdout.trim().trim_start_matches("status:").trim().to_string(),
        _ => "missing".into(),
    }
}

/// `qm config` as key and value, or None when the VM does not exist.
pub(crate) fn vm_config(id: u32) -> Option<Vec<(String, String)>> {
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

/// The file behind a volume id (`pvesm path`).
pub(crate) fn volume_path(volume: &str) -> Result<PathBuf> {
    Ok(PathBuf::from(pvesm().args(["path", volume]).run()?.stdout.trim()))
}

/// What a PVE storage has free, in bytes, if it may hold `content` (`images`: VM disks,
/// `rootdir`: container volumes): the "Available (KiB)" column of `pvesm status` (its table:
/// Name, Type, Status, Total, Used, Available, %; PVE/CLI/pvesm.pm).
pub(crate) fn storage_free(storage: &str, content: &str) -> Result<u64> {
    let out = pvesm()
        .args(["status", "--storage", storage, "--content", content])
        .run()
        .map_err(|e| match e.message.contains("No such storage") {
            // pvesm's answer for both (PVE/API2/Storage/Status.pm); anything else is PVE
            // failing us (no quorum, a hanging storage), for the task log, not the field
            true => Error::input(format!(
                "storage {storage} does not exist on this node or does not allow content '{content}' ({})",
                e.message
            )),
            false => e.context(format!("pvesm status --storage {storage}")),
        })?;
    parse_storage_free(storage, &out.stdout)
}

/// The free bytes of `storage` in `pvesm status` output.
fn parse_storage_free(storage: &str, status: &str) -> Result<u64> {
    let row: Option<Vec<&str>> = status
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
            status.trim()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_lines_go_into_the_main_section() {
        let text = "memory: 512\nlxc.idmap: u 0 100000 65536\n[before-upgrade]\nmemory: 256\n";
        let line = "lxc.mount.entry: /a b none bind 0 0".to_string();
        let added = with_lines(text, &[line.clone(), "memory: 512".into()]);
        assert_eq!(
            added,
            "memory: 512\nlxc.idmap: u 0 100000 65536\nlxc.mount.entry: /a b none bind 0 0\n[before-upgrade]\nmemory: 256\n"
        );
        assert_eq!(without_line(&added, &line), text);
        assert_eq!(config_value(&added, "memory").as_deref(), Some("512"));
        let vm = "scsi0: l:vm-1-disk-0\nunused0: l:vm-1-disk-1\nunused1: l:vm-1-disk-2\n";
        assert_eq!(
            without_unused(vm, "l:vm-1-disk-1"),
            "scsi0: l:vm-1-disk-0\nunused1: l:vm-1-disk-2\n"
        );
    }

    #[test]
    fn config_edits_take_pves_lock() {
        let dir = tempfile::tempdir().unwrap();
        let mut layout = Layout::host();
        layout.pve_lxc_dir = dir.path().join("lxc");
        layout.run_dir = dir.path().join("run");
        // a host layout locks where PVE does; a sandbox under its own run dir
        assert_eq!(
            Guest::Container(950).lock_path(&layout),
            Path::new("/run/lock/lxc/pve-config-950.lock")
        );
        assert_eq!(
            Guest::Vm(960).lock_path(&layout),
            Path::new("/var/lock/qemu-server/lock-960.conf")
        );
        let sandbox = Layout::sandbox(dir.path(), "127.0.0.1".parse().unwrap(), 4450).unwrap();
        let ct = Guest::Container(950);
        assert!(ct.lock_path(&sandbox).starts_with(dir.path()));
        std::fs::create_dir_all(&sandbox.pve_lxc_dir).unwrap();
        std::fs::write(ct.config_path(&sandbox), "memory: 512\n").unwrap();
        // while PVE holds the lock nobody else gets it
        let held = ct.lock_config(&sandbox).unwrap();
        let Err(err) = ct.lock_config_within(&sandbox, Duration::from_millis(100)) else {
            panic!("the lock PVE holds was taken twice");
        };
        assert!(err.message.contains("pve-config-950.lock"), "{}", err.message);
        drop(held);
        ct.edit_config(&sandbox, |t| with_lines(t, &["swap: 0".into()]))
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(ct.config_path(&sandbox)).unwrap(),
            "memory: 512\nswap: 0\n"
        );
        // a guest PVE has locked in its config (a backup running) is not edited; a snapshot's
        // own lock line does not count
        let backup = "memory: 512\nlock: backup\n";
        std::fs::write(ct.config_path(&sandbox), backup).unwrap();
        let err = ct
            .edit_config(&sandbox, |t| with_lines(t, &["swap: 0".into()]))
            .unwrap_err();
        assert_eq!(err.code, Some(smbgw_core::ErrorCode::Conflict), "{}", err.message);
        assert!(err.message.contains("locked (backup)"), "{}", err.message);
        assert_eq!(std::fs::read_to_string(ct.config_path(&sandbox)).unwrap(), backup);
        std::fs::write(ct.config_path(&sandbox), "memory: 512\n\n[snap1]\nlock: snapshot\n").unwrap();
        ct.edit_config(&sandbox, |t| with_lines(t, &["swap: 0".into()]))
            .unwrap();
    }

    #[test]
    fn storage_free_from_pvesm_status() {
        let status = "Name Type Status Total Used Available %\n\
                      local dir active 100 50 40 50.00%\n\
                      off dir disabled 0 0 0 N/A\n";
        assert_eq!(parse_storage_free("local", status).unwrap(), 40 * 1024);
        assert!(parse_storage_free("off", status)
            .unwrap_err()
            .message
            .contains("disabled"));
        assert!(parse_storage_free("gone", status).is_err());
    }
}
