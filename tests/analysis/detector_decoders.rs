//! Exact decoder tests: tiny ONNX models (tests/fixtures/models, built by
//! make_tiny_models.py) whose outputs are constants, run through the real
//! ONNX Runtime, so known tensors go in and known frame boxes must come out.
//! The arithmetic for each expected box is spelled out next to it.

use estatewatch::analysis::detector::config::RuntimeConfig;
use estatewatch::analysis::detector::{DetectParams, Detection, DetectorError, Models, Rect};
use std::path::PathBuf;
use std::sync::OnceLock;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models")
}

fn models() -> &'static Models {
    static M: OnceLock<Models> = OnceLock::new();
    M.get_or_init(|| {
        let cfg = RuntimeConfig {
            models_dir: Some(fixtures()),
            ..Default::default()
        };
        Models::load(
            &cfg,
            &[
                "tiny-yolov5",
                "tiny-yolov8",
                "tiny-nanodet",
                "tiny-tfod",
                "tiny-classifier",
                "tiny-channels",
                "tiny-yolov5", // duplicates load once
            ],
        )
        .unwrap()
    })
}

fn frame(w: u32, h: u32) -> Vec<u8> {
    vec![90; (w * h * 3) as usize]
}

/// (class, score, x1, y1, x2, y2) with a tolerance.
fn assert_dets(got: &[Detection], want: &[(&str, f32, [f32; 4])]) {
    let shown: Vec<String> = got
        .iter()
        .map(|d| {
            format!(
                "{} {:.4} ({}, {}, {}, {})",
                d.class, d.score, d.x1, d.y1, d.x2, d.y2
            )
        })
        .collect();
    assert_eq!(got.len(), want.len(), "got {shown:#?}");
    for (d, (class, score, b)) in got.iter().zip(want) {
        assert_eq!(&d.class, class, "got {shown:#?}");
        assert!((d.score - score).abs() < 1e-5, "score: got {shown:#?}");
        for (v, w) in [d.x1, d.y1, d.x2, d.y2].iter().zip(b) {
            assert!((v - w).abs() < 1e-3, "box: want {b:?}, got {shown:#?}");
        }
    }
}

#[test]
fn yolov5_objectness_times_class_stretch_and_class_aware_nms() {
    let d = models().get_detector("tiny-yolov5").unwrap();
    assert_eq!(d.classes(), &["a", "b", "c"]);
    // 64x32 frame stretched to 32x32: x / 0.5, y / 1.
    let dets = d.detect(&frame(64, 32), 64, 32, None).unwrap();
    assert_dets(
        &dets,
        &[
            // row 0: 0.9 * 0.8; (16±4, 16±4) -> x (12..20)/0.5
            ("b", 0.72, [24.0, 12.0, 40.0, 20.0]),
            // row 2: same box, class a 0.9 * 0.6, survives NMS (other class).
            // row 1 (b 0.63, IoU 0.78) is suppressed; row 3 (c 0.25) is under 0.3;
            // row 4 (a 0.81) has zero width and is dropped.
            ("a", 0.54, [24.0, 12.0, 40.0, 20.0]),
        ],
    );
    // Per-class threshold lets c through; a looser NMS keeps row 1.
    let mut p = d.default_params().clone();
    p.class_thresholds.insert("c".into(), 0.2);
    p.nms_iou = 0.8;
    let dets = d.detect_with(&frame(64, 32), 64, 32, None, &p).unwrap();
    assert_dets(
        &dets,
        &[
            ("b", 0.72, [24.0, 12.0, 40.0, 20.0]),
            ("b", 0.63, [26.0, 12.0, 42.0, 20.0]),
            ("a", 0.54, [24.0, 12.0, 40.0, 20.0]),
            // (4±1, 4±1) -> x 3..5 / 0.5
            ("c", 0.25, [6.0, 3.0, 10.0, 5.0]),
        ],
    );
    // A class threshold above 1 switches a class off.
    p.class_thresholds.insert("b".into(), 1.1);
    let dets = d.detect_with(&frame(64, 32), 64, 32, None, &p).unwrap();
    assert!(dets.iter().all(|d| d.class != "b"), "{dets:?}");
}

