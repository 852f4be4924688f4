//! The parameters of the CTDB cluster: setting it up with floating addresses (VIPs), moving a
//! VIP, and node maintenance.

use super::{defaults, formatted, param, required, text, Cli, Kind, Property};

/// The cluster lock used when none is given: RADOS when the node runs Ceph, else the
/// corosync helper (the gateway decides, see gateway/src/ha.rs).
pub const DEFAULT_LOCK: &str = "auto";

pub const HA_SETUP: &[Property] = &[
    required(param(
        "vip",
        text(1024),
        Cli::Long("LIST"),
        "Floating addresses with prefix, e.g. '10.1.1.100/24,10.1.1.101/24'.",
    )),
    required(param(
        "interface",
        formatted("pve-iface", None),
        Cli::Long("IFACE"),
        "Interface the VIPs are added to on every node.",
    )),
    param(
        "nodes",
        text(4096),
        Cli::Long("LIST"),
        "Cluster nodes: 'n1,n2' (addresses from the PVE cluster) or 'n1=10.0.0.1,...'. Default: every node of the PVE cluster.",
    ),
    defaults(
        param(
            "lock",
            text(512),
            Cli::Long("SPEC"),
            "Cluster lock: 'auto' (RADOS in the first CephFS metadata pool as client.smbgw-ctdb, made with caps for the lock object only, when this node runs Ceph, else corosync), 'corosync' (follows the quorate PVE partition), 'ceph:CLUSTER:USER:POOL:OBJECT' (a RADOS object; the pool must exist and the cephx user have mon and osd caps), 'file:/shared/path', or 'none' (with no-lock).",
        ),
        DEFAULT_LOCK,
    ),
    defaults(
        param("no-lock", Kind::Flag, Cli::Auto, "Allow lock 'none': split-brain risk."),
        "0",
    ),
    param(
        "tunable",
        Kind::Settings,
        Cli::Long("NAME=VALUE"),
        "CTDB tunables, e.g. 'KeepaliveInterval=2,KeepaliveLimit=5' (on the command line: one --tunable each).",
    ),
    param(
        "digest",
        text(64),
        Cli::Long("DIGEST"),
        "Refuse the change if the HA config changed since 'ha-status' showed this digest.",
    ),
];

const VIP: Property = required(param(
    "vip",
    formatted("ip", None),
    Cli::Long("IP"),
    "A floating address (VIP) of the cluster.",
));

pub const HA_FAILOVER: &[Property] = &[
    VIP,
    required(param(
        "node",
        formatted("pve-node", None),
        Cli::Renamed("to", "NODE"),
        "The node of the CTDB cluster to move the VIP to.",
    )),
];

pub const HA_NODE: &[Property] = &[
    required(param(
        "action",
        Kind::Enum(&["disable", "enable"]),
        Cli::Positional("ACTION"),
        "Disable (host no VIP) or enable the node.",
    )),
    required(param(
        "node",
        formatted("pve-node", None),
        Cli::Positional("NODE"),
        "A node of the CTDB cluster.",
    )),
];
