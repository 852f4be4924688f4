//! A share's `GuestSetup` applied inside its container through `pct exec` and `pct push`: the
//! same accounts, hashes and Samba files a VM gets as cloud-init user-data
//! (`smbgw_samba::cloud_init`), made by commands, each only when missing, so re-running it on
//! `apply` changes nothing that is already right.
//!
//! A container serving domain accounts joins the node's domain as a computer of its own
//! (`join_domain`): the node's secrets never enter it, and its winbind maps domain accounts
//! with the node's `idmap rid` ranges, which its config maps 1:1 to the node (lxc_idmap.rs).
//! The container answers discovery itself (wsdd, Avahi) under its own name and address.

use std::time::{Duration, Instant};

use smbgw_core::guest::Container;
use smbgw_core::{Error, Result};
use smbgw_samba::ad::Credentials;
use smbgw_samba::guest_setup::{
    GuestDomain, GuestFile, GuestSetup, AVAHI_SERVICE, DISCOVERY_PACKAGES, HASHES_FILE, WSDD_DEFAULT,
};

use super::guest::smb_answers;
use crate::pve::pct;

const SMB_WAIT: Duration = Duration::from_secs(90);
/// How long a stock template's container may take to reach its Debian mirror, and to install
/// Samba from it.
const NETWORK_WAIT: Duration = Duration::from_secs(60);
const APT_TIMEOUT: Duration = Duration::from_secs(900);
const JOIN_TIMEOUT: Duration = Duration::from_secs(120);
/// How long winbind inside may take to reach the DC after a join or a restart.
const WINBIND_WAIT: Duration = Duration::from_secs(90);
/// winbind after files for users and groups, once.
const NSSWITCH_WINBIND: &str = "sed -i -E '/^(passwd|group):/{/winbind/!s/$/ winbind/}' /etc/nsswitch.conf";

/// Run in the container; the output of a failing command becomes the error.
fn exec(id: &str, args: &[&str]) -> Result<String> {
    Ok(pct().args(["exec", id, "--"]).args(args).run()?.stdout)
}

/// Push `content` to `dest` in the container, with `mode`.
fn push(id: &str, content: &[u8], dest: &str, mode: u32) -> Result<()> {
    let tmp = tempfile::NamedTempFile::new().map_err(|e| Error::system(format!("temporary file: {e}")))?;
    std::fs::write(tmp.path(), content).map_err(|e| Error::io("writing", tmp.path(), e))?;
    pct()
        .args(["push", id])
        .arg(tmp.path())
        .args([dest, "--perms", &format!("{mode:o}")])
        .run()
        .map(|_| ())
}

/// The container's address: the configured one, or (dhcp) what the container says.
pub(crate) fn container_ip(ct: &Container) -> Option<String> {
    if let Some((addr, _)) = ct.ip.split_once('/') {
        return Some(addr.to_string());
    }
    let id = ct.id?.to_string();
    let out = pct()
        .args(["exec", &id, "--", "ip", "-4", "-o", "addr", "show", "dev", "eth0"])
        .output()
        .ok()?;
    let field = out.stdout.split_whitespace().skip_while(|f| *f != "inet").nth(1)?;
    field.split('/').next().map(String::from)
}

/// A stock Debian template (pveam's debian-12-standard) has no Samba: install it from the
/// container's Debian mirror. The gateway template has it already and needs no network.
fn install_samba(id: &str) -> Result<()> {
    let present = "command -v smbd && command -v pdbedit && command -v testparm";
    install(id, present, &["samba"], "Samba")
}

/// Install `packages` from the container's Debian mirror unless `present` (a shell test)
/// holds; `what` names them in the error.
fn install(id: &str, present: &str, packages: &[&str], what: &str) -> Result<()> {
    if exec(id, &["sh", "-c", present]).is_ok() {
        return Ok(());
    }
    let apt = |args: &[&str]| {
        pct()
            .timeout(APT_TIMEOUT)
            .args([
                "exec",
                id,
                "--",
                "env",
                "DEBIAN_FRONTEND=noninteractive",
                "apt-get",
                "-q",
                "-y",
            ])
            .args(args)
            .run()
    };
    // the container's network (a DHCP lease, DNS) may still be coming up
    let deadline = Instant::now() + NETWORK_WAIT;
    let mut update = apt(&["update"]);
    while update.is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_secs(2));
        update = apt(&["update"]);
    }
    let install: Vec<&str> = ["install", "--no-install-recommends"]
        .iter()
        .chain(packages)
        .copied()
        .collect();
    update.and_then(|_| apt(&install)).map(|_| ()).map_err(|e| {
        Error::external(format!(
            "container {id} has no {what} and installing it failed; it needs its Debian mirror (network, DNS), or use the gateway template (scripts/create_ct_template.sh): {}",
            e.message
        ))
    })
}

