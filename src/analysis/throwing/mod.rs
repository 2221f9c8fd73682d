//! The throwing analyzer (`kind = "throwing"`): objects thrown or falling
//! from a facade, traced back to the floor and column they came from.
//!
//! Per frame: luma and a red–blue chroma channel → [`background`] models
//! (foreground robust to lighting steps and small shake) → [`blobs`] inside the facade minus excluded zones
//! → [`tracker`] (tracks across frames, tolerating gaps) → for each track
//! that moved, the free-fall test in [`trajectory`]. A track that passes
//! raises one `new` alert at once (no waiting for the object to land), with
//! the origin from [`calibration`] in `details.origin`, and a snapshot of the
//! whole trajectory drawn over the frame where the fall started (kept in a
//! short ring of recent frames). An optional [`CropScorer`] (an ONNX bird
//! classifier) may veto a candidate that is confidently a bird.
//!
//! Alert `details`: `origin {floor, column (0 = leftmost), column_label,
//! unit_label, x, y (normalised), within_calibration}`, `acceleration_px_s2`, `acceleration_g`,
//! `fall_duration_s`, `trajectory` (`[[t_ms, x, y], …]`, stream ms and
//! normalised coordinates, the origin first), `confidence`, `object_size_px`,
//! `object_size_m`, `track`, and `second_opinion` when a scorer ran.
//! Severity is `major`; `critical` when the object is estimated at
//! `critical_size_m` or larger.

pub mod background;
pub mod blobs;
pub mod calibration;
pub mod config;
pub mod motion;
pub mod tracker;
pub mod trajectory;

mod finding;
mod second_opinion;
mod shake;

use super::explain::{Cue, Explain, Explanation, Verdict as Judged};
use super::{Analyzer, Finding, ZoneMask};
use crate::alert::snapshot;
use crate::ingest::Frame;
use background::{BackgroundModel, Foreground};
use calibration::{Calibration, CalibrationError};
use config::ThrowingConfig;
use image::{Rgb, RgbImage};
use motion::MotionEstimator;
use std::collections::VecDeque;
use std::sync::Arc;
use tracker::Tracker;
use trajectory::{Params, Quad, Verdict};

pub use second_opinion::{
    ClassifierBirds, CropScorer, ScorerError, SecondOpinion, BIRD_CLASSIFIER,
};

/// Most blobs taken from one frame.
const MAX_BLOBS: usize = 400;
/// Seconds after an alert during which a new track lying on the alerted
/// path is the same object, not a new one.
const SAME_OBJECT_S: f64 = 4.0;
/// Blobs per frame above which the shake headroom is brought in (the
/// facade's structure is making noise), and below which it is let go.
const NOISY_BLOBS: usize = 40;
const QUIET_BLOBS: usize = 20;
/// Seconds the headroom takes to come in fully; it goes four times slower.
const HEADROOM_RISE_S: f32 = 0.5;

