//! The `estatewatch` binary with zero cameras against a real mosquitto:
//! SIGKILL with 1,000 alerts queued, the last will, a graceful stop,
//! `send-test-alert` and `outbox stats|list|purge`.

use crate::common::daemon::{Daemon, BIN};
use crate::common::mosquitto::{
    check_order_and_count_duplicates, config_text, Broker, Gate, Subscriber,
};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("ESTATEWATCH_LOG", "warn")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn stats(outbox: &Path) -> serde_json::Value {
    let o = run(&[
        "outbox",
        "--db",
        outbox.to_str().unwrap(),
        "stats",
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn write_config(dir: &Path, port: u16) -> (PathBuf, PathBuf) {
    let outbox = dir.join("outbox.db");
    let cfg = dir.join("estatewatch.toml");
    std::fs::write(&cfg, config_text(port, &outbox, "", "")).unwrap();
    (cfg, outbox)
}

fn last_status(msgs: &[crate::common::mosquitto::Msg]) -> Option<String> {
    msgs.iter()
        .rev()
        .find(|m| m.topic == "estatewatch/gw1/status")
        .map(|m| String::from_utf8_lossy(&m.payload).into_owned())
}

#[test]
fn sigkill_with_1000_queued_and_broker_down_then_all_delivered_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut gate = Gate::new(crate::common::mosquitto::free_port());
    let (cfg, outbox) = write_config(dir.path(), gate.port());
    let log = dir.path().join("daemon.log");
    let mut daemon = Daemon::start(&cfg, &outbox, &log);

    // 1,000 alerts queued through the outbox while the broker is down.
    let o = run(&[
        "send-test-alert",
        "--config",
        cfg.to_str().unwrap(),
        "--count",
        "1000",
        "--timeout-s",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("NOT delivered") && out.contains("running daemon"),
        "{out}"
    );
    daemon.kill9();
    let s = stats(&outbox);
    assert_eq!(s["rows"], 1000, "{s}");
    assert_eq!(s["by_kind"]["test"], 1000);

    // The order they were raised in: the `n` detail, 1..=1000.
    let broker = Broker::start_on(gate.target_port());
    let sub = Subscriber::connect(broker.port(), "estatewatch/gw1/alerts/#");
    sub.wait_subscribed(1, Duration::from_secs(5));
    gate.open();
    let mut daemon = Daemon::start(&cfg, &outbox, &log);
    assert!(
        sub.wait_alert_ids(1000, Duration::from_secs(30)),
        "{} arrived; daemon log:\n{}",
        sub.alerts().len(),
        daemon.log()
    );
    let alerts = sub.alerts();
    let ns: Vec<u64> = alerts
        .iter()
        .map(|a| a["details"]["n"].as_u64().unwrap())
        .collect();
    let ids: Vec<String> = alerts
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    let mut expected = vec![String::new(); 1000];
    for (n, id) in ns.iter().zip(&ids) {
        expected[*n as usize - 1] = id.clone();
    }
    let dups = check_order_and_count_duplicates(&expected, &ids);
    println!(
        "daemon SIGKILLed with 1000 queued: {} messages received after restart, {dups} duplicates",
        ids.len()
    );
    assert_eq!(dups, 0);
    assert!(
        daemon.term_within(Duration::from_secs(10)),
        "{}",
        daemon.log()
    );
    let s = stats(&outbox);
    assert_eq!(s["rows"], 0, "{s}");
    assert_eq!(s["counters"]["delivered"], 1000, "{s}");
}

#[test]
fn last_will_goes_offline_on_sigkill_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start();
    let (cfg, outbox) = write_config(dir.path(), broker.port());
    let log = dir.path().join("daemon.log");
    let sub = Subscriber::connect(broker.port(), "estatewatch/gw1/status");
    sub.wait_subscribed(1, Duration::from_secs(5));

    let mut daemon = Daemon::start(&cfg, &outbox, &log);
    assert!(
        sub.wait_until(Duration::from_secs(10), |m| last_status(m).as_deref()
            == Some("online"))
    );
    daemon.kill9();
    assert!(
        sub.wait_until(Duration::from_secs(10), |m| last_status(m).as_deref()
            == Some("offline")),
        "the broker did not publish the last will"
    );

    let mut daemon = Daemon::start(&cfg, &outbox, &log);
    assert!(
        sub.wait_until(Duration::from_secs(10), |m| last_status(m).as_deref()
            == Some("online"))
    );
    let started = Instant::now();
    assert!(
        daemon.term_within(Duration::from_secs(10)),
        "{}",
        daemon.log()
    );
    println!("graceful stop took {:?}", started.elapsed());
    assert!(
        sub.wait_until(Duration::from_secs(5), |m| last_status(m).as_deref()
            == Some("offline"))
    );
    assert!(daemon.log().contains("stopped"), "{}", daemon.log());
    // A newcomer sees the retained status.
    let late = Subscriber::connect(broker.port(), "estatewatch/gw1/status");
    assert!(late.wait_until(Duration::from_secs(5), |m| m
        .iter()
        .any(|m| m.retain && m.payload == b"offline")));
}

#[test]
fn send_test_alert_via_daemon_or_directly_and_outbox_commands() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start();
    let (cfg, outbox) = write_config(dir.path(), broker.port());
    let cfg_s = cfg.to_str().unwrap();
    let db = outbox.to_str().unwrap();
    let log = dir.path().join("daemon.log");
    let sub = Subscriber::connect(broker.port(), "estatewatch/gw1/#");
    sub.wait_subscribed(1, Duration::from_secs(5));
    let tests_received = |sub: &Subscriber| {
        sub.messages()
            .iter()
            .filter(|m| m.topic == "estatewatch/gw1/alerts/test")
            .count()
    };

    // Through the running daemon.
    let mut daemon = Daemon::start(&cfg, &outbox, &log);
    let o = run(&["send-test-alert", "--config", cfg_s]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    println!("{out}");
    assert!(
        out.contains("delivered by the running daemon (pid"),
        "{out}"
    );
    assert!(sub.wait_until(Duration::from_secs(5), |m| m
        .iter()
        .any(|m| m.topic == "estatewatch/gw1/alerts/test")));
    assert_eq!(tests_received(&sub), 1);
    let a = sub.alerts().pop().unwrap();
    assert_eq!(a["kind"], "test");
    assert_eq!(a["severity"], "info");
    assert_eq!(a["site"], "test-estate");

    // A second daemon on the same outbox is refused.
    let o = Command::new(BIN)
        .args(["run", "--config", cfg_s])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("already using the outbox"),
        "{}",
        text(&o)
    );
    assert!(daemon.term_within(Duration::from_secs(10)));

    // No daemon: the command publishes itself, without touching the status topic.
    let o = run(&["send-test-alert", "--config", cfg_s]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    println!("{out}");
    assert!(out.contains("no daemon is running"), "{out}");
    assert!(sub.wait_until(Duration::from_secs(5), |m| m
        .iter()
        .filter(|m| m.topic == "estatewatch/gw1/alerts/test")
        .count()
        == 2));
    assert_eq!(last_status(&sub.messages()).as_deref(), Some("offline"));

    // Broker down: it says so, and the alert stays queued.
    broker.kill9();
    let o = run(&["send-test-alert", "--config", cfg_s, "--timeout-s", "1"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    println!("{out}");
    assert!(
        out.contains("NOT delivered") && out.contains("refused the connection"),
        "{out}"
    );

    let s = stats(&outbox);
    println!("{s}");
    assert_eq!(s["rows"], 1);
    assert_eq!(s["by_kind"]["test"], 1);
    assert_eq!(s["by_severity"]["info"], 1);
    assert_eq!(
        s["by_state"]["queued"].as_u64().unwrap() + s["by_state"]["sent"].as_u64().unwrap(),
        1
    );
    assert_eq!(s["counters"]["delivered"], 2);
    assert_eq!(
        s["schema_version"],
        estatewatch::delivery::outbox::SCHEMA_VERSION
    );
    assert!(s["oldest_age_s"].as_f64().unwrap() >= 0.0);
    assert!(s["file_bytes"].as_u64().unwrap() > 0);

    let o = run(&["outbox", "--db", db, "list", "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(rows[0]["kind"], "test");
    let o = run(&["outbox", "--db", db, "stats"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("undelivered: 1"),
        "{}",
        text(&o)
    );

    let o = run(&["outbox", "--db", db, "purge"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("would be purged"),
        "{}",
        text(&o)
    );
    assert_eq!(stats(&outbox)["rows"], 1);
    let o = run(&["outbox", "--db", db, "purge", "--yes", "--json"]);
    let p: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(p["purged"], 1);
    let s = stats(&outbox);
    assert_eq!(s["rows"], 0);
    assert_eq!(s["counters"]["purged"], 1);

    let o = run(&[
        "outbox",
        "--db",
        dir.path().join("missing.db").to_str().unwrap(),
        "stats",
    ]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("does not exist"),
        "{}",
        text(&o)
    );
}
