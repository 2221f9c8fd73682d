//! Light or veil, told pixel by pixel: the *light fit* of a smoke
//! candidate's cells against a learnt per-pixel background.
//!
//! A change of light (sun through cloud, a shadow leaving, a lamp) multiplies
//! each pixel of a surface by about the same gain: `I ≈ g·B` with `g` the
//! brightness's own ratio, so dark and bright pixels brighten in proportion.
//! A smoke veil adds light towards the smoke's grey: `I = (1 − a)·B + a·S`,
//! so the pixels' spread shrinks (`g = 1 − a < 1`) while the mean rises, and
//! dark pixels brighten more than bright ones.
//!
//! Per cell of a smoke candidate, over its pixels, the slope of `I` against
//! the background `B` (their covariance ÷ the background's variance, both
//! centred on the cell's own means, so a gain that varies slowly across a
//! patch, as at a sun patch's soft edge, does not bias it) is compared with
//! the ratio of their means. Their quotient is the region's *light follow*:
//! about 1 for light, `(1 − a)/(1 + a(S/B − 1))`, well below 1, for a veil.
//! Unlike the gradient's gain (the texture follow in [`smoke`](super::smoke)),
//! this needs no edges: sensor noise adds to a gradient's magnitude but not
//! to the covariance with a denoised background, so smooth ground with a
//! few grey levels of spread ([`MIN_SPREAD`]) is judged, the fit averaged
//! over the region's pixels and the last half second ([`FIT_TAU_S`]).
//! Truly flat ground (a grey level or two) is not: there a thin plume's own
//! wisps move the fit as much as light would, and the churn cue decides.
//!
//! The background is the analysis luma averaged per pixel: the median of
//! five frames spread over the smoke background's warm-up, then followed at
//! the rate the smoke model learns each cell (slow, slower still where a
//! cell looks smoky or something moved; fast where a person was relearnt).
//! Only cells that were smoky in the last second are fitted (a few dozen
//! per frame at most), so the cost is one pass over the learning pixels
//! and a few sums per candidate pixel.

use super::features::{Grid, ZoneMap, CELL, NO_ZONE};

/// Time constant, seconds, over which each cell's fit sums are averaged.
pub const FIT_TAU_S: f64 = 0.5;
/// Frames after a cell was last smoky during which it is still fitted.
pub const WATCH_FRAMES: u8 = 10;
/// Frames kept over the warm-up for the per-pixel median background.
pub const WARMUP_SAMPLES: usize = 5;
/// Least mean variance (grey levels², 3 grey levels of spread) of the
/// background's pixels round their cell's mean, over the region, for the
/// slope to mean anything. Over a flat wall (1-3 grey levels²) a thin
/// plume's own wisps, a grey level or two, move the covariance as much as
/// a change of light would: the generated night plume over a dark flat
/// wall (`fire_smoke-3029`) fits at 0.9-1.2 there, as a light patch does.
pub const MIN_SPREAD: f32 = 9.0;
/// Least brightening (the region's mean ratio of luma over its background)
/// for the fit to judge: a region that did not lighten is not a light patch.
pub const MIN_LIFT_RATIO: f32 = 1.02;
/// Least light follow of a region lit, not veiled (see [`LightFit::follow`]).
pub const LIT_FIT_FOLLOW: f32 = 0.9;
/// Least cells of a region fitted before the fit judges it.
pub const MIN_FIT_CELLS: usize = 3;

/// One cell's fit of its pixels' luma against their background, per pixel
/// and averaged over the last [`FIT_TAU_S`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CellFit {
    /// Covariance of luma and background, grey levels² per pixel.
    pub cov: f32,
    /// Variance of the background round the cell's mean, grey levels².
    pub var: f32,
    /// Mean luma and mean background.
    pub mean_i: f32,
    pub mean_b: f32,
    /// Whether the sums hold (the cell was fitted this frame).
    pub valid: bool,
}

