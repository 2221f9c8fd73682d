//! Home Assistant MQTT discovery (`[homeassistant]`; `docs/mqtt.md`, "Home
//! Assistant"): the gateway appears in Home Assistant by itself, as one
//! device with, per camera and incident kind it can raise,
//!
//! - a `binary_sensor`: `ON` while an incident of that kind is open at that
//!   camera, fed by a retained state topic that follows the alert lifecycle
//!   (`new`/`update` open, `end` closes; a throw or motion, which has no
//!   `end`, shows `ON` for `hold_s` after its last message);
//! - an `image`: the raw JPEG snapshot topic the evidence stage publishes;
//!
//! and one `sensor` with the number of incidents open now. Every entity is
//! `unavailable` while the gateway is away (its status topic, the MQTT last
//! will). Discovery configs are retained under
//! `<discovery_prefix>/<component>/<node>/<object>/config` with a stable
//! `unique_id`.
//!
//! [`HomeAssistant`] keeps the state; [`HaSink`] sits in front of delivery's
//! [`AlertSink`](super::AlertSink) and shows it every alert on its way to the
//! outbox. Everything it publishes goes out retained through the
//! publisher ([`StatusProbe::publish_retained`]), after queued alerts'
//! turn as the camera states do, and again after every reconnect.

use super::config::HomeAssistantConfig;
use super::mqtt::{Topics, STATUS_OFFLINE, STATUS_ONLINE};
use super::StatusProbe;
use crate::alert::submit::{AlertSubmit, SubmitError};
use crate::alert::{Alert, AlertKind, AlertState};
use crate::base::lock;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The `binary_sensor` payloads.
pub const ON: &str = "ON";
pub const OFF: &str = "OFF";

/// A camera and the incident kinds its analyzers can raise (one
/// `binary_sensor` and one `image` each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaCamera {
    pub name: String,
    pub kinds: Vec<AlertKind>,
}

/// The kinds an analyzer (its `[cameras.analyzers.<key>]` table) raises.
pub fn kinds_of_analyzer(key: &str) -> &'static [AlertKind] {
    match key {
        "throwing" => &[AlertKind::Throwing],
        "fire" => &[AlertKind::Fire, AlertKind::Smoke],
        "garbage" => &[AlertKind::Garbage],
        "motion" => &[AlertKind::Motion],
        _ => &[],
    }
}

/// Home Assistant's `device_class` for an incident kind's `binary_sensor`.
fn device_class(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::Smoke => "smoke",
        AlertKind::Motion => "motion",
        AlertKind::Garbage => "problem",
        _ => "safety",
    }
}

