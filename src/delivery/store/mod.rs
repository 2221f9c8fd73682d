//! The store the daemon queues alerts in: the [`Outbox`] file, plus an
//! in-memory fallback used only while the file cannot be written.
//!
//! Normally every alert goes into the file and nothing else happens here. When
//! the file cannot be opened or written (disk full, locked by another process,
//! directory not writable, corrupt), the store:
//!
//! - logs the problem loudly and reports it in [`StoreHealth`];
//! - keeps new alerts in memory (bounded by [`MEMORY_MAX_ROWS`] /
//!   [`MEMORY_MAX_BYTES`] and the outbox caps, with the same drop policy), and
//!   the publisher keeps delivering them: staff still get alerts, only the
//!   crash-safety is lost until the file works again;
//! - remembers deliveries it could not record in the file and retries them;
//! - every [`RETRY_INTERVAL`] tries the file again and, once it works, moves
//!   the in-memory alerts into it (in order) and bumps [`Store::epoch`].
//!
//! A corrupt file is moved aside (`<path>.corrupt-<time>`, never deleted), the
//! rows that can still be read are copied into a fresh outbox (counted there
//! as `salvaged` and `salvage_lost`), and delivery carries on.
//!//! The rooms: [`memory`] (the in-memory fallback), [`failure`] (file
//! failures, corrupt files, recovery) and [`space`] (a full disk: the reserve
//! file and the WAL limit). This file holds the [`Store`] type and the paths
//! every alert takes through it.
//!
//! Order: file rows are delivered before memory rows. Memory rows only exist
//! while the file is failing and are newer than every file row this process
//! wrote, so creation order holds. When the epoch changes (memory rows moved
//! into the file, or the file replaced), the publisher starts again from the
//! oldest row; alerts in flight at that moment may be delivered twice, which
//! consumers handle with the alert `id` like any other redelivery.
//!
//! Notifiers ([`super::notify`]) read file rows only, each from its own
//! cursor ([`Store::sink_rows`], [`Store::advance_sink`]); the file deletes
//! a row once the broker and every notifier are done with it (outbox schema
//! invariant 9). While the file fails, an in-memory row the broker
//! acknowledged is kept (marked) when notifiers are configured, and moved
//! into the file with the others, so the notifiers get it once the file
//! works again.

mod failure;
mod memory;
mod space;

use memory::MemRow;

use super::outbox::{
    self, counter_name, Caps, EncodedAlert, Outbox, OutboxError, SinkFigures, SinkRow, SinkSync,
    SpacePlan,
};
use crate::alert::{AlertKind, Severity};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How often a failing outbox file is tried again.
pub const RETRY_INTERVAL: Duration = Duration::from_secs(5);
/// Most alerts kept in memory while the file is failing.
pub const MEMORY_MAX_ROWS: u64 = 20_000;
/// Most payload bytes kept in memory while the file is failing.
pub const MEMORY_MAX_BYTES: u64 = 128 * 1024 * 1024;
/// How often the TTL is applied.
const TTL_INTERVAL: Duration = Duration::from_secs(60);
/// Most delivered rows removed in one transaction (small transactions need
/// little WAL space on a full disk).
const DELETE_CHUNK: usize = 256;

/// Where a queued alert lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RowRef {
    /// A row of the outbox file, by `seq`.
    File(i64),
    /// An alert held in memory, by its position number.
    Mem(u64),
}

/// How far the publisher has read: the last file `seq` and memory number handed out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cursor {
    pub file: i64,
    pub mem: u64,
}

impl Cursor {
    /// Moves the cursor past `r`.
    pub fn advance(&mut self, r: RowRef) {
        match r {
            RowRef::File(s) => self.file = self.file.max(s),
            RowRef::Mem(n) => self.mem = self.mem.max(n),
        }
    }
}

/// An alert waiting to be published.
#[derive(Debug, Clone)]
pub struct Pending {
    pub at: RowRef,
    pub id: uuid::Uuid,
    pub kind: AlertKind,
    /// True when it was handed to a broker before (so this is a resend).
    pub resend: bool,
    pub payload: Vec<u8>,
    /// See [`EncodedAlert::topic`](crate::delivery::outbox::EncodedAlert::topic).
    pub topic: Option<String>,
}

