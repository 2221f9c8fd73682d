//! Model manifests: the `model.toml` beside each ONNX file, its serde structs
//! and the checks that need nothing but the manifest itself.
//!
//! A manifest says what the ONNX file expects (input size, layout, colour
//! order, normalisation, resize mode) and how to read what it returns (output
//! format, tensor names, class names). Checks against the ONNX file itself
//! (sha256, tensor names and shapes) happen in [`super::runtime`] when the
//! model is loaded. The format is documented for integrators in
//! `models/README.md` and the design in `docs/adr/0002-model-manifests.md`.
//!
//! Invariants once [`Manifest::parse`] has returned `Ok`:
//! - every field the manifest's `format` needs is present, and no field that
//!   belongs to another format is set;
//! - thresholds are in 0..=1, `std` has no zero, strides are positive;
//! - `task = "classifier"` if and only if `format = "classifier"`.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The whole `model.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Unique model name, the one config refers to; equals the folder name.
    pub name: String,
    /// What the model is for.
    pub task: Task,
    /// The ONNX file, relative to the manifest's folder.
    pub file: PathBuf,
    /// Lower-case hex sha256 of the ONNX file, checked at load.
    pub sha256: String,
    /// SPDX identifier of the weights' licence.
    pub licence: String,
    /// Where the weights came from and how they were converted.
    pub source: String,
    /// The one image input.
    pub input: InputSpec,
    /// How to read the outputs.
    pub output: OutputSpec,
    /// Classifier only: named groups of class indices whose probabilities are
    /// summed, e.g. `flame_like = [470, 556]`. Default: none.
    #[serde(default)]
    pub groups: BTreeMap<String, Vec<usize>>,
    /// Detector only: which of the model's class names stand for which
    /// incident, so an integrator's model says itself what it finds. The fire
    /// analyzer reads `fire` and `smoke` from here unless the camera config
    /// overrides them. Default: empty (no incident classes).
    #[serde(default)]
    pub incidents: IncidentClasses,
}

/// `[incidents]`: a detector's classes per incident. Every name must be a line
/// of the model's `classes_file` (checked at load).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentClasses {
    /// Class names that mean flame, e.g. `["fire", "flame"]`. Default: `[]`.
    #[serde(default)]
    pub fire: Vec<String>,
    /// Class names that mean smoke, e.g. `["smoke"]`. Default: `[]`.
    #[serde(default)]
    pub smoke: Vec<String>,
}

impl IncidentClasses {
    /// True when no incident is mapped.
    pub fn is_empty(&self) -> bool {
        self.fire.is_empty() && self.smoke.is_empty()
    }

    /// Every mapped class name with its `incidents.<field>` path.
    pub fn entries(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.fire
            .iter()
            .map(|c| ("incidents.fire", c.as_str()))
            .chain(self.smoke.iter().map(|c| ("incidents.smoke", c.as_str())))
    }
}

/// `task`: detector (boxes) or classifier (one label for the whole input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    Detector,
    Classifier,
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Task::Detector => "detector",
            Task::Classifier => "classifier",
        })
    }
}

/// `[input]`: the model's image input.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// ONNX input name.
    pub name: String,
    /// Input width in pixels, 1..=4096.
    pub width: u32,
    /// Input height in pixels, 1..=4096.
    pub height: u32,
    /// `NCHW` or `NHWC`.
    pub layout: Layout,
    /// Channel order the model wants: `RGB` or `BGR`.
    pub color: ColorOrder,
    /// Element type: `float32` or `uint8`. Default: `float32`.
    #[serde(default)]
    pub dtype: InputType,
    /// Per tensor channel (in `color` order): value = (pixel - mean) / std on
    /// 0..255 pixels. Default: 0 (float32 only).
    #[serde(default)]
    pub mean: Option<[f32; 3]>,
    /// See `mean`. Default: 1 (float32 only).
    #[serde(default)]
    pub std: Option<[f32; 3]>,
    /// How a frame (or crop) is fitted to width × height.
    pub resize: ResizeMode,
}

/// Tensor layout of the image input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Layout {
    NCHW,
    NHWC,
}

