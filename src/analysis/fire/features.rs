//! The per-frame pixel pass of the fire analyzer and the short history of its
//! results.
//!
//! Each frame is box-averaged down to about 320 pixels wide (the *analysis
//! grid*; averaging also removes most sensor noise and compression speckle),
//! converted to YCbCr, and summarised per *cell* of 4×4 analysis pixels (8×8
//! frame pixels at 640×360, an 80×45 grid):
//!
//! - flame-coloured pixels, how many of them changed brightness since the last
//!   frame, and their summed brightness (the flicker signal);
//! - mean luma, mean gradient magnitude and mean chroma (the smoke cues).
//!
//! Pixels outside every zone or inside a mask are skipped. [`History`] keeps the
//! flame counts of the last [`HISTORY`] frames with their stream times.

use super::super::ZoneMask;

/// Frames of per-cell history kept (3.2 s at 10 fps).
pub const HISTORY: usize = 32;
/// Side of a cell, in analysis pixels.
pub const CELL: usize = 4;
/// Marks an analysis pixel or cell that belongs to no zone (or is masked).
pub const NO_ZONE: u8 = u8::MAX;
/// A frame is treated as grey (an IR night image) when fewer than 1 in 2000
/// of its analysis pixels (and fewer than 8) differ from the frame's average
/// tint by more than this chroma (|ΔCb| + |ΔCr|).
pub const GREY_CHROMA: i32 = 24;
/// Luma of a hot (near-saturated) flame pixel; flames are the brightest thing
/// in a shed, and their core saturates the sensor.
pub const HOT_Y: u8 = 220;

/// Least luma change of a pixel in one frame that counts as sharp motion
/// (a person's or a vehicle's edge passing; smoke thickens far slower).
pub const MOVE_DY: u16 = 30;

/// Frames back over which a cell's *churn* (see [`Extractor::churn`]) is
/// measured: 3, 0.3 s at 10 fps. A plume's slow internal motion adds up over
/// a few frames; sensor noise and compression flutter do not.
pub const CHURN_LAG: usize = 3;

/// Geometry of the analysis grid for one frame size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    /// Frame size.
    pub frame_w: usize,
    pub frame_h: usize,
    /// Downscale factor (frame pixels per analysis pixel, each way).
    pub ds: usize,
    /// Analysis image size.
    pub w: usize,
    pub h: usize,
    /// Cell grid size.
    pub gw: usize,
    pub gh: usize,
}

impl Grid {
    pub fn new(frame_w: u32, frame_h: u32) -> Grid {
        let (fw, fh) = (frame_w as usize, frame_h as usize);
        let ds = (fw / 320).max(1);
        let (w, h) = ((fw / ds).max(1), (fh / ds).max(1));
        Grid {
            frame_w: fw,
            frame_h: fh,
            ds,
            w,
            h,
            gw: w.div_ceil(CELL),
            gh: h.div_ceil(CELL),
        }
    }

    pub fn cells(&self) -> usize {
        self.gw * self.gh
    }

    /// Cell index of an analysis pixel.
    pub fn cell_of(&self, x: usize, y: usize) -> usize {
        (y / CELL) * self.gw + x / CELL
    }

    /// Frame pixels per analysis pixel.
    pub fn px_area(&self) -> usize {
        self.ds * self.ds
    }
}

/// Which zone each analysis pixel and cell belongs to.
#[derive(Debug, Clone)]
pub struct ZoneMap {
    /// Per analysis pixel: zone index, or [`NO_ZONE`].
    pub pixel: Vec<u8>,
    /// Per cell: the zone most of its pixels are in, or [`NO_ZONE`].
    pub cell: Vec<u8>,
    /// Per cell: pixels that are in some zone.
    pub active: Vec<u16>,
    /// Cells per row of the grid.
    pub gw: usize,
}

