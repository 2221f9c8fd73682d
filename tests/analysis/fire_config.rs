//! `[cameras.analyzers.fire]` in the config: a full table is accepted (and
//! building it loads its models, so a missing one is a clear setup error, in
//! `check-config` too);
//! every kind of bad value is reported by
//! `estatewatch check-config` with its field path.

use estatewatch::analysis::build_analyzers;
use estatewatch::analysis::fire::config::FireFusion;
use estatewatch::config::Config;

use crate::common::check_config::check_config as check;

const BASE: &str = r#"
[site]
id = "estate"
[gateway]
id = "gw1"
[outbox]
path = "/tmp/estatewatch-test-outbox.db"
[[cameras]]
name = "shed"
url = "rtsp://127.0.0.1:8554/shed"
"#;

const FULL: &str = r#"
[cameras.analyzers.fire]
flame = true
smoke = true
confirm_frames = 6
confirm_window = 10
smoke_confirm_frames = 4
min_flame_area = 0.001
min_smoke_area = 0.01
update_growth = 2.0
update_interval_s = 10
end_after_s = 30
classifier = true
classifier_min_score = 0.1
zones = [
  { name = "bay-1", polygon = [[0.0, 0.3], [0.5, 0.3], [0.5, 1.0], [0.0, 1.0]] },
  { name = "bay-2", polygon = [[0.5, 0.3], [1.0, 0.3], [1.0, 1.0], [0.5, 1.0]], sensitivity = 0.8 },
]
masks = [ { name = "beacon", polygon = [[0.1, 0.1], [0.2, 0.1], [0.2, 0.2]] } ]
[cameras.analyzers.fire.detector]
model = "shed-fire"
fusion = "replace"
min_score = 0.5
every_n_frames = 3
fire_classes = ["fire"]
smoke_classes = ["smoke"]
"#;

#[test]
fn full_fire_table_is_valid_and_parsed() {
    let text = format!("{BASE}{FULL}");
    // The file is valid, but check-config also loads the models it names:
    // `shed-fire` is not installed, so it is reported with the camera's path.
    let (code, out) = check(&text);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("cameras[0].analyzers") && out.contains("shed-fire"),
        "{out}"
    );
    assert!(!out.contains("confirm_frames"), "no field problem: {out}");
    let c = Config::parse(&text).unwrap();
    let f = c.cameras[0].analyzers.fire.as_ref().unwrap();
    assert_eq!((f.confirm_frames, f.confirm_window), (6, 10));
    assert_eq!(f.smoke_confirm_frames, Some(4));
    assert_eq!(f.zones[0].sensitivity, 0.5, "documented default");
    assert_eq!(f.zones[1].sensitivity, 0.8);
    let d = f.detector.as_ref().unwrap();
    assert_eq!(d.fusion, FireFusion::Replace);
    // The models are loaded when the analyzer is built: a detector that is
    // not installed is a setup error naming the camera, analyzer and model.
    let err = match build_analyzers(&c.cameras[0]) {
        Ok(_) => panic!("built with a model that does not exist"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("camera") && err.contains("fire") && err.contains("shed-fire"),
        "{err}"
    );
}

#[test]
fn empty_fire_table_takes_documented_defaults() {
    let text = format!("{BASE}[cameras.analyzers.fire]\n");
    let (code, out) = check(&text);
    assert_eq!(code, 0, "{out}");
    let c = Config::parse(&text).unwrap();
    let f = c.cameras[0].analyzers.fire.as_ref().unwrap();
    assert!(f.flame && f.smoke && !f.classifier && f.detector.is_none());
    assert_eq!((f.confirm_frames, f.confirm_window), (8, 12));
    assert_eq!(
        f.smoke_confirm_frames, None,
        "documented default: half the window"
    );
    assert_eq!((f.min_flame_area, f.min_smoke_area), (0.00012, 0.0018));
    assert_eq!(
        (f.update_growth, f.update_interval_s, f.end_after_s),
        (1.5, 5.0, 20.0)
    );
}

