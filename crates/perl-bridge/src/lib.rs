//! The Perl bridge: the gateway core as the Perl package `PVE::RS::SMBGateway`, for the PVE API.
//!
//! `perlmod` is not available here, so the bridge is this small cdylib: one XSUB (`_call`, in
//! glue.c) takes a method name and its named arguments as one JSON object (read into the typed
//! structs of `args.rs`) and returns the result as JSON; the Perl module turns that back into
//! Perl data. An error is handed over as JSON too, `{kind, message, field?, code?}`, which the
//! Perl module raises as a `PVE::Exception` with the matching HTTP status; a panic is caught
//! and becomes an error as well. Nothing here starts a thread that outlives a call or a
//! runtime: pvedaemon forks.

mod args;

use std::panic::{catch_unwind, AssertUnwindSafe};

use serde::Serialize;
use smbgw_core::schema;
use smbgw_core::{Error, Result};
use smbgw_gateway::ad::JoinRequest;
use smbgw_gateway::{Credentials, Gateway};

use args::parse;

/// Turns on `_selftest_panic`, which exists only to prove that a panic becomes a Perl die.
const SELFTEST_ENV: &str = "PVE_SMBGW_BRIDGE_SELFTEST";

fn json<T: Serialize>(value: T) -> Result<String> {
    serde_json::to_string(&value).map_err(|e| Error::system(format!("cannot encode the result: {e}")))
}

