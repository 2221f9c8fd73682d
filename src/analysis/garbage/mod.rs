//! The garbage analyzer: alerts when someone leaves a bag (or any new object)
//! on the ground in a zone and walks away.
//!
//! Owns the whole chain from frames to `garbage` findings:
//! 1. [`background::CellModel`] — a long-term and a short-term background on
//!    a coarse cell grid. A cell that differs from the long-term model but no
//!    longer moves holds a *static new object*.
//! 2. Static cells are grouped into blobs ([`blobs::label`]) and followed from
//!    frame to frame as [`Track`]s, each remembering when it appeared, when
//!    whoever put it down moved off it (the drop time and the "left" panel's
//!    moment) and the moving blob (the person) at the spot then.
//! 3. A track is confirmed once it has stayed `dwell_s` with no motion at the
//!    spot for `quiet_s`, passes the shape filters (size for the row it
//!    stands on, following perspective; not tall like a
//!    standing person, not sparse like a bicycle), is not a *ghost* (a
//!    place something was taken away from) or half of a *moved object*, and —
//!    when model cues are available — no person is detected on it. Then one
//!    `New` finding goes out with a two-panel picture: the moment it was left
//!    (person boxed) and now (object boxed).
//!    A candidate turned down is logged at debug level with its reason and
//!    cues, and explained for `replay --explain` ([`Analyzer::explain`]);
//!    [`Analyzer::draw_debug`] draws candidates, their dwell and rejections.
//! 4. When the object is taken away the alert ends (`End`); a track alerts at
//!    most once. Rejected changes that are not people (moved bins, light
//!    patches, parked bicycles, ghosts) are absorbed into the long-term
//!    background so they stop being "new".
//!
//! All timing uses stream time (`Frame::pts`), so replays at any speed behave
//! like live footage.
//!
//! Files: `tracking` (step 2: candidates over time and their timers),
//! `judging` (steps 3 and 4: the decision to alert, wait, absorb or end, and
//! its thresholds), [`cues`] (the person seen at the spot, the model cues and
//! classifier calls). This file keeps the analyzer's public face, the
//! per-frame flow ([`Analyzer::process`]) and the findings it builds.

pub mod background;
pub mod blobs;
pub mod config;
pub mod cues;
mod error;
mod judging;
mod tracking;

pub use error::CueError;

use self::background::{CellModel, Grid, ModelParams};
use self::blobs::CellBox;
use self::config::GarbageConfig;
use self::judging::Change;
use self::tracking::Track;
use super::explain::{Cue, Explain, Explanation};
use super::{Analyzer, Finding, ZoneMask};
use crate::alert::snapshot::{self, ALERT_RED};
use crate::alert::{AlertKind, AlertState, BBox, Severity};
use crate::analysis::detector::worker::InferencePool;
use crate::ingest::Frame;
use image::{Rgb, RgbImage};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::SystemTime;

/// Colour of the person's box in the "left" panel.
const PERSON_YELLOW: Rgb<u8> = Rgb([255, 210, 0]);

/// A box in frame pixels (`x1`, `y1` exclusive).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PixelBox {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
}

impl PixelBox {
    fn area(&self) -> f32 {
        (self.x1 - self.x0).max(0.0) * (self.y1 - self.y0).max(0.0)
    }

    fn intersection(&self, o: &PixelBox) -> f32 {
        let w = (self.x1.min(o.x1) - self.x0.max(o.x0)).max(0.0);
        let h = (self.y1.min(o.y1) - self.y0.max(o.y0)).max(0.0);
        w * h
    }

    fn normalised(&self, width: u32, height: u32) -> BBox {
        let (w, h) = (width as f32, height as f32);
        BBox {
            x: (self.x0 / w).clamp(0.0, 1.0),
            y: (self.y0 / h).clamp(0.0, 1.0),
            w: ((self.x1 - self.x0) / w).clamp(0.0, 1.0),
            h: ((self.y1 - self.y0) / h).clamp(0.0, 1.0),
        }
    }
}

