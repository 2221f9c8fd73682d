//! The scorecard's matcher, checked exactly against hand-written truth and
//! alerts: true/false positives, misses, duplicates, delays, floor accuracy,
//! recall by size, the fire/smoke merge, real footage, thresholds and the CLI.

use estatewatch_scenes::score::{self, Options, Thresholds};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

fn truth(clip: &str, scene: &str, incidents: Value, negatives: &[&str]) -> Value {
    json!({
        "generator": "hand-written",
        "clip": format!("{clip}.mp4"),
        "seed": 0,
        "scene": scene,
        "variant": "day",
        "fps": 10,
        "width": 640,
        "height": 360,
        "frames": 400,
        "duration_ms": 40000,
        "incidents": incidents,
        "negatives": negatives,
        "calibration": {}
    })
}

fn throw(start: u64, end: u64, floor: u32, size: f32) -> Value {
    json!({"kind": "throwing", "start_ms": start, "end_ms": end,
           "track": [[start, 0.5, 0.2, 0.01, 0.02]],
           "origin": {"floor": floor, "column": 1}, "size_px": size})
}

fn inc(kind: &str, start: u64, end: u64) -> Value {
    json!({"kind": kind, "start_ms": start, "end_ms": end, "track": [[start, 0.4, 0.4, 0.1, 0.1]]})
}

fn alert(camera: &str, kind: &str, state: &str, t: u64, floor: Option<i64>) -> String {
    let mut details = json!({});
    if let Some(f) = floor {
        details = json!({"origin": {"floor": f, "column": 1, "unit_label": "x"}});
    }
    // The full schema v1 shape; the scorecard reads only some of it.
    json!({"schema": "estatewatch.alert.v1", "id": "0190f5e4-0000-7000-8000-000000000000",
           "event": "0190f5e4-0000-7000-8000-000000000000", "state": state, "kind": kind,
           "severity": "major", "site": "s", "gateway": "g", "camera": camera, "zone": null,
           "detected_at": "2025-01-01T00:00:00.000Z", "media_time_ms": t, "score": 0.9,
           "box": null, "details": details})
    .to_string()
}

