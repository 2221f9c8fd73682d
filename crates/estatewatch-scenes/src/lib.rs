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
pub mod suite;

use raster::Canvas;
use rng::Rng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

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

/// Which of the three scenes a clip shows (`real` marks real footage).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scene {
    Tower,
    Shed,
    Binroom,
    Real,
}

impl Scene {
    pub fn as_str(self) -> &'static str {
        match self {
            Scene::Tower => "tower",
            Scene::Shed => "shed",
            Scene::Binroom => "binroom",
            Scene::Real => "real",
        }
    }

    /// The alert kinds this scene is built to test.
    pub fn kinds_under_test(self) -> &'static [&'static str] {
        match self {
            Scene::Tower => &["throwing"],
            Scene::Shed => &["fire", "smoke"],
            Scene::Binroom => &["garbage"],
            Scene::Real => &["throwing", "fire", "smoke", "garbage"],
        }
    }
}

macro_rules! kinds {
    ($($v:ident = $name:literal, $scene:ident, $pos:literal;)*) => {
        /// What a clip shows: an incident (`throwing`, `fire`, `smoke`,
        /// `fire_smoke`, `garbage`) or one hard negative.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Kind { $($v,)* }
        impl Kind {
            pub const ALL: &'static [Kind] = &[$(Kind::$v,)*];
            pub fn as_str(self) -> &'static str { match self { $(Kind::$v => $name,)* } }
            pub fn scene(self) -> Scene { match self { $(Kind::$v => Scene::$scene,)* } }
            /// True for the incident kinds, false for negatives.
            pub fn is_incident(self) -> bool { match self { $(Kind::$v => $pos,)* } }
        }
    };
}

kinds! {
    Throwing = "throwing", Tower, true;
    BirdLevel = "bird_level", Tower, false;
    BirdRising = "bird_rising", Tower, false;
    BirdFlapping = "bird_flapping", Tower, false;
    BirdGlidingDown = "bird_gliding_down", Tower, false;
    Leaves = "leaves", Tower, false;
    Rain = "rain", Tower, false;
    Laundry = "laundry", Tower, false;
    WindowLights = "window_lights", Tower, false;
    Lift = "lift", Tower, false;
    TowerEmpty = "tower_empty", Tower, false;
    Fire = "fire", Shed, true;
    Smoke = "smoke", Shed, true;
    FireSmoke = "fire_smoke", Shed, true;
    OrangeJacket = "orange_jacket", Shed, false;
    FlashingLight = "flashing_light", Shed, false;
    Headlights = "headlights", Shed, false;
    OrangeBike = "orange_bike", Shed, false;
    Sunlight = "sunlight", Shed, false;
    ShedEmpty = "shed_empty", Shed, false;
    Garbage = "garbage", Binroom, true;
    PersonStanding = "person_standing", Binroom, false;
    BagCarried = "bag_carried", Binroom, false;
    BinMoved = "bin_moved", Binroom, false;
    LightingChange = "lighting_change", Binroom, false;
    ParkedBicycle = "parked_bicycle", Binroom, false;
    PassersBy = "passers_by", Binroom, false;
    BinroomEmpty = "binroom_empty", Binroom, false;
    // New kinds go at the end: a kind's place in this list seeds its clips'
    // randomness (`render_clip`), so inserting one earlier would re-render
    // every clip of the kinds after it and change the default suite.
    StripedTape = "striped_tape", Shed, false;
    FlamePoster = "flame_poster", Shed, false;
    BlinkingLight = "blinking_light", Shed, false;
    Vehicle = "vehicle", Shed, false;
    SunPatches = "sun_patches", Shed, false;
}

impl Kind {
    pub fn names() -> Vec<&'static str> {
        Kind::ALL.iter().map(|k| k.as_str()).collect()
    }
}

impl std::str::FromStr for Kind {
    type Err = SceneError;
    fn from_str(s: &str) -> Result<Kind, SceneError> {
        Kind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| SceneError::UnknownKind(s.to_string()))
    }
}

/// Lighting: daylight colour, night colour under lamps, or IR night mode (grey).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    Day,
    Night,
    Ir,
}

impl Variant {
    pub fn as_str(self) -> &'static str {
        match self {
            Variant::Day => "day",
            Variant::Night => "night",
            Variant::Ir => "ir",
        }
    }
}

impl std::str::FromStr for Variant {
    type Err = SceneError;
    fn from_str(s: &str) -> Result<Variant, SceneError> {
        match s {
            "day" => Ok(Variant::Day),
            "night" => Ok(Variant::Night),
            "ir" => Ok(Variant::Ir),
            _ => Err(SceneError::BadParam {
                key: "variant".into(),
                message: format!("expected day, night or ir, got `{s}`"),
            }),
        }
    }
}