/// What a model cue found in a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CueLabel {
    Person,
    Bicycle,
}

/// One object found by a model cue.
#[derive(Debug, Clone, Copy)]
pub struct CueObject {
    pub label: CueLabel,
    pub score: f32,
    pub rect: PixelBox,
}

/// Model-based cues the analyzer can use when models are available: the COCO
/// detector (people, bicycles) and the crop classifier (`bag_like`). The
/// analyzer asks them only when a track is about to be confirmed, so their
/// cost is a few inferences per incident, not per frame; and it asks them
/// on the shared inference worker, never on its camera's thread (see
/// [`cues`]).
pub trait Cues: Send + Sync {
    /// People and bicycles in a frame, boxes in frame pixels.
    fn objects(&self, frame: &Frame) -> Result<Vec<CueObject>, CueError>;
    /// The classifier's `bag_like` group score (0..=1) for a region of a frame.
    fn bag_like(&self, frame: &Frame, region: PixelBox) -> Result<f32, CueError>;
}

/// Settings derived from [`GarbageConfig`] plus fixed tuning.
#[derive(Debug, Clone)]
struct Settings {
    dwell_s: f64,
    quiet_s: f64,
    removal_s: f64,
    /// Size limits (px²) at the zones' near edge; see [`GarbageAnalyzer::area_limits`].
    min_area_px: f32,
    max_area_px: f32,
    /// Length scale at the zones' far edge relative to the near edge.
    far_scale: f32,
    /// Rows (px) of the zones' far (top) and near (bottom) edges.
    far_y: f32,
    near_y: f32,
    max_aspect: f32,
    min_bag_like: Option<f32>,
    use_cues: bool,
    /// A cell must have been still this long to join a static blob.
    settle_s: f64,
    /// Sparser shapes (cells / box) are not bags.
    min_fill: f32,
    /// Share of a blob's border where an old edge vanished that makes it a ghost.
    ghost_share: f32,
    /// A change this close in time (s) to a ghost nearby is a moved object.
    moved_window_s: f64,
    /// A candidate that borders or overlaps a change too large for a bag,
    /// which appeared within this many seconds of it, is judged with that
    /// change: a piece of it that settled later (where the person who
    /// pushed a bin stood) ...
    with_large_s: f64,
    /// ... and is a ghost when its `ghost_share` is within this margin of
    /// the limit (under the limit by up to this much): in doubt, it goes
    /// with the large change. A bag's border is nearly all new edges, far
    /// under the lowered limit.
    ghost_margin: f32,
    /// Cells that became still within this many seconds of each other can be
    /// one object; further apart, they are different objects.
    same_time_s: f64,
    /// A tracked cell stays in its track while it differs from the
    /// background by this share of the change threshold (hysteresis).
    hold_share: f32,
    /// Solid-core share below which a shape is thin lines (a bicycle frame).
    min_core: f32,
    /// Enclosed-hole share above which a shape is a frame around holes.
    max_holes: f32,
    /// A change whose surroundings changed at least this much in the same
    /// direction ([`Border::spill`]) ...
    light_spill: f32,
    /// ... and with fewer new edges than this ([`Border::edge_share`]) is light.
    light_max_edges: f32,
}

/// See the module doc.
pub struct GarbageAnalyzer {
    s: Settings,
    width: u32,
    height: u32,
    model: CellModel,
    /// Zone masks at frame resolution; empty means the whole frame.
    zones: Vec<ZoneMask>,
    tracks: Vec<Track>,
    next_id: u64,
    /// Recent frames (every ~0.5 s), for the "left" panel.
    ring: VecDeque<(f64, Arc<Vec<u8>>)>,
    /// Boxes of moving blobs in recent frames, for linking a person.
    motion: VecDeque<(f64, Vec<CellBox>)>,
    /// Changes absorbed in the last minute (ghosts, moved bins, ...).
    vanished: VecDeque<Change>,
    /// Every track as of the start of this frame's judging (tracks are
    /// moved out of `tracks` while they are judged).
    peers: Vec<Change>,
    cues: Option<cues::CueLine>,
    first_wall: Option<SystemTime>,
    /// Stream time of the last frame processed (for the debug drawing).
    last_t: f64,
    /// Candidates turned down lately, for the debug drawing.
    rejections: VecDeque<judging::Rejection>,
    /// The cues the current judgement compared, for its explanation.
    judged: Vec<Cue>,
    explain: Explain,
}

