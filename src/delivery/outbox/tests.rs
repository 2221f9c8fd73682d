//! Unit tests of the outbox: caps, incidents, schema upgrades, TTL.

use super::*;

fn alert(sev: Severity, n: usize) -> EncodedAlert {
    EncodedAlert {
        id: Uuid::now_v7(),
        kind: AlertKind::Test,
        severity: sev,
        created_ms: 0,
        payload: vec![b'x'; n],
        topic: None,
    }
}

fn caps(rows: u64, bytes: u64) -> Caps {
    Caps {
        max_rows: rows,
        max_bytes: bytes,
        ttl: None,
    }
}

/// A real alert of `kind` in `state` for incident `event`, encoded.
fn incident(kind: AlertKind, state: crate::alert::AlertState, event: Uuid) -> EncodedAlert {
    let mut a = crate::alert::Alert::new(kind, Severity::Major, "s", "g");
    a.event = event;
    a.state = state;
    a.camera = Some("shed".into());
    a.snapshot = Some(crate::alert::Snapshot {
        content_type: "image/jpeg".into(),
        width: 1,
        height: 1,
        data: vec![1, 2, 3],
    });
    EncodedAlert {
        id: a.id,
        kind,
        severity: a.severity,
        created_ms: 0,
        payload: a.to_json().unwrap(),
        topic: None,
    }
}

/// [`incident`] with another severity.
fn incident_of(
    kind: AlertKind,
    severity: Severity,
    state: crate::alert::AlertState,
    event: Uuid,
) -> EncodedAlert {
    let mut a = incident(kind, state, event);
    let mut json: serde_json::Value = serde_json::from_slice(&a.payload).unwrap();
    json["severity"] = serde_json::to_value(severity).unwrap();
    a.payload = serde_json::to_vec(&json).unwrap();
    a.severity = severity;
    a
}

/// A single-shot alert (no incident) of `severity`.
fn shot(severity: Severity) -> EncodedAlert {
    incident_of(
        AlertKind::Throwing,
        severity,
        crate::alert::AlertState::New,
        Uuid::now_v7(),
    )
}

fn seq_of(o: &Outbox, id: Uuid) -> i64 {
    o.rows_after(0, 1000)
        .unwrap()
        .iter()
        .find(|r| r.id == id)
        .map(|r| r.seq)
        .unwrap()
}

#[test]
fn an_info_end_stays_while_its_major_new_is_kept() {
    use crate::alert::AlertState::{End, New};
    let dir = tempfile::tempdir().unwrap();
    let mut o = Outbox::open(&dir.path().join("o.db"), caps(3, 1 << 20), true).unwrap();
    let cam = Uuid::now_v7();
    let offline = incident_of(AlertKind::CameraOffline, Severity::Major, New, cam);
    o.append(std::slice::from_ref(&offline)).unwrap();
    o.append(&[shot(Severity::Major), shot(Severity::Major)])
        .unwrap();
    // The outbox is full; the camera comes back (an info `end`).
    let online = incident_of(AlertKind::CameraOnline, Severity::Info, End, cam);
    let out = o.append(std::slice::from_ref(&online)).unwrap();
    assert_eq!(out.dropped.len(), 1);
    assert!(
        !o.contains(offline.id).unwrap() || o.contains(online.id).unwrap(),
        "camera_offline kept but its camera_online dropped: {out:?}"
    );
    assert!(o.contains(online.id).unwrap());
    assert_eq!(o.totals().unwrap().0, 3);
}

#[test]
fn an_end_stays_when_its_new_was_delivered() {
    use crate::alert::AlertState::{End, New};
    let dir = tempfile::tempdir().unwrap();
    let mut o = Outbox::open(&dir.path().join("o.db"), caps(3, 1 << 20), true).unwrap();
    let sensor = Uuid::now_v7();
    let new = incident_of(AlertKind::Sensor, Severity::Major, New, sensor);
    o.append(std::slice::from_ref(&new)).unwrap();
    let seq = seq_of(&o, new.id);
    assert_eq!(o.remove_delivered(&[seq]).unwrap(), 1);
    let oldest = shot(Severity::Major);
    o.append(&[
        oldest.clone(),
        shot(Severity::Major),
        shot(Severity::Critical),
    ])
    .unwrap();
    // Full of major and critical alerts; the sensor's `end` is a warning.
    let end = incident_of(AlertKind::Sensor, Severity::Warning, End, sensor);
    let out = o.append(std::slice::from_ref(&end)).unwrap();
    assert!(o.contains(end.id).unwrap(), "end dropped: {out:?}");
    assert_eq!(out.dropped.len(), 1);
    assert_eq!(
        out.dropped[0].id, oldest.id,
        "the oldest major goes instead"
    );
    // The TTL does not drop it either.
    let mut o = Outbox::open(
        &dir.path().join("o.db"),
        Caps {
            ttl: Some(Duration::from_secs(3600)),
            ..caps(3, 1 << 20)
        },
        false,
    )
    .unwrap();
    let expired = o.expire(now_ms() + 7_200_000).unwrap();
    assert_eq!(expired.len(), 2, "{expired:?}");
    assert!(o.contains(end.id).unwrap());
}

