//! The fire analyzer on synthetic shed footage drawn here: a flickering,
//! growing flame and a smoke plume must alert once each (new, updates, end);
//! the classic false alarms (a static orange bike, a flashing orange beacon,
//! an orange jacket walking by) must not.

use crate::fire_support::{Canvas, FPS, H, W};
use estatewatch::alert::{AlertKind, AlertState, Severity};
use estatewatch::analysis::fire::config::{FireConfig, FireFusion};
use estatewatch::analysis::fire::{
    DetectedBox, FireAnalyzer, FireDetector, FireError, FlameVerifier,
};
use estatewatch::analysis::{Analyzer, Finding};
use estatewatch::ingest::Frame;

fn config(extra: &str) -> FireConfig {
    toml::from_str(&format!("end_after_s = 5\n{extra}")).unwrap()
}

/// Runs `n` frames drawn by `draw(canvas, i, t)`; returns (time, finding).
fn run(
    analyzer: &mut FireAnalyzer,
    n: u64,
    mut draw: impl FnMut(&mut Canvas, u64, f64),
) -> Vec<(f64, Finding)> {
    let mut out = Vec::new();
    for i in 0..n {
        let t = i as f64 / FPS as f64;
        let mut c = Canvas::shed(i * 7 + 1);
        draw(&mut c, i, t);
        c.noise(4);
        let frame: Frame = c.frame(i);
        for f in analyzer.process(&frame) {
            out.push((t, f));
        }
    }
    out
}

fn states(found: &[(f64, Finding)], kind: AlertKind) -> Vec<AlertState> {
    found
        .iter()
        .filter(|(_, f)| f.kind == kind)
        .map(|(_, f)| f.state)
        .collect()
}

fn describe(found: &[(f64, Finding)]) -> String {
    found
        .iter()
        .map(|(t, f)| format!("{t:.1}s {:?} {:?} {}\n", f.kind, f.state, f.details))
        .collect()
}

/// Flame from 2 s to 14 s, growing from 16 to 90 px tall.
fn growing_flame(c: &mut Canvas, _i: u64, t: f64) {
    if (2.0..14.0).contains(&t) {
        let height = 16.0 + (t - 2.0) / 12.0 * 74.0;
        c.flame(320.0, 300.0, height, t);
    }
}

