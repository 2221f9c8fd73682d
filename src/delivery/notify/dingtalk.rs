//! DingTalk (钉钉) custom group robot (自定义机器人), signed ("加签"), as its
//! open-platform documentation describes it (open.dingtalk.com, written
//! from what we know of it: this machine cannot reach the vendor's pages;
//! checked against a local stand-in in `tests/delivery/vendors.rs`):
//!
//! - `POST <url>&timestamp=<ms>&sign=<sign>` where `url` is the robot's
//!   address `https://oapi.dingtalk.com/robot/send?access_token=<token>`
//!   (the credentials file's `url`), `<ms>` the current Unix time in
//!   milliseconds and `<sign>` the URL-encoded
//!   `base64(HmacSHA256(key = secret, message = "<ms>\n<secret>"))`.
//!   DingTalk refuses a timestamp more than an hour from its own clock
//!   (errcode 310000), so the gateway's clock must be right (NTP).
//! - `Content-Type: application/json`, body
//!   `{"msgtype":"markdown","markdown":{"title":"…","text":"…"}}`: `title`
//!   is what the phone's notification and the chat list show, `text` the
//!   markdown (paragraphs separated by blank lines). With `snapshots` and
//!   `console_url`, the stored picture as a markdown image
//!   `![…](<console_url>/evidence/<event>/<file>)`: DingTalk has no upload
//!   for robots, so the phone loads the picture from the console itself
//!   (it shows only where the phone reaches the console and is logged in).
//! - The answer: `{"errcode":0,"errmsg":"ok"}`; `130101` is the rate limit
//!   (20 messages a minute per robot; DingTalk then blocks the robot for
//!   10 minutes), `-1` "system busy" (retried); any other code (`310000`:
//!   bad signature, keyword missing, IP not allowed; `300001` bad token)
//!   rejects the request.

use super::adapter::{Adapter, AdapterError, Context, HttpRequest, Outgoing, RateLimit, Reply};
use super::message::{words, Message};
use super::vendor::{classify, hmac_sha256, json_post, Codes, Common};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::json;

/// DingTalk's documented limit: 20 messages a minute per robot.
pub const PER_MINUTE: u32 = 20;

const CODES: Codes = Codes {
    code: &["errcode"],
    message: &["errmsg"],
    rate_limited: &[130101],
    retry: &[-1],
};

/// A DingTalk custom robot notifier.
#[derive(Debug, Clone)]
pub struct Dingtalk {
    c: Common,
    secret: String,
}

impl Dingtalk {
    /// The adapter for a checked notifier with its signing secret.
    pub fn new(c: Common, secret: String) -> Dingtalk {
        Dingtalk { c, secret }
    }
}

/// DingTalk's `sign` for `timestamp_ms`, before URL encoding.
pub fn sign(secret: &str, timestamp_ms: i64) -> String {
    let mac = hmac_sha256(
        secret.as_bytes(),
        format!("{timestamp_ms}\n{secret}").as_bytes(),
    );
    base64::engine::general_purpose::STANDARD.encode(mac)
}

/// `url` with `timestamp` and `sign` appended to its query.
pub fn signed_url(url: &str, secret: &str, now: DateTime<Utc>) -> String {
    let ms = now.timestamp_millis();
    let query =
        serde_urlencoded::to_string([("timestamp", ms.to_string()), ("sign", sign(secret, ms))])
            .unwrap_or_default();
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{query}")
}

impl Adapter for Dingtalk {
    fn requests(
        &self,
        msg: &Outgoing<'_>,
        ctx: &Context,
        now: DateTime<Utc>,
    ) -> Result<Vec<HttpRequest>, AdapterError> {
        if !self.c.route.takes(msg, ctx) {
            return Ok(Vec::new());
        }
        let m = Message::build(msg, ctx, self.c.lang)?;
        let mut paragraphs = vec![format!("### {}", m.title)];
        paragraphs.extend(m.markdown_lines(self.c.lang));
        if let Some(link) = self.c.picture_link(msg, ctx) {
            paragraphs.push(format!("![{}]({link})", words(self.c.lang).snapshot_link));
        }
        paragraphs.extend(m.markdown_link());
        let body = json!({
            "msgtype": "markdown",
            "markdown": {"title": m.title, "text": paragraphs.join("\n\n")},
        });
        Ok(vec![json_post(
            &signed_url(&self.c.url, &self.secret, now),
            &body,
        )])
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
    fn signed_url_appends_timestamp_and_url_encoded_sign() {
        let now = DateTime::from_timestamp_millis(1_764_800_000_123).expect("time");
        let url = signed_url(
            "https://oapi.dingtalk.com/robot/send?access_token=t",
            "SECabc",
            now,
        );
        let expected_sign = sign("SECabc", 1_764_800_000_123);
        let encoded: String = serde_urlencoded::to_string([("s", &expected_sign)])
            .expect("encodes")
            .trim_start_matches("s=")
            .to_string();
        assert_eq!(
            url,
            format!("https://oapi.dingtalk.com/robot/send?access_token=t&timestamp=1764800000123&sign={encoded}")
        );
        // Base64's + / = never reach the query raw.
        let query_sign = url.rsplit("sign=").next().expect("sign");
        assert!(!query_sign.contains(['+', '/', '=']), "{query_sign}");
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(&expected_sign)
                .expect("b64")
                .len(),
            32
        );
    }
}
