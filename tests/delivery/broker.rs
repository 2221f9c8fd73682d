//! Delivery against a real mosquitto: broker absent at start, broker killed
//! with `kill -9` and restarted while alerts flow, camera events, big alerts.

use crate::common::mosquitto::{
    check_order_and_count_duplicates, config_text, Broker, Gate, Subscriber,
};
use estatewatch::alert::{Alert, AlertKind, Severity, Snapshot};
use estatewatch::config::Config;
use estatewatch::delivery::Delivery;
use estatewatch::ingest::{CameraEvent, CameraStatus};
use std::time::{Duration, Instant};

fn config(port: u16, dir: &std::path::Path, cameras: &str) -> Config {
    // Embedded snapshots: the big alerts below must travel whole.
    let text = config_text(port, &dir.join("outbox.db"), "embed_snapshots = true", "") + cameras;
    let c = Config::parse(&text).unwrap();
    assert!(c.validate().is_empty(), "{:?}", c.validate());
    c
}

fn alert(n: usize) -> Alert {
    let mut a = Alert::new(AlertKind::Garbage, Severity::Warning, "test-estate", "gw1");
    a.camera = Some("bins".into());
    a.details = serde_json::json!({ "n": n });
    a
}

fn ids_of(alerts: &[serde_json::Value]) -> Vec<String> {
    alerts
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect()
}

