//! Hosts and networks: DNS domain names, host names or addresses (a domain controller), and
//! the entries of `hosts allow` / `hosts deny`, parsed into `HostNet` and normalised to the
//! form smbd reads.
//!
//! Apart from the other checks in `mod.rs` because host entries are parsed, not only checked:
//! `Share::check_hosts` (crates/core/src/share/hosts.rs) compares the parsed networks of allow
//! and deny, and the rules mirror how smbd matches clients (addresses only, `hostname lookups =
//! no`).

use std::net::IpAddr;

use super::{check_no_control, list};
use crate::{bail_input, Result};

/// One label of a DNS name: letters, digits and '-', not at either end, at most 63 characters.
fn label_ok(l: &str) -> bool {
    !l.is_empty()
        && l.len() <= 63
        && !l.starts_with('-')
        && !l.ends_with('-')
        && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// A DNS domain name such as `example.com`: at least two labels of letters, digits and '-'.
pub fn domain_name(what: &str, name: &str) -> Result<()> {
    let ok = name.len() <= 253
        && name.contains('.')
        && name.split('.').all(label_ok)
        && !name
            .rsplit('.')
            .next()
            .unwrap_or("")
            .chars()
            .all(|c| c.is_ascii_digit());
    if !ok {
        check_no_control(what, name)?;
        bail_input!("{what} {name:?} is not a valid DNS domain name such as example.com");
    }
    Ok(())
}

/// A host name or an IP address (of a domain controller, say).
pub fn host_name(what: &str, name: &str) -> Result<()> {
    if name.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    if !name.contains('.') {
        // a short name: one label
        if domain_name(what, &format!("{name}.x")).is_ok() {
            return Ok(());
        }
    } else if domain_name(what, name).is_ok() {
        return Ok(());
    }
    check_no_control(what, name)?;
    bail_input!("{what} {name:?} is not a host name or an IP address")
}

/// A host for `hosts allow` / `hosts deny`, parsed: an address (prefix at its maximum) or a
/// network. Samba compares client addresses only: the gateway leaves `hostname lookups` at
/// Samba's default (no), so host names and `LOCAL` never match and are refused, not stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostNet {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl HostNet {
    fn max_prefix(addr: IpAddr) -> u8 {
        if addr.is_ipv4() {
            32
        } else {
            128
        }
    }

    /// `addr` with every bit after the first `prefix` cleared.
    fn masked(addr: IpAddr, prefix: u8) -> IpAddr {
        match addr {
            IpAddr::V4(a) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                IpAddr::V4((u32::from(a) & mask).into())
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                IpAddr::V6((u128::from(a) & mask).into())
            }
        }
    }

    /// Whether every address of `other` is also in `self`.
    pub fn contains(&self, other: &HostNet) -> bool {
        self.addr.is_ipv4() == other.addr.is_ipv4()
            && self.prefix <= other.prefix
            && Self::masked(other.addr, self.prefix) == self.addr
    }
}

/// The normalised form Samba is given: `10.0.0.1`, `10.0.0.0/8`, `fd00::/64` (lower case).
impl std::fmt::Display for HostNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.prefix == Self::max_prefix(self.addr) {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

/// An IP address; an IPv4-mapped IPv6 address is the IPv4 address Samba sees for that client.
fn ip_address(text: &str) -> Option<IpAddr> {
    match text.parse::<IpAddr>().ok()? {
        IpAddr::V6(v6) => Some(v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)),
        v4 => Some(v4),
    }
}

/// A decimal IPv4 octet as people write them, without leading zeros (which inet_aton would
/// read as octal).
fn octet(text: &str) -> Option<u8> {
    let ok = !text.is_empty() && text.len() <= 3 && text.bytes().all(|b| b.is_ascii_digit());
    (ok && (text == "0" || !text.starts_with('0')))
        .then(|| text.parse().ok())
        .flatten()
}

