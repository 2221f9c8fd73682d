//! `estatewatch run`: wires ingest, analysis, alerts and delivery together,
//! applies config reloads, and shuts them down in order.
//!
//! Start: load the config, start [`Delivery`] (outbox, writer, publisher; it
//! does not need the broker to be up), then the incident desk
//! ([`start_desk`]: its file, its stage in front of delivery's sink, the
//! platform commands), then [`Evidence`] (the evidence
//! stage between fusion and delivery, and the folder's sweeper; `[evidence]`
//! changes take effect at the next start), then the camera watch
//! ([`start_camera_watch`], camera events to alerts), then the producers
//! ([`start_pipeline`]), then the monitor (the stats topic, see
//! [`crate::monitor`]) and the console (pages, `/healthz`, `/metrics`,
//! `/evidence`, see [`crate::console`]; `[console]` changes take effect at
//! the next start). The notifiers start with delivery
//! ([`Delivery::start_notifiers`]); a reload applies `[[notifiers]]` and
//! `[[profiles]]` ([`reload::apply_notify_sections`]).
//! Reload (SIGHUP, `estatewatch reload`, or a save on the console's
//! calibration page, which asks over a channel and is told the outcome):
//! the config file is read and
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
//! appear, then let the evidence stage store what it holds, then let
//! delivery commit what is queued and give the publisher
//! [`SHUTDOWN_GRACE`] to deliver before it announces `offline` and
//! disconnects. With no cameras configured the daemon still runs and
//! delivers alerts already in the outbox.
//!
//! The rooms: [`unit`](mod@unit) (one camera's ingest and analysis, and the set of
//! them), [`reload`](mod@reload) (config reload: what changed and applying it),
//! [`signals`] (SIGHUP/SIGTERM/SIGINT, `estatewatch reload`), [`watch`] (the
//! camera watch task) and [`status`] (the figures behind `/healthz`,
//! `/metrics` and the stats topic). This file wires them: start, main loop,
//! shutdown order.

mod reload;
mod signals;
mod status;
mod unit;
mod watch;

pub use reload::{sensors_changed, ReloadReport};
pub use signals::{request_reload, request_selftest};
pub use unit::{camera_changed, secret_digest, start_pipeline, CameraUnit, Pipeline, UnitContext};
pub use watch::{start_camera_watch, start_camera_watch_with, CameraWatchTask};

use crate::alert::fusion::FusedSink;
use crate::alert::submit::AlertSubmit;
use crate::base::lock;
use crate::config::Config;
use crate::console::calibrate::{
    CalibrateSources, RawFrame, ReloadOutcome, ReloadRequest, ReloadSummary,
};
use crate::delivery::homeassistant::{kinds_of_analyzer, HaCamera, HaSink, HomeAssistant};
use crate::delivery::mqtt::Topics;
use crate::delivery::profile::{ProfileSet, ProfileSink};
use crate::delivery::Delivery;
use crate::desk::{CommandListener, Desk};
use crate::evidence::Evidence;
use crate::health::{self, Notifier, Watchdog};
use crate::monitor;
use reload::{apply_notify_sections, apply_sensor_sections, reload, ReloadTarget};
use signals::{Signal, Signals};
use status::{sensor_counters, Monitor};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long the publisher may keep delivering after a stop signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// What the incident board lists: the desk, the kinds that open incidents
/// and the cameras with their display names.
fn board_sources(config: &Config, desk: crate::desk::Desk) -> crate::console::board::BoardSources {
    crate::console::board::BoardSources {
        desk,
        kinds: config
            .desk
            .kinds
            .iter()
            .map(|k| k.as_str().to_string())
            .collect(),
        cameras: config
            .cameras
            .iter()
            .map(|c| {
                let display = c.display_name.clone().unwrap_or_else(|| c.name.clone());
                (c.name.clone(), display)
            })
            .collect(),
    }
}

/// Starts the console on its address (`[console] bind`, else `[health]
/// listen`); `None` when HTTP is off or the address cannot be bound (logged:
/// alerting goes on without it). `desk` feeds the incident board.
async fn start_console(
    config: &Config,
    monitor: &Monitor,
    desk: Option<crate::desk::Desk>,
    calibrate: Option<CalibrateSources>,
) -> Option<crate::console::Console> {
    let addr = config.console.bind_addr(&config.health.listen)?;
    let site_name = config
        .site
        .name
        .clone()
        .unwrap_or_else(|| config.site.id.clone());
    let board = desk.map(|d| board_sources(config, d));
    let mut sources = monitor.sources(
        &config.evidence.dir,
        config.site.timezone,
        &site_name,
        board,
    );
    sources.calibrate = calibrate;
    match crate::console::Console::start(config.console.clone(), addr, sources).await {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::error!(error = %e, "console and /healthz, /metrics NOT started; alerting continues");
            None
        }
    }
}

