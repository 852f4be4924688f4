//! Fencing of a dead node's CephFS clients, the step of a takeover that lets the survivors
//! write where the dead node held capabilities (issue #16: the VIP moved in ~4 s, but writes
//! through it resumed only after the MDS's `session_timeout`, 60 s, because the dead node's
//! client held caps on the share directory).
//!
//! Evicting a client (`ceph tell mds.<fs>:0 client evict id=N`) makes the MDS drop its session
//! and caps at once and blocklist its address (`mds_session_blocklist_on_evict`), so a node that
//! was only cut off cannot write stale data when it comes back: Ceph's documented fencing
//! (docs.ceph.com, cephfs/eviction). Its old mount stays dead; a new mount (new nonce) works.
//!
//! How it runs: CTDB's event script [`SCRIPT`] (rendered here, enabled by `ha-setup`/`apply`
//! when the cluster runs Ceph) starts `pve-smbgateway ha-fence` detached on `monitor`,
//! `recovered` and `ipreallocated`, so a slow or dead Ceph never delays the takeover (ctdb's
//! run_proc kills a script's process group only when the script itself times out; the fence
//! runs in its own session with its output off the event's pipe anyway). `recovered` is the
//! first event after a node's death on the new membership, before the IPs move. Each run:
//! 1. registers this node's own CephFS client ids (the `ceph.client_id` virtual xattr of the
//!    shares' directories, ceph-fuse and kernel client alike) in the cluster-wide config dir: the
//!    node's hostname cannot select its sessions (nodes may share one, as in the tests, and a
//!    client may run elsewhere), its client id can;
//! 2. on the leader only ([`decide`]): fences each DISCONNECTED node, once per client id it
//!    registered ([`Record`]; a failure is retried at the next event).
//!
//! Ordering: the leader holds the cluster lock, so a DISCONNECTED node has given it up (or, as
//! the old leader, lost it before anyone else could take it). The exception is a leader that is
//! itself cut off and does not know yet (its lock may look held for a few seconds: corosync's
//! token, the RADOS lock's op timeouts): it sees the others DISCONNECTED. [`decide`] therefore
//! fences only from a partition holding a strict majority of the nodes. A BANNED, DISABLED or
//! STOPPED node is still connected to CTDB (it answers cap revokes, it is not fenced).
//!
//! Consequences: a fenced node's CephFS mount stays dead until it is mounted again (ceph-fuse;
//! the kernel client reconnects by itself with `recover_session=clean`), and on PVE that mount
//! is the node's cephfs storage, used by PVE too; stopping ctdbd for maintenance looks like a
//! death to the others (use `ha-node disable`, which keeps the node connected). With two nodes
//! the survivor is no majority: no fencing, writes wait for the MDS session timeout.
//!
//! Measured (tests/cephfs_failover.rs, whole node dies, MDS `session_timeout` 300 s): the
//! leader fences at `recovered`; writes through the VIP resume +4.9-6.8 s after the crash (VIP
//! moved +3.8-5.5 s). Without fencing (default session_timeout 60 s): +61 s.

use std::collections::BTreeSet;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use smbgw_core::{Error, Result};

use crate::ceph::Cluster;
use crate::status::HaStatus;

/// The event script's file name in CTDB's `events/legacy/` (after 50.samba: smbd's own
/// handling of each event runs first; ours returns at once anyway).
pub const SCRIPT: &str = "91.smbgw-fence.script";
/// The events the script acts on: `recovered` and `ipreallocated` follow a node's death on
/// every surviving node, `monitor` (every MonitorInterval) registers and retries.
pub const EVENTS: &[&str] = &["monitor", "recovered", "ipreallocated"];
/// The directory, in the cluster-wide config dir, of registrations (`<node>.client.json`,
/// written by that node) and fencing records (`<node>.fenced.json`, by the leader).
pub const DIR: &str = "ha-fence";

/// The CephFS client ids a node mounts the shares with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    pub node: String,
    pub clients: Vec<u64>,
}

