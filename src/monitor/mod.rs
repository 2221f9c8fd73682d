//! How the daemon is doing, for people and machines: the counters that are
//! not already kept elsewhere (analysis and model timings), one
//! [`Snapshot`] that gathers every counter of the running daemon, the
//! `/healthz` verdict, the Prometheus text ([`prometheus`]) and the retained
//! JSON on `<prefix>/<gateway>/stats`. The HTTP server that answers
//! `/healthz` and `/metrics` is the console's (`crate::console`).
//!
//! Counters come from where they already live: frames in and reconnects from
//! each camera's [`CameraHandle`](crate::ingest::supervisor::CameraHandle),
//! skipped frames from its [`FrameSlot`](crate::ingest::FrameSlot), outbox
//! and MQTT figures from [`Delivery::status`](crate::delivery::Delivery::status).
//! Rates (fps) are computed by [`Rates`] between two samples
//! [`RATE_WINDOW`] apart. The `[health]` section of the config file, which
//! sets the endpoint and the stats interval, is in [`config`]. The evidence
//! folder's figures come from [`crate::evidence::store`].

pub mod config;
pub mod prometheus;
pub mod selftest;

use crate::base::lock;
pub use crate::base::Timing;
use crate::delivery::DeliveryStatus;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The `schema` field of the stats JSON.
pub const STATS_SCHEMA: &str = "estatewatch.stats.v1";

/// How far apart the two samples that give a rate are.
pub const RATE_WINDOW: Duration = Duration::from_secs(5);

/// Named timings, shared between the thread that records and the reader.
#[derive(Debug, Default)]
pub struct TimingSet(Mutex<BTreeMap<String, Timing>>);

impl TimingSet {
    pub fn record(&self, name: &str, d: Duration) {
        let mut m = lock(&self.0);
        match m.get_mut(name) {
            Some(t) => t.record(d),
            None => {
                let mut t = Timing::default();
                t.record(d);
                m.insert(name.to_string(), t);
            }
        }
    }

    pub fn snapshot(&self) -> BTreeMap<String, Timing> {
        lock(&self.0).clone()
    }
}

/// Inference time per model name, recorded by every model run in the process.
pub fn model_timings() -> &'static TimingSet {
    static MODELS: OnceLock<TimingSet> = OnceLock::new();
    MODELS.get_or_init(TimingSet::default)
}

/// Upper bounds (seconds) of the inference latency histogram's buckets.
pub const LATENCY_BUCKETS_S: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// A latency histogram: counts per bucket of [`LATENCY_BUCKETS_S`] (not
/// cumulative; the last slot counts what is above every bound), sum and count.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Histogram {
    pub buckets: [u64; LATENCY_BUCKETS_S.len() + 1],
    pub sum_s: f64,
    pub count: u64,
}

impl Histogram {
    pub fn record(&mut self, d: Duration) {
        let s = d.as_secs_f64();
        let i = LATENCY_BUCKETS_S
            .iter()
            .position(|&b| s <= b)
            .unwrap_or(LATENCY_BUCKETS_S.len());
        self.buckets[i] += 1;
        self.sum_s += s;
        self.count += 1;
    }
}

/// What the shared inference worker
/// ([`analysis::detector::worker`](crate::analysis::detector::worker)) counts.
#[derive(Debug, Default)]
pub struct InferenceStats {
    depth: std::sync::atomic::AtomicU64,
    submitted: std::sync::atomic::AtomicU64,
    dropped: std::sync::atomic::AtomicU64,
    latency: Mutex<BTreeMap<String, Histogram>>,
}

/// The inference worker's figures at one instant.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct InferenceSnapshot {
    /// Jobs waiting in the queue.
    pub queue_depth: u64,
    pub submitted: u64,
    /// Jobs dropped from a full queue without running.
    pub dropped: u64,
    /// Time of each inference (one model run), per model.
    pub latency: BTreeMap<String, Histogram>,
}

