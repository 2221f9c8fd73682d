//! The desk's response-time figures: time to acknowledge and time to
//! resolve (histograms per kind and camera), false alarms per camera and
//! analyzer, escalations per kind, rows removed by retention. Rebuilt from
//! the desk file at start, so they count every incident the file holds
//! (those within `[desk] retention_days`); `/metrics` renders them
//! (`monitor::prometheus`).

use super::incidents::analyzer_of;
use super::Outcome;
use crate::alert::AlertKind;
use serde::Serialize;
use std::collections::BTreeMap;

/// Upper bounds of the response-time histogram buckets, seconds (10 s to a
/// day; `+Inf` is implied).
pub const BUCKETS_S: [f64; 13] = [
    10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 43200.0, 86400.0,
];

/// A histogram of durations.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Histogram {
    /// Observations at or below each of [`BUCKETS_S`] (cumulative).
    pub buckets: Vec<u64>,
    /// Sum of the observations, seconds.
    pub sum_s: f64,
    pub count: u64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        if self.buckets.len() != BUCKETS_S.len() {
            self.buckets = vec![0; BUCKETS_S.len()];
        }
        let s = seconds.max(0.0);
        for (b, le) in self.buckets.iter_mut().zip(BUCKETS_S) {
            if s <= le {
                *b += 1;
            }
        }
        self.sum_s += s;
        self.count += 1;
    }
}

/// One histogram series: its labels and its figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub kind: String,
    /// The camera name, `""` for incidents without a camera (sensors).
    pub camera: String,
    pub histogram: Histogram,
}

/// False alarms at one camera from one analyzer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FalseAlarms {
    pub camera: String,
    /// `throwing`, `fire` (fire and smoke), `garbage`, `motion` or `sensor`.
    pub analyzer: String,
    pub count: u64,
}

/// Everything `/metrics` shows about the desk.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DeskFigures {
    /// From the first alert to the acknowledgement.
    pub time_to_acknowledge: Vec<Series>,
    /// From the first alert to the resolution (handled or false alarm).
    pub time_to_resolve: Vec<Series>,
    pub false_alarms: Vec<FalseAlarms>,
    /// Open (open or acknowledged) incidents per desk kind, zeros included.
    pub open: BTreeMap<String, u64>,
    /// Escalations per kind, zeros included for every desk kind.
    pub escalations: BTreeMap<String, u64>,
    /// Platform commands refused (bad topic, payload or step).
    pub commands_refused: u64,
    /// Incidents removed by retention since start (`[desk] retention_days`).
    pub retention_removed_incidents: u64,
    /// Handling steps removed with them since start.
    pub retention_removed_handling: u64,
}

/// The running figures (open counts are read from the file when rendered).
#[derive(Debug, Default)]
pub(super) struct Figures {
    ack: BTreeMap<(AlertKind, String), Histogram>,
    resolve: BTreeMap<(AlertKind, String), Histogram>,
    false_alarms: BTreeMap<(String, &'static str), u64>,
    escalations: BTreeMap<AlertKind, u64>,
    pub(super) commands_refused: u64,
    removed: super::retention::Removed,
}

impl Figures {
    pub(super) fn acknowledged(&mut self, kind: AlertKind, camera: &str, after_ms: i64) {
        self.ack
            .entry((kind, camera.to_string()))
            .or_default()
            .observe(after_ms as f64 / 1000.0);
    }

    pub(super) fn resolved(&mut self, kind: AlertKind, camera: &str, after_ms: i64, o: Outcome) {
        self.resolve
            .entry((kind, camera.to_string()))
            .or_default()
            .observe(after_ms as f64 / 1000.0);
        if o == Outcome::FalseAlarm {
            *self
                .false_alarms
                .entry((camera.to_string(), analyzer_of(kind)))
                .or_default() += 1;
        }
    }

    /// Counts rows removed by retention.
    pub(super) fn removed(&mut self, r: &super::retention::Removed) {
        self.removed.incidents += r.incidents;
        self.removed.handling += r.handling;
    }

    pub(super) fn escalated(&mut self, kind: AlertKind) {
        *self.escalations.entry(kind).or_default() += 1;
    }

    /// The figures as `/metrics` shows them; `kinds` are the desk's kinds
    /// (every one gets an open and an escalation sample).
    pub(super) fn figures(&self, open: &BTreeMap<String, u64>, kinds: &[AlertKind]) -> DeskFigures {
        let series = |m: &BTreeMap<(AlertKind, String), Histogram>| {
            m.iter()
                .map(|((k, c), h)| Series {
                    kind: k.as_str().to_string(),
                    camera: c.clone(),
                    histogram: h.clone(),
                })
                .collect()
        };
        DeskFigures {
            time_to_acknowledge: series(&self.ack),
            time_to_resolve: series(&self.resolve),
            false_alarms: self
                .false_alarms
                .iter()
                .map(|((c, a), n)| FalseAlarms {
                    camera: c.clone(),
                    analyzer: a.to_string(),
                    count: *n,
                })
                .collect(),
            open: kinds
                .iter()
                .map(|k| {
                    (
                        k.as_str().to_string(),
                        open.get(k.as_str()).copied().unwrap_or(0),
                    )
                })
                .collect(),
            escalations: kinds
                .iter()
                .map(|k| {
                    (
                        k.as_str().to_string(),
                        self.escalations.get(k).copied().unwrap_or(0),
                    )
                })
                .collect(),
            commands_refused: self.commands_refused,
            retention_removed_incidents: self.removed.incidents,
            retention_removed_handling: self.removed.handling,
        }
    }
}

/// Rebuilds the figures from every incident in the file.
pub(super) fn load(conn: &rusqlite::Connection) -> rusqlite::Result<Figures> {
    let mut f = Figures::default();
    let mut stmt = conn.prepare(
        "SELECT kind, camera, first_ms, acked_ms, resolved_ms, state, escalated_ms FROM incidents",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, Option<i64>>(3)?,
            r.get::<_, Option<i64>>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, Option<i64>>(6)?,
        ))
    })?;
    for row in rows {
        let (kind, camera, first, acked, resolved, state, escalated) = row?;
        let Ok(kind) = kind.parse::<AlertKind>() else {
            continue;
        };
        if let Some(t) = acked {
            f.acknowledged(kind, &camera, t - first);
        }
        if let Some(t) = resolved {
            let outcome = if state == "resolved_false_alarm" {
                Outcome::FalseAlarm
            } else {
                Outcome::Handled
            };
            f.resolved(kind, &camera, t - first, outcome);
        }
        if escalated.is_some() {
            f.escalated(kind);
        }
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let mut h = Histogram::default();
        h.observe(5.0);
        h.observe(45.0);
        h.observe(100_000.0);
        assert_eq!(h.buckets[0], 1); // le 10
        assert_eq!(h.buckets[2], 2); // le 60
        assert_eq!(*h.buckets.last().unwrap(), 2); // le 86400; the third is only in +Inf
        assert_eq!(h.count, 3);
        assert_eq!(h.sum_s, 100_050.0);
    }
}
