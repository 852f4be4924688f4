//! Bringing Samba in line with the share config: the generated files and a reload. Used by every
//! share operation and by `apply`, which is nothing but this on the stored config.
//!
//! In a sandbox this includes the sandbox's own copy of the CLI: smbd runs the `dfree command`
//! helper as the connected user, who cannot exec a binary inside a private checkout (a clone
//! under /root), so nothing smbd runs may live there.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use smbgw_core::plan::{RemoveFile, WriteFile};
use smbgw_core::store::SharesConfig;
use smbgw_core::{Error, Plan, Result, Step};
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

    /// `samba_steps` for a change that creates the storage of share `creating` (create,
    /// update): it is served although its storage is not there yet.
    pub(crate) fn samba_steps_creating(
        &self,
        cfg: &SharesConfig,
        plan: &mut Plan,
        serve: bool,
        creating: &str,
    ) -> Result<()> {
        self.render_steps(cfg, &self.globals()?, plan, serve, Some(creating), false)
    }

    /// `samba_steps` for globals that are about to change (AD join and leave).
    pub(crate) fn samba_steps_with(
        &self,
        cfg: &SharesConfig,
        globals: &render::Globals,
        plan: &mut Plan,
        serve: bool,
    ) -> Result<()> {
        self.render_steps(cfg, globals, plan, serve, None, false)
    }

    /// `samba_steps_with` for `apply`; `empty_confirmed` (`--force`) lets an emptied share
    /// config unpublish every share.
    pub(crate) fn samba_steps_for_apply(
        &self,
        cfg: &SharesConfig,
        globals: &render::Globals,
        plan: &mut Plan,
        serve: bool,
        empty_confirmed: bool,
    ) -> Result<()> {
        self.render_steps(cfg, globals, plan, serve, None, empty_confirmed)
    }

    fn render_steps(
        &self,
        cfg: &SharesConfig,
        globals: &render::Globals,
        plan: &mut Plan,
        serve: bool,
        creating: Option<&str>,
        empty_confirmed: bool,
    ) -> Result<()> {
        // any change (a user added, the domain lost) renders the stored config: an emptied one
        // would unpublish every share behind the admin's back
        if cfg.is_empty() && !empty_confirmed && self.store.load()?.is_empty() {
            if let Some(emptied) = self.emptied(cfg)? {
                return Err(self.emptied_error(&emptied, "changing the Samba config now would unpublish them all"));
            }
        }
        // never a share whose storage is missing: clients would write to the filesystem below
        let rendered = testparm::render_validated(&self.samba, &self.served_shares(cfg, creating), globals)?;
        if rendered.dfree_helper.is_some() {
            if let Some(step) = self.cli_copy_step()? {
                plan.push(step);
            }
        }
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
        // the setting is read (and its interfaces checked) before anything is written
        let discovery = crate::discovery::discovery_setting(&self.layout)?;
        if discovery.enabled {
            files.extend(self.avahi_service_step(cfg)?);
        }
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

        if !discovery.enabled {
            stale.extend(self.avahi_service_removal()?);
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
        if serve {
            crate::discovery::node_wsdd_steps(&self.layout, &discovery, plan)?;
        }
        let wsdd_wanted = discovery.enabled && !discovery.interfaces.is_empty();
        if serve && wsdd_wanted && self.layout.is_sandbox() && crate::discovery::wsdd_pid(&self.layout).is_none() {
            plan.push(crate::discovery::StartWsdd::new(&self.layout));
        }
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
    /// In a sandbox, install (or refresh) the copy of the CLI that the dfree helper execs, and
    /// warn when the share users cannot reach it. On a host the installed binary is used as is.
    fn cli_copy_step(&self) -> Result<Option<InstallCopy>> {
        let Some(source) = &self.layout.cli_source else {
            return Ok(None);
        };
        let target = &self.layout.cli;
        let step = match std::fs::metadata(source) {
            Ok(meta) if meta.is_file() => InstallCopy::plan(source, target)?,
            _ => {
                self.warn(format!(
                    "the program smbd's 'dfree command' runs, {}, does not exist: SMB clients will see the disk size instead of the quota; set PVE_SMBGW_BIN to the pve-smbgateway binary",
                    source.display()
                ));
                return Ok(None);
            }
        };
        if let Some(dir) = crate::shares::closed_ancestor(target) {
            self.warn(format!(
                "{} is not searchable by other users, so smbd (running as the share's user) cannot run {}: SMB clients will see the disk size instead of the quota; run 'chmod o+x {}' or put the sandbox ({}) in a directory others can enter",
                dir.display(),
                target.display(),
                dir.display(),
                smbgw_core::layout::ENV_ROOT
            ));
        }
        Ok(step)
    }

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

/// Copy a program to where smbd's users can run it (mode 0755, atomically), keeping the source's
/// modification time so that an unchanged source needs no step next time. A rollback removes a
/// copy this step created; a refreshed copy stays: the helper only asks it for `dfree`, which every
/// build answers from the same figures (run/quota.json), so the older binary would gain nothing.
struct InstallCopy {
    source: PathBuf,
    target: PathBuf,
    created: bool,
}

impl InstallCopy {
    /// `None` when the copy is current (same size and modification time as the source).
    fn plan(source: &Path, target: &Path) -> Result<Option<Self>> {
        if same_file(source, target) {
            return Ok(None);
        }
        let meta = std::fs::metadata(source).map_err(|e| Error::io("reading", source, e))?;
        let current = std::fs::symlink_metadata(target).ok().filter(|t| {
            t.is_file() && t.len() == meta.len() && t.mtime() == meta.mtime() && t.mtime_nsec() == meta.mtime_nsec()
        });
        if current.is_some() {
            return Ok(None);
        }
        Ok(Some(Self {
            source: source.to_owned(),
            target: target.to_owned(),
            created: false,
        }))
    }

    fn copy(&self) -> Result<()> {
        let dir = self.target.parent().unwrap_or(Path::new("/"));
        smbgw_sys::fs::create_dir_all(dir, 0o755)?;
        let mut from = File::open(&self.source).map_err(|e| Error::io("opening", &self.source, e))?;
        let modified = from
            .metadata()
            .and_then(|m| m.modified())
            .map_err(|e| Error::io("reading", &self.source, e))?;
        let name = self.target.file_name().unwrap_or_default().to_string_lossy();
        let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
        let result = (|| {
            let _ = std::fs::remove_file(&tmp);
            // O_EXCL and O_NOFOLLOW: a file or link planted at the temporary name is never written through
            let mut to = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o755)
                .custom_flags(nix::libc::O_NOFOLLOW)
                .open(&tmp)
                .map_err(|e| Error::io("creating", &tmp, e))?;
            std::io::copy(&mut from, &mut to).map_err(|e| Error::io("writing", &tmp, e))?;
            to.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .map_err(|e| Error::io("chmod", &tmp, e))?;
            to.set_modified(modified)
                .map_err(|e| Error::io("setting the time of", &tmp, e))?;
            std::fs::rename(&tmp, &self.target).map_err(|e| Error::io("renaming into", &self.target, e))
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }
}

/// Whether two paths name the same file (the copy running as the CLI itself).
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

impl Step for InstallCopy {
    fn describe(&self) -> String {
        format!(
            "install {} for smbd's dfree helper (a copy of {})",
            self.target.display(),
            self.source.display()
        )
    }
    fn apply(&mut self) -> Result<()> {
        self.created = std::fs::symlink_metadata(&self.target).is_err();
        self.copy()
    }
    fn undo(&mut self) -> Result<()> {
        if self.created {
            smbgw_sys::fs::remove_if_exists(&self.target)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn install_copy_follows_the_source_and_undoes_only_what_it_created() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("build/pve-smbgateway");
        let target = dir.path().join("run/pve-smbgateway");
        std::fs::create_dir_all(source.parent().unwrap()).unwrap();
        std::fs::write(&source, b"#!/bin/sh\necho one\n").unwrap();

        let mut step = InstallCopy::plan(&source, &target).unwrap().expect("no copy yet");
        step.apply().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), std::fs::read(&source).unwrap());
        assert_eq!(std::fs::metadata(&target).unwrap().permissions().mode() & 0o7777, 0o755);
        assert!(
            InstallCopy::plan(&source, &target).unwrap().is_none(),
            "the copy is current"
        );
        assert!(
            InstallCopy::plan(&target, &target).unwrap().is_none(),
            "the copy itself as source"
        );
        step.undo().unwrap();
        assert!(!target.exists(), "undo removes the copy it created");

        InstallCopy::plan(&source, &target).unwrap().unwrap().apply().unwrap();
        std::fs::write(&source, b"#!/bin/sh\necho two, rebuilt\n").unwrap();
        let mut step = InstallCopy::plan(&source, &target)
            .unwrap()
            .expect("the source changed");
        step.apply().unwrap();
        step.undo().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"#!/bin/sh\necho two, rebuilt\n");
    }
}
