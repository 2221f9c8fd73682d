//! Preprocessing: a frame (or a region of it) resized into a model's input
//! tensor, and the geometry that maps the model's boxes back to the frame.
//!
//! The resize is a separable bilinear (triangle) filter whose support widens
//! when shrinking, as Pillow's `BILINEAR` does, so a 1080p frame shrunk to
//! 416 px does not alias. It writes normalised values straight into the
//! NCHW/NHWC tensor: no intermediate image, one pass per axis. The resized
//! picture is placed at `(dx, dy)` inside the input (letterbox) or fills it
//! (stretch); the rest holds the value of a black pixel.

use super::manifest::{ColorOrder, InputType, Layout, ResizeMode};
use super::{DetectorError, Rect};

/// Everything the preprocessing needs to know about a model's input.
#[derive(Debug, Clone, PartialEq)]
pub struct InputFormat {
    pub width: u32,
    pub height: u32,
    pub layout: Layout,
    pub color: ColorOrder,
    pub dtype: InputType,
    /// Per tensor channel.
    pub mean: [f32; 3],
    /// Per tensor channel.
    pub std: [f32; 3],
    pub resize: ResizeMode,
}

/// The input tensor's data.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    F32(Vec<f32>),
    U8(Vec<u8>),
}

/// A frame region turned into a model input, plus the way back.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub data: TensorData,
    pub geometry: Geometry,
}

/// Where the region went inside the model input: input pixel
/// `(dx + (x - roi.x) * sx, dy + (y - roi.y) * sy)` shows frame pixel `(x, y)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geometry {
    /// The frame region that was fed to the model.
    pub roi: Rect,
    /// Input pixels per frame pixel, horizontally (resized width / roi width).
    pub sx: f32,
    /// Input pixels per frame pixel, vertically.
    pub sy: f32,
    /// Left offset of the resized region inside the input.
    pub dx: f32,
    /// Top offset of the resized region inside the input.
    pub dy: f32,
}

impl Geometry {
    /// Maps a box from input pixels to frame pixels, clipped to the region.
    pub fn to_frame(&self, x1: f32, y1: f32, x2: f32, y2: f32) -> (f32, f32, f32, f32) {
        let (rx, ry) = (self.roi.x as f32, self.roi.y as f32);
        let (rw, rh) = (self.roi.w as f32, self.roi.h as f32);
        let fx = |x: f32| ((x - self.dx) / self.sx).clamp(0.0, rw) + rx;
        let fy = |y: f32| ((y - self.dy) / self.sy).clamp(0.0, rh) + ry;
        (fx(x1), fy(y1), fx(x2), fy(y2))
    }
}

/// Checks the buffer size and clips the region to the frame.
pub fn frame_region(
    rgb: &[u8],
    width: u32,
    height: u32,
    roi: Option<Rect>,
) -> Result<Rect, DetectorError> {
    let expected = width as usize * height as usize * 3;
    if rgb.len() != expected || width == 0 || height == 0 {
        return Err(DetectorError::BadFrame {
            got: rgb.len(),
            expected,
            width,
            height,
        });
    }
    let full = Rect {
        x: 0,
        y: 0,
        w: width,
        h: height,
    };
    let Some(r) = roi else { return Ok(full) };
    let x2 = r.x.saturating_add(r.w).min(width);
    let y2 = r.y.saturating_add(r.h).min(height);
    if r.x >= x2 || r.y >= y2 {
        return Err(DetectorError::EmptyRoi {
            roi: r,
            width,
            height,
        });
    }
    Ok(Rect {
        x: r.x,
        y: r.y,
        w: x2 - r.x,
        h: y2 - r.y,
    })
}

