//! Platform profiles (`[[profiles]]`, `docs/notifications.md`, "Platform
//! profiles"): each alert mapped onto another topic scheme and payload
//! shape by two templates, for a district platform or a cloud IoT
//! platform's "thing model" (`config/profiles/aliyun-iot.toml`).
//!
//! [`ProfileSink`] sits in front of delivery's sink like the Home
//! Assistant stage: it passes every alert on unchanged, then, for each
//! enabled profile that maps it, queues the mapped message through the
//! outbox as a row of its own ([`OutboxMessage`]) whose topic is absolute
//! (stored as `abs:<topic>`, see [`mqtt::ABSOLUTE_TOPIC`](super::mqtt::ABSOLUTE_TOPIC)). So a mapped
//! message has an alert's guarantees (committed before it is sent,
//! removed on the broker's PUBACK, in order with everything else) and goes
//! to the `[mqtt]` broker; a broker bridge carries it on to a platform
//! that is not that broker.
//!
//! Templates are [minijinja](https://docs.rs/minijinja) (Jinja2) source.
//! They see `alert` (the alert as published on MQTT), `vars` (the
//! profile's table), `identifier` (the profile's name for the alert's
//! kind), `msg_id` (a decimal number below 2³² taken from the alert's id,
//! the same on every redelivery), `time_ms` (`detected_at` in Unix
//! milliseconds), `local_time`, `camera_name`, `zone_name`, `kind_text`,
//! `severity_text`, `state_text` and `text` (the notification text in the
//! profile's `lang`). `payload` must render to JSON (write strings with
//! `|tojson`); `topic` to a topic name without wildcards.

use super::mqtt::ABSOLUTE_TOPIC;
use super::notify::adapter::{Context, Outgoing};
use super::notify::config::NotifyLang;
use super::notify::message::{words, Message};
use super::notify::route::INCIDENT_KINDS;
use super::{AlertSink, OutboxMessage};
use crate::alert::submit::{AlertSubmit, SubmitError};
use crate::alert::{Alert, AlertKind, AlertState, Severity};
use crate::settings::{check_id, push, ConfigProblem};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// One `[[profiles]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    /// Name in logs, e.g. `aliyun-iot`. Required; letters, digits, `-`,
    /// `_`, `.`; unique.
    pub name: String,
    /// Map alerts with this profile. Default: `true`.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Alert kinds mapped. Default: the incident kinds (`throwing`,
    /// `fire`, `smoke`, `garbage`, `motion`, `sensor`).
    #[serde(default)]
    pub kinds: Option<Vec<AlertKind>>,
    /// Alert states mapped. Default: `["new", "end"]`.
    #[serde(default = "default_states")]
    pub states: Vec<AlertState>,
    /// Template of the topic, published as rendered (not under
    /// `<prefix>/<gateway>/`), e.g.
    /// `"/sys/{{ vars.product_key }}/{{ vars.device_name }}/thing/event/{{ identifier }}/post"`.
    /// Required.
    pub topic: String,
    /// Template of the payload; must render to JSON. Required.
    pub payload: String,
    /// Values the templates read as `vars.<key>` (product key, device
    /// name, …). Default: none.
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    /// The platform's name for each alert kind, read as `identifier`, e.g.
    /// `fire = "FireAlarm"`. Default: the kind's own name (`fire`).
    #[serde(default)]
    pub identifiers: BTreeMap<String, String>,
    /// Language of `text`, `kind_text`, `severity_text` and `state_text`:
    /// `"zh-CN"` or `"en"`. Default: `"zh-CN"`.
    #[serde(default)]
    pub lang: NotifyLang,
}

fn yes() -> bool {
    true
}

fn default_states() -> Vec<AlertState> {
    vec![AlertState::New, AlertState::End]
}

/// Checks every `[[profiles]]` table: names, templates (compiled, and
/// rendered for a sample alert of each kind they map: the payload must be
/// JSON, the topic a topic name).
pub fn check(profiles: &[ProfileConfig], p: &mut Vec<ConfigProblem>) {
    let mut seen = BTreeMap::new();
    for (i, cfg) in profiles.iter().enumerate() {
        let path = format!("profiles[{i}]");
        check_id(&cfg.name, &format!("{path}.name"), p);
        if let Some(first) = seen.insert(cfg.name.as_str(), i) {
            push(
                p,
                format!("{path}.name"),
                format!(
                    "duplicate profile name {:?} (also profiles[{first}])",
                    cfg.name
                ),
            );
        }
        if cfg.kinds.as_ref().is_some_and(|k| k.is_empty()) {
            push(
                p,
                format!("{path}.kinds"),
                "must not be empty; leave it out for the incident kinds",
            );
        }
        for key in cfg.identifiers.keys() {
            if let Err(e) = key.parse::<AlertKind>() {
                push(p, format!("{path}.identifiers.{key}"), e.to_string());
            }
        }
        if cfg.states.is_empty() {
            push(
                p,
                format!("{path}.states"),
                "must not be empty; leave it out for [\"new\", \"end\"]",
            );
        }
        let profile = match Profile::new(cfg, i) {
            Ok(pr) => pr,
            Err(e) => {
                push(p, e.path, e.reason);
                continue;
            }
        };
        let ctx = sample_context();
        for kind in profile.kinds.iter().copied() {
            let mut sample = Alert::new(kind, Severity::Major, "site", "gateway");
            sample.camera = Some("camera".into());
            if let Err(e) = profile.map(&sample, &ctx) {
                push(
                    p,
                    e.path,
                    format!("{} (rendered for a sample {kind} alert)", e.reason),
                );
                break;
            }
        }
    }
}

