//! Clear errors for broken models: each test copies a tiny fixture model into
//! a temporary models folder, breaks one thing, and checks that loading fails
//! with an error naming the file and the problem (and never panics).

use estatewatch::analysis::detector::config::RuntimeConfig;
use estatewatch::analysis::detector::{DetectorError, Models};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/models")
        .join(name)
}

/// A models folder holding a copy of fixture `name`.
fn copy_of(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(name);
    std::fs::create_dir(&dir).unwrap();
    for entry in std::fs::read_dir(fixture(name)).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    (tmp, dir)
}

fn edit_manifest(dir: &Path, from: &str, to: &str) {
    let path = dir.join("model.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "fixture has no {from:?}");
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

fn load(models_dir: &Path, name: &str) -> Result<Models, DetectorError> {
    let cfg = RuntimeConfig {
        models_dir: Some(models_dir.to_path_buf()),
        ..Default::default()
    };
    Models::load(&cfg, &[name])
}

fn sha_of(path: &Path) -> String {
    Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn expect_err(r: Result<Models, DetectorError>) -> (DetectorError, String) {
    let e = r.unwrap_err();
    let text = e.to_string();
    (e, text)
}

#[test]
fn corrupt_model_file() {
    let (tmp, dir) = copy_of("tiny-yolov5");
    let onnx = dir.join("tiny-yolov5.onnx");
    std::fs::write(&onnx, b"this is not an ONNX protobuf, just text").unwrap();
    // Give it a matching checksum so the bytes reach ONNX Runtime.
    let old = sha_of(&fixture("tiny-yolov5").join("tiny-yolov5.onnx"));
    edit_manifest(&dir, &old, &sha_of(&onnx));
    let (e, text) = expect_err(load(tmp.path(), "tiny-yolov5"));
    assert!(matches!(e, DetectorError::Session { .. }), "{e:?}");
    assert!(
        text.contains("tiny-yolov5.onnx: ONNX Runtime cannot load the model"),
        "{text}"
    );
}

#[test]
fn checksum_mismatch() {
    let (tmp, dir) = copy_of("tiny-yolov5");
    let real = sha_of(&dir.join("tiny-yolov5.onnx"));
    let wrong = "ab".repeat(32);
    edit_manifest(&dir, &real, &wrong);
    let (e, text) = expect_err(load(tmp.path(), "tiny-yolov5"));
    assert!(matches!(e, DetectorError::Checksum { .. }), "{e:?}");
    assert!(text.contains(&real) && text.contains(&wrong), "{text}");
    assert!(text.contains("model.toml"), "{text}");
}

#[test]
fn wrong_input_shape_in_manifest() {
    let (tmp, dir) = copy_of("tiny-yolov5");
    edit_manifest(&dir, "width = 32", "width = 64");
    let (e, text) = expect_err(load(tmp.path(), "tiny-yolov5"));
    assert!(matches!(e, DetectorError::Mismatch { .. }), "{e:?}");
    assert!(
        text.contains("manifest says NCHW 64x32 (shape [1, 3, 32, 64])")
            && text.contains("has shape [1, 3, 32, 32]"),
        "{text}"
    );
}

#[test]
fn wrong_layout_in_manifest() {
    let (tmp, dir) = copy_of("tiny-yolov5");
    edit_manifest(&dir, "layout = \"NCHW\"", "layout = \"NHWC\"");
    let (_, text) = expect_err(load(tmp.path(), "tiny-yolov5"));
    assert!(
        text.contains("NHWC") && text.contains("[1, 3, 32, 32]"),
        "{text}"
    );
}

#[test]
fn wrong_input_dtype_in_manifest() {
    let (tmp, dir) = copy_of("tiny-tfod");
    edit_manifest(&dir, "dtype = \"uint8\"", "dtype = \"float32\"");
    let (_, text) = expect_err(load(tmp.path(), "tiny-tfod"));
    assert!(
        text.contains("input.dtype: manifest says Float32") && text.contains("Uint8"),
        "{text}"
    );
}

#[test]
fn input_name_not_in_model() {
    let (tmp, dir) = copy_of("tiny-yolov5");
    edit_manifest(&dir, "name = \"images\"", "name = \"image\"");
    let (_, text) = expect_err(load(tmp.path(), "tiny-yolov5"));
    assert!(
        text.contains(
            "input.name: \"image\" is not an input of tiny-yolov5.onnx; its input is \"images\""
        ),
        "{text}"
    );
}

#[test]
fn output_name_not_in_model() {
    let (tmp, dir) = copy_of("tiny-yolov5");
    edit_manifest(&dir, "name = \"output0\"", "name = \"output\"");
    let (_, text) = expect_err(load(tmp.path(), "tiny-yolov5"));
    assert!(
        text.contains("output.name: \"output\" is not an output of tiny-yolov5.onnx; its outputs are [\"output0\"]"),
        "{text}"
    );
}

#[test]
fn nanodet_head_name_and_stride_checked() {
    let (tmp, dir) = copy_of("tiny-nanodet");
    edit_manifest(
        &dir,
        "boxes = \"dis_pred_stride_16\"",
        "boxes = \"dis_pred_stride_32\"",
    );
    let (_, text) = expect_err(load(tmp.path(), "tiny-nanodet"));
    assert!(
        text.contains("output.heads[1].boxes: \"dis_pred_stride_32\" is not an output"),
        "{text}"
    );

    let (tmp, dir) = copy_of("tiny-nanodet");
    edit_manifest(&dir, "stride = 16", "stride = 32");
    let (_, text) = expect_err(load(tmp.path(), "tiny-nanodet"));
    // stride 32 on a 32x32 input means 1 cell, but the output has 4.
    assert!(
        text.contains("output.heads[1].scores: output \"cls_pred_stride_16\" has shape [1, 4, 2]; format nanodet with 2 classes expects [1, 1, 2]"),
        "{text}"
    );
}

#[test]
fn class_file_that_does_not_match_the_output() {
    let (tmp, dir) = copy_of("tiny-yolov5");
    std::fs::write(dir.join("classes.txt"), "a\nb\nc\nd\n").unwrap();
    let (_, text) = expect_err(load(tmp.path(), "tiny-yolov5"));
    assert!(
        text.contains("has shape [1, 5, 8]; format yolov5 with 4 classes expects [1, N, 9]"),
        "{text}"
    );
}

#[test]
fn classifier_group_out_of_range() {
    let (tmp, dir) = copy_of("tiny-classifier");
    edit_manifest(&dir, "other = [2, 3]", "other = [2, 4]");
    let (_, text) = expect_err(load(tmp.path(), "tiny-classifier"));
    assert!(
        text.contains("groups.other: class index 4 is out of range"),
        "{text}"
    );
}

#[test]
fn manifest_problems_name_the_field() {
    let (tmp, dir) = copy_of("tiny-yolov5");
    edit_manifest(
        &dir,
        "resize = \"stretch\"",
        "resize = \"stretch\"\nfps = 5",
    );
    let (e, text) = expect_err(load(tmp.path(), "tiny-yolov5"));
    assert!(matches!(e, DetectorError::Manifest { .. }), "{e:?}");
    assert!(
        text.contains("model.toml") && text.contains("unknown field `fps`"),
        "{text}"
    );

    let (tmp, dir) = copy_of("tiny-yolov5");
    edit_manifest(&dir, "name = \"tiny-yolov5\"", "name = \"other\"");
    let (_, text) = expect_err(load(tmp.path(), "tiny-yolov5"));
    assert!(
        text.contains("name: must be the folder's name \"tiny-yolov5\", got \"other\""),
        "{text}"
    );

    let (tmp, dir) = copy_of("tiny-yolov5");
    edit_manifest(
        &dir,
        "nms_iou = 0.5",
        "nms_iou = 0.5\nclass_thresholds = { zebra = 0.5 }",
    );
    let (_, text) = expect_err(load(tmp.path(), "tiny-yolov5"));
    assert!(
        text.contains("output.class_thresholds.zebra: no class \"zebra\" in classes.txt"),
        "{text}"
    );

    let (tmp, dir) = copy_of("tiny-yolov8");
    edit_manifest(&dir, "fire = [\"dog\"]", "fire = [\"flame\"]");
    let (_, text) = expect_err(load(tmp.path(), "tiny-yolov8"));
    assert!(
        text.contains("model.toml")
            && text.contains("incidents.fire: no class \"flame\" in classes.txt"),
        "{text}"
    );
}

#[test]
fn missing_model_and_missing_files() {
    let (tmp, dir) = copy_of("tiny-yolov5");
    let (e, text) = expect_err(load(tmp.path(), "no-such-model"));
    assert!(matches!(e, DetectorError::ModelNotFound { .. }), "{e:?}");
    assert!(
        text.contains("no-such-model/model.toml does not exist"),
        "{text}"
    );

    std::fs::remove_file(dir.join("classes.txt")).unwrap();
    let (_, text) = expect_err(load(tmp.path(), "tiny-yolov5"));
    assert!(
        text.contains("cannot read") && text.contains("classes.txt"),
        "{text}"
    );

    let (tmp, dir) = copy_of("tiny-yolov5");
    std::fs::remove_file(dir.join("tiny-yolov5.onnx")).unwrap();
    let (_, text) = expect_err(load(tmp.path(), "tiny-yolov5"));
    assert!(
        text.contains("cannot read") && text.contains("tiny-yolov5.onnx"),
        "{text}"
    );

    let cfg = RuntimeConfig {
        models_dir: Some(tmp.path().join("nowhere")),
        ..Default::default()
    };
    let text = Models::load(&cfg, &["tiny-yolov5"])
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("models folder not found") && text.contains("nowhere"),
        "{text}"
    );
}
