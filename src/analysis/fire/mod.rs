//! The fire analyzer: `fire` (flames, severity critical) and `smoke` (severity
//! major) alerts for e-bike sheds, with no model needed.
//!
//! Per frame, in order (each step is its own module):
//!
//! 1. [`features`]: the frame is averaged down to ~320 px wide and summarised
//!    per 4×4 cell: flame-coloured pixels (a YCbCr rule relative to the
//!    frame's own mean colour, with a brightness-only rule for grey IR
//!    frames), how many of them flickered, and the luma, gradient and chroma
//!    the smoke test needs. Pixels outside the zones or inside masks are skipped.
//! 2. [`flame`]: cells that stay flame-coloured form candidate regions, kept
//!    when they flicker, do not blink off, and stay in place.
//! 3. [`smoke`]: cells whose texture fades to grey against a slow background
//!    form regions, kept when they persist and grow or rise, and do not
//!    move like a rigid thing ([`objects`]). A smoke region round a flame
//!    candidate is that flame's glow (`fire`); one round a young flame's
//!    bright flickering core waits for the flame ([`glow`]).
//! 4. Optional second opinions ([`FlameVerifier`], [`FireDetector`]; the ONNX
//!    ones and building an analyzer with them are in [`models`]), fused by
//!    the rule in `docs/fire.md`. Where people and vehicles are
//!    ([`PeopleFinder`], the shipped COCO detector) is asked on the shared
//!    inference worker, never on the camera's thread: during the smoke
//!    background's warm-up and when a smoke alert is about to open (see
//!    [`smoke`]).
//! 5. [`lifecycle`]: N-of-M confirmation per zone, then `new`, `update`s as the
//!    area grows, and `end` once nothing has been seen for a while.
//!
//! All timing uses the frames' stream time (`pts`), so replay at any speed
//! gives the same alerts as live.
//!
//! This file holds the public types, the analyzer's state and its builders.
//! The steps above run in `pipeline`; `fusion` turns candidates (and an
//! integrator's detector boxes) into each zone's observation; `debug`
//! holds the `--explain` cues and the `--debug-video` boxes; `boxes` the
//! conversions between the analysis grid and the frame.

pub mod config;
pub mod features;
pub mod flame;
pub mod glow;
pub mod lifecycle;
pub mod light;
pub mod models;
pub mod objects;
pub mod regions;
pub mod smoke;

mod boxes;
mod debug;
mod fusion;
mod pipeline;

use super::detector::worker::{InferenceClient, InferencePool};
use super::explain::{Cue as ExplainCue, Explain};
use super::{Finding, ZoneMask};
use crate::alert::{AlertKind, BBox, Severity};
use crate::ingest::Frame;
use config::{FireConfig, FireFusion};
use debug::DebugView;
use features::{Extractor, Grid, History, ZoneMap};
use flame::FlameParams;
use lifecycle::{LifecycleConfig, Tracker};
use regions::CellRegion;
use serde_json::Value;
use smoke::{SmokeModel, SmokeParams};

/// Errors from a fire analyzer's optional models.
#[derive(Debug, thiserror::Error)]
pub enum FireError {
    #[error("second-opinion model failed: {0}")]
    Model(String),
}

/// A second opinion on a flame candidate: the shipped crop classifier's
/// `flame_like` group, or anything else that scores crops.
pub trait FlameVerifier: Send {
    /// How flame-like the crop looks, 0..=1.
    fn flame_like(&mut self, crop: &image::RgbImage) -> Result<f32, FireError>;
}

/// A box from an integrator's fire/smoke detector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectedBox {
    /// [`AlertKind::Fire`] or [`AlertKind::Smoke`].
    pub kind: AlertKind,
    pub bbox: BBox,
    pub score: f32,
}

/// An integrator's whole-frame fire/smoke detector.
pub trait FireDetector: Send {
    /// Boxes of flame and smoke in the frame, any score (the analyzer filters).
    fn detect(&mut self, frame: &Frame) -> Result<Vec<DetectedBox>, FireError>;
}

