//! Signals: the SIGTERM/SIGINT/SIGHUP/SIGUSR1 streams the daemon's main loop
//! waits on, and `estatewatch reload` and `estatewatch selftest`, which send
//! SIGHUP and SIGUSR1 to the running daemon.

use crate::config::Config;
use std::path::Path;

/// `estatewatch reload`: sends SIGHUP to the daemon that holds the outbox
/// lock of the (already validated) config at `path`.
pub fn request_reload(path: &Path) -> anyhow::Result<()> {
    let pid = signal_daemon(path, libc::SIGHUP, "reload")?;
    println!("asked estatewatch (pid {pid}) to reload {}", path.display());
    Ok(())
}

/// `estatewatch selftest`: sends SIGUSR1 to the daemon that holds the
/// outbox lock of the config at `path`, which then runs every camera's
/// self-test on its next frames.
pub fn request_selftest(path: &Path) -> anyhow::Result<()> {
    let pid = signal_daemon(path, libc::SIGUSR1, "self-test")?;
    println!(
        "asked estatewatch (pid {pid}) to run every camera's self-test now; results on /metrics (estatewatch_selftest_pass) and the stats topic in a few seconds"
    );
    Ok(())
}

/// Sends `sig` to the daemon running with the config at `path`; returns its pid.
fn signal_daemon(path: &Path, sig: libc::c_int, what: &str) -> anyhow::Result<libc::pid_t> {
    let config = Config::load(path)?;
    let outbox = &config.outbox.path;
    let pid = match crate::delivery::DaemonLock::holder(outbox) {
        Some(Some(pid)) => pid,
        Some(None) => anyhow::bail!(
            "a daemon holds {} but its pid is unknown; use `systemctl reload estatewatch` or `kill -HUP` (self-test: `kill -USR1`)",
            outbox.display()
        ),
        None => anyhow::bail!(
            "no running daemon uses the outbox {} (from {}); nothing to {what}",
            outbox.display(),
            path.display()
        ),
    };
    let pid = libc::pid_t::try_from(pid)?;
    // SAFETY: kill(2) with a pid read from the daemon's lock file.
    if unsafe { libc::kill(pid, sig) } != 0 {
        anyhow::bail!(
            "cannot signal daemon pid {pid}: {}",
            std::io::Error::last_os_error()
        );
    }
    Ok(pid)
}

/// The signals the daemon acts on.
pub(super) enum Signal {
    Hangup,
    /// SIGUSR1: run every camera's self-test now.
    Selftest,
    Stop(&'static str),
}

/// SIGTERM, SIGINT and SIGHUP streams, installed before anything starts so
/// an early SIGHUP does not kill the process; and SIGUSR1 (self-test now).
pub(super) struct Signals {
    streams: Option<(
        tokio::signal::unix::Signal,
        tokio::signal::unix::Signal,
        tokio::signal::unix::Signal,
    )>,
    usr1: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    pub(super) fn install() -> Signals {
        use tokio::signal::unix::{signal, SignalKind};
        let usr1 = signal(SignalKind::user_defined1())
            .map_err(|e| tracing::warn!(error = %e, "cannot install SIGUSR1; `estatewatch selftest` will not work"))
            .ok();
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
        ) {
            (Ok(t), Ok(i), Ok(h)) => Signals {
                streams: Some((t, i, h)),
                usr1,
            },
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                tracing::error!(error = %e, "cannot install signal handlers; stop with SIGKILL");
                Signals {
                    streams: None,
                    usr1,
                }
            }
        }
    }

    pub(super) async fn next(&mut self) -> Signal {
        let Signals { streams, usr1 } = self;
        let Some((term, int, hup)) = streams else {
            std::future::pending::<()>().await;
            return Signal::Stop("none");
        };
        let usr1 = async {
            match usr1 {
                Some(s) => s.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = term.recv() => Signal::Stop("SIGTERM"),
            _ = int.recv() => Signal::Stop("SIGINT"),
            _ = hup.recv() => Signal::Hangup,
            _ = usr1 => Signal::Selftest,
        }
    }
}
