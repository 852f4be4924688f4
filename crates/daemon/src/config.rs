//! The daemon's node-local configuration: `/etc/pve-smbgateway/daemon.conf` on a node,
//! `<root>/config/daemon.conf` in sandbox mode. Lines of `key: value`, `#` starts a comment.
//! A missing file means the defaults; an unknown key is an error (a typo must not silently
//! leave metrics on the network or alerts off).
//!
//! ```text
//! sample-interval: 300            # seconds between quota samples
//! health-interval: 60             # seconds between health checks
//! timeout: 120                    # a sample or health round taking longer is reported as hung
//! metrics-listen: 127.0.0.1:9739  # "off" disables the HTTP endpoint
//! metrics-allow-remote: no        # yes allows a non-loopback metrics-listen address
//! metrics-textfile: /var/lib/prometheus/node-exporter/pve-smbgateway.prom
//! notify: auto                    # auto | pve | log
//! smb-profiling: off              # count: turn on smbd's profiling counters and export them
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use smbgw_core::{bail_input, Error, Layout, Result};

pub const HOST_CONFIG: &str = "/etc/pve-smbgateway/daemon.conf";
/// Not in use by anything on a PVE node (pveproxy 8006, spiceproxy 3128, pvedaemon 85).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9739";

/// How alerts leave the node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notify {
    /// The PVE notification system where it is installed, else the journal only.
    Auto,
    /// Always through PVE::Notify (fails loudly where it is missing).
    Pve,
    /// The journal (or stderr) only.
    Log,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub sample_interval: Duration,
    pub health_interval: Duration,
    pub timeout: Duration,
    pub metrics_listen: Option<SocketAddr>,
    pub metrics_allow_remote: bool,
    pub metrics_textfile: Option<PathBuf>,
    pub notify: Notify,
    /// Turn on smbd's profiling counters (`smbcontrol smbd profile count`) and export them
    /// with the metrics. Off by default: counting costs smbd a little on every request.
    pub smb_profiling: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            sample_interval: Duration::from_secs(300),
            health_interval: Duration::from_secs(60),
            timeout: Duration::from_secs(120),
            metrics_listen: Some(DEFAULT_LISTEN.parse().unwrap()),
            metrics_allow_remote: false,
            metrics_textfile: None,
            notify: Notify::Auto,
            smb_profiling: false,
        }
    }
}

/// The config file of this node or sandbox.
pub fn default_path(layout: &Layout) -> PathBuf {
    match &layout.sandbox {
        Some(sandbox) => sandbox.root.join("config").join("daemon.conf"),
        None => HOST_CONFIG.into(),
    }
}

