//! Command line: `check-config` (config loading, parse errors, exit codes), `detector`, `still` and `replay`.
//!
//! One test binary for the area; each module was its own binary before.
//! Shared helpers are in `tests/common/` (see its `mod.rs`).

#[path = "../common/mod.rs"]
mod common;

mod config;
mod config_loading;
mod detector;
mod exit_codes;
mod replay;
mod still;
