//! Delivery: the durable SQLite outbox and the MQTT publisher.
