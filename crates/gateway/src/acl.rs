//! Access to the share tree for the share's users and groups: POSIX ACL entries on every
//! directory (access and default entries, so new files inherit them) and every file (access
//! entries) of the share. Samba decides who may connect; the filesystem must then let those
//! users in, to existing files too: a user added later reads and overwrites what others wrote,
//! and a user removed loses its entries everywhere. Ids are numeric, so this works the same
//! with the host's accounts and with a sandbox's own.
//!
//! Per-file ACLs, not one managed group per share: membership of a group is cached in every
//! smbd session and in the kernel's credentials of running processes, so a revocation would
//! only take effect on reconnect; domain users would need their groups mirrored locally; and
//! the mode bits of files clients create follow the client's umask, which a group cannot fix.
//! The cost is a walk of the whole tree on a change of users, measured in `make bench`.
//!
//! The tree is changed through handles only (`smbgw_sys::walk`: no link followed, no other
//! mount entered) with `fsetxattr` of the kernel's ACL format, never `setfacl PATH`. The share
//! root is changed last: a walk interrupted by a crash leaves the root as it was, so the
//! operation is planned again on the next run, which skips every entry already right and
//! finishes the job.
//!
//! With `--acl-mode windows` the permissions belong to Windows clients (vfs_acl_xattr keeps
//! their ACLs in `security.NTACL` and maps them to POSIX ACLs itself), so none of the above
//! runs: when a share becomes a Windows ACL share (created so, or switched to it) the share root
//! alone gets its initial owner, root, with the node's administrators as its group (on a
//! domain member `DOMAIN\Domain Admins`; on a standalone node root alone), mode 0770, and
//! nothing of the tree is rewritten afterwards, by update or apply. Before that the share's
//! filesystem is asked whether it takes both `security.` xattrs and POSIX ACLs, and refused on
//! `acl-mode` if not.
//!
//! With `--acl-mode keep` (every share `import` adopts) nothing here runs at all: the admin's
//! owners, modes and ACLs are the share's access. Switching such a share to posix is the
//! deliberate act that walks the tree, and its plan says so.
//!
//! The walk never enters the share's snapshots (`.snapshots` at the share root: a user with
//! write access there could forge Previous Versions) nor a rollback's work directory.

use std::io::IsTerminal;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use smbgw_core::ad::AdState;
use smbgw_core::share::AclMode;
use smbgw_core::{bail_field, validate, Error, Result, Share, Step};
use smbgw_samba::Samba;
use smbgw_sys::posix_acl::{Acl, AclKind, Subject};
use smbgw_sys::safe_fs::{Dir, Stat};
use smbgw_sys::walk;

/// Read, write and execute/search, as ACL permission bits.
const RWX: u16 = 7;
const R_X: u16 = 5;
/// Entries that could not be changed named in the error, at most.
const MAX_LISTED: usize = 10;

/// One change to every entry of the tree: give `who` the permission, or (None) remove it.
type Change = (Subject, Option<u16>);

/// The step that opens a share's tree to its accounts, as its `acl-mode` says.
pub enum GrantAccess {
    /// The share's users and groups on every entry (`acl-mode posix`).
    Posix(PosixGrant),
    /// The initial owner and administrators of the share root, once (`acl-mode windows`).
    Windows(WindowsStart),
}

impl GrantAccess {
    /// The step for `share` (with `previous`, the share before this change), or `None` when
    /// there is nothing to do. `exists`: whether the share directory is there already.
    pub fn plan(share: &Share, previous: Option<&Share>, samba: &Samba, exists: bool) -> Result<Option<Self>> {
        match share.acl_mode {
            AclMode::Keep => Ok(None),
            AclMode::Windows => Ok(WindowsStart::plan(share, previous, samba, exists)?.map(GrantAccess::Windows)),
            AclMode::Posix => Ok(PosixGrant::plan(share, previous, samba, exists)?.map(GrantAccess::Posix)),
        }
    }
}

