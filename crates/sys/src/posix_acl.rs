//! POSIX ACLs read and written on an open file descriptor (`fgetxattr`/`fsetxattr` of
//! `system.posix_acl_access` and `system.posix_acl_default`), never by name: `setfacl PATH`
//! follows whatever a user has put at PATH by the time it runs.
//!
//! The xattr format is the kernel's (include/uapi/linux/posix_acl_xattr.h): a u32 version (2),
//! then entries {tag u16, perm u16, id u32}, little-endian, sorted by tag then id. Changes
//! keep every existing entry and recompute the mask as `setfacl` does.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::Path;

use crate::safe_fs::errno;
use crate::{Error, Result};

const VERSION: u32 = 2;
pub const USER_OBJ: u16 = 0x01;
pub const USER: u16 = 0x02;
pub const GROUP_OBJ: u16 = 0x04;
pub const GROUP: u16 = 0x08;
pub const MASK: u16 = 0x10;
pub const OTHER: u16 = 0x20;
const UNDEFINED_ID: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AclKind {
    /// Who may access the file or directory.
    Access,
    /// What new entries in a directory inherit.
    Default,
}

impl AclKind {
    fn xattr(self) -> &'static std::ffi::CStr {
        match self {
            AclKind::Access => c"system.posix_acl_access",
            AclKind::Default => c"system.posix_acl_default",
        }
    }
}

/// A named entry: a user or a group by numeric id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subject {
    User(u32),
    Group(u32),
}

