//! The `[cameras.analyzers.motion]` table and its validation.

use crate::analysis::registry::{AnalyzerConfig, BuildContext};
use crate::analysis::{AnalysisError, Analyzer};
use crate::settings::{check_zones, push, ConfigProblem, ZoneConfig};
use serde::Deserialize;

/// `[cameras.analyzers.motion]`: raises a `motion` alert when enough of a zone changes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MotionConfig {
    /// Fraction of the zone's pixels that must change, 0 < x <= 1. Default: 0.02.
    #[serde(default = "default_motion_fraction")]
    pub min_changed_fraction: f32,
    /// Per-pixel luma difference that counts as change, 1..=255. Default: 25.
    #[serde(default = "default_motion_threshold")]
    pub pixel_threshold: u8,
    /// Seconds after an alert before the next one. Default: 30.
    #[serde(default = "default_motion_cooldown")]
    pub cooldown_s: u64,
    /// Zones (polygons in normalised 0..1 coordinates) the analyzer looks at. Default: the whole frame.
    #[serde(default)]
    pub zones: Vec<ZoneConfig>,
}

fn default_motion_fraction() -> f32 {
    0.02
}

fn default_motion_threshold() -> u8 {
    25
}

fn default_motion_cooldown() -> u64 {
    30
}

impl MotionConfig {
    /// Checks the table; `base` is its path, e.g. `cameras[0].analyzers.motion`.
    pub fn check(&self, base: &str, p: &mut Vec<ConfigProblem>) {
        if !(self.min_changed_fraction > 0.0 && self.min_changed_fraction <= 1.0) {
            push(
                p,
                format!("{base}.min_changed_fraction"),
                format!("must be > 0 and <= 1, got {}", self.min_changed_fraction),
            );
        }
        if self.pixel_threshold == 0 {
            push(
                p,
                format!("{base}.pixel_threshold"),
                "must be 1..=255, got 0",
            );
        }
        check_zones(&self.zones, &format!("{base}.zones"), p);
    }
}

impl AnalyzerConfig for MotionConfig {
    fn check(&self, path: &str, p: &mut Vec<ConfigProblem>) {
        MotionConfig::check(self, path, p);
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Box<dyn Analyzer>, AnalysisError> {
        let cam = ctx.camera;
        Ok(Box::new(super::MotionAnalyzer::new(
            self,
            cam.detect.width,
            cam.detect.height,
        )))
    }
}
