//! The publisher: sends queued alerts to the broker in order at QoS 1 and
//! removes each from the [`Store`] only when the broker's PUBACK for the very
//! packet that carried it has arrived.
//!
//! Two parts joined by a channel ([`CoreMsg`]):
//!
//! - the **connection task** (async) drives rumqttc's `EventLoop` forever,
//!   reconnecting with backoff, and forwards the few things the core needs:
//!   connected, "a publish went out with packet id N", "PUBACK N",
//!   disconnected;
//! - the **core** (a std thread, so SQLite calls never stall the runtime)
//!   reads rows from the store in order, hands at most [`WINDOW`] of them to
//!   rumqttc, maps packet ids to rows, and deletes rows on their PUBACK.
//!
//! rumqttc's `publish()` returning means only "queued locally", and with a
//! clean session rumqttc forgets its queue on reconnect. So after every
//! (re)connect the core starts again from the oldest unacknowledged row: the
//! outbox, not rumqttc, owns undelivered alerts.
//!
//! Mapping packet ids to rows without races: rumqttc numbers packets itself
//! and reports each number in an `Outgoing::Publish(pkid)` event, in the order
//! the publishes were queued. The core keeps a FIFO of what it queued and pops
//! one entry per such event. To make sure no publish queued for one
//! connection is sent on the next one, both sides share a [`Gate`]: the core
//! only queues while the gate says "connected, generation g", and the
//! connection task, on a disconnect, closes the gate and empties rumqttc's
//! request channel and state under the same lock before it reconnects.

use super::config::MqttConfig;
use super::mqtt::{describe_connection_error, Topics, STATUS_OFFLINE, STATUS_ONLINE, WINDOW};
use super::store::{Cursor, RowRef, Store};
use crate::alert::AlertKind;
use crate::base::{lock, Backoff, Timing};
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, MqttState, Outgoing, Packet, QoS};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often the core looks for rows inserted by other processes when idle.
pub const IDLE_POLL: Duration = Duration::from_millis(500);
/// First and longest wait between connection attempts (jittered by
/// [`Backoff`]'s rule).
pub const BACKOFF_MIN: Duration = Duration::from_millis(200);
pub const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// With messages outstanding and no PUBACK for this long, reconnect.
pub const ACK_STALL: Duration = Duration::from_secs(120);
/// At shutdown, how long to wait for the broker to acknowledge `offline`.
const OFFLINE_ACK_WAIT: Duration = Duration::from_secs(2);

/// Messages to the core.
#[derive(Debug)]
pub(crate) enum CoreMsg {
    /// CONNACK received; the gate is open for `generation`.
    Connected { generation: u64 },
    /// rumqttc wrote the next queued publish with this packet id.
    Sent { pkid: u16 },
    /// The broker acknowledged this packet id.
    Acked { pkid: u16 },
    /// The connection is gone; nothing queued before now will be sent.
    Disconnected { error: String },
    /// The writer committed rows.
    RowsAdded,
    /// A camera's retained state changed.
    CameraState { camera: String, payload: Vec<u8> },
    /// New gateway stats JSON for the retained stats topic.
    Stats { payload: Vec<u8> },
    /// A retained message on any topic (Home Assistant discovery and
    /// states); an empty payload deletes it and is sent once.
    Retained { topic: String, payload: Vec<u8> },
    /// The latest picture of an alert kind at a camera, for its retained
    /// snapshot topic (raw JPEG; only the newest per camera and kind is kept).
    Snapshot {
        camera: String,
        kind: AlertKind,
        jpeg: Vec<u8>,
    },
    /// Deliver what can be delivered until `deadline`, then stop.
    Shutdown { deadline: Instant },
}

/// Shared between the core and the connection task; see the module doc.
#[derive(Debug, Default)]
struct Gate {
    connected: bool,
    generation: u64,
}

/// Live counters of the link, for status output and tests.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct LinkStatus {
    pub connected: bool,
    /// Why the last connection attempt or connection failed.
    pub broker_error: Option<String>,
    /// Successful connections so far.
    pub connects: u64,
    /// Alerts handed to the broker (including resends).
    pub sent: u64,
    /// Of those, alerts that had been handed to a broker before.
    pub resent: u64,
    /// Alerts the broker acknowledged (PUBACK) and that left the outbox.
    pub delivered: u64,
    /// Time from handing an alert to the MQTT client to its PUBACK.
    pub publish_latency_ms: Timing,
    /// Failed connection attempts and lost connections so far.
    pub failures: u64,
    /// When the broker last acknowledged an alert (RFC 3339, UTC).
    pub last_delivered: Option<String>,
}

