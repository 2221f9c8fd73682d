//! The shed's incidents: a procedural flame and a grey smoke plume.

use super::Shed;
use crate::raster::{mix, Canvas, Rgb};
use crate::rng::{wobble, Rng};
use crate::{Actor, Variant};

/// A flame: several flickering tongues over a base point, growing.
pub(super) struct Flame {
    bx: f32,
    by: f32,
    t_ign: f32,
    grow_s: f32,
    h0: f32,
    h_max: f32,
    tongues: Vec<(f32, f32, u64)>,
    last: Option<(f32, [f32; 4])>,
}

impl Flame {
    pub(super) fn new(s: &Shed, base: (f32, f32), t_ign: f32, bike: f32, r: &mut Rng) -> Flame {
        let n = r.int(3, 5);
        Flame {
            bx: base.0,
            by: base.1,
            t_ign,
            grow_s: r.range(6.0, 14.0),
            h0: 5.0 * s.h / 360.0,
            h_max: bike * r.range(0.8, 1.6),
            tongues: (0..n)
                .map(|_| (r.range(-0.35, 0.35), r.range(0.55, 1.0), r.next_u64()))
                .collect(),
            last: None,
        }
    }

    fn height(&self, t: f32) -> f32 {
        let u = ((t - self.t_ign) / self.grow_s).max(0.0);
        self.h0 + (self.h_max - self.h0) * (1.0 - (-1.6 * u).exp())
    }
}

fn flame_colour(e: f32) -> Rgb {
    let stops: [(f32, Rgb); 5] = [
        (0.0, [255.0, 252.0, 225.0]),
        (0.3, [255.0, 230.0, 110.0]),
        (0.55, [255.0, 165.0, 40.0]),
        (0.8, [235.0, 90.0, 20.0]),
        (1.0, [170.0, 40.0, 15.0]),
    ];
    for pair in stops.windows(2) {
        let ((a, ca), (b, cb)) = (pair[0], pair[1]);
        if e <= b {
            return mix(ca, cb, ((e - a) / (b - a)).clamp(0.0, 1.0));
        }
    }
    stops[4].1
}

impl Actor for Flame {
    fn draw(&mut self, c: &mut Canvas, t: f32) {
        if t < self.t_ign {
            return;
        }
        let hh = self.height(t);
        let flick = 0.5 + 0.5 * wobble(self.tongues[0].2 ^ 77, t, 5.0);
        c.glow(
            self.bx,
            self.by - 0.3 * hh,
            hh * 2.2,
            [255.0, 120.0, 40.0],
            0.25 + 0.2 * flick,
        );
        let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for &(off, scale, seed) in &self.tongues {
            let th = hh * scale * (0.8 + 0.25 * wobble(seed, t, 7.0));
            let tw = hh * 0.22 * (1.0 + 0.12 * wobble(seed ^ 5, t, 9.0));
            let cx = self.bx + off * hh * 0.35;
            let sway_seed = seed ^ 9;
            let bx0 = cx - tw - 0.3 * th;
            let bx1 = cx + tw + 0.3 * th;
            let by0 = self.by - th;
            for y in (by0.floor() as i64).max(0)..(self.by.ceil() as i64).min(c.h as i64) {
                let v = ((self.by - y as f32) / th).clamp(0.0, 1.0);
                let sway = 0.25 * th * v * v * wobble(sway_seed, t + v * 0.25, 3.0);
                let half = tw * (1.0 - v).powf(0.6) * (0.9 + 0.1 * (12.0 * v + 9.0 * t).sin());
                if half < 0.3 {
                    continue;
                }
                let xc = cx + sway;
                for x in (bx0.floor() as i64).max(0)..(bx1.ceil() as i64).min(c.w as i64) {
                    let d = ((x as f32 + 0.5 - xc) / half).abs();
                    if d >= 1.0 {
                        continue;
                    }
                    let e = (d * d * 0.7 + v * 0.6).min(1.0);
                    let alpha = (1.0 - d.powi(4)) * (1.0 - v.powi(3));
                    c.blend(x, y, flame_colour(e), alpha);
                    x0 = x0.min(x as f32);
                    x1 = x1.max(x as f32 + 1.0);
                    y0 = y0.min(y as f32);
                    y1 = y1.max(y as f32 + 1.0);
                }
            }
        }
        self.last = if x1 > x0 {
            Some((t, [x0, y0, x1, y1]))
        } else {
            None
        };
    }

