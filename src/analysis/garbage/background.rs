//! The dual background model behind the garbage analyzer, kept on a coarse
//! grid of cells (each the mean RGB of `scale`×`scale` pixels).
//!
//! Per cell it keeps:
//! - a **long-term** background (`long`): learns only where the scene is
//!   background and still, with a time constant of minutes, and never inside
//!   cells the analyzer freezes (its tracked objects). Something new that stays
//!   differs from it for as long as it stays.
//! - a **short-term** background (`short`): learns everything within seconds,
//!   so a new object stops differing from it soon after it stops moving.
//! - the previous frame, for frame-difference motion.
//!
//! From these, every frame, each cell is classified: `foreground` (differs
//! from the long-term model), `moving` (differs from the short-term model or
//! from the previous frame), and `still_since` (the stream time since which
//! the cell has been foreground without frame-difference motion; for a bag,
//! about the moment it was put down).
//!
//! Comparisons are made robust to three things footage is full of:
//! - global lighting changes: the current frame is divided by a gain (the
//!   median ratio of cell brightness between frame and model) before comparing;
//! - sensor noise and compression: the change threshold is at least a multiple
//!   of the measured frame-to-frame noise;
//! - mild camera shake: the threshold grows with the local gradient, so strong
//!   edges that wobble by a pixel do not count as change while flat areas
//!   (where a bag lands on the ground) stay sensitive.

/// Colour of one cell: mean R, G, B (0..=255).
pub type Rgb = [f32; 3];

/// Tuning of the model; see [`CellModel`].
#[derive(Debug, Clone, Copy)]
pub struct ModelParams {
    /// Colour difference ([`dist`] of the cell means) that counts as change
    /// where the background is flat.
    pub threshold: f32,
    /// Extra threshold per unit of local gradient (camera-shake tolerance).
    pub edge_k: f32,
    /// Threshold floor as a multiple of the measured noise (median absolute
    /// frame difference).
    pub noise_k: f32,
    /// Short-term background time constant, seconds.
    pub short_tau_s: f64,
    /// Long-term background time constant, seconds.
    pub long_tau_s: f64,
}

impl Default for ModelParams {
    fn default() -> Self {
        ModelParams {
            threshold: 14.0,
            edge_k: 0.5,
            noise_k: 4.5,
            short_tau_s: 1.5,
            long_tau_s: 300.0,
        }
    }
}

/// The grid geometry: frame pixels to cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    /// Pixels per cell side.
    pub scale: usize,
    /// Cells across and down.
    pub w: usize,
    pub h: usize,
}

impl Grid {
    /// Picks a cell size giving about 160 cells across (4 px at 640 wide).
    pub fn for_frame(width: u32, height: u32) -> Grid {
        let scale = (width as usize / 160).max(1);
        Grid {
            scale,
            w: (width as usize / scale).max(1),
            h: (height as usize / scale).max(1),
        }
    }

