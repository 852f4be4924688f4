//! Printing results as text for people or as JSON for scripts (`--output-format`, as in PVE).

use std::io::Write;

use clap::ArgMatches;
use serde::Serialize;
use smbgw_core::digest::Digested;
use smbgw_core::size::format_size;
use smbgw_core::{Error, Result, Share};
use smbgw_gateway::ad::{AdStatus, AdTest, Check};
use smbgw_gateway::{Change, ConfigVersion, NodeStatus, QuotaHistory, QuotaStatus, SampleReport};
use smbgw_gateway::{IoHistory, SambaUser, Sessions, Shown, StorageStatus};

/// Write one line to stdout (the `println!` of this program). When the reader has gone away
/// (`show x | head -1`), the command has done its work and the rest of the output is not wanted:
/// exit 0 without a word, as a panic on EPIPE would print a backtrace and exit 101.
pub fn print_line(line: std::fmt::Arguments) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(line).and_then(|()| out.write_all(b"\n")) {
        output_failed(e);
    }
}

/// Write raw bytes to stdout, with `print_line`'s handling of a closed pipe.
pub fn print_bytes(data: &[u8]) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(data).and_then(|()| out.flush()) {
        output_failed(e);
    }
}

fn output_failed(e: std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    let _ = writeln!(std::io::stderr(), "error: writing to standard output failed: {e}");
    std::process::exit(smbgw_core::ErrorKind::System.exit_code());
}

#[derive(Clone, Copy)]
pub enum Format {
    Text,
    Json,
    JsonPretty,
}

impl Format {
    pub fn from_matches(m: &ArgMatches) -> Self {
        match m.get_one::<String>("output-format").map(String::as_str) {
            Some("json") => Format::Json,
            Some("json-pretty") => Format::JsonPretty,
            _ => Format::Text,
        }
    }

    /// Print `value` as JSON; returns false in text mode.
    fn json<T: Serialize>(self, value: &T) -> Result<bool> {
        let text = match self {
            Format::Text => return Ok(false),
            Format::Json => serde_json::to_string(value),
            Format::JsonPretty => serde_json::to_string_pretty(value),
        }
        .map_err(|e| Error::system(format!("JSON output failed: {e}")))?;
        println!("{text}");
        Ok(true)
    }

    /// A failed command: `error: MESSAGE` on stderr; in the JSON formats the error as the API
    /// gets it (`{kind, message, field?, code?}`), so a script learns the field and the code.
    pub fn error(self, err: &Error) {
        let json = match self {
            Format::Text => None,
            Format::Json => serde_json::to_string(err).ok(),
            Format::JsonPretty => serde_json::to_string_pretty(err).ok(),
        };
        match json {
            Some(json) => eprintln!("{json}"),
            None => eprintln!("error: {}", err.message),
        }
    }

    pub fn message(self, text: &str, json: &serde_json::Value) -> Result<()> {
        if !self.json(json)? {
            println!("{text}");
        }
        Ok(())
    }

    pub fn change(self, change: &Change) -> Result<()> {
        // on stderr in every format: JSON on stdout stays parseable, and a script still sees them
        change.warnings.iter().for_each(|w| eprintln!("warning: {w}"));
        if self.json(change)? {
            return Ok(());
        }
        if !change.changed {
            println!("nothing to do: the node already matches the configuration");
        } else if change.dry_run {
            println!("plan (dry run, nothing was changed):");
            change.steps.iter().for_each(|s| println!("  - {s}"));
        } else {
            change.steps.iter().for_each(|s| println!("done: {s}"));
        }
        change.notes.iter().for_each(|n| println!("note: {n}"));
        change
            .unavailable
            .iter()
            .for_each(|u| println!("not served: {}: {}", u.share, u.reason));
        Ok(())
    }

    /// `import`: each share of the admin's configuration, adopted (with its properties) or
    /// kept unmanaged (with the reason), then the change.
    pub fn import(self, import: &smbgw_gateway::Import) -> Result<()> {
        if self.json(import)? {
            import.change.warnings.iter().for_each(|w| eprintln!("warning: {w}"));
            return Ok(());
        }
        let verb = if import.change.dry_run {
            "would adopt"
        } else {
            "adopted"
        };
        for share in &import.adopted {
            let props = share
                .properties
                .iter()
                .flatten()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>();
            println!("{verb}: {} ({}): {}", share.name, share.source, props.join(" "));
        }
        for share in &import.kept {
            println!(
                "unmanaged: {} ({}): {}",
                share.name,
                share.source,
                share.reason.as_deref().unwrap_or_default()
            );
        }
        self.change(&import.change)
    }