impl InferenceStats {
    pub fn set_depth(&self, depth: u64) {
        self.depth
            .store(depth, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn submitted(&self) {
        self.submitted
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn dropped(&self) {
        self.dropped
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Records one run of `model`.
    pub fn inference(&self, model: &str, d: Duration) {
        let mut m = lock(&self.latency);
        match m.get_mut(model) {
            Some(h) => h.record(d),
            None => {
                let mut h = Histogram::default();
                h.record(d);
                m.insert(model.to_string(), h);
            }
        }
    }

    pub fn snapshot(&self) -> InferenceSnapshot {
        use std::sync::atomic::Ordering::Relaxed;
        InferenceSnapshot {
            queue_depth: self.depth.load(Relaxed),
            submitted: self.submitted.load(Relaxed),
            dropped: self.dropped.load(Relaxed),
            latency: lock(&self.latency).clone(),
        }
    }
}

/// The process's inference worker figures.
pub fn inference_stats() -> &'static InferenceStats {
    static STATS: OnceLock<InferenceStats> = OnceLock::new();
    STATS.get_or_init(InferenceStats::default)
}

/// What a camera's analysis worker counts.
#[derive(Debug, Default)]
pub struct AnalysisStats {
    /// Frames analysed.
    frames: std::sync::atomic::AtomicU64,
    /// Time spent per analyzer (its `name()`).
    pub analyzers: TimingSet,
}

impl AnalysisStats {
    pub fn frame_done(&self) {
        self.frames
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn frames(&self) -> u64 {
        self.frames.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// One camera's figures.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CameraSnapshot {
    pub camera: String,
    pub online: bool,
    pub frames_in: u64,
    pub frames_analysed: u64,
    pub frames_skipped: u64,
    pub reconnects: u64,
    /// Rates over the last [`RATE_WINDOW`] (0 until two samples exist).
    pub fps_in: f64,
    pub fps_analysed: f64,
    pub fps_skipped: f64,
    /// Milliseconds since the worker's last tick.
    pub worker_tick_age_ms: u64,
    /// Time per analyzer.
    pub analyzer_ms: BTreeMap<String, Timing>,
    /// The latest self-test (`null` before the first, or when the camera
    /// has none).
    pub selftest: Option<selftest::SelftestResult>,
    /// Its evidence recorder's figures (ring, evidence stream, clips), with
    /// `[cameras.evidence]`; `null` without.
    pub evidence: Option<crate::evidence::RecorderStats>,
    /// Why the camera last went offline (the stream's error), `None` when
    /// it has not since start. Shown on the console's camera page; not in
    /// the stats JSON.
    #[serde(skip)]
    pub last_outage: Option<String>,
    /// The camera's `display_name` from the config, for the camera page;
    /// not in the stats JSON.
    #[serde(skip)]
    pub display_name: Option<String>,
    /// Its analyzers' zones as `(name, display_name)`, in config order, for
    /// the camera page; not in the stats JSON.
    #[serde(skip)]
    pub zones: Vec<(String, Option<String>)>,
}

/// The outbox figures.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OutboxSnapshot {
    /// Alerts accepted from analysis and camera events since start.
    pub submitted: u64,
    /// Alerts waiting for delivery (file and memory).
    pub depth: u64,
    /// Age of the oldest waiting alert, seconds (0 when empty).
    pub oldest_age_s: f64,
    /// Alerts dropped by the caps, the TTL or a full queue, ever (persistent
    /// counters plus this run's uncommitted ones).
    pub dropped: u64,
    /// New alerts are committed to the file.
    pub writable: bool,
    pub problem: Option<String>,
}

/// The MQTT link figures.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MqttSnapshot {
    pub connected: bool,
    pub connects: u64,
    pub sent: u64,
    pub delivered: u64,
    /// Time from handing an alert to the client to its PUBACK.
    pub publish_latency_ms: Timing,
    /// Seconds the link has been down, 0 while connected (see [`LinkWatch`]).
    /// Not in the stats JSON: that is only published while connected.
    #[serde(skip)]
    pub down_for_s: f64,
    /// Failed connection attempts and lost connections since start (the
    /// console's notifications page; not in the stats JSON).
    #[serde(skip)]
    pub failures: u64,
    /// Why the last connection attempt or connection failed (the console;
    /// not in the stats JSON).
    #[serde(skip)]
    pub broker_error: Option<String>,
    /// When the broker last acknowledged an alert, RFC 3339 UTC (the
    /// console; not in the stats JSON).
    #[serde(skip)]
    pub last_delivered: Option<String>,
}

/// One sensor input's figures.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SensorSnapshot {
    pub sensor: String,
    /// Payloads that gave a reading, since start.
    pub readings: u64,
    /// Payloads that did not (not JSON, missing path, wrong type), since start.
    pub bad_payloads: u64,
    /// The latest reading, `null` before the first.
    pub value: Option<f64>,
    /// Seconds since the latest reading, `null` before the first.
    pub last_reading_age_s: Option<f64>,
}

impl SensorSnapshot {
    /// The figures of one sensor's counters now.
    pub fn of(sensor: &str, c: &crate::sensors::SensorCounters) -> SensorSnapshot {
        use std::sync::atomic::Ordering::Relaxed;
        let last = c.last();
        SensorSnapshot {
            sensor: sensor.to_string(),
            readings: c.readings.load(Relaxed),
            bad_payloads: c.bad_payloads.load(Relaxed),
            value: last.map(|(v, _)| v),
            last_reading_age_s: last.map(|(_, age)| age.as_secs_f64()),
        }
    }
}

/// Everything at one instant: the JSON of the stats topic.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Snapshot {
    /// Always [`STATS_SCHEMA`].
    pub schema: &'static str,
    pub site: String,
    pub gateway: String,
    /// When the figures were taken; RFC 3339 UTC with milliseconds, like
    /// every other timestamp estatewatch publishes.
    #[serde(serialize_with = "rfc3339_ms")]
    pub at: chrono::DateTime<chrono::Utc>,
    pub uptime_s: u64,
    pub cameras: Vec<CameraSnapshot>,
    /// Inference time per model.
    pub models: BTreeMap<String, Timing>,
    /// The shared inference worker: queue, drops, latency per model.
    pub inference: InferenceSnapshot,
    pub outbox: OutboxSnapshot,
    pub mqtt: MqttSnapshot,
    /// One entry per `[[sensors]]` input (empty without sensors).
    pub sensors: Vec<SensorSnapshot>,
    /// The evidence folder (size, evictions, write failures); absent when
    /// the daemon keeps no evidence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<crate::evidence::store::EvidenceStats>,
    /// The incident desk's figures (response times, false alarms, open
    /// incidents); on `/metrics` only, not in the stats topic. Absent
    /// without a desk.
    #[serde(skip)]
    pub desk: Option<crate::desk::DeskFigures>,
    /// One entry per `[[notifiers]]` entry: backlog, failures, last
    /// success (`docs/notifications.md`); absent without notifiers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notifiers: Vec<crate::delivery::notify::sender::NotifierStatus>,
    /// One entry per `[[profiles]]` entry: messages mapped, failures
    /// (the console's notifications page; not in the stats JSON).
    #[serde(skip)]
    pub profiles: Vec<crate::delivery::profile::ProfileStatus>,
}

pub(crate) fn rfc3339_ms<S: serde::Serializer>(
    t: &chrono::DateTime<chrono::Utc>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

impl Snapshot {
    /// Fills the outbox and MQTT parts from delivery's status.
    pub fn delivery_parts(d: &DeliveryStatus) -> (OutboxSnapshot, MqttSnapshot) {
        (
            OutboxSnapshot {
                submitted: d.submitted,
                depth: d.depth,
                oldest_age_s: d.oldest_age_s,
                dropped: d.dropped,
                writable: d.outbox.durable,
                problem: d.outbox.problem.clone(),
            },
            MqttSnapshot {
                connected: d.link.connected,
                connects: d.link.connects,
                sent: d.link.sent,
                delivered: d.link.delivered,
                publish_latency_ms: d.link.publish_latency_ms,
                down_for_s: 0.0,
                failures: d.link.failures,
                broker_error: d.link.broker_error.clone(),
                last_delivered: d.link.last_delivered.clone(),
            },
        )
    }
}

/// How long the broker link has been down: remembers when it was last seen
/// connected (or when the watch started, if never). Fed by every snapshot,
/// which the daemon takes at least every [`RATE_WINDOW`].
#[derive(Debug)]
pub struct LinkWatch(Mutex<Instant>);

impl LinkWatch {
    /// A watch that counts the link as down since `start`.
    pub fn new(start: Instant) -> LinkWatch {
        LinkWatch(Mutex::new(start))
    }

    /// Records the link state seen at `now`; returns how long it has been down.
    pub fn observe(&self, connected: bool, now: Instant) -> Duration {
        let mut up_at = lock(&self.0);
        if connected {
            *up_at = now;
            Duration::ZERO
        } else {
            now.saturating_duration_since(*up_at)
        }
    }
}

/// The raw counters of one camera at one instant, for a rate.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    frames_in: u64,
    analysed: u64,
    skipped: u64,
}

/// Turns counters into per-second rates: keeps the last two samples at
/// least [`RATE_WINDOW`] apart.
#[derive(Debug, Default)]
pub struct Rates {
    /// The older and the newer sample.
    samples: Vec<(Instant, BTreeMap<String, Counts>)>,
    /// Rates between them.
    rates: BTreeMap<String, (f64, f64, f64)>,
}

impl Rates {
    /// Records `cameras`' counters at `now` (ignored when the newest sample is
    /// less than [`RATE_WINDOW`] old) and fills their `fps_*` fields.
    pub fn update(&mut self, now: Instant, cameras: &mut [CameraSnapshot]) {
        let due = self
            .samples
            .last()
            .is_none_or(|(t, _)| now.duration_since(*t) >= RATE_WINDOW);
        if due {
            let counts: BTreeMap<String, Counts> = cameras
                .iter()
                .map(|c| {
                    (
                        c.camera.clone(),
                        Counts {
                            frames_in: c.frames_in,
                            analysed: c.frames_analysed,
                            skipped: c.frames_skipped,
                        },
                    )
                })
                .collect();
            if let Some((t0, old)) = self.samples.last() {
                let secs = now.duration_since(*t0).as_secs_f64().max(1e-3);
                let rate = |a: u64, b: u64| a.saturating_sub(b) as f64 / secs;
                self.rates = counts
                    .iter()
                    .filter_map(|(name, n)| {
                        let o = old.get(name)?;
                        Some((
                            name.clone(),
                            (
                                rate(n.frames_in, o.frames_in),
                                rate(n.analysed, o.analysed),
                                rate(n.skipped, o.skipped),
                            ),
                        ))
                    })
                    .collect();
            }
            self.samples = vec![(now, counts)];
        }
        for c in cameras.iter_mut() {
            if let Some(&(fin, fa, fs)) = self.rates.get(&c.camera) {
                c.fps_in = fin;
                c.fps_analysed = fa;
                c.fps_skipped = fs;
            }
        }
    }
}

/// The `/healthz` verdict.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Verdict {
    pub healthy: bool,
    /// Why not, one sentence per problem (empty when healthy).
    pub problems: Vec<String>,
}

