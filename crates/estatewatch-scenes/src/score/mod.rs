//! The detection scorecard: matches alerts from `estatewatch replay` against
//! the ground truth of a folder of clips and reports, per kind, true and false
//! positives, misses, precision, recall, detection delay and (for throws)
//! floor accuracy; optionally gates on a thresholds file.
//!
//! Rules (also in `docs/scenes.md`):
//! - Only `state = "new"` alerts count; `update` and `end` are ignored.
//! - An alert belongs to the clip named by its `camera` (alerts file) or by
//!   its file's stem (`<clip-stem>.jsonl` in an alerts folder).
//! - An alert matches an incident of its row when its `media_time_ms` lies in
//!   `[start_ms - before, end_ms + after]`. Alerts are taken in time order;
//!   each goes to an unmatched incident whose window holds it (for throws,
//!   preferring one whose floor equals `details.origin.floor`, then the
//!   earliest); if every such incident is already matched the alert is a
//!   *duplicate* (not a false positive); if no window holds it, it is a false
//!   positive. Unmatched incidents are misses.
//! - Delay = alert time − the moment the incident can first be seen, in ms
//!   (negative if early): its start, except for a throw hidden after its
//!   release (`late_s`), which is counted from when it comes into view
//!   ([`Truth::visible_ms`]). The delay from the start itself (the release)
//!   is reported beside it (`delay_from_start_*`) and has its own limit.
//!   Percentiles are nearest-rank: the p-th is the `ceil(p·n)`-th smallest,
//!   so the median of an even count is the lower middle value.
//! - Floor accuracy is over true positives whose incident has an origin; an
//!   alert without `details.origin.floor` counts as wrong.
//!
//! Here: the rows and the matching. [`alerts`] reads replayed alerts,
//! [`text`] prints a scorecard, [`thresholds`] checks one against its limits.

use crate::{suite::load_truths, Scene, SceneError, Truth};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod alerts;
mod text;
mod thresholds;

pub use alerts::{load_alerts, Alerts, Detection};
pub use text::render_text;
pub use thresholds::{RealThresholds, RowThresholds, Thresholds};

/// Errors reading truth, alerts or thresholds.
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    #[error("ground truth: {0}")]
    Truth(#[from] SceneError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Alert {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Thresholds { path: PathBuf, message: String },
    #[error("{0}: no truth files (*.json) found")]
    NoTruth(PathBuf),
}

/// A scorecard row: which alert kinds are matched against which incident kinds.
#[derive(Debug, Clone, Copy)]
pub struct RowDef {
    pub name: &'static str,
    pub alert_kinds: &'static [&'static str],
    pub incident_kinds: &'static [&'static str],
    /// Default window slack before the start and after the end, ms.
    pub before_ms: u64,
    pub after_ms: u64,
}

/// The rows, in print order. `fire_smoke` accepts either kind for either
/// incident (one fire event often shows both); `motion` matches the generic
/// motion analyzer against any incident, to prove the harness end to end.
pub const ROWS: &[RowDef] = &[
    RowDef {
        name: "throwing",
        alert_kinds: &["throwing"],
        incident_kinds: &["throwing"],
        before_ms: 500,
        after_ms: 3000,
    },
    RowDef {
        name: "fire",
        alert_kinds: &["fire"],
        incident_kinds: &["fire"],
        before_ms: 1000,
        after_ms: 10_000,
    },
    RowDef {
        name: "smoke",
        alert_kinds: &["smoke"],
        incident_kinds: &["smoke"],
        before_ms: 1000,
        after_ms: 10_000,
    },
    RowDef {
        name: "fire_smoke",
        alert_kinds: &["fire", "smoke"],
        incident_kinds: &["fire", "smoke"],
        before_ms: 1000,
        after_ms: 10_000,
    },
    RowDef {
        name: "garbage",
        alert_kinds: &["garbage"],
        incident_kinds: &["garbage"],
        before_ms: 1000,
        after_ms: 10_000,
    },
    RowDef {
        name: "motion",
        alert_kinds: &["motion"],
        incident_kinds: &["throwing", "fire", "smoke", "garbage"],
        before_ms: 1000,
        after_ms: 3000,
    },
];

