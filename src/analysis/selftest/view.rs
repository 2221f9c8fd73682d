//! The view checks of the self-test: a small grey still averaged from the
//! captured frames, its brightness, contrast and sharpness (variance of the
//! Laplacian), and its similarity to the camera's reference still
//! (normalised cross-correlation of edge maps, best over a few pixels of
//! shift so that wind sway does not count as a moved camera). The reference
//! is kept as a PNG in the self-test's `reference_dir`.

use crate::ingest::Frame;
use std::path::Path;

/// Width of the still the checks work on (narrower frames keep their size).
pub const STILL_WIDTH: u32 = 320;

/// Largest shift, in still pixels, tried when comparing with the reference.
const MAX_SHIFT: i32 = 3;

/// A grey still: `w * h` luma bytes, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Still {
    pub w: u32,
    pub h: u32,
    pub luma: Vec<u8>,
}

/// Errors reading or writing a reference still.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    #[error("reference still {path}: {message}")]
    Io { path: String, message: String },
}

impl Still {
    /// The mean of up to 8 of `frames` (evenly spaced), scaled down to
    /// [`STILL_WIDTH`] by box averaging. `None` without frames.
    pub fn from_frames(frames: &[Frame]) -> Option<Still> {
        let first = frames.first()?;
        let (fw, fh) = (first.width, first.height);
        let step = (frames.len() / 8).max(1);
        let picked: Vec<&Frame> = frames
            .iter()
            .step_by(step)
            .filter(|f| f.width == fw && f.height == fh && f.rgb.len() == (fw * fh * 3) as usize)
            .take(8)
            .collect();
        if picked.is_empty() {
            return None;
        }
        let factor = fw.div_ceil(STILL_WIDTH).max(1);
        let (w, h) = ((fw / factor).max(1), (fh / factor).max(1));
        let mut sum = vec![0u32; (w * h) as usize];
        for f in &picked {
            for y in 0..h * factor {
                let row = (y * fw) as usize * 3;
                let out = (y / factor * w) as usize;
                for x in 0..w * factor {
                    let p = row + x as usize * 3;
                    let l = (77 * f.rgb[p] as u32
                        + 150 * f.rgb[p + 1] as u32
                        + 29 * f.rgb[p + 2] as u32)
                        >> 8;
                    sum[out + (x / factor) as usize] += l;
                }
            }
        }
        let n = picked.len() as u32 * factor * factor;
        Some(Still {
            w,
            h,
            luma: sum.iter().map(|s| ((s + n / 2) / n) as u8).collect(),
        })
    }

    /// Mean brightness, 0..=255.
    pub fn brightness(&self) -> f32 {
        mean(&self.luma.iter().map(|&v| v as f32).collect::<Vec<_>>())
    }

    /// Standard deviation of brightness.
    pub fn contrast(&self) -> f32 {
        let v: Vec<f32> = self.luma.iter().map(|&v| v as f32).collect();
        let m = mean(&v);
        (v.iter().map(|x| (x - m) * (x - m)).sum::<f32>() / v.len().max(1) as f32).sqrt()
    }

    /// Variance of the 4-neighbour Laplacian: high for a sharp view, low for
    /// a blurred or fogged one.
    pub fn sharpness(&self) -> f32 {
        let (w, h) = (self.w as usize, self.h as usize);
        if w < 3 || h < 3 {
            return 0.0;
        }
        let at = |x: usize, y: usize| self.luma[y * w + x] as f32;
        let mut lap = Vec::with_capacity((w - 2) * (h - 2));
        for y in 1..h - 1 {
            for x in 1..w - 1 {
                lap.push(
                    at(x - 1, y) + at(x + 1, y) + at(x, y - 1) + at(x, y + 1) - 4.0 * at(x, y),
                );
            }
        }
        let m = mean(&lap);
        lap.iter().map(|v| (v - m) * (v - m)).sum::<f32>() / lap.len() as f32
    }

    /// Sobel gradient magnitude of the lightly smoothed still.
    fn edges(&self) -> Vec<f32> {
        let (w, h) = (self.w as usize, self.h as usize);
        let mut s = vec![0f32; w * h];
        for y in 0..h {
            for x in 0..w {
                let mut acc = 0.0;
                let mut n = 0.0;
                for dy in -1i32..=1 {
                    for dx in -1i32..=1 {
                        let (xx, yy) = (x as i32 + dx, y as i32 + dy);
                        if xx >= 0 && yy >= 0 && (xx as usize) < w && (yy as usize) < h {
                            acc += self.luma[yy as usize * w + xx as usize] as f32;
                            n += 1.0;
                        }
                    }
                }
                s[y * w + x] = acc / n;
            }
        }
        let mut e = vec![0f32; w * h];
        for y in 1..h.saturating_sub(1) {
            for x in 1..w.saturating_sub(1) {
                let p = |dx: usize, dy: usize| s[(y + dy - 1) * w + x + dx - 1];
                let gx = p(2, 0) + 2.0 * p(2, 1) + p(2, 2) - p(0, 0) - 2.0 * p(0, 1) - p(0, 2);
                let gy = p(0, 2) + 2.0 * p(1, 2) + p(2, 2) - p(0, 0) - 2.0 * p(1, 0) - p(2, 0);
                e[y * w + x] = (gx * gx + gy * gy).sqrt();
            }
        }
        e
    }

