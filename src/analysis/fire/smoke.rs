//! Smoke: regions that turn grey and soft, growing where they stand.
//!
//! Smoke is a veil: each pixel becomes `(1 − a)·background + a·grey`. That
//! shrinks the background's edges and pulls its colour towards grey, while a
//! change of lighting scales edges and brightness together. So each cell keeps
//! a slow background of its *contrast* (mean gradient ÷ (mean luma + 16),
//! which lighting changes leave roughly alone), luma and chroma, and a cell is
//! *smoky* in a frame when
//!
//! - its background had texture to lose (mean gradient ≥ 6 grey levels and
//!   contrast ≥ 0.1),
//! - its contrast fell to at most the zone's ratio of the background's (0.6 at
//!   sensitivity 0.5), or it turned at least 4 grey levels lighter (the
//!   *veil*) without warming and without gaining more texture than a quarter
//!   of that lift (a bright plume's own wisps over a dark, flat wall),
//! - it is low in chroma (≤ 24) and no more colourful than its background + 8,
//! - it is neither glare (mean luma ≤ 235) nor a deep shadow (mean luma ≥ 0.7 ×
//!   background).
//!
//! Candidate cells are smoky in 70 % of the frames of the last [`PERSIST_S`]
//! seconds and in one of the last three; nearby candidates of one zone form a
//! region. Over the last [`WINDOW_S`] seconds a region *hits* when it is large
//! enough, was partly there a second ago (at least 15 % of its area now:
//! things that arrive whole, such as a person stepping in or a headlight
//! beam, are not smoke), has grown by 10 % over the window or risen by at
//! least one cell, and is not a flame's glow (a region round a flame
//! candidate with a fifth or more of it below the flame's base: glow spreads
//! all round a flame, smoke rises from it). While the zone has an open smoke incident a
//! region of half the minimum area keeps it alive.
//!
//! To *open* an incident a hitting region must also churn inside (wisps
//! moving both ways, against the camera's churn noise learnt over a minute;
//! `smoke_churn`) or have lost its edges, must not [slide](slide) sideways
//! (both side edges moving the same way: a vehicle or its light; or, see
//! [`objects`](super::objects), a rigid band matching itself shifted, or one
//! edge running at vehicle speed while the region does not rise), and must
//! not be [lit, not veiled](lit_not_veiled) (a textured patch whose texture
//! and contrast kept up with its brightness: sun through cloud), nor lit by
//! the [light fit](super::light) (its pixels, flat ground included,
//! brightened in proportion to their background, where a veil brightens
//! the dark ones most).
//!
//! The background starts as each cell's median over the first two seconds (so
//! people passing by leave no ghost), then follows the scene with a time
//! constant of [`BACKGROUND_TAU_S`] seconds, twenty times slower where a cell
//! looks smoky, so smoke is not learnt as background.
//!
//! People and vehicles are not smoke. Besides sharp motion (below), the
//! analyzer asks the COCO detector, when it has one, where people and
//! vehicles are: cells under one during the warm-up hold them in its median
//! (a group standing and talking), so they are [relearnt](SmokeModel::relearn):
//! not smoky, and learnt [`RELEARN_TAU_S`] fast once nothing moved on them for
//! 1.5 s, until they have been learnt for [`RELEARN_S`]; and cells under one when a smoke alert is about to open are
//! not smoke candidates ([`find`]'s `excluded`).

use super::features::{CellStats, Grid, History, ZoneMap, NO_ZONE};
use super::light::{LightFit, LightModel};
use super::objects::{
    candidate_span, entering, rigid_shift, running_edge, soft_rise, was_candidate, ARRIVAL_S, RUN_S,
};
use super::regions::{group, CellRegion};

/// Seconds a cell must stay smoky (70 % of its frames) to be a candidate.
pub const PERSIST_S: f64 = 1.0;
/// Seconds of history the region cues look at.
pub const WINDOW_S: f64 = 2.0;
/// Largest share of a smoke region that may lie below a flame it surrounds.
pub const MAX_BELOW_FLAME: f32 = 0.2;
/// Seconds back at which part of a smoke region must already have been
/// there, and over which it must have grown or risen.
pub const LAG_S: f64 = 1.0;
/// Time constant of the background, seconds.
pub const BACKGROUND_TAU_S: f64 = 60.0;
/// Seconds of frames whose per-cell median is the first background.
pub const WARMUP_S: f64 = 2.0;
/// Most warm-up frames kept for the median.
pub const WARMUP_MAX_FRAMES: usize = 64;
/// Texture a background cell needs before losing it counts (mean gradient,
/// grey levels; and contrast): below this, "edges" are sensor noise.
pub const MIN_TEXTURE_GRAD: f32 = 6.0;
pub const MIN_TEXTURE_CONTRAST: f32 = 0.1;
/// Contrast ratio at sensitivity 0.5.
pub const BASE_RATIO: f32 = 0.6;
/// Brightening (grey levels over the background) of a veiled cell at sensitivity 0.5.
pub const VEIL_LIFT: f32 = 4.0;
/// Gradient a veil may add per grey level of brightening: a thick plume over
/// a dark, flat wall brings its own wisps, so a bright veil may gain some
/// texture (a quarter of its lift) and still count.
pub const VEIL_TEXTURE: f32 = 0.25;
/// Frames (bit 0 this one, bit k the one k frames before) in which sharp
/// motion makes a cell not smoky: this one and the 3 before.
pub const MOTION_HOLD_MASK: u32 = 0b1111;
/// A change of a cell's mean luma between two frames this large is a jump.
pub const JUMP_Y: f32 = 6.0;
/// Seconds of stillness after which a relearnt cell (a person or vehicle
/// stood on it during the warm-up) is judged again.
pub const RELEARN_S: f64 = 1.5;
/// Time constant, seconds, at which a relearnt cell's background follows it.
pub const RELEARN_TAU_S: f64 = 0.3;
/// Frames (bit k: k frames ago) with no sharp motion before a relearnt cell
/// learns: the last 15 (1.5 s at 10 fps), longer than a walker takes to
/// cross a cell.
pub const RELEARN_QUIET_MASK: u32 = 0x7fff;

