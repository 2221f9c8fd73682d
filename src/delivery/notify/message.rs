//! The text people read on their phones, in zh-CN and en, built from a
//! message's payload (alert-v1, escalation-v1 or handling-v1) and the
//! [`Context`] (display names, the site's time zone, the console's address).
//!
//! This file is the template: the words are in [`Words`] (one table per
//! language, [`ZH`] and [`EN`]) and the layout in [`Message::build`]; every
//! vendor adapter renders the same [`Message`] as markdown
//! ([`Message::markdown`], or [`Message::markdown_lines`] where a vendor
//! wants its own line breaks) or plain text ([`Message::text`]). A message
//! is a title and a list of labelled lines:
//!
//! ```text
//! 【紧急】火情 · 3号楼电动车棚
//! 状态：新告警
//! 时间：2026-12-04 03:12:45 CST
//! 地点：3号楼电动车棚 · 充电区
//! 证据：图片已保存，录像已保存
//! 打开事件页：https://10.0.0.5:9807/incidents/<event>
//! ```
//!
//! A throw adds the unit its path starts at, as the throwing analyzer's
//! calibration names it (`details.origin`: `12层 · 03列 · 1203室`, with the
//! next most likely floor when there is one); an escalation says that
//! nobody acknowledged the incident in time; a handling step says who did
//! what. Times are local (`[site] timezone`), taken from the message itself.

use super::adapter::{AdapterError, Context, Outgoing};
use super::config::NotifyLang;
use super::route::MessageType;
use crate::alert::{AlertKind, AlertState, Severity};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// Every word a message uses, in one language.
#[derive(Debug)]
pub struct Words {
    /// Between a label and its value.
    pub colon: &'static str,
    /// Between list items.
    pub comma: &'static str,
    pub state: &'static str,
    pub time: &'static str,
    pub place: &'static str,
    pub unit: &'static str,
    pub evidence: &'static str,
    pub sensor: &'static str,
    pub detail: &'static str,
    pub open_incident: &'static str,
    pub snapshot_link: &'static str,
    pub new: &'static str,
    pub update: &'static str,
    pub end: &'static str,
    pub snapshot_saved: &'static str,
    pub clip_saved: &'static str,
    pub escalated: &'static str,
    pub escalated_after: fn(u64) -> String,
    pub first_at: &'static str,
    pub handling: &'static str,
    pub by: &'static str,
    pub via_platform: &'static str,
    pub acknowledged: &'static str,
    pub assigned_to: fn(&str) -> String,
    pub note: &'static str,
    pub resolved_handled: &'static str,
    pub resolved_false_alarm: &'static str,
    pub reason: &'static str,
    pub floor: fn(i64) -> String,
    pub column: fn(&str) -> String,
    pub room: fn(&str) -> String,
    pub or_floor: fn(i64) -> String,
    pub outside_calibration: &'static str,
    pub kind: fn(AlertKind) -> &'static str,
    pub severity: fn(Severity) -> &'static str,
}

/// Simplified Chinese.
pub static ZH: Words = Words {
    colon: "：",
    comma: "，",
    state: "状态",
    time: "时间",
    place: "地点",
    unit: "位置",
    evidence: "证据",
    sensor: "传感器",
    detail: "说明",
    open_incident: "打开事件页",
    snapshot_link: "查看图片",
    new: "新告警",
    update: "更新",
    end: "已结束",
    snapshot_saved: "图片已保存",
    clip_saved: "录像已保存",
    escalated: "超时未确认，已升级",
    escalated_after: |s| format!("{}内无人确认", zh_duration(s)),
    first_at: "首次告警",
    handling: "处理",
    by: "处理人",
    via_platform: "（平台）",
    acknowledged: "已确认",
    assigned_to: |who| format!("已指派给{who}"),
    note: "备注",
    resolved_handled: "已处理完毕",
    resolved_false_alarm: "已判定为误报",
    reason: "原因",
    floor: |f| format!("{f}层"),
    column: |c| format!("{c}列"),
    room: |u| format!("{u}室"),
    or_floor: |f| format!("（也可能是{f}层）"),
    outside_calibration: "（在标定范围外，为推算）",
    kind: |k| match k {
        AlertKind::Throwing => "高空抛物",
        AlertKind::Fire => "火情",
        AlertKind::Smoke => "烟雾",
        AlertKind::Garbage => "垃圾",
        AlertKind::Motion => "移动侦测",
        AlertKind::CameraOffline => "摄像头离线",
        AlertKind::CameraOnline => "摄像头恢复",
        AlertKind::EvidenceOffline => "录像流离线",
        AlertKind::EvidenceOnline => "录像流恢复",
        AlertKind::Test => "测试",
        AlertKind::Sensor => "传感器告警",
        AlertKind::SensorOffline => "传感器离线",
        AlertKind::SelftestFailed => "自检失败",
    },
    severity: |s| match s {
        Severity::Info => "提示",
        Severity::Warning => "警告",
        Severity::Major => "严重",
        Severity::Critical => "紧急",
    },
};