impl GarbageAnalyzer {
    /// An analyzer for frames of `width`×`height` (the camera's detect size).
    pub fn new(cfg: &GarbageConfig, width: u32, height: u32) -> GarbageAnalyzer {
        let params = ModelParams {
            threshold: cfg.threshold,
            long_tau_s: cfg.background_s as f64,
            ..ModelParams::default()
        };
        let frame_area = width as f32 * height as f32;
        let zones = cfg
            .zones
            .iter()
            .map(|z| ZoneMask::from_polygon(&z.name, &z.polygon, width, height))
            .collect();
        let rows = cfg
            .zones
            .iter()
            .flat_map(|z| z.polygon.iter().map(|p| p[1]));
        let (far, near) = rows.fold((f32::MAX, f32::MIN), |(lo, hi), y| (lo.min(y), hi.max(y)));
        let (far_y, near_y) = if far < near {
            (
                far.clamp(0.0, 1.0) * height as f32,
                near.clamp(0.0, 1.0) * height as f32,
            )
        } else {
            (0.0, height as f32)
        };
        GarbageAnalyzer {
            s: Settings {
                dwell_s: cfg.dwell_s as f64,
                quiet_s: cfg.quiet_s as f64,
                removal_s: cfg.removal_s as f64,
                min_area_px: cfg.min_area * frame_area,
                max_area_px: cfg.max_area * frame_area,
                far_scale: cfg.far_scale.clamp(0.05, 1.0),
                far_y,
                near_y,
                max_aspect: cfg.max_aspect,
                min_bag_like: cfg.min_bag_like,
                use_cues: cfg.person_detector,
                settle_s: 1.0,
                min_fill: 0.35,
                ghost_share: 0.5,
                moved_window_s: 15.0,
                with_large_s: 5.0,
                ghost_margin: 0.25,
                same_time_s: 1.5,
                hold_share: 0.6,
                min_core: 0.1,
                max_holes: 0.15,
                light_spill: 0.5,
                light_max_edges: 0.5,
            },
            width,
            height,
            model: CellModel::new(width, height, params),
            zones,
            tracks: Vec::new(),
            next_id: 0,
            ring: VecDeque::new(),
            motion: VecDeque::new(),
            vanished: VecDeque::new(),
            peers: Vec::new(),
            cues: None,
            first_wall: None,
            last_t: 0.0,
            rejections: VecDeque::new(),
            judged: Vec::new(),
            explain: Explain::default(),
        }
    }

    /// Adds model cues (person/bicycle detector, bag classifier), asked on
    /// `pool` (the shared inference worker, [`Models::inference`]) for the
    /// camera named `camera`. Ignored when the config's `person_detector` is
    /// false.
    ///
    /// [`Models::inference`]: crate::analysis::detector::Models::inference
    pub fn with_cues(
        mut self,
        cues: Arc<dyn Cues>,
        pool: &InferencePool,
        camera: &str,
    ) -> GarbageAnalyzer {
        if self.s.use_cues {
            self.cues = Some(cues::CueLine {
                cues,
                client: pool.client(camera),
            });
        }
        self
    }

    /// Cue questions with the inference worker, not yet answered (for tests
    /// and debugging).
    pub fn cues_pending(&self) -> usize {
        self.cues.as_ref().map_or(0, |l| l.client.pending())
    }

