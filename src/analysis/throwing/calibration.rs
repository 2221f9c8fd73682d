//! Facade calibration: maps a point in the picture to the floor and column
//! of units it lies in, and gives the local pixel scale (pixels per metre)
//! that free fall is judged against.
//!
//! Floors are bands between floor lines. Lines are kept in pixels, lowest
//! (largest y) first; floor `first + i` is the band between line `i` and line
//! `i + 1` above it. Column edges are given at the lowest and the top line
//! and interpolated linearly in between, which covers a facade that narrows
//! with height when the camera looks up.
//!
//! This is the one place the `floors` and `columns` tables of the config are
//! turned into geometry ([`FloorsConfig::lines`], [`ColumnsConfig::edges`],
//! [`ColumnsConfig::labels`]). [`Calibration::new`] accepts exactly the
//! tables `check-config` accepts: it runs the same checks
//! ([`FloorsConfig::check`], [`ColumnsConfig::check`]).

use super::config::{ColumnsConfig, FloorsConfig, ThrowingConfig};
use crate::alert::BBox;

/// Why a throwing config gives no calibration; each message starts with the
/// key it concerns.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalibrationError {
    #[error("floors: required (the floor lines)")]
    NoFloors,
    /// The floor lines cannot be worked out (the reason, from the config).
    #[error("floors: {0}")]
    FloorLines(String),
    /// Floors or columns that `check-config` would refuse (the first
    /// problem, with its field path).
    #[error("{0}")]
    Invalid(String),
}

/// Gravity, m/s².
pub const G: f32 = 9.81;

/// Where a point lies on the facade.
#[derive(Debug, Clone, PartialEq)]
pub struct FacadeCell {
    /// Floor number (clamped to the calibrated floors).
    pub floor: i32,
    /// Column index, 0-based (clamped to the calibrated columns).
    pub column: usize,
    /// The column's label.
    pub column_label: String,
    /// The unit label built from the template.
    pub unit_label: String,
    /// False when the point lay outside the calibrated floors or columns and
    /// was clamped to the nearest.
    pub within: bool,
}

/// A camera's facade calibration, in detect-size pixels.
#[derive(Debug, Clone)]
pub struct Calibration {
    width: f32,
    height: f32,
    /// Floor lines in pixel rows, lowest first, strictly decreasing.
    lines: Vec<f32>,
    first_floor: i32,
    floor_height_m: f32,
    px_per_metre: Option<f32>,
    /// Column edges in pixels at the lowest line and at the top line.
    edges_bottom: Vec<f32>,
    edges_top: Vec<f32>,
    labels: Vec<String>,
    unit_label: String,
}

impl FloorsConfig {
    /// The floor lines as normalised rows, lowest first (strictly
    /// decreasing once [`check`](FloorsConfig::check) passes): `rows` as
    /// given, or generated from `first_row`, `floor_height`, `perspective`
    /// and `count`.
    pub fn lines(&self) -> Result<Vec<f32>, String> {
        match (&self.rows, self.first_row) {
            (Some(rows), None) => Ok(rows.clone()),
            (None, Some(first)) => {
                let h = self
                    .floor_height
                    .ok_or("floor_height is required with first_row")?;
                let n = self.count.ok_or("count is required with first_row")?;
                let mut lines = vec![first];
                let (mut y, mut band) = (first, h);
                for _ in 0..n {
                    y -= band;
                    lines.push(y);
                    band *= self.perspective;
                }
                Ok(lines)
            }
            (Some(_), Some(_)) => Err("give either rows or first_row, not both".into()),
            (None, None) => Err("give rows, or first_row + floor_height + count".into()),
        }
    }
}

impl ColumnsConfig {
    /// The column edges, normalised, at the lowest and at the top floor
    /// line (`edges_top` defaults to `edges`).
    pub fn edges(&self) -> (Vec<f32>, Vec<f32>) {
        let top = self.edges_top.clone().unwrap_or_else(|| self.edges.clone());
        (self.edges.clone(), top)
    }

