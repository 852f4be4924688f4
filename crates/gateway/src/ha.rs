//! High availability: the CTDB cluster of the gateway. The HA config is cluster-wide (in the
//! config directory on pmxcfs, beside shares.cfg), so every node converges to it with `apply`;
//! CTDB itself (smbgw-ha) moves the floating addresses.

use std::net::IpAddr;
use std::path::PathBuf;

use smbgw_core::digest::{ConfigDigest, Digested};
use smbgw_core::plan::{FnStep, WriteFile};
use smbgw_core::store::SharesConfig;
use smbgw_core::{bail_field, section, Error, Plan, Result, ResultExt};
use smbgw_ha::config::{self, Environment, Tunables};
use smbgw_ha::render::{self, RenderOptions};
use smbgw_ha::status::{self, Ctdb, DrillOptions, DrillReport};
use smbgw_ha::{file, members, HaConfig, HaStatus, LockSpec};

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
    pub lock: String,
    pub no_lock: bool,
    /// `Name=Value` CTDB tunables.
    pub tunables: Vec<String>,
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

    fn render_options(&self) -> RenderOptions {
        let mut opts = RenderOptions::default();
        if self.layout.is_sandbox() {
            // no SCHED_FIFO for a daemon started by hand in a test
            opts.realtime_scheduling = false;
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
        let cfg = HaConfig {
            nodes,
            vips: config::parse_vips(&req.vips).field("vip")?,
            interface: req.interface.clone(),
            lock: LockSpec::parse(&req.lock, req.no_lock).field("lock")?,
            tunables,
            ad: smbgw_core::ad::AdState::load(&self.layout)?.is_some(),
        };
        cfg.validate(&Environment::default())?;
        if !dry_run {
            status::check_reachable(&cfg)?;
        }
        let _lock = self.store.lock()?;
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
        self.ha_steps(&cfg, &self.store.load()?, &mut plan, false)?;
        self.execute(plan, dry_run, None, cfg.warnings())
    }

    /// The CTDB files and the clustered smb.conf for `cfg` serving `shares` (also what `apply`
    /// converges, with the shares it can serve; `empty_confirmed`: its `--force`).
    pub(crate) fn ha_steps(
        &self,
        cfg: &HaConfig,
        shares: &SharesConfig,
        plan: &mut Plan,
        empty_confirmed: bool,
    ) -> Result<()> {
        let before = plan.len();
        render::plan(cfg, &self.render_options(), &self.layout.ctdb_dir, plan)?;
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
        self.samba_steps_for_apply(shares, &globals, plan, false, empty_confirmed)
    }

    fn ctdb(&self) -> Ctdb {
        Ctdb::local()
    }

    fn configured(&self) -> Result<HaConfig> {
        self.ha_config()?
            .ok_or_else(|| Error::not_set_up("high availability is not set up; run 'pve-smbgateway ha-setup' first"))
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

    /// `ha-status`.
    pub fn ha_status(&self) -> Result<HaStatus> {
        let cfg = self.configured()?;
        status::status(&self.ctdb(), Some(&cfg))
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
