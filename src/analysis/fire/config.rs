//! The `[cameras.analyzers.fire]` table (with its zones and its optional
//! `detector`) and its validation. Tuning guide: `docs/fire.md`.

use crate::analysis::detector::config::RuntimeConfig;
use crate::analysis::registry::{AnalyzerConfig, BuildContext};
use crate::analysis::{AnalysisError, Analyzer};
use crate::settings::{check_zones, default_true, push, ConfigProblem, ZoneConfig};
use serde::Deserialize;

/// `[cameras.analyzers.fire]`: flame and smoke detection without a model
/// (colour, flicker, growth, persistence; smoke by softened edges), with an
/// optional ONNX second opinion. Tuning guide: `docs/fire.md`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FireConfig {
    /// Raise `fire` alerts (flames). Default: true.
    #[serde(default = "default_true")]
    pub flame: bool,
    /// Raise `smoke` alerts. Default: true.
    #[serde(default = "default_true")]
    pub smoke: bool,
    /// Where to look, each with its own sensitivity. Default: the whole frame at sensitivity 0.5.
    #[serde(default)]
    pub zones: Vec<FireZoneConfig>,
    /// Polygons never looked at: known light sources such as a flashing
    /// beacon, a lamp or a charger LED. Default: none.
    #[serde(default)]
    pub masks: Vec<ZoneConfig>,
    /// N: frames out of the last `confirm_window` in which every flame cue must
    /// hold before a `fire` alert is raised, 1..=confirm_window. Default: 8.
    #[serde(default = "default_fire_confirm_frames")]
    pub confirm_frames: u32,
    /// M: the confirmation window in frames, 1..=64. Default: 12 (1.2 s at 10 fps).
    #[serde(default = "default_fire_confirm_window")]
    pub confirm_window: u32,
    /// N for `smoke` alerts: frames out of the last `confirm_window` in which
    /// a smoke region must hit, 1..=confirm_window. A smoke hit already holds
    /// a second of evidence (see `docs/fire.md`), so fewer are needed.
    /// Default: half of `confirm_window`, rounded up (6 of 12).
    #[serde(default)]
    pub smoke_confirm_frames: Option<u32>,
    /// Smallest flame that counts, as a fraction of the frame's area, at
    /// sensitivity 0.5, 0 < x <= 0.5. Default: 0.00012 (about 28 pixels, a
    /// 5×5 flame, at 640×360).
    #[serde(default = "default_fire_min_flame_area")]
    pub min_flame_area: f32,
    /// Smallest smoke region that counts, as a fraction of the frame's area, at
    /// sensitivity 0.5, 0 < x <= 0.5. Default: 0.0018 (about 415 pixels at 640×360).
    #[serde(default = "default_fire_min_smoke_area")]
    pub min_smoke_area: f32,
    /// An `update` is sent when the burning (or smoking) area has grown by this
    /// factor since the last message, >= 1.1. Default: 1.5.
    #[serde(default = "default_fire_update_growth")]
    pub update_growth: f32,
    /// Fewest seconds between two `update`s of one incident, 0..=3600. Default: 5.
    #[serde(default = "default_fire_update_interval")]
    pub update_interval_s: f32,
    /// Seconds with no confirmed sighting after which the incident ends, 1..=3600. Default: 20.
    #[serde(default = "default_fire_end_after")]
    pub end_after_s: f32,
    /// Ask the shipped crop classifier (EfficientNet-Lite0, `flame_like` group)
    /// for a second opinion on flame candidates before alerting. Default: false
    /// (it did not improve the scene scorecard; see `docs/fire.md`).
    #[serde(default)]
    pub classifier: bool,
    /// Least `flame_like` score the classifier must give, 0..=1. Default: 0.05.
    #[serde(default = "default_fire_classifier_min")]
    pub classifier_min_score: f32,
    /// Ask the shipped COCO detector (`nanodet-g-coco`, when it is installed)
    /// where people and vehicles are, on the shared inference worker: cells
    /// under one during the smoke background's first two seconds are
    /// relearnt, and cells under one when a smoke alert is about to open are
    /// not smoke (see `docs/fire.md`). A few inferences per camera start and
    /// per smoke alert, never per frame. Default: true.
    #[serde(default = "default_true")]
    pub person_detector: bool,
    /// A smoke region must *churn* before it opens a `smoke` incident: a
    /// third of its cells changing inside (wisps moving both ways) in a third
    /// of the last second's frames, unless its textured cells lost their
    /// edges (contrast down to 0.7). "Changing" is measured against the
    /// camera's own churn noise, learnt over a minute. Patchy changes of
    /// light (sun through cloud) and flat moving bodies (a pale car) have no
    /// churn (see `docs/fire.md`, "Churn"). Default: true.
    #[serde(default = "default_true")]
    pub smoke_churn: bool,
    /// An integrator's fire/smoke ONNX detector. Default: none.
    #[serde(default)]
    pub detector: Option<FireDetectorConfig>,
    /// Not a key: the file's `[runtime]` table, copied here by
    /// [`Config::parse`](crate::config::Config::parse) so the models above
    /// load from `runtime.models_dir`.
    #[serde(skip)]
    pub runtime: RuntimeConfig,
}

