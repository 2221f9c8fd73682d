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

    let live = facade_frames();
    let pixels: Vec<Vec<u8>> = live.iter().map(|f| f.rgb.to_vec()).collect();
    let first = selftest::run(&cam, None, &live);
    assert!(first.passed, "{first:#?}");
    for (f, before) in live.iter().zip(&pixels) {
        assert!(
            f.rgb.as_slice() == before.as_slice(),
            "a live frame was drawn on"
        );
    }
    println!("throwing self-test: {:.0} ms CPU", first.cpu_ms);
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

/// Three seconds of the bike shed at 10 fps, with sensor noise.
fn shed_frames() -> Vec<Frame> {
    frames_of(|k| {
        let mut c = Canvas::shed(k + 1);
        c.noise(3);
        c.rgb
    })
}

fn shed_camera(
    reference_dir: &std::path::Path,
    analyzers: &str,
) -> estatewatch::analysis::config::CameraConfig {
    let text = format!(
        "[site]\nid = \"s\"\n[gateway]\nid = \"g\"\n[[cameras]]\nname = \"shed\"\nurl = \"rtsp://127.0.0.1/shed\"\n\
         [cameras.detect]\nwidth = {W}\nheight = {H}\nfps = 10\n{analyzers}\n\
         [cameras.selftest]\nreference_dir = {:?}\n",
        reference_dir.display().to_string()
    );
    let cfg = Config::parse(&text).expect("config parses");
    let problems = cfg.validate();
    assert!(problems.is_empty(), "{problems:?}");
    cfg.cameras.into_iter().next().expect("a camera")
}

#[test]
fn a_fire_camera_sees_the_synthetic_flame_in_its_zone() {
    let dir = tempfile::tempdir().unwrap();
    let cam = shed_camera(
        dir.path(),
        "[cameras.analyzers.fire]\nzones = [ { name = \"bikes\", polygon = [[0.0, 0.35], [1.0, 0.35], [1.0, 1.0], [0.0, 1.0]] } ]",
    );
    let r = selftest::run(&cam, None, &shed_frames());
    assert!(check(&r, "fire").passed, "{r:#?}");
    assert!(r.passed, "{r:#?}");
    println!("fire self-test: {:.0} ms CPU", r.cpu_ms);
}

#[test]
fn a_garbage_camera_sees_the_synthetic_bag_with_a_shortened_dwell() {
    let dir = tempfile::tempdir().unwrap();
    let mut cam = shed_camera(
        dir.path(),
        "[cameras.analyzers.garbage]\nperson_detector = false\nzones = [ { name = \"bins\", polygon = [[0.0, 0.4], [1.0, 0.4], [1.0, 1.0], [0.0, 1.0]] } ]",
    );
    cam.selftest.garbage = Some(true);
    // Paving by the bin room: grey slabs with joints every 48 px, wall above.
    let paving = |k: u64| -> Vec<u8> {
        let mut rgb = Vec::with_capacity(W * H * 3);
        for y in 0..H {
            for x in 0..W {
                let n = ((x as u64 * 73 + y as u64 * 151 + k * 997) % 7) as u8;
                let v = if y < H / 3 {
                    150
                } else if x % 48 == 0 || y % 48 == 0 {
                    95
                } else {
                    128 + (y / 48) as u8 * 3
                };
                rgb.extend_from_slice(&[v + n, v + n, v + n - 4]);
            }
        }
        rgb
    };
    let r = selftest::run(&cam, None, &frames_of(paving));
    assert!(check(&r, "garbage").passed, "{r:#?}");
    println!("garbage self-test: {:.0} ms CPU", r.cpu_ms);
}
