//! The outbox file: a SQLite database (WAL) where every alert waits until the
//! broker has acknowledged it.
//!
//! This module owns the on-disk format, its schema upgrades, the caps and drop
//! policy, and the counters. It knows nothing about MQTT; [`super::store`]
//! wraps it with an in-memory fallback for when the file cannot be written.
//!
//! # Invariants
//!
//! 1. An alert is committed here (`synchronous = FULL`, so it survives a crash
//!    or power cut) before anything tries to publish it.
//! 2. Alert ids (`id`, the alert's UUIDv7) are unique: inserting an id that is
//!    already queued is a no-op.
//! 3. A row leaves the table only when (a) the broker's PUBACK for the very
//!    packet that carried it arrived ([`Outbox::remove_delivered`]), (b) the cap
//!    policy drops it, (c) it outlived the optional TTL, or (d) an installer
//!    purged it. Every (b)–(d) removal is counted in `counters`.
//! 4. Delivery order is `seq` order. `seq` is `INTEGER PRIMARY KEY
//!    AUTOINCREMENT`: it only grows and is never reused, even by rows inserted
//!    by another process (`estatewatch send-test-alert`).
//! 5. `totals` always equals `COUNT(*)` and `SUM(bytes)` of `outbox` (kept by
//!    triggers, in the same transaction as the change).
//! 6. `open_events` holds one row per incident that is open: a `new` or
//!    `update` of a kind with a lifecycle ([`AlertKind::has_lifecycle`])
//!    inserts or refreshes its `event`'s row, and any `end` deletes it, in the
//!    same transaction as the alert's own insert. It is independent of the
//!    `outbox` rows (delivery never touches it; caps and TTL only lower its
//!    `live` counts, invariant 7), so after a crash it tells which incidents
//!    were never ended ([`Outbox::open_events`]).
//! 7. Every row records its alert's `event` and `state` (NULL when the payload
//!    is not an alert). `open_events.live` counts the incident's `new` and
//!    `update` alerts committed here and not dropped (delivered ones count). An
//!    `end` row's `held` is that count when the `end` was committed (1 when
//!    the incident is not in `open_events`: it began before this file
//!    recorded it), less those dropped since; it is 0 for every other row.
//!    So `held > 0` means staff got, or will get, some alert of the incident.
//!
//! # Drop policy (caps)
//!
//! After each insert, while the table holds more than `max_rows` rows or more
//! than `max_bytes` payload bytes, the row with the lowest severity is dropped,
//! the oldest (lowest `seq`) first among equals. A `critical` alert is therefore
//! dropped only when every remaining row is critical. The alert just inserted
//! is a candidate like any other, so an `info` alert arriving at a full outbox
//! of `major` alerts is itself the one dropped.
//!
//! One exception: an `end` that is held (invariant 7) goes only after every
//! other row, so an incident staff saw open is never left without its `end`
//! (an `info` `camera_online` outlives the `major` alerts around it). Once
//! every alert of its incident was dropped unseen, the `end` is an ordinary
//! row again. The TTL never drops a held `end` either.
//!
//! # Space
//!
//! The WAL is checkpointed once it holds [`SpacePlan::wal_limit_bytes`] and
//! truncated to that size afterwards, so it cannot grow to fill a small disk.
//! [`SpacePlan`] also sizes the reserve file (`<outbox>.reserve`) that
//! [`super::store`] releases when the disk fills, and a `max_bytes` that fits
//! the filesystem.
//!
//! # Schema versions
//!
//! `PRAGMA user_version` holds the schema version and `PRAGMA application_id`
//! marks the file as an estatewatch outbox. [`MIGRATIONS`] lists the explicit,
//! numbered upgrade steps; each runs in its own transaction together with the
//! `user_version` bump. A file with a newer version than this build knows is
//! refused, never modified.

use crate::alert::{AlertKind, Severity};
use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use uuid::Uuid;

/// Schema version this build writes.
pub const SCHEMA_VERSION: i64 = 3;

/// `PRAGMA application_id` of an outbox file ("EWOB").
pub const APPLICATION_ID: i64 = 0x4557_4f42;

/// How long a statement waits for another connection's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_millis(1000);

/// Upgrade steps: `(version reached, SQL)`, applied in order to files whose
/// `user_version` is lower than the step's version.
pub const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        r#"
    CREATE TABLE outbox (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT, -- delivery order
        id          TEXT    NOT NULL UNIQUE,           -- the alert's UUIDv7
        kind        TEXT    NOT NULL,                  -- AlertKind::as_str
        severity    INTEGER NOT NULL,                  -- Severity::rank, 0..=3
        created_ms  INTEGER NOT NULL,                  -- alert detected_at, Unix ms
        enqueued_ms INTEGER NOT NULL,                  -- committed here, Unix ms
        attempts    INTEGER NOT NULL DEFAULT 0,        -- times handed to the broker
        bytes       INTEGER NOT NULL,                  -- length(payload)
        payload     BLOB    NOT NULL                   -- the alert JSON, as published
    );
    CREATE INDEX outbox_drop_order ON outbox (severity, seq);
    CREATE TABLE totals (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        rows      INTEGER NOT NULL,
        bytes     INTEGER NOT NULL
    );
    INSERT INTO totals (singleton, rows, bytes) VALUES (1, 0, 0);
    CREATE TRIGGER outbox_totals_insert AFTER INSERT ON outbox BEGIN
        UPDATE totals SET rows = rows + 1, bytes = bytes + NEW.bytes;
    END;
    CREATE TRIGGER outbox_totals_delete AFTER DELETE ON outbox BEGIN
        UPDATE totals SET rows = rows - 1, bytes = bytes - OLD.bytes;
    END;
    CREATE TABLE counters (
        name  TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    );
    "#,
    ),
    (
        2,
        r#"
    CREATE TABLE open_events (
        event      TEXT    PRIMARY KEY,                -- the incident's `event` UUID
        kind       TEXT    NOT NULL,                   -- AlertKind::as_str of its `new`
        updated_ms INTEGER NOT NULL,                   -- latest new/update committed, Unix ms
        summary    BLOB    NOT NULL                    -- that alert's JSON without its snapshot
    );
    "#,
    ),
    (
        3,
        r#"
    ALTER TABLE outbox ADD COLUMN event TEXT;          -- the alert's `event` UUID
    ALTER TABLE outbox ADD COLUMN state TEXT;          -- `new`, `update` or `end`
    ALTER TABLE outbox ADD COLUMN held INTEGER NOT NULL DEFAULT 0; -- invariant 7
    UPDATE outbox
       SET event = json_extract(CAST(payload AS TEXT), '$.event'),
           state = json_extract(CAST(payload AS TEXT), '$.state')
     WHERE json_valid(CAST(payload AS TEXT));
    UPDATE outbox SET held = 1 WHERE state = 'end';    -- unknown history: keep them
    CREATE INDEX outbox_event ON outbox (event) WHERE event IS NOT NULL;
    ALTER TABLE open_events ADD COLUMN live INTEGER NOT NULL DEFAULT 1; -- invariant 7
    "#,
    ),
];

