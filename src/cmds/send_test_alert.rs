//! `estatewatch send-test-alert`: queues `test` alerts through the outbox and
//! waits for the broker's acknowledgement; exits 3 when none came in time,
//! 2 when the config is invalid.

use estatewatch::config::Config;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Config file.
    #[arg(long, short)]
    config: PathBuf,
    /// How many test alerts to queue.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    count: u32,
    /// Seconds to wait for the broker's acknowledgement.
    #[arg(long, default_value_t = 10)]
    timeout_s: u64,
}

pub fn run(args: &Args) -> ExitCode {
    send_test_alert(&args.config, args.count as usize, args.timeout_s)
}

fn send_test_alert(config: &Path, count: usize, timeout_s: u64) -> ExitCode {
    let run = || -> anyhow::Result<bool> {
        let config = Config::load(config)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let report = runtime.block_on(estatewatch::delivery::send_test_alerts(
            &config.delivery(),
            count,
            std::time::Duration::from_secs(timeout_s),
        ))?;
        let topic =
            estatewatch::delivery::mqtt::Topics::new(&config.mqtt.topic_prefix, &config.gateway.id)
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
        Err(e) => super::exit_on(Err(e)),
    }
}
