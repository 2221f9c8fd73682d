//! The garbage analyzer on synthetic footage drawn here: a textured ground,
//! noise, "people" as moving rectangles with a head, bags as small dark blobs.
//! Dwell is 5 s at 5 fps so each scene is short.

use estatewatch::alert::AlertState;
use estatewatch::analysis::detector::worker::InferencePool;
use estatewatch::analysis::garbage::config::GarbageConfig;
use estatewatch::analysis::garbage::{
    CueError, CueLabel, CueObject, Cues, GarbageAnalyzer, PixelBox,
};
use estatewatch::analysis::{Analyzer, Finding};
use estatewatch::ingest::Frame;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

const W: usize = 320;
const H: usize = 180;
const FPS: f64 = 5.0;

/// A filled rectangle of one colour.
#[derive(Clone, Copy)]
struct Rect {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    rgb: [u8; 3],
}

fn rect(x: f64, y: f64, w: f64, h: f64, rgb: [u8; 3]) -> Rect {
    Rect { x, y, w, h, rgb }
}

/// A person standing with feet at (x, y_feet): body plus head.
fn person(x: f64, y_feet: f64) -> Vec<Rect> {
    vec![
        rect(x, y_feet - 40.0, 14.0, 40.0, [40, 60, 150]),
        rect(x + 3.0, y_feet - 50.0, 8.0, 9.0, [220, 180, 150]),
    ]
}

fn bag(x: f64, y: f64) -> Rect {
    rect(x, y, 16.0, 13.0, [25, 25, 30])
}

/// Deterministic noise source (xorshift).
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Roughly normal, sd about `sd`.
    fn gauss(&mut self, sd: f64) -> f64 {
        let s: f64 = (0..4).map(|_| (self.next() % 1000) as f64 / 1000.0).sum();
        (s - 2.0) * sd * 1.73
    }
}

/// Renders frames: a fixed ground texture, a wall band at the top, the given
/// objects, per-pixel noise, and a brightness gain.
struct Painter {
    ground: Vec<u8>,
    noise: Noise,
}

impl Painter {
    fn new() -> Painter {
        let mut n = Noise(0x9E37_79B9_7F4A_7C15);
        let mut ground = vec![0u8; W * H * 3];
        for y in 0..H {
            for x in 0..W {
                let base: f64 = if y < 60 { 150.0 } else { 118.0 };
                let tile = if (x / 24 + y / 24) % 2 == 0 {
                    6.0
                } else {
                    -6.0
                };
                let v = (base + tile + n.gauss(4.0)).clamp(0.0, 255.0) as u8;
                let i = (y * W + x) * 3;
                ground[i..i + 3].copy_from_slice(&[v, v.saturating_sub(4), v.saturating_sub(10)]);
            }
        }
        Painter {
            ground,
            noise: Noise(7),
        }
    }

    fn paint(&mut self, objects: &[Rect], gain: f64) -> Vec<u8> {
        let mut img = self.ground.clone();
        for r in objects {
            let (x0, y0) = (r.x.round().max(0.0) as usize, r.y.round().max(0.0) as usize);
            let x1 = ((r.x + r.w).round().max(0.0) as usize).min(W);
            let y1 = ((r.y + r.h).round().max(0.0) as usize).min(H);
            for y in y0..y1 {
                for x in x0..x1 {
                    let i = (y * W + x) * 3;
                    img[i..i + 3].copy_from_slice(&r.rgb);
                }
            }
        }
        for p in img.iter_mut() {
            let v = *p as f64 * gain + self.noise.gauss(3.0);
            *p = v.clamp(0.0, 255.0) as u8;
        }
        img
    }
}

fn frame(i: u64, rgb: Vec<u8>) -> Frame {
    Frame {
        camera: Arc::from("bins"),
        seq: i,
        pts: Some(Duration::from_secs_f64(i as f64 / FPS)),
        captured_at: SystemTime::now(),
        width: W as u32,
        height: H as u32,
        rgb: Arc::new(rgb),
    }
}

fn config() -> GarbageConfig {
    GarbageConfig {
        dwell_s: 5.0,
        ..GarbageConfig::default()
    }
}

