//! `scenegen`: renders test clips with ground truth (one clip, a whole suite,
//! or real footage entered into a suite folder), optionally with a replay
//! config per clip. See `docs/scenes.md`.

mod common;

use anyhow::Context;
use clap::Parser;
use estatewatch_scenes::{self as scenes, suite, ClipSpec, Kind, Params};
use std::path::PathBuf;
use std::process::ExitCode;

/// Render test clips with ground truth (see docs/scenes.md).
#[derive(Parser)]
#[command(name = "scenegen", version)]
struct Args {
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
    /// Parameters as key=value,... (size_px, floor, column, style, px_per_m, dwell_s, removed_after_s, duration_s, bitrate_kbps, bag_depth, bag_scale, crouch_s, crouchers, shake_px, drift_px, texture, late_s, push_widths, push_deg, bin_colour, bag_by_bin).
    #[arg(long)]
    params: Option<String>,
    /// Clip name (default <kind>-<seed>).
    #[arg(long)]
    name: Option<String>,
    /// Render a whole suite: `default`, `hard` or `smoke`. Clips already rendered by this generator version are reused.
    #[arg(long)]
    suite: Option<String>,
    /// Enter a real video (no incidents) into the output folder; repeatable.
    #[arg(long)]
    real: Vec<PathBuf>,
    /// With --real: its replay config turns on every incident analyzer over
    /// the whole frame (throwing facade and fire zone over the frame, garbage
    /// zone over the lower half), as the `hard` suite does.
    #[arg(long, requires = "real")]
    all_analyzers: bool,
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
    #[command(flatten)]
    log: common::LogArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    common::init_logging(&args.log);
    match scenegen(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scenegen: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn scenegen(a: Args) -> anyhow::Result<()> {
    if a.cache_key {
        println!("{}", scenes::cache_key());
        return Ok(());
    }
    let out_dir = a.out.clone().context("give --out DIR")?;
    let write_configs = |truths: &[scenes::Truth]| -> anyhow::Result<()> {
        if !a.configs {
            return Ok(());
        }
        for t in truths {
            scenes::camera_config::write_replay_config(t, &out_dir)?;
        }
        Ok(())
    };
    if !a.real.is_empty() {
        let mut truths = Vec::new();
        for v in &a.real {
            let t = suite::add_real_clip(v, &out_dir, a.all_analyzers)?;
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
    let t = scenes::render_clip(&spec, &out_dir, 1)?;
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
