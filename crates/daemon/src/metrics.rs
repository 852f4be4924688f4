//! What the daemon knows about the node, in the Prometheus text exposition format (0.0.4).

use std::collections::BTreeMap;
use std::fmt::Write;

/// A share's figures from the last quota sample.
#[derive(Clone, Debug)]
pub struct ShareFigures {
    pub name: String,
    pub used: u64,
    pub limit: Option<u64>,
    /// The highest alert threshold (percent) the usage is at or above; 0 for none.
    pub alert_level: u8,
    /// False when the share could not be sampled.
    pub ok: bool,
}

#[derive(Clone, Debug)]
pub struct Health {
    pub ok: bool,
    pub message: String,
}

#[derive(Default)]
pub struct Metrics {
    /// Configured shares, from the last read of the share config.
    pub shares: Option<usize>,
    pub quota: Vec<ShareFigures>,
    pub health: BTreeMap<String, Health>,
    pub samples_total: u64,
    pub sample_failures_total: u64,
    /// Samples still running when the timeout passed (a hung external command).
    pub sample_timeouts_total: u64,
    pub last_sample_seconds: Option<f64>,
    pub last_sample_time: Option<u64>,
    pub alerts_total: u64,
    pub notifications_failed_total: u64,
    /// CTDB failovers seen on this node; counted once the HA health check reports them.
    pub failover_events_total: u64,
    pub reloads_total: u64,
    /// False while the last reload found a broken configuration (the previous one is in use).
    pub reload_failed: bool,
    /// Latency of the operations the daemon runs: (count, sum of seconds).
    pub operations: BTreeMap<String, (u64, f64)>,
    /// smbd's profiling counters at the last sample (`smb-profiling: count`, smbd running).
    pub smb: Option<smbgw_gateway::Profile>,
}

impl Metrics {
    pub fn observe(&mut self, operation: &str, seconds: f64) {
        if !self.operations.contains_key(operation) {
            self.operations.insert(operation.to_string(), (0, 0.0));
        }
        let entry = self.operations.get_mut(operation).unwrap();
        entry.0 += 1;
        entry.1 += seconds;
    }

    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let mut f = Families(&mut out);

        f.family("smbgw_build_info", "gauge", "Version of pve-smbgatewayd.");
        f.sample("smbgw_build_info", &[("version", env!("CARGO_PKG_VERSION"))], 1);

        f.family("smbgw_shares", "gauge", "Shares in the share config.");
        if let Some(n) = self.shares {
            f.sample("smbgw_shares", &[], n);
        }

        f.family(
            "smbgw_share_used_bytes",
            "gauge",
            "Bytes a quota share uses, at the last sample.",
        );
        for s in self.quota.iter().filter(|s| s.ok) {
            f.sample("smbgw_share_used_bytes", &[("share", &s.name)], s.used);
        }
        f.family("smbgw_share_limit_bytes", "gauge", "Quota of a share in bytes.");
        for s in self.quota.iter().filter(|s| s.ok) {
            if let Some(limit) = s.limit {
                f.sample("smbgw_share_limit_bytes", &[("share", &s.name)], limit);
            }
        }
        f.family(
            "smbgw_share_alert_level",
            "gauge",
            "Highest alert threshold (percent) the share's usage has reached, 0 for none.",
        );
        for s in self.quota.iter().filter(|s| s.ok) {
            f.sample("smbgw_share_alert_level", &[("share", &s.name)], s.alert_level);
        }
        f.family(
            "smbgw_share_sample_ok",
            "gauge",
            "1 if the share's usage could be read at the last sample.",
        );
        for s in &self.quota {
            f.sample("smbgw_share_sample_ok", &[("share", &s.name)], u8::from(s.ok));
        }

        f.family("smbgw_health", "gauge", "1 if the health check passed at its last run.");
        for (check, health) in &self.health {
            f.sample("smbgw_health", &[("check", check)], u8::from(health.ok));
        }

        f.family("smbgw_samples_total", "counter", "Quota sampling rounds completed.");
        f.sample("smbgw_samples_total", &[], self.samples_total);
        f.family(
            "smbgw_sample_failures_total",
            "counter",
            "Quota sampling rounds that failed.",
        );
        f.sample("smbgw_sample_failures_total", &[], self.sample_failures_total);
        f.family(
            "smbgw_sample_timeouts_total",
            "counter",
            "Quota sampling rounds still running after the timeout.",
        );
        f.sample("smbgw_sample_timeouts_total", &[], self.sample_timeouts_total);
        f.family(
            "smbgw_last_sample_duration_seconds",
            "gauge",
            "Duration of the last quota sampling round.",
        );
        if let Some(s) = self.last_sample_seconds {
            f.sample("smbgw_last_sample_duration_seconds", &[], s);
        }
        f.family(
            "smbgw_last_sample_timestamp_seconds",
            "gauge",
            "Unix time the last quota sampling round completed.",
        );
        if let Some(t) = self.last_sample_time {
            f.sample("smbgw_last_sample_timestamp_seconds", &[], t);
        }

