//! estatewatch-scenes: the test footage estatewatch's analyzers are judged
//! by (see `docs/scenes.md`). It owns the scene generator (this module and
//! its submodules; the `scenegen` binary) and the detection scorecard
//! ([`score`]; the `score` binary). It builds on the daemon library and is
//! never part of the daemon: the daemon's tests use it as a dev-dependency.
//!
//! The scene generator makes procedural "camera" clips with ground truth, the
//! measuring instrument every analyzer is judged by.
//!
//! A clip is fully described by a [`ClipSpec`] (kind, seed, variant, size,
//! rate, optional parameters); rendering it is deterministic. Three scenes
//! exist: a tower facade (thrown objects and their look-alikes), an e-bike
//! shed (fire, smoke and look-alikes) and a bin-room frontage (dumped bags and
//! look-alikes). Each render writes `<name>.mp4` (H.264) and `<name>.json`, a
//! [`Truth`] with the incidents (kind, interval, per-frame box track, throw
//! origin), the negatives present, and the calibration an analyzer config is
//! made from.
//!
//! Invariants of the truth file (relied on by [`crate::score`]):
//! - times are media times in ms from the first frame; frame `n` is at
//!   `n * 1000 / fps` (rounded down);
//! - boxes and polygons are normalised to the frame (0..=1, origin top-left);
//!   every track box lies inside the frame;
//! - `incidents[].start_ms <= end_ms <= duration_ms`;
//! - `generator` changes whenever the same spec would render differently.
//!
//! What a clip is ([`ClipSpec`], [`Kind`], ...) is in `spec.rs`, its truth
//! file ([`Truth`] and its parts) in `truth.rs`; rendering is here.

pub mod camera;
pub mod camera_config;
pub mod encode;
pub mod hard;
mod people;
pub mod raster;
pub mod rng;
mod scene_binroom;
mod scene_shed;
mod scene_tower;
pub mod score;
mod spec;
pub mod suite;
mod truth;

use raster::Canvas;
use rng::Rng;
use std::path::{Path, PathBuf};

pub use spec::{ClipSpec, Kind, Params, Scene, Variant, BIN_COLOURS};
pub use truth::{Calibration, Facade, Hints, Incident, Origin, Truth, Zone};

/// Bump when any change makes an existing spec render differently; the
/// suite cache is keyed by it.
pub const GENERATOR_VERSION: &str = "estatewatch-scenegen/2";

/// [`GENERATOR_VERSION`] as a file-name-safe key, e.g. `scenegen-1`.
pub fn cache_key() -> String {
    GENERATOR_VERSION
        .trim_start_matches("estatewatch-")
        .replace('/', "-")
}

