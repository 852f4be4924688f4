//! smbd's profiling counters (`smbstatus --profile --json`): requests, connections, SMB2
//! operations and the bytes read and written by clients. Samba 4.17 keeps them for the whole
//! server (one shared database of every smbd process), not per share. They count only while
//! profiling is on: `smbd profiling level`, or at run time `smbcontrol smbd profile count`
//! (counts and bytes, no timings), which `start_counting` sends; they start at zero when smbd
//! starts. The daemon samples them (daemon/src/daemon.rs).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use smbgw_core::{Error, Result};

use crate::Samba;

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Profile {
    /// SMB requests processed.
    pub requests: u64,
    /// Client connections accepted and ended.
    pub connects: u64,
    pub disconnects: u64,
    /// File data sent to clients (SMB2 READ responses) and received from them (SMB2 WRITE
    /// requests), in bytes, protocol headers included.
    pub read_bytes: u64,
    pub write_bytes: u64,
    /// How often each SMB2 operation ran, by its name without `smb2_` (`read`, `create`, ...).
    pub operations: BTreeMap<String, u64>,
}

/// The counters now.
pub fn read(samba: &Samba) -> Result<Profile> {
    let out = samba.tool("smbstatus").args(["--profile", "--json"]).run()?;
    parse(&out.stdout)
}

/// Turn counting on in the running smbd (all its processes, also those started later); it
/// stays on until smbd stops. Idempotent.
pub fn start_counting(samba: &Samba) -> Result<()> {
    samba.tool("smbcontrol").args(["smbd", "profile", "count"]).run()?;
    Ok(())
}

pub fn parse(json: &str) -> Result<Profile> {
    let root: Value = serde_json::from_str(json).map_err(|e| {
        Error::external(format!(
            "smbstatus --profile --json printed something that is not JSON: {e}"
        ))
    })?;
    let num = |v: &Value| v.as_u64().unwrap_or(0);
    let smb2 = &root["SMB2 Calls"];
    let operations = smb2
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(name, v)| Some((name.strip_prefix("smb2_")?.to_string(), num(&v["count"]))))
        .collect();
    Ok(Profile {
        requests: num(&root["SMBD loop"]["request"]["count"]),
        connects: num(&root["SMBD loop"]["connect"]["count"]),
        disconnects: num(&root["SMBD loop"]["disconnect"]["count"]),
        read_bytes: num(&smb2["smb2_read"]["outbytes"]),
        write_bytes: num(&smb2["smb2_write"]["inbytes"]),
        operations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Samba 4.17.12's output after one smbclient put and get of 12,813 bytes (trimmed).
    const SAMPLE: &str = r#"{"timestamp": "2026-12-05T03:29:55+0000", "version": "4.17.12-Debian",
      "SMBD loop": {"connect": {"count": 1}, "disconnect": {"count": 1}, "idle": {"count": 16, "time": 0},
        "request": {"count": 15}},
      "System Calls": {"syscall_pwrite": {"count": 1, "time": 0, "idle": 0, "bytes": 12813}},
      "SMB2 Calls": {"smb2_negprot": {"count": 1, "time": 0, "idle": 0, "inbytes": 226, "outbytes": 284},
        "smb2_create": {"count": 2, "time": 0, "idle": 0, "inbytes": 264, "outbytes": 304},
        "smb2_read": {"count": 1, "time": 0, "idle": 0, "inbytes": 113, "outbytes": 12893},
        "smb2_write": {"count": 1, "time": 0, "idle": 0, "inbytes": 12925, "outbytes": 80}}}"#;

    #[test]
    fn counters_are_read() {
        let p = parse(SAMPLE).unwrap();
        assert_eq!((p.requests, p.connects, p.disconnects), (15, 1, 1));
        assert_eq!((p.read_bytes, p.write_bytes), (12893, 12925));
        assert_eq!(p.operations["create"], 2);
        assert_eq!(p.operations["write"], 1);
        assert_eq!(p.operations.len(), 4);
        assert_eq!(parse("{}").unwrap(), Profile::default());
        assert_eq!(parse("no").unwrap_err().kind.exit_code(), 3);
    }
}
