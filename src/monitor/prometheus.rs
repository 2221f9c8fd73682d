//! The Prometheus text exposition format (version 0.0.4) of a [`Snapshot`].
//!
//! Every metric is named `estatewatch_*` and passes `promtool check metrics`:
//! base units only (`_seconds`), counters end in `_total`, and repeated
//! timings are Prometheus summaries without quantiles (`<name>_sum` in
//! seconds and `<name>_count`), so `rate(x_sum[5m]) / rate(x_count[5m])`
//! gives the mean over any window; the latest single time is a separate
//! `*_last_*_seconds` gauge. fps gauges are computed over the last
//! [`RATE_WINDOW`](super::RATE_WINDOW).

use super::{Snapshot, Timing};
use std::fmt::Write;

mod notifiers;

/// Writes `# HELP` and `# TYPE` lines, then one sample per `(labels, value)`.
struct Out(String);

impl Out {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{k}=\"{}\"", escape(v));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {}", number(value));
    }

    /// One metric family with one sample per item.
    fn each<T>(
        &mut self,
        items: &[T],
        name: &str,
        kind: &str,
        help: &str,
        f: impl Fn(&T) -> (Vec<(&'static str, String)>, f64),
    ) {
        self.family(name, kind, help);
        for it in items {
            let (labels, v) = f(it);
            let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
            self.sample(name, &labels, v);
        }
    }

    /// One summary family (no quantiles): `<name>_sum` in seconds and
    /// `<name>_count` per item, from its [`Timing`].
    fn summary<T>(
        &mut self,
        items: &[T],
        name: &str,
        help: &str,
        f: impl Fn(&T) -> (Vec<(&'static str, String)>, Timing),
    ) {
        self.family(name, "summary", help);
        for it in items {
            let (labels, t) = f(it);
            let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
            self.sample(&format!("{name}_sum"), &labels, t.total_ms / 1000.0);
            self.sample(&format!("{name}_count"), &labels, t.count as f64);
        }
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn number(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else if v.is_nan() {
        "NaN".into()
    } else if v > 0.0 {
        "+Inf".into()
    } else {
        "-Inf".into()
    }
}

fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// Renders `s` (and whether `/healthz` would say healthy).
pub fn render(s: &Snapshot, healthy: bool) -> String {
    let mut o = Out(String::with_capacity(4096));
    o.family("estatewatch_up", "gauge", "1 when /healthz answers 200.");
    o.sample("estatewatch_up", &[], flag(healthy));
    o.family(
        "estatewatch_uptime_seconds",
        "gauge",
        "Seconds since the daemon started.",
    );
    o.sample("estatewatch_uptime_seconds", &[], s.uptime_s as f64);

    let cams = &s.cameras;
    let cam = |c: &super::CameraSnapshot| vec![("camera", c.camera.clone())];
    o.each(
        cams,
        "estatewatch_camera_online",
        "gauge",
        "1 while the camera delivers frames.",
        |c| (cam(c), flag(c.online)),
    );
    o.each(
        cams,
        "estatewatch_camera_frames_in_total",
        "counter",
        "Frames received from the camera (after rate limiting).",
        |c| (cam(c), c.frames_in as f64),
    );
    o.each(
        cams,
        "estatewatch_camera_frames_analysed_total",
        "counter",
        "Frames the analysis worker processed.",
        |c| (cam(c), c.frames_analysed as f64),
    );
    o.each(
        cams,
        "estatewatch_camera_frames_skipped_total",
        "counter",
        "Frames replaced before analysis could take them.",
        |c| (cam(c), c.frames_skipped as f64),
    );
    o.each(
        cams,
        "estatewatch_camera_fps_in",
        "gauge",
        "Frames received per second, last 5 s.",
        |c| (cam(c), c.fps_in),
    );
    o.each(
        cams,
        "estatewatch_camera_fps_analysed",
        "gauge",
        "Frames analysed per second, last 5 s.",
        |c| (cam(c), c.fps_analysed),
    );
    o.each(
        cams,
        "estatewatch_camera_fps_skipped",
        "gauge",
        "Frames skipped per second, last 5 s.",
        |c| (cam(c), c.fps_skipped),
    );
    o.each(
        cams,
        "estatewatch_camera_reconnects_total",
        "counter",
        "Camera pipelines rebuilt after a failure.",
        |c| (cam(c), c.reconnects as f64),
    );
    o.each(
        cams,
        "estatewatch_camera_worker_tick_age_seconds",
        "gauge",
        "Seconds since the camera's analysis worker last ticked.",
        |c| (cam(c), c.worker_tick_age_ms as f64 / 1000.0),
    );

    let per_analyzer: Vec<(String, String, Timing)> = cams
        .iter()
        .flat_map(|c| {
            c.analyzer_ms
                .iter()
                .map(|(a, t)| (c.camera.clone(), a.clone(), *t))
        })
        .collect();
    let lab =
        |x: &(String, String, Timing)| vec![("camera", x.0.clone()), ("analyzer", x.1.clone())];
    o.summary(
        &per_analyzer,
        "estatewatch_analyzer_duration_seconds",
        "Time spent in each analyzer per frame, per camera.",
        |x| (lab(x), x.2),
    );
    o.each(
        &per_analyzer,
        "estatewatch_analyzer_last_duration_seconds",
        "gauge",
        "Seconds the analyzer took on its latest frame.",
        |x| (lab(x), x.2.last_ms / 1000.0),
    );

    let evid: Vec<(String, &crate::evidence::RecorderStats)> = cams
        .iter()
        .filter_map(|c| c.evidence.as_ref().map(|e| (c.camera.clone(), e)))
        .collect();
    let ecam = |x: &(String, &crate::evidence::RecorderStats)| vec![("camera", x.0.clone())];
    o.each(
        &evid,
        "estatewatch_evidence_ring_bytes",
        "gauge",
        "Bytes of the camera's encoded evidence video held in memory.",
        |x| (ecam(x), x.1.ring_bytes as f64),
    );
    o.each(
        &evid,
        "estatewatch_evidence_ring_seconds",
        "gauge",
        "Seconds of the camera's evidence video held in memory.",
        |x| (ecam(x), x.1.ring_s),
    );
    o.each(
        &evid,
        "estatewatch_evidence_stream_online",
        "gauge",
        "1 while the camera's evidence stream delivers (clips can be cut).",
        |x| (ecam(x), flag(x.1.stream_online)),
    );
    o.each(
        &evid,
        "estatewatch_evidence_clips_written_total",
        "counter",
        "Clips written and announced since the camera started.",
        |x| (ecam(x), x.1.clips_written as f64),
    );
    o.each(
        &evid,
        "estatewatch_evidence_clips_failed_total",
        "counter",
        "Clip announcements that said there is no clip (stream offline, write failure).",
        |x| (ecam(x), x.1.clips_failed as f64),
    );
    let delays: Vec<(String, f64)> = evid
        .iter()
        .filter_map(|x| x.1.last_announce_delay_s.map(|d| (x.0.clone(), d)))
        .collect();
    o.each(
        &delays,
        "estatewatch_evidence_last_announce_delay_seconds",
        "gauge",
        "Seconds from the latest clip's new alert to its announcement.",
        |x| (vec![("camera", x.0.clone())], x.1),
    );

    let tests: Vec<(String, &'static str, bool)> = cams
        .iter()
        .flat_map(|c| {
            c.selftest.iter().flat_map(|r| {
                r.kinds()
                    .into_iter()
                    .map(|(k, ok)| (c.camera.clone(), k, ok))
            })
        })
        .collect();
    o.each(
        &tests,
        "estatewatch_selftest_pass",
        "gauge",
        "1 when the camera's latest self-test passed this kind of check (view, throwing, fire, garbage), 0 when it failed.",
        |x| (vec![("camera", x.0.clone()), ("kind", x.1.to_string())], flag(x.2)),
    );
    let runs: Vec<(String, f64, f64)> = cams
        .iter()
        .filter_map(|c| {
            c.selftest.as_ref().map(|r| {
                let at = r.at.timestamp_millis() as f64 / 1000.0;
                (c.camera.clone(), at, r.cpu_ms / 1000.0)
            })
        })
        .collect();
    o.each(
        &runs,
        "estatewatch_selftest_last_run_timestamp_seconds",
        "gauge",
        "Unix time of the camera's latest self-test.",
        |x| (vec![("camera", x.0.clone())], x.1),
    );
    o.each(
        &runs,
        "estatewatch_selftest_last_cpu_seconds",
        "gauge",
        "CPU seconds the camera's latest self-test took (its own thread).",
        |x| (vec![("camera", x.0.clone())], x.2),
    );

    let models: Vec<(String, Timing)> = s.models.iter().map(|(k, v)| (k.clone(), *v)).collect();
    let m = |x: &(String, Timing)| vec![("model", x.0.clone())];
    o.summary(
        &models,
        "estatewatch_model_inference_duration_seconds",
        "Time spent in ONNX Runtime per inference, per model.",
        |x| (m(x), x.1),
    );
    o.each(
        &models,
        "estatewatch_model_inference_last_duration_seconds",
        "gauge",
        "Seconds of the latest inference, per model.",
        |x| (m(x), x.1.last_ms / 1000.0),
    );

    let inf = &s.inference;
    o.family(
        "estatewatch_inference_queue_depth",
        "gauge",
        "Jobs waiting in the shared inference worker's queue.",
    );
    o.sample(
        "estatewatch_inference_queue_depth",
        &[],
        inf.queue_depth as f64,
    );
    o.family(
        "estatewatch_inference_submitted_total",
        "counter",
        "Jobs analyzers gave the shared inference worker.",
    );
    o.sample(
        "estatewatch_inference_submitted_total",
        &[],
        inf.submitted as f64,
    );
    o.family(
        "estatewatch_inference_dropped_total",
        "counter",
        "Jobs dropped from the full inference queue without running.",
    );
    o.sample(
        "estatewatch_inference_dropped_total",
        &[],
        inf.dropped as f64,
    );
    let name = "estatewatch_inference_latency_seconds";
    o.family(
        name,
        "histogram",
        "Time of one model run (ONNX Runtime), per model.",
    );
    for (model, h) in &inf.latency {
        let mut cumulative = 0;
        for (i, bound) in super::LATENCY_BUCKETS_S.iter().enumerate() {
            cumulative += h.buckets[i];
            let le = number(*bound);
            o.sample(
                &format!("{name}_bucket"),
                &[("model", model), ("le", &le)],
                cumulative as f64,
            );
        }
        o.sample(
            &format!("{name}_bucket"),
            &[("model", model), ("le", "+Inf")],
            h.count as f64,
        );
        o.sample(&format!("{name}_sum"), &[("model", model)], h.sum_s);
        o.sample(
            &format!("{name}_count"),
            &[("model", model)],
            h.count as f64,
        );
    }

    let ob = &s.outbox;
    o.family(
        "estatewatch_alerts_submitted_total",
        "counter",
        "Alerts queued for delivery since start.",
    );
    o.sample(
        "estatewatch_alerts_submitted_total",
        &[],
        ob.submitted as f64,
    );
    o.family(
        "estatewatch_outbox_depth",
        "gauge",
        "Alerts waiting for delivery.",
    );
    o.sample("estatewatch_outbox_depth", &[], ob.depth as f64);
    o.family(
        "estatewatch_outbox_oldest_age_seconds",
        "gauge",
        "Age of the oldest waiting alert (0 when none).",
    );
    o.sample(
        "estatewatch_outbox_oldest_age_seconds",
        &[],
        ob.oldest_age_s,
    );
    o.family(
        "estatewatch_outbox_dropped_total",
        "counter",
        "Alerts dropped by the outbox caps, TTL or a full queue.",
    );
    o.sample("estatewatch_outbox_dropped_total", &[], ob.dropped as f64);
    o.family(
        "estatewatch_outbox_writable",
        "gauge",
        "1 while new alerts are committed to the outbox file.",
    );
    o.sample("estatewatch_outbox_writable", &[], flag(ob.writable));

    let mq = &s.mqtt;
    o.family(
        "estatewatch_mqtt_connected",
        "gauge",
        "1 while connected to the broker.",
    );
    o.sample("estatewatch_mqtt_connected", &[], flag(mq.connected));
    o.family(
        "estatewatch_mqtt_connects_total",
        "counter",
        "Successful broker connections.",
    );
    o.sample("estatewatch_mqtt_connects_total", &[], mq.connects as f64);
    o.family(
        "estatewatch_mqtt_sent_total",
        "counter",
        "Alerts handed to the broker (including resends).",
    );
    o.sample("estatewatch_mqtt_sent_total", &[], mq.sent as f64);
    o.family(
        "estatewatch_mqtt_delivered_total",
        "counter",
        "Alerts acknowledged by the broker.",
    );
    o.sample("estatewatch_mqtt_delivered_total", &[], mq.delivered as f64);
    o.family(
        "estatewatch_mqtt_disconnected_seconds",
        "gauge",
        "Seconds the broker link has been down (0 while connected).",
    );
    o.sample("estatewatch_mqtt_disconnected_seconds", &[], mq.down_for_s);
    o.summary(
        &[mq.publish_latency_ms],
        "estatewatch_mqtt_publish_latency_seconds",
        "Time from publishing an alert to its PUBACK.",
        |t| (Vec::new(), *t),
    );
    o.family(
        "estatewatch_mqtt_publish_last_latency_seconds",
        "gauge",
        "Seconds from publish to PUBACK of the latest alert.",
    );
    o.sample(
        "estatewatch_mqtt_publish_last_latency_seconds",
        &[],
        mq.publish_latency_ms.last_ms / 1000.0,
    );

    let sensors = &s.sensors;
    let sensor = |x: &super::SensorSnapshot| vec![("sensor", x.sensor.clone())];
    o.each(
        sensors,
        "estatewatch_sensor_readings_total",
        "counter",
        "Sensor payloads that gave a reading.",
        |x| (sensor(x), x.readings as f64),
    );
    o.each(
        sensors,
        "estatewatch_sensor_bad_payloads_total",
        "counter",
        "Sensor payloads that gave no reading (not JSON, missing path, wrong type).",
        |x| (sensor(x), x.bad_payloads as f64),
    );
    // Gauges only for sensors that have reported: no made-up zero reading.
    let reported: Vec<(&super::SensorSnapshot, f64, f64)> = sensors
        .iter()
        .filter_map(|x| Some((x, x.value?, x.last_reading_age_s?)))
        .collect();
    o.each(
        &reported,
        "estatewatch_sensor_value",
        "gauge",
        "The sensor's latest reading, in its configured unit.",
        |(x, v, _)| (sensor(x), *v),
    );
    o.each(
        &reported,
        "estatewatch_sensor_last_reading_age_seconds",
        "gauge",
        "Seconds since the sensor's latest reading.",
        |(x, _, age)| (sensor(x), *age),
    );
    if let Some(d) = &s.desk {
        desk(&mut o, d);
    }
    if let Some(ev) = &s.evidence {
        evidence(&mut o, ev);
    }
    if !s.notifiers.is_empty() {
        notifiers::render(&mut o, &s.notifiers);
    }
    o.0
}

/// The `estatewatch_desk_*` families: response times as histograms, false
/// alarms, open incidents, escalations, refused platform commands, rows
/// removed by retention.
fn desk(o: &mut Out, d: &crate::desk::DeskFigures) {
    use crate::desk::metrics::{Series, BUCKETS_S};
    let histogram = |o: &mut Out, name: &str, help: &str, series: &[Series]| {
        o.family(name, "histogram", help);
        for s in series {
            let h = &s.histogram;
            let base = [("kind", s.kind.as_str()), ("camera", s.camera.as_str())];
            for (i, le) in BUCKETS_S.iter().enumerate() {
                let n = h.buckets.get(i).copied().unwrap_or(0);
                let le = number(*le);
                let labels = [base[0], base[1], ("le", le.as_str())];
                o.sample(&format!("{name}_bucket"), &labels, n as f64);
            }
            let inf = [base[0], base[1], ("le", "+Inf")];
            o.sample(&format!("{name}_bucket"), &inf, h.count as f64);
            o.sample(&format!("{name}_sum"), &base, h.sum_s);
            o.sample(&format!("{name}_count"), &base, h.count as f64);
        }
    };
    histogram(
        o,
        "estatewatch_desk_time_to_acknowledge_seconds",
        "Time from an incident's first alert to its acknowledgement.",
        &d.time_to_acknowledge,
    );
    histogram(
        o,
        "estatewatch_desk_time_to_resolve_seconds",
        "Time from an incident's first alert to its resolution (handled or false alarm).",
        &d.time_to_resolve,
    );
    o.each(
        &d.false_alarms,
        "estatewatch_desk_false_alarms_total",
        "counter",
        "Incidents resolved as false alarms, per camera and analyzer.",
        |f| {
            (
                vec![
                    ("camera", f.camera.clone()),
                    ("analyzer", f.analyzer.clone()),
                ],
                f.count as f64,
            )
        },
    );
    let open: Vec<(&String, &u64)> = d.open.iter().collect();
    o.each(
        &open,
        "estatewatch_desk_open_incidents",
        "gauge",
        "Incidents open or acknowledged, not yet resolved, per kind.",
        |(k, n)| (vec![("kind", (*k).clone())], **n as f64),
    );
    let esc: Vec<(&String, &u64)> = d.escalations.iter().collect();
    o.each(
        &esc,
        "estatewatch_desk_escalations_total",
        "counter",
        "Critical incidents escalated for want of an acknowledgement, per kind.",
        |(k, n)| (vec![("kind", (*k).clone())], **n as f64),
    );
    o.family(
        "estatewatch_desk_commands_refused_total",
        "counter",
        "Platform commands refused (bad topic, payload or step).",
    );
    o.sample(
        "estatewatch_desk_commands_refused_total",
        &[],
        d.commands_refused as f64,
    );
    o.family(
        "estatewatch_desk_retention_removed_total",
        "counter",
        "Rows of resolved incidents removed from the desk file past [desk] retention_days, since start.",
    );
    for (table, n) in [
        ("incidents", d.retention_removed_incidents),
        ("handling", d.retention_removed_handling),
    ] {
        o.sample(
            "estatewatch_desk_retention_removed_total",
            &[("table", table)],
            n as f64,
        );
    }
}

/// The `estatewatch_evidence_*` families.
fn evidence(o: &mut Out, ev: &crate::evidence::store::EvidenceStats) {
    o.family(
        "estatewatch_evidence_bytes",
        "gauge",
        "Bytes in the evidence folder's event folders.",
    );
    o.sample("estatewatch_evidence_bytes", &[], ev.bytes as f64);
    o.family(
        "estatewatch_evidence_events",
        "gauge",
        "Event folders in the evidence folder.",
    );
    o.sample("estatewatch_evidence_events", &[], ev.events as f64);
    o.family(
        "estatewatch_evidence_oldest_age_seconds",
        "gauge",
        "Age of the oldest event folder's latest write (0 when none).",
    );
    o.sample(
        "estatewatch_evidence_oldest_age_seconds",
        &[],
        ev.oldest_age_s,
    );
    let evictions: Vec<(&String, &u64)> = ev.evictions.iter().collect();
    o.each(
        &evictions,
        "estatewatch_evidence_evictions_total",
        "counter",
        "Event folders removed, by reason (retention, cap, disk_free).",
        |(r, n)| (vec![("reason", r.to_string())], **n as f64),
    );
    o.family(
        "estatewatch_evidence_write_failures_total",
        "counter",
        "Evidence files that could not be written (full disk, unwritable folder).",
    );
    o.sample(
        "estatewatch_evidence_write_failures_total",
        &[],
        ev.write_failures as f64,
    );
    o.family(
        "estatewatch_evidence_writable",
        "gauge",
        "0 after a failed evidence write, until one succeeds.",
    );
    o.sample("estatewatch_evidence_writable", &[], flag(ev.writable));
    if let Some(free) = ev.free_bytes {
        o.family(
            "estatewatch_evidence_free_bytes",
            "gauge",
            "Free bytes on the evidence folder's filesystem at the last sweep.",
        );
        o.sample("estatewatch_evidence_free_bytes", &[], free as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_numbers_are_prometheus_numbers() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(number(1.5), "1.5");
        assert_eq!(number(3.0), "3");
        assert_eq!(number(f64::INFINITY), "+Inf");
    }

    #[test]
    fn inference_latency_is_a_cumulative_histogram_per_model() {
        let mut snap = super::super::tests::quiet_snapshot();
        let mut h = super::super::Histogram::default();
        for ms in [3, 30, 30, 9000] {
            h.record(std::time::Duration::from_millis(ms));
        }
        snap.inference.latency.insert("nanodet-g-coco".into(), h);
        snap.inference.dropped = 2;
        let text = render(&snap, true);
        let name = "estatewatch_inference_latency_seconds";
        for line in [
            format!("# TYPE {name} histogram"),
            format!("{name}_bucket{{model=\"nanodet-g-coco\",le=\"0.005\"}} 1"),
            format!("{name}_bucket{{model=\"nanodet-g-coco\",le=\"0.025\"}} 1"),
            format!("{name}_bucket{{model=\"nanodet-g-coco\",le=\"0.05\"}} 3"),
            format!("{name}_bucket{{model=\"nanodet-g-coco\",le=\"5\"}} 3"),
            format!("{name}_bucket{{model=\"nanodet-g-coco\",le=\"+Inf\"}} 4"),
            format!("{name}_count{{model=\"nanodet-g-coco\"}} 4"),
            "estatewatch_inference_dropped_total 2".to_string(),
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in:\n{text}");
        }
    }

    #[test]
    fn timings_are_summaries_in_seconds() {
        let mut snap = super::super::tests::quiet_snapshot();
        let mut t = Timing::default();
        t.record(std::time::Duration::from_millis(250));
        t.record(std::time::Duration::from_millis(750));
        snap.models.insert("nanodet-g-coco".into(), t);
        snap.mqtt.publish_latency_ms = t;
        let text = render(&snap, true);
        for line in [
            "# TYPE estatewatch_model_inference_duration_seconds summary",
            "estatewatch_model_inference_duration_seconds_sum{model=\"nanodet-g-coco\"} 1",
            "estatewatch_model_inference_duration_seconds_count{model=\"nanodet-g-coco\"} 2",
            "estatewatch_model_inference_last_duration_seconds{model=\"nanodet-g-coco\"} 0.75",
            "estatewatch_mqtt_publish_latency_seconds_sum 1",
            "estatewatch_mqtt_publish_latency_seconds_count 2",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in:\n{text}");
        }
        assert!(!text.contains("_ms"), "{text}");
    }

    #[test]
    fn sensors_get_counters_and_only_reported_ones_a_value() {
        use crate::sensors::SensorCounters;
        use std::sync::atomic::Ordering;
        let quiet = SensorCounters::default();
        quiet.bad_payloads.fetch_add(2, Ordering::Relaxed);
        let s = super::super::SensorSnapshot::of("shed-temp", &quiet);
        assert_eq!((s.value, s.last_reading_age_s), (None, None));
        let snap = super::super::Snapshot {
            sensors: vec![
                s,
                super::super::SensorSnapshot {
                    sensor: "smoke-1".into(),
                    readings: 3,
                    bad_payloads: 0,
                    value: Some(41.5),
                    last_reading_age_s: Some(2.0),
                },
            ],
            ..super::super::tests::quiet_snapshot()
        };
        let text = render(&snap, true);
        assert!(
            text.contains("estatewatch_sensor_bad_payloads_total{sensor=\"shed-temp\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("estatewatch_sensor_readings_total{sensor=\"smoke-1\"} 3"),
            "{text}"
        );
        assert!(
            text.contains("estatewatch_sensor_value{sensor=\"smoke-1\"} 41.5"),
            "{text}"
        );
        assert!(
            !text.contains("estatewatch_sensor_value{sensor=\"shed-temp\"}"),
            "{text}"
        );
    }

    #[test]
    fn selftest_results_give_one_pass_gauge_per_kind_and_the_run_time() {
        use super::super::selftest::{SelftestCheck, SelftestResult};
        let check = |name, kind, passed| SelftestCheck {
            name,
            kind,
            passed,
            value: Some(0.1),
            threshold: Some(0.45),
            note: None,
        };
        let mut gate = super::super::tests::cam("gate", 10, 0);
        gate.selftest = Some(SelftestResult {
            at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            passed: false,
            checks: vec![
                check("brightness", "view", true),
                check("similarity", "view", false),
                check("throwing", "throwing", true),
            ],
            reference: "compared",
            frames: 30,
            cpu_ms: 450.0,
        });
        let never = super::super::tests::cam("never", 10, 0);
        let snap = super::super::Snapshot {
            cameras: vec![gate, never],
            ..super::super::tests::quiet_snapshot()
        };
        let text = render(&snap, true);
        for line in [
            "estatewatch_selftest_pass{camera=\"gate\",kind=\"view\"} 0",
            "estatewatch_selftest_pass{camera=\"gate\",kind=\"throwing\"} 1",
            "estatewatch_selftest_last_run_timestamp_seconds{camera=\"gate\"} 1700000000",
            "estatewatch_selftest_last_cpu_seconds{camera=\"gate\"} 0.45",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in:\n{text}");
        }
        assert!(!text.contains("camera=\"never\",kind"), "{text}");
    }

    #[test]
    fn each_camera_with_evidence_gets_its_ring_stream_and_clip_figures() {
        let mut gate = super::super::tests::cam("gate", 10, 0);
        gate.evidence = Some(crate::evidence::RecorderStats {
            ring_bytes: 4096,
            ring_s: 8.5,
            stream_online: false,
            clips_written: 3,
            clips_failed: 2,
            last_announce_delay_s: Some(12.25),
        });
        let mut fresh = super::super::tests::cam("fresh", 10, 0);
        fresh.evidence = Some(crate::evidence::RecorderStats {
            ring_bytes: 0,
            ring_s: 0.0,
            stream_online: true,
            clips_written: 0,
            clips_failed: 0,
            last_announce_delay_s: None,
        });
        let none = super::super::tests::cam("none", 10, 0);
        let snap = super::super::Snapshot {
            cameras: vec![gate, fresh, none],
            ..super::super::tests::quiet_snapshot()
        };
        let text = render(&snap, true);
        for line in [
            "estatewatch_evidence_ring_bytes{camera=\"gate\"} 4096",
            "estatewatch_evidence_ring_seconds{camera=\"gate\"} 8.5",
            "estatewatch_evidence_stream_online{camera=\"gate\"} 0",
            "estatewatch_evidence_stream_online{camera=\"fresh\"} 1",
            "estatewatch_evidence_clips_written_total{camera=\"gate\"} 3",
            "estatewatch_evidence_clips_failed_total{camera=\"gate\"} 2",
            "estatewatch_evidence_last_announce_delay_seconds{camera=\"gate\"} 12.25",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in:\n{text}");
        }
        assert!(!text.contains("delay_seconds{camera=\"fresh\"}"), "{text}");
        assert!(
            !text
                .lines()
                .any(|l| l.starts_with("estatewatch_evidence_") && l.contains("camera=\"none\"")),
            "a camera without evidence has no evidence figures: {text}"
        );
    }
}
