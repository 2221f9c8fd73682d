//! The `[cameras.analyzers.garbage]` table and its validation. Tuning guide:
//! `docs/garbage.md`.

use crate::analysis::registry::{AnalyzerConfig, BuildContext};
use crate::analysis::{AnalysisError, Analyzer};
use crate::settings::{check_zones, default_true, push, ConfigProblem, ZoneConfig};
use serde::Deserialize;

/// `[cameras.analyzers.garbage]`: alerts when a new object stays on the ground
/// in a zone for `dwell_s` with nobody at the spot. See `docs/garbage.md`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GarbageConfig {
    /// Seconds an object must stay before the alert, 1..=3600. Default: 60.
    #[serde(default = "default_garbage_dwell")]
    pub dwell_s: f32,
    /// Seconds without any motion at the spot before the alert, 0..=60. Default: 3.
    #[serde(default = "default_garbage_quiet")]
    pub quiet_s: f32,
    /// Seconds an object must be gone before its alert ends, 0.5..=60. Default: 2.
    #[serde(default = "default_garbage_removal")]
    pub removal_s: f32,
    /// Smallest object box at the zones' near (bottom) edge, as a fraction of
    /// the frame area, > 0 and < max_area; further up it shrinks with
    /// perspective (see `far_scale`). Default: 0.0016 (about 19×19 px at
    /// 640×360; 0.0004, about 10×10 px, at the far edge with the default `far_scale`).
    #[serde(default = "default_garbage_min_area")]
    pub min_area: f32,
    /// Largest object box at the zones' near (bottom) edge, as a fraction of
    /// the frame area, <= 1; further up it shrinks with perspective (see
    /// `far_scale`). Bigger changes (moved bins, light patches, a crouching
    /// person near the camera) are accepted into the background. Default: 0.04
    /// (about 96×96 px at 640×360; 0.01, about 48×48 px, at the far edge).
    #[serde(default = "default_garbage_max_area")]
    pub max_area: f32,
    /// Perspective: how large things look at the zones' far (top) edge
    /// relative to their near (bottom) edge, as a ratio of lengths, 0.05..=1.
    /// The size limits scale with its square, linearly in the row where an
    /// object meets the ground between the two edges (clamped outside them);
    /// 1 turns perspective off. With no zones the frame's top and bottom are
    /// the edges. Default: 0.5 (a person at the far edge is half as tall as
    /// at the near edge).
    #[serde(default = "default_garbage_far_scale")]
    pub far_scale: f32,
    /// Tallest object box, height / width, 0.5..=10: taller static shapes are
    /// treated as standing people and never alerted. Default: 2.0.
    #[serde(default = "default_garbage_max_aspect")]
    pub max_aspect: f32,
    /// Colour difference (0..255, on cell means) that counts as change on flat
    /// ground, 4..=128; the analyzer raises it further with measured noise. Default: 14.
    #[serde(default = "default_garbage_threshold")]
    pub threshold: f32,
    /// Time constant of the long-term background, seconds, 30..=3600. Default: 300.
    #[serde(default = "default_garbage_background")]
    pub background_s: f32,
    /// Use the shipped COCO detector (when the models are available) to make sure
    /// no person is at the spot and to find who left the object. Default: true.
    #[serde(default = "default_true")]
    pub person_detector: bool,
    /// Lowest crop-classifier `bag_like` score that may alert, 0..=1. Default: none
    /// (the score is only reported in `details.bag_like`).
    #[serde(default)]
    pub min_bag_like: Option<f32>,
    /// Zones (normalised polygons) where objects count: an object counts when the
    /// middle of its bottom edge is inside one. Default: the whole frame.
    #[serde(default)]
    pub zones: Vec<ZoneConfig>,
}

