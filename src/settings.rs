//! The building blocks every config section shares: the problem list that
//! validation fills ([`ConfigProblem`], with the dotted path of the field it
//! concerns), the common checks ([`check_id`], [`check_file`]), passwords
//! ([`Secret`], with systemd credential paths resolved outside the service
//! by [`credential_path`]), zones ([`ZoneConfig`], [`check_polygon`], [`check_zones`])
//! the site's time zone ([`SiteTimezone`]), which every human-facing
//! time uses (payloads stay UTC), and the site's language ([`SiteLang`]) for
//! text the gateway writes where no reader chose one (pictures).
//!
//! Each component owns its own section (the fire analyzer's in
//! `analysis::fire::config`, MQTT's in `delivery::config`, …) and checks it
//! with these; [`crate::config`] only composes the sections into the file and
//! runs their checks. This module is separate from [`crate::config`] so that
//! the components can use it without importing the composed file: it imports
//! nothing from the rest of the crate but [`crate::base`] (the polygon check).

use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// One validation problem, with the dotted path of the field it concerns,
/// e.g. `cameras[2].detect.fps: must be 1..=30, got 0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub path: String,
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Adds a problem with the field path `path` to `p`.
pub fn push(p: &mut Vec<ConfigProblem>, path: impl Into<String>, message: impl Into<String>) {
    p.push(ConfigProblem {
        path: path.into(),
        message: message.into(),
    });
}

/// For serde's `default = "…"` on switches that are on by default.
pub fn default_true() -> bool {
    true
}

/// Ids appear in MQTT topics and file names: keep them to a safe alphabet.
pub fn check_id(id: &str, path: &str, p: &mut Vec<ConfigProblem>) {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        push(
            p,
            path,
            format!("must be 1..=64 characters of letters, digits, '-', '_', '.', got {id:?}"),
        );
    }
}

/// Checks that `path` (the value of the field `field`) is an existing file.
pub fn check_file(path: &Path, field: &str, p: &mut Vec<ConfigProblem>) {
    if !path.is_file() {
        push(
            p,
            field,
            format!("file {} does not exist or is not a file", path.display()),
        );
    }
}

/// A password given inline, in a file, or in an environment variable.
/// At most one of the three may be set. Sections take it with
/// `#[serde(flatten)]`, so its keys sit beside theirs.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Secret {
    /// The password itself. Default: none.
    #[serde(default)]
    pub password: Option<String>,
    /// A file whose contents (trailing newline trimmed) are the password,
    /// e.g. a systemd credential `/run/credentials/estatewatch.service/NAME`
    /// (found by the command-line tools outside the service too, see
    /// [`credential_path`]). Default: none.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// An environment variable holding the password. Default: none.
    #[serde(default)]
    pub password_env: Option<String>,
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secret")
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("password_file", &self.password_file)
            .field("password_env", &self.password_env)
            .finish()
    }
}

impl Secret {
    /// True when no source is configured.
    pub fn is_empty(&self) -> bool {
        self.password.is_none() && self.password_file.is_none() && self.password_env.is_none()
    }

    /// Reads the password from wherever it is configured. `Ok(None)` when none is.
    /// Errors name the file or variable but never contain the secret.
    pub fn resolve(&self) -> Result<Option<String>, String> {
        if let Some(p) = &self.password {
            return Ok(Some(p.clone()));
        }
        if let Some(configured) = &self.password_file {
            let path = credential_path(configured);
            return std::fs::read_to_string(&path)
                .map(|s| Some(s.trim_end_matches(['\r', '\n']).to_string()))
                .map_err(|e| {
                    if path == *configured {
                        format!("cannot read password file {}: {e}", path.display())
                    } else {
                        format!(
                            "cannot read password file {} (the source of the systemd credential {}, which exists only inside the service): {e}",
                            path.display(),
                            configured.display()
                        )
                    }
                });
        }
        if let Some(var) = &self.password_env {
            return std::env::var(var)
                .map(Some)
                .map_err(|_| format!("environment variable {var} is not set"));
        }
        Ok(None)
    }