/// Resizes `roi` of a packed RGB frame into a model input tensor.
/// `roi` must lie inside the frame (see [`frame_region`]).
pub fn prepare(fmt: &InputFormat, rgb: &[u8], width: u32, roi: Rect) -> Prepared {
    let (iw, ih) = (fmt.width as usize, fmt.height as usize);
    // Size and place of the resized region inside the input.
    let (nw, nh) = match fmt.resize {
        ResizeMode::Stretch => (iw, ih),
        ResizeMode::Letterbox => {
            let r = (fmt.width as f64 / roi.w as f64).min(fmt.height as f64 / roi.h as f64);
            let nw = ((roi.w as f64 * r).round() as usize).clamp(1, iw);
            let nh = ((roi.h as f64 * r).round() as usize).clamp(1, ih);
            (nw, nh)
        }
    };
    let (dx, dy) = ((iw - nw) / 2, (ih - nh) / 2);
    let geometry = Geometry {
        roi,
        sx: nw as f32 / roi.w as f32,
        sy: nh as f32 / roi.h as f32,
        dx: dx as f32,
        dy: dy as f32,
    };

    // Tensor channel c takes source (RGB) channel src[c].
    let src = match fmt.color {
        ColorOrder::RGB => [0usize, 1, 2],
        ColorOrder::BGR => [2usize, 1, 0],
    };
    // value = pixel * scale + bias  ==  (pixel - mean) / std
    let scale = [1.0 / fmt.std[0], 1.0 / fmt.std[1], 1.0 / fmt.std[2]];
    let bias = [
        -fmt.mean[0] * scale[0],
        -fmt.mean[1] * scale[1],
        -fmt.mean[2] * scale[2],
    ];
    let rows = resize_rows(rgb, width as usize, roi, nw, nh);
    let plane = iw * ih;
    // Index of tensor element (channel c, input row y, input column x).
    let index = |c: usize, y: usize, x: usize| match fmt.layout {
        Layout::NCHW => c * plane + y * iw + x,
        Layout::NHWC => (y * iw + x) * 3 + c,
    };

    let data = match fmt.dtype {
        InputType::Float32 => {
            let mut out = vec![0.0f32; plane * 3];
            if nw != iw || nh != ih {
                fill_border(&mut out, fmt.layout, iw, ih, bias);
            }
            rows.for_each(|y, row| {
                let y = dy + y;
                match fmt.layout {
                    Layout::NCHW => {
                        for (c, &s) in src.iter().enumerate() {
                            let start = index(c, y, dx);
                            let dst = &mut out[start..start + nw];
                            let (k, b) = (scale[c], bias[c]);
                            for (d, px) in dst.iter_mut().zip(row.chunks_exact(3)) {
                                *d = px[s] * k + b;
                            }
                        }
                    }
                    Layout::NHWC => {
                        let start = index(0, y, dx);
                        let dst = &mut out[start..start + nw * 3];
                        for (d, px) in dst.chunks_exact_mut(3).zip(row.chunks_exact(3)) {
                            for c in 0..3 {
                                d[c] = px[src[c]] * scale[c] + bias[c];
                            }
                        }
                    }
                }
            });
            TensorData::F32(out)
        }
        InputType::Uint8 => {
            // Border stays 0: a black pixel.
            let mut out = vec![0u8; plane * 3];
            rows.for_each(|y, row| {
                let y = dy + y;
                for (x, px) in row.chunks_exact(3).enumerate() {
                    for (c, &s) in src.iter().enumerate() {
                        out[index(c, y, dx + x)] = px[s].round().clamp(0.0, 255.0) as u8;
                    }
                }
            });
            TensorData::U8(out)
        }
    };
    Prepared { data, geometry }
}

/// Fills the whole float tensor with the value of a black pixel per channel.
fn fill_border(out: &mut [f32], layout: Layout, iw: usize, ih: usize, black: [f32; 3]) {
    match layout {
        Layout::NCHW => {
            for (c, plane) in out.chunks_exact_mut(iw * ih).enumerate() {
                plane.fill(black[c]);
            }
        }
        Layout::NHWC => {
            for px in out.chunks_exact_mut(3) {
                px.copy_from_slice(&black);
            }
        }
    }
}

/// Filter taps of a 1-D resize: output sample i reads `len[i]` input samples
/// from `start[i]` with weights `weights[i * width ..]`.
struct Taps {
    start: Vec<usize>,
    len: Vec<usize>,
    width: usize,
    weights: Vec<f32>,
}

/// Bilinear (triangle) filter taps from `n_in` to `n_out` samples; when
/// shrinking, the filter stretches to cover every input sample (area-aware).
fn taps(n_in: usize, n_out: usize) -> Taps {
    let scale = n_in as f64 / n_out as f64;
    let filter_scale = scale.max(1.0);
    let support = filter_scale; // the triangle's support is 1 input pixel, widened when shrinking
    let width = (support.ceil() as usize) * 2 + 1;
    let mut t = Taps {
        start: Vec::with_capacity(n_out),
        len: Vec::with_capacity(n_out),
        width,
        weights: vec![0.0; n_out * width],
    };
    let mut raw = Vec::with_capacity(width);
    for i in 0..n_out {
        let centre = (i as f64 + 0.5) * scale;
        let lo = ((centre - support + 0.5).floor().max(0.0) as usize).min(n_in - 1);
        let hi = ((centre + support + 0.5).floor() as usize).clamp(lo + 1, n_in);
        let n = (hi - lo).min(width);
        raw.clear();
        raw.extend((0..n).map(|k| {
            let d = ((lo + k) as f64 + 0.5 - centre) / filter_scale;
            (1.0 - d.abs()).max(0.0)
        }));
        let total: f64 = raw.iter().sum();
        let w = &mut t.weights[i * width..i * width + n];
        if total > 0.0 {
            for (wk, r) in w.iter_mut().zip(&raw) {
                *wk = (r / total) as f32;
            }
        } else {
            w[0] = 1.0; // unreachable for sane sizes: nearest sample
        }
        t.start.push(lo);
        t.len.push(n);
    }
    t
}

