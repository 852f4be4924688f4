//! `sessions`: who is connected to this node's smbd and what they hold on the gateway's
//! shares (tree connects, open files, byte-range locks), from smbd's own status
//! (smbgw_samba::status); and ending one session. Reading changes nothing and takes no lock.
//! Shares of containers and VMs are served by the guest's smbd, whose sessions are not here.

use serde::Serialize;
use smbgw_core::{bail_field, Error, Plan, Result, Share, Step};
use smbgw_samba::status::{self, ByteRangeLock, OpenFile, Protection, Session, SmbStatus};
use smbgw_samba::{users, Samba};

use crate::{Change, Gateway};

/// How long an ended session's smbd process may take to exit before that is an error.
const EXIT_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Debug, Serialize)]
pub struct Sessions {
    pub smbd_running: bool,
    /// Every session of smbd, or with a share name those using that share.
    pub sessions: Vec<SessionInfo>,
    /// The gateway's shares served by this node's smbd (or the one asked for), each with what
    /// its clients hold.
    pub shares: Vec<ShareActivity>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct SessionInfo {
    #[serde(flatten)]
    pub session: Session,
    /// The gateway's shares this session has connected.
    pub shares: Vec<String>,
    /// Files it holds open and byte-range locks it holds, on those shares.
    pub open_files: usize,
    pub locks: usize,
}

#[derive(Debug, Serialize)]
pub struct ShareActivity {
    pub name: String,
    pub path: String,
    pub connections: Vec<Connection>,
    pub open_files: Vec<HeldFile>,
    pub locks: Vec<HeldLock>,
}

/// A tree connect: a session using the share.
#[derive(Debug, Serialize)]
pub struct Connection {
    pub session: String,
    pub user: String,
    pub client: String,
    pub connected_at: String,
    pub encryption: Protection,
    pub signing: Protection,
}

#[derive(Debug, Serialize)]
pub struct HeldFile {
    /// The session of the smbd process holding it (none when smbd lists no session for it).
    pub session: Option<String>,
    pub user: String,
    pub file: String,
    pub access: String,
    pub share_mode: String,
    pub caching: String,
    pub opened_at: String,
}

#[derive(Debug, Serialize)]
pub struct HeldLock {
    pub session: Option<String>,
    pub user: String,
    pub file: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub start: u64,
    pub size: u64,
}

impl Gateway {
    /// Sessions, tree connects, open files and locks; with `name`, only that share's.
    pub fn sessions(&self, name: Option<&str>) -> Result<Sessions> {
        let mut notes = Vec::new();
        let shares: Vec<Share> = match name {
            Some(n) => {
                let share = self.share(n)?;
                if !share.mode.is_native() {
                    notes.push(format!(
                        "share '{}' is served by the smbd of its {}, whose sessions are not listed here",
                        share.name,
                        if share.mode.as_str() == "vm" { "VM" } else { "container" }
                    ));
                }
                vec![share]
            }
            None => self.store.load()?.shares().to_vec(),
        };
        let shares: Vec<Share> = shares.into_iter().filter(|s| s.mode.is_native()).collect();
        let status = status::read(&self.samba)?;
        Ok(report(
            status,
            &shares,
            name.is_some(),
            self.samba.smbd_pid().is_some(),
            notes,
        ))
    }

    /// End one session: the smbd process serving its client connection (which ends every
    /// session on that connection; the change's notes name the others). The client may
    /// reconnect; to keep a user out, remove its access first.
    pub fn disconnect_session(&self, session: &str, dry_run: bool) -> Result<Change> {
        let id = session.trim();
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) || id.parse::<u32>().map_or(true, |n| n == 0) {
            bail_field!(
                "session",
                "'{session}' is not a session id (a number as 'pve-smbgateway sessions' lists them)"
            );
        }
        let _lock = self.store.lock()?;
        let status = status::read(&self.samba)?;
        let Some(target) = status.sessions.iter().find(|s| s.id == id) else {
            // a few ids to go by; 'sessions' lists them all
            let known: Vec<&str> = status.sessions.iter().take(10).map(|s| s.id.as_str()).collect();
            let listed = match status.sessions.len() {
                0 => "smbd has no sessions now".to_string(),
                n if n > known.len() => format!(
                    "current sessions include {} ({n} in all; 'pve-smbgateway sessions' lists them)",
                    known.join(", ")
                ),
                _ => format!("current sessions: {}", known.join(", ")),
            };
            return Err(Error::not_found(format!("there is no SMB session {id}; {listed}")).field("session"));
        };
        if Some(target.pid) == self.samba.smbd_pid() {
            return Err(Error::external(format!(
                "smbstatus names the main smbd (pid {}) as the process of session {id}; it is not ended",
                target.pid
            )));
        }
        let others: Vec<String> = status
            .sessions
            .iter()
            .filter(|s| s.pid == target.pid && s.id != target.id)
            .map(|s| format!("{} ({})", s.id, s.user))
            .collect();
        let mut notes = Vec::new();
        if !others.is_empty() {
            notes.push(format!(
                "the same client connection also carries session(s) {}, which end with it",
                others.join(", ")
            ));
        }
        let mut plan = Plan::new();
        plan.push(EndSession {
            samba: self.samba.clone(),
            session: target.clone(),
        });
        self.execute(plan, dry_run, None, notes)
    }
}

