//! A `GuestSetup` as cloud-init user-data, for the VM of a vm share
//! (samba-templates/cloud-init-user-data.yaml): the files in `write_files`, the accounts, the
//! data disk's ACLs and the hash import in `runcmd`; discovery (wsdd, Avahi) in `packages`,
//! `write_files` and `runcmd` as the setup says. Pure: the same setup renders the same text,
//! which is what lets the gateway tell whether a VM's user-data changed.

use crate::guest_setup::{GuestFile, GuestSetup, AVAHI_SERVICE, DISCOVERY_PACKAGES, HASHES_FILE, WSDD_DEFAULT};
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

/// Discovery from the VM: on, its packages (a no-op where the template has them) and files,
/// both services enabled and restarted; off, what an earlier instance set up withdrawn (cloud-init
/// never removes the files an earlier user-data wrote). Only a VM the gateway made discoverable
/// has its Avahi file, so only that one is touched.
fn discovery(setup: &GuestSetup, files: &mut String, commands: &mut String) -> String {
    let units = DISCOVERY_PACKAGES.map(|p| format!("{p}.service"));
    let Some(discovery) = &setup.discovery else {
        commands.push_str(&runcmd_entry(&[
            "sh",
            "-c",
            // avahi-daemon's socket too: it would start the daemon again
            "[ ! -e \"$1\" ] || { rm -f \"$1\" \"$2\" && systemctl disable --now wsdd.service avahi-daemon.service avahi-daemon.socket; }",
            "withdraw-discovery",
            AVAHI_SERVICE,
            WSDD_DEFAULT,
        ]));
        // cloud-init's schema takes no empty package list
        return "# packages: none (discovery is off)".into();
    };
    // write_files runs before packages: on a template without wsdd, dpkg finds our
    // /etc/default/wsdd in place, and cloud-init's apt-get (--force-confold) keeps it
    files.extend(discovery.iter().map(write_file_entry));
    for action in ["enable", "restart"] {
        let argv: Vec<String> = ["systemctl".to_string(), action.to_string()]
            .into_iter()
            .chain(units.iter().cloned())
            .collect();
        commands.push_str(&runcmd_entry(&argv));
    }
    let packages: Vec<String> = DISCOVERY_PACKAGES.iter().map(|p| scalar(p)).collect();
    format!("packages: [{}]", packages.join(", "))
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
    let packages = discovery(setup, &mut files, &mut commands);
    render::fill(
        USER_DATA,
        &[
            ("name", &scalar(name)),
            ("hostname", &scalar(hostname)),
            ("data_disk", &scalar(disk.device)),
            ("mount", &scalar(disk.mount)),
            ("packages", &packages),
            ("write_files", files.trim_end()),
            ("runcmd", commands.trim_end()),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guest_setup::{GuestGroup, GuestUser};

    const WITHDRAW: &str = r#"  - ["sh", "-c", "[ ! -e \"$1\" ] || { rm -f \"$1\" \"$2\" && systemctl disable --now wsdd.service avahi-daemon.service avahi-daemon.socket; }", "withdraw-discovery", "/etc/avahi/services/pve-smbgateway.service", "/etc/default/wsdd"]"#;

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
            WITHDRAW,
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
                WITHDRAW,
                r#"  - ["systemctl", "restart", "smbd"]"#
            ]
        );
        assert!(!text.contains("pdbedit"));
        assert!(!text.contains("\npackages:"), "{text}");
    }

    #[test]
    fn discovery_on_installs_writes_and_enables() {
        let setup = GuestSetup {
            discovery: Some(vec![
                GuestFile {
                    path: WSDD_DEFAULT.into(),
                    mode: 0o644,
                    content: "WSDD_PARAMS=\"--interface eth0\"\n".into(),
                },
                GuestFile {
                    path: AVAHI_SERVICE.into(),
                    mode: 0o644,
                    content: "<service-group>\n  <name replace-wildcards=\"yes\">%h</name>\n</service-group>\n".into(),
                },
            ]),
            ..GuestSetup::default()
        };
        let text = user_data(&setup, "pub", "smbgw-pub", &DISK);
        assert!(text.contains("\npackages: [\"wsdd\", \"avahi-daemon\"]\n"), "{text}");
        assert!(
            text.contains(
                "  - path: \"/etc/default/wsdd\"\n    owner: \"root:root\"\n    permissions: \"0644\"\n    content: |\n      WSDD_PARAMS=\"--interface eth0\"\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("  - path: \"/etc/avahi/services/pve-smbgateway.service\"\n"),
            "{text}"
        );
        assert!(
            text.contains("\n        <name replace-wildcards=\"yes\">%h</name>\n"),
            "{text}"
        );
        let runcmd = text.split("runcmd:\n").nth(1).unwrap();
        assert_eq!(
            runcmd.lines().collect::<Vec<_>>(),
            [
                r#"  - ["chmod", "1777", "/srv/share"]"#,
                r#"  - ["systemctl", "enable", "wsdd.service", "avahi-daemon.service"]"#,
                r#"  - ["systemctl", "restart", "wsdd.service", "avahi-daemon.service"]"#,
                r#"  - ["systemctl", "restart", "smbd"]"#
            ]
        );
    }

    /// Discovery off: the withdrawal, run by the real shell with only `rm` on its PATH (no
    /// systemctl may touch this machine's services). A VM the gateway never made discoverable
    /// (no Avahi file) is left alone; one it did loses both files, then reaches systemctl.
    #[test]
    fn discovery_off_withdraws_only_what_the_gateway_set_up() {
        let dir = tempfile::tempdir().unwrap();
        let (avahi, wsdd, bin) = (
            dir.path().join("avahi"),
            dir.path().join("wsdd"),
            dir.path().join("bin"),
        );
        std::fs::create_dir(&bin).unwrap();
        let rm = String::from_utf8(
            std::process::Command::new("sh")
                .args(["-c", "command -v rm"])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        std::os::unix::fs::symlink(rm.trim(), bin.join("rm")).unwrap();
        let withdraw: Vec<String> = serde_json::from_str(WITHDRAW.trim_start_matches("  - ")).unwrap();
        assert_eq!(withdraw[..4], ["sh", "-c", &withdraw[2], "withdraw-discovery"]);
        assert_eq!(withdraw[4..], [AVAHI_SERVICE, WSDD_DEFAULT]);
        let run = || {
            std::process::Command::new("/bin/sh")
                .args(&withdraw[1..4])
                .args([&avahi, &wsdd])
                .env("PATH", &bin)
                .output()
                .unwrap()
        };
        std::fs::write(&wsdd, "WSDD_PARAMS=\"\"\n").unwrap();
        let out = run();
        assert!(out.status.success() && wsdd.exists(), "{out:?}");
        std::fs::write(&avahi, "<service-group/>\n").unwrap();
        let out = run();
        assert!(!avahi.exists() && !wsdd.exists());
        assert_eq!(out.status.code(), Some(127), "systemctl comes after the files");
        assert!(String::from_utf8_lossy(&out.stderr).contains("systemctl"), "{out:?}");
    }
}
