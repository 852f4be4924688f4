//! High availability: the CTDB cluster of the gateway. The HA config is cluster-wide (in the
//! config directory on pmxcfs, beside shares.cfg), so every node converges to it with `apply`;
//! CTDB itself (smbgw-ha) moves the floating addresses.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use smbgw_core::digest::{ConfigDigest, Digested};
use smbgw_core::placement::Placement;
use smbgw_core::plan::{FnStep, RemoveFile, WriteFile};
use smbgw_core::store::SharesConfig;
use smbgw_core::{bail_field, bail_input, section, Error, Plan, QuotaBackend, Result, ResultExt, Share};
use smbgw_ha::config::{self, Environment, Tunables};
use smbgw_ha::fence::{self, Decision, Record, Registration};
use smbgw_ha::render::{self, FenceScript, RenderOptions};
use smbgw_ha::status::{self, Ctdb, DrillOptions, DrillReport, UnservedShare};
use smbgw_ha::{ceph, file, members, HaConfig, HaStatus, LockSpec};

use crate::{Change, Gateway};

pub const HA_FILE: &str = file::FILE;

/// The cluster lock unless one is given (the schema's default).
pub use smbgw_core::schema::DEFAULT_LOCK;

/// `ha-setup`, as given on the command line or through the API.
pub struct HaSetup {
    /// `n1,n2` (addresses from the PVE membership) or `n1=10.0.0.1,...`; `None`: every node
    /// of the PVE cluster.
    pub nodes: Option<String>,
    pub vips: String,
    pub interface: String,
    /// A lock spec, or `auto` ([`DEFAULT_LOCK`]): RADOS when this node runs Ceph, else corosync.
    pub lock: String,
    pub no_lock: bool,
    /// `Name=Value` CTDB tunables.
    pub tunables: Vec<String>,
    /// The digest of the HA config the caller read (`ha-status`); a config changed since is
    /// refused.
    pub digest: Option<String>,
}

/// A share's data is on the cluster filesystem: the `backend` planning records `cephfs` for
/// every share whose directory is on CephFS, quota or not (gateway/src/storage).
fn on_cluster_storage(share: &Share) -> bool {
    match share.quota_backend {
        QuotaBackend::Cephfs => true,
        // made before shares on CephFS were recorded as such: the filesystem says
        QuotaBackend::Auto => {
            smbgw_quota::detect(std::path::Path::new(&share.path)).ok().flatten() == Some(QuotaBackend::Cephfs)
        }
        _ => false,
    }
}

/// A native share on node-local storage, for the messages that refuse or list it.
fn node_local(share: &Share) -> bool {
    share.mode.is_native() && !on_cluster_storage(share)
}

/// Why a share is not served through the VIPs, `None` when it is.
fn not_on_vips(share: &Share) -> Option<String> {
    let guest = |what: &str, id: Option<u32>| {
        format!(
            "served by the smbd inside {what} {} on the guest's own address: CTDB moves the VIPs between \
             the nodes' smbd, not guests",
            id.map_or("(not created yet)".to_string(), |id| id.to_string())
        )
    };
    match &share.mode {
        Placement::Lxc(ct) => Some(guest("container", ct.id)),
        Placement::Vm(vm) => Some(guest("VM", vm.id)),
        Placement::Native if !on_cluster_storage(share) => Some(format!(
            "its data is on node-local storage ({}): every node serves its own directory there, so after a \
             failover clients reaching it through a VIP see another node's data; recreate it on a cephfs \
             storage (--storage ID) and move the data",
            share.path
        )),
        Placement::Native => None,
    }
}

impl Gateway {
    fn ha_path(&self) -> PathBuf {
        self.layout.config_dir.join(HA_FILE)
    }

    fn legacy_ha_path(&self) -> PathBuf {
        self.layout.config_dir.join(file::LEGACY_FILE)
    }

    /// The cluster's HA config, `None` when HA is not set up.
    pub fn ha_config(&self) -> Result<Option<HaConfig>> {
        Ok(self.ha_config_digested()?.map(Digested::into_inner))
    }

