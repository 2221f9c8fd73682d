//! Crop classifiers: `[1, C]` logits or probabilities turned into class
//! probabilities, top-k lists and named group scores (the sum of a group's
//! class probabilities, e.g. `flame_like`), for second opinions on a
//! detector's or a motion analyzer's crop.

use super::decode::RawTensor;
use super::runtime::Model;
use super::{preprocess, DetectorError, Rect, Task};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

struct ClassifierInner {
    model: Model,
    softmax: bool,
    classes: Arc<[String]>,
    groups: Arc<BTreeMap<String, Vec<usize>>>,
}

/// A loaded classifier. Cheap to clone; all clones share one session.
#[derive(Clone)]
pub struct Classifier {
    inner: Arc<ClassifierInner>,
}

impl std::fmt::Debug for Classifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Classifier")
            .field("name", &self.inner.model.name)
            .finish()
    }
}

/// One class and its probability.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassScore {
    pub class_id: usize,
    pub class: String,
    pub score: f32,
}

/// The result of one classification.
#[derive(Debug, Clone)]
pub struct Classification {
    probs: Vec<f32>,
    classes: Arc<[String]>,
    groups: Arc<BTreeMap<String, Vec<usize>>>,
}

impl Classifier {
    pub(super) fn from_model(mut model: Model) -> Result<Classifier, DetectorError> {
        let nc = model.classes.len();
        let o = &model.manifest.output;
        if model.manifest.task != Task::Classifier {
            return Err(DetectorError::WrongTask {
                name: model.name.clone(),
                wanted: Task::Classifier,
                actual: model.manifest.task,
            });
        }
        let out = model.output(o.name.as_deref(), "output.name")?;
        model.expect_output(out, "output.name", &[Some(1), Some(nc)], false)?;
        let name = out.name.clone();
        for (group, ids) in &model.manifest.groups {
            if let Some(bad) = ids.iter().find(|&&i| i >= nc) {
                return Err(DetectorError::Manifest {
                    path: model.manifest_path.clone(),
                    message: format!(
                        "groups.{group}: class index {bad} is out of range (the model has {nc} classes, 0..={})",
                        nc - 1
                    ),
                });
            }
        }
        model.run_outputs = vec![name];
        let softmax = o.softmax.unwrap_or(false);
        let classes: Arc<[String]> = model.classes.clone().into();
        let groups = Arc::new(model.manifest.groups.clone());
        Ok(Classifier {
            inner: Arc::new(ClassifierInner {
                model,
                softmax,
                classes,
                groups,
            }),
        })
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.inner.model.name
    }

    /// Class names; index = class id.
    pub fn classes(&self) -> &[String] {
        &self.inner.classes
    }

    /// Names of the manifest's class groups.
    pub fn group_names(&self) -> impl Iterator<Item = &str> {
        self.inner.groups.keys().map(String::as_str)
    }

    /// Classifies a packed RGB frame, or only `roi` of it (clipped to the frame).
    pub fn classify(
        &self,
        rgb: &[u8],
        w: u32,
        h: u32,
        roi: Option<Rect>,
    ) -> Result<Classification, DetectorError> {
        let region = preprocess::frame_region(rgb, w, h, roi)?;
        let prepared = preprocess::prepare(&self.inner.model.input, rgb, w, region);
        let outputs = self.inner.model.run(&prepared.data)?;
        let probs = self.probabilities(&outputs)?;
        Ok(Classification {
            probs,
            classes: self.inner.classes.clone(),
            groups: self.inner.groups.clone(),
        })
    }

    fn probabilities(&self, outputs: &[RawTensor]) -> Result<Vec<f32>, DetectorError> {
        let nc = self.inner.classes.len();
        let values = match outputs.first() {
            Some(t) if t.data.len() == nc => &t.data,
            other => {
                return Err(DetectorError::Output {
                    model: self.name().to_string(),
                    message: format!(
                        "expected {nc} class scores, got shape {:?}",
                        other.map(|t| t.shape.clone())
                    ),
                })
            }
        };
        Ok(if self.inner.softmax {
            softmax(values)
        } else {
            values.clone()
        })
    }
}

/// Numerically stable softmax.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}

impl Classification {
    /// Probability (or raw score, for `softmax = false` models) per class id.
    pub fn probs(&self) -> &[f32] {
        &self.probs
    }

    /// The `k` most likely classes, best first (equal scores: lower id first).
    pub fn top(&self, k: usize) -> Vec<ClassScore> {
        let mut ids: Vec<usize> = (0..self.probs.len()).collect();
        ids.sort_by(|&a, &b| self.probs[b].total_cmp(&self.probs[a]));
        ids.into_iter()
            .take(k)
            .map(|i| ClassScore {
                class_id: i,
                class: self.classes[i].clone(),
                score: self.probs[i],
            })
            .collect()
    }

    /// A named group's score: the sum of its classes' probabilities.
    /// `None` when the manifest has no such group.
    pub fn group(&self, name: &str) -> Option<f32> {
        self.groups
            .get(name)
            .map(|ids| ids.iter().map(|&i| self.probs[i]).sum())
    }

    /// Every group's score, by name.
    pub fn groups(&self) -> BTreeMap<String, f32> {
        self.groups
            .keys()
            .filter_map(|g| self.group(g).map(|s| (g.clone(), s)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_is_stable_and_sums_to_one() {
        let p = softmax(&[1000.0, 1000.0, -1000.0]);
        assert!((p[0] - 0.5).abs() < 1e-6 && (p[1] - 0.5).abs() < 1e-6 && p[2] == 0.0);
        let c = Classification {
            probs: vec![0.1, 0.6, 0.3],
            classes: vec!["a".to_string(), "b".into(), "c".into()].into(),
            groups: Arc::new(BTreeMap::from([("ac".to_string(), vec![0, 2])])),
        };
        assert_eq!(
            c.top(2).iter().map(|s| s.class_id).collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert!((c.group("ac").unwrap() - 0.4).abs() < 1e-6);
        assert_eq!(c.group("nope"), None);
    }
}
