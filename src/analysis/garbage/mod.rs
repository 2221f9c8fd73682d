//! The garbage analyzer: alerts when someone leaves a bag (or any new object)
//! on the ground in a zone and walks away.
//!
//! Owns the whole chain from frames to `garbage` findings:
//! 1. [`background::CellModel`] — a long-term and a short-term background on
//!    a coarse cell grid. A cell that differs from the long-term model but no
//!    longer moves holds a *static new object*.
//! 2. Static cells are grouped into blobs ([`blobs::label`]) and followed from
//!    frame to frame as [`Track`]s, each remembering when it was left and the
//!    moving blob (the person) that was at the spot just before.
//! 3. A track is confirmed once it has stayed `dwell_s` with no motion at the
//!    spot for `quiet_s`, passes the shape filters (size, not tall like a
//!    standing person, not sparse like a bicycle), is not a *ghost* (a
//!    place something was taken away from) or half of a *moved object*, and —
//!    when model cues are available — no person is detected on it. Then one
//!    `New` finding goes out with a two-panel picture: the moment it was left
//!    (person boxed) and now (object boxed).
//! 4. When the object is taken away the alert ends (`End`); a track alerts at
//!    most once. Rejected changes that are not people (moved bins, light
//!    patches, parked bicycles, ghosts) are absorbed into the long-term
//!    background so they stop being "new".
//!
//! All timing uses stream time (`Frame::pts`), so replays at any speed behave
//! like live footage.

pub mod background;
pub mod blobs;
pub mod config;
pub mod cues;
mod error;

pub use error::CueError;

use self::background::{dist, CellModel, Grid, ModelParams};
use self::blobs::{label, label_by_time, shape, Blob, CellBox};
use self::config::GarbageConfig;
use super::{Analyzer, Finding, ZoneMask};
use crate::alert::snapshot::{self, ALERT_RED};
use crate::alert::{AlertKind, AlertState, BBox, Severity};
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
/// analyzer calls them only when a track is about to be confirmed, so their
/// cost is a few inferences per incident, not per frame.
pub trait Cues: Send {
    /// People and bicycles in a frame, boxes in frame pixels.
    fn objects(&mut self, frame: &Frame) -> Result<Vec<CueObject>, CueError>;
    /// The classifier's `bag_like` group score (0..=1) for a region of a frame.
    fn bag_like(&mut self, frame: &Frame, region: PixelBox) -> Result<f32, CueError>;
}

/// Where a track is in its life.
#[derive(Debug, Clone, Copy, PartialEq)]
enum TrackState {
    /// Waiting for the dwell time and the checks.
    Watching,
    /// Alerted as incident `Track::id`.
    Alerted,
}

/// The person seen at the spot just before the object was left.
#[derive(Debug, Clone, Copy)]
struct PersonSighting {
    rect: PixelBox,
    at: f64,
    /// `motion` (the moving blob) or `detector` (COCO person).
    source: &'static str,
}

/// A static candidate object followed over time.
#[derive(Debug, Clone)]
struct Track {
    id: u64,
    cells: Vec<usize>,
    bbox: CellBox,
    /// Estimated stream time the object was put down.
    left_at: f64,
    created: f64,
    matched: bool,
    gone_since: Option<f64>,
    state: TrackState,
    /// A frame from just before `left_at`, for the "left" panel.
    keyframe: Option<(f64, Arc<Vec<u8>>)>,
    person: Option<PersonSighting>,
    /// Earliest stream time the model cues may be asked again.
    next_cue: f64,
    bag_like: Option<f32>,
    /// Why the track has not alerted yet (for logs and debugging).
    holding: &'static str,
    /// The spot has been free of motion for `quiet_s` at least once since the
    /// object was left (whoever left it has gone).
    was_quiet: bool,
    contrast: f32,
    /// Largest box area (px²) the track has had: a faint object whose edges
    /// fade in and out is judged by its full size, not today's remnant.
    peak_area: f32,
}