    pub fn config_history(self, versions: &[ConfigVersion]) -> Result<()> {
        if self.json(&versions)? {
            return Ok(());
        }
        let rows: Vec<[String; 3]> = versions
            .iter()
            .map(|v| {
                [
                    v.id.clone(),
                    if v.current { "current".into() } else { "-".into() },
                    v.shares.as_ref().map_or("(unreadable)".into(), |s| {
                        if s.is_empty() {
                            "(no share)".into()
                        } else {
                            s.join(",")
                        }
                    }),
                ]
            })
            .collect();
        table(&["VERSION", "STATE", "SHARES"], &rows);
        Ok(())
    }

    pub fn shares(self, shares: &[Digested<Share>]) -> Result<()> {
        if self.json(&shares)? {
            return Ok(());
        }
        let rows: Vec<[String; 6]> = shares
            .iter()
            .map(|s| {
                let access = if s.guest {
                    "guest".to_string()
                } else {
                    let list = s.valid_users(true);
                    if list.is_empty() {
                        "all users".into()
                    } else {
                        list.join(",")
                    }
                };
                [
                    s.name.clone(),
                    s.mode.as_str().into(),
                    s.path.clone(),
                    s.quota.map(format_size).unwrap_or_else(|| "-".into()),
                    access,
                    flags(s),
                ]
            })
            .collect();
        table(&["NAME", "MODE", "PATH", "QUOTA", "ACCESS", "FLAGS"], &rows);
        Ok(())
    }

    /// A share, with the home folders of a home share (kept ones of users no longer served too).
    pub fn share(self, shown: &Shown) -> Result<()> {
        if self.json(shown)? {
            return Ok(());
        }
        let (share, homes) = (&shown.share, &shown.homes);
        println!("name: {}", share.name);
        for p in smbgw_core::schema::SHARE_PROPERTIES {
            let value = share
                .to_properties()
                .into_iter()
                .find(|(k, _)| *k == p.name)
                .map(|(_, v)| v);
            let shown = value.or_else(|| p.default.map(String::from)).unwrap_or_default();
            if !shown.is_empty() {
                println!("{}: {shown}", p.name);
            }
        }
        for home in homes {
            let limit = home
                .limit
                .map(|l| format!(", limit {}", format_size(l)))
                .unwrap_or_default();
            let kept = if home.served {
                ""
            } else {
                ", no longer a user of the share: kept for its data"
            };
            println!("home: {} (uid {}{limit}{kept})", home.path, home.uid);
        }
        // what 'update --digest' and 'delete --digest' take
        println!("digest: {}", share.digest);
        Ok(())
    }

    pub fn status(self, status: &NodeStatus) -> Result<()> {
        if self.json(status)? {
            return Ok(());
        }
        let smbd = &status.smbd;
        match (smbd.running, smbd.pid, &smbd.listen) {
            (true, Some(pid), Some(listen)) => {
                println!("smbd: running (pid {pid}) on {listen}, managed by {}", smbd.managed_by)
            }
            (true, Some(pid), None) => println!("smbd: running (pid {pid}), managed by {}", smbd.managed_by),
            _ => println!("smbd: not running"),
        }
        println!("config: {}", status.config);
        println!("smb.conf: {}", status.smb_conf);
        let rows: Vec<[String; 4]> = status
            .shares
            .iter()
            .map(|s| [s.name.clone(), s.state.into(), s.path.clone(), s.problems.join("; ")])
            .collect();
        if !rows.is_empty() {
            println!();
            table(&["NAME", "STATE", "PATH", "PROBLEMS"], &rows);
        }
        status.recovery.iter().for_each(|r| println!("recovery: {r}"));
        Ok(())
    }

    pub fn quota_status(self, q: &QuotaStatus) -> Result<()> {
        if self.json(q)? {
            return Ok(());
        }
        println!("share: {}", q.name);
        println!("path: {}", q.path);
        println!("backend: {}", q.backend);
        println!("limit: {}", q.limit.map_or("none".into(), format_size));
        println!("used: {} ({} bytes)", format_size(q.used), q.used);
        if let (Some(free), Some(percent)) = (q.free, q.percent) {
            println!("free: {}", format_size(free));
            println!("percent: {percent:.1}%");
        }
        Ok(())
    }

