//! Salvage of a damaged outbox file: every row readable by primary key comes
//! back in order, and a damaged header is rebuilt.

use super::*;

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
