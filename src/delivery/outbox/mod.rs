//! The outbox file: a SQLite database (WAL) where every alert waits until the
//! broker has acknowledged it.
//!
//! This module owns the on-disk format, its schema upgrades, the caps and drop
//! policy, and the counters. It knows nothing about MQTT; [`super::store`]
//! wraps it with an in-memory fallback for when the file cannot be written.
//!
//!
//! The rooms: [`schema`] (the file format, its invariants and upgrades),
//! [`policy`] (caps, drop policy, TTL), [`incidents`] (open incidents),
//! [`sinks`] (the notifiers' cursors and the deletion rule),
//! [`space`] (WAL, checkpoints, the reserve file), [`stats`] (counters and
//! listings), [`salvage`] (damaged files) and [`error`]. This file holds the
//! [`Outbox`] type: opening, appending, reading and deleting rows.

mod error;
mod incidents;
mod policy;
mod salvage;
mod schema;
mod sinks;
mod space;
mod stats;
#[cfg(test)]
mod tests;

pub use error::OutboxError;
pub use policy::{Caps, Dropped};
pub use salvage::{quarantine, salvage, Salvage};
pub use schema::{APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION};
pub use sinks::{SinkFigures, SinkRow, SinkSync};
pub use space::{create_reserve, free_bytes, reserve_path, SpacePlan, RESERVE_SUFFIX};
pub use stats::{counter_name, severity_from_rank, severity_name, OutboxStats, RowInfo};

use incidents::{end_hold, state_name, track_lifecycle, LifecycleHead};
use policy::enforce_caps;
use space::WAL_LIMIT_BYTES;
use stats::{add_counter, count_drops};

use crate::alert::{AlertKind, Severity};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use uuid::Uuid;

/// How long a statement waits for another connection's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_millis(1000);

/// An alert ready to be stored: its JSON and the fields the outbox indexes.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedAlert {
    pub id: Uuid,
    pub kind: AlertKind,
    pub severity: Severity,
    /// The alert's `detected_at`, Unix milliseconds.
    pub created_ms: i64,
    /// The alert JSON exactly as it will be published.
    pub payload: Vec<u8>,
    /// `None` for an alert (published on `<prefix>/<gateway>/alerts/<kind>`);
    /// for another message queued through the outbox (the incident desk's
    /// handling and escalation messages), its topic under
    /// `<prefix>/<gateway>/`, e.g. `incidents/<event>/handling`. Such a
    /// message never opens or ends an incident (schema invariant 8).
    pub topic: Option<String>,
}

/// A queued row, as the publisher reads it.
#[derive(Debug, Clone)]
pub struct Row {
    pub seq: i64,
    pub id: Uuid,
    pub kind: AlertKind,
    pub severity: Severity,
    pub enqueued_ms: i64,
    pub attempts: u32,
    pub payload: Vec<u8>,
    /// See [`EncodedAlert::topic`].
    pub topic: Option<String>,
}

/// What [`Outbox::append`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Rows inserted.
    pub inserted: usize,
    /// Alerts ignored because their id was already queued.
    pub duplicates: usize,
    /// Rows the cap policy removed (possibly some just inserted).
    pub dropped: Vec<Dropped>,
}

/// An open outbox file.
pub struct Outbox {
    conn: Connection,
    path: PathBuf,
    caps: Caps,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Outbox({})", self.path.display())
    }
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn ms_to_rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|| ms.to_string())
}

