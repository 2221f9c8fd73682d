//! `estatewatch run`: wires ingest, analysis, alerts and delivery together,
//! applies config reloads, and shuts them down in order.
//!
//! Start: load the config, start [`Delivery`] (outbox, writer, publisher; it
//! does not need the broker to be up), then the camera watch
//! ([`start_camera_watch`], camera events to alerts), then the producers
//! ([`start_pipeline`]), then the monitor (the `/healthz` + `/metrics` endpoint and the stats
//! topic, see [`crate::monitor`]).
//! Reload (SIGHUP, or `estatewatch reload`): the config file is read and
//! validated again; if it is invalid the running config stays. Cameras that
//! were added, removed or changed are started, stopped or restarted; the
//! others and delivery are not touched (see [`Pipeline::apply`]).
//! Sensor inputs ([`crate::sensors`]) start after the cameras and feed the
//! same alert sink, a [`FusedSink`] in front of delivery's. A reload that
//! changes `[[sensors]]` or `[sensor_broker]` restarts the inputs, keeping
//! the monitor (rule state) of each sensor whose config is unchanged
//! ([`crate::sensors::restart`]); a `[fusion]` change is applied to the
//! shared sink ([`FusedSink::set_fusion`]), so it reaches every producer.
//! Stop (SIGINT or SIGTERM): stop the producers first so no new alerts
//! appear, then let delivery commit what is queued and give the publisher
//! [`SHUTDOWN_GRACE`] to deliver before it announces `offline` and
//! disconnects. With no cameras configured the daemon still runs and
//! delivers alerts already in the outbox.

use crate::alert::camera::{CameraWatch, Output as CameraOutput};
use crate::alert::fusion::FusedSink;
use crate::analysis::config::CameraConfig;
use crate::analysis::worker::{self, AlertBuilder, AlertOrigin};
use crate::base::lock;
use crate::config::Config;
use crate::delivery::config::MqttConfig;
use crate::delivery::{AlertSink, Delivery, StatusProbe};
use crate::health::{self, Heartbeat, Notifier, Watchdog};
use crate::ingest::supervisor::{spawn_camera, CameraHandle};
use crate::ingest::{CameraEvent, CameraStatus, FrameSlot};
use crate::monitor::config::HealthConfig;
use crate::monitor::{self, AnalysisStats, CameraSnapshot, Rates, Snapshot};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long the publisher may keep delivering after a stop signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Loads the config at `path` and runs the daemon until SIGINT or SIGTERM;
/// SIGHUP reloads `path`.
pub fn run_from_file(path: &Path) -> anyhow::Result<()> {
    let config = Config::load(path)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("ew-runtime")
        .enable_all()
        .build()?;
    runtime.block_on(run_with_reload(config, Some(path.to_path_buf())))
}

/// Runs the daemon with an already loaded config until SIGINT or SIGTERM
/// (SIGHUP is logged and ignored: there is no file to reload).
pub async fn run(config: Config) -> anyhow::Result<()> {
    run_with_reload(config, None).await
}

