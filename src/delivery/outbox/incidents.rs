//! Open incidents: the `open_events` table kept in step with each inserted
//! alert (invariants 6 and 7 in [`super::schema`]), and reading it back after
//! a crash.

use super::{EncodedAlert, Outbox, OutboxError};
use rusqlite::{params, OptionalExtension};
use uuid::Uuid;

/// `held` for a new `end` of `event` (invariant 7).
pub(super) fn end_hold(tx: &rusqlite::Transaction<'_>, event: Uuid) -> rusqlite::Result<i64> {
    let live: Option<i64> = tx
        .prepare_cached("SELECT live FROM open_events WHERE event = ?1")?
        .query_row([event.to_string()], |r| r.get(0))
        .optional()?;
    Ok(live.map_or(1, |n| n.max(0)))
}

pub(super) fn state_name(s: crate::alert::AlertState) -> &'static str {
    use crate::alert::AlertState;
    match s {
        AlertState::New => "new",
        AlertState::Update => "update",
        AlertState::End => "end",
    }
}

/// The parts of an alert's JSON that say where it stands in its incident.
#[derive(serde::Deserialize)]
pub(super) struct LifecycleHead {
    pub(super) event: Uuid,
    pub(super) state: crate::alert::AlertState,
    /// The alert's `evidence`: every video alert lists its stored files
    /// there; the `update` that announces the clip and full-resolution
    /// snapshot also has `clip`, `snapshot` or `reason`.
    #[serde(default)]
    pub(super) evidence: Option<EvidenceHead>,
}

/// The parts of `evidence` that mark a clip announcement.
#[derive(serde::Deserialize)]
pub(super) struct EvidenceHead {
    #[serde(default)]
    clip: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    snapshot: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    reason: Option<serde::de::IgnoredAny>,
}

impl LifecycleHead {
    /// True for the `update` that announces the incident's clip and
    /// full-resolution snapshot (or says why there is none), as opposed to
    /// an alert that only lists its stored files.
    pub(super) fn announces_evidence(&self) -> bool {
        self.evidence
            .as_ref()
            .is_some_and(|e| e.clip.is_some() || e.snapshot.is_some() || e.reason.is_some())
    }
}

impl LifecycleHead {
    /// `None` when `payload` is not an alert.
    pub(super) fn of(payload: &[u8]) -> Option<LifecycleHead> {
        serde_json::from_slice(payload).ok()
    }
}

/// Keeps `open_events` in step with one inserted alert (invariants 6 and 7).
pub(super) fn track_lifecycle(
    tx: &rusqlite::Transaction<'_>,
    a: &EncodedAlert,
    head: &LifecycleHead,
    now: i64,
) -> rusqlite::Result<()> {
    use crate::alert::AlertState;
    match head.state {
        AlertState::End => {
            tx.prepare_cached("DELETE FROM open_events WHERE event = ?1")?
                .execute(params![head.event.to_string()])?;
        }
        // An evidence announcement may come after the incident ended: it
        // counts for an open incident but never opens one again.
        AlertState::Update if a.kind.has_lifecycle() && head.announces_evidence() => {
            tx.prepare_cached("UPDATE open_events SET live = live + 1 WHERE event = ?1")?
                .execute(params![head.event.to_string()])?;
        }
        AlertState::New | AlertState::Update if a.kind.has_lifecycle() => {
            let Ok(mut summary) = serde_json::from_slice::<serde_json::Value>(&a.payload) else {
                return Ok(());
            };
            if let Some(o) = summary.as_object_mut() {
                o.remove("snapshot");
            }
            tx.prepare_cached(
                "INSERT INTO open_events (event, kind, updated_ms, summary, live)
                 VALUES (?1, ?2, ?3, ?4, 1)
                 ON CONFLICT (event) DO UPDATE SET updated_ms = ?3, summary = ?4, live = live + 1",
            )?
            .execute(params![
                head.event.to_string(),
                a.kind.as_str(),
                now,
                summary.to_string().into_bytes(),
            ])?;
        }
        AlertState::New | AlertState::Update => {}
    }
    Ok(())
}

impl Outbox {
    /// Incidents that were opened and never ended, oldest first, each as the
    /// latest `new`/`update` alert (without its snapshot). Rows that no longer
    /// parse are skipped with a warning.
    pub fn open_events(&self) -> Result<Vec<crate::alert::Alert>, OutboxError> {
        let err = |e| OutboxError::from_sqlite(&self.path, e);
        let mut stmt = self
            .conn
            .prepare("SELECT event, summary FROM open_events ORDER BY updated_ms, event")
            .map_err(err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .map_err(err)?;
        let mut out = Vec::new();
        for row in rows {
            let (event, summary) = row.map_err(err)?;
            match serde_json::from_slice(&summary) {
                Ok(a) => out.push(a),
                Err(e) => {
                    tracing::warn!(path = %self.path.display(), event, error = %e, "unreadable open incident skipped")
                }
            }
        }
        Ok(out)
    }
}

impl Outbox {
    /// The incidents whose files must be kept: every `event` with an alert
    /// still waiting for delivery, and every open incident (a read-only
    /// query; the evidence store asks it before removing anything).
    pub fn protected_events(&self) -> Result<std::collections::BTreeSet<Uuid>, OutboxError> {
        let err = |e| OutboxError::from_sqlite(&self.path, e);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT event FROM outbox WHERE event IS NOT NULL
                 UNION SELECT event FROM open_events",
            )
            .map_err(err)?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(err)?;
        let mut out = std::collections::BTreeSet::new();
        for row in rows {
            if let Ok(event) = Uuid::parse_str(&row.map_err(err)?) {
                out.insert(event);
            }
        }
        Ok(out)
    }
}
