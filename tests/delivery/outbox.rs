//! The outbox under pressure: the cap policy (checked against a model), schema
//! versions, and a corrupt, locked, unwritable or full database. Each failure
//! must give a clear error, never a panic, and keep (and deliver) what it can.

use crate::common::mosquitto::{
    check_order_and_count_duplicates, config_text, Broker, Gate, Subscriber,
};
use estatewatch::alert::{Alert, AlertKind, Severity};
use estatewatch::config::Config;
use estatewatch::delivery::outbox::{Caps, EncodedAlert, Outbox, OutboxError};
use estatewatch::delivery::{Delivery, DeliveryStatus};
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use uuid::Uuid;

const SEVERITIES: [Severity; 4] = [
    Severity::Info,
    Severity::Warning,
    Severity::Major,
    Severity::Critical,
];

fn config(port: u16, outbox: &Path, outbox_extra: &str) -> Config {
    let c = Config::parse(&config_text(port, outbox, "", outbox_extra)).unwrap();
    assert!(c.validate().is_empty(), "{:?}", c.validate());
    c
}

fn alert(sev: Severity, n: usize, pad: usize) -> Alert {
    let mut a = Alert::new(AlertKind::Smoke, sev, "test-estate", "gw1");
    a.details = serde_json::json!({ "n": n, "pad": "x".repeat(pad) });
    a
}

