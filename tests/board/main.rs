//! The web console in a real browser: headless Chromium driven over
//! WebDriver (`fantoccini`) against the real `estatewatch run`, a real
//! mosquitto and the in-process RTSP server serving a rendered throw.
//!
//! `browser` starts chromedriver and Chromium, `site` the gateway; the
//! tests are in `board` (the incident board), `calib` (the calibration
//! page) and `notifications` (the notifications page). Screenshots go to `target/console-screenshots/`.

#[path = "../common/mod.rs"]
mod common;

mod board;
mod browser;
mod calib;
mod notifications;
mod site;
