//! Connected components on the cell grid, and the small box type the garbage
//! analyzer measures them with.

use super::background::Grid;

/// An inclusive box of cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellBox {
    pub x0: usize,
    pub y0: usize,
    pub x1: usize,
    pub y1: usize,
}

impl CellBox {
    pub fn at(x: usize, y: usize) -> CellBox {
        CellBox {
            x0: x,
            y0: y,
            x1: x,
            y1: y,
        }
    }

    pub fn width(&self) -> usize {
        self.x1 + 1 - self.x0
    }

    pub fn height(&self) -> usize {
        self.y1 + 1 - self.y0
    }

    pub fn area(&self) -> usize {
        self.width() * self.height()
    }

    pub fn contains(&self, x: usize, y: usize) -> bool {
        (self.x0..=self.x1).contains(&x) && (self.y0..=self.y1).contains(&y)
    }

    pub fn include(&mut self, x: usize, y: usize) {
        self.x0 = self.x0.min(x);
        self.y0 = self.y0.min(y);
        self.x1 = self.x1.max(x);
        self.y1 = self.y1.max(y);
    }

    pub fn union(&self, o: &CellBox) -> CellBox {
        CellBox {
            x0: self.x0.min(o.x0),
            y0: self.y0.min(o.y0),
            x1: self.x1.max(o.x1),
            y1: self.y1.max(o.y1),
        }
    }

    /// Cells shared with `o`.
    pub fn intersection(&self, o: &CellBox) -> usize {
        let w = (self.x1.min(o.x1) + 1).saturating_sub(self.x0.max(o.x0));
        let h = (self.y1.min(o.y1) + 1).saturating_sub(self.y0.max(o.y0));
        w * h
    }

    /// Empty cells between the two boxes along the wider gap (0 when they touch or overlap).
    pub fn gap(&self, o: &CellBox) -> usize {
        let gx =
            o.x0.saturating_sub(self.x1 + 1)
                .max(self.x0.saturating_sub(o.x1 + 1));
        let gy =
            o.y0.saturating_sub(self.y1 + 1)
                .max(self.y0.saturating_sub(o.y1 + 1));
        gx.max(gy)
    }

    /// Grown by `d` cells on each side, clipped to the grid.
    pub fn grow(&self, d: usize, grid: &Grid) -> CellBox {
        CellBox {
            x0: self.x0.saturating_sub(d),
            y0: self.y0.saturating_sub(d),
            x1: (self.x1 + d).min(grid.w - 1),
            y1: (self.y1 + d).min(grid.h - 1),
        }
    }

    /// The grid cells inside.
    pub fn cells<'a>(&self, grid: &'a Grid) -> impl Iterator<Item = usize> + 'a {
        let b = *self;
        (b.y0..=b.y1).flat_map(move |y| (b.x0..=b.x1).map(move |x| y * grid.w + x))
    }
}

/// One connected group of cells.
#[derive(Debug, Clone)]
pub struct Blob {
    pub cells: Vec<usize>,
    pub bbox: CellBox,
    /// Median of the cells' times (see [`label_by_time`]); 0 from [`label`].
    pub time: f64,
}

impl Blob {
    /// Cells / box cells: low for sparse shapes such as a bicycle's frame.
    pub fn fill(&self) -> f32 {
        self.cells.len() as f32 / self.bbox.area() as f32
    }
}

/// Labels 8-connected groups of `true` cells; groups whose boxes come within
/// `bridge` cells of each other are merged (an object split by a seam of
/// unchanged cells is still one object). Groups smaller than `min_cells` are dropped.
pub fn label(mask: &[bool], grid: &Grid, bridge: usize, min_cells: usize) -> Vec<Blob> {
    label_by_time(mask, grid, bridge, min_cells, None, 0.0)
}

