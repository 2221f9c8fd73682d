//! What turns a clean rendered frame into camera footage: mild shake (a
//! smooth sub-pixel wander plus jitter, applied as a bilinear shift), optical
//! blur, exposure gain, IR night mode (grey), and per-pixel sensor noise.
//! Compression artefacts come from the x264 encoder afterwards.

use super::raster::Canvas;
use super::rng::{wobble, Rng};

/// The camera's character for one clip.
#[derive(Debug, Clone, Copy)]
pub struct Look {
    /// Peak shake in pixels (wander + jitter).
    pub shake_px: f32,
    /// Apply a [1,2,1] blur in each direction.
    pub blur: bool,
    /// Sensor noise standard deviation in grey levels.
    pub noise_sigma: f32,
    /// Global gain on the rendered frame.
    pub gain: f32,
    /// IR night mode: output is grey.
    pub ir: bool,
}

/// Applies a [`Look`] frame after frame; owns the noise tables and scratch buffers.
pub struct Camera {
    look: Look,
    seed: u64,
    rng: Rng,
    /// Colour noise: four 16-bit lanes per entry, each `noise + 256`.
    noise_lanes: Vec<u64>,
    /// Grey (IR) noise, one value per pixel.
    noise_grey: Vec<i16>,
    a: Vec<u8>,
    b: Vec<u8>,
    /// Random per-frame shake, pixels each way, replacing the look's wander.
    jitter_px: Option<f32>,
    /// Slow drift, pixels per second (direction from the seed).
    drift: (f32, f32),
}

const NOISE_TABLE: usize = 1 << 18;

impl Camera {
    pub fn new(look: Look, seed: u64) -> Camera {
        let mut rng = Rng::new(seed ^ 0xCA3E_CA3E);
        let draw = |rng: &mut Rng| {
            (rng.normal() * look.noise_sigma)
                .round()
                .clamp(-255.0, 255.0) as i64
        };
        let (noise_lanes, noise_grey) = if look.ir {
            (
                Vec::new(),
                (0..NOISE_TABLE).map(|_| draw(&mut rng) as i16).collect(),
            )
        } else {
            let lanes = (0..NOISE_TABLE)
                .map(|_| {
                    (0..4).fold(0u64, |acc, i| {
                        acc | (((draw(&mut rng) + 256) as u64) << (16 * i))
                    })
                })
                .collect();
            (lanes, Vec::new())
        };
        Camera {
            look,
            seed,
            rng,
            noise_lanes,
            noise_grey,
            a: Vec::new(),
            b: Vec::new(),
            jitter_px: None,
            drift: (0.0, 0.0),
        }
    }

    /// Replaces the look's mild wander with a fresh random offset of up to
    /// `jitter_px` each way per frame (`None`: keep the wander), and adds a
    /// slow drift of `drift_px_s` pixels per second in a direction drawn from
    /// the seed.
    pub fn set_shake(&mut self, jitter_px: Option<f32>, drift_px_s: f32) {
        self.jitter_px = jitter_px;
        let a = (self.seed % 360) as f32 * std::f32::consts::PI / 180.0;
        self.drift = (drift_px_s * a.cos(), drift_px_s * a.sin());
    }

    /// The shake offset at time `t` seconds, in pixels.
    pub fn shake(&mut self, t: f32) -> (f32, f32) {
        let (ddx, ddy) = (self.drift.0 * t, self.drift.1 * t);
        if let Some(j) = self.jitter_px {
            let jx = self.rng.range(-j, j);
            let jy = self.rng.range(-j, j);
            return (ddx + jx, ddy + jy);
        }
        let a = self.look.shake_px;
        let jx = self.rng.range(-0.25, 0.25);
        let jy = self.rng.range(-0.25, 0.25);
        (
            ddx + a * (0.75 * wobble(self.seed ^ 1, t, 0.4) + jx),
            ddy + a * (0.75 * wobble(self.seed ^ 2, t, 0.35) + jy),
        )
    }

