//! Delivery: the MQTT broker connection, TLS, the outbox, the daemon delivering alerts, health notifications.
//!
//! One test binary for the area; each module was its own binary before.
//! Shared helpers are in `tests/common/` (see its `mod.rs`).

#[path = "../common/mod.rs"]
mod common;

mod broker;
mod daemon;
mod evidence;
mod health_notify;
mod homeassistant;
mod notify;
mod notify_server;
mod outbox;
mod profiles;
mod tls;
mod vendors;
mod watch;