/// A fire zone: a polygon and how eager to be inside it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FireZoneConfig {
    /// Zone name reported in alerts. Required.
    pub name: String,
    /// The name staff see, any UTF-8, e.g. `"一号车棚"`. Default: `name`.
    #[serde(default)]
    pub display_name: Option<String>,
    /// At least three `[x, y]` points, each in 0..=1. Required.
    pub polygon: Vec<[f32; 2]>,
    /// 0..=1: higher finds smaller, calmer flames and thinner smoke sooner, at
    /// more risk of false alerts. Each 0.25 step scales the area, flicker and
    /// smoke thresholds by about 1.4×. Default: 0.5.
    #[serde(default = "default_fire_sensitivity")]
    pub sensitivity: f32,
}

/// `[cameras.analyzers.fire.detector]`: an integrator's ONNX fire/smoke detector.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FireDetectorConfig {
    /// Model folder name under `runtime.models_dir` (holding a `model.toml`
    /// whose `name` is the folder's). Required.
    pub model: String,
    /// How the detector's boxes combine with the classic candidates:
    /// `confirm` (a classic candidate alerts only when a detector box of its
    /// kind overlaps it) or `replace` (detector boxes are the candidates;
    /// colour and flicker are not required). Default: `confirm`.
    #[serde(default)]
    pub fusion: FireFusion,
    /// Least detector score that counts, 0..=1. Default: 0.4.
    #[serde(default = "default_fire_detector_min")]
    pub min_score: f32,
    /// Run the detector on every n-th frame (its boxes hold until the next run), 1..=100. Default: 5.
    #[serde(default = "default_fire_detector_every")]
    pub every_n_frames: u32,
    /// Model class names that mean flame, overriding the model manifest's
    /// `[incidents] fire` list. Each must be one of the model's classes.
    /// Default: unset (the manifest's list).
    #[serde(default)]
    pub fire_classes: Option<Vec<String>>,
    /// Model class names that mean smoke, overriding the model manifest's
    /// `[incidents] smoke` list. Each must be one of the model's classes.
    /// Default: unset (the manifest's list).
    #[serde(default)]
    pub smoke_classes: Option<Vec<String>>,
}

/// How an integrator's detector and the classic candidates are fused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FireFusion {
    /// Both must agree: classic cues confirmed and a detector box overlapping.
    #[default]
    Confirm,
    /// The detector alone proposes candidates; N-of-M confirmation still applies.
    Replace,
}

fn default_fire_confirm_frames() -> u32 {
    8
}
fn default_fire_confirm_window() -> u32 {
    12
}
fn default_fire_min_flame_area() -> f32 {
    0.00012
}
fn default_fire_min_smoke_area() -> f32 {
    0.0018
}
fn default_fire_update_growth() -> f32 {
    1.5
}
fn default_fire_update_interval() -> f32 {
    5.0
}
fn default_fire_end_after() -> f32 {
    20.0
}
fn default_fire_classifier_min() -> f32 {
    0.05
}
fn default_fire_sensitivity() -> f32 {
    0.5
}
fn default_fire_detector_min() -> f32 {
    0.4
}
fn default_fire_detector_every() -> u32 {
    5
}

