//! The real `estatewatch run` binary speaks the systemd notify protocol to a
//! socket this test listens on: READY=1 after start, WATCHDOG=1 pings while
//! analysis is alive, no pings once analysis hangs, STOPPING=1 on SIGTERM.
//! No broker runs: delivery starts without one.

use crate::common::daemon::Daemon;
use std::net::TcpListener;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::{Duration, Instant};

/// A port nobody listens on (bound, then released).
fn dead_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn config(dir: &Path, cameras: &str) -> std::path::PathBuf {
    let text = format!(
        "[site]\nid = \"test-estate\"\n[gateway]\nid = \"gw1\"\n\
         [mqtt]\nhost = \"127.0.0.1\"\nport = {}\n\
         [outbox]\npath = \"{}\"\n{cameras}",
        dead_port(),
        dir.join("outbox.db").display()
    );
    let path = dir.join("estatewatch.toml");
    std::fs::write(&path, text).unwrap();
    path
}

struct Run {
    daemon: Daemon,
    sock: UnixDatagram,
    log: std::path::PathBuf,
}

impl Run {
    fn start(dir: &Path, cameras: &str, extra_env: &[(&str, &str)]) -> Run {
        let sock_path = dir.join("notify.sock");
        let sock = UnixDatagram::bind(&sock_path).unwrap();
        let log = dir.join("daemon.log");
        let sock_env = sock_path.to_str().unwrap();
        let mut env = vec![("NOTIFY_SOCKET", sock_env), ("WATCHDOG_USEC", "400000")];
        env.extend_from_slice(extra_env);
        Run {
            daemon: Daemon::start_with(&config(dir, cameras), &log, &[], &env),
            sock,
            log,
        }
    }

    /// The next message within `timeout`, or `None`.
    fn recv(&self, timeout: Duration) -> Option<String> {
        self.sock.set_read_timeout(Some(timeout)).unwrap();
        let mut buf = [0u8; 256];
        match self.sock.recv(&mut buf) {
            Ok(n) => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
            Err(_) => None,
        }
    }

    /// Waits for `want`, returning the messages seen before it.
    fn expect(&self, want: &str, within: Duration) -> Vec<String> {
        let end = Instant::now() + within;
        let mut seen = Vec::new();
        while Instant::now() < end {
            match self.recv(end - Instant::now()) {
                Some(m) if m == want => return seen,
                Some(m) => seen.push(m),
                None => break,
            }
        }
        panic!(
            "no {want} within {within:?} (saw {seen:?}); log:\n{}",
            self.log()
        );
    }

    fn log(&self) -> String {
        self.daemon.log()
    }

    fn term(mut self) -> bool {
        self.daemon.term_within(Duration::from_secs(15))
    }
}

#[test]
fn ready_then_watchdog_pings_then_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let run = Run::start(dir.path(), "", &[]);
    let before = run.expect("READY=1", Duration::from_secs(20));
    assert!(before.is_empty(), "messages before READY: {before:?}");
    // Pings every 200 ms: several must arrive, none missing for long.
    for i in 0..5 {
        let m = run.recv(Duration::from_secs(3));
        assert_eq!(m.as_deref(), Some("WATCHDOG=1"), "ping {i}");
    }
    // SIGTERM → STOPPING=1 (pings may still be in flight before it).
    let sock = run.sock.try_clone().unwrap();
    let log = run.log.clone();
    assert!(run.term(), "daemon did not exit cleanly after SIGTERM");
    sock.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let mut buf = [0u8; 256];
    let mut msgs = Vec::new();
    while let Ok(n) = sock.recv(&mut buf) {
        msgs.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert!(
        msgs.iter().any(|m| m == "STOPPING=1"),
        "no STOPPING=1 after SIGTERM: {msgs:?}; log:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
    let after: Vec<_> = msgs
        .iter()
        .skip_while(|m| *m != "STOPPING=1")
        .skip(1)
        .collect();
    assert!(after.is_empty(), "messages after STOPPING=1: {after:?}");
}

#[test]
fn watchdog_pings_stop_when_analysis_hangs() {
    let dir = tempfile::tempdir().unwrap();
    // One camera nobody serves: its supervisor retries, its analysis worker
    // runs (and ticks) until the test hook makes it hang after 1.5 s.
    let cam = format!(
        "[[cameras]]\nname = \"gate\"\nurl = \"rtsp://127.0.0.1:{}/stream\"\n",
        dead_port()
    );
    let run = Run::start(
        dir.path(),
        &cam,
        &[("ESTATEWATCH_TEST_HANG_ANALYSIS_AFTER_MS", "1500")],
    );
    run.expect("READY=1", Duration::from_secs(20));
    // While the worker is alive, pings arrive.
    assert_eq!(
        run.recv(Duration::from_secs(3)).as_deref(),
        Some("WATCHDOG=1"),
        "log:\n{}",
        run.log()
    );
    // Once it hangs (1.5 s) and its heartbeat is older than the max age
    // (1 s floor), pings stop: drain, then expect silence for 2 s.
    let end = Instant::now() + Duration::from_secs(15);
    loop {
        match run.recv(Duration::from_secs(2)) {
            None => break,
            Some(m) => {
                assert_eq!(m, "WATCHDOG=1");
                assert!(
                    Instant::now() < end,
                    "pings never stopped; log:\n{}",
                    run.log()
                );
            }
        }
    }
    assert!(
        run.log().contains("not feeding the watchdog"),
        "log:\n{}",
        run.log()
    );
}