/// What the verdict holds the figures against (from `[health]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// An analysis worker silent longer than this is hung.
    pub hung_after: Duration,
    /// The broker link down longer than this is a problem; `None`: never.
    pub broker_down_after: Option<Duration>,
}

impl Limits {
    /// The limits `[health]` sets.
    pub fn of(cfg: &config::HealthConfig) -> Limits {
        Limits {
            hung_after: Duration::from_secs(cfg.hung_after_s),
            broker_down_after: (cfg.broker_down_after_s > 0)
                .then(|| Duration::from_secs(cfg.broker_down_after_s)),
        }
    }
}

/// Healthy when at least one camera runs, every camera's worker ticked
/// within `hung_after`, the broker link has not been down longer than
/// `broker_down_after`, and the outbox file takes new alerts.
pub fn verdict(s: &Snapshot, limits: &Limits) -> Verdict {
    let mut problems = Vec::new();
    if s.cameras.is_empty() {
        problems.push(
            "no cameras configured: the config has no enabled [[cameras]] table, so nothing is watched"
                .to_string(),
        );
    }
    let max = limits.hung_after.as_millis() as u64;
    for c in &s.cameras {
        if c.worker_tick_age_ms > max {
            problems.push(format!(
                "camera {}: analysis worker has not ticked for {} ms (limit {} ms)",
                c.camera, c.worker_tick_age_ms, max
            ));
        }
    }
    if let Some(limit) = limits.broker_down_after {
        if !s.mqtt.connected && s.mqtt.down_for_s > limit.as_secs_f64() {
            problems.push(format!(
                "MQTT broker unreachable for {:.0} s (limit {} s); alerts wait in the outbox",
                s.mqtt.down_for_s,
                limit.as_secs()
            ));
        }
    }
    if !s.outbox.writable {
        problems.push(format!(
            "outbox is not writable: {}",
            s.outbox
                .problem
                .as_deref()
                .unwrap_or("alerts are held in memory")
        ));
    }
    Verdict {
        healthy: problems.is_empty(),
        problems,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn cam(name: &str, frames: u64, age: u64) -> CameraSnapshot {
        CameraSnapshot {
            camera: name.into(),
            online: true,
            frames_in: frames,
            frames_analysed: frames / 2,
            frames_skipped: frames / 4,
            reconnects: 0,
            fps_in: 0.0,
            fps_analysed: 0.0,
            fps_skipped: 0.0,
            worker_tick_age_ms: age,
            analyzer_ms: BTreeMap::new(),
            selftest: None,
            evidence: None,
            last_outage: None,
            display_name: None,
            zones: Vec::new(),
        }
    }

    /// A snapshot of a gateway with no camera or sensor, everything healthy.
    pub(crate) fn quiet_snapshot() -> Snapshot {
        Snapshot {
            schema: STATS_SCHEMA,
            site: "s".into(),
            gateway: "g".into(),
            at: chrono::Utc::now(),
            uptime_s: 1,
            cameras: Vec::new(),
            models: BTreeMap::new(),
            inference: InferenceSnapshot::default(),
            outbox: OutboxSnapshot {
                submitted: 0,
                depth: 0,
                oldest_age_s: 0.0,
                dropped: 0,
                writable: true,
                problem: None,
            },
            mqtt: MqttSnapshot {
                connected: true,
                connects: 1,
                sent: 0,
                delivered: 0,
                publish_latency_ms: Timing::default(),
                down_for_s: 0.0,
                failures: 0,
                broker_error: None,
                last_delivered: None,
            },
            sensors: Vec::new(),
            evidence: None,
            desk: None,
            notifiers: Vec::new(),
            profiles: Vec::new(),
        }
    }

    const LIMITS: Limits = Limits {
        hung_after: Duration::from_secs(15),
        broker_down_after: Some(Duration::from_secs(60)),
    };

    #[test]
    fn rates_come_from_samples_a_window_apart() {
        let mut r = Rates::default();
        let t0 = Instant::now();
        let mut cams = vec![cam("gate", 0, 0)];
        r.update(t0, &mut cams);
        assert_eq!(cams[0].fps_in, 0.0);
        // Too soon: no new sample, still no rate.
        let mut cams = vec![cam("gate", 10, 0)];
        r.update(t0 + Duration::from_secs(1), &mut cams);
        assert_eq!(cams[0].fps_in, 0.0);
        let mut cams = vec![cam("gate", 100, 0)];
        r.update(t0 + Duration::from_secs(10), &mut cams);
        assert!((cams[0].fps_in - 10.0).abs() < 1e-9, "{}", cams[0].fps_in);
        assert!((cams[0].fps_analysed - 5.0).abs() < 1e-9);
        assert!((cams[0].fps_skipped - 2.5).abs() < 1e-9);
    }

    #[test]
    fn verdict_names_the_hung_camera_and_the_outbox() {
        let mut s = Snapshot {
            cameras: vec![cam("gate", 1, 100), cam("shed", 1, 20_000)],
            ..quiet_snapshot()
        };
        let v = verdict(&s, &LIMITS);
        assert!(!v.healthy);
        assert_eq!(v.problems.len(), 1);
        assert!(v.problems[0].contains("shed"), "{:?}", v.problems);
        s.cameras.pop();
        assert!(verdict(&s, &LIMITS).healthy);
        s.outbox.writable = false;
        s.outbox.problem = Some("disk full".into());
        let v = verdict(&s, &LIMITS);
        assert!(!v.healthy && v.problems[0].contains("disk full"));
    }

    #[test]
    fn verdict_is_unhealthy_without_cameras() {
        let v = verdict(&quiet_snapshot(), &LIMITS);
        assert!(!v.healthy);
        assert!(v.problems[0].contains("no cameras configured"), "{v:?}");
    }

    #[test]
    fn verdict_counts_the_broker_down_only_past_the_limit() {
        let mut s = Snapshot {
            cameras: vec![cam("gate", 1, 100)],
            ..quiet_snapshot()
        };
        s.mqtt.connected = false;
        s.mqtt.down_for_s = 59.0;
        assert!(verdict(&s, &LIMITS).healthy);
        s.mqtt.down_for_s = 61.0;
        let v = verdict(&s, &LIMITS);
        assert!(!v.healthy && v.problems[0].contains("MQTT broker unreachable for 61 s"));
        let off = Limits {
            broker_down_after: None,
            ..LIMITS
        };
        assert!(verdict(&s, &off).healthy);
    }

    #[test]
    fn link_watch_counts_from_the_last_time_the_link_was_up() {
        let t0 = Instant::now();
        let w = LinkWatch::new(t0);
        // Never connected: down since the start.
        assert_eq!(
            w.observe(false, t0 + Duration::from_secs(3)),
            Duration::from_secs(3)
        );
        assert_eq!(
            w.observe(true, t0 + Duration::from_secs(10)),
            Duration::ZERO
        );
        assert_eq!(
            w.observe(false, t0 + Duration::from_secs(25)),
            Duration::from_secs(15)
        );
    }
}
