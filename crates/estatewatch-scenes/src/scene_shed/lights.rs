//! Lights that are not fire: a flashing beacon, sweeping headlights,
//! sunlight and sun patches through trees, small blinking lights.

use super::Shed;
use crate::raster::{mix, shade, Canvas, Rgb};
use crate::rng::{wobble, Rng};
use crate::Actor;

/// A flashing orange beacon (square-wave or rotating).
pub(super) struct Beacon {
    pub(super) x: f32,
    pub(super) y: f32,
    pub(super) r: f32,
    period: f32,
    rotating: bool,
    phase: f32,
}

impl Beacon {
    pub(super) fn new(s: &Shed, r: &mut Rng) -> Beacon {
        Beacon {
            x: r.range(s.left + 0.05 * s.w, s.right - 0.05 * s.w),
            y: r.range(s.roof_y + 0.03 * s.h, s.wall_bottom - 0.05 * s.h),
            r: r.range(3.0, 7.0) * s.h / 360.0,
            period: r.range(0.5, 1.3),
            rotating: r.chance(0.5),
            phase: r.range(0.0, 1.0),
        }
    }
}

impl Actor for Beacon {
    fn draw(&mut self, c: &mut Canvas, t: f32) {
        let u = (t / self.period + self.phase).fract();
        let k = if self.rotating {
            (0.5 + 0.5 * (std::f32::consts::TAU * u).cos()).powi(3)
        } else if u < 0.5 {
            1.0
        } else {
            0.0
        };
        c.ellipse(
            self.x,
            self.y,
            self.r,
            self.r,
            0.0,
            mix([90.0, 50.0, 20.0], [255.0, 160.0, 30.0], k),
            1.0,
        );
        if k > 0.05 {
            c.glow(self.x, self.y, self.r * 8.0, [255.0, 130.0, 20.0], 0.5 * k);
        }
    }
}

/// Car headlights sweeping across the shed.
pub(super) struct Headlights {
    t0: f32,
    dur: f32,
    y: f32,
    dir: f32,
    w: f32,
    h: f32,
}

impl Headlights {
    pub(super) fn new(s: &Shed, r: &mut Rng, duration: f32) -> Headlights {
        Headlights {
            t0: r.range(1.0, (duration - 5.0).max(1.5)),
            dur: r.range(2.0, 4.0),
            y: r.range(0.45, 0.75) * s.h,
            dir: if r.chance(0.5) { 1.0 } else { -1.0 },
            w: s.w,
            h: s.h,
        }
    }
}

impl Actor for Headlights {
    fn draw(&mut self, c: &mut Canvas, t: f32) {
        let u = (t - self.t0) / self.dur;
        if !(0.0..=1.0).contains(&u) {
            return;
        }
        let u = if self.dir > 0.0 { u } else { 1.0 - u };
        let x = -0.3 * self.w + 1.6 * self.w * u;
        let k = (std::f32::consts::PI * u).sin();
        c.glow(x, self.y, 0.45 * self.h, [255.0, 245.0, 215.0], 0.9 * k);
        c.glow(x, self.y, 0.15 * self.h, [255.0, 250.0, 235.0], 0.8 * k);
    }
}

/// Warm sunlight patches through trees: wobbling with the wind, dimming with clouds.
pub(super) struct Sunlight {
    patches: Vec<(f32, f32, f32, f32, u64)>,
    cloud_seed: u64,
}

impl Sunlight {
    pub(super) fn new(s: &Shed, r: &mut Rng) -> Sunlight {
        let n = r.int(4, 9);
        let patches = (0..n)
            .map(|_| {
                (
                    r.range(s.left, s.right),
                    r.range(s.roof_y + 0.1 * s.h, s.floor_front),
                    r.range(0.03, 0.09) * s.h,
                    r.range(0.6, 1.4),
                    r.next_u64(),
                )
            })
            .collect();
        Sunlight {
            patches,
            cloud_seed: r.next_u64(),
        }
    }
}

