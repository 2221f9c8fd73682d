//! Smoke: regions that turn grey and soft, growing where they stand.
//!
//! Smoke is a veil: each pixel becomes `(1 − a)·background + a·grey`. That
//! shrinks the background's edges and pulls its colour towards grey, while a
//! change of lighting scales edges and brightness together. So each cell keeps
//! a slow background of its *contrast* (mean gradient ÷ (mean luma + 16),
//! which lighting changes leave roughly alone), luma and chroma, and a cell is
//! *smoky* in a frame when
//!
//! - its background had texture to lose (mean gradient ≥ 4 grey levels and
//!   contrast ≥ 0.08),
//! - its contrast fell to at most the zone's ratio of the background's (0.6 at
//!   sensitivity 0.5),
//! - it is low in chroma (≤ 24) and no more colourful than its background + 8,
//! - it is neither glare (mean luma ≤ 235) nor a deep shadow (mean luma ≥ 0.7 ×
//!   background).
//!
//! Candidate cells are smoky in half the frames of the last [`PERSIST_S`]
//! seconds and in one of the last three; nearby candidates of one zone form a
//! region. Over the last [`WINDOW_S`] seconds a region *hits* when it is large
//! enough, was already partly there at the start of the window (at least a
//! quarter of today's area: things that arrive whole, such as a person
//! stepping in or a headlight beam, are not smoke), and has grown by 10 % or
//! risen by at least one cell. While the zone has an open smoke incident a
//! region of half the minimum area keeps it alive.
//!
//! The background follows the scene with a time constant of [`BACKGROUND_TAU_S`]
//! seconds (averaging the first two seconds), twenty times slower where a cell
//! looks smoky, so smoke is not learnt as background.

use super::features::{CellStats, Grid, History, ZoneMap, NO_ZONE};
use super::regions::{group, CellRegion};

/// Seconds a cell must stay smoky (half of its frames) to be a candidate.
pub const PERSIST_S: f64 = 1.5;
/// Seconds of history the region cues look at.
pub const WINDOW_S: f64 = 3.0;
/// Time constant of the background, seconds.
pub const BACKGROUND_TAU_S: f64 = 60.0;
/// Seconds of frames averaged into the first background.
pub const WARMUP_S: f64 = 2.0;
/// Contrast ratio at sensitivity 0.5.
pub const BASE_RATIO: f32 = 0.6;

/// Per-zone thresholds.
#[derive(Debug, Clone)]
pub struct SmokeParams {
    /// Most contrast (÷ background contrast) a smoky cell keeps, per zone.
    pub max_ratio: Vec<f32>,
    /// Least region size in cells, per zone.
    pub min_cells: Vec<f32>,
}

/// The per-cell slow background and the smoky verdict.
pub struct SmokeModel {
    bg_contrast: Vec<f32>,
    bg_grad: Vec<f32>,
    bg_y: Vec<f32>,
    bg_chroma: Vec<f32>,
    /// Last frame's contrast ratio per cell (1 where not measured).
    pub ratio: Vec<f32>,
    started: Option<f64>,
    last_t: f64,
    frames: u32,
}

impl SmokeModel {
    pub fn new(cells: usize) -> SmokeModel {
        SmokeModel {
            bg_contrast: vec![0.0; cells],
            bg_grad: vec![0.0; cells],
            bg_y: vec![0.0; cells],
            bg_chroma: vec![0.0; cells],
            ratio: vec![1.0; cells],
            started: None,
            last_t: 0.0,
            frames: 0,
        }
    }

    /// Judges each cell of the frame at time `t`, then updates the background.
    pub fn update(
        &mut self,
        t: f64,
        st: &CellStats,
        zones: &ZoneMap,
        p: &SmokeParams,
    ) -> Vec<bool> {
        let started = *self.started.get_or_insert(t);
        let warm = t - started >= WARMUP_S;
        let dt = (t - self.last_t).clamp(0.0, 5.0);
        self.last_t = t;
        self.frames += 1;
        let alpha = if warm {
            (dt / BACKGROUND_TAU_S) as f32
        } else {
            1.0 / self.frames as f32
        };
        let cells = zones.cell.len();
        let mut smoky = vec![false; cells];
        for c in 0..cells {
            let n = zones.active[c] as f32;
            let z = zones.cell[c];
            if n < 4.0 || z == NO_ZONE {
                continue;
            }
            let y = st.y_sum[c] as f32 / n;
            let grad = st.grad_sum[c] as f32 / n;
            let chroma = st.chroma_sum[c] as f32 / n;
            let contrast = grad / (y + 16.0);
            let mut is_smoky = false;
            self.ratio[c] = 1.0;
            if warm && self.bg_grad[c] >= 4.0 && self.bg_contrast[c] >= 0.08 {
                let ratio = contrast / self.bg_contrast[c];
                self.ratio[c] = ratio;
                let max_ratio = p.max_ratio.get(z as usize).copied().unwrap_or(BASE_RATIO);
                is_smoky = ratio <= max_ratio
                    && chroma <= 24.0
                    && chroma <= self.bg_chroma[c] + 8.0
                    && y <= 235.0
                    && y >= 0.7 * self.bg_y[c];
            }
            smoky[c] = is_smoky;
            let a = if is_smoky { alpha / 20.0 } else { alpha };
            self.bg_contrast[c] += a * (contrast - self.bg_contrast[c]);
            self.bg_grad[c] += a * (grad - self.bg_grad[c]);
            self.bg_y[c] += a * (y - self.bg_y[c]);
            self.bg_chroma[c] += a * (chroma - self.bg_chroma[c]);
        }
        smoky
    }
}

