//! Incidents from alerts, and reading them back: applying an alert delivery
//! accepted to its incident's row, and the queries behind the board (list,
//! detail, open counts).

use super::store::{state_of, DeskDb};
use super::{
    Actor, DeskError, HandlingRecord, IncidentDetail, IncidentPage, IncidentQuery, IncidentSummary,
    Inner, OpenCounts, ThrowOrigin, Via,
};
use crate::alert::{Alert, AlertKind, AlertState, Severity};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rusqlite::{params, OptionalExtension};

/// The board's filters (`?1` kind, `?2` camera, `?3` state, `?4`..`?5`
/// the day's `[start, end)` in Unix ms; each NULL for any).
const LIST_FILTER: &str = "WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR camera = ?2)
                        AND (?3 IS NULL OR state = ?3)
                        AND (?4 IS NULL OR first_ms >= ?4) AND (?5 IS NULL OR first_ms < ?5)";

/// The columns [`summary_of`] reads, in order.
pub(super) const SUMMARY_COLUMNS: &str =
    "event, kind, camera, zone, severity, state, alert_state, \
     first_ms, last_ms, acked_ms, resolved_ms, assignee, snapshot, clip, origin, escalated_ms, \
     source";

/// What raised an alert of `kind`, for the false-alarm counts: the analyzer
/// (`throwing`, `fire` for fire and smoke, `garbage`, `motion`) or `sensor`.
pub fn analyzer_of(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::Fire | AlertKind::Smoke => "fire",
        k => k.as_str(),
    }
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(super) fn time_of(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn severity_name(rank: i64) -> &'static str {
    match rank {
        0 => "info",
        1 => "warning",
        2 => "major",
        _ => "critical",
    }
}

fn alert_state_name(s: AlertState) -> &'static str {
    match s {
        AlertState::New => "new",
        AlertState::Update => "update",
        AlertState::End => "end",
    }
}

/// The file name at the end of an evidence path (`<camera>/<event>/<name>`).
fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The incident's picture under `/evidence/`: the full-resolution
/// `snapshot.jpg` when there is one, else the detect-size picture.
fn snapshot_of(a: &Alert) -> Option<String> {
    let ev = a.evidence.as_ref()?;
    let name = ev
        .snapshot
        .as_ref()
        .map(|s| file_name(&s.path).to_string())
        .or_else(|| {
            let names: Vec<&str> = ev.files.iter().map(|f| f.name.as_str()).collect();
            ["snapshot.jpg", "snapshot-detect.jpg"]
                .into_iter()
                .find(|n| names.contains(n))
                .map(str::to_string)
        })?;
    Some(format!("{}/{name}", a.event))
}

/// The clip under `/evidence/`, once announced.
fn clip_of(a: &Alert) -> Option<String> {
    let ev = a.evidence.as_ref()?;
    let name = ev
        .clip
        .as_ref()
        .map(|c| file_name(&c.path).to_string())
        .or_else(|| {
            ev.files
                .iter()
                .find(|f| f.name == "clip.mp4")
                .map(|f| f.name.clone())
        })?;
    Some(format!("{}/{name}", a.event))
}

/// What to call an incident without a camera (a sensor's): its `area`, else
/// its `sensor` name.
fn source_of(a: &Alert) -> Option<String> {
    if a.camera.is_some() {
        return None;
    }
    ["area", "sensor"]
        .into_iter()
        .find_map(|k| a.details.get(k).and_then(|v| v.as_str()))
        .map(str::to_string)
}

/// The throwing origin in `details.origin`, as stored JSON.
fn origin_of(a: &Alert) -> Option<String> {
    let o = a.details.get("origin")?.as_object()?;
    let origin = ThrowOrigin {
        floor: o.get("floor").and_then(|v| v.as_i64()),
        column: o.get("column").and_then(|v| v.as_i64()),
        column_label: o
            .get("column_label")
            .and_then(|v| v.as_str())
            .map(str::to_string),
        unit_label: o
            .get("unit_label")
            .and_then(|v| v.as_str())
            .map(str::to_string),
    };
    serde_json::to_string(&origin).ok()
}

