//! Notifiers as durable sinks, against a real mosquitto, a real SQLite
//! outbox and a real HTTP server playing the webhook
//! ([`notify_server`](super::notify_server)): a webhook outage while alerts
//! flow, SIGKILL with notifications pending, the rate limit merging the
//! updates of one incident, and the HMAC signature.

use super::notify_server::{Hook, Req};
use crate::common::daemon::{Daemon, BIN};
use crate::common::mosquitto::{config_text, free_port, Broker, Subscriber};
use estatewatch::alert::{Alert, AlertKind, AlertState, Severity};
use estatewatch::config::Config;
use estatewatch::delivery::notify::adapter::{
    Adapter, AdapterError, Context, HttpRequest, Outgoing, RateLimit, Reply,
};
use estatewatch::delivery::notify::sender::NotifierSpec;
use estatewatch::delivery::notify::webhook::signature;
use estatewatch::delivery::notify::{self};
use estatewatch::delivery::Delivery;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

const SECRET: &str = "s3cret-of-the-estate";

/// How long the webhook is down while alerts flow. The issue asks for two
/// minutes; the retry logic is the same for any outage longer than the
/// longest backoff step reached, so CI runs 30 s (set
/// `EW_NOTIFY_OUTAGE_S=120` for the full two minutes).
fn outage() -> Duration {
    let s = std::env::var("EW_NOTIFY_OUTAGE_S")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    Duration::from_secs(s)
}

/// `config_text` plus one webhook notifier whose credentials point at `url`.
fn config_with_hook(dir: &Path, port: u16, url: &str, route: &str) -> (String, std::path::PathBuf) {
    let outbox = dir.join("outbox.db");
    let creds = dir.join("hook.toml");
    std::fs::write(&creds, format!("url = \"{url}\"\nsecret = \"{SECRET}\"\n")).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let text = format!(
        "{}\n[[notifiers]]\nname = \"guards\"\nkind = \"webhook\"\ncredentials_file = \"{}\"\ntimeout_s = 5\n{route}\n",
        config_text(port, &outbox, "", ""),
        creds.display()
    );
    (text, outbox)
}

fn garbage(n: usize) -> Alert {
    let mut a = Alert::new(AlertKind::Garbage, Severity::Warning, "test-estate", "gw1");
    a.camera = Some("bins".into());
    a.details = serde_json::json!({ "n": n });
    a
}

fn id_of(r: &Req) -> String {
    r.json()["id"].as_str().unwrap().to_string()
}

/// Every request carries a signature the receiver can check with the secret.
fn assert_signed(reqs: &[Req]) {
    for r in reqs {
        let got = r.header("x-estatewatch-signature").expect("signed");
        assert_eq!(got, signature(SECRET, &r.body), "signature of {}", id_of(r));
        assert!(got.starts_with("sha256=") && got.len() == 7 + 64, "{got}");
    }
}

