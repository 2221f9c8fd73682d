//! `estatewatch watch`: subscribes to this gateway's topics and prints each
//! alert as staff would receive it, one line per message, saving the
//! pictures: those embedded in alerts (`mqtt.embed_snapshots`) and those
//! on the retained snapshot topics (`cameras/<camera>/snapshot/<kind>`).
//! A tool for installers and for `make demo`; the daemon does not use it.

use crate::alert::Alert;
use crate::delivery::config::MqttConfig;
use crate::delivery::mqtt::{broker_options, describe_connection_error, MqttSetupError};
use rumqttc::{Client, Event, Packet, QoS};
use std::path::PathBuf;
use std::time::Duration;

/// What went wrong while watching.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("mqtt: {0}")]
    Mqtt(String),
    #[error("cannot write snapshot {path}: {source}")]
    Snapshot {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("mqtt password: {0}")]
    Secret(String),
    #[error("{0}")]
    Setup(MqttSetupError),
}

/// Options for [`watch`].
#[derive(Debug, Clone, Default)]
pub struct WatchOptions {
    /// Save each alert's embedded snapshot as `<dir>/<kind>-<alert id>.jpg`,
    /// and each picture of a snapshot topic as
    /// `<dir>/<camera>-<kind>-<n>.jpg` (`n` counting from 1).
    pub snapshots: Option<PathBuf>,
    /// Stop after this many alerts (0 = never).
    pub count: u64,
    /// Stop after this long (None = never).
    pub duration: Option<Duration>,
    /// Times are printed in this zone (`[site] timezone`). Default: UTC.
    pub timezone: crate::settings::SiteTimezone,
}

/// Prints messages on `<prefix>/<gateway>/#` of the broker `m` until the
/// options say stop. Reconnects on its own while the broker is away.
pub fn watch(m: &MqttConfig, gateway: &str, options: &WatchOptions) -> Result<u64, WatchError> {
    // The same client set-up as the daemon's (address, credentials, TLS);
    // only the client id and the packet size (whole snapshots) differ.
    let client_id = format!("estatewatch-watch-{}", std::process::id());
    let mut opts = broker_options(m, &client_id).map_err(|e| match e {
        MqttSetupError::Password(s) => WatchError::Secret(s),
        other => WatchError::Setup(other),
    })?;
    opts.set_max_packet_size(64 * 1024 * 1024, 64 * 1024 * 1024);
    let base = format!("{}/{}", m.topic_prefix, gateway);
    let (client, mut connection) = Client::new(opts, 64);
    if let Some(dir) = &options.snapshots {
        std::fs::create_dir_all(dir).map_err(|source| WatchError::Snapshot {
            path: dir.clone(),
            source,
        })?;
    }
    let deadline = options.duration.map(|d| std::time::Instant::now() + d);
    let mut alerts = 0u64;
    let mut pictures = 0u64;
    let mut warned = false;
    loop {
        if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            return Ok(alerts);
        }
        let event = match connection.recv_timeout(Duration::from_millis(500)) {
            Ok(Ok(ev)) => ev,
            Ok(Err(e)) => {
                if !warned {
                    eprintln!("watch: {}; retrying", describe_connection_error(&e, m));
                    warned = true;
                }
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
            Err(_) => continue,
        };
        match event {
            Event::Incoming(Packet::ConnAck(_)) => {
                warned = false;
                client
                    .subscribe(format!("{base}/#"), QoS::AtLeastOnce)
                    .map_err(|e| WatchError::Mqtt(e.to_string()))?;
                eprintln!("watch: subscribed to {base}/#");
            }
            Event::Incoming(Packet::Publish(p)) => {
                let rest = p.topic.strip_prefix(&base).unwrap_or(&p.topic);
                if rest.starts_with("/alerts/") {
                    match serde_json::from_slice::<Alert>(&p.payload) {
                        Ok(alert) => {
                            alerts += 1;
                            let saved = save_snapshot(&alert, options)?;
                            println!("{}", describe(&alert, saved.as_deref(), options.timezone));
                        }
                        Err(e) => println!("{}: unreadable alert ({e})", p.topic),
                    }
                    if options.count > 0 && alerts >= options.count {
                        return Ok(alerts);
                    }
                } else if let Some((camera, kind)) = snapshot_topic(rest) {
                    pictures += 1;
                    let saved = match &options.snapshots {
                        Some(dir) => {
                            let path = dir.join(format!("{camera}-{kind}-{pictures}.jpg"));
                            std::fs::write(&path, &p.payload).map_err(|source| {
                                WatchError::Snapshot {
                                    path: path.clone(),
                                    source,
                                }
                            })?;
                            format!(" saved={}", path.display())
                        }
                        None => String::new(),
                    };
                    println!("{}{} = JPEG, {} bytes{saved}", base, rest, p.payload.len());
                } else {
                    println!("{}{} = {}", base, rest, String::from_utf8_lossy(&p.payload));
                }
            }
            _ => {}
        }
    }
}