/// Runs a scene of `seconds`, where `scene(t)` gives the objects and gain at
/// time t. Returns the findings with the stream time they came at.
fn run(
    analyzer: &mut GarbageAnalyzer,
    seconds: f64,
    mut scene: impl FnMut(f64) -> (Vec<Rect>, f64),
) -> Vec<(f64, Finding)> {
    let mut painter = Painter::new();
    let mut out = Vec::new();
    let n = (seconds * FPS) as u64;
    for i in 0..n {
        let t = i as f64 / FPS;
        let (objects, gain) = scene(t);
        let f = frame(i, painter.paint(&objects, gain));
        for finding in analyzer.process(&f) {
            out.push((t, finding));
        }
    }
    out
}

fn news(findings: &[(f64, Finding)]) -> Vec<&(f64, Finding)> {
    findings
        .iter()
        .filter(|(_, f)| f.state == AlertState::New)
        .collect()
}

/// Someone walks in from the left carrying a bag, sets it down at x=162 at
/// t=5, stands over it for a second, walks off to the right; the bag is
/// taken away at `removed_at`.
fn drop_scene(removed_at: f64) -> impl FnMut(f64) -> (Vec<Rect>, f64) {
    drop_scene_at(162.0, 20.0, removed_at)
}

/// [`drop_scene`] with the bag at `bag_x` and a bin (50×62, dark green) at `bin_x`.
fn drop_scene_at(bag_x: f64, bin_x: f64, removed_at: f64) -> impl FnMut(f64) -> (Vec<Rect>, f64) {
    move |t| {
        let feet = 140.0;
        let stop = bag_x - 12.0;
        let mut objs = vec![rect(bin_x, 70.0, 50.0, 62.0, [70, 90, 70])];
        if t < 5.0 {
            let x = -20.0 + (stop + 20.0) / 5.0 * t;
            objs.extend(person(x, feet));
            objs.push(bag(x + 12.0, feet - 22.0)); // carried at the side
        } else if t < 6.0 {
            objs.extend(person(stop, feet));
        } else if t < 12.0 {
            objs.extend(person(stop + 40.0 * (t - 6.0), feet));
        }
        if (5.0..removed_at).contains(&t) {
            objs.push(bag(bag_x, feet - 13.0));
        }
        (objs, 1.0)
    }
}

#[test]
fn a_left_bag_alerts_once_after_dwell_and_ends_when_removed() {
    let mut a = GarbageAnalyzer::new(&config(), W as u32, H as u32);
    let found = run(&mut a, 40.0, drop_scene(26.0));
    let new = news(&found);
    assert_eq!(new.len(), 1, "exactly one alert: {:?}", summary(&found));
    let (t_new, f) = new[0];
    // Put down at t=5..6 (the person stands over it until 6).
    assert!(
        (9.6..=16.0).contains(t_new),
        "alert at {t_new}, expected within dwell + 5 s of the drop"
    );
    let b = f.bbox.expect("box");
    let (bx, by) = ((b.x + b.w / 2.0) * W as f32, (b.y + b.h / 2.0) * H as f32);
    assert!(
        (bx - 170.0).abs() < 8.0 && (by - 133.5).abs() < 8.0,
        "box centred on the bag: {b:?}"
    );
    assert!(
        b.w * (W as f32) < 30.0,
        "box is the bag, not the person: {b:?}"
    );
    assert_eq!(f.zone.as_deref(), Some("frame"));
    let person = &f.details["person_box"];
    assert!(person.is_object(), "person linked: {}", f.details);
    let px = person["x"].as_f64().unwrap() * W as f64;
    assert!(
        (100.0..200.0).contains(&px),
        "person near the bag: {person}"
    );
    // The drop time is when the person moved off the bag (they stand over it
    // until t=6), not when it first lay still (t=5); the "left" panel is
    // taken after that.
    let left_at = f.details["left_at_ms"].as_i64().unwrap();
    assert!((6000..=8000).contains(&left_at), "left_at_ms {left_at}");
    let appeared = f.details["appeared_at_ms"].as_i64().unwrap();
    assert!(
        (4500..6000).contains(&appeared),
        "appeared_at_ms {appeared}"
    );
    let panel = f.details["left_panel_ms"].as_i64().unwrap();
    assert!(
        panel >= left_at,
        "left panel at {panel} ms, before {left_at}"
    );
    let pic = f.picture.as_ref().expect("composite picture");
    assert_eq!(pic.width(), 2 * W as u32 + 4, "two panels side by side");
    assert_eq!(pic.height(), H as u32);

    let ends: Vec<_> = found
        .iter()
        .filter(|(_, f)| f.state == AlertState::End)
        .collect();
    assert_eq!(ends.len(), 1, "{:?}", summary(&found));
    assert_eq!(ends[0].1.incident, f.incident);
    assert!(
        (26.0..=30.0).contains(&ends[0].0),
        "ended at {} after removal at 26",
        ends[0].0
    );
}

