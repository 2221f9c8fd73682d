//! The incident desk: owns incidents as staff handle them — their handling
//! state, the handling steps and their audit trail, escalation of critical
//! incidents nobody acknowledged, and the response-time figures.
//!
//! ```text
//!  EvidenceSink ──► DeskStage ──► AlertSink (outbox, as before)
//!                      │ (every incident alert the outbox accepted)
//!                      ▼
//!                   desk thread ──► desk.db (SQLite: incidents, handling trail)
//!                      │   ▲              │
//!     escalation timer ┘   │              └──► DeskChange broadcast (console, SSE)
//!                          │
//!  console / platform ──► Desk::act ──► desk.db ──► handling message ──► outbox ──► MQTT
//!  (MQTT commands)
//! ```
//!
//! An incident is one alert `event` of a kind listed in `[desk] kinds`. Its
//! alert life (`new`, `update`, `end`: what the camera still sees) and its
//! handling state ([`IncidentState`]: what staff did about it) are separate:
//! a fire that went out is still `open` on the desk until someone resolves it.
//!
//! - [`Desk`] (cheap to clone, `Send + Sync`) is the handle the console and
//!   the platform commands use: [`Desk::list`], [`Desk::get`], [`Desk::act`],
//!   [`Desk::subscribe`], [`Desk::counts`].
//! - [`DeskStage`] sits between the evidence stage and delivery's sink: it
//!   passes every alert on unchanged and tells the desk about each incident
//!   alert delivery accepted.
//! - Handling steps are published through the outbox on
//!   `<prefix>/<gateway>/incidents/<event>/handling` (schema
//!   `estatewatch.handling.v1`), escalations on
//!   `<prefix>/<gateway>/incidents/<event>/escalation`; the platform's commands
//!   arrive on `<prefix>/<gateway>/commands/incidents/<event>/<action>`
//!   (`docs/mqtt.md`, `docs/desk.md`).
//!
//! The desk imports `alert`, `delivery` (its sink, topics and client set-up),
//! `base` and `settings`; `monitor` reads its figures, `daemon` wires it.

pub mod config;

pub use config::DeskConfig;

use crate::alert::submit::{AlertSubmit, SubmitError};
use crate::alert::Alert;
use crate::delivery::AlertSink;
use crate::settings::SiteTimezone;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// How many changes a slow [`Desk::subscribe`] receiver may fall behind
/// before it misses some (it then gets `RecvError::Lagged` and should reload).
pub const CHANGES_CAPACITY: usize = 1024;

/// Why the desk could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    /// The desk file could not be opened, read or written.
    #[error("incident desk {path}: {detail}")]
    Db { path: PathBuf, detail: String },
    /// The desk file belongs to something else or to a newer build.
    #[error("incident desk {path}: {detail}")]
    Format { path: PathBuf, detail: String },
    /// No incident with that event id.
    #[error("no incident {event}")]
    UnknownIncident { event: String },
    /// The step does not fit the incident's state (e.g. acknowledging a
    /// resolved incident).
    #[error("cannot {action} incident {event}: it is {state}; {hint}")]
    NotAllowed {
        event: String,
        action: &'static str,
        state: IncidentState,
        hint: &'static str,
    },
    /// A field of the step is unusable (empty name, note too long, …).
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// The handling message could not be queued for MQTT (delivery has shut
    /// down); the step was not recorded.
    #[error("handling of incident {event} not recorded: {source}")]
    Publish {
        event: String,
        #[source]
        source: SubmitError,
    },
    /// The desk's MQTT client for platform commands could not be set up.
    #[error("platform commands: {0}")]
    Mqtt(String),
}

/// Where an incident stands with staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentState {
    /// Raised, nobody has said they are on it.
    Open,
    /// Someone is on it ("on my way").
    Acknowledged,
    /// Closed: it was real and has been dealt with.
    ResolvedHandled,
    /// Closed: there was nothing there.
    ResolvedFalseAlarm,
}

impl IncidentState {
    /// The name in JSON and in the desk file, e.g. `resolved_handled`.
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentState::Open => "open",
            IncidentState::Acknowledged => "acknowledged",
            IncidentState::ResolvedHandled => "resolved_handled",
            IncidentState::ResolvedFalseAlarm => "resolved_false_alarm",
        }
    }

    /// Open or acknowledged: still needs someone.
    pub fn is_open(self) -> bool {
        matches!(self, IncidentState::Open | IncidentState::Acknowledged)
    }

    /// Every state, in handling order.
    pub const ALL: [IncidentState; 4] = [
        IncidentState::Open,
        IncidentState::Acknowledged,
        IncidentState::ResolvedHandled,
        IncidentState::ResolvedFalseAlarm,
    ];
}

