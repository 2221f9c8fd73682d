//! The `[cameras.analyzers.throwing]` table (with the facade calibration
//! tables `floors` and `columns`) and its validation. See `docs/throwing.md`.
//!
//! The calibration geometry these tables describe (floor lines, column
//! edges, labels) is computed in one place, [`super::calibration`]; the
//! checks here are the ones it relies on, so a table that passes them always
//! calibrates.

use crate::analysis::registry::{AnalyzerConfig, BuildContext};
use crate::analysis::{AnalysisError, Analyzer};
use crate::settings::{check_polygon, check_zones, push, ConfigProblem, ZoneConfig};
use serde::Deserialize;

/// `[cameras.analyzers.throwing]`: objects thrown or falling from a facade,
/// traced back to the floor and column they came from. See `docs/throwing.md`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrowingConfig {
    /// The facade polygon (normalised `[x, y]` points, at least three); only
    /// motion inside it is tracked. Default: the whole frame.
    #[serde(default)]
    pub facade: Vec<[f32; 2]>,
    /// How far beside the facade polygon objects are still followed, as a
    /// fraction of the frame width, 0..=0.5 (something tossed from an end
    /// column flies out past the facade's edge). Default: 0.06.
    #[serde(default = "default_facade_margin")]
    pub facade_margin: f32,
    /// Areas inside the facade to ignore: sky, trees, a road, a lift-shaft
    /// window. Default: none.
    #[serde(default)]
    pub exclude: Vec<ZoneConfig>,
    /// Where the floors are in the picture. Required.
    pub floors: Option<FloorsConfig>,
    /// Where the columns of units are. Default: one column spanning the frame.
    #[serde(default)]
    pub columns: Option<ColumnsConfig>,
    /// Template of the unit label reported in `details.origin.unit_label`;
    /// `{floor}` and `{column}` (the column's label) are replaced.
    /// Default: `"{floor}{column}"` (floor 12, column `03` → `1203`).
    #[serde(default = "default_unit_label")]
    pub unit_label: String,
    /// Score each accepted fall's crop with the shipped crop classifier
    /// (`efficientnet-lite0`, its `bird` group) and report it in
    /// `details.second_opinion`. Default: false (on the scene suite it
    /// removed no false alarm, there being none; see docs/throwing.md).
    #[serde(default)]
    pub second_opinion: bool,
    /// With `second_opinion`, drop a fall whose crop is a bird with at least
    /// this probability, 0..=1. Default: none (report only, never veto).
    #[serde(default)]
    pub bird_veto: Option<f32>,
    /// Pixel scale near the facade in detect-size pixels per metre, > 0. Default:
    /// derived from the floor lines and `floors.height_m` at each height.
    #[serde(default)]
    pub px_per_metre: Option<f32>,
    /// Smallest accepted vertical acceleration, as a fraction of free fall
    /// (9.81 m/s² at the pixel scale), 0 < x < max_g. Default: 0.5.
    #[serde(default = "default_min_g")]
    pub min_g: f32,
    /// Largest accepted vertical acceleration, as a multiple of free fall, <= 10. Default: 2.5.
    #[serde(default = "default_max_g")]
    pub max_g: f32,
    /// Largest accepted sideways acceleration, as a fraction of free fall, 0..=2. Default: 0.5.
    #[serde(default = "default_max_lateral_g")]
    pub max_lateral_g: f32,
    /// Smallest luma difference from the background that counts as an
    /// object, 1..=255 (the per-pixel noise level raises it where needed). Default: 10.
    #[serde(default = "default_throw_threshold")]
    pub pixel_threshold: u8,
    /// Camera shake tolerated without false motion, in pixels, 0..=3. Default: 1.
    #[serde(default = "default_shake_px")]
    pub shake_px: u8,
    /// Seconds over which the background adapts to slow change, 0.5..=120. Default: 4.
    #[serde(default = "default_learn_s")]
    pub background_s: f32,
    /// Smallest blob, in foreground pixels, 1..=1000. Default: 3.
    #[serde(default = "default_min_blob_px")]
    pub min_blob_px: u32,
    /// Largest blob side, in pixels, 4..=1000. Default: 64.
    #[serde(default = "default_max_blob_side_px")]
    pub max_blob_side_px: u32,
    /// Frames a track may go unseen and still continue, 0..=30. Default: 3.
    #[serde(default = "default_max_gap_frames")]
    pub max_gap_frames: u32,
    /// Seconds of track needed before deciding, 0.2..=3. Default: 0.5.
    #[serde(default = "default_min_track_s")]
    pub min_track_s: f32,
    /// Track points needed before deciding, 4..=100. Default: 5.
    #[serde(default = "default_min_points")]
    pub min_points: u32,
    /// Smallest drop, in pixels, before deciding, > 0. Default: 6.
    #[serde(default = "default_min_drop_px")]
    pub min_drop_px: f32,
    /// Largest RMS distance of track points from the fitted path, in pixels, > 0. Default: 1.5.
    #[serde(default = "default_max_residual_px")]
    pub max_residual_px: f32,
    /// How far back (seconds) the path may be traced before the first
    /// observation, to where it was at rest (an object picked up late, after
    /// a ledge or while too faint), 0..=4. Default: 2.5.
    #[serde(default = "default_max_backtrack_s")]
    pub max_backtrack_s: f32,
    /// Objects at least this large (metres, estimated from the pixel scale)
    /// are `critical` rather than `major`, > 0. Default: 0.3.
    #[serde(default = "default_critical_size_m")]
    pub critical_size_m: f32,
    /// Seconds of recent frames kept to draw the trajectory over the frame
    /// where it started, 0.5..=10 (memory: one detect-size frame per frame
    /// kept). Default: 2.5.
    #[serde(default = "default_history_s")]
    pub history_s: f32,
}

