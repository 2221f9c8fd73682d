//! Operations: the Debian package, monitoring and reload, and the examples in the docs.
//!
//! One test binary for the area; each module was its own binary before.
//! Shared helpers are in `tests/common/` (see its `mod.rs`).

#[path = "../common/mod.rs"]
mod common;
#[path = "../throwing_scene/mod.rs"]
mod throwing_scene;

mod console;
mod deb;
mod docs_examples;
mod evidence;
mod monitor;
mod selftest;
