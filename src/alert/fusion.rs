//! Fusion of camera and sensor alerts in the same place (`docs/sensors.md`),
//! its `[fusion]` config section, and [`FusedSink`], the sink every producer
//! submits through.
//!
//! The rule: a camera `fire` or `smoke` alert and a `sensor` alert from a
//! sensor that watches over the same camera (and zone, when the sensor names
//! one) whose `detected_at` times are at most `window_s` apart are one
//! incident seen twice. Whichever of the two arrives second is raised to
//! `critical` and carries `details.fusion` linking the first one's `id`. The
//! first has already been delivered as it was; a sensor alert with no camera
//! confirmation keeps its own severity. Only `new` alerts take part.
//!
//! [`Fusion::apply`] runs inside [`FusedSink::submit`], where alerts are
//! built and before delivery sees them: the analysis workers and the sensor
//! inputs share one `FusedSink`, so every producer's alerts pass through it
//! in submission order.

use super::submit::{AlertSubmit, SubmitError};
use super::{Alert, AlertKind, AlertState, Severity};
use crate::base::lock;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// `[fusion]`: pairing sensor alerts with camera alerts in the same place.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FusionConfig {
    /// Turn fusion on. Default: true.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// A camera `fire`/`smoke` alert and a sensor alert at most this many
    /// seconds apart are fused, 1..=3600. Default: 60.
    #[serde(default = "default_window_s")]
    pub window_s: u64,
}

impl Default for FusionConfig {
    fn default() -> FusionConfig {
        FusionConfig {
            enabled: true,
            window_s: default_window_s(),
        }
    }
}

fn default_true() -> bool {
    true
}

fn default_window_s() -> u64 {
    60
}

impl FusionConfig {
    /// What is wrong with the section, as (key, message) pairs, e.g.
    /// `("window_s", "must be 1..=3600, got 0")`; empty when it is valid.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        if !(1..=3600).contains(&self.window_s) {
            p.push((
                "window_s",
                format!("must be 1..=3600, got {}", self.window_s),
            ));
        }
        p
    }
}

/// How many recent alerts are remembered at most (oldest forgotten first).
const MAX_REMEMBERED: usize = 1024;

#[derive(Debug, Clone)]
struct Seen {
    id: Uuid,
    kind: AlertKind,
    camera: String,
    zone: Option<String>,
    at: DateTime<Utc>,
}

/// Recent fire, smoke and sensor alerts, for pairing.
#[derive(Debug)]
pub struct Fusion {
    window: chrono::Duration,
    window_s: u64,
    recent: VecDeque<Seen>,
}

fn is_camera_kind(k: AlertKind) -> bool {
    matches!(k, AlertKind::Fire | AlertKind::Smoke)
}

impl Fusion {
    pub fn new(cfg: &FusionConfig) -> Fusion {
        Fusion {
            window: chrono::Duration::seconds(cfg.window_s as i64),
            window_s: cfg.window_s,
            recent: VecDeque::new(),
        }
    }

    /// Takes the window of `cfg`; the alerts remembered so far stay, and
    /// are judged by the new window from the next alert on.
    pub fn set_window(&mut self, cfg: &FusionConfig) {
        self.window = chrono::Duration::seconds(cfg.window_s as i64);
        self.window_s = cfg.window_s;
    }

    /// Raises `alert` to critical and links it when it pairs with a recent
    /// alert of the other side; then remembers it.
    pub fn apply(&mut self, alert: &mut Alert) {
        let camera_side = is_camera_kind(alert.kind);
        if alert.state != AlertState::New || !(camera_side || alert.kind == AlertKind::Sensor) {
            return;
        }
        let Some(camera) = alert.camera.clone() else {
            return;
        };
        let newest = alert.detected_at;
        let horizon = newest - self.window;
        self.recent.retain(|s| s.at >= horizon);
        let partner = self
            .recent
            .iter()
            .rev()
            .find(|s| {
                is_camera_kind(s.kind) != camera_side
                    && s.camera == camera
                    && zones_meet(s.zone.as_deref(), alert.zone.as_deref())
                    && (newest - s.at).abs() <= self.window
            })
            .cloned();
        if let Some(p) = partner {
            let before = alert.severity;
            alert.severity = Severity::Critical;
            let link = serde_json::json!({
                "linked": p.id,
                "linked_kind": p.kind.as_str(),
                "rule": "camera_and_sensor_within_window",
                "window_s": self.window_s,
                "severity_before": before,
            });
            match alert.details.as_object_mut() {
                Some(d) => {
                    d.insert("fusion".into(), link);
                }
                None => alert.details = serde_json::json!({ "fusion": link }),
            }
            tracing::warn!(id = %alert.id, linked = %p.id, kind = alert.kind.as_str(), linked_kind = p.kind.as_str(), %camera, "camera and sensor agree: alert raised to critical");
        }
        if self.recent.len() >= MAX_REMEMBERED {
            self.recent.pop_front();
        }
        self.recent.push_back(Seen {
            id: alert.id,
            kind: alert.kind,
            camera,
            zone: alert.zone.clone(),
            at: alert.detected_at,
        });
    }
}

