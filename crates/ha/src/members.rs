//! PVE's cluster membership, `/etc/pve/.members`, as pmxcfs writes it (pve-cluster,
//! src/pmxcfs/status.c, `cfs_create_memberlist_msg`):
//!
//! ```text
//! {
//! "nodename": "pve1",
//! "version": 5,
//! "cluster": { "name": "lab", "version": 3, "nodes": 3, "quorate": 1 },
//! "nodelist": {
//!   "pve1": { "id": 1, "online": 1, "ip": "10.0.0.1"},
//!   "pve2": { "id": 2, "online": 0}
//!   }
//! }
//! ```
//!
//! A node that is not in a cluster has only `nodename` and `version`. `ip` is missing while pmxcfs
//! has not resolved the node's name yet.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};
use smbgw_core::{bail_input, Error, Result};

use crate::config::Node;

pub const MEMBERS_FILE: &str = "/etc/pve/.members";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Members {
    pub nodename: String,
    #[serde(default)]
    pub cluster: Option<ClusterInfo>,
    #[serde(default)]
    pub nodelist: BTreeMap<String, Member>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterInfo {
    pub name: String,
    pub nodes: u32,
    #[serde(deserialize_with = "int_bool")]
    pub quorate: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub id: u32,
    #[serde(deserialize_with = "int_bool")]
    pub online: bool,
    #[serde(default)]
    pub ip: Option<IpAddr>,
}

fn int_bool<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    Ok(u64::deserialize(d)? != 0)
}

pub fn parse_members(text: &str) -> Result<Members> {
    serde_json::from_str(text).map_err(|e| Error::external(format!("cannot parse {MEMBERS_FILE}: {e}")))
}

/// `None` when the file does not exist (not a PVE node, or pmxcfs not running).
pub fn read_members(path: &Path) -> Result<Option<Members>> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_members(&text).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("reading", path, e)),
    }
}

impl Members {
    /// The CTDB node list of the whole PVE cluster, in corosync node-id order (stable, and the
    /// same on every node, which the PNN numbering needs).
    pub fn nodes(&self) -> Result<Vec<Node>> {
        if self.cluster.is_none() || self.nodelist.is_empty() {
            bail_input!("this node is not part of a PVE cluster; give the nodes as --nodes NAME=ADDRESS,...");
        }
        let mut members: Vec<(&String, &Member)> = self.nodelist.iter().collect();
        members.sort_by_key(|(_, m)| m.id);
        members
            .into_iter()
            .map(|(name, m)| match m.ip {
                Some(address) => Ok(Node {
                    name: name.clone(),
                    address,
                }),
                None => Err(Error::input(format!(
                    "the address of PVE node {name:?} is not known yet (offline?); give it as {name}=ADDRESS"
                ))),
            })
            .collect()
    }

    pub fn address_of(&self, name: &str) -> Option<IpAddr> {
        self.nodelist.get(name).and_then(|m| m.ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // exactly what pmxcfs prints (spacing and the trailing newline included)
    const CLUSTER: &str = "{\n\"nodename\": \"pve2\",\n\"version\": 7,\n\"cluster\": { \"name\": \"lab\", \"version\": 3, \"nodes\": 3, \"quorate\": 1 },\n\"nodelist\": {\n  \"pve3\": { \"id\": 3, \"online\": 0},\n  \"pve1\": { \"id\": 1, \"online\": 1, \"ip\": \"192.168.7.11\"},\n  \"pve2\": { \"id\": 2, \"online\": 1, \"ip\": \"192.168.7.12\"}\n  }\n}\n";

    #[test]
    fn parses_pmxcfs_output() {
        let m = parse_members(CLUSTER).unwrap();
        assert_eq!(m.nodename, "pve2");
        assert!(m.cluster.as_ref().unwrap().quorate);
        assert!(!m.nodelist["pve3"].online);
        assert_eq!(m.address_of("pve1"), Some("192.168.7.11".parse().unwrap()));
        let e = m.nodes().unwrap_err();
        assert!(e.message.contains("pve3=ADDRESS"), "{}", e.message);
        let with_ip = CLUSTER.replace("\"online\": 0}", "\"online\": 0, \"ip\": \"192.168.7.13\"}");
        let nodes = parse_members(&with_ip).unwrap().nodes().unwrap();
        let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["pve1", "pve2", "pve3"]);
    }

    #[test]
    fn standalone_node_has_no_cluster() {
        let m = parse_members("{\n\"nodename\": \"pve\",\n\"version\": 0\n}\n").unwrap();
        assert!(m.cluster.is_none());
        assert!(m.nodes().unwrap_err().message.contains("not part of a PVE cluster"));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse_members("").is_err());
        assert!(parse_members("{\"nodename\": 1}").is_err());
        assert!(read_members(Path::new("/nonexistent/.members")).unwrap().is_none());
    }
}
