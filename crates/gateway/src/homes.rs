//! The home folders of a home share (`Share::homes`): one directory per user under the share's
//! path, named after the account (smbd serves `PATH/%u`, see `smbgw_samba::render`), owned by
//! the user with mode 0700 and no ACL entries, so nobody else of the share can enter it. On
//! btrfs each home is its own subvolume, so `--home-quota` is its qgroup limit, set and
//! changed like a share's quota (`storage`); other filesystems cannot hold a per-folder limit
//! the way the gateway sets one, so a home quota is refused there with the reason.
//!
//! The users are the share's users and the members of its groups who are Samba users. Homes
//! are planned with every share operation that plans the share's storage (create, update,
//! apply), so a user added to the share gets a home with that change; a user taken off keeps
//! the home (it holds their data) and `homes` lists it as no longer served. Every change goes
//! through handles opened without following links from the share's root (`smbgw_sys::safe_fs`):
//! a link someone put where a home belongs is never followed, and the plan is refused.
//!
//! A home is made complete (owner, mode, no ACL, limit) under a temporary name (`TEMP_PREFIX`)
//! and then renamed to its user's name in one step, so a crash never leaves a half-made home
//! where the user's belongs. The next plan removes such a leftover while it is empty, and takes
//! over the empty root-only home an interrupted create of older versions left (`adoptable`).

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use serde::Serialize;
use smbgw_core::digest::Digested;
use smbgw_core::plan::FnStep;
use smbgw_core::size::format_size;
use smbgw_core::{bail_field, validate, Error, Plan, QuotaBackend, Result, Share, Step};
use smbgw_quota::backend::{self, QuotaFacts, Volume};
use smbgw_quota::btrfs;
use smbgw_samba::Samba;
use smbgw_sys::posix_acl::AclKind;
use smbgw_sys::safe_fs::{Dir, Stat};

use crate::Gateway;

/// A home folder's mode: its owner only.
const HOME_MODE: u32 = 0o700;

/// The prefix of the name a home is made under before it is renamed to its user's. It starts
/// with a dot, which no account name does (`validate::account_name`), so it never meets a home.
const TEMP_PREFIX: &str = ".smbgw-new-home.";

/// The temporary name of `user`'s home while it is made.
fn temp_name(user: &str) -> OsString {
    OsString::from(format!("{TEMP_PREFIX}{user}"))
}

/// The root directory of every btrfs subvolume has this inode number.
const SUBVOLUME_ROOT_INODE: u64 = 256;

/// A home folder as `show` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Home {
    /// The folder's name: the account it belongs to.
    pub name: String,
    pub path: String,
    pub uid: u32,
    /// Still one of the share's users; `false`: kept for its data, no longer served.
    pub served: bool,
    /// The folder's own limit in bytes (btrfs qgroup), if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

/// A share as `show` gives it: its configuration with the digest, and a home share's folders
/// (those kept for users no longer served among them).
#[derive(Debug, Serialize)]
pub struct Shown {
    #[serde(flatten)]
    pub share: Digested<Share>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub homes: Vec<Home>,
}

/// An account that gets a home.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Owner {
    name: String,
    uid: u32,
    gid: u32,
}

/// The accounts with a home on `share`: its users, and the members of its groups who are
/// Samba users (an account without a Samba password cannot connect), each once, by name.
fn owners(share: &Share, samba: &Samba) -> Result<Vec<Owner>> {
    let accounts = samba.accounts();
    let known: Vec<String> = smbgw_samba::users::list(samba)?.into_iter().map(|u| u.name).collect();
    let mut names: Vec<String> = share
        .users
        .iter()
        .filter(|u| validate::principal_domain(u).is_none())
        .cloned()
        .collect();
    for group in share.groups.iter().filter(|g| validate::principal_domain(g).is_none()) {
        if accounts.group_id(group)?.is_none() {
            bail_field!(
                "groups",
                "group '{group}' does not exist, so its members' home folders cannot be made; create it, or add a user to it with 'pve-smbgateway user add NAME --groups {group}'"
            );
        }
        names.extend(accounts.group_members(group)?.into_iter().filter(|m| known.contains(m)));
    }
    names.sort();
    names.dedup();
    let mut owners = Vec::new();
    for name in names {
        match accounts.user(&name)? {
            Some(a) => owners.push(Owner {
                name,
                uid: a.uid,
                gid: a.gid,
            }),
            None => bail_field!(
                "users",
                "user '{name}' does not exist, so no home folder can be made for it; add it first with 'pve-smbgateway user add {name}'"
            ),
        }
    }
    Ok(owners)
}

