//! Analysis: per-camera analyzers that turn frames into findings, and the
//! worker that turns findings into [`Alert`]s.
//!
//! An [`Analyzer`] sees every frame its camera's worker takes from the
//! camera's [`FrameSlot`](crate::ingest::FrameSlot) and returns [`Finding`]s.
//! It keeps its own state (background models, tracks) and names each
//! incident with an `incident` key of its choosing; the [`worker`] maps keys
//! to alert `event` ids, fills in site, gateway and camera, and renders the
//! snapshot. Analyzers never touch MQTT or the outbox.
//!
//! Each analyzer's config table lives beside it; [`config`] gathers them into
//! a camera's `[cameras.analyzers]` table.

pub mod config;
pub mod detector;
pub mod explain;
pub mod fire;
pub mod garbage;
pub mod motion;
pub mod registry;
pub mod selftest;
pub mod throwing;
pub mod worker;

use crate::alert::{AlertKind, AlertState, BBox, Severity};
use crate::base::point_in_polygon;
use crate::ingest::Frame;
use config::CameraConfig;
use detector::config::RuntimeConfig;
use registry::BuildContext;

/// Something an analyzer wants to tell staff about.
#[derive(Debug, Clone)]
pub struct Finding {
    pub kind: AlertKind,
    pub severity: Severity,
    /// `New` opens an incident, `Update` adds to it, `End` closes it.
    pub state: AlertState,
    /// The analyzer's key for the incident; messages with the same key share
    /// one alert `event` id until an `End`.
    pub incident: u64,
    /// Confidence, 0..=1.
    pub score: f32,
    pub zone: Option<String>,
    /// Normalised box of what was found.
    pub bbox: Option<BBox>,
    /// Kind-specific details, an object.
    pub details: serde_json::Value,
    /// An already-annotated picture to attach (for composites such as a
    /// trajectory drawn over an earlier frame). `None`: the worker draws
    /// `bbox` over the current frame.
    pub picture: Option<image::RgbImage>,
}

/// A per-camera detector of one kind of incident.
pub trait Analyzer: Send {
    /// Short name for logs and metrics, e.g. `motion`.
    fn name(&self) -> &'static str;
    /// Looks at one frame; returns what it found (usually nothing).
    fn process(&mut self, frame: &Frame) -> Vec<Finding>;
    /// Draws the analyzer's view of the last frame it processed (foreground,
    /// tracks, calibration) over `img`, for debug videos. Default: nothing.
    fn draw_debug(&self, _img: &mut image::RgbImage) {}
    /// Starts (or stops) recording [`explain::Explanation`]s: why each alert
    /// was raised and each candidate rejected. Default: nothing to record.
    fn set_explain(&mut self, _on: bool) {}
    /// The explanations recorded since the last call (see [`explain`]).
    /// Default: none.
    fn explain(&mut self) -> Vec<explain::Explanation> {
        Vec::new()
    }
}

/// Errors building a camera's analyzers.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error("camera {camera}: analyzer {analyzer}: {message}")]
    Setup {
        camera: String,
        analyzer: &'static str,
        message: String,
    },
}

/// Builds the analyzers a camera's config asks for, without model cues.
pub fn build_analyzers(cam: &CameraConfig) -> Result<Vec<Box<dyn Analyzer>>, AnalysisError> {
    build_analyzers_with(cam, None)
}

/// The models a camera's analyzers can use ([`detector::Models::load`] them
/// once at start and pass them to [`build_analyzers_with`]).
pub fn wanted_models(cam: &CameraConfig) -> Vec<&'static str> {
    cam.analyzers
        .enabled()
        .into_iter()
        .flat_map(|(_, c)| c.wanted_models())
        .collect()
}

/// Loads, once, the models the given cameras' analyzers can use (see
/// [`wanted_models`]). `None` when none is wanted, or when they cannot be
/// loaded (logged): the analyzers that use them only as cues then run without.
pub fn load_wanted_models<'a>(
    runtime: &RuntimeConfig,
    cams: impl IntoIterator<Item = &'a CameraConfig>,
) -> Option<detector::Models> {
    let mut names: Vec<&str> = cams.into_iter().flat_map(wanted_models).collect();
    names.sort_unstable();
    names.dedup();
    if names.is_empty() {
        return None;
    }
    match detector::Models::load(runtime, &names) {
        Ok(m) => Some(m),
        Err(e) => {
            tracing::warn!(error = %e, models = ?names, "models for analysis cues not loaded; running without");
            None
        }
    }
}

/// What `check-config` finds beyond the file itself: each enabled camera's
/// analyzers are built as the daemon would build them (loading and checking
/// every model they name), so a missing model, a manifest that does not match
/// its file or a detector with no fire/smoke classes is found before a restart.
#[derive(Debug, Default)]
pub struct SetupCheck {
    /// Problems that stop a camera from starting, each with its config path.
    pub problems: Vec<String>,
    /// Problems the daemon runs through (cue models that cannot be loaded).
    pub warnings: Vec<String>,
}

