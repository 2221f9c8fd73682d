//! Synthetic e-bike shed frames for the fire analyzer's tests and bench:
//! a dark shed with a textured row of bikes, sensor noise, and the things
//! drawn into it (a flickering flame, a smoke plume, orange distractors).
#![allow(dead_code)]

use estatewatch::ingest::Frame;
use std::sync::Arc;
use std::time::Duration;

pub const W: usize = 640;
pub const H: usize = 360;
pub const FPS: u64 = 10;

/// A small, fast, seeded random source (xorshift64*); test footage needs
/// speed, not quality.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in 0..1.
    pub fn random(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A packed RGB picture being drawn.
pub struct Canvas {
    pub rgb: Vec<u8>,
    pub rng: Rng,
}

impl Canvas {
    /// The shed: a dim wall above, a row of bikes (dark and mid-grey vertical
    /// bars, i.e. texture) below.
    pub fn shed(seed: u64) -> Canvas {
        let mut rgb = vec![0u8; W * H * 3];
        for y in 0..H {
            for x in 0..W {
                let v: [u8; 3] = if y < H / 3 {
                    [42, 44, 48]
                } else if (x / 6) % 2 == 0 {
                    [30, 32, 36]
                } else {
                    [85, 88, 92]
                };
                rgb[(y * W + x) * 3..(y * W + x) * 3 + 3].copy_from_slice(&v);
            }
        }
        Canvas {
            rgb,
            rng: Rng::new(seed),
        }
    }

    pub fn put(&mut self, x: i64, y: i64, c: [u8; 3]) {
        if x >= 0 && y >= 0 && (x as usize) < W && (y as usize) < H {
            let i = (y as usize * W + x as usize) * 3;
            self.rgb[i..i + 3].copy_from_slice(&c);
        }
    }

    pub fn get(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * W + x) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    pub fn rect(&mut self, x0: i64, y0: i64, w: i64, h: i64, c: [u8; 3]) {
        for y in y0..y0 + h {
            for x in x0..x0 + w {
                self.put(x, y, c);
            }
        }
    }

    /// A flame standing on `(cx, base)`, `height` tall, with per-frame random
    /// tongues, sway and brightness: an orange body round a white-yellow core.
    pub fn flame(&mut self, cx: f64, base: f64, height: f64, t: f64) {
        let h = height * (0.8 + 0.4 * self.rng.random());
        let width = height * 0.55;
        let glow = 0.85 + 0.15 * self.rng.random();
        let rows = h.ceil() as i64;
        for r in 0..rows {
            let u = r as f64 / h; // 0 at the base, 1 at the tip
            let tongue = 1.0 + 0.35 * (self.rng.random() - 0.5);
            let hw = width / 2.0 * (1.0 - u).powf(0.6) * tongue;
            let sway = (t * 9.0 + u * 5.0).sin() * width * 0.15 * u;
            let y = (base - r as f64) as i64;
            let x0 = (cx + sway - hw) as i64;
            let x1 = (cx + sway + hw) as i64;
            for x in x0..=x1 {
                let dx = (x as f64 - cx - sway).abs() / hw.max(1.0);
                let c = if dx < 0.45 && u < 0.55 {
                    [255, (235.0 * glow) as u8, (170.0 * glow) as u8]
                } else {
                    let g = 120.0 + 70.0 * self.rng.random();
                    [(255.0 * glow) as u8, (g * glow) as u8, 25]
                };
                self.put(x, y, c);
            }
        }
    }

    /// A grey plume: a soft disc of radius `r` centred at `(cx, cy)`, blended
    /// over the picture with opacity up to `alpha`.
    pub fn plume(&mut self, cx: f64, cy: f64, r: f64, alpha: f64) {
        let grey = 150.0;
        for y in (cy - r) as i64..=(cy + r) as i64 {
            for x in (cx - r) as i64..=(cx + r) as i64 {
                if x < 0 || y < 0 || x as usize >= W || y as usize >= H {
                    continue;
                }
                let d2 = ((x as f64 - cx).powi(2) + (y as f64 - cy).powi(2)) / (r * r);
                if d2 >= 1.0 {
                    continue;
                }
                let a = alpha * (1.0 - d2).sqrt();
                let p = self.get(x as usize, y as usize);
                let q = p.map(|v| ((1.0 - a) * v as f64 + a * grey) as u8);
                self.put(x, y, q);
            }
        }
    }

    /// A churning plume at time `t`: like [`Canvas::plume`], but its
    /// opacity is broken into wisps that rise at 20 px/s and change shape as
    /// they go, as real smoke does (the analyzer's `churn` cue looks for
    /// exactly this; a soft disc that only grows has none).
    pub fn smoke(&mut self, cx: f64, cy: f64, r: f64, alpha: f64, t: f64) {
        let grey = 150.0;
        for y in (cy - r) as i64..=(cy + r) as i64 {
            for x in (cx - r) as i64..=(cx + r) as i64 {
                if x < 0 || y < 0 || x as usize >= W || y as usize >= H {
                    continue;
                }
                let d2 = ((x as f64 - cx).powi(2) + (y as f64 - cy).powi(2)) / (r * r);
                if d2 >= 1.0 {
                    continue;
                }
                let (xf, yf) = (x as f64, y as f64 + 20.0 * t);
                let wisp = 0.5
                    + 0.25 * ((xf * 0.21 + 1.7 * t).sin() * (yf * 0.17).sin())
                    + 0.25 * ((xf * 0.09 - yf * 0.13 - 1.1 * t).sin());
                let a = alpha * (1.0 - d2).sqrt() * (0.45 + 0.55 * wisp);
                let p = self.get(x as usize, y as usize);
                let q = p.map(|v| ((1.0 - a) * v as f64 + a * grey) as u8);
                self.put(x, y, q);
            }
        }
    }

    /// Sensor noise, uniform ±`amp`.
    pub fn noise(&mut self, amp: i32) {
        let span = (2 * amp + 1) as u64;
        for chunk in self.rgb.chunks_mut(8) {
            // One random word gives eight bytes of noise.
            let mut r = self.rng.next_u64();
            for v in chunk {
                let n = ((r & 0xff) % span) as i32 - amp;
                r >>= 8;
                *v = (*v as i32 + n).clamp(0, 255) as u8;
            }
        }
    }

    /// Turns the picture grey (an IR night camera).
    pub fn make_grey(&mut self) {
        for p in self.rgb.chunks_exact_mut(3) {
            let y = ((77 * p[0] as u32 + 150 * p[1] as u32 + 29 * p[2] as u32) >> 8) as u8;
            p.copy_from_slice(&[y, y, y]);
        }
    }

    pub fn frame(self, i: u64) -> Frame {
        Frame {
            camera: "shed".into(),
            seq: i,
            pts: Some(Duration::from_millis(i * 1000 / FPS)),
            captured_at: std::time::SystemTime::now(),
            width: W as u32,
            height: H as u32,
            rgb: Arc::new(self.rgb),
        }
    }
}
