//! Model-based detection: ONNX object detectors and crop classifiers run on
//! the CPU through ONNX Runtime (`ort`), shared by every camera that uses them.
//!
//! - [`Models`] is the registry built once at start: [`Models::load`] reads
//!   each named model folder (`model.toml` + `.onnx` + class names, see
//!   [`manifest`]), checks it against the ONNX file and builds one session per
//!   model. Analyzers then take cheap [`Detector`] / [`Classifier`] handles.
//! - [`Detector::detect`] resizes a frame (or a region of it) into the model
//!   input ([`preprocess`]), runs the session ([`runtime`]), decodes the
//!   outputs ([`decode`]: YOLOv5, YOLOv8/11, NanoDet, TF-OD), applies
//!   per-class thresholds and class-aware NMS, and returns boxes in frame
//!   pixels.
//! - [`Classifier::classify`] returns class probabilities and the manifest's
//!   named group scores ([`classifier`]).
//!
//! ```no_run
//! # fn demo(frame: &estatewatch::ingest::Frame) -> Result<(), estatewatch::analysis::detector::DetectorError> {
//! use estatewatch::analysis::detector::{Models, Rect};
//! let cfg = estatewatch::analysis::detector::config::RuntimeConfig::default();
//! let models = Models::load(&cfg, &["nanodet-g-coco", "efficientnet-lite0"])?;
//! let detector = models.get_detector("nanodet-g-coco")?;
//! for d in detector.detect(&frame.rgb, frame.width, frame.height, None)? {
//!     println!("{} {:.2} at {:?}", d.class, d.score, (d.x1, d.y1, d.x2, d.y2));
//! }
//! let verifier = models.get_classifier("efficientnet-lite0")?;
//! let roi = Rect { x: 100, y: 50, w: 64, h: 64 };
//! let c = verifier.classify(&frame.rgb, frame.width, frame.height, Some(roi))?;
//! let flame = c.group("flame_like").unwrap_or(0.0);
//! # let _ = flame; Ok(()) }
//! ```

pub mod classifier;
pub mod config;
pub mod decode;
pub mod manifest;
pub mod preprocess;
pub mod runtime;
pub mod worker;

pub use classifier::{ClassScore, Classification, Classifier};
pub use manifest::{IncidentClasses, Manifest, Task};

use crate::alert::BBox;
use config::RuntimeConfig;
use decode::{Candidate, Format, RawTensor};
use manifest::OutputFormat;
use preprocess::{Geometry, Prepared};
use runtime::Model;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Errors loading or running models. Messages name the file and field
/// involved and what was expected.
#[derive(Debug, thiserror::Error)]
pub enum DetectorError {
    #[error("ONNX Runtime library not found; looked for {} (run scripts/setup.sh, or set runtime.onnxruntime)", show_paths(tried))]
    RuntimeNotFound { tried: Vec<PathBuf> },
    #[error("cannot load the ONNX Runtime library {path}: {message}")]
    RuntimeLoad { path: PathBuf, message: String },
    #[error("ONNX Runtime library {path} is version {found}; estatewatch needs 1.{min_minor} or newer (run scripts/setup.sh, or point runtime.onnxruntime at a newer libonnxruntime.so)")]
    RuntimeTooOld {
        path: PathBuf,
        found: String,
        min_minor: u32,
    },
    #[error("ONNX Runtime is already loaded from {loaded} in this process; cannot also load {requested}")]
    RuntimeConflict { loaded: PathBuf, requested: PathBuf },
    #[error(
        "models folder not found; looked in {} (set runtime.models_dir)",
        show_paths(tried)
    )]
    ModelsDirNotFound { tried: Vec<PathBuf> },
    #[error("model {name:?} not found: {path} does not exist")]
    ModelNotFound { name: String, path: PathBuf },
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Manifest { path: PathBuf, message: String },
    #[error("{path}: sha256 is {actual}, but {manifest} says {expected}; the manifest does not describe this file")]
    Checksum {
        path: PathBuf,
        manifest: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("{path}: ONNX Runtime cannot load the model: {message}")]
    Session { path: PathBuf, message: String },
    #[error("{path} does not match its ONNX file: {message}")]
    Mismatch { path: PathBuf, message: String },
    #[error("model {name:?} is a {actual}, not a {wanted}")]
    WrongTask {
        name: String,
        wanted: Task,
        actual: Task,
    },
    #[error("model {name:?} was not loaded (loaded: {loaded:?})")]
    NotLoaded { name: String, loaded: Vec<String> },
    #[error("frame buffer has {got} bytes, expected {expected} for {width}x{height} RGB")]
    BadFrame {
        got: usize,
        expected: usize,
        width: u32,
        height: u32,
    },
    #[error("region of interest {roi:?} lies outside the {width}x{height} frame")]
    EmptyRoi { roi: Rect, width: u32, height: u32 },
    #[error("model {model:?}: class_thresholds names {class:?}, which is not one of its classes")]
    UnknownClass { model: String, class: String },
    #[error("model {model:?}: inference failed: {message}")]
    Inference { model: String, message: String },
    #[error("model {model:?}: unexpected output: {message}")]
    Output { model: String, message: String },
}

