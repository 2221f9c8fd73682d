//! The sensor input under load: a flood of malformed messages, 80 sensors on
//! one broker, and an oversized retained message on one topic.

use super::*;

#[test]
fn a_flood_of_malformed_messages_is_logged_once_and_does_not_slow_the_video_path() {
    let (dir, broker, sub) = dir_broker_and_subscriber();
    let outbox = dir.path().join("outbox.db");
    let http = free_port();
    let mut cfg = config_text(broker.port(), &outbox, "", "");
    cfg.push_str(&format!("[health]\nlisten = \"127.0.0.1:{http}\"\n\n"));
    cfg.push_str(
        r#"[[sensors]]
name = "meter"
topic = "meters/charger-1"
value = "current"
unit = "A"
[[sensors.rules]]
type = "threshold"
above = 16.0

"#,
    );
    cfg.push_str(&ball_camera(dir.path()));
    let d = start_daemon(dir.path(), &outbox, &cfg);
    let sample = "estatewatch_camera_frames_analysed_total{camera=\"gate\"}";
    crate::common::daemon::wait_for(
        "the camera to run",
        Duration::from_secs(30),
        &|| d.log(),
        || (scrape(http, sample).unwrap_or(0.0) >= 10.0).then_some(()),
    );
    d.wait_log("sensor input connected", Duration::from_secs(20));
    let window = Duration::from_secs(3);
    let count = |w: Duration| {
        let a = scrape(http, sample).unwrap();
        std::thread::sleep(w);
        scrape(http, sample).unwrap() - a
    };
    let quiet = count(window);

    let p = Publisher::connect(broker.port());
    let flood = std::thread::scope(|s| {
        let counter = s.spawn(|| count(window));
        let bad = [
            "not json at all",
            r#"{"voltage": 230}"#,
            r#"{"current": "lots"}"#,
            r#"{"current": {"value": 3}}"#,
        ];
        for i in 0..10_000 {
            p.send("meters/charger-1", bad[i % bad.len()]);
        }
        counter.join().unwrap()
    });
    p.wait_acked(10_000);
    // After the flood, a good reading over the limit still raises its alert.
    p.send("meters/charger-1", r#"{"current": 18.5}"#);
    p.wait_acked(10_001);
    wait_for(
        &sub,
        "the meter's alert after the flood",
        &|| d.log(),
        |a| a.iter().any(|a| a["details"]["sensor"] == "meter"),
    );
    let alert = sub
        .alerts()
        .into_iter()
        .find(|a| a["details"]["sensor"] == "meter")
        .unwrap();
    assert_eq!(alert["details"]["reading"]["value"], 18.5);

    // /metrics counts every bad payload and shows the latest good reading.
    let meter = |name: &str| {
        scrape(
            http,
            &format!("estatewatch_sensor_{name}{{sensor=\"meter\"}}"),
        )
    };
    assert_eq!(meter("bad_payloads_total"), Some(10_000.0));
    assert_eq!(meter("readings_total"), Some(1.0));
    assert_eq!(meter("value"), Some(18.5));
    assert!(meter("last_reading_age_seconds").is_some_and(|age| age < 60.0));

    // Logged once (a minute has not passed), with the cause.
    let log = d.log();
    let warned = log.matches("bad sensor payload ignored").count();
    assert_eq!(warned, 1, "{log}");
    // The video path kept its pace: the camera is paced at 10 fps, so both
    // windows should see about 30 frames; a blocked worker would see none.
    assert!(quiet >= 15.0, "quiet window analysed only {quiet} frames");
    assert!(
        flood >= quiet * 0.6,
        "analysed {flood} frames during the flood against {quiet} before"
    );
}

#[test]
fn eighty_sensors_on_one_broker_are_all_subscribed_and_all_alert() {
    let (dir, broker, sub) = dir_broker_and_subscriber();
    let outbox = dir.path().join("outbox.db");
    let mut cfg = config_text(broker.port(), &outbox, "", "");
    cfg.push_str("[health]\nlisten = \"\"\n\n");
    let topic = |i: usize| format!("z2m/probe-{i:02}/temperature");
    for i in 0..80 {
        cfg.push_str(&temperature_sensor(
            &format!("probe-{i:02}"),
            &topic(i),
            60.0,
        ));
    }
    let mut d = start_daemon(dir.path(), &outbox, &cfg);
    let log = || d.log();
    assert_sensor_topics(&d, 80, 0);

    let p = Publisher::connect(broker.port());
    for i in 0..80 {
        p.send(&topic(i), r#"{"temperature": 70}"#);
    }
    p.wait_acked(80);
    let alerting = |a: &[serde_json::Value]| {
        let mut names: Vec<String> = a
            .iter()
            .filter(|a| a["kind"] == "sensor" && a["state"] == "new")
            .map(|a| a["details"]["sensor"].as_str().unwrap_or("").to_string())
            .collect();
        names.sort();
        names.dedup();
        names
    };
    wait_for(
        &sub,
        "a sensor alert from each of the 80 sensors",
        &log,
        |a| alerting(a).len() == 80,
    );
    let expected: Vec<String> = (0..80).map(|i| format!("probe-{i:02}")).collect();
    assert_eq!(alerting(&sub.alerts()), expected);
    assert!(d.term(), "daemon did not stop cleanly");
}

#[test]
fn an_oversized_retained_message_on_one_topic_does_not_stop_the_other_sensors() {
    let (dir, broker, sub) = dir_broker_and_subscriber();
    // A 3 MB retained message on one sensor's topic: the broker sends it on
    // every subscribe, and it is over the sensor input's 256 KiB limit.
    let big_topic = "z2m/camera-bridge/temperature";
    publish_retained(broker.port(), big_topic, &vec![b'7'; 3 * 1024 * 1024]);
    let outbox = dir.path().join("outbox.db");
    let mut cfg = config_text(broker.port(), &outbox, "", "");
    cfg.push_str("[health]\nlisten = \"\"\n\n");
    cfg.push_str(&temperature_sensor("bridge-temp", big_topic, 60.0));
    cfg.push_str(&temperature_sensor(
        "shed-temp",
        "z2m/shed/temperature",
        60.0,
    ));
    cfg.push_str(&temperature_sensor(
        "charger-temp",
        "z2m/charger/temperature",
        60.0,
    ));
    let mut d = start_daemon(dir.path(), &outbox, &cfg);
    let log = || d.log();
    assert_sensor_topics(&d, 2, 1);

    let p = Publisher::connect(broker.port());
    p.send("z2m/shed/temperature", r#"{"temperature": 70}"#);
    p.send("z2m/charger/temperature", r#"{"temperature": 75}"#);
    p.wait_acked(2);
    wait_for(&sub, "the other two sensors' alerts", &log, |a| {
        ["shed-temp", "charger-temp"].iter().all(|s| {
            a.iter()
                .any(|a| a["details"]["sensor"] == *s && a["state"] == "new")
        })
    });
    // A while later: still one connection, no reconnect storm, and the
    // offending topic was named once.
    let connects = d.log_count("sensor input connected");
    std::thread::sleep(Duration::from_secs(3));
    let l = d.log();
    assert_eq!(d.log_count("sensor input connected"), connects, "{l}");
    assert!(connects <= 4, "{connects} connects to find one topic:\n{l}");
    let named: Vec<&str> = l
        .lines()
        .filter(|line| line.contains("larger than the sensor input's packet limit"))
        .collect();
    assert_eq!(named.len(), 1, "{l}");
    assert!(named[0].contains(big_topic), "{l}");
    assert!(
        !l.contains("cannot reach its broker"),
        "an oversized message is not a connection problem:\n{l}"
    );
    assert!(d.term(), "daemon did not stop cleanly");
}