async fn wait_idle(d: &Delivery, timeout: Duration) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if d.is_idle() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_down_at_start_then_500_alerts_arrive_in_order_each_once() {
    let dir = tempfile::tempdir().unwrap();
    // The daemon's broker address is the gate; nothing listens there yet.
    let mut gate = Gate::new(crate::common::mosquitto::free_port());
    let cfg = config(gate.port(), dir.path(), "");
    let delivery = Delivery::start(&cfg.delivery())
        .await
        .expect("starts without a broker");
    let sink = delivery.sink();

    let mut expected = Vec::new();
    let big = vec![0xA5u8; 120_000];
    for n in 0..500 {
        let mut a = alert(n);
        if n % 100 == 7 {
            // Well above rumqttc's default 10 KiB packet limit.
            a.snapshot = Some(Snapshot {
                content_type: "image/jpeg".into(),
                width: 640,
                height: 360,
                data: big.clone(),
            });
        }
        expected.push(a.id.to_string());
        sink.submit(a).unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let st = delivery.status();
    assert!(!st.link.connected);
    assert!(
        st.link
            .broker_error
            .as_deref()
            .unwrap_or("")
            .contains("refused"),
        "{st:?}"
    );
    assert_eq!(st.link.delivered, 0);
    assert!(st.outbox.durable, "{st:?}");

    let broker = Broker::start_on(gate.target_port());
    let sub = Subscriber::connect(broker.port(), "estatewatch/gw1/#");
    sub.wait_subscribed(1, Duration::from_secs(5));
    gate.open();
    assert!(
        sub.wait_alert_ids(500, Duration::from_secs(30)),
        "only {} alerts arrived; broker log:\n{}",
        sub.alerts().len(),
        broker.log()
    );
    let received = sub.alerts();
    let dups = check_order_and_count_duplicates(&expected, &ids_of(&received));
    println!(
        "broker down at start: 500 alerts, {} messages received, {dups} duplicates",
        received.len()
    );
    assert_eq!(
        dups, 0,
        "no disconnect happened after connecting, so no duplicates"
    );
    assert!(received
        .iter()
        .all(|a| a["schema"] == "estatewatch.alert.v1"));
    let with_snapshot = received
        .iter()
        .filter(|a| a["snapshot"].is_object())
        .count();
    assert_eq!(with_snapshot, 5);
    let topics: Vec<_> = sub.messages().iter().map(|m| m.topic.clone()).collect();
    assert!(topics.iter().any(|t| t == "estatewatch/gw1/alerts/garbage"));
    assert_eq!(
        sub.last_on("estatewatch/gw1/status").as_deref(),
        Some("online")
    );

    assert!(wait_idle(&delivery, Duration::from_secs(5)).await);
    let st = delivery.status();
    assert_eq!(st.link.delivered, 500);
    assert_eq!(st.link.resent, 0);
    delivery.shutdown(Duration::from_secs(2)).await;
    assert!(sub.wait_until(Duration::from_secs(3), |m| last_status_is(m, "offline")));
}

fn last_status_is(msgs: &[crate::common::mosquitto::Msg], v: &str) -> bool {
    msgs.iter()
        .rev()
        .find(|m| m.topic == "estatewatch/gw1/status")
        .is_some_and(|m| m.payload == v.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_killed_repeatedly_while_alerts_flow_loses_nothing_and_keeps_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start();
    let mut gate = Gate::new(broker.port());
    let sub = Subscriber::connect(broker.port(), "estatewatch/gw1/alerts/#");
    sub.wait_subscribed(1, Duration::from_secs(5));
    gate.open();
    let cfg = config(gate.port(), dir.path(), "");
    let delivery = Delivery::start(&cfg.delivery()).await.unwrap();

    // A producer thread raises alerts steadily for the whole test.
    let sink = delivery.sink();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let producer = std::thread::spawn(move || {
        let mut ids = Vec::new();
        let mut n = 0;
        while !stop2.load(std::sync::atomic::Ordering::SeqCst) {
            let a = alert(n);
            ids.push(a.id.to_string());
            sink.submit(a).unwrap();
            n += 1;
            // Bursts of 20 so the publish window is often full at a kill.
            if n % 20 == 0 {
                std::thread::sleep(Duration::from_millis(15));
            }
        }
        ids
    });

    // Six broker crashes, with an uplink cut (broker stays up) after each:
    // a crash loses what the broker had in flight, a cut loses only PUBACKs,
    // so cuts are where duplicates appear.
    let kills = 6;
    let cycles = kills * 2;
    let mut subacks = sub.subacks();
    for k in 0..cycles {
        // Break only a live connection with alerts flowing over it.
        let end = Instant::now() + Duration::from_secs(15);
        while delivery.status().link.connects < k + 1 {
            assert!(Instant::now() < end, "no reconnect after break {k}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(150 + 30 * k)).await;
        if k % 2 == 0 {
            broker.kill9();
            gate.close();
            tokio::time::sleep(Duration::from_millis(150)).await;
            broker.restart();
            subacks += 1;
            sub.wait_subscribed(subacks, Duration::from_secs(10));
        } else {
            gate.close();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        gate.open();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let expected = producer.join().unwrap();
    assert!(
        sub.wait_alert_ids(expected.len(), Duration::from_secs(40)),
        "{} of {} alerts arrived",
        ids_of(&sub.alerts())
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len(),
        expected.len()
    );
    let received = ids_of(&sub.alerts());
    let dups = check_order_and_count_duplicates(&expected, &received);
    let st = delivery.status();
    println!(
        "kill -9 x{kills} + uplink cut x{kills}: {} alerts raised, {} messages received, {dups} duplicates (alerts in flight at a disconnect), {} resends, {} connects",
        expected.len(),
        received.len(),
        st.link.resent,
        st.link.connects
    );
    assert!(st.link.connects > cycles, "{st:?}");
    assert_eq!(broker.starts as u64, kills + 1);
    // A duplicate can only be an alert that was in flight (at most the window)
    // when a connection dropped.
    assert!(
        dups <= (cycles as usize + 1) * estatewatch::delivery::mqtt::WINDOW as usize,
        "{dups} duplicates"
    );
    assert!(dups as u64 <= st.link.resent);
    assert!(wait_idle(&delivery, Duration::from_secs(5)).await);
    delivery.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn camera_events_become_alerts_after_grace_and_retained_state() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start();
    let sub = Subscriber::connect(broker.port(), "estatewatch/gw1/#");
    sub.wait_subscribed(1, Duration::from_secs(5));
    let cameras =
        "[[cameras]]\nname = \"shed\"\nurl = \"rtsp://10.0.0.9/s\"\noffline_grace_s = 1\n";
    let cfg = config(broker.port(), dir.path(), cameras);
    let delivery = Delivery::start(&cfg.delivery()).await.unwrap();
    let cameras = estatewatch::daemon::start_camera_watch(&cfg, &delivery);
    let events = cameras.events();
    let state_topic = "estatewatch/gw1/cameras/shed/state";
    let now = std::time::SystemTime::now;

    events
        .send(CameraEvent {
            camera: "shed".into(),
            at: now(),
            status: CameraStatus::Online,
        })
        .unwrap();
    assert!(sub.wait_until(Duration::from_secs(5), |m| m
        .iter()
        .any(|m| m.topic == state_topic)));
    // A blip shorter than the grace period: state changes, no alert.
    let offline = |r: &str| CameraStatus::Offline { reason: r.into() };
    events
        .send(CameraEvent {
            camera: "shed".into(),
            at: now(),
            status: offline("stalled"),
        })
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    events
        .send(CameraEvent {
            camera: "shed".into(),
            at: now(),
            status: CameraStatus::Online,
        })
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        sub.alerts().is_empty(),
        "no alert for a blip: {:?}",
        sub.alerts()
    );
    let states: Vec<serde_json::Value> = sub
        .messages()
        .iter()
        .filter(|m| m.topic == state_topic)
        .map(|m| m.json())
        .collect();
    let statuses: Vec<_> = states
        .iter()
        .map(|s| s["status"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(statuses, ["online", "offline", "online"], "{states:?}");

    // A real outage: alert after the grace period, then online closes it.
    events
        .send(CameraEvent {
            camera: "shed".into(),
            at: now(),
            status: offline("connection refused"),
        })
        .unwrap();
    assert!(sub.wait_until(Duration::from_secs(5), |m| m
        .iter()
        .any(|m| m.topic == "estatewatch/gw1/alerts/camera_offline")));
    events
        .send(CameraEvent {
            camera: "shed".into(),
            at: now(),
            status: CameraStatus::Online,
        })
        .unwrap();
    assert!(sub.wait_until(Duration::from_secs(5), |m| m
        .iter()
        .any(|m| m.topic == "estatewatch/gw1/alerts/camera_online")));
    let alerts = sub.alerts();
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    assert_eq!(alerts[0]["kind"], "camera_offline");
    assert_eq!(alerts[0]["camera"], "shed");
    assert_eq!(alerts[0]["details"]["reason"], "connection refused");
    assert_eq!(alerts[1]["kind"], "camera_online");
    assert_eq!(alerts[1]["state"], "end");
    assert_eq!(alerts[1]["event"], alerts[0]["event"]);
    let last: serde_json::Value = serde_json::from_str(&sub.last_on(state_topic).unwrap()).unwrap();
    assert_eq!(last["status"], "online");

    // The state is retained: a newcomer gets it at once.
    let late = Subscriber::connect(broker.port(), state_topic);
    assert!(late.wait_until(Duration::from_secs(5), |m| m.iter().any(|m| m.retain)));
    delivery.shutdown(Duration::from_secs(1)).await;
}