/// Where producers submit alerts: applies [`Fusion`] while `[fusion]` is
/// enabled, then hands each alert on (to delivery's sink in the daemon).
/// Cheap to clone; every clone shares one fusion state, so
/// [`set_fusion`](Self::set_fusion) (a config reload) reaches every producer.
#[derive(Clone)]
pub struct FusedSink {
    next: Arc<dyn AlertSubmit>,
    /// `None` while fusion is off.
    fusion: Arc<Mutex<Option<Fusion>>>,
}

impl FusedSink {
    /// Fuses as `cfg` says, then submits to `next`.
    pub fn new(next: impl AlertSubmit + 'static, cfg: &FusionConfig) -> FusedSink {
        FusedSink {
            next: Arc::new(next),
            fusion: Arc::new(Mutex::new(cfg.enabled.then(|| Fusion::new(cfg)))),
        }
    }

    /// Applies a new `[fusion]` section (config reload): turns fusion on or
    /// off, or changes its window while keeping the alerts it remembers.
    pub fn set_fusion(&self, cfg: &FusionConfig) {
        let mut fusion = lock(&self.fusion);
        match (fusion.as_mut(), cfg.enabled) {
            (Some(f), true) => f.set_window(cfg),
            (None, true) => *fusion = Some(Fusion::new(cfg)),
            (_, false) => *fusion = None,
        }
    }

    /// Fuses `alert` with a recent alert of the other side (if any), then
    /// submits it.
    pub fn submit(&self, mut alert: Alert) -> Result<(), SubmitError> {
        if let Some(f) = lock(&self.fusion).as_mut() {
            f.apply(&mut alert);
        }
        self.next.submit(alert)
    }
}

impl AlertSubmit for FusedSink {
    fn submit(&self, alert: Alert) -> Result<(), SubmitError> {
        FusedSink::submit(self, alert)
    }
}