/// Whether the share's homes are btrfs subvolumes: the filesystem under its path is btrfs.
fn on_btrfs(share: &Share) -> Result<bool> {
    let probe = smbgw_quota::existing_ancestor(Path::new(&share.path));
    Ok(smbgw_quota::detect(&probe)? == Some(QuotaBackend::Btrfs))
}

impl Gateway {
    /// The steps that give every user of a home share its home folder and bring each home's
    /// limit to `--home-quota` (`previous`: the share before this change, whose limit is
    /// lifted when the quota is taken off). Nothing for other shares.
    pub(crate) fn home_steps(&self, share: &Share, previous: Option<&Share>, plan: &mut Plan) -> Result<()> {
        if !share.homes {
            return Ok(());
        }
        let btrfs = on_btrfs(share)?;
        if let Some(limit) = share.home_quota.filter(|_| !btrfs) {
            let backend = smbgw_quota::detect(&smbgw_quota::existing_ancestor(Path::new(&share.path)))?;
            let hint = match backend {
                Some(QuotaBackend::Zfs) => {
                    " (on ZFS, limit each user with --user-quotas NAME=SIZE: userquota@ counts what they store in the share, which is their home)"
                }
                _ => "",
            };
            bail_field!(
                "home-quota",
                "share '{}': --home-quota {} cannot be enforced on {}: a per-home limit needs each home to be its own btrfs subvolume{hint}",
                share.name,
                format_size(limit),
                backend.map_or("this filesystem".to_string(), |b| format!("'{b}'"))
            );
        }
        if btrfs && share.quota.is_some() {
            bail_field!(
                "quota",
                "share '{}': on btrfs each home is its own subvolume, which the share's qgroup does not count, so --quota would limit nothing; limit each home with --home-quota",
                share.name
            );
        }
        let root_path = PathBuf::from(&share.path);
        let root = Dir::open_optional(&root_path)?;
        if let Some(dir) = &root {
            self.warn_open_root(dir)?;
        }
        let facts = QuotaFacts::default();
        let limit = share.home_quota;
        let had_limit = previous.and_then(|p| p.home_quota).is_some();
        if btrfs && limit.is_some() {
            if let Some(imp) = backend::of(QuotaBackend::Btrfs) {
                let volume = Volume::new(QuotaBackend::Btrfs, &root_path, None).expect("btrfs volumes have no dataset");
                imp.limit_prerequisites(&volume, limit, &facts, plan)?;
            }
        }
        if let Some(dir) = &root {
            self.leftover_steps(dir, btrfs, plan)?;
        }
        for owner in owners(share, &self.samba)? {
            let name = OsString::from(&owner.name);
            let path = root_path.join(&owner.name);
            let existing = match &root {
                Some(dir) => dir.stat_child(&name)?,
                None => None,
            };
            let Some(st) = existing else {
                plan.push(CreateHome {
                    root: root_path.clone(),
                    owner,
                    subvolume: btrfs,
                    limit,
                    created: None,
                });
                continue;
            };
            let dir = root.as_ref().expect("the entry was found in the root");
            if adoptable(dir, &name, &owner, &st)? {
                plan.push(AdoptHome {
                    root: root_path.clone(),
                    owner,
                    identity: st.identity(),
                    adopted: false,
                });
            } else {
                check_existing(&path, &owner, &st)?;
            }
            if btrfs && (limit.is_some() || had_limit) {
                self.home_limit_step(share, &path, limit, &facts, plan)?;
            }
        }
        Ok(())
    }

