//! Boxes between the analysis grid and the frame: a cell region's box in
//! normalised frame coordinates, the cells under normalised boxes, a flame
//! candidate's halo, whether two cell regions touch, box union and overlap,
//! and the verifier's crop round a box.

use super::features::{Grid, CELL};
use super::flame::FlameRegion;
use super::regions::CellRegion;
use crate::alert::BBox;
use crate::ingest::Frame;

/// A cell region's box in normalised frame coordinates.
pub(super) fn cell_bbox(grid: &Grid, r: &CellRegion) -> BBox {
    let s = (CELL * grid.ds) as f32;
    let (fw, fh) = (grid.frame_w as f32, grid.frame_h as f32);
    let x0 = (r.bbox.0 as f32 * s).min(fw);
    let y0 = (r.bbox.1 as f32 * s).min(fh);
    let x1 = ((r.bbox.2 + 1) as f32 * s).min(fw);
    let y1 = ((r.bbox.3 + 1) as f32 * s).min(fh);
    BBox {
        x: x0 / fw,
        y: y0 / fh,
        w: (x1 - x0) / fw,
        h: (y1 - y0) / fh,
    }
}

pub(super) fn union(a: BBox, b: BBox) -> BBox {
    let x0 = a.x.min(b.x);
    let y0 = a.y.min(b.y);
    let x1 = (a.x + a.w).max(b.x + b.w);
    let y1 = (a.y + a.h).max(b.y + b.h);
    BBox {
        x: x0,
        y: y0,
        w: x1 - x0,
        h: y1 - y0,
    }
}

/// Whether two boxes overlap (touching counts), after growing `a` by `margin` of its size.
pub(super) fn overlaps(a: BBox, b: BBox, margin: f32) -> bool {
    let (mx, my) = (a.w * margin, a.h * margin);
    a.x - mx <= b.x + b.w && b.x <= a.x + a.w + mx && a.y - my <= b.y + b.h && b.y <= a.y + a.h + my
}

/// A crop of the frame around `b` (grown by 25 %, made square), for the verifier.
pub(super) fn crop(frame: &Frame, b: BBox) -> Option<image::RgbImage> {
    let (fw, fh) = (frame.width as f32, frame.height as f32);
    let (cx, cy) = ((b.x + b.w / 2.0) * fw, (b.y + b.h / 2.0) * fh);
    let side = (b.w * fw).max(b.h * fh) * 1.25;
    let side = side.max(16.0).min(fw.min(fh));
    let x0 = (cx - side / 2.0).clamp(0.0, fw - side) as u32;
    let y0 = (cy - side / 2.0).clamp(0.0, fh - side) as u32;
    let s = side as u32;
    let img = image::RgbImage::from_raw(frame.width, frame.height, frame.rgb.to_vec())?;
    Some(image::imageops::crop_imm(&img, x0, y0, s, s).to_image())
}

/// Whether two cell regions of one zone overlap or touch: within two cells,
/// the gap across which cells join one region ([`regions::group`]), so a
/// glow a row clear of its flame's cells is still round it.
pub(super) fn touches(a: &CellRegion, b: &CellRegion) -> bool {
    a.zone == b.zone
        && a.bbox.0 <= b.bbox.2 + 2
        && b.bbox.0 <= a.bbox.2 + 2
        && a.bbox.1 <= b.bbox.3 + 2
        && b.bbox.1 <= a.bbox.3 + 2
}

/// The cells under `boxes` (normalised), grown by `margin` cells each way.
pub(super) fn box_cells(grid: &Grid, boxes: &[BBox], margin: usize) -> Vec<bool> {
    let mut out = vec![false; grid.cells()];
    if grid.gw == 0 || grid.gh == 0 {
        return out;
    }
    let (gw, gh) = (grid.gw as f32, grid.gh as f32);
    for b in boxes {
        let m = margin as i64;
        let x0 = ((b.x * gw).floor() as i64 - m).max(0) as usize;
        let y0 = ((b.y * gh).floor() as i64 - m).max(0) as usize;
        let x1 = (((b.x + b.w) * gw).ceil() as usize + margin).min(grid.gw);
        let y1 = (((b.y + b.h) * gh).ceil() as usize + margin).min(grid.gh);
        for y in y0..y1 {
            for x in x0..x1 {
                out[y * grid.gw + x] = true;
            }
        }
    }
    out
}

/// Marks the cells next to a flame candidate (two cells round it), whose
/// brightening is the flame's own halo rather than smoke.
pub(super) fn mark_glow(grid: &Grid, regions: &[FlameRegion], near: &mut [bool]) {
    near.iter_mut().for_each(|n| *n = false);
    for r in regions {
        let (x0, y0, x1, y1) = r.region.bbox;
        for y in y0.saturating_sub(2)..=(y1 + 2).min(grid.gh - 1) {
            for x in x0.saturating_sub(2)..=(x1 + 2).min(grid.gw - 1) {
                near[y * grid.gw + x] = true;
            }
        }
    }
}