/// Discovery from the container (the node's setting): wsdd and avahi-daemon installed when
/// missing, their files written, both (re)started; with discovery off their files go and
/// wsdd stops (avahi-daemon may serve others).
fn discovery(id: &str, files: Option<&[GuestFile]>) -> Result<()> {
    let Some(files) = files else {
        // only a container the gateway made discoverable has anything to withdraw
        if exec(id, &["test", "-e", AVAHI_SERVICE]).is_ok() {
            exec(id, &["rm", "-f", WSDD_DEFAULT, AVAHI_SERVICE])?;
            exec(id, &["systemctl", "disable", "--now", "wsdd"])?;
        }
        return Ok(());
    };
    install(
        id,
        "command -v wsdd && command -v avahi-daemon",
        &DISCOVERY_PACKAGES,
        "wsdd and avahi-daemon (discovery)",
    )?;
    exec(id, &["mkdir", "-p", "/etc/avahi/services"])?;
    for file in files {
        push(id, file.content.as_bytes(), &file.path.display().to_string(), file.mode)?;
    }
    exec(id, &["systemctl", "enable", "wsdd", "avahi-daemon"])?;
    exec(id, &["systemctl", "restart", "wsdd", "avahi-daemon"])?;
    Ok(())
}

/// The share's accounts inside, with the node's ids, each made only when missing.
fn make_accounts(id: &str, setup: &GuestSetup) -> Result<()> {
    for u in &setup.users {
        let (uid, gid) = (u.uid.to_string(), u.gid.to_string());
        if exec(id, &["getent", "group", &gid]).is_err() {
            exec(id, &["groupadd", "-g", &gid, &u.name])?;
        }
        if exec(id, &["getent", "passwd", &u.name]).is_err() {
            let nologin = "/usr/sbin/nologin";
            exec(
                id,
                &["useradd", "-M", "-N", "-u", &uid, "-g", &gid, "-s", nologin, &u.name],
            )?;
        }
    }
    for g in &setup.groups {
        if exec(id, &["getent", "group", &g.name]).is_err() {
            exec(id, &["groupadd", "-g", &g.gid.to_string(), &g.name])?;
        }
    }
    Ok(())
}

/// The container as a member of the node's domain: Kerberos and NSS set up, its own computer
/// account (made once, with `creds`; an account that still works is kept), winbind running
/// and trusting the domain. smb.conf, which names the domain, is in place already.
fn join_domain(id: &str, domain: &GuestDomain, creds: Option<&Credentials>) -> Result<()> {
    let krb5 = &domain.krb5_conf;
    push(id, krb5.content.as_bytes(), &krb5.path.display().to_string(), krb5.mode)?;
    exec(id, &["sh", "-c", NSSWITCH_WINBIND])?;
    if exec(id, &["net", "ads", "testjoin"]).is_err() {
        let Some(creds) = creds else {
            return Err(Error::input(format!(
                "container {id} is not a member of {} (net ads testjoin failed); give a domain administrator with --ad-user and --password-stdin to join it as {}",
                domain.domain, domain.netbios_name
            ))
            .field("ad-user"));
        };
        pct()
            .args(["exec", id, "--"])
            .args(domain.join_argv(&creds.user))
            .stdin(creds.password.as_bytes())
            .timeout(JOIN_TIMEOUT)
            .run()
            .map_err(|e| {
                Error::external(format!(
                    "container {id} could not join {} as {} (user '{}'): {}",
                    domain.domain, domain.netbios_name, creds.user, e.message
                ))
            })?;
    }
    exec(id, &["systemctl", "unmask", "winbind"])?;
    exec(id, &["systemctl", "enable", "winbind"])?;
    exec(id, &["systemctl", "restart", "winbind"])?;
    let deadline = Instant::now() + WINBIND_WAIT;
    loop {
        match exec(id, &["wbinfo", "-t"]) {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() > deadline => {
                return Err(Error::external(format!(
                    "winbind in container {id} does not reach {} within {} s: {}",
                    domain.domain,
                    WINBIND_WAIT.as_secs(),
                    e.message
                )))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}

/// Apply `setup` in the container and wait until its smbd answers SMB. `creds`: who joins the
/// container to the domain if the setup makes it a member and it is none yet.
pub(crate) fn configure(setup: &GuestSetup, ct: &Container, creds: Option<&Credentials>) -> Result<()> {
    let id = ct.id.expect("id chosen").to_string();
    // the container's init needs a moment before it takes commands
    let deadline = Instant::now() + SMB_WAIT;
    while exec(&id, &["true"]).is_err() {
        if Instant::now() > deadline {
            return Err(Error::external(format!("container {id} does not take commands")));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    install_samba(&id)?;
    make_accounts(&id, setup)?;
    if !setup.password_hashes.is_empty() {
        push(&id, setup.password_hashes.as_bytes(), HASHES_FILE, 0o600)?;
        let import = GuestSetup::import_hashes_argv();
        let imported = exec(&id, &import.each_ref().map(String::as_str));
        let _ = exec(&id, &["rm", "-f", HASHES_FILE]);
        imported?;
    }
    exec(&id, &["mkdir", "-p", "/etc/samba/smbgateway.d"])?;
    // the share's include first, smb.conf (which includes it) last
    for file in setup.samba_files.iter().rev() {
        push(
            &id,
            file.content.as_bytes(),
            &file.path.display().to_string(),
            file.mode,
        )?;
    }
    if let Some(domain) = &setup.domain {
        join_domain(&id, domain, creds)?;
    }
    exec(&id, &["testparm", "-s", "/etc/samba/smb.conf"])?;
    exec(&id, &["systemctl", "restart", "smbd"])?;
    discovery(&id, setup.discovery.as_deref())?;
    let deadline = Instant::now() + SMB_WAIT;
    loop {
        if container_ip(ct).as_deref().is_some_and(smb_answers) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Error::external(format!(
                "smbd in container {id} does not answer on port 445 within {} s",
                SMB_WAIT.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