impl Outbox {
    /// Opens (and, with `create`, creates) the outbox at `path`, upgrading its
    /// schema and checking it is intact.
    pub fn open(path: &Path, caps: Caps, create: bool) -> Result<Outbox, OutboxError> {
        if !create && !path.exists() {
            return Err(OutboxError::Missing {
                path: path.to_path_buf(),
            });
        }
        let err = |e| OutboxError::from_sqlite(path, e);
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let conn = Connection::open_with_flags(path, flags).map_err(err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        if conn.is_readonly(rusqlite::MAIN_DB).map_err(err)? {
            return Err(OutboxError::Unwritable {
                path: path.to_path_buf(),
                detail: "the file is read-only".into(),
            });
        }
        // Reading the journal mode is the first access to the file: a file that
        // is not a database fails here.
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %path.display(), %mode, "outbox could not switch to WAL mode");
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(err)?;
        // Keep the WAL small (see the module doc); SQLite's own default is
        // about 4 MiB, the largest limit used here.
        let wal_limit = SpacePlan::measure(path, caps.max_bytes)
            .map_or(WAL_LIMIT_BYTES.1, |p| p.wal_limit_bytes);
        let page_size: i64 = conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .map_err(err)?;
        conn.pragma_update(None, "journal_size_limit", wal_limit as i64)
            .map_err(err)?;
        conn.pragma_update(
            None,
            "wal_autocheckpoint",
            (wal_limit as i64 / page_size.max(512)).max(16),
        )
        .map_err(err)?;
        let mut outbox = Outbox {
            conn,
            path: path.to_path_buf(),
            caps,
        };
        outbox.upgrade()?;
        outbox.quick_check()?;
        Ok(outbox)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn caps(&self) -> Caps {
        self.caps
    }

    /// Changes the limits the drop policy enforces from the next insert on.
    pub fn set_caps(&mut self, caps: Caps) {
        self.caps = caps;
    }

    fn err(&self, e: rusqlite::Error) -> OutboxError {
        OutboxError::from_sqlite(&self.path, e)
    }

    /// Commits `alerts` in one transaction, then applies the cap policy.
    pub fn append(&mut self, alerts: &[EncodedAlert]) -> Result<AppendOutcome, OutboxError> {
        let caps = self.caps;
        self.write(|tx| {
        let mut outcome = AppendOutcome::default();
        {
            let now = now_ms();
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO outbox
                         (id, kind, severity, created_ms, enqueued_ms, bytes, payload, event, state, held, topic)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )
                ?;
            for a in alerts {
                // Only alerts take part in incidents (invariant 8).
                let head = if a.topic.is_none() {
                    LifecycleHead::of(&a.payload)
                } else {
                    None
                };
                let held = match &head {
                    Some(h) if h.state == crate::alert::AlertState::End => {
                        end_hold(tx, h.event)?
                    }
                    _ => 0,
                };
                let n = insert
                    .execute(params![
                        a.id.to_string(),
                        a.kind.as_str(),
                        a.severity.rank(),
                        a.created_ms,
                        now,
                        a.payload.len() as i64,
                        a.payload,
                        head.as_ref().map(|h| h.event.to_string()),
                        head.as_ref().map(|h| state_name(h.state)),
                        held,
                        a.topic,
                    ])
                    ?;
                if n == 1 {
                    outcome.inserted += 1;
                    if let Some(h) = &head {
                        track_lifecycle(tx, a, h, now)?;
                    }
                } else {
                    outcome.duplicates += 1;
                }
            }
        }
        outcome.dropped = enforce_caps(tx, caps)?;
        count_drops(tx, "dropped_cap", &outcome.dropped)?;
        Ok(outcome)
        })
    }

    /// Rows the broker has not acknowledged with `seq > after`, oldest
    /// first, at most `limit` (rows kept only for a notifier are left out).
    pub fn rows_after(&self, after: i64, limit: usize) -> Result<Vec<Row>, OutboxError> {
        let err = |e| OutboxError::from_sqlite(&self.path, e);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, id, kind, severity, enqueued_ms, attempts, payload, topic
                 FROM outbox WHERE mqtt_done = 0 AND seq > ?1 ORDER BY seq LIMIT ?2",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map(params![after, limit as i64], read_row)
            .map_err(err)?;
        let mut out = Vec::new();
        for r in rows {
            match r.map_err(err)? {
                Some(row) => out.push(row),
                None => {
                    tracing::error!(path = %self.path.display(), "outbox row with an unknown kind or severity skipped")
                }
            }
        }
        Ok(out)
    }

    /// Counts a publish attempt for each row (best effort, relaxed durability).
    pub fn mark_sent(&mut self, seqs: &[i64]) -> Result<(), OutboxError> {
        if seqs.is_empty() {
            return Ok(());
        }
        let path = self.path.clone();
        let err = |e| OutboxError::from_sqlite(&path, e);
        self.relaxed(|tx| {
            let mut stmt =
                tx.prepare_cached("UPDATE outbox SET attempts = attempts + 1 WHERE seq = ?1")?;
            for s in seqs {
                stmt.execute([s])?;
            }
            Ok(())
        })
        .map_err(err)
    }

