//! End to end for the `throwing` analyzer: a throw rendered as `scenegen`
//! renders it is served over the in-process RTSP server, `estatewatch run`
//! ingests it with the camera calibration scenegen wrote, and an MQTT
//! subscriber on a real mosquitto receives a `throwing` alert naming the
//! floor and column the object was thrown from, with its snapshot.

use crate::common::daemon::Daemon;
use crate::common::mosquitto::{config_text, stored_snapshot, Broker, Subscriber};
use crate::common::scenegen::{replay_camera, scenegen};
use estatewatch::ingest::RtspServer;
use estatewatch_scenes::{Origin, Truth};
use std::path::Path;
use std::time::Duration;

/// Renders one throw (16 px object from floor 6, column 1) with its replay config.
fn render_throw(dir: &Path) -> Truth {
    scenegen(
        dir,
        "throwing",
        61,
        None,
        "size_px=16,floor=6,column=1",
        true,
    );
    Truth::load(&dir.join("throwing-61.json")).unwrap()
}

/// Asserts that throw alert `a` names the window `want` was thrown from:
/// exactly when it was seen from its release, within a floor when it was
/// traced back from a late first sighting (the daemon may join the looping
/// stream mid-fall; see docs/throwing.md, "Origin").
fn assert_on_the_window(a: &serde_json::Value, want: &Origin) {
    let origin = &a["details"]["origin"];
    assert_eq!(origin["column"], want.column, "{a}");
    let floor = origin["floor"].as_i64().unwrap_or(-99);
    let extrapolated = origin["extrapolated_s"].as_f64().unwrap_or(f64::MAX);
    let off = if extrapolated < 0.3 { 0 } else { 1 };
    assert!(
        (floor - want.floor as i64).abs() <= off,
        "thrown from floor {}, alerted floor {floor}: {a}",
        want.floor
    );
}

/// The `[[cameras]]` part of scenegen's replay config, reading `url` instead of the file.
fn camera_from_replay_config(replay_toml: &Path, url: &str) -> String {
    let camera = replay_camera(
        replay_toml,
        &format!("url = \"{url}\"\ntransport = \"tcp\""),
    );
    assert!(
        camera.contains("rtsp://") && !camera.contains("file://"),
        "{camera}"
    );
    assert!(camera.contains("[cameras.analyzers.throwing]"), "{camera}");
    camera
}

#[test]
fn a_throw_served_over_rtsp_reaches_an_mqtt_subscriber_with_its_floor() {
    let dir = tempfile::tempdir().unwrap();
    let truth = render_throw(dir.path());
    let want = truth.incidents[0].origin.expect("a throw has an origin");
    assert_eq!((want.floor, want.column), (6, 1));

    // The clip loops over RTSP, so the daemon sees the throw every few seconds.
    let server = RtspServer::start(0, None).unwrap();
    server.add_file_loop("/tower", &dir.path().join(&truth.clip));
    let broker = Broker::start();
    let sub = Subscriber::connect(broker.port(), "estatewatch/#");
    sub.wait_subscribed(1, Duration::from_secs(10));

    let outbox = dir.path().join("outbox.db");
    let config = dir.path().join("estatewatch.toml");
    std::fs::write(
        &config,
        format!(
            "{}\n{}\n",
            config_text(broker.port(), &outbox, "", ""),
            camera_from_replay_config(&dir.path().join("throwing-61.toml"), &server.url("/tower"))
        ),
    )
    .unwrap();
    let log = dir.path().join("daemon.log");
    let daemon = Daemon::start(&config, &outbox, &log);
    let daemon_log = || daemon.log();

    // A slow shared machine may need a few loops of the clip; the timeout
    // only bounds a failure.
    let got = sub.wait_until(Duration::from_secs(120), |msgs| {
        msgs.iter()
            .any(|m| m.topic.contains("/alerts/") && m.json()["kind"] == "throwing")
    });
    assert!(
        got,
        "no throwing alert; received {:?}\ndaemon log:\n{}",
        sub.messages().iter().map(|m| &m.topic).collect::<Vec<_>>(),
        daemon_log()
    );
    let alerts: Vec<serde_json::Value> = sub
        .alerts()
        .into_iter()
        .filter(|a| a["kind"] == "throwing")
        .collect();
    let a = &alerts[0];
    assert_eq!(a["camera"], "throwing-61", "{a}");
    assert_eq!(a["state"], "new", "{a}");
    assert_on_the_window(a, &want);
    let points = a["details"]["trajectory"].as_array().unwrap();
    assert!(points.len() >= 5, "{a}");
    // The picture is stored with the alert's incident, not embedded.
    assert!(a.get("snapshot").is_none(), "{a}");
    let jpeg = stored_snapshot(a, &outbox);
    assert!(image::load_from_memory(&jpeg).is_ok());
    // Every throwing alert of the run (one per loop of the clip) names the same window.
    for a in &alerts {
        assert_on_the_window(a, &want);
    }
    server.stop();
}
