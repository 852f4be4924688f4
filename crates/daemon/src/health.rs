//! Health checks. A check is a small blocking function that answers ok or not with a message;
//! the daemon runs them all on a blocking thread (with a timeout) every `health-interval`,
//! exports each as `smbgw_health{check="NAME"}` and logs (and notifies) when one changes.
//!
//! A new check is a function and a line in `CHECKS`.

use smbgw_gateway::Gateway;

use crate::metrics::Health;

pub struct Check {
    /// The `check` label: lower case, dashes.
    pub name: &'static str,
    pub run: fn(&Gateway) -> Health,
}

pub const CHECKS: &[Check] = &[
    Check {
        name: "share-config",
        run: share_config,
    },
    Check {
        name: "share-paths",
        run: share_paths,
    },
    Check {
        name: "quotas",
        run: quotas,
    },
    Check {
        name: "state-dir",
        run: state_dir,
    },
    Check {
        name: "ad",
        run: active_directory,
    },
    Check {
        name: "ctdb",
        run: ctdb,
    },
];

/// Run every check; a panicking check counts as failed, the others still run.
pub fn run_all(gw: &Gateway) -> Vec<(&'static str, Health, f64)> {
    CHECKS
        .iter()
        .map(|check| {
            let start = std::time::Instant::now();
            let health =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (check.run)(gw))).unwrap_or_else(|_| Health {
                    ok: false,
                    message: "the check panicked".into(),
                });
            (check.name, health, start.elapsed().as_secs_f64())
        })
        .collect()
}

fn ok(message: String) -> Health {
    Health { ok: true, message }
}

fn failed(message: String) -> Health {
    Health { ok: false, message }
}

/// The domain answers (members only). The check is the core's `ad-status --check`: it also
/// records the result and switches `fallback-local` shares when the domain is lost or back.
fn active_directory(gw: &Gateway) -> Health {
    match gw.ad_status(false) {
        Ok(s) if !s.joined => return ok("not a domain member".into()),
        Err(e) => return failed(e.to_string()),
        Ok(_) => {}
    }
    match gw.ad_status(true) {
        Ok(s) => {
            let state = s.state.as_ref();
            let domain = state.map(|s| s.join.domain.as_str()).unwrap_or("?");
            match state.is_some_and(|s| s.online) {
                true => ok(format!("{domain}: DC {}", s.dc_in_use.as_deref().unwrap_or("?"))),
                false => failed(format!(
                    "{domain} unreachable: {}",
                    state.and_then(|s| s.last_error.as_deref()).unwrap_or("no answer")
                )),
            }
        }
        Err(e) => failed(e.to_string()),
    }
}

/// The CTDB cluster is healthy: every active node OK, every VIP hosted (HA set up only).
fn ctdb(gw: &Gateway) -> Health {
    match gw.ha_config() {
        Ok(None) => return ok("high availability is not set up".into()),
        Err(e) => return failed(e.to_string()),
        Ok(Some(_)) => {}
    }
    match gw.ha_status() {
        Ok(s) if s.healthy => ok(format!("{} nodes, leader {:?}", s.nodes.len(), s.leader)),
        Ok(s) => {
            let bad: Vec<String> = s
                .nodes
                .iter()
                .filter(|n| !n.ok())
                .map(|n| format!("pnn {} {}", n.pnn, n.state))
                .collect();
            let orphans = s.vips.iter().filter(|v| v.holder.is_none()).count();
            failed(format!(
                "degraded: {} node(s) not OK ({}), {orphans} VIP(s) unassigned",
                bad.len(),
                bad.join(", ")
            ))
        }
        Err(e) => failed(e.to_string()),
    }
}

/// The share config parses (a broken shares.cfg stops every change on the cluster).
fn share_config(gw: &Gateway) -> Health {
    match gw.list() {
        Ok(shares) => ok(format!("{} shares", shares.len())),
        Err(e) => failed(e.to_string()),
    }
}

/// Every share's storage is there (an unmounted filesystem: `apply` leaves the share out rather
/// than serve the filesystem below). The verdict is the gateway's, as `status` and `apply` see it.
fn share_paths(gw: &Gateway) -> Health {
    match gw.unavailable_shares() {
        Ok(bad) if bad.is_empty() => ok("every share's storage is present".into()),
        Ok(bad) => failed(format!(
            "not served: {}",
            bad.iter()
                .map(|u| format!("{} ({})", u.share, u.reason))
                .collect::<Vec<_>>()
                .join("; ")
        )),
        Err(e) => failed(format!("share config: {e}")),
    }
}

/// Every quota is enforced as configured (btrfs quotas switched off behind the gateway's back
/// let a share fill the filesystem).
fn quotas(gw: &Gateway) -> Health {
    match gw.quota_problems() {
        Ok(bad) if bad.is_empty() => ok("every quota is enforced".into()),
        Ok(bad) => failed(format!(
            "quota not enforced: {}",
            bad.iter()
                .map(|(share, problem)| format!("{share} ({problem})"))
                .collect::<Vec<_>>()
                .join("; ")
        )),
        Err(e) => failed(format!("share config: {e}")),
    }
}

/// The state directory (quota history, AD state) can be written, once it exists.
fn state_dir(gw: &Gateway) -> Health {
    let dir = &gw.layout.state_dir;
    if !dir.exists() {
        return ok(format!("{} not created yet", dir.display()));
    }
    let Ok(c_dir) = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()) else {
        return failed(format!("{} is not a valid path", dir.display()));
    };
    // SAFETY: a valid NUL-terminated path
    if unsafe { libc::access(c_dir.as_ptr(), libc::W_OK | libc::X_OK) } == 0 {
        ok(format!("{} writable", dir.display()))
    } else {
        failed(format!(
            "{} is not writable: {}",
            dir.display(),
            std::io::Error::last_os_error()
        ))
    }
}
