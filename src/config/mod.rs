//! Configuration: the TOML file an installer writes, composed of the sections
//! each component owns, and its loading and validation.
//!
//! Each section lives beside what it configures: the camera keys in
//! [`ingest::config`](crate::ingest::config), the analyzers' tables in
//! [`analysis::config`](crate::analysis::config) and each analyzer's folder,
//! `[runtime]` in [`analysis::detector::config`](crate::analysis::detector::config),
//! `[mqtt]`, `[outbox]` and `[homeassistant]` in [`delivery::config`](crate::delivery::config),
//! `[health]` in [`monitor::config`](crate::monitor::config), `[evidence]`
//! in [`evidence::config`](crate::evidence::config), the sensor
//! sections in [`sensors::config`](crate::sensors::config), `[console]` in
//! [`console::config`](crate::console::config). What they share
//! (the problem list, secrets, zones) is in [`crate::settings`]. This module
//! only composes them, loads the file (size cap and parse-error reporting in
//! `parse`) and runs every section's checks; the components are started with
//! their own sections, never with the whole [`Config`].
//!
//! Loading is two steps. [`Config::parse`] turns text into structs: syntax
//! errors, unknown keys and wrong types are reported with the field path and
//! line:column, e.g. `cameras[0].detect.fpz: unknown field ... (line 12,
//! column 1)`. After a field error the offending key is set aside and parsing
//! goes on, so several unknown keys or wrong types are reported at once (up to
//! [`MAX_PARSE_PROBLEMS`]); a TOML syntax error or a missing required key
//! stops parsing there (only that one is reported). Problems after the
//! first carry their line when the key's name is set on one line of the
//! file only. Then [`Config::validate`] checks
//! ranges, references and files and returns every [`ConfigProblem`], such as
//! `cameras[2].detect.fps: must be 1..=30, got 0`. Files bigger than
//! [`MAX_CONFIG_BYTES`] are refused before they are read.
//! Secrets (camera and MQTT passwords) may come from the file, from a file named
//! in the config, or from an environment variable; they are resolved by
//! [`Secret::resolve`](crate::settings::Secret::resolve) and never printed (see
//! [`redact`](crate::base::redact)).

mod parse;

use crate::analysis::config::CameraConfig;
use crate::analysis::detector::config::RuntimeConfig;
use crate::delivery::config::{MqttConfig, OutboxConfig};
use crate::delivery::DeliverySections;
use crate::monitor::config::HealthConfig;
use crate::sensors::config::SensorConfig;
use crate::sensors::SensorSections;
use crate::settings::{check_id, push, ConfigProblem};
use parse::{field_path, parse_problem, read_text, remove_at};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Errors that stop a config from being loaded at all.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    // `error` is deliberately not a `source`: the message already says it,
    // and `{:#}` would print it twice.
    #[error("cannot read config file {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("config file {path} is {size} bytes; a config file may be at most {MAX_CONFIG_BYTES} bytes (1 MiB)")]
    TooBig { path: PathBuf, size: u64 },
    #[error("config file {path} is not valid: {} problem(s):\n{}", problems.len(), indented(problems))]
    Syntax {
        path: PathBuf,
        problems: Vec<ConfigProblem>,
    },
    #[error("config file {path} has {} problem(s):\n{}", problems.len(), indented(problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<ConfigProblem>,
    },
}