    fn truth_box(&self, t: f32) -> Option<[f32; 4]> {
        match self.last {
            Some((lt, b)) if (lt - t).abs() < 1e-4 => Some(b),
            _ => None,
        }
    }
}

/// A smoke plume: soft grey puffs rising from a source, spreading under the roof.
pub(super) struct Smoke {
    puffs: Vec<Puff>,
    roof: f32,
    colour: Rgb,
    last: Option<(f32, [f32; 4])>,
    scratch: Vec<f32>,
}

#[derive(Debug, Clone, Copy)]
struct Puff {
    t0: f32,
    x: f32,
    y: f32,
    vx: f32,
    vy: f32,
    r0: f32,
    grow: f32,
    life: f32,
    a: f32,
}

impl Smoke {
    pub(super) fn new(s: &Shed, base: (f32, f32), t0: f32, duration: f32, r: &mut Rng) -> Smoke {
        let scale = s.h / 360.0;
        let wind = r.range(-8.0, 8.0) * scale;
        let rate = r.range(6.0, 10.0);
        let mut puffs = Vec::new();
        let mut t = t0;
        while t < duration {
            // Emission ramps up: a wisp at first, a plume later.
            let age = t - t0;
            puffs.push(Puff {
                t0: t,
                x: base.0 + r.normal() * 2.0 * scale,
                y: base.1,
                vx: wind + r.normal() * 4.0 * scale,
                vy: -r.range(12.0, 25.0) * scale,
                r0: r.range(2.0, 4.0) * scale,
                grow: r.range(3.0, 6.0) * scale * (1.0 + age * 0.1),
                life: r.range(6.0, 10.0),
                a: r.range(0.2, 0.32) * (0.4 + 0.6 * (age / 4.0).min(1.0)),
            });
            t += 1.0 / rate;
        }
        let colour = match s.variant {
            Variant::Day => [172.0, 172.0, 175.0],
            Variant::Night => [105.0, 105.0, 110.0],
            Variant::Ir => [150.0, 150.0, 150.0],
        };
        Smoke {
            puffs,
            roof: s.roof_y + 0.03 * s.h,
            colour,
            last: None,
            scratch: Vec::new(),
        }
    }

    fn puff_at(&self, p: &Puff, t: f32) -> Option<(f32, f32, f32, f32)> {
        let age = t - p.t0;
        if age < 0.0 || age > p.life {
            return None;
        }
        let r = p.r0 + p.grow * age;
        let mut y = p.y + p.vy * age;
        let mut x = p.x + p.vx * age;
        if y - r * 0.5 < self.roof {
            // Spread along the roof.
            let over = self.roof - (y - r * 0.5);
            y = self.roof + r * 0.5;
            x += over * 0.8 * if p.vx >= 0.0 { 1.0 } else { -1.0 };
        }
        let fade_in = (age / 0.8).min(1.0);
        let fade_out = 1.0 - (age / p.life).powi(2);
        Some((x, y, r, p.a * fade_in * fade_out))
    }
}

