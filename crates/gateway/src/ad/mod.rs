//! Active Directory membership: join, leave, preflight test and health.
//!
//! A join is one plan: the Kerberos and Samba configuration naming the domain, the machine
//! account (`net ads join`), winbindd, a verification, and smbd restarted in its new role. Any
//! failed step rolls back to the configuration before the join, including the machine account.

pub mod preflight;

use std::time::Duration;

use serde::Serialize;
use smbgw_core::ad::{self, AdJoin, AdState, IdRange};
use smbgw_core::plan::{FnStep, RemoveFile, WriteFile};
use smbgw_core::{bail_field, bail_input, validate, Error, Plan, Result, ResultExt, Share};
use smbgw_samba::ad::Credentials;
use smbgw_samba::render::{self, Globals};
use smbgw_samba::Samba;

pub use preflight::Check;

use crate::{Change, Gateway};

/// Where an admin's own krb5.conf is kept while the node is joined (host only).
const KRB5_BACKUP_SUFFIX: &str = "pve-smbgateway-orig";

pub struct JoinRequest {
    pub domain: String,
    pub ou: Option<String>,
    pub netbios_name: Option<String>,
    pub dc: Option<String>,
    pub credentials: Credentials,
}

/// `ad-test`: the checklist.
#[derive(Debug, Serialize)]
pub struct AdTest {
    pub domain: String,
    pub ok: bool,
    pub checks: Vec<Check>,
}

/// `ad-status`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct AdStatus {
    pub joined: bool,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub state: Option<AdState>,
    /// The DC winbind or `net ads info` talks to (with `--check`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dc_in_use: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock_skew: Option<i64>,
    pub winbind_running: bool,
    pub keytab: Option<String>,
    pub keytab_present: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
    /// What the check changed (domain lost or back), for the log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transition: Option<String>,
}

/// An OU for `createcomputer=`: `Servers/PVE` or `OU=PVE,OU=Servers` style.
fn check_ou(ou: &str) -> Result<()> {
    let ok = !ou.is_empty()
        && ou.len() <= 256
        && ou
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '-' | '.' | '/' | '=' | ','));
    if !ok {
        validate::text("OU", ou)?;
        bail_input!(
            "OU {ou:?} is not valid: use letters, digits, spaces and '_-./=,' (e.g. Servers/PVE or OU=PVE,OU=Servers)"
        );
    }
    Ok(())
}

fn check_user(user: &str) -> Result<()> {
    let ok = !user.is_empty()
        && !user.starts_with(['-', ' '])
        && user.len() <= 64
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@' | ' '));
    if !ok {
        validate::text("user", user)?;
        bail_input!("administrator name {user:?} is not valid (letters, digits, '_-.@', spaces)");
    }
    Ok(())
}

/// This node's NetBIOS name by default: its host name, upper case, cut to 15 characters.
fn default_netbios_name() -> Result<String> {
    let host = nix::unistd::gethostname()
        .map_err(|e| Error::system(format!("cannot read the host name: {e}")))?
        .to_string_lossy()
        .to_string();
    let short: String = host.split('.').next().unwrap_or("").chars().take(15).collect();
    let name = short.to_ascii_uppercase();
    validate::netbios_name("host name", &name)
        .map_err(|e| Error::input(format!("{}; give a NetBIOS name with --netbios", e.message)))?;
    Ok(name)
}

/// Domain ids must not land on local accounts: refuse a range an existing uid/gid or a
/// subordinate id range (unprivileged containers) falls into.
fn check_idmap_ranges(samba: &Samba, ranges: &[IdRange]) -> Result<()> {
    let mut taken: Vec<(String, u32, u32)> = Vec::new();
    for (what, file) in [("uid", "passwd"), ("gid", "group")] {
        let path = match &samba.layout.sandbox {
            Some(s) => s.root.join("accounts").join(file),
            None => format!("/etc/{file}").into(),
        };
        for line in std::fs::read_to_string(&path).unwrap_or_default().lines() {
            let fields: Vec<&str> = line.split(':').collect();
            if let Some(id) = fields.get(2).and_then(|i| i.parse::<u32>().ok()) {
                taken.push((format!("{what} {id} ({})", fields[0]), id, id));
            }
        }
    }
    if samba.layout.sandbox.is_none() {
        for file in ["/etc/subuid", "/etc/subgid"] {
            for line in std::fs::read_to_string(file).unwrap_or_default().lines() {
                let f: Vec<&str> = line.split(':').collect();
                if let [owner, start, count] = f[..] {
                    if let (Ok(s), Ok(c)) = (start.parse::<u32>(), count.parse::<u32>()) {
                        let end = s.saturating_add(c.saturating_sub(1));
                        taken.push((format!("{file} range {s}-{end} of {owner}"), s, end));
                    }
                }
            }
        }
    }
    for range in ranges {
        if let Some((what, _, _)) = taken.iter().find(|(_, lo, hi)| range.overlaps(*lo, *hi)) {
            return Err(Error::input(format!(
                "the id range for domain accounts {range} collides with {what}; move that account or range first"
            )));
        }
    }
    Ok(())
}

