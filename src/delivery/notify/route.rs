//! Which messages a notifier takes: its `[notifiers.route]` table
//! ([`RouteConfig`]) checked once into a [`Route`], then asked of every
//! message the sender hands the notifier's adapter.
//!
//! What each condition judges, by the kind of message (its outbox topic):
//!
//! | condition | alert (`topic` none) | escalation (`incidents/<event>/escalation`) | handling step (`incidents/<event>/handling`) |
//! | --- | --- | --- | --- |
//! | `kinds` | `kind` | `kind` | `kind` |
//! | `states` | `state` | — | — |
//! | `min_severity` | `severity` | `severity` (always critical) | — |
//! | `cameras` | `camera` (none: not taken) | `camera` | `camera` |
//! | `hours` | `detected_at` | the escalated alert's `detected_at` | `at` (when the step was taken) |
//! | `escalations` | — | must be `true` | — |
//! | `escalations_only` | not taken | taken | not taken |
//! | `handling` | — | — | must be `true` |
//!
//! Hours are local hours in `[site] timezone`, judged on the message's own
//! time, never on the time it is sent: an alert raised at 06:58 and sent at
//! 07:05 after an outage still goes to the `22:00-07:00` route. Any other
//! message in the outbox (a platform profile's mapped message) is never
//! taken.
//!
//! **An incident's `end` goes where its `new` went.** A route remembers,
//! for the last [`REMEMBERED`] incidents, whether it took the incident
//! (kind, severity, camera and hours judged on the `new`); the `end` of a
//! remembered incident is taken exactly when the `new` was (and `end` is in
//! `states`), whatever its own time or severity: the night guard who got a
//! fire at 06:58 also gets its resolution at 07:10, and the day group that
//! did not get it does not get its end. An `end` whose `new` the route never
//! saw (the daemon restarted in between, or the notifier was added since)
//! is judged by itself, with the hours taken at the incident's start: the
//! time in its `event` id (a UUID v7 made when the incident opened), else
//! its own `detected_at`.

use super::adapter::{Context, Outgoing};
use super::config::RouteConfig;
use crate::alert::{AlertKind, AlertState, Severity};
use crate::settings::{push, ConfigProblem};
use chrono::{DateTime, Timelike, Utc};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// How many incidents a route remembers its verdict on (for their `end`).
pub const REMEMBERED: usize = 10_000;

/// The kinds a route takes when it lists none: the incidents people act on.
pub const INCIDENT_KINDS: [AlertKind; 6] = [
    AlertKind::Throwing,
    AlertKind::Fire,
    AlertKind::Smoke,
    AlertKind::Garbage,
    AlertKind::Motion,
    AlertKind::Sensor,
];

/// A route that cannot be used, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct RouteError {
    /// The field, e.g. `notifiers[2].route.hours`.
    pub path: String,
    /// What is wrong with it.
    pub reason: String,
}

/// A span of local hours, `from` inclusive, `to` exclusive, in minutes
/// since midnight; `from > to` spans midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hours {
    from: u32,
    to: u32,
}

impl Hours {
    /// Parses `"HH:MM-HH:MM"` (`"22:00-07:00"` spans midnight; `24:00` may
    /// end a span).
    pub fn parse(s: &str) -> Result<Hours, String> {
        let expected = || format!("expected \"HH:MM-HH:MM\" such as \"22:00-07:00\", got {s:?}");
        let (a, b) = s.trim().split_once('-').ok_or_else(expected)?;
        let minute = |t: &str, end: bool| -> Result<u32, String> {
            let (h, m) = t.trim().split_once(':').ok_or_else(expected)?;
            if h.len() != 2 || m.len() != 2 {
                return Err(expected());
            }
            let h: u32 = h.parse().map_err(|_| expected())?;
            let m: u32 = m.parse().map_err(|_| expected())?;
            if (h == 24 && m == 0 && end) || (h < 24 && m < 60) {
                Ok(h * 60 + m)
            } else {
                Err(format!(
                    "{t:?} is not a time of day (00:00 to 23:59) in {s:?}"
                ))
            }
        };
        let from = minute(a, false)?;
        let to = minute(b, true)?;
        if from == to {
            return Err(format!(
                "{s:?} is an empty span; leave `hours` out to take messages all day"
            ));
        }
        Ok(Hours { from, to })
    }

