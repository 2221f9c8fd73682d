//! Sensors beside the cameras: readings from MQTT topics (Zigbee2MQTT and the
//! like), and the rules that turn them into `sensor` and `sensor_offline`
//! alerts (`docs/sensors.md`). Their fusion with camera `fire`/`smoke` alerts
//! in the same place is [`crate::alert::fusion`]'s.
//!
//! Data flow: [`start`] opens one MQTT subscription per broker in use
//! (`[mqtt]` and/or `[sensor_broker]`), with the same reconnect discipline as
//! delivery (capped, jittered backoff; errors logged once per change). Each
//! message goes to the [`SensorMonitor`] of every sensor whose topic filter
//! matches; its alerts go to the same [`FusedSink`] as the cameras', which
//! pairs them with camera alerts. A bad payload is counted and
//! logged at most once a minute per sensor; it is never fatal. All of this
//! runs on the async runtime, never on the cameras' analysis threads.
//!
//! Reload: [`Sensors::stop_monitors`] stops the inputs and hands back the
//! monitors; [`restart`] starts inputs for the new config, reusing the
//! monitor of every sensor whose config is unchanged and ending the open
//! incidents of the others (`details.ended_by = "reload"`).

pub mod config;
pub mod payload;
pub mod rules;
pub mod subscriptions;

