//! What must hold before a node can join a domain, checked one by one so `ad-test` can print a
//! checklist with a fix for each failure and `ad-join` can refuse early with the same words.

use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use serde::Serialize;
use smbgw_core::Result;
use smbgw_samba::Samba;
use smbgw_sys::Command;

/// Kerberos refuses tickets beyond this skew (MIT and AD default: 5 minutes).
pub const MAX_CLOCK_SKEW: i64 = 300;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Clone, Debug, Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    pub(crate) fn pass(name: &str, detail: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            ok: true,
            detail: detail.into(),
            fix: None,
        }
    }
    pub(crate) fn fail(name: &str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            ok: false,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

/// SRV records of a service, as (target host, port), best first.
pub fn srv_records(name: &str) -> Result<Vec<(String, u16)>> {
    let out = Command::new("dig")
        .args(["+short", "+time=2", "+tries=2", "SRV", name])
        .timeout(Duration::from_secs(15))
        .run()?;
    let mut records: Vec<(u16, u16, String, u16)> = out
        .stdout
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            match f[..] {
                [prio, weight, port, target] => Some((
                    prio.parse().ok()?,
                    u16::MAX - weight.parse::<u16>().ok()?,
                    target.trim_end_matches('.').to_string(),
                    port.parse().ok()?,
                )),
                _ => None,
            }
        })
        .collect();
    records.sort();
    Ok(records.into_iter().map(|(_, _, host, port)| (host, port)).collect())
}

fn resolve(host: &str) -> Option<IpAddr> {
    (host, 0).to_socket_addrs().ok()?.next().map(|a| a.ip())
}

fn port_open(ip: IpAddr, port: u16) -> bool {
    TcpStream::connect_timeout(&SocketAddr::new(ip, port), CONNECT_TIMEOUT).is_ok()
}

/// The outcome of the preflight: the checklist and the DC to use when every check passed.
pub struct Preflight {
    pub checks: Vec<Check>,
    pub dc: Option<String>,
}

impl Preflight {
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    /// The failures as one error message (for `ad-join`).
    pub fn failures(&self) -> String {
        self.checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| format!("{}: {} (fix: {})", c.name, c.detail, c.fix.as_deref().unwrap_or("-")))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Check DNS, the DC's ports and the clock for joining `domain` (through `dc` if given).
pub fn run(samba: &Samba, domain: &str, dc: Option<&str>) -> Preflight {
    let realm = domain.to_ascii_uppercase();
    let mut checks = Vec::new();
    let ldap_srv = format!("_ldap._tcp.dc._msdcs.{domain}");
    let kerberos_srv = format!("_kerberos._tcp.{domain}");
    let dns_fix = format!(
        "point this node's DNS resolver (/etc/resolv.conf) at a DNS server of {domain}, usually a domain controller"
    );
    let srv = |name: &str| srv_records(name).unwrap_or_default();
    let dcs = srv(&ldap_srv);
    let chosen = match dc {
        Some(dc) => {
            checks.push(Check::pass("domain controller", format!("{dc} (given with --dc)")));
            Some(dc.to_string())
        }
        None if dcs.is_empty() => {
            checks.push(Check::fail(
                "DNS SRV record",
                format!("no SRV record {ldap_srv}: no domain controller of {domain} is known to DNS"),
                format!("check the domain name, or {dns_fix}, or give a domain controller with --dc"),
            ));
            None
        }
        None => {
            let names: Vec<&str> = dcs.iter().map(|(h, _)| h.as_str()).collect();
            checks.push(Check::pass(
                "DNS SRV record",
                format!("{ldap_srv}: {}", names.join(", ")),
            ));
            Some(dcs[0].0.clone())
        }
    };
    if dc.is_none() && !dcs.is_empty() {
        let kdcs = srv(&kerberos_srv);
        checks.push(if kdcs.is_empty() {
            Check::fail(
                "Kerberos SRV record",
                format!("no SRV record {kerberos_srv}"),
                format!("add the Kerberos records of {domain} to DNS, or {dns_fix}"),
            )
        } else {
            Check::pass("Kerberos SRV record", format!("{kerberos_srv}: {}", kdcs[0].0))
        });
    }
    let Some(dc) = chosen else {
        return Preflight { checks, dc: None };
    };
    let Some(ip) = resolve(&dc) else {
        checks.push(Check::fail(
            "DC address",
            format!("{dc} does not resolve to an address"),
            format!("add an A record for {dc}, or {dns_fix}"),
        ));
        return Preflight { checks, dc: None };
    };
    checks.push(Check::pass("DC address", format!("{dc} is {ip}")));
    let mut reachable = true;
    for (port, what) in [(389, "LDAP"), (88, "Kerberos")] {
        checks.push(if port_open(ip, port) {
            Check::pass(&format!("{what} port"), format!("{ip}:{port} answers"))
        } else {
            reachable = false;
            Check::fail(
                &format!("{what} port"),
                format!("{ip}:{port} does not answer within {} s", CONNECT_TIMEOUT.as_secs()),
                format!("open TCP port {port} from this node to {dc} (firewall), and check that the DC is running"),
            )
        });
    }
    if reachable {
        checks.push(match samba.ads_info(&realm, &dc) {
            Ok(info) => match info.realm.as_deref() {
                Some(r) if !r.eq_ignore_ascii_case(&realm) => Check::fail(
                    "domain",
                    format!("{dc} serves the realm {r}, not {realm}"),
                    format!("join {} instead, or use a DC of {domain}", r.to_ascii_lowercase()),
                ),
                _ => clock_check(info.time_offset),
            },
            Err(e) => Check::fail(
                "domain",
                format!("{dc} does not answer as a domain controller of {domain}: {}", e.message),
                "check the domain name and that the host is an Active Directory domain controller",
            ),
        });
    }
    let ok = checks.iter().all(|c| c.ok);
    Preflight {
        checks,
        dc: ok.then_some(dc),
    }
}

/// The clock check from the DC's offset (seconds the DC is ahead of us).
pub fn clock_check(offset: Option<i64>) -> Check {
    match offset {
        Some(o) if o.abs() <= MAX_CLOCK_SKEW => Check::pass("clock", format!("skew to the DC: {o} s")),
        Some(o) => Check::fail(
            "clock",
            format!(
                "this node's clock is {} s {} the DC's; Kerberos allows at most {MAX_CLOCK_SKEW} s",
                o.abs(),
                if o > 0 { "behind" } else { "ahead of" }
            ),
            "synchronise the clock (chrony: 'chronyc makestep'), ideally with the DC as time source",
        ),
        None => Check::fail(
            "clock",
            "the DC did not report its time",
            "check that the host is an Active Directory domain controller",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_skew_limits() {
        assert!(clock_check(Some(0)).ok);
        assert!(clock_check(Some(300)).ok);
        assert!(clock_check(Some(-300)).ok);
        let ahead = clock_check(Some(-301));
        assert!(!ahead.ok);
        assert!(ahead.detail.contains("301 s ahead of the DC's"), "{}", ahead.detail);
        let behind = clock_check(Some(3600));
        assert!(behind.detail.contains("3600 s behind"), "{}", behind.detail);
        assert!(behind.fix.is_some());
        assert!(!clock_check(None).ok);
    }
}
