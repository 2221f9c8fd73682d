//! The e-bike shed: a covered bike shelter with rows of bikes, usually at
//! night under a lamp. Incidents: a procedural flame (flickering tongues with
//! a white-yellow core and red-orange edges, growing, lighting its
//! surroundings) and/or a grey smoke plume (rising, spreading under the roof,
//! softening what is behind it). Negatives: people in orange hi-vis jackets,
//! a flashing orange beacon, car headlights sweeping across, a red or orange
//! e-bike wheeled in and parked, sunlight patches through trees; and for the
//! hard suite (issue 14): red-and-white barrier tape fluttering across the
//! shed, printed red signs and posters with a flame pictogram, small blinking
//! red/orange lights that nobody masked (a charger's indicator, a parked
//! scooter's hazard lights, a rotating beacon), and a car crossing in front.

use super::camera::Look;
use super::people::{draw_bike, Figure, Key, Load, Person, Perspective};
use super::raster::{mix, shade, Canvas, Rgb};
use super::rng::{wobble, Rng};
use super::{
    npt, Actor, Built, Calibration, ClipSpec, Hints, Kind, Planned, SceneError, Variant, Zone,
};

/// Layout of the shed in pixels.
#[derive(Debug, Clone)]
struct Shed {
    w: f32,
    h: f32,
    roof_y: f32,
    wall_bottom: f32,
    floor_front: f32,
    left: f32,
    right: f32,
    /// Bike positions: (x, feet y, size, e-bike).
    bikes: Vec<(f32, f32, f32, bool)>,
    lamps: Vec<(f32, f32)>,
    variant: Variant,
    persp: Perspective,
}

