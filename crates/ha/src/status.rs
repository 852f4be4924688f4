//! Cluster state from `ctdb -X` (machine-readable, `|`-separated) output, planned moves, node
//! maintenance and the failover drill.

use std::ffi::OsString;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use serde::Serialize;
use smbgw_core::{bail_input, Error, Result};
use smbgw_sys::command::Command;

use crate::config::HaConfig;

/// How the `ctdb` tool is run. Every call is bounded (`-T`) and runs in its own session: when
/// its `-T` expires, ctdb does `kill(0, SIGTERM)`, which would otherwise hit our process group.
#[derive(Clone, Debug)]
pub struct Ctdb {
    prefix: Vec<OsString>,
    timeout_secs: u32,
}

impl Default for Ctdb {
    fn default() -> Self {
        Self::local()
    }
}

impl Ctdb {
    /// The local ctdbd (`/run/ctdb/ctdbd.socket`).
    pub fn local() -> Self {
        Self::with_prefix(Vec::<OsString>::new())
    }

    /// Run ctdb through a wrapper, e.g. `nsenter -t PID -m -n` to reach a node in a namespace.
    pub fn with_prefix<S: Into<OsString>>(prefix: impl IntoIterator<Item = S>) -> Self {
        Self {
            prefix: prefix.into_iter().map(Into::into).collect(),
            timeout_secs: 3,
        }
    }

    /// ctdb's own time limit per call (default 3 s; calls block during elections).
    pub fn timeout(mut self, secs: u32) -> Self {
        self.timeout_secs = secs.max(1);
        self
    }

    /// Run `ctdb -X ARGS`; output on success, an external error otherwise.
    pub fn run(&self, args: &[&str]) -> Result<String> {
        self.run_for(self.timeout_secs, args)
    }

    /// `run` with its own limit, for commands that wait for an IP reallocation.
    pub fn run_for(&self, secs: u32, args: &[&str]) -> Result<String> {
        let t = secs.to_string();
        let out = Command::new("setsid")
            .arg("-w")
            .args(&self.prefix)
            .args(["ctdb", "-T", t.as_str(), "-X"])
            .args(args)
            .timeout(Duration::from_secs(u64::from(secs) + 5))
            .run()?;
        Ok(out.stdout)
    }
}