/// Letters, digits, `_` and `-` only (Home Assistant's rule for node and
/// object ids); anything else becomes `_`.
fn id_part(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// One open incident as the entities see it.
#[derive(Debug, Clone)]
struct Open {
    camera: Option<String>,
    kind: AlertKind,
    /// For kinds without an `end` (throwing, motion): when it stops
    /// showing.
    until: Option<Instant>,
}

#[derive(Debug, Default)]
struct State {
    cameras: Vec<HaCamera>,
    open: HashMap<Uuid, Open>,
    /// What each binary_sensor and the counter last published.
    shown: BTreeMap<(String, AlertKind), bool>,
    count_shown: Option<usize>,
}

impl State {
    /// Takes note of an alert; true when something may have changed.
    fn apply(&mut self, a: &Alert, now: Instant, hold: Duration) -> bool {
        match a.state {
            AlertState::End => self.open.remove(&a.event).is_some(),
            // Only a `new` opens: a late `update` (a clip announced after the
            // incident ended) never reopens it.
            AlertState::New => {
                let until = if a.kind.has_lifecycle() {
                    None
                } else if matches!(a.kind, AlertKind::Throwing | AlertKind::Motion) {
                    Some(now + hold)
                } else {
                    return false;
                };
                self.open.insert(
                    a.event,
                    Open {
                        camera: a.camera.clone(),
                        kind: a.kind,
                        until,
                    },
                );
                true
            }
            // A single-shot incident's later messages (its clip) keep it shown.
            AlertState::Update => match self.open.get_mut(&a.event) {
                Some(o) if o.until.is_some() => {
                    o.until = Some(now + hold);
                    false
                }
                _ => false,
            },
        }
    }

    /// Drops single-shot incidents whose hold is over; true when any went.
    fn expire(&mut self, now: Instant) -> bool {
        let before = self.open.len();
        self.open.retain(|_, o| o.until.is_none_or(|u| u > now));
        self.open.len() != before
    }

    /// Each camera and kind's binary_sensor value now.
    fn wanted(&self) -> Vec<((String, AlertKind), bool)> {
        self.cameras
            .iter()
            .flat_map(|c| c.kinds.iter().map(move |k| (c.name.clone(), *k)))
            .map(|(camera, kind)| {
                let on = self
                    .open
                    .values()
                    .any(|o| o.kind == kind && o.camera.as_deref() == Some(camera.as_str()));
                ((camera, kind), on)
            })
            .collect()
    }
}

/// The topics and payloads of one gateway's entities.
struct Layout {
    topics: Topics,
    prefix: String,
    gateway: String,
    node: String,
}

impl Layout {
    fn object(camera: &str, kind: AlertKind) -> String {
        id_part(&format!("{camera}_{}", kind.as_str()))
    }

    fn config_topic(&self, component: &str, object: &str) -> String {
        format!("{}/{component}/{}/{object}/config", self.prefix, self.node)
    }

    fn device(&self) -> serde_json::Value {
        serde_json::json!({
            "identifiers": [self.node.clone()],
            "name": format!("estatewatch {}", self.gateway),
            "manufacturer": "estatewatch",
            "model": "edge video alerting gateway",
            "sw_version": env!("CARGO_PKG_VERSION"),
        })
    }

    /// The keys every entity shares: availability from the gateway's
    /// status topic (retained `online`, last will `offline`) and the device.
    fn common(
        &self,
        name: String,
        unique_id: String,
    ) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        m.insert("name".into(), name.into());
        m.insert("unique_id".into(), unique_id.into());
        m.insert("availability_topic".into(), self.topics.status().into());
        m.insert("payload_available".into(), STATUS_ONLINE.into());
        m.insert("payload_not_available".into(), STATUS_OFFLINE.into());
        m.insert("device".into(), self.device());
        m
    }

    /// `(topic, payload)` of the discovery configs of one camera and kind.
    fn camera_configs(&self, camera: &str, kind: AlertKind) -> [(String, Vec<u8>); 2] {
        let object = Layout::object(camera, kind);
        let mut sensor = self.common(
            format!("{camera} {}", kind.as_str()),
            format!("{}_{object}_incident", self.node),
        );
        sensor.insert(
            "state_topic".into(),
            self.topics.incident_state(camera, kind).into(),
        );
        sensor.insert("payload_on".into(), ON.into());
        sensor.insert("payload_off".into(), OFF.into());
        sensor.insert("device_class".into(), device_class(kind).into());
        sensor.insert("qos".into(), 1.into());
        let mut image = self.common(
            format!("{camera} {} snapshot", kind.as_str()),
            format!("{}_{object}_snapshot", self.node),
        );
        image.insert(
            "image_topic".into(),
            self.topics.snapshot(camera, kind).into(),
        );
        image.insert("content_type".into(), "image/jpeg".into());
        [
            (
                self.config_topic("binary_sensor", &object),
                serde_json::Value::Object(sensor).to_string().into_bytes(),
            ),
            (
                self.config_topic("image", &object),
                serde_json::Value::Object(image).to_string().into_bytes(),
            ),
        ]
    }

    /// `(topic, payload)` of the open-incidents counter's discovery config.
    fn counter_config(&self) -> (String, Vec<u8>) {
        let mut c = self.common(
            "open incidents".into(),
            format!("{}_open_incidents", self.node),
        );
        c.insert("state_topic".into(), self.topics.open_incidents().into());
        c.insert("state_class".into(), "measurement".into());
        c.insert("icon".into(), "mdi:alert".into());
        c.insert("qos".into(), 1.into());
        (
            self.config_topic("sensor", "open_incidents"),
            serde_json::Value::Object(c).to_string().into_bytes(),
        )
    }
}

struct Inner {
    layout: Layout,
    hold: Duration,
    state: Mutex<State>,
    probe: StatusProbe,
}

