//! Sensors through the real `estatewatch run` binary and real mosquitto
//! brokers: a test publisher plays readings on the sensors' topics and a
//! subscriber receives the alerts staff would get.
//!
//! - threshold with hysteresis (no flapping), rate of rise, staleness
//!   (`sensor_offline` then its end), on a separate local sensor broker;
//! - fusion: a camera `fire` alert from a generated shed clip and a smoke
//!   sensor on that camera within the window give a critical, linked alert;
//!   a sensor elsewhere keeps its own severity;
//! - 10,000 malformed messages: logged once, the input keeps working, and the
//!   camera's analysed-frame counter keeps its pace;
//! - reload: a changed sensor's open incident is ended and its new rule
//!   applies, an unchanged sensor keeps its rule state and counters, an added
//!   one alerts, `/metrics` follows, and a `[fusion]`-only change leaves the
//!   inputs running.
//! - 80 sensors on one broker: all subscribed (in batches) and all alert;
//! - a 3 MB retained message on one sensor's topic (over the input's packet
//!   limit): the topic is named once in the log and left out, the other
//!   sensors alert, and the input does not reconnect over and over.

use crate::common::daemon::{scrape, Daemon};
use crate::common::mosquitto::{config_text, free_port, publish_retained, Broker, Subscriber};
use estatewatch::ingest::synth::{write_clip, ClipSpec as SynthClip};
use estatewatch_scenes::camera_config::camera_section;
use estatewatch_scenes::{render_clip, ClipSpec, Kind};
use rumqttc::{Client, Event, MqttOptions, Packet, QoS};
use std::path::Path;
use std::time::{Duration, Instant};