/// [`label`], where neighbouring cells (and nearby groups) join only when
/// their `times` differ by at most `tolerance`: two objects left at different
/// moments stay apart even when they touch.
pub fn label_by_time(
    mask: &[bool],
    grid: &Grid,
    bridge: usize,
    min_cells: usize,
    times: Option<&[f64]>,
    tolerance: f64,
) -> Vec<Blob> {
    let same = |a: usize, b: usize| times.is_none_or(|t| (t[a] - t[b]).abs() <= tolerance);
    let (w, h) = (grid.w, grid.h);
    let mut seen = vec![false; mask.len()];
    let mut blobs: Vec<Blob> = Vec::new();
    let mut stack = Vec::new();
    for start in 0..mask.len().min(w * h) {
        if !mask[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let mut blob = Blob {
            cells: Vec::new(),
            bbox: CellBox::at(start % w, start / w),
            time: 0.0,
        };
        while let Some(c) = stack.pop() {
            let (x, y) = (c % w, c / w);
            blob.cells.push(c);
            blob.bbox.include(x, y);
            for dy in -1i64..=1 {
                for dx in -1i64..=1 {
                    let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                    if nx < 0 || ny < 0 || nx >= w as i64 || ny >= h as i64 {
                        continue;
                    }
                    let n = ny as usize * w + nx as usize;
                    if mask[n] && !seen[n] && same(c, n) {
                        seen[n] = true;
                        stack.push(n);
                    }
                }
            }
        }
        if let Some(t) = times {
            blob.time = median_time(&blob.cells, t);
        }
        blobs.push(blob);
    }
    // Merge groups whose boxes nearly touch, until nothing changes.
    let mut merged = true;
    while merged && bridge > 0 {
        merged = false;
        'outer: for i in 0..blobs.len() {
            for j in i + 1..blobs.len() {
                if blobs[i].bbox.gap(&blobs[j].bbox) <= bridge
                    && (blobs[i].time - blobs[j].time).abs() <= tolerance
                {
                    let b = blobs.swap_remove(j);
                    blobs[i].bbox = blobs[i].bbox.union(&b.bbox);
                    blobs[i].cells.extend(b.cells);
                    if let Some(t) = times {
                        blobs[i].time = median_time(&blobs[i].cells, t);
                    }
                    merged = true;
                    break 'outer;
                }
            }
        }
    }
    blobs.retain(|b| b.cells.len() >= min_cells);
    blobs
}

fn median_time(cells: &[usize], times: &[f64]) -> f64 {
    let mut v: Vec<f64> = cells.iter().map(|&c| times[c]).collect();
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// How solid a group of cells is, to tell a bag (a solid lump) from thin
/// structures such as a bicycle (lines around big holes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    /// Cells / box cells.
    pub fill: f32,
    /// Share of cells whose 8 neighbours are all in the group (a solid core).
    pub core: f32,
    /// Empty cells enclosed by the group (not reachable from outside its
    /// box), as a share of the box.
    pub holes: f32,
}

