//! What the `scenegen` and `score` binaries share: the `--log-format` flag
//! and logging set up as the daemon's (stderr, `ESTATEWATCH_LOG` filter).

/// Log format: `text` for terminals, `json` for log collectors.
#[derive(clap::Args)]
pub struct LogArgs {
    /// Log format: `text` for terminals, `json` for log collectors.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
}

/// Logs to stderr at `info`, or as `ESTATEWATCH_LOG` (a `tracing` filter) says.
pub fn init_logging(args: &LogArgs) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("ESTATEWATCH_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if args.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}
