//! Smoke: regions that turn grey and soft, growing where they stand.
//!
//! Smoke is a veil: each pixel becomes `(1 − a)·background + a·grey`. That
//! shrinks the background's edges and pulls its colour towards grey, while a
//! change of lighting scales edges and brightness together. So each cell keeps
//! a slow background of its *contrast* (mean gradient ÷ (mean luma + 16),
//! which lighting changes leave roughly alone), luma and chroma, and a cell is
//! *smoky* in a frame when
//!
//! - its background had texture to lose (mean gradient ≥ 6 grey levels and
//!   contrast ≥ 0.1),
//! - its contrast fell to at most the zone's ratio of the background's (0.6 at
//!   sensitivity 0.5), or it turned at least 4 grey levels lighter (the
//!   *veil*) without warming and without gaining more texture than a quarter
//!   of that lift (a bright plume's own wisps over a dark, flat wall),
//! - it is low in chroma (≤ 24) and no more colourful than its background + 8,
//! - it is neither glare (mean luma ≤ 235) nor a deep shadow (mean luma ≥ 0.7 ×
//!   background).
//!
//! Candidate cells are smoky in 70 % of the frames of the last [`PERSIST_S`]
//! seconds and in one of the last three; nearby candidates of one zone form a
//! region. Over the last [`WINDOW_S`] seconds a region *hits* when it is large
//! enough, was partly there a second ago (at least 15 % of its area now:
//! things that arrive whole, such as a person stepping in or a headlight
//! beam, are not smoke), has grown by 10 % over the window or risen by at
//! least one cell, and is not a flame's glow (a region round a flame
//! candidate with a fifth or more of it below the flame's base: glow spreads
//! all round a flame, smoke rises from it). While the zone has an open smoke incident a
//! region of half the minimum area keeps it alive.
//!
//! To *open* an incident a hitting region must also churn inside (wisps
//! moving both ways, against the camera's churn noise learnt over a minute;
//! `smoke_churn`) or have lost its edges, must not [slide](slide) sideways
//! (both side edges moving the same way: a vehicle or its light; or, see
//! [`objects`](super::objects), a rigid band matching itself shifted, or one
//! edge running at vehicle speed while the region does not rise), and must
//! not be [lit, not veiled](lit_not_veiled) (a textured patch whose texture
//! and contrast kept up with its brightness: sun through cloud), nor lit by
//! the [light fit](super::light) (its pixels, flat ground included,
//! brightened in proportion to their background, where a veil brightens
//! the dark ones most).
//!
//! The background starts as each cell's median over the first two seconds (so
//! people passing by leave no ghost), then follows the scene with a time
//! constant of [`BACKGROUND_TAU_S`] seconds, twenty times slower where a cell
//! looks smoky, so smoke is not learnt as background.
//!
//! People and vehicles are not smoke. Besides sharp motion (below), the
//! analyzer asks the COCO detector, when it has one, where people and
//! vehicles are: cells under one during the warm-up hold them in its median
//! (a group standing and talking), so they are [relearnt](SmokeModel::relearn):
//! not smoky, and learnt [`RELEARN_TAU_S`] fast once nothing moved on them for
//! 1.5 s, until they have been learnt for [`RELEARN_S`]. A region made
//! mostly of relearnt cells not yet seen as steady bare ground (the
//! detector seeing nobody on or next to them) does not open an incident
//! ([`SmokeModel::unproven`]). Cells under one when a smoke alert is about
//! to open are not smoke candidates ([`find`]'s `excluded`).

mod background;
mod candidates;
mod opening;

pub use background::{Cue, SmokeModel};
pub use candidates::{column_counts, find, slide, smoky_span};
pub use opening::{lit_not_veiled, SmokeRegion};

