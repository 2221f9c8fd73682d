//! Cues for the garbage analyzer about people and what an object is.
//!
//! Model cues from the shipped models: people and bicycles from the COCO
//! detector (`nanodet-g-coco`), and the `bag_like` group score of the
//! ImageNet crop classifier (`efficientnet-lite0`). Also the analyzer's use of
//! cues: the person seen at the spot just before an object was left (the
//! moving blob, or the detector's person in the keyframe), and the questions
//! to the detector and classifier when a track is about to be confirmed.
//!
//! Those questions never run on the camera's analysis thread: the analyzer
//! [asks](GarbageAnalyzer::ask_cues) the shared inference worker
//! ([`crate::analysis::detector::worker`]) with the frame, the object's box
//! and the track's keyframe, keeps judging the following frames, and applies
//! the [`CueOutcome`] to the track it was asked for when it arrives (polled at
//! the start of every frame, [`GarbageAnalyzer::take_cue_answers`]).

use super::error::CueError;
use super::{CueLabel, CueObject, Cues, PixelBox};
use crate::analysis::detector::worker::{Answer, InferenceClient};
use crate::analysis::detector::{Classifier, Detector, Models, Rect};
use crate::ingest::Frame;
use std::sync::Arc;

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
    fn objects(&self, frame: &Frame) -> Result<Vec<CueObject>, CueError> {
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

    fn bag_like(&self, frame: &Frame, region: PixelBox) -> Result<f32, CueError> {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CueVerdict {
    Person,
    Bicycle,
    Clear,
}

/// The models' answer about one track, computed on the inference worker.
#[derive(Debug, Clone)]
pub(super) struct CueOutcome {
    pub(super) verdict: CueVerdict,
    /// The classifier's `bag_like` score, when it was asked for and answered.
    pub(super) bag_like: Option<f32>,
    /// The person the detector saw in the track's keyframe.
    pub(super) person: Option<PersonSighting>,
}

/// The analyzer's line to its cue models: the models and its client of the
/// shared inference worker.
pub(super) struct CueLine {
    pub(super) cues: Arc<dyn Cues>,
    pub(super) client: InferenceClient<CueOutcome>,
}

/// Asks the models about the object at `rect` in `frame` (the work of one
/// cue question, run on the inference worker): a person or bicycle on it
/// stops there; otherwise its `bag_like` score (when `want_bag`) and who is
/// in the keyframe from before it was left.
fn consult(
    cues: &dyn Cues,
    frame: &Frame,
    rect: PixelBox,
    keyframe: Option<(f64, Arc<Vec<u8>>)>,
    want_bag: bool,
) -> CueOutcome {
    let mut out = CueOutcome {
        verdict: CueVerdict::Clear,
        bag_like: None,
        person: None,
    };
    match cues.objects(frame) {
        Ok(found) => {
            for o in &found {
                let share = o.rect.intersection(&rect) / rect.area().max(1.0);
                match o.label {
                    CueLabel::Person if share >= 0.3 => {
                        out.verdict = CueVerdict::Person;
                        return out;
                    }
                    CueLabel::Bicycle if share >= 0.5 => {
                        out.verdict = CueVerdict::Bicycle;
                        return out;
                    }
                    _ => {}
                }
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "garbage: person detector failed; using motion cues only")
        }
    }
    if want_bag {
        match cues.bag_like(frame, rect) {
            Ok(b) => out.bag_like = Some(b),
            Err(e) => tracing::warn!(error = %e, "garbage: bag classifier failed"),
        }
    }
    // Find who left it in the keyframe, if the detector sees a person there.
    if let Some((kt, rgb)) = keyframe {
        let key = Frame {
            rgb,
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
                out.person = Some(PersonSighting {
                    rect: p.rect,
                    at: kt,
                    source: "detector",
                });
            }
        }
    }
    out
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

    /// Puts the cue question about `tr` (object at `rect` in `frame`) to the
    /// inference worker; the answer comes on a later frame. Returns at once.
    pub(super) fn ask_cues(&mut self, tr: &mut Track, rect: PixelBox, frame: &Frame) {
        let Some(line) = self.cues.as_mut() else {
            return;
        };
        let cues = line.cues.clone();
        let frame = frame.clone();
        let keyframe = tr.keyframe.clone();
        let want_bag = tr.bag_like.is_none();
        tr.cue_asked = true;
        line.client.submit(tr.id, move || {
            consult(cues.as_ref(), &frame, rect, keyframe, want_bag)
        });
    }

    /// Hands the answers that arrived since the last frame to the tracks
    /// they were asked for (an answer for a track gone since is dropped).
    /// A question dropped from a full queue is asked again on the next frame
    /// its track is judged.
    pub(super) fn take_cue_answers(&mut self) {
        let Some(line) = self.cues.as_mut() else {
            return;
        };
        for (id, answer) in line.client.poll() {
            let Some(tr) = self.tracks.iter_mut().find(|tr| tr.id == id) else {
                continue;
            };
            tr.cue_asked = false;
            match answer {
                Answer::Done(outcome) => tr.cue_answer = Some(outcome),
                Answer::Dropped => tr.next_cue = f64::NEG_INFINITY,
            }
        }
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