/// Channel order of the image input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum ColorOrder {
    RGB,
    BGR,
}

/// Element type of the image input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputType {
    /// Normalised floats (most exports).
    #[default]
    Float32,
    /// Raw 0..255 bytes (TF Object Detection API exports).
    Uint8,
}

/// How a frame is fitted to the model's input size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResizeMode {
    /// Keep the aspect ratio, centre, pad with black (pixel value 0).
    Letterbox,
    /// Scale each axis independently to fill the input.
    Stretch,
}

/// `[output]`: how to read the model's outputs. Which fields apply depends on
/// `format`; [`Manifest::parse`] rejects fields that belong to another format.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// The output layout.
    pub format: OutputFormat,
    /// Class names, one a line (line n = class n-1), relative to the manifest.
    pub classes_file: PathBuf,
    /// yolov5/yolov8/classifier: the output tensor's name. Default: the
    /// model's only output.
    #[serde(default)]
    pub name: Option<String>,
    /// nanodet: highest bin index of the side distributions (bins = reg_max + 1).
    #[serde(default)]
    pub reg_max: Option<u32>,
    /// nanodet: one entry per stride.
    #[serde(default)]
    pub heads: Option<Vec<NanodetHead>>,
    /// tf_od: output with `[1, N, 4]` boxes (ymin, xmin, ymax, xmax; 0..1).
    #[serde(default)]
    pub boxes: Option<String>,
    /// tf_od: output with `[1, N]` scores.
    #[serde(default)]
    pub scores: Option<String>,
    /// tf_od: output with `[1, N]` class ids.
    #[serde(default)]
    pub classes: Option<String>,
    /// tf_od: output with the number of valid rows. Default: none (all N rows).
    #[serde(default)]
    pub num: Option<String>,
    /// tf_od: subtracted from class ids to index `classes_file` (1 for
    /// 1-based label maps). Default: 0.
    #[serde(default)]
    pub class_offset: Option<i64>,
    /// classifier: true when outputs are logits (softmax is applied), false
    /// when they are probabilities already. Required for classifiers.
    #[serde(default)]
    pub softmax: Option<bool>,
    /// Detectors: minimum score, 0..=1. Default: 0.35.
    #[serde(default)]
    pub score_threshold: Option<f32>,
    /// Detectors: per-class minimum scores by class name, 0..=1; these
    /// override `score_threshold`. Default: none.
    #[serde(default)]
    pub class_thresholds: BTreeMap<String, f32>,
    /// Detectors: IoU above which the lower-scored of two boxes of one class
    /// is dropped, 0 < x <= 1. Default: 0.6.
    #[serde(default)]
    pub nms_iou: Option<f32>,
    /// Detectors: most detections returned per frame, >= 1. Default: 100.
    #[serde(default)]
    pub max_detections: Option<usize>,
}

/// `output.format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// `[1, N, 5 + C]`: cx, cy, w, h, objectness, C class scores (input pixels).
    Yolov5,
    /// `[1, 4 + C, N]` (or `[1, N, 4 + C]`): cx, cy, w, h, C class scores.
    Yolov8,
    /// Per stride: scores `[1, cells, C]` and side distributions `[1, cells, 4 × (reg_max + 1)]`.
    Nanodet,
    /// TF Object Detection API: boxes, scores, classes, num.
    #[serde(rename = "tf_od")]
    TfOd,
    /// `[1, C]` logits or probabilities.
    Classifier,
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OutputFormat::Yolov5 => "yolov5",
            OutputFormat::Yolov8 => "yolov8",
            OutputFormat::Nanodet => "nanodet",
            OutputFormat::TfOd => "tf_od",
            OutputFormat::Classifier => "classifier",
        })
    }
}

/// One NanoDet head: the scores and distribution outputs of one stride.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NanodetHead {
    /// Feature stride in input pixels (8, 16, 32 ...).
    pub stride: u32,
    /// Output with `[1, cells, C]` class scores (already sigmoid).
    pub scores: String,
    /// Output with `[1, cells, 4 × (reg_max + 1)]` side distributions (left, top, right, bottom).
    pub boxes: String,
}