#[test]
fn an_end_is_held_only_while_its_incident_has_an_alert_kept_or_delivered() {
    use crate::alert::AlertState::{End, New, Update};
    let dir = tempfile::tempdir().unwrap();
    let mut o = Outbox::open(&dir.path().join("o.db"), caps(3, 1 << 20), true).unwrap();
    let fire = Uuid::now_v7();
    let new = incident_of(AlertKind::Fire, Severity::Major, New, fire);
    let update = incident_of(AlertKind::Fire, Severity::Major, Update, fire);
    let end = incident_of(AlertKind::Fire, Severity::Info, End, fire);
    o.append(&[new.clone(), update.clone(), end.clone()])
        .unwrap();
    // Criticals push out the new and the update first: the end is held.
    let c1 = shot(Severity::Critical);
    let out = o.append(&[c1.clone(), shot(Severity::Critical)]).unwrap();
    let gone: Vec<Uuid> = out.dropped.iter().map(|d| d.id).collect();
    assert_eq!(gone, vec![new.id, update.id]);
    assert!(o.contains(end.id).unwrap());
    // Nothing of the incident is left or was delivered: the end is an
    // ordinary info row again and goes next.
    let out = o.append(&[shot(Severity::Critical)]).unwrap();
    let gone: Vec<Uuid> = out.dropped.iter().map(|d| d.id).collect();
    assert_eq!(gone, vec![end.id]);
    // An end whose incident lost everything before it came is not held.
    let gas = Uuid::now_v7();
    o.append(&[incident_of(AlertKind::Sensor, Severity::Info, New, gas)])
        .unwrap();
    let out = o
        .append(&[incident_of(AlertKind::Sensor, Severity::Info, End, gas)])
        .unwrap();
    assert_eq!(out.dropped.len(), 1);
    assert!(o.contains(c1.id).unwrap());
    let counters = o.counters().unwrap();
    assert_eq!(counters["dropped_cap_info"], 3, "{counters:?}");
    assert_eq!(counters["dropped_cap_major"], 2, "{counters:?}");
}

#[test]
fn open_events_follow_new_update_and_end_in_the_same_commit() {
    use crate::alert::AlertState::{End, New, Update};
    let dir = tempfile::tempdir().unwrap();
    let mut o = Outbox::open(&dir.path().join("o.db"), caps(100, 1 << 20), true).unwrap();
    let fire = Uuid::now_v7();
    let bag = Uuid::now_v7();
    let fire_new = incident(AlertKind::Fire, New, fire);
    o.append(&[
        fire_new.clone(),
        incident(AlertKind::Garbage, New, bag),
        // Single-shot kinds never open anything.
        incident(AlertKind::Throwing, New, Uuid::now_v7()),
    ])
    .unwrap();
    let open = o.open_events().unwrap();
    let events: Vec<Uuid> = open.iter().map(|a| a.event).collect();
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(events.contains(&fire) && events.contains(&bag));
    assert!(
        open.iter().all(|a| a.snapshot.is_none()),
        "summaries keep no picture"
    );
    assert_eq!(open[0].camera.as_deref(), Some("shed"));

    let update = incident(AlertKind::Fire, Update, fire);
    o.append(std::slice::from_ref(&update)).unwrap();
    let open = o.open_events().unwrap();
    assert_eq!(open.len(), 2);
    let latest = open.iter().find(|a| a.event == fire).unwrap();
    assert_eq!(latest.id, update.id, "the latest message is kept");

    // A duplicate of a queued alert (same id) changes nothing.
    o.append(&[update.clone(), fire_new]).unwrap();
    let latest = o.open_events().unwrap();
    let latest = latest.iter().find(|a| a.event == fire).unwrap();
    assert_eq!(latest.id, update.id);

    // Delivering rows does not close anything; an `end` does.
    let seqs: Vec<i64> = o
        .rows_after(0, 100)
        .unwrap()
        .iter()
        .map(|r| r.seq)
        .collect();
    o.remove_delivered(&seqs).unwrap();
    assert_eq!(o.open_events().unwrap().len(), 2);
    o.append(&[incident(AlertKind::Fire, End, fire)]).unwrap();
    let open = o.open_events().unwrap();
    assert_eq!(open.iter().map(|a| a.event).collect::<Vec<_>>(), vec![bag]);
    o.append(&[incident(AlertKind::Garbage, End, bag)]).unwrap();
    assert!(o.open_events().unwrap().is_empty());
}

