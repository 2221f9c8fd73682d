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
    /// Inspect or empty the outbox of undelivered alerts.
    Outbox {
        /// The outbox database (outbox.path in the config).
        #[arg(long)]
        db: PathBuf,
        /// Print JSON instead of text.
        #[arg(long, global = true)]
        json: bool,
        #[command(subcommand)]
        action: OutboxAction,
    },
    /// Queue a `test` alert through the outbox and wait for the broker to acknowledge it.
    SendTestAlert {
        /// Config file.
        #[arg(long, short)]
        config: PathBuf,
        /// How many test alerts to queue.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        count: u32,
        /// Seconds to wait for the broker's acknowledgement.
        #[arg(long, default_value_t = 10)]
        timeout_s: u64,
    },
}

#[derive(Subcommand)]
enum OutboxAction {
    /// Counts by delivery state, kind and severity; oldest age; size; counters.
    Stats,
    /// The oldest undelivered alerts (without payloads).
    List {
        /// How many rows to show.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Delete every undelivered alert (counted as `purged`).
    Purge {
        /// Really delete; without it, only say how many would go.
        #[arg(long)]
        yes: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.log_format);
    match cli.command {
        Command::CheckConfig { file } => check_config(&file),
        Command::Run { config } => exit_on(estatewatch::daemon::run_from_file(&config)),
        Command::Outbox { db, json, action } => exit_on(outbox_command(&db, json, action)),
        Command::SendTestAlert {
            config,
            count,
            timeout_s,
        } => send_test_alert(&config, count as usize, timeout_s),
    }
}

fn outbox_command(db: &std::path::Path, json: bool, action: OutboxAction) -> anyhow::Result<()> {
    use estatewatch::delivery::outbox::{Caps, Outbox};
    // The caps only matter when inserting; these tools never insert.
    let caps = Caps {
        max_rows: u64::MAX,
        max_bytes: u64::MAX,
        ttl: None,
    };
    let mut outbox = Outbox::open(db, caps, false)?;
    match action {
        OutboxAction::Stats => {
            let s = outbox.stats()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                println!("outbox {} (schema v{})", s.path, s.schema_version);
                println!(
                    "  undelivered: {} ({} payload bytes; files {} bytes)",
                    s.rows, s.payload_bytes, s.file_bytes
                );
                let join = |m: &std::collections::BTreeMap<String, u64>| {
                    m.iter()
                        .map(|(k, v)| format!("{k} {v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                println!("  by state:    {}", join(&s.by_state));
                println!("  by kind:     {}", join(&s.by_kind));
                println!("  by severity: {}", join(&s.by_severity));
                match (&s.oldest_enqueued_at, s.oldest_age_s) {
                    (Some(at), Some(age)) => println!("  oldest:      {at} ({age:.0} s ago)"),
                    _ => println!("  oldest:      -"),
                }
                println!("  counters:    {}", join(&s.counters));
            }
        }
        OutboxAction::List { limit } => {
            let rows = outbox.list(limit)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!("seq\tid\tkind\tseverity\tenqueued_at\tattempts\tbytes");
                for r in rows {
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        r.seq, r.id, r.kind, r.severity, r.enqueued_at, r.attempts, r.bytes
                    );
                }
            }
        }
        OutboxAction::Purge { yes } => {
            let (rows, _) = outbox.totals()?;
            let purged = if yes { outbox.purge()? } else { 0 };
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "undelivered": rows, "purged": purged, "dry_run": !yes })
                );
            } else if yes {
                println!("purged {purged} undelivered alert(s)");
            } else {
                println!("{rows} undelivered alert(s) would be purged; add --yes to delete them");
            }
        }
    }
    Ok(())
}

fn send_test_alert(config: &std::path::Path, count: usize, timeout_s: u64) -> ExitCode {
    let run = || -> anyhow::Result<bool> {
        let config = Config::load(config)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let report = runtime.block_on(estatewatch::delivery::send_test_alerts(
            &config,
            count,
            std::time::Duration::from_secs(timeout_s),
        ))?;
        let topic = estatewatch::delivery::mqtt::Topics::from_config(&config)
            .alert(estatewatch::alert::AlertKind::Test);
        let via = match report.daemon {
            Some(Some(pid)) => format!("the running daemon (pid {pid})"),
            Some(None) => "the running daemon".to_string(),
            None => "this command directly (no daemon is running)".to_string(),
        };
        for id in &report.ids {
            println!("queued test alert {id} in {}", config.outbox.path.display());
        }
        if report.delivered {
            println!(
                "delivered by {via}: the broker {}:{} acknowledged {} alert(s) on {topic}",
                config.mqtt.host,
                config.mqtt.port,
                report.ids.len()
            );
        } else {
            println!(
                "NOT delivered within {timeout_s} s by {via}; the alert(s) stay in the outbox and will be sent when the broker is reachable"
            );
            if let Some(e) = report.broker_error {
                println!("broker: {e}");
            }
        }
        Ok(report.delivered)
    };
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(3),
        Err(e) => {
            eprintln!("estatewatch: {e:#}");
            ExitCode::FAILURE
        }
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
