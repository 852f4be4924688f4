//! The HA model: which nodes form the CTDB cluster, which floating addresses (VIPs) they share,
//! how split brain is prevented (the cluster lock) and how fast a dead node is detected.
//!
//! Everything here is checked before a single file is written: `HaConfig::validate` refuses bad
//! input with a message naming the value (exit code 1), so no node ends up half configured.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use smbgw_core::{bail_input, Error, Result, ResultExt};

/// Detection of a dead or cut-off node: CTDB's defaults (5 s x 5) take ~30 s (measured in
/// ../shared/recipes/platform/README.md: 29.8 s for a partitioned non-leader). With 1 s x 3 a
/// peer is declared dead after ~4 s (measured 4.3 s). The price: a node that stalls for more than
/// ~3 s (a swap storm, a frozen NIC driver, a long live migration of the CTDB network) is treated
/// as dead, its addresses move and clients reconnect once. Keepalives every second cost nothing
/// measurable.
pub const DEFAULT_KEEPALIVE_INTERVAL: u32 = 1;
pub const DEFAULT_KEEPALIVE_LIMIT: u32 = 3;

/// Where the corosync lock helper is installed by the package.
pub const DEFAULT_LOCK_HELPER: &str = "/usr/libexec/pve-smbgateway/smbgw-ctdb-quorum-lock";
/// ctdb's own helper for a lock object in Ceph RADOS.
pub const CEPH_LOCK_HELPER: &str = "/usr/libexec/ctdb/ctdb_mutex_ceph_rados_helper";

pub const MIN_NODES: usize = 2;
/// CTDB's practical limit; beyond it the config is almost certainly a mistake.
pub const MAX_NODES: usize = 64;
pub const MAX_VIPS: usize = 256;

/// The whole HA configuration of one gateway cluster; identical on every node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct HaConfig {
    /// In PNN order: line N of ctdb's `nodes` file is PNN N, so the order must never change
    /// while the cluster runs (new nodes go at the end).
    pub nodes: Vec<Node>,
    pub vips: Vec<Vip>,
    /// The interface the VIPs are added to (on every node).
    pub interface: String,
    pub lock: LockSpec,
    #[serde(default)]
    pub tunables: Tunables,
    /// Active Directory is on: CTDB also manages winbind (49.winbind).
    #[serde(default)]
    pub ad: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    pub name: String,
    /// The private (CTDB) address of the node.
    pub address: IpAddr,
}

/// A floating address with its prefix length, e.g. `10.1.1.100/24`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Vip {
    pub address: IpAddr,
    pub prefix: u8,
}

/// How CTDB avoids split brain: only the holder of the cluster lock may become leader.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum LockSpec {
    /// Our helper: the lock follows the quorate corosync partition (PVE's own membership).
    Corosync,
    /// An fcntl lock on a file on real shared storage (CephFS, NFS, GFS2...).
    File(PathBuf),
    /// `ctdb_mutex_ceph_rados_helper CLUSTER USER POOL OBJECT`.
    Ceph {
        cluster: String,
        user: String,
        pool: String,
        object: String,
    },
    /// No cluster lock at all: a partition can end with two leaders and diverging databases.
    None,
}

/// Failover tunables written to `ctdb.tunables`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Tunables {
    pub keepalive_interval: u32,
    pub keepalive_limit: u32,
    /// Further CTDB tunables (`ctdb listvars`), name → value.
    #[serde(default)]
    pub extra: BTreeMap<String, u32>,
}

impl Default for Tunables {
    fn default() -> Self {
        Self {
            keepalive_interval: DEFAULT_KEEPALIVE_INTERVAL,
            keepalive_limit: DEFAULT_KEEPALIVE_LIMIT,
            extra: BTreeMap::new(),
        }
    }
}

/// What validation needs to know about the machine; tests point `sysfs` elsewhere.
#[derive(Clone, Debug)]
pub struct Environment {
    /// Normally `/sys`; the interface must exist as `<sysfs>/class/net/<name>`.
    pub sysfs: PathBuf,
}

impl Default for Environment {
    fn default() -> Self {
        Self { sysfs: "/sys".into() }
    }
}

impl HaConfig {
    /// Check everything; the first problem is returned as an input error naming the
    /// parameter of `ha-setup` it is about (`nodes`, `interface`, `vip`, `lock`, `tunable`).
    pub fn validate(&self, env: &Environment) -> Result<()> {
        validate_nodes(&self.nodes).field("nodes")?;
        interface_name(&self.interface).field("interface")?;
        interface_exists(&self.interface, &env.sysfs).field("interface")?;
        validate_vips(&self.vips, &self.nodes).field("vip")?;
        self.lock.validate().field("lock")?;
        self.tunables.validate().field("tunable")?;
        Ok(())
    }