#[test]
fn growing_flickering_flame_gives_one_new_then_updates_then_end() {
    let mut a = FireAnalyzer::new(&config(""), FPS as u32);
    let found = run(&mut a, 220, growing_flame);
    let fire: Vec<_> = found
        .iter()
        .filter(|(_, f)| f.kind == AlertKind::Fire)
        .collect();
    let s = states(&found, AlertKind::Fire);
    assert_eq!(s.first(), Some(&AlertState::New), "{}", describe(&found));
    assert_eq!(
        s.iter().filter(|s| **s == AlertState::New).count(),
        1,
        "{}",
        describe(&found)
    );
    assert!(s.contains(&AlertState::Update), "{}", describe(&found));
    assert_eq!(s.last(), Some(&AlertState::End), "{}", describe(&found));
    assert!(fire.iter().all(|(_, f)| f.incident == fire[0].1.incident));
    let (t_new, new) = fire[0];
    assert!(
        *t_new <= 2.0 + 5.0,
        "alerted {t_new:.1} s, flame began at 2.0 s"
    );
    assert_eq!(new.severity, Severity::Critical);
    assert_eq!(new.zone.as_deref(), Some("frame"));
    // The box is round the flame (x ≈ 0.5, lower part of the frame).
    let b = new.bbox.unwrap();
    assert!(b.x < 0.5 && b.x + b.w > 0.5 && b.y + b.h > 0.75, "{b:?}");
    let d = &new.details;
    let cues: Vec<&str> = d["cues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(cues.contains(&"colour") && cues.contains(&"flicker"), "{d}");
    assert!(d["flicker_hz"].as_f64().unwrap() > 0.0, "{d}");
    assert!(d["area_growth"].as_f64().is_some(), "{d}");
    assert_eq!(d["mode"], "colour");
    // Updates report growth; the end comes after the flame is gone.
    let upd = fire
        .iter()
        .find(|(_, f)| f.state == AlertState::Update)
        .unwrap();
    assert!(
        upd.1.details["area_growth"].as_f64().unwrap() >= 1.5,
        "{}",
        upd.1.details
    );
    let (t_end, _) = fire.last().unwrap();
    assert!(*t_end >= 14.0 + 5.0 - 0.2, "ended at {t_end}");
    assert!(
        states(&found, AlertKind::Smoke).is_empty(),
        "{}",
        describe(&found)
    );
}

#[test]
fn flame_on_an_ir_grey_camera_is_found() {
    let mut a = FireAnalyzer::new(&config(""), FPS as u32);
    let found = run(&mut a, 140, |c, i, t| {
        growing_flame(c, i, t);
        c.make_grey();
    });
    let fire = found.iter().find(|(_, f)| f.kind == AlertKind::Fire);
    let (t, f) = fire.unwrap_or_else(|| panic!("no fire alert: {}", describe(&found)));
    assert!(*t <= 7.0, "{t}");
    assert_eq!(f.details["mode"], "grey");
}

#[test]
fn static_orange_bike_is_not_fire() {
    let mut a = FireAnalyzer::new(&config(""), FPS as u32);
    let found = run(&mut a, 150, |c, _, _| {
        c.rect(280, 230, 90, 50, [235, 110, 20]); // frame
        c.rect(300, 280, 20, 20, [250, 200, 60]); // a bright yellow mudguard
    });
    assert!(found.is_empty(), "{}", describe(&found));
}

#[test]
fn flashing_orange_beacon_is_not_fire() {
    let mut a = FireAnalyzer::new(&config(""), FPS as u32);
    let found = run(&mut a, 200, |c, _, t| {
        // 1.5 Hz, on for half of each period.
        if (t * 1.5).fract() < 0.5 {
            c.rect(100, 60, 24, 24, [255, 150, 20]);
            c.rect(106, 66, 12, 12, [255, 240, 190]);
        }
    });
    assert!(found.is_empty(), "{}", describe(&found));
}

#[test]
fn orange_jacket_walking_by_is_not_fire() {
    let mut a = FireAnalyzer::new(&config(""), FPS as u32);
    let found = run(&mut a, 200, |c, _, t| {
        // Walks across at 40 px/s with a slight bob.
        let x = 20.0 + 40.0 * t;
        let bob = ((t * 6.0).sin() * 3.0) as i64;
        c.rect(x as i64, 200 + bob, 36, 60, [240, 120, 25]);
        c.rect(x as i64 + 6, 170 + bob, 22, 28, [180, 150, 130]); // head
    });
    assert!(found.is_empty(), "{}", describe(&found));
}

/// A plume that starts at 2 s over the bikes, grows from 12 to 90 px radius
/// over 16 s and rises.
fn growing_plume(c: &mut Canvas, _i: u64, t: f64) {
    if t >= 2.0 {
        let k = ((t - 2.0) / 16.0).min(1.0);
        let r = 12.0 + 78.0 * k;
        c.plume(420.0, 320.0 - 60.0 * k, r, 0.75);
    }
}

#[test]
fn grey_plume_softening_the_bikes_is_smoke() {
    let mut a = FireAnalyzer::new(&config(""), FPS as u32);
    let found = run(&mut a, 220, growing_plume);
    let s = states(&found, AlertKind::Smoke);
    assert_eq!(s.first(), Some(&AlertState::New), "{}", describe(&found));
    assert_eq!(
        s.iter().filter(|s| **s == AlertState::New).count(),
        1,
        "{}",
        describe(&found)
    );
    let (t, f) = found
        .iter()
        .find(|(_, f)| f.kind == AlertKind::Smoke)
        .unwrap();
    assert!(*t <= 12.0, "smoke alert at {t}");
    assert_eq!(f.severity, Severity::Major);
    let cues = f.details["cues"].to_string();
    assert!(cues.contains("edge_loss"), "{cues}");
    assert!(
        f.details["edge_ratio"].as_f64().unwrap() < 0.8,
        "{}",
        f.details
    );
    assert!(
        states(&found, AlertKind::Fire).is_empty(),
        "{}",
        describe(&found)
    );
}

#[test]
fn smoke_confirmation_count_is_honoured() {
    // Smoke's default is half the window (6 of 12); needing all 12 holds the
    // `new` back by at least the 6 frames more it must see.
    let first_smoke = |extra: &str| {
        let mut a = FireAnalyzer::new(&config(extra), FPS as u32);
        run(&mut a, 220, growing_plume)
            .iter()
            .find(|(_, f)| f.kind == AlertKind::Smoke && f.state == AlertState::New)
            .map_or(f64::INFINITY, |x| x.0)
    };
    let (quick, strict) = (first_smoke(""), first_smoke("smoke_confirm_frames = 12"));
    assert!(quick.is_finite(), "no smoke alert at the default");
    assert!(
        strict >= quick + 6.0 / FPS as f64,
        "default {quick}, 12 of 12 {strict}"
    );
}

#[test]
fn masked_light_source_and_outside_zone_are_ignored() {
    // The flame is at x ≈ 0.5, y ≈ 0.7..0.83. Mask it: nothing.
    let masked = config(
        r#"masks = [ { name = "lamp", polygon = [[0.4, 0.5], [0.6, 0.5], [0.6, 0.9], [0.4, 0.9]] } ]"#,
    );
    let mut a = FireAnalyzer::new(&masked, FPS as u32);
    let found = run(&mut a, 120, growing_flame);
    assert!(
        states(&found, AlertKind::Fire).is_empty(),
        "{}",
        describe(&found)
    );
    // A zone on the left half only: nothing either.
    let left = config(
        r#"zones = [ { name = "left", polygon = [[0.0, 0.0], [0.4, 0.0], [0.4, 1.0], [0.0, 1.0]] } ]"#,
    );
    let mut a = FireAnalyzer::new(&left, FPS as u32);
    let found = run(&mut a, 120, growing_flame);
    assert!(
        states(&found, AlertKind::Fire).is_empty(),
        "{}",
        describe(&found)
    );
    // A zone round it: an alert naming the zone.
    let shed = config(
        r#"zones = [ { name = "left", polygon = [[0.0, 0.0], [0.4, 0.0], [0.4, 1.0], [0.0, 1.0]] },
                     { name = "bay-2", polygon = [[0.4, 0.0], [1.0, 0.0], [1.0, 1.0], [0.4, 1.0]], sensitivity = 0.7 } ]"#,
    );
    let mut a = FireAnalyzer::new(&shed, FPS as u32);
    let found = run(&mut a, 120, growing_flame);
    let f = found
        .iter()
        .find(|(_, f)| f.kind == AlertKind::Fire)
        .unwrap();
    assert_eq!(f.1.zone.as_deref(), Some("bay-2"));
}