impl std::fmt::Display for IncidentState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for IncidentState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IncidentState::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!("unknown incident state {s:?}; expected open, acknowledged, resolved_handled or resolved_false_alarm")
            })
    }
}

/// How a resolved incident ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Real, and dealt with.
    Handled,
    /// Nothing was there (counted per camera and analyzer on `/metrics`).
    FalseAlarm,
}

/// One handling step. In JSON: `{"action": "acknowledge", "note": …}`,
/// `{"action": "assign", "to": …}`, `{"action": "note", "text": …}`,
/// `{"action": "resolve", "outcome": "handled"|"false_alarm", "reason": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// "Seen, I'm going": open → acknowledged.
    Acknowledge {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// Hand the incident to a named person (open or acknowledged; the state
    /// does not change).
    Assign { to: String },
    /// Add a note (any state, also after resolving).
    Note { text: String },
    /// Close it: open or acknowledged → resolved (handled or false alarm).
    Resolve {
        outcome: Outcome,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

impl Action {
    /// The step's name: `acknowledge`, `assign`, `note` or `resolve`.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Acknowledge { .. } => "acknowledge",
            Action::Assign { .. } => "assign",
            Action::Note { .. } => "note",
            Action::Resolve { .. } => "resolve",
        }
    }
}

/// Where a handling step came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// A signed-in user of the web console.
    Console,
    /// The district platform, over the MQTT command topic.
    Platform,
}

impl Via {
    /// `console` or `platform`.
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Console => "console",
            Via::Platform => "platform",
        }
    }
}

/// Who took a handling step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The console user name, or the name the platform gave (any UTF-8).
    pub name: String,
    pub via: Via,
}

/// The throwing origin of a `throwing` incident, for the board's big label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThrowOrigin {
    pub floor: Option<i64>,
    pub column: Option<i64>,
    /// The column as the estate names it, e.g. `03`.
    pub column_label: Option<String>,
    /// The unit, e.g. `1703`.
    pub unit_label: Option<String>,
}

/// One incident as the board lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentSummary {
    /// The alert `event` id (UUID).
    pub event: String,
    pub camera: String,
    /// The camera's `display_name`, or its name.
    pub camera_display: String,
    pub zone: Option<String>,
    /// The zone's `display_name`, or its name.
    pub zone_display: Option<String>,
    /// The alert kind, e.g. `throwing`.
    pub kind: String,
    /// The highest severity any of its alerts had, e.g. `critical`.
    pub severity: String,
    pub state: IncidentState,
    /// The latest alert's `state`: `new`, `update` or `end`.
    pub alert_state: String,
    /// The first alert's `detected_at`.
    pub first_at: DateTime<Utc>,
    /// The latest alert's `detected_at`.
    pub last_at: DateTime<Utc>,
    pub acked_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// Who it is assigned to (the latest `assign`).
    pub assignee: Option<String>,
    /// The picture, relative to the evidence folder (fetch it as
    /// `/evidence/<event>/<file name>`).
    pub snapshot: Option<String>,
    /// The clip, relative to the evidence folder, once announced.
    pub clip: Option<String>,
    /// Where a thrown object came from (throwing only).
    pub throw_origin: Option<ThrowOrigin>,
    /// Escalated: critical and left unacknowledged too long.
    pub escalated: bool,
}

/// One handling step, as recorded in the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HandlingRecord {
    /// Position in the desk's trail (grows across all incidents, never reused).
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub action: Action,
    /// The incident's state after the step.
    pub state: IncidentState,
}

/// One incident with its latest alert and its handling trail.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentDetail {
    pub summary: IncidentSummary,
    /// The latest alert as published (without its embedded picture).
    pub alert: serde_json::Value,
    /// Every handling step, oldest first.
    pub handling: Vec<HandlingRecord>,
}

/// Which incidents [`Desk::list`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncidentQuery {
    /// Only this alert kind (e.g. `throwing`).
    pub kind: Option<String>,
    /// Only this camera (its name).
    pub camera: Option<String>,
    pub state: Option<IncidentState>,
    /// Only incidents first seen on this day, in the site's time zone.
    pub day: Option<NaiveDate>,
    /// Page number from 0.
    pub page: u32,
    /// Incidents per page; 0 means the desk's default, more than
    /// `[desk] max_per_page` is cut to it.
    pub per_page: u32,
}

/// One page of incidents, newest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentPage {
    pub items: Vec<IncidentSummary>,
    /// How many incidents match the query in all.
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

/// Open (open or acknowledged) incidents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OpenCounts {
    pub total: u64,
    /// Kind name → open incidents of that kind (kinds with none left out).
    pub by_kind: BTreeMap<String, u64>,
}