/// The horizontally resized rows of the region, and the vertical taps that
/// combine them into output rows.
struct ResizedRows {
    /// `roi.h` rows of `nw * 3` floats (RGB).
    rows: Vec<f32>,
    row_len: usize,
    v: Taps,
    nh: usize,
}

impl ResizedRows {
    /// Calls `f(y, row)` for each output row y in 0..nh with `nw * 3` RGB floats.
    fn for_each(&self, mut f: impl FnMut(usize, &[f32])) {
        let mut acc = vec![0.0f32; self.row_len];
        for y in 0..self.nh {
            acc.fill(0.0);
            let (start, len) = (self.v.start[y], self.v.len[y]);
            let w = &self.v.weights[y * self.v.width..y * self.v.width + len];
            for (k, &wk) in w.iter().enumerate() {
                let r = start + k;
                let src = &self.rows[r * self.row_len..(r + 1) * self.row_len];
                for (a, s) in acc.iter_mut().zip(src) {
                    *a += s * wk;
                }
            }
            f(y, &acc);
        }
    }
}

/// Horizontal pass over every row of the region.
fn resize_rows(rgb: &[u8], width: usize, roi: Rect, nw: usize, nh: usize) -> ResizedRows {
    let h = taps(roi.w as usize, nw);
    let v = taps(roi.h as usize, nh);
    let row_len = nw * 3;
    let mut rows = vec![0.0f32; roi.h as usize * row_len];
    for (ry, out) in rows.chunks_exact_mut(row_len).enumerate() {
        let y = roi.y as usize + ry;
        let line =
            &rgb[(y * width + roi.x as usize) * 3..(y * width + (roi.x + roi.w) as usize) * 3];
        for (x, o) in out.chunks_exact_mut(3).enumerate() {
            let (start, len) = (h.start[x], h.len[x]);
            let w = &h.weights[x * h.width..x * h.width + len];
            let px = &line[start * 3..(start + len) * 3];
            let (mut r, mut g, mut b) = (0.0f32, 0.0f32, 0.0f32);
            for (p, &wk) in px.chunks_exact(3).zip(w) {
                r += p[0] as f32 * wk;
                g += p[1] as f32 * wk;
                b += p[2] as f32 * wk;
            }
            o[0] = r;
            o[1] = g;
            o[2] = b;
        }
    }
    ResizedRows {
        rows,
        row_len,
        v,
        nh,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(w: u32, h: u32, layout: Layout, color: ColorOrder, resize: ResizeMode) -> InputFormat {
        InputFormat {
            width: w,
            height: h,
            layout,
            color,
            dtype: InputType::Float32,
            mean: [0.0; 3],
            std: [1.0; 3],
            resize,
        }
    }

    fn full(w: u32, h: u32) -> Rect {
        Rect { x: 0, y: 0, w, h }
    }

    fn f32s(p: &Prepared) -> &[f32] {
        match &p.data {
            TensorData::F32(v) => v,
            TensorData::U8(_) => panic!("expected f32"),
        }
    }

    #[test]
    fn same_size_is_an_exact_copy() {
        let rgb: Vec<u8> = (0..4 * 2 * 3).map(|v| v as u8 * 10).collect();
        let p = prepare(
            &fmt(4, 2, Layout::NHWC, ColorOrder::RGB, ResizeMode::Stretch),
            &rgb,
            4,
            full(4, 2),
        );
        let want: Vec<f32> = rgb.iter().map(|v| *v as f32).collect();
        assert_eq!(f32s(&p), &want[..]);
    }

    #[test]
    fn nchw_bgr_with_normalisation() {
        // One 2x1 frame: pixel 0 = (10, 20, 30), pixel 1 = (40, 50, 60).
        let rgb = [10, 20, 30, 40, 50, 60];
        let mut f = fmt(2, 1, Layout::NCHW, ColorOrder::BGR, ResizeMode::Stretch);
        f.mean = [1.0, 2.0, 3.0];
        f.std = [2.0, 4.0, 8.0];
        let p = prepare(&f, &rgb, 2, full(2, 1));
        // plane 0 = B: (30-1)/2, (60-1)/2; plane 1 = G: (20-2)/4, (50-2)/4; plane 2 = R: (10-3)/8, (40-3)/8
        assert_eq!(f32s(&p), &[14.5, 29.5, 4.5, 12.0, 0.875, 4.625]);
    }

    #[test]
    fn letterbox_places_and_pads_and_maps_back() {
        // A 8x4 white frame into a 4x4 input: resized to 4x2 at dy = 1.
        let rgb = vec![255u8; 8 * 4 * 3];
        let mut f = fmt(4, 4, Layout::NCHW, ColorOrder::RGB, ResizeMode::Letterbox);
        f.mean = [100.0; 3];
        let p = prepare(&f, &rgb, 8, full(8, 4));
        let v = f32s(&p);
        let plane0 = &v[..16];
        assert_eq!(&plane0[..4], &[-100.0; 4], "top border holds black");
        assert_eq!(&plane0[4..12], &[155.0; 8], "resized rows");
        assert_eq!(&plane0[12..], &[-100.0; 4], "bottom border");
        let g = p.geometry;
        assert_eq!((g.sx, g.sy, g.dx, g.dy), (0.5, 0.5, 0.0, 1.0));
        // input (1, 1.5)-(3, 2.5) -> frame (2, 1)-(6, 3); outside the picture clips.
        assert_eq!(g.to_frame(1.0, 1.5, 3.0, 2.5), (2.0, 1.0, 6.0, 3.0));
        assert_eq!(g.to_frame(-5.0, 0.0, 9.0, 4.0), (0.0, 0.0, 8.0, 4.0));
    }

    #[test]
    fn roi_is_cropped_and_offset() {
        // 4x4 frame, left half black, right half value 200; ROI = right half.
        let mut rgb = vec![0u8; 4 * 4 * 3];
        for y in 0..4 {
            for x in 2..4 {
                for c in 0..3 {
                    rgb[(y * 4 + x) * 3 + c] = 200;
                }
            }
        }
        let roi = frame_region(
            &rgb,
            4,
            4,
            Some(Rect {
                x: 2,
                y: 0,
                w: 10,
                h: 4,
            }),
        )
        .unwrap();
        assert_eq!(
            roi,
            Rect {
                x: 2,
                y: 0,
                w: 2,
                h: 4
            },
            "clipped to the frame"
        );
        let p = prepare(
            &fmt(2, 4, Layout::NHWC, ColorOrder::RGB, ResizeMode::Stretch),
            &rgb,
            4,
            roi,
        );
        assert!(f32s(&p).iter().all(|v| *v == 200.0));
        assert_eq!(
            p.geometry.to_frame(0.0, 0.0, 1.0, 2.0),
            (2.0, 0.0, 3.0, 2.0)
        );
    }

    #[test]
    fn shrinking_averages_like_an_area_filter() {
        // Alternating 0/255 columns shrunk 4x: every output ~127.5, no aliasing.
        let w = 64;
        let rgb: Vec<u8> = (0..w * 3)
            .map(|i| if (i / 3) % 2 == 0 { 0 } else { 255 })
            .collect();
        let p = prepare(
            &fmt(16, 1, Layout::NHWC, ColorOrder::RGB, ResizeMode::Stretch),
            &rgb,
            w as u32,
            full(w as u32, 1),
        );
        for v in &f32s(&p)[3..45] {
            assert!((v - 127.5).abs() < 20.0, "{v}");
        }
    }

    #[test]
    fn uint8_input_rounds() {
        let rgb = [0u8, 100, 255, 50, 60, 70];
        let mut f = fmt(2, 1, Layout::NHWC, ColorOrder::RGB, ResizeMode::Stretch);
        f.dtype = InputType::Uint8;
        let p = prepare(&f, &rgb, 2, full(2, 1));
        assert_eq!(p.data, TensorData::U8(rgb.to_vec()));
    }

    #[test]
    fn bad_frames_and_rois_are_errors() {
        assert!(matches!(
            frame_region(&[0; 5], 1, 2, None),
            Err(DetectorError::BadFrame {
                got: 5,
                expected: 6,
                ..
            })
        ));
        assert!(matches!(
            frame_region(
                &[0; 12],
                2,
                2,
                Some(Rect {
                    x: 2,
                    y: 0,
                    w: 1,
                    h: 1
                })
            ),
            Err(DetectorError::EmptyRoi { .. })
        ));
    }
}