use crate::alert::fusion::FusedSink;
use crate::alert::{Alert, AlertKind, AlertState, Severity};
use crate::base::Backoff;
use crate::delivery::config::MqttConfig;
use crate::delivery::mqtt::{
    back_off_or_stop, broker_options, describe_connection_error, MqttSetupError,
};
use config::{SensorBroker, SensorConfig};
use rules::{Rules, Staleness, Transition};
use rumqttc::{AsyncClient, Event, Packet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use subscriptions::Subscriptions;
use uuid::Uuid;

/// How often bad payloads of one sensor may be logged.
const BAD_PAYLOAD_LOG_EVERY: Duration = Duration::from_secs(60);
/// How often staleness is checked.
const TICK: Duration = Duration::from_secs(1);
/// First and longest wait between connection attempts: the bounds of
/// delivery's publisher, jittered by the same [`Backoff`] rule.
const BACKOFF_MIN: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// What can stop the sensor inputs from starting.
#[derive(Debug, thiserror::Error)]
pub enum SensorError {
    #[error("sensor broker: {0}")]
    Setup(#[from] MqttSetupError),
}

/// Counters of one sensor, readable while the inputs run (for `/metrics` and
/// the stats topic).
#[derive(Debug, Default)]
pub struct SensorCounters {
    /// Payloads that gave a reading.
    pub readings: AtomicU64,
    /// Payloads that did not (not JSON, missing path, wrong type).
    pub bad_payloads: AtomicU64,
    /// The latest reading's value, as `f64` bits; meaningless while
    /// `last_reading_ms` is 0.
    last_value_bits: AtomicU64,
    /// When the latest reading arrived, ms on [`crate::health::now_ms`]'s
    /// clock; 0 before the first.
    last_reading_ms: AtomicU64,
}

impl SensorCounters {
    /// Records a good reading.
    fn reading(&self, value: f64) {
        self.readings.fetch_add(1, Ordering::Relaxed);
        self.last_value_bits
            .store(value.to_bits(), Ordering::Relaxed);
        self.last_reading_ms
            .store(crate::health::now_ms().max(1), Ordering::Relaxed);
    }

    /// The latest value and its age, or `None` before the first reading.
    pub fn last(&self) -> Option<(f64, std::time::Duration)> {
        let at = self.last_reading_ms.load(Ordering::Relaxed);
        if at == 0 {
            return None;
        }
        let value = f64::from_bits(self.last_value_bits.load(Ordering::Relaxed));
        let age = crate::health::now_ms().saturating_sub(at);
        Some((value, std::time::Duration::from_millis(age)))
    }
}

/// One sensor's rules, staleness and open alerts.
pub struct SensorMonitor {
    cfg: SensorConfig,
    site: String,
    gateway: String,
    rules: Rules,
    stale: Option<Staleness>,
    /// The `event` of each rule's open alert while it fires.
    open: Vec<Option<Uuid>>,
    offline_event: Option<Uuid>,
    last_reading_at: Option<chrono::DateTime<chrono::Utc>>,
    counters: Arc<SensorCounters>,
    bad_since_log: u64,
    last_bad_log: Option<Instant>,
}

impl SensorMonitor {
    pub fn new(cfg: &SensorConfig, site: &str, gateway: &str, started: Instant) -> SensorMonitor {
        SensorMonitor {
            rules: Rules::new(&cfg.rules),
            stale: cfg
                .stale_after_min
                .map(|m| Staleness::new(Duration::from_secs_f64(m * 60.0), started)),
            open: vec![None; cfg.rules.len()],
            offline_event: None,
            last_reading_at: None,
            counters: Arc::new(SensorCounters::default()),
            bad_since_log: 0,
            last_bad_log: None,
            cfg: cfg.clone(),
            site: site.to_string(),
            gateway: gateway.to_string(),
        }
    }

    pub fn name(&self) -> &str {
        &self.cfg.name
    }

    pub fn counters(&self) -> Arc<SensorCounters> {
        self.counters.clone()
    }

    /// Whether a message on `topic` is for this sensor.
    pub fn wants(&self, topic: &str) -> bool {
        rumqttc::matches(topic, &self.cfg.topic)
    }

    /// Handles one message; returns the alerts it raises or ends.
    pub fn on_payload(&mut self, payload: &[u8], now: Instant) -> Vec<Alert> {
        let value = match payload::read_value(payload, self.cfg.value.as_deref()) {
            Ok(v) => v,
            Err(e) => {
                self.bad_payload(&e, now);
                return Vec::new();
            }
        };
        self.counters.reading(value);
        let mut out = Vec::new();
        if self.stale.as_mut().is_some_and(|s| s.reading(now)) {
            if let Some(event) = self.offline_event.take() {
                let mut a = self.alert(AlertKind::SensorOffline, Severity::Info);
                a.state = AlertState::End;
                a.event = event;
                a.details = serde_json::json!({
                    "sensor": self.cfg.name,
                    "area": self.cfg.area,
                    "reading": { "value": value, "unit": self.cfg.unit },
                });
                tracing::info!(sensor = %self.cfg.name, "sensor reporting again");
                out.push(a);
            }
        }
        self.last_reading_at = Some(chrono::Utc::now());
        for t in self.rules.reading(value, now) {
            match t {
                Transition::Fired {
                    rule,
                    severity,
                    detail,
                } => {
                    let mut a = self.alert(AlertKind::Sensor, severity);
                    a.details = self.details(value, detail);
                    if let Some(slot) = self.open.get_mut(rule) {
                        *slot = Some(a.event);
                    }
                    tracing::info!(sensor = %self.cfg.name, value, rule, "sensor rule fired");
                    out.push(a);
                }
                Transition::Cleared { rule } => {
                    let Some(event) = self.open.get_mut(rule).and_then(Option::take) else {
                        continue;
                    };
                    let mut a = self.alert(AlertKind::Sensor, Severity::Info);
                    a.state = AlertState::End;
                    a.event = event;
                    a.details = self.details(value, serde_json::json!({ "cleared": rule }));
                    tracing::info!(sensor = %self.cfg.name, value, rule, "sensor rule cleared");
                    out.push(a);
                }
            }
        }
        out
    }

    /// The clock moved on: raises `sensor_offline` when the sensor went quiet.
    pub fn tick(&mut self, now: Instant) -> Option<Alert> {
        let stale_after = self.cfg.stale_after_min?;
        if !self.stale.as_mut()?.tick(now) {
            return None;
        }
        let mut a = self.alert(AlertKind::SensorOffline, Severity::Warning);
        a.details = serde_json::json!({
            "sensor": self.cfg.name,
            "area": self.cfg.area,
            "last_reading_at": self.last_reading_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            "stale_after_min": stale_after,
        });
        self.offline_event = Some(a.event);
        tracing::warn!(sensor = %self.cfg.name, stale_after_min = stale_after, "sensor has gone quiet");
        Some(a)
    }

    /// Ends every incident this monitor has open (a rule that fires, the
    /// sensor being offline): one `end` each, with `details.ended_by`. For a
    /// sensor that a reload removes or changes; a new monitor would never
    /// end them.
    pub fn end_open(&mut self, ended_by: &str) -> Vec<Alert> {
        let mut events: Vec<(AlertKind, Uuid)> = self
            .open
            .iter_mut()
            .filter_map(Option::take)
            .map(|e| (AlertKind::Sensor, e))
            .collect();
        if let Some(e) = self.offline_event.take() {
            events.push((AlertKind::SensorOffline, e));
        }
        events
            .into_iter()
            .map(|(kind, event)| {
                let mut a = self.alert(kind, Severity::Info);
                a.state = AlertState::End;
                a.event = event;
                a.details = serde_json::json!({
                    "sensor": self.cfg.name,
                    "area": self.cfg.area,
                    "ended_by": ended_by,
                });
                tracing::info!(sensor = %self.cfg.name, %event, ended_by, "open sensor incident ended");
                a
            })
            .collect()
    }

    fn alert(&self, kind: AlertKind, severity: Severity) -> Alert {
        let mut a = Alert::new(kind, severity, &self.site, &self.gateway);
        a.camera = self.cfg.camera.clone();
        a.zone = self.cfg.zone.clone();
        a
    }

    fn details(&self, value: f64, rule: serde_json::Value) -> serde_json::Value {
        serde_json::json!({
            "sensor": self.cfg.name,
            "area": self.cfg.area,
            "reading": { "value": value, "unit": self.cfg.unit },
            "rule": rule,
        })
    }

    fn bad_payload(&mut self, e: &payload::PayloadError, now: Instant) {
        let total = self.counters.bad_payloads.fetch_add(1, Ordering::Relaxed) + 1;
        self.bad_since_log += 1;
        let due = self
            .last_bad_log
            .is_none_or(|t| now.saturating_duration_since(t) >= BAD_PAYLOAD_LOG_EVERY);
        if due {
            tracing::warn!(sensor = %self.cfg.name, error = %e, since_last_log = self.bad_since_log, total, "bad sensor payload ignored");
            self.last_bad_log = Some(now);
            self.bad_since_log = 0;
        }
    }
}

/// The running sensor inputs.
pub struct Sensors {
    stop: tokio::sync::watch::Sender<bool>,
    /// Each input hands its monitors back when it stops.
    tasks: Vec<tokio::task::JoinHandle<Vec<SensorMonitor>>>,
    counters: Vec<(String, Arc<SensorCounters>)>,
}

impl Sensors {
    /// Each sensor's name and counters.
    pub fn counters(&self) -> &[(String, Arc<SensorCounters>)] {
        &self.counters
    }

    /// Stops the inputs and waits for them. Open incidents stay open: the
    /// next start ends them from the outbox's record.
    pub async fn shutdown(self) {
        let _ = self.stop_monitors().await;
    }

    /// Stops the inputs and hands back every sensor's monitor with its rule
    /// state, for [`restart`].
    pub async fn stop_monitors(self) -> Vec<SensorMonitor> {
        let _ = self.stop.send(true);
        let mut monitors = Vec::new();
        for t in self.tasks {
            match t.await {
                Ok(m) => monitors.extend(m),
                Err(e) => tracing::error!(error = %e, "a sensor input ended abnormally"),
            }
        }
        monitors
    }
}

/// What [`restart`] did with each sensor, by name.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SensorRestart {
    /// Same config: the monitor (rule state, open incidents, counters) goes on.
    pub kept: Vec<String>,
    /// New or changed: a fresh monitor.
    pub started: Vec<String>,
    /// Removed or changed: its open incidents were ended.
    pub stopped: Vec<String>,
}

/// The config sections the sensor inputs run with.
#[derive(Debug, Clone, Copy)]
pub struct SensorSections<'a> {
    /// `site.id` and `gateway.id`, stamped on the sensors' alerts.
    pub site: &'a str,
    pub gateway: &'a str,
    /// `[[sensors]]`.
    pub sensors: &'a [SensorConfig],
    /// `[mqtt]`: the broker of sensors with `broker = "delivery"`; the inputs'
    /// client ids are made from its client id.
    pub mqtt: &'a MqttConfig,
    /// `[sensor_broker]`, when present.
    pub sensor_broker: Option<&'a MqttConfig>,
}

