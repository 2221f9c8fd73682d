//! The tower's look-alikes: birds, drifting leaves, rain, laundry swaying,
//! window lights switching, a lift car moving down.

use super::{Tower, Window};
use crate::raster::{shade, Canvas, Rgb};
use crate::rng::{wobble, Rng};
use crate::{Actor, Kind, Variant};

/// A bird crossing the view.
pub(super) struct Bird {
    kind: Kind,
    x0: f32,
    y0: f32,
    vx: f32,
    vy: f32,
    t0: f32,
    size: f32,
    flap_hz: f32,
    bob: f32,
    seed: u64,
    colour: Rgb,
}

impl Bird {
    pub(super) fn new(t: &Tower, kind: Kind, r: &mut Rng, duration: f32) -> Bird {
        let scale = t.h / 360.0;
        let dir = if r.chance(0.5) { 1.0 } else { -1.0 };
        let vx = dir * r.range(50.0, 140.0) * scale;
        let vy = match kind {
            Kind::BirdRising => -r.range(20.0, 50.0) * scale,
            Kind::BirdGlidingDown => r.range(25.0, 70.0) * scale,
            _ => r.range(-5.0, 5.0) * scale,
        };
        let t0 = r.range(0.3, (duration * 0.4).max(0.4));
        let y0 = match kind {
            Kind::BirdRising => r.range(0.45, 0.8) * t.h,
            Kind::BirdGlidingDown => r.range(0.05, 0.35) * t.h,
            _ => r.range(0.1, 0.7) * t.h,
        };
        let x0 = if dir > 0.0 { -20.0 } else { t.w + 20.0 };
        Bird {
            kind,
            x0,
            y0,
            vx,
            vy,
            t0,
            size: r.range(6.0, 16.0) * scale,
            flap_hz: r.range(3.0, 8.0),
            bob: if kind == Kind::BirdFlapping {
                r.range(6.0, 15.0) * scale
            } else {
                r.range(0.0, 2.0) * scale
            },
            seed: r.next_u64(),
            colour: match t.variant {
                Variant::Ir => [70.0, 70.0, 70.0],
                _ => [
                    r.range(20.0, 60.0),
                    r.range(20.0, 55.0),
                    r.range(20.0, 50.0),
                ],
            },
        }
    }
}

impl Actor for Bird {
    fn draw(&mut self, c: &mut Canvas, t: f32) {
        let dt = t - self.t0;
        if dt < 0.0 {
            return;
        }
        let bob_hz = if self.kind == Kind::BirdFlapping {
            1.3
        } else {
            0.5
        };
        let x = self.x0 + self.vx * dt;
        let y = self.y0 + self.vy * dt + self.bob * (std::f32::consts::TAU * bob_hz * dt).sin();
        let s = self.size;
        let dir = self.vx.signum();
        c.ellipse(x, y, s * 0.35, s * 0.14, 0.0, self.colour, 1.0);
        c.ellipse(
            x + dir * s * 0.38,
            y - s * 0.05,
            s * 0.1,
            s * 0.09,
            0.0,
            self.colour,
            1.0,
        );
        let gliding = self.kind == Kind::BirdGlidingDown;
        let wing = if gliding {
            0.15
        } else {
            0.7 * (std::f32::consts::TAU * self.flap_hz * dt + wobble(self.seed, t, 0.5)).sin()
        };
        let span = s * 0.55;
        let lw = (s * 0.12).max(1.0);
        for side in [-1.0f32, 1.0] {
            let tip_x = x + side * span * 0.9;
            let tip_y = y - span * wing;
            let mid_x = x + side * span * 0.45;
            let mid_y = y - span * wing * 0.3 - s * 0.08;
            c.line(x, y, mid_x, mid_y, lw, self.colour, 0.95);
            c.line(mid_x, mid_y, tip_x, tip_y, lw * 0.8, self.colour, 0.95);
        }
    }
}

/// Leaves drifting down slowly, swaying.
pub(super) struct Leaves {
    items: Vec<Leaf>,
}

/// One leaf: start point, fall speed, sway amplitude and rate, size, start time, colour.
struct Leaf {
    x0: f32,
    y0: f32,
    vy: f32,
    amp: f32,
    hz: f32,
    size: f32,
    t0: f32,
    col: Rgb,
}