/// Window slack override for every row.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub before_ms: Option<u64>,
    pub after_ms: Option<u64>,
}

/// A missed incident or a false alarm, for the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub clip: String,
    pub kind: String,
    pub t_ms: u64,
    /// The clip's negatives (for false alarms) or the incident's size (misses).
    pub note: String,
}

/// Numbers for one row.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RowScore {
    pub name: String,
    pub tp: usize,
    pub fp: usize,
    #[serde(rename = "fn")]
    pub fn_: usize,
    pub duplicates: usize,
    /// TP / (TP + FP); `None` with no alerts.
    pub precision: Option<f64>,
    /// TP / (TP + FN); `None` with no incidents.
    pub recall: Option<f64>,
    /// Delay from when the incident could first be seen ([`Truth::visible_ms`]).
    pub delay_p50_ms: Option<i64>,
    pub delay_p95_ms: Option<i64>,
    /// Delay from the incident's start (a throw's release), hidden time
    /// included; equal to the above unless some incident was hidden at first.
    pub delay_from_start_p50_ms: Option<i64>,
    pub delay_from_start_p95_ms: Option<i64>,
    /// Fraction of throw TPs with the exact floor / within one floor.
    pub floor_exact: Option<f64>,
    pub floor_within_one: Option<f64>,
    pub column_exact: Option<f64>,
    /// Garbage: fraction of TPs whose incident says when the person moved
    /// off the bag (`clear_ms`) with the alert's "left" panel at or after it
    /// (the bag shown without the person): (clear, judged).
    pub left_panel_clear: Option<(usize, usize)>,
    /// Clips with at least one incident of this row, and clips of a scene
    /// made for it with none.
    pub positive_clips: usize,
    pub negative_clips: usize,
    /// Recall by object size bucket (`lt8px`, `ge8px`) for throws: (hits, total).
    pub recall_by_size: BTreeMap<String, (usize, usize)>,
    /// False positives per negative tag of the clip they happened in.
    pub fp_by_negative: BTreeMap<String, usize>,
    pub misses: Vec<Event>,
    pub false_alarms: Vec<Event>,
}

/// The whole scorecard.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Scorecard {
    pub clips: usize,
    pub clips_with_incidents: usize,
    pub alerts_counted: usize,
    pub alerts_ignored: usize,
    /// Alerts of incident kinds (not `motion`) on real footage, which has none.
    pub real_clips: usize,
    pub real_alerts: usize,
    pub rows: Vec<RowScore>,
}

/// An incident as a row sees it (fire and smoke of one event may be merged).
#[derive(Debug, Clone)]
struct Target {
    start: u64,
    /// When it can first be seen ([`Truth::visible_ms`]), >= `start`.
    visible: u64,
    end: u64,
    floor: Option<u32>,
    column: Option<u32>,
    size_px: Option<f32>,
    clear_ms: Option<u64>,
    kind: String,
    matched: bool,
}

fn targets(truth: &Truth, row: &RowDef) -> Vec<Target> {
    let mut t: Vec<Target> = truth
        .incidents
        .iter()
        .filter(|i| row.incident_kinds.contains(&i.kind.as_str()))
        .map(|i| Target {
            start: i.start_ms,
            visible: truth.visible_ms(i),
            end: i.end_ms,
            floor: i.origin.map(|o| o.floor),
            column: i.origin.map(|o| o.column),
            size_px: i.size_px,
            clear_ms: i.clear_ms,
            kind: i.kind.clone(),
            matched: false,
        })
        .collect();
    t.sort_by_key(|x| x.start);
    if row.incident_kinds.len() > 1 && row.alert_kinds.len() > 1 {
        // One event seen as both fire and smoke counts once: merge overlaps.
        let mut merged: Vec<Target> = Vec::new();
        for x in t {
            match merged.last_mut() {
                Some(m) if x.start <= m.end => {
                    m.end = m.end.max(x.end);
                    if !m.kind.contains(&x.kind) {
                        m.kind = format!("{}+{}", m.kind, x.kind);
                    }
                }
                _ => merged.push(x),
            }
        }
        t = merged;
    }
    t
}

