//! `estatewatch detect`: runs one model on image files and prints what it
//! finds as JSON lines, so integrators can check a model and its manifest.

use super::exit_on;
use anyhow::Context;
use estatewatch::analysis::detector::{Models, Task};
use estatewatch::config::Config;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Model name: a folder under the models directory.
    #[arg(long)]
    model: String,
    /// Folder of model folders. Default: the config's runtime.models_dir, else
    /// `models/` beside the project, else /usr/share/estatewatch/models.
    #[arg(long)]
    models_dir: Option<PathBuf>,
    /// Take `[runtime]` settings (library, threads, models_dir) from this config file.
    #[arg(long)]
    config: Option<PathBuf>,
    /// ONNX Runtime library. Default: as for the daemon.
    #[arg(long)]
    onnxruntime: Option<PathBuf>,
    /// Intra-op threads for the session. Default: the config's, else 1.
    #[arg(long)]
    threads: Option<u16>,
    /// Minimum score for detectors. Default: the manifest's (0.35 unless it says).
    #[arg(long)]
    score: Option<f32>,
    /// How many classes a classifier reports.
    #[arg(long, default_value_t = 5)]
    top: usize,
    /// Also write each image with its detection boxes drawn to DIR/<name>.jpg (detectors only).
    #[arg(long)]
    out: Option<PathBuf>,
    /// JPEG or PNG files.
    #[arg(required = true)]
    images: Vec<PathBuf>,
}

pub fn run(args: &Args) -> ExitCode {
    exit_on(detect(args))
}

fn detect(args: &Args) -> anyhow::Result<()> {
    let mut runtime = match &args.config {
        Some(path) => Config::load(path)?.runtime,
        None => Default::default(),
    };
    if args.models_dir.is_some() {
        runtime.models_dir = args.models_dir.clone();
    }
    if args.onnxruntime.is_some() {
        runtime.onnxruntime = args.onnxruntime.clone();
    }
    if args.threads.is_some() {
        runtime.intra_op_threads = args.threads;
    }
    let models = Models::load(&runtime, &[args.model.as_str()])?;
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create --out folder {}", dir.display()))?;
    }
    let round = |v: f32, places: i32| {
        let k = 10f64.powi(places);
        (v as f64 * k).round() / k
    };
    let mut failed = 0;
    for path in &args.images {
        let shown = path.display().to_string();
        let img = match image::open(path) {
            Ok(i) => i.to_rgb8(),
            Err(e) => {
                eprintln!("estatewatch: {shown}: cannot decode image: {e}");
                failed += 1;
                continue;
            }
        };
        let (w, h) = img.dimensions();
        match models.task(&args.model) {
            Some(Task::Detector) => {
                let d = models.get_detector(&args.model)?;
                let mut params = d.default_params().clone();
                if let Some(s) = args.score {
                    params.score_threshold = s;
                }
                let dets = d.detect_with(img.as_raw(), w, h, None, &params)?;
                for det in &dets {
                    let line = json!({
                        "image": shown,
                        "class": det.class,
                        "class_id": det.class_id,
                        "score": round(det.score, 4),
                        "box": [round(det.x1, 1), round(det.y1, 1), round(det.x2, 1), round(det.y2, 1)],
                    });
                    println!("{line}");
                }
                tracing::info!(image = %shown, width = w, height = h, detections = dets.len(), "detected");
                if let Some(dir) = &args.out {
                    let file = dir.join(annotated_name(path));
                    write_annotated(img, &dets, &file)
                        .with_context(|| format!("cannot write {}", file.display()))?;
                }
            }
            Some(Task::Classifier) => {
                let c = models.get_classifier(&args.model)?;
                let r = c.classify(img.as_raw(), w, h, None)?;
                let top: Vec<_> = r
                    .top(args.top)
                    .into_iter()
                    .map(|s| json!({"class_id": s.class_id, "class": s.class, "score": round(s.score, 4)}))
                    .collect();
                let groups: serde_json::Map<String, serde_json::Value> = r
                    .groups()
                    .into_iter()
                    .map(|(g, s)| (g, json!(round(s, 4))))
                    .collect();
                println!("{}", json!({"image": shown, "top": top, "groups": groups}));
            }
            None => anyhow::bail!("model {} was not loaded", args.model),
        }
    }
    if failed > 0 {
        anyhow::bail!(
            "{failed} of {} image(s) could not be read",
            args.images.len()
        );
    }
    Ok(())
}

/// `dir/dog.jpg` -> `dog.jpg` (always a .jpg).
fn annotated_name(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "image".into());
    PathBuf::from(format!("{stem}.jpg"))
}

fn write_annotated(
    mut img: image::RgbImage,
    dets: &[estatewatch::analysis::detector::Detection],
    file: &Path,
) -> anyhow::Result<()> {
    use estatewatch::alert::snapshot::{draw_box, encode};
    const PALETTE: [[u8; 3]; 6] = [
        [255, 40, 40],
        [40, 200, 40],
        [40, 120, 255],
        [255, 200, 0],
        [200, 40, 255],
        [0, 220, 220],
    ];
    let (w, h) = img.dimensions();
    for d in dets {
        let colour = image::Rgb(PALETTE[d.class_id % PALETTE.len()]);
        draw_box(&mut img, d.bbox(w, h), colour, 2);
    }
    std::fs::write(file, encode(&img)?.data)?;
    Ok(())
}
