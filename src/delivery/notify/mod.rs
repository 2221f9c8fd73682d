//! Notifiers: alerts, escalations and handling steps sent to people's phones
//! (WeCom, DingTalk and Feishu group bots) and to HTTP webhooks, through the
//! same SQLite outbox as MQTT (`docs/notifications.md`).
//!
//! Each notifier keeps its own cursor over the outbox, so a dead webhook
//! never holds back MQTT, and MQTT never holds back a webhook; a row is
//! deleted only when MQTT and every notifier have it.
//!
//! - [`config`]: the `[[notifiers]]` tables (each notifier gets only its own).
//! - [`adapter`]: the seam between durable sending (which rows, retries,
//!   rate limits, cursors) and a vendor's format (which HTTP requests carry
//!   a message, and what the vendor's answer means).

pub mod adapter;
pub mod config;
