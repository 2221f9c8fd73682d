//! What an analyzer gives the rest of analysis through its config table:
//! the [`AnalyzerConfig`] trait (check the table, name the models it can use,
//! build the analyzer). Each analyzer implements it in its own folder and is
//! registered with one line in the `analyzers!` list of
//! [`config`](super::config), which then checks, loads models for and builds
//! it in list order.

use super::config::CameraConfig;
use super::{detector, AnalysisError, Analyzer};
use crate::settings::ConfigProblem;

/// What a camera gives an analyzer it builds.
pub struct BuildContext<'a> {
    /// The camera the analyzer runs on (its name, detect size and rate).
    pub camera: &'a CameraConfig,
    /// The models loaded at start for analyzers that use them
    /// ([`AnalyzerConfig::wanted_models`]); `None` when none were loaded.
    pub models: Option<&'a detector::Models>,
}

impl BuildContext<'_> {
    /// A setup error naming this camera and `analyzer`.
    pub fn setup_error(&self, analyzer: &'static str, message: String) -> AnalysisError {
        AnalysisError::Setup {
            camera: self.camera.name.clone(),
            analyzer,
            message,
        }
    }
}

/// An analyzer's config table, as registered in `analyzers!`.
pub trait AnalyzerConfig {
    /// Checks the table; `path` is its path, e.g. `cameras[0].analyzers.motion`.
    fn check(&self, path: &str, p: &mut Vec<ConfigProblem>);

    /// The models this analyzer can use with this table, loaded once at start
    /// for every camera ([`super::load_wanted_models`]). Default: none.
    fn wanted_models(&self) -> Vec<&'static str> {
        Vec::new()
    }

    /// Builds the analyzer for `ctx.camera`.
    fn build(&self, ctx: &BuildContext<'_>) -> Result<Box<dyn Analyzer>, AnalysisError>;
}
