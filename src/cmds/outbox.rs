//! `estatewatch outbox`: inspects or empties the outbox of undelivered alerts
//! (see [`estatewatch::delivery::outbox`]).

use super::exit_on;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The outbox database (outbox.path in the config).
    #[arg(long)]
    db: PathBuf,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand)]
pub enum Action {
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

pub fn run(args: &Args) -> ExitCode {
    exit_on(outbox(&args.db, args.json, &args.action))
}

fn outbox(db: &Path, json: bool, action: &Action) -> anyhow::Result<()> {
    use estatewatch::delivery::outbox::{Caps, Outbox};
    // The caps only matter when inserting; these tools never insert.
    let caps = Caps {
        max_rows: u64::MAX,
        max_bytes: u64::MAX,
        ttl: None,
    };
    let mut outbox = Outbox::open(db, caps, false)?;
    match *action {
        Action::Stats => {
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
                println!("  for MQTT:    {}", s.mqtt_rows);
                for (name, f) in &s.sinks {
                    println!(
                        "  notifier {name}: backlog {} (cursor {}), dropped {}",
                        f.backlog, f.cursor, f.dropped
                    );
                }
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
        Action::List { limit } => {
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
        Action::Purge { yes } => {
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
