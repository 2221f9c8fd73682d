//! Simple articulated people and bicycles, shared by the shed and bin-room
//! scenes. People are a head, a torso, two arms and two legs that swing as
//! they walk; they are deliberately crude (a COCO person detector will not
//! recognise them, see `docs/scenes.md`), but they move like people: walk,
//! stop, stand with a slight sway, crouch to set something down.

use super::raster::{Canvas, Rgb};
use super::rng::{wobble, Rng};
use super::Actor;

/// How a person looks.
#[derive(Debug, Clone, Copy)]
pub struct Figure {
    pub top: Rgb,
    pub legs: Rgb,
    pub skin: Rgb,
    pub hair: Rgb,
    /// Hi-vis jacket with light reflective stripes.
    pub hivis: bool,
}

impl Figure {
    /// Everyday clothes from the seed.
    pub fn random(rng: &mut Rng) -> Figure {
        let tops: [Rgb; 8] = [
            [40.0, 45.0, 60.0],
            [120.0, 30.0, 35.0],
            [200.0, 200.0, 195.0],
            [60.0, 90.0, 60.0],
            [30.0, 30.0, 30.0],
            [70.0, 100.0, 150.0],
            [150.0, 130.0, 100.0],
            [90.0, 60.0, 110.0],
        ];
        let legs: [Rgb; 4] = [
            [35.0, 40.0, 60.0],
            [30.0, 30.0, 30.0],
            [100.0, 95.0, 85.0],
            [60.0, 70.0, 95.0],
        ];
        let skins: [Rgb; 4] = [
            [225.0, 190.0, 160.0],
            [190.0, 145.0, 110.0],
            [140.0, 100.0, 70.0],
            [95.0, 65.0, 45.0],
        ];
        Figure {
            top: *rng.pick(&tops),
            legs: *rng.pick(&legs),
            skin: *rng.pick(&skins),
            hair: [
                rng.range(20.0, 90.0),
                rng.range(15.0, 60.0),
                rng.range(10.0, 40.0),
            ],
            hivis: false,
        }
    }
}

/// A key point on a person's path: where they are at time `t`, and how.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    pub t: f32,
    pub x: f32,
    /// Feet row.
    pub y: f32,
    /// 0 standing, 1 fully crouched.
    pub crouch: f32,
    /// Carrying something in the hand (drawn at the hand).
    pub carry: bool,
}

impl Key {
    pub fn at(t: f32, x: f32, y: f32) -> Key {
        Key {
            t,
            x,
            y,
            crouch: 0.0,
            carry: false,
        }
    }
    pub fn carrying(mut self, c: bool) -> Key {
        self.carry = c;
        self
    }
    pub fn crouched(mut self, c: f32) -> Key {
        self.crouch = c;
        self
    }
}

/// Size of people by feet row: `height = k * (y - horizon)`.
#[derive(Debug, Clone, Copy)]
pub struct Perspective {
    pub horizon: f32,
    pub k: f32,
}

impl Perspective {
    pub fn height_at(&self, y: f32) -> f32 {
        (self.k * (y - self.horizon)).max(4.0)
    }
}

/// What a person carries or pushes.
#[derive(Debug, Clone, Copy)]
pub enum Load {
    Nothing,
    /// A bag in the hand, of this colour and size (fraction of body height).
    Bag(Rgb, f32),
    /// A bicycle wheeled alongside.
    Bike(Rgb),
}

/// A person walking along a path of [`Key`]s.
pub struct Person {
    pub fig: Figure,
    pub keys: Vec<Key>,
    pub persp: Perspective,
    pub load: Load,
    pub seed: u64,
}

/// Where a person is at time `t`, and their pose.
#[derive(Debug, Clone, Copy)]
pub struct PersonState {
    pub visible: bool,
    pub x: f32,
    pub y: f32,
    pub phase: f32,
    pub moving: bool,
    pub facing: f32,
    pub crouch: f32,
    pub carry: bool,
}

impl Person {
    pub fn state(&self, t: f32) -> PersonState {
        let mut s = PersonState {
            visible: false,
            x: 0.0,
            y: 0.0,
            phase: 0.0,
            moving: false,
            facing: 1.0,
            crouch: 0.0,
            carry: false,
        };
        let (Some(first), Some(last)) = (self.keys.first(), self.keys.last()) else {
            return s;
        };
        if t < first.t || t > last.t {
            return s;
        }
        s.visible = true;
        let mut dist = 0.0;
        for pair in self.keys.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let seg = ((b.x - a.x).powi(2) + (b.y - a.y).powi(2)).sqrt();
            if b.x != a.x {
                s.facing = (b.x - a.x).signum();
            }
            if t <= b.t {
                let u = if b.t > a.t {
                    (t - a.t) / (b.t - a.t)
                } else {
                    1.0
                };
                s.x = a.x + (b.x - a.x) * u;
                s.y = a.y + (b.y - a.y) * u;
                s.crouch = a.crouch + (b.crouch - a.crouch) * u;
                s.carry = a.carry;
                s.moving = seg > 0.5;
                dist += seg * u;
                break;
            }
            dist += seg;
        }
        let h = self.persp.height_at(s.y);
        s.phase = dist / (0.7 * h) * std::f32::consts::PI;
        s
    }
}

