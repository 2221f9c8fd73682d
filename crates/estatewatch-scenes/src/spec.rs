//! What a clip is: its scene, kind, variant and parameters ([`ClipSpec`]).

use crate::SceneError;
use serde::{Deserialize, Serialize};

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
    // A bin pushed aside (`bin_moved`; scene_binroom/distractors.rs). Each
    // knob replaces one seeded draw and leaves every other draw as it was.
    /// Bin room, `bin_moved`: how far the bin is pushed, in bin widths
    /// (0.1..=2; a nudge to past its own width). Default: 0.08..0.18 of the
    /// frame width, drawn from the seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_widths: Option<f32>,
    /// Bin room, `bin_moved`: direction of the push in degrees, 0 = to the
    /// right, 90 = straight towards the camera, 180 = to the left (0..=180).
    /// Default: left or right, with up to 0.12 of the frame height towards
    /// the camera, drawn from the seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_deg: Option<f32>,
    /// Bin room, `bin_moved`: colour of the moved bin (daylight values,
    /// darkened at night like the others): one of [`BIN_COLOURS`]. `floor`
    /// is the ground's own colour a little darker (a bin that barely stands
    /// out). Default: one of the first four, drawn from the seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bin_colour: Option<String>,
    /// Bin room, `garbage` with `bin_moved`: the bag is set down beside the
    /// moved bin's new place, its middle this many bin widths past the
    /// bin's side (the side the bin was pushed towards; in front of the bin
    /// when that is out of the picture), 1 s after the push ends (0..=3).
    /// Default: the bag's usual place and time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bag_by_bin: Option<f32>,
}

/// Names `bin_colour` takes, with their daylight colours.
pub const BIN_COLOURS: &[(&str, [f32; 3])] = &[
    ("green", [40.0, 110.0, 50.0]),
    ("grey", [90.0, 95.0, 100.0]),
    ("blue", [40.0, 70.0, 150.0]),
    ("brown", [110.0, 80.0, 50.0]),
    ("black", [28.0, 28.0, 30.0]),
    ("white", [225.0, 225.0, 220.0]),
    ("floor", [0.0, 0.0, 0.0]),
];

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
                "push_widths" => p.push_widths = Some(num()?),
                "push_deg" => p.push_deg = Some(num()?),
                "bin_colour" => {
                    if !BIN_COLOURS.iter().any(|(n, _)| *n == value) {
                        let names: Vec<&str> = BIN_COLOURS.iter().map(|(n, _)| *n).collect();
                        return Err(bad(&format!("expected one of {}", names.join(", "))));
                    }
                    p.bin_colour = Some(value.to_string())
                }
                "bag_by_bin" => p.bag_by_bin = Some(num()?),
                _ => {
                    return Err(SceneError::BadParam {
                        key: key.to_string(),
                        message: "unknown; expected size_px, floor, column, style, px_per_m, dwell_s, removed_after_s, duration_s, bitrate_kbps, bag_depth, bag_scale, crouch_s, crouchers, shake_px, drift_px, texture, late_s, push_widths, push_deg, bin_colour or bag_by_bin".into(),
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
            ("push_widths", self.push_widths, 0.1, 2.0),
            ("push_deg", self.push_deg, 0.0, 180.0),
            ("bag_by_bin", self.bag_by_bin, 0.0, 3.0),
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
        if let Some(c) = &self.bin_colour {
            if !BIN_COLOURS.iter().any(|(n, _)| n == c) {
                return bad("bin_colour", format!("unknown colour `{c}`"));
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

    pub(crate) fn validate(&self) -> Result<(), SceneError> {
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