/// Runs the daemon until SIGINT or SIGTERM; SIGHUP reloads `config_path`.
///
/// Under systemd (`$NOTIFY_SOCKET`), it sends `READY=1` once the cameras are
/// started, feeds the watchdog while every analysis worker ticks (see
/// [`crate::health`]), `RELOADING=1` … `READY=1` around a reload, and
/// `STOPPING=1` when a stop signal arrives.
pub async fn run_with_reload(config: Config, config_path: Option<PathBuf>) -> anyhow::Result<()> {
    let notifier = Arc::new(Notifier::from_env()?);
    let mut signals = Signals::install();
    let delivery = Delivery::start(&config.delivery()).await?;
    let cameras = start_camera_watch(&config, &delivery);
    // Every producer submits through this one sink, so fusion sees them all.
    let alerts = FusedSink::new(delivery.sink(), &config.fusion);
    let started = Instant::now();
    let pipeline = match start_pipeline(&config, &alerts, cameras.events()) {
        Ok(p) => Arc::new(Mutex::new(p)),
        Err(e) => {
            cameras.shutdown().await;
            delivery.shutdown(Duration::ZERO).await;
            return Err(e);
        }
    };
    let mut sensors = match crate::sensors::start(&config.sensor_sections(), alerts.clone()) {
        Ok(s) => s,
        Err(e) => {
            let pipeline = std::mem::take(&mut *lock(&pipeline));
            let _ = tokio::task::spawn_blocking(move || pipeline.stop()).await;
            cameras.shutdown().await;
            delivery.shutdown(Duration::ZERO).await;
            return Err(e.into());
        }
    };
    let monitor = Monitor {
        site: config.site.id.clone(),
        gateway: config.gateway.id.clone(),
        health: config.health.clone(),
        pipeline: pipeline.clone(),
        delivery: delivery.probe(),
        started,
        rates: Arc::default(),
        link: Arc::new(monitor::LinkWatch::new(started)),
        sensors: Arc::new(Mutex::new(sensor_counters(sensors.as_ref()))),
    };
    let monitor_tasks = monitor.start().await;
    notifier.notify("READY=1");
    let feeder = health::watchdog_timeout_from_env().map(|timeout| {
        let watchdog = Watchdog::new(health::max_age_for(timeout));
        lock(&pipeline).watchdog = Some(watchdog.clone());
        for (camera, unit) in &lock(&pipeline).cameras {
            watchdog.add(camera, unit.heartbeat.clone());
        }
        tokio::spawn(health::feed_watchdog(notifier.clone(), watchdog, timeout))
    });
    tracing::info!(
        site = %config.site.id,
        gateway = %config.gateway.id,
        cameras = config.enabled_cameras().count(),
        "estatewatch running"
    );
    if let Some(hint) = health::setup_hint(&config, config_path.as_deref()) {
        tracing::warn!("{hint}");
    }
    let mut config = config;
    let signal = loop {
        match signals.next().await {
            Signal::Hangup => {
                notifier.notify(&format!(
                    "RELOADING=1\nMONOTONIC_USEC={}",
                    health::monotonic_usec()
                ));
                match &config_path {
                    Some(path) => {
                        let (p, d) = (
                            pipeline.clone(),
                            ReloadTarget::of(&alerts, cameras.events(), &config),
                        );
                        let (path, old) = (path.clone(), config.clone());
                        match tokio::task::spawn_blocking(move || reload(&path, &old, &p, &d)).await
                        {
                            Ok(Some(new)) => {
                                apply_sensor_sections(&config, &new, &mut sensors, &alerts).await;
                                *lock(&monitor.sensors) = sensor_counters(sensors.as_ref());
                                config = new;
                            }
                            Ok(None) => {}
                            Err(e) => tracing::error!(error = %e, "reload failed"),
                        }
                    }
                    None => tracing::warn!("SIGHUP: no config file to reload; ignored"),
                }
                notifier.notify("READY=1");
            }
            Signal::Stop(name) => break name,
        }
    };
    tracing::info!(signal, "stopping");
    notifier.notify("STOPPING=1");
    if let Some(feeder) = feeder {
        feeder.abort();
    }
    for t in monitor_tasks {
        t.abort();
    }
    let pipeline = std::mem::take(&mut *lock(&pipeline));
    let _ = tokio::task::spawn_blocking(move || pipeline.stop()).await;
    if let Some(sensors) = sensors {
        sensors.shutdown().await;
    }
    cameras.shutdown().await;
    delivery.shutdown(SHUTDOWN_GRACE).await;
    tracing::info!("stopped");
    Ok(())
}

/// `estatewatch reload`: sends SIGHUP to the daemon that holds the outbox
/// lock of the (already validated) config at `path`; returns its pid.
pub fn request_reload(path: &Path) -> anyhow::Result<()> {
    let config = Config::load(path)?;
    let outbox = &config.outbox.path;
    let pid = match crate::delivery::DaemonLock::holder(outbox) {
        Some(Some(pid)) => pid,
        Some(None) => anyhow::bail!(
            "a daemon holds {} but its pid is unknown; use `systemctl reload estatewatch` or `kill -HUP`",
            outbox.display()
        ),
        None => anyhow::bail!(
            "no running daemon uses the outbox {} (from {}); nothing to reload",
            outbox.display(),
            path.display()
        ),
    };
    let pid = libc::pid_t::try_from(pid)?;
    // SAFETY: kill(2) with a pid read from the daemon's lock file.
    if unsafe { libc::kill(pid, libc::SIGHUP) } != 0 {
        anyhow::bail!(
            "cannot signal daemon pid {pid}: {}",
            std::io::Error::last_os_error()
        );
    }
    println!("asked estatewatch (pid {pid}) to reload {}", path.display());
    Ok(())
}

/// Each running sensor's name and counters.
type SensorFigures = Vec<(String, Arc<crate::sensors::SensorCounters>)>;

