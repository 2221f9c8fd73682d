//! The per-camera self-test on real analyzers: a camera whose view is as it
//! was passes (taking its reference still the first time), and the same
//! camera turned away, covered or blurred fails, naming the check.

use crate::fire_support::Canvas;
use crate::throwing_scene::*;
use estatewatch::analysis::selftest;
use estatewatch::config::Config;
use estatewatch::ingest::Frame;
use estatewatch::monitor::selftest::SelftestResult;

fn camera(
    reference_dir: &std::path::Path,
    extra: &str,
) -> estatewatch::analysis::config::CameraConfig {
    let text = format!(
        "{}\n[cameras.selftest]\nreference_dir = {:?}\n{extra}",
        config_toml(10, ""),
        reference_dir.display().to_string()
    );
    let cfg = Config::parse(&text).expect("config parses");
    let problems = cfg.validate();
    assert!(problems.is_empty(), "{problems:?}");
    cfg.cameras.into_iter().next().expect("a camera")
}

/// Three seconds of the facade at 10 fps, with sensor noise.
fn facade_frames() -> Vec<Frame> {
    let base = facade();
    (0..30)
        .map(|k| {
            let fx = Effects {
                noise: 3,
                ..Effects::default()
            };
            frame(k, 5.0 + k as f64 / 10.0, render(&base, &[], fx, k as u32))
        })
        .collect()
}

fn frames_of(rgb: impl Fn(u64) -> Vec<u8>) -> Vec<Frame> {
    (0..30)
        .map(|k| frame(k, 5.0 + k as f64 / 10.0, rgb(k)))
        .collect()
}

fn check<'a>(
    r: &'a SelftestResult,
    name: &str,
) -> &'a estatewatch::monitor::selftest::SelftestCheck {
    r.checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no {name} check in {r:#?}"))
}

#[test]
fn a_throwing_camera_passes_then_fails_when_turned_away_or_covered() {
    let dir = tempfile::tempdir().unwrap();
    let cam = camera(dir.path(), "");
    assert!(
        selftest::enabled(&cam),
        "on by default with an incident analyzer"
    );

    let first = selftest::run(&cam, None, &facade_frames());
    assert!(first.passed, "{first:#?}");
    assert_eq!(first.reference, "taken");
    assert!(selftest::reference_path(&cam).exists());
    assert!(check(&first, "throwing").passed);

    let again = selftest::run(&cam, None, &facade_frames());
    assert!(again.passed, "{again:#?}");
    assert_eq!(again.reference, "compared");
    assert!(
        check(&again, "similarity").value.unwrap() > 0.9,
        "{again:#?}"
    );

    // Turned away: the camera now looks at a bike shed.
    let shed = Canvas::shed(7).rgb;
    let away = selftest::run(&cam, None, &frames_of(|_| shed.clone()));
    assert!(!away.passed, "{away:#?}");
    assert!(!check(&away, "similarity").passed, "{away:#?}");
    assert_eq!(away.kinds()[0], ("view", false));

    // Covered: near black.
    let dark = frames_of(|k| {
        (0..W * H * 3)
            .map(|i| ((i as u64 * 7 + k * 13) % 4) as u8)
            .collect()
    });
    let covered = selftest::run(&cam, None, &dark);
    assert!(!covered.passed, "{covered:#?}");
    for name in ["brightness", "contrast", "similarity"] {
        assert!(!check(&covered, name).passed, "{name}: {covered:#?}");
    }
    // The reference stays the one of the good view.
    let back = selftest::run(&cam, None, &facade_frames());
    assert!(back.passed && back.reference == "compared", "{back:#?}");
}

#[test]
fn the_first_run_on_a_covered_camera_takes_no_reference() {
    let dir = tempfile::tempdir().unwrap();
    let cam = camera(dir.path(), "");
    let covered = selftest::run(&cam, None, &frames_of(|_| vec![2u8; W * H * 3]));
    assert!(!covered.passed);
    assert_eq!(covered.reference, "missing");
    assert!(!selftest::reference_path(&cam).exists());
}
