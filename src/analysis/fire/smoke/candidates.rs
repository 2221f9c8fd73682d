//! Smoke candidate regions: cells smoky for most of the last
//! [`PERSIST_S`] seconds, grouped per zone, and the cues measured on each
//! over the last [`WINDOW_S`] seconds (growth, rise, edge loss, motion,
//! churn, sideways slide, light).

use super::super::features::{Grid, History, ZoneMap};
use super::super::objects::{
    candidate_span, entering, rigid_shift, running_edge, soft_rise, was_candidate, ARRIVAL_S, RUN_S,
};
use super::super::regions::{group, CellRegion};
use super::{
    lit_not_veiled, Cue, SmokeModel, SmokeParams, SmokeRegion, LAG_S, MAX_TEXTURED_RATIO,
    MAX_UNPROVEN, MIN_CHURN, MIN_SLIDE, MIN_TEXTURED_CELLS, PERSIST_S, WINDOW_S,
};

/// Left and right column of the cells that were smoky `age` frames ago,
/// within the cell box `(x0, y0, x1, y1)` (inclusive); `None` when none was.
pub fn smoky_span(
    smoky: &[u32],
    gw: usize,
    bbox: (usize, usize, usize, usize),
    age: usize,
) -> Option<(usize, usize)> {
    candidate_span(smoky, gw, bbox, age, 1, 1)
}

/// Smoky cells `age` frames ago per column of the cell box `(x0, y0, x1,
/// y1)` (inclusive), from column `x0` on.
pub fn column_counts(
    smoky: &[u32],
    gw: usize,
    (x0, y0, x1, y1): (usize, usize, usize, usize),
    age: usize,
) -> Vec<u16> {
    (x0..=x1)
        .map(|x| {
            (y0..=y1)
                .filter(|&y| {
                    smoky
                        .get(y * gw + x)
                        .is_some_and(|&b| was_candidate(b, age, 1, 1))
                })
                .count() as u16
        })
        .collect()
}

/// How far a region slid sideways from span `before` to span `now` (left
/// and right columns): the smaller of its two edges' moves when both moved
/// the same way (positive to the right), else 0.
pub fn slide(before: (usize, usize), now: (usize, usize)) -> i32 {
    let l = now.0 as i32 - before.0 as i32;
    let r = now.1 as i32 - before.1 as i32;
    if l != 0 && l.signum() == r.signum() {
        l.signum() * l.abs().min(r.abs())
    } else {
        0
    }
}

