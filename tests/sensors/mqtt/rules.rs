//! The sensor rules over a local sensor broker: threshold with hysteresis,
//! rate of rise and staleness, and an incident a crash left open, ended at
//! the next start.

use super::*;

#[test]
fn threshold_rate_of_rise_and_staleness_over_a_local_sensor_broker() {
    let dir = tempfile::tempdir().unwrap();
    let alerts_broker = Broker::start();
    let sensor_broker = Broker::start();
    let sub = Subscriber::subscribed(alerts_broker.port(), "estatewatch/gw1/#");
    let outbox = dir.path().join("outbox.db");
    let mut cfg = config_text(alerts_broker.port(), &outbox, "", "");
    cfg.push_str(&format!(
        r#"
[health]
listen = ""

[sensor_broker]
port = {local}

[[sensors]]
name = "shed-temp"
topic = "z2m/shed-a/temperature"
broker = "local"
value = "temperature"
unit = "°C"
area = "Block A bike shed"
[[sensors.rules]]
type = "threshold"
above = 60.0
hysteresis = 5.0
severity = "major"
[[sensors.rules]]
type = "rate_of_rise"
rise = 8.0
within_s = 60

[[sensors]]
name = "shed-door"
topic = "z2m/shed-a/door"
broker = "local"
value = "contact"
stale_after_min = 0.05
"#,
        local = sensor_broker.port()
    ));
    let d = start_daemon(dir.path(), &outbox, &cfg);
    let log = || d.log();

    // The door sensor never reports: after 3 s it is offline.
    wait_for(&sub, "sensor_offline", &log, |a| {
        a.iter().any(|a| a["kind"] == "sensor_offline")
    });

    let p = Publisher::connect(sensor_broker.port());
    // Give the daemon's sensor input time to subscribe: a reading it hears.
    d.wait_log("sensor input connected", Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(300));
    let topic = "z2m/shed-a/temperature";
    // 20 -> 30 within seconds: a rise of 10 (>= 8). Then over 60, hovering
    // between 55 and 65 (no flapping), then down to 54 (clears).
    for t in [20.0, 30.0, 61.0, 59.0, 60.5, 56.0, 62.0, 54.0, 56.0] {
        p.send(topic, &format!(r#"{{"temperature": {t}, "battery": 90}}"#));
        std::thread::sleep(Duration::from_millis(30));
    }
    p.send("z2m/shed-a/door", r#"{"contact": true}"#);
    p.wait_acked(10);
    wait_for(&sub, "the door's sensor_offline end", &log, |a| {
        a.iter()
            .any(|a| a["kind"] == "sensor_offline" && a["state"] == "end")
    });
    wait_for(&sub, "three temperature alerts", &log, |a| {
        a.iter()
            .filter(|a| a["details"]["sensor"] == "shed-temp")
            .count()
            >= 3
    });
    std::thread::sleep(Duration::from_millis(500));

    let temp: Vec<serde_json::Value> = sensor_alerts(&sub)
        .into_iter()
        .filter(|a| a["details"]["sensor"] == "shed-temp")
        .collect();
    let summary: Vec<(String, String, String)> = temp
        .iter()
        .map(|a| {
            (
                a["state"].as_str().unwrap().to_string(),
                a["severity"].as_str().unwrap().to_string(),
                a["details"]["rule"]["type"]
                    .as_str()
                    .unwrap_or("cleared")
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("new".into(), "warning".into(), "rate_of_rise".into()),
            ("new".into(), "major".into(), "threshold".into()),
            ("end".into(), "info".into(), "cleared".into()),
        ],
        "{temp:#?}"
    );
    assert_eq!(temp[0]["details"]["reading"]["value"], 30.0);
    assert_eq!(temp[0]["details"]["rule"]["observed_rise"], 10.0);
    assert_eq!(temp[1]["details"]["reading"]["value"], 61.0);
    assert_eq!(temp[1]["details"]["reading"]["unit"], "°C");
    assert_eq!(temp[1]["details"]["area"], "Block A bike shed");
    assert_eq!(
        temp[2]["event"], temp[1]["event"],
        "the end closes the threshold's event"
    );
    assert_eq!(temp[2]["details"]["reading"]["value"], 54.0);

    let door: Vec<serde_json::Value> = sensor_alerts(&sub)
        .into_iter()
        .filter(|a| a["details"]["sensor"] == "shed-door")
        .collect();
    assert_eq!(door.len(), 2, "{door:#?}");
    assert_eq!(
        (door[0]["state"].as_str(), door[1]["state"].as_str()),
        (Some("new"), Some("end"))
    );
    assert_eq!(door[0]["severity"], "warning");
    assert_eq!(door[0]["event"], door[1]["event"]);
}

#[test]
fn an_incident_left_open_by_a_crash_is_ended_at_the_next_start() {
    let (dir, broker, sub) = dir_broker_and_subscriber();
    let outbox = dir.path().join("outbox.db");
    let mut cfg = config_text(broker.port(), &outbox, "", "");
    cfg.push_str(
        r#"
[health]
listen = ""

[[sensors]]
name = "charger-temp"
topic = "z2m/charger/temperature"
value = "temperature"
unit = "°C"
[[sensors.rules]]
type = "threshold"
above = 60.0
"#,
    );
    let path = dir.path().join("estatewatch.toml");
    std::fs::write(&path, cfg).unwrap();
    let opened = {
        let d = Daemon::start(&path, &outbox, &dir.path().join("daemon-1.log"));
        d.wait_log("sensor input connected", Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(300));
        let p = Publisher::connect(broker.port());
        p.send("z2m/charger/temperature", r#"{"temperature": 71.0}"#);
        p.wait_acked(1);
        wait_for(&sub, "the open sensor incident", &|| d.log(), |a| {
            a.iter()
                .any(|a| a["kind"] == "sensor" && a["state"] == "new")
        });
        // Dropping the daemon kills it (SIGKILL): no `end` is ever sent.
        sensor_alerts(&sub)[0].clone()
    };
    assert!(!sensor_alerts(&sub).iter().any(|a| a["state"] == "end"));

    let d = Daemon::start(&path, &outbox, &dir.path().join("daemon-2.log"));
    wait_for(
        &sub,
        "the end of the incident left open",
        &|| d.log(),
        |a| a.iter().any(|a| a["state"] == "end"),
    );
    let ends: Vec<serde_json::Value> = sensor_alerts(&sub)
        .into_iter()
        .filter(|a| a["state"] == "end")
        .collect();
    assert_eq!(ends.len(), 1, "{ends:#?}");
    let end = &ends[0];
    assert_eq!(end["event"], opened["event"]);
    assert_ne!(end["id"], opened["id"]);
    assert_eq!(end["details"]["ended_by"], "restart");
    assert_eq!(end["details"]["last_seen_at"], opened["detected_at"]);
    assert_eq!(end["camera"], opened["camera"]);
    drop(d);

    // Ended once: a third start has nothing left to end.
    let d = Daemon::start(&path, &outbox, &dir.path().join("daemon-3.log"));
    d.wait_log("sensor input connected", Duration::from_secs(20));
    std::thread::sleep(Duration::from_secs(1));
    let ends = sensor_alerts(&sub)
        .into_iter()
        .filter(|a| a["state"] == "end")
        .count();
    assert_eq!(ends, 1);
    assert!(
        !d.log().contains("incident left open by the last run ended"),
        "{}",
        d.log()
    );
}
