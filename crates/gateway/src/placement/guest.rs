//! What the two guest placements (lxc.rs, vm.rs) share: the guest's name, the set-up it gets
//! inside (`smbgw_samba::guest_setup`, built here from the node's accounts and, for a guest in
//! the node's domain, its membership), the checks before a guest is made, its id, and whether
//! its smbd answers.

use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use smbgw_core::ad::AdState;
use smbgw_core::discovery::{self, Discovery};
use smbgw_core::size::format_size;
use smbgw_core::{bail_field, guest, validate, Error, Layout, Placement, Result, ResultExt, Share};
use smbgw_samba::guest_setup::{
    GuestDomain, GuestFile, GuestGroup, GuestSetup, GuestUser, AVAHI_SERVICE, WSDD_DEFAULT,
};
use smbgw_samba::render::{self, Globals};
use smbgw_samba::Samba;

use crate::{pve, Gateway};

/// The guest's host name: `smbgw-<share>`, in the letters a host name may have.
pub(crate) fn guest_name(share: &str) -> String {
    let name: String = share
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let full: String = format!("smbgw-{}", name.trim_matches('-')).chars().take(63).collect();
    full.trim_end_matches('-').to_string()
}

/// The Samba configuration inside a guest: the node's renderer, for a server that has only this
/// share, at its mount point. No `dfree command`: the node's helper does not exist there.
/// `snapshots`: where the guest sees the share's ZFS snapshots, if it does.
/// `ad`: the domain the guest is a member of, under its own NetBIOS name.
fn render_inside(share: &Share, snapshots: Option<&str>, ad: Option<AdState>) -> render::Rendered {
    let mut layout = Layout::host();
    layout.cli = PathBuf::from("/bin/false");
    let mut inside = share.clone();
    inside.path = guest::SHARE_MOUNT.into();
    inside.quota = None;
    inside.mode = Placement::Native;
    let globals = Globals {
        guest_snapshot_dir: snapshots.map(String::from),
        ad,
        ..Globals::default()
    };
    render::render(&layout, &[inside], &globals, &layout.smb_conf, &layout.share_conf_dir)
}

/// The set-up of the share's guest, from the node's facts: the accounts' ids, the users' NT
/// hashes (`pdbedit -L -w`, never a password) and the rendered Samba configuration (with the
/// share's snapshots where the placement shows them, `snapshots`).
pub(crate) fn guest_setup(samba: &Samba, share: &Share, snapshots: Option<&str>) -> Result<GuestSetup> {
    guest_setup_with(samba, share, snapshots, None)
}

/// `guest_setup` for a guest that is a member of the node's domain (`member`: the node's
/// membership and the guest's own NetBIOS name): the local accounts as there, the domain ones
/// through the guest's winbind, with the node's idmap ranges.
pub(crate) fn guest_setup_with(
    samba: &Samba,
    share: &Share,
    snapshots: Option<&str>,
    member: Option<(&AdState, &str)>,
) -> Result<GuestSetup> {
    let accounts = samba.accounts();
    let mut setup = GuestSetup::default();
    let local = |name: &&String| validate::principal_domain(name).is_none();
    for user in share.users.iter().filter(local) {
        validate::account_name("user name", user)?;
        let a = accounts
            .user(user)?
            .ok_or_else(|| Error::input(format!("user '{user}' does not exist")))?;
        setup.users.push(GuestUser {
            name: user.clone(),
            uid: a.uid,
            gid: a.gid,
        });
        let line = samba.tool("pdbedit").args(["-L", "-w", "-u", user]).run()?.stdout;
        setup.password_hashes.push_str(line.trim_end());
        setup.password_hashes.push('\n');
    }
    for group in share.groups.iter().filter(local) {
        let gid = accounts
            .group_id(group)?
            .ok_or_else(|| Error::input(format!("group '{group}' does not exist")))?;
        setup.groups.push(GuestGroup {
            name: group.clone(),
            gid,
        });
    }
    let ad = member.map(|(state, netbios_name)| {
        let mut inside = state.clone();
        inside.join.netbios_name = netbios_name.to_string();
        // the guest's smbd serves domain accounts whatever the node last saw of the DC
        inside.online = true;
        inside
    });
    setup.domain = ad.as_ref().map(|a| GuestDomain {
        domain: a.join.domain.clone(),
        netbios_name: a.join.netbios_name.clone(),
        dc: a.join.dc.clone(),
        krb5_conf: GuestFile {
            path: "/etc/krb5.conf".into(),
            mode: 0o644,
            content: render::krb5_conf(&a.join),
        },
    });
    setup.discovery = guest_discovery(&samba.layout, share)?;
    let rendered = render_inside(share, snapshots, ad);
    let (conf_path, conf) = rendered.smb_conf;
    setup.samba_files.push(GuestFile {
        path: conf_path,
        mode: 0o644,
        content: conf,
    });
    setup
        .samba_files
        .extend(rendered.shares.into_iter().map(|(path, content)| GuestFile {
            path,
            mode: 0o644,
            content,
        }));
    Ok(setup)
}

