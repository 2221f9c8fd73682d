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

use super::detector::worker::{Answer, InferenceClient, InferencePool};
use super::explain::{Cue as ExplainCue, Explain, Explanation, Verdict};
use super::{Analyzer, Finding, ZoneMask};
use crate::alert::{snapshot, AlertKind, AlertState, BBox, Severity};
use crate::ingest::Frame;
use config::{FireConfig, FireFusion};
use features::{Extractor, Grid, History, ZoneMap, CELL};
use flame::{FlameParams, FlameRegion};
use lifecycle::{round2, LifecycleConfig, Observation, Tracker};
use regions::CellRegion;
use serde_json::{json, Map, Value};
use smoke::{SmokeModel, SmokeParams, SmokeRegion};

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

/// The last frame's candidates, drawn by [`Analyzer::draw_debug`].
#[derive(Debug, Default, Clone)]
struct DebugView {
    /// Frame size the boxes belong to.
    size: (u32, u32),
    /// Flame candidates: box, hit.
    flames: Vec<(BBox, bool)>,
    /// Smoke regions: box, hit, read as a flame's glow.
    smoke: Vec<(BBox, bool, bool)>,
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

/// A cell region's box in normalised frame coordinates.
fn cell_bbox(grid: &Grid, r: &CellRegion) -> BBox {
    let s = (CELL * grid.ds) as f32;
    let (fw, fh) = (grid.frame_w as f32, grid.frame_h as f32);
    let x0 = (r.bbox.0 as f32 * s).min(fw);
    let y0 = (r.bbox.1 as f32 * s).min(fh);
    let x1 = ((r.bbox.2 + 1) as f32 * s).min(fw);
    let y1 = ((r.bbox.3 + 1) as f32 * s).min(fh);
    BBox {
        x: x0 / fw,
        y: y0 / fh,
        w: (x1 - x0) / fw,
        h: (y1 - y0) / fh,
    }
}

fn union(a: BBox, b: BBox) -> BBox {
    let x0 = a.x.min(b.x);
    let y0 = a.y.min(b.y);
    let x1 = (a.x + a.w).max(b.x + b.w);
    let y1 = (a.y + a.h).max(b.y + b.h);
    BBox {
        x: x0,
        y: y0,
        w: x1 - x0,
        h: y1 - y0,
    }
}

/// Whether two boxes overlap (touching counts), after growing `a` by `margin` of its size.
fn overlaps(a: BBox, b: BBox, margin: f32) -> bool {
    let (mx, my) = (a.w * margin, a.h * margin);
    a.x - mx <= b.x + b.w && b.x <= a.x + a.w + mx && a.y - my <= b.y + b.h && b.y <= a.y + a.h + my
}

/// A crop of the frame around `b` (grown by 25 %, made square), for the verifier.
fn crop(frame: &Frame, b: BBox) -> Option<image::RgbImage> {
    let (fw, fh) = (frame.width as f32, frame.height as f32);
    let (cx, cy) = ((b.x + b.w / 2.0) * fw, (b.y + b.h / 2.0) * fh);
    let side = (b.w * fw).max(b.h * fh) * 1.25;
    let side = side.max(16.0).min(fw.min(fh));
    let x0 = (cx - side / 2.0).clamp(0.0, fw - side) as u32;
    let y0 = (cy - side / 2.0).clamp(0.0, fh - side) as u32;
    let s = side as u32;
    let img = image::RgbImage::from_raw(frame.width, frame.height, frame.rgb.to_vec())?;
    Some(image::imageops::crop_imm(&img, x0, y0, s, s).to_image())
}

impl Analyzer for FireAnalyzer {
    fn name(&self) -> &'static str {
        "fire"
    }

    /// Flame candidates (orange; red when every cue held), smoke regions
    /// (grey; white when they hit) and smoke read as a flame's glow (yellow).
    fn draw_debug(&self, img: &mut image::RgbImage) {
        if (img.width(), img.height()) != self.debug.size {
            return;
        }
        for &(b, hit, glow) in &self.debug.smoke {
            let c = match (glow, hit) {
                (true, _) => image::Rgb([255, 230, 0]),
                (false, true) => image::Rgb([255, 255, 255]),
                (false, false) => image::Rgb([128, 128, 160]),
            };
            snapshot::draw_box(img, b, c, 1);
        }
        for &(b, hit) in &self.debug.flames {
            let c = if hit {
                image::Rgb([255, 0, 0])
            } else {
                image::Rgb([255, 150, 0])
            };
            snapshot::draw_box(img, b, c, if hit { 2 } else { 1 });
        }
    }