impl Actor for Sunlight {
    fn draw(&mut self, c: &mut Canvas, t: f32) {
        let cloud = (0.55 + 0.45 * wobble(self.cloud_seed, t, 0.08)).clamp(0.1, 1.0);
        for &(x, y, r, stretch, seed) in &self.patches {
            let dx = 0.2 * r * wobble(seed, t, 0.7);
            let dy = 0.1 * r * wobble(seed ^ 3, t, 0.6);
            for i in 0..4u64 {
                let ox = ((seed >> (i * 8)) & 0xff) as f32 / 255.0 - 0.5;
                let oy = ((seed >> (i * 8 + 32)) & 0xff) as f32 / 255.0 - 0.5;
                let cx = x + dx + ox * r * 1.5;
                let cy = y + dy + oy * r;
                let rr = r * (0.5 + 0.3 * ((seed >> i) & 1) as f32);
                c.fill_with(
                    (cx - rr * stretch, cy - rr, cx + rr * stretch, cy + rr),
                    1,
                    [255.0, 225.0, 160.0],
                    0.6 * cloud,
                    |px, py| ((px - cx) / (rr * stretch)).powi(2) + ((py - cy) / rr).powi(2) <= 1.0,
                );
            }
        }
    }
}

/// Sun through moving cloud (as on real footage, `vtest.avi`): broad,
/// soft-edged patches of wall and floor grow a few per cent lighter and
/// darker again as the cloud thins and thickens, and drift slowly. Light
/// multiplies, so a patch's texture scales with its brightness; the scene's
/// median brightness hardly moves.
pub(super) struct SunPatches {
    patches: Vec<(f32, f32, f32, f32, f32, u64)>,
}

impl SunPatches {
    pub(super) fn new(s: &Shed, r: &mut Rng) -> SunPatches {
        let n = r.int(2, 4);
        let patches = (0..n)
            .map(|_| {
                (
                    r.range(s.left + 0.1 * s.w, s.right - 0.1 * s.w),
                    r.range(s.roof_y + 0.15 * s.h, s.floor_front),
                    r.range(0.08, 0.18) * s.h,
                    r.range(1.0, 2.2),
                    r.range(0.04, 0.09),
                    r.next_u64(),
                )
            })
            .collect();
        SunPatches { patches }
    }
}

impl Actor for SunPatches {
    fn draw(&mut self, c: &mut Canvas, t: f32) {
        for &(x, y, r, stretch, amp, seed) in &self.patches {
            // 0..amp and back over several seconds (cloud edges pass slowly).
            let k = amp * (0.5 + 0.5 * wobble(seed, t, 0.12)).clamp(0.0, 1.0);
            let dx = 0.4 * r * wobble(seed ^ 5, t, 0.05);
            c.scale_soft(x + dx, y, r * stretch, r, k);
        }
    }
}

/// A small blinking red or orange light nobody masked: a charger's or a
/// scooter's indicator blinking on and off, a strobe, or a small rotating
/// beacon, with the light it throws on the wall.
pub(super) struct Blinker {
    x: f32,
    y: f32,
    r: f32,
    period: f32,
    duty: f32,
    rotating: bool,
    col: Rgb,
    phase: f32,
}

impl Blinker {
    pub(super) fn new(s: &Shed, r: &mut Rng) -> Blinker {
        Blinker {
            x: r.range(s.left + 0.05 * s.w, s.right - 0.05 * s.w),
            y: r.range(s.roof_y + 0.05 * s.h, s.floor_front - 0.05 * s.h),
            r: r.range(2.0, 5.0) * s.h / 360.0,
            period: r.range(0.4, 1.5),
            duty: r.range(0.15, 0.6),
            rotating: r.chance(0.3),
            col: *r.pick(&[
                [255.0, 40.0, 30.0],
                [255.0, 120.0, 20.0],
                [255.0, 170.0, 40.0],
            ]),
            phase: r.range(0.0, 1.0),
        }
    }
}

impl Actor for Blinker {
    fn draw(&mut self, c: &mut Canvas, t: f32) {
        let u = (t / self.period + self.phase).fract();
        let k = if self.rotating {
            (0.5 + 0.5 * (std::f32::consts::TAU * u).cos()).powi(3)
        } else if u < self.duty {
            1.0
        } else {
            0.0
        };
        c.ellipse(
            self.x,
            self.y,
            self.r,
            self.r,
            0.0,
            mix(shade(self.col, 0.3), self.col, k),
            1.0,
        );
        if k > 0.05 {
            c.ellipse(
                self.x,
                self.y,
                0.5 * self.r,
                0.5 * self.r,
                0.0,
                [255.0, 240.0, 200.0],
                k,
            );
            c.glow(self.x, self.y, self.r * 6.0, self.col, 0.45 * k);
        }
    }
}
