//! The publisher's connection task: drives rumqttc's event loop, reconnects
//! with backoff, and tells the core only what it needs (connected with a
//! generation, "publish went out as packet N", "PUBACK N", disconnected).
//! On a disconnect it closes the [`Gate`] and empties rumqttc's queue under
//! the gate's lock, so nothing queued for one connection goes out on the next.

use super::{CoreMsg, Gate, BACKOFF_MAX, BACKOFF_MIN};
use crate::base::{lock, Backoff};
use crate::delivery::config::MqttConfig;
use crate::delivery::mqtt::{back_off_or_stop, describe_connection_error, poll_or_stop};
use rumqttc::{Event, EventLoop, MqttState, Outgoing, Packet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};

/// Drives the rumqttc event loop; see the module doc.
pub(super) async fn connection_task(
    mut eventloop: EventLoop,
    gate: Arc<Mutex<Gate>>,
    tx: Sender<CoreMsg>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    closing: Arc<AtomicBool>,
    mqtt: MqttConfig,
) {
    let mut backoff = Backoff::new(BACKOFF_MIN, BACKOFF_MAX);
    let mut failures: u64 = 0;
    let mut last_error = String::new();
    let inflight = eventloop.mqtt_options.inflight();
    loop {
        if *stop.borrow() {
            break;
        }
        let Some(polled) = poll_or_stop(&mut eventloop, &mut stop).await else {
            break;
        };
        match polled {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                let generation = {
                    let mut g = lock(&gate);
                    g.connected = true;
                    g.generation += 1;
                    g.generation
                };
                if failures > 0 {
                    tracing::info!(broker = %format!("{}:{}", mqtt.host, mqtt.port), failed_attempts = failures, "connected to the MQTT broker");
                } else {
                    tracing::info!(broker = %format!("{}:{}", mqtt.host, mqtt.port), "connected to the MQTT broker");
                }
                failures = 0;
                last_error.clear();
                backoff.reset();
                if tx.send(CoreMsg::Connected { generation }).is_err() {
                    break;
                }
            }
            Ok(Event::Outgoing(Outgoing::Publish(pkid))) => {
                let _ = tx.send(CoreMsg::Sent { pkid });
            }
            Ok(Event::Incoming(Packet::PubAck(ack))) => {
                let _ = tx.send(CoreMsg::Acked { pkid: ack.pkid });
            }
            Ok(Event::Outgoing(Outgoing::Disconnect)) if closing.load(Ordering::SeqCst) => break,
            Ok(_) => {}
            Err(e) => {
                let error = describe_connection_error(&e, &mqtt);
                {
                    let mut g = lock(&gate);
                    g.connected = false;
                    // Acks rumqttc read before the failure still belong to the
                    // old connection: pass them on before "disconnected".
                    while let Some(ev) = eventloop.state.events.pop_front() {
                        match ev {
                            Event::Outgoing(Outgoing::Publish(pkid)) => {
                                let _ = tx.send(CoreMsg::Sent { pkid });
                            }
                            Event::Incoming(Packet::PubAck(ack)) => {
                                let _ = tx.send(CoreMsg::Acked { pkid: ack.pkid });
                            }
                            _ => {}
                        }
                    }
                    // Forget everything queued for the old connection: the
                    // core resends from the outbox after the next CONNACK.
                    eventloop.state = MqttState::new(inflight, false);
                    eventloop.clean();
                    eventloop.pending.clear();
                }
                if tx
                    .send(CoreMsg::Disconnected {
                        error: error.clone(),
                    })
                    .is_err()
                {
                    break;
                }
                failures += 1;
                if error != last_error {
                    if error.starts_with("lost the connection") {
                        tracing::warn!(error = %error, "MQTT connection lost; reconnecting with backoff");
                    } else {
                        tracing::warn!(error = %error, "MQTT connection failed; retrying with backoff");
                    }
                    last_error = error;
                } else if failures % 60 == 0 {
                    tracing::warn!(error = %error, attempts = failures, "still cannot connect to the MQTT broker");
                } else {
                    tracing::debug!(error = %error, attempts = failures, "MQTT connection attempt failed");
                }
                if !back_off_or_stop(&mut backoff, &mut stop).await {
                    break;
                }
            }
        }
    }
}