    fn set_explain(&mut self, on: bool) {
        self.explain.on = on;
    }

    fn explain(&mut self) -> Vec<Explanation> {
        self.explain.take()
    }

    fn process(&mut self, frame: &Frame) -> Vec<Finding> {
        let expected = frame.width as usize * frame.height as usize * 3;
        if frame.rgb.len() != expected || frame.width < 8 || frame.height < 8 {
            if !self.warned_size {
                tracing::warn!(
                    width = frame.width,
                    height = frame.height,
                    bytes = frame.rgb.len(),
                    "fire analyzer: frame buffer does not match its size; skipping such frames"
                );
                self.warned_size = true;
            }
            return Vec::new();
        }
        self.frames += 1;
        let t = match frame.pts {
            Some(p) => p.as_secs_f64(),
            None => self.frames as f64 / self.fps as f64,
        };
        let mut out = Vec::new();
        // A jump back in time (stream restarted, file looped) invalidates the
        // history and the open incidents.
        if self.last_t.is_some_and(|last| t + 0.5 < last) {
            out.extend(self.end_all());
            self.state = None;
        }
        self.last_t = Some(t);
        let rebuild = match &self.state {
            Some(s) => {
                s.grid.frame_w != frame.width as usize || s.grid.frame_h != frame.height as usize
            }
            None => true,
        };
        if rebuild {
            self.state = Some(self.build_state(frame.width, frame.height));
        }
        let Some(st) = self.state.as_mut() else {
            return out;
        };

        self.debug.size = (frame.width, frame.height);
        // 0. The COCO detector's answers that arrived since the last frame.
        if let Some(h) = self.people.as_mut() {
            for (tag, answer) in h.client.poll() {
                if tag == ASK_SMOKE {
                    h.pending_since = None;
                }
                let boxes = match answer {
                    Answer::Done(Ok(b)) => b,
                    Answer::Done(Err(e)) => {
                        tracing::warn!(error = %e, "fire: people detector failed; smoke uses motion cues only");
                        continue;
                    }
                    Answer::Dropped => continue,
                };
                let cells = box_cells(&st.grid, &boxes);
                tracing::debug!(
                    t,
                    found = boxes.len(),
                    cells = cells.iter().filter(|c| **c).count(),
                    warmup = tag == ASK_WARMUP,
                    "fire: people and vehicles (COCO detector) are not smoke"
                );
                if tag == ASK_WARMUP {
                    st.smoke.relearn(
                        cells
                            .iter()
                            .enumerate()
                            .filter(|(_, c)| **c)
                            .map(|(i, _)| i),
                    );
                } else {
                    if !boxes.is_empty() {
                        self.explain.record(|| Explanation {
                            analyzer: "fire",
                            subject: "smoke check".into(),
                            verdict: Verdict::Rejected(format!(
                                "{} people or vehicles (COCO detector): their cells are not smoke for {PEOPLE_FRESH_S} s",
                                boxes.len()
                            )),
                            cues: vec![ExplainCue::at_most(
                                "people_and_vehicles",
                                boxes.len() as f64,
                                0.0,
                            )],
                        });
                    }
                    h.fresh = Some((t, cells));
                }
            }
        }
        // 1. Pixel pass, smoke background, history.
        let stats = st.extractor.process(&frame.rgb, &st.zones);
        let smoky = if self.cfg.smoke {
            st.smoke.update(
                t,
                &stats,
                &st.zones,
                &st.smoke_params,
                &st.near_flame,
                &st.history.moving,
                st.extractor.churn(),
            )
        } else {
            Vec::new()
        };
        if self.cfg.smoke {
            let luma = st.extractor.luma();
            st.smoke.fit_light(t, &st.grid, luma, &st.zones, &smoky);
        }
        st.history.push(
            t,
            &stats,
            &st.zones.active,
            &smoky,
            &st.smoke.moving_now,
            &st.smoke.churny,
        );
        // People standing still through the warm-up would stay in the
        // background's median: ask where they are at its start, middle and end.
        if let (Some(h), true) = (self.people.as_mut(), self.cfg.smoke) {
            if h.warmup_asked < WARMUP_ASKS.len() && st.smoke.age(t) >= WARMUP_ASKS[h.warmup_asked]
            {
                h.warmup_asked += 1;
                let (finder, f) = (h.finder.clone(), frame.clone());
                h.client.submit(ASK_WARMUP, move || {
                    finder.people_and_vehicles(&f).map_err(|e| e.to_string())
                });
            }
        }
        let mode = if stats.grey { "grey" } else { "colour" };

        // 2. Optional detector run.
        if let Some(d) = self.detector.as_mut() {
            if (self.frames - 1) % d.every == 0 {
                match d.detector.detect(frame) {
                    Ok(b) => {
                        d.boxes = b.into_iter().filter(|b| b.score >= d.min_score).collect();
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "fire detector failed; using the classic cues alone");
                        d.boxes.clear();
                    }
                }
            }
        }

