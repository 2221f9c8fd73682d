//! Where alerts enter delivery: the [`AlertSink`] producers submit to, the
//! bounded intake queue behind it (with the outbox's drop policy when it is
//! full), and the writer thread that commits the queued alerts to the
//! [`Store`] in batches and wakes the publisher and the notifiers.
//!
//! Nothing here waits for the disk or the network on the producer's side:
//! [`AlertSink::submit`] encodes and queues; only the writer thread touches
//! the store.

use super::notify;
use super::outbox::{counter_name, EncodedAlert};
use super::publisher::CoreMsg;
use super::store::Store;
use crate::alert::submit::AlertSubmit;
use crate::alert::submit::SubmitError;
use crate::alert::{Alert, AlertKind, Severity};
use crate::base::{lock, wait_timeout};
use std::collections::{BTreeMap, VecDeque};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Most alerts waiting in the intake for the writer.
pub const INTAKE_MAX_ALERTS: usize = 10_000;
/// Most payload bytes waiting in the intake.
pub const INTAKE_MAX_BYTES: usize = 64 * 1024 * 1024;
/// Most alerts the writer commits in one transaction.
const WRITER_BATCH: usize = 512;

/// Alerts waiting for the writer: a bounded queue with the outbox's drop
/// policy, guarded by a mutex and a condition variable.
#[derive(Default)]
pub(super) struct Intake {
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
    pub(super) fn push(&self, a: EncodedAlert) -> Result<(), SubmitError> {
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

    pub(super) fn close(&self) {
        lock(&self.state).closed = true;
        self.ready.notify_all();
    }

    /// True when no alert waits for the writer.
    pub(super) fn is_empty(&self) -> bool {
        lock(&self.state).items.is_empty()
    }

    /// Alerts accepted, alerts dropped, and of those the drops not yet
    /// handed to the writer (so not yet in the outbox's counters).
    pub(super) fn counts(&self) -> (u64, u64, u64) {
        let st = lock(&self.state);
        (
            st.submitted,
            st.dropped_total,
            st.dropped.values().sum::<u64>(),
        )
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
    pub(super) intake: Arc<Intake>,
    /// `mqtt.embed_snapshots`.
    pub(super) embed_snapshots: bool,
    /// The largest encoded alert the outbox takes.
    pub(super) max_bytes: usize,
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

/// The writer thread: commits intake batches, runs store maintenance.
pub(super) fn writer_loop(
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
