//! The bin-room frontage: a wall with the bin-room door, wheelie bins in
//! front, paved ground, seen from a camera mounted above. Incident: a person
//! walks in carrying a bag, sets it down on the ground outside the bins and
//! walks off (optionally someone picks it up later). Negatives: a person
//! standing still for longer than the dwell, a bag carried through, a bin
//! moved, a lighting change, a bicycle wheeled in and parked, passers-by.

use super::camera::Look;
use super::people::{draw_bag, draw_bike, Figure, Key, Load, Person, Perspective};
use super::raster::{shade, Canvas, Rgb};
use super::rng::{wobble, Rng};
use super::{
    npt, Actor, Built, Calibration, ClipSpec, Hints, Kind, Planned, SceneError, Variant, Zone,
};

/// Default dwell (seconds) the clips assume when `dwell_s` is not given.
pub const DEFAULT_DWELL_S: f32 = 20.0;

#[derive(Debug, Clone)]
struct Room {
    w: f32,
    h: f32,
    wall_bottom: f32,
    door: (f32, f32),
    bins: Vec<Bin>,
    persp: Perspective,
    variant: Variant,
}

#[derive(Debug, Clone, Copy)]
struct Bin {
    x: f32,
    y: f32,
    height: f32,
    col: Rgb,
}

fn draw_bin(c: &mut Canvas, b: &Bin) {
    let (x, y, hh) = (b.x, b.y, b.height);
    let wb = hh * 0.55;
    let body = [
        (x - wb * 0.5, y - hh * 0.05),
        (x + wb * 0.5, y - hh * 0.05),
        (x + wb * 0.58, y - hh * 0.9),
        (x - wb * 0.58, y - hh * 0.9),
    ];
    c.polygon(&body, b.col, 1.0, 1);
    c.rect(
        x - wb * 0.62,
        y - hh,
        x + wb * 0.62,
        y - hh * 0.88,
        shade(b.col, 0.75),
        1.0,
    );
    c.rect(
        x - wb * 0.5,
        y - hh * 0.7,
        x + wb * 0.5,
        y - hh * 0.68,
        shade(b.col, 0.85),
        1.0,
    );
    for wx in [x - wb * 0.4, x + wb * 0.4] {
        c.ellipse(
            wx,
            y - hh * 0.05,
            hh * 0.07,
            hh * 0.07,
            0.0,
            [20.0, 20.0, 20.0],
            1.0,
        );
    }
}

