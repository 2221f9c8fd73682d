//! Liveness for the service manager: the systemd notify protocol
//! (`READY=1`, `STOPPING=1`, `WATCHDOG=1`) and the analysis heartbeats that
//! decide whether the watchdog is fed.
//!
//! The protocol is one datagram per message to the Unix socket named by
//! `$NOTIFY_SOCKET` (a path, or an abstract name when it starts with `@`).
//! Without `$NOTIFY_SOCKET` (not under systemd) every call is a no-op.
//!
//! Watchdog rule: `WATCHDOG=1` is sent every `$WATCHDOG_USEC / 2`, but only
//! while every camera's analysis worker has ticked within the max age
//! (`$WATCHDOG_USEC / 2`, at least [`MIN_MAX_AGE`]). Workers tick on every
//! loop turn, also when no frame came (they wait at most 200 ms), so a
//! stale heartbeat means a hung analyzer; systemd then restarts the service.
//!
//! First start: a config that is still the packaged default (example ids, no
//! camera) is reported in one log line ([`setup_hint`]), naming the file and
//! what to fill in; `systemctl status` shows it among the latest log lines.

use std::io;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The shortest heartbeat max age, whatever `$WATCHDOG_USEC` says: a worker
/// busy with one slow frame must not look hung.
pub const MIN_MAX_AGE: Duration = Duration::from_secs(1);

/// Errors of the notify protocol.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    #[error("NOTIFY_SOCKET {socket:?}: {source}")]
    Socket { socket: String, source: io::Error },
}

/// Sends notify messages to the service manager, if there is one.
pub struct Notifier {
    target: Option<(UnixDatagram, SocketAddr, String)>,
}

impl Notifier {
    /// Reads `$NOTIFY_SOCKET`. Absent or empty: a notifier that does nothing.
    pub fn from_env() -> Result<Notifier, HealthError> {
        match std::env::var("NOTIFY_SOCKET") {
            Ok(s) if !s.is_empty() => Notifier::to_socket(&s),
            _ => Ok(Notifier { target: None }),
        }
    }

    /// A notifier for the socket `name` (a path, or `@abstract`).
    pub fn to_socket(name: &str) -> Result<Notifier, HealthError> {
        let err = |source| HealthError::Socket {
            socket: name.to_string(),
            source,
        };
        let addr = match name.strip_prefix('@') {
            Some(abstract_name) => {
                use std::os::linux::net::SocketAddrExt;
                SocketAddr::from_abstract_name(abstract_name.as_bytes()).map_err(err)?
            }
            None => SocketAddr::from_pathname(name).map_err(err)?,
        };
        let sock = UnixDatagram::unbound().map_err(err)?;
        Ok(Notifier {
            target: Some((sock, addr, name.to_string())),
        })
    }

    /// Whether a service manager listens (`$NOTIFY_SOCKET` was set).
    pub fn enabled(&self) -> bool {
        self.target.is_some()
    }

    /// Sends one message such as `READY=1`. Failures are logged, not fatal:
    /// the daemon's job is alerts, not talking to systemd.
    pub fn notify(&self, msg: &str) {
        if let Some((sock, addr, name)) = &self.target {
            if let Err(e) = sock.send_to_addr(msg.as_bytes(), addr) {
                tracing::warn!(socket = %name, msg, error = %e, "sd_notify failed");
            }
        }
    }
}

/// The watchdog timeout systemd asked for (`$WATCHDOG_USEC`), if it is meant
/// for this process (`$WATCHDOG_PID` absent or equal to our pid).
pub fn watchdog_timeout_from_env() -> Option<Duration> {
    if let Ok(pid) = std::env::var("WATCHDOG_PID") {
        if pid.trim().parse::<u32>().ok() != Some(std::process::id()) {
            return None;
        }
    }
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.trim().parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec))
}

/// `CLOCK_MONOTONIC` in microseconds, as `MONOTONIC_USEC=` wants it.
pub fn monotonic_usec() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec we pass.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    if rc != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1000
}

/// Milliseconds on a monotonic clock shared by all heartbeats.
pub fn now_ms() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    BASE.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// A worker's last-tick time ([`now_ms`]); cheap to clone and to beat.
#[derive(Debug, Clone)]
pub struct Heartbeat(Arc<AtomicU64>);