/// Limit for commands that wait for CTDB to move addresses (disable, enable, moveip).
const SLOW: u32 = 30;
const MOVEIP_CONTROL_TIMEOUT: &str = "2";

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HaStatus {
    /// All active nodes are OK and every VIP is hosted.
    pub healthy: bool,
    /// PNN of the node that answered.
    pub this_node: Option<u32>,
    /// The leader (recovery master); with a cluster lock it is also the lock holder.
    pub leader: Option<u32>,
    pub cluster_lock: LockState,
    pub nodes: Vec<NodeStatus>,
    pub vips: Vec<VipStatus>,
    /// The digest of the HA config file (set by the gateway), which `ha-setup` takes back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Shares the VIPs do not serve (guest shares, node-local ones), and why (set by the gateway).
    pub shares_not_on_vips: Vec<UnservedShare>,
    /// The last fencing of each node fenced so far (set by the gateway, see [`crate::fence`]).
    pub fencing: Vec<crate::fence::Record>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnservedShare {
    pub share: String,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LockState {
    /// `ctdb getreclock`: the configured lock (file or `!helper ...`), `None` without a lock.
    pub configured: Option<String>,
    /// Who holds it: CTDB only lets the lock holder be leader, so this is the leader.
    pub holder: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeStatus {
    pub pnn: u32,
    pub address: IpAddr,
    /// From the HA config, when given.
    pub name: Option<String>,
    /// `OK`, or the set flags joined by `|` (e.g. `DISCONNECTED|UNHEALTHY|INACTIVE`).
    pub state: String,
    pub flags: Vec<String>,
    pub this_node: bool,
}

impl NodeStatus {
    pub fn ok(&self) -> bool {
        self.flags.is_empty()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VipStatus {
    pub address: IpAddr,
    /// PNN of the node hosting it; `None` when unassigned (ctdb shows -1).
    pub holder: Option<u32>,
    pub holder_name: Option<String>,
    pub interface: Option<String>,
}

/// The cluster as seen by the node `ctdb` talks to.
pub fn status(ctdb: &Ctdb, cfg: Option<&HaConfig>) -> Result<HaStatus> {
    let nodes = parse_nodemap(&ctdb.run(&["status"])?)?;
    let vips = parse_ips(&ctdb.run(&["ip", "-v"])?)?;
    // both fail while there is no leader (during an election): report that instead of failing
    let leader = ctdb.run(&["leader"]).ok().and_then(|s| parse_leader(&s));
    let configured = ctdb
        .run(&["getreclock"])
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    Ok(assemble(nodes, vips, leader, configured, cfg))
}

fn assemble(
    mut nodes: Vec<NodeStatus>,
    mut vips: Vec<VipStatus>,
    leader: Option<u32>,
    configured: Option<String>,
    cfg: Option<&HaConfig>,
) -> HaStatus {
    let name = |pnn: u32| cfg.and_then(|c| c.nodes.get(pnn as usize)).map(|n| n.name.clone());
    for n in &mut nodes {
        n.name = name(n.pnn);
    }
    for v in &mut vips {
        v.holder_name = v.holder.and_then(name);
    }
    let active = nodes.iter().filter(|n| !n.flags.iter().any(|f| f == "DELETED"));
    let healthy = active.clone().all(NodeStatus::ok) && vips.iter().all(|v| v.holder.is_some());
    HaStatus {
        healthy,
        this_node: nodes.iter().find(|n| n.this_node).map(|n| n.pnn),
        leader,
        cluster_lock: LockState {
            holder: configured.as_ref().and(leader),
            configured,
        },
        nodes,
        vips,
        digest: None,
        shares_not_on_vips: Vec::new(),
        fencing: Vec::new(),
    }
}

/// `ctdb leader` prints the PNN (plain or as a one-column `|` table).
pub fn parse_leader(text: &str) -> Option<u32> {
    text.split(|c: char| c == '|' || c.is_whitespace())
        .rfind(|t| !t.is_empty())
        .and_then(|t| t.parse().ok())
}

/// Split `|a|b|c|` lines into a header and rows of fields.
fn table(text: &str) -> Result<(Vec<&str>, Vec<Vec<&str>>)> {
    let mut lines = text.lines().map(str::trim).filter(|l| l.starts_with('|'));
    let header: Vec<&str> = match lines.next() {
        Some(l) => l.trim_matches('|').split('|').collect(),
        None => return Err(Error::external(format!("unexpected ctdb output: {:?}", text.trim()))),
    };
    let rows = lines.map(|l| l.trim_matches('|').split('|').collect()).collect();
    Ok((header, rows))
}

fn column(header: &[&str], name: &str) -> Result<usize> {
    header
        .iter()
        .position(|h| h.eq_ignore_ascii_case(name))
        .ok_or_else(|| Error::external(format!("ctdb output has no column {name:?} (header: {header:?})")))
}

/// `ctdb -X status` (4.17):
/// `|Node|IP|Disconnected|Unknown|Banned|Disabled|Unhealthy|Stopped|Inactive|PartiallyOnline|ThisNode|`
/// (columns are found by name; other versions add `Deleted`)
pub fn parse_nodemap(text: &str) -> Result<Vec<NodeStatus>> {
    let (header, rows) = table(text)?;
    let (c_node, c_ip) = (column(&header, "Node")?, column(&header, "IP")?);
    let c_this = column(&header, "ThisNode").ok();
    let mut nodes = Vec::new();
    for row in rows {
        let field = |i: usize| row.get(i).copied().unwrap_or("");
        let bad = || Error::external(format!("unexpected ctdb status line: {row:?}"));
        let pnn = field(c_node).parse().map_err(|_| bad())?;
        let address = field(c_ip).parse().map_err(|_| bad())?;
        let flags: Vec<String> = header
            .iter()
            .enumerate()
            .filter(|&(i, h)| i != c_node && i != c_ip && Some(i) != c_this && !h.is_empty())
            .filter(|&(i, _)| field(i) == "1")
            .map(|(_, h)| h.to_ascii_uppercase())
            .collect();
        let state = if flags.is_empty() {
            "OK".to_string()
        } else {
            flags.join("|")
        };
        nodes.push(NodeStatus {
            pnn,
            address,
            name: None,
            state,
            flags,
            this_node: c_this.is_some_and(|c| field(c) == "Y"),
        });
    }
    Ok(nodes)
}

/// `ctdb -X ip -v`: `|Public IP|Node|ActiveInterface|AvailableInterfaces|ConfiguredInterfaces|`
pub fn parse_ips(text: &str) -> Result<Vec<VipStatus>> {
    let (header, rows) = table(text)?;
    let (c_ip, c_node) = (column(&header, "Public IP")?, column(&header, "Node")?);
    let c_iface = column(&header, "ActiveInterfaces")
        .or_else(|_| column(&header, "ActiveInterface"))
        .ok();
    let mut vips = Vec::new();
    for row in rows {
        let field = |i: usize| row.get(i).copied().unwrap_or("");
        let bad = || Error::external(format!("unexpected ctdb ip line: {row:?}"));
        let address = field(c_ip).parse().map_err(|_| bad())?;
        let holder = match field(c_node).parse::<i64>().map_err(|_| bad())? {
            n if n < 0 => None,
            n => Some(u32::try_from(n).map_err(|_| bad())?),
        };
        let interface = c_iface.map(field).filter(|s| !s.is_empty()).map(str::to_string);
        vips.push(VipStatus {
            address,
            holder,
            holder_name: None,
            interface,
        });
    }
    Ok(vips)
}

/// Which node hosts `vip`, per CTDB.
pub fn holder_of(ctdb: &Ctdb, vip: IpAddr) -> Result<Option<u32>> {
    let vips = parse_ips(&ctdb.run(&["ip", "-v"])?)?;
    match vips.iter().find(|v| v.address == vip) {
        Some(v) => Ok(v.holder),
        None => bail_input!("{vip} is not a public address of this CTDB cluster"),
    }
}

/// Planned move (`ctdb moveip`): returns the seconds until CTDB reports the new holder.
pub fn failover(ctdb: &Ctdb, vip: IpAddr, to: u32) -> Result<f64> {
    let start = Instant::now();
    if holder_of(ctdb, vip)? == Some(to) {
        return Ok(0.0);
    }
    let (ip, pnn) = (vip.to_string(), to.to_string());
    // ctdb 4.17's moveip leaves takeover runs (= all failover) disabled for 2 x its control
    // timeout `-t` (default 10 s, measured 20.5 s); fixed upstream in 2024 by re-enabling them.
    // Controls answer in milliseconds on a LAN, so `-t 2` bounds that window to 4 s.
    ctdb.run_for(SLOW, &["-t", MOVEIP_CONTROL_TIMEOUT, "moveip", &ip, &pnn])
        .map_err(|e| e.context(format!("moving {vip} to node {to}")))?;
    wait_for(Duration::from_secs(30), || Ok(holder_of(ctdb, vip)? == Some(to)))
        .map_err(|e| e.context(format!("{vip} did not move to node {to}")))?;
    Ok(start.elapsed().as_secs_f64())
}

/// Maintenance: a disabled node keeps running but hosts no VIPs.
pub fn disable(ctdb: &Ctdb, pnn: u32) -> Result<()> {
    let n = pnn.to_string();
    ctdb.run_for(SLOW, &["-n", &n, "disable"]).map(drop)
}

/// Back into service. A node that was cut off while it led can come back BANNED (CTDB bans it
/// for 300 s by default): enabling also lifts the ban, or the node would stay out that long.
pub fn enable(ctdb: &Ctdb, pnn: u32) -> Result<()> {
    let n = pnn.to_string();
    let flags = parse_nodemap(&ctdb.run(&["status"])?)?
        .into_iter()
        .find(|node| node.pnn == pnn)
        .map(|node| node.flags)
        .unwrap_or_default();
    if flags.iter().any(|f| f == "BANNED") {
        ctdb.run_for(SLOW, &["-n", &n, "unban"])?;
    }
    ctdb.run_for(SLOW, &["-n", &n, "enable"]).map(drop)
}

#[derive(Clone, Debug)]
pub struct DrillOptions {
    pub timeout: Duration,
    /// Prefix for `ping` (e.g. `ip netns exec CLIENT`); empty: ping from here.
    pub ping_prefix: Vec<String>,
}

impl Default for DrillOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(60),
            ping_prefix: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DrillReport {
    pub vip: IpAddr,
    pub from: u32,
    pub to: u32,
    /// Disable → CTDB reports another holder.
    pub seconds_to_move: f64,
    /// Disable → the VIP answers ping.
    pub seconds_to_answer: f64,
}

/// Failover drill: disable the VIP's holder, measure until another node hosts it and it answers
/// ping, then enable the holder again (also when the drill fails).
pub fn ha_test(ctdb: &Ctdb, vip: IpAddr, opts: &DrillOptions) -> Result<DrillReport> {
    let Some(from) = holder_of(ctdb, vip)? else {
        return Err(Error::external(format!(
            "{vip} is not hosted by any node; nothing to fail over"
        )));
    };
    let start = Instant::now();
    disable(ctdb, from)?;
    let result = (|| {
        let mut to = from;
        wait_for(opts.timeout, || {
            to = holder_of(ctdb, vip).ok().flatten().unwrap_or(from);
            Ok(to != from)
        })?;
        let moved = start.elapsed().as_secs_f64();
        let left = opts.timeout.saturating_sub(start.elapsed());
        wait_for(left, || Ok(ping(vip, &opts.ping_prefix)))?;
        Ok(DrillReport {
            vip,
            from,
            to,
            seconds_to_move: moved,
            seconds_to_answer: start.elapsed().as_secs_f64(),
        })
    })();
    let enabled = enable(ctdb, from);
    let report = result.map_err(|e: Error| e.context(format!("failover drill of {vip} from node {from}")))?;
    enabled.map_err(|e| e.context(format!("drill done, but re-enabling node {from} failed")))?;
    Ok(report)
}

/// Before anything is written: every node must answer on its cluster address. Pings all nodes
/// at once (one second each); the error names the ones that did not answer.
pub fn check_reachable(cfg: &HaConfig) -> Result<()> {
    let pings: Vec<_> = cfg
        .nodes
        .iter()
        .map(|n| {
            let (name, address) = (n.name.clone(), n.address);
            std::thread::spawn(move || (name, ping(address, &[])))
        })
        .collect();
    let down: Vec<String> = pings
        .into_iter()
        .filter_map(|p| p.join().ok())
        .filter(|(_, up)| !up)
        .map(|(name, _)| name)
        .collect();
    if down.is_empty() {
        Ok(())
    } else {
        Err(Error::external(format!(
            "node(s) {} do not answer ping on their cluster address; nothing was changed",
            down.join(", ")
        )))
    }
}

/// One ping with a short deadline.
pub fn ping(address: IpAddr, prefix: &[String]) -> bool {
    let (program, args) = match prefix.split_first() {
        Some((p, rest)) => (p.as_str(), rest.to_vec()),
        None => ("ping", Vec::new()),
    };
    let mut cmd = Command::new(program).args(args);
    if !prefix.is_empty() {
        cmd = cmd.arg("ping");
    }
    cmd.args(["-n", "-q", "-c1", "-W1", &address.to_string()])
        .timeout(Duration::from_secs(3))
        .output()
        .is_ok_and(|o| o.success())
}

/// Poll `done` every 100 ms until it is true or `limit` passes.
pub fn wait_for(limit: Duration, mut done: impl FnMut() -> Result<bool>) -> Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        if done()? {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Error::external(format!("timed out after {:.0} s", limit.as_secs_f64())));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // as ctdb 4.17 prints it
    const NODEMAP: &str =
        "|Node|IP|Disconnected|Unknown|Banned|Disabled|Unhealthy|Stopped|Inactive|PartiallyOnline|ThisNode|\n\
        |0|10.99.40.1|0|0|0|0|0|0|0|0|Y|\n\
        |1|10.99.40.2|1|0|0|0|1|0|1|0|N|\n\
        |2|10.99.40.3|0|0|0|1|0|0|0|0|N|\n";
    const IPS: &str = "|Public IP|Node|ActiveInterfaces|AvailableInterfaces|ConfiguredInterfaces|\n\
        |10.99.40.101|2|eth0|eth0|eth0|\n\
        |10.99.40.100|-1||eth0|eth0|\n";

    #[test]
    fn parses_nodemap() {
        let nodes = parse_nodemap(NODEMAP).unwrap();
        assert_eq!(nodes.len(), 3);
        assert_eq!(nodes[0].state, "OK");
        assert!(nodes[0].this_node);
        assert_eq!(nodes[1].state, "DISCONNECTED|UNHEALTHY|INACTIVE");
        assert_eq!(nodes[2].flags, ["DISABLED"]);
        assert!(parse_nodemap("garbage").is_err());
        assert!(parse_nodemap("|Node|IP|\n|x|10.0.0.1|\n").is_err());
        assert!(parse_nodemap("|Nope|\n").is_err());
    }

    #[test]
    fn parses_ips_and_assembles() {
        let vips = parse_ips(IPS).unwrap();
        assert_eq!(vips[0].holder, Some(2));
        assert_eq!(vips[0].interface.as_deref(), Some("eth0"));
        assert_eq!(vips[1].holder, None);
        assert_eq!(vips[1].interface, None);
        let cfg = crate::config::HaConfig {
            nodes: crate::config::parse_nodes("a=10.99.40.1,b=10.99.40.2,c=10.99.40.3", |_| None).unwrap(),
            vips: vec![],
            interface: "eth0".into(),
            lock: crate::config::LockSpec::Corosync,
            tunables: Default::default(),
            ad: false,
        };
        let s = assemble(
            parse_nodemap(NODEMAP).unwrap(),
            vips,
            Some(0),
            Some("!/x/helper".into()),
            Some(&cfg),
        );
        assert!(!s.healthy);
        assert_eq!(s.this_node, Some(0));
        assert_eq!(s.cluster_lock.holder, Some(0));
        assert_eq!(s.vips[0].holder_name.as_deref(), Some("c"));
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["nodes"][1]["name"], "b");
        let ok = "|Node|IP|Disconnected|ThisNode|\n|0|10.0.0.1|0|Y|\n|1|10.0.0.2|0|N|\n";
        let s = assemble(parse_nodemap(ok).unwrap(), vec![], None, None, None);
        assert!(s.healthy && s.cluster_lock.holder.is_none());
    }

    #[test]
    fn leader_output() {
        assert_eq!(parse_leader("1\n"), Some(1));
        assert_eq!(parse_leader("|Leader|\n|2|\n"), Some(2));
        assert_eq!(parse_leader("no leader\n"), None);
    }

    #[test]
    fn hostile_ip_lines_are_errors() {
        assert!(parse_ips("|Public IP|Node|\n|10.0.0.1;rm|0|\n").is_err());
        assert!(parse_ips("|Public IP|Node|\n|10.0.0.1|99999999999|\n").is_err());
    }
}