/// Default minimum score for detectors.
pub const DEFAULT_SCORE_THRESHOLD: f32 = 0.35;
/// Default NMS IoU for detectors.
pub const DEFAULT_NMS_IOU: f32 = 0.6;
/// Default cap on detections per frame.
pub const DEFAULT_MAX_DETECTIONS: usize = 100;

impl Manifest {
    /// Parses and checks manifest text. `Err` holds one message per problem,
    /// each starting with the field it concerns.
    pub fn parse(text: &str) -> Result<Manifest, ManifestProblems> {
        let m: Manifest = toml::from_str(text)
            .map_err(|e| ManifestProblems(vec![e.to_string().trim_end().to_string()]))?;
        let problems = m.problems();
        if problems.is_empty() {
            Ok(m)
        } else {
            Err(ManifestProblems(problems))
        }
    }

    /// The ONNX file's path, given the folder holding the manifest.
    pub fn model_path(&self, dir: &Path) -> PathBuf {
        dir.join(&self.file)
    }

    /// Mean per tensor channel (0 when unset).
    pub fn mean(&self) -> [f32; 3] {
        self.input.mean.unwrap_or([0.0; 3])
    }

    /// Std per tensor channel (1 when unset).
    pub fn std(&self) -> [f32; 3] {
        self.input.std.unwrap_or([1.0; 3])
    }

    fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        let mut bad = |field: &str, msg: String| p.push(format!("{field}: {msg}"));
        if self.name.trim().is_empty() {
            bad("name", "must not be empty".into());
        }
        if self.sha256.len() != 64
            || !self
                .sha256
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        {
            bad(
                "sha256",
                format!(
                    "expected 64 lower-case hex digits (sha256sum of the file), got {:?}",
                    self.sha256
                ),
            );
        }
        if self.file.is_absolute() {
            bad(
                "file",
                format!(
                    "must be relative to the manifest's folder, got {}",
                    self.file.display()
                ),
            );
        }
        let i = &self.input;
        for (field, v) in [("input.width", i.width), ("input.height", i.height)] {
            if !(1..=4096).contains(&v) {
                bad(field, format!("must be 1..=4096, got {v}"));
            }
        }
        if let Some(std) = i.std {
            if std.iter().any(|s| *s == 0.0 || !s.is_finite()) {
                bad(
                    "input.std",
                    format!("must be finite and non-zero, got {std:?}"),
                );
            }
        }
        if let Some(mean) = i.mean {
            if mean.iter().any(|m| !m.is_finite()) {
                bad("input.mean", format!("must be finite, got {mean:?}"));
            }
        }
        if i.dtype == InputType::Uint8 && (i.mean.is_some() || i.std.is_some()) {
            bad(
                "input.mean",
                "a uint8 input takes raw 0..255 pixels: remove mean and std".into(),
            );
        }

        let o = &self.output;
        let is_classifier = o.format == OutputFormat::Classifier;
        if is_classifier != (self.task == Task::Classifier) {
            bad(
                "task",
                format!(
                    "task {} does not go with output.format {}",
                    self.task, o.format
                ),
            );
        }
        // Fields that only some formats take.
        let only = |field: &str, set: bool, formats: &[OutputFormat], p: &mut Vec<String>| {
            if set && !formats.contains(&o.format) {
                let names: Vec<String> = formats.iter().map(|f| f.to_string()).collect();
                p.push(format!(
                    "output.{field}: only used by format {}, not {}",
                    names.join("/"),
                    o.format
                ));
            }
        };
        use OutputFormat::*;
        only(
            "name",
            o.name.is_some(),
            &[Yolov5, Yolov8, Classifier],
            &mut p,
        );
        only("reg_max", o.reg_max.is_some(), &[Nanodet], &mut p);
        only("heads", o.heads.is_some(), &[Nanodet], &mut p);
        for (field, v) in [
            ("boxes", &o.boxes),
            ("scores", &o.scores),
            ("classes", &o.classes),
            ("num", &o.num),
        ] {
            only(field, v.is_some(), &[TfOd], &mut p);
        }
        only("class_offset", o.class_offset.is_some(), &[TfOd], &mut p);
        only("softmax", o.softmax.is_some(), &[Classifier], &mut p);
        let det = [Yolov5, Yolov8, Nanodet, TfOd];
        only("score_threshold", o.score_threshold.is_some(), &det, &mut p);
        only(
            "class_thresholds",
            !o.class_thresholds.is_empty(),
            &det,
            &mut p,
        );
        only("nms_iou", o.nms_iou.is_some(), &det, &mut p);
        only("max_detections", o.max_detections.is_some(), &det, &mut p);
        if !self.groups.is_empty() && !is_classifier {
            p.push("groups: only used by classifiers".into());
        }
        if !self.incidents.is_empty() && is_classifier {
            p.push("incidents: only used by detectors".into());
        }

