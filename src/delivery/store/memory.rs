//! The in-memory fallback: alerts kept while the file cannot be written
//! (same drop policy as the file), and moving them into the file once it
//! works again.

use super::{log_drops, Store, MEMORY_MAX_BYTES, MEMORY_MAX_ROWS};
use crate::delivery::outbox::{self, counter_name, EncodedAlert};
use std::time::Instant;

pub(super) struct MemRow {
    pub(super) n: u64,
    pub(super) alert: EncodedAlert,
    /// An incident's `end`: dropped only after every other memory row.
    pub(super) end: bool,
    pub(super) enqueued: Instant,
    pub(super) attempts: u32,
    /// The broker acknowledged it; kept only for the notifiers.
    pub(super) mqtt_done: bool,
}

/// True when `payload` is an alert whose `state` is `end`.
pub(super) fn is_end(payload: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Head {
        state: crate::alert::AlertState,
    }
    serde_json::from_slice::<Head>(payload).is_ok_and(|h| h.state == crate::alert::AlertState::End)
}

/// The `event` of an alert payload, if it is one.
pub(super) fn event_of(payload: &[u8]) -> Option<uuid::Uuid> {
    #[derive(serde::Deserialize)]
    struct Head {
        event: uuid::Uuid,
    }
    serde_json::from_slice::<Head>(payload)
        .ok()
        .map(|h| h.event)
}

impl Store {
    pub(super) fn push_mem(&mut self, batch: Vec<EncodedAlert>) {
        let now = Instant::now();
        for alert in batch {
            if self.mem.iter().any(|m| m.alert.id == alert.id) {
                continue;
            }
            self.mem_bytes += alert.payload.len() as u64;
            self.mem.push_back(MemRow {
                n: self.mem_next,
                end: alert.topic.is_none() && is_end(&alert.payload),
                alert,
                enqueued: now,
                attempts: 0,
                mqtt_done: false,
            });
            self.mem_next += 1;
        }
        let max_rows = self.configured.max_rows.min(MEMORY_MAX_ROWS);
        let max_bytes = self.configured.max_bytes.min(MEMORY_MAX_BYTES);
        let mut dropped = Vec::new();
        while self.mem.len() as u64 > max_rows || self.mem_bytes > max_bytes {
            // Lowest severity, oldest first, like the file; an incident's
            // `end` only when nothing else is left (its `new` may well have
            // been delivered already); rows the broker has (kept only for
            // the notifiers) before those it has not, at each level.
            let Some(victim) = self
                .mem
                .iter()
                .enumerate()
                .min_by_key(|(i, m)| (m.end, !m.mqtt_done, m.alert.severity, *i))
                .map(|(i, _)| i)
            else {
                break;
            };
            if let Some(m) = self.mem.remove(victim) {
                self.mem_bytes -= m.alert.payload.len() as u64;
                if !m.mqtt_done {
                    *self
                        .pending_counters
                        .entry(counter_name("dropped_memory", m.alert.severity))
                        .or_default() += 1;
                }
                dropped.push(outbox::Dropped {
                    seq: -(m.n as i64),
                    id: m.alert.id,
                    severity: m.alert.severity,
                    mqtt_done: m.mqtt_done,
                });
            }
        }
        log_drops("in-memory queue full", &dropped);
    }

    pub(super) fn mem_row_mut(&mut self, n: u64) -> Option<&mut MemRow> {
        let i = self.mem.partition_point(|m| m.n < n);
        self.mem.get_mut(i).filter(|m| m.n == n)
    }

    /// Copies the in-memory alerts into the file, in order, in one transaction.
    pub(super) fn migrate(&mut self) -> bool {
        let Some(f) = self.file.as_mut() else {
            return false;
        };
        let batch: Vec<EncodedAlert> = self.mem.iter().map(|m| m.alert.clone()).collect();
        let done: Vec<uuid::Uuid> = self
            .mem
            .iter()
            .filter(|m| m.mqtt_done)
            .map(|m| m.alert.id)
            .collect();
        match f.append(&batch) {
            Ok(out) => {
                if let Err(e) = f.mark_mqtt_done(&done) {
                    // Only means the broker gets them once more.
                    tracing::warn!(error = %e, rows = done.len(), "could not mark moved alerts as delivered to the broker");
                }
                tracing::info!(path = %self.path.display(), moved = batch.len(), "in-memory alerts committed to the outbox file");
                log_drops("outbox cap reached", &out.dropped);
                self.mem.clear();
                self.mem_bytes = 0;
                self.epoch += 1;
                self.note_recovery();
                true
            }
            Err(e) => {
                self.fail(e);
                false
            }
        }
    }
}
