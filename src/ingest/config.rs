//! The camera keys of a `[[cameras]]` entry that ingest uses (where the
//! stream is, how to read it, at what size and rate, how to reconnect) and
//! their validation; camera URLs, with the password applied
//! ([`CameraConfig::source`]) or hidden ([`redact`](crate::base::redact)).
//!
//! A camera entry also has an `analyzers` table, which belongs to analysis:
//! [`CameraConfig`] takes its type as a parameter, so ingest neither knows
//! nor checks it. The full entry is
//! [`analysis::config::CameraConfig`](crate::analysis::config::CameraConfig);
//! ingest keeps a camera without its analyzers, as a [`StreamConfig`].

use crate::base::{redact, UrlPaths};
use crate::settings::{check_file, check_id, default_true, push, ConfigProblem, Secret};
use serde::Deserialize;
use std::fmt;
use std::path::PathBuf;

/// `[[cameras]]`: one camera. `A` is the type of its `analyzers` table and
/// `S` of its `selftest` table (analysis's business; `()` where they are not
/// needed).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraConfig<A = (), S = ()> {
    /// Unique name, used in topics and alerts. Required; letters, digits, `-`, `_`, `.`.
    pub name: String,
    /// The name staff see (console, notifications, pictures), any UTF-8,
    /// e.g. `"3号楼南侧"`. Default: `name`.
    #[serde(default)]
    pub display_name: Option<String>,
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
    /// `[cameras.evidence]`: evidence clips and full-resolution snapshots
    /// for this camera's alerts, from its main stream. Default: absent (no
    /// clips; alerts carry only the detect-size snapshot).
    #[serde(default)]
    pub evidence: Option<EvidenceStreamConfig>,
    /// Analyzers run on this camera (see [`crate::analysis::config::AnalyzersConfig`]).
    /// Default: none.
    #[serde(default)]
    pub analyzers: A,
    /// The camera's daily self-test (see
    /// [`crate::analysis::selftest::config::SelftestConfig`]). Default: on
    /// when the camera has an incident analyzer.
    #[serde(default)]
    pub selftest: S,
}

/// A camera as ingest keeps it: its entry without the analyzers.
pub type StreamConfig = CameraConfig<()>;

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

/// `[cameras.evidence]`: where a camera's evidence comes from and how long
/// its clips are (see `docs/evidence.md`). Its stream is never decoded in
/// steady state; only a short-lived decoder runs for a full-resolution
/// snapshot.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceStreamConfig {
    /// The camera's main stream, `rtsp://[user@]host[:port]/path` (e.g.
    /// Hikvision `/Streaming/Channels/101`, Dahua `…&subtype=0`), with its
    /// password given as for `url` (`password`, `password_file`,
    /// `password_env`; the camera's own password is not reused). Default:
    /// none: clips are cut from the detect stream's own encoded frames.
    #[serde(default)]
    pub url: Option<String>,
    /// Password for `url`'s user. Default: none.
    #[serde(default, flatten)]
    pub password: Secret,
    /// Seconds of video kept before the alert, 1..=30. Default: 5.
    #[serde(default = "default_pre_s")]
    pub pre_s: u32,
    /// Seconds of video after the alert, 1..=120. Default: 10.
    #[serde(default = "default_post_s")]
    pub post_s: u32,
    /// Longest clip in seconds while the incident keeps updating (each
    /// `update` moves the end to `post_s` after it), >= pre_s + post_s,
    /// <= 600. Default: 60.
    #[serde(default = "default_max_s")]
    pub max_s: u32,
}

fn default_pre_s() -> u32 {
    5
}
fn default_post_s() -> u32 {
    10
}
fn default_max_s() -> u32 {
    60
}

impl EvidenceStreamConfig {
    fn check(&self, path: &str, p: &mut Vec<ConfigProblem>) {
        if let Some(url) = &self.url {
            match parse_camera_url(url) {
                Ok(ParsedUrl::Rtsp { user, .. }) => {
                    if !self.password.is_empty() && user.is_none() {
                        push(
                            p,
                            format!("{path}.url"),
                            format!(
                                "a password is configured but the URL names no user (expected rtsp://user@host/...): {}",
                                redact(url, UrlPaths::Keep)
                            ),
                        );
                    }
                }
                Ok(ParsedUrl::File(_)) => push(
                    p,
                    format!("{path}.url"),
                    "an evidence stream must be rtsp:// or rtsps://",
                ),
                Err(e) => push(p, format!("{path}.url"), e),
            }
        } else if !self.password.is_empty() {
            push(
                p,
                format!("{path}.password"),
                "a password is configured but there is no evidence url",
            );
        }
        self.password.check(path, p);
        if !(1..=30).contains(&self.pre_s) {
            push(
                p,
                format!("{path}.pre_s"),
                format!("must be 1..=30, got {}", self.pre_s),
            );
        }
        if !(1..=120).contains(&self.post_s) {
            push(
                p,
                format!("{path}.post_s"),
                format!("must be 1..=120, got {}", self.post_s),
            );
        }
        if self.max_s < self.pre_s + self.post_s || self.max_s > 600 {
            push(
                p,
                format!("{path}.max_s"),
                format!(
                    "must be pre_s + post_s ({})..=600, got {}",
                    self.pre_s + self.post_s,
                    self.max_s
                ),
            );
        }
    }
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

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            width: default_width(),
            height: default_height(),
            fps: default_fps(),
        }
    }
}