    /// The HA config with the digest of its file. An `ha.json` of an earlier version is read
    /// while no `ha.cfg` exists. `ha-setup` writes both, so that nodes not yet upgraded keep
    /// reading the cluster's HA config during a rolling upgrade; when the two disagree, a node
    /// of an earlier version changed it after an upgraded one, and neither can be trusted.
    pub fn ha_config_digested(&self) -> Result<Option<Digested<HaConfig>>> {
        let path = self.ha_path();
        let legacy = self.legacy_ha_path();
        let legacy_bytes = smbgw_sys::fs::read_optional(&legacy)?;
        if let Some(bytes) = smbgw_sys::fs::read_optional(&path)? {
            let (text, digest) = section::text(Some(bytes), &path)?;
            let value = file::parse(&text, &path)?;
            if let Some(old) = legacy_bytes {
                if file::parse_legacy_json(&old, &legacy)? != value {
                    return Err(Error::system(format!(
                        "{} and {} hold different HA configs: a node of an earlier version ran \
                         ha-setup after this one; upgrade every node, then run ha-setup again",
                        path.display(),
                        legacy.display()
                    )));
                }
            }
            return Ok(Some(Digested { value, digest }));
        }
        let Some(bytes) = legacy_bytes else {
            return Ok(None);
        };
        Ok(Some(Digested {
            value: file::parse_legacy_json(&bytes, &legacy)?,
            digest: ConfigDigest::of(&bytes),
        }))
    }

    /// The node's Ceph config as PVE keeps it (`/etc/pve/ceph.conf`, beside `.members`; in a
    /// sandbox under its `pve/`): its presence means the node runs Ceph.
    fn pve_ceph_conf(&self) -> PathBuf {
        self.pve_dir().join("ceph.conf")
    }

    /// PVE's cluster filesystem (`/etc/pve`; in a sandbox its `pve/`), where `.members` is.
    fn pve_dir(&self) -> PathBuf {
        self.layout
            .pve_members
            .parent()
            .unwrap_or(Path::new("/etc/pve"))
            .to_owned()
    }

    /// The Ceph cluster a RADOS lock names: PVE's own (`ceph`, or any name in a sandbox) by
    /// its config on pmxcfs, another one by `/etc/ceph/NAME.conf`.
    fn ceph_cluster(&self, name: &str) -> Result<ceph::Cluster> {
        let conf = match name {
            ceph::DEFAULT_CLUSTER => self.pve_ceph_conf(),
            _ if self.layout.is_sandbox() => self.pve_ceph_conf(),
            _ => Path::new("/etc/ceph").join(format!("{name}.conf")),
        };
        if !conf.exists() {
            return Err(Error::input(format!(
                "the Ceph lock names cluster {name:?}, but this node has no config for it ({})",
                conf.display()
            ))
            .field("lock"));
        }
        Ok(ceph::Cluster::new(name, &conf))
    }

    /// The lock when none is given: RADOS when this node runs Ceph (the lock then lives where
    /// the shares' data does, and a cut-off leader loses it with its storage), else corosync.
    fn default_lock(&self) -> Result<LockSpec> {
        let conf = self.pve_ceph_conf();
        if !conf.exists() {
            return Ok(LockSpec::Corosync);
        }
        let cluster = ceph::Cluster::new(ceph::DEFAULT_CLUSTER, &conf);
        let Some(pool) = cluster.first_fs_metadata_pool()? else {
            bail_field!(
                "lock",
                "this node runs Ceph ({}) but it has no CephFS to put the cluster lock beside the shares; \
                 give --lock ceph:ceph:USER:POOL:OBJECT with an existing pool, or --lock corosync",
                conf.display()
            );
        };
        Ok(LockSpec::Ceph {
            cluster: ceph::DEFAULT_CLUSTER.into(),
            user: ceph::DEFAULT_USER.into(),
            pool,
            object: ceph::DEFAULT_OBJECT.into(),
        })
    }

    /// Refuse a native share on node-local storage while HA is set up: clients reach it
    /// through VIPs that move, and another node's directory holds other data (create, update).
    pub(crate) fn check_share_for_ha(&self, share: &Share) -> Result<()> {
        if !node_local(share) || self.ha_config()?.is_none() {
            return Ok(());
        }
        bail_field!(
            if share.storage.is_some() { "storage" } else { "path" },
            "share '{}' would be on node-local storage ({}), but high availability is set up: clients \
             reach shares through floating addresses that move between nodes, and after a failover they \
             would see another node's directory. Put it on a cephfs storage (--storage ID)",
            share.name,
            share.path
        );
    }

