//! Unix accounts behind Samba users. On a host: system accounts without a login shell, made with
//! useradd. In sandbox mode: passwd/group files under the sandbox, served to Samba's tools through
//! nss_wrapper, so a sandbox never touches /etc/passwd.
//!
//! Ids are never reused. A deleted user's uid still owns its files and stands in the shares'
//! ACL entries; a new account given that uid would own them. The gateway therefore picks the
//! ids of the accounts and groups it creates itself, from a high-water mark kept beside the
//! share config (`account-ids`; on PVE in the cluster filesystem, so no node hands out an id
//! another node used), and never goes below it again.

use std::ffi::OsString;
use std::path::PathBuf;

use smbgw_core::{bail_input, Error, Layout, Result};
use smbgw_sys::{fs, Command};

/// GECOS marker of accounts the gateway created (and may therefore delete).
pub const MARKER: &str = "pve-smbgateway user";
const FIRST_SANDBOX_ID: u32 = 20000;
/// Debian's first regular uid/gid, and the first id of the system's upper range.
const FIRST_HOST_ID: u32 = 1000;
const LAST_ID: u32 = 59999;
const NSS_WRAPPER: &str = "libnss_wrapper.so";
/// The high-water mark of ids, in the config directory.
pub const ID_MARK_FILE: &str = "account-ids";

pub struct Accounts {
    /// The sandbox's account directory; `None` on a host.
    dir: Option<PathBuf>,
    /// Where the high-water mark of ids is kept.
    id_mark: PathBuf,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub ours: bool,
}

impl Accounts {
    pub fn new(layout: &Layout) -> Self {
        Self {
            dir: layout.sandbox.as_ref().map(|s| s.root.join("accounts")),
            id_mark: layout.config_dir.join(ID_MARK_FILE),
        }
    }

    fn files(&self) -> Option<(PathBuf, PathBuf)> {
        self.dir.as_ref().map(|d| (d.join("passwd"), d.join("group")))
    }

    /// nss_wrapper environment for Samba's tools in sandbox mode.
    pub fn nss_env(&self) -> Vec<(OsString, OsString)> {
        match self.files() {
            Some((passwd, group)) => vec![
                ("LD_PRELOAD".into(), NSS_WRAPPER.into()),
                ("NSS_WRAPPER_PASSWD".into(), passwd.into()),
                ("NSS_WRAPPER_GROUP".into(), group.into()),
            ],
            None => Vec::new(),
        }
    }

    /// Create the sandbox account files with the accounts Samba itself needs.
    pub fn init(&self) -> Result<()> {
        let Some((passwd, group)) = self.files() else {
            return Ok(());
        };
        if !passwd.exists() {
            fs::create_dir_all(passwd.parent().unwrap(), 0o755)?;
            fs::atomic_write(
                &passwd,
                b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
                0o644,
            )?;
        }
        if !group.exists() {
            fs::atomic_write(&group, b"root:x:0:\nnogroup:x:65534:\n", 0o644)?;
        }
        Ok(())
    }

    pub fn user(&self, name: &str) -> Result<Option<Account>> {
        match self.files() {
            Some((passwd, _)) => Ok(read_db(&passwd)?.into_iter().find(|f| f[0] == name).map(|f| Account {
                name: f[0].clone(),
                uid: f[2].parse().unwrap_or(u32::MAX),
                gid: f[3].parse().unwrap_or(u32::MAX),
                ours: f.get(4).is_some_and(|g| g == MARKER),
            })),
            None => Ok(absent_if_unknown(nix::unistd::User::from_name(name))
                .map_err(|e| Error::system(format!("looking up user '{name}' failed: {e}")))?
                .map(|u| Account {
                    name: u.name,
                    uid: u.uid.as_raw(),
                    gid: u.gid.as_raw(),
                    ours: u.gecos.to_str() == Ok(MARKER),
                })),
        }
    }

    pub fn group_id(&self, name: &str) -> Result<Option<u32>> {
        match self.files() {
            Some((_, group)) => Ok(read_db(&group)?
                .into_iter()
                .find(|f| f[0] == name)
                .and_then(|f| f[2].parse().ok())),
            None => Ok(absent_if_unknown(nix::unistd::Group::from_name(name))
                .map_err(|e| Error::system(format!("looking up group '{name}' failed: {e}")))?
                .map(|g| g.gid.as_raw())),
        }
    }

    /// The members of the local group `name`: those it lists and those whose primary group it
    /// is (from the account files: the sandbox's, or the host's /etc/passwd and /etc/group).
    /// Empty when there is no such group.
    pub fn group_members(&self, name: &str) -> Result<Vec<String>> {
        let (passwd, group) = self
            .files()
            .unwrap_or_else(|| ("/etc/passwd".into(), "/etc/group".into()));
        let Some(row) = read_db(&group)?.into_iter().find(|f| f[0] == name) else {
            return Ok(Vec::new());
        };
        let mut members: Vec<String> = row[3].split(',').filter(|m| !m.is_empty()).map(String::from).collect();
        for user in read_db(&passwd)? {
            if user[3] == row[2] && !members.contains(&user[0]) {
                members.push(user[0].clone());
            }
        }
        Ok(members)
    }

