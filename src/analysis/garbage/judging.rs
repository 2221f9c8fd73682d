//! Judging for the garbage analyzer: what happens to each followed track
//! every frame.
//!
//! Owns the decision to alert, to keep waiting, or to accept a change as
//! background (`Verdict`), with the thresholds and rules behind it: motion and
//! dwell at the spot, ghosts (and pieces judged with a larger change of the
//! same seconds), light and shadow, size and shape, moved objects,
//! standing people, pieces of an object already alerted, and the model cues'
//! verdict. Also owns the end of an incident (the object gone for
//! `removal_s`) and absorbing rejected changes into the long-term background.

use super::background::{dist, CellModel};
use super::blobs::{shape, CellBox};
use super::cues::CueVerdict;
use super::tracking::{Track, TrackState};
use super::GarbageAnalyzer;
use crate::analysis::explain::{Cue, Explanation, Verdict as ExplainVerdict};
use crate::analysis::Finding;
use crate::ingest::Frame;

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
pub(super) struct Change {
    id: u64,
    state: TrackState,
    left_at: f64,
    bbox: CellBox,
    /// Mean colour of the place in the long-term background (what was there).
    before: [f32; 3],
    /// Mean colour of the place now.
    now: [f32; 3],
    /// Its box is larger than a bag's at its row (`max_area`): a bin, a
    /// parked bicycle, a person by the camera.
    large: bool,
    /// Absorbed as a ghost or as half of a moved object: a place an object
    /// left.
    left_place: bool,
}

/// Absorb reasons that mark a place an object left ([`Change::left_place`]).
const GHOST: &str = "ghost: something was taken away here";
const GHOST_WITH: &str = "ghost: part of a larger change of the same seconds";
const MOVED: &str = "moved object";

/// Wait reasons that are timers, not judgements: they are neither logged
/// nor explained as rejections.
pub(super) const WAIT_MOTION: &str = "motion at the spot";
pub(super) const WAIT_DWELL: &str = "dwell";
pub(super) const WAIT_CUES: &str = "person detector";
/// Held while the shared inference worker answers the track's question.
pub(super) const WAIT_ANSWER: &str = "person detector: waiting for its answer";

/// A change the judge has turned down lately, for the debug video.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rejection {
    pub(super) at: f64,
    pub(super) bbox: CellBox,
    /// Absorbed into the background (true) or only held for now.
    pub(super) absorbed: bool,
}