impl Step for GrantAccess {
    fn describe(&self) -> String {
        match self {
            GrantAccess::Posix(s) => s.describe(),
            GrantAccess::Windows(s) => s.describe(),
        }
    }

    fn apply(&mut self) -> Result<()> {
        match self {
            GrantAccess::Posix(s) => s.apply(),
            GrantAccess::Windows(s) => s.apply(),
        }
    }

    fn undo(&mut self) -> Result<()> {
        match self {
            GrantAccess::Posix(s) => s.undo(),
            GrantAccess::Windows(s) => s.undo(),
        }
    }
}

pub struct PosixGrant {
    path: PathBuf,
    grant: Vec<Subject>,
    perm: u16,
    revoke: Vec<Subject>,
    /// The root's ACLs (access, default) before, restored exactly on undo; `None` when the
    /// directory is created by the same plan.
    previous: Option<(Option<Acl>, Option<Acl>)>,
    /// The share was `acl-mode keep` (or windows) before: this walk rewrites permissions the
    /// gateway never managed, which the plan says.
    takes_over: bool,
}

/// The share's users and groups as ACL subjects (removed users whose account is gone are
/// skipped: their uid is unknown, and `user delete` refuses while a share names them).
fn subjects(share: &Share, samba: &Samba, strict: bool) -> Result<Vec<Subject>> {
    let accounts = samba.accounts();
    let mut out = Vec::new();
    // domain accounts: their ids come from winbind (idmap rid, the same on every node)
    for name in share.domain_principals() {
        let group = share.groups.contains(name);
        let id = match samba.lookup_name(name) {
            Ok(Some(r)) => samba.sid_to_id(&r.sid, group).map(Some),
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        match id {
            Ok(Some(id)) => out.push(if group { Subject::Group(id) } else { Subject::User(id) }),
            Ok(None) if strict => bail_field!(
                if group { "groups" } else { "users" },
                "{name:?} does not exist in the domain"
            ),
            Err(e) if strict => return Err(e),
            _ => {}
        }
    }
    for user in share.users.iter().filter(|u| validate::principal_domain(u).is_none()) {
        match accounts.user(user)? {
            Some(account) => out.push(Subject::User(account.uid)),
            None if strict => {
                bail_field!(
                    "users",
                    "user '{user}' does not exist; add it first with 'pve-smbgateway user add {user}'"
                )
            }
            None => {}
        }
    }
    for group in share.groups.iter().filter(|g| validate::principal_domain(g).is_none()) {
        match accounts.group_id(group)? {
            Some(gid) => out.push(Subject::Group(gid)),
            None if strict => bail_field!(
                "groups",
                "group '{group}' does not exist; create it, or add a user to it with 'pve-smbgateway user add NAME --groups {group}'"
            ),
            None => {}
        }
    }
    Ok(out)
}

impl PosixGrant {
    /// The step that brings the ACLs of `share`'s tree in line with its users and groups (and
    /// revokes those only `previous` had), or `None` if the root already is.
    pub fn plan(share: &Share, previous: Option<&Share>, samba: &Samba, exists: bool) -> Result<Option<Self>> {
        let perm = if share.read_only { R_X } else { RWX };
        let wanted = subjects(share, samba, true)?;
        // only a posix share's accounts were granted by the gateway: another mode's are the
        // admin's (or Windows clients') entries, never revoked here
        let had = match previous {
            Some(p) if p.path == share.path && p.acl_mode == AclMode::Posix => subjects(p, samba, false)?,
            _ => Vec::new(),
        };
        let takes_over = exists && previous.is_some_and(|p| p.acl_mode != AclMode::Posix);
        let revoke: Vec<Subject> = had.into_iter().filter(|s| !wanted.contains(s)).collect();
        if wanted.is_empty() && revoke.is_empty() {
            return Ok(None);
        }
        let path = PathBuf::from(&share.path);
        let previous_acls = if exists {
            let root = Dir::open(&path)?;
            Some((root.acl(AclKind::Access)?, root.acl(AclKind::Default)?))
        } else {
            None
        };
        if let Some((access, default)) = &previous_acls {
            let has = |acl: &Option<Acl>, s: &Subject| acl.as_ref().and_then(|a| a.get(*s));
            let done = wanted
                .iter()
                .all(|s| has(access, s) == Some(perm) && has(default, s) == Some(perm))
                && revoke
                    .iter()
                    .all(|s| has(access, s).is_none() && has(default, s).is_none());
            if done {
                return Ok(None);
            }
        }
        Ok(Some(Self {
            path,
            grant: wanted,
            perm,
            revoke,
            previous: previous_acls,
            takes_over,
        }))
    }

    fn changes(&self) -> Vec<Change> {
        let grants = self.grant.iter().map(|s| (*s, Some(self.perm)));
        grants.chain(self.revoke.iter().map(|s| (*s, None))).collect()
    }
}

fn perm_text(perm: u16) -> String {
    let bit = |b: u16, c: char| if perm & b != 0 { c } else { '-' };
    [bit(4, 'r'), bit(2, 'w'), bit(1, 'x')].iter().collect()
}

impl Step for PosixGrant {
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.grant.is_empty() {
            let entries: Vec<String> = self
                .grant
                .iter()
                .map(|s| format!("{s}:{}", perm_text(self.perm)))
                .collect();
            parts.push(format!("grant {}", entries.join(",")));
        }
        if !self.revoke.is_empty() {
            let entries: Vec<String> = self.revoke.iter().map(Subject::to_string).collect();
            parts.push(format!("revoke {}", entries.join(",")));
        }
        format!(
            "{} on {} and everything in it (POSIX ACL, inherited by new files){}",
            parts.join(", "),
            self.path.display(),
            if self.takes_over {
                "; the share was not acl-mode posix: this changes permissions the gateway did not set before"
            } else {
                ""
            }
        )
    }

    fn apply(&mut self) -> Result<()> {
        // the path was checked when the plan was made; check again right before acting as root
        validate::path_on_disk(&self.path.to_string_lossy())?;
        let changes = self.changes();
        change_tree(&self.path, &changes, None)
    }

    fn undo(&mut self) -> Result<()> {
        // the directory was created by this plan and is removed by its own undo
        let Some((access, default)) = self.previous.clone() else {
            return Ok(());
        };
        // every entry of the tree back to what the root had for these subjects
        let had = |s: &Subject| access.as_ref().and_then(|a| a.get(*s));
        let changes: Vec<Change> = self.grant.iter().chain(&self.revoke).map(|s| (*s, had(s))).collect();
        change_tree(&self.path, &changes, Some((access, default)))
    }
}

