//! Keeping smbd running with the current configuration. A share change never restarts smbd:
//! `smbcontrol smbd reload-config` makes every smbd process re-read the files, so open sessions
//! survive. In sandbox mode (no systemd) the gateway starts and stops its own smbd.

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde::Serialize;
use smbgw_core::{Error, Result};

use crate::Samba;

const START_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Clone, Debug, Serialize)]
pub struct SmbdStatus {
    pub running: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    /// Where clients connect (sandbox mode), e.g. 127.0.0.1:445.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    pub managed_by: &'static str,
}

impl Samba {
    /// smbd writes smbd.pid into the pid directory of the sandbox.
    fn pid_file(&self) -> Option<PathBuf> {
        let sandbox = self.layout.sandbox.as_ref()?;
        Some(sandbox.root.join("samba/pid/smbd.pid"))
    }

    fn listen_addr(&self) -> Option<SocketAddr> {
        self.layout.sandbox.as_ref().map(|s| SocketAddr::new(s.bind, s.port))
    }

    /// The pid of our running smbd (sandbox mode), or of the system's smbd.
    pub fn smbd_pid(&self) -> Option<i32> {
        let pid_file = self.pid_file().unwrap_or_else(|| PathBuf::from("/run/samba/smbd.pid"));
        let pid: i32 = std::fs::read_to_string(pid_file).ok()?.trim().parse().ok()?;
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        (comm.trim() == "smbd" && kill(Pid::from_raw(pid), None).is_ok()).then_some(pid)
    }

    pub fn smbd_status(&self) -> SmbdStatus {
        SmbdStatus {
            running: self.smbd_pid().is_some(),
            pid: self.smbd_pid(),
            listen: self.listen_addr().map(|a| a.to_string()),
            managed_by: if self.layout.sandbox.is_some() {
                "pve-smbgateway (sandbox)"
            } else {
                "systemd (smbd.service)"
            },
        }
    }

    /// Make smbd serve the configuration now on disk: reload a running smbd, start a stopped one.
    pub fn reload_or_start(&self) -> Result<()> {
        if self.smbd_pid().is_some() {
            self.reload()
        } else {
            self.start()
        }
    }

    pub fn reload(&self) -> Result<()> {
        self.tool("smbcontrol").args(["smbd", "reload-config"]).run()?;
        Ok(())
    }

    pub fn start(&self) -> Result<()> {
        let Some(addr) = self.listen_addr() else {
            return smbgw_sys::systemd::start_unit("smbd.service");
        };
        self.create_sandbox_dirs()?;
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Err(Error::system(format!(
                "cannot start smbd: {addr} is already in use by another program; set PVE_SMBGW_SMB_PORT or PVE_SMBGW_BIND to a free address"
            )));
        }
        // -D: smbd daemonises itself; its output goes to the log file set in smb.conf
        self.tool("smbd").arg("-D").timeout(START_TIMEOUT).stdio_null().run()?;
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(Error::external(format!(
            "smbd did not start listening on {addr} within {} s; see {}",
            START_TIMEOUT.as_secs(),
            self.layout.log_dir.join("smbd.log").display()
        )))
    }

    /// Stop the smbd we started (sandbox mode). Returns whether one was running.
    pub fn stop(&self) -> Result<bool> {
        if self.layout.sandbox.is_none() {
            smbgw_sys::systemd::stop_unit("smbd.service")?;
            return Ok(true);
        }
        let Some(pid) = self.smbd_pid() else { return Ok(false) };
        terminate(pid);
        Ok(true)
    }
}

/// SIGTERM a daemon we started, and SIGKILL it if it is still there after 10 s.
pub(crate) fn terminate(pid: i32) {
    let pid = Pid::from_raw(pid);
    let _ = kill(pid, Signal::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(10);
    while kill(pid, None).is_ok() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if kill(pid, None).is_ok() {
        let _ = kill(pid, Signal::SIGKILL);
    }
}
