//! The background model that finds small moving things on a facade.
//!
//! Per pixel it keeps a background *range* `[lo_bg, hi_bg]` — running
//! averages that widen quickly towards values outside them and narrow slowly,
//! so a pixel on an edge that the camera's sway moves back and forth keeps
//! both sides — and a running mean of how far the pixel strays beyond its
//! envelope (`dev`, the noise level). A pixel is foreground when, after
//! removing the frame's global brightness change, it lies further than its
//! threshold outside the *envelope*: the min of `lo_bg` and the max of
//! `hi_bg` over its `(2r+1)²` neighbourhood. The envelope makes a shake of up
//! to `r` pixels invisible: a shifted edge still falls inside the range its
//! neighbours span. While the camera shakes by fractions of a pixel, a
//! pixel on static structure must also exceed a headroom: the measured
//! sub-pixel shake times the envelope's width beyond noise (see
//! [`BackgroundModel::set_subpixel_shake`]). The global brightness change is
//! the median difference between frame and background over a sparse sample,
//! so a cloud or an exposure step does not light up the whole facade.
//! A frame where more than a fifth of the region still changes is treated as
//! a scene change (lights, IR switching, a big jolt): the background is reset
//! to it and no foreground is reported.

/// Fraction of the region that, when foreground, counts as a scene change.
const SCENE_CHANGE_FRACTION: f32 = 0.2;
/// Multiplier of the per-pixel noise level added to the threshold.
const NOISE_K: i32 = 4;
/// Headroom per pixel of sub-pixel shake, as a share of the envelope's
/// width ([`BackgroundModel::set_subpixel_shake`]).
const HEADROOM_K: f32 = 1.5;
/// Frames at the start (and after a scene change) used only to learn.
const WARM_UP_FRAMES: u32 = 3;

/// Mask value of a pixel beyond its threshold.
pub const STRONG: u8 = 2;
/// Mask value of a pixel beyond half its threshold: it joins a blob only
/// when connected to a strong pixel (hysteresis), so a faint object's blob
/// keeps its shape without noise making blobs of its own.
pub const WEAK: u8 = 1;

/// Foreground found in one frame.
#[derive(Debug, Clone, Default)]
pub struct Foreground {
    /// One byte per pixel, row-major: [`STRONG`], [`WEAK`] or 0.
    pub mask: Vec<u8>,
    /// Number of strong foreground pixels.
    pub count: usize,
    /// The global brightness change removed (frame minus background, luma).
    pub offset: i32,
    /// True when the frame was treated as a scene change (mask empty).
    pub scene_change: bool,
}

/// See the module doc.
///
/// Storage is fixed point so the per-pixel loops vectorise: the background
/// and the noise level are kept ×256 in `u16`.
#[derive(Debug, Clone)]
pub struct BackgroundModel {
    width: usize,
    height: usize,
    /// Region to analyse (facade minus excluded zones): 1 inside, 0 outside.
    roi: Vec<u8>,
    roi_area: usize,
    /// Background range, luma ×256.
    lo_bg: Vec<u16>,
    hi_bg: Vec<u16>,
    /// Mean excess beyond the envelope (the noise level) ×256.
    dev: Vec<u16>,
    /// Per-pixel strong threshold: max(`threshold`, NOISE_K × noise).
    thr: Vec<u8>,
    /// This frame's excess beyond the envelope, per pixel (scratch).
    excess: Vec<u8>,
    /// Middle of the background range, and the range ends, as bytes.
    bg8: Vec<u8>,
    lo8: Vec<u8>,
    hi8: Vec<u8>,
    /// The envelope: neighbourhood min of `lo8` and max of `hi8`.
    lo: Vec<u8>,
    hi: Vec<u8>,
    tmp_lo: Vec<u8>,
    tmp_hi: Vec<u8>,
    /// Scratch for [`translate`](Self::translate)'s 16-bit planes.
    tmp16: Vec<u16>,
    threshold: u8,
    radius: usize,
    learn_s: f32,
    frames: u32,
    /// Headroom per grey level of envelope width, ×256: the measured
    /// sub-pixel shake ([`set_subpixel_shake`](Self::set_subpixel_shake)).
    headroom: i16,
}

