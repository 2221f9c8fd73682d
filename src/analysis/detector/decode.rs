//! Output decoding: raw output tensors of each supported detector format
//! turned into scored boxes, and class-aware non-maximum suppression.
//!
//! Decoders work in model-input pixels; [`super::preprocess::Geometry`]
//! maps the result back to the frame. Each anchor/cell yields at most one
//! candidate: the highest-scoring class among those that reach their own
//! threshold (ties go to the lower class index).

/// Why raw outputs do not fit the model's output format.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    #[error("missing output #{index} ({given} given)")]
    MissingOutput { index: usize, given: usize },
    #[error("output of shape {shape:?} cannot hold rows of {width} values")]
    Rows { shape: Vec<usize>, width: usize },
    #[error("head {head}: {scores} score rows but {dists} distribution rows")]
    HeadRows {
        head: usize,
        scores: usize,
        dists: usize,
    },
    #[error("{boxes} boxes but {scores} scores and {classes} classes")]
    Counts {
        boxes: usize,
        scores: usize,
        classes: usize,
    },
}

/// A decoded output tensor: its shape and its values as f32.
#[derive(Debug, Clone, PartialEq)]
pub struct RawTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// A box before NMS, in model-input pixels (or frame pixels after mapping).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub class_id: usize,
    pub score: f32,
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
}

impl Candidate {
    /// Width × height; 0 for degenerate boxes.
    pub fn area(&self) -> f32 {
        (self.x2 - self.x1).max(0.0) * (self.y2 - self.y1).max(0.0)
    }
}

/// Intersection over union of two boxes; 0 when the union is empty.
pub fn iou(a: &Candidate, b: &Candidate) -> f32 {
    let iw = (a.x2.min(b.x2) - a.x1.max(b.x1)).max(0.0);
    let ih = (a.y2.min(b.y2) - a.y1.max(b.y1)).max(0.0);
    let inter = iw * ih;
    let union = a.area() + b.area() - inter;
    if union > 0.0 {
        inter / union
    } else {
        0.0
    }
}

/// Class-aware greedy NMS: boxes are taken by descending score (equal scores
/// keep their input order) and a box is dropped when it overlaps an already
/// kept box of the same class with IoU > `iou_threshold`. Boxes of different
/// classes never suppress each other. Returns at most `max` boxes, best first.
pub fn nms(mut cands: Vec<Candidate>, iou_threshold: f32, max: usize) -> Vec<Candidate> {
    // Stable sort: equal scores stay in input order.
    cands.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Candidate> = Vec::new();
    for c in cands {
        if kept.len() >= max {
            break;
        }
        if kept
            .iter()
            .any(|k| k.class_id == c.class_id && iou(k, &c) > iou_threshold)
        {
            continue;
        }
        kept.push(c);
    }
    kept
}

/// A detector output layout, resolved against the model's real shapes.
#[derive(Debug, Clone, PartialEq)]
pub enum Format {
    /// One output `[1, N, 5 + nc]`.
    Yolov5 { nc: usize },
    /// One output `[1, 4 + nc, N]`, or `[1, N, 4 + nc]` when `transposed`.
    Yolov8 { nc: usize, transposed: bool },
    /// Outputs scores, boxes for each head in order.
    Nanodet {
        nc: usize,
        bins: usize,
        /// (stride, cells per row) for each head.
        heads: Vec<(u32, usize)>,
    },
    /// Outputs boxes, scores, classes and optionally num.
    TfOd { nc: usize, class_offset: i64 },
}