#[test]
fn confirmation_window_is_honoured() {
    // Needing 40 of 40 frames delays the alert by at least 3 s over 8 of 12.
    let quick = run(
        &mut FireAnalyzer::new(&config(""), FPS as u32),
        140,
        growing_flame,
    );
    let slow_cfg = config("confirm_frames = 40\nconfirm_window = 40");
    let slow = run(
        &mut FireAnalyzer::new(&slow_cfg, FPS as u32),
        140,
        growing_flame,
    );
    let t = |v: &[(f64, Finding)]| {
        v.iter()
            .find(|(_, f)| f.kind == AlertKind::Fire)
            .map(|x| x.0)
    };
    let (tq, ts) = (t(&quick).unwrap(), t(&slow).unwrap_or(f64::INFINITY));
    assert!(ts >= tq + 3.0, "quick {tq}, slow {ts}");
}

struct Scripted(Vec<DetectedBox>);
impl FireDetector for Scripted {
    fn detect(&mut self, _: &Frame) -> Result<Vec<DetectedBox>, FireError> {
        Ok(self.0.clone())
    }
}

fn flame_box(x: f32) -> DetectedBox {
    DetectedBox {
        kind: AlertKind::Fire,
        bbox: estatewatch::alert::BBox {
            x,
            y: 0.6,
            w: 0.1,
            h: 0.25,
        },
        score: 0.8,
    }
}