/// What changed on the desk, for live pages.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", content = "incident", rename_all = "snake_case")]
pub enum DeskChange {
    /// An incident appeared or changed (alert, handling step, escalation);
    /// its summary as it is now.
    Incident(IncidentSummary),
}

/// A camera's names, for the board.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CameraNames {
    /// The camera's `display_name`, when it has one.
    pub display_name: Option<String>,
    /// Zone name → its `display_name` (zones without one left out).
    pub zones: BTreeMap<String, String>,
}

/// The config the desk runs with.
#[derive(Debug, Clone)]
pub struct DeskSections<'a> {
    /// `[desk]`.
    pub desk: &'a DeskConfig,
    /// The desk file (`[desk] db`, or `desk.db` beside the outbox).
    pub db: PathBuf,
    /// `site.id`, in the handling messages.
    pub site: &'a str,
    /// `gateway.id`, in the handling messages.
    pub gateway: &'a str,
    /// `[site] timezone`: what a query's `day` means.
    pub timezone: SiteTimezone,
    /// Camera name → its display names.
    pub cameras: BTreeMap<String, CameraNames>,
}

/// The incident desk; see the module documentation. Cheap to clone.
#[derive(Clone)]
pub struct Desk {
    inner: Arc<Inner>,
}

struct Inner {
    changes: tokio::sync::broadcast::Sender<DeskChange>,
    timezone: SiteTimezone,
}

impl std::fmt::Debug for Desk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Desk")
    }
}

impl Desk {
    /// Opens (creating it if needed) the desk file and starts the desk's
    /// thread (incoming alerts, escalation). Handling and escalation
    /// messages are queued on `outbox` (delivery's sink).
    pub fn open(cfg: &DeskSections<'_>, outbox: AlertSink) -> Result<Desk, DeskError> {
        let _ = (cfg.desk, outbox);
        let (changes, _) = tokio::sync::broadcast::channel(CHANGES_CAPACITY);
        Ok(Desk {
            inner: Arc::new(Inner {
                changes,
                timezone: cfg.timezone,
            }),
        })
    }

    /// Incidents matching `q`, newest first (by first alert), one page.
    pub fn list(&self, q: &IncidentQuery) -> Result<IncidentPage, DeskError> {
        Ok(IncidentPage {
            items: Vec::new(),
            total: 0,
            page: q.page,
            per_page: q.per_page,
        })
    }

    /// One incident with its latest alert and handling trail; `None` when
    /// there is no incident `event`.
    pub fn get(&self, event: &str) -> Result<Option<IncidentDetail>, DeskError> {
        let _ = event;
        Ok(None)
    }

    /// Takes a handling step: records it (with `actor` and the time) in the
    /// audit trail, changes the incident's state, queues the handling message
    /// for MQTT, and tells subscribers. A step that does not fit the state
    /// (acknowledging a resolved incident, …) is refused with
    /// [`DeskError::NotAllowed`] and changes nothing.
    pub fn act(
        &self,
        event: &str,
        action: Action,
        actor: &Actor,
    ) -> Result<IncidentDetail, DeskError> {
        let _ = (action, actor);
        Err(DeskError::UnknownIncident {
            event: event.to_string(),
        })
    }

    /// Every new or changed incident from now on (for live pages).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<DeskChange> {
        self.inner.changes.subscribe()
    }

    /// Open incidents per kind.
    pub fn counts(&self) -> Result<OpenCounts, DeskError> {
        Ok(OpenCounts::default())
    }

    /// The site's time zone (`[site] timezone`), for showing times.
    pub fn timezone(&self) -> SiteTimezone {
        self.inner.timezone
    }

    /// Records an alert delivery accepted (what [`DeskStage`] does for each
    /// one): creates or updates its incident when its kind is an incident
    /// kind. Returns at once; the desk thread does the writing.
    pub fn record(&self, alert: &Alert) {
        let _ = alert;
    }

    /// The stage to put in front of `next` (delivery's sink): passes every
    /// alert on and records those `next` accepted.
    pub fn stage<S: AlertSubmit>(&self, next: S) -> DeskStage<S> {
        DeskStage {
            desk: self.clone(),
            next,
        }
    }
}

/// An [`AlertSubmit`] in front of delivery's sink that tells the desk about
/// every alert the sink accepted; see [`Desk::stage`].
#[derive(Clone)]
pub struct DeskStage<S> {
    desk: Desk,
    next: S,
}

impl<S: AlertSubmit> AlertSubmit for DeskStage<S> {
    fn submit(&self, mut alert: Alert) -> Result<(), SubmitError> {
        // The desk keeps the alert without its embedded picture (the stored
        // one is in `evidence`), so take it out before copying.
        let picture = alert.snapshot.take();
        let kept = alert.clone();
        alert.snapshot = picture;
        self.next.submit(alert)?;
        self.desk.record(&kept);
        Ok(())
    }
}
