//! The desk in-process, on the real seam (`Desk::stage` in front of
//! delivery's sink), with a real desk file, a real outbox and a real broker.

use crate::common::mosquitto::{config_text, publish, Broker, Gate, Msg, Subscriber};
use estatewatch::alert::submit::AlertSubmit;
use estatewatch::alert::{Alert, AlertKind, AlertState, Evidence, EvidenceFile, Severity};
use estatewatch::config::Config;
use estatewatch::delivery::Delivery;
use estatewatch::desk::{
    Action, Actor, Desk, DeskError, IncidentQuery, IncidentState, Outcome, Via,
};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

/// A deadline for a loaded, shared machine, not a speed check.
const WAIT: Duration = Duration::from_secs(30);

pub(crate) fn config(port: u16, dir: &Path, desk: &str) -> Config {
    let text = format!(
        "{}\n[desk]\n{desk}\n\
         [[cameras]]\nname = \"tower-a-south\"\ndisplay_name = \"3号楼南侧\"\n\
         url = \"rtsp://127.0.0.1:1/x\"\n\
         [cameras.analyzers.motion]\n\
         zones = [{{ name = \"lawn\", display_name = \"南草坪\", polygon = [[0, 0], [1, 0], [1, 1]] }}]\n",
        config_text(port, &dir.join("outbox.db"), "", "")
    );
    Config::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// Delivery on `cfg`'s sections and the desk in front of its sink.
pub(crate) async fn start_desk(cfg: &Config) -> (Delivery, Desk) {
    let delivery = Delivery::start(&cfg.delivery()).await.unwrap();
    let desk = Desk::open(&cfg.desk_sections(), delivery.sink()).unwrap();
    (delivery, desk)
}

/// A runtime for the tests that are not async themselves.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

pub(crate) fn console(name: &str) -> Actor {
    Actor {
        name: name.into(),
        via: Via::Console,
    }
}

/// A throwing alert as it leaves the evidence stage: stored picture, origin.
pub(crate) fn throwing() -> Alert {
    let mut a = Alert::new(AlertKind::Throwing, Severity::Major, "test-estate", "gw1");
    a.camera = Some("tower-a-south".into());
    a.zone = Some("lawn".into());
    a.details = serde_json::json!({
        "origin": {"floor": 17, "column": 2, "column_label": "03", "unit_label": "1703"}
    });
    a.evidence = Some(Evidence {
        files: vec![EvidenceFile {
            name: "snapshot-detect.jpg".into(),
            path: format!("tower-a-south/{}/snapshot-detect.jpg", a.event),
            url: format!("/evidence/{}/snapshot-detect.jpg", a.event),
            sha256: "00".into(),
            bytes: 1,
        }],
        ..Evidence::default()
    });
    a
}

fn critical(kind: AlertKind) -> Alert {
    let mut a = Alert::new(kind, Severity::Critical, "test-estate", "gw1");
    a.camera = Some("tower-a-south".into());
    a
}

/// Waits until the desk knows `event`.
pub(crate) fn wait_incident(desk: &Desk, event: &str) -> estatewatch::desk::IncidentDetail {
    let end = Instant::now() + WAIT;
    loop {
        if let Some(d) = desk.get(event).expect("desk readable") {
            return d;
        }
        assert!(Instant::now() < end, "incident {event} never appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn on(msgs: &[Msg], event: &str, what: &str) -> Vec<Value> {
    msgs.iter()
        .filter(|m| m.topic == format!("estatewatch/gw1/incidents/{event}/{what}"))
        .map(|m| m.json())
        .collect()
}

fn schema(file: &str) -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join(file);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    jsonschema::validator_for(&v).expect("schema compiles")
}

fn assert_valid(v: &jsonschema::Validator, instance: &Value) {
    let errors: Vec<String> = v.iter_errors(instance).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}\n{instance}");
}

/// Distinct handling messages of `event` (redeliveries dropped by `id`), in
/// arrival order.
fn distinct(mut msgs: Vec<Value>) -> Vec<Value> {
    let mut seen = std::collections::HashSet::new();
    msgs.retain(|m| seen.insert(m["id"].as_str().unwrap_or_default().to_string()));
    msgs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_opens_an_incident_then_ack_assign_note_resolve_arrive_on_mqtt_in_order() {
    let broker = Broker::start();
    let sub = Subscriber::subscribed(broker.port(), "estatewatch/gw1/#");
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(broker.port(), dir.path(), "");
    let (delivery, desk) = start_desk(&cfg).await;
    let mut changes = desk.subscribe();
    let stage = desk.stage(delivery.sink());

    let a = throwing();
    let event = a.event.to_string();
    stage.submit(a.clone()).unwrap();
    // A camera outage is maintenance, not an incident.
    let mut off = Alert::new(
        AlertKind::CameraOffline,
        Severity::Major,
        "test-estate",
        "gw1",
    );
    off.camera = Some("tower-a-south".into());
    stage.submit(off.clone()).unwrap();

    let d = wait_incident(&desk, &event);
    let s = &d.summary;
    assert_eq!(s.state, IncidentState::Open);
    assert_eq!(s.kind, "throwing");
    assert_eq!(s.camera_display, "3号楼南侧");
    assert_eq!(s.zone_display.as_deref(), Some("南草坪"));
    assert_eq!(s.alert_state, "new");
    assert_eq!(
        s.snapshot.as_deref(),
        Some(format!("{event}/snapshot-detect.jpg").as_str())
    );
    let origin = s.throw_origin.as_ref().expect("throw origin");
    assert_eq!(
        (origin.floor, origin.unit_label.as_deref()),
        (Some(17), Some("1703"))
    );
    assert_eq!(d.alert["id"], a.id.to_string());
    assert!(d.handling.is_empty());
    let change = tokio::time::timeout(WAIT, changes.recv())
        .await
        .unwrap()
        .unwrap();
    let estatewatch::desk::DeskChange::Incident(c) = change;
    assert_eq!(c.event, event);

    // The clip announcement updates the same incident.
    let mut clip = a.clone();
    clip.id = uuid::Uuid::now_v7();
    clip.state = AlertState::Update;
    clip.evidence = Some(Evidence {
        clip: Some(estatewatch::alert::Clip {
            path: format!("tower-a-south/{event}/clip.mp4"),
            sha256: "00".into(),
            bytes: 1,
            duration_ms: 1000,
            width: 1920,
            height: 1080,
            start: chrono::Utc::now(),
        }),
        ..Evidence::default()
    });
    stage.submit(clip).unwrap();
    let end = Instant::now() + WAIT;
    while desk.get(&event).unwrap().unwrap().summary.clip.is_none() {
        assert!(Instant::now() < end, "clip never recorded");
        std::thread::sleep(Duration::from_millis(20));
    }
    let page = desk.list(&IncidentQuery::default()).unwrap();
    assert_eq!(page.total, 1, "only the throw is an incident: {page:?}");
    assert_eq!(
        page.items[0].clip.as_deref(),
        Some(format!("{event}/clip.mp4").as_str())
    );

    desk.act(
        &event,
        Action::Acknowledge {
            note: Some("on my way".into()),
        },
        &console("王工"),
    )
    .unwrap();
    desk.act(
        &event,
        Action::Assign {
            to: "李师傅".into(),
        },
        &console("王工"),
    )
    .unwrap();
    desk.act(
        &event,
        Action::Note {
            text: "1703 visited".into(),
        },
        &console("李师傅"),
    )
    .unwrap();
    let done = desk
        .act(
            &event,
            Action::Resolve {
                outcome: Outcome::Handled,
                reason: None,
            },
            &console("李师傅"),
        )
        .unwrap();
    assert_eq!(done.summary.state, IncidentState::ResolvedHandled);
    assert_eq!(done.summary.assignee.as_deref(), Some("李师傅"));
    assert!(done.summary.acked_at.is_some() && done.summary.resolved_at.is_some());
    let trail: Vec<(&str, &str)> = done
        .handling
        .iter()
        .map(|h| (h.action.name(), h.actor.name.as_str()))
        .collect();
    assert_eq!(
        trail,
        [
            ("acknowledge", "王工"),
            ("assign", "王工"),
            ("note", "李师傅"),
            ("resolve", "李师傅")
        ]
    );

    // Steps that do not fit the state are refused and change nothing.
    let e = desk
        .act(&event, Action::Acknowledge { note: None }, &console("王工"))
        .unwrap_err();
    assert!(
        matches!(
            e,
            DeskError::NotAllowed {
                state: IncidentState::ResolvedHandled,
                ..
            }
        ),
        "{e}"
    );
    let e = desk
        .act(
            &event,
            Action::Resolve {
                outcome: Outcome::FalseAlarm,
                reason: None,
            },
            &console("王工"),
        )
        .unwrap_err();
    assert!(e.to_string().contains("only notes can be added"), "{e}");
    let e = desk
        .act(
            &uuid::Uuid::now_v7().to_string(),
            Action::Acknowledge { note: None },
            &console("王工"),
        )
        .unwrap_err();
    assert!(matches!(e, DeskError::UnknownIncident { .. }), "{e}");
    assert_eq!(desk.get(&event).unwrap().unwrap().handling.len(), 4);

    // On MQTT: the alert, then the four steps in order, each valid.
    assert!(
        sub.wait_until(WAIT, |m| distinct(on(m, &event, "handling")).len() >= 4),
        "handling messages did not all arrive: {:?}",
        sub.messages().iter().map(|m| &m.topic).collect::<Vec<_>>()
    );
    let handling = distinct(on(&sub.messages(), &event, "handling"));
    let actions: Vec<&str> = handling
        .iter()
        .map(|m| m["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["acknowledge", "assign", "note", "resolve"]);
    let seqs: Vec<i64> = handling
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let v = schema("handling-v1.schema.json");
    for m in &handling {
        assert_valid(&v, m);
    }
    assert_eq!(handling[0]["note"], "on my way");
    assert_eq!(handling[3]["outcome"], "handled");
    assert_eq!(handling[3]["state"], "resolved_handled");
    let alerts = sub.alerts();
    assert!(alerts.iter().any(|x| x["id"] == a.id.to_string()));
    assert!(
        alerts.iter().any(|x| x["id"] == off.id.to_string()),
        "non-incidents still delivered"
    );
    drop(desk);
    drop(stage);
    delivery.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handling_waits_out_a_broker_outage_and_a_restart_and_the_state_is_kept() {
    let broker = Broker::start();
    let mut gate = Gate::new(broker.port());
    let sub = Subscriber::subscribed(broker.port(), "estatewatch/gw1/#");
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(gate.port(), dir.path(), "");
    // The broker is unreachable from the start (the gate is closed).
    let (delivery, desk) = start_desk(&cfg).await;
    let stage = desk.stage(delivery.sink());
    let a = throwing();
    let event = a.event.to_string();
    stage.submit(a).unwrap();
    wait_incident(&desk, &event);
    desk.act(&event, Action::Acknowledge { note: None }, &console("王工"))
        .unwrap();
    desk.act(
        &event,
        Action::Note {
            text: "1 of 2".into(),
        },
        &console("王工"),
    )
    .unwrap();
    // Restart: stop delivery (messages stay in the outbox) and the desk.
    drop(stage);
    drop(desk);
    delivery.shutdown(Duration::ZERO).await;
    assert!(on(&sub.messages(), &event, "handling").is_empty());

    let (delivery, desk) = start_desk(&cfg).await;
    let kept = desk
        .get(&event)
        .unwrap()
        .expect("incident kept across the restart");
    assert_eq!(kept.summary.state, IncidentState::Acknowledged);
    assert_eq!(kept.handling.len(), 2);
    assert_eq!(kept.summary.kind, "throwing");
    desk.act(
        &event,
        Action::Resolve {
            outcome: Outcome::FalseAlarm,
            reason: Some("a bird".into()),
        },
        &console("王工"),
    )
    .unwrap();
    let counts = desk.counts().unwrap();
    assert_eq!(counts.total, 0, "{counts:?}");
    let figures = desk.figures().unwrap();
    assert_eq!(figures.false_alarms.len(), 1);
    assert_eq!(
        (
            figures.false_alarms[0].camera.as_str(),
            figures.false_alarms[0].analyzer.as_str()
        ),
        ("tower-a-south", "throwing")
    );
    assert_eq!(figures.time_to_acknowledge[0].histogram.count, 1);
    assert_eq!(figures.time_to_resolve[0].histogram.count, 1);

    gate.open();
    assert!(
        sub.wait_until(WAIT, |m| distinct(on(m, &event, "handling")).len() >= 3),
        "handling messages not delivered after the outage"
    );
    let handling = distinct(on(&sub.messages(), &event, "handling"));
    let actions: Vec<&str> = handling
        .iter()
        .map(|m| m["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["acknowledge", "note", "resolve"]);
    assert_eq!(handling[2]["reason"], "a bird");
    assert_eq!(handling[2]["state"], "resolved_false_alarm");
    drop(desk);
    delivery.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unacknowledged_critical_incident_escalates_and_an_acknowledged_one_does_not() {
    let broker = Broker::start();
    let sub = Subscriber::subscribed(broker.port(), "estatewatch/gw1/#");
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        broker.port(),
        dir.path(),
        "escalate_after_s = { fire = 1 }\nescalate_after_s_default = 0\n",
    );
    let (delivery, desk) = start_desk(&cfg).await;
    let stage = desk.stage(delivery.sink());
    // Raised in this order: A (left alone), B (acknowledged at once),
    // C (left alone, raised after B), D (major, never escalates), E (a
    // critical throw: kind without a delay, default 0 = never).
    let (a, b) = (critical(AlertKind::Fire), critical(AlertKind::Fire));
    let mut d = critical(AlertKind::Fire);
    d.severity = Severity::Major;
    let e = critical(AlertKind::Throwing);
    for x in [&a, &b, &d, &e] {
        stage.submit(x.clone()).unwrap();
    }
    let ev = |x: &Alert| x.event.to_string();
    wait_incident(&desk, &ev(&b));
    desk.act(
        &ev(&b),
        Action::Acknowledge { note: None },
        &console("王工"),
    )
    .unwrap();
    let c = critical(AlertKind::Fire);
    stage.submit(c.clone()).unwrap();
    wait_incident(&desk, &ev(&c));

    // C's delay ends after B's and D's would: once C has escalated, B and D
    // would have by now.
    assert!(
        sub.wait_until(WAIT, |m| !on(m, &ev(&c), "escalation").is_empty()
            && !on(m, &ev(&a), "escalation").is_empty()),
        "A and C never escalated"
    );
    let msgs = sub.messages();
    for x in [&b, &d, &e] {
        assert!(
            on(&msgs, &ev(x), "escalation").is_empty(),
            "{} escalated",
            ev(x)
        );
        assert!(!desk.get(&ev(x)).unwrap().unwrap().summary.escalated);
    }
    let esc = on(&msgs, &ev(&a), "escalation");
    assert_eq!(esc.len(), 1, "escalated once: {esc:?}");
    assert_valid(&schema("escalation-v1.schema.json"), &esc[0]);
    // The latest alert, exactly as published.
    assert_eq!(esc[0]["alert"], serde_json::to_value(&a).unwrap());
    assert_eq!(esc[0]["escalated"], true);
    assert_eq!(esc[0]["escalate_after_s"], 1);
    assert_eq!(esc[0]["alert"]["id"], a.id.to_string());
    assert!(desk.get(&ev(&a)).unwrap().unwrap().summary.escalated);
    assert_eq!(desk.figures().unwrap().escalations["fire"], 2);
    // An escalated incident can still be handled as usual.
    desk.act(
        &ev(&a),
        Action::Acknowledge { note: None },
        &console("王工"),
    )
    .unwrap();
    drop(stage);
    drop(desk);
    delivery.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_acknowledges_over_mqtt_and_bad_commands_are_refused() {
    let broker = Broker::start();
    let sub = Subscriber::subscribed(broker.port(), "estatewatch/gw1/#");
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(broker.port(), dir.path(), "");
    let (delivery, desk) = start_desk(&cfg).await;
    let listener = desk.listen_commands(&cfg.mqtt, "gw1").unwrap();
    let stage = desk.stage(delivery.sink());
    let a = critical(AlertKind::Fire);
    let event = a.event.to_string();
    stage.submit(a).unwrap();
    wait_incident(&desk, &event);
    let port = broker.port();
    let base = format!("estatewatch/gw1/commands/incidents/{event}");
    // The listener subscribes once connected; retry the first command until
    // it is taken (a command before the subscription is simply not seen).
    let end = Instant::now() + WAIT;
    let bad: [(String, &[u8]); 4] = [
        (format!("{base}/ack"), br#"{"by": 5}"#),
        (format!("{base}/close"), br#"{"by": "district-ops"}"#),
        (
            format!("{base}/resolve"),
            br#"{"by": "district-ops", "outcome": "maybe"}"#,
        ),
        (
            format!(
                "estatewatch/gw1/commands/incidents/{}/ack",
                uuid::Uuid::now_v7()
            ),
            br#"{"by": "district-ops"}"#,
        ),
    ];
    loop {
        let b = base.clone();
        tokio::task::spawn_blocking(move || {
            publish(
                port,
                &format!("{b}/ack"),
                br#"{"by": "district-ops", "note": "team 3 sent"}"#,
            )
        })
        .await
        .unwrap();
        if sub.wait_until(Duration::from_secs(2), |m| {
            !on(m, &event, "handling").is_empty()
        }) {
            break;
        }
        assert!(Instant::now() < end, "the platform's ack was never taken");
    }
    let d = desk.get(&event).unwrap().unwrap();
    assert_eq!(d.summary.state, IncidentState::Acknowledged);
    assert_eq!(d.handling.len(), 1, "acknowledged once: {:?}", d.handling);
    assert_eq!(d.handling[0].actor.via, Via::Platform);
    assert_eq!(d.handling[0].actor.name, "district-ops");
    let handling = on(&sub.messages(), &event, "handling");
    assert_eq!(handling[0]["actor"]["via"], "platform");
    assert_eq!(handling[0]["note"], "team 3 sent");

    // The schema the platform is given says the same as the desk: the
    // accepted payload fits it, the refused ones do not.
    let commands = schema("command-v1.schema.json");
    let good: Value = serde_json::json!({"by": "district-ops", "note": "team 3 sent"});
    assert_valid(&commands, &good);
    for (_, payload) in bad
        .iter()
        .filter(|(t, _)| t.ends_with("/ack") || t.ends_with("/resolve"))
    {
        let v: Value = serde_json::from_slice(payload).unwrap();
        if v["by"] == "district-ops" && v.get("outcome").is_none() {
            continue; // a good payload on an unknown incident
        }
        assert!(!commands.is_valid(&v), "{v} fits the command schema");
    }
    let refused_before = desk.figures().unwrap().commands_refused;
    for (topic, payload) in bad.iter().cloned() {
        tokio::task::spawn_blocking(move || publish(port, &topic, payload))
            .await
            .unwrap();
    }
    let end = Instant::now() + WAIT;
    while desk.figures().unwrap().commands_refused < refused_before + 4 {
        assert!(Instant::now() < end, "bad commands not all refused");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let d = desk.get(&event).unwrap().unwrap();
    assert_eq!(
        d.summary.state,
        IncidentState::Acknowledged,
        "bad commands changed nothing"
    );
    assert_eq!(d.handling.len(), 1);
    listener.stop().await;
    drop(stage);
    drop(desk);
    delivery.shutdown(Duration::from_secs(2)).await;
}

#[test]
fn the_desk_file_keeps_its_trail_append_only_and_refuses_foreign_files() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let cfg = config(crate::common::mosquitto::free_port(), dir.path(), "");
    let (delivery, desk) = rt.block_on(start_desk(&cfg));
    let stage = desk.stage(delivery.sink());
    let a = throwing();
    let event = a.event.to_string();
    stage.submit(a).unwrap();
    wait_incident(&desk, &event);
    desk.act(&event, Action::Note { text: "x".into() }, &console("王工"))
        .unwrap();
    let path = cfg.desk_sections().db;
    assert_eq!(path, dir.path().join("desk.db"), "beside the outbox");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let e = conn
        .execute("UPDATE handling SET actor = 'someone else'", [])
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    let e = conn.execute("DELETE FROM handling", []).unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    drop(conn);
    drop(stage);
    drop(desk);
    rt.block_on(delivery.shutdown(Duration::ZERO));

    // The outbox is not a desk file.
    let mut sections = cfg.desk_sections();
    sections.db = dir.path().join("outbox.db");
    let delivery = rt.block_on(Delivery::start(&cfg.delivery())).unwrap();
    let e = Desk::open(&sections, delivery.sink()).unwrap_err();
    assert!(e.to_string().contains("not an incident desk file"), "{e}");
    rt.block_on(delivery.shutdown(Duration::ZERO));
}

#[test]
fn the_board_lists_newest_first_filtered_by_kind_camera_state_and_local_day() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let mut cfg = config(crate::common::mosquitto::free_port(), dir.path(), "");
    cfg.site.timezone = "Asia/Shanghai".parse().unwrap();
    let (delivery, desk) = rt.block_on(start_desk(&cfg));
    let stage = desk.stage(delivery.sink());
    let at = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    // A: 2 March 01:30 in Shanghai; B: 1 March 18:00; C: 2 March 11:00.
    let mut a = throwing();
    a.detected_at = at("2026-03-01T17:30:00Z");
    let mut b = critical(AlertKind::Fire);
    b.detected_at = at("2026-03-01T10:00:00Z");
    let mut c = Alert::new(AlertKind::Garbage, Severity::Warning, "test-estate", "gw1");
    c.camera = Some("bins".into());
    c.detected_at = at("2026-03-02T03:00:00Z");
    for x in [&a, &b, &c] {
        stage.submit(x.clone()).unwrap();
    }
    let ev = |x: &Alert| x.event.to_string();
    for x in [&a, &b, &c] {
        wait_incident(&desk, &ev(x));
    }
    desk.act(
        &ev(&b),
        Action::Acknowledge { note: None },
        &console("王工"),
    )
    .unwrap();
    desk.act(
        &ev(&c),
        Action::Resolve {
            outcome: Outcome::FalseAlarm,
            reason: Some("a box".into()),
        },
        &console("王工"),
    )
    .unwrap();

    let events = |q: IncidentQuery| -> (Vec<String>, u64) {
        let p = desk.list(&q).unwrap();
        (p.items.into_iter().map(|i| i.event).collect(), p.total)
    };
    let day = |d: &str| Some(d.parse::<chrono::NaiveDate>().unwrap());
    assert_eq!(
        events(IncidentQuery::default()),
        (vec![ev(&c), ev(&a), ev(&b)], 3)
    );
    assert_eq!(
        events(IncidentQuery {
            day: day("2026-03-02"),
            ..Default::default()
        }),
        (vec![ev(&c), ev(&a)], 2),
        "days are the site's: A is 2 March in Shanghai"
    );
    assert_eq!(
        events(IncidentQuery {
            day: day("2026-03-01"),
            ..Default::default()
        }),
        (vec![ev(&b)], 1)
    );
    assert_eq!(
        events(IncidentQuery {
            kind: Some("fire".into()),
            ..Default::default()
        }),
        (vec![ev(&b)], 1)
    );
    assert_eq!(
        events(IncidentQuery {
            camera: Some("bins".into()),
            ..Default::default()
        }),
        (vec![ev(&c)], 1)
    );
    assert_eq!(
        events(IncidentQuery {
            state: Some(IncidentState::Open),
            ..Default::default()
        }),
        (vec![ev(&a)], 1)
    );
    assert_eq!(
        events(IncidentQuery {
            state: Some(IncidentState::ResolvedFalseAlarm),
            ..Default::default()
        }),
        (vec![ev(&c)], 1)
    );
    assert_eq!(
        events(IncidentQuery {
            page: 1,
            per_page: 2,
            ..Default::default()
        }),
        (vec![ev(&b)], 3)
    );
    // The console reads a query string into the same type.
    let q: IncidentQuery =
        serde_json::from_value(serde_json::json!({"kind": "fire", "day": "2026-03-01"})).unwrap();
    assert_eq!(events(q), (vec![ev(&b)], 1));
    let counts = desk.counts().unwrap();
    assert_eq!(counts.total, 2);
    assert_eq!(counts.by_kind.get("throwing"), Some(&1));
    assert_eq!(counts.by_kind.get("fire"), Some(&1));
    assert_eq!(counts.by_kind.get("garbage"), None);

    // A restart ends the alert side of lifecycle incidents (fire, garbage),
    // not of throws, and keeps their handling state.
    assert_eq!(desk.end_alerts_left_open().unwrap(), 2);
    let alert_state = |x: &Alert| desk.get(&ev(x)).unwrap().unwrap().summary.alert_state;
    assert_eq!(
        [alert_state(&a), alert_state(&b), alert_state(&c)],
        ["new", "end", "end"]
    );
    assert_eq!(
        desk.get(&ev(&b)).unwrap().unwrap().summary.state,
        IncidentState::Acknowledged
    );
    // A reload's new display names show at once.
    let mut names = cfg.desk_sections().cameras;
    names.insert(
        "bins".into(),
        estatewatch::desk::CameraNames {
            display_name: Some("垃圾房".into()),
            ..Default::default()
        },
    );
    desk.set_cameras(names);
    assert_eq!(
        desk.get(&ev(&c)).unwrap().unwrap().summary.camera_display,
        "垃圾房"
    );
    drop(stage);
    drop(desk);
    rt.block_on(delivery.shutdown(Duration::ZERO));
}
