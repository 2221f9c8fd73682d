//! Command line: `check-config`, `detector`, `still` and `replay`.
//!
//! One test binary for the area; each module was its own binary before.
//! Shared helpers are in `tests/common/` (see its `mod.rs`).

#[path = "../common/mod.rs"]
mod common;

mod config;
mod detector;
mod replay;
mod still;
