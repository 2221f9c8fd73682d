//! Helpers shared by the integration test binaries (`tests/<area>/main.rs`).
//!
//! Each area binary includes this folder with
//! `#[path = "../common/mod.rs"] mod common;` and uses the helpers as
//! `crate::common::daemon::Daemon`, `crate::common::mosquitto::Broker`, …
//! A binary uses only some of them, hence the `dead_code` allowance.
//!
//! - [`check_config`]: `estatewatch check-config` on a config given as text.
//! - [`cli`]: one-off commands of the binary, their exit and JSON lines.
//! - [`daemon`]: the real `estatewatch run` binary as a child process.
//! - [`mosquitto`]: a real broker, a TCP gate in front of it, a subscriber.
//! - [`own_process`]: the `in_own_process!` macro, for tests that must be
//!   alone in their process.
//! - [`rtsp`]: camera configs, camera events and thread listings for the
//!   ingest tests.
//! - [`scenegen`]: a clip rendered as the `scenegen` command renders it.
#![allow(dead_code, unused_imports, unused_macros)]

pub mod check_config;
pub mod cli;
pub mod daemon;
pub mod mosquitto;
pub mod own_process;
pub mod rtsp;
pub mod scenegen;
