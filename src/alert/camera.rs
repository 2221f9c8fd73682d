//! Camera health: turns [`CameraEvent`]s from ingest into `camera_offline` /
//! `camera_online` alerts (after each camera's grace period) and into the
//! retained per-camera state published on `<prefix>/<gateway>/cameras/<camera>/state`.
//!
//! [`CameraWatch`] is a plain state machine: every method takes the current
//! time as an argument, so tests drive it with a fake clock. The daemon runs
//! it on the real clock (`daemon::start_camera_watch`), upstream of delivery:
//! its alerts are submitted like any other, and delivery publishes the
//! retained state it hands over.
//!
//! Per camera:
//!
//! ```text
//!   (unknown) --Online--> Online --Offline--> Offline(pending) --grace over--> Offline(alerted)
//!                            ^                     |                                  |
//!                            +------Online---------+  (no alert: a short blip)       |
//!                            +------Online------ camera_online (state=end) ----------+
//! ```
//!
//! A `camera_offline` alert (severity major, `state = new`) carries the reason
//! and when the camera went away; the matching `camera_online` (severity info)
//! shares its `event` id with `state = end`, so consumers can close the
//! incident. The retained state changes immediately on every event, grace or
//! not; it also records whether an alert was raised.
//!
//! A camera's evidence stream (`[cameras.evidence] url`), reported by its
//! recorder as `EvidenceOnline` / `EvidenceOffline`, runs through the same
//! machine with the same grace, separately from the detect stream: its
//! outage is an `evidence_offline` (severity warning) ended by an
//! `evidence_online`. It has no retained state of its own.

use super::{Alert, AlertKind, AlertState, Severity};
use crate::ingest::{CameraEvent, CameraStatus};
use chrono::{DateTime, SecondsFormat, Utc};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime};
use uuid::Uuid;

/// `schema` of the retained camera state JSON.
pub const CAMERA_STATE_SCHEMA: &str = "estatewatch.camera_state.v1";

/// The grace period of a camera the watch has no grace for (one not in the
/// config it was built from, and not yet `Configured`).
pub const DEFAULT_GRACE: Duration = Duration::from_secs(30);

/// Something the watch wants done.
#[derive(Debug, Clone)]
pub enum Output {
    /// Queue this alert.
    Alert(Box<Alert>),
    /// Publish this retained state for the camera.
    State { camera: String, payload: Vec<u8> },
}

#[derive(Debug, Clone, PartialEq)]
enum Status {
    Online {
        since: SystemTime,
    },
    Offline {
        since: SystemTime,
        reason: String,
        /// The `event` id of the `camera_offline` alert, once raised.
        alerted: Option<Uuid>,
    },
}

/// Which of a camera's streams a state belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Stream {
    /// `url`, the stream analysis runs on: `camera_offline` / `camera_online`
    /// and the retained camera state.
    Detect,
    /// `[cameras.evidence] url`, the main stream clips are cut from:
    /// `evidence_offline` / `evidence_online`, no retained state.
    Evidence,
}

impl Stream {
    fn offline_kind(self) -> AlertKind {
        match self {
            Stream::Detect => AlertKind::CameraOffline,
            Stream::Evidence => AlertKind::EvidenceOffline,
        }
    }

    fn online_kind(self) -> AlertKind {
        match self {
            Stream::Detect => AlertKind::CameraOnline,
            Stream::Evidence => AlertKind::EvidenceOnline,
        }
    }

    /// A camera that cannot be seen is major; one whose clips are missing
    /// while detection goes on is a warning.
    fn offline_severity(self) -> Severity {
        match self {
            Stream::Detect => Severity::Major,
            Stream::Evidence => Severity::Warning,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Stream::Detect => "camera",
            Stream::Evidence => "evidence stream",
        }
    }
}

/// The camera state machine; see the module doc.
#[derive(Debug)]
pub struct CameraWatch {
    site: String,
    gateway: String,
    default_grace: Duration,
    grace: HashMap<String, Duration>,
    /// Each camera's streams: `(camera, stream)`.
    cameras: BTreeMap<(String, Stream), Status>,
}