impl ZoneMap {
    /// Rasterises `zones` (at most 254) minus `masks` onto the analysis grid.
    pub fn new(grid: &Grid, zones: &[ZoneMask], masks: &[ZoneMask]) -> ZoneMap {
        let mut pixel = vec![NO_ZONE; grid.w * grid.h];
        for (i, z) in zones.iter().enumerate().take(NO_ZONE as usize) {
            for (p, inside) in pixel.iter_mut().zip(&z.inside) {
                if *inside && *p == NO_ZONE {
                    *p = i as u8;
                }
            }
        }
        for m in masks {
            for (p, inside) in pixel.iter_mut().zip(&m.inside) {
                if *inside {
                    *p = NO_ZONE;
                }
            }
        }
        let cells = grid.cells();
        let mut active = vec![0u16; cells];
        // Per cell, (zone, pixel count) pairs; a cell seldom straddles more than two zones.
        let mut votes: Vec<Vec<(u8, u16)>> = vec![Vec::new(); cells];
        for y in 0..grid.h {
            for x in 0..grid.w {
                let z = pixel[y * grid.w + x];
                if z != NO_ZONE {
                    let c = grid.cell_of(x, y);
                    active[c] += 1;
                    match votes[c].iter_mut().find(|(zone, _)| *zone == z) {
                        Some((_, n)) => *n += 1,
                        None => votes[c].push((z, 1)),
                    }
                }
            }
        }
        let cell = votes
            .iter()
            .map(|v| {
                v.iter()
                    .max_by_key(|(_, n)| *n)
                    .map_or(NO_ZONE, |(z, _)| *z)
            })
            .collect();
        ZoneMap {
            pixel,
            cell,
            active,
            gw: grid.gw,
        }
    }
}

/// Per-cell summary of one frame.
#[derive(Debug, Clone)]
pub struct CellStats {
    /// Flame-coloured pixels.
    pub flame_n: Vec<u16>,
    /// Pixels that are flame-coloured now or were in the previous frame and
    /// whose luma changed by at least the change threshold.
    pub flame_changed: Vec<u16>,
    /// Sum of luma over the flame-coloured pixels.
    pub flame_energy: Vec<u32>,
    /// Flame-coloured (now or before) pixels whose luma changed by at least
    /// the change threshold in this frame and in the opposite direction in
    /// the frame before: flicker, as opposed to an edge sliding past.
    pub flame_flip: Vec<u16>,
    /// Flame-coloured pixels that are also hot: luma >= [`HOT_Y`].
    pub hot_n: Vec<u16>,
    /// Pixels that are flame-coloured now but were not in the previous
    /// frame, or the other way round: a flame's shape changes from frame to
    /// frame, printed or lit red-and-white material keeps its shape.
    pub flame_toggled: Vec<u16>,
    /// Sum of |luma change| since the previous frame over the pixels that
    /// are flame-coloured now or were before: how strongly the flame's
    /// brightness flickers (compression flutter on a printed red stripe
    /// moves it by a few grey levels, a flame by tens).
    pub flame_dy: Vec<u32>,
    /// Sums of the analysis row (y) of the flame-coloured, hot and changed
    /// flame pixels: where in a region the hot core and the flicker sit.
    pub flame_row: Vec<u32>,
    pub hot_row: Vec<u32>,
    pub changed_row: Vec<u32>,
    /// Active pixels (any colour) whose luma changed by at least the change
    /// threshold since the previous frame: sharp motion, which people and
    /// vehicles make and slow, diffuse smoke does not.
    pub moved: Vec<u16>,
    /// Sum of luma, gradient magnitude and chroma over active pixels.
    pub y_sum: Vec<u32>,
    pub grad_sum: Vec<u32>,
    pub chroma_sum: Vec<u32>,
    /// Sum of warmth (Cr − Cb) over active pixels: firelight raises it.
    pub warm_sum: Vec<i32>,
    /// Whether the frame was treated as grey (IR night mode).
    pub grey: bool,
    /// Mean luma of the whole frame.
    pub mean_y: f32,
    /// Luma change that counted as a change in this frame.
    pub change_threshold: u8,
}