/// What publisher options differ between the daemon and `send-test-alert`.
#[derive(Debug, Clone)]
pub struct PublisherOptions {
    /// Publish retained `online` on connect and `offline` at shutdown.
    pub announce_status: bool,
}

/// A running publisher.
pub struct Publisher {
    tx: Sender<CoreMsg>,
    core: Option<std::thread::JoinHandle<()>>,
    conn: Option<tokio::task::JoinHandle<()>>,
    stop_conn: tokio::sync::watch::Sender<bool>,
    status: Arc<Mutex<LinkStatus>>,
    /// Set by the core when it queued the final DISCONNECT.
    disconnecting: Arc<AtomicBool>,
}

impl Publisher {
    /// Starts the connection task on the current tokio runtime and the core thread.
    pub(crate) fn start(
        store: Arc<Mutex<Store>>,
        mqtt: &MqttConfig,
        options: MqttOptions,
        topics: Topics,
        opts: PublisherOptions,
        tx: Sender<CoreMsg>,
        rx: Receiver<CoreMsg>,
    ) -> std::io::Result<Publisher> {
        let (client, eventloop) = AsyncClient::new(options, WINDOW as usize + 16);
        let gate = Arc::new(Mutex::new(Gate::default()));
        let status = Arc::new(Mutex::new(LinkStatus::default()));
        let closing = Arc::new(AtomicBool::new(false));
        let disconnecting = Arc::new(AtomicBool::new(false));
        let (stop_conn, stop_rx) = tokio::sync::watch::channel(false);
        let conn = tokio::spawn(connection_task(
            eventloop,
            gate.clone(),
            tx.clone(),
            stop_rx,
            closing.clone(),
            mqtt.clone(),
        ));
        let epoch = lock(&store).epoch();
        let core = Core {
            store,
            client,
            gate,
            rx,
            topics,
            announce: opts.announce_status,
            status: status.clone(),
            closing,
            disconnecting: disconnecting.clone(),
            generation: None,
            queued: VecDeque::new(),
            inflight: HashMap::new(),
            cursor: Cursor::default(),
            epoch,
            acked: Vec::new(),
            cameras: BTreeMap::new(),
            dirty_cameras: BTreeSet::new(),
            stats: None,
            retained: BTreeMap::new(),
            dirty_retained: BTreeSet::new(),
            snapshots: BTreeMap::new(),
            dirty_snapshots: BTreeSet::new(),
            announce_pending: false,
            last_progress: Instant::now(),
            shutdown: None,
        };
        let core = std::thread::Builder::new()
            .name("ew-publisher".into())
            .spawn(move || core.run())?;
        Ok(Publisher {
            tx,
            core: Some(core),
            conn: Some(conn),
            stop_conn,
            status,
            disconnecting,
        })
    }

    pub fn status(&self) -> LinkStatus {
        lock(&self.status).clone()
    }

    /// The shared status the core keeps up to date.
    pub(crate) fn status_handle(&self) -> Arc<Mutex<LinkStatus>> {
        self.status.clone()
    }

    /// Lets the core deliver until `grace` has passed (or everything is
    /// delivered), announces `offline`, disconnects, and waits for both parts.
    pub async fn shutdown(&mut self, grace: Duration) {
        let _ = self.tx.send(CoreMsg::Shutdown {
            deadline: Instant::now() + grace,
        });
        if let Some(core) = self.core.take() {
            let joined = tokio::task::spawn_blocking(move || core.join()).await;
            if !matches!(joined, Ok(Ok(()))) {
                tracing::error!("the publisher thread ended abnormally");
            }
        }
        if let Some(mut conn) = self.conn.take() {
            // After a DISCONNECT was queued the task ends by itself once it is
            // written; otherwise (not connected) stop it straight away.
            if self.disconnecting.load(Ordering::SeqCst)
                && tokio::time::timeout(Duration::from_secs(1), &mut conn)
                    .await
                    .is_ok()
            {
                return;
            }
            let _ = self.stop_conn.send(true);
            let abort = conn.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), conn)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        // Not shut down properly: stop both parts without waiting.
        let _ = self.tx.send(CoreMsg::Shutdown {
            deadline: Instant::now(),
        });
        let _ = self.stop_conn.send(true);
    }
}