/// Starts one input per broker in use; `None` when no sensors are configured.
/// Must be called inside a tokio runtime. Connection failures are not errors
/// here: the inputs keep retrying, as delivery does.
pub fn start(config: &SensorSections<'_>, sink: FusedSink) -> Result<Option<Sensors>, SensorError> {
    restart(config, sink, Vec::new()).map(|(s, _)| s)
}

/// Checks that the inputs of `config` can be set up (broker TLS files and
/// the like) without starting anything: a reload checks this before it
/// stops the running inputs.
pub fn check(config: &SensorSections<'_>) -> Result<(), SensorError> {
    input_options(config).map(|_| ())
}

/// The MQTT options of each broker in use, with its settings.
fn input_options(
    config: &SensorSections<'_>,
) -> Result<Vec<(SensorBroker, MqttConfig, rumqttc::MqttOptions)>, SensorError> {
    let mut out = Vec::new();
    for broker in [SensorBroker::Delivery, SensorBroker::Local] {
        if !config.sensors.iter().any(|s| s.broker == broker) {
            continue;
        }
        let mqtt = config::broker_for(broker, config.mqtt, config.sensor_broker).clone();
        let client_id = format!(
            "{}-sensors-{}",
            config.mqtt.client_id_for(config.gateway),
            match broker {
                SensorBroker::Delivery => "main",
                SensorBroker::Local => "local",
            }
        );
        let mut options = broker_options(&mqtt, &client_id)?;
        options.set_max_packet_size(
            subscriptions::MAX_INCOMING_PACKET,
            crate::delivery::mqtt::MAX_PACKET_BYTES,
        );
        out.push((broker, mqtt, options));
    }
    Ok(out)
}