#[test]
fn a_bag_set_down_against_a_bin_alerts() {
    // Touching the bin's side: part of its border was the bin's edge before.
    let mut a = GarbageAnalyzer::new(&config(), W as u32, H as u32);
    let found = run(&mut a, 20.0, drop_scene_at(150.0, 100.0, f64::INFINITY));
    let new = news(&found);
    assert_eq!(new.len(), 1, "{:?}", summary(&found));
    assert!((9.6..=16.0).contains(&new[0].0), "{:?}", summary(&found));
}

#[test]
fn a_bag_that_stays_alerts_only_once() {
    let mut a = GarbageAnalyzer::new(&config(), W as u32, H as u32);
    // Others walk past in front of it now and then.
    let mut scene = drop_scene(f64::INFINITY);
    let found = run(&mut a, 60.0, move |t| {
        let (mut objs, g) = scene(t);
        for start in [20.0, 35.0, 48.0] {
            if (start..start + 9.0).contains(&t) {
                objs.extend(person(330.0 - 40.0 * (t - start), 150.0));
            }
        }
        (objs, g)
    });
    assert_eq!(news(&found).len(), 1, "{:?}", summary(&found));
    assert!(found.iter().all(|(_, f)| f.state != AlertState::End));
}

#[test]
fn a_passer_by_covering_the_bag_during_the_dwell_does_not_restart_it() {
    let cfg = GarbageConfig {
        dwell_s: 10.0,
        ..GarbageConfig::default()
    };
    let mut a = GarbageAnalyzer::new(&cfg, W as u32, H as u32);
    let mut scene = drop_scene(f64::INFINITY);
    let found = run(&mut a, 40.0, move |t| {
        let (mut objs, g) = scene(t);
        // Walks right to left in front of the bag (x=162) at about t=11.
        if (7.0..16.0).contains(&t) {
            objs.extend(person(330.0 - 40.0 * (t - 7.0), 145.0));
        }
        (objs, g)
    });
    let new = news(&found);
    assert_eq!(new.len(), 1, "{:?}", summary(&found));
    let (t_new, f) = new[0];
    let left_at = f.details["left_at_ms"].as_i64().unwrap();
    assert!(
        (4500..=7500).contains(&left_at),
        "left_at_ms {left_at}: the dwell restarted after the passer-by"
    );
    assert!(
        *t_new <= 5.0 + 10.0 + 5.0,
        "alert at {t_new}, expected within dwell + 5 s of the drop"
    );
}

#[test]
fn a_person_standing_still_with_small_movements_does_not_alert() {
    let mut a = GarbageAnalyzer::new(&config(), W as u32, H as u32);
    let found = run(&mut a, 40.0, |t| {
        let mut objs = Vec::new();
        if t < 4.0 {
            objs.extend(person(-20.0 + 42.5 * t, 140.0));
        } else if t < 30.0 {
            // Sways a pixel now and then, breathes.
            let sway = ((t * 1.3).sin() * 1.2).round();
            objs.extend(person(150.0 + sway, 140.0));
        } else {
            objs.extend(person(150.0 + 40.0 * (t - 30.0), 140.0));
        }
        (objs, 1.0)
    });
    assert!(news(&found).is_empty(), "{:?}", summary(&found));
}

