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
//!
//! Here: the shed's layout and painting, the clip's plan, people and bikes.
//! [`fire`] has the flame and the smoke, [`lights`] the lights that are not
//! fire, [`props`] the tape, the posters and the car.

use super::camera::Look;
use super::people::{draw_bike, Figure, Key, Load, Person, Perspective};
use super::raster::{shade, Canvas, Rgb};
use super::rng::Rng;
use super::{
    npt, Actor, Built, Calibration, ClipSpec, Hints, Kind, Planned, SceneError, Variant, Zone,
};

mod fire;
mod lights;
mod props;

use fire::{Flame, Smoke};
use lights::{Beacon, Blinker, Headlights, SunPatches, Sunlight};
use props::{Car, Poster, Tape};

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

/// Night lamp light on a printed or painted colour (the scene's night look).
fn lit(s: &Shed, c: Rgb) -> Rgb {
    match s.variant {
        Variant::Night => shade(c, 0.55),
        _ => c,
    }
}
