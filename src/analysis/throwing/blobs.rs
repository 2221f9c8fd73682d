//! Small-blob extraction: groups foreground pixels into blobs (pixels at
//! most two apart join, so an object split by a thin background line stays
//! whole; a blob grows from strong pixels into weak ones and needs at least
//! one strong pixel) and measures each blob's centroid, area and box. Thin vertical
//! streaks (rain) are dropped here.

use super::background::{STRONG, WEAK};

/// One blob of foreground pixels, in pixel coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct Blob {
    /// Centroid (pixel centres at +0.5).
    pub x: f32,
    pub y: f32,
    /// Foreground pixels in the blob.
    pub area: u32,
    /// Inclusive box.
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
}

impl Blob {
    pub fn width(&self) -> u32 {
        self.x1 - self.x0 + 1
    }
    pub fn height(&self) -> u32 {
        self.y1 - self.y0 + 1
    }
    /// Larger side of the box.
    pub fn side(&self) -> u32 {
        self.width().max(self.height())
    }
}

/// Mask value of a pixel already put in a blob.
const SEEN: u8 = 3;

/// Pixels at most this far apart (in x and in y) belong to one blob.
const LINK: usize = 2;
/// Blobs at most this wide and at least `STREAK_MIN_ASPECT` times as tall
/// are rain streaks and are dropped.
const STREAK_MAX_WIDTH: u32 = 2;
const STREAK_MIN_ASPECT: u32 = 4;
/// Largest gap between fragments of one object that are joined, pixels.
const MERGE_MAX_PX: f32 = 6.0;

/// Finds the blobs in `mask` ([`STRONG`], [`WEAK`] or 0; the mask is
/// consumed as scratch) with at least `min_area` pixels and no side longer than
/// `max_side`. Stops after `max_blobs` accepted blobs.
pub fn extract(
    mask: &mut [u8],
    width: u32,
    height: u32,
    min_area: u32,
    max_side: u32,
    max_blobs: usize,
) -> Vec<Blob> {
    let (w, h) = (width as usize, height as usize);
    let mut out: Vec<Blob> = Vec::new();
    if mask.len() != w * h {
        return out;
    }
    let mut stack: Vec<usize> = Vec::new();
    for start in 0..mask.len() {
        if mask[start] != STRONG {
            continue;
        }
        mask[start] = SEEN;
        stack.push(start);
        let (mut area, mut sx, mut sy) = (0u64, 0u64, 0u64);
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            area += 1;
            sx += x as u64;
            sy += y as u64;
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
            for ny in y.saturating_sub(LINK)..=(y + LINK).min(h - 1) {
                for nx in x.saturating_sub(LINK)..=(x + LINK).min(w - 1) {
                    let j = ny * w + nx;
                    if mask[j] == STRONG || mask[j] == WEAK {
                        mask[j] = SEEN;
                        stack.push(j);
                    }
                }
            }
        }
        let (bw, bh) = ((x1 - x0 + 1) as u32, (y1 - y0 + 1) as u32);
        // A thin vertical streak is a raindrop (or a wire glinting), not an object.
        let streak = bw <= STREAK_MAX_WIDTH && bh >= STREAK_MIN_ASPECT * bw && bh >= 6;
        if !streak {
            out.push(Blob {
                x: sx as f32 / area as f32 + 0.5,
                y: sy as f32 / area as f32 + 0.5,
                area: area as u32,
                x0: x0 as u32,
                y0: y0 as u32,
                x1: x1 as u32,
                y1: y1 as u32,
            });
            if out.len() >= 4 * max_blobs {
                break;
            }
        }
    }
    merge_fragments(&mut out);
    out.retain(|b| b.area >= min_area && b.side() <= max_side);
    out.truncate(max_blobs);
    out
}

