//! Per-frame latency of the NanoDet path on 640x360 frames, split into
//! preprocessing, inference and decoding, next to the same work done by
//! Python onnxruntime + numpy (benches/detector_ref.py) in the same run.
//!
//!   cargo bench --bench detector [-- --python PATH] [--iters N] [--rounds R]
//!
//! Frames: Debian darknet's dog.jpg, person.jpg and eagle.jpg stretched to
//! 640x360 and written as PNGs to target/bench-frames/, so both sides read
//! identical pixels. Rust and Python alternate for R rounds (default 2) so
//! both see the same machine load; the table shows each stage's best median
//! over the rounds. Python runs twice per round: numpy doing the same resize
//! as the Rust code, and with Pillow's C resize (a stricter baseline). Both use ONNX Runtime 1.32 with 1 intra-op thread and
//! spinning off. Python needs numpy + onnxruntime (benches/requirements-ref.txt);
//! without one, only the Rust figures are printed.

use estatewatch::analysis::detector::config::RuntimeConfig;
use estatewatch::analysis::detector::{Models, Rect};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const PHOTOS: [&str; 3] = ["dog.jpg", "person.jpg", "eagle.jpg"];
const MODEL: &str = "nanodet-g-coco";

#[derive(Default, Clone, Copy, Debug)]
struct Stages {
    prepare: f64,
    infer: f64,
    decode: f64,
    total: f64,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let iters: usize = arg("--iters").and_then(|v| v.parse().ok()).unwrap_or(60);
    let rounds: usize = arg("--rounds").and_then(|v| v.parse().ok()).unwrap_or(2);
    let project = Path::new(env!("CARGO_MANIFEST_DIR"));

    let frames = write_frames(&project.join("target/bench-frames"));
    let runtime = RuntimeConfig {
        intra_op_threads: Some(1),
        ..Default::default()
    };
    let models = Models::load(&runtime, &[MODEL]).expect("load nanodet-g-coco");
    let detector = models.get_detector(MODEL).expect("detector");
    let params = detector.default_params().clone();

    // The same detections on both sides (first frame), for a sanity check.
    let (rgb, w, h) = &frames[0].1;
    println!("Rust detections on {}:", frames[0].0.display());
    for d in detector.detect(rgb, *w, *h, None).expect("detect") {
        println!(
            "  {} {:.3} ({:.1}, {:.1}, {:.1}, {:.1})",
            d.class, d.score, d.x1, d.y1, d.x2, d.y2
        );
    }

    let python = find_python(arg("--python"), project);
    let mut rust_rounds = Vec::new();
    let mut py_rounds = Vec::new();
    let mut pil_rounds = Vec::new();
    for round in 0..rounds {
        let r = bench_rust(&detector, &params, &frames, iters);
        println!("round {}: Rust          {}", round + 1, show(&r));
        rust_rounds.push(r);
        if let Some(py) = &python {
            for (pillow, into) in [(false, &mut py_rounds), (true, &mut pil_rounds)] {
                match bench_python(py, project, &frames, iters, round == 0 && !pillow, pillow) {
                    Ok(p) => {
                        let label = if pillow {
                            "Python+Pillow"
                        } else {
                            "Python numpy "
                        };
                        println!("round {}: {label} {}", round + 1, show(&p));
                        into.push(p);
                    }
                    Err(e) => println!("Python reference failed: {e}"),
                }
            }
        }
    }
    let best = |v: &[Stages]| Stages {
        prepare: v.iter().map(|s| s.prepare).fold(f64::INFINITY, f64::min),
        infer: v.iter().map(|s| s.infer).fold(f64::INFINITY, f64::min),
        decode: v.iter().map(|s| s.decode).fold(f64::INFINITY, f64::min),
        total: v.iter().map(|s| s.total).fold(f64::INFINITY, f64::min),
    };
    let r = best(&rust_rounds);
    println!();
    println!("NanoDet-g 416 on 640x360 frames, median ms per frame (best of {rounds} rounds, {iters} frames each):");
    if py_rounds.is_empty() {
        println!("  stage        Rust");
        for (name, v) in [
            ("preprocess", r.prepare),
            ("inference", r.infer),
            ("decode", r.decode),
            ("total", r.total),
        ] {
            println!("  {name:<11} {v:>6.2}");
        }
        if python.is_none() {
            println!("(no Python with numpy + onnxruntime found: pass --python PATH; see benches/requirements-ref.txt)");
        }
        return;
    }
    let p = best(&py_rounds);
    let q = if pil_rounds.is_empty() {
        p
    } else {
        best(&pil_rounds)
    };
    println!("  stage         Rust   Python(numpy)  ratio   Python(Pillow resize)  ratio");
    for (name, a, b, c) in [
        ("preprocess", r.prepare, p.prepare, q.prepare),
        ("inference", r.infer, p.infer, q.infer),
        ("decode", r.decode, p.decode, q.decode),
        ("total", r.total, p.total, q.total),
        (
            "pre+decode",
            r.prepare + r.decode,
            p.prepare + p.decode,
            q.prepare + q.decode,
        ),
    ] {
        println!(
            "  {name:<11} {a:>6.2}   {b:>12.2}  {:>5.2}x   {c:>20.2}  {:>5.2}x",
            b / a,
            c / a
        );
    }
    println!("  (ratio = Python time / Rust time; above 1 means Rust is faster. Inference is the");
    println!("   same ONNX Runtime build on both sides, so its ratio is ~1 plus machine noise;");
    println!("   pre+decode is the code this comparison is about.)");
}