/// The share root of a Windows ACL share as it was before the gateway made it one, restored
/// on undo.
#[derive(Clone, Debug)]
struct RootState {
    /// (device, inode) of the root when the plan was made: the directory changed and restored
    /// must be that one, not one swapped in under its name since.
    identity: (u64, u64),
    uid: u32,
    gid: u32,
    mode: u32,
    access: Option<Acl>,
}

/// Mode of a Windows ACL share's root: its owner and the administrators, nobody else until a
/// Windows client grants more (what Samba's "shares with Windows ACLs" set-up starts from).
const WINDOWS_ROOT_MODE: u32 = 0o770;

/// The initial owner and administrators entry of a Windows ACL share's root, once.
pub struct WindowsStart {
    path: PathBuf,
    /// The administrators group (name, gid); `None` on a standalone node: root alone.
    admins: Option<(String, u32)>,
    /// `None` when the directory is created by the same plan (its own undo removes it).
    previous: Option<RootState>,
}

impl WindowsStart {
    /// Planned when a share becomes a Windows ACL share (created so, switched from posix, or
    /// moved to another path); never again afterwards, so what clients set stays theirs. A root
    /// that already holds an NT ACL (a share that was a Windows ACL share before) is the
    /// clients' too and is left as it is.
    fn plan(share: &Share, previous: Option<&Share>, samba: &Samba, exists: bool) -> Result<Option<Self>> {
        if previous.is_some_and(|p| p.acl_mode.is_windows() && p.path == share.path) {
            return Ok(None);
        }
        let path = PathBuf::from(&share.path);
        check_windows_acl_support(&path)?;
        let root = match exists {
            true => Some(Dir::open(&path)?),
            false => None,
        };
        if let Some(root) = &root {
            if has_xattr(root, NTACL).map_err(|e| Error::io("reading the extended attributes of", &path, e))? {
                return Ok(None);
            }
        }
        let admins = administrators(samba)?;
        let previous = match root {
            Some(root) => {
                let st = root.stat()?;
                Some(RootState {
                    identity: st.identity(),
                    uid: st.uid,
                    gid: st.gid,
                    mode: st.mode & 0o7777,
                    access: root.acl(AclKind::Access)?,
                })
            }
            None => None,
        };
        Ok(Some(Self { path, admins, previous }))
    }
}

