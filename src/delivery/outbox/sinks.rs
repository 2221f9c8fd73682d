//! Sinks besides MQTT: each notifier's cursor over the rows (table
//! `sinks`), and the deletion rule of schema invariant 9: a row goes once
//! the broker acknowledged it (`mqtt_done`) and every notifier's cursor is
//! past it.

use super::{Outbox, OutboxError};
use crate::alert::AlertKind;
use rusqlite::params;
use std::collections::BTreeMap;
use uuid::Uuid;

/// A row as a notifier reads it (every row, whether MQTT has it or not).
#[derive(Debug, Clone)]
pub struct SinkRow {
    pub seq: i64,
    pub id: Uuid,
    pub kind: AlertKind,
    /// See [`super::EncodedAlert::topic`].
    pub topic: Option<String>,
    pub payload: Vec<u8>,
}

/// What [`Outbox::sync_sinks`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SinkSync {
    /// Notifiers new to this file, starting at the head.
    pub added: Vec<String>,
    /// Notifiers no longer configured; their rows were released.
    pub removed: Vec<String>,
    /// Rows deleted because nothing waits for them any more.
    pub released_rows: u64,
}

/// One notifier's figures in the file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SinkFigures {
    /// Every row with `seq <= cursor` is done for it.
    pub cursor: i64,
    /// Rows after its cursor (its backlog, whether its routes take them or not).
    pub backlog: u64,
    /// Rows the caps or the TTL removed before it was done with them.
    pub dropped: u64,
}

/// Deletes every row the broker acknowledged and every notifier is done
/// with (invariant 9). Returns how many went.
pub(super) fn sweep(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<u64> {
    let n = tx
        .prepare_cached(
            "DELETE FROM outbox WHERE mqtt_done = 1
               AND seq <= COALESCE((SELECT MIN(cursor) FROM sinks), 9223372036854775807)",
        )?
        .execute([])?;
    Ok(n as u64)
}

impl Outbox {
    /// Makes `sinks` list exactly `names` (the daemon's `[[notifiers]]`): a
    /// notifier not listed is removed and its rows released; a new one starts
    /// at the head, the highest `seq` ever used (it is not sent what was
    /// queued before it existed).
    pub fn sync_sinks(&mut self, names: &[String]) -> Result<SinkSync, OutboxError> {
        let now = super::now_ms();
        self.write(|tx| {
            let mut out = SinkSync::default();
            let existing: Vec<String> = {
                let mut stmt = tx.prepare("SELECT name FROM sinks ORDER BY name")?;
                let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            for name in &existing {
                if !names.contains(name) {
                    tx.execute("DELETE FROM sinks WHERE name = ?1", [name])?;
                    out.removed.push(name.clone());
                }
            }
            for name in names {
                if existing.contains(name) {
                    continue;
                }
                tx.execute(
                    "INSERT INTO sinks (name, cursor, added_ms) VALUES (?1,
                        COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0), ?2)",
                    params![name, now],
                )?;
                out.added.push(name.clone());
            }
            out.released_rows = sweep(tx)?;
            Ok(out)
        })
    }

    /// Each notifier's cursor in the file.
    pub fn sink_cursors(&self) -> Result<BTreeMap<String, i64>, OutboxError> {
        let err = |e| OutboxError::from_sqlite(&self.path, e);
        let mut stmt = self
            .conn
            .prepare_cached("SELECT name, cursor FROM sinks")
            .map_err(err)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(err)
    }

    /// Moves notifier `name`'s cursor forward to `cursor` (never back) and
    /// removes the rows nothing waits for any more. Relaxed durability, like
    /// [`Outbox::remove_delivered`]: losing it in a power cut only resends.
    /// Returns how many rows were removed.
    pub fn advance_sink(&mut self, name: &str, cursor: i64) -> Result<u64, OutboxError> {
        let path = self.path.clone();
        self.relaxed(|tx| {
            tx.prepare_cached("UPDATE sinks SET cursor = MAX(cursor, ?2) WHERE name = ?1")?
                .execute(params![name, cursor])?;
            sweep(tx)
        })
        .map_err(|e| OutboxError::from_sqlite(&path, e))
    }

    /// Every row with `seq > after`, oldest first, at most `limit`: what a
    /// notifier reads. Rows whose kind no longer parses are skipped.
    pub fn sink_rows(&self, after: i64, limit: usize) -> Result<Vec<SinkRow>, OutboxError> {
        let err = |e| OutboxError::from_sqlite(&self.path, e);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, id, kind, topic, payload FROM outbox
                 WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map(params![after, limit as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Vec<u8>>(4)?,
                ))
            })
            .map_err(err)?;
        let mut out = Vec::new();
        for r in rows {
            let (seq, id, kind, topic, payload) = r.map_err(err)?;
            match (Uuid::parse_str(&id), kind.parse::<AlertKind>()) {
                (Ok(id), Ok(kind)) => out.push(SinkRow {
                    seq,
                    id,
                    kind,
                    topic,
                    payload,
                }),
                _ => {
                    tracing::error!(path = %self.path.display(), seq, "outbox row with an unknown id or kind skipped by the notifiers")
                }
            }
        }
        Ok(out)
    }

    /// Each notifier's cursor, backlog and drops.
    pub fn sink_figures(&self) -> Result<BTreeMap<String, SinkFigures>, OutboxError> {
        let err = |e| OutboxError::from_sqlite(&self.path, e);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT name, cursor, dropped,
                        (SELECT COUNT(*) FROM outbox WHERE seq > sinks.cursor)
                 FROM sinks",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    SinkFigures {
                        cursor: r.get(1)?,
                        dropped: r.get::<_, i64>(2)?.max(0) as u64,
                        backlog: r.get::<_, i64>(3)?.max(0) as u64,
                    },
                ))
            })
            .map_err(err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(err)
    }

    /// Marks rows by id as acknowledged by the broker (the in-memory rows it
    /// got while the file failed, once they are moved into the file), then
    /// removes what nothing waits for.
    pub fn mark_mqtt_done(&mut self, ids: &[Uuid]) -> Result<(), OutboxError> {
        if ids.is_empty() {
            return Ok(());
        }
        let path = self.path.clone();
        self.relaxed(|tx| {
            {
                let mut stmt =
                    tx.prepare_cached("UPDATE outbox SET mqtt_done = 1 WHERE id = ?1")?;
                for id in ids {
                    stmt.execute([id.to_string()])?;
                }
            }
            sweep(tx).map(|_| ())
        })
        .map_err(|e| OutboxError::from_sqlite(&path, e))
    }
}
