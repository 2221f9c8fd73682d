//! The caps and drop policy, and the TTL.
//!
//! After each insert, while the table holds more than `max_rows` rows or more
//! than `max_bytes` payload bytes, the row with the lowest severity is dropped,
//! the oldest (lowest `seq`) first among equals. A `critical` alert is therefore
//! dropped only when every remaining row is critical. The alert just inserted
//! is a candidate like any other, so an `info` alert arriving at a full outbox
//! of `major` alerts is itself the one dropped.
//!
//! One exception: an `end` that is held (invariant 7) goes only after every
//! other row, so an incident staff saw open is never left without its `end`
//! (an `info` `camera_online` outlives the `major` alerts around it). Once
//! every alert of its incident was dropped unseen, the `end` is an ordinary
//! row again. The TTL never drops a held `end` either.
//!
//! With notifiers (schema version 5), rows the broker already has
//! (`mqtt_done = 1`, kept only for a notifier that is behind) go before rows
//! it has not got, at each of those two levels: a dead webhook never costs
//! MQTT an alert. A dropped row is counted in `counters` only when MQTT had
//! not got it, and in `sinks.dropped` of each notifier whose cursor had not
//! passed it.

use super::stats::{count_drops, severity_from_rank};
use super::{Outbox, OutboxError};
use crate::alert::Severity;
use rusqlite::OptionalExtension;
use std::time::Duration;
use uuid::Uuid;

/// The limits the drop policy enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    pub max_rows: u64,
    pub max_bytes: u64,
    /// Rows older than this (since they were enqueued) are dropped.
    pub ttl: Option<Duration>,
}

impl Caps {
    pub fn from_config(c: &crate::delivery::config::OutboxConfig) -> Caps {
        Caps {
            max_rows: c.max_rows,
            max_bytes: c.max_bytes,
            ttl: c.ttl_hours.map(|h| Duration::from_secs(h * 3600)),
        }
    }
}

/// A row removed by the drop policy or the TTL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    pub seq: i64,
    pub id: Uuid,
    pub severity: Severity,
    /// True when the broker had it already (kept only for a notifier):
    /// not counted as dropped for MQTT.
    pub mqtt_done: bool,
}

/// A row chosen to be dropped.
pub(super) struct Victim {
    seq: i64,
    id: String,
    severity: i64,
    bytes: i64,
    event: Option<String>,
    state: Option<String>,
    mqtt_done: bool,
}

impl Victim {
    /// Reads `seq, id, severity, bytes, event, state, mqtt_done`.
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<Victim> {
        Ok(Victim {
            seq: r.get(0)?,
            id: r.get(1)?,
            severity: r.get(2)?,
            bytes: r.get(3)?,
            event: r.get(4)?,
            state: r.get(5)?,
            mqtt_done: r.get::<_, i64>(6)? != 0,
        })
    }

    fn dropped(&self) -> Dropped {
        Dropped {
            seq: self.seq,
            id: Uuid::parse_str(&self.id).unwrap_or(Uuid::nil()),
            severity: severity_from_rank(self.severity).unwrap_or(Severity::Info),
            mqtt_done: self.mqtt_done,
        }
    }
}

/// The drop policy: see the module doc.
pub(super) fn enforce_caps(
    tx: &rusqlite::Transaction<'_>,
    caps: Caps,
) -> rusqlite::Result<Vec<Dropped>> {
    let (rows, bytes): (i64, i64) = tx.query_row("SELECT rows, bytes FROM totals", [], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    let (mut rows, mut bytes) = (rows as u64, bytes as u64);
    let mut victims = Vec::new();
    // One row at a time: dropping a `new` can release its `end` (invariant 7).
    while rows > caps.max_rows || bytes > caps.max_bytes {
        let Some(v) = next_victim(tx)? else { break };
        drop_row(tx, &v)?;
        rows -= 1;
        bytes = bytes.saturating_sub(v.bytes as u64);
        victims.push(v.dropped());
    }
    Ok(victims)
}

/// The row the drop policy removes next: the lowest severity, oldest first,
/// held `end`s only when nothing else is left; at each level rows the broker
/// has already before those it has not.
pub(super) fn next_victim(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<Option<Victim>> {
    for sql in [
        "SELECT seq, id, severity, bytes, event, state, mqtt_done FROM outbox
         WHERE mqtt_done = 1 AND held = 0 ORDER BY severity, seq LIMIT 1",
        "SELECT seq, id, severity, bytes, event, state, mqtt_done FROM outbox
         WHERE mqtt_done = 0 AND held = 0 ORDER BY severity, seq LIMIT 1",
        "SELECT seq, id, severity, bytes, event, state, mqtt_done FROM outbox
         WHERE mqtt_done = 1 AND held > 0 ORDER BY severity, seq LIMIT 1",
        "SELECT seq, id, severity, bytes, event, state, mqtt_done FROM outbox
         WHERE mqtt_done = 0 AND held > 0 ORDER BY severity, seq LIMIT 1",
    ] {
        let v = tx
            .prepare_cached(sql)?
            .query_row([], Victim::read)
            .optional()?;
        if v.is_some() {
            return Ok(v);
        }
    }
    Ok(None)
}

/// Deletes a dropped row, keeping invariant 7: a dropped `new` or `update`
/// no longer counts for its incident; every notifier that had not passed it
/// counts it in `sinks.dropped`.
pub(super) fn drop_row(tx: &rusqlite::Transaction<'_>, v: &Victim) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM outbox WHERE seq = ?1")?
        .execute([v.seq])?;
    tx.prepare_cached("UPDATE sinks SET dropped = dropped + 1 WHERE cursor < ?1")?
        .execute([v.seq])?;
    let (Some(event), Some("new" | "update")) = (v.event.as_deref(), v.state.as_deref()) else {
        return Ok(());
    };
    let open = tx
        .prepare_cached("UPDATE open_events SET live = MAX(live - 1, 0) WHERE event = ?1")?
        .execute([event])?;
    if open == 0 {
        // Already ended: the count lives on the queued `end`, if any.
        tx.prepare_cached(
            "UPDATE outbox SET held = held - 1 WHERE event = ?1 AND state = 'end' AND held > 0",
        )?
        .execute([event])?;
    }
    Ok(())
}

impl Outbox {
    /// Drops rows enqueued longer ago than the TTL (if one is set).
    pub fn expire(&mut self, now_ms: i64) -> Result<Vec<Dropped>, OutboxError> {
        let Some(ttl) = self.caps.ttl else {
            return Ok(Vec::new());
        };
        let cutoff = now_ms - ttl.as_millis() as i64;
        self.write(|tx| {
            let mut victims = Vec::new();
            // Dropping a `new` can release its `end` (invariant 7): look again
            // until nothing more is due.
            loop {
                let due = {
                    let mut stmt = tx.prepare_cached(
                        "SELECT seq, id, severity, bytes, event, state, mqtt_done FROM outbox
                         WHERE enqueued_ms < ?1 AND held = 0 ORDER BY seq",
                    )?;
                    let rows = stmt.query_map([cutoff], Victim::read)?;
                    rows.collect::<rusqlite::Result<Vec<_>>>()?
                };
                if due.is_empty() {
                    break;
                }
                for v in &due {
                    drop_row(tx, v)?;
                    victims.push(v.dropped());
                }
            }
            count_drops(tx, "dropped_ttl", &victims)?;
            Ok(victims)
        })
    }
}