#[test]
fn bad_fire_values_are_reported_with_their_paths() {
    let fire = "cameras[0].analyzers.fire";
    let cases: Vec<(&str, String)> = vec![
        (
            r#"zones = [ { name = "a", polygon = [[0,0],[1,0],[1,1]] }, { name = "b", polygon = [[0,0],[1,0],[1,1]], sensitivity = 1.5 } ]"#,
            format!("{fire}.zones[1].sensitivity: must be 0..=1, got 1.5"),
        ),
        (
            r#"zones = [ { name = "a", polygon = [[0,0],[1,0]] } ]"#,
            format!("{fire}.zones[0].polygon: needs at least 3 points"),
        ),
        (
            r#"masks = [ { name = "m", polygon = [[0,0],[2,0],[1,1]] } ]"#,
            format!("{fire}.masks[0].polygon[1]: coordinates are normalised"),
        ),
        ("confirm_frames = 13", format!("{fire}.confirm_frames: must be 1..=confirm_window (12), got 13")),
        ("confirm_frames = 0", format!("{fire}.confirm_frames")),
        ("smoke_confirm_frames = 13", format!("{fire}.smoke_confirm_frames: must be 1..=confirm_window (12), got 13")),
        ("smoke_confirm_frames = 0", format!("{fire}.smoke_confirm_frames")),
        ("confirm_window = 65\nconfirm_frames = 8", format!("{fire}.confirm_window: must be 1..=64")),
        ("min_flame_area = 0.0", format!("{fire}.min_flame_area: must be > 0")),
        ("min_smoke_area = 0.9", format!("{fire}.min_smoke_area: must be > 0 and <= 0.5")),
        ("update_growth = 1.0", format!("{fire}.update_growth: must be >= 1.1")),
        ("end_after_s = 0", format!("{fire}.end_after_s: must be 1..=3600")),
        ("update_interval_s = -1", format!("{fire}.update_interval_s")),
        ("classifier_min_score = 2", format!("{fire}.classifier_min_score: must be 0..=1")),
        ("flame = false\nsmoke = false", format!("{fire}.flame: flame and smoke are both false")),
        (
            "[cameras.analyzers.fire.detector]\nmodel = \"\"\nmin_score = 1.5\nevery_n_frames = 0\nfire_classes = []\nsmoke_classes = []",
            format!("{fire}.detector.model"),
        ),
    ];
    for (body, want) in cases {
        let (code, out) = check(&format!("{BASE}[cameras.analyzers.fire]\n{body}\n"));
        assert_eq!(code, 2, "{body}: {out}");
        assert!(out.contains(&want), "{body}: expected {want:?} in\n{out}");
    }
    // Every detector problem at once.
    let (_, out) = check(&format!(
        "{BASE}[cameras.analyzers.fire.detector]\nmodel = \"\"\nmin_score = 1.5\nevery_n_frames = 0\nfire_classes = []\nsmoke_classes = []\n"
    ));
    for field in ["model", "min_score", "every_n_frames", "fire_classes"] {
        assert!(
            out.contains(&format!("{fire}.detector.{field}")),
            "{field}: {out}"
        );
    }
}

#[test]
fn unknown_fire_keys_and_bad_fusion_are_syntax_errors() {
    let (code, out) = check(&format!("{BASE}[cameras.analyzers.fire]\nflicker = 3\n"));
    assert_eq!(code, 2);
    assert!(
        out.contains("unknown field") && out.contains("flicker"),
        "{out}"
    );
    let (code, out) = check(&format!(
        "{BASE}[cameras.analyzers.fire.detector]\nmodel = \"m\"\nfusion = \"vote\"\n"
    ));
    assert_eq!(code, 2);
    assert!(out.contains("vote") && out.contains("confirm"), "{out}");
}

#[test]
fn check_config_loads_the_detector_and_its_class_mapping() {
    let models = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models");
    let with = |model: &str| {
        format!(
            "[site]\nid = \"estate\"\n[gateway]\nid = \"gw1\"\n[runtime]\nmodels_dir = \"{}\"\n\
             [[cameras]]\nname = \"shed\"\nurl = \"rtsp://127.0.0.1:8554/shed\"\n\
             [cameras.analyzers.fire.detector]\nmodel = \"{model}\"\n",
            models.display()
        )
    };
    // tiny-yolov8's manifest maps its classes to fire and smoke: valid.
    let (code, out) = check(&with("tiny-yolov8"));
    assert_eq!(code, 0, "{out}");
    // tiny-yolov5's does not, and the camera sets no classes: refused, saying what to set.
    let (code, out) = check(&with("tiny-yolov5"));
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("cameras[0].analyzers") && out.contains("[incidents]"),
        "{out}"
    );
}
