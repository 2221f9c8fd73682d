//! Real payloads built by the code (a throwing alert from the analyzer, a
//! motion alert, camera outage alerts and states, sensor alerts with fusion,
//! a stats snapshot) fit their schemas, and the docs show their fields.

use super::*;

/// A throwing alert from the analyzer, through the worker that builds alerts.
fn real_throwing_alert() -> Alert {
    use crate::throwing_scene::*;
    let fps = 10;
    let cfg = Config::parse(&config_toml(fps, "")).expect("config parses");
    let mut analyzers = build_analyzers(&cfg.cameras[0]).expect("analyzers build");
    let mut builder = AlertBuilder::new(AlertOrigin {
        site: "harbour-view".into(),
        gateway: "gw-tower-a".into(),
        camera: "tower".into(),
    });
    let base = facade();
    let (x0, y0, release) = (col_mid(3), floor_mid(7), 6.0);
    let mut alerts = Vec::new();
    for k in 0..(5 * fps as u64) {
        let t = 5.0 + k as f64 / fps as f64;
        let d = (t - release) as f32;
        let y = y0 + 0.5 * G_PX * d * d;
        let sprites = if t >= release && y < H as f32 {
            vec![Sprite::Disc {
                x: x0,
                y,
                d: 6.0,
                v: 235,
            }]
        } else {
            Vec::new()
        };
        let fx = Effects {
            noise: 3,
            ..Effects::default()
        };
        let f = frame(k, t, render(&base, &sprites, fx, k as u32));
        alerts.extend(analyse(&f, &mut analyzers, &mut builder));
    }
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    alerts.remove(0)
}

#[test]
fn a_real_throwing_alert_fits_the_schema_and_the_docs_show_its_fields() {
    let alert = real_throwing_alert();
    assert_eq!(alert.kind, AlertKind::Throwing);
    let real = alert_value(&alert);
    assert_eq!(real["details"]["origin"]["floor"], 7, "{real:#}");
    assert_fits(
        &load_schema("alert-v1.schema.json"),
        &real,
        "a real throwing alert",
    );
    // The docs' example has exactly the fields of the alert as published
    // by default: picture stored and pointed to, not embedded.
    let published = alert_value(&published(alert));
    assert_fits(
        &load_schema("alert-v1.schema.json"),
        &published,
        "a real throwing alert as published",
    );
    let doc = doc_example("alert-v1.schema.json", "\"kind\": \"throwing\"");
    assert_eq!(
        paths(&doc),
        paths(&published),
        "docs/mqtt.md's throwing alert"
    );
}

/// `alert` as the daemon publishes it by default: through the real
/// evidence stage (picture stored, `evidence` added), then without the
/// embedded snapshot (`mqtt.embed_snapshots = false`).
fn published(alert: Alert) -> Alert {
    use estatewatch::alert::submit::{AlertSubmit, SubmitError};
    use estatewatch::evidence::sink::EvidenceStage;
    use estatewatch::evidence::store::{EvidenceLink, EvidenceStore, Limits};
    struct Keep(std::sync::Mutex<Vec<Alert>>);
    impl AlertSubmit for Keep {
        fn submit(&self, a: Alert) -> Result<(), SubmitError> {
            self.0.lock().unwrap().push(a);
            Ok(())
        }
    }
    struct NoOutbox;
    impl EvidenceLink for NoOutbox {
        fn protected_events(&self) -> Result<std::collections::BTreeSet<uuid::Uuid>, String> {
            Ok(Default::default())
        }
        fn publish_snapshot(&self, _: &str, _: AlertKind, _: Vec<u8>) {}
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EvidenceStore::new(
        dir.path(),
        Limits {
            max_bytes: 1 << 30,
            min_free_bytes: 0,
            retention: Duration::from_secs(86_400),
        },
    ));
    let keep = Arc::new(Keep(std::sync::Mutex::new(Vec::new())));
    let stage = EvidenceStage::start(
        store,
        Arc::new(NoOutbox),
        Some("https://gw-tower-a.example:8443"),
        keep.clone(),
    )
    .unwrap();
    stage.sink().submit(alert).unwrap();
    stage.shutdown();
    let mut a = keep
        .0
        .lock()
        .unwrap()
        .pop()
        .expect("the stage passed it on");
    assert!(a.evidence.is_some(), "{a:?}");
    a.snapshot = None;
    a
}