/// The discovery files of a guest serving `share`, or `None` when the node's discovery setting
/// is off: wsdd on the guest's one interface (eth0), Avahi advertising its smbd (and the share
/// for Time Machine). A sandbox's guests answer only when its setting names interfaces, as
/// the sandbox's own wsdd (never on the test machine's networks by default).
fn guest_discovery(layout: &Layout, share: &Share) -> Result<Option<Vec<GuestFile>>> {
    let setting = crate::discovery::discovery_setting(layout)?;
    if !setting.enabled || (layout.is_sandbox() && setting.interfaces.is_empty()) {
        return Ok(None);
    }
    let inside = Discovery {
        enabled: true,
        interfaces: vec!["eth0".into()],
    };
    let mut served = share.clone();
    served.mode = Placement::Native;
    Ok(Some(vec![
        GuestFile {
            path: WSDD_DEFAULT.into(),
            mode: 0o644,
            content: inside.wsdd_default_file(),
        },
        GuestFile {
            path: AVAHI_SERVICE.into(),
            mode: 0o644,
            content: discovery::avahi_service(445, &[served]),
        },
    ]))
}

pub(crate) fn smb_answers(ip: &str) -> bool {
    ip.parse::<IpAddr>()
        .is_ok_and(|a| TcpStream::connect_timeout(&SocketAddr::new(a, 445), Duration::from_millis(500)).is_ok())
}

/// A guest's new memory must fit the node too (`what`: the property, ct-memory or vm-memory).
pub(crate) fn check_guest_memory(bridge: &str, new: u32, old: u32, what: &str) -> Result<()> {
    match new == old {
        true => Ok(()),
        false => check_resources(bridge, new, what),
    }
}

/// The bridge must exist and the memory fit the node, before a guest is made.
pub(crate) fn check_resources(bridge: &str, memory_mib: u32, what: &str) -> Result<()> {
    if !Path::new("/sys/class/net").join(bridge).join("bridge").is_dir() {
        bail_field!("bridge", "bridge {bridge} does not exist on this node");
    }
    let total_mib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map(|kib| kib / 1024)
        .unwrap_or(u64::MAX);
    if u64::from(memory_mib) > total_mib {
        bail_field!(
            what,
            "{what} {memory_mib} MiB is more than this node has ({total_mib} MiB)"
        );
    }
    Ok(())
}

/// Refuse, before anything is created, a guest whose volumes do not fit on `storage`: PVE would
/// find out half-way, while allocating.
pub(crate) fn check_storage_room(storage: &str, content: &str, needed: u64, what: &str, flag: &str) -> Result<()> {
    let field = flag.trim_start_matches('-');
    let free = pve::storage_free(storage, content).field(field)?;
    if free < needed {
        bail_field!(
            field,
            "storage {storage} has {} free, but {what} needs {}; free space on it or choose another {flag}",
            format_size_down(free),
            format_size(needed)
        );
    }
    Ok(())
}

/// `format_size`, rounded down: free space just short of 3G must not read "3.00G".
fn format_size_down(bytes: u64) -> String {
    let shift = [40, 30, 20, 10].into_iter().find(|s| bytes >> s > 0).unwrap_or(0);
    if shift == 0 || bytes.is_multiple_of(1 << shift) {
        return format_size(bytes);
    }
    let hundredths = (u128::from(bytes) * 100) >> shift;
    let unit = match shift {
        40 => 'T',
        30 => 'G',
        20 => 'M',
        _ => 'K',
    };
    format!("{}.{:02}{unit}", hundredths / 100, hundredths % 100)
}