pub(super) fn build(spec: &ClipSpec, rng: &mut Rng) -> Result<Built, SceneError> {
    let (w, h) = (spec.width as f32, spec.height as f32);
    let mut geo = rng.fork(1);
    let mut shed = Shed {
        w,
        h,
        roof_y: geo.range(0.08, 0.16) * h,
        wall_bottom: geo.range(0.5, 0.58) * h,
        floor_front: geo.range(0.82, 0.88) * h,
        left: geo.range(0.04, 0.15) * w,
        right: geo.range(0.85, 0.96) * w,
        bikes: Vec::new(),
        lamps: Vec::new(),
        variant: spec.variant,
        persp: Perspective {
            horizon: 0.05 * h,
            k: 0.62,
        },
    };
    for (row_y, size) in [
        (shed.wall_bottom + 0.06 * h, 0.22 * h),
        (shed.wall_bottom + 0.2 * h, 0.29 * h),
    ] {
        let mut x = shed.left + geo.range(0.4, 0.8) * size;
        while x < shed.right - 0.4 * size {
            if geo.chance(0.85) {
                shed.bikes
                    .push((x, row_y, size * geo.range(0.95, 1.05), geo.chance(0.6)));
            }
            x += size * geo.range(0.55, 0.8);
        }
    }
    if shed.bikes.is_empty() {
        shed.bikes
            .push((w / 2.0, shed.wall_bottom + 0.2 * h, 0.29 * h, true));
    }
    for i in 0..geo.int(1, 2) {
        let fx = (i as f32 + 0.5) / 2.0;
        shed.lamps.push((
            shed.left + (shed.right - shed.left) * geo.range(fx - 0.2, fx + 0.2),
            shed.roof_y + 0.03 * h,
        ));
    }
    let mut paint = rng.fork(2);
    let (background, look) = paint_shed(&shed, &mut paint);
    let duration = spec.params.duration_s.unwrap_or(12.0);
    let mut act = rng.fork(3);
    let mut actors: Vec<Box<dyn Actor>> = Vec::new();
    let mut incidents = Vec::new();
    let mut negatives = Vec::new();
    let mut lights = Vec::new();

    if spec.kind.is_incident() {
        let &(bx, by, size, _) = act.pick(&shed.bikes);
        let base = (
            bx + act.range(-0.1, 0.1) * size,
            by - act.range(0.25, 0.4) * size,
        );
        let t0 = act.range(3.0, 5.0).min(duration * 0.5);
        let (smoke_t, fire_t) = match spec.kind {
            Kind::Fire => (None, Some(t0)),
            Kind::Smoke => (Some(t0), None),
            _ => (Some(t0), Some(t0 + act.range(2.0, 4.0))),
        };
        if let Some(ts) = smoke_t {
            let s = Smoke::new(&shed, base, ts, duration, &mut act.fork(11));
            incidents.push(Planned {
                kind: "smoke",
                start_s: ts,
                end_s: duration,
                actor: actors.len(),
                origin: None,
                size_px: None,
            });
            actors.push(Box::new(s));
        }
        if let Some(tf) = fire_t {
            let f = Flame::new(&shed, base, tf, size, &mut act.fork(12));
            incidents.push(Planned {
                kind: "fire",
                start_s: tf,
                end_s: duration,
                actor: actors.len(),
                origin: None,
                size_px: None,
            });
            actors.push(Box::new(f));
        }
    }
    let mut extra = spec.with.clone();
    if !spec.kind.is_incident() && spec.kind != Kind::ShedEmpty {
        extra.insert(0, spec.kind);
    }
    for k in extra {
        negatives.push(k.as_str().to_string());
        let mut r = act.fork(100 + k as u64);
        match k {
            Kind::OrangeJacket => {
                for i in 0..r.int(1, 2) {
                    actors.push(Box::new(walker(
                        &shed,
                        &mut r.fork(i as u64),
                        duration,
                        true,
                    )));
                }
            }
            Kind::FlashingLight => {
                let b = Beacon::new(&shed, &mut r);
                let rr = b.r * 3.0;
                lights.push(Zone {
                    name: "beacon".into(),
                    polygon: vec![
                        npt(b.x - rr, b.y - rr, w, h),
                        npt(b.x + rr, b.y - rr, w, h),
                        npt(b.x + rr, b.y + rr, w, h),
                        npt(b.x - rr, b.y + rr, w, h),
                    ],
                });
                actors.push(Box::new(b));
            }
            Kind::Headlights => actors.push(Box::new(Headlights::new(&shed, &mut r, duration))),
            Kind::OrangeBike => {
                let col: Rgb = *r.pick(&[
                    [220.0, 90.0, 20.0],
                    [200.0, 35.0, 30.0],
                    [240.0, 140.0, 20.0],
                ]);
                let x = r.range(shed.left + 0.1 * w, shed.right - 0.1 * w);
                actors.push(Box::new(ParkedBike::new(&shed, x, col, 0.0)));
                actors.extend(wheel_in_bike(&shed, &mut r, duration));
            }
            Kind::Sunlight => actors.push(Box::new(Sunlight::new(&shed, &mut r))),
            Kind::StripedTape => actors.push(Box::new(Tape::new(&shed, &mut r))),
            Kind::FlamePoster => {
                for i in 0..r.int(1, 2) {
                    actors.push(Box::new(Poster::new(&shed, &mut r.fork(i as u64))));
                }
            }
            Kind::BlinkingLight => {
                for i in 0..r.int(1, 3) {
                    actors.push(Box::new(Blinker::new(&shed, &mut r.fork(i as u64))));
                }
            }
            Kind::Vehicle => actors.push(Box::new(Car::new(&shed, &mut r, duration))),
            Kind::SunPatches => actors.push(Box::new(SunPatches::new(&shed, &mut r))),
            _ => {}
        }
    }
    let zone = vec![
        npt(shed.left, shed.roof_y, w, h),
        npt(shed.right, shed.roof_y, w, h),
        npt(shed.right, shed.floor_front, w, h),
        npt(shed.left, shed.floor_front, w, h),
    ];
    for &(lx, ly) in &shed.lamps {
        let r = 0.04 * h;
        lights.push(Zone {
            name: "lamp".into(),
            polygon: vec![
                npt(lx - 2.0 * r, ly - r, w, h),
                npt(lx + 2.0 * r, ly - r, w, h),
                npt(lx + 2.0 * r, ly + r, w, h),
                npt(lx - 2.0 * r, ly + r, w, h),
            ],
        });
    }
    Ok(Built {
        background,
        actors,
        incidents,
        negatives,
        calibration: Calibration {
            facade: None,
            zones: vec![Zone {
                name: "shed".into(),
                polygon: zone,
            }],
            exclude: Vec::new(),
            lights,
        },
        hints: Hints::default(),
        duration_s: duration,
        look,
    })
}

