//! Samba's password database (tdbsam). Passwords travel on smbpasswd's stdin only.

use serde::Serialize;
use smbgw_core::{bail_input, Result};

use crate::Samba;

#[derive(Clone, Debug, Serialize)]
pub struct SambaUser {
    pub name: String,
    pub uid: u32,
}

/// A password must survive the trip over stdin: one line, no NUL, sane length.
pub fn check_password(password: &str) -> Result<()> {
    if password.is_empty() {
        bail_input!("the password is empty");
    }
    if password.chars().any(|c| matches!(c, '\n' | '\r' | '\0')) {
        bail_input!("the password contains a line break or NUL character, which is not allowed");
    }
    if password.chars().count() > 127 {
        bail_input!("the password is longer than 127 characters");
    }
    Ok(())
}

/// Add the user to passdb, or change its password.
pub fn set_password(samba: &Samba, name: &str, password: &str) -> Result<()> {
    check_password(password)?;
    samba
        .tool("smbpasswd")
        .args(["-s", "-a", name])
        .stdin(format!("{password}\n{password}\n"))
        .run()
        .map_err(|e| e.context(format!("setting the Samba password of '{name}'")))?;
    Ok(())
}

pub fn delete(samba: &Samba, name: &str) -> Result<()> {
    samba.tool("smbpasswd").args(["-x", name]).run()?;
    Ok(())
}

pub fn list(samba: &Samba) -> Result<Vec<SambaUser>> {
    if samba.layout.sandbox.is_some() && !samba.layout.smb_conf.exists() {
        return Ok(Vec::new());
    }
    let out = samba.tool("pdbedit").arg("-L").run()?;
    let mut users: Vec<SambaUser> = out
        .stdout
        .lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            Some(SambaUser {
                name: f.next()?.to_string(),
                uid: f.next()?.parse().ok()?,
            })
        })
        .collect();
    users.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(users)
}

pub fn exists(samba: &Samba, name: &str) -> Result<bool> {
    Ok(list(samba)?.iter().any(|u| u.name == name))
}

/// The smbd processes serving sessions of the user `name` (or of its `uid`), from
/// `smbstatus --json` (status.rs). Each client connection has its own smbd process; the main
/// smbd never serves a session and is never returned.
pub fn session_pids(samba: &Samba, name: &str, uid: Option<u32>) -> Result<Vec<i32>> {
    let pids = pids_of(&crate::status::read(samba)?, name, uid);
    let main = samba.smbd_pid();
    Ok(pids.into_iter().filter(|p| Some(*p) != main).collect())
}

fn pids_of(status: &crate::status::SmbStatus, name: &str, uid: Option<u32>) -> Vec<i32> {
    let mut pids: Vec<i32> = status
        .sessions
        .iter()
        .filter(|s| s.user == name || (uid.is_some() && s.uid == uid))
        .map(|s| s.pid)
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// End the client connections served by the smbd processes `pids` (Samba's MSG_SHUTDOWN to
/// that one process: `smbcontrol PID shutdown`). Finer than `smbcontrol smbd kill-client-ip`,
/// which would end every connection from the same address (a terminal server, a NAT). A
/// connection that ended meanwhile is not an error.
pub fn close_connections(samba: &Samba, pids: &[i32]) -> Result<()> {
    for pid in pids {
        if let Err(e) = samba.tool("smbcontrol").args([&pid.to_string(), "shutdown"]).run() {
            if nix::sys::signal::kill(nix::unistd::Pid::from_raw(*pid), None).is_ok() {
                return Err(e.context(format!("ending the SMB connection served by smbd process {pid}")));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_by_name_or_uid() {
        let json = r#"{"sessions": {
            "1": {"server_id": {"pid": "300"}, "uid": 20000, "username": "frank"},
            "2": {"server_id": {"pid": "301"}, "uid": 20001, "username": "grace"},
            "3": {"server_id": {"pid": "302"}, "uid": 20000, "username": "SANDBOX\\frank"},
            "4": {"server_id": {"pid": "300"}, "uid": 20000, "username": "frank"}
        }, "tcons": {}, "open_files": {}}"#;
        let status = crate::status::parse(json).unwrap();
        assert_eq!(pids_of(&status, "frank", Some(20000)), [300, 302]);
        assert_eq!(pids_of(&status, "frank", None), [300]);
        assert!(pids_of(&status, "nobody", Some(1)).is_empty());
        assert!(pids_of(&crate::status::parse(r#"{"sessions": {}}"#).unwrap(), "frank", None).is_empty());
    }
}
