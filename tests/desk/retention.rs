//! Retention of the desk file (`[desk] retention_days`): resolved incidents
//! and their handling trail go once everything about them is older than the
//! retention; open and acknowledged ones stay, whatever their age; the rows
//! removed are counted. A real desk file; old times are faked by running
//! retention as of a later day, by alerts dated ahead, and (for the run at
//! start) by back-dating rows in the file itself.

use crate::desk::{config, console, runtime, start_desk, throwing, wait_incident};
use estatewatch::alert::submit::AlertSubmit;
use estatewatch::alert::AlertState;
use estatewatch::desk::{Action, IncidentState, Outcome};
use std::time::{Duration, Instant};

fn resolve() -> Action {
    Action::Resolve {
        outcome: Outcome::Handled,
        reason: Some("bottle removed".into()),
    }
}

/// Rows of `table` for `event` in the desk file.
fn rows(conn: &rusqlite::Connection, table: &str, event: &str) -> i64 {
    conn.query_row(
        &format!("SELECT COUNT(*) FROM {table} WHERE event = ?1"),
        [event],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn resolved_incidents_past_the_retention_go_with_their_trail_and_open_ones_stay() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let cfg = config(
        crate::common::mosquitto::free_port(),
        dir.path(),
        "retention_days = 30",
    );
    let (delivery, desk) = rt.block_on(start_desk(&cfg));
    let stage = desk.stage(delivery.sink());
    let op = console("王工");

    // Three incidents, all seen now: one resolved, one only acknowledged,
    // one resolved but seen again 40 days on (an alert dated ahead).
    let (resolved, acked, seen_again) = (throwing(), throwing(), throwing());
    for a in [&resolved, &acked, &seen_again] {
        stage.submit(a.clone()).unwrap();
        wait_incident(&desk, &a.event.to_string());
    }
    let ev = |a: &estatewatch::alert::Alert| a.event.to_string();
    desk.act(&ev(&resolved), Action::Acknowledge { note: None }, &op)
        .unwrap();
    desk.act(&ev(&resolved), resolve(), &op).unwrap();
    desk.act(&ev(&acked), Action::Acknowledge { note: None }, &op)
        .unwrap();
    desk.act(&ev(&seen_again), resolve(), &op).unwrap();
    let now = chrono::Utc::now();
    let mut later = seen_again.clone();
    later.id = uuid::Uuid::now_v7();
    later.state = AlertState::Update;
    later.detected_at = now + chrono::Duration::days(40);
    stage.submit(later).unwrap();
    let end = Instant::now() + Duration::from_secs(30);
    while desk.get(&ev(&seen_again)).unwrap().unwrap().summary.last_at
        < now + chrono::Duration::days(39)
    {
        assert!(
            Instant::now() < end,
            "the later alert never reached the desk"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // Today nothing is old enough.
    assert_eq!(desk.remove_expired(now).unwrap().incidents, 0);
    // 45 days on, everything about `resolved` is 45 days old: it goes, with
    // its two steps; the acknowledged one and the one seen again stay.
    let removed = desk
        .remove_expired(now + chrono::Duration::days(45))
        .unwrap();
    assert_eq!((removed.incidents, removed.handling), (1, 2));
    assert!(desk.get(&ev(&resolved)).unwrap().is_none());
    let kept = desk.get(&ev(&acked)).unwrap().expect("open incidents stay");
    assert_eq!(kept.summary.state, IncidentState::Acknowledged);
    assert_eq!(kept.handling.len(), 1, "its audit trail stays");
    assert!(desk.get(&ev(&seen_again)).unwrap().is_some());
    let f = desk.figures().unwrap();
    assert_eq!(
        (f.retention_removed_incidents, f.retention_removed_handling),
        (1, 2)
    );
    // A year on, still no open incident goes.
    let removed = desk
        .remove_expired(now + chrono::Duration::days(400))
        .unwrap();
    assert_eq!(removed.incidents, 1, "the one seen again, now old too");
    assert!(desk.get(&ev(&acked)).unwrap().is_some());

    // The file itself refuses removing an open incident or its trail.
    let path = cfg.desk_sections().db;
    let conn = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(rows(&conn, "handling", &ev(&resolved)), 0);
    assert_eq!(rows(&conn, "handling", &ev(&acked)), 1);
    conn.pragma_update(None, "foreign_keys", true).unwrap();
    let e = conn
        .execute("DELETE FROM handling WHERE event = ?1", [ev(&acked)])
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    let e = conn
        .execute("DELETE FROM incidents WHERE event = ?1", [ev(&acked)])
        .unwrap_err();
    assert!(e.to_string().contains("unresolved incident is kept"), "{e}");
    drop(conn);
    drop(stage);
    drop(desk);
    rt.block_on(delivery.shutdown(Duration::ZERO));
}

#[test]
fn retention_runs_when_the_desk_opens_before_the_figures_are_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let cfg = config(crate::common::mosquitto::free_port(), dir.path(), "");
    let (delivery, desk) = rt.block_on(start_desk(&cfg));
    let stage = desk.stage(delivery.sink());
    let (old, open) = (throwing(), throwing());
    for a in [&old, &open] {
        stage.submit(a.clone()).unwrap();
        wait_incident(&desk, &a.event.to_string());
    }
    let (old_ev, open_ev) = (old.event.to_string(), open.event.to_string());
    desk.act(&old_ev, resolve(), &console("王工")).unwrap();
    drop(stage);
    drop(desk);
    rt.block_on(delivery.shutdown(Duration::ZERO));

    // Back-date both incidents and their steps by 400 days (the trail's
    // no-update trigger is lifted for the edit and put back as it was).
    let path = cfg.desk_sections().db;
    let conn = rusqlite::Connection::open(&path).unwrap();
    let shift = chrono::Duration::days(400).num_milliseconds();
    conn.execute_batch(&format!(
        "DROP TRIGGER handling_no_update;
         UPDATE handling SET at_ms = at_ms - {shift};
         UPDATE incidents SET first_ms = first_ms - {shift}, last_ms = last_ms - {shift},
                resolved_ms = resolved_ms - {shift};
         CREATE TRIGGER handling_no_update BEFORE UPDATE ON handling BEGIN
             SELECT RAISE(ABORT, 'the handling trail is append-only');
         END;"
    ))
    .unwrap();
    drop(conn);

    // The default retention (365 days) applies as the desk opens.
    let (delivery, desk) = rt.block_on(start_desk(&cfg));
    assert!(desk.get(&old_ev).unwrap().is_none(), "removed at start");
    assert!(desk.get(&open_ev).unwrap().is_some(), "open: kept");
    let f = desk.figures().unwrap();
    assert_eq!(
        (f.retention_removed_incidents, f.retention_removed_handling),
        (1, 1)
    );
    // The response times count what the file keeps: the removed
    // incident's resolution is gone from them.
    assert!(
        f.time_to_resolve.iter().all(|s| s.histogram.count == 0),
        "{:?}",
        f.time_to_resolve
    );
    drop(desk);
    rt.block_on(delivery.shutdown(Duration::ZERO));
}