/// Optional knobs; anything left `None` is drawn from the seed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Throws: object size in pixels at the window (4..=40).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_px: Option<f32>,
    /// Throws: floor of the window, 0 = ground floor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor: Option<u32>,
    /// Throws: column (unit) of the window, 0 = leftmost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// Throws: `drop` (let go) or `toss` (thrown out and up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<String>,
    /// Tower: vertical pixels per metre at the foot of the facade (sets the camera distance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub px_per_m: Option<f32>,
    /// Bin room: the garbage dwell the analyzer is configured with, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dwell_s: Option<f32>,
    /// Bin room: the bag is picked up again this many seconds after it was left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed_after_s: Option<f32>,
    /// Clip length in seconds (a default per kind otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f32>,
    /// Encoder bitrate in kbit/s (about 0.15 bit per pixel per frame otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitrate_kbps: Option<u32>,
    // Garbage (issue 14, item 3; scene_binroom.rs, hard/garbage.rs).
    /// Bin room: where the bag is left, 0 (the zone's far edge) ..= 1 (its
    /// near edge, by the camera). Default: just in front of the bins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bag_depth: Option<f32>,
    /// Bin room: bag height as a fraction of a person's height where it is
    /// left, 0.1..=0.6. Default: 0.18..0.28.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bag_scale: Option<f32>,
    /// Bin room: seconds the person stays crouched by the bag after setting
    /// it down, 0..=30. Default: 0.8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crouch_s: Option<f32>,
    /// Bin room: people who walk in, crouch by the bins a few seconds (tie a
    /// shoe, look in a bag) and leave nothing, 0..=4. Default: 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crouchers: Option<u32>,
    // Throwing (issue 14, hard suite): camera shake and drift, facade texture, late pick-up.
    /// Camera shake: each frame is shifted by a fresh random offset of up to
    /// this many pixels each way (bilinear, so sub-pixel), replacing the
    /// scene's mild default wander; 0 = a steady camera (0..=8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shake_px: Option<f32>,
    /// Slow camera drift: the view moves this many pixels over the clip, in a
    /// direction drawn from the seed (0..=20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_px: Option<f32>,
    /// Tower: contrast of the facade's texture, times the usual (1..=8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub texture: Option<f32>,
    /// Throws: the object is hidden (behind a ledge) for this many seconds
    /// after release, then fades in over 0.2 s, so tracking starts late (0..=3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_s: Option<f32>,
}

impl Params {
    /// Parses `key=value,key=value` (the `--params` flag).
    pub fn parse(text: &str) -> Result<Params, SceneError> {
        let mut p = Params::default();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, value) = item.split_once('=').ok_or_else(|| SceneError::BadParam {
                key: item.to_string(),
                message: "expected key=value".into(),
            })?;
            let bad = |m: &str| SceneError::BadParam {
                key: key.to_string(),
                message: format!("{m}, got `{value}`"),
            };
            let num = || value.parse::<f32>().map_err(|_| bad("expected a number"));
            let int = || {
                value
                    .parse::<u32>()
                    .map_err(|_| bad("expected a whole number"))
            };
            match key {
                "size_px" => p.size_px = Some(num()?),
                "floor" => p.floor = Some(int()?),
                "column" => p.column = Some(int()?),
                "style" => {
                    if value != "drop" && value != "toss" {
                        return Err(bad("expected drop or toss"));
                    }
                    p.style = Some(value.to_string())
                }
                "px_per_m" => p.px_per_m = Some(num()?),
                "dwell_s" => p.dwell_s = Some(num()?),
                "removed_after_s" => p.removed_after_s = Some(num()?),
                "duration_s" => p.duration_s = Some(num()?),
                "bitrate_kbps" => p.bitrate_kbps = Some(int()?),
                "bag_depth" => p.bag_depth = Some(num()?),
                "bag_scale" => p.bag_scale = Some(num()?),
                "crouch_s" => p.crouch_s = Some(num()?),
                "crouchers" => p.crouchers = Some(int()?),
                "shake_px" => p.shake_px = Some(num()?),
                "drift_px" => p.drift_px = Some(num()?),
                "texture" => p.texture = Some(num()?),
                "late_s" => p.late_s = Some(num()?),
                _ => {
                    return Err(SceneError::BadParam {
                        key: key.to_string(),
                        message: "unknown; expected size_px, floor, column, style, px_per_m, dwell_s, removed_after_s, duration_s, bitrate_kbps, bag_depth, bag_scale, crouch_s, crouchers, shake_px, drift_px, texture or late_s".into(),
                    })
                }
            }
        }
        p.validate()?;
        Ok(p)
    }

    fn validate(&self) -> Result<(), SceneError> {
        let bad = |key: &str, message: String| {
            Err(SceneError::BadParam {
                key: key.into(),
                message,
            })
        };
        if let Some(s) = self.size_px {
            if !(2.0..=80.0).contains(&s) {
                return bad("size_px", format!("must be 2..=80, got {s}"));
            }
        }
        if let Some(v) = self.px_per_m {
            if !(3.0..=60.0).contains(&v) {
                return bad("px_per_m", format!("must be 3..=60, got {v}"));
            }
        }
        if let Some(v) = self.dwell_s {
            if !(1.0..=600.0).contains(&v) {
                return bad("dwell_s", format!("must be 1..=600, got {v}"));
            }
        }
        if let Some(v) = self.duration_s {
            if !(1.0..=900.0).contains(&v) {
                return bad("duration_s", format!("must be 1..=900, got {v}"));
            }
        }
        let ranges = [
            ("bag_depth", self.bag_depth, 0.0, 1.0),
            ("bag_scale", self.bag_scale, 0.1, 0.6),
            ("crouch_s", self.crouch_s, 0.0, 30.0),
            ("crouchers", self.crouchers.map(|n| n as f32), 0.0, 4.0),
        ];
        for (key, v, lo, hi) in ranges {
            if let Some(v) = v.filter(|v| !(lo..=hi).contains(v)) {
                return bad(key, format!("must be {lo}..={hi}, got {v}"));
            }
        }
        for (key, v, max) in [
            ("shake_px", self.shake_px, 8.0),
            ("drift_px", self.drift_px, 20.0),
            ("late_s", self.late_s, 3.0),
        ] {
            if let Some(v) = v {
                if !(0.0..=max).contains(&v) {
                    return bad(key, format!("must be 0..={max}, got {v}"));
                }
            }
        }
        if let Some(v) = self.texture {
            if !(1.0..=8.0).contains(&v) {
                return bad("texture", format!("must be 1..=8, got {v}"));
            }
        }
        Ok(())
    }
}

