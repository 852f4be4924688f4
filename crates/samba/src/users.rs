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