/// Each running sensor's name and counters, for [`Monitor`].
fn sensor_counters(sensors: Option<&crate::sensors::Sensors>) -> SensorFigures {
    sensors.map(|s| s.counters().to_vec()).unwrap_or_default()
}

/// Whether two broker configs differ (`Debug` hides the password, so it is
/// compared separately).
fn mqtt_changed(a: &MqttConfig, b: &MqttConfig) -> bool {
    format!("{a:?}") != format!("{b:?}") || a.password.password != b.password.password
}

/// Whether a reload from `old` to `new` must restart the sensor inputs.
pub fn sensors_changed(old: &Config, new: &Config) -> bool {
    let broker_changed = match (&old.sensor_broker, &new.sensor_broker) {
        (None, None) => false,
        (Some(a), Some(b)) => mqtt_changed(a, b),
        _ => true,
    };
    old.sensors != new.sensors || broker_changed
}

/// Applies the `[fusion]`, `[[sensors]]` and `[sensor_broker]` sections of
/// `new` (already validated and checked by [`reload`]) over `old`: the
/// fusion settings go to the shared sink; changed sensor settings restart the
/// inputs (unchanged sensors keep their monitor, removed or changed ones
/// end their open incidents). Unchanged sensors are not touched.
async fn apply_sensor_sections(
    old: &Config,
    new: &Config,
    sensors: &mut Option<crate::sensors::Sensors>,
    alerts: &FusedSink,
) {
    if old.fusion != new.fusion {
        alerts.set_fusion(&new.fusion);
        tracing::info!(
            enabled = new.fusion.enabled,
            window_s = new.fusion.window_s,
            "fusion settings applied"
        );
    }
    if !sensors_changed(old, new) {
        if !new.sensors.is_empty() {
            tracing::info!(
                sensors = new.sensors.len(),
                "sensors unchanged; their inputs keep running"
            );
        }
        return;
    }
    let kept = match sensors.take() {
        Some(s) => s.stop_monitors().await,
        None => Vec::new(),
    };
    match crate::sensors::restart(&new.sensor_sections(), alerts.clone(), kept) {
        Ok((s, report)) => {
            *sensors = s;
            tracing::info!(
                kept = ?report.kept,
                started = ?report.started,
                stopped = ?report.stopped,
                "sensor inputs restarted with the new config"
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "sensor inputs could not be restarted; running without sensors");
        }
    }
}

/// One running camera: its supervisor (ingest), frame slot and analysis
/// worker, started and stopped together.
pub struct CameraUnit {
    /// The config it runs with (to tell whether a reload changed it).
    pub config: CameraConfig,
    handle: CameraHandle,
    slot: Arc<FrameSlot>,
    stop: Arc<AtomicBool>,
    worker: std::thread::JoinHandle<()>,
    /// Ticked by the worker on every loop turn.
    pub heartbeat: Heartbeat,
    /// Frames analysed and time per analyzer.
    pub analysis: Arc<AnalysisStats>,
    /// [`secret_digest`] of its password when it started, so a reload sees a
    /// changed `password_file` or `password_env` content as a change.
    secret: Option<[u8; 32]>,
}

/// What a camera needs from the rest of the daemon.
#[derive(Clone)]
pub struct UnitContext {
    pub site: String,
    pub gateway: String,
    /// Where the camera's analysis submits alerts (shared by every producer).
    pub sink: FusedSink,
    pub events: tokio::sync::mpsc::UnboundedSender<CameraEvent>,
    /// Models for analyzers that use them as cues, loaded once at start.
    pub models: Option<Arc<crate::analysis::detector::Models>>,
}

