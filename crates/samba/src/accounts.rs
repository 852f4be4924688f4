//! Unix accounts behind Samba users. On a host: system accounts without a login shell, made with
//! useradd. In sandbox mode: passwd/group files under the sandbox, served to Samba's tools through
//! nss_wrapper, so a sandbox never touches /etc/passwd.

use std::ffi::OsString;
use std::path::PathBuf;

use smbgw_core::{bail_input, Error, Layout, Result};
use smbgw_sys::{fs, Command};

/// GECOS marker of accounts the gateway created (and may therefore delete).
pub const MARKER: &str = "pve-smbgateway user";
const FIRST_SANDBOX_ID: u32 = 20000;
const NSS_WRAPPER: &str = "libnss_wrapper.so";

pub struct Accounts {
    /// The sandbox's account directory; `None` on a host.
    dir: Option<PathBuf>,
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
            None => Ok(nix::unistd::User::from_name(name)
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
            None => Ok(nix::unistd::Group::from_name(name)
                .map_err(|e| Error::system(format!("looking up group '{name}' failed: {e}")))?
                .map(|g| g.gid.as_raw())),
        }
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
                        let id = self.free_id()?;
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
                Command::new("useradd")
                    .args([
                        "--no-create-home",
                        "--user-group",
                        "--shell",
                        "/usr/sbin/nologin",
                        "--comment",
                        MARKER,
                        name,
                    ])
                    .run()?;
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
                    let id = self.free_id()?;
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
                    Command::new("groupadd").arg(group).run()?;
                }
                Command::new("usermod")
                    .args(["--append", "--groups", group, user])
                    .run()
                    .map(|_| ())
            }
        }
    }

    fn free_id(&self) -> Result<u32> {
        let (passwd, group) = self.files().expect("sandbox only");
        let used: std::collections::HashSet<u32> = read_db(&passwd)?
            .iter()
            .chain(read_db(&group)?.iter())
            .flat_map(|f| [f.get(2), f.get(3)])
            .flatten()
            .filter_map(|v| v.parse().ok())
            .collect();
        (FIRST_SANDBOX_ID..60000)
            .find(|id| {
                !used.contains(id)
                    && nix::unistd::User::from_uid((*id).into()).ok().flatten().is_none()
                    && nix::unistd::Group::from_gid((*id).into()).ok().flatten().is_none()
            })
            .ok_or_else(|| Error::system("no free user id left in the sandbox"))
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