/// The last fencing of a node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub node: String,
    /// Unix time of the attempt.
    pub at: u64,
    /// The client ids the node had registered.
    pub clients: Vec<u64>,
    /// Those evicted now or found without a session (gone already).
    pub evicted: Vec<u64>,
    /// Why fencing failed (the node is fenced again at the next event), `None` when it worked.
    pub error: Option<String>,
}

impl Record {
    /// Nothing left to do for this registration.
    pub fn covers(&self, reg: &Registration) -> bool {
        self.error.is_none() && reg.clients.iter().all(|c| self.evicted.contains(c))
    }
}

/// What the leader does with the cluster it sees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Not the leader (or no leader now): only the leader fences.
    NotLeader,
    /// Leader of a minority: possibly itself the one cut off; fencing could hit live nodes.
    NoMajority { connected: usize, total: usize },
    /// The PNNs of the dead nodes (maybe none).
    Fence(Vec<u32>),
}

/// Which nodes this node must fence now (see the module docs for the rules).
pub fn decide(st: &HaStatus) -> Decision {
    let (Some(me), Some(leader)) = (st.this_node, st.leader) else {
        return Decision::NotLeader;
    };
    if me != leader {
        return Decision::NotLeader;
    }
    let has = |n: &crate::status::NodeStatus, f: &str| n.flags.iter().any(|x| x == f);
    let nodes: Vec<_> = st.nodes.iter().filter(|n| !has(n, "DELETED")).collect();
    let dead: Vec<u32> = nodes
        .iter()
        .filter(|n| has(n, "DISCONNECTED") && n.pnn != me)
        .map(|n| n.pnn)
        .collect();
    let connected = nodes.len() - dead.len();
    if !dead.is_empty() && connected * 2 <= nodes.len() {
        return Decision::NoMajority {
            connected,
            total: nodes.len(),
        };
    }
    Decision::Fence(dead)
}

/// The node names in this node's corosync membership (`corosync-quorumtool -l -p`). CTDB marks
/// a node DISCONNECTED also while its ctdbd restarts (a package upgrade, `apply` restarting
/// ctdb.service); corosync still has that node, and fencing it would cut a live node's CephFS
/// mount (its PVE storage too). Only a node both have lost is dead.
pub fn corosync_members() -> Result<Vec<String>> {
    let out = smbgw_sys::command::Command::new("corosync-quorumtool")
        .args(["-l", "-p"])
        .timeout(std::time::Duration::from_secs(5))
        .run()
        .map_err(|e| Error::external(format!("corosync's membership cannot be read: {}", e.message)))?;
    Ok(parse_members(&out.stdout))
}

/// The names of `corosync-quorumtool -l` output: the rows that start with a node id (`1 1 pve1`,
/// `2 1 pve2 (local)`).
pub fn parse_members(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            words.next()?.parse::<u32>().ok()?;
            words.next()?;
            words.next().map(str::to_string)
        })
        .collect()
}

/// `client4166` (the `ceph.client_id` xattr) → 4166.
pub fn parse_client_id(text: &str) -> Option<u64> {
    text.trim().trim_end_matches('\0').strip_prefix("client")?.parse().ok()
}

/// The id of the CephFS client serving `path` (ceph-fuse 16.2 and kernel clients answer the
/// `ceph.client_id` virtual xattr); `None` when `path` is not on CephFS. A read by path: it
/// changes nothing.
pub fn client_id(path: &Path) -> Result<Option<u64>> {
    let p = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::system(format!("{} has a NUL byte", path.display())))?;
    let name = CString::new("ceph.client_id").expect("no NUL");
    let mut buf = [0u8; 64];
    let n = unsafe { libc::getxattr(p.as_ptr(), name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        let e = std::io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::ENODATA | libc::EOPNOTSUPP) => Ok(None),
            _ => Err(Error::io("reading ceph.client_id of", path, e)),
        };
    }
    let text = String::from_utf8_lossy(&buf[..n as usize]);
    Ok(parse_client_id(&text))
}

