//! CPU cost of one camera's self-test (`analysis::selftest::run`), the
//! figure behind the budget of 2 CPU-seconds per camera per day.
//!
//!   cargo bench --bench selftest [-- --runs N]
//!
//! One 640×360 camera at 10 fps with all three incident analyzers (throwing
//! on the facade above, fire and garbage zones on the ground below) and
//! their models (NanoDet for garbage's person cue) when they load; 3 s of
//! frames, as by default. Three cases: a view that passes (each test
//! instance stops as soon as it raises its synthetic incident), a covered
//! camera (black frames: the view checks fail; the synthetic incidents are
//! still seen on black, which is why the view is checked at all), and
//! thresholds no synthetic incident can meet, so every instance runs its
//! whole sequence (the most a test can cost). Each figure is the test
//! thread's own CPU time (`cpu_ms` in the result), median and worst of N runs
//! (default 5).

use estatewatch::analysis::config::CameraConfig;
use estatewatch::analysis::detector::config::RuntimeConfig;
use estatewatch::analysis::selftest;
use estatewatch::config::Config;
use estatewatch::ingest::Frame;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

const W: u32 = 640;
const H: u32 = 360;

/// The bench camera; `deaf` adds thresholds no synthetic incident can meet,
/// so every test instance runs its whole sequence (the most a test costs).
fn camera(reference_dir: &std::path::Path, deaf: bool) -> CameraConfig {
    let (throwing, fire, garbage) = if deaf {
        (
            "pixel_threshold = 255\n",
            "min_flame_area = 0.5\n",
            "threshold = 128\n",
        )
    } else {
        ("", "", "")
    };
    let text = format!(
        r#"[site]
id = "s"
[gateway]
id = "g"
[[cameras]]
name = "bench"
url = "rtsp://127.0.0.1/bench"
[cameras.detect]
width = {W}
height = {H}
fps = 10
[cameras.analyzers.throwing]
{throwing}facade = [[0.1, 0.0], [0.9, 0.0], [0.9, 0.6], [0.1, 0.6]]
[cameras.analyzers.throwing.floors]
first_row = 0.6
floor_height = 0.055
count = 10
[cameras.analyzers.fire]
{fire}zones = [ {{ name = "shed", polygon = [[0.0, 0.62], [0.5, 0.62], [0.5, 1.0], [0.0, 1.0]] }} ]
[cameras.analyzers.garbage]
{garbage}zones = [ {{ name = "bins", polygon = [[0.5, 0.62], [1.0, 0.62], [1.0, 1.0], [0.5, 1.0]] }} ]
[cameras.selftest]
reference_dir = {dir:?}
"#,
        dir = reference_dir.display().to_string(),
    );
    let cfg = Config::parse(&text).expect("bench config parses");
    cfg.cameras.into_iter().next().expect("a camera")
}

/// A facade of windows above, paving below, with sensor noise.
fn scene(k: u64) -> Vec<u8> {
    let mut rgb = Vec::with_capacity((W * H * 3) as usize);
    for y in 0..H {
        for x in 0..W {
            let n = ((x as u64 * 73 + y as u64 * 151 + k * 997) % 7) as u8;
            let v: [u8; 3] = if y < H * 6 / 10 {
                let win = x % 40 > 12 && x % 40 < 30 && y % 20 > 5 && y % 20 < 15;
                if win {
                    [50, 55, 70]
                } else {
                    [170, 160, 140]
                }
            } else if x % 48 == 0 || y % 48 == 0 {
                [95, 95, 91]
            } else {
                [128, 128, 124]
            };
            rgb.extend_from_slice(&[v[0] + n, v[1] + n, v[2] + n]);
        }
    }
    rgb
}

fn frames(rgb: impl Fn(u64) -> Vec<u8>) -> Vec<Frame> {
    (0..30)
        .map(|k| Frame {
            camera: Arc::from("bench"),
            seq: k,
            pts: Some(Duration::from_millis(100 * k)),
            captured_at: SystemTime::now(),
            width: W,
            height: H,
            rgb: Arc::new(rgb(k)),
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs: usize = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let dir = tempfile::tempdir().expect("temp dir");
    let cam = camera(dir.path(), false);
    let deaf = camera(dir.path(), true);
    // One inference thread, as on a 2-core gateway.
    let runtime = RuntimeConfig {
        intra_op_threads: Some(1),
        ..Default::default()
    };
    let models = estatewatch::analysis::load_wanted_models(&runtime, [&cam]);
    println!(
        "self-test of one 640x360 camera with throwing, fire and garbage; models {}",
        if models.is_some() {
            "loaded"
        } else {
            "not loaded (cues off)"
        }
    );
    let good = frames(scene);
    let black = frames(|_| vec![3u8; (W * H * 3) as usize]);
    for (case, cam, fr) in [
        ("view passes", &cam, &good),
        ("covered", &cam, &black),
        ("nothing raised (worst)", &deaf, &good),
    ] {
        let mut cpu: Vec<f64> = Vec::new();
        let mut last = None;
        for _ in 0..runs {
            let r = selftest::run(cam, models.as_ref(), fr);
            cpu.push(r.cpu_ms);
            last = Some(r);
        }
        cpu.sort_by(f64::total_cmp);
        let r = last.expect("at least one run");
        let kinds: Vec<String> = r
            .kinds()
            .iter()
            .map(|(k, ok)| format!("{k}={}", u8::from(*ok)))
            .collect();
        println!(
            "{case:<22} CPU median {:>6.0} ms, worst {:>6.0} ms ({})",
            cpu[cpu.len() / 2],
            cpu[cpu.len() - 1],
            kinds.join(" ")
        );
    }
}
