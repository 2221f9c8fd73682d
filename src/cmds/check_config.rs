//! `estatewatch check-config`: validates a config file, printing every
//! problem, then builds each enabled camera's analyzers (models included).

use super::EXIT_INVALID_CONFIG;
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
        None => ExitCode::from(super::EXIT_USAGE),
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
                return report(&format!("{}:", file.display()), &setup.problems);
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
            report(&format!("{}: not valid:", path.display()), &problems)
        }
        Err(ConfigError::Invalid { path, problems }) => {
            report(&format!("{}:", path.display()), &problems)
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(EXIT_INVALID_CONFIG)
        }
    }
}

/// Prints `<header> N problem(s)` and each problem indented; exits 2.
fn report(header: &str, problems: &[impl std::fmt::Display]) -> ExitCode {
    eprintln!("{header} {} problem(s)", problems.len());
    for p in problems {
        eprintln!("  {p}");
    }
    ExitCode::from(EXIT_INVALID_CONFIG)
}
