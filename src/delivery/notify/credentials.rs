//! A notifier's credentials file (`credentials_file` of `[[notifiers]]`): a
//! small TOML file kept apart from the config (mode 0600, or a systemd
//! credential), so the config can be shared without the bots' keys:
//!
//! ```toml
//! url = "https://oapi.dingtalk.com/robot/send?access_token=…"
//! secret = "SEC…"          # DingTalk and Feishu signing; not used by WeCom
//! ```
//!
//! Errors name the file and the key, never the values.

use crate::settings::credential_path;
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// Largest credentials file read.
const MAX_BYTES: u64 = 64 * 1024;

/// A notifier's secrets.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// The bot's webhook address with its key or token. Required; `https://`
    /// (or `http://` for a receiver on the LAN).
    pub url: String,
    /// The signing secret (DingTalk "加签", Feishu "签名校验", the generic
    /// webhook's HMAC key). Default: none (requests are not signed).
    #[serde(default)]
    pub secret: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("url", &"***")
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Why a credentials file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// Missing, unreadable or too large.
    #[error("credentials file {file}: {reason}")]
    Read {
        /// The file.
        file: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// Not TOML with the expected keys (the parser's message names the key
    /// and line, never a value).
    #[error("credentials file {file}: {reason}")]
    Parse {
        /// The file.
        file: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A key's value cannot be used.
    #[error("credentials file {file}: `{key}` {reason}")]
    Value {
        /// The file.
        file: PathBuf,
        /// The key.
        key: &'static str,
        /// What is wrong (without the value).
        reason: String,
    },
}

impl Credentials {
    /// Reads and checks the file at `configured` (a systemd credential path
    /// is found outside the service too, see
    /// [`credential_path`](crate::settings::credential_path)).
    pub fn read(configured: &Path) -> Result<Credentials, CredentialsError> {
        let file = credential_path(configured);
        let read_err = |reason: String| CredentialsError::Read {
            file: file.clone(),
            reason,
        };
        let meta = std::fs::metadata(&file).map_err(|e| read_err(e.to_string()))?;
        if meta.len() > MAX_BYTES {
            return Err(read_err(format!(
                "{} bytes; a credentials file is at most {MAX_BYTES}",
                meta.len()
            )));
        }
        let text = std::fs::read_to_string(&file).map_err(|e| read_err(e.to_string()))?;
        Credentials::parse(&text, &file)
    }

    /// Parses and checks credentials `text` read from `file`.
    pub fn parse(text: &str, file: &Path) -> Result<Credentials, CredentialsError> {
        let c: Credentials = toml::from_str(text).map_err(|e| CredentialsError::Parse {
            file: file.to_path_buf(),
            // toml's message quotes the offending line, which may hold a
            // secret: keep only its first line (what and where).
            reason: e
                .message()
                .lines()
                .next()
                .unwrap_or("invalid TOML")
                .to_string()
                + &e.span()
                    .map(|s| {
                        let line = text[..s.start.min(text.len())].lines().count().max(1);
                        format!(" (line {line})")
                    })
                    .unwrap_or_default(),
        })?;
        let value = |key: &'static str, reason: &str| CredentialsError::Value {
            file: file.to_path_buf(),
            key,
            reason: reason.to_string(),
        };
        let url = c.url.trim();
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(value("url", "must start with https:// (or http://)"));
        }
        if url.chars().any(char::is_whitespace) || url.len() <= "https://".len() {
            return Err(value("url", "must be one address without spaces"));
        }
        if c.secret.as_deref().is_some_and(|s| s.trim().is_empty()) {
            return Err(value("secret", "is empty; leave it out when there is none"));
        }
        Ok(Credentials {
            url: url.to_string(),
            secret: c.secret.map(|s| s.trim().to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Credentials, CredentialsError> {
        Credentials::parse(text, Path::new("/etc/estatewatch/dingtalk.toml"))
    }

    #[test]
    fn reads_url_and_optional_secret() {
        let c = parse("url = \"https://oapi.dingtalk.com/robot/send?access_token=abc\"\nsecret = \"SECxyz\"\n")
            .expect("valid");
        assert_eq!(
            c.url,
            "https://oapi.dingtalk.com/robot/send?access_token=abc"
        );
        assert_eq!(c.secret.as_deref(), Some("SECxyz"));
        let c = parse("url = \"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k\"")
            .expect("valid");
        assert!(c.secret.is_none());
        assert!(!format!("{c:?}").contains("key=k"), "Debug hides the url");
    }

    #[test]
    fn errors_name_the_file_and_key_but_never_the_secret() {
        let cases = [
            ("secret = \"SECxyz\"", "missing field `url`"),
            ("url = \"ftp://x\"", "`url` must start with https://"),
            ("url = \"https://x\"\nsecret = \" \"", "`secret` is empty"),
            (
                "url = \"https://x\"\ntoken = \"SECxyz\"",
                "unknown field `token`",
            ),
            ("url = https://x SECxyz", "line 1"),
        ];
        for (text, want) in cases {
            let e = parse(text).expect_err(text).to_string();
            assert!(
                e.starts_with("credentials file /etc/estatewatch/dingtalk.toml: "),
                "{e}"
            );
            assert!(e.contains(want), "{e} (wanted {want})");
            assert!(!e.contains("SECxyz"), "{e}");
        }
        let e = Credentials::read(Path::new("/nonexistent/wecom.toml")).expect_err("missing");
        assert!(
            e.to_string()
                .starts_with("credentials file /nonexistent/wecom.toml: "),
            "{e}"
        );
    }
}
