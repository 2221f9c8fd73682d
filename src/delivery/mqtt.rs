//! MQTT specifics: the topic layout, the rumqttc client options (credentials,
//! TLS with rustls and the `ring` provider, last will), readable
//! descriptions of connection errors, and the two waits every rumqttc event
//! loop here makes against its stop signal ([`poll_or_stop`],
//! [`back_off_or_stop`]: the publisher's connection, the desk's command
//! listener, the sensor input).

use super::config::{MqttConfig, TlsConfig};
use crate::alert::AlertKind;
use crate::base::Backoff;
use rumqttc::{
    ConnectReturnCode, ConnectionError, Event, EventLoop, LastWill, MqttOptions, QoS, StateError,
    TlsConfiguration, Transport,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Most QoS 1 messages handed to the broker and not yet acknowledged.
pub const WINDOW: u16 = 64;
/// Largest alert JSON published; bigger alerts lose their snapshot first.
pub const MAX_ALERT_BYTES: usize = 2 * 1024 * 1024;
/// Largest MQTT packet in either direction (alert plus topic and header).
pub const MAX_PACKET_BYTES: usize = MAX_ALERT_BYTES + 64 * 1024;
/// Payload of the retained status topic while the gateway is connected.
pub const STATUS_ONLINE: &str = "online";
/// Marks an absolute topic in the outbox's `topic` column: a row whose
/// topic is `abs:<topic>` is published on `<topic>` as it is (a platform
/// profile's mapped message, `delivery::profile`); any other topic is
/// under `<prefix>/<gateway>/`.
pub const ABSOLUTE_TOPIC: &str = "abs:";
/// Payload of the retained status topic otherwise (also the last will).
pub const STATUS_OFFLINE: &str = "offline";

/// The topic names of one gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    base: String,
}

impl Topics {
    pub fn new(prefix: &str, gateway: &str) -> Topics {
        Topics {
            base: format!("{prefix}/{gateway}"),
        }
    }

    /// `<prefix>/<gateway>/alerts/<kind>`
    pub fn alert(&self, kind: AlertKind) -> String {
        format!("{}/alerts/{}", self.base, kind.as_str())
    }

    /// `<prefix>/<gateway>/status`: retained `online` / `offline`.
    pub fn status(&self) -> String {
        format!("{}/status", self.base)
    }

    /// `<prefix>/<gateway>/cameras/<camera>/state`: retained JSON.
    pub fn camera_state(&self, camera: &str) -> String {
        format!("{}/cameras/{camera}/state", self.base)
    }

    /// `<prefix>/<gateway>/cameras/<camera>/snapshot/<kind>`: the latest
    /// picture of that kind of alert at that camera, a raw JPEG, retained.
    pub fn snapshot(&self, camera: &str, kind: AlertKind) -> String {
        format!("{}/cameras/{camera}/snapshot/{}", self.base, kind.as_str())
    }

    /// `<prefix>/<gateway>/cameras/<camera>/incident/<kind>`: retained `ON`
    /// while an incident of that kind is open at that camera, `OFF`
    /// otherwise (with `[homeassistant]`, its binary_sensor's state).
    pub fn incident_state(&self, camera: &str, kind: AlertKind) -> String {
        format!("{}/cameras/{camera}/incident/{}", self.base, kind.as_str())
    }

    /// `<prefix>/<gateway>/incidents/open`: retained, the number of
    /// incidents open now (with `[homeassistant]`, its sensor's state).
    pub fn open_incidents(&self) -> String {
        format!("{}/incidents/open", self.base)
    }

    /// `<prefix>/<gateway>/stats`: retained JSON with the gateway's figures.
    pub fn stats(&self) -> String {
        format!("{}/stats", self.base)
    }

    /// `<prefix>/<gateway>/<suffix>`, e.g. the incident desk's
    /// `incidents/<event>/handling`.
    pub fn under(&self, suffix: &str) -> String {
        format!("{}/{suffix}", self.base)
    }

    /// The topic of an outbox row whose `topic` column is `stored`:
    /// `abs:<topic>` is `<topic>` ([`ABSOLUTE_TOPIC`]), anything else is
    /// [`under`](Self::under) the gateway.
    pub fn of_row(&self, stored: &str) -> String {
        match stored.strip_prefix(ABSOLUTE_TOPIC) {
            Some(absolute) => absolute.to_string(),
            None => self.under(stored),
        }
    }