enum Verdict {
    Wait(&'static str),
    Absorb(&'static str),
    Alert,
}

impl GarbageAnalyzer {
    /// Advances every track by one frame; returns findings.
    pub(super) fn lifecycle(&mut self, t: f64, frame: &Frame) -> Vec<Finding> {
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
                    if why != tr.holding
                        && !matches!(why, WAIT_MOTION | WAIT_DWELL | WAIT_CUES | WAIT_ANSWER)
                    {
                        self.rejected(&tr, t, why, false);
                    }
                    tr.holding = why;
                    keep.push(tr);
                }
                Verdict::Absorb(why) => {
                    self.rejected(&tr, t, why, true);
                    let mut gone = self.change_of(&tr);
                    gone.left_place = matches!(why, GHOST | GHOST_WITH | MOVED);
                    self.vanished.push_back(gone);
                    absorb.push((tr.cells.clone(), tr.appeared_at));
                }
                Verdict::Alert => {
                    tr.state = TrackState::Alerted;
                    let cues = std::mem::take(&mut self.judged);
                    let subject = self.subject(&tr);
                    self.explain.record(|| Explanation {
                        analyzer: "garbage",
                        subject,
                        verdict: ExplainVerdict::Alert("garbage".into()),
                        cues,
                    });
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

    /// Logs (debug) and explains a candidate turned down: absorbed into the
    /// background (`absorbed`) or held for a reason that is a judgement (too
    /// small, shaped like a person, a person detected on it).
    fn rejected(&mut self, tr: &Track, t: f64, why: &'static str, absorbed: bool) {
        let cues = std::mem::take(&mut self.judged);
        let listed: Vec<String> = cues.iter().map(|c| c.to_string()).collect();
        let rect = self.pixel_box(&tr.bbox);
        tracing::debug!(
            track = tr.id,
            why,
            absorbed,
            x = rect.x0,
            y = rect.y0,
            w = rect.x1 - rect.x0,
            h = rect.y1 - rect.y0,
            cues = %listed.join("; "),
            "garbage: candidate rejected"
        );
        self.rejections.push_back(Rejection {
            at: t,
            bbox: tr.bbox,
            absorbed,
        });
        while self.rejections.len() > 32 {
            self.rejections.pop_front();
        }
        let subject = self.subject(tr);
        let verdict = if absorbed {
            why.to_string()
        } else {
            format!("held: {why}")
        };
        self.explain.record(|| Explanation {
            analyzer: "garbage",
            subject,
            verdict: ExplainVerdict::Rejected(verdict),
            cues,
        });
    }

    /// How explanations name a track: `candidate 3 at (312,280) 40x36`.
    fn subject(&self, tr: &Track) -> String {
        let r = self.pixel_box(&tr.bbox);
        format!(
            "candidate {} at ({:.0},{:.0}) {:.0}x{:.0}",
            tr.id,
            r.x0,
            r.y0,
            r.x1 - r.x0,
            r.y1 - r.y0
        )
    }

    /// Sets when whoever put the object down moved off it: the end of the
    /// last motion at the spot (`last_motion`), and the "left" panel's frame
    /// and person from just after that.
    fn mark_left(&mut self, tr: &mut Track, last_motion: f64) {
        let left = last_motion.max(tr.appeared_at);
        tr.left_at = Some(left);
        if let Some(key) = self.frame_after(left + 1e-3) {
            tr.keyframe = Some(key);
        }
        if let Some(p) = self.person_from_motion(&tr.bbox, left) {
            tr.person = Some(p);
        }
        tr.near_fg = self.foreground_near(&tr.bbox);
        tracing::debug!(
            track = tr.id,
            left_at = left,
            "garbage: whoever left it moved off"
        );
    }

    /// Foreground cells (still or moving) around a box, within its own size:
    /// the object and anyone still beside it.
    fn foreground_near(&self, b: &CellBox) -> usize {
        let grid = self.grid();
        b.grow(b.width().max(b.height()), &grid)
            .cells(&grid)
            .filter(|&c| self.model.foreground[c])
            .count()
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

    /// Decides what to do with a watched, currently visible track. The cues
    /// it compared go to `self.judged` (for explanations).
    fn judge(&mut self, tr: &mut Track, t: f64, frame: &Frame) -> Verdict {
        self.judged.clear();
        // Motion at the spot holds a track until whoever left it has gone;
        // after that, people passing by do not hold it again. (Someone
        // standing in front of a bin hides its edges and looks like a ghost:
        // the ghost test waits for quiet too.)
        let last_motion = self.last_motion_near(&tr.bbox);
        let since_motion = if last_motion.is_finite() {
            t - last_motion
        } else {
            t - tr.appeared_at
        };
        let quiet = since_motion >= self.s.quiet_s;
        tr.was_quiet |= quiet;
        let own_motion = tr.cells.iter().any(|&c| self.model.flicker[c]);
        self.judged
            .push(Cue::at_least("quiet_s", since_motion, self.s.quiet_s));
        self.judged
            .push(Cue::at_least("dwell_s", t - tr.appeared_at, self.s.dwell_s));
        if !tr.was_quiet || (!quiet && (own_motion || t - tr.appeared_at < self.s.dwell_s)) {
            return Verdict::Wait(WAIT_MOTION);
        }
        // Whoever put it down has moved off it: at the first quiet spell, the
        // end of the last motion around it (within its own size, where the
        // person stood or crouched). Later, when someone still beside it then
        // (crouching by their bag) has gone too and the motion around it has
        // stopped again, at the end of that motion; a passer-by does not move
        // it, nor does light.
        let around = self.last_motion_around(&tr.bbox);
        let moved_off_again = tr.left_at.is_some_and(|left| around > left)
            && t - around >= 1.0
            && (self.foreground_near(&tr.bbox) as f32) < 0.75 * tr.near_fg as f32;
        if tr.left_at.is_none() || moved_off_again {
            self.mark_left(tr, around);
        }
        let border = self.border_evidence(&tr.cells);
        tr.contrast = border.contrast;
        // A piece of a large change of the same seconds, or of a place an
        // object left then (where the person who pushed a bin stood until
        // they walked off), is judged with it: a ghost by a margin, not on
        // the knife edge of one share.
        let with_large = self.beside_departure(tr);
        let ghost_limit = if with_large {
            self.s.ghost_share - self.s.ghost_margin
        } else {
            self.s.ghost_share
        };
        self.judged.push(Cue::at_most(
            "ghost_share",
            border.ghost_share as f64,
            ghost_limit as f64,
        ));
        if border.ghost_share >= ghost_limit && t - tr.created >= 0.5 {
            return Verdict::Absorb(if with_large { GHOST_WITH } else { GHOST });
        }
        if t - tr.appeared_at < self.s.dwell_s {
            return Verdict::Wait(WAIT_DWELL);
        }
        let rect = self.pixel_box(&tr.bbox);
        let (w, h) = (rect.x1 - rect.x0, rect.y1 - rect.y0);
        // Light (a lamp pool, a sun patch) brightens the surroundings too and
        // draws no new edge; an object puts an outline down on unchanged ground.
        self.judged.push(Cue::at_most(
            "light_spill",
            border.spill as f64,
            self.s.light_spill as f64,
        ));
        self.judged.push(Cue::at_least(
            "edge_share",
            border.edge_share as f64,
            self.s.light_max_edges as f64,
        ));
        if border.spill >= self.s.light_spill && border.edge_share < self.s.light_max_edges {
            return Verdict::Absorb("soft change spilling around: light or shadow");
        }
        let (min_area, max_area) = self.area_limits(rect.y1);
        let area = rect.area() as f64;
        self.judged
            .push(Cue::at_most("area_px", area, max_area as f64));
        self.judged.push(Cue::at_least(
            "peak_area_px",
            area.max(tr.peak_area as f64),
            min_area as f64,
        ));
        if rect.area() > max_area {
            return Verdict::Absorb("too large for a bag at its row");
        }
        if rect.area().max(tr.peak_area) < min_area {
            return Verdict::Wait("too small for its row");
        }
        // The other half of a moved object: nearby, at about the same time,
        // a place that used to have this colour lost it. "This colour" means
        // much closer to it than to what was here before, so two pieces of
        // one faint object do not pair up.
        let size = tr.bbox.width().max(tr.bbox.height());
        let me = self.change_of(tr);
        let th = self.model.threshold;
        let own_change = dist(&me.before, &me.now);
        // A change too large for a bag, or a place bordering one of the same
        // seconds (a bin pushed less than its width: old and new place show
        // as that one change), pairs only with pieces bordering it, not with
        // a bag set down a little way off. A bin pushed clear of its old
        // place leaves a ghost apart from its new place, and they pair.
        if self.peers.iter().chain(self.vanished.iter()).any(|g| {
            g.id != tr.id
                && (g.bbox.gap(&tr.bbox) <= 1
                    || !(g.large || self.beside_change(g.id, &g.bbox, g.left_at, true)))
                && (g.left_at - tr.appeared_at).abs() <= self.s.moved_window_s
                && g.bbox.gap(&tr.bbox) <= 3 * size.max(g.bbox.width().max(g.bbox.height()))
                && dist(&g.before, &me.now) <= (2.0 * th).min(0.5 * own_change)
                && dist(&g.before, &g.now) > th
        }) {
            return Verdict::Absorb(MOVED);
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
        self.judged.push(Cue::at_least(
            "fill",
            sh.fill as f64,
            self.s.min_fill as f64,
        ));
        if big {
            self.judged.push(Cue::at_least(
                "core",
                sh.core as f64,
                self.s.min_core as f64,
            ));
            self.judged.push(Cue::at_most(
                "holes",
                sh.holes as f64,
                self.s.max_holes as f64,
            ));
        }
        if sh.fill < self.s.min_fill
            || (big && (sh.core < self.s.min_core || sh.holes > self.s.max_holes))
        {
            // An object that appears at once (set down quickly, dropped)
            // settles from its outline inwards: its edge cells, whose change
            // threshold the edges raise, stop counting as moving frames
            // before its flat middle does. Until nothing inside its box is
            // still changing, a ring is not yet a shape.
            if self.settling_inside(tr) {
                return Verdict::Wait("still settling inside its box");
            }
            return Verdict::Absorb("sparse shape (bicycle, fence)");
        }
        // A box cut by the frame's side is narrower than its object.
        let cut = tr.bbox.x0 == 0 || tr.bbox.x1 + 1 >= grid.w;
        if !cut {
            self.judged.push(Cue::at_most(
                "aspect",
                (h / w.max(1.0)) as f64,
                self.s.max_aspect as f64,
            ));
        }
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
            // The models' answer to the last question about this track,
            // asked on an earlier frame (see `cues`).
            let Some(answer) = tr.cue_answer.take() else {
                if tr.cue_asked {
                    return Verdict::Wait(WAIT_ANSWER);
                }
                if t < tr.next_cue {
                    return Verdict::Wait(WAIT_CUES);
                }
                tr.next_cue = t + 2.0;
                self.ask_cues(tr, rect, frame);
                return Verdict::Wait(WAIT_ANSWER);
            };
            if answer.bag_like.is_some() && tr.bag_like.is_none() {
                tr.bag_like = answer.bag_like;
            }
            if answer.person.is_some() {
                tr.person = answer.person;
            }
            match answer.verdict {
                CueVerdict::Person => return Verdict::Wait("person detected at the spot"),
                CueVerdict::Bicycle => return Verdict::Absorb("bicycle detected"),
                CueVerdict::Clear => {}
            }
            if let (Some(min), Some(b)) = (self.s.min_bag_like, tr.bag_like) {
                self.judged
                    .push(Cue::at_least("bag_like", b as f64, min as f64));
                if b < min {
                    return Verdict::Absorb("not bag-like");
                }
            }
        }
        Verdict::Alert
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

    /// A track as a [`Change`]: where, when, and its colour before and now.
    pub(super) fn change_of(&self, tr: &Track) -> Change {
        let rect = self.pixel_box(&tr.bbox);
        Change {
            id: tr.id,
            state: tr.state,
            left_at: tr.appeared_at,
            bbox: tr.bbox,
            before: self.mean_colour(&tr.cells, |m, c| m.long_term(c)),
            now: self.mean_colour(&tr.cells, |m, c| m.current(c)),
            large: rect.area() > self.area_limits(rect.y1).1,
            left_place: false,
        }
    }

    /// Whether a change too large for a bag, or (unless `large_only`) a
    /// place an object left, followed now or absorbed in the last minute,
    /// borders or overlaps `b` and appeared within `with_large_s` of `at`,
    /// other than `id`.
    fn beside_change(&self, id: u64, b: &CellBox, at: f64, large_only: bool) -> bool {
        self.peers.iter().chain(self.vanished.iter()).any(|g| {
            g.id != id
                && (g.large || (g.left_place && !large_only))
                && g.bbox.gap(b) <= 1
                && (g.left_at - at).abs() <= self.s.with_large_s
        })
    }

    /// [`Self::beside_change`] for a track: a large change or a place an
    /// object left.
    fn beside_departure(&self, tr: &Track) -> bool {
        self.beside_change(tr.id, &tr.bbox, tr.appeared_at, false)
    }

    /// Whether cells inside `tr`'s box but not yet its own differ from the
    /// long-term background while still moving: the object may still be
    /// settling there.
    fn settling_inside(&self, tr: &Track) -> bool {
        let w = self.grid().w;
        let b = &tr.bbox;
        (b.y0..=b.y1).any(|y| {
            (b.x0..=b.x1).any(|x| {
                let c = y * w + x;
                self.model.foreground.get(c).copied().unwrap_or(false)
                    && self.model.moving.get(c).copied().unwrap_or(false)
                    && !tr.cells.contains(&c)
            })
        })
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

    /// Latest frame-difference motion around a box, within its own size on
    /// each side: where whoever put it down stood or crouched.
    fn last_motion_around(&self, b: &CellBox) -> f64 {
        let grid = self.grid();
        b.grow(b.width().max(b.height()), &grid)
            .cells(&grid)
            .map(|c| self.model.last_motion[c])
            .fold(f64::NEG_INFINITY, f64::max)
    }

    /// Latest frame-difference motion anywhere in (or next to) a box.
    fn last_motion_near(&self, b: &CellBox) -> f64 {
        let grid = self.grid();
        b.grow(1, &grid)
            .cells(&grid)
            .map(|c| self.model.last_motion[c])
            .fold(f64::NEG_INFINITY, f64::max)
    }
}