/// Everything needed to render one clip again, bit for bit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClipSpec {
    /// File stem of the clip; also the camera name used when replaying it.
    pub name: String,
    pub kind: Kind,
    pub seed: u64,
    pub variant: Variant,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// Extra negatives of the same scene drawn into the clip.
    #[serde(default)]
    pub with: Vec<Kind>,
    #[serde(default)]
    pub params: Params,
}

impl ClipSpec {
    /// A spec with the defaults for `kind`: 640×360, the kind's usual rate
    /// and lighting, named `<kind>-<seed>`.
    pub fn new(kind: Kind, seed: u64) -> ClipSpec {
        let (fps, variant) = match kind.scene() {
            Scene::Tower => (15, Variant::Day),
            Scene::Shed => (
                10,
                if kind == Kind::Sunlight {
                    Variant::Day
                } else {
                    Variant::Night
                },
            ),
            Scene::Binroom | Scene::Real => (5, Variant::Day),
        };
        ClipSpec {
            name: format!("{}-{seed}", kind.as_str()),
            kind,
            seed,
            variant,
            width: 640,
            height: 360,
            fps,
            with: Vec::new(),
            params: Params::default(),
        }
    }

    fn validate(&self) -> Result<(), SceneError> {
        let bad = |key: &str, message: String| {
            Err(SceneError::BadParam {
                key: key.into(),
                message,
            })
        };
        if self.width % 2 != 0 || !(64..=3840).contains(&self.width) {
            return bad(
                "width",
                format!("must be even, 64..=3840, got {}", self.width),
            );
        }
        if self.height % 2 != 0 || !(64..=2160).contains(&self.height) {
            return bad(
                "height",
                format!("must be even, 64..=2160, got {}", self.height),
            );
        }
        if !(1..=60).contains(&self.fps) {
            return bad("fps", format!("must be 1..=60, got {}", self.fps));
        }
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return bad(
                "name",
                format!(
                    "must be letters, digits, `-`, `_`, `.`, got `{}`",
                    self.name
                ),
            );
        }
        for w in &self.with {
            if w.scene() != self.kind.scene() {
                return Err(SceneError::WrongScene {
                    with: w.as_str().to_string(),
                    scene: self.kind.scene().as_str(),
                    other: w.scene().as_str(),
                });
            }
            if w.is_incident() {
                return bad(
                    "with",
                    format!(
                        "`{}` is an incident; `with` takes negatives only",
                        w.as_str()
                    ),
                );
            }
        }
        self.params.validate()
    }
}

/// Where a thrown object came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// 0 = ground floor.
    pub floor: u32,
    /// 0 = leftmost column of units.
    pub column: u32,
}

