//! The fire analyzer's per-frame pipeline, the steps the module doc lists:
//! the people detector's answers, the pixel pass and smoke background, the
//! optional detector, flame and smoke candidates, then confirmation and the
//! per-zone lifecycle ([`Analyzer`] for [`FireAnalyzer`]).

use super::boxes::{box_cells, cell_bbox, crop, mark_glow, touches};
use super::config::FireFusion;
use super::debug::{cells_subject, flame_cues, reject, smoke_cues};
use super::flame::FlameRegion;
use super::fusion::{confirm, flame_hit, merge_hit, smoke_hit, zone_observations};
use super::lifecycle::{round2, Observation};
use super::smoke::SmokeRegion;
use super::{
    finding, flame, glow, smoke, FireAnalyzer, ASK_PROVE, ASK_SMOKE, ASK_WARMUP, PEOPLE_FRESH_S,
    PEOPLE_WAIT_S, PROVE_ASK_S, PROVE_MARGIN, WARMUP_ASKS,
};
use crate::alert::{AlertKind, AlertState};
use crate::analysis::detector::worker::Answer;
use crate::analysis::explain::{Cue as ExplainCue, Explanation, Verdict};
use crate::analysis::{Analyzer, Finding};
use crate::ingest::Frame;
use serde_json::{json, Value};

impl Analyzer for FireAnalyzer {
    fn name(&self) -> &'static str {
        "fire"
    }

    /// Flame candidates (orange; red when every cue held), smoke regions
    /// (grey; white when they hit) and smoke read as a flame's glow (yellow).
    fn draw_debug(&self, img: &mut image::RgbImage) {
        self.debug.draw(img);
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
                let cells = box_cells(&st.grid, &boxes, 1);
                if tag != ASK_WARMUP {
                    h.seen = Some((t, box_cells(&st.grid, &boxes, 1 + PROVE_MARGIN)));
                }
                if tag == ASK_PROVE {
                    h.prove_pending = false;
                    continue;
                }
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
        let seen: Option<&[bool]> = match self.people.as_ref().and_then(|h| h.seen.as_ref()) {
            Some((at, cells)) if t - at <= PEOPLE_FRESH_S => Some(cells),
            _ => None,
        };
        let smoky = if self.cfg.smoke {
            st.smoke.update(
                t,
                &stats,
                &st.zones,
                &st.smoke_params,
                &st.near_flame,
                &st.history.moving,
                st.extractor.churn(),
                seen,
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
        // Relearnt cells are proven by steady ground the detector saw bare.
        if let (Some(h), true) = (self.people.as_mut(), self.cfg.smoke) {
            if !h.prove_pending
                && st.smoke.learnt(t)
                && h.prove_asked.is_none_or(|at| t - at >= PROVE_ASK_S)
                && st.smoke.unproven_cells() > 0
            {
                h.prove_asked = Some(t);
                h.prove_pending = true;
                let (finder, f) = (h.finder.clone(), frame.clone());
                h.client.submit(ASK_PROVE, move || {
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

/// Whether a smoke region round a flame lost its background's edges in at
/// least [`smoke::MIN_TEXTURED_CELLS`] cells: smoke as well as glow (a glow
/// only lifts the light; one cell of edge loss in a big glow is noise).
fn lost_edges(r: &SmokeRegion) -> bool {
    r.edge_cells >= smoke::MIN_TEXTURED_CELLS
}
