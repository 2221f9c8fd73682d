//! A small filesystem the outbox fills itself, or that something else fills
//! while alerts wait: recovery without a restart, and no resend after one.

use super::*;

/// A `test` alert (single-shot: no incident, so a restart adds no `end`).
fn test_alert(n: usize, pad: usize) -> Alert {
    let mut a = Alert::new(AlertKind::Test, Severity::Major, "test-estate", "gw1");
    a.details = serde_json::json!({ "n": n, "pad": "x".repeat(pad) });
    a
}

/// Submits `a` and waits until the writer has taken it (committed to the
/// file, or held in memory while the file fails): one commit per alert, as
/// alerts trickle in during a long outage.
async fn submit_one(d: &Delivery, a: Alert, queued_before: u64) {
    d.sink().submit(a).unwrap();
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let st = d.status();
        if st.depth > queued_before {
            return;
        }
        assert!(Instant::now() < end, "alert not queued: {st:#?}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Rows in the outbox file, read with a separate read-only connection.
fn rows_in_file(path: &Path) -> i64 {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    conn.query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0))
        .unwrap()
}

/// Restarts delivery on `cfg` and checks that nothing acknowledged before is
/// sent again: a marker alert raised after the restart is delivered after
/// everything still queued, so once it arrives any resend would have too.
async fn restart_resends_nothing(d: Delivery, cfg: &Config, sub: &Subscriber) {
    d.shutdown(Duration::from_secs(1)).await;
    let before = received_ids(sub).len();
    let d = Delivery::start(&cfg.delivery()).await.unwrap();
    let marker = test_alert(999_999, 0);
    let marker_id = marker.id.to_string();
    d.sink().submit(marker).unwrap();
    assert!(
        sub.wait_until(Duration::from_secs(30), |m| m
            .iter()
            .any(
                |m| m.topic.contains("/alerts/") && m.json()["id"] == marker_id.as_str()
            )),
        "marker not delivered after the restart: {:?}",
        d.status()
    );
    let after = received_ids(sub)[before..].to_vec();
    assert_eq!(
        after,
        vec![marker_id],
        "the restart sent again alerts the broker had acknowledged"
    );
    d.shutdown(Duration::from_secs(1)).await;
}

/// A 3 MiB tmpfs for one test's outbox, and a closed gate to the broker
/// that is not there yet.
struct SmallDisk {
    /// The mount point.
    small: PathBuf,
    gate: Gate,
    /// The outbox file on it.
    path: PathBuf,
    /// A config with that outbox, reaching the broker through the gate.
    cfg: Config,
    /// Unmounted when dropped, after the rest.
    _mount: Mount,
}

impl SmallDisk {
    /// Mounts it in `dir`; `None` (the test is skipped) where tmpfs cannot be mounted.
    fn mount(dir: &Path) -> Option<SmallDisk> {
        let small = dir.join("small");
        let mount = Mount::tmpfs_or_skip(&small, "size=3m", "a small tmpfs")?;
        let gate = Gate::new(crate::common::mosquitto::free_port());
        let path = small.join("outbox.db");
        let cfg = config(gate.port(), &path, "");
        Some(SmallDisk {
            small,
            gate,
            path,
            cfg,
            _mount: mount,
        })
    }
}

/// The broker behind `gate` starts with a subscriber to the alerts and the
/// gate opens: every `expected` alert must arrive, first arrivals in order.
fn broker_returns(gate: &mut Gate, expected: &[String], d: &Delivery) -> (Broker, Subscriber) {
    let broker = Broker::start_on(gate.target_port());
    let sub = Subscriber::subscribed(broker.port(), "estatewatch/gw1/alerts/#");
    gate.open();
    assert!(
        sub.wait_alert_ids(expected.len(), Duration::from_secs(60)),
        "{} arrived; {:?}",
        sub.alerts().len(),
        d.status()
    );
    check_order_and_count_duplicates(expected, &received_ids(&sub));
    (broker, sub)
}