/// Decodes raw outputs (in the order the [`Format`] lists them) into
/// candidates in model-input pixels. `thresholds[c]` is class c's minimum
/// score; `input` is the model's input width and height. Errors describe a
/// tensor whose size does not fit the format.
pub fn decode(
    format: &Format,
    outputs: &[RawTensor],
    thresholds: &[f32],
    input: (u32, u32),
) -> Result<Vec<Candidate>, DecodeError> {
    let min_thr = thresholds.iter().copied().fold(f32::INFINITY, f32::min);
    match format {
        Format::Yolov5 { nc } => {
            let t = one(outputs, 0)?;
            let stride = 5 + nc;
            rows_of(t, stride)?;
            let mut out = Vec::new();
            for r in t.data.chunks_exact(stride) {
                let obj = r[4];
                if obj < min_thr {
                    continue;
                }
                if let Some((c, s)) = best_class(r[5..].iter().map(|s| s * obj), thresholds) {
                    out.push(from_centre(c, s, r[0], r[1], r[2], r[3]));
                }
            }
            Ok(out)
        }
        Format::Yolov8 { nc, transposed } => {
            let t = one(outputs, 0)?;
            let n = rows_of(t, 4 + nc)?;
            let mut out = Vec::new();
            if *transposed {
                for r in t.data.chunks_exact(4 + nc) {
                    if let Some((c, s)) = best_class(r[4..].iter().copied(), thresholds) {
                        out.push(from_centre(c, s, r[0], r[1], r[2], r[3]));
                    }
                }
            } else {
                // Channel-first: walk class rows (contiguous) keeping each anchor's best.
                let d = &t.data;
                let mut best = vec![(usize::MAX, f32::NEG_INFINITY); n];
                for (c, &thr) in thresholds.iter().enumerate().take(*nc) {
                    let row = &d[(4 + c) * n..(5 + c) * n];
                    for (b, &s) in best.iter_mut().zip(row) {
                        if s >= thr && s > b.1 {
                            *b = (c, s);
                        }
                    }
                }
                for (i, &(c, s)) in best.iter().enumerate() {
                    if c != usize::MAX {
                        out.push(from_centre(
                            c,
                            s,
                            d[i],
                            d[n + i],
                            d[2 * n + i],
                            d[3 * n + i],
                        ));
                    }
                }
            }
            Ok(out)
        }
        Format::Nanodet { nc, bins, heads } => {
            let mut out = Vec::new();
            let mut probs = vec![0.0f32; *bins];
            for (h, &(stride, grid_w)) in heads.iter().enumerate() {
                let scores = one(outputs, 2 * h)?;
                let dist = one(outputs, 2 * h + 1)?;
                let cells = rows_of(scores, *nc)?;
                let dcells = rows_of(dist, 4 * bins)?;
                if dcells != cells {
                    return Err(DecodeError::HeadRows {
                        head: h,
                        scores: cells,
                        dists: dcells,
                    });
                }
                let s = stride as f32;
                for (i, (sc, di)) in scores
                    .data
                    .chunks_exact(*nc)
                    .zip(dist.data.chunks_exact(4 * bins))
                    .enumerate()
                {
                    let Some((c, score)) = best_class(sc.iter().copied(), thresholds) else {
                        continue;
                    };
                    let cx = ((i % grid_w) as f32 + 0.5) * s;
                    let cy = ((i / grid_w) as f32 + 0.5) * s;
                    let mut side = [0.0f32; 4];
                    for (k, logits) in di.chunks_exact(*bins).enumerate() {
                        side[k] = expectation(logits, &mut probs) * s;
                    }
                    out.push(Candidate {
                        class_id: c,
                        score,
                        x1: cx - side[0],
                        y1: cy - side[1],
                        x2: cx + side[2],
                        y2: cy + side[3],
                    });
                }
            }
            Ok(out)
        }
        Format::TfOd { nc, class_offset } => {
            let boxes = one(outputs, 0)?;
            let scores = one(outputs, 1)?;
            let classes = one(outputs, 2)?;
            let n = rows_of(boxes, 4)?;
            if scores.data.len() != n || classes.data.len() != n {
                return Err(DecodeError::Counts {
                    boxes: n,
                    scores: scores.data.len(),
                    classes: classes.data.len(),
                });
            }
            let valid = match outputs.get(3) {
                Some(num) => {
                    let v = num.data.first().copied().unwrap_or(0.0);
                    (v.max(0.0) as usize).min(n)
                }
                None => n,
            };
            let (w, h) = (input.0 as f32, input.1 as f32);
            let mut out = Vec::new();
            for i in 0..valid {
                let id = classes.data[i].round() as i64 - class_offset;
                if id < 0 || id as usize >= *nc {
                    continue; // a class the label file does not name
                }
                let (c, score) = (id as usize, scores.data[i]);
                if score < thresholds[c] {
                    continue;
                }
                let b = &boxes.data[i * 4..i * 4 + 4];
                out.push(Candidate {
                    class_id: c,
                    score,
                    x1: b[1] * w,
                    y1: b[0] * h,
                    x2: b[3] * w,
                    y2: b[2] * h,
                });
            }
            Ok(out)
        }
    }
}