/// The store's condition, for status output and tests.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct StoreHealth {
    /// True when new alerts are committed to the outbox file.
    pub durable: bool,
    /// The current problem with the file, if any (a full sentence).
    pub problem: Option<String>,
    /// Short name of the problem: `disk_full`, `locked`, `corrupt`, `unwritable`, ...
    pub problem_kind: Option<String>,
    /// Alerts held only in memory.
    pub memory_rows: usize,
    /// Damaged outbox files moved aside by this process.
    pub quarantined: Vec<PathBuf>,
    /// Rows recovered from damaged files.
    pub salvaged: usize,
    /// Rows of damaged files that could not be recovered (as far as known).
    pub salvage_lost: u64,
    /// True while the disk is too full for the reserve: only deletions and
    /// checkpoints are written to the file.
    pub space_low: bool,
}

/// See [`Store::queue_figures`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct QueueFigures {
    pub depth: u64,
    pub oldest_age_s: f64,
    pub dropped: u64,
}

/// The outbox file plus its in-memory fallback. Shared by the writer thread and
/// the publisher behind a mutex; every method is short and never panics.
pub struct Store {
    path: PathBuf,
    /// The caps enforced on the file (`max_bytes` fitted to the disk).
    caps: Caps,
    /// The configured caps, which bound the memory queue.
    configured: Caps,
    /// The filesystem as measured at start; `None` when it could not be.
    space: Option<SpacePlan>,
    /// True while the reserve file exists.
    reserve: bool,
    /// The reserve was given up to a full disk: no new alerts go to the file.
    space_low: bool,
    /// Last attempt to create the reserve.
    reserve_tried: Option<Instant>,
    file: Option<Outbox>,
    /// The file's current problem; `None` when it works.
    problem: Option<OutboxError>,
    /// No writes to the file before this instant (set after a failure).
    retry_at: Option<Instant>,
    mem: VecDeque<MemRow>,
    mem_next: u64,
    mem_bytes: u64,
    /// File rows whose PUBACK arrived but whose deletion is not yet committed.
    pending_deletes: BTreeSet<i64>,
    /// Counter increments not yet written to the file.
    pending_counters: BTreeMap<String, u64>,
    /// The daemon's notifiers (`None`: a tool, which leaves the file's
    /// `sinks` as they are); made to match the file whenever one is opened.
    sinks: Option<Vec<String>>,
    /// Notifier cursors not yet written to the file.
    pending_sink_cursors: BTreeMap<String, i64>,
    /// The file's `sinks` match [`Self::sinks`].
    sinks_synced: bool,
    epoch: u64,
    quarantined: Vec<PathBuf>,
    salvaged: usize,
    salvage_lost: u64,
    last_ttl: Option<Instant>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.path.display())
    }
}

