//! Disk space: the WAL limit and checkpoints, the reserve file, free-space
//! measures.
//!
//! The WAL is checkpointed once it holds [`SpacePlan::wal_limit_bytes`] and
//! truncated to that size afterwards, so it cannot grow to fill a small disk.
//! [`SpacePlan`] also sizes the reserve file (`<outbox>.reserve`) that
//! [`crate::delivery::store`] releases when the disk fills, and a `max_bytes` that fits
//! the filesystem.

use super::{Outbox, OutboxError};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Suffix of the reserve file beside the outbox: `<outbox>.reserve`.
pub const RESERVE_SUFFIX: &str = ".reserve";

/// Bounds of [`SpacePlan::reserve_bytes`].
pub(super) const RESERVE_BYTES: (u64, u64) = (512 * 1024, 16 * 1024 * 1024);

/// Bounds of [`SpacePlan::wal_limit_bytes`].
pub(super) const WAL_LIMIT_BYTES: (u64, u64) = (256 * 1024, 4 * 1024 * 1024);

/// Room kept for the shared-memory file and SQLite's temporary needs.
pub(super) const SHM_ALLOWANCE: u64 = 64 * 1024;

/// The smallest `max_bytes` a [`SpacePlan`] derives (the config's minimum).
pub(super) const MIN_MAX_BYTES: u64 = 64 * 1024;

/// True when the filesystem holding `path` has less than 1 MiB free.
pub(super) fn low_on_space(path: &Path) -> bool {
    free_bytes(path).is_some_and(|free| free < 1024 * 1024)
}

/// Bytes an unprivileged writer may still use on the filesystem holding the
/// file `path`; `None` when that cannot be measured.
pub fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: `c` is a valid NUL-terminated path and `st` is a plain C struct
    // that statvfs fills in; it is only read when the call succeeded.
    unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c.as_ptr(), &mut st) != 0 {
            return None;
        }
        Some(((st.f_bavail as u128) * (st.f_frsize as u128)).min(u64::MAX as u128) as u64)
    }
}

/// `path` with `suffix` appended to its file name.
pub(super) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// Size of the file at `path`, 0 when it does not exist.
pub(super) fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// The reserve file of the outbox at `outbox`: `<outbox>.reserve`.
pub fn reserve_path(outbox: &Path) -> PathBuf {
    sibling(outbox, RESERVE_SUFFIX)
}

/// Makes the reserve file of `outbox` exactly `bytes` long, with its blocks
/// allocated (not a sparse file), so deleting it gives that space back.
pub fn create_reserve(outbox: &Path, bytes: u64) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let path = reserve_path(outbox);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)?;
    if file.metadata()?.len() > bytes {
        file.set_len(bytes)?;
    }
    let len = libc::off_t::try_from(bytes).map_err(std::io::Error::other)?;
    // SAFETY: posix_fallocate on a descriptor we own; it only changes the file.
    let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len) };
    if rc != 0 {
        let e = std::io::Error::from_raw_os_error(rc);
        drop(file);
        let _ = std::fs::remove_file(&path);
        return Err(e);
    }
    file.sync_all()
}

/// How the outbox shares the filesystem it lives on. Measured when the
/// daemon opens its outbox; see the module doc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SpacePlan {
    /// Free space on the filesystem, bytes.
    pub free_bytes: u64,
    /// Space the outbox can count on: the free space plus its own files
    /// (database, WAL, reserve).
    pub usable_bytes: u64,
    /// Size of the reserve file: 1/16 of `usable_bytes`, 512 KiB to 16 MiB.
    pub reserve_bytes: u64,
    /// WAL size at which it is checkpointed, and to which it is truncated
    /// afterwards: 1/32 of `usable_bytes`, 256 KiB to 4 MiB.
    pub wal_limit_bytes: u64,
    /// The `max_bytes` to enforce: half of what is usable beyond the reserve
    /// and the WAL (SQLite pages can take twice the payload they hold), at
    /// least 64 KiB and at most the configured `outbox.max_bytes`.
    pub max_bytes: u64,
}

impl SpacePlan {
    /// Measures the filesystem holding the outbox `path`; `None` when it
    /// cannot be measured.
    pub fn measure(path: &Path, configured_max_bytes: u64) -> Option<SpacePlan> {
        let free = free_bytes(path)?;
        let own = file_len(path) + file_len(&sibling(path, "-wal")) + file_len(&reserve_path(path));
        let usable = free.saturating_add(own);
        let reserve_bytes = (usable / 16).clamp(RESERVE_BYTES.0, RESERVE_BYTES.1);
        let wal_limit_bytes = (usable / 32).clamp(WAL_LIMIT_BYTES.0, WAL_LIMIT_BYTES.1);
        let room = usable.saturating_sub(reserve_bytes + wal_limit_bytes + SHM_ALLOWANCE);
        Some(SpacePlan {
            free_bytes: free,
            usable_bytes: usable,
            reserve_bytes,
            wal_limit_bytes,
            max_bytes: (room / 2).max(MIN_MAX_BYTES).min(configured_max_bytes),
        })
    }
}

impl Outbox {
    /// Size of the WAL file now, bytes.
    pub fn wal_bytes(&self) -> u64 {
        file_len(&sibling(&self.path, "-wal"))
    }

    /// Copies the WAL into the database and truncates the WAL file to zero
    /// (`wal_checkpoint(TRUNCATE)`). Returns false when a reader in another
    /// process kept it from finishing.
    pub fn checkpoint(&mut self) -> Result<bool, OutboxError> {
        let busy: i64 = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        Ok(busy == 0)
    }
}
