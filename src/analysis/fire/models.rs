//! The fire analyzer's optional ONNX helpers, and building an analyzer with
//! the models its config asks for:
//!
//! - [`ClassifierVerifier`]: the shipped crop classifier's `flame_like` group
//!   (EfficientNet-Lite0) as the [`FlameVerifier`] second opinion;
//! - [`OnnxFireDetector`]: an integrator's YOLO-layout fire/smoke detector as
//!   the [`FireDetector`], its classes mapped to `fire` / `smoke` by its
//!   manifest's `[incidents]` table (or the camera config's overrides);
//! - [`CocoPeople`]: the shipped COCO detector's people and vehicles as the
//!   [`PeopleFinder`] the smoke test leaves out.

use super::config::FireConfig;
use super::{DetectedBox, FireAnalyzer, FireDetector, FireError, FlameVerifier, PeopleFinder};
use crate::alert::{AlertKind, BBox};
use crate::analysis::detector::{Classifier, Detector, Models};
use crate::ingest::Frame;

/// The shipped crop classifier asked when `classifier = true`.
pub const CLASSIFIER_MODEL: &str = "efficientnet-lite0";
/// The classifier's class group that scores flames.
pub const FLAME_GROUP: &str = "flame_like";

/// The crop classifier's `flame_like` group as a second opinion.
pub struct ClassifierVerifier {
    classifier: Classifier,
}

impl ClassifierVerifier {
    /// Fails when the classifier has no `flame_like` group.
    pub fn new(classifier: Classifier) -> Result<ClassifierVerifier, FireError> {
        if !classifier.group_names().any(|g| g == FLAME_GROUP) {
            return Err(FireError::Model(format!(
                "classifier {} has no `{FLAME_GROUP}` group in its model.toml",
                classifier.name()
            )));
        }
        Ok(ClassifierVerifier { classifier })
    }
}

impl FlameVerifier for ClassifierVerifier {
    fn flame_like(&mut self, crop: &image::RgbImage) -> Result<f32, FireError> {
        let c = self
            .classifier
            .classify(crop.as_raw(), crop.width(), crop.height(), None)
            .map_err(|e| FireError::Model(e.to_string()))?;
        Ok(c.group(FLAME_GROUP).unwrap_or(0.0))
    }
}

/// The shipped COCO detector asked where people and vehicles are.
pub const PEOPLE_MODEL: &str = "nanodet-g-coco";
/// COCO classes whose cells are not smoke.
pub const PEOPLE_CLASSES: [&str; 4] = ["person", "car", "bus", "truck"];
/// Lowest detector score taken as a person or vehicle.
pub const PEOPLE_MIN_SCORE: f32 = 0.35;

/// The COCO detector's people and vehicles ([`PEOPLE_CLASSES`], score at
/// least [`PEOPLE_MIN_SCORE`]).
pub struct CocoPeople {
    detector: Detector,
}

impl CocoPeople {
    pub fn new(detector: Detector) -> CocoPeople {
        CocoPeople { detector }
    }
}

impl PeopleFinder for CocoPeople {
    fn people_and_vehicles(&self, frame: &Frame) -> Result<Vec<BBox>, FireError> {
        let found = self
            .detector
            .detect(&frame.rgb, frame.width, frame.height, None)
            .map_err(|e| FireError::Model(e.to_string()))?;
        Ok(found
            .into_iter()
            .filter(|d| d.score >= PEOPLE_MIN_SCORE && PEOPLE_CLASSES.contains(&d.class.as_str()))
            .map(|d| d.bbox(frame.width, frame.height))
            .collect())
    }
}

/// An integrator's whole-frame detector; boxes of other classes are dropped.
pub struct OnnxFireDetector {
    detector: Detector,
    fire_classes: Vec<String>,
    smoke_classes: Vec<String>,
}

