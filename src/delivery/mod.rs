//! Delivery: gets every alert to the MQTT broker, in order, across broker
//! outages, daemon crashes and reboots.
//!
//! ```text
//!  producers ──submit()──► intake ──► writer thread ──commit──► outbox (SQLite, WAL)
//!  (via alert::fusion)    (bounded,   (one, batches)             │ rows in seq order
//!                          never blocks)                         ▼
//!  retained camera state ─────────────────────────────► publisher core ──► rumqttc ──► broker
//!  (StatusProbe::publish_camera_state)                   (window of 64 QoS 1   ◄── PUBACK
//!                                                         messages; a row is
//!                                                         deleted on its PUBACK)
//! ```
//!
//! Delivery knows alerts, not where they come from: it imports only
//! [`crate::alert`], [`crate::base`] and its config sections.
//!
//! - [`AlertSink`] (cheap to clone, callable from any thread) encodes an alert
//!   and puts it in the intake; it never waits for the disk or the network.
//!   It is delivery's side of the [`AlertSubmit`] seam.
//! - The writer thread commits intake batches to the [`store::Store`] (the
//!   [`outbox::Outbox`] file, or memory while the file fails) and tells the
//!   publisher.
//! - The [`publisher`] sends committed rows in order and removes each only on
//!   the broker's PUBACK for it; see ADR 0001 (`docs/adr/0001-outbox-and-delivery.md`).
//! - The [`notify`] senders (one thread per `[[notifiers]]` entry, started
//!   with [`Delivery::start_notifiers`]) read the same rows, each from its
//!   own cursor; a row is deleted once the broker and every notifier are
//!   done with it (ADR 0004, `docs/adr/0004-notifier-cursors.md`).
//! - [`StatusProbe`] reads delivery's figures and publishes the retained
//!   stats and per-camera state (built upstream, by
//!   [`CameraWatch`](crate::alert::camera::CameraWatch)).
//!
//! Only one daemon may use an outbox: [`Delivery::start`] takes an exclusive
//! `flock` on `<outbox>.lock`.
//!
//! Delivery is started with its own sections of the config ([`DeliverySections`]);
//! [`config`] holds the `[mqtt]` and `[outbox]` sections.

pub mod config;
pub mod homeassistant;
pub mod mqtt;
pub mod notify;
pub mod outbox;
pub mod profile;
pub mod publisher;
pub mod store;

use crate::alert::submit::AlertSubmit;
pub use crate::alert::submit::SubmitError;
use crate::alert::{Alert, AlertKind, AlertState, Severity};
use crate::base::{lock, wait_timeout};
use config::{MqttConfig, OutboxConfig};
use outbox::{counter_name, Caps, EncodedAlert, Outbox, OutboxError};
use publisher::{CoreMsg, LinkStatus, Publisher, PublisherOptions};
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use store::{Store, StoreHealth};
use uuid::Uuid;

/// Most alerts waiting in the intake for the writer.
pub const INTAKE_MAX_ALERTS: usize = 10_000;
/// Most payload bytes waiting in the intake.
pub const INTAKE_MAX_BYTES: usize = 64 * 1024 * 1024;
/// Most alerts the writer commits in one transaction.
const WRITER_BATCH: usize = 512;

/// Errors starting delivery. An absent broker or a failing outbox file are
/// not errors (delivery retries both); bad TLS files or a second daemon are.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error(transparent)]
    Mqtt(#[from] mqtt::MqttSetupError),
    #[error("another estatewatch daemon{} is already using the outbox {path}; stop it first", pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    OutboxInUse { path: PathBuf, pid: Option<u32> },
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error("cannot start a delivery thread: {0}")]
    Thread(#[from] std::io::Error),
    #[error("notifiers[{index}] ({name}): {source}")]
    Notifier {
        index: usize,
        name: String,
        source: notify::BuildError,
    },
}

/// Alerts waiting for the writer: a bounded queue with the outbox's drop
/// policy, guarded by a mutex and a condition variable.
#[derive(Default)]
struct Intake {
    state: Mutex<IntakeState>,
    ready: Condvar,
}

#[derive(Default)]
struct IntakeState {
    items: VecDeque<EncodedAlert>,
    bytes: usize,
    closed: bool,
    /// Drops not yet handed to the writer (counter name → count).
    dropped: BTreeMap<String, u64>,
    dropped_total: u64,
    submitted: u64,
}

