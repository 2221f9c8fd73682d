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
    /// The cameras. Default: none (the daemon then only delivers queued alerts).
    #[serde(default)]
    pub cameras: Vec<CameraConfig>,
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
    /// Garbage-bag analyzer (objects left on the ground). Default: off.
    #[serde(default)]
    pub garbage: Option<GarbageConfig>,
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
        toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())
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
        if let Some(g) = &self.analyzers.garbage {
            g.check(&format!("{path}.analyzers.garbage"), p);
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