/// The node's administrators for Windows ACL shares: `DOMAIN\Domain Admins` on a domain member
/// (the group `ad-join` grants SeDiskOperatorPrivilege), none on a standalone node.
fn administrators(samba: &Samba) -> Result<Option<(String, u32)>> {
    let Some(state) = AdState::load(&samba.layout)? else {
        return Ok(None);
    };
    let name = format!("{}\\{}", state.join.workgroup, crate::ad::ADMINISTRATORS);
    match samba.lookup_name(&name)? {
        Some(r) => Ok(Some((name, samba.sid_to_id(&r.sid, true)?))),
        None => Err(Error::external(format!(
            "the domain does not know {name:?}, the administrators of Windows ACL shares"
        ))),
    }
}

/// Windows ACLs need both kinds of extended attribute on the share's filesystem: `security.`
/// (vfs_acl_xattr keeps the NT ACL in `security.NTACL`) and POSIX ACLs (Samba maps each NT ACL
/// to them, `acl_xattr:ignore system acls = no`). Asked of the directory itself, or of its
/// nearest existing parent when the plan creates it; reading is enough: a filesystem without
/// the attribute's namespace answers EOPNOTSUPP, one with it ENODATA or the value.
pub fn check_windows_acl_support(path: &Path) -> Result<()> {
    let mut dir = None;
    for p in path.ancestors() {
        if let Some(d) = Dir::open_optional(p)? {
            dir = Some(d);
            break;
        }
    }
    let dir = dir.ok_or_else(|| Error::system(format!("no part of {} exists", path.display())))?;
    for (name, what) in [
        (
            NTACL,
            "security.* extended attributes (vfs_acl_xattr keeps the Windows ACL in security.NTACL)",
        ),
        (
            c"system.posix_acl_access",
            "POSIX ACLs (Samba maps every Windows ACL to them as well)",
        ),
    ] {
        let Err(e) = has_xattr(&dir, name) else {
            continue;
        };
        match e.raw_os_error() {
            Some(libc::EOPNOTSUPP) => bail_field!(
                "acl-mode",
                "--acl-mode windows needs {what}, and the filesystem of {} has none{}; put the share on a filesystem that has them (ext4, XFS, btrfs, ZFS with acltype=posixacl) or keep --acl-mode posix",
                dir.path().display(),
                filesystem_type(dir.path()).map(|t| format!(" ({t})")).unwrap_or_default()
            ),
            _ => return Err(Error::io("reading the extended attributes of", dir.path(), e)),
        }
    }
    Ok(())
}