impl Intake {
    fn push(&self, a: EncodedAlert) -> Result<(), SubmitError> {
        let mut st = lock(&self.state);
        if st.closed {
            return Err(SubmitError::Closed {
                id: a.id,
                kind: a.kind,
            });
        }
        let (id, kind, severity) = (a.id, a.kind, a.severity);
        st.bytes += a.payload.len();
        st.items.push_back(a);
        st.submitted += 1;
        let mut rejected = false;
        while st.items.len() > INTAKE_MAX_ALERTS || st.bytes > INTAKE_MAX_BYTES {
            let Some(i) = st
                .items
                .iter()
                .enumerate()
                .min_by_key(|(i, a)| (a.severity, *i))
                .map(|(i, _)| i)
            else {
                break;
            };
            if let Some(v) = st.items.remove(i) {
                st.bytes -= v.payload.len();
                *st.dropped
                    .entry(counter_name("dropped_intake", v.severity))
                    .or_default() += 1;
                st.dropped_total += 1;
                rejected |= v.id == id;
                tracing::warn!(id = %v.id, kind = %v.kind, severity = ?v.severity, "alert queue full (the outbox writer is stuck?); lowest-priority alert dropped");
            }
        }
        drop(st);
        self.ready.notify_one();
        if rejected {
            return Err(SubmitError::Dropped { id, kind, severity });
        }
        Ok(())
    }

    /// Waits up to `timeout` for alerts; returns a batch, the drops to count,
    /// and whether the intake is closed.
    fn take(&self, timeout: Duration) -> (Vec<EncodedAlert>, BTreeMap<String, u64>, bool) {
        let mut st = lock(&self.state);
        if st.items.is_empty() && !st.closed {
            st = wait_timeout(&self.ready, st, timeout);
        }
        let n = st.items.len().min(WRITER_BATCH);
        let batch: Vec<EncodedAlert> = st.items.drain(..n).collect();
        st.bytes -= batch.iter().map(|a| a.payload.len()).sum::<usize>();
        let dropped = std::mem::take(&mut st.dropped);
        (batch, dropped, st.closed)
    }

    fn close(&self) {
        lock(&self.state).closed = true;
        self.ready.notify_all();
    }
}

/// Where alerts enter delivery: delivery's side of the
/// [`AlertSubmit`] seam. Cheap to clone; [`submit`](Self::submit) may be
/// called from any thread and returns quickly (it never touches disk or
/// network). Producers reach it through
/// [`FusedSink`](crate::alert::fusion::FusedSink), which fuses camera and
/// sensor alerts first.
#[derive(Clone)]
pub struct AlertSink {
    intake: Arc<Intake>,
    embed_snapshots: bool,
    max_bytes: usize,
}

impl AlertSubmit for AlertSink {
    fn submit(&self, alert: Alert) -> Result<(), SubmitError> {
        AlertSink::submit(self, alert)
    }
}

impl AlertSink {
    /// Encodes `alert` and queues it for the outbox. With
    /// `mqtt.embed_snapshots = false` the snapshot is removed first; an alert
    /// too large for the limit loses its snapshot (noted in
    /// `details.snapshot_omitted`).
    pub fn submit(&self, mut alert: Alert) -> Result<(), SubmitError> {
        if !self.embed_snapshots {
            alert.snapshot = None;
        }
        let encode = |a: &Alert| {
            a.to_json()
                .map_err(|source| SubmitError::Encode { id: a.id, source })
        };
        let mut payload = encode(&alert)?;
        if payload.len() > self.max_bytes && alert.snapshot.is_some() {
            let size = payload.len();
            alert.snapshot = None;
            if let Some(d) = alert.details.as_object_mut() {
                d.insert(
                    "snapshot_omitted".into(),
                    format!("alert was {size} bytes with it; limit {}", self.max_bytes).into(),
                );
            }
            tracing::warn!(id = %alert.id, size, limit = self.max_bytes, "snapshot dropped from an oversized alert");
            payload = encode(&alert)?;
        }
        if payload.len() > self.max_bytes {
            return Err(SubmitError::TooLarge {
                id: alert.id,
                size: payload.len(),
                limit: self.max_bytes,
            });
        }
        self.intake.push(EncodedAlert {
            id: alert.id,
            kind: alert.kind,
            severity: alert.severity,
            created_ms: alert.detected_at.timestamp_millis(),
            payload,
            topic: None,
        })
    }
}

