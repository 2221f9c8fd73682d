//! The tower facade: a camera at the foot of a residential tower looking up
//! its face (pinhole camera, tilted up; floors are image rows, unit columns
//! converge upwards). Incidents: objects dropped or tossed from a window,
//! falling under gravity (with a little air drag). Negatives: birds (level,
//! rising, flapping, gliding down at constant speed), drifting leaves, rain,
//! laundry swaying, window lights switching, a lift car moving down at
//! constant speed behind a glazed lift shaft.
//!
//! Here: the camera, the facade and its painting and calibration, the clip's
//! plan. [`throw`] has the thrown object, [`distractors`] the look-alikes.

use super::camera::Look;
use super::raster::{mix, shade, Canvas, Rgb};
use super::rng::Rng;
use super::{
    npt, Actor, Built, Calibration, ClipSpec, Facade, Hints, Kind, Planned, SceneError, Variant,
    Zone,
};

mod distractors;
mod throw;

use distractors::{Bird, Laundry, Leaves, LiftCar, Rain, WindowLights};
use throw::plan_throw;

const G: f32 = 9.81;

/// Pinhole camera on the ground at distance `d` from the facade, tilted up.
#[derive(Debug, Clone, Copy)]
struct Cam {
    f: f32,
    cx: f32,
    cy: f32,
    tilt: f32,
    d: f32,
}

impl Cam {
    /// Projects a world point: `x` along the facade, `yd` distance from the
    /// camera (the facade is at `d`), `z` height. Returns (col, row, depth).
    fn project(&self, x: f32, yd: f32, z: f32) -> (f32, f32, f32) {
        let (s, c) = self.tilt.sin_cos();
        let depth = (yd * c + z * s).max(0.1);
        let v = -yd * s + z * c;
        (
            self.cx + self.f * x / depth,
            self.cy - self.f * v / depth,
            depth,
        )
    }
    fn on_facade(&self, x: f32, z: f32) -> (f32, f32) {
        let (u, v, _) = self.project(x, self.d, z);
        (u, v)
    }
    fn row(&self, z: f32) -> f32 {
        self.on_facade(0.0, z).1
    }
    /// Vertical pixels per metre on the facade at height `z`.
    fn px_per_m(&self, z: f32) -> f32 {
        (self.row(z) - self.row(z + 0.01)) / 0.01
    }
}

/// A window (or lift-shaft slit) on the facade, in world units.
#[derive(Debug, Clone, Copy)]
struct Window {
    floor: u32,
    column: u32,
    x0: f32,
    x1: f32,
    z0: f32,
    z1: f32,
}

/// Everything the actors need to know about the building.
#[derive(Debug, Clone)]
struct Tower {
    cam: Cam,
    w: f32,
    h: f32,
    floor_h: f32,
    floors: u32,
    left: f32,
    right: f32,
    columns: u32,
    lift_column: Option<u32>,
    windows: Vec<Window>,
    hedge_top: f32,
    facade: Rgb,
    variant: Variant,
}

impl Tower {
    fn quad(&self, x0: f32, x1: f32, z0: f32, z1: f32) -> [(f32, f32); 4] {
        [
            self.cam.on_facade(x0, z0),
            self.cam.on_facade(x1, z0),
            self.cam.on_facade(x1, z1),
            self.cam.on_facade(x0, z1),
        ]
    }
    fn unit_x(&self, col: u32) -> (f32, f32) {
        let uw = (self.right - self.left) / self.columns as f32;
        (
            self.left + uw * col as f32,
            self.left + uw * (col + 1) as f32,
        )
    }
    /// Highest floor whose window is comfortably inside the frame.
    fn top_usable_floor(&self) -> u32 {
        let mut best = 1;
        for k in 1..self.floors {
            let zc = k as f32 * self.floor_h + 1.6;
            if self.cam.row(zc) > 0.07 * self.h && zc < self.floors as f32 * self.floor_h {
                best = k;
            }
        }
        best
    }
}

