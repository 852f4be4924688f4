//! The CTDB cluster lock on Ceph RADOS (`ctdb_mutex_ceph_rados_helper`, shipped with ctdb):
//! checking its arguments against the cluster, and the client config its helper reads.
//!
//! What the helper does (Samba 4.17, ctdb/utils/ceph/ctdb_mutex_ceph_rados_helper.c): argv is
//! `CLUSTER USER POOL OBJECT [DURATION]`; it reads the Ceph config from librados' default places
//! (`rados_conf_read_file(NULL)`: `$CEPH_CONF`, else `/etc/ceph/CLUSTER.conf`), takes an
//! exclusive lock on OBJECT for DURATION seconds, answers '0', renews every DURATION/2, exits
//! when a renew fails, and drops the lock when its parent (ctdbd) is gone (checked every 5 s;
//! it refuses to start as a child of init).
//!
//! The trap (recipe 11, README item 11): with librados' defaults (op timeouts 0 = wait forever)
//! a holder cut off from the cluster blocks in its renew and never learns that its lock expired,
//! so two holders exist during a partition. With `rados_osd_op_timeout = 1` and
//! `rados_mon_op_timeout = 1` for the lock's client the renew fails and the helper exits about
//! DURATION/2 + 2 x (timeout + 0.5) s after its last renew: 8 s for the 10 s lock, before it
//! expires and another node can take it. Those settings live in a config file of the lock's own
//! ([`client_conf`], 0644, no secrets) next to ctdb.conf, naming the user's keyring (0600);
//! ctdbd runs the helper through `env CEPH_CONF=...`, which execs it in place, so ctdbd stays
//! its parent.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use smbgw_core::{bail_input, Error, Result};
use smbgw_sys::command::Command;

/// How long the lock lasts without a renew: the takeover time after a crash of the holder.
pub const LOCK_DURATION_SECS: u32 = 10;
/// librados' osd and mon op timeouts for the lock's client (see the module docs): a cut-off
/// holder exits ~8 s after its last renew, before the 10 s lock expires.
pub const LOCK_OP_TIMEOUT_SECS: u32 = 1;
/// The lock object when none is given.
pub const DEFAULT_OBJECT: &str = "smbgw-ctdb-lock";
/// The cephx user when none is given: the lock's own, made by `ha-setup` with
/// [`lock_user_caps`] (reading and locking objects named `smbgw-ctdb-lock*` in one pool), so
/// no node keeps client.admin's key for the lock.
pub const DEFAULT_USER: &str = "client.smbgw-ctdb";
/// The cluster name of a PVE node's Ceph (`/etc/pve/ceph.conf`).
pub const DEFAULT_CLUSTER: &str = "ceph";
/// The files the gateway writes beside ctdb.conf.
pub const CLIENT_CONF: &str = "ceph-lock.conf";
pub const CLIENT_KEYRING: &str = "ceph-lock.keyring";

