//! Delivery benchmarks: a plain harness that prints figures (no criterion:
//! two of the three need a broker restart and a subscriber, which do not fit
//! criterion's repeat-a-closure model).
//!
//! Run: `cargo bench --bench outbox` (set `EW_BENCH_DIR` to put the outbox on
//! a particular filesystem; default: the system temp dir).
//!
//! 1. Alerts committed durably per second: `Outbox::append` with
//!    `synchronous = FULL` in WAL mode, by batch size, and end to end through
//!    `AlertSink::submit` (the writer thread batches by itself).
//! 2. Drain: 10,000 alerts buffered while the broker is down, then the broker
//!    comes back: alerts per second from CONNACK to the last one received by
//!    a subscriber, and until the outbox is empty (every PUBACK recorded).
//! 3. Latency while online: alert created → received by a subscriber on the
//!    same host, p50/p95/p99, at a steady rate.

#[path = "../tests/common/mosquitto.rs"]
mod mosquitto;

use estatewatch::alert::{Alert, AlertKind, BBox, Severity, Snapshot};
use estatewatch::config::Config;
use estatewatch::delivery::outbox::{Caps, EncodedAlert, Outbox};
use estatewatch::delivery::Delivery;
use mosquitto::{config_text, Broker, Gate, Subscriber};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn bench_dir() -> tempfile::TempDir {
    match std::env::var_os("EW_BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d).expect("EW_BENCH_DIR"),
        None => tempfile::tempdir().expect("temp dir"),
    }
}

/// A realistic video alert; with `snapshot_bytes > 0` it carries a JPEG-sized blob.
fn alert(n: usize, snapshot_bytes: usize) -> Alert {
    let mut a = Alert::new(
        AlertKind::Throwing,
        Severity::Major,
        "harbour-view",
        "gw-tower-a",
    );
    a.camera = Some("tower-a-south".into());
    a.zone = Some("facade".into());
    a.media_time_ms = Some(123_456);
    a.score = 0.87;
    a.bbox = Some(BBox {
        x: 0.41,
        y: 0.22,
        w: 0.03,
        h: 0.05,
    });
    a.details = serde_json::json!({ "n": n, "floor": 17, "column": 3, "track_len": 14, "fit_residual_px": 1.8 });
    if snapshot_bytes > 0 {
        a.snapshot = Some(Snapshot {
            content_type: "image/jpeg".into(),
            width: 640,
            height: 360,
            data: vec![0x5a; snapshot_bytes],
        });
    }
    a
}

fn encoded(n: usize, snapshot_bytes: usize) -> EncodedAlert {
    let a = alert(n, snapshot_bytes);
    EncodedAlert {
        id: a.id,
        kind: a.kind,
        severity: a.severity,
        created_ms: a.detected_at.timestamp_millis(),
        payload: a.to_json().expect("json"),
        topic: None,
    }
}

fn fs_name(p: &Path) -> String {
    let out = std::process::Command::new("stat")
        .args(["-f", "-c", "%T"])
        .arg(p)
        .output();
    out.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|_| "?".into())
}

fn commit_rate() {
    let dir = bench_dir();
    println!(
        "\n[1] durable commits to the outbox (WAL, synchronous=FULL) on {} ({})",
        dir.path().display(),
        fs_name(dir.path())
    );
    let caps = Caps {
        max_rows: u64::MAX,
        max_bytes: u64::MAX,
        ttl: None,
    };
    for (batch, total, snap) in [
        (1, 2_000, 0),
        (32, 20_000, 0),
        (512, 50_000, 0),
        (32, 4_000, 40_000),
    ] {
        let path = dir.path().join(format!("commit-{batch}-{snap}.db"));
        let mut o = Outbox::open(&path, caps, true).expect("open");
        let alerts: Vec<EncodedAlert> = (0..total).map(|n| encoded(n, snap)).collect();
        let size = alerts[0].payload.len();
        let t = Instant::now();
        for chunk in alerts.chunks(batch) {
            o.append(chunk).expect("append");
        }
        let s = t.elapsed().as_secs_f64();
        println!(
            "    batch {batch:>3}, {size:>6} B alerts: {:>9.0} alerts/s ({:>7.1} commits/s, {:.1} MB/s)",
            total as f64 / s,
            (total / batch) as f64 / s,
            (total * size) as f64 / s / 1e6
        );
    }
}

fn config(port: u16, outbox: &Path) -> Config {
    Config::parse(&config_text(port, outbox, "", "")).expect("config")
}

fn wait_rows(path: &Path, rows: u64, timeout: Duration) -> Duration {
    let caps = Caps {
        max_rows: u64::MAX,
        max_bytes: u64::MAX,
        ttl: None,
    };
    let o = Outbox::open(path, caps, false).expect("open");
    let t = Instant::now();
    while o.totals().expect("totals").0 != rows {
        assert!(t.elapsed() < timeout, "outbox did not reach {rows} rows");
        std::thread::sleep(Duration::from_millis(2));
    }
    t.elapsed()
}

