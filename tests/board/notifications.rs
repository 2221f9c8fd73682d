//! The notifications page in headless Chromium (issue 16: "a sink's
//! backlog, failures and last success appear in … the console"), against
//! the real daemon with a webhook notifier whose receiver is down, then up:
//!
//! while nothing listens on the webhook's port, the page shows the
//! notifier failing with a backlog, its error without the URL's secrets,
//! and MQTT working beside it; once an in-test receiver listens there, the
//! same row shows backlog 0, the error gone and a last success in the site
//! time zone (Asia/Shanghai). In Chinese the page speaks Chinese. A
//! notifier and a profile added to the config and reloaded (SIGHUP) get
//! their rows without a restart. Screenshots go to
//! `target/console-screenshots/notifications*.png` (the ones in
//! `docs/console.md` and `docs/notifications.md` come from here).

#[allow(dead_code)]
#[path = "../delivery/notify_server.rs"]
mod notify_server;

use crate::board::log_in;
use crate::browser::Browser;
use crate::common::mosquitto::free_port;
use crate::site::{Site, User};
use notify_server::Hook;
use serde::Deserialize;
use std::time::Duration;

const VIEWER: User = ("vera", "viewer", "viewer password 123");

/// How long the first alert, and then its delivery after the receiver
/// comes up (the sender's backoff reaches 60 s), may take on a loaded
/// machine: a bound on failure, not a speed check.
const PHASE_TIMEOUT: Duration = Duration::from_secs(300);

/// What the page shows of one sink.
#[derive(Debug, Deserialize)]
struct Row {
    name: String,
    kind: String,
    kind_text: String,
    state: String,
    state_text: String,
    backlog: String,
    failures: u64,
    last_success: String,
    last_error: String,
}

/// Loads the page and reads its rows.
async fn rows(b: &Browser, site: &Site) -> Vec<Row> {
    b.goto(&site.url("/notifications")).await;
    b.find("#sinks").await;
    let v = b
        .eval(
            "return [...document.querySelectorAll('#sinks tr.sink')].map(r => ({
                name: r.dataset.sink, kind: r.dataset.kind,
                kind_text: r.querySelector('.kind').textContent.trim(),
                state: [...r.classList].find(c => c !== 'sink'),
                state_text: r.querySelector('.state').textContent.trim(),
                backlog: r.querySelector('.backlog').dataset.n,
                failures: Number(r.querySelector('.failures').dataset.n),
                last_success: r.querySelector('.last-success').textContent.trim(),
                last_error: r.querySelector('.last-error').textContent.trim(),
            }));",
        )
        .await;
    serde_json::from_value(v).expect("the page's rows")
}