/// Drives the rumqttc event loop; see the module doc.
async fn connection_task(
    mut eventloop: EventLoop,
    gate: Arc<Mutex<Gate>>,
    tx: Sender<CoreMsg>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    closing: Arc<AtomicBool>,
    mqtt: MqttConfig,
) {
    let mut backoff = Backoff::new(BACKOFF_MIN, BACKOFF_MAX);
    let mut failures: u64 = 0;
    let mut last_error = String::new();
    let inflight = eventloop.mqtt_options.inflight();
    loop {
        if *stop.borrow() {
            break;
        }
        let polled = tokio::select! {
            biased;
            _ = stop.changed() => break,
            r = eventloop.poll() => r,
        };
        match polled {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                let generation = {
                    let mut g = lock(&gate);
                    g.connected = true;
                    g.generation += 1;
                    g.generation
                };
                if failures > 0 {
                    tracing::info!(broker = %format!("{}:{}", mqtt.host, mqtt.port), failed_attempts = failures, "connected to the MQTT broker");
                } else {
                    tracing::info!(broker = %format!("{}:{}", mqtt.host, mqtt.port), "connected to the MQTT broker");
                }
                failures = 0;
                last_error.clear();
                backoff.reset();
                if tx.send(CoreMsg::Connected { generation }).is_err() {
                    break;
                }
            }
            Ok(Event::Outgoing(Outgoing::Publish(pkid))) => {
                let _ = tx.send(CoreMsg::Sent { pkid });
            }
            Ok(Event::Incoming(Packet::PubAck(ack))) => {
                let _ = tx.send(CoreMsg::Acked { pkid: ack.pkid });
            }
            Ok(Event::Outgoing(Outgoing::Disconnect)) if closing.load(Ordering::SeqCst) => break,
            Ok(_) => {}
            Err(e) => {
                let error = describe_connection_error(&e, &mqtt);
                {
                    let mut g = lock(&gate);
                    g.connected = false;
                    // Acks rumqttc read before the failure still belong to the
                    // old connection: pass them on before "disconnected".
                    while let Some(ev) = eventloop.state.events.pop_front() {
                        match ev {
                            Event::Outgoing(Outgoing::Publish(pkid)) => {
                                let _ = tx.send(CoreMsg::Sent { pkid });
                            }
                            Event::Incoming(Packet::PubAck(ack)) => {
                                let _ = tx.send(CoreMsg::Acked { pkid: ack.pkid });
                            }
                            _ => {}
                        }
                    }
                    // Forget everything queued for the old connection: the
                    // core resends from the outbox after the next CONNACK.
                    eventloop.state = MqttState::new(inflight, false);
                    eventloop.clean();
                    eventloop.pending.clear();
                }
                if tx
                    .send(CoreMsg::Disconnected {
                        error: error.clone(),
                    })
                    .is_err()
                {
                    break;
                }
                failures += 1;
                if error != last_error {
                    if error.starts_with("lost the connection") {
                        tracing::warn!(error = %error, "MQTT connection lost; reconnecting with backoff");
                    } else {
                        tracing::warn!(error = %error, "MQTT connection failed; retrying with backoff");
                    }
                    last_error = error;
                } else if failures % 60 == 0 {
                    tracing::warn!(error = %error, attempts = failures, "still cannot connect to the MQTT broker");
                } else {
                    tracing::debug!(error = %error, attempts = failures, "MQTT connection attempt failed");
                }
                let wait = backoff.next_wait();
                tokio::select! {
                    _ = stop.changed() => break,
                    _ = tokio::time::sleep(wait) => {}
                }
            }
        }
    }
}

