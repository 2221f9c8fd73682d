//! The generic HTTP webhook (`kind = "webhook"`): each message is `POST`ed
//! as the JSON published on MQTT (alert-v1, handling-v1 or escalation-v1),
//! with its MQTT topic (under `<prefix>/<gateway>/`) in `X-Estatewatch-Topic`
//! and, with a `secret` in the credentials file, the HMAC-SHA256 of the body
//! in `X-Estatewatch-Signature: sha256=<hex>`.
//!
//! Answers: 2xx delivered; 429 rate limited (its `Retry-After` is honoured);
//! 408 and 5xx sent again after backoff; any other status refused for good.
//!
//! Also here: the notifier's credentials file and a minimal reading of its
//! `[notifiers.route]` (kinds, states, severity, cameras, hours,
//! escalations, handling).

use super::adapter::{Adapter, AdapterError, Context, HttpRequest, Outgoing, RateLimit, Reply};
use super::config::{NotifierConfig, RouteConfig};
use crate::alert::{AlertKind, AlertState, Severity};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The header with the message's topic.
pub const TOPIC_HEADER: &str = "X-Estatewatch-Topic";
/// The header with the body's HMAC-SHA256, `sha256=<hex>`.
pub const SIGNATURE_HEADER: &str = "X-Estatewatch-Signature";

/// A notifier's secrets, read from its `credentials_file` (TOML).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// The address messages are posted to (the bot's webhook URL with its key).
    pub url: String,
    /// The signing secret (DingTalk, Feishu) or the webhook's HMAC key.
    #[serde(default)]
    pub secret: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("url", &"***")
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Why a notifier's credentials cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("cannot read the credentials file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("credentials file {path} is not valid: {detail}")]
    Invalid { path: PathBuf, detail: String },
}

impl Credentials {
    /// Reads `path`; warns when group or others may read it.
    pub fn load(path: &Path) -> Result<Credentials, CredentialsError> {
        let text = std::fs::read_to_string(path).map_err(|source| CredentialsError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        {
            use std::os::unix::fs::PermissionsExt;
            if let Ok(m) = std::fs::metadata(path) {
                if m.permissions().mode() & 0o077 != 0 {
                    tracing::warn!(path = %path.display(), mode = format!("{:o}", m.permissions().mode() & 0o777), "notifier credentials file is readable by group or others; chmod 600 it");
                }
            }
        }
        let c: Credentials = toml::from_str(&text).map_err(|e| CredentialsError::Invalid {
            path: path.to_path_buf(),
            detail: e.message().to_string(),
        })?;
        check_url(&c.url).map_err(|detail| CredentialsError::Invalid {
            path: path.to_path_buf(),
            detail: format!("url: {detail}"),
        })?;
        if c.secret.as_deref() == Some("") {
            return Err(CredentialsError::Invalid {
                path: path.to_path_buf(),
                detail: "secret: empty (leave it out for no signature)".into(),
            });
        }
        Ok(c)
    }
}

/// An `http://` or `https://` URL with a host.
pub fn check_url(url: &str) -> Result<(), String> {
    let uri: ureq::http::Uri = url.parse().map_err(|e| format!("not a URL ({e})"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err("must start with http:// or https://".into()),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err("has no host".into());
    }
    Ok(())
}

/// The generic webhook.
pub struct Webhook {
    credentials: Credentials,
    route: RouteConfig,
    per_minute: Option<u32>,
    hours: Option<(u32, u32)>,
}

impl Webhook {
    /// Builds the adapter for `config` (its credentials file is read now;
    /// [`super::build`] has checked `route.hours`).
    pub fn new(config: &NotifierConfig) -> Result<Webhook, CredentialsError> {
        let credentials = Credentials::load(&config.credentials_file)?;
        let hours = config
            .route
            .hours
            .as_deref()
            .and_then(|h| parse_hours(h).ok());
        Ok(Webhook {
            credentials,
            route: config.route.clone(),
            per_minute: config.per_minute,
            hours,
        })
    }
}

/// `"HH:MM-HH:MM"` as minutes of the day (start, end); end may be before
/// start (a span past midnight).
pub fn parse_hours(s: &str) -> Result<(u32, u32), String> {
    let minutes = |t: &str| -> Option<u32> {
        let (h, m) = t.trim().split_once(':')?;
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60).then_some(h * 60 + m)
    };
    let (a, b) = s
        .split_once('-')
        .ok_or_else(|| format!("{s:?} is not \"HH:MM-HH:MM\""))?;
    match (minutes(a), minutes(b)) {
        (Some(a), Some(b)) if a != b => Ok((a, b)),
        (Some(_), Some(_)) => Err(format!("{s:?} is an empty span")),
        _ => Err(format!("{s:?} is not \"HH:MM-HH:MM\"")),
    }
}

/// The incident kinds a route takes by default.
const INCIDENT_KINDS: [AlertKind; 6] = [
    AlertKind::Throwing,
    AlertKind::Fire,
    AlertKind::Smoke,
    AlertKind::Garbage,
    AlertKind::Motion,
    AlertKind::Sensor,
];

/// What kind of message a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Alert,
    Handling,
    Escalation,
}

