//! End to end for the fire analyzer: a generated shed clip with a fire is
//! served over the in-process RTSP server, the `estatewatch run` daemon reads
//! it with the fire section `scenegen` writes for that clip, and an MQTT
//! subscriber on a real mosquitto receives the `fire` alert with its box,
//! cues and snapshot.

use crate::common::daemon::Daemon;
use crate::common::mosquitto::{config_text, stored_snapshot, Broker, Subscriber};
use estatewatch::ingest::RtspServer;
use estatewatch_scenes::camera_config::camera_section;
use estatewatch_scenes::{render_clip, ClipSpec, Kind};
use std::time::Duration;

#[test]
fn fire_clip_over_rtsp_reaches_an_mqtt_subscriber_as_a_fire_alert() {
    let tmp = tempfile::tempdir().unwrap();
    let truth = render_clip(&ClipSpec::new(Kind::Fire, 3003), tmp.path(), 1).unwrap();
    let fire = truth
        .incidents
        .iter()
        .find(|i| i.kind == "fire")
        .expect("the clip has a fire");
    let video = tmp.path().join(&truth.clip);

    let server = RtspServer::start(0, None).unwrap();
    server.add_file_loop("/shed", &video);
    let broker = Broker::start();
    let sub = Subscriber::connect(broker.port(), "estatewatch/gw1/alerts/#");
    sub.wait_subscribed(1, Duration::from_secs(10));

    // The camera section scenegen writes for this clip (zones, light masks),
    // pointed at the RTSP stream instead of the file.
    let file_url = format!("\"file://{}\"", video.display());
    let camera =
        camera_section(&truth, &video).replace(&file_url, &format!("\"{}\"", server.url("/shed")));
    assert!(camera.contains("[cameras.analyzers.fire]"), "{camera}");
    assert!(camera.contains("rtsp://"), "{camera}");
    let outbox = tmp.path().join("outbox.db");
    let config = tmp.path().join("estatewatch.toml");
    std::fs::write(
        &config,
        format!("{}\n{camera}", config_text(broker.port(), &outbox, "", "")),
    )
    .unwrap();

    let log = tmp.path().join("daemon.log");
    let daemon = Daemon::start(&config, &outbox, &log);
    // The clip is 14 s and loops; its fire starts a few seconds in.
    let got = sub.wait_until(Duration::from_secs(60), |msgs| {
        msgs.iter()
            .any(|m| m.topic == "estatewatch/gw1/alerts/fire")
    });
    assert!(
        got,
        "no fire alert; got topics {:?}\ndaemon log:\n{}",
        sub.messages().iter().map(|m| &m.topic).collect::<Vec<_>>(),
        daemon.log()
    );

    let alerts = sub.alerts();
    let a = alerts
        .iter()
        .find(|a| a["kind"] == "fire")
        .expect("a fire alert");
    assert_eq!(a["state"], "new");
    assert_eq!(a["severity"], "critical");
    assert_eq!(a["camera"], truth.stem());
    assert_eq!(a["zone"], truth.calibration.zones[0].name.as_str());
    let cues: Vec<&str> = a["details"]["cues"]
        .as_array()
        .expect("details.cues")
        .iter()
        .filter_map(|c| c.as_str())
        .collect();
    assert!(cues.contains(&"colour"), "cues {cues:?}");
    assert!(a["details"]["area_fraction"].as_f64().unwrap() > 0.0);
    assert!(a["details"].get("flicker_hz").is_some());
    assert!(stored_snapshot(a, &outbox).len() > 1000, "{a}");

    // The box overlaps the fire's box (`[t, x, y, w, h]`, top-left) at some
    // point of its track, with 0.02 of slack for the analysis cells.
    let b = &a["box"];
    let (bx, by, bw, bh) = (
        b["x"].as_f64().unwrap(),
        b["y"].as_f64().unwrap(),
        b["w"].as_f64().unwrap(),
        b["h"].as_f64().unwrap(),
    );
    let near = fire.track.iter().any(|p| {
        let (x, y, w, h) = (p[1], p[2], p[3], p[4]);
        bx <= x + w + 0.02 && x <= bx + bw + 0.02 && by <= y + h + 0.02 && y <= by + bh + 0.02
    });
    assert!(near, "box {b} is not on the fire's track");
    server.stop();
}
