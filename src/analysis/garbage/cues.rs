//! Cues for the garbage analyzer about people and what an object is.
//!
//! Model cues from the shipped models: people and bicycles from the COCO
//! detector (`nanodet-g-coco`), and the `bag_like` group score of the
//! ImageNet crop classifier (`efficientnet-lite0`). Also the analyzer's use of
//! cues: the person seen at the spot just before an object was left (the
//! moving blob, or the detector's person in the keyframe), and the calls to
//! the detector and classifier when a track is about to be confirmed.

use super::error::CueError;
use super::{CueLabel, CueObject, Cues, PixelBox};
use crate::analysis::detector::{Classifier, Detector, Models, Rect};
use crate::ingest::Frame;

use super::blobs::CellBox;
use super::tracking::Track;
use super::GarbageAnalyzer;

/// The COCO detector the analyzer asks for people and bicycles.
pub const DETECTOR: &str = "nanodet-g-coco";
/// The crop classifier the analyzer asks for `bag_like`.
pub const CLASSIFIER: &str = "efficientnet-lite0";
/// Lowest detector score taken as a person or bicycle.
const MIN_SCORE: f32 = 0.35;

/// [`Cues`] backed by the shipped ONNX models.
pub struct ModelCues {
    detector: Detector,
    classifier: Option<Classifier>,
}

impl ModelCues {
    pub fn new(detector: Detector, classifier: Option<Classifier>) -> ModelCues {
        ModelCues {
            detector,
            classifier,
        }
    }

    /// The cues from loaded models: `None` (with the reason) when the
    /// detector is not loaded. The classifier is optional.
    pub fn from_models(models: &Models) -> Result<ModelCues, CueError> {
        let detector = models.get_detector(DETECTOR)?;
        let classifier = models.get_classifier(CLASSIFIER).ok();
        Ok(ModelCues::new(detector, classifier))
    }
}

impl Cues for ModelCues {
    fn objects(&mut self, frame: &Frame) -> Result<Vec<CueObject>, CueError> {
        let found = self
            .detector
            .detect(&frame.rgb, frame.width, frame.height, None)?;
        Ok(found
            .into_iter()
            .filter(|d| d.score >= MIN_SCORE)
            .filter_map(|d| {
                let label = match d.class.as_str() {
                    "person" => CueLabel::Person,
                    "bicycle" | "motorcycle" => CueLabel::Bicycle,
                    _ => return None,
                };
                Some(CueObject {
                    label,
                    score: d.score,
                    rect: PixelBox {
                        x0: d.x1,
                        y0: d.y1,
                        x1: d.x2,
                        y1: d.y2,
                    },
                })
            })
            .collect())
    }

    fn bag_like(&mut self, frame: &Frame, region: PixelBox) -> Result<f32, CueError> {
        let Some(classifier) = &self.classifier else {
            return Err(CueError::NotLoaded { model: CLASSIFIER });
        };
        let rect = square_crop(region, frame.width, frame.height);
        let c = classifier.classify(&frame.rgb, frame.width, frame.height, Some(rect))?;
        c.group("bag_like").ok_or(CueError::NoGroup {
            model: CLASSIFIER,
            group: "bag_like",
        })
    }
}

/// A square around the object with some ground for context (1.4× its larger
/// side, at least 32 px), inside the frame.
fn square_crop(b: PixelBox, width: u32, height: u32) -> Rect {
    let side = ((b.x1 - b.x0).max(b.y1 - b.y0) * 1.4)
        .max(32.0)
        .min(width.min(height) as f32);
    let (cx, cy) = ((b.x0 + b.x1) / 2.0, (b.y0 + b.y1) / 2.0);
    let x = (cx - side / 2.0).clamp(0.0, width as f32 - side);
    let y = (cy - side / 2.0).clamp(0.0, height as f32 - side);
    Rect {
        x: x as u32,
        y: y as u32,
        w: side as u32,
        h: side as u32,
    }
}

/// The person seen at the spot just before the object was left.
#[derive(Debug, Clone, Copy)]
pub(super) struct PersonSighting {
    pub(super) rect: PixelBox,
    pub(super) at: f64,
    /// `motion` (the moving blob) or `detector` (COCO person).
    pub(super) source: &'static str,
}

pub(super) enum CueVerdict {
    Person,
    Bicycle,
    Clear,
}

impl GarbageAnalyzer {
    /// The last moving blob near `bbox` from before `left_at`: whoever put it there.
    pub(super) fn person_from_motion(
        &self,
        bbox: &CellBox,
        left_at: f64,
    ) -> Option<PersonSighting> {
        let grid = self.grid();
        let near = bbox.grow(bbox.width().max(bbox.height()) + 2, &grid);
        for (t, boxes) in self.motion.iter().rev() {
            if *t > left_at + 0.5 {
                continue;
            }
            let best = boxes
                .iter()
                .filter(|b| b.intersection(&near) > 0 && b.area() >= bbox.area() / 2)
                .max_by_key(|b| b.area());
            if let Some(b) = best {
                return Some(PersonSighting {
                    rect: self.pixel_box(b),
                    at: *t,
                    source: "motion",
                });
            }
        }
        None
    }

    pub(super) fn check_cues(
        &mut self,
        tr: &mut Track,
        rect: PixelBox,
        frame: &Frame,
    ) -> CueVerdict {
        let Some(cues) = self.cues.as_mut() else {
            return CueVerdict::Clear;
        };
        match cues.objects(frame) {
            Ok(found) => {
                for o in &found {
                    let share = o.rect.intersection(&rect) / rect.area().max(1.0);
                    match o.label {
                        CueLabel::Person if share >= 0.3 => return CueVerdict::Person,
                        CueLabel::Bicycle if share >= 0.5 => return CueVerdict::Bicycle,
                        _ => {}
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "garbage: person detector failed; using motion cues only")
            }
        }
        if tr.bag_like.is_none() {
            match cues.bag_like(frame, rect) {
                Ok(b) => tr.bag_like = Some(b),
                Err(e) => tracing::warn!(error = %e, "garbage: bag classifier failed"),
            }
        }
        // Find who left it in the keyframe, if the detector sees a person there.
        if let Some((kt, rgb)) = &tr.keyframe {
            let key = Frame {
                rgb: rgb.clone(),
                pts: Some(std::time::Duration::from_secs_f64(kt.max(0.0))),
                ..frame.clone()
            };
            if let Ok(found) = cues.objects(&key) {
                let cx = (rect.x0 + rect.x1) / 2.0;
                let best = found
                    .iter()
                    .filter(|o| o.label == CueLabel::Person)
                    .min_by(|a, b| {
                        let da = ((a.rect.x0 + a.rect.x1) / 2.0 - cx).abs();
                        let db = ((b.rect.x0 + b.rect.x1) / 2.0 - cx).abs();
                        da.total_cmp(&db)
                    });
                if let Some(p) = best {
                    tr.person = Some(PersonSighting {
                        rect: p.rect,
                        at: *kt,
                        source: "detector",
                    });
                }
            }
        }
        CueVerdict::Clear
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_is_square_with_context_and_stays_inside() {
        let r = square_crop(
            PixelBox {
                x0: 630.0,
                y0: 10.0,
                x1: 640.0,
                y1: 30.0,
            },
            640,
            360,
        );
        assert_eq!((r.w, r.h), (32, 32));
        assert_eq!((r.x, r.y), (608, 4));
    }
}
