//! Samba for pve-smbgateway: smb.conf rendering from `samba-templates/`, `testparm` validation,
//! smbd control and the Samba user database.

pub mod accounts;
pub mod render;
pub mod service;
pub mod testparm;
pub mod users;

use std::ffi::OsString;
use std::path::PathBuf;

use smbgw_core::Layout;
use smbgw_sys::Command;

/// How to run Samba's tools for this layout: with our smb.conf, and in sandbox mode with our
/// account database (nss_wrapper) so nothing outside the sandbox is touched.
#[derive(Clone, Debug)]
pub struct Samba {
    pub layout: Layout,
}

impl Samba {
    pub fn new(layout: Layout) -> Self {
        Self { layout }
    }

    pub fn accounts(&self) -> accounts::Accounts {
        accounts::Accounts::new(&self.layout)
    }

    /// Environment every Samba tool needs (empty on a real host).
    pub fn env(&self) -> Vec<(OsString, OsString)> {
        let accounts = self.accounts();
        // nss_wrapper needs its files before any tool starts; creating them is idempotent
        let _ = accounts.init();
        accounts.nss_env()
    }

    /// A Samba tool reading our smb.conf.
    pub fn tool(&self, program: &str) -> Command {
        // smbpasswd alone spells the config option -c (its -s means "silent")
        let flag = if program == "smbpasswd" { "-c" } else { "-s" };
        Command::new(program)
            .envs(&self.env())
            .arg(flag)
            .arg(&self.layout.smb_conf)
    }

    /// Create Samba's runtime directories of a sandbox (testparm and smbd insist on them).
    pub fn create_sandbox_dirs(&self) -> smbgw_core::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        for dir in self.sandbox_dirs() {
            smbgw_sys::fs::create_dir_all(&dir, 0o755)?;
            // the private dir holds the password database: root only
            if dir.ends_with("private") {
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                    .map_err(|e| smbgw_core::Error::io("chmod", &dir, e))?;
            }
        }
        if self.layout.sandbox.is_some() {
            smbgw_sys::fs::create_dir_all(&self.layout.log_dir, 0o750)?;
        }
        Ok(())
    }

    /// Samba's own runtime directories in sandbox mode.
    pub fn sandbox_dirs(&self) -> Vec<PathBuf> {
        match &self.layout.sandbox {
            Some(s) => [
                "private",
                "lock",
                "state",
                "cache",
                "pid",
                "ncalrpc",
                "bind-dns",
                "usershares",
            ]
            .iter()
            .map(|d| s.root.join("samba").join(d))
            .collect(),
            None => Vec::new(),
        }
    }
}