/// Why the throwing analyzer cannot be built from its config.
#[derive(Debug, thiserror::Error)]
pub enum ThrowingError {
    #[error(transparent)]
    Calibration(#[from] CalibrationError),
    #[error("the facade minus the excluded zones is empty")]
    EmptyFacade,
}

/// An alerted fall: new tracks on its path are the same object.
#[derive(Debug, Clone)]
struct RecentFall {
    fit_x: Quad,
    fit_y: Quad,
    /// Where and when the fall started (extrapolated back for a late track).
    origin: (f64, f32, f32),
    /// When the path was first seen.
    first_seen: f64,
    alerted_at: f64,
    until: f64,
    tolerance: f32,
}

/// See the module doc.
pub struct ThrowingAnalyzer {
    width: u32,
    height: u32,
    fps: u32,
    calibration: Calibration,
    /// Background of the luma, and of a red–blue chroma channel (a red
    /// object over blue-grey glass can have the same luma as the glass).
    background: BackgroundModel,
    chroma_background: BackgroundModel,
    tracker: Tracker,
    params: Params,
    min_blob_px: u32,
    max_blob_side_px: u32,
    critical_size_m: f32,
    history_s: f64,
    /// Recent frames (stream seconds, RGB), oldest first.
    history: VecDeque<(f64, Arc<Vec<u8>>)>,
    recent: Vec<RecentFall>,
    last_t: Option<f64>,
    incidents: u64,
    second_opinion: Option<SecondOpinion>,
    warned_size: bool,
    /// The last frame's foreground mask (non-zero = foreground), for debug drawing.
    last_foreground: Vec<u8>,
    /// Global motion compensation (see [`motion`]).
    motion: MotionEstimator,
    /// The slow part of the shift (drift), pixels.
    drift: (f32, f32),
    /// The shift undone in the last frame (frame = background + shift), pixels.
    last_shift: (f32, f32),
    /// How far frames are typically out of line after the whole-pixel
    /// undo: a running mean of the larger axis of the sub-pixel rest, pixels.
    subpixel: f32,
    /// How much of the shake headroom is applied, 0..=1: only as much as
    /// the shake actually makes noise blobs (a quiet facade keeps its
    /// thresholds, so dim objects at night are not lost at window edges).
    headroom_gain: f32,
    /// Per-frame buffers, kept between frames: luma and chroma, as taken
    /// and as shifted into line with the background, and the two masks.
    luma: Vec<u8>,
    chroma: Vec<u8>,
    luma_aligned: Vec<u8>,
    chroma_aligned: Vec<u8>,
    fg: Foreground,
    fg_chroma: Foreground,
    /// Alerts and rejected tracks, for `replay --explain`.
    explain: Explain,
    /// Tracks already explained as rejected (each is explained once).
    explained: std::collections::HashMap<u64, &'static str>,
}

impl ThrowingAnalyzer {
    /// Builds the analyzer for frames of `width`×`height` at about `fps`.
    pub fn new(
        cfg: &ThrowingConfig,
        width: u32,
        height: u32,
        fps: u32,
    ) -> Result<ThrowingAnalyzer, ThrowingError> {
        let calibration = Calibration::new(cfg, width, height)?;
        let mut roi = if cfg.facade.is_empty() {
            ZoneMask::full("facade", width, height).inside
        } else {
            let facade = ZoneMask::from_polygon("facade", &cfg.facade, width, height);
            widen(
                &facade.inside,
                width,
                (cfg.facade_margin * width as f32) as usize,
            )
        };
        for z in &cfg.exclude {
            let ex = ZoneMask::from_polygon(&z.name, &z.polygon, width, height);
            for (r, e) in roi.iter_mut().zip(&ex.inside) {
                *r = *r && !*e;
            }
        }
        if !roi.iter().any(|r| *r) {
            return Err(ThrowingError::EmptyFacade);
        }
        Ok(ThrowingAnalyzer {
            width,
            height,
            fps: fps.max(1),
            calibration,
            background: BackgroundModel::new(
                width,
                height,
                roi.clone(),
                cfg.pixel_threshold,
                cfg.shake_px,
                cfg.background_s,
            ),
            chroma_background: BackgroundModel::new(
                width,
                height,
                roi,
                cfg.pixel_threshold,
                cfg.shake_px,
                cfg.background_s,
            ),
            tracker: Tracker::new(cfg.max_gap_frames),
            params: Params {
                min_g: cfg.min_g,
                max_g: cfg.max_g,
                max_lateral_g: cfg.max_lateral_g,
                min_track_s: cfg.min_track_s,
                min_points: cfg.min_points,
                min_drop_px: cfg.min_drop_px,
                max_residual_px: cfg.max_residual_px,
                max_backtrack_s: cfg.max_backtrack_s,
                frame_s: 1.0 / fps.max(1) as f32,
            },
            min_blob_px: cfg.min_blob_px,
            max_blob_side_px: cfg.max_blob_side_px,
            critical_size_m: cfg.critical_size_m,
            history_s: cfg.history_s as f64,
            history: VecDeque::new(),
            recent: Vec::new(),
            last_t: None,
            incidents: 0,
            second_opinion: None,
            warned_size: false,
            last_foreground: Vec::new(),
            motion: MotionEstimator::new(width, height),
            drift: (0.0, 0.0),
            last_shift: (0.0, 0.0),
            subpixel: 0.0,
            headroom_gain: 0.0,
            luma: Vec::new(),
            chroma: Vec::new(),
            luma_aligned: Vec::new(),
            chroma_aligned: Vec::new(),
            fg: Foreground::default(),
            fg_chroma: Foreground::default(),
            explain: Explain::default(),
            explained: std::collections::HashMap::new(),
        })
    }

    /// Adds a second opinion on candidates (see [`CropScorer`]).
    pub fn with_second_opinion(mut self, second: SecondOpinion) -> ThrowingAnalyzer {
        self.second_opinion = Some(second);
        self
    }

