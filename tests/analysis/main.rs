//! Analysis: the object detector and its runtime, and the fire, garbage and throwing analyzers (config, synthetic scenes, end to end).
//!
//! One test binary for the area; each module was its own binary before.
//! Shared helpers are in `tests/common/` (see its `mod.rs`).

#[path = "../common/mod.rs"]
mod common;
#[path = "../fire_support/mod.rs"]
mod fire_support;
#[path = "../throwing_scene/mod.rs"]
mod throwing_scene;

mod detector_decoders;
mod detector_errors;
mod detector_real;
mod detector_runtime;
mod fire_analyzer;
mod fire_config;
mod fire_e2e;
mod fire_light;
mod fire_models;
mod fire_relearnt;
mod garbage_analyzer;
mod garbage_config;
mod garbage_e2e;
mod garbage_moved_bins;
mod garbage_scenes;
mod garbage_suite_cases;
mod selftest;
mod throwing_config;
mod throwing_e2e;
mod throwing_explain;
mod throwing_synthetic;