/// Where people and vehicles are in a frame (the shipped COCO detector's
/// `person`, `car`, `bus` and `truck`): the smoke test leaves their cells
/// out. Bicycles and motorcycles are not asked for: an e-bike is what burns.
pub trait PeopleFinder: Send + Sync {
    /// Boxes of people and vehicles in `frame`, normalised.
    fn people_and_vehicles(&self, frame: &Frame) -> Result<Vec<BBox>, FireError>;
}

/// Tag of a question asked during the smoke background's warm-up.
const ASK_WARMUP: u64 = 1;
/// Tag of a question asked before a smoke alert opens.
const ASK_SMOKE: u64 = 2;
/// Tag of a question asked to prove relearnt cells (see
/// [`SmokeModel::unproven`](smoke::SmokeModel::unproven)).
const ASK_PROVE: u64 = 3;
/// Seconds between those questions while unproven cells remain.
const PROVE_ASK_S: f64 = 2.0;
/// Cells round a person's or vehicle's box (besides the cell it is grown
/// by) where the ground is not taken as seen bare: people standing close to
/// it dim it.
const PROVE_MARGIN: usize = 3;
/// Seconds of the warm-up at which people are looked for (start, middle, end).
const WARMUP_ASKS: [f64; 3] = [0.0, 1.0, 1.9];
/// Seconds an answer about a smoke candidate stays valid.
const PEOPLE_FRESH_S: f64 = 1.0;
/// Longest wait, seconds, for that answer before the alert opens without it
/// (the worker is overloaded).
const PEOPLE_WAIT_S: f64 = 2.0;

/// The line to the COCO detector on the shared inference worker.
struct PeopleHook {
    finder: std::sync::Arc<dyn PeopleFinder>,
    client: InferenceClient<Result<Vec<BBox>, String>>,
    /// Warm-up questions asked so far.
    warmup_asked: usize,
    /// Stream time a smoke question was asked and is not answered yet.
    pending_since: Option<f64>,
    /// The last smoke answer: when it came, and the cells it covers.
    fresh: Option<(f64, Vec<bool>)>,
    /// The last answer after the warm-up: when it came, and the cells on or
    /// next to a person or vehicle ([`PROVE_MARGIN`]).
    seen: Option<(f64, Vec<bool>)>,
    /// When the last prove question was asked, and whether it is answered.
    prove_asked: Option<f64>,
    prove_pending: bool,
}

/// Scales a base threshold by a zone's sensitivity: 0.5 → ×1, each 0.25 step
/// up or down → ÷ or × √2 (0 → ×2, 1 → ×0.5).
pub fn sensitivity_factor(sensitivity: f32) -> f32 {
    2f32.powf((0.5 - sensitivity.clamp(0.0, 1.0)) * 2.0)
}

struct DetectorHook {
    detector: Box<dyn FireDetector>,
    fusion: FireFusion,
    min_score: f32,
    every: u64,
    /// Boxes from the last run, held until the next.
    boxes: Vec<DetectedBox>,
}

struct VerifierHook {
    verifier: Box<dyn FlameVerifier>,
    min_score: f32,
    /// Per zone: stream time of the last refusal (asked again after 1 s).
    refused_at: Vec<Option<f64>>,
    last_score: Vec<Option<f32>>,
}

/// Size-dependent state, rebuilt when the frame size changes.
struct State {
    grid: Grid,
    zones: ZoneMap,
    extractor: Extractor,
    history: History,
    smoke: SmokeModel,
    flame_params: FlameParams,
    smoke_params: SmokeParams,
    /// Cells lit by the last frame's flame candidates (their glow is not smoke).
    near_flame: Vec<bool>,
    /// The last frame's flame candidate regions and seeds.
    flame_boxes: Vec<CellRegion>,
}