/// Writes the fixture: six clips and their alerts. Returns the alerts file.
fn fixture(dir: &Path) -> std::path::PathBuf {
    let truths = [
        (
            "tower-a",
            truth(
                "tower-a",
                "tower",
                json!([throw(1000, 2500, 5, 6.0), throw(4000, 5000, 3, 20.0)]),
                &[],
            ),
        ),
        (
            "tower-birds",
            truth("tower-birds", "tower", json!([]), &["bird_level"]),
        ),
        (
            "tower-c",
            truth("tower-c", "tower", json!([throw(2000, 3000, 7, 10.0)]), &[]),
        ),
        (
            "shed-d",
            truth(
                "shed-d",
                "shed",
                json!([inc("fire", 3000, 14000), inc("smoke", 2000, 14000)]),
                &[],
            ),
        ),
        (
            "bins-e",
            truth(
                "bins-e",
                "binroom",
                json!([inc("garbage", 8000, 40000)]),
                &[],
            ),
        ),
        (
            "bins-f",
            truth("bins-f", "binroom", json!([]), &["person_standing"]),
        ),
        (
            "real-g",
            truth("real-g", "real", json!([]), &["pedestrians"]),
        ),
    ];
    for (name, t) in &truths {
        std::fs::write(
            dir.join(format!("{name}.json")),
            serde_json::to_string_pretty(t).unwrap(),
        )
        .unwrap();
    }
    let lines = [
        // tower-a: on the window's edge (start - 500), a duplicate, a second throw one floor off, one too late.
        alert("tower-a", "throwing", "new", 500, Some(5)),
        alert("tower-a", "throwing", "new", 1600, Some(5)),
        alert("tower-a", "throwing", "update", 1700, Some(5)),
        alert("tower-a", "throwing", "new", 4700, Some(4)),
        alert("tower-a", "throwing", "end", 5200, None),
        alert("tower-a", "throwing", "new", 8001, Some(2)),
        // tower-birds: a bird taken for a throw.
        alert("tower-birds", "throwing", "new", 2000, None),
        alert("tower-birds", "camera_offline", "new", 2100, None),
        // shed-d: smoke first, then fire.
        alert("shed-d", "smoke", "new", 4000, None),
        alert("shed-d", "fire", "new", 5000, None),
        // bins-e: after the dwell; bins-f: a standing person.
        alert("bins-e", "garbage", "new", 28500, None),
        alert("bins-f", "garbage", "new", 30000, None),
        // real-g: a false fire and a motion alert.
        alert("real-g", "fire", "new", 1000, None),
        alert("real-g", "motion", "new", 500, None),
    ];
    let path = dir.join("alerts.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn row<'a>(card: &'a score::Scorecard, name: &str) -> &'a score::RowScore {
    card.rows.iter().find(|r| r.name == name).unwrap()
}

#[test]
fn throws_are_matched_by_time_and_floor() {
    let dir = tempfile::tempdir().unwrap();
    let alerts = fixture(dir.path());
    let card = score::score_paths(dir.path(), &alerts, Options::default()).unwrap();
    assert_eq!(card.clips, 7);
    assert_eq!(
        card.alerts_counted, 11,
        "update, end and camera_offline are not detections"
    );
    assert_eq!(card.alerts_ignored, 3);
    let t = row(&card, "throwing");
    assert_eq!((t.tp, t.fp, t.fn_, t.duplicates), (2, 2, 1, 1));
    assert_eq!(t.precision, Some(0.5));
    assert!((t.recall.unwrap() - 2.0 / 3.0).abs() < 1e-12);
    // Delays -500 (alert on the window's opening edge) and 700; nearest-rank median is the lower.
    assert_eq!((t.delay_p50_ms, t.delay_p95_ms), (Some(-500), Some(700)));
    assert_eq!((t.floor_exact, t.floor_within_one), (Some(0.5), Some(1.0)));
    assert_eq!(t.column_exact, Some(1.0));
    assert_eq!(t.recall_by_size["lt8px"], (1, 1));
    assert_eq!(t.recall_by_size["ge8px"], (1, 2));
    assert_eq!(t.fp_by_negative["bird_level"], 1);
    assert_eq!(t.fp_by_negative["(none)"], 1, "the late alert in tower-a");
    // Negative clips: the bird clip and the real clip (real footage counts for every kind).
    assert_eq!((t.positive_clips, t.negative_clips), (2, 2));
    assert_eq!(t.misses.len(), 1);
    assert_eq!(
        (t.misses[0].clip.as_str(), t.misses[0].t_ms),
        ("tower-c", 2000)
    );
}

#[test]
fn fire_smoke_garbage_motion_and_real_footage() {
    let dir = tempfile::tempdir().unwrap();
    let alerts = fixture(dir.path());
    let card = score::score_paths(dir.path(), &alerts, Options::default()).unwrap();
    let fire = row(&card, "fire");
    assert_eq!(
        (fire.tp, fire.fp, fire.fn_),
        (1, 1, 0),
        "the real clip's fire is false"
    );
    assert_eq!(fire.delay_p50_ms, Some(2000));
    let smoke = row(&card, "smoke");
    assert_eq!(
        (smoke.tp, smoke.fp, smoke.fn_, smoke.delay_p50_ms),
        (1, 0, 0, Some(2000))
    );
    // One event seen as smoke then fire: one TP, the second alert a duplicate.
    let both = row(&card, "fire_smoke");
    assert_eq!((both.tp, both.fp, both.fn_, both.duplicates), (1, 1, 0, 1));
    assert_eq!(both.delay_p50_ms, Some(2000));
    let g = row(&card, "garbage");
    assert_eq!((g.tp, g.fp, g.fn_), (1, 1, 0));
    assert_eq!(g.delay_p95_ms, Some(20500));
    assert_eq!(g.fp_by_negative["person_standing"], 1);
    let m = row(&card, "motion");
    assert_eq!((m.tp, m.fp, m.fn_), (0, 1, 6));
    assert_eq!(
        (card.real_clips, card.real_alerts),
        (1, 1),
        "motion does not count on real footage"
    );
}

#[test]
fn tolerances_widen_and_narrow_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let alerts = fixture(dir.path());
    let narrow = Options {
        before_ms: Some(0),
        after_ms: Some(0),
    };
    let card = score::score_paths(dir.path(), &alerts, narrow).unwrap();
    let t = row(&card, "throwing");
    // 500 is now early (FP) and 1600 becomes the match; 4700 is inside [4000, 5000].
    assert_eq!((t.tp, t.fp, t.fn_, t.duplicates), (2, 3, 1, 0));
    assert_eq!((t.delay_p50_ms, t.delay_p95_ms), (Some(600), Some(700)));
}