impl BackgroundModel {
    /// A model for `width`×`height` frames looking only at `roi` pixels.
    /// `threshold` is the smallest luma difference that counts, `radius` the
    /// shake tolerated in pixels, `learn_s` the adaptation time in seconds.
    pub fn new(
        width: u32,
        height: u32,
        roi: Vec<bool>,
        threshold: u8,
        radius: u8,
        learn_s: f32,
    ) -> BackgroundModel {
        let n = width as usize * height as usize;
        let (w, h, r) = (width as usize, height as usize, radius as usize);
        let mut roi: Vec<u8> = if roi.len() == n {
            roi.iter().map(|b| *b as u8).collect()
        } else {
            vec![1; n]
        };
        // Within `radius` of the frame's edge a shake brings in picture the
        // background has never seen: leave that border out.
        for y in 0..h {
            for x in 0..w {
                if x < r || y < r || x + r >= w || y + r >= h {
                    roi[y * w + x] = 0;
                }
            }
        }
        let roi_area = roi.iter().filter(|b| **b != 0).count();
        BackgroundModel {
            width: width as usize,
            height: height as usize,
            roi,
            roi_area,
            lo_bg: vec![0; n],
            hi_bg: vec![0; n],
            dev: vec![0; n],
            thr: vec![threshold.max(1); n],
            excess: vec![0; n],
            bg8: vec![0; n],
            lo8: vec![0; n],
            hi8: vec![0; n],
            lo: vec![0; n],
            hi: vec![0; n],
            tmp_lo: vec![0; n],
            tmp_hi: vec![0; n],
            tmp16: Vec::new(),
            threshold: threshold.max(1),
            radius: radius as usize,
            learn_s,
            frames: 0,
            headroom: 0,
        }
    }

    /// Sets how far, in pixels, the frames are typically out of line with
    /// the background after whole-pixel compensation (the mean sub-pixel
    /// rest of the measured shift, 0..=0.5). A pixel's difference must then
    /// exceed that share of its envelope's width as well: on static
    /// high-contrast structure (a rough facade, window frames) a sub-pixel
    /// move changes a pixel by about the local contrast times the move,
    /// which the envelope alone does not cover when its range was learnt
    /// from frames blurred by the same shake. Flat areas, where small dim
    /// objects are seen, keep their threshold.
    pub fn set_subpixel_shake(&mut self, px: f32) {
        self.headroom = (px.clamp(0.0, 0.5) * HEADROOM_K * 256.0).round() as i16;
    }

    /// Number of pixels looked at.
    pub fn roi_area(&self) -> usize {
        self.roi_area
    }

    /// Takes one luma frame, `dt_s` seconds after the previous one, and
    /// returns its foreground; learns from it afterwards.
    pub fn apply(&mut self, luma: &[u8], dt_s: f32) -> Foreground {
        let mut fg = Foreground::default();
        self.apply_into(luma, dt_s, &mut fg);
        fg
    }