    /// How much this view's structure matches `reference`'s: the best
    /// normalised cross-correlation of their edge maps over shifts of up to
    /// [`MAX_SHIFT`] pixels, -1..=1 (1: same edges; about 0: unrelated views;
    /// 0 as well when either has no edges at all). `None` when the sizes differ.
    pub fn similarity(&self, reference: &Still) -> Option<f32> {
        if (self.w, self.h) != (reference.w, reference.h) {
            return None;
        }
        let (a, b) = (self.edges(), reference.edges());
        let (w, h) = (self.w as i32, self.h as i32);
        let mut best = f32::MIN;
        for dy in -MAX_SHIFT..=MAX_SHIFT {
            for dx in -MAX_SHIFT..=MAX_SHIFT {
                // The interior both maps cover at this shift (edges are 0 on the border).
                let (x0, x1) = (1 + MAX_SHIFT, w - 1 - MAX_SHIFT);
                let (y0, y1) = (1 + MAX_SHIFT, h - 1 - MAX_SHIFT);
                if x1 <= x0 || y1 <= y0 {
                    return Some(0.0);
                }
                let (mut sa, mut sb, mut saa, mut sbb, mut sab, mut n) =
                    (0f64, 0f64, 0f64, 0f64, 0f64, 0f64);
                for y in y0..y1 {
                    for x in x0..x1 {
                        let va = a[(y * w + x) as usize] as f64;
                        let vb = b[((y + dy) * w + x + dx) as usize] as f64;
                        sa += va;
                        sb += vb;
                        saa += va * va;
                        sbb += vb * vb;
                        sab += va * vb;
                        n += 1.0;
                    }
                }
                let cov = sab - sa * sb / n;
                let var = (saa - sa * sa / n) * (sbb - sb * sb / n);
                let ncc = if var <= 1e-9 { 0.0 } else { cov / var.sqrt() };
                best = best.max(ncc as f32);
            }
        }
        Some(best)
    }

    /// Reads a reference still written by [`Still::save`].
    pub fn load(path: &Path) -> Result<Option<Still>, ReferenceError> {
        if !path.exists() {
            return Ok(None);
        }
        let err = |m: String| ReferenceError::Io {
            path: path.display().to_string(),
            message: m,
        };
        let img = image::open(path)
            .map_err(|e| err(e.to_string()))?
            .into_luma8();
        Ok(Some(Still {
            w: img.width(),
            h: img.height(),
            luma: img.into_raw(),
        }))
    }

    /// Writes the still as a grey PNG (through a temporary file, so a crash
    /// never leaves half a reference), creating the folder.
    pub fn save(&self, path: &Path) -> Result<(), ReferenceError> {
        let err = |m: String| ReferenceError::Io {
            path: path.display().to_string(),
            message: m,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        }
        let img = image::GrayImage::from_raw(self.w, self.h, self.luma.clone())
            .ok_or_else(|| err("size does not match the data".into()))?;
        let tmp = path.with_extension("png.tmp");
        img.save_with_format(&tmp, image::ImageFormat::Png)
            .map_err(|e| err(e.to_string()))?;
        std::fs::rename(&tmp, path).map_err(|e| err(e.to_string()))
    }
}