#[test]
fn yolov8_letterbox_mapping_equal_scores_and_border_clipping() {
    let d = models().get_detector("tiny-yolov8").unwrap();
    // 128x64 frame into 64x64 letterbox: scale 0.5, picture 64x32 at dy = 16.
    // frame = ((x - 0) / 0.5, (y - 16) / 0.5)
    let want = [
        // anchor 0: dog 0.9, (32±8, 32±4) = (24, 28, 40, 36) -> (48, 24, 80, 40).
        // anchor 3 (dog 0.9 too, IoU 0.78) loses the tie: it comes later.
        ("dog", 0.9, [48.0, 24.0, 80.0, 40.0]),
        // anchor 1: cat 0.85, same box, other class.
        ("cat", 0.85, [48.0, 24.0, 80.0, 40.0]),
        // anchor 2 lies in the top border (y 8..12 < 16): clipped to zero height, dropped.
    ];
    assert_dets(&d.detect(&frame(128, 64), 128, 64, None).unwrap(), &want);

    // The same picture as a region of a bigger frame: boxes come back offset.
    let roi = Rect {
        x: 64,
        y: 32,
        w: 128,
        h: 64,
    };
    let dets = d.detect(&frame(256, 128), 256, 128, Some(roi)).unwrap();
    assert_dets(
        &dets,
        &[
            ("dog", 0.9, [112.0, 56.0, 144.0, 72.0]),
            ("cat", 0.85, [112.0, 56.0, 144.0, 72.0]),
        ],
    );
    // A region hanging off the frame is clipped: (192, 96, 128x64) -> 64x32 at (192, 96),
    // letterboxed at scale 1 (dy = 16): anchor boxes land at (24+192, 28-16+96) etc.
    let clipped = Rect {
        x: 192,
        y: 96,
        w: 128,
        h: 64,
    };
    let dets = d.detect(&frame(256, 128), 256, 128, Some(clipped)).unwrap();
    assert_dets(
        &dets,
        &[
            ("dog", 0.9, [216.0, 108.0, 232.0, 116.0]),
            ("cat", 0.85, [216.0, 108.0, 232.0, 116.0]),
        ],
    );
    let outside = Rect {
        x: 300,
        y: 0,
        w: 10,
        h: 10,
    };
    assert!(matches!(
        d.detect(&frame(256, 128), 256, 128, Some(outside)),
        Err(DetectorError::EmptyRoi { .. })
    ));
}

#[test]
fn nanodet_distributions_strides_and_threshold() {
    let d = models().get_detector("tiny-nanodet").unwrap();
    // 64x32 frame into 32x32 letterbox: scale 0.5, picture 32x16 at dy = 8.
    let want = [
        // stride 8, cell 5 (row 1, col 1): centre (12, 12); left = 1.5 bins * 8 = 12,
        // top 8, right 16, bottom 8 -> (0, 4, 28, 20) -> x / 0.5, (y - 8) / 0.5 clipped
        ("y", 0.8, [0.0, 0.0, 56.0, 24.0]),
        // stride 16, cell 3 (row 1, col 1): centre (24, 24), 16 each side
        // -> (8, 8, 40, 40) -> (16, 0, 80, 64) clipped to the 64x32 frame
        ("x", 0.6, [16.0, 0.0, 64.0, 32.0]),
        // stride 16, cell 0 scores 0.3: under the default 0.35
    ];
    assert_dets(&d.detect(&frame(64, 32), 64, 32, None).unwrap(), &want);
    let p = DetectParams {
        score_threshold: 0.25,
        ..d.default_params().clone()
    };
    let dets = d.detect_with(&frame(64, 32), 64, 32, None, &p).unwrap();
    // cell 0: centre (8, 8) -> (-8, -8, 24, 24) -> (0, 0, 48, 32); IoU with the
    // x box is exactly 0.5, not above the default 0.6: both kept.
    assert_dets(
        &dets,
        &[want[0], want[1], ("x", 0.3, [0.0, 0.0, 48.0, 32.0])],
    );
}

