//! The parameters of `discovery`: the node's discovery setting (core/src/discovery.rs), shown
//! without parameters, changed with them; the CLI's `discovery` command and the API's
//! GET/PUT `discovery` (it is one of `OPERATIONS`).

use super::{param, text, Cli, Kind, Property};

pub const DISCOVERY: &[Property] = &[
    param(
        "discovery",
        Kind::Enum(&["on", "off"]),
        Cli::Long("on|off"),
        "Advertise this node's SMB server: WS-Discovery (wsdd) for Windows' Network view and mDNS (Avahi's service file) for macOS Finder. Default: on.",
    ),
    param(
        "interfaces",
        text(1024),
        Cli::Long("LIST"),
        "Interfaces wsdd answers on, e.g. 'vmbr0,eth1' (each must exist on this node); empty: every interface.",
    ),
];
