//! Configuration: the TOML file an installer writes, its serde structs, and
//! validation that reports every problem at once with its field path.
//!
//! Loading is two steps. [`Config::parse`] turns text into structs (syntax
//! errors and unknown fields are reported by serde with their line), then
//! [`Config::validate`] checks ranges, references and files and returns a list
//! of [`ConfigProblem`]s such as `cameras[2].detect.fps: must be 1..=30, got 0`.
//! Secrets (camera and MQTT passwords) may come from the file, from a file named
//! in the config, or from an environment variable; they are resolved by
//! [`Secret::resolve`] and never printed (see [`redact_url`]).

use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// Errors that stop a config from being loaded at all.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("config file {path} has {} problem(s):\n{}", problems.len(), problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid {
        path: PathBuf,
        problems: Vec<ConfigProblem>,
    },
}

/// One validation problem, with the dotted path of the field it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub path: String,
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The estate this gateway serves. Required.
    pub site: SiteConfig,
    /// This gateway's identity. Required.
    pub gateway: GatewayConfig,
    /// Where alerts are published. Default: a broker on 127.0.0.1:1883.
    #[serde(default)]
    pub mqtt: MqttConfig,
    /// The on-disk outbox that holds alerts until the broker acknowledges them.
    /// Default: `/var/lib/estatewatch/outbox.db` with the caps below.
    #[serde(default)]
    pub outbox: OutboxConfig,
    /// ONNX Runtime settings. Default: the library installed by `make setup`.
    #[serde(default)]
    pub runtime: RuntimeConfig,
    /// The local health/metrics endpoint and the MQTT stats topic.
    /// Default: `127.0.0.1:9807`, stats every 60 s.
    #[serde(default)]
    pub health: HealthConfig,
    /// The cameras. Default: none (the daemon then only delivers queued alerts).
    #[serde(default)]
    pub cameras: Vec<CameraConfig>,
    /// Sensors read from MQTT topics, with their rules (`docs/sensors.md`).
    /// Default: none.
    #[serde(default)]
    pub sensors: Vec<crate::sensors::config::SensorConfig>,
    /// A separate local broker for sensors with `broker = "local"`, same keys
    /// as `[mqtt]`. Default: absent (sensors use the `[mqtt]` broker).
    #[serde(default)]
    pub sensor_broker: Option<MqttConfig>,
    /// Fusion of camera fire/smoke alerts with sensor alerts. Default:
    /// enabled, 60 s window.
    #[serde(default)]
    pub fusion: crate::sensors::config::FusionConfig,
}

/// `[site]`: the estate.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// Short id used in alerts, e.g. `harbour-view`. Required; letters, digits, `-`, `_`, `.`.
    pub id: String,
    /// Human-readable name for staff. Default: the id.
    #[serde(default)]
    pub name: Option<String>,
}

/// `[gateway]`: this box.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// Id used in MQTT topics, e.g. `gw-tower-a`. Required; letters, digits, `-`, `_`, `.`.
    pub id: String,
}

/// `[mqtt]`: the broker that receives alerts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttConfig {
    /// Broker host name or address. Default: `127.0.0.1`.
    #[serde(default = "default_mqtt_host")]
    pub host: String,
    /// Broker port. Default: 1883 (8883 is usual with TLS).
    #[serde(default = "default_mqtt_port")]
    pub port: u16,
    /// MQTT client id. Default: `estatewatch-<gateway.id>`.
    #[serde(default)]
    pub client_id: Option<String>,
    /// First level of every topic. Default: `estatewatch`.
    #[serde(default = "default_topic_prefix")]
    pub topic_prefix: String,
    /// Username for the broker. Default: none (anonymous).
    #[serde(default)]
    pub username: Option<String>,
    /// Password for the broker. Default: none.
    #[serde(default, flatten)]
    pub password: Secret,
    /// Keep-alive interval in seconds, 5..=3600. Default: 30.
    #[serde(default = "default_keep_alive")]
    pub keep_alive_s: u64,
    /// Attach the annotated JPEG snapshot to video alerts (base64 in the
    /// alert's `snapshot` field). Default: true.
    #[serde(default = "default_true")]
    pub embed_snapshots: bool,
    /// TLS settings; absent means plain TCP. Default: absent.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
}

/// `[mqtt.tls]`: TLS to the broker.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM file of the CA that signed the broker's certificate. Required.
    pub ca_file: PathBuf,
    /// PEM client certificate, for brokers that require one. Default: none.
    #[serde(default)]
    pub client_cert: Option<PathBuf>,
    /// PEM private key for `client_cert`. Required when `client_cert` is set.
    #[serde(default)]
    pub client_key: Option<PathBuf>,
}

/// `[outbox]`: the SQLite store-and-forward queue.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxConfig {
    /// SQLite file. Default: `/var/lib/estatewatch/outbox.db`.
    #[serde(default = "default_outbox_path")]
    pub path: PathBuf,
    /// Most alerts kept while undelivered, >= 1. Default: 100000.
    #[serde(default = "default_max_rows")]
    pub max_rows: u64,
    /// Most bytes of alert payload kept while undelivered, >= 64 KiB. Default: 536870912 (512 MiB).
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
    /// Drop undelivered alerts older than this many hours. Default: none (keep until delivered or capped).
    #[serde(default)]
    pub ttl_hours: Option<u64>,
}

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
    /// Folder that holds model folders. Default: `models/` beside the project, or `/usr/share/estatewatch/models`.
    #[serde(default)]
    pub models_dir: Option<PathBuf>,
}

/// `[health]`: the HTTP endpoint (`/healthz`, Prometheus `/metrics`) and the
/// retained JSON stats on `<prefix>/<gateway>/stats`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthConfig {
    /// Address the HTTP endpoint listens on; an empty string turns it off.
    /// Default: `127.0.0.1:9807` (local only: it has no authentication).
    #[serde(default = "default_health_listen")]
    pub listen: String,
    /// Seconds between retained stats messages; 0 turns them off. Default: 60.
    #[serde(default = "default_stats_interval")]
    pub stats_interval_s: u64,
    /// An analysis worker that has not ticked for this many seconds makes
    /// `/healthz` answer 503, 1..=3600. Default: 15.
    #[serde(default = "default_hung_after")]
    pub hung_after_s: u64,
    /// The MQTT broker unreachable for more than this many seconds makes
    /// `/healthz` answer 503, 0..=86400; 0 never does. Default: 60.
    #[serde(default = "default_broker_down_after")]
    pub broker_down_after_s: u64,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            listen: default_health_listen(),
            stats_interval_s: default_stats_interval(),
            hung_after_s: default_hung_after(),
            broker_down_after_s: default_broker_down_after(),
        }
    }
}

fn default_health_listen() -> String {
    "127.0.0.1:9807".into()
}
fn default_stats_interval() -> u64 {
    60
}
fn default_hung_after() -> u64 {
    15
}
fn default_broker_down_after() -> u64 {
    60
}

impl HealthConfig {
    /// The listen address, or `None` when the endpoint is off.
    pub fn listen_addr(&self) -> Option<std::net::SocketAddr> {
        self.listen.trim().parse().ok()
    }

    fn check(&self, p: &mut Vec<ConfigProblem>) {
        let listen = self.listen.trim();
        if !listen.is_empty() && listen.parse::<std::net::SocketAddr>().is_err() {
            push(
                p,
                "health.listen",
                format!("must be IP:PORT such as 127.0.0.1:9807, or \"\" to turn it off; got {listen:?}"),
            );
        }
        if !(1..=3600).contains(&self.hung_after_s) {
            push(
                p,
                "health.hung_after_s",
                format!("must be 1..=3600, got {}", self.hung_after_s),
            );
        }
        if self.stats_interval_s > 86_400 {
            push(
                p,
                "health.stats_interval_s",
                format!("must be 0..=86400, got {}", self.stats_interval_s),
            );
        }
        if self.broker_down_after_s > 86_400 {
            push(
                p,
                "health.broker_down_after_s",
                format!("must be 0..=86400, got {}", self.broker_down_after_s),
            );
        }
    }
}