/// Least churn floor, grey levels per pixel: a clean (or heavily
/// compressed) picture whose background does not change at all still needs
/// this much churn (twice it, [`CHURN_K`], to churn).
pub const CHURN_MIN_FLOOR: f32 = 0.2;
/// A cell *churns* in a frame when its churn is at least this many times the
/// floor.
pub const CHURN_K: f32 = 2.0;

/// Background gradient (grey levels) a cell needs for its texture follow.
pub const MIN_FOLLOW_GRAD: f32 = 2.0;

/// Least mean texture follow, and contrast ratio, of a lit patch: its
/// texture kept at least this share of the proportion by which its
/// brightness rose (the real footage's sunlit patches 0.95-0.98, contrast
/// 0.95-0.98; the generated plumes' median 0.55-0.90).
pub const LIT_FOLLOW: f32 = 0.93;

/// A region is *lit, not veiled* when at least [`MIN_TEXTURED_CELLS`] of
/// its cells, and half of them, are textured, and both its mean texture
/// follow and its textured cells' mean contrast ratio (contrast now ÷ the
/// background's) are at least [`LIT_FOLLOW`]: light fell on it (sun through
/// cloud, a lamp), scaling its texture with its brightness and keeping its
/// contrast, where smoke would have lowered both.
pub fn lit_not_veiled(textured: usize, cells: usize, tex_follow: f32, contrast: f32) -> bool {
    textured >= MIN_TEXTURED_CELLS
        && textured * 2 >= cells
        && tex_follow >= LIT_FOLLOW
        && contrast >= LIT_FOLLOW
}

/// Time constant, seconds, over which the camera's churn noise is learnt.
pub const CHURN_NOISE_TAU_S: f64 = 60.0;

/// Least share of a smoke region's cells that must churn before it opens
/// an incident (see [`SmokeRegion::churn`]).
pub const MIN_CHURN: f32 = 0.3;

/// A region whose textured cells (at least [`MIN_TEXTURED_CELLS`]) kept at
/// most this share of their background's contrast has lost its edges, which
/// a change of light never does (it scales edges with brightness), so it
/// needs no churn to open.
pub const MAX_TEXTURED_RATIO: f32 = 0.7;
pub const MIN_TEXTURED_CELLS: usize = 3;

/// Cells (per [`LAG_S`]) by which both side edges of a region must have
/// moved the same way for it to be *sliding*: a vehicle or anything rigid
/// crossing the view moves both, while smoke grows where it stands (its
/// edges move apart, or one stays at the source). 4 cells are 5 % of the
/// frame's width per second; the generated plumes' edges move at most 3.
pub const MIN_SLIDE: i32 = 4;

/// Left and right column of the cells that were smoky `age` frames ago,
/// within the cell box `(x0, y0, x1, y1)` (inclusive); `None` when none was.
pub fn smoky_span(
    smoky: &[u32],
    gw: usize,
    bbox: (usize, usize, usize, usize),
    age: usize,
) -> Option<(usize, usize)> {
    candidate_span(smoky, gw, bbox, age, 1, 1)
}

/// Smoky cells `age` frames ago per column of the cell box `(x0, y0, x1,
/// y1)` (inclusive), from column `x0` on.
pub fn column_counts(
    smoky: &[u32],
    gw: usize,
    (x0, y0, x1, y1): (usize, usize, usize, usize),
    age: usize,
) -> Vec<u16> {
    (x0..=x1)
        .map(|x| {
            (y0..=y1)
                .filter(|&y| {
                    smoky
                        .get(y * gw + x)
                        .is_some_and(|&b| was_candidate(b, age, 1, 1))
                })
                .count() as u16
        })
        .collect()
}

/// How far a region slid sideways from span `before` to span `now` (left
/// and right columns): the smaller of its two edges' moves when both moved
/// the same way (positive to the right), else 0.
pub fn slide(before: (usize, usize), now: (usize, usize)) -> i32 {
    let l = now.0 as i32 - before.0 as i32;
    let r = now.1 as i32 - before.1 as i32;
    if l != 0 && l.signum() == r.signum() {
        l.signum() * l.abs().min(r.abs())
    } else {
        0
    }
}

