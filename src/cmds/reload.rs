//! `estatewatch reload`: checks a config file as `check-config` does, then
//! asks the daemon running with it to re-read it (SIGHUP).

use super::{check_config, exit_on};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Config file; must be the file the daemon was started with.
    #[arg(long, short)]
    config: PathBuf,
}

/// Exits 2 when the file is invalid (the daemon is not signalled), 1 when no
/// daemon runs with it.
pub fn run(args: &Args) -> ExitCode {
    match check_config::check(&args.config) {
        c if c != ExitCode::SUCCESS => c,
        _ => exit_on(estatewatch::daemon::request_reload(&args.config)),
    }
}