/// One cell's fit sums over `(luma, background)` pixel pairs; `None` for
/// fewer than 4 pixels.
pub fn fit_cell(pairs: impl IntoIterator<Item = (f32, f32)>) -> Option<CellFit> {
    let (mut n, mut si, mut sb, mut sbb, mut sbi) = (0.0f32, 0.0, 0.0, 0.0, 0.0);
    for (i, b) in pairs {
        n += 1.0;
        si += i;
        sb += b;
        sbb += b * b;
        sbi += b * i;
    }
    if n < 4.0 {
        return None;
    }
    let (mi, mb) = (si / n, sb / n);
    Some(CellFit {
        cov: sbi / n - mb * mi,
        var: (sbb / n - mb * mb).max(0.0),
        mean_i: mi,
        mean_b: mb,
        valid: true,
    })
}

/// A region's fit: its cells' sums pooled.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LightFit {
    /// Cells fitted.
    pub cells: usize,
    /// Slope of luma against background inside the cells (pooled).
    pub slope: f32,
    /// Mean luma ÷ mean background.
    pub ratio: f32,
    /// Mean background variance per pixel round its cell's mean.
    pub spread: f32,
}

impl LightFit {
    /// Pools the fits of a region's cells (the invalid ones are skipped).
    pub fn pool<'a>(fits: impl IntoIterator<Item = &'a CellFit>) -> LightFit {
        let (mut n, mut cov, mut var, mut mi, mut mb) = (0usize, 0.0f32, 0.0, 0.0, 0.0);
        for f in fits.into_iter().filter(|f| f.valid) {
            n += 1;
            cov += f.cov;
            var += f.var;
            mi += f.mean_i;
            mb += f.mean_b;
        }
        if n == 0 || mb <= 0.0 {
            return LightFit::default();
        }
        LightFit {
            cells: n,
            slope: if var > 0.0 { cov / var } else { 0.0 },
            ratio: mi / mb,
            spread: var / n as f32,
        }
    }

    /// The *light follow*: how far the pixels' spread kept up with the
    /// brightness (slope ÷ ratio). About 1 when light fell on the surface;
    /// below 1 for a veil (the spread shrank while the mean rose).
    pub fn follow(&self) -> f32 {
        if self.ratio > 0.0 {
            self.slope / self.ratio
        } else {
            0.0
        }
    }

    /// Whether the fit can judge the region: enough cells, enough spread
    /// for a slope, and brighter than its background.
    pub fn judges(&self) -> bool {
        self.cells >= MIN_FIT_CELLS && self.spread >= MIN_SPREAD && self.ratio >= MIN_LIFT_RATIO
    }

    /// The region brightened as light does, not as a veil: the fit judges
    /// it and its light follow is at least [`LIT_FIT_FOLLOW`].
    pub fn lit(&self) -> bool {
        self.judges() && self.follow() >= LIT_FIT_FOLLOW
    }
}

/// The per-pixel background and the per-cell fits.
#[derive(Debug, Default)]
pub struct LightModel {
    /// Per analysis pixel, the background luma (empty until learnt).
    bg: Vec<f32>,
    /// Warm-up samples of the analysis luma, for the first background.
    samples: Vec<Vec<u8>>,
    /// Per cell, the fit of the last frame it was fitted in.
    pub fit: Vec<CellFit>,
    /// Per cell, frames since it was last smoky (saturating).
    since_smoky: Vec<u8>,
}

impl LightModel {
    pub fn new(cells: usize) -> LightModel {
        LightModel {
            bg: Vec::new(),
            samples: Vec::new(),
            fit: vec![CellFit::default(); cells],
            since_smoky: vec![u8::MAX; cells],
        }
    }

    /// Keeps a warm-up sample when `age` (seconds since the first frame)
    /// has reached the next of [`WARMUP_SAMPLES`] steps over `warmup_s`.
    pub fn warmup(&mut self, luma: &[u8], age: f64, warmup_s: f64) {
        let step = warmup_s / WARMUP_SAMPLES as f64;
        if self.samples.len() < WARMUP_SAMPLES && age >= step * self.samples.len() as f64 {
            self.samples.push(luma.to_vec());
        }
    }