impl Inner {
    /// Applies one accepted alert (without its picture) to its incident;
    /// returns the incident as it is now, or `None` when the alert is not
    /// about a desk incident (other kind, or an `end` of an unknown one).
    pub(super) fn apply_alert(&self, a: &Alert) -> Result<Option<IncidentSummary>, DeskError> {
        if !self.cfg.kinds.contains(&a.kind) {
            return Ok(None);
        }
        let event = a.event.to_string();
        let json = serde_json::to_vec(a).map_err(|e| DeskError::Invalid {
            field: "alert",
            message: format!("alert {} cannot be encoded: {e}", a.id),
        })?;
        let critical = (a.severity == Severity::Critical).then(|| ms(a.detected_at));
        let (snapshot, clip, origin) = (snapshot_of(a), clip_of(a), origin_of(a));
        let mut db = crate::base::lock(&self.db);
        let path = db.path.clone();
        let err = |e| super::store::db_error(&path, e);
        let tx = db.immediate()?;
        let known: bool = tx
            .query_row("SELECT 1 FROM incidents WHERE event = ?1", [&event], |_| {
                Ok(())
            })
            .optional()
            .map_err(err)?
            .is_some();
        if !known {
            if a.state == AlertState::End {
                return Ok(None);
            }
            tx.execute(
                "INSERT INTO incidents (event, kind, analyzer, camera, zone, severity, critical_ms,
                     state, alert_state, first_ms, last_ms, snapshot, clip, origin, alert, source)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'open', ?8, ?9, ?9, ?10, ?11, ?12, ?13, ?14)",
                params![
                    event,
                    a.kind.as_str(),
                    analyzer_of(a.kind),
                    a.camera.clone().unwrap_or_default(),
                    a.zone,
                    a.severity.rank(),
                    critical,
                    alert_state_name(a.state),
                    ms(a.detected_at),
                    snapshot,
                    clip,
                    origin,
                    json,
                    source_of(a),
                ],
            )
            .map_err(err)?;
        } else {
            tx.execute(
                "UPDATE incidents SET
                     alert_state = CASE WHEN alert_state = 'end' THEN 'end' ELSE ?2 END,
                     last_ms = MAX(last_ms, ?3),
                     severity = MAX(severity, ?4),
                     critical_ms = COALESCE(critical_ms, ?5),
                     zone = COALESCE(zone, ?6),
                     snapshot = CASE WHEN ?7 IS NULL THEN snapshot
                                     WHEN snapshot LIKE '%/snapshot.jpg' THEN snapshot
                                     ELSE ?7 END,
                     clip = COALESCE(?8, clip),
                     origin = COALESCE(?9, origin),
                     alert = ?10
                 WHERE event = ?1",
                params![
                    event,
                    alert_state_name(a.state),
                    ms(a.detected_at),
                    a.severity.rank(),
                    critical,
                    a.zone,
                    snapshot,
                    clip,
                    origin,
                    json,
                ],
            )
            .map_err(err)?;
        }
        let summary = self.summary_in(&tx, &path, &event)?;
        tx.commit().map_err(err)?;
        Ok(summary)
    }

    /// The summary of `event` read through `conn` (a transaction or the
    /// connection).
    pub(super) fn summary_in(
        &self,
        conn: &rusqlite::Connection,
        path: &std::path::Path,
        event: &str,
    ) -> Result<Option<IncidentSummary>, DeskError> {
        conn.query_row(
            &format!("SELECT {SUMMARY_COLUMNS} FROM incidents WHERE event = ?1"),
            [event],
            |r| self.summary_of(r),
        )
        .optional()
        .map_err(|e| super::store::db_error(path, e))
    }

    /// One row of [`SUMMARY_COLUMNS`] as the board shows it.
    pub(super) fn summary_of(&self, r: &rusqlite::Row<'_>) -> rusqlite::Result<IncidentSummary> {
        let camera: String = r.get(2)?;
        let zone: Option<String> = r.get(3)?;
        let cameras = self
            .cameras
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let names = cameras.get(&camera);
        let source: Option<String> = r.get(16)?;
        let camera_display = names
            .and_then(|n| n.display_name.clone())
            .or_else(|| camera.is_empty().then_some(source).flatten())
            .unwrap_or_else(|| camera.clone());
        let zone_display = zone.as_ref().map(|z| {
            names
                .and_then(|n| n.zones.get(z).cloned())
                .unwrap_or_else(|| z.clone())
        });
        let origin: Option<String> = r.get(14)?;
        let state: String = r.get(5)?;
        Ok(IncidentSummary {
            event: r.get(0)?,
            kind: r.get(1)?,
            camera,
            camera_display,
            zone,
            zone_display,
            severity: severity_name(r.get(4)?).to_string(),
            state: state_of(&state),
            alert_state: r.get(6)?,
            first_at: time_of(r.get(7)?),
            last_at: time_of(r.get(8)?),
            acked_at: r.get::<_, Option<i64>>(9)?.map(time_of),
            resolved_at: r.get::<_, Option<i64>>(10)?.map(time_of),
            assignee: r.get(11)?,
            snapshot: r.get(12)?,
            clip: r.get(13)?,
            throw_origin: origin.and_then(|o| serde_json::from_str(&o).ok()),
            escalated: r.get::<_, Option<i64>>(15)?.is_some(),
        })
    }

    /// The `[start, end)` of `day` in the site's zone, Unix ms.
    fn day_range(&self, day: NaiveDate) -> (i64, i64) {
        let tz = self.timezone.0;
        let start_of = |d: NaiveDate| {
            let midnight = d.and_hms_opt(0, 0, 0).unwrap_or_default();
            tz.from_local_datetime(&midnight)
                .earliest()
                // Midnight skipped by a clock change: the day starts an hour later.
                .or_else(|| {
                    tz.from_local_datetime(&(midnight + chrono::Duration::hours(1)))
                        .earliest()
                })
                .map_or(0, |t| t.timestamp_millis())
        };
        let next = day.succ_opt().unwrap_or(day);
        (start_of(day), start_of(next))
    }

    /// How many incidents match `q`'s filters (its page is ignored).
    pub(super) fn count(&self, q: &IncidentQuery) -> Result<u64, DeskError> {
        let db = crate::base::lock(&self.db);
        self.count_in(&db, q)
    }

    fn count_in(&self, db: &DeskDb, q: &IncidentQuery) -> Result<u64, DeskError> {
        let (from, to) = q.day.map(|d| self.day_range(d)).unzip();
        let state = q.state.map(|s| s.as_str());
        let total: i64 = db
            .conn
            .prepare_cached(&format!("SELECT COUNT(*) FROM incidents {LIST_FILTER}"))
            .and_then(|mut stmt| {
                stmt.query_row(params![q.kind, q.camera, state, from, to], |r| r.get(0))
            })
            .map_err(|e| db.err(e))?;
        Ok(total.max(0) as u64)
    }

    pub(super) fn list(&self, q: &IncidentQuery) -> Result<IncidentPage, DeskError> {
        let per_page = match q.per_page {
            0 => self.cfg.max_per_page.min(50),
            n => n.min(self.cfg.max_per_page),
        };
        let (from, to) = q.day.map(|d| self.day_range(d)).unzip();
        let state = q.state.map(|s| s.as_str());
        let filter = LIST_FILTER;
        let db = crate::base::lock(&self.db);
        let err = |e| db.err(e);
        let total = self.count_in(&db, q)?;
        let mut stmt = db
            .conn
            .prepare_cached(&format!(
                "SELECT {SUMMARY_COLUMNS} FROM incidents {filter}
                 ORDER BY first_ms DESC, event DESC LIMIT ?6 OFFSET ?7"
            ))
            .map_err(err)?;
        let items = stmt
            .query_map(
                params![
                    q.kind,
                    q.camera,
                    state,
                    from,
                    to,
                    per_page as i64,
                    q.page as i64 * per_page as i64
                ],
                |r| self.summary_of(r),
            )
            .map_err(err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(err)?;
        Ok(IncidentPage {
            items,
            total,
            page: q.page,
            per_page,
        })
    }

    pub(super) fn detail_in(
        &self,
        db: &DeskDb,
        event: &str,
    ) -> Result<Option<IncidentDetail>, DeskError> {
        let err = |e| db.err(e);
        let Some(summary) = db
            .conn
            .query_row(
                &format!("SELECT {SUMMARY_COLUMNS} FROM incidents WHERE event = ?1"),
                [event],
                |r| self.summary_of(r),
            )
            .optional()
            .map_err(err)?
        else {
            return Ok(None);
        };
        let alert: Vec<u8> = db
            .conn
            .query_row(
                "SELECT alert FROM incidents WHERE event = ?1",
                [event],
                |r| r.get(0),
            )
            .map_err(err)?;
        let mut stmt = db
            .conn
            .prepare_cached(
                "SELECT seq, at_ms, actor, via, body, state FROM handling
                 WHERE event = ?1 ORDER BY seq",
            )
            .map_err(err)?;
        let handling = stmt
            .query_map([event], |r| {
                let via: String = r.get(3)?;
                let body: String = r.get(4)?;
                let state: String = r.get(5)?;
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    via,
                    body,
                    state,
                ))
            })
            .map_err(err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(err)?
            .into_iter()
            .filter_map(|(seq, at, name, via, body, state)| {
                Some(HandlingRecord {
                    seq,
                    at: time_of(at),
                    actor: Actor {
                        name,
                        via: if via == "platform" {
                            Via::Platform
                        } else {
                            Via::Console
                        },
                    },
                    action: serde_json::from_str(&body).ok()?,
                    state: state_of(&state),
                })
            })
            .collect();
        Ok(Some(IncidentDetail {
            summary,
            alert: serde_json::from_slice(&alert).unwrap_or(serde_json::Value::Null),
            handling,
        }))
    }

    pub(super) fn counts(&self) -> Result<OpenCounts, DeskError> {
        let db = crate::base::lock(&self.db);
        let err = |e| db.err(e);
        let mut stmt = db
            .conn
            .prepare_cached(
                "SELECT kind, COUNT(*) FROM incidents
                 WHERE state IN ('open', 'acknowledged') GROUP BY kind",
            )
            .map_err(err)?;
        let by_kind = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })
            .map_err(err)?
            .collect::<rusqlite::Result<std::collections::BTreeMap<_, _>>>()
            .map_err(err)?;
        Ok(OpenCounts {
            total: by_kind.values().sum(),
            by_kind,
        })
    }
}