        f.family("smbgw_alerts_total", "counter", "Quota threshold alerts raised.");
        f.sample("smbgw_alerts_total", &[], self.alerts_total);
        f.family(
            "smbgw_notifications_failed_total",
            "counter",
            "Alerts the PVE notification system did not take.",
        );
        f.sample("smbgw_notifications_failed_total", &[], self.notifications_failed_total);
        f.family(
            "smbgw_failover_events_total",
            "counter",
            "CTDB failover events seen on this node.",
        );
        f.sample("smbgw_failover_events_total", &[], self.failover_events_total);
        f.family(
            "smbgw_config_reloads_total",
            "counter",
            "Configuration reloads (SIGHUP).",
        );
        f.sample("smbgw_config_reloads_total", &[], self.reloads_total);
        f.family(
            "smbgw_config_last_reload_successful",
            "gauge",
            "0 if the last reload refused the configuration file (the previous one stays in use).",
        );
        f.sample(
            "smbgw_config_last_reload_successful",
            &[],
            u8::from(!self.reload_failed),
        );

        f.family(
            "smbgw_operation_duration_seconds",
            "summary",
            "Latency of the daemon's operations.",
        );
        for (op, (count, sum)) in &self.operations {
            f.sample("smbgw_operation_duration_seconds_sum", &[("operation", op)], sum);
            f.sample("smbgw_operation_duration_seconds_count", &[("operation", op)], count);
        }

        // smbd's own counters, for the whole server (Samba 4.17 has none per share); they
        // start at zero when smbd starts
        if let Some(p) = &self.smb {
            f.family("smbgw_smb_requests_total", "counter", "SMB requests smbd processed.");
            f.sample("smbgw_smb_requests_total", &[], p.requests);
            f.family(
                "smbgw_smb_connections_total",
                "counter",
                "Client connections smbd accepted.",
            );
            f.sample("smbgw_smb_connections_total", &[], p.connects);
            f.family(
                "smbgw_smb_read_bytes_total",
                "counter",
                "Bytes of SMB2 READ responses smbd sent to clients.",
            );
            f.sample("smbgw_smb_read_bytes_total", &[], p.read_bytes);
            f.family(
                "smbgw_smb_write_bytes_total",
                "counter",
                "Bytes of SMB2 WRITE requests smbd received from clients.",
            );
            f.sample("smbgw_smb_write_bytes_total", &[], p.write_bytes);
            f.family(
                "smbgw_smb_operations_total",
                "counter",
                "SMB2 operations smbd ran, by operation.",
            );
            for (op, count) in &p.operations {
                f.sample("smbgw_smb_operations_total", &[("operation", op)], count);
            }
        }

        if let Some((rss, cpu)) = process_figures() {
            f.family(
                "process_resident_memory_bytes",
                "gauge",
                "Resident memory size in bytes.",
            );
            f.sample("process_resident_memory_bytes", &[], rss);
            f.family(
                "process_cpu_seconds_total",
                "counter",
                "User and system CPU time spent in seconds.",
            );
            f.sample("process_cpu_seconds_total", &[], cpu);
        }
        out
    }
}

struct Families<'a>(&'a mut String);

impl Families<'_> {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    /// Values are integers or finite floats (durations), which Display writes as the format wants.
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (key, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{key}=\"{}\"", escape_label(value));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }
}

/// Label values may hold anything; the format knows three escapes.
fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// (resident bytes, CPU seconds) of this process, from /proc.
pub fn process_figures() -> Option<(u64, f64)> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions
    let page_size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64;
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // fields after the command name, which may contain spaces: state is field 3, utime 14, stime 15
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((pages * page_size, (utime + stime) / ticks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn renders_families_and_samples() {
        let mut m = Metrics {
            shares: Some(2),
            ..Default::default()
        };
        m.quota.push(ShareFigures {
            name: "data".into(),
            used: 5,
            limit: Some(10),
            alert_level: 50,
            ok: true,
        });
        m.observe("quota_sample", 0.25);
        let text = m.render();
        assert!(text.contains("\nsmbgw_shares 2\n"), "{text}");
        assert!(
            text.contains("\nsmbgw_share_limit_bytes{share=\"data\"} 10\n"),
            "{text}"
        );
        assert!(
            text.contains("\nsmbgw_share_alert_level{share=\"data\"} 50\n"),
            "{text}"
        );
        assert!(
            text.contains("\nsmbgw_operation_duration_seconds_sum{operation=\"quota_sample\"} 0.25\n"),
            "{text}"
        );
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn process_figures_are_read() {
        let (rss, cpu) = process_figures().unwrap();
        assert!(rss > 0 && cpu >= 0.0);
    }
}