/// The gateway's Home Assistant entities; see the module doc. Cheap to
/// clone. Dropping the last clone stops its timer.
#[derive(Clone)]
pub struct HomeAssistant {
    inner: Arc<Inner>,
    _timer: Arc<Timer>,
}

struct Timer(Option<tokio::task::JoinHandle<()>>);

impl Drop for Timer {
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
            t.abort();
        }
    }
}

impl HomeAssistant {
    /// Publishes the discovery configs of `cameras` (every binary_sensor
    /// `OFF`, the counter 0: no incident is open at start) and starts the
    /// timer that ends throws and motion after `hold_s`. `None` when
    /// `[homeassistant]` is not enabled. Must be called inside a tokio
    /// runtime.
    pub fn start(
        cfg: &HomeAssistantConfig,
        topics: Topics,
        gateway: &str,
        probe: StatusProbe,
        cameras: Vec<HaCamera>,
    ) -> Option<HomeAssistant> {
        if !cfg.enabled {
            return None;
        }
        let inner = Arc::new(Inner {
            layout: Layout {
                topics,
                prefix: cfg.discovery_prefix.clone(),
                gateway: gateway.to_string(),
                node: id_part(&format!("estatewatch_{gateway}")),
            },
            hold: Duration::from_secs(cfg.hold_s),
            state: Mutex::new(State::default()),
            probe,
        });
        let (topic, payload) = inner.layout.counter_config();
        inner.probe.publish_retained(topic, payload);
        inner.set_cameras(cameras);
        let weak = Arc::downgrade(&inner);
        let timer = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                match weak.upgrade() {
                    Some(inner) => inner.refresh(Instant::now()),
                    None => break,
                }
            }
        });
        tracing::info!(
            discovery_prefix = %cfg.discovery_prefix,
            node = %inner.layout.node,
            "Home Assistant discovery published"
        );
        Some(HomeAssistant {
            inner,
            _timer: Arc::new(Timer(Some(timer))),
        })
    }

    /// Replaces the cameras (after a reload): entities of cameras or kinds
    /// that are gone are removed from Home Assistant (an empty retained
    /// config), new ones announced.
    pub fn set_cameras(&self, cameras: Vec<HaCamera>) {
        self.inner.set_cameras(cameras);
    }

    /// Takes note of an alert on its way to delivery.
    pub fn observe(&self, alert: &Alert) {
        self.inner.observe(alert, Instant::now());
    }
}

impl Inner {
    fn set_cameras(&self, cameras: Vec<HaCamera>) {
        let pairs = |cs: &[HaCamera]| -> Vec<(String, AlertKind)> {
            cs.iter()
                .flat_map(|c| c.kinds.iter().map(|k| (c.name.clone(), *k)))
                .collect()
        };
        let mut st = lock(&self.state);
        let new = pairs(&cameras);
        for (camera, kind) in pairs(&st.cameras) {
            if !new.contains(&(camera.clone(), kind)) {
                for (topic, _) in self.layout.camera_configs(&camera, kind) {
                    self.probe.publish_retained(topic, Vec::new());
                }
                self.probe
                    .publish_retained(self.layout.topics.incident_state(&camera, kind), Vec::new());
                st.shown.remove(&(camera, kind));
            }
        }
        for (camera, kind) in &new {
            if !st.shown.contains_key(&(camera.clone(), *kind)) {
                for (topic, payload) in self.layout.camera_configs(camera, *kind) {
                    self.probe.publish_retained(topic, payload);
                }
            }
        }
        st.cameras = cameras;
        self.publish_changes(&mut st, true);
    }

    fn observe(&self, a: &Alert, now: Instant) {
        let mut st = lock(&self.state);
        if st.apply(a, now, self.hold) {
            self.publish_changes(&mut st, false);
        }
    }

    /// Ends single-shot incidents whose hold is over.
    fn refresh(&self, now: Instant) {
        let mut st = lock(&self.state);
        if st.expire(now) {
            self.publish_changes(&mut st, false);
        }
    }

