//! The throwing analyzer on synthetic facade footage drawn here: falls are
//! found once each with the right floor and column; birds, rising things,
//! lifts, laundry, lights, rain and lighting changes raise nothing.

use crate::throwing_scene::*;
use estatewatch::alert::{Alert, AlertKind, AlertState};
use estatewatch::analysis::build_analyzers;
use estatewatch::analysis::worker::{analyse, AlertBuilder, AlertOrigin};
use estatewatch::config::Config;

/// Runs `secs` seconds at `fps` through the camera's analyzers; `scene(t)`
/// gives the sprites and camera effects at stream time t.
fn run(
    fps: u32,
    secs: f64,
    extra_cfg: &str,
    scene: impl Fn(f64) -> (Vec<Sprite>, Effects),
) -> Vec<Alert> {
    let cfg = Config::parse(&config_toml(fps, extra_cfg)).expect("config parses");
    let problems = cfg.validate();
    assert!(problems.is_empty(), "{problems:?}");
    let mut analyzers = build_analyzers(&cfg.cameras[0]).expect("analyzers build");
    let mut builder = AlertBuilder::new(AlertOrigin {
        site: "estate".into(),
        gateway: "gw".into(),
        camera: "tower".into(),
    });
    let base = facade();
    let mut alerts = Vec::new();
    let n = (secs * fps as f64).round() as u64;
    for k in 0..n {
        let t = 5.0 + k as f64 / fps as f64; // streams rarely start at 0
        let (sprites, fx) = scene(t);
        let f = frame(k, t, render(&base, &sprites, fx, k as u32));
        alerts.extend(analyse(&f, &mut analyzers, &mut builder));
    }
    alerts
}

fn noisy() -> Effects {
    Effects {
        noise: 3,
        ..Effects::default()
    }
}

/// Position of an object released at `t0` from (x0, y0) with initial
/// velocity (vx, vy) px/s, under gravity.
fn fall(t: f64, t0: f64, x0: f32, y0: f32, vx: f32, vy: f32) -> Option<(f32, f32)> {
    if t < t0 {
        return None;
    }
    let d = (t - t0) as f32;
    let y = y0 + vy * d + 0.5 * G_PX * d * d;
    (y < H as f32 + 10.0).then_some((x0 + vx * d, y))
}

/// (floor, column index, column label, unit label).
fn origin(a: &Alert) -> (i64, i64, String, String) {
    let o = &a.details["origin"];
    (
        o["floor"].as_i64().unwrap_or(-99),
        o["column"].as_i64().unwrap_or(-99),
        o["column_label"].as_str().unwrap_or("").to_string(),
        o["unit_label"].as_str().unwrap_or("").to_string(),
    )
}

#[test]
fn a_dropped_6px_object_raises_one_alert_with_its_floor_and_column() {
    let release = 7.0;
    let (x0, y0) = (col_mid(3), floor_mid(7));
    let alerts = run(10, 6.0, "", |t| {
        let sprites = fall(t, release, x0, y0, 0.0, 0.0)
            .map(|(x, y)| {
                vec![Sprite::Disc {
                    x,
                    y,
                    d: 6.0,
                    v: 235,
                }]
            })
            .unwrap_or_default();
        (sprites, noisy())
    });
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let a = &alerts[0];
    assert_eq!((a.kind, a.state), (AlertKind::Throwing, AlertState::New));
    assert_eq!(origin(a), (7, 2, "03".into(), "703".into()));
    let d = &a.details;
    let accel = d["acceleration_px_s2"].as_f64().unwrap();
    assert!((accel - G_PX as f64).abs() < 0.35 * G_PX as f64, "{accel}");
    assert!(d["trajectory"].as_array().unwrap().len() >= 5);
    assert!(d["fall_duration_s"].as_f64().unwrap() > 0.3);
    let c = d["confidence"].as_f64().unwrap();
    assert!(c > 0.5 && c <= 1.0, "{c}");
    let delay_ms = a.media_time_ms.unwrap() as f64 - release * 1000.0;
    assert!(delay_ms <= 1500.0, "alert {delay_ms} ms after release");
    // The snapshot is the frame where it started, with the path drawn.
    let snap = a.snapshot.as_ref().expect("snapshot");
    let img = image::load_from_memory(&snap.data).unwrap().to_rgb8();
    let orange = img
        .pixels()
        .filter(|p| p[0] > 200 && p[1] > 90 && p[1] < 190 && p[2] < 80)
        .count();
    let yellow = img
        .pixels()
        .filter(|p| p[0] > 200 && p[1] > 190 && p[2] < 90)
        .count();
    assert!(orange > 10, "fitted path drawn ({orange} px)");
    assert!(yellow > 40, "origin window boxed ({yellow} px)");
}

#[test]
fn a_4px_dark_object_thrown_sideways_with_shake_is_traced_to_its_floor() {
    let release = 6.5;
    let (x0, y0) = (col_mid(1) + 10.0, floor_mid(9));
    let alerts = run(10, 6.0, "", |t| {
        // The mast sways: a pixel either way, changing every few frames.
        let k = (t * 10.0).round() as usize;
        let sway = [0, 1, 1, 1, 0, -1, -1, 0, 0, 1, 0, -1, -1, -1, 0];
        let fx = Effects {
            noise: 3,
            shake: (sway[(k / 2) % sway.len()], sway[(k / 3 + 4) % sway.len()]),
            gain: 0,
        };
        let sprites = fall(t, release, x0, y0, 25.0, -8.0)
            .map(|(x, y)| {
                vec![Sprite::Disc {
                    x,
                    y,
                    d: 4.0,
                    v: 10,
                }]
            })
            .unwrap_or_default();
        (sprites, fx)
    });
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(origin(&alerts[0]).0, 9);
    assert_eq!(origin(&alerts[0]).1, 0);
}