impl OnnxFireDetector {
    /// The detector with its classes taken from its manifest's `[incidents]`
    /// table, or from the camera config's overrides where those are set.
    ///
    /// Fails when a class name is not one of the model's, or when neither the
    /// manifest nor the config maps any class to fire or smoke.
    pub fn new(
        detector: Detector,
        fire_classes: Option<&[String]>,
        smoke_classes: Option<&[String]>,
    ) -> Result<OnnxFireDetector, FireError> {
        let mapped = detector.incident_classes();
        let fire = fire_classes.unwrap_or(&mapped.fire).to_vec();
        let smoke = smoke_classes.unwrap_or(&mapped.smoke).to_vec();
        let known = detector.classes();
        for (field, names) in [("fire_classes", &fire), ("smoke_classes", &smoke)] {
            if let Some(bad) = names.iter().find(|c| !known.contains(c)) {
                return Err(FireError::Model(format!(
                    "detector.{field}: detector {} has no class {bad:?} (its classes: {known:?})",
                    detector.name(),
                )));
            }
        }
        if fire.is_empty() && smoke.is_empty() {
            return Err(FireError::Model(format!(
                "detector {}: no class means fire or smoke; map them in its model.toml \
                 (`[incidents] fire = [..], smoke = [..]`) or set detector.fire_classes / \
                 detector.smoke_classes in the camera's fire section",
                detector.name()
            )));
        }
        Ok(OnnxFireDetector {
            detector,
            fire_classes: fire,
            smoke_classes: smoke,
        })
    }
}

impl FireDetector for OnnxFireDetector {
    fn detect(&mut self, frame: &Frame) -> Result<Vec<DetectedBox>, FireError> {
        let found = self
            .detector
            .detect(&frame.rgb, frame.width, frame.height, None)
            .map_err(|e| FireError::Model(e.to_string()))?;
        Ok(found
            .into_iter()
            .filter_map(|d| {
                let kind = if self.fire_classes.contains(&d.class) {
                    AlertKind::Fire
                } else if self.smoke_classes.contains(&d.class) {
                    AlertKind::Smoke
                } else {
                    return None;
                };
                Some(DetectedBox {
                    kind,
                    bbox: d.bbox(frame.width, frame.height),
                    score: d.score,
                })
            })
            .collect())
    }
}

/// A fire analyzer with the classifier and detector its config asks for
/// (loaded from `runtime.models_dir`); with neither, ONNX Runtime is not
/// loaded for them. `shared` are the models loaded at start for every
/// camera: with `person_detector` (and smoke) on, their COCO detector finds
/// people and vehicles for the smoke test on the shared inference worker;
/// without it the smoke test runs on motion cues alone (logged).
pub fn build(
    cfg: &FireConfig,
    fps: u32,
    camera: &str,
    shared: Option<&Models>,
) -> Result<FireAnalyzer, FireError> {
    let mut analyzer = FireAnalyzer::new(cfg, fps);
    if cfg.smoke && cfg.person_detector {
        match shared.map(|m| (m, m.get_detector(PEOPLE_MODEL))) {
            Some((m, Ok(d))) => {
                analyzer = analyzer.with_people(
                    std::sync::Arc::new(CocoPeople::new(d)),
                    m.inference(),
                    camera,
                )
            }
            Some((_, Err(e))) => tracing::warn!(camera, error = %e,
                "fire: people detector unavailable; smoke uses motion cues only"),
            None => tracing::info!(
                camera,
                "fire: no models loaded; smoke uses motion cues only"
            ),
        }
    }
    let mut names = Vec::new();
    if cfg.classifier {
        names.push(CLASSIFIER_MODEL);
    }
    if let Some(d) = &cfg.detector {
        names.push(d.model.as_str());
    }
    if names.is_empty() {
        return Ok(analyzer);
    }
    let models = Models::load(&cfg.runtime, &names).map_err(|e| FireError::Model(e.to_string()))?;
    if cfg.classifier {
        let c = models
            .get_classifier(CLASSIFIER_MODEL)
            .map_err(|e| FireError::Model(e.to_string()))?;
        analyzer = analyzer.with_verifier(
            Box::new(ClassifierVerifier::new(c)?),
            cfg.classifier_min_score,
        );
    }
    if let Some(d) = &cfg.detector {
        let det = models
            .get_detector(&d.model)
            .map_err(|e| FireError::Model(e.to_string()))?;
        analyzer = analyzer.with_detector(
            Box::new(OnnxFireDetector::new(
                det,
                d.fire_classes.as_deref(),
                d.smoke_classes.as_deref(),
            )?),
            d.fusion,
            d.min_score,
            d.every_n_frames,
        );
    }
    Ok(analyzer)
}
