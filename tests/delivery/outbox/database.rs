//! A corrupt database (moved aside, salvaged) and a database another process
//! holds locked (alerts kept in memory meanwhile).

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_database_is_moved_aside_salvaged_and_delivery_continues() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start();
    let sub = Subscriber::subscribed(broker.port(), "estatewatch/gw1/alerts/#");

    // 1. A file that is not a database at all.
    let garbage = dir.path().join("garbage.db");
    let noise: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(&garbage, &noise).unwrap();
    let delivery = Delivery::start(&config(broker.port(), &garbage, "").delivery())
        .await
        .unwrap();
    let st = delivery.status();
    println!("garbage file: {:?}", st.outbox);
    assert_eq!(st.outbox.quarantined.len(), 1);
    assert!(st.outbox.durable);
    assert_eq!(
        std::fs::read(&st.outbox.quarantined[0]).unwrap(),
        noise,
        "kept as it was"
    );
    let ids = submit(&delivery, 0, 10, 0);
    assert!(sub.wait_alert_ids(10, Duration::from_secs(10)));
    check_order_and_count_duplicates(&ids, &received_ids(&sub));
    delivery.shutdown(Duration::from_secs(1)).await;

    // 2. A real outbox with a damaged page in the middle.
    let damaged = dir.path().join("damaged.db");
    let caps = Caps {
        max_rows: 100_000,
        max_bytes: 1 << 30,
        ttl: None,
    };
    let mut old_ids = Vec::new();
    {
        let mut o = Outbox::open(&damaged, caps, true).unwrap();
        let batch: Vec<EncodedAlert> = (0..300)
            .map(|i| {
                let a = alert(Severity::Warning, 1000 + i, 400);
                old_ids.push(a.id.to_string());
                EncodedAlert {
                    id: a.id,
                    kind: a.kind,
                    severity: a.severity,
                    created_ms: 0,
                    payload: a.to_json().unwrap(),
                    topic: None,
                }
            })
            .collect();
        o.append(&batch).unwrap();
    }
    let mut bytes = std::fs::read(&damaged).unwrap();
    let page = 4096;
    assert!(bytes.len() > 30 * page, "{} bytes", bytes.len());
    // A table page from the middle of the file: payloads (with their
    // padding) are only on the table's pages, never in an index.
    let pages = bytes.len() / page;
    let pad = vec![b'x'; 64];
    let target = (pages / 2..pages)
        .find(|p| {
            bytes[p * page..(p + 1) * page]
                .windows(pad.len())
                .any(|w| w == pad.as_slice())
        })
        .expect("a table page in the second half of the file");
    for b in &mut bytes[target * page..(target + 1) * page] {
        *b = 0xEE;
    }
    std::fs::write(&damaged, &bytes).unwrap();

    // What a reader can still get by primary key, one row at a time.
    let readable = readable_by_primary_key(&damaged, 300);
    assert!(readable.len() < 300, "the damage must cost some rows");

    let before = sub.alerts().len();
    let delivery = Delivery::start(&config(broker.port(), &damaged, "").delivery())
        .await
        .unwrap();
    let st = delivery.status();
    println!(
        "damaged page: salvaged {} of 300 ({} readable by primary key), lost {}, {:?}",
        st.outbox.salvaged,
        readable.len(),
        st.outbox.salvage_lost,
        st.outbox.quarantined
    );
    assert_eq!(st.outbox.quarantined.len(), 1);
    assert!(st.outbox.quarantined[0].exists());
    assert!(
        st.outbox.salvaged >= readable.len() && st.outbox.salvaged < 300,
        "{st:?}"
    );
    assert_eq!(st.outbox.salvage_lost as usize, 300 - st.outbox.salvaged);
    let new_ids = submit(&delivery, 2000, 10, 0);
    // The salvaged smoke alerts are incidents the last run never ended, so
    // each also gets its restart `end`.
    let want = before + 2 * st.outbox.salvaged + 10;
    assert!(sub.wait_until(Duration::from_secs(15), |m| m
        .iter()
        .filter(|m| m.topic.contains("/alerts/"))
        .count()
        >= want));
    let got = sub.alerts()[before..].to_vec();
    let ids = |state: &str, field: &str| -> Vec<String> {
        got.iter()
            .filter(|a| a["state"] == state)
            .map(|a| a[field].as_str().unwrap().to_string())
            .collect()
    };
    // Salvaged rows are old ones, in their order, at least every row readable
    // by primary key; then the new alerts.
    let new_states = ids("new", "id");
    let salvaged: Vec<String> = new_states[..st.outbox.salvaged].to_vec();
    let in_old_order: Vec<String> = old_ids
        .iter()
        .filter(|id| salvaged.contains(id))
        .cloned()
        .collect();
    assert_eq!(salvaged, in_old_order, "salvaged rows keep their order");
    for id in &readable {
        assert!(salvaged.contains(id), "readable row {id} not salvaged");
    }
    let mut expected = salvaged.clone();
    expected.extend(new_ids);
    assert_eq!(ids("new", "id"), expected);
    // One `end` per salvaged incident, in the same order, all before the new alerts.
    assert_eq!(ids("end", "event"), salvaged);
    let last_end = got.iter().rposition(|a| a["state"] == "end").unwrap();
    let first_new_of_this_run = got.len() - 10;
    assert!(last_end < first_new_of_this_run);
    delivery.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locked_database_keeps_alerts_in_memory_delivers_them_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start();
    let sub = Subscriber::subscribed(broker.port(), "estatewatch/gw1/alerts/#");
    let path = dir.path().join("outbox.db");
    let delivery = Delivery::start(&config(broker.port(), &path, "").delivery())
        .await
        .unwrap();
    let mut expected = submit(&delivery, 0, 5, 0);
    assert!(sub.wait_alert_ids(5, Duration::from_secs(10)));

    // Another process takes the write lock and keeps it.
    let locker = rusqlite::Connection::open(&path).unwrap();
    locker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    expected.extend(submit(&delivery, 5, 20, 0));
    let st = wait_status(&delivery, Duration::from_secs(10), "locked", |s| {
        s.outbox.problem_kind.as_deref() == Some("locked")
    })
    .await;
    let problem = st.outbox.problem.clone().unwrap();
    println!("locked: {problem}");
    assert!(
        problem.contains("locked by another process") && problem.contains("outbox.db"),
        "{problem}"
    );
    assert!(!st.outbox.durable);
    // Still delivered (from memory) while the file is locked.
    assert!(
        sub.wait_alert_ids(25, Duration::from_secs(15)),
        "{:?}",
        delivery.status()
    );
    expected.extend(submit(&delivery, 25, 5, 0));
    assert!(sub.wait_alert_ids(30, Duration::from_secs(10)));

    locker.execute_batch("ROLLBACK").unwrap();
    drop(locker);
    wait_status(&delivery, Duration::from_secs(15), "durable again", |s| {
        s.outbox.durable
    })
    .await;
    expected.extend(submit(&delivery, 30, 5, 0));
    assert!(sub.wait_alert_ids(35, Duration::from_secs(10)));
    let dups = check_order_and_count_duplicates(&expected, &received_ids(&sub));
    assert_eq!(dups, 0);
    delivery.shutdown(Duration::from_secs(1)).await;
    let o = Outbox::open(
        &path,
        Caps {
            max_rows: 10,
            max_bytes: 1 << 20,
            ttl: None,
        },
        false,
    )
    .unwrap();
    assert_eq!(o.totals().unwrap().0, 0, "everything delivered and removed");
}
