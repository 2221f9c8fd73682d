//! `estatewatch still` through the real binary: a frame taken from a camera
//! served over RTSP by the in-process test server, with the configured
//! facade grid and zones drawn where the config puts them and the caption
//! bottom left; and the errors an
//! integrator meets (unknown camera, unreachable camera, unwritable path).

use crate::common::scenegen::scenegen;
use estatewatch::ingest::RtspServer;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_estatewatch");

/// Renders a small tower clip (320x180) as `scenegen` does; returns the MP4.
fn tower_clip(dir: &Path) -> std::path::PathBuf {
    scenegen(
        dir,
        "throwing",
        2,
        Some((320, 180)),
        "size_px=20,floor=2",
        false,
    );
    dir.join("throwing-2.mp4")
}

/// A config with one camera `tower` at `url`: a throwing facade of three
/// floors (lines at y = 0.85, 0.65, 0.45, 0.25) and two columns (edges at
/// x = 0.25, 0.55, 0.85), and a garbage zone in the bottom-right corner.
fn config(dir: &Path, url: &str) -> std::path::PathBuf {
    let text = format!(
        r#"
[site]
id = "t"
[gateway]
id = "g"
[[cameras]]
name = "tower"
display_name = "南塔楼"
url = "{url}"
stall_timeout_s = 2
reconnect_min_ms = 200
reconnect_max_ms = 500
[cameras.detect]
width = 320
height = 180
fps = 15
[cameras.analyzers.throwing]
facade = [[0.25, 0.85], [0.85, 0.85], [0.85, 0.25], [0.25, 0.25]]
floors = {{ rows = [0.85, 0.65, 0.45, 0.25], first = 1 }}
columns = {{ edges = [0.25, 0.55, 0.85] }}
[cameras.analyzers.garbage]
person_detector = false
[[cameras.analyzers.garbage.zones]]
name = "bins"
polygon = [[0.88, 0.88], [0.98, 0.88], [0.98, 0.98], [0.88, 0.98]]
"#
    );
    let path = dir.join("still.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn run(args: &[&str], config: &Path) -> Output {
    Command::new(BIN)
        .arg("still")
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn still_draws_the_configured_grid_and_zones_where_the_config_puts_them() {
    let dir = tempfile::tempdir().unwrap();
    let clip = tower_clip(dir.path());
    let server = RtspServer::start(0, None).unwrap();
    server.add_file_loop("/tower", &clip);
    let cfg = config(dir.path(), &server.url("/tower"));
    let (out_png, raw_png) = (dir.path().join("still.png"), dir.path().join("raw.png"));
    let out = run(
        &[
            "--camera",
            "tower",
            "--out",
            out_png.to_str().unwrap(),
            "--raw",
            raw_png.to_str().unwrap(),
            "--timeout-s",
            "30",
        ],
        &cfg,
    );
    server.stop();
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("still.png") && stdout.contains("320x180") && stdout.contains("tower"),
        "{stdout}"
    );

    let pic = image::open(&out_png).unwrap().to_rgb8();
    let raw = image::open(&raw_png).unwrap().to_rgb8();
    assert_eq!(pic.dimensions(), (320, 180));
    assert_eq!(raw.dimensions(), (320, 180));
    // The frame is a real picture, not a blank start.
    let lumas: Vec<u8> = raw.pixels().map(|p| p.0[1]).collect();
    assert!(lumas.iter().max().unwrap() - lumas.iter().min().unwrap() > 50);

    let differs = |x: u32, y: u32| pic.get_pixel(x, y) != raw.get_pixel(x, y);
    // Along every floor line (y = 0.85, 0.65, 0.45, 0.25 of 180 px), across
    // the first column (x = 0.30..0.50 of 320 px, clear of the labels).
    for y in [153, 117, 81, 45] {
        for x in 96..160 {
            assert!(differs(x, y), "floor line at row {y}: ({x}, {y}) not drawn");
        }
    }
    // Along the column edge at x = 0.55 and the facade's right edge at 0.85,
    // between the floor lines.
    for x in [176, 272] {
        for y in 60..100 {
            assert!(differs(x, y), "column edge at x {x}: ({x}, {y}) not drawn");
        }
    }
    // The garbage zone's top edge (y = 0.88), left of its label.
    for x in 284..290 {
        assert!(differs(x, 158), "garbage zone edge: ({x}, 158) not drawn");
    }
    // Inside the facade cells, away from every line (floor, column, and the
    // 0.1 normalised grid at multiples of 32 px across and 18 px down) and
    // from the labels (the facade's name runs along its top, in the first
    // cell), the picture is the frame itself.
    for (cx, cy) in [(0.36, 0.36), (0.45, 0.55), (0.66, 0.75), (0.75, 0.34)] {
        let (x0, y0) = ((cx * 320.0) as u32, (cy * 180.0) as u32);
        for y in y0 - 2..=y0 + 2 {
            for x in x0 - 2..=x0 + 2 {
                assert!(!differs(x, y), "({x}, {y}) changed away from every line");
            }
        }
    }
    // The caption, bottom left: the camera's display name and the frame's
    // time, white text on a darkened box (`alert::caption`).
    let (cx, cy, lh) = estatewatch::alert::caption::Caption::position(320, 180);
    let (mut ink, mut darker) = (0, 0);
    for y in cy as u32..(cy as u32 + lh).min(180) {
        for x in cx as u32..140 {
            let (p, r) = (pic.get_pixel(x, y).0, raw.get_pixel(x, y).0);
            ink += usize::from(p.iter().all(|&c| c > 150) && r.iter().any(|&c| c <= 150));
            darker += usize::from(p.iter().zip(r).all(|(a, b)| *a <= b) && p != r);
        }
    }
    assert!(ink > 40, "caption text pixels: {ink}");
    assert!(darker > 500, "darkened caption box pixels: {darker}");
    // The normalised grid: x = 0.5 is lightened below the labels.
    for y in 20..40 {
        let (p, r) = (pic.get_pixel(160, y), raw.get_pixel(160, y));
        assert!(
            p.0.iter().zip(r.0).all(|(a, b)| *a >= b) && p != r,
            "grid at x = 0.5, row {y}: {p:?} vs {r:?}"
        );
    }
}

#[test]
fn unknown_camera_lists_the_configured_ones() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "rtsp://127.0.0.1:9/none");
    let png = dir.path().join("x.png");
    let out = run(&["--camera", "lobby", "--out", png.to_str().unwrap()], &cfg);
    assert!(!out.status.success());
    let msg = text(&out);
    assert!(
        msg.contains("\"lobby\"") && msg.contains("cameras: tower"),
        "{msg}"
    );
    assert!(!png.exists());
}

