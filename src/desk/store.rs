//! The desk file (`[desk] db`, default `desk.db` beside the outbox): a
//! SQLite database (WAL, `synchronous = FULL`) with the incidents and the
//! audit trail of their handling. Other builds and tools rely on it, so
//! these invariants hold after every transaction:
//!
//! # Invariants
//!
//! 1. `incidents` has one row per incident (`event`, the alerts' `event`
//!    UUID), created by its first `new` or `update` of a desk kind; an `end`
//!    never creates one. Its alert columns (`alert_state`, `last_ms`,
//!    `severity`, `snapshot`, `clip`, `origin`, `alert`) follow the alerts;
//!    `severity` only ever rises, `first_ms` never changes.
//! 2. `state` is one of `open`, `acknowledged`, `resolved_handled`,
//!    `resolved_false_alarm`, and changes only with a handling step written
//!    in the same transaction: `open → acknowledged` (acknowledge),
//!    `open|acknowledged → resolved_*` (resolve). A resolved incident never
//!    reopens. `acked_ms` is set by the acknowledgement, `resolved_ms` by the
//!    resolution, each once.
//! 3. `handling` is append-only (triggers refuse `UPDATE`, and `DELETE`
//!    of the steps of an incident that is not resolved): one row per
//!    accepted step, with who (`actor`, `via`), when (`at_ms`), what
//!    (`action`, and `body`, the step as JSON) and the incident's `state`
//!    after it. `seq` only grows and is never reused (`AUTOINCREMENT`, also
//!    across removals); a step's handling message carries it and the same
//!    `message_id` on every redelivery.
//! 4. `escalated_ms` is set once, in the transaction that queues the
//!    escalation message, only for an incident that was `open` and
//!    `critical` at that moment.
//! 5. Times are Unix milliseconds UTC; a query's `day` is turned into a
//!    range of them with the site's time zone, so changing the zone needs no
//!    rewrite.
//!
//! 6. Rows are removed only by retention ([`super::retention`]): a resolved
//!    incident whose resolution, latest alert and latest handling step are
//!    all older than `[desk] retention_days`, together with its whole
//!    handling trail, in one transaction. A trigger refuses removing an
//!    incident that is open or acknowledged. An incident is a few
//!    kilobytes, so a busy estate's year fits in tens of megabytes.
//!
//! # Schema versions
//!
//! `PRAGMA application_id` is "EWDK" and `PRAGMA user_version` the schema
//! version; [`MIGRATIONS`] lists the numbered upgrade steps, each applied in
//! its own transaction with the version bump. A newer file is refused, never
//! modified.

use super::{DeskError, IncidentState};
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `PRAGMA application_id` of a desk file ("EWDK").
pub const APPLICATION_ID: i64 = 0x4557_444b;

/// Upgrade steps: `(version reached, SQL)`.
pub const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        r#"
    CREATE TABLE incidents (
        event        TEXT    PRIMARY KEY,      -- the alerts' `event` UUID
        kind         TEXT    NOT NULL,         -- AlertKind::as_str
        analyzer     TEXT    NOT NULL,         -- what raised it (false-alarm counts)
        camera       TEXT    NOT NULL,         -- camera name, '' when none
        source       TEXT,                     -- without a camera: the sensor's area or name
        zone         TEXT,
        severity     INTEGER NOT NULL,         -- highest Severity::rank seen, 0..=3
        critical_ms  INTEGER,                  -- detected_at of its first critical alert
        state        TEXT    NOT NULL CHECK (state IN
                        ('open', 'acknowledged', 'resolved_handled', 'resolved_false_alarm')),
        alert_state  TEXT    NOT NULL,         -- latest alert: new, update or end
        first_ms     INTEGER NOT NULL,         -- first alert's detected_at
        last_ms      INTEGER NOT NULL,         -- latest alert's detected_at
        acked_ms     INTEGER,
        resolved_ms  INTEGER,
        assignee     TEXT,
        snapshot     TEXT,                     -- `<event>/<file>` under /evidence/
        clip         TEXT,                     -- `<event>/clip.mp4` under /evidence/
        origin       TEXT,                     -- throwing origin JSON
        escalated_ms INTEGER,
        alert        BLOB    NOT NULL          -- latest alert JSON, without its picture
    );
    CREATE INDEX incidents_first ON incidents (first_ms);
    CREATE INDEX incidents_open ON incidents (state) WHERE state IN ('open', 'acknowledged');
    CREATE TABLE handling (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        event      TEXT    NOT NULL REFERENCES incidents (event),
        at_ms      INTEGER NOT NULL,
        actor      TEXT    NOT NULL,
        via        TEXT    NOT NULL CHECK (via IN ('console', 'platform')),
        action     TEXT    NOT NULL,           -- acknowledge, assign, note, resolve
        body       TEXT    NOT NULL,           -- the step (Action) as JSON
        state      TEXT    NOT NULL,           -- the incident's state after it
        message_id TEXT    NOT NULL            -- its handling message's `id`
    );
    CREATE INDEX handling_event ON handling (event, seq);
    CREATE TRIGGER handling_no_update BEFORE UPDATE ON handling BEGIN
        SELECT RAISE(ABORT, 'the handling trail is append-only');
    END;
    CREATE TRIGGER handling_no_delete BEFORE DELETE ON handling BEGIN
        SELECT RAISE(ABORT, 'the handling trail is append-only');
    END;
    "#,
    ),
    (
        2,
        r#"
    -- Retention (invariant 6): the trail of a resolved incident may go
    -- with it; an open incident and its trail stay.
    DROP TRIGGER handling_no_delete;
    CREATE TRIGGER handling_no_delete BEFORE DELETE ON handling
    WHEN (SELECT state FROM incidents WHERE event = OLD.event)
         NOT IN ('resolved_handled', 'resolved_false_alarm')
    BEGIN
        SELECT RAISE(ABORT, 'the handling trail is append-only while its incident is unresolved');
    END;
    CREATE TRIGGER incidents_keep_open BEFORE DELETE ON incidents
    WHEN OLD.state NOT IN ('resolved_handled', 'resolved_false_alarm')
    BEGIN
        SELECT RAISE(ABORT, 'an unresolved incident is kept');
    END;
    "#,
    ),
];