    /// After the warm-up: fits the cells smoky in the last
    /// [`WATCH_FRAMES`] frames against the background, then learns the
    /// frame into it at each cell's `rate` (0..1 per frame).
    pub fn update(
        &mut self,
        luma: &[u8],
        grid: &Grid,
        zones: &ZoneMap,
        smoky: &[bool],
        rate: &[f32],
        dt: f64,
    ) {
        if luma.len() != grid.w * grid.h {
            return;
        }
        if self.bg.len() != luma.len() {
            self.bg = median_of(&self.samples, luma);
            self.samples.clear();
            return;
        }
        let k = (dt / FIT_TAU_S).clamp(0.0, 1.0) as f32;
        for c in 0..self.fit.len() {
            let s = &mut self.since_smoky[c];
            *s = if smoky.get(c).copied().unwrap_or(false) {
                0
            } else {
                s.saturating_add(1)
            };
            if *s >= WATCH_FRAMES || zones.cell.get(c).is_none_or(|z| *z == NO_ZONE) {
                self.fit[c].valid = false;
                continue;
            }
            let (x0, y0) = ((c % grid.gw) * CELL, (c / grid.gw) * CELL);
            let pixels = (y0..(y0 + CELL).min(grid.h))
                .flat_map(|y| (x0..(x0 + CELL).min(grid.w)).map(move |x| y * grid.w + x));
            let now = fit_cell(
                pixels
                    .filter(|&i| zones.pixel[i] != NO_ZONE)
                    .map(|i| (luma[i] as f32, self.bg[i])),
            );
            let f = &mut self.fit[c];
            match now {
                Some(n) if f.valid => {
                    f.cov += k * (n.cov - f.cov);
                    f.var += k * (n.var - f.var);
                    f.mean_i += k * (n.mean_i - f.mean_i);
                    f.mean_b += k * (n.mean_b - f.mean_b);
                }
                Some(n) => *f = n,
                None => f.valid = false,
            }
        }
        // Learn each pixel at its cell's rate, a cell's run of a row at a
        // time (cells that do not learn are skipped whole).
        for y in 0..grid.h {
            let row = y * grid.w;
            let crow = (y / CELL) * grid.gw;
            for cx in 0..grid.gw {
                let a = rate.get(crow + cx).copied().unwrap_or(0.0);
                if a <= 0.0 {
                    continue;
                }
                let (x0, x1) = (row + cx * CELL, row + ((cx + 1) * CELL).min(grid.w));
                let (Some(bg), Some(px)) = (self.bg.get_mut(x0..x1), luma.get(x0..x1)) else {
                    continue;
                };
                for (b, &l) in bg.iter_mut().zip(px) {
                    *b += a * (l as f32 - *b);
                }
            }
        }
    }

    /// The pooled fit of `cells`.
    pub fn region(&self, cells: &[usize]) -> LightFit {
        LightFit::pool(cells.iter().filter_map(|&c| self.fit.get(c)))
    }
}

