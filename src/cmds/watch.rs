//! `estatewatch watch`: subscribes to the gateway's topics and prints alerts
//! as staff receive them (see [`estatewatch::watch`]).

use super::with_config;
use estatewatch::config::Config;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Config file (its [mqtt] and gateway id are used).
    #[arg(long, short)]
    config: PathBuf,
    /// Save each alert's snapshot in this folder.
    #[arg(long)]
    snapshots: Option<PathBuf>,
    /// Stop after this many alerts.
    #[arg(long, default_value_t = 0)]
    count: u64,
    /// Stop after this many seconds.
    #[arg(long)]
    seconds: Option<u64>,
}

pub fn run(args: &Args) -> ExitCode {
    with_config(&args.config, |config| watch(args, config))
}

fn watch(args: &Args, config: &Config) -> anyhow::Result<()> {
    let options = estatewatch::watch::WatchOptions {
        snapshots: args.snapshots.clone(),
        count: args.count,
        duration: args.seconds.map(std::time::Duration::from_secs),
        timezone: config.site.timezone,
    };
    estatewatch::watch::watch(&config.mqtt, &config.gateway.id, &options)?;
    Ok(())
}
