//! Fusion: a camera `fire` alert and a smoke sensor on that camera within
//! the window give a critical, linked alert; a sensor elsewhere keeps its
//! own severity.

use super::*;

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
