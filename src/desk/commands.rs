//! Platform commands: the district platform acknowledges, assigns, notes or
//! resolves incidents by publishing JSON on
//! `<prefix>/<gateway>/commands/incidents/<event>/<action>` (who may publish
//! there is the broker's ACL's business). The desk subscribes with its own
//! MQTT client (`<client_id>-desk`, QoS 1, a persistent session so commands
//! sent while the gateway was away still arrive), checks each payload
//! against `docs/command-v1.schema.json`, and takes the step as
//! [`Via::Platform`]. A command that is not understood or does not fit the
//! incident's state is logged with the reason and ignored; the platform
//! sees accepted steps on the handling topic.

use super::{Action, Actor, Desk, DeskError, IncidentDetail, Outcome, Via};
use crate::base::Backoff;
use crate::delivery::config::MqttConfig;
use crate::delivery::mqtt::{back_off_or_stop, poll_or_stop};
use rumqttc::{AsyncClient, Event, Packet, QoS};
use serde::Deserialize;
use std::time::Duration;

/// Largest command payload accepted, bytes.
pub const MAX_COMMAND_BYTES: usize = 16 * 1024;

/// The actions of the command topic's last level.
pub const COMMAND_ACTIONS: [&str; 4] = ["ack", "assign", "note", "resolve"];

