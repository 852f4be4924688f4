//! The share properties: what a share is, as stored in `shares.cfg` and given on create and
//! update. The guest properties among them size and place an lxc or vm share's guest; their
//! ranges are the ones `guest.rs` checks.

use super::{fixed, formatted, prop, Cli, Kind, Property};

/// A PVE guest id (VMID): 100 to 999999999.
const GUEST_ID: Kind = Kind::Integer {
    min: 100,
    max: 999_999_999,
};
/// Container memory in MiB: 128 MiB (smbd and systemd) to 64 GiB.
const CT_MEMORY: Kind = Kind::Integer { min: 128, max: 65536 };
/// VM memory in MiB: 512 MiB (a booting Debian with smbd) to 256 GiB.
const VM_MEMORY: Kind = Kind::Integer { min: 512, max: 262_144 };
/// Virtual CPU cores of a VM: 1 to 128 (qemu-server's limit).
const VM_CORES: Kind = Kind::Integer { min: 1, max: 128 };

pub const MODES: &[&str] = &["native", "lxc", "vm"];
pub const CASE_SENSITIVITY: &[&str] = &["auto", "yes", "no"];
pub const QUOTA_BACKENDS: &[&str] = crate::QuotaBackend::NAMES;
pub const ACL_MODES: &[&str] = &["posix", "windows"];

