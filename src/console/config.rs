//! The `[console]` section of the config file: where the web console (and
//! with it `/healthz`, `/metrics` and `/evidence/...`) listens, the users
//! file, optional TLS, how long a login lasts and where sessions are kept.
//!
//! The console took over the address of the old `[health] listen` endpoint:
//! when `console.bind` is not set, `[health] listen` is used (default
//! `127.0.0.1:9807`, `""` turns the whole HTTP side off), so existing
//! configs keep working. Setting both to different addresses is a problem
//! reported by `check-config`.

use crate::settings::{push, ConfigProblem};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// `[console]`: the web console and the HTTP endpoints it serves.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleConfig {
    /// Address the console listens on, `IP:PORT`; `""` turns every HTTP
    /// endpoint off. A non-loopback address (the estate LAN, `0.0.0.0`) is
    /// refused unless the users file holds at least one user. Default: the
    /// value of `[health] listen`, itself `127.0.0.1:9807`.
    #[serde(default)]
    pub bind: Option<String>,
    /// The users file (TOML, mode 0600, argon2 hashes), written by
    /// `estatewatch user add`. A missing file means no users: only
    /// `/healthz`, `/metrics` and token-authenticated `/evidence` work.
    /// Default: `/var/lib/estatewatch/users.toml`.
    #[serde(default = "default_users_file")]
    pub users_file: PathBuf,
    /// PEM certificate chain for HTTPS; with `tls_key`. Default: none
    /// (plain HTTP).
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) for `tls_cert`. Default: none.
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// Hours a login lasts, 1..=720. Sessions outlive a daemon restart
    /// (they are kept in `sessions_db`). Default: 12.
    #[serde(default = "default_session_hours")]
    pub session_hours: u64,
    /// The SQLite file logins are kept in (hashed session ids, user, role,
    /// CSRF token, expiry; mode 0600), so a restart does not log staff out.
    /// Default: `sessions.db` in the users file's folder
    /// (`/var/lib/estatewatch/sessions.db`).
    #[serde(default)]
    pub sessions_db: Option<PathBuf>,
    /// The console's address as staff reach it from their phones, e.g.
    /// `"https://10.0.0.5:9807"`: notifications link
    /// `<public_url>/incidents/<event>` (and DingTalk and Feishu show the
    /// picture through it). Default: none (messages carry no link).
    #[serde(default)]
    pub public_url: Option<String>,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            bind: None,
            users_file: default_users_file(),
            tls_cert: None,
            tls_key: None,
            session_hours: default_session_hours(),
            sessions_db: None,
            public_url: None,
        }
    }
}

fn default_users_file() -> PathBuf {
    PathBuf::from("/var/lib/estatewatch/users.toml")
}
fn default_session_hours() -> u64 {
    12
}

/// Whether `addr` only accepts connections from this machine.
pub fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}

impl ConsoleConfig {
    /// The address text in force: `bind`, else `[health] listen`.
    pub fn bind_text<'a>(&'a self, health_listen: &'a str) -> &'a str {
        self.bind.as_deref().unwrap_or(health_listen).trim()
    }

    /// The address to listen on, or `None` when HTTP is off (or the text
    /// is not an address; `check` reports that).
    pub fn bind_addr(&self, health_listen: &str) -> Option<SocketAddr> {
        self.bind_text(health_listen).parse().ok()
    }

