//! Read-only questions to the domain: `ad-test` (every precondition of a join, and optionally
//! whether the domain accepts the administrator's credentials) and `ad-status` (the recorded
//! membership and, with `--check`, its health now).
//!
//! Separate from `membership.rs` because nothing here changes the membership: the only write is
//! `record_health`, which stores the outcome of a check in the AD state and re-renders Samba when
//! the domain was lost or came back (fallback shares, see `Share::valid_users` in
//! crates/core/src/share). The DNS, port and clock checks themselves are in `preflight.rs`.

use std::time::Duration;

use smbgw_core::ad::{self, AdJoin, AdState};
use smbgw_core::plan::WriteFile;
use smbgw_core::{validate, Plan, Result, ResultExt};
use smbgw_samba::ad::Credentials;
use smbgw_samba::render::{self, Globals};

use super::membership::check_user;
use super::{preflight, AdStatus, AdTest, Check};
use crate::Gateway;

impl Gateway {
    /// `ad-test`: every precondition of a join, read-only.
    pub fn ad_test(&self, domain: &str, dc: Option<&str>, credentials: Option<&Credentials>) -> Result<AdTest> {
        validate::domain_name("domain", domain).field("domain")?;
        if let Some(dc) = dc {
            validate::host_name("domain controller", dc).field("dc")?;
        }
        let domain = domain.to_ascii_lowercase();
        let pre = preflight::run(&self.samba, &domain, dc);
        let mut checks = pre.checks;
        if let (Some(creds), Some(dc)) = (credentials, pre.dc.as_deref()) {
            check_user(&creds.user).field("user")?;
            checks.push(self.credentials_check(&domain, dc, creds));
        }
        Ok(AdTest {
            ok: checks.iter().all(|c| c.ok),
            domain,
            checks,
        })
    }

    /// Whether the domain accepts the credentials: a Kerberos ticket into memory, nothing stored.
    fn credentials_check(&self, domain: &str, dc: &str, creds: &Credentials) -> Check {
        let realm = domain.to_ascii_uppercase();
        let join = AdJoin {
            domain: domain.to_string(),
            realm: realm.clone(),
            workgroup: String::new(),
            netbios_name: String::new(),
            dc: Some(dc.to_string()),
            ou: None,
            idmap_default: ad::IDMAP_DEFAULT,
            idmap_domain: ad::IDMAP_DOMAIN,
            joined_at: 0,
        };
        let conf = match tempfile::NamedTempFile::new() {
            Ok(f) => f,
            Err(e) => return Check::fail("credentials", format!("cannot create a temporary file: {e}"), "-"),
        };
        if let Err(e) = std::fs::write(conf.path(), render::krb5_conf(&join)) {
            return Check::fail("credentials", format!("cannot write a temporary file: {e}"), "-");
        }
        let user = if creds.user.contains('@') {
            creds.user.clone()
        } else {
            format!("{}@{realm}", creds.user)
        };
        let out = smbgw_sys::Command::new("kinit")
            .env("KRB5_CONFIG", conf.path())
            .env("KRB5CCNAME", "MEMORY:smbgw-ad-test")
            .arg(&user)
            .stdin(format!("{}\n", creds.password))
            .timeout(Duration::from_secs(20))
            .output();
        match out {
            Ok(o) if o.success() => Check::pass("credentials", format!("{user} obtained a Kerberos ticket")),
            Ok(o) => Check::fail(
                "credentials",
                format!(
                    "the domain refused {user}: {}",
                    o.stderr.trim().lines().last().unwrap_or("")
                ),
                "check the user name and password (and that the account is not locked)",
            ),
            Err(e) => Check::fail("credentials", e.message, "install krb5-user (kinit)"),
        }
    }

    /// `ad-status [--check]`: the recorded membership; with `check`, the domain asked now, and
    /// a change between reachable and unreachable applied (fallback shares) and logged.
    pub fn ad_status(&self, check: bool) -> Result<AdStatus> {
        let keytab = self.keytab_path();
        let mut status = AdStatus {
            joined: false,
            state: self.ad_state()?,
            dc_in_use: None,
            clock_skew: None,
            winbind_running: self.samba.winbindd_pid().is_some(),
            keytab: Some(keytab.display().to_string()),
            keytab_present: keytab.exists(),
            checks: Vec::new(),
            transition: None,
        };
        let Some(state) = status.state.clone() else {
            status.keytab = None;
            status.keytab_present = false;
            return Ok(status);
        };
        status.joined = true;
        if !check {
            return Ok(status);
        }
        let mut checks = Vec::new();
        checks.push(match self.samba.wbinfo(&["--ping-dc"]) {
            Ok(out) => {
                status.dc_in_use = out
                    .lines()
                    .find_map(|l| l.split("dcname = ").nth(1))
                    .map(|d| d.trim().trim_matches('\\').to_string());
                Check::pass("domain controller", out.trim().lines().last().unwrap_or("").to_string())
            }
            Err(e) => Check::fail(
                "domain controller",
                e.message,
                "check that a DC of the domain is running and reachable; winbind must run",
            ),
        });
        checks.push(match self.samba.ads_testjoin() {
            Ok(()) => Check::pass("machine account", "net ads testjoin: join is OK"),
            Err(e) => Check::fail("machine account", e.message, "re-join with 'ad-leave' and 'ad-join'"),
        });
        if checks.iter().all(|c| c.ok) {
            let info = self.samba.ads_info(
                &state.join.realm,
                status.dc_in_use.as_deref().unwrap_or(&state.join.domain),
            );
            if let Ok(info) = info {
                status.clock_skew = info.time_offset;
                status.dc_in_use = status.dc_in_use.or(info.ldap_server_name);
                checks.push(preflight::clock_check(info.time_offset));
            }
        }
        let online = checks.iter().take(2).all(|c| c.ok);
        status.transition = self.record_health(&state, online, &checks)?;
        status.state = self.ad_state()?;
        status.checks = checks;
        Ok(status)
    }

    /// Store the check's outcome; on a change between reachable and unreachable re-render
    /// Samba (fallback shares) and log it.
    fn record_health(&self, state: &AdState, online: bool, checks: &[Check]) -> Result<Option<String>> {
        let _lock = self.store.lock()?;
        // re-read under the lock: the node may have left meanwhile
        let Some(mut new) = self.ad_state()? else {
            return Ok(None);
        };
        let now = ad::now();
        new.last_check = Some(now);
        if online {
            new.last_success = Some(now);
            new.last_error = None;
        } else {
            new.last_error = checks.iter().find(|c| !c.ok).map(|c| c.detail.clone());
        }
        let transition = (new.online != online).then(|| {
            if online {
                format!(
                    "domain {} is reachable again; fallback shares serve domain accounts only",
                    state.join.domain
                )
            } else {
                format!(
                    "domain {} is unreachable ({}); fallback shares let their local users in",
                    state.join.domain,
                    new.last_error.as_deref().unwrap_or("no answer")
                )
            }
        });
        if transition.is_some() {
            new.online = online;
            new.since = now;
        }
        let mut plan = Plan::new();
        plan.push(WriteFile::new(
            "AD membership",
            &AdState::path(&self.layout),
            new.to_bytes(),
            0o644,
        )?);
        if let Some(message) = &transition {
            let cfg = self.store.load()?;
            let globals = Globals {
                ad: Some(new),
                ..self.globals()?
            };
            self.samba_steps_with(&cfg, &globals, &mut plan, true)?;
            self.log_event(message)?;
        }
        plan.apply()?;
        Ok(transition)
    }
}
