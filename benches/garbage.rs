//! Per-frame cost of the garbage analyzer at the default detect size
//! (640×360): `cargo bench --bench garbage`.
//!
//! The frames are a noisy textured scene with a person walking across and a
//! bag on the ground (so the analyzer follows one object and one moving blob,
//! its usual busy state), generated once and replayed in a loop with
//! increasing timestamps.

use criterion::Criterion;
use estatewatch::analysis::garbage::config::GarbageConfig;
use estatewatch::analysis::garbage::GarbageAnalyzer;
use estatewatch::analysis::Analyzer;
use estatewatch::ingest::Frame;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

const W: usize = 640;
const H: usize = 360;

fn scene(n: usize) -> Vec<Arc<Vec<u8>>> {
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % 9) as i32 - 4
    };
    (0..n)
        .map(|i| {
            let px = 40 + i * 6; // person's left edge
            let mut img = vec![0u8; W * H * 3];
            for y in 0..H {
                for x in 0..W {
                    let mut v: i32 = if (x / 48 + y / 48) % 2 == 0 { 124 } else { 112 };
                    let mut rgb = [v, v - 4, v - 10];
                    if (300..332).contains(&x) && (250..276).contains(&y) {
                        rgb = [25, 25, 30]; // the bag
                    }
                    if (px..px + 28).contains(&x) && (180..280).contains(&y) {
                        rgb = [40, 60, 150]; // the person
                    }
                    v = rnd();
                    let i = (y * W + x) * 3;
                    for k in 0..3 {
                        img[i + k] = (rgb[k] + v).clamp(0, 255) as u8;
                    }
                }
            }
            Arc::new(img)
        })
        .collect()
}

/// A warmed-up analyzer and a function that feeds it the next frame.
fn setup() -> (GarbageAnalyzer, impl FnMut(&mut GarbageAnalyzer) -> usize) {
    let frames = scene(60);
    let cfg = GarbageConfig::default();
    let mut analyzer = GarbageAnalyzer::new(&cfg, W as u32, H as u32);
    let mut seq = 0u64;
    let mut next = move |a: &mut GarbageAnalyzer| {
        let f = Frame {
            camera: Arc::from("bench"),
            seq,
            pts: Some(Duration::from_millis(seq * 100)),
            captured_at: SystemTime::now(),
            width: W as u32,
            height: H as u32,
            rgb: frames[seq as usize % frames.len()].clone(),
        };
        seq += 1;
        a.process(&f).len()
    };
    // Warm up past the first frames so the bag is a followed object.
    for _ in 0..120 {
        next(&mut analyzer);
    }
    (analyzer, next)
}

fn main() {
    // `cargo bench` passes `--bench`. Run any other way (`cargo test
    // --benches`, libtest flags such as `--test-threads`), it only checks
    // that the analyzer runs on the bench's frames, and exits successfully.
    if !std::env::args().any(|a| a == "--bench") {
        let (mut analyzer, mut next) = setup();
        for _ in 0..10 {
            next(&mut analyzer);
        }
        eprintln!("garbage bench: run with `cargo bench --bench garbage`");
        return;
    }
    let (mut analyzer, mut next) = setup();
    let mut c = Criterion::default().configure_from_args();
    c.bench_function("garbage_process_640x360", |b| {
        b.iter(|| next(&mut analyzer))
    });
    c.final_summary();
}