impl CameraUnit {
    /// Builds the analyzers (the step that can fail for a bad camera
    /// config), then starts ingest and the worker thread.
    pub fn start(cam: &CameraConfig, ctx: &UnitContext) -> anyhow::Result<CameraUnit> {
        let analyzers = crate::analysis::build_analyzers_with(cam, ctx.models.as_deref())?;
        let slot = FrameSlot::new();
        // Its grace first, so a camera added by reload is not judged by the default.
        let _ = ctx.events.send(CameraEvent {
            camera: cam.name.clone(),
            at: std::time::SystemTime::now(),
            status: CameraStatus::Configured {
                offline_grace: Duration::from_secs(cam.offline_grace_s),
            },
        });
        let handle = spawn_camera(cam.stream(), slot.clone(), ctx.events.clone())
            .map_err(|e| anyhow::anyhow!("camera {}: {e}", cam.name))?;
        let stop = Arc::new(AtomicBool::new(false));
        let builder = AlertBuilder::new(AlertOrigin {
            site: ctx.site.clone(),
            gateway: ctx.gateway.clone(),
            camera: cam.name.clone(),
        });
        let sink = ctx.sink.clone();
        let span = tracing::info_span!("camera", name = %cam.name);
        let heartbeat = Heartbeat::new();
        let analysis = Arc::new(AnalysisStats::default());
        let (w_slot, w_stop, w_beat, w_stats) = (
            slot.clone(),
            stop.clone(),
            heartbeat.clone(),
            analysis.clone(),
        );
        let worker = std::thread::Builder::new()
            .name(format!("ew-analyse-{}", cam.name))
            .spawn(move || {
                let _enter = span.enter();
                worker::run(w_slot, analyzers, builder, w_stop, w_beat, w_stats, |alert| {
                    let (kind, id) = (alert.kind, alert.id);
                    if let Err(e) = sink.submit(alert) {
                        tracing::error!(%id, kind = kind.as_str(), error = %e, "alert not accepted by delivery");
                    }
                })
            })?;
        Ok(CameraUnit {
            secret: secret_digest(cam),
            config: cam.clone(),
            handle,
            slot,
            stop,
            worker,
            heartbeat,
            analysis,
        })
    }

    /// Stops ingest (no new frames), then lets the worker finish the frame
    /// it has: its alerts are submitted before this returns.
    pub fn stop(self) {
        self.handle.stop();
        self.slot.close();
        self.stop.store(true, Ordering::Relaxed);
        if self.worker.join().is_err() {
            tracing::error!(camera = %self.config.name, "an analysis thread panicked");
        }
    }

    /// The camera's figures now (rates are filled in by [`Rates`]).
    pub fn snapshot(&self) -> CameraSnapshot {
        let s = self.handle.stats();
        CameraSnapshot {
            camera: s.camera,
            online: s.online,
            frames_in: s.frames_in,
            frames_analysed: self.analysis.frames(),
            frames_skipped: s.frames_skipped,
            reconnects: s.reconnects,
            fps_in: 0.0,
            fps_analysed: 0.0,
            fps_skipped: 0.0,
            worker_tick_age_ms: health::now_ms().saturating_sub(self.heartbeat.last()),
            analyzer_ms: self.analysis.analyzers.snapshot(),
        }
    }
}

/// Everything that produces alerts: one [`CameraUnit`] per enabled camera.
#[derive(Default)]
pub struct Pipeline {
    pub cameras: BTreeMap<String, CameraUnit>,
    /// The systemd watchdog's heartbeat set, kept in step on reload.
    watchdog: Option<Watchdog>,
}

/// What [`Pipeline::apply`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReloadReport {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub restarted: Vec<String>,
    pub unchanged: Vec<String>,
    /// Cameras that could not be (re)started, with the reason.
    pub failed: Vec<(String, String)>,
}

/// The sha256 of the camera's password as it resolves now (from the config,
/// its file or its environment variable); `None` without one. Only the digest
/// is kept, never a second copy of the secret.
pub fn secret_digest(cam: &CameraConfig) -> Option<[u8; 32]> {
    use sha2::{Digest, Sha256};
    let pw = cam.password.resolve().ok().flatten()?;
    Some(Sha256::digest(pw.as_bytes()).into())
}

/// Whether two camera configs differ in any way that matters. `Debug`
/// covers every field (a new analyzer's config too); inline passwords are
/// compared separately because `Debug` hides them. A changed password file
/// content is caught by comparing [`secret_digest`]s.
pub fn camera_changed(a: &CameraConfig, b: &CameraConfig) -> bool {
    format!("{a:?}") != format!("{b:?}") || a.password.password != b.password.password
}

impl Pipeline {
    /// Stops every camera, each ingest first so its analysis can drain.
    pub fn stop(self) {
        for unit in self.cameras.into_values() {
            unit.stop();
        }
    }

