//! `estatewatch check-config`: validates a config file, printing every
//! problem, then builds each enabled camera's analyzers (models included).

use super::EXIT_INVALID_CONFIG;
use estatewatch::config::{check_file, CheckError, Checked, ConfigError};
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

/// Exits 0 when `file` is valid and its analyzers build, 2 when not. The
/// checks are [`estatewatch::config::check_file`]'s (the web console's
/// calibration page runs the same ones before it writes the file).
pub fn check(file: &Path) -> ExitCode {
    let warn = |warnings: &[String]| {
        for w in warnings {
            eprintln!("  warning: {w}");
        }
    };
    match check_file(file) {
        Ok(Checked {
            config: c,
            warnings,
        }) => {
            warn(&warnings);
            println!(
                "{}: ok ({} camera(s), {} enabled)",
                file.display(),
                c.cameras.len(),
                c.enabled_cameras().count()
            );
            ExitCode::SUCCESS
        }
        Err(CheckError::Setup {
            problems, warnings, ..
        }) => {
            warn(&warnings);
            report(&format!("{}:", file.display()), &problems)
        }
        Err(CheckError::Load(ConfigError::Syntax { path, problems })) => {
            report(&format!("{}: not valid:", path.display()), &problems)
        }
        Err(CheckError::Load(ConfigError::Invalid { path, problems })) => {
            report(&format!("{}:", path.display()), &problems)
        }
        Err(CheckError::Load(e)) => {
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
