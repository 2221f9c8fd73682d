//! What delivery can tell about itself ([`DeliveryStatus`]) and the
//! [`StatusProbe`] handle that reads it from any thread, and through which
//! the rest of the daemon publishes the retained topics (stats, camera
//! state, snapshots, Home Assistant discovery) and asks which incidents'
//! evidence must stay.

use super::intake::Intake;
use super::mqtt;
use super::notify;
use super::outbox::OutboxError;
use super::publisher::{CoreMsg, LinkStatus};
use super::store::{Store, StoreHealth};
use crate::alert::AlertKind;
use crate::base::lock;
use serde::Serialize;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

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

/// Reads delivery's status; see [`Delivery::probe`](super::Delivery::probe).
#[derive(Clone)]
pub struct StatusProbe {
    pub(super) intake: Arc<Intake>,
    pub(super) store: Arc<Mutex<Store>>,
    pub(super) link: Arc<Mutex<LinkStatus>>,
    pub(super) core_tx: Sender<CoreMsg>,
    pub(super) notifiers: Arc<Mutex<Option<notify::sender::Senders>>>,
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
    /// and is not repeated. Used by [`homeassistant`](super::homeassistant).
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
        let (submitted, dropped_intake, uncounted) = self.intake.counts();
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