impl CellStats {
    fn zeroed(cells: usize) -> CellStats {
        CellStats {
            flame_n: vec![0; cells],
            flame_changed: vec![0; cells],
            flame_energy: vec![0; cells],
            flame_flip: vec![0; cells],
            hot_n: vec![0; cells],
            flame_toggled: vec![0; cells],
            flame_dy: vec![0; cells],
            flame_row: vec![0; cells],
            hot_row: vec![0; cells],
            changed_row: vec![0; cells],
            moved: vec![0; cells],
            y_sum: vec![0; cells],
            grad_sum: vec![0; cells],
            chroma_sum: vec![0; cells],
            warm_sum: vec![0; cells],
            grey: false,
            mean_y: 0.0,
            change_threshold: 0,
        }
    }
}

/// Turns frames into [`CellStats`]; keeps the previous frame's analysis luma.
pub struct Extractor {
    pub grid: Grid,
    rgb: Vec<[u8; 3]>,
    y: Vec<u8>,
    /// Chroma (Cb, Cr) of each analysis pixel of the last frame.
    cb: Vec<u8>,
    cr: Vec<u8>,
    prev_y: Vec<u8>,
    /// Luma change of each pixel in the previous frame.
    prev_dy: Vec<i16>,
    prev_flame: Vec<bool>,
    flame: Vec<bool>,
    have_prev: bool,
    /// The analysis luma of the last [`CHURN_LAG`] frames, a ring whose slot
    /// `ring_head` is the oldest; `ring_len` slots are filled.
    ring: Vec<Vec<u8>>,
    ring_head: usize,
    ring_len: usize,
    /// Per cell, over its active pixels: Σ|luma − luma [`CHURN_LAG`] frames
    /// ago| and Σ(luma − luma then); valid when `churn_ready`.
    churn_abs: Vec<u32>,
    churn_sum: Vec<i32>,
    churn_ready: bool,
}

/// YCbCr (BT.601, full range, integer) of one pixel.
#[inline]
pub fn ycbcr(r: i32, g: i32, b: i32) -> (i32, i32, i32) {
    let y = (77 * r + 150 * g + 29 * b) >> 8;
    let cb = 128 + ((-43 * r - 85 * g + 128 * b) >> 8);
    let cr = 128 + ((128 * r - 107 * g - 21 * b) >> 8);
    (y, cb, cr)
}

/// Frame-wide colour statistics the flame rule is relative to, which is what
/// lets it survive a camera's white balance.
#[derive(Debug, Clone, Copy)]
pub struct FrameMeans {
    pub y: i32,
    pub cb: i32,
    pub cr: i32,
    pub grey: bool,
}

/// The flame colour rule for one pixel.
///
/// Colour frames: a bright, warm pixel — `R ≥ G > B`, `R ≥ 150`, `Y > Cb`,
/// `Cr > Cb + 20`, and redder and brighter than the frame average (`Cr ≥ mean
/// Cr`, `Cb ≤ mean Cb`, `Y ≥ mean Y`); or a near-white warm pixel (`Y ≥ 230`,
/// `R ≥ B + 8`), the saturated core of a flame. Grey frames (IR night mode):
/// a very bright pixel, `Y ≥ max(200, mean Y + 60)`.
#[inline]
pub fn is_flame_colour(p: [u8; 3], m: &FrameMeans) -> bool {
    let (y, cb, cr) = ycbcr(p[0] as i32, p[1] as i32, p[2] as i32);
    flame_rule(p, y, cb, cr, m)
}

/// [`is_flame_colour`] for a pixel whose [`ycbcr`] is already known.
#[inline]
fn flame_rule(p: [u8; 3], y: i32, cb: i32, cr: i32, m: &FrameMeans) -> bool {
    let (r, g, b) = (p[0] as i32, p[1] as i32, p[2] as i32);
    if m.grey {
        return y >= (m.y + 60).max(200);
    }
    if y >= 230 && r >= b + 8 {
        return true;
    }
    r >= 150 && r >= g && g > b && y > cb && cr > cb + 20 && cr >= m.cr && cb <= m.cb && y >= m.y
}

impl Extractor {
    pub fn new(grid: Grid) -> Extractor {
        let n = grid.w * grid.h;
        Extractor {
            grid,
            rgb: vec![[0; 3]; n],
            y: vec![0; n],
            cb: vec![0; n],
            cr: vec![0; n],
            prev_y: vec![0; n],
            prev_dy: vec![0; n],
            prev_flame: vec![false; n],
            flame: vec![false; n],
            have_prev: false,
            ring: vec![vec![0; n]; CHURN_LAG],
            ring_head: 0,
            ring_len: 0,
            churn_abs: vec![0; grid.cells()],
            churn_sum: vec![0; grid.cells()],
            churn_ready: false,
        }
    }