#[test]
fn confirm_fusion_needs_an_overlapping_detector_box() {
    let cfg = config("");
    let mut agree = FireAnalyzer::new(&cfg, FPS as u32).with_detector(
        Box::new(Scripted(vec![flame_box(0.45)])),
        FireFusion::Confirm,
        0.4,
        5,
    );
    let found = run(&mut agree, 120, growing_flame);
    let f = found
        .iter()
        .find(|(_, f)| f.kind == AlertKind::Fire)
        .unwrap();
    assert!(
        f.1.details["cues"].to_string().contains("detector"),
        "{}",
        f.1.details
    );
    // The detector sees its box elsewhere: vetoed.
    let mut elsewhere = FireAnalyzer::new(&cfg, FPS as u32).with_detector(
        Box::new(Scripted(vec![flame_box(0.05)])),
        FireFusion::Confirm,
        0.4,
        5,
    );
    assert!(states(&run(&mut elsewhere, 120, growing_flame), AlertKind::Fire).is_empty());
}

#[test]
fn replace_fusion_alerts_on_detector_boxes_inside_zones_only() {
    let cfg = config(
        r#"masks = [ { name = "lamp", polygon = [[0.0, 0.0], [0.2, 0.0], [0.2, 1.0], [0.0, 1.0]] } ]"#,
    );
    // Nothing drawn: the detector alone proposes (a box in the mask is ignored).
    let mut a = FireAnalyzer::new(&cfg, FPS as u32).with_detector(
        Box::new(Scripted(vec![flame_box(0.5), flame_box(0.05)])),
        FireFusion::Replace,
        0.4,
        1,
    );
    let found = run(&mut a, 30, |_, _, _| {});
    let s = states(&found, AlertKind::Fire);
    assert_eq!(s, vec![AlertState::New], "{}", describe(&found));
    let b = found[0].1.bbox.unwrap();
    assert!((b.x - 0.5).abs() < 1e-6, "{b:?}");
    // Below min_score: nothing.
    let mut weak = FireAnalyzer::new(&cfg, FPS as u32).with_detector(
        Box::new(Scripted(vec![flame_box(0.5)])),
        FireFusion::Replace,
        0.9,
        1,
    );
    assert!(run(&mut weak, 30, |_, _, _| {}).is_empty());
}

struct FixedVerifier(f32, std::sync::Arc<std::sync::atomic::AtomicUsize>);
impl FlameVerifier for FixedVerifier {
    fn flame_like(&mut self, crop: &image::RgbImage) -> Result<f32, FireError> {
        assert!(crop.width() >= 16 && crop.width() == crop.height());
        self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(self.0)
    }
}

#[test]
fn second_opinion_gates_only_the_opening() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let calls = std::sync::Arc::new(AtomicUsize::new(0));
    let mut yes = FireAnalyzer::new(&config(""), FPS as u32)
        .with_verifier(Box::new(FixedVerifier(0.6, calls.clone())), 0.05);
    let found = run(&mut yes, 220, growing_flame);
    assert_eq!(
        states(&found, AlertKind::Fire).first(),
        Some(&AlertState::New)
    );
    assert_eq!(found[0].1.details["classifier_flame_like"], 0.6);
    assert_eq!(
        calls.load(Ordering::Relaxed),
        1,
        "asked once, before the new"
    );
    let calls = std::sync::Arc::new(AtomicUsize::new(0));
    let mut no = FireAnalyzer::new(&config(""), FPS as u32)
        .with_verifier(Box::new(FixedVerifier(0.01, calls.clone())), 0.05);
    assert!(states(&run(&mut no, 120, growing_flame), AlertKind::Fire).is_empty());
    let n = calls.load(Ordering::Relaxed);
    assert!(
        (2..=12).contains(&n),
        "refusals are retried about once a second, got {n}"
    );
}

