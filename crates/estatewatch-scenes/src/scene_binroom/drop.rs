//! The incident: a bag set down on the ground (and maybe picked up later),
//! planned with who drops it and how; and people standing or crouching for
//! longer than the dwell.

use super::{bag_colour, figure, Room};
use crate::people::{draw_bag, Key, Load, Person};
use crate::raster::{Canvas, Rgb};
use crate::rng::Rng;
use crate::{Actor, Params};

/// A bag on the ground from `from` until `until`.
pub(super) struct Bag {
    x: f32,
    y: f32,
    size: f32,
    col: Rgb,
    from: f32,
    until: f32,
    lean: f32,
    /// When whoever left it has moved off it (see `Actor::clear_s`).
    clear: Option<f32>,
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
            Some(self.bbox())
        } else {
            None
        }
    }

    fn clear_s(&self) -> Option<f32> {
        self.clear
    }
}

impl Bag {
    fn bbox(&self) -> [f32; 4] {
        let s = self.size;
        [
            self.x - 0.42 * s,
            self.y - s * 1.05,
            self.x + 0.42 * s,
            self.y + 0.05 * s,
        ]
    }
}

/// The first time from `from` (in 0.02 s steps, until `until`) when the
/// person's box (half a body height wide, a body height tall) no longer
/// overlaps `bbox`.
fn moved_off(p: &Person, bbox: [f32; 4], from: f32, until: f32) -> Option<f32> {
    let mut t = from;
    while t <= until {
        let st = p.state(t);
        if !st.visible {
            return Some(t);
        }
        let h = p.persp.height_at(st.y);
        let b = [st.x - 0.25 * h, st.y - h, st.x + 0.25 * h, st.y];
        let overlap = b[0] < bbox[2] && bbox[0] < b[2] && b[1] < bbox[3] && bbox[1] < b[3];
        if !overlap {
            return Some(t);
        }
        t += 0.02;
    }
    None
}

pub(super) struct DropPlan {
    pub(super) bag: Bag,
    pub(super) people: Vec<Box<dyn Actor>>,
    pub(super) t_drop: f32,
    pub(super) t_removed: Option<f32>,
}

/// Someone walks in with a bag, sets it down outside the bins (or where
/// `bag_depth` says), stays crouched by it `crouch_s`, and walks off.
/// `beside` = (x, y, t): the bag goes down with its middle at (x, y), not
/// before stream time t (a bag left beside a bin just pushed there).
pub(super) fn plan_drop(
    r: &Room,
    rng: &mut Rng,
    params: &Params,
    beside: Option<(f32, f32, f32)>,
) -> DropPlan {
    let removed_after = params.removed_after_s;
    let fig = figure(r, rng);
    let from_left = rng.chance(0.5);
    let edge = |left: bool| if left { -0.08 * r.w } else { 1.08 * r.w };
    let ya = rng.range(0.65, 0.95) * r.h;
    // Spot: just in front of or beside the bins.
    let first = r.bins[0];
    let last = r.bins[r.bins.len() - 1];
    let mut spot_x = if rng.chance(0.5) {
        rng.range(first.x, last.x)
    } else if rng.chance(0.5) {
        first.x - first.height * rng.range(0.7, 1.2)
    } else {
        last.x + last.height * rng.range(0.7, 1.2)
    }
    .clamp(0.08 * r.w, 0.92 * r.w);
    let mut spot_y = r.wall_bottom + rng.range(0.1, 0.22) * r.h;
    if let Some(d) = params.bag_depth {
        // Between the zone's far edge and (almost) its near edge; the bag
        // must stay in the picture, so keep clear of the sides near the camera.
        let (far, near) = (r.wall_bottom + 0.04 * r.h, 0.93 * r.h);
        spot_y = far + d.clamp(0.0, 1.0) * (near - far);
        let hgt = r.persp.height_at(spot_y);
        let margin = (0.5 * hgt / r.w).min(0.3);
        spot_x = spot_x.clamp(margin * r.w, (1.0 - margin) * r.w);
    }
    let speed = rng.range(0.12, 0.2) * r.w;
    let mut t0 = rng.range(2.0, 4.0);
    let xa = edge(from_left);
    if let Some((x, y, _)) = beside {
        // The hand puts the bag 0.3 body heights ahead of the feet.
        spot_y = y;
        let reach = 0.3 * r.persp.height_at(y);
        spot_x = if x >= xa { x - reach } else { x + reach };
    }
    let mut t1 = t0 + ((spot_x - xa).powi(2) + (spot_y - ya).powi(2)).sqrt() / speed;
    let facing = if spot_x >= xa { 1.0 } else { -1.0 };
    let hgt = r.persp.height_at(spot_y);
    let drawn_size = rng.range(0.18, 0.28);
    let bag_size = params.bag_scale.unwrap_or(drawn_size) * hgt;
    let mut t_crouch = t1 + rng.range(0.3, 1.0);
    if let Some((_, _, not_before)) = beside {
        let late = (not_before - (t_crouch + 0.8)).max(0.0);
        t0 += late;
        t1 += late;
        t_crouch += late;
    }
    let t_drop = t_crouch + 0.8;
    let crouch = params.crouch_s.unwrap_or(0.8).max(0.0);
    let t_up = t_drop + crouch.max(0.8);
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
            // Stays down a while (`crouch_s`), then gets up over 0.8 s.
            Key::at(t_up - 0.8, spot_x, spot_y).crouched(1.0),
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
    let bag_box = Bag {
        x: bag_x,
        y: spot_y,
        size: bag_size,
        col,
        from: t_drop,
        until: f32::MAX,
        lean: 0.0,
        clear: None,
    }
    .bbox();
    let clear = moved_off(&person, bag_box, t_up, t2);
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
            clear,
        },
        people,
        t_drop,
        t_removed,
    }
}

