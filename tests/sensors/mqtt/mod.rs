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
//!
//! One module a concern: [`rules`] (threshold, rate of rise, staleness, an
//! incident left open by a crash), [`fusion`], [`inputs`] (malformed flood,
//! 80 sensors, an oversized message), [`reload`]. The test publisher and the
//! helpers they share are here.

mod fusion;
mod inputs;
mod reload;
mod rules;

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
