//! What a guest (container or VM) serving one share needs inside before its smbd can serve it:
//! the share's accounts with the node's ids, the users' NT hashes, and Samba's configuration
//! from the node's renderer. Described once, as data; applied two ways: rendered into cloud-init
//! user-data for a VM (`cloud_init.rs`, pure) and run through `pct exec` for a container
//! (`gateway::placement::lxc_inside`). Facts the node holds (ids, hashes) are read by the
//! gateway when it builds this; nothing here reads the system.

use std::path::PathBuf;

/// A unix group to make inside: its name and the node's gid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestGroup {
    pub name: String,
    pub gid: u32,
}

/// A share user to make inside, with the node's uid and primary gid (files keep their owners).
/// Its primary group is made under the user's name when the gid has no group inside yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

/// A file to write inside the guest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestFile {
    pub path: PathBuf,
    pub mode: u32,
    pub content: String,
}

/// The whole set-up of one share's guest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GuestSetup {
    /// The share's users, in the share's order.
    pub users: Vec<GuestUser>,
    /// The share's groups, in the share's order.
    pub groups: Vec<GuestGroup>,
    /// The users' NT hashes in smbpasswd format, for `pdbedit -i` (never a password); empty
    /// when the share names no users.
    pub password_hashes: String,
    /// smb.conf first, then the share's include file.
    pub samba_files: Vec<GuestFile>,
}

/// Where the hashes wait inside the guest until `pdbedit` imported them.
pub const HASHES_FILE: &str = "/root/.pve-smbgateway-users";

impl GuestSetup {
    /// The `pdbedit` call that imports the hashes file into the guest's tdbsam.
    pub fn import_hashes_argv() -> [String; 5] {
        [
            "pdbedit".into(),
            "-i".into(),
            format!("smbpasswd:{HASHES_FILE}"),
            "-e".into(),
            "tdbsam".into(),
        ]
    }

    /// Nobody is named: the share is open to every user (or guests).
    pub fn open_to_all(&self) -> bool {
        self.users.is_empty() && self.groups.is_empty()
    }
}
