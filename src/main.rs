//! The `estatewatch` command line: `run`, `check-config`, and the tools
//! installers and integrators use. This file only parses the command line
//! and dispatches; each command's body is in `cmds/`.

mod cmds;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// The exit codes, shown by `--help` and in the man page.
const EXIT_STATUS: &str =
    "Exit status: 0 success; 1 failure (e.g. no daemon running, broker error); \
2 invalid config file; 3 send-test-alert: not acknowledged in time; 64 usage error (unknown \
command or flag, missing argument).";

#[derive(Parser)]
#[command(
    name = "estatewatch",
    version,
    about = "Edge video alerting for residential estates",
    after_help = EXIT_STATUS
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
    Run(cmds::run::Args),
    /// Validate a config file, then tell the daemon using it (found by its
    /// outbox lock) to reload it (SIGHUP). Exits 2 when the file is invalid
    /// (the daemon is not signalled), 1 when no daemon runs.
    Reload(cmds::reload::Args),
    /// Tell the daemon using a config file (found by its outbox lock) to run
    /// every camera's self-test now (SIGUSR1); results go to /metrics, the
    /// stats topic and, on failure, a `selftest_failed` alert. Exits 1 when
    /// no daemon runs.
    Selftest(cmds::selftest::Args),
    /// Validate a config file and print every problem, then build each enabled
    /// camera's analyzers (loading the models they name); exits 2 when invalid.
    CheckConfig(cmds::check_config::Args),
    /// Subscribe to this gateway's topics and print alerts as staff receive them.
    Watch(cmds::watch::Args),
    /// Run one model on image files and print what it finds as JSON lines:
    /// `{"image", "class", "class_id", "score", "box": [x1, y1, x2, y2]}` per
    /// detection (pixels), or `{"image", "top": [...], "groups": {...}}` for a
    /// classifier. Integrators use it to check a model and its manifest.
    Detect(cmds::detect::Args),
    /// Run one camera's analysis over a recorded clip as fast as possible and
    /// print each alert as a JSON line (MQTT schema). Publishes nothing.
    Replay(cmds::replay::Args),
    /// Take one frame from a configured camera (connecting as the daemon
    /// does) and write it with every zone, mask and facade grid of its config
    /// drawn, and a labelled 0..1 coordinate grid, for calibration.
    Still(cmds::still::Args),
    /// Serve video files as looping RTSP cameras on 127.0.0.1 (for demos and
    /// trials): `serve-rtsp --port 8554 tower=tower.mp4 shed=shed.mp4`.
    ServeRtsp(cmds::serve_rtsp::Args),
    /// Manage the web console's users (`add NAME --role R`, `passwd NAME`,
    /// `remove NAME`, `list`), in `[console] users_file`; passwords are read
    /// from the terminal or stdin, never from the command line.
    User(cmds::user::Args),
    /// Inspect or empty the outbox of undelivered alerts.
    Outbox(cmds::outbox::Args),
    /// Queue a `test` alert through the outbox and wait for the broker to acknowledge it.
    SendTestAlert(cmds::send_test_alert::Args),
    /// Write the man pages (estatewatch.1 and one per command) to a folder;
    /// used by scripts/build-deb.sh.
    #[command(hide = true)]
    Manpage(cmds::manpage::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // `--help` and `--version` are not errors.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(cmds::EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    cmds::init_logging(&cli.log_format);
    match &cli.command {
        Command::Run(args) => cmds::run::run(args),
        Command::Reload(args) => cmds::reload::run(args),
        Command::Selftest(args) => cmds::selftest::run(args),
        Command::CheckConfig(args) => cmds::check_config::run(args),
        Command::Watch(args) => cmds::watch::run(args),
        Command::Detect(args) => cmds::detect::run(args),
        Command::Replay(args) => cmds::replay::run(args),
        Command::Still(args) => cmds::still::run(args),
        Command::ServeRtsp(args) => cmds::serve_rtsp::run(args),
        Command::Outbox(args) => cmds::outbox::run(args),
        Command::User(args) => cmds::user::run(args),
        Command::SendTestAlert(args) => cmds::send_test_alert::run(args),
        Command::Manpage(args) => {
            cmds::manpage::run(args, <Cli as clap::CommandFactory>::command())
        }
    }
}
