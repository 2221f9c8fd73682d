//! What the three chat-bot adapters ([`wecom`](super::wecom),
//! [`dingtalk`](super::dingtalk), [`feishu`](super::feishu)) share: building
//! one from its `[[notifiers]]` table ([`build`]: credentials read, route
//! checked), the JSON request, reading the vendor's answer code into a
//! [`Reply`], HMAC-SHA256 for the signatures, and the stored picture an
//! alert points to.

use super::adapter::{Adapter, Context, HttpRequest, Outgoing, RateLimit, Reply};
use super::config::{NotifierConfig, NotifierKind, NotifyLang};
use super::credentials::{Credentials, CredentialsError};
use super::message::snapshot_file;
use super::route::{MessageType, Route, RouteError};
use crate::alert::AlertState;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Component, Path};
use std::time::Duration;

/// Largest stored picture read for an image message.
const MAX_PICTURE_BYTES: u64 = 32 << 20;

/// Why a vendor notifier cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum VendorError {
    /// The credentials file is missing, unreadable or wrong.
    #[error("notifiers[{index}].credentials_file: {source}")]
    Credentials {
        /// The notifier's place in `[[notifiers]]`.
        index: usize,
        /// What is wrong with the file.
        source: CredentialsError,
    },
    /// The vendor signs every request and the file has no `secret`.
    #[error("notifiers[{index}].credentials_file: {file}: `secret` is required for a {kind} notifier (the robot's signing secret; see docs/notifications.md)")]
    NoSecret {
        /// The notifier's place in `[[notifiers]]`.
        index: usize,
        /// The file.
        file: String,
        /// `dingtalk` or `feishu`.
        kind: &'static str,
    },
    /// The route cannot be used.
    #[error(transparent)]
    Route(#[from] RouteError),
    /// `kind = "webhook"` is not one of the vendors built here.
    #[error("notifiers[{index}].kind: webhook notifiers are not built by the vendor adapters")]
    NotVendor {
        /// The notifier's place in `[[notifiers]]`.
        index: usize,
    },
}

/// The adapter for the WeCom, DingTalk or Feishu notifier `cfg`, the
/// `index`-th of `[[notifiers]]` (its credentials file read now).
pub fn build(cfg: &NotifierConfig, index: usize) -> Result<Box<dyn Adapter>, VendorError> {
    let creds = Credentials::read(&cfg.credentials_file)
        .map_err(|source| VendorError::Credentials { index, source })?;
    let route = Route::from_config(&cfg.route, &format!("notifiers[{index}].route"))?;
    let secret = |kind: &'static str| {
        creds.secret.clone().ok_or_else(|| VendorError::NoSecret {
            index,
            file: cfg.credentials_file.display().to_string(),
            kind,
        })
    };
    let common = |vendor_limit: u32| Common {
        name: cfg.name.clone(),
        url: creds.url.clone(),
        route,
        lang: cfg.lang,
        snapshots: cfg.snapshots,
        per_minute: cfg.per_minute.unwrap_or(vendor_limit),
    };
    let adapter: Box<dyn Adapter> = match cfg.kind {
        NotifierKind::Wecom => Box::new(super::wecom::Wecom::new(common(super::wecom::PER_MINUTE))),
        NotifierKind::Dingtalk => {
            let s = secret("dingtalk")?;
            Box::new(super::dingtalk::Dingtalk::new(
                common(super::dingtalk::PER_MINUTE),
                s,
            ))
        }
        NotifierKind::Feishu => {
            let s = secret("feishu")?;
            Box::new(super::feishu::Feishu::new(
                common(super::feishu::PER_MINUTE),
                Some(s),
            ))
        }
        NotifierKind::Webhook => return Err(VendorError::NotVendor { index }),
    };
    Ok(adapter)
}

/// What every vendor adapter holds.
#[derive(Debug, Clone)]
pub struct Common {
    /// The notifier's `name`, for logs.
    pub name: String,
    /// The bot's webhook address (from the credentials file).
    pub url: String,
    /// Which messages it takes.
    pub route: Route,
    /// The language of its text.
    pub lang: NotifyLang,
    /// Whether pictures are sent or linked.
    pub snapshots: bool,
    /// Most requests a minute.
    pub per_minute: u32,
}