#[test]
fn stream_restart_ends_open_incidents() {
    let mut a = FireAnalyzer::new(&config(""), FPS as u32);
    let found = run(&mut a, 100, growing_flame);
    assert_eq!(
        states(&found, AlertKind::Fire).first(),
        Some(&AlertState::New)
    );
    // The stream starts again from 0.
    let mut c = Canvas::shed(3);
    c.noise(4);
    let out = a.process(&c.frame(0));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].state, AlertState::End);
}

#[test]
fn wrong_size_buffer_is_skipped_not_a_panic() {
    let mut a = FireAnalyzer::new(&config(""), FPS as u32);
    let mut f = Canvas::shed(1).frame(0);
    f.rgb = std::sync::Arc::new(vec![0; 10]);
    assert!(a.process(&f).is_empty());
    assert_eq!((W, H), (640, 360));
}

/// `replay --explain` and `--debug-video` for fire: the alert's explanation
/// names the flame cues with their thresholds (the flame structure among
/// them), rejected candidates say which cue failed, and the debug drawing
/// marks the flame on the frame.
#[test]
fn explains_the_alert_and_rejections_and_draws_the_flame() {
    let mut a = FireAnalyzer::new(&config(""), FPS as u32);
    a.set_explain(true);
    let mut lines = Vec::new();
    let mut drawn_differs = false;
    for i in 0..(12 * FPS) {
        let t = i as f64 / FPS as f64;
        let mut c = Canvas::shed(i * 7 + 1);
        growing_flame(&mut c, i, t);
        c.noise(4);
        let frame: Frame = c.frame(i);
        a.process(&frame);
        lines.extend(a.explain().into_iter().map(|e| e.to_string()));
        if t > 6.0 && !drawn_differs {
            let raw = image::RgbImage::from_raw(W as u32, H as u32, frame.rgb.to_vec()).unwrap();
            let mut img = raw.clone();
            a.draw_debug(&mut img);
            drawn_differs = img != raw;
        }
    }
    let all = lines.join("\n");
    let alert = lines
        .iter()
        .find(|l| l.starts_with("fire zone frame: ALERT fire"))
        .unwrap_or_else(|| panic!("no fire alert explained:\n{all}"));
    for cue in ["flame_area", "flicker", "steady", "drift", "structure"] {
        assert!(
            alert.contains(&format!("; {cue} ")),
            "{cue} missing: {alert}"
        );
    }
    assert!(
        alert.contains("structure") && alert.contains(">= 0.100 ok"),
        "{alert}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("fire flame cells")
            && l.contains(": rejected (")
            && l.contains("FAIL")),
        "no rejected flame candidate explained:\n{all}"
    );
    assert!(
        drawn_differs,
        "draw_debug drew nothing over a burning flame"
    );
}

/// A smoke region round a flame counts as that flame's sighting (cue
/// `glow`): a burning flame inside a plume raises `fire` first, and its
/// sightings carry the glow.
#[test]
fn a_flame_in_its_glow_is_fire_first() {
    let mut a = FireAnalyzer::new(&config(""), FPS as u32);
    let found = run(&mut a, 220, |c, i, t| {
        // Grey haze growing round the flame over the bikes (the plume alone
        // is smoke: see the test above), with the flame burning in it.
        growing_plume(c, i, t);
        if t >= 2.0 {
            c.flame(420.0, 330.0, 16.0 + (t - 2.0) * 4.0, t);
        }
    });
    assert_eq!(
        states(&found, AlertKind::Fire).first(),
        Some(&AlertState::New),
        "{}",
        describe(&found)
    );
    assert_eq!(found[0].1.kind, AlertKind::Fire, "{}", describe(&found));
    assert!(
        found
            .iter()
            .any(|(_, f)| f.kind == AlertKind::Fire
                && f.details["cues"].to_string().contains("glow")),
        "{}",
        describe(&found)
    );
}