    /// `<prefix>/<gateway>/#`: everything this gateway publishes.
    pub fn everything(&self) -> String {
        format!("{}/#", self.base)
    }
}

/// Problems building the client options: bad TLS files or credentials.
#[derive(Debug, thiserror::Error)]
pub enum MqttSetupError {
    #[error("mqtt.password: {0}")]
    Password(String),
    #[error("{field}: cannot read {path}: {reason}")]
    Pem {
        field: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("{field}: {path} contains no PEM {what}")]
    Empty {
        field: &'static str,
        path: PathBuf,
        what: &'static str,
    },
    #[error("{field}: {reason}")]
    Tls { field: &'static str, reason: String },
}

impl MqttSetupError {
    /// The config field the problem is about, e.g. `mqtt.tls.ca_file`.
    pub fn field(&self) -> &'static str {
        match self {
            MqttSetupError::Password(_) => "mqtt.password",
            MqttSetupError::Pem { field, .. }
            | MqttSetupError::Empty { field, .. }
            | MqttSetupError::Tls { field, .. } => field,
        }
    }

    /// The problem without the field name.
    pub fn detail(&self) -> String {
        let full = self.to_string();
        full.strip_prefix(self.field())
            .and_then(|rest| rest.strip_prefix(": "))
            .map_or(full.clone(), str::to_string)
    }
}

/// rumqttc options for the gateway `gateway` on the `[mqtt]` broker: clean
/// session, QoS 1 window, credentials, TLS, and (when `last_will`) a
/// retained `offline` on the status topic.
pub fn client_options(
    mqtt: &MqttConfig,
    gateway: &str,
    client_id: &str,
    last_will: bool,
) -> Result<MqttOptions, MqttSetupError> {
    let mut o = broker_options(mqtt, client_id)?;
    if last_will {
        let topics = Topics::new(&mqtt.topic_prefix, gateway);
        o.set_last_will(LastWill::new(
            topics.status(),
            STATUS_OFFLINE,
            QoS::AtLeastOnce,
            true,
        ));
    }
    Ok(o)
}

/// Connection options for any broker section (`[mqtt]`, `[sensor_broker]`):
/// address, keep-alive, clean session, credentials and TLS.
pub fn broker_options(m: &MqttConfig, client_id: &str) -> Result<MqttOptions, MqttSetupError> {
    let mut o = MqttOptions::new(client_id, m.host.clone(), m.port);
    o.set_keep_alive(Duration::from_secs(m.keep_alive_s));
    // The outbox, not the broker session, owns undelivered alerts (ADR 0001).
    o.set_clean_session(true);
    o.set_inflight(WINDOW);
    o.set_max_packet_size(MAX_PACKET_BYTES, MAX_PACKET_BYTES);
    if let Some(user) = &m.username {
        let password = m
            .password
            .resolve()
            .map_err(MqttSetupError::Password)?
            .unwrap_or_default();
        o.set_credentials(user.clone(), password);
    }
    if let Some(tls) = &m.tls {
        o.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
            Arc::new(rustls_config(tls)?),
        )));
    }
    Ok(o)
}