    /// Makes the running cameras match `wanted` (the enabled cameras of a
    /// new config): stops removed cameras, starts added ones, restarts
    /// changed ones, leaves the rest alone. A changed camera whose new
    /// analyzers cannot be built keeps running with its old config.
    pub fn apply(&mut self, wanted: &[CameraConfig], ctx: &UnitContext) -> ReloadReport {
        let mut report = ReloadReport::default();
        let wanted_names: Vec<&str> = wanted.iter().map(|c| c.name.as_str()).collect();
        let gone: Vec<String> = self
            .cameras
            .keys()
            .filter(|n| !wanted_names.contains(&n.as_str()))
            .cloned()
            .collect();
        for name in gone {
            if let Some(unit) = self.cameras.remove(&name) {
                if let Some(w) = &self.watchdog {
                    w.remove(&name);
                }
                unit.stop();
                // After the stop, so no late event from its ingest follows it.
                let _ = ctx.events.send(CameraEvent {
                    camera: name.clone(),
                    at: std::time::SystemTime::now(),
                    status: CameraStatus::Removed,
                });
                tracing::info!(camera = %name, "camera removed");
                report.removed.push(name);
            }
        }
        for cam in wanted {
            let name = cam.name.clone();
            match self.cameras.get(&name) {
                Some(unit)
                    if !camera_changed(&unit.config, cam) && unit.secret == secret_digest(cam) =>
                {
                    report.unchanged.push(name);
                    continue;
                }
                _ => {}
            }
            // Check the new analyzers before stopping anything.
            if let Err(e) = crate::analysis::build_analyzers_with(cam, ctx.models.as_deref()) {
                tracing::error!(camera = %name, error = %e, "camera config not applied; keeping the running one");
                report.failed.push((name, e.to_string()));
                continue;
            }
            let existed = match self.cameras.remove(&name) {
                Some(old) => {
                    old.stop();
                    true
                }
                None => false,
            };
            match CameraUnit::start(cam, ctx) {
                Ok(unit) => {
                    if let Some(w) = &self.watchdog {
                        w.add(&name, unit.heartbeat.clone());
                    }
                    self.cameras.insert(name.clone(), unit);
                    if existed {
                        tracing::info!(camera = %name, "camera restarted with its new config");
                        report.restarted.push(name);
                    } else {
                        tracing::info!(camera = %name, "camera added");
                        report.added.push(name);
                    }
                }
                Err(e) => {
                    if let Some(w) = &self.watchdog {
                        w.remove(&name);
                    }
                    tracing::error!(camera = %name, error = %e, "camera could not be started");
                    report.failed.push((name, e.to_string()));
                }
            }
        }
        report
    }
}