/// See the module doc.
pub struct FireAnalyzer {
    cfg: FireConfig,
    fps: u32,
    zone_names: Vec<String>,
    sensitivity: Vec<f32>,
    state: Option<State>,
    flame_trackers: Vec<Tracker>,
    smoke_trackers: Vec<Tracker>,
    next_incident: u64,
    frames: u64,
    last_t: Option<f64>,
    verifier: Option<VerifierHook>,
    detector: Option<DetectorHook>,
    people: Option<PeopleHook>,
    warned_size: bool,
    explain: Explain,
    /// What the last frame showed, for `--debug-video`.
    debug: DebugView,
    /// Per zone and kind (0 flame, 1 smoke): stream time of the last logged
    /// rejection (one line a second at most).
    rejected_at: Vec<[f64; 2]>,
    /// Per zone and kind: the cues of the last sighting, for the explanation
    /// of the alert it opens.
    last_cues: Vec<[Vec<ExplainCue>; 2]>,
    /// Per zone, the hold of smoke round a young flame's core (see [`glow`]).
    core_hold: glow::CoreHold,
}

impl FireAnalyzer {
    /// An analyzer for frames delivered at about `fps` frames per second (used
    /// only when frames carry no stream time).
    pub fn new(cfg: &FireConfig, fps: u32) -> FireAnalyzer {
        let (zone_names, sensitivity): (Vec<String>, Vec<f32>) = if cfg.zones.is_empty() {
            (vec!["frame".to_string()], vec![0.5])
        } else {
            cfg.zones
                .iter()
                .map(|z| (z.name.clone(), z.sensitivity))
                .unzip()
        };
        let lc = LifecycleConfig {
            confirm_frames: cfg.confirm_frames.max(1) as usize,
            confirm_window: cfg.confirm_window.max(cfg.confirm_frames).max(1) as usize,
            update_growth: cfg.update_growth,
            update_interval_s: cfg.update_interval_s as f64,
            end_after_s: cfg.end_after_s as f64,
        };
        let smoke_lc = LifecycleConfig {
            confirm_frames: cfg
                .smoke_confirm_frames
                .unwrap_or(lc.confirm_window.div_ceil(2) as u32)
                .clamp(1, lc.confirm_window as u32) as usize,
            ..lc
        };
        let n = zone_names.len();
        FireAnalyzer {
            cfg: cfg.clone(),
            fps: fps.max(1),
            zone_names,
            sensitivity,
            state: None,
            flame_trackers: vec![Tracker::new(lc); n],
            smoke_trackers: vec![Tracker::new(smoke_lc); n],
            next_incident: 0,
            frames: 0,
            last_t: None,
            verifier: None,
            detector: None,
            people: None,
            warned_size: false,
            explain: Explain::default(),
            debug: DebugView::default(),
            rejected_at: vec![[f64::NEG_INFINITY; 2]; n],
            last_cues: vec![[Vec::new(), Vec::new()]; n],
            core_hold: glow::CoreHold::new(n),
        }
    }

    /// Adds a second opinion asked before a flame incident opens: it must
    /// score the candidate's crop at least `min_score`.
    pub fn with_verifier(mut self, verifier: Box<dyn FlameVerifier>, min_score: f32) -> Self {
        let n = self.zone_names.len();
        self.verifier = Some(VerifierHook {
            verifier,
            min_score,
            refused_at: vec![None; n],
            last_score: vec![None; n],
        });
        self
    }

    /// Adds the people-and-vehicles finder, asked on `pool` (the shared
    /// inference worker) for the camera named `camera`; see [`PeopleFinder`].
    pub fn with_people(
        mut self,
        finder: std::sync::Arc<dyn PeopleFinder>,
        pool: &InferencePool,
        camera: &str,
    ) -> Self {
        self.people = Some(PeopleHook {
            finder,
            client: pool.client(camera),
            warmup_asked: 0,
            pending_since: None,
            fresh: None,
            seen: None,
            prove_asked: None,
            prove_pending: false,
        });
        self
    }

    /// Whether a people-and-vehicles finder is attached (for tests).
    pub fn has_people_finder(&self) -> bool {
        self.people.is_some()
    }