#[test]
fn a_version_1_file_is_upgraded_keeping_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(MIGRATIONS[0].1).unwrap();
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO outbox (id, kind, severity, created_ms, enqueued_ms, bytes, payload)
             VALUES (?1, 'test', 0, 0, 0, 1, x'78')",
            params![Uuid::now_v7().to_string()],
        )
        .unwrap();
    }
    let o = Outbox::open(&path, caps(100, 1 << 20), false).unwrap();
    assert_eq!(o.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(o.totals().unwrap(), (1, 1));
    assert!(o.open_events().unwrap().is_empty());
}

#[test]
fn a_version_2_file_is_upgraded_with_its_ends_held() {
    use crate::alert::AlertState::{End, New};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.db");
    let cam = Uuid::now_v7();
    let new = incident_of(AlertKind::CameraOffline, Severity::Major, New, cam);
    let end = incident_of(AlertKind::CameraOnline, Severity::Info, End, cam);
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(MIGRATIONS[0].1).unwrap();
        conn.execute_batch(MIGRATIONS[1].1).unwrap();
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .unwrap();
        conn.pragma_update(None, "user_version", 2).unwrap();
        for a in [&new, &end] {
            conn.execute(
                "INSERT INTO outbox (id, kind, severity, created_ms, enqueued_ms, bytes, payload)
                 VALUES (?1, ?2, ?3, 0, 0, ?4, ?5)",
                params![
                    a.id.to_string(),
                    a.kind.as_str(),
                    a.severity.rank(),
                    a.payload.len() as i64,
                    a.payload
                ],
            )
            .unwrap();
        }
    }
    let mut o = Outbox::open(&path, caps(2, 1 << 20), false).unwrap();
    assert_eq!(o.schema_version().unwrap(), SCHEMA_VERSION);
    // A third row pushes out the major `new`, not the info `end`.
    let out = o.append(&[shot(Severity::Major)]).unwrap();
    let gone: Vec<Uuid> = out.dropped.iter().map(|d| d.id).collect();
    assert_eq!(gone, vec![new.id]);
    assert!(o.contains(end.id).unwrap());
}

#[test]
fn upgrade_sets_version_and_duplicate_ids_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.db");
    let mut o = Outbox::open(&path, caps(10, 1 << 20), true).unwrap();
    assert_eq!(o.schema_version().unwrap(), SCHEMA_VERSION);
    let a = alert(Severity::Info, 10);
    assert_eq!(o.append(std::slice::from_ref(&a)).unwrap().inserted, 1);
    assert_eq!(o.append(&[a]).unwrap().duplicates, 1);
    assert_eq!(o.totals().unwrap(), (1, 10));
}

#[test]
fn ttl_drops_old_rows_and_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    let caps = Caps {
        max_rows: 100,
        max_bytes: 1 << 20,
        ttl: Some(Duration::from_secs(3600)),
    };
    let mut o = Outbox::open(&dir.path().join("o.db"), caps, true).unwrap();
    o.append(&[alert(Severity::Critical, 5), alert(Severity::Info, 5)])
        .unwrap();
    assert!(o.expire(now_ms() + 1000).unwrap().is_empty());
    let gone = o.expire(now_ms() + 3_601_000).unwrap();
    assert_eq!(gone.len(), 2);
    assert_eq!(o.totals().unwrap(), (0, 0));
    let c = o.counters().unwrap();
    assert_eq!((c["dropped_ttl_critical"], c["dropped_ttl_info"]), (1, 1));
}

#[test]
fn byte_cap_drops_lowest_severity_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = Outbox::open(&dir.path().join("o.db"), caps(100, 300), true).unwrap();
    let crit = alert(Severity::Critical, 100);
    let info_old = alert(Severity::Info, 100);
    let info_new = alert(Severity::Info, 100);
    o.append(&[crit.clone(), info_old.clone(), info_new.clone()])
        .unwrap();
    let out = o.append(&[alert(Severity::Warning, 100)]).unwrap();
    assert_eq!(out.dropped.len(), 1);
    assert_eq!(out.dropped[0].id, info_old.id);
    assert!(o.contains(crit.id).unwrap());
    assert!(o.contains(info_new.id).unwrap());
    assert_eq!(o.counters().unwrap()["dropped_cap_info"], 1);
}