/// `[[cameras]]`: one camera.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraConfig {
    /// Unique name, used in topics and alerts. Required; letters, digits, `-`, `_`, `.`.
    pub name: String,
    /// `rtsp://[user@]host[:port]/path`, `rtsps://…`, or `file:///path` for a
    /// recorded clip. A password may be written in the URL, but prefer
    /// `password_file` or `password_env`. Required.
    pub url: String,
    /// Password for the RTSP URL's user, kept out of the config text. Default: none.
    #[serde(default, flatten)]
    pub password: Secret,
    /// RTSP lower transport: `tcp` or `udp`. Default: `tcp`.
    #[serde(default)]
    pub transport: Transport,
    /// Whether the camera is used. Default: true.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// The size and rate frames are analysed at. Default: 640×360 at 10 fps.
    #[serde(default)]
    pub detect: DetectConfig,
    /// Seconds without a frame before the stream counts as stalled and is
    /// rebuilt, 1..=600. Default: 10.
    #[serde(default = "default_stall_timeout")]
    pub stall_timeout_s: u64,
    /// Seconds a camera may be down before a `camera_offline` alert is raised,
    /// 0..=3600. Default: 30.
    #[serde(default = "default_offline_grace")]
    pub offline_grace_s: u64,
    /// First reconnect delay in milliseconds, 100..=60000. Default: 1000.
    #[serde(default = "default_backoff_min")]
    pub reconnect_min_ms: u64,
    /// Longest reconnect delay in milliseconds, >= reconnect_min_ms, <= 600000. Default: 30000.
    #[serde(default = "default_backoff_max")]
    pub reconnect_max_ms: u64,
    /// Analyzers run on this camera. Default: none.
    #[serde(default)]
    pub analyzers: AnalyzersConfig,
}

/// `[cameras.detect]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectConfig {
    /// Frame width after scaling, even, 32..=3840. Default: 640.
    #[serde(default = "default_width")]
    pub width: u32,
    /// Frame height after scaling, even, 32..=2160. Default: 360.
    #[serde(default = "default_height")]
    pub height: u32,
    /// Frames per second delivered to analysis, 1..=30. Default: 10.
    #[serde(default = "default_fps")]
    pub fps: u32,
}

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

/// `[cameras.analyzers.garbage]`: alerts when a new object stays on the ground
/// in a zone for `dwell_s` with nobody at the spot. See `docs/garbage.md`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GarbageConfig {
    /// Seconds an object must stay before the alert, 1..=3600. Default: 60.
    #[serde(default = "default_garbage_dwell")]
    pub dwell_s: f32,
    /// Seconds without any motion at the spot before the alert, 0..=60. Default: 3.
    #[serde(default = "default_garbage_quiet")]
    pub quiet_s: f32,
    /// Seconds an object must be gone before its alert ends, 0.5..=60. Default: 2.
    #[serde(default = "default_garbage_removal")]
    pub removal_s: f32,
    /// Smallest object box, as a fraction of the frame area, > 0 and < max_area.
    /// Default: 0.0008 (about 13×13 px at 640×360).
    #[serde(default = "default_garbage_min_area")]
    pub min_area: f32,
    /// Largest object box, as a fraction of the frame area, <= 1; bigger changes
    /// (moved bins, light patches) are accepted into the background. Default: 0.02
    /// (about 68×68 px at 640×360).
    #[serde(default = "default_garbage_max_area")]
    pub max_area: f32,
    /// Tallest object box, height / width, 0.5..=10: taller static shapes are
    /// treated as standing people and never alerted. Default: 2.0.
    #[serde(default = "default_garbage_max_aspect")]
    pub max_aspect: f32,
    /// Colour difference (0..255, on cell means) that counts as change on flat
    /// ground, 4..=128; the analyzer raises it further with measured noise. Default: 14.
    #[serde(default = "default_garbage_threshold")]
    pub threshold: f32,
    /// Time constant of the long-term background, seconds, 30..=3600. Default: 300.
    #[serde(default = "default_garbage_background")]
    pub background_s: f32,
    /// Use the shipped COCO detector (when the models are available) to make sure
    /// no person is at the spot and to find who left the object. Default: true.
    #[serde(default = "default_true")]
    pub person_detector: bool,
    /// Lowest crop-classifier `bag_like` score that may alert, 0..=1. Default: none
    /// (the score is only reported in `details.bag_like`).
    #[serde(default)]
    pub min_bag_like: Option<f32>,
    /// Zones (normalised polygons) where objects count: an object counts when the
    /// middle of its bottom edge is inside one. Default: the whole frame.
    #[serde(default)]
    pub zones: Vec<ZoneConfig>,
}

impl Default for GarbageConfig {
    fn default() -> Self {
        GarbageConfig {
            dwell_s: default_garbage_dwell(),
            quiet_s: default_garbage_quiet(),
            removal_s: default_garbage_removal(),
            min_area: default_garbage_min_area(),
            max_area: default_garbage_max_area(),
            max_aspect: default_garbage_max_aspect(),
            threshold: default_garbage_threshold(),
            background_s: default_garbage_background(),
            person_detector: true,
            min_bag_like: None,
            zones: Vec::new(),
        }
    }
}

impl GarbageConfig {
    fn check(&self, base: &str, p: &mut Vec<ConfigProblem>) {
        let mut range = |field: &str, v: f32, lo: f32, hi: f32| {
            if !(v >= lo && v <= hi) {
                push(
                    p,
                    format!("{base}.{field}"),
                    format!("must be {lo}..={hi}, got {v}"),
                );
            }
        };
        range("dwell_s", self.dwell_s, 1.0, 3600.0);
        range("quiet_s", self.quiet_s, 0.0, 60.0);
        range("removal_s", self.removal_s, 0.5, 60.0);
        range("max_area", self.max_area, 1e-6, 1.0);
        range("max_aspect", self.max_aspect, 0.5, 10.0);
        range("threshold", self.threshold, 4.0, 128.0);
        range("background_s", self.background_s, 30.0, 3600.0);
        if let Some(b) = self.min_bag_like {
            range("min_bag_like", b, 0.0, 1.0);
        }
        if !(self.min_area > 0.0 && self.min_area < self.max_area) {
            push(
                p,
                format!("{base}.min_area"),
                format!(
                    "must be > 0 and < max_area ({}), got {}",
                    self.max_area, self.min_area
                ),
            );
        }
        check_zones(&self.zones, &format!("{base}.zones"), p);
    }
}

/// `[cameras.analyzers.motion]`: raises a `motion` alert when enough of a zone changes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MotionConfig {
    /// Fraction of the zone's pixels that must change, 0 < x <= 1. Default: 0.02.
    #[serde(default = "default_motion_fraction")]
    pub min_changed_fraction: f32,
    /// Per-pixel luma difference that counts as change, 1..=255. Default: 25.
    #[serde(default = "default_motion_threshold")]
    pub pixel_threshold: u8,
    /// Seconds after an alert before the next one. Default: 30.
    #[serde(default = "default_motion_cooldown")]
    pub cooldown_s: u64,
    /// Zones (polygons in normalised 0..1 coordinates) the analyzer looks at. Default: the whole frame.
    #[serde(default)]
    pub zones: Vec<ZoneConfig>,
}