pub(super) fn build(spec: &ClipSpec, rng: &mut Rng) -> Result<Built, SceneError> {
    let (w, h) = (spec.width as f32, spec.height as f32);
    let mut geo = rng.fork(1);
    let wall_bottom = geo.range(0.42, 0.5) * h;
    let persp = Perspective {
        horizon: 0.07 * h,
        k: 0.625,
    };
    let door_x = geo.range(0.25, 0.65) * w;
    let door = (door_x, door_x + geo.range(0.14, 0.2) * w);
    let bin_cols: [Rgb; 4] = [
        [40.0, 110.0, 50.0],
        [90.0, 95.0, 100.0],
        [40.0, 70.0, 150.0],
        [110.0, 80.0, 50.0],
    ];
    let mut bins = Vec::new();
    let n = geo.int(3, 4);
    let by = wall_bottom + 0.03 * h;
    let bh = 0.62 * persp.height_at(by);
    let mut x = if geo.chance(0.5) {
        door.1 + 0.3 * bh
    } else {
        door.0 - 0.3 * bh - n as f32 * 0.7 * bh
    };
    x = x.clamp(0.05 * w, 0.95 * w - n as f32 * 0.7 * bh);
    for _ in 0..n {
        bins.push(Bin {
            x,
            y: by,
            height: bh,
            col: *geo.pick(&bin_cols),
        });
        x += 0.7 * bh;
    }
    let room = Room {
        w,
        h,
        wall_bottom,
        door,
        bins,
        persp,
        variant: spec.variant,
    };
    let dwell = spec.params.dwell_s.unwrap_or(DEFAULT_DWELL_S);
    let moved_bin = if spec.kind == Kind::BinMoved || spec.with.contains(&Kind::BinMoved) {
        Some(geo.int(0, room.bins.len() as i64 - 1) as usize)
    } else {
        None
    };
    let mut paint = rng.fork(2);
    let (background, look) = paint_room(&room, moved_bin, &mut paint);

    let mut act = rng.fork(3);
    let mut actors: Vec<Box<dyn Actor>> = Vec::new();
    let mut incidents = Vec::new();
    let mut negatives = Vec::new();
    // The lead-in lets a background model settle; the tail leaves room for the dwell.
    let mut end_needed: f32 = 8.0 + dwell + 9.0;

    if spec.kind == Kind::Garbage {
        let plan = plan_drop(&room, &mut act, spec.params.removed_after_s);
        end_needed = end_needed.max(plan.t_drop + dwell + 9.0);
        let end = plan.t_removed.unwrap_or(f32::MAX);
        incidents.push(Planned {
            kind: "garbage",
            start_s: plan.t_drop,
            end_s: end,
            actor: actors.len(),
            origin: None,
            size_px: None,
        });
        actors.push(Box::new(plan.bag));
        actors.extend(plan.people);
    }
    let mut extra = spec.with.clone();
    if !spec.kind.is_incident() && spec.kind != Kind::BinroomEmpty {
        extra.insert(0, spec.kind);
    }
    let mut lighting: Option<Box<dyn Actor>> = None;
    for k in extra {
        negatives.push(k.as_str().to_string());
        let mut r = act.fork(100 + k as u64);
        match k {
            Kind::PersonStanding => {
                let (p, t_end) = standing(&room, &mut r, dwell);
                end_needed = end_needed.max(t_end + 5.0);
                actors.push(Box::new(p));
            }
            Kind::BagCarried => actors.push(Box::new(carried_through(&room, &mut r))),
            Kind::BinMoved => {
                if let Some(i) = moved_bin {
                    actors.extend(move_bin(&room, i, &mut r));
                }
            }
            Kind::LightingChange => {
                lighting = Some(Box::new(Lighting::new(&room, &mut r, end_needed)))
            }
            Kind::ParkedBicycle => actors.extend(park_bicycle(&room, &mut r)),
            Kind::PassersBy => {
                for i in 0..r.int(2, 4) {
                    actors.push(Box::new(passer(&room, &mut r.fork(i as u64), end_needed)));
                }
            }
            _ => {}
        }
    }
    let duration = spec.params.duration_s.unwrap_or(end_needed);
    for inc in incidents.iter_mut() {
        inc.end_s = inc.end_s.min(duration);
    }
    // Light changes affect everything, so they are applied last.
    if let Some(l) = lighting {
        actors.push(l);
    }
    let zone = vec![
        npt(0.03 * w, wall_bottom + 0.02 * h, w, h),
        npt(0.97 * w, wall_bottom + 0.02 * h, w, h),
        npt(0.97 * w, 0.97 * h, w, h),
        npt(0.03 * w, 0.97 * h, w, h),
    ];
    let lights = if spec.variant == Variant::Day {
        Vec::new()
    } else {
        let lx = (door.0 + door.1) / 2.0;
        vec![Zone {
            name: "door_lamp".into(),
            polygon: vec![
                npt(lx - 0.03 * w, 0.02 * h, w, h),
                npt(lx + 0.03 * w, 0.02 * h, w, h),
                npt(lx + 0.03 * w, 0.1 * h, w, h),
                npt(lx - 0.03 * w, 0.1 * h, w, h),
            ],
        }]
    };
    Ok(Built {
        background,
        actors,
        incidents,
        negatives,
        calibration: Calibration {
            facade: None,
            zones: vec![Zone {
                name: "bin_frontage".into(),
                polygon: zone,
            }],
            exclude: Vec::new(),
            lights,
        },
        hints: Hints {
            garbage_dwell_s: Some(dwell),
            ..Hints::default()
        },
        duration_s: duration,
        look,
    })
}

