//! The `estatewatch` command line: `run`, `check-config`, and the tools
//! installers and integrators use. Errors are reported here with `anyhow`;
//! library modules return their own `thiserror` enums.

use anyhow::Context;
use clap::{Parser, Subcommand};
use estatewatch::config::{Config, ConfigError};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "estatewatch",
    version,
    about = "Edge video alerting for residential estates"
)]
struct Cli {
    /// Log format: `text` for terminals, `json` for log collectors.
    #[arg(long, global = true, default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon.
    Run {
        /// Config file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Validate a config file, then tell the daemon using it (found by its
    /// outbox lock) to reload it (SIGHUP). Exits 2 when the file is invalid
    /// (the daemon is not signalled), 1 when no daemon runs.
    Reload {
        /// Config file; must be the file the daemon was started with.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Validate a config file and print every problem, then build each enabled
    /// camera's analyzers (loading the models they name); exits 2 when invalid.
    CheckConfig {
        /// Config file.
        file: PathBuf,
    },
    /// Subscribe to this gateway's topics and print alerts as staff receive them.
    Watch {
        /// Config file (its [mqtt] and gateway id are used).
        #[arg(long, short)]
        config: PathBuf,
        /// Save each alert's snapshot in this folder.
        #[arg(long)]
        snapshots: Option<PathBuf>,
        /// Stop after this many alerts.
        #[arg(long, default_value_t = 0)]
        count: u64,
        /// Stop after this many seconds.
        #[arg(long)]
        seconds: Option<u64>,
    },
    /// Render test clips with ground truth (see docs/scenes.md).
    Scenegen(ScenegenArgs),
    /// Score replayed alerts against ground truth; exits 1 when a threshold fails.
    Score(ScoreArgs),
    /// Run one model on image files and print what it finds as JSON lines:
    /// `{"image", "class", "class_id", "score", "box": [x1, y1, x2, y2]}` per
    /// detection (pixels), or `{"image", "top": [...], "groups": {...}}` for a
    /// classifier. Integrators use it to check a model and its manifest.
    Detect(DetectArgs),
    /// Run one camera's analysis over a recorded clip as fast as possible and
    /// print each alert as a JSON line (MQTT schema). Publishes nothing.
    Replay {
        /// Config file.
        #[arg(long, short)]
        config: PathBuf,
        /// The camera whose analyzers and detect size to use.
        #[arg(long)]
        camera: String,
        /// Save each alert's annotated JPEG here as <alert id>.jpg.
        #[arg(long)]
        snapshots: Option<PathBuf>,
        /// Write the frames with motion, tracks, zones and alert boxes drawn
        /// to this MP4 (H.264).
        #[arg(long, value_name = "OUT.mp4")]
        debug_video: Option<PathBuf>,
        /// The clip (anything GStreamer's decodebin reads).
        clip: PathBuf,
    },
    /// Take one frame from a configured camera (connecting as the daemon
    /// does) and write it with every zone, mask and facade grid of its config
    /// drawn, and a labelled 0..1 coordinate grid, for calibration.
    Still {
        /// Config file.
        #[arg(long, short)]
        config: PathBuf,
        /// The camera to take the frame from.
        #[arg(long)]
        camera: String,
        /// The annotated picture (PNG).
        #[arg(long, value_name = "OUT.png")]
        out: PathBuf,
        /// Also write the plain frame here.
        #[arg(long, value_name = "RAW.png")]
        raw: Option<PathBuf>,
        /// Seconds to wait for the camera's first frames.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=600))]
        timeout_s: u64,
    },
    /// Serve video files as looping RTSP cameras on 127.0.0.1 (for demos and
    /// trials): `serve-rtsp --port 8554 tower=tower.mp4 shed=shed.mp4`.
    ServeRtsp {
        /// Port to listen on (0: any free port, printed at start).
        #[arg(long, default_value_t = 8554)]
        port: u16,
        /// MOUNT=FILE pairs; each file is served at rtsp://127.0.0.1:PORT/MOUNT.
        #[arg(required = true)]
        streams: Vec<String>,
    },
    /// Inspect or empty the outbox of undelivered alerts.
    Outbox {
        /// The outbox database (outbox.path in the config).
        #[arg(long)]
        db: PathBuf,
        /// Print JSON instead of text.
        #[arg(long, global = true)]
        json: bool,
        #[command(subcommand)]
        action: OutboxAction,
    },
    /// Queue a `test` alert through the outbox and wait for the broker to acknowledge it.
    SendTestAlert {
        /// Config file.
        #[arg(long, short)]
        config: PathBuf,
        /// How many test alerts to queue.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        count: u32,
        /// Seconds to wait for the broker's acknowledgement.
        #[arg(long, default_value_t = 10)]
        timeout_s: u64,
    },
    /// Write the man pages (estatewatch.1 and one per command) to a folder;
    /// used by scripts/build-deb.sh.
    #[command(hide = true)]
    Manpage {
        /// Output folder.
        #[arg(long)]
        out_dir: PathBuf,
    },
}

#[derive(clap::Args)]
struct DetectArgs {
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

#[derive(Subcommand)]
enum OutboxAction {
    /// Counts by delivery state, kind and severity; oldest age; size; counters.
    Stats,
    /// The oldest undelivered alerts (without payloads).
    List {
        /// How many rows to show.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Delete every undelivered alert (counted as `purged`).
    Purge {
        /// Really delete; without it, only say how many would go.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(clap::Args)]
struct ScenegenArgs {
    /// What to render: an incident (throwing, fire, smoke, fire_smoke, garbage) or a negative (bird_level, rain, orange_jacket, person_standing, ...).
    #[arg(long, conflicts_with_all = ["suite", "real"])]
    kind: Option<String>,
    /// Seed of the clip.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// `day`, `night` or `ir` (default per scene).
    #[arg(long)]
    variant: Option<String>,
    /// Frame size as WIDTHxHEIGHT (default 640x360).
    #[arg(long)]
    size: Option<String>,
    /// Frames per second (default per scene: tower 15, shed 10, bin room 5).
    #[arg(long)]
    fps: Option<u32>,
    /// Extra negatives of the same scene, comma-separated (e.g. bird_level,rain).
    #[arg(long)]
    with: Option<String>,
    /// Parameters as key=value,... (size_px, floor, column, style, px_per_m, dwell_s, removed_after_s, duration_s, bitrate_kbps).
    #[arg(long)]
    params: Option<String>,
    /// Clip name (default <kind>-<seed>).
    #[arg(long)]
    name: Option<String>,
    /// Render a whole suite: `default` or `smoke`. Clips already rendered by this generator version are reused.
    #[arg(long)]
    suite: Option<String>,
    /// Enter a real video (no incidents) into the output folder; repeatable.
    #[arg(long)]
    real: Vec<PathBuf>,
    /// Also write <clip>.toml, a replay config made from each clip's calibration.
    #[arg(long)]
    configs: bool,
    /// Re-render even when cached.
    #[arg(long)]
    force: bool,
    /// Clips rendered at once (default: the number of CPUs).
    #[arg(long)]
    jobs: Option<usize>,
    /// Print the generator's cache key (e.g. `scenegen-1`, changes whenever
    /// clips would render differently) and exit; scripts key cache folders by it.
    #[arg(long)]
    cache_key: bool,
    /// Output folder.
    #[arg(long, required_unless_present = "cache_key")]
    out: Option<PathBuf>,
}

#[derive(clap::Args)]
struct ScoreArgs {
    /// Folder of ground-truth files (<clip>.json).
    #[arg(long)]
    truth: PathBuf,
    /// Alerts: a JSON-lines file whose `camera` is the clip stem, or a folder of <clip-stem>.jsonl files.
    #[arg(long)]
    alerts: PathBuf,
    /// Print the scorecard as JSON.
    #[arg(long)]
    json: bool,
    /// Thresholds file (e.g. tests/scorecard-thresholds.toml); exit 1 when any is broken.
    #[arg(long)]
    thresholds: Option<PathBuf>,
    /// Accept alerts this many ms before an incident starts (default per kind).
    #[arg(long)]
    tolerance_before_ms: Option<u64>,
    /// Accept alerts this many ms after an incident ends (default per kind).
    #[arg(long)]
    tolerance_after_ms: Option<u64>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.log_format);
    match cli.command {
        Command::CheckConfig { file } => check_config(&file),
        Command::Reload { config } => match check_config(&config) {
            c if c != ExitCode::SUCCESS => c,
            _ => exit_on(estatewatch::daemon::request_reload(&config)),
        },
        Command::Run { config } => exit_on(estatewatch::daemon::run_from_file(&config)),
        Command::Scenegen(args) => exit_on(scenegen(args)),
        Command::Score(args) => score(args),
        Command::Watch {
            config,
            snapshots,
            count,
            seconds,
        } => exit_on(watch(&config, snapshots, count, seconds)),
        Command::Detect(args) => exit_on(detect(&args)),
        Command::Replay {
            config,
            camera,
            snapshots,
            debug_video,
            clip,
        } => exit_on(replay(&config, &camera, snapshots, debug_video, &clip)),
        Command::Still {
            config,
            camera,
            out,
            raw,
            timeout_s,
        } => exit_on(still(&config, &camera, out, raw, timeout_s)),
        Command::ServeRtsp { port, streams } => exit_on(serve_rtsp(port, &streams)),
        Command::Outbox { db, json, action } => exit_on(outbox_command(&db, json, action)),
        Command::SendTestAlert {
            config,
            count,
            timeout_s,
        } => send_test_alert(&config, count as usize, timeout_s),
        Command::Manpage { out_dir } => exit_on(manpage(&out_dir)),
    }
}

fn manpage(dir: &std::path::Path) -> anyhow::Result<()> {
    use clap::CommandFactory;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    clap_mangen::generate_to(Cli::command(), dir)
        .with_context(|| format!("cannot write the man pages to {}", dir.display()))
}

fn replay(
    config: &std::path::Path,
    camera: &str,
    snapshots: Option<PathBuf>,
    debug_video: Option<PathBuf>,
    clip: &std::path::Path,
) -> anyhow::Result<()> {
    let config = Config::load(config)?;
    let options = estatewatch::replay::ReplayOptions {
        snapshots,
        debug_video,
        progress: true,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let summary = estatewatch::replay::replay(&config, camera, clip, &options, &mut out)?;
    std::io::Write::flush(&mut out)?;
    tracing::info!(
        frames = summary.frames,
        alerts = summary.alerts,
        "replay finished"
    );
    Ok(())
}

fn still(
    config: &std::path::Path,
    camera: &str,
    out: PathBuf,
    raw: Option<PathBuf>,
    timeout_s: u64,
) -> anyhow::Result<()> {
    let config = Config::load(config)?;
    let timeout = std::time::Duration::from_secs(timeout_s);
    let options = estatewatch::still::StillOptions { out, raw, timeout };
    println!("{}", estatewatch::still::still(&config, camera, &options)?);
    Ok(())
}

fn serve_rtsp(port: u16, streams: &[String]) -> anyhow::Result<()> {
    use estatewatch::ingest::rtsp_server::RtspServer;
    let mut mounts = Vec::new();
    for s in streams {
        let (mount, file) = s
            .split_once('=')
            .with_context(|| format!("expected MOUNT=FILE, got {s:?}"))?;
        let file = PathBuf::from(file);
        anyhow::ensure!(file.is_file(), "{} is not a file", file.display());
        mounts.push((mount.trim_start_matches('/').to_string(), file));
    }
    let server = RtspServer::start(port, None)?;
    for (mount, file) in &mounts {
        server.add_file_loop(&format!("/{mount}"), file);
        println!(
            "serving {} at {}",
            file.display(),
            server.url(&format!("/{mount}"))
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        tokio::select! {
            _ = term.recv() => {},
            _ = tokio::signal::ctrl_c() => {},
        }
        Ok::<(), std::io::Error>(())
    })?;
    server.stop();
    Ok(())
}

fn outbox_command(db: &std::path::Path, json: bool, action: OutboxAction) -> anyhow::Result<()> {
    use estatewatch::delivery::outbox::{Caps, Outbox};
    // The caps only matter when inserting; these tools never insert.
    let caps = Caps {
        max_rows: u64::MAX,
        max_bytes: u64::MAX,
        ttl: None,
    };
    let mut outbox = Outbox::open(db, caps, false)?;
    match action {
        OutboxAction::Stats => {
            let s = outbox.stats()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                println!("outbox {} (schema v{})", s.path, s.schema_version);
                println!(
                    "  undelivered: {} ({} payload bytes; files {} bytes)",
                    s.rows, s.payload_bytes, s.file_bytes
                );
                let join = |m: &std::collections::BTreeMap<String, u64>| {
                    m.iter()
                        .map(|(k, v)| format!("{k} {v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                println!("  by state:    {}", join(&s.by_state));
                println!("  by kind:     {}", join(&s.by_kind));
                println!("  by severity: {}", join(&s.by_severity));
                match (&s.oldest_enqueued_at, s.oldest_age_s) {
                    (Some(at), Some(age)) => println!("  oldest:      {at} ({age:.0} s ago)"),
                    _ => println!("  oldest:      -"),
                }
                println!("  counters:    {}", join(&s.counters));
            }
        }
        OutboxAction::List { limit } => {
            let rows = outbox.list(limit)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!("seq\tid\tkind\tseverity\tenqueued_at\tattempts\tbytes");
                for r in rows {
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        r.seq, r.id, r.kind, r.severity, r.enqueued_at, r.attempts, r.bytes
                    );
                }
            }
        }
        OutboxAction::Purge { yes } => {
            let (rows, _) = outbox.totals()?;
            let purged = if yes { outbox.purge()? } else { 0 };
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "undelivered": rows, "purged": purged, "dry_run": !yes })
                );
            } else if yes {
                println!("purged {purged} undelivered alert(s)");
            } else {
                println!("{rows} undelivered alert(s) would be purged; add --yes to delete them");
            }
        }
    }
    Ok(())
}

fn send_test_alert(config: &std::path::Path, count: usize, timeout_s: u64) -> ExitCode {
    let run = || -> anyhow::Result<bool> {
        let config = Config::load(config)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let report = runtime.block_on(estatewatch::delivery::send_test_alerts(
            &config,
            count,
            std::time::Duration::from_secs(timeout_s),
        ))?;
        let topic = estatewatch::delivery::mqtt::Topics::from_config(&config)
            .alert(estatewatch::alert::AlertKind::Test);
        let via = match report.daemon {
            Some(Some(pid)) => format!("the running daemon (pid {pid})"),
            Some(None) => "the running daemon".to_string(),
            None => "this command directly (no daemon is running)".to_string(),
        };
        for id in &report.ids {
            println!("queued test alert {id} in {}", config.outbox.path.display());
        }
        if report.delivered {
            println!(
                "delivered by {via}: the broker {}:{} acknowledged {} alert(s) on {topic}",
                config.mqtt.host,
                config.mqtt.port,
                report.ids.len()
            );
        } else {
            println!(
                "NOT delivered within {timeout_s} s by {via}; the alert(s) stay in the outbox and will be sent when the broker is reachable"
            );
            if let Some(e) = report.broker_error {
                println!("broker: {e}");
            }
        }
        Ok(report.delivered)
    };
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(3),
        Err(e) => {
            eprintln!("estatewatch: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn exit_on(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("estatewatch: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn watch(
    config: &std::path::Path,
    snapshots: Option<PathBuf>,
    count: u64,
    seconds: Option<u64>,
) -> anyhow::Result<()> {
    let config = Config::load(config)?;
    let options = estatewatch::watch::WatchOptions {
        snapshots,
        count,
        duration: seconds.map(std::time::Duration::from_secs),
    };
    estatewatch::watch::watch(&config, &options)?;
    Ok(())
}

fn check_config(file: &std::path::Path) -> ExitCode {
    match Config::load(file) {
        Ok(c) => {
            // The file is valid; now build what it asks for, models included.
            let setup = estatewatch::analysis::check_setup(&c);
            for w in &setup.warnings {
                eprintln!("  warning: {w}");
            }
            if !setup.problems.is_empty() {
                eprintln!("{}: {} problem(s)", file.display(), setup.problems.len());
                for p in &setup.problems {
                    eprintln!("  {p}");
                }
                return ExitCode::from(2);
            }
            println!(
                "{}: ok ({} camera(s), {} enabled)",
                file.display(),
                c.cameras.len(),
                c.enabled_cameras().count()
            );
            ExitCode::SUCCESS
        }
        Err(ConfigError::Invalid { path, problems }) => {
            eprintln!("{}: {} problem(s)", path.display(), problems.len());
            for p in problems {
                eprintln!("  {p}");
            }
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

/// `estatewatch detect`: see [`Command::Detect`].
fn detect(args: &DetectArgs) -> anyhow::Result<()> {
    use anyhow::Context;
    use estatewatch::analysis::detector::{Models, Task};
    use serde_json::json;

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
fn annotated_name(path: &std::path::Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "image".into());
    PathBuf::from(format!("{stem}.jpg"))
}

fn write_annotated(
    mut img: image::RgbImage,
    dets: &[estatewatch::analysis::detector::Detection],
    file: &std::path::Path,
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

fn init_logging(format: &str) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("ESTATEWATCH_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn scenegen(a: ScenegenArgs) -> anyhow::Result<()> {
    use anyhow::Context;
    use estatewatch::scenes::{self, suite, ClipSpec, Kind, Params};
    if a.cache_key {
        println!("{}", scenes::cache_key());
        return Ok(());
    }
    let out_dir = a.out.clone().context("give --out DIR")?;
    let write_configs = |truths: &[scenes::Truth]| -> anyhow::Result<()> {
        if !a.configs {
            return Ok(());
        }
        let out = std::fs::canonicalize(&out_dir)
            .with_context(|| format!("{}: cannot resolve", out_dir.display()))?;
        for t in truths {
            let text = scenes::camera_config::replay_config(t, &out.join(&t.clip));
            let path = out.join(format!("{}.toml", t.stem()));
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(())
    };
    if !a.real.is_empty() {
        let mut truths = Vec::new();
        for v in &a.real {
            let t = suite::add_real_clip(v, &out_dir)?;
            println!(
                "{}: {} frames {}x{} at {} fps",
                t.clip, t.frames, t.width, t.height, t.fps
            );
            truths.push(t);
        }
        return write_configs(&truths);
    }
    if let Some(name) = &a.suite {
        let specs = suite::suite(name)?;
        let jobs = a.jobs.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        });
        let started = std::time::Instant::now();
        let total = specs.len();
        let done = std::sync::atomic::AtomicUsize::new(0);
        let report = suite::render_all(&specs, &out_dir, jobs, a.force, &|spec, cached| {
            let n = done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            tracing::debug!(clip = %spec.name, cached, "{n}/{total}");
        })?;
        eprintln!(
            "suite {name}: {} clips ({} rendered, {} cached, {} frames rendered) in {:.1} s -> {}",
            total,
            report.rendered,
            report.cached,
            report.frames_rendered,
            started.elapsed().as_secs_f64(),
            out_dir.display()
        );
        let truths: Vec<scenes::Truth> = specs
            .iter()
            .map(|s| scenes::Truth::load(&out_dir.join(format!("{}.json", s.name))))
            .collect::<Result<_, _>>()?;
        return write_configs(&truths);
    }
    let kind: Kind = a
        .kind
        .as_deref()
        .context("give --kind, --suite or --real")?
        .parse()?;
    let mut spec = ClipSpec::new(kind, a.seed);
    if let Some(v) = &a.variant {
        spec.variant = v.parse()?;
    }
    if let Some(sz) = &a.size {
        let (w, h) = sz
            .split_once('x')
            .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
            .with_context(|| {
                format!("--size: expected WIDTHxHEIGHT such as 640x360, got `{sz}`")
            })?;
        spec.width = w;
        spec.height = h;
    }
    if let Some(f) = a.fps {
        spec.fps = f;
    }
    if let Some(w) = &a.with {
        spec.with = w
            .split(',')
            .map(|s| s.trim().parse())
            .collect::<Result<_, _>>()?;
    }
    if let Some(p) = &a.params {
        spec.params = Params::parse(p)?;
    }
    if let Some(n) = &a.name {
        spec.name = n.clone();
    }
    let started = std::time::Instant::now();
    let t = scenes::render_clip(&spec, &out_dir, 2)?;
    println!(
        "{}: {} frames {}x{} at {} fps, {} incident(s), rendered in {:.2} s",
        out_dir.join(&t.clip).display(),
        t.frames,
        t.width,
        t.height,
        t.fps,
        t.incidents.len(),
        started.elapsed().as_secs_f64()
    );
    write_configs(&[t])
}

fn score(a: ScoreArgs) -> ExitCode {
    use estatewatch::score;
    let run = || -> anyhow::Result<bool> {
        let opts = score::Options {
            before_ms: a.tolerance_before_ms,
            after_ms: a.tolerance_after_ms,
        };
        let card = score::score_paths(&a.truth, &a.alerts, opts)?;
        if a.json {
            println!("{}", serde_json::to_string_pretty(&card)?);
        } else {
            print!("{}", score::render_text(&card, 10));
        }
        let Some(path) = &a.thresholds else {
            return Ok(true);
        };
        let failures = score::Thresholds::load(path)?.check(&card);
        for f in &failures {
            eprintln!("threshold broken: {f}");
        }
        if failures.is_empty() {
            eprintln!("all thresholds in {} hold", path.display());
        }
        Ok(failures.is_empty())
    };
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("estatewatch: {e:#}");
            ExitCode::from(2)
        }
    }
}