    /// The live tracks (for debug drawing).
    pub fn tracks(&self) -> &[tracker::Track] {
        &self.tracker.tracks
    }

    /// The facade calibration (for drawing the grid).
    pub fn calibration(&self) -> &Calibration {
        &self.calibration
    }

    fn time_of(&self, frame: &Frame) -> f64 {
        match frame.pts {
            Some(p) => p.as_secs_f64(),
            None => frame.seq as f64 / self.fps as f64,
        }
    }

    /// True when an observation lies on the (extrapolated) path of an object
    /// already alerted: the same object, picked up again by a new track.
    fn is_known_object(&self, obs: &tracker::Obs) -> bool {
        self.recent.iter().any(|r| {
            let dt = (obs.t - r.alerted_at).max(0.0) as f32;
            // The fitted path drifts from the truth as it is extrapolated.
            let tol = r.tolerance + 0.15 * r.fit_y.accel().abs() as f32 * dt * dt;
            obs.t <= r.until
                && (r.fit_x.at(obs.t) as f32 - obs.x).abs() <= tol
                && (r.fit_y.at(obs.t) as f32 - obs.y).abs() <= tol
        })
    }
}

impl Analyzer for ThrowingAnalyzer {
    fn name(&self) -> &'static str {
        "throwing"
    }

    fn set_explain(&mut self, on: bool) {
        self.explain.on = on;
    }

    fn explain(&mut self) -> Vec<Explanation> {
        self.explain.take()
    }

    fn draw_debug(&self, img: &mut RgbImage) {
        if img.width() != self.width || img.height() != self.height {
            return;
        }
        const GRID: Rgb<u8> = Rgb([90, 160, 255]);
        const FOREGROUND: Rgb<u8> = Rgb([255, 0, 255]);
        const TRACK: Rgb<u8> = Rgb([0, 255, 0]);
        const DONE: Rgb<u8> = Rgb([255, 40, 40]);
        const PARABOLA: Rgb<u8> = Rgb([255, 140, 0]);
        const RELEASE: Rgb<u8> = Rgb([255, 255, 0]);
        let w = self.width as f32;
        let (bottom, top) = self.calibration.edges_px();
        let lines = self.calibration.lines_px();
        let (y0, y1) = (lines[0], lines[lines.len() - 1]);
        for &y in lines {
            snapshot::draw_line(img, (0.0, y), (w - 1.0, y), GRID, 1);
        }
        for (b, t) in bottom.iter().zip(top) {
            snapshot::draw_line(img, (*b, y0), (*t, y1), GRID, 1);
        }
        for (i, m) in self.last_foreground.iter().enumerate() {
            if *m != 0 {
                let (x, y) = (i as u32 % self.width, i as u32 / self.width);
                img.put_pixel(x, y, FOREGROUND);
            }
        }
        // Tracks are kept in the background's frame of reference; the
        // picture is where the camera was this frame.
        let (sx, sy) = self.last_shift;
        for track in &self.tracker.tracks {
            let colour = if track.done { DONE } else { TRACK };
            for pair in track.obs.windows(2) {
                snapshot::draw_line(
                    img,
                    (pair[0].x + sx, pair[0].y + sy),
                    (pair[1].x + sx, pair[1].y + sy),
                    colour,
                    1,
                );
            }
        }
        // Each alerted fall: the fitted parabola from the release point to
        // the alert (dashed where extrapolated back), and the release point.
        for r in &self.recent {
            let (t0, ox, oy) = r.origin;
            let at = |t: f64| -> (f32, f32) {
                let x = if t < r.first_seen {
                    ox as f64 + r.fit_x.rate(r.first_seen) * (t - t0)
                } else {
                    r.fit_x.at(t)
                };
                let y = if t < r.first_seen {
                    // Between the two back-traces' ends: the free-fall one
                    // starts at the origin, the fit joins at the first sighting.
                    let k = ((t - t0) / (r.first_seen - t0).max(1e-3)).clamp(0.0, 1.0);
                    oy as f64 + (r.fit_y.at(r.first_seen) - oy as f64) * k * k
                } else {
                    r.fit_y.at(t)
                };
                (x as f32 + sx, y as f32 + sy)
            };
            let steps = (((r.alerted_at - t0) * 30.0).ceil() as usize).clamp(1, 300);
            let mut prev = at(t0);
            for k in 1..=steps {
                let t = t0 + (r.alerted_at - t0) * k as f64 / steps as f64;
                let p = at(t);
                if t >= r.first_seen || k % 2 == 0 {
                    snapshot::draw_line(img, prev, p, PARABOLA, 1);
                }
                prev = p;
            }
            let (rx, ry) = (ox + sx, oy + sy);
            snapshot::draw_line(img, (rx - 5.0, ry - 5.0), (rx + 5.0, ry + 5.0), RELEASE, 2);
            snapshot::draw_line(img, (rx - 5.0, ry + 5.0), (rx + 5.0, ry - 5.0), RELEASE, 2);
        }
    }

