//! The operations of pve-smbgateway. The CLI, the Perl API (through the bridge) and the daemon
//! call these functions and nothing below them, so every front end behaves the same.
//!
//! Every mutating operation takes the config lock, validates everything, builds a plan, and then
//! either returns the plan (`dry_run`) or applies it with rollback.

mod acl;
mod converge;
mod journal;
mod shares;
mod status;
mod users;

use serde::Serialize;
use smbgw_core::store::Store;
use smbgw_core::{Layout, Plan, Result, Share};
use smbgw_samba::Samba;

pub use status::{NodeStatus, ShareStatus};

pub struct Gateway {
    pub layout: Layout,
    samba: Samba,
    store: Store,
}

/// What a mutating operation did, or would do under `--dry-run`.
#[derive(Debug, Serialize)]
pub struct Change {
    pub dry_run: bool,
    /// False when the node already was as asked (idempotent re-run).
    pub changed: bool,
    pub steps: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share: Option<Share>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Gateway {
    pub fn new(layout: Layout) -> Self {
        let store = Store::new(&layout.config_dir);
        let samba = Samba::new(layout.clone());
        Self { layout, samba, store }
    }

    /// Sandbox or host, from `PVE_SMBGW_ROOT` and friends.
    pub fn from_env(root: Option<&std::path::Path>) -> Result<Self> {
        Ok(Self::new(Layout::from_env(root)?))
    }

    pub fn samba(&self) -> &Samba {
        &self.samba
    }

    /// Apply `plan` unless this is a dry run, keeping a journal while it runs.
    fn execute(&self, plan: Plan, dry_run: bool, share: Option<Share>, mut notes: Vec<String>) -> Result<Change> {
        let steps = plan.describe();
        let changed = !plan.is_empty();
        if !dry_run && changed {
            if let Some(note) = journal::interrupted(&self.layout) {
                notes.push(note);
            }
            journal::begin(&self.layout, &steps)?;
            let result = plan.apply();
            journal::end(&self.layout);
            result?;
        }
        Ok(Change {
            dry_run,
            changed,
            steps,
            share,
            notes,
        })
    }
}