fn paint_room(r: &Room, skip_bin: Option<usize>, rng: &mut Rng) -> (Canvas, Look) {
    let (w, h) = (r.w, r.h);
    let v = r.variant;
    let (wall, ground, door, k) = match v {
        Variant::Day => (
            [175.0, 165.0, 150.0],
            [150.0, 148.0, 142.0],
            [120.0, 125.0, 130.0],
            1.0,
        ),
        Variant::Night => (
            [60.0, 55.0, 50.0],
            [48.0, 47.0, 45.0],
            [45.0, 47.0, 50.0],
            0.4,
        ),
        Variant::Ir => ([150.0; 3], [130.0; 3], [110.0; 3], 1.0),
    };
    let mut c = Canvas::new(w as usize, h as usize, wall);
    c.texture(0.0, 0.0, w, r.wall_bottom, 6.0, rng);
    // Brick courses.
    let mut y = 4.0;
    while y < r.wall_bottom {
        c.rect(0.0, y, w, y + 1.0, shade(wall, 0.9), 0.6);
        y += 8.0 * h / 360.0;
    }
    // Roller-shutter door.
    c.rect(r.door.0, 0.12 * h, r.door.1, r.wall_bottom, door, 1.0);
    let mut y = 0.12 * h;
    while y < r.wall_bottom {
        c.rect(r.door.0, y, r.door.1, y + 1.0, shade(door, 0.8), 1.0);
        y += 5.0 * h / 360.0;
    }
    // Ground with paving joints.
    c.rect(0.0, r.wall_bottom, w, h, ground, 1.0);
    c.texture(0.0, r.wall_bottom, w, h, 7.0, rng);
    let mut y = r.wall_bottom + 6.0;
    let mut step = 10.0 * h / 360.0;
    while y < h {
        c.rect(0.0, y, w, y + 1.0, shade(ground, 0.88), 0.8);
        y += step;
        step *= 1.12;
    }
    for i in 0..12 {
        let xt = w * (i as f32 / 11.0);
        let xb = w / 2.0 + (xt - w / 2.0) * 2.2;
        c.line(xt, r.wall_bottom, xb, h, 1.0, shade(ground, 0.88), 0.7);
    }
    for (i, b) in r.bins.iter().enumerate() {
        if Some(i) != skip_bin {
            let mut b = *b;
            b.col = shade(b.col, k);
            draw_bin(&mut c, &b);
        }
    }
    if v != Variant::Day {
        let lx = (r.door.0 + r.door.1) / 2.0;
        c.glow(lx, r.wall_bottom, 0.5 * h, [255.0, 220.0, 160.0], 0.35);
        c.rect(
            lx - 0.02 * w,
            0.05 * h,
            lx + 0.02 * w,
            0.07 * h,
            [255.0, 240.0, 200.0],
            1.0,
        );
    }
    let look = Look {
        shake_px: rng.range(0.2, 0.8),
        blur: v != Variant::Day,
        noise_sigma: match v {
            Variant::Day => 2.5,
            Variant::Night => 6.0,
            Variant::Ir => 4.5,
        },
        gain: 1.0,
        ir: v == Variant::Ir,
    };
    (c, look)
}

fn figure(r: &Room, rng: &mut Rng) -> Figure {
    let mut f = Figure::random(rng);
    if r.variant == Variant::Night {
        f.top = shade(f.top, 0.5);
        f.legs = shade(f.legs, 0.5);
        f.skin = shade(f.skin, 0.5);
        f.hair = shade(f.hair, 0.5);
    }
    f
}

fn bag_colour(r: &Room, rng: &mut Rng) -> Rgb {
    let c: Rgb = *rng.pick(&[
        [25.0, 25.0, 28.0],
        [225.0, 225.0, 220.0],
        [40.0, 70.0, 150.0],
        [60.0, 120.0, 60.0],
        [200.0, 190.0, 60.0],
    ]);
    if r.variant == Variant::Night {
        shade(c, 0.55)
    } else {
        c
    }
}

