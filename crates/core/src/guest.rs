//! Where an `lxc` or `vm` share's Samba runs: a Proxmox VE container, described by the share's
//! `ct-*` properties, or a VM cloned from a template, described by its `vm-*` properties (both
//! with `bridge`, `ip` and `gateway`). Validation here is syntax only; whether the template, the
//! id, the storage and the bridge exist on this node is checked when the guest is created.

use serde::Serialize;

use crate::{bail_input, Result};

/// The gateway's own template (scripts/create_ct_template.sh): Debian 12 with Samba.
pub const DEFAULT_TEMPLATE: &str = "local:vztmpl/debian-12-smbgateway_1_amd64.tar.gz";
/// Where the share's directory appears inside the container, and the VM's data disk is mounted.
pub const SHARE_MOUNT: &str = "/srv/share";
/// Where a ZFS share's snapshots appear inside the container (a view of `.zfs/snapshot`).
pub const SNAPSHOT_MOUNT: &str = "/srv/snapshots";
/// The VMID of the gateway's VM template (scripts/create_vm_template.sh).
pub const DEFAULT_VM_TEMPLATE: &str = "9000";

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Container {
    /// Chosen at create time when not given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u32>,
    pub template: String,
    /// MiB.
    pub memory: u32,
    pub storage: String,
    pub bridge: String,
    /// `dhcp` or an IPv4 address in CIDR form.
    pub ip: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
}

/// A VM serving a share (mode vm): a full clone of a template VM, with its own data disk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Vm {
    /// Chosen at create time when not given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u32>,
    /// VMID of the template VM.
    pub template: u32,
    /// MiB.
    pub memory: u32,
    pub cores: u32,
    /// PVE storage of the clone's disks, the data disk included.
    pub storage: String,
    pub bridge: String,
    /// `dhcp` or an IPv4 address in CIDR form.
    pub ip: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
}

/// A PVE guest id (ct-id), in the range of the share schema.
pub fn check_id(value: &str) -> Result<u32> {
    check_guest_id("ct-id", value)
}

/// `check_id` for the property `what` (ct-id, vm-id, vm-template).
pub fn check_guest_id(what: &str, value: &str) -> Result<u32> {
    check_number(what, value, "a guest id")
}

/// VM memory in MiB (vm-memory).
pub fn check_vm_memory(value: &str) -> Result<u32> {
    check_number("vm-memory", value, "MiB")
}

/// Virtual CPU cores of a VM (vm-cores).
pub fn check_cores(value: &str) -> Result<u32> {
    check_number("vm-cores", value, "a number")
}

/// Container memory in MiB (ct-memory).
pub fn check_memory(value: &str) -> Result<u32> {
    check_number("ct-memory", value, "MiB")
}

/// A whole number in the range the share schema gives `key`, written plainly (no sign, no
/// leading zero).
fn check_number(key: &str, value: &str, unit: &str) -> Result<u32> {
    let (min, max) = crate::schema::bounds(key);
    match value.parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) && !value.starts_with(['+', '0']) => Ok(n),
        _ => {
            crate::validate::text(key, value)?;
            bail_input!("{key} {value:?} is not valid: {unit} from {min} to {max}")
        }
    }
}

/// A template volume id, e.g. `local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst`.
pub fn check_template(value: &str) -> Result<()> {
    let ok = value.split_once(":vztmpl/").is_some_and(|(storage, file)| {
        storage_id_ok(storage)
            && !file.is_empty()
            && !file.starts_with('.')
            && file.len() <= 200
            && file
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            && [".tar.gz", ".tar.xz", ".tar.zst", ".tgz"]
                .iter()
                .any(|e| file.ends_with(e))
    });
    if !ok {
        crate::validate::text("ct-template", value)?;
        bail_input!("ct-template {value:?} is not a template volume such as {DEFAULT_TEMPLATE}");
    }
    Ok(())
}

