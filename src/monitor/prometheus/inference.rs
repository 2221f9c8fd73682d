//! The model families: `estatewatch_model_inference_*` (time in ONNX
//! Runtime per model) and `estatewatch_inference_*` (the shared inference
//! worker's queue, drops and latency histogram).

use super::out::{number, Out};
use crate::monitor::{Snapshot, Timing, LATENCY_BUCKETS_S};

/// The model and inference-queue families.
pub(super) fn render(o: &mut Out, s: &Snapshot) {
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
    o.single(
        "estatewatch_inference_queue_depth",
        "gauge",
        "Jobs waiting in the shared inference worker's queue.",
        inf.queue_depth as f64,
    );
    o.single(
        "estatewatch_inference_submitted_total",
        "counter",
        "Jobs analyzers gave the shared inference worker.",
        inf.submitted as f64,
    );
    o.single(
        "estatewatch_inference_dropped_total",
        "counter",
        "Jobs dropped from the full inference queue without running.",
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
        for (i, bound) in LATENCY_BUCKETS_S.iter().enumerate() {
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
}