/// A rustls client config trusting only `tls.ca_file`, with the optional client
/// certificate. Uses the `ring` provider explicitly (no process-wide default).
pub fn rustls_config(tls: &TlsConfig) -> Result<rustls::ClientConfig, MqttSetupError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let certs = |field: &'static str,
                 path: &Path|
     -> Result<Vec<CertificateDer<'static>>, MqttSetupError> {
        let pem_err = |e: rustls::pki_types::pem::Error| MqttSetupError::Pem {
            field,
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let list = CertificateDer::pem_file_iter(path)
            .map_err(pem_err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(pem_err)?;
        if list.is_empty() {
            return Err(MqttSetupError::Empty {
                field,
                path: path.to_path_buf(),
                what: "certificate",
            });
        }
        Ok(list)
    };

    let mut roots = rustls::RootCertStore::empty();
    for cert in certs("mqtt.tls.ca_file", &tls.ca_file)? {
        roots.add(cert).map_err(|e| MqttSetupError::Tls {
            field: "mqtt.tls.ca_file",
            reason: format!("{}: {e}", tls.ca_file.display()),
        })?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| MqttSetupError::Tls {
            field: "mqtt.tls",
            reason: e.to_string(),
        })?
        .with_root_certificates(roots);
    match (&tls.client_cert, &tls.client_key) {
        (Some(cert), Some(key)) => {
            let chain = certs("mqtt.tls.client_cert", cert)?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| match e {
                rustls::pki_types::pem::Error::NoItemsFound => MqttSetupError::Empty {
                    field: "mqtt.tls.client_key",
                    path: key.clone(),
                    what: "private key",
                },
                e => MqttSetupError::Pem {
                    field: "mqtt.tls.client_key",
                    path: key.clone(),
                    reason: e.to_string(),
                },
            })?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| MqttSetupError::Tls {
                    field: "mqtt.tls.client_key",
                    reason: format!("does not match mqtt.tls.client_cert: {e}"),
                })
        }
        _ => Ok(builder.with_no_client_auth()),
    }
}

/// The next event of `eventloop`, or `None` once `stop` changes or its
/// sender is gone (the stop wins when both are ready). An event loop's task
/// ends on `None`.
pub async fn poll_or_stop(
    eventloop: &mut EventLoop,
    stop: &mut tokio::sync::watch::Receiver<bool>,
) -> Option<Result<Event, ConnectionError>> {
    tokio::select! {
        biased;
        _ = stop.changed() => None,
        r = eventloop.poll() => Some(r),
    }
}

/// After a failed connection: sleeps `backoff`'s next wait, unless `stop`
/// changes or its sender is gone first. False when the task is to end.
pub async fn back_off_or_stop(
    backoff: &mut Backoff,
    stop: &mut tokio::sync::watch::Receiver<bool>,
) -> bool {
    let wait = backoff.next_wait();
    tokio::select! {
        _ = stop.changed() => false,
        _ = tokio::time::sleep(wait) => true,
    }
}

/// One sentence saying why the connection failed, naming the config field to
/// check. Never contains the password.
pub fn describe_connection_error(e: &ConnectionError, m: &MqttConfig) -> String {
    let addr = format!("{}:{}", m.host, m.port);
    // TLS alerts sent by the broker surface as I/O errors at various levels.
    let inner = innermost(e);
    if inner.contains("CertificateRequired") {
        return format!("broker {addr} requires a TLS client certificate ({inner}); set mqtt.tls.client_cert and mqtt.tls.client_key");
    }
    if m.tls.is_some()
        && (inner.contains("alert: BadCertificate")
            || inner.contains("alert: UnknownCA")
            || inner.contains("alert: CertificateUnknown"))
    {
        return format!("broker {addr} rejected this gateway's TLS client certificate ({inner}); check mqtt.tls.client_cert and the broker's CA");
    }
    match e {
        ConnectionError::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            format!("broker {addr} refused the connection (is it running and listening on that port? see mqtt.host, mqtt.port)")
        }
        ConnectionError::Io(io) => format!("cannot reach broker {addr}: {}", plain_io(io)),
        ConnectionError::NetworkTimeout => format!("timed out connecting to broker {addr}"),
        ConnectionError::FlushTimeout => format!("timed out sending to broker {addr}"),
        ConnectionError::Tls(t) => {
            let inner = innermost(t);
            let hint = match &m.tls {
                Some(tls) if inner.contains("certificate") || inner.contains("Certificate") => format!(
                    "; the broker's certificate was not accepted: check that mqtt.tls.ca_file ({}) is the CA that signed it and that mqtt.host ({}) is a name or address in it",
                    tls.ca_file.display(),
                    m.host
                ),
                _ => String::new(),
            };
            format!("TLS handshake with broker {addr} failed: {inner}{hint}")
        }
        ConnectionError::ConnectionRefused(code) => match code {
            ConnectReturnCode::BadUserNamePassword => format!(
                "broker {addr} rejected the username or password (mqtt.username {:?}, mqtt.password)",
                m.username.as_deref().unwrap_or("")
            ),
            ConnectReturnCode::NotAuthorized => format!(
                "broker {addr} refused: not authorised (check mqtt.username and the broker's ACL)"
            ),
            ConnectReturnCode::BadClientId => format!(
                "broker {addr} rejected the client id (mqtt.client_id)"
            ),
            other => format!("broker {addr} refused the connection: {other:?}"),
        },
        ConnectionError::MqttState(StateError::Io(io)) => {
            format!("lost the connection to broker {addr} ({})", plain_io(io))
        }
        ConnectionError::MqttState(StateError::ConnectionAborted) => {
            format!("lost the connection to broker {addr} (it closed the connection)")
        }
        ConnectionError::MqttState(StateError::AwaitPingResp) => format!(
            "lost the connection to broker {addr} (it stopped answering keep-alive pings; see mqtt.keep_alive_s)"
        ),
        ConnectionError::MqttState(s) => format!("protocol error with broker {addr}: {s}"),
        other => format!("connection to broker {addr} failed: {other}"),
    }
}

