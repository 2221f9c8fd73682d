//! Rigid things crossing the view are not smoke: the *rigid shift* and the
//! *running edge*.
//!
//! The [slide](super::smoke::slide) cue holds a region shut when both its
//! side edges (its smoky cells in its rows, in a band as wide again on each
//! side) moved the same way by [`MIN_SLIDE`] cells over a second: a car
//! crossing a shed moves its whole body, while smoke grows where it stands.
//! An IR car (`vehicle-14211` in the hard suite) got past it twice:
//!
//! - Other smoky cells in the band a second ago (another part of the same
//!   car) widen the old span, so the edges seem to move apart.
//!   [`rigid_shift`] matches the band's column profile against a shifted
//!   copy of a second ago: a rigid band (a roof that hides the floor's
//!   texture wherever it is) matches itself moved by its speed, smoke
//!   matches best in place.
//! - A flat body shows to the smoke cue only where the background behind it
//!   has texture to lose, and a cell becomes a candidate only after 0.7 s
//!   under it: the region then grows from a fixed column (the zone's
//!   border, or where the texture starts) at the car's speed, one edge held.
//!   [`running_edge`] compares the region's candidate cells with those half
//!   a second before ([`RUN_S`]) within its own box (nothing else in the
//!   rows can confuse it): one edge that ran [`MIN_SLIDE`] cells in that
//!   time (8 cells a second, twice the slide's speed, as only one edge says
//!   it) while the other stayed, and no rise ([`entering`]), is a vehicle.
//!   A plume widens both ways, creeps from its source by a cell or two in
//!   half a second, and rises.
//! - A car's parts come into view one after another (its body, then the
//!   window band set back above it), so its region rises too. The rise the
//!   running edge asks about is the [`soft_rise`]: only cells that were not
//!   in sharp motion while they turned smoky count. An opaque body arrives
//!   under a hard edge (the bikes' texture gives way to it within a frame);
//!   smoke thickens over seconds and never moves a cell sharply.
//!
//! Either makes the region slide (`slide_cells` in `replay --explain`), so
//! it does not open an incident. Pure functions on cell columns;
//! [`super::smoke::find`] calls them.

pub use super::smoke::MIN_SLIDE;
use super::smoke::{LAG_S, PERSIST_S};

/// Whether a region whose edge moved `moved` cells (see [`running_edge`])
/// while it rose by `rise` cells is a vehicle coming into view: a rigid
/// thing at vehicle speed, not smoke growing where it stands (and rising).
pub fn entering(moved: i32, rise: i32) -> bool {
    moved.abs() >= MIN_SLIDE && rise <= 0
}

/// Seconds back within which sharp motion on a cell means it came into its
/// region under a hard edge ([`soft_rise`]): the rise is taken over
/// [`LAG_S`], and a cell turns candidate only after [`PERSIST_S`] smoky
/// (it is not smoky while the motion holds), so a cell that joined the
/// region's top in that time was reached by the edge within both.
pub const ARRIVAL_S: f64 = LAG_S + PERSIST_S;

/// How far a region rose (rows, up positive) from its top row `top_then`
/// ([`LAG_S`] ago) to its top row now counting only its `cells` (indices in
/// a grid `gw` cells wide) that are smoky now (bit 0 of `smoky`) and were in
/// no sharp motion in the frames of `arrival` (bit `k` of `moving`: `k`
/// frames ago; see [`ARRIVAL_S`]). A car's window band joins its body's
/// region under the band's hard front edge and does not count; the top of
/// a plume thickens softly and does. 0 when there is no top then, or no
/// soft cell now.
pub fn soft_rise(
    top_then: Option<i32>,
    cells: &[usize],
    gw: usize,
    smoky: &[u32],
    moving: &[u32],
    arrival: u32,
) -> i32 {
    let soft_top = cells
        .iter()
        .filter(|&&c| {
            smoky.get(c).is_some_and(|b| b & 1 == 1)
                && moving.get(c).is_some_and(|m| m & arrival == 0)
        })
        .map(|&c| (c / gw.max(1)) as i32)
        .min();
    match (top_then, soft_top) {
        (Some(a), Some(b)) => a - b,
        _ => 0,
    }
}

/// Least share of a region's smoky cells (now, in its rows) that a shifted
/// copy of the cells a second ago must cover for the region to be a rigid
/// thing that moved ([`rigid_shift`]).
pub const MIN_MATCH: f32 = 0.5;