/// Parse a `hosts allow` / `hosts deny` entry: an address, a network as `ADDR/PREFIX` or
/// `ADDR/NETMASK`, or Samba's prefix form `10.0.0.` (= 10.0.0.0/24).
pub fn host_network(entry: &str) -> Result<HostNet> {
    let what = "an IPv4/IPv6 address or a network such as 10.0.0.0/8, 10.0.0. or fd00::/64";
    check_no_control("host", entry)?;
    if entry.eq_ignore_ascii_case("ALL") {
        bail_input!("host entry {entry:?} is a Samba keyword; to match every host give 0.0.0.0/0,::/0");
    }
    if entry.eq_ignore_ascii_case("LOCAL") {
        bail_input!(
            "host entry {entry:?} is a Samba keyword for client names without a dot; smbd does not look up client names (hostname lookups = no), so it would match nothing you mean: give addresses, e.g. 127.0.0.1,::1"
        );
    }
    if ["EXCEPT", "FAIL"].iter().any(|k| k.eq_ignore_ascii_case(entry)) {
        bail_input!("host entry {entry:?} is a Samba keyword, not a host; give addresses or networks, and the exceptions in --hosts-deny");
    }
    // Samba's prefix form: 1-3 leading octets and a trailing dot
    if let Some(head) = entry.strip_suffix('.') {
        let octets: Option<Vec<u8>> = head.split('.').map(octet).collect();
        if let Some(octets) = octets.filter(|o| (1..=3).contains(&o.len())) {
            let mut bytes = [0u8; 4];
            bytes[..octets.len()].copy_from_slice(&octets);
            return Ok(HostNet {
                addr: IpAddr::from(bytes),
                prefix: 8 * octets.len() as u8,
            });
        }
    }
    if let Some((addr_text, prefix_text)) = entry.split_once('/') {
        let Some(addr) = ip_address(addr_text) else {
            bail_input!("host entry {entry:?} is not valid: expected {what}");
        };
        let max = HostNet::max_prefix(addr);
        // the prefix length in decimal (leading zeros dropped: Samba would read "08" as
        // octal and fail), or an IPv4 netmask such as 255.255.0.0
        let prefix = match (prefix_text.parse::<std::net::Ipv4Addr>(), addr) {
            (Ok(mask), IpAddr::V4(_)) => {
                let bits = u32::from(mask);
                (bits.leading_ones() + bits.trailing_zeros() == 32).then(|| bits.leading_ones() as u8)
            }
            _ if (1..=3).contains(&prefix_text.len()) && prefix_text.bytes().all(|b| b.is_ascii_digit()) => {
                prefix_text.parse::<u8>().ok().filter(|p| *p <= max)
            }
            _ => None,
        };
        let Some(prefix) = prefix else {
            bail_input!("host entry {entry:?} has an invalid prefix length: expected 0-{max} (or an IPv4 netmask such as 255.255.255.0)");
        };
        let network = HostNet::masked(addr, prefix);
        if network != addr {
            bail_input!(
                "host entry {entry:?} has host bits set after its /{prefix} prefix: give the network {network}/{prefix}, or the single host {addr}"
            );
        }
        return Ok(HostNet { addr, prefix });
    }
    if let Some(addr) = ip_address(entry) {
        return Ok(HostNet {
            addr,
            prefix: HostNet::max_prefix(addr),
        });
    }
    if entry.len() <= 253 && entry.split('.').all(label_ok) && !entry.chars().all(|c| c.is_ascii_digit() || c == '.') {
        let example = if entry.eq_ignore_ascii_case("localhost") {
            "127.0.0.1,::1".to_string()
        } else {
            format!("the address 'getent hosts {entry}' prints")
        };
        bail_input!(
            "host entry {entry:?} is a host name: smbd does not look up client names (hostname lookups = no), so a name never matches; give the host's address instead, e.g. {example}"
        );
    }
    bail_input!("host entry {entry:?} is not valid: expected {what}")
}

/// Check a `hosts allow` / `hosts deny` entry (see `host_network`).
pub fn host_entry(entry: &str) -> Result<()> {
    host_network(entry).map(|_| ())
}

/// A list of host entries in the form Samba is given: normalised, each network once.
pub fn host_list(what: &str, value: &str) -> Result<Vec<String>> {
    let mut out: Vec<(HostNet, &str)> = Vec::new();
    for entry in list(what, value)? {
        let net = host_network(entry).map_err(|e| crate::Error::input(format!("--{what}: {}", e.message)))?;
        if let Some((_, first)) = out.iter().find(|(n, _)| *n == net) {
            bail_input!("{what} lists {net} twice (as {first:?} and {entry:?})");
        }
        out.push((net, entry));
    }
    Ok(out.into_iter().map(|(n, _)| n.to_string()).collect())
}
