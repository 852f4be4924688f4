//! The Perl bridge: the gateway core as the Perl package `PVE::RS::SMBGateway`, for the PVE API.
//!
//! `perlmod` is not available here, so the bridge is this small cdylib: one XSUB (`_call`, in
//! glue.c) takes a method name and its arguments as JSON and returns the result as JSON; the
//! Perl module turns that back into Perl data. An error becomes a Perl `die` with the same
//! message the CLI prints; a panic is caught and becomes a `die` as well. Nothing here starts
//! a thread that outlives a call or a runtime: pvedaemon forks.

use std::panic::{catch_unwind, AssertUnwindSafe};

use serde::Serialize;
use serde_json::Value;
use smbgw_core::share::Properties;
use smbgw_core::{Error, Result};
use smbgw_gateway::ad::JoinRequest;
use smbgw_gateway::ha::{HaSetup, DEFAULT_LOCK};
use smbgw_gateway::Gateway;
use smbgw_samba::ad::Credentials;

/// Turns on `_selftest_panic`, which exists only to prove that a panic becomes a Perl die.
const SELFTEST_ENV: &str = "PVE_SMBGW_BRIDGE_SELFTEST";

fn args(input: &str) -> Result<Vec<Value>> {
    match serde_json::from_str(input) {
        Ok(Value::Array(a)) => Ok(a),
        Err(_) if non_finite(input).is_some() => {
            let (arg, nested, value) = non_finite(input).unwrap_or_default();
            let is = if nested { "contains" } else { "is" };
            Err(Error::input(format!(
                "argument {arg} {is} {value}; numbers must be finite"
            )))
        }
        _ => Err(Error::input("the bridge expects its arguments as a JSON array")),
    }
}

/// A Perl number JSON cannot carry (JSON::XS writes `inf`, `-inf`, `nan`; JSON::PP `Inf`,
/// `NaN`): the first one outside a string, as (argument number from 1, whether it is inside a
/// hash or list argument, the value as Perl prints it).
fn non_finite(input: &str) -> Option<(usize, bool, &'static str)> {
    let bytes = input.as_bytes();
    let (mut depth, mut arg, mut i) = (0usize, 1usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'[' | b'{' => depth += 1,
            b']' | b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 1 => arg += 1,
            c if c == b'-' || c.is_ascii_alphabetic() => {
                let len = bytes[i..]
                    .iter()
                    .take_while(|b| **b == b'-' || b.is_ascii_alphabetic())
                    .count();
                let value = match input[i..i + len].to_ascii_lowercase().as_str() {
                    "inf" | "infinity" => Some("Inf"),
                    "-inf" | "-infinity" => Some("-Inf"),
                    "nan" | "-nan" => Some("NaN"),
                    _ => None,
                };
                if let Some(value) = value {
                    return Some((arg, depth > 1, value));
                }
                i += len;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn string(args: &[Value], i: usize, what: &str) -> Result<String> {
    match args.get(i) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        _ => Err(Error::input(format!("missing or invalid argument '{what}'"))),
    }
}

/// A string argument that may be missing (undef).
fn optional(args: &[Value], i: usize) -> Option<String> {
    match args.get(i) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

fn flag(args: &[Value], i: usize) -> bool {
    match args.get(i) {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0) != 0,
        Some(Value::String(s)) => !matches!(s.as_str(), "" | "0"),
        _ => false,
    }
}

/// Share properties from a Perl hash: scalars become their text form, as on the command line.
fn properties(args: &[Value], i: usize) -> Result<Properties> {
    let mut props = Properties::new();
    match args.get(i) {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (key, value) in map {
                let text = match value {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => if *b { "1" } else { "0" }.to_string(),
                    Value::Null => continue,
                    _ => return Err(Error::input(format!("property '{key}' must be a scalar"))),
                };
                props.insert(key.clone(), text);
            }
        }
        _ => return Err(Error::input("share properties must be a hash")),
    }
    Ok(props)
}

fn strings(args: &[Value], i: usize) -> Result<Vec<String>> {
    match args.get(i) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(String::from)
                    .ok_or_else(|| Error::input("expected a list of property names"))
            })
            .collect(),
        Some(Value::String(s)) => Ok(s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()),
        _ => Err(Error::input("expected a list of property names")),
    }
}

fn json<T: Serialize>(value: T) -> Result<String> {
    serde_json::to_string(&value).map_err(|e| Error::system(format!("cannot encode the result: {e}")))
}

