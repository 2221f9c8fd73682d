//! The notifications page (`GET /notifications`, viewer and above): every
//! place alerts go, with its backlog, failures, last error and last
//! success, read from the monitor's [`Snapshot`] like the camera page:
//!
//! - the MQTT broker: the outbox rows waiting for its acknowledgement,
//!   failed connection attempts and lost connections, the broker's last
//!   error (or the outbox file's problem), its last acknowledgement, the
//!   rows the outbox's caps or TTL dropped;
//! - each `[[notifiers]]` entry: the rows after its own cursor, its failed
//!   attempts, its latest failure or refusal (cleared by the next success),
//!   its last success, the rows dropped before it got them;
//! - each `[[profiles]]` entry: its mapped messages go out over MQTT (their
//!   backlog is the broker's), so it shows the alerts it could not map or
//!   queue and when it last queued one.
//!
//! Errors are shown through [`redact`](crate::base::redact) with
//! [`UrlPaths::Hide`]: a chat bot's key sits in its URL (WeCom's `?key=`,
//! Feishu's path), so a URL is cut to its host and `key=`-like values are
//! hidden (`***`). Times are in the site's time zone.

use super::auth::{RequireRole, Viewer};
use super::pages::Page;
use super::ConsoleState;
use crate::base::{redact, UrlPaths};
use crate::monitor::Snapshot;
use crate::settings::SiteTimezone;
use axum::extract::State;
use axum::response::Response;
use minijinja::context;
use serde::Serialize;

/// `text` safe to show on the page: URLs cut to their host (a webhook's
/// path may be its key), secret parameters hidden.
fn redact_webhook(text: &str) -> String {
    redact(text, UrlPaths::Hide)
}

/// One row of the page.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SinkRow {
    /// `mqtt`, or the notifier's or profile's name.
    pub name: String,
    /// `mqtt`, `webhook`, `wecom`, `dingtalk`, `feishu` or `profile` (the
    /// catalog key `notify.kind.<kind>`).
    pub kind: String,
    /// `ok`, `failing` or `off` (a disabled profile); catalog key
    /// `notify.state.<state>`.
    pub state: &'static str,
    /// Rows waiting for this sink; `None` for a profile (its messages wait
    /// for MQTT).
    pub backlog: Option<u64>,
    /// Failed attempts since the daemon started.
    pub failures: u64,
    /// The latest failure, redacted.
    pub last_error: Option<String>,
    /// The last success, in the site's time zone.
    pub last_success: Option<String>,
    /// Rows dropped before this sink got them (ever); `None` for a profile.
    pub dropped: Option<u64>,
}

/// The page's rows: MQTT first, then the notifiers and the profiles in
/// config order.
pub fn rows(snap: &Snapshot, tz: SiteTimezone) -> Vec<SinkRow> {
    let local = |t: &Option<String>| {
        t.as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| tz.human(t.with_timezone(&chrono::Utc)))
    };
    let mqtt_error = snap
        .mqtt
        .broker_error
        .clone()
        .filter(|_| !snap.mqtt.connected)
        .or_else(|| snap.outbox.problem.clone());
    let mut out = vec![SinkRow {
        name: "mqtt".into(),
        kind: "mqtt".into(),
        state: if snap.mqtt.connected && snap.outbox.problem.is_none() {
            "ok"
        } else {
            "failing"
        },
        backlog: Some(snap.outbox.depth),
        failures: snap.mqtt.failures,
        last_error: mqtt_error.as_deref().map(redact_webhook),
        last_success: local(&snap.mqtt.last_delivered),
        dropped: Some(snap.outbox.dropped),
    }];
    out.extend(snap.notifiers.iter().map(|n| SinkRow {
        name: n.name.clone(),
        kind: n.kind.clone(),
        state: if n.last_error.is_some() {
            "failing"
        } else {
            "ok"
        },
        backlog: Some(n.backlog),
        failures: n.failures + n.rejected,
        last_error: n.last_error.as_deref().map(redact_webhook),
        last_success: local(&n.last_success),
        dropped: Some(n.dropped),
    }));
    out.extend(snap.profiles.iter().map(|p| SinkRow {
        name: p.name.clone(),
        kind: "profile".into(),
        state: match (p.enabled, &p.last_error) {
            (false, _) => "off",
            (true, Some(_)) => "failing",
            (true, None) => "ok",
        },
        backlog: None,
        failures: p.failures,
        last_error: p.last_error.as_deref().map(redact_webhook),
        last_success: local(&p.last_queued),
        dropped: None,
    }));
    out
}

/// `GET /notifications` (viewer+): every sink's figures.
pub async fn page(State(state): State<ConsoleState>, user: RequireRole<Viewer>) -> Response {
    let st = state.clone();
    let sinks = tokio::task::spawn_blocking(move || {
        let snap = (st.sources.snapshot)();
        rows(&snap, st.sources.timezone)
    })
    .await
    .unwrap_or_default();
    state.render(
        "notifications.html",
        &Page::of(&user),
        context! { sinks => sinks },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::notify::sender::NotifierStatus;
    use crate::delivery::profile::ProfileStatus;

    #[test]
    fn rows_are_mqtt_then_notifiers_then_profiles() {
        let mut snap = crate::monitor::tests::quiet_snapshot();
        snap.outbox.depth = 4;
        snap.mqtt.connected = false;
        snap.mqtt.failures = 2;
        snap.mqtt.broker_error = Some("connection refused".into());
        snap.mqtt.last_delivered = Some("2026-12-04T01:00:00.000Z".into());
        snap.notifiers = vec![NotifierStatus {
            name: "guards".into(),
            kind: "wecom".into(),
            backlog: 3,
            failures: 5,
            rejected: 1,
            dropped: 1,
            last_error: Some(
                "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRET: timeout".into(),
            ),
            ..NotifierStatus::default()
        }];
        snap.profiles = vec![ProfileStatus {
            name: "aliyun".into(),
            enabled: true,
            queued: 7,
            last_queued: Some("2026-12-04T02:00:00.000Z".into()),
            ..ProfileStatus::default()
        }];
        let tz: SiteTimezone = "Asia/Shanghai".parse().expect("zone");
        let r = rows(&snap, tz);
        let names: Vec<&str> = r.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["mqtt", "guards", "aliyun"]);
        assert_eq!(r[0].state, "failing");
        assert_eq!(r[0].backlog, Some(4));
        assert_eq!(r[0].last_error.as_deref(), Some("connection refused"));
        assert_eq!(
            r[0].last_success.as_deref(),
            Some("2026-12-04 09:00:00 CST")
        );
        assert_eq!(r[1].state, "failing");
        assert_eq!(
            (r[1].backlog, r[1].failures, r[1].dropped),
            (Some(3), 6, Some(1))
        );
        assert_eq!(
            r[1].last_error.as_deref(),
            Some("https://qyapi.weixin.qq.com/***: timeout")
        );
        assert_eq!(r[1].last_success, None);
        assert_eq!(
            (r[2].kind.as_str(), r[2].state, r[2].backlog),
            ("profile", "ok", None)
        );
        assert_eq!(
            r[2].last_success.as_deref(),
            Some("2026-12-04 10:00:00 CST")
        );
    }
}
