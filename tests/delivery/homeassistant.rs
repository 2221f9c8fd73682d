//! Home Assistant MQTT discovery with the real `estatewatch run` binary, a
//! throw served over the in-process RTSP server and a real mosquitto: the
//! discovery configs are retained under `homeassistant/<component>/<node>/<object>/config`
//! with only the keys, and value types, that Home Assistant documents for
//! each component; the binary_sensor's state follows the throw (ON, then
//! OFF once its hold is over); the open-incident counter follows; the image
//! entity's topic carries the JPEG.

use crate::common::daemon::{wait_for, Daemon};
use crate::common::mosquitto::{config_text, Broker, Msg, Subscriber};
use crate::common::scenegen::{replay_camera, scenegen};
use estatewatch::ingest::RtspServer;
use serde_json::Value;
use std::time::Duration;

/// The JSON type a documented key takes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum T {
    Str,
    Int,
    Bool,
    /// A string or a list of strings (`device.identifiers`).
    StrOrList,
    /// The `device` mapping, checked against [`DEVICE`].
    Device,
}

/// Keys shared by every MQTT entity, from Home Assistant's MQTT discovery
/// documentation (https://www.home-assistant.io/integrations/mqtt/ and each
/// component's page): name, ids, availability, device, QoS, icon, …
const COMMON: &[(&str, T)] = &[
    ("name", T::Str),
    ("unique_id", T::Str),
    ("object_id", T::Str),
    ("default_entity_id", T::Str),
    ("availability_topic", T::Str),
    ("availability_template", T::Str),
    ("availability_mode", T::Str),
    ("payload_available", T::Str),
    ("payload_not_available", T::Str),
    ("device", T::Device),
    ("enabled_by_default", T::Bool),
    ("entity_category", T::Str),
    ("entity_picture", T::Str),
    ("icon", T::Str),
    ("json_attributes_topic", T::Str),
    ("json_attributes_template", T::Str),
    ("encoding", T::Str),
    ("qos", T::Int),
    ("platform", T::Str),
];

/// `binary_sensor.mqtt` (https://www.home-assistant.io/integrations/binary_sensor.mqtt/).
const BINARY_SENSOR: &[(&str, T)] = &[
    ("state_topic", T::Str),
    ("payload_on", T::Str),
    ("payload_off", T::Str),
    ("device_class", T::Str),
    ("value_template", T::Str),
    ("off_delay", T::Int),
    ("expire_after", T::Int),
    ("force_update", T::Bool),
];
const BINARY_SENSOR_REQUIRED: &[&str] = &["state_topic"];
/// The binary sensor device classes Home Assistant knows (its
/// `BinarySensorDeviceClass`).
const BINARY_SENSOR_CLASSES: &[&str] = &[
    "battery",
    "battery_charging",
    "carbon_monoxide",
    "cold",
    "connectivity",
    "door",
    "garage_door",
    "gas",
    "heat",
    "light",
    "lock",
    "moisture",
    "motion",
    "moving",
    "occupancy",
    "opening",
    "plug",
    "power",
    "presence",
    "problem",
    "running",
    "safety",
    "smoke",
    "sound",
    "tamper",
    "update",
    "vibration",
    "window",
];

/// `image.mqtt` (https://www.home-assistant.io/integrations/image.mqtt/):
/// `image_topic` (raw image bytes) or `url_topic`, not both.
const IMAGE: &[(&str, T)] = &[
    ("image_topic", T::Str),
    ("content_type", T::Str),
    ("image_encoding", T::Str),
    ("url_topic", T::Str),
    ("url_template", T::Str),
];
const IMAGE_REQUIRED: &[&str] = &["image_topic"];

/// `sensor.mqtt` (https://www.home-assistant.io/integrations/sensor.mqtt/).
const SENSOR: &[(&str, T)] = &[
    ("state_topic", T::Str),
    ("state_class", T::Str),
    ("unit_of_measurement", T::Str),
    ("device_class", T::Str),
    ("value_template", T::Str),
    ("suggested_display_precision", T::Int),
    ("expire_after", T::Int),
    ("force_update", T::Bool),
    ("last_reset_value_template", T::Str),
    ("options", T::StrOrList),
];
const SENSOR_REQUIRED: &[&str] = &["state_topic"];
const STATE_CLASSES: &[&str] = &[
    "measurement",
    "measurement_angle",
    "total",
    "total_increasing",
];