fn dispatch(method: &str, input: &str) -> Result<String> {
    let a = args(input)?;
    if method == "share_schema" {
        return json(smbgw_core::schema::pve_json_schema());
    }
    if method == "formats" {
        return json(smbgw_core::schema::FORMATS);
    }
    if method == "check_format" {
        smbgw_core::schema::check_format(&string(&a, 0, "format")?, &string(&a, 1, "value")?)?;
        return json(1);
    }
    if method == "_selftest_panic" && std::env::var_os(SELFTEST_ENV).is_some() {
        panic!("self-test panic");
    }
    let gw = Gateway::from_env(None)?;
    match method {
        "list" => json(gw.list()?),
        "show" => json(gw.show(&string(&a, 0, "name")?)?),
        "create" => json(gw.create(&string(&a, 0, "name")?, &properties(&a, 1)?, flag(&a, 2))?),
        "update" => json(gw.update(
            &string(&a, 0, "name")?,
            &properties(&a, 1)?,
            &strings(&a, 2)?,
            None,
            flag(&a, 3),
        )?),
        "delete" => json(gw.delete(&string(&a, 0, "name")?, flag(&a, 1), None, flag(&a, 2))?),
        "status" => {
            let name = a.first().and_then(Value::as_str);
            json(gw.status(name)?)
        }
        "apply" => json(gw.apply(flag(&a, 0), flag(&a, 1))?),
        "space" => json(gw.space(&string(&a, 0, "name")?)?),
        "activate_storage_dirs" => {
            gw.activate_storage_dirs(&string(&a, 0, "name")?, &strings(&a, 1)?)?;
            json(true)
        }
        "quota_status" => json(gw.quota_status(&string(&a, 0, "name")?)?),
        "quota_history" => {
            let days = string(&a, 1, "days")?
                .parse()
                .map_err(|_| Error::input("days must be a whole number"))?;
            json(gw.quota_history(&string(&a, 0, "name")?, days)?)
        }
        "user_list" => json(gw.user_list()?),
        "ad_status" => json(gw.ad_status(flag(&a, 0))?),
        "ad_test" => {
            let credentials = optional(&a, 2).map(|user| Credentials {
                user,
                password: optional(&a, 3).unwrap_or_default(),
            });
            json(gw.ad_test(
                &string(&a, 0, "domain")?,
                optional(&a, 1).as_deref(),
                credentials.as_ref(),
            )?)
        }
        "ad_join" => {
            let request = JoinRequest {
                domain: string(&a, 0, "domain")?,
                ou: optional(&a, 1),
                netbios_name: optional(&a, 2),
                dc: optional(&a, 3),
                credentials: Credentials {
                    user: optional(&a, 4).unwrap_or_else(|| "Administrator".into()),
                    password: string(&a, 5, "password")?,
                },
            };
            json(gw.ad_join(request, flag(&a, 6))?)
        }
        "ad_leave" => {
            let credentials = optional(&a, 1).map(|password| Credentials {
                user: optional(&a, 0).unwrap_or_else(|| "Administrator".into()),
                password,
            });
            json(gw.ad_leave(credentials, flag(&a, 2))?)
        }
        "ha_setup" => {
            let setup = HaSetup {
                nodes: optional(&a, 0),
                vips: string(&a, 1, "vip")?,
                interface: string(&a, 2, "interface")?,
                lock: optional(&a, 3).unwrap_or_else(|| DEFAULT_LOCK.into()),
                no_lock: flag(&a, 4),
                tunables: strings(&a, 5)?,
            };
            json(gw.ha_setup(&setup, flag(&a, 6))?)
        }
        "ha_status" => json(gw.ha_status()?),
        "ha_failover" => {
            let seconds = gw.ha_failover(&string(&a, 0, "vip")?, &string(&a, 1, "node")?)?;
            json(serde_json::json!({ "seconds": seconds }))
        }
        "ha_test" => json(gw.ha_test(&string(&a, 0, "vip")?)?),
        "ha_node" => {
            gw.ha_node(&string(&a, 0, "node")?, flag(&a, 1))?;
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

/// Called by glue.c. Returns 0 with the JSON result in `*out`, or 1 with the error message
/// (ending in a newline, so Perl adds no " at FILE line N").
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
        Err(e) => (1, format!("{}\n", e.message.trim_end())),
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

    #[test]
    fn a_non_finite_number_is_named_with_its_argument() {
        let message = |input: &str| args(input).unwrap_err().message;
        assert_eq!(message(r#"["x",inf]"#), "argument 2 is Inf; numbers must be finite");
        assert_eq!(message(r#"["a,b",-Inf]"#), "argument 2 is -Inf; numbers must be finite");
        assert_eq!(message(r#"[NaN]"#), "argument 1 is NaN; numbers must be finite");
        assert_eq!(
            message(r#"["share",{"quota":inf,"comment":"Inf"},1]"#),
            "argument 2 contains Inf; numbers must be finite"
        );
        // the word inside a string is text, not a number
        assert_eq!(args(r#"["inf","NaN",null,true]"#).unwrap().len(), 4);
        assert_eq!(message("{}"), "the bridge expects its arguments as a JSON array");
    }
}
