//! `[evidence]`: where the gateway keeps evidence files. Per-camera stream
//! and clip-length keys are in `[cameras.evidence]`
//! ([`EvidenceStreamConfig`](crate::ingest::config::EvidenceStreamConfig)).

use crate::settings::{push, ConfigProblem};
use serde::Deserialize;
use std::path::PathBuf;

/// `[evidence]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceConfig {
    /// The evidence folder: `<dir>/<camera>/<event>/clip.mp4` and
    /// `snapshot.jpg`. Created when missing. Default:
    /// `/var/lib/estatewatch/evidence`.
    #[serde(default = "default_dir")]
    pub dir: PathBuf,
}

fn default_dir() -> PathBuf {
    PathBuf::from("/var/lib/estatewatch/evidence")
}

impl Default for EvidenceConfig {
    fn default() -> Self {
        EvidenceConfig { dir: default_dir() }
    }
}

impl EvidenceConfig {
    /// Checks the section; `path` is `evidence`.
    pub fn check(&self, path: &str, p: &mut Vec<ConfigProblem>) {
        if !self.dir.is_absolute() {
            push(
                p,
                format!("{path}.dir"),
                format!("must be an absolute path, got {}", self.dir.display()),
            );
        }
    }
}