#[test]
fn an_evidence_announcement_never_reopens_an_ended_incident() {
    use crate::alert::AlertState::{End, New, Update};
    let dir = tempfile::tempdir().unwrap();
    let mut o = Outbox::open(&dir.path().join("o.db"), caps(100, 1 << 20), true).unwrap();
    let fire = Uuid::now_v7();
    let announce = |event| {
        let mut a = crate::alert::Alert::new(AlertKind::Fire, Severity::Major, "s", "g");
        a.event = event;
        a.state = Update;
        a.evidence = Some(crate::alert::Evidence {
            clip: None,
            snapshot: None,
            reason: Some("evidence stream offline: test".into()),
            ..Default::default()
        });
        EncodedAlert {
            id: a.id,
            kind: AlertKind::Fire,
            severity: a.severity,
            created_ms: 0,
            payload: a.to_json().unwrap(),
            topic: None,
        }
    };
    let new = incident(AlertKind::Fire, New, fire);
    o.append(std::slice::from_ref(&new)).unwrap();
    // While open, it counts but the summary stays the latest detection.
    o.append(&[announce(fire)]).unwrap();
    let open = o.open_events().unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].id, new.id);
    // An update that only lists its stored files is an ordinary update: it
    // becomes the incident's summary.
    let mut listed = crate::alert::Alert::new(AlertKind::Fire, Severity::Major, "s", "g");
    listed.event = fire;
    listed.state = Update;
    listed.evidence = Some(crate::alert::Evidence {
        files: vec![crate::alert::EvidenceFile {
            name: "snapshot-detect.jpg".into(),
            path: format!("cam/{fire}/snapshot-detect.jpg"),
            url: format!("/evidence/{fire}/snapshot-detect.jpg"),
            sha256: "00".repeat(32),
            bytes: 1,
        }],
        ..Default::default()
    });
    let listed = EncodedAlert {
        id: listed.id,
        kind: AlertKind::Fire,
        severity: listed.severity,
        created_ms: 0,
        payload: listed.to_json().unwrap(),
        topic: None,
    };
    o.append(std::slice::from_ref(&listed)).unwrap();
    assert_eq!(o.open_events().unwrap()[0].id, listed.id);
    o.append(&[incident(AlertKind::Fire, End, fire)]).unwrap();
    // The fire ended before its clip was finished: the announcement is
    // queued, and the incident stays closed.
    let late = announce(fire);
    o.append(std::slice::from_ref(&late)).unwrap();
    assert!(o.contains(late.id).unwrap());
    assert!(o.open_events().unwrap().is_empty());
}

#[test]
fn a_message_with_a_topic_keeps_it_and_never_touches_open_incidents() {
    use crate::alert::AlertState::New;
    let dir = tempfile::tempdir().unwrap();
    let mut o = Outbox::open(&dir.path().join("o.db"), caps(100, 1 << 20), true).unwrap();
    let event = Uuid::now_v7();
    let fire = incident_of(AlertKind::Fire, Severity::Critical, New, event);
    // A handling message about the same incident, shaped like an alert
    // `end` on purpose: only its topic tells it apart.
    let mut handling = incident_of(
        AlertKind::Fire,
        Severity::Critical,
        crate::alert::AlertState::End,
        event,
    );
    handling.topic = Some(format!("incidents/{event}/handling"));
    o.append(&[fire.clone(), handling.clone()]).unwrap();
    let rows = o.rows_after(0, 10).unwrap();
    let topics: Vec<Option<&str>> = rows.iter().map(|r| r.topic.as_deref()).collect();
    assert_eq!(
        topics,
        [None, Some(format!("incidents/{event}/handling").as_str())]
    );
    let open = o.open_events().unwrap();
    assert_eq!(open.len(), 1, "the message ended the incident: {open:?}");
    assert_eq!(open[0].event, event);
}

// ------------------------------------------------------------ sinks (schema 5)

fn seqs(o: &Outbox) -> Vec<i64> {
    o.sink_rows(0, 1000)
        .unwrap()
        .iter()
        .map(|r| r.seq)
        .collect()
}