#[test]
fn a_fall_with_a_gap_in_detection_is_still_one_alert() {
    let release = 6.0;
    let (x0, y0) = (col_mid(5), floor_mid(8));
    let alerts = run(10, 5.0, "", |t| {
        let k = ((t - release) * 10.0).round() as i32;
        let hidden = (4..=5).contains(&k) || (10..=11).contains(&k);
        let sprites = match fall(t, release, x0, y0, 0.0, 0.0) {
            Some((x, y)) if !hidden => vec![Sprite::Disc {
                x,
                y,
                d: 6.0,
                v: 230,
            }],
            _ => vec![],
        };
        (sprites, noisy())
    });
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(origin(&alerts[0]).0, 8);
}

#[test]
fn two_objects_at_once_give_two_alerts_with_their_own_floors() {
    let alerts = run(10, 6.0, "", |t| {
        let mut s = vec![];
        if let Some((x, y)) = fall(t, 6.0, col_mid(2), floor_mid(6), 0.0, 0.0) {
            s.push(Sprite::Disc {
                x,
                y,
                d: 8.0,
                v: 240,
            });
        }
        if let Some((x, y)) = fall(t, 6.3, col_mid(5), floor_mid(10), -5.0, 0.0) {
            s.push(Sprite::Disc {
                x,
                y,
                d: 6.0,
                v: 20,
            });
        }
        (s, noisy())
    });
    let mut floors: Vec<i64> = alerts.iter().map(|a| origin(a).0).collect();
    floors.sort();
    assert_eq!(floors, vec![6, 10], "{alerts:#?}");
}

#[test]
fn a_bird_crossing_level_and_flapping_is_not_a_fall() {
    let alerts = run(10, 6.0, "", |t| {
        let d = (t - 6.0) as f32;
        let s = if d >= 0.0 {
            let x = 60.0 + 90.0 * d;
            let y = 120.0 + 3.0 * (d * 12.0).sin();
            vec![Sprite::Disc {
                x,
                y,
                d: 7.0,
                v: 30,
            }]
        } else {
            vec![]
        };
        (s, noisy())
    });
    assert!(alerts.is_empty(), "{alerts:#?}");
}

#[test]
fn a_rising_object_and_a_constant_speed_descent_are_not_falls() {
    let alerts = run(10, 7.0, "", |t| {
        let d = (t - 6.0) as f32;
        let mut s = vec![];
        if d >= 0.0 {
            // Rising like a balloon or a bird climbing.
            s.push(Sprite::Disc {
                x: col_mid(2),
                y: 300.0 - 40.0 * d,
                d: 6.0,
                v: 230,
            });
            // A lift car behind a window moving down at a steady 45 px/s.
            s.push(Sprite::Disc {
                x: col_mid(5),
                y: 60.0 + 45.0 * d,
                d: 8.0,
                v: 20,
            });
        }
        (s, noisy())
    });
    assert!(alerts.is_empty(), "{alerts:#?}");
}

#[test]
fn swaying_laundry_and_a_drifting_leaf_are_not_falls() {
    let alerts = run(10, 8.0, "", |t| {
        let d = (t - 5.5) as f32;
        let mut s = vec![];
        if d >= 0.0 {
            // Laundry on a line swinging ±8 px.
            let x = col_mid(4) + 8.0 * (d * 4.0).sin();
            let y = floor_mid(5) + 2.0 * (d * 8.0).sin().abs();
            s.push(Sprite::Disc {
                x,
                y,
                d: 10.0,
                v: 240,
            });
            // A leaf: slow descent, zig-zag.
            let x = col_mid(2) + 12.0 * (d * 5.0).sin();
            let y = floor_mid(9) + 18.0 * d;
            s.push(Sprite::Disc {
                x,
                y,
                d: 5.0,
                v: 60,
            });
        }
        (s, noisy())
    });
    assert!(alerts.is_empty(), "{alerts:#?}");
}

#[test]
fn lights_switching_on_and_lighting_changes_are_not_falls() {
    let alerts = run(10, 8.0, "", |t| {
        let mut s = vec![];
        // Windows light up one after another.
        for (i, on) in [6.0, 6.7, 7.2, 9.0].iter().enumerate() {
            if t >= *on {
                let x0 = (col_mid(i + 1) - 26.0) as usize;
                let y0 = (floor_mid(3 + 2 * i) - 8.0) as usize;
                s.push(Sprite::Rect {
                    x0,
                    y0,
                    x1: x0 + 52,
                    y1: y0 + 16,
                    v: 215,
                });
            }
        }
        // Clouds: the whole picture brightens and darkens.
        let gain = (18.0 * ((t - 5.0) * 0.8).sin()) as i32 + if t > 10.0 { 25 } else { 0 };
        (
            s,
            Effects {
                noise: 3,
                gain,
                shake: (0, 0),
            },
        )
    });
    assert!(alerts.is_empty(), "{alerts:#?}");
}

#[test]
fn rain_streaks_are_not_falls() {
    let alerts = run(10, 6.0, "", |t| {
        let k = (t * 10.0).round() as u32;
        let mut s = vec![];
        let mut r = k.wrapping_mul(2_654_435_761);
        for _ in 0..25 {
            r = r.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let x = 70.0 + ((r >> 8) % 500) as f32;
            r = r.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let y = ((r >> 8) % 340) as f32;
            s.push(Sprite::Streak {
                x,
                y,
                len: 14.0,
                v: 200,
            });
        }
        (s, noisy())
    });
    assert!(alerts.is_empty(), "{} alerts: {alerts:#?}", alerts.len());
}
