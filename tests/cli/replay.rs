//! `estatewatch replay` through the real binary: alert JSON lines with media
//! time, saved snapshots, the `--debug-video` MP4, and errors that name what
//! is wrong. Clips are rendered as `scenegen` renders them.

use crate::common::cli::{fails, json_lines, succeeds, BIN};
use crate::common::scenegen::scenegen;
use estatewatch_scenes::encode::decode_file;
use std::path::Path;
use std::process::Command;

/// Renders a small throw (a 20 px object from floor 2) with its replay config.
fn throw_clip(dir: &Path) {
    scenegen(
        dir,
        "throwing",
        2,
        Some((320, 180)),
        "size_px=20,floor=2",
        true,
    );
}

#[test]
fn replay_prints_alerts_saves_snapshots_and_writes_a_debug_video() {
    let dir = tempfile::tempdir().unwrap();
    throw_clip(dir.path());
    let clip = dir.path().join("throwing-2.mp4");
    let snaps = dir.path().join("snaps");
    let debug = dir.path().join("debug.mp4");
    // The motion analyzer, made sensitive enough for one small object.
    let cfg = dir.path().join("throwing-2.toml");
    let text = std::fs::read_to_string(&cfg).unwrap().replacen(
        "cooldown_s = 30",
        "cooldown_s = 30\nmin_changed_fraction = 0.001",
        1,
    );
    std::fs::write(&cfg, text).unwrap();
    let work = tempfile::tempdir().unwrap();
    let out = succeeds(
        Command::new(BIN)
            .current_dir(work.path())
            .args(["replay", "--camera", "throwing-2", "--config"])
            .arg(&cfg)
            .arg("--snapshots")
            .arg(&snaps)
            .arg("--debug-video")
            .arg(&debug)
            .arg(&clip),
    );

    // Alerts: one JSON object per line, from this camera, with media time
    // inside the clip, and a saved snapshot per alert.
    let stdout = out.stdout;
    let alerts = json_lines(&stdout);
    assert!(!alerts.is_empty(), "a falling object moves: {stdout}");
    let original = decode(&clip);
    let clip_ms = original.len() as u64 * 1000 / 15 + 100;
    for a in &alerts {
        assert_eq!(a["camera"], "throwing-2", "{a}");
        let t = a["media_time_ms"].as_u64().expect("media_time_ms");
        assert!(t <= clip_ms, "{t} ms in a {clip_ms} ms clip");
        let id = a["id"].as_str().unwrap();
        let jpg = std::fs::read(snaps.join(format!("{id}.jpg"))).unwrap();
        assert_eq!(&jpg[..2], &[0xFF, 0xD8], "snapshot is a JPEG");
        assert!(a.get("snapshot").is_none_or(|s| s.is_null()), "{a}");
        // Captioned like the daemon's snapshots (`alert::caption`): white
        // text on a darkened box, bottom left, over the clip's frame.
        let pic = image::load_from_memory(&jpg).unwrap().to_rgb8();
        let frame = original
            .iter()
            .min_by_key(|f| f.pts_ms.abs_diff(t))
            .unwrap();
        let (w, h) = (frame.width, frame.height);
        assert_eq!((pic.width(), pic.height()), (w, h));
        let (cx, cy, lh) = estatewatch::alert::caption::Caption::position(w, h);
        let (mut ink, mut darker) = (0, 0);
        for y in cy as u32..(cy as u32 + lh).min(h) {
            for x in cx as u32..140 {
                let i = ((y * w + x) * 3) as usize;
                let p = pic.get_pixel(x, y).0;
                let r = &frame.rgb[i..i + 3];
                ink += usize::from(p.iter().all(|&c| c > 150) && r.iter().any(|&c| c <= 150));
                let (ps, rs) = (
                    p.iter().map(|&c| u32::from(c)).sum::<u32>(),
                    r.iter().map(|&c| u32::from(c)).sum::<u32>(),
                );
                darker += usize::from(rs > 45 && ps * 10 < rs * 7);
            }
        }
        assert!(ink > 40, "{id}: caption text pixels: {ink}");
        assert!(darker > 300, "{id}: darkened caption box pixels: {darker}");
    }

    // The debug video has every analysed frame, with overlays drawn: the
    // motion zone's outline makes frames differ from the clip's.
    let drawn = decode(&debug);
    assert_eq!(drawn.len(), original.len());
    assert_eq!(
        (drawn[0].width, drawn[0].height),
        (original[0].width, original[0].height)
    );
    let i = drawn.len() / 2;
    let differing = drawn[i]
        .rgb
        .iter()
        .zip(&original[i].rgb)
        .filter(|(a, b)| a.abs_diff(**b) > 60)
        .count();
    assert!(differing > 300, "only {differing} bytes differ");

    // Nothing touched outside the named outputs.
    assert_eq!(std::fs::read_dir(work.path()).unwrap().count(), 0);
}

