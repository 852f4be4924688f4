//! The daemon for real: the built `pve-smbgatewayd` in sandbox mode, sampling btrfs quota
//! shares on a loop device (made with the real CLI), alerts through a stand-in of PVE::Notify
//! (the real perl glue runs; only the module is ours), metrics over HTTP read by a strict
//! parser, SIGHUP and SIGTERM. Needs root, like the CLI's integration tests.

#[path = "common/notify.rs"]
mod notify;
use notify::NOTIFY_STANDIN;

#[path = "../../cli/tests/common/mod.rs"]
mod common;
mod prom;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::{Btrfs, Sandbox};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use prom::Samples;

const DAEMON: &str = env!("CARGO_BIN_EXE_pve-smbgatewayd");
const MIB: usize = 1 << 20;
const ALICE: (&str, &str) = ("alice", "Alice-pw1");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The daemon as a child in its own process group: whatever it started goes with it.
struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn start(sb: &Sandbox, env: &[(&str, String)], args: &[&str]) -> Daemon {
        let log = sb.dir.path().join(format!("daemon.{}.log", free_port()));
        let child = Command::new(DAEMON)
            .args(args)
            .env("PVE_SMBGW_ROOT", &sb.root)
            .env("PVE_SMBGW_SMB_PORT", sb.port.to_string())
            .env("PVE_SMBGW_BIN", common::BIN)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .process_group(0)
            .spawn()
            .unwrap();
        Daemon { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn signal(&self, signal: Signal) {
        nix::sys::signal::kill(Pid::from_raw(self.child.id() as i32), signal).unwrap();
    }

    fn exited(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Poll the metrics on `port` until `done` holds (30 s at most).
    fn wait_for(&mut self, port: u16, what: &str, done: impl Fn(&Samples) -> bool) -> Samples {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut last = Err(String::from("never answered"));
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("the daemon exited ({status}) waiting for {what}:\n{}", self.log());
            }
            last = metrics(port);
            if let Ok(samples) = &last {
                if done(samples) {
                    return last.unwrap();
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "timed out waiting for {what}; last metrics: {last:?}\nlog:\n{}",
            self.log()
        );
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = killpg(Pid::from_raw(self.child.id() as i32), Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

/// One HTTP request: (status line, headers, body).
fn http(port: u16, request: &str) -> std::io::Result<(String, String, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(request.as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    Ok((status.to_string(), headers.to_string(), body.to_string()))
}

/// GET /metrics, checked: status, content type, length, and the strict format.
fn metrics(port: u16) -> Result<Samples, String> {
    let (status, headers, body) =
        http(port, "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n").map_err(|e| e.to_string())?;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(headers.contains("Content-Type: text/plain; version=0.0.4"), "{headers}");
    assert!(
        headers.contains(&format!("Content-Length: {}", body.len())),
        "{headers}"
    );
    Ok(prom::parse(&body).unwrap_or_else(|e| panic!("metrics rejected: {e}\n{body}")))
}

fn value(samples: &Samples, series: &str) -> f64 {
    *samples
        .get(series)
        .unwrap_or_else(|| panic!("no {series} in {samples:#?}"))
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

/// The notifications the stand-in recorded for quota alerts of `share`.
fn notifications(log: &Path, share: &str) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(json)
        .filter(|n| n["fields"]["share"] == share)
        .collect()
}

fn write_config(sb: &Sandbox, text: &str) {
    std::fs::create_dir_all(sb.root.join("config")).unwrap();
    std::fs::write(sb.root.join("config/daemon.conf"), text).unwrap();
}

fn quota_share(sb: &Sandbox, fs: &Btrfs, name: &str, alerts: &str) -> PathBuf {
    let path = fs.mount.join(name);
    sb.ok(&[
        "create",
        name,
        "--path",
        path.to_str().unwrap(),
        "--users",
        ALICE.0,
        "--quota",
        "10M",
        "--quota-alerts",
        alerts,
    ]);
    path
}

/// Samples taken so far.
fn samples_total(m: &Samples) -> f64 {
    m.get("smbgw_samples_total").copied().unwrap_or(0.0)
}

#[test]
fn samples_alerts_once_per_crossing_serves_metrics_reloads_and_stops() {
    assert!(
        Path::new(common::BIN).exists(),
        "{} is missing: run 'cargo build --release' first",
        common::BIN
    );
    let sb = Sandbox::new();
    let fs = Btrfs::new(sb.dir.path(), "256M");
    sb.add_user(ALICE.0, ALICE.1);
    let q = quota_share(&sb, &fs, "q", "50,80");

    let perl = sb.dir.path().join("perl");
    std::fs::create_dir_all(perl.join("PVE")).unwrap();
    std::fs::write(perl.join("PVE/Notify.pm"), NOTIFY_STANDIN).unwrap();
    let notify_log = sb.dir.path().join("notify.jsonl");
    let textfile = sb.dir.path().join("smbgw.prom");
    let port = free_port();
    write_config(
        &sb,
        &format!(
            "# written by the test\nmetrics-listen: 127.0.0.1:{port}\nnotify: pve\nmetrics-textfile: {}\n",
            textfile.display()
        ),
    );
    let mut daemon = Daemon::start(
        &sb,
        &[
            ("PERL5LIB", perl.display().to_string()),
            ("SMBGW_TEST_NOTIFY_LOG", notify_log.display().to_string()),
        ],
        &["--foreground", "--interval", "1"],
    );

    // sampled: figures in the metrics, history on disk, all healthy
    let m = daemon.wait_for(port, "a first sample", |m| samples_total(m) >= 1.0);
    assert_eq!(value(&m, "smbgw_shares"), 1.0);
    assert_eq!(value(&m, "smbgw_share_limit_bytes{share=\"q\"}"), (10 * MIB) as f64);
    assert!(value(&m, "smbgw_share_used_bytes{share=\"q\"}") < MIB as f64);
    assert_eq!(value(&m, "smbgw_share_alert_level{share=\"q\"}"), 0.0);
    assert_eq!(value(&m, "smbgw_share_sample_ok{share=\"q\"}"), 1.0);
    for check in ["quota-sampling", "share-config", "share-paths", "quotas", "state-dir"] {
        let m = daemon.wait_for(port, "health checks", |m| {
            m.contains_key("smbgw_health{check=\"state-dir\"}")
        });
        assert_eq!(value(&m, &format!("smbgw_health{{check=\"{check}\"}}")), 1.0, "{check}");
    }
    assert_eq!(value(&m, "smbgw_failover_events_total"), 0.0);
    assert!(value(&m, "smbgw_operation_duration_seconds_count{operation=\"quota_sample\"}") >= 1.0);
    assert!(value(&m, "process_resident_memory_bytes") > 0.0);
    let history = json(&sb.ok(&["quota-history", "q", "--output-format", "json"]));
    assert!(
        !history["samples"].as_array().unwrap().is_empty(),
        "no history written: {history}"
    );

    // other paths of the endpoint
    let (status, _, body) = http(port, "HEAD /metrics HTTP/1.1\r\n\r\n").unwrap();
    assert_eq!((status.as_str(), body.as_str()), ("HTTP/1.1 200 OK", ""));
    assert_eq!(
        http(port, "GET /nope HTTP/1.1\r\n\r\n").unwrap().0,
        "HTTP/1.1 404 Not Found"
    );
    assert_eq!(
        http(port, "POST /metrics HTTP/1.1\r\n\r\n").unwrap().0,
        "HTTP/1.1 405 Method Not Allowed"
    );
    assert_eq!(http(port, "garbage\r\n\r\n").unwrap().0, "HTTP/1.1 400 Bad Request");

    // each crossing raises one alert, however many samples follow: up past 50 %, past 80 %,
    // back down below 50 %
    struct Step {
        threshold: u64,
        /// A file of this many bytes to write, or `None`: remove them all.
        write: Option<(&'static str, usize)>,
        severity: &'static str,
        text: &'static str,
    }
    let steps = [
        Step {
            threshold: 50,
            write: Some(("six.bin", 6 * MIB)),
            severity: "warning",
            text: "crossed 50%",
        },
        Step {
            threshold: 80,
            write: Some(("more.bin", 5 * MIB / 2)),
            severity: "warning",
            text: "crossed 80%",
        },
        Step {
            threshold: 0,
            write: None,
            severity: "info",
            text: "back below 50%",
        },
    ];
    for (i, step) in steps.into_iter().enumerate() {
        match step.write {
            Some((file, bytes)) => std::fs::write(q.join(file), vec![0x5a; bytes]).unwrap(),
            None => {
                std::fs::remove_file(q.join("six.bin")).unwrap();
                std::fs::remove_file(q.join("more.bin")).unwrap();
            }
        }
        let alerts = (i + 1) as f64;
        let m = daemon.wait_for(port, &format!("the {}% alert", step.threshold), |m| {
            m.get("smbgw_alerts_total") == Some(&alerts)
        });
        assert_eq!(
            value(&m, "smbgw_share_alert_level{share=\"q\"}"),
            step.threshold as f64,
            "{m:#?}"
        );
        // three more samples: still the one alert
        let seen = samples_total(&m);
        let m = daemon.wait_for(port, "three more samples", |m| samples_total(m) >= seen + 3.0);
        assert_eq!(value(&m, "smbgw_alerts_total"), alerts, "an alert was raised twice");
        assert_eq!(value(&m, "smbgw_notifications_failed_total"), 0.0, "{}", daemon.log());

        let sent = notifications(&notify_log, "q");
        assert_eq!(sent.len(), i + 1, "{sent:#?}\n{}", daemon.log());
        let n = &sent[i];
        assert_eq!(n["severity"], step.severity, "{n}");
        assert_eq!(n["template"], "pve-smbgateway");
        assert_eq!(n["fields"]["type"], "pve-smbgateway");
        assert!(n["data"]["message"].as_str().unwrap().contains(step.text), "{n}");
        assert!(n["data"]["title"].as_str().unwrap().contains(step.text), "{n}");
        assert!(
            n["data"]["details"].as_str().unwrap().contains("Share:      q\n"),
            "{n}"
        );
        // every placeholder of the shipped templates is filled
        for template in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/notification-templates")).unwrap() {
            let text = std::fs::read_to_string(template.unwrap().path()).unwrap();
            for key in text.split("{{").skip(1).map(|s| s.split("}}").next().unwrap().trim()) {
                assert!(n["data"].get(key).is_some(), "template placeholder {key} not in {n}");
            }
        }
        let logged = std::fs::read_to_string(sb.root.join("log/alerts.log")).unwrap();
        assert_eq!(logged.lines().count(), i + 1, "{logged}");
        let history: serde_json::Value =
            json(&std::fs::read_to_string(sb.root.join("state/quota-history/q.json")).unwrap());
        assert_eq!(history["alert_level"], step.threshold);
    }
    assert!(daemon.log().contains("back below 50%"), "alerts go to the log too");

    // quotas switched off behind the gateway's back: the check fails and notifies; apply repairs
    common::run("btrfs", &["quota", "disable", fs.mount.to_str().unwrap()]);
    daemon.wait_for(port, "the quotas check to fail", |m| {
        m.get("smbgw_health{check=\"quotas\"}") == Some(&0.0)
    });
    let quota_notices = || -> Vec<serde_json::Value> {
        std::fs::read_to_string(&notify_log)
            .unwrap_or_default()
            .lines()
            .map(json)
            .filter(|n| n["fields"]["check"] == "quotas")
            .collect()
    };
    // delivered in the background
    let deadline = Instant::now() + Duration::from_secs(30);
    while quota_notices().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let sent = quota_notices();
    assert_eq!(sent.len(), 1, "{sent:#?}\n{}", daemon.log());
    assert_eq!(sent[0]["severity"], "error", "{}", sent[0]);
    let message = sent[0]["data"]["message"].as_str().unwrap();
    assert!(message.contains("q (btrfs quotas are disabled"), "{message}");
    sb.ok(&["apply"]);
    daemon.wait_for(port, "the quotas check to recover", |m| {
        m.get("smbgw_health{check=\"quotas\"}") == Some(&1.0)
    });
    assert_eq!(fs.qgroup(&q).1, Some(10 * MIB as u64));

    // SIGHUP: a new endpoint from the reloaded config, the new share listed
    let r = quota_share(&sb, &fs, "r", "90");
    let new_port = free_port();
    write_config(
        &sb,
        &format!(
            "metrics-listen: 127.0.0.1:{new_port}\nnotify: pve\nmetrics-textfile: {}\n",
            textfile.display()
        ),
    );
    assert!(
        metrics(new_port).is_err(),
        "nothing listens on the new port before the reload"
    );
    daemon.signal(Signal::SIGHUP);
    let m = daemon.wait_for(new_port, "the reload", |m| {
        m.get("smbgw_config_reloads_total") == Some(&1.0) && m.get("smbgw_shares") == Some(&2.0)
    });
    assert!(m.contains_key("smbgw_share_limit_bytes{share=\"r\"}"), "{m:#?}");
    assert_eq!(value(&m, "smbgw_config_last_reload_successful"), 1.0);
    assert!(metrics(port).is_err(), "the old endpoint is closed");
    assert!(r.is_dir());

    // a broken config is refused on reload; the daemon goes on with the one it has
    write_config(&sb, "metrics-listen: 0.0.0.0:1\n");
    daemon.signal(Signal::SIGHUP);
    let m = daemon.wait_for(new_port, "the refused reload", |m| {
        m.get("smbgw_config_reloads_total") == Some(&2.0)
    });
    assert_eq!(value(&m, "smbgw_config_last_reload_successful"), 0.0);
    assert!(daemon.log().contains("configuration not reloaded"), "{}", daemon.log());

    // SIGTERM: a clean exit
    daemon.signal(Signal::SIGTERM);
    let status = daemon
        .exited(Duration::from_secs(10))
        .expect("still running 10 s after SIGTERM");
    assert_eq!(status.code(), Some(0), "{}", daemon.log());

    // the textfile holds the last figures, which the history recorded last
    let last = prom::parse(&std::fs::read_to_string(&textfile).unwrap()).unwrap();
    let history = json(&sb.ok(&["quota-history", "q", "--output-format", "json"]));
    let newest = history["samples"]
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|s| s["time"].as_u64())
        .unwrap()
        .clone();
    assert_eq!(
        value(&last, "smbgw_share_used_bytes{share=\"q\"}"),
        newest["used"].as_u64().unwrap() as f64
    );
}

#[test]
fn a_hung_quota_command_never_blocks_the_daemon() {
    let sb = Sandbox::new();
    let fs = Btrfs::new(sb.dir.path(), "256M");
    sb.add_user(ALICE.0, ALICE.1);
    quota_share(&sb, &fs, "h", "80");

    // a btrfs that hangs, first on the daemon's PATH
    let bin = sb.dir.path().join("hang-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("btrfs");
    std::fs::write(&script, "#!/bin/sh\nexec sleep 600\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let port = free_port();
    write_config(
        &sb,
        &format!("metrics-listen: 127.0.0.1:{port}\ntimeout: 2\nnotify: log\n"),
    );
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let mut daemon = Daemon::start(&sb, &[("PATH", path)], &["--interval", "1"]);

    // the loop goes on: the timeout is reported, metrics answer, health checks still run
    let m = daemon.wait_for(port, "the sample timeout", |m| {
        m.get("smbgw_sample_timeouts_total") == Some(&1.0)
    });
    assert_eq!(value(&m, "smbgw_health{check=\"quota-sampling\"}"), 0.0);
    assert_eq!(value(&m, "smbgw_samples_total"), 0.0);
    let checks = value(
        &m,
        "smbgw_operation_duration_seconds_count{operation=\"check:share-config\"}",
    );
    daemon.wait_for(port, "more health checks", |m| {
        m.get("smbgw_operation_duration_seconds_count{operation=\"check:share-config\"}")
            .is_some_and(|&n| n >= checks + 2.0)
    });
    assert!(daemon.log().contains("quota sampling still running past the timeout"));

    let started = Instant::now();
    daemon.signal(Signal::SIGTERM);
    let status = daemon
        .exited(Duration::from_secs(10))
        .expect("SIGTERM waited for the hung command");
    assert_eq!(status.code(), Some(0), "{}", daemon.log());
    assert!(started.elapsed() < Duration::from_secs(6), "{:?}", started.elapsed());
}

#[test]
fn metrics_stay_off_the_network_unless_allowed() {
    let sb = Sandbox::new();
    let port = free_port();
    write_config(&sb, &format!("metrics-listen: 0.0.0.0:{port}\n"));
    let mut daemon = Daemon::start(&sb, &[], &[]);
    let status = daemon.exited(Duration::from_secs(10)).expect("started on 0.0.0.0");
    assert_eq!(status.code(), Some(1));
    assert!(daemon.log().contains("not a loopback address"), "{}", daemon.log());

    // with consent it serves there; --once prints the same metrics and exits
    write_config(
        &sb,
        &format!("metrics-listen: 0.0.0.0:{port}\nmetrics-allow-remote: yes\n"),
    );
    let mut daemon = Daemon::start(&sb, &[], &[]);
    daemon.wait_for(port, "the endpoint", |m| m.contains_key("smbgw_shares"));
    drop(daemon);

    let out = Command::new(DAEMON)
        .arg("--once")
        .env("PVE_SMBGW_ROOT", &sb.root)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let m = prom::parse(&String::from_utf8(out.stdout).unwrap()).unwrap();
    assert_eq!(value(&m, "smbgw_shares"), 0.0);
    assert_eq!(value(&m, "smbgw_samples_total"), 1.0);
}

#[test]
fn smbd_counters_are_exported_with_smb_profiling() {
    let sb = Sandbox::new();
    sb.add_user(ALICE.0, ALICE.1);
    let path = sb.data("io");
    sb.ok(&["create", "io", "--path", path.to_str().unwrap(), "--users", ALICE.0]);
    let port = free_port();

    // off (the default): no SMB counters, and smbd does not count
    write_config(&sb, &format!("metrics-listen: 127.0.0.1:{port}\nnotify: log\n"));
    let mut daemon = Daemon::start(&sb, &[], &["--interval", "1"]);
    let m = daemon.wait_for(port, "a sample", |m| samples_total(m) >= 1.0);
    assert!(!m.keys().any(|k| k.starts_with("smbgw_smb_")), "{m:#?}");
    drop(daemon);

    write_config(
        &sb,
        &format!("metrics-listen: 127.0.0.1:{port}\nnotify: log\nsmb-profiling: count\n"),
    );
    let mut daemon = Daemon::start(&sb, &[], &["--interval", "1"]);
    let before = daemon.wait_for(port, "the SMB counters", |m| m.contains_key("smbgw_smb_requests_total"));
    let written = |m: &Samples| m.get("smbgw_smb_write_bytes_total").copied().unwrap_or(0.0);
    let read = |m: &Samples| m.get("smbgw_smb_read_bytes_total").copied().unwrap_or(0.0);
    let writes = |m: &Samples| {
        m.get("smbgw_smb_operations_total{operation=\"write\"}")
            .copied()
            .unwrap_or(0.0)
    };

    // 3 MiB written and read back by a client: the counters grow by at least that
    let local = sb.write_local("three.bin", &vec![7u8; 3 * MIB]);
    let got = sb.dir.path().join("three.back");
    sb.smbclient(
        "io",
        Some(ALICE),
        &format!("put {} three.bin; get three.bin {}", local.display(), got.display()),
    )
    .unwrap();
    assert_eq!(std::fs::read(&got).unwrap().len(), 3 * MIB);
    let w0 = written(&before);
    let r0 = read(&before);
    let n0 = writes(&before);
    let after = daemon.wait_for(port, "the transfer in the counters", |m| {
        written(m) >= w0 + (3 * MIB) as f64 && read(m) >= r0 + (3 * MIB) as f64
    });
    assert!(writes(&after) > n0, "{after:#?}");
    assert!(value(&after, "smbgw_smb_requests_total") > value(&before, "smbgw_smb_requests_total"));
    assert!(value(&after, "smbgw_smb_connections_total") >= 1.0);

    // the same samples are the throughput history: the rates over its intervals add up to
    // the bytes the client moved (the first sample came before the transfer, the last after)
    let history = json(&sb.ok(&["io-history", "--output-format", "json"]));
    let points = history["points"].as_array().unwrap();
    let total = |key: &str| -> f64 {
        points
            .iter()
            .map(|p| p[key].as_f64().unwrap() * p["seconds"].as_f64().unwrap())
            .sum()
    };
    assert!(total("write_bytes_per_second") >= (3 * MIB) as f64, "{history}");
    assert!(total("read_bytes_per_second") >= (3 * MIB) as f64, "{history}");
    for hours in ["0", "49"] {
        let run = sb.run(&["io-history", "--hours", hours, "--output-format", "json"]);
        assert_eq!(run.code, 1, "--hours {hours}: {}{}", run.stdout, run.stderr);
        assert_eq!(json(&run.stderr)["field"], "hours");
    }
}