    /// The sessions file: `sessions_db`, or `sessions.db` beside the users
    /// file.
    pub fn sessions_path(&self) -> PathBuf {
        match &self.sessions_db {
            Some(p) => p.clone(),
            None => self
                .users_file
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("sessions.db"), |d| d.join("sessions.db")),
        }
    }

    /// Whether HTTPS is configured.
    pub fn tls(&self) -> bool {
        self.tls_cert.is_some() && self.tls_key.is_some()
    }

    /// Checks the section; problems are reported under `console.`.
    /// `health_listen` is `[health] listen` (the fallback address).
    pub fn check(&self, health_listen: &str, p: &mut Vec<ConfigProblem>) {
        if let Some(u) = &self.public_url {
            let rest = u
                .strip_prefix("http://")
                .or_else(|| u.strip_prefix("https://"));
            if rest.is_none_or(|r| r.is_empty() || r.starts_with('/')) {
                push(
                    p,
                    "console.public_url",
                    format!("{u:?} is not an http:// or https:// address with a host"),
                );
            }
        }
        let text = self.bind_text(health_listen);
        let field = if self.bind.is_some() {
            "console.bind"
        } else {
            "health.listen"
        };
        if let Some(bind) = &self.bind {
            let (a, b) = (bind.trim(), health_listen.trim());
            if a != b && b != "127.0.0.1:9807" {
                push(
                    p,
                    "console.bind",
                    format!("{a:?} differs from health.listen {b:?}; the console serves /healthz and /metrics too, so set only console.bind"),
                );
            }
        }
        if !text.is_empty() {
            match text.parse::<SocketAddr>() {
                // `[health] listen` is checked (and reported) by its owner.
                Err(_) if self.bind.is_none() => {}
                Err(_) => push(
                    p,
                    field,
                    format!("must be IP:PORT such as 127.0.0.1:9807, or \"\" to turn it off; got {text:?}"),
                ),
                Ok(addr) if !is_loopback(&addr) => match crate::console::users::Users::load(&self.users_file) {
                    Ok(users) if users.is_empty() => push(
                        p,
                        field,
                        format!(
                            "{addr} is reachable from the network, which needs at least one console user; add one with `estatewatch user add NAME --role admin --config FILE` (users file {}) or bind 127.0.0.1",
                            self.users_file.display()
                        ),
                    ),
                    Ok(_) => {}
                    Err(e) => push(p, "console.users_file", e.to_string()),
                },
                Ok(_) => {
                    if let Err(e) = crate::console::users::Users::load(&self.users_file) {
                        push(p, "console.users_file", e.to_string());
                    }
                }
            }
        }
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) => push(
                p,
                "console.tls_key",
                "tls_cert is set, so tls_key is needed too",
            ),
            (None, Some(_)) => push(
                p,
                "console.tls_cert",
                "tls_key is set, so tls_cert is needed too",
            ),
            (Some(c), Some(k)) => {
                if let Err(e) = crate::console::server::tls_acceptor(c, k) {
                    push(p, "console.tls_cert", e.to_string());
                }
            }
            (None, None) => {}
        }
        if self
            .sessions_db
            .as_ref()
            .is_some_and(|p| p.as_os_str().is_empty())
        {
            push(
                p,
                "console.sessions_db",
                "must not be empty (leave it out for sessions.db beside the users file)",
            );
        }
        if !(1..=720).contains(&self.session_hours) {
            push(
                p,
                "console.session_hours",
                format!("must be 1..=720, got {}", self.session_hours),
            );
        }
    }

    /// The users file as the command-line tools find it (relative paths
    /// are taken from the working directory, as `run` does).
    pub fn users_path(&self) -> &Path {
        &self.users_file
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(c: &ConsoleConfig, health: &str) -> Vec<String> {
        let mut p = Vec::new();
        c.check(health, &mut p);
        p.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn bind_falls_back_to_health_listen() {
        let c = ConsoleConfig::default();
        assert_eq!(
            c.bind_addr("127.0.0.1:9807"),
            Some("127.0.0.1:9807".parse().unwrap())
        );
        assert_eq!(c.bind_addr(""), None);
        let c = ConsoleConfig {
            bind: Some("127.0.0.1:8080".into()),
            ..ConsoleConfig::default()
        };
        assert_eq!(
            c.bind_addr("127.0.0.1:9807"),
            Some("127.0.0.1:8080".parse().unwrap())
        );
        assert!(problems(&c, "127.0.0.1:9807").is_empty());
        let p = problems(&c, "127.0.0.1:9900");
        assert!(p[0].starts_with("console.bind:"), "{p:?}");
    }

    #[test]
    fn lan_bind_without_users_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let c = ConsoleConfig {
            bind: Some("0.0.0.0:9807".into()),
            users_file: dir.path().join("users.toml"),
            ..ConsoleConfig::default()
        };
        let p = problems(&c, "127.0.0.1:9807");
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].contains("console.bind") && p[0].contains("user add"),
            "{p:?}"
        );
        let bad = ConsoleConfig {
            session_hours: 0,
            tls_cert: Some("/x.pem".into()),
            ..ConsoleConfig::default()
        };
        let p = problems(&bad, "127.0.0.1:9807");
        assert!(
            p.iter().any(|p| p.starts_with("console.session_hours")),
            "{p:?}"
        );
        assert!(p.iter().any(|p| p.starts_with("console.tls_key")), "{p:?}");
    }

    #[test]
    fn sessions_are_kept_beside_the_users_file_unless_told() {
        let c = ConsoleConfig::default();
        assert_eq!(
            c.sessions_path(),
            PathBuf::from("/var/lib/estatewatch/sessions.db")
        );
        let c = ConsoleConfig {
            sessions_db: Some("/srv/ew/s.db".into()),
            ..ConsoleConfig::default()
        };
        assert_eq!(c.sessions_path(), PathBuf::from("/srv/ew/s.db"));
        let c = ConsoleConfig {
            sessions_db: Some("".into()),
            ..ConsoleConfig::default()
        };
        let p = problems(&c, "127.0.0.1:9807");
        assert!(
            p.iter().any(|p| p.starts_with("console.sessions_db")),
            "{p:?}"
        );
    }
}
