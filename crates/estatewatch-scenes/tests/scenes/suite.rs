//! The suite renders into a folder that doubles as a cache, and the
//! scorecard reads it: a perfect alert stream scores 1.0, silence scores 0.

use estatewatch_scenes::score::{self, Options};
use estatewatch_scenes::suite::{load_truths, render_all, suite};
use estatewatch_scenes::{Truth, GENERATOR_VERSION};
use serde_json::json;

#[test]
fn suite_renders_once_then_comes_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let specs = suite("smoke").unwrap();
    let quiet = |_: &estatewatch_scenes::ClipSpec, _: bool| {};
    let first = render_all(&specs, dir.path(), 2, false, &quiet).unwrap();
    assert_eq!((first.rendered, first.cached), (3, 0));
    assert!(first.frames_rendered > 100);
    let second = render_all(&specs, dir.path(), 2, false, &quiet).unwrap();
    assert_eq!((second.rendered, second.cached), (0, 3));

    // A truth file from another generator version, or a missing video, is rendered again.
    let path = dir.path().join(format!("{}.json", specs[0].name));
    let mut t = Truth::load(&path).unwrap();
    assert_eq!(t.generator, GENERATOR_VERSION);
    t.generator = "estatewatch-scenegen/0".into();
    std::fs::write(&path, serde_json::to_string(&t).unwrap()).unwrap();
    std::fs::remove_file(dir.path().join(format!("{}.mp4", specs[1].name))).unwrap();
    let third = render_all(&specs, dir.path(), 2, false, &quiet).unwrap();
    assert_eq!((third.rendered, third.cached), (2, 1));
    assert!(suite("nightly")
        .unwrap_err()
        .to_string()
        .contains("nightly"));
}

#[test]
fn scorecard_reads_rendered_truth_perfect_and_silent_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let specs = suite("smoke").unwrap();
    render_all(&specs, dir.path(), 2, false, &|_, _| {}).unwrap();
    let truths = load_truths(dir.path()).unwrap();
    assert_eq!(truths.len(), 3);

    // One `new` alert per incident, 300 ms after it starts, with the right floor.
    let mut lines = Vec::new();
    for t in &truths {
        for inc in &t.incidents {
            let origin = inc
                .origin
                .map(|o| json!({"floor": o.floor, "column": o.column}));
            lines.push(
                json!({"kind": inc.kind, "state": "new", "camera": t.stem(),
                       "media_time_ms": inc.start_ms + 300, "details": {"origin": origin}})
                .to_string(),
            );
        }
    }
    let perfect = dir.path().join("perfect.jsonl");
    std::fs::write(&perfect, lines.join("\n")).unwrap();
    let card = score::score_paths(dir.path(), &perfect, Options::default()).unwrap();
    for name in ["throwing", "fire", "smoke", "garbage"] {
        let r = card.rows.iter().find(|r| r.name == name).unwrap();
        assert_eq!((r.recall, r.precision), (Some(1.0), Some(1.0)), "{name}");
        assert_eq!(r.delay_p95_ms, Some(300), "{name}");
    }
    let throwing = card.rows.iter().find(|r| r.name == "throwing").unwrap();
    assert_eq!(throwing.floor_exact, Some(1.0));

    let silent = dir.path().join("silent.jsonl");
    std::fs::write(&silent, "").unwrap();
    let card = score::score_paths(dir.path(), &silent, Options::default()).unwrap();
    let garbage = card.rows.iter().find(|r| r.name == "garbage").unwrap();
    assert_eq!(
        (garbage.recall, garbage.precision, garbage.fn_),
        (Some(0.0), None, 1)
    );
}