    /// Things that are allowed but dangerous, to print loudly.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        match &self.lock {
            LockSpec::None => warnings.push(
                "WARNING: no cluster lock. If the cluster network splits, every part elects its own leader, \
                 hosts the same VIPs and writes its own copy of the databases (split brain): clients see \
                 different file locks and data can be corrupted. Use --lock corosync on a PVE cluster."
                    .to_string(),
            ),
            LockSpec::File(path) => warnings.push(format!(
                "the cluster lock file {} must be on storage shared by all nodes (CephFS, NFS); on a \
                 local directory a cut-off leader keeps the lock and the others can never take over",
                path.display()
            )),
            _ => {}
        }
        if self.nodes.len() == 2 && self.lock == LockSpec::Corosync {
            warnings.push(
                "a 2-node corosync cluster is only quorate with both nodes (or a QDevice): without one, \
                 losing either node stops the gateway"
                    .to_string(),
            );
        }
        warnings
    }

    /// The PNN of a node, given by name or address.
    pub fn pnn_of(&self, node: &str) -> Option<u32> {
        self.nodes
            .iter()
            .position(|n| n.name == node || n.address.to_string() == node)
            .map(|p| p as u32)
    }
}

fn validate_nodes(nodes: &[Node]) -> Result<()> {
    if nodes.len() < MIN_NODES {
        bail_input!(
            "HA needs at least {MIN_NODES} nodes, {} given: list every node of the CTDB cluster, e.g. --nodes n1,n2,n3",
            nodes.len()
        );
    }
    if nodes.len() > MAX_NODES {
        bail_input!("{} nodes given; at most {MAX_NODES} are supported", nodes.len());
    }
    let mut names = HashSet::new();
    let mut addresses = HashSet::new();
    for node in nodes {
        node_name(&node.name)?;
        node_address(&node.name, node.address)?;
        if !names.insert(node.name.to_ascii_lowercase()) {
            bail_input!("node {:?} is listed twice", node.name);
        }
        if !addresses.insert(node.address) {
            bail_input!(
                "address {} is given to two nodes; every node needs its own",
                node.address
            );
        }
    }
    Ok(())
}

/// A node name: a host name as PVE allows it (letters, digits, '-', '.'), never anything a shell
/// or a config file could interpret.
pub fn node_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if !valid {
        bail_input!(
            "node name {name:?} is not a valid host name: use letters, digits and '-' (dot-separated labels, \
             no leading or trailing '-'), as in PVE's node names"
        );
    }
    Ok(())
}

fn node_address(name: &str, address: IpAddr) -> Result<()> {
    if address.is_unspecified() || address.is_loopback() || address.is_multicast() {
        bail_input!(
            "node {name:?} has the address {address}, which other nodes cannot reach; give its cluster network address"
        );
    }
    if let IpAddr::V4(v4) = address {
        if v4.is_broadcast() {
            bail_input!("node {name:?} has the broadcast address {address}");
        }
    }
    Ok(())
}

/// A network interface name as the kernel accepts it (at most 15 bytes, no '/', no blanks).
pub fn interface_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 15
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@'));
    if !valid {
        bail_input!(
            "interface name {name:?} is not valid: at most 15 characters out of letters, digits, '-', '_', '.', '@'"
        );
    }
    Ok(())
}

fn interface_exists(name: &str, sysfs: &Path) -> Result<()> {
    if !sysfs.join("class/net").join(name).exists() {
        let known = std::fs::read_dir(sysfs.join("class/net"))
            .map(|dir| {
                let mut names: Vec<String> = dir
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect();
                names.sort();
                names.join(", ")
            })
            .unwrap_or_default();
        bail_input!("interface {name:?} does not exist on this node (known: {known})");
    }
    Ok(())
}

fn validate_vips(vips: &[Vip], nodes: &[Node]) -> Result<()> {
    if vips.is_empty() {
        bail_input!("no VIP given: give at least one floating address, e.g. --vip 10.1.1.100/24");
    }
    if vips.len() > MAX_VIPS {
        bail_input!("{} VIPs given; at most {MAX_VIPS} are supported", vips.len());
    }
    let mut seen = HashSet::new();
    for vip in vips {
        vip.validate()?;
        if let Some(node) = nodes.iter().find(|n| n.address == vip.address) {
            bail_input!(
                "VIP {vip} is the address of node {:?}; a VIP must be an unused address that moves between nodes",
                node.name
            );
        }
        if !seen.insert(vip.address) {
            bail_input!("VIP {} is listed twice", vip.address);
        }
    }
    Ok(())
}