impl Actor for Person {
    fn draw(&mut self, c: &mut Canvas, t: f32) {
        let s = self.state(t);
        if !s.visible {
            return;
        }
        let h = self.persp.height_at(s.y);
        if let Load::Bike(col) = self.load {
            draw_bike(
                c,
                s.x + s.facing * 0.25 * h,
                s.y,
                0.55 * h,
                col,
                s.facing,
                false,
            );
        }
        let sway = if s.moving {
            0.0
        } else {
            0.01 * h * wobble(self.seed, t, 0.3)
        };
        draw_person(c, s.x + sway, s.y, h, &self.fig, &s, self.load);
    }
}

/// Draws a person with feet at (x, y) and height `h`.
pub fn draw_person(
    c: &mut Canvas,
    x: f32,
    y: f32,
    h: f32,
    fig: &Figure,
    s: &PersonState,
    load: Load,
) {
    let swing = if s.moving { 0.4 * s.phase.sin() } else { 0.0 };
    let crouch = s.crouch.clamp(0.0, 1.0);
    let f = s.facing;
    let hip_y = y - 0.5 * h + crouch * 0.22 * h;
    let hip_x = x - f * crouch * 0.05 * h;
    let sh_y = y - 0.82 * h + crouch * 0.3 * h;
    let sh_x = x + f * crouch * 0.12 * h;
    let lw = (0.08 * h).max(1.0);
    // Legs: thigh to knee, shin to foot.
    for (k, sgn) in [(0, 1.0f32), (1, -1.0f32)] {
        let a = swing * sgn;
        let knee_fwd = crouch * 0.16 * h * f;
        let kx = hip_x + (0.25 * h) * a.sin() + knee_fwd;
        let ky = hip_y + 0.25 * h * a.cos() - crouch * 0.08 * h;
        let fx = x + (0.5 * h) * (a * 0.9).sin() + if k == 0 { 0.02 * h } else { -0.02 * h };
        let fy = y;
        let col = if k == 0 {
            fig.legs
        } else {
            super::raster::shade(fig.legs, 0.85)
        };
        c.line(hip_x, hip_y, kx, ky, lw, col, 1.0);
        c.line(kx, ky, fx, fy - 0.02 * h, lw, col, 1.0);
        c.line(
            fx - 0.02 * h * f,
            fy - 0.015 * h,
            fx + 0.05 * h * f,
            fy - 0.015 * h,
            lw * 0.6,
            [25.0, 25.0, 25.0],
            1.0,
        );
    }
    // Torso.
    let tw = 0.13 * h;
    let torso = [
        (sh_x - tw, sh_y),
        (sh_x + tw, sh_y),
        (hip_x + 0.1 * h, hip_y + 0.03 * h),
        (hip_x - 0.1 * h, hip_y + 0.03 * h),
    ];
    c.polygon(&torso, fig.top, 1.0, 2);
    if fig.hivis {
        let band = |u: f32| {
            let yy = sh_y + (hip_y - sh_y) * u;
            let xx = sh_x + (hip_x - sh_x) * u;
            (xx, yy)
        };
        for u in [0.45, 0.75] {
            let (xx, yy) = band(u);
            c.rect(
                xx - tw * 0.95,
                yy,
                xx + tw * 0.95,
                yy + (0.025 * h).max(1.0),
                [225.0, 225.0, 215.0],
                0.9,
            );
        }
    }
    // Arms.
    let reach = crouch * 1.1;
    for (k, sgn) in [(0, -1.0f32), (1, 1.0f32)] {
        let mut a = swing * sgn * 0.8;
        let carrying_arm = k == 1 && (s.carry || matches!(load, Load::Bike(_)));
        if carrying_arm {
            a = 0.15 * f;
        }
        a += reach * f;
        let ax = sh_x + f * 0.02 * h * sgn;
        let hx = ax + 0.4 * h * a.sin();
        let hy = sh_y + 0.4 * h * a.cos();
        let col = if k == 0 {
            super::raster::shade(fig.top, 0.85)
        } else {
            fig.top
        };
        c.line(ax, sh_y + 0.02 * h, hx, hy, lw * 0.85, col, 1.0);
        c.ellipse(hx, hy, lw * 0.45, lw * 0.45, 0.0, fig.skin, 1.0);
        if carrying_arm && s.carry {
            if let Load::Bag(bc, size) = load {
                draw_bag(c, hx, hy + size * h * 0.55, size * h, bc, 0.0);
            }
        }
    }
    // Head.
    let hr = 0.065 * h;
    let hx = sh_x + f * crouch * 0.05 * h;
    let hy = sh_y - 0.1 * h;
    c.ellipse(hx, hy, hr, hr * 1.15, 0.0, fig.skin, 1.0);
    c.ellipse(
        hx - f * 0.2 * hr,
        hy - 0.45 * hr,
        hr * 0.95,
        hr * 0.65,
        0.0,
        fig.hair,
        1.0,
    );
}