/// Starts the inputs of `config`, reusing from `old` (the monitors of inputs
/// just stopped, see [`Sensors::stop_monitors`]) each monitor whose sensor
/// config is unchanged, so its rule state, open incidents and counters go
/// on. The other old monitors end their open incidents
/// (`details.ended_by = "reload"`) through `sink`.
pub fn restart(
    config: &SensorSections<'_>,
    sink: FusedSink,
    old: Vec<SensorMonitor>,
) -> Result<(Option<Sensors>, SensorRestart), SensorError> {
    let inputs = input_options(config)?;
    let mut report = SensorRestart::default();
    let mut kept = Vec::new();
    for mut m in old {
        if config.sensors.contains(&m.cfg) {
            kept.push(m);
            continue;
        }
        for end in m.end_open("reload") {
            let (id, kind) = (end.id, end.kind);
            if let Err(e) = sink.submit(end) {
                tracing::error!(%id, kind = kind.as_str(), error = %e, "end of a sensor incident not queued");
            }
        }
        report.stopped.push(m.cfg.name.clone());
    }
    if config.sensors.is_empty() {
        return Ok((None, report));
    }
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let mut tasks = Vec::new();
    let mut counters = Vec::new();
    for (broker, mqtt, options) in inputs {
        let monitors: Vec<SensorMonitor> = config
            .sensors
            .iter()
            .filter(|s| s.broker == broker)
            .map(|s| match kept.iter().position(|m| m.cfg == *s) {
                Some(i) => {
                    report.kept.push(s.name.clone());
                    kept.swap_remove(i)
                }
                None => {
                    report.started.push(s.name.clone());
                    SensorMonitor::new(s, config.site, config.gateway, started)
                }
            })
            .collect();
        counters.extend(
            monitors
                .iter()
                .map(|m| (m.name().to_string(), m.counters())),
        );
        let mut topics: Vec<String> = monitors.iter().map(|m| m.cfg.topic.clone()).collect();
        topics.sort();
        topics.dedup();
        let span = tracing::info_span!("sensors", broker = %format!("{}:{}", mqtt.host, mqtt.port));
        let task = input_task(
            options,
            mqtt,
            topics,
            monitors,
            sink.clone(),
            stop_rx.clone(),
        );
        tasks.push(tokio::spawn(tracing::Instrument::instrument(task, span)));
    }
    Ok((
        Some(Sensors {
            stop,
            tasks,
            counters,
        }),
        report,
    ))
}

