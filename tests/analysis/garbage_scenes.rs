//! Tuning harness: runs the garbage analyzer over rendered bin-room clips
//! (`scenegen`) decoded with a real GStreamer pipeline, and writes
//! the alerts as JSON lines in the MQTT schema for `score`.
//!
//! Ignored by default (it needs a folder of clips):
//!
//! ```text
//! GARBAGE_SCENES=/tmp/scenes GARBAGE_ALERTS=/tmp/alerts.jsonl \
//!   cargo test --release --test analysis garbage_scenes -- --ignored --nocapture
//! score --truth /tmp/scenes --alerts /tmp/alerts.jsonl
//! ```
//!
//! `GARBAGE_SNAPSHOTS=DIR` also saves each alert's picture as a JPEG;
//! `GARBAGE_ONLY=name` runs only clips whose name contains it;
//! `GARBAGE_THRESHOLD=x` overrides `threshold`;
//! `GARBAGE_MODELS=1` gives the analyzer the shipped models as cues;
//! `GARBAGE_DUMP=t1,t2,...` (seconds) also saves the frame and prints the
//! analyzer's cell grid at those times.

use crate::common::own_process::in_own_process;
use estatewatch::analysis::garbage::config::GarbageConfig;
use estatewatch::analysis::garbage::{cues, GarbageAnalyzer};
use estatewatch::analysis::worker::{AlertBuilder, AlertOrigin};
use estatewatch::analysis::Analyzer;
use estatewatch::ingest::Frame;
use estatewatch::settings::ZoneConfig;
use gstreamer::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Decodes a video file to RGB frames at its own size and rate.
fn decode(path: &Path, mut each: impl FnMut(Frame)) {
    gstreamer::init().expect("gstreamer");
    let desc = format!(
        "filesrc location=\"{}\" ! decodebin ! videoconvert ! video/x-raw,format=RGB ! appsink name=sink sync=false",
        path.display()
    );
    let pipeline = gstreamer::parse::launch(&desc)
        .expect("pipeline")
        .downcast::<gstreamer::Pipeline>()
        .expect("a pipeline");
    let sink = pipeline
        .by_name("sink")
        .expect("sink")
        .downcast::<gstreamer_app::AppSink>()
        .expect("appsink");
    pipeline
        .set_state(gstreamer::State::Playing)
        .expect("playing");
    let camera: Arc<str> = Arc::from(path.file_stem().and_then(|s| s.to_str()).unwrap_or("clip"));
    let mut seq = 0;
    while let Ok(sample) = sink.pull_sample() {
        let caps = sample.caps().expect("caps");
        let info = gstreamer_video::VideoInfo::from_caps(caps).expect("video info");
        let buffer = sample.buffer().expect("buffer");
        let map = buffer.map_readable().expect("map");
        let (w, h) = (info.width() as usize, info.height() as usize);
        let stride = info.stride()[0] as usize;
        let mut rgb = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            rgb.extend_from_slice(&map[y * stride..y * stride + w * 3]);
        }
        each(Frame {
            camera: camera.clone(),
            seq,
            pts: buffer.pts().map(|p| Duration::from_nanos(p.nseconds())),
            captured_at: SystemTime::now(),
            width: w as u32,
            height: h as u32,
            rgb: Arc::new(rgb),
        });
        seq += 1;
    }
    pipeline.set_state(gstreamer::State::Null).expect("stop");
}