impl Config {
    pub fn load(path: &Path) -> Result<Config> {
        match std::fs::read_to_string(path) {
            Ok(text) => Config::parse(&text).map_err(|e| e.context(path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(Error::io("reading", path, e)),
        }
    }

    /// A mistake is an input error naming its line and, as its field, its key.
    pub fn parse(text: &str) -> Result<Config> {
        let mut config = Config::default();
        let mut seen = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.split_once('#').map_or(line, |(before, _)| before).trim();
            if line.is_empty() {
                continue;
            }
            let line_error = |msg: String| Error::input(format!("line {}: {msg}", number + 1));
            let (key, value) = line
                .split_once(':')
                .map(|(k, v)| (k.trim(), v.trim()))
                .ok_or_else(|| line_error(format!("expected 'key: value', found {line:?}")))?;
            let at = |msg: String| line_error(msg).field(key);
            let value_error = |e: Error| at(e.message);
            if seen.contains(&key) {
                return Err(at(format!("'{key}' is set twice")));
            }
            seen.push(key);
            match key {
                "sample-interval" => config.sample_interval = seconds(value).map_err(value_error)?,
                "health-interval" => config.health_interval = seconds(value).map_err(value_error)?,
                "timeout" => config.timeout = seconds(value).map_err(value_error)?,
                "metrics-listen" => {
                    config.metrics_listen = match value {
                        "off" => None,
                        v => Some(
                            v.parse()
                                .map_err(|_| at(format!("{v:?} is not an address:port or 'off'")))?,
                        ),
                    }
                }
                "metrics-allow-remote" => config.metrics_allow_remote = boolean(value).map_err(value_error)?,
                "metrics-textfile" => {
                    if !value.starts_with('/') {
                        return Err(at(format!("metrics-textfile {value:?} must be an absolute path")));
                    }
                    config.metrics_textfile = Some(value.into());
                }
                "notify" => {
                    config.notify = match value {
                        "auto" => Notify::Auto,
                        "pve" => Notify::Pve,
                        "log" => Notify::Log,
                        v => return Err(at(format!("notify {v:?} is not one of auto, pve, log"))),
                    }
                }
                "smb-profiling" => {
                    config.smb_profiling = match value {
                        "off" => false,
                        "count" => true,
                        v => return Err(at(format!("smb-profiling {v:?} is not one of off, count"))),
                    }
                }
                k => return Err(at(format!("unknown key '{k}'"))),
            }
        }
        if let Some(addr) = config.metrics_listen {
            if !addr.ip().is_loopback() && !config.metrics_allow_remote {
                return Err(Error::input(format!(
                    "refusing to serve metrics on {addr}, which is not a loopback address; \
                     set 'metrics-allow-remote: yes' to put them on the network"
                ))
                .field("metrics-listen"));
            }
        }
        Ok(config)
    }
}

fn seconds(value: &str) -> Result<Duration> {
    match value.parse::<u64>() {
        Ok(s) if (1..=86_400).contains(&s) => Ok(Duration::from_secs(s)),
        _ => bail_input!("{value:?} is not a number of seconds from 1 to 86400"),
    }
}

fn boolean(value: &str) -> Result<bool> {
    match value {
        "yes" | "true" | "1" => Ok(true),
        "no" | "false" | "0" => Ok(false),
        v => bail_input!("{v:?} is not yes or no"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_keep_metrics_on_loopback() {
        let c = Config::parse("# nothing\n\n").unwrap();
        assert_eq!(c, Config::default());
        assert!(c.metrics_listen.unwrap().ip().is_loopback());
    }

    #[test]
    fn values_and_comments() {
        let c = Config::parse(
            "sample-interval: 5 # fast\nmetrics-listen: [::1]:9000\nnotify: log\nmetrics-textfile: /tmp/x.prom\n",
        )
        .unwrap();
        assert_eq!(c.sample_interval, Duration::from_secs(5));
        assert_eq!(c.metrics_listen, Some("[::1]:9000".parse().unwrap()));
        assert_eq!(c.notify, Notify::Log);
        assert_eq!(c.metrics_textfile, Some("/tmp/x.prom".into()));
        assert_eq!(Config::parse("metrics-listen: off").unwrap().metrics_listen, None);
        assert!(Config::parse("smb-profiling: count").unwrap().smb_profiling);
        assert!(!Config::parse("smb-profiling: off").unwrap().smb_profiling);
    }

    #[test]
    fn the_network_needs_consent() {
        let err = Config::parse("metrics-listen: 0.0.0.0:9739").unwrap_err();
        assert!(err.message.contains("not a loopback address"), "{err}");
        assert_eq!(err.field.as_deref(), Some("metrics-listen"));
        let c = Config::parse("metrics-listen: 0.0.0.0:9739\nmetrics-allow-remote: yes").unwrap();
        assert_eq!(c.metrics_listen, Some("0.0.0.0:9739".parse().unwrap()));
    }

    #[test]
    fn mistakes_are_errors() {
        for (text, expect) in [
            ("sample-intervall: 5", "unknown key"),
            ("sample-interval: 0", "from 1 to 86400"),
            ("sample-interval: 5\nsample-interval: 6", "set twice"),
            ("notify: mail", "not one of"),
            ("smb-profiling: on", "not one of off, count"),
            ("metrics-listen: localhost", "not an address"),
            ("metrics-textfile: rel.prom", "absolute"),
            ("just words", "key: value"),
        ] {
            let err = Config::parse(text).unwrap_err();
            assert!(err.message.contains(expect), "{text:?}: {err}");
            assert_eq!(err.kind.exit_code(), 1, "{text:?}");
        }
        let err = Config::parse(
            "notify: log
sample-interval: 0",
        )
        .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("sample-interval"));
        assert!(err.message.starts_with("line 2: "), "{err}");
    }
}
