//! The `[cameras.selftest]` table: when a camera's daily self-test runs, how
//! many seconds of live frames it takes, where its reference still is kept,
//! and the thresholds of its view checks; with their validation.

use crate::settings::{push, ConfigProblem};
use serde::Deserialize;
use std::path::PathBuf;

/// `[cameras.selftest]`: the camera's daily self-test (`docs/operations.md`,
/// "Self-test").
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelftestConfig {
    /// Run the self-test. Default: true when the camera has a `throwing`,
    /// `fire` or `garbage` analyzer, false otherwise.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Time of day of the daily run, `HH:MM`, in the site's time zone
    /// (`[site] timezone`). Default: `"03:30"`.
    #[serde(default)]
    pub at: Option<String>,
    /// Also run once this many seconds after the camera starts (0..=86400),
    /// e.g. right after installation; `estatewatch selftest` runs it at any
    /// time. Default: none (only at `at`).
    #[serde(default)]
    pub first_after_s: Option<u64>,
    /// Also check a garbage camera with a synthetic bag set down in its
    /// first zone. Default: true (`false` keeps only the view checks).
    #[serde(default)]
    pub garbage: Option<bool>,
    /// Seconds of live frames copied for the test, 1..=10. Default: 3.
    #[serde(default)]
    pub capture_s: Option<f32>,
    /// Folder of the reference stills, one `<camera>.png` per camera, taken at
    /// the first self-test that passes. Default: `/var/lib/estatewatch/selftest`.
    #[serde(default)]
    pub reference_dir: Option<PathBuf>,
    /// Least similarity of the view's edges to the reference's, -1..=1
    /// (normalised cross-correlation). Default: 0.45.
    #[serde(default)]
    pub min_similarity: Option<f32>,
    /// Least mean brightness of the view, 0..=255. Default: 12.
    #[serde(default)]
    pub min_brightness: Option<f32>,
    /// Least contrast (standard deviation of brightness), 0..=128. Default: 6.
    #[serde(default)]
    pub min_contrast: Option<f32>,
    /// Least sharpness (variance of the Laplacian) as a fraction of the
    /// reference's, 0..=1. Default: 0.3.
    #[serde(default)]
    pub min_sharpness_ratio: Option<f32>,
}

/// The thresholds of the view checks, defaults filled in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ViewLimits {
    pub min_similarity: f32,
    pub min_brightness: f32,
    pub min_contrast: f32,
    pub min_sharpness_ratio: f32,
}

impl Default for ViewLimits {
    fn default() -> Self {
        ViewLimits {
            min_similarity: 0.45,
            min_brightness: 12.0,
            min_contrast: 6.0,
            min_sharpness_ratio: 0.3,
        }
    }
}

impl SelftestConfig {
    /// Whether the self-test runs, given whether the camera has an incident
    /// analyzer.
    pub fn enabled(&self, has_incident_analyzer: bool) -> bool {
        self.enabled.unwrap_or(has_incident_analyzer)
    }

    /// The time of day of the daily run, (hour, minute).
    pub fn at(&self) -> (u32, u32) {
        self.at
            .as_deref()
            .and_then(|s| parse_hhmm(s).ok())
            .unwrap_or((3, 30))
    }

    /// Seconds of live frames to copy.
    pub fn capture_s(&self) -> f32 {
        self.capture_s.unwrap_or(3.0)
    }

    /// The folder of the reference stills.
    pub fn reference_dir(&self) -> PathBuf {
        self.reference_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("/var/lib/estatewatch/selftest"))
    }

    /// The view checks' thresholds.
    pub fn limits(&self) -> ViewLimits {
        let d = ViewLimits::default();
        ViewLimits {
            min_similarity: self.min_similarity.unwrap_or(d.min_similarity),
            min_brightness: self.min_brightness.unwrap_or(d.min_brightness),
            min_contrast: self.min_contrast.unwrap_or(d.min_contrast),
            min_sharpness_ratio: self.min_sharpness_ratio.unwrap_or(d.min_sharpness_ratio),
        }
    }

    /// Checks the table; `path` is its path, e.g. `cameras[0].selftest`.
    pub fn check(&self, path: &str, p: &mut Vec<ConfigProblem>) {
        if let Some(at) = &self.at {
            if let Err(e) = parse_hhmm(at) {
                push(p, format!("{path}.at"), e);
            }
        }
        if let Some(s) = self.first_after_s {
            if s > 86_400 {
                push(
                    p,
                    format!("{path}.first_after_s"),
                    format!("must be 0..=86400, got {s}"),
                );
            }
        }
        let mut range = |key: &str, v: Option<f32>, lo: f32, hi: f32| {
            if let Some(v) = v {
                if !(lo..=hi).contains(&v) {
                    push(
                        p,
                        format!("{path}.{key}"),
                        format!("must be {lo}..={hi}, got {v}"),
                    );
                }
            }
        };
        range("capture_s", self.capture_s, 1.0, 10.0);
        range("min_similarity", self.min_similarity, -1.0, 1.0);
        range("min_brightness", self.min_brightness, 0.0, 255.0);
        range("min_contrast", self.min_contrast, 0.0, 128.0);
        range("min_sharpness_ratio", self.min_sharpness_ratio, 0.0, 1.0);
        if let Some(d) = &self.reference_dir {
            if d.as_os_str().is_empty() {
                push(p, format!("{path}.reference_dir"), "must not be empty");
            } else if d.exists() && !d.is_dir() {
                push(
                    p,
                    format!("{path}.reference_dir"),
                    format!("{} is not a folder", d.display()),
                );
            }
        }
    }
}

/// Parses `HH:MM` (24-hour clock).
pub fn parse_hhmm(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("expected a time of day as \"HH:MM\" (e.g. \"03:30\"), got {s:?}");
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u32 = h.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok((h, m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_of_day_parse_and_bad_ones_name_the_field() {
        assert_eq!(parse_hhmm("03:30"), Ok((3, 30)));
        assert_eq!(parse_hhmm("23:59"), Ok((23, 59)));
        for bad in ["3:30", "24:00", "03:60", "0330", "aa:bb"] {
            assert!(parse_hhmm(bad).is_err(), "{bad}");
        }
        let c = SelftestConfig {
            at: Some("25:00".into()),
            capture_s: Some(30.0),
            ..Default::default()
        };
        let mut p = Vec::new();
        c.check("cameras[1].selftest", &mut p);
        let paths: Vec<&str> = p.iter().map(|x| x.path.as_str()).collect();
        assert_eq!(
            paths,
            ["cameras[1].selftest.at", "cameras[1].selftest.capture_s"]
        );
    }

    #[test]
    fn on_by_default_only_with_an_incident_analyzer() {
        let c = SelftestConfig::default();
        assert!(c.enabled(true) && !c.enabled(false));
        assert_eq!(c.at(), (3, 30));
        let off = SelftestConfig {
            enabled: Some(false),
            ..Default::default()
        };
        assert!(!off.enabled(true));
    }
}