fn class_of(topic: Option<&str>) -> Class {
    match topic {
        None => Class::Alert,
        Some(t) if t.ends_with("/escalation") => Class::Escalation,
        Some(_) => Class::Handling,
    }
}

impl Webhook {
    /// True when this notifier's route takes `msg`.
    fn takes(&self, msg: &Outgoing<'_>, ctx: &Context) -> bool {
        let r = &self.route;
        let p = msg.payload;
        let field = |k: &str| p.get(k).and_then(|v| v.as_str());
        match class_of(msg.topic) {
            Class::Alert if r.escalations_only => return false,
            Class::Escalation if !r.escalations => return false,
            Class::Handling if !r.handling || r.escalations_only => return false,
            _ => {}
        }
        let kind = field("kind").and_then(|k| k.parse::<AlertKind>().ok());
        let kinds_ok = match (&r.kinds, kind) {
            (Some(ks), Some(k)) => ks.contains(&k),
            (None, Some(k)) => INCIDENT_KINDS.contains(&k),
            (_, None) => false,
        };
        if !kinds_ok {
            return false;
        }
        if class_of(msg.topic) == Class::Alert {
            let state = p
                .get("state")
                .and_then(|s| serde_json::from_value::<AlertState>(s.clone()).ok());
            if !state.is_some_and(|s| r.states.contains(&s)) {
                return false;
            }
        }
        if let Some(min) = r.min_severity {
            let sev = p
                .get("severity")
                .and_then(|s| serde_json::from_value::<Severity>(s.clone()).ok());
            // Handling steps carry no severity: the route's floor does not apply.
            if sev.is_some_and(|s| s < min) {
                return false;
            }
        }
        if let Some(cams) = &r.cameras {
            if !field("camera").is_some_and(|c| cams.iter().any(|x| x == c)) {
                return false;
            }
        }
        if let Some((start, end)) = self.hours {
            let at = ["detected_at", "escalated_at", "at"]
                .iter()
                .find_map(|k| field(k))
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&chrono::Utc));
            if let Some(at) = at {
                use chrono::Timelike;
                let local = ctx.timezone.local(at);
                let m = local.hour() * 60 + local.minute();
                let inside = if start < end {
                    (start..end).contains(&m)
                } else {
                    m >= start || m < end
                };
                if !inside {
                    return false;
                }
            }
        }
        true
    }
}

/// `sha256=<hex>` of `body` keyed with `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for b in tag {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

impl Adapter for Webhook {
    fn requests(
        &self,
        msg: &Outgoing<'_>,
        ctx: &Context,
        _now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<HttpRequest>, AdapterError> {
        if !self.takes(msg, ctx) {
            return Ok(Vec::new());
        }
        let body = serde_json::to_vec(msg.payload).map_err(|e| AdapterError::Payload {
            seq: msg.seq,
            reason: e.to_string(),
        })?;
        let topic = match msg.topic {
            Some(t) => t.to_string(),
            None => format!(
                "alerts/{}",
                msg.payload
                    .get("kind")
                    .and_then(|k| k.as_str())
                    .unwrap_or("unknown")
            ),
        };
        let mut headers = vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            (TOPIC_HEADER.to_string(), topic),
        ];
        if let Some(id) = msg.payload.get("id").and_then(|v| v.as_str()) {
            headers.push(("X-Estatewatch-Id".to_string(), id.to_string()));
        }
        if let Some(secret) = &self.credentials.secret {
            headers.push((SIGNATURE_HEADER.to_string(), signature(secret, &body)));
        }
        Ok(vec![HttpRequest {
            url: self.credentials.url.clone(),
            headers,
            body,
        }])
    }

    fn classify(&self, status: u16, body: &[u8]) -> Reply {
        let text = || {
            let s = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
            if s.trim().is_empty() {
                format!("HTTP {status}")
            } else {
                s
            }
        };
        match status {
            200..=299 => Reply::Delivered,
            429 => Reply::RateLimited { retry_after: None },
            408 | 500..=599 => Reply::Retry { reason: text() },
            _ => Reply::Rejected { reason: text() },
        }
    }

