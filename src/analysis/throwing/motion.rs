//! Global motion compensation for the throwing analyzer: how far the whole
//! picture moved against the background (camera shake, a pole swaying in
//! the wind, a slow drift), to sub-pixel precision, and the bilinear shift
//! that undoes it before the frame is compared with the background.
//!
//! The shift is found by Lucas–Kanade on a two-level pyramid (frame and
//! background both reduced 4× and 2×): a least-squares fit of shift and
//! brightness offset over the pixels whose background gradient is clear,
//! leaving out pixels that differ by much (objects, lights), a few
//! iterations per level starting from the previous frame's shift. Reducing
//! 4× first lets it find shifts of several pixels; the 2× level refines them
//! to about a tenth of a pixel. The cost is a small fraction of the
//! background model's, and every buffer is kept between frames. The
//! analyzer undoes the shift to the nearest pixel ([`shift_plane`] with
//! whole-pixel arguments is a plain copy) and leaves the sub-pixel rest to
//! the background's envelope.

/// Largest shift believed, detect-size pixels; beyond it the frame is a
/// scene change for the background model to handle.
pub const MAX_SHIFT_PX: f32 = 8.0;
/// Smallest squared background gradient (grey levels per reduced pixel)
/// for a pixel to take part.
const MIN_GRAD2: i32 = 16;
/// Pixels differing from the shifted background by more than this (grey
/// levels) are objects, not the picture moving, and are left out.
const MAX_RESIDUAL: f32 = 24.0;
/// Iterations per pyramid level.
const ITERATIONS: usize = 3;

/// One pyramid level: the frame and the background reduced by `scale`.
#[derive(Debug, Clone, Default)]
struct Level {
    scale: usize,
    w: usize,
    h: usize,
    frame: Vec<u8>,
    background: Vec<u8>,
    /// The background's central differences (x, y) at each pixel, 0 where
    /// the gradient is too weak to take part or on the border: computed
    /// once per frame and used by every iteration, on the level visited
    /// pixel by pixel (empty on the level sampled every other pixel, where
    /// computing them all would cost more than it saves).
    grad: Vec<(i16, i16)>,
}

impl Level {
    fn new(scale: usize, width: usize, height: usize) -> Level {
        let (w, h) = (width / scale, height / scale);
        Level {
            scale,
            w,
            h,
            frame: vec![0; w * h],
            background: vec![0; w * h],
            grad: Vec::new(),
        }
    }

    /// Fills `grad` from `background`.
    fn gradients(&mut self) {
        let (w, h) = (self.w, self.h);
        let bg = &self.background;
        self.grad.clear();
        self.grad.resize(w * h, (0, 0));
        if w < 3 || h < 3 {
            return;
        }
        for y in 1..h - 1 {
            for x in 1..w - 1 {
                let i = y * w + x;
                let gx = bg[i + 1] as i32 - bg[i - 1] as i32;
                let gy = bg[i + w] as i32 - bg[i - w] as i32;
                if gx * gx + gy * gy >= 4 * MIN_GRAD2 {
                    self.grad[i] = (gx as i16, gy as i16);
                }
            }
        }
    }

