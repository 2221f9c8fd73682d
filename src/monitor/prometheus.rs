//! The Prometheus text exposition format (version 0.0.4) of a [`Snapshot`].
//!
//! Every metric is named `estatewatch_*` and passes `promtool check metrics`:
//! base units only (`_seconds`), counters end in `_total`, and repeated
//! timings are Prometheus summaries without quantiles (`<name>_sum` in
//! seconds and `<name>_count`), so `rate(x_sum[5m]) / rate(x_count[5m])`
//! gives the mean over any window; the latest single time is a separate
//! `*_last_*_seconds` gauge. fps gauges are computed over the last
//! [`RATE_WINDOW`](super::RATE_WINDOW).
//!
//! One room per group of families, rendered in this order: `cameras.rs`
//! (cameras, analyzers), `evidence.rs` (recorders), `cameras.rs`
//! (self-tests), `inference.rs`, `delivery.rs` (outbox, MQTT), `sensors.rs`,
//! `desk.rs`, `evidence.rs` (the folder), `notifiers.rs`; `out.rs` writes
//! the text format.

use super::Snapshot;
#[cfg(test)]
use super::Timing;

mod cameras;
mod delivery;
mod desk;
mod evidence;
mod inference;
mod notifiers;
mod out;
mod sensors;

use out::{flag, Out};

/// Renders `s` (and whether `/healthz` would say healthy).
pub fn render(s: &Snapshot, healthy: bool) -> String {
    let mut o = Out(String::with_capacity(4096));
    o.single(
        "estatewatch_up",
        "gauge",
        "1 when /healthz answers 200.",
        flag(healthy),
    );
    o.single(
        "estatewatch_uptime_seconds",
        "gauge",
        "Seconds since the daemon started.",
        s.uptime_s as f64,
    );
    cameras::render(&mut o, &s.cameras);
    evidence::recorders(&mut o, &s.cameras);
    cameras::selftest(&mut o, &s.cameras);
    inference::render(&mut o, s);
    delivery::render(&mut o, s);
    sensors::render(&mut o, &s.sensors);
    if let Some(d) = &s.desk {
        desk::render(&mut o, d);
    }
    if let Some(ev) = &s.evidence {
        evidence::store(&mut o, ev);
    }
    if !s.notifiers.is_empty() {
        notifiers::render(&mut o, &s.notifiers);
    }
    o.0
}

#[cfg(test)]
mod tests {
    use super::*;

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