/// Nearest-rank percentile of sorted values: the `ceil(p·n)`-th smallest.
pub fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

fn ratio(a: usize, b: usize) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// Scores alerts against truth.
pub fn score(truths: &[Truth], alerts: &Alerts, opts: Options) -> Scorecard {
    let mut card = Scorecard {
        clips: truths.len(),
        clips_with_incidents: truths.iter().filter(|t| !t.incidents.is_empty()).count(),
        alerts_counted: alerts.detections.len(),
        alerts_ignored: alerts.ignored,
        real_clips: truths.iter().filter(|t| t.scene == Scene::Real).count(),
        ..Scorecard::default()
    };
    let mut by_clip: BTreeMap<&str, Vec<&Detection>> = BTreeMap::new();
    for d in &alerts.detections {
        by_clip.entry(d.clip.as_str()).or_default().push(d);
    }
    for v in by_clip.values_mut() {
        v.sort_by_key(|d| d.t_ms);
    }
    card.real_alerts = truths
        .iter()
        .filter(|t| t.scene == Scene::Real)
        .flat_map(|t| by_clip.get(t.stem()).into_iter().flatten())
        .filter(|d| d.kind != "motion")
        .count();
    for row in ROWS {
        let before = opts.before_ms.unwrap_or(row.before_ms);
        let after = opts.after_ms.unwrap_or(row.after_ms);
        let mut rs = RowScore {
            name: row.name.to_string(),
            ..RowScore::default()
        };
        let mut delays = Vec::new();
        let mut start_delays = Vec::new();
        let (mut with_origin, mut exact, mut within, mut col_exact) = (0, 0, 0, 0);
        for truth in truths {
            let mut tg = targets(truth, row);
            let relevant = truth
                .scene
                .kinds_under_test()
                .iter()
                .any(|k| row.incident_kinds.contains(k));
            if !tg.is_empty() {
                rs.positive_clips += 1;
            } else if relevant {
                rs.negative_clips += 1;
            }
            let dets: Vec<&&Detection> = by_clip
                .get(truth.stem())
                .map(|v| {
                    v.iter()
                        .filter(|d| row.alert_kinds.contains(&d.kind.as_str()))
                        .collect()
                })
                .unwrap_or_default();
            for d in dets {
                let inside = |x: &Target| d.t_ms + before >= x.start && d.t_ms <= x.end + after;
                let pick = tg
                    .iter()
                    .enumerate()
                    .filter(|(_, x)| !x.matched && inside(x))
                    .min_by_key(|(_, x)| {
                        let floor_miss = match (x.floor, d.floor) {
                            (Some(f), Some(g)) => i64::from(f) != g,
                            _ => true,
                        };
                        (floor_miss, x.start)
                    })
                    .map(|(i, _)| i);
                if let Some(i) = pick {
                    let x = &mut tg[i];
                    x.matched = true;
                    rs.tp += 1;
                    delays.push(d.t_ms as i64 - x.visible as i64);
                    start_delays.push(d.t_ms as i64 - x.start as i64);
                    if let Some(clear) = x.clear_ms {
                        let e = rs.left_panel_clear.get_or_insert((0, 0));
                        e.1 += 1;
                        if d.left_panel_ms.is_some_and(|p| p >= clear as i64) {
                            e.0 += 1;
                        }
                    }
                    // Floors are judged only for throw alerts (which carry an origin).
                    let judges_floor = row.alert_kinds.contains(&"throwing");
                    if let Some(f) = x.floor.filter(|_| judges_floor) {
                        with_origin += 1;
                        if d.floor == Some(i64::from(f)) {
                            exact += 1;
                        }
                        if d.floor.is_some_and(|g| (g - i64::from(f)).abs() <= 1) {
                            within += 1;
                        }
                        if x.column.is_some() && d.column == x.column.map(i64::from) {
                            col_exact += 1;
                        }
                    }
                } else if tg.iter().any(inside) {
                    rs.duplicates += 1;
                } else {
                    rs.fp += 1;
                    let tags = if truth.negatives.is_empty() {
                        vec!["(none)".to_string()]
                    } else {
                        truth.negatives.clone()
                    };
                    for t in &tags {
                        *rs.fp_by_negative.entry(t.clone()).or_default() += 1;
                    }
                    rs.false_alarms.push(Event {
                        clip: truth.stem().to_string(),
                        kind: d.kind.clone(),
                        t_ms: d.t_ms,
                        note: tags.join(","),
                    });
                }
            }
            for x in &tg {
                if let Some(s) = x.size_px {
                    let bucket = if s < 8.0 { "lt8px" } else { "ge8px" };
                    let e = rs.recall_by_size.entry(bucket.to_string()).or_default();
                    e.1 += 1;
                    if x.matched {
                        e.0 += 1;
                    }
                }
                if !x.matched {
                    rs.fn_ += 1;
                    rs.misses.push(Event {
                        clip: truth.stem().to_string(),
                        kind: x.kind.clone(),
                        t_ms: x.start,
                        note: x.size_px.map(|s| format!("{s} px")).unwrap_or_default(),
                    });
                }
            }
        }
        delays.sort_unstable();
        start_delays.sort_unstable();
        rs.delay_from_start_p50_ms = percentile(&start_delays, 0.5);
        rs.delay_from_start_p95_ms = percentile(&start_delays, 0.95);
        rs.precision = ratio(rs.tp, rs.tp + rs.fp);
        rs.recall = ratio(rs.tp, rs.tp + rs.fn_);
        rs.delay_p50_ms = percentile(&delays, 0.5);
        rs.delay_p95_ms = percentile(&delays, 0.95);
        rs.floor_exact = ratio(exact, with_origin);
        rs.floor_within_one = ratio(within, with_origin);
        rs.column_exact = ratio(col_exact, with_origin);
        card.rows.push(rs);
    }
    card
}

