//! Redaction: the one rule for hiding secrets in text the daemon shows
//! (logs, `camera_offline` reasons, `check-config` problems, the console's
//! notifications page). [`redact`] hides, in any text:
//!
//! - the user and password of every URL (`rtsp://admin:pw@host/…` becomes
//!   `rtsp://***@host/…`);
//! - the value of every `name=value` whose name is in [`SECRET_PARAMS`]
//!   (`password=***`);
//! - with [`UrlPaths::Hide`], everything after the host of every URL
//!   (`https://host/***`), for URLs whose path itself may be the secret (a
//!   chat bot's webhook address).
//!
//! Every hidden part is shown as [`MASK`]. The rule errs on the side of
//! hiding: a value runs to the next separator, so punctuation right after
//! it goes with it, and a secret is never shown in part.

/// What replaces every hidden part.
pub const MASK: &str = "***";

/// Names of parameters whose values are secrets, matched case-insensitively:
/// `password`, `passwd`, `pass`, `pwd`, `pw`, `psw`, `token`,
/// `access_token`, `auth`, `authorization`, `key`, `apikey`, `api_key`,
/// `secret`, `sig`, `signature`, `sign`. `user` and `username` are kept
/// (they help find the camera), and so is `timestamp` (it helps explain a
/// bot's clock-skew refusal and is no secret). Many DVRs take credentials
/// this way (`rtsp://host/user=admin&password=X&channel=1`); chat bots take
/// their key (`?key=`, `?access_token=`) and signature (`&sign=`) this way.
pub const SECRET_PARAMS: &[&str] = &[
    "password",
    "passwd",
    "pass",
    "pwd",
    "pw",
    "psw",
    "token",
    "access_token",
    "auth",
    "authorization",
    "key",
    "apikey",
    "api_key",
    "secret",
    "sig",
    "signature",
    "sign",
];

/// What [`redact`] does with the part of a URL after its host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlPaths {
    /// Kept, with secret parameters hidden (camera URLs: the path tells
    /// which stream).
    Keep,
    /// Replaced by `/***` (webhook URLs: the path may be the bot's key).
    Hide,
}

/// `text` safe to show (see the module doc).
///
/// A URL is a `scheme://` with the text up to the next whitespace, quote,
/// `<`, `>`, `)` or `]` (a `:`, `,`, `.` or `;` at its very end is not part
/// of it); its host ends at the first `/`, `?` or `#`, and its user
/// information is what comes before the host's last `@`. A parameter
/// name counts when it starts the text or follows a character that is not
/// a letter or digit (`monkey=` is not `key=`, `admin_password=` holds
/// `password=`); its value runs to the next `&`, `;`, `#`, quote or
/// whitespace, in a URL's path also to the next `/` or `?`, or to a
/// `_name=` (the underscore-separated form some DVRs use).
///
/// ```
/// use estatewatch::base::{redact, UrlPaths};
/// assert_eq!(
///     redact("rtsp://admin:hunter2@10.0.0.5:554/s1", UrlPaths::Keep),
///     "rtsp://***@10.0.0.5:554/s1"
/// );
/// assert_eq!(
///     redact("rtsp://10.0.0.5/user=admin&password=hunter2&channel=1", UrlPaths::Keep),
///     "rtsp://10.0.0.5/user=admin&password=***&channel=1"
/// );
/// assert_eq!(
///     redact("https://bot.example/hook/TOKEN: refused", UrlPaths::Hide),
///     "https://bot.example/***: refused"
/// );
/// ```
pub fn redact(text: &str, paths: UrlPaths) -> String {
    redact_params(&redact_urls(text, paths))
}

/// Hides the user information of every URL in `text`, and with
/// [`UrlPaths::Hide`] what follows its host.
fn redact_urls(text: &str, paths: UrlPaths) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(sep) = rest.find("://") {
        let after = &rest[sep + 3..];
        let end = after
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | ')' | ']'))
            .unwrap_or(after.len());
        // Punctuation after a URL (`<url>: refused`) is not part of it.
        let body = after[..end].trim_end_matches([':', ',', '.', ';']);
        let host_end = body.find(['/', '?', '#']).unwrap_or(body.len());
        out.push_str(&rest[..sep + 3]);
        match body[..host_end].rfind('@') {
            Some(at) => {
                out.push_str(MASK);
                out.push_str(&body[at..host_end]);
            }
            None => out.push_str(&body[..host_end]),
        }
        match paths {
            UrlPaths::Hide if host_end < body.len() => {
                out.push('/');
                out.push_str(MASK);
            }
            _ => out.push_str(&body[host_end..]),
        }
        rest = &after[body.len()..];
    }
    out.push_str(rest);
    out
}