/// Waits (up to 30 s) until `pred` holds for delivery's status.
async fn wait_status(
    d: &Delivery,
    what: &str,
    pred: impl Fn(&estatewatch::delivery::DeliveryStatus) -> bool,
) -> estatewatch::delivery::DeliveryStatus {
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let st = d.status();
        if pred(&st) {
            return st;
        }
        assert!(
            Instant::now() < end,
            "timed out waiting for {what}: {st:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn start(cfg: &Config) -> Delivery {
    let d = Delivery::start(&cfg.delivery()).await.unwrap();
    let ctx = cfg.notify_context();
    let specs = notify::specs(&cfg.notifiers, &ctx).unwrap();
    d.start_notifiers(specs, ctx).unwrap();
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_down_while_200_alerts_flow_then_up_gets_each_once_and_mqtt_is_not_held_back() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start();
    let sub = Subscriber::connect(broker.port(), "estatewatch/gw1/alerts/#");
    sub.wait_subscribed(1, Duration::from_secs(5));
    let hook = Hook::start(0);
    hook.answer(503);
    let (text, _) = config_with_hook(dir.path(), broker.port(), &hook.url(), "");
    let cfg = Config::parse(&text).unwrap();
    assert!(cfg.validate().is_empty(), "{:?}", cfg.validate());
    let delivery = start(&cfg).await;
    let sink = delivery.sink();

    // 200 alerts flow during the first half of the outage, in 10 bursts.
    let down_since = Instant::now();
    let mut expected = Vec::new();
    for burst in 0..10 {
        for i in 0..20 {
            let a = garbage(burst * 20 + i);
            expected.push(a.id.to_string());
            sink.submit(a).unwrap();
        }
        tokio::time::sleep(outage() / 20).await;
    }
    // MQTT is not held back: all 200 reach the broker while the webhook is down.
    assert!(
        sub.wait_alert_ids(200, Duration::from_secs(60)),
        "{} of 200 reached the broker while the webhook was down",
        sub.alerts().len()
    );
    assert!(hook.delivered().is_empty(), "the webhook was down");
    let st = wait_status(&delivery, "the broker's acknowledgements", |st| {
        st.depth == 0
    })
    .await;
    assert_eq!(st.notifiers.len(), 1);
    assert_eq!(st.notifiers[0].backlog, 200, "{:?}", st.notifiers[0]);
    assert!(st.notifiers[0].failures > 0, "{:?}", st.notifiers[0]);
    let rest = outage().saturating_sub(down_since.elapsed());
    tokio::time::sleep(rest).await;
    assert!(!hook.requests().is_empty(), "the notifier kept trying");

    hook.answer(200);
    let all = hook.wait_delivered(Duration::from_secs(180), |r| r.len() >= 200);
    let got = hook.delivered();
    assert!(all, "{} of 200 notified after the outage", got.len());
    // Each once, in the order they were raised, each signed.
    let ids: Vec<String> = got.iter().map(id_of).collect();
    assert_eq!(ids, expected, "every alert once, in order");
    assert_signed(&got);
    assert!(got
        .iter()
        .all(|r| r.header("x-estatewatch-topic") == Some("alerts/garbage")));
    // Then nothing is left: the outbox drops rows both sinks are done with.
    let st = wait_status(&delivery, "an empty backlog", |st| {
        st.notifiers[0].backlog == 0
    })
    .await;
    let n = &st.notifiers[0];
    assert_eq!((n.backlog, n.notified, n.rejected), (0, 200, 0), "{n:?}");
    assert!(n.last_success.is_some(), "{n:?}");
    delivery.shutdown(Duration::from_secs(2)).await;
    println!(
        "webhook down {:.0} s while 200 alerts flowed: 200 at the broker during the outage, 200 notified after it, 0 twice",
        outage().as_secs_f64()
    );
}

/// The webhook adapter with another rate limit (the vendors' limits are
/// per minute; a test cannot wait minutes).
struct Limited {
    inner: Box<dyn Adapter>,
    limit: RateLimit,
}

impl Adapter for Limited {
    fn requests(
        &self,
        msg: &Outgoing<'_>,
        ctx: &Context,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<HttpRequest>, AdapterError> {
        self.inner.requests(msg, ctx, now)
    }
    fn classify(&self, status: u16, body: &[u8]) -> Reply {
        self.inner.classify(status, body)
    }
    fn rate_limit(&self) -> Option<RateLimit> {
        Some(self.limit)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_merges_the_updates_of_one_incident_and_always_sends_the_last() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start();
    let hook = Hook::start(0);
    let route = "[notifiers.route]\nstates = [\"new\", \"update\", \"end\"]\n";
    let (text, _) = config_with_hook(dir.path(), broker.port(), &hook.url(), route);
    let cfg = Config::parse(&text).unwrap();
    let ctx = cfg.notify_context();
    let limit = RateLimit {
        requests: 5,
        per: Duration::from_secs(10),
    };
    let spec = NotifierSpec {
        name: "guards".into(),
        kind: "webhook".into(),
        adapter: Arc::new(Limited {
            inner: notify::build(&cfg.notifiers[0], 0, &ctx).unwrap(),
            limit,
        }),
        timeout: Duration::from_secs(5),
        fingerprint: String::new(),
    };
    let delivery = Delivery::start(&cfg.delivery()).await.unwrap();
    delivery.start_notifiers(vec![spec], ctx).unwrap();
    let sink = delivery.sink();

    // 100 states of one fire: new, 98 updates, end.
    let event = Uuid::now_v7();
    for n in 1..=100 {
        let mut a = Alert::new(AlertKind::Fire, Severity::Major, "test-estate", "gw1");
        a.event = event;
        a.camera = Some("shed".into());
        a.state = match n {
            1 => AlertState::New,
            100 => AlertState::End,
            _ => AlertState::Update,
        };
        a.details = serde_json::json!({ "n": n });
        sink.submit(a).unwrap();
    }
    let last = |r: &[Req]| r.iter().any(|r| r.json()["details"]["n"] == 100);
    assert!(
        hook.wait_delivered(Duration::from_secs(120), last),
        "the last state never came: {:?}",
        hook.delivered()
            .iter()
            .map(|r| r.json()["details"]["n"].clone())
            .collect::<Vec<_>>()
    );
    let got = hook.delivered();
    let ns: Vec<u64> = got
        .iter()
        .map(|r| r.json()["details"]["n"].as_u64().unwrap())
        .collect();
    // In order, ending with the last state; far fewer than 100.
    assert!(ns.windows(2).all(|w| w[0] < w[1]), "{ns:?}");
    assert_eq!(ns.last(), Some(&100));
    assert!(ns.len() < 100, "{ns:?}");
    // Never more than the limit in any window (the sender waits; a slow
    // box only spaces them further, except that the first request of a
    // window may reach the server late: hence the slack).
    let n = limit.requests as usize;
    for w in got.windows(n + 1) {
        let span = w[n].at.duration_since(w[0].at);
        assert!(
            span + Duration::from_secs(3) >= limit.per,
            "{} requests within {span:?}: {ns:?}",
            n + 1
        );
    }
    let st = wait_status(&delivery, "every state handled", |st| {
        st.notifiers[0].notified + st.notifiers[0].merged == 100
    })
    .await;
    let s = &st.notifiers[0];
    assert_eq!(s.notified as usize, ns.len(), "{s:?}");
    assert!(s.merged > 0 && s.rate_limited > 0, "{s:?}");
    delivery.shutdown(Duration::from_secs(2)).await;
    println!(
        "100 updates of one incident, limit {} per {:?}: {} requests ({ns:?}), {} merged",
        limit.requests,
        limit.per,
        ns.len(),
        s.merged
    );
}

fn outbox_rows(outbox: &Path) -> u64 {
    let o = Command::new(BIN)
        .args([
            "outbox",
            "--db",
            outbox.to_str().unwrap(),
            "stats",
            "--json",
        ])
        .env("ESTATEWATCH_LOG", "warn")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["rows"].as_u64().unwrap()
}

#[test]
fn sigkill_with_notifications_pending_then_all_delivered_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start();
    // Nothing listens on the webhook's port until after the restart.
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let route = "[notifiers.route]\nkinds = [\"test\"]\n";
    let (text, outbox) = config_with_hook(dir.path(), broker.port(), &url, route);
    let cfg = dir.path().join("estatewatch.toml");
    std::fs::write(&cfg, text).unwrap();
    let log = dir.path().join("daemon.log");
    let mut daemon = Daemon::start(&cfg, &outbox, &log);
    // A new notifier starts at the newest row: queue only once it runs.
    daemon.wait_log("notifier started", Duration::from_secs(30));

    // 50 test alerts: the broker takes them, the webhook cannot.
    let o = Command::new(BIN)
        .args(["send-test-alert", "--config", cfg.to_str().unwrap()])
        .args(["--count", "50", "--timeout-s", "30"])
        .env("ESTATEWATCH_LOG", "warn")
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    daemon.kill9();
    assert_eq!(
        outbox_rows(&outbox),
        50,
        "kept for the notifier; daemon log:\n{}",
        daemon.log()
    );

    let hook = Hook::start(port);
    let mut daemon = Daemon::start(&cfg, &outbox, &log);
    let ok = hook.wait_delivered(Duration::from_secs(120), |r| r.len() >= 50);
    let got = hook.delivered();
    assert!(
        ok,
        "{} of 50 notified after the restart:\n{}",
        got.len(),
        daemon.log()
    );
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for r in &got {
        *count.entry(id_of(r)).or_default() += 1;
        assert_eq!(r.json()["kind"], "test");
    }
    assert_eq!(count.len(), 50, "50 different alerts");
    assert!(count.values().all(|n| *n == 1), "none twice: {count:?}");
    let ns: Vec<u64> = got
        .iter()
        .map(|r| r.json()["details"]["n"].as_u64().unwrap())
        .collect();
    assert_eq!(ns, (1..=50).collect::<Vec<_>>(), "in order");
    assert_signed(&got);
    assert!(
        daemon.term_within(Duration::from_secs(10)),
        "{}",
        daemon.log()
    );
    assert_eq!(outbox_rows(&outbox), 0, "both sinks done: rows deleted");
    println!("SIGKILL with 50 notifications pending: 50 notified after the restart, 0 twice");
}

#[test]
fn check_config_names_the_notifier_fields_that_are_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let (text, _) = config_with_hook(dir.path(), 1883, "http://127.0.0.1:9/hook", "");
    let bad = format!(
        "{text}\n[[notifiers]]\nname = \"guards\"\nkind = \"webhook\"\ncredentials_file = \"{}\"\n\
         \n[[notifiers]]\nname = \"bell\"\nkind = \"webhook\"\ncredentials_file = \"{}\"\n",
        dir.path().join("missing.toml").display(),
        dir.path().join("hook.toml").display(),
    );
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, bad).unwrap();
    std::fs::write(dir.path().join("hook.toml"), "url = \"mailto:x\"\n").unwrap();
    let o = Command::new(BIN)
        .args(["check-config", "--config", cfg.to_str().unwrap()])
        .env("ESTATEWATCH_LOG", "warn")
        .output()
        .unwrap();
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(
        out.contains("notifiers[1].name") && out.contains("duplicate"),
        "{out}"
    );
    assert!(
        out.contains("notifiers[1].credentials_file") && out.contains("missing.toml"),
        "{out}"
    );
    assert!(
        out.contains("notifiers[0].credentials_file")
            && out.contains("hook.toml")
            && out.contains("url"),
        "{out}"
    );
}

