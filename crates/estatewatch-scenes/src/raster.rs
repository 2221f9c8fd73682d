//! Drawing on an RGB frame: the few primitives the scenes need (rectangles,
//! polygons, ellipses, thick lines, gradients, glows, texture), with
//! anti-aliasing by supersampling so that small, slowly moving objects move
//! smoothly at sub-pixel steps.

use super::rng::Rng;

/// An RGB colour, 0..=255 per channel, as floats so blends do not round early.
pub type Rgb = [f32; 3];

/// A packed RGB8 frame, row-major, 3 bytes per pixel.
#[derive(Debug, Clone)]
pub struct Canvas {
    pub w: usize,
    pub h: usize,
    pub px: Vec<u8>,
}

/// Linear blend of two colours.
pub fn mix(a: Rgb, b: Rgb, t: f32) -> Rgb {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

/// Scales a colour's brightness.
pub fn shade(c: Rgb, k: f32) -> Rgb {
    [c[0] * k, c[1] * k, c[2] * k]
}

/// BT.601 luma of a colour.
pub fn luma(c: Rgb) -> f32 {
    0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]
}

fn clamp_u8(v: f32) -> u8 {
    v.clamp(0.0, 255.0) as u8
}

impl Canvas {
    pub fn new(w: usize, h: usize, c: Rgb) -> Canvas {
        let mut px = Vec::with_capacity(w * h * 3);
        for _ in 0..w * h {
            px.extend_from_slice(&[clamp_u8(c[0]), clamp_u8(c[1]), clamp_u8(c[2])]);
        }
        Canvas { w, h, px }
    }

    pub fn get(&self, x: usize, y: usize) -> Rgb {
        let i = (y * self.w + x) * 3;
        [
            self.px[i] as f32,
            self.px[i + 1] as f32,
            self.px[i + 2] as f32,
        ]
    }

    /// Blends `c` into pixel (x, y) with opacity `a` (0..=1); out of range is ignored.
    pub fn blend(&mut self, x: i64, y: i64, c: Rgb, a: f32) {
        if x < 0 || y < 0 || x >= self.w as i64 || y >= self.h as i64 || a <= 0.0 {
            return;
        }
        let i = (y as usize * self.w + x as usize) * 3;
        let a = a.min(1.0);
        for (p, ck) in self.px[i..i + 3].iter_mut().zip(c) {
            let old = *p as f32;
            *p = clamp_u8(old + (ck - old) * a);
        }
    }

    /// Adds light `c * a` to pixel (x, y) (saturating).
    pub fn add(&mut self, x: i64, y: i64, c: Rgb, a: f32) {
        if x < 0 || y < 0 || x >= self.w as i64 || y >= self.h as i64 || a <= 0.0 {
            return;
        }
        let i = (y as usize * self.w + x as usize) * 3;
        for (p, ck) in self.px[i..i + 3].iter_mut().zip(c) {
            *p = clamp_u8(*p as f32 + ck * a);
        }
    }

    /// Fills any shape given by an inside test, over the pixel box
    /// `[x0, x1) × [y0, y1)`, with `ss × ss` samples per pixel for soft edges.
    pub fn fill_with(
        &mut self,
        bbox: (f32, f32, f32, f32),
        ss: usize,
        c: Rgb,
        alpha: f32,
        inside: impl Fn(f32, f32) -> bool,
    ) {
        let (x0, y0, x1, y1) = self.clip_box(bbox);
        let ss = ss.max(1);
        let step = 1.0 / ss as f32;
        let n = (ss * ss) as f32;
        for y in y0..y1 {
            for x in x0..x1 {
                let mut hits = 0usize;
                for sy in 0..ss {
                    for sx in 0..ss {
                        let px = x as f32 + (sx as f32 + 0.5) * step;
                        let py = y as f32 + (sy as f32 + 0.5) * step;
                        if inside(px, py) {
                            hits += 1;
                        }
                    }
                }
                if hits > 0 {
                    self.blend(x, y, c, alpha * hits as f32 / n);
                }
            }
        }
    }

    fn clip_box(&self, (x0, y0, x1, y1): (f32, f32, f32, f32)) -> (i64, i64, i64, i64) {
        (
            (x0.floor() as i64).max(0),
            (y0.floor() as i64).max(0),
            (x1.ceil() as i64).min(self.w as i64),
            (y1.ceil() as i64).min(self.h as i64),
        )
    }

