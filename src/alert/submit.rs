//! The submit seam: how a finished alert leaves the part that built it.
//!
//! Producers (analysis workers, sensor inputs, the camera watch) hand alerts
//! to an [`AlertSubmit`] and never see what is behind it; delivery implements
//! it (its `AlertSink` queues the alert for the outbox), and
//! [`FusedSink`](super::fusion::FusedSink) wraps it to fuse camera and sensor
//! alerts on the way. So producers depend on `alert`, not on `delivery`.

use super::{Alert, AlertKind, Severity};
use uuid::Uuid;

/// Why an alert was not taken.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("delivery has shut down; alert {id} ({kind}) was not queued")]
    Closed { id: Uuid, kind: AlertKind },
    #[error("alert {id} could not be encoded as JSON: {source}")]
    Encode { id: Uuid, source: serde_json::Error },
    #[error("alert {id} is {size} bytes even without its snapshot; the limit is {limit}")]
    TooLarge { id: Uuid, size: usize, limit: usize },
    #[error("the alert queue is full and alert {id} ({kind}, {severity:?}) had the lowest priority; it was dropped")]
    Dropped {
        id: Uuid,
        kind: AlertKind,
        severity: Severity,
    },
}

/// Where finished alerts go. Callable from any thread; must return quickly
/// (never wait for a disk or the network).
pub trait AlertSubmit: Send + Sync {
    /// Takes `alert` for delivery, or says why not.
    fn submit(&self, alert: Alert) -> Result<(), SubmitError>;
}

impl<T: AlertSubmit + ?Sized> AlertSubmit for std::sync::Arc<T> {
    fn submit(&self, alert: Alert) -> Result<(), SubmitError> {
        (**self).submit(alert)
    }
}