/// A message that is not an alert, queued through the outbox with an
/// alert's guarantees (committed before it is sent, removed on its PUBACK,
/// in order with the alerts): the incident desk's handling and escalation
/// messages. See invariant 8 in `outbox::schema`.
#[derive(Debug, Clone)]
pub struct OutboxMessage {
    /// The message's id (UUIDv7), unique in the outbox.
    pub id: Uuid,
    /// Its topic under `<prefix>/<gateway>/`, e.g. `incidents/<event>/handling`.
    pub topic: String,
    /// The kind of the incident it is about.
    pub kind: AlertKind,
    /// The incident's severity (the drop policy ranks it by this).
    pub severity: Severity,
    /// Unix milliseconds.
    pub created_ms: i64,
    /// The JSON payload, published as is.
    pub payload: Vec<u8>,
}

impl AlertSink {
    /// Queues `m` for the outbox; refused when larger than an alert may be.
    pub fn submit_message(&self, m: OutboxMessage) -> Result<(), SubmitError> {
        if m.payload.len() > self.max_bytes {
            return Err(SubmitError::TooLarge {
                id: m.id,
                size: m.payload.len(),
                limit: self.max_bytes,
            });
        }
        self.intake.push(EncodedAlert {
            id: m.id,
            kind: m.kind,
            severity: m.severity,
            created_ms: m.created_ms,
            payload: m.payload,
            topic: Some(m.topic),
        })
    }
}

/// Everything worth knowing about delivery right now.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DeliveryStatus {
    pub link: LinkStatus,
    pub outbox: StoreHealth,
    /// Alerts accepted by [`AlertSink::submit`].
    pub submitted: u64,
    /// Alerts dropped because the intake was full.
    pub dropped_intake: u64,
    /// Alerts waiting in the outbox (file and memory).
    pub depth: u64,
    /// Age of the oldest waiting alert, seconds (0 when none waits).
    pub oldest_age_s: f64,
    /// Alerts dropped ever (outbox counters) plus intake drops not yet counted there.
    pub dropped: u64,
    /// Each notifier's figures (empty without `[[notifiers]]`).
    pub notifiers: Vec<notify::sender::NotifierStatus>,
}

/// Reads delivery's status; see [`Delivery::probe`].
#[derive(Clone)]
pub struct StatusProbe {
    intake: Arc<Intake>,
    store: Arc<Mutex<Store>>,
    link: Arc<Mutex<LinkStatus>>,
    core_tx: Sender<CoreMsg>,
    notifiers: Arc<Mutex<Option<notify::sender::Senders>>>,
}

impl StatusProbe {
    /// Publishes `payload` retained on `<prefix>/<gateway>/stats` (the
    /// newest one wins if several wait for the broker).
    pub fn publish_stats(&self, payload: Vec<u8>) {
        let _ = self.core_tx.send(CoreMsg::Stats { payload });
    }

    /// Publishes `jpeg` retained on
    /// `<prefix>/<gateway>/cameras/<camera>/snapshot/<kind>` (QoS 1, after
    /// any queued alerts; only the newest picture per camera and kind waits
    /// for the broker). Pictures larger than an alert may be are not sent.
    pub fn publish_snapshot(&self, camera: String, kind: AlertKind, jpeg: Vec<u8>) {
        if jpeg.len() > mqtt::MAX_ALERT_BYTES {
            tracing::warn!(camera, kind = %kind, bytes = jpeg.len(), limit = mqtt::MAX_ALERT_BYTES, "snapshot too large for the snapshot topic; not published");
            return;
        }
        let _ = self.core_tx.send(CoreMsg::Snapshot { camera, kind, jpeg });
    }

    /// The incidents whose evidence must stay: those with an alert still
    /// waiting for delivery (file or memory) and those still open (see
    /// [`Store::protected_events`]).
    pub fn protected_events(&self) -> Result<std::collections::BTreeSet<Uuid>, OutboxError> {
        lock(&self.store).protected_events()
    }