impl Vip {
    fn max_prefix(&self) -> u8 {
        if self.address.is_ipv4() {
            32
        } else {
            128
        }
    }

    pub fn validate(&self) -> Result<()> {
        let addr = self.address;
        if addr.is_unspecified() || addr.is_loopback() || addr.is_multicast() {
            bail_input!("VIP {self} is not a usable unicast address");
        }
        if self.prefix == 0 || self.prefix > self.max_prefix() {
            bail_input!("VIP {self}: prefix length must be 1..{}", self.max_prefix());
        }
        if let IpAddr::V4(v4) = addr {
            if v4.is_broadcast() {
                bail_input!("VIP {self} is the broadcast address");
            }
            // /31 and /32 have no network or broadcast address (RFC 3021)
            if self.prefix <= 30 {
                let host_bits = u32::from(v4) & (u32::MAX >> self.prefix);
                if host_bits == 0 {
                    bail_input!("VIP {self} is the network address of its subnet; pick a host address inside it");
                }
                if host_bits == u32::MAX >> self.prefix {
                    bail_input!("VIP {self} is the broadcast address of its subnet; pick a host address inside it");
                }
            }
        }
        Ok(())
    }

    /// Whether `other` lies in this VIP's subnet.
    pub fn contains(&self, other: IpAddr) -> bool {
        match (self.address, other) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(a) & mask == u32::from(b) & mask
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(a) & mask == u128::from(b) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Vip {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let Some((addr, prefix)) = s.split_once('/') else {
            bail_input!("VIP {s:?} has no prefix length: write it as address/prefix, e.g. 10.1.1.100/24");
        };
        let Ok(address) = addr.parse::<IpAddr>() else {
            bail_input!("VIP {s:?}: {addr:?} is not an IP address");
        };
        let prefix = match prefix.parse::<u8>() {
            Ok(p) if prefix.bytes().all(|b| b.is_ascii_digit()) => p,
            _ => bail_input!("VIP {s:?}: prefix length {prefix:?} is not a number"),
        };
        let vip = Vip { address, prefix };
        vip.validate()?;
        Ok(vip)
    }
}

impl fmt::Display for Vip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

impl TryFrom<String> for Vip {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<Vip> for String {
    fn from(v: Vip) -> String {
        v.to_string()
    }
}

/// Parse `--vip a/24,b/24`.
pub fn parse_vips(list: &str) -> Result<Vec<Vip>> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect()
}

/// Parse `--nodes`: `name=address` entries, or bare names resolved through `lookup` (e.g. the
/// addresses from `/etc/pve/.members`).
pub fn parse_nodes(list: &str, lookup: impl Fn(&str) -> Option<IpAddr>) -> Result<Vec<Node>> {
    let mut nodes = Vec::new();
    for entry in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, address) = match entry.split_once('=') {
            Some((name, addr)) => {
                let Ok(address) = addr.parse::<IpAddr>() else {
                    bail_input!("node {entry:?}: {addr:?} is not an IP address");
                };
                (name, address)
            }
            None => {
                node_name(entry)?;
                match lookup(entry) {
                    Some(address) => (entry, address),
                    None => bail_input!(
                        "node {entry:?} is not a member of the PVE cluster; give its address as {entry}=ADDRESS"
                    ),
                }
            }
        };
        node_name(name)?;
        nodes.push(Node {
            name: name.to_string(),
            address,
        });
    }
    Ok(nodes)
}

impl LockSpec {
    /// Parse `--lock`: `corosync`, `file:/path`, `ceph:CLUSTER:USER:POOL:OBJECT` or `none`.
    /// `none` is only accepted with `no_lock` (the explicit `--no-lock` flag).
    pub fn parse(spec: &str, no_lock: bool) -> Result<Self> {
        let lock = match spec.split_once(':') {
            _ if spec == "corosync" => LockSpec::Corosync,
            _ if spec == "none" => LockSpec::None,
            Some(("file", path)) => LockSpec::File(PathBuf::from(path)),
            Some(("ceph", rest)) => {
                let parts: Vec<&str> = rest.split(':').collect();
                let [cluster, user, pool, object] = parts[..] else {
                    bail_input!(
                        "lock {spec:?}: write a Ceph lock as ceph:CLUSTER:USER:POOL:OBJECT, \
                         e.g. ceph:ceph:client.admin:rbd:ctdb_lock"
                    );
                };
                LockSpec::Ceph {
                    cluster: cluster.into(),
                    // a bare id is a client's, as `ceph --id` reads it (librados wants the full name)
                    user: if user.contains('.') {
                        user.into()
                    } else {
                        format!("client.{user}")
                    },
                    pool: pool.into(),
                    object: object.into(),
                }
            }
            _ => bail_input!(
                "lock {spec:?} is not known: use corosync (PVE cluster membership), file:/shared/path, \
                 ceph:CLUSTER:USER:POOL:OBJECT, or none with --no-lock"
            ),
        };
        lock.validate()?;
        if lock == LockSpec::None && !no_lock {
            bail_input!(
                "refusing to run without a cluster lock: a network split would leave two leaders serving the \
                 same VIPs (split brain); pass --no-lock as well if you really want that"
            );
        }
        Ok(lock)
    }