    /// Why each followed object has not alerted yet, by track (for tests and
    /// debugging).
    pub fn holding(&self) -> Vec<&'static str> {
        self.tracks.iter().map(|tr| tr.holding).collect()
    }

    /// Number of objects currently followed (for tests and debugging).
    pub fn tracked(&self) -> usize {
        self.tracks.len()
    }

    /// The cell grid as text, one character per cell: `.` background,
    /// `m` moving foreground, `s` still foreground, `#` a followed object.
    /// For debugging and tuning.
    pub fn debug_cells(&self) -> String {
        let grid = self.grid();
        let m = &self.model;
        let mut tracked = vec![false; grid.len()];
        for tr in &self.tracks {
            for &c in &tr.cells {
                tracked[c] = true;
            }
        }
        let mut out = String::with_capacity(grid.len() + grid.h);
        for y in 0..grid.h {
            for x in 0..grid.w {
                let c = y * grid.w + x;
                out.push(if tracked[c] {
                    '#'
                } else if !m.ready() || !m.foreground[c] {
                    '.'
                } else if m.moving[c] {
                    'm'
                } else {
                    's'
                });
            }
            out.push('\n');
        }
        out
    }

    fn grid(&self) -> Grid {
        self.model.grid
    }

    /// The smallest and largest object box (px²) for an object that meets the
    /// ground at row `ground_y` (px): the configured limits at the zones' near
    /// edge, shrinking with perspective to `far_scale`² of them at the far
    /// edge, linearly in the row (clamped outside the edges).
    pub fn area_limits(&self, ground_y: f32) -> (f32, f32) {
        let span = (self.s.near_y - self.s.far_y).max(1.0);
        let u = ((ground_y - self.s.far_y) / span).clamp(0.0, 1.0);
        let k = self.s.far_scale + (1.0 - self.s.far_scale) * u;
        (self.s.min_area_px * k * k, self.s.max_area_px * k * k)
    }

    fn stream_time(&mut self, frame: &Frame) -> f64 {
        match frame.pts {
            Some(p) => p.as_secs_f64(),
            None => {
                let first = *self.first_wall.get_or_insert(frame.captured_at);
                frame
                    .captured_at
                    .duration_since(first)
                    .map(|d| d.as_secs_f64())
                    .unwrap_or(0.0)
            }
        }
    }

    fn pixel_box(&self, b: &CellBox) -> PixelBox {
        let s = self.grid().scale as f32;
        PixelBox {
            x0: b.x0 as f32 * s,
            y0: b.y0 as f32 * s,
            x1: (b.x1 + 1) as f32 * s,
            y1: (b.y1 + 1) as f32 * s,
        }
    }

    /// The first zone the box's bottom edge (where an object meets the
    /// ground) touches; `Some("frame")` when no zones are configured.
    fn zone_of(&self, b: &CellBox) -> Option<String> {
        if self.zones.is_empty() {
            return Some("frame".to_string());
        }
        let s = self.grid().scale as u32;
        let y = (b.y1 as u32 * s + s / 2).min(self.height - 1);
        (b.x0..=b.x1).find_map(|x| {
            let x = (x as u32 * s + s / 2).min(self.width - 1);
            let i = (y * self.width + x) as usize;
            self.zones
                .iter()
                .find(|z| z.inside.get(i).copied().unwrap_or(false))
                .map(|z| z.name.clone())
        })
    }

    fn new_finding(&self, tr: &Track, t: f64, frame: &Frame) -> Finding {
        let rect = self.pixel_box(&tr.bbox);
        let bbox = rect.normalised(self.width, self.height);
        let person = tr.person.map(|p| {
            serde_json::json!({
                "box": p.rect.normalised(self.width, self.height),
                "seen_at_ms": (p.at * 1000.0).round() as i64,
                "source": p.source,
            })
        });
        let left_at = tr.left_at.unwrap_or(tr.appeared_at);
        tracing::info!(
            track = tr.id,
            x = rect.x0,
            y = rect.y0,
            dwell_s = t - tr.appeared_at,
            left_at,
            "garbage: object left on the ground"
        );
        Finding {
            kind: AlertKind::Garbage,
            severity: Severity::Warning,
            state: AlertState::New,
            incident: tr.id,
            score: self.score(tr),
            zone: self.zone_of(&tr.bbox),
            bbox: Some(bbox),
            details: serde_json::json!({
                "object_box": bbox,
                "left_at_ms": (left_at * 1000.0).round() as i64,
                "appeared_at_ms": (tr.appeared_at * 1000.0).round() as i64,
                "left_panel_ms": tr.keyframe.as_ref().map(|(kt, _)| (kt * 1000.0).round() as i64),
                "dwell_s": ((t - tr.appeared_at) * 10.0).round() / 10.0,
                "area_px": rect.area().round(),
                "contrast": (tr.contrast * 10.0).round() / 10.0,
                "person_box": person.as_ref().map(|p| p["box"].clone()),
                "person": person,
                "bag_like": tr.bag_like,
            }),
            picture: self.picture(tr, frame),
        }
    }

    fn end_finding(&self, tr: &Track, t: f64) -> Finding {
        let rect = self.pixel_box(&tr.bbox);
        tracing::info!(track = tr.id, "garbage: object removed");
        Finding {
            kind: AlertKind::Garbage,
            severity: Severity::Info,
            state: AlertState::End,
            incident: tr.id,
            score: self.score(tr),
            zone: self.zone_of(&tr.bbox),
            bbox: Some(rect.normalised(self.width, self.height)),
            details: serde_json::json!({
                "reason": "removed",
                "left_at_ms": (tr.left_at.unwrap_or(tr.appeared_at) * 1000.0).round() as i64,
                "present_s": ((t - tr.appeared_at) * 10.0).round() / 10.0,
            }),
            picture: None,
        }
    }

    /// Confidence: contrast against the background, nudged by the bag classifier.
    fn score(&self, tr: &Track) -> f32 {
        let base = 0.5 + 0.5 * (tr.contrast / (3.0 * self.model.threshold.max(1.0))).min(1.0);
        match tr.bag_like {
            Some(b) => (0.8 * base + 0.2 * b).clamp(0.0, 1.0),
            None => base.clamp(0.0, 1.0),
        }
    }

    /// Two panels side by side: the moment it was left, just after whoever
    /// put it down moved off it (the spot in red, that person in yellow when
    /// seen within a second of the panel's frame), and now (object in red).
    fn picture(&self, tr: &Track, frame: &Frame) -> Option<RgbImage> {
        let bbox = self.pixel_box(&tr.bbox).normalised(self.width, self.height);
        let mut now = snapshot::to_image(&frame.rgb, frame.width, frame.height).ok()?;
        snapshot::draw_box(&mut now, bbox, ALERT_RED, 2);
        let Some((key_t, key)) = &tr.keyframe else {
            return Some(now);
        };
        let Ok(mut left) = snapshot::to_image(key, frame.width, frame.height) else {
            return Some(now);
        };
        snapshot::draw_box(&mut left, bbox, ALERT_RED, 1);
        if let Some(p) = tr.person.filter(|p| (p.at - key_t).abs() <= 1.0) {
            snapshot::draw_box(
                &mut left,
                p.rect.normalised(self.width, self.height),
                PERSON_YELLOW,
                2,
            );
        }
        let gap = 4;
        let mut out = RgbImage::from_pixel(frame.width * 2 + gap, frame.height, Rgb([255; 3]));
        image::imageops::replace(&mut out, &left, 0, 0);
        image::imageops::replace(&mut out, &now, (frame.width + gap) as i64, 0);
        Some(out)
    }
}

