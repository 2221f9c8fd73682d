//! Hard-suite look-alikes that are not lights: fluttering barrier tape,
//! posters with a flame pictogram, a car crossing in front.

use super::{lit, Shed};
use crate::raster::{shade, Canvas, Rgb};
use crate::rng::{wobble, Rng};
use crate::{Actor, Variant};

/// Red-and-white barrier tape strung across the shed, fluttering in the
/// wind: diagonal stripes on a ribbon whose height and twist wave along it.
pub(super) struct Tape {
    x0: f32,
    x1: f32,
    y: f32,
    width: f32,
    stripe: f32,
    sag: f32,
    seed: u64,
    red: Rgb,
    white: Rgb,
}

impl Tape {
    pub(super) fn new(s: &Shed, r: &mut Rng) -> Tape {
        let x0 = r.range(s.left, s.left + 0.3 * (s.right - s.left));
        Tape {
            x0,
            x1: r.range(x0 + 0.4 * (s.right - s.left), s.right),
            y: r.range(s.wall_bottom - 0.08 * s.h, s.wall_bottom + 0.12 * s.h),
            width: r.range(4.0, 7.0) * s.h / 360.0,
            stripe: r.range(6.0, 10.0) * s.h / 360.0,
            sag: r.range(0.01, 0.04) * s.h,
            seed: r.next_u64(),
            red: lit(s, [215.0, 30.0, 35.0]),
            white: lit(s, [240.0, 240.0, 235.0]),
        }
    }
}

impl Actor for Tape {
    fn draw(&mut self, c: &mut Canvas, t: f32) {
        let len = self.x1 - self.x0;
        let mut x = self.x0;
        while x < self.x1 {
            let u = (x - self.x0) / len;
            // Sag in the middle, a wave running along it, and a twist that
            // narrows the ribbon where it turns edge-on.
            let wave = wobble(self.seed, t * 2.5 - u * 3.0, 1.5);
            let yc = self.y + self.sag * 4.0 * u * (1.0 - u) + 0.8 * self.width * wave;
            let twist = (0.35 + 0.65 * (0.5 + 0.5 * wobble(self.seed ^ 7, t * 2.0 + u * 4.0, 1.2)))
                .clamp(0.2, 1.0);
            let half = 0.5 * self.width * twist;
            let k = 0.75 + 0.25 * twist;
            for y in ((yc - half).floor() as i64)..((yc + half).ceil() as i64) {
                let along = x + (y as f32 - yc);
                let red = (along / self.stripe).floor() as i64 % 2 == 0;
                let col = if red { self.red } else { self.white };
                c.blend(x as i64, y, shade(col, k), 1.0);
            }
            x += 1.0;
        }
    }
}

/// A printed sign or poster on the shed's wall: white with a red border and
/// a flame pictogram ("no charging", "fire exit", a fire-safety poster),
/// swaying a little on its fixings.
pub(super) struct Poster {
    x: f32,
    y: f32,
    w: f32,
    h: f32,
    seed: u64,
    sways: bool,
    shade_night: bool,
}

impl Poster {
    pub(super) fn new(s: &Shed, r: &mut Rng) -> Poster {
        let h = r.range(0.08, 0.16) * s.h;
        Poster {
            x: r.range(s.left + 0.05 * s.w, s.right - 0.05 * s.w - h),
            y: r.range(s.roof_y + 0.04 * s.h, s.wall_bottom - h - 0.02 * s.h),
            w: h * r.range(0.7, 1.0),
            h,
            seed: r.next_u64(),
            sways: r.chance(0.6),
            shade_night: s.variant == Variant::Night,
        }
    }
}