fn paint_shed(s: &Shed, r: &mut Rng) -> (Canvas, Look) {
    let (w, h) = (s.w, s.h);
    let v = s.variant;
    let (outside, wall, floor, roof, path, lamp) = match v {
        Variant::Day => (
            [120.0, 140.0, 110.0],
            [150.0, 146.0, 136.0],
            [165.0, 160.0, 150.0],
            [90.0, 92.0, 95.0],
            [140.0, 138.0, 130.0],
            [0.0; 3],
        ),
        Variant::Night => (
            [10.0, 12.0, 16.0],
            [34.0, 33.0, 32.0],
            [46.0, 44.0, 41.0],
            [16.0, 16.0, 18.0],
            [22.0, 22.0, 22.0],
            [255.0, 225.0, 170.0],
        ),
        Variant::Ir => (
            [60.0, 60.0, 60.0],
            [120.0, 120.0, 120.0],
            [135.0, 135.0, 135.0],
            [70.0, 70.0, 70.0],
            [100.0, 100.0, 100.0],
            [255.0; 3],
        ),
    };
    let mut c = Canvas::new(w as usize, h as usize, outside);
    c.texture(0.0, 0.0, w, h, 8.0, r);
    // Path in front, floor, back wall (corrugated), roof edge, posts.
    c.rect(0.0, s.floor_front, w, h, path, 1.0);
    c.texture(0.0, s.floor_front, w, h, 6.0, r);
    c.rect(s.left, s.wall_bottom, s.right, s.floor_front, floor, 1.0);
    c.texture(s.left, s.wall_bottom, s.right, s.floor_front, 5.0, r);
    c.rect(s.left, s.roof_y, s.right, s.wall_bottom, wall, 1.0);
    let mut x = s.left;
    while x < s.right {
        c.rect(x, s.roof_y, x + 2.0, s.wall_bottom, shade(wall, 0.85), 1.0);
        x += 9.0 * h / 360.0;
    }
    c.rect(
        s.left - 0.02 * w,
        s.roof_y - 0.05 * h,
        s.right + 0.02 * w,
        s.roof_y + 0.015 * h,
        roof,
        1.0,
    );
    for px in [s.left, s.right] {
        c.rect(
            px - 0.008 * w,
            s.roof_y,
            px + 0.008 * w,
            s.floor_front,
            shade(roof, 1.3),
            1.0,
        );
    }
    // Bikes.
    let cols: [Rgb; 6] = [
        [30.0, 30.0, 32.0],
        [60.0, 62.0, 70.0],
        [150.0, 152.0, 155.0],
        [30.0, 50.0, 90.0],
        [70.0, 90.0, 60.0],
        [110.0, 105.0, 100.0],
    ];
    for &(bx, by, size, ebike) in &s.bikes {
        let mut col = *r.pick(&cols);
        if v != Variant::Day {
            col = shade(col, 0.7);
        }
        draw_bike(
            &mut c,
            bx,
            by,
            size,
            col,
            if r.chance(0.5) { 1.0 } else { -1.0 },
            ebike,
        );
    }
    // Lamps and their light.
    if v != Variant::Day {
        for &(lx, ly) in &s.lamps {
            c.glow(lx, s.wall_bottom + 0.1 * h, 0.45 * h, shade(lamp, 0.6), 0.5);
            c.glow(lx, ly, 0.12 * h, lamp, 0.6);
            c.rect(
                lx - 0.03 * h,
                ly - 0.008 * h,
                lx + 0.03 * h,
                ly + 0.008 * h,
                lamp,
                1.0,
            );
        }
    }
    let look = Look {
        shake_px: r.range(0.3, 1.0),
        blur: v != Variant::Day,
        noise_sigma: match v {
            Variant::Day => 2.5,
            Variant::Night => 7.0,
            Variant::Ir => 5.0,
        },
        gain: 1.0,
        ir: v == Variant::Ir,
    };
    (c, look)
}