/// Per pixel, the median of `samples` (the current `luma` when there are none).
fn median_of(samples: &[Vec<u8>], luma: &[u8]) -> Vec<f32> {
    let usable: Vec<&Vec<u8>> = samples.iter().filter(|s| s.len() == luma.len()).collect();
    if usable.is_empty() {
        return luma.iter().map(|&v| v as f32).collect();
    }
    let mut v = Vec::with_capacity(usable.len());
    (0..luma.len())
        .map(|i| {
            v.clear();
            v.extend(usable.iter().map(|s| s[i]));
            v.sort_unstable();
            v[v.len() / 2] as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cell's background pixels: a smooth wall (a shallow ramp, 3 grey
    /// levels a pixel, plus a grey level or two of grain), with no edge.
    fn flat_wall() -> Vec<f32> {
        (0..16)
            .map(|i| 95.0 + 3.0 * (i % 4) as f32 + ((i * 7) % 5) as f32 - 2.0)
            .collect()
    }

    fn fit_of(bg: &[f32], f: impl Fn(f32) -> f32) -> CellFit {
        fit_cell(bg.iter().map(|&b| (f(b), b))).expect("16 pixels")
    }

    #[test]
    fn light_scales_the_spread_with_the_brightness() {
        let bg = flat_wall();
        // Sun through cloud: 8 % more light on every pixel.
        let f = fit_of(&bg, |b| 1.08 * b);
        let r = LightFit::pool([f, f, f].iter());
        assert!((r.slope - 1.08).abs() < 1e-3, "{r:?}");
        assert!((r.follow() - 1.0).abs() < 1e-3);
        assert!(r.judges() && r.lit());
    }

    #[test]
    fn a_veil_shrinks_the_spread_while_the_mean_rises() {
        let bg = flat_wall();
        // A thin veil, 10 % of a light grey (200).
        let f = fit_of(&bg, |b| 0.9 * b + 0.1 * 200.0);
        let r = LightFit::pool([f, f, f].iter());
        assert!((r.slope - 0.9).abs() < 1e-3, "{r:?}");
        assert!(r.ratio > 1.05);
        // Dark pixels brightened more than bright ones: follow well below 1.
        assert!(r.follow() < 0.85, "{}", r.follow());
        assert!(r.judges() && !r.lit());
    }

    #[test]
    fn the_fit_ignores_a_gain_that_varies_between_cells() {
        // A sun patch's soft edge: each cell lit by its own gain.
        let bg = flat_wall();
        let fits: Vec<CellFit> = [1.02, 1.05, 1.09, 1.12]
            .iter()
            .map(|&g| fit_of(&bg, |b| g * b))
            .collect();
        let r = LightFit::pool(fits.iter());
        assert!((r.follow() - 1.0).abs() < 0.01, "{r:?}");
        assert!(r.lit());
    }

    #[test]
    fn the_fit_does_not_judge_what_it_cannot_see() {
        let bg = flat_wall();
        let lit = fit_of(&bg, |b| 1.08 * b);
        // Too few cells.
        assert!(!LightFit::pool([lit, lit].iter()).judges());
        // No spread at all: a perfectly flat background has no slope.
        let flat = fit_cell((0..16).map(|_| (108.0, 100.0))).expect("16 pixels");
        assert!(!LightFit::pool([flat, flat, flat].iter()).judges());
        // A grey level or two of grain only: a plume's wisps would swing it.
        let grain: Vec<f32> = (0..16)
            .map(|i| 100.0 + ((i * 7) % 5) as f32 - 2.0)
            .collect();
        let g = fit_of(&grain, |b| 1.08 * b);
        assert!(!LightFit::pool([g, g, g].iter()).judges());
        // Darker than the background: not a light patch (nor a veil).
        let dark = fit_of(&bg, |b| 0.9 * b);
        assert!(!LightFit::pool([dark, dark, dark].iter()).judges());
        // Invalid cells are skipped; none fitted judges nothing.
        assert_eq!(LightFit::pool([CellFit::default()].iter()).cells, 0);
        assert!(fit_cell([(1.0, 1.0)]).is_none());
    }

    #[test]
    fn the_first_background_is_the_per_pixel_median_of_the_warm_up() {
        let mut m = LightModel::new(1);
        // A walker crosses pixel 0 in one of the five samples.
        for (k, v) in [10u8, 10, 200, 10, 10].iter().enumerate() {
            m.warmup(&[*v, 50], 0.4 * k as f64, 2.0);
        }
        // A sixth sample is not kept.
        m.warmup(&[255, 255], 1.9, 2.0);
        assert_eq!(median_of(&m.samples, &[0, 0]), vec![10.0, 50.0]);
        assert_eq!(median_of(&[], &[7, 8]), vec![7.0, 8.0]);
    }
}