/// Where vfs_acl_xattr keeps a file's Windows ACL.
const NTACL: &std::ffi::CStr = c"security.NTACL";

/// Whether `dir` has the extended attribute `name` (reading its size only).
fn has_xattr(dir: &Dir, name: &std::ffi::CStr) -> std::io::Result<bool> {
    let n = unsafe { libc::fgetxattr(dir.fd().as_raw_fd(), name.as_ptr(), std::ptr::null_mut(), 0) };
    if n >= 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::ENODATA) => Ok(false),
        _ => Err(e),
    }
}

/// The filesystem type holding `path`, for messages.
fn filesystem_type(path: &Path) -> Option<String> {
    let mounts = smbgw_sys::mounts::read().ok()?;
    smbgw_sys::mounts::containing(&mounts, path).map(|m| m.fstype.clone())
}

impl WindowsStart {
    /// The share root, refused if it is no longer the directory the plan looked at (replaced
    /// by another under the same name: root would hand that one over, or "restore" it).
    fn open_planned(&self) -> Result<Dir> {
        let root = Dir::open(&self.path)?;
        if let Some(before) = &self.previous {
            let now = root.stat()?.identity();
            if now != before.identity {
                return Err(Error::system(format!(
                    "{} is no longer the directory the plan was made for (device, inode {:?} then, {now:?} now); nothing was changed there, run the command again",
                    self.path.display(),
                    before.identity
                )));
            }
        }
        Ok(root)
    }
}

impl Step for WindowsStart {
    fn describe(&self) -> String {
        format!(
            "give {} to root{} (mode {WINDOWS_ROOT_MODE:04o}) as the start of its Windows ACL; Windows clients own it from then on",
            self.path.display(),
            match &self.admins {
                Some((name, gid)) => format!(" and the administrators {name} (gid {gid})"),
                None => String::new(),
            }
        )
    }

    fn apply(&mut self) -> Result<()> {
        validate::path_on_disk(&self.path.to_string_lossy())?;
        let root = self.open_planned()?;
        root.chown(Some(0), Some(self.admins.as_ref().map_or(0, |(_, gid)| *gid)))?;
        root.chmod(WINDOWS_ROOT_MODE)
    }

    fn undo(&mut self) -> Result<()> {
        let Some(before) = self.previous.clone() else {
            return Ok(());
        };
        let root = self.open_planned()?;
        root.chown(Some(before.uid), Some(before.gid))?;
        root.chmod(before.mode)?;
        // chmod of a directory with an ACL changed its mask: the ACL back as it was
        match before.access {
            Some(acl) => root.set_acl(AclKind::Access, &acl),
            None => Ok(()),
        }
    }
}

/// Whether to print "walked N entries" lines: on a terminal, or in a PVE task log.
fn progress_wanted() -> bool {
    std::env::var(crate::ENV_PROGRESS).is_ok_and(|v| v == "1") || std::io::stderr().is_terminal()
}