/// People standing still where the COCO detector would see them: the same
/// boxes every frame (the analyzer's use of the answers is what is tested
/// here; the real detector is tested in `detector_real.rs`).
struct Standing(Vec<estatewatch::alert::BBox>);

impl estatewatch::analysis::fire::PeopleFinder for Standing {
    fn people_and_vehicles(
        &self,
        _frame: &Frame,
    ) -> Result<Vec<estatewatch::alert::BBox>, FireError> {
        Ok(self.0.clone())
    }
}

fn bbox(x: f32, y: f32, w: f32, h: f32) -> estatewatch::alert::BBox {
    estatewatch::alert::BBox { x, y, w, h }
}

/// An analyzer asking `boxes` of the people finder on an inline pool (each
/// answer arrives on the next frame, as in replay).
fn with_people(boxes: Vec<estatewatch::alert::BBox>) -> FireAnalyzer {
    let pool = estatewatch::analysis::detector::worker::InferencePool::new(1, 8);
    pool.set_inline(true);
    FireAnalyzer::new(&config(""), FPS as u32).with_people(
        std::sync::Arc::new(Standing(boxes)),
        &pool,
        "shed",
    )
}

#[test]
fn cells_people_stood_on_during_the_warm_up_are_relearnt_until_still() {
    let mut a = with_people(vec![bbox(0.1, 0.4, 0.15, 0.4)]);
    run(&mut a, 25, |_, _, _| {});
    let relearning = a.smoke_cells_relearning();
    // The box (96×144 px, 12×18 cells at 8 px) grown by a cell each way.
    assert!(
        (150..=320).contains(&relearning),
        "{relearning} cells relearning after the warm-up"
    );
    // Quiet (1.5 s) and then learnt (1.5 s): judged again.
    run(&mut a, 40, |_, _, _| {});
    assert_eq!(a.smoke_cells_relearning(), 0);
    let mut plain = FireAnalyzer::new(&config(""), FPS as u32);
    run(&mut plain, 25, |_, _, _| {});
    assert_eq!(plain.smoke_cells_relearning(), 0);
}

#[test]
fn smoke_under_people_or_vehicles_is_not_smoke_but_beside_them_it_is() {
    let first_smoke = |a: &mut FireAnalyzer| {
        run(a, 220, growing_plume)
            .iter()
            .find(|(_, f)| f.kind == AlertKind::Smoke && f.state == AlertState::New)
            .map_or(f64::INFINITY, |x| x.0)
    };
    let alone = first_smoke(&mut FireAnalyzer::new(&config(""), FPS as u32));
    assert!(alone.is_finite(), "no smoke alert without people");
    // A person far from the plume: the alert waits one frame for the answer.
    let beside = first_smoke(&mut with_people(vec![bbox(0.02, 0.3, 0.1, 0.5)]));
    assert!(
        beside.is_finite() && beside <= alone + 0.25,
        "alone {alone} s, person beside {beside} s"
    );
    // The detector sees a vehicle over the whole plume: its cells are not smoke.
    let under = first_smoke(&mut with_people(vec![bbox(0.4, 0.2, 0.55, 0.8)]));
    assert!(
        under.is_infinite(),
        "smoke alert at {under} s under a vehicle"
    );
}