/// The guest id: the one asked for (refused when in use), else the next free one from 100.
/// `used` are the ids of existing guests, `taken` the ids other shares hold, `reserved` one
/// more to avoid (a VM's template).
fn pick_guest_id(asked: Option<u32>, used: &[u32], taken: &[u32], reserved: Option<u32>, flag: &str) -> Result<u32> {
    let busy = |id: u32| used.contains(&id) || taken.contains(&id) || reserved == Some(id);
    match asked {
        Some(id) if busy(id) => bail_field!(
            flag.trim_start_matches('-'),
            "guest id {id} is in use; choose another {flag} or leave it out"
        ),
        Some(id) => Ok(id),
        None => Ok((100..).find(|&i| !busy(i)).expect("a free guest id")),
    }
}

impl Gateway {
    /// Guest ids in use: containers and VMs of every node (on a host), or of the sandbox.
    fn guest_ids_in_use(&self) -> Vec<u32> {
        let dirs: Vec<PathBuf> = if self.layout.is_sandbox() {
            vec![self.layout.pve_lxc_dir.clone(), pve::qemu_dir(&self.layout)]
        } else {
            let nodes = std::fs::read_dir("/etc/pve/nodes").into_iter().flatten().flatten();
            nodes
                .flat_map(|n| [n.path().join("lxc"), n.path().join("qemu-server")])
                .collect()
        };
        let mut ids = Vec::new();
        for dir in dirs {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let name = entry.file_name().to_string_lossy().to_string();
                if let Some(id) = name.strip_suffix(".conf").and_then(|i| i.parse().ok()) {
                    ids.push(id);
                }
            }
        }
        ids
    }

    /// The guest id for a new share's guest (see `pick_guest_id`).
    pub(crate) fn choose_guest_id(
        &self,
        asked: Option<u32>,
        taken: &[u32],
        reserved: Option<u32>,
        flag: &str,
    ) -> Result<u32> {
        pick_guest_id(asked, &self.guest_ids_in_use(), taken, reserved, flag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_round_down() {
        assert_eq!(format_size_down((3 << 30) - 1024), "2.99G");
        assert_eq!(format_size_down(3 << 30), "3G");
        assert_eq!(format_size_down(1536 << 20), "1.50G");
        assert_eq!(format_size_down(512), "512B");
        assert_eq!(format_size_down(2047), "1.99K");
    }

    #[test]
    fn guest_names() {
        assert_eq!(guest_name("Team Data$"), "smbgw-team-data");
        assert_eq!(guest_name("a".repeat(80).as_str()).len(), 63);
    }

    #[test]
    fn guest_ids() {
        // the first free one from 100, past guests, other shares and the template
        assert_eq!(
            pick_guest_id(None, &[100, 102], &[101], Some(103), "--vm-id").unwrap(),
            104
        );
        assert_eq!(pick_guest_id(Some(500), &[100], &[], None, "--ct-id").unwrap(), 500);
        for (used, taken, reserved) in [
            (&[500][..], &[][..], None),
            (&[], &[500][..], None),
            (&[], &[], Some(500)),
        ] {
            let err = pick_guest_id(Some(500), used, taken, reserved, "--ct-id").unwrap_err();
            assert!(
                err.message.contains("guest id 500 is in use; choose another --ct-id"),
                "{}",
                err.message
            );
        }
    }

    #[test]
    fn the_guest_serves_its_share_at_the_mount() {
        let props = [("mode", "lxc"), ("path", "/srv/team"), ("comment", "Team")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let share = Share::from_properties("team", &props).unwrap();
        let rendered = render_inside(&share, None, None);
        let text: String = rendered.shares.values().cloned().collect();
        assert!(text.contains("\tpath = /srv/share\n"), "{text}");
        assert!(!text.contains("dfree"), "{text}");
        assert!(!text.contains("/srv/team"), "{text}");
        // snapshots where the placement shows them, and only there
        let mut zfs = share.clone();
        (zfs.shadow_copies, zfs.quota_backend) = (true, smbgw_core::QuotaBackend::Zfs);
        let shown: String = render_inside(&zfs, Some(guest::SNAPSHOT_MOUNT), None)
            .shares
            .into_values()
            .collect();
        assert!(shown.contains("/srv/snapshots"), "{shown}");
        let hidden: String = render_inside(&zfs, None, None).shares.into_values().collect();
        assert!(!hidden.contains("/srv/snapshots"), "{hidden}");
    }

    #[test]
    fn a_guest_in_the_domain_is_a_member_under_its_own_name() {
        use smbgw_core::ad::{AdJoin, IDMAP_DEFAULT, IDMAP_DOMAIN};
        let props = [("mode", "lxc"), ("path", "/srv/team"), ("users", "EXAMPLE\\alice")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let share = Share::from_properties("team", &props).unwrap();
        let state = AdState {
            join: AdJoin {
                domain: "example.test".into(),
                realm: "EXAMPLE.TEST".into(),
                workgroup: "EXAMPLE".into(),
                netbios_name: "NODE1".into(),
                dc: Some("dc1.example.test".into()),
                ou: None,
                idmap_default: IDMAP_DEFAULT,
                idmap_domain: IDMAP_DOMAIN,
                joined_at: 0,
            },
            online: false,
            since: 0,
            last_check: None,
            last_success: None,
            last_error: None,
        };
        let dir = tempfile::tempdir().unwrap();
        let samba = Samba::new(Layout::sandbox(dir.path(), [127, 0, 0, 1].into(), 445).unwrap());
        let setup = guest_setup_with(&samba, &share, None, Some((&state, "SMBGW-CT105"))).unwrap();
        // domain accounts are no local accounts inside
        assert!(setup.users.is_empty() && setup.password_hashes.is_empty());
        let conf = &setup.samba_files[0].content;
        for line in [
            "security = ads",
            "netbios name = SMBGW-CT105",
            "idmap config EXAMPLE : backend = rid",
            "idmap config EXAMPLE : range = 3000000-5999999",
        ] {
            assert!(conf.contains(line), "{line}: {conf}");
        }
        assert!(!conf.contains("NODE1"), "{conf}");
        let domain = setup.domain.unwrap();
        assert_eq!(domain.netbios_name, "SMBGW-CT105");
        assert!(domain.krb5_conf.content.contains("kdc = dc1.example.test"));
        // without a membership the guest stays a standalone server
        let local = guest_setup_with(&samba, &share, None, None).unwrap();
        assert!(local.domain.is_none());
        assert!(!local.samba_files[0].content.contains("security = ads"));
    }

    #[test]
    fn a_guest_answers_discovery_as_the_node_says() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::sandbox(dir.path(), [127, 0, 0, 1].into(), 445).unwrap();
        let props = [
            ("mode", "lxc"),
            ("path", "/srv/tm"),
            ("macos", "1"),
            ("time-machine", "1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let share = Share::from_properties("tm", &props).unwrap();
        // a sandbox names its interfaces first
        assert_eq!(guest_discovery(&layout, &share).unwrap(), None);
        std::fs::create_dir_all(&layout.state_dir).unwrap();
        let setting = layout.state_dir.join("discovery.cfg");
        std::fs::write(&setting, "discovery=on\ninterfaces=lo\n").unwrap();
        let files = guest_discovery(&layout, &share).unwrap().expect("discovery on");
        // the guest's own interface, and its own smbd with the Time Machine share
        assert_eq!(files[0].path, Path::new(WSDD_DEFAULT));
        assert!(
            files[0].content.contains("WSDD_PARAMS=\"--interface eth0\""),
            "{}",
            files[0].content
        );
        assert_eq!(files[1].path, Path::new(AVAHI_SERVICE));
        assert!(
            files[1]
                .content
                .contains("<type>_smb._tcp</type>\n    <port>445</port>"),
            "{}",
            files[1].content
        );
        assert!(
            files[1].content.contains("dk0=adVN=tm,adVF=0x82"),
            "{}",
            files[1].content
        );
        std::fs::write(&setting, "discovery=off\ninterfaces=lo\n").unwrap();
        assert_eq!(guest_discovery(&layout, &share).unwrap(), None);
    }
}