    /// A root that others may write in (an existing directory the admin chose) lets a user
    /// rename another's home away and put their own in its place; one that others cannot pass
    /// keeps everyone out of their home. Neither is changed behind the admin's back: said.
    fn warn_open_root(&self, root: &Dir) -> Result<()> {
        let st = root.stat()?;
        let path = root.path().display();
        if st.uid != 0 || st.mode & 0o022 != 0 {
            self.warn(format!(
                "{path} (the home share's root) is writable by others than root (owner uid {}, mode {:04o}): a user could move another's home folder; run 'chown root: {path}; chmod 0711 {path}'",
                st.uid,
                st.mode & 0o7777
            ));
        }
        if st.mode & 0o001 == 0 {
            self.warn(format!(
                "{path} (the home share's root) cannot be passed by the users (mode {:04o}), so nobody reaches their home folder; run 'chmod o+x {path}'",
                st.mode & 0o7777
            ));
        }
        Ok(())
    }

    /// Steps that remove what an interrupted create left under a temporary name (nobody's
    /// home: it was never renamed into place). One that holds data is left, with a warning.
    fn leftover_steps(&self, root: &Dir, btrfs: bool, plan: &mut Plan) -> Result<()> {
        for (entry, _) in root.entries()? {
            if !entry.to_string_lossy().starts_with(TEMP_PREFIX) {
                continue;
            }
            let path = root.path().join(&entry);
            let Some(st) = root.stat_child(&entry)?.filter(Stat::is_dir) else {
                self.warn(format!(
                    "{} is not a directory the gateway made (a link or a file under its temporary home name); left as it is",
                    path.display()
                ));
                continue;
            };
            if !root.open_child(&entry)?.names()?.is_empty() {
                self.warn(format!(
                    "{} was left by an interrupted home create but holds data now; left as it is: move what it holds into the home, then remove it",
                    path.display()
                ));
                continue;
            }
            let (root_path, identity) = (root.path().to_path_buf(), st.identity());
            let subvolume = btrfs && st.ino == SUBVOLUME_ROOT_INODE;
            plan.push(FnStep::irreversible(
                format!("remove {}, an empty home left by an interrupted create", path.display()),
                move || remove_empty_home(&Dir::open(&root_path)?, &entry, identity, subvolume),
            ));
        }
        Ok(())
    }

    /// Set an existing home's limit where btrfs enforces another one.
    fn home_limit_step(
        &self,
        share: &Share,
        path: &Path,
        limit: Option<u64>,
        facts: &QuotaFacts,
        plan: &mut Plan,
    ) -> Result<()> {
        if !btrfs::is_subvolume(path) {
            if limit.is_none() {
                return Ok(()); // nothing to lift on a plain folder
            }
            bail_field!(
                "home-quota",
                "share '{}': {} is a plain folder, not a btrfs subvolume, so it cannot have its own limit; move its data into a new folder the gateway creates (rename it away and run 'pve-smbgateway apply')",
                share.name,
                path.display()
            );
        }
        let volume = Volume::new(QuotaBackend::Btrfs, path, None).expect("btrfs volumes have no dataset");
        let imp = volume.backend();
        let current = match imp.limits_active(&volume, facts)? {
            true => imp.planned_usage(&volume, facts)?,
            false => smbgw_quota::Usage { used: 0, limit: None },
        };
        if current.limit == limit {
            return Ok(());
        }
        if let Some(l) = limit.filter(|l| current.used > *l) {
            bail_field!(
                "home-quota",
                "share '{}': the home {} already stores {}, more than --home-quota {}; free space first or choose a larger limit",
                share.name,
                path.display(),
                format_size(current.used),
                format_size(l)
            );
        }
        let (apply, undo, previous) = (volume.clone(), volume.clone(), current.limit);
        plan.push(FnStep::new(
            volume.describe_limit(limit),
            move || apply.set_limit(limit),
            move || undo.set_limit(previous),
        ));
        Ok(())
    }

    /// `show` with the share's home folders (none for other shares).
    pub fn show_with_homes(&self, name: &str) -> Result<Shown> {
        let share = self.show(name)?;
        let homes = self.homes_of(&share)?;
        Ok(Shown { share, homes })
    }