/// `[cameras.analyzers.throwing.floors]`: the floor lines, either listed
/// (`rows`) or generated (`first_row`, `floor_height`, `count`, `perspective`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FloorsConfig {
    /// Normalised y of each floor line (the slab at the bottom of a floor),
    /// from the lowest visible floor upwards, ending with the line above the
    /// top floor (the roof line): N+1 strictly decreasing values for N
    /// floors. Default: none (use `first_row`).
    #[serde(default)]
    pub rows: Option<Vec<f32>>,
    /// Normalised y of the lowest floor line. Default: none (use `rows`).
    #[serde(default)]
    pub first_row: Option<f32>,
    /// Normalised height of the lowest floor in the picture, > 0. Required with `first_row`.
    #[serde(default)]
    pub floor_height: Option<f32>,
    /// Each floor's picture height divided by the one below it (looking up,
    /// higher floors look smaller), 0.5..=1.5. Default: 1.0.
    #[serde(default = "default_perspective")]
    pub perspective: f32,
    /// Number of floors above `first_row`, 1..=200. Required with `first_row`.
    #[serde(default)]
    pub count: Option<u32>,
    /// The number of the floor just above the lowest line. Default: 1.
    #[serde(default = "default_first_floor")]
    pub first: i32,
    /// Real height of one floor, in metres (sets the pixel scale), 2..=6. Default: 3.0.
    #[serde(default = "default_floor_height_m")]
    pub height_m: f32,
}

/// `[cameras.analyzers.throwing.columns]`: the vertical edges between columns of units.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnsConfig {
    /// Normalised x of the column edges at the lowest floor line, left to
    /// right, strictly increasing: N+1 values for N columns. Required.
    pub edges: Vec<f32>,
    /// The same edges at the top (roof) line, for a facade that narrows with
    /// height; edges are interpolated in between. Default: the same as `edges`.
    #[serde(default)]
    pub edges_top: Option<Vec<f32>>,
    /// A label per column, left to right. Default: `01`, `02`, …
    #[serde(default)]
    pub labels: Option<Vec<String>>,
}

fn default_unit_label() -> String {
    "{floor}{column}".into()
}
fn default_facade_margin() -> f32 {
    0.06
}
fn default_min_g() -> f32 {
    0.5
}
fn default_max_g() -> f32 {
    2.5
}
fn default_max_lateral_g() -> f32 {
    0.5
}
fn default_throw_threshold() -> u8 {
    10
}
fn default_shake_px() -> u8 {
    1
}
fn default_learn_s() -> f32 {
    4.0
}
fn default_min_blob_px() -> u32 {
    3
}
fn default_max_blob_side_px() -> u32 {
    64
}
fn default_max_gap_frames() -> u32 {
    3
}
fn default_min_track_s() -> f32 {
    0.5
}
fn default_min_points() -> u32 {
    5
}
fn default_min_drop_px() -> f32 {
    6.0
}
fn default_max_residual_px() -> f32 {
    1.5
}
fn default_max_backtrack_s() -> f32 {
    2.5
}
fn default_critical_size_m() -> f32 {
    0.3
}
fn default_history_s() -> f32 {
    2.5
}
fn default_perspective() -> f32 {
    1.0
}
fn default_first_floor() -> i32 {
    1
}
fn default_floor_height_m() -> f32 {
    3.0
}

