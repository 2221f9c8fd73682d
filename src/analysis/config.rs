//! The `[cameras.analyzers]` table: which analyzers run on a camera. Each
//! analyzer's own table and its checks live beside the analyzer
//! ([`motion`](super::motion), [`fire::config`](super::fire::config),
//! [`garbage::config`](super::garbage::config),
//! [`throwing::config`](super::throwing::config)); this table only gathers
//! them. A whole camera entry, as analysis is given it, is [`CameraConfig`]:
//! ingest's keys with this table.

use super::fire::config::FireConfig;
use super::garbage::config::GarbageConfig;
use super::motion::MotionConfig;
use super::throwing::config::ThrowingConfig;
use crate::settings::ConfigProblem;
use serde::Deserialize;

/// `[[cameras]]`: one camera, with its analyzers.
pub type CameraConfig = crate::ingest::config::CameraConfig<AnalyzersConfig>;

/// `[cameras.analyzers]`: which incident analyzers run on a camera, and their tuning.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalyzersConfig {
    /// Generic motion analyzer (proves the chain end to end). Default: off.
    #[serde(default)]
    pub motion: Option<MotionConfig>,
    /// Flame and smoke analyzer for e-bike sheds and bin rooms (see `docs/fire.md`). Default: off.
    #[serde(default)]
    pub fire: Option<FireConfig>,
    /// Garbage-bag analyzer (objects left on the ground). Default: off.
    #[serde(default)]
    pub garbage: Option<GarbageConfig>,
    /// Thrown/falling object analyzer for a camera looking up a facade. Default: off.
    #[serde(default)]
    pub throwing: Option<ThrowingConfig>,
}

impl AnalyzersConfig {
    /// Checks each analyzer's table; `base` is this table's path, e.g.
    /// `cameras[2].analyzers`.
    pub fn check(&self, base: &str, p: &mut Vec<ConfigProblem>) {
        if let Some(m) = &self.motion {
            m.check(&format!("{base}.motion"), p);
        }
        if let Some(f) = &self.fire {
            f.check(&format!("{base}.fire"), p);
        }
        if let Some(g) = &self.garbage {
            g.check(&format!("{base}.garbage"), p);
        }
        if let Some(t) = &self.throwing {
            t.check(&format!("{base}.throwing"), p);
        }
    }
}
