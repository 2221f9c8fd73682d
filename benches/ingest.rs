//! Ingest throughput: the project's pipeline (FileReader: decodebin → videorate
//! → videoscale → videoconvert → RGB appsink → Frame copy) decoding a 1080p
//! H.264 clip to 640×360, against a bare `gst-launch-1.0` pipeline doing the
//! same decode/scale/convert into a fakesink.
//!
//! Run with `cargo bench --bench ingest`. The clip (10 s, 1080p30, camera-like
//! x264 settings) is generated once into `target/bench-clips/`. Each side runs
//! `ROUNDS` times, alternating, and the best round is reported (the machine is
//! shared, so the best round is the least disturbed one).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use estatewatch::ingest::synth::{write_clip, ClipSpec, Codec};
use estatewatch::ingest::FileReader;

const FRAMES: u32 = 300;
const FPS: u32 = 30;
const ROUNDS: usize = 3;
const WIDTH: u32 = 640;
const HEIGHT: u32 = 360;

fn clip_path() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-clips");
    std::fs::create_dir_all(&dir).expect("create target/bench-clips");
    dir.join("1080p30-h264-10s.mp4")
}

fn ensure_clip(path: &Path) {
    if path.is_file() {
        return;
    }
    eprintln!("generating {} (once) ...", path.display());
    let t = Instant::now();
    let tmp = path.with_extension("partial.mp4");
    write_clip(
        &tmp,
        &ClipSpec {
            width: 1920,
            height: 1080,
            fps: FPS,
            frames: FRAMES,
            codec: Codec::H264,
            pattern: "smpte",
            horizontal_speed: 4,
        },
    )
    .expect("encode the benchmark clip");
    std::fs::rename(&tmp, path).expect("move the clip into place");
    eprintln!("  done in {:.1} s", t.elapsed().as_secs_f64());
}

fn run_project(path: &Path) -> (u64, Duration) {
    let t = Instant::now();
    let mut n = 0u64;
    for frame in FileReader::open(path, "bench", WIDTH, HEIGHT, FPS).expect("open clip") {
        let frame = frame.expect("decode frame");
        assert_eq!(frame.rgb.len(), (WIDTH * HEIGHT * 3) as usize);
        n += 1;
    }
    (n, t.elapsed())
}

fn run_gst_launch(path: &Path) -> Duration {
    let caps = format!("video/x-raw,format=RGB,width={WIDTH},height={HEIGHT}");
    let location = format!("location={}", path.display());
    let t = Instant::now();
    let status = Command::new("gst-launch-1.0")
        .args([
            "-q",
            "filesrc",
            &location,
            "!",
            "qtdemux",
            "!",
            "h264parse",
            "!",
        ])
        .args([
            "avdec_h264",
            "!",
            "videoscale",
            "!",
            "videoconvert",
            "!",
            &caps,
        ])
        .args(["!", "fakesink", "sync=false"])
        .status()
        .expect("run gst-launch-1.0 (gstreamer1.0-tools)");
    let elapsed = t.elapsed();
    assert!(status.success(), "gst-launch-1.0 failed: {status}");
    elapsed
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing
    // special: in that case just prove the bench builds and exits.
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("ingest bench: run with `cargo bench --bench ingest`");
        return;
    }
    let path = clip_path();
    ensure_clip(&path);

    let mut best_project = Duration::MAX;
    let mut best_bare = Duration::MAX;
    for round in 1..=ROUNDS {
        let (n, d) = run_project(&path);
        assert_eq!(
            n, FRAMES as u64,
            "project pipeline must deliver every frame"
        );
        let b = run_gst_launch(&path);
        eprintln!(
            "round {round}: project {:.1} fps, gst-launch {:.1} fps",
            n as f64 / d.as_secs_f64(),
            FRAMES as f64 / b.as_secs_f64()
        );
        best_project = best_project.min(d);
        best_bare = best_bare.min(b);
    }
    let project_fps = FRAMES as f64 / best_project.as_secs_f64();
    let bare_fps = FRAMES as f64 / best_bare.as_secs_f64();
    println!("ingest 1080p H.264 -> {WIDTH}x{HEIGHT} RGB, {FRAMES} frames, best of {ROUNDS}:");
    println!(
        "  estatewatch FileReader : {project_fps:7.1} fps ({:.2} s)",
        best_project.as_secs_f64()
    );
    println!(
        "  bare gst-launch-1.0    : {bare_fps:7.1} fps ({:.2} s, includes process start-up)",
        best_bare.as_secs_f64()
    );
    println!("  ratio project/bare     : {:.2}", project_fps / bare_fps);
}
