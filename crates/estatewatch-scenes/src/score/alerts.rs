//! Reading replayed alerts (JSON lines) into the detections scoring needs.

use super::ScoreError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Alert kinds the scorecard ignores (not video detections).
const NOT_DETECTIONS: &[&str] = &[
    "camera_offline",
    "camera_online",
    "test",
    "sensor",
    "sensor_offline",
];

/// One `new` alert, reduced to what scoring needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detection {
    pub clip: String,
    pub kind: String,
    pub t_ms: u64,
    pub floor: Option<i64>,
    pub column: Option<i64>,
    /// Garbage: media time (ms) of the alert's "left" panel (`details.left_panel_ms`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left_panel_ms: Option<i64>,
}

/// The alert fields read; everything else in the schema is ignored.
#[derive(Debug, Deserialize)]
struct AlertLine {
    kind: String,
    state: String,
    #[serde(default)]
    camera: Option<String>,
    #[serde(default)]
    media_time_ms: Option<u64>,
    #[serde(default)]
    details: serde_json::Value,
}

/// Alerts read from a file or folder, with the count of lines skipped.
#[derive(Debug, Clone, Default)]
pub struct Alerts {
    pub detections: Vec<Detection>,
    /// `update`/`end` messages and non-detection kinds.
    pub ignored: usize,
}

/// Reads alerts: a JSON-lines file whose `camera` names the clip, or a folder
/// of `<clip-stem>.jsonl` files. Blank lines and lines starting with `#` are
/// skipped.
pub fn load_alerts(path: &Path) -> Result<Alerts, ScoreError> {
    let mut out = Alerts::default();
    if path.is_dir() {
        let rd = std::fs::read_dir(path).map_err(|source| ScoreError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut files: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("jsonl"))
            .collect();
        files.sort();
        for f in files {
            let stem = f
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            read_alert_file(&f, Some(&stem), &mut out)?;
        }
    } else {
        read_alert_file(path, None, &mut out)?;
    }
    Ok(out)
}

fn read_alert_file(path: &Path, clip: Option<&str>, out: &mut Alerts) -> Result<(), ScoreError> {
    let text = std::fs::read_to_string(path).map_err(|source| ScoreError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |message: String| ScoreError::Alert {
            path: path.to_path_buf(),
            line: i + 1,
            message,
        };
        let a: AlertLine = serde_json::from_str(line).map_err(|e| {
            bad(format!(
                "not an alert (JSON with kind, state, media_time_ms): {e}"
            ))
        })?;
        if a.state != "new" || NOT_DETECTIONS.contains(&a.kind.as_str()) {
            out.ignored += 1;
            continue;
        }
        let clip = match (clip, &a.camera) {
            (Some(c), _) => c.to_string(),
            (None, Some(c)) => c.clone(),
            (None, None) => {
                return Err(bad(
                    "alert has no `camera`; it must name the clip (its file stem)".into(),
                ))
            }
        };
        let t_ms = a.media_time_ms.ok_or_else(|| {
            bad("alert has no `media_time_ms`; replayed alerts must carry it".into())
        })?;
        let origin = &a.details["origin"];
        out.detections.push(Detection {
            clip,
            kind: a.kind,
            t_ms,
            floor: origin["floor"].as_i64(),
            column: origin["column"].as_i64(),
            left_panel_ms: a.details["left_panel_ms"].as_i64(),
        });
    }
    Ok(())
}
