//! The operations of pve-smbgateway. The CLI, the Perl API (through the bridge) and the daemon
//! call these functions and nothing below them, so every front end behaves the same.
//!
//! Every mutating operation takes the config lock, validates everything, builds a plan, and then
//! either returns the plan (`dry_run`) or applies it with rollback.

mod acl;
pub mod ad;
mod availability;
mod backups;
mod converge;
mod discovery;
mod emptied;
pub mod ha;
mod homes;
mod journal;
pub mod pbs;
mod placement;
mod pve;
mod pve_storage;
mod quota;
mod recover;
mod sessions;
mod shares;
pub mod smb_profile;
mod snapshots;
mod status;
mod storage;
mod users;

use serde::Serialize;
use smbgw_core::store::Store;
use smbgw_core::{Layout, Plan, Result, Share};
use smbgw_samba::Samba;

pub use availability::Unavailable;
pub use backups::{BackupEntry, BackupList, BackupMade, RestoreRequest, StorageBackups};
pub use emptied::ConfigVersion;
pub use homes::{Home, Shown};
pub use pve_storage::StorageStatus;
pub use quota::{QuotaHistory, QuotaStatus, SampleReport, Space};
pub use sessions::Sessions;
pub use smb_profile::{IoHistory, IoPoint};
pub use smbgw_quota::alerts::Alert;
pub use smbgw_quota::snapshot::utc;
pub use snapshots::{ScheduleJob, ScheduleRun, SnapshotEntry, SnapshotKind, SnapshotList};
pub use status::{NodeStatus, ShareStatus};
// types of the layers below that front ends name: they depend on the gateway only
pub use smbgw_ha::HaStatus;
pub use smbgw_samba::ad::Credentials;
pub use smbgw_samba::profile::Profile;
pub use smbgw_samba::status::Protection;
pub use smbgw_samba::users::SambaUser;

pub struct Gateway {
    pub layout: Layout,
    samba: Samba,
    store: Store,
    /// Print each step to stderr as it starts (a terminal, or a PVE task log).
    progress: bool,
    /// Warnings found while planning, handed out with the next `Change` (see `warn`).
    warnings: std::sync::Mutex<Vec<String>>,
}

/// Set to 1 for progress lines on stderr (the API's task workers do).
pub const ENV_PROGRESS: &str = "PVE_SMBGW_PROGRESS";

/// What a mutating operation did, or would do under `--dry-run`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Change {
    pub dry_run: bool,
    /// False when the node already was as asked (idempotent re-run).
    pub changed: bool,
    pub steps: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share: Option<Share>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// What will not work as asked although the operation is valid (e.g. SMB users cannot
    /// reach the share's directory): the CLI prints these as `warning:`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// `apply`: shares left out of the served config (storage missing, or their repair failed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unavailable: Vec<Unavailable>,
    /// Set when the change converged only part of the node: what was left out and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Change {
    /// The change as a result for front ends that exit with a code: an error (system, 2) when
    /// part of the node could not be converged.
    pub fn failure(&self) -> Option<smbgw_core::Error> {
        self.error.clone().map(smbgw_core::Error::system)
    }
}

impl Gateway {
    pub fn new(layout: Layout) -> Self {
        let store = Store::new(&layout.config_dir);
        let samba = Samba::new(layout.clone());
        Self {
            layout,
            samba,
            store,
            progress: false,
            warnings: Default::default(),
        }
    }

    /// Sandbox or host, from `PVE_SMBGW_ROOT` and friends.
    pub fn from_env(root: Option<&std::path::Path>) -> Result<Self> {
        let progress = std::env::var(ENV_PROGRESS).is_ok_and(|v| v == "1");
        Ok(Self::new(Layout::from_env(root)?).with_progress(progress))
    }

    pub fn with_progress(mut self, on: bool) -> Self {
        self.progress = on;
        self
    }

    pub fn samba(&self) -> &Samba {
        &self.samba
    }