fn sample_context() -> Context {
    Context {
        site_name: "site".into(),
        timezone: crate::settings::SiteTimezone::default(),
        cameras: BTreeMap::new(),
        console_url: None,
        evidence_dir: std::path::PathBuf::new(),
    }
}

/// A profile that cannot be used or could not map an alert, naming the
/// field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct ProfileError {
    /// `profiles[i].topic` or `profiles[i].payload`.
    pub path: String,
    /// What went wrong.
    pub reason: String,
}

/// One profile, its templates compiled.
pub struct Profile {
    name: String,
    index: usize,
    kinds: Vec<AlertKind>,
    states: Vec<AlertState>,
    vars: BTreeMap<String, String>,
    identifiers: BTreeMap<String, String>,
    lang: NotifyLang,
    env: minijinja::Environment<'static>,
}

/// A mapped message: the absolute topic and the JSON payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    pub topic: String,
    pub payload: Value,
}

impl Profile {
    /// Compiles `cfg`, the `index`-th `[[profiles]]` table.
    pub fn new(cfg: &ProfileConfig, index: usize) -> Result<Profile, ProfileError> {
        let mut env = minijinja::Environment::new();
        for (name, source) in [("topic", &cfg.topic), ("payload", &cfg.payload)] {
            env.add_template_owned(name, source.clone())
                .map_err(|e| ProfileError {
                    path: format!("profiles[{index}].{name}"),
                    reason: format!("template does not compile: {e}"),
                })?;
        }
        Ok(Profile {
            name: cfg.name.clone(),
            index,
            kinds: cfg.kinds.clone().unwrap_or_else(|| INCIDENT_KINDS.to_vec()),
            states: cfg.states.clone(),
            vars: cfg.vars.clone(),
            identifiers: cfg.identifiers.clone(),
            lang: cfg.lang,
            env,
        })
    }

    /// The profile's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the profile maps `alert`.
    pub fn takes(&self, alert: &Alert) -> bool {
        self.kinds.contains(&alert.kind) && self.states.contains(&alert.state)
    }

    /// `alert` mapped (whether or not the profile [takes](Self::takes) it).
    pub fn map(&self, alert: &Alert, ctx: &Context) -> Result<Mapped, ProfileError> {
        let err = |field: &str, reason: String| ProfileError {
            path: format!("profiles[{}].{field}", self.index),
            reason,
        };
        let mut published = alert.clone();
        published.snapshot = None;
        let alert_json = serde_json::to_value(&published)
            .map_err(|e| err("payload", format!("alert not encodable: {e}")))?;
        let w = words(self.lang);
        let text = Message::build(
            &Outgoing {
                seq: 0,
                topic: None,
                payload: &alert_json,
            },
            ctx,
            self.lang,
        )
        .map(|m| m.text(self.lang))
        .unwrap_or_default();
        let names = alert.camera.as_ref().and_then(|c| ctx.cameras.get(c));
        let camera_name = match (&alert.camera, names) {
            (_, Some(n)) => n.name.clone(),
            (Some(c), None) => c.clone(),
            (None, None) => ctx.site_name.clone(),
        };
        let zone_name = alert.zone.as_ref().map(|z| {
            names
                .and_then(|n| n.zones.get(z))
                .cloned()
                .unwrap_or_else(|| z.clone())
        });
        let id_bytes = alert.id.as_bytes();
        let msg_id = u32::from_be_bytes([id_bytes[12], id_bytes[13], id_bytes[14], id_bytes[15]]);
        let context = json!({
            "alert": alert_json,
            "vars": self.vars,
            "identifier": self.identifiers.get(alert.kind.as_str()).map(String::as_str).unwrap_or(alert.kind.as_str()),
            "msg_id": msg_id.to_string(),
            "time_ms": alert.detected_at.timestamp_millis(),
            "local_time": ctx.timezone.human(alert.detected_at),
            "camera_name": camera_name,
            "zone_name": zone_name,
            "kind_text": (w.kind)(alert.kind),
            "severity_text": (w.severity)(alert.severity),
            "state_text": match alert.state {
                AlertState::New => w.new,
                AlertState::Update => w.update,
                AlertState::End => w.end,
            },
            "text": text,
        });
        let render = |name: &str| {
            self.env
                .get_template(name)
                .and_then(|t| t.render(&context))
                .map_err(|e| err(name, format!("template does not render: {e}")))
        };
        let topic = render("topic")?.trim().to_string();
        if topic.is_empty() || topic.contains(['+', '#', '\0']) {
            return Err(err(
                "topic",
                format!(
                    "rendered {topic:?}, which is not a topic name (empty, or with + # or NUL)"
                ),
            ));
        }
        let payload_text = render("payload")?;
        let payload: Value = serde_json::from_str(&payload_text).map_err(|e| {
            err(
                "payload",
                format!("rendered text is not JSON ({e}); write strings with |tojson"),
            )
        })?;
        Ok(Mapped { topic, payload })
    }
}

