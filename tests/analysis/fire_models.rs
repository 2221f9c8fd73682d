//! The fire analyzer's ONNX paths through the real ONNX Runtime, built from a
//! config the way the daemon builds it:
//!
//! - an integrator's detector in the YOLOv8 layout: the tiny generated
//!   `tiny-yolov8` fixture (tests/fixtures/models, constant outputs: `dog`
//!   0.9 and `cat` 0.85 on one box in the middle of the frame), its classes
//!   mapped to fire (`dog`) and smoke (`cat`) by its manifest's `[incidents]`
//!   table, or by the camera config's overrides;
//! - the shipped crop classifier's `flame_like` group as the second opinion.

use crate::fire_support::{Canvas, FPS};
use estatewatch::alert::{AlertKind, AlertState};
use estatewatch::analysis::detector::config::RuntimeConfig;
use estatewatch::analysis::detector::Models;
use estatewatch::analysis::fire::models::{ClassifierVerifier, CLASSIFIER_MODEL};
use estatewatch::analysis::fire::FlameVerifier;
use estatewatch::analysis::{build_analyzers, Analyzer, Finding};
use estatewatch::config::Config;
use std::path::PathBuf;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models")
}

/// The camera's analyzers from a config with `fire` (the table's body) and
/// `[runtime] models_dir = tests/fixtures/models`.
fn analyzers(fire: &str) -> Vec<Box<dyn Analyzer>> {
    let text = format!(
        "[site]\nid = \"estate\"\n[gateway]\nid = \"gw1\"\n\
         [runtime]\nmodels_dir = \"{}\"\n\
         [[cameras]]\nname = \"shed\"\nurl = \"rtsp://127.0.0.1:8554/shed\"\n\
         [cameras.analyzers.fire]\nend_after_s = 3\n{fire}\n",
        fixtures().display()
    );
    let c = Config::parse(&text).unwrap();
    assert!(c.validate().is_empty(), "{:?}", c.validate());
    build_analyzers(&c.cameras[0]).unwrap()
}

/// `n` frames of a quiet shed (no flame, no smoke) through `a`; the findings
/// with the index of the frame that raised them.
fn quiet_frames(a: &mut dyn Analyzer, n: u64) -> Vec<(u64, Finding)> {
    let mut out = Vec::new();
    for i in 0..n {
        let mut c = Canvas::shed(i + 1);
        c.noise(3);
        let mut f = c.frame(i);
        f.pts = Some(std::time::Duration::from_millis(i * 1000 / FPS));
        out.extend(a.process(&f).into_iter().map(|x| (i, x)));
    }
    out
}

fn quiet(a: &mut dyn Analyzer, n: u64) -> Vec<Finding> {
    quiet_frames(a, n).into_iter().map(|(_, f)| f).collect()
}

/// No class lists: the fixture's manifest maps `dog` to fire, `cat` to smoke.
const DETECTOR: &str = r#"
[cameras.analyzers.fire.detector]
model = "tiny-yolov8"
every_n_frames = 1
"#;

#[test]
fn replace_fusion_alerts_on_the_mapped_detector_classes() {
    let mut a = analyzers(&format!("{DETECTOR}fusion = \"replace\"\n"));
    let found = quiet_frames(a[0].as_mut(), 30);
    let news: Vec<&Finding> = found
        .iter()
        .map(|(_, f)| f)
        .filter(|f| f.state == AlertState::New)
        .collect();
    let kinds: Vec<AlertKind> = news.iter().map(|f| f.kind).collect();
    assert!(kinds.contains(&AlertKind::Fire), "{kinds:?}");
    assert!(kinds.contains(&AlertKind::Smoke), "{kinds:?}");
    assert_eq!(news.len(), 2, "one incident per kind: {kinds:?}");
    let fire = news.iter().find(|f| f.kind == AlertKind::Fire).unwrap();
    assert!(
        (fire.score - 0.9).abs() < 0.01,
        "dog's score: {}",
        fire.score
    );
    // The fixture's box, (24, 28)-(40, 36) in its 64×64 letterboxed input, is
    // the middle quarter of a 640×360 frame's width: x 0.375..0.625.
    let b = fire.bbox.unwrap();
    assert!(
        (b.x - 0.375).abs() < 0.02 && (b.w - 0.25).abs() < 0.02,
        "{b:?}"
    );
    assert_eq!(fire.details["cues"], serde_json::json!(["detector"]));
    // Confirmation still applies: the default 8 of 12 frames for fire, so
    // its `new` comes with the eighth frame (index 7), not before; smoke's
    // default is half the window, 6 of 12 (index 5).
    let first = |kind: AlertKind| {
        found
            .iter()
            .find(|(_, f)| f.state == AlertState::New && f.kind == kind)
            .map(|(i, _)| *i)
    };
    assert_eq!(first(AlertKind::Fire), Some(7));
    assert_eq!(first(AlertKind::Smoke), Some(5));
}

