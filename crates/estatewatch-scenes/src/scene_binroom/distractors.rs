//! The bin room's other look-alikes: a bag carried through, a bin moved, a
//! bicycle parked, passers-by, a lighting change.

use super::{bag_colour, draw_bin, figure, Bin, Room};
use crate::people::{draw_bike, Key, Load, Person};
use crate::raster::{shade, Canvas, Rgb};
use crate::rng::{wobble, Rng};
use crate::{Actor, Params, Variant};

/// A bin's width (its lid, the widest part) as a share of its height.
pub(super) const BIN_WIDTH: f32 = 0.68;

/// Someone carries a bag past the bins, pausing, and takes it away.
pub(super) fn carried_through(r: &Room, rng: &mut Rng) -> Person {
    let left = rng.chance(0.5);
    let (xa, xb) = if left {
        (-0.08 * r.w, 1.08 * r.w)
    } else {
        (1.08 * r.w, -0.08 * r.w)
    };
    let y = r.wall_bottom + rng.range(0.1, 0.35) * r.h;
    let speed = rng.range(0.12, 0.2) * r.w;
    let mid = rng.range(0.3, 0.7) * r.w;
    let t0 = rng.range(2.0, 6.0);
    let t1 = t0 + (mid - xa).abs() / speed;
    let pause = rng.range(3.0, 6.0);
    let t2 = t1 + pause;
    let t3 = t2 + (xb - mid).abs() / speed;
    let hgt = r.persp.height_at(y);
    Person {
        fig: figure(r, rng),
        keys: vec![
            Key::at(t0, xa, y).carrying(true),
            Key::at(t1, mid, y).carrying(true),
            Key::at(t2, mid, y).carrying(true),
            Key::at(t3, xb, y).carrying(true),
        ],
        persp: r.persp,
        load: Load::Bag(bag_colour(r, rng), rng.range(0.18, 0.28) * hgt / hgt),
        seed: rng.next_u64(),
    }
}

/// A bin that a person pushes to a new place and leaves there.
struct MovingBin {
    bin: Bin,
    from: (f32, f32),
    to: (f32, f32),
    t0: f32,
    t1: f32,
    dim: f32,
}

impl Actor for MovingBin {
    fn draw(&mut self, c: &mut Canvas, t: f32) {
        let u = ((t - self.t0) / (self.t1 - self.t0)).clamp(0.0, 1.0);
        let mut b = self.bin;
        b.x = self.from.0 + (self.to.0 - self.from.0) * u;
        b.y = self.from.1 + (self.to.1 - self.from.1) * u;
        b.col = shade(b.col, self.dim);
        draw_bin(c, &b);
    }
}

/// A bin's push, planned: who pushes it where, and when it ends.
pub(super) struct Push {
    pub(super) actors: Vec<Box<dyn Actor>>,
    /// Where the bin's foot stood, and where it ends up.
    pub(super) from: (f32, f32),
    pub(super) to: (f32, f32),
    pub(super) height: f32,
    /// When the bin stops moving.
    pub(super) t_end: f32,
}

/// Someone walks in, pushes bin `i` aside (how far and which way: drawn, or
/// `push_widths` and `push_deg`) and walks off.
pub(super) fn move_bin(r: &Room, i: usize, rng: &mut Rng, params: &Params) -> Push {
    let bin = r.bins[i];
    let mut dx = rng.range(0.08, 0.18) * r.w * if rng.chance(0.5) { 1.0 } else { -1.0 };
    let mut dy = rng.range(0.0, 0.12) * r.h;
    if params.push_widths.is_some() || params.push_deg.is_some() {
        let dist = params
            .push_widths
            .map_or((dx * dx + dy * dy).sqrt(), |p| p * BIN_WIDTH * bin.height);
        let angle = params.push_deg.map_or(dy.atan2(dx), f32::to_radians);
        dx = dist * angle.cos();
        dy = dist * angle.sin();
    }
    let to = ((bin.x + dx).clamp(0.08 * r.w, 0.92 * r.w), bin.y + dy);
    let speed = rng.range(0.12, 0.2) * r.w;
    let xa = if rng.chance(0.5) {
        -0.08 * r.w
    } else {
        1.08 * r.w
    };
    let ya = rng.range(0.7, 0.95) * r.h;
    let t0 = rng.range(2.0, 5.0);
    let grab = (
        bin.x - (to.0 - bin.x).signum() * 0.45 * bin.height,
        bin.y + 0.01 * r.h,
    );
    let t1 = t0 + ((grab.0 - xa).powi(2) + (grab.1 - ya).powi(2)).sqrt() / speed;
    let dist = ((to.0 - bin.x).powi(2) + (to.1 - bin.y).powi(2)).sqrt();
    let t2 = t1 + 0.8;
    let t3 = t2 + dist / (0.5 * speed);
    let end = (grab.0 + to.0 - bin.x, grab.1 + to.1 - bin.y);
    let t4 = t3 + 0.8 + (xa - end.0).abs() / speed;
    let person = Person {
        fig: figure(r, rng),
        keys: vec![
            Key::at(t0, xa, ya),
            Key::at(t1, grab.0, grab.1),
            Key::at(t2, grab.0, grab.1),
            Key::at(t3, end.0, end.1),
            Key::at(t3 + 0.8, end.0, end.1),
            Key::at(t4, xa, ya),
        ],
        persp: r.persp,
        load: Load::Nothing,
        seed: rng.next_u64(),
    };
    let dim = if r.variant == Variant::Night {
        0.4
    } else {
        1.0
    };
    Push {
        actors: vec![
            Box::new(MovingBin {
                bin,
                from: (bin.x, bin.y),
                to,
                t0: t2,
                t1: t3,
                dim,
            }),
            Box::new(person),
        ],
        from: (bin.x, bin.y),
        to,
        height: bin.height,
        t_end: t3,
    }
}

