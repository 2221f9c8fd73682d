//! The `[mqtt]` (with `[mqtt.tls]`) and `[outbox]` sections of the config
//! file: where alerts are published and the on-disk queue that holds them
//! until the broker acknowledges them, with their validation. `[sensor_broker]`
//! has the same keys as `[mqtt]`. `[homeassistant]`: Home Assistant MQTT
//! discovery on the `[mqtt]` broker ([`super::homeassistant`]).

use crate::settings::{check_file, push, ConfigProblem, Secret};
use serde::Deserialize;
use std::path::PathBuf;

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
    /// Also embed the annotated JPEG in video alerts (base64 in the alert's
    /// `snapshot` field, ~40–80 KB per alert in the outbox and on the wire).
    /// Without it alerts point to the stored files (`evidence`) and the
    /// picture is published on the retained snapshot topic. Default: false.
    #[serde(default)]
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
    /// The daemon lowers it at start to what the outbox's filesystem can hold (logged).
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
    /// Drop undelivered alerts older than this many hours. Default: none (keep until delivered or capped).
    #[serde(default)]
    pub ttl_hours: Option<u64>,
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
fn default_outbox_path() -> PathBuf {
    PathBuf::from("/var/lib/estatewatch/outbox.db")
}
fn default_max_rows() -> u64 {
    100_000
}
fn default_max_bytes() -> u64 {
    512 * 1024 * 1024
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
            embed_snapshots: false,
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

impl MqttConfig {
    /// The client id actually used.
    pub fn client_id_for(&self, gateway: &str) -> String {
        self.client_id
            .clone()
            .unwrap_or_else(|| format!("estatewatch-{gateway}"))
    }

    /// Checks the section; problems are reported under `mqtt.` (the
    /// composed config renames them for `[sensor_broker]`).
    pub fn check(&self, p: &mut Vec<ConfigProblem>) {
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
            tls.check(p);
        }
    }
}

impl TlsConfig {
    /// Checks that the files exist, then loads them exactly as the daemon
    /// does ([`rustls_config`](super::mqtt::rustls_config)): PEM parsing,
    /// the CA, and whether the key matches the certificate.
    fn check(&self, p: &mut Vec<ConfigProblem>) {
        let before = p.len();
        check_file(&self.ca_file, "mqtt.tls.ca_file", p);
        match (&self.client_cert, &self.client_key) {
            (Some(c), Some(k)) => {
                check_file(c, "mqtt.tls.client_cert", p);
                check_file(k, "mqtt.tls.client_key", p);
            }
            (Some(_), None) => push(p, "mqtt.tls.client_key", "required when client_cert is set"),
            (None, Some(_)) => push(p, "mqtt.tls.client_cert", "required when client_key is set"),
            (None, None) => {}
        }
        if p.len() == before {
            if let Err(e) = super::mqtt::rustls_config(self) {
                push(p, e.field(), e.detail());
            }
        }
    }
}

impl OutboxConfig {
    /// Checks the section; problems are reported under `outbox.`.
    pub fn check(&self, p: &mut Vec<ConfigProblem>) {
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

/// `[homeassistant]`: Home Assistant MQTT discovery on the `[mqtt]` broker
/// (`docs/mqtt.md`, "Home Assistant").
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HomeAssistantConfig {
    /// Publish discovery configs and entity states for Home Assistant.
    /// Default: false.
    #[serde(default)]
    pub enabled: bool,
    /// First level of the discovery topics (Home Assistant's MQTT
    /// integration setting of the same name). Default: `homeassistant`.
    #[serde(default = "default_discovery_prefix")]
    pub discovery_prefix: String,
    /// Seconds a throw or motion incident (which has no `end`) shows as
    /// `ON` after its last message, 1..=3600. Default: 60.
    #[serde(default = "default_hold_s")]
    pub hold_s: u64,
}

fn default_discovery_prefix() -> String {
    "homeassistant".into()
}

fn default_hold_s() -> u64 {
    60
}

impl Default for HomeAssistantConfig {
    fn default() -> Self {
        HomeAssistantConfig {
            enabled: false,
            discovery_prefix: default_discovery_prefix(),
            hold_s: default_hold_s(),
        }
    }
}

impl HomeAssistantConfig {
    /// Checks the keys, naming each field path.
    pub fn check(&self, p: &mut Vec<ConfigProblem>) {
        let dp = &self.discovery_prefix;
        if dp.is_empty()
            || dp.chars().any(|c| matches!(c, '+' | '#' | '\0'))
            || dp.starts_with('/')
            || dp.ends_with('/')
        {
            push(
                p,
                "homeassistant.discovery_prefix",
                format!(
                    "must be a non-empty topic without wildcards or leading/trailing '/', got {dp:?}"
                ),
            );
        }
        if !(1..=3600).contains(&self.hold_s) {
            push(
                p,
                "homeassistant.hold_s",
                format!("must be 1..=3600, got {}", self.hold_s),
            );
        }
    }
}