    /// Per cell, the last frame's change against the frame [`CHURN_LAG`]
    /// frames before it, over the cell's active pixels: (Σ|Δluma|, ΣΔluma).
    /// `None` until that many frames were seen.
    ///
    /// Their difference, Σ|Δ| − |ΣΔ|, is the cell's *churn*: change that
    /// goes both ways inside the cell, as the wisps of a plume do, while a
    /// change of light (clouds, exposure, a flame's glow) moves all its
    /// pixels the same way and leaves next to none.
    pub fn churn(&self) -> Option<(&[u32], &[i32])> {
        self.churn_ready
            .then_some((&self.churn_abs[..], &self.churn_sum[..]))
    }

    /// The analysis-grid luma of the last frame processed.
    pub fn luma(&self) -> &[u8] {
        &self.prev_y
    }

    /// The analysis-grid RGB image of the last frame (for crops).
    pub fn analysis_rgb(&self) -> &[[u8; 3]] {
        &self.rgb
    }

    /// Summarises one packed-RGB frame of the grid's frame size.
    pub fn process(&mut self, frame_rgb: &[u8], zones: &ZoneMap) -> CellStats {
        let g = self.grid;
        self.downsample(frame_rgb);
        let have_prev = self.have_prev;
        // One colour conversion per pixel, kept for the passes below: frame
        // means (colour reference), luma and the frame's mean luma change.
        let (mut sy, mut scb, mut scr, mut sdy) = (0i64, 0i64, 0i64, 0u64);
        for ((((p, yo), cbo), cro), py) in self
            .rgb
            .iter()
            .zip(self.y.iter_mut())
            .zip(self.cb.iter_mut())
            .zip(self.cr.iter_mut())
            .zip(&self.prev_y)
        {
            let (y, cb, cr) = ycbcr(p[0] as i32, p[1] as i32, p[2] as i32);
            // BT.601 integer luma and chroma of 8-bit RGB lie in 0..=255.
            *yo = y.clamp(0, 255) as u8;
            *cbo = cb.clamp(0, 255) as u8;
            *cro = cr.clamp(0, 255) as u8;
            sy += y as i64;
            scb += cb as i64;
            scr += cr as i64;
            sdy += yo.abs_diff(*py) as u64;
        }
        let n = (g.w * g.h).max(1) as i64;
        let (mcb, mcr) = ((scb / n) as i32, (scr / n) as i32);
        // Grey (IR) frames: hardly any pixel's colour stands out from the
        // frame's average tint.
        let colourful = self
            .cb
            .iter()
            .zip(&self.cr)
            .filter(|(cb, cr)| (**cb as i32 - mcb).abs() + (**cr as i32 - mcr).abs() > GREY_CHROMA)
            .count();
        let means = FrameMeans {
            y: (sy / n) as i32,
            cb: mcb,
            cr: mcr,
            grey: colourful < (n as usize / 2000).max(8),
        };
        // Change threshold: above noise and compression flutter, scaled up
        // when the whole frame is in turmoil (headlights, exposure steps).
        let mean_abs_dy = if have_prev {
            sdy as f32 / n as f32
        } else {
            0.0
        };
        let change_threshold = (2.5 * mean_abs_dy).clamp(12.0, 40.0) as u8;
        let thr = change_threshold as i16;
        let move_dy = (change_threshold as u16).max(MOVE_DY);

        let churn_ready = self.ring_len >= CHURN_LAG;
        let mut st = CellStats::zeroed(g.cells());
        st.grey = means.grey;
        st.mean_y = means.y as f32;
        st.change_threshold = change_threshold;
        self.churn_abs.fill(0);
        self.churn_sum.fill(0);
        let past = &self.ring[self.ring_head];
        for y in 0..g.h {
            let row = y * g.w;
            let cell_row = (y / CELL) * g.gw;
            for x in 0..g.w {
                let i = row + x;
                if zones.pixel[i] == NO_ZONE {
                    self.flame[i] = false;
                    continue;
                }
                let c = cell_row + x / CELL;
                let p = self.rgb[i];
                let luma = self.y[i];
                let (cb, cr) = (self.cb[i] as i32, self.cr[i] as i32);
                let flame = flame_rule(p, luma as i32, cb, cr, &means);
                self.flame[i] = flame;
                if flame {
                    st.flame_n[c] += 1;
                    st.flame_energy[c] += luma as u32;
                    st.flame_row[c] += y as u32;
                    if luma >= HOT_Y {
                        st.hot_n[c] += 1;
                        st.hot_row[c] += y as u32;
                    }
                }
                let dy = luma as i16 - self.prev_y[i] as i16;
                if have_prev {
                    let was = self.prev_flame[i];
                    if flame != was {
                        st.flame_toggled[c] += 1;
                    }
                    if flame || was {
                        st.flame_dy[c] += dy.unsigned_abs() as u32;
                        if dy.abs() >= thr {
                            st.flame_changed[c] += 1;
                            st.changed_row[c] += y as u32;
                            let before = self.prev_dy[i];
                            if before.abs() >= thr && (before > 0) != (dy > 0) {
                                st.flame_flip[c] += 1;
                            }
                        }
                    }
                    if dy.unsigned_abs() >= move_dy {
                        st.moved[c] += 1;
                    }
                    self.prev_dy[i] = dy;
                } else {
                    self.prev_dy[i] = 0;
                }
                if churn_ready {
                    let d = luma as i32 - past[i] as i32;
                    self.churn_abs[c] += d.unsigned_abs();
                    self.churn_sum[c] += d;
                }
                let right = if x + 1 < g.w { self.y[i + 1] } else { luma };
                let down = if y + 1 < g.h { self.y[i + g.w] } else { luma };
                st.y_sum[c] += luma as u32;
                st.grad_sum[c] += luma.abs_diff(right) as u32 + luma.abs_diff(down) as u32;
                st.chroma_sum[c] += ((cb - 128).abs() + (cr - 128).abs()) as u32;
                st.warm_sum[c] += cr - cb;
            }
        }
        self.ring[self.ring_head].copy_from_slice(&self.y);
        self.ring_head = (self.ring_head + 1) % CHURN_LAG;
        self.ring_len = (self.ring_len + 1).min(CHURN_LAG);
        self.churn_ready = churn_ready;
        std::mem::swap(&mut self.y, &mut self.prev_y);
        std::mem::swap(&mut self.flame, &mut self.prev_flame);
        self.have_prev = true;
        st
    }

