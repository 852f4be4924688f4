//! Where the gateway keeps its files on this node.
//!
//! On a Proxmox VE node the share config lives in the cluster filesystem and Samba is the system's.
//! In sandbox mode (`PVE_SMBGW_ROOT=DIR`) every file the gateway reads or writes lives under DIR,
//! and the gateway runs its own smbd on `PVE_SMBGW_BIND`:`PVE_SMBGW_SMB_PORT`.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::{bail_input, Result};

pub const ENV_ROOT: &str = "PVE_SMBGW_ROOT";
pub const ENV_BIND: &str = "PVE_SMBGW_BIND";
pub const ENV_PORT: &str = "PVE_SMBGW_SMB_PORT";

#[derive(Clone, Debug)]
pub struct Sandbox {
    pub root: PathBuf,
    pub bind: IpAddr,
    pub port: u16,
}

#[derive(Clone, Debug)]
pub struct Layout {
    /// Set in sandbox mode.
    pub sandbox: Option<Sandbox>,
    /// Cluster-wide configuration (shares.cfg).
    pub config_dir: PathBuf,
    /// The generated smb.conf.
    pub smb_conf: PathBuf,
    /// One generated include per share.
    pub share_conf_dir: PathBuf,
    /// Node-local state of the gateway (journal, history).
    pub state_dir: PathBuf,
    pub log_dir: PathBuf,
    /// World-readable runtime data: the quota figures the `dfree` helper (run by smbd as the
    /// connected user) reads.
    pub run_dir: PathBuf,
    /// This program, as Samba must call it (`dfree command`): smbd runs it as the connected user.
    /// On a host the installed binary; in a sandbox the sandbox's own copy in `run_dir`, which
    /// the user can reach even when the build lives in a private directory (a clone under /root).
    pub cli: PathBuf,
    /// Sandbox only: the binary `cli` is a copy of (`PVE_SMBGW_BIN`, else this program).
    pub cli_source: Option<PathBuf>,
    /// PVE's container configs (`pct` reads them; the gateway adds id mappings).
    pub pve_lxc_dir: PathBuf,
    /// PVE's cluster membership (`.members` of pmxcfs): the default HA nodes.
    pub pve_members: PathBuf,
    /// PVE's storage definitions (`storage.cfg` of pmxcfs): the storages a share can be put on.
    pub pve_storage_cfg: PathBuf,
    /// CTDB's configuration directory.
    pub ctdb_dir: PathBuf,
}

pub const ENV_BIN: &str = "PVE_SMBGW_BIN";
const INSTALLED_CLI: &str = "/usr/sbin/pve-smbgateway";
/// The sandbox's copy of the CLI, in `run_dir`.
const SANDBOX_CLI: &str = "pve-smbgateway";

/// The CLI binary: `PVE_SMBGW_BIN`, else on a host the installed one, else (sandbox) this
/// program if it is the CLI.
fn cli_path(sandbox: bool) -> PathBuf {
    if let Some(bin) = std::env::var_os(ENV_BIN).filter(|b| !b.is_empty()) {
        return bin.into();
    }
    if !sandbox {
        return INSTALLED_CLI.into();
    }
    match std::env::current_exe() {
        Ok(exe) if exe.file_name().is_some_and(|n| n == "pve-smbgateway") => exe,
        _ => INSTALLED_CLI.into(),
    }
}

impl Layout {
    /// The layout of a Proxmox VE node.
    pub fn host() -> Self {
        Layout {
            sandbox: None,
            config_dir: "/etc/pve/smbgateway".into(),
            smb_conf: "/etc/samba/smb.conf".into(),
            share_conf_dir: "/etc/samba/smbgateway.d".into(),
            state_dir: "/var/lib/pve-smbgateway".into(),
            log_dir: "/var/log/pve-smbgateway".into(),
            run_dir: "/run/pve-smbgateway".into(),
            cli: cli_path(false),
            cli_source: None,
            pve_lxc_dir: "/etc/pve/lxc".into(),
            pve_members: "/etc/pve/.members".into(),
            pve_storage_cfg: "/etc/pve/storage.cfg".into(),
            ctdb_dir: "/etc/ctdb".into(),
        }
    }

    /// Everything under `root`.
    pub fn sandbox(root: &Path, bind: IpAddr, port: u16) -> Result<Self> {
        if !root.is_absolute() {
            bail_input!("sandbox root {:?} must be an absolute path", root.display().to_string());
        }
        if root.to_str().is_none_or(|r| {
            r.chars()
                .any(|c| c.is_control() || matches!(c, '%' | '\\' | '"' | '\''))
        }) {
            bail_input!(
                "sandbox root {:?} contains characters Samba cannot take in a path",
                root.display().to_string()
            );
        }
        let samba = root.join("samba");
        let run_dir = root.join("run");
        Ok(Layout {
            sandbox: Some(Sandbox {
                root: root.to_owned(),
                bind,
                port,
            }),
            config_dir: root.join("config"),
            smb_conf: samba.join("smb.conf"),
            share_conf_dir: samba.join("shares.d"),
            state_dir: root.join("state"),
            log_dir: root.join("log"),
            cli: run_dir.join(SANDBOX_CLI),
            cli_source: Some(cli_path(true)),
            run_dir,
            pve_lxc_dir: root.join("pve/lxc"),
            pve_members: root.join("pve/.members"),
            pve_storage_cfg: root.join("pve/storage.cfg"),
            ctdb_dir: root.join("ctdb"),
        })
    }

    /// From the environment: sandbox if `PVE_SMBGW_ROOT` (or `root`) is set, else the host.
    pub fn from_env(root: Option<&Path>) -> Result<Self> {
        let env_root = std::env::var_os(ENV_ROOT).filter(|v| !v.is_empty()).map(PathBuf::from);
        let Some(root) = root.map(Path::to_owned).or(env_root) else {
            if !Path::new("/etc/pve").is_dir() {
                bail_input!(
                    "this is not a Proxmox VE node (/etc/pve is missing); set {ENV_ROOT}=DIR to run the gateway in a sandbox directory"
                );
            }
            return Ok(Self::host());
        };
        let bind = match std::env::var(ENV_BIND) {
            Ok(v) if !v.is_empty() => v
                .parse()
                .map_err(|_| crate::Error::input(format!("{ENV_BIND}={v:?} is not an IP address")))?,
            _ => IpAddr::from([127, 0, 0, 1]),
        };
        let port = match std::env::var(ENV_PORT) {
            Ok(v) if !v.is_empty() => match v.parse::<u16>() {
                Ok(p) if p > 0 => p,
                _ => bail_input!("{ENV_PORT}={v:?} is not a TCP port (1-65535)"),
            },
            _ => 445,
        };
        Self::sandbox(&root, bind, port)
    }

    pub fn is_sandbox(&self) -> bool {
        self.sandbox.is_some()
    }

    /// Directories the gateway owns; a share must not be placed inside them.
    pub fn owned_dirs(&self) -> Vec<PathBuf> {
        let mut dirs = vec![
            self.config_dir.clone(),
            self.state_dir.clone(),
            self.log_dir.clone(),
            self.share_conf_dir.clone(),
        ];
        if let Some(s) = &self.sandbox {
            dirs.push(s.root.join("samba"));
            dirs.push(s.root.join("accounts"));
        }
        dirs
    }
}