/// `[cameras.analyzers.fire]`: flame and smoke detection without a model
/// (colour, flicker, growth, persistence; smoke by softened edges), with an
/// optional ONNX second opinion. Tuning guide: `docs/fire.md`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FireConfig {
    /// Raise `fire` alerts (flames). Default: true.
    #[serde(default = "default_true")]
    pub flame: bool,
    /// Raise `smoke` alerts. Default: true.
    #[serde(default = "default_true")]
    pub smoke: bool,
    /// Where to look, each with its own sensitivity. Default: the whole frame at sensitivity 0.5.
    #[serde(default)]
    pub zones: Vec<FireZoneConfig>,
    /// Polygons never looked at: known light sources such as a flashing
    /// beacon, a lamp or a charger LED. Default: none.
    #[serde(default)]
    pub masks: Vec<ZoneConfig>,
    /// N: frames out of the last `confirm_window` in which every flame cue must
    /// hold before a `fire` alert is raised, 1..=confirm_window. Default: 8.
    #[serde(default = "default_fire_confirm_frames")]
    pub confirm_frames: u32,
    /// M: the confirmation window in frames, 1..=64. Default: 12 (1.2 s at 10 fps).
    #[serde(default = "default_fire_confirm_window")]
    pub confirm_window: u32,
    /// N for `smoke` alerts: frames out of the last `confirm_window` in which
    /// a smoke region must hit, 1..=confirm_window. A smoke hit already holds
    /// a second of evidence (see `docs/fire.md`), so fewer are needed.
    /// Default: half of `confirm_window`, rounded up (6 of 12).
    #[serde(default)]
    pub smoke_confirm_frames: Option<u32>,
    /// Smallest flame that counts, as a fraction of the frame's area, at
    /// sensitivity 0.5, 0 < x <= 0.5. Default: 0.00012 (about 28 pixels, a
    /// 5×5 flame, at 640×360).
    #[serde(default = "default_fire_min_flame_area")]
    pub min_flame_area: f32,
    /// Smallest smoke region that counts, as a fraction of the frame's area, at
    /// sensitivity 0.5, 0 < x <= 0.5. Default: 0.0018 (about 415 pixels at 640×360).
    #[serde(default = "default_fire_min_smoke_area")]
    pub min_smoke_area: f32,
    /// An `update` is sent when the burning (or smoking) area has grown by this
    /// factor since the last message, >= 1.1. Default: 1.5.
    #[serde(default = "default_fire_update_growth")]
    pub update_growth: f32,
    /// Fewest seconds between two `update`s of one incident, 0..=3600. Default: 5.
    #[serde(default = "default_fire_update_interval")]
    pub update_interval_s: f32,
    /// Seconds with no confirmed sighting after which the incident ends, 1..=3600. Default: 20.
    #[serde(default = "default_fire_end_after")]
    pub end_after_s: f32,
    /// Ask the shipped crop classifier (EfficientNet-Lite0, `flame_like` group)
    /// for a second opinion on flame candidates before alerting. Default: false
    /// (it did not improve the scene scorecard; see `docs/fire.md`).
    #[serde(default)]
    pub classifier: bool,
    /// Least `flame_like` score the classifier must give, 0..=1. Default: 0.05.
    #[serde(default = "default_fire_classifier_min")]
    pub classifier_min_score: f32,
    /// An integrator's fire/smoke ONNX detector. Default: none.
    #[serde(default)]
    pub detector: Option<FireDetectorConfig>,
    /// Not a key: the file's `[runtime]` table, copied here by
    /// [`Config::parse`] so the models above load from `runtime.models_dir`.
    #[serde(skip)]
    pub runtime: RuntimeConfig,
}

/// A fire zone: a polygon and how eager to be inside it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FireZoneConfig {
    /// Zone name reported in alerts. Required.
    pub name: String,
    /// At least three `[x, y]` points, each in 0..=1. Required.
    pub polygon: Vec<[f32; 2]>,
    /// 0..=1: higher finds smaller, calmer flames and thinner smoke sooner, at
    /// more risk of false alerts. Each 0.25 step scales the area, flicker and
    /// smoke thresholds by about 1.4×. Default: 0.5.
    #[serde(default = "default_fire_sensitivity")]
    pub sensitivity: f32,
}

/// `[cameras.analyzers.fire.detector]`: an integrator's ONNX fire/smoke detector.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FireDetectorConfig {
    /// Model folder name under `runtime.models_dir` (holding a `model.toml`
    /// whose `name` is the folder's). Required.
    pub model: String,
    /// How the detector's boxes combine with the classic candidates:
    /// `confirm` (a classic candidate alerts only when a detector box of its
    /// kind overlaps it) or `replace` (detector boxes are the candidates;
    /// colour and flicker are not required). Default: `confirm`.
    #[serde(default)]
    pub fusion: FireFusion,
    /// Least detector score that counts, 0..=1. Default: 0.4.
    #[serde(default = "default_fire_detector_min")]
    pub min_score: f32,
    /// Run the detector on every n-th frame (its boxes hold until the next run), 1..=100. Default: 5.
    #[serde(default = "default_fire_detector_every")]
    pub every_n_frames: u32,
    /// Model class names that mean flame, overriding the model manifest's
    /// `[incidents] fire` list. Each must be one of the model's classes.
    /// Default: unset (the manifest's list).
    #[serde(default)]
    pub fire_classes: Option<Vec<String>>,
    /// Model class names that mean smoke, overriding the model manifest's
    /// `[incidents] smoke` list. Each must be one of the model's classes.
    /// Default: unset (the manifest's list).
    #[serde(default)]
    pub smoke_classes: Option<Vec<String>>,
}

/// How an integrator's detector and the classic candidates are fused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FireFusion {
    /// Both must agree: classic cues confirmed and a detector box overlapping.
    #[default]
    Confirm,
    /// The detector alone proposes candidates; N-of-M confirmation still applies.
    Replace,
}

/// `[cameras.analyzers.throwing]`: objects thrown or falling from a facade,
/// traced back to the floor and column they came from. See `docs/throwing.md`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrowingConfig {
    /// The facade polygon (normalised `[x, y]` points, at least three); only
    /// motion inside it is tracked. Default: the whole frame.
    #[serde(default)]
    pub facade: Vec<[f32; 2]>,
    /// How far beside the facade polygon objects are still followed, as a
    /// fraction of the frame width, 0..=0.5 (something tossed from an end
    /// column flies out past the facade's edge). Default: 0.06.
    #[serde(default = "default_facade_margin")]
    pub facade_margin: f32,
    /// Areas inside the facade to ignore: sky, trees, a road, a lift-shaft
    /// window. Default: none.
    #[serde(default)]
    pub exclude: Vec<ZoneConfig>,
    /// Where the floors are in the picture. Required.
    pub floors: Option<FloorsConfig>,
    /// Where the columns of units are. Default: one column spanning the frame.
    #[serde(default)]
    pub columns: Option<ColumnsConfig>,
    /// Template of the unit label reported in `details.origin.unit_label`;
    /// `{floor}` and `{column}` (the column's label) are replaced.
    /// Default: `"{floor}{column}"` (floor 12, column `03` → `1203`).
    #[serde(default = "default_unit_label")]
    pub unit_label: String,
    /// Score each accepted fall's crop with the shipped crop classifier
    /// (`efficientnet-lite0`, its `bird` group) and report it in
    /// `details.second_opinion`. Default: false (on the scene suite it
    /// removed no false alarm, there being none; see docs/throwing.md).
    #[serde(default)]
    pub second_opinion: bool,
    /// With `second_opinion`, drop a fall whose crop is a bird with at least
    /// this probability, 0..=1. Default: none (report only, never veto).
    #[serde(default)]
    pub bird_veto: Option<f32>,
    /// Pixel scale near the facade in detect-size pixels per metre, > 0. Default:
    /// derived from the floor lines and `floors.height_m` at each height.
    #[serde(default)]
    pub px_per_metre: Option<f32>,
    /// Smallest accepted vertical acceleration, as a fraction of free fall
    /// (9.81 m/s² at the pixel scale), 0 < x < max_g. Default: 0.5.
    #[serde(default = "default_min_g")]
    pub min_g: f32,
    /// Largest accepted vertical acceleration, as a multiple of free fall, <= 10. Default: 2.5.
    #[serde(default = "default_max_g")]
    pub max_g: f32,
    /// Largest accepted sideways acceleration, as a fraction of free fall, 0..=2. Default: 0.5.
    #[serde(default = "default_max_lateral_g")]
    pub max_lateral_g: f32,
    /// Smallest luma difference from the background that counts as an
    /// object, 1..=255 (the per-pixel noise level raises it where needed). Default: 10.
    #[serde(default = "default_throw_threshold")]
    pub pixel_threshold: u8,
    /// Camera shake tolerated without false motion, in pixels, 0..=3. Default: 1.
    #[serde(default = "default_shake_px")]
    pub shake_px: u8,
    /// Seconds over which the background adapts to slow change, 0.5..=120. Default: 4.
    #[serde(default = "default_learn_s")]
    pub background_s: f32,
    /// Smallest blob, in foreground pixels, 1..=1000. Default: 3.
    #[serde(default = "default_min_blob_px")]
    pub min_blob_px: u32,
    /// Largest blob side, in pixels, 4..=1000. Default: 64.
    #[serde(default = "default_max_blob_side_px")]
    pub max_blob_side_px: u32,
    /// Frames a track may go unseen and still continue, 0..=30. Default: 3.
    #[serde(default = "default_max_gap_frames")]
    pub max_gap_frames: u32,
    /// Seconds of track needed before deciding, 0.2..=3. Default: 0.5.
    #[serde(default = "default_min_track_s")]
    pub min_track_s: f32,
    /// Track points needed before deciding, 4..=100. Default: 5.
    #[serde(default = "default_min_points")]
    pub min_points: u32,
    /// Smallest drop, in pixels, before deciding, > 0. Default: 6.
    #[serde(default = "default_min_drop_px")]
    pub min_drop_px: f32,
    /// Largest RMS distance of track points from the fitted path, in pixels, > 0. Default: 1.5.
    #[serde(default = "default_max_residual_px")]
    pub max_residual_px: f32,
    /// How far back (seconds) the fitted path may be traced before the first
    /// observation, to where it was at rest, 0..=2. Default: 0.3.
    #[serde(default = "default_max_backtrack_s")]
    pub max_backtrack_s: f32,
    /// Objects at least this large (metres, estimated from the pixel scale)
    /// are `critical` rather than `major`, > 0. Default: 0.3.
    #[serde(default = "default_critical_size_m")]
    pub critical_size_m: f32,
    /// Seconds of recent frames kept to draw the trajectory over the frame
    /// where it started, 0.5..=10 (memory: one detect-size frame per frame
    /// kept). Default: 2.5.
    #[serde(default = "default_history_s")]
    pub history_s: f32,
}

