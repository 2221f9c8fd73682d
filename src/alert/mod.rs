//! Alerts: the message property staff receive (schema `estatewatch.alert.v1`).
//!
//! Owns the [`Alert`] type and its JSON form (documented in `docs/mqtt.md`,
//! schema in `docs/alert-v1.schema.json`), and the vocabulary around it:
//! [`AlertKind`], [`Severity`], [`AlertState`], [`BBox`], and the
//! [`Evidence`] an `update` announces (clip and full-resolution snapshot). Analysis produces
//! alerts; delivery stores and publishes them byte-for-byte as serialised here.
//!
//! An incident is one `event` id shared by its messages: `new`, then any
//! `update`s, then `end`. Each message has its own `id` (UUIDv7), which stays
//! the same on every redelivery so consumers can drop duplicates.
//!
//! Around the model, the steps between the producers and delivery:
//! - [`submit`]: the seam producers hand finished alerts to
//!   ([`AlertSubmit`](submit::AlertSubmit)); delivery implements it.
//! - [`fusion`]: pairs camera fire/smoke alerts with sensor alerts in the
//!   same place ([`FusedSink`](fusion::FusedSink), in front of delivery).
//! - [`camera`]: turns camera online/offline events into camera alerts and
//!   retained camera state.
//! - [`snapshot`]: the pictures alerts carry.
//! - [`caption`]: the text drawn on pictures (camera name, site-local
//!   time, a throw's floor and unit) in the site's language.

pub mod camera;
pub mod caption;
pub mod fusion;
pub mod snapshot;
pub mod submit;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The `schema` value of every alert this version emits.
pub const SCHEMA_V1: &str = "estatewatch.alert.v1";

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// An object thrown or falling from height.
    Throwing,
    /// Flame seen.
    Fire,
    /// Smoke seen.
    Smoke,
    /// A bag or other object left on the ground.
    Garbage,
    /// Generic motion in a zone (the simplest analyzer).
    Motion,
    /// A camera has been unreachable for longer than its grace period.
    CameraOffline,
    /// A camera is back.
    CameraOnline,
    /// A camera's evidence stream (`[cameras.evidence] url`, its main
    /// stream) has been unreachable for longer than the camera's grace
    /// period while detection may go on: its alerts get no clip.
    EvidenceOffline,
    /// A camera's evidence stream is back (ends its `evidence_offline`).
    EvidenceOnline,
    /// Sent by `estatewatch send-test-alert` to check the wiring.
    Test,
    /// A sensor rule fired (threshold, rate of rise); see `docs/sensors.md`.
    Sensor,
    /// A sensor has sent nothing for longer than its `stale_after_min`.
    SensorOffline,
    /// A camera failed its daily self-test: its view moved, blurred or got
    /// dark, or an analyzer no longer sees a synthetic incident
    /// (`docs/operations.md`, "Self-test").
    SelftestFailed,
}

impl AlertKind {
    /// The name used in topics and JSON, e.g. `camera_offline`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Throwing => "throwing",
            AlertKind::Fire => "fire",
            AlertKind::Smoke => "smoke",
            AlertKind::Garbage => "garbage",
            AlertKind::Motion => "motion",
            AlertKind::CameraOffline => "camera_offline",
            AlertKind::CameraOnline => "camera_online",
            AlertKind::EvidenceOffline => "evidence_offline",
            AlertKind::EvidenceOnline => "evidence_online",
            AlertKind::Test => "test",
            AlertKind::Sensor => "sensor",
            AlertKind::SensorOffline => "sensor_offline",
            AlertKind::SelftestFailed => "selftest_failed",
        }
    }

    /// Whether an incident of this kind stays open after its `new` until an
    /// `end` closes it (fire, smoke, garbage, camera, evidence stream and sensor outages,
    /// sensor rules). Single-shot kinds (throwing, motion, test) never get one.
    pub fn has_lifecycle(self) -> bool {
        matches!(
            self,
            AlertKind::Fire
                | AlertKind::Smoke
                | AlertKind::Garbage
                | AlertKind::CameraOffline
                | AlertKind::EvidenceOffline
                | AlertKind::Sensor
                | AlertKind::SensorOffline
        )
    }

    /// Every kind, in declaration order.
    pub const ALL: [AlertKind; 13] = [
        AlertKind::Throwing,
        AlertKind::Fire,
        AlertKind::Smoke,
        AlertKind::Garbage,
        AlertKind::Motion,
        AlertKind::CameraOffline,
        AlertKind::CameraOnline,
        AlertKind::EvidenceOffline,
        AlertKind::EvidenceOnline,
        AlertKind::Test,
        AlertKind::Sensor,
        AlertKind::SensorOffline,
        AlertKind::SelftestFailed,
    ];
}

