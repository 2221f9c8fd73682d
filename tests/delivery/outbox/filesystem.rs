//! An unwritable directory and a full disk: a clear error, alerts still
//! flow, and the outbox recovers.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unwritable_directory_gives_a_clear_error_and_alerts_still_flow() {
    let dir = tempfile::tempdir().unwrap();
    let ro = dir.path().join("ro");
    let Some(mount) = Mount::tmpfs_or_skip(&ro, "ro,size=4m", "a read-only tmpfs") else {
        return;
    };
    let broker = Broker::start();
    let sub = Subscriber::subscribed(broker.port(), "estatewatch/gw1/alerts/#");
    let path = ro.join("outbox.db");
    let delivery = Delivery::start(&config(broker.port(), &path, "").delivery())
        .await
        .unwrap();
    let st = delivery.status();
    let problem = st.outbox.problem.clone().unwrap_or_default();
    println!("unwritable: {problem}");
    assert_eq!(
        st.outbox.problem_kind.as_deref(),
        Some("unwritable"),
        "{st:?}"
    );
    assert!(problem.contains("cannot be written") && problem.contains(&path.display().to_string()));
    let mut expected = submit(&delivery, 0, 10, 0);
    assert!(sub.wait_alert_ids(10, Duration::from_secs(10)));

    mount.remount("rw");
    wait_status(&delivery, Duration::from_secs(15), "durable", |s| {
        s.outbox.durable
    })
    .await;
    assert!(path.exists());
    expected.extend(submit(&delivery, 10, 5, 0));
    assert!(sub.wait_alert_ids(15, Duration::from_secs(10)));
    assert_eq!(
        check_order_and_count_duplicates(&expected, &received_ids(&sub)),
        0
    );
    delivery.shutdown(Duration::from_secs(1)).await;
    drop(mount);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_disk_gives_a_clear_error_keeps_alerts_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small");
    let Some(_mount) = Mount::tmpfs_or_skip(&small, "size=2m", "a small tmpfs") else {
        return;
    };
    let mut gate = Gate::new(crate::common::mosquitto::free_port());
    let path = small.join("outbox.db");
    let delivery = Delivery::start(&config(gate.port(), &path, "").delivery())
        .await
        .unwrap();
    let mut expected = submit(&delivery, 0, 10, 100);
    let caps = Caps {
        max_rows: 1000,
        max_bytes: 1 << 30,
        ttl: None,
    };
    let end = Instant::now() + Duration::from_secs(5);
    while Outbox::open(&path, caps, false)
        .unwrap()
        .totals()
        .unwrap()
        .0
        < 10
    {
        assert!(Instant::now() < end, "first alerts not committed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Fill the filesystem.
    let filler = small.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 4096];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.sync_all();
    }
    expected.extend(submit(&delivery, 10, 300, 3000));
    let st = wait_status(&delivery, Duration::from_secs(10), "disk full", |s| {
        s.outbox.problem_kind.as_deref() == Some("disk_full")
    })
    .await;
    let problem = st.outbox.problem.clone().unwrap();
    println!(
        "full disk: {problem}; {} alerts in memory",
        st.outbox.memory_rows
    );
    assert!(
        problem.contains("disk is full") && problem.contains("outbox.db"),
        "{problem}"
    );
    assert!(!st.outbox.durable);

    // The broker comes back while the disk is still full: everything arrives.
    let broker = Broker::start_on(gate.target_port());
    let sub = Subscriber::subscribed(broker.port(), "estatewatch/gw1/alerts/#");
    gate.open();
    assert!(
        sub.wait_alert_ids(310, Duration::from_secs(20)),
        "{} arrived; {:?}",
        sub.alerts().len(),
        delivery.status()
    );

    // Space returns: the outbox is durable again and new alerts use it.
    std::fs::remove_file(&filler).unwrap();
    wait_status(&delivery, Duration::from_secs(15), "durable", |s| {
        s.outbox.durable
    })
    .await;
    expected.extend(submit(&delivery, 310, 5, 0));
    assert!(sub.wait_alert_ids(315, Duration::from_secs(10)));
    assert_eq!(
        check_order_and_count_duplicates(&expected, &received_ids(&sub)),
        0
    );
    let end = Instant::now() + Duration::from_secs(10);
    while !delivery.is_idle() && Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(delivery.is_idle(), "{:?}", delivery.status());
    delivery.shutdown(Duration::from_secs(1)).await;
}
