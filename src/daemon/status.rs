//! The running daemon's figures: what `/healthz`, `/metrics`, the console's
//! camera page and the stats topic report, read from the cameras, delivery
//! and the sensor inputs.

use super::unit::{CameraUnit, Pipeline};
use crate::base::lock;
use crate::delivery::StatusProbe;
use crate::evidence::serve::EvidenceServer;
use crate::evidence::store::EvidenceStore;
use crate::monitor::config::HealthConfig;
use crate::monitor::{self, CameraSnapshot, Rates, Snapshot};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Each running sensor's name and counters.
pub(super) type SensorFigures = Vec<(String, Arc<crate::sensors::SensorCounters>)>;

/// Each running sensor's name and counters, for [`Monitor`].
pub(super) fn sensor_counters(sensors: Option<&crate::sensors::Sensors>) -> SensorFigures {
    sensors.map(|s| s.counters().to_vec()).unwrap_or_default()
}

/// Reads the figures of the running daemon for `/healthz`, `/metrics` and
/// the stats topic.
#[derive(Clone)]
pub(super) struct Monitor {
    pub(super) site: String,
    pub(super) gateway: String,
    pub(super) health: HealthConfig,
    pub(super) pipeline: Arc<Mutex<Pipeline>>,
    pub(super) delivery: StatusProbe,
    pub(super) started: Instant,
    pub(super) rates: Arc<Mutex<Rates>>,
    /// Since when the broker link is down, for `/healthz`.
    pub(super) link: Arc<monitor::LinkWatch>,
    /// Each sensor input's name and counters (empty without sensors);
    /// replaced when a reload restarts the inputs.
    pub(super) sensors: Arc<Mutex<SensorFigures>>,
    /// The evidence folder's figures.
    pub(super) evidence: Arc<EvidenceStore>,
    /// Answers `/evidence/...`.
    pub(super) evidence_http: EvidenceServer,
    /// The incident desk (`None` with `[desk] enabled = false`): its figures
    /// for `/metrics`, and the handle the web console serves.
    pub(super) desk: Option<crate::desk::Desk>,
    /// Each `[[profiles]]` entry's figures, for the console.
    pub(super) profiles: Arc<crate::delivery::profile::ProfileSet>,
}

impl Monitor {
    pub(super) fn snapshot(&self) -> Snapshot {
        let mut cameras: Vec<CameraSnapshot> = lock(&self.pipeline)
            .cameras
            .values()
            .map(CameraUnit::snapshot)
            .collect();
        lock(&self.rates).update(Instant::now(), &mut cameras);
        let delivery = self.delivery.status();
        let (outbox, mut mqtt) = Snapshot::delivery_parts(&delivery);
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
            inference: monitor::inference_stats().snapshot(),
            outbox,
            mqtt,
            sensors: lock(&self.sensors)
                .iter()
                .map(|(name, c)| monitor::SensorSnapshot::of(name, c))
                .collect(),
            evidence: Some(self.evidence.stats()),
            desk: self.desk.as_ref().and_then(|d| match d.figures() {
                Ok(f) => Some(f),
                Err(e) => {
                    tracing::warn!(error = %e, "incident desk figures unavailable");
                    None
                }
            }),
            notifiers: delivery.notifiers,
            profiles: self.profiles.snapshot(),
        }
    }

    /// What the console reads: this monitor's snapshot and limits, the
    /// evidence answers and folder.
    pub(super) fn sources(
        &self,
        evidence_dir: &std::path::Path,
        timezone: crate::settings::SiteTimezone,
        site_name: &str,
        board: Option<crate::console::board::BoardSources>,
    ) -> crate::console::Sources {
        let me = self.clone();
        crate::console::Sources {
            snapshot: Arc::new(move || me.snapshot()),
            limits: monitor::Limits::of(&self.health),
            evidence: self.evidence_http.clone(),
            evidence_dir: evidence_dir.to_path_buf(),
            timezone,
            site_name: site_name.to_string(),
            board,
            calibrate: None,
        }
    }

    /// Starts the stats publisher and a rate sampler (the HTTP side is the
    /// console's, started by the daemon with [`Self::sources`]).
    pub(super) async fn start(&self) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = Vec::new();
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