/// English.
pub static EN: Words = Words {
    colon: ": ",
    comma: ", ",
    state: "State",
    time: "Time",
    place: "Place",
    unit: "Unit",
    evidence: "Evidence",
    sensor: "Sensor",
    detail: "Detail",
    open_incident: "Open the incident",
    snapshot_link: "Picture",
    new: "new",
    update: "update",
    end: "ended",
    snapshot_saved: "picture stored",
    clip_saved: "clip stored",
    escalated: "Not acknowledged in time: escalated",
    escalated_after: |s| format!("nobody acknowledged it within {}", en_duration(s)),
    first_at: "First alert",
    handling: "Handling",
    by: "By",
    via_platform: " (platform)",
    acknowledged: "acknowledged",
    assigned_to: |who| format!("assigned to {who}"),
    note: "note",
    resolved_handled: "resolved: handled",
    resolved_false_alarm: "resolved: false alarm",
    reason: "Reason",
    floor: |f| format!("floor {f}"),
    column: |c| format!("column {c}"),
    room: |u| format!("unit {u}"),
    or_floor: |f| format!(" (or floor {f})"),
    outside_calibration: " (outside the calibration, extrapolated)",
    kind: |k| match k {
        AlertKind::Throwing => "Thrown object",
        AlertKind::Fire => "Fire",
        AlertKind::Smoke => "Smoke",
        AlertKind::Garbage => "Garbage dumped",
        AlertKind::Motion => "Motion",
        AlertKind::CameraOffline => "Camera offline",
        AlertKind::CameraOnline => "Camera back online",
        AlertKind::EvidenceOffline => "Recording stream offline",
        AlertKind::EvidenceOnline => "Recording stream back",
        AlertKind::Test => "Test",
        AlertKind::Sensor => "Sensor alarm",
        AlertKind::SensorOffline => "Sensor offline",
        AlertKind::SelftestFailed => "Self-test failed",
    },
    severity: |s| match s {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Major => "major",
        Severity::Critical => "critical",
    },
};

fn zh_duration(s: u64) -> String {
    if s >= 60 && s % 60 == 0 {
        format!("{}分钟", s / 60)
    } else {
        format!("{s}秒")
    }
}

fn en_duration(s: u64) -> String {
    if s >= 60 && s % 60 == 0 {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}

/// The words of `lang`.
pub fn words(lang: NotifyLang) -> &'static Words {
    match lang {
        NotifyLang::ZhCn => &ZH,
        NotifyLang::En => &EN,
    }
}

/// One labelled line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub label: String,
    pub value: String,
}

/// A message as people read it, before a vendor's format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `【紧急】火情 · 3号楼电动车棚`: severity, kind, camera; what a phone's
    /// notification shows.
    pub title: String,
    /// The payload's severity (handling steps have none).
    pub severity: Option<Severity>,
    /// The labelled lines, in order.
    pub lines: Vec<Line>,
    /// `(text, <console_url>/incidents/<event>)` when `console_url` is set.
    pub link: Option<(String, String)>,
    /// The incident (`event`), when the payload names it.
    pub event: Option<String>,
}