/// Waits until nothing waits in the outbox and its file is healthy (takes
/// new alerts: what `/healthz` reports as the outbox being writable).
async fn wait_healthy_and_empty(d: &Delivery) -> DeliveryStatus {
    wait_status(
        d,
        Duration::from_secs(60),
        "an empty, durable outbox",
        |s| s.depth == 0 && s.outbox.durable && s.outbox.problem.is_none(),
    )
    .await
}

/// Waits until the acknowledged rows have left the outbox file at `path`.
async fn wait_rows_gone(path: &Path, d: &Delivery) {
    let end = Instant::now() + Duration::from_secs(60);
    while rows_in_file(path) != 0 {
        assert!(
            Instant::now() < end,
            "{} acknowledged rows still in the file; {:?}",
            rows_in_file(path),
            d.status()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The outbox alone fills a small filesystem while the broker is down (one
/// commit per alert grows the WAL far beyond the payload). When the broker
/// comes back, every alert must arrive, the acknowledged rows must leave the
/// file and the outbox must be healthy again, all without a restart; a
/// restart must then send nothing again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outbox_that_fills_its_own_small_disk_recovers_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mut disk) = SmallDisk::mount(dir.path()) else {
        return;
    };
    let delivery = Delivery::start(&disk.cfg.delivery()).await.unwrap();
    // 400 alerts of about 1.4 KB: 0.56 MB of payload on a 3 MiB disk.
    let mut expected = Vec::new();
    let mut disk_full_seen = false;
    for n in 0..400 {
        let a = test_alert(n, 1000);
        expected.push(a.id.to_string());
        submit_one(&delivery, a, n as u64).await;
        disk_full_seen |= delivery.status().outbox.problem_kind.as_deref() == Some("disk_full");
    }
    let st = delivery.status();
    println!(
        "400 alerts queued on a 3 MiB disk: depth {}, disk full seen: {disk_full_seen}, {:?}",
        st.depth, st.outbox
    );
    assert_eq!(st.depth, 400, "no alert may be dropped: {st:#?}");

    let (_broker, sub) = broker_returns(&mut disk.gate, &expected, &delivery);

    // Without a restart: nothing waits, the file takes new alerts again
    // (what /healthz reports as the outbox being writable), and the
    // acknowledged rows are gone from the file.
    let st = wait_healthy_and_empty(&delivery).await;
    println!("after the broker came back: {:?}", st.outbox);
    wait_rows_gone(&disk.path, &delivery).await;
    restart_resends_nothing(delivery, &disk.cfg, &sub).await;
}

/// Something else fills the disk while alerts wait in the outbox. When the
/// broker acknowledges them, the outbox must still be able to delete them
/// (it releases its reserve) although no space came back; once space is back
/// it is healthy again without a restart, and a restart sends nothing again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_rows_leave_a_full_disk_before_space_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mut disk) = SmallDisk::mount(dir.path()) else {
        return;
    };
    let delivery = Delivery::start(&disk.cfg.delivery()).await.unwrap();
    let mut expected = Vec::new();
    for n in 0..60 {
        let a = test_alert(n, 2000);
        expected.push(a.id.to_string());
        submit_one(&delivery, a, n as u64).await;
    }
    assert_eq!(rows_in_file(&disk.path), 60);

    // Another program fills the filesystem.
    let filler = disk.small.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 4096];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.sync_all();
    }
    // Alerts go on arriving until the outbox reports the full disk.
    let mut n = 60;
    while delivery.status().outbox.problem_kind.as_deref() != Some("disk_full") {
        assert!(n < 400, "no disk_full reported: {:?}", delivery.status());
        let a = test_alert(n, 2000);
        expected.push(a.id.to_string());
        submit_one(&delivery, a, n as u64).await;
        n += 1;
    }
    println!("disk full after {n} alerts: {:?}", delivery.status().outbox);

    let (_broker, sub) = broker_returns(&mut disk.gate, &expected, &delivery);

    // The disk is still full, yet the acknowledged rows leave the file.
    wait_rows_gone(&disk.path, &delivery).await;
    // Space comes back: healthy again, without a restart.
    std::fs::remove_file(&filler).unwrap();
    let st = wait_healthy_and_empty(&delivery).await;
    println!("after space came back: {:?}", st.outbox);
    restart_resends_nothing(delivery, &disk.cfg, &sub).await;
}