fn one(outputs: &[RawTensor], i: usize) -> Result<&RawTensor, DecodeError> {
    outputs.get(i).ok_or(DecodeError::MissingOutput {
        index: i,
        given: outputs.len(),
    })
}

/// Number of rows of `width` values; errors when the size does not divide.
fn rows_of(t: &RawTensor, width: usize) -> Result<usize, DecodeError> {
    if width == 0 || t.data.len() % width != 0 {
        return Err(DecodeError::Rows {
            shape: t.shape.clone(),
            width,
        });
    }
    Ok(t.data.len() / width)
}

/// Highest score that reaches its class's threshold.
fn best_class(scores: impl Iterator<Item = f32>, thresholds: &[f32]) -> Option<(usize, f32)> {
    let mut best: Option<(usize, f32)> = None;
    for ((c, s), &thr) in scores.enumerate().zip(thresholds) {
        if s >= thr && best.is_none_or(|(_, b)| s > b) {
            best = Some((c, s));
        }
    }
    best
}

fn from_centre(class_id: usize, score: f32, cx: f32, cy: f32, w: f32, h: f32) -> Candidate {
    Candidate {
        class_id,
        score,
        x1: cx - w / 2.0,
        y1: cy - h / 2.0,
        x2: cx + w / 2.0,
        y2: cy + h / 2.0,
    }
}

