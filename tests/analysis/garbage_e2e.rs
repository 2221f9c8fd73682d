//! End to end: a rendered bin-room clip (someone leaves a bag and walks off)
//! served over the in-process RTSP server, the `estatewatch run` daemon with
//! a garbage analyzer on that camera, a real mosquitto, and a subscriber that
//! must receive the `garbage` alert with the bag boxed and a picture.
//!
//! The clip and the config use a short dwell (4 s) so the test takes about
//! twenty seconds of stream time. The daemon loads the shipped person
//! detector and bag classifier when they are installed (`make setup`) and
//! runs on motion cues alone when they are not.

use crate::common::daemon::Daemon;
use crate::common::mosquitto::{config_text, stored_snapshot, Broker, Subscriber};
use estatewatch::ingest::RtspServer;
use estatewatch_scenes::{render_clip, ClipSpec, Kind};
use std::time::Duration;

const DWELL_S: f32 = 4.0;

fn is_garbage_new(a: &serde_json::Value) -> bool {
    a["kind"] == "garbage" && a["state"] == "new"
}

#[test]
fn a_bag_left_on_an_rtsp_camera_reaches_an_mqtt_subscriber() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = ClipSpec::new(Kind::Garbage, 5000);
    spec.params.dwell_s = Some(DWELL_S);
    let truth = render_clip(&spec, dir.path(), 1).unwrap();
    let incident = &truth.incidents[0];
    // The bag's box while it lies there: [t_ms, x, y, w, h].
    let bag = incident.track.last().expect("a track");

    let server = RtspServer::start(0, None).unwrap();
    server.add_file_loop("/bins", &dir.path().join(&truth.clip));
    let broker = Broker::start();
    let sub = Subscriber::connect(broker.port(), "estatewatch/gw1/alerts/#");
    sub.wait_subscribed(1, Duration::from_secs(10));

    let outbox = dir.path().join("outbox.db");
    let zones: String = truth
        .calibration
        .zones
        .iter()
        .map(|z| {
            format!(
                "[[cameras.analyzers.garbage.zones]]\nname = \"{}\"\npolygon = {:?}\n",
                z.name, z.polygon
            )
        })
        .collect();
    let camera = format!(
        "[[cameras]]\nname = \"bin-room\"\nurl = \"{url}\"\n\
         [cameras.detect]\nwidth = 640\nheight = 360\nfps = 5\n\
         [cameras.analyzers.garbage]\ndwell_s = {DWELL_S:?}\n{zones}",
        url = server.url("/bins"),
    );
    let config = dir.path().join("estatewatch.toml");
    std::fs::write(&config, config_text(broker.port(), &outbox, "", &camera)).unwrap();
    let log = dir.path().join("daemon.log");
    let daemon = Daemon::start(&config, &outbox, &log);

    // Stream time to the alert is the drop (~5-9 s) + dwell; allow plenty
    // for a slow, shared machine. This is a deadline, not a speed check.
    let arrived = sub.wait_until(Duration::from_secs(120), |msgs| {
        msgs.iter()
            .filter(|m| m.topic.contains("/alerts/"))
            .any(|m| is_garbage_new(&m.json()))
    });
    let daemon_log = daemon.log();
    drop(daemon);
    assert!(
        arrived,
        "no garbage alert arrived; daemon log:\n{daemon_log}"
    );

    let alerts = sub.alerts();
    let news: Vec<_> = alerts.iter().filter(|a| is_garbage_new(a)).collect();
    let mut ids: Vec<_> = news.iter().map(|a| a["id"].as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 1, "one bag, one alert: {news:#?}");
    let a = news[0];
    assert_eq!(a["camera"], "bin-room");
    assert_eq!(a["site"], "test-estate");

    // The alert's box is on the bag: centres within a bag's size.
    let b = &a["box"];
    let (bx, by, bw, bh) = (
        b["x"].as_f64().unwrap(),
        b["y"].as_f64().unwrap(),
        b["w"].as_f64().unwrap(),
        b["h"].as_f64().unwrap(),
    );
    let (tx, ty, tw, th) = (bag[1], bag[2], bag[3], bag[4]);
    let (dx, dy) = (
        (bx + bw / 2.0 - (tx + tw / 2.0)).abs(),
        (by + bh / 2.0 - (ty + th / 2.0)).abs(),
    );
    assert!(
        dx < tw.max(bw) && dy < th.max(bh),
        "alert box {b} is not on the bag at {bag:?}"
    );

    // It waited for the dwell after the bag was set down, and says when.
    let details = &a["details"];
    let dwell = details["dwell_s"].as_f64().unwrap();
    assert!(dwell >= DWELL_S as f64, "alerted after {dwell} s");
    assert!(details["left_at_ms"].as_u64().is_some(), "{details}");

    // A two-panel picture (then and now) is stored with the incident.
    let jpeg = stored_snapshot(a, &outbox);
    let img = image::load_from_memory(&jpeg).expect("a JPEG");
    assert_eq!(img.width(), 2 * 640 + 4);
    assert!(jpeg.len() > 1000);
    server.stop();
}
