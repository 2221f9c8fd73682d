//! The publisher's core, a std thread (so SQLite calls never stall the
//! runtime): reads rows from the [`Store`] in order, keeps at most
//! [`WINDOW`] publishes outstanding with rumqttc, maps packet ids to rows,
//! deletes rows on their PUBACK, publishes the retained topics (status,
//! camera states, stats, other retained messages, snapshots), reconnects a
//! broker that stops acknowledging, and runs the shutdown (drain, announce
//! `offline`, disconnect).

use super::{CoreMsg, Gate, LinkStatus, ACK_STALL, IDLE_POLL};
use crate::alert::AlertKind;
use crate::base::lock;
use crate::delivery::mqtt::{Topics, STATUS_OFFLINE, STATUS_ONLINE, WINDOW};
use crate::delivery::store::{Cursor, RowRef, Store};
use rumqttc::{AsyncClient, QoS};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// At shutdown, how long to wait for the broker to acknowledge `offline`.
const OFFLINE_ACK_WAIT: Duration = Duration::from_secs(2);

/// What the core shares with the connection task and the
/// [`Publisher`](super::Publisher) handle.
pub(super) struct CoreLinks {
    /// Whether (and for which connection) the core may queue publishes.
    pub gate: Arc<Mutex<Gate>>,
    /// The link's figures, read by [`Publisher::status`](super::Publisher::status).
    pub status: Arc<Mutex<LinkStatus>>,
    /// Set when the core queues the final DISCONNECT: the connection task
    /// ends once it is written.
    pub closing: Arc<AtomicBool>,
    /// Set when that DISCONNECT was queued on a live connection.
    pub disconnecting: Arc<AtomicBool>,
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

pub(super) struct Core {
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
    pub(super) fn new(
        store: Arc<Mutex<Store>>,
        client: AsyncClient,
        rx: Receiver<CoreMsg>,
        topics: Topics,
        announce: bool,
        links: CoreLinks,
    ) -> Core {
        let epoch = lock(&store).epoch();
        Core {
            store,
            client,
            gate: links.gate,
            rx,
            topics,
            announce,
            status: links.status,
            closing: links.closing,
            disconnecting: links.disconnecting,
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
        }
    }

    pub(super) fn run(mut self) {
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

    /// What the core remembers of a publish of `what` it queues now.
    fn entry(&self, what: What) -> Entry {
        Entry {
            what,
            epoch: self.epoch,
            queued_at: Instant::now(),
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
            let entry = self.entry(What::Status(STATUS_ONLINE));
            if self.queue(self.topics.status(), true, STATUS_ONLINE.into(), entry) {
                self.announce_pending = false;
            }
        }
        while self.outstanding() < window {
            let Some(cam) = self.dirty_cameras.first().cloned() else {
                break;
            };
            let payload = self.cameras.get(&cam).cloned().unwrap_or_default();
            let entry = self.entry(What::Camera);
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
            let entry = self.entry(What::Camera);
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
                let entry = self.entry(What::Stats);
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
            let entry = self.entry(What::Alert(row.at));
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
            let entry = self.entry(What::Snapshot(key.clone()));
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
                    let entry = self.entry(What::Status(STATUS_OFFLINE));
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