/// `[cameras.analyzers.throwing.floors]`: the floor lines, either listed
/// (`rows`) or generated (`first_row`, `floor_height`, `count`, `perspective`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FloorsConfig {
    /// Normalised y of each floor line (the slab at the bottom of a floor),
    /// from the lowest visible floor upwards, ending with the line above the
    /// top floor (the roof line): N+1 strictly decreasing values for N
    /// floors. Default: none (use `first_row`).
    #[serde(default)]
    pub rows: Option<Vec<f32>>,
    /// Normalised y of the lowest floor line. Default: none (use `rows`).
    #[serde(default)]
    pub first_row: Option<f32>,
    /// Normalised height of the lowest floor in the picture, > 0. Required with `first_row`.
    #[serde(default)]
    pub floor_height: Option<f32>,
    /// Each floor's picture height divided by the one below it (looking up,
    /// higher floors look smaller), 0.5..=1.5. Default: 1.0.
    #[serde(default = "default_perspective")]
    pub perspective: f32,
    /// Number of floors above `first_row`, 1..=200. Required with `first_row`.
    #[serde(default)]
    pub count: Option<u32>,
    /// The number of the floor just above the lowest line. Default: 1.
    #[serde(default = "default_first_floor")]
    pub first: i32,
    /// Real height of one floor, in metres (sets the pixel scale), 2..=6. Default: 3.0.
    #[serde(default = "default_floor_height_m")]
    pub height_m: f32,
}

/// `[cameras.analyzers.throwing.columns]`: the vertical edges between columns of units.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnsConfig {
    /// Normalised x of the column edges at the lowest floor line, left to
    /// right, strictly increasing: N+1 values for N columns. Required.
    pub edges: Vec<f32>,
    /// The same edges at the top (roof) line, for a facade that narrows with
    /// height; edges are interpolated in between. Default: the same as `edges`.
    #[serde(default)]
    pub edges_top: Option<Vec<f32>>,
    /// A label per column, left to right. Default: `01`, `02`, …
    #[serde(default)]
    pub labels: Option<Vec<String>>,
}

/// A named polygon in normalised frame coordinates (0,0 top-left, 1,1 bottom-right).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneConfig {
    /// Zone name reported in alerts. Required.
    pub name: String,
    /// At least three `[x, y]` points, each in 0..=1. Required.
    pub polygon: Vec<[f32; 2]>,
}

/// RTSP lower transport.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// Interleaved over the RTSP TCP connection: works through NAT and firewalls.
    #[default]
    Tcp,
    /// RTP over UDP: lower latency on a clean LAN.
    Udp,
}

/// A password given inline, in a file, or in an environment variable.
/// At most one of the three may be set.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Secret {
    /// The password itself. Default: none.
    #[serde(default)]
    pub password: Option<String>,
    /// A file whose contents (trailing newline trimmed) are the password,
    /// e.g. a systemd credential. Default: none.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// An environment variable holding the password. Default: none.
    #[serde(default)]
    pub password_env: Option<String>,
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secret")
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("password_file", &self.password_file)
            .field("password_env", &self.password_env)
            .finish()
    }
}

impl Secret {
    /// True when no source is configured.
    pub fn is_empty(&self) -> bool {
        self.password.is_none() && self.password_file.is_none() && self.password_env.is_none()
    }

    /// Reads the password from wherever it is configured. `Ok(None)` when none is.
    /// Errors name the file or variable but never contain the secret.
    pub fn resolve(&self) -> Result<Option<String>, String> {
        if let Some(p) = &self.password {
            return Ok(Some(p.clone()));
        }
        if let Some(path) = &self.password_file {
            return std::fs::read_to_string(path)
                .map(|s| Some(s.trim_end_matches(['\r', '\n']).to_string()))
                .map_err(|e| format!("cannot read password file {}: {e}", path.display()));
        }
        if let Some(var) = &self.password_env {
            return std::env::var(var)
                .map(Some)
                .map_err(|_| format!("environment variable {var} is not set"));
        }
        Ok(None)
    }

    fn check(&self, path: &str, problems: &mut Vec<ConfigProblem>) {
        let set = [
            self.password.is_some(),
            self.password_file.is_some(),
            self.password_env.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if set > 1 {
            push(
                problems,
                format!("{path}.password"),
                "set only one of password, password_file, password_env",
            );
            return;
        }
        if let Err(e) = self.resolve() {
            let field = if self.password_file.is_some() {
                "password_file"
            } else {
                "password_env"
            };
            push(problems, format!("{path}.{field}"), e);
        }
    }
}

fn default_mqtt_host() -> String {
    "127.0.0.1".into()
}
fn default_mqtt_port() -> u16 {
    1883
}
fn default_topic_prefix() -> String {
    "estatewatch".into()
}
fn default_keep_alive() -> u64 {
    30
}
fn default_true() -> bool {
    true
}
fn default_outbox_path() -> PathBuf {
    PathBuf::from("/var/lib/estatewatch/outbox.db")
}
fn default_max_rows() -> u64 {
    100_000
}
fn default_max_bytes() -> u64 {
    512 * 1024 * 1024
}
fn default_stall_timeout() -> u64 {
    10
}
fn default_offline_grace() -> u64 {
    30
}
fn default_backoff_min() -> u64 {
    1000
}
fn default_backoff_max() -> u64 {
    30_000
}
fn default_width() -> u32 {
    640
}
fn default_height() -> u32 {
    360
}
fn default_fps() -> u32 {
    10
}
fn default_motion_fraction() -> f32 {
    0.02
}
fn default_motion_threshold() -> u8 {
    25
}
fn default_motion_cooldown() -> u64 {
    30
}
fn default_garbage_dwell() -> f32 {
    60.0
}
fn default_garbage_quiet() -> f32 {
    3.0
}
fn default_garbage_removal() -> f32 {
    2.0
}
fn default_garbage_min_area() -> f32 {
    0.0008
}
fn default_garbage_max_area() -> f32 {
    0.02
}
fn default_garbage_max_aspect() -> f32 {
    2.0
}
fn default_garbage_threshold() -> f32 {
    14.0
}
fn default_garbage_background() -> f32 {
    300.0
}

fn default_unit_label() -> String {
    "{floor}{column}".into()
}
fn default_facade_margin() -> f32 {
    0.06
}
fn default_min_g() -> f32 {
    0.5
}
fn default_max_g() -> f32 {
    2.5
}
fn default_max_lateral_g() -> f32 {
    0.5
}
fn default_throw_threshold() -> u8 {
    10
}
fn default_shake_px() -> u8 {
    1
}
fn default_learn_s() -> f32 {
    4.0
}
fn default_min_blob_px() -> u32 {
    3
}
fn default_max_blob_side_px() -> u32 {
    64
}
fn default_max_gap_frames() -> u32 {
    3
}
fn default_min_track_s() -> f32 {
    0.5
}
fn default_min_points() -> u32 {
    5
}
fn default_min_drop_px() -> f32 {
    6.0
}
fn default_max_residual_px() -> f32 {
    1.5
}
fn default_max_backtrack_s() -> f32 {
    0.3
}
fn default_critical_size_m() -> f32 {
    0.3
}
fn default_history_s() -> f32 {
    2.5
}
fn default_perspective() -> f32 {
    1.0
}
fn default_first_floor() -> i32 {
    1
}
fn default_floor_height_m() -> f32 {
    3.0
}

fn default_fire_confirm_frames() -> u32 {
    8
}
fn default_fire_confirm_window() -> u32 {
    12
}
fn default_fire_min_flame_area() -> f32 {
    0.00012
}
fn default_fire_min_smoke_area() -> f32 {
    0.0018
}
fn default_fire_update_growth() -> f32 {
    1.5
}
fn default_fire_update_interval() -> f32 {
    5.0
}
fn default_fire_end_after() -> f32 {
    20.0
}
fn default_fire_classifier_min() -> f32 {
    0.05
}
fn default_fire_sensitivity() -> f32 {
    0.5
}
fn default_fire_detector_min() -> f32 {
    0.4
}
fn default_fire_detector_every() -> u32 {
    5
}

impl Default for MqttConfig {
    fn default() -> Self {
        MqttConfig {
            host: default_mqtt_host(),
            port: default_mqtt_port(),
            client_id: None,
            topic_prefix: default_topic_prefix(),
            username: None,
            password: Secret::default(),
            keep_alive_s: default_keep_alive(),
            embed_snapshots: true,
            tls: None,
        }
    }
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            path: default_outbox_path(),
            max_rows: default_max_rows(),
            max_bytes: default_max_bytes(),
            ttl_hours: None,
        }
    }
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            width: default_width(),
            height: default_height(),
            fps: default_fps(),
        }
    }
}