pub const SHARE_PROPERTIES: &[Property] = &[
    fixed("mode", Kind::Enum(MODES), "Where Samba serves the share: on the host (native), in a managed container (lxc) or in a dedicated VM (vm).", Some("native")),
    prop("path", Kind::Path, "Absolute path of the shared directory on the node; created if missing. With --storage optional (default: the share's place on that storage) and inside the storage.", None),
    fixed(
        "storage",
        Kind::Word("smbgw-storage"),
        "PVE storage (storage.cfg) to put the share on, as pct does with --rootfs STORAGE:SIZE: the directory smbgateway/NAME under its path (dir; btrfs: a subvolume; cephfs: a CephFS directory) or the dataset smbgw-NAME of a zfspool. The storage must be enabled on this node, and mounted.",
        None,
    ),
    prop("comment", Kind::Text, "Description shown to SMB clients.", None),
    prop("read-only", Kind::Bool, "Refuse all writes.", Some("0")),
    prop("browseable", Kind::Bool, "List the share when clients browse the server.", Some("1")),
    prop("guest", Kind::Bool, "Allow access without a password (as the guest account).", Some("0")),
    prop(
        "users",
        Kind::Users,
        "Users allowed to connect (comma separated): local users, or domain users as DOMAIN\\name once the node is joined to Active Directory. Empty: every user.",
        None,
    ),
    prop(
        "groups",
        Kind::Groups,
        "Groups whose members may connect (comma separated): local groups, or domain groups as DOMAIN\\name.",
        None,
    ),
    prop("hosts-allow", Kind::Hosts, "Only these hosts or networks may connect (comma separated).", None),
    prop("hosts-deny", Kind::Hosts, "These hosts or networks may not connect (comma separated).", None),
    prop("quota", Kind::Size, "Maximum size of the share, e.g. 500M, 10G, 1.5T (binary units).", None),
    fixed(
        "quota-backend",
        Kind::Enum(QUOTA_BACKENDS),
        "How the quota is enforced: btrfs subvolume qgroup, ZFS dataset refquota, ext4/XFS project quota or CephFS directory quota (ceph.quota.max_bytes); auto detects it from the filesystem.",
        Some("auto"),
    ),
    fixed(
        "zfs-dataset",
        Kind::Dataset,
        "ZFS dataset of the share (created, mounted at the path); default: a child of the dataset mounted at the path's parent.",
        None,
    ),
    prop(
        "user-quotas",
        Kind::UserQuotas,
        "Per-user and per-group limits inside the share (ZFS userquota/groupquota), e.g. alice=10G,@staff=100G.",
        None,
    ),
    prop("quota-alerts", Kind::Percents, "Usage percentages that raise an alert when crossed.", Some("80,90,95")),
    prop("shadow-copies", Kind::Bool, "Offer filesystem snapshots as Windows 'Previous Versions'.", Some("0")),
    prop("recycle-bin", Kind::Bool, "Move deleted files to a .recycle folder instead of deleting them.", Some("0")),
    prop("macos", Kind::Bool, "Tune the share for macOS clients (vfs_fruit, Time Machine friendly).", Some("0")),
    prop(
        "streams",
        Kind::Bool,
        "Alternate data streams (vfs_streams_xattr): named streams Windows and macOS write beside a file's data (Zone.Identifier of downloads, Office and Finder metadata), kept in the file's extended attributes. --macos needs them.",
        Some("1"),
    ),
    prop("audit", Kind::Bool, "Log every file operation to syslog (vfs_full_audit).", Some("0")),
    prop("encrypt", Kind::Bool, "Require SMB3 encryption for this share.", Some("0")),
    prop("case-sensitive", Kind::Enum(CASE_SENSITIVITY), "Case sensitivity of file names.", Some("auto")),
    fixed("ct-id", GUEST_ID, "Mode lxc: id of the container (default: the next free id).", None),
    fixed("ct-template", Kind::Word("smbgw-ct-template"), "Mode lxc: container template (volume id).", Some(crate::guest::DEFAULT_TEMPLATE)),
    prop("ct-memory", CT_MEMORY, "Mode lxc: memory of the container in MiB.", Some("512")),
    fixed("ct-storage", Kind::Word("smbgw-storage"), "Mode lxc: PVE storage for the container's root disk.", Some("local-lvm")),
    fixed("vm-id", GUEST_ID, "Mode vm: VMID of the share's VM (default: the next free id).", None),
    fixed("vm-template", GUEST_ID, "Mode vm: VMID of the template VM the share's VM is cloned from (scripts/create_vm_template.sh).", Some(crate::guest::DEFAULT_VM_TEMPLATE)),
    prop("vm-memory", VM_MEMORY, "Mode vm: memory of the VM in MiB.", Some("1024")),
    prop("vm-cores", VM_CORES, "Mode vm: CPU cores of the VM.", Some("1")),
    fixed("vm-storage", Kind::Word("smbgw-storage"), "Mode vm: PVE storage for the VM's disks (system disk and the share's data disk).", Some("local-lvm")),
    fixed("bridge", Kind::Word("smbgw-bridge"), "Modes lxc and vm: bridge the guest's network interface joins.", Some("vmbr0")),
    fixed("ip", Kind::Word("smbgw-ip"), "Modes lxc and vm: the guest's IPv4 address with prefix (e.g. 192.168.1.50/24), or dhcp.", Some("dhcp")),
    fixed("gateway", Kind::Word("smbgw-gateway"), "Modes lxc and vm: IPv4 default gateway of the guest.", None),
    prop(
        "fallback-local",
        Kind::Bool,
        "On a domain member: the share's local users and groups are a fallback, let in only while the domain is unreachable.",
        Some("0"),
    ),
    Property {
        cli: Cli::Renamed("option", "KEY=VALUE"),
        ..prop("options", Kind::Options, "Extra Samba parameters from an allow list, as KEY=VALUE (comma separated).", None)
    },
    prop(
        "time-machine",
        Kind::Bool,
        "Offer the share to macOS Time Machine as a backup destination (vfs_fruit 'fruit:time machine'). Needs --macos 1.",
        Some("0"),
    ),
    prop(
        "time-machine-max-size",
        Kind::Size,
        "Size Time Machine is told the share has, e.g. 500G (binary units), so it prunes old backups before filling it. At most --quota, which stays the hard stop underneath.",
        None,
    ),
    Property {
        cli: Cli::Long("SCHEDULE"),
        ..prop(
            "snapshot-schedule",
            formatted("smbgw-calendar-event", Some(256)),
            "When the daemon snapshots the share, in PVE's calendar event format (as for backup jobs), e.g. hourly, daily, '*:0/15', 'mon..fri 08..18:00', 'sat,sun 12:00'; the node's local time unless it ends in UTC. Windows shows the snapshots as Previous Versions with --shadow-copies 1.",
            None,
        )
    },
    Property {
        cli: Cli::Long("KEEP"),
        ..prop(
            "snapshot-keep",
            formatted("smbgw-prune-keep", Some(256)),
            "Which scheduled snapshots the daemon keeps, in PVE's prune format: keep-last=N,keep-hourly=N,keep-daily=N,keep-weekly=N,keep-monthly=N,keep-yearly=N, e.g. keep-last=3,keep-daily=7 (as PVE and PBS prune). Unset: every snapshot is kept. Needs --snapshot-schedule.",
            None,
        )
    },
    Property {
        cli: Cli::Long("ID"),
        ..prop(
            "backup-storage",
            Kind::Word("smbgw-storage"),
            "The PVE storage of type pbs (storage.cfg) the daemon backs the share up to on --backup-schedule, from a snapshot of the share ('backup create' takes any storage).",
            None,
        )
    },
    Property {
        cli: Cli::Long("SCHEDULE"),
        ..prop(
            "backup-schedule",
            formatted("smbgw-calendar-event", Some(256)),
            "When the daemon backs the share up to --backup-storage, in PVE's calendar event format (as for backup jobs), e.g. daily, 'sat 02:00'; the node's local time unless it ends in UTC. Needs --backup-storage and a filesystem with snapshots.",
            None,
        )
    },
    Property {
        cli: Cli::Long("KEEP"),
        ..prop(
            "backup-keep",
            formatted("smbgw-prune-keep", Some(256)),
            "Which backups of the share PBS keeps, pruned on the server after each scheduled backup, in PVE's prune format, e.g. keep-daily=7,keep-weekly=4. Unset: every backup is kept. Needs --backup-schedule.",
            None,
        )
    },
    prop(
        "acl-mode",
        Kind::Enum(ACL_MODES),
        "Who owns the permissions inside the share: posix (the gateway grants --users and --groups on every file) or windows (Windows ACLs in security.NTACL via vfs_acl_xattr, edited from Explorer's Security tab; the gateway sets only the initial owner and administrators entry). Native shares only.",
        Some("posix"),
    ),
    prop(
        "access-based-enum",
        Kind::Bool,
        "List the share only to users who may connect to it (Samba 'access based share enum': its users and groups, hosts aside).",
        Some("0"),
    ),
    prop(
        "hide-unreadable",
        Kind::Bool,
        "Hide files and folders the connected user cannot read from directory listings (Samba 'hide unreadable').",
        Some("0"),
    ),
    fixed(
        "homes",
        Kind::Bool,
        "Home share: each of the share's users (and each member of its groups) gets a private folder NAME under --path, owned by them with mode 0700, and connecting to the share lands in it. Local users and groups; mode native; one per node.",
        Some("0"),
    ),
    prop(
        "home-quota",
        Kind::Size,
        "Home share: maximum size of each user's folder, e.g. 10G (binary units); on btrfs each folder is its own subvolume with this qgroup limit.",
        None,
    ),
];

pub fn property(name: &str) -> Option<&'static Property> {
    SHARE_PROPERTIES.iter().find(|p| p.name == name)
}

/// The properties of a share's container or VM (modes lxc and vm), served to the UI as `guest`.
pub const GUEST_PROPERTIES: &[&str] = &[
    "ct-id",
    "ct-template",
    "ct-memory",
    "ct-storage",
    "vm-id",
    "vm-template",
    "vm-memory",
    "vm-cores",
    "vm-storage",
    "bridge",
    "ip",
    "gateway",
];