impl Store {
    /// Opens the outbox at `path`, creating it if needed. Never fails: if the
    /// file cannot be used, the store starts in memory and keeps retrying.
    ///
    /// `caps` are the configured ones; `max_bytes` is lowered for the file to
    /// what fits the filesystem ([`SpacePlan::max_bytes`]), but never below
    /// what the file already holds.
    pub fn open(path: &Path, caps: Caps) -> Store {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Best effort; a failure shows up as an unwritable outbox below.
            let _ = std::fs::create_dir_all(dir);
        }
        let space = SpacePlan::measure(path, caps.max_bytes);
        let mut store = Store {
            path: path.to_path_buf(),
            caps: Caps {
                max_bytes: space.map_or(caps.max_bytes, |p| p.max_bytes),
                ..caps
            },
            configured: caps,
            space,
            reserve: outbox::reserve_path(path).exists(),
            space_low: false,
            reserve_tried: None,
            file: None,
            problem: None,
            retry_at: None,
            mem: VecDeque::new(),
            mem_next: 1,
            mem_bytes: 0,
            pending_deletes: BTreeSet::new(),
            pending_counters: BTreeMap::new(),
            sinks: None,
            pending_sink_cursors: BTreeMap::new(),
            sinks_synced: false,
            epoch: 0,
            quarantined: Vec::new(),
            salvaged: 0,
            salvage_lost: 0,
            last_ttl: None,
        };
        store.open_file();
        match space {
            Some(p) => tracing::info!(
                path = %path.display(),
                max_bytes = store.caps.max_bytes,
                configured_max_bytes = caps.max_bytes,
                free_bytes = p.free_bytes,
                reserve_bytes = p.reserve_bytes,
                wal_limit_bytes = p.wal_limit_bytes,
                "outbox sized to its filesystem: at most {} bytes of alerts{}",
                store.caps.max_bytes,
                if store.caps.max_bytes < caps.max_bytes {
                    " (lowered from outbox.max_bytes to fit the free space)"
                } else {
                    ""
                }
            ),
            None => {
                tracing::warn!(path = %path.display(), "cannot measure the outbox's filesystem; no reserve, outbox.max_bytes as configured")
            }
        }
        store.ensure_reserve(Instant::now());
        store
    }

    /// Incidents an earlier run opened and never ended (see
    /// [`Outbox::open_events`]); empty while the file cannot be read.
    pub fn open_events(&self) -> Vec<crate::alert::Alert> {
        match self.file.as_ref().map(Outbox::open_events) {
            Some(Ok(v)) => v,
            Some(Err(e)) => {
                tracing::warn!(error = %e, "open incidents of the last run not read");
                Vec::new()
            }
            None => Vec::new(),
        }
    }

    /// The incidents whose evidence must stay (see
    /// [`Outbox::protected_events`]): those of the file's waiting rows and
    /// open incidents, plus those of the alerts held in memory. An error
    /// while the file cannot be read: then only the memory rows are known.
    pub fn protected_events(&self) -> Result<BTreeSet<uuid::Uuid>, OutboxError> {
        let mut out: BTreeSet<uuid::Uuid> = self
            .mem
            .iter()
            .filter_map(|m| memory::event_of(&m.alert.payload))
            .collect();
        match &self.file {
            Some(f) => out.extend(f.protected_events()?),
            None => {
                return Err(OutboxError::Other {
                    path: self.path.clone(),
                    detail: self
                        .problem
                        .as_ref()
                        .map_or_else(|| "the file is not open".into(), |p| p.to_string()),
                })
            }
        }
        Ok(out)
    }

    /// Changes when the set of rows is renumbered; see the module doc.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Queues alerts: committed to the file when it works, else kept in memory.
    /// Returns true when they were committed durably.
    pub fn append(&mut self, batch: Vec<EncodedAlert>) -> bool {
        if batch.is_empty() {
            return true;
        }
        if self.mem.is_empty() && !self.writes_suspended() {
            if let Some(f) = self.file.as_mut() {
                match f.append(&batch) {
                    Ok(out) => {
                        log_drops("outbox cap reached", &out.dropped);
                        self.note_recovery();
                        return true;
                    }
                    Err(e) => self.fail(e),
                }
            }
        }
        self.push_mem(batch);
        false
    }

    /// Adds to persistent counters (written to the file when it works).
    pub fn count(&mut self, counts: BTreeMap<String, u64>) {
        for (k, v) in counts {
            *self.pending_counters.entry(k).or_default() += v;
        }
    }

    /// The next alerts after `cursor`, oldest first, at most `limit`.
    pub fn next_rows(&mut self, cursor: &Cursor, limit: usize) -> Vec<Pending> {
        let mut out = Vec::with_capacity(limit);
        if limit == 0 {
            return out;
        }
        if let Some(f) = &self.file {
            match f.rows_after(cursor.file, limit + self.pending_deletes.len()) {
                Ok(rows) => {
                    for r in rows {
                        if self.pending_deletes.contains(&r.seq) {
                            continue;
                        }
                        if out.len() == limit {
                            break;
                        }
                        out.push(Pending {
                            at: RowRef::File(r.seq),
                            id: r.id,
                            kind: r.kind,
                            resend: r.attempts > 0,
                            payload: r.payload,
                            topic: r.topic,
                        });
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the outbox file; delivering in-memory alerts only");
                    if e.is_corrupt() {
                        self.fail(e);
                    }
                }
            }
        }
        if out.len() < limit {
            let start = self.mem.partition_point(|m| m.n <= cursor.mem);
            let waiting = self.mem.iter().skip(start).filter(|m| !m.mqtt_done);
            for m in waiting.take(limit - out.len()) {
                out.push(Pending {
                    at: RowRef::Mem(m.n),
                    id: m.alert.id,
                    kind: m.alert.kind,
                    resend: m.attempts > 0,
                    payload: m.alert.payload.clone(),
                    topic: m.alert.topic.clone(),
                });
            }
        }
        out
    }

    /// Counts a publish attempt for each row (best effort).
    pub fn mark_sent(&mut self, epoch: u64, refs: &[RowRef]) {
        if epoch != self.epoch {
            return;
        }
        let mut seqs = Vec::new();
        for r in refs {
            match *r {
                RowRef::File(s) => seqs.push(s),
                RowRef::Mem(n) => {
                    if let Some(m) = self.mem_row_mut(n) {
                        m.attempts += 1;
                    }
                }
            }
        }
        if self.writes_suspended() {
            return;
        }
        if let Some(f) = self.file.as_mut() {
            if let Err(e) = f.mark_sent(&seqs) {
                tracing::debug!(error = %e, "could not record publish attempts");
            }
        }
    }

    /// Removes alerts whose PUBACK arrived. `epoch` is the epoch the refs were
    /// read in; refs from an older epoch are ignored (those alerts are sent
    /// again). Returns how many were removed or scheduled for removal.
    pub fn delivered(&mut self, epoch: u64, refs: &[RowRef]) -> usize {
        if epoch != self.epoch {
            return 0;
        }
        let mut n = 0;
        for r in refs {
            match *r {
                RowRef::File(s) => {
                    if self.pending_deletes.insert(s) {
                        n += 1;
                    }
                }
                RowRef::Mem(k) => {
                    let i = self.mem.partition_point(|m| m.n < k);
                    let keep = self.keeps_for_sinks();
                    if let Some(m) = self.mem.get_mut(i).filter(|m| m.n == k && keep) {
                        // The notifiers still need it: keep it, marked.
                        if !m.mqtt_done {
                            m.mqtt_done = true;
                            *self
                                .pending_counters
                                .entry("delivered".to_string())
                                .or_default() += 1;
                            n += 1;
                        }
                    } else if self.mem.get(i).is_some_and(|m| m.n == k) {
                        if let Some(m) = self.mem.remove(i) {
                            self.mem_bytes -= m.alert.payload.len() as u64;
                            *self
                                .pending_counters
                                .entry("delivered".to_string())
                                .or_default() += 1;
                            n += 1;
                        }
                    }
                }
            }
        }
        if !self.deletes_suspended() {
            self.flush_deletes();
        }
        n
    }

    /// Removes delivered rows from the file, in small transactions, and
    /// writes pending counters.
    fn flush_deletes(&mut self) {
        let mut removed = false;
        while !self.pending_deletes.is_empty() {
            let Some(f) = self.file.as_mut() else { return };
            let seqs: Vec<i64> = self
                .pending_deletes
                .iter()
                .take(DELETE_CHUNK)
                .copied()
                .collect();
            match f.remove_delivered(&seqs) {
                Ok(_) => {
                    for s in &seqs {
                        self.pending_deletes.remove(s);
                    }
                    removed = true;
                }
                Err(e) => {
                    tracing::warn!(error = %e, pending = self.pending_deletes.len(), "could not remove delivered alerts from the outbox; will retry (they may be sent again after a restart)");
                    return self.fail(e);
                }
            }
        }
        while let Some((name, cursor)) = self.pending_sink_cursors.pop_first() {
            let Some(f) = self.file.as_mut() else {
                self.pending_sink_cursors.insert(name, cursor);
                return;
            };
            if let Err(e) = f.advance_sink(&name, cursor) {
                tracing::warn!(error = %e, notifier = %name, "could not record a notifier's progress in the outbox; will retry (those notifications may be sent again after a restart)");
                self.pending_sink_cursors.insert(name, cursor);
                return self.fail(e);
            }
            removed = true;
        }
        if !self.pending_counters.is_empty() {
            let Some(f) = self.file.as_mut() else { return };
            match f.add_counters(&self.pending_counters) {
                Ok(()) => self.pending_counters.clear(),
                Err(e) => tracing::debug!(error = %e, "could not update outbox counters"),
            }
        }
        if removed {
            self.note_recovery();
        }
    }

    /// Periodic work: retry a failing file, finish deletions, keep the WAL
    /// small, get the reserve back, move memory rows into the file, apply the
    /// TTL. Returns true when rows changed (the publisher should look again).
    pub fn maintain(&mut self, now: Instant) -> bool {
        let mut changed = false;
        if self.retry_at.is_some_and(|t| now >= t) {
            self.retry_at = None;
            if self.file.is_none() {
                self.open_file();
                changed = true;
            }
        }
        // Deletions first: they make room.
        if !self.deletes_suspended() {
            self.flush_deletes();
        }
        if !self.deletes_suspended() {
            self.limit_wal();
        }
        if !self.deletes_suspended() {
            self.ensure_reserve(now);
        }
        if self.sinks.is_some() && !self.sinks_synced && !self.deletes_suspended() {
            if let Some(mut f) = self.file.take() {
                let synced = self.sync_sinks_of(&mut f).is_some();
                if self.file.is_none() {
                    self.file = Some(f);
                }
                if synced {
                    // The notifiers read their cursors again.
                    self.epoch += 1;
                    changed = true;
                }
            }
        }
        if !self.mem.is_empty() && !self.writes_suspended() {
            changed |= self.migrate();
        }
        if !self.writes_suspended() {
            self.flush_deletes();
        }
        if self.caps.ttl.is_some() && self.last_ttl.is_none_or(|t| now >= t + TTL_INTERVAL) {
            self.last_ttl = Some(now);
            changed |= self.expire(now);
        }
        changed
    }

    fn expire(&mut self, now: Instant) -> bool {
        let Some(ttl) = self.caps.ttl else {
            return false;
        };
        let mut changed = false;
        while self
            .mem
            .front()
            .is_some_and(|m| now.duration_since(m.enqueued) > ttl)
        {
            if let Some(m) = self.mem.pop_front() {
                self.mem_bytes -= m.alert.payload.len() as u64;
                *self
                    .pending_counters
                    .entry(counter_name("dropped_ttl", m.alert.severity))
                    .or_default() += 1;
                changed = true;
            }
        }
        if self.writes_suspended() {
            return changed;
        }
        if let Some(f) = self.file.as_mut() {
            match f.expire(outbox::now_ms()) {
                Ok(d) if !d.is_empty() => {
                    tracing::warn!(
                        dropped = d.len(),
                        "alerts older than outbox.ttl_hours dropped"
                    );
                    changed = true;
                }
                Ok(_) => {}
                Err(e) => self.fail(e),
            }
        }
        changed
    }

    /// True when nothing is waiting for the broker (rows kept only for a
    /// notifier do not count).
    pub fn is_drained(&self) -> bool {
        if self.mem.iter().any(|m| !m.mqtt_done) {
            return false;
        }
        match &self.file {
            Some(f) => match f.mqtt_rows() {
                Ok(rows) => rows <= self.pending_deletes.len() as u64,
                Err(_) => false,
            },
            None => true,
        }
    }

    /// True when `id` is still waiting for delivery.
    pub fn contains(&self, id: uuid::Uuid) -> bool {
        if self.mem.iter().any(|m| m.alert.id == id) {
            return true;
        }
        self.file
            .as_ref()
            .is_some_and(|f| f.contains(id).unwrap_or(false))
    }

    /// Alerts waiting for the broker (file and memory), the age of the oldest one, and the
    /// number of alerts dropped ever (persistent `dropped_*` counters plus
    /// those not yet written). File errors count as an empty file.
    pub fn queue_figures(&self) -> QueueFigures {
        let now = outbox::now_ms();
        let mut depth = self.mem.iter().filter(|m| !m.mqtt_done).count() as u64;
        let mut oldest_ms: Option<i64> = self
            .mem
            .iter()
            .find(|m| !m.mqtt_done)
            .map(|m| now - m.enqueued.elapsed().as_millis() as i64);
        let mut dropped: u64 = self
            .pending_counters
            .iter()
            .filter(|(k, _)| k.starts_with("dropped_"))
            .map(|(_, v)| v)
            .sum();
        if let Some(f) = &self.file {
            if let Ok(rows) = f.mqtt_rows() {
                depth += rows.saturating_sub(self.pending_deletes.len() as u64);
            }
            if let Ok(Some(t)) = f.oldest_enqueued_ms() {
                oldest_ms = Some(oldest_ms.map_or(t, |m| m.min(t)));
            }
            if let Ok(c) = f.counters() {
                dropped += c
                    .iter()
                    .filter(|(k, _)| k.starts_with("dropped_"))
                    .map(|(_, v)| v)
                    .sum::<u64>();
            }
        }
        QueueFigures {
            depth,
            oldest_age_s: if depth == 0 {
                0.0
            } else {
                oldest_ms.map_or(0.0, |t| (now - t).max(0) as f64 / 1000.0)
            },
            dropped,
        }
    }

    /// True when an in-memory row the broker acknowledged must be kept
    /// for the notifiers.
    fn keeps_for_sinks(&self) -> bool {
        self.sinks.as_ref().is_some_and(|s| !s.is_empty())
    }

    /// Sets the daemon's notifiers and makes the file's `sinks` match them
    /// (see [`Outbox::sync_sinks`]); again whenever a file is opened. `None`
    /// while the file cannot be written (it is done when it can).
    pub fn set_sinks(&mut self, names: Vec<String>) -> Option<SinkSync> {
        self.sinks = Some(names);
        self.pending_sink_cursors
            .retain(|n, _| self.sinks.as_ref().is_some_and(|s| s.contains(n)));
        let mut f = self.file.take()?;
        let out = self.sync_sinks_of(&mut f);
        self.file = Some(f);
        out
    }

    /// Makes `f`'s sinks match the daemon's notifiers (a tool leaves them).
    pub(super) fn sync_sinks_of(&mut self, f: &mut Outbox) -> Option<SinkSync> {
        let names = self.sinks.clone()?;
        self.sinks_synced = false;
        match f.sync_sinks(&names) {
            Ok(s) => {
                self.sinks_synced = true;
                if !s.added.is_empty() || !s.removed.is_empty() {
                    tracing::info!(added = ?s.added, removed = ?s.removed, released_rows = s.released_rows, "outbox notifier cursors updated: new notifiers start at the newest row, removed ones release theirs");
                }
                Some(s)
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not record the notifiers in the outbox; will retry");
                self.fail(e);
                None
            }
        }
    }

    /// File rows after `after` for a notifier, oldest first (empty while
    /// the file cannot be read: notifications wait for it).
    pub fn sink_rows(&mut self, after: i64, limit: usize) -> Vec<SinkRow> {
        let Some(f) = &self.file else {
            return Vec::new();
        };
        match f.sink_rows(after, limit) {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, "notifiers cannot read the outbox file");
                if e.is_corrupt() {
                    self.fail(e);
                }
                Vec::new()
            }
        }
    }

    /// Where notifier `name` stands: its cursor not yet written, else the
    /// file's; `None` when the file has no such sink (or cannot be read).
    pub fn sink_cursor(&self, name: &str) -> Option<i64> {
        if let Some(c) = self.pending_sink_cursors.get(name) {
            return Some(*c);
        }
        let f = self.file.as_ref()?;
        f.sink_cursors().ok()?.get(name).copied()
    }

    /// Records that notifier `name` is done with every row up to `cursor`
    /// (read in `epoch`; ignored when the file was replaced since). Written
    /// at once when the file works, else kept and retried.
    pub fn advance_sink(&mut self, epoch: u64, name: &str, cursor: i64) {
        if epoch != self.epoch {
            return;
        }
        let c = self
            .pending_sink_cursors
            .entry(name.to_string())
            .or_insert(cursor);
        *c = (*c).max(cursor);
        if !self.deletes_suspended() {
            self.flush_deletes();
        }
    }

    /// Each notifier's figures in the file (empty while it cannot be read).
    pub fn sink_figures(&self) -> BTreeMap<String, SinkFigures> {
        self.file
            .as_ref()
            .and_then(|f| f.sink_figures().ok())
            .unwrap_or_default()
    }

    pub fn health(&self) -> StoreHealth {
        StoreHealth {
            durable: self.mem.is_empty() && !self.writes_suspended(),
            problem: self.problem.as_ref().map(|p| p.to_string()),
            problem_kind: self.problem.as_ref().map(|p| p.kind().to_string()),
            memory_rows: self.mem.len(),
            quarantined: self.quarantined.clone(),
            salvaged: self.salvaged,
            salvage_lost: self.salvage_lost,
            space_low: self.space_low,
        }
    }

    /// Final attempt to record deliveries and counters before exit.
    pub fn close(&mut self) {
        self.retry_at = None;
        if self.file.is_some() {
            if !self.mem.is_empty() {
                self.migrate();
            }
            self.flush_deletes();
        }
        if !self.mem.is_empty() {
            tracing::error!(
                lost = self.mem.len(),
                "stopping with alerts that exist only in memory; they are lost"
            );
        }
    }
}

pub(super) fn log_drops(why: &str, dropped: &[outbox::Dropped]) {
    if dropped.is_empty() {
        return;
    }
    let mut by: BTreeMap<Severity, usize> = BTreeMap::new();
    for d in dropped {
        *by.entry(d.severity).or_default() += 1;
    }
    tracing::warn!(reason = why, dropped = dropped.len(), by_severity = ?by, "alerts dropped by the outbox policy (lowest severity, oldest first)");
}

#[cfg(test)]
mod tests;