#[test]
fn a_person_standing_perfectly_still_does_not_alert() {
    let mut a = GarbageAnalyzer::new(&config(), W as u32, H as u32);
    let found = run(&mut a, 30.0, |t| {
        let x = if t < 4.0 {
            -20.0 + 42.5 * t
        } else if t < 22.0 {
            150.0
        } else {
            150.0 + 40.0 * (t - 22.0)
        };
        (person(x, 140.0), 1.0)
    });
    assert!(news(&found).is_empty(), "{:?}", summary(&found));
    assert_eq!(a.tracked(), 0, "nothing is left behind once they go");
}

#[test]
fn a_bag_carried_through_does_not_alert() {
    let mut a = GarbageAnalyzer::new(&config(), W as u32, H as u32);
    let found = run(&mut a, 25.0, |t| {
        let x = -20.0 + 18.0 * t; // slow walk across
        let mut objs = person(x, 140.0);
        objs.push(bag(x + 12.0, 118.0));
        (objs, 1.0)
    });
    assert!(news(&found).is_empty(), "{:?}", summary(&found));
}

#[test]
fn lighting_changes_do_not_alert() {
    let mut a = GarbageAnalyzer::new(&config(), W as u32, H as u32);
    let found = run(&mut a, 40.0, |t| {
        let objs = vec![rect(20.0, 70.0, 50.0, 62.0, [70, 90, 70])];
        // A sudden switch at 5 s, then a slow dusk fade.
        let gain = if t < 5.0 {
            1.0
        } else if t < 20.0 {
            1.35
        } else {
            1.35 - 0.03 * (t - 20.0)
        };
        (objs, gain)
    });
    assert!(news(&found).is_empty(), "{:?}", summary(&found));
}

fn bin_move_scene(dx: f64, dy: f64) -> impl FnMut(f64) -> (Vec<Rect>, f64) {
    bin_move_scene_sized(dx, dy, 60.0, 62.0)
}

/// A bin of `bw`×`bh` pushed by (dx, dy) between t=6 and t=8.
fn bin_move_scene_sized(dx: f64, dy: f64, bw: f64, bh: f64) -> impl FnMut(f64) -> (Vec<Rect>, f64) {
    move |t| {
        let (bx, by) = (120.0, 132.0 - bh);
        let mut objs = Vec::new();
        if t < 6.0 {
            objs.push(rect(bx, by, bw, bh, [60, 60, 64]));
            if t > 2.0 {
                objs.extend(person(-20.0 + 60.0 * (t - 2.0), 140.0));
            }
        } else if t < 8.0 {
            // Pushed over two seconds.
            let k = (t - 6.0) / 2.0;
            objs.push(rect(bx + dx * k, by + dy * k, bw, bh, [60, 60, 64]));
            objs.extend(person(bx + bw + dx * k, 140.0 + dy * k));
        } else {
            objs.push(rect(bx + dx, by + dy, bw, bh, [60, 60, 64]));
            if t < 14.0 {
                objs.extend(person(bx + bw + dx + 40.0 * (t - 8.0), 140.0 + dy));
            }
        }
        (objs, 1.0)
    }
}

#[test]
fn a_bin_shifted_by_40_px_does_not_alert() {
    let mut a = GarbageAnalyzer::new(&config(), W as u32, H as u32);
    let found = run(&mut a, 30.0, bin_move_scene(40.0, 0.0));
    assert!(news(&found).is_empty(), "{:?}", summary(&found));
}

#[test]
fn a_bin_nudged_a_little_does_not_alert() {
    // Small shifts leave bag-sized strips: the vacated one is a ghost, the
    // other one is recognised as the other half of a moved object.
    let mut a = GarbageAnalyzer::new(&config(), W as u32, H as u32);
    let found = run(&mut a, 30.0, bin_move_scene(0.0, 12.0));
    assert!(news(&found).is_empty(), "{:?}", summary(&found));
    assert_eq!(a.tracked(), 0, "both halves absorbed into the background");
}

