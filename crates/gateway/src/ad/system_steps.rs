//! The plan steps that change the node outside smb.conf while it joins or leaves a domain:
//! krb5.conf (keeping the admin's own copy), the `winbind` source in /etc/nsswitch.conf,
//! winbindd, and the smbd restart a new server role needs.
//!
//! `membership.rs` (join, leave) uses them, and crates/gateway/src/shares.rs starts winbindd
//! again on the way; they are apart so each plan reads as the order of its steps, and the rules for
//! editing system files a Proxmox VE admin may also edit live in one place.

use smbgw_core::ad::AdJoin;
use smbgw_core::plan::{FnStep, RemoveFile, WriteFile};
use smbgw_core::{Plan, Result};
use smbgw_samba::render;
use smbgw_samba::Samba;

use crate::Gateway;

/// Where an admin's own krb5.conf is kept while the node is joined (host only).
const KRB5_BACKUP_SUFFIX: &str = "pve-smbgateway-orig";

impl Gateway {
    /// krb5.conf for `join`, or back to what it was before the join (`None`).
    pub(super) fn krb5_steps(&self, join: Option<&AdJoin>, plan: &mut Plan) -> Result<()> {
        let path = self.samba.krb5_conf();
        let backup = path.with_extension(format!("conf.{KRB5_BACKUP_SUFFIX}"));
        let host = !self.layout.is_sandbox();
        match join {
            Some(join) => {
                if host && !backup.exists() {
                    if let Some(current) = smbgw_sys::fs::read_optional(&path)? {
                        plan.push(WriteFile::new(
                            "copy of the original krb5.conf",
                            &backup,
                            current,
                            0o644,
                        )?);
                    }
                }
                plan.push(WriteFile::new(
                    "krb5.conf",
                    &path,
                    render::krb5_conf(join).into_bytes(),
                    0o644,
                )?);
            }
            None => match smbgw_sys::fs::read_optional(&backup)? {
                Some(original) if host => {
                    plan.push(WriteFile::new("original krb5.conf", &path, original, 0o644)?);
                    if let Some(step) = RemoveFile::new("copy of the original krb5.conf", &backup)? {
                        plan.push(step);
                    }
                }
                _ => {
                    if let Some(step) = RemoveFile::new("krb5.conf", &path)? {
                        plan.push(step);
                    }
                }
            },
        }
        Ok(())
    }

    /// On a host, smbd finds domain users through NSS: `winbind` joins the passwd and group
    /// lines of /etc/nsswitch.conf while the node is a member. (A sandbox loads nss_winbind
    /// through nss_wrapper instead.)
    pub(super) fn nsswitch_steps(&self, member: bool, plan: &mut Plan) -> Result<()> {
        if self.layout.is_sandbox() {
            return Ok(());
        }
        let path = std::path::Path::new(NSSWITCH);
        let Some(current) = smbgw_sys::fs::read_optional(path)? else {
            return Ok(());
        };
        let current = String::from_utf8_lossy(&current);
        let wanted = nsswitch_with_winbind(&current, member);
        if wanted != current {
            plan.push(WriteFile::new("nsswitch.conf", path, wanted.into_bytes(), 0o644)?);
        }
        Ok(())
    }

    pub(crate) fn winbind_steps(&self, start: bool, plan: &mut Plan) {
        let (a, b) = (self.samba.clone(), self.samba.clone());
        if start {
            plan.push(FnStep::new(
                "start winbindd",
                move || a.start_winbind(),
                move || b.stop_winbind(),
            ));
        } else {
            plan.push(FnStep::new(
                "stop winbindd",
                move || a.stop_winbind(),
                move || b.start_winbind(),
            ));
        }
    }

    /// The domain's administrators get (or, leaving, lose) SeDiskOperatorPrivilege on this
    /// node, which Windows' share and Security tab editors ask of whoever manages a share
    /// (`--acl-mode windows`). `net sam rights` writes the node's own privilege database as
    /// root, so no domain password is involved; it needs winbindd to resolve the name.
    pub(super) fn privilege_step(&self, workgroup: &str, grant: bool, plan: &mut Plan) {
        let group = format!("{workgroup}\\{}", super::ADMINISTRATORS);
        let rights = |samba: &Samba, group: &str, verb: &str| -> Result<()> {
            samba
                .tool("net")
                .args(["sam", "rights", verb, group, PRIVILEGE])
                .run()
                .map(|_| ())
        };
        let (a, b) = (self.samba.clone(), self.samba.clone());
        let (g1, g2) = (group.clone(), group.clone());
        let (on, off) = if grant {
            ("grant", "revoke")
        } else {
            ("revoke", "grant")
        };
        plan.push(FnStep::new(
            format!(
                "{on} {PRIVILEGE} {} {group} (net sam rights {on})",
                if grant { "to" } else { "from" }
            ),
            move || rights(&a, &g1, on),
            move || rights(&b, &g2, off),
        ));
    }

    /// smbd takes a new server role only on a restart (a reload keeps the old one).
    pub(super) fn restart_smbd_step(&self, plan: &mut Plan) {
        let (a, b) = (self.samba.clone(), self.samba.clone());
        let restart = |s: &Samba| -> Result<()> {
            if s.layout.is_sandbox() {
                if s.smbd_pid().is_some() {
                    s.stop()?;
                }
                s.start()
            } else {
                smbgw_sys::systemd::restart_unit("smbd.service")
            }
        };
        plan.push(FnStep::new(
            "restart smbd in its new role",
            move || restart(&a),
            move || restart(&b),
        ));
    }
}

const NSSWITCH: &str = "/etc/nsswitch.conf";

/// What Windows asks of whoever edits a share's permissions (Samba's "shares with Windows ACLs").
const PRIVILEGE: &str = "SeDiskOperatorPrivilege";

/// nsswitch.conf with `winbind` added to (or removed from) the passwd and group sources.
fn nsswitch_with_winbind(text: &str, winbind: bool) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for line in text.split_inclusive('\n') {
        let (body, newline) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        let database = body.split(':').next().unwrap_or("").trim();
        if !matches!(database, "passwd" | "group") || body.trim_start().starts_with('#') {
            out.push_str(line);
            continue;
        }
        let (head, sources) = body.split_once(':').unwrap_or((body, ""));
        let mut list: Vec<&str> = sources.split_whitespace().filter(|s| *s != "winbind").collect();
        if winbind {
            list.push("winbind");
        }
        // keep the file's alignment: the whitespace before the first source
        let indent = &sources[..sources.len() - sources.trim_start().len()];
        let indent = if indent.is_empty() { " " } else { indent };
        out.push_str(&format!("{head}:{indent}{}{newline}", list.join(" ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nsswitch_gets_winbind_and_loses_it_again() {
        let pve = "# comment passwd: x\npasswd:         files systemd\ngroup:          files systemd\nshadow:         files\nhosts:          files dns\n";
        let member = nsswitch_with_winbind(pve, true);
        assert!(member.contains("passwd:         files systemd winbind\n"), "{member}");
        assert!(member.contains("group:          files systemd winbind\n"), "{member}");
        assert!(member.contains("shadow:         files\n"), "{member}");
        assert!(member.starts_with("# comment passwd: x\n"), "{member}");
        assert_eq!(nsswitch_with_winbind(&member, true), member, "idempotent");
        assert_eq!(nsswitch_with_winbind(&member, false), pve);
    }
}