/// Builds every enabled camera's analyzers once (with the models of
/// `runtime`) and reports what fails; see [`SetupCheck`].
pub fn check_setup(runtime: &RuntimeConfig, cameras: &[CameraConfig]) -> SetupCheck {
    let mut out = SetupCheck::default();
    let enabled: Vec<(usize, &CameraConfig)> = cameras
        .iter()
        .enumerate()
        .filter(|(_, c)| c.enabled)
        .collect();
    let mut names: Vec<&str> = enabled.iter().flat_map(|(_, c)| wanted_models(c)).collect();
    names.sort_unstable();
    names.dedup();
    let models = if names.is_empty() {
        None
    } else {
        match detector::Models::load(runtime, &names) {
            Ok(m) => Some(m),
            Err(e) => {
                out.warnings.push(format!(
                    "models {names:?} for analysis cues cannot be loaded; the cameras would run without them: {e}"
                ));
                None
            }
        }
    };
    for (i, cam) in enabled {
        if let Err(e) = build_analyzers_with(cam, models.as_ref()) {
            out.problems.push(format!("cameras[{i}].analyzers: {e}"));
        }
    }
    out
}

/// Builds the analyzers a camera's config asks for, giving those that use
/// models the ones loaded in `models`. A model that is not loaded is not an
/// error for analyzers that only use it as a cue: they log it and run
/// without.
pub fn build_analyzers_with(
    cam: &CameraConfig,
    models: Option<&detector::Models>,
) -> Result<Vec<Box<dyn Analyzer>>, AnalysisError> {
    let ctx = BuildContext {
        camera: cam,
        models,
    };
    let mut out: Vec<Box<dyn Analyzer>> = Vec::new();
    for (_, c) in cam.analyzers.enabled() {
        out.push(c.build(&ctx)?);
    }
    Ok(out)
}

/// A zone polygon rasterised to a per-pixel mask at a given frame size.
#[derive(Debug, Clone)]
pub struct ZoneMask {
    pub name: String,
    pub width: u32,
    pub height: u32,
    /// `width * height` booleans, row-major.
    pub inside: Vec<bool>,
    /// Number of pixels inside.
    pub area: usize,
}

impl ZoneMask {
    /// Rasterises a normalised polygon (even-odd rule, pixel centres).
    pub fn from_polygon(name: &str, polygon: &[[f32; 2]], width: u32, height: u32) -> ZoneMask {
        let (w, h) = (width as usize, height as usize);
        let pts: Vec<(f32, f32)> = polygon
            .iter()
            .map(|p| (p[0] * width as f32, p[1] * height as f32))
            .collect();
        let mut inside = vec![false; w * h];
        let mut area = 0;
        for y in 0..h {
            let py = y as f32 + 0.5;
            for x in 0..w {
                let px = x as f32 + 0.5;
                if point_in_polygon(px, py, &pts) {
                    inside[y * w + x] = true;
                    area += 1;
                }
            }
        }
        ZoneMask {
            name: name.to_string(),
            width,
            height,
            inside,
            area,
        }
    }

    /// Colours the mask's edge pixels (inside, with a 4-neighbour outside) on
    /// `img`, for debug drawing. Does nothing when the sizes differ.
    pub fn draw_outline(&self, img: &mut image::RgbImage, colour: image::Rgb<u8>) {
        if img.width() != self.width || img.height() != self.height {
            return;
        }
        let (w, h) = (self.width as usize, self.height as usize);
        let at = |x: usize, y: usize| self.inside[y * w + x];
        for y in 0..h {
            for x in 0..w {
                if !at(x, y) {
                    continue;
                }
                let edge = x == 0
                    || y == 0
                    || x + 1 == w
                    || y + 1 == h
                    || !at(x - 1, y)
                    || !at(x + 1, y)
                    || !at(x, y - 1)
                    || !at(x, y + 1);
                if edge {
                    img.put_pixel(x as u32, y as u32, colour);
                }
            }
        }
    }

    /// A mask covering the whole frame.
    pub fn full(name: &str, width: u32, height: u32) -> ZoneMask {
        let n = width as usize * height as usize;
        ZoneMask {
            name: name.to_string(),
            width,
            height,
            inside: vec![true; n],
            area: n,
        }
    }
}

/// Luma (BT.601, integer) of a packed RGB buffer.
pub fn luma(rgb: &[u8]) -> Vec<u8> {
    rgb.chunks_exact(3)
        .map(|p| ((77 * p[0] as u32 + 150 * p[1] as u32 + 29 * p[2] as u32) >> 8) as u8)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polygon_mask_covers_its_area() {
        let m = ZoneMask::from_polygon(
            "z",
            &[[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]],
            10,
            4,
        );
        assert_eq!(m.area, 20);
        assert!(m.inside[0] && m.inside[4] && !m.inside[5]);
    }

    #[test]
    fn luma_weights_green_most() {
        let l = luma(&[255, 0, 0, 0, 255, 0, 0, 0, 255]);
        assert!(l[1] > l[0] && l[0] > l[2]);
    }
}
