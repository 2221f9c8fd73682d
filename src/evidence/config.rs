//! The `[evidence]` section of the config file (with `[evidence.http]`):
//! where evidence files live, how much of the disk they may use and for how
//! long they are kept, and who may fetch them over HTTP. Per-camera stream
//! and clip-length keys are in `[cameras.evidence]`
//! ([`EvidenceStreamConfig`](crate::ingest::config::EvidenceStreamConfig)).

use crate::settings::{credential_path, push, ConfigProblem};
use serde::Deserialize;
use std::path::PathBuf;

/// `[evidence]`: the folder of clips and snapshots, its limits, and serving.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceConfig {
    /// The evidence folder: `<dir>/<camera>/<event>/<file>`.
    /// Default: `/var/lib/estatewatch/evidence`.
    #[serde(default = "default_dir")]
    pub dir: PathBuf,
    /// Most bytes the folder may hold, in GB (10^9 bytes; fractions allowed),
    /// > 0. The oldest event folders are removed first. Default: 20.
    #[serde(default = "default_max_gb")]
    pub max_gb: f64,
    /// Free space, in MB (10^6 bytes), the folder's filesystem keeps: below
    /// it the oldest event folders are removed even under `max_gb`. 0 turns
    /// the floor off. Default: 1024.
    #[serde(default = "default_min_free_mb")]
    pub min_free_mb: u64,
    /// Event folders older than this many days are removed, 1..=3650.
    /// Default: 30.
    #[serde(default = "default_retention_days")]
    pub retention_days: u64,
    /// Seconds between sweeps of the folder (a sweep also follows every
    /// file the daemon writes), 10..=86400. Default: 300.
    #[serde(default = "default_sweep_interval")]
    pub sweep_interval_s: u64,
    /// Fetching evidence over the health endpoint (`GET /evidence/...`).
    /// Default: off (no token).
    #[serde(default)]
    pub http: EvidenceHttpConfig,
}

/// `[evidence.http]`: `GET /evidence/<event>/<file>` on the `[health]`
/// endpoint, for callers that present the token. With no token configured
/// evidence is not served at all.
#[derive(Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceHttpConfig {
    /// The token inline (avoid: config files get copied). Default: none.
    #[serde(default)]
    pub token: Option<String>,
    /// A file holding the token (trailing newline trimmed), e.g. the systemd
    /// credential `/run/credentials/estatewatch.service/evidence-token`.
    /// Default: none.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// An environment variable holding the token. Default: none.
    #[serde(default)]
    pub token_env: Option<String>,
    /// The address staff reach the endpoint at, e.g.
    /// `https://gw-tower-a.example:8443` (a reverse proxy in front of
    /// `health.listen`); alerts then carry full URLs. Default: none (alerts
    /// carry paths relative to the endpoint).
    #[serde(default)]
    pub public_url: Option<String>,
}

impl std::fmt::Debug for EvidenceHttpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvidenceHttpConfig")
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("token_file", &self.token_file)
            .field("token_env", &self.token_env)
            .field("public_url", &self.public_url)
            .finish()
    }
}

/// Shortest token accepted: a guessable token is no protection.
pub const MIN_TOKEN_CHARS: usize = 16;

fn default_dir() -> PathBuf {
    PathBuf::from("/var/lib/estatewatch/evidence")
}
fn default_max_gb() -> f64 {
    20.0
}
fn default_min_free_mb() -> u64 {
    1024
}
fn default_retention_days() -> u64 {
    30
}
fn default_sweep_interval() -> u64 {
    300
}

impl Default for EvidenceConfig {
    fn default() -> Self {
        EvidenceConfig {
            dir: default_dir(),
            max_gb: default_max_gb(),
            min_free_mb: default_min_free_mb(),
            retention_days: default_retention_days(),
            sweep_interval_s: default_sweep_interval(),
            http: EvidenceHttpConfig::default(),
        }
    }
}

impl EvidenceConfig {
    /// `max_gb` in bytes.
    pub fn max_bytes(&self) -> u64 {
        (self.max_gb * 1e9).max(0.0) as u64
    }

    /// `min_free_mb` in bytes.
    pub fn min_free_bytes(&self) -> u64 {
        self.min_free_mb.saturating_mul(1_000_000)
    }