/// Suffix of the reserve file beside the outbox: `<outbox>.reserve`.
pub const RESERVE_SUFFIX: &str = ".reserve";
/// Bounds of [`SpacePlan::reserve_bytes`].
const RESERVE_BYTES: (u64, u64) = (512 * 1024, 16 * 1024 * 1024);
/// Bounds of [`SpacePlan::wal_limit_bytes`].
const WAL_LIMIT_BYTES: (u64, u64) = (256 * 1024, 4 * 1024 * 1024);
/// Room kept for the shared-memory file and SQLite's temporary needs.
const SHM_ALLOWANCE: u64 = 64 * 1024;
/// The smallest `max_bytes` a [`SpacePlan`] derives (the config's minimum).
const MIN_MAX_BYTES: u64 = 64 * 1024;

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

/// True when the filesystem holding `path` has less than 1 MiB free.
fn low_on_space(path: &Path) -> bool {
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
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// Size of the file at `path`, 0 when it does not exist.
fn file_len(path: &Path) -> u64 {
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

/// The limits the drop policy enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    pub max_rows: u64,
    pub max_bytes: u64,
    /// Rows older than this (since they were enqueued) are dropped.
    pub ttl: Option<Duration>,
}

impl Caps {
    pub fn from_config(c: &super::config::OutboxConfig) -> Caps {
        Caps {
            max_rows: c.max_rows,
            max_bytes: c.max_bytes,
            ttl: c.ttl_hours.map(|h| Duration::from_secs(h * 3600)),
        }
    }
}

/// An alert ready to be stored: its JSON and the fields the outbox indexes.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedAlert {
    pub id: Uuid,
    pub kind: AlertKind,
    pub severity: Severity,
    /// The alert's `detected_at`, Unix milliseconds.
    pub created_ms: i64,
    /// The alert JSON exactly as it will be published.
    pub payload: Vec<u8>,
}

/// A queued row, as the publisher reads it.
#[derive(Debug, Clone)]
pub struct Row {
    pub seq: i64,
    pub id: Uuid,
    pub kind: AlertKind,
    pub severity: Severity,
    pub enqueued_ms: i64,
    pub attempts: u32,
    pub payload: Vec<u8>,
}

/// A queued row without its payload, for `estatewatch outbox list`.
#[derive(Debug, Clone, Serialize)]
pub struct RowInfo {
    pub seq: i64,
    pub id: String,
    pub kind: String,
    pub severity: String,
    pub created_at: String,
    pub enqueued_at: String,
    pub attempts: u32,
    pub bytes: u64,
}

/// A row removed by the drop policy or the TTL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    pub seq: i64,
    pub id: Uuid,
    pub severity: Severity,
}

/// What [`Outbox::append`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Rows inserted.
    pub inserted: usize,
    /// Alerts ignored because their id was already queued.
    pub duplicates: usize,
    /// Rows the cap policy removed (possibly some just inserted).
    pub dropped: Vec<Dropped>,
}

/// Counts for `estatewatch outbox stats`.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxStats {
    pub path: String,
    pub schema_version: i64,
    /// Undelivered rows.
    pub rows: u64,
    /// Sum of their payload sizes.
    pub payload_bytes: u64,
    /// Database file plus its WAL and shared-memory files.
    pub file_bytes: u64,
    /// `queued` (never handed to the broker) and `sent` (handed over, PUBACK
    /// not yet received).
    pub by_state: BTreeMap<String, u64>,
    pub by_kind: BTreeMap<String, u64>,
    pub by_severity: BTreeMap<String, u64>,
    /// Age of the oldest undelivered row, seconds.
    pub oldest_age_s: Option<f64>,
    pub oldest_enqueued_at: Option<String>,
    /// Persistent counters: `delivered`, `dropped_cap_<severity>`,
    /// `dropped_ttl_<severity>`, `dropped_memory_<severity>`,
    /// `dropped_intake_<severity>`, `purged`, and `salvaged` / `salvage_lost`
    /// (rows rescued from / lost with a damaged outbox this one replaced).
    pub counters: BTreeMap<String, u64>,
}

/// An open outbox file.
pub struct Outbox {
    conn: Connection,
    path: PathBuf,
    caps: Caps,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Outbox({})", self.path.display())
    }
}

/// The name of a counter for a severity, e.g. `dropped_cap_info`.
pub fn counter_name(prefix: &str, severity: Severity) -> String {
    format!("{prefix}_{}", severity_name(severity))
}

pub fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Major => "major",
        Severity::Critical => "critical",
    }
}

pub fn severity_from_rank(rank: i64) -> Option<Severity> {
    match rank {
        0 => Some(Severity::Info),
        1 => Some(Severity::Warning),
        2 => Some(Severity::Major),
        3 => Some(Severity::Critical),
        _ => None,
    }
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn ms_to_rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|| ms.to_string())
}