#[test]
fn a_row_goes_only_when_mqtt_and_every_notifier_are_done() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = Outbox::open(&dir.path().join("o.db"), caps(100, 1 << 20), true).unwrap();
    o.append(&[alert(Severity::Info, 1)]).unwrap();
    // New notifiers start at the head: the row already queued is not theirs.
    let sync = o.sync_sinks(&["a".into(), "b".into()]).unwrap();
    assert_eq!(sync.added, ["a", "b"]);
    let first = seqs(&o)[0];
    assert_eq!(o.sink_cursors().unwrap()["a"], first);
    o.append(&[alert(Severity::Info, 1), alert(Severity::Info, 1)])
        .unwrap();
    let all = seqs(&o);
    assert_eq!(all.len(), 3);
    // The broker has them all: the first goes (no notifier wants it), the
    // others wait for the notifiers.
    assert_eq!(o.remove_delivered(&all).unwrap(), 3);
    assert_eq!(seqs(&o), all[1..]);
    assert_eq!(o.mqtt_rows().unwrap(), 0);
    assert!(o.rows_after(0, 10).unwrap().is_empty(), "MQTT is done");
    o.advance_sink("a", all[2]).unwrap();
    assert_eq!(seqs(&o).len(), 2, "b is still behind");
    o.advance_sink("b", all[1]).unwrap();
    assert_eq!(seqs(&o), [all[2]]);
    let f = o.sink_figures().unwrap();
    assert_eq!((f["a"].backlog, f["b"].backlog), (0, 1));
    // A cursor never goes back.
    o.advance_sink("a", 0).unwrap();
    assert_eq!(o.sink_cursors().unwrap()["a"], all[2]);
    // Removing b releases its row.
    let sync = o.sync_sinks(&["a".into()]).unwrap();
    assert_eq!(
        (sync.removed, sync.released_rows),
        (vec!["b".to_string()], 1)
    );
    assert!(seqs(&o).is_empty());
    assert_eq!(o.totals().unwrap(), (0, 0));
}

#[test]
fn rows_only_a_notifier_waits_for_are_dropped_first_and_counted_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = Outbox::open(&dir.path().join("o.db"), caps(2, 1 << 20), true).unwrap();
    o.sync_sinks(&["hook".into()]).unwrap();
    let crit = alert(Severity::Critical, 1);
    o.append(std::slice::from_ref(&crit)).unwrap();
    let s = seqs(&o);
    o.remove_delivered(&s).unwrap();
    // Two info alerts MQTT has not got push out the critical one MQTT has.
    let out = o
        .append(&[alert(Severity::Info, 1), alert(Severity::Info, 1)])
        .unwrap();
    let gone: Vec<Uuid> = out.dropped.iter().map(|d| d.id).collect();
    assert_eq!(gone, vec![crit.id]);
    let counters = o.counters().unwrap();
    assert_eq!(
        counters.get("dropped_cap_critical"),
        None,
        "MQTT lost nothing"
    );
    assert_eq!(o.sink_figures().unwrap()["hook"].dropped, 1);
    assert_eq!(o.mqtt_rows().unwrap(), 2);
}

#[test]
fn a_version_4_file_is_upgraded_to_5_with_its_rows_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v4.db");
    let a = shot(Severity::Major);
    {
        let conn = Connection::open(&path).unwrap();
        for (_, sql) in &MIGRATIONS[..4] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .unwrap();
        conn.pragma_update(None, "user_version", 4).unwrap();
        for topic in [None, Some("incidents/e/handling")] {
            let id = if topic.is_none() {
                a.id
            } else {
                Uuid::now_v7()
            };
            conn.execute(
                "INSERT INTO outbox (id, kind, severity, created_ms, enqueued_ms, bytes, payload, topic)
                 VALUES (?1, ?2, ?3, 0, 0, ?4, ?5, ?6)",
                params![
                    id.to_string(),
                    a.kind.as_str(),
                    a.severity.rank(),
                    a.payload.len() as i64,
                    a.payload,
                    topic
                ],
            )
            .unwrap();
        }
    }
    let mut o = Outbox::open(&path, caps(100, 1 << 20), false).unwrap();
    assert_eq!(o.schema_version().unwrap(), 5);
    assert_eq!(o.totals().unwrap().0, 2);
    assert_eq!(o.mqtt_rows().unwrap(), 2, "nothing was acknowledged yet");
    let rows = o.rows_after(0, 10).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].id, a.id);
    assert_eq!(rows[1].topic.as_deref(), Some("incidents/e/handling"));
    // The triggers of version 5 keep `mqtt_rows` in step.
    o.remove_delivered(&[rows[0].seq]).unwrap();
    assert_eq!(o.mqtt_rows().unwrap(), 1);
    assert_eq!(o.totals().unwrap().0, 1);
}