impl MqttConfig {
    /// The client id actually used.
    pub fn client_id_for(&self, gateway: &str) -> String {
        self.client_id
            .clone()
            .unwrap_or_else(|| format!("estatewatch-{gateway}"))
    }
}

impl Config {
    /// The cameras' names, comma-separated, for messages such as "no camera X
    /// (cameras: a, b)".
    pub fn camera_names(&self) -> String {
        self.cameras
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Reads and parses a file, then validates it. Every problem is reported at once.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let config = Config::parse(&text).map_err(|message| ConfigError::Syntax {
            path: path.to_path_buf(),
            message,
        })?;
        let problems = config.validate();
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                problems,
            })
        }
    }

    /// Parses TOML text into structs without semantic checks.
    pub fn parse(text: &str) -> Result<Config, String> {
        let mut config: Config =
            toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())?;
        // The fire analyzer's optional models load with the file's runtime settings.
        for cam in &mut config.cameras {
            if let Some(f) = &mut cam.analyzers.fire {
                f.runtime = config.runtime.clone();
            }
        }
        Ok(config)
    }

    /// Checks everything serde cannot: ranges, uniqueness, files that must
    /// exist, secrets that must resolve. Returns every problem found.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut p = Vec::new();
        check_id(&self.site.id, "site.id", &mut p);
        check_id(&self.gateway.id, "gateway.id", &mut p);
        self.mqtt.check(&mut p);
        self.outbox.check(&mut p);
        self.runtime.check(&mut p);
        self.health.check(&mut p);
        let mut seen = std::collections::HashMap::new();
        for (i, cam) in self.cameras.iter().enumerate() {
            let path = format!("cameras[{i}]");
            if let Some(first) = seen.insert(cam.name.clone(), i) {
                push(
                    &mut p,
                    format!("{path}.name"),
                    format!(
                        "duplicate camera name {:?} (also cameras[{first}])",
                        cam.name
                    ),
                );
            }
            cam.check(&path, &mut p);
        }
        let names: Vec<&str> = self.cameras.iter().map(|c| c.name.as_str()).collect();
        crate::sensors::config::check(
            &self.sensors,
            &self.fusion,
            &names,
            self.sensor_broker.is_some(),
            &mut p,
        );
        if let Some(b) = &self.sensor_broker {
            let mut q = Vec::new();
            b.check(&mut q);
            p.extend(q.into_iter().map(|c| ConfigProblem {
                path: c.path.replacen("mqtt.", "sensor_broker.", 1),
                message: c.message,
            }));
        }
        p
    }

    /// The cameras that are enabled.
    pub fn enabled_cameras(&self) -> impl Iterator<Item = &CameraConfig> {
        self.cameras.iter().filter(|c| c.enabled)
    }
}

impl MqttConfig {
    fn check(&self, p: &mut Vec<ConfigProblem>) {
        if self.host.trim().is_empty() {
            push(p, "mqtt.host", "must not be empty");
        }
        if self.port == 0 {
            push(p, "mqtt.port", "must be 1..=65535, got 0");
        }
        if self.topic_prefix.is_empty()
            || self
                .topic_prefix
                .chars()
                .any(|c| matches!(c, '+' | '#' | '\0'))
            || self.topic_prefix.starts_with('/')
            || self.topic_prefix.ends_with('/')
        {
            push(
                p,
                "mqtt.topic_prefix",
                format!(
                    "must be a non-empty topic without wildcards or leading/trailing '/', got {:?}",
                    self.topic_prefix
                ),
            );
        }
        if let Some(id) = &self.client_id {
            if id.is_empty() || id.len() > 128 {
                push(p, "mqtt.client_id", "must be 1..=128 characters");
            }
        }
        if !(5..=3600).contains(&self.keep_alive_s) {
            push(
                p,
                "mqtt.keep_alive_s",
                format!("must be 5..=3600, got {}", self.keep_alive_s),
            );
        }
        if !self.password.is_empty() && self.username.is_none() {
            push(p, "mqtt.username", "required when a password is set");
        }
        self.password.check("mqtt", p);
        if let Some(tls) = &self.tls {
            check_file(&tls.ca_file, "mqtt.tls.ca_file", p);
            match (&tls.client_cert, &tls.client_key) {
                (Some(c), Some(k)) => {
                    check_file(c, "mqtt.tls.client_cert", p);
                    check_file(k, "mqtt.tls.client_key", p);
                }
                (Some(_), None) => {
                    push(p, "mqtt.tls.client_key", "required when client_cert is set")
                }
                (None, Some(_)) => {
                    push(p, "mqtt.tls.client_cert", "required when client_key is set")
                }
                (None, None) => {}
            }
        }
    }
}

impl OutboxConfig {
    fn check(&self, p: &mut Vec<ConfigProblem>) {
        if self.path.as_os_str().is_empty() {
            push(p, "outbox.path", "must not be empty");
        } else if self.path.is_dir() {
            push(
                p,
                "outbox.path",
                format!(
                    "{} is a directory; expected a file path",
                    self.path.display()
                ),
            );
        }
        if self.max_rows == 0 {
            push(p, "outbox.max_rows", "must be >= 1, got 0");
        }
        if self.max_bytes < 64 * 1024 {
            push(
                p,
                "outbox.max_bytes",
                format!("must be >= 65536, got {}", self.max_bytes),
            );
        }
        if self.ttl_hours == Some(0) {
            push(p, "outbox.ttl_hours", "must be >= 1 when set, got 0");
        }
    }
}