/// A patch of the wall lit up evenly (sun through cloud), growing: no
/// churn inside it.
fn light_patch(c: &mut Canvas, _i: u64, t: f64) {
    if t >= 2.0 {
        let w = (20.0 + (t - 2.0) * 16.0).min(200.0) as usize;
        for y in 40..110 {
            for x in 100..100 + w {
                let p = c.get(x, y);
                c.put(x as i64, y as i64, p.map(|v| v.saturating_add(10)));
            }
        }
    }
}

/// A plume whose wisps rise and change shape, over the bikes.
fn churning_plume(c: &mut Canvas, _i: u64, t: f64) {
    if t >= 2.0 {
        let k = ((t - 2.0) / 16.0).min(1.0);
        c.smoke(420.0, 320.0 - 60.0 * k, 12.0 + 78.0 * k, 0.75, t);
    }
}

#[test]
fn by_default_a_churning_plume_is_smoke_and_an_even_light_patch_is_not() {
    let smoke_at = |extra: &str, draw: fn(&mut Canvas, u64, f64)| {
        let mut a = FireAnalyzer::new(&config(extra), FPS as u32);
        run(&mut a, 160, draw)
            .iter()
            .find(|(_, f)| f.kind == AlertKind::Smoke && f.state == AlertState::New)
            .map_or(f64::INFINITY, |x| x.0)
    };
    // The churn cue is on by default (`smoke_churn = true`).
    let plume = smoke_at("", churning_plume);
    assert!(plume.is_finite(), "no smoke alert for a churning plume");
    let patch = smoke_at("", light_patch);
    assert!(
        patch.is_infinite(),
        "smoke alert at {patch} s on an even light patch"
    );
    let patch_off = smoke_at("smoke_churn = false", light_patch);
    assert!(
        patch_off.is_finite(),
        "without smoke_churn the light patch is read as a veil (the case the cue is for)"
    );
}

/// A drawn vehicle's drive through the shed.
#[derive(Debug, Clone, Copy)]
struct Drive {
    /// Pixels a second.
    speed: f64,
    /// A sedan has a dark window band above its body, set back from both
    /// ends; a van is one pale box.
    sedan: bool,
    /// Enters at the right edge of the frame and drives left.
    leftward: bool,
    /// A grey (IR night) picture.
    ir: bool,
}

impl Drive {
    const fn day(speed: f64, sedan: bool, leftward: bool) -> Drive {
        Drive {
            speed,
            sedan,
            leftward,
            ir: false,
        }
    }
}

/// A pale, flat vehicle driving through the shed at `d.speed` px/s from
/// 3 s, entering at the left (or, `d.leftward`, the right) edge of the
/// frame: its body hides the bikes' texture (edge loss, low chroma)
/// wherever it is, so without the slide cue its body would read as a smoke
/// veil.
fn vehicle(d: Drive) -> impl FnMut(&mut Canvas, u64, f64) {
    move |c: &mut Canvas, _i: u64, t: f64| {
        if t >= 3.0 {
            let x0 = (-260.0 + (t - 3.0) * d.speed) as i64;
            // Drawn driving right; mirrored when it drives left.
            let mut rect = |x: i64, y: i64, w: i64, h: i64, rgb: [u8; 3]| {
                let x = if d.leftward { W as i64 - x - w } else { x };
                c.rect(x, y, w, h, rgb);
            };
            if d.sedan {
                rect(x0 + 40, 200, 170, 34, [70, 72, 78]);
            } else {
                rect(x0, 200, 260, 34, [168, 168, 172]);
            }
            rect(x0, 234, 260, 62, [168, 168, 172]);
            for wx in [x0 + 50, x0 + 210] {
                rect(wx - 22, 290, 44, 30, [20, 20, 22]);
            }
        }
        if d.ir {
            c.make_grey();
        }
    }
}