    /// Cells of the smoke background being relearnt because a person or
    /// vehicle stood on them during its warm-up (for tests and debugging).
    pub fn smoke_cells_relearning(&self) -> usize {
        self.state.as_ref().map_or(0, |s| s.smoke.relearning())
    }

    /// Cells relearnt (as above) and not yet seen as steady bare ground,
    /// which do not count towards opening a smoke incident (for tests and
    /// debugging).
    pub fn smoke_cells_unproven(&self) -> usize {
        self.state.as_ref().map_or(0, |s| s.smoke.unproven_cells())
    }

    /// Adds an integrator's detector, fused as `fusion` says, run every
    /// `every_n_frames` frames; boxes below `min_score` are ignored.
    pub fn with_detector(
        mut self,
        detector: Box<dyn FireDetector>,
        fusion: FireFusion,
        min_score: f32,
        every_n_frames: u32,
    ) -> Self {
        self.detector = Some(DetectorHook {
            detector,
            fusion,
            min_score,
            every: every_n_frames.max(1) as u64,
            boxes: Vec::new(),
        });
        self
    }

    fn build_state(&self, width: u32, height: u32) -> State {
        let grid = Grid::new(width, height);
        let zones: Vec<ZoneMask> = if self.cfg.zones.is_empty() {
            vec![ZoneMask::full("frame", grid.w as u32, grid.h as u32)]
        } else {
            self.cfg
                .zones
                .iter()
                .map(|z| ZoneMask::from_polygon(&z.name, &z.polygon, grid.w as u32, grid.h as u32))
                .collect()
        };
        let masks: Vec<ZoneMask> = self
            .cfg
            .masks
            .iter()
            .map(|m| ZoneMask::from_polygon(&m.name, &m.polygon, grid.w as u32, grid.h as u32))
            .collect();
        let map = ZoneMap::new(&grid, &zones, &masks);
        let k: Vec<f32> = self
            .sensitivity
            .iter()
            .map(|s| sensitivity_factor(*s))
            .collect();
        let analysis_px = (grid.w * grid.h) as f32;
        State {
            flame_params: FlameParams {
                min_area: k
                    .iter()
                    .map(|k| (self.cfg.min_flame_area * analysis_px * k).max(4.0))
                    .collect(),
                min_flicker: k.iter().map(|k| flame::BASE_FLICKER * k).collect(),
            },
            smoke_params: SmokeParams {
                max_ratio: k
                    .iter()
                    .map(|k| (1.0 - (1.0 - smoke::BASE_RATIO) * k).clamp(0.1, 0.9))
                    .collect(),
                min_cells: k
                    .iter()
                    .map(|k| (self.cfg.min_smoke_area * grid.cells() as f32 * k).max(2.0))
                    .collect(),
                need_churn: self.cfg.smoke_churn,
            },
            extractor: Extractor::new(grid),
            history: History::new(grid.cells()),
            smoke: SmokeModel::new(grid.cells()),
            near_flame: vec![false; grid.cells()],
            flame_boxes: Vec::new(),
            zones: map,
            grid,
        }
    }

    /// Ends every open incident (used when the stream jumps back in time).
    fn end_all(&mut self) -> Vec<Finding> {
        let mut out = Vec::new();
        for (zi, tr) in self.flame_trackers.iter_mut().enumerate() {
            if let Some(m) = tr.force_end() {
                out.push(finding(AlertKind::Fire, &self.zone_names[zi], m));
            }
        }
        for (zi, tr) in self.smoke_trackers.iter_mut().enumerate() {
            if let Some(m) = tr.force_end() {
                out.push(finding(AlertKind::Smoke, &self.zone_names[zi], m));
            }
        }
        out
    }
}

fn finding(kind: AlertKind, zone: &str, m: lifecycle::Message) -> Finding {
    Finding {
        kind,
        severity: if kind == AlertKind::Fire {
            Severity::Critical
        } else {
            Severity::Major
        },
        state: m.state,
        incident: m.incident,
        score: m.obs.score,
        zone: Some(zone.to_string()),
        bbox: Some(m.obs.bbox),
        details: Value::Object(m.obs.details),
        picture: None,
    }
}