        let nz = self.zone_names.len();
        let frame_px = (frame.width * frame.height) as f32;
        let px_area = st.grid.px_area() as f32;

        // 3. Flame candidates.
        let mut flame_obs: Vec<Option<Observation>> = vec![None; nz];
        let mut flames: Vec<FlameRegion> = Vec::new();
        if self.cfg.flame {
            let open: Vec<bool> = self.flame_trackers.iter().map(|t| t.is_open()).collect();
            flames = flame::find(
                &st.history,
                &st.grid,
                &st.zones,
                &st.flame_params,
                &open,
                stats.grey,
            );
            let open = &open;
            for r in &flames {
                tracing::trace!(
                    t,
                    zone = r.region.zone,
                    bbox = ?r.region.bbox,
                    area = r.area,
                    hot = r.hot,
                    flicker = r.flicker,
                    flip = r.flip,
                    steady = r.steady,
                    drift = r.drift,
                    growth = r.growth,
                    structure = r.structure,
                    hz = ?r.flicker_hz,
                    hit = r.hit(),
                    "flame candidate"
                );
            }
            mark_glow(&st.grid, &flames, &mut st.near_flame);
            self.debug.flames = flames
                .iter()
                .map(|r| (cell_bbox(&st.grid, &r.region), r.hit()))
                .collect();
            st.flame_boxes = flames.iter().map(|r| r.region.clone()).collect();
            st.flame_boxes
                .extend(flame::seeds(&st.history, &st.grid, &st.zones));
            flame_obs = zone_observations(
                self.detector.as_ref(),
                AlertKind::Fire,
                st,
                (nz, frame_px, mode),
                &flames,
                |r, bbox| flame_hit(r, bbox, st, px_area),
            );
            // `zi` indexes several per-zone arrays.
            #[allow(clippy::needless_range_loop)]
            for zi in 0..nz {
                let of_zone = || flames.iter().filter(move |r| r.region.zone as usize == zi);
                let biggest = |hit: bool| {
                    of_zone()
                        .filter(move |r| r.hit() == hit)
                        .max_by(|a, b| a.area.total_cmp(&b.area))
                };
                if let Some(r) = biggest(true) {
                    self.last_cues[zi][0] = flame_cues(r, &st.flame_params, open[zi], stats.grey);
                }
                if let Some(r) = biggest(false) {
                    if t - self.rejected_at[zi][0] >= 1.0 {
                        self.rejected_at[zi][0] = t;
                        let cues = flame_cues(r, &st.flame_params, open[zi], stats.grey);
                        let subject = cells_subject("flame cells", &r.region);
                        reject(&mut self.explain, t, &self.zone_names[zi], subject, cues);
                    }
                }
            }
        }