/// The problems one per line, indented, for [`ConfigError`]'s messages.
fn indented(problems: &[ConfigProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Largest config file accepted, in bytes (1 MiB): a real site's file is a
/// few KiB, and a huge one would only cost memory and time.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Most parse problems (unknown keys, wrong types) reported for one file.
pub const MAX_PARSE_PROBLEMS: usize = 50;

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
    pub sensors: Vec<SensorConfig>,
    /// A separate local broker for sensors with `broker = "local"`, same keys
    /// as `[mqtt]`. Default: absent (sensors use the `[mqtt]` broker).
    #[serde(default)]
    pub sensor_broker: Option<MqttConfig>,
    /// Fusion of camera fire/smoke alerts with sensor alerts. Default:
    /// enabled, 60 s window.
    #[serde(default)]
    pub fusion: crate::alert::fusion::FusionConfig,
    /// Stored evidence (snapshots, clips): folder, limits, HTTP token; cameras
    /// opt in to clips with `[cameras.evidence]`.
    /// Default: `/var/lib/estatewatch/evidence`, 20 GB, 30 days, not served.
    #[serde(default)]
    pub evidence: crate::evidence::EvidenceConfig,
    /// Home Assistant MQTT discovery on the `[mqtt]` broker
    /// (`docs/mqtt.md`, "Home Assistant"). Default: off.
    #[serde(default)]
    pub homeassistant: crate::delivery::config::HomeAssistantConfig,
    /// The incident desk: incidents as staff handle them, their audit trail,
    /// escalation (`docs/desk.md`). Default: on, `desk.db` beside the outbox.
    #[serde(default)]
    pub desk: crate::desk::DeskConfig,
    /// The web console and the HTTP endpoints (`docs/console.md`).
    /// Default: on `[health] listen` (127.0.0.1:9807), users in
    /// `/var/lib/estatewatch/users.toml`, plain HTTP, 12-hour logins.
    #[serde(default)]
    pub console: crate::console::ConsoleConfig,
    /// Phone and webhook notifiers, each fed from the outbox with its own
    /// cursor (`docs/notifications.md`). Default: none.
    #[serde(default)]
    pub notifiers: Vec<crate::delivery::notify::config::NotifierConfig>,
    /// Platform profiles: alerts mapped onto another topic scheme and
    /// payload shape by templates, queued through the outbox to the
    /// `[mqtt]` broker (`docs/notifications.md`, "Platform profiles").
    /// Default: none.
    #[serde(default)]
    pub profiles: Vec<crate::delivery::profile::ProfileConfig>,
}

/// `[site]`: the estate.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// Short id used in alerts, e.g. `harbour-view`. Required; letters, digits, `-`, `_`, `.`.
    pub id: String,
    /// Human-readable name for staff, any UTF-8 (e.g. `"海景花园"`). Default: the id.
    #[serde(default)]
    pub name: Option<String>,
    /// IANA time zone for every time shown to people (console, `watch`,
    /// notifications, text on pictures), e.g. `"Asia/Shanghai"`. Alert
    /// payloads stay UTC. Default: `"UTC"`.
    #[serde(default)]
    pub timezone: crate::settings::SiteTimezone,
    /// Language of the text drawn on pictures (captions, throw labels on
    /// snapshots and `still` pictures): `"zh-CN"` (`12层 1203室`) or `"en"`
    /// (`Floor 12 · Unit 1203`). Default: `"zh-CN"`.
    #[serde(default)]
    pub lang: crate::settings::SiteLang,
}

/// `[gateway]`: this box.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// Id used in MQTT topics, e.g. `gw-tower-a`. Required; letters, digits, `-`, `_`, `.`.
    pub id: String,
}

/// What [`check_text`] found wrong: the file cannot be loaded
/// ([`Config::load`]'s error), or it loads but a camera's analyzers cannot
/// be built (each problem with its field path, e.g. `cameras[0].analyzers:
/// …`).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Load(#[from] ConfigError),
    #[error("{}: {} problem(s):\n{}", path.display(), problems.len(), problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Setup {
        path: PathBuf,
        problems: Vec<String>,
        warnings: Vec<String>,
    },
}

impl CheckError {
    /// Every problem, one line each, as `check-config` prints them
    /// (`cameras[0].analyzers.motion.zones[0].polygon: needs at least 3
    /// points, got 2`).
    pub fn problems(&self) -> Vec<String> {
        match self {
            CheckError::Load(ConfigError::Syntax { problems, .. })
            | CheckError::Load(ConfigError::Invalid { problems, .. }) => {
                problems.iter().map(|p| p.to_string()).collect()
            }
            CheckError::Load(e) => vec![e.to_string()],
            CheckError::Setup { problems, .. } => problems.clone(),
        }
    }
}

