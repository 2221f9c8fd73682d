//! The `estatewatch` command line: `run`, `check-config`, and the tools
//! installers and integrators use. Errors are reported here with `anyhow`;
//! library modules return their own `thiserror` enums.

use clap::{Parser, Subcommand};
use estatewatch::config::{Config, ConfigError};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "estatewatch",
    version,
    about = "Edge video alerting for residential estates"
)]
struct Cli {
    /// Log format: `text` for terminals, `json` for log collectors.
    #[arg(long, global = true, default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon.
    Run {
        /// Config file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Validate a config file and print every problem; exits 2 when invalid.
    CheckConfig {
        /// Config file.
        file: PathBuf,
    },
    /// Subscribe to this gateway's topics and print alerts as staff receive them.
    Watch {
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
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.log_format);
    match cli.command {
        Command::CheckConfig { file } => check_config(&file),
        Command::Run { config } => exit_on(estatewatch::daemon::run_from_file(&config)),
        Command::Watch {
            config,
            snapshots,
            count,
            seconds,
        } => exit_on(watch(&config, snapshots, count, seconds)),
    }
}

fn exit_on(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("estatewatch: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn watch(
    config: &std::path::Path,
    snapshots: Option<PathBuf>,
    count: u64,
    seconds: Option<u64>,
) -> anyhow::Result<()> {
    let config = Config::load(config)?;
    let options = estatewatch::watch::WatchOptions {
        snapshots,
        count,
        duration: seconds.map(std::time::Duration::from_secs),
    };
    estatewatch::watch::watch(&config, &options)?;
    Ok(())
}

fn check_config(file: &std::path::Path) -> ExitCode {
    match Config::load(file) {
        Ok(c) => {
            println!(
                "{}: ok ({} camera(s), {} enabled)",
                file.display(),
                c.cameras.len(),
                c.enabled_cameras().count()
            );
            ExitCode::SUCCESS
        }
        Err(ConfigError::Invalid { path, problems }) => {
            eprintln!("{}: {} problem(s)", path.display(), problems.len());
            for p in problems {
                eprintln!("  {p}");
            }
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

fn init_logging(format: &str) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("ESTATEWATCH_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}
