//! Running PBS's tools (proxmox-backup-client, proxmox-file-restore) for one PBS storage:
//! each command with the storage's repository and namespace, the password on the tool's
//! standard input (`PBS_PASSWORD_FD=0`) and the fingerprint in `PBS_FINGERPRINT`, retried as
//! crates/gateway/src/pbs/retry.rs decides, its answer read by crates/gateway/src/pbs/output.rs.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use smbgw_core::{Error, Result};
use smbgw_sys::command::{Command, Output};

use super::output::{json_error, parse_catalog, CatalogEntry, FileEntry, Keep, PruneItem, Snapshot};
use super::retry::{classify, client_message, retry, Attempt, Backoff, Failure, Jitter};
use super::{pbs_name, PbsTarget, Secret, CLIENT, FILE_RESTORE};

/// Variables of ours that would override how the client takes its secret or target.
const CLIENT_ENV: &[&str] = &[
    "PBS_PASSWORD",
    "PBS_PASSWORD_FD",
    "PBS_PASSWORD_FILE",
    "PBS_PASSWORD_CMD",
    "PBS_REPOSITORY",
    "PBS_FINGERPRINT",
];

/// The PBS programs the gateway runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tool {
    Client,
    FileRestore,
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::Client => CLIENT,
            Tool::FileRestore => FILE_RESTORE,
        }
    }
}

/// The path proxmox-file-restore takes for `path` in archive `<archive>.pxar`:
/// `/<archive>.pxar.didx/<path>`.
pub(crate) fn archive_path(archive: &str, path: &str) -> String {
    let inside = path.trim_matches('/');
    match inside.is_empty() {
        true => format!("/{}.pxar.didx", pbs_name(archive)),
        false => format!("/{}.pxar.didx/{inside}", pbs_name(archive)),
    }
}

/// Standard base64 with padding: paths go to proxmox-file-restore encoded (`--base64 1`, as
/// PVE passes them), so no byte of a file name can be taken for an option.
pub fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            out.push(match i <= chunk.len() {
                true => ABC[(n >> (18 - 6 * i) & 63) as usize] as char,
                false => '=',
            });
        }
    }
    out
}

/// What one run of the client needs: the target, its password, the programs.
struct Invocation {
    target: PbsTarget,
    password: Secret,
    client: OsString,
    file_restore: OsString,
}

impl Invocation {
    /// The command for one attempt: the repository and namespace after `args`, the password
    /// on stdin, the fingerprint in the environment, none of our own PBS_* variables.
    fn command(&self, tool: Tool, args: &[String], timeout: Duration) -> Command {
        let program = match tool {
            Tool::Client => &self.client,
            Tool::FileRestore => &self.file_restore,
        };
        let mut cmd = Command::new(program)
            .args(args)
            .arg("--repository")
            .arg(self.target.repository());
        if let Some(ns) = &self.target.namespace {
            cmd = cmd.arg("--ns").arg(ns);
        }
        for var in CLIENT_ENV {
            cmd = cmd.env_remove(var);
        }
        if let Some(fp) = &self.target.fingerprint {
            cmd = cmd.env("PBS_FINGERPRINT", fp);
        }
        cmd.env("PBS_PASSWORD_FD", "0")
            .stdin(format!("{}\n", self.password.expose()))
            .timeout(timeout)
    }
}

/// Runs the client against one PBS storage.
pub struct PbsClient {
    inv: Invocation,
    password_file: PathBuf,
    backoff: Backoff,
    /// How long one run of a data command (backup, restore) may take.
    pub transfer_timeout: Duration,
    /// How long one run of any other command may take.
    pub query_timeout: Duration,
    sleep: Box<dyn FnMut(Duration)>,
    jitter: Box<dyn FnMut() -> f64>,
}

impl std::fmt::Debug for PbsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PbsClient")
            .field("target", &self.inv.target)
            .field("password", &self.inv.password)
            .field("client", &self.inv.client)
            .field("file_restore", &self.inv.file_restore)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

impl PbsClient {
    pub fn new(target: PbsTarget, password: Secret, password_file: PathBuf) -> Self {
        let mut jitter = Jitter::new();
        PbsClient {
            inv: Invocation {
                target,
                password,
                client: CLIENT.into(),
                file_restore: FILE_RESTORE.into(),
            },
            password_file,
            backoff: Backoff::default(),
            transfer_timeout: Duration::from_secs(24 * 3600),
            query_timeout: Duration::from_secs(300),
            sleep: Box::new(std::thread::sleep),
            jitter: Box::new(move || jitter.next()),
        }
    }