/// The camera watch running on the real clock: turns the cameras'
/// online/offline events into `camera_offline` / `camera_online` alerts
/// (after each camera's grace period) submitted to delivery, and into
/// retained camera state that delivery publishes; see
/// [`CameraWatch`]. Dropping it stops the watch.
pub struct CameraWatchTask {
    events: tokio::sync::mpsc::UnboundedSender<CameraEvent>,
    stop: tokio::sync::watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl CameraWatchTask {
    /// Where camera pipelines (and the daemon) report camera events.
    pub fn events(&self) -> tokio::sync::mpsc::UnboundedSender<CameraEvent> {
        self.events.clone()
    }

    /// Stops the watch and waits for it, so the alerts it raised are queued
    /// before delivery shuts down.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for CameraWatchTask {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Starts the camera watch for `config`'s cameras (each with its
/// `offline_grace_s`; a camera added later is `Configured` by
/// [`CameraUnit::start`]), submitting to `delivery`. Must be called inside a
/// tokio runtime.
pub fn start_camera_watch(config: &Config, delivery: &Delivery) -> CameraWatchTask {
    let grace = config
        .cameras
        .iter()
        .map(|cam| (cam.name.clone(), Duration::from_secs(cam.offline_grace_s)))
        .collect();
    let watch = CameraWatch::new(
        &config.site.id,
        &config.gateway.id,
        crate::alert::camera::DEFAULT_GRACE,
        grace,
    );
    let (events, rx) = tokio::sync::mpsc::unbounded_channel();
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(camera_loop(
        rx,
        watch,
        delivery.sink(),
        delivery.probe(),
        stop_rx,
    ));
    CameraWatchTask {
        events,
        stop,
        task: Some(task),
    }
}

/// Feeds camera events through the state machine, on the real clock.
async fn camera_loop(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<CameraEvent>,
    mut watch: CameraWatch,
    sink: AlertSink,
    retained: StatusProbe,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let now = std::time::SystemTime::now();
        let sleep = watch
            .next_deadline()
            .map(|d| d.duration_since(now).unwrap_or_default())
            .unwrap_or(Duration::from_secs(3600))
            .min(Duration::from_secs(3600));
        let outputs = tokio::select! {
            _ = stop.changed() => break,
            ev = rx.recv() => match ev {
                Some(ev) => {
                    let _span = tracing::info_span!("camera", name = %ev.camera).entered();
                    watch.on_event(&ev, std::time::SystemTime::now())
                }
                None => break,
            },
            _ = tokio::time::sleep(sleep) => watch.tick(std::time::SystemTime::now()),
        };
        for o in outputs {
            match o {
                CameraOutput::Alert(a) => {
                    let camera = a.camera.clone().unwrap_or_default();
                    tracing::info!(camera = %camera, kind = %a.kind, "camera alert raised");
                    if let Err(e) = sink.submit(*a) {
                        tracing::error!(camera = %camera, error = %e, "camera alert not queued");
                    }
                }
                CameraOutput::State { camera, payload } => {
                    retained.publish_camera_state(camera, payload);
                }
            }
        }
    }
}

/// Starts, for each enabled camera, its pipeline supervisor and its analysis
/// worker thread, joined by a one-frame [`FrameSlot`].
///
/// Cameras report online/offline on `events`; analysis threads submit
/// alerts to `sink`. A camera whose analyzers
/// cannot be built (a missing model, say) stops the start with an error that
/// names it; a camera that cannot be reached does not: its supervisor keeps
/// retrying and reports it offline.
pub fn start_pipeline(
    config: &Config,
    sink: &FusedSink,
    events: tokio::sync::mpsc::UnboundedSender<CameraEvent>,
) -> anyhow::Result<Pipeline> {
    let ctx = UnitContext {
        site: config.site.id.clone(),
        gateway: config.gateway.id.clone(),
        sink: sink.clone(),
        events,
        models: crate::analysis::load_wanted_models(&config.runtime, config.enabled_cameras())
            .map(Arc::new),
    };
    let mut pipeline = Pipeline::default();
    for cam in config.enabled_cameras() {
        match CameraUnit::start(cam, &ctx) {
            Ok(unit) => {
                pipeline.cameras.insert(cam.name.clone(), unit);
            }
            Err(e) => {
                pipeline.stop();
                return Err(e);
            }
        }
    }
    Ok(pipeline)
}

/// What a reload needs to start cameras: the running daemon's sink and
/// camera-event channel.
struct ReloadTarget {
    ctx: UnitContext,
}

impl ReloadTarget {
    fn of(
        sink: &FusedSink,
        events: tokio::sync::mpsc::UnboundedSender<CameraEvent>,
        config: &Config,
    ) -> ReloadTarget {
        ReloadTarget {
            ctx: UnitContext {
                site: config.site.id.clone(),
                gateway: config.gateway.id.clone(),
                sink: sink.clone(),
                events,
                models: crate::analysis::load_wanted_models(
                    &config.runtime,
                    config.enabled_cameras(),
                )
                .map(Arc::new),
            },
        }
    }
}

/// Re-reads `path`; when valid, applies its cameras and returns the config
/// now in force: the old one with the new `[[cameras]]`, `[[sensors]]`,
/// `[sensor_broker]` and `[fusion]` (the caller applies the last three, see
/// [`apply_sensor_sections`]). Other sections need a restart: a change there
/// is logged and not applied. New sensor settings whose inputs cannot be set
/// up (say, an unreadable CA file) are not taken: the running sensors stay.
/// Returns `None` (nothing changed) when the file is unreadable or invalid.
fn reload(
    path: &Path,
    old: &Config,
    pipeline: &Mutex<Pipeline>,
    target: &ReloadTarget,
) -> Option<Config> {
    tracing::info!(config = %path.display(), "reloading the config");
    let new = match Config::load(path) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "new config rejected; the running config stays");
            return None;
        }
    };
    let sections = [
        (
            "site",
            format!("{:?}", old.site) != format!("{:?}", new.site),
        ),
        (
            "gateway",
            format!("{:?}", old.gateway) != format!("{:?}", new.gateway),
        ),
        ("mqtt", mqtt_changed(&old.mqtt, &new.mqtt)),
        (
            "outbox",
            format!("{:?}", old.outbox) != format!("{:?}", new.outbox),
        ),
        (
            "runtime",
            format!("{:?}", old.runtime) != format!("{:?}", new.runtime),
        ),
        ("health", old.health != new.health),
    ];
    for (section, changed) in sections {
        if changed {
            tracing::warn!(
                section,
                "changes to [{section}] take effect only after a restart; not applied"
            );
        }
    }
    let wanted: Vec<CameraConfig> = new.enabled_cameras().cloned().collect();
    let report = lock(pipeline).apply(&wanted, &target.ctx);
    tracing::info!(
        added = ?report.added,
        removed = ?report.removed,
        restarted = ?report.restarted,
        unchanged = report.unchanged.len(),
        failed = ?report.failed,
        "config reloaded"
    );
    let mut in_force = old.clone();
    in_force.cameras = new.cameras;
    in_force.fusion = new.fusion;
    let mut with_sensors = in_force.clone();
    with_sensors.sensors = new.sensors;
    with_sensors.sensor_broker = new.sensor_broker;
    match crate::sensors::check(&with_sensors.sensor_sections()) {
        Ok(()) => Some(with_sensors),
        Err(e) => {
            tracing::error!(error = %e, "sensor config not applied; the running sensors stay");
            Some(in_force)
        }
    }
}