/// Apply `changes` to every entry below `path`, then to `path` itself (exactly `root_acls`
/// there when given). Entries that cannot be changed are skipped and listed in the error.
fn change_tree(path: &Path, changes: &[Change], root_acls: Option<(Option<Acl>, Option<Acl>)>) -> Result<()> {
    let root = Dir::open(path)?;
    let root_identity = root.stat()?.identity();
    let progress = progress_wanted();
    let mut failed: Vec<String> = Vec::new();
    let mut changed = 0u64;
    let mut fail = |p: &Path, e: Error| failed.push(format!("{}: {}", p.display(), e.message));
    let walked = walk::walk_pruned(
        root.try_clone()?,
        &not_the_shares,
        &mut |n| {
            if progress {
                eprintln!("walked {n} entries in {}", path.display());
            }
        },
        &mut |entry| {
            let result = match &entry {
                walk::Entry::Dir(_, st) if st.identity() == root_identity => Ok(false),
                walk::Entry::Dir(d, st) => change_dir(d, st, changes),
                walk::Entry::File(f, st) => change_file(f, st, changes),
                walk::Entry::Skipped(..) => Ok(false),
            };
            match result {
                Ok(true) => changed += 1,
                Ok(false) => {}
                Err(e) => match entry {
                    walk::Entry::Dir(d, _) => fail(d.path(), e),
                    walk::Entry::File(f, _) => fail(&f.path, e),
                    walk::Entry::Skipped(p, ..) => fail(p, e),
                },
            }
            Ok(())
        },
    )?;
    if !failed.is_empty() {
        let more = failed.len().saturating_sub(MAX_LISTED);
        return Err(Error::system(format!(
            "could not change the ACL of {} of {walked} entries in {} ({}{}); the share root was left as it was, so running the same command again retries",
            failed.len(),
            path.display(),
            failed[..failed.len().min(MAX_LISTED)].join("; "),
            if more > 0 { format!("; and {more} more") } else { String::new() }
        )));
    }
    // the root last: it marks the job as done
    match root_acls {
        Some((access, default)) => {
            let access = access.unwrap_or_else(|| Acl::from_mode(root.stat().map(|s| s.mode).unwrap_or(0o700)));
            root.set_acl(AclKind::Access, &access)?;
            match default {
                Some(d) => root.set_acl(AclKind::Default, &d)?,
                None => root.remove_acl(AclKind::Default)?,
            }
        }
        None => {
            change_dir(&root, &root.stat()?, changes)?;
        }
    }
    if progress && walked >= walk::PROGRESS_EVERY {
        eprintln!("walked {walked} entries in {}, changed {changed}", path.display());
    }
    Ok(())
}

/// Trees inside a share the walk leaves alone: the snapshots at its root (read-only history,
/// served as Previous Versions) and, wherever a share contains another share's parent, a
/// rollback's work directory (`.NAME.smbgw-rollback`, root's alone).
fn not_the_shares(depth: usize, name: &std::ffi::OsStr) -> bool {
    if depth == 1 && name == smbgw_quota::snapshot::SNAPSHOTS_DIR {
        return true;
    }
    let name = name.as_encoded_bytes();
    name.starts_with(b".") && name.ends_with(ROLLBACK_SUFFIX.as_bytes()) && name.len() > ROLLBACK_SUFFIX.len() + 1
}

/// The name's end of a rollback's work directory beside the share (crates/quota/src/btrfs.rs).
const ROLLBACK_SUFFIX: &str = ".smbgw-rollback";

fn apply_changes(acl: &mut Acl, changes: &[Change], file_mode: Option<u32>) {
    for (who, perm) in changes {
        match perm {
            // files get execute only where someone already may execute them (setfacl's 'X')
            Some(p) => acl.set(
                *who,
                match file_mode {
                    Some(mode) if mode & 0o111 == 0 => p & !1,
                    _ => *p,
                },
            ),
            None => acl.remove(*who),
        }
    }
}

/// Access and default entries of a directory; true if something changed.
fn change_dir(dir: &Dir, st: &Stat, changes: &[Change]) -> Result<bool> {
    let before = dir.acl(AclKind::Access)?;
    let base = before.clone().unwrap_or_else(|| Acl::from_mode(st.mode));
    let mut access = base.clone();
    apply_changes(&mut access, changes, None);
    let mut changed = false;
    if access != base {
        dir.set_acl(AclKind::Access, &access)?;
        changed = true;
    }
    let default_before = dir.acl(AclKind::Default)?;
    let grants = changes.iter().any(|(_, p)| p.is_some());
    let start = match &default_before {
        Some(d) => d.clone(),
        None if grants => Acl::default_from(&base),
        None => return Ok(changed),
    };
    let mut default = start.clone();
    apply_changes(&mut default, changes, None);
    if Some(&default) != default_before.as_ref() {
        dir.set_acl(AclKind::Default, &default)?;
        changed = true;
    }
    Ok(changed)
}

