//! What the board and the incident page show, as plain data for the
//! templates: the filters of a board URL ([`Filter`]), one incident's row
//! ([`Row`]), its handling steps ([`Step`]) and the paging. Pure functions
//! of the desk's types, the language and the site's time zone, so they are
//! tested without a server.

use crate::console::i18n::Lang;
use crate::desk::{Action, HandlingRecord, IncidentQuery, IncidentState, IncidentSummary, Outcome};
use crate::settings::SiteTimezone;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Incidents per board page.
pub const PER_PAGE: u32 = 25;

/// A board URL's query as the browser sends it: an empty field means "any".
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FilterForm {
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub camera: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    /// `YYYY-MM-DD`, a day in the site's time zone.
    #[serde(default)]
    pub day: Option<String>,
    /// Page number from 1.
    #[serde(default)]
    pub page: Option<u32>,
}

/// The board's filters, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub kind: Option<String>,
    pub camera: Option<String>,
    pub state: Option<IncidentState>,
    pub day: Option<NaiveDate>,
    /// From 1.
    pub page: u32,
}

/// `Some(trimmed)` unless empty.
fn given(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl Filter {
    /// Checks the form; a bad field is named in the error.
    pub fn parse(f: &FilterForm) -> Result<Filter, String> {
        let state = match given(&f.state) {
            Some(s) => Some(
                s.parse::<IncidentState>()
                    .map_err(|e| format!("state: {e}"))?,
            ),
            None => None,
        };
        let day = match given(&f.day) {
            Some(d) => Some(
                NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                    .map_err(|_| format!("day: expected YYYY-MM-DD, got {d:?}"))?,
            ),
            None => None,
        };
        Ok(Filter {
            kind: given(&f.kind),
            camera: given(&f.camera),
            state,
            day,
            page: f.page.unwrap_or(1).max(1),
        })
    }

    /// The desk query for this filter's page.
    pub fn query(&self) -> IncidentQuery {
        IncidentQuery {
            kind: self.kind.clone(),
            camera: self.camera.clone(),
            state: self.state,
            day: self.day,
            page: self.page - 1,
            per_page: PER_PAGE,
        }
    }

    /// Whether `s` belongs on a board with this filter (any page).
    pub fn matches(&self, s: &IncidentSummary, tz: SiteTimezone) -> bool {
        self.kind.as_ref().is_none_or(|k| *k == s.kind)
            && self.camera.as_ref().is_none_or(|c| *c == s.camera)
            && self.state.is_none_or(|st| st == s.state)
            && self
                .day
                .is_none_or(|d| tz.local(s.first_at).date_naive() == d)
    }

    /// The query string of this filter at `page` (without `?`), empty
    /// fields left out.
    pub fn query_string(&self, page: u32) -> String {
        let mut kv: Vec<(&str, String)> = Vec::new();
        if let Some(k) = &self.kind {
            kv.push(("kind", k.clone()));
        }
        if let Some(c) = &self.camera {
            kv.push(("camera", c.clone()));
        }
        if let Some(s) = self.state {
            kv.push(("state", s.as_str().to_string()));
        }
        if let Some(d) = self.day {
            kv.push(("day", d.format("%Y-%m-%d").to_string()));
        }
        if page > 1 {
            kv.push(("page", page.to_string()));
        }
        serde_urlencoded::to_string(kv).unwrap_or_default()
    }
}

/// A throw's origin, for the big label.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThrowLabel {
    pub floor: Option<String>,
    pub column: Option<String>,
    pub unit: Option<String>,
}

