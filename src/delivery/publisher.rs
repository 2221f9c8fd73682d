//! The publisher: sends queued alerts to the broker in order at QoS 1 and
//! removes each from the [`Store`] only when the broker's PUBACK for the very
//! packet that carried it has arrived.
//!
//! Two parts joined by a channel ([`CoreMsg`]):
//!
//! - the **connection task** (async) drives rumqttc's `EventLoop` forever,
//!   reconnecting with backoff, and forwards the few things the core needs:
//!   connected, "a publish went out with packet id N", "PUBACK N",
//!   disconnected;
//! - the **core** (a std thread, so SQLite calls never stall the runtime)
//!   reads rows from the store in order, hands at most [`WINDOW`] of them to
//!   rumqttc, maps packet ids to rows, and deletes rows on their PUBACK.
//!
//! rumqttc's `publish()` returning means only "queued locally", and with a
//! clean session rumqttc forgets its queue on reconnect. So after every
//! (re)connect the core starts again from the oldest unacknowledged row: the
//! outbox, not rumqttc, owns undelivered alerts.
//!
//! Mapping packet ids to rows without races: rumqttc numbers packets itself
//! and reports each number in an `Outgoing::Publish(pkid)` event, in the order
//! the publishes were queued. The core keeps a FIFO of what it queued and pops
//! one entry per such event. To make sure no publish queued for one
//! connection is sent on the next one, both sides share a [`Gate`]: the core
//! only queues while the gate says "connected, generation g", and the
//! connection task, on a disconnect, closes the gate and empties rumqttc's
//! request channel and state under the same lock before it reconnects.

//!
//! The rooms: this file holds the messages and the [`Publisher`] handle;
//! `publisher/connection.rs` the connection task, `publisher/core.rs` the
//! core (the window, the packet-id map, the retained topics, shutdown).

use super::config::MqttConfig;
use super::mqtt::{Topics, WINDOW};
use super::store::Store;
use crate::alert::AlertKind;
use crate::base::{lock, Timing};
use rumqttc::{AsyncClient, MqttOptions};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod connection;
mod core;

use self::connection::connection_task;
use self::core::{Core, CoreLinks};

/// How often the core looks for rows inserted by other processes when idle.
pub const IDLE_POLL: Duration = Duration::from_millis(500);
/// First and longest wait between connection attempts (jittered by
/// [`Backoff`]'s rule).
pub const BACKOFF_MIN: Duration = Duration::from_millis(200);
pub const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// With messages outstanding and no PUBACK for this long, reconnect.
pub const ACK_STALL: Duration = Duration::from_secs(120);

/// Messages to the core.
#[derive(Debug)]
pub(crate) enum CoreMsg {
    /// CONNACK received; the gate is open for `generation`.
    Connected { generation: u64 },
    /// rumqttc wrote the next queued publish with this packet id.
    Sent { pkid: u16 },
    /// The broker acknowledged this packet id.
    Acked { pkid: u16 },
    /// The connection is gone; nothing queued before now will be sent.
    Disconnected { error: String },
    /// The writer committed rows.
    RowsAdded,
    /// A camera's retained state changed.
    CameraState { camera: String, payload: Vec<u8> },
    /// New gateway stats JSON for the retained stats topic.
    Stats { payload: Vec<u8> },
    /// A retained message on any topic (Home Assistant discovery and
    /// states); an empty payload deletes it and is sent once.
    Retained { topic: String, payload: Vec<u8> },
    /// The latest picture of an alert kind at a camera, for its retained
    /// snapshot topic (raw JPEG; only the newest per camera and kind is kept).
    Snapshot {
        camera: String,
        kind: AlertKind,
        jpeg: Vec<u8>,
    },
    /// Deliver what can be delivered until `deadline`, then stop.
    Shutdown { deadline: Instant },
}

/// Shared between the core and the connection task; see the module doc.
#[derive(Debug, Default)]
struct Gate {
    connected: bool,
    generation: u64,
}