/// What a group's border says, from [`GarbageAnalyzer::border_evidence`].
#[derive(Debug, Clone, Copy)]
struct Border {
    /// Share of the border (pairs with a decisive edge change) where an edge
    /// of the old background has gone: high for a place something was taken from.
    ghost_share: f32,
    /// Share of all border pairs with a new edge: high for an object put
    /// down, low for a soft change such as a pool of light.
    edge_share: f32,
    /// Mean colour difference to the long-term background inside.
    contrast: f32,
    /// How much the brightness just outside changed, relative to inside
    /// (same sign: the change spills over, as light does; about 0 for an object).
    spill: f32,
}

/// A change in the scene as the moved-object rule sees it: a followed track
/// (this frame) or one absorbed in the last minute.
#[derive(Debug, Clone, Copy)]
struct Change {
    id: u64,
    state: TrackState,
    left_at: f64,
    bbox: CellBox,
    /// Mean colour of the place in the long-term background (what was there).
    before: [f32; 3],
    /// Mean colour of the place now.
    now: [f32; 3],
}

/// Settings derived from [`GarbageConfig`] plus fixed tuning.
#[derive(Debug, Clone)]
struct Settings {
    dwell_s: f64,
    quiet_s: f64,
    removal_s: f64,
    min_area_px: f32,
    max_area_px: f32,
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
    cues: Option<Box<dyn Cues>>,
    first_wall: Option<SystemTime>,
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
        GarbageAnalyzer {
            s: Settings {
                dwell_s: cfg.dwell_s as f64,
                quiet_s: cfg.quiet_s as f64,
                removal_s: cfg.removal_s as f64,
                min_area_px: cfg.min_area * frame_area,
                max_area_px: cfg.max_area * frame_area,
                max_aspect: cfg.max_aspect,
                min_bag_like: cfg.min_bag_like,
                use_cues: cfg.person_detector,
                settle_s: 1.0,
                min_fill: 0.35,
                ghost_share: 0.5,
                moved_window_s: 15.0,
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
        }
    }

