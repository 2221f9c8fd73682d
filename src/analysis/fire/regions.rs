//! Grouping cells into regions, and the small signal tools the cues use
//! (dominant frequency of an unevenly sampled series).

use super::features::{Grid, NO_ZONE};

/// A group of nearby candidate cells in one zone.
#[derive(Debug, Clone, PartialEq)]
pub struct CellRegion {
    pub zone: u8,
    /// Cell indices, ascending.
    pub cells: Vec<usize>,
    /// Bounding box in cells, inclusive: x0, y0, x1, y1.
    pub bbox: (usize, usize, usize, usize),
}

impl CellRegion {
    /// Width and height in cells.
    pub fn size(&self) -> (usize, usize) {
        (self.bbox.2 + 1 - self.bbox.0, self.bbox.3 + 1 - self.bbox.1)
    }
}

/// Groups `candidate` cells into regions: cells of the same zone within
/// `gap` cells of each other (Chebyshev distance) join one region, so a
/// ragged flame with holes stays one region.
pub fn group(grid: &Grid, candidate: &[bool], cell_zone: &[u8], gap: usize) -> Vec<CellRegion> {
    let (gw, gh) = (grid.gw, grid.gh);
    let mut label = vec![usize::MAX; candidate.len()];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..candidate.len() {
        if !candidate[start] || label[start] != usize::MAX || cell_zone[start] == NO_ZONE {
            continue;
        }
        let id = out.len();
        let zone = cell_zone[start];
        let mut cells = Vec::new();
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        label[start] = id;
        stack.push(start);
        while let Some(c) = stack.pop() {
            cells.push(c);
            let (cx, cy) = (c % gw, c / gw);
            x0 = x0.min(cx);
            y0 = y0.min(cy);
            x1 = x1.max(cx);
            y1 = y1.max(cy);
            for ny in cy.saturating_sub(gap)..=(cy + gap).min(gh - 1) {
                for nx in cx.saturating_sub(gap)..=(cx + gap).min(gw - 1) {
                    let n = ny * gw + nx;
                    if candidate[n] && label[n] == usize::MAX && cell_zone[n] == zone {
                        label[n] = id;
                        stack.push(n);
                    }
                }
            }
        }
        cells.sort_unstable();
        out.push(CellRegion {
            zone,
            cells,
            bbox: (x0, y0, x1, y1),
        });
    }
    out
}

/// The strongest frequency (Hz) in an unevenly sampled series, searched from
/// 0.5 Hz to the Nyquist rate (at most 15 Hz) in 0.25 Hz steps, and the share
/// of the total power at that frequency (near 1 for a clean periodic signal
/// such as a flashing beacon, low for the broadband flicker of a flame).
/// `None` when there are fewer than 6 samples or the series is flat.
pub fn dominant_frequency(times: &[f64], values: &[f32]) -> Option<(f32, f32)> {
    let n = times.len().min(values.len());
    if n < 6 {
        return None;
    }
    let span = times[n - 1] - times[0];
    if span <= 0.0 {
        return None;
    }
    let mean = values[..n].iter().map(|v| *v as f64).sum::<f64>() / n as f64;
    let nyquist = 0.5 * (n - 1) as f64 / span;
    let top = nyquist.min(15.0);
    let mut f = 0.5;
    let (mut best_f, mut best_p, mut total) = (0.0, 0.0, 0.0);
    while f <= top + 1e-9 {
        let (mut re, mut im) = (0.0f64, 0.0f64);
        for i in 0..n {
            let x = values[i] as f64 - mean;
            let ph = 2.0 * std::f64::consts::PI * f * (times[i] - times[0]);
            re += x * ph.cos();
            im -= x * ph.sin();
        }
        let p = re * re + im * im;
        total += p;
        if p > best_p {
            best_p = p;
            best_f = f;
        }
        f += 0.25;
    }
    if total <= 1e-9 {
        return None;
    }
    Some((best_f as f32, (best_p / total) as f32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_respect_gap_and_zone() {
        let g = Grid::new(40, 8); // 40x8 analysis px -> 10x2 cells
        assert_eq!((g.gw, g.gh), (10, 2));
        let mut cand = vec![false; 20];
        for c in [0, 2, 7] {
            cand[c] = true;
        }
        let zones = vec![0u8; 20];
        let r = group(&g, &cand, &zones, 2);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].cells, vec![0, 2]);
        assert_eq!(r[0].size(), (3, 1));
        let mut zones2 = zones.clone();
        zones2[2] = 1;
        assert_eq!(group(&g, &cand, &zones2, 2).len(), 3);
    }

    #[test]
    fn finds_a_sine_frequency() {
        let t: Vec<f64> = (0..40).map(|i| i as f64 * 0.1).collect();
        let v: Vec<f32> = t
            .iter()
            .map(|t| (2.0 * std::f64::consts::PI * 1.5 * t).sin() as f32)
            .collect();
        let (f, share) = dominant_frequency(&t, &v).unwrap();
        assert!((f - 1.5).abs() < 0.01, "{f}");
        assert!(share > 0.4, "{share}");
        assert!(dominant_frequency(&t, &[1.0; 40]).is_none());
    }
}
