//! The incident: an object dropped or tossed from a window, its shape and
//! its fall under gravity (with a little air drag).

use super::{Tower, Window, G};
use crate::raster::{luma, shade, Canvas, Rgb};
use crate::rng::Rng;
use crate::{Actor, ClipSpec, Origin, SceneError};

/// Object shapes for throws.
#[derive(Debug, Clone, Copy)]
enum Shape {
    Ball,
    Box,
    Bottle,
    Bag,
}

/// A thrown or dropped object: trajectory precomputed at 1 ms steps.
pub(super) struct Throw {
    tower: Tower,
    /// (t, x, y-distance, z) world samples from the release.
    path: Vec<[f32; 4]>,
    pub(super) release_s: f32,
    pub(super) end_s: f32,
    hold_s: f32,
    /// Seconds after release the object stays hidden (`late_s`).
    late_s: f32,
    pub(super) size_px: f32,
    depth0: f32,
    shape: Shape,
    colour: Rgb,
    spin: f32,
    exposure: f32,
    pub(super) origin: Origin,
}

pub(super) fn plan_throw(
    t: &Tower,
    spec: &ClipSpec,
    r: &mut Rng,
    exposure: f32,
) -> Result<Throw, SceneError> {
    let top = t.top_usable_floor();
    let floor = match spec.params.floor {
        Some(f) if f >= 1 && f <= top => f,
        Some(f) => {
            return Err(SceneError::BadParam {
                key: "floor".into(),
                message: format!(
                    "this camera (seed {}) sees floors 1..={top}, got {f}",
                    spec.seed
                ),
            })
        }
        // A late pick-up is of interest from high up, where there is a fall left to see.
        None if spec.params.late_s.is_some_and(|l| l > 0.0) => {
            r.int(top.saturating_sub(3).max(2).min(top) as i64, top as i64) as u32
        }
        None => r.int(2.min(top as i64), top as i64) as u32,
    };
    let cols: Vec<u32> = (0..t.columns)
        .filter(|c| Some(*c) != t.lift_column)
        .collect();
    let column = match spec.params.column {
        Some(c) if cols.contains(&c) => c,
        Some(c) => {
            return Err(SceneError::BadParam {
                key: "column".into(),
                message: format!(
                    "this camera (seed {}) has unit columns {cols:?}, got {c}",
                    spec.seed
                ),
            })
        }
        None => *r.pick(&cols),
    };
    let wins: Vec<&Window> = t
        .windows
        .iter()
        .filter(|w| w.floor == floor && w.column == column)
        .collect();
    let win = **r.pick(&wins);
    let size_px = spec.params.size_px.unwrap_or_else(|| r.range(4.0, 40.0)) * t.h / 360.0;
    let toss = match spec.params.style.as_deref() {
        Some("toss") => true,
        Some(_) => false,
        None => r.chance(0.5),
    };
    let mut p = [
        r.range(win.x0 + 0.2, win.x1 - 0.2),
        t.cam.d - 0.3,
        r.range(win.z0 + 0.3, win.z1 - 0.4),
    ];
    let mut v = if toss {
        [
            r.range(0.5, 2.5) * if r.chance(0.5) { 1.0 } else { -1.0 },
            -r.range(1.0, 3.0),
            r.range(0.0, 2.5),
        ]
    } else {
        [r.normal() * 0.2, -r.range(0.2, 0.8), 0.0]
    };
    let vt = r.range(25.0, 60.0);
    let release_s = r.range(2.0, 2.8);
    let dt = 0.001;
    let mut path = Vec::new();
    let mut time = 0.0;
    let end_s;
    loop {
        path.push([time, p[0], p[1], p[2]]);
        let (u, row, depth) = t.cam.project(p[0], p[1], p[2]);
        let s = size_px * (t.cam.d / depth);
        let outside = u + s < 0.0 || u - s > t.w || row - s > t.h;
        if p[2] < t.hedge_top || outside || time > 8.0 {
            end_s = release_s + time;
            break;
        }
        let speed = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
        let k = G * speed / (vt * vt);
        v = [
            v[0] - k * v[0] * dt,
            v[1] - k * v[1] * dt,
            v[2] - (G + k * v[2]) * dt,
        ];
        p = [p[0] + v[0] * dt, p[1] + v[1] * dt, p[2] + v[2] * dt];
        time += dt;
    }
    let depth0 = t.cam.project(path[0][1], path[0][2], path[0][3]).2;
    let shape = *r.pick(&[Shape::Ball, Shape::Box, Shape::Bottle, Shape::Bag]);
    let palette: [Rgb; 8] = [
        [230.0, 225.0, 210.0],
        [25.0, 25.0, 28.0],
        [200.0, 40.0, 40.0],
        [40.0, 90.0, 190.0],
        [240.0, 200.0, 40.0],
        [60.0, 140.0, 60.0],
        [245.0, 245.0, 245.0],
        [110.0, 70.0, 40.0],
    ];
    let mut colour = *r.pick(&palette);
    if (luma(colour) - luma(t.facade)).abs() < 60.0 {
        colour = if luma(t.facade) > 110.0 {
            [30.0, 28.0, 30.0]
        } else {
            [235.0, 235.0, 230.0]
        };
    }
    Ok(Throw {
        tower: t.clone(),
        path,
        release_s,
        end_s,
        hold_s: 0.5,
        late_s: spec.params.late_s.unwrap_or(0.0),
        size_px,
        depth0,
        shape,
        colour,
        spin: r.range(2.0, 9.0),
        exposure,
        origin: Origin { floor, column },
    })
}