/// A config that passed [`check_text`], with the warnings of the analyzer
/// build (models the cameras would run without).
#[derive(Debug)]
pub struct Checked {
    pub config: Config,
    pub warnings: Vec<String>,
}

/// The checks of `estatewatch check-config`, over `text` as the content of
/// the config file `path` (which need not hold it yet: the web console's
/// calibration page checks a new text before writing it): parse and
/// validate as [`Config::load`] does, then build each enabled camera's
/// analyzers, loading the models they name
/// ([`check_setup`](crate::analysis::check_setup)).
pub fn check_text(path: &Path, text: &str) -> Result<Checked, CheckError> {
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(ConfigError::TooBig {
            path: path.to_path_buf(),
            size: text.len() as u64,
        }
        .into());
    }
    let config = Config::from_text(path, text)?;
    let setup = crate::analysis::check_setup(&config.runtime, &config.cameras);
    if setup.problems.is_empty() {
        Ok(Checked {
            config,
            warnings: setup.warnings,
        })
    } else {
        Err(CheckError::Setup {
            path: path.to_path_buf(),
            problems: setup.problems,
            warnings: setup.warnings,
        })
    }
}

/// [`check_text`] over the file at `path` (read with [`Config::load`]'s
/// size cap).
pub fn check_file(path: &Path) -> Result<Checked, CheckError> {
    let text = read_text(path)?;
    check_text(path, &text)
}

