//! The cap policy: the outbox against a model of the documented policy, and
//! a full outbox dropping by policy while criticals are still delivered.

use super::*;

/// The documented policy, written as simply as possible.
#[derive(Default)]
struct Model {
    rows: Vec<(i64, Uuid, Severity, usize)>, // seq, id, severity, bytes
    next_seq: i64,
    dropped: BTreeMap<String, u64>,
}

impl Model {
    fn append(&mut self, batch: &[EncodedAlert], caps: Caps) {
        for a in batch {
            self.next_seq += 1;
            self.rows
                .push((self.next_seq, a.id, a.severity, a.payload.len()));
        }
        loop {
            let bytes: usize = self.rows.iter().map(|r| r.3).sum();
            if self.rows.len() as u64 <= caps.max_rows && bytes as u64 <= caps.max_bytes {
                break;
            }
            // Lowest severity, then oldest.
            let i = (0..self.rows.len())
                .min_by_key(|&i| (self.rows[i].2, self.rows[i].0))
                .unwrap();
            let r = self.rows.remove(i);
            let name = format!("dropped_cap_{}", format!("{:?}", r.2).to_lowercase());
            *self.dropped.entry(name).or_default() += 1;
        }
    }
}

fn encoded(rng: &mut rand::rngs::StdRng) -> EncodedAlert {
    EncodedAlert {
        id: Uuid::now_v7(),
        kind: AlertKind::Test,
        severity: SEVERITIES[rng.random_range(0..4)],
        created_ms: 0,
        payload: vec![b'a'; rng.random_range(10..400)],
        topic: None,
    }
}

#[test]
fn cap_policy_matches_the_documented_model_exactly() {
    let dir = tempfile::tempdir().unwrap();
    for seed in 0..6u64 {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let caps = Caps {
            max_rows: rng.random_range(3..40),
            max_bytes: rng.random_range(500..8000),
            ttl: None,
        };
        let path = dir.path().join(format!("model-{seed}.db"));
        let mut outbox = Outbox::open(&path, caps, true).unwrap();
        let mut model = Model::default();
        for _ in 0..150 {
            if rng.random_bool(0.75) {
                let batch: Vec<_> = (0..rng.random_range(1..8))
                    .map(|_| encoded(&mut rng))
                    .collect();
                let out = outbox.append(&batch).unwrap();
                let before = model.dropped.values().sum::<u64>();
                model.append(&batch, caps);
                assert_eq!(
                    out.dropped.len() as u64,
                    model.dropped.values().sum::<u64>() - before
                );
                // A critical goes only when no lower-severity row is left.
                if out.dropped.iter().any(|d| d.severity == Severity::Critical) {
                    assert!(model.rows.iter().all(|r| r.2 == Severity::Critical));
                }
            } else if !model.rows.is_empty() {
                // A PUBACK for a random queued row.
                let i = rng.random_range(0..model.rows.len());
                let (seq, ..) = model.rows.remove(i);
                assert_eq!(outbox.remove_delivered(&[seq]).unwrap(), 1);
            }
            let actual: Vec<Uuid> = outbox
                .rows_after(0, 10_000)
                .unwrap()
                .iter()
                .map(|r| r.id)
                .collect();
            let expected: Vec<Uuid> = model.rows.iter().map(|r| r.1).collect();
            assert_eq!(actual, expected, "seed {seed}: rows differ from the model");
        }
        let counters = outbox.counters().unwrap();
        for (k, v) in &model.dropped {
            assert_eq!(counters.get(k), Some(v), "seed {seed}: counter {k}");
        }
        let (rows, bytes) = outbox.totals().unwrap();
        assert_eq!(rows as usize, model.rows.len());
        assert_eq!(
            bytes as usize,
            model.rows.iter().map(|r| r.3).sum::<usize>()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_outbox_drops_by_policy_counts_it_and_criticals_are_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let mut gate = Gate::new(crate::common::mosquitto::free_port());
    let path = dir.path().join("outbox.db");
    let cfg = config(gate.port(), &path, "max_rows = 50\n");
    let delivery = Delivery::start(&cfg.delivery()).await.unwrap();
    // 200 alerts: 20 critical, the rest info/warning/major in a pattern.
    let mut all = Vec::new();
    for n in 0..200 {
        let sev = if n % 10 == 3 {
            Severity::Critical
        } else {
            SEVERITIES[n % 3]
        };
        let a = alert(sev, n, 10);
        all.push((a.id.to_string(), sev));
        delivery.sink().submit(a).unwrap();
    }
    // Survivors by the policy: the 50 best by (severity, recency).
    let mut ranked: Vec<usize> = (0..200).collect();
    ranked.sort_by_key(|&i| std::cmp::Reverse((all[i].1, i)));
    let mut keep: Vec<usize> = ranked[..50].to_vec();
    keep.sort();
    let expected: Vec<String> = keep.iter().map(|&i| all[i].0.clone()).collect();
    let mut expected_drops: BTreeMap<String, u64> = BTreeMap::new();
    for (i, (_, sev)) in all.iter().enumerate() {
        if !keep.contains(&i) {
            *expected_drops
                .entry(format!("dropped_cap_{}", format!("{sev:?}").to_lowercase()))
                .or_default() += 1;
        }
    }
    assert_eq!(expected_drops.get("dropped_cap_critical"), None);

    // Wait for the writer, then check the file with its own connection.
    let end = Instant::now() + Duration::from_secs(10);
    let stats = loop {
        let o = Outbox::open(
            &path,
            Caps {
                max_rows: 50,
                max_bytes: u64::MAX,
                ttl: None,
            },
            false,
        )
        .unwrap();
        let s = o.stats().unwrap();
        if s.counters.values().sum::<u64>() == 150 || Instant::now() > end {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(stats.rows, 50);
    assert_eq!(stats.by_severity.get("critical"), Some(&20));
    for (k, v) in &expected_drops {
        assert_eq!(stats.counters.get(k), Some(v), "{k}: {:?}", stats.counters);
    }
    println!(
        "cap 50 rows, 200 raised: kept {:?}, dropped {:?}",
        stats.by_severity, stats.counters
    );

    let broker = Broker::start_on(gate.target_port());
    let sub = Subscriber::subscribed(broker.port(), "estatewatch/gw1/alerts/#");
    gate.open();
    assert!(sub.wait_alert_ids(50, Duration::from_secs(20)));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = received_ids(&sub);
    assert_eq!(
        got, expected,
        "exactly the policy's survivors, in creation order"
    );
    delivery.shutdown(Duration::from_secs(1)).await;
}
