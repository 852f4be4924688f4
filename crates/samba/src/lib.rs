//! Samba for pve-smbgateway: smb.conf rendering from `samba-templates/`, `testparm` validation,
//! smbd control, what smbd serves now (sessions, open files) and its profiling counters, and the
//! Samba user database.

pub mod accounts;
pub mod ad;
pub mod cloud_init;
pub mod guest_setup;
pub mod import;
pub mod profile;
pub mod render;
pub mod service;
pub mod status;
pub mod testparm;
pub mod users;

use std::ffi::OsString;
use std::path::PathBuf;

use smbgw_core::Layout;
use smbgw_sys::Command;

/// How to run Samba's tools for this layout: with our smb.conf, and in sandbox mode with our
/// account database (nss_wrapper) so nothing outside the sandbox is touched.
/// winbind's NSS module, loaded through nss_wrapper in sandbox mode.
const NSS_WINBIND: &str = "/lib/x86_64-linux-gnu/libnss_winbind.so.2";

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
        let mut env = accounts.nss_env();
        if let Some(s) = &self.layout.sandbox {
            let samba = s.root.join("samba");
            // Kerberos reads our krb5.conf; winbind's clients (libwbclient, nss_winbind) find
            // our winbindd's socket through this variable while nss_wrapper is active
            env.push(("KRB5_CONFIG".into(), samba.join("krb5.conf").into()));
            // 'secrets and keytab' writes the system keytab, which is the sandbox's own here
            let mut keytab = OsString::from("FILE:");
            keytab.push(samba.join("private/krb5.keytab"));
            env.push(("KRB5_KTNAME".into(), keytab));
            env.push(("SELFTEST_WINBINDD_SOCKET_DIR".into(), samba.join("winbindd").into()));
            if std::path::Path::new(NSS_WINBIND).exists() {
                env.push(("NSS_WRAPPER_MODULE_SO_PATH".into(), NSS_WINBIND.into()));
                env.push(("NSS_WRAPPER_MODULE_FN_PREFIX".into(), "winbind".into()));
            }
        }
        env
    }

    /// Where Kerberos tools read their configuration for this layout.
    pub fn krb5_conf(&self) -> PathBuf {
        match &self.layout.sandbox {
            Some(s) => s.root.join("samba/krb5.conf"),
            None => PathBuf::from("/etc/krb5.conf"),
        }
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
                "winbindd",
            ]
            .iter()
            .map(|d| s.root.join("samba").join(d))
            .collect(),
            None => Vec::new(),
        }
    }
}