/// The row of `name`, or none.
fn row<'a>(rows: &'a [Row], name: &str) -> Option<&'a Row> {
    rows.iter().find(|r| r.name == name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notifications_page_shows_a_webhook_failing_then_delivering() {
    // The webhook's port: nothing listens there until phase 2.
    let port = free_port();
    let secrets = tempfile::tempdir().expect("a folder");
    let creds = secrets.path().join("guards.toml");
    std::fs::write(
        &creds,
        format!("url = \"http://127.0.0.1:{port}/hook/s3cr3t-path?token=s3cr3t-query\"\n"),
    )
    .expect("the credentials file");
    // A platform profile beside it: its messages go out over MQTT.
    let profile = r#"
[[profiles]]
name = "district"
topic = "district/{{ alert.camera }}/events"
payload = '{"event": {{ alert.event|tojson }}, "text": {{ text|tojson }}}'
"#;
    let extra = format!(
        "[[notifiers]]\nname = \"guards\"\nkind = \"webhook\"\ncredentials_file = \"{}\"\ntimeout_s = 5\n{profile}",
        creds.display()
    );
    let site = tokio::task::block_in_place(|| Site::start(&[VIEWER], &extra));
    let b = Browser::start("en-GB").await;
    log_in(&b, &site, VIEWER).await;

    // Phase 1: the receiver is down. The first incident alert waits.
    b.find("a[href='/notifications']").await;
    let failing = b
        .until(
            "the webhook failing with a backlog",
            PHASE_TIMEOUT,
            || async {
                let r = rows(&b, &site).await;
                let ok = row(&r, "guards").is_some_and(|g| {
                    g.state == "failing"
                        && g.backlog.parse::<u64>().unwrap_or(0) > 0
                        && g.failures > 0
                });
                ok.then_some(r)
            },
        )
        .await;
    let guards = row(&failing, "guards").expect("the notifier's row");
    assert_eq!(guards.kind, "webhook");
    assert_eq!(guards.kind_text, "Webhook");
    assert_eq!(guards.state_text, "failing");
    assert_eq!(guards.last_success, "not yet");
    assert!(
        guards.last_error.contains("http://127.0.0.1:"),
        "the error names the receiver's host: {guards:?}"
    );
    // MQTT is its own sink, working beside it, listed first; the profile
    // last, its messages waiting with MQTT's.
    assert_eq!(failing[0].name, "mqtt", "{failing:?}");
    let district = row(&failing, "district").expect("the profile's row");
    assert_eq!(
        (district.kind_text.as_str(), district.backlog.as_str()),
        ("Platform profile", ""),
        "{district:?}"
    );
    assert_eq!(failing[0].kind_text, "MQTT broker");
    assert_eq!(failing[0].state, "ok", "{failing:?}");
    let html = b.client.source().await.expect("the page's source");
    assert!(
        !html.contains("s3cr3t"),
        "the webhook URL's path and query are not shown"
    );
    b.screenshot("notifications-failing-en").await;

    // Phase 2: the receiver comes up on that port; the retry gets through.
    let hook = Hook::start(port);
    let delivered = b
        .until("the webhook delivering", PHASE_TIMEOUT, || async {
            let r = rows(&b, &site).await;
            let ok = row(&r, "guards").is_some_and(|g| {
                g.state == "ok" && g.backlog == "0" && g.last_success != "not yet"
            });
            ok.then_some(r)
        })
        .await;
    let guards = row(&delivered, "guards").expect("the notifier's row");
    assert_eq!(guards.last_error, "—");
    assert!(
        guards.last_success.ends_with(" CST"),
        "last success in the site's time zone: {guards:?}"
    );
    assert!(guards.failures > 0, "the failures stay counted: {guards:?}");
    assert!(
        !hook.delivered().is_empty(),
        "the receiver got the notifications"
    );
    // The incident the webhook got was mapped by the profile too.
    let district = row(&delivered, "district").expect("the profile's row");
    assert!(
        district.state == "ok" && district.last_success.ends_with(" CST"),
        "{district:?}"
    );
    b.screenshot("notifications-en").await;

    // In Chinese.
    b.find("#lang-switch button[value='zh-CN']")
        .await
        .click()
        .await
        .expect("the language switch");
    b.until("the page in Chinese", Duration::from_secs(30), || async {
        let t = b
            .eval("const h = document.querySelector('h1'); return h && h.textContent;")
            .await;
        (t.as_str() == Some("通知")).then_some(())
    })
    .await;
    let zh = rows(&b, &site).await;
    assert_eq!(
        row(&zh, "mqtt").map(|r| r.kind_text.as_str()),
        Some("MQTT 服务器")
    );
    assert_eq!(
        row(&zh, "guards").map(|r| r.state_text.as_str()),
        Some("正常")
    );
    assert_eq!(b.text("nav a[href='/notifications']").await, "通知");
    b.screenshot("notifications-zh").await;

    // A notifier and a profile added and reloaded (SIGHUP) appear without
    // a restart.
    let config = site.config();
    let text = std::fs::read_to_string(&config).expect("the config");
    std::fs::write(
        &config,
        format!(
            "{text}\n[[notifiers]]\nname = \"night\"\nkind = \"webhook\"\ncredentials_file = \"{}\"\n{}",
            creds.display(),
            profile.replace("district", "city")
        ),
    )
    .expect("the config is written");
    site.daemon.signal(libc::SIGHUP);
    site.daemon
        .wait_log("notifiers reloaded", Duration::from_secs(60));
    site.daemon
        .wait_log("platform profiles reloaded", Duration::from_secs(60));
    let after = rows(&b, &site).await;
    let names: Vec<&str> = after.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["mqtt", "guards", "night", "district", "city"]);
    b.close().await;
}