    pub fn target(&self) -> &PbsTarget {
        &self.inv.target
    }

    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Wait with `sleep` instead of the thread's sleep (tests count the waits).
    pub fn with_sleep(mut self, sleep: impl FnMut(Duration) + 'static) -> Self {
        self.sleep = Box::new(sleep);
        self
    }

    /// Run `client` for proxmox-backup-client and `file_restore` for proxmox-file-restore
    /// (tests: the stand-ins).
    pub fn with_programs(mut self, client: impl Into<OsString>, file_restore: impl Into<OsString>) -> Self {
        self.inv.client = client.into();
        self.inv.file_restore = file_restore.into();
        self
    }

    /// Run `args` until it passes or fails for good (a transient failure counts as one only
    /// while `again` says a new attempt is safe); the error says what to fix.
    fn run(&mut self, tool: Tool, args: &[String], timeout: Duration, again: &dyn Fn() -> bool) -> Result<Output> {
        let what = std::iter::once(tool.name())
            .chain(
                args.iter()
                    .map(String::as_str)
                    .take_while(|a| !a.starts_with('-'))
                    .take(2),
            )
            .collect::<Vec<_>>()
            .join(" ");
        let inv = &self.inv;
        let result = retry(&self.backoff, &mut *self.sleep, &mut *self.jitter, || {
            let mut out = inv.command(tool, args, timeout).output().map_err(|e| Attempt {
                // the runner's timeout (external): the server stopped answering
                failure: match e.kind {
                    smbgw_sys::ErrorKind::System => Failure::Local,
                    _ => Failure::Transient,
                },
                message: e.message,
            })?;
            // `proxmox-file-restore list` with a JSON format fails with a JSON message, exit 0
            if let (true, Some(msg)) = (out.success(), json_error(&out.stdout)) {
                out = Output {
                    code: Some(255),
                    stdout: String::new(),
                    stderr: format!("Error: {msg}\n"),
                };
            }
            if out.success() {
                return Ok(out);
            }
            let failure = match classify(out.code, &out.stderr) {
                Failure::Transient if !again() => Failure::Other,
                f => f,
            };
            Err(Attempt {
                failure,
                message: client_message(&out.stderr),
            })
        });
        result.map_err(|(a, n)| self.failure(tool, &what, &a, n))
    }

    /// The error for a failed command: what the server said and what to do about it.
    fn failure(&self, tool: Tool, what: &str, a: &Attempt, attempts: u32) -> Error {
        let t = &self.inv.target;
        let at = format!("PBS storage '{}' ({})", t.storage, t.repository());
        let msg = &a.message;
        if a.failure == Failure::Local {
            return Error::system(format!(
                "{msg}: backups to PBS need its tools (`apt install {}`)",
                tool.name()
            ));
        }
        Error::external(match a.failure {
            Failure::Auth => format!(
                "{at}: the server refused the credentials ({msg}); check `username` of the storage in storage.cfg and its password in {}",
                self.password_file.display()
            ),
            Failure::Fingerprint => match &t.fingerprint {
                Some(fp) => format!(
                    "{at}: the server's certificate is not the one `fingerprint` {fp} of the storage names ({msg}); set the fingerprint the server shows (`proxmox-backup-manager cert info`)"
                ),
                None => format!(
                    "{at}: the server's certificate is not trusted and the storage names no `fingerprint` ({msg}); set the one the server shows (`proxmox-backup-manager cert info`)"
                ),
            },
            Failure::Datastore => format!(
                "{at}: the server has no datastore '{}'{} ({msg}); check `datastore` and `namespace` of the storage",
                t.datastore,
                t.namespace.as_deref().map(|ns| format!(" with namespace '{ns}'")).unwrap_or_default()
            ),
            Failure::Transient => format!("{at}: '{what}' still failed after {attempts} attempts: {msg}"),
            Failure::Other | Failure::Local => format!("{at}: '{what}' failed: {msg}"),
        })
    }

    /// Back up directory `dir` as archive `<archive>.pxar` into group `host/<backup_id>` (at
    /// `time`, else now). A failed attempt leaves nothing on the server, so it is retried.
    pub fn backup(&mut self, archive: &str, dir: &Path, backup_id: &str, time: Option<i64>) -> Result<()> {
        let mut args = vec![
            "backup".to_string(),
            format!("{}.pxar:{}", pbs_name(archive), dir.display()),
            "--backup-type".into(),
            "host".into(),
            "--backup-id".into(),
            backup_id.into(),
            "--crypt-mode=none".into(),
        ];
        if let Some(t) = time {
            args.extend(["--backup-time".into(), t.to_string()]);
        }
        let timeout = self.transfer_timeout;
        self.run(Tool::Client, &args, timeout, &|| true).map(drop)
    }