    /// Publishes `payload` retained on `topic` (QoS 1, after queued
    /// alerts' turn, again after every reconnect; the newest payload per
    /// topic wins). An empty payload deletes the broker's retained message
    /// and is not repeated. Used by [`homeassistant`].
    pub fn publish_retained(&self, topic: String, payload: Vec<u8>) {
        let _ = self.core_tx.send(CoreMsg::Retained { topic, payload });
    }

    /// Publishes `payload` retained on
    /// `<prefix>/<gateway>/cameras/<camera>/state`; an empty payload deletes
    /// the broker's retained state.
    pub fn publish_camera_state(&self, camera: String, payload: Vec<u8>) {
        let _ = self.core_tx.send(CoreMsg::CameraState { camera, payload });
    }

    pub fn status(&self) -> DeliveryStatus {
        let (submitted, dropped_intake, uncounted) = {
            let st = lock(&self.intake.state);
            (
                st.submitted,
                st.dropped_total,
                st.dropped.values().sum::<u64>(),
            )
        };
        let (outbox, q) = {
            let store = lock(&self.store);
            (store.health(), store.queue_figures())
        };
        DeliveryStatus {
            link: lock(&self.link).clone(),
            outbox,
            submitted,
            dropped_intake,
            depth: q.depth,
            oldest_age_s: q.oldest_age_s,
            dropped: q.dropped + uncounted,
            notifiers: lock(&self.notifiers)
                .as_ref()
                .map(|n| n.status())
                .unwrap_or_default(),
        }
    }
}

/// The config sections delivery runs with.
#[derive(Debug, Clone)]
pub struct DeliverySections<'a> {
    /// `site.id`, for the alerts delivery raises itself (camera offline, tests).
    pub site: &'a str,
    /// `gateway.id`, the second level of every topic.
    pub gateway: &'a str,
    /// `[mqtt]`: the broker.
    pub mqtt: &'a MqttConfig,
    /// `[outbox]`: the queue on disk.
    pub outbox: &'a OutboxConfig,
}

/// The offline grace period of a camera delivery was not told about.
pub const DEFAULT_OFFLINE_GRACE: Duration = Duration::from_secs(30);

/// Options that differ between the daemon and one-off tools.
#[derive(Debug, Clone)]
pub struct StartOptions {
    /// MQTT client id; default from the config.
    pub client_id: Option<String>,
    /// Publish retained `online`/`offline` and register the last will.
    pub announce_status: bool,
    /// Take the exclusive daemon lock on the outbox.
    pub exclusive: bool,
}

impl StartOptions {
    /// What `estatewatch run` uses.
    pub fn daemon() -> StartOptions {
        StartOptions {
            client_id: None,
            announce_status: true,
            exclusive: true,
        }
    }
}

/// The running delivery service: intake, writer and publisher.
pub struct Delivery {
    sink: AlertSink,
    store: Arc<Mutex<Store>>,
    core_tx: Sender<CoreMsg>,
    writer: Option<std::thread::JoinHandle<()>>,
    publisher: Publisher,
    /// Wakes the notifiers when the writer committed rows.
    wake: Arc<notify::sender::Wake>,
    /// The running notifiers (see [`Delivery::start_notifiers`]).
    notifiers: Arc<Mutex<Option<notify::sender::Senders>>>,
    _lock: Option<DaemonLock>,
}

impl Delivery {
    /// Opens the outbox and starts the writer and the publisher. Succeeds with the broker absent and with a failing outbox
    /// file (both are retried); fails on bad TLS/credential files or when
    /// another daemon holds the outbox.
    pub async fn start(config: &DeliverySections<'_>) -> Result<Delivery, DeliveryError> {
        Delivery::start_with(config, StartOptions::daemon()).await
    }

