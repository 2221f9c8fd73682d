//! Unit tests of the store: outbox or in-memory fallback, failures and recovery.

use super::*;

fn alert(sev: Severity) -> EncodedAlert {
    EncodedAlert {
        id: uuid::Uuid::now_v7(),
        kind: AlertKind::Test,
        severity: sev,
        created_ms: 0,
        payload: b"{}".to_vec(),
        topic: None,
    }
}

fn caps() -> Caps {
    Caps {
        max_rows: 1000,
        max_bytes: 1 << 20,
        ttl: None,
    }
}

#[test]
fn file_rows_come_before_memory_rows_and_acks_remove_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("o.db"), caps());
    let a = alert(Severity::Info);
    assert!(s.append(vec![a.clone()]));
    // Simulate a failure: writes suspended, new alerts go to memory.
    s.retry_at = Some(Instant::now() + Duration::from_secs(60));
    let b = alert(Severity::Info);
    assert!(!s.append(vec![b.clone()]));
    let rows = s.next_rows(&Cursor::default(), 10);
    let ids: Vec<_> = rows.iter().map(|r| r.id).collect();
    assert_eq!(ids, vec![a.id, b.id]);
    assert_eq!(s.delivered(s.epoch(), &[rows[0].at, rows[1].at]), 2);
    assert!(!s.health().durable || s.mem.is_empty());
    // Recovery: the pending delete reaches the file.
    s.retry_at = Some(Instant::now());
    s.maintain(Instant::now());
    assert!(s.is_drained());
    assert!(s.health().durable);
}

#[test]
fn memory_rows_move_to_the_file_in_order_and_bump_the_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("o.db"), caps());
    s.retry_at = Some(Instant::now());
    let batch: Vec<_> = (0..5).map(|_| alert(Severity::Major)).collect();
    assert!(!s.append(batch.clone()));
    let epoch = s.epoch();
    assert!(s.maintain(Instant::now()));
    assert_eq!(s.epoch(), epoch + 1);
    assert_eq!(s.health().memory_rows, 0);
    let rows = s.next_rows(&Cursor::default(), 10);
    let ids: Vec<_> = rows.iter().map(|r| r.id).collect();
    assert_eq!(ids, batch.iter().map(|a| a.id).collect::<Vec<_>>());
    assert!(rows.iter().all(|r| matches!(r.at, RowRef::File(_))));
}
