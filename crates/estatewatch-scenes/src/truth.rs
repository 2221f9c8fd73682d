//! The truth file written beside each clip ([`Truth`]): incidents, negatives
//! and the calibration an analyzer config is made from.

use crate::{ClipSpec, Scene, SceneError, Variant};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Where a thrown object came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// 0 = ground floor.
    pub floor: u32,
    /// 0 = leftmost column of units.
    pub column: u32,
}

/// One thing an analyzer should alert on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// `throwing`, `fire`, `smoke` or `garbage` (alert kind names).
    pub kind: String,
    /// When it starts: a throw's release, the first flame or smoke, the moment a bag is left.
    pub start_ms: u64,
    /// When it is over: the object out of sight, the clip's end, or the bag removed.
    pub end_ms: u64,
    /// Per frame while visible: `[t_ms, x, y, w, h]`, box normalised to the frame.
    pub track: Vec<[f64; 5]>,
    /// Throws only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// Throws: the object's size in pixels at release (for recall by size).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_px: Option<f32>,
    /// Garbage: when whoever left the bag has moved off it (their box no
    /// longer overlaps the bag's); an alert's "left" panel should be at or
    /// after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clear_ms: Option<u64>,
}

/// A named polygon, normalised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Zone {
    pub name: String,
    pub polygon: Vec<[f32; 2]>,
}

/// The tower's geometry, from which an analyzer's facade calibration is made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Facade {
    /// The visible facade (a trapezoid; perspective narrows it upwards).
    pub polygon: Vec<[f32; 2]>,
    /// `floor_rows[k]` is the image row (normalised y) of the slab under floor
    /// `k`; floor `k` spans rows `floor_rows[k+1]..floor_rows[k]`. The last
    /// entry is the roof line or the top of the frame if the roof is cut off.
    pub floor_rows: Vec<f32>,
    /// Column boundaries as fractions across the facade (0 = left edge, 1 =
    /// right edge) at any row; exact under the camera's perspective.
    pub column_fractions: Vec<f32>,
    /// The same boundaries as image segments `[[x_bottom, y_bottom], [x_top, y_top]]`.
    pub column_lines: Vec<[[f32; 2]; 2]>,
    /// Vertical pixels per metre (in clip pixels) at each `floor_rows` entry.
    pub px_per_m: Vec<f32>,
    /// Storey height in metres.
    pub floor_height_m: f32,
    /// Camera model used: focal length (px), distance to the facade (m), upward tilt (deg).
    pub focal_px: f32,
    pub distance_m: f32,
    pub tilt_deg: f32,
}

/// Calibration for the analyzers: zones to watch, zones to ignore, known lights.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facade: Option<Facade>,
    /// Regions the scene's analyzer should watch (the shed, the ground by the bins).
    #[serde(default)]
    pub zones: Vec<Zone>,
    /// Regions to exclude (sky, hedges, road).
    #[serde(default)]
    pub exclude: Vec<Zone>,
    /// Known light sources that may be masked (lamps, beacons).
    #[serde(default)]
    pub lights: Vec<Zone>,
}

/// Analyzer settings the clip was made for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Hints {
    /// The garbage dwell the clip assumes, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub garbage_dwell_s: Option<f32>,
    /// Real footage only: replay it with every incident analyzer on (a
    /// facade over the whole frame, a fire zone over the whole frame and a
    /// garbage zone over the lower half), as the hard suite does.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all_analyzers: bool,
}

/// The ground-truth file written beside each clip (`<name>.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// [`GENERATOR_VERSION`] that rendered it, or `real` for real footage.
    pub generator: String,
    /// The video file name, relative to the truth file's folder.
    pub clip: String,
    pub seed: u64,
    pub scene: Scene,
    pub variant: Variant,
    pub fps: u32,
    pub width: u32,
    pub height: u32,
    pub frames: u64,
    pub duration_ms: u64,
    pub incidents: Vec<Incident>,
    /// Hard negatives present, e.g. `bird_level`.
    pub negatives: Vec<String>,
    pub calibration: Calibration,
    #[serde(default)]
    pub hints: Hints,
    /// The spec it was rendered from (absent for real footage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<ClipSpec>,
}

impl Truth {
    /// Reads a truth file.
    pub fn load(path: &Path) -> Result<Truth, SceneError> {
        let text = std::fs::read_to_string(path).map_err(|source| SceneError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| SceneError::Truth {
            path: path.to_path_buf(),
            source,
        })
    }

    /// When `incident` can first be seen, stream ms: its start, except for
    /// a throw rendered with `late_s` (hidden behind a ledge for that long
    /// after release, then fading in), which comes into view at
    /// `start_ms + late_s`. The scorecard counts delay from here
    /// (`docs/scenes.md`, "Delay").
    pub fn visible_ms(&self, incident: &Incident) -> u64 {
        let late_s = self
            .spec
            .as_ref()
            .and_then(|s| s.params.late_s)
            .filter(|l| *l > 0.0 && incident.kind == "throwing");
        match late_s {
            Some(l) => (incident.start_ms + (l * 1000.0).round() as u64).min(incident.end_ms),
            None => incident.start_ms,
        }
    }

    /// The clip's stem: the camera name its alerts carry.
    pub fn stem(&self) -> &str {
        self.clip
            .rsplit_once('.')
            .map(|(s, _)| s)
            .unwrap_or(&self.clip)
    }
}