/// One profile's figures since the daemon started, for the console's
/// notifications page. Its messages are delivered by MQTT (their backlog
/// is MQTT's).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ProfileStatus {
    /// `[[profiles]] name`.
    pub name: String,
    /// `enabled`.
    pub enabled: bool,
    /// Mapped messages queued in the outbox.
    pub queued: u64,
    /// Alerts it takes that could not be mapped or queued (each logged).
    pub failures: u64,
    /// The latest of those failures.
    pub last_error: Option<String>,
    /// When it last queued a message (RFC 3339, UTC).
    pub last_queued: Option<String>,
}

/// The profiles in force with their context and figures, shared by the
/// daemon's [`ProfileSink`]s (one in front of each path into delivery); a
/// reload replaces them ([`ProfileSet::replace`]): the next alert is mapped
/// with the new profiles.
pub struct ProfileSet {
    current: Mutex<Arc<Compiled>>,
    /// In config order.
    figures: Mutex<Vec<ProfileStatus>>,
}

/// The enabled profiles, compiled, and the context they render with.
struct Compiled {
    profiles: Vec<Profile>,
    ctx: Context,
}

impl ProfileSet {
    /// The set for `profiles` (checked by [`check`]; one that does not
    /// compile is left out and logged), rendering with `ctx`.
    pub fn new(profiles: &[ProfileConfig], ctx: Context) -> Arc<ProfileSet> {
        let set = Arc::new(ProfileSet {
            current: Mutex::new(Arc::new(Compiled {
                profiles: Vec::new(),
                ctx: sample_context(),
            })),
            figures: Mutex::new(Vec::new()),
        });
        set.replace(profiles, ctx);
        set
    }

    /// Puts `profiles` in force (a reload), rendering with `ctx`; a profile
    /// keeps its figures under the same name. Returns the names of the
    /// enabled profiles now mapping alerts.
    pub fn replace(&self, profiles: &[ProfileConfig], ctx: Context) -> Vec<String> {
        {
            let mut figures = crate::base::lock(&self.figures);
            let old = std::mem::take(&mut *figures);
            *figures = profiles
                .iter()
                .map(|p| {
                    let mut s = old
                        .iter()
                        .find(|s| s.name == p.name)
                        .cloned()
                        .unwrap_or_default();
                    s.name = p.name.clone();
                    s.enabled = p.enabled;
                    s
                })
                .collect();
        }
        let compiled: Vec<Profile> = profiles
            .iter()
            .enumerate()
            .filter(|(_, c)| c.enabled)
            .filter_map(|(i, c)| match Profile::new(c, i) {
                Ok(p) => Some(p),
                Err(e) => {
                    tracing::error!(profile = %c.name, error = %e, "platform profile left out");
                    self.failed(&c.name, format!("left out: {e}"));
                    None
                }
            })
            .collect();
        let names = compiled.iter().map(|p| p.name.clone()).collect();
        *crate::base::lock(&self.current) = Arc::new(Compiled {
            profiles: compiled,
            ctx,
        });
        names
    }

    /// Each profile's figures now, in config order.
    pub fn snapshot(&self) -> Vec<ProfileStatus> {
        crate::base::lock(&self.figures).clone()
    }

    fn note(&self, name: &str, f: impl FnOnce(&mut ProfileStatus)) {
        if let Some(s) = crate::base::lock(&self.figures)
            .iter_mut()
            .find(|s| s.name == name)
        {
            f(s);
        }
    }

    fn failed(&self, name: &str, error: String) {
        self.note(name, |s| {
            s.failures += 1;
            s.last_error = Some(error);
        });
    }
}

