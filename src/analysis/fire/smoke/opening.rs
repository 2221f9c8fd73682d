//! The opening decision: a smoke candidate region's cues ([`SmokeRegion`])
//! and whether it *hits* (opens an incident, or keeps an open one alive),
//! including whether it is lit, not veiled.

use super::super::light::LightFit;
use super::super::regions::CellRegion;
use super::{LIT_FOLLOW, MAX_BELOW_FLAME, MIN_CHURN, MIN_TEXTURED_CELLS};

/// A region is *lit, not veiled* when at least [`MIN_TEXTURED_CELLS`] of
/// its cells, and half of them, are textured, and both its mean texture
/// follow and its textured cells' mean contrast ratio (contrast now ÷ the
/// background's) are at least [`LIT_FOLLOW`]: light fell on it (sun through
/// cloud, a lamp), scaling its texture with its brightness and keeping its
/// contrast, where smoke would have lowered both.
pub fn lit_not_veiled(textured: usize, cells: usize, tex_follow: f32, contrast: f32) -> bool {
    textured >= MIN_TEXTURED_CELLS
        && textured * 2 >= cells
        && tex_follow >= LIT_FOLLOW
        && contrast >= LIT_FOLLOW
}

/// One smoke candidate region with its cues.
#[derive(Debug, Clone)]
pub struct SmokeRegion {
    pub region: CellRegion,
    /// Smoky cells, mean of the last three frames.
    pub cells: f32,
    /// Area now ÷ area [`LAG_S`](super::LAG_S) ago (at least one cell).
    pub growth: f32,
    /// Smoky cells [`LAG_S`](super::LAG_S) ago, mean of three frames.
    pub before: f32,
    /// Cells the top edge rose over [`LAG_S`](super::LAG_S).
    pub rise: i32,
    /// Mean contrast ratio over the region (lower is thicker smoke).
    pub edge_ratio: f32,
    /// Cells of the region over a textured background (contrast measured),
    /// and their mean contrast ratio (1 when there are none).
    pub textured_cells: usize,
    pub textured_ratio: f32,
    /// Cells smoky by edge loss and by veil in the last frame.
    pub edge_cells: usize,
    pub veil_cells: usize,
    /// Share of the region below the bottom of a flame candidate it surrounds
    /// (0 when it surrounds none).
    pub below_flame: f32,
    /// Share of the region's cells that moved sharply (a quarter of their
    /// pixels changing by the change threshold in one frame) in the last
    /// [`LAG_S`](super::LAG_S) seconds: people and vehicles do, smoke does not.
    pub motion: f32,
    /// Share of the region's cells that churned (see
    /// [`SmokeModel::churny`](super::SmokeModel::churny)) in at least a third
    /// of the frames of the last [`PERSIST_S`](super::PERSIST_S) seconds.
    pub churn: f32,
    /// The region's mean churn in the last frame ÷ the churn floor.
    pub churn_level: f32,
    /// Cells both side edges moved the same way over [`LAG_S`](super::LAG_S)
    /// (positive to the right; see [`slide`](super::slide)).
    pub drift: f32,
    /// Mean [texture follow](super::SmokeModel::tex_follow) over the region's cells
    /// with some texture, and how many there were.
    pub tex_follow: f32,
    pub tex_n: usize,
    /// The region's pooled [light fit](super::super::light::LightFit).
    pub light: LightFit,
    pub size_ok: bool,
    pub in_place_ok: bool,
    pub growing_ok: bool,
    pub churn_ok: bool,
    /// The region did not slide sideways (see [`MIN_SLIDE`](super::MIN_SLIDE)).
    pub still_ok: bool,
    /// The region is not a textured patch lit up (see [`lit_not_veiled`])
    /// nor lit by the [light fit](super::super::light::LightFit::lit).
    pub lit_ok: bool,
    /// Share of the region's cells the model holds
    /// [unproven](super::SmokeModel::unproven).
    pub unproven: f32,
    /// At most [`MAX_UNPROVEN`](super::MAX_UNPROVEN) of the region is unproven.
    pub proven_ok: bool,
    /// The zone had an open incident (growth not required).
    pub sustaining: bool,
}

impl SmokeRegion {
    pub fn hit(&self) -> bool {
        self.size_ok
            && !self.is_glow()
            && (self.sustaining
                || (self.in_place_ok
                    && self.growing_ok
                    && self.churn_ok
                    && self.still_ok
                    && self.lit_ok
                    && self.proven_ok))
    }

    /// The region is a flame's glow: it surrounds a flame candidate and
    /// reaches well below the flame's base, where smoke, rising from the
    /// fire, does not go.
    pub fn is_glow(&self) -> bool {
        self.below_flame >= MAX_BELOW_FLAME
    }

    pub fn cues(&self) -> Vec<&'static str> {
        let mut c = vec!["low_saturation"];
        if self.edge_cells > 0 {
            c.push("edge_loss");
        }
        if self.veil_cells > 0 {
            c.push("veil");
        }
        if self.in_place_ok {
            c.push("persistence");
        }
        if self.growth >= 1.1 {
            c.push("growth");
        }
        if self.rise >= 1 {
            c.push("rising");
        }
        if self.churn >= MIN_CHURN {
            c.push("churn");
        }
        c
    }

    pub fn score(&self, min_cells: f32) -> f32 {
        let a = (self.cells / (4.0 * min_cells.max(1.0))).min(1.0);
        let e = (1.0 - self.edge_ratio).clamp(0.0, 1.0);
        (0.4 + 0.3 * a + 0.3 * e).min(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lit_not_veiled_needs_texture_that_kept_up_with_the_brightness() {
        // Sunlit textured wall: texture rose with the light.
        assert!(lit_not_veiled(10, 12, 0.97, 0.97));
        // A veil over the same wall lowers texture and contrast.
        assert!(!lit_not_veiled(10, 12, 0.75, 0.8));
        // A plume's own wisps can keep the gradient up, never the contrast.
        assert!(!lit_not_veiled(10, 12, 0.96, 0.72));
        // Mostly flat ground: the cue cannot tell, so it does not reject.
        assert!(!lit_not_veiled(3, 12, 0.99, 0.99));
        assert!(!lit_not_veiled(2, 2, 0.99, 0.99));
    }
}