    pub async fn start_with(
        config: &DeliverySections<'_>,
        opts: StartOptions,
    ) -> Result<Delivery, DeliveryError> {
        let client_id = opts
            .client_id
            .clone()
            .unwrap_or_else(|| config.mqtt.client_id_for(config.gateway));
        let options = mqtt::client_options(
            config.mqtt,
            config.gateway,
            &client_id,
            opts.announce_status,
        )?;
        let path = config.outbox.path.clone();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(dir);
        }
        let lock_file = if opts.exclusive {
            match DaemonLock::acquire(&path) {
                Ok(l) => Some(l),
                Err(LockError::Held(pid)) => {
                    return Err(DeliveryError::OutboxInUse { path, pid });
                }
                Err(LockError::Io(e)) => {
                    tracing::warn!(path = %path.display(), error = %e, "cannot create the outbox lock file; not protected against a second daemon");
                    None
                }
            }
        } else {
            None
        };
        let caps = Caps::from_config(config.outbox);
        let store = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || Store::open(&path, caps))
                .await
                .map_err(|e| DeliveryError::Thread(std::io::Error::other(e.to_string())))?
        };
        let store = Arc::new(Mutex::new(store));
        let intake = Arc::new(Intake::default());
        let (core_tx, core_rx) = std::sync::mpsc::channel();
        let publisher = Publisher::start(
            store.clone(),
            config.mqtt,
            options,
            mqtt::Topics::new(&config.mqtt.topic_prefix, config.gateway),
            PublisherOptions {
                announce_status: opts.announce_status,
            },
            core_tx.clone(),
            core_rx,
        )?;
        let wake = Arc::new(notify::sender::Wake::default());
        let writer = {
            let (intake, store, tx) = (intake.clone(), store.clone(), core_tx.clone());
            let wake = wake.clone();
            std::thread::Builder::new()
                .name("ew-outbox-writer".into())
                .spawn(move || writer_loop(&intake, &store, &tx, &wake))?
        };
        let sink = AlertSink {
            intake,
            embed_snapshots: config.mqtt.embed_snapshots,
            max_bytes: mqtt::MAX_ALERT_BYTES.min((config.outbox.max_bytes / 8) as usize),
        };
        if opts.exclusive {
            end_incidents_of_last_run(&store, &sink);
        }
        tracing::info!(outbox = %path.display(), broker = %format!("{}:{}", config.mqtt.host, config.mqtt.port), client_id, "delivery started");
        Ok(Delivery {
            sink,
            store,
            core_tx,
            writer: Some(writer),
            publisher,
            wake,
            notifiers: Arc::default(),
            _lock: lock_file,
        })
    }

    /// Where alerts are submitted (producers go through
    /// [`FusedSink`](crate::alert::fusion::FusedSink) in front of it).
    pub fn sink(&self) -> AlertSink {
        self.sink.clone()
    }

    pub fn status(&self) -> DeliveryStatus {
        self.probe().status()
    }

    /// A cheap handle that reads [`Delivery::status`] from any thread, also
    /// while the daemon owns the `Delivery`.
    pub fn probe(&self) -> StatusProbe {
        StatusProbe {
            intake: self.sink.intake.clone(),
            store: self.store.clone(),
            link: self.publisher.status_handle(),
            core_tx: self.core_tx.clone(),
            notifiers: self.notifiers.clone(),
        }
    }

    /// True when every submitted alert has been committed and acknowledged.
    pub fn is_idle(&self) -> bool {
        let intake_empty = lock(&self.sink.intake.state).items.is_empty();
        intake_empty && lock(&self.store).is_drained()
    }

    /// Ordered shutdown (after the producers have stopped): close the
    /// intake, let the writer commit what it has, then give the publisher
    /// `grace` to deliver before it announces `offline` and disconnects.
    pub async fn shutdown(mut self, grace: Duration) {
        self.sink.intake.close();
        if let Some(writer) = self.writer.take() {
            let _ = tokio::task::spawn_blocking(move || writer.join()).await;
        }
        let _ = self.core_tx.send(CoreMsg::RowsAdded);
        self.wake.rows_added();
        // The notifiers keep sending during the publisher's grace period.
        self.publisher.shutdown(grace).await;
        let notifiers = lock(&self.notifiers).take();
        if let Some(n) = notifiers {
            let _ = tokio::task::spawn_blocking(move || n.stop(NOTIFIER_STOP_WAIT)).await;
        }
        tracing::info!("delivery stopped");
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        // Dropped without shutdown(): stop the threads; the outbox keeps the rest.
        self.sink.intake.close();
        if let Some(n) = lock(&self.notifiers).as_ref() {
            n.signal_stop();
        }
    }
}

/// How long shutdown waits for a notifier busy with a request.
const NOTIFIER_STOP_WAIT: Duration = Duration::from_secs(2);