        let need = |field: &str, set: bool, p: &mut Vec<String>| {
            if !set {
                p.push(format!("output.{field}: required for format {}", o.format));
            }
        };
        match o.format {
            Nanodet => {
                need("reg_max", o.reg_max.is_some(), &mut p);
                need("heads", o.heads.is_some(), &mut p);
                if let Some(r) = o.reg_max {
                    if !(1..=64).contains(&r) {
                        p.push(format!("output.reg_max: must be 1..=64, got {r}"));
                    }
                }
                if let Some(heads) = &o.heads {
                    if heads.is_empty() {
                        p.push("output.heads: needs at least one head".into());
                    }
                    for (k, h) in heads.iter().enumerate() {
                        if h.stride == 0 || h.stride > i.width.max(i.height) {
                            p.push(format!(
                                "output.heads[{k}].stride: must be 1..={}, got {}",
                                i.width.max(i.height),
                                h.stride
                            ));
                        }
                    }
                }
            }
            TfOd => {
                need("boxes", o.boxes.is_some(), &mut p);
                need("scores", o.scores.is_some(), &mut p);
                need("classes", o.classes.is_some(), &mut p);
            }
            Classifier => need("softmax", o.softmax.is_some(), &mut p),
            Yolov5 | Yolov8 => {}
        }
        let unit = |field: String, v: f32, p: &mut Vec<String>| {
            if !(0.0..=1.0).contains(&v) {
                p.push(format!("{field}: must be 0..=1, got {v}"));
            }
        };
        if let Some(t) = o.score_threshold {
            unit("output.score_threshold".into(), t, &mut p);
        }
        for (class, t) in &o.class_thresholds {
            unit(format!("output.class_thresholds.{class}"), *t, &mut p);
        }
        if let Some(t) = o.nms_iou {
            if !(t > 0.0 && t <= 1.0) {
                p.push(format!("output.nms_iou: must be 0 < x <= 1, got {t}"));
            }
        }
        if o.max_detections == Some(0) {
            p.push("output.max_detections: must be >= 1, got 0".into());
        }
        p
    }
}

/// Everything wrong with a manifest, one message per problem, each starting
/// with the field it concerns (at least one). Reads as a slice of them.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", .0.join("; "))]
pub struct ManifestProblems(pub Vec<String>);

impl std::ops::Deref for ManifestProblems {
    type Target = [String];

    fn deref(&self) -> &[String] {
        &self.0
    }
}

/// Why a class-name file cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClassesError {
    #[error("no class names")]
    Empty,
    /// A blank line (1-based) before the end.
    #[error("line {0} is empty")]
    EmptyLine(usize),
}