impl Throw {
    /// Image centre and size at time `t`, if the object is in view.
    fn at(&self, t: f32) -> Option<(f32, f32, f32)> {
        if t < self.release_s - self.hold_s || t > self.end_s {
            return None;
        }
        let dt = (t - self.release_s).max(0.0);
        let i = ((dt / 0.001) as usize).min(self.path.len().saturating_sub(1));
        let s = self.path.get(i)?;
        let (u, v, depth) = self.tower.cam.project(s[1], s[2], s[3]);
        Some((u, v, self.size_px * self.depth0 / depth))
    }
}

impl Actor for Throw {
    fn draw(&mut self, c: &mut Canvas, t: f32) {
        // Motion blur: three sub-exposures, the latest opaque.
        for (k, alpha) in [(2.0, 0.35), (1.0, 0.5), (0.0, 1.0)] {
            let ts = t - self.exposure * k / 2.0;
            let Some((u, v, s)) = self.at(ts) else {
                continue;
            };
            // A late pick-up: hidden behind a ledge, then fading in.
            let alpha = if self.late_s > 0.0 {
                alpha * ((ts - self.release_s - self.late_s) / 0.2).clamp(0.0, 1.0)
            } else {
                alpha
            };
            if alpha <= 0.0 {
                continue;
            }
            let angle = self.spin * (ts - self.release_s).max(0.0);
            let col = self.colour;
            match self.shape {
                Shape::Ball => c.ellipse(u, v, s / 2.0, s / 2.0, 0.0, col, alpha),
                Shape::Box => c.ellipse(u, v, s / 2.0, s * 0.35, angle, col, alpha),
                Shape::Bottle => c.ellipse(u, v, s / 2.0, s * 0.18, angle, col, alpha),
                Shape::Bag => {
                    c.ellipse(u, v + s * 0.1, s * 0.45, s * 0.4, angle * 0.3, col, alpha);
                    c.ellipse(
                        u,
                        v - s * 0.3,
                        s * 0.12,
                        s * 0.18,
                        angle * 0.3,
                        shade(col, 0.8),
                        alpha,
                    );
                }
            }
        }
    }

    fn truth_box(&self, t: f32) -> Option<[f32; 4]> {
        let (u, v, s) = self.at(t)?;
        let r = (s / 2.0).max(1.0);
        Some([u - r, v - r, u + r, v + r])
    }
}
