//! The outbox under pressure: the cap policy (checked against a model), schema
//! versions, and a corrupt, locked, unwritable or full database. Each failure
//! must give a clear error, never a panic, and keep (and deliver) what it can.
//!
//! One module a concern: [`cap`] (the cap policy), [`schema`] (schema
//! versions), [`database`] (a corrupt or locked file), [`filesystem`] (an
//! unwritable directory, a full disk), [`small_disk`] (an outbox on a small
//! filesystem), [`salvage`] (reading a damaged file). The helpers they share
//! are here.

mod cap;
mod database;
mod filesystem;
mod salvage;
mod schema;
mod small_disk;

use crate::common::mosquitto::{
    check_order_and_count_duplicates, config_text, Broker, Gate, Subscriber,
};
use estatewatch::alert::{Alert, AlertKind, Severity};
use estatewatch::config::Config;
use estatewatch::delivery::outbox::{Caps, EncodedAlert, Outbox, OutboxError};
use estatewatch::delivery::{Delivery, DeliveryStatus};
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use uuid::Uuid;

const SEVERITIES: [Severity; 4] = [
    Severity::Info,
    Severity::Warning,
    Severity::Major,
    Severity::Critical,
];

fn config(port: u16, outbox: &Path, outbox_extra: &str) -> Config {
    let c = Config::parse(&config_text(port, outbox, "", outbox_extra)).unwrap();
    assert!(c.validate().is_empty(), "{:?}", c.validate());
    c
}

fn alert(sev: Severity, n: usize, pad: usize) -> Alert {
    let mut a = Alert::new(AlertKind::Smoke, sev, "test-estate", "gw1");
    a.details = serde_json::json!({ "n": n, "pad": "x".repeat(pad) });
    a
}

async fn wait_status(
    d: &Delivery,
    timeout: Duration,
    what: &str,
    f: impl Fn(&DeliveryStatus) -> bool,
) -> DeliveryStatus {
    let end = Instant::now() + timeout;
    loop {
        let st = d.status();
        if f(&st) {
            return st;
        }
        assert!(
            Instant::now() < end,
            "timed out waiting for {what}: {st:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn received_ids(sub: &Subscriber) -> Vec<String> {
    sub.alerts()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect()
}

/// Submits `n` alerts numbered from `start` and returns their ids.
fn submit(d: &Delivery, start: usize, n: usize, pad: usize) -> Vec<String> {
    (start..start + n)
        .map(|i| {
            let a = alert(Severity::Major, i, pad);
            let id = a.id.to_string();
            d.sink().submit(a).unwrap();
            id
        })
        .collect()
}

/// Ids of the rows with `seq` 1..=n that a fresh connection can read by
/// primary key, one query per row (empty when the file does not open).
fn readable_by_primary_key(path: &Path, n: i64) -> Vec<String> {
    let Ok(conn) = rusqlite::Connection::open(path) else {
        return Vec::new();
    };
    (1..=n)
        .filter_map(|seq| {
            conn.query_row("SELECT id FROM outbox WHERE seq = ?1", [seq], |r| {
                r.get::<_, String>(0)
            })
            .ok()
        })
        .collect()
}

/// A tmpfs mounted for one test; unmounted on drop.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(path: &Path, options: &str) -> Result<Mount, String> {
        std::fs::create_dir_all(path).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(path)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(Mount(path.to_path_buf()))
    }

    /// [`Mount::tmpfs`], or `None` after printing why the calling test is
    /// skipped (`what` names the filesystem it wanted).
    fn tmpfs_or_skip(path: &Path, options: &str, what: &str) -> Option<Mount> {
        match Mount::tmpfs(path, options) {
            Ok(m) => Some(m),
            Err(e) => {
                println!("SKIPPED: cannot mount {what} here ({e})");
                None
            }
        }
    }

    fn remount(&self, options: &str) {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.0)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}
