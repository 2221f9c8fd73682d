//! The evidence stage: an [`AlertSubmit`] in front of delivery's sink that
//! stores each video alert's picture in its incident's folder and tells the
//! alert where its evidence is.
//!
//! ```text
//!  FusedSink ──submit()──► EvidenceSink ──► queue ──► ew-evidence thread ──► next sink (delivery)
//!  (producers)             (never blocks)   (bounded)  writes snapshot-detect.jpg,
//!                                                      adds `evidence` (paths, URLs, sha256),
//!                                                      publishes the snapshot topic
//! ```
//!
//! Every alert goes through the one thread in submission order, so an
//! incident's messages keep their order and no camera thread waits for the
//! disk. When the queue is full (the disk hangs), alerts skip the stage and
//! go straight to delivery without stored files (`evidence.problem` says
//! so): alerts matter more than pictures. A failed write (full disk,
//! unwritable folder) is logged, counted ([`EvidenceStore::write_failed`])
//! and noted in the alert; the alert goes on.

use super::store::{EvidenceLink, EvidenceStore};
use super::{camera_dir_ok, event_dir, write_once, SNAPSHOT, SNAPSHOT_DETECT};
use crate::alert::submit::{AlertSubmit, SubmitError};
use crate::alert::{Alert, Evidence};
use crate::base::{lock, wait_timeout};
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Most alerts waiting for the evidence thread.
pub const QUEUE_MAX_ALERTS: usize = 1000;
/// Most picture bytes waiting for the evidence thread.
pub const QUEUE_MAX_BYTES: usize = 64 * 1024 * 1024;

#[derive(Default)]
struct Queue {
    state: Mutex<QueueState>,
    ready: Condvar,
}

#[derive(Default)]
struct QueueState {
    items: VecDeque<Alert>,
    bytes: usize,
    closed: bool,
}

fn picture_bytes(a: &Alert) -> usize {
    a.snapshot.as_ref().map_or(0, |s| s.data.len())
}

/// Where producers submit alerts (through fusion); cheap to clone.
#[derive(Clone)]
pub struct EvidenceSink {
    queue: Arc<Queue>,
    next: Arc<dyn AlertSubmit>,
}

impl AlertSubmit for EvidenceSink {
    fn submit(&self, alert: Alert) -> Result<(), SubmitError> {
        let mut st = lock(&self.queue.state);
        if st.closed {
            drop(st);
            return self.next.submit(alert);
        }
        let bytes = picture_bytes(&alert);
        if st.items.len() >= QUEUE_MAX_ALERTS || st.bytes + bytes > QUEUE_MAX_BYTES {
            drop(st);
            tracing::warn!(id = %alert.id, kind = %alert.kind, "evidence stage busy (disk slow?); alert sent without stored evidence");
            let mut alert = alert;
            alert.evidence.get_or_insert_with(Evidence::default).problem =
                Some("the evidence writer was busy; the picture was not stored".into());
            return self.next.submit(alert);
        }
        st.bytes += bytes;
        st.items.push_back(alert);
        drop(st);
        self.queue.ready.notify_one();
        Ok(())
    }
}

/// The running evidence stage.
pub struct EvidenceStage {
    sink: EvidenceSink,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// What the evidence thread works with.
struct Worker {
    store: Arc<EvidenceStore>,
    link: Arc<dyn EvidenceLink>,
    /// `evidence.http.public_url`, or empty.
    url_base: String,
    next: Arc<dyn AlertSubmit>,
}

impl EvidenceStage {
    /// Starts the `ew-evidence` thread in front of `next`.
    pub fn start(
        store: Arc<EvidenceStore>,
        link: Arc<dyn EvidenceLink>,
        public_url: Option<&str>,
        next: impl AlertSubmit + 'static,
    ) -> std::io::Result<EvidenceStage> {
        let next: Arc<dyn AlertSubmit> = Arc::new(next);
        let queue = Arc::new(Queue::default());
        let worker = Worker {
            store,
            link,
            url_base: public_url.unwrap_or_default().to_string(),
            next: next.clone(),
        };
        let q = queue.clone();
        let thread = std::thread::Builder::new()
            .name("ew-evidence".into())
            .spawn(move || worker.run(&q))?;
        Ok(EvidenceStage {
            sink: EvidenceSink { queue, next },
            thread: Some(thread),
        })
    }

    pub fn sink(&self) -> EvidenceSink {
        self.sink.clone()
    }

    /// Handles what is queued, then stops; later alerts go straight to the next sink.
    pub fn shutdown(mut self) {
        self.close();
    }

    fn close(&mut self) {
        lock(&self.sink.queue.state).closed = true;
        self.sink.queue.ready.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for EvidenceStage {
    fn drop(&mut self) {
        self.close();
    }
}

impl Worker {
    fn run(&self, q: &Queue) {
        loop {
            let mut st = lock(&q.state);
            while st.items.is_empty() && !st.closed {
                st = wait_timeout(&q.ready, st, Duration::from_secs(1));
            }
            let Some(alert) = st.items.pop_front() else {
                break;
            };
            st.bytes -= picture_bytes(&alert);
            drop(st);
            let (id, kind) = (alert.id, alert.kind);
            let alert = self.process(alert);
            if let Err(e) = self.next.submit(alert) {
                tracing::error!(%id, %kind, error = %e, "alert not queued for delivery");
            }
        }
    }

    /// Stores the alert's picture and fills in its `evidence`.
    fn process(&self, mut alert: Alert) -> Alert {
        let Some(camera) = alert.camera.clone() else {
            return alert;
        };
        self.store
            .note_lifecycle(alert.event, alert.kind, alert.state);
        if !camera_dir_ok(&camera) {
            return alert;
        }
        let folder = event_dir(self.store.dir(), &camera, alert.event);
        let mut problem = None;
        if let Some(snap) = &alert.snapshot {
            let path = folder.join(SNAPSHOT_DETECT);
            match write_once(&path, &snap.data) {
                Ok(true) => {
                    self.store.wrote();
                    self.store.wake();
                }
                Ok(false) => {}
                Err(e) => {
                    problem = Some(self.store.write_failed(&path, &e));
                    self.store.wake();
                }
            }
            // The snapshot topic: full resolution when it is already there.
            let (jpeg, full) = match std::fs::read(folder.join(SNAPSHOT)) {
                Ok(full) => (full, true),
                Err(_) => (snap.data.clone(), false),
            };
            self.link.publish_snapshot(&camera, alert.kind, jpeg);
            self.store.published(&camera, alert.kind, alert.event, full);
        }
        if folder.is_dir() || problem.is_some() {
            let files = self.store.files_of(&camera, alert.event, &self.url_base);
            if !files.is_empty() || problem.is_some() {
                // Fill in the stage's part; whatever else the alert's
                // producer put in `evidence` stays.
                let ev = alert.evidence.get_or_insert_with(Evidence::default);
                ev.files = files;
                ev.problem = problem;
            }
        }
        alert
    }
}