impl Default for GarbageConfig {
    fn default() -> Self {
        GarbageConfig {
            dwell_s: default_garbage_dwell(),
            quiet_s: default_garbage_quiet(),
            removal_s: default_garbage_removal(),
            min_area: default_garbage_min_area(),
            max_area: default_garbage_max_area(),
            far_scale: default_garbage_far_scale(),
            max_aspect: default_garbage_max_aspect(),
            threshold: default_garbage_threshold(),
            background_s: default_garbage_background(),
            person_detector: true,
            min_bag_like: None,
            zones: Vec::new(),
        }
    }
}

fn default_garbage_dwell() -> f32 {
    60.0
}
fn default_garbage_quiet() -> f32 {
    3.0
}
fn default_garbage_removal() -> f32 {
    2.0
}
fn default_garbage_min_area() -> f32 {
    0.0016
}
fn default_garbage_max_area() -> f32 {
    0.04
}
fn default_garbage_far_scale() -> f32 {
    0.5
}
fn default_garbage_max_aspect() -> f32 {
    2.0
}
fn default_garbage_threshold() -> f32 {
    14.0
}
fn default_garbage_background() -> f32 {
    300.0
}

impl GarbageConfig {
    /// Checks the table; `base` is its path, e.g. `cameras[0].analyzers.garbage`.
    pub fn check(&self, base: &str, p: &mut Vec<ConfigProblem>) {
        let mut range = |field: &str, v: f32, lo: f32, hi: f32| {
            if !(v >= lo && v <= hi) {
                push(
                    p,
                    format!("{base}.{field}"),
                    format!("must be {lo}..={hi}, got {v}"),
                );
            }
        };
        range("dwell_s", self.dwell_s, 1.0, 3600.0);
        range("quiet_s", self.quiet_s, 0.0, 60.0);
        range("removal_s", self.removal_s, 0.5, 60.0);
        range("max_area", self.max_area, 1e-6, 1.0);
        range("far_scale", self.far_scale, 0.05, 1.0);
        range("max_aspect", self.max_aspect, 0.5, 10.0);
        range("threshold", self.threshold, 4.0, 128.0);
        range("background_s", self.background_s, 30.0, 3600.0);
        if let Some(b) = self.min_bag_like {
            range("min_bag_like", b, 0.0, 1.0);
        }
        if !(self.min_area > 0.0 && self.min_area < self.max_area) {
            push(
                p,
                format!("{base}.min_area"),
                format!(
                    "must be > 0 and < max_area ({}), got {}",
                    self.max_area, self.min_area
                ),
            );
        }
        check_zones(&self.zones, &format!("{base}.zones"), p);
    }
}

impl AnalyzerConfig for GarbageConfig {
    fn check(&self, path: &str, p: &mut Vec<ConfigProblem>) {
        GarbageConfig::check(self, path, p);
    }

    fn wanted_models(&self) -> Vec<&'static str> {
        if self.person_detector {
            vec![super::cues::DETECTOR, super::cues::CLASSIFIER]
        } else {
            Vec::new()
        }
    }

    /// Without its person detector (not asked for, or its models not loaded)
    /// the analyzer runs on motion cues only; that is logged, not an error.
    fn build(&self, ctx: &BuildContext<'_>) -> Result<Box<dyn Analyzer>, AnalysisError> {
        let cam = ctx.camera;
        let mut a = super::GarbageAnalyzer::new(self, cam.detect.width, cam.detect.height);
        if self.person_detector {
            match ctx
                .models
                .map(|m| (m, super::cues::ModelCues::from_models(m)))
            {
                Some((m, Ok(cues))) => {
                    a = a.with_cues(std::sync::Arc::new(cues), m.inference(), &cam.name)
                }
                Some((_, Err(e))) => tracing::warn!(camera = %cam.name, error = %e,
                    "garbage: person detector unavailable; using motion cues only"),
                None => tracing::info!(camera = %cam.name,
                    "garbage: no models loaded; using motion cues only"),
            }
        }
        Ok(Box::new(a))
    }
}
