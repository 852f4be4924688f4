//! `status`: is smbd up, and does it serve what the config says?

use serde::Serialize;
use smbgw_core::{Error, Result};
use smbgw_samba::render;
use smbgw_samba::service::SmbdStatus;

use crate::{availability, placement, Gateway};

#[derive(Debug, Serialize)]
pub struct NodeStatus {
    pub smbd: SmbdStatus,
    pub config: String,
    pub smb_conf: String,
    pub sandbox: bool,
    pub shares: Vec<ShareStatus>,
    /// What an interrupted operation left that `apply` has not healed yet.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recovery: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ShareStatus {
    pub name: String,
    pub path: String,
    /// "ok"; "unavailable" when its storage is missing (not served); "purge-incomplete" (a
    /// `delete --purge-data` stopped part-way on this node; re-running it finishes); else
    /// "degraded". The problems say what is wrong and how to fix it.
    pub state: &'static str,
    pub problems: Vec<String>,
    /// Mode lxc: the container serving the share.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<crate::placement::ContainerStatus>,
    /// Mode vm: the VM serving the share.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vm: Option<crate::placement::VmStatus>,
}

impl Gateway {
    pub fn status(&self, name: Option<&str>) -> Result<NodeStatus> {
        let cfg = self.store.load()?;
        let shares: Vec<_> = match name {
            Some(n) => vec![self.share(n)?],
            None => cfg.shares().to_vec(),
        };
        let smbd = self.samba.smbd_status();
        // what apply serves: unavailable shares are left out
        let left_out = availability::unavailable_in(&cfg);
        // and those named like an admin's share are not, as converge leaves them out
        let globals = self.globals()?;
        let (served, clashing) = self.served_beside_admin(&cfg, &globals, None)?;
        // a read, not a dry run: the next status need not ask testparm again
        self.remember_unmanaged_names(self.planned_unmanaged_names());
        let expected = render::render(
            &self.layout,
            &served,
            &globals,
            &self.layout.smb_conf,
            &self.layout.share_conf_dir,
        );
        let conf_in_sync =
            std::fs::read_to_string(&self.layout.smb_conf).ok().as_deref() == Some(expected.smb_conf.1.as_str());
        let mut out = Vec::new();
        for share in shares {
            let mut problems: Vec<String> = cfg
                .shares()
                .iter()
                .filter_map(|other| smbgw_core::share::path_conflict(&share, other))
                .map(|c| format!("{c}: two shares on one directory tree; move or delete one"))
                .chain(share.host_problems())
                .collect();
            let placed = placement::of(&share.mode).status(&share, smbd.running);
            problems.extend(placed.problems);
            let (container, vm) = (placed.container, placed.vm);
            let unavailable = left_out.iter().find(|u| u.share == share.name);
            if let Some(u) = unavailable {
                problems.push(format!("not served: {}", u.reason));
            }
            if clashing.iter().any(|c| c.name == share.name) {
                problems.push(format!("not served: {}", self.clash_reason()));
            }
            // a VM share's directory is inside the VM: the checks on the node's files do not apply
            if share.mode.has_node_directory() && unavailable.is_none() {
                if let Some(dir) = crate::shares::closed_ancestor(std::path::Path::new(&share.path)) {
                    problems.push(format!(
                        "{} is not searchable by other users (chmod o+x)",
                        dir.display()
                    ));
                }
                if let Some(problem) = crate::quota::quota_problem(&share) {
                    problems.push(problem);
                }
                let file = self.layout.share_conf_dir.join(render::share_file_name(&share.name));
                let in_sync =
                    conf_in_sync && std::fs::read_to_string(&file).ok().as_ref() == expected.shares.get(&file);
                // a guest serves its own configuration, not the node's
                if !in_sync && share.mode.is_native() {
                    problems.push(
                        "generated Samba config differs from the share config; run 'pve-smbgateway apply'".to_string(),
                    );
                }
            }
            let purge = self.purge_incomplete(&share);
            if let Some(why) = &purge {
                problems.push(format!(
                    "purge-incomplete: {why}; run 'pve-smbgateway delete {} --purge-data' to finish",
                    share.name
                ));
            }
            out.push(ShareStatus {
                name: share.name,
                path: share.path,
                state: match (&purge, unavailable.is_some(), problems.is_empty()) {
                    (Some(_), _, _) => "purge-incomplete",
                    (None, true, _) => "unavailable",
                    (None, false, true) => "ok",
                    (None, false, false) => "degraded",
                },
                problems,
                container,
                vm,
            });
        }
        Ok(NodeStatus {
            smbd,
            config: self.store.path().display().to_string(),
            smb_conf: self.layout.smb_conf.display().to_string(),
            sandbox: self.layout.is_sandbox(),
            shares: out,
            recovery: self.recovery_problems(),
        })
    }

    /// Stop the Samba daemons of a sandbox (smbd, and winbindd when joined to a domain).
    pub fn stop(&self) -> Result<bool> {
        if self.layout.is_sandbox() {
            self.samba.stop_winbind()?;
            crate::discovery::stop_wsdd(&self.layout);
        }
        self.samba.stop()
    }
}

impl NodeStatus {
    /// For front ends that exit with a code: an error (system, 2) naming every share that is
    /// not ok, with its problems.
    pub fn failure(&self) -> Option<Error> {
        let bad: Vec<String> = self
            .shares
            .iter()
            .filter(|s| s.state != "ok")
            .map(|s| format!("'{}' is {}: {}", s.name, s.state, s.problems.join("; ")))
            .collect();
        (!bad.is_empty()).then(|| Error::system(format!("{} share(s) not ok: {}", bad.len(), bad.join("; "))))
    }
}
