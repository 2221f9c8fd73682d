//! [`OutboxError`]: what can go wrong with the outbox file, in words an
//! installer can act on.

use super::space::low_on_space;
use rusqlite::ErrorCode;
use std::path::{Path, PathBuf};

/// Errors from the outbox file. Each names the file and says what is wrong in
/// words an installer can act on.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("outbox {path}: the disk is full ({detail}); free space on that filesystem or lower outbox.max_bytes")]
    DiskFull { path: PathBuf, detail: String },
    #[error("outbox {path} is locked by another process ({detail})")]
    Locked { path: PathBuf, detail: String },
    #[error("outbox {path} is corrupt ({detail})")]
    Corrupt { path: PathBuf, detail: String },
    #[error("outbox {path} cannot be written ({detail}); check that its directory exists and that the daemon's user may write there")]
    Unwritable { path: PathBuf, detail: String },
    #[error("outbox {path} does not exist")]
    Missing { path: PathBuf },
    #[error("outbox {path} is a SQLite database but not an estatewatch outbox (application_id {application_id:#x}); point outbox.path at another file")]
    Foreign { path: PathBuf, application_id: i64 },
    #[error("outbox {path} has schema version {found}, newer than this estatewatch understands ({supported}); upgrade estatewatch or move the file aside")]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("outbox {path}: {detail}")]
    Other { path: PathBuf, detail: String },
}

impl OutboxError {
    /// Classifies a SQLite error on `path`.
    pub fn from_sqlite(path: &Path, e: rusqlite::Error) -> OutboxError {
        let path = path.to_path_buf();
        let detail = e.to_string();
        let code = match &e {
            rusqlite::Error::SqliteFailure(f, _) => Some(f.code),
            _ => None,
        };
        match code {
            Some(ErrorCode::DiskFull) => OutboxError::DiskFull { path, detail },
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                OutboxError::Locked { path, detail }
            }
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
                OutboxError::Corrupt { path, detail }
            }
            Some(ErrorCode::ReadOnly | ErrorCode::CannotOpen | ErrorCode::PermissionDenied) => {
                OutboxError::Unwritable { path, detail }
            }
            // SQLite reports ENOSPC on some writes (WAL, shm) as a generic I/O error.
            Some(ErrorCode::SystemIoFailure) if low_on_space(&path) => {
                OutboxError::DiskFull { path, detail }
            }
            _ => OutboxError::Other { path, detail },
        }
    }

    /// True for a damaged file that should be moved aside.
    pub fn is_corrupt(&self) -> bool {
        matches!(self, OutboxError::Corrupt { .. })
    }

    /// A short name of the problem, for status output and tests.
    pub fn kind(&self) -> &'static str {
        match self {
            OutboxError::DiskFull { .. } => "disk_full",
            OutboxError::Locked { .. } => "locked",
            OutboxError::Corrupt { .. } => "corrupt",
            OutboxError::Unwritable { .. } => "unwritable",
            OutboxError::Missing { .. } => "missing",
            OutboxError::Foreign { .. } => "foreign",
            OutboxError::TooNew { .. } => "too_new",
            OutboxError::Other { .. } => "other",
        }
    }
}
