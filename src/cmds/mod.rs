//! The bodies of the `estatewatch` subcommands, one file each with its
//! flags (`Args`) and its `run`, which returns the process's exit code.
//! `main.rs` only parses the command line and calls them. Errors are reported
//! here with `anyhow`; library modules return their own `thiserror` enums.

pub mod check_config;
pub mod detect;
pub mod manpage;
pub mod outbox;
pub mod reload;
pub mod replay;
pub mod run;
pub mod send_test_alert;
pub mod serve_rtsp;
pub mod still;
pub mod watch;

use std::process::ExitCode;

/// Exit 0, or print the error with its causes (`estatewatch: ...`) and exit 1.
pub fn exit_on(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("estatewatch: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr at `info`, or as `ESTATEWATCH_LOG` (a `tracing` filter)
/// says; `format` is `text` or `json`.
pub fn init_logging(format: &str) {
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
