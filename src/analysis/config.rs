//! The `[cameras.analyzers]` table: which analyzers run on a camera. Each
//! analyzer's own table and its checks live beside the analyzer
//! ([`motion`](super::motion), [`fire::config`](super::fire::config),
//! [`garbage::config`](super::garbage::config),
//! [`throwing::config`](super::throwing::config)), each implementing
//! [`AnalyzerConfig`]; this table only gathers them, one line per analyzer in
//! the `analyzers!` list below, whose order is the order analyzers are
//! checked and built in. A whole camera entry, as analysis is given it, is
//! [`CameraConfig`]: ingest's keys with this table.

use super::fire::config::FireConfig;
use super::garbage::config::GarbageConfig;
use super::motion::MotionConfig;
use super::registry::AnalyzerConfig;
use super::throwing::config::ThrowingConfig;
use crate::settings::ConfigProblem;
use serde::Deserialize;

/// `[[cameras]]`: one camera, with its analyzers.
pub type CameraConfig =
    crate::ingest::config::CameraConfig<AnalyzersConfig, super::selftest::config::SelftestConfig>;

/// Declares the analyzers: generates the [`AnalyzersConfig`] table (one
/// optional field per analyzer, doc comment passed through, default off) and
/// [`AnalyzersConfig::enabled`], the order analyzers are checked, given models
/// and built in. Each type implements [`AnalyzerConfig`].
macro_rules! analyzers {
    ($( $(#[$attr:meta])* $name:ident : $ty:ty ),* $(,)?) => {
        /// `[cameras.analyzers]`: which incident analyzers run on a camera, and their tuning.
        #[derive(Debug, Clone, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct AnalyzersConfig {
            $(
                $(#[$attr])*
                #[serde(default)]
                pub $name: Option<$ty>,
            )*
        }

        impl AnalyzersConfig {
            /// The analyzers this camera runs, each with its table's key, in
            /// the order they are listed in `analyzers!`.
            pub fn enabled(&self) -> Vec<(&'static str, &dyn AnalyzerConfig)> {
                let mut out: Vec<(&'static str, &dyn AnalyzerConfig)> = Vec::new();
                $(
                    if let Some(c) = &self.$name {
                        out.push((stringify!($name), c));
                    }
                )*
                out
            }
        }
    };
}

// Adding an analyzer: its folder, `impl AnalyzerConfig` for its table, and one
// line here.
analyzers! {
    /// Generic motion analyzer (proves the chain end to end). Default: off.
    motion: MotionConfig,
    /// Flame and smoke analyzer for e-bike sheds and bin rooms (see `docs/fire.md`). Default: off.
    fire: FireConfig,
    /// Garbage-bag analyzer (objects left on the ground). Default: off.
    garbage: GarbageConfig,
    /// Thrown/falling object analyzer for a camera looking up a facade. Default: off.
    throwing: ThrowingConfig,
}

impl AnalyzersConfig {
    /// Checks each analyzer's table; `base` is this table's path, e.g.
    /// `cameras[2].analyzers`.
    pub fn check(&self, base: &str, p: &mut Vec<ConfigProblem>) {
        for (key, c) in self.enabled() {
            c.check(&format!("{base}.{key}"), p);
        }
    }
}
