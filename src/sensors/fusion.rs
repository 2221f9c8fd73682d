//! Fusion of camera and sensor alerts in the same place (`docs/sensors.md`).
//!
//! The rule: a camera `fire` or `smoke` alert and a `sensor` alert from a
//! sensor that watches over the same camera (and zone, when the sensor names
//! one) whose `detected_at` times are at most `window_s` apart are one
//! incident seen twice. Whichever of the two arrives second is raised to
//! `critical` and carries `details.fusion` linking the first one's `id`. The
//! first has already been delivered as it was; a sensor alert with no camera
//! confirmation keeps its own severity. Only `new` alerts take part.
//!
//! [`Fusion::apply`] runs inside [`AlertSink::submit`](crate::delivery::AlertSink::submit),
//! so every producer's alerts pass through it in submission order.

use super::config::FusionConfig;
use crate::alert::{Alert, AlertKind, AlertState, Severity};
use chrono::{DateTime, Utc};
use std::collections::VecDeque;
use uuid::Uuid;

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
}
