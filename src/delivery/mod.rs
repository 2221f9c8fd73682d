//! Delivery: gets every alert to the MQTT broker, in order, across broker
//! outages, daemon crashes and reboots.
//!
//! ```text
//!  producers ──submit()──► intake ──► writer thread ──commit──► outbox (SQLite, WAL)
//!  (via alert::fusion)    (bounded,   (one, batches)             │ rows in seq order
//!                          never blocks)                         ▼
//!  retained camera state ─────────────────────────────► publisher core ──► rumqttc ──► broker
//!  (StatusProbe::publish_camera_state)                   (window of 64 QoS 1   ◄── PUBACK
//!                                                         messages; a row is
//!                                                         deleted on its PUBACK)
//! ```
//!
//! Delivery knows alerts, not where they come from: it imports only
//! [`crate::alert`], [`crate::base`] and its config sections.
//!
//! - [`AlertSink`] (cheap to clone, callable from any thread) encodes an alert
//!   and puts it in the intake; it never waits for the disk or the network.
//!   It is delivery's side of the [`AlertSubmit`] seam.
//! - The writer thread commits intake batches to the [`store::Store`] (the
//!   [`outbox::Outbox`] file, or memory while the file fails) and tells the
//!   publisher.
//! - The [`publisher`] sends committed rows in order and removes each only on
//!   the broker's PUBACK for it; see ADR 0001 (`docs/adr/0001-outbox-and-delivery.md`).
//! - The [`notify`] senders (one thread per `[[notifiers]]` entry, started
//!   with [`Delivery::start_notifiers`]) read the same rows, each from its
//!   own cursor; a row is deleted once the broker and every notifier are
//!   done with it (ADR 0004, `docs/adr/0004-notifier-cursors.md`).
//! - [`StatusProbe`] reads delivery's figures and publishes the retained
//!   stats and per-camera state (built upstream, by
//!   [`CameraWatch`](crate::alert::camera::CameraWatch)).
//!
//! The rooms: `intake.rs` ([`AlertSink`], the bounded intake, the writer
//! thread), `status.rs` ([`StatusProbe`], [`DeliveryStatus`]), `lock.rs`
//! ([`DaemonLock`]), `test_alert.rs` ([`send_test_alerts`]); this file
//! starts and stops them together as [`Delivery`].
//!
//! Only one daemon may use an outbox: [`Delivery::start`] takes an exclusive
//! `flock` on `<outbox>.lock`.
//!
//! Delivery is started with its own sections of the config ([`DeliverySections`]);
//! [`config`] holds the `[mqtt]` and `[outbox]` sections.

pub mod config;
pub mod homeassistant;
mod intake;
mod lock;
pub mod mqtt;
pub mod notify;
pub mod outbox;
pub mod profile;
pub mod publisher;
mod status;
pub mod store;
mod test_alert;

pub use crate::alert::submit::SubmitError;
pub use intake::{AlertSink, OutboxMessage, INTAKE_MAX_ALERTS, INTAKE_MAX_BYTES};
pub use lock::DaemonLock;
pub use status::{DeliveryStatus, StatusProbe};
pub use test_alert::{send_test_alerts, TestAlertReport};

use crate::alert::{Alert, AlertState};
use crate::base::lock;
use config::{MqttConfig, OutboxConfig};
use intake::{writer_loop, Intake};
use lock::LockError;
use outbox::{Caps, OutboxError};
use publisher::{CoreMsg, Publisher, PublisherOptions};
use std::path::PathBuf;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::Store;
use uuid::Uuid;

/// Errors starting delivery. An absent broker or a failing outbox file are
/// not errors (delivery retries both); bad TLS files or a second daemon are.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error(transparent)]
    Mqtt(#[from] mqtt::MqttSetupError),
    #[error("another estatewatch daemon{} is already using the outbox {path}; stop it first", pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    OutboxInUse { path: PathBuf, pid: Option<u32> },
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error("cannot start a delivery thread: {0}")]
    Thread(#[from] std::io::Error),
    #[error("notifiers[{index}] ({name}): {source}")]
    Notifier {
        index: usize,
        name: String,
        source: notify::BuildError,
    },
}

