//! The camera watch task: runs [`CameraWatch`] on the real clock, turning
//! the cameras' online/offline events into alerts and retained camera state.

use crate::alert::camera::{CameraWatch, Output as CameraOutput};
use crate::alert::submit::AlertSubmit;
use crate::config::Config;
use crate::delivery::{Delivery, StatusProbe};
use crate::ingest::CameraEvent;
use std::sync::Arc;
use std::time::Duration;

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
/// [`CameraUnit::start`](super::CameraUnit::start)), submitting to `delivery`. Must be called inside a
/// tokio runtime.
pub fn start_camera_watch(config: &Config, delivery: &Delivery) -> CameraWatchTask {
    start_camera_watch_with(config, Arc::new(delivery.sink()), delivery.probe())
}

/// [`start_camera_watch`] submitting to `sink` (delivery's, or one in front
/// of it) and publishing the retained camera state through `retained`.
pub fn start_camera_watch_with(
    config: &Config,
    sink: Arc<dyn AlertSubmit>,
    retained: StatusProbe,
) -> CameraWatchTask {
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
    let task = tokio::spawn(camera_loop(rx, watch, sink, retained, stop_rx));
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
    sink: Arc<dyn AlertSubmit>,
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