/// Softmax over `logits` and its expectation Σ p_k·k.
fn expectation(logits: &[f32], probs: &mut [f32]) -> f32 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for (p, &l) in probs.iter_mut().zip(logits) {
        *p = (l - max).exp();
        sum += *p;
    }
    let mut e = 0.0;
    for (k, p) in probs.iter().enumerate() {
        e += p * k as f32;
    }
    e / sum
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(class_id: usize, score: f32, x1: f32, y1: f32, x2: f32, y2: f32) -> Candidate {
        Candidate {
            class_id,
            score,
            x1,
            y1,
            x2,
            y2,
        }
    }

    #[test]
    fn iou_of_known_boxes_and_degenerate_ones() {
        let a = c(0, 1.0, 0.0, 0.0, 2.0, 2.0);
        let b = c(0, 1.0, 1.0, 0.0, 3.0, 2.0);
        assert!((iou(&a, &b) - 1.0 / 3.0).abs() < 1e-6);
        let zero = c(0, 1.0, 1.0, 1.0, 1.0, 1.0);
        assert_eq!(iou(&zero, &zero), 0.0, "no NaN for empty boxes");
        assert_eq!(iou(&a, &zero), 0.0);
    }

    #[test]
    fn nms_is_class_aware_and_keeps_first_of_equal_scores() {
        let boxes = vec![
            c(0, 0.5, 0.0, 0.0, 10.0, 10.0),
            c(1, 0.9, 0.0, 0.0, 10.0, 10.0), // other class, same box: survives
            c(0, 0.5, 1.0, 0.0, 11.0, 10.0), // equal score, IoU 0.82 with the first: dropped
            c(0, 0.8, 50.0, 50.0, 60.0, 60.0),
        ];
        let kept = nms(boxes, 0.5, 100);
        assert_eq!(
            kept,
            vec![
                c(1, 0.9, 0.0, 0.0, 10.0, 10.0),
                c(0, 0.8, 50.0, 50.0, 60.0, 60.0),
                c(0, 0.5, 0.0, 0.0, 10.0, 10.0),
            ]
        );
        assert_eq!(nms(kept, 0.5, 2).len(), 2, "max caps the result");
    }

    #[test]
    fn nms_threshold_is_strict() {
        // IoU exactly 0.5: kept at threshold 0.5, dropped below it.
        let a = c(0, 0.9, 0.0, 0.0, 3.0, 1.0);
        let b = c(0, 0.8, 1.0, 0.0, 4.0, 1.0);
        assert!((iou(&a, &b) - 0.5).abs() < 1e-6);
        assert_eq!(nms(vec![a, b], 0.5, 10).len(), 2);
        assert_eq!(nms(vec![a, b], 0.49, 10).len(), 1);
    }

    #[test]
    fn yolov8_layouts_agree() {
        // Two anchors, two classes: anchor 0 = (10,10,4,4) class 1 0.9; anchor 1 below threshold.
        let rows = [
            [10.0, 10.0, 4.0, 4.0, 0.1, 0.9],
            [5.0, 5.0, 2.0, 2.0, 0.2, 0.1],
        ];
        let transposed = RawTensor {
            shape: vec![1, 2, 6],
            data: rows.iter().flatten().copied().collect(),
        };
        let mut cf = vec![0.0; 12];
        for (i, r) in rows.iter().enumerate() {
            for (k, v) in r.iter().enumerate() {
                cf[k * 2 + i] = *v;
            }
        }
        let channel_first = RawTensor {
            shape: vec![1, 6, 2],
            data: cf,
        };
        let want = vec![c(1, 0.9, 8.0, 8.0, 12.0, 12.0)];
        let thr = [0.5, 0.5];
        let a = decode(
            &Format::Yolov8 {
                nc: 2,
                transposed: true,
            },
            &[transposed],
            &thr,
            (20, 20),
        );
        let b = decode(
            &Format::Yolov8 {
                nc: 2,
                transposed: false,
            },
            &[channel_first],
            &thr,
            (20, 20),
        );
        assert_eq!(a.unwrap(), want);
        assert_eq!(b.unwrap(), want);
    }

    #[test]
    fn per_class_threshold_picks_best_passing_class() {
        // Class 0 scores higher but needs 0.95; class 1 passes its 0.3.
        let best = best_class([0.8, 0.4].into_iter(), &[0.95, 0.3]);
        assert_eq!(best, Some((1, 0.4)));
        assert_eq!(
            best_class([0.5, 0.5].into_iter(), &[0.1, 0.1]),
            Some((0, 0.5))
        );
    }

    #[test]
    fn distribution_expectation() {
        let mut p = [0.0; 4];
        assert!((expectation(&[0.0, 0.0, 0.0, 0.0], &mut p) - 1.5).abs() < 1e-6);
        assert!((expectation(&[-50.0, -50.0, 0.0, -50.0], &mut p) - 2.0).abs() < 1e-5);
    }

    #[test]
    fn wrong_sizes_are_errors_not_panics() {
        let t = RawTensor {
            shape: vec![1, 7],
            data: vec![0.0; 7],
        };
        let err = decode(&Format::Yolov5 { nc: 1 }, &[t], &[0.5], (8, 8))
            .unwrap_err()
            .to_string();
        assert!(err.contains("[1, 7]"), "{err}");
        assert!(decode(&Format::Yolov5 { nc: 1 }, &[], &[0.5], (8, 8)).is_err());
    }
}
