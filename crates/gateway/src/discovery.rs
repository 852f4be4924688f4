//! Making the node's SMB server findable. For macOS Finder, the Avahi service file rendered by
//! core/src/discovery.rs, written with the other generated Samba files in one plan, so a
//! failed change rolls it back and `apply` heals it: on a node where avahi-daemon reads services
//! (only when Avahi is installed), in a sandbox under the sandbox root. For Windows Explorer,
//! Debian's wsdd: on a node wsdd.service configured through /etc/default/wsdd, in a sandbox (only on
//! interfaces named for it) a wsdd started beside the sandbox's smbd and stopped with it (`stop`).

use std::path::PathBuf;

use smbgw_core::layout::Layout;
use smbgw_core::plan::{RemoveFile, WriteFile};
use smbgw_core::store::SharesConfig;
use smbgw_core::{discovery, Result};

use crate::Gateway;

const SERVICE_FILE: &str = "pve-smbgateway.service";

/// The node's /etc, as the layout places it (smb.conf is `ETC/samba/smb.conf`), so a layout in a
/// temp dir never reaches the real Avahi or wsdd files.
fn etc_dir(layout: &Layout) -> PathBuf {
    layout
        .smb_conf
        .parent()
        .and_then(|p| p.parent())
        .map_or_else(|| PathBuf::from("/etc"), PathBuf::from)
}

impl Gateway {
    /// Where the Avahi service file lives, or `None` on a node without Avahi.
    pub fn avahi_service_path(&self) -> Option<PathBuf> {
        match &self.layout.sandbox {
            Some(s) => Some(s.root.join("avahi/services").join(SERVICE_FILE)),
            None => {
                let dir = etc_dir(&self.layout).join("avahi/services");
                dir.is_dir().then(|| dir.join(SERVICE_FILE))
            }
        }
    }

    /// The step that writes the service file for `cfg`, when it would change anything.
    pub(crate) fn avahi_service_step(&self, cfg: &SharesConfig) -> Result<Option<WriteFile>> {
        let Some(path) = self.avahi_service_path() else {
            return Ok(None);
        };
        let port = self.layout.sandbox.as_ref().map_or(445, |s| s.port);
        let text = discovery::avahi_service(port, cfg.shares());
        let step = WriteFile::new("Avahi service", &path, text.into_bytes(), 0o644)?.derived();
        Ok(step.changes().then_some(step))
    }

    /// The step that withdraws the service file (discovery off), when there is one.
    pub(crate) fn avahi_service_removal(&self) -> Result<Option<RemoveFile>> {
        match self.avahi_service_path() {
            Some(path) => RemoveFile::new("Avahi service (discovery off)", &path),
            None => Ok(None),
        }
    }
}

/// The node's discovery setting, in the node-local state directory (`discovery=on|off`,
/// `interfaces=a,b`); absent means on, every interface. Interfaces are checked on every read,
/// so one that disappeared is reported on its field rather than silently ignored.
const SETTING_FILE: &str = "discovery.cfg";

pub fn discovery_setting(layout: &Layout) -> Result<discovery::Discovery> {
    let path = layout.state_dir.join(SETTING_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(smbgw_core::Error::system(format!("{}: {e}", path.display()))),
    };
    let value = |key: &str| {
        text.lines()
            .filter_map(|l| l.split_once('='))
            .find(|(k, _)| k.trim() == key)
            .map(|(_, v)| v.trim().to_string())
    };
    discovery::Discovery::parse(
        value("discovery").as_deref(),
        value("interfaces").as_deref(),
        &discovery::node_interfaces()?,
    )
}

fn wsdd_pid_file(layout: &Layout) -> Option<PathBuf> {
    layout.sandbox.as_ref().map(|s| s.root.join("run/wsdd.pid"))
}

/// The pid of the wsdd this sandbox started, if it still runs.
pub fn wsdd_pid(layout: &Layout) -> Option<i32> {
    let text = std::fs::read_to_string(wsdd_pid_file(layout)?).ok()?;
    let pid: i32 = text.trim().parse().ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    String::from_utf8_lossy(&cmdline).contains("wsdd").then_some(pid)
}

/// Start Debian's wsdd for the sandbox's smbd (a node runs wsdd.service, configured through
/// /etc/default/wsdd), unless discovery is off or it already runs.
pub fn start_wsdd(layout: &Layout) -> Result<bool> {
    let setting = discovery_setting(layout)?;
    let Some(pid_file) = wsdd_pid_file(layout) else {
        return Ok(false);
    };
    // a sandbox answers only on interfaces named for it: never on every interface of the
    // machine it is tested on
    if !setting.enabled || setting.interfaces.is_empty() || wsdd_pid(layout).is_some() {
        return Ok(false);
    }
    let host = nix::unistd::gethostname()
        .map_err(|e| smbgw_core::Error::system(format!("gethostname: {e}")))?
        .to_string_lossy()
        .into_owned();
    let log_path = layout.log_dir.join("wsdd.log");
    let sys = |e: std::io::Error| smbgw_core::Error::system(format!("wsdd: {e}"));
    std::fs::create_dir_all(&layout.log_dir).map_err(sys)?;
    let log = std::fs::File::create(&log_path).map_err(sys)?;
    use std::os::unix::process::CommandExt;
    let child = std::process::Command::new("wsdd")
        .args(setting.wsdd_args(&host, "WORKGROUP"))
        .arg("--shortlog")
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().map_err(sys)?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .map_err(|e| smbgw_core::Error::external(format!("cannot start wsdd: {e}")))?;
    if let Some(dir) = pid_file.parent() {
        std::fs::create_dir_all(dir).map_err(sys)?;
    }
    std::fs::write(&pid_file, format!("{}\n", child.id())).map_err(sys)?;
    Ok(true)
}