    fn render_options(&self) -> RenderOptions {
        let mut opts = RenderOptions {
            ceph_client_conf: self.layout.ctdb_dir.join(ceph::CLIENT_CONF),
            ..RenderOptions::default()
        };
        if self.layout.is_sandbox() {
            // no SCHED_FIFO for a daemon started by hand in a test
            opts.realtime_scheduling = false;
        }
        // fencing of dead nodes' CephFS clients: only where the cluster runs Ceph
        if self.pve_ceph_conf().exists() {
            let (cli, env) = match &self.layout.sandbox {
                Some(sb) => (
                    self.layout
                        .cli_source
                        .clone()
                        .unwrap_or_else(|| self.layout.cli.clone()),
                    vec![format!("{}={}", smbgw_core::layout::ENV_ROOT, sb.root.display())],
                ),
                None => (self.layout.cli.clone(), Vec::new()),
            };
            opts.fence = Some(FenceScript {
                cli,
                env,
                log: self.layout.log_dir.join("ha-fence.log"),
            });
        }
        opts
    }

    /// `ha-setup`: validate everything, check the nodes answer, then write the HA config, the
    /// CTDB files and smb.conf with `clustering = yes` (and start CTDB on a node).
    pub fn ha_setup(&self, req: &HaSetup, dry_run: bool) -> Result<Change> {
        let members = members::read_members(&self.layout.pve_members)?;
        let lookup = |name: &str| -> Option<IpAddr> { members.as_ref()?.address_of(name) };
        let nodes = match &req.nodes {
            Some(list) => config::parse_nodes(list, lookup).field("nodes")?,
            None => match &members {
                Some(m) => m.nodes()?,
                None => bail_field!(
                    "nodes",
                    "this node is not in a PVE cluster (no {}): give --nodes",
                    self.layout.pve_members.display()
                ),
            },
        };
        let mut tunables = Tunables::default();
        for t in &req.tunables {
            tunables.set(t).field("tunable")?;
        }
        let lock = match req.lock.as_str() {
            // a cluster set up already keeps its lock: nodes take a new one only as their ctdbd
            // restarts, and two kinds of lock at once could elect two leaders
            DEFAULT_LOCK => match self.ha_config()? {
                Some(current) => current.lock,
                None => self.default_lock()?,
            },
            spec => LockSpec::parse(spec, req.no_lock).field("lock")?,
        };
        let cfg = HaConfig {
            nodes,
            vips: config::parse_vips(&req.vips).field("vip")?,
            interface: req.interface.clone(),
            lock,
            tunables,
            ad: smbgw_core::ad::AdState::load(&self.layout)?.is_some(),
        };
        cfg.validate(&Environment::default())?;
        if let LockSpec::Ceph {
            cluster,
            user,
            pool,
            object,
        } = &cfg.lock
        {
            let cluster = self.ceph_cluster(cluster)?;
            // the lock's own user, when missing, is made with its caps by the plan
            if user == ceph::DEFAULT_USER && cluster.auth_get(user)?.is_none() {
                cluster.check_new_lock_user(pool, object).field("lock")?;
            } else {
                cluster.check_lock(user, pool, object).field("lock")?;
            }
        }
        let _lock = self.store.lock()?;
        let current = self.ha_config_digested()?.map(|d| d.digest);
        // no HA config yet: the digest of an empty file, as PVE treats a missing config
        current
            .unwrap_or_else(|| ConfigDigest::of(b""))
            .check(req.digest.as_deref(), "HA config")?;
        let shares = self.store.load()?;
        let local: Vec<&Share> = shares.shares().iter().filter(|s| node_local(s)).collect();
        if !local.is_empty() {
            bail_input!(
                "high availability serves shares through floating addresses that move between nodes, so \
                 their data must be on cluster storage (CephFS) every node mounts; these shares are on \
                 node-local storage: {}. Recreate them on a cephfs storage (--storage ID) and move the \
                 data, or delete them, then run ha-setup again",
                local
                    .iter()
                    .map(|s| format!("'{}' ({})", s.name, s.path))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        if !dry_run {
            status::check_reachable(&cfg)?;
        }
        let mut plan = Plan::new();
        let step = WriteFile::new("HA config", &self.ha_path(), file::render(&cfg).into_bytes(), 0o640)?;
        if step.changes() {
            plan.push(step);
        }
        // ha.json as earlier versions read it, kept in step while nodes may not be upgraded yet
        let mut json = serde_json::to_vec_pretty(&cfg).expect("HA config serialises");
        json.push(b'\n');
        let legacy = WriteFile::new(
            "HA config for nodes of earlier versions",
            &self.legacy_ha_path(),
            json,
            0o640,
        )?;
        if legacy.changes() {
            plan.push(legacy);
        }
        if let Some(problem) = self.ha_steps(&cfg, &shares, &mut plan, false)? {
            return Err(Error::external(problem));
        }
        self.execute(plan, dry_run, None, cfg.warnings())
    }

    /// The CTDB files and the clustered smb.conf for `cfg` serving `shares` (also what `apply`
    /// converges, with the shares it can serve; `empty_confirmed`: its `--force`). Returns what
    /// could not be planned without stopping the rest: the RADOS lock's keyring when Ceph does
    /// not answer (CTDB keeps the files it has; `apply` reports it, `ha-setup` fails on it).
    pub(crate) fn ha_steps(
        &self,
        cfg: &HaConfig,
        shares: &SharesConfig,
        plan: &mut Plan,
        empty_confirmed: bool,
    ) -> Result<Option<String>> {
        let before = plan.len();
        let mut problem = None;
        match &cfg.lock {
            LockSpec::Ceph {
                cluster, user, pool, ..
            } => {
                if let Err(e) = self.ceph_lock_steps(cluster, user, pool, plan) {
                    problem = Some(format!(
                        "the CTDB lock's Ceph files could not be brought up to date: {}",
                        e.message
                    ));
                }
            }
            // another lock now: no keyring left behind, here nor the cluster-wide copy of the
            // lock's own user (the cephx user stays: a later ha-setup takes it up again)
            _ => {
                let shared = (self.pve_dir().join("priv"))
                    .join(ceph::shared_keyring_name(ceph::DEFAULT_CLUSTER, ceph::DEFAULT_USER));
                for path in [ceph::CLIENT_KEYRING, ceph::CLIENT_CONF]
                    .map(|file| self.layout.ctdb_dir.join(file))
                    .into_iter()
                    .chain([shared])
                {
                    if let Some(step) = RemoveFile::new("former CTDB lock file", &path)? {
                        plan.push(step);
                    }
                }
            }
        }
        let opts = self.render_options();
        if opts.fence.is_none() {
            let script = self.layout.ctdb_dir.join(render::fence_script_path());
            if let Some(step) = RemoveFile::new("CTDB fencing event script (no Ceph)", &script)? {
                plan.push(step);
            }
        }
        render::plan(cfg, &opts, &self.layout.ctdb_dir, plan)?;
        // on a node, CTDB takes the new files on a restart; with 50.samba enabled it runs smbd
        // itself from then on (so smbd.service should be disabled on cluster nodes)
        if !self.layout.is_sandbox() && plan.len() > before {
            plan.push(FnStep::new(
                "restart ctdb.service",
                || smbgw_sys::systemd::restart_unit("ctdb.service"),
                || Ok(()),
            ));
        }
        let globals = smbgw_samba::render::Globals {
            clustering: true,
            ..self.globals()?
        };
        // smbd cannot reload into clustering before ctdbd runs; a node's ctdb.service starts it
        self.samba_steps_for_apply(shares, &globals, plan, false, empty_confirmed)?;
        Ok(problem)
    }

    /// The RADOS lock's client config (0644, no secrets) and its user's keyring (0600) beside
    /// ctdb.conf (see smbgw_ha::ceph): the op timeouts make a cut-off holder give up the lock
    /// before it expires.
    /// The keyring is asked of Ceph only when this node has none yet: `apply` at boot must not
    /// wait for the monitors, and a key that exists does not change. The lock's own user
    /// (ceph::DEFAULT_USER) also keeps a copy on pmxcfs (PVE's `priv/`), which the other nodes
    /// take, and is made when the cluster does not have it; another user's keyring is only
    /// ever node-local (PVE's `priv/` already holds client.admin's).
    fn ceph_lock_steps(&self, cluster: &str, user: &str, pool: &str, plan: &mut Plan) -> Result<()> {
        let cluster = self.ceph_cluster(cluster)?;
        let conf_text = std::fs::read_to_string(&cluster.conf).map_err(|e| Error::io("reading", &cluster.conf, e))?;
        let keyring = self.layout.ctdb_dir.join(ceph::CLIENT_KEYRING);
        let conf_step = WriteFile::new(
            "CTDB lock Ceph config",
            &self.layout.ctdb_dir.join(ceph::CLIENT_CONF),
            ceph::client_conf(&conf_text, user, &keyring).into_bytes(),
            0o644,
        )?;
        let own_user = user == ceph::DEFAULT_USER;
        let shared = self
            .pve_dir()
            .join("priv")
            .join(ceph::shared_keyring_name(&cluster.name, user));
        // a user's keyring starts with `[client.NAME]` (ceph::keyring); another user's is replaced
        let of_user = |path: &Path| {
            std::fs::read_to_string(path)
                .ok()
                .filter(|k| k.starts_with(&format!("[{user}]")))
        };
        let local_key = of_user(&keyring);
        let shared_key = own_user.then(|| of_user(&shared)).flatten();
        let mut files = Vec::new();
        match (local_key, shared_key) {
            (Some(_), Some(_)) => {}
            // the cluster-wide copy is missing: Ceph's key when it answers (a user made again
            // has a new one, which this node's copy would not know), else this node's
            (Some(local), None) if own_user => match cluster.auth_get(user) {
                Ok(Some(entity)) if ceph::keyring(&entity) != local => {
                    files.push(("CTDB lock keyring", &keyring, ceph::keyring(&entity)));
                    files.push(("CTDB lock keyring (cluster-wide)", &shared, ceph::keyring(&entity)));
                }
                _ => files.push(("CTDB lock keyring (cluster-wide)", &shared, local)),
            },
            (Some(_), None) => {}
            (None, Some(text)) => files.push(("CTDB lock keyring", &keyring, text)),
            (None, None) => match cluster.auth_get(user)? {
                Some(entity) => {
                    files.push(("CTDB lock keyring", &keyring, ceph::keyring(&entity)));
                    if own_user {
                        files.push(("CTDB lock keyring (cluster-wide)", &shared, ceph::keyring(&entity)));
                    }
                }
                None if own_user => plan.push(self.create_lock_user_step(cluster, pool, &keyring, &shared)),
                None => {
                    return Err(Error::external(format!(
                        "the Ceph lock user {user} no longer exists in cluster {}; run ha-setup with a user that does",
                        cluster.name
                    )))
                }
            },
        }
        for (what, path, text) in files {
            plan.push(WriteFile::new(what, path, text.into_bytes(), 0o600)?);
        }
        if conf_step.changes() {
            plan.push(conf_step);
        }
        Ok(())
    }

    /// Make the lock's own user (ceph::lock_user_caps) and write its keyring here and on
    /// pmxcfs; undone by removing both and the user.
    fn create_lock_user_step(&self, cluster: ceph::Cluster, pool: &str, keyring: &Path, shared: &Path) -> FnStep {
        let (pool, keyring, shared) = (pool.to_string(), keyring.to_owned(), shared.to_owned());
        let undo_cluster = cluster.clone();
        let (undo_keyring, undo_shared) = (keyring.clone(), shared.clone());
        FnStep::new(
            format!(
                "create Ceph user {} (lock object {}* in pool {pool}) and its keyrings {} and {}",
                ceph::DEFAULT_USER,
                ceph::DEFAULT_OBJECT,
                keyring.display(),
                shared.display()
            ),
            move || {
                let entity = cluster.create_lock_user(ceph::DEFAULT_USER, &pool)?;
                let text = ceph::keyring(&entity);
                for path in [&shared, &keyring] {
                    if let Some(dir) = path.parent() {
                        smbgw_sys::fs::create_dir_all(dir, 0o700)?;
                    }
                    smbgw_sys::fs::atomic_write(path, text.as_bytes(), 0o600)?;
                }
                Ok(())
            },
            move || {
                for path in [&undo_keyring, &undo_shared] {
                    smbgw_sys::fs::restore(path, None, 0o600)?;
                }
                undo_cluster.auth_del(ceph::DEFAULT_USER)
            },
        )
    }

    fn ctdb(&self) -> Ctdb {
        Ctdb::local()
    }

    fn configured(&self) -> Result<HaConfig> {
        self.ha_config()?.ok_or_else(not_set_up)
    }

    fn vip(cfg: &HaConfig, vip: &str) -> Result<IpAddr> {
        let ip: IpAddr = vip
            .parse()
            .map_err(|_| Error::input(format!("{vip:?} is not an IP address")).field("vip"))?;
        if !cfg.vips.iter().any(|v| v.address == ip) {
            return Err(Error::not_found(format!(
                "{ip} is not a VIP of this cluster; its VIPs are {}",
                cfg.vips
                    .iter()
                    .map(|v| v.address.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .field("vip"));
        }
        Ok(ip)
    }

    fn pnn(cfg: &HaConfig, node: &str) -> Result<u32> {
        cfg.pnn_of(node).ok_or_else(|| {
            Error::not_found(format!(
                "{node:?} is not a node of this cluster; its nodes are {}",
                cfg.nodes.iter().map(|n| n.name.as_str()).collect::<Vec<_>>().join(", ")
            ))
            .field("node")
        })
    }

    /// `ha-status`, with the digest `ha-setup` takes and the shares the VIPs do not serve.
    pub fn ha_status(&self) -> Result<HaStatus> {
        let cfg = self.ha_config_digested()?.ok_or_else(not_set_up)?;
        let mut report = status::status(&self.ctdb(), Some(&cfg))?;
        report.digest = Some(cfg.digest.to_string());
        report.shares_not_on_vips = self
            .store
            .load()?
            .shares()
            .iter()
            .filter_map(|s| {
                not_on_vips(s).map(|reason| UnservedShare {
                    share: s.name.clone(),
                    reason,
                })
            })
            .collect();
        report.fencing = self.fence_records(&cfg)?;
        Ok(report)
    }

    fn fence_dir(&self) -> PathBuf {
        self.layout.config_dir.join(fence::DIR)
    }

    fn fence_file<T: serde::de::DeserializeOwned>(&self, node: &str, kind: &str) -> Result<Option<T>> {
        let path = self.fence_dir().join(format!("{node}.{kind}.json"));
        match smbgw_sys::fs::read_optional(&path)? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| Error::system(format!("{} is not what ha-fence writes: {e}", path.display()))),
        }
    }

    fn write_fence_file<T: serde::Serialize>(&self, node: &str, kind: &str, value: &T) -> Result<()> {
        let dir = self.fence_dir();
        smbgw_sys::fs::create_dir_all(&dir, 0o755)?;
        let mut json = serde_json::to_vec_pretty(value).expect("serialises");
        json.push(b'\n');
        smbgw_sys::fs::atomic_write(&dir.join(format!("{node}.{kind}.json")), &json, 0o640)
    }

    /// The last fencing of every node of the cluster that was ever fenced.
    fn fence_records(&self, cfg: &HaConfig) -> Result<Vec<Record>> {
        let mut out = Vec::new();
        for n in &cfg.nodes {
            if let Some(r) = self.fence_file::<Record>(&n.name, "fenced")? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// `ha-fence` (hidden; CTDB's event script runs it detached, see smbgw_ha::fence): register
    /// this node's CephFS client ids, and on the leader of a majority evict the clients of the
    /// nodes CTDB declared dead. Returns what it did, one line each.
    pub fn ha_fence(&self, event: &str) -> Result<Vec<String>> {
        let Some(cfg) = self.ha_config()? else {
            return Ok(vec!["high availability is not set up: nothing to fence".into()]);
        };
        let conf = self.pve_ceph_conf();
        let shares = self.store.load()?;
        let paths: Vec<&str> = shares
            .shares()
            .iter()
            .filter(|s| s.mode.is_native() && on_cluster_storage(s))
            .map(|s| s.path.as_str())
            .collect();
        if paths.is_empty() || !conf.exists() {
            return Ok(vec![
                "no share on CephFS, or no Ceph on this cluster: nothing to fence".into()
            ]);
        }
        // one run at a time on a node (events come in bursts); a later one finds the work done
        smbgw_sys::fs::create_dir_all(&self.layout.run_dir, 0o755)?;
        let _lock = smbgw_sys::lock::lock_file(
            &self.layout.run_dir.join("ha-fence.lock"),
            std::time::Duration::from_secs(60),
        )?;
        let mut out = Vec::new();
        let st = status::status(&Ctdb::local().timeout(5), Some(&cfg))?;
        let Some(me) = st.this_node.and_then(|p| cfg.nodes.get(p as usize)) else {
            return Err(Error::external("CTDB does not say which node this is"));
        };

        // 1. register this node's own CephFS clients (only when they changed)
        let mut clients = std::collections::BTreeSet::new();
        for p in &paths {
            match fence::client_id(std::path::Path::new(p)) {
                Ok(Some(id)) => {
                    clients.insert(id);
                }
                Ok(None) => {}
                Err(e) => out.push(format!("{event}: cannot read the CephFS client of {p}: {e}")),
            }
        }
        let reg = Registration {
            node: me.name.clone(),
            clients: clients.into_iter().collect(),
        };
        if !reg.clients.is_empty() && self.fence_file::<Registration>(&me.name, "client")?.as_ref() != Some(&reg) {
            self.write_fence_file(&me.name, "client", &reg)?;
            out.push(format!(
                "{event}: registered node {} as CephFS client(s) {:?}",
                me.name, reg.clients
            ));
        }

        // 2. the leader of a majority fences the dead nodes
        let dead = match fence::decide(&st) {
            Decision::NotLeader => return Ok(out),
            Decision::NoMajority { connected, total } => {
                out.push(format!(
                    "{event}: not fencing: only {connected} of {total} nodes are connected to this leader, \
                     which may be the one cut off"
                ));
                return Ok(out);
            }
            Decision::Fence(dead) => dead,
        };
        if dead.is_empty() {
            return Ok(out);
        }
        // CTDB loses a node also while its ctdbd restarts: only a node corosync lost too is dead
        let members = match fence::corosync_members() {
            Ok(m) => m,
            Err(e) => {
                out.push(format!("{event}: not fencing: {e}"));
                return Ok(out);
            }
        };
        let dead: Vec<u32> = dead
            .into_iter()
            .filter(|pnn| match cfg.nodes.get(*pnn as usize) {
                Some(node) if members.contains(&node.name) => {
                    out.push(format!(
                        "{event}: node {} is gone from CTDB but not from corosync (ctdbd restarting?): not fenced",
                        node.name
                    ));
                    false
                }
                _ => true,
            })
            .collect();
        let cluster = ceph::Cluster::new(ceph::DEFAULT_CLUSTER, &conf);
        let mut failed = Vec::new();
        for pnn in dead {
            let Some(node) = cfg.nodes.get(pnn as usize) else {
                continue;
            };
            let done = self.fence_file::<Record>(&node.name, "fenced")?;
            let at = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let Some(reg) = self.fence_file::<Registration>(&node.name, "client")? else {
                // reported once (a node that never ran with a CephFS share stays down quietly)
                let msg = format!(
                    "node {} never registered its CephFS client: it cannot be fenced",
                    node.name
                );
                if done.as_ref().and_then(|r| r.error.as_deref()) != Some(msg.as_str()) {
                    let record = Record {
                        node: node.name.clone(),
                        at,
                        clients: Vec::new(),
                        evicted: Vec::new(),
                        error: Some(msg.clone()),
                    };
                    self.write_fence_file(&node.name, "fenced", &record)?;
                    out.push(format!("{event}: {msg}"));
                    failed.push(msg);
                }
                continue;
            };
            if done.as_ref().is_some_and(|r| r.covers(&reg)) {
                continue;
            }
            let record = match cluster.fence(&reg) {
                Ok(evicted) => Record {
                    node: node.name.clone(),
                    at,
                    clients: reg.clients.clone(),
                    evicted,
                    error: None,
                },
                Err(e) => Record {
                    node: node.name.clone(),
                    at,
                    clients: reg.clients.clone(),
                    evicted: Vec::new(),
                    error: Some(e.to_string()),
                },
            };
            match &record.error {
                None => out.push(format!(
                    "{event}: fenced dead node {}: CephFS client(s) {:?} evicted and blocklisted",
                    node.name, record.evicted
                )),
                Some(e) => {
                    out.push(format!(
                        "{event}: FENCING of dead node {} FAILED (retried at the next event): {e}",
                        node.name
                    ));
                    failed.push(format!("node {}: {e}", node.name));
                }
            }
            self.write_fence_file(&node.name, "fenced", &record)?;
        }
        if !failed.is_empty() {
            return Err(Error::external(format!(
                "{}\nfencing failed: {}",
                out.join("\n"),
                failed.join("; ")
            )));
        }
        Ok(out)
    }

    /// The checks of `ha-failover`, `ha-test` and `ha-node` that need no CTDB: HA set up, the
    /// VIP and the node known. The API runs them before it forks the task, so a wrong value is
    /// a field error at once, not a failed task.
    pub fn ha_check_target(&self, vip: Option<&str>, node: Option<&str>) -> Result<()> {
        let cfg = self.configured()?;
        if let Some(vip) = vip {
            Self::vip(&cfg, vip)?;
        }
        if let Some(node) = node {
            Self::pnn(&cfg, node)?;
        }
        Ok(())
    }

    /// `ha-failover --vip IP --to NODE`: a planned move; returns the seconds it took.
    pub fn ha_failover(&self, vip: &str, to: &str) -> Result<f64> {
        let cfg = self.configured()?;
        let ip = Self::vip(&cfg, vip)?;
        let pnn = Self::pnn(&cfg, to)?;
        status::failover(&self.ctdb(), ip, pnn)
    }

    /// `ha-node disable|enable NODE`: maintenance (a disabled node hosts no VIP).
    pub fn ha_node(&self, node: &str, enable: bool) -> Result<()> {
        let cfg = self.configured()?;
        let pnn = Self::pnn(&cfg, node)?;
        if enable {
            status::enable(&self.ctdb(), pnn)
        } else {
            status::disable(&self.ctdb(), pnn)
        }
    }

    /// `ha-test --vip IP`: a real failover drill.
    pub fn ha_test(&self, vip: &str) -> Result<DrillReport> {
        let cfg = self.configured()?;
        let ip = Self::vip(&cfg, vip)?;
        status::ha_test(&self.ctdb(), ip, &DrillOptions::default())
    }
}

fn not_set_up() -> Error {
    Error::not_set_up("high availability is not set up; run 'pve-smbgateway ha-setup' first")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share(props: &[(&str, &str)]) -> Share {
        let props = props.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Share::from_properties("s", &props).unwrap()
    }

    #[test]
    fn the_fencing_script_is_rendered_only_where_the_cluster_runs_ceph() {
        let dir = tempfile::tempdir().unwrap();
        let layout = smbgw_core::Layout::sandbox(dir.path(), [127, 0, 0, 1].into(), 445).unwrap();
        let gw = Gateway::new(layout);
        assert!(gw.render_options().fence.is_none());
        std::fs::create_dir_all(dir.path().join("pve")).unwrap();
        std::fs::write(dir.path().join("pve/ceph.conf"), "[global]\n").unwrap();
        let fence = gw.render_options().fence.unwrap();
        // the sandbox's root goes with it: ctdbd's environment does not have it
        assert_eq!(fence.env, [format!("PVE_SMBGW_ROOT={}", dir.path().display())]);
        assert_eq!(fence.log, dir.path().join("log/ha-fence.log"));
    }

    #[test]
    fn only_native_shares_on_cephfs_are_served_through_the_vips() {
        let mut on_ceph = share(&[("path", "/mnt/pve/cephfs/smbgateway/s")]);
        let local = on_ceph.clone();
        on_ceph.quota_backend = QuotaBackend::Cephfs;
        assert_eq!(not_on_vips(&on_ceph), None);
        assert!(!node_local(&on_ceph));

        // the path alone decides nothing: the recorded backend does
        assert!(node_local(&local));
        let reason = not_on_vips(&local).unwrap();
        assert!(
            reason.contains("node-local") && reason.contains("/mnt/pve/cephfs/smbgateway/s"),
            "{reason}"
        );

        // guests: their own smbd on their own address, whatever the storage
        let mut ct = share(&[("mode", "lxc"), ("path", "/srv/l"), ("ct-id", "950")]);
        ct.quota_backend = QuotaBackend::Cephfs;
        assert!(!node_local(&ct));
        assert!(not_on_vips(&ct).unwrap().contains("container 950"));
        let vm = share(&[("mode", "vm"), ("quota", "10G")]);
        assert!(not_on_vips(&vm).unwrap().contains("VM (not created yet)"));
    }
}