        // 4. Smoke candidates. A smoke region round a flame-coloured region
        // (hot pixels, enough area: `colour` holds) is that flame's glow or
        // its own smoke: it counts as the flame's sighting (`fire`, cue
        // `glow`), so a visible flame is never reported as mere smoke; it
        // counts as smoke too only when it also lost texture (edge loss, in at
        // least three cells: `lost_edges`),
        // which a glow, lifting the wall's light, does not.
        let mut smoke_obs: Vec<Option<Observation>> = vec![None; nz];
        if self.cfg.smoke {
            let open: Vec<bool> = self.smoke_trackers.iter().map(|t| t.is_open()).collect();
            let excluded: &[bool] = match self.people.as_ref().and_then(|h| h.fresh.as_ref()) {
                Some((at, cells)) if t - at <= PEOPLE_FRESH_S => cells,
                _ => &[],
            };
            let regions = smoke::find(
                &st.history,
                &st.grid,
                &st.zones,
                &st.smoke,
                &st.smoke_params,
                &open,
                &st.flame_boxes,
                excluded,
            );
            let hold = &mut self.core_hold;
            let round_flame = |r: &SmokeRegion| {
                self.cfg.flame
                    && (r.hit()
                        || (r.size_ok && !r.is_glow() && hold.recent(r.region.zone as usize, t)))
                    && flames
                        .iter()
                        .any(|f| f.colour_ok && touches(&r.region, &f.region))
            };
            // Round a flame, a region that only lifted (veil) is the glow;
            // one that also lost texture (edge loss) is smoke as well.
            let glow: Vec<SmokeRegion> =
                regions.iter().filter(|r| round_flame(r)).cloned().collect();
            let regions: Vec<SmokeRegion> = regions
                .into_iter()
                .filter(|r| !round_flame(r) || lost_edges(r))
                .collect();
            // A veil round a young flame's bright flickering core waits for
            // the flame to become a candidate (see `glow`).
            let core_frames = st.history.frames_within(smoke::PERSIST_S);
            let regions: Vec<SmokeRegion> = regions
                .into_iter()
                .filter(|r| {
                    let core = (r.hit() && !r.sustaining)
                        .then(|| glow::core(&st.history, st.grid.gw, r.region.bbox, core_frames))
                        .flatten()
                        .filter(|c| glow::centred(r.region.bbox, *c));
                    let held = core.is_some() && hold.hold(r.region.zone as usize, t);
                    if held {
                        tracing::debug!(t, zone = r.region.zone, bbox = ?r.region.bbox, core = ?core, "fire: smoke round a bright flickering core held, waiting for the flame");
                    }
                    !held
                })
                .collect();
            for r in glow.iter().chain(&regions) {
                tracing::trace!(
                    t,
                    zone = r.region.zone,
                    bbox = ?r.region.bbox,
                    cells = r.cells,
                    growth = r.growth,
                    rise = r.rise,
                    edge_ratio = r.edge_ratio,
                    textured = r.textured_cells,
                    textured_ratio = r.textured_ratio,
                    in_place = r.in_place_ok,
                    below_flame = r.below_flame,
                    moving = r.motion,
                    churn = r.churn,
                    churn_level = r.churn_level,
                    churn_floor = st.smoke.churn_floor,
                    drift = r.drift,
                    tex_follow = r.tex_follow,
                    tex_n = r.tex_n,
                    still = r.still_ok,
                    lit = !r.lit_ok,
                    light_follow = r.light.follow(),
                    light_slope = r.light.slope,
                    light_ratio = r.light.ratio,
                    light_spread = r.light.spread,
                    light_cells = r.light.cells,
                    churn_noise = st.smoke.churn_noise,
                    veil = r.veil_cells,
                    edge = r.edge_cells,
                    hit = r.hit(),
                    "smoke candidate"
                );
            }
            for zi in 0..nz {
                let of_zone = || regions.iter().filter(move |r| r.region.zone as usize == zi);
                let biggest = |hit: bool| {
                    of_zone()
                        .filter(move |r| r.hit() == hit)
                        .max_by(|a, b| a.cells.total_cmp(&b.cells))
                };
                if let Some(r) = biggest(true) {
                    self.last_cues[zi][1] = smoke_cues(r, &st.smoke_params);
                }
                if let Some(r) = biggest(false).filter(|r| r.cells >= 2.0) {
                    if t - self.rejected_at[zi][1] >= 1.0 {
                        self.rejected_at[zi][1] = t;
                        let cues = smoke_cues(r, &st.smoke_params);
                        let subject = cells_subject("smoke cells", &r.region);
                        reject(&mut self.explain, t, &self.zone_names[zi], subject, cues);
                    }
                }
                if let Some(g) = glow
                    .iter()
                    .find(|g| g.region.zone as usize == zi && !lost_edges(g))
                {
                    let mut cues = smoke_cues(g, &st.smoke_params);
                    cues.push(ExplainCue::at_least("touches_flame_cells", 1.0, 1.0));
                    self.last_cues[zi][0].clone_from(&cues);
                    if t - self.rejected_at[zi][1] >= 1.0 {
                        self.rejected_at[zi][1] = t;
                        let subject = cells_subject("smoke cells", &g.region);
                        tracing::debug!(t, zone = %self.zone_names[zi], %subject, "fire: smoke region round a flame counted as the flame's glow, not as smoke");
                        self.explain.record(|| Explanation {
                            analyzer: "fire",
                            subject,
                            verdict: Verdict::Rejected(
                                "smoke round a flame: counted as fire (glow)".into(),
                            ),
                            cues,
                        });
                    }
                }
            }
            self.debug.smoke = glow
                .iter()
                .map(|r| (cell_bbox(&st.grid, &r.region), true, true))
                .chain(
                    regions
                        .iter()
                        .map(|r| (cell_bbox(&st.grid, &r.region), r.hit(), false)),
                )
                .collect();
            smoke_obs = zone_observations(
                self.detector.as_ref(),
                AlertKind::Smoke,
                st,
                (nz, frame_px, mode),
                &regions,
                |r, bbox| smoke_hit(r, bbox, st),
            );
            if self.detector.as_ref().map(|d| d.fusion) != Some(FireFusion::Replace) {
                for g in &glow {
                    let z = g.region.zone as usize;
                    let Some(f) = flames
                        .iter()
                        .filter(|f| f.colour_ok && touches(&g.region, &f.region))
                        .max_by(|a, b| a.area.total_cmp(&b.area))
                    else {
                        continue;
                    };
                    let bbox = cell_bbox(&st.grid, &f.region);
                    let Some(det) = confirm(self.detector.as_ref(), AlertKind::Fire, bbox) else {
                        continue;
                    };
                    let mut hit = flame_hit(f, bbox, st, px_area);
                    hit.cues.push("glow");
                    if let Some(slot) = flame_obs.get_mut(z) {
                        if slot.is_none() {
                            merge_hit(slot, hit, frame_px, mode, det);
                        } else if let Some(o) = slot.as_mut() {
                            if let Some(Value::Array(c)) = o.details.get_mut("cues") {
                                if !c.iter().any(|v| v == "glow") {
                                    c.push(json!("glow"));
                                }
                            }
                        }
                    }
                }
            }
        }

