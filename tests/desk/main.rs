//! The incident desk: incidents from accepted alerts, handling steps with
//! their audit trail and MQTT messages, restarts, escalation, platform
//! commands, retention, and the daemon wiring. Real SQLite files, a real mosquitto.
//!
//! One test binary for the area; shared helpers are in `tests/common/`.

#[path = "../common/mod.rs"]
mod common;

mod daemon;
mod desk;
mod retention;