impl Outbox {
    /// Opens (and, with `create`, creates) the outbox at `path`, upgrading its
    /// schema and checking it is intact.
    pub fn open(path: &Path, caps: Caps, create: bool) -> Result<Outbox, OutboxError> {
        if !create && !path.exists() {
            return Err(OutboxError::Missing {
                path: path.to_path_buf(),
            });
        }
        let err = |e| OutboxError::from_sqlite(path, e);
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let conn = Connection::open_with_flags(path, flags).map_err(err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        if conn.is_readonly(rusqlite::MAIN_DB).map_err(err)? {
            return Err(OutboxError::Unwritable {
                path: path.to_path_buf(),
                detail: "the file is read-only".into(),
            });
        }
        // Reading the journal mode is the first access to the file: a file that
        // is not a database fails here.
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %path.display(), %mode, "outbox could not switch to WAL mode");
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(err)?;
        // Keep the WAL small (see the module doc); SQLite's own default is
        // about 4 MiB, the largest limit used here.
        let wal_limit = SpacePlan::measure(path, caps.max_bytes)
            .map_or(WAL_LIMIT_BYTES.1, |p| p.wal_limit_bytes);
        let page_size: i64 = conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .map_err(err)?;
        conn.pragma_update(None, "journal_size_limit", wal_limit as i64)
            .map_err(err)?;
        conn.pragma_update(
            None,
            "wal_autocheckpoint",
            (wal_limit as i64 / page_size.max(512)).max(16),
        )
        .map_err(err)?;
        let mut outbox = Outbox {
            conn,
            path: path.to_path_buf(),
            caps,
        };
        outbox.upgrade()?;
        outbox.quick_check()?;
        Ok(outbox)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn caps(&self) -> Caps {
        self.caps
    }

    /// Changes the limits the drop policy enforces from the next insert on.
    pub fn set_caps(&mut self, caps: Caps) {
        self.caps = caps;
    }

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

    fn err(&self, e: rusqlite::Error) -> OutboxError {
        OutboxError::from_sqlite(&self.path, e)
    }

    /// The schema version stored in the file.
    pub fn schema_version(&self) -> Result<i64, OutboxError> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// Applies every upgrade step the file has not had yet.
    fn upgrade(&mut self) -> Result<(), OutboxError> {
        let latest = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
        // Fast path without a write lock: already current.
        if self.identify(latest)? == latest {
            return Ok(());
        }
        // Each step runs in a write transaction that re-reads the version, so
        // two processes opening a new file at once upgrade it exactly once.
        for (step, sql) in MIGRATIONS {
            let path = self.path.clone();
            let err = |e| OutboxError::from_sqlite(&path, e);
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(err)?;
            let version: i64 = tx
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(err)?;
            if version >= *step {
                continue;
            }
            tx.execute_batch(sql).map_err(err)?;
            tx.pragma_update(None, "application_id", APPLICATION_ID)
                .map_err(err)?;
            tx.pragma_update(None, "user_version", step).map_err(err)?;
            tx.commit().map_err(err)?;
            tracing::info!(path = %self.path.display(), version = step, "outbox schema upgraded");
        }
        Ok(())
    }

    /// Checks the file is an outbox (or empty) this build can use; returns its version.
    fn identify(&self, latest: i64) -> Result<i64, OutboxError> {
        let version = self.schema_version()?;
        let app_id: i64 = self
            .conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if version == 0 && app_id == 0 {
            let tables: i64 = self
                .conn
                .query_row(
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'",
                    [],
                    |r| r.get(0),
                )
                .map_err(|e| self.err(e))?;
            if tables > 0 {
                return Err(OutboxError::Foreign {
                    path: self.path.clone(),
                    application_id: app_id,
                });
            }
        } else if app_id != APPLICATION_ID {
            return Err(OutboxError::Foreign {
                path: self.path.clone(),
                application_id: app_id,
            });
        }
        if version > latest {
            return Err(OutboxError::TooNew {
                path: self.path.clone(),
                found: version,
                supported: latest,
            });
        }
        Ok(version)
    }

    /// `PRAGMA quick_check`: finds most damage without reading every byte twice.
    fn quick_check(&self) -> Result<(), OutboxError> {
        let result: String = self
            .conn
            .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if result == "ok" {
            Ok(())
        } else {
            Err(OutboxError::Corrupt {
                path: self.path.clone(),
                detail: format!("integrity check: {result}"),
            })
        }
    }

    /// Commits `alerts` in one transaction, then applies the cap policy.
    pub fn append(&mut self, alerts: &[EncodedAlert]) -> Result<AppendOutcome, OutboxError> {
        let path = self.path.clone();
        let caps = self.caps;
        let err = |e| OutboxError::from_sqlite(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let mut outcome = AppendOutcome::default();
        {
            let now = now_ms();
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO outbox
                         (id, kind, severity, created_ms, enqueued_ms, bytes, payload, event, state, held)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .map_err(err)?;
            for a in alerts {
                let head = LifecycleHead::of(&a.payload);
                let held = match &head {
                    Some(h) if h.state == crate::alert::AlertState::End => {
                        end_hold(&tx, h.event).map_err(err)?
                    }
                    _ => 0,
                };
                let n = insert
                    .execute(params![
                        a.id.to_string(),
                        a.kind.as_str(),
                        a.severity.rank(),
                        a.created_ms,
                        now,
                        a.payload.len() as i64,
                        a.payload,
                        head.as_ref().map(|h| h.event.to_string()),
                        head.as_ref().map(|h| state_name(h.state)),
                        held,
                    ])
                    .map_err(err)?;
                if n == 1 {
                    outcome.inserted += 1;
                    if let Some(h) = &head {
                        track_lifecycle(&tx, a, h, now).map_err(err)?;
                    }
                } else {
                    outcome.duplicates += 1;
                }
            }
        }
        outcome.dropped = enforce_caps(&tx, caps).map_err(err)?;
        count_drops(&tx, "dropped_cap", &outcome.dropped).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(outcome)
    }

    /// Incidents that were opened and never ended, oldest first, each as the
    /// latest `new`/`update` alert (without its snapshot). Rows that no longer
    /// parse are skipped with a warning.
    pub fn open_events(&self) -> Result<Vec<crate::alert::Alert>, OutboxError> {
        let err = |e| OutboxError::from_sqlite(&self.path, e);
        let mut stmt = self
            .conn
            .prepare("SELECT event, summary FROM open_events ORDER BY updated_ms, event")
            .map_err(err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .map_err(err)?;
        let mut out = Vec::new();
        for row in rows {
            let (event, summary) = row.map_err(err)?;
            match serde_json::from_slice(&summary) {
                Ok(a) => out.push(a),
                Err(e) => {
                    tracing::warn!(path = %self.path.display(), event, error = %e, "unreadable open incident skipped")
                }
            }
        }
        Ok(out)
    }

    /// Undelivered rows with `seq > after`, oldest first, at most `limit`.
    pub fn rows_after(&self, after: i64, limit: usize) -> Result<Vec<Row>, OutboxError> {
        let err = |e| OutboxError::from_sqlite(&self.path, e);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, id, kind, severity, enqueued_ms, attempts, payload
                 FROM outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map(params![after, limit as i64], read_row)
            .map_err(err)?;
        let mut out = Vec::new();
        for r in rows {
            match r.map_err(err)? {
                Some(row) => out.push(row),
                None => {
                    tracing::error!(path = %self.path.display(), "outbox row with an unknown kind or severity skipped")
                }
            }
        }
        Ok(out)
    }

    /// Counts a publish attempt for each row (best effort, relaxed durability).
    pub fn mark_sent(&mut self, seqs: &[i64]) -> Result<(), OutboxError> {
        if seqs.is_empty() {
            return Ok(());
        }
        let path = self.path.clone();
        let err = |e| OutboxError::from_sqlite(&path, e);
        self.relaxed(|tx| {
            let mut stmt =
                tx.prepare_cached("UPDATE outbox SET attempts = attempts + 1 WHERE seq = ?1")?;
            for s in seqs {
                stmt.execute([s])?;
            }
            Ok(())
        })
        .map_err(err)
    }

    /// Removes rows whose PUBACK arrived. Returns how many were still there.
    ///
    /// Runs with `synchronous = NORMAL`: losing this commit in a power cut only
    /// means those alerts are sent again (consumers drop duplicates by `id`).
    pub fn remove_delivered(&mut self, seqs: &[i64]) -> Result<u64, OutboxError> {
        if seqs.is_empty() {
            return Ok(0);
        }
        let path = self.path.clone();
        let err = |e| OutboxError::from_sqlite(&path, e);
        self.relaxed(|tx| {
            let mut removed = 0u64;
            {
                let mut stmt = tx.prepare_cached("DELETE FROM outbox WHERE seq = ?1")?;
                for s in seqs {
                    removed += stmt.execute([s])? as u64;
                }
            }
            add_counter(tx, "delivered", removed)?;
            Ok(removed)
        })
        .map_err(err)
    }

    /// Runs `f` in a write transaction committed with `synchronous = NORMAL`.
    fn relaxed<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        let result: rusqlite::Result<T> = (|| {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let v = f(&tx)?;
            tx.commit()?;
            Ok(v)
        })();
        let restore = self.conn.pragma_update(None, "synchronous", "FULL");
        let v = result?;
        restore?;
        Ok(v)
    }

    /// Drops rows enqueued longer ago than the TTL (if one is set).
    pub fn expire(&mut self, now_ms: i64) -> Result<Vec<Dropped>, OutboxError> {
        let Some(ttl) = self.caps.ttl else {
            return Ok(Vec::new());
        };
        let cutoff = now_ms - ttl.as_millis() as i64;
        let path = self.path.clone();
        let err = |e| OutboxError::from_sqlite(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let mut victims = Vec::new();
        // Dropping a `new` can release its `end` (invariant 7): look again
        // until nothing more is due.
        loop {
            let due = {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT seq, id, severity, bytes, event, state FROM outbox
                         WHERE enqueued_ms < ?1 AND held = 0 ORDER BY seq",
                    )
                    .map_err(err)?;
                let rows = stmt.query_map([cutoff], Victim::read).map_err(err)?;
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(err)?
            };
            if due.is_empty() {
                break;
            }
            for v in &due {
                drop_row(&tx, v).map_err(err)?;
                victims.push(v.dropped());
            }
        }
        count_drops(&tx, "dropped_ttl", &victims).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(victims)
    }

    /// Adds `n` to a persistent counter.
    pub fn add_counters(&mut self, counts: &BTreeMap<String, u64>) -> Result<(), OutboxError> {
        let path = self.path.clone();
        let err = |e| OutboxError::from_sqlite(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        for (name, n) in counts {
            add_counter(&tx, name, *n).map_err(err)?;
        }
        tx.commit().map_err(err)
    }

    /// Deletes every undelivered row; counted as `purged`. Returns how many.
    pub fn purge(&mut self) -> Result<u64, OutboxError> {
        let path = self.path.clone();
        let err = |e| OutboxError::from_sqlite(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let n = tx.execute("DELETE FROM outbox", []).map_err(err)? as u64;
        add_counter(&tx, "purged", n).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(n)
    }

    /// Number of undelivered rows and their payload bytes (from `totals`).
    pub fn totals(&self) -> Result<(u64, u64), OutboxError> {
        self.conn
            .query_row("SELECT rows, bytes FROM totals", [], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64))
            })
            .map_err(|e| self.err(e))
    }

    /// When the oldest waiting row was enqueued (ms since the Unix epoch).
    pub fn oldest_enqueued_ms(&self) -> Result<Option<i64>, OutboxError> {
        self.conn
            .query_row("SELECT MIN(enqueued_ms) FROM outbox", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// True when `id` is still waiting for delivery.
    pub fn contains(&self, id: Uuid) -> Result<bool, OutboxError> {
        self.conn
            .query_row(
                "SELECT 1 FROM outbox WHERE id = ?1",
                [id.to_string()],
                |_| Ok(()),
            )
            .optional()
            .map(|o| o.is_some())
            .map_err(|e| self.err(e))
    }

    /// The persistent counters.
    pub fn counters(&self) -> Result<BTreeMap<String, u64>, OutboxError> {
        let err = |e| OutboxError::from_sqlite(&self.path, e);
        let mut stmt = self
            .conn
            .prepare("SELECT name, value FROM counters ORDER BY name")
            .map_err(err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })
            .map_err(err)?;
        rows.collect::<rusqlite::Result<BTreeMap<_, _>>>()
            .map_err(err)
    }

    /// Everything `estatewatch outbox stats` shows.
    pub fn stats(&self) -> Result<OutboxStats, OutboxError> {
        let err = |e| OutboxError::from_sqlite(&self.path, e);
        let (rows, payload_bytes) = self.totals()?;
        let group = |sql: &str| -> Result<Vec<(String, u64)>, OutboxError> {
            let mut stmt = self.conn.prepare(sql).map_err(err)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
                })
                .map_err(err)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(err)
        };
        let mut by_state: BTreeMap<String, u64> =
            [("queued".to_string(), 0), ("sent".to_string(), 0)].into();
        for (k, v) in group(
            "SELECT CASE WHEN attempts = 0 THEN 'queued' ELSE 'sent' END, COUNT(*) FROM outbox GROUP BY 1",
        )? {
            by_state.insert(k, v);
        }
        let by_kind = group("SELECT kind, COUNT(*) FROM outbox GROUP BY kind")?
            .into_iter()
            .collect();
        let by_severity =
            group("SELECT CAST(severity AS TEXT), COUNT(*) FROM outbox GROUP BY severity")?
                .into_iter()
                .map(|(rank, n)| {
                    let name = rank
                        .parse::<i64>()
                        .ok()
                        .and_then(severity_from_rank)
                        .map(severity_name)
                        .unwrap_or("unknown");
                    (name.to_string(), n)
                })
                .collect();
        let oldest: Option<i64> = self
            .conn
            .query_row("SELECT MIN(enqueued_ms) FROM outbox", [], |r| r.get(0))
            .map_err(err)?;
        let file_bytes = ["", "-wal", "-shm"]
            .iter()
            .filter_map(|suffix| {
                let mut p = self.path.as_os_str().to_owned();
                p.push(suffix);
                std::fs::metadata(PathBuf::from(p)).ok().map(|m| m.len())
            })
            .sum();
        Ok(OutboxStats {
            path: self.path.display().to_string(),
            schema_version: self.schema_version()?,
            rows,
            payload_bytes,
            file_bytes,
            by_state,
            by_kind,
            by_severity,
            oldest_age_s: oldest.map(|t| ((now_ms() - t).max(0) as f64) / 1000.0),
            oldest_enqueued_at: oldest.map(ms_to_rfc3339),
            counters: self.counters()?,
        })
    }