async fn wait_status(
    d: &Delivery,
    timeout: Duration,
    what: &str,
    f: impl Fn(&DeliveryStatus) -> bool,
) -> DeliveryStatus {
    let end = Instant::now() + timeout;
    loop {
        let st = d.status();
        if f(&st) {
            return st;
        }
        assert!(
            Instant::now() < end,
            "timed out waiting for {what}: {st:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn received_ids(sub: &Subscriber) -> Vec<String> {
    sub.alerts()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect()
}

// ---------------------------------------------------------------- cap policy

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

// ------------------------------------------------------------ schema versions

#[test]
fn schema_upgrades_from_empty_refuses_newer_and_foreign_files() {
    let dir = tempfile::tempdir().unwrap();
    let caps = Caps {
        max_rows: 10,
        max_bytes: 1 << 20,
        ttl: None,
    };
    // An empty SQLite file (version 0) is upgraded step by step.
    let empty = dir.path().join("empty.db");
    rusqlite::Connection::open(&empty)
        .unwrap()
        .execute_batch("VACUUM")
        .unwrap();
    let o = Outbox::open(&empty, caps, false).unwrap();
    assert_eq!(
        o.schema_version().unwrap(),
        estatewatch::delivery::outbox::SCHEMA_VERSION
    );
    drop(o);
    // A newer version is refused and left untouched.
    let conn = rusqlite::Connection::open(&empty).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let e = Outbox::open(&empty, caps, false).unwrap_err();
    assert!(matches!(e, OutboxError::TooNew { found: 99, .. }), "{e}");
    assert!(e.to_string().contains("newer than this estatewatch"), "{e}");
    let v: i64 = rusqlite::Connection::open(&empty)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 99);
    // Another application's database is refused, not converted.
    let foreign = dir.path().join("foreign.db");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('keep me');")
        .unwrap();
    let e = Outbox::open(&foreign, caps, true).unwrap_err();
    assert!(matches!(e, OutboxError::Foreign { .. }), "{e}");
    let kept: String = rusqlite::Connection::open(&foreign)
        .unwrap()
        .query_row("SELECT x FROM notes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kept, "keep me");
    // Missing file without create.
    let e = Outbox::open(&dir.path().join("nope.db"), caps, false).unwrap_err();
    assert!(e.to_string().contains("does not exist"), "{e}");
}

// ------------------------------------------------------------------ failures

/// Submits `n` alerts numbered from `start` and returns their ids.
fn submit(d: &Delivery, start: usize, n: usize, pad: usize) -> Vec<String> {
    (start..start + n)
        .map(|i| {
            let a = alert(Severity::Major, i, pad);
            let id = a.id.to_string();
            d.sink().submit(a).unwrap();
            id
        })
        .collect()
}

/// Ids of the rows with `seq` 1..=n that a fresh connection can read by
/// primary key, one query per row (empty when the file does not open).
fn readable_by_primary_key(path: &Path, n: i64) -> Vec<String> {
    let Ok(conn) = rusqlite::Connection::open(path) else {
        return Vec::new();
    };
    (1..=n)
        .filter_map(|seq| {
            conn.query_row("SELECT id FROM outbox WHERE seq = ?1", [seq], |r| {
                r.get::<_, String>(0)
            })
            .ok()
        })
        .collect()
}

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

/// A tmpfs mounted for one test; unmounted on drop.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(path: &Path, options: &str) -> Result<Mount, String> {
        std::fs::create_dir_all(path).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(path)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(Mount(path.to_path_buf()))
    }

    /// [`Mount::tmpfs`], or `None` after printing why the calling test is
    /// skipped (`what` names the filesystem it wanted).
    fn tmpfs_or_skip(path: &Path, options: &str, what: &str) -> Option<Mount> {
        match Mount::tmpfs(path, options) {
            Ok(m) => Some(m),
            Err(e) => {
                println!("SKIPPED: cannot mount {what} here ({e})");
                None
            }
        }
    }

    fn remount(&self, options: &str) {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.0)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

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

// ------------------------------------------------------- a small filesystem

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

// ---------------------------------------------------------------- salvage

/// A closed 300-row outbox at `path` (its WAL checkpointed into it), and its
/// alerts in `seq` order.
fn outbox_with_300_rows(path: &Path) -> Vec<EncodedAlert> {
    let caps = Caps {
        max_rows: 100_000,
        max_bytes: 1 << 30,
        ttl: None,
    };
    let alerts: Vec<EncodedAlert> = (0..300)
        .map(|i| {
            let a = alert(Severity::Warning, i, 400);
            EncodedAlert {
                id: a.id,
                kind: a.kind,
                severity: a.severity,
                created_ms: i as i64,
                payload: a.to_json().unwrap(),
                topic: None,
            }
        })
        .collect();
    let mut o = Outbox::open(path, caps, true).unwrap();
    o.append(&alerts).unwrap();
    drop(o);
    assert!(!Path::new(&format!("{}-wal", path.display())).exists());
    alerts
}

/// Overwrites `bytes[range]` of the file with 0xEE.
fn damage(path: &Path, range: std::ops::Range<usize>) {
    let mut bytes = std::fs::read(path).unwrap();
    assert!(bytes.len() >= range.end, "{} bytes", bytes.len());
    for b in &mut bytes[range] {
        *b = 0xEE;
    }
    std::fs::write(path, &bytes).unwrap();
}

/// `got` is a subsequence of `all` (same alerts, same order).
fn assert_in_order(got: &[EncodedAlert], all: &[EncodedAlert]) {
    let mut rest = all.iter();
    for g in got {
        assert!(
            rest.any(|a| a == g),
            "salvaged alert {} is not an original one, or out of order",
            g.id
        );
    }
}

#[test]
fn salvage_reads_every_row_still_readable_by_primary_key() {
    let dir = tempfile::tempdir().unwrap();
    let page = 4096;
    // The pages holding rows of the outbox table, first to last (0-based).
    let leaves = |path: &Path| -> Vec<usize> {
        let conn = rusqlite::Connection::open(path).unwrap();
        let mut stmt = conn
            .prepare("SELECT pageno FROM dbstat WHERE name = 'outbox' AND pagetype = 'leaf' ORDER BY pageno")
            .unwrap();
        let pages = stmt
            .query_map([], |r| r.get::<_, i64>(0))
            .unwrap()
            .map(|p| p.unwrap() as usize - 1)
            .collect();
        pages
    };
    // A damaged outbox page in the middle of the file, and the last one.
    for name in ["middle", "last"] {
        let path = dir.path().join(format!("{name}.db"));
        let all = outbox_with_300_rows(&path);
        let leaves = leaves(&path);
        let at = if name == "middle" {
            leaves[leaves.len() / 2]
        } else {
            leaves[leaves.len() - 1]
        };
        damage(&path, at * page..(at + 1) * page);
        let readable = readable_by_primary_key(&path, 300);
        let s = estatewatch::delivery::outbox::salvage(&path);
        println!(
            "page {at} damaged: {} readable by primary key, {} salvaged, lost {:?}",
            readable.len(),
            s.alerts.len(),
            s.lost
        );
        assert!(!readable.is_empty() && readable.len() < 300);
        assert!(s.alerts.len() >= readable.len(), "{name}");
        for id in &readable {
            assert!(s.alerts.iter().any(|a| &a.id.to_string() == id), "{id}");
        }
        assert_in_order(&s.alerts, &all);
        assert_eq!(s.lost, Some(300 - s.alerts.len() as u64), "{name}");
        assert!(!s.header_rebuilt);
    }
}

#[test]
fn salvage_of_a_file_with_a_damaged_header_rebuilds_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("header.db");
    let all = outbox_with_300_rows(&path);
    damage(&path, 0..100);
    assert!(
        readable_by_primary_key(&path, 300).is_empty(),
        "SQLite itself cannot open it"
    );
    let s = estatewatch::delivery::outbox::salvage(&path);
    println!(
        "header damaged: {} salvaged, lost {:?}",
        s.alerts.len(),
        s.lost
    );
    assert!(s.header_rebuilt);
    assert_eq!(s.alerts, all, "every row comes back, in order");
    assert_eq!(s.lost, Some(0));
    // The damaged file is left as it was and the temporary copy is gone.
    assert_eq!(&std::fs::read(&path).unwrap()[..100], &[0xEE; 100][..]);
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("header.db")]);

    // Header and a table page both damaged: the counts still add up.
    let path = dir.path().join("both.db");
    outbox_with_300_rows(&path);
    damage(&path, 0..100);
    damage(&path, 20 * 4096..21 * 4096);
    let s = estatewatch::delivery::outbox::salvage(&path);
    println!(
        "header and a page damaged: {} salvaged, lost {:?}",
        s.alerts.len(),
        s.lost
    );
    assert!(s.alerts.len() > 250, "{}", s.alerts.len());
    assert_eq!(s.lost, Some(300 - s.alerts.len() as u64));

    // Nothing readable at all: nothing salvaged, the loss is unknown.
    let path = dir.path().join("noise.db");
    std::fs::write(&path, vec![0xEEu8; 8192]).unwrap();
    let s = estatewatch::delivery::outbox::salvage(&path);
    assert!(s.alerts.is_empty());
    assert_eq!(s.lost, None);
}
