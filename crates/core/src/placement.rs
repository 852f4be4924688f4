//! Where a share's Samba runs: on the node (`native`), in a container (`lxc`) or in a VM (`vm`),
//! with the guest's description. One value instead of a mode beside two optional guests, so a
//! share can never be `lxc` without its container or carry a VM it does not use. What each
//! placement does on the node lives in `gateway::placement`; this is only the model.

use crate::guest::{Container, Vm};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    /// The node's own smbd serves the share from its directory.
    Native,
    /// A container's smbd serves the node directory, bind-mounted into it.
    Lxc(Container),
    /// A VM's smbd serves the VM's own data disk: the share has no node directory.
    Vm(Vm),
}

impl Placement {
    /// The `mode` property: `native`, `lxc` or `vm`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Placement::Native => "native",
            Placement::Lxc(_) => "lxc",
            Placement::Vm(_) => "vm",
        }
    }

    pub fn is_native(&self) -> bool {
        matches!(self, Placement::Native)
    }

    pub fn container(&self) -> Option<&Container> {
        match self {
            Placement::Lxc(ct) => Some(ct),
            _ => None,
        }
    }

    pub fn vm(&self) -> Option<&Vm> {
        match self {
            Placement::Vm(vm) => Some(vm),
            _ => None,
        }
    }

    /// The PVE guest id (container or VM), once chosen.
    pub fn guest_id(&self) -> Option<u32> {
        match self {
            Placement::Native => None,
            Placement::Lxc(ct) => ct.id,
            Placement::Vm(vm) => vm.id,
        }
    }

    /// The guest with its id set (the one chosen at create).
    pub fn with_guest_id(&self, id: u32) -> Placement {
        match self {
            Placement::Native => Placement::Native,
            Placement::Lxc(ct) => Placement::Lxc(Container {
                id: Some(id),
                ..ct.clone()
            }),
            Placement::Vm(vm) => Placement::Vm(Vm {
                id: Some(id),
                ..vm.clone()
            }),
        }
    }

    /// Whether the share's data is a directory on the node (native and lxc; a VM's data is on
    /// its own disk): what path checks, ACLs, quotas and health checks act on.
    pub fn has_node_directory(&self) -> bool {
        !matches!(self, Placement::Vm(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guests_and_their_ids() {
        let vm = Vm {
            id: None,
            template: 9000,
            memory: 1024,
            cores: 1,
            storage: "local-lvm".into(),
            bridge: "vmbr0".into(),
            ip: "dhcp".into(),
            gateway: None,
        };
        let p = Placement::Vm(vm);
        assert_eq!((p.as_str(), p.guest_id(), p.has_node_directory()), ("vm", None, false));
        let chosen = p.with_guest_id(960);
        assert_eq!(chosen.guest_id(), Some(960));
        assert!(chosen.container().is_none() && chosen.vm().is_some());
        assert!(Placement::Native.has_node_directory() && Placement::Native.guest_id().is_none());
    }
}
