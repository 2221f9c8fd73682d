//! The background model that finds small moving things on a facade.
//!
//! Per pixel it keeps a running-average background (`bg`) and a running mean
//! of how far the pixel strays from it (`dev`, the noise level). A pixel is
//! foreground when, after removing the frame's global brightness change, it
//! lies further than its threshold outside the *envelope* of the background
//! in its `(2r+1)²` neighbourhood (the min and max of `bg` around it). The
//! envelope makes a shake of up to `r` pixels invisible: a shifted edge still
//! falls inside the range its neighbours span. The global brightness change is
//! the median difference between frame and background over a sparse sample,
//! so a cloud or an exposure step does not light up the whole facade.
//! A frame where more than a fifth of the region still changes is treated as
//! a scene change (lights, IR switching, a big jolt): the background is reset
//! to it and no foreground is reported.

/// Fraction of the region that, when foreground, counts as a scene change.
const SCENE_CHANGE_FRACTION: f32 = 0.2;
/// Multiplier of the per-pixel noise level added to the threshold.
const NOISE_K: f32 = 4.0;
/// Frames at the start (and after a scene change) used only to learn.
const WARM_UP_FRAMES: u32 = 3;

/// Foreground found in one frame.
#[derive(Debug, Clone)]
pub struct Foreground {
    /// One byte per pixel, row-major: 1 where foreground, else 0.
    pub mask: Vec<u8>,
    /// Number of foreground pixels.
    pub count: usize,
    /// The global brightness change removed (frame minus background, luma).
    pub offset: i32,
    /// True when the frame was treated as a scene change (mask empty).
    pub scene_change: bool,
}