    /// Make sure the unix account exists; returns true if it was created.
    pub fn ensure_user(&self, name: &str) -> Result<bool> {
        if self.user(name)?.is_some() {
            return Ok(false);
        }
        match self.files() {
            Some((passwd, group)) => {
                self.init()?;
                // reuse the host's ids for a name the host knows, so file ownership matches
                let host = nix::unistd::User::from_name(name).ok().flatten();
                let (uid, gid) = match host {
                    Some(u) => (u.uid.as_raw(), u.gid.as_raw()),
                    None => {
                        let id = self.allocate_id()?;
                        (id, id)
                    }
                };
                append(
                    &passwd,
                    &format!("{name}:x:{uid}:{gid}:{MARKER}:/nonexistent:/usr/sbin/nologin\n"),
                )?;
                if !read_db(&group)?.iter().any(|f| f[2] == gid.to_string()) {
                    append(&group, &format!("{name}:x:{gid}:\n"))?;
                }
            }
            None => {
                if self.group_id(name)?.is_some() {
                    bail_input!(
                        "a group named '{name}' exists already, so the user's own group cannot be created; choose another user name or remove the group"
                    );
                }
                // the user's own group first, with the same fresh id, then the user in it
                let id = self.allocate_id()?.to_string();
                Command::new("groupadd").args(["--gid", &id, name]).run()?;
                let added = Command::new("useradd")
                    .args([
                        "--no-create-home",
                        "--uid",
                        &id,
                        "--gid",
                        name,
                        "--shell",
                        "/usr/sbin/nologin",
                        "--comment",
                        MARKER,
                        name,
                    ])
                    .run();
                if let Err(e) = added {
                    let _ = Command::new("groupdel").arg(name).run();
                    return Err(e);
                }
            }
        }
        Ok(true)
    }

    /// Remove a unix account, only if the gateway created it.
    pub fn remove_user(&self, name: &str) -> Result<()> {
        let Some(account) = self.user(name)? else { return Ok(()) };
        if !account.ours {
            return Ok(());
        }
        match self.files() {
            Some((passwd, group)) => {
                rewrite(&passwd, |f| f[0] != name)?;
                rewrite(&group, |f| !(f[0] == name && f[2] == account.gid.to_string()))?;
            }
            None => {
                Command::new("userdel").arg(name).run()?;
            }
        }
        Ok(())
    }

    /// Create `group` if missing and add `user` to it.
    pub fn add_to_group(&self, user: &str, group: &str) -> Result<()> {
        match self.files() {
            Some((_, file)) => {
                if self.group_id(group)?.is_none() {
                    let id = self.allocate_id()?;
                    append(&file, &format!("{group}:x:{id}:\n"))?;
                }
                let db = read_db(&file)?;
                let text: String = db
                    .into_iter()
                    .map(|mut f| {
                        if f[0] == group {
                            let mut members: Vec<&str> = f[3].split(',').filter(|m| !m.is_empty()).collect();
                            if !members.contains(&user) {
                                members.push(user);
                            }
                            f[3] = members.join(",");
                        }
                        f.join(":") + "\n"
                    })
                    .collect();
                fs::atomic_write(&file, text.as_bytes(), 0o644)
            }
            None => {
                if self.group_id(group)?.is_none() {
                    let id = self.allocate_id()?.to_string();
                    Command::new("groupadd").args(["--gid", &id, group]).run()?;
                }
                Command::new("usermod")
                    .args(["--append", "--groups", group, user])
                    .run()
                    .map(|_| ())
            }
        }
    }

    /// The next id the gateway has not handed out before (see the module comment).
    pub fn id_mark(&self) -> Result<Option<u32>> {
        let Some(bytes) = fs::read_optional(&self.id_mark)? else {
            return Ok(None);
        };
        let text = String::from_utf8_lossy(&bytes);
        match text.trim().strip_prefix("next-id ").and_then(|n| n.trim().parse().ok()) {
            Some(id) => Ok(Some(id)),
            None => Err(Error::system(format!(
                "'{}' is corrupt: expected 'next-id NUMBER', found {:?}; restore it or write the highest uid ever used plus one",
                self.id_mark.display(),
                text.trim()
            ))),
        }
    }