    /// The home folders of a home share on this node: every directory in its path, whether
    /// its account is still served, and its limit.
    fn homes_of(&self, share: &Share) -> Result<Vec<Home>> {
        if !share.homes {
            return Ok(Vec::new());
        }
        let Some(root) = Dir::open_optional(Path::new(&share.path))? else {
            return Ok(Vec::new());
        };
        let served: Vec<String> = owners(share, &self.samba)?.into_iter().map(|o| o.name).collect();
        let mut homes = Vec::new();
        for (entry, _) in root.entries()? {
            let name = entry.to_string_lossy().into_owned();
            // no account has such a name: the gateway's own entries (`.snapshots`, a home being
            // made) and others' (`lost+found`) are no homes
            if validate::account_name("home", &name).is_err() {
                continue;
            }
            let Some(st) = root.stat_child(&entry)?.filter(Stat::is_dir) else {
                continue;
            };
            let path = root.path().join(&entry);
            let limit = match btrfs::is_subvolume(&path) {
                true => btrfs::usage(&path).ok().and_then(|u| u.limit),
                false => None,
            };
            homes.push(Home {
                served: served.contains(&name),
                name,
                path: path.display().to_string(),
                uid: st.uid,
                limit,
            });
        }
        homes.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(homes)
    }
}

impl Gateway {
    /// A new Samba user who is (or becomes, `groups`) a member of a home share's group gets
    /// the home with the same operation. The account may not exist yet while this is planned,
    /// so the home is decided when the step runs, after the account steps.
    pub(crate) fn new_member_home_steps(
        &self,
        user: &str,
        groups: &[String],
        cfg: &smbgw_core::store::SharesConfig,
        plan: &mut Plan,
    ) -> Result<()> {
        let accounts = self.samba.accounts();
        for share in cfg.shares().iter().filter(|s| s.homes) {
            let mut member = false;
            for group in &share.groups {
                member |= groups.contains(group) || accounts.group_members(group)?.iter().any(|m| m == user);
            }
            if !member || share.users.iter().any(|u| u == user) {
                continue;
            }
            plan.push(MemberHome {
                samba: self.samba.clone(),
                root: PathBuf::from(&share.path),
                user: user.to_string(),
                subvolume: on_btrfs(share)?,
                limit: share.home_quota,
                created: None,
                adopted: None,
            });
        }
        Ok(())
    }
}

/// The home of a user whose account is made by the same plan (`new_member_home_steps`).
struct MemberHome {
    samba: Samba,
    root: PathBuf,
    user: String,
    subvolume: bool,
    limit: Option<u64>,
    created: Option<CreateHome>,
    adopted: Option<AdoptHome>,
}

impl Step for MemberHome {
    fn describe(&self) -> String {
        let kind = if self.subvolume { "btrfs subvolume" } else { "folder" };
        format!(
            "create the home {kind} {} of '{}' (mode 0700), a member of the home share's groups",
            self.root.join(&self.user).display(),
            self.user
        )
    }

    fn apply(&mut self) -> Result<()> {
        let Some(account) = self.samba.accounts().user(&self.user)? else {
            return Err(Error::system(format!("the account '{}' was not made", self.user)));
        };
        let owner = Owner {
            name: self.user.clone(),
            uid: account.uid,
            gid: account.gid,
        };
        let root = Dir::open(&self.root)?;
        if let Some(st) = root.stat_child(OsStr::new(&self.user))? {
            if adoptable(&root, OsStr::new(&self.user), &owner, &st)? {
                let mut step = AdoptHome {
                    root: self.root.clone(),
                    owner,
                    identity: st.identity(),
                    adopted: false,
                };
                let result = step.apply();
                self.adopted = Some(step);
                return result;
            }
            // an earlier home of this account: kept as it is
            return check_existing(&self.root.join(&self.user), &owner, &st);
        }
        let mut step = CreateHome {
            root: self.root.clone(),
            owner,
            subvolume: self.subvolume,
            limit: self.limit,
            created: None,
        };
        let result = step.apply();
        self.created = Some(step);
        result
    }

    fn undo(&mut self) -> Result<()> {
        if let Some(step) = &mut self.adopted {
            step.undo()?;
        }
        match &mut self.created {
            Some(step) => step.undo(),
            None => Ok(()),
        }
    }
}