#[test]
fn a_small_bin_moved_far_does_not_alert() {
    // Bag-sized once moved (under max_area), far from where it stood: the
    // vacated place is a ghost of the same colour, so the pair is a move.
    let mut a = GarbageAnalyzer::new(&config(), W as u32, H as u32);
    let found = run(&mut a, 30.0, bin_move_scene_sized(70.0, 8.0, 24.0, 30.0));
    assert!(news(&found).is_empty(), "{:?}", summary(&found));
}

#[test]
fn a_standing_person_whose_legs_blend_in_does_not_alert() {
    // Trousers the colour of the ground: torso and shoes look like two
    // separate still shapes; the shoes alone are bag-sized.
    let body = |x: f64| {
        vec![
            rect(x, 90.0, 14.0, 24.0, [30, 30, 35]),
            rect(x + 3.0, 81.0, 8.0, 9.0, [220, 180, 150]),
            rect(x - 1.0, 135.0, 16.0, 5.0, [15, 15, 15]),
        ]
    };
    let mut a = GarbageAnalyzer::new(&config(), W as u32, H as u32);
    let found = run(&mut a, 30.0, |t| {
        let x = if t < 4.0 {
            -20.0 + 42.5 * t
        } else if t < 22.0 {
            150.0
        } else {
            150.0 + 40.0 * (t - 22.0)
        };
        (body(x), 1.0)
    });
    assert!(news(&found).is_empty(), "{:?}", summary(&found));
}

/// A worker that answers every question at once, on the next frame.
fn inline_pool() -> InferencePool {
    let pool = InferencePool::new(1, 8);
    pool.set_inline(true);
    pool
}

/// Cues that report a person wherever the test says.
struct FakeCues {
    person: Option<PixelBox>,
    calls: Arc<std::sync::atomic::AtomicUsize>,
}

impl Cues for FakeCues {
    fn objects(&self, _frame: &Frame) -> Result<Vec<CueObject>, CueError> {
        self.calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(self
            .person
            .iter()
            .map(|r| CueObject {
                label: CueLabel::Person,
                score: 0.9,
                rect: *r,
            })
            .collect())
    }
    fn bag_like(&self, _frame: &Frame, _region: PixelBox) -> Result<f32, CueError> {
        Ok(0.42)
    }
}

#[test]
fn a_detected_person_on_the_spot_holds_the_alert() {
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // A squat shape (someone crouching) the shape rules would let through.
    let cues = FakeCues {
        person: Some(PixelBox {
            x0: 140.0,
            y0: 100.0,
            x1: 190.0,
            y1: 145.0,
        }),
        calls: calls.clone(),
    };
    let mut a = GarbageAnalyzer::new(&config(), W as u32, H as u32).with_cues(
        Arc::new(cues),
        &inline_pool(),
        "bin-room",
    );
    let found = run(&mut a, 30.0, drop_scene(f64::INFINITY));
    assert!(news(&found).is_empty(), "{:?}", summary(&found));
    let n = calls.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        (1..20).contains(&n),
        "detector asked a few times, not per frame: {n}"
    );
}

#[test]
fn cues_fill_bag_like_and_the_person_box() {
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let cues = FakeCues {
        person: Some(PixelBox {
            x0: 10.0,
            y0: 10.0,
            x1: 30.0,
            y1: 60.0,
        }),
        calls,
    };
    let mut a = GarbageAnalyzer::new(&config(), W as u32, H as u32).with_cues(
        Arc::new(cues),
        &inline_pool(),
        "bin-room",
    );
    let found = run(&mut a, 20.0, drop_scene(f64::INFINITY));
    let new = news(&found);
    assert_eq!(new.len(), 1, "{:?}", summary(&found));
    let d = &new[0].1.details;
    assert_eq!(d["bag_like"].as_f64(), Some(0.42f32 as f64));
    assert_eq!(d["person"]["source"], "detector", "{d}");
}

fn summary(found: &[(f64, Finding)]) -> Vec<String> {
    found
        .iter()
        .map(|(t, f)| format!("{t:.1}s {:?} #{} {:?}", f.state, f.incident, f.bbox))
        .collect()
}