    /// One label per column: `labels`, or `01`, `02`, … by default.
    pub fn labels(&self) -> Vec<String> {
        match &self.labels {
            Some(l) => l.clone(),
            None => (1..=self.edges.len().saturating_sub(1))
                .map(|i| format!("{i:02}"))
                .collect(),
        }
    }
}

/// The columns when the config gives none: one spanning the frame.
fn one_column() -> ColumnsConfig {
    ColumnsConfig {
        edges: vec![0.0, 1.0],
        edges_top: None,
        labels: None,
    }
}

impl Calibration {
    /// Builds the calibration from the throwing config at a detect size.
    /// Fails, naming the field, on floors or columns that `check-config`
    /// would refuse.
    pub fn new(
        cfg: &ThrowingConfig,
        width: u32,
        height: u32,
    ) -> Result<Calibration, CalibrationError> {
        let floors = cfg.floors.as_ref().ok_or(CalibrationError::NoFloors)?;
        let columns = cfg.columns.clone().unwrap_or_else(one_column);
        let mut problems = Vec::new();
        floors.check("floors", &mut problems);
        columns.check("columns", &mut problems);
        if let Some(first) = problems.first() {
            return Err(CalibrationError::Invalid(first.to_string()));
        }
        let lines: Vec<f32> = floors
            .lines()
            .map_err(CalibrationError::FloorLines)?
            .iter()
            .map(|r| r * height as f32)
            .collect();
        let (edges, top) = columns.edges();
        let labels = columns.labels();
        let w = width as f32;
        Ok(Calibration {
            width: w,
            height: height as f32,
            lines,
            first_floor: floors.first,
            floor_height_m: floors.height_m,
            px_per_metre: cfg.px_per_metre,
            edges_bottom: edges.iter().map(|e| e * w).collect(),
            edges_top: top.iter().map(|e| e * w).collect(),
            labels,
            unit_label: cfg.unit_label.clone(),
        })
    }

    /// Number of calibrated floors.
    pub fn floors(&self) -> usize {
        self.lines.len() - 1
    }

    /// The number of the lowest calibrated floor.
    pub fn first_floor(&self) -> i32 {
        self.first_floor
    }

    /// Number of calibrated columns.
    pub fn columns(&self) -> usize {
        self.labels.len()
    }

    /// The floor band index (0 = lowest calibrated floor) and the fraction
    /// through it, unclamped: negative below the lowest line, >= floors()
    /// above the top line (bands extrapolated with the nearest band's height).
    pub fn band_at(&self, y: f32) -> f32 {
        let n = self.lines.len();
        if y >= self.lines[0] {
            let h = self.lines[0] - self.lines[1];
            return -(y - self.lines[0]) / h;
        }
        for i in 0..n - 1 {
            let (lo, hi) = (self.lines[i], self.lines[i + 1]);
            if y < lo && y >= hi {
                return i as f32 + (lo - y) / (lo - hi);
            }
        }
        let h = self.lines[n - 2] - self.lines[n - 1];
        (n - 1) as f32 + (self.lines[n - 1] - y) / h
    }

    /// Picture height of the floor band at row `y`, in pixels.
    pub fn band_height_px(&self, y: f32) -> f32 {
        let b = self.band_at(y).floor();
        let i = (b.max(0.0) as usize).min(self.lines.len() - 2);
        self.lines[i] - self.lines[i + 1]
    }

    /// Pixels per metre near the facade at row `y`.
    pub fn px_per_metre(&self, y: f32) -> f32 {
        self.px_per_metre
            .unwrap_or_else(|| self.band_height_px(y) / self.floor_height_m)
    }

    /// Free-fall acceleration in pixels/s² at row `y`.
    pub fn gravity_px(&self, y: f32) -> f32 {
        G * self.px_per_metre(y)
    }

    /// Column edges (pixels) at row `y`.
    fn edges_at(&self, y: f32) -> Vec<f32> {
        let (y0, y1) = (self.lines[0], self.lines[self.lines.len() - 1]);
        let t = ((y0 - y) / (y0 - y1)).clamp(0.0, 1.0);
        self.edges_bottom
            .iter()
            .zip(&self.edges_top)
            .map(|(b, top)| b + (top - b) * t)
            .collect()
    }

