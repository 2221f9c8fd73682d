//! File failures and recovery: opening the file, noticing that it works
//! again, moving a corrupt file aside and salvaging its rows, and when to
//! retry.

use super::{Store, RETRY_INTERVAL};
use crate::delivery::outbox::{self, Outbox, OutboxError};
use std::time::Instant;

impl Store {
    pub(super) fn open_file(&mut self) {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Best effort; a failure shows up as an unwritable outbox below.
            let _ = std::fs::create_dir_all(dir);
        }
        match Outbox::open(&self.path, self.caps, true) {
            Ok(mut f) => {
                self.sync_sinks_of(&mut f);
                self.file_ok(f)
            }
            Err(e) if e.is_corrupt() => self.recover_corrupt(e),
            Err(e) => self.fail(e),
        }
    }

    pub(super) fn file_ok(&mut self, mut f: Outbox) {
        // Never drop what is already queued just because the disk is small.
        let queued = f.totals().map(|t| t.1).unwrap_or(0);
        if queued > self.caps.max_bytes {
            self.caps.max_bytes = queued.min(self.configured.max_bytes);
            f.set_caps(self.caps);
        }
        self.file = Some(f);
        self.retry_at = None;
        self.epoch += 1;
        self.note_recovery();
    }

    /// After a successful write: logs, once, that the file takes new alerts
    /// again and nothing waits in memory, and forgets the problem.
    pub(super) fn note_recovery(&mut self) {
        if self.problem.is_none() || !self.mem.is_empty() || self.writes_suspended() {
            return;
        }
        if let Some(p) = self.problem.take() {
            tracing::info!(path = %self.path.display(), previous = %p, "outbox file works again: new alerts are durable");
        }
    }

    /// Moves a damaged file aside, salvages what it can, starts a fresh file.
    pub(super) fn recover_corrupt(&mut self, e: OutboxError) {
        tracing::error!(error = %e, "outbox is damaged; moving it aside and starting a new one");
        let moved = match outbox::quarantine(&self.path) {
            Ok(m) => m,
            Err(io) => {
                let detail = format!("{e}; moving it aside failed: {io}");
                return self.fail(OutboxError::Corrupt {
                    path: self.path.clone(),
                    detail,
                });
            }
        };
        let salvage = outbox::salvage(&moved);
        let rescued = salvage.alerts;
        tracing::error!(
            quarantined = %moved.display(),
            salvaged = rescued.len(),
            lost = %salvage.lost.map_or("unknown".to_string(), |n| n.to_string()),
            header_rebuilt = salvage.header_rebuilt,
            "damaged outbox kept for inspection; readable alerts copied to the new outbox"
        );
        self.quarantined.push(moved);
        self.salvaged += rescued.len();
        self.salvage_lost += salvage.lost.unwrap_or(0);
        *self
            .pending_counters
            .entry("salvaged".to_string())
            .or_default() += rescued.len() as u64;
        *self
            .pending_counters
            .entry("salvage_lost".to_string())
            .or_default() += salvage.lost.unwrap_or(0);
        match Outbox::open(&self.path, self.caps, true) {
            Ok(mut f) => {
                // Row numbers of the old file mean nothing in the new one;
                // the notifiers start from the first row of the new one.
                self.pending_deletes.clear();
                self.pending_sink_cursors.clear();
                self.sync_sinks_of(&mut f);
                if let Err(e) = f.append(&rescued) {
                    tracing::error!(error = %e, "could not copy salvaged alerts; keeping them in memory");
                    self.push_mem(rescued);
                }
                self.file_ok(f);
            }
            Err(e2) => {
                self.pending_deletes.clear();
                self.push_mem(rescued);
                self.fail(e2);
            }
        }
    }

    /// Records a file failure: log it, stop writing to the file for a while.
    pub(super) fn fail(&mut self, e: OutboxError) {
        let same = self.problem.as_ref().map(|p| p.kind()) == Some(e.kind());
        if same {
            tracing::warn!(error = %e, memory_rows = self.mem.len(), "outbox file still failing; alerts are kept in memory");
        } else {
            tracing::error!(
                error = %e,
                memory_rows = self.mem.len(),
                "OUTBOX FILE FAILED: new alerts are kept IN MEMORY ONLY (lost if the daemon stops) and still delivered; retrying every {}s",
                RETRY_INTERVAL.as_secs()
            );
        }
        if e.is_corrupt() {
            // Stop using a damaged file; the next retry moves it aside.
            self.file = None;
        }
        let disk_full = matches!(e, OutboxError::DiskFull { .. });
        self.problem = Some(e);
        self.retry_at = Some(Instant::now() + RETRY_INTERVAL);
        if disk_full && self.reserve {
            self.release_reserve();
            // Remove what was delivered right away, in the space just freed.
            self.retry_at = Some(Instant::now());
        }
    }

    /// True when new alerts must not go to the file.
    pub(super) fn writes_suspended(&self) -> bool {
        self.deletes_suspended() || self.space_low
    }

    /// True when nothing at all may be written to the file, not even the
    /// deletion of delivered rows.
    pub(super) fn deletes_suspended(&self) -> bool {
        self.file.is_none() || self.retry_at.is_some()
    }
}
