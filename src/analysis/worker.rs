//! The per-camera analysis worker: takes frames from the camera's slot, runs
//! its analyzers, and turns their findings into alerts with snapshots.

use super::{Analyzer, Finding};
use crate::alert::snapshot::{self, ALERT_RED};
use crate::alert::{Alert, AlertKind, AlertState};
use crate::health::Heartbeat;
use crate::ingest::{Frame, FrameSlot, Take};
use crate::monitor::AnalysisStats;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Who the alerts are from.
#[derive(Debug, Clone)]
pub struct AlertOrigin {
    pub site: String,
    pub gateway: String,
    pub camera: String,
}

/// Turns findings into alerts: keeps the `event` id of each open incident.
pub struct AlertBuilder {
    origin: AlertOrigin,
    open: HashMap<(AlertKind, u64), Uuid>,
    /// Attach snapshots to alerts (off in tests that only count alerts).
    pub snapshots: bool,
    /// Caption drawn on every snapshot (the camera's display name and the
    /// site-local time; `alert::caption`). Default: none (replay, tests).
    pub caption: Option<crate::alert::caption::Caption>,
}

impl AlertBuilder {
    pub fn new(origin: AlertOrigin) -> AlertBuilder {
        AlertBuilder {
            origin,
            open: HashMap::new(),
            snapshots: true,
            caption: None,
        }
    }

    /// Builds the alert for `finding`, seen on `frame`.
    pub fn build(&mut self, frame: &Frame, finding: Finding) -> Alert {
        let mut alert = Alert::new(
            finding.kind,
            finding.severity,
            &self.origin.site,
            &self.origin.gateway,
        );
        let key = (finding.kind, finding.incident);
        alert.event = match finding.state {
            AlertState::New => {
                self.open.insert(key, alert.id);
                alert.id
            }
            AlertState::Update => *self.open.entry(key).or_insert(alert.id),
            AlertState::End => self.open.remove(&key).unwrap_or(alert.id),
        };
        alert.state = finding.state;
        alert.camera = Some(self.origin.camera.clone());
        alert.zone = finding.zone;
        alert.detected_at = DateTime::<Utc>::from(frame.captured_at);
        alert.media_time_ms = frame.pts.map(|d| d.as_millis() as u64);
        alert.score = finding.score.clamp(0.0, 1.0);
        alert.bbox = finding.bbox;
        alert.details = finding.details;
        if self.snapshots {
            let picture = match finding.picture {
                Some(p) => Ok(p),
                None => snapshot::to_image(&frame.rgb, frame.width, frame.height).map(|mut img| {
                    if let Some(b) = finding.bbox {
                        snapshot::draw_box(&mut img, b, ALERT_RED, 2);
                    }
                    img
                }),
            };
            let caption = self.caption.as_ref();
            let picture = picture.map(|mut p| {
                if let Some(c) = caption {
                    c.draw(&mut p, alert.detected_at);
                }
                p
            });
            match picture.and_then(|p| snapshot::encode(&p)) {
                Ok(s) => alert.snapshot = Some(s),
                Err(e) => tracing::warn!(error = %e, "alert sent without snapshot"),
            }
        }
        alert
    }
}

/// Runs `analyzers` over one frame and returns the alerts.
pub fn analyse(
    frame: &Frame,
    analyzers: &mut [Box<dyn Analyzer>],
    builder: &mut AlertBuilder,
) -> Vec<Alert> {
    analyse_timed(frame, analyzers, builder, None)
}

/// [`analyse`], recording each analyzer's time in `stats` when given.
pub fn analyse_timed(
    frame: &Frame,
    analyzers: &mut [Box<dyn Analyzer>],
    builder: &mut AlertBuilder,
    stats: Option<&AnalysisStats>,
) -> Vec<Alert> {
    let mut alerts = Vec::new();
    for a in analyzers.iter_mut() {
        let started = Instant::now();
        let findings = a.process(frame);
        if let Some(s) = stats {
            s.analyzers.record(a.name(), started.elapsed());
        }
        for finding in findings {
            alerts.push(builder.build(frame, finding));
        }
    }
    if let Some(s) = stats {
        s.frame_done();
    }
    alerts
}

/// The worker loop: runs until `stop` is set or the slot is closed. Each alert
/// goes to `sink` as soon as it is built. `heartbeat` ticks on every turn
/// (frame or 200 ms timeout), so a stale heartbeat means a hung analyzer
/// (see [`crate::health::Watchdog`]). Frames and analyzer times are
/// counted in `stats`.
pub fn run(
    slot: Arc<FrameSlot>,
    mut analyzers: Vec<Box<dyn Analyzer>>,
    mut builder: AlertBuilder,
    stop: Arc<AtomicBool>,
    heartbeat: Heartbeat,
    stats: Arc<AnalysisStats>,
    mut sink: impl FnMut(Alert),
) {
    let hang_at = test_hang_deadline();
    while !stop.load(Ordering::Relaxed) {
        if hang_at.is_some_and(|t| Instant::now() >= t) {
            // Test hook only: pretend an analyzer hung (no more heartbeats).
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        heartbeat.beat();
        match slot.take(Duration::from_millis(200)) {
            Take::Frame(frame) => {
                for alert in analyse_timed(&frame, &mut analyzers, &mut builder, Some(&stats)) {
                    sink(alert);
                }
            }
            Take::Timeout => {}
            Take::Closed => break,
        }
    }
}

/// TEST HOOK, not a setting: when `ESTATEWATCH_TEST_HANG_ANALYSIS_AFTER_MS`
/// is set, every worker stops ticking its heartbeat that many ms after it
/// starts (as if an analyzer hung), so tests can prove the systemd watchdog
/// stops being fed. Never set it in production.
fn test_hang_deadline() -> Option<Instant> {
    let ms: u64 = std::env::var("ESTATEWATCH_TEST_HANG_ANALYSIS_AFTER_MS")
        .ok()?
        .parse()
        .ok()?;
    tracing::warn!(ms, "test hook: analysis will simulate a hang");
    Some(Instant::now() + Duration::from_millis(ms))
}