#[test]
fn min_score_and_class_mapping_filter_detector_boxes() {
    // 0.88 drops `cat` (0.85): only the fire remains.
    let mut a = analyzers(&format!(
        "{DETECTOR}fusion = \"replace\"\nmin_score = 0.88\n"
    ));
    let kinds: Vec<AlertKind> = quiet(a[0].as_mut(), 30)
        .iter()
        .filter(|f| f.state == AlertState::New)
        .map(|f| f.kind)
        .collect();
    assert_eq!(kinds, vec![AlertKind::Fire]);
}

#[test]
fn confirm_fusion_needs_a_classic_candidate_too() {
    // The detector "sees" fire and smoke in every frame, but the quiet shed
    // has no flame-coloured flicker or veil: confirm fusion stays silent.
    let mut a = analyzers(&format!("{DETECTOR}fusion = \"confirm\"\n"));
    assert!(quiet(a[0].as_mut(), 40).is_empty());
}

#[test]
fn camera_config_overrides_the_manifest_class_mapping() {
    // `cat` (0.85) as the only fire class, no smoke class: one fire, scored as the cat.
    let mut a = analyzers(&format!(
        "{DETECTOR}fusion = \"replace\"\nfire_classes = [\"cat\"]\nsmoke_classes = []\n"
    ));
    let news: Vec<Finding> = quiet(a[0].as_mut(), 30)
        .into_iter()
        .filter(|f| f.state == AlertState::New)
        .collect();
    assert_eq!(news.len(), 1, "{news:?}");
    assert_eq!(news[0].kind, AlertKind::Fire);
    assert!((news[0].score - 0.85).abs() < 0.01, "{}", news[0].score);
}

/// The error building a camera whose fire section is `fire`, with the fixtures as models.
fn build_error(fire: &str) -> String {
    let text = format!(
        "[site]\nid = \"estate\"\n[gateway]\nid = \"gw1\"\n\
         [runtime]\nmodels_dir = \"{}\"\n\
         [[cameras]]\nname = \"shed\"\nurl = \"rtsp://127.0.0.1:8554/shed\"\n\
         [cameras.analyzers.fire.detector]\n{fire}\n",
        fixtures().display()
    );
    let c = Config::parse(&text).unwrap();
    match build_analyzers(&c.cameras[0]) {
        Ok(_) => panic!("built with {fire:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_detector_with_no_incident_classes_is_a_setup_error() {
    // tiny-yolov5's manifest has no `[incidents]` table and the config maps nothing.
    let err = build_error("model = \"tiny-yolov5\"");
    assert!(
        err.contains("tiny-yolov5") && err.contains("[incidents]") && err.contains("fire_classes"),
        "{err}"
    );
}

#[test]
fn a_configured_class_the_model_lacks_is_named() {
    let err = build_error("model = \"tiny-yolov8\"\nsmoke_classes = [\"smoke\"]");
    assert!(
        err.contains("detector.smoke_classes") && err.contains("\"smoke\"") && err.contains("cat"),
        "{err}"
    );
}

#[test]
fn shipped_classifier_scores_a_flame_above_a_dark_shed() {
    let models = Models::load(&RuntimeConfig::default(), &[CLASSIFIER_MODEL]).unwrap();
    let mut v = ClassifierVerifier::new(models.get_classifier(CLASSIFIER_MODEL).unwrap()).unwrap();
    let crop = |flame: bool| {
        let mut c = Canvas::shed(7);
        if flame {
            for k in 0..6 {
                c.flame(320.0, 300.0, 120.0, k as f64 * 0.1);
            }
        }
        let f = c.frame(0);
        let img = image::RgbImage::from_raw(f.width, f.height, f.rgb.to_vec()).unwrap();
        image::imageops::crop_imm(&img, 240, 140, 160, 160).to_image()
    };
    let with = v.flame_like(&crop(true)).unwrap();
    let without = v.flame_like(&crop(false)).unwrap();
    assert!((0.0..=1.0).contains(&with) && (0.0..=1.0).contains(&without));
    assert!(with > without, "flame {with} vs empty shed {without}");
}