fn show_paths(p: &[PathBuf]) -> String {
    p.iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A rectangle of frame pixels: `x, y` top-left, `w × h` size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

/// One detected object, in frame pixels (`x2`, `y2` exclusive edges).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detection {
    /// Index into the model's class list.
    pub class_id: usize,
    /// Class name from the model's class file.
    pub class: String,
    /// Confidence 0..=1.
    pub score: f32,
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
}

impl Detection {
    /// The box normalised to the frame, as alerts carry it.
    pub fn bbox(&self, frame_width: u32, frame_height: u32) -> BBox {
        let (w, h) = (frame_width.max(1) as f32, frame_height.max(1) as f32);
        BBox {
            x: self.x1 / w,
            y: self.y1 / h,
            w: (self.x2 - self.x1) / w,
            h: (self.y2 - self.y1) / h,
        }
    }

    /// The box as a pixel rectangle (rounded outwards), e.g. to classify a crop.
    pub fn rect(&self) -> Rect {
        let x = self.x1.floor().max(0.0) as u32;
        let y = self.y1.floor().max(0.0) as u32;
        Rect {
            x,
            y,
            w: (self.x2.ceil().max(0.0) as u32).saturating_sub(x),
            h: (self.y2.ceil().max(0.0) as u32).saturating_sub(y),
        }
    }

    /// Intersection over union with another detection (0 for empty boxes).
    pub fn iou(&self, other: &Detection) -> f32 {
        decode::iou(&self.candidate(), &other.candidate())
    }

    fn candidate(&self) -> Candidate {
        Candidate {
            class_id: self.class_id,
            score: self.score,
            x1: self.x1,
            y1: self.y1,
            x2: self.x2,
            y2: self.y2,
        }
    }
}

/// Score thresholds and NMS settings for one detection call. A detector's
/// defaults come from its manifest ([`Detector::default_params`]).
#[derive(Debug, Clone, PartialEq)]
pub struct DetectParams {
    /// Minimum score for classes without their own threshold.
    pub score_threshold: f32,
    /// Minimum score by class name, overriding `score_threshold`. A value
    /// above 1 turns a class off; with `score_threshold` above 1 only the
    /// classes listed here are reported.
    pub class_thresholds: BTreeMap<String, f32>,
    /// Two boxes of one class overlapping with IoU above this: the lower-scored one is dropped.
    pub nms_iou: f32,
    /// Most detections returned, best first.
    pub max_detections: usize,
}

/// Model outputs of one run, ready for [`Detector::decode`].
#[derive(Debug, Clone)]
pub struct Outputs(Vec<RawTensor>);

struct DetectorInner {
    model: Model,
    format: Format,
    defaults: DetectParams,
}

/// A loaded object detector. Cheap to clone; all clones share one session.
#[derive(Clone)]
pub struct Detector {
    inner: Arc<DetectorInner>,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field("name", &self.inner.model.name)
            .field("format", &self.inner.format)
            .finish()
    }
}

