//! High availability for pve-smbgateway through CTDB: Samba's own cluster engine does the
//! failover; this crate configures it, watches it, drives planned moves and drills, and
//! provides the cluster lock that follows PVE's corosync membership.
//!
//! # API for the CLI and the PVE API (`ha-*` commands)
//!
//! - **Model** ([`config`]): [`HaConfig`] `{ nodes, vips, interface, lock, tunables, ad }`
//!   (stored as section config by [`file`], VIPs and lock spec re-checked on load; call `validate` too). Build it
//!   from the options with [`config::parse_nodes`]`(list, lookup)` (`name=addr` or bare names
//!   looked up in the PVE membership), [`config::parse_vips`]`("10.1.1.100/24,...")`,
//!   [`LockSpec::parse`]`(spec, no_lock)` (`corosync` | `file:/path` |
//!   `ceph:CLUSTER:USER:POOL:OBJECT` | `none`, the last only with `--no-lock`) and
//!   [`config::Tunables::set`]`("Name=Value")`. [`HaConfig::validate`]`(&Environment)` checks
//!   everything (input errors, exit 1; `Environment::sysfs` is `/sys`, tests override it);
//!   [`HaConfig::warnings`] must be printed (loudly for `--no-lock`).
//!   [`status::check_reachable`]`(&cfg)` pings every node before anything is written.
//! - **Node defaults**: [`members::read_members`]`(Path::new(members::MEMBERS_FILE))` →
//!   `Option<Members>`; [`members::Members::nodes`] gives all PVE nodes in node-id order,
//!   [`members::Members::address_of`] serves as the `lookup` for bare names.
//! - **`ha-setup` / `apply`** ([`render`]): [`render::plan`]`(&cfg, &RenderOptions, config_dir,
//!   &mut Plan)` adds `WriteFile` steps (only for files that change) for `ctdb.conf`, `nodes`,
//!   `public_addresses` and `ctdb.tunables`, and steps enabling the event scripts
//!   ([`render::event_scripts`]: 10.interface, 49.winbind with AD, 50.samba). `config_dir` is
//!   `/etc/ctdb` on a host. [`render::render`] returns the `(path, content, mode)` list for
//!   `--dry-run`; [`render::SMB_GLOBALS`] is what smb.conf's `[global]` needs
//!   (`clustering = yes`). `RenderOptions::default()` is right for a PVE host.
//! - **`ha-status`**: [`status::status`]`(&Ctdb, Option<&HaConfig>) -> HaStatus` (Serialize:
//!   healthy, this node, leader, lock `{configured, holder}`, nodes with state and name,
//!   VIP → holder), from `ctdb -X` machine output.
//! - **`ha-failover --vip IP --to NODE`**: [`status::failover`]`(&Ctdb, ip, pnn) -> Result<f64>`
//!   (seconds until CTDB reports the new holder); NODE → PNN with [`HaConfig::pnn_of`].
//! - **`ha-node disable|enable NODE`**: [`status::disable`] / [`status::enable`]`(&Ctdb, pnn)`.
//! - **`ha-test --vip IP`**: [`status::ha_test`]`(&Ctdb, ip, &DrillOptions) -> DrillReport`
//!   (disables the holder, measures until another node hosts the VIP and it answers ping,
//!   re-enables the holder even when the drill fails).
//! - [`Ctdb::local`](status::Ctdb::local) talks to the local ctdbd; `Ctdb::with_prefix([...])`
//!   runs ctdb through a wrapper (`nsenter` in the tests). Every call runs under `setsid` with
//!   a bounded `-T`: when that expires ctdb does `kill(0, SIGTERM)` on its process group.
//! - **RADOS lock** ([`ceph`]): `ceph:CLUSTER:USER:POOL:OBJECT` runs ctdb's
//!   `ctdb_mutex_ceph_rados_helper` through `env CEPH_CONF=` a client config of the lock's own
//!   ([`ceph::client_conf`], op timeouts of 1 s, keyring beside it) with a 10 s lock;
//!   [`ceph::Cluster::check_lock`] checks pool and user against the cluster. Measured in
//!   tests/ceph_lock.rs: a cut-off holder exits ~2 s before the lock expires and another node
//!   takes it; without the op timeouts it keeps "holding" past the takeover.
//! - **Fencing** ([`fence`]): the hidden `ha-fence` command, run by CTDB's event script
//!   [`fence::SCRIPT`] ([`fence::script`]), registers this node's CephFS client ids and, on the
//!   leader of a majority ([`fence::decide`]), evicts (= blocklists) the clients of DISCONNECTED
//!   nodes, so writes resume without the MDS session timeout. `HaStatus::fencing` reports it.
//! - **Lock helper** binary `smbgw-ctdb-quorum-lock` ([`lock`]; install it as
//!   [`config::DEFAULT_LOCK_HELPER`]). It loads libquorum/libcpg from the `corosync` package
//!   with dlopen, so building needs no corosync -dev package.
//!
//! # Failover tunables
//!
//! Defaults `KeepaliveInterval=1`, `KeepaliveLimit=3` (CTDB: 5 and 5, ~30 s to notice a cut-off
//! node); see [`config::DEFAULT_KEEPALIVE_INTERVAL`] for the trade-off. With the corosync lock,
//! corosync's own detection (`token`, PVE default 3000 ms ≈ 3.65 s with 3 nodes, then consensus;
//! recipe 10 measured 7.6 s, 3.5 s with `token: 1000`) also bounds a failover of the *leader*.
//!
//! # Measured here (tests/cluster.rs: 3 CTDB 4.17 nodes + corosync 3.1.7 with `token: 1000`)
//!
//! - Three helpers racing for a free lock: exactly one '0' (0.5 s, the margin), the others '1'.
//! - Drill (`ctdb disable` of the holder): VIP on another node and answering 0.6-0.7 s.
//! - Planned move (`ctdb moveip`): 0.1-0.2 s.
//! - Leader + VIP holder cut off (bridge port down): its helper releases the lock at +3.4-3.6 s
//!   (quorum lost), the VIP answers from a survivor (client ARP updated) at +5.4-6.0 s. With a
//!   local fcntl lock file this never fails over (recipes README).
//!   With PVE's default `token` (3000 ms; `SMBGW_HA_TOKEN=3000`): released +8.0 s, answering
//!   +9.6 s. A safe hand-over cannot beat corosync's membership change, so ≤ 6 s for a cut-off
//!   leader needs a shorter token on the corosync ring.
//! - kill -9 of the leader's ctdbd (corosync keeps running): its helper exits +1.2-2.0 s, the
//!   last node leads and answers on both VIPs +3.5-5.4 s.
//! - kill -9 of corosync under the lock holder: the helper releases +0.1 s.
//! - tests/cephfs_failover.rs (shares on a real CephFS): the whole VIP holder dies (its
//!   ceph-fuse too); with [`fence`] writes through the VIP resume +4.9-6.8 s after the crash,
//!   without it only once the MDS drops the dead client's session (+61 s at the default
//!   `session_timeout` of 60 s).
//!
//! # Traps
//!
//! - ctdb 4.17's `moveip` leaves takeover runs disabled for 2 × its `-t` (default 10 s): any
//!   failover in the 20 s after a planned move waited 20.5 s. [`status::failover`] passes
//!   `-t 2`, bounding that window to 4 s.
//! - `ctdb -X ip -v` names the column `ActiveInterfaces`; `ctdb -X status` has no `Deleted`
//!   column in 4.17. Columns are looked up by name.

pub mod ceph;
pub mod config;
pub mod corosync;
pub mod fence;
pub mod file;
pub mod lock;
pub mod members;
pub mod render;
pub mod status;

pub use config::{HaConfig, LockSpec, Node, Vip};
pub use status::{Ctdb, HaStatus};