/// The `device` mapping's keys.
const DEVICE: &[(&str, T)] = &[
    ("identifiers", T::StrOrList),
    ("name", T::Str),
    ("manufacturer", T::Str),
    ("model", T::Str),
    ("model_id", T::Str),
    ("sw_version", T::Str),
    ("hw_version", T::Str),
    ("serial_number", T::Str),
    ("suggested_area", T::Str),
    ("configuration_url", T::Str),
    ("via_device", T::Str),
];

fn type_ok(v: &Value, t: T) -> bool {
    match t {
        T::Str => v.is_string(),
        T::Int => v.is_i64() || v.is_u64(),
        T::Bool => v.is_boolean(),
        T::StrOrList => {
            v.is_string() || v.as_array().is_some_and(|a| a.iter().all(Value::is_string))
        }
        T::Device => v.is_object(),
    }
}

/// Every key of `config` is documented for the component with that type,
/// and the required ones are there.
fn check_keys(what: &str, config: &Value, own: &[(&str, T)], required: &[&str]) {
    let obj = config
        .as_object()
        .unwrap_or_else(|| panic!("{what}: not an object: {config}"));
    for (k, v) in obj {
        let t = own
            .iter()
            .chain(COMMON)
            .find(|(name, _)| name == k)
            .map(|(_, t)| *t)
            .unwrap_or_else(|| panic!("{what}: key {k:?} is not documented for it: {config}"));
        assert!(type_ok(v, t), "{what}: {k} should be {t:?}, is {v}");
        if t == T::Device {
            for (dk, dv) in v.as_object().unwrap() {
                let dt = DEVICE
                    .iter()
                    .find(|(name, _)| name == dk)
                    .map(|(_, t)| *t)
                    .unwrap_or_else(|| panic!("{what}: device key {dk:?} undocumented"));
                assert!(
                    type_ok(dv, dt),
                    "{what}: device.{dk} should be {dt:?}, is {dv}"
                );
            }
        }
    }
    for r in required {
        assert!(
            obj.contains_key(*r),
            "{what}: required {r} missing: {config}"
        );
    }
}

fn on(msgs: &[Msg], topic: &str) -> Vec<String> {
    msgs.iter()
        .filter(|m| m.topic == topic)
        .map(|m| String::from_utf8_lossy(&m.payload).into_owned())
        .collect()
}

