//! Throwing analyzer benchmarks.
//!
//! - `throwing/process_640x360`: one frame through the analyzer (background
//!   models, blobs, tracking, fits) on a noisy synthetic facade with a
//!   falling object; criterion reports the process's CPU time per frame.
//! - `throwing/decode_1080p_and_analyse`: a 1080p H.264 clip (made at start
//!   from the same facade, upscaled) decoded with one decoder thread, scaled
//!   to 640×360 RGB (decode → videoscale → videoconvert) and analysed;
//!   criterion reports frames per second. The time measured is the
//!   process's CPU time (all threads: decoder, scaler, analyzer), so the
//!   figure is frames per second of one core even on a busy machine; run it
//!   pinned to one core as well: `taskset -c 0 cargo bench --bench throwing`.

#[path = "support/cpu_time.rs"]
mod cpu_time;
#[path = "../tests/throwing_scene/mod.rs"]
mod throwing_scene;

use cpu_time::process_cpu_time;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use estatewatch::analysis::{build_analyzers, Analyzer};
use estatewatch::config::Config;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use std::sync::Arc;
use std::time::Duration;
use throwing_scene::*;

const FPS: u32 = 15;

fn analyzer() -> Box<dyn Analyzer> {
    let cfg = Config::parse(&config_toml(FPS, "")).expect("bench config parses");
    build_analyzers(&cfg.cameras[0])
        .expect("analyzers build")
        .pop()
        .expect("the throwing analyzer")
}

/// Two seconds of facade with sensor noise, slight shake and an object
/// falling from floor 8 (RGB frames at 640×360).
fn clip() -> Vec<Vec<u8>> {
    let base = facade();
    (0..2 * FPS)
        .map(|k| {
            let t = k as f32 / FPS as f32;
            let y = floor_mid(8) + 0.5 * G_PX * t * t;
            let fx = Effects {
                noise: 4,
                shake: ((k as i32 % 3) - 1, 0),
                gain: 0,
            };
            render(
                &base,
                &[Sprite::Disc {
                    x: col_mid(3),
                    y,
                    d: 6.0,
                    v: 30,
                }],
                fx,
                k,
            )
        })
        .collect()
}

fn process(c: &mut Criterion) {
    let frames: Vec<Arc<Vec<u8>>> = clip().into_iter().map(Arc::new).collect();
    let mut a = analyzer();
    let mut k = 0u64;
    let mut g = c.benchmark_group("throwing");
    g.throughput(Throughput::Elements(1));
    g.bench_function("process_640x360", |b| {
        b.iter_custom(|iters| {
            let start = process_cpu_time();
            for _ in 0..iters {
                let mut f = frame(k, k as f64 / FPS as f64, Vec::new());
                f.rgb = frames[(k % frames.len() as u64) as usize].clone();
                k += 1;
                std::hint::black_box(a.process(&f));
            }
            process_cpu_time().saturating_sub(start)
        })
    });
    g.finish();
}

/// Encodes `frames` (640×360 RGB) upscaled to 1920×1080 H.264 into `path`.
fn encode_1080p(frames: &[Vec<u8>], path: &std::path::Path) -> Result<(), String> {
    let desc = format!(
        "appsrc name=src format=time caps=video/x-raw,format=RGB,width={W},height={H},framerate={FPS}/1 \
         ! videoconvert ! videoscale ! video/x-raw,width=1920,height=1080 \
         ! x264enc speed-preset=ultrafast bitrate=6000 key-int-max=30 ! mp4mux ! filesink location={}",
        path.display()
    );
    let p = gst::parse::launch(&desc)
        .map_err(|e| e.to_string())?
        .downcast::<gst::Pipeline>()
        .map_err(|_| "not a pipeline")?;
    let src = p
        .by_name("src")
        .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
        .ok_or("no appsrc")?;
    p.set_state(gst::State::Playing)
        .map_err(|e| e.to_string())?;
    for (k, f) in frames.iter().enumerate() {
        let mut buf = gst::Buffer::from_slice(f.clone());
        if let Some(b) = buf.get_mut() {
            b.set_pts(gst::ClockTime::from_nseconds(
                k as u64 * 1_000_000_000 / FPS as u64,
            ));
        }
        src.push_buffer(buf).map_err(|e| e.to_string())?;
    }
    src.end_of_stream().map_err(|e| e.to_string())?;
    let bus = p.bus().ok_or("no bus")?;
    for msg in bus.iter_timed(gst::ClockTime::from_seconds(120)) {
        match msg.view() {
            gst::MessageView::Eos(_) => break,
            gst::MessageView::Error(e) => return Err(e.error().to_string()),
            _ => {}
        }
    }
    p.set_state(gst::State::Null).map_err(|e| e.to_string())?;
    Ok(())
}

/// Decodes `path` to 640×360 RGB with one decoder thread and analyses every
/// frame; returns the frames processed.
fn decode_and_analyse(path: &std::path::Path, a: &mut dyn Analyzer, t0: f64) -> u64 {
    let desc = format!(
        "filesrc location={} ! qtdemux ! h264parse ! avdec_h264 max-threads=1 \
         ! videoscale ! videoconvert ! video/x-raw,format=RGB,width={W},height={H} \
         ! appsink name=sink sync=false",
        path.display()
    );
    let p = gst::parse::launch(&desc)
        .expect("decode pipeline")
        .downcast::<gst::Pipeline>()
        .expect("a pipeline");
    let sink = p
        .by_name("sink")
        .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
        .expect("appsink");
    p.set_state(gst::State::Playing).expect("playing");
    let mut n = 0u64;
    while let Ok(sample) = sink.pull_sample() {
        let Some(buf) = sample.buffer() else { continue };
        let Ok(map) = buf.map_readable() else {
            continue;
        };
        let f = frame(n, t0 + n as f64 / FPS as f64, map.as_slice().to_vec());
        std::hint::black_box(a.process(&f));
        n += 1;
    }
    let _ = p.set_state(gst::State::Null);
    n
}

fn pipeline(c: &mut Criterion) {
    if gst::init().is_err() {
        eprintln!("GStreamer unavailable: skipping decode_1080p_and_analyse");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("facade-1080p.mp4");
    let frames = clip();
    if let Err(e) = encode_1080p(&frames, &path) {
        eprintln!("cannot encode the 1080p clip ({e}): skipping decode_1080p_and_analyse");
        return;
    }
    let mut a = analyzer();
    // The encoder may hold back the last frame at end of stream: count what
    // one pass decodes and check every measured pass gets the same.
    let decoded = decode_and_analyse(&path, a.as_mut(), 0.0);
    assert!(
        decoded + 1 >= frames.len() as u64,
        "only {decoded} of {} frames decoded",
        frames.len()
    );
    let mut t0 = decoded as f64 / FPS as f64 + 1.0;
    let mut g = c.benchmark_group("throwing");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(decoded));
    g.bench_function("decode_1080p_and_analyse", |b| {
        b.iter_custom(|iters| {
            let start = process_cpu_time();
            for _ in 0..iters {
                let n = decode_and_analyse(&path, a.as_mut(), t0);
                assert_eq!(n, decoded, "every frame decoded");
                t0 += n as f64 / FPS as f64 + 1.0;
            }
            process_cpu_time().saturating_sub(start)
        })
    });
    g.finish();
}

criterion_group!(benches, process, pipeline);
criterion_main!(benches);