/// Sixteen seconds of `draw` in a shed zone with a margin, so the vehicle
/// drives in across the zone's border and out across the other, then
/// crosses it whole in between: the alerts found (with their time) and the
/// analyzer's explain lines.
fn drive_through_shed(
    mut draw: impl FnMut(&mut Canvas, u64, f64),
) -> (Vec<(f64, Finding)>, Vec<String>) {
    let cfg = config(
        r#"zones = [ { name = "shed", polygon = [[0.05, 0.1], [0.95, 0.1], [0.95, 0.95], [0.05, 0.95]] } ]"#,
    );
    let mut a = FireAnalyzer::new(&cfg, FPS as u32);
    a.set_explain(true);
    let mut lines = Vec::new();
    let mut found = Vec::new();
    for i in 0..(16 * FPS) {
        let t = i as f64 / FPS as f64;
        let mut c = Canvas::shed(i * 7 + 1);
        draw(&mut c, i, t);
        c.noise(4);
        for f in a.process(&c.frame(i)) {
            found.push((t, f));
        }
        lines.extend(a.explain().into_iter().map(|e| e.to_string()));
    }
    (found, lines)
}

/// Whether any explain line rejected a smoke region because it slid.
fn held_by_slide(lines: &[String]) -> bool {
    lines.iter().any(|l| {
        l.contains("rejected") && l.contains("slide_cells") && {
            let after = &l[l.find("slide_cells").unwrap_or(0)..];
            after.split(';').next().is_some_and(|c| c.contains("FAIL"))
        }
    })
}

/// A pale van driving through the shed by day: the slide cue holds its body
/// shut (and it is the slide that does, by the explain lines).
#[test]
fn a_van_crossing_the_shed_by_day_is_not_smoke() {
    let (found, lines) = drive_through_shed(vehicle(Drive::day(70.0, false, false)));
    let all = lines.join("\n");
    assert!(
        states(&found, AlertKind::Smoke).is_empty() && states(&found, AlertKind::Fire).is_empty(),
        "{}\n{all}",
        describe(&found)
    );
    assert!(
        held_by_slide(&lines),
        "no smoke region of the van was held shut by the slide cue:\n{all}"
    );
}

#[test]
fn a_car_crossing_the_shed_by_day_is_not_smoke() {
    let (found, lines) = drive_through_shed(vehicle(Drive::day(70.0, true, false)));
    let all = lines.join("\n");
    assert!(
        states(&found, AlertKind::Smoke).is_empty(),
        "{}\n{all}",
        describe(&found)
    );
    assert!(
        states(&found, AlertKind::Fire).is_empty(),
        "{}",
        describe(&found)
    );
    // It was the slide that held the car's body shut.
    assert!(
        held_by_slide(&lines),
        "no smoke region of the car was held shut by the slide cue:\n{all}"
    );
}

/// What is wrong with a drive's outcome: a fire or smoke alert, or no
/// smoke region held shut by the slide cue (the cue this is about).
fn drive_fault(d: Drive) -> Option<String> {
    let (found, lines) = drive_through_shed(vehicle(d));
    if !states(&found, AlertKind::Smoke).is_empty() || !states(&found, AlertKind::Fire).is_empty() {
        Some(format!("{d:?} alerted:\n{}", describe(&found)))
    } else if !held_by_slide(&lines) {
        Some(format!("{d:?}: no smoke region held shut by the slide cue"))
    } else {
        None
    }
}

/// Vehicles of both shapes entering at either edge of the frame, at a
/// parking speed and twice it, by day and (the sedan) in a grey IR
/// picture: none is smoke, and the slide cue is what holds each shut.
#[test]
fn vehicles_entering_at_either_edge_at_two_speeds_are_not_smoke() {
    let mut drives = Vec::new();
    for sedan in [true, false] {
        for leftward in [false, true] {
            for speed in [70.0, 140.0] {
                drives.push(Drive::day(speed, sedan, leftward));
            }
        }
    }
    for leftward in [false, true] {
        drives.push(Drive {
            ir: true,
            ..Drive::day(70.0, true, leftward)
        });
    }
    let faults: Vec<String> = drives.into_iter().filter_map(drive_fault).collect();
    assert!(faults.is_empty(), "{}", faults.join("\n"));
}