    /// Adds model cues (person/bicycle detector, bag classifier). Ignored when
    /// the config's `person_detector` is false.
    pub fn with_cues(mut self, cues: Box<dyn Cues>) -> GarbageAnalyzer {
        if self.s.use_cues {
            self.cues = Some(cues);
        }
        self
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

    fn remember_frame(&mut self, t: f64, frame: &Frame) {
        if self.ring.back().is_none_or(|(last, _)| t - last >= 0.5) {
            self.ring.push_back((t, frame.rgb.clone()));
        }
        while self.ring.len() > 16 {
            self.ring.pop_front();
        }
    }

    fn remember_motion(&mut self, t: f64) {
        let grid = self.grid();
        let mask: Vec<bool> = self
            .model
            .foreground
            .iter()
            .zip(&self.model.moving)
            .map(|(f, m)| *f && *m)
            .collect();
        let boxes = label(&mask, &grid, 2, 3)
            .into_iter()
            .map(|b| b.bbox)
            .collect();
        self.motion.push_back((t, boxes));
        while self.motion.front().is_some_and(|(old, _)| t - old > 12.0) {
            self.motion.pop_front();
        }
    }

    /// The frame closest before `t` in the ring.
    fn frame_before(&self, t: f64) -> Option<(f64, Arc<Vec<u8>>)> {
        self.ring
            .iter()
            .rev()
            .find(|(ft, _)| *ft <= t)
            .or(self.ring.front())
            .map(|(ft, f)| (*ft, f.clone()))
    }

    /// The last moving blob near `bbox` from before `left_at`: whoever put it there.
    fn person_from_motion(&self, bbox: &CellBox, left_at: f64) -> Option<PersonSighting> {
        let grid = self.grid();
        let near = bbox.grow(bbox.width().max(bbox.height()) + 2, &grid);
        for (t, boxes) in self.motion.iter().rev() {
            if *t > left_at + 0.5 {
                continue;
            }
            let best = boxes
                .iter()
                .filter(|b| b.intersection(&near) > 0 && b.area() >= bbox.area() / 2)
                .max_by_key(|b| b.area());
            if let Some(b) = best {
                return Some(PersonSighting {
                    rect: self.pixel_box(b),
                    at: *t,
                    source: "motion",
                });
            }
        }
        None
    }

    /// What the border of a group of cells says about it; see [`Border`].
    fn border_evidence(&self, cells: &[usize]) -> Border {
        let grid = self.grid();
        let mut inside = vec![false; grid.len()];
        for &c in cells {
            inside[c] = true;
        }
        let margin = self.model.threshold / 2.0;
        let (mut object, mut ghost, mut pairs) = (0u32, 0u32, 0u32);
        let mut contrast = 0.0;
        let (mut d_in, mut d_ring, mut n_ring) = (0.0f32, 0.0f32, 0u32);
        let luma = |v: [f32; 3]| 0.299 * v[0] + 0.587 * v[1] + 0.114 * v[2];
        for &c in cells {
            contrast += self.model.diff_long[c];
            d_in += luma(self.model.current(c)) - luma(self.model.long_term(c));
            let (x, y) = (c % grid.w, c / grid.w);
            let mut nbrs = [None; 4];
            if x > 0 {
                nbrs[0] = Some(c - 1);
            }
            if x + 1 < grid.w {
                nbrs[1] = Some(c + 1);
            }
            if y > 0 {
                nbrs[2] = Some(c - grid.w);
            }
            if y + 1 < grid.h {
                nbrs[3] = Some(c + grid.w);
            }
            for n in nbrs.into_iter().flatten() {
                if inside[n] || self.model.foreground[n] {
                    continue;
                }
                pairs += 1;
                d_ring += luma(self.model.current(n)) - luma(self.model.long_term(n));
                n_ring += 1;
                let e_now = dist(&self.model.current(c), &self.model.current(n));
                let e_before = dist(&self.model.long_term(c), &self.model.long_term(n));
                if e_now > e_before + margin {
                    object += 1;
                } else if e_before > e_now + margin {
                    ghost += 1;
                }
            }
        }
        let n = cells.len().max(1) as f32;
        let d_in = d_in / n;
        let d_ring = d_ring / n_ring.max(1) as f32;
        Border {
            ghost_share: if object + ghost >= 4 {
                ghost as f32 / (object + ghost) as f32
            } else {
                0.0
            },
            edge_share: object as f32 / pairs.max(1) as f32,
            contrast: contrast / n,
            spill: if d_in.abs() > 1.0 {
                (d_ring / d_in).clamp(-1.0, 1.0)
            } else {
                0.0
            },
        }
    }

    /// Groups this frame's static cells into blobs inside the zones.
    fn static_blobs(&self, t: f64) -> Vec<Blob> {
        let m = &self.model;
        let mask: Vec<bool> = (0..m.grid.len())
            .map(|c| m.foreground[c] && !m.moving[c] && t - m.still_since[c] >= self.s.settle_s)
            .collect();
        let min_cells = 2;
        label_by_time(
            &mask,
            &m.grid,
            1,
            min_cells,
            Some(&m.still_since),
            self.s.same_time_s,
        )
        .into_iter()
        .filter(|b| self.zone_of(&b.bbox).is_some())
        .collect()
    }

    /// Matches blobs to tracks: a blob touching a track's box (grown by one
    /// cell) belongs to the track it shares most cells with. Unmatched blobs
    /// big enough become new tracks. A track keeps every cell of itself that
    /// still differs from the background (hidden by a passer-by, say), so it
    /// is not cut in two; cells back to background leave it.
    fn match_tracks(&mut self, blobs: Vec<Blob>, t: f64) {
        let grid = self.grid();
        let mut fresh: Vec<Blob> = Vec::new();
        let mut claimed: Vec<Vec<Blob>> = vec![Vec::new(); self.tracks.len()];
        let mut own = vec![usize::MAX; grid.len()];
        for (i, tr) in self.tracks.iter().enumerate() {
            for &c in &tr.cells {
                own[c] = i;
            }
        }
        for blob in blobs {
            // Mostly the track's own cells (it is back after being hidden),
            // or touching it and left at the same moment (more of it settled).
            let best = self
                .tracks
                .iter()
                .enumerate()
                .map(|(i, tr)| {
                    let shared = blob.cells.iter().filter(|&&c| own[c] == i).count();
                    let touching = tr.bbox.grow(1, &grid).intersection(&blob.bbox) > 0;
                    let same_time = (blob.time - tr.left_at).abs() <= self.s.same_time_s;
                    // Mostly inside the box of an object being watched: the
                    // part a passer-by covered, settling again later.
                    let inside = blob
                        .cells
                        .iter()
                        .filter(|&&c| tr.bbox.contains(c % grid.w, c / grid.w))
                        .count();
                    let ok = 2 * shared >= blob.cells.len()
                        || (touching && same_time)
                        || (tr.state == TrackState::Watching && 3 * inside >= 2 * blob.cells.len());
                    (i, if ok { shared + 1 } else { 0 })
                })
                .filter(|(_, score)| *score > 0)
                .max_by_key(|(_, score)| *score);
            match best {
                Some((i, _)) => claimed[i].push(blob),
                None => fresh.push(blob),
            }
        }
        for (tr, blobs) in self.tracks.iter_mut().zip(claimed) {
            tr.matched = !blobs.is_empty();
            if !tr.matched {
                continue;
            }
            let mut cells: Vec<usize> = tr
                .cells
                .iter()
                .copied()
                .filter(|&c| self.model.holds(c, self.s.hold_share))
                .collect();
            for b in blobs {
                cells.extend(b.cells);
            }
            cells.sort_unstable();
            cells.dedup();
            let mut bbox = CellBox::at(cells[0] % grid.w, cells[0] / grid.w);
            for &c in &cells {
                bbox.include(c % grid.w, c / grid.w);
            }
            let px = grid.scale as f32;
            let area = bbox.width() as f32 * px * bbox.height() as f32 * px;
            tr.peak_area = tr.peak_area.max(area);
            tr.cells = cells;
            tr.bbox = bbox;
        }
        for blob in fresh {
            let area = self.pixel_box(&blob.bbox).area();
            if area < self.s.min_area_px {
                continue;
            }
            let left_at = blob.time;
            let keyframe = self.frame_before(left_at - 0.5);
            let person = self.person_from_motion(&blob.bbox, left_at);
            self.next_id += 1;
            tracing::debug!(
                track = self.next_id,
                x = blob.bbox.x0,
                y = blob.bbox.y0,
                w = blob.bbox.width(),
                h = blob.bbox.height(),
                left_at,
                "garbage: new candidate"
            );
            self.tracks.push(Track {
                id: self.next_id,
                cells: blob.cells,
                bbox: blob.bbox,
                left_at,
                created: t,
                matched: true,
                gone_since: None,
                state: TrackState::Watching,
                keyframe,
                person,
                next_cue: t,
                bag_like: None,
                holding: "dwell",
                was_quiet: false,
                contrast: 0.0,
                peak_area: area,
            });
        }
    }

    /// A track as a [`Change`]: where, when, and its colour before and now.
    fn change_of(&self, tr: &Track) -> Change {
        Change {
            id: tr.id,
            state: tr.state,
            left_at: tr.left_at,
            bbox: tr.bbox,
            before: self.mean_colour(&tr.cells, |m, c| m.long_term(c)),
            now: self.mean_colour(&tr.cells, |m, c| m.current(c)),
        }
    }

    /// Mean colour of cells, read from the model with `get`.
    fn mean_colour(
        &self,
        cells: &[usize],
        get: impl Fn(&CellModel, usize) -> [f32; 3],
    ) -> [f32; 3] {
        let mut sum = [0.0f32; 3];
        for &c in cells {
            let v = get(&self.model, c);
            for k in 0..3 {
                sum[k] += v[k];
            }
        }
        let n = cells.len().max(1) as f32;
        [sum[0] / n, sum[1] / n, sum[2] / n]
    }

    /// True when a tall still shape (a standing person whose legs blend into
    /// the ground) is right above this one, or mostly around it: it is their
    /// feet or another piece of them, not a bag.
    fn under_a_standing_person(&self, tr: &Track) -> bool {
        let grid = self.grid();
        let b = tr.bbox;
        self.peers.iter().any(|p| {
            let (id, ob, state) = (p.id, p.bbox, p.state);
            let tall = ob.height() as f32 > self.s.max_aspect * ob.width() as f32
                && ob.height() >= 2 * b.height();
            // Legs are about as long as torso and head together.
            let above = ob.y1 < b.y0 && b.y0 - ob.y1 <= ob.height() + 1;
            let overlaps = ob.grow(1, &grid).x1 >= b.x0 && ob.grow(1, &grid).x0 <= b.x1;
            // Or a piece of their body that settled on its own, inside their box.
            let within = 2 * ob.grow(1, &grid).intersection(&b) >= b.area();
            id != tr.id && state == TrackState::Watching && tall && ((above && overlaps) || within)
        })
    }

    /// Latest frame-difference motion anywhere in (or next to) a box.
    fn last_motion_near(&self, b: &CellBox) -> f64 {
        let grid = self.grid();
        b.grow(1, &grid)
            .cells(&grid)
            .map(|c| self.model.last_motion[c])
            .fold(f64::NEG_INFINITY, f64::max)
    }

    /// Advances every track by one frame; returns findings.
    fn lifecycle(&mut self, t: f64, frame: &Frame) -> Vec<Finding> {
        let mut out = Vec::new();
        let mut absorb: Vec<(Vec<usize>, f64)> = Vec::new();
        let mut keep: Vec<Track> = Vec::new();
        let tracks = std::mem::take(&mut self.tracks);
        self.peers = tracks.iter().map(|tr| self.change_of(tr)).collect();
        self.vanished.retain(|g| t - g.left_at < 60.0);
        for mut tr in tracks {
            tracing::trace!(
                t,
                track = tr.id,
                matched = tr.matched,
                x = tr.bbox.x0,
                y = tr.bbox.y0,
                w = tr.bbox.width(),
                h = tr.bbox.height(),
                cells = tr.cells.len(),
                holding = tr.holding,
                "garbage: track"
            );
            if !tr.matched {
                let fg = tr
                    .cells
                    .iter()
                    .filter(|&&c| self.model.foreground[c])
                    .count();
                if (fg as f32) < 0.3 * tr.cells.len() as f32 {
                    let since = *tr.gone_since.get_or_insert(t);
                    if t - since >= self.s.removal_s {
                        if tr.state == TrackState::Alerted {
                            out.push(self.end_finding(&tr, t));
                        }
                        tracing::debug!(track = tr.id, "garbage: candidate gone");
                        continue;
                    }
                } else {
                    tr.gone_since = None;
                }
                keep.push(tr);
                continue;
            }
            tr.gone_since = None;
            if tr.state == TrackState::Alerted {
                keep.push(tr);
                continue;
            }
            match self.judge(&mut tr, t, frame) {
                Verdict::Wait(why) => {
                    tr.holding = why;
                    keep.push(tr);
                }
                Verdict::Absorb(why) => {
                    tracing::debug!(track = tr.id, why, "garbage: change accepted as background");
                    self.vanished.push_back(self.change_of(&tr));
                    absorb.push((tr.cells.clone(), tr.left_at));
                }
                Verdict::Alert => {
                    tr.state = TrackState::Alerted;
                    out.push(self.new_finding(&tr, t, frame));
                    keep.push(tr);
                }
            }
        }
        self.tracks = keep;
        if !absorb.is_empty() {
            self.absorb(absorb);
        }
        out
    }

    /// Accepts rejected tracks' cells (and their immediate neighbours, where
    /// blurred edges sit) into the long-term background. Only cells that
    /// became still with the track (at `left_at`) are taken: something put
    /// down later in the same place (a bag by a parked bicycle) stays new.
    /// Cells of tracks still followed are left alone.
    fn absorb(&mut self, groups: Vec<(Vec<usize>, f64)>) {
        let grid = self.grid();
        let mut taken = vec![false; grid.len()];
        for tr in &self.tracks {
            for &c in &tr.cells {
                taken[c] = true;
            }
        }
        let mut cells = Vec::new();
        for (group, left_at) in groups {
            let with_it = |c: usize| {
                !self.model.foreground[c]
                    || self.model.still_since[c] <= left_at + self.s.same_time_s
            };
            for c in group.into_iter().filter(|&c| with_it(c)) {
                let b = CellBox::at(c % grid.w, c / grid.w).grow(1, &grid);
                cells.extend(b.cells(&grid).filter(|&n| !taken[n] && with_it(n)));
            }
        }
        cells.sort_unstable();
        cells.dedup();
        self.model.absorb(cells);
    }

    /// Decides what to do with a watched, currently visible track.
    fn judge(&mut self, tr: &mut Track, t: f64, frame: &Frame) -> Verdict {
        // Motion at the spot holds a track until whoever left it has gone;
        // after that, people passing by do not hold it again. (Someone
        // standing in front of a bin hides its edges and looks like a ghost:
        // the ghost test waits for quiet too.)
        let quiet = t - self.last_motion_near(&tr.bbox) >= self.s.quiet_s;
        tr.was_quiet |= quiet;
        let own_motion = tr.cells.iter().any(|&c| self.model.flicker[c]);
        if !tr.was_quiet || (!quiet && (own_motion || t - tr.left_at < self.s.dwell_s)) {
            return Verdict::Wait("motion at the spot");
        }
        let border = self.border_evidence(&tr.cells);
        tr.contrast = border.contrast;
        if border.ghost_share >= self.s.ghost_share && t - tr.created >= 0.5 {
            return Verdict::Absorb("ghost: something was taken away here");
        }
        if t - tr.left_at < self.s.dwell_s {
            return Verdict::Wait("dwell");
        }
        let rect = self.pixel_box(&tr.bbox);
        let (w, h) = (rect.x1 - rect.x0, rect.y1 - rect.y0);
        // Light (a lamp pool, a sun patch) brightens the surroundings too and
        // draws no new edge; an object puts an outline down on unchanged ground.
        if border.spill >= self.s.light_spill && border.edge_share < self.s.light_max_edges {
            return Verdict::Absorb("soft change spilling around: light or shadow");
        }
        if rect.area() > self.s.max_area_px {
            return Verdict::Absorb("too large for a bag");
        }
        if rect.area().max(tr.peak_area) < self.s.min_area_px {
            return Verdict::Wait("too small");
        }
        // The other half of a moved object: nearby, at about the same time,
        // a place that used to have this colour lost it. "This colour" means
        // much closer to it than to what was here before, so two pieces of
        // one faint object do not pair up.
        let size = tr.bbox.width().max(tr.bbox.height());
        let me = self.change_of(tr);
        let th = self.model.threshold;
        let own_change = dist(&me.before, &me.now);
        if self.peers.iter().chain(self.vanished.iter()).any(|g| {
            g.id != tr.id
                && (g.left_at - tr.left_at).abs() <= self.s.moved_window_s
                && g.bbox.gap(&tr.bbox) <= 3 * size.max(g.bbox.width().max(g.bbox.height()))
                && dist(&g.before, &me.now) <= (2.0 * th).min(0.5 * own_change)
                && dist(&g.before, &g.now) > th
        }) {
            return Verdict::Absorb("moved object");
        }
        let grid = self.grid();
        let sh = shape(&tr.cells, &tr.bbox, &grid);
        tracing::debug!(
            track = tr.id,
            fill = sh.fill,
            core = sh.core,
            holes = sh.holes,
            w = tr.bbox.width(),
            h = tr.bbox.height(),
            edges = border.edge_share,
            spill = border.spill,
            contrast = border.contrast,
            "garbage: shape"
        );
        // Core and holes mean something only for shapes several cells across.
        let big = tr.bbox.width().min(tr.bbox.height()) >= 6;
        if sh.fill < self.s.min_fill
            || (big && (sh.core < self.s.min_core || sh.holes > self.s.max_holes))
        {
            return Verdict::Absorb("sparse shape (bicycle, fence)");
        }
        // A box cut by the frame's side is narrower than its object.
        let cut = tr.bbox.x0 == 0 || tr.bbox.x1 + 1 >= grid.w;
        if h > self.s.max_aspect * w && !cut {
            return Verdict::Wait("tall like a standing person");
        }
        if self.under_a_standing_person(tr) {
            return Verdict::Wait("part of a standing person (feet)");
        }
        // A piece of an object already alerted (part of it settled later).
        if self
            .peers
            .iter()
            .any(|p| p.id != tr.id && p.state == TrackState::Alerted && p.bbox.gap(&tr.bbox) <= 1)
        {
            return Verdict::Wait("part of an object already alerted");
        }
        if self.cues.is_some() {
            if t < tr.next_cue {
                return Verdict::Wait("person detector");
            }
            tr.next_cue = t + 2.0;
            match self.check_cues(tr, rect, frame) {
                CueVerdict::Person => return Verdict::Wait("person detected at the spot"),
                CueVerdict::Bicycle => return Verdict::Absorb("bicycle detected"),
                CueVerdict::Clear => {}
            }
            if let (Some(min), Some(b)) = (self.s.min_bag_like, tr.bag_like) {
                if b < min {
                    return Verdict::Absorb("not bag-like");
                }
            }
        }
        Verdict::Alert
    }

    fn check_cues(&mut self, tr: &mut Track, rect: PixelBox, frame: &Frame) -> CueVerdict {
        let Some(cues) = self.cues.as_mut() else {
            return CueVerdict::Clear;
        };
        match cues.objects(frame) {
            Ok(found) => {
                for o in &found {
                    let share = o.rect.intersection(&rect) / rect.area().max(1.0);
                    match o.label {
                        CueLabel::Person if share >= 0.3 => return CueVerdict::Person,
                        CueLabel::Bicycle if share >= 0.5 => return CueVerdict::Bicycle,
                        _ => {}
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "garbage: person detector failed; using motion cues only")
            }
        }
        if tr.bag_like.is_none() {
            match cues.bag_like(frame, rect) {
                Ok(b) => tr.bag_like = Some(b),
                Err(e) => tracing::warn!(error = %e, "garbage: bag classifier failed"),
            }
        }
        // Find who left it in the keyframe, if the detector sees a person there.
        if let Some((kt, rgb)) = &tr.keyframe {
            let key = Frame {
                rgb: rgb.clone(),
                pts: Some(std::time::Duration::from_secs_f64(kt.max(0.0))),
                ..frame.clone()
            };
            if let Ok(found) = cues.objects(&key) {
                let cx = (rect.x0 + rect.x1) / 2.0;
                let best = found
                    .iter()
                    .filter(|o| o.label == CueLabel::Person)
                    .min_by(|a, b| {
                        let da = ((a.rect.x0 + a.rect.x1) / 2.0 - cx).abs();
                        let db = ((b.rect.x0 + b.rect.x1) / 2.0 - cx).abs();
                        da.total_cmp(&db)
                    });
                if let Some(p) = best {
                    tr.person = Some(PersonSighting {
                        rect: p.rect,
                        at: *kt,
                        source: "detector",
                    });
                }
            }
        }
        CueVerdict::Clear
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
        tracing::info!(
            track = tr.id,
            x = rect.x0,
            y = rect.y0,
            dwell_s = t - tr.left_at,
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
                "left_at_ms": (tr.left_at * 1000.0).round() as i64,
                "dwell_s": ((t - tr.left_at) * 10.0).round() / 10.0,
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
                "left_at_ms": (tr.left_at * 1000.0).round() as i64,
                "present_s": ((t - tr.left_at) * 10.0).round() / 10.0,
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

    /// Two panels side by side: the moment it was left (person in yellow,
    /// the spot in red) and now (object in red).
    fn picture(&self, tr: &Track, frame: &Frame) -> Option<RgbImage> {
        let bbox = self.pixel_box(&tr.bbox).normalised(self.width, self.height);
        let mut now = snapshot::to_image(&frame.rgb, frame.width, frame.height).ok()?;
        snapshot::draw_box(&mut now, bbox, ALERT_RED, 2);
        let Some((_, key)) = &tr.keyframe else {
            return Some(now);
        };
        let Ok(mut left) = snapshot::to_image(key, frame.width, frame.height) else {
            return Some(now);
        };
        snapshot::draw_box(&mut left, bbox, ALERT_RED, 1);
        if let Some(p) = tr.person {
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

enum Verdict {
    Wait(&'static str),
    Absorb(&'static str),
    Alert,
}

enum CueVerdict {
    Person,
    Bicycle,
    Clear,
}

impl Analyzer for GarbageAnalyzer {
    fn name(&self) -> &'static str {
        "garbage"
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
        let t = self.stream_time(frame);
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
