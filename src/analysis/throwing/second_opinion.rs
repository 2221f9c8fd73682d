//! The second opinion on a throwing candidate: a [`CropScorer`] (the
//! shipped one, [`ClassifierBirds`], over the ONNX crop classifier) gives
//! the probability that a crop around the object shows a bird, and
//! [`SecondOpinion`] says whether that vetoes the alert or is only
//! reported in its `details`.

use crate::alert::snapshot;
use crate::analysis::detector::DetectorError;
use crate::ingest::Frame;
use image::RgbImage;
use std::sync::Arc;

/// A second opinion on a candidate: the probability that a crop around the
/// object shows a bird. Implemented over the ONNX crop classifier or COCO
/// detector; a trait so tests can script it.
pub trait CropScorer: Send + Sync {
    /// Model name reported in `details.second_opinion.model`.
    fn name(&self) -> &str;
    /// Probability (0..=1) that `crop` shows a bird.
    fn bird_probability(&self, crop: &RgbImage) -> Result<f32, ScorerError>;
}

/// Why a [`CropScorer`] gave no probability.
#[derive(Debug, thiserror::Error)]
pub enum ScorerError {
    #[error(transparent)]
    Model(#[from] DetectorError),
    #[error("{model} has no `{group}` class group")]
    NoGroup {
        model: &'static str,
        group: &'static str,
    },
}

/// The shipped crop classifier used for `second_opinion`.
pub const BIRD_CLASSIFIER: &str = "efficientnet-lite0";

/// [`CropScorer`] over a crop classifier with a `bird` class group.
pub struct ClassifierBirds(pub crate::analysis::detector::Classifier);

impl CropScorer for ClassifierBirds {
    fn name(&self) -> &str {
        BIRD_CLASSIFIER
    }

    fn bird_probability(&self, crop: &RgbImage) -> Result<f32, ScorerError> {
        let c = self
            .0
            .classify(crop.as_raw(), crop.width(), crop.height(), None)?;
        c.group("bird").ok_or(ScorerError::NoGroup {
            model: BIRD_CLASSIFIER,
            group: "bird",
        })
    }
}

/// A scorer and the probability at which it vetoes a track (`None`: only
/// report the score in `details`).
#[derive(Clone)]
pub struct SecondOpinion {
    pub scorer: Arc<dyn CropScorer>,
    pub veto_at: Option<f32>,
}

/// A square crop of `side` pixels centred on (x, y), clamped to the frame.
pub(super) fn crop_around(frame: &Frame, x: f32, y: f32, side: f32) -> Option<RgbImage> {
    let img = snapshot::to_image(&frame.rgb, frame.width, frame.height).ok()?;
    let s = (side.round() as u32)
        .min(frame.width)
        .min(frame.height)
        .max(1);
    let x0 = ((x - s as f32 / 2.0).max(0.0) as u32).min(frame.width - s);
    let y0 = ((y - s as f32 / 2.0).max(0.0) as u32).min(frame.height - s);
    Some(image::imageops::crop_imm(&img, x0, y0, s, s).to_image())
}