    pub fn len(&self) -> usize {
        self.w * self.h
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// See the module doc.
pub struct CellModel {
    pub grid: Grid,
    width: usize,
    height: usize,
    params: ModelParams,
    cur: Vec<Rgb>,
    prev: Vec<Rgb>,
    long: Vec<Rgb>,
    short: Vec<Rgb>,
    /// Local gradient of the long-term model and of the current frame.
    grad_long: Vec<f32>,
    grad_cur: Vec<f32>,
    /// Per-cell classification of the latest frame.
    pub foreground: Vec<bool>,
    pub moving: Vec<bool>,
    /// Frame-difference motion in the latest frame (a subset of `moving`).
    pub flicker: Vec<bool>,
    pub still_since: Vec<f64>,
    /// Stream time of the last frame-difference motion in each cell (counted
    /// only when at least two neighbours flicker too).
    pub last_motion: Vec<f64>,
    /// Colour difference to the long-term model, after gain normalisation.
    pub diff_long: Vec<f32>,
    /// Current gain (frame brightness / long-term brightness).
    pub gain: f32,
    /// Smoothed noise level (median absolute frame difference of cell luma).
    pub noise: f32,
    /// Threshold used in the latest frame (flat areas).
    pub threshold: f32,
    last_t: Option<f64>,
    scratch: Vec<f32>,
}

fn lum(c: &Rgb) -> f32 {
    0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]
}

/// Colour distance between two cells: Euclidean in RGB, so a change of hue
/// at equal brightness (a green bag on grey ground at night) counts as
/// much as a change of brightness.
pub fn dist(a: &Rgb, b: &Rgb) -> f32 {
    let (dr, dg, db) = (a[0] - b[0], a[1] - b[1], a[2] - b[2]);
    (dr * dr + dg * dg + db * db).sqrt()
}

fn scaled(c: &Rgb, k: f32) -> Rgb {
    [c[0] * k, c[1] * k, c[2] * k]
}

impl CellModel {
    pub fn new(width: u32, height: u32, params: ModelParams) -> CellModel {
        let grid = Grid::for_frame(width, height);
        let n = grid.len();
        CellModel {
            grid,
            width: width as usize,
            height: height as usize,
            params,
            cur: vec![[0.0; 3]; n],
            prev: Vec::new(),
            long: Vec::new(),
            short: Vec::new(),
            grad_long: vec![0.0; n],
            grad_cur: vec![0.0; n],
            foreground: vec![false; n],
            moving: vec![false; n],
            flicker: vec![false; n],
            still_since: vec![0.0; n],
            last_motion: vec![f64::NEG_INFINITY; n],
            diff_long: vec![0.0; n],
            gain: 1.0,
            noise: 0.0,
            threshold: params.threshold,
            last_t: None,
            scratch: Vec::with_capacity(n / 3 + 1),
        }
    }

    /// True once a frame has been seen (the models exist).
    pub fn ready(&self) -> bool {
        !self.long.is_empty()
    }

    /// The current frame's colour of a cell.
    pub fn current(&self, c: usize) -> Rgb {
        self.cur[c]
    }

    /// The long-term background's colour of a cell, at the current gain
    /// (comparable with [`CellModel::current`]).
    pub fn long_term(&self, c: usize) -> Rgb {
        scaled(&self.long[c], self.gain)
    }

    /// Takes one frame. Returns false (and classifies nothing) for the first
    /// frame, which only seeds the models, or a frame of the wrong size.
    pub fn observe(&mut self, rgb: &[u8], t: f64) -> bool {
        if rgb.len() != self.width * self.height * 3 {
            return false;
        }
        self.downsample(rgb);
        if !self.ready() {
            self.prev = self.cur.clone();
            self.long = self.cur.clone();
            self.short = self.cur.clone();
            self.still_since.iter_mut().for_each(|s| *s = t);
            self.last_t = Some(t);
            gradient(&self.grid, &self.long, &mut self.grad_long);
            return false;
        }
        let g_long = self.median_ratio(Which::Long);
        let g_short = self.median_ratio(Which::Short);
        let g_prev = self.median_ratio(Which::Prev);
        self.gain = g_long;

        // Noise: median absolute frame difference of luma (sampled cells).
        self.scratch.clear();
        for c in (0..self.cur.len()).step_by(3) {
            self.scratch
                .push((lum(&self.cur[c]) / g_prev - lum(&self.prev[c])).abs());
        }
        let mad = median(&mut self.scratch);
        self.noise = if self.noise == 0.0 {
            mad
        } else {
            0.9 * self.noise + 0.1 * mad
        };
        let p = self.params;
        let th = p.threshold.max(p.noise_k * self.noise);
        self.threshold = th;

        gradient(&self.grid, &self.cur, &mut self.grad_cur);
        for c in 0..self.cur.len() {
            let cur = self.cur[c];
            let d_long = dist(&scaled(&cur, 1.0 / g_long), &self.long[c]);
            let d_short = dist(&scaled(&cur, 1.0 / g_short), &self.short[c]);
            let d_prev = dist(&scaled(&cur, 1.0 / g_prev), &self.prev[c]);
            let edge_cur = p.edge_k * self.grad_cur[c].max(self.grad_long[c]);
            let fg = d_long > th + p.edge_k * self.grad_long[c];
            let flicker = d_prev > th + edge_cur;
            let moving = flicker || d_short > th + edge_cur;
            self.diff_long[c] = d_long;
            self.foreground[c] = fg;
            self.flicker[c] = flicker;
            self.moving[c] = moving;
        }
        // Real motion moves a patch of cells; a lone flickering cell is noise
        // or a compression artefact and does not restart a cell's stillness.
        let Grid { w, h, .. } = self.grid;
        for c in 0..self.cur.len() {
            let (x, y) = (c % w, c / w);
            let mut confirmed = false;
            if self.flicker[c] {
                let mut n = 0;
                for ny in y.saturating_sub(1)..=(y + 1).min(h - 1) {
                    for nx in x.saturating_sub(1)..=(x + 1).min(w - 1) {
                        n += usize::from(self.flicker[ny * w + nx]);
                    }
                }
                confirmed = n >= 3; // itself and two neighbours
            }
            if confirmed {
                self.last_motion[c] = t;
            }
            if !self.foreground[c] || confirmed {
                self.still_since[c] = t;
            }
        }
        true
    }