    /// Whether `minute` (since local midnight) is inside the span.
    pub fn contains(&self, minute: u32) -> bool {
        if self.from < self.to {
            (self.from..self.to).contains(&minute)
        } else {
            minute >= self.from || minute < self.to
        }
    }
}

/// What a message in the outbox is, by its topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    /// An alert (alert-v1): no topic.
    Alert,
    /// An escalation (escalation-v1): `incidents/<event>/escalation`.
    Escalation,
    /// A handling step (handling-v1): `incidents/<event>/handling`.
    Handling,
    /// Anything else (a platform profile's mapped message).
    Other,
}

impl MessageType {
    /// The type of a message with this outbox topic.
    pub fn of(topic: Option<&str>) -> MessageType {
        let Some(t) = topic else {
            return MessageType::Alert;
        };
        let parts: Vec<&str> = t.split('/').collect();
        match parts[..] {
            ["incidents", _, "escalation"] => MessageType::Escalation,
            ["incidents", _, "handling"] => MessageType::Handling,
            _ => MessageType::Other,
        }
    }
}

/// A notifier's route, checked.
#[derive(Debug, Clone)]
pub struct Route {
    kinds: Vec<AlertKind>,
    states: Vec<AlertState>,
    min_severity: Option<Severity>,
    cameras: Option<Vec<String>>,
    hours: Option<Hours>,
    escalations: bool,
    escalations_only: bool,
    handling: bool,
    /// Whether the route took each recent incident, judged on its `new`
    /// (shared by clones: one notifier's memory).
    opened: Arc<Mutex<Opened>>,
}

/// The verdicts on recent incidents' `new`, oldest forgotten first.
#[derive(Debug, Default)]
struct Opened {
    taken: HashMap<String, bool>,
    order: VecDeque<String>,
}

impl Opened {
    fn record(&mut self, event: &str, taken: bool) {
        if self.taken.insert(event.to_string(), taken).is_none() {
            self.order.push_back(event.to_string());
            while self.order.len() > REMEMBERED {
                if let Some(old) = self.order.pop_front() {
                    self.taken.remove(&old);
                }
            }
        }
    }
}

/// When the incident `event` opened: the time in its UUID v7.
fn opened_at(event: &str) -> Option<DateTime<Utc>> {
    let id = uuid::Uuid::parse_str(event).ok()?;
    if id.get_version_num() != 7 {
        return None;
    }
    let (secs, nanos) = id.get_timestamp()?.to_unix();
    DateTime::from_timestamp(i64::try_from(secs).ok()?, nanos)
}

impl Route {
    /// Checks `cfg`, whose table is at `path` (e.g. `notifiers[2].route`).
    /// The first problem found is returned; [`check`] lists them all.
    pub fn from_config(cfg: &RouteConfig, path: &str) -> Result<Route, RouteError> {
        let mut problems = Vec::new();
        check(cfg, path, None, &mut problems);
        if let Some(p) = problems.into_iter().next() {
            return Err(RouteError {
                path: p.path,
                reason: p.message,
            });
        }
        Ok(Route {
            kinds: cfg.kinds.clone().unwrap_or_else(|| INCIDENT_KINDS.to_vec()),
            states: cfg.states.clone(),
            min_severity: cfg.min_severity,
            cameras: cfg.cameras.clone(),
            hours: cfg.hours.as_deref().and_then(|h| Hours::parse(h).ok()),
            escalations: cfg.escalations,
            escalations_only: cfg.escalations_only,
            handling: cfg.handling,
            opened: Arc::default(),
        })
    }