/// Why a platform command was refused.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("topic {0:?} is not <prefix>/<gateway>/commands/incidents/<event>/<action>")]
    Topic(String),
    #[error("unknown action {0:?}; expected ack, assign, note or resolve")]
    Action(String),
    #[error("event {0:?} is not an incident id (a UUID)")]
    Event(String),
    #[error("payload is {0} bytes; the limit is {MAX_COMMAND_BYTES}")]
    TooLarge(usize),
    #[error("payload: {0}")]
    Payload(String),
    #[error(transparent)]
    Desk(#[from] DeskError),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Ack {
    by: String,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Assign {
    by: String,
    to: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Note {
    by: String,
    text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Resolve {
    by: String,
    outcome: Outcome,
    #[serde(default)]
    reason: Option<String>,
}

fn parse<'a, T: Deserialize<'a>>(payload: &'a [u8]) -> Result<T, CommandError> {
    serde_json::from_slice(payload).map_err(|e| CommandError::Payload(e.to_string()))
}

/// Turns a command's action name and payload into a step and its actor.
pub fn parse_command(action: &str, payload: &[u8]) -> Result<(Action, Actor), CommandError> {
    if payload.len() > MAX_COMMAND_BYTES {
        return Err(CommandError::TooLarge(payload.len()));
    }
    let actor = |by: String| Actor {
        name: by,
        via: Via::Platform,
    };
    Ok(match action {
        "ack" => {
            let c: Ack = parse(payload)?;
            (Action::Acknowledge { note: c.note }, actor(c.by))
        }
        "assign" => {
            let c: Assign = parse(payload)?;
            (Action::Assign { to: c.to }, actor(c.by))
        }
        "note" => {
            let c: Note = parse(payload)?;
            (Action::Note { text: c.text }, actor(c.by))
        }
        "resolve" => {
            let c: Resolve = parse(payload)?;
            (
                Action::Resolve {
                    outcome: c.outcome,
                    reason: c.reason,
                },
                actor(c.by),
            )
        }
        other => return Err(CommandError::Action(other.to_string())),
    })
}

/// `<prefix>/<gateway>/commands/incidents/` for a prefix and gateway.
fn command_base(mqtt: &MqttConfig, gateway: &str) -> String {
    format!("{}/{gateway}/commands/incidents/", mqtt.topic_prefix)
}

impl Desk {
    /// Takes one platform command: `topic_tail` is `<event>/<action>`.
    pub fn command(
        &self,
        topic_tail: &str,
        payload: &[u8],
    ) -> Result<IncidentDetail, CommandError> {
        let (event, action) = topic_tail
            .split_once('/')
            .filter(|(e, a)| !e.is_empty() && !a.contains('/'))
            .ok_or_else(|| CommandError::Topic(topic_tail.to_string()))?;
        if uuid::Uuid::parse_str(event).is_err() {
            return Err(CommandError::Event(event.to_string()));
        }
        let (action, actor) = parse_command(action, payload)?;
        Ok(self.act(event, action, &actor)?)
    }

    /// Starts listening for platform commands on the `[mqtt]` broker (needs
    /// a tokio runtime). Stop it with [`CommandListener::stop`].
    pub fn listen_commands(
        &self,
        mqtt: &MqttConfig,
        gateway: &str,
    ) -> Result<CommandListener, DeskError> {
        let client_id = format!("{}-desk", mqtt.client_id_for(gateway));
        let mut options = crate::delivery::mqtt::client_options(mqtt, gateway, &client_id, false)
            .map_err(|e| DeskError::Mqtt(e.to_string()))?;
        // Commands published while the gateway was away wait in the session.
        options.set_clean_session(false);
        let base = command_base(mqtt, gateway);
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(listen(self.clone(), options, base, stop_rx));
        Ok(CommandListener { stop, task })
    }
}

/// The running command subscription.
pub struct CommandListener {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl CommandListener {
    /// Disconnects and waits for the task to end.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn listen(
    desk: Desk,
    options: rumqttc::MqttOptions,
    base: String,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let (client, mut eventloop) = AsyncClient::new(options, 16);
    let filter = format!("{base}+/+");
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    let mut last_error = String::new();
    loop {
        let Some(polled) = poll_or_stop(&mut eventloop, &mut stop).await else {
            break;
        };
        match polled {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                backoff.reset();
                last_error.clear();
                if let Err(e) = client.try_subscribe(filter.clone(), QoS::AtLeastOnce) {
                    tracing::warn!(error = %e, "platform commands: cannot subscribe");
                } else {
                    tracing::info!(topic = %filter, "listening for platform commands");
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                let Some(tail) = p.topic.strip_prefix(&base).map(str::to_string) else {
                    continue;
                };
                let d = desk.clone();
                let payload = p.payload.to_vec();
                let outcome =
                    tokio::task::spawn_blocking(move || d.command(&tail, &payload).map(|_| tail))
                        .await;
                match outcome {
                    Ok(Ok(tail)) => tracing::debug!(command = %tail, "platform command taken"),
                    Ok(Err(e)) => {
                        crate::base::lock(&desk.inner.metrics).commands_refused += 1;
                        tracing::warn!(topic = %p.topic, reason = %e, "platform command refused");
                    }
                    Err(e) => tracing::error!(error = %e, "platform command task failed"),
                }
            }
            Ok(_) => {}
            Err(e) => {
                let msg = e.to_string();
                if msg != last_error {
                    tracing::warn!(error = %msg, "platform commands: broker connection lost; retrying");
                    last_error = msg;
                }
                if !back_off_or_stop(&mut backoff, &mut stop).await {
                    break;
                }
            }
        }
    }
    let _ = client.try_disconnect();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_strictly() {
        let (a, who) =
            parse_command("ack", br#"{"by":"district-ops","note":"unit 3 sent"}"#).unwrap();
        assert_eq!(
            a,
            Action::Acknowledge {
                note: Some("unit 3 sent".into())
            }
        );
        assert_eq!(who.via, Via::Platform);
        let (a, _) = parse_command(
            "resolve",
            br#"{"by":"x","outcome":"false_alarm","reason":"bird"}"#,
        )
        .unwrap();
        assert!(matches!(
            a,
            Action::Resolve {
                outcome: Outcome::FalseAlarm,
                ..
            }
        ));
        let e = parse_command("ack", br#"{"by":"x","extra":1}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `extra`"), "{e}");
        let e = parse_command("resolve", br#"{"by":"x","outcome":"maybe"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown variant `maybe`"), "{e}");
        assert!(matches!(
            parse_command("close", b"{}"),
            Err(CommandError::Action(_))
        ));
        assert!(matches!(
            parse_command("ack", b"not json"),
            Err(CommandError::Payload(_))
        ));
    }
}