    /// Updates the models after the analyzer has looked at the frame given to
    /// [`CellModel::observe`]. Cells marked in `frozen` keep their long-term
    /// background (objects being watched).
    pub fn learn(&mut self, t: f64, frozen: &[bool]) {
        let dt = self.last_t.map(|l| (t - l).clamp(0.0, 5.0)).unwrap_or(0.0);
        self.last_t = Some(t);
        let a_short = (1.0 - (-dt / self.params.short_tau_s).exp()) as f32;
        let a_long = (1.0 - (-dt / self.params.long_tau_s).exp()) as f32;
        for c in 0..self.cur.len() {
            let cur = self.cur[c];
            blend(&mut self.short[c], &cur, a_short);
            let frozen = frozen.get(c).copied().unwrap_or(false);
            if !frozen && !self.moving[c] {
                // Learn the scene's real brightness slowly; a foreground cell
                // that nobody tracks (too small to matter) fades in 4x slower.
                let a = if self.foreground[c] {
                    a_long / 4.0
                } else {
                    a_long
                };
                blend(&mut self.long[c], &cur, a);
            }
        }
        std::mem::swap(&mut self.prev, &mut self.cur);
        gradient(&self.grid, &self.long, &mut self.grad_long);
    }

    /// True when cell `c` still differs from the long-term background by at
    /// least `share` of the change threshold that made it foreground. With a
    /// `share` below 1 this is a hysteresis: a faint object whose edge cells
    /// dip under the threshold now and then (night noise) keeps them.
    pub fn holds(&self, c: usize, share: f32) -> bool {
        let th = self.threshold + self.params.edge_k * self.grad_long[c];
        self.diff_long.get(c).is_some_and(|&d| d > share * th)
    }

    /// Copies the current frame into the long-term background at `cells`:
    /// whatever is there is accepted as the scene from now on. Call between
    /// [`CellModel::observe`] and [`CellModel::learn`].
    pub fn absorb(&mut self, cells: impl IntoIterator<Item = usize>) {
        let g = self.gain.max(1e-3);
        for c in cells {
            if let (Some(dst), Some(src)) = (self.long.get_mut(c), self.cur.get(c)) {
                *dst = scaled(src, 1.0 / g);
            }
        }
    }

    fn downsample(&mut self, rgb: &[u8]) {
        let Grid { scale, w, h } = self.grid;
        let stride = self.width * 3;
        let norm = 1.0 / (scale * scale) as f32;
        let mut acc = vec![[0u32; 3]; w];
        for gy in 0..h {
            acc.iter_mut().for_each(|a| *a = [0; 3]);
            for y in gy * scale..(gy + 1) * scale {
                let row = &rgb[y * stride..y * stride + w * scale * 3];
                for (gx, a) in acc.iter_mut().enumerate() {
                    let px = &row[gx * scale * 3..(gx + 1) * scale * 3];
                    for p in px.chunks_exact(3) {
                        a[0] += p[0] as u32;
                        a[1] += p[1] as u32;
                        a[2] += p[2] as u32;
                    }
                }
            }
            for (gx, a) in acc.iter().enumerate() {
                self.cur[gy * w + gx] =
                    [a[0] as f32 * norm, a[1] as f32 * norm, a[2] as f32 * norm];
            }
        }
    }

