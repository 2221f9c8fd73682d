//! Tracking for the garbage analyzer: static candidate objects followed over
//! time.
//!
//! Owns the [`Track`] (a candidate's cells and box, and its timers: when the
//! object was left, when the track was created, since when it has been gone,
//! when the model cues may be asked again), the short history the analyzer
//! keeps for linking a track to who left it (a ring of recent frames, the
//! moving blobs of the last seconds), grouping this frame's static cells into
//! blobs, and matching those blobs to tracks frame by frame.

use super::blobs::{label, label_by_time, Blob, CellBox};
use super::cues::{CueOutcome, PersonSighting};
use super::GarbageAnalyzer;
use crate::ingest::Frame;
use std::sync::Arc;

/// Where a track is in its life.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum TrackState {
    /// Waiting for the dwell time and the checks.
    Watching,
    /// Alerted as incident `Track::id`.
    Alerted,
}

/// A static candidate object followed over time.
#[derive(Debug, Clone)]
pub(super) struct Track {
    pub(super) id: u64,
    pub(super) cells: Vec<usize>,
    pub(super) bbox: CellBox,
    /// Stream time the object first lay still (it appeared). The dwell counts
    /// from here.
    pub(super) appeared_at: f64,
    /// Stream time whoever put it down moved off it: the end of the last
    /// motion at the spot before it went quiet. This is the drop time alerts
    /// report (`left_at_ms`) and the "left" panel shows; `None` until the
    /// spot first goes quiet.
    pub(super) left_at: Option<f64>,
    /// Foreground cells around the object when `left_at` was last set (see
    /// [`GarbageAnalyzer::foreground_near`]).
    pub(super) near_fg: usize,
    pub(super) created: f64,
    pub(super) matched: bool,
    pub(super) gone_since: Option<f64>,
    pub(super) state: TrackState,
    /// The frame for the "left" panel: from just before the object appeared
    /// until `left_at` is known, then the first frame after it.
    pub(super) keyframe: Option<(f64, Arc<Vec<u8>>)>,
    pub(super) person: Option<PersonSighting>,
    /// Earliest stream time the model cues may be asked again.
    pub(super) next_cue: f64,
    /// A cue question about this track is with the inference worker.
    pub(super) cue_asked: bool,
    /// The answer to it, arrived and not yet judged.
    pub(super) cue_answer: Option<CueOutcome>,
    pub(super) bag_like: Option<f32>,
    /// Why the track has not alerted yet (for logs and debugging).
    pub(super) holding: &'static str,
    /// The spot has been free of motion for `quiet_s` at least once since the
    /// object was left (whoever left it has gone).
    pub(super) was_quiet: bool,
    pub(super) contrast: f32,
    /// Largest box area (px²) the track has had: a faint object whose edges
    /// fade in and out is judged by its full size, not today's remnant.
    pub(super) peak_area: f32,
}

impl GarbageAnalyzer {
    pub(super) fn remember_frame(&mut self, t: f64, frame: &Frame) {
        if self.ring.back().is_none_or(|(last, _)| t - last >= 0.5) {
            self.ring.push_back((t, frame.rgb.clone()));
        }
        while self.ring.len() > 16 {
            self.ring.pop_front();
        }
    }

    pub(super) fn remember_motion(&mut self, t: f64) {
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

    /// The first frame at or after `t` in the ring (the newest when none is).
    pub(super) fn frame_after(&self, t: f64) -> Option<(f64, Arc<Vec<u8>>)> {
        self.ring
            .iter()
            .find(|(ft, _)| *ft >= t)
            .or(self.ring.back())
            .map(|(ft, f)| (*ft, f.clone()))
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

    /// Groups this frame's static cells into blobs inside the zones.
    pub(super) fn static_blobs(&self, t: f64) -> Vec<Blob> {
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
    pub(super) fn match_tracks(&mut self, blobs: Vec<Blob>, t: f64) {
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
                    let same_time = (blob.time - tr.appeared_at).abs() <= self.s.same_time_s;
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
            let rect = self.pixel_box(&blob.bbox);
            let area = rect.area();
            if area < self.area_limits(rect.y1).0 {
                continue;
            }
            let appeared = blob.time;
            let keyframe = self.frame_before(appeared - 0.5);
            let person = self.person_from_motion(&blob.bbox, appeared);
            self.next_id += 1;
            tracing::debug!(
                track = self.next_id,
                x = blob.bbox.x0,
                y = blob.bbox.y0,
                w = blob.bbox.width(),
                h = blob.bbox.height(),
                appeared,
                "garbage: new candidate"
            );
            self.tracks.push(Track {
                id: self.next_id,
                cells: blob.cells,
                bbox: blob.bbox,
                appeared_at: appeared,
                left_at: None,
                near_fg: 0,
                created: t,
                matched: true,
                gone_since: None,
                state: TrackState::Watching,
                keyframe,
                person,
                next_cue: t,
                cue_asked: false,
                cue_answer: None,
                bag_like: None,
                holding: "dwell",
                was_quiet: false,
                contrast: 0.0,
                peak_area: area,
            });
        }
    }
}