    /// Records that the broker acknowledged these rows (`mqtt_done`) and
    /// removes those every notifier is done with too (schema invariant 9).
    /// Returns how many were still waiting for the broker.
    ///
    /// Runs with `synchronous = NORMAL`: losing this commit in a power cut only
    /// means those alerts are sent again (consumers drop duplicates by `id`).
    pub fn remove_delivered(&mut self, seqs: &[i64]) -> Result<u64, OutboxError> {
        if seqs.is_empty() {
            return Ok(0);
        }
        let path = self.path.clone();
        let err = |e| OutboxError::from_sqlite(&path, e);
        self.relaxed(|tx| {
            let mut marked = 0u64;
            {
                let mut stmt = tx.prepare_cached(
                    "UPDATE outbox SET mqtt_done = 1 WHERE seq = ?1 AND mqtt_done = 0",
                )?;
                for s in seqs {
                    marked += stmt.execute([s])? as u64;
                }
            }
            sinks::sweep(tx)?;
            add_counter(tx, "delivered", marked)?;
            Ok(marked)
        })
        .map_err(err)
    }

    /// Runs `f` in one write transaction (`BEGIN IMMEDIATE`, committed with
    /// the connection's full durability); an SQLite error rolls it back and
    /// is returned naming the file.
    fn write<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, OutboxError> {
        let path = &self.path;
        let err = |e| OutboxError::from_sqlite(path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let v = f(&tx).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(v)
    }

    /// Runs `f` in a write transaction committed with `synchronous = NORMAL`.
    fn relaxed<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        let result: rusqlite::Result<T> = (|| {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let v = f(&tx)?;
            tx.commit()?;
            Ok(v)
        })();
        let restore = self.conn.pragma_update(None, "synchronous", "FULL");
        let v = result?;
        restore?;
        Ok(v)
    }

    /// Adds `n` to a persistent counter.
    pub fn add_counters(&mut self, counts: &BTreeMap<String, u64>) -> Result<(), OutboxError> {
        let path = self.path.clone();
        let err = |e| OutboxError::from_sqlite(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        for (name, n) in counts {
            add_counter(&tx, name, *n).map_err(err)?;
        }
        tx.commit().map_err(err)
    }

    /// Deletes every undelivered row; counted as `purged`. Returns how many.
    pub fn purge(&mut self) -> Result<u64, OutboxError> {
        self.write(|tx| {
            let n = tx.execute("DELETE FROM outbox", [])? as u64;
            add_counter(tx, "purged", n)?;
            Ok(n)
        })
    }

    /// Rows in the file (waiting for MQTT or for a notifier) and their
    /// payload bytes (from `totals`).
    pub fn totals(&self) -> Result<(u64, u64), OutboxError> {
        self.conn
            .query_row("SELECT rows, bytes FROM totals", [], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64))
            })
            .map_err(|e| self.err(e))
    }

    /// Rows the broker has not acknowledged yet (`totals.mqtt_rows`).
    pub fn mqtt_rows(&self) -> Result<u64, OutboxError> {
        self.conn
            .query_row("SELECT mqtt_rows FROM totals", [], |r| {
                Ok(r.get::<_, i64>(0)?.max(0) as u64)
            })
            .map_err(|e| self.err(e))
    }

    /// When the oldest row waiting for the broker was enqueued (ms since
    /// the Unix epoch).
    pub fn oldest_enqueued_ms(&self) -> Result<Option<i64>, OutboxError> {
        self.conn
            .query_row(
                "SELECT enqueued_ms FROM outbox WHERE mqtt_done = 0 ORDER BY seq LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// True when `id` is queued and the broker has not acknowledged it.
    pub fn mqtt_pending(&self, id: Uuid) -> Result<bool, OutboxError> {
        self.conn
            .query_row(
                "SELECT 1 FROM outbox WHERE id = ?1 AND mqtt_done = 0",
                [id.to_string()],
                |_| Ok(()),
            )
            .optional()
            .map(|o| o.is_some())
            .map_err(|e| self.err(e))
    }

    /// True when `id` is still in the file (waiting for MQTT or a notifier).
    pub fn contains(&self, id: Uuid) -> Result<bool, OutboxError> {
        self.conn
            .query_row(
                "SELECT 1 FROM outbox WHERE id = ?1",
                [id.to_string()],
                |_| Ok(()),
            )
            .optional()
            .map(|o| o.is_some())
            .map_err(|e| self.err(e))
    }
}

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<Row>> {
    let id: String = r.get(1)?;
    let kind: String = r.get(2)?;
    let sev: i64 = r.get(3)?;
    let (Ok(id), Ok(kind), Some(severity)) = (
        Uuid::parse_str(&id),
        kind.parse::<AlertKind>(),
        severity_from_rank(sev),
    ) else {
        return Ok(None);
    };
    Ok(Some(Row {
        seq: r.get(0)?,
        id,
        kind,
        severity,
        enqueued_ms: r.get(4)?,
        attempts: r.get::<_, i64>(5)? as u32,
        payload: r.get(6)?,
        topic: r.get(7)?,
    }))
}