/// How far a rigid band moved sideways: `then` and `now` count the smoky
/// cells per column of the region's rows (the same columns, a second apart).
/// The shift `s` (at most `max_shift` either way) whose overlap
/// `Σ min(now[x], then[x − s])` is largest, when that overlap covers at
/// least [`MIN_MATCH`] of `now` and at least twice the overlap in place
/// (`s = 0`); else 0. A car's roof or body, which loses the floor's texture
/// wherever it is, keeps its shape as it goes and matches itself shifted by
/// its speed; smoke grows where it stands and matches best in place (a tie
/// goes to the smaller shift). Unlike the edges ([`super::smoke::slide`]),
/// this holds when other smoky cells in the same rows a second ago (the
/// rest of the car, something beside it) widen the span.
pub fn rigid_shift(then: &[u16], now: &[u16], max_shift: usize) -> i32 {
    let n = then.len().min(now.len());
    let total: u32 = now[..n].iter().map(|&v| v as u32).sum();
    if total == 0 {
        return 0;
    }
    let overlap = |s: i32| -> u32 {
        (0..n)
            .filter_map(|x| {
                let from = x as i32 - s;
                (from >= 0 && (from as usize) < n).then(|| now[x].min(then[from as usize]) as u32)
            })
            .sum()
    };
    let in_place = overlap(0);
    let mut best = (0i32, in_place);
    for d in 1..=max_shift.min(n) as i32 {
        for s in [d, -d] {
            let o = overlap(s);
            if o > best.1 {
                best = (s, o);
            }
        }
    }
    let (s, o) = best;
    if s != 0 && o as f32 >= MIN_MATCH * total as f32 && o >= 2 * in_place {
        s
    } else {
        0
    }
}

/// Whether a cell with smoky-history `bits` (bit `n`: smoky `n` frames
/// ago) was a candidate `age` frames ago: smoky in at least `need` of the
/// `persist` frames from then back. An `age` of 32 or more is beyond the
/// history: not a candidate.
pub fn was_candidate(bits: u32, age: usize, persist: usize, need: u32) -> bool {
    let mask = if persist >= 32 {
        u32::MAX
    } else {
        (1u32 << persist) - 1
    };
    (bits.checked_shr(age as u32).unwrap_or(0) & mask).count_ones() >= need
}

/// Seconds over which [`running_edge`] compares a region with itself.
pub const RUN_S: f64 = 0.5;

/// Left and right column of the cells of the box `(x0, y0, x1, y1)` that
/// were smoke candidates `age` frames ago: smoky (bit set in `smoky`) in at
/// least `need` of the `persist` frames from then back.
pub fn candidate_span(
    smoky: &[u32],
    gw: usize,
    (x0, y0, x1, y1): (usize, usize, usize, usize),
    age: usize,
    persist: usize,
    need: u32,
) -> Option<(usize, usize)> {
    let mut span: Option<(usize, usize)> = None;
    for y in y0..=y1 {
        for x in x0..=x1 {
            let on = smoky
                .get(y * gw + x)
                .is_some_and(|&b| was_candidate(b, age, persist, need));
            if on {
                span = Some(span.map_or((x, x), |(l, r)| (l.min(x), r.max(x))));
            }
        }
    }
    span
}

