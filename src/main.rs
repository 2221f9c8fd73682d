//! The `estatewatch` command line: `run`, `check-config`, and the tools
//! installers and integrators use. Errors are reported here with `anyhow`;
//! library modules return their own `thiserror` enums.

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
    /// Validate a config file and print every problem; exits 2 when invalid.
    CheckConfig {
        /// Config file.
        file: PathBuf,
    },
    /// Render test clips with ground truth (see docs/scenes.md).
    Scenegen(ScenegenArgs),
    /// Score replayed alerts against ground truth; exits 1 when a threshold fails.
    Score(ScoreArgs),
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
        Command::Run { config } => exit_on(estatewatch::daemon::run_from_file(&config)),
        Command::Scenegen(args) => exit_on(scenegen(args)),
        Command::Score(args) => score(args),
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

fn check_config(file: &std::path::Path) -> ExitCode {
    match Config::load(file) {
        Ok(c) => {
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