/// Errors from generating or reading scenes.
#[derive(Debug, thiserror::Error)]
pub enum SceneError {
    #[error("unknown scene kind `{0}`; expected one of: {list}", list = Kind::names().join(", "))]
    UnknownKind(String),
    #[error("kind `{with}` cannot be added to a `{scene}` clip: it belongs to the {other} scene")]
    WrongScene {
        with: String,
        scene: &'static str,
        other: &'static str,
    },
    #[error("bad parameter `{key}`: {message}")]
    BadParam { key: String, message: String },
    #[error("encoding {path}: {message}")]
    Encode { path: PathBuf, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a ground-truth file: {source}")]
    Truth {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("unknown suite `{0}`; expected `default` or `smoke`")]
    UnknownSuite(String),
}

impl From<estatewatch::ingest::mp4::Mp4Error> for SceneError {
    fn from(e: estatewatch::ingest::mp4::Mp4Error) -> SceneError {
        match e {
            estatewatch::ingest::mp4::Mp4Error::Encode { path, message } => {
                SceneError::Encode { path, message }
            }
        }
    }
}

/// Something that moves or changes in a scene, drawn each frame.
pub(crate) trait Actor: Send {
    /// Draws itself on the frame at time `t` seconds.
    fn draw(&mut self, c: &mut Canvas, t: f32);
    /// For incident actors: the pixel box `[x0, y0, x1, y1]` of what should be
    /// detected at time `t`, when visible.
    fn truth_box(&self, _t: f32) -> Option<[f32; 4]> {
        None
    }
    /// For a left bag: when whoever left it has moved off it (see
    /// [`Incident::clear_ms`]).
    fn clear_s(&self) -> Option<f32> {
        None
    }
}

/// An incident as planned by a scene builder, tracked through an actor.
pub(crate) struct Planned {
    pub kind: &'static str,
    pub start_s: f32,
    pub end_s: f32,
    /// Index into `Built::actors`.
    pub actor: usize,
    pub origin: Option<Origin>,
    pub size_px: Option<f32>,
}

/// A scene ready to render.
pub(crate) struct Built {
    pub background: Canvas,
    pub actors: Vec<Box<dyn Actor>>,
    pub incidents: Vec<Planned>,
    pub negatives: Vec<String>,
    pub calibration: Calibration,
    pub hints: Hints,
    pub duration_s: f32,
    pub look: camera::Look,
}

fn build(spec: &ClipSpec) -> Result<Built, SceneError> {
    let mut rng = Rng::new(spec.seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ spec.kind as u64);
    match spec.kind.scene() {
        Scene::Tower => scene_tower::build(spec, &mut rng),
        Scene::Shed => scene_shed::build(spec, &mut rng),
        Scene::Binroom => scene_binroom::build(spec, &mut rng),
        Scene::Real => Err(SceneError::BadParam {
            key: "kind".into(),
            message: "real footage is not rendered".into(),
        }),
    }
}

/// Renders `spec` into `out_dir/<name>.mp4` and `out_dir/<name>.json`;
/// returns the truth. `threads` is the encoder's thread count: pass 1 for a
/// clip that must be the same bytes every time it is rendered (more threads
/// make x264's output vary from run to run; see [`encode::EncodeSettings`]).
pub fn render_clip(spec: &ClipSpec, out_dir: &Path, threads: u32) -> Result<Truth, SceneError> {
    spec.validate()?;
    std::fs::create_dir_all(out_dir).map_err(|source| SceneError::Io {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let mut built = build(spec)?;
    let (w, h) = (spec.width as usize, spec.height as usize);
    let frames = ((built.duration_s * spec.fps as f32).round() as u64).max(1);
    let clip = format!("{}.mp4", spec.name);
    let mp4 = out_dir.join(&clip);
    let bitrate = spec.params.bitrate_kbps.unwrap_or_else(|| {
        ((w * h) as f32 * spec.fps as f32 * 0.15 / 1000.0)
            .round()
            .max(80.0) as u32
    });
    let mut writer = encode::Mp4Writer::create(
        &mp4,
        encode::EncodeSettings {
            width: spec.width,
            height: spec.height,
            fps: spec.fps,
            bitrate_kbps: bitrate,
            threads,
        },
    )?;
    let mut cam = camera::Camera::new(built.look, spec.seed ^ 0x5EED);
    if spec.params.shake_px.is_some() || spec.params.drift_px.is_some() {
        cam.set_shake(
            spec.params.shake_px,
            spec.params.drift_px.unwrap_or(0.0) / built.duration_s.max(0.1),
        );
    }
    let mut frame = built.background.clone();
    let mut tracks: Vec<Vec<[f64; 5]>> = vec![Vec::new(); built.incidents.len()];
    for n in 0..frames {
        let t_ms = n * 1000 / u64::from(spec.fps);
        let t = n as f32 / spec.fps as f32;
        frame.copy_from(&built.background);
        for a in built.actors.iter_mut() {
            a.draw(&mut frame, t);
        }
        for (i, inc) in built.incidents.iter().enumerate() {
            if t + 1e-4 < inc.start_s || t > inc.end_s + 1e-4 {
                continue;
            }
            if let Some(b) = built.actors[inc.actor].truth_box(t) {
                if let Some(nb) = normalise_box(b, w as f32, h as f32) {
                    tracks[i].push([t_ms as f64, nb[0], nb[1], nb[2], nb[3]]);
                }
            }
        }
        writer.push(cam.expose(&frame, t))?;
    }
    let written = writer.finish()?;
    let duration_ms = written * 1000 / u64::from(spec.fps);
    // An incident never seen in the clip (e.g. cut off by a short `duration_s`)
    // is not truth: drop it.
    let incidents = built
        .incidents
        .iter()
        .zip(tracks)
        .filter(|(p, track)| {
            if track.is_empty() {
                tracing::warn!(clip = %spec.name, kind = p.kind, "incident not visible in the clip; left out of the truth");
            }
            !track.is_empty()
        })
        .map(|(p, track)| Incident {
            kind: p.kind.to_string(),
            start_ms: ((p.start_s * 1000.0).round() as u64).min(duration_ms),
            end_ms: ((p.end_s * 1000.0).round() as u64).min(duration_ms),
            track,
            origin: p.origin,
            size_px: p.size_px,
            clear_ms: built.actors[p.actor]
                .clear_s()
                .map(|c| (c * 1000.0).round() as u64),
        })
        .collect();
    let truth = Truth {
        generator: GENERATOR_VERSION.to_string(),
        clip,
        seed: spec.seed,
        scene: spec.kind.scene(),
        variant: spec.variant,
        fps: spec.fps,
        width: spec.width,
        height: spec.height,
        frames: written,
        duration_ms,
        incidents,
        negatives: built.negatives,
        calibration: built.calibration,
        hints: built.hints,
        spec: Some(spec.clone()),
    };
    write_truth(&truth, &out_dir.join(format!("{}.json", spec.name)))?;
    Ok(truth)
}

/// Writes a truth file (pretty JSON), atomically.
pub fn write_truth(truth: &Truth, path: &Path) -> Result<(), SceneError> {
    let io = |source| SceneError::Io {
        path: path.to_path_buf(),
        source,
    };
    let text = serde_json::to_string_pretty(truth).map_err(|e| io(std::io::Error::other(e)))?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Clips a pixel box to the frame and normalises it; `None` if nothing is left.
fn normalise_box(b: [f32; 4], w: f32, h: f32) -> Option<[f64; 4]> {
    let x0 = b[0].clamp(0.0, w);
    let y0 = b[1].clamp(0.0, h);
    let x1 = b[2].clamp(0.0, w);
    let y1 = b[3].clamp(0.0, h);
    if x1 - x0 < 0.5 || y1 - y0 < 0.5 {
        return None;
    }
    let r = |v: f32, d: f32| ((v / d) as f64 * 10_000.0).round() / 10_000.0;
    Some([r(x0, w), r(y0, h), r(x1 - x0, w), r(y1 - y0, h)])
}

/// Normalises a pixel point.
pub(crate) fn npt(x: f32, y: f32, w: f32, h: f32) -> [f32; 2] {
    let r = |v: f32| (v * 10_000.0).round() / 10_000.0;
    [r((x / w).clamp(0.0, 1.0)), r((y / h).clamp(0.0, 1.0))]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_parse_and_report_the_key() {
        let p = Params::parse("size_px=6, floor=3,style=toss").unwrap();
        assert_eq!(p.size_px, Some(6.0));
        assert_eq!(p.floor, Some(3));
        let e = Params::parse("floor=high").unwrap_err().to_string();
        assert!(e.contains("floor") && e.contains("whole number"), "{e}");
        let e = Params::parse("colour=red").unwrap_err().to_string();
        assert!(e.contains("colour") && e.contains("unknown"), "{e}");
        assert!(Params::parse("size_px=500").is_err());
    }

    #[test]
    fn kinds_round_trip_and_unknown_is_listed() {
        for k in Kind::ALL {
            assert_eq!(k.as_str().parse::<Kind>().unwrap(), *k);
        }
        let e = "volcano".parse::<Kind>().unwrap_err().to_string();
        assert!(e.contains("volcano") && e.contains("throwing"), "{e}");
    }

    #[test]
    fn spec_rejects_negatives_from_another_scene() {
        let mut s = ClipSpec::new(Kind::Throwing, 1);
        s.with = vec![Kind::OrangeJacket];
        let e = s.validate().unwrap_err().to_string();
        assert!(e.contains("orange_jacket") && e.contains("shed"), "{e}");
        s.with = vec![Kind::Rain];
        assert!(s.validate().is_ok());
        s.width = 641;
        assert!(s.validate().unwrap_err().to_string().contains("width"));
    }

    #[test]
    fn boxes_are_clipped_and_normalised() {
        assert_eq!(
            normalise_box([-10.0, 10.0, 20.0, 30.0], 100.0, 100.0),
            Some([0.0, 0.1, 0.2, 0.2])
        );
        assert_eq!(
            normalise_box([120.0, 10.0, 130.0, 30.0], 100.0, 100.0),
            None
        );
    }
}