/// The error as the Perl module reads it: `{kind, message}`, plus `field` and `code` where the
/// error carries them; on a line of its own, so Perl's die adds no " at FILE line N".
fn error_json(error: &Error) -> String {
    let trimmed = Error {
        message: error.message.trim_end().to_string(),
        ..error.clone()
    };
    let json =
        serde_json::to_string(&trimmed).unwrap_or_else(|_| r#"{"kind":"system","message":"unprintable error"}"#.into());
    format!("{json}\n")
}

fn dispatch(method: &str, input: &str) -> Result<String> {
    match method {
        "share_schema" => return json(schema::pve_json_schema()),
        "schema" => return json(schema::pve_operation_schemas()),
        "formats" => return json(schema::FORMATS),
        "check_format" => {
            let a: args::CheckFormat = parse(input)?;
            schema::check_format(&a.format, &a.value)?;
            return json(1);
        }
        "_selftest_panic" if std::env::var_os(SELFTEST_ENV).is_some() => panic!("self-test panic"),
        _ => {}
    }
    let gw = Gateway::from_env(None)?;
    match method {
        "list" => {
            parse::<args::Nothing>(input)?;
            json(gw.list()?)
        }
        "show" => json(gw.show_with_homes(&parse::<args::Named>(input)?.name)?),
        "storages" => {
            parse::<args::Nothing>(input)?;
            json(gw.storages()?)
        }
        "create" => {
            let a: args::Create = parse(input)?;
            json(gw.create(&a.name, &a.properties, a.dry_run)?)
        }
        "update" => {
            let a: args::Update = parse(input)?;
            json(gw.update(&a.name, &a.properties, &a.delete, a.digest.as_deref(), a.dry_run)?)
        }
        "delete" => {
            let a: args::Delete = parse(input)?;
            json(gw.delete(&a.name, a.purge_data, a.digest.as_deref(), a.dry_run)?)
        }
        "status" => json(gw.status(parse::<args::Status>(input)?.name.as_deref())?),
        "apply" => {
            let a: args::Apply = parse(input)?;
            json(gw.apply(a.dry_run, a.force)?)
        }
        "space" => json(gw.space(&parse::<args::Named>(input)?.name)?),
        "activate_storage_dirs" => {
            let a: args::StorageDirs = parse(input)?;
            gw.activate_storage_dirs(&a.name, &a.subdirs)?;
            json(true)
        }
        "quota_status" => json(gw.quota_status(&parse::<args::Named>(input)?.name)?),
        "quota_history" => {
            let a: args::QuotaHistory = parse(input)?;
            json(gw.quota_history(&a.name, a.days)?)
        }
        // `sessions` reads with an optional share name, as `status` does
        "sessions" => json(gw.sessions(parse::<args::Status>(input)?.name.as_deref())?),
        "disconnect_session" => {
            let a: args::Disconnect = parse(input)?;
            json(gw.disconnect_session(&a.session, a.dry_run)?)
        }
        // shown without arguments, changed with them (checked before anything is written)
        "discovery" => {
            let a: args::Discovery = parse(input)?;
            json(gw.set_discovery(a.discovery.as_deref(), a.interfaces.as_deref())?)
        }
        "io_history" => json(gw.io_history(parse::<args::IoHistory>(input)?.hours)?),
        "snapshot_list" => json(gw.snapshot_list(&parse::<args::Named>(input)?.name)?),
        "snapshot_create" => {
            let a: args::SnapshotCreate = parse(input)?;
            json(gw.snapshot_create(&a.name, a.dry_run)?)
        }
        "snapshot_delete" => {
            let a: args::SnapshotChange = parse(input)?;
            json(gw.snapshot_delete(&a.name, &a.snapshot, a.dry_run)?)
        }
        "snapshot_rollback" => {
            let a: args::SnapshotChange = parse(input)?;
            json(gw.snapshot_rollback(&a.name, &a.snapshot, a.confirm, a.dry_run)?)
        }
        "backup_create" => {
            let a: args::BackupCreate = parse(input)?;
            json(gw.backup_create(&a.name, &a.storage, a.dry_run)?)
        }
        "backup_list" => {
            let a: args::BackupList = parse(input)?;
            json(gw.backup_list(&a.name, a.storage.as_deref())?)
        }
        "backup_restore" => {
            let a: args::BackupRestore = parse(input)?;
            let request = smbgw_gateway::RestoreRequest {
                storage: a.storage,
                snapshot: a.snapshot,
                target: a.target,
                file: a.file,
            };
            json(gw.backup_restore(&a.name, &request, a.dry_run)?)
        }
        "user_list" => {
            parse::<args::Nothing>(input)?;
            json(gw.user_list()?)
        }
        "ad_status" => json(gw.ad_status(parse::<args::AdStatus>(input)?.check)?),
        "ad_test" => {
            let a: args::AdTest = parse(input)?;
            let credentials = a.user.map(|user| Credentials {
                user,
                password: a.password.unwrap_or_default(),
            });
            json(gw.ad_test(&a.domain, a.dc.as_deref(), credentials.as_ref())?)
        }
        "ad_join" => {
            let a: args::AdJoin = parse(input)?;
            let request = JoinRequest {
                domain: a.domain,
                ou: a.ou,
                netbios_name: a.netbios,
                dc: a.dc,
                credentials: Credentials {
                    user: a.user,
                    password: a.password,
                },
            };
            json(gw.ad_join(request, a.dry_run)?)
        }
        "ad_leave" => {
            let a: args::AdLeave = parse(input)?;
            let credentials = a.password.map(|password| Credentials { user: a.user, password });
            json(gw.ad_leave(credentials, a.dry_run)?)
        }
        "ha_setup" => {
            let a: args::HaSetup = parse(input)?;
            let setup = smbgw_gateway::ha::HaSetup {
                nodes: a.nodes,
                vips: a.vip,
                interface: a.interface,
                lock: a.lock,
                no_lock: a.no_lock,
                tunables: a.tunable,
                digest: a.digest,
            };
            json(gw.ha_setup(&setup, a.dry_run)?)
        }
        "ha_status" => {
            parse::<args::Nothing>(input)?;
            json(gw.ha_status()?)
        }
        // dry-run: only the checks the API answers before it forks the task
        "ha_failover" => {
            let a: args::HaFailover = parse(input)?;
            if a.dry_run {
                return json(gw.ha_check_target(Some(&a.vip), Some(&a.node))?);
            }
            let seconds = gw.ha_failover(&a.vip, &a.node)?;
            json(serde_json::json!({ "seconds": seconds }))
        }
        "ha_test" => {
            let a: args::HaTest = parse(input)?;
            if a.dry_run {
                return json(gw.ha_check_target(Some(&a.vip), None)?);
            }
            json(gw.ha_test(&a.vip)?)
        }
        "ha_node" => {
            let a: args::HaNode = parse(input)?;
            if a.dry_run {
                return json(gw.ha_check_target(None, Some(&a.node))?);
            }
            gw.ha_node(&a.node, a.enable)?;
            json(1)
        }
        other => Err(Error::input(format!("PVE::RS::SMBGateway has no method '{other}'"))),
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Called by glue.c. Returns 0 with the JSON result in `*out`, or 1 with the error as JSON
/// (`error_json`).
///
/// # Safety
/// `method`/`args` must be valid for their lengths; `*out` must be released with `smbgw_free`.
#[no_mangle]
pub unsafe extern "C" fn smbgw_call(
    method: *const u8,
    method_len: usize,
    args: *const u8,
    args_len: usize,
    out: *mut *mut u8,
    out_len: *mut usize,
) -> i32 {
    let method = String::from_utf8_lossy(std::slice::from_raw_parts(method, method_len)).into_owned();
    let input = String::from_utf8_lossy(std::slice::from_raw_parts(args, args_len)).into_owned();
    let result = catch_unwind(AssertUnwindSafe(|| dispatch(&method, &input))).unwrap_or_else(|payload| {
        Err(Error::system(format!(
            "internal error in PVE::RS::SMBGateway::{method}: {}",
            panic_message(&*payload)
        )))
    });
    let (rc, text) = match result {
        Ok(json) => (0, json),
        Err(e) => (1, error_json(&e)),
    };
    let bytes = text.into_bytes().into_boxed_slice();
    *out_len = bytes.len();
    *out = Box::into_raw(bytes) as *mut u8;
    rc
}

/// # Safety
/// `p`/`len` must come from `smbgw_call`.
#[no_mangle]
pub unsafe extern "C" fn smbgw_free(p: *mut u8, len: usize) {
    if !p.is_null() {
        drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(p, len)));
    }
}

extern "C" {
    fn smbgw_glue_boot(perl: *mut std::ffi::c_void, cv: *mut std::ffi::c_void);
}

/// The XS boot function XSLoader/DynaLoader look for. Debian's perl is threaded, so an XSUB
/// takes (PerlInterpreter*, CV*); both are passed on to the C glue.
///
/// # Safety
/// Only to be called by Perl's DynaLoader.
#[no_mangle]
#[allow(non_snake_case)]
pub unsafe extern "C" fn boot_PVE__RS__SMBGateway(perl: *mut std::ffi::c_void, cv: *mut std::ffi::c_void) {
    // a caught panic is reported through die; the default hook would also print to STDERR,
    // which pvedaemon forwards to the task log
    std::panic::set_hook(Box::new(|_| {}));
    smbgw_glue_boot(perl, cv)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn errors_are_handed_over_as_json() {
        let err = dispatch("check_format", r#"{"format":"smbgw-host","value":"dc1;reboot"}"#).unwrap_err();
        let value: Value = serde_json::from_str(&error_json(&err)).unwrap();
        assert_eq!(value["kind"], "input");
        assert!(value["message"]
            .as_str()
            .unwrap()
            .ends_with("is not a host name or an IP address"));
        let err = dispatch("check_format", r#"{"format":"smbgw-host","vlaue":"x"}"#).unwrap_err();
        assert!(err.message.contains("unknown field `vlaue`"), "{}", err.message);
        let schema: Value = serde_json::from_str(&dispatch("schema", "{}").unwrap()).unwrap();
        assert!(schema["ad-join"]["properties"]["domain"].is_object());
    }
}