#[test]
fn a_throw_hidden_after_release_counts_its_delay_from_when_it_comes_into_view() {
    let dir = tempfile::tempdir().unwrap();
    // Released at 2000 ms, hidden for 1.2 s (`late_s`), alerted at 3800 ms.
    let mut hidden = truth(
        "tower-late",
        "tower",
        json!([throw(2000, 4500, 9, 14.0)]),
        &[],
    );
    hidden["spec"] = json!({"name": "tower-late", "kind": "throwing", "seed": 1,
        "variant": "day", "width": 640, "height": 360, "fps": 10,
        "params": {"late_s": 1.2}});
    // Seen from its release at 1000 ms, alerted at 1700 ms.
    let seen = truth(
        "tower-seen",
        "tower",
        json!([throw(1000, 3000, 4, 14.0)]),
        &[],
    );
    for (name, t) in [("tower-late", &hidden), ("tower-seen", &seen)] {
        std::fs::write(dir.path().join(format!("{name}.json")), t.to_string()).unwrap();
    }
    let alerts = dir.path().join("alerts.jsonl");
    let lines = [
        alert("tower-late", "throwing", "new", 3800, Some(9)),
        alert("tower-seen", "throwing", "new", 1700, Some(4)),
    ];
    std::fs::write(&alerts, lines.join("\n")).unwrap();
    let card = score::score_paths(dir.path(), &alerts, Options::default()).unwrap();
    let t = row(&card, "throwing");
    assert_eq!(t.tp, 2);
    // From when each could be seen: 3800 - 3200 = 600 and 700.
    assert_eq!((t.delay_p50_ms, t.delay_p95_ms), (Some(600), Some(700)));
    // From the release, the hidden 1.2 s included: 700 and 1800.
    assert_eq!(
        (t.delay_from_start_p50_ms, t.delay_from_start_p95_ms),
        (Some(700), Some(1800))
    );
    let text = score::render_text(&card, 10);
    assert!(
        text.contains("delay from the start (hidden time included): p50 700 ms, p95 1800 ms"),
        "{text}"
    );
    // Each figure has its own limit.
    let limits: Thresholds =
        toml::from_str("[rows.throwing]\nmax_p95_delay_ms = 700\nmax_p95_start_delay_ms = 1500\n")
            .unwrap();
    assert_eq!(
        limits.check(&card),
        ["throwing.delay_from_start_p95_ms: 1800 is above the maximum 1500"]
    );
}

#[test]
fn a_folder_of_per_clip_files_scores_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let file = fixture(dir.path());
    let per_clip = dir.path().join("per-clip");
    std::fs::create_dir(&per_clip).unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let cam = v["camera"].as_str().unwrap();
        let path = per_clip.join(format!("{cam}.jsonl"));
        let mut old = std::fs::read_to_string(&path).unwrap_or_default();
        // The camera field is not needed in this layout.
        let mut v = v.clone();
        v["camera"] = Value::Null;
        old.push_str(&format!("{v}\n"));
        std::fs::write(&path, old).unwrap();
    }
    let a = score::score_paths(dir.path(), &file, Options::default()).unwrap();
    let b = score::score_paths(dir.path(), &per_clip, Options::default()).unwrap();
    assert_eq!(a.rows, b.rows);
}