impl Detector {
    fn from_model(mut model: Model) -> Result<Detector, DetectorError> {
        let (format, outputs) = resolve_format(&model)?;
        model.run_outputs = outputs;
        let o = &model.manifest.output;
        let defaults = DetectParams {
            score_threshold: o
                .score_threshold
                .unwrap_or(manifest::DEFAULT_SCORE_THRESHOLD),
            class_thresholds: o.class_thresholds.clone(),
            nms_iou: o.nms_iou.unwrap_or(manifest::DEFAULT_NMS_IOU),
            max_detections: o.max_detections.unwrap_or(manifest::DEFAULT_MAX_DETECTIONS),
        };
        for (field, class) in model.manifest.incidents.entries() {
            if !model.classes.iter().any(|c| c == class) {
                return Err(DetectorError::Manifest {
                    path: model.manifest_path.clone(),
                    message: format!(
                        "{field}: no class {class:?} in {}",
                        o.classes_file.display()
                    ),
                });
            }
        }
        for class in defaults.class_thresholds.keys() {
            if !model.classes.iter().any(|c| c == class) {
                return Err(DetectorError::Manifest {
                    path: model.manifest_path.clone(),
                    message: format!(
                        "output.class_thresholds.{class}: no class {class:?} in {}",
                        o.classes_file.display()
                    ),
                });
            }
        }
        Ok(Detector {
            inner: Arc::new(DetectorInner {
                model,
                format,
                defaults,
            }),
        })
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.inner.model.name
    }

    /// Class names; index = `class_id`.
    pub fn classes(&self) -> &[String] {
        &self.inner.model.classes
    }

    /// The manifest's `[incidents]` mapping (each name is one of [`Self::classes`]).
    pub fn incident_classes(&self) -> &manifest::IncidentClasses {
        &self.inner.model.manifest.incidents
    }

    /// The first class id with this name.
    pub fn class_id(&self, name: &str) -> Option<usize> {
        self.classes().iter().position(|c| c == name)
    }

    /// The model's input size (width, height).
    pub fn input_size(&self) -> (u32, u32) {
        (self.inner.model.input.width, self.inner.model.input.height)
    }

    /// Thresholds and NMS settings from the manifest.
    pub fn default_params(&self) -> &DetectParams {
        &self.inner.defaults
    }

    /// Detects objects in a packed RGB frame (`w × h × 3` bytes), or only
    /// in `roi` of it (clipped to the frame), with the manifest's thresholds.
    /// Boxes are in frame pixels, best first.
    pub fn detect(
        &self,
        rgb: &[u8],
        w: u32,
        h: u32,
        roi: Option<Rect>,
    ) -> Result<Vec<Detection>, DetectorError> {
        self.detect_with(rgb, w, h, roi, &self.inner.defaults)
    }

    /// [`Detector::detect`] with explicit thresholds.
    pub fn detect_with(
        &self,
        rgb: &[u8],
        w: u32,
        h: u32,
        roi: Option<Rect>,
        params: &DetectParams,
    ) -> Result<Vec<Detection>, DetectorError> {
        let thresholds = self.thresholds(params)?;
        let prepared = self.prepare(rgb, w, h, roi)?;
        let outputs = self.infer(&prepared)?;
        self.decode_with(&outputs, &prepared.geometry, params, &thresholds)
    }

    /// Stage 1 of [`Detector::detect`]: the input tensor for a frame region.
    pub fn prepare(
        &self,
        rgb: &[u8],
        w: u32,
        h: u32,
        roi: Option<Rect>,
    ) -> Result<Prepared, DetectorError> {
        let region = preprocess::frame_region(rgb, w, h, roi)?;
        Ok(preprocess::prepare(&self.inner.model.input, rgb, w, region))
    }

    /// Stage 2: runs the session (one caller at a time per model).
    pub fn infer(&self, prepared: &Prepared) -> Result<Outputs, DetectorError> {
        self.inner.model.run(&prepared.data).map(Outputs)
    }

    /// Stage 3: thresholds, NMS and mapping back to frame pixels.
    pub fn decode(
        &self,
        outputs: &Outputs,
        geometry: &Geometry,
        params: &DetectParams,
    ) -> Result<Vec<Detection>, DetectorError> {
        let thresholds = self.thresholds(params)?;
        self.decode_with(outputs, geometry, params, &thresholds)
    }