pub(super) fn build(spec: &ClipSpec, rng: &mut Rng) -> Result<Built, SceneError> {
    let (w, h) = (spec.width as f32, spec.height as f32);
    let mut geo = rng.fork(1);
    let f = h * geo.range(1.0, 1.3);
    let yg = geo.range(0.88, 0.93);
    let tilt = ((yg - 0.5) * h / f).atan();
    let ppm = spec
        .params
        .px_per_m
        .map(|v| v * h / 360.0)
        .unwrap_or_else(|| geo.range(9.0, 14.0) * h / 360.0);
    let d = f / tilt.cos().powi(2) / ppm;
    let cam = Cam {
        f,
        cx: w / 2.0,
        cy: h / 2.0,
        tilt,
        d,
    };
    let floor_h = geo.range(2.8, 3.3);
    let floors = geo.int(10, 30) as u32;
    let frac = geo.range(0.62, 0.85);
    let half = frac * (w / 2.0) * d * tilt.cos() / f;
    let offset = geo.range(-0.08, 0.08) * half;
    let columns = geo.int(4, 7) as u32;
    let wants_lift = spec.kind == Kind::Lift || spec.with.contains(&Kind::Lift);
    let lift_column = if wants_lift || geo.chance(0.3) {
        Some(if geo.chance(0.5) { 0 } else { columns - 1 })
    } else {
        None
    };
    let mut tower = Tower {
        cam,
        w,
        h,
        floor_h,
        floors,
        left: offset - half,
        right: offset + half,
        columns,
        lift_column,
        windows: Vec::new(),
        hedge_top: 1.3,
        facade: [0.0; 3],
        variant: spec.variant,
    };
    let two_windows = geo.chance(0.6);
    for k in 1..floors {
        for m in 0..columns {
            let (ux0, ux1) = tower.unit_x(m);
            let uw = ux1 - ux0;
            let z = k as f32 * floor_h;
            if Some(m) == lift_column {
                tower.windows.push(Window {
                    floor: k,
                    column: m,
                    x0: ux0 + 0.38 * uw,
                    x1: ux0 + 0.62 * uw,
                    z0: z + 0.4,
                    z1: z + floor_h - 0.4,
                });
            } else if two_windows {
                for (a, b) in [(0.1, 0.43), (0.57, 0.9)] {
                    tower.windows.push(Window {
                        floor: k,
                        column: m,
                        x0: ux0 + a * uw,
                        x1: ux0 + b * uw,
                        z0: z + 0.9,
                        z1: z + 2.4,
                    });
                }
            } else {
                tower.windows.push(Window {
                    floor: k,
                    column: m,
                    x0: ux0 + 0.2 * uw,
                    x1: ux0 + 0.8 * uw,
                    z0: z + 0.9,
                    z1: z + 2.4,
                });
            }
        }
    }
    let mut paint = rng.fork(2);
    let (background, look) = paint_background(&mut tower, spec, &mut paint);

    let mut actors: Vec<Box<dyn Actor>> = Vec::new();
    let mut incidents = Vec::new();
    let mut negatives = Vec::new();
    let mut duration = spec.params.duration_s.unwrap_or(6.0);
    let mut act = rng.fork(3);
    let exposure = match spec.variant {
        Variant::Day => 1.0 / 250.0,
        _ => 1.0 / 30.0,
    };

    if spec.kind == Kind::Throwing {
        let throw = plan_throw(&tower, spec, &mut act, exposure)?;
        if spec.params.duration_s.is_none() {
            duration = (throw.end_s + 1.0).clamp(4.0, 8.0);
        }
        incidents.push(Planned {
            kind: "throwing",
            start_s: throw.release_s,
            end_s: throw.end_s.min(duration),
            actor: 0,
            origin: Some(throw.origin),
            // Recorded at the 640x360 detect scale, whatever the clip's size.
            size_px: Some((throw.size_px * 360.0 / h * 10.0).round() / 10.0),
        });
        actors.push(Box::new(throw));
    }
    let mut extra: Vec<Kind> = spec.with.clone();
    if !spec.kind.is_incident() && spec.kind != Kind::TowerEmpty {
        extra.insert(0, spec.kind);
    }
    for k in extra {
        negatives.push(k.as_str().to_string());
        let mut r = act.fork(k as u64);
        match k {
            Kind::BirdLevel | Kind::BirdRising | Kind::BirdFlapping | Kind::BirdGlidingDown => {
                let n = if r.chance(0.3) { r.int(2, 4) } else { 1 };
                for i in 0..n {
                    actors.push(Box::new(Bird::new(
                        &tower,
                        k,
                        &mut r.fork(i as u64),
                        duration,
                    )));
                }
            }
            Kind::Leaves => actors.push(Box::new(Leaves::new(&tower, &mut r, duration))),
            Kind::Rain => actors.push(Box::new(Rain::new(&tower, &mut r))),
            Kind::Laundry => actors.push(Box::new(Laundry::new(&tower, &mut r))),
            Kind::WindowLights => {
                actors.push(Box::new(WindowLights::new(&tower, &mut r, duration)))
            }
            Kind::Lift => actors.push(Box::new(LiftCar::new(&tower, &mut r, duration))),
            _ => {}
        }
    }
    let calibration = calibrate(&tower);
    Ok(Built {
        background,
        actors,
        incidents,
        negatives,
        calibration,
        hints: Hints::default(),
        duration_s: duration,
        look,
    })
}

