//! Signals: the SIGTERM/SIGINT/SIGHUP streams the daemon's main loop waits
//! on, and `estatewatch reload`, which sends SIGHUP to the running daemon.

use crate::config::Config;
use std::path::Path;

/// `estatewatch reload`: sends SIGHUP to the daemon that holds the outbox
/// lock of the (already validated) config at `path`; returns its pid.
pub fn request_reload(path: &Path) -> anyhow::Result<()> {
    let config = Config::load(path)?;
    let outbox = &config.outbox.path;
    let pid = match crate::delivery::DaemonLock::holder(outbox) {
        Some(Some(pid)) => pid,
        Some(None) => anyhow::bail!(
            "a daemon holds {} but its pid is unknown; use `systemctl reload estatewatch` or `kill -HUP`",
            outbox.display()
        ),
        None => anyhow::bail!(
            "no running daemon uses the outbox {} (from {}); nothing to reload",
            outbox.display(),
            path.display()
        ),
    };
    let pid = libc::pid_t::try_from(pid)?;
    // SAFETY: kill(2) with a pid read from the daemon's lock file.
    if unsafe { libc::kill(pid, libc::SIGHUP) } != 0 {
        anyhow::bail!(
            "cannot signal daemon pid {pid}: {}",
            std::io::Error::last_os_error()
        );
    }
    println!("asked estatewatch (pid {pid}) to reload {}", path.display());
    Ok(())
}

/// The signals the daemon acts on.
pub(super) enum Signal {
    Hangup,
    Stop(&'static str),
}

/// SIGTERM, SIGINT and SIGHUP streams, installed before anything starts so
/// an early SIGHUP does not kill the process.
pub(super) struct Signals {
    streams: Option<(
        tokio::signal::unix::Signal,
        tokio::signal::unix::Signal,
        tokio::signal::unix::Signal,
    )>,
}

impl Signals {
    pub(super) fn install() -> Signals {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
        ) {
            (Ok(t), Ok(i), Ok(h)) => Signals {
                streams: Some((t, i, h)),
            },
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                tracing::error!(error = %e, "cannot install signal handlers; stop with SIGKILL");
                Signals { streams: None }
            }
        }
    }

    pub(super) async fn next(&mut self) -> Signal {
        let Some((term, int, hup)) = &mut self.streams else {
            std::future::pending::<()>().await;
            return Signal::Stop("none");
        };
        tokio::select! {
            _ = term.recv() => Signal::Stop("SIGTERM"),
            _ = int.recv() => Signal::Stop("SIGINT"),
            _ = hup.recv() => Signal::Hangup,
        }
    }
}