    fn decode_with(
        &self,
        outputs: &Outputs,
        geometry: &Geometry,
        params: &DetectParams,
        thresholds: &[f32],
    ) -> Result<Vec<Detection>, DetectorError> {
        let m = &self.inner.model;
        let cands = decode::decode(
            &self.inner.format,
            &outputs.0,
            thresholds,
            (m.input.width, m.input.height),
        )
        .map_err(|e| DetectorError::Output {
            model: m.name.clone(),
            message: e.to_string(),
        })?;
        let mapped: Vec<Candidate> = cands
            .into_iter()
            .filter_map(|c| {
                let (x1, y1, x2, y2) = geometry.to_frame(c.x1, c.y1, c.x2, c.y2);
                // Degenerate boxes (nothing left after clipping) are dropped.
                (x2 > x1 && y2 > y1).then_some(Candidate {
                    x1,
                    y1,
                    x2,
                    y2,
                    ..c
                })
            })
            .collect();
        Ok(decode::nms(mapped, params.nms_iou, params.max_detections)
            .into_iter()
            .map(|c| Detection {
                class_id: c.class_id,
                class: m.classes[c.class_id].clone(),
                score: c.score,
                x1: c.x1,
                y1: c.y1,
                x2: c.x2,
                y2: c.y2,
            })
            .collect())
    }

    /// Per-class thresholds, indexed by class id.
    fn thresholds(&self, p: &DetectParams) -> Result<Vec<f32>, DetectorError> {
        let classes = self.classes();
        let mut t = vec![p.score_threshold; classes.len()];
        for (name, &v) in &p.class_thresholds {
            let mut found = false;
            for (i, c) in classes.iter().enumerate() {
                if c == name {
                    t[i] = v;
                    found = true;
                }
            }
            if !found {
                return Err(DetectorError::UnknownClass {
                    model: self.name().to_string(),
                    class: name.clone(),
                });
            }
        }
        Ok(t)
    }
}

/// Checks the model's outputs against the manifest's format and returns the
/// decoder plus the output names it reads, in order.
fn resolve_format(model: &Model) -> Result<(Format, Vec<String>), DetectorError> {
    let nc = model.classes.len();
    let o = &model.manifest.output;
    let (iw, ih) = (model.input.width, model.input.height);
    match o.format {
        OutputFormat::Yolov5 => {
            let out = model.output(o.name.as_deref(), "output.name")?;
            model.expect_output(out, "output.name", &[Some(1), None, Some(5 + nc)], false)?;
            Ok((Format::Yolov5 { nc }, vec![out.name.clone()]))
        }
        OutputFormat::Yolov8 => {
            let out = model.output(o.name.as_deref(), "output.name")?;
            // [1, 4 + nc, N] as exported; [1, N, 4 + nc] accepted too.
            let transposed = out.dims.len() == 3
                && out.dims[1] != (4 + nc) as i64
                && out.dims[2] == (4 + nc) as i64;
            let want = if transposed {
                [Some(1), None, Some(4 + nc)]
            } else {
                [Some(1), Some(4 + nc), None]
            };
            model.expect_output(out, "output.name", &want, false)?;
            Ok((Format::Yolov8 { nc, transposed }, vec![out.name.clone()]))
        }
        OutputFormat::Nanodet => {
            let bins = o.reg_max.unwrap_or(0) as usize + 1;
            let mut heads = Vec::new();
            let mut names = Vec::new();
            for (k, h) in o.heads.as_deref().unwrap_or_default().iter().enumerate() {
                let gw = iw.div_ceil(h.stride) as usize;
                let gh = ih.div_ceil(h.stride) as usize;
                let cells = gw * gh;
                let field = format!("output.heads[{k}].scores");
                let s = model.output(Some(&h.scores), &field)?;
                model.expect_output(s, &field, &[Some(1), Some(cells), Some(nc)], false)?;
                let field = format!("output.heads[{k}].boxes");
                let b = model.output(Some(&h.boxes), &field)?;
                model.expect_output(b, &field, &[Some(1), Some(cells), Some(4 * bins)], false)?;
                heads.push((h.stride, gw));
                names.push(s.name.clone());
                names.push(b.name.clone());
            }
            Ok((Format::Nanodet { nc, bins, heads }, names))
        }
        OutputFormat::TfOd => {
            let b = model.output(o.boxes.as_deref(), "output.boxes")?;
            model.expect_output(b, "output.boxes", &[Some(1), None, Some(4)], false)?;
            let s = model.output(o.scores.as_deref(), "output.scores")?;
            model.expect_output(s, "output.scores", &[Some(1), None], false)?;
            let c = model.output(o.classes.as_deref(), "output.classes")?;
            model.expect_output(c, "output.classes", &[Some(1), None], true)?;
            let mut names = vec![b.name.clone(), s.name.clone(), c.name.clone()];
            if let Some(num) = o.num.as_deref() {
                let n = model.output(Some(num), "output.num")?;
                model.expect_output(n, "output.num", &[Some(1)], true)?;
                names.push(n.name.clone());
            }
            let class_offset = o.class_offset.unwrap_or(0);
            Ok((Format::TfOd { nc, class_offset }, names))
        }
        OutputFormat::Classifier => Err(DetectorError::WrongTask {
            name: model.name.clone(),
            wanted: Task::Detector,
            actual: Task::Classifier,
        }),
    }
}