/// A person walking along the path in front of the shed (or into it, with a bike).
fn walker(s: &Shed, r: &mut Rng, duration: f32, hivis: bool) -> Person {
    let mut fig = Figure::random(r);
    if hivis {
        fig.hivis = true;
        fig.top = *r.pick(&[
            [250.0, 120.0, 20.0],
            [245.0, 150.0, 30.0],
            [240.0, 90.0, 20.0],
        ]);
    }
    if s.variant == Variant::Night {
        fig.top = shade(fig.top, 0.55);
        fig.legs = shade(fig.legs, 0.55);
        fig.skin = shade(fig.skin, 0.55);
    }
    let dir = if r.chance(0.5) { 1.0 } else { -1.0 };
    let (xa, xb) = if dir > 0.0 {
        (-0.1 * s.w, 1.1 * s.w)
    } else {
        (1.1 * s.w, -0.1 * s.w)
    };
    let y = r.range(s.floor_front - 0.02 * s.h, s.h * 0.97);
    let t0 = r.range(0.5, (duration * 0.4).max(0.6));
    let speed = r.range(0.25, 0.4) * s.w;
    let t1 = t0 + (xb - xa).abs() / speed;
    let mid = (xa + xb) / 2.0 + r.range(-0.2, 0.2) * s.w;
    let keys = if r.chance(0.3) {
        let tm = t0 + (mid - xa).abs() / speed;
        vec![
            Key::at(t0, xa, y),
            Key::at(tm, mid, y),
            Key::at(tm + 2.0, mid, y),
            Key::at(t1 + 2.0, xb, y),
        ]
    } else {
        vec![Key::at(t0, xa, y), Key::at(t1, xb, y)]
    };
    Person {
        fig,
        keys,
        persp: s.persp,
        load: Load::Nothing,
        seed: r.next_u64(),
    }
}

/// Someone wheels a red or orange e-bike into the shed, leaves it and walks off.
fn wheel_in_bike(s: &Shed, r: &mut Rng, duration: f32) -> Vec<Box<dyn Actor>> {
    let col = *r.pick(&[
        [230.0, 110.0, 20.0],
        [200.0, 40.0, 30.0],
        [240.0, 150.0, 30.0],
    ]);
    let mut fig = Figure::random(r);
    if s.variant == Variant::Night {
        fig.top = shade(fig.top, 0.55);
        fig.legs = shade(fig.legs, 0.55);
    }
    let from_left = r.chance(0.5);
    let xa = if from_left { -0.1 * s.w } else { 1.1 * s.w };
    let ya = r.range(s.floor_front, 0.97 * s.h);
    let slot = r.range(
        s.left + 0.2 * (s.right - s.left),
        s.right - 0.2 * (s.right - s.left),
    );
    let ys = s.wall_bottom + 0.2 * s.h;
    let speed = r.range(0.2, 0.3) * s.w;
    let t0 = r.range(0.5, (duration * 0.3).max(0.6));
    let t1 = t0 + (slot - xa).abs() / speed;
    let facing = if from_left { 1.0 } else { -1.0 };
    // The bike is set down a little ahead of the person.
    let bike_x = slot + facing * 0.25 * s.persp.height_at(ys);
    let seed = r.next_u64();
    let arrive = Person {
        fig,
        keys: vec![Key::at(t0, xa, ya), Key::at(t1, slot, ys)],
        persp: s.persp,
        load: Load::Bike(col),
        seed,
    };
    let t2 = t1 + 1.0;
    let leave = Person {
        fig,
        keys: vec![
            Key::at(t1 + 0.01, slot, ys),
            Key::at(t2, slot, ys),
            Key::at(t2 + (slot - xa).abs() / speed, xa, ya),
        ],
        persp: s.persp,
        load: Load::Nothing,
        seed,
    };
    let c = if s.variant == Variant::Night {
        shade(col, 0.7)
    } else {
        col
    };
    vec![
        Box::new(ParkedBike::new(s, bike_x, c, t1 + 0.01)),
        Box::new(arrive),
        Box::new(leave),
    ]
}

