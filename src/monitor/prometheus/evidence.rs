//! The `estatewatch_evidence_*` families: each camera's recorder (its ring
//! of encoded video, its evidence stream, its clips) and the evidence
//! folder (size, age, evictions, write failures, free space).

use super::out::{flag, Out};
use crate::evidence::store::EvidenceStats;
use crate::evidence::RecorderStats;
use crate::monitor::CameraSnapshot;

/// The recorder families (only cameras with `[cameras.evidence]`).
pub(super) fn recorders(o: &mut Out, cams: &[CameraSnapshot]) {
    let evid: Vec<(String, &RecorderStats)> = cams
        .iter()
        .filter_map(|c| c.evidence.as_ref().map(|e| (c.camera.clone(), e)))
        .collect();
    let ecam = |x: &(String, &RecorderStats)| vec![("camera", x.0.clone())];
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
}

/// The evidence folder's families.
pub(super) fn store(o: &mut Out, ev: &EvidenceStats) {
    o.single(
        "estatewatch_evidence_bytes",
        "gauge",
        "Bytes in the evidence folder's event folders.",
        ev.bytes as f64,
    );
    o.single(
        "estatewatch_evidence_events",
        "gauge",
        "Event folders in the evidence folder.",
        ev.events as f64,
    );
    o.single(
        "estatewatch_evidence_oldest_age_seconds",
        "gauge",
        "Age of the oldest event folder's latest write (0 when none).",
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
    o.single(
        "estatewatch_evidence_write_failures_total",
        "counter",
        "Evidence files that could not be written (full disk, unwritable folder).",
        ev.write_failures as f64,
    );
    o.single(
        "estatewatch_evidence_writable",
        "gauge",
        "0 after a failed evidence write, until one succeeds.",
        flag(ev.writable),
    );
    if let Some(free) = ev.free_bytes {
        o.single(
            "estatewatch_evidence_free_bytes",
            "gauge",
            "Free bytes on the evidence folder's filesystem at the last sweep.",
            free as f64,
        );
    }
}
