//! Ingest: cameras from RTSP and files, their errors, live versus file sources.
//!
//! One test binary for the area; each module was its own binary before.
//! Shared helpers are in `tests/common/` (see its `mod.rs`).

#[path = "../common/mod.rs"]
mod common;

mod errors;
mod file;
mod live_vs_file;
mod redaction;
mod rtsp;