/// The caps of [`DEFAULT_USER`]: the monitors' maps (to find the OSDs) and read, write and
/// class calls (`lock`, the cls a RADOS lock is) on the objects named like the default lock
/// object in `pool`, nothing else of the cluster.
pub fn lock_user_caps(pool: &str) -> [(&'static str, String); 2] {
    [
        ("mon", "allow r".to_string()),
        ("osd", format!("allow rwx pool={pool} object_prefix {DEFAULT_OBJECT}")),
    ]
}

/// The name of the cluster-wide copy of a user's keyring, as PVE names its own
/// (`/etc/pve/priv/$cluster.$name.keyring`): every node takes the same key from there.
pub fn shared_keyring_name(cluster: &str, user: &str) -> String {
    format!("{cluster}.{user}.keyring")
}

/// A Ceph cluster as the `ceph` CLI reaches it: its name and config file (with the admin's
/// credentials found through it), optionally run through a wrapper (`nsenter` in tests).
#[derive(Clone, Debug)]
pub struct Cluster {
    pub name: String,
    pub conf: std::path::PathBuf,
    pub prefix: Vec<String>,
}

/// A cephx user as `ceph auth get` shows it.
#[derive(Clone, Debug, Deserialize)]
pub struct AuthEntity {
    pub entity: String,
    pub key: String,
    #[serde(default)]
    pub caps: std::collections::BTreeMap<String, String>,
}

impl Cluster {
    pub fn new(name: &str, conf: &Path) -> Self {
        Self {
            name: name.to_string(),
            conf: conf.to_owned(),
            prefix: Vec::new(),
        }
    }

    pub(crate) fn ceph(&self, args: &[&str]) -> Command {
        let (program, rest) = match self.prefix.split_first() {
            Some((p, rest)) => (p.as_str(), rest.iter().map(String::as_str).chain(["ceph"]).collect()),
            None => ("ceph", Vec::new()),
        };
        Command::new(program)
            .args(rest)
            .arg("--cluster")
            .arg(&self.name)
            .arg("-c")
            .arg(&self.conf)
            .args(["--connect-timeout", "10", "--format", "json"])
            .args(args)
            .timeout(Duration::from_secs(30))
    }

    /// The pools of the cluster (`ceph osd pool ls`).
    pub fn pools(&self) -> Result<Vec<String>> {
        let out = self.ceph(&["osd", "pool", "ls"]).run()?;
        serde_json::from_str(&out.stdout)
            .map_err(|e| Error::external(format!("ceph osd pool ls answered something unexpected: {e}")))
    }

    /// The metadata pool of the first CephFS (`ceph fs ls`): where the default lock object
    /// goes on a PVE cluster with CephFS (HA shares need CephFS anyway).
    pub fn first_fs_metadata_pool(&self) -> Result<Option<String>> {
        #[derive(Deserialize)]
        struct Fs {
            metadata_pool: String,
        }
        let out = self.ceph(&["fs", "ls"]).run()?;
        let list: Vec<Fs> = serde_json::from_str(&out.stdout)
            .map_err(|e| Error::external(format!("ceph fs ls answered something unexpected: {e}")))?;
        Ok(list.into_iter().next().map(|f| f.metadata_pool))
    }

    /// A cephx user with its key and caps; `None` when the cluster has no such user.
    pub fn auth_get(&self, user: &str) -> Result<Option<AuthEntity>> {
        let out = self.ceph(&["auth", "get", user]).output()?;
        if !out.success() {
            // ENOENT: "failed to find client.x in keyring"
            if out.code == Some(2) || out.stderr.contains("failed to find") {
                return Ok(None);
            }
            return Err(Error::external(format!(
                "ceph auth get {user} failed: {}",
                out.stderr.trim()
            )));
        }
        let list: Vec<AuthEntity> = serde_json::from_str(&out.stdout)
            .map_err(|e| Error::external(format!("ceph auth get {user} answered something unexpected: {e}")))?;
        Ok(list.into_iter().next())
    }

    /// Create the lock's own user with [`lock_user_caps`] (`ceph auth get-or-create`: a user
    /// that exists keeps its key) and return it.
    pub fn create_lock_user(&self, user: &str, pool: &str) -> Result<AuthEntity> {
        let caps = lock_user_caps(pool);
        let mut args = vec!["auth", "get-or-create", user];
        for (service, cap) in &caps {
            args.extend([*service, cap.as_str()]);
        }
        self.ceph(&args).run()?;
        self.auth_get(user)?
            .ok_or_else(|| Error::external(format!("ceph auth get-or-create {user} made no user")))
    }

    /// Remove a user (the undo of [`Cluster::create_lock_user`]).
    pub fn auth_del(&self, user: &str) -> Result<()> {
        self.ceph(&["auth", "del", user]).run().map(drop)
    }

    /// Check the lock's pool and user against the cluster: the pool must exist, the user must
    /// exist with caps to reach the monitors and write to the OSDs. Input errors (exit 1) for
    /// the arguments, external errors (exit 3) when Ceph itself fails. Returns the user.
    /// An OSD cap limited to an object prefix must cover `object`.
    pub fn check_lock(&self, user: &str, pool: &str, object: &str) -> Result<AuthEntity> {
        self.check_pool(pool)?;
        let Some(entity) = self.auth_get(user)? else {
            bail_input!(
                "Ceph lock user {user:?} does not exist in cluster {:?}; create it with \
                 'ceph auth get-or-create {user} mon \"allow r\" osd \"allow rwx pool={pool} object_prefix \
                 {object}\"' (or leave --lock out: ha-setup makes {DEFAULT_USER})",
                self.name
            );
        };
        let cap = |service: &str| entity.caps.get(service).map(|c| c.trim()).filter(|c| !c.is_empty());
        let fix = format!(
            "give it 'ceph auth caps {user} mon \"allow r\" osd \"allow rwx pool={pool} object_prefix {object}\"'"
        );
        if cap("mon").is_none() {
            bail_input!("Ceph lock user {user:?} has no mon caps, so it cannot reach the monitors; {fix}");
        }
        let osd = cap("osd").unwrap_or("none");
        if let Err(why) = osd_cap_covers(osd, pool, object) {
            bail_input!("Ceph lock user {user:?} cannot take the lock {pool}/{object} (osd caps: {osd}): {why}; {fix}");
        }
        Ok(entity)
    }

    /// Check the arguments of a lock whose user ha-setup is to make ([`DEFAULT_USER`], missing
    /// from the cluster): the pool must exist, and the object be one its caps cover.
    pub fn check_new_lock_user(&self, pool: &str, object: &str) -> Result<()> {
        self.check_pool(pool)?;
        check_prefix(DEFAULT_USER, DEFAULT_OBJECT, object)
    }

    /// The lock's pool must be a pool of this cluster (an input error otherwise).
    pub fn check_pool(&self, pool: &str) -> Result<()> {
        let pools = self.pools()?;
        if !pools.iter().any(|p| p == pool) {
            bail_input!(
                "Ceph lock pool {pool:?} is not a pool of cluster {:?} (its pools: {}); create one \
                 (pveceph pool create NAME) or name an existing one",
                self.name,
                pools.join(", ")
            );
        }
        Ok(())
    }
}

/// Whether an OSD cap (`allow rwx pool=P object_prefix X, allow r`) lets its user write the lock
/// object `object` in `pool` (the helper takes the lock with a write to it): one grant must allow
/// writes, name no other pool and no prefix the object lacks. Grants restricted in ways the
/// helper cannot meet (a namespace, an application tag, a profile, a network) do not count.
/// The reason when none does.
fn osd_cap_covers(cap: &str, pool: &str, object: &str) -> std::result::Result<(), String> {
    let is_perms = |w: &str| w == "*" || w == "all" || (!w.is_empty() && w.chars().all(|c| "rwx".contains(c)));
    let mut why = "no grant allows writes".to_string();
    for grant in cap.split([',', ';']).map(str::trim) {
        let mut words = grant.split_whitespace();
        if words.next() != Some("allow") {
            continue;
        }
        // `allow rwx pool=P object_prefix X`, or the older `allow pool P rwx`
        let (mut writes, mut limits) = (false, Vec::new());
        while let Some(word) = words.next() {
            if is_perms(word) {
                writes |= word.contains('w') || word == "*" || word == "all";
            } else if let Some((key, value)) = word.split_once('=') {
                limits.push((key, value));
            } else {
                limits.push((word, words.next().unwrap_or_default()));
            }
        }
        if !writes {
            continue;
        }
        let refused = limits.iter().find_map(|&(key, value)| match key {
            "pool" if value != pool => Some(format!("its write grant is for pool {value}, not {pool}")),
            "object_prefix" if !object.starts_with(value) => {
                Some(format!("it may only write objects named {value}*, not {object:?}"))
            }
            "pool" | "object_prefix" => None,
            other => Some(format!(
                "its write grant is limited by {other:?}, which the lock's helper cannot meet"
            )),
        });
        match refused {
            None => return Ok(()),
            Some(reason) => why = reason,
        }
    }
    Err(why)
}

/// A user whose OSD cap is limited to objects named `prefix*` can lock only such an object.
fn check_prefix(user: &str, prefix: &str, object: &str) -> Result<()> {
    if !object.starts_with(prefix) {
        bail_input!(
            "Ceph lock user {user:?} may only lock objects named {prefix}*, not {object:?}; name a \
             lock object that starts with {prefix}"
        );
    }
    Ok(())
}

/// The keyring file of one user (0600).
pub fn keyring(entity: &AuthEntity) -> String {
    format!("[{}]\n\tkey = {}\n", entity.entity, entity.key)
}

/// The config the lock's helper reads (`CEPH_CONF`): the cluster's `[global]` section as it is
/// (monitors, fsid, auth), without any key or keyring setting, and a section for the lock's
/// user with its keyring and the op timeouts. No secrets: it may be 0644.
pub fn client_conf(cluster_conf: &str, user: &str, keyring: &Path) -> String {
    let mut out = String::from(
        "# Generated by pve-smbgateway for CTDB's RADOS cluster lock (ha-setup / apply).\n\
         # Only the lock's client reads it (CEPH_CONF of ctdb_mutex_ceph_rados_helper).\n[global]\n",
    );
    let mut in_global = false;
    for line in cluster_conf.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            in_global = trimmed.trim_start_matches('[').trim_end_matches(']').trim() == "global";
            continue;
        }
        if !in_global || trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let key = trimmed
            .split(['=', ' ', '\t'])
            .next()
            .unwrap_or_default()
            .replace(' ', "_");
        if matches!(key.as_str(), "key" | "keyfile" | "keyring") {
            continue;
        }
        out.push('\t');
        out.push_str(trimmed);
        out.push('\n');
    }
    out.push_str(&format!(
        "[{user}]\n\tkeyring = {}\n\trados_osd_op_timeout = {LOCK_OP_TIMEOUT_SECS}\n\
         \trados_mon_op_timeout = {LOCK_OP_TIMEOUT_SECS}\n",
        keyring.display()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_osd_cap_covers_the_lock_only_with_writes_to_its_pool_and_object() {
        let ok = |cap: &str| osd_cap_covers(cap, "meta", "smbgw-ctdb-lock").is_ok();
        assert!(ok("allow *"));
        assert!(ok("allow rwx pool=meta object_prefix smbgw-ctdb-lock"));
        assert!(ok("allow rw pool meta"));
        assert!(ok("allow pool meta rwx"));
        assert!(ok("allow r, allow rwx pool=other, allow rw pool=meta"));
        for (cap, why) in [
            ("allow r", "no grant allows writes"),
            ("none", "no grant allows writes"),
            (
                "allow rwx pool=other object_prefix smbgw-ctdb-lock",
                "for pool other, not meta",
            ),
            ("allow rwx pool=meta object_prefix lock", "named lock*"),
            ("allow rwx pool=meta namespace=ns", "limited by \"namespace\""),
            ("allow rw tag cephfs data=fs", "limited by \"tag\""),
        ] {
            let err = osd_cap_covers(cap, "meta", "smbgw-ctdb-lock").unwrap_err();
            assert!(err.contains(why), "{cap}: {err}");
        }
    }

    #[test]
    fn the_client_conf_keeps_the_cluster_and_drops_every_secret() {
        let pve = "[global]\n\t auth_client_required = cephx\n\t fsid = 0e5c\n\t mon_host = 10.0.0.1 10.0.0.2\n\
                   \t keyring = /etc/pve/priv/$cluster.$name.keyring\n\tkey = AQBx\n# a comment\n\
                   [client]\n\t keyring = /etc/pve/priv/$cluster.$name.keyring\n\
                   [mon.pve1]\n\t public_addr = 10.0.0.1\n";
        let conf = client_conf(pve, "client.admin", Path::new("/etc/ctdb/ceph-lock.keyring"));
        assert_eq!(
            conf.lines().skip(2).collect::<Vec<_>>(),
            [
                "[global]",
                "\tauth_client_required = cephx",
                "\tfsid = 0e5c",
                "\tmon_host = 10.0.0.1 10.0.0.2",
                "[client.admin]",
                "\tkeyring = /etc/ctdb/ceph-lock.keyring",
                "\trados_osd_op_timeout = 1",
                "\trados_mon_op_timeout = 1",
            ]
        );
        assert!(!conf.contains("AQBx") && !conf.contains("priv"));
    }

    #[test]
    fn the_op_timeouts_end_a_cut_off_holder_before_its_lock_expires() {
        // the recipe's measured rule: exit ~ DURATION/2 + 2 x (timeout + 0.5) s after the last renew
        let exit = f64::from(LOCK_DURATION_SECS) / 2.0 + 2.0 * (f64::from(LOCK_OP_TIMEOUT_SECS) + 0.5);
        assert!(exit < f64::from(LOCK_DURATION_SECS), "{exit}");
    }

    #[test]
    fn the_lock_user_may_lock_the_default_object_and_nothing_else() {
        let [mon, osd] = lock_user_caps("cephfs_metadata");
        assert_eq!(mon, ("mon", "allow r".to_string()));
        assert_eq!(
            osd,
            (
                "osd",
                "allow rwx pool=cephfs_metadata object_prefix smbgw-ctdb-lock".to_string()
            )
        );
        assert_eq!(
            shared_keyring_name("ceph", DEFAULT_USER),
            "ceph.client.smbgw-ctdb.keyring"
        );
    }

    #[test]
    fn a_keyring_names_its_user() {
        let e = AuthEntity {
            entity: "client.ctdb".into(),
            key: "AQB==".into(),
            caps: Default::default(),
        };
        assert_eq!(keyring(&e), "[client.ctdb]\n\tkey = AQB==\n");
    }
}