/// Subscribes (see [`subscriptions`]), reads, evaluates; reconnects with
/// capped, jittered backoff, reset once a connection's subscriptions are
/// through.
async fn input_task(
    options: rumqttc::MqttOptions,
    mqtt: MqttConfig,
    topics: Vec<String>,
    mut monitors: Vec<SensorMonitor>,
    sink: FusedSink,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Vec<SensorMonitor> {
    let (client, mut eventloop) = AsyncClient::new(options, 64);
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut backoff = Backoff::new(BACKOFF_MIN, BACKOFF_MAX);
    let mut last_error = String::new();
    let mut subs = Subscriptions::new(topics.clone());
    let submit = |alerts: Vec<Alert>| {
        for a in alerts {
            let (id, kind) = (a.id, a.kind);
            if let Err(e) = sink.submit(a) {
                tracing::error!(%id, kind = kind.as_str(), error = %e, "sensor alert not accepted by delivery");
            }
        }
    };
    let deliver = |monitors: &mut Vec<SensorMonitor>, p: &rumqttc::Publish| {
        let now = Instant::now();
        let mut alerts = Vec::new();
        for m in monitors.iter_mut().filter(|m| m.wants(&p.topic)) {
            alerts.extend(m.on_payload(&p.payload, now));
        }
        submit(alerts);
    };
    loop {
        let polled = tokio::select! {
            biased;
            _ = stop.changed() => break,
            _ = ticker.tick() => {
                let now = Instant::now();
                submit(monitors.iter_mut().filter_map(|m| m.tick(now)).collect());
                subs.pump(&client, now);
                continue;
            }
            r = eventloop.poll() => r,
        };
        match polled {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                // Backoff and the last error are reset once the subscriptions
                // are through, not here: a connection that a too-large
                // message breaks at once must not reconnect at full speed.
                tracing::info!(topics = topics.len(), "sensor input connected; subscribing");
                subs.connected();
            }
            Ok(Event::Incoming(Packet::Publish(p))) => deliver(&mut monitors, &p),
            Ok(event) => subs.on_event(&event, Instant::now()),
            Err(e) => {
                // Messages read just before the failure still count; the
                // acknowledgements read with them belong to the dead connection.
                for event in std::mem::take(&mut eventloop.state.events) {
                    if let Event::Incoming(Packet::Publish(p)) = event {
                        deliver(&mut monitors, &p);
                    }
                }
                if let Some(size) = subscriptions::oversized(&e) {
                    subs.on_oversized(size, Instant::now());
                } else {
                    subs.disconnected();
                    let error = describe_connection_error(&e, &mqtt);
                    if error != last_error {
                        tracing::warn!(error = %error, "sensor input cannot reach its broker; retrying with backoff");
                        last_error = error;
                    }
                }
                if !back_off_or_stop(&mut backoff, &mut stop).await {
                    break;
                }
                continue;
            }
        }
        subs.pump(&client, Instant::now());
        if subs.take_settled() {
            backoff.reset();
            last_error.clear();
        }
    }
    let _ = client.try_disconnect();
    monitors
}

#[cfg(test)]
mod tests {
    use super::config::SensorRule;
    use super::*;