impl Actor for Smoke {
    fn draw(&mut self, c: &mut Canvas, t: f32) {
        let live: Vec<(f32, f32, f32, f32)> = self
            .puffs
            .iter()
            .filter_map(|p| self.puff_at(p, t))
            .collect();
        if live.is_empty() {
            self.last = None;
            return;
        }
        let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for &(x, y, r, _) in &live {
            x0 = x0.min(x - r);
            y0 = y0.min(y - r);
            x1 = x1.max(x + r);
            y1 = y1.max(y + r);
        }
        let ix0 = (x0.floor() as i64).clamp(0, c.w as i64 - 1) as usize;
        let iy0 = (y0.floor() as i64).clamp(0, c.h as i64 - 1) as usize;
        let ix1 = (x1.ceil() as i64).clamp(ix0 as i64 + 1, c.w as i64) as usize;
        let iy1 = (y1.ceil() as i64).clamp(iy0 as i64 + 1, c.h as i64) as usize;
        let (bw, bh) = (ix1 - ix0, iy1 - iy0);
        self.scratch.clear();
        self.scratch.resize(bw * bh, 0.0);
        for &(x, y, r, a) in &live {
            let (px0, px1) = (
                ((x - r).floor() as i64).max(ix0 as i64) as usize,
                ((x + r).ceil() as i64).min(ix1 as i64) as usize,
            );
            let (py0, py1) = (
                ((y - r).floor() as i64).max(iy0 as i64) as usize,
                ((y + r).ceil() as i64).min(iy1 as i64) as usize,
            );
            for py in py0..py1 {
                for px in px0..px1 {
                    let d2 =
                        ((px as f32 + 0.5 - x).powi(2) + (py as f32 + 0.5 - y).powi(2)) / (r * r);
                    if d2 < 1.0 {
                        self.scratch[(py - iy0) * bw + px - ix0] += a * (1.0 - d2).powi(2);
                    }
                }
            }
        }
        // Soften what is behind (a 3x3 box blur of the original), then veil it grey.
        let orig: Vec<u8> = (iy0..iy1)
            .flat_map(|y| c.px[(y * c.w + ix0) * 3..(y * c.w + ix1) * 3].to_vec())
            .collect();
        let (mut sx0, mut sy0, mut sx1, mut sy1) = (usize::MAX, usize::MAX, 0, 0);
        for y in 0..bh {
            for x in 0..bw {
                let a = self.scratch[y * bw + x].min(0.9);
                if a < 0.01 {
                    continue;
                }
                if a > 0.2 {
                    sx0 = sx0.min(x);
                    sx1 = sx1.max(x + 1);
                    sy0 = sy0.min(y);
                    sy1 = sy1.max(y + 1);
                }
                let mut blur = [0.0f32; 3];
                let mut n = 0.0;
                for dy in -1i64..=1 {
                    for dx in -1i64..=1 {
                        let (xx, yy) = (x as i64 + dx, y as i64 + dy);
                        if xx < 0 || yy < 0 || xx >= bw as i64 || yy >= bh as i64 {
                            continue;
                        }
                        let i = (yy as usize * bw + xx as usize) * 3;
                        for k in 0..3 {
                            blur[k] += orig[i + k] as f32;
                        }
                        n += 1.0;
                    }
                }
                let blur = [blur[0] / n, blur[1] / n, blur[2] / n];
                let i = (y * bw + x) * 3;
                let o = [orig[i] as f32, orig[i + 1] as f32, orig[i + 2] as f32];
                let soft = mix(o, blur, (3.0 * a).min(1.0));
                let out = mix(soft, self.colour, a);
                let gx = (ix0 + x) as i64;
                let gy = (iy0 + y) as i64;
                c.blend(gx, gy, out, 1.0);
            }
        }
        self.last = if sx1 > sx0 {
            Some((
                t,
                [
                    (ix0 + sx0) as f32,
                    (iy0 + sy0) as f32,
                    (ix0 + sx1) as f32,
                    (iy0 + sy1) as f32,
                ],
            ))
        } else {
            None
        };
    }

    fn truth_box(&self, t: f32) -> Option<[f32; 4]> {
        match self.last {
            Some((lt, b)) if (lt - t).abs() < 1e-4 => Some(b),
            _ => None,
        }
    }
}
