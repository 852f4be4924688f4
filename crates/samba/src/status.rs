//! What smbd serves right now, read from `smbstatus --json --byterange` (never its text
//! output): sessions, tree connects, open files and byte-range locks. One call gives all four
//! sections (Samba 4.17 adds the byte-range locks to the default three); the JSON's sections
//! are objects keyed by id, read here into typed lists. `users.rs` finds a user's sessions
//! here, the gateway's `sessions` operation (gateway/src/sessions.rs) shows them per share.

use serde::Serialize;
use serde_json::Value;
use smbgw_core::{Error, Result};

use crate::Samba;

/// One authenticated SMB session. Each client connection is served by its own smbd process
/// (`pid`); ending that process ends the connection with every session on it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Session {
    /// smbd's global session id (decimal), the key of `smbstatus`'s `sessions` section.
    pub id: String,
    pub pid: i32,
    pub user: String,
    pub uid: Option<u32>,
    pub group: String,
    /// The client's machine name or address as smbd knows it.
    pub client: String,
    /// The client's transport address, e.g. `ipv4:192.0.2.7:50012`.
    pub address: String,
    /// The negotiated dialect, e.g. `SMB3_11`.
    pub protocol: String,
    pub encryption: Protection,
    pub signing: Protection,
}

/// Encryption or signing of a session or tree connect: the cipher (`-` for none) and how
/// much is protected (`none`, `partial`, `full`, as smbstatus says).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Protection {
    pub cipher: String,
    pub degree: String,
}

/// A tree connect: a session using one share.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TreeConnect {
    pub id: String,
    pub session: String,
    pub pid: i32,
    /// The share's name as smb.conf spells it.
    pub service: String,
    pub connected_at: String,
    pub encryption: Protection,
    pub signing: Protection,
}

/// One open of a file by a client.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OpenFile {
    /// The shared directory the file is under (the share's `path`).
    pub share_path: String,
    /// The file's path inside the share.
    pub file: String,
    pub pid: i32,
    pub uid: Option<u32>,
    /// Access asked for (`R`, `W`, `RW`, ...), and what others may do meanwhile (share mode).
    pub access: String,
    pub share_mode: String,
    /// Oplock or lease held (empty for none).
    pub caching: String,
    pub opened_at: String,
}

/// One byte-range lock.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ByteRangeLock {
    pub share_path: String,
    pub file: String,
    pub pid: i32,
    /// `R` (shared) or `W` (exclusive).
    #[serde(rename = "type")]
    pub kind: String,
    pub start: u64,
    pub size: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SmbStatus {
    pub sessions: Vec<Session>,
    pub tree_connects: Vec<TreeConnect>,
    pub open_files: Vec<OpenFile>,
    pub locks: Vec<ByteRangeLock>,
}

/// Everything smbd serves now. A sandbox without its smb.conf yet serves nothing.
pub fn read(samba: &Samba) -> Result<SmbStatus> {
    if samba.layout.sandbox.is_some() && !samba.layout.smb_conf.exists() {
        return Ok(SmbStatus::default());
    }
    let out = samba.tool("smbstatus").args(["--json", "--byterange"]).run()?;
    parse(&out.stdout)
}

/// Read `smbstatus --json` output (any of its sections may be missing).
pub fn parse(json: &str) -> Result<SmbStatus> {
    let root: Value = serde_json::from_str(json)
        .map_err(|e| Error::external(format!("smbstatus --json printed something that is not JSON: {e}")))?;
    let mut status = SmbStatus {
        sessions: entries(&root, "sessions").filter_map(session).collect(),
        tree_connects: entries(&root, "tcons").filter_map(tree_connect).collect(),
        open_files: entries(&root, "open_files").flat_map(opens).collect(),
        locks: entries(&root, "byte_range_locks").flat_map(locks).collect(),
    };
    // smbstatus's order is its databases' (hash) order: sort for a stable output
    status.sessions.sort_by(|a, b| (a.pid, &a.id).cmp(&(b.pid, &b.id)));
    status
        .tree_connects
        .sort_by(|a, b| (&a.service, a.pid, &a.id).cmp(&(&b.service, b.pid, &b.id)));
    status
        .open_files
        .sort_by(|a, b| (&a.share_path, &a.file, a.pid).cmp(&(&b.share_path, &b.file, b.pid)));
    status
        .locks
        .sort_by(|a, b| (&a.share_path, &a.file, a.start).cmp(&(&b.share_path, &b.file, b.start)));
    Ok(status)
}

/// The values of one section (an object keyed by id).
fn entries<'a>(root: &'a Value, section: &str) -> impl Iterator<Item = &'a Value> {
    root[section].as_object().into_iter().flat_map(|m| m.values())
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// The smbd process of a `server_id` (a string in the JSON); 0 and 1 are never a client's.
fn pid(v: &Value) -> Option<i32> {
    text(&v["server_id"]["pid"]).parse().ok().filter(|p| *p > 1)
}

fn uid(v: &Value) -> Option<u32> {
    v["uid"].as_u64().and_then(|u| u32::try_from(u).ok())
}

fn protection(v: &Value) -> Protection {
    Protection {
        cipher: text(&v["cipher"]),
        degree: text(&v["degree"]),
    }
}

fn session(v: &Value) -> Option<Session> {
    Some(Session {
        id: text(&v["session_id"]),
        pid: pid(v)?,
        user: text(&v["username"]),
        uid: uid(v),
        group: text(&v["groupname"]),
        client: text(&v["remote_machine"]),
        address: text(&v["hostname"]),
        protocol: text(&v["session_dialect"]),
        encryption: protection(&v["encryption"]),
        signing: protection(&v["signing"]),
    })
}

