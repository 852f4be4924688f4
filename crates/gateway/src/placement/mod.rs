//! What each placement of a share (`core::Placement`: native, lxc, vm) does on the node, behind
//! one trait, as pve-storage's plugins sit behind `PVE::Storage::Plugin`: the share operations in
//! `shares.rs` and `status.rs` ask the share's placement instead of testing which guest it has.
//! A new placement is one more file here and one more arm in `of` (and in `core::Placement`).
//!
//! native.rs: the node's smbd; lxc.rs (with lxc_inside.rs and lxc_idmap.rs): a container; vm.rs (with
//! vm_wait.rs): a VM. guest.rs holds what the two guests share. PVE's tools are in `pve.rs`.

mod guest;
mod lxc;
pub(crate) mod lxc_idmap;
mod lxc_inside;
mod native;
mod vm;
mod vm_wait;

use serde::Serialize;
use smbgw_core::{Placement, Plan, Result, Share};

use crate::Gateway;

/// What a running guest looks like: its id, PVE's state, its address and whether its smbd
/// answers. Serialised under `container` or `vm` in a share's status.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ContainerStatus {
    pub ct_id: Option<u32>,
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    pub smb: bool,
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

/// A placement's part of a share's status.
#[derive(Debug, Default)]
pub(crate) struct PlacementStatus {
    pub container: Option<ContainerStatus>,
    pub vm: Option<VmStatus>,
    pub problems: Vec<String>,
}

/// What the node does for a share of one placement. Every method plans; none changes the node.
pub(crate) trait PlacementPlugin {
    /// Check, before anything is created, what the placement needs (template, bridge, memory,
    /// room on the storage), and choose the guest's id. Returns the placement to store (the
    /// share given is not changed). `taken`: guest ids other shares hold.
    fn check(&self, gw: &Gateway, share: &Share, taken: &[u32]) -> Result<Placement>;

    /// Refuse an update this placement cannot follow.
    fn check_update(&self, share: &Share, old: &Share) -> Result<()>;

    /// The steps that make the placement of a new share (after its storage on the node).
    fn create_steps(&self, gw: &Gateway, share: &Share, plan: &mut Plan) -> Result<()>;

    /// The steps that bring the placement in line with the share (`update`, `apply`).
    fn converge_steps(&self, gw: &Gateway, share: &Share, plan: &mut Plan) -> Result<()>;

    /// The steps that remove the placement of a deleted share; its data stays unless
    /// `purge_data` (the node's storage is released by the caller).
    fn destroy_steps(
        &self,
        gw: &Gateway,
        share: &Share,
        purge_data: bool,
        plan: &mut Plan,
        notes: &mut Vec<String>,
    ) -> Result<()>;

    /// The placement's part of `status`; `smbd_running`: the node's smbd.
    fn status(&self, share: &Share, smbd_running: bool) -> PlacementStatus;
}

/// The plugin of `placement`.
pub(crate) fn of(placement: &Placement) -> Box<dyn PlacementPlugin + '_> {
    match placement {
        Placement::Native => Box::new(native::Native),
        Placement::Lxc(ct) => Box::new(lxc::Lxc(ct)),
        Placement::Vm(vm) => Box::new(vm::Vm(vm)),
    }
}

/// A new lxc share naming domain accounts on a joined node: its container's join account is
/// asked for before the domain is asked about the accounts (a refusal that needs no network).
pub(crate) fn require_join_account(gw: &Gateway, share: &Share) -> Result<()> {
    match &share.mode {
        Placement::Lxc(ct)
            if share.domain_principals().next().is_some() && smbgw_core::ad::AdState::load(&gw.layout)?.is_some() =>
        {
            lxc::Lxc(ct).require_join_credentials(gw, share)
        }
        _ => Ok(()),
    }
}

/// A guest's id for messages; a share whose create never chose one has none.
fn id_text(id: Option<u32>) -> String {
    id.map_or_else(|| "(none)".into(), |i| i.to_string())
}
