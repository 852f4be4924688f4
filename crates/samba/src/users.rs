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
/// `smbstatus --json`. Each client connection has its own smbd process; the main smbd never
/// serves a session and is never returned.
pub fn session_pids(samba: &Samba, name: &str, uid: Option<u32>) -> Result<Vec<i32>> {
    let out = samba.tool("smbstatus").args(["--processes", "--json"]).run()?;
    let pids = parse_session_pids(&out.stdout, name, uid)?;
    let main = samba.smbd_pid();
    Ok(pids.into_iter().filter(|p| Some(*p) != main).collect())
}

fn parse_session_pids(json: &str, name: &str, uid: Option<u32>) -> Result<Vec<i32>> {
    let status: serde_json::Value = serde_json::from_str(json).map_err(|e| {
        smbgw_core::Error::external(format!("smbstatus --json printed something that is not JSON: {e}"))
    })?;
    let mut pids: Vec<i32> = status["sessions"]
        .as_object()
        .into_iter()
        .flat_map(|sessions| sessions.values())
        .filter(|s| s["username"].as_str() == Some(name) || (uid.is_some() && s["uid"].as_u64() == uid.map(u64::from)))
        .filter_map(|s| s["server_id"]["pid"].as_str()?.parse().ok())
        .filter(|pid| *pid > 1)
        .collect();
    pids.sort_unstable();
    pids.dedup();
    Ok(pids)
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
        assert_eq!(parse_session_pids(json, "frank", Some(20000)).unwrap(), [300, 302]);
        assert_eq!(parse_session_pids(json, "frank", None).unwrap(), [300]);
        assert!(parse_session_pids(json, "nobody", Some(1)).unwrap().is_empty());
        assert!(parse_session_pids(r#"{"sessions": {}}"#, "frank", None)
            .unwrap()
            .is_empty());
        assert!(parse_session_pids("not json", "frank", None).is_err());
    }
}
