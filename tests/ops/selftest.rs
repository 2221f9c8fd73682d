//! The per-camera self-test end to end: a camera served over the in-process
//! RTSP server with a throwing config passes its self-test (and its
//! reference still is taken); the same camera turned to another scene, then
//! covered (black), fails: `estatewatch selftest` asks the running daemon
//! for a test, a `selftest_failed` alert naming the failed check reaches a
//! real mosquitto, and `/metrics` shows `estatewatch_selftest_pass` 0.

use crate::common::daemon::{metric, metrics, wait_for, Daemon, BIN};
use crate::common::mosquitto::{config_text, free_port, Broker, Subscriber};
use estatewatch::ingest::RtspServer;
use gstreamer::prelude::*;
use std::path::Path;
use std::time::Duration;

/// A still scene (colour bars) that a test can turn into another one by
/// setting the `pattern` of the source named `src`.
const LAUNCH: &str = "( videotestsrc name=src is-live=true pattern=smpte \
    ! video/x-raw,width=320,height=240,framerate=10/1 \
    ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=10 \
    ! rtph264pay name=pay0 pt=96 config-interval=-1 )";

fn write_config(dir: &Path, broker: u16, http: u16, url: &str) -> std::path::PathBuf {
    let mut text = config_text(broker, &dir.join("outbox.db"), "", "");
    text.push_str(&format!(
        "[health]\nlisten = \"127.0.0.1:{http}\"\n\
         [[cameras]]\nname = \"tower\"\nurl = \"{url}\"\nstall_timeout_s = 5\n\
         reconnect_min_ms = 100\nreconnect_max_ms = 500\n\
         [cameras.detect]\nwidth = 320\nheight = 240\nfps = 10\n\
         [cameras.analyzers.throwing]\n\
         [cameras.analyzers.throwing.floors]\nfirst_row = 0.95\nfloor_height = 0.08\ncount = 10\n\
         [cameras.selftest]\nfirst_after_s = 2\nreference_dir = \"{}\"\n",
        dir.join("reference").display()
    ));
    let path = dir.join("estatewatch.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The latest self-test's run time and pass gauges (view, throwing), once
/// one has run.
fn selftest_figures(http: u16) -> Option<(f64, f64, f64)> {
    let (_, body) = crate::common::daemon::http_get(http, "/metrics")?;
    Some((
        metric(
            &body,
            "estatewatch_selftest_last_run_timestamp_seconds{camera=\"tower\"}",
        )?,
        metric(
            &body,
            "estatewatch_selftest_pass{camera=\"tower\",kind=\"view\"}",
        )?,
        metric(
            &body,
            "estatewatch_selftest_pass{camera=\"tower\",kind=\"throwing\"}",
        )?,
    ))
}

/// Asks the daemon for self-tests (`estatewatch selftest`) until one ends
/// with the view failing (the first may still have caught frames from
/// before the scene changed).
fn request_until_view_fails(config: &Path, http: u16, daemon: &Daemon) {
    let log = || daemon.log();
    for _ in 0..5 {
        let before = selftest_figures(http).map(|f| f.0).unwrap_or(0.0);
        let out = std::process::Command::new(BIN)
            .args(["selftest", "--config"])
            .arg(config)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("self-test"),
            "{out:?}"
        );
        let (_, view, _) = wait_for("a new self-test", Duration::from_secs(60), &log, || {
            selftest_figures(http).filter(|f| f.0 > before)
        });
        if view == 0.0 {
            return;
        }
    }
    panic!("the view never failed; log:\n{}", log());
}

#[test]
fn a_camera_turned_away_or_covered_fails_its_selftest_with_an_alert_and_a_zero_gauge() {
    let dir = tempfile::tempdir().unwrap();
    let server = RtspServer::start(0, None).unwrap();
    server.add_launch("/tower", LAUNCH);
    let broker = Broker::start();
    let sub = Subscriber::connect(broker.port(), "estatewatch/#");
    sub.wait_subscribed(1, Duration::from_secs(10));
    let http = free_port();
    let config = write_config(dir.path(), broker.port(), http, &server.url("/tower"));
    let outbox = dir.path().join("outbox.db");
    let daemon = Daemon::start(&config, &outbox, &dir.path().join("daemon.log"));
    let log = || daemon.log();

    // The first test, `first_after_s` after start: passes and takes the reference.
    let (_, view, throwing) = wait_for(
        "the first self-test",
        Duration::from_secs(120),
        &log,
        || selftest_figures(http),
    );
    assert_eq!((view, throwing), (1.0, 1.0), "{}", metrics(http));
    assert!(dir.path().join("reference/tower.png").exists());
    let m = metrics(http);
    crate::common::daemon::promtool_check(&m);
    assert!(
        metric(
            &m,
            "estatewatch_selftest_last_cpu_seconds{camera=\"tower\"}"
        )
        .unwrap()
            > 0.0,
        "{m}"
    );

    // Turned away: another scene.
    let src = server.media_element("/tower", "src").expect("the source");
    src.set_property_from_str("pattern", "pinwheel");
    request_until_view_fails(&config, http, &daemon);
    let a = wait_for(
        "a selftest_failed alert",
        Duration::from_secs(30),
        &log,
        || {
            sub.alerts()
                .into_iter()
                .find(|a| a["kind"] == "selftest_failed")
        },
    );
    assert_eq!(a["camera"], "tower", "{a}");
    let schema = crate::docs_examples::load_schema("alert-v1.schema.json");
    crate::docs_examples::assert_fits(&schema, &a, "a real selftest_failed alert");
    let names: Vec<&str> = a["details"]["failed"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(names.contains(&"similarity"), "{a}");
    assert!(
        a["evidence"]["files"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f["name"] == "snapshot-detect.jpg")),
        "the live view is attached (stored as the alert's picture): {a}"
    );
    assert_eq!(
        metric(
            &metrics(http),
            "estatewatch_selftest_pass{camera=\"tower\",kind=\"view\"}"
        ),
        Some(0.0)
    );

    // Covered: black.
    src.set_property_from_str("pattern", "black");
    request_until_view_fails(&config, http, &daemon);
    let dark = wait_for(
        "a selftest_failed alert for the dark view",
        Duration::from_secs(30),
        &log,
        || {
            sub.alerts().into_iter().find(|a| {
                a["kind"] == "selftest_failed"
                    && a["details"]["failed"]
                        .as_array()
                        .is_some_and(|f| f.iter().any(|n| n == "brightness"))
            })
        },
    );
    let checks = dark["details"]["checks"].as_array().unwrap();
    let brightness = checks.iter().find(|c| c["name"] == "brightness").unwrap();
    assert!(
        brightness["value"].as_f64().unwrap() < brightness["threshold"].as_f64().unwrap(),
        "{dark}"
    );
    assert_eq!(
        metric(
            &metrics(http),
            "estatewatch_selftest_pass{camera=\"tower\",kind=\"view\"}"
        ),
        Some(0.0)
    );
    drop(daemon);
    server.stop();
}