/// The config sections delivery runs with.
#[derive(Debug, Clone)]
pub struct DeliverySections<'a> {
    /// `site.id`, for the alerts delivery raises itself (camera offline, tests).
    pub site: &'a str,
    /// `gateway.id`, the second level of every topic.
    pub gateway: &'a str,
    /// `[mqtt]`: the broker.
    pub mqtt: &'a MqttConfig,
    /// `[outbox]`: the queue on disk.
    pub outbox: &'a OutboxConfig,
}

/// The offline grace period of a camera delivery was not told about.
pub const DEFAULT_OFFLINE_GRACE: Duration = Duration::from_secs(30);

/// Options that differ between the daemon and one-off tools.
#[derive(Debug, Clone)]
pub struct StartOptions {
    /// MQTT client id; default from the config.
    pub client_id: Option<String>,
    /// Publish retained `online`/`offline` and register the last will.
    pub announce_status: bool,
    /// Take the exclusive daemon lock on the outbox.
    pub exclusive: bool,
}

impl StartOptions {
    /// What `estatewatch run` uses.
    pub fn daemon() -> StartOptions {
        StartOptions {
            client_id: None,
            announce_status: true,
            exclusive: true,
        }
    }
}

/// The running delivery service: intake, writer and publisher.
pub struct Delivery {
    sink: AlertSink,
    store: Arc<Mutex<Store>>,
    core_tx: Sender<CoreMsg>,
    writer: Option<std::thread::JoinHandle<()>>,
    publisher: Publisher,
    /// Wakes the notifiers when the writer committed rows.
    wake: Arc<notify::sender::Wake>,
    /// The running notifiers (see [`Delivery::start_notifiers`]).
    notifiers: Arc<Mutex<Option<notify::sender::Senders>>>,
    _lock: Option<DaemonLock>,
}

impl Delivery {
    /// Opens the outbox and starts the writer and the publisher. Succeeds with the broker absent and with a failing outbox
    /// file (both are retried); fails on bad TLS/credential files or when
    /// another daemon holds the outbox.
    pub async fn start(config: &DeliverySections<'_>) -> Result<Delivery, DeliveryError> {
        Delivery::start_with(config, StartOptions::daemon()).await
    }