impl Actor for Poster {
    fn draw(&mut self, c: &mut Canvas, t: f32) {
        let dx = if self.sways {
            1.2 * wobble(self.seed, t, 0.8)
        } else {
            0.0
        };
        let k = if self.shade_night { 0.55 } else { 1.0 };
        let (x0, y0) = (self.x + dx, self.y);
        let (w, h) = (self.w, self.h);
        let b = 0.1 * w;
        c.rect(x0, y0, x0 + w, y0 + h, shade([200.0, 25.0, 30.0], k), 1.0);
        c.rect(
            x0 + b,
            y0 + b,
            x0 + w - b,
            y0 + h - b,
            shade([245.0, 242.0, 235.0], k),
            1.0,
        );
        // The pictogram: three flame tongues, red outside, orange and
        // yellow inside, printed (it does not move on the paper).
        let (cx, base) = (x0 + 0.5 * w, y0 + h - 2.0 * b);
        let fh = h - 4.0 * b;
        for (scale, col) in [
            (1.0, [220.0, 40.0, 25.0]),
            (0.7, [250.0, 140.0, 30.0]),
            (0.4, [255.0, 225.0, 80.0]),
        ] {
            for (off, th) in [(-0.18, 0.7), (0.0, 1.0), (0.18, 0.6)] {
                let tip = (cx + off * w * scale, base - fh * th * scale);
                let half = 0.16 * w * scale;
                c.polygon(
                    &[
                        (cx + off * w * scale - half, base),
                        (cx + off * w * scale + half, base),
                        tip,
                    ],
                    shade(col, k),
                    1.0,
                    2,
                );
            }
        }
    }
}

/// A car crossing in front of the shed at walking pace: a red, white or
/// dark body, lit head- and tail-lights at night.
pub(super) struct Car {
    t0: f32,
    speed: f32,
    dir: f32,
    y: f32,
    len: f32,
    height: f32,
    body: Rgb,
    night: bool,
    w: f32,
}

impl Car {
    pub(super) fn new(s: &Shed, r: &mut Rng, duration: f32) -> Car {
        let len = r.range(0.35, 0.5) * s.w;
        Car {
            t0: r.range(0.5, (duration * 0.5).max(1.0)),
            speed: r.range(0.08, 0.2) * s.w,
            dir: if r.chance(0.5) { 1.0 } else { -1.0 },
            y: r.range(s.floor_front - 0.02 * s.h, s.floor_front + 0.08 * s.h),
            len,
            height: len * r.range(0.3, 0.38),
            body: lit(
                s,
                *r.pick(&[
                    [190.0, 25.0, 30.0],
                    [235.0, 235.0, 230.0],
                    [40.0, 42.0, 48.0],
                    [230.0, 120.0, 30.0],
                ]),
            ),
            night: s.variant != Variant::Day,
            w: s.w,
        }
    }
}

impl Actor for Car {
    fn draw(&mut self, c: &mut Canvas, t: f32) {
        if t < self.t0 {
            return;
        }
        let travelled = (t - self.t0) * self.speed;
        let x0 = if self.dir > 0.0 {
            -self.len + travelled
        } else {
            self.w - travelled
        };
        if x0 > self.w || x0 + self.len < 0.0 {
            return;
        }
        let (x1, yb) = (x0 + self.len, self.y);
        let yt = yb - self.height;
        // Body, cabin with windows, wheels.
        c.rect(
            x0,
            yt + 0.4 * self.height,
            x1,
            yb - 0.12 * self.height,
            self.body,
            1.0,
        );
        c.rect(
            x0 + 0.22 * self.len,
            yt,
            x1 - 0.2 * self.len,
            yt + 0.42 * self.height,
            shade(self.body, 0.9),
            1.0,
        );
        c.rect(
            x0 + 0.26 * self.len,
            yt + 0.06 * self.height,
            x1 - 0.24 * self.len,
            yt + 0.38 * self.height,
            [40.0, 50.0, 60.0],
            1.0,
        );
        for wx in [x0 + 0.2 * self.len, x1 - 0.2 * self.len] {
            c.ellipse(
                wx,
                yb - 0.12 * self.height,
                0.11 * self.len,
                0.11 * self.len,
                0.0,
                [20.0, 20.0, 22.0],
                1.0,
            );
        }
        // Lights: white at the front, red at the back.
        let (front, back) = if self.dir > 0.0 { (x1, x0) } else { (x0, x1) };
        let ly = yt + 0.55 * self.height;
        let lr = 0.035 * self.len;
        c.ellipse(front, ly, lr, lr, 0.0, [255.0, 250.0, 230.0], 1.0);
        c.ellipse(back, ly, lr, lr, 0.0, [230.0, 30.0, 30.0], 1.0);
        if self.night {
            c.glow(front, ly, 6.0 * lr, [255.0, 245.0, 215.0], 0.6);
            c.glow(back, ly, 3.0 * lr, [255.0, 40.0, 30.0], 0.4);
        }
    }
}
