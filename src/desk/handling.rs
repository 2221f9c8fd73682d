//! Handling steps and escalation: checking a step against the incident's
//! state, writing it to the audit trail, and queueing its message (or an
//! escalation) through the outbox in the same transaction.
//!
//! A step is committed to the desk file only after its message was taken
//! by delivery's intake, so every recorded step is published; the message
//! then has the outbox's guarantees (committed before it is sent, removed on
//! the broker's PUBACK, in order with everything else the gateway sends).

use super::incidents::time_of;
use super::store::state_of;
use super::{Action, Actor, DeskError, IncidentDetail, IncidentState, Inner, Outcome};
use crate::alert::{AlertKind, Severity};
use crate::delivery::OutboxMessage;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use uuid::Uuid;

/// `schema` of the handling messages.
pub const HANDLING_SCHEMA: &str = "estatewatch.handling.v1";
/// `schema` of the escalation messages.
pub const ESCALATION_SCHEMA: &str = "estatewatch.escalation.v1";

/// Longest actor or assignee name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest note, reason or text, in characters.
pub const MAX_TEXT_CHARS: usize = 2000;

/// A handling message, published on `<prefix>/<gateway>/incidents/<event>/handling`
/// (`docs/mqtt.md`, `docs/handling-v1.schema.json`).
#[derive(Debug, Serialize)]
pub struct HandlingMessage<'a> {
    pub schema: &'static str,
    /// The message's id (UUIDv7), the same on every redelivery.
    pub id: Uuid,
    pub event: &'a str,
    /// The step's place in the gateway's handling trail (only grows).
    pub seq: i64,
    pub site: &'a str,
    pub gateway: &'a str,
    pub kind: &'a str,
    pub camera: &'a str,
    pub zone: Option<&'a str>,
    /// When the step was taken, RFC 3339 UTC with milliseconds.
    pub at: String,
    pub actor: &'a Actor,
    #[serde(flatten)]
    pub action: &'a Action,
    pub state_before: IncidentState,
    /// The incident's state after the step.
    pub state: IncidentState,
    pub assignee: Option<&'a str>,
}

/// The incident columns an escalation needs.
struct Escalated {
    kind: String,
    camera: String,
    zone: Option<String>,
    first_ms: i64,
    critical_ms: i64,
    alert: Vec<u8>,
}

/// The incident columns a step needs.
struct Head {
    kind: String,
    severity: i64,
    camera: String,
    zone: Option<String>,
    state: IncidentState,
    first_ms: i64,
    assignee: Option<String>,
}

fn rfc3339(ms: i64) -> String {
    time_of(ms).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn severity_of(rank: i64) -> Severity {
    match rank {
        0 => Severity::Info,
        1 => Severity::Warning,
        2 => Severity::Major,
        _ => Severity::Critical,
    }
}

/// Checks the free-text fields of a step and its actor.
fn check_fields(action: &Action, actor: &Actor) -> Result<(), DeskError> {
    let name = |field: &'static str, v: &str| {
        let n = v.trim().chars().count();
        if n == 0 {
            Err(DeskError::Invalid {
                field,
                message: "must not be empty".into(),
            })
        } else if n > MAX_NAME_CHARS {
            Err(DeskError::Invalid {
                field,
                message: format!("at most {MAX_NAME_CHARS} characters, got {n}"),
            })
        } else {
            Ok(())
        }
    };
    let text = |field: &'static str, v: &str, required: bool| {
        let n = v.trim().chars().count();
        if required && n == 0 {
            Err(DeskError::Invalid {
                field,
                message: "must not be empty".into(),
            })
        } else if v.chars().count() > MAX_TEXT_CHARS {
            Err(DeskError::Invalid {
                field,
                message: format!(
                    "at most {MAX_TEXT_CHARS} characters, got {}",
                    v.chars().count()
                ),
            })
        } else {
            Ok(())
        }
    };
    name("actor.name", &actor.name)?;
    match action {
        Action::Acknowledge { note } => note.as_deref().map_or(Ok(()), |n| text("note", n, false)),
        Action::Assign { to } => name("to", to),
        Action::Note { text: t } => text("text", t, true),
        Action::Resolve { reason, .. } => reason
            .as_deref()
            .map_or(Ok(()), |r| text("reason", r, false)),
    }
}