    /// Record an event admins must see (quota alerts, domain lost or back) in the alert log.
    pub(crate) fn log_event(&self, message: &str) -> Result<()> {
        use std::io::Write;
        smbgw_sys::fs::create_dir_all(&self.layout.log_dir, 0o750)?;
        let path = self.layout.log_dir.join("alerts.log");
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| smbgw_core::Error::io("opening", &path, e))?;
        writeln!(f, "{} {message}", smbgw_sys::time::now()).map_err(|e| smbgw_core::Error::io("writing", &path, e))
    }

    /// Record a warning for the `Change` of the operation being planned.
    pub(crate) fn warn(&self, message: String) {
        let mut warnings = self.warnings.lock().unwrap_or_else(|e| e.into_inner());
        if !warnings.contains(&message) {
            warnings.push(message);
        }
    }

    /// Apply `plan` unless this is a dry run, keeping a durable journal while it runs (see
    /// journal.rs). The journal of an earlier operation that never finished is healed by
    /// `apply` first: this operation's plan was made on a node that healing would change.
    fn execute(&self, plan: Plan, dry_run: bool, share: Option<Share>, mut notes: Vec<String>) -> Result<Change> {
        let warnings = std::mem::take(&mut *self.warnings.lock().unwrap_or_else(|e| e.into_inner()));
        let steps = plan.describe();
        let changed = !plan.is_empty();
        let interrupted = journal::read(&self.layout)?;
        if let Some(earlier) = &interrupted {
            if dry_run || !changed {
                let summary = earlier.summary();
                // `apply --dry-run` already says it would heal it
                if !notes.iter().any(|n| n.contains(&summary)) {
                    notes.push(format!(
                        "the earlier operation {summary} was interrupted; run 'pve-smbgateway apply' to finish or undo it"
                    ));
                }
            } else {
                return Err(smbgw_core::Error::system(format!(
                    "the earlier operation {} was interrupted; nothing was changed: run 'pve-smbgateway apply' first, which finishes or undoes it, then run this again",
                    earlier.summary()
                )));
            }
        }
        if !dry_run && changed {
            let commit = match plan.writer_of(&self.store.path()) {
                Some((step, after)) => Some(journal::Commit {
                    step,
                    before: self.store.raw()?.map(|b| String::from_utf8_lossy(&b).into_owned()),
                    after: String::from_utf8_lossy(&after).into_owned(),
                }),
                None => None,
            };
            let operation = recover::operation_name(share.as_ref(), commit.as_ref(), &plan);
            let mut journal = journal::Journal::begin(&self.layout, operation, &plan, commit)?;
            let result = if self.progress {
                plan.apply_journalled(&mut journal, &mut |n, count, step| {
                    eprintln!("step {n}/{count}: {step}")
                })
            } else {
                plan.apply_journalled(&mut journal, &mut |_, _, _| {})
            };
            journal.end();
            result?;
            // the dfree helper's figures follow every change; they are derived, so best effort
            if let Err(e) = self.refresh_dfree_cache() {
                notes.push(format!("could not refresh the quota figures SMB clients see: {e}"));
            }
        }
        Ok(Change {
            dry_run,
            changed,
            steps,
            share,
            notes,
            warnings,
            unavailable: Vec::new(),
            error: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A host-style layout (no sandbox) with its files in a temp dir.
    fn host_layout(dir: &std::path::Path) -> Layout {
        Layout {
            sandbox: None,
            config_dir: dir.join("pve/smbgateway"),
            smb_conf: dir.join("samba/smb.conf"),
            share_conf_dir: dir.join("samba/smbgateway.d"),
            state_dir: dir.join("state"),
            log_dir: dir.join("log"),
            run_dir: dir.join("run"),
            pve_lxc_dir: dir.join("pve/lxc"),
            pve_members: dir.join("pve/.members"),
            pve_storage_cfg: dir.join("pve/storage.cfg"),
            ctdb_dir: dir.join("ctdb"),
            cli: "/usr/sbin/pve-smbgateway".into(),
            cli_source: None,
        }
    }

    #[test]
    fn host_takeover_keeps_the_admins_smb_conf_once() {
        let dir = tempfile::tempdir().unwrap();
        let layout = host_layout(dir.path());
        std::fs::create_dir_all(layout.smb_conf.parent().unwrap()).unwrap();
        std::fs::write(&layout.smb_conf, "[global]\n\tworkgroup = ADMINS\n").unwrap();
        let gw = Gateway::new(layout.clone());
        let mut plan = Plan::new();
        gw.samba_steps(&Default::default(), &mut plan, false).unwrap();
        let steps = plan.describe();
        assert!(
            steps[0].starts_with("create copy of the original smb.conf"),
            "{steps:?}"
        );
        plan.apply().unwrap();
        let backup = layout.smb_conf.with_extension("conf.pve-smbgateway-orig");
        assert_eq!(
            std::fs::read_to_string(&backup).unwrap(),
            "[global]\n\tworkgroup = ADMINS\n"
        );
        // our own file is not backed up again
        let mut plan = Plan::new();
        gw.samba_steps(&Default::default(), &mut plan, false).unwrap();
        assert!(plan.is_empty(), "{:?}", plan.describe());
    }
}