    fn process(&mut self, frame: &Frame) -> Vec<Finding> {
        if frame.width != self.width
            || frame.height != self.height
            || frame.rgb.len() != self.width as usize * self.height as usize * 3
        {
            if !self.warned_size {
                tracing::warn!(
                    got = %format!("{}x{}", frame.width, frame.height),
                    want = %format!("{}x{}", self.width, self.height),
                    "throwing: frame size differs from the detect size; frames skipped"
                );
                self.warned_size = true;
            }
            return Vec::new();
        }
        let t = self.time_of(frame);
        let dt = match self.last_t {
            Some(prev) if t > prev => (t - prev) as f32,
            Some(_) => {
                // Time went backwards (a file looped, a stream restarted): start over.
                self.tracker.tracks.clear();
                self.history.clear();
                self.recent.clear();
                1.0 / self.fps as f32
            }
            None => 1.0 / self.fps as f32,
        };
        self.last_t = Some(t);
        // Follow the real frame interval (frames may be dropped upstream).
        self.params.frame_s += (dt.clamp(0.01, 1.0) - self.params.frame_s) * 0.05;
        self.history.push_back((t, frame.rgb.clone()));
        while self
            .history
            .front()
            .is_some_and(|(ht, _)| t - ht > self.history_s)
        {
            self.history.pop_front();
        }
        self.recent.retain(|r| r.until >= t);

        luma_chroma_into(&frame.rgb, &mut self.luma, &mut self.chroma);
        self.compensate_motion(dt);
        let (y, c) = if self.last_shift == (0.0, 0.0) {
            (&self.luma, &self.chroma)
        } else {
            (&self.luma_aligned, &self.chroma_aligned)
        };
        self.background.apply_into(y, dt, &mut self.fg);
        self.chroma_background
            .apply_into(c, dt, &mut self.fg_chroma);
        if self.fg.scene_change || self.fg_chroma.scene_change {
            self.motion.rebase(self.motion.shift());
            self.drift = (0.0, 0.0);
        } else {
            for (m, mc) in self.fg.mask.iter_mut().zip(&self.fg_chroma.mask) {
                *m = (*m).max(*mc);
            }
        }
        let fg_pixels = self.fg.count;
        let blobs = blobs::extract(
            &mut self.fg.mask,
            self.width,
            self.height,
            self.min_blob_px,
            self.max_blob_side_px,
            MAX_BLOBS,
        );
        std::mem::swap(&mut self.last_foreground, &mut self.fg.mask);
        if blobs.len() > NOISY_BLOBS {
            self.headroom_gain += dt / HEADROOM_RISE_S;
        } else if blobs.len() < QUIET_BLOBS {
            self.headroom_gain -= dt / (4.0 * HEADROOM_RISE_S);
        }
        self.headroom_gain = self.headroom_gain.clamp(0.0, 1.0);
        tracing::trace!(
            t,
            fg_pixels,
            blobs = blobs.len(),
            tracks = self.tracker.tracks.len(),
            shift_x = self.last_shift.0,
            shift_y = self.last_shift.1,
            "throwing: frame"
        );
        let cal = &self.calibration;
        let updated = self.tracker.update(
            t,
            &blobs,
            |y| cal.gravity_px(y),
            |y| (cal.gravity_px(y) * 2.0).max(30.0),
        );

        let mut out = Vec::new();
        let live: std::collections::HashSet<u64> =
            self.tracker.tracks.iter().map(|t| t.id).collect();
        self.explained.retain(|id, _| live.contains(id));
        for id in updated {
            let (tracker, cal, params) = (&mut self.tracker, &self.calibration, &self.params);
            let Some(track) = tracker.get_mut(id) else {
                continue;
            };
            if track.done {
                continue;
            }
            let (verdict, measures) =
                trajectory::judge_measured(&track.obs, |y| cal.gravity_px(y), params);
            let fall = match verdict {
                Verdict::Fall(fall) => fall,
                Verdict::Reject(why) => {
                    // Explained (and logged at debug) once per reason per track.
                    if self.explained.get(&id) != Some(&why) {
                        self.explained.insert(id, why);
                        let last = track.obs[track.obs.len() - 1];
                        tracing::debug!(
                            track = id,
                            points = track.obs.len(),
                            x = last.x,
                            y = last.y,
                            why,
                            "throwing: track rejected (not a fall so far)"
                        );
                        tracing::trace!(track = id, obs = ?track.obs.iter().map(|o| (o.t, o.x as i32, o.y as i32, o.area)).collect::<Vec<_>>(), "throwing: rejected track's points");
                        let cues = measures.cues(params);
                        self.explain.record(|| Explanation {
                            analyzer: "throwing",
                            subject: format!("track {id} at ({:.0},{:.0})", last.x, last.y),
                            verdict: Judged::Rejected(why.into()),
                            cues,
                        });
                    }
                    continue;
                }
                Verdict::Wait => {
                    tracing::trace!(track = id, ?measures, "throwing: track waits for evidence");
                    continue;
                }
            };
            let obs = track.obs.clone();
            track.done = true;
            tracing::debug!(track = id, ?fall, obs = ?&obs[fall.start..], "throwing: fall accepted");
            // A track that lost the object and another that picked it up again
            // (passing a lit window, say) would each raise an alert: any
            // point of the new fall on an alerted path makes it the same object.
            if obs[fall.start..].iter().any(|o| self.is_known_object(o)) {
                tracing::debug!(track = id, "throwing: same object as an earlier alert");
                continue;
            }
            let tolerance = 4.0 + 2.0 * fall.size_px;
            self.recent.push(RecentFall {
                fit_x: fall.fit_x,
                fit_y: fall.fit_y,
                origin: (fall.origin_t, fall.origin_x, fall.origin_y),
                first_seen: obs[fall.start].t,
                alerted_at: t,
                until: t + SAME_OBJECT_S,
                tolerance,
            });
            if let Some(f) = self.finding(frame, id, &obs, &fall) {
                let mut cues = measures.cues(&self.params);
                cues.push(Cue::at_most(
                    "extrapolated_s",
                    fall.extrapolated_s as f64,
                    self.params.max_backtrack_s as f64,
                ));
                if let Some(c) = f.details["origin"]["floor_confidence"].as_f64() {
                    cues.push(Cue::at_least("floor_confidence", c, 0.0));
                }
                let floor = f.details["origin"]["floor"].as_i64().unwrap_or_default();
                self.explain.record(|| Explanation {
                    analyzer: "throwing",
                    subject: format!("track {id} from floor {floor}"),
                    verdict: Judged::Alert("throwing".into()),
                    cues,
                });
                out.push(f);
            }
        }
        out
    }
}