/// Joins blobs whose boxes lie within a third of the larger one's side
/// (at most `MERGE_MAX_PX`) of each other: a low-contrast object crossing a
/// window edge breaks into pieces that belong together.
fn merge_fragments(blobs: &mut Vec<Blob>) {
    let mut i = 0;
    while i < blobs.len() {
        let mut merged = false;
        let mut j = i + 1;
        while j < blobs.len() {
            let (a, b) = (&blobs[i], &blobs[j]);
            let reach = (a.side().max(b.side()) as f32 / 3.0).min(MERGE_MAX_PX) as i64;
            let gap_x = (b.x0 as i64 - a.x1 as i64).max(a.x0 as i64 - b.x1 as i64) - 1;
            let gap_y = (b.y0 as i64 - a.y1 as i64).max(a.y0 as i64 - b.y1 as i64) - 1;
            if a.side() >= 6 && b.side() >= 2 && gap_x <= reach && gap_y <= reach {
                let b = blobs.swap_remove(j);
                let a = &mut blobs[i];
                let total = (a.area + b.area) as f32;
                a.x = (a.x * a.area as f32 + b.x * b.area as f32) / total;
                a.y = (a.y * a.area as f32 + b.y * b.area as f32) / total;
                a.area += b.area;
                a.x0 = a.x0.min(b.x0);
                a.y0 = a.y0.min(b.y0);
                a.x1 = a.x1.max(b.x1);
                a.y1 = a.y1.max(b.y1);
                merged = true;
            } else {
                j += 1;
            }
        }
        if !merged {
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(w: usize, h: usize, on: &[(usize, usize)]) -> Vec<u8> {
        let mut m = vec![0; w * h];
        for &(x, y) in on {
            m[y * w + x] = STRONG;
        }
        m
    }

    #[test]
    fn separates_blobs_and_measures_them() {
        let mut m = mask(
            20,
            10,
            &[(1, 1), (2, 1), (1, 2), (2, 2), (10, 5), (12, 5), (18, 9)],
        );
        let b = extract(&mut m, 20, 10, 2, 10, 100);
        assert_eq!(b.len(), 2, "{b:?}");
        assert_eq!((b[0].area, b[0].x, b[0].y), (4, 2.0, 2.0));
        assert_eq!(
            (b[1].area, b[1].x0, b[1].x1),
            (2, 10, 12),
            "gap of one joins"
        );
    }

    #[test]
    fn drops_rain_streaks_but_keeps_blurred_objects() {
        let mut on: Vec<(usize, usize)> = (0..12).map(|y| (5, y)).collect();
        on.extend((0..12).flat_map(|y| (20..24).map(move |x| (x, y))));
        let mut m = mask(30, 12, &on);
        let b = extract(&mut m, 30, 12, 1, 20, 100);
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].x0, 20);
    }

    #[test]
    fn weak_pixels_join_a_strong_blob_but_make_none_alone() {
        let mut m = mask(20, 10, &[(5, 5)]);
        for (x, y) in [(6, 5), (7, 5), (5, 6), (15, 5), (16, 5), (15, 6)] {
            m[y * 20 + x] = WEAK;
        }
        let b = extract(&mut m, 20, 10, 2, 10, 100);
        assert_eq!(b.len(), 1, "{b:?}");
        assert_eq!((b[0].area, b[0].x0, b[0].x1), (4, 5, 7));
    }

    #[test]
    fn fragments_of_a_large_object_are_joined() {
        // Two 9×4 halves of a 9×9 object, 3 px apart.
        let mut on = vec![];
        for y in 0..4 {
            for x in 0..9 {
                on.push((10 + x, 10 + y));
                on.push((10 + x, 17 + y));
            }
        }
        let mut m = mask(40, 30, &on);
        let b = extract(&mut m, 40, 30, 2, 20, 100);
        assert_eq!(b.len(), 1, "{b:?}");
        assert_eq!((b[0].y0, b[0].y1, b[0].area), (10, 20, 72));
    }

    #[test]
    fn drops_too_large_blobs() {
        let on: Vec<(usize, usize)> = (0..30).map(|x| (x, 3)).collect();
        let mut m = mask(40, 8, &on);
        assert!(extract(&mut m, 40, 8, 1, 20, 100).is_empty());
    }
}