/// Measures [`Shape`] for `cells` within their box `b`.
pub fn shape(cells: &[usize], b: &CellBox, grid: &Grid) -> Shape {
    // A local mask with a one-cell empty border.
    let (w, h) = (b.width() + 2, b.height() + 2);
    let mut m = vec![false; w * h];
    for &c in cells {
        let (x, y) = (c % grid.w, c / grid.w);
        if (b.x0..=b.x1).contains(&x) && (b.y0..=b.y1).contains(&y) {
            m[(y - b.y0 + 1) * w + (x - b.x0 + 1)] = true;
        }
    }
    let n = m.iter().filter(|v| **v).count();
    let mut core = 0;
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let i = y * w + x;
            if m[i]
                && (-1i64..=1).all(|dy| {
                    (-1i64..=1)
                        .all(|dx| m[((y as i64 + dy) as usize) * w + (x as i64 + dx) as usize])
                })
            {
                core += 1;
            }
        }
    }
    // Flood the empty cells from the border (4-connected); the rest are holes.
    let mut outside = vec![false; w * h];
    let mut stack = vec![0usize];
    outside[0] = true;
    while let Some(i) = stack.pop() {
        let (x, y) = (i % w, i / w);
        let mut visit = |j: usize| {
            if !m[j] && !outside[j] {
                outside[j] = true;
                stack.push(j);
            }
        };
        if x > 0 {
            visit(i - 1);
        }
        if x + 1 < w {
            visit(i + 1);
        }
        if y > 0 {
            visit(i - w);
        }
        if y + 1 < h {
            visit(i + w);
        }
    }
    let holes = (0..w * h).filter(|&i| !m[i] && !outside[i]).count();
    let area = b.area().max(1) as f32;
    Shape {
        fill: n as f32 / area,
        core: core as f32 / n.max(1) as f32,
        holes: holes as f32 / area,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_bridges() {
        let grid = Grid {
            scale: 1,
            w: 10,
            h: 4,
        };
        let mut m = vec![false; 40];
        for c in [0, 1, 11, 4, 24, 9] {
            m[c] = true;
        }
        let b = label(&m, &grid, 0, 1);
        assert_eq!(b.len(), 4);
        let big = b.iter().find(|b| b.cells.contains(&0)).unwrap();
        assert_eq!(big.cells.len(), 3);
        assert_eq!(
            big.bbox,
            CellBox {
                x0: 0,
                y0: 0,
                x1: 1,
                y1: 1
            }
        );
        // 4 and 24 are one row apart: bridged with 1. Cells 1 and 4 are two
        // columns apart: bridged with 2, not with 1.
        assert_eq!(label(&m, &grid, 1, 1).len(), 3);
        assert_eq!(label(&m, &grid, 2, 1).len(), 2);
        assert_eq!(label(&m, &grid, 0, 2).len(), 1);
    }

    #[test]
    fn objects_left_at_different_times_stay_apart() {
        let grid = Grid {
            scale: 1,
            w: 6,
            h: 1,
        };
        let m = vec![true; 6];
        let t = [1.0, 1.5, 2.0, 9.0, 9.2, 9.1];
        let b = label_by_time(&m, &grid, 1, 1, Some(&t), 2.5);
        assert_eq!(b.len(), 2);
        assert_eq!(label_by_time(&m, &grid, 1, 1, None, 0.0).len(), 1);
    }

    #[test]
    fn a_ring_has_a_hole_and_no_core_a_square_has_a_core() {
        let grid = Grid {
            scale: 1,
            w: 7,
            h: 7,
        };
        let ring: Vec<usize> = (0..49)
            .filter(|c| {
                let (x, y) = (c % 7, c / 7);
                (1..=5).contains(&x)
                    && (1..=5).contains(&y)
                    && (x == 1 || x == 5 || y == 1 || y == 5)
            })
            .collect();
        let b = CellBox {
            x0: 1,
            y0: 1,
            x1: 5,
            y1: 5,
        };
        let r = shape(&ring, &b, &grid);
        assert_eq!(r.core, 0.0);
        assert!((r.holes - 9.0 / 25.0).abs() < 1e-6, "{r:?}");
        let square: Vec<usize> = b.cells(&grid).collect();
        let s = shape(&square, &b, &grid);
        assert_eq!((s.fill, s.holes), (1.0, 0.0));
        assert!((s.core - 9.0 / 25.0).abs() < 1e-6, "{s:?}");
    }

    #[test]
    fn box_geometry() {
        let a = CellBox {
            x0: 0,
            y0: 0,
            x1: 3,
            y1: 1,
        };
        let b = CellBox {
            x0: 2,
            y0: 1,
            x1: 5,
            y1: 5,
        };
        assert_eq!(a.intersection(&b), 2);
        assert_eq!(a.gap(&b), 0);
        let c = CellBox {
            x0: 7,
            y0: 0,
            x1: 8,
            y1: 0,
        };
        assert_eq!(a.gap(&c), 3);
        assert_eq!(a.area(), 8);
    }
}
