//! `estatewatch detect`: the command integrators use to check a model.
//! Runs the real binary on a tiny fixture model and checks its JSON lines,
//! the annotated image it writes, and its error exit.

use crate::common::cli::{fails, json_lines, succeeds, BIN};
use std::path::Path;
use std::process::Command;

fn fixtures() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/models"
    ))
}

#[test]
fn detect_prints_json_lines_and_writes_annotated_images() {
    let tmp = tempfile::tempdir().unwrap();
    let img = tmp.path().join("frame.png");
    image::RgbImage::from_pixel(128, 64, image::Rgb([10, 10, 10]))
        .save(&img)
        .unwrap();
    let out_dir = tmp.path().join("out");
    let out = succeeds(
        Command::new(BIN)
            .args(["detect", "--model", "tiny-yolov8", "--models-dir"])
            .arg(fixtures())
            .arg("--out")
            .arg(&out_dir)
            .arg(&img),
    );
    let lines = json_lines(&out.stdout);
    // Same boxes as tests/analysis/detector_decoders.rs: dog 0.9 and cat 0.85 at (48, 24, 80, 40).
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["class"], "dog");
    assert_eq!(lines[0]["score"], 0.9);
    assert_eq!(lines[0]["box"], serde_json::json!([48.0, 24.0, 80.0, 40.0]));
    assert_eq!(lines[1]["class"], "cat");
    assert_eq!(lines[0]["image"], img.display().to_string());

    let annotated = image::open(out_dir.join("frame.jpg")).unwrap().to_rgb8();
    assert_eq!(annotated.dimensions(), (128, 64));
    // The box outline at x = 48 is drawn; the inside of the box is not.
    let edge = annotated.get_pixel(48, 32);
    let inside = annotated.get_pixel(64, 32);
    assert!(
        edge.0.iter().map(|&v| v as u32).sum::<u32>() > 200,
        "{edge:?}"
    );
    assert!(inside.0.iter().all(|&v| v < 40), "{inside:?}");
}

#[test]
fn detect_with_a_classifier_prints_top_classes_and_groups() {
    let tmp = tempfile::tempdir().unwrap();
    let img = tmp.path().join("x.png");
    image::RgbImage::new(8, 8).save(&img).unwrap();
    let out = succeeds(
        Command::new(BIN)
            .args([
                "detect",
                "--model",
                "tiny-classifier",
                "--top",
                "2",
                "--models-dir",
            ])
            .arg(fixtures())
            .arg(&img),
    );
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["top"][0]["class"], "fire");
    assert_eq!(v["top"].as_array().unwrap().len(), 2);
    // softmax([2, 1, 0, -1]): fire + smoke = (e^2 + e) / (e^2 + e + 1 + 1/e) = 0.8808
    let hot = v["groups"]["hot"].as_f64().unwrap();
    assert!((hot - 0.8808).abs() < 1e-3, "{v}");
}

#[test]
fn detect_fails_clearly_on_a_missing_model() {
    let err = fails(
        Command::new(BIN)
            .args(["detect", "--model", "no-such-model", "--models-dir"])
            .arg(fixtures())
            .arg("x.png"),
    );
    assert!(err.contains("model \"no-such-model\" not found"), "{err}");
}
