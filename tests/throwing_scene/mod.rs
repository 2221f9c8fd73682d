//! A tiny synthetic facade for the throwing tests and bench: a wall with a
//! grid of windows (10 floors of 30 px from y = 340 up to y = 40, six
//! columns of 80 px from x = 80), sensor noise, optional shake and
//! brightness change, and round "sprites" drawn on top.

#![allow(dead_code)]

use estatewatch::ingest::Frame;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub const W: usize = 640;
pub const H: usize = 360;
/// Lowest floor line (bottom of floor 1), pixels.
pub const FIRST_ROW: f32 = 340.0;
/// Picture height of one floor, pixels (3 m → 10 px/m, g ≈ 98 px/s²).
pub const FLOOR_PX: f32 = 30.0;
pub const FLOORS: usize = 10;
pub const COL_X0: f32 = 80.0;
pub const COL_W: f32 = 80.0;
pub const COLS: usize = 6;
pub const G_PX: f32 = 9.81 * FLOOR_PX / 3.0;

/// The throwing config matching the facade (TOML, under the camera).
pub fn config_toml(fps: u32, extra: &str) -> String {
    let edges: Vec<String> = (0..=COLS)
        .map(|c| format!("{:.6}", (COL_X0 + COL_W * c as f32) / W as f32))
        .collect();
    format!(
        r#"
[site]
id = "estate"
[gateway]
id = "gw"
[[cameras]]
name = "tower"
url = "rtsp://127.0.0.1:8554/tower"
[cameras.detect]
width = {W}
height = {H}
fps = {fps}
[cameras.analyzers.throwing]
facade = [[0.1, 0.0], [0.9, 0.0], [0.9, 1.0], [0.1, 1.0]]
{extra}
[cameras.analyzers.throwing.floors]
first_row = {first}
floor_height = {fh}
count = {FLOORS}
[cameras.analyzers.throwing.columns]
edges = [{edges}]
"#,
        first = FIRST_ROW / H as f32,
        fh = FLOOR_PX / H as f32,
        edges = edges.join(", "),
    )
}

/// Row of the middle of a floor's windows.
pub fn floor_mid(floor: usize) -> f32 {
    FIRST_ROW - FLOOR_PX * (floor as f32 - 0.5)
}

/// Column centre x (1-based column).
pub fn col_mid(col: usize) -> f32 {
    COL_X0 + COL_W * (col as f32 - 0.5)
}

/// The still facade, luma.
pub fn facade() -> Vec<u8> {
    let mut s = 12345u32;
    let mut out = vec![0u8; W * H];
    for y in 0..H {
        for x in 0..W {
            s = s.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let grain = ((s >> 16) % 17) as i32 - 8;
            let fy = y as f32;
            let fx = x as f32;
            let mut v: i32 = if fy < FIRST_ROW - FLOOR_PX * FLOORS as f32 {
                190 - y as i32 / 4 // sky
            } else {
                135 + grain // wall texture
            };
            let on_facade = fy >= FIRST_ROW - FLOOR_PX * FLOORS as f32 && fy < FIRST_ROW;
            if on_facade {
                let in_floor = (FIRST_ROW - fy) % FLOOR_PX;
                let in_col = (fx - COL_X0).rem_euclid(COL_W);
                if in_floor < 2.0 {
                    v = 95; // slab line
                } else if (8.0..24.0).contains(&in_floor)
                    && (14.0..66.0).contains(&in_col)
                    && fx >= COL_X0
                    && fx < COL_X0 + COL_W * COLS as f32
                {
                    v = 55 + grain / 2; // window glass
                }
            }
            out[y * W + x] = v.clamp(0, 255) as u8;
        }
    }
    out
}

/// Something drawn on a frame.
#[derive(Debug, Clone, Copy)]
pub enum Sprite {
    /// A disc of diameter `d` px and luma `v` centred at (x, y).
    Disc { x: f32, y: f32, d: f32, v: u8 },
    /// A filled rectangle.
    Rect {
        x0: usize,
        y0: usize,
        x1: usize,
        y1: usize,
        v: u8,
    },
    /// A thin streak from (x, y) down by `len` px.
    Streak { x: f32, y: f32, len: f32, v: u8 },
}

/// Per-frame camera effects.
#[derive(Debug, Clone, Copy, Default)]
pub struct Effects {
    pub shake: (i32, i32),
    pub gain: i32,
    pub noise: i32,
}

/// Renders one RGB frame.
pub fn render(base: &[u8], sprites: &[Sprite], fx: Effects, seed: u32) -> Vec<u8> {
    let mut l = vec![0u8; W * H];
    for y in 0..H {
        for x in 0..W {
            let sx = (x as i32 - fx.shake.0).clamp(0, W as i32 - 1) as usize;
            let sy = (y as i32 - fx.shake.1).clamp(0, H as i32 - 1) as usize;
            l[y * W + x] = base[sy * W + sx];
        }
    }
    for s in sprites {
        match *s {
            Sprite::Disc { x, y, d, v } => {
                let r = d / 2.0;
                let (x0, x1) = ((x - r).floor() as i32, (x + r).ceil() as i32);
                let (y0, y1) = ((y - r).floor() as i32, (y + r).ceil() as i32);
                for py in y0..=y1 {
                    for px in x0..=x1 {
                        let (cx, cy) = (px as f32 + 0.5, py as f32 + 0.5);
                        if (cx - x).powi(2) + (cy - y).powi(2) <= r * r
                            && px >= 0
                            && py >= 0
                            && (px as usize) < W
                            && (py as usize) < H
                        {
                            l[py as usize * W + px as usize] = v;
                        }
                    }
                }
            }
            Sprite::Rect { x0, y0, x1, y1, v } => {
                for py in y0..y1.min(H) {
                    for px in x0..x1.min(W) {
                        l[py * W + px] = v;
                    }
                }
            }
            Sprite::Streak { x, y, len, v } => {
                let px = x as i32;
                for k in 0..len as i32 {
                    let py = y as i32 + k;
                    if px >= 0 && py >= 0 && (px as usize) < W && (py as usize) < H {
                        l[py as usize * W + px as usize] = v;
                    }
                }
            }
        }
    }
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    let mut rgb = vec![0u8; W * H * 3];
    for (i, v) in l.iter().enumerate() {
        s = s.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let n = if fx.noise > 0 {
            ((s >> 16) % (2 * fx.noise as u32 + 1)) as i32 - fx.noise
        } else {
            0
        };
        let v = (*v as i32 + fx.gain + n).clamp(0, 255);
        rgb[i * 3] = v as u8;
        rgb[i * 3 + 1] = v as u8;
        rgb[i * 3 + 2] = (v + 6).min(255) as u8;
    }
    rgb
}

/// A frame at stream time `t` seconds.
pub fn frame(seq: u64, t: f64, rgb: Vec<u8>) -> Frame {
    Frame {
        camera: Arc::from("tower"),
        seq,
        pts: Some(Duration::from_secs_f64(t)),
        captured_at: SystemTime::now(),
        width: W as u32,
        height: H as u32,
        rgb: Arc::new(rgb),
    }
}