/// What the console's calibration page needs from the daemon: the config
/// file, `check-config`'s checks ([`crate::config::check_text`]), a fresh
/// frame of a running camera (its `StillTap`, see `unit.rs`) and the way to
/// ask the main loop for a reload (answered on the request's channel).
fn calibrate_sources(
    path: &Path,
    pipeline: &Arc<Mutex<Pipeline>>,
    reload: tokio::sync::mpsc::Sender<ReloadRequest>,
) -> CalibrateSources {
    let pipeline = pipeline.clone();
    CalibrateSources {
        config_path: path.to_path_buf(),
        check: Arc::new(|path: &Path, text: &str| {
            crate::config::check_text(path, text)
                .map(|c| c.warnings)
                .map_err(|e| e.problems())
        }),
        still: Arc::new(move |camera: &str, timeout: Duration| {
            // The lock is held only to find the camera, not while waiting.
            let tap = lock(&pipeline).cameras.get(camera).map(|u| u.still_tap())?;
            tap.next_frame(timeout).map(|f| RawFrame {
                width: f.width,
                height: f.height,
                rgb: f.rgb,
            })
        }),
        reload,
    }
}

/// What the main loop waits for.
enum Asked {
    Signal(Signal),
    Console(ReloadRequest),
}

/// A reload's camera changes, as the console shows them.
fn reload_summary(r: ReloadReport) -> ReloadSummary {
    ReloadSummary {
        added: r.added,
        removed: r.removed,
        restarted: r.restarted,
        unchanged: r.unchanged,
        failed: r.failed,
    }
}