/// The models a process uses, loaded once at start. Each model has one
/// ONNX Runtime session shared by every handle taken from here.
#[derive(Debug, Default)]
pub struct Models {
    detectors: BTreeMap<String, Detector>,
    classifiers: BTreeMap<String, Classifier>,
    dir: Option<PathBuf>,
    /// The worker analyzers run their model calls on (shared by every
    /// camera built with these models).
    inference: Arc<worker::InferencePool>,
}

impl Models {
    /// Loads the named models from the models folder (see
    /// [`runtime::locate_models_dir`]) with `runtime.intra_op_threads`
    /// threads each (default 1). Duplicate names load once. With no names,
    /// ONNX Runtime is not even loaded.
    pub fn load(cfg: &RuntimeConfig, names: &[&str]) -> Result<Models, DetectorError> {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut models = Models {
            inference: Arc::new(worker::InferencePool::new(
                cfg.inference_threads
                    .map_or(worker::default_threads(cpus), usize::from),
                cfg.inference_queue
                    .map_or(worker::DEFAULT_QUEUE, usize::from),
            )),
            ..Models::default()
        };
        if names.is_empty() {
            return Ok(models);
        }
        let env = runtime::environment(cfg)?;
        let dir = runtime::locate_models_dir(cfg)?;
        let threads = cfg.intra_op_threads.unwrap_or(1).max(1) as usize;
        for &name in names {
            if models.detectors.contains_key(name) || models.classifiers.contains_key(name) {
                continue;
            }
            let model = Model::load(&env, &dir, name, threads)?;
            match model.manifest.task {
                Task::Detector => {
                    models
                        .detectors
                        .insert(name.to_string(), Detector::from_model(model)?);
                }
                Task::Classifier => {
                    models
                        .classifiers
                        .insert(name.to_string(), Classifier::from_model(model)?);
                }
            }
        }
        models.dir = Some(dir);
        Ok(models)
    }

    /// A handle on a loaded detector.
    pub fn get_detector(&self, name: &str) -> Result<Detector, DetectorError> {
        if let Some(d) = self.detectors.get(name) {
            return Ok(d.clone());
        }
        Err(self.missing(name, Task::Detector))
    }

    /// A handle on a loaded classifier.
    pub fn get_classifier(&self, name: &str) -> Result<Classifier, DetectorError> {
        if let Some(c) = self.classifiers.get(name) {
            return Ok(c.clone());
        }
        Err(self.missing(name, Task::Classifier))
    }

    /// The shared inference worker for these models' calls
    /// ([`worker`]): analyzers take a client from it.
    pub fn inference(&self) -> &Arc<worker::InferencePool> {
        &self.inference
    }

    /// The folder models were loaded from (`None` when none were asked for).
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Whether a loaded model is a detector or a classifier.
    pub fn task(&self, name: &str) -> Option<Task> {
        if self.detectors.contains_key(name) {
            Some(Task::Detector)
        } else if self.classifiers.contains_key(name) {
            Some(Task::Classifier)
        } else {
            None
        }
    }

    /// Names of the loaded models.
    pub fn names(&self) -> Vec<&str> {
        self.detectors
            .keys()
            .chain(self.classifiers.keys())
            .map(String::as_str)
            .collect()
    }

    fn missing(&self, name: &str, wanted: Task) -> DetectorError {
        match self.task(name) {
            Some(actual) => DetectorError::WrongTask {
                name: name.to_string(),
                wanted,
                actual,
            },
            None => DetectorError::NotLoaded {
                name: name.to_string(),
                loaded: self.names().into_iter().map(String::from).collect(),
            },
        }
    }
}
