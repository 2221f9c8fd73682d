//! Per-frame cost of the fire analyzer at 640×360 (the default detect size):
//! a quiet shed, and a shed with a burning flame and a smoke plume (the
//! candidate, cue and lifecycle paths all busy).
//!
//! The time measured is the process's CPU time per frame, so the figure is
//! the work the analyzer does even on a busy machine (wall time there is
//! stretched by other processes' load).
//!
//! Run: `cargo bench --bench fire`.

#[path = "support/cpu_time.rs"]
mod cpu_time;
#[path = "../tests/fire_support/mod.rs"]
mod fire_support;

use criterion::{criterion_group, criterion_main, Criterion};
use estatewatch::analysis::fire::config::FireConfig;
use estatewatch::analysis::fire::FireAnalyzer;
use estatewatch::analysis::Analyzer;
use estatewatch::ingest::Frame;
use fire_support::{Canvas, FPS};

/// 64 pre-rendered frames, cycled with ever-increasing stream times.
fn clip(busy: bool) -> Vec<Frame> {
    (0..64u64)
        .map(|i| {
            let t = i as f64 / FPS as f64;
            let mut c = Canvas::shed(i + 1);
            if busy {
                c.flame(320.0, 300.0, 60.0, t);
                c.plume(460.0, 280.0, 50.0, 0.7);
            }
            c.noise(4);
            c.frame(i)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let cfg: FireConfig = toml::from_str("").expect("default config");
    for (name, busy) in [
        ("fire_quiet_640x360", false),
        ("fire_burning_640x360", true),
    ] {
        let frames = clip(busy);
        let mut a = FireAnalyzer::new(&cfg, FPS as u32);
        let mut i = 0u64;
        c.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let start = cpu_time::process_cpu_time();
                for _ in 0..iters {
                    let mut f = frames[(i % 64) as usize].clone();
                    f.pts = Some(std::time::Duration::from_millis(i * 1000 / FPS));
                    f.seq = i;
                    i += 1;
                    std::hint::black_box(a.process(&f));
                }
                cpu_time::process_cpu_time().saturating_sub(start)
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
