//! The parameters of `io-history` and `quota-history`: how far back each looks. The limits are
//! what the gateway keeps (gateway/src/smb_profile.rs, gateway/src/quota.rs).

use super::{defaults, param, Cli, Kind, Property};

/// Hours of SMB throughput samples the history keeps.
pub const MAX_HOURS: u32 = 48;
/// Days of quota usage samples the history keeps.
pub const MAX_DAYS: u32 = 90;

pub const IO_HISTORY: &[Property] = &[defaults(
    param(
        "hours",
        Kind::Integer { min: 1, max: MAX_HOURS },
        Cli::Long("N"),
        "How many hours back.",
    ),
    "2",
)];

pub const QUOTA_HISTORY: &[Property] = &[defaults(
    param(
        "days",
        Kind::Integer { min: 1, max: MAX_DAYS },
        Cli::Long("N"),
        "How many days back.",
    ),
    "2",
)];
