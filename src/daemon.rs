//! `estatewatch run`: wires ingest, analysis, alerts and delivery together.

use std::path::Path;

/// Loads the config at `path` and runs the daemon until SIGINT or SIGTERM.
pub fn run_from_file(path: &Path) -> anyhow::Result<()> {
    let _config = crate::config::Config::load(path)?;
    anyhow::bail!("the daemon is not wired yet")
}
