//! The parameters of a Samba user: adding one, changing its password, deleting it.

use super::{param, required, Cli, Kind, Property};

pub const USER: &[Property] = &[
    required(param(
        "user",
        super::formatted("smbgw-account", Some(32)),
        Cli::Positional("USER"),
        "User name",
    )),
    required(param(
        "password",
        Kind::Secret,
        Cli::Hidden,
        "The user's Samba password.",
    )),
    param(
        "groups",
        Kind::Groups,
        Cli::Long("LIST"),
        "Add the user to these groups (comma separated; created if missing)",
    ),
];
