//! Flame candidates and their cues.
//!
//! A cell is a *candidate* when it has been flame-coloured in at least 60 % of
//! the frames of the last [`PERSIST_S`] seconds and in one of the last two:
//! things that only pass by (a walking orange jacket, a headlight sweep) do not
//! stay long enough, and a beacon that is dark half the time does not either.
//! Nearby candidate cells of one zone form a region; over the last
//! [`WINDOW_S`] seconds the region's cells give four series — flame-coloured
//! area, pixels whose brightness changed, summed flame brightness, and the
//! horizontal centre of the flame pixels — and from them the cues:
//!
//! | cue | measure | passes when |
//! | --- | --- | --- |
//! | colour | flame-coloured area now | ≥ the zone's minimum area |
//! | flicker | mean share of flame pixels whose luma changes frame to frame | ≥ the zone's minimum (0.10 at sensitivity 0.5) |
//! | steady | least ratio of a frame's area to the largest of the 3 frames before it | ≥ 0.2 (a blinking light drops to ~0) |
//! | in place | horizontal drift of the flame's centre ÷ region width | ≤ 0.35 (moving things drift) |
//! | growth | area now ÷ area at the start of the window (at least 1 pixel) | reported, not required |
//!
//! A region *hits* in a frame when all of colour, flicker, steady and in place
//! hold. While the zone already has an open fire incident the area and
//! flicker minimums are halved, so a fire that dies down is followed until it
//! is out. The flicker frequency is the strongest frequency of the flame
//! brightness series (see [`dominant_frequency`]).

use super::features::{Grid, History, ZoneMap};
use super::regions::{dominant_frequency, group, CellRegion};

/// Seconds a cell must stay flame-coloured (60 % of its frames) to be a candidate.
pub const PERSIST_S: f64 = 1.5;
/// Seconds of history the region cues look at.
pub const WINDOW_S: f64 = 2.5;
/// Least dropout (min ÷ median area) of a real flame.
pub const MIN_STEADY: f32 = 0.2;
/// Most horizontal drift (÷ region width) of a flame.
pub const MAX_DRIFT: f32 = 0.35;
/// Flicker minimum at sensitivity 0.5.
pub const BASE_FLICKER: f32 = 0.10;
/// Least share of flame pixels reversing brightness per frame.
pub const MIN_FLIP: f32 = 0.03;
/// Least flame structure: how far the hot pixels' centre lies below the
/// flame pixels' centre plus how far the flickering pixels' centre lies
/// above it, ÷ the region's height. A flame burns white at its base and
/// flickers at its tips; a red-and-white stripe, a cone or a sign that
/// flutters under compression has its white and its flicker all over.
pub const MIN_STRUCTURE: f32 = 0.1;

/// Per-zone thresholds.
#[derive(Debug, Clone)]
pub struct FlameParams {
    /// Least flame-coloured area, in analysis pixels, per zone.
    pub min_area: Vec<f32>,
    /// Least flicker, per zone.
    pub min_flicker: Vec<f32>,
}

/// One flame candidate region with its cues.
#[derive(Debug, Clone)]
pub struct FlameRegion {
    pub region: CellRegion,
    /// Flame-coloured analysis pixels, mean of the last three frames.
    pub area: f32,
    pub flicker: f32,
    /// Mean share of flame pixels whose luma reversed direction.
    pub flip: f32,
    /// Hot flame pixels, mean of the last three frames.
    pub hot: f32,
    /// Strongest flicker frequency (Hz) and its share of the power.
    pub flicker_hz: Option<f32>,
    pub periodicity: f32,
    pub steady: f32,
    pub drift: f32,
    pub growth: f32,
    /// Mean share of the flame area that changed membership frame to frame.
    pub shape_change: f32,
    /// Mean |luma change| per frame over the flame pixels, grey levels.
    pub amplitude: f32,
    /// How far below the flame pixels' centre the hot pixels' centre lies,
    /// and how far above it the flickering pixels' centre lies, each ÷ the
    /// region's height in analysis pixels (a flame: hot core at the base,
    /// flicker at the tips).
    pub core_low: f32,
    pub flicker_high: f32,
    /// `core_low + flicker_high`.
    pub structure: f32,
    /// Which cues held.
    pub colour_ok: bool,
    pub flicker_ok: bool,
    pub steady_ok: bool,
    pub in_place_ok: bool,
    pub structure_ok: bool,
}

impl FlameRegion {
    /// All required cues held.
    pub fn hit(&self) -> bool {
        self.colour_ok && self.flicker_ok && self.steady_ok && self.in_place_ok && self.structure_ok
    }