    /// Checks the section; problems are reported under `evidence.`.
    pub fn check(&self, p: &mut Vec<ConfigProblem>) {
        if self.dir.as_os_str().is_empty() {
            push(p, "evidence.dir", "must not be empty");
        } else if !self.dir.is_absolute() {
            push(
                p,
                "evidence.dir",
                format!("must be an absolute path, got {}", self.dir.display()),
            );
        } else if self.dir.exists() && !self.dir.is_dir() {
            push(
                p,
                "evidence.dir",
                format!("{} exists and is not a directory", self.dir.display()),
            );
        }
        if !(self.max_gb.is_finite() && self.max_gb > 0.0) {
            push(
                p,
                "evidence.max_gb",
                format!("must be a number > 0, got {}", self.max_gb),
            );
        }
        if !(1..=3650).contains(&self.retention_days) {
            push(
                p,
                "evidence.retention_days",
                format!("must be 1..=3650, got {}", self.retention_days),
            );
        }
        if !(10..=86_400).contains(&self.sweep_interval_s) {
            push(
                p,
                "evidence.sweep_interval_s",
                format!("must be 10..=86400, got {}", self.sweep_interval_s),
            );
        }
        self.http.check(p);
    }
}

impl EvidenceHttpConfig {
    /// True when a token source is configured.
    pub fn has_token(&self) -> bool {
        self.token.is_some() || self.token_file.is_some() || self.token_env.is_some()
    }

    /// Reads the token from wherever it is configured; `Ok(None)` when none
    /// is. Errors name the field and the file or variable, never the token.
    pub fn resolve_token(&self) -> Result<Option<String>, ConfigProblem> {
        let problem = |field: &str, message: String| ConfigProblem {
            path: format!("evidence.http.{field}"),
            message,
        };
        let token = if let Some(t) = &self.token {
            t.clone()
        } else if let Some(configured) = &self.token_file {
            let path = credential_path(configured);
            std::fs::read_to_string(&path)
                .map(|s| s.trim_end_matches(['\r', '\n']).to_string())
                .map_err(|e| {
                    problem(
                        "token_file",
                        format!("cannot read token file {}: {e}", path.display()),
                    )
                })?
        } else if let Some(var) = &self.token_env {
            std::env::var(var).map_err(|_| {
                problem(
                    "token_env",
                    format!("environment variable {var} is not set"),
                )
            })?
        } else {
            return Ok(None);
        };
        let field = if self.token.is_some() {
            "token"
        } else if self.token_file.is_some() {
            "token_file"
        } else {
            "token_env"
        };
        if token.chars().count() < MIN_TOKEN_CHARS {
            return Err(problem(
                field,
                format!("the token must be at least {MIN_TOKEN_CHARS} characters (e.g. `openssl rand -hex 32`)"),
            ));
        }
        if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(problem(
                field,
                "the token must not contain spaces or control characters".into(),
            ));
        }
        Ok(Some(token))
    }

    fn check(&self, p: &mut Vec<ConfigProblem>) {
        let set = [
            self.token.is_some(),
            self.token_file.is_some(),
            self.token_env.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if set > 1 {
            push(
                p,
                "evidence.http.token",
                "set only one of token, token_file, token_env",
            );
        } else if let Err(e) = self.resolve_token() {
            p.push(e);
        }
        if let Some(u) = &self.public_url {
            if !(u.starts_with("http://") || u.starts_with("https://"))
                || u.ends_with('/')
                || u.chars().any(|c| c.is_whitespace())
            {
                push(
                    p,
                    "evidence.http.public_url",
                    format!(
                        "must be an http:// or https:// address without a trailing '/', got {u:?}"
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_limits_are_checked() {
        let c = EvidenceConfig::default();
        let mut p = Vec::new();
        c.check(&mut p);
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(c.max_bytes(), 20_000_000_000);
        let bad = EvidenceConfig {
            dir: "".into(),
            max_gb: 0.0,
            retention_days: 0,
            sweep_interval_s: 1,
            http: EvidenceHttpConfig {
                token: Some("short".into()),
                public_url: Some("gw.local/".into()),
                ..Default::default()
            },
            ..EvidenceConfig::default()
        };
        let mut p = Vec::new();
        bad.check(&mut p);
        let paths: Vec<&str> = p.iter().map(|x| x.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "evidence.dir",
                "evidence.max_gb",
                "evidence.retention_days",
                "evidence.sweep_interval_s",
                "evidence.http.token",
                "evidence.http.public_url"
            ]
        );
        assert!(!format!("{:?}", bad.http).contains("short"));
    }

    #[test]
    fn token_comes_from_a_file_and_is_never_in_errors() {
        let dir = std::env::temp_dir().join(format!("ew-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("token");
        std::fs::write(&f, "0123456789abcdef0123\n").unwrap();
        let h = EvidenceHttpConfig {
            token_file: Some(f.clone()),
            ..Default::default()
        };
        assert_eq!(
            h.resolve_token().unwrap().as_deref(),
            Some("0123456789abcdef0123")
        );
        let missing = EvidenceHttpConfig {
            token_file: Some(dir.join("nope")),
            ..Default::default()
        };
        let e = missing.resolve_token().unwrap_err();
        assert_eq!(e.path, "evidence.http.token_file");
        assert!(e.message.contains("nope"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
