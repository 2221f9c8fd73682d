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
pub mod selftest;
pub mod send_test_alert;
pub mod serve_rtsp;
pub mod still;
pub mod user;
pub mod watch;

use estatewatch::config::Config;
use std::path::Path;
use std::process::ExitCode;

/// Exit code when the config file is invalid or unreadable.
pub const EXIT_INVALID_CONFIG: u8 = 2;

/// Exit code of a command-line usage error (BSD `EX_USAGE`).
pub const EXIT_USAGE: u8 = 64;

/// Loads the config file at `path` and runs `command` with it; the exit
/// code as [`exit_on`] gives it (2 for a bad config file).
pub fn with_config(path: &Path, command: impl FnOnce(&Config) -> anyhow::Result<()>) -> ExitCode {
    exit_on(
        Config::load(path)
            .map_err(anyhow::Error::from)
            .and_then(|config| command(&config)),
    )
}

/// Exit 0, or print the error with its causes (`estatewatch: ...`) and exit
/// 2 when it is the config file's fault ([`EXIT_INVALID_CONFIG`]), 1 otherwise.
pub fn exit_on(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("estatewatch: {e:#}");
            if e.downcast_ref::<estatewatch::config::ConfigError>()
                .is_some()
            {
                ExitCode::from(EXIT_INVALID_CONFIG)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// Logs to stderr at `info`, or as `ESTATEWATCH_LOG` (a `tracing` filter)
/// says; `format` is `text` or `json`. Colour only when stderr is a terminal
/// and `NO_COLOR` is not set: files, pipes and journald get plain text.
pub fn init_logging(format: &str) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("ESTATEWATCH_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}