/// Access entries of a file; true if something changed.
fn change_file(file: &smbgw_sys::safe_fs::Handle, st: &Stat, changes: &[Change]) -> Result<bool> {
    let base = file.acl(AclKind::Access)?.unwrap_or_else(|| Acl::from_mode(st.mode));
    let mut access = base.clone();
    apply_changes(&mut access, changes, Some(st.mode));
    if access == base {
        return Ok(false);
    }
    file.set_acl(AclKind::Access, &access)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn getfacl(path: &Path) -> String {
        let out = std::process::Command::new("getfacl")
            .args(["--numeric", "--omit-header", "--absolute-names"])
            .arg(path)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    }

    fn ctimes(root: &Path) -> Vec<(PathBuf, i64, i64)> {
        let mut out = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(p) = stack.pop() {
            let m = std::fs::symlink_metadata(&p).unwrap();
            out.push((p.clone(), m.ctime(), m.ctime_nsec()));
            if m.is_dir() {
                stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            }
        }
        out.sort();
        out
    }

    /// Files get access entries (execute only where someone may execute already), directories
    /// access and default; a re-run changes nothing, so an interrupted run is finished by the
    /// next; links are not followed.
    #[test]
    fn tree_grant_revoke_and_rerun() {
        if std::process::Command::new("getfacl").arg("--version").output().is_err() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("share");
        std::fs::create_dir_all(root.join("sub/deeper")).unwrap();
        std::fs::write(root.join("sub/deeper/file"), b"x").unwrap();
        std::fs::write(root.join("script"), b"#!/bin/sh\n").unwrap();
        std::fs::set_permissions(root.join("script"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let outside = dir.path().join("outside");
        std::fs::write(&outside, b"not in the share").unwrap();
        std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();

        // a walk interrupted after the subdirectory: it is done, the root is not
        let grant = [(Subject::User(20000), Some(RWX))];
        change_tree(&root.join("sub"), &grant, None).unwrap();
        assert!(!getfacl(&root).contains("user:20000:"));
        change_tree(&root, &grant, None).unwrap();
        assert!(getfacl(&root).contains("default:user:20000:rwx"));
        assert!(getfacl(&root.join("sub/deeper")).contains("default:user:20000:rwx"));
        assert!(getfacl(&root.join("sub/deeper/file")).contains("user:20000:rw-\n"));
        assert!(getfacl(&root.join("script")).contains("user:20000:rwx\n"));
        assert!(!getfacl(&outside).contains("20000"), "the link's target is untouched");

        let before = ctimes(&root);
        std::thread::sleep(std::time::Duration::from_millis(20));
        change_tree(&root, &grant, None).unwrap();
        assert_eq!(ctimes(&root), before, "a re-run writes nothing");

        change_tree(&root, &[(Subject::User(20000), None)], None).unwrap();
        for p in [root.clone(), root.join("sub/deeper"), root.join("sub/deeper/file")] {
            assert!(!getfacl(&p).contains("20000"), "{}: {}", p.display(), getfacl(&p));
        }
    }

    /// The grant leaves the share's snapshots (at its root only) and a rollback's work
    /// directory alone: a share user with write access there could forge Previous Versions.
    #[test]
    fn tree_grant_skips_snapshots_and_rollback_work() {
        if std::process::Command::new("getfacl").arg("--version").output().is_err() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("share");
        for d in [".snapshots/daily", "sub/.snapshots", ".child.smbgw-rollback/content"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::write(root.join(".snapshots/daily/file"), b"x").unwrap();
        change_tree(&root, &[(Subject::User(20000), Some(RWX))], None).unwrap();
        assert!(getfacl(&root).contains("default:user:20000:rwx"));
        assert!(
            getfacl(&root.join("sub/.snapshots")).contains("user:20000:rwx"),
            "only the root's .snapshots is the share's"
        );
        for p in [
            ".snapshots",
            ".snapshots/daily",
            ".snapshots/daily/file",
            ".child.smbgw-rollback",
            ".child.smbgw-rollback/content",
        ] {
            let acl = getfacl(&root.join(p));
            assert!(!acl.contains("20000"), "{p}: {acl}");
        }
    }

    /// A Windows ACL share's root gets its start once: root, mode 0770 (no administrators group
    /// standalone), undone exactly; never again while it stays windows, nor once it holds an NT
    /// ACL (a share coming back to windows).
    #[test]
    fn windows_start_once_and_undone() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let samba = Samba::new(
            smbgw_core::Layout::sandbox(&dir.path().join("root"), "127.0.0.1".parse().unwrap(), 4450).unwrap(),
        );
        let root = dir.path().join("office");
        std::fs::create_dir(&root).unwrap();
        std::os::unix::fs::chown(&root, Some(20000), Some(20000)).unwrap();
        std::fs::set_permissions(&root, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        std::process::Command::new("setfacl")
            .args(["-m", "u:20001:rwx"])
            .arg(&root)
            .status()
            .unwrap();
        let acl_before = getfacl(&root);
        // the named entry widened the mask, which is the mode's group bits
        let mode_before = std::fs::metadata(&root).unwrap().mode() & 0o7777;
        assert_eq!(mode_before, 0o775);
        let props = |mode: &str| -> smbgw_core::share::Properties {
            [("path", root.to_str().unwrap()), ("acl-mode", mode)]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let windows = Share::from_properties("office", &props("windows")).unwrap();
        let posix = Share::from_properties("office", &props("posix")).unwrap();

        let Some(GrantAccess::Windows(mut step)) = GrantAccess::plan(&windows, Some(&posix), &samba, true).unwrap()
        else {
            panic!("no initial step for a share switched to windows");
        };
        assert!(step.describe().contains("to root (mode 0770)"), "{}", step.describe());
        step.apply().unwrap();
        let m = std::fs::metadata(&root).unwrap();
        assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (0, 0, 0o770));
        assert!(getfacl(&root).contains("user:20001:rwx"), "entries already there stay");
        step.undo().unwrap();
        let m = std::fs::metadata(&root).unwrap();
        assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (20000, 20000, mode_before));
        assert_eq!(getfacl(&root), acl_before);

        // the directory swapped for another between plan and apply: refused, neither changed
        let Some(GrantAccess::Windows(mut step)) = GrantAccess::plan(&windows, Some(&posix), &samba, true).unwrap()
        else {
            panic!("no initial step");
        };
        let moved = dir.path().join("office.moved");
        std::fs::rename(&root, &moved).unwrap();
        std::fs::create_dir(&root).unwrap();
        std::os::unix::fs::chown(&root, Some(20002), Some(20002)).unwrap();
        let err = step.apply().unwrap_err();
        assert!(err.message.contains("no longer the directory"), "{}", err.message);
        assert!(step.undo().is_err());
        for p in [&root, &moved] {
            let m = std::fs::metadata(p).unwrap();
            assert_ne!((m.uid(), m.mode() & 0o7777), (0, 0o770), "{}", p.display());
        }
        std::fs::remove_dir(&root).unwrap();
        std::fs::rename(&moved, &root).unwrap();

        // windows already: nothing; an NT ACL on the root: the clients', nothing either
        assert!(GrantAccess::plan(&windows, Some(&windows), &samba, true)
            .unwrap()
            .is_none());
        std::process::Command::new("setfattr")
            .args(["-n", "security.NTACL", "-v", "0x01"])
            .arg(&root)
            .status()
            .unwrap();
        assert!(GrantAccess::plan(&windows, Some(&posix), &samba, true)
            .unwrap()
            .is_none());
        assert!(GrantAccess::plan(&windows, None, &samba, true).unwrap().is_none());
    }
}
