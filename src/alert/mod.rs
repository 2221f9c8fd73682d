//! Alerts: the schema v1 model published to staff, and snapshots.