    pub fn quota_history(self, h: &QuotaHistory) -> Result<()> {
        if self.json(h)? {
            return Ok(());
        }
        let rows: Vec<[String; 3]> = h
            .samples
            .iter()
            .map(|s| {
                [
                    s.time.to_string(),
                    format_size(s.used),
                    s.limit.map_or("-".into(), format_size),
                ]
            })
            .collect();
        table(&["TIME", "USED", "LIMIT"], &rows);
        match (h.growth_per_day, h.days_until_full) {
            (Some(g), Some(d)) => println!("growth: {}/day, full in {d:.1} days", format_size(g.max(0.0) as u64)),
            (Some(g), None) => println!("growth: {:.0} bytes/day, not filling up", g),
            _ => println!("not enough samples for a trend yet"),
        }
        Ok(())
    }

    pub fn samples(self, reports: &[SampleReport]) -> Result<()> {
        if self.json(&reports)? {
            return Ok(());
        }
        for r in reports {
            let limit = r.limit.map_or("no limit".into(), format_size);
            println!("{}: {} of {limit}", r.name, format_size(r.used));
            if let Some(alert) = &r.alert {
                println!("  alert: {}", alert.message);
            }
        }
        Ok(())
    }

    pub fn storages(self, storages: &[StorageStatus]) -> Result<()> {
        if self.json(&storages)? {
            return Ok(());
        }
        let rows: Vec<[String; 6]> = storages
            .iter()
            .map(|s| {
                [
                    s.storage.clone(),
                    s.kind.clone(),
                    s.path.clone(),
                    s.avail.map_or("-".into(), format_size),
                    s.total.map_or("-".into(), format_size),
                    s.reason.clone().unwrap_or_else(|| "active".into()),
                ]
            })
            .collect();
        table(&["STORAGE", "TYPE", "PATH", "AVAIL", "TOTAL", "STATE"], &rows);
        Ok(())
    }

    pub fn io_history(self, h: &IoHistory) -> Result<()> {
        if self.json(h)? {
            return Ok(());
        }
        let rows: Vec<[String; 4]> = h
            .points
            .iter()
            .map(|p| {
                [
                    p.time.to_string(),
                    format!("{}/s", format_size(p.read_bytes_per_second as u64)),
                    format!("{}/s", format_size(p.write_bytes_per_second as u64)),
                    format!("{:.1}", p.requests_per_second),
                ]
            })
            .collect();
        if rows.is_empty() {
            println!(
                "{} sample(s): not enough for a figure; the daemon records them with 'smb-profiling: count' in daemon.conf",
                h.samples
            );
        } else {
            table(&["TIME", "READ", "WRITE", "REQUESTS/S"], &rows);
        }
        Ok(())
    }

    /// The sessions, then per share its connections, open files and locks.
    pub fn sessions(self, r: &Sessions) -> Result<()> {
        if self.json(r)? {
            return Ok(());
        }
        if !r.smbd_running {
            println!("smbd: not running");
        }
        let protection = |p: &smbgw_gateway::Protection| match p.degree.as_str() {
            "" | "none" => "-".to_string(),
            degree => format!("{} ({degree})", p.cipher),
        };
        let rows: Vec<[String; 9]> = r
            .sessions
            .iter()
            .map(|s| {
                let x = &s.session;
                [
                    x.id.clone(),
                    x.user.clone(),
                    x.client.clone(),
                    x.protocol.clone(),
                    protection(&x.encryption),
                    protection(&x.signing),
                    if s.shares.is_empty() {
                        "-".into()
                    } else {
                        s.shares.join(",")
                    },
                    s.open_files.to_string(),
                    s.locks.to_string(),
                ]
            })
            .collect();
        if rows.is_empty() {
            println!("no sessions");
        } else {
            table(
                &[
                    "SESSION",
                    "USER",
                    "CLIENT",
                    "PROTOCOL",
                    "ENCRYPTION",
                    "SIGNING",
                    "SHARES",
                    "OPEN",
                    "LOCKS",
                ],
                &rows,
            );
        }
        for share in r
            .shares
            .iter()
            .filter(|a| !a.open_files.is_empty() || !a.locks.is_empty())
        {
            println!();
            println!("{} ({}):", share.name, share.path);
            let files: Vec<[String; 5]> = share
                .open_files
                .iter()
                .map(|f| {
                    [
                        f.session.clone().unwrap_or_else(|| "-".into()),
                        f.user.clone(),
                        f.access.clone(),
                        if f.caching.is_empty() {
                            "-".into()
                        } else {
                            f.caching.clone()
                        },
                        f.file.clone(),
                    ]
                })
                .collect();
            if !files.is_empty() {
                table(&["SESSION", "USER", "ACCESS", "CACHING", "OPEN FILE"], &files);
            }
            let locks: Vec<[String; 5]> = share
                .locks
                .iter()
                .map(|l| {
                    [
                        l.session.clone().unwrap_or_else(|| "-".into()),
                        l.user.clone(),
                        l.kind.clone(),
                        format!("{}+{}", l.start, l.size),
                        l.file.clone(),
                    ]
                })
                .collect();
            if !locks.is_empty() {
                table(&["SESSION", "USER", "TYPE", "RANGE", "LOCKED FILE"], &locks);
            }
        }
        r.notes.iter().for_each(|n| println!("note: {n}"));
        Ok(())
    }

