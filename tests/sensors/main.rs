//! Sensors: MQTT sensor inputs to the daemon.
//!
//! One test binary for the area; each module was its own binary before.
//! Shared helpers are in `tests/common/` (see its `mod.rs`).

#[path = "../common/mod.rs"]
mod common;

mod mqtt;