/// The writer thread: commits intake batches, runs store maintenance.
fn writer_loop(
    intake: &Intake,
    store: &Mutex<Store>,
    tx: &Sender<CoreMsg>,
    wake: &notify::sender::Wake,
) {
    let mut last_maintenance = Instant::now();
    loop {
        let (batch, dropped, closed) = intake.take(Duration::from_millis(500));
        let had_batch = !batch.is_empty();
        if had_batch || !dropped.is_empty() {
            let mut s = lock(store);
            s.count(dropped);
            s.append(batch);
        }
        if had_batch {
            let _ = tx.send(CoreMsg::RowsAdded);
            wake.rows_added();
        }
        if last_maintenance.elapsed() >= Duration::from_secs(1) {
            last_maintenance = Instant::now();
            if lock(store).maintain(last_maintenance) {
                let _ = tx.send(CoreMsg::RowsAdded);
                wake.rows_added();
            }
        }
        if closed && !had_batch {
            break;
        }
    }
}

/// Ends every incident the last run left open (it crashed, was killed or the
/// box lost power before the incident's `end`), so no consumer keeps an
/// incident open for ever. Each `end` carries `details.ended_by = "restart"`;
/// if the fire, bag or outage is still there, this run raises a new incident.
fn end_incidents_of_last_run(store: &Arc<Mutex<Store>>, sink: &AlertSink) {
    let open = lock(store).open_events();
    for last in open {
        let end = restart_end(last);
        tracing::info!(event = %end.event, kind = %end.kind, camera = ?end.camera, "incident left open by the last run ended");
        if let Err(e) = sink.submit(end) {
            tracing::error!(error = %e, "end of an incident left open not queued");
        }
    }
}

/// The `end` of an incident whose latest message was `last`.
fn restart_end(last: Alert) -> Alert {
    Alert {
        id: Uuid::now_v7(),
        state: AlertState::End,
        detected_at: chrono::Utc::now(),
        media_time_ms: None,
        snapshot: None,
        evidence: None,
        details: serde_json::json!({
            "ended_by": "restart",
            "last_seen_at": last.detected_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        }),
        ..last
    }
}

/// An exclusive `flock` on `<outbox>.lock`, held while the daemon runs. The
/// kernel releases it when the process dies, even by SIGKILL.
pub struct DaemonLock {
    _file: std::fs::File,
}

#[derive(Debug)]
enum LockError {
    Held(Option<u32>),
    Io(std::io::Error),
}

fn lock_path(outbox: &Path) -> PathBuf {
    let mut p = outbox.as_os_str().to_owned();
    p.push(".lock");
    PathBuf::from(p)
}

fn try_flock(file: &std::fs::File, exclusive: bool) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    let op = if exclusive {
        libc::LOCK_EX
    } else {
        libc::LOCK_SH
    } | libc::LOCK_NB;
    // SAFETY: flock on a file descriptor we own; no memory is shared.
    let rc = unsafe { libc::flock(file.as_raw_fd(), op) };
    if rc == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(e)
    }
}

impl DaemonLock {
    fn acquire(outbox: &Path) -> Result<DaemonLock, LockError> {
        use std::io::{Read, Seek, Write};
        let path = lock_path(outbox);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(LockError::Io)?;
        if !try_flock(&file, true).map_err(LockError::Io)? {
            let mut s = String::new();
            let _ = file.read_to_string(&mut s);
            return Err(LockError::Held(s.trim().parse().ok()));
        }
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = writeln!(file, "{}", std::process::id());
        Ok(DaemonLock { _file: file })
    }

    /// `Some(pid)` (pid if known) when a daemon holds the lock on `outbox`.
    pub fn holder(outbox: &Path) -> Option<Option<u32>> {
        let path = lock_path(outbox);
        let file = std::fs::File::open(&path).ok()?;
        match try_flock(&file, false) {
            Ok(false) => Some(
                std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|s| s.trim().parse().ok()),
            ),
            _ => None,
        }
    }
}

/// What `estatewatch send-test-alert` achieved.
#[derive(Debug, Clone, Serialize)]
pub struct TestAlertReport {
    /// Ids of the test alerts queued.
    pub ids: Vec<Uuid>,
    /// `Some(pid)` when a running daemon was found (pid if known).
    pub daemon: Option<Option<u32>>,
    /// True when the broker acknowledged every test alert within the timeout.
    pub delivered: bool,
    /// Why delivery has not happened, when it has not.
    pub broker_error: Option<String>,
}