/// Reads the figures of the running daemon for `/healthz`, `/metrics` and
/// the stats topic.
#[derive(Clone)]
struct Monitor {
    site: String,
    gateway: String,
    health: HealthConfig,
    pipeline: Arc<Mutex<Pipeline>>,
    delivery: StatusProbe,
    started: Instant,
    rates: Arc<Mutex<Rates>>,
    /// Since when the broker link is down, for `/healthz`.
    link: Arc<monitor::LinkWatch>,
    /// Each sensor input's name and counters (empty without sensors);
    /// replaced when a reload restarts the inputs.
    sensors: Arc<Mutex<SensorFigures>>,
}

impl Monitor {
    fn snapshot(&self) -> Snapshot {
        let mut cameras: Vec<CameraSnapshot> = lock(&self.pipeline)
            .cameras
            .values()
            .map(CameraUnit::snapshot)
            .collect();
        lock(&self.rates).update(Instant::now(), &mut cameras);
        let (outbox, mut mqtt) = Snapshot::delivery_parts(&self.delivery.status());
        mqtt.down_for_s = self
            .link
            .observe(mqtt.connected, Instant::now())
            .as_secs_f64();
        Snapshot {
            schema: monitor::STATS_SCHEMA,
            site: self.site.clone(),
            gateway: self.gateway.clone(),
            at: chrono::Utc::now(),
            uptime_s: self.started.elapsed().as_secs(),
            cameras,
            models: monitor::model_timings().snapshot(),
            outbox,
            mqtt,
            sensors: lock(&self.sensors)
                .iter()
                .map(|(name, c)| monitor::SensorSnapshot::of(name, c))
                .collect(),
        }
    }

    fn answer(&self, path: &str) -> monitor::http::Response {
        use monitor::http::Response;
        let limits = monitor::Limits::of(&self.health);
        match path {
            "/healthz" => {
                let s = self.snapshot();
                let v = monitor::verdict(&s, &limits);
                let body = serde_json::json!({
                    "status": if v.healthy { "ok" } else { "unhealthy" },
                    "problems": v.problems,
                    "cameras": s.cameras.len(),
                    "outbox_writable": s.outbox.writable,
                    "mqtt_connected": s.mqtt.connected,
                });
                Response {
                    status: if v.healthy { 200 } else { 503 },
                    content_type: "application/json",
                    body: format!("{body}\n"),
                }
            }
            "/metrics" => {
                let s = self.snapshot();
                let healthy = monitor::verdict(&s, &limits).healthy;
                Response {
                    status: 200,
                    content_type: "text/plain; version=0.0.4; charset=utf-8",
                    body: monitor::prometheus::render(&s, healthy),
                }
            }
            "/" => Response::text(200, "estatewatch: /healthz, /metrics\n"),
            _ => Response::text(404, "not found; try /healthz or /metrics\n"),
        }
    }

    /// Starts the HTTP endpoint, the stats publisher and a rate sampler.
    async fn start(&self) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = Vec::new();
        if let Some(addr) = self.health.listen_addr() {
            match tokio::net::TcpListener::bind(addr).await {
                Ok(listener) => {
                    let me = self.clone();
                    let handler: monitor::http::Handler = Arc::new(move |p| me.answer(p));
                    tracing::info!(listen = %addr, "health endpoint: /healthz and /metrics");
                    tasks.push(tokio::spawn(monitor::http::serve(listener, handler)));
                }
                Err(e) => {
                    tracing::error!(listen = %addr, error = %e, "health endpoint NOT started (health.listen); alerting continues");
                }
            }
        }
        // Keeps fps rates and the broker link watch fresh even when nobody scrapes.
        let me = self.clone();
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(monitor::RATE_WINDOW);
            loop {
                tick.tick().await;
                let me = me.clone();
                let _ = tokio::task::spawn_blocking(move || me.snapshot()).await;
            }
        }));
        if self.health.stats_interval_s > 0 {
            let me = self.clone();
            let every = Duration::from_secs(self.health.stats_interval_s);
            tasks.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
                loop {
                    tick.tick().await;
                    let me = me.clone();
                    let _ = tokio::task::spawn_blocking(move || {
                        let s = me.snapshot();
                        match serde_json::to_vec(&s) {
                            Ok(payload) => me.delivery.publish_stats(payload),
                            Err(e) => tracing::warn!(error = %e, "cannot encode stats"),
                        }
                    })
                    .await;
                }
            }));
        }
        tasks
    }
}