    /// Checks that at most one source is set and that it resolves; `path`
    /// is the section the secret's keys are in.
    pub fn check(&self, path: &str, problems: &mut Vec<ConfigProblem>) {
        let set = [
            self.password.is_some(),
            self.password_file.is_some(),
            self.password_env.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if set > 1 {
            push(
                problems,
                format!("{path}.password"),
                "set only one of password, password_file, password_env",
            );
            return;
        }
        if let Err(e) = self.resolve() {
            let field = if self.password_file.is_some() {
                "password_file"
            } else {
                "password_env"
            };
            push(problems, format!("{path}.{field}"), e);
        }
    }
}

/// Where systemd hands a service its credentials: `/run/credentials/<unit>/<name>`.
pub const CREDENTIALS_ROOT: &str = "/run/credentials";
/// Where the unit's `LoadCredential=` reads credentials from: `<dir>/<name>`.
pub const CREDENTIAL_SOURCE_DIR: &str = "/etc/estatewatch";
/// Environment variable overriding [`CREDENTIAL_SOURCE_DIR`] (for tests and
/// unusual installs).
pub const CREDENTIAL_SOURCE_DIR_ENV: &str = "ESTATEWATCH_CREDENTIAL_SOURCE_DIR";

/// The file to read for a configured `password_file`, found the way systemd
/// provides credentials. A path `/run/credentials/<unit>/<name>` exists only
/// inside the service; when it cannot be opened (the command-line tools:
/// `check-config`, `reload`, `send-test-alert`, `watch`), the credential is
/// read from `$CREDENTIALS_DIRECTORY/<name>` when that variable is set and the
/// file exists, else from the file the unit's `LoadCredential=` names,
/// `/etc/estatewatch/<name>` (the folder can be changed with
/// `$ESTATEWATCH_CREDENTIAL_SOURCE_DIR`). Any other path is used as it is.
pub fn credential_path(configured: &Path) -> PathBuf {
    let Ok(rest) = configured.strip_prefix(CREDENTIALS_ROOT) else {
        return configured.to_path_buf();
    };
    let parts: Vec<_> = rest.components().collect();
    let [std::path::Component::Normal(_unit), std::path::Component::Normal(name)] = parts[..]
    else {
        return configured.to_path_buf();
    };
    if std::fs::File::open(configured).is_ok() {
        return configured.to_path_buf();
    }
    if let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY").filter(|d| !d.is_empty()) {
        let candidate = Path::new(&dir).join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    let dir = std::env::var_os(CREDENTIAL_SOURCE_DIR_ENV)
        .filter(|d| !d.is_empty())
        .map_or_else(|| PathBuf::from(CREDENTIAL_SOURCE_DIR), PathBuf::from);
    dir.join(name)
}

/// A named polygon in normalised frame coordinates (0,0 top-left, 1,1 bottom-right).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneConfig {
    /// Zone name reported in alerts. Required.
    pub name: String,
    /// The name staff see (console, notifications, pictures), any UTF-8,
    /// e.g. `"一号车棚"`. Default: `name`.
    #[serde(default)]
    pub display_name: Option<String>,
    /// At least three `[x, y]` points, each in 0..=1, in order around the
    /// area: a simple polygon (no edges crossing). Required.
    pub polygon: Vec<[f32; 2]>,
}

/// Checks one polygon: a simple polygon ([`crate::base::simple_polygon`]:
/// at least three points, no edges crossing, some area), all points inside
/// 0..=1. E.g. `cameras[0].analyzers.throwing.exclude[2].polygon: edges 1-2
/// and 3-0 cross; expected a simple polygon`.
pub fn check_polygon(polygon: &[[f32; 2]], path: &str, p: &mut Vec<ConfigProblem>) {
    if let Err(fault) = crate::base::simple_polygon(polygon) {
        push(p, path, fault.to_string());
    }
    for (j, pt) in polygon.iter().enumerate() {
        if !pt.iter().all(|v| (0.0..=1.0).contains(v)) {
            push(
                p,
                format!("{path}[{j}]"),
                format!(
                    "coordinates are normalised: expected 0..=1, got [{}, {}]",
                    pt[0], pt[1]
                ),
            );
        }
    }
}

