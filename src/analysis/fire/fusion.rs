//! Turning the frame's classic candidates (and an integrator's detector
//! boxes) into each zone's observation for the lifecycle: confirm fusion,
//! replace fusion, and the measurements an alert's `details` carry.

use super::boxes::{cell_bbox, overlaps, union};
use super::config::FireFusion;
use super::features::CELL;
use super::flame::FlameRegion;
use super::lifecycle::{round2, Observation};
use super::regions::CellRegion;
use super::smoke::SmokeRegion;
use super::{DetectedBox, DetectorHook, State};
use crate::alert::{AlertKind, BBox};
use serde_json::{json, Map, Value};

/// Confirm fusion for one classic candidate. With no detector it stands on
/// its own: `Some(None)`. With one, it counts only when a detector box of the
/// same kind, grown by 25 %, overlaps it: `Some(Some(best box score))`;
/// otherwise `None`, and the candidate is dropped.
pub(super) fn confirm(
    detector: Option<&DetectorHook>,
    kind: AlertKind,
    bbox: BBox,
) -> Option<Option<f32>> {
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
pub(super) struct Hit {
    /// Frame pixels.
    area: f32,
    bbox: BBox,
    /// From the classic cues (a confirming detector's score, when higher,
    /// replaces it).
    score: f32,
    pub(super) cues: Vec<&'static str>,
    /// Measurements of this kind of region for `details`.
    measures: Vec<(&'static str, Value)>,
}

pub(super) fn flame_hit(r: &FlameRegion, bbox: BBox, st: &State, px_area: f32) -> Hit {
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

pub(super) fn smoke_hit(r: &SmokeRegion, bbox: BBox, st: &State) -> Hit {
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
pub(super) fn merge_hit(
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
pub(super) trait Candidate {
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
pub(super) fn zone_observations<R: Candidate>(
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
