//! The node's Active Directory membership as the gateway recorded it at `ad-join`: what the
//! Samba and Kerberos configuration is rendered from, and the domain's health as last seen.
//! It is node-local state (each node has its own machine account), kept as JSON in the state
//! directory; no file means the node is not joined.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{Error, Layout, Result};

pub const STATE_FILE: &str = "ad.json";

/// An idmap range, inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdRange {
    pub low: u32,
    pub high: u32,
}

impl IdRange {
    pub fn overlaps(&self, low: u32, high: u32) -> bool {
        self.low <= high && low <= self.high
    }
}

impl std::fmt::Display for IdRange {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{}-{}", self.low, self.high)
    }
}

/// Domain ids map above everything local: Debian's users (1000-59999), sandbox accounts
/// (20000+) and the subordinate ids PVE gives unprivileged containers (100000-165535, more
/// with several ranges). `rid` keeps the mapping identical on every node.
pub const IDMAP_DEFAULT: IdRange = IdRange {
    low: 2_000_000,
    high: 2_999_999,
};
pub const IDMAP_DOMAIN: IdRange = IdRange {
    low: 3_000_000,
    high: 5_999_999,
};

/// A completed join.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct AdJoin {
    /// DNS domain, lower case (example.com).
    pub domain: String,
    /// Kerberos realm, upper case (EXAMPLE.COM).
    pub realm: String,
    /// The domain's NetBIOS name (EXAMPLE).
    pub workgroup: String,
    /// This node's NetBIOS name in the domain.
    pub netbios_name: String,
    /// The DC given at join time; `None`: found through DNS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ou: Option<String>,
    pub idmap_default: IdRange,
    pub idmap_domain: IdRange,
    /// Unix time.
    pub joined_at: u64,
}

/// The membership plus the domain's health.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct AdState {
    #[serde(flatten)]
    pub join: AdJoin,
    /// False while the domain is unreachable: `fallback-local` shares then let local users in.
    pub online: bool,
    /// When `online` last changed.
    pub since: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_check: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl AdState {
    pub fn path(layout: &Layout) -> PathBuf {
        layout.state_dir.join(STATE_FILE)
    }

    /// The recorded membership, `None` when the node is not joined.
    pub fn load(layout: &Layout) -> Result<Option<AdState>> {
        let path = Self::path(layout);
        let Some(data) = smbgw_sys::fs::read_optional(&path)? else {
            return Ok(None);
        };
        serde_json::from_slice(&data).map(Some).map_err(|e| {
            Error::system(format!(
                "{} is corrupt ({e}); run 'pve-smbgateway ad-leave' and join again",
                path.display()
            ))
        })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut data = serde_json::to_vec_pretty(self).expect("AD state serialises");
        data.push(b'\n');
        data
    }
}

/// Seconds since the epoch (the clock of `smbgw_sys::time`).
pub use smbgw_sys::time::now;