    /// Undelivered rows without payloads, oldest first.
    pub fn list(&self, limit: usize) -> Result<Vec<RowInfo>, OutboxError> {
        let err = |e| OutboxError::from_sqlite(&self.path, e);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT seq, id, kind, severity, created_ms, enqueued_ms, attempts, bytes
                 FROM outbox ORDER BY seq LIMIT ?1",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map([limit as i64], |r| {
                let sev: i64 = r.get(3)?;
                Ok(RowInfo {
                    seq: r.get(0)?,
                    id: r.get(1)?,
                    kind: r.get(2)?,
                    severity: severity_from_rank(sev)
                        .map(severity_name)
                        .unwrap_or("unknown")
                        .to_string(),
                    created_at: ms_to_rfc3339(r.get(4)?),
                    enqueued_at: ms_to_rfc3339(r.get(5)?),
                    attempts: r.get::<_, i64>(6)? as u32,
                    bytes: r.get::<_, i64>(7)? as u64,
                })
            })
            .map_err(err)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(err)
    }
}

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<Row>> {
    let id: String = r.get(1)?;
    let kind: String = r.get(2)?;
    let sev: i64 = r.get(3)?;
    let (Ok(id), Ok(kind), Some(severity)) = (
        Uuid::parse_str(&id),
        kind.parse::<AlertKind>(),
        severity_from_rank(sev),
    ) else {
        return Ok(None);
    };
    Ok(Some(Row {
        seq: r.get(0)?,
        id,
        kind,
        severity,
        enqueued_ms: r.get(4)?,
        attempts: r.get::<_, i64>(5)? as u32,
        payload: r.get(6)?,
    }))
}

/// A row chosen to be dropped.
struct Victim {
    seq: i64,
    id: String,
    severity: i64,
    bytes: i64,
    event: Option<String>,
    state: Option<String>,
}

impl Victim {
    /// Reads `seq, id, severity, bytes, event, state`.
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<Victim> {
        Ok(Victim {
            seq: r.get(0)?,
            id: r.get(1)?,
            severity: r.get(2)?,
            bytes: r.get(3)?,
            event: r.get(4)?,
            state: r.get(5)?,
        })
    }

    fn dropped(&self) -> Dropped {
        Dropped {
            seq: self.seq,
            id: Uuid::parse_str(&self.id).unwrap_or(Uuid::nil()),
            severity: severity_from_rank(self.severity).unwrap_or(Severity::Info),
        }
    }
}