/// One incident as the board and the page show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub event: String,
    /// The element id: `inc-<event>`.
    pub id: String,
    pub camera: String,
    pub camera_display: String,
    pub zone: Option<String>,
    pub kind: String,
    pub kind_label: String,
    pub severity: String,
    pub severity_label: String,
    pub state: String,
    pub state_label: String,
    /// Open or acknowledged.
    pub is_open: bool,
    pub alert_state: String,
    pub alert_state_label: String,
    /// The first alert's time in the site's zone.
    pub first_local: String,
    pub last_local: String,
    pub acked_local: Option<String>,
    pub resolved_local: Option<String>,
    /// The first alert's time, Unix milliseconds (the script's age clock).
    pub since_ms: i64,
    /// The age when rendered, e.g. `5 min`.
    pub age: String,
    pub assignee: Option<String>,
    /// `/evidence/<event>/<file>` of the picture.
    pub snapshot_url: Option<String>,
    /// `/evidence/<event>/clip.mp4` once the clip is announced.
    pub clip_url: Option<String>,
    pub throw: Option<ThrowLabel>,
    pub escalated: bool,
}

/// The console URL of a file the desk names relative to the evidence
/// folder (`<camera>/<event>/<file>`): `/evidence/<event>/<file>`.
pub fn evidence_url(path: &str) -> Option<String> {
    let mut parts = path.rsplit('/');
    let file = parts.next().filter(|f| !f.is_empty())?;
    let event = parts.next().filter(|e| !e.is_empty())?;
    let ok = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && !s.starts_with('.')
    };
    (ok(file) && ok(event)).then(|| format!("/evidence/{event}/{file}"))
}

/// `key` in `lang`, or `fallback` when the catalog has no such key.
pub fn word(lang: Lang, key: &str, fallback: &str) -> String {
    let t = lang.text(key);
    if t == key {
        fallback.to_string()
    } else {
        t
    }
}

/// `key` in `lang` with `{n}` replaced.
fn word_n(lang: Lang, key: &str, n: &str) -> String {
    lang.text(key).replace("{n}", n)
}

/// An age as the board shows it (the script in `board.js` counts the same
/// way): seconds under a minute, minutes under an hour, hours under two
/// days, then days.
pub fn age(lang: Lang, ms: i64) -> String {
    let s = (ms / 1000).max(0);
    let m = s / 60;
    let h = m / 60;
    if s < 60 {
        word_n(lang, "age.s", &s.to_string())
    } else if m < 60 {
        word_n(lang, "age.min", &m.to_string())
    } else if h < 48 {
        word_n(lang, "age.h", &h.to_string())
    } else {
        word_n(lang, "age.d", &(h / 24).to_string())
    }
}

impl Row {
    /// The row of `s` for a page in `lang`, at `now`.
    pub fn of(s: &IncidentSummary, lang: Lang, tz: SiteTimezone, now: DateTime<Utc>) -> Row {
        let throw = s.throw_origin.as_ref().map(|o| ThrowLabel {
            floor: o.floor.map(|f| word_n(lang, "throw.floor", &f.to_string())),
            column: o
                .column_label
                .clone()
                .or_else(|| o.column.map(|c| c.to_string()))
                .map(|c| word_n(lang, "throw.column", &c)),
            unit: o.unit_label.as_ref().map(|u| word_n(lang, "throw.unit", u)),
        });
        Row {
            event: s.event.clone(),
            id: format!("inc-{}", s.event),
            camera: s.camera.clone(),
            camera_display: s.camera_display.clone(),
            zone: s.zone_display.clone().or_else(|| s.zone.clone()),
            kind: s.kind.clone(),
            kind_label: word(lang, &format!("kind.{}", s.kind), &s.kind),
            severity: s.severity.clone(),
            severity_label: word(lang, &format!("severity.{}", s.severity), &s.severity),
            state: s.state.as_str().to_string(),
            state_label: word(
                lang,
                &format!("state.{}", s.state.as_str()),
                s.state.as_str(),
            ),
            is_open: s.state.is_open(),
            alert_state: s.alert_state.clone(),
            alert_state_label: word(
                lang,
                &format!("alert_state.{}", s.alert_state),
                &s.alert_state,
            ),
            first_local: tz.human(s.first_at),
            last_local: tz.human(s.last_at),
            acked_local: s.acked_at.map(|t| tz.human(t)),
            resolved_local: s.resolved_at.map(|t| tz.human(t)),
            since_ms: s.first_at.timestamp_millis(),
            age: age(lang, (now - s.first_at).num_milliseconds()),
            assignee: s.assignee.clone(),
            snapshot_url: s.snapshot.as_deref().and_then(evidence_url),
            clip_url: s.clip.as_deref().and_then(evidence_url),
            throw,
            escalated: s.escalated,
        }
    }
}