/// Reads a class-name file: one name per line, line n = class n-1. A final
/// empty line is ignored; other empty lines are errors.
pub fn parse_classes(text: &str) -> Result<Vec<String>, ClassesError> {
    let mut names: Vec<String> = text
        .split('\n')
        .map(|l| l.trim_end_matches('\r').trim().to_string())
        .collect();
    if names.last().is_some_and(|l| l.is_empty()) {
        names.pop();
    }
    if names.is_empty() {
        return Err(ClassesError::Empty);
    }
    if let Some(n) = names.iter().position(|l| l.is_empty()) {
        return Err(ClassesError::EmptyLine(n + 1));
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped(folder: &str) -> Manifest {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("models")
            .join(folder)
            .join("model.toml");
        let text = std::fs::read_to_string(path).unwrap();
        Manifest::parse(&text).unwrap()
    }

    #[test]
    fn shipped_manifests_parse() {
        let n = shipped("nanodet-g-coco");
        assert_eq!(n.output.format, OutputFormat::Nanodet);
        assert_eq!(n.output.reg_max, Some(10));
        assert_eq!(n.output.heads.as_ref().unwrap().len(), 3);
        assert_eq!(n.input.color, ColorOrder::BGR);
        assert_eq!(n.mean(), [103.53, 116.28, 123.675]);
        let e = shipped("efficientnet-lite0");
        assert_eq!(e.task, Task::Classifier);
        assert_eq!(e.output.softmax, Some(true));
        assert_eq!(
            e.groups["flame_like"],
            vec![470, 556, 607, 626, 644, 862, 980]
        );
        assert_eq!(e.groups["bird"].len(), 59);
    }

    const YOLO: &str = r#"
        name = "m"
        task = "detector"
        file = "m.onnx"
        sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
        licence = "MIT"
        source = "test"
        [input]
        name = "images"
        width = 640
        height = 640
        layout = "NCHW"
        color = "RGB"
        std = [255.0, 255.0, 255.0]
        resize = "letterbox"
        [output]
        format = "yolov8"
        classes_file = "c.txt"
    "#;

    #[test]
    fn minimal_yolo_manifest_parses_with_defaults() {
        let m = Manifest::parse(YOLO).unwrap();
        assert_eq!(m.mean(), [0.0; 3]);
        assert_eq!(m.input.dtype, InputType::Float32);
        assert!(m.output.score_threshold.is_none());
    }

    #[test]
    fn incidents_table_maps_classes_and_rejects_unknown_incidents() {
        let m = Manifest::parse(&format!("{YOLO}[incidents]\nfire = [\"flame\"]\n")).unwrap();
        assert_eq!(m.incidents.fire, vec!["flame".to_string()]);
        assert!(m.incidents.smoke.is_empty());
        let err = Manifest::parse(&format!("{YOLO}[incidents]\nsteam = [\"s\"]\n"))
            .unwrap_err()
            .join("\n");
        assert!(err.contains("steam"), "{err}");
    }

    #[test]
    fn unknown_field_is_rejected_with_its_name() {
        let text = YOLO.replace("resize = ", "resise = \"x\"\nresize = ");
        let err = Manifest::parse(&text).unwrap_err().join("\n");
        assert!(err.contains("resise"), "{err}");
    }

    #[test]
    fn fields_of_other_formats_and_missing_fields_are_named() {
        let text = YOLO.replace(
            "format = \"yolov8\"",
            "format = \"nanodet\"\nsoftmax = true\nnms_iou = 0\n",
        );
        let err = Manifest::parse(&text).unwrap_err();
        let all = err.join("\n");
        assert!(
            all.contains("output.softmax: only used by format classifier"),
            "{all}"
        );
        assert!(
            all.contains("output.reg_max: required for format nanodet"),
            "{all}"
        );
        assert!(all.contains("output.heads: required"), "{all}");
        assert!(
            all.contains("output.nms_iou: must be 0 < x <= 1, got 0"),
            "{all}"
        );
    }

    #[test]
    fn task_must_match_format_and_sha_must_be_hex() {
        let text = YOLO
            .replace("task = \"detector\"", "task = \"classifier\"")
            .replace("0000000000", "ZZ");
        let all = Manifest::parse(&text).unwrap_err().join("\n");
        assert!(
            all.contains("task: task classifier does not go with output.format yolov8"),
            "{all}"
        );
        assert!(
            all.contains("sha256: expected 64 lower-case hex digits"),
            "{all}"
        );
    }

    #[test]
    fn classes_file_rules() {
        assert_eq!(parse_classes("a\nb\r\n").unwrap(), vec!["a", "b"]);
        assert_eq!(
            parse_classes("a\n\nb").unwrap_err().to_string(),
            "line 2 is empty"
        );
        assert!(parse_classes("").is_err());
    }
}
