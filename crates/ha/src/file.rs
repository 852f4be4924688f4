//! The HA config file, `ha.cfg` beside `shares.cfg` in the config directory: the same PVE
//! section-config format (`smbgw_core::section`), so both cluster-wide files read, diff and
//! carry a digest alike.
//!
//! ```text
//! cluster: ctdb
//!     interface vmbr1
//!     vips 10.1.1.100/24,10.1.1.101/24
//!     lock corosync
//!     keepalive-interval 1
//!     keepalive-limit 3
//!     tunables MonitorInterval=15
//!     ad 0
//!
//! node: pve1
//!     address 10.0.0.1
//! ```
//! Node sections stand in PNN order: line N of ctdb's `nodes` file is PNN N, so the file order
//! is the cluster's order. Earlier versions wrote `ha.json`; [`parse_legacy_json`] still reads
//! it, and the next write of the HA config replaces it (see gateway's `ha.rs`).

use std::path::Path;

use smbgw_core::section::{self, Section};
use smbgw_core::{Error, Result};

use crate::config::{parse_vips, HaConfig, LockSpec, Node, Tunables};

pub const FILE: &str = "ha.cfg";
/// What versions before the section-config file wrote.
pub const LEGACY_FILE: &str = "ha.json";

const CLUSTER: &str = "cluster";
/// The one cluster section's name: the gateway runs one CTDB cluster.
const CLUSTER_NAME: &str = "ctdb";
const NODE: &str = "node";

pub fn render(cfg: &HaConfig) -> String {
    let extra: Vec<String> = cfg.tunables.extra.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut cluster = vec![
        ("interface", cfg.interface.clone()),
        (
            "vips",
            cfg.vips.iter().map(ToString::to_string).collect::<Vec<_>>().join(","),
        ),
        ("lock", cfg.lock.to_string()),
        ("keepalive-interval", cfg.tunables.keepalive_interval.to_string()),
        ("keepalive-limit", cfg.tunables.keepalive_limit.to_string()),
    ];
    if !extra.is_empty() {
        cluster.push(("tunables", extra.join(",")));
    }
    cluster.push(("ad", u8::from(cfg.ad).to_string()));
    let nodes = cfg
        .nodes
        .iter()
        .map(|n| (NODE, n.name.as_str(), vec![("address", n.address.to_string())]));
    section::render(std::iter::once((CLUSTER, CLUSTER_NAME, cluster)).chain(nodes))
}

pub fn parse(text: &str, origin: &Path) -> Result<HaConfig> {
    let mut cluster: Option<HaConfig> = None;
    let mut nodes = Vec::new();
    for s in section::parse(text, origin, &[CLUSTER, NODE], "cluster: ctdb")? {
        let corrupt = |e: Error| section::corrupt(origin, s.line, e.message);
        match s.kind.as_str() {
            CLUSTER if cluster.is_some() => {
                return Err(section::corrupt(origin, s.line, "a second cluster section"));
            }
            CLUSTER => cluster = Some(cluster_section(&s).map_err(corrupt)?),
            _ => nodes.push(node_section(&s).map_err(corrupt)?),
        }
    }
    let mut cfg = cluster.ok_or_else(|| section::corrupt(origin, 1, "no 'cluster: ctdb' section"))?;
    cfg.nodes = nodes;
    Ok(cfg)
}

/// `ha.json` as earlier versions wrote it.
pub fn parse_legacy_json(bytes: &[u8], origin: &Path) -> Result<HaConfig> {
    serde_json::from_slice(bytes)
        .map_err(|e| Error::system(format!("{} is corrupt ({e}); run ha-setup again", origin.display())))
}