    pub fn validate(&self) -> Result<()> {
        match self {
            LockSpec::File(path) => {
                let s = path.to_string_lossy();
                let valid = s.starts_with('/')
                    && s.len() < 1024
                    && !s.ends_with('/')
                    && !s.split('/').any(|c| c == "." || c == "..")
                    && s.chars().all(|c| !c.is_whitespace() && !c.is_control());
                if !valid {
                    bail_input!(
                        "cluster lock file {s:?} must be an absolute, normalised path \
                         without blanks or control characters"
                    );
                }
            }
            LockSpec::Ceph {
                cluster,
                user,
                pool,
                object,
            } => {
                for (what, value) in [("cluster", cluster), ("user", user), ("pool", pool), ("object", object)] {
                    let valid = !value.is_empty()
                        && value.len() <= 128
                        && value
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
                    if !valid {
                        bail_input!("Ceph lock {what} {value:?} may only contain letters, digits, '-', '_' and '.'");
                    }
                }
                // librados takes the full entity name (rados_create2)
                if !user.starts_with("client.") || user.len() == "client.".len() {
                    bail_input!("Ceph lock user {user:?} must be a cephx client name, e.g. client.admin");
                }
            }
            LockSpec::Corosync | LockSpec::None => {}
        }
        Ok(())
    }
}

impl fmt::Display for LockSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockSpec::Corosync => f.write_str("corosync"),
            LockSpec::File(path) => write!(f, "file:{}", path.display()),
            LockSpec::Ceph {
                cluster,
                user,
                pool,
                object,
            } => write!(f, "ceph:{cluster}:{user}:{pool}:{object}"),
            LockSpec::None => f.write_str("none"),
        }
    }
}

impl TryFrom<String> for LockSpec {
    type Error = Error;
    /// A stored config was validated when written; `none` in it was explicitly allowed then.
    fn try_from(s: String) -> Result<Self> {
        LockSpec::parse(&s, true)
    }
}

impl From<LockSpec> for String {
    fn from(l: LockSpec) -> String {
        l.to_string()
    }
}

impl Tunables {
    pub fn validate(&self) -> Result<()> {
        if !(1..=60).contains(&self.keepalive_interval) {
            bail_input!(
                "KeepaliveInterval {} is out of range 1..60 (seconds)",
                self.keepalive_interval
            );
        }
        if !(1..=100).contains(&self.keepalive_limit) {
            bail_input!("KeepaliveLimit {} is out of range 1..100", self.keepalive_limit);
        }
        for name in self.extra.keys() {
            let valid = !name.is_empty() && name.len() <= 64 && name.bytes().all(|b| b.is_ascii_alphanumeric());
            if !valid {
                bail_input!("tunable name {name:?} is not valid: CTDB tunables are letters and digits (ctdb listvars)");
            }
            if name.eq_ignore_ascii_case("KeepaliveInterval") || name.eq_ignore_ascii_case("KeepaliveLimit") {
                bail_input!("set {name} through its own option, not as an extra tunable");
            }
        }
        Ok(())
    }

    /// Parse `Name=Value` (for `--tunable`).
    pub fn set(&mut self, assignment: &str) -> Result<()> {
        let Some((name, value)) = assignment.split_once('=') else {
            bail_input!("tunable {assignment:?}: write it as Name=Value, e.g. MonitorInterval=15");
        };
        let Ok(value) = value.trim().parse::<u32>() else {
            bail_input!("tunable {name:?}: value {value:?} is not a non-negative integer");
        };
        match name.trim() {
            n if n.eq_ignore_ascii_case("KeepaliveInterval") => self.keepalive_interval = value,
            n if n.eq_ignore_ascii_case("KeepaliveLimit") => self.keepalive_limit = value,
            n => {
                self.extra.insert(n.to_string(), value);
            }
        }
        self.validate()
    }
}

#[cfg(test)]
mod tests;