/// Per-zone thresholds.
#[derive(Debug, Clone)]
pub struct SmokeParams {
    /// Most contrast (÷ background contrast) a smoky cell keeps, per zone.
    pub max_ratio: Vec<f32>,
    /// Least region size in cells, per zone.
    pub min_cells: Vec<f32>,
    /// A region must churn (or have lost its edges) to open an incident
    /// (`smoke_churn`).
    pub need_churn: bool,
}

/// The per-cell slow background and the smoky verdict.
pub struct SmokeModel {
    bg_contrast: Vec<f32>,
    bg_grad: Vec<f32>,
    bg_y: Vec<f32>,
    bg_chroma: Vec<f32>,
    bg_warm: Vec<f32>,
    /// Last frame's contrast ratio per cell (1 where not measured).
    pub ratio: Vec<f32>,
    /// Whether the last frame's ratio was measured (the background had texture).
    pub measured: Vec<bool>,
    cue: Vec<Cue>,
    prev_y: Vec<f32>,
    /// Per cell, bit `k` set when its mean luma jumped `k` frames ago.
    jumps: Vec<u32>,
    started: Option<f64>,
    /// Per-cell [luma, gradient, chroma, warmth, contrast] of the warm-up frames.
    warmup: Vec<Vec<[f32; 5]>>,
    last_t: f64,
    frames: u32,
    /// Reused buffer for the median lift.
    scratch: Vec<f32>,
    /// The last frame's median gain of luma over the background.
    pub gain: f32,
    /// Cells in sharp motion in the last frame (grown by one cell).
    pub moving_now: Vec<bool>,
    /// Per cell, seconds of stillness still needed before a relearnt cell
    /// (see [`SmokeModel::relearn`]) is judged again; 0 for the others.
    relearn: Vec<f32>,
    /// Per cell, the last frame's churn (grey levels per pixel, see
    /// [`Extractor::churn`](super::features::Extractor::churn)).
    pub churn: Vec<f32>,
    /// The last frame's churn floor: the zones' lower quartile of churn
    /// (what noise and compression make here), at least [`CHURN_MIN_FLOOR`].
    pub churn_floor: f32,
    churn_q25: f32,
    /// The camera's churn noise: the frames' lower quartile of churn,
    /// averaged with a [`CHURN_NOISE_TAU_S`] time constant (0 until learnt).
    pub churn_noise: f32,
    /// Cells whose churn was at least [`CHURN_K`] × the floor in the last frame.
    pub churny: Vec<bool>,
    /// Per cell, the last frame's *texture follow*: its gradient's gain over
    /// the background ÷ its brightness's gain (0 where the background has
    /// less than [`MIN_FOLLOW_GRAD`] of gradient). Light falling on a
    /// surface multiplies both (about 1); a veil adds light and lowers the
    /// gradient (below 1).
    pub tex_follow: Vec<f32>,
    /// The per-pixel background and the candidate cells' light fits.
    pub light: LightModel,
    /// Per cell, the rate (0..1) at which the last frame was learnt into
    /// the background (0 during the warm-up and outside the zones).
    rate: Vec<f32>,
    last_dt: f64,
}

impl SmokeModel {
    pub fn new(cells: usize) -> SmokeModel {
        SmokeModel {
            bg_contrast: vec![0.0; cells],
            bg_grad: vec![0.0; cells],
            bg_y: vec![0.0; cells],
            bg_chroma: vec![0.0; cells],
            bg_warm: vec![0.0; cells],
            ratio: vec![1.0; cells],
            measured: vec![false; cells],
            cue: vec![Cue::None; cells],
            prev_y: vec![0.0; cells],
            jumps: vec![0; cells],
            started: None,
            warmup: Vec::new(),
            last_t: 0.0,
            frames: 0,
            scratch: Vec::new(),
            gain: 1.0,
            moving_now: Vec::new(),
            relearn: vec![0.0; cells],
            churn: vec![0.0; cells],
            churn_floor: CHURN_MIN_FLOOR,
            churn_q25: 0.0,
            churn_noise: 0.0,
            churny: vec![false; cells],
            tex_follow: vec![0.0; cells],
            light: LightModel::new(cells),
            rate: vec![0.0; cells],
            last_dt: 0.0,
        }
    }

    /// Distrusts the background of `cells` (a person or vehicle stood there
    /// while it was learnt): each is not smoky, and its background follows
    /// it quickly, until it has been still for [`RELEARN_S`] after the
    /// warm-up.
    pub fn relearn(&mut self, cells: impl IntoIterator<Item = usize>) {
        for c in cells {
            if let Some(r) = self.relearn.get_mut(c) {
                *r = RELEARN_S as f32;
            }
        }
    }

    /// Whether the warm-up (the first background) is over.
    pub fn learnt(&self, t: f64) -> bool {
        self.started.is_some_and(|s| t - s >= WARMUP_S)
    }

    /// Seconds since the first frame (0 before it).
    pub fn age(&self, t: f64) -> f64 {
        self.started.map_or(0.0, |s| t - s)
    }

    /// Cells still being relearnt.
    pub fn relearning(&self) -> usize {
        self.relearn.iter().filter(|r| **r > 0.0).count()
    }