impl Message {
    /// The message for `msg` in `lang`. Fails when the payload lacks what
    /// every message needs (its kind).
    pub fn build(
        msg: &Outgoing<'_>,
        ctx: &Context,
        lang: NotifyLang,
    ) -> Result<Message, AdapterError> {
        let w = words(lang);
        let p = msg.payload;
        let missing = |what: &str| AdapterError::Payload {
            seq: msg.seq,
            reason: format!("no readable `{what}` in the payload"),
        };
        let kind: AlertKind = get(p, "kind").ok_or_else(|| missing("kind"))?;
        let ty = MessageType::of(msg.topic);
        // The alert the text describes: the payload itself, or the one an
        // escalation carries.
        let alert = match ty {
            MessageType::Escalation => p.get("alert").unwrap_or(p),
            _ => p,
        };
        let severity: Option<Severity> = match ty {
            MessageType::Handling => None,
            _ => get(p, "severity"),
        };
        let camera = str_of(p, "camera").filter(|c| !c.is_empty());
        let camera_name = camera
            .map(|c| {
                ctx.cameras
                    .get(c)
                    .map(|n| n.name.clone())
                    .unwrap_or_else(|| c.to_string())
            })
            .unwrap_or_else(|| ctx.site_name.clone());
        let mut title = String::new();
        if let Some(s) = severity {
            match lang {
                NotifyLang::ZhCn => title.push_str(&format!("【{}】", (w.severity)(s))),
                NotifyLang::En => title.push_str(&format!("[{}] ", (w.severity)(s))),
            }
        }
        title.push_str(&format!("{} · {camera_name}", (w.kind)(kind)));

        let mut lines = Vec::new();
        let mut line = |label: &str, value: String| {
            lines.push(Line {
                label: label.to_string(),
                value,
            })
        };
        let local = |t: Option<&str>| {
            t.and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| ctx.timezone.human(t.with_timezone(&Utc)))
        };
        match ty {
            MessageType::Escalation => {
                line(w.state, w.escalated.to_string());
                if let Some(s) = p.get("escalate_after_s").and_then(Value::as_u64) {
                    line(w.detail, (w.escalated_after)(s));
                }
                if let Some(t) = local(str_of(p, "first_at")) {
                    line(w.first_at, t);
                }
            }
            MessageType::Handling => {
                line(w.handling, handling_text(p, w));
                if let Some(actor) = p.get("actor") {
                    let name = str_of(actor, "name").unwrap_or("?");
                    let via = if str_of(actor, "via") == Some("platform") {
                        w.via_platform
                    } else {
                        ""
                    };
                    line(w.by, format!("{name}{via}"));
                }
                if let Some(t) = local(str_of(p, "at")) {
                    line(w.time, t);
                }
            }
            MessageType::Alert | MessageType::Other => {
                let state = match get::<AlertState>(p, "state") {
                    Some(AlertState::New) => w.new,
                    Some(AlertState::Update) => w.update,
                    Some(AlertState::End) => w.end,
                    None => "?",
                };
                line(w.state, state.to_string());
            }
        }
        if ty != MessageType::Handling {
            if let Some(t) = local(str_of(alert, "detected_at")) {
                line(w.time, t);
            }
        }
        let zone = str_of(p, "zone").map(|z| {
            camera
                .and_then(|c| ctx.cameras.get(c))
                .and_then(|n| n.zones.get(z))
                .cloned()
                .unwrap_or_else(|| z.to_string())
        });
        line(
            w.place,
            match zone {
                Some(z) => format!("{camera_name} · {z}"),
                None => camera_name.clone(),
            },
        );
        let details = alert.get("details").unwrap_or(&Value::Null);
        if kind == AlertKind::Throwing {
            if let Some(u) = unit_text(details, w, lang) {
                line(w.unit, u);
            }
        }
        if let Some(sensor) = str_of(details, "sensor") {
            let area = str_of(details, "area")
                .map(|a| format!(" · {a}"))
                .unwrap_or_default();
            line(w.sensor, format!("{sensor}{area}"));
        }
        if let Some(reason) = str_of(details, "reason") {
            line(w.reason, reason.to_string());
        }
        if ty != MessageType::Handling {
            if let Some(e) = evidence_text(alert, w) {
                line(w.evidence, e);
            }
        }
        let event = str_of(p, "event").map(str::to_string);
        let link = match (&ctx.console_url, &event) {
            (Some(base), Some(ev)) => Some((
                w.open_incident.to_string(),
                format!("{}/incidents/{ev}", base.trim_end_matches('/')),
            )),
            _ => None,
        };
        Ok(Message {
            title,
            severity,
            lines,
            link,
            event,
        })
    }

    /// Plain text: the title, then one `label：value` line each, then the link.
    pub fn text(&self, lang: NotifyLang) -> String {
        let w = words(lang);
        let mut out = self.title.clone();
        for l in &self.lines {
            out.push_str(&format!("\n{}{}{}", l.label, w.colon, l.value));
        }
        if let Some((text, url)) = &self.link {
            out.push_str(&format!("\n{text}{}{url}", w.colon));
        }
        out
    }

    /// The labelled lines as markdown (bold labels), without the title and
    /// the link; each vendor joins them its own way.
    pub fn markdown_lines(&self, lang: NotifyLang) -> Vec<String> {
        let w = words(lang);
        self.lines
            .iter()
            .map(|l| format!("**{}**{}{}", md(&l.label), w.colon, md(&l.value)))
            .collect()
    }

    /// The link to the incident page as a markdown link, when there is one.
    pub fn markdown_link(&self) -> Option<String> {
        self.link
            .as_ref()
            .map(|(text, url)| format!("[{}]({url})", md(text)))
    }

    /// Markdown: the title as a heading, then the
    /// [`markdown_lines`](Self::markdown_lines) and the link, one per line.
    pub fn markdown(&self, lang: NotifyLang) -> String {
        let mut lines = vec![format!("### {}", md(&self.title))];
        lines.extend(self.markdown_lines(lang));
        lines.extend(self.markdown_link());
        lines.join("\n")
    }

    /// The text in a vendor's limit of `max` bytes, cut at a character
    /// boundary and marked with `…` when cut.
    pub fn fit(text: String, max: usize) -> String {
        if text.len() <= max {
            return text;
        }
        let mut end = max.saturating_sub('…'.len_utf8());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &text[..end])
    }
}