#[test]
#[ignore = "needs rendered clips: GARBAGE_SCENES=DIR"]
fn replay_bin_room_clips() {
    // Alone: it installs a global tracing subscriber.
    in_own_process!();
    let Ok(dir) = std::env::var("GARBAGE_SCENES") else {
        eprintln!("GARBAGE_SCENES not set");
        return;
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let dir = PathBuf::from(dir);
    let alerts_path = std::env::var("GARBAGE_ALERTS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| dir.join("garbage-alerts.jsonl"));
    let snapshots = std::env::var("GARBAGE_SNAPSHOTS").ok().map(PathBuf::from);
    let only = std::env::var("GARBAGE_ONLY").ok();
    let models = std::env::var("GARBAGE_MODELS").ok().map(|_| {
        estatewatch::analysis::detector::Models::load(
            &estatewatch::analysis::detector::config::RuntimeConfig::default(),
            &[cues::DETECTOR, cues::CLASSIFIER],
        )
        .expect("models (run scripts/setup.sh)")
    });
    let mut out = std::fs::File::create(&alerts_path).expect("alerts file");
    let mut truths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scene folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    truths.sort();
    for truth_path in truths {
        let truth: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&truth_path).expect("truth"))
                .expect("truth json");
        if truth["scene"] != "binroom" {
            continue;
        }
        let stem = truth_path
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .to_string();
        if only.as_ref().is_some_and(|o| !stem.contains(o.as_str())) {
            continue;
        }
        let mut cfg = GarbageConfig::default();
        if let Some(d) = truth["hints"]["garbage_dwell_s"].as_f64() {
            cfg.dwell_s = d as f32;
        }
        if let Some(th) = std::env::var("GARBAGE_THRESHOLD")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            cfg.threshold = th;
        }
        for z in truth["calibration"]["zones"]
            .as_array()
            .into_iter()
            .flatten()
        {
            cfg.zones.push(ZoneConfig {
                name: z["name"].as_str().unwrap_or("zone").to_string(),
                display_name: None,
                polygon: z["polygon"]
                    .as_array()
                    .expect("polygon")
                    .iter()
                    .map(|p| [p[0].as_f64().unwrap() as f32, p[1].as_f64().unwrap() as f32])
                    .collect(),
            });
        }
        let (w, h) = (
            truth["width"].as_u64().unwrap() as u32,
            truth["height"].as_u64().unwrap() as u32,
        );
        let mut analyzer = GarbageAnalyzer::new(&cfg, w, h);
        if let Some(m) = &models {
            // Answers on the next frame, as in `estatewatch replay`.
            m.inference().set_inline(true);
            analyzer = analyzer.with_cues(
                std::sync::Arc::new(cues::ModelCues::from_models(m).expect("cues")),
                m.inference(),
                &stem,
            );
        }
        let mut dump_after: Option<f64> = None;
        let mut builder = AlertBuilder::new(AlertOrigin {
            site: "scenes".into(),
            gateway: "replay".into(),
            camera: stem.clone(),
        });
        builder.snapshots = snapshots.is_some();
        let video = dir.join(truth["clip"].as_str().expect("clip"));
        let started = std::time::Instant::now();
        let mut n = 0;
        let mut lines = Vec::new();
        let dumps: Vec<f64> = std::env::var("GARBAGE_DUMP")
            .map(|v| v.split(',').filter_map(|x| x.parse().ok()).collect())
            .unwrap_or_default();
        decode(&video, |frame| {
            n += 1;
            let t = frame.pts.map(|p| p.as_secs_f64()).unwrap_or(0.0);
            if let (Some(dir), true) = (&snapshots, dumps.iter().any(|d| (d - t).abs() < 0.1)) {
                std::fs::create_dir_all(dir).expect("snapshot dir");
                let img = image::RgbImage::from_raw(frame.width, frame.height, frame.rgb.to_vec())
                    .expect("image");
                img.save(dir.join(format!("{stem}-frame-{t:.1}.png")))
                    .expect("save");
                dump_after = Some(t);
            }
            let alerts: Vec<_> = analyzer
                .process(&frame)
                .into_iter()
                .map(|f| builder.build(&frame, f))
                .collect();
            if let Some(t) = dump_after.take() {
                println!("cells at {t:.1}s:\n{}", analyzer.debug_cells());
            }
            for mut alert in alerts {
                if let (Some(dir), Some(s)) = (&snapshots, alert.snapshot.take()) {
                    std::fs::create_dir_all(dir).expect("snapshot dir");
                    let name = format!(
                        "{stem}-{}-{:?}.jpg",
                        alert.media_time_ms.unwrap_or(0),
                        alert.state
                    );
                    std::fs::write(dir.join(name), &s.data).expect("snapshot");
                }
                lines.push(format!(
                    "{:.1}s {:?} {}",
                    alert.media_time_ms.unwrap_or(0) as f64 / 1000.0,
                    alert.state,
                    alert.details
                ));
                writeln!(out, "{}", serde_json::to_string(&alert).expect("json")).expect("write");
            }
        });
        let starts: Vec<f64> = truth["incidents"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| i["start_ms"].as_f64().unwrap_or(0.0) / 1000.0)
            .collect();
        println!(
            "{stem}: {n} frames in {:.1}s, incidents at {starts:?}, negatives {}",
            started.elapsed().as_secs_f64(),
            truth["negatives"]
        );
        for l in lines {
            println!("    {l}");
        }
    }
}