/// Live counters of the link, for status output and tests.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct LinkStatus {
    pub connected: bool,
    /// Why the last connection attempt or connection failed.
    pub broker_error: Option<String>,
    /// Successful connections so far.
    pub connects: u64,
    /// Alerts handed to the broker (including resends).
    pub sent: u64,
    /// Of those, alerts that had been handed to a broker before.
    pub resent: u64,
    /// Alerts the broker acknowledged (PUBACK) and that left the outbox.
    pub delivered: u64,
    /// Time from handing an alert to the MQTT client to its PUBACK.
    pub publish_latency_ms: Timing,
    /// Failed connection attempts and lost connections so far.
    pub failures: u64,
    /// When the broker last acknowledged an alert (RFC 3339, UTC).
    pub last_delivered: Option<String>,
}

/// What publisher options differ between the daemon and `send-test-alert`.
#[derive(Debug, Clone)]
pub struct PublisherOptions {
    /// Publish retained `online` on connect and `offline` at shutdown.
    pub announce_status: bool,
}

/// A running publisher.
pub struct Publisher {
    tx: Sender<CoreMsg>,
    core: Option<std::thread::JoinHandle<()>>,
    conn: Option<tokio::task::JoinHandle<()>>,
    stop_conn: tokio::sync::watch::Sender<bool>,
    status: Arc<Mutex<LinkStatus>>,
    /// Set by the core when it queued the final DISCONNECT.
    disconnecting: Arc<AtomicBool>,
}

impl Publisher {
    /// Starts the connection task on the current tokio runtime and the core thread.
    pub(crate) fn start(
        store: Arc<Mutex<Store>>,
        mqtt: &MqttConfig,
        options: MqttOptions,
        topics: Topics,
        opts: PublisherOptions,
        tx: Sender<CoreMsg>,
        rx: Receiver<CoreMsg>,
    ) -> std::io::Result<Publisher> {
        let (client, eventloop) = AsyncClient::new(options, WINDOW as usize + 16);
        let gate = Arc::new(Mutex::new(Gate::default()));
        let status = Arc::new(Mutex::new(LinkStatus::default()));
        let closing = Arc::new(AtomicBool::new(false));
        let disconnecting = Arc::new(AtomicBool::new(false));
        let (stop_conn, stop_rx) = tokio::sync::watch::channel(false);
        let conn = tokio::spawn(connection_task(
            eventloop,
            gate.clone(),
            tx.clone(),
            stop_rx,
            closing.clone(),
            mqtt.clone(),
        ));
        let core = Core::new(
            store,
            client,
            rx,
            topics,
            opts.announce_status,
            CoreLinks {
                gate,
                status: status.clone(),
                closing,
                disconnecting: disconnecting.clone(),
            },
        );
        let core = std::thread::Builder::new()
            .name("ew-publisher".into())
            .spawn(move || core.run())?;
        Ok(Publisher {
            tx,
            core: Some(core),
            conn: Some(conn),
            stop_conn,
            status,
            disconnecting,
        })
    }

    pub fn status(&self) -> LinkStatus {
        lock(&self.status).clone()
    }

    /// The shared status the core keeps up to date.
    pub(crate) fn status_handle(&self) -> Arc<Mutex<LinkStatus>> {
        self.status.clone()
    }

    /// Lets the core deliver until `grace` has passed (or everything is
    /// delivered), announces `offline`, disconnects, and waits for both parts.
    pub async fn shutdown(&mut self, grace: Duration) {
        let _ = self.tx.send(CoreMsg::Shutdown {
            deadline: Instant::now() + grace,
        });
        if let Some(core) = self.core.take() {
            let joined = tokio::task::spawn_blocking(move || core.join()).await;
            if !matches!(joined, Ok(Ok(()))) {
                tracing::error!("the publisher thread ended abnormally");
            }
        }
        if let Some(mut conn) = self.conn.take() {
            // After a DISCONNECT was queued the task ends by itself once it is
            // written; otherwise (not connected) stop it straight away.
            if self.disconnecting.load(Ordering::SeqCst)
                && tokio::time::timeout(Duration::from_secs(1), &mut conn)
                    .await
                    .is_ok()
            {
                return;
            }
            let _ = self.stop_conn.send(true);
            let abort = conn.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), conn)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        // Not shut down properly: stop both parts without waiting.
        let _ = self.tx.send(CoreMsg::Shutdown {
            deadline: Instant::now(),
        });
        let _ = self.stop_conn.send(true);
    }
}