/// How long a statement waits for another connection's lock.
const BUSY_TIMEOUT: Duration = Duration::from_millis(2000);

/// The open desk file.
pub(super) struct DeskDb {
    pub(super) conn: Connection,
    pub(super) path: PathBuf,
}

impl DeskDb {
    /// Opens or creates the file at `path`, upgrading its schema.
    pub(super) fn open(path: &Path) -> Result<DeskDb, DeskError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| DeskError::Db {
                path: path.to_path_buf(),
                detail: format!("cannot create its folder: {e}"),
            })?;
        }
        let err = |e: rusqlite::Error| db_error(path, e);
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        let _: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(err)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(err)?;
        let mut db = DeskDb {
            conn,
            path: path.to_path_buf(),
        };
        db.upgrade()?;
        Ok(db)
    }

    pub(super) fn err(&self, e: rusqlite::Error) -> DeskError {
        db_error(&self.path, e)
    }

    /// Begins a write transaction that takes the file's write lock at once
    /// (`BEGIN IMMEDIATE`), so its reads and writes see one state; its
    /// failure names the file.
    pub(super) fn immediate(&mut self) -> Result<Transaction<'_>, DeskError> {
        self.conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| db_error(&self.path, e))
    }

    fn upgrade(&mut self) -> Result<(), DeskError> {
        let latest = MIGRATIONS.last().map_or(0, |m| m.0);
        let (version, app_id): (i64, i64) = (
            self.conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(|e| self.err(e))?,
            self.conn
                .query_row("PRAGMA application_id", [], |r| r.get(0))
                .map_err(|e| self.err(e))?,
        );
        if app_id != APPLICATION_ID {
            let tables: i64 = self
                .conn
                .query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get(0))
                .map_err(|e| self.err(e))?;
            if app_id != 0 || tables > 0 {
                return Err(DeskError::Format {
                    path: self.path.clone(),
                    detail: format!(
                        "not an incident desk file (application_id {app_id:#x}); give [desk] db a file of its own"
                    ),
                });
            }
        }
        if version > latest {
            return Err(DeskError::Format {
                path: self.path.clone(),
                detail: format!(
                    "written by a newer estatewatch (schema {version}, this build knows up to {latest}); left untouched"
                ),
            });
        }
        for (step, sql) in MIGRATIONS {
            let path = self.path.clone();
            let tx = self.immediate()?;
            let v: i64 = tx
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(|e| db_error(&path, e))?;
            if v >= *step {
                continue;
            }
            tx.execute_batch(sql).map_err(|e| db_error(&path, e))?;
            tx.pragma_update(None, "application_id", APPLICATION_ID)
                .map_err(|e| db_error(&path, e))?;
            tx.pragma_update(None, "user_version", step)
                .map_err(|e| db_error(&path, e))?;
            tx.commit().map_err(|e| db_error(&path, e))?;
            tracing::info!(path = %path.display(), version = step, "incident desk schema upgraded");
        }
        Ok(())
    }
}

pub(super) fn db_error(path: &Path, e: rusqlite::Error) -> DeskError {
    DeskError::Db {
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}

/// Parses a stored state name (invariant 2 keeps them valid).
pub(super) fn state_of(s: &str) -> IncidentState {
    s.parse().unwrap_or(IncidentState::Open)
}