    /// Axis-aligned rectangle `[x0, x1) × [y0, y1)` with soft edges.
    pub fn rect(&mut self, x0: f32, y0: f32, x1: f32, y1: f32, c: Rgb, alpha: f32) {
        let (ix0, iy0, ix1, iy1) = self.clip_box((x0, y0, x1, y1));
        for y in iy0..iy1 {
            let cy = overlap(y as f32, y0, y1);
            for x in ix0..ix1 {
                let cov = cy * overlap(x as f32, x0, x1);
                self.blend(x, y, c, alpha * cov);
            }
        }
    }

    /// Ellipse centred at (cx, cy) with radii rx, ry, rotated by `rot` radians.
    #[allow(clippy::too_many_arguments)] // plain drawing call: centre, radii, angle, colour, opacity
    pub fn ellipse(&mut self, cx: f32, cy: f32, rx: f32, ry: f32, rot: f32, c: Rgb, alpha: f32) {
        let r = rx.max(ry) + 1.0;
        let (s, co) = rot.sin_cos();
        let (rx, ry) = (rx.max(0.3), ry.max(0.3));
        let ss = if r < 30.0 { 3 } else { 1 };
        self.fill_with((cx - r, cy - r, cx + r, cy + r), ss, c, alpha, |x, y| {
            let (dx, dy) = (x - cx, y - cy);
            let u = dx * co + dy * s;
            let v = -dx * s + dy * co;
            (u / rx).powi(2) + (v / ry).powi(2) <= 1.0
        });
    }

    /// Filled polygon (even-odd rule).
    pub fn polygon(&mut self, pts: &[(f32, f32)], c: Rgb, alpha: f32, ss: usize) {
        if pts.len() < 3 {
            return;
        }
        let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for &(x, y) in pts {
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
        }
        self.fill_with((x0, y0, x1 + 1.0, y1 + 1.0), ss, c, alpha, |x, y| {
            estatewatch::base::point_in_polygon(x, y, pts)
        });
    }

    /// A thick line with round caps (a capsule) from (x0, y0) to (x1, y1).
    #[allow(clippy::too_many_arguments)] // plain drawing call: two points, width, colour, opacity
    pub fn line(&mut self, x0: f32, y0: f32, x1: f32, y1: f32, width: f32, c: Rgb, alpha: f32) {
        let r = (width / 2.0).max(0.35);
        let bbox = (
            x0.min(x1) - r - 1.0,
            y0.min(y1) - r - 1.0,
            x0.max(x1) + r + 1.0,
            y0.max(y1) + r + 1.0,
        );
        let (dx, dy) = (x1 - x0, y1 - y0);
        let len2 = (dx * dx + dy * dy).max(1e-6);
        self.fill_with(bbox, 2, c, alpha, |x, y| {
            let t = (((x - x0) * dx + (y - y0) * dy) / len2).clamp(0.0, 1.0);
            let (px, py) = (x0 + t * dx - x, y0 + t * dy - y);
            px * px + py * py <= r * r
        });
    }

    /// Vertical gradient over rows `y0..y1` from `top` to `bottom`.
    pub fn vgradient(&mut self, y0: usize, y1: usize, top: Rgb, bottom: Rgb) {
        let y1 = y1.min(self.h);
        let span = (y1.saturating_sub(y0)).max(1) as f32;
        for y in y0..y1 {
            let c = mix(top, bottom, (y - y0) as f32 / span);
            let row = &mut self.px[y * self.w * 3..(y + 1) * self.w * 3];
            for p in row.chunks_exact_mut(3) {
                p[0] = clamp_u8(c[0]);
                p[1] = clamp_u8(c[1]);
                p[2] = clamp_u8(c[2]);
            }
        }
    }

    /// Adds a soft radial light: `c * strength * (1 - d/r)^2` within radius r.
    pub fn glow(&mut self, cx: f32, cy: f32, r: f32, c: Rgb, strength: f32) {
        let (x0, y0, x1, y1) = self.clip_box((cx - r, cy - r, cx + r, cy + r));
        for y in y0..y1 {
            for x in x0..x1 {
                let d = ((x as f32 + 0.5 - cx).powi(2) + (y as f32 + 0.5 - cy).powi(2)).sqrt();
                if d < r {
                    let k = (1.0 - d / r).powi(2);
                    self.add(x, y, c, strength * k);
                }
            }
        }
    }