    /// Publishes each binary_sensor and the counter whose value changed
    /// (all of them with `all`).
    fn publish_changes(&self, st: &mut State, all: bool) {
        for (key, on) in st.wanted() {
            if all || st.shown.get(&key) != Some(&on) {
                let payload = if on { ON } else { OFF };
                self.probe.publish_retained(
                    self.layout.topics.incident_state(&key.0, key.1),
                    payload.as_bytes().to_vec(),
                );
                st.shown.insert(key, on);
            }
        }
        let count = st.open.len();
        if all || st.count_shown != Some(count) {
            self.probe.publish_retained(
                self.layout.topics.open_incidents(),
                count.to_string().into_bytes(),
            );
            st.count_shown = Some(count);
        }
    }
}

/// An [`AlertSubmit`] in front of `next` that shows every alert to the
/// Home Assistant entities first (a plain pass-through when
/// `[homeassistant]` is off).
#[derive(Clone)]
pub struct HaSink<S> {
    ha: Option<HomeAssistant>,
    next: S,
}

impl<S> HaSink<S> {
    pub fn new(ha: Option<HomeAssistant>, next: S) -> HaSink<S> {
        HaSink { ha, next }
    }
}

impl<S: AlertSubmit> AlertSubmit for HaSink<S> {
    fn submit(&self, alert: Alert) -> Result<(), SubmitError> {
        if let Some(ha) = &self.ha {
            ha.observe(&alert);
        }
        self.next.submit(alert)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_keep_only_what_home_assistant_allows() {
        assert_eq!(id_part("tower-a.south 1"), "tower-a_south_1");
        assert_eq!(Layout::object("gate.1", AlertKind::Fire), "gate_1_fire");
    }

    fn alert(kind: AlertKind, state: AlertState, event: Uuid) -> Alert {
        let mut a = Alert::new(kind, crate::alert::Severity::Major, "s", "g");
        a.camera = Some("gate".into());
        a.state = state;
        a.event = event;
        a
    }

    fn shown(st: &State) -> Vec<(AlertKind, bool)> {
        st.wanted()
            .into_iter()
            .map(|((_, k), on)| (k, on))
            .collect()
    }

    #[test]
    fn incidents_open_on_new_close_on_end_and_throws_after_their_hold() {
        let mut st = State {
            cameras: vec![HaCamera {
                name: "gate".into(),
                kinds: vec![AlertKind::Fire, AlertKind::Throwing],
            }],
            ..State::default()
        };
        let t0 = Instant::now();
        let hold = Duration::from_secs(60);
        let fire = Uuid::now_v7();
        assert!(st.apply(&alert(AlertKind::Fire, AlertState::New, fire), t0, hold));
        assert_eq!(
            shown(&st),
            [(AlertKind::Fire, true), (AlertKind::Throwing, false)]
        );
        assert!(st.apply(&alert(AlertKind::Fire, AlertState::End, fire), t0, hold));
        // Its clip announced after the end does not reopen it.
        st.apply(&alert(AlertKind::Fire, AlertState::Update, fire), t0, hold);
        assert_eq!(
            shown(&st),
            [(AlertKind::Fire, false), (AlertKind::Throwing, false)]
        );
        let throw = Uuid::now_v7();
        st.apply(
            &alert(AlertKind::Throwing, AlertState::New, throw),
            t0,
            hold,
        );
        assert_eq!(st.open.len(), 1);
        // Its clip announcement 30 s later holds it 60 s more.
        st.apply(
            &alert(AlertKind::Throwing, AlertState::Update, throw),
            t0 + Duration::from_secs(30),
            hold,
        );
        assert!(!st.expire(t0 + Duration::from_secs(61)));
        assert_eq!(shown(&st)[1], (AlertKind::Throwing, true));
        assert!(st.expire(t0 + Duration::from_secs(91)));
        assert_eq!(shown(&st)[1], (AlertKind::Throwing, false));
        // Kinds that are no incident (a test message) are not counted.
        st.apply(
            &alert(AlertKind::Test, AlertState::New, Uuid::now_v7()),
            t0,
            hold,
        );
        assert!(st.open.is_empty());
    }

    #[test]
    fn analyzers_map_to_the_kinds_they_raise() {
        assert_eq!(
            kinds_of_analyzer("fire"),
            &[AlertKind::Fire, AlertKind::Smoke]
        );
        assert!(kinds_of_analyzer("selftest").is_empty());
    }
}
