//! A full disk: the reserve file and the WAL limit.
//!
//! At start the store measures the filesystem ([`SpacePlan`](outbox::SpacePlan)): it lowers
//! `max_bytes` to what fits (logged) and keeps a reserve file,
//! `<path>.reserve`. When a write fails because the disk is full, it deletes
//! the reserve, so that removing delivered alerts and checkpointing the WAL
//! (which both need a little space) can go on, and it stops writing new alerts
//! to the file (they are kept in memory, as for any failure) so they cannot
//! eat that space. Once the filesystem has room for the reserve twice over,
//! it is re-created and the file takes alerts again; the recovery is logged
//! once.

use super::{Store, RETRY_INTERVAL};
use crate::delivery::outbox;
use std::time::Instant;

impl Store {
    /// Creates the reserve file when it is missing and the filesystem has
    /// room for it (tried at most every [`RETRY_INTERVAL`]). After the reserve
    /// was given up to a full disk, it waits for room for the reserve twice
    /// over, so that one full disk does not release and re-create it over and
    /// over; then new alerts go to the file again.
    pub(super) fn ensure_reserve(&mut self, now: Instant) {
        let Some(plan) = self.space else { return };
        if self.reserve || self.reserve_tried.is_some_and(|t| now < t + RETRY_INTERVAL) {
            return;
        }
        let first = self.reserve_tried.is_none();
        self.reserve_tried = Some(now);
        let free = outbox::free_bytes(&self.path).unwrap_or(0);
        let spare = if self.space_low {
            plan.reserve_bytes
        } else {
            0
        };
        if free < plan.reserve_bytes + plan.wal_limit_bytes + spare {
            if first {
                tracing::warn!(path = %self.path.display(), free_bytes = free, reserve_bytes = plan.reserve_bytes, "not enough free space for the outbox reserve; it is created once there is");
            }
            return;
        }
        if let Err(e) = outbox::create_reserve(&self.path, plan.reserve_bytes) {
            if first {
                tracing::warn!(path = %self.path.display(), error = %e, "cannot create the outbox reserve file; trying again later");
            }
            return;
        }
        self.reserve = true;
        if self.space_low {
            self.space_low = false;
            tracing::info!(path = %self.path.display(), reserve_bytes = plan.reserve_bytes, free_bytes = free, "disk space is back: outbox reserve re-created, new alerts go to the file again");
            self.note_recovery();
        } else if !first {
            tracing::info!(path = %self.path.display(), reserve_bytes = plan.reserve_bytes, "outbox reserve created");
        }
    }

    /// The disk is full: give the reserve back to the filesystem so that
    /// deletions and checkpoints can proceed, and stop adding alerts to the
    /// file until it can be re-created.
    pub(super) fn release_reserve(&mut self) {
        if !self.reserve {
            return;
        }
        let reserve = outbox::reserve_path(&self.path);
        match std::fs::remove_file(&reserve) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::error!(path = %reserve.display(), error = %e, "cannot delete the outbox reserve");
                return;
            }
        }
        self.reserve = false;
        self.space_low = true;
        self.reserve_tried = Some(Instant::now());
        tracing::error!(
            path = %self.path.display(),
            released_bytes = self.space.map_or(0, |p| p.reserve_bytes),
            "disk full: outbox reserve released so delivered alerts can still be removed; new alerts are kept in memory until there is space again"
        );
    }

    /// Checkpoints and truncates the WAL when it has grown past twice its
    /// limit (a reader in another process held off the automatic
    /// checkpoint), and always while space is low.
    pub(super) fn limit_wal(&mut self) {
        let Some(f) = self.file.as_mut() else { return };
        let limit = self.space.map_or(4 * 1024 * 1024, |p| p.wal_limit_bytes);
        let wal = f.wal_bytes();
        if wal == 0 || (wal <= 2 * limit && !self.space_low) {
            return;
        }
        match f.checkpoint() {
            Ok(done) => tracing::debug!(wal_bytes = wal, done, "outbox WAL checkpointed"),
            Err(e) => {
                tracing::warn!(error = %e, wal_bytes = wal, "outbox WAL checkpoint failed");
                self.fail(e);
            }
        }
    }
}
