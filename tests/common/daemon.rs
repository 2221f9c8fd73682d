//! Test helper for end-to-end tests: the real `estatewatch run` binary as a
//! child process ([`Daemon`]), its `/metrics` and `/healthz` endpoints
//! ([`http_get`], [`metrics`], [`metric`], [`scrape`]) and a polling
//! [`wait_for`] that prints the daemon's log when it times out.
//!
//! Included by each test binary through `tests/common/mod.rs`; use it as
//! `crate::common::daemon`.
//!
//! The daemon is started with `ESTATEWATCH_LOG=info`, `NO_COLOR=1` and no
//! `NOTIFY_SOCKET`, `WATCHDOG_USEC` or `WATCHDOG_PID` (a test runner started
//! by systemd must not have the test daemons talk to it); [`Daemon::start_with`] adds arguments and environment
//! (set after those defaults, so a test can set `NOTIFY_SOCKET` itself). Its
//! stderr is appended to a log file, so a test that restarts the daemon on
//! the same file keeps both runs. The process is killed (SIGKILL) when the
//! [`Daemon`] is dropped.
#![allow(dead_code)]

use estatewatch::delivery::DaemonLock;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `estatewatch` binary Cargo built for this test run.
pub const BIN: &str = env!("CARGO_BIN_EXE_estatewatch");

/// How long [`Daemon::start`] waits for the outbox lock: a deadline for a
/// slow, shared machine, not a speed check.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long [`Daemon::term`] waits for a clean exit after SIGTERM.
pub const TERM_TIMEOUT: Duration = Duration::from_secs(20);

/// A running `estatewatch run --config F`, killed when dropped.
pub struct Daemon {
    child: Option<Child>,
    pid: u32,
    log: PathBuf,
}

impl Daemon {
    /// Starts the daemon on `config` and waits until it holds the outbox
    /// lock at `outbox` (it has opened the outbox and is running), failing
    /// the test with the log if that takes more than [`START_TIMEOUT`].
    pub fn start(config: &Path, outbox: &Path, log: &Path) -> Daemon {
        let d = Daemon::spawn(config, log, &[], &[]);
        d.wait_started(outbox);
        d
    }

    /// Starts the daemon without waiting, with extra command-line `args`
    /// (after `run --config F`) and extra environment `env`.
    pub fn start_with(config: &Path, log: &Path, args: &[&str], env: &[(&str, &str)]) -> Daemon {
        Daemon::spawn(config, log, args, env)
    }

    fn spawn(config: &Path, log: &Path, args: &[&str], env: &[(&str, &str)]) -> Daemon {
        let err = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let mut cmd = Command::new(BIN);
        cmd.args(["run", "--config"])
            .arg(config)
            .args(args)
            .env("ESTATEWATCH_LOG", "info")
            .env("NO_COLOR", "1")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .stdout(Stdio::null())
            .stderr(Stdio::from(err));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap();
        Daemon {
            pid: child.id(),
            child: Some(child),
            log: log.to_path_buf(),
        }
    }

    /// Waits until the daemon holds the outbox lock at `outbox`.
    pub fn wait_started(&self, outbox: &Path) {
        let end = Instant::now() + START_TIMEOUT;
        while DaemonLock::holder(outbox).is_none() {
            assert!(
                Instant::now() < end,
                "daemon did not start:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The daemon's log so far, without terminal colour codes.
    pub fn log(&self) -> String {
        strip_ansi(&std::fs::read_to_string(&self.log).unwrap_or_default())
    }

    /// Waits until the log contains `needle`, failing the test with the log
    /// after `timeout`.
    pub fn wait_log(&self, needle: &str, timeout: Duration) {
        let end = Instant::now() + timeout;
        while !self.log().contains(needle) {
            assert!(
                Instant::now() < end,
                "no {needle:?} in the log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// How many times `needle` appears in the log.
    pub fn log_count(&self, needle: &str) -> usize {
        self.log().matches(needle).count()
    }

    /// Sends signal `sig` (e.g. `libc::SIGHUP`) to the daemon, if it runs.
    pub fn signal(&self, sig: i32) {
        if self.child.is_some() {
            // SAFETY: signalling our own child, which has not been reaped.
            unsafe {
                libc::kill(self.pid as i32, sig);
            }
        }
    }

    /// SIGTERM, then waits up to [`TERM_TIMEOUT`]; see [`Daemon::term_within`].
    pub fn term(&mut self) -> bool {
        self.term_within(TERM_TIMEOUT)
    }

    /// SIGTERM; returns whether the daemon exited with success within
    /// `timeout`. One that did not is killed. `false` when it was already
    /// stopped.
    pub fn term_within(&mut self, timeout: Duration) -> bool {
        let Some(mut c) = self.child.take() else {
            return false;
        };
        // SAFETY: signalling our own child, which has not been reaped.
        unsafe {
            libc::kill(self.pid as i32, libc::SIGTERM);
        }
        let end = Instant::now() + timeout;
        loop {
            if let Some(status) = c.try_wait().unwrap() {
                return status.success();
            }
            if Instant::now() > end {
                let _ = c.kill();
                let _ = c.wait();
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL and reap: the daemon gets no chance to clean up.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// `text` without `ESC [ ... <letter>` sequences.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `GET path` on 127.0.0.1:`port`: the status and body, `None` while
/// nothing listens (or the answer is not HTTP).
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n")?.1.to_string();
    Some((status, body))
}

/// The `/metrics` text; fails the test unless the endpoint answers 200.
pub fn metrics(port: u16) -> String {
    let (status, body) = http_get(port, "/metrics").expect("metrics endpoint answers");
    assert_eq!(status, 200, "{body}");
    body
}

/// The value of the sample `name{labels}` in a `/metrics` text (labels
/// exactly as rendered), `None` when it is not there.
pub fn metric(body: &str, sample: &str) -> Option<f64> {
    body.lines()
        .find(|l| l.starts_with(sample) && l[sample.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Scrapes `/metrics` and returns one sample's value; `None` while nothing
/// listens or when the sample is missing.
pub fn scrape(port: u16, sample: &str) -> Option<f64> {
    let (_, body) = http_get(port, "/metrics")?;
    metric(&body, sample)
}

/// Polls `f` every 100 ms until it returns `Some`, failing the test with
/// `what` and `log()` after `timeout`.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    log: &dyn Fn() -> String,
    mut f: impl FnMut() -> Option<T>,
) -> T {
    let end = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < end,
            "timed out waiting for {what}; log:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
