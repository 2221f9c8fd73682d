//! `estatewatch replay`: one camera's analysis over a recorded clip at full
//! speed, each alert printed as a JSON line (see [`estatewatch::replay`]).

use super::with_config;
use estatewatch::config::Config;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Config file.
    #[arg(long, short)]
    config: PathBuf,
    /// The camera whose analyzers and detect size to use.
    #[arg(long)]
    camera: String,
    /// Save each alert's annotated JPEG here as <alert id>.jpg, captioned
    /// with the camera's display name and the site-local time.
    #[arg(long)]
    snapshots: Option<PathBuf>,
    /// Write the frames with motion, tracks, zones and alert boxes drawn
    /// to this MP4 (H.264).
    #[arg(long, value_name = "OUT.mp4")]
    debug_video: Option<PathBuf>,
    /// Print on stderr why each alert was raised and each candidate was
    /// rejected: every cue's value and the threshold it was compared with.
    #[arg(long)]
    explain: bool,
    /// The clip (anything GStreamer's decodebin reads).
    clip: PathBuf,
}

pub fn run(args: &Args) -> ExitCode {
    with_config(&args.config, |config| replay(args, config))
}

fn replay(args: &Args, config: &Config) -> anyhow::Result<()> {
    let options = estatewatch::replay::ReplayOptions {
        snapshots: args.snapshots.clone(),
        debug_video: args.debug_video.clone(),
        progress: true,
        explain: args.explain,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let summary = estatewatch::replay::replay(
        estatewatch::replay::ReplaySections {
            site: &config.site.id,
            gateway: &config.gateway.id,
            runtime: &config.runtime,
            cameras: &config.cameras,
            pictures: estatewatch::alert::caption::PictureText {
                timezone: config.site.timezone,
                lang: config.site.lang,
            },
        },
        &args.camera,
        &args.clip,
        &options,
        &mut out,
    )?;
    std::io::Write::flush(&mut out)?;
    tracing::info!(
        frames = summary.frames,
        alerts = summary.alerts,
        "replay finished"
    );
    Ok(())
}