/// The script CTDB runs for every event: it starts `cli ha-fence` detached (its own session,
/// output appended to `log`) on [`EVENTS`] and returns at once, so the takeover never waits
/// for Ceph. `env`: `NAME=value` settings for the command (the sandbox root in tests).
pub fn script(cli: &Path, env: &[String], log: &Path) -> String {
    let env = if env.is_empty() {
        String::new()
    } else {
        format!("env {} ", env.join(" "))
    };
    let log_dir = log.parent().unwrap_or(Path::new("/"));
    format!(
        "#!/bin/sh\n\
         # Generated by pve-smbgateway (ha-setup / apply); local changes are overwritten.\n\
         # Fencing: the leader evicts the CephFS clients of nodes CTDB declared dead, so the\n\
         # survivors need not wait for the MDS session timeout (smbgw_ha::fence). Detached: a\n\
         # slow Ceph must never hold up an event.\n\
         case \"$1\" in\n\
         {events})\n\
         \tmkdir -p '{log_dir}' 2>/dev/null\n\
         \t( {env}setsid '{cli}' ha-fence --event \"$1\" >>'{log}' 2>&1 ) </dev/null >/dev/null 2>&1 &\n\
         \t;;\n\
         esac\n\
         exit 0\n",
        events = EVENTS.join("|"),
        log_dir = log_dir.display(),
        cli = cli.display(),
        log = log.display(),
    )
}

/// One CephFS session as `session ls` shows it.
#[derive(Clone, Debug, Deserialize)]
pub struct Session {
    pub id: u64,
    #[serde(default)]
    pub inst: String,
    #[serde(default)]
    pub state: String,
}

impl Cluster {
    /// The names of the cluster's file systems (`ceph fs ls`).
    pub fn fs_names(&self) -> Result<Vec<String>> {
        #[derive(Deserialize)]
        struct Fs {
            name: String,
        }
        let out = self.ceph(&["fs", "ls"]).run()?;
        let list: Vec<Fs> = serde_json::from_str(&out.stdout)
            .map_err(|e| Error::external(format!("ceph fs ls answered something unexpected: {e}")))?;
        Ok(list.into_iter().map(|f| f.name).collect())
    }

    /// The client sessions of `fs`'s rank 0 (every client talks to the root's rank).
    pub fn sessions(&self, fs: &str) -> Result<Vec<Session>> {
        let out = self.ceph(&["tell", &format!("mds.{fs}:0"), "session", "ls"]).run()?;
        serde_json::from_str(&out.stdout).map_err(|e| {
            Error::external(format!(
                "ceph tell mds.{fs}:0 session ls answered something unexpected: {e}"
            ))
        })
    }

    /// Evict (and so blocklist) client `id` of `fs`: the other ranks drop it when they see the
    /// blocklist in the OSD map.
    pub fn evict(&self, fs: &str, id: u64) -> Result<()> {
        self.ceph(&["tell", &format!("mds.{fs}:0"), "client", "evict", &format!("id={id}")])
            .run()?;
        Ok(())
    }

