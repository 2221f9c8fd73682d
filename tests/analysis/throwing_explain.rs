//! The throwing analyzer explained to an integrator, through the real
//! binary: `replay --explain` prints the alert's cues and at least one
//! rejected track's, the alert says how far a late-seen fall was traced
//! back (`origin.extrapolated_s`, `floor_confidence`, `second_floor`), and
//! `--debug-video` draws the fitted path and the extrapolated release point.
//! The clip is a throw picked up late (hidden for 0.8 s after release) under
//! camera shake, rendered as `scenegen` renders it.

use crate::common::scenegen::scenegen;
use estatewatch_scenes::encode::decode_file;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_estatewatch");

fn decode(path: &Path) -> Vec<estatewatch_scenes::encode::DecodedFrame> {
    let mut frames = Vec::new();
    decode_file(path, |f| frames.push(f)).unwrap();
    frames
}

#[test]
fn a_late_shaken_throw_is_explained_traced_back_and_drawn() {
    let dir = tempfile::tempdir().unwrap();
    let truth = scenegen(
        dir.path(),
        "throwing",
        11_500,
        None,
        "size_px=10,style=drop,late_s=0.8,shake_px=0.5",
        true,
    );
    let want = truth.incidents[0].origin.expect("a throw has an origin");
    let clip = dir.path().join("throwing-11500.mp4");
    let debug = dir.path().join("debug.mp4");
    let out = Command::new(BIN)
        .args([
            "replay",
            "--explain",
            "--camera",
            "throwing-11500",
            "--config",
        ])
        .arg(dir.path().join("throwing-11500.toml"))
        .arg("--debug-video")
        .arg(&debug)
        .arg(&clip)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");

    // The alert: traced back past the first sighting, to the right floor.
    let stdout = String::from_utf8(out.stdout).unwrap();
    let alerts: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|a: &serde_json::Value| a["kind"] == "throwing")
        .collect();
    assert_eq!(alerts.len(), 1, "{stdout}");
    let origin = &alerts[0]["details"]["origin"];
    let extrapolated = origin["extrapolated_s"].as_f64().unwrap();
    assert!(
        extrapolated > 0.4,
        "traced back only {extrapolated} s: {origin}"
    );
    assert_eq!(
        origin["floor"].as_u64(),
        Some(want.floor as u64),
        "{origin}"
    );
    let confidence = origin["floor_confidence"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&confidence), "{origin}");
    let second = origin["second_floor"].as_i64();
    assert!(
        second.is_none_or(|f| (f - want.floor as i64).abs() == 1),
        "the second-best floor is a neighbour: {origin}"
    );

    // The explanations: the alert with its cues, and a rejected track.
    let alert_line = stderr
        .lines()
        .find(|l| {
            l.starts_with("explain:")
                && l.contains("throwing track")
                && l.contains("ALERT throwing")
        })
        .unwrap_or_else(|| panic!("no alert explanation in {stderr}"));
    for cue in [
        "min_g",
        "max_g",
        "residual_y_px",
        "extrapolated_s",
        "floor_confidence",
    ] {
        assert!(alert_line.contains(cue), "{cue} missing: {alert_line}");
    }
    assert!(!alert_line.contains("FAIL"), "{alert_line}");
    let rejected = stderr
        .lines()
        .find(|l| {
            l.starts_with("explain:") && l.contains("throwing track") && l.contains("rejected (")
        })
        .unwrap_or_else(|| panic!("no rejected track explained in {stderr}"));
    assert!(
        rejected.contains(" >= ") || rejected.contains(" <= "),
        "{rejected}"
    );

    // The debug video: after the alert, the release point is marked (a
    // yellow cross) at the alert's origin, where the clip has no such colour.
    let raw = decode(&clip);
    let drawn = decode(&debug);
    assert_eq!(raw.len(), drawn.len());
    let t_ms = alerts[0]["media_time_ms"].as_u64().unwrap();
    let k = ((t_ms * 15).div_ceil(1000) as usize + 1).min(drawn.len() - 1);
    let (w, h) = (drawn[k].width as i64, drawn[k].height as i64);
    let (ox, oy) = (
        (origin["x"].as_f64().unwrap() * w as f64) as i64,
        (origin["y"].as_f64().unwrap() * h as f64) as i64,
    );
    let yellow = |rgb: &[u8], x: i64, y: i64| {
        let i = ((y.clamp(0, h - 1) * w + x.clamp(0, w - 1)) * 3) as usize;
        rgb[i] > 190 && rgb[i + 1] > 190 && rgb[i + 2] < 110
    };
    let count = |rgb: &[u8]| {
        (-7..=7)
            .flat_map(|dy| (-7..=7).map(move |dx| (dx, dy)))
            .filter(|(dx, dy)| yellow(rgb, ox + dx, oy + dy))
            .count()
    };
    let (in_debug, in_raw) = (count(&drawn[k].rgb), count(&raw[k].rgb));
    assert!(
        in_debug >= 6 && in_raw == 0,
        "yellow pixels near the release point: {in_debug} drawn, {in_raw} in the clip"
    );
}