/// A test publisher: QoS 1 publishes, each acknowledged before returning.
struct Publisher {
    client: Client,
    thread: Option<std::thread::JoinHandle<()>>,
    acks: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Publisher {
    fn connect(port: u16) -> Publisher {
        let mut o = MqttOptions::new(
            format!("sensor-player-{}", uuid::Uuid::now_v7().simple()),
            "127.0.0.1",
            port,
        );
        o.set_keep_alive(Duration::from_secs(5));
        o.set_inflight(200);
        let (client, mut conn) = Client::new(o, 1000);
        let acks = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let a = acks.clone();
        let thread = std::thread::spawn(move || {
            for ev in conn.iter() {
                match ev {
                    Ok(Event::Incoming(Packet::PubAck(_))) => {
                        a.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => break,
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        });
        Publisher {
            client,
            thread: Some(thread),
            acks,
        }
    }

    fn send(&self, topic: &str, payload: &str) {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload.as_bytes().to_vec())
            .unwrap();
    }

    /// Waits until `n` publishes in all were acknowledged.
    fn wait_acked(&self, n: u64) {
        let end = Instant::now() + Duration::from_secs(60);
        while self.acks.load(std::sync::atomic::Ordering::SeqCst) < n {
            assert!(
                Instant::now() < end,
                "broker did not acknowledge {n} publishes"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        let _ = self.client.disconnect();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Writes `cfg` as `estatewatch.toml` in `dir` and starts the daemon on it
/// (its log in `daemon.log`).
fn start_daemon(dir: &Path, outbox: &Path, cfg: &str) -> Daemon {
    let path = dir.join("estatewatch.toml");
    std::fs::write(&path, cfg).unwrap();
    Daemon::start(&path, outbox, &dir.join("daemon.log"))
}

/// Waits until the daemon's sensor input has subscribed, and checks how
/// many topics it took and how many it left out.
fn assert_sensor_topics(d: &Daemon, subscribed: usize, left_out: usize) {
    d.wait_log("sensor topics subscribed", Duration::from_secs(30));
    assert!(
        d.log()
            .contains(&format!("subscribed={subscribed} left_out={left_out}")),
        "{}",
        d.log()
    );
}

/// A temp dir, a broker, and a subscriber to all the daemon publishes there.
fn dir_broker_and_subscriber() -> (tempfile::TempDir, Broker, Subscriber) {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start();
    let sub = Subscriber::subscribed(broker.port(), "estatewatch/gw1/#");
    (dir, broker, sub)
}

fn sensor_alerts(sub: &Subscriber) -> Vec<serde_json::Value> {
    sub.alerts()
        .into_iter()
        .filter(|a| a["kind"] == "sensor" || a["kind"] == "sensor_offline")
        .collect()
}

fn wait_for(
    sub: &Subscriber,
    what: &str,
    log: &dyn Fn() -> String,
    pred: impl Fn(&[serde_json::Value]) -> bool,
) {
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        if pred(&sub.alerts()) {
            return;
        }
        assert!(
            Instant::now() < end,
            "timed out waiting for {what}; alerts: {:#?}\nlog:\n{}",
            sub.alerts(),
            log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

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

/// A shed clip with a fire, as a looping `file://` camera with the fire
/// section `scenegen` writes for it.
fn fire_camera(dir: &Path) -> String {
    let truth = render_clip(&ClipSpec::new(Kind::Fire, 3003), dir, 1).unwrap();
    let video = dir.join(&truth.clip);
    let mut section = camera_section(&truth, &video);
    section = section.replacen(
        &format!("name = \"{}\"", truth.stem()),
        "name = \"shed\"",
        1,
    );
    section
}

/// A looping synthetic camera whose analysed frames can be counted.
fn ball_camera(dir: &Path) -> String {
    let clip = dir.join("ball.mp4");
    write_clip(
        &clip,
        &SynthClip {
            width: 160,
            height: 120,
            fps: 10,
            frames: 20,
            pattern: "ball",
            ..SynthClip::default()
        },
    )
    .unwrap();
    format!(
        "[[cameras]]\nname = \"gate\"\nurl = \"file://{}\"\n\
         [cameras.detect]\nwidth = 160\nheight = 120\nfps = 10\n\
         [cameras.analyzers.motion]\ncooldown_s = 3600\n",
        clip.display()
    )
}

#[test]
fn a_camera_fire_and_a_smoke_sensor_within_the_window_are_fused() {
    let (dir, broker, sub) = dir_broker_and_subscriber();
    let outbox = dir.path().join("outbox.db");
    let mut cfg = config_text(broker.port(), &outbox, "embed_snapshots = false", "");
    cfg.push_str("[health]\nlisten = \"\"\n\n[fusion]\nwindow_s = 120\n\n");
    cfg.push_str(
        r#"[[sensors]]
name = "shed-smoke"
topic = "z2m/shed/smoke"
value = "smoke"
camera = "shed"
[[sensors.rules]]
type = "threshold"
above = 0.5

[[sensors]]
name = "gate-smoke"
topic = "z2m/gate/smoke"
value = "smoke"
camera = "gate"
[[sensors.rules]]
type = "threshold"
above = 0.5

"#,
    );
    cfg.push_str(&fire_camera(dir.path()));
    cfg.push('\n');
    cfg.push_str(&ball_camera(dir.path()));
    let d = start_daemon(dir.path(), &outbox, &cfg);
    let log = || d.log();
    wait_for(&sub, "a camera fire alert", &log, |a| {
        a.iter()
            .any(|a| a["kind"] == "fire" && a["camera"] == "shed")
    });
    let fire = sub
        .alerts()
        .into_iter()
        .find(|a| a["kind"] == "fire")
        .unwrap();

    let p = Publisher::connect(broker.port());
    std::thread::sleep(Duration::from_millis(300));
    p.send("z2m/shed/smoke", r#"{"smoke": true, "battery": 100}"#);
    p.send("z2m/gate/smoke", r#"{"smoke": true, "battery": 100}"#);
    p.wait_acked(2);
    wait_for(&sub, "two smoke sensor alerts", &log, |a| {
        a.iter().filter(|a| a["kind"] == "sensor").count() >= 2
    });
    let sensors = sensor_alerts(&sub);
    let shed = sensors
        .iter()
        .find(|a| a["details"]["sensor"] == "shed-smoke")
        .unwrap();
    assert_eq!(shed["severity"], "critical", "{shed:#}");
    assert_eq!(shed["camera"], "shed");
    assert_eq!(shed["details"]["fusion"]["linked"], fire["id"], "{shed:#}");
    assert_eq!(shed["details"]["fusion"]["linked_kind"], "fire");
    assert_eq!(shed["details"]["fusion"]["severity_before"], "warning");
    // No camera confirmation at the gate: the sensor keeps its severity.
    let gate = sensors
        .iter()
        .find(|a| a["details"]["sensor"] == "gate-smoke")
        .unwrap();
    assert_eq!(gate["severity"], "warning", "{gate:#}");
    assert!(gate["details"].get("fusion").is_none(), "{gate:#}");
}

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

/// A `[[sensors]]` table: a temperature with one threshold rule.
fn temperature_sensor(name: &str, topic: &str, above: f64) -> String {
    format!(
        "[[sensors]]\nname = \"{name}\"\ntopic = \"{topic}\"\nvalue = \"temperature\"\nunit = \"°C\"\n\
         [[sensors.rules]]\ntype = \"threshold\"\nabove = {above:?}\nhysteresis = 5.0\n\n"
    )
}

/// The alerts of one sensor so far, in arrival order.
fn alerts_of(sub: &Subscriber, sensor: &str) -> Vec<serde_json::Value> {
    sensor_alerts(sub)
        .into_iter()
        .filter(|a| a["details"]["sensor"] == sensor)
        .collect()
}

#[test]
fn a_reload_applies_sensor_changes_and_keeps_unchanged_sensors() {
    let (dir, broker, sub) = dir_broker_and_subscriber();
    let outbox = dir.path().join("outbox.db");
    let http = free_port();
    let base = format!(
        "{}[health]\nlisten = \"127.0.0.1:{http}\"\n\n",
        config_text(broker.port(), &outbox, "", "")
    );
    let path = dir.path().join("estatewatch.toml");
    let write = |fusion_window_s: u64, sensors: &[String]| {
        let text = format!(
            "{base}[fusion]\nwindow_s = {fusion_window_s}\n\n{}",
            sensors.concat()
        );
        std::fs::write(&path, text).unwrap();
    };
    let shed = temperature_sensor("shed-temp", "z2m/shed/temperature", 60.0);
    write(
        60,
        &[
            temperature_sensor("charger-temp", "z2m/charger/temperature", 60.0),
            shed.clone(),
        ],
    );
    let mut d = Daemon::start(&path, &outbox, &dir.path().join("daemon.log"));
    let log = || d.log();
    d.wait_log("sensor input connected", Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(300));
    let p = Publisher::connect(broker.port());
    let reading = |t: f64| format!(r#"{{"temperature": {t}}}"#);
    p.send("z2m/charger/temperature", &reading(70.0));
    p.send("z2m/shed/temperature", &reading(70.0));
    p.wait_acked(2);
    wait_for(&sub, "both sensors' incidents", &log, |a| {
        a.iter()
            .filter(|a| a["kind"] == "sensor" && a["state"] == "new")
            .count()
            == 2
    });
    let charger_opened = alerts_of(&sub, "charger-temp")[0].clone();
    let shed_opened = alerts_of(&sub, "shed-temp")[0].clone();

    // Reload: charger's threshold goes to 80, shed is unchanged, bike is added.
    write(
        60,
        &[
            temperature_sensor("charger-temp", "z2m/charger/temperature", 80.0),
            shed.clone(),
            temperature_sensor("bike-temp", "z2m/bike/temperature", 40.0),
        ],
    );
    d.signal(libc::SIGHUP);
    d.wait_log(
        "sensor inputs restarted with the new config",
        Duration::from_secs(20),
    );
    let l = d.log();
    assert!(
        l.contains("kept=[\"shed-temp\"]")
            && l.contains("started=[\"charger-temp\", \"bike-temp\"]")
            && l.contains("stopped=[\"charger-temp\"]"),
        "{l}"
    );
    assert!(!l.contains("only after a restart"), "{l}");
    // The changed sensor's open incident is ended, once, by the reload.
    wait_for(&sub, "the charger's end", &log, |a| {
        a.iter()
            .any(|a| a["details"]["sensor"] == "charger-temp" && a["state"] == "end")
    });
    let charger = alerts_of(&sub, "charger-temp");
    assert_eq!(charger.len(), 2, "{charger:#?}");
    assert_eq!(charger[1]["event"], charger_opened["event"]);
    assert_eq!(charger[1]["details"]["ended_by"], "reload", "{charger:#?}");
    assert_eq!(charger[1]["severity"], "info");

    // The new inputs are subscribed.
    crate::common::daemon::wait_for("the new input", Duration::from_secs(20), &log, || {
        (d.log_count("sensor input connected") >= 2).then_some(())
    });
    std::thread::sleep(Duration::from_millis(300));
    // 75 is over the old threshold but not the new one; 85 is over both.
    p.send("z2m/charger/temperature", &reading(75.0));
    p.send("z2m/charger/temperature", &reading(85.0));
    p.send("z2m/bike/temperature", &reading(45.0));
    // Shed kept its rule state: 50 clears the incident opened before the
    // reload (a fresh monitor would have nothing open to end).
    p.send("z2m/shed/temperature", &reading(50.0));
    p.wait_acked(6);
    wait_for(&sub, "alerts after the reload", &log, |a| {
        let of = |s: &str| a.iter().filter(|a| a["details"]["sensor"] == s).count();
        of("charger-temp") == 3 && of("bike-temp") == 1 && of("shed-temp") == 2
    });
    let charger = alerts_of(&sub, "charger-temp");
    assert_eq!(charger[2]["state"], "new", "{charger:#?}");
    assert_eq!(charger[2]["details"]["reading"]["value"], 85.0);
    assert_eq!(charger[2]["details"]["rule"]["above"], 80.0);
    assert_ne!(charger[2]["event"], charger_opened["event"]);
    let bike = &alerts_of(&sub, "bike-temp")[0];
    assert_eq!(bike["state"], "new", "{bike:#}");
    assert_eq!(bike["details"]["reading"]["value"], 45.0);
    let shed_alerts = alerts_of(&sub, "shed-temp");
    assert_eq!(shed_alerts[1]["state"], "end", "{shed_alerts:#?}");
    assert_eq!(shed_alerts[1]["event"], shed_opened["event"]);
    assert!(shed_alerts[1]["details"].get("ended_by").is_none());

    // /metrics lists the three sensors; shed's counter went on across the
    // reload, charger's started again.
    let m = crate::common::daemon::metrics(http);
    let readings = |s: &str| {
        crate::common::daemon::metric(
            &m,
            &format!("estatewatch_sensor_readings_total{{sensor=\"{s}\"}}"),
        )
    };
    assert_eq!(readings("shed-temp"), Some(2.0), "{m}");
    assert_eq!(readings("charger-temp"), Some(2.0), "{m}");
    assert_eq!(readings("bike-temp"), Some(1.0), "{m}");

    // A reload that changes only [fusion] applies it and leaves the inputs alone.
    let connected = d.log_count("sensor input connected");
    write(
        120,
        &[
            temperature_sensor("charger-temp", "z2m/charger/temperature", 80.0),
            shed,
            temperature_sensor("bike-temp", "z2m/bike/temperature", 40.0),
        ],
    );
    d.signal(libc::SIGHUP);
    d.wait_log("sensors unchanged", Duration::from_secs(20));
    let l = d.log();
    assert!(l.contains("fusion settings applied"), "{l}");
    assert!(l.contains("window_s=120"), "{l}");
    assert_eq!(d.log_count("sensor inputs restarted"), 1, "{l}");
    p.send("z2m/shed/temperature", &reading(71.0));
    p.wait_acked(7);
    wait_for(&sub, "shed's new incident", &log, |a| {
        a.iter()
            .filter(|a| a["details"]["sensor"] == "shed-temp")
            .count()
            == 3
    });
    assert_eq!(d.log_count("sensor input connected"), connected);
    let m = crate::common::daemon::metrics(http);
    assert_eq!(
        crate::common::daemon::metric(
            &m,
            "estatewatch_sensor_readings_total{sensor=\"shed-temp\"}"
        ),
        Some(3.0),
        "{m}"
    );
    assert!(d.term(), "daemon did not stop cleanly");
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