/// One smoke candidate region with its cues.
#[derive(Debug, Clone)]
pub struct SmokeRegion {
    pub region: CellRegion,
    /// Smoky cells, mean of the last three frames.
    pub cells: f32,
    /// Area now ÷ area at the start of the window (at least one cell).
    pub growth: f32,
    /// Cells the top edge rose over the window.
    pub rise: i32,
    /// Mean contrast ratio over the region (lower is thicker smoke).
    pub edge_ratio: f32,
    pub size_ok: bool,
    pub in_place_ok: bool,
    pub growing_ok: bool,
    /// The zone had an open incident (growth not required).
    pub sustaining: bool,
}

impl SmokeRegion {
    pub fn hit(&self) -> bool {
        self.size_ok && (self.sustaining || (self.in_place_ok && self.growing_ok))
    }

    pub fn cues(&self) -> Vec<&'static str> {
        let mut c = vec!["low_saturation", "edge_loss"];
        if self.in_place_ok {
            c.push("persistence");
        }
        if self.growth >= 1.1 {
            c.push("growth");
        }
        if self.rise >= 1 {
            c.push("rising");
        }
        c
    }

    pub fn score(&self, min_cells: f32) -> f32 {
        let a = (self.cells / (4.0 * min_cells.max(1.0))).min(1.0);
        let e = (1.0 - self.edge_ratio).clamp(0.0, 1.0);
        (0.4 + 0.3 * a + 0.3 * e).min(1.0)
    }
}

/// Finds smoke regions from the smoky bits in `hist`.
pub fn find(
    hist: &History,
    grid: &Grid,
    zones: &ZoneMap,
    model: &SmokeModel,
    p: &SmokeParams,
    open: &[bool],
) -> Vec<SmokeRegion> {
    let persist = hist.frames_within(PERSIST_S).max(1);
    let window = hist.frames_within(WINDOW_S);
    if persist < 5 || window < 6 {
        return Vec::new();
    }
    let need = (persist as f32 * 0.5).ceil() as u32;
    let mask = if persist >= 32 {
        u32::MAX
    } else {
        (1u32 << persist) - 1
    };
    let candidate: Vec<bool> = hist
        .smoky
        .iter()
        .map(|bits| bits & 0b111 != 0 && (bits & mask).count_ones() >= need)
        .collect();
    let mut out = Vec::new();
    for region in group(grid, &candidate, &zones.cell, 1) {
        let z = region.zone as usize;
        let Some(&min_cells) = p.min_cells.get(z) else {
            continue;
        };
        let sustaining = open.get(z).copied().unwrap_or(false);
        let count = |age: usize| {
            region
                .cells
                .iter()
                .filter(|&&c| hist.smoky[c] >> age & 1 == 1)
                .count() as f32
        };
        let top = |age: usize| {
            region
                .cells
                .iter()
                .filter(|&&c| hist.smoky[c] >> age & 1 == 1)
                .map(|&c| (c / grid.gw) as i32)
                .min()
        };
        let now = (count(0) + count(1) + count(2)) / 3.0;
        let then = (count(window - 1) + count(window - 2) + count(window - 3)) / 3.0;
        let rise = match (top(window - 1), top(0)) {
            (Some(a), Some(b)) => a - b,
            _ => 0,
        };
        let growth = now / then.max(1.0);
        let edge_ratio = region.cells.iter().map(|&c| model.ratio[c]).sum::<f32>()
            / region.cells.len().max(1) as f32;
        let relax = if sustaining { 0.5 } else { 1.0 };
        out.push(SmokeRegion {
            size_ok: now >= min_cells * relax,
            in_place_ok: then >= 0.25 * now,
            growing_ok: growth >= 1.1 || rise >= 1,
            sustaining,
            region,
            cells: now,
            growth,
            rise,
            edge_ratio,
        });
    }
    out
}