/// `(camera, kind)` of a topic `/cameras/<camera>/snapshot/<kind>` (below the gateway).
fn snapshot_topic(rest: &str) -> Option<(&str, &str)> {
    let rest = rest.strip_prefix("/cameras/")?;
    let (camera, kind) = rest.split_once("/snapshot/")?;
    (!camera.contains('/') && !kind.contains('/')).then_some((camera, kind))
}

fn save_snapshot(alert: &Alert, options: &WatchOptions) -> Result<Option<PathBuf>, WatchError> {
    let (Some(dir), Some(snap)) = (&options.snapshots, &alert.snapshot) else {
        return Ok(None);
    };
    let path = dir.join(format!("{}-{}.jpg", alert.kind.as_str(), alert.id));
    std::fs::write(&path, &snap.data).map_err(|source| WatchError::Snapshot {
        path: path.clone(),
        source,
    })?;
    Ok(Some(path))
}

/// One human-readable line for an alert, its time in the site's zone
/// (`2026-12-04 09:12:45.120 CST`).
pub fn describe(
    alert: &Alert,
    snapshot: Option<&std::path::Path>,
    tz: crate::settings::SiteTimezone,
) -> String {
    let mut s = format!(
        "{} {:<14} {:<6} {:<8} camera={} score={:.2}",
        tz.local(alert.detected_at)
            .format("%Y-%m-%d %H:%M:%S%.3f %Z"),
        alert.kind.as_str(),
        format!("{:?}", alert.state).to_lowercase(),
        format!("{:?}", alert.severity).to_lowercase(),
        alert.camera.as_deref().unwrap_or("-"),
        alert.score
    );
    if let Some(z) = &alert.zone {
        s.push_str(&format!(" zone={z}"));
    }
    if let Some(o) = alert.details.get("origin") {
        s.push_str(&format!(
            " origin=floor {} column {}",
            o.get("floor").unwrap_or(&serde_json::Value::Null),
            o.get("column").unwrap_or(&serde_json::Value::Null)
        ));
    }
    if let Some(r) = alert.details.get("reason").and_then(|r| r.as_str()) {
        s.push_str(&format!(" reason={r:?}"));
    }
    if let Some(p) = snapshot {
        s.push_str(&format!(" snapshot={}", p.display()));
    }
    if let Some(ev) = &alert.evidence {
        for f in &ev.files {
            s.push_str(&format!(" {}={}", f.name, f.url));
        }
        if let Some(p) = &ev.problem {
            s.push_str(&format!(" evidence_problem={p:?}"));
        }
        match &ev.clip {
            Some(c) => s.push_str(&format!(
                " clip={} ({}x{}, {:.1} s, sha256 {})",
                c.path,
                c.width,
                c.height,
                c.duration_ms as f64 / 1000.0,
                &c.sha256[..c.sha256.len().min(12)]
            )),
            None if ev.reason.is_some() => s.push_str(" clip=none"),
            None => {}
        }
        if let Some(p) = &ev.snapshot {
            s.push_str(&format!(
                " full_snapshot={} ({}x{})",
                p.path, p.width, p.height
            ));
        }
        if let Some(r) = &ev.reason {
            s.push_str(&format!(" evidence_reason={r:?}"));
        }
    }
    s
}