/// An existing entry where `owner`'s home belongs must be a directory of theirs: a link is
/// never followed, and a folder of another account is not handed over.
fn check_existing(path: &Path, owner: &Owner, st: &Stat) -> Result<()> {
    if st.is_symlink() {
        return Err(Error::system(format!(
            "{} is a symbolic link where the home folder of '{}' belongs; the gateway does not follow it: remove it and run 'pve-smbgateway apply' to create the home",
            path.display(),
            owner.name
        )));
    }
    if !st.is_dir() {
        return Err(Error::system(format!(
            "{} is not a directory, so it cannot be the home folder of '{}': move it away and run 'pve-smbgateway apply'",
            path.display(),
            owner.name
        )));
    }
    if st.uid != owner.uid {
        return Err(Error::system(format!(
            "{} belongs to uid {}, not to '{}' (uid {}): an earlier account of that name? Move it away (or chown it) and run 'pve-smbgateway apply'",
            path.display(),
            st.uid,
            owner.name,
            owner.uid
        )));
    }
    Ok(())
}

/// Whether the existing `name` is the home an interrupted create of the gateway left before
/// homes were made under a temporary name: a directory of root's with exactly the home mode,
/// and empty. Only root can have put anything in such a folder, so handing it to its user
/// gives nobody's data away, while refusing it would leave the admin to do by hand what the
/// gateway does. A root-owned folder with another mode or with content was made by someone
/// on purpose and stays refused (`check_existing`).
fn adoptable(root: &Dir, name: &OsStr, owner: &Owner, st: &Stat) -> Result<bool> {
    if !st.is_dir() || st.uid != 0 || owner.uid == 0 || st.mode & 0o7777 != HOME_MODE {
        return Ok(false);
    }
    let home = root.open_child(name)?;
    Ok(home.stat()?.identity() == st.identity() && home.names()?.is_empty())
}

/// Give an empty root-only home (`adoptable`) to its user, as if it had just been made.
struct AdoptHome {
    root: PathBuf,
    owner: Owner,
    /// (device, inode) of the folder checked when planning.
    identity: (u64, u64),
    adopted: bool,
}

impl AdoptHome {
    /// The folder, if it still is the one checked, still root's, empty, with the home mode.
    fn open(&self, uid: u32) -> Result<Dir> {
        let root = Dir::open(&self.root)?;
        let home = root.open_child(OsStr::new(&self.owner.name))?;
        let st = home.stat()?;
        if st.identity() != self.identity || st.uid != uid || st.mode & 0o7777 != HOME_MODE || !home.names()?.is_empty()
        {
            return Err(Error::system(format!(
                "{} changed since it was checked; not touching it",
                home.path().display()
            )));
        }
        Ok(home)
    }
}

impl Step for AdoptHome {
    fn describe(&self) -> String {
        format!(
            "give {} (empty, root's, left by an interrupted home create) to '{}' (uid {}) as their home",
            self.root.join(&self.owner.name).display(),
            self.owner.name,
            self.owner.uid
        )
    }

    fn apply(&mut self) -> Result<()> {
        let home = self.open(0)?;
        make_private(&home, &self.owner)?;
        self.adopted = true;
        Ok(())
    }

    fn undo(&mut self) -> Result<()> {
        if !self.adopted {
            return Ok(());
        }
        let home = self.open(self.owner.uid)?;
        home.chown(Some(0), Some(0))
    }
}

/// Make `home` its owner's alone: no ACL entries (a default ACL on the root would have let
/// the share's other users in), owned by them, mode 0700.
fn make_private(home: &Dir, owner: &Owner) -> Result<()> {
    home.remove_acl(AclKind::Default)?;
    home.remove_acl(AclKind::Access)?;
    home.chown(Some(owner.uid), Some(owner.gid))?;
    home.chmod(HOME_MODE)
}

/// Remove the home `name` in `root` if it still is the one with `identity` and empty. It is
/// taken back from its user first (root's, 0700), so nothing can be written into it between
/// the check and the removal (a subvolume is deleted with whatever it holds); one that holds
/// data is handed back and left, and the error says so.
fn remove_empty_home(root: &Dir, name: &OsStr, identity: (u64, u64), subvolume: bool) -> Result<()> {
    let Some(home) = root.open_child_optional(name)? else {
        return Ok(());
    };
    let path = home.path().to_path_buf();
    let st = home.stat()?;
    if st.identity() != identity {
        return Err(Error::system(format!(
            "{} is no longer the folder the gateway made; left as it is",
            path.display()
        )));
    }
    home.chown(Some(0), Some(0))?;
    home.chmod(0o700)?;
    if !home.names()?.is_empty() {
        home.chown(Some(st.uid), Some(st.gid))?;
        home.chmod(st.mode & 0o7777)?;
        return Err(Error::system(format!(
            "{} is no longer empty (its user stored data in it), so it is left in place with that data; remove it by hand if the data is not wanted",
            path.display()
        )));
    }
    drop(home);
    match subvolume {
        true => btrfs::delete_subvolume_in(root, name, Some(identity)),
        false => root.remove_empty_child(name, identity).map(|_| ()),
    }
}

