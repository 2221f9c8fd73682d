//! The delivery families: `estatewatch_alerts_submitted_total`,
//! `estatewatch_outbox_*` (depth, age, drops, writable) and
//! `estatewatch_mqtt_*` (the broker link and publish latency).

use super::out::{flag, Out};
use crate::monitor::Snapshot;

/// The outbox and MQTT families.
pub(super) fn render(o: &mut Out, s: &Snapshot) {
    let ob = &s.outbox;
    o.single(
        "estatewatch_alerts_submitted_total",
        "counter",
        "Alerts queued for delivery since start.",
        ob.submitted as f64,
    );
    o.single(
        "estatewatch_outbox_depth",
        "gauge",
        "Alerts waiting for delivery.",
        ob.depth as f64,
    );
    o.single(
        "estatewatch_outbox_oldest_age_seconds",
        "gauge",
        "Age of the oldest waiting alert (0 when none).",
        ob.oldest_age_s,
    );
    o.single(
        "estatewatch_outbox_dropped_total",
        "counter",
        "Alerts dropped by the outbox caps, TTL or a full queue.",
        ob.dropped as f64,
    );
    o.single(
        "estatewatch_outbox_writable",
        "gauge",
        "1 while new alerts are committed to the outbox file.",
        flag(ob.writable),
    );

    let mq = &s.mqtt;
    o.single(
        "estatewatch_mqtt_connected",
        "gauge",
        "1 while connected to the broker.",
        flag(mq.connected),
    );
    o.single(
        "estatewatch_mqtt_connects_total",
        "counter",
        "Successful broker connections.",
        mq.connects as f64,
    );
    o.single(
        "estatewatch_mqtt_sent_total",
        "counter",
        "Alerts handed to the broker (including resends).",
        mq.sent as f64,
    );
    o.single(
        "estatewatch_mqtt_delivered_total",
        "counter",
        "Alerts acknowledged by the broker.",
        mq.delivered as f64,
    );
    o.single(
        "estatewatch_mqtt_disconnected_seconds",
        "gauge",
        "Seconds the broker link has been down (0 while connected).",
        mq.down_for_s,
    );
    o.summary(
        &[mq.publish_latency_ms],
        "estatewatch_mqtt_publish_latency_seconds",
        "Time from publishing an alert to its PUBACK.",
        |t| (Vec::new(), *t),
    );
    o.single(
        "estatewatch_mqtt_publish_last_latency_seconds",
        "gauge",
        "Seconds from publish to PUBACK of the latest alert.",
        mq.publish_latency_ms.last_ms / 1000.0,
    );
}
