//! Samba's Active Directory tools: `net ads` for the machine account, winbindd for domain
//! identities, `wbinfo` to ask it. The domain administrator's password reaches `net` through
//! `PASSWD_FD=0` on stdin, never through argv or the environment.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::sys::signal::kill;
use nix::unistd::Pid;
use smbgw_core::{Error, Result};
use smbgw_sys::Command;

use crate::Samba;

const NET_TIMEOUT: Duration = Duration::from_secs(60);
/// Health checks must answer quickly even when the DC is gone.
const CHECK_TIMEOUT: Duration = Duration::from_secs(15);
const WINBIND_START_TIMEOUT: Duration = Duration::from_secs(30);

/// Administrator credentials for joining and leaving; the password stays in memory only.
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl Drop for Credentials {
    fn drop(&mut self) {
        // do not leave the password in freed memory
        zeroize::Zeroize::zeroize(&mut self.password);
    }
}

/// What `net ads info` reports about the domain and its DC.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AdsInfo {
    pub ldap_server: Option<String>,
    pub ldap_server_name: Option<String>,
    pub realm: Option<String>,
    pub kdc_server: Option<String>,
    /// Seconds the DC's clock is ahead of ours.
    pub time_offset: Option<i64>,
}

impl AdsInfo {
    pub fn parse(text: &str) -> AdsInfo {
        let mut info = AdsInfo::default();
        for line in text.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim().to_string();
            match key.trim() {
                "LDAP server" => info.ldap_server = Some(value),
                "LDAP server name" => info.ldap_server_name = Some(value),
                "Realm" => info.realm = Some(value),
                "KDC server" => info.kdc_server = Some(value),
                "Server time offset" => info.time_offset = value.parse().ok(),
                _ => {}
            }
        }
        info
    }
}

/// A name as winbind resolved it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub sid: String,
    pub is_group: bool,
}

impl Samba {
    /// `net` with options that only a preflight (before smb.conf names the domain) needs.
    fn net(&self, options: &[(&str, &str)]) -> Command {
        let mut cmd = self.tool("net");
        for (k, v) in options {
            cmd = cmd.arg(format!("--option={k}={v}"));
        }
        cmd
    }

    /// `net ads info` against `dc`, for a domain smb.conf does not name yet.
    pub fn ads_info(&self, realm: &str, dc: &str) -> Result<AdsInfo> {
        let out = self
            .net(&[("realm", realm), ("security", "ads")])
            .args(["ads", "info", "-S", dc])
            .timeout(CHECK_TIMEOUT)
            .run()?;
        Ok(AdsInfo::parse(&out.stdout))
    }

    /// The domain's NetBIOS name, asked from `dc`.
    pub fn ads_workgroup(&self, realm: &str, dc: &str) -> Result<String> {
        let out = self
            .net(&[("realm", realm), ("security", "ads")])
            .args(["ads", "workgroup", "-S", dc])
            .timeout(CHECK_TIMEOUT)
            .run()?;
        out.stdout
            .lines()
            .find_map(|l| l.strip_prefix("Workgroup:"))
            .map(|w| w.trim().to_string())
            .filter(|w| !w.is_empty())
            .ok_or_else(|| Error::external(format!("{dc} did not tell the domain's NetBIOS name")))
    }

    /// Create the machine account (smb.conf already names the domain).
    pub fn ads_join(&self, creds: &Credentials, ou: Option<&str>, dc: Option<&str>) -> Result<()> {
        // the join also registers this node in the domain's DNS (Kerberos clients need the name)
        let mut cmd = self.tool("net").args(["ads", "join", "-U", &creds.user]);
        if let Some(dc) = dc {
            cmd = cmd.args(["-S", dc]);
        }
        if let Some(ou) = ou {
            cmd = cmd.arg(format!("createcomputer={ou}"));
        }
        let out = cmd
            .env("PASSWD_FD", "0")
            .stdin(creds.password.as_bytes())
            .timeout(NET_TIMEOUT)
            .output()?;
        if out.success() {
            return Ok(());
        }
        let text = format!("{}{}", out.stdout, out.stderr);
        let reason = text
            .lines()
            .find(|l| l.contains("Failed to join"))
            .unwrap_or_else(|| text.lines().last().unwrap_or("no output"))
            .trim();
        let logon = [
            "logon is invalid",
            "LOGON_FAILURE",
            "Invalid credentials",
            "Preauthentication failed",
        ];
        if logon.iter().any(|m| text.contains(m)) {
            return Err(Error::input(format!(
                "the domain refused the credentials of '{}': wrong user name or password ({reason})",
                creds.user
            )));
        }
        if text.contains("Access is denied") || text.contains("ACCESS_DENIED") || text.contains("Insufficient access") {
            return Err(Error::input(format!(
                "'{}' may not join computers to the domain (or to that OU): {reason}",
                creds.user
            )));
        }
        Err(Error::external(format!("joining the domain failed: {reason}")))
    }