    /// Whether the notifier takes `msg` (see the module documentation for
    /// what each condition judges). A payload missing a field a condition
    /// needs is not taken.
    pub fn takes(&self, msg: &Outgoing<'_>, ctx: &Context) -> bool {
        let p = msg.payload;
        let ty = MessageType::of(msg.topic);
        // The incident's own start, for an `end` whose `new` was not seen.
        let start;
        let when = match ty {
            MessageType::Alert => {
                if self.escalations_only {
                    return false;
                }
                let state = field::<AlertState>(p, "state");
                let event = p.get("event").and_then(|e| e.as_str());
                match (state, event) {
                    (Some(AlertState::New), Some(event)) => {
                        // Remembered whatever `states` says, for the `end`.
                        let taken = self.conditions_hold(ty, p, p.get("detected_at"), ctx);
                        crate::base::lock(&self.opened).record(event, taken);
                        return taken && self.states.contains(&AlertState::New);
                    }
                    (Some(AlertState::End), Some(event)) => {
                        if !self.states.contains(&AlertState::End) {
                            return false;
                        }
                        let known = crate::base::lock(&self.opened).taken.get(event).copied();
                        if let Some(taken) = known {
                            return taken;
                        }
                        start = opened_at(event)
                            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                            .map(serde_json::Value::String);
                        start.as_ref().or(p.get("detected_at"))
                    }
                    _ => {
                        if !state.is_some_and(|s| self.states.contains(&s)) {
                            return false;
                        }
                        p.get("detected_at")
                    }
                }
            }
            MessageType::Escalation => {
                if !self.escalations {
                    return false;
                }
                p.get("alert")
                    .and_then(|a| a.get("detected_at"))
                    .or_else(|| p.get("escalated_at"))
            }
            MessageType::Handling => {
                if !self.handling || self.escalations_only {
                    return false;
                }
                p.get("at")
            }
            MessageType::Other => return false,
        };
        self.conditions_hold(ty, p, when, ctx)
    }

    /// Kind, severity, camera and hours (judged at `when`).
    fn conditions_hold(
        &self,
        ty: MessageType,
        p: &serde_json::Value,
        when: Option<&serde_json::Value>,
        ctx: &Context,
    ) -> bool {
        if !field::<AlertKind>(p, "kind").is_some_and(|k| self.kinds.contains(&k)) {
            return false;
        }
        if let (Some(min), MessageType::Alert | MessageType::Escalation) = (self.min_severity, ty) {
            if field::<Severity>(p, "severity").is_none_or(|s| s < min) {
                return false;
            }
        }
        if let Some(cams) = &self.cameras {
            let cam = p.get("camera").and_then(|c| c.as_str()).unwrap_or("");
            if !cams.iter().any(|c| c == cam) {
                return false;
            }
        }
        if let Some(hours) = self.hours {
            let t = when
                .and_then(|t| t.as_str())
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok());
            let Some(t) = t else {
                return false;
            };
            let local = ctx.timezone.local(t.with_timezone(&Utc));
            if !hours.contains(local.hour() * 60 + local.minute()) {
                return false;
            }
        }
        true
    }
}

/// A payload field read as `T` (an enum by its JSON name).
fn field<T: serde::de::DeserializeOwned>(p: &serde_json::Value, key: &str) -> Option<T> {
    p.get(key)
        .and_then(|v| serde_json::from_value::<T>(v.clone()).ok())
}