/// Stop the wsdd this sandbox started.
pub fn stop_wsdd(layout: &Layout) -> bool {
    let Some(pid) = wsdd_pid(layout) else { return false };
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM);
    if let Some(f) = wsdd_pid_file(layout) {
        let _ = std::fs::remove_file(f);
    }
    true
}

/// On a node with Debian's wsdd: /etc/default/wsdd with the setting's interfaces, then
/// wsdd.service restarted (discovery on) or stopped (off) when the file changed.
pub(crate) fn node_wsdd_steps(
    layout: &Layout,
    setting: &discovery::Discovery,
    plan: &mut smbgw_core::Plan,
) -> Result<()> {
    // Debian's wsdd package ships the defaults file: without it there is no wsdd.service
    let defaults = etc_dir(layout).join("default/wsdd");
    if layout.sandbox.is_some() || !defaults.exists() {
        return Ok(());
    }
    let file = WriteFile::new(
        "wsdd defaults",
        &defaults,
        setting.wsdd_default_file().into_bytes(),
        0o644,
    )?
    .derived();
    if file.changes() {
        plan.push(file);
        plan.push(NodeWsdd {
            enabled: setting.enabled,
        });
    }
    Ok(())
}

/// wsdd.service brought in line with the setting. No undo of its own: a rollback restores the
/// defaults file, and the next apply (which sees it differ) restarts the unit again.
struct NodeWsdd {
    enabled: bool,
}

impl smbgw_core::Step for NodeWsdd {
    fn describe(&self) -> String {
        if self.enabled {
            "restart wsdd.service"
        } else {
            "stop wsdd.service"
        }
        .into()
    }
    fn apply(&mut self) -> Result<()> {
        if self.enabled {
            smbgw_sys::systemd::restart_unit("wsdd.service")
        } else {
            smbgw_sys::systemd::stop_unit("wsdd.service")
        }
    }
    fn undo(&mut self) -> Result<()> {
        Ok(())
    }
}

impl Gateway {
    /// Show (no arguments) or change the node's discovery setting. Each value is checked (an
    /// interface the node lacks is refused on its field) before anything is written; then the
    /// setting is stored and wsdd follows it: the node's unit, or the sandbox's own process.
    pub fn set_discovery(&self, enabled: Option<&str>, interfaces: Option<&str>) -> Result<discovery::Discovery> {
        let current = discovery_setting(&self.layout)?;
        if enabled.is_none() && interfaces.is_none() {
            return Ok(current);
        }
        let current_list = current.interfaces.join(",");
        let wanted = discovery::Discovery::parse(
            Some(enabled.unwrap_or(if current.enabled { "on" } else { "off" })),
            Some(interfaces.unwrap_or(&current_list)),
            &discovery::node_interfaces()?,
        )?;
        let text = format!(
            "discovery={}\ninterfaces={}\n",
            if wanted.enabled { "on" } else { "off" },
            wanted.interfaces.join(",")
        );
        let mut plan = smbgw_core::Plan::new();
        plan.push(WriteFile::new(
            "discovery setting",
            &self.layout.state_dir.join(SETTING_FILE),
            text.into_bytes(),
            0o644,
        )?);
        node_wsdd_steps(&self.layout, &wanted, &mut plan)?;
        // macOS discovery follows the setting at once, as wsdd does
        if wanted.enabled {
            if let Some(step) = self.avahi_service_step(&self.store.load()?)? {
                plan.push(step);
            }
        } else if let Some(step) = self.avahi_service_removal()? {
            plan.push(step);
        }
        plan.apply()?;
        if self.layout.is_sandbox() {
            let restart = stop_wsdd(&self.layout) || (wanted.enabled && self.samba.smbd_pid().is_some());
            if restart && wanted.enabled {
                start_wsdd(&self.layout)?;
            }
        }
        Ok(wanted)
    }
}

/// A plan step: start wsdd with the sandbox's smbd; a rollback stops the one it started.
pub(crate) struct StartWsdd {
    pub(crate) layout: Layout,
    started: bool,
}

impl StartWsdd {
    pub(crate) fn new(layout: &Layout) -> Self {
        StartWsdd {
            layout: layout.clone(),
            started: false,
        }
    }
}

impl smbgw_core::Step for StartWsdd {
    fn describe(&self) -> String {
        "start wsdd (WS-Discovery for Windows Explorer)".into()
    }
    fn apply(&mut self) -> Result<()> {
        self.started = start_wsdd(&self.layout)?;
        Ok(())
    }
    fn undo(&mut self) -> Result<()> {
        if self.started {
            stop_wsdd(&self.layout);
        }
        Ok(())
    }
}