impl Common {
    /// The limit [`Adapter::rate_limit`] reports.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        Some(RateLimit {
            requests: self.per_minute,
            per: Duration::from_secs(60),
        })
    }

    /// Whether `msg` should carry its picture: an alert's `new`, the
    /// `update` that announces the full-resolution snapshot, an escalation;
    /// never an `end` or a handling step. Always false without `snapshots`.
    pub fn wants_picture(&self, msg: &Outgoing<'_>) -> bool {
        if !self.snapshots {
            return false;
        }
        match MessageType::of(msg.topic) {
            MessageType::Escalation => true,
            MessageType::Alert => {
                let state = msg
                    .payload
                    .get("state")
                    .and_then(|s| serde_json::from_value::<AlertState>(s.clone()).ok());
                match state {
                    Some(AlertState::New) => true,
                    Some(AlertState::Update) => msg
                        .payload
                        .get("evidence")
                        .and_then(|e| e.get("snapshot"))
                        .is_some_and(Value::is_object),
                    _ => false,
                }
            }
            _ => false,
        }
    }

    /// The stored picture `msg` points to, read from the evidence folder;
    /// `None` (logged) when there is none or it cannot be read (swept,
    /// never stored).
    pub fn picture(&self, msg: &Outgoing<'_>, ctx: &Context) -> Option<Vec<u8>> {
        let rel = snapshot_file(msg.payload)?;
        let safe = Path::new(rel)
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
        if !safe {
            tracing::warn!(notifier = %self.name, seq = msg.seq, path = rel, "evidence path leaves the evidence folder; picture not sent");
            return None;
        }
        let path = ctx.evidence_dir.join(rel);
        let read = std::fs::metadata(&path).and_then(|m| {
            if m.len() > MAX_PICTURE_BYTES {
                Err(std::io::Error::other(format!(
                    "{} bytes, more than {MAX_PICTURE_BYTES}",
                    m.len()
                )))
            } else {
                std::fs::read(&path)
            }
        });
        match read {
            Ok(b) => Some(b),
            Err(e) => {
                tracing::warn!(notifier = %self.name, seq = msg.seq, path = %path.display(), error = %e, "stored picture not readable; message sent without it");
                None
            }
        }
    }

    /// The file name of the picture `msg` points to (`snapshot.jpg`), for
    /// a link `<console_url>/evidence/<event>/<name>`.
    pub fn picture_link(&self, msg: &Outgoing<'_>, ctx: &Context) -> Option<String> {
        if !self.wants_picture(msg) {
            return None;
        }
        let base = ctx.console_url.as_deref()?.trim_end_matches('/');
        let event = msg.payload.get("event").and_then(Value::as_str)?;
        let name = Path::new(snapshot_file(msg.payload)?)
            .file_name()?
            .to_str()?;
        Some(format!("{base}/evidence/{event}/{name}"))
    }
}

/// A `POST` of `body` as JSON to `url`.
pub fn json_post(url: &str, body: &Value) -> HttpRequest {
    HttpRequest {
        url: url.to_string(),
        headers: vec![(
            "Content-Type".to_string(),
            "application/json; charset=utf-8".to_string(),
        )],
        body: body.to_string().into_bytes(),
    }
}

/// How a vendor answers: which JSON member holds its code and message, and
/// which codes mean what.
#[derive(Debug)]
pub struct Codes {
    /// The members that may hold the code, first found wins
    /// (`errcode`; Feishu `code`, or `StatusCode` on its older endpoint).
    pub code: &'static [&'static str],
    /// The members that may hold the message.
    pub message: &'static [&'static str],
    /// Codes meaning "too many requests".
    pub rate_limited: &'static [i64],
    /// Codes meaning a passing failure on the vendor's side.
    pub retry: &'static [i64],
}

/// Reads a vendor's answer: HTTP 429 or a rate-limit code is
/// [`Reply::RateLimited`]; code 0 with a 2xx status is delivered; a retry
/// code, a 5xx, a 408 or an answer without a code is retried; any other
/// code, and any other 4xx, is rejected (it would fail again).
pub fn classify(status: u16, body: &[u8], codes: &Codes) -> Reply {
    if status == 429 {
        return Reply::RateLimited { retry_after: None };
    }
    let answer: Option<Value> = serde_json::from_slice(body).ok();
    let member = |keys: &[&str]| {
        answer
            .as_ref()
            .and_then(|a| keys.iter().find_map(|k| a.get(*k)))
            .cloned()
    };
    let code = member(codes.code).and_then(|c| c.as_i64());
    let text = member(codes.message)
        .and_then(|m| m.as_str().map(str::to_string))
        .unwrap_or_default();
    let text: String = text.chars().take(200).collect();
    match code {
        Some(0) if (200..300).contains(&status) => Reply::Delivered,
        Some(c) if codes.rate_limited.contains(&c) => Reply::RateLimited { retry_after: None },
        Some(c) if codes.retry.contains(&c) || status >= 500 => Reply::Retry {
            reason: format!("HTTP {status}, code {c}: {text}"),
        },
        Some(c) => Reply::Rejected {
            reason: format!("HTTP {status}, code {c}: {text}"),
        },
        None if status >= 500 || status == 408 || (200..300).contains(&status) => Reply::Retry {
            reason: format!("HTTP {status} without a readable answer code"),
        },
        None => Reply::Rejected {
            reason: format!("HTTP {status} without a readable answer code"),
        },
    }
}

/// HMAC-SHA256 (RFC 2104) of `msg` under `key`.
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |b: u8| k.map(|x| x ^ b);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test cases 2 and 6 (a key longer than the block).
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex(&hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    const CODES: Codes = Codes {
        code: &["errcode"],
        message: &["errmsg"],
        rate_limited: &[45009],
        retry: &[-1],
    };

    #[test]
    fn answers_are_read_by_code_then_status() {
        let c = |status, body: &str| classify(status, body.as_bytes(), &CODES);
        assert_eq!(c(200, r#"{"errcode":0,"errmsg":"ok"}"#), Reply::Delivered);
        assert_eq!(
            c(200, r#"{"errcode":45009,"errmsg":"api freq out of limit"}"#),
            Reply::RateLimited { retry_after: None }
        );
        assert_eq!(c(429, ""), Reply::RateLimited { retry_after: None });
        assert!(matches!(
            c(200, r#"{"errcode":-1,"errmsg":"system busy"}"#),
            Reply::Retry { .. }
        ));
        assert!(matches!(c(502, "bad gateway"), Reply::Retry { .. }));
        assert!(matches!(c(200, "<html>"), Reply::Retry { .. }));
        match c(200, r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#) {
            Reply::Rejected { reason } => {
                assert!(reason.contains("93000: invalid webhook url"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(c(404, "not found"), Reply::Rejected { .. }));
    }
}