/// Loads truth from a folder and alerts from a file or folder, and scores.
pub fn score_paths(
    truth_dir: &Path,
    alerts: &Path,
    opts: Options,
) -> Result<Scorecard, ScoreError> {
    let truths = load_truths(truth_dir)?;
    if truths.is_empty() {
        return Err(ScoreError::NoTruth(truth_dir.to_path_buf()));
    }
    let a = load_alerts(alerts)?;
    let known: std::collections::BTreeSet<&str> = truths.iter().map(|t| t.stem()).collect();
    if let Some(d) = a
        .detections
        .iter()
        .find(|d| !known.contains(d.clip.as_str()))
    {
        return Err(ScoreError::Alert {
            path: alerts.to_path_buf(),
            line: 0,
            message: format!(
                "an alert names clip `{}`, which has no truth file in {}",
                d.clip,
                truth_dir.display()
            ),
        });
    }
    Ok(score(&truths, &a, opts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v = [10, 20, 30, 40];
        assert_eq!(percentile(&v, 0.5), Some(20));
        assert_eq!(percentile(&v, 0.95), Some(40));
        assert_eq!(percentile(&[7], 0.5), Some(7));
        assert_eq!(percentile(&[], 0.5), None);
        let w: Vec<i64> = (1..=20).collect();
        assert_eq!(percentile(&w, 0.95), Some(19));
    }
}
