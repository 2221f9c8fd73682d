//! Platform profiles with a real mosquitto, the real outbox and publisher:
//! the shipped worked example (`config/profiles/aliyun-iot.toml`) appended
//! to a config, a throw and a fire submitted through the profile stage, and
//! a subscriber on the platform's thing-model topics receives each mapped
//! event (Alink shape, the unit of the throw, Shanghai-independent Unix
//! milliseconds), after the alert itself, on the absolute topic.

use crate::common::mosquitto::{config_text, Broker, Subscriber};
use estatewatch::alert::submit::AlertSubmit;
use estatewatch::alert::{Alert, AlertKind, AlertState, Severity};
use estatewatch::config::Config;
use estatewatch::delivery::notify::adapter::CameraNames;
use estatewatch::delivery::profile::{ProfileSet, ProfileSink};
use estatewatch::delivery::Delivery;
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aliyun_example_profile_publishes_thing_model_events_on_the_mapped_topic() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let example = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/profiles/aliyun-iot.toml"),
    )
    .unwrap();
    let text = config_text(broker.port(), &dir.path().join("outbox.db"), "", "") + &example;
    let cfg = Config::parse(&text).unwrap();
    assert!(cfg.validate().is_empty(), "{:?}", cfg.validate());
    assert_eq!(cfg.profiles.len(), 1);

    let sub = Subscriber::connect(broker.port(), "#");
    sub.wait_subscribed(1, Duration::from_secs(10));
    let delivery = Delivery::start(&cfg.delivery()).await.unwrap();
    let mut ctx = cfg.notify_context();
    ctx.cameras.insert(
        "tower-a".into(),
        CameraNames {
            name: "1号楼南面".into(),
            zones: Default::default(),
        },
    );
    let sink = ProfileSink::new(
        ProfileSet::new(&cfg.profiles, ctx),
        delivery.sink(),
        delivery.sink(),
    );

    let mut throw = Alert::new(AlertKind::Throwing, Severity::Major, "test-estate", "gw1");
    throw.camera = Some("tower-a".into());
    throw.details = json!({"origin": {"floor": 12, "column": 2, "column_label": "03", "unit_label": "1203",
        "x": 0.4, "y": 0.3, "within_calibration": true, "extrapolated_s": 0.0,
        "floor_confidence": 0.9, "second_floor": null}});
    let mut fire = Alert::new(AlertKind::Fire, Severity::Critical, "test-estate", "gw1");
    fire.camera = Some("shed".into());
    // Not mapped: an update, and a kind the profile does not list.
    let mut update = fire.clone();
    update.state = AlertState::Update;
    update.id = uuid::Uuid::now_v7();
    let motion = Alert::new(AlertKind::Motion, Severity::Info, "test-estate", "gw1");
    for a in [throw.clone(), fire.clone(), update, motion] {
        sink.submit(a).unwrap();
    }

    let throw_topic = "/sys/a1B2c3D4e5F/estate-gw1/thing/event/ThrowAlarm/post";
    let fire_topic = "/sys/a1B2c3D4e5F/estate-gw1/thing/event/FireAlarm/post";
    let got = sub.wait_until(Duration::from_secs(20), |msgs| {
        msgs.iter().any(|m| m.topic == fire_topic) && msgs.iter().any(|m| m.topic == throw_topic)
    });
    assert!(
        got,
        "mapped events arrived: {:?}",
        sub.messages().iter().map(|m| &m.topic).collect::<Vec<_>>()
    );
    let msgs = sub.messages();
    let at = |t: &str| msgs.iter().position(|m| m.topic == t).unwrap();
    assert!(
        at("estatewatch/gw1/alerts/throwing") < at(throw_topic),
        "the alert goes first"
    );
    let ev = msgs[at(throw_topic)].json();
    let id = ev["id"].as_str().expect("id is a string");
    assert!(
        id.parse::<u32>().is_ok(),
        "Alink ids are decimal numbers below 2^32: {id}"
    );
    assert_eq!(ev["version"], "1.0");
    assert_eq!(ev["method"], "thing.event.ThrowAlarm.post");
    assert_eq!(ev["params"]["time"], throw.detected_at.timestamp_millis());
    let v = &ev["params"]["value"];
    assert_eq!(v["incident"], throw.event.to_string());
    assert_eq!(v["state"], "new");
    assert_eq!(v["severity"], "major");
    assert_eq!(v["camera"], "1号楼南面");
    assert_eq!(v["floor"], 12);
    assert_eq!(v["unit"], "1203");
    let text = v["text"].as_str().unwrap();
    assert!(text.contains("12层 · 03列 · 1203室"), "{text}");

    let fe = msgs[at(fire_topic)].json();
    assert_eq!(fe["method"], "thing.event.FireAlarm.post");
    assert_eq!(fe["params"]["value"]["floor"], -1);
    assert_eq!(fe["params"]["value"]["camera"], "shed");
    // One mapped message per mapped alert: the update and the motion alert
    // (queued last, so here once it is) were passed on, not mapped.
    assert!(sub.wait_until(Duration::from_secs(10), |m| m
        .iter()
        .any(|m| m.topic == "estatewatch/gw1/alerts/motion")));
    let mapped = sub
        .messages()
        .iter()
        .filter(|m| m.topic.starts_with("/sys/"))
        .count();
    assert_eq!(mapped, 2);
    delivery.shutdown(Duration::from_secs(2)).await;
}

/// The daemon wires profiles in: `estatewatch run` with a camera nobody
/// serves raises `camera_offline` (through the camera watch), and a profile
/// mapping that kind publishes it on its own topic with the camera's
/// display name.
#[test]
fn the_daemon_maps_a_camera_outage_through_its_profile() {
    use crate::common::daemon::Daemon;
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox.db");
    let nobody = crate::common::mosquitto::free_port();
    let text = config_text(broker.port(), &outbox, "", "")
        + &format!(
            "[[cameras]]\nname = \"shed\"\ndisplay_name = \"1号车棚\"\n\
             url = \"rtsp://127.0.0.1:{nobody}/s\"\noffline_grace_s = 1\n\
             [[profiles]]\nname = \"district\"\nkinds = [\"camera_offline\"]\n\
             topic = \"district/{{{{ vars.estate }}}}/{{{{ alert.camera }}}}/{{{{ identifier }}}}\"\n\
             payload = '{{\"camera\": {{{{ camera_name|tojson }}}}, \"text\": {{{{ text|tojson }}}}}}'\n\
             vars = {{ estate = \"harbour\" }}\nidentifiers = {{ camera_offline = \"offline\" }}\n"
        );
    let cfg = dir.path().join("estatewatch.toml");
    std::fs::write(&cfg, &text).unwrap();
    let sub = Subscriber::connect(broker.port(), "district/#");
    sub.wait_subscribed(1, Duration::from_secs(10));
    let mut daemon = Daemon::start(&cfg, &outbox, &dir.path().join("daemon.log"));
    let got = sub.wait_until(Duration::from_secs(30), |m| !m.is_empty());
    assert!(got, "nothing mapped; daemon log:\n{}", daemon.log());
    let m = &sub.messages()[0];
    assert_eq!(m.topic, "district/harbour/shed/offline");
    let v = m.json();
    assert_eq!(v["camera"], "1号车棚");
    let t = v["text"].as_str().unwrap();
    assert!(
        t.starts_with("【严重】摄像头离线 · 1号车棚\n状态：新告警\n"),
        "{t}"
    );
    assert!(daemon.term(), "{}", daemon.log());
}