impl ThrowingConfig {
    /// Checks the table; `base` is its path, e.g. `cameras[0].analyzers.throwing`.
    pub fn check(&self, base: &str, p: &mut Vec<ConfigProblem>) {
        if let Some(v) = self.bird_veto {
            if !(0.0..=1.0).contains(&v) {
                push(
                    p,
                    format!("{base}.bird_veto"),
                    format!("must be 0..=1, got {v}"),
                );
            } else if !self.second_opinion {
                push(
                    p,
                    format!("{base}.bird_veto"),
                    "needs `second_opinion = true`",
                );
            }
        }
        if !self.facade.is_empty() {
            check_polygon(&self.facade, &format!("{base}.facade"), p);
        }
        check_zones(&self.exclude, &format!("{base}.exclude"), p);
        match &self.floors {
            None => push(
                p,
                format!("{base}.floors"),
                "required: give `rows` (the floor lines) or `first_row` + `floor_height` + `count`",
            ),
            Some(f) => f.check(&format!("{base}.floors"), p),
        }
        if let Some(c) = &self.columns {
            c.check(&format!("{base}.columns"), p);
        }
        let mut range = |field: &str, v: f32, ok: bool, want: &str| {
            if !ok || !v.is_finite() {
                push(
                    p,
                    format!("{base}.{field}"),
                    format!("must be {want}, got {v}"),
                );
            }
        };
        if let Some(s) = self.px_per_metre {
            range("px_per_metre", s, s > 0.0, "> 0");
        }
        let (lo, hi) = (self.min_g, self.max_g);
        range("min_g", lo, lo > 0.0 && lo < hi, "> 0 and < max_g");
        range("max_g", hi, hi <= 10.0 && hi > 0.0, "> 0 and <= 10");
        let m = self.facade_margin;
        range("facade_margin", m, (0.0..=0.5).contains(&m), "0..=0.5");
        let l = self.max_lateral_g;
        range("max_lateral_g", l, (0.0..=2.0).contains(&l), "0..=2");
        let b = self.background_s;
        range("background_s", b, (0.5..=120.0).contains(&b), "0.5..=120");
        let m = self.min_track_s;
        range("min_track_s", m, (0.2..=3.0).contains(&m), "0.2..=3");
        let d = self.min_drop_px;
        range("min_drop_px", d, d > 0.0, "> 0");
        let r = self.max_residual_px;
        range("max_residual_px", r, r > 0.0, "> 0");
        let bt = self.max_backtrack_s;
        range("max_backtrack_s", bt, (0.0..=4.0).contains(&bt), "0..=4");
        let c = self.critical_size_m;
        range("critical_size_m", c, c > 0.0, "> 0");
        let h = self.history_s;
        range("history_s", h, (0.5..=10.0).contains(&h), "0.5..=10");
        let mut int = |field: &str, v: u32, ok: bool, want: &str| {
            if !ok {
                push(
                    p,
                    format!("{base}.{field}"),
                    format!("must be {want}, got {v}"),
                );
            }
        };
        int(
            "pixel_threshold",
            self.pixel_threshold as u32,
            self.pixel_threshold > 0,
            "1..=255",
        );
        int(
            "shake_px",
            self.shake_px as u32,
            self.shake_px <= 3,
            "0..=3",
        );
        let v = self.min_blob_px;
        int("min_blob_px", v, (1..=1000).contains(&v), "1..=1000");
        let v = self.max_blob_side_px;
        int("max_blob_side_px", v, (4..=1000).contains(&v), "4..=1000");
        let v = self.max_gap_frames;
        int("max_gap_frames", v, v <= 30, "0..=30");
        let v = self.min_points;
        int("min_points", v, (4..=100).contains(&v), "4..=100");
        if !self.unit_label.contains("{floor}") {
            push(
                p,
                format!("{base}.unit_label"),
                format!("must contain {{floor}}, got {:?}", self.unit_label),
            );
        }
    }
}

