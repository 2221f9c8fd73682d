//! Local tuning harness (not committed): replays rendered shed clips through
//! the fire analyzer and scores like the scorecard. Usage:
//!   cargo run --example fire_tune -- DIR [--no-masks] [--extra 'toml lines'] [--only NAME] [-v]
use estatewatch::analysis::fire::FireAnalyzer;
use estatewatch::analysis::Analyzer;
use estatewatch::config::FireConfig;
use estatewatch::ingest::file::FileReader;
use std::path::PathBuf;

fn poly(v: &serde_json::Value) -> String {
    let pts: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("[{}, {}]", p[0], p[1]))
        .collect();
    format!("[{}]", pts.join(", "))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(&args[1]);
    let masks = !args.contains(&"--no-masks".to_string());
    let verbose = args.contains(&"-v".to_string());
    let extra = args
        .iter()
        .position(|a| a == "--extra")
        .map(|i| args[i + 1].clone())
        .unwrap_or_default();
    let dump: Vec<i64> = args
        .iter()
        .position(|a| a == "--dump")
        .map(|i| args[i + 1].split(',').map(|v| v.parse().unwrap()).collect())
        .unwrap_or_default();
    if std::env::var("RUST_LOG").is_ok() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .without_time()
            .with_target(false)
            .with_ansi(false)
            .init();
    }
    let only = args
        .iter()
        .position(|a| a == "--only")
        .map(|i| args[i + 1].clone());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut delays: std::collections::BTreeMap<&str, Vec<i64>> = Default::default();
    let mut stats: std::collections::BTreeMap<&str, (u32, u32, u32)> = Default::default(); // tp, fn, fp
    let mut neg_fp = 0;
    for f in files {
        let stem = f.file_stem().unwrap().to_string_lossy().to_string();
        if let Some(o) = &only {
            if !stem.contains(o.as_str()) {
                continue;
            }
        }
        let truth: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        let cal = &truth["calibration"];
        let mut cfg = String::new();
        cfg.push_str(&extra);
        cfg.push_str("\nzones = [");
        for z in cal["zones"].as_array().unwrap() {
            cfg.push_str(&format!(
                "{{ name = {}, polygon = {} }},",
                z["name"],
                poly(&z["polygon"])
            ));
        }
        cfg.push_str("]\n");
        if masks {
            cfg.push_str("masks = [");
            for (i, z) in cal["lights"].as_array().unwrap().iter().enumerate() {
                cfg.push_str(&format!(
                    "{{ name = \"{}{i}\", polygon = {} }},",
                    z["name"].as_str().unwrap(),
                    poly(&z["polygon"])
                ));
            }
            cfg.push_str("]\n");
        }
        let fc: FireConfig = toml::from_str(&cfg).unwrap_or_else(|e| panic!("{e}\n{cfg}"));
        let fps = truth["fps"].as_u64().unwrap() as u32;
        let mut a = FireAnalyzer::new(&fc, fps);
        let reader = FileReader::open(&f.with_extension("mp4"), &stem, 640, 360, fps).unwrap();
        let mut news = Vec::new();
        let mut log = Vec::new();
        for fr in reader {
            let fr = fr.unwrap();
            let t = fr.pts.unwrap().as_millis() as i64;
            if dump.iter().any(|d| (t - d).abs() < 50) {
                let img = image::RgbImage::from_raw(fr.width, fr.height, fr.rgb.to_vec()).unwrap();
                std::fs::create_dir_all("/tmp/fire-tune/dump").unwrap();
                img.save(format!("/tmp/fire-tune/dump/{stem}-{t}.png"))
                    .unwrap();
            }
            for x in a.process(&fr) {
                log.push(format!(
                    "    {t:>6} {} {:?} {:?} {}",
                    x.kind.as_str(),
                    x.state,
                    x.bbox.map(|b| (b.x, b.y, b.w, b.h)),
                    x.details
                ));
                if x.state == estatewatch::alert::AlertState::New {
                    news.push((x.kind.as_str(), t));
                }
            }
        }
        let incidents: Vec<(String, i64, i64)> = truth["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["kind"].as_str().unwrap().to_string(),
                    i["start_ms"].as_i64().unwrap(),
                    i["end_ms"].as_i64().unwrap(),
                )
            })
            .collect();
        let mut verdict = String::new();
        for kind in ["fire", "smoke"] {
            let inc: Vec<_> = incidents.iter().filter(|i| i.0 == kind).collect();
            let al: Vec<i64> = news.iter().filter(|n| n.0 == kind).map(|n| n.1).collect();
            let e = stats.entry(kind).or_default();
            for i in &inc {
                match al.iter().find(|&&t| t + 1000 >= i.1 && t <= i.2 + 10_000) {
                    Some(t) => {
                        e.0 += 1;
                        delays.entry(kind).or_default().push(t - i.1);
                        verdict.push_str(&format!(" {kind}:+{:.1}s", (t - i.1) as f64 / 1000.0));
                    }
                    None => {
                        e.1 += 1;
                        verdict
                            .push_str(&format!(" {kind}:MISS(start {:.1})", i.1 as f64 / 1000.0));
                    }
                }
            }
            for &t in &al {
                if !inc.iter().any(|i| t + 1000 >= i.1 && t <= i.2 + 10_000) {
                    e.2 += 1;
                    verdict.push_str(&format!(" {kind}:FP@{:.1}", t as f64 / 1000.0));
                    if inc.is_empty() && incidents.is_empty() {
                        neg_fp += 1;
                    }
                }
            }
        }
        let inc_s: String = incidents
            .iter()
            .map(|i| format!(" {}@{:.1}", i.0, i.1 as f64 / 1000.0))
            .collect();
        println!(
            "{stem:<22} {:<5} {:<16}{verdict}",
            truth["variant"].as_str().unwrap(),
            truth["negatives"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect::<Vec<_>>()
                .join(",")
        );
        if verbose {
            println!("    truth:{inc_s}");
        }
        if verbose {
            for l in log {
                println!("{l}");
            }
        }
    }
    for (k, (tp, fnn, fp)) in &stats {
        let mut d = delays.get(k).cloned().unwrap_or_default();
        d.sort();
        let pct = |p: f64| {
            if d.is_empty() {
                0
            } else {
                d[((p * d.len() as f64).ceil() as usize).clamp(1, d.len()) - 1]
            }
        };
        println!(
            "{k}: tp {tp} fn {fnn} fp {fp} recall {:.3} delay p50 {} p95 {} ms",
            *tp as f64 / (*tp + *fnn).max(1) as f64,
            pct(0.5),
            pct(0.95)
        );
    }
    println!("false alerts on negative clips: {neg_fp}");
}