/// Opens the incident desk (`[desk]`, unless disabled) on delivery's sink
/// and starts listening for platform commands (`[desk]
/// platform_commands`). The returned [`Desk`] is the handle the web console
/// serves (the monitor keeps a clone, see `status::Monitor::desk`).
pub fn start_desk(
    config: &Config,
    delivery: &Delivery,
) -> anyhow::Result<(Option<Desk>, Option<CommandListener>)> {
    if !config.desk.enabled {
        return Ok((None, None));
    }
    // Like a failing outbox file, a desk file that cannot be opened does not
    // stop the daemon: alerts are still delivered, the desk is missing.
    let desk = match Desk::open(&config.desk_sections(), delivery.sink()) {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "incident desk unavailable; alerts are delivered without it");
            return Ok((None, None));
        }
    };
    match desk.end_alerts_left_open() {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            incidents = n,
            "incident desk: alerts the last run left open marked ended"
        ),
        Err(e) => {
            tracing::warn!(error = %e, "incident desk: cannot mark the last run's alerts ended")
        }
    }
    let commands = if config.desk.platform_commands {
        Some(desk.listen_commands(&config.mqtt, &config.gateway.id)?)
    } else {
        None
    };
    Ok((Some(desk), commands))
}

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
    // Notifiers read the outbox beside the publisher, each from its cursor.
    let notify_ctx = config.notify_context();
    let started_notifiers = crate::delivery::notify::specs(&config.notifiers, &notify_ctx)
        .map_err(anyhow::Error::from)
        .and_then(|specs| Ok(delivery.start_notifiers(specs, notify_ctx)?));
    if let Err(e) = started_notifiers {
        delivery.shutdown(Duration::ZERO).await;
        return Err(e);
    }
    let (desk, commands) = match start_desk(&config, &delivery) {
        Ok(d) => d,
        Err(e) => {
            delivery.shutdown(Duration::ZERO).await;
            return Err(e);
        }
    };
    // With `[homeassistant]`, every alert is shown to its entities on the
    // way into delivery.
    let ha = HomeAssistant::start(
        &config.homeassistant,
        Topics::new(&config.mqtt.topic_prefix, &config.gateway.id),
        &config.gateway.id,
        delivery.probe(),
        ha_cameras(&config),
    );
    // Each alert's mapped messages (`[[profiles]]`) are queued right after
    // it (`delivery::profile`); both stages share one set of profiles, which
    // a reload replaces.
    let profiles = ProfileSet::new(&config.profiles, config.notify_context());
    let profiled = |next: Arc<dyn AlertSubmit>| -> Arc<dyn AlertSubmit> {
        Arc::new(ProfileSink::new(profiles.clone(), delivery.sink(), next))
    };
    // Video alerts pass the evidence stage (stored picture, evidence paths)
    // on their way to delivery; the desk sees each incident alert delivery
    // accepted.
    let to_delivery: Arc<dyn AlertSubmit> = match &desk {
        Some(d) => Arc::new(d.stage(delivery.sink())),
        None => Arc::new(delivery.sink()),
    };
    let to_delivery = profiled(to_delivery);
    let evidence = match Evidence::start(
        &config.evidence,
        Arc::new(delivery.probe()),
        HaSink::new(ha.clone(), to_delivery),
    ) {
        Ok(e) => e,
        Err(e) => {
            delivery.shutdown(Duration::ZERO).await;
            return Err(e.into());
        }
    };
    let cameras = start_camera_watch_with(
        &config,
        Arc::new(HaSink::new(ha.clone(), profiled(Arc::new(delivery.sink())))),
        delivery.probe(),
    );
    // Every producer submits through this one sink, so fusion sees them all.
    let alerts = FusedSink::new(evidence.sink(), &config.fusion);
    let started = Instant::now();
    let pipeline = match start_pipeline(&config, &alerts, cameras.events()) {
        Ok(p) => Arc::new(Mutex::new(p)),
        Err(e) => {
            cameras.shutdown().await;
            let _ = tokio::task::spawn_blocking(move || evidence.shutdown()).await;
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
            let _ = tokio::task::spawn_blocking(move || evidence.shutdown()).await;
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
        evidence: evidence.store(),
        evidence_http: evidence.server(),
        desk: desk.clone(),
        profiles: profiles.clone(),
    };
    let monitor_tasks = monitor.start().await;
    let (reload_tx, mut console_reloads) = tokio::sync::mpsc::channel(4);
    let calibrate = config_path
        .as_ref()
        .map(|path| calibrate_sources(path, &pipeline, reload_tx));
    let console = start_console(&config, &monitor, desk.clone(), calibrate).await;
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
        // A reload comes from SIGHUP or from the console (its calibration
        // page saved the file); both take the same path.
        let asked = tokio::select! {
            s = signals.next() => Asked::Signal(s),
            Some(r) = console_reloads.recv() => Asked::Console(r),
        };
        let (signal, reply) = match asked {
            Asked::Signal(s) => (s, None),
            Asked::Console(r) => (Signal::Hangup, Some(r.reply)),
        };
        match signal {
            Signal::Hangup => {
                notifier.notify(&format!(
                    "RELOADING=1\nMONOTONIC_USEC={}",
                    health::monotonic_usec()
                ));
                let outcome = match &config_path {
                    Some(path) => {
                        let (p, d) = (
                            pipeline.clone(),
                            ReloadTarget::of(&alerts, cameras.events(), &config),
                        );
                        let (path, old) = (path.clone(), config.clone());
                        match tokio::task::spawn_blocking(move || reload(&path, &old, &p, &d)).await
                        {
                            Ok(Ok((new, report))) => {
                                apply_sensor_sections(&config, &new, &mut sensors, &alerts).await;
                                apply_notify_sections(&config, &new, &delivery, &profiles).await;
                                if let Some(ha) = &ha {
                                    ha.set_cameras(ha_cameras(&new));
                                }
                                if let Some(d) = &desk {
                                    d.set_cameras(new.desk_sections().cameras);
                                }
                                *lock(&monitor.sensors) = sensor_counters(sensors.as_ref());
                                config = new;
                                ReloadOutcome::Applied(reload_summary(report))
                            }
                            Ok(Err(e)) => ReloadOutcome::Rejected(e),
                            Err(e) => {
                                tracing::error!(error = %e, "reload failed");
                                ReloadOutcome::Rejected(format!("reload failed: {e}"))
                            }
                        }
                    }
                    None => {
                        tracing::warn!("SIGHUP: no config file to reload; ignored");
                        ReloadOutcome::Rejected("the daemon runs without a config file".into())
                    }
                };
                if let Some(reply) = reply {
                    let _ = reply.send(outcome);
                }
                notifier.notify("READY=1");
            }
            Signal::Selftest => {
                let p = lock(&pipeline);
                let asked: Vec<&str> = p
                    .cameras
                    .iter()
                    .filter(|(_, unit)| unit.request_selftest())
                    .map(|(name, _)| name.as_str())
                    .collect();
                tracing::info!(cameras = ?asked, "SIGUSR1: self-test requested");
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
    if let Some(c) = console {
        c.stop();
    }
    let pipeline = std::mem::take(&mut *lock(&pipeline));
    let _ = tokio::task::spawn_blocking(move || pipeline.stop()).await;
    if let Some(sensors) = sensors {
        sensors.shutdown().await;
    }
    cameras.shutdown().await;
    if let Some(c) = commands {
        c.stop().await;
    }
    let _ = tokio::task::spawn_blocking(move || evidence.shutdown()).await;
    drop(ha);
    drop(desk);
    delivery.shutdown(SHUTDOWN_GRACE).await;
    tracing::info!("stopped");
    Ok(())
}

/// The enabled cameras and the incident kinds their analyzers raise, for
/// the Home Assistant entities.
fn ha_cameras(config: &Config) -> Vec<HaCamera> {
    config
        .enabled_cameras()
        .map(|c| HaCamera {
            name: c.name.clone(),
            kinds: c
                .analyzers
                .enabled()
                .iter()
                .flat_map(|(key, _)| kinds_of_analyzer(key).iter().copied())
                .collect(),
        })
        .filter(|c| !c.kinds.is_empty())
        .collect()
}