/// Queues `count` `test` alerts in the outbox (the same path as real alerts)
/// and waits up to `timeout` for the broker to acknowledge them: through the
/// running daemon if there is one, else by publishing directly (with client
/// id `<client_id>-test`, no status announcements). Alerts not delivered in
/// time stay queued for the daemon.
pub async fn send_test_alerts(
    config: &DeliverySections<'_>,
    count: usize,
    timeout: Duration,
) -> Result<TestAlertReport, DeliveryError> {
    let alerts: Vec<EncodedAlert> = (0..count)
        .map(|i| {
            let mut a = Alert::new(AlertKind::Test, Severity::Info, config.site, config.gateway);
            a.details = serde_json::json!({
                "message": "test alert from `estatewatch send-test-alert`",
                "n": i + 1,
                "of": count,
            });
            a.to_json().map(|payload| EncodedAlert {
                id: a.id,
                kind: a.kind,
                severity: a.severity,
                created_ms: a.detected_at.timestamp_millis(),
                payload,
                topic: None,
            })
        })
        .collect::<Result<_, _>>()
        .map_err(|e| {
            DeliveryError::Outbox(OutboxError::Other {
                path: config.outbox.path.clone(),
                detail: format!("cannot encode test alert: {e}"),
            })
        })?;
    let ids: Vec<Uuid> = alerts.iter().map(|a| a.id).collect();
    let path = config.outbox.path.clone();
    let caps = Caps::from_config(config.outbox);
    let outbox = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || -> Result<Outbox, OutboxError> {
            let mut o = Outbox::open(&path, caps, true)?;
            o.append(&alerts)?;
            Ok(o)
        })
        .await
        .map_err(|e| DeliveryError::Thread(std::io::Error::other(e.to_string())))??
    };
    let outbox = Arc::new(Mutex::new(outbox));
    let daemon = DaemonLock::holder(&path);
    let deadline = Instant::now() + timeout;
    let mut direct = None;
    if daemon.is_none() {
        let opts = StartOptions {
            client_id: Some(format!(
                "{}-test",
                config.mqtt.client_id_for(config.gateway)
            )),
            announce_status: false,
            exclusive: false,
        };
        direct = Some(Delivery::start_with(config, opts).await?);
    }
    let delivered = loop {
        let pending = {
            let (o, ids) = (outbox.clone(), ids.clone());
            tokio::task::spawn_blocking(move || {
                let o = lock(&o);
                ids.iter().any(|id| o.mqtt_pending(*id).unwrap_or(true))
            })
            .await
            .unwrap_or(true)
        };
        if !pending {
            break true;
        }
        if Instant::now() >= deadline {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let broker_error = match &direct {
        Some(d) => d.status().link.broker_error,
        None => None,
    };
    if let Some(d) = direct {
        d.shutdown(Duration::ZERO).await;
    }
    Ok(TestAlertReport {
        ids,
        daemon,
        delivered,
        broker_error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(sev: Severity) -> EncodedAlert {
        EncodedAlert {
            id: Uuid::now_v7(),
            kind: AlertKind::Test,
            severity: sev,
            created_ms: 0,
            payload: vec![0; 10],
            topic: None,
        }
    }

    #[test]
    fn intake_full_drops_lowest_severity_oldest_first() {
        let intake = Intake::default();
        let first_info = enc(Severity::Info);
        intake.push(first_info.clone()).unwrap();
        for _ in 1..INTAKE_MAX_ALERTS {
            intake.push(enc(Severity::Critical)).unwrap();
        }
        // Full: a new major pushes out the only info alert.
        intake.push(enc(Severity::Major)).unwrap();
        let st = lock(&intake.state);
        assert_eq!(st.items.len(), INTAKE_MAX_ALERTS);
        assert!(st.items.iter().all(|a| a.id != first_info.id));
        assert_eq!(st.dropped["dropped_intake_info"], 1);
        drop(st);
        // Now only criticals and one major: a new info is itself dropped.
        let e = intake.push(enc(Severity::Info)).unwrap_err();
        assert!(matches!(e, SubmitError::Dropped { .. }), "{e}");
    }

    #[test]
    fn closed_intake_refuses() {
        let intake = Intake::default();
        intake.close();
        assert!(matches!(
            intake.push(enc(Severity::Critical)),
            Err(SubmitError::Closed { .. })
        ));
    }
}