impl std::fmt::Display for AlertKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown alert kind name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown alert kind {0:?}; expected one of throwing, fire, smoke, garbage, motion, camera_offline, camera_online, evidence_offline, evidence_online, test, sensor, sensor_offline, selftest_failed")]
pub struct UnknownKind(pub String);

impl std::str::FromStr for AlertKind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<AlertKind, UnknownKind> {
        AlertKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownKind(s.to_string()))
    }
}

/// How urgent; ordered from least to most urgent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Major,
    Critical,
}

impl Severity {
    /// Numeric rank stored in the outbox (0 = info … 3 = critical).
    pub fn rank(self) -> u8 {
        self as u8
    }
}

/// Where a message sits in its incident's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    New,
    Update,
    End,
}

/// A box in normalised frame coordinates: x, y of the top-left corner, width, height, all 0..=1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BBox {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

/// An annotated JPEG attached to a video alert.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Always `image/jpeg`.
    pub content_type: String,
    pub width: u32,
    pub height: u32,
    /// The JPEG bytes, base64 (standard alphabet, padded) in JSON.
    #[serde(with = "b64")]
    pub data: Vec<u8>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Snapshot({}x{}, {} bytes)",
            self.width,
            self.height,
            self.data.len()
        )
    }
}

/// One alert message, schema v1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Always [`SCHEMA_V1`].
    pub schema: String,
    /// This message's id (UUIDv7); the same on every redelivery.
    pub id: Uuid,
    /// The incident's id, shared by its `new`, `update`s and `end`.
    pub event: Uuid,
    pub state: AlertState,
    pub kind: AlertKind,
    pub severity: Severity,
    pub site: String,
    pub gateway: String,
    /// The camera, or null for gateway-level alerts such as `test`.
    pub camera: Option<String>,
    pub zone: Option<String>,
    /// When it was detected, RFC 3339 UTC with milliseconds.
    #[serde(with = "rfc3339_ms")]
    pub detected_at: DateTime<Utc>,
    /// Position in the stream or file, in milliseconds, when known.
    pub media_time_ms: Option<u64>,
    /// Confidence, 0..=1.
    pub score: f32,
    #[serde(rename = "box")]
    pub bbox: Option<BBox>,
    /// Kind-specific details (an object).
    pub details: serde_json::Value,
    /// The annotated picture, for video alerts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<Snapshot>,
    /// The incident's evidence: the stored files (paths, URLs, sha256) on
    /// alerts that have any, and the clip and full-resolution snapshot on
    /// the `update` that announces them; see [`Evidence`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
}

/// The evidence an alert points to. Every field is left out when empty, so
/// a message says only what it carries:
/// - `files` and `problem`: the files of the incident's folder that existed
///   when the alert left the evidence stage (fetch them with `GET <url>` and
///   the evidence token, `docs/operations.md`), and why one it should have
///   was not stored;
/// - `clip`, `snapshot` and `reason`: on the `update` that announces the
///   clip and full-resolution snapshot once they are complete
///   (`docs/evidence.md`); `reason` says why one of them is missing.
///
/// Paths are relative to the gateway's evidence folder (`[evidence] dir`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<EvidenceFile>,
    /// Why a file this alert should have was not stored (e.g. the disk is
    /// full); absent when all went well.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// The clip, on its announcement; absent when there is none (see `reason`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clip: Option<Clip>,
    /// The full-resolution snapshot, on its announcement; absent when none
    /// could be made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<EvidenceImage>,
    /// Why the announced `clip` or `snapshot` is missing (e.g. `evidence
    /// stream offline: …`); absent when both are there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One stored evidence file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceFile {
    /// The file name: `snapshot-detect.jpg`, `snapshot.jpg` or `clip.mp4`.
    pub name: String,
    /// Where it is, relative to the evidence folder: `<camera>/<event>/<name>`.
    pub path: String,
    /// Where to fetch it: `evidence.http.public_url` + `/evidence/<event>/<name>`,
    /// or just the path part when no public URL is configured.
    pub url: String,
    /// SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
    pub bytes: u64,
}

/// An MP4 clip cut from the camera's own encoded stream (never re-encoded).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clip {
    /// `<camera>/<event>/clip.mp4`, relative to the evidence folder.
    pub path: String,
    /// sha256 of the file, lowercase hex.
    pub sha256: String,
    pub bytes: u64,
    /// From its first frame's timestamp to the end of its last frame.
    pub duration_ms: u64,
    pub width: u32,
    pub height: u32,
    /// Wall-clock arrival time of its first frame, RFC 3339 UTC with milliseconds.
    #[serde(with = "rfc3339_ms")]
    pub start: DateTime<Utc>,
}

