// Scratch evaluation harness (not committed): decodes scene clips, runs the
// throwing analyzer with a config made from each clip's truth calibration,
// writes alerts as <stem>.jsonl for `estatewatch score`.
use estatewatch::analysis::build_analyzers;
use estatewatch::analysis::worker::{analyse, AlertBuilder, AlertOrigin};
use estatewatch::config::Config;
use estatewatch::ingest::Frame;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use std::io::Write;
use std::sync::Arc;

fn throwing_section(truth: &serde_json::Value, extra: &str) -> String {
    let f = &truth["calibration"]["facade"];
    let rows: Vec<f64> = f["floor_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let (yb, yt) = (rows[0], rows[rows.len() - 1]);
    let mut eb = vec![];
    let mut et = vec![];
    for l in f["column_lines"].as_array().unwrap() {
        let (x0, y0) = (l[0][0].as_f64().unwrap(), l[0][1].as_f64().unwrap());
        let (x1, y1) = (l[1][0].as_f64().unwrap(), l[1][1].as_f64().unwrap());
        let at = |y: f64| x0 + (x1 - x0) * (y - y0) / (y1 - y0);
        eb.push(at(yb).clamp(0.0, 1.0));
        et.push(at(yt).clamp(0.0, 1.0));
    }
    let poly = |p: &serde_json::Value| serde_json::to_string(p).unwrap();
    let mut s = format!(
        "[cameras.analyzers.throwing]\nfacade = {}\n{extra}\n",
        poly(&f["polygon"])
    );
    for z in truth["calibration"]["exclude"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|z| z["name"] != "sky")
    {
        s += &format!(
            "[[cameras.analyzers.throwing.exclude]]\nname = {}\npolygon = {}\n",
            z["name"],
            poly(&z["polygon"])
        );
    }
    s += &format!(
        "[cameras.analyzers.throwing.floors]\nrows = {:?}\nfirst = 0\nheight_m = {}\n",
        rows,
        f["floor_height_m"].as_f64().unwrap()
    );
    s += &format!(
        "[cameras.analyzers.throwing.columns]\nedges = {:?}\nedges_top = {:?}\n",
        eb, et
    );
    s
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(&args[1]);
    let out = std::path::PathBuf::from(&args[2]);
    let filter = args.get(3).cloned().unwrap_or_default();
    let extra = std::env::var("THROW_EXTRA")
        .unwrap_or_default()
        .replace(';', "\n");
    let snaps = std::env::var("THROW_SNAPS").ok();
    std::fs::create_dir_all(&out).unwrap();
    gst::init().unwrap();
    tracing_subscriber::fmt()
        .with_ansi(false)
        .without_time()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("THROW_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    let mut total_frames = 0u64;
    let mut total_time = 0.0f64;
    for p in entries {
        if p.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let stem = p.file_stem().unwrap().to_str().unwrap().to_string();
        if !stem.contains(&filter) {
            continue;
        }
        let truth: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        if truth["scene"] != "tower" {
            continue;
        }
        let video = dir.join(truth["clip"].as_str().unwrap());
        let (w, h) = {
            let tw = truth["width"].as_u64().unwrap() as u32;
            let th = truth["height"].as_u64().unwrap() as u32;
            if tw <= 640 {
                (tw, th)
            } else {
                (640, (640 * th / tw) & !1)
            }
        };
        let fps = truth["fps"].as_u64().unwrap() as u32;
        let text = format!(
            "[site]\nid = \"s\"\n[gateway]\nid = \"g\"\n[[cameras]]\nname = \"{stem}\"\nurl = \"rtsp://x/y\"\n[cameras.detect]\nwidth = {w}\nheight = {h}\nfps = {fps}\n{}",
            throwing_section(&truth, &extra)
        );
        let cfg = Config::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let probs = cfg.validate();
        assert!(probs.is_empty(), "{probs:?}\n{text}");
        let mut analyzers = build_analyzers(&cfg.cameras[0]).unwrap();
        let mut builder = AlertBuilder::new(AlertOrigin {
            site: "s".into(),
            gateway: "g".into(),
            camera: stem.clone(),
        });
        builder.snapshots = snaps.is_some();
        let pipe = gst::parse::launch(&format!(
            "filesrc location={} ! decodebin ! videoconvert ! videoscale ! video/x-raw,format=RGB,width={w},height={h} ! appsink name=sink sync=false",
            video.display()
        )).unwrap().downcast::<gst::Pipeline>().unwrap();
        let sink = pipe
            .by_name("sink")
            .unwrap()
            .downcast::<gst_app::AppSink>()
            .unwrap();
        pipe.set_state(gst::State::Playing).unwrap();
        let mut f = std::fs::File::create(out.join(format!("{stem}.jsonl"))).unwrap();
        let mut seq = 0;
        let mut n_alerts = 0;
        let t0 = std::time::Instant::now();
        let mut busy = 0.0;
        while let Ok(sample) = sink.pull_sample() {
            let buf = sample.buffer().unwrap();
            let pts = buf
                .pts()
                .map(|p| std::time::Duration::from_nanos(p.nseconds()));
            let map = buf.map_readable().unwrap();
            let frame = Frame {
                camera: Arc::from(stem.as_str()),
                seq,
                pts,
                captured_at: std::time::SystemTime::now(),
                width: w,
                height: h,
                rgb: Arc::new(map.as_slice().to_vec()),
            };
            seq += 1;
            let ta = cpu_now();
            let alerts = analyse(&frame, &mut analyzers, &mut builder);
            busy += cpu_now() - ta;
            if let Ok(spec) = std::env::var("THROW_DUMP") {
                let v: Vec<f64> = spec.split(',').map(|x| x.parse().unwrap()).collect();
                let t = pts.unwrap().as_secs_f64();
                if t >= v[0] && t <= v[1] {
                    let mut img = image::RgbImage::from_raw(w, h, frame.rgb.to_vec()).unwrap();
                    let raw = img.clone();
                    analyzers[0].draw_debug(&mut img);
                    let (x0, y0, cw, ch) = (v[2] as u32, v[3] as u32, v[4] as u32, v[5] as u32);
                    let a = image::imageops::crop_imm(&raw, x0, y0, cw, ch).to_image();
                    let b = image::imageops::crop_imm(&img, x0, y0, cw, ch).to_image();
                    let mut both = image::RgbImage::new(cw * 2 + 2, ch);
                    image::imageops::replace(&mut both, &a, 0, 0);
                    image::imageops::replace(&mut both, &b, cw as i64 + 2, 0);
                    let big = image::imageops::resize(
                        &both,
                        both.width() * 3,
                        both.height() * 3,
                        image::imageops::FilterType::Nearest,
                    );
                    big.save(format!(
                        "/tmp/thr/dump/{stem}-{:05}.png",
                        (t * 1000.0) as u64
                    ))
                    .unwrap();
                }
            }
            for mut a in alerts {
                n_alerts += 1;
                if let (Some(dir), Some(s)) = (&snaps, a.snapshot.take()) {
                    std::fs::write(format!("{dir}/{stem}-{n_alerts}.jpg"), &s.data).unwrap();
                }
                f.write_all(&a.to_json().unwrap()).unwrap();
                f.write_all(b"\n").unwrap();
                let o = &a.details["origin"];
                eprintln!(
                    "  {stem} t={} floor={} col={} g={:.2} conf={:.2}",
                    a.media_time_ms.unwrap_or(0),
                    o["floor"],
                    o["column"],
                    a.details["acceleration_g"].as_f64().unwrap_or(0.0),
                    a.score
                );
            }
        }
        pipe.set_state(gst::State::Null).unwrap();
        total_frames += seq;
        total_time += busy;
        let inc = truth["incidents"].as_array().unwrap();
        let want: Vec<String> = inc
            .iter()
            .map(|i| {
                format!(
                    "start={} floor={} col={} size={}",
                    i["start_ms"], i["origin"]["floor"], i["origin"]["column"], i["size_px"]
                )
            })
            .collect();
        eprintln!("{stem}: {seq} frames, {n_alerts} alerts; truth {want:?} negatives {} ({:.1} ms/frame, {:.1}s)", truth["negatives"], busy * 1000.0 / seq.max(1) as f64, t0.elapsed().as_secs_f64());
    }
    eprintln!(
        "analysis {:.2} ms/frame over {total_frames} frames",
        total_time * 1000.0 / total_frames.max(1) as f64
    );
}

fn cpu_now() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}