    /// Names of the cues that held, for alert details.
    pub fn cues(&self) -> Vec<&'static str> {
        let mut c = Vec::new();
        if self.colour_ok {
            c.push("colour");
        }
        if self.flicker_ok {
            c.push("flicker");
        }
        if self.steady_ok && self.in_place_ok {
            c.push("persistence");
        }
        if self.structure_ok {
            c.push("structure");
        }
        if self.growth >= 1.2 {
            c.push("growth");
        }
        c
    }

    /// Confidence 0..=1 from how far the cues clear their thresholds.
    pub fn score(&self, min_area: f32, min_flicker: f32) -> f32 {
        let a = (self.area / (4.0 * min_area.max(1.0))).min(1.0);
        let f = (self.flicker / (2.0 * min_flicker.max(1e-3))).min(1.0);
        let g = if self.growth >= 1.2 { 0.1 } else { 0.0 };
        (0.4 + 0.25 * a + 0.25 * f + g).min(1.0)
    }
}

/// Finds flame candidate regions and measures their cues. `open[zone]` tells
/// whether the zone has an open fire incident (relaxed thresholds).
pub fn find(
    hist: &History,
    grid: &Grid,
    zones: &ZoneMap,
    p: &FlameParams,
    open: &[bool],
    grey: bool,
) -> Vec<FlameRegion> {
    let persist = hist.frames_within(PERSIST_S).max(1);
    let window = hist.frames_within(WINDOW_S);
    if persist < 5 || window < 6 {
        return Vec::new();
    }
    let need = (persist as f32 * 0.6).ceil() as u32;
    let persist_mask = if persist >= 32 {
        u32::MAX
    } else {
        (1u32 << persist) - 1
    };
    // A cell must also have changed (two pixels or more) in 30 % of those
    // frames: statically bright or orange things never become candidates.
    let need_active = (persist as f32 * 0.3).ceil() as usize;
    let candidate: Vec<bool> = hist
        .flame_on
        .iter()
        .enumerate()
        .map(|(c, bits)| {
            bits & 0b11 != 0
                && (bits & persist_mask).count_ones() >= need
                && (0..persist)
                    .filter(|&age| hist.flame_changed(age, c) >= 2)
                    .count()
                    >= need_active
        })
        .collect();
    let mut out = Vec::new();
    for region in group(grid, &candidate, &zones.cell, 2) {
        let z = region.zone as usize;
        let (Some(&min_area), Some(&min_flicker)) = (p.min_area.get(z), p.min_flicker.get(z))
        else {
            continue;
        };
        let relax = if open.get(z).copied().unwrap_or(false) {
            0.5
        } else {
            1.0
        };
        let mut area = vec![0f32; window];
        let mut changed = vec![0f32; window];
        let mut energy = vec![0f32; window];
        let mut flips = vec![0f32; window];
        let mut toggled = vec![0f32; window];
        let mut dy = vec![0f32; window];
        let (mut fr, mut hr, mut cr) = (0f64, 0f64, 0f64);
        let (mut fnn, mut hn, mut cn) = (0f64, 0f64, 0f64);
        let mut hot = 0.0f32;
        let mut cx = vec![f32::NAN; window];
        for (age, ((a, ch), e)) in area
            .iter_mut()
            .zip(changed.iter_mut())
            .zip(energy.iter_mut())
            .enumerate()
        {
            let mut sx = 0.0f32;
            for &c in &region.cells {
                let n = hist.flame_n(age, c) as f32;
                *a += n;
                *ch += hist.flame_changed(age, c) as f32;
                *e += hist.flame_energy(age, c) as f32;
                flips[age] += hist.flame_flip(age, c) as f32;
                toggled[age] += hist.flame_toggled(age, c) as f32;
                dy[age] += hist.flame_dy(age, c) as f32;
                let (a, b, d) = hist.rows(age, c);
                fr += a as f64;
                hr += b as f64;
                cr += d as f64;
                fnn += hist.flame_n(age, c) as f64;
                hn += hist.hot_n(age, c) as f64;
                cn += hist.flame_changed(age, c) as f64;
                if age < 3 {
                    hot += hist.hot_n(age, c) as f32 / 3.0;
                }
                sx += n * (c % grid.gw) as f32;
            }
            if *a > 0.0 {
                cx[age] = sx / *a;
            }
        }
        let now = area[..3].iter().sum::<f32>() / 3.0;
        let then = area[window - 3..].iter().sum::<f32>() / 3.0;
        // Flicker: frames after the first of the window, each normalised by
        // the larger of its own and the previous frame's area.
        let mut flicker = 0.0;
        for age in 0..window - 1 {
            flicker += changed[age] / area[age].max(area[age + 1]).max(1.0);
        }
        flicker /= (window - 1) as f32;
        let mut flip = 0.0;
        for age in 0..window - 2 {
            flip += flips[age] / area[age].max(area[age + 1]).max(1.0);
        }
        flip /= (window - 2) as f32;
        let mut shape_change = 0.0;
        for age in 0..window - 1 {
            shape_change += toggled[age] / area[age].max(area[age + 1]).max(1.0);
        }
        shape_change /= (window - 1) as f32;
        // Flicker amplitude: per frame, the summed |luma change| over the
        // pixels flame-coloured then or before, divided by their count
        // (area + toggled approximates the union).
        let mut amplitude = 0.0;
        for age in 0..window - 1 {
            amplitude += dy[age] / (area[age].max(area[age + 1]) + 0.5 * toggled[age]).max(1.0);
        }
        amplitude /= (window - 1) as f32;
        let rh = (region.size().1 * super::features::CELL) as f64;
        let fc = fr / fnn.max(1.0);
        let core_low = if hn > 0.0 {
            ((hr / hn - fc) / rh) as f32
        } else {
            0.0
        };
        let flicker_high = if cn > 0.0 {
            ((fc - cr / cn) / rh) as f32
        } else {
            0.0
        };
        // Steadiness: the least ratio of a frame's area to the largest of the
        // three frames before it, over frames that follow a sizeable area. A
        // growing flame stays near 1; a light blinking off drops to ~0.
        let floor = min_area * relax * 0.5;
        let mut steady = 1.0f32;
        for age in 0..window.saturating_sub(1) {
            let before = area[age + 1..(age + 4).min(window)]
                .iter()
                .copied()
                .fold(0.0, f32::max);
            if before >= floor {
                steady = steady.min(area[age] / before);
            }
        }
        let first_cx = cx.iter().rev().find(|v| !v.is_nan());
        let drift = match (cx[0], first_cx) {
            (c0, Some(c1)) if !c0.is_nan() => (c0 - c1).abs() / region.size().0 as f32,
            _ => 0.0,
        };
        let times: Vec<f64> = (0..window).rev().map(|a| hist.time(a)).collect();
        let series: Vec<f32> = energy.iter().rev().copied().collect();
        let (flicker_hz, periodicity) = match dominant_frequency(&times, &series) {
            Some((f, s)) => (Some(f), s),
            None => (None, 0.0),
        };
        out.push(FlameRegion {
            colour_ok: now >= min_area * relax && hot >= (0.03 * now).max(2.0),
            flicker_ok: flicker >= min_flicker * relax && flip >= MIN_FLIP * relax,
            steady_ok: steady >= MIN_STEADY,
            in_place_ok: drift <= MAX_DRIFT,
            // Grey (IR) frames have no colour to tell a hot core by, so only
            // the flicker's place counts there, and only its side: a flame
            // flickers at its tips, above its middle; a bright sign or
            // poster swaying on its fixings (white in IR) changes at its
            // edges, all round or below.
            structure_ok: if grey {
                core_low + flicker_high >= 0.0
            } else {
                core_low + flicker_high >= MIN_STRUCTURE * relax
            },
            structure: core_low + flicker_high,
            region,
            area: now,
            flicker,
            flip,
            hot,
            flicker_hz,
            periodicity,
            steady,
            drift,
            shape_change,
            amplitude,
            core_low,
            flicker_high,
            growth: now / then.max(1.0),
        });
    }
    out
}