fn paint_background(t: &mut Tower, spec: &ClipSpec, rng: &mut Rng) -> (Canvas, Look) {
    let (w, h) = (t.w, t.h);
    let v = spec.variant;
    let facades: [Rgb; 5] = [
        [205.0, 200.0, 190.0],
        [180.0, 168.0, 155.0],
        [214.0, 208.0, 198.0],
        [160.0, 152.0, 142.0],
        [188.0, 194.0, 200.0],
    ];
    let base = *rng.pick(&facades);
    let (sky_top, sky_bot, facade, glass, lit, hedge, ground) = match v {
        Variant::Day => (
            [115.0, 160.0, 215.0],
            [195.0, 215.0, 238.0],
            base,
            [70.0, 84.0, 104.0],
            [200.0, 190.0, 160.0],
            [45.0, 85.0, 38.0],
            [125.0, 123.0, 118.0],
        ),
        Variant::Night => (
            [8.0, 11.0, 26.0],
            [28.0, 32.0, 52.0],
            shade(base, 0.3),
            [12.0, 14.0, 20.0],
            [225.0, 185.0, 115.0],
            [12.0, 20.0, 12.0],
            [35.0, 34.0, 32.0],
        ),
        Variant::Ir => (
            [70.0, 70.0, 70.0],
            [95.0, 95.0, 95.0],
            shade(base, 0.8),
            [35.0, 35.0, 35.0],
            [215.0, 215.0, 215.0],
            [185.0, 190.0, 185.0],
            [110.0, 110.0, 110.0],
        ),
    };
    t.facade = facade;
    let mut c = Canvas::new(w as usize, h as usize, sky_top);
    c.vgradient(0, h as usize, sky_top, sky_bot);
    if v == Variant::Day {
        for _ in 0..rng.int(1, 4) {
            let (cx, cy) = (rng.range(0.0, w), rng.range(0.0, 0.25 * h));
            for _ in 0..5 {
                c.ellipse(
                    cx + rng.range(-0.06, 0.06) * w,
                    cy + rng.range(-0.02, 0.02) * h,
                    rng.range(0.04, 0.09) * w,
                    rng.range(0.015, 0.035) * h,
                    0.0,
                    [240.0, 242.0, 246.0],
                    0.35,
                );
            }
        }
    }
    // Facade body.
    let top_z = t.floors as f32 * t.floor_h;
    let body = t.quad(t.left, t.right, 0.0, top_z);
    c.polygon(&body, facade, 1.0, 2);
    let (bx0, by_top) = (body[3].0.min(body[0].0), body[3].1.max(0.0));
    // `texture` > 1: a rougher facade (daylight on concrete, tiles), the
    // texture also in blotches a few pixels across, which shake makes flicker.
    let rough = spec.params.texture.unwrap_or(1.0);
    c.texture(
        bx0,
        by_top,
        body[1].0.max(body[2].0),
        body[0].1,
        7.0 * rough,
        rng,
    );
    if rough > 1.0 {
        let (x0, x1) = (bx0, body[1].0.max(body[2].0));
        let blotches = (((x1 - x0) * (body[0].1 - by_top)) / 40.0) as usize;
        for _ in 0..blotches {
            let (cx, cy) = (rng.range(x0, x1), rng.range(by_top, body[0].1));
            let r = rng.range(1.0, 3.5);
            let k = 1.0 + rng.range(-0.12, 0.12) * rough.min(4.0);
            c.ellipse(
                cx,
                cy,
                r,
                r * rng.range(0.5, 1.0),
                0.0,
                shade(facade, k),
                0.8,
            );
        }
    }
    // Slabs between floors.
    for k in 0..=t.floors {
        let z = k as f32 * t.floor_h;
        let q = t.quad(t.left, t.right, z - 0.12, z + 0.12);
        c.polygon(&q, shade(facade, 0.88), 0.9, 1);
    }
    // Column boundaries (pilasters).
    for m in 0..=t.columns {
        let (x, _) = t.unit_x(m.min(t.columns - 1));
        let x = if m == t.columns { t.right } else { x };
        let q = t.quad(x - 0.1, x + 0.1, 0.0, top_z);
        c.polygon(&q, shade(facade, 0.93), 0.8, 1);
    }
    // Windows; some lit at night; AC units below some.
    let windows = t.windows.clone();
    for wdw in &windows {
        let q = t.quad(wdw.x0, wdw.x1, wdw.z0, wdw.z1);
        let is_lift = Some(wdw.column) == t.lift_column;
        let g = if is_lift {
            shade(glass, 0.7)
        } else if v != Variant::Day && rng.chance(0.3) {
            shade(lit, rng.range(0.75, 1.0))
        } else {
            mix(glass, sky_bot, rng.range(0.0, 0.3))
        };
        c.polygon(&q, g, 1.0, 2);
        let frame_col = shade(facade, 0.75);
        let (a, b) = (q[0], q[3]);
        c.line(a.0, a.1, b.0, b.1, 1.0, frame_col, 0.8);
        let (a, b) = (q[3], q[2]);
        c.line(a.0, a.1, b.0, b.1, 1.0, frame_col, 0.8);
        if !is_lift && rng.chance(0.12) {
            let q = t.quad(wdw.x0 + 0.1, wdw.x0 + 0.9, wdw.z0 - 0.6, wdw.z0 - 0.1);
            c.polygon(&q, shade(facade, 1.08), 1.0, 1);
        }
    }
    // Ground and hedge.
    let yg = t.cam.row(0.0);
    c.rect(0.0, yg, w, h, ground, 1.0);
    c.texture(0.0, yg, w, h, 6.0, rng);
    let yh = t.cam.row(t.hedge_top);
    let mut x = -10.0;
    while x < w + 10.0 {
        let r = rng.range(0.02, 0.04) * h;
        c.ellipse(
            x,
            yh + r * 0.8,
            r * 1.3,
            r,
            0.0,
            shade(hedge, rng.range(0.8, 1.2)),
            1.0,
        );
        x += r * rng.range(1.0, 1.8);
    }
    c.rect(0.0, yh + 0.02 * h, w, yg + 0.01 * h, hedge, 1.0);
    c.texture(0.0, yh - 0.02 * h, w, yg, 10.0, rng);
    if v == Variant::Ir {
        // The IR illuminator lights near things more than far ones.
        for y in 0..h as usize {
            let k = 0.55 + 0.45 * (y as f32 / h);
            c.scale_box(0.0, y as f32, w, y as f32 + 1.0, [k; 3]);
        }
    }
    if v == Variant::Night {
        c.glow(
            w * rng.range(0.1, 0.9),
            yg,
            0.25 * h,
            [120.0, 100.0, 60.0],
            0.5,
        );
    }
    let rain = spec.kind == Kind::Rain || spec.with.contains(&Kind::Rain);
    let look = Look {
        shake_px: rng.range(0.4, 1.2),
        blur: v != Variant::Day,
        noise_sigma: match v {
            Variant::Day => 2.5,
            Variant::Night => 6.0,
            Variant::Ir => 5.0,
        },
        gain: if rain && v == Variant::Day { 0.85 } else { 1.0 },
        ir: v == Variant::Ir,
    };
    (c, look)
}

