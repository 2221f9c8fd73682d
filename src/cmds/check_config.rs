//! `estatewatch check-config`: validates a config file, printing every
//! problem, then builds each enabled camera's analyzers (models included).

use estatewatch::config::{Config, ConfigError};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Config file (as for the other commands).
    #[arg(long, short, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Config file, given without `--config`.
    #[arg(
        value_name = "FILE",
        required_unless_present = "config",
        conflicts_with = "config"
    )]
    file: Option<PathBuf>,
}

pub fn run(args: &Args) -> ExitCode {
    match args.config.as_ref().or(args.file.as_ref()) {
        Some(file) => check(file),
        // clap requires one of the two.
        None => ExitCode::from(64),
    }
}

/// Exits 0 when `file` is valid and its analyzers build, 2 when not.
pub fn check(file: &Path) -> ExitCode {
    match Config::load(file) {
        Ok(c) => {
            // The file is valid; now build what it asks for, models included.
            let setup = estatewatch::analysis::check_setup(&c.runtime, &c.cameras);
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
        Err(ConfigError::Syntax { path, problems }) => {
            eprintln!(
                "{}: not valid: {} problem(s)",
                path.display(),
                problems.len()
            );
            for p in problems {
                eprintln!("  {p}");
            }
            ExitCode::from(2)
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