/// A bag on the ground from `from` until `until`.
struct Bag {
    x: f32,
    y: f32,
    size: f32,
    col: Rgb,
    from: f32,
    until: f32,
    lean: f32,
}

impl Bag {
    fn centre(&self) -> (f32, f32) {
        (self.x, self.y - self.size * 0.45)
    }
}

impl Actor for Bag {
    fn draw(&mut self, c: &mut Canvas, t: f32) {
        if t >= self.from && t < self.until {
            let (cx, cy) = self.centre();
            draw_bag(c, cx, cy, self.size, self.col, self.lean);
        }
    }

    fn truth_box(&self, t: f32) -> Option<[f32; 4]> {
        if t >= self.from && t < self.until {
            let s = self.size;
            Some([
                self.x - 0.42 * s,
                self.y - s * 1.05,
                self.x + 0.42 * s,
                self.y + 0.05 * s,
            ])
        } else {
            None
        }
    }
}

struct DropPlan {
    bag: Bag,
    people: Vec<Box<dyn Actor>>,
    t_drop: f32,
    t_removed: Option<f32>,
}

/// Someone walks in with a bag, sets it down outside the bins, walks off.
fn plan_drop(r: &Room, rng: &mut Rng, removed_after: Option<f32>) -> DropPlan {
    let fig = figure(r, rng);
    let from_left = rng.chance(0.5);
    let edge = |left: bool| if left { -0.08 * r.w } else { 1.08 * r.w };
    let ya = rng.range(0.65, 0.95) * r.h;
    // Spot: just in front of or beside the bins.
    let first = r.bins[0];
    let last = r.bins[r.bins.len() - 1];
    let spot_x = if rng.chance(0.5) {
        rng.range(first.x, last.x)
    } else if rng.chance(0.5) {
        first.x - first.height * rng.range(0.7, 1.2)
    } else {
        last.x + last.height * rng.range(0.7, 1.2)
    }
    .clamp(0.08 * r.w, 0.92 * r.w);
    let spot_y = r.wall_bottom + rng.range(0.1, 0.22) * r.h;
    let speed = rng.range(0.12, 0.2) * r.w;
    let t0 = rng.range(2.0, 4.0);
    let xa = edge(from_left);
    let t1 = t0 + ((spot_x - xa).powi(2) + (spot_y - ya).powi(2)).sqrt() / speed;
    let facing = if spot_x >= xa { 1.0 } else { -1.0 };
    let hgt = r.persp.height_at(spot_y);
    let bag_size = rng.range(0.18, 0.28) * hgt;
    let t_crouch = t1 + rng.range(0.3, 1.0);
    let t_drop = t_crouch + 0.8;
    let t_up = t_drop + 0.8;
    let leave_left = rng.chance(0.5);
    let xb = edge(leave_left);
    let yb = rng.range(0.65, 0.95) * r.h;
    let t2 = t_up + 0.3 + ((xb - spot_x).powi(2) + (yb - spot_y).powi(2)).sqrt() / speed;
    let person = Person {
        fig,
        keys: vec![
            Key::at(t0, xa, ya).carrying(true),
            Key::at(t1, spot_x, spot_y).carrying(true),
            Key::at(t_crouch, spot_x, spot_y).carrying(true),
            Key::at(t_drop, spot_x, spot_y).crouched(1.0),
            Key::at(t_up, spot_x, spot_y),
            Key::at(t_up + 0.3, spot_x, spot_y),
            Key::at(t2, xb, yb),
        ],
        persp: r.persp,
        load: Load::Bag(bag_colour(r, rng), bag_size / hgt),
        seed: rng.next_u64(),
    };
    let col = match person.load {
        Load::Bag(c, _) => c,
        _ => [30.0; 3],
    };
    // Where the hand puts it: ahead of the feet, on the ground.
    let bag_x = spot_x + facing * 0.3 * hgt;
    let mut people: Vec<Box<dyn Actor>> = vec![Box::new(person)];
    let mut until = f32::MAX;
    let mut t_removed = None;
    if let Some(after) = removed_after {
        let tr = t_drop + after;
        let fig = figure(r, rng);
        let xa = edge(rng.chance(0.5));
        let tin = tr - 1.0 - ((bag_x - xa).abs()) / speed;
        let xout = edge(rng.chance(0.5));
        let p = Person {
            fig,
            keys: vec![
                Key::at(tin, xa, spot_y + 0.05 * r.h),
                Key::at(tr - 1.0, bag_x - facing * 0.3 * hgt, spot_y),
                Key::at(tr - 0.3, bag_x - facing * 0.3 * hgt, spot_y).crouched(1.0),
                Key::at(tr, bag_x - facing * 0.3 * hgt, spot_y)
                    .crouched(1.0)
                    .carrying(true),
                Key::at(tr + 0.7, bag_x - facing * 0.3 * hgt, spot_y).carrying(true),
                Key::at(
                    tr + 0.7 + (xout - bag_x).abs() / speed,
                    xout,
                    spot_y + 0.05 * r.h,
                )
                .carrying(true),
            ],
            persp: r.persp,
            load: Load::Bag(col, bag_size / hgt),
            seed: rng.next_u64(),
        };
        people.push(Box::new(p));
        until = tr;
        t_removed = Some(tr);
    }
    DropPlan {
        bag: Bag {
            x: bag_x,
            y: spot_y,
            size: bag_size,
            col,
            from: t_drop,
            until,
            lean: rng.range(-0.2, 0.2),
        },
        people,
        t_drop,
        t_removed,
    }
}

