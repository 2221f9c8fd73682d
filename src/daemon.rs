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

use crate::config::Config;
use crate::delivery::Delivery;
use std::path::Path;
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
pub async fn run(config: Config) -> anyhow::Result<()> {
    let delivery = Delivery::start(&config).await?;
    let pipeline = match start_pipeline(&config, &delivery) {
        Ok(p) => p,
        Err(e) => {
            delivery.shutdown(Duration::ZERO).await;
            return Err(e);
        }
    };
    tracing::info!(
        site = %config.site.id,
        gateway = %config.gateway.id,
        cameras = config.enabled_cameras().count(),
        "estatewatch running"
    );
    let signal = wait_for_stop_signal().await;
    tracing::info!(signal, "stopping");
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

/// INTEGRATION POINT (lead): start the camera pipelines and analysis workers.
///
/// Cameras report online/offline on `delivery.camera_events()`; analysis
/// threads submit alerts to `delivery.sink()` (`AlertSink::submit` is
/// callable from std threads and never blocks for long). Register each
/// component's stop function with [`Pipeline::on_stop`], ingest before
/// analysis. With zero cameras this returns an empty pipeline.
pub fn start_pipeline(config: &Config, delivery: &Delivery) -> anyhow::Result<Pipeline> {
    let _sink = delivery.sink();
    let _camera_events = delivery.camera_events();
    let pipeline = Pipeline::default();
    if config.enabled_cameras().next().is_some() {
        tracing::warn!("cameras are configured but ingest is not wired in this build yet");
    }
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