fn mean(v: &[f32]) -> f32 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f32>() / v.len() as f32
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    /// A frame from a function of (x, y) giving RGB.
    pub(crate) fn frame(w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 3]) -> Frame {
        let mut rgb = Vec::with_capacity((w * h * 3) as usize);
        for y in 0..h {
            for x in 0..w {
                rgb.extend_from_slice(&f(x, y));
            }
        }
        Frame {
            camera: Arc::from("cam"),
            seq: 0,
            pts: Some(Duration::ZERO),
            captured_at: SystemTime::now(),
            width: w,
            height: h,
            rgb: Arc::new(rgb),
        }
    }

    /// A facade-like scene: a grid of windows on a wall over a sky gradient,
    /// shifted by `dx` pixels.
    pub(crate) fn facade(w: u32, h: u32, dx: i32) -> Frame {
        frame(w, h, move |x, y| {
            let x = x as i32 + dx;
            if y < h / 6 {
                let v = 150 + (y * 60 / (h / 6)) as u8;
                return [v / 2, v / 2 + 20, v];
            }
            let win =
                x.rem_euclid(40) > 12 && x.rem_euclid(40) < 30 && (y % 30) > 8 && (y % 30) < 22;
            if win {
                [40, 45, 60]
            } else {
                let t = ((x * 7 + y as i32 * 13) % 17) as u8;
                [170 + t, 160 + t, 140 + t]
            }
        })
    }

    /// Another scene: diagonal stripes and a disc (a camera turned away).
    fn elsewhere(w: u32, h: u32) -> Frame {
        frame(w, h, move |x, y| {
            let (cx, cy) = (w as f32 * 0.6, h as f32 * 0.5);
            let d = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
            if d < h as f32 * 0.25 {
                [200, 80, 60]
            } else if ((x + y) / 23) % 2 == 0 {
                [90, 120, 90]
            } else {
                [60, 70, 100]
            }
        })
    }

    fn blurred(f: &Frame, r: i32) -> Frame {
        let (w, h) = (f.width as i32, f.height as i32);
        frame(f.width, f.height, |x, y| {
            let mut acc = [0u32; 3];
            let mut n = 0;
            for dy in -r..=r {
                for dx in -r..=r {
                    let (xx, yy) = (
                        (x as i32 + dx).clamp(0, w - 1),
                        (y as i32 + dy).clamp(0, h - 1),
                    );
                    let p = ((yy * w + xx) * 3) as usize;
                    for (c, a) in acc.iter_mut().enumerate() {
                        *a += f.rgb[p + c] as u32;
                    }
                    n += 1;
                }
            }
            acc.map(|a| (a / n) as u8)
        })
    }

    #[test]
    fn the_same_view_matches_even_when_swayed_by_two_pixels() {
        let r = Still::from_frames(&[facade(640, 360, 0)]).unwrap();
        assert_eq!((r.w, r.h), (320, 180));
        let same = Still::from_frames(&[facade(640, 360, 0)]).unwrap();
        assert!(same.similarity(&r).unwrap() > 0.99);
        let swayed = Still::from_frames(&[facade(640, 360, 4)]).unwrap();
        let s = swayed.similarity(&r).unwrap();
        assert!(s > 0.8, "{s}");
    }

    #[test]
    fn a_camera_turned_away_is_dissimilar() {
        let r = Still::from_frames(&[facade(640, 360, 0)]).unwrap();
        let away = Still::from_frames(&[elsewhere(640, 360)]).unwrap();
        let s = away.similarity(&r).unwrap();
        assert!(s < ViewLimitsForTest::SIMILARITY, "{s}");
        // Half a window pitch further along the wall is another view too.
        let moved = Still::from_frames(&[facade(640, 360, 40 + 20)]).unwrap();
        let m = moved.similarity(&r).unwrap();
        assert!(m < 0.9 * r.similarity(&r).unwrap(), "{m}");
    }

    struct ViewLimitsForTest;
    impl ViewLimitsForTest {
        const SIMILARITY: f32 = 0.45;
    }

    #[test]
    fn a_covered_camera_is_dark_and_flat_and_matches_nothing() {
        let r = Still::from_frames(&[facade(640, 360, 0)]).unwrap();
        let black = Still::from_frames(&[frame(640, 360, |x, y| {
            let n = ((x * 31 + y * 17) % 5) as u8;
            [n, n, n + 1]
        })])
        .unwrap();
        assert!(black.brightness() < 12.0, "{}", black.brightness());
        assert!(black.contrast() < 6.0, "{}", black.contrast());
        assert!(black.similarity(&r).unwrap() < 0.45);
        let grey = Still::from_frames(&[frame(640, 360, |_, _| [128, 128, 128])]).unwrap();
        assert!(grey.contrast() < 1.0);
        assert_eq!(grey.similarity(&r), Some(0.0));
        assert!(r.brightness() > 100.0 && r.contrast() > 20.0);
    }

    #[test]
    fn a_blurred_view_loses_most_of_its_sharpness() {
        let f = facade(640, 360, 0);
        let sharp = Still::from_frames(std::slice::from_ref(&f)).unwrap();
        let soft = Still::from_frames(&[blurred(&f, 6)]).unwrap();
        let ratio = soft.sharpness() / sharp.sharpness();
        assert!(ratio < 0.3, "{ratio}");
    }

    #[test]
    fn the_reference_round_trips_through_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("cam.png");
        assert!(Still::load(&path).unwrap().is_none());
        let s = Still::from_frames(&[facade(320, 180, 0)]).unwrap();
        s.save(&path).unwrap();
        assert_eq!(Still::load(&path).unwrap(), Some(s));
        std::fs::write(&path, b"not a png").unwrap();
        let e = Still::load(&path).unwrap_err().to_string();
        assert!(e.contains("cam.png"), "{e}");
    }
}