/// renameat2(RENAME_NOREPLACE) of `from` to `to`, both in `root`: an entry at `to` is never
/// replaced.
fn rename_noreplace(root: &Dir, from: &OsStr, to: &OsStr) -> Result<()> {
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    let c = |s: &OsStr| std::ffi::CString::new(s.as_bytes()).map_err(|_| Error::input("a name holds a NUL byte"));
    let (a, b) = (c(from)?, c(to)?);
    let fd = root.fd().as_raw_fd();
    // SAFETY: both names are NUL-terminated and the handle is open
    if unsafe { libc::renameat2(fd, a.as_ptr(), fd, b.as_ptr(), libc::RENAME_NOREPLACE) } != 0 {
        return Err(Error::system(format!(
            "renaming {} to {} failed: {}",
            root.path().join(from).display(),
            root.path().join(to).display(),
            std::io::Error::last_os_error()
        )));
    }
    Ok(())
}

/// Create one home folder: a directory (or btrfs subvolume) made under its temporary name in
/// the share root's handle, made its owner's and limited, then renamed to the user's name
/// without replacing anything there. Undo removes it only while it is the folder this step
/// made and still empty.
struct CreateHome {
    root: PathBuf,
    owner: Owner,
    subvolume: bool,
    limit: Option<u64>,
    /// (device, inode) of the home this step made and renamed into place.
    created: Option<(u64, u64)>,
}

impl CreateHome {
    fn name(&self) -> &OsStr {
        OsStr::new(&self.owner.name)
    }

    /// Make the home under `temp` complete and rename it into place.
    fn finish(&self, root: &Dir, home: &Dir, temp: &OsStr) -> Result<()> {
        make_private(home, &self.owner)?;
        if let Some(limit) = self.limit {
            // resolved again without following links, under the root only root may write in
            btrfs::set_limit(&self.root.join(temp), Some(limit))?;
        }
        rename_noreplace(root, temp, self.name())
    }
}

impl Step for CreateHome {
    fn describe(&self) -> String {
        let kind = if self.subvolume { "btrfs subvolume" } else { "folder" };
        let limit = match self.limit {
            Some(l) => format!(", limited to {}", format_size(l)),
            None => String::new(),
        };
        format!(
            "create the home {kind} {} of '{}' (uid {}, mode 0700{limit})",
            self.root.join(&self.owner.name).display(),
            self.owner.name,
            self.owner.uid
        )
    }

    fn apply(&mut self) -> Result<()> {
        let root = Dir::open(&self.root)?;
        let temp = temp_name(&self.owner.name);
        // what an interrupted create of this home left, if the plan did not remove it yet
        if let Some(st) = root.stat_child(&temp)?.filter(Stat::is_dir) {
            let subvolume = self.subvolume && st.ino == SUBVOLUME_ROOT_INODE;
            remove_empty_home(&root, &temp, st.identity(), subvolume)?;
        }
        // created in the handle: an entry that appeared since the plan is never taken over
        let home = match self.subvolume {
            true => btrfs::create_subvolume_in(&root, &temp, HOME_MODE)?,
            false => root.mkdir_child(&temp, HOME_MODE)?,
        };
        let identity = home.stat()?.identity();
        if let Err(e) = self.finish(&root, &home, &temp) {
            drop(home);
            return Err(match remove_empty_home(&root, &temp, identity, self.subvolume) {
                Ok(()) => e,
                Err(left) => Error {
                    message: format!("{}; {left}", e.message),
                    ..e
                },
            });
        }
        self.created = Some(identity);
        Ok(())
    }