    /// Delete the machine account in the domain.
    pub fn ads_leave(&self, creds: &Credentials) -> Result<()> {
        self.tool("net")
            .args(["ads", "leave", "-U", &creds.user])
            .env("PASSWD_FD", "0")
            .stdin(creds.password.as_bytes())
            .timeout(NET_TIMEOUT)
            .run()
            .map(|_| ())
    }

    /// Whether the machine account and its secret still work (LDAP and Kerberos to a DC).
    pub fn ads_testjoin(&self) -> Result<()> {
        self.tool("net")
            .args(["ads", "testjoin"])
            .timeout(CHECK_TIMEOUT)
            .run()
            .map(|_| ())
    }

    fn winbindd_pid_file(&self) -> Option<PathBuf> {
        let s = self.layout.sandbox.as_ref()?;
        Some(s.root.join("samba/pid/winbindd.pid"))
    }

    pub fn winbindd_pid(&self) -> Option<i32> {
        let file = self
            .winbindd_pid_file()
            .unwrap_or_else(|| PathBuf::from("/run/samba/winbindd.pid"));
        let pid: i32 = std::fs::read_to_string(file).ok()?.trim().parse().ok()?;
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        (comm.trim() == "winbindd" && kill(Pid::from_raw(pid), None).is_ok()).then_some(pid)
    }

    /// Start winbindd and wait until it answers.
    pub fn start_winbind(&self) -> Result<()> {
        if self.layout.sandbox.is_none() {
            smbgw_sys::systemd::start_unit("winbind.service")?;
        } else if self.winbindd_pid().is_none() {
            self.create_sandbox_dirs()?;
            self.tool("winbindd")
                .arg("-D")
                .stdio_null()
                .timeout(WINBIND_START_TIMEOUT)
                .run()?;
        }
        let deadline = Instant::now() + WINBIND_START_TIMEOUT;
        loop {
            if self.wbinfo(&["-p"]).is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(Error::external(format!(
                    "winbindd did not answer within {} s; see {}",
                    WINBIND_START_TIMEOUT.as_secs(),
                    self.layout.log_dir.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn stop_winbind(&self) -> Result<()> {
        if self.layout.sandbox.is_none() {
            return smbgw_sys::systemd::stop_unit("winbind.service");
        }
        if let Some(pid) = self.winbindd_pid() {
            crate::service::terminate(pid);
        }
        Ok(())
    }

    pub fn wbinfo(&self, args: &[&str]) -> Result<String> {
        let out = Command::new("wbinfo")
            .envs(&self.env())
            .args(args)
            .timeout(CHECK_TIMEOUT)
            .run()?;
        Ok(out.stdout)
    }

    /// Look a `DOMAIN\name` up in the domain: `None` if the domain says it does not exist.
    pub fn lookup_name(&self, name: &str) -> Result<Option<Resolved>> {
        let out = Command::new("wbinfo")
            .envs(&self.env())
            .arg("-n")
            .arg(name)
            .timeout(CHECK_TIMEOUT)
            .output()?;
        if !out.success() {
            let text = format!("{}{}", out.stdout, out.stderr);
            if text.contains("WBC_ERR_DOMAIN_NOT_FOUND") && !text.contains("Could not lookup name") {
                return Err(Error::external(format!(
                    "cannot look up {name:?}: the domain does not answer"
                )));
            }
            if text.contains("WBC_ERR_WINBIND_NOT_AVAILABLE") {
                return Err(Error::external(format!(
                    "cannot look up {name:?}: winbindd is not running"
                )));
            }
            return Ok(None);
        }
        let mut fields = out.stdout.split_whitespace();
        let (Some(sid), Some(kind)) = (fields.next(), fields.next()) else {
            return Ok(None);
        };
        Ok(Some(Resolved {
            sid: sid.to_string(),
            is_group: matches!(kind, "SID_DOM_GROUP" | "SID_ALIAS" | "SID_WKN_GROUP"),
        }))
    }

    /// The unix id winbind maps a SID to.
    pub fn sid_to_id(&self, sid: &str, group: bool) -> Result<u32> {
        let flag = if group { "--sid-to-gid" } else { "--sid-to-uid" };
        let text = self.wbinfo(&[flag, sid])?;
        text.trim()
            .parse()
            .map_err(|_| Error::external(format!("winbind mapped {sid} to {:?}, not an id", text.trim())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ads_info_parsing() {
        let text = "LDAP server: 10.99.1.1\nLDAP server name: dc1.example.test\nRealm: EXAMPLE.TEST\n\
                    Bind Path: dc=EXAMPLE,dc=TEST\nLDAP port: 389\nServer time: Sun, 22 Nov 2026 17:59:31 UTC\n\
                    KDC server: 10.99.1.1\nServer time offset: -412\n";
        let info = AdsInfo::parse(text);
        assert_eq!(info.ldap_server.as_deref(), Some("10.99.1.1"));
        assert_eq!(info.ldap_server_name.as_deref(), Some("dc1.example.test"));
        assert_eq!(info.time_offset, Some(-412));
        assert_eq!(AdsInfo::parse("garbage").time_offset, None);
    }
}