/// The drop policy: see the module doc.
fn enforce_caps(tx: &rusqlite::Transaction<'_>, caps: Caps) -> rusqlite::Result<Vec<Dropped>> {
    let (rows, bytes): (i64, i64) = tx.query_row("SELECT rows, bytes FROM totals", [], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    let (mut rows, mut bytes) = (rows as u64, bytes as u64);
    let mut victims = Vec::new();
    // One row at a time: dropping a `new` can release its `end` (invariant 7).
    while rows > caps.max_rows || bytes > caps.max_bytes {
        let Some(v) = next_victim(tx)? else { break };
        drop_row(tx, &v)?;
        rows -= 1;
        bytes = bytes.saturating_sub(v.bytes as u64);
        victims.push(v.dropped());
    }
    Ok(victims)
}

/// The row the drop policy removes next: the lowest severity, oldest first,
/// held `end`s only when nothing else is left.
fn next_victim(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<Option<Victim>> {
    for sql in [
        "SELECT seq, id, severity, bytes, event, state FROM outbox
         WHERE held = 0 ORDER BY severity, seq LIMIT 1",
        "SELECT seq, id, severity, bytes, event, state FROM outbox
         WHERE held > 0 ORDER BY severity, seq LIMIT 1",
    ] {
        let v = tx
            .prepare_cached(sql)?
            .query_row([], Victim::read)
            .optional()?;
        if v.is_some() {
            return Ok(v);
        }
    }
    Ok(None)
}

/// Deletes a dropped row, keeping invariant 7: a dropped `new` or `update`
/// no longer counts for its incident.
fn drop_row(tx: &rusqlite::Transaction<'_>, v: &Victim) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM outbox WHERE seq = ?1")?
        .execute([v.seq])?;
    let (Some(event), Some("new" | "update")) = (v.event.as_deref(), v.state.as_deref()) else {
        return Ok(());
    };
    let open = tx
        .prepare_cached("UPDATE open_events SET live = MAX(live - 1, 0) WHERE event = ?1")?
        .execute([event])?;
    if open == 0 {
        // Already ended: the count lives on the queued `end`, if any.
        tx.prepare_cached(
            "UPDATE outbox SET held = held - 1 WHERE event = ?1 AND state = 'end' AND held > 0",
        )?
        .execute([event])?;
    }
    Ok(())
}

/// `held` for a new `end` of `event` (invariant 7).
fn end_hold(tx: &rusqlite::Transaction<'_>, event: Uuid) -> rusqlite::Result<i64> {
    let live: Option<i64> = tx
        .prepare_cached("SELECT live FROM open_events WHERE event = ?1")?
        .query_row([event.to_string()], |r| r.get(0))
        .optional()?;
    Ok(live.map_or(1, |n| n.max(0)))
}

fn state_name(s: crate::alert::AlertState) -> &'static str {
    use crate::alert::AlertState;
    match s {
        AlertState::New => "new",
        AlertState::Update => "update",
        AlertState::End => "end",
    }
}

fn count_drops(
    tx: &rusqlite::Transaction<'_>,
    prefix: &str,
    dropped: &[Dropped],
) -> rusqlite::Result<()> {
    let mut by: BTreeMap<String, u64> = BTreeMap::new();
    for d in dropped {
        *by.entry(counter_name(prefix, d.severity)).or_default() += 1;
    }
    for (name, n) in by {
        add_counter(tx, &name, n)?;
    }
    Ok(())
}

fn add_counter(tx: &rusqlite::Transaction<'_>, name: &str, n: u64) -> rusqlite::Result<()> {
    if n == 0 {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO counters (name, value) VALUES (?1, ?2)
         ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
        params![name, n as i64],
    )?;
    Ok(())
}

/// Moves a damaged outbox (and its WAL and shared-memory files) aside to
/// `<path>.corrupt-<UTC time>` and returns the new name. Nothing is deleted.
pub fn quarantine(path: &Path) -> std::io::Result<PathBuf> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let mut target = path.as_os_str().to_owned();
    target.push(format!(".corrupt-{stamp}"));
    let target = PathBuf::from(target);
    for suffix in ["-wal", "-shm"] {
        let mut from = path.as_os_str().to_owned();
        from.push(suffix);
        let mut to = target.as_os_str().to_owned();
        to.push(suffix);
        match std::fs::rename(&from, &to) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    std::fs::rename(path, &target)?;
    Ok(target)
}

/// The parts of an alert's JSON that say where it stands in its incident.
#[derive(serde::Deserialize)]
struct LifecycleHead {
    event: Uuid,
    state: crate::alert::AlertState,
}

impl LifecycleHead {
    /// `None` when `payload` is not an alert.
    fn of(payload: &[u8]) -> Option<LifecycleHead> {
        serde_json::from_slice(payload).ok()
    }
}

/// Keeps `open_events` in step with one inserted alert (invariants 6 and 7).
fn track_lifecycle(
    tx: &rusqlite::Transaction<'_>,
    a: &EncodedAlert,
    head: &LifecycleHead,
    now: i64,
) -> rusqlite::Result<()> {
    use crate::alert::AlertState;
    match head.state {
        AlertState::End => {
            tx.prepare_cached("DELETE FROM open_events WHERE event = ?1")?
                .execute(params![head.event.to_string()])?;
        }
        AlertState::New | AlertState::Update if a.kind.has_lifecycle() => {
            let Ok(mut summary) = serde_json::from_slice::<serde_json::Value>(&a.payload) else {
                return Ok(());
            };
            if let Some(o) = summary.as_object_mut() {
                o.remove("snapshot");
            }
            tx.prepare_cached(
                "INSERT INTO open_events (event, kind, updated_ms, summary, live)
                 VALUES (?1, ?2, ?3, ?4, 1)
                 ON CONFLICT (event) DO UPDATE SET updated_ms = ?3, summary = ?4, live = live + 1",
            )?
            .execute(params![
                head.event.to_string(),
                a.kind.as_str(),
                now,
                summary.to_string().into_bytes(),
            ])?;
        }
        AlertState::New | AlertState::Update => {}
    }
    Ok(())
}

/// What [`salvage`] got out of a damaged outbox.
#[derive(Debug, Default)]
pub struct Salvage {
    /// The alerts read back, in `seq` order.
    pub alerts: Vec<EncodedAlert>,
    /// Rows the file held that could not be read back: the file's own count
    /// (`totals`) when that is readable, else the rows seen in any table or
    /// index scan, less those read back. `None` when nothing at all could be
    /// read, so the number is unknown.
    pub lost: Option<u64>,
    /// True when the file header was unreadable and a copy with a rebuilt
    /// header was read instead.
    pub header_rebuilt: bool,
}

/// Most single-key steps [`salvage`] takes to get past damaged pages.
const SALVAGE_STEPS: u64 = 1_000_000;

/// Reads every row that can still be read from a damaged outbox. Never fails
/// and never changes the file.
///
/// 1. The row numbers (`seq`) are gathered from every source that may still
///    work: the table in both directions and both indexes in both directions,
///    each until its first unreadable page, then by seeking through the table
///    from the lowest known row to the highest, stepping one key at a time
///    past damaged pages (at most [`SALVAGE_STEPS`] steps).
/// 2. Each row is then read by its primary key in its own query; rows that
///    fail are counted as lost and skipped.
/// 3. When the file cannot be opened as a database at all (its 100-byte
///    header is damaged), a copy beside it (`<file>.salvage`, removed
///    afterwards) gets a rebuilt header and is read the same way.
///
/// Lost for good: rows on damaged table pages (or below a damaged interior
/// page), and everything when the first page, which holds the schema, is
/// unreadable beyond its header.
pub fn salvage(path: &Path) -> Salvage {
    if let Some(s) = salvage_rows(path) {
        return s;
    }
    let copy = sibling(path, ".salvage");
    let out = match copy_with_rebuilt_header(path, &copy) {
        Ok(()) => salvage_rows(&copy).map(|s| Salvage {
            header_rebuilt: true,
            ..s
        }),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot rebuild the header of a damaged outbox");
            None
        }
    };
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(sibling(&copy, suffix));
    }
    out.unwrap_or_default()
}

