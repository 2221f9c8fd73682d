//! Issue 17, MQTT: `watch` uses the daemon's client set-up, `[mqtt.tls]`
//! included (item 11), and a broker crash is logged as a lost connection,
//! not a "protocol error" (item 17); it prints times in the site's time
//! zone. Real mosquitto, the real binary.

use crate::common::daemon::Daemon;
use crate::common::mosquitto::{config_text, make_pki, Broker};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_estatewatch");

#[test]
fn watch_receives_an_alert_from_a_tls_broker() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(&dir.path().join("pki"), "watch");
    let broker = Broker::start_tls(&pki, false);
    let tls = format!("[mqtt.tls]\nca_file = \"{}\"\n", pki.ca_cert.display());
    let file = dir.path().join("c.toml");
    // Staff read times in the site's zone (`[site] timezone`).
    let text = config_text(broker.port(), &dir.path().join("outbox.db"), &tls, "").replacen(
        "[site]\n",
        "[site]\ntimezone = \"Asia/Shanghai\"\n",
        1,
    );
    std::fs::write(&file, text).unwrap();

    let mut watch = Command::new(BIN)
        .args(["watch", "--count", "1", "--seconds", "60", "--config"])
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stderr = watch.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    let subscribed = loop {
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(line) if line.contains("subscribed") => break true,
            Ok(line) => seen.push(line),
            Err(_) => break false,
        }
    };
    if !subscribed {
        let _ = watch.kill();
    }
    assert!(subscribed, "watch never subscribed over TLS: {seen:?}");

    let sent = Command::new(BIN)
        .args(["send-test-alert", "--timeout-s", "20", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        sent.status.success(),
        "{}{}",
        String::from_utf8_lossy(&sent.stdout),
        String::from_utf8_lossy(&sent.stderr)
    );
    let out = watch.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.contains(" test "))
        .unwrap_or_else(|| panic!("no test alert printed: {stdout}"));
    // `2026-12-04 09:12:45.120 CST test ...`: the date, and China Standard Time.
    assert!(
        line.split_whitespace().nth(2) == Some("CST"),
        "not in Asia/Shanghai time: {line}"
    );
}

#[test]
fn a_broker_crash_is_logged_as_a_lost_connection() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start();
    let outbox = dir.path().join("outbox.db");
    let file = dir.path().join("c.toml");
    std::fs::write(
        &file,
        config_text(broker.port(), &outbox, "", "") + "[health]\nlisten = \"\"\n",
    )
    .unwrap();
    let log = dir.path().join("log");
    let d = Daemon::start(&file, &outbox, &log);
    d.wait_log("connected to the MQTT broker", Duration::from_secs(30));
    broker.kill9();
    d.wait_log("refused the connection", Duration::from_secs(30));
    let text = d.log();
    let after = &text[text.find("connected to the MQTT broker").unwrap()..];
    let first_failure = after
        .lines()
        .find(|l| l.contains("MQTT connection"))
        .unwrap_or_default();
    assert!(!text.contains("protocol error"), "{text}");
    assert!(
        first_failure.contains("MQTT connection lost")
            && first_failure.contains("lost the connection to broker"),
        "{first_failure}\n{text}"
    );
}
