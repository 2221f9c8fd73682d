//! `estatewatch selftest`: asks the daemon running with a config to run
//! every camera's self-test now (SIGUSR1), instead of waiting for its time
//! of day.

use super::exit_on;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Config file; must be the file the daemon was started with.
    #[arg(long, short)]
    config: PathBuf,
}

/// Exits 1 when no daemon runs with the config, 2 when it cannot be read.
pub fn run(args: &Args) -> ExitCode {
    exit_on(estatewatch::daemon::request_selftest(&args.config))
}