/// Luma (BT.601) and a red–blue opponent channel, `128 + (R − B) / 2`, of
/// a packed RGB buffer.
pub fn luma_chroma(rgb: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let (mut y, mut c) = (Vec::new(), Vec::new());
    luma_chroma_into(rgb, &mut y, &mut c);
    (y, c)
}

/// [`luma_chroma`] into kept buffers (resized to fit).
pub fn luma_chroma_into(rgb: &[u8], y: &mut Vec<u8>, c: &mut Vec<u8>) {
    let n = rgb.len() / 3;
    y.resize(n, 0);
    c.resize(n, 0);
    for ((p, yv), cv) in rgb.chunks_exact(3).zip(y.iter_mut()).zip(c.iter_mut()) {
        let (r, g, b) = (p[0] as i32, p[1] as i32, p[2] as i32);
        *yv = ((77 * r + 150 * g + 29 * b) >> 8) as u8;
        *cv = (128 + ((r - b) >> 1)) as u8;
    }
}

/// `mask` grown sideways by `by` pixels on each side, row by row.
fn widen(mask: &[bool], width: u32, by: usize) -> Vec<bool> {
    let w = width as usize;
    let mut out = mask.to_vec();
    if by == 0 || w == 0 {
        return out;
    }
    for (row_in, row_out) in mask.chunks(w).zip(out.chunks_mut(w)) {
        for (x, inside) in row_in.iter().enumerate() {
            if *inside {
                let (a, b) = (x.saturating_sub(by), (x + by).min(w - 1));
                row_out[a..=b].iter_mut().for_each(|v| *v = true);
            }
        }
    }
    out
}