#[test]
fn discovery_configs_are_documented_and_the_binary_sensor_follows_a_throw() {
    let dir = tempfile::tempdir().unwrap();
    scenegen(
        dir.path(),
        "throwing",
        61,
        None,
        "size_px=16,floor=6,column=1",
        true,
    );
    let server = RtspServer::start(0, None).unwrap();
    server.add_file_loop("/tower", &dir.path().join("throwing-61.mp4"));
    let broker = Broker::start();
    let sub = Subscriber::subscribed(broker.port(), "#");
    let outbox = dir.path().join("outbox.db");
    let camera = replay_camera(
        &dir.path().join("throwing-61.toml"),
        &format!("url = \"{}\"", server.url("/tower")),
    );
    let config = dir.path().join("estatewatch.toml");
    std::fs::write(
        &config,
        format!(
            "{}[homeassistant]\nenabled = true\nhold_s = 3\n{camera}\n",
            config_text(broker.port(), &outbox, "", "")
        ),
    )
    .unwrap();
    let daemon = Daemon::start(&config, &outbox, &dir.path().join("daemon.log"));
    let log = || daemon.log();

    let node = "estatewatch_gw1";
    let object = "throwing-61_throwing";
    let bs_topic = format!("homeassistant/binary_sensor/{node}/{object}/config");
    let img_topic = format!("homeassistant/image/{node}/{object}/config");
    let cnt_topic = format!("homeassistant/sensor/{node}/open_incidents/config");
    let state = "estatewatch/gw1/cameras/throwing-61/incident/throwing";
    let count = "estatewatch/gw1/incidents/open";
    let snapshot = "estatewatch/gw1/cameras/throwing-61/snapshot/throwing";

    // A client that comes later gets every config, retained.
    wait_for(
        "the discovery configs",
        Duration::from_secs(60),
        &log,
        || {
            let m = sub.messages();
            [&bs_topic, &img_topic, &cnt_topic]
                .iter()
                .all(|t| m.iter().any(|x| &x.topic == *t))
                .then_some(())
        },
    );
    let late = Subscriber::subscribed(broker.port(), "homeassistant/#");
    let configs = wait_for(
        "the retained configs",
        Duration::from_secs(20),
        &log,
        || {
            let m = late.messages();
            let get = |t: &str| m.iter().find(|x| x.topic == t && x.retain).map(Msg::json);
            Some((get(&bs_topic)?, get(&img_topic)?, get(&cnt_topic)?))
        },
    );
    let (bs, img, cnt) = configs;
    check_keys("binary_sensor", &bs, BINARY_SENSOR, BINARY_SENSOR_REQUIRED);
    check_keys("image", &img, IMAGE, IMAGE_REQUIRED);
    check_keys("sensor", &cnt, SENSOR, SENSOR_REQUIRED);
    assert!(
        BINARY_SENSOR_CLASSES.contains(&bs["device_class"].as_str().unwrap()),
        "{bs}"
    );
    assert!(
        STATE_CLASSES.contains(&cnt["state_class"].as_str().unwrap()),
        "{cnt}"
    );
    assert_eq!(bs["state_topic"], state);
    assert_eq!(img["image_topic"], snapshot);
    assert_eq!(img["content_type"], "image/jpeg");
    assert_eq!(cnt["state_topic"], count);
    let ids: std::collections::HashSet<&str> = [&bs, &img, &cnt]
        .iter()
        .map(|c| c["unique_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3, "unique ids");
    for c in [&bs, &img, &cnt] {
        assert_eq!(c["device"], bs["device"], "one device per gateway");
        assert_eq!(c["availability_topic"], "estatewatch/gw1/status");
        assert_eq!(c["payload_available"], "online");
        assert_eq!(c["payload_not_available"], "offline");
    }
    assert_eq!(
        sub.last_on("estatewatch/gw1/status").as_deref(),
        Some("online"),
        "the availability topic says online"
    );

    // Nothing open at start; a throw turns the sensor ON, its hold's end OFF.
    wait_for("OFF at start", Duration::from_secs(20), &log, || {
        (on(&sub.messages(), state).first().map(String::as_str) == Some("OFF")).then_some(())
    });
    let throw = wait_for("a throw", Duration::from_secs(150), &log, || {
        sub.alerts()
            .into_iter()
            .find(|a| a["kind"] == "throwing" && a["state"] == "new")
    });
    let went_on = wait_for("ON after the throw", Duration::from_secs(30), &log, || {
        on(&sub.messages(), state).iter().position(|p| p == "ON")
    });
    wait_for("OFF after the hold", Duration::from_secs(60), &log, || {
        on(&sub.messages(), state)
            .iter()
            .skip(went_on + 1)
            .any(|p| p == "OFF")
            .then_some(())
    });
    let counts = on(&sub.messages(), count);
    assert_eq!(counts.first().map(String::as_str), Some("0"), "{counts:?}");
    let one = counts
        .iter()
        .position(|c| c == "1")
        .expect("the counter went to 1");
    let what = || {
        let kinds: Vec<String> = sub
            .alerts()
            .iter()
            .map(|a| format!("{} {}", a["kind"], a["state"]))
            .collect();
        format!(
            "{:?}\n{kinds:?}\n{}",
            on(&sub.messages(), count),
            daemon.log()
        )
    };
    wait_for(
        "the counter back to 0",
        Duration::from_secs(60),
        &what,
        || {
            on(&sub.messages(), count)
                .iter()
                .skip(one)
                .any(|c| c == "0")
                .then_some(())
        },
    );
    // The image entity's topic carries the alert's JPEG.
    let jpeg = wait_for("the snapshot", Duration::from_secs(30), &log, || {
        sub.messages()
            .into_iter()
            .find(|m| m.topic == snapshot)
            .map(|m| m.payload)
    });
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8], "a JPEG for {}", throw["event"]);
    drop(daemon);
    server.stop();
}