/// One handling step as the incident page lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub at_local: String,
    pub who: String,
    pub via: String,
    /// `acknowledge`, `assign`, `note` or `resolve`.
    pub action: String,
    pub action_label: String,
    pub details: String,
    pub state_label: String,
}

impl Step {
    /// The step `r` in `lang`.
    pub fn of(r: &HandlingRecord, lang: Lang, tz: SiteTimezone) -> Step {
        let details = match &r.action {
            Action::Acknowledge { note } => note.clone().unwrap_or_default(),
            Action::Assign { to } => to.clone(),
            Action::Note { text } => text.clone(),
            Action::Resolve { outcome, reason } => {
                let o = match outcome {
                    Outcome::Handled => lang.text("outcome.handled"),
                    Outcome::FalseAlarm => lang.text("outcome.false_alarm"),
                };
                match reason.as_deref().filter(|r| !r.is_empty()) {
                    Some(r) => format!("{o}: {r}"),
                    None => o,
                }
            }
        };
        Step {
            at_local: tz.human(r.at),
            who: r.actor.name.clone(),
            via: lang.text(&format!("via.{}", r.actor.via.as_str())),
            action: r.action.name().to_string(),
            action_label: lang.text(&format!("action.{}", r.action.name())),
            details,
            state_label: lang.text(&format!("state.{}", r.state.as_str())),
        }
    }
}