/// A bicycle wheeled in and left standing by the wall.
struct StandingBike {
    x: f32,
    y: f32,
    size: f32,
    col: Rgb,
    from: f32,
}

impl Actor for StandingBike {
    fn draw(&mut self, c: &mut Canvas, t: f32) {
        if t >= self.from {
            draw_bike(c, self.x, self.y, self.size, self.col, 1.0, false);
        }
    }
}

pub(super) fn park_bicycle(r: &Room, rng: &mut Rng) -> Vec<Box<dyn Actor>> {
    let fig = figure(r, rng);
    let col: Rgb = *rng.pick(&[
        [30.0, 30.0, 32.0],
        [180.0, 30.0, 30.0],
        [40.0, 80.0, 160.0],
        [200.0, 200.0, 200.0],
    ]);
    let col = if r.variant == Variant::Night {
        shade(col, 0.5)
    } else {
        col
    };
    let from_left = rng.chance(0.5);
    let xa = if from_left { -0.08 * r.w } else { 1.08 * r.w };
    let ya = rng.range(0.7, 0.95) * r.h;
    let sx = rng.range(0.15, 0.85) * r.w;
    let sy = r.wall_bottom + rng.range(0.05, 0.2) * r.h;
    let speed = rng.range(0.12, 0.18) * r.w;
    let t0 = rng.range(2.0, 5.0);
    let t1 = t0 + ((sx - xa).powi(2) + (sy - ya).powi(2)).sqrt() / speed;
    let facing = if sx >= xa { 1.0 } else { -1.0 };
    let hgt = r.persp.height_at(sy);
    let seed = rng.next_u64();
    let arrive = Person {
        fig,
        keys: vec![Key::at(t0, xa, ya), Key::at(t1, sx, sy)],
        persp: r.persp,
        load: Load::Bike(col),
        seed,
    };
    let t2 = t1 + 1.0;
    let leave = Person {
        fig,
        keys: vec![
            Key::at(t1 + 0.01, sx, sy),
            Key::at(t2, sx, sy),
            Key::at(t2 + (sx - xa).abs() / speed, xa, ya),
        ],
        persp: r.persp,
        load: Load::Nothing,
        seed,
    };
    vec![
        Box::new(StandingBike {
            x: sx + facing * 0.25 * hgt,
            y: sy,
            size: 0.55 * hgt,
            col,
            from: t1 + 0.01,
        }),
        Box::new(arrive),
        Box::new(leave),
    ]
}

/// Someone walking straight through.
pub(super) fn passer(r: &Room, rng: &mut Rng, duration: f32) -> Person {
    let left = rng.chance(0.5);
    let (xa, xb) = if left {
        (-0.08 * r.w, 1.08 * r.w)
    } else {
        (1.08 * r.w, -0.08 * r.w)
    };
    let y = r.wall_bottom + rng.range(0.1, 0.5) * r.h;
    let speed = rng.range(0.12, 0.25) * r.w;
    let t0 = rng.range(0.5, (duration - 10.0).max(1.0));
    Person {
        fig: figure(r, rng),
        keys: vec![
            Key::at(t0, xa, y),
            Key::at(t0 + (xb - xa).abs() / speed, xb, y),
        ],
        persp: r.persp,
        load: Load::Nothing,
        seed: rng.next_u64(),
    }
}

/// Light changes: clouds dimming the day, a lamp or the IR illuminator switching at night.
pub(super) struct Lighting {
    steps: Vec<(f32, f32)>,
    smooth: bool,
    seed: u64,
    lamp: Option<(f32, f32, f32)>,
}

impl Lighting {
    pub(super) fn new(r: &Room, rng: &mut Rng, duration: f32) -> Lighting {
        let n = rng.int(1, 3);
        let mut steps: Vec<(f32, f32)> = (0..n)
            .map(|_| {
                (
                    rng.range(3.0, (duration - 3.0).max(3.5)),
                    rng.range(0.55, 0.8),
                )
            })
            .collect();
        steps.sort_by(|a, b| a.0.total_cmp(&b.0));
        Lighting {
            steps,
            smooth: r.variant == Variant::Day,
            seed: rng.next_u64(),
            lamp: if r.variant == Variant::Night {
                Some((
                    rng.range(0.2, 0.8) * r.w,
                    r.wall_bottom + 0.15 * r.h,
                    0.5 * r.h,
                ))
            } else {
                None
            },
        }
    }

    /// Brightness factor at `t`: each step toggles between 1 and its level.
    fn level(&self, t: f32) -> f32 {
        let mut k = 1.0;
        for (i, &(ts, lvl)) in self.steps.iter().enumerate() {
            let ramp = if self.smooth { 2.0 } else { 0.15 };
            let u = ((t - ts) / ramp).clamp(0.0, 1.0);
            let target = if i % 2 == 0 { lvl } else { 1.0 / lvl };
            k *= 1.0 + (target - 1.0) * u;
        }
        k * (1.0 + 0.01 * wobble(self.seed, t, 0.2))
    }
}

impl Actor for Lighting {
    fn draw(&mut self, c: &mut Canvas, t: f32) {
        let k = self.level(t);
        if let Some((x, y, rad)) = self.lamp {
            // At night a second lamp pool switches instead of the whole scene dimming.
            let on = (1.0 / k - 1.0).clamp(0.0, 1.0) * 2.0;
            c.glow(x, y, rad, [255.0, 220.0, 160.0], 0.35 * on);
        } else {
            let (w, h) = (c.w as f32, c.h as f32);
            c.scale_box(0.0, 0.0, w, h, [k, k, k * 1.02]);
        }
    }
}