/// A config with the zone from a third of the way down to the bottom: its
/// far edge at y=60, its near edge at y=180 (the frame's bottom).
fn zoned_config() -> GarbageConfig {
    GarbageConfig {
        dwell_s: 5.0,
        zones: vec![estatewatch::settings::ZoneConfig {
            name: "frontage".into(),
            display_name: None,
            polygon: vec![[0.0, 1.0 / 3.0], [1.0, 1.0 / 3.0], [1.0, 1.0], [0.0, 1.0]],
        }],
        ..GarbageConfig::default()
    }
}

/// Someone walks in along the row `feet`, sets `object` down at t=5 (standing
/// over it until 6) and walks off to the right.
fn drop_object_scene(object: Rect, feet: f64) -> impl FnMut(f64) -> (Vec<Rect>, f64) {
    move |t| {
        let stop = object.x - 16.0;
        let mut objs = Vec::new();
        if t >= 5.0 {
            objs.push(object);
        }
        if t < 5.0 {
            objs.extend(person(-20.0 + (stop + 20.0) / 5.0 * t, feet));
        } else if t < 6.0 {
            objs.extend(person(stop, feet));
        } else if t < 14.0 {
            objs.extend(person(stop + 40.0 * (t - 6.0), feet));
        }
        (objs, 1.0)
    }
}

#[test]
fn a_large_bag_by_the_camera_alerts_where_the_same_box_far_off_is_too_large() {
    // 40×36 px: 2.5 % of the frame, over the old flat limit of 2 %.
    let near = rect(140.0, 140.0, 40.0, 36.0, [25, 25, 30]);
    let mut a = GarbageAnalyzer::new(&zoned_config(), W as u32, H as u32);
    let found = run(&mut a, 20.0, drop_object_scene(near, 178.0));
    let new = news(&found);
    assert_eq!(new.len(), 1, "the near bag alerts: {:?}", summary(&found));
    let b = new[0].1.bbox.expect("box");
    assert!(
        b.w * b.h > 0.02,
        "box is the whole bag, over 2 % of the frame: {b:?}"
    );

    // The same box whose bottom is at the zone's far edge is larger than
    // anything left there can be: rejected, with its reason explained.
    let far = rect(140.0, 40.0, 40.0, 36.0, [25, 25, 30]);
    let mut a = GarbageAnalyzer::new(&zoned_config(), W as u32, H as u32);
    a.set_explain(true);
    let mut explained = Vec::new();
    let mut painter = Painter::new();
    let mut scene = drop_object_scene(far, 76.0);
    let mut alerts = 0;
    for i in 0..(20.0 * FPS) as u64 {
        let (objs, g) = scene(i as f64 / FPS);
        let findings = a.process(&frame(i, painter.paint(&objs, g)));
        alerts += findings
            .iter()
            .filter(|f| f.state == AlertState::New)
            .count();
        explained.extend(a.explain().into_iter().map(|e| e.to_string()));
    }
    assert_eq!(alerts, 0, "{explained:?}");
    let line = explained
        .iter()
        .find(|l| l.contains("rejected (too large for a bag at its row)"))
        .unwrap_or_else(|| panic!("no size rejection explained: {explained:?}"));
    assert!(
        line.starts_with("garbage candidate ") && line.contains("area_px") && line.contains("FAIL"),
        "{line}"
    );
}

#[test]
fn a_person_sized_still_blob_by_the_camera_is_rejected() {
    // 60×52 px (5.4 % of the frame): a crouching person's size by the camera.
    let blob = rect(120.0, 124.0, 60.0, 52.0, [40, 60, 150]);
    let mut a = GarbageAnalyzer::new(&zoned_config(), W as u32, H as u32);
    let found = run(&mut a, 20.0, drop_object_scene(blob, 178.0));
    assert!(news(&found).is_empty(), "{:?}", summary(&found));
}

/// The real tiny NanoDet (tests/fixtures/models) behind a gate the test
/// opens: until then every detector call waits on the inference worker.
struct GatedCues {
    real: estatewatch::analysis::garbage::cues::ModelCues,
    open: std::sync::Mutex<bool>,
    opened: std::sync::Condvar,
}