impl FireConfig {
    /// Checks the table; `base` is its path, e.g. `cameras[0].analyzers.fire`.
    pub fn check(&self, base: &str, p: &mut Vec<ConfigProblem>) {
        if !self.flame && !self.smoke {
            push(
                p,
                format!("{base}.flame"),
                "flame and smoke are both false: remove the table to turn the analyzer off",
            );
        }
        let zones: Vec<ZoneConfig> = self
            .zones
            .iter()
            .map(|z| ZoneConfig {
                name: z.name.clone(),
                display_name: z.display_name.clone(),
                polygon: z.polygon.clone(),
            })
            .collect();
        check_zones(&zones, &format!("{base}.zones"), p);
        for (i, z) in self.zones.iter().enumerate() {
            if !(0.0..=1.0).contains(&z.sensitivity) {
                push(
                    p,
                    format!("{base}.zones[{i}].sensitivity"),
                    format!("must be 0..=1, got {}", z.sensitivity),
                );
            }
        }
        check_zones(&self.masks, &format!("{base}.masks"), p);
        if !(1..=64).contains(&self.confirm_window) {
            push(
                p,
                format!("{base}.confirm_window"),
                format!("must be 1..=64, got {}", self.confirm_window),
            );
        }
        if self.confirm_frames == 0 || self.confirm_frames > self.confirm_window {
            push(
                p,
                format!("{base}.confirm_frames"),
                format!(
                    "must be 1..=confirm_window ({}), got {}",
                    self.confirm_window, self.confirm_frames
                ),
            );
        }
        if let Some(n) = self.smoke_confirm_frames {
            if n == 0 || n > self.confirm_window {
                push(
                    p,
                    format!("{base}.smoke_confirm_frames"),
                    format!(
                        "must be 1..=confirm_window ({}), got {n}",
                        self.confirm_window
                    ),
                );
            }
        }
        for (name, v) in [
            ("min_flame_area", self.min_flame_area),
            ("min_smoke_area", self.min_smoke_area),
        ] {
            if !(v > 0.0 && v <= 0.5) {
                push(
                    p,
                    format!("{base}.{name}"),
                    format!("must be > 0 and <= 0.5, got {v}"),
                );
            }
        }
        if self.update_growth.is_nan() || self.update_growth < 1.1 {
            push(
                p,
                format!("{base}.update_growth"),
                format!("must be >= 1.1, got {}", self.update_growth),
            );
        }
        if !(0.0..=3600.0).contains(&self.update_interval_s) {
            push(
                p,
                format!("{base}.update_interval_s"),
                format!("must be 0..=3600, got {}", self.update_interval_s),
            );
        }
        if !(1.0..=3600.0).contains(&self.end_after_s) {
            push(
                p,
                format!("{base}.end_after_s"),
                format!("must be 1..=3600, got {}", self.end_after_s),
            );
        }
        if !(0.0..=1.0).contains(&self.classifier_min_score) {
            push(
                p,
                format!("{base}.classifier_min_score"),
                format!("must be 0..=1, got {}", self.classifier_min_score),
            );
        }
        if let Some(d) = &self.detector {
            d.check(&format!("{base}.detector"), p);
        }
    }
}

impl FireDetectorConfig {
    fn check(&self, dp: &str, p: &mut Vec<ConfigProblem>) {
        if self.model.trim().is_empty() {
            push(p, format!("{dp}.model"), "must name a model folder or path");
        }
        if !(0.0..=1.0).contains(&self.min_score) {
            push(
                p,
                format!("{dp}.min_score"),
                format!("must be 0..=1, got {}", self.min_score),
            );
        }
        if !(1..=100).contains(&self.every_n_frames) {
            push(
                p,
                format!("{dp}.every_n_frames"),
                format!("must be 1..=100, got {}", self.every_n_frames),
            );
        }
        let set_empty = |c: &Option<Vec<String>>| c.as_ref().is_some_and(|v| v.is_empty());
        if set_empty(&self.fire_classes) && set_empty(&self.smoke_classes) {
            push(
                p,
                format!("{dp}.fire_classes"),
                "fire_classes and smoke_classes are both empty: the detector could find nothing",
            );
        }
    }
}

impl AnalyzerConfig for FireConfig {
    fn check(&self, path: &str, p: &mut Vec<ConfigProblem>) {
        FireConfig::check(self, path, p);
    }

    fn wanted_models(&self) -> Vec<&'static str> {
        if self.smoke && self.person_detector {
            vec![super::models::PEOPLE_MODEL]
        } else {
            Vec::new()
        }
    }

    /// Without its people detector (not asked for, or not loaded) smoke runs
    /// on motion cues only; that is logged, not an error.
    fn build(&self, ctx: &BuildContext<'_>) -> Result<Box<dyn Analyzer>, AnalysisError> {
        let a = super::models::build(self, ctx.camera.detect.fps, &ctx.camera.name, ctx.models)
            .map_err(|e| ctx.setup_error("fire", e.to_string()))?;
        Ok(Box::new(a))
    }
}