    /// One Gauss–Newton step of (dx, dy) at this level's scale (reduced
    /// pixels), fitting a brightness offset alongside. `None` when too
    /// little texture took part.
    fn step(&self, dx: f32, dy: f32, stride: usize) -> Option<(f32, f32, usize)> {
        let (w, h) = (self.w, self.h);
        if w < 8 || h < 8 {
            return None;
        }
        let (ox, oy) = (dx.floor() as isize, dy.floor() as isize);
        let (fx, fy) = (dx - ox as f32, dy - oy as f32);
        let margin = (dx.abs().max(dy.abs()).ceil() as usize + 2)
            .min(w / 3)
            .min(h / 3);
        // Normal equations of [gx gy 1] · [dx dy b] = e.
        // Sums of gx², gx·gy, gy², gx, gy, 1 and of gx·e, gy·e, e.
        let (mut sxx, mut sxy, mut syy, mut sgx, mut sgy) =
            (0.0f32, 0.0f32, 0.0f32, 0.0f32, 0.0f32);
        let (mut rx, mut ry, mut re) = (0.0f32, 0.0f32, 0.0f32);
        let mut n = 0usize;
        let (bg, fr, grad) = (&self.background, &self.frame, &self.grad);
        for y in (margin..h - margin).step_by(stride) {
            let sy = (y as isize + oy) as usize;
            if sy + 1 >= h {
                continue;
            }
            for x in (margin..w - margin).step_by(stride) {
                let i = y * w + x;
                // A weak gradient is stored as (0, 0), which fails the test.
                let (gx, gy) = match grad.get(i) {
                    Some(g) => (g.0 as i32, g.1 as i32),
                    None => (
                        bg[i + 1] as i32 - bg[i - 1] as i32,
                        bg[i + w] as i32 - bg[i - w] as i32,
                    ),
                };
                if gx * gx + gy * gy < 4 * MIN_GRAD2 {
                    continue;
                }
                let sx = (x as isize + ox) as usize;
                if sx + 1 >= w {
                    continue;
                }
                let j = sy * w + sx;
                let top = fr[j] as f32 * (1.0 - fx) + fr[j + 1] as f32 * fx;
                let bottom = fr[j + w] as f32 * (1.0 - fx) + fr[j + w + 1] as f32 * fx;
                let sample = top * (1.0 - fy) + bottom * fy;
                // frame(p + d) ≈ bg(p) + b  ⇒  bg(p) − frame(p + d) ≈ ∇bg · δ … linearised about the shifted frame.
                let e = bg[i] as f32 - sample;
                if e.abs() > MAX_RESIDUAL {
                    continue;
                }
                let (gx, gy) = (gx as f32 * 0.5, gy as f32 * 0.5);
                sxx += gx * gx;
                sxy += gx * gy;
                syy += gy * gy;
                sgx += gx;
                sgy += gy;
                rx += gx * e;
                ry += gy * e;
                re += e;
                n += 1;
            }
        }
        if n < 50 {
            return None;
        }
        let a = [
            [sxx as f64, sxy as f64, sgx as f64],
            [sxy as f64, syy as f64, sgy as f64],
            [sgx as f64, sgy as f64, n as f64],
        ];
        let d = solve3(&a, &[rx as f64, ry as f64, re as f64])?;
        // frame(p + d + δ) ≈ frame(p + d) + ∇·δ ≈ bg(p): with ∇frame ≈ ∇bg,
        // δ = the fitted (dx, dy) of e = bg − frame(p + d).
        Some((dx + d[0] as f32, dy + d[1] as f32, n))
    }
}

/// See the module doc. `shift()` is the position in the frame of what the
/// background shows at (0, 0): the frame sampled at `p + shift` lines up
/// with the background at `p`.
#[derive(Debug, Clone)]
pub struct MotionEstimator {
    width: usize,
    height: usize,
    coarse: Level,
    fine: Level,
    shift: (f32, f32),
}

impl MotionEstimator {
    /// An estimator for `width`×`height` luma frames.
    pub fn new(width: u32, height: u32) -> MotionEstimator {
        let (w, h) = (width as usize, height as usize);
        MotionEstimator {
            width: w,
            height: h,
            coarse: Level::new(4, w, h),
            fine: Level::new(2, w, h),
            shift: (0.0, 0.0),
        }
    }

    /// The last estimate, detect-size pixels.
    pub fn shift(&self) -> (f32, f32) {
        self.shift
    }

    /// Forgets the last estimate (after a scene change, or when the
    /// background was moved to follow a drift by `by` pixels).
    pub fn rebase(&mut self, by: (f32, f32)) {
        self.shift = (self.shift.0 - by.0, self.shift.1 - by.1);
    }

    /// Estimates how far `frame` moved against `background` (both luma,
    /// `width`×`height`), starting from the last estimate. Returns the
    /// shift, detect-size pixels; keeps the last one when the picture has
    /// too little texture to tell.
    pub fn estimate(&mut self, frame: &[u8], background: &[u8]) -> (f32, f32) {
        let n = self.width * self.height;
        if frame.len() != n || background.len() != n {
            return self.shift;
        }
        let mut d = self.shift;
        // The 2× level from the frame, the 4× level from the 2× one.
        halve(frame, self.width, &mut self.fine.frame);
        halve(background, self.width, &mut self.fine.background);
        halve(&self.fine.frame, self.fine.w, &mut self.coarse.frame);
        halve(
            &self.fine.background,
            self.fine.w,
            &mut self.coarse.background,
        );
        self.coarse.gradients();
        // The fine level samples every other pixel: as many as the coarse
        // level has, enough for a tenth of a pixel.
        for (level, stride) in [(&self.coarse, 1), (&self.fine, 2)] {
            let s = level.scale as f32;
            let mut ld = (d.0 / s, d.1 / s);
            for _ in 0..ITERATIONS {
                match level.step(ld.0, ld.1, stride) {
                    Some((x, y, _)) => {
                        let moved = (x - ld.0).abs().max((y - ld.1).abs());
                        ld = (x, y);
                        if moved < 0.01 {
                            break;
                        }
                    }
                    None => break,
                }
            }
            d = (ld.0 * s, ld.1 * s);
        }
        if d.0.is_finite() && d.1.is_finite() && d.0.abs().max(d.1.abs()) <= MAX_SHIFT_PX {
            self.shift = d;
        } else {
            self.shift = (0.0, 0.0);
        }
        self.shift
    }
}

