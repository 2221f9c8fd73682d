//! The outbox file format (the persistent format other processes and later
//! builds rely on): the invariants every change to the file keeps, and the
//! numbered schema upgrades.
//!
//! # Invariants
//!
//! 1. An alert is committed here (`synchronous = FULL`, so it survives a crash
//!    or power cut) before anything tries to publish it.
//! 2. Alert ids (`id`, the alert's UUIDv7) are unique: inserting an id that is
//!    already queued is a no-op.
//! 3. A row leaves the table only when (a) every sink is done with it
//!    (invariant 9: the broker's PUBACK for the very packet that carried it
//!    arrived, [`Outbox::remove_delivered`], and every notifier's cursor is
//!    past it), (b) the cap policy drops it, (c) it outlived the optional
//!    TTL, or (d) an installer purged it. Every (b)–(d) removal is counted in
//!    `counters` when MQTT had not got the row yet, and in each notifier's
//!    `sinks.dropped` when that notifier had not.
//! 4. Delivery order is `seq` order. `seq` is `INTEGER PRIMARY KEY
//!    AUTOINCREMENT`: it only grows and is never reused, even by rows inserted
//!    by another process (`estatewatch send-test-alert`).
//! 5. `totals` always equals `COUNT(*)` and `SUM(bytes)` of `outbox` (kept by
//!    triggers, in the same transaction as the change).
//! 6. `open_events` holds one row per incident that is open: a `new` or
//!    `update` of a kind with a lifecycle ([`AlertKind::has_lifecycle`])
//!    inserts or refreshes its `event`'s row (an `update` that announces
//!    evidence only counts in an open row, never opens one), and any `end`
//!    deletes it, in the
//!    same transaction as the alert's own insert. It is independent of the
//!    `outbox` rows (delivery never touches it; caps and TTL only lower its
//!    `live` counts, invariant 7), so after a crash it tells which incidents
//!    were never ended ([`Outbox::open_events`]).
//! 7. Every row records its alert's `event` and `state` (NULL when the payload
//!    is not an alert). `open_events.live` counts the incident's `new` and
//!    `update` alerts committed here and not dropped (delivered ones count). An
//!    `end` row's `held` is that count when the `end` was committed (1 when
//!    the incident is not in `open_events`: it began before this file
//!    recorded it), less those dropped since; it is 0 for every other row.
//!    So `held > 0` means staff got, or will get, some alert of the incident.
//! 8. A row with a `topic` is not an alert but another message queued through
//!    the outbox (the incident desk's handling and escalation messages,
//!    `docs/desk.md`), published on `<prefix>/<gateway>/<topic>` in `seq`
//!    order with the alerts; its `kind` and `severity` are those of the
//!    incident it is about (for the drop policy), its `event` and `state`
//!    are NULL and it never touches `open_events`. A row without one is an
//!    alert, published on `<prefix>/<gateway>/alerts/<kind>`. A topic
//!    `abs:<t>` is absolute: published on `<t>` as it is (a platform
//!    profile's mapped message, `delivery::profile`).
//! 9. Sinks (schema version 5). MQTT and every notifier take each row
//!    independently. `mqtt_done` is 1 once the broker acknowledged the row
//!    (it is never set back to 0); `sinks` holds one row per configured
//!    notifier with its `cursor`: every outbox row with `seq <= cursor` is
//!    done for that notifier (sent, taken by the vendor, rejected, merged
//!    into a later state of its incident, or not taken by its routes). A row
//!    is deleted as soon as `mqtt_done = 1` and `seq <= MIN(sinks.cursor)`
//!    (at once when there are no sinks); a cursor only grows. The running
//!    daemon makes `sinks` match its `[[notifiers]]` at start: a removed
//!    notifier's row is deleted (releasing its rows), a new one starts at
//!    the head (the highest `seq` ever used), so it gets only rows queued
//!    after it was added. Other processes leave `sinks` alone.
//! 10. `totals.mqtt_rows` always equals the number of rows with
//!     `mqtt_done = 0` (kept by triggers).
//!
//! # Schema versions
//!
//! `PRAGMA user_version` holds the schema version and `PRAGMA application_id`
//! marks the file as an estatewatch outbox. [`MIGRATIONS`] lists the explicit,
//! numbered upgrade steps; each runs in its own transaction together with the
//! `user_version` bump. A file with a newer version than this build knows is
//! refused, never modified.