    /// Box-averages the frame onto the analysis grid.
    fn downsample(&mut self, frame_rgb: &[u8]) {
        let g = self.grid;
        let ds = g.ds;
        if ds == 1 {
            for (o, p) in self.rgb.iter_mut().zip(frame_rgb.chunks_exact(3)) {
                *o = [p[0], p[1], p[2]];
            }
            return;
        }
        let stride = g.frame_w * 3;
        if ds == 2 {
            // The common case (640 to 959 pixels wide): 2×2 blocks read as
            // pairs of pixels from two rows.
            for (y, out) in self.rgb.chunks_exact_mut(g.w).enumerate() {
                let top = &frame_rgb[2 * y * stride..][..g.w * 6];
                let bottom = &frame_rgb[(2 * y + 1) * stride..][..g.w * 6];
                for ((o, a), b) in out
                    .iter_mut()
                    .zip(top.chunks_exact(6))
                    .zip(bottom.chunks_exact(6))
                {
                    let sum = |k: usize| {
                        (a[k] as u32 + a[k + 3] as u32 + b[k] as u32 + b[k + 3] as u32) / 4
                    };
                    *o = [sum(0) as u8, sum(1) as u8, sum(2) as u8];
                }
            }
            return;
        }
        let div = (ds * ds) as u32;
        for y in 0..g.h {
            for x in 0..g.w {
                let mut acc = [0u32; 3];
                for dy in 0..ds {
                    let base = (y * ds + dy) * stride + x * ds * 3;
                    let row = &frame_rgb[base..base + ds * 3];
                    for p in row.chunks_exact(3) {
                        acc[0] += p[0] as u32;
                        acc[1] += p[1] as u32;
                        acc[2] += p[2] as u32;
                    }
                }
                self.rgb[y * g.w + x] = [
                    (acc[0] / div) as u8,
                    (acc[1] / div) as u8,
                    (acc[2] / div) as u8,
                ];
            }
        }
    }
}