/// Put smbd's status together per share. `only_named`: list only the sessions that use one of
/// `shares` (a share was asked for).
fn report(status: SmbStatus, shares: &[Share], only_named: bool, smbd_running: bool, notes: Vec<String>) -> Sessions {
    let session_of = |pid: i32, uid: Option<u32>| -> Option<&Session> {
        let mut on_pid = status.sessions.iter().filter(|s| s.pid == pid);
        let first = on_pid.clone().next();
        on_pid.find(|s| uid.is_some() && s.uid == uid).or(first)
    };
    let user_of = |s: Option<&Session>| s.map(|s| s.user.clone()).unwrap_or_default();
    let under = |share: &Share, path: &str| trim(path) == trim(&share.path);
    let activity: Vec<ShareActivity> = shares
        .iter()
        .map(|share| {
            let connections = status
                .tree_connects
                .iter()
                .filter(|t| t.service.eq_ignore_ascii_case(&share.name))
                .map(|t| {
                    let s = status.sessions.iter().find(|s| s.id == t.session);
                    Connection {
                        session: t.session.clone(),
                        user: user_of(s),
                        client: s.map(|s| s.client.clone()).unwrap_or_default(),
                        connected_at: t.connected_at.clone(),
                        encryption: t.encryption.clone(),
                        signing: t.signing.clone(),
                    }
                })
                .collect();
            let open_files = status
                .open_files
                .iter()
                .filter(|o| under(share, &o.share_path))
                .map(|o: &OpenFile| {
                    let s = session_of(o.pid, o.uid);
                    HeldFile {
                        session: s.map(|s| s.id.clone()),
                        user: user_of(s),
                        file: o.file.clone(),
                        access: o.access.clone(),
                        share_mode: o.share_mode.clone(),
                        caching: o.caching.clone(),
                        opened_at: o.opened_at.clone(),
                    }
                })
                .collect();
            let locks = status
                .locks
                .iter()
                .filter(|l| under(share, &l.share_path))
                .map(|l: &ByteRangeLock| {
                    let s = session_of(l.pid, None);
                    HeldLock {
                        session: s.map(|s| s.id.clone()),
                        user: user_of(s),
                        file: l.file.clone(),
                        kind: l.kind.clone(),
                        start: l.start,
                        size: l.size,
                    }
                })
                .collect();
            ShareActivity {
                name: share.name.clone(),
                path: share.path.clone(),
                connections,
                open_files,
                locks,
            }
        })
        .collect();
    let sessions = status
        .sessions
        .iter()
        .map(|s| {
            let on = |a: &ShareActivity| a.connections.iter().any(|c| c.session == s.id);
            let mine = |held: Option<&String>| held == Some(&s.id);
            SessionInfo {
                session: s.clone(),
                shares: activity.iter().filter(|a| on(a)).map(|a| a.name.clone()).collect(),
                open_files: activity
                    .iter()
                    .flat_map(|a| &a.open_files)
                    .filter(|f| mine(f.session.as_ref()))
                    .count(),
                locks: activity
                    .iter()
                    .flat_map(|a| &a.locks)
                    .filter(|l| mine(l.session.as_ref()))
                    .count(),
            }
        })
        .filter(|s| !only_named || !s.shares.is_empty())
        .collect();
    Sessions {
        smbd_running,
        sessions,
        shares: activity,
        notes,
    }
}

fn trim(path: &str) -> &str {
    match path.trim_end_matches('/') {
        "" => "/",
        p => p,
    }
}

/// End a session by ending the smbd process of its connection (users.rs), and wait until that
/// process is gone, so a `sessions` right after no longer lists it.
struct EndSession {
    samba: Samba,
    session: Session,
}