/// Step 1 and 2 of [`salvage`]; `None` when the outbox table cannot be
/// found (not a database, or the schema is unreadable).
fn salvage_rows(path: &Path) -> Option<Salvage> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .ok()?;
    // Leave the damaged file as it is: no writes, no checkpoint when closing.
    let _ = conn.pragma_update(None, "query_only", true);
    let _ = conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
        true,
    );
    let mut by_key = conn
        .prepare("SELECT id, kind, severity, created_ms, payload FROM outbox WHERE seq = ?1")
        .ok()?;
    let mut known = std::collections::BTreeSet::new();
    for sql in [
        "SELECT seq FROM outbox NOT INDEXED ORDER BY seq",
        "SELECT seq FROM outbox NOT INDEXED ORDER BY seq DESC",
        "SELECT seq FROM outbox INDEXED BY outbox_drop_order ORDER BY severity, seq",
        "SELECT seq FROM outbox INDEXED BY outbox_drop_order ORDER BY severity DESC, seq DESC",
        "SELECT seq FROM outbox INDEXED BY sqlite_autoindex_outbox_1 ORDER BY id",
        "SELECT seq FROM outbox INDEXED BY sqlite_autoindex_outbox_1 ORDER BY id DESC",
    ] {
        scan_seqs(&conn, sql, &mut known);
    }
    let last: Option<i64> = conn
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'outbox'",
            [],
            |r| r.get(0),
        )
        .ok();
    seek_seqs(&conn, last, &mut known);

    let mut out = Salvage::default();
    let mut present = 0u64;
    for &seq in &known {
        let row = by_key.query_row([seq], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Vec<u8>>(4)?,
            ))
        });
        let (id, kind, sev, created_ms, payload) = match row {
            Ok(r) => r,
            // An index entry without its row: nothing was there.
            Err(rusqlite::Error::QueryReturnedNoRows) => continue,
            Err(_) => {
                present += 1;
                continue;
            }
        };
        present += 1;
        let parsed = (|| {
            serde_json::from_slice::<serde_json::Value>(&payload).ok()?;
            Some(EncodedAlert {
                id: Uuid::parse_str(&id).ok()?,
                kind: kind.parse().ok()?,
                severity: severity_from_rank(sev)?,
                created_ms,
                payload,
            })
        })();
        if let Some(a) = parsed {
            out.alerts.push(a);
        }
    }
    let counted: Option<i64> = conn
        .query_row("SELECT rows FROM totals", [], |r| r.get(0))
        .ok();
    let expected = present.max(counted.unwrap_or(0).max(0) as u64);
    out.lost = Some(expected.saturating_sub(out.alerts.len() as u64));
    Some(out)
}

/// Adds the `seq` of every row `sql` returns until its first error.
fn scan_seqs(conn: &Connection, sql: &str, known: &mut std::collections::BTreeSet<i64>) {
    let Ok(mut stmt) = conn.prepare(sql) else {
        return;
    };
    let Ok(mut rows) = stmt.query([]) else {
        return;
    };
    while let Ok(Some(r)) = rows.next() {
        if let Ok(seq) = r.get::<_, i64>(0) {
            known.insert(seq);
        }
    }
}

/// Seeks through the table from the lowest known `seq` to the highest one
/// (or `last`, the highest ever used), adding every row found; a seek that
/// hits a damaged page is retried one key further on.
fn seek_seqs(conn: &Connection, last: Option<i64>, known: &mut std::collections::BTreeSet<i64>) {
    let Ok(mut next) =
        conn.prepare("SELECT seq FROM outbox NOT INDEXED WHERE seq > ?1 ORDER BY seq LIMIT 1")
    else {
        return;
    };
    let top = known.last().copied().max(last).unwrap_or(0);
    let mut at = match known.first() {
        Some(&first) => first - 1,
        None => top.saturating_sub(SALVAGE_STEPS as i64).max(0),
    };
    let mut steps = 0;
    while at < top && steps < SALVAGE_STEPS {
        match next.query_row([at], |r| r.get::<_, i64>(0)) {
            Ok(seq) => {
                known.insert(seq);
                at = seq;
            }
            Err(rusqlite::Error::QueryReturnedNoRows) => break,
            Err(_) => {
                at += 1;
                steps += 1;
            }
        }
    }
}

/// Copies the database `from` (and its WAL) to `to` with a rebuilt 100-byte
/// header: the page size is worked out from the first page's b-tree header,
/// the page count from the file size; the free-page list is left out.
fn copy_with_rebuilt_header(from: &Path, to: &Path) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom, Write};
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    let len = std::fs::metadata(from)?.len();
    let mut first = vec![0u8; 65_536.min(len as usize)];
    std::fs::File::open(from)?.read_exact(&mut first)?;
    let page_size = guess_page_size(&first, len).ok_or_else(|| bad("no plausible page size"))?;
    let wal = sibling(from, "-wal");
    let has_wal = file_len(&wal) > 0;
    std::fs::copy(from, to)?;
    if has_wal {
        std::fs::copy(&wal, sibling(to, "-wal"))?;
    }
    let mut h = [0u8; 100];
    h[..16].copy_from_slice(b"SQLite format 3\0");
    let ps = if page_size == 65_536 {
        1
    } else {
        page_size as u16
    };
    h[16..18].copy_from_slice(&ps.to_be_bytes());
    let version = if has_wal { 2 } else { 1 };
    h[18] = version; // file format write version
    h[19] = version; // read version
    h[21] = 64; // payload fractions, fixed by the format
    h[22] = 32;
    h[23] = 32;
    h[24..28].copy_from_slice(&1u32.to_be_bytes()); // change counter
    h[28..32].copy_from_slice(&((len / page_size as u64) as u32).to_be_bytes());
    h[40..44].copy_from_slice(&1u32.to_be_bytes()); // schema cookie
    h[44..48].copy_from_slice(&4u32.to_be_bytes()); // schema format
    h[56..60].copy_from_slice(&1u32.to_be_bytes()); // UTF-8
    h[68..72].copy_from_slice(&(APPLICATION_ID as u32).to_be_bytes());
    h[92..96].copy_from_slice(&1u32.to_be_bytes()); // valid for change counter 1
    h[96..100].copy_from_slice(&(rusqlite::version_number() as u32).to_be_bytes());
    let mut f = std::fs::OpenOptions::new().write(true).open(to)?;
    f.seek(SeekFrom::Start(0))?;
    f.write_all(&h)?;
    f.sync_all()
}