impl GatedCues {
    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
}

impl Cues for GatedCues {
    fn objects(&self, frame: &Frame) -> Result<Vec<CueObject>, CueError> {
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.opened.wait(open).unwrap();
        }
        drop(open);
        self.real.objects(frame)
    }
    fn bag_like(&self, frame: &Frame, region: PixelBox) -> Result<f32, CueError> {
        self.real.bag_like(frame, region)
    }
}

/// Issue 18 item 6: the person detector runs on the shared inference worker,
/// so a model that has not answered does not hold up the camera's frames;
/// its answer, when it comes, is applied to the object it was asked about.
#[test]
fn a_slow_person_detector_never_stalls_the_camera() {
    use estatewatch::analysis::detector::config::RuntimeConfig;
    use estatewatch::analysis::detector::Models;
    use estatewatch::analysis::garbage::cues::ModelCues;
    let cfg = RuntimeConfig {
        models_dir: Some(
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models"),
        ),
        ..Default::default()
    };
    let models = Models::load(&cfg, &["tiny-nanodet"]).expect("tiny models load");
    let real = ModelCues::new(models.get_detector("tiny-nanodet").expect("detector"), None);
    let cues = Arc::new(GatedCues {
        real,
        open: std::sync::Mutex::new(false),
        opened: std::sync::Condvar::new(),
    });
    let runs_before = estatewatch::monitor::inference_stats()
        .snapshot()
        .latency
        .get("tiny-nanodet")
        .map_or(0, |h| h.count);
    // The analysis runs on its own thread, as a camera's does; the test only
    // watches that it keeps going.
    let (tx, rx) = std::sync::mpsc::channel::<(u64, usize, Vec<&'static str>, usize)>();
    let gate = cues.clone();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let analysis = std::thread::spawn(move || {
        let mut a = GarbageAnalyzer::new(&config(), W as u32, H as u32).with_cues(
            gate,
            models.inference(),
            "bin-room",
        );
        // As in the daemon: the analyzers outlive the models' registry.
        drop(models);
        let mut painter = Painter::new();
        let mut scene = drop_scene(f64::INFINITY);
        let mut news = 0;
        let mut asked_at = None;
        let mut i = 0u64;
        loop {
            let t = i as f64 / FPS;
            let (objects, gain) = scene(t);
            let f = frame(i, painter.paint(&objects, gain));
            news += a
                .process(&f)
                .iter()
                .filter(|f| f.state == AlertState::New)
                .count();
            if a.cues_pending() > 0 && asked_at.is_none() {
                asked_at = Some(i);
            }
            // 50 frames (10 s of stream) after the question, report and wait
            // for the test to open the gate; then run until the alert.
            if asked_at == Some(i.saturating_sub(50)) {
                let _ = tx.send((i, a.cues_pending(), a.holding(), news));
                let _ = go_rx.recv();
            }
            if news > 0 || i > 2000 {
                let _ = tx.send((i, a.cues_pending(), a.holding(), news));
                return;
            }
            if asked_at.is_some_and(|q| i > q + 50) {
                // Let the worker answer; stream time goes on meanwhile.
                std::thread::yield_now();
            }
            i += 1;
        }
    });
    let (i, pending, holding, news) = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the analysis thread stalled while the detector was busy");
    assert_eq!(pending, 1, "one question with the worker at frame {i}");
    assert!(
        holding.contains(&"person detector: waiting for its answer"),
        "held for the answer: {holding:?}"
    );
    assert_eq!(news, 0, "no alert before the detector answered");
    cues.open();
    let _ = go_tx.send(());
    let (_, pending, holding, news) = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the alert came after the answer");
    analysis.join().expect("analysis thread");
    assert_eq!(news, 1, "alert once the detector answered: {holding:?}");
    assert_eq!(pending, 0);
    let runs_after =
        estatewatch::monitor::inference_stats().snapshot().latency["tiny-nanodet"].count;
    assert!(runs_after > runs_before, "the real model ran on the worker");
}