impl Subject {
    fn tag(self) -> (u16, u32) {
        match self {
            Subject::User(id) => (USER, id),
            Subject::Group(id) => (GROUP, id),
        }
    }
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subject::User(id) => write!(f, "u:{id}"),
            Subject::Group(id) => write!(f, "g:{id}"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub tag: u16,
    pub perm: u16,
    pub id: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Acl {
    entries: Vec<Entry>,
}

impl Acl {
    /// The ACL equivalent to permission bits (what a file without an ACL has).
    pub fn from_mode(mode: u32) -> Acl {
        let perm = |shift: u32| ((mode >> shift) & 7) as u16;
        Acl {
            entries: vec![
                Entry {
                    tag: USER_OBJ,
                    perm: perm(6),
                    id: UNDEFINED_ID,
                },
                Entry {
                    tag: GROUP_OBJ,
                    perm: perm(3),
                    id: UNDEFINED_ID,
                },
                Entry {
                    tag: OTHER,
                    perm: perm(0),
                    id: UNDEFINED_ID,
                },
            ],
        }
    }

    /// A new default ACL: the base entries of `access` (as `setfacl -m d:...` starts one).
    pub fn default_from(access: &Acl) -> Acl {
        Acl {
            entries: access
                .entries
                .iter()
                .filter(|e| matches!(e.tag, USER_OBJ | GROUP_OBJ | OTHER))
                .copied()
                .collect(),
        }
    }

    pub fn parse(data: &[u8]) -> Result<Acl> {
        if data.len() < 4 || !(data.len() - 4).is_multiple_of(8) {
            return Err(Error::system(format!(
                "malformed POSIX ACL xattr of {} bytes",
                data.len()
            )));
        }
        let version = u32::from_le_bytes(data[0..4].try_into().unwrap());
        if version != VERSION {
            return Err(Error::system(format!(
                "POSIX ACL xattr version {version}, expected {VERSION}"
            )));
        }
        let entries = data[4..]
            .chunks_exact(8)
            .map(|c| Entry {
                tag: u16::from_le_bytes([c[0], c[1]]),
                perm: u16::from_le_bytes([c[2], c[3]]),
                id: u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect();
        Ok(Acl { entries })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + 8 * self.entries.len());
        out.extend_from_slice(&VERSION.to_le_bytes());
        for e in &self.entries {
            out.extend_from_slice(&e.tag.to_le_bytes());
            out.extend_from_slice(&e.perm.to_le_bytes());
            out.extend_from_slice(&e.id.to_le_bytes());
        }
        out
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The permission of a named entry, if present.
    pub fn get(&self, who: Subject) -> Option<u16> {
        let (tag, id) = who.tag();
        self.entries.iter().find(|e| e.tag == tag && e.id == id).map(|e| e.perm)
    }

    /// Add or change a named entry; the mask follows.
    pub fn set(&mut self, who: Subject, perm: u16) {
        let (tag, id) = who.tag();
        match self.entries.iter_mut().find(|e| e.tag == tag && e.id == id) {
            Some(e) => e.perm = perm & 7,
            None => self.entries.push(Entry {
                tag,
                perm: perm & 7,
                id,
            }),
        }
        self.normalise();
    }

    /// Remove a named entry (if present); the mask follows.
    pub fn remove(&mut self, who: Subject) {
        let (tag, id) = who.tag();
        self.entries.retain(|e| !(e.tag == tag && e.id == id));
        self.normalise();
    }

    /// Whether only the three base entries are left (the mode says it all).
    pub fn is_minimal(&self) -> bool {
        self.entries
            .iter()
            .all(|e| matches!(e.tag, USER_OBJ | GROUP_OBJ | OTHER))
    }

    /// Sort as the kernel requires, and recompute the mask like setfacl: the union of the
    /// group class (owning group and named entries); no mask when there are no named entries.
    fn normalise(&mut self) {
        let named = self.entries.iter().any(|e| matches!(e.tag, USER | GROUP));
        let union = self
            .entries
            .iter()
            .filter(|e| matches!(e.tag, USER | GROUP | GROUP_OBJ))
            .fold(0, |acc, e| acc | e.perm);
        self.entries.retain(|e| e.tag != MASK);
        if named {
            self.entries.push(Entry {
                tag: MASK,
                perm: union,
                id: UNDEFINED_ID,
            });
        }
        self.entries.sort_by_key(|e| (e.tag, e.id));
    }
}

/// The ACL of `kind` on `fd`; `None` when there is none (for access: the mode alone rules).
pub fn get(fd: BorrowedFd<'_>, kind: AclKind, path: &Path) -> Result<Option<Acl>> {
    let mut buf = vec![0u8; 4 + 8 * 32];
    loop {
        let n = unsafe {
            libc::fgetxattr(
                fd.as_raw_fd(),
                kind.xattr().as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        if n >= 0 {
            buf.truncate(n as usize);
            return Acl::parse(&buf).map(Some).map_err(|e| e.context(path.display()));
        }
        let e = errno();
        match e.raw_os_error() {
            Some(libc::ENODATA) => return Ok(None),
            Some(libc::ERANGE) if buf.len() < 1 << 20 => buf.resize(buf.len() * 4, 0),
            Some(libc::EOPNOTSUPP) => {
                return Err(Error::system(format!(
                    "{} is on a filesystem without POSIX ACLs; mount it with the acl option (a CephFS through ceph-fuse: set 'client_acl_type = posix_acl' and 'fuse_default_permissions = false' in the [client] section of ceph.conf and mount it again)",
                    path.display()
                )))
            }
            _ => return Err(Error::io("reading the ACL of", path, e)),
        }
    }
}

pub fn set(fd: BorrowedFd<'_>, kind: AclKind, acl: &Acl, path: &Path) -> Result<()> {
    let data = acl.to_bytes();
    let rc = unsafe {
        libc::fsetxattr(
            fd.as_raw_fd(),
            kind.xattr().as_ptr(),
            data.as_ptr().cast(),
            data.len(),
            0,
        )
    };
    if rc != 0 {
        return Err(Error::io("setting the ACL of", path, errno()));
    }
    Ok(())
}

pub fn remove(fd: BorrowedFd<'_>, kind: AclKind, path: &Path) -> Result<()> {
    if unsafe { libc::fremovexattr(fd.as_raw_fd(), kind.xattr().as_ptr()) } != 0 {
        let e = errno();
        if e.raw_os_error() != Some(libc::ENODATA) {
            return Err(Error::io("removing the ACL of", path, e));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safe_fs::Dir;

    fn getfacl(path: &Path) -> String {
        let out = std::process::Command::new("getfacl")
            .args(["--numeric", "--omit-header", "--absolute-names"])
            .arg(path)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn round_trip_and_mask() {
        let mut acl = Acl::from_mode(0o750);
        acl.set(Subject::User(20000), 7);
        acl.set(Subject::Group(30000), 5);
        acl.set(Subject::User(10), 4);
        let tags: Vec<(u16, u32)> = acl.entries().iter().map(|e| (e.tag, e.id)).collect();
        assert_eq!(
            tags,
            [
                (USER_OBJ, u32::MAX),
                (USER, 10),
                (USER, 20000),
                (GROUP_OBJ, u32::MAX),
                (GROUP, 30000),
                (MASK, u32::MAX),
                (OTHER, u32::MAX)
            ]
        );
        assert_eq!(acl.entries()[5].perm, 7);
        assert_eq!(Acl::parse(&acl.to_bytes()).unwrap(), acl);
        acl.remove(Subject::User(20000));
        assert_eq!(acl.get(Subject::User(20000)), None);
        assert_eq!(acl.entries().iter().find(|e| e.tag == MASK).unwrap().perm, 5);
        acl.remove(Subject::User(10));
        acl.remove(Subject::Group(30000));
        assert!(acl.is_minimal());
        assert!(Acl::parse(&[1, 0, 0]).is_err());
    }

    /// What we write is what setfacl would have written, as getfacl reads it back.
    #[test]
    fn matches_getfacl() {
        if std::process::Command::new("getfacl").arg("--version").output().is_err() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let d = Dir::open(dir.path()).unwrap();
        d.chmod(0o770).unwrap();
        let mut access = d.acl(AclKind::Access).unwrap().unwrap_or_else(|| Acl::from_mode(0o770));
        let mut default = d
            .acl(AclKind::Default)
            .unwrap()
            .unwrap_or_else(|| Acl::default_from(&access));
        for acl in [&mut access, &mut default] {
            acl.set(Subject::User(20000), 5);
            acl.set(Subject::Group(20001), 7);
        }
        d.set_acl(AclKind::Access, &access).unwrap();
        d.set_acl(AclKind::Default, &default).unwrap();
        let text = getfacl(dir.path());
        for line in [
            "user::rwx",
            "user:20000:r-x",
            "group:20001:rwx",
            "mask::rwx",
            "other::---",
            "default:user:20000:r-x",
            "default:group:20001:rwx",
            "default:mask::rwx",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in:\n{text}");
        }
        assert_eq!(d.acl(AclKind::Access).unwrap().unwrap(), access);
        d.remove_acl(AclKind::Default).unwrap();
        assert_eq!(d.acl(AclKind::Default).unwrap(), None);
    }
}
