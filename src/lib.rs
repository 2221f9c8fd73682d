//! estatewatch: an edge video alerting daemon for residential estates.
//!
//! Frames and alerts flow one way through the modules:
//!
//! ```text
//!  cameras ──► ingest ──────────► analysis ──────────► alert ─────────► delivery
//!  (RTSP/file)  GStreamer pipeline  one worker per        Alert schema v1    SQLite outbox ──► MQTT
//!               per camera, with a  camera: motion,       events, snapshots  (commit first)    (delete on PUBACK)
//!               supervisor; latest- throwing, fire,
//!               frame-wins slot     garbage analyzers
//! ```
//!
//! - [`base`]: small helpers several modules share (poisoned locks, retry
//!   backoff, timings, point-in-polygon); it imports nothing from the crate.
//! - [`config`]: the TOML file, composed of the sections each module owns
//!   (`ingest::config`, `delivery::config`, …), and its validation.
//! - [`settings`]: what every config section shares (problems, secrets, zones).
//! - [`ingest`]: camera pipelines, frames, reconnects, online/offline events.
//! - [`analysis`]: per-camera analyzers that turn frames into detections.
//! - [`alert`]: the alert model published to staff, and snapshot rendering.
//! - [`delivery`]: the durable outbox and the MQTT publisher.
//! - [`desk`]: the incident desk: incidents as staff handle them
//!   (acknowledge, assign, note, resolve), their audit trail, escalation and
//!   response-time figures, fed by the alerts delivery accepts.
//! - [`evidence`]: clips and full-resolution snapshots cut from a camera's
//!   encoded main stream (never decoded in steady state), the detect-size
//!   composite, the folder that keeps them within its limits, and fetching
//!   them over HTTP.
//! - [`daemon`]: `estatewatch run`, which wires the above together and
//!   applies config reloads (SIGHUP).
//! - [`sensors`]: MQTT sensor inputs, their rules, and fusion with camera alerts.
//! - [`health`]: systemd notify (READY, STOPPING, watchdog) and heartbeats.
//! - [`monitor`]: the figures behind `/healthz`, Prometheus `/metrics` and
//!   the stats topic.
//! - [`console`]: the web console (pages behind a login, users and roles)
//!   and the HTTP server of `/healthz`, `/metrics` and `/evidence`.
//! - [`still`]: `estatewatch still`, a calibration picture from a live camera.
//!
//! The test footage analyzers are judged by (the scene generator and the
//! scorecard, binaries `scenegen` and `score`) is a separate crate built on
//! this library, `crates/estatewatch-scenes`; nothing here depends on it.

pub mod alert;
pub mod analysis;
pub mod base;
pub mod config;
pub mod console;
pub mod daemon;
pub mod delivery;
pub mod desk;
pub mod evidence;
pub mod health;
pub mod ingest;
pub mod monitor;
pub mod replay;
pub mod sensors;
pub mod settings;
pub mod still;
pub mod watch;