/// Flame *seeds*: single cells holding hot flame pixels in half of the
/// frames of the last [`PERSIST_S`] seconds that also changed in 30 % of them
/// — a flame too small yet to be a candidate. The smoke test uses them to
/// tell a young flame's glow from smoke.
pub fn seeds(hist: &History, grid: &Grid, zones: &ZoneMap) -> Vec<CellRegion> {
    let persist = hist.frames_within(PERSIST_S).max(1);
    if persist < 5 {
        return Vec::new();
    }
    let need_hot = (persist as f32 * 0.5).ceil() as usize;
    let need_active = (persist as f32 * 0.3).ceil() as usize;
    let mut out = Vec::new();
    for c in 0..grid.cells() {
        if zones.cell[c] == super::features::NO_ZONE || hist.hot_n(0, c) == 0 {
            continue;
        }
        let hot = (0..persist).filter(|&a| hist.hot_n(a, c) > 0).count();
        let active = (0..persist)
            .filter(|&a| hist.flame_changed(a, c) > 0)
            .count();
        if hot >= need_hot && active >= need_active {
            let (x, y) = (c % grid.gw, c / grid.gw);
            out.push(CellRegion {
                zone: zones.cell[c],
                cells: vec![c],
                bbox: (x, y, x, y),
            });
        }
    }
    out
}
