//! Evidence end to end with the real `estatewatch run` binary, a looping
//! `file://` camera with the motion analyzer and a real mosquitto: each
//! video alert's picture is stored in its event folder and the alert
//! carries its path, URL and sha256 instead of the bytes; `GET
//! /evidence/<event>/<file>` answers 401 without the token, the file (or
//! a byte range of it) with it, and 404 for anything outside the layout; the picture is on the
//! retained snapshot topic for a subscriber that comes later, as a JPEG;
//! `/metrics` shows the folder. With an evidence folder that cannot be
//! written, alerts still flow and the failures are reported.

use crate::common::daemon::{metric, metrics, wait_for, Daemon};
use crate::common::mosquitto::{config_text, free_port, without_evidence, Broker, Subscriber};
use crate::monitor::clip;
use sha2::Digest;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

const TOKEN: &str = "test-evidence-token-0123456789";

/// A config with one motion camera `gate`; `evidence` replaces the
/// `[evidence]` section `config_text` writes.
fn write_config(dir: &Path, broker: u16, http: u16, evidence: &str) -> PathBuf {
    let clip = clip(dir);
    let base = without_evidence(config_text(broker, &dir.join("outbox.db"), "", ""));
    let text = format!(
        "{base}{evidence}\n[health]\nlisten = \"127.0.0.1:{http}\"\n\
         [[cameras]]\nname = \"gate\"\nurl = \"file://{}\"\nstall_timeout_s = 5\n\
         reconnect_min_ms = 100\nreconnect_max_ms = 500\n\
         [cameras.detect]\nwidth = 160\nheight = 120\nfps = 5\n\
         [cameras.analyzers.motion]\nmin_changed_fraction = 0.0005\npixel_threshold = 20\ncooldown_s = 1\n",
        clip.display()
    );
    let path = dir.join("estatewatch.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `GET path` with extra header lines: status and body bytes.
fn get(port: u16, path: &str, headers: &str) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("endpoint listens");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{headers}\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP head");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length").then_some(v)
        })
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let body = raw[split + 4..].to_vec();
    assert_eq!(body.len(), len, "Content-Length matches the body");
    (status, body)
}