/// A full-resolution JPEG with the alert drawn on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceImage {
    /// `<camera>/<event>/snapshot.jpg`, relative to the evidence folder.
    pub path: String,
    /// sha256 of the file, lowercase hex.
    pub sha256: String,
    pub width: u32,
    pub height: u32,
}

impl Alert {
    /// A new single message with fresh `id` and `event` ids, `state = new`,
    /// `detected_at = now`, no zone, box, snapshot or details.
    pub fn new(kind: AlertKind, severity: Severity, site: &str, gateway: &str) -> Alert {
        let id = Uuid::now_v7();
        Alert {
            schema: SCHEMA_V1.to_string(),
            id,
            event: id,
            state: AlertState::New,
            kind,
            severity,
            site: site.to_string(),
            gateway: gateway.to_string(),
            camera: None,
            zone: None,
            detected_at: Utc::now(),
            media_time_ms: None,
            score: 1.0,
            bbox: None,
            details: serde_json::json!({}),
            snapshot: None,
            evidence: None,
        }
    }

    /// The JSON published on MQTT and stored in the outbox.
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }
}

mod rfc3339_ms {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

mod b64 {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(b))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_keeps_fields_and_formats() {
        let mut a = Alert::new(AlertKind::CameraOffline, Severity::Major, "s", "g");
        a.bbox = Some(BBox {
            x: 0.1,
            y: 0.2,
            w: 0.3,
            h: 0.4,
        });
        a.snapshot = Some(Snapshot {
            content_type: "image/jpeg".into(),
            width: 2,
            height: 1,
            data: vec![0xff, 0xd8, 0x00],
        });
        let json = a.to_json().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["schema"], "estatewatch.alert.v1");
        assert_eq!(v["kind"], "camera_offline");
        assert_eq!(v["severity"], "major");
        assert_eq!(v["state"], "new");
        assert_eq!(v["box"]["w"].as_f64().unwrap() as f32, 0.3);
        assert_eq!(v["snapshot"]["data"], "/9gA");
        let ts = v["detected_at"].as_str().unwrap();
        assert!(ts.ends_with('Z') && ts.len() == 24, "{ts}");
        let back: Alert = serde_json::from_slice(&json).unwrap();
        assert_eq!(back.id, a.id);
        assert_eq!(back.snapshot, a.snapshot);
        assert_eq!(
            back.detected_at.timestamp_millis(),
            a.detected_at.timestamp_millis()
        );
        assert_eq!(a.id.get_version_num(), 7);
    }

    #[test]
    fn json_schema_file_matches_the_serialised_alert() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../docs/alert-v1.schema.json")).unwrap();
        let mut a = Alert::new(AlertKind::Fire, Severity::Critical, "s", "g");
        a.snapshot = Some(Snapshot {
            content_type: "image/jpeg".into(),
            width: 1,
            height: 1,
            data: vec![1],
        });
        a.evidence = Some(Evidence {
            clip: Some(Clip {
                path: "c/e/clip.mp4".into(),
                sha256: "00".into(),
                bytes: 1,
                duration_ms: 15000,
                width: 1920,
                height: 1080,
                start: Utc::now(),
            }),
            ..Evidence::default()
        });
        let v = serde_json::to_value(&a).unwrap();
        let keys: std::collections::BTreeSet<&str> =
            v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        let props: std::collections::BTreeSet<&str> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(keys, props, "schema properties vs serialised fields");
        for r in schema["required"].as_array().unwrap() {
            assert!(keys.contains(r.as_str().unwrap()), "{r}");
        }
        let kinds: Vec<&str> = schema["properties"]["kind"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        assert_eq!(kinds, AlertKind::ALL.map(|k| k.as_str()).to_vec());
        assert_eq!(schema["properties"]["schema"]["const"], SCHEMA_V1);
    }

    #[test]
    fn kind_names_round_trip() {
        for k in AlertKind::ALL {
            assert_eq!(k.as_str().parse::<AlertKind>().unwrap(), k);
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
        }
        assert!("fires".parse::<AlertKind>().is_err());
    }

    #[test]
    fn severity_orders_by_urgency() {
        assert!(Severity::Critical > Severity::Major);
        assert!(Severity::Info < Severity::Warning);
        assert_eq!(Severity::Critical.rank(), 3);
    }
}