/// The last [`HISTORY`] frames' flame counts per cell, newest first.
pub struct History {
    cells: usize,
    len: usize,
    /// Slot of the newest frame.
    head: usize,
    /// Stream time of each slot, seconds.
    t: [f64; HISTORY],
    flame_n: Vec<u16>,
    flame_changed: Vec<u16>,
    flame_energy: Vec<u32>,
    flame_flip: Vec<u16>,
    hot_n: Vec<u16>,
    flame_toggled: Vec<u16>,
    flame_dy: Vec<u32>,
    flame_row: Vec<u32>,
    hot_row: Vec<u32>,
    changed_row: Vec<u32>,
    /// Per cell, bit `k` set when the cell was flame-coloured `k` frames ago.
    pub flame_on: Vec<u32>,
    /// Per cell, bit `k` set when the cell looked smoky `k` frames ago.
    pub smoky: Vec<u32>,
    /// Per cell, bit `k` set when it was in sharp motion `k` frames ago
    /// (set by the caller from the smoke model's verdict).
    pub moving: Vec<u32>,
    /// Per cell, bit `k` set when it churned `k` frames ago (the smoke
    /// model's [`churny`](super::smoke::SmokeModel::churny)).
    pub churn: Vec<u32>,
}

impl History {
    pub fn new(cells: usize) -> History {
        History {
            cells,
            len: 0,
            head: HISTORY - 1,
            t: [0.0; HISTORY],
            flame_n: vec![0; cells * HISTORY],
            flame_changed: vec![0; cells * HISTORY],
            flame_energy: vec![0; cells * HISTORY],
            flame_flip: vec![0; cells * HISTORY],
            hot_n: vec![0; cells * HISTORY],
            flame_toggled: vec![0; cells * HISTORY],
            flame_dy: vec![0; cells * HISTORY],
            flame_row: vec![0; cells * HISTORY],
            hot_row: vec![0; cells * HISTORY],
            changed_row: vec![0; cells * HISTORY],
            flame_on: vec![0; cells],
            smoky: vec![0; cells],
            moving: vec![0; cells],
            churn: vec![0; cells],
        }
    }

    /// Frames held, up to [`HISTORY`].
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds a frame's stats (taken at stream time `t`) and smoke verdicts.
    pub fn push(
        &mut self,
        t: f64,
        st: &CellStats,
        active: &[u16],
        smoky: &[bool],
        moving: &[bool],
        churny: &[bool],
    ) {
        self.head = (self.head + 1) % HISTORY;
        self.len = (self.len + 1).min(HISTORY);
        self.t[self.head] = t;
        let base = self.head * self.cells;
        self.flame_n[base..base + self.cells].copy_from_slice(&st.flame_n);
        self.flame_changed[base..base + self.cells].copy_from_slice(&st.flame_changed);
        self.flame_energy[base..base + self.cells].copy_from_slice(&st.flame_energy);
        self.flame_flip[base..base + self.cells].copy_from_slice(&st.flame_flip);
        self.hot_n[base..base + self.cells].copy_from_slice(&st.hot_n);
        self.flame_toggled[base..base + self.cells].copy_from_slice(&st.flame_toggled);
        self.flame_dy[base..base + self.cells].copy_from_slice(&st.flame_dy);
        self.flame_row[base..base + self.cells].copy_from_slice(&st.flame_row);
        self.hot_row[base..base + self.cells].copy_from_slice(&st.hot_row);
        self.changed_row[base..base + self.cells].copy_from_slice(&st.changed_row);
        // `c` indexes several parallel per-cell arrays.
        #[allow(clippy::needless_range_loop)]
        for c in 0..self.cells {
            // A cell is "on" when a quarter of its pixels (at least two) are flame-coloured.
            let on = st.flame_n[c] >= (active[c] / 4).max(2);
            self.flame_on[c] = (self.flame_on[c] << 1) | on as u32;
            let s = smoky.get(c).copied().unwrap_or(false);
            self.smoky[c] = (self.smoky[c] << 1) | s as u32;
            let m = moving.get(c).copied().unwrap_or(false);
            self.moving[c] = (self.moving[c] << 1) | m as u32;
            let ch = churny.get(c).copied().unwrap_or(false);
            self.churn[c] = (self.churn[c] << 1) | ch as u32;
        }
    }