/// The cameras' names, comma-separated, for messages such as "no camera X
/// (cameras: a, b)".
pub fn camera_names<A, S>(cameras: &[CameraConfig<A, S>]) -> String {
    cameras
        .iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl<A, S> CameraConfig<A, S> {
    /// The camera without its analyzers, as ingest keeps it.
    pub fn stream(&self) -> StreamConfig {
        CameraConfig {
            name: self.name.clone(),
            display_name: self.display_name.clone(),
            url: self.url.clone(),
            password: self.password.clone(),
            transport: self.transport,
            enabled: self.enabled,
            detect: self.detect.clone(),
            stall_timeout_s: self.stall_timeout_s,
            offline_grace_s: self.offline_grace_s,
            reconnect_min_ms: self.reconnect_min_ms,
            reconnect_max_ms: self.reconnect_max_ms,
            evidence: self.evidence.clone(),
            analyzers: (),
            selftest: (),
        }
    }

    /// The camera's evidence stream as a stream ingest can supervise
    /// ([`spawn_encoded`](super::supervisor::spawn_encoded)): its URL and
    /// password, the camera's transport and timings. `None` without an
    /// evidence `url`.
    pub fn evidence_stream(&self) -> Option<StreamConfig> {
        let ev = self.evidence.as_ref()?;
        let url = ev.url.clone()?;
        let mut s = self.stream();
        s.url = url;
        s.password = ev.password.clone();
        s.evidence = None;
        Some(s)
    }

    /// Checks every key but `analyzers`; `path` is the entry's, e.g. `cameras[2]`.
    pub fn check(&self, path: &str, p: &mut Vec<ConfigProblem>) {
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
                            redact(&self.url, UrlPaths::Keep)
                        ),
                    );
                }
            }
            Err(e) => push(p, format!("{path}.url"), e),
        }
        // A disabled camera's secret may legitimately be absent on this box.
        if self.enabled {
            self.password.check(path, p);
            if let Some(ev) = &self.evidence {
                ev.check(&format!("{path}.evidence"), p);
            }
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
                    redact(&self.url, UrlPaths::Keep)
                )),
            },
        }
    }

    /// The URL with any user and password replaced by `***`, safe to log.
    pub fn redacted_url(&self) -> String {
        redact(&self.url, UrlPaths::Keep)
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
            CameraSource::Rtsp { url } => write!(f, "Rtsp({})", redact(url, UrlPaths::Keep)),
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
            redact(url, UrlPaths::Keep)
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
    if let Some(c) = url.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "URL contains {c:?}; spaces and control characters are not allowed (write a space in the path as %20): {}",
            redact(url, UrlPaths::Keep)
        ));
    }
    let host_port = host_and_path.split(['/', '?', '#']).next().unwrap_or("");
    let (host, port) = split_host_port(host_port);
    if host.is_empty() {
        return Err(format!("URL has no host: {}", redact(url, UrlPaths::Keep)));
    }
    let host_ok = if let Some(v6) = host.strip_prefix('[') {
        v6.strip_suffix(']')
            .is_some_and(|a| a.parse::<std::net::Ipv6Addr>().is_ok())
    } else {
        host.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    };
    if !host_ok {
        return Err(format!(
            "URL host {host:?} is not a host name or IP address: {}",
            redact(url, UrlPaths::Keep)
        ));
    }
    if let Some(port) = port {
        if !matches!(port.parse::<u16>(), Ok(1..)) {
            return Err(format!(
                "URL port {port:?} is not a port number 1..=65535: {}",
                redact(url, UrlPaths::Keep)
            ));
        }
    }
    Ok(ParsedUrl::Rtsp {
        scheme: scheme.to_string(),
        user,
        rest: host_and_path.to_string(),
    })
}

/// `host[:port]` (or `[v6]:port`) split into host and port text.
fn split_host_port(s: &str) -> (&str, Option<&str>) {
    if s.starts_with('[') {
        return match s.find(']') {
            Some(end) => (&s[..=end], s[end + 1..].strip_prefix(':')),
            None => (s, None),
        };
    }
    match s.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
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