/// A missing zone on either side matches any zone.
fn zones_meet(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(kind: AlertKind, camera: &str, zone: Option<&str>, at_s: i64) -> Alert {
        let mut a = Alert::new(kind, Severity::Warning, "s", "g");
        a.camera = Some(camera.into());
        a.zone = zone.map(str::to_string);
        a.detected_at = DateTime::from_timestamp(1_800_000_000 + at_s, 0).unwrap();
        a.details = serde_json::json!({});
        a
    }

    fn fusion() -> Fusion {
        Fusion::new(&FusionConfig {
            enabled: true,
            window_s: 60,
        })
    }

    #[test]
    fn camera_then_sensor_inside_the_window_is_critical_and_linked() {
        let mut f = fusion();
        let mut smoke = alert(AlertKind::Smoke, "shed", Some("bikes"), 0);
        f.apply(&mut smoke);
        assert_eq!(smoke.severity, Severity::Warning);
        let mut sensor = alert(AlertKind::Sensor, "shed", None, 45);
        f.apply(&mut sensor);
        assert_eq!(sensor.severity, Severity::Critical);
        assert_eq!(sensor.details["fusion"]["linked"], smoke.id.to_string());
        assert_eq!(sensor.details["fusion"]["severity_before"], "warning");
    }

    #[test]
    fn sensor_then_camera_inside_the_window_is_critical_and_linked() {
        let mut f = fusion();
        let mut sensor = alert(AlertKind::Sensor, "shed", None, 0);
        f.apply(&mut sensor);
        let mut fire = alert(AlertKind::Fire, "shed", Some("bikes"), 59);
        f.apply(&mut fire);
        assert_eq!(fire.severity, Severity::Critical);
        assert_eq!(fire.details["fusion"]["linked"], sensor.id.to_string());
        assert_eq!(fire.details["fusion"]["linked_kind"], "sensor");
    }

    #[test]
    fn a_new_window_keeps_what_was_remembered() {
        let mut f = fusion();
        let mut fire = alert(AlertKind::Fire, "shed", None, 0);
        f.apply(&mut fire);
        f.set_window(&FusionConfig {
            enabled: true,
            window_s: 120,
        });
        let mut sensor = alert(AlertKind::Sensor, "shed", None, 90);
        f.apply(&mut sensor);
        assert_eq!(sensor.severity, Severity::Critical);
        assert_eq!(sensor.details["fusion"]["linked"], fire.id.to_string());
        assert_eq!(sensor.details["fusion"]["window_s"], 120);
    }

    #[test]
    fn outside_the_window_or_elsewhere_nothing_changes() {
        let mut f = fusion();
        let mut fire = alert(AlertKind::Fire, "shed", Some("bikes"), 0);
        f.apply(&mut fire);
        // Too late.
        let mut late = alert(AlertKind::Sensor, "shed", None, 61);
        f.apply(&mut late);
        assert_eq!(late.severity, Severity::Warning);
        assert!(late.details.get("fusion").is_none());
        // Another camera, another zone.
        let mut f = fusion();
        f.apply(&mut alert(AlertKind::Fire, "shed", Some("bikes"), 0));
        let mut other_cam = alert(AlertKind::Sensor, "bin-room", None, 10);
        f.apply(&mut other_cam);
        let mut other_zone = alert(AlertKind::Sensor, "shed", Some("door"), 10);
        f.apply(&mut other_zone);
        assert_eq!(other_cam.severity, Severity::Warning);
        assert_eq!(other_zone.severity, Severity::Warning);
        // Two sensor alerts do not fuse with each other, nor motion with a sensor.
        let mut f = fusion();
        f.apply(&mut alert(AlertKind::Sensor, "shed", None, 0));
        f.apply(&mut alert(AlertKind::Motion, "shed", None, 1));
        let mut second = alert(AlertKind::Sensor, "shed", None, 2);
        f.apply(&mut second);
        assert_eq!(second.severity, Severity::Warning);
    }

    /// Keeps what it is given, like a delivery that never refuses.
    #[derive(Default)]
    struct Kept(Mutex<Vec<Alert>>);

    impl AlertSubmit for Kept {
        fn submit(&self, alert: Alert) -> Result<(), SubmitError> {
            lock(&self.0).push(alert);
            Ok(())
        }
    }

    #[test]
    fn the_fused_sink_fuses_before_handing_on_and_a_reload_reaches_every_clone() {
        let kept = Arc::new(Kept::default());
        let sink = FusedSink::new(kept.clone(), &FusionConfig::default());
        let camera_side = sink.clone();
        camera_side
            .submit(alert(AlertKind::Smoke, "shed", None, 0))
            .unwrap();
        sink.submit(alert(AlertKind::Sensor, "shed", None, 30))
            .unwrap();
        assert_eq!(lock(&kept.0)[1].severity, Severity::Critical);

        // Off through one clone: the other no longer fuses.
        sink.set_fusion(&FusionConfig {
            enabled: false,
            window_s: 60,
        });
        camera_side
            .submit(alert(AlertKind::Fire, "shed", None, 40))
            .unwrap();
        sink.submit(alert(AlertKind::Sensor, "shed", None, 41))
            .unwrap();
        let got = lock(&kept.0);
        assert_eq!(got.len(), 4, "every alert is handed on");
        assert_eq!(got[2].severity, Severity::Warning);
        assert_eq!(got[3].severity, Severity::Warning);
        assert!(got[3].details.get("fusion").is_none());
    }

    #[test]
    fn the_window_must_be_1_to_3600_s() {
        assert!(FusionConfig::default().problems().is_empty());
        let p = FusionConfig {
            enabled: true,
            window_s: 3601,
        }
        .problems();
        assert_eq!(p, [("window_s", "must be 1..=3600, got 3601".to_string())]);
    }
}
