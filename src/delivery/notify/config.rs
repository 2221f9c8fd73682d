//! `[[notifiers]]`: where notifications go, in which language, and which
//! messages each notifier takes. Secrets (the bot's URL with its key, a
//! signing secret) live in a separate credentials file, never in the config.

use crate::alert::{AlertKind, AlertState, Severity};
use serde::Deserialize;
use std::path::PathBuf;

/// Which vendor's API a notifier speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifierKind {
    /// A generic HTTP webhook: the JSON body is the message as published on
    /// MQTT; with a `secret`, an `X-Estatewatch-Signature: sha256=<hex>`
    /// HMAC of the body.
    Webhook,
    /// A WeCom (企业微信) group robot: markdown, then the snapshot as an
    /// image message.
    Wecom,
    /// A DingTalk (钉钉) group robot, signed with its secret: markdown with
    /// an image link.
    Dingtalk,
    /// A Feishu (飞书) custom bot, signed with its secret.
    Feishu,
}

/// The language of a notifier's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum NotifyLang {
    /// Simplified Chinese.
    #[default]
    #[serde(rename = "zh-CN")]
    ZhCn,
    /// English.
    #[serde(rename = "en")]
    En,
}

/// One `[[notifiers]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifierConfig {
    /// Name in logs, metrics, the console and the outbox's cursor table,
    /// e.g. `night-guards`. Required; letters, digits, `-`, `_`; unique.
    pub name: String,
    /// `webhook`, `wecom`, `dingtalk` or `feishu`. Required.
    pub kind: NotifierKind,
    /// A TOML file with this notifier's secrets: `url` (the bot's webhook
    /// address with its key) and, where used, `secret` (DingTalk and
    /// Feishu signing, the webhook's HMAC key). Required; keep it mode 0600.
    pub credentials_file: PathBuf,
    /// Language of the text: `"zh-CN"` or `"en"`. Default: `"zh-CN"`.
    #[serde(default)]
    pub lang: NotifyLang,
    /// Which messages this notifier takes. Default: every incident alert's
    /// `new` and `end`, of any severity, from any camera, at any hour, and
    /// escalations.
    #[serde(default)]
    pub route: RouteConfig,
    /// Attach the full-resolution snapshot where the vendor can (WeCom image
    /// message; DingTalk and Feishu link it through `console_url`).
    /// Default: `true`.
    #[serde(default = "yes")]
    pub snapshots: bool,
    /// Most messages a minute. Default: the vendor's documented limit
    /// (WeCom and DingTalk 20, Feishu 100); a webhook is unlimited.
    #[serde(default)]
    pub per_minute: Option<u32>,
    /// Seconds before a request is given up and retried. Default: 10.
    #[serde(default = "default_timeout_s")]
    pub timeout_s: u64,
}

/// `[notifiers.route]`: which messages a notifier takes. Every listed
/// condition must hold.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Alert kinds taken. Default: the incident kinds (`throwing`, `fire`,
    /// `smoke`, `garbage`, `motion`, `sensor`).
    #[serde(default)]
    pub kinds: Option<Vec<AlertKind>>,
    /// Alert states taken. Default: `["new", "end"]`.
    #[serde(default = "default_states")]
    pub states: Vec<AlertState>,
    /// Lowest severity taken. Default: any.
    #[serde(default)]
    pub min_severity: Option<Severity>,
    /// Camera ids taken. Default: every camera.
    #[serde(default)]
    pub cameras: Option<Vec<String>>,
    /// Local hours taken, in `[site] timezone`, as `"HH:MM-HH:MM"`; a span
    /// past midnight such as `"22:00-07:00"` is allowed. The alert's own
    /// time decides, not the time it is sent. Default: all day.
    #[serde(default)]
    pub hours: Option<String>,
    /// Escalations of unacknowledged critical incidents. Default: `true`.
    #[serde(default = "yes")]
    pub escalations: bool,
    /// Only escalations (an escalation route, e.g. the manager's group).
    /// Default: `false`.
    #[serde(default)]
    pub escalations_only: bool,
    /// Handling steps (acknowledged, assigned, resolved). Default: `false`.
    #[serde(default)]
    pub handling: bool,
}

impl Default for RouteConfig {
    fn default() -> Self {
        Self {
            kinds: None,
            states: default_states(),
            min_severity: None,
            cameras: None,
            hours: None,
            escalations: true,
            escalations_only: false,
            handling: false,
        }
    }
}

fn yes() -> bool {
    true
}

fn default_timeout_s() -> u64 {
    10
}

fn default_states() -> Vec<AlertState> {
    vec![AlertState::New, AlertState::End]
}
