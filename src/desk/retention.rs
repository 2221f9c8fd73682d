//! Retention of the desk file (`[desk] retention_days`, default 365): a
//! resolved incident is removed with its whole handling trail once its
//! resolution, its latest alert and its latest handling step (a note added
//! after resolving counts) are all older than the retention. Open and
//! acknowledged incidents, and with them their audit trail, are never
//! removed (the store's triggers refuse it too; `store` invariant 6).
//!
//! It runs when the desk opens (before the response-time figures are
//! rebuilt from the file) and then once a day on the desk thread
//! ([`RUN_EVERY`]); the rows removed are counted on `/metrics` as
//! `estatewatch_desk_retention_removed_total{table="incidents"|"handling"}`.
//! The evidence files of those incidents have their own, shorter retention
//! (`[evidence] retention_days`).

use super::store::DeskDb;
use super::DeskError;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// How often retention runs after the one at start.
pub const RUN_EVERY: Duration = Duration::from_secs(24 * 3600);

/// Rows one run removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Removed {
    /// Incidents.
    pub incidents: u64,
    /// Handling steps (the removed incidents' trails).
    pub handling: u64,
}

/// Removes every resolved incident with nothing newer than `cutoff`, and
/// its handling trail, in one transaction.
pub(super) fn remove_before(db: &mut DeskDb, cutoff: DateTime<Utc>) -> Result<Removed, DeskError> {
    let cutoff_ms = cutoff.timestamp_millis();
    let path = db.path.clone();
    let err = |e| super::store::db_error(&path, e);
    let tx = db.immediate()?;
    tx.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS retention_doomed (event TEXT PRIMARY KEY);
         DELETE FROM retention_doomed;",
    )
    .map_err(err)?;
    tx.execute(
        "INSERT INTO retention_doomed (event)
         SELECT event FROM incidents i
         WHERE state IN ('resolved_handled', 'resolved_false_alarm')
           AND resolved_ms < ?1 AND last_ms < ?1
           AND NOT EXISTS (SELECT 1 FROM handling h WHERE h.event = i.event AND h.at_ms >= ?1)",
        [cutoff_ms],
    )
    .map_err(err)?;
    let handling = tx
        .execute(
            "DELETE FROM handling WHERE event IN (SELECT event FROM retention_doomed)",
            [],
        )
        .map_err(err)?;
    let incidents = tx
        .execute(
            "DELETE FROM incidents WHERE event IN (SELECT event FROM retention_doomed)",
            [],
        )
        .map_err(err)?;
    tx.execute("DELETE FROM retention_doomed", [])
        .map_err(err)?;
    tx.commit().map_err(err)?;
    Ok(Removed {
        incidents: incidents as u64,
        handling: handling as u64,
    })
}