/// Replaces the value of every secret `name=value` in `text` with [`MASK`].
fn redact_params(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let query_start = text.find('?').unwrap_or(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let at_start = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        if at_start {
            if let Some(value_start) = secret_name_at(bytes, i) {
                let value_end = value_end(bytes, value_start, i > query_start);
                if value_end > value_start {
                    out.push_str(&text[copied..value_start]);
                    out.push_str(MASK);
                    copied = value_end;
                }
                i = value_end.max(value_start);
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&text[copied..]);
    out
}

/// When a secret parameter name followed by `=` starts at `i`, where its value starts.
fn secret_name_at(bytes: &[u8], i: usize) -> Option<usize> {
    let eq = i + bytes[i..].iter().position(|b| *b == b'=')?;
    let name = &bytes[i..eq];
    if name.is_empty() || !name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_') {
        return None;
    }
    SECRET_PARAMS
        .iter()
        .any(|p| p.as_bytes().eq_ignore_ascii_case(name))
        .then_some(eq + 1)
}

/// Where a parameter value starting at `start` ends; in a query a `/` or
/// `?` is part of the value.
fn value_end(bytes: &[u8], start: usize, in_query: bool) -> usize {
    let mut j = start;
    while j < bytes.len() {
        match bytes[j] {
            b'&' | b';' | b'#' | b'"' | b'\'' => return j,
            b'/' | b'?' if !in_query => return j,
            b if b.is_ascii_whitespace() => return j,
            b'_' if next_is_param(bytes, j + 1) => return j,
            _ => j += 1,
        }
    }
    j
}

/// True when a `name=` (letters, digits) starts at `i`.
fn next_is_param(bytes: &[u8], i: usize) -> bool {
    let name_len = bytes[i.min(bytes.len())..]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric())
        .count();
    name_len > 0 && bytes.get(i + name_len) == Some(&b'=')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keep(text: &str) -> String {
        redact(text, UrlPaths::Keep)
    }

    fn hide(text: &str) -> String {
        redact(text, UrlPaths::Hide)
    }

    #[test]
    fn camera_urls_lose_user_and_password() {
        assert_eq!(keep("rtsp://u:p@h/x"), "rtsp://***@h/x");
        assert_eq!(keep("rtsp://u@h:554/x@y"), "rtsp://***@h:554/x@y");
        assert_eq!(keep("http://admin:hunter2@h/s"), "http://***@h/s");
        assert_eq!(keep("rtsp://h/x"), "rtsp://h/x");
        assert_eq!(keep("nonsense"), "nonsense");
    }

    #[test]
    fn camera_urls_lose_secret_parameters_in_path_and_query() {
        assert_eq!(
            keep("rtsp://h/user=admin&password=X&channel=1"),
            "rtsp://h/user=admin&password=***&channel=1"
        );
        assert_eq!(
            keep("rtsp://h/cam/realmonitor?channel=1&PWD=a/b&token=t"),
            "rtsp://h/cam/realmonitor?channel=1&PWD=***&token=***"
        );
        assert_eq!(
            keep("rtsp://h/user=admin_password=tl_J_channel=1_stream=0.sdp"),
            "rtsp://h/user=admin_password=***_channel=1_stream=0.sdp"
        );
        assert_eq!(keep("rtsp://h/s;auth=abc"), "rtsp://h/s;auth=***");
        assert_eq!(keep("rtsp://h/monkey=1"), "rtsp://h/monkey=1");
        assert_eq!(
            keep("rtsp://u:p@h/live;Token=x?Key=y"),
            "rtsp://***@h/live;Token=***?Key=***"
        );
    }

    #[test]
    fn messages_quoting_a_camera_url_lose_its_secrets() {
        assert_eq!(
            keep("Could not open resource for reading: rtsp://u:p@h/s?pwd=x (401)"),
            "Could not open resource for reading: rtsp://***@h/s?pwd=*** (401)"
        );
    }

    #[test]
    fn webhook_urls_lose_everything_but_their_host() {
        assert_eq!(
            hide("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRET: connection refused"),
            "https://qyapi.weixin.qq.com/***: connection refused"
        );
        assert_eq!(
            hide("http://user:pw@127.0.0.1:9/open-apis/bot/v2/hook/TOKEN failed"),
            "http://***@127.0.0.1:9/*** failed"
        );
        assert_eq!(hide("see http://10.0.0.5"), "see http://10.0.0.5");
        assert_eq!(hide("see http://10.0.0.5."), "see http://10.0.0.5.");
        assert_eq!(hide("HTTP 503: busy"), "HTTP 503: busy");
    }

    #[test]
    fn bot_keys_and_signatures_in_messages_are_hidden() {
        assert_eq!(
            hide("bad request (access_token=abc&sign=x%2B&timestamp=1 key=K) monkey=ok"),
            "bad request (access_token=***&sign=***&timestamp=1 key=*** monkey=ok"
        );
        assert_eq!(hide("\"secret=S\""), "\"secret=***\"");
    }
}