    /// Judges each cell of the frame at time `t`, then updates the
    /// background. `near_flame` marks cells lit by a flame candidate, where
    /// brightening is the flame's glow, not smoke.
    #[allow(clippy::too_many_arguments)]
    pub fn update(
        &mut self,
        t: f64,
        st: &CellStats,
        zones: &ZoneMap,
        p: &SmokeParams,
        near_flame: &[bool],
        moving: &[u32],
        churn: Option<(&[u32], &[i32])>,
    ) -> Vec<bool> {
        let started = *self.started.get_or_insert(t);
        let learnt = t - started >= WARMUP_S;
        let dt = (t - self.last_t).clamp(0.0, 5.0);
        self.last_t = t;
        self.last_dt = dt;
        self.frames += 1;
        if learnt && !self.warmup.is_empty() {
            self.learn_warmup();
        }
        let alpha = (dt / BACKGROUND_TAU_S) as f32;
        let cells = zones.cell.len();
        if !learnt && self.warmup.len() < WARMUP_MAX_FRAMES {
            self.warmup.push(
                (0..cells)
                    .map(|c| {
                        let n = zones.active[c].max(1) as f32;
                        let y = st.y_sum[c] as f32 / n;
                        let grad = st.grad_sum[c] as f32 / n;
                        [
                            y,
                            grad,
                            st.chroma_sum[c] as f32 / n,
                            st.warm_sum[c] as f32 / n,
                            grad / (y + 16.0),
                        ]
                    })
                    .collect(),
            );
        }
        // The scene's own change of light (auto exposure, clouds, dusk): the
        // median gain of the zones' cells over their background. A veil is
        // judged by how much a cell lifted beyond that gain: smoke is local,
        // a change of light is everywhere (and lifts bright things most).
        let gain = if learnt {
            self.scratch.clear();
            self.scratch.extend((0..cells).filter_map(|c| {
                let n = zones.active[c] as f32;
                (n >= 4.0 && zones.cell[c] != NO_ZONE && self.bg_y[c] >= 16.0)
                    .then(|| st.y_sum[c] as f32 / n / self.bg_y[c])
            }));
            let mid = self.scratch.len() / 2;
            if self.scratch.is_empty() {
                1.0
            } else {
                self.scratch
                    .select_nth_unstable_by(mid, f32::total_cmp)
                    .1
                    .clamp(0.5, 2.0)
            }
        } else {
            1.0
        };
        self.gain = gain;
        // Sharp motion this frame, grown by one cell each way: a mover's
        // plain-coloured middle changes little, its edges a lot.
        let gw = zones.gw.max(1);
        let raw: Vec<bool> = (0..cells)
            .map(|c| st.moved[c] >= (zones.active[c] / 4).max(3))
            .collect();
        let mut cur_moving = vec![false; cells];
        for (c, m) in raw.iter().enumerate() {
            if !m {
                continue;
            }
            let (x, y) = ((c % gw) as i64, (c / gw) as i64);
            for ny in y - 1..=y + 1 {
                for nx in x - 1..=x + 1 {
                    if nx >= 0 && ny >= 0 && (nx as usize) < gw {
                        if let Some(v) = cur_moving.get_mut(ny as usize * gw + nx as usize) {
                            *v = true;
                        }
                    }
                }
            }
        }
        self.moving_now.clone_from(&cur_moving);
        self.measure_churn(zones, churn, learnt, dt);
        let mut smoky = vec![false; cells];
        self.rate.iter_mut().for_each(|r| *r = 0.0);
        // `c` indexes several parallel per-cell arrays.
        #[allow(clippy::needless_range_loop)]
        for c in 0..cells {
            let n = zones.active[c] as f32;
            let z = zones.cell[c];
            if n < 4.0 || z == NO_ZONE {
                continue;
            }
            let y = st.y_sum[c] as f32 / n;
            let grad = st.grad_sum[c] as f32 / n;
            let chroma = st.chroma_sum[c] as f32 / n;
            let warm = st.warm_sum[c] as f32 / n;
            let contrast = grad / (y + 16.0);
            self.tex_follow[c] =
                if self.bg_grad[c] >= MIN_FOLLOW_GRAD && y > 0.0 && self.bg_y[c] > 0.0 {
                    (grad / self.bg_grad[c]) / (y / self.bg_y[c])
                } else {
                    0.0
                };
            // Brightness jumps between frames: blinking lights, flame glow.
            let jump = self.frames > 1 && (y - self.prev_y[c]).abs() >= JUMP_Y;
            self.jumps[c] = (self.jumps[c] << 1) | jump as u32;
            self.prev_y[c] = y;
            let jumpy = (self.jumps[c] & 0x7fff).count_ones() >= 3;
            // Sharp motion (people, vehicles) in this frame or the last few
            // (MOTION_HOLD_MASK): not smoke, and not learnt into the
            // background either.
            let cur = cur_moving[c];
            let m = (moving.get(c).copied().unwrap_or(0) << 1) | cur as u32;
            let moved_now = m & MOTION_HOLD_MASK != 0;
            let mut cue = Cue::None;
            self.ratio[c] = 1.0;
            self.measured[c] = false;
            let grey = chroma <= 24.0 && chroma <= self.bg_chroma[c] + 8.0 && y <= 235.0;
            let relearning = self.relearn[c] > 0.0;
            if learnt && grey && !jumpy && !moved_now && !relearning {
                let max_ratio = p.max_ratio.get(z as usize).copied().unwrap_or(BASE_RATIO);
                if self.bg_grad[c] >= MIN_TEXTURE_GRAD
                    && self.bg_contrast[c] >= MIN_TEXTURE_CONTRAST
                {
                    let ratio = contrast / self.bg_contrast[c];
                    self.ratio[c] = ratio;
                    self.measured[c] = true;
                    if ratio <= max_ratio && y >= 0.7 * self.bg_y[c] {
                        cue = Cue::EdgeLoss;
                    }
                }
                // The veil: brighter and greyer, with no edges gained. The
                // brightening needed grows as the sensitivity falls.
                let lift = VEIL_LIFT * (1.0 - max_ratio) / (1.0 - BASE_RATIO);
                let dy = y - gain * self.bg_y[c];
                if cue == Cue::None
                    && !near_flame.get(c).copied().unwrap_or(false)
                    && dy >= lift
                    && warm - self.bg_warm[c] <= (0.5 * dy).max(1.5)
                    && grad <= 1.1 * self.bg_grad[c] + 1.0 + VEIL_TEXTURE * dy
                    && chroma <= self.bg_chroma[c] + 4.0
                {
                    cue = Cue::Veil;
                }
            }
            smoky[c] = cue != Cue::None;

            self.cue[c] = cue;
            if !learnt {
                continue;
            }
            let a = if relearning {
                // A person's ghost: follow the ground quickly once nothing
                // has moved on it for a while (a walker's plain-coloured
                // middle does not move sharply, its edges did); hold until then.
                if m & RELEARN_QUIET_MASK != 0 {
                    0.0
                } else {
                    self.relearn[c] = (self.relearn[c] - dt as f32).max(0.0);
                    (dt / RELEARN_TAU_S).min(1.0) as f32
                }
            } else if smoky[c] || moved_now {
                alpha / 20.0
            } else {
                alpha
            };
            if let Some(r) = self.rate.get_mut(c) {
                *r = a;
            }
            self.bg_contrast[c] += a * (contrast - self.bg_contrast[c]);
            self.bg_grad[c] += a * (grad - self.bg_grad[c]);
            self.bg_y[c] += a * (y - self.bg_y[c]);
            self.bg_chroma[c] += a * (chroma - self.bg_chroma[c]);
            self.bg_warm[c] += a * (warm - self.bg_warm[c]);
        }
        // Half a zone or more turning smoky at once is a change of lighting
        // (exposure step, lights switched), not smoke.
        let zones_n = zones
            .cell
            .iter()
            .filter(|z| **z != NO_ZONE)
            .map(|z| *z as usize + 1)
            .max()
            .unwrap_or(0);
        let mut total = vec![0usize; zones_n];
        let mut hit = vec![0usize; zones_n];
        for (c, z) in zones.cell.iter().enumerate() {
            if *z != NO_ZONE {
                total[*z as usize] += 1;
                hit[*z as usize] += smoky[c] as usize;
            }
        }
        for (c, z) in zones.cell.iter().enumerate() {
            if *z != NO_ZONE && hit[*z as usize] * 2 > total[*z as usize] {
                smoky[c] = false;
                self.cue[c] = Cue::None;
            }
        }
        smoky
    }