/// What a queued publish carries.
#[derive(Debug, Clone, PartialEq)]
enum What {
    Alert(RowRef),
    Status(&'static str),
    Camera,
    Stats,
    Snapshot(SnapshotKey),
}

/// A retained snapshot topic: camera and alert kind.
type SnapshotKey = (String, AlertKind);

#[derive(Debug, Clone)]
struct Entry {
    what: What,
    /// Store epoch the row reference belongs to.
    epoch: u64,
    /// When it was handed to rumqttc (for the publish latency).
    queued_at: Instant,
}

enum Phase {
    /// Delivering until the store is empty or the deadline.
    Draining { deadline: Instant },
    /// `offline` queued; waiting for its PUBACK.
    Announcing { until: Instant, acked: bool },
}

struct Core {
    store: Arc<Mutex<Store>>,
    client: AsyncClient,
    gate: Arc<Mutex<Gate>>,
    rx: Receiver<CoreMsg>,
    topics: Topics,
    announce: bool,
    status: Arc<Mutex<LinkStatus>>,
    closing: Arc<AtomicBool>,
    disconnecting: Arc<AtomicBool>,
    /// The connection generation we may queue for; `None` while disconnected.
    generation: Option<u64>,
    /// Queued with rumqttc, waiting for their `Outgoing::Publish(pkid)`.
    queued: VecDeque<Entry>,
    /// Written to the broker, waiting for their PUBACK.
    inflight: HashMap<u16, Entry>,
    /// Last row handed out on this connection.
    cursor: Cursor,
    /// Store epoch the cursor belongs to.
    epoch: u64,
    /// Rows whose PUBACK arrived, to remove from the store in one go.
    acked: Vec<(u64, RowRef)>,
    /// Latest retained state per camera, and which still need publishing.
    cameras: BTreeMap<String, Vec<u8>>,
    dirty_cameras: BTreeSet<String>,
    /// Latest stats JSON not yet published.
    stats: Option<Vec<u8>>,
    /// Other retained messages by topic, and which still need publishing.
    retained: BTreeMap<String, Vec<u8>>,
    dirty_retained: BTreeSet<String>,
    /// Latest picture per camera and kind, and which still need publishing
    /// (one per key at most: a "latest picture", not a queue).
    snapshots: BTreeMap<SnapshotKey, Vec<u8>>,
    dirty_snapshots: BTreeSet<SnapshotKey>,
    announce_pending: bool,
    last_progress: Instant,
    shutdown: Option<Phase>,
}

impl Core {
    fn run(mut self) {
        loop {
            let wait = if self.shutdown.is_some() {
                Duration::from_millis(50)
            } else {
                IDLE_POLL
            };
            match self.rx.recv_timeout(wait) {
                Ok(m) => self.handle(m),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            while let Ok(m) = self.rx.try_recv() {
                self.handle(m);
            }
            self.flush_acks();
            self.pump();
            self.pump_snapshots();
            self.check_stall();
            if self.shutdown_step() {
                break;
            }
        }
        self.flush_acks();
        lock(&self.store).close();
    }

    fn handle(&mut self, m: CoreMsg) {
        match m {
            CoreMsg::Connected { generation } => {
                self.generation = Some(generation);
                self.queued.clear();
                self.inflight.clear();
                self.cursor = Cursor::default();
                self.announce_pending = self.announce;
                self.dirty_cameras = self.cameras.keys().cloned().collect();
                self.dirty_retained = self.retained.keys().cloned().collect();
                self.last_progress = Instant::now();
                let mut s = lock(&self.status);
                s.connected = true;
                s.connects += 1;
                s.broker_error = None;
            }
            CoreMsg::Disconnected { error } => {
                // Pictures not acknowledged are sent again on the next connection.
                for e in self.queued.iter().chain(self.inflight.values()) {
                    if let What::Snapshot(key) = &e.what {
                        if self.snapshots.contains_key(key) {
                            self.dirty_snapshots.insert(key.clone());
                        }
                    }
                }
                if self.generation.is_some() && !self.inflight.is_empty() {
                    tracing::info!(
                        in_flight = self.inflight.len() + self.queued.len(),
                        "connection lost with alerts in flight; they will be sent again"
                    );
                }
                self.generation = None;
                self.queued.clear();
                self.inflight.clear();
                let mut s = lock(&self.status);
                s.connected = false;
                s.failures += 1;
                s.broker_error = Some(error);
            }
            CoreMsg::Sent { pkid } => match self.queued.pop_front() {
                Some(entry) => {
                    if let Some(old) = self.inflight.insert(pkid, entry) {
                        tracing::error!(pkid, ?old.what, "packet id reused while still in flight; that alert will be sent again");
                    }
                }
                None => tracing::warn!(pkid, "rumqttc sent a publish the publisher did not queue"),
            },
            CoreMsg::Acked { pkid } => {
                self.last_progress = Instant::now();
                match self.inflight.remove(&pkid) {
                    Some(Entry {
                        what: What::Alert(r),
                        epoch,
                        queued_at,
                    }) => {
                        self.acked.push((epoch, r));
                        lock(&self.status)
                            .publish_latency_ms
                            .record(queued_at.elapsed());
                    }
                    Some(Entry {
                        what: What::Status(STATUS_OFFLINE),
                        ..
                    }) => {
                        if let Some(Phase::Announcing { acked, .. }) = &mut self.shutdown {
                            *acked = true;
                        }
                    }
                    Some(_) => {}
                    None => tracing::debug!(pkid, "PUBACK for a packet not in flight"),
                }
            }
            CoreMsg::RowsAdded => {}
            CoreMsg::CameraState { camera, payload } => {
                self.dirty_cameras.insert(camera.clone());
                self.cameras.insert(camera, payload);
            }
            CoreMsg::Stats { payload } => self.stats = Some(payload),
            CoreMsg::Retained { topic, payload } => {
                self.dirty_retained.insert(topic.clone());
                self.retained.insert(topic, payload);
            }
            CoreMsg::Snapshot { camera, kind, jpeg } => {
                let key = (camera, kind);
                self.dirty_snapshots.insert(key.clone());
                self.snapshots.insert(key, jpeg);
            }
            CoreMsg::Shutdown { deadline } => {
                let sooner = match &self.shutdown {
                    Some(Phase::Draining { deadline: d }) => deadline < *d,
                    Some(Phase::Announcing { .. }) => false,
                    None => true,
                };
                if sooner {
                    self.shutdown = Some(Phase::Draining { deadline });
                }
            }
        }
    }

    /// Removes acknowledged rows from the store.
    fn flush_acks(&mut self) {
        if self.acked.is_empty() {
            return;
        }
        let acked = std::mem::take(&mut self.acked);
        let mut store = lock(&self.store);
        let mut removed = 0;
        let mut i = 0;
        while i < acked.len() {
            let epoch = acked[i].0;
            let refs: Vec<RowRef> = acked[i..]
                .iter()
                .take_while(|(e, _)| *e == epoch)
                .map(|(_, r)| *r)
                .collect();
            i += refs.len();
            removed += store.delivered(epoch, &refs);
        }
        drop(store);
        let mut s = lock(&self.status);
        s.delivered += removed as u64;
        if removed > 0 {
            s.last_delivered =
                Some(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        }
    }

    fn outstanding(&self) -> usize {
        self.queued.len() + self.inflight.len()
    }

    /// Queues one publish if the gate is open for our generation.
    fn queue(&mut self, topic: String, retain: bool, payload: Vec<u8>, entry: Entry) -> bool {
        let Some(generation) = self.generation else {
            return false;
        };
        let g = lock(&self.gate);
        if !g.connected || g.generation != generation {
            return false;
        }
        match self
            .client
            .try_publish(topic, QoS::AtLeastOnce, retain, payload)
        {
            Ok(()) => {
                self.queued.push_back(entry);
                true
            }
            Err(e) => {
                tracing::debug!(error = %e, "publish not queued; will retry");
                false
            }
        }
    }

    /// Fills the window: status first, then camera states, then alerts in order.
    fn pump(&mut self) {
        if self.generation.is_none() {
            return;
        }
        let window = WINDOW as usize;
        if self.announce_pending && self.outstanding() < window {
            let entry = Entry {
                what: What::Status(STATUS_ONLINE),
                epoch: self.epoch,
                queued_at: Instant::now(),
            };
            if self.queue(self.topics.status(), true, STATUS_ONLINE.into(), entry) {
                self.announce_pending = false;
            }
        }
        while self.outstanding() < window {
            let Some(cam) = self.dirty_cameras.first().cloned() else {
                break;
            };
            let payload = self.cameras.get(&cam).cloned().unwrap_or_default();
            let entry = Entry {
                what: What::Camera,
                epoch: self.epoch,
                queued_at: Instant::now(),
            };
            if !self.queue(self.topics.camera_state(&cam), true, payload, entry) {
                return;
            }
            self.dirty_cameras.remove(&cam);
        }
        while self.outstanding() < window {
            let Some(topic) = self.dirty_retained.first().cloned() else {
                break;
            };
            let payload = self.retained.get(&topic).cloned().unwrap_or_default();
            let entry = Entry {
                what: What::Camera,
                epoch: self.epoch,
                queued_at: Instant::now(),
            };
            if !self.queue(topic.clone(), true, payload.clone(), entry) {
                return;
            }
            self.dirty_retained.remove(&topic);
            if payload.is_empty() {
                // Deleted on the broker; not repeated after a reconnect.
                self.retained.remove(&topic);
            }
        }
        if self.outstanding() < window {
            if let Some(payload) = self.stats.take() {
                let entry = Entry {
                    what: What::Stats,
                    epoch: self.epoch,
                    queued_at: Instant::now(),
                };
                if !self.queue(self.topics.stats(), true, payload.clone(), entry) {
                    self.stats = Some(payload);
                }
            }
        }
        if matches!(self.shutdown, Some(Phase::Announcing { .. })) {
            return;
        }
        // Refill in batches rather than one row per PUBACK.
        let room = window - self.outstanding().min(window);
        if room == 0 || (room < window / 4 && self.outstanding() > 0) {
            return;
        }
        let store = self.store.clone();
        let mut store = lock(&store);
        if store.epoch() != self.epoch {
            // Rows were renumbered: start again from the oldest.
            self.epoch = store.epoch();
            self.cursor = Cursor::default();
        }
        let rows = store.next_rows(&self.cursor, room);
        let mut sent = Vec::with_capacity(rows.len());
        let (mut n, mut resent) = (0u64, 0u64);
        for row in rows {
            let entry = Entry {
                what: What::Alert(row.at),
                epoch: self.epoch,
                queued_at: Instant::now(),
            };
            let topic = match &row.topic {
                Some(t) => self.topics.of_row(t),
                None => self.topics.alert(row.kind),
            };
            if !self.queue(topic, false, row.payload, entry) {
                break;
            }
            self.cursor.advance(row.at);
            sent.push(row.at);
            n += 1;
            resent += row.resend as u64;
        }
        store.mark_sent(self.epoch, &sent);
        drop(store);
        if n > 0 {
            let mut s = lock(&self.status);
            s.sent += n;
            s.resent += resent;
        }
    }

    /// Publishes the pictures that changed, retained, with whatever room the
    /// alerts left in the window (alerts go first).
    fn pump_snapshots(&mut self) {
        if self.generation.is_none() || matches!(self.shutdown, Some(Phase::Announcing { .. })) {
            return;
        }
        while self.outstanding() < WINDOW as usize {
            let Some(key) = self.dirty_snapshots.first().cloned() else {
                break;
            };
            let Some(jpeg) = self.snapshots.get(&key).cloned() else {
                self.dirty_snapshots.remove(&key);
                continue;
            };
            let entry = Entry {
                what: What::Snapshot(key.clone()),
                epoch: self.epoch,
                queued_at: Instant::now(),
            };
            if !self.queue(self.topics.snapshot(&key.0, key.1), true, jpeg, entry) {
                return;
            }
            self.dirty_snapshots.remove(&key);
        }
    }

    /// A broker that stops acknowledging (while keeping the link up) gets a
    /// fresh connection, which resends everything unacknowledged.
    fn check_stall(&mut self) {
        if self.generation.is_some()
            && self.outstanding() > 0
            && self.last_progress.elapsed() > ACK_STALL
        {
            tracing::warn!(
                outstanding = self.outstanding(),
                "no PUBACK from the broker for {}s; reconnecting",
                ACK_STALL.as_secs()
            );
            self.last_progress = Instant::now();
            self.disconnect_if_connected();
        }
    }

    /// Queues a DISCONNECT, but only for the current connection (so a stale
    /// one can never end the next connection). Returns true when queued.
    fn disconnect_if_connected(&self) -> bool {
        let Some(generation) = self.generation else {
            return false;
        };
        let g = lock(&self.gate);
        g.connected && g.generation == generation && self.client.try_disconnect().is_ok()
    }

    /// Advances the shutdown; returns true when the core may exit.
    fn shutdown_step(&mut self) -> bool {
        let now = Instant::now();
        match self.shutdown {
            None => false,
            Some(Phase::Draining { deadline }) => {
                let drained = self.outstanding() == 0 && lock(&self.store).is_drained();
                if !drained && now < deadline {
                    return false;
                }
                if !drained {
                    tracing::warn!("shutdown grace period over with alerts still queued; they stay in the outbox for the next start");
                }
                if self.announce && self.generation.is_some() {
                    let entry = Entry {
                        what: What::Status(STATUS_OFFLINE),
                        epoch: self.epoch,
                        queued_at: now,
                    };
                    if self.queue(self.topics.status(), true, STATUS_OFFLINE.into(), entry) {
                        self.shutdown = Some(Phase::Announcing {
                            until: now + OFFLINE_ACK_WAIT,
                            acked: false,
                        });
                        return false;
                    }
                }
                self.finish();
                true
            }
            Some(Phase::Announcing { until, acked })
                if acked || now >= until || self.generation.is_none() =>
            {
                self.finish();
                true
            }
            Some(Phase::Announcing { .. }) => false,
        }
    }

    fn finish(&mut self) {
        self.closing.store(true, Ordering::SeqCst);
        if self.disconnect_if_connected() {
            self.disconnecting.store(true, Ordering::SeqCst);
        }
    }
}