/// The move (signed, positive to the right) of a region's edge that ran
/// while the other stayed, from span `before` to span `now` (left, right
/// columns): the larger of the two edges' moves when the other moved at
/// most half as far, else 0. A vehicle's flat body comes into the smoke
/// cue's view one end first, at the vehicle's speed, whichever end the
/// background's texture lets it show; a plume widens both ways, or creeps
/// from its source by a cell or two in [`RUN_S`].
pub fn running_edge(before: (usize, usize), now: (usize, usize)) -> i32 {
    let l = now.0 as i32 - before.0 as i32;
    let r = now.1 as i32 - before.1 as i32;
    let (main, other) = if r.abs() >= l.abs() { (r, l) } else { (l, r) };
    if other.abs() * 2 <= main.abs() {
        main
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(w: usize, runs: &[(usize, usize)]) -> Vec<u16> {
        let mut v = vec![0u16; w];
        for &(a, b) in runs {
            for c in &mut v[a..=b] {
                *c += 1;
            }
        }
        v
    }

    #[test]
    fn a_rigid_band_matches_itself_shifted_by_its_speed() {
        // vehicle-14211 at 10 s: the roof's band 37..51 a second ago (with
        // another band of the car at 62..67), 49..57 now.
        // Every shift from 6 to 12 lays it wholly on the old band: the
        // smallest is given, and it is a slide (at least MIN_SLIDE).
        let then = cols(80, &[(37, 51), (62, 67)]);
        let now = cols(80, &[(49, 57)]);
        assert_eq!(rigid_shift(&then, &now, 30), 6);
        // Moving left.
        let then = cols(80, &[(40, 55)]);
        let now = cols(80, &[(30, 45)]);
        assert_eq!(rigid_shift(&then, &now, 30), -10);
    }

    #[test]
    fn smoke_growing_where_it_stands_matches_in_place() {
        let w = 40;
        // Widening both ways, and from one fixed side.
        assert_eq!(
            rigid_shift(&cols(w, &[(10, 14)]), &cols(w, &[(8, 17)]), 20),
            0
        );
        assert_eq!(
            rigid_shift(&cols(w, &[(10, 14)]), &cols(w, &[(10, 20)]), 20),
            0
        );
        // Rising: the same columns, more cells in them.
        let then = cols(w, &[(10, 16)]);
        let now = cols(w, &[(10, 16), (11, 15)]);
        assert_eq!(rigid_shift(&then, &now, 20), 0);
        // Nothing a second ago, or nothing now.
        assert_eq!(rigid_shift(&vec![0; w], &cols(w, &[(5, 9)]), 20), 0);
        assert_eq!(rigid_shift(&cols(w, &[(5, 9)]), &vec![0; w], 20), 0);
    }

    #[test]
    fn a_running_edge_is_one_edge_moving_while_the_other_stays() {
        // vehicle-14211 at 10.3 s: 49..55 half a second ago, 50..60 now.
        assert_eq!(running_edge((49, 55), (50, 60)), 5);
        assert_eq!(running_edge((30, 40), (24, 40)), -6);
        // A plume widening both ways.
        assert_eq!(running_edge((10, 14), (8, 17)), 0);
        assert_eq!(running_edge((10, 14), (7, 18)), 0);
    }

    #[test]
    fn candidate_span_needs_the_persistence_at_the_given_age() {
        let gw = 4;
        // Cell 1 smoky in the last 4 frames, cell 2 only 4..8 frames ago.
        let smoky = [0, 0b1111, 0b1111_0000, 0];
        assert_eq!(
            candidate_span(&smoky, gw, (0, 0, 3, 0), 0, 4, 3),
            Some((1, 1))
        );
        assert_eq!(
            candidate_span(&smoky, gw, (0, 0, 3, 0), 4, 4, 3),
            Some((2, 2))
        );
        assert_eq!(candidate_span(&smoky, gw, (0, 0, 3, 0), 2, 4, 3), None);
        assert_eq!(candidate_span(&smoky, gw, (0, 0, 3, 0), 40, 4, 1), None);
    }

    #[test]
    fn soft_rise_counts_only_cells_that_arrived_without_sharp_motion() {
        let gw = 4;
        // A body in row 3 a second ago; now also cells in rows 1 and 2 of
        // column 0 (smoky now, bit 0).
        let cells = [4, 8, 12, 13];
        let mut smoky = [0u32; 16];
        for &c in &cells {
            smoky[c] = 1;
        }
        let quiet = [0u32; 16];
        assert_eq!(soft_rise(Some(3), &cells, gw, &smoky, &quiet, 0xfffff), 2);
        // A window band: rows 1 and 2 were under a hard edge 12 frames ago.
        let mut moving = quiet;
        moving[4] = 1 << 12;
        moving[8] = 1 << 12;
        assert_eq!(soft_rise(Some(3), &cells, gw, &smoky, &moving, 0xfffff), 0);
        // ... but that motion is older than the arrival window: it counts.
        assert_eq!(soft_rise(Some(3), &cells, gw, &smoky, &moving, 0x7ff), 2);
        // Only row 1 moved: the region rose by the soft row 2.
        moving[8] = 0;
        assert_eq!(soft_rise(Some(3), &cells, gw, &smoky, &moving, 0xfffff), 1);
        // No top then, or no soft cell now.
        assert_eq!(soft_rise(None, &cells, gw, &smoky, &quiet, 0xfffff), 0);
        let all = [1u32; 16];
        assert_eq!(soft_rise(Some(3), &cells, gw, &smoky, &all, 0xfffff), 0);
    }

    #[test]
    fn entering_needs_vehicle_speed_and_no_rise() {
        assert!(entering(9, 0));
        assert!(entering(-MIN_SLIDE, -1));
        // A plume widening slowly, or rising while it spreads.
        assert!(!entering(MIN_SLIDE - 1, 0));
        assert!(!entering(6, 1));
    }
}