    /// Feeds the frame's analysis luma to the [light fit](super::light):
    /// warm-up samples first, then the fits of the cells `smoky` marks (and
    /// those smoky in the last few frames) and the per-pixel background,
    /// learnt at the rate [`update`](Self::update) just learnt each cell.
    pub fn fit_light(&mut self, t: f64, grid: &Grid, luma: &[u8], zones: &ZoneMap, smoky: &[bool]) {
        if self.learnt(t) {
            self.light
                .update(luma, grid, zones, smoky, &self.rate, self.last_dt);
        } else {
            self.light.warmup(luma, self.age(t), WARMUP_S);
        }
    }

    /// Each cell's churn in the last frame, the zones' floor of it, and which
    /// cells churned well above that floor.
    fn measure_churn(
        &mut self,
        zones: &ZoneMap,
        churn: Option<(&[u32], &[i32])>,
        learnt: bool,
        dt: f64,
    ) {
        self.churny.iter_mut().for_each(|c| *c = false);
        let Some((abs, sum)) = churn else {
            self.churn.iter_mut().for_each(|c| *c = 0.0);
            return;
        };
        self.scratch.clear();
        for (c, out) in self.churn.iter_mut().enumerate() {
            let n = zones.active.get(c).copied().unwrap_or(0) as f32;
            let (Some(&a), Some(&s)) = (abs.get(c), sum.get(c)) else {
                *out = 0.0;
                continue;
            };
            *out = if n >= 4.0 && zones.cell[c] != NO_ZONE {
                (a as f32 - s.unsigned_abs() as f32) / n
            } else {
                0.0
            };
            if n >= 4.0
                && zones.cell[c] != NO_ZONE
                && !self.moving_now.get(c).copied().unwrap_or(false)
            {
                self.scratch.push(*out);
            }
        }
        let q = self.scratch.len() / 4;
        self.churn_q25 = if self.scratch.is_empty() {
            0.0
        } else {
            *self.scratch.select_nth_unstable_by(q, f32::total_cmp).1
        };
        if learnt {
            if self.churn_noise <= 0.0 {
                self.churn_noise = self.churn_q25;
            } else {
                let a = (dt / CHURN_NOISE_TAU_S).min(1.0) as f32;
                self.churn_noise += a * (self.churn_q25 - self.churn_noise);
            }
        }
        self.churn_floor = self.churn_noise.max(CHURN_MIN_FLOOR);
        let need = CHURN_K * self.churn_floor;
        for (y, c) in self.churny.iter_mut().zip(&self.churn) {
            *y = *c >= need;
        }
    }

