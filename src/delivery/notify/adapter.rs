//! The seam between sending and formatting. The sender reads rows from the
//! outbox in order and hands each to its notifier's [`Adapter`]; the adapter
//! says which HTTP requests deliver it (none when the notifier's routes do
//! not take it) and what the vendor's answer means. The sender owns retries,
//! backoff, the rate limit and the cursor; the adapter owns the vendor.

use crate::settings::SiteTimezone;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// One HTTP `POST` an adapter wants sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// Full URL, with any query (DingTalk's `timestamp` and `sign`).
    pub url: String,
    /// Headers besides `Content-Length`, e.g. `Content-Type: application/json`.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// What a vendor's answer to one request means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Taken: go on with the next request.
    Delivered,
    /// The vendor's rate limit was hit (WeCom `errcode` 45009, DingTalk
    /// 130101, Feishu 9499, HTTP 429): wait, merge, send again.
    RateLimited {
        /// How long the vendor asked to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// A passing failure (5xx, a timeout): send again after backoff.
    Retry {
        /// For the log and the console.
        reason: String,
    },
    /// The vendor will never take this request (bad token, bad format):
    /// logged and counted, and the message is passed over so it does not
    /// block the ones after it.
    Rejected {
        /// For the log and the console.
        reason: String,
    },
}

/// A message from the outbox, as a notifier is given it.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    /// The outbox row's `seq` (increasing).
    pub seq: i64,
    /// `None` for an alert (alert-v1); otherwise the message's topic under
    /// `<prefix>/<gateway>/`: `incidents/<event>/handling` (handling-v1) or
    /// `incidents/<event>/escalation` (escalation-v1).
    pub topic: Option<&'a str>,
    /// The payload exactly as published on MQTT.
    pub payload: &'a serde_json::Value,
}

/// Display names of one camera, for text written for people.
#[derive(Debug, Clone, Default)]
pub struct CameraNames {
    /// The camera's `display_name`, or its id.
    pub name: String,
    /// Zone id → the zone's `display_name`, or its id.
    pub zones: BTreeMap<String, String>,
}

/// What every notifier needs from the rest of the config to write for
/// people. Built once at start and on reload.
#[derive(Debug, Clone)]
pub struct Context {
    /// `[site] name`, or the site id.
    pub site_name: String,
    /// `[site] timezone`: every time in a message is local.
    pub timezone: SiteTimezone,
    /// Camera id → its names.
    pub cameras: BTreeMap<String, CameraNames>,
    /// The console as staff reach it, e.g. `https://10.0.0.5:9807`; a
    /// message links `<console_url>/incidents/<event>`. `None`: no link.
    pub console_url: Option<String>,
    /// `[evidence] dir`: a snapshot named in an alert's `evidence` is read
    /// from here for image messages.
    pub evidence_dir: PathBuf,
}

/// A vendor's documented sending limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// At most this many requests…
    pub requests: u32,
    /// …in any window this long.
    pub per: Duration,
}

/// Why an adapter cannot build the requests for a message. The message is
/// logged, counted and passed over (it would fail the same way again).
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// The payload lacks a field the message needs.
    #[error("outbox row {seq}: {reason}")]
    Payload {
        /// The row.
        seq: i64,
        /// What was missing or malformed.
        reason: String,
    },
}

/// One vendor's format, with the notifier's routes, language and secrets.
pub trait Adapter: Send + Sync {
    /// The requests that deliver `msg`, in order (WeCom: the markdown text,
    /// then the snapshot as an image message). Empty when this notifier's
    /// routes do not take the message. `now` signs requests that need it.
    fn requests(
        &self,
        msg: &Outgoing<'_>,
        ctx: &Context,
        now: DateTime<Utc>,
    ) -> Result<Vec<HttpRequest>, AdapterError>;

    /// What the vendor's answer (HTTP status and body) means.
    fn classify(&self, status: u16, body: &[u8]) -> Reply;

    /// The vendor's documented limit, or the notifier's `per_minute`;
    /// `None`: unlimited.
    fn rate_limit(&self) -> Option<RateLimit>;
}
