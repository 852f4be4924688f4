//! What a guest (container or VM) serving one share needs inside before its smbd can serve it:
//! the share's accounts with the node's ids, the users' NT hashes, and Samba's configuration
//! from the node's renderer. Described once, as data; applied two ways: rendered into cloud-init
//! user-data for a VM (`cloud_init.rs`, pure) and run through `pct exec` for a container
//! (`gateway::placement::lxc_inside`). Facts the node holds (ids, hashes) are read by the
//! gateway when it builds this; nothing here reads the system.
//!
//! A container serving domain accounts is a domain member of its own (`GuestDomain`): its own
//! computer account, and winbind with the node's `idmap rid` ranges, so every domain account
//! has the same ids inside as on the node. A guest answers discovery itself (`discovery`): it
//! has its own address and name.

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
    /// The guest's membership of the node's domain; `None`: a standalone server.
    pub domain: Option<GuestDomain>,
    /// Discovery from inside the guest (Debian's wsdd for Windows, Avahi for macOS) with these
    /// files; `None`: off, as the node's discovery setting says.
    pub discovery: Option<Vec<GuestFile>>,
}

/// The packages and services that answer discovery inside a guest.
pub const DISCOVERY_PACKAGES: [&str; 2] = ["wsdd", "avahi-daemon"];
/// Debian's wsdd.service reads its arguments from here.
pub const WSDD_DEFAULT: &str = "/etc/default/wsdd";
/// Where avahi-daemon reads static services.
pub const AVAHI_SERVICE: &str = "/etc/avahi/services/pve-smbgateway.service";

/// What a guest needs to be a member of the node's domain besides smb.conf (which names the
/// domain, the guest's NetBIOS name and the node's idmap ranges).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestDomain {
    /// DNS domain (example.com), for messages.
    pub domain: String,
    /// The guest's computer account name in the domain.
    pub netbios_name: String,
    /// The DC the node joined through; `None`: found through DNS.
    pub dc: Option<String>,
    /// /etc/krb5.conf, as the node's.
    pub krb5_conf: GuestFile,
}

impl GuestDomain {
    /// `net ads join` inside the guest as `user`, the password on stdin (`PASSWD_FD=0`): never
    /// in argv or the environment.
    pub fn join_argv(&self, user: &str) -> Vec<String> {
        let mut argv: Vec<String> = ["env", "PASSWD_FD=0", "net", "ads", "join", "-U", user]
            .iter()
            .map(|s| s.to_string())
            .collect();
        if let Some(dc) = &self.dc {
            argv.extend(["-S".to_string(), dc.clone()]);
        }
        argv
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_join_reads_its_password_from_stdin() {
        let mut domain = GuestDomain {
            domain: "example.com".into(),
            netbios_name: "SMBGW-CT105".into(),
            dc: Some("dc1.example.com".into()),
            krb5_conf: GuestFile {
                path: "/etc/krb5.conf".into(),
                mode: 0o644,
                content: String::new(),
            },
        };
        assert_eq!(
            domain.join_argv("Administrator"),
            [
                "env",
                "PASSWD_FD=0",
                "net",
                "ads",
                "join",
                "-U",
                "Administrator",
                "-S",
                "dc1.example.com"
            ]
        );
        domain.dc = None;
        assert_eq!(domain.join_argv("admin").len(), 7);
    }
}