impl Gateway {
    fn ad_state(&self) -> Result<Option<AdState>> {
        AdState::load(&self.layout)
    }

    fn keytab_path(&self) -> std::path::PathBuf {
        match &self.layout.sandbox {
            Some(s) => s.root.join("samba/private/krb5.keytab"),
            None => "/etc/krb5.keytab".into(),
        }
    }

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

    /// `ad-join`.
    pub fn ad_join(&self, req: JoinRequest, dry_run: bool) -> Result<Change> {
        validate::domain_name("domain", &req.domain).field("domain")?;
        let domain = req.domain.to_ascii_lowercase();
        if let Some(ou) = &req.ou {
            check_ou(ou).field("ou")?;
        }
        if let Some(dc) = &req.dc {
            validate::host_name("domain controller", dc).field("dc")?;
        }
        check_user(&req.credentials.user).field("user")?;
        if req.credentials.password.is_empty() {
            bail_field!("password", "the administrator password is empty");
        }
        let netbios_name = match &req.netbios_name {
            Some(n) => {
                validate::netbios_name("NetBIOS name", n).field("netbios")?;
                n.to_ascii_uppercase()
            }
            None => default_netbios_name().field("netbios")?,
        };
        let _lock = self.store.lock()?;
        if let Some(state) = self.ad_state()? {
            bail_input!(
                "this node is already joined to {} as {}; run 'pve-smbgateway ad-leave' first",
                state.join.domain,
                state.join.netbios_name
            );
        }
        let pre = preflight::run(&self.samba, &domain, req.dc.as_deref());
        let Some(dc) = pre.dc.clone().filter(|_| pre.ok()) else {
            return Err(Error::input(format!(
                "cannot join {domain}: {} ('pve-smbgateway ad-test --domain {domain}' shows the checklist)",
                pre.failures()
            )));
        };
        let realm = domain.to_ascii_uppercase();
        let workgroup = self.samba.ads_workgroup(&realm, &dc)?;
        validate::netbios_name("the domain's NetBIOS name", &workgroup)?;
        if workgroup.eq_ignore_ascii_case(&netbios_name) {
            bail_field!(
                "netbios",
                "this node's NetBIOS name {netbios_name} equals the domain's; give another one with --netbios"
            );
        }
        check_idmap_ranges(&self.samba, &[ad::IDMAP_DEFAULT, ad::IDMAP_DOMAIN])?;

        let now = ad::now();
        let state = AdState {
            join: AdJoin {
                domain,
                realm,
                workgroup,
                netbios_name,
                dc: req.dc.clone(),
                ou: req.ou.clone(),
                idmap_default: ad::IDMAP_DEFAULT,
                idmap_domain: ad::IDMAP_DOMAIN,
                joined_at: now,
            },
            online: true,
            since: now,
            last_check: Some(now),
            last_success: Some(now),
            last_error: None,
        };
        let mut plan = Plan::new();
        let cfg = self.store.load()?;
        self.krb5_steps(Some(&state.join), &mut plan)?;
        plan.push(WriteFile::new(
            "AD membership",
            &AdState::path(&self.layout),
            state.to_bytes(),
            0o644,
        )?);
        let globals = Globals {
            ad: Some(state.clone()),
            ..self.globals()?
        };
        self.samba_steps_with(&cfg, &globals, &mut plan, false)?;
        let (samba, creds) = (self.samba.clone(), std::rc::Rc::new(req.credentials));
        let (undo_samba, undo_creds) = (samba.clone(), creds.clone());
        let (ou, join_dc) = (state.join.ou.clone(), req.dc.clone());
        plan.push(FnStep::new(
            format!(
                "join {} as {} (net ads join{})",
                state.join.domain,
                state.join.netbios_name,
                ou.as_deref().map(|o| format!(", OU {o}")).unwrap_or_default()
            ),
            move || samba.ads_join(&creds, ou.as_deref(), join_dc.as_deref()),
            move || undo_samba.ads_leave(&undo_creds),
        ));
        self.winbind_steps(true, &mut plan);
        let verify = self.samba.clone();
        plan.push(FnStep::new(
            "verify the join (net ads testjoin, wbinfo -t)",
            move || verify_join(&verify),
            || Ok(()),
        ));
        self.restart_smbd_step(&mut plan);
        self.execute(plan, dry_run, None, Vec::new())
    }