        // 5. Confirmation and lifecycle.
        if self.cfg.flame {
            for (zi, obs) in flame_obs.into_iter().enumerate() {
                let mut obs = obs;
                // Second opinion, asked only when this hit would open an incident.
                if let (Some(v), Some(o)) = (self.verifier.as_mut(), obs.as_mut()) {
                    if self.flame_trackers[zi].would_open() {
                        let recently_refused = v.refused_at[zi].is_some_and(|r| t - r < 1.0);
                        if recently_refused {
                            obs = None;
                        } else if let Some(c) = crop(frame, o.bbox) {
                            match v.verifier.flame_like(&c) {
                                Ok(s) => {
                                    v.last_score[zi] = Some(s);
                                    o.details
                                        .insert("classifier_flame_like".into(), round2(s as f64));
                                    if s < v.min_score {
                                        v.refused_at[zi] = Some(t);
                                        obs = None;
                                    }
                                }
                                Err(e) => {
                                    tracing::warn!(error = %e, "flame classifier failed; alerting on the classic cues");
                                }
                            }
                        }
                    }
                }
                if let Some(m) = self.flame_trackers[zi].step(t, obs, &mut self.next_incident) {
                    if m.state == AlertState::New {
                        let cues = self.last_cues[zi][0].clone();
                        self.explain.record(|| Explanation {
                            analyzer: "fire",
                            subject: format!("zone {}", self.zone_names[zi]),
                            verdict: Verdict::Alert("fire".into()),
                            cues,
                        });
                    }
                    out.push(finding(AlertKind::Fire, &self.zone_names[zi], m));
                }
            }
        }
        if self.cfg.smoke {
            for (zi, obs) in smoke_obs.into_iter().enumerate() {
                let mut obs = obs;
                // While a smoke candidate builds up towards an alert, the
                // COCO detector says where people and vehicles are (asked at
                // its first hit, then twice a second); the next
                // frames leave their cells out. The alert opens only with a
                // fresh answer, so it waits for one if it has none.
                if let (Some(h), true) = (
                    self.people.as_mut(),
                    obs.is_some() && !self.smoke_trackers[zi].is_open(),
                ) {
                    let age = h.fresh.as_ref().map_or(f64::INFINITY, |(at, _)| t - at);
                    let opening = self.smoke_trackers[zi].would_open();
                    match h.pending_since {
                        // Fresh enough; asked again at half its life, so an
                        // opening seldom has to wait.
                        _ if age <= PEOPLE_FRESH_S / 2.0 => {}
                        None if age <= PEOPLE_FRESH_S => {
                            h.pending_since = Some(t);
                            let (finder, f) = (h.finder.clone(), frame.clone());
                            h.client.submit(ASK_SMOKE, move || {
                                finder.people_and_vehicles(&f).map_err(|e| e.to_string())
                            });
                        }
                        _ if age <= PEOPLE_FRESH_S => {}
                        Some(asked) if t - asked < PEOPLE_WAIT_S => {
                            if opening {
                                obs = None;
                            }
                        }
                        Some(_) => {
                            tracing::debug!(t, "fire: no answer from the people detector in time; smoke alert opens without it");
                        }
                        None => {
                            h.pending_since = Some(t);
                            let (finder, f) = (h.finder.clone(), frame.clone());
                            h.client.submit(ASK_SMOKE, move || {
                                finder.people_and_vehicles(&f).map_err(|e| e.to_string())
                            });
                            if opening {
                                obs = None;
                            }
                        }
                    }
                }
                if let Some(m) = self.smoke_trackers[zi].step(t, obs, &mut self.next_incident) {
                    if m.state == AlertState::New {
                        let cues = self.last_cues[zi][1].clone();
                        self.explain.record(|| Explanation {
                            analyzer: "fire",
                            subject: format!("zone {}", self.zone_names[zi]),
                            verdict: Verdict::Alert("smoke".into()),
                            cues,
                        });
                    }
                    out.push(finding(AlertKind::Smoke, &self.zone_names[zi], m));
                }
            }
        }
        out
    }
}

