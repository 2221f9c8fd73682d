//! `estatewatch run`: wires ingest, analysis, alerts and delivery together and
//! shuts them down in order.
//!
//! Start: load the config, start [`Delivery`] (outbox, writer, publisher; it
//! does not need the broker to be up), then the producers ([`start_pipeline`]).
//! Stop (SIGINT or SIGTERM): stop the producers first so no new alerts
//! appear, then let delivery commit what is queued and give the publisher
//! [`SHUTDOWN_GRACE`] to deliver before it announces `offline` and
//! disconnects. With no cameras configured the daemon still runs and
//! delivers alerts already in the outbox.

use crate::analysis::worker::{self, AlertBuilder, AlertOrigin};
use crate::config::Config;
use crate::delivery::Delivery;
use crate::health::{self, Heartbeat, Notifier, Watchdog};
use crate::ingest::supervisor::spawn_camera;
use crate::ingest::FrameSlot;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long the publisher may keep delivering after a stop signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Loads the config at `path` and runs the daemon until SIGINT or SIGTERM.
pub fn run_from_file(path: &Path) -> anyhow::Result<()> {
    let config = Config::load(path)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("ew-runtime")
        .enable_all()
        .build()?;
    runtime.block_on(run(config))
}

/// Runs the daemon with an already loaded config until SIGINT or SIGTERM.
///
/// Under systemd (`$NOTIFY_SOCKET`), it sends `READY=1` once the cameras are
/// started, feeds the watchdog while every analysis worker ticks (see
/// [`crate::health`]), and sends `STOPPING=1` when a stop signal arrives.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let notifier = Arc::new(Notifier::from_env()?);
    let delivery = Delivery::start(&config).await?;
    let pipeline = match start_pipeline(&config, &delivery) {
        Ok(p) => p,
        Err(e) => {
            delivery.shutdown(Duration::ZERO).await;
            return Err(e);
        }
    };
    notifier.notify("READY=1");
    let feeder = health::watchdog_timeout_from_env().map(|timeout| {
        let mut watchdog = Watchdog::new(health::max_age_for(timeout));
        for (camera, beat) in &pipeline.heartbeats {
            watchdog.add(camera, beat.clone());
        }
        tokio::spawn(health::feed_watchdog(notifier.clone(), watchdog, timeout))
    });
    tracing::info!(
        site = %config.site.id,
        gateway = %config.gateway.id,
        cameras = config.enabled_cameras().count(),
        "estatewatch running"
    );
    let signal = wait_for_stop_signal().await;
    tracing::info!(signal, "stopping");
    notifier.notify("STOPPING=1");
    if let Some(feeder) = feeder {
        feeder.abort();
    }
    pipeline.stop();
    delivery.shutdown(SHUTDOWN_GRACE).await;
    tracing::info!("stopped");
    Ok(())
}

/// Everything that produces alerts: camera pipelines and analysis workers.
#[derive(Default)]
pub struct Pipeline {
    /// Called in order by [`Pipeline::stop`]: ingest first, then analysis.
    stoppers: Vec<Box<dyn FnOnce() + Send>>,
    /// Each camera's analysis worker heartbeat, for the watchdog.
    pub heartbeats: Vec<(String, Heartbeat)>,
}

impl Pipeline {
    /// Registers something to stop at shutdown (in registration order).
    pub fn on_stop(&mut self, f: impl FnOnce() + Send + 'static) {
        self.stoppers.push(Box::new(f));
    }

    /// Stops producers: ingest first so analysis can drain, then analysis.
    pub fn stop(self) {
        for stop in self.stoppers {
            stop();
        }
    }
}

/// Starts, for each enabled camera, its pipeline supervisor and its analysis
/// worker thread, joined by a one-frame [`FrameSlot`].
///
/// Cameras report online/offline on `delivery.camera_events()`; analysis
/// threads submit alerts to `delivery.sink()`. A camera whose analyzers
/// cannot be built (a missing model, say) stops the start with an error that
/// names it; a camera that cannot be reached does not: its supervisor keeps
/// retrying and reports it offline.
pub fn start_pipeline(config: &Config, delivery: &Delivery) -> anyhow::Result<Pipeline> {
    let mut pipeline = Pipeline::default();
    let mut workers = Vec::new();
    let models = crate::analysis::load_wanted_models(&config.runtime, config.enabled_cameras());
    for cam in config.enabled_cameras() {
        let analyzers = crate::analysis::build_analyzers_with(cam, models.as_ref())?;
        let slot = FrameSlot::new();
        let camera = spawn_camera(cam.clone(), slot.clone(), delivery.camera_events())
            .map_err(|e| anyhow::anyhow!("camera {}: {e}", cam.name))?;
        let stop = Arc::new(AtomicBool::new(false));
        let builder = AlertBuilder::new(AlertOrigin {
            site: config.site.id.clone(),
            gateway: config.gateway.id.clone(),
            camera: cam.name.clone(),
        });
        let sink = delivery.sink();
        let span = tracing::info_span!("camera", name = %cam.name);
        let worker_slot = slot.clone();
        let worker_stop = stop.clone();
        let heartbeat = Heartbeat::new();
        pipeline
            .heartbeats
            .push((cam.name.clone(), heartbeat.clone()));
        let worker = std::thread::Builder::new()
            .name(format!("ew-analyse-{}", cam.name))
            .spawn(move || {
                let _enter = span.enter();
                worker::run(worker_slot, analyzers, builder, worker_stop, heartbeat, |alert| {
                    let (kind, id) = (alert.kind, alert.id);
                    if let Err(e) = sink.submit(alert) {
                        tracing::error!(%id, kind = kind.as_str(), error = %e, "alert not accepted by delivery");
                    }
                })
            })?;
        pipeline.on_stop(move || {
            camera.stop();
            slot.close();
        });
        workers.push((stop, worker));
    }
    pipeline.on_stop(move || {
        for (stop, worker) in workers {
            stop.store(true, Ordering::Relaxed);
            if worker.join().is_err() {
                tracing::error!("an analysis thread panicked");
            }
        }
    });
    Ok(pipeline)
}

/// Waits for SIGINT or SIGTERM; returns the signal's name.
async fn wait_for_stop_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let (mut term, mut int) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(t), Ok(i)) => (t, i),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, "cannot install signal handlers; stop with SIGKILL");
            std::future::pending::<()>().await;
            return "none";
        }
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}
