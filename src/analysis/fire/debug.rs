//! What the fire analyzer shows of its reasoning: the cues of its
//! `--explain` lines (a rejected candidate's, or those of the sighting an
//! alert opens with) measured against the thresholds they were judged by,
//! and the last frame's candidate boxes that `--debug-video` draws.

use super::flame::{self, FlameParams, FlameRegion};
use super::light;
use super::regions::CellRegion;
use super::smoke::{self, SmokeParams, SmokeRegion};
use crate::alert::{snapshot, BBox};
use crate::analysis::explain::{Cue as ExplainCue, Explain, Explanation, Verdict};

/// The last frame's candidates, drawn by
/// [`Analyzer::draw_debug`](crate::analysis::Analyzer::draw_debug).
#[derive(Debug, Default, Clone)]
pub(super) struct DebugView {
    /// Frame size the boxes belong to.
    pub(super) size: (u32, u32),
    /// Flame candidates: box, hit.
    pub(super) flames: Vec<(BBox, bool)>,
    /// Smoke regions: box, hit, read as a flame's glow.
    pub(super) smoke: Vec<(BBox, bool, bool)>,
}

impl DebugView {
    /// Draws the boxes on `img` when it is the frame they belong to (see
    /// `draw_debug` for the colours).
    pub(super) fn draw(&self, img: &mut image::RgbImage) {
        if (img.width(), img.height()) != self.size {
            return;
        }
        for &(b, hit, glow) in &self.smoke {
            let c = match (glow, hit) {
                (true, _) => image::Rgb([255, 230, 0]),
                (false, true) => image::Rgb([255, 255, 255]),
                (false, false) => image::Rgb([128, 128, 160]),
            };
            snapshot::draw_box(img, b, c, 1);
        }
        for &(b, hit) in &self.flames {
            let c = if hit {
                image::Rgb([255, 0, 0])
            } else {
                image::Rgb([255, 150, 0])
            };
            snapshot::draw_box(img, b, c, if hit { 2 } else { 1 });
        }
    }
}

/// `flame cells 12..15,20..22` style subject naming a region's cell box.
pub(super) fn cells_subject(what: &str, r: &CellRegion) -> String {
    format!(
        "{what} {}..{},{}..{}",
        r.bbox.0, r.bbox.2, r.bbox.1, r.bbox.3
    )
}

/// Logs (debug) and records a rejected candidate; the reason names its
/// first failing cue.
pub(super) fn reject(
    explain: &mut Explain,
    t: f64,
    zone: &str,
    subject: String,
    cues: Vec<ExplainCue>,
) {
    let why = cues
        .iter()
        .find(|c| !c.passes())
        .map_or("not confirmed".to_string(), |c| {
            format!("{} failed", c.name)
        });
    tracing::debug!(t, zone, %subject, reason = %why, "fire: candidate rejected");
    explain.record(|| Explanation {
        analyzer: "fire",
        subject,
        verdict: Verdict::Rejected(why),
        cues,
    });
}

/// A flame candidate's cues against the thresholds it was judged by.
pub(super) fn flame_cues(
    r: &FlameRegion,
    p: &FlameParams,
    open: bool,
    grey: bool,
) -> Vec<ExplainCue> {
    let z = r.region.zone as usize;
    let relax = if open { 0.5 } else { 1.0 };
    let min_area = p.min_area.get(z).copied().unwrap_or(1.0) as f64;
    let min_flicker = p.min_flicker.get(z).copied().unwrap_or(flame::BASE_FLICKER) as f64;
    vec![
        ExplainCue::at_least("flame_area", r.area as f64, min_area * relax),
        ExplainCue::at_least("hot_pixels", r.hot as f64, (0.03 * r.area as f64).max(2.0)),
        ExplainCue::at_least("flicker", r.flicker as f64, min_flicker * relax),
        ExplainCue::at_least(
            "flip",
            r.flip as f64,
            (flame::MIN_FLIP * relax as f32) as f64,
        ),
        ExplainCue::at_least("steady", r.steady as f64, flame::MIN_STEADY as f64),
        ExplainCue::at_most("drift", r.drift as f64, flame::MAX_DRIFT as f64),
        ExplainCue::at_least(
            "structure",
            r.structure as f64,
            if grey {
                0.0
            } else {
                (flame::MIN_STRUCTURE * relax as f32) as f64
            },
        ),
    ]
}

/// A smoke region's cues against the thresholds it was judged by.
pub(super) fn smoke_cues(r: &SmokeRegion, p: &SmokeParams) -> Vec<ExplainCue> {
    let z = r.region.zone as usize;
    let relax = if r.sustaining { 0.5 } else { 1.0 };
    let min_cells = p.min_cells.get(z).copied().unwrap_or(1.0) as f64;
    let mut v = vec![
        ExplainCue::at_least("smoke_cells", r.cells as f64, min_cells * relax),
        ExplainCue::at_most(
            "below_flame",
            r.below_flame as f64,
            smoke::MAX_BELOW_FLAME as f64,
        ),
    ];
    if !r.sustaining {
        v.push(ExplainCue::at_least(
            "cells_a_second_ago",
            r.before as f64,
            (0.15 * r.cells as f64).max(1.0),
        ));
        // Growth or rise: the one that holds (or growth, when neither does).
        if r.rise >= 1 {
            v.push(ExplainCue::at_least("rise_cells", r.rise as f64, 1.0));
        } else {
            v.push(ExplainCue::at_least("growth", r.growth as f64, 1.1));
        }
        if p.need_churn {
            v.push(ExplainCue::at_least(
                "churn",
                r.churn as f64,
                smoke::MIN_CHURN as f64,
            ));
        }
        v.push(ExplainCue::at_most(
            "slide_cells",
            r.drift.abs() as f64,
            (smoke::MIN_SLIDE - 1) as f64,
        ));
        if r.textured_cells >= smoke::MIN_TEXTURED_CELLS
            && r.textured_cells * 2 >= r.region.cells.len()
        {
            // Lit, not smoke, when texture follow and contrast ratio both
            // reach LIT_FOLLOW: the smaller of the two must stay below it.
            v.push(ExplainCue::at_most(
                "lit_texture_and_contrast",
                r.tex_follow.min(r.textured_ratio) as f64,
                smoke::LIT_FOLLOW as f64,
            ));
        }
        if r.unproven > 0.0 {
            // Relearnt ground not yet seen bare (`SmokeModel::unproven`).
            v.push(ExplainCue::at_most(
                "unproven_share",
                r.unproven as f64,
                smoke::MAX_UNPROVEN as f64,
            ));
        }
        if r.light.judges() {
            // Lit by the pixels' fit when the light follow reaches
            // LIT_FIT_FOLLOW (docs/fire.md, "Light fit").
            v.push(ExplainCue::at_most(
                "light_follow",
                r.light.follow() as f64,
                light::LIT_FIT_FOLLOW as f64,
            ));
        }
    }
    v
}