    /// Multiplies the pixels of a soft ellipse (centre, radii) by up to `1 +
    /// gain`, falling off smoothly to 1 at its rim: light added to a surface
    /// scales its texture with its brightness.
    pub fn scale_soft(&mut self, cx: f32, cy: f32, rx: f32, ry: f32, gain: f32) {
        let (x0, y0, x1, y1) = self.clip_box((cx - rx, cy - ry, cx + rx, cy + ry));
        for y in y0..y1 {
            for x in x0..x1 {
                let dx = (x as f32 + 0.5 - cx) / rx.max(1e-3);
                let dy = (y as f32 + 0.5 - cy) / ry.max(1e-3);
                let d2 = dx * dx + dy * dy;
                if d2 < 1.0 {
                    let k = 1.0 + gain * (1.0 - d2).powi(2);
                    let i = (y as usize * self.w + x as usize) * 3;
                    for p in &mut self.px[i..i + 3] {
                        *p = clamp_u8(*p as f32 * k);
                    }
                }
            }
        }
    }

    /// Multiplies every pixel in a box by `k` per channel (shadows, light changes).
    pub fn scale_box(&mut self, x0: f32, y0: f32, x1: f32, y1: f32, k: Rgb) {
        let (ix0, iy0, ix1, iy1) = self.clip_box((x0, y0, x1, y1));
        for y in iy0..iy1 {
            for x in ix0..ix1 {
                let i = (y as usize * self.w + x as usize) * 3;
                for (p, kc) in self.px[i..i + 3].iter_mut().zip(k) {
                    *p = clamp_u8(*p as f32 * kc);
                }
            }
        }
    }

    /// Static texture: adds uniform noise of ±`amp` (same on all channels) in a box.
    pub fn texture(&mut self, x0: f32, y0: f32, x1: f32, y1: f32, amp: f32, rng: &mut Rng) {
        let (ix0, iy0, ix1, iy1) = self.clip_box((x0, y0, x1, y1));
        for y in iy0..iy1 {
            for x in ix0..ix1 {
                let d = rng.range(-amp, amp);
                let i = (y as usize * self.w + x as usize) * 3;
                for c in 0..3 {
                    self.px[i + c] = clamp_u8(self.px[i + c] as f32 + d);
                }
            }
        }
    }

    /// Copies `other` (same size) into this canvas.
    pub fn copy_from(&mut self, other: &Canvas) {
        self.px.copy_from_slice(&other.px);
    }
}

/// How much of the unit interval `[p, p+1)` lies inside `[a, b)`.
fn overlap(p: f32, a: f32, b: f32) -> f32 {
    ((p + 1.0).min(b) - p.max(a)).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rect_covers_partial_pixels_proportionally() {
        let mut c = Canvas::new(4, 1, [0.0; 3]);
        c.rect(0.5, 0.0, 2.0, 1.0, [200.0; 3], 1.0);
        assert_eq!(c.px[0], 100);
        assert_eq!(c.px[3], 200);
        assert_eq!(c.px[6], 0);
    }

    #[test]
    fn ellipse_area_is_about_pi_r_squared() {
        let mut c = Canvas::new(40, 40, [0.0; 3]);
        c.ellipse(20.0, 20.0, 8.0, 8.0, 0.0, [255.0; 3], 1.0);
        let sum: f32 = c.px.iter().step_by(3).map(|&v| v as f32 / 255.0).sum();
        let expected = std::f32::consts::PI * 64.0;
        assert!(
            (sum - expected).abs() < expected * 0.05,
            "{sum} vs {expected}"
        );
    }

    #[test]
    fn drawing_outside_the_canvas_is_ignored() {
        let mut c = Canvas::new(8, 8, [10.0; 3]);
        c.line(-50.0, -50.0, -20.0, -10.0, 3.0, [255.0; 3], 1.0);
        c.rect(100.0, 100.0, 120.0, 120.0, [255.0; 3], 1.0);
        assert!(c.px.iter().all(|&v| v == 10));
    }
}
