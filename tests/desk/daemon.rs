//! The desk inside `estatewatch run`: a sensor incident reaches the desk
//! through the daemon's real chain, escalates, is acknowledged by the
//! platform over MQTT, and shows on `/metrics` (checked by promtool); the
//! desk file keeps it after the daemon stops.

use crate::common::daemon::{metrics, promtool_check, Daemon};
use crate::common::mosquitto::{config_text, free_port, publish, Broker, Subscriber};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(60);

#[test]
fn a_sensor_incident_escalates_is_acknowledged_by_the_platform_and_shows_on_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start();
    let sub = Subscriber::subscribed(broker.port(), "estatewatch/gw1/#");
    let outbox = dir.path().join("outbox.db");
    let http = free_port();
    let mut text = config_text(broker.port(), &outbox, "", "");
    text.push_str(&format!(
        "[health]\nlisten = \"127.0.0.1:{http}\"\nstats_interval_s = 0\n\n\
         [desk]\nescalate_after_s = {{ sensor = 1 }}\n\n\
         [[sensors]]\nname = \"shed-smoke\"\ntopic = \"z2m/shed/smoke\"\nvalue = \"smoke\"\n\
         area = \"一号车棚\"\n\
         [[sensors.rules]]\ntype = \"threshold\"\nabove = 0.5\nseverity = \"critical\"\n"
    ));
    let cfg = dir.path().join("estatewatch.toml");
    std::fs::write(&cfg, text).unwrap();
    let mut d = Daemon::start(&cfg, &outbox, &dir.path().join("daemon.log"));

    // Readings until the sensor input (subscribing in the background) hears one.
    let end = Instant::now() + WAIT;
    let alert = loop {
        publish(broker.port(), "z2m/shed/smoke", br#"{"smoke": 0.9}"#);
        if sub.wait_until(Duration::from_secs(2), |m| {
            m.iter().any(|m| m.topic == "estatewatch/gw1/alerts/sensor")
        }) {
            break sub
                .messages()
                .into_iter()
                .find(|m| m.topic == "estatewatch/gw1/alerts/sensor")
                .unwrap()
                .json();
        }
        assert!(Instant::now() < end, "no sensor alert:\n{}", d.log());
    };
    let event = alert["event"].as_str().unwrap().to_string();
    let topic = |what: &str| format!("estatewatch/gw1/incidents/{event}/{what}");

    // Nobody acknowledges within a second: escalated.
    assert!(
        sub.wait_until(WAIT, |m| m.iter().any(|m| m.topic == topic("escalation"))),
        "no escalation:\n{}",
        d.log()
    );
    // The platform acknowledges (repeated until the desk's command
    // subscription is up; later copies are refused as already acknowledged).
    let end = Instant::now() + WAIT;
    loop {
        publish(
            broker.port(),
            &format!("estatewatch/gw1/commands/incidents/{event}/ack"),
            br#"{"by": "district-ops"}"#,
        );
        if sub.wait_until(Duration::from_secs(2), |m| {
            m.iter().any(|m| m.topic == topic("handling"))
        }) {
            break;
        }
        assert!(Instant::now() < end, "platform ack not taken:\n{}", d.log());
    }
    let handling: Vec<_> = sub
        .messages()
        .into_iter()
        .filter(|m| m.topic == topic("handling"))
        .map(|m| m.json())
        .collect();
    assert_eq!(handling[0]["action"], "acknowledge");
    assert_eq!(handling[0]["actor"]["via"], "platform");
    assert_eq!(handling[0]["state_before"], "open");

    let m = metrics(http);
    for line in [
        "estatewatch_desk_open_incidents{kind=\"sensor\"} 1",
        "estatewatch_desk_escalations_total{kind=\"sensor\"} 1",
        "estatewatch_desk_time_to_acknowledge_seconds_count{kind=\"sensor\",camera=\"\"} 1",
        "estatewatch_desk_time_to_acknowledge_seconds_bucket{kind=\"sensor\",camera=\"\",le=\"+Inf\"} 1",
    ] {
        assert!(m.lines().any(|l| l == line), "{line} missing:\n{m}");
    }
    promtool_check(&m);
    assert!(d.term(), "daemon did not stop:\n{}", d.log());

    // The desk file beside the outbox keeps the incident and its trail.
    let conn = rusqlite::Connection::open(dir.path().join("desk.db")).unwrap();
    let (state, escalated, source): (String, Option<i64>, Option<String>) = conn
        .query_row(
            "SELECT state, escalated_ms, source FROM incidents WHERE event = ?1",
            [&event],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(state, "acknowledged");
    assert!(escalated.is_some());
    assert_eq!(source.as_deref(), Some("一号车棚"));
    let via: String = conn
        .query_row("SELECT via FROM handling WHERE event = ?1", [&event], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(via, "platform");
}
