//! Reload: changed, unchanged, added and removed sensors, `/metrics`, and a
//! `[fusion]`-only change.

use super::*;

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