    fn undo(&mut self) -> Result<()> {
        let Some(identity) = self.created else {
            return Ok(());
        };
        let root = Dir::open(&self.root)?;
        remove_empty_home(&root, self.name(), identity, self.subvolume)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::process::Command;

    fn run(program: &str, args: &[&str]) -> String {
        let out = Command::new(program).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{program} {args:?}: {stderr}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A small btrfs on a loop device (these tests run as root), gone when dropped.
    struct LoopBtrfs {
        _dir: tempfile::TempDir,
        mount: PathBuf,
        device: String,
    }

    impl LoopBtrfs {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let image = dir.path().join("btrfs.img");
            let mount = dir.path().join("mnt");
            std::fs::create_dir(&mount).unwrap();
            run("truncate", &["-s", "256M", image.to_str().unwrap()]);
            let device = run("losetup", &["--find", "--show", image.to_str().unwrap()])
                .trim()
                .to_string();
            run("mkfs.btrfs", &["-q", "-f", &device]);
            run("mount", &[&device, mount.to_str().unwrap()]);
            LoopBtrfs {
                _dir: dir,
                mount,
                device,
            }
        }
    }

    impl Drop for LoopBtrfs {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg("-l").arg(&self.mount).status();
            let _ = Command::new("losetup").arg("-d").arg(&self.device).status();
        }
    }

    fn step(root: &Path, name: &str, subvolume: bool) -> CreateHome {
        CreateHome {
            root: root.to_path_buf(),
            owner: Owner {
                name: name.to_string(),
                uid: 65534,
                gid: 65534,
            },
            subvolume,
            limit: None,
            created: None,
        }
    }

    fn root_in(fs: &LoopBtrfs) -> PathBuf {
        let root = fs.mount.join("homes");
        std::fs::create_dir(&root).unwrap();
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o711)).unwrap();
        root
    }

    #[test]
    fn undo_leaves_a_home_its_user_wrote_in() {
        let fs = LoopBtrfs::new();
        let root = root_in(&fs);
        for (name, subvolume) in [("sub", true), ("plain", false)] {
            let mut create = step(&root, name, subvolume);
            create.apply().unwrap();
            let home = root.join(name);
            let meta = std::fs::symlink_metadata(&home).unwrap();
            assert_eq!((meta.uid(), meta.mode() & 0o7777), (65534, 0o700), "{name}");
            assert_eq!(meta.ino() == SUBVOLUME_ROOT_INODE, subvolume, "{name}");
            assert!(!root.join(temp_name(name)).exists(), "{name}: renamed into place");

            // the user stored something before the plan was rolled back: it stays, theirs
            std::fs::write(home.join("data"), b"the user's").unwrap();
            let err = create.undo().unwrap_err();
            assert!(err.message.contains("no longer empty"), "{name}: {err}");
            assert_eq!(std::fs::read(home.join("data")).unwrap(), b"the user's", "{name}");
            let meta = std::fs::symlink_metadata(&home).unwrap();
            assert_eq!(
                (meta.uid(), meta.mode() & 0o7777),
                (65534, 0o700),
                "{name}: handed back"
            );

            // emptied, the undo removes it
            std::fs::remove_file(home.join("data")).unwrap();
            create.undo().unwrap();
            assert!(!home.exists(), "{name}");
        }
    }

    #[test]
    fn a_home_is_renamed_into_place_without_replacing_what_appeared_there() {
        let fs = LoopBtrfs::new();
        let root = root_in(&fs);
        for (name, subvolume) in [("sub", true), ("plain", false)] {
            // a leftover of an interrupted create is cleared first
            let temp = root.join(temp_name(name));
            std::fs::create_dir(&temp).unwrap();
            let mut create = step(&root, name, subvolume);
            create.apply().unwrap();
            assert!(!temp.exists(), "{name}");
            assert_eq!(std::fs::metadata(root.join(name)).unwrap().uid(), 65534, "{name}");
            create.undo().unwrap();

            // something made at the user's name since the plan is neither replaced nor taken
            std::fs::create_dir(root.join(name)).unwrap();
            std::fs::write(root.join(name).join("other"), b"not the user's").unwrap();
            let err = step(&root, name, subvolume).apply().unwrap_err();
            assert!(err.message.contains("renaming"), "{name}: {err}");
            assert_eq!(std::fs::metadata(root.join(name)).unwrap().uid(), 0, "{name}");
            assert_eq!(std::fs::read(root.join(name).join("other")).unwrap(), b"not the user's");
            assert!(!temp.exists(), "{name}: the home made under the temporary name is gone");
        }
    }
}
