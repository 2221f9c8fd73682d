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
//! - [`retention`] removes resolved incidents and their trails after
//!   `[desk] retention_days` (at start and daily); open ones never.
//! - Handling steps are published through the outbox on
//!   `<prefix>/<gateway>/incidents/<event>/handling` (schema
//!   `estatewatch.handling.v1`), escalations on
//!   `<prefix>/<gateway>/incidents/<event>/escalation`; the platform's commands
//!   arrive on `<prefix>/<gateway>/commands/incidents/<event>/<action>`
//!   (`docs/mqtt.md`, `docs/desk.md`).
//!
//! The desk imports `alert`, `delivery` (its sink, topics and client set-up),
//! `base` and `settings`; `monitor` reads its figures, `daemon` wires it.

pub mod commands;
pub mod config;
pub mod handling;
pub mod incidents;
pub mod metrics;
pub mod retention;
pub mod store;

pub use commands::{CommandError, CommandListener};
pub use config::DeskConfig;
pub use metrics::DeskFigures;

use crate::alert::submit::{AlertSubmit, SubmitError};
use crate::alert::Alert;
use crate::delivery::AlertSink;
use crate::settings::SiteTimezone;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// Alerts waiting for the desk thread; more are dropped from the desk (not
/// from delivery) with a warning.
pub const RECORD_QUEUE: usize = 4096;

/// How often the desk thread looks for incidents to escalate.
pub const ESCALATION_TICK: Duration = Duration::from_millis(500);

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
    /// The camera's name; empty for an incident without a camera (a sensor's).
    pub camera: String,
    /// The camera's `display_name`, or its name; for an incident without a
    /// camera (a sensor's), the sensor's `area` or name.
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

/// Which incidents [`Desk::list`] returns. Reads from a query string such
/// as `kind=fire&state=open&day=2026-03-01&page=2` (every field optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
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
    /// Incidents per page; 0 means 50 (or `[desk] max_per_page` when that
    /// is lower), more than `max_per_page` is cut to it.
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
    /// The desk file; every read and write goes through this one connection.
    db: Mutex<store::DeskDb>,
    cfg: DeskConfig,
    site: String,
    gateway: String,
    timezone: SiteTimezone,
    /// Camera name → display names; replaced on reload ([`Desk::set_cameras`]).
    cameras: std::sync::RwLock<BTreeMap<String, CameraNames>>,
    /// Delivery's sink: handling and escalation messages go through the outbox.
    outbox: AlertSink,
    /// Every new or changed incident; receivers are the console's live pages.
    changes: tokio::sync::broadcast::Sender<DeskChange>,
    metrics: Mutex<metrics::Figures>,
    /// To the desk thread; dropped with the last `Desk`, which ends the thread.
    record_tx: SyncSender<Alert>,
}

impl std::fmt::Debug for Desk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Desk({})",
            crate::base::lock(&self.inner.db).path.display()
        )
    }
}

impl Desk {
    /// Opens (creating it if needed) the desk file and starts the desk's
    /// thread (`ew-desk`: incoming alerts, escalation; it ends when the last
    /// `Desk` handle is dropped). Handling and escalation messages are queued
    /// on `outbox` (delivery's sink).
    pub fn open(cfg: &DeskSections<'_>, outbox: AlertSink) -> Result<Desk, DeskError> {
        let mut db = store::DeskDb::open(&cfg.db)?;
        // Retention first, so the figures count what the file keeps.
        let removed = match cfg.desk.retention() {
            Some(keep) => {
                let r = retention::remove_before(&mut db, chrono::Utc::now() - keep)?;
                log_removed(&r);
                r
            }
            None => retention::Removed::default(),
        };
        let mut figures = metrics::load(&db.conn).map_err(|e| db.err(e))?;
        figures.removed(&removed);
        let (changes, _) = tokio::sync::broadcast::channel(CHANGES_CAPACITY);
        let (record_tx, record_rx) = std::sync::mpsc::sync_channel(RECORD_QUEUE);
        let inner = Arc::new(Inner {
            db: Mutex::new(db),
            cfg: cfg.desk.clone(),
            site: cfg.site.to_string(),
            gateway: cfg.gateway.to_string(),
            timezone: cfg.timezone,
            cameras: std::sync::RwLock::new(cfg.cameras.clone()),
            outbox,
            changes,
            metrics: Mutex::new(figures),
            record_tx,
        });
        let weak = Arc::downgrade(&inner);
        std::thread::Builder::new()
            .name("ew-desk".into())
            .spawn(move || desk_thread(&weak, &record_rx, retention::RUN_EVERY))
            .map_err(|e| DeskError::Db {
                path: cfg.db.clone(),
                detail: format!("cannot start the desk thread: {e}"),
            })?;
        tracing::info!(db = %cfg.db.display(), "incident desk open");
        Ok(Desk { inner })
    }