/// See the module doc.
#[derive(Debug, Clone)]
pub struct BackgroundModel {
    width: usize,
    height: usize,
    /// Region to analyse (facade minus excluded zones), one bool per pixel.
    roi: Vec<bool>,
    roi_area: usize,
    bg: Vec<f32>,
    dev: Vec<f32>,
    /// Background rounded to bytes, and its neighbourhood min and max.
    bg8: Vec<u8>,
    lo: Vec<u8>,
    hi: Vec<u8>,
    tmp_lo: Vec<u8>,
    tmp_hi: Vec<u8>,
    threshold: f32,
    radius: usize,
    learn_s: f32,
    frames: u32,
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
        let roi = if roi.len() == n { roi } else { vec![true; n] };
        let roi_area = roi.iter().filter(|b| **b).count();
        BackgroundModel {
            width: width as usize,
            height: height as usize,
            roi,
            roi_area,
            bg: vec![0.0; n],
            dev: vec![0.0; n],
            bg8: vec![0; n],
            lo: vec![0; n],
            hi: vec![0; n],
            tmp_lo: vec![0; n],
            tmp_hi: vec![0; n],
            threshold: threshold as f32,
            radius: radius as usize,
            learn_s,
            frames: 0,
        }
    }

    /// Number of pixels looked at.
    pub fn roi_area(&self) -> usize {
        self.roi_area
    }

    /// Takes one luma frame, `dt_s` seconds after the previous one, and
    /// returns its foreground; learns from it afterwards.
    // The per-pixel loops walk several parallel arrays by index on purpose.
    #[allow(clippy::needless_range_loop)]
    pub fn apply(&mut self, luma: &[u8], dt_s: f32) -> Foreground {
        let n = self.width * self.height;
        let mut fg = Foreground {
            mask: vec![0; n],
            count: 0,
            offset: 0,
            scene_change: false,
        };
        if luma.len() != n {
            return fg;
        }
        if self.frames == 0 {
            self.reset(luma);
            return fg;
        }
        self.frames = self.frames.saturating_add(1);
        let alpha = (dt_s.max(0.0) / self.learn_s).clamp(0.002, 0.5);
        // Learn fast right after start: a cumulative mean of the first frames.
        let alpha = alpha.max(1.0 / self.frames as f32);
        if self.frames <= WARM_UP_FRAMES {
            self.learn(luma, None, 0, alpha);
            return fg;
        }
        self.envelope();
        let offset = self.global_offset(luma);
        fg.offset = offset;
        let mut count = 0usize;
        for i in 0..n {
            if !self.roi[i] {
                continue;
            }
            let c = luma[i] as i32 - offset;
            let excess = (c - self.hi[i] as i32).max(self.lo[i] as i32 - c).max(0) as f32;
            let thr = self.threshold.max(NOISE_K * self.dev[i]);
            if excess > thr {
                fg.mask[i] = 1;
                count += 1;
            }
        }
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
            return fg;
        }
        self.learn(luma, Some(&fg.mask), offset, alpha);
        fg
    }

    fn reset(&mut self, luma: &[u8]) {
        for (i, &l) in luma.iter().enumerate() {
            self.bg[i] = l as f32;
            self.bg8[i] = l;
            self.dev[i] = 1.0;
        }
        self.frames = 1;
    }

    /// Moves the background towards the frame. Foreground pixels learn at a
    /// quarter of the rate, so a passing object leaves no trace but a light
    /// that stays on is absorbed in a few `learn_s`.
    #[allow(clippy::needless_range_loop)]
    fn learn(&mut self, luma: &[u8], mask: Option<&[u8]>, offset: i32, alpha: f32) {
        let slow = alpha * 0.25;
        for i in 0..luma.len() {
            let is_fg = mask.is_some_and(|m| m[i] != 0);
            let a = if is_fg { slow } else { alpha };
            let l = luma[i] as f32;
            self.bg[i] += (l - self.bg[i]) * a;
            self.bg8[i] = self.bg[i].round().clamp(0.0, 255.0) as u8;
            if !is_fg {
                let c = luma[i] as i32 - offset;
                let excess = (c - self.hi[i] as i32).max(self.lo[i] as i32 - c).max(0) as f32;
                self.dev[i] += (excess - self.dev[i]) * alpha;
            }
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
                if self.roi[i] {
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
    /// neighbourhood, separably (rows, then columns).
    fn envelope(&mut self) {
        let (w, h, r) = (self.width, self.height, self.radius);
        if r == 0 {
            self.lo.copy_from_slice(&self.bg8);
            self.hi.copy_from_slice(&self.bg8);
            return;
        }
        for y in 0..h {
            let row = &self.bg8[y * w..(y + 1) * w];
            for x in 0..w {
                let (a, b) = (x.saturating_sub(r), (x + r).min(w - 1));
                let (mut mn, mut mx) = (255u8, 0u8);
                for &v in &row[a..=b] {
                    mn = mn.min(v);
                    mx = mx.max(v);
                }
                self.tmp_lo[y * w + x] = mn;
                self.tmp_hi[y * w + x] = mx;
            }
        }
        for y in 0..h {
            let (a, b) = (y.saturating_sub(r), (y + r).min(h - 1));
            for x in 0..w {
                let (mut mn, mut mx) = (255u8, 0u8);
                for yy in a..=b {
                    mn = mn.min(self.tmp_lo[yy * w + x]);
                    mx = mx.max(self.tmp_hi[yy * w + x]);
                }
                self.lo[y * w + x] = mn;
                self.hi[y * w + x] = mx;
            }
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
        assert_eq!(fg.mask[10 * w + 20], 1);
    }

    #[test]
    fn one_pixel_shake_and_brightness_step_are_not_foreground() {
        let (w, h) = (48, 32);
        let mut m = model(w, h);
        for k in 0..10 {
            m.apply(&card(w, h, 0, 0, k), 0.1);
        }
        assert_eq!(m.apply(&card(w, h, 1, 0, 50), 0.1).count, 0, "shake right");
        assert_eq!(m.apply(&card(w, h, -1, 0, 51), 0.1).count, 0, "shake left");
        let fg = m.apply(&card(w, h, 0, 30, 52), 0.1);
        assert_eq!(fg.count, 0, "brightness step");
        assert!((fg.offset - 30).abs() <= 2, "offset {}", fg.offset);
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
