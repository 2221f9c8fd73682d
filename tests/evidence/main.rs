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