    pub async fn start_with(
        config: &DeliverySections<'_>,
        opts: StartOptions,
    ) -> Result<Delivery, DeliveryError> {
        let client_id = opts
            .client_id
            .clone()
            .unwrap_or_else(|| config.mqtt.client_id_for(config.gateway));
        let options = mqtt::client_options(
            config.mqtt,
            config.gateway,
            &client_id,
            opts.announce_status,
        )?;
        let path = config.outbox.path.clone();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(dir);
        }
        let lock_file = if opts.exclusive {
            match DaemonLock::acquire(&path) {
                Ok(l) => Some(l),
                Err(LockError::Held(pid)) => {
                    return Err(DeliveryError::OutboxInUse { path, pid });
                }
                Err(LockError::Io(e)) => {
                    tracing::warn!(path = %path.display(), error = %e, "cannot create the outbox lock file; not protected against a second daemon");
                    None
                }
            }
        } else {
            None
        };
        let caps = Caps::from_config(config.outbox);
        let store = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || Store::open(&path, caps))
                .await
                .map_err(|e| DeliveryError::Thread(std::io::Error::other(e.to_string())))?
        };
        let store = Arc::new(Mutex::new(store));
        let intake = Arc::new(Intake::default());
        let (core_tx, core_rx) = std::sync::mpsc::channel();
        let publisher = Publisher::start(
            store.clone(),
            config.mqtt,
            options,
            mqtt::Topics::new(&config.mqtt.topic_prefix, config.gateway),
            PublisherOptions {
                announce_status: opts.announce_status,
            },
            core_tx.clone(),
            core_rx,
        )?;
        let wake = Arc::new(notify::sender::Wake::default());
        let writer = {
            let (intake, store, tx) = (intake.clone(), store.clone(), core_tx.clone());
            let wake = wake.clone();
            std::thread::Builder::new()
                .name("ew-outbox-writer".into())
                .spawn(move || writer_loop(&intake, &store, &tx, &wake))?
        };
        let sink = AlertSink {
            intake,
            embed_snapshots: config.mqtt.embed_snapshots,
            max_bytes: mqtt::MAX_ALERT_BYTES.min((config.outbox.max_bytes / 8) as usize),
        };
        if opts.exclusive {
            end_incidents_of_last_run(&store, &sink);
        }
        tracing::info!(outbox = %path.display(), broker = %format!("{}:{}", config.mqtt.host, config.mqtt.port), client_id, "delivery started");
        Ok(Delivery {
            sink,
            store,
            core_tx,
            writer: Some(writer),
            publisher,
            wake,
            notifiers: Arc::default(),
            _lock: lock_file,
        })
    }

    /// Where alerts are submitted (producers go through
    /// [`FusedSink`](crate::alert::fusion::FusedSink) in front of it).
    pub fn sink(&self) -> AlertSink {
        self.sink.clone()
    }

    pub fn status(&self) -> DeliveryStatus {
        self.probe().status()
    }

    /// A cheap handle that reads [`Delivery::status`] from any thread, also
    /// while the daemon owns the `Delivery`.
    pub fn probe(&self) -> StatusProbe {
        StatusProbe {
            intake: self.sink.intake.clone(),
            store: self.store.clone(),
            link: self.publisher.status_handle(),
            core_tx: self.core_tx.clone(),
            notifiers: self.notifiers.clone(),
        }
    }

    /// True when every submitted alert has been committed and acknowledged.
    pub fn is_idle(&self) -> bool {
        self.sink.intake.is_empty() && lock(&self.store).is_drained()
    }

    /// Ordered shutdown (after the producers have stopped): close the
    /// intake, let the writer commit what it has, then give the publisher
    /// `grace` to deliver before it announces `offline` and disconnects.
    pub async fn shutdown(mut self, grace: Duration) {
        self.sink.intake.close();
        if let Some(writer) = self.writer.take() {
            let _ = tokio::task::spawn_blocking(move || writer.join()).await;
        }
        let _ = self.core_tx.send(CoreMsg::RowsAdded);
        self.wake.rows_added();
        // The notifiers keep sending during the publisher's grace period.
        self.publisher.shutdown(grace).await;
        let notifiers = lock(&self.notifiers).take();
        if let Some(n) = notifiers {
            let _ = tokio::task::spawn_blocking(move || n.stop(NOTIFIER_STOP_WAIT)).await;
        }
        tracing::info!("delivery stopped");
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        // Dropped without shutdown(): stop the threads; the outbox keeps the rest.
        self.sink.intake.close();
        if let Some(n) = lock(&self.notifiers).as_ref() {
            n.signal_stop();
        }
    }
}

/// How long shutdown waits for a notifier busy with a request.
const NOTIFIER_STOP_WAIT: Duration = Duration::from_secs(2);

/// Ends every incident the last run left open (it crashed, was killed or the
/// box lost power before the incident's `end`), so no consumer keeps an
/// incident open for ever. Each `end` carries `details.ended_by = "restart"`;
/// if the fire, bag or outage is still there, this run raises a new incident.
fn end_incidents_of_last_run(store: &Arc<Mutex<Store>>, sink: &AlertSink) {
    let open = lock(store).open_events();
    for last in open {
        let end = restart_end(last);
        tracing::info!(event = %end.event, kind = %end.kind, camera = ?end.camera, "incident left open by the last run ended");
        if let Err(e) = sink.submit(end) {
            tracing::error!(error = %e, "end of an incident left open not queued");
        }
    }
}

/// The `end` of an incident whose latest message was `last`.
fn restart_end(last: Alert) -> Alert {
    Alert {
        id: Uuid::now_v7(),
        state: AlertState::End,
        detected_at: chrono::Utc::now(),
        media_time_ms: None,
        snapshot: None,
        evidence: None,
        details: serde_json::json!({
            "ended_by": "restart",
            "last_seen_at": last.detected_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        }),
        ..last
    }
}