impl Analyzer for GarbageAnalyzer {
    fn name(&self) -> &'static str {
        "garbage"
    }

    /// Zones (green), the largest object box allowed at the zones' far and
    /// near edge (grey squares at the left), and each candidate: yellow while
    /// motion at the spot holds it, cyan while its dwell runs (the bar above
    /// it fills as the dwell passes), orange while a judgement holds it (too
    /// small, shaped like a person, a person detected on it), red once
    /// alerted; a white tick under it from the moment it was left. Candidates
    /// absorbed into the background show in magenta for 3 s. Legend in
    /// `docs/garbage.md`.
    fn draw_debug(&self, img: &mut RgbImage) {
        if img.width() != self.width || img.height() != self.height {
            return;
        }
        const ZONE: Rgb<u8> = Rgb([60, 220, 90]);
        const LIMIT: Rgb<u8> = Rgb([170, 170, 170]);
        const MOTION: Rgb<u8> = Rgb([255, 230, 0]);
        const DWELL: Rgb<u8> = Rgb([0, 220, 255]);
        const HELD: Rgb<u8> = Rgb([255, 140, 0]);
        const ABSORBED: Rgb<u8> = Rgb([255, 0, 255]);
        const BAR_BACK: Rgb<u8> = Rgb([60, 60, 60]);
        const WHITE: Rgb<u8> = Rgb([255, 255, 255]);
        for z in &self.zones {
            z.draw_outline(img, ZONE);
        }
        for y in [self.s.far_y, self.s.near_y] {
            let side = self.area_limits(y).1.sqrt();
            let y = y.min(self.height as f32 - 1.0);
            let b = PixelBox {
                x0: 2.0,
                y0: (y - side).max(0.0),
                x1: 2.0 + side,
                y1: y,
            };
            snapshot::draw_box(img, b.normalised(self.width, self.height), LIMIT, 1);
        }
        let t = self.last_t;
        for r in self
            .rejections
            .iter()
            .filter(|r| r.absorbed && t - r.at <= 3.0)
        {
            let b = self.pixel_box(&r.bbox).normalised(self.width, self.height);
            snapshot::draw_box(img, b, ABSORBED, 1);
        }
        for tr in &self.tracks {
            let rect = self.pixel_box(&tr.bbox);
            let colour = match (tr.state, tr.holding) {
                (tracking::TrackState::Alerted, _) => ALERT_RED,
                (_, judging::WAIT_MOTION) => MOTION,
                (_, judging::WAIT_DWELL | judging::WAIT_CUES | judging::WAIT_ANSWER) => DWELL,
                _ => HELD,
            };
            snapshot::draw_box(img, rect.normalised(self.width, self.height), colour, 1);
            let share = ((t - tr.appeared_at) / self.s.dwell_s.max(1e-3)).clamp(0.0, 1.0) as f32;
            let y = (rect.y0 - 3.0).max(0.0);
            let x_end = rect.x0 + share * (rect.x1 - rect.x0);
            snapshot::draw_line(img, (rect.x0, y), (rect.x1, y), BAR_BACK, 2);
            snapshot::draw_line(img, (rect.x0, y), (x_end, y), colour, 2);
            if tr.left_at.is_some() {
                let (cx, yb) = ((rect.x0 + rect.x1) / 2.0, rect.y1 + 2.0);
                snapshot::draw_line(img, (cx, yb), (cx, yb + 4.0), WHITE, 1);
            }
        }
    }

    fn set_explain(&mut self, on: bool) {
        self.explain.on = on;
    }

    fn explain(&mut self) -> Vec<Explanation> {
        self.explain.take()
    }

    fn process(&mut self, frame: &Frame) -> Vec<Finding> {
        if frame.width != self.width || frame.height != self.height {
            tracing::warn!(
                got = ?(frame.width, frame.height),
                expected = ?(self.width, self.height),
                "garbage: frame of unexpected size skipped"
            );
            return Vec::new();
        }
        self.take_cue_answers();
        let t = self.stream_time(frame);
        self.last_t = t;
        let grid = self.grid();
        if !self.model.observe(&frame.rgb, t) {
            self.model.learn(t, &vec![false; grid.len()]);
            return Vec::new();
        }
        self.remember_frame(t, frame);
        self.remember_motion(t);
        let blobs = self.static_blobs(t);
        self.match_tracks(blobs, t);
        let out = self.lifecycle(t, frame);
        let mut frozen = vec![false; grid.len()];
        for tr in &self.tracks {
            for c in tr.bbox.grow(1, &grid).cells(&grid) {
                frozen[c] = true;
            }
        }
        self.model.learn(t, &frozen);
        out
    }
}