    /// Turns the rendered `scene` at time `t` into the camera's frame.
    pub fn expose(&mut self, scene: &Canvas, t: f32) -> Vec<u8> {
        let (w, h) = (scene.w, scene.h);
        let (dx, dy) = self.shake(t);
        let n = w * h * 3;
        self.a.resize(n, 0);
        shift(&scene.px, &mut self.a, w, h, dx, dy);
        if self.look.blur {
            self.b.resize(n, 0);
            let k = [64, 128, 64, 0];
            hpass(&self.a, &mut self.b, w, h, k, 0);
            vpass(&self.b, &mut self.a, w, h, k, 0);
        }
        let mut out = std::mem::take(&mut self.a);
        let gain = (self.look.gain * 256.0).round() as i32;
        let start = self.rng.int(0, (NOISE_TABLE / 2) as i64) as usize;
        // A new random stride per frame keeps the noise from repeating visibly.
        let stride = 3 * w + 7 + 2 * self.rng.int(0, 64) as usize;
        if self.look.ir {
            let noise = &self.noise_grey;
            for y in 0..h {
                let base = (start + y * stride) % (NOISE_TABLE - w);
                let row = &mut out[y * w * 3..(y + 1) * w * 3];
                for (p, nv) in row.chunks_exact_mut(3).zip(&noise[base..base + w]) {
                    let g = 77i32
                        .wrapping_mul(p[0] as i32)
                        .wrapping_add(150i32.wrapping_mul(p[1] as i32))
                        .wrapping_add(29i32.wrapping_mul(p[2] as i32))
                        >> 8;
                    let g = byte((g.wrapping_mul(gain) >> 8).wrapping_add(*nv as i32));
                    p[0] = g;
                    p[1] = g;
                    p[2] = g;
                }
            }
        } else {
            if gain != 256 {
                for v in out.iter_mut() {
                    *v = byte((*v as i32).wrapping_mul(gain) >> 8);
                }
            }
            let units = (3 * w).div_ceil(8) * 2;
            for y in 0..h {
                let base = (start + y * stride) % (NOISE_TABLE - units);
                add_noise(
                    &mut out[y * w * 3..(y + 1) * w * 3],
                    &self.noise_lanes[base..base + units],
                );
            }
        }
        out
    }
}

/// Saturates to 0..=255 (written out: `clamp` is a call in debug builds).
#[inline(always)]
fn byte(v: i32) -> u8 {
    if v < 0 {
        0
    } else if v > 255 {
        255
    } else {
        v as u8
    }
}

const LO: u64 = 0x00FF_00FF_00FF_00FF;
const ONE: u64 = 0x0001_0001_0001_0001;

fn load8(c: &[u8]) -> u64 {
    c.try_into().map(u64::from_le_bytes).unwrap_or(0)
}

/// Per 16-bit lane holding `v + n + 256` (0..=766): `clamp(v + n, 0, 255)`.
#[inline(always)]
fn sat_lanes(s: u64) -> u64 {
    let keep = ((s >> 8) & ONE).wrapping_mul(0xFF);
    let full = ((s >> 9) & ONE).wrapping_mul(0xFF);
    (s & LO & keep) | full
}

/// Adds signed noise to a row of bytes with saturation, eight bytes at a time
/// (`lanes` holds two entries per eight bytes: even bytes, then odd bytes).
fn add_noise(row: &mut [u8], lanes: &[u64]) {
    let body = row.len() - row.len() % 8;
    let (head, tail) = row.split_at_mut(body);
    for (o, nz) in head.chunks_exact_mut(8).zip(lanes.chunks_exact(2)) {
        let v = load8(o);
        let even = sat_lanes((v & LO).wrapping_add(nz[0]));
        let odd = sat_lanes(((v >> 8) & LO).wrapping_add(nz[1]));
        o.copy_from_slice(&(even | (odd << 8)).to_le_bytes());
    }
    if let Some(&nz) = lanes.get(body / 4) {
        for (i, v) in tail.iter_mut().enumerate() {
            let n = ((nz >> (16 * (i % 4))) & 0xFFFF) as i32 - 256;
            *v = byte((*v as i32).wrapping_add(n));
        }
    }
}

/// `(k·p + 128) / 256` with wrapping arithmetic: the weights sum to 256 so it
/// cannot overflow, and debug builds' overflow checks would slow it tenfold.
#[inline(always)]
fn mac4(k: &[u32; 4], p0: u8, p1: u8, p2: u8, p3: u8) -> u8 {
    let v = k[0]
        .wrapping_mul(p0 as u32)
        .wrapping_add(k[1].wrapping_mul(p1 as u32))
        .wrapping_add(k[2].wrapping_mul(p2 as u32))
        .wrapping_add(k[3].wrapping_mul(p3 as u32))
        .wrapping_add(128);
    (v >> 8) as u8
}

