//! The synthetic incidents the self-test lays over copies of a camera's live
//! frames: a falling object on a free-fall parabola down the facade
//! (throwing), a flickering, slowly growing flame in a fire zone (fire), a
//! bag set down in a garbage zone and left there (garbage). Each is drawn
//! into a copy of a frame's pixels; the live frame is never touched.

use crate::base::point_in_polygon;

/// A pixel rectangle `(x0, y0, x1, y1)`, ends exclusive.
pub type PxBox = (f32, f32, f32, f32);

/// One synthetic incident, placed in a `w`×`h` frame.
#[derive(Debug, Clone)]
pub enum Overlay {
    /// A disc of diameter `size` released at (`x0`, `y0`) moving sideways at
    /// `vx` px/s and accelerating down at `g` px/s², until it reaches `y_end`.
    Throw {
        x0: f32,
        y0: f32,
        vx: f32,
        g: f32,
        y_end: f32,
        size: f32,
    },
    /// A flame `width` px wide standing on (`x`, `base_y`).
    Flame { x: f32, base_y: f32, width: f32 },
    /// A bag `width`×`height` px standing on (`x`, `base_y`), set down at t = 0.
    Bag {
        x: f32,
        base_y: f32,
        width: f32,
        height: f32,
    },
}

impl Overlay {
    /// Seconds the incident is shown for.
    pub fn duration_s(&self, bag_s: f32) -> f32 {
        match *self {
            Overlay::Throw { y0, g, y_end, .. } => (2.0 * (y_end - y0).max(1.0) / g).sqrt() + 0.5,
            Overlay::Flame { .. } => 6.0,
            Overlay::Bag { .. } => bag_s,
        }
    }

    /// Where the incident is over its whole course, in pixels.
    pub fn extent(&self, bag_s: f32) -> PxBox {
        match *self {
            Overlay::Throw {
                x0,
                y0,
                vx,
                y_end,
                size,
                ..
            } => {
                let x1 = x0 + vx * self.duration_s(bag_s);
                (
                    x0.min(x1) - size,
                    y0 - size,
                    x0.max(x1) + size,
                    y_end + size,
                )
            }
            Overlay::Flame { x, base_y, width } => {
                (x - width, base_y - 2.2 * width, x + width, base_y + 2.0)
            }
            Overlay::Bag {
                x,
                base_y,
                width,
                height,
            } => (x - width / 2.0, base_y - height, x + width / 2.0, base_y),
        }
    }