fn frame_of(seq: u64, t: f64, w: u32, h: u32, rgb: Vec<u8>) -> Frame {
    Frame {
        camera: Arc::from("lobby"),
        seq,
        pts: Some(Duration::from_secs_f64(t)),
        captured_at: SystemTime::now(),
        width: w,
        height: h,
        rgb: Arc::new(rgb),
    }
}

const SITE: &str = r#"
[site]
id = "harbour-view"

[gateway]
id = "gw-tower-a"
"#;

#[test]
fn a_real_motion_alert_fits_the_schema() {
    let cfg = Config::parse(&format!(
        "{SITE}\n[[cameras]]\nname = \"lobby\"\nurl = \"rtsp://127.0.0.1/x\"\n[cameras.detect]\nwidth = 64\nheight = 36\n[cameras.analyzers.motion]\nzones = [ {{ name = \"door\", polygon = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]] }} ]\n"
    ))
    .expect("config parses");
    let mut analyzers = build_analyzers(&cfg.cameras[0]).expect("analyzers build");
    let mut builder = AlertBuilder::new(AlertOrigin {
        site: "harbour-view".into(),
        gateway: "gw-tower-a".into(),
        camera: "lobby".into(),
    });
    let dark = vec![20u8; 64 * 36 * 3];
    let mut lit = dark.clone();
    lit[..64 * 18 * 3].fill(220);
    let mut alerts = analyse(
        &frame_of(0, 1.0, 64, 36, dark),
        &mut analyzers,
        &mut builder,
    );
    alerts.extend(analyse(
        &frame_of(1, 1.1, 64, 36, lit),
        &mut analyzers,
        &mut builder,
    ));
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].kind, AlertKind::Motion);
    assert!(alerts[0].snapshot.is_some());
    assert_fits(
        &load_schema("alert-v1.schema.json"),
        &alert_value(&alerts[0]),
        "a real motion alert",
    );
}

#[test]
fn real_camera_outage_alerts_and_states_fit_their_schemas() {
    let alert_schema = load_schema("alert-v1.schema.json");
    let state_schema = load_schema("camera-state-v1.schema.json");
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_772_330_000);
    let mut watch = CameraWatch::new(
        "harbour-view",
        "gw-tower-a",
        Duration::from_secs(30),
        HashMap::new(),
    );
    let event = |secs: u64, status: CameraStatus| CameraEvent {
        camera: "shed-north".into(),
        at: t0 + Duration::from_secs(secs),
        status,
    };
    let mut out = watch.on_event(&event(0, CameraStatus::Online), t0);
    let offline = CameraStatus::Offline {
        reason: "connection refused".into(),
    };
    out.extend(watch.on_event(&event(10, offline), t0 + Duration::from_secs(10)));
    out.extend(watch.tick(t0 + Duration::from_secs(41)));
    out.extend(watch.on_event(
        &event(100, CameraStatus::Online),
        t0 + Duration::from_secs(100),
    ));
    // Its evidence stream's own outage.
    let evidence_off = CameraStatus::EvidenceOffline {
        reason: "stalled: no data for 10 s".into(),
    };
    out.extend(watch.on_event(&event(110, evidence_off), t0 + Duration::from_secs(110)));
    out.extend(watch.tick(t0 + Duration::from_secs(141)));
    out.extend(watch.on_event(
        &event(150, CameraStatus::EvidenceOnline),
        t0 + Duration::from_secs(150),
    ));
    let mut kinds = Vec::new();
    let mut states = Vec::new();
    for o in &out {
        match o {
            Output::Alert(a) => {
                assert_fits(&alert_schema, &alert_value(a), "a real camera alert");
                kinds.push((a.kind, a.state));
            }
            Output::State { payload, .. } => {
                let v: Value = serde_json::from_slice(payload).expect("state JSON");
                assert_fits(&state_schema, &v, "a real camera state");
                states.push(v);
            }
        }
    }
    assert_eq!(
        kinds,
        [
            (AlertKind::CameraOffline, AlertState::New),
            (AlertKind::CameraOnline, AlertState::End),
            (AlertKind::EvidenceOffline, AlertState::New),
            (AlertKind::EvidenceOnline, AlertState::End)
        ]
    );
    assert!(states.iter().any(|s| s["alerted"] == true), "{states:#?}");
    // The docs' example has exactly a real offline state's fields.
    let doc = doc_example("camera-state-v1.schema.json", "\"status\"");
    let real = states
        .iter()
        .find(|s| s["status"] == "offline")
        .expect("an offline state");
    assert_eq!(paths(&doc), paths(real), "docs/mqtt.md's camera state");
}