/// Someone walks in and stands still by the bins for 1.5 × the dwell, then leaves.
pub(super) fn standing(r: &Room, rng: &mut Rng, dwell: f32) -> (Person, f32) {
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

/// Someone walks in, crouches by the bins for 3..8 s (ties a shoe, looks in
/// a bag), gets up and leaves, leaving nothing; some time within the dwell.
pub(super) fn croucher(r: &Room, rng: &mut Rng, dwell: f32) -> (Person, f32) {
    let xa = if rng.chance(0.5) {
        -0.08 * r.w
    } else {
        1.08 * r.w
    };
    let ya = rng.range(0.65, 0.95) * r.h;
    let sx = rng.range(0.15, 0.85) * r.w;
    let sy = r.wall_bottom + rng.range(0.08, 0.45) * r.h;
    let speed = rng.range(0.12, 0.2) * r.w;
    let t0 = rng.range(2.0, 2.0 + dwell.max(4.0));
    let t1 = t0 + ((sx - xa).powi(2) + (sy - ya).powi(2)).sqrt() / speed;
    let t_down = t1 + 0.8;
    let t_stay = t_down + rng.range(3.0, 8.0);
    let t_up = t_stay + 0.8;
    let xb = if rng.chance(0.5) {
        -0.08 * r.w
    } else {
        1.08 * r.w
    };
    let t3 = t_up + 0.3 + (xb - sx).abs() / speed;
    let load = if rng.chance(0.5) {
        Load::Bag(bag_colour(r, rng), rng.range(0.18, 0.28))
    } else {
        Load::Nothing
    };
    let carry = matches!(load, Load::Bag(..));
    (
        Person {
            fig: figure(r, rng),
            keys: vec![
                Key::at(t0, xa, ya).carrying(carry),
                Key::at(t1, sx, sy).carrying(carry),
                Key::at(t_down, sx, sy).crouched(1.0).carrying(carry),
                Key::at(t_stay, sx, sy).crouched(1.0).carrying(carry),
                Key::at(t_up, sx, sy).carrying(carry),
                Key::at(t_up + 0.3, sx, sy).carrying(carry),
                Key::at(t3, xb, sy).carrying(carry),
            ],
            persp: r.persp,
            load,
            seed: rng.next_u64(),
        },
        t3,
    )
}