impl RuntimeConfig {
    fn check(&self, p: &mut Vec<ConfigProblem>) {
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

impl ThrowingConfig {
    fn check(&self, base: &str, p: &mut Vec<ConfigProblem>) {
        if let Some(v) = self.bird_veto {
            if !(0.0..=1.0).contains(&v) {
                push(
                    p,
                    format!("{base}.bird_veto"),
                    format!("must be 0..=1, got {v}"),
                );
            } else if !self.second_opinion {
                push(
                    p,
                    format!("{base}.bird_veto"),
                    "needs `second_opinion = true`",
                );
            }
        }
        if !self.facade.is_empty() {
            check_polygon(&self.facade, &format!("{base}.facade"), p);
        }
        check_zones(&self.exclude, &format!("{base}.exclude"), p);
        match &self.floors {
            None => push(
                p,
                format!("{base}.floors"),
                "required: give `rows` (the floor lines) or `first_row` + `floor_height` + `count`",
            ),
            Some(f) => f.check(&format!("{base}.floors"), p),
        }
        if let Some(c) = &self.columns {
            c.check(&format!("{base}.columns"), p);
        }
        let mut range = |field: &str, v: f32, ok: bool, want: &str| {
            if !ok || !v.is_finite() {
                push(
                    p,
                    format!("{base}.{field}"),
                    format!("must be {want}, got {v}"),
                );
            }
        };
        if let Some(s) = self.px_per_metre {
            range("px_per_metre", s, s > 0.0, "> 0");
        }
        let (lo, hi) = (self.min_g, self.max_g);
        range("min_g", lo, lo > 0.0 && lo < hi, "> 0 and < max_g");
        range("max_g", hi, hi <= 10.0 && hi > 0.0, "> 0 and <= 10");
        let m = self.facade_margin;
        range("facade_margin", m, (0.0..=0.5).contains(&m), "0..=0.5");
        let l = self.max_lateral_g;
        range("max_lateral_g", l, (0.0..=2.0).contains(&l), "0..=2");
        let b = self.background_s;
        range("background_s", b, (0.5..=120.0).contains(&b), "0.5..=120");
        let m = self.min_track_s;
        range("min_track_s", m, (0.2..=3.0).contains(&m), "0.2..=3");
        let d = self.min_drop_px;
        range("min_drop_px", d, d > 0.0, "> 0");
        let r = self.max_residual_px;
        range("max_residual_px", r, r > 0.0, "> 0");
        let bt = self.max_backtrack_s;
        range("max_backtrack_s", bt, (0.0..=2.0).contains(&bt), "0..=2");
        let c = self.critical_size_m;
        range("critical_size_m", c, c > 0.0, "> 0");
        let h = self.history_s;
        range("history_s", h, (0.5..=10.0).contains(&h), "0.5..=10");
        let mut int = |field: &str, v: u32, ok: bool, want: &str| {
            if !ok {
                push(
                    p,
                    format!("{base}.{field}"),
                    format!("must be {want}, got {v}"),
                );
            }
        };
        int(
            "pixel_threshold",
            self.pixel_threshold as u32,
            self.pixel_threshold > 0,
            "1..=255",
        );
        int(
            "shake_px",
            self.shake_px as u32,
            self.shake_px <= 3,
            "0..=3",
        );
        let v = self.min_blob_px;
        int("min_blob_px", v, (1..=1000).contains(&v), "1..=1000");
        let v = self.max_blob_side_px;
        int("max_blob_side_px", v, (4..=1000).contains(&v), "4..=1000");
        let v = self.max_gap_frames;
        int("max_gap_frames", v, v <= 30, "0..=30");
        let v = self.min_points;
        int("min_points", v, (4..=100).contains(&v), "4..=100");
        if !self.unit_label.contains("{floor}") {
            push(
                p,
                format!("{base}.unit_label"),
                format!("must contain {{floor}}, got {:?}", self.unit_label),
            );
        }
    }
}

impl FloorsConfig {
    /// The floor lines as normalised rows, lowest first (strictly
    /// decreasing): `rows` as given, or generated from `first_row`,
    /// `floor_height`, `perspective` and `count`.
    pub fn lines(&self) -> Result<Vec<f32>, String> {
        match (&self.rows, self.first_row) {
            (Some(rows), None) => Ok(rows.clone()),
            (None, Some(first)) => {
                let h = self
                    .floor_height
                    .ok_or("floor_height is required with first_row")?;
                let n = self.count.ok_or("count is required with first_row")?;
                let mut lines = vec![first];
                let (mut y, mut band) = (first, h);
                for _ in 0..n {
                    y -= band;
                    lines.push(y);
                    band *= self.perspective;
                }
                Ok(lines)
            }
            (Some(_), Some(_)) => Err("give either rows or first_row, not both".into()),
            (None, None) => Err("give rows, or first_row + floor_height + count".into()),
        }
    }

    fn check(&self, base: &str, p: &mut Vec<ConfigProblem>) {
        if self.rows.is_some() && self.first_row.is_some() {
            push(
                p,
                format!("{base}.rows"),
                "give either rows or first_row (+ floor_height, count), not both",
            );
            return;
        }
        if let Some(rows) = &self.rows {
            if rows.len() < 2 {
                push(
                    p,
                    format!("{base}.rows"),
                    format!(
                        "needs at least 2 lines (the lowest floor line and the line above the top floor), got {}",
                        rows.len()
                    ),
                );
            }
            for (i, r) in rows.iter().enumerate() {
                if !(0.0..=1.0).contains(r) {
                    push(
                        p,
                        format!("{base}.rows[{i}]"),
                        format!("rows are normalised: expected 0..=1, got {r}"),
                    );
                }
            }
            for (i, w) in rows.windows(2).enumerate() {
                if w[1] >= w[0] {
                    push(
                        p,
                        format!("{base}.rows[{}]", i + 1),
                        format!(
                            "must be above (smaller than) the line before it: lines go from the lowest floor upwards, got {} after {}",
                            w[1], w[0]
                        ),
                    );
                }
            }
        } else if let Some(first) = self.first_row {
            if !(0.0..=1.0).contains(&first) {
                push(
                    p,
                    format!("{base}.first_row"),
                    format!("must be 0..=1, got {first}"),
                );
            }
            match self.floor_height {
                None => push(p, format!("{base}.floor_height"), "required with first_row"),
                Some(h) if !(h > 0.0 && h <= 1.0) => push(
                    p,
                    format!("{base}.floor_height"),
                    format!("must be > 0 and <= 1 (normalised), got {h}"),
                ),
                Some(_) => {}
            }
            match self.count {
                None => push(p, format!("{base}.count"), "required with first_row"),
                Some(n) if !(1..=200).contains(&n) => push(
                    p,
                    format!("{base}.count"),
                    format!("must be 1..=200, got {n}"),
                ),
                Some(_) => {}
            }
        } else {
            push(
                p,
                format!("{base}.rows"),
                "required: give rows, or first_row + floor_height + count",
            );
        }
        if !(0.5..=1.5).contains(&self.perspective) {
            push(
                p,
                format!("{base}.perspective"),
                format!("must be 0.5..=1.5, got {}", self.perspective),
            );
        }
        if !(2.0..=6.0).contains(&self.height_m) {
            push(
                p,
                format!("{base}.height_m"),
                format!("must be 2..=6 metres, got {}", self.height_m),
            );
        }
    }
}

impl ColumnsConfig {
    fn check(&self, base: &str, p: &mut Vec<ConfigProblem>) {
        let check_edges = |field: &str, edges: &[f32], p: &mut Vec<ConfigProblem>| {
            if edges.len() < 2 {
                push(
                    p,
                    format!("{base}.{field}"),
                    format!("needs at least 2 edges, got {}", edges.len()),
                );
            }
            for (i, e) in edges.iter().enumerate() {
                if !(0.0..=1.0).contains(e) {
                    push(
                        p,
                        format!("{base}.{field}[{i}]"),
                        format!("edges are normalised: expected 0..=1, got {e}"),
                    );
                }
            }
            for (i, w) in edges.windows(2).enumerate() {
                if w[1] <= w[0] {
                    push(
                        p,
                        format!("{base}.{field}[{}]", i + 1),
                        format!(
                            "edges must increase left to right, got {} after {}",
                            w[1], w[0]
                        ),
                    );
                }
            }
        };
        check_edges("edges", &self.edges, p);
        if let Some(top) = &self.edges_top {
            if top.len() != self.edges.len() {
                push(
                    p,
                    format!("{base}.edges_top"),
                    format!(
                        "must have as many edges as `edges` ({}), got {}",
                        self.edges.len(),
                        top.len()
                    ),
                );
            }
            check_edges("edges_top", top, p);
        }
        if let Some(labels) = &self.labels {
            let want = self.edges.len().saturating_sub(1);
            if labels.len() != want {
                push(
                    p,
                    format!("{base}.labels"),
                    format!("needs one label per column ({want}), got {}", labels.len()),
                );
            }
        }
    }
}

impl CameraConfig {
    fn check(&self, path: &str, p: &mut Vec<ConfigProblem>) {
        check_id(&self.name, &format!("{path}.name"), p);
        match parse_camera_url(&self.url) {
            Ok(ParsedUrl::File(file)) => {
                if !self.password.is_empty() {
                    push(
                        p,
                        format!("{path}.password"),
                        "a file:// camera takes no password",
                    );
                }
                if self.enabled {
                    check_file(&file, &format!("{path}.url"), p);
                }
            }
            Ok(ParsedUrl::Rtsp { user, .. }) => {
                if !self.password.is_empty() && user.is_none() {
                    push(
                        p,
                        format!("{path}.url"),
                        format!(
                            "a password is configured but the URL names no user (expected rtsp://user@host/...): {}",
                            redact_url(&self.url)
                        ),
                    );
                }
            }
            Err(e) => push(p, format!("{path}.url"), e),
        }
        // A disabled camera's secret may legitimately be absent on this box.
        if self.enabled {
            self.password.check(path, p);
        }
        let d = &self.detect;
        if !(32..=3840).contains(&d.width) || d.width % 2 != 0 {
            push(
                p,
                format!("{path}.detect.width"),
                format!("must be an even number 32..=3840, got {}", d.width),
            );
        }
        if !(32..=2160).contains(&d.height) || d.height % 2 != 0 {
            push(
                p,
                format!("{path}.detect.height"),
                format!("must be an even number 32..=2160, got {}", d.height),
            );
        }
        if !(1..=30).contains(&d.fps) {
            push(
                p,
                format!("{path}.detect.fps"),
                format!("must be 1..=30, got {}", d.fps),
            );
        }
        if !(1..=600).contains(&self.stall_timeout_s) {
            push(
                p,
                format!("{path}.stall_timeout_s"),
                format!("must be 1..=600, got {}", self.stall_timeout_s),
            );
        }
        if self.offline_grace_s > 3600 {
            push(
                p,
                format!("{path}.offline_grace_s"),
                format!("must be 0..=3600, got {}", self.offline_grace_s),
            );
        }
        if !(100..=60_000).contains(&self.reconnect_min_ms) {
            push(
                p,
                format!("{path}.reconnect_min_ms"),
                format!("must be 100..=60000, got {}", self.reconnect_min_ms),
            );
        }
        if self.reconnect_max_ms < self.reconnect_min_ms || self.reconnect_max_ms > 600_000 {
            push(
                p,
                format!("{path}.reconnect_max_ms"),
                format!(
                    "must be reconnect_min_ms ({})..=600000, got {}",
                    self.reconnect_min_ms, self.reconnect_max_ms
                ),
            );
        }
        if let Some(m) = &self.analyzers.motion {
            let base = format!("{path}.analyzers.motion");
            if !(m.min_changed_fraction > 0.0 && m.min_changed_fraction <= 1.0) {
                push(
                    p,
                    format!("{base}.min_changed_fraction"),
                    format!("must be > 0 and <= 1, got {}", m.min_changed_fraction),
                );
            }
            if m.pixel_threshold == 0 {
                push(
                    p,
                    format!("{base}.pixel_threshold"),
                    "must be 1..=255, got 0",
                );
            }
            check_zones(&m.zones, &format!("{base}.zones"), p);
        }
        if let Some(f) = &self.analyzers.fire {
            f.check(&format!("{path}.analyzers.fire"), p);
        }
        if let Some(g) = &self.analyzers.garbage {
            g.check(&format!("{path}.analyzers.garbage"), p);
        }
        if let Some(t) = &self.analyzers.throwing {
            t.check(&format!("{path}.analyzers.throwing"), p);
        }
    }

    /// Where frames come from, with any password from `password_file` or
    /// `password_env` applied. The returned URL contains the secret: never log
    /// it; log [`CameraConfig::redacted_url`] instead.
    pub fn source(&self) -> Result<CameraSource, String> {
        match parse_camera_url(&self.url)? {
            ParsedUrl::File(path) => Ok(CameraSource::File(path)),
            ParsedUrl::Rtsp { scheme, user, rest } => match (self.password.resolve()?, user) {
                (None, _) => Ok(CameraSource::Rtsp {
                    url: self.url.clone(),
                }),
                (Some(pw), Some(user)) => Ok(CameraSource::Rtsp {
                    url: format!("{scheme}{user}:{}@{rest}", percent_encode(&pw)),
                }),
                (Some(_), None) => Err(format!(
                    "a password is configured but the URL names no user: {}",
                    redact_url(&self.url)
                )),
            },
        }
    }

    /// The URL with any user and password replaced by `***`, safe to log.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }
}

impl FireConfig {
    fn check(&self, base: &str, p: &mut Vec<ConfigProblem>) {
        if !self.flame && !self.smoke {
            push(
                p,
                format!("{base}.flame"),
                "flame and smoke are both false: remove the table to turn the analyzer off",
            );
        }
        let zones: Vec<ZoneConfig> = self
            .zones
            .iter()
            .map(|z| ZoneConfig {
                name: z.name.clone(),
                polygon: z.polygon.clone(),
            })
            .collect();
        check_zones(&zones, &format!("{base}.zones"), p);
        for (i, z) in self.zones.iter().enumerate() {
            if !(0.0..=1.0).contains(&z.sensitivity) {
                push(
                    p,
                    format!("{base}.zones[{i}].sensitivity"),
                    format!("must be 0..=1, got {}", z.sensitivity),
                );
            }
        }
        check_zones(&self.masks, &format!("{base}.masks"), p);
        if !(1..=64).contains(&self.confirm_window) {
            push(
                p,
                format!("{base}.confirm_window"),
                format!("must be 1..=64, got {}", self.confirm_window),
            );
        }
        if self.confirm_frames == 0 || self.confirm_frames > self.confirm_window {
            push(
                p,
                format!("{base}.confirm_frames"),
                format!(
                    "must be 1..=confirm_window ({}), got {}",
                    self.confirm_window, self.confirm_frames
                ),
            );
        }
        if let Some(n) = self.smoke_confirm_frames {
            if n == 0 || n > self.confirm_window {
                push(
                    p,
                    format!("{base}.smoke_confirm_frames"),
                    format!(
                        "must be 1..=confirm_window ({}), got {n}",
                        self.confirm_window
                    ),
                );
            }
        }
        for (name, v) in [
            ("min_flame_area", self.min_flame_area),
            ("min_smoke_area", self.min_smoke_area),
        ] {
            if !(v > 0.0 && v <= 0.5) {
                push(
                    p,
                    format!("{base}.{name}"),
                    format!("must be > 0 and <= 0.5, got {v}"),
                );
            }
        }
        if self.update_growth.is_nan() || self.update_growth < 1.1 {
            push(
                p,
                format!("{base}.update_growth"),
                format!("must be >= 1.1, got {}", self.update_growth),
            );
        }
        if !(0.0..=3600.0).contains(&self.update_interval_s) {
            push(
                p,
                format!("{base}.update_interval_s"),
                format!("must be 0..=3600, got {}", self.update_interval_s),
            );
        }
        if !(1.0..=3600.0).contains(&self.end_after_s) {
            push(
                p,
                format!("{base}.end_after_s"),
                format!("must be 1..=3600, got {}", self.end_after_s),
            );
        }
        if !(0.0..=1.0).contains(&self.classifier_min_score) {
            push(
                p,
                format!("{base}.classifier_min_score"),
                format!("must be 0..=1, got {}", self.classifier_min_score),
            );
        }
        if let Some(d) = &self.detector {
            let dp = format!("{base}.detector");
            if d.model.trim().is_empty() {
                push(p, format!("{dp}.model"), "must name a model folder or path");
            }
            if !(0.0..=1.0).contains(&d.min_score) {
                push(
                    p,
                    format!("{dp}.min_score"),
                    format!("must be 0..=1, got {}", d.min_score),
                );
            }
            if !(1..=100).contains(&d.every_n_frames) {
                push(
                    p,
                    format!("{dp}.every_n_frames"),
                    format!("must be 1..=100, got {}", d.every_n_frames),
                );
            }
            let set_empty = |c: &Option<Vec<String>>| c.as_ref().is_some_and(|v| v.is_empty());
            if set_empty(&d.fire_classes) && set_empty(&d.smoke_classes) {
                push(
                    p,
                    format!("{dp}.fire_classes"),
                    "fire_classes and smoke_classes are both empty: the detector could find nothing",
                );
            }
        }
    }
}

/// Where a camera's frames come from.
#[derive(Clone, PartialEq, Eq)]
pub enum CameraSource {
    /// An RTSP URL, credentials included. Never log it.
    Rtsp { url: String },
    /// A recorded clip (anything `decodebin` reads).
    File(PathBuf),
}

impl fmt::Debug for CameraSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CameraSource::Rtsp { url } => write!(f, "Rtsp({})", redact_url(url)),
            CameraSource::File(p) => write!(f, "File({})", p.display()),
        }
    }
}

