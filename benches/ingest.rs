//! Ingest throughput: the project's pipeline (FileReader: decodebin → videorate
//! → videoscale → videoconvert → RGB appsink → Frame copy) decoding a 1080p
//! H.264 clip to 640×360, against a bare `gst-launch-1.0` pipeline doing the
//! same decode/scale/convert into a fakesink.
//!
//! Run with `cargo bench --bench ingest`. The clip (10 s, 1080p30, camera-like
//! x264 settings) is generated once into `target/bench-clips/`. Each side runs
//! `ROUNDS` times, alternating, and the best round is reported (the machine is
//! shared, so the best round is the least disturbed one).
//!
//! Two figures per side: wall-clock fps, and fps per CPU-second (user + system
//! time of all threads, via `getrusage`). On a busy machine the CPU figure is
//! the steadier one: it measures the work, not the waiting for a core.

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

/// User + system CPU time of this process (`RUSAGE_SELF`) or of its waited-for
/// children (`RUSAGE_CHILDREN`).
fn cpu_time(who: i32) -> Duration {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(who, &mut u) };
    assert_eq!(rc, 0, "getrusage failed");
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// One measured run: frames, wall time, CPU time.
struct Run {
    frames: u64,
    wall: Duration,
    cpu: Duration,
}

impl Run {
    fn fps(&self) -> f64 {
        self.frames as f64 / self.wall.as_secs_f64()
    }
    fn fps_per_cpu(&self) -> f64 {
        self.frames as f64 / self.cpu.as_secs_f64()
    }
}

fn run_project(path: &Path) -> Run {
    let cpu0 = cpu_time(libc::RUSAGE_SELF);
    let t = Instant::now();
    let mut n = 0u64;
    for frame in FileReader::open(path, "bench", WIDTH, HEIGHT, FPS).expect("open clip") {
        let frame = frame.expect("decode frame");
        assert_eq!(frame.rgb.len(), (WIDTH * HEIGHT * 3) as usize);
        n += 1;
    }
    Run {
        frames: n,
        wall: t.elapsed(),
        cpu: cpu_time(libc::RUSAGE_SELF) - cpu0,
    }
}

fn run_gst_launch(path: &Path) -> Run {
    let caps = format!("video/x-raw,format=RGB,width={WIDTH},height={HEIGHT}");
    let location = format!("location={}", path.display());
    let cpu0 = cpu_time(libc::RUSAGE_CHILDREN);
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
    let wall = t.elapsed();
    assert!(status.success(), "gst-launch-1.0 failed: {status}");
    Run {
        frames: FRAMES as u64,
        wall,
        cpu: cpu_time(libc::RUSAGE_CHILDREN) - cpu0,
    }
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

    let mut project: Option<Run> = None;
    let mut bare: Option<Run> = None;
    let better = |best: Option<Run>, r: Run| match best {
        Some(b) if b.wall <= r.wall => Some(b),
        _ => Some(r),
    };
    let better_cpu = |best: Option<Duration>, r: Duration| Some(best.map_or(r, |b| b.min(r)));
    let (mut project_cpu, mut bare_cpu) = (None, None);
    for round in 1..=ROUNDS {
        let p = run_project(&path);
        assert_eq!(
            p.frames, FRAMES as u64,
            "project pipeline must deliver every frame"
        );
        let b = run_gst_launch(&path);
        eprintln!(
            "round {round}: project {:.1} fps ({:.1} per CPU-s), gst-launch {:.1} fps ({:.1} per CPU-s)",
            p.fps(),
            p.fps_per_cpu(),
            b.fps(),
            b.fps_per_cpu()
        );
        project_cpu = better_cpu(project_cpu, p.cpu);
        bare_cpu = better_cpu(bare_cpu, b.cpu);
        project = better(project, p);
        bare = better(bare, b);
    }
    let (Some(p), Some(b), Some(pc), Some(bc)) = (project, bare, project_cpu, bare_cpu) else {
        return;
    };
    let per_cpu = |cpu: Duration| FRAMES as f64 / cpu.as_secs_f64();
    println!("ingest 1080p H.264 -> {WIDTH}x{HEIGHT} RGB, {FRAMES} frames, best of {ROUNDS}:");
    println!(
        "  estatewatch FileReader : {:7.1} fps wall, {:7.1} fps per CPU-second",
        p.fps(),
        per_cpu(pc)
    );
    println!(
        "  bare gst-launch-1.0    : {:7.1} fps wall, {:7.1} fps per CPU-second (includes process start-up)",
        b.fps(),
        per_cpu(bc)
    );
    println!(
        "  ratio project/bare     : {:.2} wall, {:.2} CPU",
        p.fps() / b.fps(),
        per_cpu(pc) / per_cpu(bc)
    );
}