/// `out[i] = mac4(k, s0[i], s1[i], s2[i], s3[i])` for all i, eight bytes at a
/// time as 16-bit lanes of a u64 (no lane can overflow: the weights sum to 256).
fn conv4(out: &mut [u8], s: [&[u8]; 4], k: &[u32; 4]) {
    let n = out.len();
    let k64 = k.map(u64::from);
    let round = 0x0080_0080_0080_0080u64;
    let body = n - n % 8;
    let lanes = out[..body]
        .chunks_exact_mut(8)
        .zip(s[0].chunks_exact(8))
        .zip(s[1].chunks_exact(8))
        .zip(s[2].chunks_exact(8))
        .zip(s[3].chunks_exact(8));
    for ((((o, a), b), c), d) in lanes {
        let (a, b, c, d) = (load8(a), load8(b), load8(c), load8(d));
        let even = (a & LO)
            .wrapping_mul(k64[0])
            .wrapping_add((b & LO).wrapping_mul(k64[1]))
            .wrapping_add((c & LO).wrapping_mul(k64[2]))
            .wrapping_add((d & LO).wrapping_mul(k64[3]))
            .wrapping_add(round);
        let odd = ((a >> 8) & LO)
            .wrapping_mul(k64[0])
            .wrapping_add(((b >> 8) & LO).wrapping_mul(k64[1]))
            .wrapping_add(((c >> 8) & LO).wrapping_mul(k64[2]))
            .wrapping_add(((d >> 8) & LO).wrapping_mul(k64[3]))
            .wrapping_add(round);
        o.copy_from_slice(&(((even >> 8) & LO) | (odd & !LO)).to_le_bytes());
    }
    for i in body..n {
        out[i] = mac4(k, s[0][i], s[1][i], s[2][i], s[3][i]);
    }
}

/// Bilinear shift: output (x, y) samples the source at (x + dx, y + dy),
/// clamping at the edges. One pass of four taps.
fn shift(src: &[u8], dst: &mut [u8], w: usize, h: usize, dx: f32, dy: f32) {
    let (ox, oy) = (dx.floor() as i64, dy.floor() as i64);
    let (fx, fy) = (dx - ox as f32, dy - oy as f32);
    let q = |v: f32| (v * 256.0).round() as u32;
    let mut k = [
        q((1.0 - fx) * (1.0 - fy)),
        q(fx * (1.0 - fy)),
        q((1.0 - fx) * fy),
        q(fx * fy),
    ];
    let sum: u32 = k.iter().sum();
    k[0] = (k[0] + 256).saturating_sub(sum);
    let row_len = w * 3;
    let lo = (-ox).max(0) as usize;
    let hi = ((w as i64 - 1 - ox).min(w as i64)).max(lo as i64) as usize;
    let cl = |v: i64, n: usize| v.clamp(0, n as i64 - 1) as usize;
    for y in 0..h {
        let r0 = &src[cl(y as i64 + oy, h) * row_len..][..row_len];
        let r1 = &src[cl(y as i64 + oy + 1, h) * row_len..][..row_len];
        let d = &mut dst[y * row_len..(y + 1) * row_len];
        if hi > lo {
            let a = ((lo as i64 + ox) * 3) as usize;
            let n = (hi - lo) * 3;
            let taps = [
                &r0[a..a + n],
                &r0[a + 3..a + 3 + n],
                &r1[a..a + n],
                &r1[a + 3..a + 3 + n],
            ];
            conv4(&mut d[lo * 3..hi * 3], taps, &k);
        }
        for x in (0..lo.min(w)).chain(hi.max(lo).min(w)..w) {
            let x0 = cl(x as i64 + ox, w) * 3;
            let x1 = cl(x as i64 + ox + 1, w) * 3;
            for c in 0..3 {
                d[x * 3 + c] = mac4(&k, r0[x0 + c], r0[x1 + c], r1[x0 + c], r1[x1 + c]);
            }
        }
    }
}

