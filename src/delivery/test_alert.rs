//! `estatewatch send-test-alert`: queues `test` alerts in the outbox and
//! waits for the broker to acknowledge them, through the running daemon or,
//! without one, a delivery started for the purpose.

use super::lock::DaemonLock;
use super::outbox::{Caps, EncodedAlert, Outbox, OutboxError};
use super::{Delivery, DeliveryError, DeliverySections, StartOptions};
use crate::alert::{Alert, AlertKind, Severity};
use crate::base::lock;
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// What `estatewatch send-test-alert` achieved.
#[derive(Debug, Clone, Serialize)]
pub struct TestAlertReport {
    /// Ids of the test alerts queued.
    pub ids: Vec<Uuid>,
    /// `Some(pid)` when a running daemon was found (pid if known).
    pub daemon: Option<Option<u32>>,
    /// True when the broker acknowledged every test alert within the timeout.
    pub delivered: bool,
    /// Why delivery has not happened, when it has not.
    pub broker_error: Option<String>,
}

/// Queues `count` `test` alerts in the outbox (the same path as real alerts)
/// and waits up to `timeout` for the broker to acknowledge them: through the
/// running daemon if there is one, else by publishing directly (with client
/// id `<client_id>-test`, no status announcements). Alerts not delivered in
/// time stay queued for the daemon.
pub async fn send_test_alerts(
    config: &DeliverySections<'_>,
    count: usize,
    timeout: Duration,
) -> Result<TestAlertReport, DeliveryError> {
    let alerts: Vec<EncodedAlert> = (0..count)
        .map(|i| {
            let mut a = Alert::new(AlertKind::Test, Severity::Info, config.site, config.gateway);
            a.details = serde_json::json!({
                "message": "test alert from `estatewatch send-test-alert`",
                "n": i + 1,
                "of": count,
            });
            a.to_json().map(|payload| EncodedAlert {
                id: a.id,
                kind: a.kind,
                severity: a.severity,
                created_ms: a.detected_at.timestamp_millis(),
                payload,
                topic: None,
            })
        })
        .collect::<Result<_, _>>()
        .map_err(|e| {
            DeliveryError::Outbox(OutboxError::Other {
                path: config.outbox.path.clone(),
                detail: format!("cannot encode test alert: {e}"),
            })
        })?;
    let ids: Vec<Uuid> = alerts.iter().map(|a| a.id).collect();
    let path = config.outbox.path.clone();
    let caps = Caps::from_config(config.outbox);
    let outbox = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || -> Result<Outbox, OutboxError> {
            let mut o = Outbox::open(&path, caps, true)?;
            o.append(&alerts)?;
            Ok(o)
        })
        .await
        .map_err(|e| DeliveryError::Thread(std::io::Error::other(e.to_string())))??
    };
    let outbox = Arc::new(Mutex::new(outbox));
    let daemon = DaemonLock::holder(&path);
    let deadline = Instant::now() + timeout;
    let mut direct = None;
    if daemon.is_none() {
        let opts = StartOptions {
            client_id: Some(format!(
                "{}-test",
                config.mqtt.client_id_for(config.gateway)
            )),
            announce_status: false,
            exclusive: false,
        };
        direct = Some(Delivery::start_with(config, opts).await?);
    }
    let delivered = loop {
        let pending = {
            let (o, ids) = (outbox.clone(), ids.clone());
            tokio::task::spawn_blocking(move || {
                let o = lock(&o);
                ids.iter().any(|id| o.mqtt_pending(*id).unwrap_or(true))
            })
            .await
            .unwrap_or(true)
        };
        if !pending {
            break true;
        }
        if Instant::now() >= deadline {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let broker_error = match &direct {
        Some(d) => d.status().link.broker_error,
        None => None,
    };
    if let Some(d) = direct {
        d.shutdown(Duration::ZERO).await;
    }
    Ok(TestAlertReport {
        ids,
        daemon,
        delivered,
        broker_error,
    })
}