/// The number of pages for `total` incidents (at least 1).
pub fn pages(total: u64) -> u32 {
    u32::try_from(total.div_ceil(u64::from(PER_PAGE)).max(1)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desk::{Actor, ThrowOrigin, Via};

    fn tz() -> SiteTimezone {
        "Asia/Shanghai".parse().expect("a zone")
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("rfc3339")
            .with_timezone(&Utc)
    }

    fn throw() -> IncidentSummary {
        IncidentSummary {
            event: "0193a6b2-0000-7000-8000-000000000001".into(),
            camera: "tower-a".into(),
            camera_display: "3号楼南侧".into(),
            zone: None,
            zone_display: None,
            kind: "throwing".into(),
            severity: "critical".into(),
            state: IncidentState::Open,
            alert_state: "update".into(),
            first_at: t("2026-12-04T18:30:00.250Z"),
            last_at: t("2026-12-04T18:30:03Z"),
            acked_at: None,
            resolved_at: None,
            assignee: None,
            snapshot: Some(
                "tower-a/0193a6b2-0000-7000-8000-000000000001/snapshot-detect.jpg".into(),
            ),
            clip: None,
            throw_origin: Some(ThrowOrigin {
                floor: Some(17),
                column: Some(2),
                column_label: Some("03".into()),
                unit_label: Some("1703".into()),
            }),
            escalated: true,
        }
    }

    #[test]
    fn filters_parse_name_the_bad_field_and_match_in_the_site_zone() {
        let f = Filter::parse(&FilterForm {
            kind: Some("throwing".into()),
            camera: Some(String::new()),
            state: Some("open".into()),
            day: Some("2026-12-05".into()),
            page: Some(0),
        })
        .expect("valid");
        assert_eq!(f.camera, None, "an empty field means any");
        assert_eq!(f.page, 1);
        let q = f.query();
        assert_eq!((q.page, q.per_page), (0, PER_PAGE));
        // 18:30 UTC on the 4th is 02:30 on the 5th in Shanghai.
        let mut s = throw();
        assert!(f.matches(&s, tz()));
        let utc_day = Filter {
            day: NaiveDate::from_ymd_opt(2026, 12, 4),
            ..f.clone()
        };
        assert!(!utc_day.matches(&s, tz()));
        s.state = IncidentState::Acknowledged;
        assert!(!f.matches(&s, tz()));
        assert_eq!(
            f.query_string(2),
            "kind=throwing&state=open&day=2026-12-05&page=2"
        );
        let bad = Filter::parse(&FilterForm {
            state: Some("closed".into()),
            ..FilterForm::default()
        })
        .expect_err("unknown state");
        assert!(bad.starts_with("state: "), "{bad}");
        let bad = Filter::parse(&FilterForm {
            day: Some("5.12.2026".into()),
            ..FilterForm::default()
        })
        .expect_err("bad day");
        assert!(bad.starts_with("day: "), "{bad}");
    }

    #[test]
    fn a_row_shows_local_times_labels_the_throw_origin_and_evidence_urls() {
        let now = t("2026-12-04T18:35:10Z");
        let r = Row::of(&throw(), Lang::ZhCn, tz(), now);
        assert_eq!(r.first_local, "2026-12-05 02:30:00 CST");
        assert_eq!(r.kind_label, "高空抛物");
        assert_eq!(r.state_label, "待处理");
        assert_eq!(r.age, "5 分钟");
        let th = r.throw.expect("a throw label");
        assert_eq!(th.floor.as_deref(), Some("17 层"));
        assert_eq!(th.column.as_deref(), Some("03 列"));
        assert_eq!(th.unit.as_deref(), Some("1703 室"));
        assert_eq!(
            r.snapshot_url.as_deref(),
            Some("/evidence/0193a6b2-0000-7000-8000-000000000001/snapshot-detect.jpg")
        );
        assert_eq!(r.clip_url, None);
        assert!(r.escalated && r.is_open);
        let en = Row::of(&throw(), Lang::En, tz(), now);
        assert_eq!(en.kind_label, "Thrown object");
        assert_eq!(en.throw.and_then(|t| t.floor).as_deref(), Some("Floor 17"));
        // Unknown kinds show their name rather than a catalog key.
        let mut s = throw();
        s.kind = "loitering".into();
        assert_eq!(Row::of(&s, Lang::En, tz(), now).kind_label, "loitering");
    }

    #[test]
    fn evidence_urls_keep_to_the_layout() {
        assert_eq!(
            evidence_url("cam/ev-1/clip.mp4").as_deref(),
            Some("/evidence/ev-1/clip.mp4")
        );
        assert_eq!(evidence_url("clip.mp4"), None);
        assert_eq!(evidence_url("cam/../x"), None);
        assert_eq!(evidence_url("cam/ev/a b.jpg"), None);
    }

    #[test]
    fn ages_and_steps_read_naturally() {
        assert_eq!(age(Lang::En, 59_999), "59 s");
        assert_eq!(age(Lang::En, 60_000), "1 min");
        assert_eq!(age(Lang::En, 3 * 3_600_000), "3 h");
        assert_eq!(age(Lang::ZhCn, 72 * 3_600_000), "3 天");
        let r = HandlingRecord {
            seq: 4,
            at: t("2026-12-04T18:31:00Z"),
            actor: Actor {
                name: "王师傅".into(),
                via: Via::Console,
            },
            action: Action::Resolve {
                outcome: Outcome::FalseAlarm,
                reason: Some("a bird".into()),
            },
            state: IncidentState::ResolvedFalseAlarm,
        };
        let s = Step::of(&r, Lang::ZhCn, tz());
        assert_eq!(s.at_local, "2026-12-05 02:31:00 CST");
        assert_eq!(s.details, "误报: a bird");
        assert_eq!(
            (s.action_label.as_str(), s.via.as_str()),
            ("结案", "控制台")
        );
        assert_eq!(pages(0), 1);
        assert_eq!(pages(26), 2);
    }
}
