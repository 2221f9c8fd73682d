//! The limits a scorecard is checked against (`tests/scorecard-thresholds*.toml`).

use super::{ratio, ScoreError, Scorecard, ROWS};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Per-row limits; every field optional. See `tests/scorecard-thresholds.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowThresholds {
    pub min_precision: Option<f64>,
    pub min_recall: Option<f64>,
    pub max_false_positives: Option<usize>,
    pub max_duplicates: Option<usize>,
    pub max_p50_delay_ms: Option<i64>,
    pub max_p95_delay_ms: Option<i64>,
    /// The p95 delay counted from the incident's start (a throw's release)
    /// even where the object was hidden at first
    /// ([`RowScore::delay_from_start_p95_ms`]).
    pub max_p95_start_delay_ms: Option<i64>,
    pub min_floor_exact: Option<f64>,
    pub min_floor_within_one: Option<f64>,
    /// Garbage: minimum share of TPs whose "left" panel shows the bag
    /// without the person ([`RowScore::left_panel_clear`]).
    pub min_left_panel_clear: Option<f64>,
    /// Minimum recall per size bucket (`lt8px`, `ge8px`).
    #[serde(default)]
    pub min_recall_by_size: BTreeMap<String, f64>,
}

/// Limits for real footage.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealThresholds {
    pub max_alerts: Option<usize>,
}

/// The thresholds file: `[rows.<name>]` tables and an optional `[real]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    #[serde(default)]
    pub rows: BTreeMap<String, RowThresholds>,
    #[serde(default)]
    pub real: RealThresholds,
}

impl Thresholds {
    pub fn load(path: &Path) -> Result<Thresholds, ScoreError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScoreError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let t: Thresholds = toml::from_str(&text).map_err(|e| ScoreError::Thresholds {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        for name in t.rows.keys() {
            if !ROWS.iter().any(|r| r.name == name) {
                let names: Vec<&str> = ROWS.iter().map(|r| r.name).collect();
                return Err(ScoreError::Thresholds {
                    path: path.to_path_buf(),
                    message: format!(
                        "rows.{name}: unknown row; expected one of {}",
                        names.join(", ")
                    ),
                });
            }
        }
        Ok(t)
    }

    /// Every limit the scorecard breaks, as `row.field: value vs limit`.
    /// A precision limit passes when there were no alerts; a recall limit
    /// fails when the row had no incidents to find.
    pub fn check(&self, card: &Scorecard) -> Vec<String> {
        let mut out = Vec::new();
        for (name, t) in &self.rows {
            let Some(r) = card.rows.iter().find(|r| &r.name == name) else {
                continue;
            };
            let mut min = |field: &str, have: Option<f64>, want: Option<f64>, none_ok: bool| {
                if let Some(want) = want {
                    match have {
                        Some(h) if h + 1e-9 < want => out.push(format!(
                            "{name}.{field}: {h:.3} is below the minimum {want:.3}"
                        )),
                        None if !none_ok => out.push(format!(
                            "{name}.{field}: nothing to measure (minimum {want:.3})"
                        )),
                        _ => {}
                    }
                }
            };
            min("precision", r.precision, t.min_precision, true);
            min("recall", r.recall, t.min_recall, false);
            min("floor_exact", r.floor_exact, t.min_floor_exact, true);
            min(
                "floor_within_one",
                r.floor_within_one,
                t.min_floor_within_one,
                true,
            );
            min(
                "left_panel_clear",
                r.left_panel_clear.and_then(|(c, n)| ratio(c, n)),
                t.min_left_panel_clear,
                false,
            );
            for (bucket, want) in &t.min_recall_by_size {
                let have = r
                    .recall_by_size
                    .get(bucket)
                    .and_then(|(h, n)| ratio(*h, *n));
                min(
                    &format!("recall_by_size.{bucket}"),
                    have,
                    Some(*want),
                    false,
                );
            }
            let mut max = |field: &str, have: Option<i64>, limit: Option<i64>| {
                if let (Some(h), Some(l)) = (have, limit) {
                    if h > l {
                        out.push(format!("{name}.{field}: {h} is above the maximum {l}"));
                    }
                }
            };
            max(
                "false_positives",
                Some(r.fp as i64),
                t.max_false_positives.map(|v| v as i64),
            );
            max(
                "duplicates",
                Some(r.duplicates as i64),
                t.max_duplicates.map(|v| v as i64),
            );
            max("delay_p50_ms", r.delay_p50_ms, t.max_p50_delay_ms);
            max("delay_p95_ms", r.delay_p95_ms, t.max_p95_delay_ms);
            max(
                "delay_from_start_p95_ms",
                r.delay_from_start_p95_ms,
                t.max_p95_start_delay_ms,
            );
        }
        if let Some(l) = self.real.max_alerts {
            if card.real_alerts > l {
                out.push(format!(
                    "real.alerts: {} is above the maximum {l}",
                    card.real_alerts
                ));
            }
        }
        out
    }
}