    fn monitor(rules: Vec<SensorRule>, stale: Option<f64>) -> SensorMonitor {
        let cfg = SensorConfig {
            name: "shed-temp".into(),
            topic: "z2m/+/shed".into(),
            broker: SensorBroker::Delivery,
            value: Some("temperature".into()),
            unit: Some("°C".into()),
            area: Some("Shed A".into()),
            camera: Some("shed".into()),
            zone: None,
            stale_after_min: stale,
            rules,
        };
        SensorMonitor::new(&cfg, "site", "gw", Instant::now())
    }

    /// Fires (major) over 60, clears under 55.
    fn over_60() -> SensorRule {
        SensorRule::Threshold {
            above: Some(60.0),
            below: None,
            hysteresis: 5.0,
            severity: Severity::Major,
        }
    }

    #[test]
    fn a_threshold_opens_and_ends_one_event_with_the_reading() {
        let mut m = monitor(vec![over_60()], None);
        assert!(m.wants("z2m/a/shed") && !m.wants("z2m/a/b/shed"));
        let now = Instant::now();
        let fired = m.on_payload(br#"{"temperature": 65}"#, now);
        assert_eq!(fired.len(), 1);
        let a = &fired[0];
        assert_eq!(
            (a.kind, a.severity, a.state),
            (AlertKind::Sensor, Severity::Major, AlertState::New)
        );
        assert_eq!(a.camera.as_deref(), Some("shed"));
        assert_eq!(a.details["sensor"], "shed-temp");
        assert_eq!(a.details["reading"]["value"], 65.0);
        assert_eq!(a.details["rule"]["type"], "threshold");
        assert!(m.on_payload(br#"{"temperature": 58}"#, now).is_empty());
        let ended = m.on_payload(br#"{"temperature": 50}"#, now);
        assert_eq!(ended[0].state, AlertState::End);
        assert_eq!(ended[0].event, a.event);
    }

    #[test]
    fn end_open_ends_each_open_incident_once() {
        let mut m = monitor(vec![over_60()], Some(1.0));
        let t0 = Instant::now();
        let fired = m.on_payload(br#"{"temperature": 65}"#, t0);
        let off = m.tick(t0 + Duration::from_secs(61)).unwrap();
        let ends = m.end_open("reload");
        let got: Vec<_> = ends.iter().map(|a| (a.kind, a.state, a.event)).collect();
        assert_eq!(
            got,
            [
                (AlertKind::Sensor, AlertState::End, fired[0].event),
                (AlertKind::SensorOffline, AlertState::End, off.event),
            ]
        );
        assert!(ends.iter().all(|a| a.details["ended_by"] == "reload"));
        assert!(m.end_open("reload").is_empty());
    }

    #[test]
    fn bad_payloads_are_counted_not_fatal() {
        let mut m = monitor(vec![], None);
        let now = Instant::now();
        for p in [&b"nope"[..], br#"{"t": 1}"#, br#"{"temperature": "hot"}"#] {
            assert!(m.on_payload(p, now).is_empty());
        }
        assert!(m.on_payload(br#"{"temperature": 20}"#, now).is_empty());
        let c = m.counters();
        assert_eq!(c.bad_payloads.load(Ordering::Relaxed), 3);
        assert_eq!(c.readings.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_quiet_sensor_goes_offline_once_and_comes_back() {
        let mut m = monitor(vec![], Some(2.0));
        let t0 = Instant::now();
        assert!(m.tick(t0 + Duration::from_secs(60)).is_none());
        let off = m.tick(t0 + Duration::from_secs(121)).unwrap();
        assert_eq!(off.kind, AlertKind::SensorOffline);
        assert_eq!(off.details["stale_after_min"], 2.0);
        assert!(m.tick(t0 + Duration::from_secs(200)).is_none());
        let back = m.on_payload(br#"{"temperature": 20}"#, t0 + Duration::from_secs(201));
        assert_eq!(back.len(), 1);
        assert_eq!(
            (back[0].kind, back[0].state, back[0].event),
            (AlertKind::SensorOffline, AlertState::End, off.event)
        );
    }
}