#[test]
fn real_sensor_alerts_with_fusion_fit_the_schema() {
    let schema = load_schema("alert-v1.schema.json");
    let cfg = Config::parse(&format!(
        r#"{SITE}
[[sensors]]
name = "shed-a-temp"
topic = "zigbee2mqtt/shed-a-temp"
value = "temperature"
unit = "°C"
area = "Block A bike shed"
camera = "shed-north"
stale_after_min = 30

[[sensors.rules]]
type = "threshold"
above = 60.0
hysteresis = 5.0
severity = "major"

[[sensors.rules]]
type = "rate_of_rise"
rise = 8.0
"#
    ))
    .expect("config parses");
    let started = Instant::now();
    let mut m = SensorMonitor::new(&cfg.sensors[0], "harbour-view", "gw-tower-a", started);
    let mut fusion = Fusion::new(&cfg.fusion);
    // A camera fire alert first, then the sensor agrees.
    let mut fire = Alert::new(
        AlertKind::Fire,
        Severity::Critical,
        "harbour-view",
        "gw-tower-a",
    );
    fire.camera = Some("shed-north".into());
    fusion.apply(&mut fire);

    let at = |s: u64| started + Duration::from_secs(s);
    let mut alerts = Vec::new();
    alerts.extend(m.on_payload(br#"{"temperature": 21.5}"#, at(1)));
    alerts.extend(m.on_payload(br#"{"temperature": 64.0}"#, at(20)));
    alerts.extend(m.on_payload(br#"{"temperature": 20.0}"#, at(200)));
    alerts.extend(m.tick(at(200 + 31 * 60)));
    alerts.extend(m.on_payload(br#"{"temperature": 20.5}"#, at(200 + 32 * 60)));
    alerts.extend(m.on_payload(br#"{"temperature": 70.0}"#, at(200 + 33 * 60)));
    alerts.extend(m.end_open("reload"));
    for a in &mut alerts {
        fusion.apply(a);
    }
    let fused = alerts
        .iter()
        .filter(|a| a.details.get("fusion").is_some())
        .count();
    assert!(fused >= 1, "{alerts:#?}");
    let seen: BTreeSet<(String, String)> = alerts
        .iter()
        .map(|a| {
            (
                a.kind.as_str().to_string(),
                format!("{:?}", a.state).to_lowercase(),
            )
        })
        .collect();
    for want in [
        ("sensor", "new"),
        ("sensor", "end"),
        ("sensor_offline", "new"),
        ("sensor_offline", "end"),
    ] {
        assert!(
            seen.contains(&(want.0.to_string(), want.1.to_string())),
            "no {want:?} in {seen:?}"
        );
    }
    for a in &alerts {
        assert_fits(&schema, &alert_value(a), "a real sensor alert");
    }
}

#[test]
fn a_real_stats_snapshot_fits_the_schema_and_the_docs_show_its_fields() {
    let mut timing = monitor::Timing::default();
    timing.record(Duration::from_micros(3900));
    let timings: BTreeMap<String, monitor::Timing> = [("throwing".to_string(), timing)].into();
    let snapshot = monitor::Snapshot {
        schema: monitor::STATS_SCHEMA,
        site: "harbour-view".into(),
        gateway: "gw-tower-a".into(),
        at: chrono::Utc::now(),
        uptime_s: 86400,
        cameras: vec![monitor::CameraSnapshot {
            camera: "tower-a-south".into(),
            online: true,
            frames_in: 864012,
            frames_analysed: 860110,
            frames_skipped: 3902,
            reconnects: 2,
            fps_in: 10.0,
            fps_analysed: 9.8,
            fps_skipped: 0.2,
            worker_tick_age_ms: 31,
            analyzer_ms: timings.clone(),
            selftest: Some(monitor::selftest::SelftestResult {
                at: chrono::Utc::now(),
                passed: true,
                checks: vec![monitor::selftest::SelftestCheck {
                    name: "similarity",
                    kind: "view",
                    passed: true,
                    value: Some(0.91),
                    threshold: Some(0.45),
                    note: None,
                }],
                reference: "compared",
                frames: 30,
                cpu_ms: 412.5,
            }),
            evidence: Some(estatewatch::evidence::RecorderStats {
                ring_bytes: 4_718_592,
                ring_s: 9.2,
                stream_online: true,
                clips_written: 3,
                clips_failed: 0,
                last_announce_delay_s: Some(10.4),
            }),
            last_outage: None,
            display_name: None,
            zones: Vec::new(),
        }],
        models: [("nanodet-g-coco".to_string(), timing)].into(),
        inference: {
            let mut h = monitor::Histogram::default();
            h.record(Duration::from_millis(24));
            monitor::InferenceSnapshot {
                queue_depth: 1,
                submitted: 1210,
                dropped: 0,
                latency: [("nanodet-g-coco".to_string(), h)].into(),
            }
        },
        outbox: monitor::OutboxSnapshot {
            submitted: 41,
            depth: 0,
            oldest_age_s: 0.0,
            dropped: 0,
            writable: true,
            problem: None,
        },
        mqtt: monitor::MqttSnapshot {
            connected: true,
            connects: 3,
            sent: 44,
            delivered: 41,
            publish_latency_ms: timing,
            down_for_s: 0.0,
            failures: 0,
            broker_error: None,
            last_delivered: None,
        },
        sensors: vec![monitor::SensorSnapshot {
            sensor: "shed-smoke-1".into(),
            readings: 1440,
            bad_payloads: 0,
            value: Some(0.02),
            last_reading_age_s: Some(31.5),
        }],
        evidence: Some(estatewatch::evidence::store::EvidenceStats {
            bytes: 7_340_032_000,
            events: 412,
            oldest_age_s: 2_591_000.0,
            evictions: [
                ("retention".to_string(), 120),
                ("cap".to_string(), 0),
                ("disk_free".to_string(), 0),
            ]
            .into(),
            write_failures: 0,
            writable: true,
            problem: None,
            free_bytes: Some(48_000_000_000),
        }),
        desk: None,
        notifiers: Vec::new(),
        profiles: Vec::new(),
    };
    // Serialised as the stats publisher does.
    let real: Value =
        serde_json::from_slice(&serde_json::to_vec(&snapshot).expect("stats serialise"))
            .expect("stats JSON");
    let at = real["at"].as_str().expect("at is a string");
    assert_eq!(at.len(), "2026-03-01T02:15:00.004Z".len(), "{at}");
    assert_fits(
        &load_schema("stats-v1.schema.json"),
        &real,
        "a real stats snapshot",
    );
    let doc = doc_example("stats-v1.schema.json", "\"uptime_s\"");
    assert_eq!(paths(&doc), paths(&real), "docs/mqtt.md's stats example");
}
