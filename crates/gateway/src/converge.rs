//! Bringing Samba in line with the share config: the generated files and a reload. Used by every
//! share operation and by `apply`, which is nothing but this on the stored config.

use std::collections::BTreeSet;

use smbgw_core::plan::{RemoveFile, WriteFile};
use smbgw_core::store::SharesConfig;
use smbgw_core::{Plan, Result, Step};
use smbgw_samba::{render, testparm, Samba};

use crate::Gateway;

impl Gateway {
    /// What the global section is rendered from besides the shares.
    pub(crate) fn globals(&self) -> Result<render::Globals> {
        Ok(render::Globals {
            ad: smbgw_core::ad::AdState::load(&self.layout)?,
            clustering: self.ha_config()?.is_some(),
            guest_snapshot_dir: None,
        })
    }

    /// Add the steps that make Samba serve `cfg` to `plan`. With `serve`, smbd is reloaded (or
    /// started) when anything changed or it is not running.
    pub(crate) fn samba_steps(&self, cfg: &SharesConfig, plan: &mut Plan, serve: bool) -> Result<()> {
        self.samba_steps_with(cfg, &self.globals()?, plan, serve)
    }

    /// `samba_steps` for globals that are about to change (AD join and leave).
    pub(crate) fn samba_steps_with(
        &self,
        cfg: &SharesConfig,
        globals: &render::Globals,
        plan: &mut Plan,
        serve: bool,
    ) -> Result<()> {
        let rendered = testparm::render_validated(&self.samba, &self.node_shares(cfg.shares()), globals)?;
        let mut files = Vec::new();
        for (path, text) in &rendered.shares {
            files.push(WriteFile::new("share include", path, text.clone().into_bytes(), 0o644)?.derived());
        }
        if let Some((path, script)) = &rendered.dfree_helper {
            files.push(WriteFile::new("dfree helper", path, script.clone().into_bytes(), 0o755)?.derived());
        }
        let (conf_path, conf_text) = &rendered.smb_conf;
        if let Some(backup) = self.foreign_smb_conf_backup()? {
            files.push(backup);
        }
        files.push(WriteFile::new("smb.conf", conf_path, conf_text.clone().into_bytes(), 0o644)?.derived());
        let files: Vec<WriteFile> = files.into_iter().filter(WriteFile::changes).collect();

        let wanted: BTreeSet<_> = rendered.shares.keys().cloned().collect();
        let mut stale = Vec::new();
        if let Ok(entries) = std::fs::read_dir(&self.layout.share_conf_dir) {
            let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
            paths.sort();
            for path in paths {
                if path.extension().is_some_and(|e| e == "conf") && !wanted.contains(&path) {
                    stale.extend(RemoveFile::new("stale share include", &path)?);
                }
            }
        }

        let changed = !files.is_empty() || !stale.is_empty();
        let running = self.samba.smbd_pid().is_some();
        if changed && serve && running {
            plan.push(ReloadOnRollback {
                samba: self.samba.clone(),
            });
        }
        // new includes first, then smb.conf that names them, then removal of the old ones
        files.into_iter().for_each(|f| plan.push(f));
        stale.into_iter().for_each(|f| plan.push(f));
        if serve && (changed || !running) {
            plan.push(Serve {
                samba: self.samba.clone(),
                started: false,
                running,
            });
        }
        Ok(())
    }
}

impl Gateway {
    /// On a host, the first run takes over /etc/samba/smb.conf: an admin's own file is kept
    /// beside it (once), never silently lost.
    fn foreign_smb_conf_backup(&self) -> Result<Option<WriteFile>> {
        if self.layout.is_sandbox() {
            return Ok(None);
        }
        let Some(current) = smbgw_sys::fs::read_optional(&self.layout.smb_conf)? else {
            return Ok(None);
        };
        if current.starts_with(render::GENERATED_MARKER.as_bytes()) {
            return Ok(None);
        }
        let backup = self.layout.smb_conf.with_extension("conf.pve-smbgateway-orig");
        if backup.exists() {
            return Ok(None);
        }
        Ok(Some(WriteFile::new(
            "copy of the original smb.conf",
            &backup,
            current,
            0o644,
        )?))
    }
}

/// First in the plan, last to be undone: after a rollback restored the old files, smbd re-reads them.
struct ReloadOnRollback {
    samba: Samba,
}

impl Step for ReloadOnRollback {
    fn describe(&self) -> String {
        "reload smbd again if the change is rolled back".into()
    }
    fn apply(&mut self) -> Result<()> {
        Ok(())
    }
    fn undo(&mut self) -> Result<()> {
        if self.samba.smbd_pid().is_some() {
            self.samba.reload()?;
        }
        Ok(())
    }
}

/// Reload a running smbd (sessions stay up), or start it.
struct Serve {
    samba: Samba,
    started: bool,
    running: bool,
}

impl Step for Serve {
    fn describe(&self) -> String {
        match (self.running, self.samba.layout.sandbox.as_ref()) {
            (true, _) => "reload smbd (smbcontrol smbd reload-config)".into(),
            (false, Some(s)) => format!("start smbd on {}:{}", s.bind, s.port),
            (false, None) => "start smbd.service".into(),
        }
    }
    fn apply(&mut self) -> Result<()> {
        if self.samba.smbd_pid().is_some() {
            self.samba.reload()
        } else if let Err(e) = self.samba.start() {
            // a half-started smbd (daemonised, never listening) must not outlive the rollback
            let _ = self.samba.stop();
            Err(e)
        } else {
            self.started = true;
            Ok(())
        }
    }
    fn undo(&mut self) -> Result<()> {
        if self.started {
            self.samba.stop()?;
        }
        Ok(())
    }
}
