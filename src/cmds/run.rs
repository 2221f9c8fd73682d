//! `estatewatch run`: the daemon, until SIGINT/SIGTERM (see
//! [`estatewatch::daemon`]).

use super::exit_on;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Config file.
    #[arg(long, short)]
    config: PathBuf,
}

pub fn run(args: &Args) -> ExitCode {
    exit_on(estatewatch::daemon::run_from_file(&args.config))
}