    /// Draws the incident as it is `t` seconds after it began into `rgb`
    /// (`w`×`h` packed RGB); `frame_no` seeds the flame's flicker. Does
    /// nothing before 0 or after [`Overlay::duration_s`] for a throw.
    pub fn draw(&self, t: f32, frame_no: u64, rgb: &mut [u8], w: u32, h: u32) {
        if t < 0.0 {
            return;
        }
        match *self {
            Overlay::Throw {
                x0,
                y0,
                vx,
                g,
                y_end,
                size,
            } => {
                let y = y0 + 0.5 * g * t * t;
                if y > y_end + size {
                    return;
                }
                let x = x0 + vx * t;
                let r = size / 2.0;
                // Dark on a bright wall, bright on a dark one.
                let bright = local_luma(rgb, w, h, x, y, r * 3.0) < 110.0;
                let c = if bright {
                    [235, 235, 225]
                } else {
                    [25, 22, 20]
                };
                disc(rgb, w, h, x, y, r, c);
            }
            Overlay::Flame { x, base_y, width } => {
                let mut rng = XorShift::new(frame_no.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
                // Grows by half over the first 4 s; flickers in height and width.
                let grow = 1.0 + (t / 4.0).min(1.0) * 0.5;
                let wd = width * grow * (0.85 + 0.3 * rng.unit());
                let ht = 1.6 * width * grow * (0.75 + 0.5 * rng.unit());
                let top = (base_y - ht).max(0.0) as i32;
                for py in top..=(base_y as i32).min(h as i32 - 1) {
                    // 0 at the base, 1 at the tip: a teardrop, widest low down.
                    let u = (base_y - py as f32) / ht;
                    let half = wd / 2.0 * (1.0 - u).powf(0.7) * (0.3 + 2.0 * u).min(1.0);
                    let wobble = (u * 9.0 + rng.unit() * 6.0).sin() * wd * 0.08 * u;
                    let x0 = (x - half + wobble).max(0.0) as i32;
                    let x1 = ((x + half + wobble) as i32).min(w as i32 - 1);
                    for px in x0..=x1 {
                        let d = ((px as f32 - x - wobble).abs() / half.max(0.5)).min(1.0);
                        let core = (1.0 - d) * (1.0 - u);
                        let n = rng.unit();
                        let c = if core > 0.45 {
                            [255, (225.0 + 30.0 * n) as u8, (150.0 + 60.0 * n) as u8]
                        } else {
                            [
                                255,
                                (120.0 + 90.0 * core + 40.0 * n) as u8,
                                (20.0 + 40.0 * n) as u8,
                            ]
                        };
                        put(rgb, w, px as u32, py as u32, c);
                    }
                }
            }
            Overlay::Bag {
                x,
                base_y,
                width,
                height,
            } => {
                let (cx, cy) = (x, base_y - height / 2.0);
                let (ax, ay) = (width / 2.0, height / 2.0);
                // A white sack on dark ground, a black one on light ground.
                let light = local_luma(rgb, w, h, cx, cy, ax.max(ay) * 2.0) < 110.0;
                for py in (cy - ay).max(0.0) as i32..=((cy + ay) as i32).min(h as i32 - 1) {
                    for px in (cx - ax).max(0.0) as i32..=((cx + ax) as i32).min(w as i32 - 1) {
                        let (dx, dy) = ((px as f32 - cx) / ax, (py as f32 - cy) / ay);
                        // A rounded sack, wider at the bottom.
                        let squash = if dy > 0.0 { 0.3 } else { 1.0 };
                        if dx.powi(4) + (dy * 0.9).powi(4) * squash <= 1.0 {
                            // Lit from the top left, with a few folds.
                            let lit = 25.0 * (-dx - dy).max(0.0);
                            let fold = 18.0 * (px as f32 * 0.9 + py as f32 * 0.4).sin();
                            let v = if light { 180.0 } else { 35.0 } + lit + fold;
                            let v = v.min(255.0) as u8;
                            put(rgb, w, px as u32, py as u32, [v, v, v.saturating_add(6)]);
                        }
                    }
                }
            }
        }
    }
}

/// A point inside `polygon` (normalised) in pixels of a `w`×`h` frame,
/// nearest its vertex centroid, `up` of the way from the bottom of its
/// bounding box towards the top (0: the bottom). `None` for no pixel inside.
pub fn inside_point(polygon: &[[f32; 2]], w: u32, h: u32, up: f32) -> Option<(f32, f32)> {
    let pts: Vec<(f32, f32)> = polygon
        .iter()
        .map(|p| (p[0] * w as f32, p[1] * h as f32))
        .collect();
    if pts.len() < 3 {
        return None;
    }
    let (min_y, max_y) = pts
        .iter()
        .fold((f32::MAX, f32::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let cx = pts.iter().map(|p| p.0).sum::<f32>() / pts.len() as f32;
    let cy = max_y - (max_y - min_y) * up;
    // Search outwards from the wanted point for the nearest pixel inside.
    let step = 2.0;
    for ring in 0..(w.max(h) as i32 / 2) {
        let r = ring as f32 * step;
        for (dx, dy) in [
            (0.0, 0.0),
            (r, 0.0),
            (-r, 0.0),
            (0.0, -r),
            (0.0, r),
            (r, -r),
            (-r, -r),
            (r, r),
            (-r, r),
        ] {
            let (x, y) = (cx + dx, cy + dy);
            if x >= 0.0 && y >= 0.0 && x < w as f32 && y < h as f32 && point_in_polygon(x, y, &pts)
            {
                return Some((x, y));
            }
        }
    }
    None
}

fn put(rgb: &mut [u8], w: u32, x: u32, y: u32, c: [u8; 3]) {
    let i = ((y * w + x) * 3) as usize;
    if let Some(p) = rgb.get_mut(i..i + 3) {
        p.copy_from_slice(&c);
    }
}

fn disc(rgb: &mut [u8], w: u32, h: u32, cx: f32, cy: f32, r: f32, c: [u8; 3]) {
    let (x0, x1) = (
        (cx - r).floor().max(0.0) as i32,
        ((cx + r).ceil() as i32).min(w as i32 - 1),
    );
    let (y0, y1) = (
        (cy - r).floor().max(0.0) as i32,
        ((cy + r).ceil() as i32).min(h as i32 - 1),
    );
    for y in y0..=y1 {
        for x in x0..=x1 {
            let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
            if dx * dx + dy * dy <= r * r {
                put(rgb, w, x as u32, y as u32, c);
            }
        }
    }
}

/// Mean luma of the square of half-side `r` around (x, y).
fn local_luma(rgb: &[u8], w: u32, h: u32, x: f32, y: f32, r: f32) -> f32 {
    let (x0, x1) = (
        (x - r).max(0.0) as u32,
        ((x + r) as u32).min(w.saturating_sub(1)),
    );
    let (y0, y1) = (
        (y - r).max(0.0) as u32,
        ((y + r) as u32).min(h.saturating_sub(1)),
    );
    let (mut sum, mut n) = (0u64, 0u64);
    for yy in y0..=y1 {
        for xx in x0..=x1 {
            let i = ((yy * w + xx) * 3) as usize;
            if let Some(p) = rgb.get(i..i + 3) {
                sum += (77 * p[0] as u64 + 150 * p[1] as u64 + 29 * p[2] as u64) >> 8;
                n += 1;
            }
        }
    }
    if n == 0 {
        0.0
    } else {
        sum as f32 / n as f32
    }
}

/// A small, seedable generator for the flame's flicker (the same frame
/// number always draws the same flame, so a self-test is repeatable).
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> XorShift {
        XorShift(seed.max(1))
    }

    /// Uniform in 0..1.
    fn unit(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_inside_is_found_even_for_a_concave_zone() {
        // An L shape whose vertex centroid lies outside it.
        let l = [
            [0.0, 0.0],
            [0.2, 0.0],
            [0.2, 0.8],
            [1.0, 0.8],
            [1.0, 1.0],
            [0.0, 1.0],
        ];
        let (x, y) = inside_point(&l, 100, 100, 0.5).unwrap();
        let pts: Vec<(f32, f32)> = l.iter().map(|p| (p[0] * 100.0, p[1] * 100.0)).collect();
        assert!(point_in_polygon(x, y, &pts), "({x}, {y})");
    }

    #[test]
    fn the_throw_falls_with_the_given_acceleration_and_contrasts_with_the_wall() {
        let (w, h) = (100u32, 100u32);
        let o = Overlay::Throw {
            x0: 50.0,
            y0: 10.0,
            vx: 0.0,
            g: 50.0,
            y_end: 90.0,
            size: 6.0,
        };
        let white = vec![250u8; (w * h * 3) as usize];
        let mut img = white.clone();
        o.draw(1.0, 0, &mut img, w, h);
        // At t = 1 s the centre is 25 px lower, drawn dark on white.
        let at = |x: u32, y: u32, img: &[u8]| img[((y * w + x) * 3) as usize];
        assert!(at(50, 35, &img) < 50 && at(50, 10, &img) == 250);
        let mut black = vec![5u8; (w * h * 3) as usize];
        o.draw(1.0, 0, &mut black, w, h);
        assert!(at(50, 35, &black) > 200);
        assert!((o.duration_s(0.0) - ((2.0f32 * 80.0 / 50.0).sqrt() + 0.5)).abs() < 1e-4);
    }

    #[test]
    fn the_flame_is_flame_coloured_and_flickers() {
        let (w, h) = (120u32, 120u32);
        let o = Overlay::Flame {
            x: 60.0,
            base_y: 100.0,
            width: 20.0,
        };
        let mut a = vec![30u8; (w * h * 3) as usize];
        let mut b = a.clone();
        o.draw(1.0, 1, &mut a, w, h);
        o.draw(1.1, 2, &mut b, w, h);
        let flame: Vec<usize> = (0..(w * h) as usize)
            .filter(|i| a[i * 3] == 255 && a[i * 3 + 1] > a[i * 3 + 2])
            .collect();
        assert!(flame.len() > 150, "{}", flame.len());
        let changed = (0..(w * h) as usize)
            .filter(|i| a[i * 3 + 1] != b[i * 3 + 1])
            .count();
        assert!(changed > flame.len() / 4, "{changed}");
    }
}