/// The signals the daemon acts on.
enum Signal {
    Hangup,
    Stop(&'static str),
}

/// SIGTERM, SIGINT and SIGHUP streams, installed before anything starts so
/// an early SIGHUP does not kill the process.
struct Signals {
    streams: Option<(
        tokio::signal::unix::Signal,
        tokio::signal::unix::Signal,
        tokio::signal::unix::Signal,
    )>,
}

impl Signals {
    fn install() -> Signals {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
        ) {
            (Ok(t), Ok(i), Ok(h)) => Signals {
                streams: Some((t, i, h)),
            },
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                tracing::error!(error = %e, "cannot install signal handlers; stop with SIGKILL");
                Signals { streams: None }
            }
        }
    }

    async fn next(&mut self) -> Signal {
        let Some((term, int, hup)) = &mut self.streams else {
            std::future::pending::<()>().await;
            return Signal::Stop("none");
        };
        tokio::select! {
            _ = term.recv() => Signal::Stop("SIGTERM"),
            _ = int.recv() => Signal::Stop("SIGINT"),
            _ = hup.recv() => Signal::Hangup,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cam(extra: &str) -> CameraConfig {
        let text = format!(
            "[site]\nid = \"s\"\n[gateway]\nid = \"g\"\n[[cameras]]\nname = \"gate\"\nurl = \"rtsp://h/x\"\n{extra}"
        );
        let mut c = Config::parse(&text).unwrap();
        c.cameras.remove(0)
    }

    fn with_sensors(extra: &str) -> Config {
        Config::parse(&format!(
            "[site]\nid = \"s\"\n[gateway]\nid = \"g\"\n\
             [[sensors]]\nname = \"t\"\ntopic = \"z/t\"\nbroker = \"local\"\n\
             [[sensors.rules]]\ntype = \"threshold\"\nabove = 60.0\n{extra}"
        ))
        .unwrap()
    }

    #[test]
    fn sensor_and_sensor_broker_changes_restart_the_inputs_fusion_does_not() {
        let base = with_sensors("[sensor_broker]\nport = 1883\n");
        assert!(!sensors_changed(&base, &base.clone()));
        let mut rule = base.clone();
        rule.sensors[0].topic = "z/u".into();
        assert!(sensors_changed(&base, &rule));
        let broker = with_sensors("[sensor_broker]\nport = 1884\n");
        assert!(sensors_changed(&base, &broker));
        let fusion = with_sensors("[sensor_broker]\nport = 1883\n[fusion]\nwindow_s = 5\n");
        assert!(!sensors_changed(&base, &fusion));
    }

    #[test]
    fn any_camera_key_counts_as_a_change_inline_passwords_too() {
        let base = cam("");
        assert!(!camera_changed(&base, &cam("")));
        assert!(camera_changed(&base, &cam("stall_timeout_s = 11")));
        assert!(camera_changed(
            &cam("[cameras.analyzers.motion]\n"),
            &cam("[cameras.analyzers.motion]\nzones = [ { name = \"z\", polygon = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]] } ]")
        ));
        assert!(camera_changed(
            &cam("password = \"a\""),
            &cam("password = \"b\"")
        ));
    }

    #[test]
    fn a_password_file_whose_content_changed_has_another_digest() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "first\n").unwrap();
        let c = cam(&format!("password_file = {:?}", file.display().to_string()));
        let before = secret_digest(&c);
        assert!(before.is_some());
        assert_eq!(secret_digest(&c), before, "same content, same digest");
        std::fs::write(&file, "second\n").unwrap();
        assert!(!camera_changed(&c, &c), "the config text is the same");
        assert_ne!(secret_digest(&c), before, "but the secret is not");
        assert_eq!(secret_digest(&cam("")), None);
    }
}