    fn slot(&self, age: usize) -> usize {
        (self.head + HISTORY - age) % HISTORY
    }

    /// Stream time of the frame `age` frames ago (0 = newest).
    pub fn time(&self, age: usize) -> f64 {
        self.t[self.slot(age)]
    }

    /// Frames (at most `len`) whose time lies within `seconds` of the newest.
    pub fn frames_within(&self, seconds: f64) -> usize {
        let now = self.time(0);
        (0..self.len)
            .take_while(|&a| now - self.time(a) <= seconds + 1e-6)
            .count()
    }

    pub fn flame_n(&self, age: usize, cell: usize) -> u16 {
        self.flame_n[self.slot(age) * self.cells + cell]
    }

    pub fn flame_changed(&self, age: usize, cell: usize) -> u16 {
        self.flame_changed[self.slot(age) * self.cells + cell]
    }

    pub fn flame_energy(&self, age: usize, cell: usize) -> u32 {
        self.flame_energy[self.slot(age) * self.cells + cell]
    }

    pub fn flame_flip(&self, age: usize, cell: usize) -> u16 {
        self.flame_flip[self.slot(age) * self.cells + cell]
    }

    pub fn hot_n(&self, age: usize, cell: usize) -> u16 {
        self.hot_n[self.slot(age) * self.cells + cell]
    }

    pub fn flame_toggled(&self, age: usize, cell: usize) -> u16 {
        self.flame_toggled[self.slot(age) * self.cells + cell]
    }

    pub fn flame_dy(&self, age: usize, cell: usize) -> u32 {
        self.flame_dy[self.slot(age) * self.cells + cell]
    }

    /// Row sums of the flame, hot and changed pixels (see [`CellStats::flame_row`]).
    pub fn rows(&self, age: usize, cell: usize) -> (u32, u32, u32) {
        let i = self.slot(age) * self.cells + cell;
        (self.flame_row[i], self.hot_row[i], self.changed_row[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_for_640x360() {
        let g = Grid::new(640, 360);
        assert_eq!((g.ds, g.w, g.h, g.gw, g.gh), (2, 320, 180, 80, 45));
        assert_eq!(g.cell_of(319, 179), 80 * 45 - 1);
    }

    #[test]
    fn flame_rule_accepts_flame_rejects_sky_and_grey() {
        let m = FrameMeans {
            y: 60,
            cb: 128,
            cr: 128,
            grey: false,
        };
        assert!(is_flame_colour([255, 150, 30], &m), "orange");
        assert!(is_flame_colour([255, 220, 90], &m), "yellow");
        assert!(is_flame_colour([255, 250, 235], &m), "white-hot core");
        assert!(!is_flame_colour([90, 140, 230], &m), "blue");
        assert!(!is_flame_colour([128, 128, 128], &m), "grey");
        assert!(!is_flame_colour([120, 50, 10], &m), "dim brown");
        let ir = FrameMeans { grey: true, ..m };
        assert!(is_flame_colour([240, 240, 240], &ir));
        assert!(!is_flame_colour([150, 150, 150], &ir));
    }

    #[test]
    fn history_ring_keeps_newest_first() {
        let mut h = History::new(1);
        let mut st = CellStats::zeroed(1);
        for i in 0..40u16 {
            st.flame_n[0] = i;
            h.push(i as f64 * 0.1, &st, &[16], &[false], &[false], &[false]);
        }
        assert_eq!(h.len(), HISTORY);
        assert_eq!(h.flame_n(0, 0), 39);
        assert_eq!(h.flame_n(31, 0), 8);
        assert_eq!(h.frames_within(1.0), 11);
    }
}