use super::{Outbox, OutboxError};
#[cfg(doc)]
use crate::alert::AlertKind;

/// Schema version this build writes.
pub const SCHEMA_VERSION: i64 = 5;

/// `PRAGMA application_id` of an outbox file ("EWOB").
pub const APPLICATION_ID: i64 = 0x4557_4f42;

/// Upgrade steps: `(version reached, SQL)`, applied in order to files whose
/// `user_version` is lower than the step's version.
pub const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        r#"
    CREATE TABLE outbox (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT, -- delivery order
        id          TEXT    NOT NULL UNIQUE,           -- the alert's UUIDv7
        kind        TEXT    NOT NULL,                  -- AlertKind::as_str
        severity    INTEGER NOT NULL,                  -- Severity::rank, 0..=3
        created_ms  INTEGER NOT NULL,                  -- alert detected_at, Unix ms
        enqueued_ms INTEGER NOT NULL,                  -- committed here, Unix ms
        attempts    INTEGER NOT NULL DEFAULT 0,        -- times handed to the broker
        bytes       INTEGER NOT NULL,                  -- length(payload)
        payload     BLOB    NOT NULL                   -- the alert JSON, as published
    );
    CREATE INDEX outbox_drop_order ON outbox (severity, seq);
    CREATE TABLE totals (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        rows      INTEGER NOT NULL,
        bytes     INTEGER NOT NULL
    );
    INSERT INTO totals (singleton, rows, bytes) VALUES (1, 0, 0);
    CREATE TRIGGER outbox_totals_insert AFTER INSERT ON outbox BEGIN
        UPDATE totals SET rows = rows + 1, bytes = bytes + NEW.bytes;
    END;
    CREATE TRIGGER outbox_totals_delete AFTER DELETE ON outbox BEGIN
        UPDATE totals SET rows = rows - 1, bytes = bytes - OLD.bytes;
    END;
    CREATE TABLE counters (
        name  TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    );
    "#,
    ),
    (
        2,
        r#"
    CREATE TABLE open_events (
        event      TEXT    PRIMARY KEY,                -- the incident's `event` UUID
        kind       TEXT    NOT NULL,                   -- AlertKind::as_str of its `new`
        updated_ms INTEGER NOT NULL,                   -- latest new/update committed, Unix ms
        summary    BLOB    NOT NULL                    -- that alert's JSON without its snapshot
    );
    "#,
    ),
    (
        3,
        r#"
    ALTER TABLE outbox ADD COLUMN event TEXT;          -- the alert's `event` UUID
    ALTER TABLE outbox ADD COLUMN state TEXT;          -- `new`, `update` or `end`
    ALTER TABLE outbox ADD COLUMN held INTEGER NOT NULL DEFAULT 0; -- invariant 7
    UPDATE outbox
       SET event = json_extract(CAST(payload AS TEXT), '$.event'),
           state = json_extract(CAST(payload AS TEXT), '$.state')
     WHERE json_valid(CAST(payload AS TEXT));
    UPDATE outbox SET held = 1 WHERE state = 'end';    -- unknown history: keep them
    CREATE INDEX outbox_event ON outbox (event) WHERE event IS NOT NULL;
    ALTER TABLE open_events ADD COLUMN live INTEGER NOT NULL DEFAULT 1; -- invariant 7
    "#,
    ),
    (
        4,
        r#"
    ALTER TABLE outbox ADD COLUMN topic TEXT;          -- invariant 8; NULL for alerts
    "#,
    ),
    (
        5,
        r#"
    ALTER TABLE outbox ADD COLUMN mqtt_done INTEGER NOT NULL DEFAULT 0; -- invariant 9
    CREATE INDEX outbox_mqtt ON outbox (mqtt_done, seq);
    CREATE INDEX outbox_drop_sinks ON outbox (mqtt_done, severity, seq);
    CREATE TABLE sinks (
        name     TEXT    PRIMARY KEY,                  -- the notifier's `name`
        cursor   INTEGER NOT NULL,                     -- rows with seq <= cursor are done
        dropped  INTEGER NOT NULL DEFAULT 0,           -- rows the caps or TTL took before it
        added_ms INTEGER NOT NULL                      -- when it was added, Unix ms
    );
    ALTER TABLE totals ADD COLUMN mqtt_rows INTEGER NOT NULL DEFAULT 0; -- invariant 10
    UPDATE totals SET mqtt_rows = rows;
    DROP TRIGGER outbox_totals_insert;
    DROP TRIGGER outbox_totals_delete;
    CREATE TRIGGER outbox_totals_insert AFTER INSERT ON outbox BEGIN
        UPDATE totals SET rows = rows + 1, bytes = bytes + NEW.bytes,
                          mqtt_rows = mqtt_rows + (NEW.mqtt_done = 0);
    END;
    CREATE TRIGGER outbox_totals_delete AFTER DELETE ON outbox BEGIN
        UPDATE totals SET rows = rows - 1, bytes = bytes - OLD.bytes,
                          mqtt_rows = mqtt_rows - (OLD.mqtt_done = 0);
    END;
    CREATE TRIGGER outbox_totals_mqtt AFTER UPDATE OF mqtt_done ON outbox
        WHEN OLD.mqtt_done != NEW.mqtt_done BEGIN
        UPDATE totals SET mqtt_rows = mqtt_rows + (NEW.mqtt_done = 0) - (OLD.mqtt_done = 0);
    END;
    "#,
    ),
];