/// Seconds a cell must stay smoky (70 % of its frames) to be a candidate.
pub const PERSIST_S: f64 = 1.0;
/// Seconds of history the region cues look at.
pub const WINDOW_S: f64 = 2.0;
/// Largest share of a smoke region that may lie below a flame it surrounds.
pub const MAX_BELOW_FLAME: f32 = 0.2;
/// Seconds back at which part of a smoke region must already have been
/// there, and over which it must have grown or risen.
pub const LAG_S: f64 = 1.0;
/// Time constant of the background, seconds.
pub const BACKGROUND_TAU_S: f64 = 60.0;
/// Seconds of frames whose per-cell median is the first background.
pub const WARMUP_S: f64 = 2.0;
/// Most warm-up frames kept for the median.
pub const WARMUP_MAX_FRAMES: usize = 64;
/// Texture a background cell needs before losing it counts (mean gradient,
/// grey levels; and contrast): below this, "edges" are sensor noise.
pub const MIN_TEXTURE_GRAD: f32 = 6.0;
pub const MIN_TEXTURE_CONTRAST: f32 = 0.1;
/// Contrast ratio at sensitivity 0.5.
pub const BASE_RATIO: f32 = 0.6;
/// Brightening (grey levels over the background) of a veiled cell at sensitivity 0.5.
pub const VEIL_LIFT: f32 = 4.0;
/// Gradient a veil may add per grey level of brightening: a thick plume over
/// a dark, flat wall brings its own wisps, so a bright veil may gain some
/// texture (a quarter of its lift) and still count.
pub const VEIL_TEXTURE: f32 = 0.25;
/// Frames (bit 0 this one, bit k the one k frames before) in which sharp
/// motion makes a cell not smoky: this one and the 3 before.
pub const MOTION_HOLD_MASK: u32 = 0b1111;
/// A change of a cell's mean luma between two frames this large is a jump.
pub const JUMP_Y: f32 = 6.0;
/// Seconds of stillness after which a relearnt cell (a person or vehicle
/// stood on it during the warm-up) is judged again.
pub const RELEARN_S: f64 = 1.5;
/// Time constant, seconds, at which a relearnt cell's background follows it.
pub const RELEARN_TAU_S: f64 = 0.3;
/// Frames (bit k: k frames ago) with no sharp motion before a relearnt cell
/// learns: the last 15 (1.5 s at 10 fps), longer than a walker takes to
/// cross a cell.
pub const RELEARN_QUIET_MASK: u32 = 0x7fff;
/// Seconds a relearnt cell must be seen as steady bare ground (no sharp
/// motion, its luma within [`PROVE_Y`] of the background through the gain,
/// and the COCO detector seeing nobody on or next to it) before it counts
/// towards opening a smoke incident again.
pub const PROVE_S: f32 = 1.0;
/// Share of the veil's lift within which a steady relearnt cell agrees with
/// its background (2 grey levels at sensitivity 0.5): the ground it learnt
/// is the ground it shows.
pub const PROVE_Y: f32 = 0.5;
/// Most share of a smoke region's cells that may be
/// [unproven](SmokeModel::unproven) when it opens an incident: a region made
/// mostly of ground whose background may be the people who stood there is
/// not enough to open one.
pub const MAX_UNPROVEN: f32 = 0.5;

/// Least churn floor, grey levels per pixel: a clean (or heavily
/// compressed) picture whose background does not change at all still needs
/// this much churn (twice it, [`CHURN_K`], to churn).
pub const CHURN_MIN_FLOOR: f32 = 0.2;
/// A cell *churns* in a frame when its churn is at least this many times the
/// floor.
pub const CHURN_K: f32 = 2.0;

/// Background gradient (grey levels) a cell needs for its texture follow.
pub const MIN_FOLLOW_GRAD: f32 = 2.0;

/// Least mean texture follow, and contrast ratio, of a lit patch: its
/// texture kept at least this share of the proportion by which its
/// brightness rose (the real footage's sunlit patches 0.95-0.98, contrast
/// 0.95-0.98; the generated plumes' median 0.55-0.90).
pub const LIT_FOLLOW: f32 = 0.93;

/// Time constant, seconds, over which the camera's churn noise is learnt.
pub const CHURN_NOISE_TAU_S: f64 = 60.0;

/// Least share of a smoke region's cells that must churn before it opens
/// an incident (see [`SmokeRegion::churn`]).
pub const MIN_CHURN: f32 = 0.3;

/// A region whose textured cells (at least [`MIN_TEXTURED_CELLS`]) kept at
/// most this share of their background's contrast has lost its edges, which
/// a change of light never does (it scales edges with brightness), so it
/// needs no churn to open.
pub const MAX_TEXTURED_RATIO: f32 = 0.7;
pub const MIN_TEXTURED_CELLS: usize = 3;

/// Cells (per [`LAG_S`]) by which both side edges of a region must have
/// moved the same way for it to be *sliding*: a vehicle or anything rigid
/// crossing the view moves both, while smoke grows where it stands (its
/// edges move apart, or one stays at the source). 4 cells are 5 % of the
/// frame's width per second; the generated plumes' edges move at most 3.
pub const MIN_SLIDE: i32 = 4;

/// Per-zone thresholds.
#[derive(Debug, Clone)]
pub struct SmokeParams {
    /// Most contrast (÷ background contrast) a smoky cell keeps, per zone.
    pub max_ratio: Vec<f32>,
    /// Least region size in cells, per zone.
    pub min_cells: Vec<f32>,
    /// A region must churn (or have lost its edges) to open an incident
    /// (`smoke_churn`).
    pub need_churn: bool,
}
