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
//! - [`route`]: which messages a notifier takes (kind, state, severity,
//!   camera, local hours, escalations, handling steps).
//! - [`message`]: the text people read, in zh-CN and en (the template).
//! - [`credentials`]: a notifier's credentials file (`url`, `secret`).
//! - [`vendor`]: building a chat-bot adapter from its table, what the
//!   three share (answer codes, HMAC, the stored picture);
//!   [`wecom`], [`dingtalk`], [`feishu`]: each vendor's request shape.

pub mod adapter;
pub mod config;
pub mod credentials;
pub mod dingtalk;
pub mod feishu;
pub mod message;
pub mod route;
pub mod vendor;
pub mod wecom;