async fn sink_commit_and_drain(n: usize, snapshot_bytes: usize) {
    let dir = bench_dir();
    let path: PathBuf = dir.path().join("outbox.db");
    let mut gate = Gate::new(mosquitto::free_port());
    let delivery = Delivery::start(&config(gate.port(), &path).delivery())
        .await
        .expect("start");
    let alerts: Vec<Alert> = (0..n).map(|i| alert(i, snapshot_bytes)).collect();
    let size = alerts[0].to_json().expect("json").len();
    let sink = delivery.sink();
    let t = Instant::now();
    for a in alerts {
        sink.submit(a).expect("submit");
    }
    let submitted = t.elapsed();
    let p = path.clone();
    tokio::task::spawn_blocking(move || wait_rows(&p, n as u64, Duration::from_secs(120)))
        .await
        .expect("join");
    let committed = t.elapsed();
    println!(
        "    via AlertSink, {n} x {size} B: submit {:.0} alerts/s; committed {:.0} alerts/s",
        n as f64 / submitted.as_secs_f64(),
        n as f64 / committed.as_secs_f64()
    );

    let broker = Broker::start_on(gate.target_port());
    let sub = Subscriber::connect(broker.port(), "estatewatch/gw1/alerts/#");
    sub.wait_subscribed(1, Duration::from_secs(5));
    gate.open();
    let connected = loop {
        if delivery.status().link.connected {
            break Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    assert!(
        sub.wait_alert_ids(n, Duration::from_secs(300)),
        "drain incomplete"
    );
    let last = sub
        .messages()
        .iter()
        .map(|m| m.received_at)
        .max()
        .expect("messages");
    while !delivery.is_idle() {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let emptied = connected.elapsed();
    let recv = last.duration_since(connected).as_secs_f64();
    println!(
        "    drain {n} x {size} B after reconnect: {:.0} alerts/s to the subscriber ({recv:.2} s, {:.1} MB/s); outbox empty after {:.2} s",
        n as f64 / recv,
        (n * size) as f64 / recv / 1e6,
        emptied.as_secs_f64()
    );
    delivery.shutdown(Duration::from_secs(1)).await;
}

async fn latency(rate_per_s: u64, count: usize, snapshot_bytes: usize) {
    let dir = bench_dir();
    let path = dir.path().join("outbox.db");
    let broker = Broker::start();
    let sub = Subscriber::connect(broker.port(), "estatewatch/gw1/alerts/#");
    sub.wait_subscribed(1, Duration::from_secs(5));
    let delivery = Delivery::start(&config(broker.port(), &path).delivery())
        .await
        .expect("start");
    while !delivery.status().link.connected {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let sink = delivery.sink();
    let gap = Duration::from_micros(1_000_000 / rate_per_s);
    let created: HashMap<String, Instant> = tokio::task::spawn_blocking(move || {
        let mut created = HashMap::new();
        let start = Instant::now();
        for i in 0..count {
            let target = start + gap * i as u32;
            if let Some(d) = target.checked_duration_since(Instant::now()) {
                std::thread::sleep(d);
            }
            let a = alert(i, snapshot_bytes);
            created.insert(a.id.to_string(), Instant::now());
            sink.submit(a).expect("submit");
        }
        created
    })
    .await
    .expect("producer");
    assert!(sub.wait_alert_ids(count, Duration::from_secs(60)));
    let mut lat: Vec<f64> = sub
        .messages()
        .iter()
        .filter_map(|m| {
            let id = m.json()["id"].as_str()?.to_string();
            Some(
                m.received_at
                    .duration_since(*created.get(&id)?)
                    .as_secs_f64()
                    * 1000.0,
            )
        })
        .collect();
    lat.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "    {count} alerts at {rate_per_s}/s, {} B: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        alert(0, snapshot_bytes).to_json().expect("json").len(),
        pct(0.50),
        pct(0.95),
        pct(0.99),
        lat[lat.len() - 1]
    );
    delivery.shutdown(Duration::from_secs(1)).await;
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` would run this too: keep it quick then.
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    commit_rate();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!("\n[2] commit through AlertSink, then drain buffered alerts to a local mosquitto after reconnect");
    rt.block_on(sink_commit_and_drain(10_000, 0));
    rt.block_on(sink_commit_and_drain(1_000, 40_000));
    println!("\n[3] end-to-end latency, alert created -> received by a subscriber, broker online");
    rt.block_on(latency(20, 300, 0));
    rt.block_on(latency(200, 2_000, 0));
    rt.block_on(latency(20, 200, 40_000));
}
