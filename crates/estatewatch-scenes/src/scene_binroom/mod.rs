//! The bin-room frontage: a wall with the bin-room door, wheelie bins in
//! front, paved ground, seen from a camera mounted above. Incident: a person
//! walks in carrying a bag, sets it down on the ground outside the bins and
//! walks off (optionally someone picks it up later). Negatives: a person
//! standing still for longer than the dwell, a bag carried through, a bin
//! moved, a lighting change, a bicycle wheeled in and parked, passers-by.
//!
//! Here: the room, its bins and painting, the clip's plan. [`drop`] has the
//! bag, the drop's plan and the people who stay; [`distractors`] the other
//! look-alikes.

use super::camera::Look;
use super::people::{Figure, Perspective};
use super::raster::{shade, Canvas, Rgb};
use super::rng::Rng;
use super::{
    npt, Actor, Built, Calibration, ClipSpec, Hints, Kind, Planned, SceneError, Variant, Zone,
    BIN_COLOURS,
};

mod distractors;
mod drop;

use distractors::{carried_through, move_bin, park_bicycle, passer, Lighting, BIN_WIDTH};
use drop::{croucher, plan_drop, standing};

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
    let mut room = Room {
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
        let i = geo.int(0, room.bins.len() as i64 - 1) as usize;
        if let Some(col) = spec
            .params
            .bin_colour
            .as_deref()
            .and_then(|n| bin_colour(n, spec.variant))
        {
            room.bins[i].col = col;
        }
        Some(i)
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

    // The bin's push, planned before the bag when the bag goes beside it
    // (from the same random stream as in the loop below, so it is the same push).
    let bin_stream = |act: &Rng| act.fork(100 + Kind::BinMoved as u64);
    let mut pushed = match (moved_bin, spec.params.bag_by_bin) {
        (Some(i), Some(_)) if spec.kind == Kind::Garbage => {
            Some(move_bin(&room, i, &mut bin_stream(&act), &spec.params))
        }
        _ => None,
    };
    if spec.kind == Kind::Garbage {
        let beside = pushed.as_ref().zip(spec.params.bag_by_bin).map(|(m, gap)| {
            // The bag's middle, this far past the side of the bin's new place
            // that faces away from where it came from; in front of the bin
            // (towards the camera) when that side is out of the picture.
            let side = if m.to.0 >= m.from.0 { 1.0 } else { -1.0 };
            let bin_w = BIN_WIDTH * m.height;
            let x = m.to.0 + side * (0.5 + gap) * bin_w;
            if (0.06 * w..=0.94 * w).contains(&x) {
                (x, m.to.1, m.t_end + 1.0)
            } else {
                (m.to.0, m.to.1 + (0.3 + gap) * bin_w, m.t_end + 1.0)
            }
        });
        let plan = plan_drop(&room, &mut act, &spec.params, beside);
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
    let crouchers = spec.params.crouchers.unwrap_or(0);
    if crouchers > 0 {
        negatives.push("crouching".to_string());
    }
    for i in 0..crouchers {
        let (p, t_end) = croucher(&room, &mut act.fork(200 + u64::from(i)), dwell);
        end_needed = end_needed.max(t_end + 5.0);
        actors.push(Box::new(p));
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
                    let m = pushed
                        .take()
                        .unwrap_or_else(|| move_bin(&room, i, &mut r, &spec.params));
                    actors.extend(m.actors);
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

/// The room's colours under a light: wall, ground, door, and the factor
/// bins are darkened by.
fn palette(v: Variant) -> (Rgb, Rgb, Rgb, f32) {
    match v {
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
    }
}

/// The daylight colour `bin_colour` names (see [`BIN_COLOURS`]); `floor` is
/// the ground's colour under `v`, a little darker, before bins are darkened.
fn bin_colour(name: &str, v: Variant) -> Option<Rgb> {
    let (_, ground, _, k) = palette(v);
    match name {
        "floor" => Some(shade(ground, 0.8 / k)),
        _ => BIN_COLOURS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| *c),
    }
}

fn paint_room(r: &Room, skip_bin: Option<usize>, rng: &mut Rng) -> (Canvas, Look) {
    let (w, h) = (r.w, r.h);
    let v = r.variant;
    let (wall, ground, door, k) = palette(v);
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
