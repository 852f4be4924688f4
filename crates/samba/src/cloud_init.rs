//! A `GuestSetup` as cloud-init user-data, for the VM of a vm share
//! (samba-templates/cloud-init-user-data.yaml): the files in `write_files`, the accounts, the
//! data disk's ACLs and the hash import in `runcmd`. Pure: the same setup renders the same text,
//! which is what lets the gateway tell whether a VM's user-data changed.

use crate::guest_setup::{GuestFile, GuestSetup, HASHES_FILE};
use crate::render;

const USER_DATA: &str = include_str!("../../../samba-templates/cloud-init-user-data.yaml");

/// Where the VM's data is: its disk device, mounted at `mount`.
pub struct DataDisk<'a> {
    pub device: &'a str,
    pub mount: &'a str,
}

/// A YAML scalar: a JSON string is a valid YAML double-quoted scalar, so nothing inside can be
/// taken for syntax (and `no` stays a name, not a boolean).
pub fn scalar(value: &str) -> String {
    serde_json::to_string(value).expect("a string serialises")
}

/// One `write_files` entry; the content as a literal block, every line indented.
fn write_file_entry(file: &GuestFile) -> String {
    let mut out = format!(
        "  - path: {}\n    owner: \"root:root\"\n    permissions: \"{:04o}\"\n    content: |\n",
        scalar(&file.path.display().to_string()),
        file.mode
    );
    for line in file.content.lines() {
        if !line.is_empty() {
            out.push_str("      ");
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

fn runcmd_entry<S: AsRef<str>>(argv: &[S]) -> String {
    let items: Vec<String> = argv.iter().map(|a| scalar(a.as_ref())).collect();
    format!("  - [{}]\n", items.join(", "))
}

/// The user-data of the VM `hostname` serving share `name` from `disk`.
pub fn user_data(setup: &GuestSetup, name: &str, hostname: &str, disk: &DataDisk) -> String {
    let mut files: String = setup.samba_files.iter().map(write_file_entry).collect();
    let mut commands = String::new();
    for g in &setup.groups {
        commands.push_str(&runcmd_entry(&["groupadd", "-f", "-g", &g.gid.to_string(), &g.name]));
    }
    for u in &setup.users {
        let (uid, gid) = (u.uid.to_string(), u.gid.to_string());
        // same ids as on the node; names and ids go as arguments, never into the script text
        commands.push_str(&runcmd_entry(&["groupadd", "-f", "-g", &gid, &u.name]));
        commands.push_str(&runcmd_entry(&[
            "sh",
            "-c",
            "getent passwd \"$1\" >/dev/null || useradd -M -N -u \"$2\" -g \"$3\" -s /usr/sbin/nologin \"$1\"",
            "useradd",
            &u.name,
            &uid,
            &gid,
        ]));
        let acl = format!("u:{0}:rwx,d:u:{0}:rwx", u.name);
        commands.push_str(&runcmd_entry(&["setfacl", "-m", &acl, disk.mount]));
    }
    for g in &setup.groups {
        let acl = format!("g:{0}:rwx,d:g:{0}:rwx", g.name);
        commands.push_str(&runcmd_entry(&["setfacl", "-m", &acl, disk.mount]));
    }
    if setup.open_to_all() {
        // open to every user (or guests): sticky, so nobody removes another's files
        commands.push_str(&runcmd_entry(&["chmod", "1777", disk.mount]));
    }
    if !setup.password_hashes.is_empty() {
        files.push_str(&write_file_entry(&GuestFile {
            path: HASHES_FILE.into(),
            mode: 0o600,
            content: setup.password_hashes.clone(),
        }));
        commands.push_str(&runcmd_entry(&GuestSetup::import_hashes_argv()));
        commands.push_str(&runcmd_entry(&["rm", "-f", HASHES_FILE]));
    }
    render::fill(
        USER_DATA,
        &[
            ("name", &scalar(name)),
            ("hostname", &scalar(hostname)),
            ("data_disk", &scalar(disk.device)),
            ("mount", &scalar(disk.mount)),
            ("write_files", files.trim_end()),
            ("runcmd", commands.trim_end()),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guest_setup::{GuestGroup, GuestUser};

    const DISK: DataDisk = DataDisk {
        device: "/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_drive-scsi1",
        mount: "/srv/share",
    };

    #[test]
    fn yaml_scalars_and_blocks() {
        assert_eq!(scalar("no"), "\"no\"");
        assert_eq!(scalar("a\"b\\c"), "\"a\\\"b\\\\c\"");
        let entry = write_file_entry(&GuestFile {
            path: "/etc/x".into(),
            mode: 0o600,
            content: "[global]\n\tkey = 1\n\nend\n".into(),
        });
        assert!(entry.contains("permissions: \"0600\""), "{entry}");
        assert!(
            entry.ends_with("    content: |\n      [global]\n      \tkey = 1\n\n      end\n"),
            "{entry}"
        );
    }

    #[test]
    fn accounts_acls_and_hashes() {
        let setup = GuestSetup {
            users: vec![GuestUser {
                name: "alice".into(),
                uid: 2001,
                gid: 2001,
            }],
            groups: vec![GuestGroup {
                name: "staff".into(),
                gid: 3000,
            }],
            password_hashes: "alice:2001:XXX:HASH:[U          ]:LCT-0:\n".into(),
            samba_files: vec![GuestFile {
                path: "/etc/samba/smb.conf".into(),
                mode: 0o644,
                content: "[global]\n".into(),
            }],
            domain: None,
            discovery: None,
        };
        let text = user_data(&setup, "team", "smbgw-team", &DISK);
        let runcmd = text.split("runcmd:\n").nth(1).unwrap();
        let expected = [
            r#"  - ["groupadd", "-f", "-g", "3000", "staff"]"#,
            r#"  - ["groupadd", "-f", "-g", "2001", "alice"]"#,
            r#"  - ["sh", "-c", "getent passwd \"$1\" >/dev/null || useradd -M -N -u \"$2\" -g \"$3\" -s /usr/sbin/nologin \"$1\"", "useradd", "alice", "2001", "2001"]"#,
            r#"  - ["setfacl", "-m", "u:alice:rwx,d:u:alice:rwx", "/srv/share"]"#,
            r#"  - ["setfacl", "-m", "g:staff:rwx,d:g:staff:rwx", "/srv/share"]"#,
            r#"  - ["pdbedit", "-i", "smbpasswd:/root/.pve-smbgateway-users", "-e", "tdbsam"]"#,
            r#"  - ["rm", "-f", "/root/.pve-smbgateway-users"]"#,
            r#"  - ["systemctl", "restart", "smbd"]"#,
        ];
        assert_eq!(runcmd.lines().collect::<Vec<_>>(), expected);
        assert!(text.contains("hostname: \"smbgw-team\"\n"), "{text}");
        assert!(text.contains(
            "  - path: \"/root/.pve-smbgateway-users\"\n    owner: \"root:root\"\n    permissions: \"0600\""
        ));
        assert!(text.starts_with("#cloud-config\n# The VM of share \"team\""), "{text}");
        assert!(!text.contains("chmod"), "{text}");
    }

    #[test]
    fn a_share_open_to_all_is_sticky_and_imports_nothing() {
        let text = user_data(&GuestSetup::default(), "pub", "smbgw-pub", &DISK);
        let runcmd = text.split("runcmd:\n").nth(1).unwrap();
        assert_eq!(
            runcmd.lines().collect::<Vec<_>>(),
            [
                r#"  - ["chmod", "1777", "/srv/share"]"#,
                r#"  - ["systemctl", "restart", "smbd"]"#
            ]
        );
        assert!(!text.contains("pdbedit"));
    }
}