fn rfc3339(t: SystemTime) -> String {
    DateTime::<Utc>::from(t).to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl CameraWatch {
    /// A watch for alerts of `site` and `gateway`, with a grace period per
    /// camera name in `grace` (each camera's `offline_grace_s`), and
    /// `default_grace` for any other camera.
    pub fn new(
        site: &str,
        gateway: &str,
        default_grace: Duration,
        grace: HashMap<String, Duration>,
    ) -> CameraWatch {
        CameraWatch {
            site: site.to_string(),
            gateway: gateway.to_string(),
            default_grace,
            grace,
            cameras: BTreeMap::new(),
        }
    }

    fn grace_of(&self, camera: &str) -> Duration {
        self.grace
            .get(camera)
            .copied()
            .unwrap_or(self.default_grace)
    }

    /// Applies one event seen at `now`.
    pub fn on_event(&mut self, ev: &CameraEvent, now: SystemTime) -> Vec<Output> {
        let mut out = Vec::new();
        let (stream, offline) = match &ev.status {
            CameraStatus::Configured {
                offline_grace,
                evidence_stream,
            } => {
                self.grace.insert(ev.camera.clone(), *offline_grace);
                let key = (ev.camera.clone(), Stream::Evidence);
                if !evidence_stream {
                    // A reload took its evidence url away: its outage is over.
                    if let Some(Status::Offline {
                        since,
                        alerted: Some(event),
                        ..
                    }) = self.cameras.remove(&key)
                    {
                        let mut a =
                            self.removed_alert(Stream::Evidence, &ev.camera, event, since, ev.at);
                        a.details["reason"] = "evidence stream removed from the config".into();
                        out.push(Output::Alert(Box::new(a)));
                    }
                }
                out.extend(self.tick(now));
                return out;
            }
            CameraStatus::Removed => {
                for stream in [Stream::Detect, Stream::Evidence] {
                    let key = (ev.camera.clone(), stream);
                    if let Some(Status::Offline {
                        since,
                        alerted: Some(event),
                        ..
                    }) = self.cameras.remove(&key)
                    {
                        let alert = self.removed_alert(stream, &ev.camera, event, since, ev.at);
                        out.push(Output::Alert(Box::new(alert)));
                    }
                }
                self.grace.remove(&ev.camera);
                // An empty retained message deletes the broker's retained state.
                out.push(Output::State {
                    camera: ev.camera.clone(),
                    payload: Vec::new(),
                });
                out.extend(self.tick(now));
                return out;
            }
            CameraStatus::Online => (Stream::Detect, None),
            CameraStatus::Offline { reason } => (Stream::Detect, Some(reason)),
            CameraStatus::EvidenceOnline => (Stream::Evidence, None),
            CameraStatus::EvidenceOffline { reason } => (Stream::Evidence, Some(reason)),
        };
        let key = (ev.camera.clone(), stream);
        let current = self.cameras.get(&key).cloned();
        match (offline, current) {
            (None, Some(Status::Online { .. })) => {}
            (None, None) => {
                self.set(&key, Status::Online { since: ev.at }, now, &mut out);
            }
            (None, Some(Status::Offline { since, alerted, .. })) => {
                if let Some(event) = alerted {
                    let alert = self.online_alert(stream, &ev.camera, event, since, ev.at);
                    out.push(Output::Alert(Box::new(alert)));
                } else {
                    tracing::info!(camera = %ev.camera, "{} back within its grace period; no alert", stream.name());
                }
                self.set(&key, Status::Online { since: ev.at }, now, &mut out);
            }
            (
                Some(reason),
                Some(Status::Offline {
                    since,
                    reason: old,
                    alerted,
                }),
            ) => {
                if *reason != old {
                    let s = Status::Offline {
                        since,
                        reason: reason.clone(),
                        alerted,
                    };
                    self.set(&key, s, now, &mut out);
                }
            }
            (Some(reason), Some(Status::Online { .. }) | None) => {
                let s = Status::Offline {
                    since: ev.at,
                    reason: reason.clone(),
                    alerted: None,
                };
                self.set(&key, s, now, &mut out);
            }
        }
        out.extend(self.tick(now));
        out
    }

    /// Raises `camera_offline` (or `evidence_offline`) for every stream
    /// whose grace period is over.
    pub fn tick(&mut self, now: SystemTime) -> Vec<Output> {
        let due: Vec<(String, Stream)> = self
            .cameras
            .iter()
            .filter_map(|(key, st)| match st {
                Status::Offline {
                    since,
                    alerted: None,
                    ..
                } if now >= *since + self.grace_of(&key.0) => Some(key.clone()),
                _ => None,
            })
            .collect();
        let mut out = Vec::new();
        for key in due {
            if let Some(Status::Offline { since, reason, .. }) = self.cameras.get(&key).cloned() {
                let alert = self.offline_alert(key.1, &key.0, since, &reason, now);
                let s = Status::Offline {
                    since,
                    reason,
                    alerted: Some(alert.event),
                };
                out.push(Output::Alert(Box::new(alert)));
                self.set(&key, s, now, &mut out);
            }
        }
        out
    }

    /// When [`tick`](Self::tick) next has something to do.
    pub fn next_deadline(&self) -> Option<SystemTime> {
        self.cameras
            .iter()
            .filter_map(|(key, st)| match st {
                Status::Offline {
                    since,
                    alerted: None,
                    ..
                } => Some(*since + self.grace_of(&key.0)),
                _ => None,
            })
            .min()
    }

    fn set(
        &mut self,
        key: &(String, Stream),
        status: Status,
        now: SystemTime,
        out: &mut Vec<Output>,
    ) {
        let camera = key.0.as_str();
        let json = match &status {
            Status::Online { since } => serde_json::json!({
                "schema": CAMERA_STATE_SCHEMA,
                "camera": camera,
                "status": "online",
                "since": rfc3339(*since),
                "reason": null,
                "alerted": false,
                "updated_at": rfc3339(now),
            }),
            Status::Offline {
                since,
                reason,
                alerted,
            } => serde_json::json!({
                "schema": CAMERA_STATE_SCHEMA,
                "camera": camera,
                "status": "offline",
                "since": rfc3339(*since),
                "reason": reason,
                "alerted": alerted.is_some(),
                "updated_at": rfc3339(now),
            }),
        };
        self.cameras.insert(key.clone(), status);
        // The retained state is the detect stream's (what staff see).
        if key.1 == Stream::Detect {
            out.push(Output::State {
                camera: camera.to_string(),
                payload: json.to_string().into_bytes(),
            });
        }
    }

    fn offline_alert(
        &self,
        stream: Stream,
        camera: &str,
        since: SystemTime,
        reason: &str,
        now: SystemTime,
    ) -> Alert {
        let mut a = Alert::new(
            stream.offline_kind(),
            stream.offline_severity(),
            &self.site,
            &self.gateway,
        );
        a.camera = Some(camera.to_string());
        a.detected_at = DateTime::<Utc>::from(now);
        a.details = serde_json::json!({
            "reason": reason,
            "offline_since": rfc3339(since),
            "grace_s": self.grace_of(camera).as_secs(),
        });
        a
    }

    /// An `info` message of `kind` ending the outage `event` at `at`.
    fn end_alert(&self, kind: AlertKind, camera: &str, event: Uuid, at: SystemTime) -> Alert {
        let mut a = Alert::new(kind, Severity::Info, &self.site, &self.gateway);
        a.event = event;
        a.state = AlertState::End;
        a.camera = Some(camera.to_string());
        a.detected_at = DateTime::<Utc>::from(at);
        a
    }

    /// Ends a raised outage incident whose camera left the config.
    fn removed_alert(
        &self,
        stream: Stream,
        camera: &str,
        event: Uuid,
        since: SystemTime,
        at: SystemTime,
    ) -> Alert {
        let mut a = self.end_alert(stream.offline_kind(), camera, event, at);
        a.details = serde_json::json!({
            "reason": "removed from the config",
            "offline_since": rfc3339(since),
        });
        a
    }

    fn online_alert(
        &self,
        stream: Stream,
        camera: &str,
        event: Uuid,
        since: SystemTime,
        at: SystemTime,
    ) -> Alert {
        let mut a = self.end_alert(stream.online_kind(), camera, event, at);
        let downtime = at.duration_since(since).unwrap_or_default();
        a.details = serde_json::json!({
            "offline_since": rfc3339(since),
            "downtime_s": downtime.as_secs_f64(),
        });
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + s)
    }

    fn ev(cam: &str, at: u64, offline: Option<&str>) -> CameraEvent {
        CameraEvent {
            camera: cam.into(),
            at: t(at),
            status: match offline {
                Some(r) => CameraStatus::Offline { reason: r.into() },
                None => CameraStatus::Online,
            },
        }
    }

    fn watch() -> CameraWatch {
        let grace = [("gate".to_string(), Duration::from_secs(10))].into();
        CameraWatch::new("s", "g", Duration::from_secs(30), grace)
    }

    fn alerts(o: &[Output]) -> Vec<&Alert> {
        o.iter()
            .filter_map(|o| match o {
                Output::Alert(a) => Some(&**a),
                _ => None,
            })
            .collect()
    }

    fn states(o: &[Output]) -> Vec<serde_json::Value> {
        o.iter()
            .filter_map(|o| match o {
                Output::State { payload, .. } => serde_json::from_slice(payload).ok(),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn offline_alert_only_after_grace_and_online_closes_it() {
        let mut w = watch();
        let o = w.on_event(&ev("gate", 0, None), t(0));
        assert!(alerts(&o).is_empty());
        assert_eq!(states(&o)[0]["status"], "online");

        let o = w.on_event(&ev("gate", 5, Some("connection refused")), t(5));
        assert!(alerts(&o).is_empty(), "no alert inside the grace period");
        assert_eq!(states(&o)[0]["status"], "offline");
        assert_eq!(states(&o)[0]["alerted"], false);
        assert_eq!(w.next_deadline(), Some(t(15)));

        assert!(alerts(&w.tick(t(14))).is_empty());
        let o = w.tick(t(15));
        let a = alerts(&o);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].kind, AlertKind::CameraOffline);
        assert_eq!(a[0].details["reason"], "connection refused");
        assert_eq!(a[0].camera.as_deref(), Some("gate"));
        assert_eq!(states(&o)[0]["alerted"], true);
        assert!(alerts(&w.tick(t(100))).is_empty(), "raised once");
        let offline_event = a[0].event;

        let o = w.on_event(&ev("gate", 40, None), t(40));
        let a = alerts(&o);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].kind, AlertKind::CameraOnline);
        assert_eq!(a[0].state, AlertState::End);
        assert_eq!(a[0].event, offline_event);
        assert_eq!(a[0].details["downtime_s"], 35.0);
        assert_eq!(states(&o)[0]["status"], "online");
    }

    #[test]
    fn a_blip_within_grace_raises_nothing_but_updates_state() {
        let mut w = watch();
        w.on_event(&ev("gate", 0, None), t(0));
        let o = w.on_event(&ev("gate", 1, Some("stalled")), t(1));
        assert_eq!(states(&o).len(), 1);
        let o = w.on_event(&ev("gate", 3, None), t(3));
        assert!(alerts(&o).is_empty());
        assert_eq!(states(&o)[0]["status"], "online");
        assert!(alerts(&w.tick(t(1000))).is_empty());
        assert_eq!(w.next_deadline(), None);
    }

    #[test]
    fn unknown_camera_uses_default_grace_and_repeated_events_are_quiet() {
        let mut w = watch();
        let o = w.on_event(&ev("shed", 0, Some("no route")), t(0));
        assert_eq!(states(&o).len(), 1);
        assert!(w
            .on_event(&ev("shed", 1, Some("no route")), t(1))
            .is_empty());
        let o = w.on_event(&ev("shed", 2, Some("timeout")), t(2));
        assert_eq!(states(&o)[0]["reason"], "timeout");
        assert!(alerts(&w.tick(t(29))).is_empty());
        let o = w.tick(t(30));
        assert_eq!(alerts(&o)[0].details["reason"], "timeout");
        assert_eq!(alerts(&o)[0].details["grace_s"], 30);
    }

    fn status(cam: &str, at: u64, status: CameraStatus) -> CameraEvent {
        CameraEvent {
            camera: cam.into(),
            at: t(at),
            status,
        }
    }

    #[test]
    fn configured_grace_applies_to_a_camera_added_later() {
        let mut w = watch();
        let grace = Duration::from_secs(5);
        let o = w.on_event(
            &status(
                "yard",
                0,
                CameraStatus::Configured {
                    offline_grace: grace,
                    evidence_stream: false,
                },
            ),
            t(0),
        );
        assert!(o.is_empty(), "{o:?}");
        w.on_event(&ev("yard", 1, Some("no route")), t(1));
        assert_eq!(w.next_deadline(), Some(t(6)), "5 s, not the 30 s default");
        assert_eq!(alerts(&w.tick(t(6)))[0].details["grace_s"], 5);
    }

    #[test]
    fn removal_clears_the_retained_state_and_ends_an_open_outage() {
        let mut w = watch();
        w.on_event(&ev("gate", 0, Some("connection refused")), t(0));
        let raised = alerts(&w.tick(t(10)))[0].event;
        let o = w.on_event(&status("gate", 20, CameraStatus::Removed), t(20));
        let a = alerts(&o);
        assert_eq!(a.len(), 1);
        assert_eq!(
            (a[0].kind, a[0].state),
            (AlertKind::CameraOffline, AlertState::End)
        );
        assert_eq!(a[0].event, raised);
        assert_eq!(a[0].details["reason"], "removed from the config");
        let cleared = o.iter().any(|o| matches!(o, Output::State { camera, payload } if camera == "gate" && payload.is_empty()));
        assert!(cleared, "{o:?}");
        assert_eq!(w.next_deadline(), None);
        // An online camera's removal only clears its state.
        w.on_event(&ev("shed", 30, None), t(30));
        let o = w.on_event(&status("shed", 31, CameraStatus::Removed), t(31));
        assert!(alerts(&o).is_empty());
        assert_eq!(o.len(), 1);
    }

    #[test]
    fn the_evidence_stream_has_its_own_outage_with_the_same_grace() {
        let mut w = watch();
        w.on_event(&ev("gate", 0, None), t(0));
        w.on_event(&status("gate", 0, CameraStatus::EvidenceOnline), t(0));
        let down = CameraStatus::EvidenceOffline {
            reason: "connection refused".into(),
        };
        let o = w.on_event(&status("gate", 5, down), t(5));
        assert!(o.is_empty(), "no alert and no retained state yet: {o:?}");
        assert_eq!(w.next_deadline(), Some(t(15)), "the camera's 10 s grace");
        let o = w.tick(t(15));
        let a = alerts(&o);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].kind, AlertKind::EvidenceOffline);
        assert_eq!(a[0].severity, Severity::Warning);
        assert_eq!(a[0].details["reason"], "connection refused");
        assert!(
            states(&o).is_empty(),
            "the camera's retained state is the detect stream's"
        );
        let raised = a[0].event;
        // The detect stream is untouched by it, and its own outage is separate.
        let o = w.on_event(&ev("gate", 20, Some("stalled")), t(20));
        assert_eq!(states(&o)[0]["status"], "offline");
        let o = w.on_event(&ev("gate", 21, None), t(21));
        assert!(alerts(&o).is_empty(), "detect blip within grace");
        let o = w.on_event(&status("gate", 30, CameraStatus::EvidenceOnline), t(30));
        let a = alerts(&o);
        assert_eq!(a.len(), 1);
        assert_eq!(
            (a[0].kind, a[0].state, a[0].event),
            (AlertKind::EvidenceOnline, AlertState::End, raised)
        );
        assert_eq!(a[0].details["downtime_s"], 25.0);
        // A removed camera ends its open evidence outage too.
        w.on_event(
            &status(
                "gate",
                40,
                CameraStatus::EvidenceOffline {
                    reason: "eos".into(),
                },
            ),
            t(40),
        );
        let raised = alerts(&w.tick(t(50)))[0].event;
        let o = w.on_event(&status("gate", 51, CameraStatus::Removed), t(51));
        let a = alerts(&o);
        assert_eq!(
            (a[0].kind, a[0].state, a[0].event),
            (AlertKind::EvidenceOffline, AlertState::End, raised)
        );
        // So does a reload that takes its evidence url away.
        let configured = |evidence_stream| CameraStatus::Configured {
            offline_grace: Duration::from_secs(10),
            evidence_stream,
        };
        w.on_event(&status("yard", 60, configured(true)), t(60));
        w.on_event(
            &status(
                "yard",
                61,
                CameraStatus::EvidenceOffline {
                    reason: "eos".into(),
                },
            ),
            t(61),
        );
        let raised = alerts(&w.tick(t(71)))[0].event;
        assert!(alerts(&w.on_event(&status("yard", 80, configured(true)), t(80))).is_empty());
        let o = w.on_event(&status("yard", 81, configured(false)), t(81));
        let a = alerts(&o);
        assert_eq!(
            (a[0].kind, a[0].state, a[0].event),
            (AlertKind::EvidenceOffline, AlertState::End, raised)
        );
        assert_eq!(
            a[0].details["reason"],
            "evidence stream removed from the config"
        );
        assert_eq!(w.next_deadline(), None);
    }

    #[test]
    fn zero_grace_alerts_immediately() {
        let mut w = CameraWatch::new("s", "g", Duration::ZERO, HashMap::new());
        let o = w.on_event(&ev("c", 0, Some("eos")), t(0));
        assert_eq!(alerts(&o).len(), 1);
    }
}
