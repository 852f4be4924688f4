//! The daemon's event loop. Everything that may block (reading quotas runs `btrfs`, `zfs`;
//! health checks ask Samba, AD, CTDB; notifications run perl) runs on tokio's blocking threads;
//! the loop only starts jobs, collects their results and answers signals, so a hung external
//! command never stops it: a job past `timeout` is reported (log, metric, health) and its
//! result is still taken when it comes, so no alert is lost. One job of each kind at a time.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use smbgw_core::digest::Digested;
use smbgw_core::{Error, Result, Share};
use smbgw_gateway::{Alert, Gateway, Profile, SampleReport, ScheduleJob};
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};
use tokio::task::{JoinError, JoinHandle, JoinSet};
use tokio::time::{interval_at, sleep_until, Interval, MissedTickBehavior};

use crate::config::Config;
use crate::health;
use crate::metrics::{Health, Metrics, ShareFigures};
use crate::notify::{self, Notification};
use crate::snapshots::{self, ScheduleOutcome};
use crate::{http, systemd};

/// The health entry the loop itself keeps: is quota sampling working?
const SAMPLING_CHECK: &str = "quota-sampling";

pub struct Options {
    pub config_path: PathBuf,
    /// `--interval`: every interval (sampling, health, snapshot schedules), for tests and
    /// benches (compressed time).
    pub interval: Option<Duration>,
    /// `--now`: the snapshot schedules' clock of a `--once` run.
    pub now: Option<i64>,
}

pub struct Daemon {
    gw: Arc<Gateway>,
    config: Config,
    options: Options,
    pub metrics: Arc<Mutex<Metrics>>,
    server: Option<(SocketAddr, JoinHandle<()>)>,
    /// Notifications being delivered.
    notifications: JoinSet<()>,
}

/// What one sampling round found.
pub struct SampleOutcome {
    shares: Result<Vec<Share>>,
    reports: Result<Vec<SampleReport>>,
    list_seconds: f64,
    sample_seconds: f64,
    /// smbd's profiling counters (`smb-profiling: count`); `Ok(None)` while smbd is down.
    profile: Option<Result<Option<Profile>>>,
}

