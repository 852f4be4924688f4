//! `pve-smbgatewayd`: keeps a node healthy. Samples the quotas of the shares into their usage
//! history, raises threshold alerts (PVE notifications, else the journal), runs health checks
//! and exports all of it as Prometheus metrics on a loopback port or as a node-exporter
//! textfile. SIGHUP reloads the configuration, SIGTERM and SIGINT stop it.
//!
//! Like the CLI it works on the node, or on a sandbox directory with `PVE_SMBGW_ROOT`.

mod config;
mod daemon;
mod health;
mod http;
mod log;
mod metrics;
mod notify;
mod snapshots;
mod systemd;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use smbgw_core::{bail_input, Error};
use smbgw_gateway::Gateway;

use crate::config::Config;
use crate::daemon::{Daemon, Options};

const USAGE: &str = "\
Usage: pve-smbgatewayd [OPTIONS]

The pve-smbgateway node daemon: quota sampling, alerts, health checks, Prometheus metrics.
Runs in the foreground (systemd: Type=notify). With PVE_SMBGW_ROOT=DIR it works on that
sandbox directory like the CLI.

Options:
  --config PATH       configuration file (default /etc/pve-smbgateway/daemon.conf,
                      in a sandbox DIR/config/daemon.conf)
  --interval SECS     sample and check every SECS seconds (overrides the configuration)
  --once              one sampling, snapshot scheduling and health round, print the
                      metrics, exit
  --now EPOCH         with --once: the snapshot schedules' clock (unix seconds)
  --bench-cycles N    N sampling rounds back to back, then print memory and CPU figures
  --foreground        accepted for compatibility: the daemon never forks
  --debug             debug logging
  -h, --help          this help
  -V, --version       the version
";

enum Mode {
    Daemon,
    Once,
    Bench(u32),
}

struct Args {
    config: Option<PathBuf>,
    interval: Option<Duration>,
    mode: Mode,
    debug: bool,
    now: Option<i64>,
}

fn parse_args() -> smbgw_core::Result<Option<Args>> {
    let mut args = Args {
        config: None,
        interval: None,
        mode: Mode::Daemon,
        debug: false,
        now: None,
    };
    let mut argv = std::env::args().skip(1);
    while let Some(arg) = argv.next() {
        let mut value = |name: &str| argv.next().ok_or_else(|| Error::input(format!("{name} needs a value")));
        match arg.as_str() {
            "--config" => args.config = Some(value("--config")?.into()),
            "--interval" => {
                let v = value("--interval")?;
                match v.parse::<u64>() {
                    Ok(secs) if (1..=86_400).contains(&secs) => args.interval = Some(Duration::from_secs(secs)),
                    _ => bail_input!("--interval {v:?} is not a number of seconds from 1 to 86400"),
                }
            }
            "--once" => args.mode = Mode::Once,
            "--now" => {
                let v = value("--now")?;
                match v.parse::<i64>() {
                    Ok(t) if t > 0 => args.now = Some(t),
                    _ => bail_input!("--now {v:?} is not a time in seconds since 1970"),
                }
            }
            "--bench-cycles" => {
                let v = value("--bench-cycles")?;
                match v.parse::<u32>() {
                    Ok(n) if n > 0 => args.mode = Mode::Bench(n),
                    _ => bail_input!("--bench-cycles {v:?} is not a positive number"),
                }
            }
            "--foreground" => {}
            "--debug" => args.debug = true,
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(None);
            }
            "-V" | "--version" => {
                println!("pve-smbgatewayd {}", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            other => bail_input!("unknown argument {other:?} (see --help)"),
        }
    }
    if args.now.is_some() && !matches!(args.mode, Mode::Once) {
        bail_input!("--now is for a --once run only");
    }
    Ok(Some(args))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pve-smbgatewayd: {e}");
            return ExitCode::from(1);
        }
    };
    log::init(args.debug);
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, message)) => {
            tracing::error!("{message}");
            ExitCode::from(code)
        }
    }
}

/// Exit codes as the CLI's: 1 bad input (configuration), 2 system error.
fn run(args: Args) -> Result<(), (u8, String)> {
    let gw = Gateway::from_env(None).map_err(|e| (1, e.message))?;
    let config_path = args.config.unwrap_or_else(|| config::default_path(&gw.layout));
    let config = Config::load(&config_path).map_err(|e| (1, e.message))?;
    let options = Options {
        config_path,
        interval: args.interval,
        now: args.now,
    };
    let mut daemon = Daemon::new(gw, config, options);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        // samples, health checks and notifications: a few at a time at most
        .max_blocking_threads(8)
        .build()
        .map_err(|e| (2, format!("cannot start the runtime: {e}")))?;
    let result = match args.mode {
        Mode::Daemon => runtime.block_on(daemon.run()),
        Mode::Once => runtime.block_on(async {
            let result = daemon.cycle(true).await;
            print!("{}", daemon.metrics.lock().unwrap().render());
            result
        }),
        Mode::Bench(cycles) => runtime.block_on(bench(&mut daemon, cycles)),
    };
    // a sample stuck in a hung command must not hold the exit
    runtime.shutdown_timeout(Duration::from_secs(3));
    result.map_err(|e| (2, e.message))
}

/// `--bench-cycles N`: N sampling rounds as the daemon runs them (blocking thread, metrics,
/// alerts), back to back, then one line of figures: time and CPU per round (the daemon's own and
/// that of the programs it ran, e.g. `btrfs`), resident memory now and at its peak.
async fn bench(daemon: &mut Daemon, cycles: u32) -> smbgw_core::Result<()> {
    let start = Instant::now();
    let (self_before, children_before) = (cpu_seconds(libc::RUSAGE_SELF), cpu_seconds(libc::RUSAGE_CHILDREN));
    for _ in 0..cycles {
        daemon.cycle(false).await?;
        let _ = daemon.metrics.lock().unwrap().render();
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu_self = cpu_seconds(libc::RUSAGE_SELF) - self_before;
    let cpu_children = cpu_seconds(libc::RUSAGE_CHILDREN) - children_before;
    let shares = daemon.metrics.lock().unwrap().quota.len();
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches(" kB").parse::<u64>().ok())
            .unwrap_or(0)
    };
    let per = |x: f64| x * 1000.0 / cycles as f64;
    println!(
        "bench: cycles={cycles} quota_shares={shares} wall_ms_per_cycle={:.2} cpu_ms_per_cycle={:.2} \
         cpu_children_ms_per_cycle={:.2} rss_kib={} rss_peak_kib={}",
        per(wall),
        per(cpu_self),
        per(cpu_children),
        kib("VmRSS:"),
        kib("VmHWM:"),
    );
    Ok(())
}

/// User and system CPU seconds of this process or its waited-for children.
fn cpu_seconds(who: libc::c_int) -> f64 {
    // SAFETY: getrusage writes into the zeroed struct we own
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(who, &mut usage) } != 0 {
        return 0.0;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}