fn calibrate(t: &Tower) -> Calibration {
    let (w, h) = (t.w, t.h);
    let top_z = t.floors as f32 * t.floor_h;
    let mut floor_rows = Vec::new();
    let mut px_per_m = Vec::new();
    for k in 0..=t.floors {
        let z = k as f32 * t.floor_h;
        let r = t.cam.row(z);
        if r < 0.0 {
            break;
        }
        floor_rows.push(((r / h) * 10_000.0).round() / 10_000.0);
        px_per_m.push((t.cam.px_per_m(z) * 100.0).round() / 100.0);
    }
    // Height where the facade meets the top of the frame (or the roof).
    let z_top = if t.cam.row(top_z) >= 0.0 {
        top_z
    } else {
        let (mut lo, mut hi) = (0.0, top_z);
        for _ in 0..40 {
            let mid = (lo + hi) / 2.0;
            if t.cam.row(mid) >= 0.0 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    };
    let hz = t.hedge_top;
    let p = |x: f32, z: f32| {
        let (u, v) = t.cam.on_facade(x, z);
        npt(u, v, w, h)
    };
    let polygon = vec![
        p(t.left, hz),
        p(t.right, hz),
        p(t.right, z_top),
        p(t.left, z_top),
    ];
    let mut fractions = Vec::new();
    let mut lines = Vec::new();
    for m in 0..=t.columns {
        let f = m as f32 / t.columns as f32;
        fractions.push((f * 10_000.0).round() / 10_000.0);
        let x = t.left + (t.right - t.left) * f;
        lines.push([p(x, hz), p(x, z_top)]);
    }
    let yh = t.cam.row(hz) / h;
    let sky = Zone {
        name: "sky".into(),
        polygon: vec![
            [0.0, 0.0],
            [1.0, 0.0],
            [1.0, yh],
            polygon[1],
            polygon[2],
            polygon[3],
            polygon[0],
            [0.0, yh],
        ],
    };
    let ground = Zone {
        name: "hedge_and_ground".into(),
        polygon: vec![[0.0, yh], [1.0, yh], [1.0, 1.0], [0.0, 1.0]],
    };
    Calibration {
        facade: Some(Facade {
            polygon: polygon.clone(),
            floor_rows,
            column_fractions: fractions,
            column_lines: lines,
            px_per_m,
            floor_height_m: (t.floor_h * 1000.0).round() / 1000.0,
            focal_px: (t.cam.f * 10.0).round() / 10.0,
            distance_m: (t.cam.d * 100.0).round() / 100.0,
            tilt_deg: (t.cam.tilt.to_degrees() * 100.0).round() / 100.0,
        }),
        zones: vec![Zone {
            name: "facade".into(),
            polygon,
        }],
        exclude: vec![sky, ground],
        lights: Vec::new(),
    }
}