    /// The floor and column at pixel point (x, y).
    pub fn cell_at(&self, x: f32, y: f32) -> FacadeCell {
        let band = self.band_at(y).floor();
        let n_floors = self.floors() as f32;
        let mut within = band >= 0.0 && band < n_floors;
        let band = band.clamp(0.0, n_floors - 1.0) as usize;
        let edges = self.edges_at(y);
        let n_cols = edges.len() - 1;
        let column = match edges.iter().rposition(|e| x >= *e) {
            None => {
                within = false;
                0
            }
            Some(i) if i >= n_cols => {
                within = false;
                n_cols - 1
            }
            Some(i) => i,
        };
        let floor = self.first_floor + band as i32;
        let label = self.labels[column].clone();
        let unit_label = self
            .unit_label
            .replace("{floor}", &floor.to_string())
            .replace("{column}", &label);
        FacadeCell {
            floor,
            column,
            column_label: label,
            unit_label,
            within,
        }
    }

    /// The normalised box of a floor's band within a column (the "window"
    /// drawn on snapshots).
    pub fn cell_box(&self, floor: i32, column: usize) -> Option<BBox> {
        let i = usize::try_from(floor - self.first_floor).ok()?;
        if i + 1 >= self.lines.len() {
            return None;
        }
        let (y_lo, y_hi) = (self.lines[i], self.lines[i + 1]);
        let lo_edges = self.edges_at(y_lo);
        let hi_edges = self.edges_at(y_hi);
        if column + 1 >= lo_edges.len() {
            return None;
        }
        let x0 = lo_edges[column].min(hi_edges[column]);
        let x1 = lo_edges[column + 1].max(hi_edges[column + 1]);
        Some(BBox {
            x: x0 / self.width,
            y: y_hi / self.height,
            w: (x1 - x0) / self.width,
            h: (y_lo - y_hi) / self.height,
        })
    }

    /// Floor lines in pixels, lowest first (for drawing).
    pub fn lines_px(&self) -> &[f32] {
        &self.lines
    }

