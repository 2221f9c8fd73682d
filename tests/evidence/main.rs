//! Evidence: clips and full-resolution snapshots from a camera's main
//! stream, end to end through `estatewatch run`, a real RTSP server with two
//! mounts per camera (1920x1080 main, 640x360 sub, the same scene) and a
//! real mosquitto.
//!
//! Shared helpers are in `tests/common/` (see its `mod.rs`).

#[path = "../common/mod.rs"]
mod common;

mod clips;
mod outages;

/// True for the `update` that announces an incident's clip and
/// full-resolution snapshot (`evidence` with `clip`, `snapshot` or
/// `reason`), not an alert that only lists its stored files.
pub fn announces(alert: &serde_json::Value) -> bool {
    let e = &alert["evidence"];
    ["clip", "snapshot", "reason"]
        .iter()
        .any(|k| e.get(*k).is_some())
}