/// A red or orange e-bike standing in the shed from time `from`.
struct ParkedBike {
    x: f32,
    y: f32,
    size: f32,
    col: Rgb,
    from: f32,
}

impl ParkedBike {
    fn new(s: &Shed, x: f32, col: Rgb, from: f32) -> ParkedBike {
        ParkedBike {
            x,
            y: s.wall_bottom + 0.2 * s.h,
            size: 0.55 * s.persp.height_at(s.wall_bottom + 0.2 * s.h),
            col: if s.variant == Variant::Night && from == 0.0 {
                shade(col, 0.7)
            } else {
                col
            },
            from,
        }
    }
}

impl Actor for ParkedBike {
    fn draw(&mut self, c: &mut Canvas, t: f32) {
        if t >= self.from {
            draw_bike(c, self.x, self.y, self.size, self.col, 1.0, true);
        }
    }
}

/// A flame: several flickering tongues over a base point, growing.
struct Flame {
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
    fn new(s: &Shed, base: (f32, f32), t_ign: f32, bike: f32, r: &mut Rng) -> Flame {
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
struct Smoke {
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
    fn new(s: &Shed, base: (f32, f32), t0: f32, duration: f32, r: &mut Rng) -> Smoke {
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

/// A flashing orange beacon (square-wave or rotating).
struct Beacon {
    x: f32,
    y: f32,
    r: f32,
    period: f32,
    rotating: bool,
    phase: f32,
}

impl Beacon {
    fn new(s: &Shed, r: &mut Rng) -> Beacon {
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
struct Headlights {
    t0: f32,
    dur: f32,
    y: f32,
    dir: f32,
    w: f32,
    h: f32,
}

impl Headlights {
    fn new(s: &Shed, r: &mut Rng, duration: f32) -> Headlights {
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
struct Sunlight {
    patches: Vec<(f32, f32, f32, f32, u64)>,
    cloud_seed: u64,
}

impl Sunlight {
    fn new(s: &Shed, r: &mut Rng) -> Sunlight {
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
struct SunPatches {
    patches: Vec<(f32, f32, f32, f32, f32, u64)>,
}

impl SunPatches {
    fn new(s: &Shed, r: &mut Rng) -> SunPatches {
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

/// Night lamp light on a printed or painted colour (the scene's night look).
fn lit(s: &Shed, c: Rgb) -> Rgb {
    match s.variant {
        Variant::Night => shade(c, 0.55),
        _ => c,
    }
}

/// Red-and-white barrier tape strung across the shed, fluttering in the
/// wind: diagonal stripes on a ribbon whose height and twist wave along it.
struct Tape {
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
    fn new(s: &Shed, r: &mut Rng) -> Tape {
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
struct Poster {
    x: f32,
    y: f32,
    w: f32,
    h: f32,
    seed: u64,
    sways: bool,
    shade_night: bool,
}

impl Poster {
    fn new(s: &Shed, r: &mut Rng) -> Poster {
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

/// A small blinking red or orange light nobody masked: a charger's or a
/// scooter's indicator blinking on and off, a strobe, or a small rotating
/// beacon, with the light it throws on the wall.
struct Blinker {
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
    fn new(s: &Shed, r: &mut Rng) -> Blinker {
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

/// A car crossing in front of the shed at walking pace: a red, white or
/// dark body, lit head- and tail-lights at night.
struct Car {
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
    fn new(s: &Shed, r: &mut Rng, duration: f32) -> Car {
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