/// Checks a list of zones: unique names, simple polygons ([`check_polygon`]).
pub fn check_zones(zones: &[ZoneConfig], path: &str, p: &mut Vec<ConfigProblem>) {
    let mut names = std::collections::HashSet::new();
    for (i, z) in zones.iter().enumerate() {
        let zp = format!("{path}[{i}]");
        if z.name.is_empty() {
            push(p, format!("{zp}.name"), "must not be empty");
        } else if !names.insert(z.name.as_str()) {
            push(
                p,
                format!("{zp}.name"),
                format!("duplicate zone name {:?}", z.name),
            );
        }
        check_polygon(&z.polygon, &format!("{zp}.polygon"), p);
    }
}

/// The site's time zone (`[site] timezone`), an IANA name such as
/// `Asia/Shanghai`. Every time shown to people (the console, `watch`,
/// notifications, text drawn on pictures) is in this zone; alert payloads
/// stay UTC (RFC 3339). Default: `UTC`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SiteTimezone(pub chrono_tz::Tz);

impl SiteTimezone {
    /// `t` in the site's zone.
    pub fn local(&self, t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono_tz::Tz> {
        t.with_timezone(&self.0)
    }

    /// `t` as people read it on site: `2026-12-04 03:12:45 CST`.
    pub fn human(&self, t: chrono::DateTime<chrono::Utc>) -> String {
        self.local(t).format("%Y-%m-%d %H:%M:%S %Z").to_string()
    }

    /// The IANA name, e.g. `Asia/Shanghai`.
    pub fn name(&self) -> &'static str {
        self.0.name()
    }
}

impl std::str::FromStr for SiteTimezone {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse::<chrono_tz::Tz>().map(SiteTimezone).map_err(|_| {
            format!(
                "expected an IANA time zone name such as \"Asia/Shanghai\" or \"UTC\", got {s:?}"
            )
        })
    }
}

impl<'de> Deserialize<'de> for SiteTimezone {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The language of text the gateway draws on its pictures (`[site] lang`):
/// captions and throw labels on snapshots and `still` pictures. The console
/// follows each viewer's own choice instead. In the file: `"zh-CN"` or
/// `"en"`. Default: `"zh-CN"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum SiteLang {
    /// Simplified Chinese: `12层 1203室`.
    #[default]
    #[serde(rename = "zh-CN")]
    ZhCn,
    /// English: `Floor 12 · Unit 1203`.
    #[serde(rename = "en")]
    En,
}

impl SiteLang {
    /// The BCP 47 tag: `zh-CN` or `en`.
    pub fn tag(self) -> &'static str {
        match self {
            SiteLang::ZhCn => "zh-CN",
            SiteLang::En => "en",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_timezone_parses_iana_names_and_shows_local_time() {
        let tz: SiteTimezone = "Asia/Shanghai".parse().expect("a real zone");
        let t = chrono::DateTime::parse_from_rfc3339("2026-12-03T19:12:45Z")
            .expect("rfc3339")
            .with_timezone(&chrono::Utc);
        assert_eq!(tz.human(t), "2026-12-04 03:12:45 CST");
        assert_eq!(SiteTimezone::default().human(t), "2026-12-03 19:12:45 UTC");
        let err = "Mars/Olympus"
            .parse::<SiteTimezone>()
            .expect_err("no such zone");
        assert!(
            err.contains("Asia/Shanghai") && err.contains("Mars/Olympus"),
            "{err}"
        );
    }
}