    pub fn snapshots(self, list: &smbgw_gateway::SnapshotList) -> Result<()> {
        if self.json(&list)? {
            return Ok(());
        }
        let rows: Vec<[String; 4]> = list
            .snapshots
            .iter()
            .map(|e| {
                let (y, mo, d, h, mi, s) = smbgw_gateway::utc(e.snapshot.time);
                [
                    e.snapshot.name.clone(),
                    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02} UTC"),
                    e.kind.map_or("no (not made by the gateway)".into(), |k| {
                        format!("yes ({})", k.as_str())
                    }),
                    e.snapshot.size.map_or("-".into(), smbgw_core::size::format_size),
                ]
            })
            .collect();
        table(&["SNAPSHOT", "TIME", "OURS", "SIZE"], &rows);
        next_run_line("snapshot", list.next_run);
        Ok(())
    }

    pub fn backup_made(self, made: &smbgw_gateway::BackupMade) -> Result<()> {
        if self.json(made)? {
            return Ok(());
        }
        self.change(&made.change)?;
        match made.change.dry_run {
            true => println!("backup (dry run): {} on {}", made.snapshot, made.storage),
            false => println!("backup: {} on {}", made.snapshot, made.storage),
        }
        Ok(())
    }

    pub fn backups(self, list: &smbgw_gateway::BackupList) -> Result<()> {
        if self.json(list)? {
            return Ok(());
        }
        let rows: Vec<[String; 4]> = list
            .storages
            .iter()
            .flat_map(|s| {
                s.backups.iter().map(|b| {
                    [
                        s.storage.clone(),
                        b.time.clone(),
                        b.snapshot.size.map_or("-".into(), smbgw_core::size::format_size),
                        if b.snapshot.protected { "yes" } else { "no" }.into(),
                    ]
                })
            })
            .collect();
        println!("backup group: host/{}", list.backup_id);
        table(&["STORAGE", "SNAPSHOT", "SIZE", "PROTECTED"], &rows);
        next_run_line("backup", list.next_run);
        list.storages
            .iter()
            .filter_map(|s| s.error.as_ref().map(|e| (s, e)))
            .for_each(|(s, e)| println!("note: storage '{}' could not be read: {e}", s.storage));
        Ok(())
    }

    pub fn users(self, users: &[SambaUser]) -> Result<()> {
        if self.json(&users)? {
            return Ok(());
        }
        let rows: Vec<[String; 2]> = users.iter().map(|u| [u.name.clone(), u.uid.to_string()]).collect();
        table(&["USER", "UID"], &rows);
        Ok(())
    }
}

fn flags(s: &Share) -> String {
    let flags: Vec<&str> = [
        (s.read_only, "ro"),
        (!s.browseable, "hidden"),
        (s.encrypt, "encrypt"),
        (s.recycle_bin, "recycle"),
        (s.shadow_copies, "shadow"),
        (s.macos, "macos"),
        (s.audit, "audit"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, f)| *f)
    .collect();
    if flags.is_empty() {
        "-".into()
    } else {
        flags.join(",")
    }
}