/// A rubbish bag: a rounded body with a tied neck; `size` is its height, centred at (x, y).
pub fn draw_bag(c: &mut Canvas, x: f32, y: f32, size: f32, col: Rgb, lean: f32) {
    let r = size * 0.5;
    c.ellipse(x, y + 0.1 * r, r * 0.8, r * 0.85, lean, col, 1.0);
    c.ellipse(
        x - 0.2 * r,
        y - 0.1 * r,
        r * 0.5,
        r * 0.6,
        lean,
        super::raster::shade(col, 1.15),
        0.6,
    );
    c.ellipse(
        x,
        y - 0.85 * r,
        r * 0.18,
        r * 0.25,
        0.0,
        super::raster::shade(col, 0.8),
        1.0,
    );
    c.ellipse(
        x + 0.12 * r,
        y - 1.05 * r,
        r * 0.2,
        r * 0.1,
        0.4,
        super::raster::shade(col, 0.9),
        1.0,
    );
}

/// A bicycle standing on the ground at (x, y), `size` tall (wheel diameter ~ 0.55 size).
pub fn draw_bike(c: &mut Canvas, x: f32, y: f32, size: f32, col: Rgb, facing: f32, ebike: bool) {
    let wr = size * 0.3;
    let base = size * 0.62;
    let (rx, fx) = (x - facing * base / 2.0, x + facing * base / 2.0);
    let wy = y - wr;
    let tyre = [22.0, 22.0, 24.0];
    for cx in [rx, fx] {
        let lw = (wr * 0.15).max(1.0);
        c.fill_with(
            (cx - wr - 1.0, wy - wr - 1.0, cx + wr + 1.0, wy + wr + 1.0),
            2,
            tyre,
            1.0,
            |px, py| {
                let d = ((px - cx).powi(2) + (py - wy).powi(2)).sqrt();
                d <= wr && d >= wr - lw
            },
        );
        c.ellipse(
            cx,
            wy,
            wr * 0.12,
            wr * 0.12,
            0.0,
            [120.0, 120.0, 120.0],
            1.0,
        );
    }
    let lw = (size * 0.045).max(1.0);
    let seat = (x - facing * base * 0.12, y - size * 0.85);
    let bb = (x, wy);
    let head = (fx - facing * base * 0.1, y - size * 0.88);
    c.line(rx, wy, bb.0, bb.1, lw, col, 1.0);
    c.line(rx, wy, seat.0, seat.1, lw, col, 1.0);
    c.line(seat.0, seat.1, bb.0, bb.1, lw, col, 1.0);
    c.line(seat.0, seat.1, head.0, head.1, lw, col, 1.0);
    c.line(head.0, head.1, bb.0, bb.1, lw, col, 1.0);
    c.line(head.0, head.1, fx, wy, lw, col, 1.0);
    c.line(
        seat.0 - facing * size * 0.08,
        seat.1 - size * 0.03,
        seat.0 + facing * size * 0.06,
        seat.1 - size * 0.03,
        lw * 1.4,
        [20.0, 20.0, 20.0],
        1.0,
    );
    c.line(
        head.0,
        head.1 - size * 0.05,
        head.0 - facing * size * 0.06,
        head.1 - size * 0.08,
        lw,
        [20.0, 20.0, 20.0],
        1.0,
    );
    if ebike {
        let mx = (head.0 + bb.0) / 2.0;
        let my = (head.1 + bb.1) / 2.0;
        c.ellipse(
            mx,
            my,
            size * 0.13,
            size * 0.055,
            -0.9 * facing,
            [35.0, 35.0, 38.0],
            1.0,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn person_follows_keys_and_is_gone_outside_them() {
        let p = Person {
            fig: Figure::random(&mut Rng::new(1)),
            keys: vec![
                Key::at(1.0, 0.0, 100.0),
                Key::at(3.0, 100.0, 100.0),
                Key::at(5.0, 100.0, 100.0),
            ],
            persp: Perspective {
                horizon: 0.0,
                k: 0.5,
            },
            load: Load::Nothing,
            seed: 1,
        };
        assert!(!p.state(0.5).visible);
        let s = p.state(2.0);
        assert!(s.visible && s.moving && (s.x - 50.0).abs() < 1e-3);
        let s = p.state(4.0);
        assert!(!s.moving && (s.x - 100.0).abs() < 1e-3);
        assert!(!p.state(5.5).visible);
    }
}
