//! The per-camera families: `estatewatch_camera_*` (frames in, analysed,
//! skipped, rates, reconnects, the worker's tick), `estatewatch_analyzer_*`
//! (time per frame per analyzer) and `estatewatch_selftest_*`.

use super::out::{flag, Out};
use crate::monitor::{CameraSnapshot, Timing};

/// The camera and analyzer families.
pub(super) fn render(o: &mut Out, cams: &[CameraSnapshot]) {
    let cam = |c: &CameraSnapshot| vec![("camera", c.camera.clone())];
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
}

/// The self-test families (only cameras that ran one).
pub(super) fn selftest(o: &mut Out, cams: &[CameraSnapshot]) {
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
}