    /// `ad-leave`: delete the machine account (with credentials) and return to a standalone
    /// server. Shares naming domain accounts must be changed first.
    pub fn ad_leave(&self, credentials: Option<Credentials>, dry_run: bool) -> Result<Change> {
        let _lock = self.store.lock()?;
        let Some(state) = self.ad_state()? else {
            return Err(Error::not_set_up("this node is not joined to a domain"));
        };
        let cfg = self.store.load()?;
        let using: Vec<&str> = cfg
            .shares()
            .iter()
            .filter(|s| s.domain_principals().next().is_some())
            .map(|s| s.name.as_str())
            .collect();
        if !using.is_empty() {
            bail_input!(
                "shares {} grant access to domain accounts of {}; remove those users and groups from them first",
                using.join(", "),
                state.join.workgroup
            );
        }
        let mut notes = Vec::new();
        let mut plan = Plan::new();
        match credentials {
            Some(creds) => {
                check_user(&creds.user)?;
                let samba = self.samba.clone();
                plan.push(FnStep::new(
                    format!(
                        "delete the computer account {} in {} (net ads leave)",
                        state.join.netbios_name, state.join.domain
                    ),
                    move || samba.ads_leave(&creds),
                    || Ok(()),
                ));
            }
            None => notes.push(format!(
                "the computer account {} stays in {}: delete it there, or leave with --password-stdin",
                state.join.netbios_name, state.join.domain
            )),
        }
        self.krb5_steps(None, &mut plan)?;
        self.nsswitch_steps(false, &mut plan)?;
        if let Some(step) = RemoveFile::new("AD membership", &AdState::path(&self.layout))? {
            plan.push(step);
        }
        let globals = Globals {
            ad: None,
            ..self.globals()?
        };
        self.samba_steps_with(&cfg, &globals, &mut plan, false)?;
        self.winbind_steps(false, &mut plan);
        self.restart_smbd_step(&mut plan);
        self.execute(plan, dry_run, None, notes)
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

    /// krb5.conf for `join`, or back to what it was before the join (`None`).
    fn krb5_steps(&self, join: Option<&AdJoin>, plan: &mut Plan) -> Result<()> {
        let path = self.samba.krb5_conf();
        let backup = path.with_extension(format!("conf.{KRB5_BACKUP_SUFFIX}"));
        let host = !self.layout.is_sandbox();
        match join {
            Some(join) => {
                if host && !backup.exists() {
                    if let Some(current) = smbgw_sys::fs::read_optional(&path)? {
                        plan.push(WriteFile::new(
                            "copy of the original krb5.conf",
                            &backup,
                            current,
                            0o644,
                        )?);
                    }
                }
                plan.push(WriteFile::new(
                    "krb5.conf",
                    &path,
                    render::krb5_conf(join).into_bytes(),
                    0o644,
                )?);
            }
            None => match smbgw_sys::fs::read_optional(&backup)? {
                Some(original) if host => {
                    plan.push(WriteFile::new("original krb5.conf", &path, original, 0o644)?);
                    if let Some(step) = RemoveFile::new("copy of the original krb5.conf", &backup)? {
                        plan.push(step);
                    }
                }
                _ => {
                    if let Some(step) = RemoveFile::new("krb5.conf", &path)? {
                        plan.push(step);
                    }
                }
            },
        }
        Ok(())
    }

    /// On a host, smbd finds domain users through NSS: `winbind` joins the passwd and group
    /// lines of /etc/nsswitch.conf while the node is a member. (A sandbox loads nss_winbind
    /// through nss_wrapper instead.)
    fn nsswitch_steps(&self, member: bool, plan: &mut Plan) -> Result<()> {
        if self.layout.is_sandbox() {
            return Ok(());
        }
        let path = std::path::Path::new(NSSWITCH);
        let Some(current) = smbgw_sys::fs::read_optional(path)? else {
            return Ok(());
        };
        let current = String::from_utf8_lossy(&current);
        let wanted = nsswitch_with_winbind(&current, member);
        if wanted != current {
            plan.push(WriteFile::new("nsswitch.conf", path, wanted.into_bytes(), 0o644)?);
        }
        Ok(())
    }

    pub(crate) fn winbind_steps(&self, start: bool, plan: &mut Plan) {
        let (a, b) = (self.samba.clone(), self.samba.clone());
        if start {
            plan.push(FnStep::new(
                "start winbindd",
                move || a.start_winbind(),
                move || b.stop_winbind(),
            ));
        } else {
            plan.push(FnStep::new(
                "stop winbindd",
                move || a.stop_winbind(),
                move || b.start_winbind(),
            ));
        }
    }

    /// smbd takes a new server role only on a restart (a reload keeps the old one).
    fn restart_smbd_step(&self, plan: &mut Plan) {
        let (a, b) = (self.samba.clone(), self.samba.clone());
        let restart = |s: &Samba| -> Result<()> {
            if s.layout.is_sandbox() {
                if s.smbd_pid().is_some() {
                    s.stop()?;
                }
                s.start()
            } else {
                smbgw_sys::systemd::restart_unit("smbd.service")
            }
        };
        plan.push(FnStep::new(
            "restart smbd in its new role",
            move || restart(&a),
            move || restart(&b),
        ));
    }

    /// Domain users and groups of a share must exist in the domain this node is joined to.
    pub(crate) fn check_domain_principals(&self, share: &Share) -> Result<()> {
        let mut names = share.domain_principals().peekable();
        let Some(first) = names.peek() else {
            return Ok(());
        };
        // the share's parameter that names the account
        let field = |name: &String| if share.groups.contains(name) { "groups" } else { "users" };
        let Some(state) = self.ad_state()? else {
            return Err(Error::not_set_up(format!(
                "share '{}' names domain accounts, but this node is not joined to a domain; run 'pve-smbgateway ad-join' first",
                share.name
            ))
            .field(field(first)));
        };
        for name in names {
            let domain = validate::principal_domain(name).unwrap_or_default();
            if !domain.eq_ignore_ascii_case(&state.join.workgroup) {
                bail_field!(
                    field(name),
                    "{name:?} is not in the domain this node is joined to ({}\\...)",
                    state.join.workgroup
                );
            }
            let is_group = share.groups.contains(name);
            match self.samba.lookup_name(name)? {
                None => bail_field!(
                    field(name),
                    "{} {name:?} does not exist in {}",
                    if is_group { "group" } else { "user" },
                    state.join.domain
                ),
                Some(r) if r.is_group != is_group => bail_field!(
                    field(name),
                    "{name:?} is a {} in the domain; list it under --{}",
                    if r.is_group { "group" } else { "user" },
                    if r.is_group { "groups" } else { "users" }
                ),
                Some(_) => {}
            }
        }
        Ok(())
    }
}

const NSSWITCH: &str = "/etc/nsswitch.conf";

/// nsswitch.conf with `winbind` added to (or removed from) the passwd and group sources.
fn nsswitch_with_winbind(text: &str, winbind: bool) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for line in text.split_inclusive('\n') {
        let (body, newline) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        let database = body.split(':').next().unwrap_or("").trim();
        if !matches!(database, "passwd" | "group") || body.trim_start().starts_with('#') {
            out.push_str(line);
            continue;
        }
        let (head, sources) = body.split_once(':').unwrap_or((body, ""));
        let mut list: Vec<&str> = sources.split_whitespace().filter(|s| *s != "winbind").collect();
        if winbind {
            list.push("winbind");
        }
        // keep the file's alignment: the whitespace before the first source
        let indent = &sources[..sources.len() - sources.trim_start().len()];
        let indent = if indent.is_empty() { " " } else { indent };
        out.push_str(&format!("{head}:{indent}{}{newline}", list.join(" ")));
    }
    out
}