impl Heartbeat {
    /// A heartbeat that ticked now.
    pub fn new() -> Heartbeat {
        Heartbeat(Arc::new(AtomicU64::new(now_ms())))
    }

    /// Records a tick now.
    pub fn beat(&self) {
        self.0.store(now_ms(), Ordering::Relaxed);
    }

    /// The last tick ([`now_ms`] time).
    pub fn last(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl Default for Heartbeat {
    fn default() -> Self {
        Heartbeat::new()
    }
}

/// The set of named heartbeats (one per camera's analysis worker) and the
/// age beyond which one counts as hung. Clones share the set, so cameras
/// added or removed by a reload are seen by the watchdog feeder.
#[derive(Debug, Clone)]
pub struct Watchdog {
    beats: Arc<Mutex<Vec<(String, Heartbeat)>>>,
    max_age: Duration,
}

impl Watchdog {
    pub fn new(max_age: Duration) -> Watchdog {
        Watchdog {
            beats: Arc::default(),
            max_age,
        }
    }

    fn beats(&self) -> std::sync::MutexGuard<'_, Vec<(String, Heartbeat)>> {
        crate::base::lock(&self.beats)
    }

    /// Adds the heartbeat of `name` (a camera), replacing any previous one.
    pub fn add(&self, name: &str, beat: Heartbeat) {
        let mut beats = self.beats();
        beats.retain(|(n, _)| n != name);
        beats.push((name.to_string(), beat));
    }

    /// Forgets the heartbeat of `name` (a camera removed by a reload).
    pub fn remove(&self, name: &str) {
        self.beats().retain(|(n, _)| n != name);
    }

    /// The first heartbeat older than the max age at `now` ([`now_ms`]
    /// time), or `None` when all are fresh (also when there are none).
    pub fn stale(&self, now: u64) -> Option<String> {
        let max = self.max_age.as_millis() as u64;
        self.beats()
            .iter()
            .find(|(_, b)| now.saturating_sub(b.last()) > max)
            .map(|(n, _)| n.clone())
    }

    /// Whether every heartbeat is fresh at `now`.
    pub fn healthy(&self, now: u64) -> bool {
        self.stale(now).is_none()
    }
}

/// Feeds the systemd watchdog every `timeout / 2` while `watchdog` is
/// healthy, until the task is dropped or aborted. Logs once when feeding
/// stops (naming the hung camera) and once when it resumes.
pub async fn feed_watchdog(notifier: Arc<Notifier>, watchdog: Watchdog, timeout: Duration) {
    let mut tick = tokio::time::interval(timeout / 2);
    let mut feeding = true;
    loop {
        tick.tick().await;
        match watchdog.stale(now_ms()) {
            None => {
                if !feeding {
                    tracing::info!("analysis alive again; feeding the watchdog");
                    feeding = true;
                }
                notifier.notify("WATCHDOG=1");
            }
            Some(cam) => {
                if feeding {
                    tracing::error!(
                        camera = %cam,
                        "analysis worker hung; not feeding the watchdog (systemd will restart us)"
                    );
                    feeding = false;
                }
            }
        }
    }
}

/// The heartbeat max age for a watchdog `timeout`: half of it, at least
/// [`MIN_MAX_AGE`].
pub fn max_age_for(timeout: Duration) -> Duration {
    (timeout / 2).max(MIN_MAX_AGE)
}

/// Site and gateway ids that only the shipped configs use (the packaged
/// `/etc/estatewatch/estatewatch.toml` and the reference
/// `config/estatewatch.toml`): a daemon running with one of them has not
/// been set up yet.
pub const EXAMPLE_IDS: &[&str] = &[
    "example-site",
    "example-gateway",
    "harbour-view",
    "gw-tower-a",
];

/// What an installer still has to fill in before the daemon can do its job,
/// as one line naming the config file (`path`, when known); `None` when the
/// config looks set up (real ids and at least one enabled camera).
pub fn setup_hint(
    config: &crate::config::Config,
    path: Option<&std::path::Path>,
) -> Option<String> {
    let mut todo = Vec::new();
    let examples: Vec<&str> = [config.site.id.as_str(), config.gateway.id.as_str()]
        .into_iter()
        .filter(|id| EXAMPLE_IDS.contains(id))
        .collect();
    if !examples.is_empty() {
        todo.push(format!(
            "[site] id and [gateway] id (still the examples {}) and [mqtt] host/username/password_file of your broker",
            examples.join(", ")
        ));
    }
    if config.enabled_cameras().next().is_none() {
        todo.push("at least one [[cameras]] table with name and url (none is enabled)".to_string());
    }
    if todo.is_empty() {
        return None;
    }
    let file = path.map_or_else(
        || "the config file".to_string(),
        |p| p.display().to_string(),
    );
    Some(format!(
        "estatewatch is not set up yet: edit {file} and fill in {}; check it with `estatewatch check-config {file}`, then `systemctl restart estatewatch` (see /usr/share/doc/estatewatch/operations.md)",
        todo.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_hint_names_the_file_and_what_is_missing() {
        use crate::config::Config;
        let packaged = Config::parse(
            "[site]\nid = \"example-site\"\n[gateway]\nid = \"example-gateway\"\n\
             [outbox]\npath = \"/var/lib/estatewatch/outbox.db\"\n",
        )
        .unwrap();
        let path = std::path::Path::new("/etc/estatewatch/estatewatch.toml");
        let hint = setup_hint(&packaged, Some(path)).unwrap();
        assert!(!hint.contains('\n'), "{hint}");
        for needle in [
            "edit /etc/estatewatch/estatewatch.toml",
            "[site] id and [gateway] id",
            "example-site, example-gateway",
            "[[cameras]]",
        ] {
            assert!(hint.contains(needle), "no {needle:?} in {hint}");
        }
        let set_up = Config::parse(
            "[site]\nid = \"oak-court\"\n[gateway]\nid = \"gw-1\"\n\
             [outbox]\npath = \"/tmp/o.db\"\n\
             [[cameras]]\nname = \"gate\"\nurl = \"rtsp://192.0.2.1/s\"\n",
        )
        .unwrap();
        assert_eq!(setup_hint(&set_up, Some(path)), None);
        let no_camera = Config {
            cameras: Vec::new(),
            ..set_up
        };
        let hint = setup_hint(&no_camera, None).unwrap();
        assert!(
            hint.contains("[[cameras]]") && !hint.contains("[site]"),
            "{hint}"
        );
    }

    #[test]
    fn watchdog_healthy_only_while_all_beats_are_fresh() {
        let w = Watchdog::new(Duration::from_millis(500));
        assert!(w.healthy(now_ms() + 10_000), "no workers: healthy");
        let a = Heartbeat::new();
        let b = Heartbeat::new();
        w.add("gate", a.clone());
        w.add("shed", b.clone());
        let t = a.last().max(b.last());
        assert!(w.healthy(t + 400));
        // `shed` hangs: only `gate` keeps beating.
        a.0.store(t + 1000, Ordering::Relaxed);
        assert_eq!(w.stale(t + 1000).as_deref(), Some("shed"));
        assert!(!w.healthy(t + 1000));
        b.0.store(t + 1000, Ordering::Relaxed);
        assert!(w.healthy(t + 1000));
        // A removed camera no longer counts.
        b.0.store(t, Ordering::Relaxed);
        assert!(!w.healthy(t + 1000));
        w.remove("shed");
        assert!(w.healthy(t + 1000));
    }

    #[test]
    fn max_age_has_a_floor() {
        assert_eq!(
            max_age_for(Duration::from_secs(30)),
            Duration::from_secs(15)
        );
        assert_eq!(max_age_for(Duration::from_millis(400)), MIN_MAX_AGE);
    }

    #[test]
    fn notifier_sends_to_path_and_abstract_sockets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let server = UnixDatagram::bind(&path).unwrap();
        Notifier::to_socket(path.to_str().unwrap())
            .unwrap()
            .notify("READY=1");
        let mut buf = [0u8; 64];
        let n = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");

        use std::os::linux::net::SocketAddrExt;
        let name = format!("estatewatch-test-{}", std::process::id());
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let server = UnixDatagram::bind_addr(&addr).unwrap();
        Notifier::to_socket(&format!("@{name}"))
            .unwrap()
            .notify("STOPPING=1");
        let n = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"STOPPING=1");
    }
}
