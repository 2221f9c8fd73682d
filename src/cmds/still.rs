//! `estatewatch still`: one frame from a configured camera with its zones,
//! masks and facade grid drawn, for calibration (see [`estatewatch::still`]).

use super::with_config;
use estatewatch::config::Config;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Config file.
    #[arg(long, short)]
    config: PathBuf,
    /// The camera to take the frame from.
    #[arg(long)]
    camera: String,
    /// The annotated picture (PNG).
    #[arg(long, value_name = "OUT.png")]
    out: PathBuf,
    /// Also write the plain frame here.
    #[arg(long, value_name = "RAW.png")]
    raw: Option<PathBuf>,
    /// Seconds to wait for the camera's first frames.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=600))]
    timeout_s: u64,
}

pub fn run(args: &Args) -> ExitCode {
    with_config(&args.config, |config| still(args, config))
}

fn still(args: &Args, config: &Config) -> anyhow::Result<()> {
    let options = estatewatch::still::StillOptions {
        out: args.out.clone(),
        raw: args.raw.clone(),
        timeout: std::time::Duration::from_secs(args.timeout_s),
        text: estatewatch::alert::caption::PictureText {
            timezone: config.site.timezone,
            lang: config.site.lang,
        },
    };
    println!(
        "{}",
        estatewatch::still::still(&config.cameras, &config.runtime, &args.camera, &options)?
    );
    Ok(())
}