#[test]
fn replay_errors_name_the_camera_and_the_clip() {
    let dir = tempfile::tempdir().unwrap();
    throw_clip(dir.path());
    let cfg = dir.path().join("throwing-2.toml");
    let err = fails(
        Command::new(BIN)
            .args(["replay", "--camera", "nosuch", "--config"])
            .arg(&cfg)
            .arg(dir.path().join("throwing-2.mp4")),
    );
    assert!(
        err.contains("nosuch") && err.contains("throwing-2"),
        "{err}"
    );

    let err = fails(
        Command::new(BIN)
            .args(["replay", "--camera", "throwing-2", "--config"])
            .arg(&cfg)
            .arg(dir.path().join("missing.mp4")),
    );
    assert!(err.contains("missing.mp4"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

fn decode(path: &Path) -> Vec<estatewatch_scenes::encode::DecodedFrame> {
    let mut frames = Vec::new();
    decode_file(path, |f| frames.push(f)).unwrap();
    frames
}

#[test]
fn throwing_second_opinion_reports_the_classifiers_bird_score() {
    let dir = tempfile::tempdir().unwrap();
    scenegen(dir.path(), "throwing", 4, None, "size_px=16,floor=3", true);
    let cfg = dir.path().join("throwing-4.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    assert!(text.contains("[cameras.analyzers.throwing]"), "{text}");
    // bird_veto alone is refused, naming the field.
    let bad = text.replacen(
        "[cameras.analyzers.throwing]\n",
        "[cameras.analyzers.throwing]\nbird_veto = 0.9\n",
        1,
    );
    std::fs::write(&cfg, bad).unwrap();
    let out = Command::new(BIN)
        .arg("check-config")
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("throwing.bird_veto"), "{err}");
    // Report-only second opinion: the alert carries the bird score.
    let good = text.replacen(
        "[cameras.analyzers.throwing]\n",
        "[cameras.analyzers.throwing]\nsecond_opinion = true\n",
        1,
    );
    std::fs::write(&cfg, good).unwrap();
    let out = succeeds(
        Command::new(BIN)
            .args(["replay", "--camera", "throwing-4", "--config"])
            .arg(&cfg)
            .arg(dir.path().join("throwing-4.mp4")),
    );
    let throws: Vec<serde_json::Value> = json_lines(&out.stdout)
        .into_iter()
        .filter(|a| a["kind"] == "throwing")
        .collect();
    assert_eq!(throws.len(), 1, "{throws:#?}");
    let second = &throws[0]["details"]["second_opinion"];
    assert_eq!(second["model"], "efficientnet-lite0", "{second}");
    let bird = second["bird"].as_f64().expect("a bird probability");
    assert!((0.0..=1.0).contains(&bird), "{bird}");
}

#[test]
fn replay_below_the_clip_rate_drops_frames_quietly() {
    // The 15 fps clip analysed at 5 fps: two frames of three are dropped in
    // the pipeline, and each drop must be clean (no GStreamer-CRITICAL on
    // stderr, which on a gateway would flood the journal at camera rate).
    let dir = tempfile::tempdir().unwrap();
    throw_clip(dir.path());
    let cfg = dir.path().join("throwing-2.toml");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replacen("fps = 15", "fps = 5", 1);
    std::fs::write(&cfg, text).unwrap();
    let err = succeeds(
        Command::new(BIN)
            .args(["replay", "--camera", "throwing-2", "--config"])
            .arg(&cfg)
            .arg(dir.path().join("throwing-2.mp4")),
    )
    .stderr;
    assert!(!err.contains("CRITICAL"), "{err}");
    assert!(err.contains("frames"), "replay reports what it read: {err}");
}

/// Runs `estatewatch replay --explain` on a rendered clip; returns the alert
/// lines and the explanation lines.
fn replay_explained(
    dir: &Path,
    stem: &str,
    debug: Option<&Path>,
) -> (Vec<serde_json::Value>, Vec<String>) {
    let mut cmd = Command::new(BIN);
    cmd.args(["replay", "--explain", "--camera", stem, "--config"])
        .arg(dir.join(format!("{stem}.toml")));
    if let Some(d) = debug {
        cmd.arg("--debug-video").arg(d);
    }
    let out = succeeds(cmd.arg(dir.join(format!("{stem}.mp4"))));
    let alerts = json_lines(&out.stdout);
    let explained = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("explain: "))
        .map(str::to_string)
        .collect();
    (alerts, explained)
}

#[test]
fn replay_explains_garbage_alerts_and_rejections_and_draws_candidates() {
    let dir = tempfile::tempdir().unwrap();
    let truth = scenegen(dir.path(), "garbage", 3, None, "dwell_s=5", true);
    let debug = dir.path().join("debug.mp4");
    let (alerts, explained) = replay_explained(dir.path(), "garbage-3", Some(&debug));
    let alert = alerts
        .iter()
        .find(|a| a["kind"] == "garbage" && a["state"] == "new")
        .unwrap_or_else(|| panic!("a left bag alerts: {alerts:?}"));
    // The alert's explanation: every cue with its threshold, all passing.
    let line = explained
        .iter()
        .find(|l| l.contains(": ALERT garbage"))
        .unwrap_or_else(|| panic!("no alert explained: {explained:?}"));
    for cue in ["quiet_s", "dwell_s", "area_px", "aspect", "fill"] {
        assert!(line.contains(&format!("; {cue} ")), "{cue} missing: {line}");
    }
    assert!(
        line.contains("dwell_s 5.") && line.contains(">= 5.000 ok"),
        "{line}"
    );
    assert!(!line.contains("FAIL"), "{line}");

    // The debug video boxes the candidate (in a colour the scene has not)
    // while its dwell runs, a second before the alert.
    let t_alert = alert["media_time_ms"].as_u64().unwrap();
    let fps = u64::from(truth.fps);
    let i = ((t_alert - 1000) * fps / 1000) as usize;
    let track = &truth.incidents[0].track;
    let b = track
        .iter()
        .min_by_key(|p| (p[0] as i64 - (t_alert as i64 - 1000)).abs())
        .unwrap();
    let (w, h) = (truth.width as f64, truth.height as f64);
    let (x0, y0) = ((b[1] * w) as i64 - 10, (b[2] * h) as i64 - 10);
    let (x1, y1) = (
        ((b[1] + b[3]) * w) as i64 + 10,
        ((b[2] + b[4]) * h) as i64 + 10,
    );
    let original = decode(&dir.path().join("garbage-3.mp4"));
    let drawn = decode(&debug);
    let vivid = |rgb: &[u8], x: i64, y: i64| {
        let k = ((y * truth.width as i64 + x) * 3) as usize;
        let p = &rgb[k..k + 3];
        p.iter().max().unwrap() - p.iter().min().unwrap()
    };
    let mut marked = 0;
    for y in y0.max(0)..y1.min(truth.height as i64) {
        for x in x0.max(0)..x1.min(truth.width as i64) {
            if vivid(&drawn[i].rgb, x, y) > 170 && vivid(&original[i].rgb, x, y) < 120 {
                marked += 1;
            }
        }
    }
    assert!(marked > 40, "candidate not drawn: {marked} marked pixels");

    // A bin pushed to a new place: its candidates are rejected, each with
    // its reason and cues.
    scenegen(dir.path(), "bin_moved", 1, None, "dwell_s=5", true);
    let (alerts, explained) = replay_explained(dir.path(), "bin_moved-1", None);
    assert!(
        !alerts.iter().any(|a| a["kind"] == "garbage"),
        "{alerts:?}\n{}",
        explained.join("\n")
    );
    let rejected = explained
        .iter()
        .find(|l| l.contains("garbage candidate") && l.contains(": rejected ("))
        .unwrap_or_else(|| panic!("no rejection explained: {explained:?}"));
    assert!(
        rejected.contains("; quiet_s ") && rejected.contains(" FAIL"),
        "{rejected}"
    );
}

/// `replay --explain` on a generated shed fire: the fire analyzer prints the
/// alert's cues with their thresholds, and at least one rejected candidate
/// with the cue that failed it.
#[test]
fn replay_explain_prints_fire_cues_for_the_alert_and_rejections() {
    let dir = tempfile::tempdir().unwrap();
    scenegen(dir.path(), "fire", 3003, None, "", true);
    let stderr = succeeds(
        Command::new(BIN)
            .args(["replay", "--explain", "--camera", "fire-3003", "--config"])
            .arg(dir.path().join("fire-3003.toml"))
            .arg(dir.path().join("fire-3003.mp4")),
    )
    .stderr;
    let alert = stderr
        .lines()
        .find(|l| l.contains("fire zone shed: ALERT fire"))
        .unwrap_or_else(|| panic!("no explained fire alert:\n{stderr}"));
    for cue in ["flame_area", "flicker", "structure"] {
        assert!(alert.contains(&format!("; {cue} ")), "{cue}: {alert}");
    }
    assert!(
        stderr.lines().any(|l| l.contains("explain: t=")
            && l.contains(": rejected (")
            && l.contains(" FAIL")),
        "no rejected candidate explained:\n{stderr}"
    );
}