/// Someone walks in and stands still by the bins for 1.5 × the dwell, then leaves.
fn standing(r: &Room, rng: &mut Rng, dwell: f32) -> (Person, f32) {
    let xa = if rng.chance(0.5) {
        -0.08 * r.w
    } else {
        1.08 * r.w
    };
    let ya = rng.range(0.65, 0.95) * r.h;
    let sx = rng.range(0.15, 0.85) * r.w;
    let sy = r.wall_bottom + rng.range(0.1, 0.3) * r.h;
    let speed = rng.range(0.12, 0.2) * r.w;
    let t0 = rng.range(2.0, 5.0);
    let t1 = t0 + ((sx - xa).powi(2) + (sy - ya).powi(2)).sqrt() / speed;
    let t2 = t1 + 1.5 * dwell;
    let xb = if rng.chance(0.5) {
        -0.08 * r.w
    } else {
        1.08 * r.w
    };
    let t3 = t2 + (xb - sx).abs() / speed;
    (
        Person {
            fig: figure(r, rng),
            keys: vec![
                Key::at(t0, xa, ya),
                Key::at(t1, sx, sy),
                Key::at(t2, sx, sy),
                Key::at(t3, xb, sy),
            ],
            persp: r.persp,
            load: Load::Nothing,
            seed: rng.next_u64(),
        },
        t3,
    )
}

/// Someone carries a bag past the bins, pausing, and takes it away.
fn carried_through(r: &Room, rng: &mut Rng) -> Person {
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

fn move_bin(r: &Room, i: usize, rng: &mut Rng) -> Vec<Box<dyn Actor>> {
    let bin = r.bins[i];
    let dx = rng.range(0.08, 0.18) * r.w * if rng.chance(0.5) { 1.0 } else { -1.0 };
    let dy = rng.range(0.0, 0.12) * r.h;
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
    vec![
        Box::new(MovingBin {
            bin,
            from: (bin.x, bin.y),
            to,
            t0: t2,
            t1: t3,
            dim,
        }),
        Box::new(person),
    ]
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

fn park_bicycle(r: &Room, rng: &mut Rng) -> Vec<Box<dyn Actor>> {
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
fn passer(r: &Room, rng: &mut Rng, duration: f32) -> Person {
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
struct Lighting {
    steps: Vec<(f32, f32)>,
    smooth: bool,
    seed: u64,
    lamp: Option<(f32, f32, f32)>,
}

impl Lighting {
    fn new(r: &Room, rng: &mut Rng, duration: f32) -> Lighting {
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
