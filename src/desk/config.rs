//! The `[desk]` section of the config file: where the incident desk keeps
//! its file, which alert kinds become incidents, and when an unacknowledged
//! critical incident is escalated.

use crate::alert::AlertKind;
use crate::settings::{push, ConfigProblem};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `[desk]`: the incident desk (`docs/desk.md`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeskConfig {
    /// Keep an incident desk at all. Default: true.
    #[serde(default = "crate::settings::default_true")]
    pub enabled: bool,
    /// The desk's SQLite file (incidents and their handling trail). Default:
    /// `desk.db` in the outbox's folder (`/var/lib/estatewatch/desk.db`).
    #[serde(default)]
    pub db: Option<PathBuf>,
    /// The alert kinds that open incidents on the desk. Default: `["throwing",
    /// "fire", "smoke", "garbage", "motion", "sensor"]` (camera and sensor
    /// outages, self-test failures and test alerts are maintenance, not
    /// incidents).
    #[serde(default = "default_kinds")]
    pub kinds: Vec<AlertKind>,
    /// Seconds a `critical` incident may stay unacknowledged before it is
    /// escalated, per kind, e.g. `{ fire = 120, throwing = 300 }`; a kind not
    /// listed uses `escalate_after_s_default`. Default: empty.
    #[serde(default)]
    pub escalate_after_s: BTreeMap<AlertKind, u64>,
    /// Seconds for critical incidents of kinds not in `escalate_after_s`; 0
    /// never escalates them. Default: 300.
    #[serde(default = "default_escalate_after")]
    pub escalate_after_s_default: u64,
    /// Listen for the district platform's commands on
    /// `<prefix>/<gateway>/commands/incidents/<event>/<action>` (on the
    /// `[mqtt]` broker, authenticated by its ACL). Default: true.
    #[serde(default = "crate::settings::default_true")]
    pub platform_commands: bool,
    /// Most incidents one page of the list may hold, 1..=500. Default: 100.
    #[serde(default = "default_max_per_page")]
    pub max_per_page: u32,
}

impl Default for DeskConfig {
    fn default() -> Self {
        DeskConfig {
            enabled: true,
            db: None,
            kinds: default_kinds(),
            escalate_after_s: BTreeMap::new(),
            escalate_after_s_default: default_escalate_after(),
            platform_commands: true,
            max_per_page: default_max_per_page(),
        }
    }
}

fn default_kinds() -> Vec<AlertKind> {
    vec![
        AlertKind::Throwing,
        AlertKind::Fire,
        AlertKind::Smoke,
        AlertKind::Garbage,
        AlertKind::Motion,
        AlertKind::Sensor,
    ]
}
fn default_escalate_after() -> u64 {
    300
}
fn default_max_per_page() -> u32 {
    100
}

/// Longest escalation delay accepted, seconds (one week).
pub const MAX_ESCALATE_AFTER_S: u64 = 7 * 24 * 3600;

impl DeskConfig {
    /// The desk file: `db`, or `desk.db` beside `outbox`.
    pub fn db_path(&self, outbox: &Path) -> PathBuf {
        match &self.db {
            Some(p) => p.clone(),
            None => outbox
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("desk.db"), |d| d.join("desk.db")),
        }
    }

    /// The escalation delay of `kind`, or `None` when its critical incidents
    /// are never escalated.
    pub fn escalate_after(&self, kind: AlertKind) -> Option<std::time::Duration> {
        let s = self
            .escalate_after_s
            .get(&kind)
            .copied()
            .unwrap_or(self.escalate_after_s_default);
        (s > 0).then(|| std::time::Duration::from_secs(s))
    }

    /// Checks the section; problems are reported under `desk.`.
    pub fn check(&self, p: &mut Vec<ConfigProblem>) {
        if let Some(db) = &self.db {
            if db.as_os_str().is_empty() {
                push(
                    p,
                    "desk.db",
                    "must not be empty (leave it out for the default beside the outbox)",
                );
            }
        }
        if !(1..=500).contains(&self.max_per_page) {
            push(
                p,
                "desk.max_per_page",
                format!("expected 1..=500, got {}", self.max_per_page),
            );
        }
        for (kind, s) in &self.escalate_after_s {
            if *s > MAX_ESCALATE_AFTER_S {
                push(
                    p,
                    format!("desk.escalate_after_s.{kind}"),
                    format!("expected 0..={MAX_ESCALATE_AFTER_S} seconds, got {s}"),
                );
            }
            if !self.kinds.contains(kind) {
                push(
                    p,
                    format!("desk.escalate_after_s.{kind}"),
                    format!(
                        "{kind} is not in desk.kinds, so it never opens an incident to escalate"
                    ),
                );
            }
        }
        if self.escalate_after_s_default > MAX_ESCALATE_AFTER_S {
            push(
                p,
                "desk.escalate_after_s_default",
                format!(
                    "expected 0..={MAX_ESCALATE_AFTER_S} seconds, got {}",
                    self.escalate_after_s_default
                ),
            );
        }
    }
}
