//! Waiting for a share's VM: its guest agent (it booted), cloud-init's verdict, then SMB. The
//! limits come from `PVE_SMBGW_VM_WAIT` when set (a node without KVM may need longer, a test
//! less).

use std::time::{Duration, Instant};

use smbgw_core::guest::Vm;
use smbgw_core::{bail_input, Error, Result};

use super::guest::smb_answers;
use crate::pve::qm;

/// A cloud image's first boot (cloud-init, fs_setup) takes a while, longer without KVM.
const AGENT_WAIT: Duration = Duration::from_secs(300);
const SMB_WAIT: Duration = Duration::from_secs(120);
/// Seconds that replace both waits.
const ENV_WAIT: &str = "PVE_SMBGW_VM_WAIT";

/// How long to wait for the guest agent, and then for SMB.
pub(crate) fn wait_limits() -> Result<(Duration, Duration)> {
    match std::env::var(ENV_WAIT) {
        Ok(v) if !v.is_empty() => match v.parse::<u64>() {
            Ok(secs) if secs > 0 => Ok((Duration::from_secs(secs), Duration::from_secs(secs))),
            _ => bail_input!("{ENV_WAIT}={v:?} is not a number of seconds"),
        },
        _ => Ok((AGENT_WAIT, SMB_WAIT)),
    }
}

/// The VM's address: the configured one, or (dhcp) what its guest agent says.
pub(crate) fn vm_ip(vm: &Vm) -> Option<String> {
    if let Some((addr, _)) = vm.ip.split_once('/') {
        return Some(addr.to_string());
    }
    let out = qm()
        .args(["guest", "cmd", &vm.id?.to_string(), "network-get-interfaces"])
        .output()
        .ok()
        .filter(|o| o.success())?;
    let interfaces: serde_json::Value = serde_json::from_str(&out.stdout).ok()?;
    interfaces
        .as_array()?
        .iter()
        .filter(|i| i["name"] != "lo")
        .flat_map(|i| i["ip-addresses"].as_array().into_iter().flatten())
        .find(|a| a["ip-address-type"] == "ipv4")
        .and_then(|a| a["ip-address"].as_str().map(String::from))
}

/// The guest agent answers once the VM booted.
pub(crate) fn wait_for_agent(id: &str, limit: Duration) -> Result<()> {
    let deadline = Instant::now() + limit;
    // `qm guest cmd`: `qm agent` is its alias, marked for removal in qemu-server
    while !qm()
        .args(["guest", "cmd", id, "ping"])
        .output()
        .is_ok_and(|o| o.success())
    {
        if Instant::now() > deadline {
            return Err(Error::external(format!(
                "no answer within {} s; the template needs qemu-guest-agent (scripts/create_vm_template.sh), \
                 and a node without KVM may need a longer {ENV_WAIT}",
                limit.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    Ok(())
}

/// cloud-init's errors in its `result.json`, as `qm guest exec` hands it over (the command's
/// exit code and output as JSON); `None` while there is no result yet.
fn cloud_init_errors(answer: &str) -> Option<Vec<String>> {
    let answer: serde_json::Value = serde_json::from_str(answer).ok()?;
    if answer["exitcode"] != 0 {
        return None;
    }
    let result: serde_json::Value =
        serde_json::from_str(answer["out-data"].as_str().unwrap_or_default()).unwrap_or_default();
    Some(
        result["v1"]["errors"]
            .as_array()
            .map(|e| e.iter().filter_map(|e| e.as_str()).map(String::from).collect())
            .unwrap_or_default(),
    )
}

/// cloud-init's verdict, through the guest agent: the template's smbd answers long before
/// cloud-init has imported the users and restarted it with our configuration, and still answers
/// when cloud-init failed.
pub(crate) fn wait_for_cloud_init(id: u32, limit: Duration) -> Result<()> {
    const RESULT: &str = "/run/cloud-init/result.json";
    let deadline = Instant::now() + limit;
    loop {
        let errors = qm()
            .args(["guest", "exec", &id.to_string(), "--", "cat", RESULT])
            .output()
            .ok()
            .filter(|o| o.success())
            .and_then(|o| cloud_init_errors(&o.stdout));
        match errors {
            Some(errors) if errors.is_empty() => return Ok(()),
            Some(errors) => {
                return Err(Error::external(format!(
                    "cloud-init failed in VM {id}: {}; /var/log/cloud-init-output.log in the VM says more",
                    errors.join("; ")
                )))
            }
            None => {}
        }
        if Instant::now() > deadline {
            return Err(Error::external(format!(
                "cloud-init did not finish in VM {id} within {} s ({RESULT} is missing)",
                limit.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// After cloud-init, smbd runs with the share's configuration.
pub(crate) fn wait_for_smb(vm: &Vm, limit: Duration) -> Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        let ip = vm_ip(vm);
        if ip.as_deref().is_some_and(smb_answers) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Error::external(format!(
                "nothing answers on {}:445 within {} s; cloud-init's log in the VM \
                 (/var/log/cloud-init-output.log) says why",
                ip.as_deref().unwrap_or("its address"),
                limit.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_init_verdicts() {
        let done = r#"{"exitcode":0,"out-data":"{\"v1\":{\"errors\":[]}}"}"#;
        assert_eq!(cloud_init_errors(done), Some(vec![]));
        let failed = r#"{"exitcode":0,"out-data":"{\"v1\":{\"errors\":[\"mount failed\"]}}"}"#;
        assert_eq!(cloud_init_errors(failed), Some(vec!["mount failed".to_string()]));
        // no result.json yet: cat fails inside the VM
        assert_eq!(cloud_init_errors(r#"{"exitcode":1,"err-data":"No such file"}"#), None);
        assert_eq!(cloud_init_errors("not json"), None);
    }
}