impl Outbox {
    /// The schema version stored in the file.
    pub fn schema_version(&self) -> Result<i64, OutboxError> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// Applies every upgrade step the file has not had yet.
    pub(super) fn upgrade(&mut self) -> Result<(), OutboxError> {
        let latest = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
        // Fast path without a write lock: already current.
        if self.identify(latest)? == latest {
            return Ok(());
        }
        // Each step runs in a write transaction that re-reads the version, so
        // two processes opening a new file at once upgrade it exactly once.
        for (step, sql) in MIGRATIONS {
            let applied = self.write(|tx| {
                let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
                if version >= *step {
                    return Ok(false);
                }
                tx.execute_batch(sql)?;
                tx.pragma_update(None, "application_id", APPLICATION_ID)?;
                tx.pragma_update(None, "user_version", step)?;
                Ok(true)
            })?;
            if applied {
                tracing::info!(path = %self.path.display(), version = step, "outbox schema upgraded");
            }
        }
        Ok(())
    }

    /// Checks the file is an outbox (or empty) this build can use; returns its version.
    pub(super) fn identify(&self, latest: i64) -> Result<i64, OutboxError> {
        let version = self.schema_version()?;
        let app_id: i64 = self
            .conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if version == 0 && app_id == 0 {
            let tables: i64 = self
                .conn
                .query_row(
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'",
                    [],
                    |r| r.get(0),
                )
                .map_err(|e| self.err(e))?;
            if tables > 0 {
                return Err(OutboxError::Foreign {
                    path: self.path.clone(),
                    application_id: app_id,
                });
            }
        } else if app_id != APPLICATION_ID {
            return Err(OutboxError::Foreign {
                path: self.path.clone(),
                application_id: app_id,
            });
        }
        if version > latest {
            return Err(OutboxError::TooNew {
                path: self.path.clone(),
                found: version,
                supported: latest,
            });
        }
        Ok(version)
    }

    /// `PRAGMA quick_check`: finds most damage without reading every byte twice.
    pub(super) fn quick_check(&self) -> Result<(), OutboxError> {
        let result: String = self
            .conn
            .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if result == "ok" {
            Ok(())
        } else {
            Err(OutboxError::Corrupt {
                path: self.path.clone(),
                detail: format!("integrity check: {result}"),
            })
        }
    }
}