    fn rate_limit(&self) -> Option<RateLimit> {
        self.per_minute.map(|n| RateLimit {
            requests: n,
            per: Duration::from_secs(60),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn ctx() -> Context {
        Context {
            site_name: "s".into(),
            timezone: "Asia/Shanghai".parse().unwrap(),
            cameras: BTreeMap::new(),
            console_url: None,
            evidence_dir: PathBuf::from("/nonexistent"),
        }
    }

    fn hook(route: RouteConfig) -> Webhook {
        Webhook {
            credentials: Credentials {
                url: "http://127.0.0.1:1/hook".into(),
                secret: Some("k".into()),
            },
            route,
            per_minute: None,
            hours: None,
        }
    }

    fn alert(kind: &str, state: &str, severity: &str, camera: &str) -> serde_json::Value {
        serde_json::json!({"id": "x", "event": "e", "kind": kind, "state": state,
            "severity": severity, "camera": camera, "detected_at": "2026-01-01T16:30:00Z"})
    }

    fn takes(h: &Webhook, topic: Option<&str>, p: &serde_json::Value) -> bool {
        let msg = Outgoing {
            seq: 1,
            topic,
            payload: p,
        };
        !h.requests(&msg, &ctx(), chrono::Utc::now())
            .unwrap()
            .is_empty()
    }

    #[test]
    fn default_route_takes_incident_new_and_end_and_escalations() {
        let h = hook(RouteConfig::default());
        assert!(takes(&h, None, &alert("fire", "new", "major", "shed")));
        assert!(takes(&h, None, &alert("fire", "end", "major", "shed")));
        assert!(!takes(&h, None, &alert("fire", "update", "major", "shed")));
        assert!(!takes(
            &h,
            None,
            &alert("camera_offline", "new", "major", "shed")
        ));
        let esc = serde_json::json!({"kind": "fire", "severity": "critical", "camera": "shed"});
        assert!(takes(&h, Some("incidents/e/escalation"), &esc));
        assert!(!takes(&h, Some("incidents/e/handling"), &esc));
    }

    #[test]
    fn route_filters_severity_camera_and_hours_in_site_time() {
        let mut r = RouteConfig {
            min_severity: Some(Severity::Major),
            cameras: Some(vec!["shed".into()]),
            ..RouteConfig::default()
        };
        r.kinds = Some(vec![AlertKind::Test, AlertKind::Fire]);
        let mut h = hook(r);
        assert!(takes(&h, None, &alert("test", "new", "critical", "shed")));
        assert!(!takes(&h, None, &alert("fire", "new", "warning", "shed")));
        assert!(!takes(&h, None, &alert("fire", "new", "critical", "gate")));
        // 16:30 UTC is 00:30 in Shanghai: inside 22:00-07:00, outside 08:00-20:00.
        h.hours = Some(parse_hours("22:00-07:00").unwrap());
        assert!(takes(&h, None, &alert("fire", "new", "critical", "shed")));
        h.hours = Some(parse_hours("08:00-20:00").unwrap());
        assert!(!takes(&h, None, &alert("fire", "new", "critical", "shed")));
        assert!(parse_hours("25:00-07:00").is_err() && parse_hours("7-8").is_err());
    }

    #[test]
    fn classify_and_sign() {
        let h = hook(RouteConfig::default());
        assert_eq!(h.classify(204, b""), Reply::Delivered);
        assert_eq!(
            h.classify(429, b""),
            Reply::RateLimited { retry_after: None }
        );
        assert!(matches!(h.classify(503, b"down"), Reply::Retry { .. }));
        assert!(matches!(h.classify(404, b""), Reply::Rejected { .. }));
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let p = alert("fire", "new", "major", "shed");
        let msg = Outgoing {
            seq: 1,
            topic: None,
            payload: &p,
        };
        let reqs = h.requests(&msg, &ctx(), chrono::Utc::now()).unwrap();
        let hdr = |n: &str| {
            reqs[0]
                .headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(hdr(TOPIC_HEADER).as_deref(), Some("alerts/fire"));
        assert_eq!(hdr(SIGNATURE_HEADER), Some(signature("k", &reqs[0].body)));
    }

    #[test]
    fn credentials_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.toml");
        let e = Credentials::load(&missing).unwrap_err().to_string();
        assert!(e.contains("none.toml"), "{e}");
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "url = \"ftp://x\"\n").unwrap();
        let e = Credentials::load(&bad).unwrap_err().to_string();
        assert!(e.contains("bad.toml") && e.contains("url"), "{e}");
        let odd = dir.path().join("odd.toml");
        std::fs::write(&odd, "url = \"http://h/x\"\ntoken = 1\n").unwrap();
        let e = Credentials::load(&odd).unwrap_err().to_string();
        assert!(e.contains("odd.toml") && e.contains("token"), "{e}");
    }
}