fn sha256(b: &[u8]) -> String {
    sha2::Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

#[test]
fn alerts_point_to_stored_pictures_served_with_the_token_and_published_retained() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start();
    let sub = Subscriber::connect(broker.port(), "estatewatch/gw1/alerts/#");
    sub.wait_subscribed(1, Duration::from_secs(10));
    let http = free_port();
    let evidence_dir = dir.path().join("evidence");
    let token_file = dir.path().join("evidence-token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let cfg = write_config(
        dir.path(),
        broker.port(),
        http,
        &format!(
            "[evidence]\ndir = \"{}\"\n[evidence.http]\ntoken_file = \"{}\"\npublic_url = \"http://gw.example:8443\"\n",
            evidence_dir.display(),
            token_file.display()
        ),
    );
    let d = Daemon::start_with(&cfg, &dir.path().join("daemon.log"), &[], &[]);
    let log = || d.log();

    let alert = wait_for(
        "a motion alert with evidence",
        Duration::from_secs(60),
        &log,
        || {
            sub.alerts()
                .into_iter()
                .find(|a| a["kind"] == "motion" && a["evidence"]["files"].is_array())
        },
    );
    // The bytes are not in the alert (mqtt.embed_snapshots defaults to false).
    assert!(alert.get("snapshot").is_none(), "{alert}");
    let event = alert["event"].as_str().unwrap();
    let f = &alert["evidence"]["files"][0];
    assert_eq!(f["name"], "snapshot-detect.jpg", "{alert}");
    assert_eq!(f["path"], format!("gate/{event}/snapshot-detect.jpg"));
    let path = format!("/evidence/{event}/snapshot-detect.jpg");
    assert_eq!(f["url"], format!("http://gw.example:8443{path}"));
    let on_disk = std::fs::read(evidence_dir.join(f["path"].as_str().unwrap())).unwrap();
    assert_eq!(f["sha256"], sha256(&on_disk));
    assert_eq!(f["bytes"].as_u64(), Some(on_disk.len() as u64));

    // Serving: the token is required, and only layout names are served.
    assert_eq!(get(http, &path, "").0, 401);
    assert_eq!(
        get(
            http,
            &path,
            "Authorization: Bearer wrong-token-0123456789\r\n"
        )
        .0,
        401
    );
    let (status, body) = get(http, &path, &format!("Authorization: Bearer {TOKEN}\r\n"));
    assert_eq!(status, 200);
    assert_eq!(sha256(&body), f["sha256"].as_str().unwrap());
    let img = image::load_from_memory(&body).expect("a JPEG");
    assert_eq!((img.width(), img.height()), (160, 120));
    assert_eq!(get(http, &format!("{path}?token={TOKEN}"), "").0, 200);
    // Players seek with byte ranges.
    let (status, part) = get(
        http,
        &path,
        &format!("Authorization: Bearer {TOKEN}\r\nRange: bytes=10-19\r\n"),
    );
    assert_eq!((status, part.as_slice()), (206, &body[10..20]));
    let (status, _) = get(
        http,
        &path,
        &format!(
            "Authorization: Bearer {TOKEN}\r\nRange: bytes={}-\r\n",
            body.len()
        ),
    );
    assert_eq!(status, 416);
    let auth = format!("Authorization: Bearer {TOKEN}\r\n");
    for bad in [
        format!("/evidence/{event}/../../estatewatch.toml"),
        "/evidence/../outbox.db".to_string(),
        format!("/evidence/{event}/%2e%2e/snapshot-detect.jpg"),
        format!("/evidence/{event}/clip.mp4"),
        "/evidence/00000000-0000-0000-0000-000000000000/snapshot-detect.jpg".to_string(),
    ] {
        assert_eq!(get(http, &bad, &auth).0, 404, "{bad}");
    }

    // The latest picture waits retained for a subscriber that comes later.
    let late = Subscriber::connect(broker.port(), "estatewatch/gw1/cameras/gate/snapshot/#");
    let got = late.wait_until(Duration::from_secs(30), |m| {
        m.iter()
            .any(|m| m.topic == "estatewatch/gw1/cameras/gate/snapshot/motion")
    });
    assert!(got, "no retained snapshot; log:\n{}", log());
    let m = late
        .messages()
        .into_iter()
        .find(|m| m.topic.ends_with("/snapshot/motion"))
        .unwrap();
    assert!(m.retain, "delivered as a retained message");
    let img = image::load_from_memory(&m.payload).expect("a raw JPEG");
    assert_eq!((img.width(), img.height()), (160, 120));

    let m = wait_for("evidence metrics", Duration::from_secs(30), &log, || {
        let m = metrics(http);
        (metric(&m, "estatewatch_evidence_bytes").unwrap_or(0.0) > 0.0).then_some(m)
    });
    assert!(
        metric(&m, "estatewatch_evidence_events").unwrap() >= 1.0,
        "{m}"
    );
    assert_eq!(
        metric(&m, "estatewatch_evidence_writable"),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        metric(&m, "estatewatch_evidence_evictions_total{reason=\"cap\"}"),
        Some(0.0),
        "{m}"
    );
}

#[test]
fn an_unwritable_evidence_folder_is_reported_and_alerts_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start();
    let sub = Subscriber::connect(broker.port(), "estatewatch/gw1/alerts/#");
    sub.wait_subscribed(1, Duration::from_secs(10));
    let http = free_port();
    // A folder below a regular file cannot be created, even by root.
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, b"x").unwrap();
    let cfg = write_config(
        dir.path(),
        broker.port(),
        http,
        &format!(
            "[evidence]\ndir = \"{}\"\n",
            blocker.join("evidence").display()
        ),
    );
    let d = Daemon::start_with(&cfg, &dir.path().join("daemon.log"), &[], &[]);
    let log = || d.log();
    // Alerts keep coming, each saying why its picture is not stored.
    let got = sub.wait_until(Duration::from_secs(60), |m| {
        m.iter()
            .filter(|m| m.topic.ends_with("/alerts/motion"))
            .filter(|m| m.json()["evidence"]["problem"].is_string())
            .count()
            >= 2
    });
    assert!(got, "alerts stopped; log:\n{}", log());
    let a = sub
        .alerts()
        .into_iter()
        .find(|a| a["evidence"]["problem"].is_string())
        .unwrap();
    assert!(
        a["evidence"]["problem"]
            .as_str()
            .unwrap()
            .contains("cannot write"),
        "{a}"
    );
    let m = metrics(http);
    assert!(
        metric(&m, "estatewatch_evidence_write_failures_total").unwrap() >= 2.0,
        "{m}"
    );
    assert_eq!(
        metric(&m, "estatewatch_evidence_writable"),
        Some(0.0),
        "{m}"
    );
    // Analysis and delivery go on.
    assert!(
        metric(&m, "estatewatch_mqtt_delivered_total").unwrap() >= 2.0,
        "{m}"
    );
    assert!(log().contains("evidence file not written"), "{}", log());
}