/// `flame cells 12..15,20..22` style subject naming a region's cell box.
fn cells_subject(what: &str, r: &CellRegion) -> String {
    format!(
        "{what} {}..{},{}..{}",
        r.bbox.0, r.bbox.2, r.bbox.1, r.bbox.3
    )
}

/// Logs (debug) and records a rejected candidate; the reason names its
/// first failing cue.
fn reject(explain: &mut Explain, t: f64, zone: &str, subject: String, cues: Vec<ExplainCue>) {
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
fn flame_cues(r: &FlameRegion, p: &FlameParams, open: bool, grey: bool) -> Vec<ExplainCue> {
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
fn smoke_cues(r: &SmokeRegion, p: &SmokeParams) -> Vec<ExplainCue> {
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

/// Whether two cell regions of one zone overlap or touch: within two cells,
/// the gap across which cells join one region ([`regions::group`]), so a
/// glow a row clear of its flame's cells is still round it.
fn touches(a: &CellRegion, b: &CellRegion) -> bool {
    a.zone == b.zone
        && a.bbox.0 <= b.bbox.2 + 2
        && b.bbox.0 <= a.bbox.2 + 2
        && a.bbox.1 <= b.bbox.3 + 2
        && b.bbox.1 <= a.bbox.3 + 2
}

/// Whether a smoke region round a flame lost its background's edges in at
/// least [`smoke::MIN_TEXTURED_CELLS`] cells: smoke as well as glow (a glow
/// only lifts the light; one cell of edge loss in a big glow is noise).
fn lost_edges(r: &SmokeRegion) -> bool {
    r.edge_cells >= smoke::MIN_TEXTURED_CELLS
}

/// The cells under `boxes` (normalised), grown by one cell each way.
fn box_cells(grid: &Grid, boxes: &[BBox]) -> Vec<bool> {
    let mut out = vec![false; grid.cells()];
    if grid.gw == 0 || grid.gh == 0 {
        return out;
    }
    let (gw, gh) = (grid.gw as f32, grid.gh as f32);
    for b in boxes {
        let x0 = ((b.x * gw).floor() as i64 - 1).max(0) as usize;
        let y0 = ((b.y * gh).floor() as i64 - 1).max(0) as usize;
        let x1 = (((b.x + b.w) * gw).ceil() as usize + 1).min(grid.gw);
        let y1 = (((b.y + b.h) * gh).ceil() as usize + 1).min(grid.gh);
        for y in y0..y1 {
            for x in x0..x1 {
                out[y * grid.gw + x] = true;
            }
        }
    }
    out
}

/// Marks the cells next to a flame candidate (two cells round it), whose
/// brightening is the flame's own halo rather than smoke.
fn mark_glow(grid: &Grid, regions: &[FlameRegion], near: &mut [bool]) {
    near.iter_mut().for_each(|n| *n = false);
    for r in regions {
        let (x0, y0, x1, y1) = r.region.bbox;
        for y in y0.saturating_sub(2)..=(y1 + 2).min(grid.gh - 1) {
            for x in x0.saturating_sub(2)..=(x1 + 2).min(grid.gw - 1) {
                near[y * grid.gw + x] = true;
            }
        }
    }
}

/// Confirm fusion for one classic candidate. With no detector it stands on
/// its own: `Some(None)`. With one, it counts only when a detector box of the
/// same kind, grown by 25 %, overlaps it: `Some(Some(best box score))`;
/// otherwise `None`, and the candidate is dropped.
fn confirm(detector: Option<&DetectorHook>, kind: AlertKind, bbox: BBox) -> Option<Option<f32>> {
    let Some(d) = detector else {
        return Some(None);
    };
    d.boxes
        .iter()
        .filter(|b| b.kind == kind && overlaps(bbox, b.bbox, 0.25))
        .map(|b| b.score)
        .reduce(f32::max)
        .map(Some)
}

/// One hit region, ready to merge into its zone's observation.
struct Hit {
    /// Frame pixels.
    area: f32,
    bbox: BBox,
    /// From the classic cues (a confirming detector's score, when higher,
    /// replaces it).
    score: f32,
    cues: Vec<&'static str>,
    /// Measurements of this kind of region for `details`.
    measures: Vec<(&'static str, Value)>,
}

fn flame_hit(r: &FlameRegion, bbox: BBox, st: &State, px_area: f32) -> Hit {
    let z = r.region.zone as usize;
    let min_area = st.flame_params.min_area.get(z).copied().unwrap_or(1.0);
    let min_flicker = st.flame_params.min_flicker.get(z).copied().unwrap_or(0.1);
    Hit {
        area: r.area * px_area,
        bbox,
        score: r.score(min_area, min_flicker),
        cues: r.cues(),
        measures: vec![
            ("window_growth", round2(r.growth as f64)),
            (
                "flicker_hz",
                r.flicker_hz.map_or(Value::Null, |f| round2(f as f64)),
            ),
            ("flicker", round2(r.flicker as f64)),
            ("periodicity", round2(r.periodicity as f64)),
        ],
    }
}

fn smoke_hit(r: &SmokeRegion, bbox: BBox, st: &State) -> Hit {
    let z = r.region.zone as usize;
    let min_cells = st.smoke_params.min_cells.get(z).copied().unwrap_or(1.0);
    let cell_px = (CELL * CELL * st.grid.px_area()) as f32;
    Hit {
        area: r.cells * cell_px,
        bbox,
        score: r.score(min_cells),
        cues: r.cues(),
        measures: vec![
            ("window_growth", round2(r.growth as f64)),
            ("edge_ratio", round2(r.edge_ratio as f64)),
            ("rise_cells", json!(r.rise)),
        ],
    }
}

/// Merges a hit region into its zone's observation for this frame: the
/// zone's first region opens it with its cues and measurements, later ones
/// add their area, widen the box and raise the score. `detector` is the
/// confirming detector box's score, if one ran.
fn merge_hit(
    slot: &mut Option<Observation>,
    hit: Hit,
    frame_px: f32,
    mode: &str,
    detector: Option<f32>,
) {
    let score = detector.map_or(hit.score, |s| hit.score.max(s));
    match slot {
        Some(o) => {
            o.area += hit.area;
            o.bbox = union(o.bbox, hit.bbox);
            o.score = o.score.max(score);
            o.details.insert("area_px".into(), json!(o.area.round()));
            o.details
                .insert("area_fraction".into(), round2_4(o.area / frame_px));
        }
        None => {
            let mut d = Map::new();
            let mut cues = hit.cues;
            if detector.is_some() {
                cues.push("detector");
            }
            d.insert("cues".into(), json!(cues));
            d.insert("area_px".into(), json!(hit.area.round()));
            d.insert("area_fraction".into(), round2_4(hit.area / frame_px));
            for (k, v) in hit.measures {
                d.insert(k.into(), v);
            }
            d.insert("mode".into(), json!(mode));
            if let Some(s) = detector {
                d.insert("detector_score".into(), round2(s as f64));
            }
            *slot = Some(Observation {
                area: hit.area,
                bbox: hit.bbox,
                score,
                details: d,
            });
        }
    }
}

/// A classic candidate region (flame or smoke), as fusion sees it.
trait Candidate {
    /// Its cells.
    fn cells(&self) -> &CellRegion;
    /// Whether it counts as a hit this frame.
    fn is_hit(&self) -> bool;
}

impl Candidate for FlameRegion {
    fn cells(&self) -> &CellRegion {
        &self.region
    }
    fn is_hit(&self) -> bool {
        self.hit()
    }
}

impl Candidate for SmokeRegion {
    fn cells(&self) -> &CellRegion {
        &self.region
    }
    fn is_hit(&self) -> bool {
        self.hit()
    }
}

/// This frame's observation of `kind` in each of the `nz` zones. Under
/// `replace` fusion the detector's boxes are the candidates; otherwise each
/// classic region that hits counts (under `confirm` fusion only with an
/// overlapping detector box), measured by `hit_of` from its box.
fn zone_observations<R: Candidate>(
    detector: Option<&DetectorHook>,
    kind: AlertKind,
    st: &State,
    (nz, frame_px, mode): (usize, f32, &str),
    regions: &[R],
    hit_of: impl Fn(&R, BBox) -> Hit,
) -> Vec<Option<Observation>> {
    let mut per_zone: Vec<Option<Observation>> = vec![None; nz];
    match detector {
        Some(d) if d.fusion == FireFusion::Replace => {
            detector_observations(&d.boxes, kind, st, frame_px, mode, &mut per_zone);
        }
        _ => {
            for r in regions.iter().filter(|r| r.is_hit()) {
                let bbox = cell_bbox(&st.grid, r.cells());
                let Some(det) = confirm(detector, kind, bbox) else {
                    continue;
                };
                let Some(slot) = per_zone.get_mut(r.cells().zone as usize) else {
                    continue;
                };
                merge_hit(slot, hit_of(r, bbox), frame_px, mode, det);
            }
        }
    }
    per_zone
}

/// Replace fusion: the detector's boxes of `kind` are the zone's observations.
fn detector_observations(
    boxes: &[DetectedBox],
    kind: AlertKind,
    st: &State,
    frame_px: f32,
    mode: &str,
    per_zone: &mut [Option<Observation>],
) {
    for b in boxes.iter().filter(|b| b.kind == kind) {
        // The zone (and mask) of the box's centre decides.
        let ax = ((b.bbox.x + b.bbox.w / 2.0) * st.grid.w as f32) as usize;
        let ay = ((b.bbox.y + b.bbox.h / 2.0) * st.grid.h as f32) as usize;
        let Some(&z) = st
            .zones
            .pixel
            .get(ay.min(st.grid.h - 1) * st.grid.w + ax.min(st.grid.w - 1))
        else {
            continue;
        };
        let Some(slot) = per_zone.get_mut(z as usize) else {
            continue; // outside every zone, or masked
        };
        let hit = Hit {
            area: b.bbox.w * b.bbox.h * frame_px,
            bbox: b.bbox,
            score: b.score,
            cues: Vec::new(),
            measures: Vec::new(),
        };
        merge_hit(slot, hit, frame_px, mode, Some(b.score));
    }
}

fn round2_4(v: f32) -> Value {
    json!(((v as f64) * 10_000.0).round() / 10_000.0)
}