    /// Median of current/model brightness over a sample of cells, clamped.
    fn median_ratio(&mut self, which: Which) -> f32 {
        let model = match which {
            Which::Long => &self.long,
            Which::Short => &self.short,
            Which::Prev => &self.prev,
        };
        self.scratch.clear();
        for c in (0..self.cur.len()).step_by(3) {
            let m = lum(&model[c]);
            if m >= 12.0 {
                self.scratch.push(lum(&self.cur[c]) / m);
            }
        }
        if self.scratch.len() < 16 {
            return 1.0;
        }
        median(&mut self.scratch).clamp(0.2, 5.0)
    }
}

#[derive(Clone, Copy)]
enum Which {
    Long,
    Short,
    Prev,
}

fn blend(dst: &mut Rgb, src: &Rgb, a: f32) {
    for k in 0..3 {
        dst[k] += a * (src[k] - dst[k]);
    }
}

fn median(v: &mut [f32]) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    let mid = v.len() / 2;
    let (_, m, _) = v.select_nth_unstable_by(mid, |a, b| a.total_cmp(b));
    *m
}

/// Largest colour difference between each cell and its 4 neighbours.
fn gradient(grid: &Grid, img: &[Rgb], out: &mut [f32]) {
    let (w, h) = (grid.w, grid.h);
    for y in 0..h {
        for x in 0..w {
            let c = y * w + x;
            let mut g: f32 = 0.0;
            if x > 0 {
                g = g.max(dist(&img[c], &img[c - 1]));
            }
            if x + 1 < w {
                g = g.max(dist(&img[c], &img[c + 1]));
            }
            if y > 0 {
                g = g.max(dist(&img[c], &img[c - w]));
            }
            if y + 1 < h {
                g = g.max(dist(&img[c], &img[c + w]));
            }
            out[c] = g;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(w: usize, h: usize, v: u8) -> Vec<u8> {
        vec![v; w * h * 3]
    }

    fn with_square(mut img: Vec<u8>, w: usize, x0: usize, y0: usize, s: usize, v: u8) -> Vec<u8> {
        for y in y0..y0 + s {
            for x in x0..x0 + s {
                let i = (y * w + x) * 3;
                img[i..i + 3].copy_from_slice(&[v, v, v]);
            }
        }
        img
    }

    #[test]
    fn a_new_object_is_foreground_and_becomes_still() {
        let (w, h) = (160, 96);
        let mut m = CellModel::new(w as u32, h as u32, ModelParams::default());
        let none = vec![false; m.grid.len()];
        assert!(!m.observe(&flat(w, h, 120), 0.0));
        m.learn(0.0, &none);
        let with = with_square(flat(w, h, 120), w, 40, 40, 8, 30);
        let mut t = 0.0;
        for _ in 0..30 {
            t += 0.2;
            assert!(m.observe(&with, t));
            m.learn(t, &none);
        }
        let s = m.grid.scale;
        let c = (42 / s) * m.grid.w + 42 / s; // inside the square
        assert!(m.foreground[c], "object differs from the long-term model");
        assert!(!m.moving[c], "short-term model has absorbed it");
        assert!(
            (m.still_since[c] - 0.2).abs() < 1e-9,
            "{}",
            m.still_since[c]
        );
        assert!(!m.foreground[0]);
    }

    #[test]
    fn global_brightness_change_is_not_foreground() {
        let (w, h) = (160, 96);
        let mut m = CellModel::new(w as u32, h as u32, ModelParams::default());
        let none = vec![false; m.grid.len()];
        m.observe(&flat(w, h, 100), 0.0);
        m.learn(0.0, &none);
        assert!(m.observe(&flat(w, h, 160), 0.2));
        assert!(m.foreground.iter().all(|f| !f));
        assert!((m.gain - 1.6).abs() < 0.01);
    }
}