/// A name made safe for the vendors' markdown, which do not all honour
/// backslash escapes: the characters that would change its meaning become
/// their full-width forms (`*` → `＊`, `[` → `［`, …), which read the same.
fn md(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '*' => '＊',
            '[' => '［',
            ']' => '］',
            '`' => '｀',
            '<' => '＜',
            '>' => '＞',
            '#' => '＃',
            c => c,
        })
        .collect()
}

fn get<T: serde::de::DeserializeOwned>(p: &Value, key: &str) -> Option<T> {
    p.get(key)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
}

fn str_of<'a>(p: &'a Value, key: &str) -> Option<&'a str> {
    p.get(key).and_then(Value::as_str)
}

/// `12层 · 03列 · 1203室（也可能是11层）` from a throw's `details.origin`.
fn unit_text(details: &Value, w: &Words, lang: NotifyLang) -> Option<String> {
    let o = details.get("origin")?;
    let floor = o.get("floor").and_then(Value::as_i64)?;
    let mut parts = vec![(w.floor)(floor)];
    if let Some(c) = str_of(o, "column_label").filter(|c| !c.is_empty()) {
        parts.push((w.column)(c));
    }
    if let Some(u) = str_of(o, "unit_label").filter(|u| !u.is_empty()) {
        parts.push((w.room)(u));
    }
    let sep = match lang {
        NotifyLang::ZhCn => " · ",
        NotifyLang::En => ", ",
    };
    let mut out = parts.join(sep);
    if let Some(second) = o.get("second_floor").and_then(Value::as_i64) {
        out.push_str(&(w.or_floor)(second));
    }
    if o.get("within_calibration").and_then(Value::as_bool) == Some(false) {
        out.push_str(w.outside_calibration);
    }
    Some(out)
}

/// What the alert's `evidence` says is stored: `图片已保存，录像已保存`, or
/// why not.
fn evidence_text(alert: &Value, w: &Words) -> Option<String> {
    let ev = alert.get("evidence")?;
    let mut parts = Vec::new();
    if snapshot_file(alert).is_some() {
        parts.push(w.snapshot_saved.to_string());
    }
    let clip_in_files = ev
        .get("files")
        .and_then(Value::as_array)
        .is_some_and(|fs| fs.iter().any(|f| str_of(f, "name") == Some("clip.mp4")));
    if clip_in_files || ev.get("clip").is_some_and(Value::is_object) {
        parts.push(w.clip_saved.to_string());
    }
    for why in [str_of(ev, "problem"), str_of(ev, "reason")]
        .into_iter()
        .flatten()
    {
        parts.push(why.to_string());
    }
    (!parts.is_empty()).then(|| parts.join(w.comma))
}

/// What a handling step did: `已确认`, `已指派给张三`, `已判定为误报`, …
fn handling_text(p: &Value, w: &Words) -> String {
    let mut out = match str_of(p, "action") {
        Some("acknowledge") => w.acknowledged.to_string(),
        Some("assign") => (w.assigned_to)(str_of(p, "to").unwrap_or("?")),
        Some("note") => w.note.to_string(),
        Some("resolve") => match str_of(p, "outcome") {
            Some("false_alarm") => w.resolved_false_alarm.to_string(),
            _ => w.resolved_handled.to_string(),
        },
        Some(other) => other.to_string(),
        None => "?".to_string(),
    };
    for key in ["note", "text", "reason"] {
        if let Some(t) = str_of(p, key).filter(|t| !t.is_empty()) {
            out.push_str(&format!("{}{t}", w.colon));
        }
    }
    out
}

/// The stored picture an alert (or the alert inside an escalation) points
/// to, relative to the evidence folder: the full-resolution `snapshot.jpg`
/// when stored, else the detect-size `snapshot-detect.jpg`.
pub fn snapshot_file(payload: &Value) -> Option<&str> {
    let alert = payload.get("alert").unwrap_or(payload);
    let ev = alert.get("evidence")?;
    let files = ev.get("files").and_then(Value::as_array);
    let named = |name: &str| {
        files.and_then(|fs| {
            fs.iter()
                .find(|f| str_of(f, "name") == Some(name))
                .and_then(|f| str_of(f, "path"))
        })
    };
    ev.get("snapshot")
        .and_then(|s| str_of(s, "path"))
        .or_else(|| named("snapshot.jpg"))
        .or_else(|| named("snapshot-detect.jpg"))
}

#[cfg(test)]
mod tests;