impl Step for EndSession {
    fn describe(&self) -> String {
        let s = &self.session;
        format!(
            "end SMB session {} of '{}' from {} (its connection's smbd process {})",
            s.id, s.user, s.client, s.pid
        )
    }
    fn apply(&mut self) -> Result<()> {
        let pid = self.session.pid;
        users::close_connections(&self.samba, &[pid])?;
        let alive = || nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok();
        let start = std::time::Instant::now();
        while alive() {
            if start.elapsed() > EXIT_WAIT {
                return Err(Error::external(format!(
                    "smbd process {pid} (session {}) was asked to end but still runs after {} s",
                    self.session.id,
                    EXIT_WAIT.as_secs()
                )));
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Ok(())
    }
    /// An ended connection cannot be restored; the client reconnects by itself.
    fn undo(&mut self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share(name: &str, path: &str) -> Share {
        let props = [("path".to_string(), path.to_string())].into();
        Share::from_properties(name, &props).unwrap()
    }

    const TWO_CLIENTS: &str = r#"{
      "sessions": {
        "11": {"session_id": "11", "server_id": {"pid": "500"}, "uid": 20000, "username": "alice",
               "remote_machine": "10.0.0.5", "hostname": "ipv4:10.0.0.5:5000", "session_dialect": "SMB3_11",
               "encryption": {"cipher": "AES-128-GCM", "degree": "full"}, "signing": {"cipher": "-", "degree": "none"}},
        "22": {"session_id": "22", "server_id": {"pid": "600"}, "uid": 20001, "username": "bob",
               "remote_machine": "10.0.0.6", "hostname": "ipv4:10.0.0.6:5000", "session_dialect": "SMB2_10"}
      },
      "tcons": {
        "1": {"service": "Team", "server_id": {"pid": "500"}, "tcon_id": "1", "session_id": "11"},
        "2": {"service": "IPC$", "server_id": {"pid": "500"}, "tcon_id": "2", "session_id": "11"},
        "3": {"service": "handmade", "server_id": {"pid": "600"}, "tcon_id": "3", "session_id": "22"}
      },
      "open_files": {
        "/srv/team/a.txt": {"service_path": "/srv/team/", "filename": "a.txt",
          "opens": {"500/1": {"server_id": {"pid": "500"}, "uid": 20000, "access_mask": {"text": "RW"}}}},
        "/srv/other/b.txt": {"service_path": "/srv/other", "filename": "b.txt",
          "opens": {"600/1": {"server_id": {"pid": "600"}, "uid": 20001, "access_mask": {"text": "R"}}}}
      },
      "byte_range_locks": {
        "/srv/team/a.txt": {"file_name": "a.txt", "share_path": "/srv/team",
          "locks": [{"server_id": {"pid": "500"}, "type": "W", "start": 0, "size": 10}]}
      }
    }"#;

    #[test]
    fn activity_is_shown_per_managed_share() {
        let status = status::parse(TWO_CLIENTS).unwrap();
        let shares = [share("team", "/srv/team"), share("idle", "/srv/idle")];
        let r = report(status.clone(), &shares, false, true, Vec::new());
        // every session, but only the gateway's shares (not IPC$, not a hand-written share)
        assert_eq!(r.sessions.len(), 2);
        let alice = &r.sessions[0];
        assert_eq!(
            (alice.session.user.as_str(), alice.shares.as_slice()),
            ("alice", &["team".to_string()][..])
        );
        assert_eq!((alice.open_files, alice.locks), (1, 1));
        let bob = &r.sessions[1];
        assert!(bob.shares.is_empty());
        assert_eq!(bob.open_files, 0, "b.txt is not on a gateway share");
        let team = &r.shares[0];
        assert_eq!(team.connections.len(), 1);
        assert_eq!(team.connections[0].user, "alice");
        assert_eq!(team.connections[0].client, "10.0.0.5");
        assert_eq!(team.open_files[0].file, "a.txt");
        assert_eq!(team.open_files[0].session.as_deref(), Some("11"));
        assert_eq!((team.locks[0].kind.as_str(), team.locks[0].size), ("W", 10));
        let idle = &r.shares[1];
        assert!(idle.connections.is_empty() && idle.open_files.is_empty() && idle.locks.is_empty());
        // a share asked for: only the sessions using it
        let r = report(status, &shares[1..], true, true, Vec::new());
        assert!(r.sessions.is_empty());
    }
}