impl FloorsConfig {
    /// Checks the table; `base` is its path. A table that passes gives
    /// at least two strictly rising floor lines
    /// ([`lines`](FloorsConfig::lines)).
    pub fn check(&self, base: &str, p: &mut Vec<ConfigProblem>) {
        if self.rows.is_some() && self.first_row.is_some() {
            push(
                p,
                format!("{base}.rows"),
                "give either rows or first_row (+ floor_height, count), not both",
            );
            return;
        }
        if let Some(rows) = &self.rows {
            if rows.len() < 2 {
                push(
                    p,
                    format!("{base}.rows"),
                    format!(
                        "needs at least 2 lines (the lowest floor line and the line above the top floor), got {}",
                        rows.len()
                    ),
                );
            }
            for (i, r) in rows.iter().enumerate() {
                if !(0.0..=1.0).contains(r) {
                    push(
                        p,
                        format!("{base}.rows[{i}]"),
                        format!("rows are normalised: expected 0..=1, got {r}"),
                    );
                }
            }
            for (i, w) in rows.windows(2).enumerate() {
                if w[1] >= w[0] {
                    push(
                        p,
                        format!("{base}.rows[{}]", i + 1),
                        format!(
                            "must be above (smaller than) the line before it: lines go from the lowest floor upwards, got {} after {}",
                            w[1], w[0]
                        ),
                    );
                }
            }
        } else if let Some(first) = self.first_row {
            if !(0.0..=1.0).contains(&first) {
                push(
                    p,
                    format!("{base}.first_row"),
                    format!("must be 0..=1, got {first}"),
                );
            }
            match self.floor_height {
                None => push(p, format!("{base}.floor_height"), "required with first_row"),
                Some(h) if !(h > 0.0 && h <= 1.0) => push(
                    p,
                    format!("{base}.floor_height"),
                    format!("must be > 0 and <= 1 (normalised), got {h}"),
                ),
                Some(_) => {}
            }
            match self.count {
                None => push(p, format!("{base}.count"), "required with first_row"),
                Some(n) if !(1..=200).contains(&n) => push(
                    p,
                    format!("{base}.count"),
                    format!("must be 1..=200, got {n}"),
                ),
                Some(_) => {}
            }
        } else {
            push(
                p,
                format!("{base}.rows"),
                "required: give rows, or first_row + floor_height + count",
            );
        }
        if !(0.5..=1.5).contains(&self.perspective) {
            push(
                p,
                format!("{base}.perspective"),
                format!("must be 0.5..=1.5, got {}", self.perspective),
            );
        }
        if !(2.0..=6.0).contains(&self.height_m) {
            push(
                p,
                format!("{base}.height_m"),
                format!("must be 2..=6 metres, got {}", self.height_m),
            );
        }
    }
}

impl ColumnsConfig {
    /// Checks the table; `base` is its path. A table that passes gives at
    /// least two rising edges, as many at the top, and one label per column.
    pub fn check(&self, base: &str, p: &mut Vec<ConfigProblem>) {
        let check_edges = |field: &str, edges: &[f32], p: &mut Vec<ConfigProblem>| {
            if edges.len() < 2 {
                push(
                    p,
                    format!("{base}.{field}"),
                    format!("needs at least 2 edges, got {}", edges.len()),
                );
            }
            for (i, e) in edges.iter().enumerate() {
                if !(0.0..=1.0).contains(e) {
                    push(
                        p,
                        format!("{base}.{field}[{i}]"),
                        format!("edges are normalised: expected 0..=1, got {e}"),
                    );
                }
            }
            for (i, w) in edges.windows(2).enumerate() {
                if w[1] <= w[0] {
                    push(
                        p,
                        format!("{base}.{field}[{}]", i + 1),
                        format!(
                            "edges must increase left to right, got {} after {}",
                            w[1], w[0]
                        ),
                    );
                }
            }
        };
        check_edges("edges", &self.edges, p);
        if let Some(top) = &self.edges_top {
            if top.len() != self.edges.len() {
                push(
                    p,
                    format!("{base}.edges_top"),
                    format!(
                        "must have as many edges as `edges` ({}), got {}",
                        self.edges.len(),
                        top.len()
                    ),
                );
            }
            check_edges("edges_top", top, p);
        }
        if let Some(labels) = &self.labels {
            let want = self.edges.len().saturating_sub(1);
            if labels.len() != want {
                push(
                    p,
                    format!("{base}.labels"),
                    format!("needs one label per column ({want}), got {}", labels.len()),
                );
            }
        }
    }
}

impl AnalyzerConfig for ThrowingConfig {
    fn check(&self, path: &str, p: &mut Vec<ConfigProblem>) {
        ThrowingConfig::check(self, path, p);
    }

    fn wanted_models(&self) -> Vec<&'static str> {
        if self.second_opinion {
            vec![super::BIRD_CLASSIFIER]
        } else {
            Vec::new()
        }
    }

    /// With `second_opinion`, the bird classifier must be loaded: without it
    /// the camera does not start.
    fn build(&self, ctx: &BuildContext<'_>) -> Result<Box<dyn Analyzer>, AnalysisError> {
        let cam = ctx.camera;
        let a =
            super::ThrowingAnalyzer::new(self, cam.detect.width, cam.detect.height, cam.detect.fps)
                .map_err(|e| ctx.setup_error("throwing", e.to_string()))?;
        let a = if self.second_opinion {
            let unavailable = |why: &dyn std::fmt::Display| {
                ctx.setup_error(
                    "throwing",
                    format!(
                        "second_opinion needs the model {}: {why}",
                        super::BIRD_CLASSIFIER
                    ),
                )
            };
            let scorer = match ctx.models {
                Some(m) => m
                    .get_classifier(super::BIRD_CLASSIFIER)
                    .map_err(|e| unavailable(&e))?,
                None => return Err(unavailable(&"no models loaded")),
            };
            a.with_second_opinion(super::SecondOpinion {
                scorer: std::sync::Arc::new(super::ClassifierBirds(scorer)),
                veto_at: self.bird_veto,
            })
        } else {
            a
        };
        Ok(Box::new(a))
    }
}