#[test]
fn tf_od_normalised_boxes_one_based_classes_and_num() {
    let d = models().get_detector("tiny-tfod").unwrap();
    // Boxes are (ymin, xmin, ymax, xmax) in 0..1 of the input; a 100x50 frame
    // stretched to 32x32 maps them back to 0..100 x 0..50.
    let dets = d.detect(&frame(100, 50), 100, 50, None).unwrap();
    assert_dets(
        &dets,
        &[
            ("bicycle", 0.9, [50.0, 12.5, 100.0, 37.5]), // class id 2, offset 1
            ("person", 0.6, [0.0, 0.0, 50.0, 25.0]),
            // row 3 (0.95) is past num_detections = 2: ignored
        ],
    );
}

#[test]
fn classifier_softmax_top_and_groups() {
    let c = models().get_classifier("tiny-classifier").unwrap();
    let r = c.classify(&frame(16, 16), 16, 16, None).unwrap();
    let e: Vec<f64> = [2.0f64, 1.0, 0.0, -1.0].iter().map(|v| v.exp()).collect();
    let sum: f64 = e.iter().sum();
    for (p, e) in r.probs().iter().zip(&e) {
        assert!((*p as f64 - e / sum).abs() < 1e-6, "{:?}", r.probs());
    }
    let top = r.top(2);
    assert_eq!(
        (top[0].class.as_str(), top[1].class.as_str()),
        ("fire", "smoke")
    );
    assert!((r.group("hot").unwrap() as f64 - (e[0] + e[1]) / sum).abs() < 1e-6);
    assert!((r.group("other").unwrap() as f64 - (e[2] + e[3]) / sum).abs() < 1e-6);
    assert_eq!(r.group("nope"), None);
    assert_eq!(c.group_names().collect::<Vec<_>>(), vec!["hot", "other"]);
}

#[test]
fn preprocessing_reaches_the_model_as_nhwc_bgr_normalised() {
    // tiny-channels outputs the mean of each input channel: BGR order,
    // (pixel - [10, 20, 30]) / [2, 4, 5].
    let c = models().get_classifier("tiny-channels").unwrap();
    let mut rgb = Vec::new();
    for _ in 0..8 * 8 {
        rgb.extend_from_slice(&[50, 100, 150]);
    }
    let r = c.classify(&rgb, 8, 8, None).unwrap();
    assert_eq!(r.probs(), &[70.0, 20.0, 4.0]); // (150-10)/2, (100-20)/4, (50-30)/5
                                               // 8x4 frame letterboxed into 4x4: rows 0 and 3 are border (black pixels),
                                               // so each mean is half picture, half (0 - mean) / std.
    let r = c.classify(&rgb[..8 * 4 * 3], 8, 4, None).unwrap();
    assert_eq!(
        r.probs(),
        &[(70.0 - 5.0) / 2.0, (20.0 - 5.0) / 2.0, (4.0 - 6.0) / 2.0]
    );
}

#[test]
fn registry_reports_wrong_task_and_missing_models() {
    let m = models();
    assert_eq!(m.names().len(), 6);
    assert!(matches!(
        m.get_detector("tiny-classifier"),
        Err(DetectorError::WrongTask { .. })
    ));
    assert!(matches!(
        m.get_classifier("tiny-yolov5"),
        Err(DetectorError::WrongTask { .. })
    ));
    let err = m.get_detector("nanodet-g-coco").unwrap_err().to_string();
    assert!(
        err.contains("was not loaded") && err.contains("tiny-yolov8"),
        "{err}"
    );
}

#[test]
fn one_session_serves_many_threads() {
    let d = models().get_detector("tiny-yolov8").unwrap();
    let want = d.detect(&frame(128, 64), 128, 64, None).unwrap();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let d = d.clone();
            std::thread::spawn(move || {
                (0..25)
                    .map(|_| d.detect(&frame(128, 64), 128, 64, None).unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for h in handles {
        for got in h.join().unwrap() {
            assert_eq!(got, want);
        }
    }
}

#[test]
fn bad_frame_and_unknown_class_are_errors() {
    let d = models().get_detector("tiny-yolov5").unwrap();
    let err = d.detect(&[0; 10], 64, 32, None).unwrap_err().to_string();
    assert!(err.contains("10 bytes, expected 6144 for 64x32"), "{err}");
    let mut p = d.default_params().clone();
    p.class_thresholds.insert("zebra".into(), 0.5);
    let err = d
        .detect_with(&frame(64, 32), 64, 32, None, &p)
        .unwrap_err()
        .to_string();
    assert!(err.contains("\"zebra\""), "{err}");
}
