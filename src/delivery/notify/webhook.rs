//! The generic HTTP webhook (`kind = "webhook"`): each message is `POST`ed
//! as the JSON published on MQTT (alert-v1, handling-v1 or escalation-v1),
//! with its MQTT topic (under `<prefix>/<gateway>/`) in `X-Estatewatch-Topic`
//! and, with a `secret` in the credentials file, the HMAC-SHA256 of the body
//! in `X-Estatewatch-Signature: sha256=<hex>`.
//!
//! Answers: 2xx delivered; 429 rate limited (its `Retry-After` is honoured);
//! 408 and 5xx sent again after backoff; any other status refused for good.
//!
//! Its credentials file and its route are read as every notifier's are
//! ([`super::credentials`], [`super::route`]).

use super::adapter::{Adapter, AdapterError, Context, HttpRequest, Outgoing, RateLimit, Reply};
use super::config::NotifierConfig;
use super::credentials::{Credentials, CredentialsError};
use super::route::Route;
use super::vendor::hmac_sha256;
use std::time::Duration;

/// The header with the message's topic.
pub const TOPIC_HEADER: &str = "X-Estatewatch-Topic";
/// The header with the body's HMAC-SHA256, `sha256=<hex>`.
pub const SIGNATURE_HEADER: &str = "X-Estatewatch-Signature";

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
    route: Route,
    per_minute: Option<u32>,
}

impl Webhook {
    /// Builds the adapter for `config`, the `index`-th of `[[notifiers]]`
    /// (its credentials file is read now).
    pub fn new(config: &NotifierConfig, index: usize) -> Result<Webhook, super::BuildError> {
        let file = &config.credentials_file;
        let credentials = Credentials::read(file)?;
        check_url(&credentials.url).map_err(|detail| CredentialsError::Parse {
            file: file.clone(),
            reason: format!("url: {detail}"),
        })?;
        if credentials.secret.as_deref() == Some("") {
            return Err(CredentialsError::Parse {
                file: file.clone(),
                reason: "secret: empty (leave it out for no signature)".into(),
            }
            .into());
        }
        let route = Route::from_config(&config.route, &format!("notifiers[{index}].route"))
            .map_err(|e| super::BuildError::Field {
                field: "route",
                detail: e.to_string(),
            })?;
        Ok(Webhook {
            credentials,
            route,
            per_minute: config.per_minute,
        })
    }

    /// True when this notifier's route takes `msg`.
    fn takes(&self, msg: &Outgoing<'_>, ctx: &Context) -> bool {
        self.route.takes(msg, ctx)
    }
}

/// `sha256=<hex>` of `body` keyed with `secret` (the HMAC the chat-bot
/// vendors sign with too, [`hmac_sha256`]).
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for b in hmac_sha256(secret.as_bytes(), body) {
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
    use crate::alert::{AlertKind, Severity};
    use crate::delivery::notify::config::RouteConfig;
    use std::collections::BTreeMap;

    fn ctx() -> Context {
        Context {
            site_name: "s".into(),
            timezone: "Asia/Shanghai".parse().unwrap(),
            cameras: BTreeMap::new(),
            console_url: None,
            evidence_dir: std::path::PathBuf::from("/nonexistent"),
        }
    }

    fn hook(route: RouteConfig) -> Webhook {
        Webhook {
            credentials: Credentials {
                url: "http://127.0.0.1:1/hook".into(),
                secret: Some("k".into()),
            },
            route: Route::from_config(&route, "notifiers[0].route").unwrap(),
            per_minute: None,
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
        let h = hook(r.clone());
        assert!(takes(&h, None, &alert("test", "new", "critical", "shed")));
        assert!(!takes(&h, None, &alert("fire", "new", "warning", "shed")));
        assert!(!takes(&h, None, &alert("fire", "new", "critical", "gate")));
        // 16:30 UTC is 00:30 in Shanghai: inside 22:00-07:00, outside 08:00-20:00.
        r.hours = Some("22:00-07:00".into());
        assert!(takes(
            &hook(r.clone()),
            None,
            &alert("fire", "new", "critical", "shed")
        ));
        r.hours = Some("08:00-20:00".into());
        assert!(!takes(
            &hook(r),
            None,
            &alert("fire", "new", "critical", "shed")
        ));
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
        let new = |file: &std::path::Path| {
            let cfg: NotifierConfig = toml::from_str(&format!(
                "name = \"h\"\nkind = \"webhook\"\ncredentials_file = \"{}\"\n",
                file.display()
            ))
            .unwrap();
            Webhook::new(&cfg, 0)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        let e = new(&dir.path().join("none.toml"));
        assert!(e.contains("none.toml"), "{e}");
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "url = \"ftp://x\"\n").unwrap();
        let e = new(&bad);
        assert!(e.contains("bad.toml") && e.contains("url"), "{e}");
        let odd = dir.path().join("odd.toml");
        std::fs::write(&odd, "url = \"http://h/x\"\ntoken = 1\n").unwrap();
        let e = new(&odd);
        assert!(e.contains("odd.toml") && e.contains("token"), "{e}");
    }
}