/// Horizontal 4-tap pass over RGB rows: output pixel `x` reads source pixels
/// `x + off - 1 ..= x + off + 2`, clamping at the edges.
fn hpass(src: &[u8], dst: &mut [u8], w: usize, h: usize, k: [u32; 4], off: i64) {
    let row_len = w * 3;
    let lo = (1 - off).max(0) as usize;
    let hi = ((w as i64 - 2 - off).min(w as i64)).max(lo as i64) as usize;
    for y in 0..h {
        let s = &src[y * row_len..(y + 1) * row_len];
        let d = &mut dst[y * row_len..(y + 1) * row_len];
        if hi > lo {
            let a = ((lo as i64 + off - 1) * 3) as usize;
            let n = (hi - lo) * 3;
            let taps = [
                &s[a..a + n],
                &s[a + 3..a + 3 + n],
                &s[a + 6..a + 6 + n],
                &s[a + 9..a + 9 + n],
            ];
            conv4(&mut d[lo * 3..hi * 3], taps, &k);
        }
        for x in (0..lo.min(w)).chain(hi.max(lo).min(w)..w) {
            for c in 0..3 {
                let mut v = 128;
                for (j, kj) in k.iter().enumerate() {
                    let sx = (x as i64 + off - 1 + j as i64).clamp(0, w as i64 - 1) as usize;
                    v += kj * s[sx * 3 + c] as u32;
                }
                d[x * 3 + c] = (v >> 8) as u8;
            }
        }
    }
}

/// Vertical 4-tap pass, clamping at the top and bottom.
fn vpass(src: &[u8], dst: &mut [u8], w: usize, h: usize, k: [u32; 4], off: i64) {
    let row_len = w * 3;
    for y in 0..h {
        let r = |j: i64| {
            let sy = (y as i64 + off - 1 + j).clamp(0, h as i64 - 1) as usize;
            &src[sy * row_len..(sy + 1) * row_len]
        };
        conv4(
            &mut dst[y * row_len..(y + 1) * row_len],
            [r(0), r(1), r(2), r(3)],
            &k,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_moves_content_and_keeps_flat_fields() {
        // A bright column at x = 4; sampling at x + 1 puts it at x = 3.
        let (w, h) = (8, 2);
        let mut src = vec![0u8; w * h * 3];
        for y in 0..h {
            for c in 0..3 {
                src[(y * w + 4) * 3 + c] = 200;
            }
        }
        let mut dst = vec![0u8; w * h * 3];
        shift(&src, &mut dst, w, h, 1.0, 0.0);
        assert_eq!((dst[3 * 3], dst[4 * 3]), (200, 0));
        shift(&src, &mut dst, w, h, 0.5, 0.3);
        assert_eq!((dst[3 * 3], dst[4 * 3]), (100, 100));
        shift(&src, &mut dst, w, h, -1.0, 0.0);
        assert_eq!(dst[5 * 3], 200);
        let flat = vec![90u8; w * h * 3];
        for (dx, dy) in [(-0.3, 0.7), (1.6, -1.2)] {
            shift(&flat, &mut dst, w, h, dx, dy);
            assert!(dst.iter().all(|&v| v == 90));
        }
        hpass(&flat, &mut dst, w, h, [64, 128, 64, 0], 0);
        assert!(dst.iter().all(|&v| v == 90));
        vpass(&flat, &mut dst, w, h, [64, 128, 64, 0], 0);
        assert!(dst.iter().all(|&v| v == 90));
    }

    #[test]
    fn noise_saturates_instead_of_wrapping() {
        let lanes_of = |n: i64| (0..4).fold(0u64, |a, i| a | (((n + 256) as u64) << (16 * i)));
        let mut row = vec![250u8, 5, 128, 0, 255, 100, 3, 252, 250, 5];
        let plus = lanes_of(10);
        add_noise(&mut row, &[plus, plus, plus, plus]);
        assert_eq!(row, vec![255, 15, 138, 10, 255, 110, 13, 255, 255, 15]);
        let mut row = vec![250u8, 5, 128, 0, 255, 100, 3, 252];
        let minus = lanes_of(-10);
        add_noise(&mut row, &[minus, minus]);
        assert_eq!(row, vec![240, 0, 118, 0, 245, 90, 0, 242]);
    }

    #[test]
    fn ir_output_is_grey_and_noise_changes_frames() {
        let look = Look {
            shake_px: 1.0,
            blur: true,
            noise_sigma: 4.0,
            gain: 1.0,
            ir: true,
        };
        let mut cam = Camera::new(look, 5);
        let scene = Canvas::new(32, 16, [200.0, 40.0, 40.0]);
        let a = cam.expose(&scene, 0.0);
        let b = cam.expose(&scene, 0.1);
        assert!(a.chunks_exact(3).all(|p| p[0] == p[1] && p[1] == p[2]));
        assert_ne!(a, b);
        let mean = a.iter().map(|&v| v as f32).sum::<f32>() / a.len() as f32;
        assert!((mean - 0.299 * 200.0 - 0.587 * 40.0 - 0.114 * 40.0).abs() < 3.0);
    }
}