fn show(s: &Stages) -> String {
    format!(
        "preprocess {:.2} ms, inference {:.2} ms, decode {:.3} ms, total {:.2} ms",
        s.prepare, s.infer, s.decode, s.total
    )
}

type Frame = (PathBuf, (Vec<u8>, u32, u32));

/// The sample photos stretched to 640x360, written as PNG for the Python side.
fn write_frames(dir: &Path) -> Vec<Frame> {
    std::fs::create_dir_all(dir).expect("create target/bench-frames");
    PHOTOS
        .iter()
        .map(|name| {
            let src = Path::new("/usr/share/darknet/data").join(name);
            let img = image::open(&src)
                .unwrap_or_else(|e| {
                    panic!("{}: {e} (scripts/setup.sh installs darknet)", src.display())
                })
                .resize_exact(640, 360, image::imageops::FilterType::Triangle)
                .to_rgb8();
            let out = dir.join(name.replace(".jpg", "-640x360.png"));
            img.save(&out).expect("write frame");
            let (w, h) = img.dimensions();
            (out, (img.into_raw(), w, h))
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn bench_rust(
    detector: &estatewatch::analysis::detector::Detector,
    params: &estatewatch::analysis::detector::DetectParams,
    frames: &[Frame],
    iters: usize,
) -> Stages {
    let roi: Option<Rect> = None;
    let (mut pre, mut inf, mut dec, mut tot) = (vec![], vec![], vec![], vec![]);
    for i in 0..iters + 5 {
        let (rgb, w, h) = &frames[i % frames.len()].1;
        let t0 = Instant::now();
        let prepared = detector.prepare(rgb, *w, *h, roi).expect("prepare");
        let t1 = Instant::now();
        let outputs = detector.infer(&prepared).expect("infer");
        let t2 = Instant::now();
        let dets = detector
            .decode(&outputs, &prepared.geometry, params)
            .expect("decode");
        let t3 = Instant::now();
        std::hint::black_box(dets);
        if i >= 5 {
            let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e3;
            pre.push(ms(t0, t1));
            inf.push(ms(t1, t2));
            dec.push(ms(t2, t3));
            tot.push(ms(t0, t3));
        }
    }
    Stages {
        prepare: median(pre),
        infer: median(inf),
        decode: median(dec),
        total: median(tot),
    }
}

/// `--python`, else a maintainer venv in models/tools, else `python3`, if it
/// can import numpy and onnxruntime.
fn find_python(given: Option<String>, project: &Path) -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = given.into_iter().map(PathBuf::from).collect();
    candidates.push(project.join("models/tools/.venv-efficientnet/bin/python"));
    candidates.push(PathBuf::from("python3"));
    candidates.into_iter().find(|py| {
        Command::new(py)
            .args(["-c", "import numpy, onnxruntime"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    })
}

fn bench_python(
    python: &Path,
    project: &Path,
    frames: &[Frame],
    iters: usize,
    show_detections: bool,
    pillow: bool,
) -> Result<Stages, String> {
    let mut cmd = Command::new(python);
    cmd.arg(project.join("benches/detector_ref.py"))
        .arg("--model-dir")
        .arg(project.join("models").join(MODEL))
        .args(["--iters", &iters.to_string(), "--json"]);
    if show_detections {
        cmd.arg("--show");
    }
    if pillow {
        cmd.arg("--pillow");
    }
    for (path, _) in frames {
        cmd.arg(path);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("{}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut json = None;
    for line in text.lines() {
        if line.starts_with('{') {
            json = Some(line.to_string());
        } else {
            println!("{line}");
        }
    }
    let v: serde_json::Value =
        serde_json::from_str(&json.ok_or("no JSON line from detector_ref.py")?)
            .map_err(|e| e.to_string())?;
    let get = |k: &str| v[k].as_f64().ok_or(format!("missing {k}"));
    Ok(Stages {
        prepare: get("preprocess")?,
        infer: get("inference")?,
        decode: get("decode")?,
        total: get("total")?,
    })
}