#[test]
fn unreachable_camera_fails_within_the_timeout_without_showing_the_password() {
    let dir = tempfile::tempdir().unwrap();
    // A port where nothing listens: bind one, note it, let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = config(
        dir.path(),
        &format!("rtsp://admin:Sup3rSecret@127.0.0.1:{port}/live"),
    );
    let png = dir.path().join("x.png");
    let out = run(
        &[
            "--camera",
            "tower",
            "--out",
            png.to_str().unwrap(),
            "--timeout-s",
            "3",
        ],
        &cfg,
    );
    assert!(!out.status.success());
    let msg = text(&out);
    assert!(!msg.contains("Sup3rSecret"), "password shown: {msg}");
    let last = msg.lines().last().unwrap_or_default();
    assert!(
        last.contains("camera tower") && last.contains("no frame within 3 s"),
        "{msg}"
    );
    assert!(!png.exists());
}

#[test]
fn unwritable_output_is_reported_before_connecting() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "rtsp://127.0.0.1:9/none");
    let out = run(
        &["--camera", "tower", "--out", "/nonexistent-dir/still.png"],
        &cfg,
    );
    assert!(!out.status.success());
    let msg = text(&out);
    assert!(
        msg.contains("cannot write /nonexistent-dir/still.png"),
        "{msg}"
    );
}