    /// The snapshots of group `host/<backup_id>`, oldest first.
    pub fn snapshots(&mut self, backup_id: &str) -> Result<Vec<Snapshot>> {
        let args = [
            "snapshot".to_string(),
            "list".into(),
            format!("host/{backup_id}"),
            "--output-format".into(),
            "json".into(),
        ];
        let timeout = self.query_timeout;
        let out = self.run(Tool::Client, &args, timeout, &|| true)?;
        let mut list: Vec<Snapshot> = self.parse(&out.stdout, "snapshot list")?;
        list.sort_by_key(|s| s.backup_time);
        Ok(list)
    }

    /// Restore archive `<archive>.pxar` of `snapshot` (a path, or a group for its latest) into
    /// the directory `target`, which must not exist or be empty: a failed attempt is retried
    /// only while nothing was written there.
    pub fn restore(&mut self, snapshot: &str, archive: &str, target: &Path) -> Result<()> {
        let args = [
            "restore".to_string(),
            snapshot.into(),
            format!("{}.pxar", pbs_name(archive)),
            target.display().to_string(),
        ];
        let timeout = self.transfer_timeout;
        let untouched = || std::fs::read_dir(target).map_or(true, |mut d| d.next().is_none());
        self.run(Tool::Client, &args, timeout, &untouched).map(drop)
    }

    /// Apply `keep` to group `host/<backup_id>` on the server (with `dry_run`, only say what
    /// it would remove).
    pub fn prune(&mut self, backup_id: &str, keep: &Keep, dry_run: bool) -> Result<Vec<PruneItem>> {
        let mut args = vec!["prune".to_string(), format!("host/{backup_id}")];
        args.extend(keep.args());
        if dry_run {
            args.push("--dry-run".into());
        }
        args.extend(["--output-format".into(), "json".into()]);
        let timeout = self.query_timeout;
        let out = self.run(Tool::Client, &args, timeout, &|| true)?;
        self.parse(&out.stdout, "proxmox-backup-client prune")
    }

    /// Remove one snapshot.
    pub fn forget(&mut self, snapshot: &str) -> Result<()> {
        let args = ["snapshot".to_string(), "forget".into(), snapshot.into()];
        let timeout = self.query_timeout;
        self.run(Tool::Client, &args, timeout, &|| true).map(drop)
    }

    /// The entries of a snapshot's catalog (for restoring single files).
    pub fn catalog(&mut self, snapshot: &str) -> Result<Vec<CatalogEntry>> {
        let args = ["catalog".to_string(), "dump".into(), snapshot.into()];
        let timeout = self.query_timeout;
        let out = self.run(Tool::Client, &args, timeout, &|| true)?;
        // the client prints the catalog through its logger, on stderr
        Ok(parse_catalog(&format!("{}{}", out.stdout, out.stderr)))
    }

    /// The entries of directory `dir` (`""` for the top) of archive `<archive>.pxar` in
    /// `snapshot`, from the snapshot's catalog (`proxmox-file-restore list`).
    pub fn files(&mut self, snapshot: &str, archive: &str, dir: &str) -> Result<Vec<FileEntry>> {
        let path = archive_path(archive, dir);
        let args = [
            "list".to_string(),
            snapshot.into(),
            base64(path.as_bytes()),
            "--base64".into(),
            "1".into(),
            "--output-format".into(),
            "json".into(),
        ];
        let timeout = self.query_timeout;
        let out = self.run(Tool::FileRestore, &args, timeout, &|| true)?;
        self.parse(&out.stdout, "proxmox-file-restore list")
    }

    /// Restore the file or directory `path` of archive `<archive>.pxar` in `snapshot` into the
    /// directory `target`, under its own name (`proxmox-file-restore extract`); nothing there
    /// is overwritten, and a failed attempt is retried only while that name is still free.
    pub fn extract(&mut self, snapshot: &str, archive: &str, path: &str, target: &Path) -> Result<()> {
        let inside = archive_path(archive, path);
        let args = [
            "extract".to_string(),
            snapshot.into(),
            base64(inside.as_bytes()),
            target.display().to_string(),
            "--base64".into(),
            "1".into(),
        ];
        let name = path
            .trim_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        let free = move || name.is_empty() || std::fs::symlink_metadata(target.join(&name)).is_err();
        let timeout = self.transfer_timeout;
        self.run(Tool::FileRestore, &args, timeout, &free).map(drop)
    }

    fn parse<T: serde::de::DeserializeOwned>(&self, stdout: &str, what: &str) -> Result<T> {
        serde_json::from_str(stdout.trim()).map_err(|e| {
            Error::external(format!(
                "PBS storage '{}': cannot read the answer of '{what}': {e}",
                self.inv.target.storage
            ))
        })
    }
}