    /// Fence the clients of one registration: evict each of its ids that still has a session.
    /// Returns the ids evicted or already gone; an error when Ceph failed.
    pub fn fence(&self, reg: &Registration) -> Result<Vec<u64>> {
        let wanted: BTreeSet<u64> = reg.clients.iter().copied().collect();
        for fs in self.fs_names()? {
            for s in self.sessions(&fs)? {
                if wanted.contains(&s.id) {
                    self.evict(&fs, s.id)?;
                }
            }
        }
        Ok(wanted.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{LockState, NodeStatus};

    fn st(me: u32, leader: Option<u32>, flags: &[&[&str]]) -> HaStatus {
        HaStatus {
            healthy: false,
            this_node: Some(me),
            leader,
            cluster_lock: LockState {
                configured: None,
                holder: leader,
            },
            nodes: flags
                .iter()
                .enumerate()
                .map(|(i, f)| NodeStatus {
                    pnn: i as u32,
                    address: [10, 0, 0, i as u8 + 1].into(),
                    name: None,
                    state: String::new(),
                    flags: f.iter().map(|s| s.to_string()).collect(),
                    this_node: i as u32 == me,
                })
                .collect(),
            vips: Vec::new(),
            digest: None,
            shares_not_on_vips: Vec::new(),
            fencing: Vec::new(),
        }
    }

    #[test]
    fn corosync_members_are_read_from_quorumtool_rows() {
        let text = "\nMembership information\n----------------------\n    Nodeid      Votes Name\n\
                    1          1 pve1\n         3          1 pve3 (local)\n";
        assert_eq!(parse_members(text), ["pve1", "pve3"]);
        assert!(parse_members("Quorum information\n").is_empty());
    }

    #[test]
    fn only_the_leader_of_a_majority_fences_and_only_disconnected_nodes() {
        let dead = &["DISCONNECTED", "UNHEALTHY", "INACTIVE"][..];
        // the leader of two out of three fences the dead one
        assert_eq!(decide(&st(1, Some(1), &[dead, &[], &[]])), Decision::Fence(vec![0]));
        // another node does not
        assert_eq!(decide(&st(2, Some(1), &[dead, &[], &[]])), Decision::NotLeader);
        assert_eq!(decide(&st(2, None, &[dead, &[], &[]])), Decision::NotLeader);
        // a cut-off leader that still thinks it leads sees the others dead: not a majority
        assert_eq!(
            decide(&st(0, Some(0), &[&[], dead, dead])),
            Decision::NoMajority { connected: 1, total: 3 }
        );
        // banned, disabled or stopped nodes are connected: never fenced
        let alive = &["BANNED", "INACTIVE"][..];
        assert_eq!(
            decide(&st(0, Some(0), &[&[], alive, &["DISABLED"]])),
            Decision::Fence(vec![])
        );
        // 2 nodes: the survivor is no majority (no fencing, the MDS session timeout applies)
        assert!(matches!(
            decide(&st(0, Some(0), &[&[], dead])),
            Decision::NoMajority { .. }
        ));
        // deleted nodes do not count
        assert_eq!(
            decide(&st(0, Some(0), &[&[], dead, &["DELETED", "DISCONNECTED"]])),
            Decision::NoMajority { connected: 1, total: 2 }
        );
    }

    #[test]
    fn client_ids_and_records() {
        assert_eq!(parse_client_id("client4166"), Some(4166));
        assert_eq!(parse_client_id("client4166\0"), Some(4166));
        assert_eq!(parse_client_id("osd.1"), None);
        let reg = Registration {
            node: "n1".into(),
            clients: vec![4166, 4170],
        };
        let mut rec = Record {
            node: "n1".into(),
            at: 0,
            clients: reg.clients.clone(),
            evicted: vec![4166, 4170],
            error: None,
        };
        assert!(rec.covers(&reg));
        rec.error = Some("ceph timed out".into());
        assert!(!rec.covers(&reg));
        rec.error = None;
        rec.evicted = vec![4166];
        assert!(!rec.covers(&reg));
    }

    #[test]
    fn the_script_starts_the_fence_detached_on_its_events_only() {
        let s = script(
            Path::new("/usr/sbin/pve-smbgateway"),
            &[],
            Path::new("/var/log/pve-smbgateway/ha-fence.log"),
        );
        assert!(s.starts_with("#!/bin/sh\n"));
        assert!(s.contains("monitor|recovered|ipreallocated)\n"), "{s}");
        assert!(
            s.contains("( setsid '/usr/sbin/pve-smbgateway' ha-fence --event \"$1\" >>'/var/log/pve-smbgateway/ha-fence.log' 2>&1 ) </dev/null >/dev/null 2>&1 &"),
            "{s}"
        );
        assert!(s.ends_with("exit 0\n"));
        let sandbox = script(
            Path::new("/x/cli"),
            &["PVE_SMBGW_ROOT=/r".into()],
            Path::new("/r/log/f.log"),
        );
        assert!(sandbox.contains("( env PVE_SMBGW_ROOT=/r setsid '/x/cli'"), "{sandbox}");
    }
}