impl Leaves {
    pub(super) fn new(t: &Tower, r: &mut Rng, duration: f32) -> Leaves {
        let scale = t.h / 360.0;
        let n = r.int(3, 8);
        let cols: [Rgb; 4] = [
            [80.0, 120.0, 40.0],
            [160.0, 130.0, 40.0],
            [120.0, 70.0, 30.0],
            [60.0, 90.0, 30.0],
        ];
        let items = (0..n)
            .map(|_| Leaf {
                x0: r.range(0.05, 0.95) * t.w,
                y0: r.range(-0.05, 0.4) * t.h,
                vy: r.range(15.0, 40.0) * scale,
                amp: r.range(8.0, 30.0) * scale,
                hz: r.range(0.3, 0.8),
                size: r.range(3.0, 7.0) * scale,
                t0: r.range(0.0, duration * 0.5),
                col: match t.variant {
                    Variant::Ir => [190.0; 3],
                    Variant::Night => shade(*r.pick(&cols), 0.3),
                    Variant::Day => *r.pick(&cols),
                },
            })
            .collect();
        Leaves { items }
    }
}

impl Actor for Leaves {
    fn draw(&mut self, c: &mut Canvas, t: f32) {
        for l in &self.items {
            let dt = t - l.t0;
            if dt < 0.0 {
                continue;
            }
            let ph = std::f32::consts::TAU * l.hz * dt;
            let x = l.x0 + l.amp * ph.sin();
            let y = l.y0 + l.vy * dt;
            let flutter = 0.3 + 0.7 * (2.0 * ph).cos().abs();
            c.ellipse(
                x,
                y,
                l.size / 2.0,
                l.size / 2.0 * flutter,
                ph * 0.5,
                l.col,
                1.0,
            );
        }
    }
}

/// Rain streaks over the whole frame, falling at constant speed.
pub(super) struct Rain {
    drops: Vec<(f32, f32, f32, f32)>,
    speed: f32,
    len: f32,
    slant: f32,
    w: f32,
    h: f32,
    colour: Rgb,
}

impl Rain {
    pub(super) fn new(t: &Tower, r: &mut Rng) -> Rain {
        let scale = t.h / 360.0;
        let n = r.int(150, 350);
        let drops = (0..n)
            .map(|_| {
                (
                    r.range(0.0, t.w),
                    r.range(0.0, t.h * 1.2),
                    r.range(0.1, 0.3),
                    r.range(0.8, 1.2),
                )
            })
            .collect();
        Rain {
            drops,
            speed: r.range(600.0, 1000.0) * scale,
            len: r.range(10.0, 22.0) * scale,
            slant: r.range(-0.15, 0.15),
            w: t.w,
            h: t.h,
            colour: [205.0, 208.0, 215.0],
        }
    }
}

impl Actor for Rain {
    fn draw(&mut self, c: &mut Canvas, t: f32) {
        let span = self.h * 1.2 + self.len;
        for &(x0, y0, alpha, k) in &self.drops {
            let y = (y0 + self.speed * k * t) % span - self.len;
            let x = (x0 + self.slant * self.speed * k * t).rem_euclid(self.w);
            c.line(
                x,
                y,
                x + self.slant * self.len,
                y + self.len,
                1.0,
                self.colour,
                alpha,
            );
        }
    }
}

/// Laundry on a pole outside a window, swaying.
pub(super) struct Laundry {
    cloths: Vec<Cloth>,
    pole: (f32, f32, f32, f32),
}

/// A cloth hanging from the pole: top corners, length, sway rate, amplitude, phase, colour.
struct Cloth {
    top: [(f32, f32); 2],
    len: f32,
    hz: f32,
    amp: f32,
    ph: f32,
    col: Rgb,
}

impl Laundry {
    pub(super) fn new(t: &Tower, r: &mut Rng) -> Laundry {
        let mut cands: Vec<&Window> = t
            .windows
            .iter()
            .filter(|w| Some(w.column) != t.lift_column && w.floor < t.top_usable_floor())
            .collect();
        if cands.is_empty() {
            // A camera that sees only the lowest floors: any window will do.
            cands = t.windows.iter().collect();
        }
        let win = **r.pick(&cands);
        let (x0, y0) = t.cam.on_facade(win.x0 - 0.3, win.z0 - 0.1);
        let (x1, _) = t.cam.on_facade(win.x1 + 0.6, win.z0 - 0.1);
        let ppm = t.cam.px_per_m(win.z0);
        let n = r.int(2, 4);
        let cols: [Rgb; 6] = [
            [230.0, 230.0, 235.0],
            [200.0, 60.0, 60.0],
            [60.0, 100.0, 200.0],
            [230.0, 200.0, 90.0],
            [90.0, 160.0, 110.0],
            [180.0, 120.0, 160.0],
        ];
        let mut cloths = Vec::new();
        for i in 0..n {
            let a = x0 + (x1 - x0) * (i as f32 + 0.1) / n as f32;
            let b = a + (x1 - x0) * 0.8 / n as f32;
            let mut col = *r.pick(&cols);
            if t.variant == Variant::Night {
                col = shade(col, 0.35);
            }
            cloths.push(Cloth {
                top: [(a, y0), (b, y0)],
                len: r.range(0.5, 1.0) * ppm,
                hz: r.range(0.3, 0.9),
                amp: r.range(2.0, 6.0) * t.h / 360.0,
                ph: r.range(0.0, 6.0),
                col,
            });
        }
        Laundry {
            cloths,
            pole: (x0, y0, x1, y0),
        }
    }
}