    /// Sets the background to each cell's median over the warm-up frames,
    /// so people passing by while it is learnt leave no trace.
    fn learn_warmup(&mut self) {
        let frames = std::mem::take(&mut self.warmup);
        let mut v: Vec<f32> = Vec::with_capacity(frames.len());
        for c in 0..self.bg_y.len() {
            let mut median = |k: usize| {
                v.clear();
                v.extend(frames.iter().map(|f| f[c][k]));
                v.sort_by(f32::total_cmp);
                v[v.len() / 2]
            };
            self.bg_y[c] = median(0);
            self.bg_grad[c] = median(1);
            self.bg_chroma[c] = median(2);
            self.bg_warm[c] = median(3);
            self.bg_contrast[c] = median(4);
        }
    }

    #[doc(hidden)]
    pub fn inspect(&self, c: usize) -> [f32; 4] {
        [
            self.bg_y[c],
            self.bg_grad[c],
            self.bg_chroma[c],
            self.jumps[c].count_ones() as f32,
        ]
    }

    /// Which cue made the cell smoky in the last frame.
    pub fn cue(&self, cell: usize) -> Cue {
        self.cue.get(cell).copied().unwrap_or(Cue::None)
    }
}

/// Why a cell looked smoky.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cue {
    None,
    /// Its texture faded.
    EdgeLoss,
    /// It turned lighter and greyer without gaining edges.
    Veil,
}

/// One smoke candidate region with its cues.
#[derive(Debug, Clone)]
pub struct SmokeRegion {
    pub region: CellRegion,
    /// Smoky cells, mean of the last three frames.
    pub cells: f32,
    /// Area now ÷ area [`LAG_S`] ago (at least one cell).
    pub growth: f32,
    /// Smoky cells [`LAG_S`] ago, mean of three frames.
    pub before: f32,
    /// Cells the top edge rose over [`LAG_S`].
    pub rise: i32,
    /// Mean contrast ratio over the region (lower is thicker smoke).
    pub edge_ratio: f32,
    /// Cells of the region over a textured background (contrast measured),
    /// and their mean contrast ratio (1 when there are none).
    pub textured_cells: usize,
    pub textured_ratio: f32,
    /// Cells smoky by edge loss and by veil in the last frame.
    pub edge_cells: usize,
    pub veil_cells: usize,
    /// Share of the region below the bottom of a flame candidate it surrounds
    /// (0 when it surrounds none).
    pub below_flame: f32,
    /// Share of the region's cells that moved sharply (a quarter of their
    /// pixels changing by the change threshold in one frame) in the last
    /// [`LAG_S`] seconds: people and vehicles do, smoke does not.
    pub motion: f32,
    /// Share of the region's cells that churned (see [`SmokeModel::churny`])
    /// in at least a third of the frames of the last [`PERSIST_S`] seconds.
    pub churn: f32,
    /// The region's mean churn in the last frame ÷ the churn floor.
    pub churn_level: f32,
    /// Cells both side edges moved the same way over [`LAG_S`] (positive to
    /// the right; see [`slide`]).
    pub drift: f32,
    /// Mean [texture follow](SmokeModel::tex_follow) over the region's cells
    /// with some texture, and how many there were.
    pub tex_follow: f32,
    pub tex_n: usize,
    /// The region's pooled [light fit](super::light::LightFit).
    pub light: LightFit,
    pub size_ok: bool,
    pub in_place_ok: bool,
    pub growing_ok: bool,
    pub churn_ok: bool,
    /// The region did not slide sideways (see [`MIN_SLIDE`]).
    pub still_ok: bool,
    /// The region is not a textured patch lit up (see [`lit_not_veiled`])
    /// nor lit by the [light fit](super::light::LightFit::lit).
    pub lit_ok: bool,
    /// The zone had an open incident (growth not required).
    pub sustaining: bool,
}

impl SmokeRegion {
    pub fn hit(&self) -> bool {
        self.size_ok
            && !self.is_glow()
            && (self.sustaining
                || (self.in_place_ok
                    && self.growing_ok
                    && self.churn_ok
                    && self.still_ok
                    && self.lit_ok))
    }

    /// The region is a flame's glow: it surrounds a flame candidate and
    /// reaches well below the flame's base, where smoke, rising from the
    /// fire, does not go.
    pub fn is_glow(&self) -> bool {
        self.below_flame >= MAX_BELOW_FLAME
    }

