//! Test helpers for delivery: a real `mosquitto` on a free port (plain or TLS,
//! with a CA and certificates made by the `openssl` CLI), a TCP [`Gate`] in
//! front of it, a [`Subscriber`] that records everything it receives, and
//! [`publish`] for a test that plays a sensor or the platform.
//!
//! Why a gate: when the broker restarts, the test's subscriber must be
//! subscribed again before the daemon resends, or the broker would accept
//! (PUBACK) alerts that no test client is there to see. The daemon connects
//! through the gate; the test opens the gate only once its subscriber is back.
//! While the gate is closed its port refuses connections, exactly like a
//! broker that is down.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    l.local_addr().expect("local addr").port()
}

fn wait_port(port: u16, up: bool, timeout: Duration) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        let ok = TcpStream::connect(("127.0.0.1", port)).is_ok();
        if ok == up {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Files of a test PKI: a CA, a server certificate for 127.0.0.1/localhost
/// and a client certificate, all PEM.
#[derive(Debug, Clone)]
pub struct Pki {
    pub ca_cert: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Makes a CA and certificates in `dir` with the `openssl` CLI (EC P-256).
pub fn make_pki(dir: &Path, name: &str) -> Pki {
    std::fs::create_dir_all(dir).expect("pki dir");
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj"]);
    let subj = format!("/CN=estatewatch test CA {name}");
    ca.push(&subj);
    ca.extend([
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(dir, &ca);
    for (who, usage, san) in [
        (
            "server",
            "serverAuth",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ),
        (
            "client",
            "clientAuth",
            "subjectAltName=DNS:estatewatch-client",
        ),
    ] {
        let mut req = vec!["req"];
        req.extend(ec);
        let key = format!("{who}.key");
        let csr = format!("{who}.csr");
        let subj = format!("/CN={who}");
        req.extend(["-keyout", &key, "-out", &csr, "-subj", &subj]);
        openssl(dir, &req);
        let ext = format!(
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage={usage}\n{san}\n"
        );
        std::fs::write(dir.join(format!("{who}.ext")), ext).expect("ext file");
        let pem = format!("{who}.pem");
        let extfile = format!("{who}.ext");
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &pem,
                "-days",
                "2",
                "-extfile",
                &extfile,
            ],
        );
    }
    Pki {
        ca_cert: dir.join("ca.pem"),
        server_cert: dir.join("server.pem"),
        server_key: dir.join("server.key"),
        client_cert: dir.join("client.pem"),
        client_key: dir.join("client.key"),
    }
}

/// A mosquitto process owned by the test. Killed when dropped.
pub struct Broker {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
    pub starts: u32,
}

impl Broker {
    /// A plain TCP broker on a free port.
    pub fn start() -> Broker {
        Broker::start_on(free_port())
    }

    /// A plain TCP broker on `port`.
    pub fn start_on(port: u16) -> Broker {
        Broker::with_listener(port, String::new())
    }

    /// A TLS broker on a free port using `pki`'s server certificate.
    pub fn start_tls(pki: &Pki, require_client_cert: bool) -> Broker {
        let tls = format!(
            "cafile {}\ncertfile {}\nkeyfile {}\nrequire_certificate {}\n",
            pki.ca_cert.display(),
            pki.server_cert.display(),
            pki.server_key.display(),
            require_client_cert
        );
        Broker::with_listener(free_port(), tls)
    }

    fn with_listener(port: u16, extra: String) -> Broker {
        let dir = tempfile::tempdir().expect("broker dir");
        // As root, mosquitto would switch to user `mosquitto`, which cannot
        // read the test's private temporary files.
        // SAFETY: geteuid has no preconditions.
        let user = if unsafe { libc::geteuid() } == 0 {
            "user root\n"
        } else {
            ""
        };
        let conf = format!(
            "listener {port} 127.0.0.1\n{extra}{user}allow_anonymous true\npersistence false\n\
             max_queued_messages 0\nmax_queued_bytes 0\nmax_inflight_messages 100\n\
             log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
        );
        std::fs::write(dir.path().join("mosquitto.conf"), conf).expect("write conf");
        let mut b = Broker {
            dir,
            port,
            child: None,
            starts: 0,
        };
        b.spawn();
        b
    }

    fn spawn(&mut self) {
        assert!(self.child.is_none(), "broker already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("mosquitto.log"))
            .expect("broker log");
        let log2 = log.try_clone().expect("log clone");
        // The port may still be in TIME_WAIT or held by the previous process for a moment.
        for attempt in 0..50 {
            let child = Command::new("mosquitto")
                .arg("-c")
                .arg(self.dir.path().join("mosquitto.conf"))
                .stdout(Stdio::from(log.try_clone().expect("log")))
                .stderr(Stdio::from(log2.try_clone().expect("log")))
                .spawn()
                .expect("start mosquitto (apt package mosquitto)");
            self.child = Some(child);
            if wait_port(self.port, true, Duration::from_secs(3)) {
                self.starts += 1;
                return;
            }
            self.kill9();
            assert!(
                attempt < 49,
                "mosquitto did not start on port {}: {}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// `kill -9`: no clean shutdown, sessions and in-flight messages are lost.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: sending a signal to our own child process.
            unsafe {
                libc::kill(c.id() as i32, libc::SIGTERM);
            }
            let _ = c.wait();
        }
    }

    /// Starts again on the same port with the same config.
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    /// The broker's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("mosquitto.log")).unwrap_or_default()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A TCP forwarder from its own port to a target port, that can refuse
/// connections (closed) or forward them (open). See the module doc.
pub struct Gate {
    port: u16,
    target: u16,
    run: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    pub opened: u32,
}

impl Gate {
    /// A closed gate on a free port, forwarding to `target` when open.
    pub fn new(target: u16) -> Gate {
        Gate {
            port: free_port(),
            target,
            run: None,
            conns: Arc::new(Mutex::new(Vec::new())),
            opened: 0,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port it forwards to.
    pub fn target_port(&self) -> u16 {
        self.target
    }

    pub fn is_open(&self) -> bool {
        self.run.is_some()
    }

    /// Starts accepting and forwarding.
    pub fn open(&mut self) {
        if self.run.is_some() {
            return;
        }
        let mut listener = None;
        for _ in 0..100 {
            match TcpListener::bind(("127.0.0.1", self.port)) {
                Ok(l) => {
                    listener = Some(l);
                    break;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        let listener = listener.expect("gate could not bind its port again");
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let (stop2, conns, target) = (stop.clone(), self.conns.clone(), self.target);
        let handle = std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let _ = client.set_nonblocking(false);
                        let Ok(upstream) = TcpStream::connect(("127.0.0.1", target)) else {
                            let _ = client.shutdown(Shutdown::Both);
                            continue;
                        };
                        let _ = client.set_nodelay(true);
                        let _ = upstream.set_nodelay(true);
                        {
                            let mut c = conns.lock().unwrap();
                            c.push(client.try_clone().unwrap());
                            c.push(upstream.try_clone().unwrap());
                        }
                        pipe(client.try_clone().unwrap(), upstream.try_clone().unwrap());
                        pipe(upstream, client);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        self.run = Some((stop, handle));
        self.opened += 1;
    }

    /// Stops listening (new connections are refused) and cuts open ones.
    pub fn close(&mut self) {
        if let Some((stop, handle)) = self.run.take() {
            stop.store(true, Ordering::SeqCst);
            let _ = handle.join();
        }
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.close();
    }
}

/// Copies `from` → `to` until either side ends, then shuts both down.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
    });
}

/// One received message.
#[derive(Debug, Clone)]
pub struct Msg {
    pub topic: String,
    pub payload: Vec<u8>,
    pub retain: bool,
    /// When the subscriber got it.
    pub received_at: Instant,
}

impl Msg {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.payload).unwrap_or(serde_json::Value::Null)
    }
}

/// TLS settings for the subscriber.
#[derive(Clone)]
pub struct SubTls {
    pub ca: PathBuf,
    pub client: Option<(PathBuf, PathBuf)>,
}

/// How long [`Subscriber::subscribed`] and [`publish`] wait for the broker:
/// a deadline for a loaded, shared machine, not a speed check.
pub const SUBSCRIBE_WAIT: Duration = Duration::from_secs(30);

/// Publishes `payload` on `topic` at QoS 1 with a client of its own and
/// waits for the broker's PUBACK (failing the test after [`SUBSCRIBE_WAIT`]).
pub fn publish(port: u16, topic: &str, payload: &[u8]) {
    publish_with(port, topic, payload, false);
}

/// [`publish`], retained; `payload` may be of any size.
pub fn publish_retained(port: u16, topic: &str, payload: &[u8]) {
    publish_with(port, topic, payload, true);
}

fn publish_with(port: u16, topic: &str, payload: &[u8], retain: bool) {
    use rumqttc::{Client, Event, MqttOptions, Outgoing, Packet, QoS};
    let mut o = MqttOptions::new(
        format!("test-pub-{}", uuid::Uuid::now_v7().simple()),
        "127.0.0.1",
        port,
    );
    o.set_keep_alive(Duration::from_secs(5));
    let max = payload.len() + 64 * 1024;
    o.set_max_packet_size(max, max);
    let (client, mut conn) = Client::new(o, 10);
    client
        .publish(topic, QoS::AtLeastOnce, retain, payload.to_vec())
        .unwrap();
    let end = Instant::now() + SUBSCRIBE_WAIT;
    for ev in conn.iter() {
        assert!(Instant::now() < end, "no PUBACK for {topic}");
        match ev {
            Ok(Event::Incoming(Packet::PubAck(_))) => break,
            Ok(Event::Outgoing(Outgoing::Disconnect)) => break,
            Ok(_) => {}
            Err(e) => panic!("publishing {topic}: {e}"),
        }
    }
    let _ = client.disconnect();
    // Until the DISCONNECT is written and the connection ends.
    for ev in conn.iter() {
        if ev.is_err() {
            break;
        }
    }
}

/// An MQTT client subscribed at QoS 1 that records everything, reconnecting
/// and resubscribing forever (until dropped).
pub struct Subscriber {
    msgs: Arc<Mutex<Vec<Msg>>>,
    subacks: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Subscriber {
    pub fn connect(port: u16, filter: &str) -> Subscriber {
        Subscriber::connect_with(port, filter, None)
    }

    pub fn connect_with(port: u16, filter: &str, tls: Option<SubTls>) -> Subscriber {
        use rumqttc::{Client, Event, MqttOptions, Packet, QoS};
        let id = format!("test-sub-{}", uuid::Uuid::now_v7().simple());
        let mut o = MqttOptions::new(id, "127.0.0.1", port);
        o.set_keep_alive(Duration::from_secs(5));
        o.set_clean_session(true);
        o.set_max_packet_size(8 << 20, 8 << 20);
        if let Some(t) = tls {
            let ca = std::fs::read(&t.ca).unwrap();
            let client = t
                .client
                .map(|(c, k)| (std::fs::read(c).unwrap(), std::fs::read(k).unwrap()));
            let mut roots = rustls::RootCertStore::empty();
            use rustls::pki_types::pem::PemObject;
            for c in rustls::pki_types::CertificateDer::pem_slice_iter(&ca) {
                roots.add(c.unwrap()).unwrap();
            }
            let b = rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
            let cfg = match client {
                Some((c, k)) => {
                    let chain = rustls::pki_types::CertificateDer::pem_slice_iter(&c)
                        .collect::<Result<Vec<_>, _>>()
                        .unwrap();
                    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(&k).unwrap();
                    b.with_client_auth_cert(chain, key).unwrap()
                }
                None => b.with_no_client_auth(),
            };
            o.set_transport(rumqttc::Transport::tls_with_config(
                rumqttc::TlsConfiguration::Rustls(Arc::new(cfg)),
            ));
        }
        let (client, mut connection) = Client::new(o, 100);
        let msgs = Arc::new(Mutex::new(Vec::new()));
        let subacks = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (m2, s2, stop2, filter) = (
            msgs.clone(),
            subacks.clone(),
            stop.clone(),
            filter.to_string(),
        );
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                match connection.recv_timeout(Duration::from_millis(100)) {
                    Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => {
                        let _ = client.try_subscribe(filter.clone(), QoS::AtLeastOnce);
                    }
                    Ok(Ok(Event::Incoming(Packet::SubAck(_)))) => {
                        s2.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(Ok(Event::Incoming(Packet::Publish(p)))) => {
                        m2.lock().unwrap().push(Msg {
                            topic: p.topic.clone(),
                            payload: p.payload.to_vec(),
                            retain: p.retain,
                            received_at: Instant::now(),
                        });
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(_)) => std::thread::sleep(Duration::from_millis(20)),
                    Err(_) => {}
                }
            }
        });
        Subscriber {
            msgs,
            subacks,
            stop,
            thread: Some(thread),
        }
    }

    /// [`connect`](Self::connect), then waits until the broker has
    /// acknowledged the subscription (failing the test after
    /// [`SUBSCRIBE_WAIT`]), so that nothing published afterwards is missed.
    pub fn subscribed(port: u16, filter: &str) -> Subscriber {
        let sub = Subscriber::connect(port, filter);
        sub.wait_subscribed(1, SUBSCRIBE_WAIT);
        sub
    }

    /// Subscriptions acknowledged so far (one per (re)connection).
    pub fn subacks(&self) -> u64 {
        self.subacks.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` subscriptions were acknowledged.
    pub fn wait_subscribed(&self, n: u64, timeout: Duration) {
        let end = Instant::now() + timeout;
        while self.subacks() < n {
            assert!(
                Instant::now() < end,
                "subscriber not subscribed after {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn messages(&self) -> Vec<Msg> {
        self.msgs.lock().unwrap().clone()
    }

    /// Messages on topics containing `/alerts/`, parsed.
    pub fn alerts(&self) -> Vec<serde_json::Value> {
        self.messages()
            .iter()
            .filter(|m| m.topic.contains("/alerts/"))
            .map(|m| m.json())
            .collect()
    }

    /// Waits until `pred` holds for the messages so far; false on timeout.
    pub fn wait_until(&self, timeout: Duration, pred: impl Fn(&[Msg]) -> bool) -> bool {
        let end = Instant::now() + timeout;
        loop {
            if pred(&self.msgs.lock().unwrap()) {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until at least `n` distinct alert ids arrived; false on timeout.
    pub fn wait_alert_ids(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, |msgs| {
            let ids: std::collections::HashSet<String> = msgs
                .iter()
                .filter(|m| m.topic.contains("/alerts/"))
                .filter_map(|m| m.json()["id"].as_str().map(String::from))
                .collect();
            ids.len() >= n
        })
    }

    /// The last payload received on `topic`, as text.
    pub fn last_on(&self, topic: &str) -> Option<String> {
        self.messages()
            .iter()
            .rev()
            .find(|m| m.topic == topic)
            .map(|m| String::from_utf8_lossy(&m.payload).into_owned())
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Checks received alert ids against the ids in creation order: every id
/// arrived, first arrivals are in creation order, and returns how many
/// messages were duplicates.
pub fn check_order_and_count_duplicates(expected: &[String], received: &[String]) -> usize {
    let pos: std::collections::HashMap<&str, usize> = expected
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let mut seen = std::collections::HashSet::new();
    let mut last = None;
    let mut duplicates = 0;
    for id in received {
        let Some(&p) = pos.get(id.as_str()) else {
            panic!("received an alert id that was never raised: {id}");
        };
        if !seen.insert(id.clone()) {
            duplicates += 1;
            continue;
        }
        if let Some(l) = last {
            assert!(
                p > l,
                "order broken: alert #{p} arrived after #{l} (first arrivals)"
            );
        }
        last = Some(p);
    }
    let missing: Vec<_> = expected.iter().filter(|id| !seen.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} alerts never arrived, first missing: {:?}",
        missing.len(),
        expected.len(),
        missing.first()
    );
    duplicates
}

/// A minimal config for tests. `mqtt_extra` and `extra` are appended to the
/// `[mqtt]` table and to the end.
///
/// Evidence goes to `evidence/` beside the outbox (never the system's
/// `/var/lib/estatewatch/evidence`); add `[evidence.http]` after it to serve it.
pub fn config_text(port: u16, outbox: &Path, mqtt_extra: &str, outbox_extra: &str) -> String {
    let evidence = outbox
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join("evidence");
    format!(
        "[site]\nid = \"test-estate\"\n[gateway]\nid = \"gw1\"\n\
         [mqtt]\nhost = \"127.0.0.1\"\nport = {port}\nkeep_alive_s = 5\n{mqtt_extra}\n\
         [outbox]\npath = \"{}\"\n{outbox_extra}\n\
         [evidence]\ndir = \"{}\"\n",
        outbox.display(),
        evidence.display()
    )
}

/// `text` from [`config_text`] without its `[evidence]` section (its last),
/// for a test that writes its own.
pub fn without_evidence(text: String) -> String {
    match text.find("[evidence]") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// The stored picture an alert points to (`evidence.files`, name
/// `snapshot-detect.jpg`), read from the evidence folder [`config_text`]
/// sets up beside `outbox`; fails the test unless it exists and matches
/// the alert's sha256 and size.
pub fn stored_snapshot(alert: &serde_json::Value, outbox: &Path) -> Vec<u8> {
    use sha2::Digest;
    let f = alert["evidence"]["files"]
        .as_array()
        .and_then(|fs| fs.iter().find(|f| f["name"] == "snapshot-detect.jpg"))
        .unwrap_or_else(|| panic!("no stored snapshot in {alert}"));
    let dir = outbox
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join("evidence");
    let bytes = std::fs::read(dir.join(f["path"].as_str().expect("a path")))
        .unwrap_or_else(|e| panic!("{f}: {e}"));
    let sha: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(f["sha256"].as_str(), Some(sha.as_str()), "{f}");
    assert_eq!(f["bytes"].as_u64(), Some(bytes.len() as u64), "{f}");
    bytes
}
