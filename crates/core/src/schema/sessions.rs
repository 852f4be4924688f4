//! The parameters of `sessions`: who is connected to smbd and what they hold, for all shares
//! or one, and ending one session (gateway/src/sessions.rs).

use super::{formatted, param, Cli, Kind, Property};
use crate::validate::MAX_SHARE_NAME;

pub const SESSIONS: &[Property] = &[
    param(
        "name",
        formatted("smbgw-share-name", Some(MAX_SHARE_NAME as u32)),
        Cli::Positional("NAME"),
        "Only the sessions using this share, and only its open files and locks.",
    ),
    // smbd's session ids are its 32-bit global ids
    param(
        "session",
        Kind::Integer { min: 1, max: u32::MAX },
        Cli::Renamed("disconnect", "SESSION-ID"),
        "End this session (its client connection: the smbd process serving it), as 'sessions' lists it.",
    ),
];
