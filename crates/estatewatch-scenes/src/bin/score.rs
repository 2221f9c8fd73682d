//! `score`: scores replayed alerts against the ground truth of a folder of
//! clips and prints the scorecard; exits 1 when a threshold is broken, 2 on
//! bad input. See `docs/scenes.md`, "Scorecard".

mod common;

use clap::Parser;
use estatewatch_scenes::score;
use std::path::PathBuf;
use std::process::ExitCode;

/// Score replayed alerts against ground truth; exits 1 when a threshold fails.
#[derive(Parser)]
#[command(name = "score", version)]
struct Args {
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
    #[command(flatten)]
    log: common::LogArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    common::init_logging(&args.log);
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("score: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Prints the scorecard; false when a threshold is broken.
fn run(a: &Args) -> anyhow::Result<bool> {
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
}
