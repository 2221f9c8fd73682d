//! Model cues for the garbage analyzer from the shipped models: people and
//! bicycles from the COCO detector (`nanodet-g-coco`), and the `bag_like`
//! group score of the ImageNet crop classifier (`efficientnet-lite0`).

use super::error::CueError;
use super::{CueLabel, CueObject, Cues, PixelBox};
use crate::analysis::detector::{Classifier, Detector, Models, Rect};
use crate::ingest::Frame;

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
