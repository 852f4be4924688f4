//! The parameters of joining, testing and leaving an Active Directory domain, and of the
//! one-off join of an lxc share's container (`GUEST_JOIN`). Passwords are `Kind::Secret`: the
//! API takes them in the request body, the CLI from stdin or a prompt.

use super::{defaults, formatted, param, required, text, Cli, Kind, Property};

/// The domain account used when none is named.
pub const DEFAULT_ADMIN: &str = "Administrator";

const DOMAIN: Property = required(param(
    "domain",
    formatted("dns-name", Some(253)),
    Cli::Long("DOMAIN"),
    "DNS name of the Active Directory domain, e.g. example.com.",
));
const DC: Property = param(
    "dc",
    formatted("smbgw-host", Some(253)),
    Cli::Long("HOST"),
    "Domain controller to use instead of finding one through DNS.",
);
const ADMIN: Property = defaults(
    param(
        "user",
        text(64),
        Cli::Long("USER"),
        "Domain account allowed to join (or remove) computers.",
    ),
    DEFAULT_ADMIN,
);
const PASSWORD: Property = param(
    "password",
    Kind::Secret,
    Cli::Hidden,
    "Password of that account. It goes to Samba on a pipe, never on a command line.",
);

pub const AD_JOIN: &[Property] = &[
    DOMAIN,
    DC,
    param(
        "ou",
        text(256),
        Cli::Long("OU"),
        "Create the computer account in this OU, e.g. Servers/PVE.",
    ),
    param(
        "netbios",
        formatted("smbgw-netbios-name", Some(15)),
        Cli::Long("NAME"),
        "This node's NetBIOS name (default: its host name).",
    ),
    ADMIN,
    required(PASSWORD),
];

pub const AD_TEST: &[Property] = &[
    DOMAIN,
    DC,
    param(
        "user",
        text(64),
        Cli::Long("USER"),
        "Also check the credentials of this domain account.",
    ),
    PASSWORD,
];

pub const AD_LEAVE: &[Property] = &[ADMIN, PASSWORD];

/// The domain administrator who joins the container of an lxc share naming domain accounts to
/// the node's domain (`create`, `update`): parameters of that one change, never share
/// properties, so nothing stores them.
pub const GUEST_JOIN: &[Property] = &[
    param(
        "ad-user",
        text(64),
        Cli::Long("NAME"),
        "Domain administrator who joins the container of an lxc share naming domain accounts to the node's domain (as the computer SMBGW-CT<id>); for this change only, never stored. Its password: ad-password (the CLI reads it from --password-stdin or a prompt).",
    ),
    param(
        "ad-password",
        Kind::Secret,
        Cli::Hidden,
        "Password of ad-user, for this change only: it goes to Samba in the container on a pipe, never on a command line, and is not stored.",
    ),
];