/// A camera URL split into the parts [`CameraConfig::source`] needs.
enum ParsedUrl {
    File(PathBuf),
    /// `scheme` includes `://`; `user` is the user name without any inline
    /// password; `rest` is everything after the `@` (or after `://`).
    Rtsp {
        scheme: String,
        user: Option<String>,
        rest: String,
    },
}

fn parse_camera_url(url: &str) -> Result<ParsedUrl, String> {
    if let Some(rest) = url.strip_prefix("file://") {
        if rest.is_empty() {
            return Err("file:// URL has no path".into());
        }
        return Ok(ParsedUrl::File(PathBuf::from(rest)));
    }
    let scheme = if url.starts_with("rtsp://") {
        "rtsp://"
    } else if url.starts_with("rtsps://") {
        "rtsps://"
    } else {
        return Err(format!(
            "expected rtsp://, rtsps:// or file:// URL, got {}",
            redact_url(url)
        ));
    };
    let rest = &url[scheme.len()..];
    let authority = rest.split('/').next().unwrap_or("");
    let (user, host_and_path) = match authority.rfind('@') {
        Some(at) => (
            Some(authority[..at].split(':').next().unwrap_or("").to_string()),
            &rest[at + 1..],
        ),
        None => (None, rest),
    };
    let host = host_and_path.split('/').next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') {
        return Err(format!("URL has no host: {}", redact_url(url)));
    }
    Ok(ParsedUrl::Rtsp {
        scheme: scheme.to_string(),
        user,
        rest: host_and_path.to_string(),
    })
}