    /// [`apply`](Self::apply) into `fg`, reusing its mask's storage (no
    /// allocation per frame once the mask has its size).
    pub fn apply_into(&mut self, luma: &[u8], dt_s: f32, fg: &mut Foreground) {
        let n = self.width * self.height;
        fg.mask.clear();
        fg.mask.resize(n, 0);
        fg.count = 0;
        fg.offset = 0;
        fg.scene_change = false;
        if luma.len() != n {
            return;
        }
        if self.frames == 0 {
            self.reset(luma);
            return;
        }
        self.frames = self.frames.saturating_add(1);
        let alpha = (dt_s.max(0.0) / self.learn_s).clamp(0.002, 0.5);
        // Learn fast right after start: a cumulative mean of the first frames.
        let alpha = alpha.max(1.0 / self.frames as f32);
        if self.frames <= WARM_UP_FRAMES {
            self.excess.iter_mut().for_each(|e| *e = 0);
            self.learn(luma, &fg.mask, alpha);
            return;
        }
        self.envelope();
        let offset = self.global_offset(luma);
        fg.offset = offset;
        self.classify(luma, offset, &mut fg.mask);
        let count = fg.mask.iter().filter(|m| **m == STRONG).count();
        fg.count = count;
        if count as f32 > SCENE_CHANGE_FRACTION * self.roi_area as f32 {
            tracing::debug!(
                changed = count,
                area = self.roi_area,
                "throwing: scene change, background reset"
            );
            self.reset(luma);
            fg.mask.iter_mut().for_each(|m| *m = 0);
            fg.count = 0;
            fg.scene_change = true;
            return;
        }
        self.learn(luma, &fg.mask, alpha);
    }

    /// The background's middle, luma, one byte per pixel (the reference the
    /// frame's global shift is measured against).
    pub fn background(&self) -> &[u8] {
        &self.bg8
    }

    /// Moves the whole model by whole pixels, `by` = (dx, dy): what it showed
    /// at p it now shows at p + by (edges repeat). Used to follow a camera
    /// that drifts, so the background keeps up without re-learning.
    pub fn translate(&mut self, by: (i32, i32)) {
        if by == (0, 0) {
            return;
        }
        let (w, h) = (self.width, self.height);
        let mut t16 = std::mem::take(&mut self.tmp16);
        move_buf(&mut self.lo_bg, &mut t16, w, h, by);
        move_buf(&mut self.hi_bg, &mut t16, w, h, by);
        move_buf(&mut self.dev, &mut t16, w, h, by);
        self.tmp16 = t16;
        let mut t8 = std::mem::take(&mut self.tmp_lo);
        move_buf(&mut self.thr, &mut t8, w, h, by);
        move_buf(&mut self.bg8, &mut t8, w, h, by);
        move_buf(&mut self.lo8, &mut t8, w, h, by);
        move_buf(&mut self.hi8, &mut t8, w, h, by);
        t8.resize(w * h, 0);
        self.tmp_lo = t8;
    }

    /// Marks each pixel strong, weak or background and records its excess
    /// beyond the envelope.
    fn classify(&mut self, luma: &[u8], offset: i32, mask: &mut [u8]) {
        let n = luma.len();
        let off = offset.clamp(-255, 255) as i16;
        let (lo, hi, thr, roi) = (&self.lo[..n], &self.hi[..n], &self.thr[..n], &self.roi[..n]);
        let (excess, mask) = (&mut self.excess[..n], &mut mask[..n]);
        let k = self.headroom as i32;
        if k == 0 {
            // No shake headroom (the usual case): the plain envelope test.
            for i in 0..n {
                let c = luma[i] as i16 - off;
                let t = thr[i] as i16;
                let e = (c - hi[i] as i16).max(lo[i] as i16 - c).clamp(0, 255);
                let strong = (e > t) as u8;
                let weak = (2 * e > t) as u8;
                mask[i] = (strong + weak) * roi[i];
                excess[i] = e as u8;
            }
            return;
        }
        for i in 0..n {
            let c = luma[i] as i16 - off;
            let t = thr[i] as i16;
            // Structure: the envelope's width beyond what noise spans.
            let structure = (hi[i] as i32 - lo[i] as i32 - 2 * t as i32).max(0);
            let extra = ((structure * k) >> 8) as i16;
            let e = ((c - hi[i] as i16).max(lo[i] as i16 - c) - extra).clamp(0, 255);
            let strong = (e > t) as u8;
            let weak = (2 * e > t) as u8;
            mask[i] = (strong + weak) * roi[i];
            excess[i] = e as u8;
        }
    }