/// One thing an analyzer should alert on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// `throwing`, `fire`, `smoke` or `garbage` (alert kind names).
    pub kind: String,
    /// When it starts: a throw's release, the first flame or smoke, the moment a bag is left.
    pub start_ms: u64,
    /// When it is over: the object out of sight, the clip's end, or the bag removed.
    pub end_ms: u64,
    /// Per frame while visible: `[t_ms, x, y, w, h]`, box normalised to the frame.
    pub track: Vec<[f64; 5]>,
    /// Throws only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// Throws: the object's size in pixels at release (for recall by size).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_px: Option<f32>,
    /// Garbage: when whoever left the bag has moved off it (their box no
    /// longer overlaps the bag's); an alert's "left" panel should be at or
    /// after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clear_ms: Option<u64>,
}

/// A named polygon, normalised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Zone {
    pub name: String,
    pub polygon: Vec<[f32; 2]>,
}

/// The tower's geometry, from which an analyzer's facade calibration is made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Facade {
    /// The visible facade (a trapezoid; perspective narrows it upwards).
    pub polygon: Vec<[f32; 2]>,
    /// `floor_rows[k]` is the image row (normalised y) of the slab under floor
    /// `k`; floor `k` spans rows `floor_rows[k+1]..floor_rows[k]`. The last
    /// entry is the roof line or the top of the frame if the roof is cut off.
    pub floor_rows: Vec<f32>,
    /// Column boundaries as fractions across the facade (0 = left edge, 1 =
    /// right edge) at any row; exact under the camera's perspective.
    pub column_fractions: Vec<f32>,
    /// The same boundaries as image segments `[[x_bottom, y_bottom], [x_top, y_top]]`.
    pub column_lines: Vec<[[f32; 2]; 2]>,
    /// Vertical pixels per metre (in clip pixels) at each `floor_rows` entry.
    pub px_per_m: Vec<f32>,
    /// Storey height in metres.
    pub floor_height_m: f32,
    /// Camera model used: focal length (px), distance to the facade (m), upward tilt (deg).
    pub focal_px: f32,
    pub distance_m: f32,
    pub tilt_deg: f32,
}

/// Calibration for the analyzers: zones to watch, zones to ignore, known lights.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facade: Option<Facade>,
    /// Regions the scene's analyzer should watch (the shed, the ground by the bins).
    #[serde(default)]
    pub zones: Vec<Zone>,
    /// Regions to exclude (sky, hedges, road).
    #[serde(default)]
    pub exclude: Vec<Zone>,
    /// Known light sources that may be masked (lamps, beacons).
    #[serde(default)]
    pub lights: Vec<Zone>,
}

/// Analyzer settings the clip was made for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Hints {
    /// The garbage dwell the clip assumes, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub garbage_dwell_s: Option<f32>,
    /// Real footage only: replay it with every incident analyzer on (a
    /// facade over the whole frame, a fire zone over the whole frame and a
    /// garbage zone over the lower half), as the hard suite does.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all_analyzers: bool,
}

/// The ground-truth file written beside each clip (`<name>.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// [`GENERATOR_VERSION`] that rendered it, or `real` for real footage.
    pub generator: String,
    /// The video file name, relative to the truth file's folder.
    pub clip: String,
    pub seed: u64,
    pub scene: Scene,
    pub variant: Variant,
    pub fps: u32,
    pub width: u32,
    pub height: u32,
    pub frames: u64,
    pub duration_ms: u64,
    pub incidents: Vec<Incident>,
    /// Hard negatives present, e.g. `bird_level`.
    pub negatives: Vec<String>,
    pub calibration: Calibration,
    #[serde(default)]
    pub hints: Hints,
    /// The spec it was rendered from (absent for real footage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<ClipSpec>,
}

impl Truth {
    /// Reads a truth file.
    pub fn load(path: &Path) -> Result<Truth, SceneError> {
        let text = std::fs::read_to_string(path).map_err(|source| SceneError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| SceneError::Truth {
            path: path.to_path_buf(),
            source,
        })
    }

    /// When `incident` can first be seen, stream ms: its start, except for
    /// a throw rendered with `late_s` (hidden behind a ledge for that long
    /// after release, then fading in), which comes into view at
    /// `start_ms + late_s`. The scorecard counts delay from here
    /// (`docs/scenes.md`, "Delay").
    pub fn visible_ms(&self, incident: &Incident) -> u64 {
        let late_s = self
            .spec
            .as_ref()
            .and_then(|s| s.params.late_s)
            .filter(|l| *l > 0.0 && incident.kind == "throwing");
        match late_s {
            Some(l) => (incident.start_ms + (l * 1000.0).round() as u64).min(incident.end_ms),
            None => incident.start_ms,
        }
    }

    /// The clip's stem: the camera name its alerts carry.
    pub fn stem(&self) -> &str {
        self.clip
            .rsplit_once('.')
            .map(|(s, _)| s)
            .unwrap_or(&self.clip)
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