/// An [`AlertSubmit`] in front of `next` that, after passing each alert
/// on, queues what each enabled profile of its [`ProfileSet`] maps it to
/// through `out` (a plain pass-through while the set has none).
#[derive(Clone)]
pub struct ProfileSink<S> {
    set: Arc<ProfileSet>,
    out: AlertSink,
    next: S,
}

impl<S> ProfileSink<S> {
    /// The stage mapping with `set`'s profiles.
    pub fn new(set: Arc<ProfileSet>, out: AlertSink, next: S) -> ProfileSink<S> {
        ProfileSink { set, out, next }
    }
}

impl<S: AlertSubmit> AlertSubmit for ProfileSink<S> {
    fn submit(&self, alert: Alert) -> Result<(), SubmitError> {
        let current = crate::base::lock(&self.set.current).clone();
        let mut mapped = Vec::new();
        for p in current.profiles.iter().filter(|p| p.takes(&alert)) {
            match p.map(&alert, &current.ctx) {
                Ok(m) => mapped.push((p.name(), m)),
                Err(e) => {
                    let camera = alert.camera.as_deref().unwrap_or("");
                    tracing::warn!(profile = p.name(), camera, id = %alert.id, error = %e, "alert not mapped");
                    self.set.failed(p.name(), e.to_string());
                }
            }
        }
        let (kind, severity, created_ms) = (
            alert.kind,
            alert.severity,
            alert.detected_at.timestamp_millis(),
        );
        self.next.submit(alert)?;
        for (name, m) in mapped {
            let msg = OutboxMessage {
                id: Uuid::now_v7(),
                topic: format!("{ABSOLUTE_TOPIC}{}", m.topic),
                kind,
                severity,
                created_ms,
                payload: m.payload.to_string().into_bytes(),
            };
            match self.out.submit_message(msg) {
                Ok(()) => self.set.note(name, |s| {
                    s.queued += 1;
                    s.last_queued = Some(
                        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    );
                }),
                Err(e) => {
                    tracing::warn!(profile = name, error = %e, "mapped message not queued");
                    self.set.failed(name, format!("not queued: {e}"));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(extra: &str) -> ProfileConfig {
        toml::from_str(&format!(
            "name = \"p\"\ntopic = \"/sys/{{{{ vars.pk }}}}/{{{{ vars.dn }}}}/thing/event/{{{{ identifier }}}}/post\"\n\
             payload = '{{\"id\": {{{{ msg_id|tojson }}}}, \"params\": {{\"value\": {{\"camera\": {{{{ camera_name|tojson }}}}}}, \"time\": {{{{ time_ms }}}}}}}}'\n\
             vars = {{ pk = \"a1\", dn = \"gw\" }}\n{extra}"
        ))
        .expect("profile table")
    }

    #[test]
    fn maps_topic_and_payload_from_the_alert() {
        let cfg = profile("identifiers = { fire = \"FireAlarm\" }");
        let p = Profile::new(&cfg, 0).expect("compiles");
        let mut a = Alert::new(AlertKind::Fire, Severity::Critical, "s", "g");
        a.camera = Some("shed".into());
        let m = p.map(&a, &sample_context()).expect("maps");
        assert_eq!(m.topic, "/sys/a1/gw/thing/event/FireAlarm/post");
        assert_eq!(m.payload["params"]["value"]["camera"], "shed");
        assert_eq!(
            m.payload["params"]["time"],
            a.detected_at.timestamp_millis()
        );
        let id: u64 = m.payload["id"]
            .as_str()
            .expect("string id")
            .parse()
            .expect("decimal");
        assert!(id <= u32::MAX as u64);
        assert_eq!(
            p.map(&a, &sample_context()).expect("again"),
            m,
            "same on every render"
        );
        a.kind = AlertKind::Smoke;
        assert_eq!(
            p.map(&a, &sample_context()).expect("maps").topic,
            "/sys/a1/gw/thing/event/smoke/post"
        );
    }

    #[test]
    fn check_names_the_template_that_fails() {
        let mut bad = profile("");
        bad.payload = "{\"camera\": {{ camera_name }}}".into();
        let mut wildcard = profile("");
        wildcard.name = "q".into();
        wildcard.topic = "/sys/+/x".into();
        let mut broken = profile("");
        broken.name = "r".into();
        broken.topic = "{{ unclosed".into();
        let mut p = Vec::new();
        check(&[bad, wildcard, broken], &mut p);
        let paths: Vec<&str> = p.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "profiles[0].payload",
                "profiles[1].topic",
                "profiles[2].topic"
            ],
            "{p:?}"
        );
        assert!(p[0].message.contains("not JSON"), "{}", p[0].message);
    }
}