/// Checks a `[notifiers.route]` table at `path`, adding every problem to
/// `p`. With `cameras`, the camera ids it names must be among them.
pub fn check(cfg: &RouteConfig, path: &str, cameras: Option<&[&str]>, p: &mut Vec<ConfigProblem>) {
    if let Some(h) = &cfg.hours {
        if let Err(e) = Hours::parse(h) {
            push(p, format!("{path}.hours"), e);
        }
    }
    if cfg.kinds.as_ref().is_some_and(|k| k.is_empty()) {
        push(
            p,
            format!("{path}.kinds"),
            "must not be empty; leave it out for the incident kinds",
        );
    }
    if cfg.states.is_empty() && !cfg.escalations_only {
        push(
            p,
            format!("{path}.states"),
            "must not be empty; leave it out for [\"new\", \"end\"]",
        );
    }
    match &cfg.cameras {
        Some(c) if c.is_empty() => push(
            p,
            format!("{path}.cameras"),
            "must not be empty; leave it out for every camera",
        ),
        Some(c) => {
            if let Some(known) = cameras {
                for (i, cam) in c.iter().enumerate() {
                    if !known.contains(&cam.as_str()) {
                        push(
                            p,
                            format!("{path}.cameras[{i}]"),
                            format!("no camera named {cam:?} in [[cameras]]"),
                        );
                    }
                }
            }
        }
        None => {}
    }
    if cfg.escalations_only && !cfg.escalations {
        push(
            p,
            format!("{path}.escalations_only"),
            "needs escalations = true (an escalation route that takes no escalation takes nothing)",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::notify::adapter::CameraNames;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn ctx(tz: &str) -> Context {
        Context {
            site_name: "site".into(),
            timezone: tz.parse().expect("zone"),
            cameras: BTreeMap::from([("shed".to_string(), CameraNames::default())]),
            console_url: None,
            evidence_dir: "/nonexistent".into(),
        }
    }

    fn route(toml_text: &str) -> Route {
        let cfg: RouteConfig = toml::from_str(toml_text).expect("route table");
        Route::from_config(&cfg, "notifiers[0].route").expect("valid route")
    }

    fn alert(kind: &str, state: &str, severity: &str, camera: &str, at: &str) -> serde_json::Value {
        json!({"kind": kind, "state": state, "severity": severity, "camera": camera, "detected_at": at})
    }

    fn takes(r: &Route, payload: &serde_json::Value, topic: Option<&str>, tz: &str) -> bool {
        r.takes(
            &Outgoing {
                seq: 1,
                topic,
                payload,
            },
            &ctx(tz),
        )
    }

    const T: &str = "2026-12-03T12:00:00.000Z";

    #[test]
    fn default_route_takes_incident_new_and_end_only() {
        let r = route("");
        for kind in ["throwing", "fire", "smoke", "garbage", "motion", "sensor"] {
            assert!(
                takes(&r, &alert(kind, "new", "info", "shed", T), None, "UTC"),
                "{kind}"
            );
        }
        assert!(takes(
            &r,
            &alert("fire", "end", "major", "shed", T),
            None,
            "UTC"
        ));
        assert!(!takes(
            &r,
            &alert("fire", "update", "major", "shed", T),
            None,
            "UTC"
        ));
        for kind in [
            "camera_offline",
            "test",
            "selftest_failed",
            "sensor_offline",
        ] {
            assert!(
                !takes(&r, &alert(kind, "new", "major", "shed", T), None, "UTC"),
                "{kind}"
            );
        }
        assert!(!takes(
            &r,
            &alert("no_such_kind", "new", "major", "shed", T),
            None,
            "UTC"
        ));
    }

    #[test]
    fn kinds_states_severity_and_cameras_each_filter() {
        let r = route(
            r#"kinds = ["fire", "camera_offline"]
               states = ["new", "update"]
               min_severity = "major"
               cameras = ["shed"]"#,
        );
        assert!(takes(
            &r,
            &alert("fire", "update", "major", "shed", T),
            None,
            "UTC"
        ));
        assert!(takes(
            &r,
            &alert("camera_offline", "new", "critical", "shed", T),
            None,
            "UTC"
        ));
        assert!(!takes(
            &r,
            &alert("smoke", "new", "critical", "shed", T),
            None,
            "UTC"
        ));
        assert!(!takes(
            &r,
            &alert("fire", "end", "critical", "shed", T),
            None,
            "UTC"
        ));
        assert!(!takes(
            &r,
            &alert("fire", "new", "warning", "shed", T),
            None,
            "UTC"
        ));
        assert!(!takes(
            &r,
            &alert("fire", "new", "critical", "gate", T),
            None,
            "UTC"
        ));
        let no_camera = json!({"kind": "fire", "state": "new", "severity": "critical", "camera": null, "detected_at": T});
        assert!(!takes(&r, &no_camera, None, "UTC"));
    }

    #[test]
    fn hours_span_midnight_and_are_judged_in_the_site_zone_on_the_alerts_own_time() {
        let r = route(r#"hours = "22:00-07:00""#);
        // 14:30 UTC is 22:30 in Shanghai: inside; 23:30 UTC is 07:30: outside.
        let late = alert("fire", "new", "major", "shed", "2026-12-03T14:30:00.000Z");
        let morning = alert("fire", "new", "major", "shed", "2026-12-03T23:30:00.000Z");
        let small_hours = alert("fire", "new", "major", "shed", "2026-12-03T18:59:00.000Z");
        assert!(takes(&r, &late, None, "Asia/Shanghai"));
        assert!(!takes(&r, &morning, None, "Asia/Shanghai"));
        assert!(takes(&r, &small_hours, None, "Asia/Shanghai"));
        // The same instants in UTC read the other way round.
        assert!(!takes(&r, &late, None, "UTC"));
        assert!(takes(&r, &morning, None, "UTC"));
        // Edges: from is inside, to is outside (06:59 in, 07:00 out, 22:00 in).
        let at = |utc: &str| alert("fire", "new", "major", "shed", utc);
        assert!(takes(
            &r,
            &at("2026-12-03T22:59:00.000Z"),
            None,
            "Asia/Shanghai"
        ));
        assert!(!takes(
            &r,
            &at("2026-12-03T23:00:00.000Z"),
            None,
            "Asia/Shanghai"
        ));
        assert!(takes(
            &r,
            &at("2026-12-03T14:00:00.000Z"),
            None,
            "Asia/Shanghai"
        ));
        // A day span.
        let day = route(r#"hours = "08:00-18:00""#);
        assert!(day.takes(
            &Outgoing {
                seq: 1,
                topic: None,
                payload: &at("2026-12-03T01:00:00.000Z")
            },
            &ctx("Asia/Shanghai")
        ));
        assert!(!takes(
            &day,
            &at("2026-12-03T10:00:00.000Z"),
            None,
            "Asia/Shanghai"
        ));
        // No readable time: not taken.
        assert!(!takes(
            &r,
            &json!({"kind": "fire", "state": "new", "severity": "major", "camera": "shed"}),
            None,
            "UTC"
        ));
    }

    /// An alert of incident `event`.
    fn of_incident(state: &str, severity: &str, at: &str, event: &str) -> serde_json::Value {
        let mut a = alert("fire", state, severity, "shed", at);
        a["event"] = event.into();
        a
    }

    /// A UUID v7 made at `at` (RFC 3339), as an incident's `event` is.
    fn event_at(at: &str) -> String {
        let t = DateTime::parse_from_rfc3339(at).expect("time");
        let ts = uuid::Timestamp::from_unix(
            uuid::NoContext,
            t.timestamp() as u64,
            t.timestamp_subsec_nanos(),
        );
        uuid::Uuid::new_v7(ts).to_string()
    }

    #[test]
    fn an_end_goes_where_its_new_went() {
        const SH: &str = "Asia/Shanghai";
        // 22:58Z is 06:58 in Shanghai, 23:10Z is 07:10.
        let (at_new, at_end) = ("2026-12-03T22:58:00.000Z", "2026-12-03T23:10:00.000Z");
        let night = route(r#"hours = "22:00-07:00""#);
        let day = route(r#"hours = "07:00-22:00""#);
        let ev = event_at(at_new);
        let new = of_incident("new", "major", at_new, &ev);
        let end = of_incident("end", "major", at_end, &ev);
        assert!(takes(&night, &new, None, SH));
        assert!(!takes(&day, &new, None, SH));
        // The end follows, though its own time is in the day span.
        assert!(
            takes(&night, &end, None, SH),
            "the night guard gets the end"
        );
        assert!(!takes(&day, &end, None, SH), "the day group does not");
        // Asked again (the sender asks twice): the same answer.
        assert!(takes(&night, &end, None, SH) && !takes(&day, &end, None, SH));

        // A route that never saw the new (a restart): the incident's start,
        // from its event id, decides.
        let (night2, day2) = (
            route(r#"hours = "22:00-07:00""#),
            route(r#"hours = "07:00-22:00""#),
        );
        assert!(takes(&night2, &end, None, SH));
        assert!(!takes(&day2, &end, None, SH));
        // An event id with no time in it: the end's own time.
        let odd = of_incident("end", "major", at_end, "not-a-uuid");
        assert!(!takes(&night2, &odd, None, SH));
        assert!(takes(&day2, &odd, None, SH));

        // Severity: an incident raised to critical after a major `new` is
        // not this route's, and its critical `end` is not either; a
        // critical `new` brings its `end` whatever that says.
        let critical = route(r#"min_severity = "critical""#);
        let ev2 = event_at(at_new);
        assert!(!takes(
            &critical,
            &of_incident("new", "major", at_new, &ev2),
            None,
            SH
        ));
        assert!(!takes(
            &critical,
            &of_incident("end", "critical", at_end, &ev2),
            None,
            SH
        ));
        let ev3 = event_at(at_new);
        assert!(takes(
            &critical,
            &of_incident("new", "critical", at_new, &ev3),
            None,
            SH
        ));
        assert!(takes(
            &critical,
            &of_incident("end", "major", at_end, &ev3),
            None,
            SH
        ));

        // `states` still decides which of the two are sent.
        let ends_only = route(
            r#"states = ["end"]
                                 hours = "22:00-07:00""#,
        );
        let ev4 = event_at(at_new);
        assert!(!takes(
            &ends_only,
            &of_incident("new", "major", at_new, &ev4),
            None,
            SH
        ));
        assert!(takes(
            &ends_only,
            &of_incident("end", "major", at_end, &ev4),
            None,
            SH
        ));
        let news_only = route(r#"states = ["new"]"#);
        assert!(takes(
            &news_only,
            &of_incident("new", "major", at_new, &ev4),
            None,
            SH
        ));
        assert!(!takes(
            &news_only,
            &of_incident("end", "major", at_end, &ev4),
            None,
            SH
        ));
    }

    #[test]
    fn hours_parse_errors_name_the_field() {
        for bad in [
            "22-07",
            "22:00",
            "25:00-07:00",
            "22:00-07:60",
            "x",
            "07:00-07:00",
            "24:00-07:00",
        ] {
            let cfg: RouteConfig = toml::from_str(&format!("hours = {bad:?}")).expect("table");
            let e = Route::from_config(&cfg, "notifiers[3].route").expect_err(bad);
            assert_eq!(e.path, "notifiers[3].route.hours", "{bad}");
            assert!(
                e.to_string().starts_with("notifiers[3].route.hours: "),
                "{e}"
            );
        }
        assert_eq!(Hours::parse("00:00-24:00"), Ok(Hours { from: 0, to: 1440 }));
        assert!(Hours::parse("00:00-24:00")
            .expect("whole day")
            .contains(1439));
    }

    #[test]
    fn escalations_and_handling_go_by_topic() {
        let esc = json!({"kind": "fire", "severity": "critical", "camera": "shed",
            "escalated_at": "2026-12-03T14:40:00.000Z",
            "alert": {"detected_at": "2026-12-03T14:30:00.000Z"}});
        let step = json!({"kind": "fire", "camera": "shed", "at": T, "action": "acknowledge"});
        let e_topic = Some("incidents/0190aaaa-0000-7000-8000-000000000000/escalation");
        let h_topic = Some("incidents/0190aaaa-0000-7000-8000-000000000000/handling");
        let fire = alert("fire", "new", "critical", "shed", T);

        let default = route("");
        assert!(takes(&default, &esc, e_topic, "UTC"));
        assert!(
            !takes(&default, &step, h_topic, "UTC"),
            "handling is off by default"
        );
        assert!(!takes(
            &default,
            &esc,
            Some("abs:/sys/a/b/thing/event/fire/post"),
            "UTC"
        ));

        let only = route("escalations_only = true");
        assert!(takes(&only, &esc, e_topic, "UTC"));
        assert!(!takes(&only, &fire, None, "UTC"));
        assert!(!takes(&only, &step, h_topic, "UTC"));

        let none = route("escalations = false\nhandling = true");
        assert!(!takes(&none, &esc, e_topic, "UTC"));
        assert!(takes(&none, &step, h_topic, "UTC"));

        // Hours judge the escalated alert's own time (22:30 in Shanghai).
        let night = route(r#"hours = "22:00-07:00""#);
        assert!(takes(&night, &esc, e_topic, "Asia/Shanghai"));
        let other_camera = route(r#"cameras = ["gate"]"#);
        assert!(!takes(&other_camera, &esc, e_topic, "UTC"));
    }

    #[test]
    fn check_lists_every_problem_with_its_path() {
        let cfg: RouteConfig = toml::from_str(
            r#"kinds = []
               states = []
               cameras = ["shed", "nowhere"]
               hours = "7-9"
               escalations = false
               escalations_only = true"#,
        )
        .expect("table");
        let mut p = Vec::new();
        check(&cfg, "notifiers[1].route", Some(&["shed"]), &mut p);
        let paths: Vec<&str> = p.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "notifiers[1].route.hours",
                "notifiers[1].route.kinds",
                "notifiers[1].route.cameras[1]",
                "notifiers[1].route.escalations_only",
            ]
        );
    }
}