    fn reset(&mut self, luma: &[u8]) {
        for (i, &l) in luma.iter().enumerate() {
            self.lo_bg[i] = (l as u16) << 8;
            self.hi_bg[i] = (l as u16) << 8;
            self.bg8[i] = l;
            self.lo8[i] = l;
            self.hi8[i] = l;
            self.dev[i] = 256;
            self.thr[i] = self.threshold;
        }
        self.frames = 1;
    }

    /// Moves the background towards the frame. Foreground pixels learn at a
    /// quarter of the rate, so a passing object leaves no trace but a light
    /// that stays on is absorbed in a few `learn_s`. The noise level learns
    /// the same way, so an edge that a shake keeps moving raises its own
    /// threshold.
    fn learn(&mut self, luma: &[u8], mask: &[u8], alpha: f32) {
        let n = luma.len();
        let a = (alpha * 256.0).round().clamp(1.0, 128.0) as i32;
        let a_fg = (a / 4).max(1);
        let threshold = self.threshold as i32;
        // Widening towards an outside value is this many times faster.
        let a_out = (4 * a).min(128);
        let (lo_bg, hi_bg, dev, thr) = (
            &mut self.lo_bg[..n],
            &mut self.hi_bg[..n],
            &mut self.dev[..n],
            &mut self.thr[..n],
        );
        let (bg8, lo8, hi8) = (&mut self.bg8[..n], &mut self.lo8[..n], &mut self.hi8[..n]);
        let (excess, mask) = (&self.excess[..n], &mask[..n]);
        for i in 0..n {
            let is_fg = mask[i] == STRONG;
            let l = (luma[i] as i32) << 8;
            let (lo, hi) = (lo_bg[i] as i32, hi_bg[i] as i32);
            let a_lo = if is_fg {
                a_fg
            } else if l < lo {
                a_out
            } else {
                a
            };
            let a_hi = if is_fg {
                a_fg
            } else if l > hi {
                a_out
            } else {
                a
            };
            let nlo = (lo + (((l - lo) * a_lo) >> 8)).clamp(0, 65280);
            let nhi = (hi + (((l - hi) * a_hi) >> 8)).clamp(nlo, 65280);
            lo_bg[i] = nlo as u16;
            hi_bg[i] = nhi as u16;
            lo8[i] = ((nlo + 128) >> 8) as u8;
            hi8[i] = ((nhi + 128) >> 8) as u8;
            bg8[i] = ((nlo + nhi + 256) >> 9) as u8;
            let ai = if is_fg { a_fg } else { a };
            let d = dev[i] as i32;
            let nd = d + (((((excess[i] as i32) << 8) - d) * ai) >> 8);
            dev[i] = nd.clamp(0, 65280) as u16;
            thr[i] = threshold.max((NOISE_K * nd) >> 8).min(255) as u8;
        }
    }

    /// Median of frame minus background over a sparse sample of the region.
    fn global_offset(&self, luma: &[u8]) -> i32 {
        let mut hist = [0u32; 511];
        let mut total = 0u32;
        for y in (0..self.height).step_by(4) {
            let row = y * self.width;
            for x in ((y / 4) % 4..self.width).step_by(4) {
                let i = row + x;
                if self.roi[i] != 0 {
                    hist[(luma[i] as i32 - self.bg8[i] as i32 + 255) as usize] += 1;
                    total += 1;
                }
            }
        }
        if total == 0 {
            return 0;
        }
        let half = total / 2;
        let mut acc = 0;
        for (k, h) in hist.iter().enumerate() {
            acc += h;
            if acc > half {
                return k as i32 - 255;
            }
        }
        0
    }