fn storage_id_ok(id: &str) -> bool {
    // PVE's pve-storage-id: a letter, then letters, digits, '-', '_', '.'
    id.len() <= 64
        && id.starts_with(|c: char| c.is_ascii_alphabetic())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

pub fn check_storage(value: &str) -> Result<()> {
    check_storage_of("storage", value)
}

/// `check_storage` for the property `key` (ct-storage, vm-storage), named in the error.
pub fn check_storage_of(key: &str, value: &str) -> Result<()> {
    if !storage_id_ok(value) {
        crate::validate::text(key, value)?;
        bail_input!("{key} {value:?} is not a PVE storage id (a letter, then letters, digits, '-', '_', '.')");
    }
    Ok(())
}

/// A Linux bridge name (what `ip link` accepts; PVE names them vmbrN).
pub fn check_bridge(value: &str) -> Result<()> {
    let ok = !value.is_empty()
        && value.len() <= 15
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !value.starts_with(['-', '.']);
    if !ok {
        crate::validate::text("bridge", value)?;
        bail_input!("bridge {value:?} is not an interface name (1-15 letters, digits, '-', '_', '.')");
    }
    Ok(())
}

/// `dhcp` or IPv4/prefix (the container's address on the bridge).
pub fn check_ip(value: &str) -> Result<()> {
    if value == "dhcp" {
        return Ok(());
    }
    let ok = value.split_once('/').is_some_and(|(addr, prefix)| {
        addr.parse::<std::net::Ipv4Addr>()
            .is_ok_and(|a| !a.is_unspecified() && !a.is_broadcast() && !a.is_multicast())
            && prefix.parse::<u8>().is_ok_and(|p| (1..=32).contains(&p))
            && !prefix.starts_with(['+', '0'])
    });
    if !ok {
        crate::validate::text("ip", value)?;
        bail_input!("ip {value:?} is not valid: 'dhcp' or an IPv4 address with prefix, e.g. 192.168.1.50/24");
    }
    Ok(())
}

pub fn check_gateway(value: &str) -> Result<()> {
    match value.parse::<std::net::Ipv4Addr>() {
        Ok(a) if !a.is_unspecified() && !a.is_broadcast() => Ok(()),
        _ => {
            crate::validate::text("gateway", value)?;
            bail_input!("gateway {value:?} is not an IPv4 address")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_properties() {
        assert_eq!(check_id("100").unwrap(), 100);
        for bad in ["99", "0100", "+100", "1000000000", "abc", "", "-1"] {
            assert!(check_id(bad).is_err(), "{bad:?}");
        }
        check_template(DEFAULT_TEMPLATE).unwrap();
        check_template("nfs-1:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst").unwrap();
        for bad in [
            "local:iso/x.tar.gz",
            "local:vztmpl/../x.tar.gz",
            "local:vztmpl/x.iso",
            "local:vztmpl/a b.tar.gz",
            "1local:vztmpl/x.tar.gz",
            "local:vztmpl/x.tar.gz\n",
            "/var/lib/vz/template/cache/x.tar.gz",
        ] {
            assert!(check_template(bad).is_err(), "{bad:?}");
        }
        for good in ["dhcp", "10.0.0.5/24", "192.168.1.50/32"] {
            check_ip(good).unwrap();
        }
        for bad in [
            "10.0.0.5",
            "10.0.0.5/33",
            "10.0.0.5/0",
            "0.0.0.0/24",
            "::1/64",
            "dhcp6",
            "10.0.0.5/24;x",
        ] {
            assert!(check_ip(bad).is_err(), "{bad:?}");
        }
        check_bridge("vmbr0").unwrap();
        for bad in ["", "vmbr0;ls", "averyveryverylongname", "-x", "a/b"] {
            assert!(check_bridge(bad).is_err(), "{bad:?}");
        }
        check_memory("512").unwrap();
        assert!(check_memory("64").is_err());
        check_storage("local-lvm").unwrap();
        assert!(check_storage("local lvm").is_err());
    }

    #[test]
    fn vm_properties() {
        assert_eq!(check_guest_id("vm-template", DEFAULT_VM_TEMPLATE).unwrap(), 9000);
        let err = check_guest_id("vm-id", "12").unwrap_err();
        assert!(err.message.starts_with("vm-id"), "{}", err.message);
        check_vm_memory("1024").unwrap();
        for bad in ["256", "0512", "+1024", "300000", "1G", "1024\n"] {
            assert!(check_vm_memory(bad).is_err(), "{bad:?}");
        }
        check_cores("4").unwrap();
        for bad in ["0", "129", "04", "two", "-1"] {
            assert!(check_cores(bad).is_err(), "{bad:?}");
        }
    }
}