/// `estatewatch send-test-alert --count n` against `cfg`: `n` test alerts
/// through the outbox the daemon reads.
fn send_tests(cfg: &Path, n: u32) {
    let o = Command::new(BIN)
        .args(["send-test-alert", "--config", cfg.to_str().unwrap()])
        .args(["--count", &n.to_string(), "--timeout-s", "30"])
        .env("ESTATEWATCH_LOG", "warn")
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A webhook notifier table named `name` with its own credentials file.
fn hook_table(dir: &Path, name: &str, url: &str) -> String {
    let creds = dir.join(format!("{name}.toml"));
    std::fs::write(&creds, format!("url = \"{url}\"\n")).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    format!(
        "\n[[notifiers]]\nname = \"{name}\"\nkind = \"webhook\"\ncredentials_file = \"{}\"\n[notifiers.route]\nkinds = [\"test\"]\n",
        creds.display()
    )
}

#[test]
fn reload_adds_and_removes_notifiers_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start();
    let (day, night) = (Hook::start(0), Hook::start(0));
    let route = "[notifiers.route]\nkinds = [\"test\"]\n";
    let (text, outbox) = config_with_hook(dir.path(), broker.port(), &day.url(), route);
    let cfg = dir.path().join("estatewatch.toml");
    std::fs::write(&cfg, &text).unwrap();
    let mut daemon = Daemon::start(&cfg, &outbox, &dir.path().join("daemon.log"));
    daemon.wait_log("notifier started", Duration::from_secs(30));
    send_tests(&cfg, 3);
    assert!(
        day.wait_delivered(Duration::from_secs(60), |r| r.len() >= 3),
        "{}",
        daemon.log()
    );

    // Add "night": applied by SIGHUP, "guards" untouched.
    let with_night = format!("{text}{}", hook_table(dir.path(), "night", &night.url()));
    std::fs::write(&cfg, &with_night).unwrap();
    daemon.signal(libc::SIGHUP);
    daemon.wait_log("notifiers reloaded", Duration::from_secs(60));
    let log = daemon.log();
    assert!(
        log.contains(r#"kept=["guards"] started=["night"] stopped=[]"#),
        "{log}"
    );
    assert_eq!(daemon.log_count("notifier started"), 2, "{log}");
    send_tests(&cfg, 2);
    assert!(
        night.wait_delivered(Duration::from_secs(60), |r| r.len() >= 2),
        "{}",
        daemon.log()
    );
    assert!(
        day.wait_delivered(Duration::from_secs(60), |r| r.len() >= 5),
        "{}",
        daemon.log()
    );
    // The new notifier started at the newest row: not the 3 before it.
    let ns = |h: &Hook| -> Vec<u64> {
        h.delivered()
            .iter()
            .map(|r| r.json()["details"]["n"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(ns(&night), [1, 2], "only what came after the reload");
    assert_eq!(ns(&day), [1, 2, 3, 1, 2], "each once, in order");
    let ids: std::collections::BTreeSet<String> = day.delivered().iter().map(id_of).collect();
    assert_eq!(ids.len(), 5, "none twice");

    // Remove "guards": it stops and releases its rows; "night" goes on.
    let only_night = {
        // Drop the whole first notifier table (up to the next one).
        let start = with_night.find("[[notifiers]]").unwrap();
        let next = with_night[start + 1..].find("[[notifiers]]").unwrap() + start + 1;
        format!("{}{}", &with_night[..start], &with_night[next..])
    };
    std::fs::write(&cfg, &only_night).unwrap();
    daemon.signal(libc::SIGHUP);
    let end = Instant::now() + Duration::from_secs(60);
    while daemon.log_count("notifiers reloaded") < 2 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = daemon.log();
    assert!(
        log.contains(r#"kept=["night"] started=[] stopped=["guards"]"#),
        "{log}"
    );
    send_tests(&cfg, 1);
    assert!(
        night.wait_delivered(Duration::from_secs(60), |r| r.len() >= 3),
        "{}",
        daemon.log()
    );
    assert_eq!(day.delivered().len(), 5, "a removed notifier sends nothing");
    assert!(
        daemon.term_within(Duration::from_secs(10)),
        "{}",
        daemon.log()
    );
    assert_eq!(
        outbox_rows(&outbox),
        0,
        "no row kept for the removed notifier"
    );
}