    /// Recomputes `lo`/`hi`: min and max of the background over the
    /// `(2r+1)²` neighbourhood, as `r` passes of a 3×3 min/max, each
    /// separable (rows, then columns).
    fn envelope(&mut self) {
        self.lo.copy_from_slice(&self.lo8);
        self.hi.copy_from_slice(&self.hi8);
        for _ in 0..self.radius {
            rows_3(&self.lo, &mut self.tmp_lo, self.width, u8::min);
            rows_3(&self.hi, &mut self.tmp_hi, self.width, u8::max);
            cols_3(&self.tmp_lo, &mut self.lo, self.width, u8::min);
            cols_3(&self.tmp_hi, &mut self.hi, self.width, u8::max);
        }
    }
}

/// Moves a `w`×`h` plane by whole pixels: `buf(p) = old(p − by)`, the
/// edges repeated (`tmp` is scratch). Rows are moved as slices, so a drift
/// step costs about one copy of the plane.
fn move_buf<T: Copy>(buf: &mut [T], tmp: &mut Vec<T>, w: usize, h: usize, by: (i32, i32)) {
    if w == 0 || h == 0 || buf.len() < w * h {
        return;
    }
    tmp.clear();
    tmp.extend_from_slice(&buf[..w * h]);
    let shift = by.0.unsigned_abs() as usize;
    for y in 0..h {
        let sy = (y as i64 - by.1 as i64).clamp(0, h as i64 - 1) as usize;
        let src = &tmp[sy * w..(sy + 1) * w];
        let dst = &mut buf[y * w..(y + 1) * w];
        if shift >= w {
            // Everything comes from the edge column.
            let edge = if by.0 > 0 { src[0] } else { src[w - 1] };
            dst.iter_mut().for_each(|d| *d = edge);
        } else if by.0 >= 0 {
            // dst[x] = src[x − shift], the left edge repeated.
            dst[shift..].copy_from_slice(&src[..w - shift]);
            dst[..shift].iter_mut().for_each(|d| *d = src[0]);
        } else {
            // dst[x] = src[x + shift], the right edge repeated.
            dst[..w - shift].copy_from_slice(&src[shift..]);
            dst[w - shift..].iter_mut().for_each(|d| *d = src[w - 1]);
        }
    }
}

/// `dst[x] = f(src[x-1], src[x], src[x+1])` along each row (edges clamp).
fn rows_3(src: &[u8], dst: &mut [u8], w: usize, f: fn(u8, u8) -> u8) {
    if w < 2 {
        dst.copy_from_slice(src);
        return;
    }
    for (s, d) in src.chunks_exact(w).zip(dst.chunks_exact_mut(w)) {
        d[0] = f(s[0], s[1]);
        d[w - 1] = f(s[w - 2], s[w - 1]);
        for (((o, a), b), c) in d[1..w - 1]
            .iter_mut()
            .zip(&s[..w - 2])
            .zip(&s[1..w - 1])
            .zip(&s[2..])
        {
            *o = f(f(*a, *b), *c);
        }
    }
}

