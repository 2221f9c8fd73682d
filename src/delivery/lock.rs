//! The daemon lock: an exclusive `flock` on `<outbox>.lock`, so only one
//! daemon uses an outbox, and the shared-lock probe with which
//! `send-test-alert` finds out whether a daemon runs.

use std::path::{Path, PathBuf};

/// An exclusive `flock` on `<outbox>.lock`, held while the daemon runs. The
/// kernel releases it when the process dies, even by SIGKILL.
pub struct DaemonLock {
    _file: std::fs::File,
}

/// Why [`DaemonLock::acquire`] failed.
#[derive(Debug)]
pub(super) enum LockError {
    /// Another process holds the lock (its pid, if it wrote one).
    Held(Option<u32>),
    /// The lock file cannot be created or locked.
    Io(std::io::Error),
}

fn lock_path(outbox: &Path) -> PathBuf {
    let mut p = outbox.as_os_str().to_owned();
    p.push(".lock");
    PathBuf::from(p)
}

fn try_flock(file: &std::fs::File, exclusive: bool) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    let op = if exclusive {
        libc::LOCK_EX
    } else {
        libc::LOCK_SH
    } | libc::LOCK_NB;
    // SAFETY: flock on a file descriptor we own; no memory is shared.
    let rc = unsafe { libc::flock(file.as_raw_fd(), op) };
    if rc == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(e)
    }
}

impl DaemonLock {
    /// Takes the lock on `outbox` and writes this process's pid into it.
    pub(super) fn acquire(outbox: &Path) -> Result<DaemonLock, LockError> {
        use std::io::{Read, Seek, Write};
        let path = lock_path(outbox);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(LockError::Io)?;
        if !try_flock(&file, true).map_err(LockError::Io)? {
            let mut s = String::new();
            let _ = file.read_to_string(&mut s);
            return Err(LockError::Held(s.trim().parse().ok()));
        }
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = writeln!(file, "{}", std::process::id());
        Ok(DaemonLock { _file: file })
    }

    /// `Some(pid)` (pid if known) when a daemon holds the lock on `outbox`.
    pub fn holder(outbox: &Path) -> Option<Option<u32>> {
        let path = lock_path(outbox);
        let file = std::fs::File::open(&path).ok()?;
        match try_flock(&file, false) {
            Ok(false) => Some(
                std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|s| s.trim().parse().ok()),
            ),
            _ => None,
        }
    }
}