#[test]
fn thresholds_report_each_broken_limit() {
    let dir = tempfile::tempdir().unwrap();
    let alerts = fixture(dir.path());
    let card = score::score_paths(dir.path(), &alerts, Options::default()).unwrap();
    let t: Thresholds = toml::from_str(
        r#"
        [rows.throwing]
        min_recall = 0.9
        min_precision = 0.5
        max_p95_delay_ms = 600
        min_floor_exact = 0.5
        min_recall_by_size = { ge8px = 0.6, lt8px = 1.0 }
        [rows.smoke]
        max_false_positives = 0
        [real]
        max_alerts = 0
        "#,
    )
    .unwrap();
    let broken = t.check(&card);
    assert_eq!(
        broken,
        [
            "throwing.recall: 0.667 is below the minimum 0.900",
            "throwing.recall_by_size.ge8px: 0.500 is below the minimum 0.600",
            "throwing.delay_p95_ms: 700 is above the maximum 600",
            "real.alerts: 1 is above the maximum 0",
        ]
    );
    let ok: Thresholds =
        toml::from_str("[rows.garbage]\nmin_recall = 1.0\nmax_p95_delay_ms = 25000\n").unwrap();
    assert!(ok.check(&card).is_empty());
}

#[test]
fn bad_input_is_reported_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path());
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        format!(
            "{}\n{{not json\n",
            alert("tower-a", "throwing", "new", 1, None)
        ),
    )
    .unwrap();
    let e = score::score_paths(dir.path(), &bad, Options::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("bad.jsonl:2"), "{e}");
    std::fs::write(&bad, alert("nowhere", "fire", "new", 1, None)).unwrap();
    let e = score::score_paths(dir.path(), &bad, Options::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("nowhere") && e.contains("no truth file"), "{e}");
    std::fs::write(&bad, r#"{"kind":"fire","state":"new","camera":"real-g"}"#).unwrap();
    let e = score::score_paths(dir.path(), &bad, Options::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("media_time_ms"), "{e}");
    let t = dir.path().join("t.toml");
    std::fs::write(&t, "[rows.firee]\nmin_recall = 1.0\n").unwrap();
    let e = Thresholds::load(&t).unwrap_err().to_string();
    assert!(e.contains("rows.firee") && e.contains("fire_smoke"), "{e}");
}

#[test]
fn cli_prints_the_table_json_and_fails_on_thresholds() {
    let dir = tempfile::tempdir().unwrap();
    let alerts = fixture(dir.path());
    let bin = env!("CARGO_BIN_EXE_score");
    let out = Command::new(bin)
        .args(["--truth"])
        .arg(dir.path())
        .arg("--alerts")
        .arg(&alerts)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("throwing"), "{text}");
    assert!(text.contains("0.500") && text.contains("-500 ms"), "{text}");
    assert!(
        text.contains("false positives by negative: (none) 1, bird_level 1"),
        "{text}"
    );

    let out = Command::new(bin)
        .args(["--json", "--truth"])
        .arg(dir.path())
        .arg("--alerts")
        .arg(&alerts)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let throwing = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "throwing")
        .unwrap();
    assert_eq!(
        (throwing["tp"].as_u64(), throwing["fn"].as_u64()),
        (Some(2), Some(1))
    );

    let th = dir.path().join("th.toml");
    std::fs::write(&th, "[rows.throwing]\nmin_recall = 0.9\n").unwrap();
    let out = Command::new(bin)
        .args(["--truth"])
        .arg(dir.path())
        .arg("--alerts")
        .arg(&alerts)
        .arg("--thresholds")
        .arg(&th)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("throwing.recall: 0.667"));
}