impl Config {
    /// Reads and parses a file, then validates it. Every problem is reported at once.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = read_text(path)?;
        Config::from_text(path, &text)
    }

    /// Parses and validates `text`, the content of the file `path` (named
    /// in the errors), as [`Config::load`] does.
    pub fn from_text(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let config = Config::parse_problems(text).map_err(|problems| ConfigError::Syntax {
            path: path.to_path_buf(),
            problems,
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

    /// Parses TOML text into structs without semantic checks; the error is
    /// every parse problem, one per line.
    pub fn parse(text: &str) -> Result<Config, String> {
        Config::parse_problems(text).map_err(|problems| {
            problems
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        })
    }

    /// Parses TOML text into structs without semantic checks. The problems
    /// name the field path (`cameras[0].detect.fps`) and, for the first one,
    /// the line and column; see the module documentation for what stops
    /// parsing early.
    pub fn parse_problems(text: &str) -> Result<Config, Vec<ConfigProblem>> {
        let first =
            match serde_path_to_error::deserialize::<_, Config>(toml::Deserializer::new(text)) {
                Ok(config) => return Ok(config.with_runtime_shared()),
                Err(e) => e,
            };
        let mut problems = vec![parse_problem(&first, text, true)];
        // Set the offending key aside and parse again, to report the others.
        let Ok(mut value) = text.parse::<toml::Value>() else {
            return Err(problems);
        };
        let mut path = field_path(&first);
        while problems.len() < MAX_PARSE_PROBLEMS && remove_at(&mut value, &path) {
            match serde_path_to_error::deserialize::<_, Config>(value.clone()) {
                Ok(_) => break,
                Err(e) => {
                    problems.push(parse_problem(&e, text, false));
                    path = field_path(&e);
                }
            }
        }
        Err(problems)
    }

    /// The fire analyzer's optional models load with the file's runtime settings.
    fn with_runtime_shared(mut self) -> Config {
        for cam in &mut self.cameras {
            if let Some(f) = &mut cam.analyzers.fire {
                f.runtime = self.runtime.clone();
            }
        }
        self
    }

    /// Checks everything serde cannot: ranges, uniqueness, files that must
    /// exist, secrets that must resolve. Returns every problem found, section
    /// by section in the order of the file's reference.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut p = Vec::new();
        check_id(&self.site.id, "site.id", &mut p);
        check_id(&self.gateway.id, "gateway.id", &mut p);
        self.mqtt.check(&mut p);
        self.outbox.check(&mut p);
        self.runtime.check(&mut p);
        self.health.check(&mut p);
        self.evidence.check(&mut p);
        self.homeassistant.check(&mut p);
        self.desk.check(&mut p);
        self.console.check(&self.health.listen, &mut p);
        crate::delivery::profile::check(&self.profiles, &mut p);
        let camera_names: Vec<&str> = self.cameras.iter().map(|c| c.name.as_str()).collect();
        for (i, n) in self.notifiers.iter().enumerate() {
            crate::delivery::notify::route::check(
                &n.route,
                &format!("notifiers[{i}].route"),
                Some(&camera_names),
                &mut p,
            );
        }
        crate::delivery::notify::check(&self.notifiers, &self.notify_context(), &mut p);
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
            cam.analyzers.check(&format!("{path}.analyzers"), &mut p);
            cam.selftest.check(&format!("{path}.selftest"), &mut p);
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

    /// The sections delivery is started with.
    pub fn delivery(&self) -> DeliverySections<'_> {
        DeliverySections {
            site: &self.site.id,
            gateway: &self.gateway.id,
            mqtt: &self.mqtt,
            outbox: &self.outbox,
        }
    }

    /// The sections the incident desk is started with.
    pub fn desk_sections(&self) -> crate::desk::DeskSections<'_> {
        crate::desk::DeskSections {
            desk: &self.desk,
            db: self.desk.db_path(&self.outbox.path),
            site: &self.site.id,
            gateway: &self.gateway.id,
            timezone: self.site.timezone,
            cameras: self
                .cameras
                .iter()
                .map(|c| {
                    (
                        c.name.clone(),
                        crate::desk::CameraNames {
                            display_name: c.display_name.clone(),
                            zones: zone_display_names(c),
                        },
                    )
                })
                .collect(),
        }
    }

    /// What notifiers and platform profiles need to write for people:
    /// the site's name and time zone, each camera's and zone's display
    /// name, the evidence folder, and `[console] public_url` for links.
    pub fn notify_context(&self) -> crate::delivery::notify::adapter::Context {
        use crate::delivery::notify::adapter::{CameraNames, Context};
        Context {
            site_name: self
                .site
                .name
                .clone()
                .unwrap_or_else(|| self.site.id.clone()),
            timezone: self.site.timezone,
            cameras: self
                .cameras
                .iter()
                .map(|c| {
                    (
                        c.name.clone(),
                        CameraNames {
                            name: c.display_name.clone().unwrap_or_else(|| c.name.clone()),
                            zones: zone_display_names(c),
                        },
                    )
                })
                .collect(),
            console_url: self
                .console
                .public_url
                .as_ref()
                .map(|u| u.trim_end_matches('/').to_string()),
            evidence_dir: self.evidence.dir.clone(),
        }
    }

    /// The sections the sensor inputs are started with.
    pub fn sensor_sections(&self) -> SensorSections<'_> {
        SensorSections {
            site: &self.site.id,
            gateway: &self.gateway.id,
            sensors: &self.sensors,
            mqtt: &self.mqtt,
            sensor_broker: self.sensor_broker.as_ref(),
        }
    }
}

/// Zone name → `display_name` over every analyzer's zones of `cam` (the
/// names alerts carry in `zone`); zones without a display name left out.
fn zone_display_names(cam: &CameraConfig) -> std::collections::BTreeMap<String, String> {
    let a = &cam.analyzers;
    let fire = a.fire.iter().flat_map(|f| {
        f.zones
            .iter()
            .map(|z| (z.name.as_str(), z.display_name.as_ref()))
    });
    let plain = a
        .garbage
        .iter()
        .flat_map(|g| g.zones.iter())
        .chain(a.motion.iter().flat_map(|m| m.zones.iter()))
        .map(|z| (z.name.as_str(), z.display_name.as_ref()));
    fire.chain(plain)
        .filter_map(|(name, display)| display.map(|d| (name.to_string(), d.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::config::CameraSource;

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