    pub fn cues(&self) -> Vec<&'static str> {
        let mut c = vec!["low_saturation"];
        if self.edge_cells > 0 {
            c.push("edge_loss");
        }
        if self.veil_cells > 0 {
            c.push("veil");
        }
        if self.in_place_ok {
            c.push("persistence");
        }
        if self.growth >= 1.1 {
            c.push("growth");
        }
        if self.rise >= 1 {
            c.push("rising");
        }
        if self.churn >= MIN_CHURN {
            c.push("churn");
        }
        c
    }

    pub fn score(&self, min_cells: f32) -> f32 {
        let a = (self.cells / (4.0 * min_cells.max(1.0))).min(1.0);
        let e = (1.0 - self.edge_ratio).clamp(0.0, 1.0);
        (0.4 + 0.3 * a + 0.3 * e).min(1.0)
    }
}

/// Finds smoke regions from the smoky bits in `hist`. Cells marked in
/// `excluded` (under a person or vehicle the COCO detector saw) are not
/// candidates.
#[allow(clippy::too_many_arguments)]
pub fn find(
    hist: &History,
    grid: &Grid,
    zones: &ZoneMap,
    model: &SmokeModel,
    p: &SmokeParams,
    open: &[bool],
    flames: &[CellRegion],
    excluded: &[bool],
) -> Vec<SmokeRegion> {
    let persist = hist.frames_within(PERSIST_S).max(1);
    let window = hist.frames_within(WINDOW_S);
    if persist < 5 || window < 6 {
        return Vec::new();
    }
    let need = (persist as f32 * 0.7).ceil() as u32;
    let mask = if persist >= 32 {
        u32::MAX
    } else {
        (1u32 << persist) - 1
    };
    let candidate: Vec<bool> = hist
        .smoky
        .iter()
        .enumerate()
        .map(|(c, bits)| {
            bits & 0b111 != 0
                && (bits & mask).count_ones() >= need
                && !excluded.get(c).copied().unwrap_or(false)
        })
        .collect();
    let mut out = Vec::new();
    for region in group(grid, &candidate, &zones.cell, 2) {
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
        // Smoke builds up: part of it was there `LAG_S` ago and it has grown
        // or risen since. Things that appear whole (a person stepping in or
        // out of view, a headlight beam) are either absent then or the same
        // size now, so they never pass both tests.
        let lag = hist.frames_within(LAG_S).clamp(3, window) - 1;
        let now = (count(0) + count(1) + count(2)) / 3.0;
        let before = (count(lag) + count(lag - 1) + count(lag - 2)) / 3.0;
        let rise = match (top(lag), top(0)) {
            (Some(a), Some(b)) => a - b,
            _ => 0,
        };
        let growth = now / before.max(1.0);
        let edge_ratio = region.cells.iter().map(|&c| model.ratio[c]).sum::<f32>()
            / region.cells.len().max(1) as f32;
        let relax = if sustaining { 0.5 } else { 1.0 };
        let (rx0, ry0, rx1, ry1) = region.bbox;
        let below_flame = flames
            .iter()
            .filter(|f| {
                let (fx, fy) = ((f.bbox.0 + f.bbox.2) / 2, (f.bbox.1 + f.bbox.3) / 2);
                fx + 2 >= rx0 && fx <= rx1 + 2 && fy + 2 >= ry0 && fy <= ry1 + 2
            })
            .map(|f| {
                region
                    .cells
                    .iter()
                    .filter(|&&c| c / grid.gw > f.bbox.3)
                    .count() as f32
                    / region.cells.len().max(1) as f32
            })
            .fold(0.0, f32::max);
        let textured: Vec<f32> = region
            .cells
            .iter()
            .filter(|&&c| model.measured[c])
            .map(|&c| model.ratio[c])
            .collect();
        let textured_ratio = if textured.is_empty() {
            1.0
        } else {
            textured.iter().sum::<f32>() / textured.len() as f32
        };
        let edge_cells = region
            .cells
            .iter()
            .filter(|&&c| model.cue(c) == Cue::EdgeLoss)
            .count();
        let veil_cells = region
            .cells
            .iter()
            .filter(|&&c| model.cue(c) == Cue::Veil)
            .count();
        let lag_mask = if lag + 1 >= 32 {
            u32::MAX
        } else {
            (1u32 << (lag + 1)) - 1
        };
        let motion = region
            .cells
            .iter()
            .filter(|&&c| hist.moving[c] & lag_mask != 0)
            .count() as f32
            / region.cells.len().max(1) as f32;
        let need_churn = (persist as u32).div_ceil(3);
        let churn = region
            .cells
            .iter()
            .filter(|&&c| (hist.churn[c] & mask).count_ones() >= need_churn)
            .count() as f32
            / region.cells.len().max(1) as f32;
        let churn_level = region.cells.iter().map(|&c| model.churn[c]).sum::<f32>()
            / region.cells.len().max(1) as f32
            / model.churn_floor.max(1e-3);
        // Sideways slide: the smoky cells' left and right edges in the
        // region's rows, now and `LAG_S` ago, in a band as wide again on
        // each side (a vehicle moves its whole length in a second or two).
        let (bx0, by0, bx1, by1) = region.bbox;
        let pad = (bx1 - bx0 + 1).max(MIN_SLIDE as usize * 2);
        let band = (
            bx0.saturating_sub(pad),
            by0,
            (bx1 + pad).min(grid.gw.saturating_sub(1)),
            by1,
        );
        let span_now = smoky_span(&hist.smoky, grid.gw, band, 0);
        let span_then = smoky_span(&hist.smoky, grid.gw, band, lag);
        let drift = match (span_then, span_now) {
            (Some(a), Some(b)) => {
                // A rigid band matches itself shifted; a vehicle's body
                // comes into view one end first (see `objects`).
                let rigid = rigid_shift(
                    &column_counts(&hist.smoky, grid.gw, band, lag),
                    &column_counts(&hist.smoky, grid.gw, band, 0),
                    pad,
                );
                let run_age = hist.frames_within(RUN_S).saturating_sub(1).max(1);
                let run = match (
                    candidate_span(&hist.smoky, grid.gw, region.bbox, run_age, persist, need),
                    candidate_span(&hist.smoky, grid.gw, region.bbox, 0, persist, need),
                ) {
                    (Some(a), Some(b)) => running_edge(a, b),
                    _ => 0,
                };
                // Only a rise by cells that turned smoky softly says smoke
                // (a car's window band joins its body under a hard edge).
                let arrival = hist.frames_within(ARRIVAL_S).clamp(1, 32) as u32;
                let soft = soft_rise(
                    top(lag),
                    &region.cells,
                    grid.gw,
                    &hist.smoky,
                    &hist.moving,
                    u32::MAX >> (32 - arrival),
                );
                let run = if entering(run, soft) { run } else { 0 };
                [slide(a, b), rigid, run]
                    .into_iter()
                    .max_by_key(|d| d.abs())
                    .unwrap_or(0)
            }
            _ => 0,
        } as f32;
        // Lit, not veiled: most of the region is textured, and its texture
        // rose in step with its brightness (light multiplies; a veil adds
        // and lowers the contrast).
        let (tf_sum, tex_n) = region
            .cells
            .iter()
            .map(|&c| model.tex_follow[c])
            .filter(|v| *v > 0.0)
            .fold((0.0f32, 0usize), |(s, n), v| (s + v, n + 1));
        let tex_follow = if tex_n == 0 {
            0.0
        } else {
            tf_sum / tex_n as f32
        };
        let lit = lit_not_veiled(
            textured.len(),
            region.cells.len(),
            tex_follow,
            textured_ratio,
        );
        // Lit, by the pixels: they brightened in proportion to their
        // background (flat ground included), where a veil lifts the dark
        // ones most.
        let light = model.light.region(&region.cells);
        out.push(SmokeRegion {
            drift,
            tex_follow,
            tex_n,
            light,
            motion,
            churn,
            churn_level,
            size_ok: now >= min_cells * relax,
            in_place_ok: before >= 1.0 && before >= 0.15 * now,
            growing_ok: growth >= 1.1 || rise >= 1,
            churn_ok: !p.need_churn
                || churn >= MIN_CHURN
                || (textured.len() >= MIN_TEXTURED_CELLS && textured_ratio <= MAX_TEXTURED_RATIO),
            still_ok: drift.abs() < MIN_SLIDE as f32,
            lit_ok: !lit && !light.lit(),
            sustaining,
            region,
            cells: now,
            growth,
            before,
            rise,
            edge_ratio,
            textured_cells: textured.len(),
            textured_ratio,
            edge_cells,
            veil_cells,
            below_flame,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_slides_only_when_both_edges_move_the_same_way() {
        // A car crossing to the right: both edges 6 cells on.
        assert_eq!(slide((10, 30), (16, 36)), 6);
        // To the left, the smaller move counts.
        assert_eq!(slide((20, 40), (15, 38)), -2);
        // A plume widening both ways, or growing from one fixed side.
        assert_eq!(slide((10, 14), (8, 17)), 0);
        assert_eq!(slide((10, 14), (10, 20)), 0);
    }

    #[test]
    fn smoky_span_reads_the_bits_of_the_given_age() {
        let gw = 8;
        let mut smoky = vec![0u32; gw * 2];
        smoky[3] = 0b01; // now
        smoky[5] = 0b01;
        smoky[gw + 1] = 0b10; // a frame ago
        assert_eq!(smoky_span(&smoky, gw, (0, 0, 7, 1), 0), Some((3, 5)));
        assert_eq!(smoky_span(&smoky, gw, (0, 0, 7, 1), 1), Some((1, 1)));
        assert_eq!(smoky_span(&smoky, gw, (0, 0, 7, 1), 2), None);
        // Out of the box's rows: not seen.
        assert_eq!(smoky_span(&smoky, gw, (0, 0, 7, 0), 1), None);
    }

    #[test]
    fn lit_not_veiled_needs_texture_that_kept_up_with_the_brightness() {
        // Sunlit textured wall: texture rose with the light.
        assert!(lit_not_veiled(10, 12, 0.97, 0.97));
        // A veil over the same wall lowers texture and contrast.
        assert!(!lit_not_veiled(10, 12, 0.75, 0.8));
        // A plume's own wisps can keep the gradient up, never the contrast.
        assert!(!lit_not_veiled(10, 12, 0.96, 0.72));
        // Mostly flat ground: the cue cannot tell, so it does not reject.
        assert!(!lit_not_veiled(3, 12, 0.99, 0.99));
        assert!(!lit_not_veiled(2, 2, 0.99, 0.99));
    }
}