impl Actor for Laundry {
    fn draw(&mut self, c: &mut Canvas, t: f32) {
        let (a, b, cc, d) = self.pole;
        c.line(a, b, cc, d, 1.2, [90.0, 90.0, 90.0], 1.0);
        for &Cloth {
            top,
            len,
            hz,
            amp,
            ph,
            col,
        } in &self.cloths
        {
            let sway = amp * (std::f32::consts::TAU * hz * t + ph).sin();
            let flutter = 0.3 * amp * (std::f32::consts::TAU * hz * 2.7 * t + ph).sin();
            let quad = [
                top[0],
                top[1],
                (top[1].0 + sway + flutter, top[1].1 + len),
                (top[0].0 + sway, top[0].1 + len * 0.95),
            ];
            c.polygon(&quad, col, 1.0, 2);
        }
    }
}

type LitWindow = ([(f32, f32); 4], Vec<f32>, bool);

/// Windows switching their lights on and off.
pub(super) struct WindowLights {
    /// Each window's outline, the times it switches, and whether it starts lit.
    quads: Vec<LitWindow>,
    colour: Rgb,
    alpha: f32,
}

impl WindowLights {
    pub(super) fn new(t: &Tower, r: &mut Rng, duration: f32) -> WindowLights {
        let n = r.int(4, 10);
        let mut quads = Vec::new();
        for _ in 0..n {
            let w = *r.pick(&t.windows);
            let q = t.quad(w.x0, w.x1, w.z0, w.z1);
            let toggles = (0..r.int(1, 3))
                .map(|_| r.range(0.5, duration - 0.3))
                .collect();
            quads.push((q, toggles, r.chance(0.5)));
        }
        WindowLights {
            quads,
            colour: match t.variant {
                Variant::Ir => [220.0; 3],
                _ => [235.0, 200.0, 130.0],
            },
            alpha: if t.variant == Variant::Day { 0.55 } else { 1.0 },
        }
    }
}

impl Actor for WindowLights {
    fn draw(&mut self, c: &mut Canvas, t: f32) {
        for (q, toggles, start_on) in &self.quads {
            let flips = toggles.iter().filter(|&&x| x <= t).count();
            let on = *start_on ^ (flips % 2 == 1);
            if on {
                c.polygon(q, self.colour, self.alpha, 1);
            } else {
                c.polygon(q, [15.0, 17.0, 22.0], self.alpha * 0.8, 1);
            }
        }
    }
}

/// A lift car seen through the lift shaft's slit windows, moving down at constant speed.
pub(super) struct LiftCar {
    tower: Tower,
    z_start: f32,
    speed: f32,
    t0: f32,
    colour: Rgb,
}

impl LiftCar {
    pub(super) fn new(t: &Tower, r: &mut Rng, duration: f32) -> LiftCar {
        let top = t.top_usable_floor() as f32 * t.floor_h;
        LiftCar {
            tower: t.clone(),
            z_start: top + r.range(0.0, 3.0),
            speed: r.range(1.0, 2.5),
            t0: r.range(0.3, (duration * 0.3).max(0.4)),
            colour: match t.variant {
                Variant::Ir => [200.0; 3],
                Variant::Night => [210.0, 200.0, 170.0],
                Variant::Day => [185.0, 180.0, 165.0],
            },
        }
    }
}

impl Actor for LiftCar {
    fn draw(&mut self, c: &mut Canvas, t: f32) {
        let Some(col) = self.tower.lift_column else {
            return;
        };
        let dt = (t - self.t0).max(0.0);
        let z1 = self.z_start - self.speed * dt;
        let z0 = z1 - 2.5;
        for w in self.tower.windows.iter().filter(|w| w.column == col) {
            let (a, b) = (z0.max(w.z0), z1.min(w.z1));
            if b <= a {
                continue;
            }
            let q = self.tower.quad(w.x0, w.x1, a, b);
            c.polygon(&q, self.colour, 1.0, 2);
        }
    }
}