fn cluster_section(s: &Section) -> Result<HaConfig> {
    let get = |key: &str| -> Result<&str> {
        s.props
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| Error::input(format!("property '{key}' is missing")))
    };
    let number = |key: &str| -> Result<u32> {
        let value = get(key)?;
        value
            .parse()
            .map_err(|_| Error::input(format!("{key} {value:?} is not a number")))
    };
    if let Some(key) = s.props.keys().find(|k| {
        ![
            "interface",
            "vips",
            "lock",
            "keepalive-interval",
            "keepalive-limit",
            "tunables",
            "ad",
        ]
        .contains(&k.as_str())
    }) {
        return Err(Error::input(format!("unknown property '{key}'")));
    }
    let mut tunables = Tunables {
        keepalive_interval: number("keepalive-interval")?,
        keepalive_limit: number("keepalive-limit")?,
        ..Tunables::default()
    };
    for assignment in s.props.get("tunables").into_iter().flat_map(|t| t.split(',')) {
        tunables.set(assignment)?;
    }
    Ok(HaConfig {
        nodes: Vec::new(),
        vips: parse_vips(get("vips")?)?,
        interface: get("interface")?.to_string(),
        // the stored lock was accepted by ha-setup, `none` with --no-lock included
        lock: LockSpec::parse(get("lock")?, true)?,
        tunables,
        ad: smbgw_core::validate::boolean("ad", s.props.get("ad").map_or("0", String::as_str))?,
    })
}

fn node_section(s: &Section) -> Result<Node> {
    if let Some(key) = s.props.keys().find(|k| *k != "address") {
        return Err(Error::input(format!("unknown property '{key}' of node {}", s.name)));
    }
    let address = s
        .props
        .get("address")
        .ok_or_else(|| Error::input(format!("node {} has no address", s.name)))?;
    Ok(Node {
        name: s.name.clone(),
        address: address
            .parse()
            .map_err(|_| Error::input(format!("node {}: {address:?} is not an IP address", s.name)))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Vip;

    fn sample() -> HaConfig {
        let mut tunables = Tunables::default();
        tunables.set("MonitorInterval=15").unwrap();
        HaConfig {
            // not in name order: the file keeps the PNN order
            nodes: vec![
                Node {
                    name: "pve2".into(),
                    address: "10.0.0.2".parse().unwrap(),
                },
                Node {
                    name: "pve1".into(),
                    address: "10.0.0.1".parse().unwrap(),
                },
            ],
            vips: vec![
                "10.1.1.100/24".parse::<Vip>().unwrap(),
                "10.1.1.101/24".parse().unwrap(),
            ],
            interface: "vmbr1".into(),
            lock: LockSpec::File("/mnt/pve/cephfs/ctdb.lock".into()),
            tunables,
            ad: true,
        }
    }

    #[test]
    fn section_config_round_trip_in_pnn_order() {
        let cfg = sample();
        let text = render(&cfg);
        assert!(
            text.starts_with("cluster: ctdb\n\tinterface vmbr1\n\tvips 10.1.1.100/24,10.1.1.101/24\n\tlock file:/mnt/pve/cephfs/ctdb.lock\n"),
            "{text}"
        );
        assert!(
            text.contains("\ttunables MonitorInterval=15\n\tad 1\n\nnode: pve2\n\taddress 10.0.0.2\n\nnode: pve1\n"),
            "{text}"
        );
        assert_eq!(parse(&text, Path::new("ha.cfg")).unwrap(), cfg);
    }

    #[test]
    fn the_legacy_json_reads_as_the_same_config() {
        let cfg = sample();
        let json = serde_json::to_vec_pretty(&cfg).unwrap();
        assert_eq!(parse_legacy_json(&json, Path::new("ha.json")).unwrap(), cfg);
        let err = parse_legacy_json(b"{", Path::new("ha.json")).unwrap_err();
        assert_eq!(err.kind, smbgw_core::ErrorKind::System);
    }

    #[test]
    fn a_file_it_cannot_read_names_the_line() {
        let good = render(&sample());
        for (text, line) in [
            (good.replace("\tlock file:", "\tlock bogus:"), 1),
            (good.replace("\taddress 10.0.0.2", "\taddress x"), 10),
            (good.replace("\tad 1", "\tad 1\n\tcolour red"), 1),
            (format!("{good}\ncluster: ctdb\n"), 16),
            ("node: a\n\taddress 10.0.0.1\n".to_string(), 1),
        ] {
            let err = parse(&text, Path::new("/cfg/ha.cfg")).unwrap_err();
            assert!(
                err.message.contains(&format!("line {line}:")),
                "{text:?}: {}",
                err.message
            );
            assert_eq!(err.kind, smbgw_core::ErrorKind::System);
        }
    }
}
