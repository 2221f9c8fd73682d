//! The `[runtime]` section of the config file: the ONNX Runtime library and
//! the model folders that model-based detectors and classifiers load, with
//! its validation.

use crate::settings::{check_file, push, ConfigProblem};
use serde::Deserialize;
use std::path::PathBuf;

/// `[runtime]`: the ONNX Runtime library used by model-based detectors.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeConfig {
    /// Path to `libonnxruntime.so.*`. Default: the copy `make setup` installs
    /// in the project's `.ort/` folder, or `/usr/lib/estatewatch/` when packaged.
    #[serde(default)]
    pub onnxruntime: Option<PathBuf>,
    /// Threads each model session uses for one inference, 1..=16. Default: 1.
    #[serde(default)]
    pub intra_op_threads: Option<u16>,
    /// Threads of the shared inference worker that runs analyzers' model
    /// calls off their cameras' threads, 1..=16 (docs/capacity.md). Default:
    /// 1 on boxes with up to 3 cores, else one per two cores, at most 4.
    #[serde(default)]
    pub inference_threads: Option<u16>,
    /// Jobs the shared inference worker queues (all cameras together),
    /// 1..=1024; when full, a camera's oldest queued job is dropped. Default: 32.
    #[serde(default)]
    pub inference_queue: Option<u16>,
    /// Folder that holds model folders. Default: `models/` beside the project, or `/usr/share/estatewatch/models`.
    #[serde(default)]
    pub models_dir: Option<PathBuf>,
}

impl RuntimeConfig {
    /// Checks the section; problems are reported under `runtime.`.
    pub fn check(&self, p: &mut Vec<ConfigProblem>) {
        if let Some(path) = &self.onnxruntime {
            check_file(path, "runtime.onnxruntime", p);
        }
        if let Some(t) = self.intra_op_threads {
            if !(1..=16).contains(&t) {
                push(
                    p,
                    "runtime.intra_op_threads",
                    format!("must be 1..=16, got {t}"),
                );
            }
        }
        if let Some(t) = self.inference_threads {
            if !(1..=16).contains(&t) {
                push(
                    p,
                    "runtime.inference_threads",
                    format!("must be 1..=16, got {t}"),
                );
            }
        }
        if let Some(q) = self.inference_queue {
            if !(1..=1024).contains(&q) {
                push(
                    p,
                    "runtime.inference_queue",
                    format!("must be 1..=1024, got {q}"),
                );
            }
        }
        if let Some(dir) = &self.models_dir {
            if !dir.is_dir() {
                push(
                    p,
                    "runtime.models_dir",
                    format!("{} is not a directory", dir.display()),
                );
            }
        }
    }
}