/// The page size that fits the b-tree header of the schema table on page 1
/// (which follows the 100-byte file header) and the file length.
fn guess_page_size(first: &[u8], len: u64) -> Option<u32> {
    let kind = *first.get(100)?;
    let header = match kind {
        0x0d => 8,  // table leaf
        0x05 => 12, // table interior
        _ => return None,
    };
    let u16_at = |i: usize| -> Option<u32> {
        Some(u16::from_be_bytes([*first.get(i)?, *first.get(i + 1)?]) as u32)
    };
    let cells = u16_at(103)? as usize;
    let content = match u16_at(105)? {
        0 => 65_536,
        c => c,
    };
    let pointers = 100 + header;
    let mut highest = 0;
    for i in 0..cells {
        highest = highest.max(u16_at(pointers + 2 * i)?);
    }
    let end_of_pointers = (pointers + 2 * cells) as u32;
    (9..=16).map(|b| 1u32 << b).find(|&size| {
        len % size as u64 == 0
            && len >= size as u64
            && content <= size
            && highest < size
            && end_of_pointers <= content
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(sev: Severity, n: usize) -> EncodedAlert {
        EncodedAlert {
            id: Uuid::now_v7(),
            kind: AlertKind::Test,
            severity: sev,
            created_ms: 0,
            payload: vec![b'x'; n],
        }
    }

    fn caps(rows: u64, bytes: u64) -> Caps {
        Caps {
            max_rows: rows,
            max_bytes: bytes,
            ttl: None,
        }
    }

    /// A real alert of `kind` in `state` for incident `event`, encoded.
    fn incident(kind: AlertKind, state: crate::alert::AlertState, event: Uuid) -> EncodedAlert {
        let mut a = crate::alert::Alert::new(kind, Severity::Major, "s", "g");
        a.event = event;
        a.state = state;
        a.camera = Some("shed".into());
        a.snapshot = Some(crate::alert::Snapshot {
            content_type: "image/jpeg".into(),
            width: 1,
            height: 1,
            data: vec![1, 2, 3],
        });
        EncodedAlert {
            id: a.id,
            kind,
            severity: a.severity,
            created_ms: 0,
            payload: a.to_json().unwrap(),
        }
    }

    /// [`incident`] with another severity.
    fn incident_of(
        kind: AlertKind,
        severity: Severity,
        state: crate::alert::AlertState,
        event: Uuid,
    ) -> EncodedAlert {
        let mut a = incident(kind, state, event);
        let mut json: serde_json::Value = serde_json::from_slice(&a.payload).unwrap();
        json["severity"] = serde_json::to_value(severity).unwrap();
        a.payload = serde_json::to_vec(&json).unwrap();
        a.severity = severity;
        a
    }

    /// A single-shot alert (no incident) of `severity`.
    fn shot(severity: Severity) -> EncodedAlert {
        incident_of(
            AlertKind::Throwing,
            severity,
            crate::alert::AlertState::New,
            Uuid::now_v7(),
        )
    }

    fn seq_of(o: &Outbox, id: Uuid) -> i64 {
        o.rows_after(0, 1000)
            .unwrap()
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.seq)
            .unwrap()
    }

    #[test]
    fn an_info_end_stays_while_its_major_new_is_kept() {
        use crate::alert::AlertState::{End, New};
        let dir = tempfile::tempdir().unwrap();
        let mut o = Outbox::open(&dir.path().join("o.db"), caps(3, 1 << 20), true).unwrap();
        let cam = Uuid::now_v7();
        let offline = incident_of(AlertKind::CameraOffline, Severity::Major, New, cam);
        o.append(std::slice::from_ref(&offline)).unwrap();
        o.append(&[shot(Severity::Major), shot(Severity::Major)])
            .unwrap();
        // The outbox is full; the camera comes back (an info `end`).
        let online = incident_of(AlertKind::CameraOnline, Severity::Info, End, cam);
        let out = o.append(std::slice::from_ref(&online)).unwrap();
        assert_eq!(out.dropped.len(), 1);
        assert!(
            !o.contains(offline.id).unwrap() || o.contains(online.id).unwrap(),
            "camera_offline kept but its camera_online dropped: {out:?}"
        );
        assert!(o.contains(online.id).unwrap());
        assert_eq!(o.totals().unwrap().0, 3);
    }

    #[test]
    fn an_end_stays_when_its_new_was_delivered() {
        use crate::alert::AlertState::{End, New};
        let dir = tempfile::tempdir().unwrap();
        let mut o = Outbox::open(&dir.path().join("o.db"), caps(3, 1 << 20), true).unwrap();
        let sensor = Uuid::now_v7();
        let new = incident_of(AlertKind::Sensor, Severity::Major, New, sensor);
        o.append(std::slice::from_ref(&new)).unwrap();
        let seq = seq_of(&o, new.id);
        assert_eq!(o.remove_delivered(&[seq]).unwrap(), 1);
        let oldest = shot(Severity::Major);
        o.append(&[
            oldest.clone(),
            shot(Severity::Major),
            shot(Severity::Critical),
        ])
        .unwrap();
        // Full of major and critical alerts; the sensor's `end` is a warning.
        let end = incident_of(AlertKind::Sensor, Severity::Warning, End, sensor);
        let out = o.append(std::slice::from_ref(&end)).unwrap();
        assert!(o.contains(end.id).unwrap(), "end dropped: {out:?}");
        assert_eq!(out.dropped.len(), 1);
        assert_eq!(
            out.dropped[0].id, oldest.id,
            "the oldest major goes instead"
        );
        // The TTL does not drop it either.
        let mut o = Outbox::open(
            &dir.path().join("o.db"),
            Caps {
                ttl: Some(Duration::from_secs(3600)),
                ..caps(3, 1 << 20)
            },
            false,
        )
        .unwrap();
        let expired = o.expire(now_ms() + 7_200_000).unwrap();
        assert_eq!(expired.len(), 2, "{expired:?}");
        assert!(o.contains(end.id).unwrap());
    }

    #[test]
    fn an_end_is_held_only_while_its_incident_has_an_alert_kept_or_delivered() {
        use crate::alert::AlertState::{End, New, Update};
        let dir = tempfile::tempdir().unwrap();
        let mut o = Outbox::open(&dir.path().join("o.db"), caps(3, 1 << 20), true).unwrap();
        let fire = Uuid::now_v7();
        let new = incident_of(AlertKind::Fire, Severity::Major, New, fire);
        let update = incident_of(AlertKind::Fire, Severity::Major, Update, fire);
        let end = incident_of(AlertKind::Fire, Severity::Info, End, fire);
        o.append(&[new.clone(), update.clone(), end.clone()])
            .unwrap();
        // Criticals push out the new and the update first: the end is held.
        let c1 = shot(Severity::Critical);
        let out = o.append(&[c1.clone(), shot(Severity::Critical)]).unwrap();
        let gone: Vec<Uuid> = out.dropped.iter().map(|d| d.id).collect();
        assert_eq!(gone, vec![new.id, update.id]);
        assert!(o.contains(end.id).unwrap());
        // Nothing of the incident is left or was delivered: the end is an
        // ordinary info row again and goes next.
        let out = o.append(&[shot(Severity::Critical)]).unwrap();
        let gone: Vec<Uuid> = out.dropped.iter().map(|d| d.id).collect();
        assert_eq!(gone, vec![end.id]);
        // An end whose incident lost everything before it came is not held.
        let gas = Uuid::now_v7();
        o.append(&[incident_of(AlertKind::Sensor, Severity::Info, New, gas)])
            .unwrap();
        let out = o
            .append(&[incident_of(AlertKind::Sensor, Severity::Info, End, gas)])
            .unwrap();
        assert_eq!(out.dropped.len(), 1);
        assert!(o.contains(c1.id).unwrap());
        let counters = o.counters().unwrap();
        assert_eq!(counters["dropped_cap_info"], 3, "{counters:?}");
        assert_eq!(counters["dropped_cap_major"], 2, "{counters:?}");
    }

    #[test]
    fn open_events_follow_new_update_and_end_in_the_same_commit() {
        use crate::alert::AlertState::{End, New, Update};
        let dir = tempfile::tempdir().unwrap();
        let mut o = Outbox::open(&dir.path().join("o.db"), caps(100, 1 << 20), true).unwrap();
        let fire = Uuid::now_v7();
        let bag = Uuid::now_v7();
        let fire_new = incident(AlertKind::Fire, New, fire);
        o.append(&[
            fire_new.clone(),
            incident(AlertKind::Garbage, New, bag),
            // Single-shot kinds never open anything.
            incident(AlertKind::Throwing, New, Uuid::now_v7()),
        ])
        .unwrap();
        let open = o.open_events().unwrap();
        let events: Vec<Uuid> = open.iter().map(|a| a.event).collect();
        assert_eq!(events.len(), 2, "{events:?}");
        assert!(events.contains(&fire) && events.contains(&bag));
        assert!(
            open.iter().all(|a| a.snapshot.is_none()),
            "summaries keep no picture"
        );
        assert_eq!(open[0].camera.as_deref(), Some("shed"));

        let update = incident(AlertKind::Fire, Update, fire);
        o.append(std::slice::from_ref(&update)).unwrap();
        let open = o.open_events().unwrap();
        assert_eq!(open.len(), 2);
        let latest = open.iter().find(|a| a.event == fire).unwrap();
        assert_eq!(latest.id, update.id, "the latest message is kept");

        // A duplicate of a queued alert (same id) changes nothing.
        o.append(&[update.clone(), fire_new]).unwrap();
        let latest = o.open_events().unwrap();
        let latest = latest.iter().find(|a| a.event == fire).unwrap();
        assert_eq!(latest.id, update.id);

        // Delivering rows does not close anything; an `end` does.
        let seqs: Vec<i64> = o
            .rows_after(0, 100)
            .unwrap()
            .iter()
            .map(|r| r.seq)
            .collect();
        o.remove_delivered(&seqs).unwrap();
        assert_eq!(o.open_events().unwrap().len(), 2);
        o.append(&[incident(AlertKind::Fire, End, fire)]).unwrap();
        let open = o.open_events().unwrap();
        assert_eq!(open.iter().map(|a| a.event).collect::<Vec<_>>(), vec![bag]);
        o.append(&[incident(AlertKind::Garbage, End, bag)]).unwrap();
        assert!(o.open_events().unwrap().is_empty());
    }

    #[test]
    fn a_version_1_file_is_upgraded_keeping_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0].1).unwrap();
            conn.pragma_update(None, "application_id", APPLICATION_ID)
                .unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute(
                "INSERT INTO outbox (id, kind, severity, created_ms, enqueued_ms, bytes, payload)
                 VALUES (?1, 'test', 0, 0, 0, 1, x'78')",
                params![Uuid::now_v7().to_string()],
            )
            .unwrap();
        }
        let o = Outbox::open(&path, caps(100, 1 << 20), false).unwrap();
        assert_eq!(o.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(o.totals().unwrap(), (1, 1));
        assert!(o.open_events().unwrap().is_empty());
    }

    #[test]
    fn a_version_2_file_is_upgraded_with_its_ends_held() {
        use crate::alert::AlertState::{End, New};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v2.db");
        let cam = Uuid::now_v7();
        let new = incident_of(AlertKind::CameraOffline, Severity::Major, New, cam);
        let end = incident_of(AlertKind::CameraOnline, Severity::Info, End, cam);
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0].1).unwrap();
            conn.execute_batch(MIGRATIONS[1].1).unwrap();
            conn.pragma_update(None, "application_id", APPLICATION_ID)
                .unwrap();
            conn.pragma_update(None, "user_version", 2).unwrap();
            for a in [&new, &end] {
                conn.execute(
                    "INSERT INTO outbox (id, kind, severity, created_ms, enqueued_ms, bytes, payload)
                     VALUES (?1, ?2, ?3, 0, 0, ?4, ?5)",
                    params![
                        a.id.to_string(),
                        a.kind.as_str(),
                        a.severity.rank(),
                        a.payload.len() as i64,
                        a.payload
                    ],
                )
                .unwrap();
            }
        }
        let mut o = Outbox::open(&path, caps(2, 1 << 20), false).unwrap();
        assert_eq!(o.schema_version().unwrap(), SCHEMA_VERSION);
        // A third row pushes out the major `new`, not the info `end`.
        let out = o.append(&[shot(Severity::Major)]).unwrap();
        let gone: Vec<Uuid> = out.dropped.iter().map(|d| d.id).collect();
        assert_eq!(gone, vec![new.id]);
        assert!(o.contains(end.id).unwrap());
    }

    #[test]
    fn upgrade_sets_version_and_duplicate_ids_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.db");
        let mut o = Outbox::open(&path, caps(10, 1 << 20), true).unwrap();
        assert_eq!(o.schema_version().unwrap(), SCHEMA_VERSION);
        let a = alert(Severity::Info, 10);
        assert_eq!(o.append(std::slice::from_ref(&a)).unwrap().inserted, 1);
        assert_eq!(o.append(&[a]).unwrap().duplicates, 1);
        assert_eq!(o.totals().unwrap(), (1, 10));
    }

    #[test]
    fn ttl_drops_old_rows_and_counts_them() {
        let dir = tempfile::tempdir().unwrap();
        let caps = Caps {
            max_rows: 100,
            max_bytes: 1 << 20,
            ttl: Some(Duration::from_secs(3600)),
        };
        let mut o = Outbox::open(&dir.path().join("o.db"), caps, true).unwrap();
        o.append(&[alert(Severity::Critical, 5), alert(Severity::Info, 5)])
            .unwrap();
        assert!(o.expire(now_ms() + 1000).unwrap().is_empty());
        let gone = o.expire(now_ms() + 3_601_000).unwrap();
        assert_eq!(gone.len(), 2);
        assert_eq!(o.totals().unwrap(), (0, 0));
        let c = o.counters().unwrap();
        assert_eq!((c["dropped_ttl_critical"], c["dropped_ttl_info"]), (1, 1));
    }

    #[test]
    fn byte_cap_drops_lowest_severity_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = Outbox::open(&dir.path().join("o.db"), caps(100, 300), true).unwrap();
        let crit = alert(Severity::Critical, 100);
        let info_old = alert(Severity::Info, 100);
        let info_new = alert(Severity::Info, 100);
        o.append(&[crit.clone(), info_old.clone(), info_new.clone()])
            .unwrap();
        let out = o.append(&[alert(Severity::Warning, 100)]).unwrap();
        assert_eq!(out.dropped.len(), 1);
        assert_eq!(out.dropped[0].id, info_old.id);
        assert!(o.contains(crit.id).unwrap());
        assert!(o.contains(info_new.id).unwrap());
        assert_eq!(o.counters().unwrap()["dropped_cap_info"], 1);
    }
}
