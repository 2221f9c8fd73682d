//! The smoke background: each cell's slow background of contrast, luma,
//! chroma and warmth (first the warm-up's median, then a slow follow, slower
//! where a cell looks smoky, fast where it is being relearnt), the per-frame
//! smoky verdict and its [`Cue`], sharp motion, the churn floor, and the
//! [light fit](super::super::light) fed with the same learning rates.

use super::super::features::{CellStats, Grid, ZoneMap, NO_ZONE};
use super::super::light::LightModel;
use super::{
    SmokeParams, BACKGROUND_TAU_S, BASE_RATIO, CHURN_K, CHURN_MIN_FLOOR, CHURN_NOISE_TAU_S, JUMP_Y,
    MIN_FOLLOW_GRAD, MIN_TEXTURE_CONTRAST, MIN_TEXTURE_GRAD, MOTION_HOLD_MASK, PROVE_S, PROVE_Y,
    RELEARN_QUIET_MASK, RELEARN_S, RELEARN_TAU_S, VEIL_LIFT, VEIL_TEXTURE, WARMUP_MAX_FRAMES,
    WARMUP_S,
};

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
    /// Per cell, whether its background was relearnt (see
    /// [`SmokeModel::relearn`]) and it has not been seen as steady bare
    /// ground since: seconds of its current steady spell, or a negative
    /// value once it has been (and for the cells never relearnt).
    unproven: Vec<f32>,
    /// Per cell, the last frame's churn (grey levels per pixel, see
    /// [`Extractor::churn`](super::super::features::Extractor::churn)).
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
            unproven: vec![-1.0; cells],
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
    /// warm-up. What it learns then may still be the people or their shade,
    /// so each stays [unproven](Self::unproven) until it is seen as steady
    /// bare ground.
    pub fn relearn(&mut self, cells: impl IntoIterator<Item = usize>) {
        for c in cells {
            if let (Some(r), Some(u)) = (self.relearn.get_mut(c), self.unproven.get_mut(c)) {
                *r = RELEARN_S as f32;
                *u = 0.0;
            }
        }
    }

    /// Whether `cell` was relearnt and has not since been seen as steady
    /// bare ground: for [`PROVE_S`] no sharp motion and its luma within
    /// [`PROVE_Y`] of the veil's lift of the background, ending in a frame
    /// where the COCO detector's answer (less than a second old) has nobody
    /// on or next to it (people standing by dim the ground too). A region
    /// made mostly of such cells does not open a smoke incident
    /// ([`MAX_UNPROVEN`](super::MAX_UNPROVEN)): their background may be the
    /// people who stood there or their shade, so the bare ground, lighter,
    /// reads as a veil.
    pub fn unproven(&self, cell: usize) -> bool {
        self.unproven.get(cell).is_some_and(|u| *u >= 0.0)
    }

    /// Cells relearnt and not yet seen as steady bare ground.
    pub fn unproven_cells(&self) -> usize {
        self.unproven.iter().filter(|u| **u >= 0.0).count()
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
    /// brightening is the flame's glow, not smoke; `seen`, when the COCO
    /// detector answered less than a second ago, the cells on or next to a
    /// person or vehicle in its answer (see [`unproven`](Self::unproven)).
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
        seen: Option<&[bool]>,
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
            // A relearnt cell is proven by a steady spell of ground that
            // agrees with what it learnt (see `unproven`) ...
            if learnt && !relearning && self.unproven[c] >= 0.0 {
                let max_ratio = p.max_ratio.get(z as usize).copied().unwrap_or(BASE_RATIO);
                let near = PROVE_Y * VEIL_LIFT * (1.0 - max_ratio) / (1.0 - BASE_RATIO);
                let steady = !moved_now && (y - gain * self.bg_y[c]).abs() <= near;
                // ... and that the COCO detector saw with nobody on or next to it.
                let bare = seen.is_some_and(|s| !s.get(c).copied().unwrap_or(true));
                self.unproven[c] = if !steady {
                    0.0
                } else if bare && self.unproven[c] + dt as f32 >= PROVE_S {
                    -1.0
                } else {
                    self.unproven[c] + dt as f32
                };
            }

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

    /// Feeds the frame's analysis luma to the [light fit](super::super::light):
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
