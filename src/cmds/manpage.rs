//! `estatewatch manpage` (hidden): writes the man pages, `estatewatch.1` and
//! one per command, made from the clap definitions; `scripts/build-deb.sh`
//! ships them in the package.

use super::exit_on;
use anyhow::Context;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Output folder.
    #[arg(long)]
    out_dir: PathBuf,
}

/// Writes the pages of `cli` (the whole command line) into `args.out_dir`.
pub fn run(args: &Args, cli: clap::Command) -> ExitCode {
    exit_on(manpage(&args.out_dir, cli))
}

fn manpage(dir: &std::path::Path, cli: clap::Command) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    clap_mangen::generate_to(cli, dir)
        .with_context(|| format!("cannot write the man pages to {}", dir.display()))
}