fn table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) {
    let mut widths = header.map(str::len);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let text: Vec<String> = cells.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", text.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

fn print_checks(checks: &[Check]) {
    for c in checks {
        println!("[{}] {}: {}", if c.ok { " ok " } else { "FAIL" }, c.name, c.detail);
        if let Some(fix) = &c.fix {
            println!("       fix: {fix}");
        }
    }
}

impl Format {
    pub fn ad_test(self, test: &AdTest) -> Result<()> {
        if self.json(test)? {
            return Ok(());
        }
        println!("Active Directory preflight for {}:", test.domain);
        print_checks(&test.checks);
        Ok(())
    }

    pub fn ad_status(self, status: &AdStatus) -> Result<()> {
        if self.json(status)? {
            return Ok(());
        }
        let Some(state) = &status.state else {
            println!("not joined to a domain (local users only)");
            return Ok(());
        };
        let join = &state.join;
        let time = |t: Option<u64>| t.map_or("never".to_string(), |t| format!("{t} (unix time)"));
        println!(
            "domain:          {} (realm {}, workgroup {})",
            join.domain, join.realm, join.workgroup
        );
        println!("this node:       {}", join.netbios_name);
        println!(
            "state:           {} since {}",
            if state.online {
                "online"
            } else {
                "OFFLINE: fallback shares serve local users"
            },
            state.since
        );
        if let Some(dc) = status.dc_in_use.as_ref().or(join.dc.as_ref()) {
            println!("domain controller: {dc}");
        }
        println!(
            "winbind:         {}",
            if status.winbind_running {
                "running"
            } else {
                "not running"
            }
        );
        println!(
            "keytab:          {} ({})",
            status.keytab.as_deref().unwrap_or("-"),
            if status.keytab_present { "present" } else { "missing" }
        );
        if let Some(skew) = status.clock_skew {
            println!("clock skew:      {skew} s");
        }
        println!("last check:      {}", time(state.last_check));
        println!("last success:    {}", time(state.last_success));
        if let Some(e) = &state.last_error {
            println!("last error:      {e}");
        }
        print_checks(&status.checks);
        if let Some(t) = &status.transition {
            println!("changed: {t}");
        }
        Ok(())
    }
}

impl Format {
    pub fn ha_status(self, status: &smbgw_gateway::HaStatus) -> Result<()> {
        if self.json(status)? {
            return Ok(());
        }
        println!("cluster: {}", if status.healthy { "healthy" } else { "DEGRADED" });
        let leader = status
            .leader
            .map_or("none (election running)".to_string(), |l| l.to_string());
        println!("leader (cluster lock holder): {leader}");
        println!(
            "cluster lock: {}",
            status.cluster_lock.configured.as_deref().unwrap_or("none")
        );
        println!("{:<5} {:<16} {:<20} STATE", "PNN", "NODE", "ADDRESS");
        for n in &status.nodes {
            let me = if n.this_node { " (this node)" } else { "" };
            println!(
                "{:<5} {:<16} {:<20} {}{me}",
                n.pnn,
                n.name.as_deref().unwrap_or("-"),
                n.address.to_string(),
                n.state
            );
        }
        println!("{:<20} HOLDER", "VIP");
        for v in &status.vips {
            let holder = match (v.holder, &v.holder_name) {
                (Some(p), Some(n)) => format!("{n} (pnn {p})"),
                (Some(p), None) => format!("pnn {p}"),
                _ => "UNASSIGNED".into(),
            };
            println!("{:<20} {holder}", v.address.to_string());
        }
        if !status.shares_not_on_vips.is_empty() {
            println!("shares not served through the VIPs:");
            for s in &status.shares_not_on_vips {
                println!("  {}: {}", s.share, s.reason);
            }
        }
        for f in &status.fencing {
            match &f.error {
                None => println!(
                    "fenced {}: CephFS client(s) {:?} evicted (unix time {})",
                    f.node, f.evicted, f.at
                ),
                Some(e) => println!("FENCING FAILED {} (unix time {}): {e}", f.node, f.at),
            }
        }
        if let Some(digest) = &status.digest {
            println!("digest: {digest}");
        }
        Ok(())
    }
}

/// "next scheduled snapshot: 2026-12-05 09:00:00 UTC" under a list, when a schedule is set.
fn next_run_line(what: &str, next: Option<i64>) {
    if let Some(t) = next {
        let (y, mo, d, h, mi, s) = smbgw_gateway::utc(t);
        println!("next scheduled {what}: {y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02} UTC");
    }
}