/// The join works: the machine account answers, and winbind trusts the domain.
fn verify_join(samba: &Samba) -> Result<()> {
    samba.ads_testjoin()?;
    // winbind may need a moment for its first connection to the DC
    let mut last = None;
    for _ in 0..150 {
        match samba.wbinfo(&["-t"]) {
            Ok(_) => return Ok(()),
            Err(e) => last = Some(e),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(last.unwrap_or_else(|| Error::external("wbinfo -t failed")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nsswitch_gets_winbind_and_loses_it_again() {
        let pve = "# comment passwd: x\npasswd:         files systemd\ngroup:          files systemd\nshadow:         files\nhosts:          files dns\n";
        let member = nsswitch_with_winbind(pve, true);
        assert!(member.contains("passwd:         files systemd winbind\n"), "{member}");
        assert!(member.contains("group:          files systemd winbind\n"), "{member}");
        assert!(member.contains("shadow:         files\n"), "{member}");
        assert!(member.starts_with("# comment passwd: x\n"), "{member}");
        assert_eq!(nsswitch_with_winbind(&member, true), member, "idempotent");
        assert_eq!(nsswitch_with_winbind(&member, false), pve);
    }

    #[test]
    fn ou_and_user_checks() {
        check_ou("Servers/PVE").unwrap();
        check_ou("OU=PVE,OU=Servers").unwrap();
        for bad in ["", "a\"b", "a;b", "a\nb", "$(x)"] {
            assert!(check_ou(bad).is_err(), "{bad:?}");
        }
        check_user("Administrator").unwrap();
        check_user("admin@EXAMPLE.COM").unwrap();
        for bad in ["", "a%b", "-U x", "a\\b", "a:b"] {
            assert!(check_user(bad).is_err(), "{bad:?}");
        }
    }
}