type HealthOutcome = Vec<(&'static str, Health, f64)>;

struct Job<T> {
    handle: JoinHandle<T>,
    started: Instant,
    late: bool,
}

enum JobEvent<T> {
    Done(Result<T, JoinError>),
    Late(Duration),
}

impl Daemon {
    pub fn new(gw: Gateway, config: Config, options: Options) -> Self {
        let mut daemon = Daemon {
            gw: Arc::new(gw),
            config,
            options,
            metrics: Arc::default(),
            server: None,
            notifications: JoinSet::new(),
        };
        daemon.apply_overrides();
        daemon
    }

    fn apply_overrides(&mut self) {
        if let Some(interval) = self.options.interval {
            self.config.sample_interval = interval;
            self.config.health_interval = interval;
        }
    }

    /// Run until SIGTERM or SIGINT.
    pub async fn run(mut self) -> Result<()> {
        let signal_error = |e: std::io::Error| Error::system(format!("cannot handle signals: {e}"));
        let mut hangup = signal(SignalKind::hangup()).map_err(signal_error)?;
        let mut terminate = signal(SignalKind::terminate()).map_err(signal_error)?;
        let mut interrupt = signal(SignalKind::interrupt()).map_err(signal_error)?;
        self.listen().await?;

        let mut sample_timer = timer(self.config.sample_interval);
        let mut health_timer = timer(self.config.health_interval);
        let mut schedule_timer = timer(self.options.interval.unwrap_or(snapshots::PERIOD));
        let mut watchdog = systemd::watchdog_interval().map(timer);
        let mut sampling: Option<Job<SampleOutcome>> = None;
        let mut checking: Option<Job<HealthOutcome>> = None;
        let mut scheduling: Option<Job<ScheduleOutcome>> = None;
        let mut backing_up: Option<Job<ScheduleOutcome>> = None;

        tracing::info!(
            sample_interval = self.config.sample_interval.as_secs(),
            health_interval = self.config.health_interval.as_secs(),
            sandbox = self.gw.layout.is_sandbox(),
            "pve-smbgatewayd started"
        );
        systemd::notify("READY=1");
        loop {
            tokio::select! {
                _ = terminate.recv() => break,
                _ = interrupt.recv() => break,
                _ = hangup.recv() => {
                    systemd::notify("RELOADING=1");
                    self.reload().await;
                    sample_timer = timer(self.config.sample_interval);
                    health_timer = timer(self.config.health_interval);
                    systemd::notify("READY=1");
                }
                _ = sample_timer.tick() => {
                    if sampling.is_none() {
                        sampling = Some(self.start_sample());
                    } else {
                        tracing::warn!("quota sampling skipped: the previous round is still running");
                    }
                }
                _ = schedule_timer.tick() => {
                    if scheduling.is_none() {
                        scheduling = Some(self.start_schedule(ScheduleJob::Snapshot));
                    } else {
                        tracing::warn!("snapshot schedules skipped: the previous round is still running");
                    }
                    // a backup may take hours: a due one waits for the running round to end
                    if backing_up.is_none() {
                        backing_up = Some(self.start_schedule(ScheduleJob::Backup));
                    }
                }
                _ = health_timer.tick() => {
                    if checking.is_none() {
                        checking = Some(self.start_health());
                    } else {
                        tracing::warn!("health checks skipped: the previous round is still running");
                    }
                }
                event = watch(&mut sampling, self.config.timeout) => match event {
                    JobEvent::Done(result) => {
                        sampling = None;
                        self.finish_sample(result);
                    }
                    JobEvent::Late(after) => {
                        sampling.as_mut().unwrap().late = true;
                        self.sample_late(after);
                    }
                },
                event = watch(&mut scheduling, self.config.timeout) => match event {
                    JobEvent::Done(result) => {
                        scheduling = None;
                        self.finish_schedule(ScheduleJob::Snapshot, result);
                    }
                    JobEvent::Late(after) => {
                        scheduling.as_mut().unwrap().late = true;
                        tracing::warn!(seconds = after.as_secs(), "snapshot schedules still running past the timeout");
                    }
                },
                event = watch(&mut backing_up, self.config.timeout) => match event {
                    JobEvent::Done(result) => {
                        backing_up = None;
                        self.finish_schedule(ScheduleJob::Backup, result);
                    }
                    // uploads take as long as the data needs: no warning
                    JobEvent::Late(_) => backing_up.as_mut().unwrap().late = true,
                },
                event = watch(&mut checking, self.config.timeout) => match event {
                    JobEvent::Done(result) => {
                        checking = None;
                        self.finish_health(result);
                    }
                    JobEvent::Late(after) => {
                        checking.as_mut().unwrap().late = true;
                        tracing::warn!(seconds = after.as_secs(), "health checks still running past the timeout");
                    }
                },
                _ = tick(&mut watchdog) => systemd::notify("WATCHDOG=1"),
                Some(_) = self.notifications.join_next(), if !self.notifications.is_empty() => {}
            }
        }
        systemd::notify("STOPPING=1");
        tracing::info!("pve-smbgatewayd stopping");
        // an alert being handed over gets a moment; a hung one does not hold the exit
        let _ = tokio::time::timeout(Duration::from_secs(5), self.drain()).await;
        Ok(())
    }

    /// One sampling round and one health round, waited for: `--once`, `--bench-cycles`.
    pub async fn cycle(&mut self, with_health: bool) -> Result<()> {
        let job = self.start_sample();
        self.finish_sample(job.handle.await);
        for schedule in [ScheduleJob::Snapshot, ScheduleJob::Backup] {
            let job = self.start_schedule(schedule);
            self.finish_schedule(schedule, job.handle.await);
        }
        if with_health {
            let job = self.start_health();
            self.finish_health(job.handle.await);
        }
        self.drain().await;
        let m = self.metrics.lock().unwrap();
        match m.health.get(SAMPLING_CHECK) {
            Some(h) if !h.ok => Err(Error::system(h.message.clone())),
            _ => Ok(()),
        }
    }

    /// Wait until every notification is delivered (or failed).
    pub async fn drain(&mut self) {
        while self.notifications.join_next().await.is_some() {}
    }

    /// Bind the metrics endpoint the config asks for (again, if it changed).
    async fn listen(&mut self) -> Result<()> {
        let wanted = self.config.metrics_listen;
        if self.server.as_ref().map(|(addr, _)| *addr) == wanted {
            return Ok(());
        }
        let server = match wanted {
            Some(addr) => {
                let listener = TcpListener::bind(addr)
                    .await
                    .map_err(|e| Error::system(format!("cannot serve metrics on {addr}: {e}")))?;
                tracing::info!(listen = %addr, "serving metrics at http://{addr}/metrics");
                Some((addr, tokio::spawn(http::serve(listener, self.metrics.clone()))))
            }
            None => None,
        };
        if let Some((_, old)) = std::mem::replace(&mut self.server, server) {
            old.abort();
        }
        Ok(())
    }

    /// SIGHUP: read the config again (a broken one keeps the old), re-read the share list
    /// and sample at once.
    async fn reload(&mut self) {
        let old = self.config.clone();
        let loaded = Config::load(&self.options.config_path);
        self.metrics.lock().unwrap().reload_failed = loaded.is_err();
        match loaded {
            Ok(config) => {
                self.config = config;
                self.apply_overrides();
            }
            Err(e) => tracing::error!(error = %e, "configuration not reloaded, keeping the previous one"),
        }
        match Gateway::from_env(None) {
            Ok(gw) => self.gw = Arc::new(gw),
            Err(e) => tracing::error!(error = %e, "gateway layout not reloaded"),
        }
        if let Err(e) = self.listen().await {
            tracing::error!(error = %e, "keeping the previous metrics endpoint");
            self.config.metrics_listen = old.metrics_listen;
        }
        self.metrics.lock().unwrap().reloads_total += 1;
        tracing::info!(
            config = %self.options.config_path.display(),
            sample_interval = self.config.sample_interval.as_secs(),
            "configuration reloaded"
        );
    }

    fn start_sample(&self) -> Job<SampleOutcome> {
        let gw = self.gw.clone();
        let profiling = self.config.smb_profiling;
        start(move || sample(&gw, profiling))
    }

    fn start_schedule(&self, job: ScheduleJob) -> Job<ScheduleOutcome> {
        let gw = self.gw.clone();
        let now = self.options.now;
        start(move || snapshots::run(&gw, now, job))
    }

    /// Log what the snapshot or backup schedules did; a failure is an alert (log and
    /// notification).
    fn finish_schedule(&mut self, job: ScheduleJob, result: Result<ScheduleOutcome, JoinError>) {
        let outcome = result.unwrap_or_else(|e| ScheduleOutcome {
            runs: Err(Error::system(format!("{} scheduling panicked: {e}", job.as_str()))),
            seconds: 0.0,
        });
        self.metrics.lock().unwrap().observe(
            match job {
                ScheduleJob::Snapshot => "snapshot_schedule",
                ScheduleJob::Backup => "backup_schedule",
            },
            outcome.seconds,
        );
        let runs = match outcome.runs {
            Ok(runs) => runs,
            Err(e) => {
                tracing::error!(error = %e, job = job.as_str(), "schedules not run");
                return;
            }
        };
        for run in &runs {
            if let Some(taken) = &run.taken {
                tracing::info!(share = %run.share, job = run.job.as_str(), snapshot = %taken, pruned = run.pruned.len(), "scheduled run done");
            }
            if let Some(alert) = snapshots::alert(run) {
                tracing::warn!(share = %run.share, job = run.job.as_str(), error = %alert.message, "scheduled run failed");
                self.metrics.lock().unwrap().alerts_total += 1;
                self.send(alert);
            }
        }
    }

    fn start_health(&self) -> Job<HealthOutcome> {
        let gw = self.gw.clone();
        start(move || health::run_all(&gw))
    }

    fn sample_late(&self, after: Duration) {
        tracing::warn!(
            seconds = after.as_secs(),
            "quota sampling still running past the timeout"
        );
        let mut m = self.metrics.lock().unwrap();
        m.sample_timeouts_total += 1;
        set_health(
            &mut m,
            SAMPLING_CHECK,
            false,
            format!("sampling has been running for {} s", after.as_secs()),
        );
    }

    fn finish_sample(&mut self, result: Result<SampleOutcome, JoinError>) {
        let outcome = result.unwrap_or_else(|e| SampleOutcome {
            shares: Err(Error::system(format!("sampling panicked: {e}"))),
            reports: Err(Error::system(format!("sampling panicked: {e}"))),
            list_seconds: 0.0,
            sample_seconds: 0.0,
            profile: None,
        });
        let mut alerts = Vec::new();
        {
            let mut m = self.metrics.lock().unwrap();
            m.observe("share_list", outcome.list_seconds);
            m.observe("quota_sample", outcome.sample_seconds);
            if let Ok(shares) = &outcome.shares {
                m.shares = Some(shares.len());
            }
            match &outcome.profile {
                None => m.smb = None,
                Some(Ok(profile)) => m.smb = profile.clone(),
                Some(Err(e)) => {
                    // the quota figures still count; the SMB counters are left out this round
                    tracing::warn!(error = %e, "smbd's profiling counters not read");
                    m.smb = None;
                }
            }
            match &outcome.reports {
                Ok(reports) => {
                    m.samples_total += 1;
                    m.last_sample_seconds = Some(outcome.sample_seconds);
                    m.last_sample_time = Some(smbgw_sys::time::now());
                    let shares = outcome.shares.as_deref().unwrap_or_default();
                    m.quota = reports.iter().map(|r| figures(&self.gw, r, shares)).collect();
                    for r in reports {
                        if let Some(error) = &r.error {
                            tracing::warn!(share = %r.name, error = %error, "share not sampled");
                        }
                        if let Some(alert) = &r.alert {
                            m.alerts_total += 1;
                            alerts.push((alert.clone(), r.used, r.limit));
                        }
                    }
                    let message = format!("{} quota shares sampled", reports.len());
                    set_health(&mut m, SAMPLING_CHECK, true, message);
                    tracing::debug!(
                        shares = reports.len(),
                        seconds = outcome.sample_seconds,
                        "quota sampling done"
                    );
                }
                Err(e) => {
                    m.sample_failures_total += 1;
                    tracing::error!(error = %e, "quota sampling failed");
                    set_health(&mut m, SAMPLING_CHECK, false, e.message.clone());
                }
            }
        }
        for (alert, used, limit) in alerts {
            self.raise(alert, used, limit);
        }
        self.write_textfile();
    }

    fn finish_health(&mut self, result: Result<HealthOutcome, JoinError>) {
        let results = match result {
            Ok(results) => results,
            Err(e) => {
                tracing::error!(error = %e, "health checks panicked");
                return;
            }
        };
        let mut changes = Vec::new();
        {
            let mut m = self.metrics.lock().unwrap();
            for (name, health, seconds) in results {
                m.observe(&format!("check:{name}"), seconds);
                let before = m.health.get(name).map(|h| h.ok);
                if before != Some(health.ok) {
                    changes.push((name, before, health.clone()));
                }
                m.health.insert(name.to_string(), health);
            }
        }
        for (name, before, health) in changes {
            if health.ok {
                tracing::info!(check = name, message = %health.message, "health check ok");
                if before == Some(false) {
                    self.notify_health(name, &health);
                }
            } else {
                tracing::warn!(check = name, message = %health.message, "health check failed");
                self.notify_health(name, &health);
            }
        }
        self.write_textfile();
    }

    /// A quota alert: always in the log, and through PVE's notifications where they exist.
    fn raise(&mut self, alert: Alert, used: u64, limit: Option<u64>) {
        tracing::warn!(
            share = %alert.share,
            threshold = alert.threshold,
            percent = alert.percent,
            rising = alert.rising,
            "{}",
            alert.message
        );
        let size = smbgw_core::size::format_size;
        let mut details = vec![
            ("Share".to_string(), alert.share.clone()),
            ("Used".to_string(), size(used)),
        ];
        if let Some(limit) = limit {
            details.push(("Quota".to_string(), size(limit)));
        }
        details.push(("Usage".to_string(), format!("{:.1}%", alert.percent)));
        if alert.threshold > 0 {
            details.push(("Threshold".to_string(), format!("{}%", alert.threshold)));
        }
        self.send(Notification {
            severity: if alert.rising { "warning" } else { "info" },
            title: format!("SMB gateway: {}", alert.message),
            message: alert.message,
            details,
            fields: vec![("share", alert.share)],
        });
    }

    fn notify_health(&mut self, name: &str, health: &Health) {
        let state = if health.ok { "recovered" } else { "failed" };
        self.send(Notification {
            severity: if health.ok { "info" } else { "error" },
            title: format!("SMB gateway: health check '{name}' {state}"),
            message: health.message.clone(),
            details: vec![("Check".to_string(), name.to_string())],
            fields: vec![("check", name.to_string())],
        });
    }

    /// Deliver in the background: perl and pmxcfs may take a while.
    fn send(&mut self, notification: Notification) {
        let mode = self.config.notify;
        let metrics = self.metrics.clone();
        self.notifications.spawn(async move {
            let started = Instant::now();
            let result = tokio::task::spawn_blocking(move || notify::send(&notification, mode))
                .await
                .unwrap_or_else(|e| Err(Error::system(e.to_string())));
            let mut m = metrics.lock().unwrap();
            match result {
                Ok(notify::Delivered::Pve) => {
                    m.observe("notify", started.elapsed().as_secs_f64());
                    tracing::info!("alert handed to the PVE notification system");
                }
                Ok(notify::Delivered::LogOnly) => {}
                Err(e) => {
                    m.notifications_failed_total += 1;
                    tracing::error!(error = %e, "alert not delivered through PVE notifications");
                }
            }
        });
    }

    /// The node-exporter textfile, if configured: written whole and renamed into place.
    fn write_textfile(&self) {
        let Some(path) = &self.config.metrics_textfile else {
            return;
        };
        let text = self.metrics.lock().unwrap().render();
        if let Err(e) = smbgw_sys::fs::atomic_write_derived(path, text.as_bytes(), 0o644) {
            tracing::warn!(error = %e, "metrics textfile not written");
        }
    }
}

/// The blocking part of a sampling round: the share list (for the count and the thresholds),
/// the core's sampling, which writes the history and evaluates the alerts, and with
/// `profiling` smbd's counters (recorded in the SMB throughput history).
fn sample(gw: &Gateway, profiling: bool) -> SampleOutcome {
    let start = Instant::now();
    let shares = gw
        .list()
        .map(|list| list.into_iter().map(Digested::into_inner).collect());
    let list_seconds = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let reports = gw.quota_sample();
    SampleOutcome {
        shares,
        reports,
        list_seconds,
        sample_seconds: start.elapsed().as_secs_f64(),
        profile: profiling.then(|| gw.smb_profile_sample()),
    }
}

fn figures(gw: &Gateway, report: &SampleReport, shares: &[Share]) -> ShareFigures {
    let alert_level = match (report.limit, shares.iter().find(|s| s.name == report.name)) {
        (Some(limit), Some(share)) => gw.alert_level(share, report.used, limit),
        _ => 0,
    };
    ShareFigures {
        name: report.name.clone(),
        used: report.used,
        limit: report.limit,
        alert_level,
        ok: report.error.is_none(),
    }
}

fn set_health(m: &mut Metrics, name: &str, ok: bool, message: String) {
    m.health.insert(name.to_string(), Health { ok, message });
}

fn start<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Job<T> {
    Job {
        handle: tokio::task::spawn_blocking(f),
        started: Instant::now(),
        late: false,
    }
}

/// The next thing that happens to a running job (never, without one).
async fn watch<T>(job: &mut Option<Job<T>>, timeout: Duration) -> JobEvent<T> {
    let Some(job) = job else {
        return std::future::pending().await;
    };
    if job.late {
        return JobEvent::Done((&mut job.handle).await);
    }
    tokio::select! {
        result = &mut job.handle => JobEvent::Done(result),
        _ = sleep_until((job.started + timeout).into()) => JobEvent::Late(job.started.elapsed()),
    }
}

/// An interval whose first tick is now; a late tick is not made up for.
fn timer(period: Duration) -> Interval {
    let mut timer = interval_at(tokio::time::Instant::now(), period);
    timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
    timer
}

async fn tick(timer: &mut Option<Interval>) {
    match timer {
        Some(timer) => {
            timer.tick().await;
        }
        None => std::future::pending().await,
    }
}