/// `src` (`width` wide) halved in each direction (2×2 box average) into
/// `dst`, which is `width / 2` wide.
fn halve(src: &[u8], width: usize, dst: &mut [u8]) {
    let w = width / 2;
    if w == 0 {
        return;
    }
    for (y, out) in dst.chunks_exact_mut(w).enumerate() {
        let (Some(r0), Some(r1)) = (
            src.get(2 * y * width..(2 * y + 1) * width),
            src.get((2 * y + 1) * width..(2 * y + 2) * width),
        ) else {
            break;
        };
        for ((o, a), b) in out
            .iter_mut()
            .zip(r0.chunks_exact(2))
            .zip(r1.chunks_exact(2))
        {
            *o = ((a[0] as u16 + a[1] as u16 + b[0] as u16 + b[1] as u16 + 2) >> 2) as u8;
        }
    }
}

fn solve3(a: &[[f64; 3]; 3], r: &[f64; 3]) -> Option<[f64; 3]> {
    let det3 = |m: &[[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let det = det3(a);
    if det.abs() < 1e-9 {
        return None;
    }
    let mut out = [0.0; 3];
    for (k, o) in out.iter_mut().enumerate() {
        let mut m = *a;
        for (row, rv) in m.iter_mut().zip(r) {
            row[k] = *rv;
        }
        *o = det3(&m) / det;
    }
    Some(out)
}

/// `dst(p) = src(p + (dx, dy))`, bilinear, fixed point (1/256 px weights),
/// clamping at the frame's edge. `dst` must be as long as `src`.
pub fn shift_plane(src: &[u8], dst: &mut [u8], width: usize, dx: f32, dy: f32) {
    let h = src.len() / width.max(1);
    if width == 0 || h == 0 || dst.len() != src.len() {
        return;
    }
    let (ox, oy) = (dx.floor() as isize, dy.floor() as isize);
    let fx = ((dx - ox as f32) * 256.0).round() as u32;
    let fy = ((dy - oy as f32) * 256.0).round() as u32;
    let (fx, ox) = if fx >= 256 { (0, ox + 1) } else { (fx, ox) };
    let (fy, oy) = if fy >= 256 { (0, oy + 1) } else { (fy, oy) };
    let (w00, w10, w01, w11) = (
        (256 - fx) * (256 - fy),
        fx * (256 - fy),
        (256 - fx) * fy,
        fx * fy,
    );
    let clamp_row = |y: isize| y.clamp(0, h as isize - 1) as usize;
    if fx == 0 && fy == 0 {
        // Whole pixels: a copy per row.
        let cx = |v: isize| v.clamp(0, width as isize - 1) as usize;
        for y in 0..h {
            let r = &src[clamp_row(y as isize + oy) * width..][..width];
            let d = &mut dst[y * width..(y + 1) * width];
            let x_lo = (-ox).clamp(0, width as isize) as usize;
            let x_hi = (width as isize - ox).clamp(x_lo as isize, width as isize) as usize;
            let s = (x_lo as isize + ox) as usize;
            d[x_lo..x_hi].copy_from_slice(&r[s..s + (x_hi - x_lo)]);
            for x in (0..x_lo).chain(x_hi..width) {
                d[x] = r[cx(x as isize + ox)];
            }
        }
        return;
    }
    // Columns whose four taps lie inside the row; the rest clamp.
    let x_lo = (-ox).clamp(0, width as isize) as usize;
    let x_hi = (width as isize - 1 - ox).clamp(x_lo as isize, width as isize) as usize;
    for y in 0..h {
        let r0 = &src[clamp_row(y as isize + oy) * width..][..width];
        let r1 = &src[clamp_row(y as isize + oy + 1) * width..][..width];
        let d = &mut dst[y * width..(y + 1) * width];
        if x_hi > x_lo {
            let s = (x_lo as isize + ox) as usize;
            let n = x_hi - x_lo;
            for ((((o, a), b), c), e) in d[x_lo..x_hi]
                .iter_mut()
                .zip(&r0[s..s + n])
                .zip(&r0[s + 1..s + 1 + n])
                .zip(&r1[s..s + n])
                .zip(&r1[s + 1..s + 1 + n])
            {
                let v = *a as u32 * w00 + *b as u32 * w10 + *c as u32 * w01 + *e as u32 * w11;
                *o = ((v + 32_768) >> 16) as u8;
            }
        }
        for x in (0..x_lo).chain(x_hi..width) {
            let cx = |v: isize| v.clamp(0, width as isize - 1) as usize;
            let (xa, xb) = (cx(x as isize + ox), cx(x as isize + ox + 1));
            let v = r0[xa] as u32 * w00
                + r0[xb] as u32 * w10
                + r1[xa] as u32 * w01
                + r1[xb] as u32 * w11;
            d[x] = ((v + 32_768) >> 16) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A smooth, textured test picture sampled at (x + dx, y + dy).
    fn picture(w: usize, h: usize, dx: f32, dy: f32) -> Vec<u8> {
        let mut out = vec![0; w * h];
        for y in 0..h {
            for x in 0..w {
                let (u, v) = (x as f32 + dx, y as f32 + dy);
                let s = (u * 0.21).sin() * 40.0
                    + (v * 0.17).cos() * 40.0
                    + ((u + v) * 0.07).sin() * 30.0
                    + ((u * 0.05).sin() * (v * 0.09).cos()) * 20.0;
                out[y * w + x] = (128.0 + s).clamp(0.0, 255.0) as u8;
            }
        }
        out
    }

    #[test]
    fn finds_sub_pixel_and_several_pixel_shifts() {
        let (w, h) = (160, 96);
        let bg = picture(w, h, 0.0, 0.0);
        for (dx, dy) in [
            (0.0, 0.0),
            (0.4, -0.3),
            (1.0, 0.5),
            (-2.2, 1.7),
            (3.0, -3.0),
        ] {
            let mut m = MotionEstimator::new(w as u32, h as u32);
            // The picture moved by (dx, dy): what the background shows at p
            // is now at p + (dx, dy), so that is where the frame lines up.
            let frame = picture(w, h, -dx, -dy);
            let (ex, ey) = m.estimate(&frame, &bg);
            assert!(
                (ex - dx).abs() < 0.15 && (ey - dy).abs() < 0.15,
                "moved ({dx}, {dy}), found ({ex}, {ey})"
            );
        }
    }

    #[test]
    fn shifting_back_lines_the_frame_up_with_the_background() {
        let (w, h) = (160, 96);
        let bg = picture(w, h, 0.0, 0.0);
        let frame = picture(w, h, 1.6, -0.7);
        let mut m = MotionEstimator::new(w as u32, h as u32);
        let (dx, dy) = m.estimate(&frame, &bg);
        let mut aligned = vec![0; w * h];
        shift_plane(&frame, &mut aligned, w, dx, dy);
        let diff = |a: &[u8]| {
            let mut worst = 0;
            for y in 8..h - 8 {
                for x in 8..w - 8 {
                    worst = worst.max((a[y * w + x] as i32 - bg[y * w + x] as i32).abs());
                }
            }
            worst
        };
        assert!(diff(&frame) > 20, "the test picture must differ when moved");
        assert!(diff(&aligned) <= 4, "aligned differs by {}", diff(&aligned));
    }

    #[test]
    fn shift_by_zero_is_a_copy_and_whole_pixels_move_content() {
        let (w, h) = (16, 8);
        let src: Vec<u8> = (0..w * h).map(|i| (i * 7 % 251) as u8).collect();
        let mut dst = vec![0; w * h];
        shift_plane(&src, &mut dst, w, 0.0, 0.0);
        assert_eq!(dst, src);
        shift_plane(&src, &mut dst, w, 2.0, 1.0);
        assert_eq!(dst[3 * w + 5], src[4 * w + 7]);
        assert_eq!(dst[h * w - 1], src[h * w - 1], "edges clamp");
    }

    #[test]
    fn a_flat_picture_keeps_the_last_estimate() {
        let (w, h) = (64, 48);
        let flat = vec![100u8; w * h];
        let mut m = MotionEstimator::new(w as u32, h as u32);
        assert_eq!(m.estimate(&flat, &flat), (0.0, 0.0));
    }
}
