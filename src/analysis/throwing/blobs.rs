//! Small-blob extraction: groups foreground pixels into blobs (pixels at
//! most two apart join, so an object split by a thin background line stays
//! whole) and measures each blob's centroid, area and box. Thin vertical
//! streaks (rain) are dropped here.

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

/// Pixels at most this far apart (in x and in y) belong to one blob.
const LINK: usize = 2;
/// Blobs at most this wide and at least `STREAK_MIN_ASPECT` times as tall
/// are rain streaks and are dropped.
const STREAK_MAX_WIDTH: u32 = 2;
const STREAK_MIN_ASPECT: u32 = 4;

/// Finds the blobs in `mask` (1 = foreground; the mask is consumed as
/// scratch) with at least `min_area` pixels and no side longer than
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
    let mut out = Vec::new();
    if mask.len() != w * h {
        return out;
    }
    let mut stack: Vec<usize> = Vec::new();
    for start in 0..mask.len() {
        if mask[start] != 1 {
            continue;
        }
        mask[start] = 2;
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
                    if mask[j] == 1 {
                        mask[j] = 2;
                        stack.push(j);
                    }
                }
            }
        }
        let (bw, bh) = ((x1 - x0 + 1) as u32, (y1 - y0 + 1) as u32);
        let side = bw.max(bh);
        // A thin vertical streak is a raindrop (or a wire glinting), not an object.
        let streak = bw <= STREAK_MAX_WIDTH && bh >= STREAK_MIN_ASPECT * bw;
        if area >= min_area as u64 && side <= max_side && !streak {
            out.push(Blob {
                x: sx as f32 / area as f32 + 0.5,
                y: sy as f32 / area as f32 + 0.5,
                area: area as u32,
                x0: x0 as u32,
                y0: y0 as u32,
                x1: x1 as u32,
                y1: y1 as u32,
            });
            if out.len() >= max_blobs {
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(w: usize, h: usize, on: &[(usize, usize)]) -> Vec<u8> {
        let mut m = vec![0; w * h];
        for &(x, y) in on {
            m[y * w + x] = 1;
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
    fn drops_too_large_blobs() {
        let on: Vec<(usize, usize)> = (0..30).map(|x| (x, 3)).collect();
        let mut m = mask(40, 8, &on);
        assert!(extract(&mut m, 40, 8, 1, 20, 100).is_empty());
    }
}
