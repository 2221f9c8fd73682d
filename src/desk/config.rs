//! The `[desk]` section of the config file: where the incident desk keeps
//! its file, which alert kinds become incidents, when an unacknowledged
//! critical incident is escalated, and how long resolved incidents are kept.

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
    /// Days a resolved incident and its handling trail are kept after the
    /// last thing that happened to it (resolution, alert, note), 1..=36500;
    /// then both are removed (at start and daily). Open and acknowledged
    /// incidents are never removed. `0` keeps everything. Default: 365.
    #[serde(default = "default_retention_days")]
    pub retention_days: u32,
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
            retention_days: default_retention_days(),
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
fn default_retention_days() -> u32 {
    365
}

/// Longest retention accepted, days (a hundred years).
pub const MAX_RETENTION_DAYS: u32 = 36_500;

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

    /// How long resolved incidents are kept, or `None` when they are kept
    /// for ever (`retention_days = 0`).
    pub fn retention(&self) -> Option<chrono::Duration> {
        (self.retention_days > 0).then(|| chrono::Duration::days(i64::from(self.retention_days)))
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
        if self.retention_days > MAX_RETENTION_DAYS {
            push(
                p,
                "desk.retention_days",
                format!(
                    "expected 1..={MAX_RETENTION_DAYS} days, or 0 to keep everything; got {}",
                    self.retention_days
                ),
            );
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
