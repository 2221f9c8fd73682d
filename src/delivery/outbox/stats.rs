//! Counters and figures: the persistent `counters` table, `estatewatch
//! outbox stats` and `estatewatch outbox list`.

use super::{ms_to_rfc3339, now_ms, Dropped, Outbox, OutboxError};
use crate::alert::Severity;
use rusqlite::params;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A queued row without its payload, for `estatewatch outbox list`.
#[derive(Debug, Clone, Serialize)]
pub struct RowInfo {
    pub seq: i64,
    pub id: String,
    pub kind: String,
    pub severity: String,
    pub created_at: String,
    pub enqueued_at: String,
    pub attempts: u32,
    pub bytes: u64,
}

/// Counts for `estatewatch outbox stats`.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxStats {
    pub path: String,
    pub schema_version: i64,
    /// Rows in the file: waiting for the broker or for a notifier.
    pub rows: u64,
    /// Of those, rows the broker has not acknowledged.
    pub mqtt_rows: u64,
    /// Each notifier's cursor, backlog and drops (schema version 5).
    pub sinks: BTreeMap<String, super::SinkFigures>,
    /// Sum of their payload sizes.
    pub payload_bytes: u64,
    /// Database file plus its WAL and shared-memory files.
    pub file_bytes: u64,
    /// `queued` (never handed to the broker) and `sent` (handed over, PUBACK
    /// not yet received).
    pub by_state: BTreeMap<String, u64>,
    pub by_kind: BTreeMap<String, u64>,
    pub by_severity: BTreeMap<String, u64>,
    /// Age of the oldest undelivered row, seconds.
    pub oldest_age_s: Option<f64>,
    pub oldest_enqueued_at: Option<String>,
    /// Persistent counters: `delivered`, `dropped_cap_<severity>`,
    /// `dropped_ttl_<severity>`, `dropped_memory_<severity>`,
    /// `dropped_intake_<severity>`, `purged`, and `salvaged` / `salvage_lost`
    /// (rows rescued from / lost with a damaged outbox this one replaced).
    pub counters: BTreeMap<String, u64>,
}

/// The name of a counter for a severity, e.g. `dropped_cap_info`.
pub fn counter_name(prefix: &str, severity: Severity) -> String {
    format!("{prefix}_{}", severity_name(severity))
}

pub fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Major => "major",
        Severity::Critical => "critical",
    }
}

pub fn severity_from_rank(rank: i64) -> Option<Severity> {
    match rank {
        0 => Some(Severity::Info),
        1 => Some(Severity::Warning),
        2 => Some(Severity::Major),
        3 => Some(Severity::Critical),
        _ => None,
    }
}

pub(super) fn count_drops(
    tx: &rusqlite::Transaction<'_>,
    prefix: &str,
    dropped: &[Dropped],
) -> rusqlite::Result<()> {
    let mut by: BTreeMap<String, u64> = BTreeMap::new();
    // Rows the broker had are not alerts MQTT lost (policy module doc).
    for d in dropped.iter().filter(|d| !d.mqtt_done) {
        *by.entry(counter_name(prefix, d.severity)).or_default() += 1;
    }
    for (name, n) in by {
        add_counter(tx, &name, n)?;
    }
    Ok(())
}

pub(super) fn add_counter(
    tx: &rusqlite::Transaction<'_>,
    name: &str,
    n: u64,
) -> rusqlite::Result<()> {
    if n == 0 {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO counters (name, value) VALUES (?1, ?2)
         ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
        params![name, n as i64],
    )?;
    Ok(())
}

impl Outbox {
    /// The persistent counters.
    pub fn counters(&self) -> Result<BTreeMap<String, u64>, OutboxError> {
        let err = |e| OutboxError::from_sqlite(&self.path, e);
        let mut stmt = self
            .conn
            .prepare("SELECT name, value FROM counters ORDER BY name")
            .map_err(err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })
            .map_err(err)?;
        rows.collect::<rusqlite::Result<BTreeMap<_, _>>>()
            .map_err(err)
    }

    /// Everything `estatewatch outbox stats` shows.
    pub fn stats(&self) -> Result<OutboxStats, OutboxError> {
        let err = |e| OutboxError::from_sqlite(&self.path, e);
        let (rows, payload_bytes) = self.totals()?;
        let group = |sql: &str| -> Result<Vec<(String, u64)>, OutboxError> {
            let mut stmt = self.conn.prepare(sql).map_err(err)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
                })
                .map_err(err)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(err)
        };
        let mut by_state: BTreeMap<String, u64> =
            [("queued".to_string(), 0), ("sent".to_string(), 0)].into();
        for (k, v) in group(
            "SELECT CASE WHEN attempts = 0 THEN 'queued' ELSE 'sent' END, COUNT(*) FROM outbox GROUP BY 1",
        )? {
            by_state.insert(k, v);
        }
        let by_kind = group("SELECT kind, COUNT(*) FROM outbox GROUP BY kind")?
            .into_iter()
            .collect();
        let by_severity =
            group("SELECT CAST(severity AS TEXT), COUNT(*) FROM outbox GROUP BY severity")?
                .into_iter()
                .map(|(rank, n)| {
                    let name = rank
                        .parse::<i64>()
                        .ok()
                        .and_then(severity_from_rank)
                        .map(severity_name)
                        .unwrap_or("unknown");
                    (name.to_string(), n)
                })
                .collect();
        let oldest: Option<i64> = self
            .conn
            .query_row("SELECT MIN(enqueued_ms) FROM outbox", [], |r| r.get(0))
            .map_err(err)?;
        let file_bytes = ["", "-wal", "-shm"]
            .iter()
            .filter_map(|suffix| {
                let mut p = self.path.as_os_str().to_owned();
                p.push(suffix);
                std::fs::metadata(PathBuf::from(p)).ok().map(|m| m.len())
            })
            .sum();
        Ok(OutboxStats {
            path: self.path.display().to_string(),
            schema_version: self.schema_version()?,
            rows,
            mqtt_rows: self.mqtt_rows()?,
            sinks: self.sink_figures()?,
            payload_bytes,
            file_bytes,
            by_state,
            by_kind,
            by_severity,
            oldest_age_s: oldest.map(|t| ((now_ms() - t).max(0) as f64) / 1000.0),
            oldest_enqueued_at: oldest.map(ms_to_rfc3339),
            counters: self.counters()?,
        })
    }

    /// Undelivered rows without payloads, oldest first.
    pub fn list(&self, limit: usize) -> Result<Vec<RowInfo>, OutboxError> {
        let err = |e| OutboxError::from_sqlite(&self.path, e);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT seq, id, kind, severity, created_ms, enqueued_ms, attempts, bytes
                 FROM outbox ORDER BY seq LIMIT ?1",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map([limit as i64], |r| {
                let sev: i64 = r.get(3)?;
                Ok(RowInfo {
                    seq: r.get(0)?,
                    id: r.get(1)?,
                    kind: r.get(2)?,
                    severity: severity_from_rank(sev)
                        .map(severity_name)
                        .unwrap_or("unknown")
                        .to_string(),
                    created_at: ms_to_rfc3339(r.get(4)?),
                    enqueued_at: ms_to_rfc3339(r.get(5)?),
                    attempts: r.get::<_, i64>(6)? as u32,
                    bytes: r.get::<_, i64>(7)? as u64,
                })
            })
            .map_err(err)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(err)
    }
}
