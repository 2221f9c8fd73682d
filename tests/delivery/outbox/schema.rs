//! Schema versions: an empty file is upgraded, a newer or foreign one refused.

use super::*;

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