/// `dst[y] = f(src[y-1], src[y], src[y+1])` down each column (edges clamp).
fn cols_3(src: &[u8], dst: &mut [u8], w: usize, f: fn(u8, u8) -> u8) {
    let h = src.len() / w.max(1);
    for y in 0..h {
        let (a, b, c) = (y.saturating_sub(1), y, (y + 1).min(h - 1));
        let (ra, rb, rc) = (
            &src[a * w..(a + 1) * w],
            &src[b * w..(b + 1) * w],
            &src[c * w..(c + 1) * w],
        );
        for (((o, x), y2), z) in dst[y * w..(y + 1) * w].iter_mut().zip(ra).zip(rb).zip(rc) {
            *o = f(f(*x, *y2), *z);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A striped, noisy test card shifted by `dx` pixels.
    fn card(w: usize, h: usize, dx: i32, gain: i32, seed: u32) -> Vec<u8> {
        let mut s = seed;
        let mut out = vec![0; w * h];
        for y in 0..h {
            for x in 0..w {
                s = s.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                let noise = ((s >> 16) % 5) as i32 - 2;
                let xs = x as i32 - dx;
                let base = if (xs / 6) % 2 == 0 { 60 } else { 160 };
                out[y * w + x] = (base + gain + noise).clamp(0, 255) as u8;
            }
        }
        out
    }

    fn model(w: usize, h: usize) -> BackgroundModel {
        BackgroundModel::new(w as u32, h as u32, vec![true; w * h], 10, 1, 4.0)
    }

    #[test]
    fn finds_a_small_dark_spot_and_nothing_else() {
        let (w, h) = (48, 32);
        let mut m = model(w, h);
        for k in 0..10 {
            assert_eq!(m.apply(&card(w, h, 0, 0, k), 0.1).count, 0);
        }
        let mut f = card(w, h, 0, 0, 99);
        for (x, y) in [(20, 10), (21, 10), (20, 11), (21, 11)] {
            f[y * w + x] = 0;
        }
        let fg = m.apply(&f, 0.1);
        assert_eq!(fg.count, 4, "exactly the spot");
        assert_eq!(fg.mask[10 * w + 20], STRONG);
        assert_eq!(fg.mask.iter().filter(|m| **m == STRONG).count(), 4);
    }

    #[test]
    fn one_pixel_shake_and_brightness_step_are_not_foreground() {
        let (w, h) = (48, 32);
        let mut m = model(w, h);
        for k in 0..40 {
            m.apply(&card(w, h, 0, 0, k), 0.1);
        }
        // A jolt either way after standing still, then a slow sway.
        assert_eq!(m.apply(&card(w, h, 1, 0, 50), 0.1).count, 0, "jolt right");
        assert_eq!(m.apply(&card(w, h, 0, 0, 51), 0.1).count, 0, "back");
        assert_eq!(m.apply(&card(w, h, -1, 0, 52), 0.1).count, 0, "jolt left");
        for (k, dx) in [0, 0, 1, 1, 1, 0, 0, -1, -1, -1, 0, 0, 1, 1]
            .iter()
            .enumerate()
        {
            let fg = m.apply(&card(w, h, *dx, 0, 60 + k as u32), 0.1);
            assert_eq!(fg.count, 0, "sway {dx} px at frame {k}");
        }
        let fg = m.apply(&card(w, h, 0, 30, 80), 0.1);
        assert_eq!(fg.count, 0, "brightness step");
        assert!((fg.offset - 30).abs() <= 2, "offset {}", fg.offset);
    }

    /// A facade with pixel-level texture (±`amp` per pixel, fixed) seen
    /// shifted by a sub-pixel (`dx`, `dy`), bilinear, plus a dark square
    /// spot of `spot` pixels at (8, 8) on a flat patch, `depth` below it.
    fn rough(w: usize, h: usize, dx: f32, dy: f32, amp: i32, spot: usize, depth: i32) -> Vec<u8> {
        let texel = |x: usize, y: usize| -> f32 {
            if x < 16 && y < 16 {
                return 140.0; // the flat patch
            }
            let s = ((x * 7919 + y * 104_729) as u32).wrapping_mul(2_654_435_761);
            140.0 + ((s >> 16) % (2 * amp as u32 + 1)) as f32 - amp as f32
        };
        let mut out = vec![0; w * h];
        for y in 0..h {
            for x in 0..w {
                let (u, v) = (x as f32 + dx, y as f32 + dy);
                let (x0, y0) = (u.floor().max(0.0) as usize, v.floor().max(0.0) as usize);
                let (fx, fy) = (u - x0 as f32, v - y0 as f32);
                let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
                let val = texel(x0, y0) * (1.0 - fx) * (1.0 - fy)
                    + texel(x1, y0) * fx * (1.0 - fy)
                    + texel(x0, y1) * (1.0 - fx) * fy
                    + texel(x1, y1) * fx * fy;
                let in_spot = (8..8 + spot).contains(&x) && (8..8 + spot).contains(&y);
                out[y * w + x] = (val - if in_spot { depth as f32 } else { 0.0 }) as u8;
            }
        }
        out
    }

    #[test]
    fn sub_pixel_shake_on_rough_texture_needs_the_headroom_and_a_dim_spot_keeps_its_own() {
        let (w, h) = (64, 48);
        let shakes = [(0.0, 0.0), (0.5, 0.0), (0.0, -0.5), (-0.4, 0.4), (0.3, 0.2)];
        let run = |headroom: f32| -> (usize, usize) {
            let mut m = model(w, h);
            m.set_subpixel_shake(headroom);
            let mut noise = 0;
            for k in 0..60 {
                let (dx, dy) = shakes[k % shakes.len()];
                let fg = m.apply(&rough(w, h, dx, dy, 28, 0, 0), 1.0 / 15.0);
                if k >= 30 {
                    noise += fg.count;
                }
            }
            // A dim 3×3 spot on the flat patch, 14 below it.
            let fg = m.apply(&rough(w, h, 0.0, 0.0, 28, 3, 14), 1.0 / 15.0);
            let spot = (8..11)
                .flat_map(|y| (8..11).map(move |x| y * w + x))
                .filter(|i| fg.mask[*i] == STRONG)
                .count();
            (noise, spot)
        };
        let (noise_without, _) = run(0.0);
        let (noise_with, spot_with) = run(0.3);
        assert!(
            noise_without > 50,
            "the texture must flicker under this shake: {noise_without}"
        );
        assert!(
            noise_with * 10 < noise_without,
            "headroom cuts the flicker: {noise_with} of {noise_without}"
        );
        assert_eq!(spot_with, 9, "the dim spot on the flat patch is whole");
    }

    #[test]
    fn moving_a_plane_repeats_its_edges() {
        let (w, h) = (7, 5);
        let plane: Vec<u16> = (0..(w * h) as u16).map(|v| v * 3 + 1).collect();
        for by in [
            (0, 1),
            (2, 0),
            (-3, 1),
            (1, -2),
            (-1, -1),
            (7, 0),
            (-9, 3),
            (0, -6),
        ] {
            let mut moved = plane.clone();
            move_buf(&mut moved, &mut Vec::new(), w, h, by);
            for y in 0..h {
                for x in 0..w {
                    // What the plane showed at p − by, edges clamped.
                    let sx = (x as i32 - by.0).clamp(0, w as i32 - 1) as usize;
                    let sy = (y as i32 - by.1).clamp(0, h as i32 - 1) as usize;
                    assert_eq!(
                        moved[y * w + x],
                        plane[sy * w + sx],
                        "by {by:?} at ({x}, {y})"
                    );
                }
            }
        }
    }

    #[test]
    fn a_big_change_resets_instead_of_flooding() {
        let (w, h) = (40, 20);
        let mut m = model(w, h);
        for k in 0..10 {
            m.apply(&card(w, h, 0, 0, k), 0.1);
        }
        let inverted: Vec<u8> = card(w, h, 0, 0, 7).iter().map(|v| 255 - v).collect();
        let fg = m.apply(&inverted, 0.1);
        assert!(fg.scene_change && fg.count == 0);
        assert_eq!(m.apply(&inverted, 0.1).count, 0);
    }
}
#[cfg(test)]
mod envelope_tests {
    use super::*;
    #[test]
    fn rows_and_cols() {
        let src = vec![1u8, 5, 2, 9, 0, 3, 4, 4, 4, 7, 1, 1];
        let mut d = vec![0; 12];
        rows_3(&src, &mut d, 4, u8::max);
        assert_eq!(d, vec![5, 5, 9, 9, 3, 4, 4, 4, 7, 7, 7, 1]);
        cols_3(&src, &mut d, 4, u8::min);
        assert_eq!(d, vec![0, 3, 2, 4, 0, 3, 1, 1, 0, 3, 1, 1]);
    }
}
