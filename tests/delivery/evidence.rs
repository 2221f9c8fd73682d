//! The evidence store's sweep against a real SQLite outbox and a real
//! mosquitto: retention, the size cap and the free-space floor remove the
//! oldest event folders first, and never those of an open incident or of an
//! alert not yet delivered.

use crate::common::mosquitto::{config_text, Broker};
use estatewatch::alert::{Alert, AlertKind, AlertState, Severity};
use estatewatch::config::Config;
use estatewatch::delivery::Delivery;
use estatewatch::evidence::store::{EvidenceLink, EvidenceStore, Limits};
use estatewatch::evidence::{event_dir, SNAPSHOT_DETECT};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use uuid::Uuid;

const DAY: u64 = 86_400;

fn alert(kind: AlertKind, state: AlertState, event: Option<Uuid>) -> Alert {
    let mut a = Alert::new(kind, Severity::Major, "test-estate", "gw1");
    a.camera = Some("gate".into());
    a.state = state;
    if let Some(e) = event {
        a.event = e;
    }
    a
}

/// An event folder with one `bytes`-long file, last written `age_days` ago.
fn folder(dir: &Path, event: Uuid, age_days: u64, bytes: usize) {
    let d = event_dir(dir, "gate", event);
    std::fs::create_dir_all(&d).unwrap();
    let f = d.join(SNAPSHOT_DETECT);
    std::fs::write(&f, vec![7u8; bytes]).unwrap();
    let t = SystemTime::now() - Duration::from_secs(age_days * DAY + 3600);
    std::fs::File::options()
        .write(true)
        .open(&f)
        .unwrap()
        .set_modified(t)
        .unwrap();
    std::fs::File::open(&d).unwrap().set_modified(t).unwrap();
}

fn left(store: &EvidenceStore) -> Vec<Uuid> {
    let mut v: Vec<Uuid> = store
        .scan(SystemTime::now())
        .iter()
        .map(|f| f.event)
        .collect();
    v.sort();
    v
}

fn sorted(mut v: Vec<Uuid>) -> Vec<Uuid> {
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_cap_and_free_floor_evict_oldest_and_keep_protected_folders() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start();
    let cfg = Config::parse(&config_text(
        broker.port(),
        &dir.path().join("outbox.db"),
        "",
        "",
    ))
    .unwrap();
    let delivery = Delivery::start(&cfg.delivery()).await.unwrap();
    let sink = delivery.sink();

    // Delivered: a fire still burning (open incident), a throw, and a bag
    // whose incident has ended.
    let fire = alert(AlertKind::Fire, AlertState::New, None);
    let throw = alert(AlertKind::Throwing, AlertState::New, None);
    let bag = alert(AlertKind::Garbage, AlertState::New, None);
    let bag_end = alert(AlertKind::Garbage, AlertState::End, Some(bag.event));
    let (fire_ev, throw_ev, bag_ev) = (fire.event, throw.event, bag.event);
    for a in [fire, throw, bag, bag_end] {
        sink.submit(a).unwrap();
    }
    let end = Instant::now() + Duration::from_secs(60);
    while !delivery.is_idle() {
        assert!(
            Instant::now() < end,
            "not delivered: {:?}",
            delivery.status()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The broker goes away: this throw stays undelivered in the outbox.
    broker.stop();
    let waiting = alert(AlertKind::Throwing, AlertState::New, None);
    let waiting_ev = waiting.event;
    sink.submit(waiting).unwrap();
    let probe = delivery.probe();
    let link: Arc<dyn EvidenceLink> = Arc::new(probe.clone());
    let end = Instant::now() + Duration::from_secs(30);
    while !link.protected_events().unwrap().contains(&waiting_ev) {
        assert!(
            Instant::now() < end,
            "the undelivered alert is never committed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let protected = link.protected_events().unwrap();
    assert!(protected.contains(&fire_ev), "open incident: {protected:?}");
    assert!(!protected.contains(&throw_ev) && !protected.contains(&bag_ev));
    let orphan = Uuid::now_v7();

    // 1. Retention (30 days): everything is 40 days old.
    let ev = dir.path().join("evidence");
    for e in [fire_ev, throw_ev, bag_ev, waiting_ev, orphan] {
        folder(&ev, e, 40, 1000);
    }
    let thirty_days = Duration::from_secs(30 * DAY);
    let store = EvidenceStore::new(
        &ev,
        Limits {
            max_bytes: 1 << 40,
            min_free_bytes: 0,
            retention: thirty_days,
        },
    );
    let r = store.sweep(&*link, SystemTime::now());
    assert_eq!(
        sorted(r.evicted.iter().map(|(e, _)| *e).collect()),
        sorted(vec![throw_ev, bag_ev, orphan])
    );
    assert!(r.evicted.iter().all(|(_, why)| *why == "retention"));
    assert_eq!(left(&store), sorted(vec![fire_ev, waiting_ev]));
    assert_eq!(store.stats().evictions["retention"], 3);

    // 2. The cap: within retention, 1000 bytes each, oldest first:
    // fire (10 days, open), throw (9), bag (8), waiting (7, undelivered),
    // orphan (6). A 3500-byte cap removes the throw and the bag, nothing else.
    for (e, age) in [
        (fire_ev, 10),
        (throw_ev, 9),
        (bag_ev, 8),
        (waiting_ev, 7),
        (orphan, 6),
    ] {
        folder(&ev, e, age, 1000);
    }
    let store = EvidenceStore::new(
        &ev,
        Limits {
            max_bytes: 3500,
            min_free_bytes: 0,
            retention: thirty_days,
        },
    );
    let r = store.sweep(&*link, SystemTime::now());
    assert_eq!(r.evicted, [(throw_ev, "cap"), (bag_ev, "cap")]);
    assert_eq!(left(&store), sorted(vec![fire_ev, waiting_ev, orphan]));
    let s = store.stats();
    assert_eq!((s.bytes, s.events, s.evictions["cap"]), (3000, 3, 2));
    assert!(s.oldest_age_s >= 10.0 * DAY as f64, "{s:?}");

    // 3. A free-space floor the disk can never meet (a full disk, as far as
    // the store can tell): every unprotected folder goes, the protected stay,
    // and the store says it is stuck under the floor.
    let store = EvidenceStore::new(
        &ev,
        Limits {
            max_bytes: 1 << 40,
            min_free_bytes: u64::MAX / 2,
            retention: thirty_days,
        },
    );
    let r = store.sweep(&*link, SystemTime::now());
    assert_eq!(r.evicted, [(orphan, "disk_free")]);
    assert_eq!(left(&store), sorted(vec![fire_ev, waiting_ev]));
    let s = store.stats();
    assert!(
        s.problem
            .as_deref()
            .is_some_and(|p| p.contains("min_free_mb")),
        "{s:?}"
    );

    // Once the broker is back and the fire has ended, both may go.
    broker.restart();
    sink.submit(alert(AlertKind::Fire, AlertState::End, Some(fire_ev)))
        .unwrap();
    let end = Instant::now() + Duration::from_secs(60);
    while !delivery.is_idle() {
        assert!(
            Instant::now() < end,
            "not delivered: {:?}",
            delivery.status()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(link.protected_events().unwrap().is_empty());
    let r = store.sweep(&*link, SystemTime::now());
    assert_eq!(r.evicted.len(), 2, "{r:?}");
    assert!(left(&store).is_empty());
    delivery.shutdown(Duration::from_secs(1)).await;
}
