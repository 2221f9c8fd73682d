//! TLS to a real mosquitto with a CA and certificates made by `openssl` in the
//! test: the right CA is accepted, a wrong CA is refused with a clear error,
//! a client certificate works when the broker requires one.

use crate::common::mosquitto::{config_text, make_pki, Broker, Pki, SubTls, Subscriber};
use estatewatch::alert::{Alert, AlertKind, Severity};
use estatewatch::config::Config;
use estatewatch::delivery::Delivery;
use std::path::Path;
use std::time::{Duration, Instant};

fn tls_config(port: u16, dir: &Path, ca: &Path, client: Option<&Pki>) -> Config {
    let mut tls = format!("[mqtt.tls]\nca_file = \"{}\"\n", ca.display());
    if let Some(p) = client {
        tls += &format!(
            "client_cert = \"{}\"\nclient_key = \"{}\"\n",
            p.client_cert.display(),
            p.client_key.display()
        );
    }
    let c = Config::parse(&config_text(port, &dir.join("outbox.db"), &tls, "")).unwrap();
    assert!(c.validate().is_empty(), "{:?}", c.validate());
    c
}

fn test_alert() -> Alert {
    Alert::new(AlertKind::Fire, Severity::Critical, "test-estate", "gw1")
}

async fn wait_for(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_the_test_ca_is_accepted_and_a_wrong_ca_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let good = make_pki(&dir.path().join("good"), "good");
    let other = make_pki(&dir.path().join("other"), "other");
    let broker = Broker::start_tls(&good, false);
    let sub = Subscriber::connect_with(
        broker.port(),
        "estatewatch/#",
        Some(SubTls {
            ca: good.ca_cert.clone(),
            client: None,
        }),
    );
    sub.wait_subscribed(1, Duration::from_secs(5));

    // Right CA: delivered.
    let d1 = dir.path().join("right");
    std::fs::create_dir_all(&d1).unwrap();
    let delivery = Delivery::start(&tls_config(broker.port(), &d1, &good.ca_cert, None).delivery())
        .await
        .unwrap();
    let a = test_alert();
    let id = a.id.to_string();
    delivery.sink().submit(a).unwrap();
    assert!(
        sub.wait_until(Duration::from_secs(10), |m| m
            .iter()
            .any(|m| m.json()["id"] == id.as_str())),
        "not delivered over TLS; broker log:\n{}",
        broker.log()
    );
    assert!(delivery.status().link.connected);
    delivery.shutdown(Duration::from_secs(1)).await;

    // Wrong CA: refused, with an error naming the problem and the field.
    let d2 = dir.path().join("wrong");
    std::fs::create_dir_all(&d2).unwrap();
    let delivery =
        Delivery::start(&tls_config(broker.port(), &d2, &other.ca_cert, None).delivery())
            .await
            .unwrap();
    let a = test_alert();
    let id = a.id.to_string();
    delivery.sink().submit(a).unwrap();
    assert!(
        wait_for(Duration::from_secs(10), || delivery
            .status()
            .link
            .broker_error
            .is_some())
        .await
    );
    let st = delivery.status();
    let err = st.link.broker_error.clone().unwrap();
    println!("wrong CA: {err}");
    assert!(!st.link.connected);
    assert!(err.contains("TLS handshake"), "{err}");
    assert!(
        err.contains("UnknownIssuer") || err.contains("certificate"),
        "{err}"
    );
    assert!(
        err.contains("mqtt.tls.ca_file") && err.contains(&other.ca_cert.display().to_string()),
        "{err}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!sub.messages().iter().any(|m| m.json()["id"] == id.as_str()));
    assert!(!delivery.is_idle(), "the alert stays queued");
    delivery.shutdown(Duration::ZERO).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificate_is_used_when_the_broker_requires_one() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(&dir.path().join("pki"), "mutual");
    let broker = Broker::start_tls(&pki, true);
    let sub = Subscriber::connect_with(
        broker.port(),
        "estatewatch/#",
        Some(SubTls {
            ca: pki.ca_cert.clone(),
            client: Some((pki.client_cert.clone(), pki.client_key.clone())),
        }),
    );
    sub.wait_subscribed(1, Duration::from_secs(5));

    let with = dir.path().join("with");
    std::fs::create_dir_all(&with).unwrap();
    let delivery =
        Delivery::start(&tls_config(broker.port(), &with, &pki.ca_cert, Some(&pki)).delivery())
            .await
            .unwrap();
    let a = test_alert();
    let id = a.id.to_string();
    delivery.sink().submit(a).unwrap();
    assert!(sub.wait_until(Duration::from_secs(10), |m| m
        .iter()
        .any(|m| m.json()["id"] == id.as_str())));
    delivery.shutdown(Duration::from_secs(1)).await;

    // Without the client certificate the broker hangs up during the handshake.
    let without = dir.path().join("without");
    std::fs::create_dir_all(&without).unwrap();
    let delivery =
        Delivery::start(&tls_config(broker.port(), &without, &pki.ca_cert, None).delivery())
            .await
            .unwrap();
    assert!(
        wait_for(Duration::from_secs(10), || delivery
            .status()
            .link
            .broker_error
            .is_some())
        .await
    );
    let err = delivery.status().link.broker_error.unwrap();
    println!("no client cert: {err}");
    assert!(err.contains("mqtt.tls.client_cert"), "{err}");
    assert!(!delivery.status().link.connected);
    delivery.shutdown(Duration::ZERO).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_tls_files_fail_start_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let not_pem = dir.path().join("ca.pem");
    std::fs::write(&not_pem, "this is not a certificate\n").unwrap();
    // Validation reports it too (check-config loads TLS files as the daemon
    // does); start the delivery anyway to see that it fails on its own.
    let tls = format!("[mqtt.tls]\nca_file = \"{}\"\n", not_pem.display());
    let c = Config::parse(&config_text(1883, &dir.path().join("outbox.db"), &tls, "")).unwrap();
    let problems: Vec<String> = c.validate().iter().map(|p| p.to_string()).collect();
    assert!(
        problems.len() == 1 && problems[0].starts_with("mqtt.tls.ca_file: "),
        "{problems:?}"
    );
    let e = Delivery::start(&c.delivery())
        .await
        .err()
        .expect("must fail")
        .to_string();
    assert!(
        e.contains("mqtt.tls.ca_file") && e.contains("ca.pem"),
        "{e}"
    );
}