/// An I/O error in plain words: "connection reset by the broker" rather than
/// `Custom { kind: ConnectionReset, … }`.
fn plain_io(io: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match io.kind() {
        ErrorKind::ConnectionReset => "connection reset by the broker".into(),
        ErrorKind::ConnectionAborted => "connection aborted".into(),
        ErrorKind::UnexpectedEof => "the broker closed the connection".into(),
        ErrorKind::BrokenPipe => "the broker closed the connection (broken pipe)".into(),
        ErrorKind::TimedOut => "timed out".into(),
        _ => io.to_string(),
    }
}

/// The deepest `source()` message of an error (TLS errors nest several levels).
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_follow_the_documented_layout() {
        let t = Topics::new("estatewatch", "gw1");
        assert_eq!(
            t.alert(AlertKind::CameraOffline),
            "estatewatch/gw1/alerts/camera_offline"
        );
        assert_eq!(t.status(), "estatewatch/gw1/status");
        assert_eq!(t.camera_state("gate"), "estatewatch/gw1/cameras/gate/state");
        assert_eq!(t.everything(), "estatewatch/gw1/#");
        assert_eq!(t.stats(), "estatewatch/gw1/stats");
    }

    #[test]
    fn refused_connection_is_described_without_secrets() {
        let mut m = MqttConfig {
            username: Some("u".into()),
            ..MqttConfig::default()
        };
        m.password.password = Some("hunter2".into());
        let e = ConnectionError::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        let s = describe_connection_error(&e, &m);
        assert!(s.contains("refused") && s.contains("127.0.0.1:1883"), "{s}");
        let e = ConnectionError::ConnectionRefused(ConnectReturnCode::BadUserNamePassword);
        let s = describe_connection_error(&e, &m);
        assert!(
            s.contains("username or password") && !s.contains("hunter2"),
            "{s}"
        );
    }

    /// A stopped task ends at once: the stop wins over a ready event (the
    /// event loop would otherwise try the unreachable broker and return its
    /// error) and over a long backoff.
    #[tokio::test]
    async fn a_stop_wins_over_polling_and_backing_off() {
        let (stop_tx, mut stop) = tokio::sync::watch::channel(false);
        let options = MqttOptions::new("test", "127.0.0.1", 1);
        let (_client, mut eventloop) = rumqttc::AsyncClient::new(options, 4);
        stop_tx.send(true).unwrap();
        assert!(poll_or_stop(&mut eventloop, &mut stop).await.is_none());

        let mut backoff = Backoff::new(Duration::from_secs(3600), Duration::from_secs(3600));
        let (stop_tx, mut stop) = tokio::sync::watch::channel(false);
        stop_tx.send(true).unwrap();
        let stopped = tokio::time::timeout(
            Duration::from_secs(60),
            back_off_or_stop(&mut backoff, &mut stop),
        )
        .await;
        assert_eq!(stopped, Ok(false), "the backoff must end on the stop");
        drop(stop_tx);
        let mut stop = tokio::sync::watch::channel(false).1;
        assert!(
            !back_off_or_stop(&mut backoff, &mut stop).await,
            "sender gone"
        );
    }
}