    /// Column edges in pixels at the lowest and the top line (for drawing).
    pub fn edges_px(&self) -> (&[f32], &[f32]) {
        (&self.edges_bottom, &self.edges_top)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(extra: &str) -> ThrowingConfig {
        toml::from_str(extra).unwrap()
    }

    #[test]
    fn rows_map_to_floors_exactly() {
        // Lines at y = 300, 250, 200, 150 px (of 400): floors 3, 4, 5.
        let c = cfg("floors = { rows = [0.75, 0.625, 0.5, 0.375], first = 3 }");
        let cal = Calibration::new(&c, 400, 400).unwrap();
        assert_eq!(cal.floors(), 3);
        assert_eq!(cal.cell_at(10.0, 299.0).floor, 3);
        assert_eq!(cal.cell_at(10.0, 251.0).floor, 3);
        assert_eq!(cal.cell_at(10.0, 249.0).floor, 4);
        assert_eq!(cal.cell_at(10.0, 160.0).floor, 5);
        let above = cal.cell_at(10.0, 100.0);
        assert_eq!((above.floor, above.within), (5, false));
        let below = cal.cell_at(10.0, 350.0);
        assert_eq!((below.floor, below.within), (3, false));
        assert!(cal.cell_at(10.0, 160.0).within);
    }

    #[test]
    fn generated_lines_with_perspective_shrink_upwards() {
        let c =
            cfg("floors = { first_row = 0.9, floor_height = 0.1, count = 4, perspective = 0.5 }");
        let cal = Calibration::new(&c, 100, 100).unwrap();
        let l = cal.lines_px();
        assert_eq!(l.len(), 5);
        let want = [90.0, 80.0, 75.0, 72.5, 71.25];
        for (a, b) in l.iter().zip(want) {
            assert!((a - b).abs() < 1e-3, "{l:?}");
        }
        assert_eq!(cal.cell_at(0.0, 76.0).floor, 2);
        assert_eq!(cal.cell_at(0.0, 74.0).floor, 3);
        // Scale follows the band: 10 px per 3 m low down, 2.5 px higher up.
        assert!((cal.px_per_metre(85.0) - 10.0 / 3.0).abs() < 1e-4);
        assert!((cal.px_per_metre(73.0) - 2.5 / 3.0).abs() < 1e-4);
    }

    #[test]
    fn columns_labels_and_narrowing_facade() {
        let c = cfg(r#"
            unit_label = "{floor}-{column}"
            floors = { rows = [1.0, 0.5, 0.0] }
            columns = { edges = [0.0, 0.5, 1.0], edges_top = [0.2, 0.5, 0.8], labels = ["A", "B"] }
            "#);
        let cal = Calibration::new(&c, 100, 100).unwrap();
        let cell = cal.cell_at(30.0, 80.0);
        assert_eq!((cell.floor, cell.column), (1, 0));
        assert_eq!(cell.unit_label, "1-A");
        assert_eq!(cal.cell_at(60.0, 20.0).unit_label, "2-B");
        // Near the top the facade starts at x = 20: x = 10 is off it.
        let off = cal.cell_at(10.0, 1.0);
        assert!(!off.within);
        let b = cal.cell_box(2, 1).unwrap();
        assert!((b.y - 0.0).abs() < 1e-6 && (b.h - 0.5).abs() < 1e-6);
    }

    #[test]
    fn default_labels_make_flat_numbers() {
        let c = cfg("floors = { rows = [0.9, 0.8, 0.7], first = 11 }\ncolumns = { edges = [0.0, 0.25, 0.5, 0.75, 1.0] }");
        let cal = Calibration::new(&c, 400, 100).unwrap();
        assert_eq!(cal.cell_at(250.0, 75.0).unit_label, "1203");
        assert_eq!(cal.cell_box(13, 0), None);
    }

    #[test]
    fn counts_floors_and_columns_from_the_config_defaults_included() {
        let c = cfg("floors = { rows = [0.9, 0.8, 0.7], first = 11 }");
        let cal = Calibration::new(&c, 100, 100).unwrap();
        assert_eq!((cal.first_floor(), cal.floors(), cal.columns()), (11, 2, 1));
        let c = cfg("floors = { rows = [0.9, 0.5] }\ncolumns = { edges = [0.0, 0.3, 0.6, 1.0] }");
        let cal = Calibration::new(&c, 100, 100).unwrap();
        assert_eq!((cal.first_floor(), cal.columns()), (1, 3));
    }

    #[test]
    fn refuses_what_check_config_refuses_naming_the_field() {
        let refused = |text: &str| {
            Calibration::new(&cfg(text), 100, 100)
                .unwrap_err()
                .to_string()
        };
        let e = refused("floors = { rows = [0.9, 0.5] }\ncolumns = { edges = [0.0, 0.5, 1.0], labels = [\"A\"] }");
        assert!(
            e.starts_with("columns.labels: needs one label per column (2), got 1"),
            "{e}"
        );
        let e = refused("floors = { rows = [0.5, 0.9] }");
        assert!(e.starts_with("floors.rows[1]: must be above"), "{e}");
        let e = refused("floors = { first_row = 0.9, floor_height = 0.1 }");
        assert_eq!(e, "floors.count: required with first_row");
        let e = refused(
            "floors = { rows = [0.9, 0.5] }\ncolumns = { edges = [0.0, 1.0], edges_top = [0.2] }",
        );
        assert!(
            e.starts_with("columns.edges_top: must have as many edges"),
            "{e}"
        );
    }

    #[test]
    fn explicit_scale_overrides_floor_lines() {
        let c = cfg("px_per_metre = 7.5\nfloors = { rows = [0.9, 0.5] }");
        let cal = Calibration::new(&c, 100, 100).unwrap();
        assert!((cal.gravity_px(50.0) - 7.5 * G).abs() < 1e-3);
    }
}