/// Finds smoke regions from the smoky bits in `hist`. Cells marked in
/// `excluded` (under a person or vehicle the COCO detector saw) are not
/// candidates.
#[allow(clippy::too_many_arguments)]
pub fn find(
    hist: &History,
    grid: &Grid,
    zones: &ZoneMap,
    model: &SmokeModel,
    p: &SmokeParams,
    open: &[bool],
    flames: &[CellRegion],
    excluded: &[bool],
) -> Vec<SmokeRegion> {
    let persist = hist.frames_within(PERSIST_S).max(1);
    let window = hist.frames_within(WINDOW_S);
    if persist < 5 || window < 6 {
        return Vec::new();
    }
    let need = (persist as f32 * 0.7).ceil() as u32;
    let mask = if persist >= 32 {
        u32::MAX
    } else {
        (1u32 << persist) - 1
    };
    let candidate: Vec<bool> = hist
        .smoky
        .iter()
        .enumerate()
        .map(|(c, bits)| {
            bits & 0b111 != 0
                && (bits & mask).count_ones() >= need
                && !excluded.get(c).copied().unwrap_or(false)
        })
        .collect();
    let mut out = Vec::new();
    for region in group(grid, &candidate, &zones.cell, 2) {
        let z = region.zone as usize;
        let Some(&min_cells) = p.min_cells.get(z) else {
            continue;
        };
        let sustaining = open.get(z).copied().unwrap_or(false);
        let count = |age: usize| {
            region
                .cells
                .iter()
                .filter(|&&c| hist.smoky[c] >> age & 1 == 1)
                .count() as f32
        };
        let top = |age: usize| {
            region
                .cells
                .iter()
                .filter(|&&c| hist.smoky[c] >> age & 1 == 1)
                .map(|&c| (c / grid.gw) as i32)
                .min()
        };
        // Smoke builds up: part of it was there `LAG_S` ago and it has grown
        // or risen since. Things that appear whole (a person stepping in or
        // out of view, a headlight beam) are either absent then or the same
        // size now, so they never pass both tests.
        let lag = hist.frames_within(LAG_S).clamp(3, window) - 1;
        let now = (count(0) + count(1) + count(2)) / 3.0;
        let before = (count(lag) + count(lag - 1) + count(lag - 2)) / 3.0;
        let rise = match (top(lag), top(0)) {
            (Some(a), Some(b)) => a - b,
            _ => 0,
        };
        let growth = now / before.max(1.0);
        let edge_ratio = region.cells.iter().map(|&c| model.ratio[c]).sum::<f32>()
            / region.cells.len().max(1) as f32;
        let relax = if sustaining { 0.5 } else { 1.0 };
        let (rx0, ry0, rx1, ry1) = region.bbox;
        let below_flame = flames
            .iter()
            .filter(|f| {
                let (fx, fy) = ((f.bbox.0 + f.bbox.2) / 2, (f.bbox.1 + f.bbox.3) / 2);
                fx + 2 >= rx0 && fx <= rx1 + 2 && fy + 2 >= ry0 && fy <= ry1 + 2
            })
            .map(|f| {
                region
                    .cells
                    .iter()
                    .filter(|&&c| c / grid.gw > f.bbox.3)
                    .count() as f32
                    / region.cells.len().max(1) as f32
            })
            .fold(0.0, f32::max);
        let textured: Vec<f32> = region
            .cells
            .iter()
            .filter(|&&c| model.measured[c])
            .map(|&c| model.ratio[c])
            .collect();
        let textured_ratio = if textured.is_empty() {
            1.0
        } else {
            textured.iter().sum::<f32>() / textured.len() as f32
        };
        let edge_cells = region
            .cells
            .iter()
            .filter(|&&c| model.cue(c) == Cue::EdgeLoss)
            .count();
        let veil_cells = region
            .cells
            .iter()
            .filter(|&&c| model.cue(c) == Cue::Veil)
            .count();
        let lag_mask = if lag + 1 >= 32 {
            u32::MAX
        } else {
            (1u32 << (lag + 1)) - 1
        };
        let motion = region
            .cells
            .iter()
            .filter(|&&c| hist.moving[c] & lag_mask != 0)
            .count() as f32
            / region.cells.len().max(1) as f32;
        let need_churn = (persist as u32).div_ceil(3);
        let churn = region
            .cells
            .iter()
            .filter(|&&c| (hist.churn[c] & mask).count_ones() >= need_churn)
            .count() as f32
            / region.cells.len().max(1) as f32;
        let churn_level = region.cells.iter().map(|&c| model.churn[c]).sum::<f32>()
            / region.cells.len().max(1) as f32
            / model.churn_floor.max(1e-3);
        // Sideways slide: the smoky cells' left and right edges in the
        // region's rows, now and `LAG_S` ago, in a band as wide again on
        // each side (a vehicle moves its whole length in a second or two).
        let (bx0, by0, bx1, by1) = region.bbox;
        let pad = (bx1 - bx0 + 1).max(MIN_SLIDE as usize * 2);
        let band = (
            bx0.saturating_sub(pad),
            by0,
            (bx1 + pad).min(grid.gw.saturating_sub(1)),
            by1,
        );
        let span_now = smoky_span(&hist.smoky, grid.gw, band, 0);
        let span_then = smoky_span(&hist.smoky, grid.gw, band, lag);
        let drift = match (span_then, span_now) {
            (Some(a), Some(b)) => {
                // A rigid band matches itself shifted; a vehicle's body
                // comes into view one end first (see `objects`).
                let rigid = rigid_shift(
                    &column_counts(&hist.smoky, grid.gw, band, lag),
                    &column_counts(&hist.smoky, grid.gw, band, 0),
                    pad,
                );
                let run_age = hist.frames_within(RUN_S).saturating_sub(1).max(1);
                let run = match (
                    candidate_span(&hist.smoky, grid.gw, region.bbox, run_age, persist, need),
                    candidate_span(&hist.smoky, grid.gw, region.bbox, 0, persist, need),
                ) {
                    (Some(a), Some(b)) => running_edge(a, b),
                    _ => 0,
                };
                // Only a rise by cells that turned smoky softly says smoke
                // (a car's window band joins its body under a hard edge).
                let arrival = hist.frames_within(ARRIVAL_S).clamp(1, 32) as u32;
                let soft = soft_rise(
                    top(lag),
                    &region.cells,
                    grid.gw,
                    &hist.smoky,
                    &hist.moving,
                    u32::MAX >> (32 - arrival),
                );
                let run = if entering(run, soft) { run } else { 0 };
                [slide(a, b), rigid, run]
                    .into_iter()
                    .max_by_key(|d| d.abs())
                    .unwrap_or(0)
            }
            _ => 0,
        } as f32;
        // Lit, not veiled: most of the region is textured, and its texture
        // rose in step with its brightness (light multiplies; a veil adds
        // and lowers the contrast).
        let (tf_sum, tex_n) = region
            .cells
            .iter()
            .map(|&c| model.tex_follow[c])
            .filter(|v| *v > 0.0)
            .fold((0.0f32, 0usize), |(s, n), v| (s + v, n + 1));
        let tex_follow = if tex_n == 0 {
            0.0
        } else {
            tf_sum / tex_n as f32
        };
        let lit = lit_not_veiled(
            textured.len(),
            region.cells.len(),
            tex_follow,
            textured_ratio,
        );
        // Lit, by the pixels: they brightened in proportion to their
        // background (flat ground included), where a veil lifts the dark
        // ones most.
        let light = model.light.region(&region.cells);
        let unproven = region.cells.iter().filter(|&&c| model.unproven(c)).count() as f32
            / region.cells.len().max(1) as f32;
        out.push(SmokeRegion {
            unproven,
            proven_ok: unproven <= MAX_UNPROVEN,
            drift,
            tex_follow,
            tex_n,
            light,
            motion,
            churn,
            churn_level,
            size_ok: now >= min_cells * relax,
            in_place_ok: before >= 1.0 && before >= 0.15 * now,
            growing_ok: growth >= 1.1 || rise >= 1,
            churn_ok: !p.need_churn
                || churn >= MIN_CHURN
                || (textured.len() >= MIN_TEXTURED_CELLS && textured_ratio <= MAX_TEXTURED_RATIO),
            still_ok: drift.abs() < MIN_SLIDE as f32,
            lit_ok: !lit && !light.lit(),
            sustaining,
            region,
            cells: now,
            growth,
            before,
            rise,
            edge_ratio,
            textured_cells: textured.len(),
            textured_ratio,
            edge_cells,
            veil_cells,
            below_flame,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_slides_only_when_both_edges_move_the_same_way() {
        // A car crossing to the right: both edges 6 cells on.
        assert_eq!(slide((10, 30), (16, 36)), 6);
        // To the left, the smaller move counts.
        assert_eq!(slide((20, 40), (15, 38)), -2);
        // A plume widening both ways, or growing from one fixed side.
        assert_eq!(slide((10, 14), (8, 17)), 0);
        assert_eq!(slide((10, 14), (10, 20)), 0);
    }

    #[test]
    fn smoky_span_reads_the_bits_of_the_given_age() {
        let gw = 8;
        let mut smoky = vec![0u32; gw * 2];
        smoky[3] = 0b01; // now
        smoky[5] = 0b01;
        smoky[gw + 1] = 0b10; // a frame ago
        assert_eq!(smoky_span(&smoky, gw, (0, 0, 7, 1), 0), Some((3, 5)));
        assert_eq!(smoky_span(&smoky, gw, (0, 0, 7, 1), 1), Some((1, 1)));
        assert_eq!(smoky_span(&smoky, gw, (0, 0, 7, 1), 2), None);
        // Out of the box's rows: not seen.
        assert_eq!(smoky_span(&smoky, gw, (0, 0, 7, 0), 1), None);
    }
}
