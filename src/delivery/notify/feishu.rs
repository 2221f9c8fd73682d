//! Feishu (飞书) custom bot (自定义机器人), with signature verification
//! ("签名校验"), as its open-platform documentation describes it
//! (open.feishu.cn, written from what we know of it: this machine cannot
//! reach the vendor's pages; checked against a local stand-in in
//! `tests/delivery/vendors.rs`):
//!
//! - `POST https://open.feishu.cn/open-apis/bot/v2/hook/<token>` (the
//!   credentials file's `url`), `Content-Type: application/json`.
//! - Signed: the body carries `"timestamp": "<s>"` (Unix seconds, as a
//!   string) and `"sign": base64(HmacSHA256(key = "<s>\n<secret>",
//!   message = ""))`. Feishu refuses a timestamp more than an hour from its
//!   clock (code 19021), so the gateway's clock must be right (NTP).
//! - The message as an interactive card, `"msg_type": "interactive"` with
//!   `"card": {"config": {"wide_screen_mode": true}, "header": {"title":
//!   {"tag": "plain_text", "content": …}, "template": <colour by severity>},
//!   "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": …}},
//!   {"tag": "action", "actions": [{"tag": "button", …, "url": <incident
//!   page>}]}]}`. A custom bot cannot upload pictures (that needs an app's
//!   `image_key`), so with `snapshots` and `console_url` the picture is a
//!   link to the console.
//! - The answer: `{"code":0,"msg":"success"}` (older endpoints answer
//!   `{"StatusCode":0,"StatusMessage":"success"}`); `11232` and `9499` are
//!   the rate limit (100 requests a minute, 5 a second per bot); any other
//!   code (`19021` bad signature or stale timestamp, `19022` IP not allowed,
//!   `19024` keyword missing, …) rejects the request.

use super::adapter::{Adapter, AdapterError, Context, HttpRequest, Outgoing, RateLimit, Reply};
use super::message::{words, Message};
use super::vendor::{classify, hmac_sha256, json_post, Codes, Common};
use crate::alert::Severity;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// Feishu's documented limit: 100 requests a minute per bot.
pub const PER_MINUTE: u32 = 100;

const CODES: Codes = Codes {
    code: &["code", "StatusCode"],
    message: &["msg", "StatusMessage"],
    rate_limited: &[9499, 11232],
    retry: &[],
};

/// A Feishu custom bot notifier.
#[derive(Debug, Clone)]
pub struct Feishu {
    c: Common,
    secret: Option<String>,
}

impl Feishu {
    /// The adapter for a checked notifier; requests are signed when
    /// `secret` is given.
    pub fn new(c: Common, secret: Option<String>) -> Feishu {
        Feishu { c, secret }
    }
}

/// Feishu's `sign` for `timestamp_s`.
pub fn sign(secret: &str, timestamp_s: i64) -> String {
    let mac = hmac_sha256(format!("{timestamp_s}\n{secret}").as_bytes(), b"");
    base64::engine::general_purpose::STANDARD.encode(mac)
}

/// The card header's colour for a severity (handling steps: green).
fn template(s: Option<Severity>) -> &'static str {
    match s {
        Some(Severity::Critical) => "red",
        Some(Severity::Major) => "orange",
        Some(Severity::Warning) => "yellow",
        Some(Severity::Info) => "blue",
        None => "green",
    }
}

impl Adapter for Feishu {
    fn requests(
        &self,
        msg: &Outgoing<'_>,
        ctx: &Context,
        now: DateTime<Utc>,
    ) -> Result<Vec<HttpRequest>, AdapterError> {
        if !self.c.route.takes(msg, ctx) {
            return Ok(Vec::new());
        }
        let lang = self.c.lang;
        let m = Message::build(msg, ctx, lang)?;
        let mut lines = m.markdown_lines(lang);
        if let Some(link) = self.c.picture_link(msg, ctx) {
            lines.push(format!("[{}]({link})", words(lang).snapshot_link));
        }
        let mut elements = vec![json!({
            "tag": "div",
            "text": {"tag": "lark_md", "content": lines.join("\n")},
        })];
        if let Some((text, url)) = &m.link {
            elements.push(json!({
                "tag": "action",
                "actions": [{
                    "tag": "button",
                    "text": {"tag": "plain_text", "content": text},
                    "type": "primary",
                    "url": url,
                }],
            }));
        }
        let mut body = json!({
            "msg_type": "interactive",
            "card": {
                "config": {"wide_screen_mode": true},
                "header": {
                    "title": {"tag": "plain_text", "content": m.title},
                    "template": template(m.severity),
                },
                "elements": elements,
            },
        });
        if let (Some(secret), Value::Object(o)) = (&self.secret, &mut body) {
            let s = now.timestamp();
            o.insert("timestamp".into(), s.to_string().into());
            o.insert("sign".into(), sign(secret, s).into());
        }
        Ok(vec![json_post(&self.c.url, &body)])
    }

    fn classify(&self, status: u16, body: &[u8]) -> Reply {
        classify(status, body, &CODES)
    }

    fn rate_limit(&self) -> Option<RateLimit> {
        self.c.rate_limit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_keys_the_hmac_with_timestamp_and_secret_over_an_empty_message() {
        let expected = base64::engine::general_purpose::STANDARD
            .encode(hmac_sha256(b"1764800000\nsecret-x", b""));
        assert_eq!(sign("secret-x", 1_764_800_000), expected);
        assert_ne!(sign("secret-x", 1_764_800_001), expected);
    }

    #[test]
    fn both_answer_shapes_are_read() {
        let c = |body: &str| classify(200, body.as_bytes(), &CODES);
        assert_eq!(
            c(r#"{"code":0,"msg":"success","data":{}}"#),
            Reply::Delivered
        );
        assert_eq!(
            c(r#"{"StatusCode":0,"StatusMessage":"success"}"#),
            Reply::Delivered
        );
        assert_eq!(
            c(r#"{"code":11232,"msg":"frequency limited"}"#),
            Reply::RateLimited { retry_after: None }
        );
        assert!(matches!(
            c(
                r#"{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}"#
            ),
            Reply::Rejected { .. }
        ));
    }
}