/// The state after `action`, or why it does not fit `state`.
pub fn next_state(state: IncidentState, action: &Action) -> Result<IncidentState, &'static str> {
    use IncidentState::*;
    match (action, state) {
        (Action::Acknowledge { .. }, Open) => Ok(Acknowledged),
        (Action::Acknowledge { .. }, Acknowledged) => Err("it is already acknowledged"),
        (Action::Acknowledge { .. } | Action::Assign { .. } | Action::Resolve { .. }, _)
            if !state.is_open() =>
        {
            Err("it is resolved; only notes can be added")
        }
        (Action::Assign { .. }, s) => Ok(s),
        (Action::Note { .. }, s) => Ok(s),
        (
            Action::Resolve {
                outcome: Outcome::Handled,
                ..
            },
            _,
        ) => Ok(ResolvedHandled),
        (
            Action::Resolve {
                outcome: Outcome::FalseAlarm,
                ..
            },
            _,
        ) => Ok(ResolvedFalseAlarm),
        (Action::Acknowledge { .. }, _) => Err("it is resolved; only notes can be added"),
    }
}

impl Inner {
    pub(super) fn act(
        &self,
        event: &str,
        action: Action,
        actor: &Actor,
    ) -> Result<IncidentDetail, DeskError> {
        check_fields(&action, actor)?;
        let mut db = crate::base::lock(&self.db);
        let path = db.path.clone();
        let err = |e| super::store::db_error(&path, e);
        let tx = db.immediate()?;
        let head = tx
            .query_row(
                "SELECT kind, severity, camera, zone, state, first_ms, assignee
                 FROM incidents WHERE event = ?1",
                [event],
                |r| {
                    Ok(Head {
                        kind: r.get(0)?,
                        severity: r.get(1)?,
                        camera: r.get(2)?,
                        zone: r.get(3)?,
                        state: state_of(&r.get::<_, String>(4)?),
                        first_ms: r.get(5)?,
                        assignee: r.get(6)?,
                    })
                },
            )
            .optional()
            .map_err(err)?
            .ok_or_else(|| DeskError::UnknownIncident {
                event: event.to_string(),
            })?;
        let state = next_state(head.state, &action).map_err(|hint| DeskError::NotAllowed {
            event: event.to_string(),
            action: action.name(),
            state: head.state,
            hint,
        })?;
        let now = chrono::Utc::now().timestamp_millis();
        let message_id = Uuid::now_v7();
        let body = serde_json::to_string(&action).map_err(|e| DeskError::Invalid {
            field: "action",
            message: e.to_string(),
        })?;
        tx.execute(
            "INSERT INTO handling (event, at_ms, actor, via, action, body, state, message_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                event,
                now,
                actor.name.trim(),
                actor.via.as_str(),
                action.name(),
                body,
                state.as_str(),
                message_id.to_string()
            ],
        )
        .map_err(err)?;
        let seq = tx.last_insert_rowid();
        let assignee = match &action {
            Action::Assign { to } => Some(to.trim().to_string()),
            _ => head.assignee.clone(),
        };
        tx.execute(
            "UPDATE incidents SET state = ?2, assignee = ?3,
                 acked_ms = CASE WHEN ?4 THEN ?5 ELSE acked_ms END,
                 resolved_ms = CASE WHEN ?6 THEN ?5 ELSE resolved_ms END
             WHERE event = ?1",
            params![
                event,
                state.as_str(),
                assignee,
                matches!(action, Action::Acknowledge { .. }),
                now,
                matches!(action, Action::Resolve { .. }),
            ],
        )
        .map_err(err)?;
        let actor = Actor {
            name: actor.name.trim().to_string(),
            via: actor.via,
        };
        let message = HandlingMessage {
            schema: HANDLING_SCHEMA,
            id: message_id,
            event,
            seq,
            site: &self.site,
            gateway: &self.gateway,
            kind: &head.kind,
            camera: &head.camera,
            zone: head.zone.as_deref(),
            at: rfc3339(now),
            actor: &actor,
            action: &action,
            state_before: head.state,
            state,
            assignee: assignee.as_deref(),
        };
        self.queue(
            event,
            &head.kind,
            severity_of(head.severity),
            format!("incidents/{event}/handling"),
            message_id,
            now,
            &message,
        )?;
        tx.commit().map_err(err)?;
        tracing::info!(event, action = action.name(), actor = %actor.name, via = actor.via.as_str(), state = %state, "incident handling step");
        if let Ok(kind) = head.kind.parse::<AlertKind>() {
            let mut m = crate::base::lock(&self.metrics);
            match &action {
                Action::Acknowledge { .. } => {
                    m.acknowledged(kind, &head.camera, now - head.first_ms)
                }
                Action::Resolve { outcome, .. } => {
                    m.resolved(kind, &head.camera, now - head.first_ms, *outcome)
                }
                _ => {}
            }
        }
        let detail = self
            .detail_in(&db, event)?
            .ok_or_else(|| DeskError::UnknownIncident {
                event: event.to_string(),
            })?;
        drop(db);
        let _ = self
            .changes
            .send(super::DeskChange::Incident(detail.summary.clone()));
        Ok(detail)
    }

    /// Queues one message through the outbox; an error means it was not
    /// taken (and the caller's transaction is rolled back).
    #[allow(clippy::too_many_arguments)]
    fn queue(
        &self,
        event: &str,
        kind: &str,
        severity: Severity,
        topic: String,
        id: Uuid,
        now: i64,
        message: &impl Serialize,
    ) -> Result<(), DeskError> {
        let kind = kind.parse::<AlertKind>().unwrap_or(AlertKind::Test);
        let payload = serde_json::to_vec(message).map_err(|e| DeskError::Invalid {
            field: "message",
            message: e.to_string(),
        })?;
        self.outbox
            .submit_message(OutboxMessage {
                id,
                topic,
                kind,
                severity,
                created_ms: now,
                payload,
            })
            .map_err(|source| DeskError::Publish {
                event: event.to_string(),
                source,
            })
    }

    /// Escalates every open critical incident left unacknowledged past its
    /// kind's `escalate_after_s`; returns how many.
    pub(super) fn escalate_due(&self) -> Result<usize, DeskError> {
        let now = chrono::Utc::now().timestamp_millis();
        let due: Vec<(String, String, i64)> = {
            let db = crate::base::lock(&self.db);
            let err = |e| db.err(e);
            let mut stmt = db
                .conn
                .prepare_cached(
                    "SELECT event, kind, critical_ms FROM incidents
                     WHERE state = 'open' AND escalated_ms IS NULL AND critical_ms IS NOT NULL",
                )
                .map_err(err)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(err)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(err)?;
            rows
        };
        let mut n = 0;
        for (event, kind, critical_ms) in due {
            let Ok(k) = kind.parse::<AlertKind>() else {
                continue;
            };
            let Some(after) = self.cfg.escalate_after(k) else {
                continue;
            };
            if now < critical_ms + after.as_millis() as i64 {
                continue;
            }
            if self.escalate(&event, after.as_secs(), now)? {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Escalates `event` if it is still open, critical and not escalated.
    fn escalate(&self, event: &str, after_s: u64, now: i64) -> Result<bool, DeskError> {
        let mut db = crate::base::lock(&self.db);
        let path = db.path.clone();
        let err = |e| super::store::db_error(&path, e);
        let tx = db.immediate()?;
        let row = tx
            .query_row(
                "SELECT kind, camera, zone, first_ms, critical_ms, alert FROM incidents
                 WHERE event = ?1 AND state = 'open' AND escalated_ms IS NULL
                   AND critical_ms IS NOT NULL",
                [event],
                |r| {
                    Ok(Escalated {
                        kind: r.get(0)?,
                        camera: r.get(1)?,
                        zone: r.get(2)?,
                        first_ms: r.get(3)?,
                        critical_ms: r.get(4)?,
                        alert: r.get(5)?,
                    })
                },
            )
            .optional()
            .map_err(err)?;
        let Some(Escalated {
            kind,
            camera,
            zone,
            first_ms,
            critical_ms,
            alert,
        }) = row
        else {
            return Ok(false);
        };
        tx.execute(
            "UPDATE incidents SET escalated_ms = ?2 WHERE event = ?1",
            params![event, now],
        )
        .map_err(err)?;
        let id = Uuid::now_v7();
        let message = serde_json::json!({
            "schema": ESCALATION_SCHEMA,
            "id": id,
            "event": event,
            "site": self.site,
            "gateway": self.gateway,
            "kind": kind,
            "severity": "critical",
            "camera": camera,
            "zone": zone,
            "escalated": true,
            "escalated_at": rfc3339(now),
            "escalate_after_s": after_s,
            "first_at": rfc3339(first_ms),
            "critical_at": rfc3339(critical_ms),
            "state": IncidentState::Open,
            "alert": serde_json::from_slice::<serde_json::Value>(&alert)
                .unwrap_or(serde_json::Value::Null),
        });
        self.queue(
            event,
            &kind,
            Severity::Critical,
            format!("incidents/{event}/escalation"),
            id,
            now,
            &message,
        )?;
        tx.commit().map_err(err)?;
        tracing::warn!(
            event,
            kind,
            camera,
            after_s,
            "critical incident not acknowledged in time; escalated"
        );
        if let Ok(k) = kind.parse::<AlertKind>() {
            crate::base::lock(&self.metrics).escalated(k);
        }
        let summary = self.summary_in(&db.conn, &path, event)?;
        drop(db);
        if let Some(s) = summary {
            let _ = self.changes.send(super::DeskChange::Incident(s));
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_fit_only_their_states() {
        use IncidentState::*;
        let ack = Action::Acknowledge { note: None };
        let resolve = |outcome| Action::Resolve {
            outcome,
            reason: None,
        };
        let note = Action::Note { text: "x".into() };
        let assign = Action::Assign { to: "李".into() };
        assert_eq!(next_state(Open, &ack), Ok(Acknowledged));
        assert!(next_state(Acknowledged, &ack).is_err());
        assert!(next_state(ResolvedHandled, &ack).is_err());
        assert_eq!(
            next_state(Open, &resolve(Outcome::Handled)),
            Ok(ResolvedHandled)
        );
        assert_eq!(
            next_state(Acknowledged, &resolve(Outcome::FalseAlarm)),
            Ok(ResolvedFalseAlarm)
        );
        assert!(next_state(ResolvedFalseAlarm, &resolve(Outcome::Handled)).is_err());
        assert_eq!(next_state(Acknowledged, &assign), Ok(Acknowledged));
        assert!(next_state(ResolvedHandled, &assign).is_err());
        assert_eq!(next_state(ResolvedHandled, &note), Ok(ResolvedHandled));
    }

    #[test]
    fn empty_and_overlong_fields_are_refused_by_name() {
        let actor = Actor {
            name: " ".into(),
            via: super::super::Via::Console,
        };
        let e = check_fields(&Action::Note { text: "x".into() }, &actor).unwrap_err();
        assert!(e.to_string().starts_with("actor.name:"), "{e}");
        let actor = Actor {
            name: "王工".into(),
            via: super::super::Via::Console,
        };
        let e = check_fields(&Action::Note { text: "  ".into() }, &actor).unwrap_err();
        assert!(e.to_string().starts_with("text:"), "{e}");
        let long = "字".repeat(MAX_TEXT_CHARS + 1);
        let e = check_fields(
            &Action::Resolve {
                outcome: Outcome::Handled,
                reason: Some(long),
            },
            &actor,
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("reason:"), "{e}");
    }
}