fn tree_connect(v: &Value) -> Option<TreeConnect> {
    Some(TreeConnect {
        id: text(&v["tcon_id"]),
        session: text(&v["session_id"]),
        pid: pid(v)?,
        service: text(&v["service"]),
        connected_at: text(&v["connected_at"]),
        encryption: protection(&v["encryption"]),
        signing: protection(&v["signing"]),
    })
}

/// The opens of one file entry.
fn opens(file: &Value) -> Vec<OpenFile> {
    let share_path = text(&file["service_path"]);
    let name = text(&file["filename"]);
    entries(file, "opens")
        .filter_map(|o| {
            // an oplock or a lease: whichever the open holds
            let caching = [&o["lease"]["text"], &o["oplock"]["text"]]
                .into_iter()
                .map(text)
                .find(|t| !t.is_empty())
                .unwrap_or_default();
            Some(OpenFile {
                share_path: share_path.clone(),
                file: name.clone(),
                pid: pid(o)?,
                uid: uid(o),
                access: text(&o["access_mask"]["text"]),
                share_mode: text(&o["sharemode"]["text"]),
                caching,
                opened_at: text(&o["opened_at"]),
            })
        })
        .collect()
}

/// The locks of one file entry.
fn locks(file: &Value) -> Vec<ByteRangeLock> {
    let share_path = text(&file["share_path"]);
    let name = text(&file["file_name"]);
    file["locks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| {
            Some(ByteRangeLock {
                share_path: share_path.clone(),
                file: name.clone(),
                pid: pid(l)?,
                kind: text(&l["type"]),
                start: l["start"].as_u64().unwrap_or(0),
                size: l["size"].as_u64().unwrap_or(0),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Output of Samba 4.17.12's `smbstatus --json --byterange` with one client holding a file
    /// open on share "team" (trimmed), plus a byte-range lock in the form smbstatus(1)
    /// documents.
    const SAMPLE: &str = r#"{"timestamp": "2026-12-05T03:13:58.414234+0000", "version": "4.17.12-Debian",
      "sessions": {"4160733134": {"session_id": "4160733134", "server_id": {"pid": "14388", "task_id": "0",
        "vnn": "4294967295", "unique_id": "16402973461989706964"}, "uid": 20000, "gid": 20000,
        "username": "sessu", "groupname": "sessu", "remote_machine": "127.0.0.1",
        "hostname": "ipv4:127.0.0.1:45740", "session_dialect": "SMB3_11",
        "encryption": {"cipher": "-", "degree": "none"}, "signing": {"cipher": "AES-128-GMAC", "degree": "partial"}}},
      "tcons": {"4041994547": {"service": "team", "server_id": {"pid": "14388"}, "tcon_id": "4041994547",
        "session_id": "4160733134", "machine": "127.0.0.1", "connected_at": "2026-12-05T03:13:55.351362+00:00",
        "encryption": {"cipher": "-", "degree": "none"}, "signing": {"cipher": "-", "degree": "none"}}},
      "open_files": {"/srv/team/f.txt": {"service_path": "/srv/team", "filename": "f.txt",
        "fileid": {"devid": 65024, "inode": 10011811, "extid": 0}, "num_pending_deletes": 0,
        "opens": {"14388/3": {"server_id": {"pid": "14388"}, "uid": 20000, "share_file_id": "3",
          "sharemode": {"hex": "0x00000003", "text": "RW"}, "access_mask": {"hex": "0x00000003", "text": "RW"},
          "caching": {"text": ""}, "oplock": {}, "lease": {"lease_key": "x", "text": "RWH"},
          "opened_at": "2026-12-05T03:13:57.390676+00:00"}}}},
      "byte_range_locks": {"/srv/team/f.txt": {"fileid": {"devid": 59, "inode": 11404245, "extid": 0},
        "file_name": "f.txt", "share_path": "/srv/team",
        "locks": [{"server_id": {"pid": "14388"}, "type": "W", "flavour": "Windows", "start": 0, "size": 16}]}}}"#;

    #[test]
    fn every_section_is_read() {
        let s = parse(SAMPLE).unwrap();
        assert_eq!(s.sessions.len(), 1);
        let session = &s.sessions[0];
        assert_eq!(
            (session.id.as_str(), session.pid, session.user.as_str(), session.uid),
            ("4160733134", 14388, "sessu", Some(20000))
        );
        assert_eq!(session.protocol, "SMB3_11");
        assert_eq!(session.address, "ipv4:127.0.0.1:45740");
        assert_eq!(session.encryption.degree, "none");
        assert_eq!(session.signing.cipher, "AES-128-GMAC");
        assert_eq!(s.tree_connects[0].service, "team");
        assert_eq!(s.tree_connects[0].session, "4160733134");
        let open = &s.open_files[0];
        assert_eq!(
            (open.share_path.as_str(), open.file.as_str(), open.pid),
            ("/srv/team", "f.txt", 14388)
        );
        assert_eq!((open.access.as_str(), open.caching.as_str()), ("RW", "RWH"));
        let lock = &s.locks[0];
        assert_eq!(
            (lock.kind.as_str(), lock.start, lock.size, lock.pid),
            ("W", 0, 16, 14388)
        );
    }

    #[test]
    fn missing_sections_and_bad_output() {
        assert_eq!(parse(r#"{"sessions": {}}"#).unwrap(), SmbStatus::default());
        // pid 0 or 1 (or none) is never the smbd process of a client connection
        let s = parse(r#"{"sessions": {"1": {"session_id": "1", "server_id": {"pid": "1"}}}}"#).unwrap();
        assert!(s.sessions.is_empty());
        let err = parse("Samba is not running").unwrap_err();
        assert_eq!(err.kind.exit_code(), 3, "{}", err.message);
    }
}
