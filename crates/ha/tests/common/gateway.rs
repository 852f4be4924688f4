//! The gateway's own CLI on the nodes of the test cluster (common/mod.rs), for tests whose shares
//! must be made by the CLI, not written by hand (issue #16 item 5; tests/cephfs_failover.rs).
//!
//! Each node runs the CLI in sandbox mode with the root [`ROOT`], which lies in the node's own
//! /run (so smb.conf, Samba's state and the journal are per node, as /etc/samba is), while
//! `config/` (shares.cfg, ha.cfg), `pve/` (.members, storage.cfg) and `accounts/` are one host
//! directory bind-mounted on every node: what /etc/pve (pmxcfs) is on a PVE cluster, and the
//! same unix users everywhere. smbd listens on every address (PVE_SMBGW_BIND=0.0.0.0) so it
//! answers on whichever VIPs CTDB gives the node.
//!
//! Use: `#[path = "common/gateway.rs"] mod gateway;` beside `mod common;`.

#![allow(dead_code)]

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::SystemTime;

use crate::common::Cluster;

/// The sandbox root on every node (inside its private /run).
pub const ROOT: &str = "/run/smbgw-root";

/// The CLI binary of this workspace, built by the same cargo run (`cargo test --workspace` and
/// nextest build every package's binaries into the profile dir beside `deps/`). This crate's
/// tests cannot name another package's binary with `CARGO_BIN_EXE_*`, so it is found there, and
/// refused when missing or older than the sources (`cargo test -p smbgw-ha` alone does not
/// rebuild it). `SMBGW_TEST_CLI` overrides.
pub fn cli_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("SMBGW_TEST_CLI") {
        return bin.into();
    }
    let exe = std::env::current_exe().unwrap();
    let profile = exe.parent().and_then(Path::parent).unwrap();
    let bin = profile.join("pve-smbgateway");
    let built = fs::metadata(&bin).and_then(|m| m.modified());
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    // the CLI's own crate and what it links (an unrelated crate's change does not relink it)
    let newest = ["cli", "gateway", "core", "samba", "quota", "sys", "ha"]
        .iter()
        .map(|c| newest_source(&repo.join("crates").join(c).join("src")))
        .chain([newest_source(&repo.join("samba-templates"))])
        .max()
        .unwrap();
    match built {
        Ok(t) if t >= newest => bin,
        _ => panic!(
            "{} is missing or older than the sources: run `cargo build -p pve-smbgateway` (same profile) first, \
             or the whole workspace's tests",
            bin.display()
        ),
    }
}

fn newest_source(dir: &Path) -> SystemTime {
    let mut newest = SystemTime::UNIX_EPOCH;
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            // src/bin/* are other binaries (the lock helper), not linked into the CLI
            if entry.file_name() != "bin" {
                newest = newest.max(newest_source(&path));
            }
        } else if let Ok(t) = entry.metadata().and_then(|m| m.modified()) {
            newest = newest.max(t);
        }
    }
    newest
}

/// What a CLI run returned.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The gateway on the cluster's nodes.
pub struct Gateway {
    pub cli: PathBuf,
    /// The host directory every node sees at ROOT/config, ROOT/pve and ROOT/accounts.
    pub shared: PathBuf,
}

impl Gateway {
    /// Prepare every node: its sandbox root with the shared parts bind-mounted.
    pub fn new(c: &Cluster) -> Gateway {
        let cli = cli_bin();
        let shared = c.dir.path().join("pmxcfs");
        for sub in ["config", "pve", "accounts"] {
            fs::create_dir_all(shared.join(sub)).unwrap();
        }
        for i in 1..=crate::common::N {
            let script = format!(
                "set -e; for d in config pve accounts; do mkdir -p {ROOT}/$d; mount --bind {s}/$d {ROOT}/$d; done",
                s = shared.display()
            );
            let st = c.on(i, "sh").args(["-c", &script]).status().unwrap();
            assert!(st.success(), "sandbox root on n{i}");
        }
        Gateway { cli, shared }
    }

    /// The CLI on node i with `stdin`.
    pub fn run_with_stdin(&self, c: &Cluster, i: usize, args: &[&str], stdin: &str) -> Run {
        let mut child = c
            .on(i, self.cli.to_str().unwrap())
            .args(args)
            .env("PVE_SMBGW_ROOT", ROOT)
            .env("PVE_SMBGW_BIND", "0.0.0.0")
            .env("PVE_SMBGW_SMB_PORT", "445")
            .env("PVE_SMBGW_BIN", &self.cli)
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
        let out = child.wait_with_output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The CLI on node i; must succeed; its stdout.
    pub fn ok(&self, c: &Cluster, i: usize, args: &[&str]) -> String {
        let r = self.run_with_stdin(c, i, args, "");
        assert_eq!(r.code, 0, "n{i}: pve-smbgateway {args:?}: {}{}", r.stdout, r.stderr);
        r.stdout
    }

    /// Start smbd on node i with the smb.conf the CLI rendered there. With HA set up the CLI
    /// leaves starting smbd to the node's CTDB (its 50.samba event script starts the smbd
    /// service), which the test cluster's CTDB has no service to start with: this stands in.
    /// The environment is the sandbox's (crates/samba/src/lib.rs `Samba::env`): the accounts
    /// through nss_wrapper. -D: smbd daemonises into its own session, as the CLI starts it.
    pub fn start_smbd(&self, c: &Cluster, i: usize) {
        let st = c
            .on(i, "smbd")
            .args(["-D", "-s", &format!("{ROOT}/samba/smb.conf")])
            .env("LD_PRELOAD", "libnss_wrapper.so")
            .env("NSS_WRAPPER_PASSWD", format!("{ROOT}/accounts/passwd"))
            .env("NSS_WRAPPER_GROUP", format!("{ROOT}/accounts/group"))
            .stdin(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "smbd -D on n{i}");
    }

    /// A file of the shared /etc/pve stand-in (e.g. `pve/storage.cfg`).
    pub fn write_shared(&self, rel: &str, text: &str) {
        fs::write(self.shared.join(rel), text).unwrap();
    }
}