    /// Incidents matching `q`, newest first (by first alert), one page.
    /// Reads the desk file: call it off the async executor
    /// (`spawn_blocking`), like every method here but [`subscribe`](Self::subscribe).
    pub fn list(&self, q: &IncidentQuery) -> Result<IncidentPage, DeskError> {
        self.inner.list(q)
    }

    /// How many incidents match `q`'s filters, whatever its page (the
    /// board's total, kept live).
    pub fn count(&self, q: &IncidentQuery) -> Result<u64, DeskError> {
        self.inner.count(q)
    }

    /// One incident with its latest alert and handling trail; `None` when
    /// there is no incident `event`.
    pub fn get(&self, event: &str) -> Result<Option<IncidentDetail>, DeskError> {
        let db = crate::base::lock(&self.inner.db);
        self.inner.detail_in(&db, event)
    }

    /// Takes a handling step: records it (with `actor` and the time) in the
    /// audit trail, changes the incident's state, queues the handling message
    /// for MQTT, and tells subscribers. A step that does not fit the state
    /// (acknowledging a resolved incident, …) is refused with
    /// [`DeskError::NotAllowed`], an empty or overlong name or text with
    /// [`DeskError::Invalid`]; a refused step changes nothing.
    pub fn act(
        &self,
        event: &str,
        action: Action,
        actor: &Actor,
    ) -> Result<IncidentDetail, DeskError> {
        self.inner.act(event, action, actor)
    }