/// Replaces the user-info part of a URL (`user:pass@`) with `***@`.
///
/// ```
/// assert_eq!(
///     estatewatch::config::redact_url("rtsp://admin:hunter2@10.0.0.5:554/s1"),
///     "rtsp://***@10.0.0.5:554/s1"
/// );
/// ```
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}***@{}", &url[..scheme_end], &rest[at + 1..]),
        None => url.to_string(),
    }
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn push(p: &mut Vec<ConfigProblem>, path: impl Into<String>, message: impl Into<String>) {
    p.push(ConfigProblem {
        path: path.into(),
        message: message.into(),
    });
}

/// Ids appear in MQTT topics and file names: keep them to a safe alphabet.
fn check_id(id: &str, path: &str, p: &mut Vec<ConfigProblem>) {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        push(
            p,
            path,
            format!("must be 1..=64 characters of letters, digits, '-', '_', '.', got {id:?}"),
        );
    }
}

fn check_file(path: &Path, field: &str, p: &mut Vec<ConfigProblem>) {
    if !path.is_file() {
        push(
            p,
            field,
            format!("file {} does not exist or is not a file", path.display()),
        );
    }
}

/// Checks one polygon: at least three points, all inside 0..=1.
fn check_polygon(polygon: &[[f32; 2]], path: &str, p: &mut Vec<ConfigProblem>) {
    if polygon.len() < 3 {
        push(
            p,
            path,
            format!("needs at least 3 points, got {}", polygon.len()),
        );
    }
    for (j, pt) in polygon.iter().enumerate() {
        if !pt.iter().all(|v| (0.0..=1.0).contains(v)) {
            push(
                p,
                format!("{path}[{j}]"),
                format!(
                    "coordinates are normalised: expected 0..=1, got [{}, {}]",
                    pt[0], pt[1]
                ),
            );
        }
    }
}

/// Checks a list of zones: unique names, at least three points, all inside 0..=1.
pub fn check_zones(zones: &[ZoneConfig], path: &str, p: &mut Vec<ConfigProblem>) {
    let mut names = std::collections::HashSet::new();
    for (i, z) in zones.iter().enumerate() {
        let zp = format!("{path}[{i}]");
        if z.name.is_empty() {
            push(p, format!("{zp}.name"), "must not be empty");
        } else if !names.insert(z.name.as_str()) {
            push(
                p,
                format!("{zp}.name"),
                format!("duplicate zone name {:?}", z.name),
            );
        }
        if z.polygon.len() < 3 {
            push(
                p,
                format!("{zp}.polygon"),
                format!("needs at least 3 points, got {}", z.polygon.len()),
            );
        }
        for (j, pt) in z.polygon.iter().enumerate() {
            if !pt.iter().all(|v| (0.0..=1.0).contains(v)) {
                push(
                    p,
                    format!("{zp}.polygon[{j}]"),
                    format!(
                        "coordinates are normalised: expected 0..=1, got [{}, {}]",
                        pt[0], pt[1]
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
        [site]
        id = "estate"
        [gateway]
        id = "gw1"
    "#;

    #[test]
    fn minimal_config_is_valid_with_defaults() {
        let c = Config::parse(MINIMAL).unwrap();
        assert!(c.validate().is_empty(), "{:?}", c.validate());
        assert_eq!(c.mqtt.port, 1883);
        assert_eq!(c.mqtt.topic_prefix, "estatewatch");
        assert_eq!(c.mqtt.client_id_for("gw1"), "estatewatch-gw1");
    }

    #[test]
    fn health_section_defaults_validation_and_off_switch() {
        let c = Config::parse(MINIMAL).unwrap();
        assert_eq!(c.health, HealthConfig::default());
        assert_eq!(
            c.health.listen_addr(),
            Some("127.0.0.1:9807".parse().unwrap())
        );
        assert_eq!(c.health.stats_interval_s, 60);
        let off = Config::parse(&format!("{MINIMAL}\n[health]\nlisten = \"\"\n")).unwrap();
        assert!(off.validate().is_empty() && off.health.listen_addr().is_none());
        let bad = Config::parse(&format!(
            "{MINIMAL}\n[health]\nlisten = \"localhost\"\nhung_after_s = 0\n"
        ))
        .unwrap();
        let paths: Vec<String> = bad.validate().into_iter().map(|p| p.path).collect();
        assert_eq!(paths, ["health.listen", "health.hung_after_s"]);
        let e = Config::parse(&format!("{MINIMAL}\n[health]\nport = 1\n")).unwrap_err();
        assert!(e.contains("unknown field"), "{e}");
    }

    #[test]
    fn redacts_user_and_password() {
        assert_eq!(redact_url("rtsp://u:p@h/x"), "rtsp://***@h/x");
        assert_eq!(redact_url("rtsp://u@h:554/x@y"), "rtsp://***@h:554/x@y");
        assert_eq!(redact_url("rtsp://h/x"), "rtsp://h/x");
        assert_eq!(redact_url("nonsense"), "nonsense");
    }

    #[test]
    fn password_env_is_spliced_into_url_and_encoded() {
        std::env::set_var("EW_TEST_CAM_PW", "p@ss:w/rd");
        let text = format!(
            "{MINIMAL}\n[[cameras]]\nname = \"c\"\nurl = \"rtsp://admin@cam.local/s\"\npassword_env = \"EW_TEST_CAM_PW\"\n"
        );
        let c = Config::parse(&text).unwrap();
        assert!(c.validate().is_empty(), "{:?}", c.validate());
        match c.cameras[0].source().unwrap() {
            CameraSource::Rtsp { url } => {
                assert_eq!(url, "rtsp://admin:p%40ss%3Aw%2Frd@cam.local/s")
            }
            other => panic!("unexpected {other:?}"),
        }
        let dbg = format!("{:?}", c.cameras[0]);
        assert!(!dbg.contains("p@ss"), "{dbg}");
    }
}