    /// A fresh id for a new account and its group, or a new group: at or above the mark, above
    /// every regular id in the account files, and unknown to NSS. The mark moves past it before
    /// the account exists, so even a rolled-back creation never hands the id out twice.
    fn allocate_id(&self) -> Result<u32> {
        let (first, files) = match self.files() {
            Some((passwd, group)) => (FIRST_SANDBOX_ID, [passwd, group]),
            None => (FIRST_HOST_ID, ["/etc/passwd".into(), "/etc/group".into()]),
        };
        let mut used = std::collections::HashSet::new();
        for file in &files {
            for f in read_db(file)? {
                used.extend(
                    [f.get(2), f.get(3)]
                        .into_iter()
                        .flatten()
                        .filter_map(|v| v.parse::<u32>().ok()),
                );
            }
        }
        let above_files = used
            .iter()
            .filter(|id| (first..=LAST_ID).contains(*id))
            .max()
            .map_or(first, |id| id + 1);
        let start = first.max(above_files).max(self.id_mark()?.unwrap_or(0));
        let id = (start..=LAST_ID)
            .find(|id| {
                !used.contains(id)
                    && nix::unistd::User::from_uid((*id).into()).ok().flatten().is_none()
                    && nix::unistd::Group::from_gid((*id).into()).ok().flatten().is_none()
            })
            .ok_or_else(|| {
                Error::system(format!(
                    "no unused user id is left between {start} and {LAST_ID}; ids of deleted users are never reused"
                ))
            })?;
        if let Some(dir) = self.id_mark.parent() {
            fs::create_dir_all(dir, 0o755)?;
        }
        fs::atomic_write(&self.id_mark, format!("next-id {}\n", id + 1).as_bytes(), 0o644)?;
        Ok(id)
    }
}

/// getpwnam_r/getgrnam_r report "no such name" as an error from some NSS modules: winbind's
/// while winbindd is down says ENOENT (getpwnam(3) lists ENOENT, ESRCH, EBADF and EPERM as
/// "not found"). Those are an absent account, not a failed lookup.
fn absent_if_unknown<T>(found: nix::Result<Option<T>>) -> nix::Result<Option<T>> {
    use nix::errno::Errno;
    match found {
        Err(Errno::ENOENT | Errno::ESRCH | Errno::EBADF | Errno::EPERM) => Ok(None),
        other => other,
    }
}

fn read_db(path: &std::path::Path) -> Result<Vec<Vec<String>>> {
    let text = fs::read_optional(path)?.unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let mut rows = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let fields: Vec<String> = line.split(':').map(String::from).collect();
        if fields.len() < 4 {
            bail_input!("account file '{}' has a malformed line: {line:?}", path.display());
        }
        rows.push(fields);
    }
    Ok(rows)
}

fn append(path: &std::path::Path, line: &str) -> Result<()> {
    let mut data = fs::read_optional(path)?.unwrap_or_default();
    data.extend_from_slice(line.as_bytes());
    fs::atomic_write(path, &data, 0o644)
}

fn rewrite(path: &std::path::Path, keep: impl Fn(&[String]) -> bool) -> Result<()> {
    let text: String = read_db(path)?
        .into_iter()
        .filter(|f| keep(f))
        .map(|f| f.join(":") + "\n")
        .collect();
    fs::atomic_write(path, text.as_bytes(), 0o644)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sandbox() -> (tempfile::TempDir, Accounts) {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::sandbox(dir.path(), "127.0.0.1".parse().unwrap(), 1445).unwrap();
        let accounts = Accounts::new(&layout);
        (dir, accounts)
    }

    #[test]
    fn ids_of_deleted_accounts_are_not_handed_out_again() {
        let (_dir, accounts) = sandbox();
        // names no host knows, so the sandbox allocates their ids itself
        let names = ["pvesmbgw-t-a", "pvesmbgw-t-b", "pvesmbgw-t-c"];
        accounts.ensure_user(names[0]).unwrap();
        accounts.ensure_user(names[1]).unwrap();
        let a = accounts.user(names[0]).unwrap().unwrap();
        let b = accounts.user(names[1]).unwrap().unwrap();
        assert!(b.uid > a.uid && a.ours);
        // the newest account goes: its id is the highest, and still the one on its files
        accounts.remove_user(names[1]).unwrap();
        assert!(accounts.user(names[1]).unwrap().is_none());
        accounts.ensure_user(names[2]).unwrap();
        let c = accounts.user(names[2]).unwrap().unwrap();
        assert!(c.uid > b.uid, "{c:?} took an id of deleted {b:?}");
        assert_eq!(c.gid, c.uid);
        // new groups too
        accounts.add_to_group(names[0], "pvesmbgw-t-g").unwrap();
        let g = accounts.group_id("pvesmbgw-t-g").unwrap().unwrap();
        assert!(g > c.uid);
        assert_eq!(accounts.id_mark().unwrap(), Some(g + 1));
    }

    #[test]
    fn a_corrupt_id_mark_is_an_error_not_a_restart_from_zero() {
        let (dir, accounts) = sandbox();
        std::fs::create_dir_all(dir.path().join("config")).unwrap();
        std::fs::write(dir.path().join("config").join(ID_MARK_FILE), "garbage\n").unwrap();
        let err = accounts.ensure_user("pvesmbgw-t-x").unwrap_err();
        assert!(err.message.contains("corrupt"), "{}", err.message);
        assert!(accounts.user("pvesmbgw-t-x").unwrap().is_none());
    }
}