    /// Every new or changed incident from now on (for live pages).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<DeskChange> {
        self.inner.changes.subscribe()
    }

    /// Open incidents per kind.
    pub fn counts(&self) -> Result<OpenCounts, DeskError> {
        self.inner.counts()
    }

    /// Takes new display names for cameras and zones (after a config
    /// reload); summaries read from now on use them.
    pub fn set_cameras(&self, cameras: BTreeMap<String, CameraNames>) {
        *self
            .inner
            .cameras
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = cameras;
    }

    /// Marks the alert side of every incident of a kind with a lifecycle
    /// (fire, smoke, garbage, sensor) as ended: what delivery does at start,
    /// when it ends every incident the last run left open
    /// (`details.ended_by = "restart"`) without passing the desk. The daemon
    /// calls it right after starting delivery; returns how many changed.
    pub fn end_alerts_left_open(&self) -> Result<usize, DeskError> {
        let kinds: Vec<&str> = crate::alert::AlertKind::ALL
            .into_iter()
            .filter(|k| k.has_lifecycle())
            .map(|k| k.as_str())
            .collect();
        let db = crate::base::lock(&self.inner.db);
        let list = kinds
            .iter()
            .map(|k| format!("'{k}'"))
            .collect::<Vec<_>>()
            .join(", ");
        db.conn
            .execute(
                &format!(
                    "UPDATE incidents SET alert_state = 'end'
                     WHERE alert_state != 'end' AND kind IN ({list})"
                ),
                [],
            )
            .map_err(|e| db.err(e))
    }

    /// Removes the resolved incidents (and their handling trails) with
    /// nothing newer than `now` minus `[desk] retention_days`, as the desk
    /// does at start and daily ([`retention`]); counted on `/metrics`.
    /// Nothing when the retention is 0 (keep everything).
    pub fn remove_expired(&self, now: DateTime<Utc>) -> Result<retention::Removed, DeskError> {
        let Some(keep) = self.inner.cfg.retention() else {
            return Ok(retention::Removed::default());
        };
        let removed = {
            let mut db = crate::base::lock(&self.inner.db);
            retention::remove_before(&mut db, now - keep)?
        };
        log_removed(&removed);
        crate::base::lock(&self.inner.metrics).removed(&removed);
        Ok(removed)
    }

    /// The site's time zone (`[site] timezone`), for showing times.
    pub fn timezone(&self) -> SiteTimezone {
        self.inner.timezone
    }

    /// The figures `/metrics` shows (response times, false alarms, open
    /// incidents, escalations).
    pub fn figures(&self) -> Result<DeskFigures, DeskError> {
        let open = self.inner.counts()?;
        Ok(crate::base::lock(&self.inner.metrics).figures(&open.by_kind, &self.inner.cfg.kinds))
    }

    /// Records an alert delivery accepted (what [`DeskStage`] does for each
    /// one): creates or updates its incident when its kind is an incident
    /// kind. Returns at once; the desk thread does the writing.
    pub fn record(&self, alert: &Alert) {
        if !self.inner.cfg.kinds.contains(&alert.kind) {
            return;
        }
        let mut a = alert.clone();
        a.snapshot = None;
        match self.inner.record_tx.try_send(a) {
            Ok(()) => {}
            Err(TrySendError::Full(a)) => {
                tracing::warn!(id = %a.id, event = %a.event, "incident desk queue full; alert not shown on the desk (it is still delivered)")
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
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

/// Logs what a retention run removed (nothing when it removed nothing).
fn log_removed(r: &retention::Removed) {
    if r.incidents > 0 {
        tracing::info!(
            incidents = r.incidents,
            handling_steps = r.handling,
            "incident desk: resolved incidents past [desk] retention_days removed"
        );
    }
}

/// The desk thread: applies recorded alerts, escalates on time and runs
/// retention every `retention_every`. Holds the desk only weakly, so it
/// ends when the last [`Desk`] is dropped.
fn desk_thread(inner: &Weak<Inner>, rx: &Receiver<Alert>, retention_every: Duration) {
    let mut last_check = std::time::Instant::now() - ESCALATION_TICK;
    let mut last_retention = std::time::Instant::now();
    loop {
        let got = rx.recv_timeout(ESCALATION_TICK);
        let Some(desk) = inner.upgrade() else {
            break;
        };
        if last_retention.elapsed() >= retention_every {
            last_retention = std::time::Instant::now();
            let d = Desk {
                inner: desk.clone(),
            };
            if let Err(e) = d.remove_expired(Utc::now()) {
                tracing::error!(error = %e, "incident desk: retention failed; tried again tomorrow");
            }
        }
        match got {
            Ok(alert) => match desk.apply_alert(&alert) {
                Ok(Some(summary)) => {
                    let _ = desk.changes.send(DeskChange::Incident(summary));
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(event = %alert.event, error = %e, "incident desk: alert not recorded")
                }
            },
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if last_check.elapsed() >= ESCALATION_TICK {
            last_check = std::time::Instant::now();
            match desk.escalate_due() {
                Ok(_) => {}
                // Delivery has shut down (the daemon is stopping): the
                // incident stays unescalated and is escalated at the next start.
                Err(DeskError::Publish { .. }) => {}
                Err(e) => tracing::error!(error = %e, "incident desk: escalation check failed"),
            }
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
        if !self.desk.inner.cfg.kinds.contains(&alert.kind) {
            return self.next.submit(alert);
        }
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
