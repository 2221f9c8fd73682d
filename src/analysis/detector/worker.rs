//! The shared inference worker: model calls off the cameras' analysis
//! threads.
//!
//! Owns a bounded queue of inference jobs and the threads that run them
//! (`ew-infer-<n>`, `[runtime] inference_threads`, started on the first job).
//! Every camera's analyzers share it through the [`Models`](super::Models)
//! they were built with; each model still has exactly one ONNX Runtime
//! session, which the jobs take turns on.
//!
//! An analyzer holds an [`InferenceClient`] (one per analyzer of a camera),
//! [`submit`](InferenceClient::submit)s a job (a closure that calls the
//! models, e.g. "detect people in this frame, classify this crop") with a tag
//! of its choosing, and on later frames [`poll`](InferenceClient::poll)s for
//! [`Answer`]s. Submitting never blocks: when the queue is full, the oldest
//! queued job of the same client is dropped (or, when it has none queued, the
//! new one), its client gets [`Answer::Dropped`] for it, and
//! `estatewatch_inference_dropped_total` counts it. A slow model therefore
//! lowers how often an analyzer gets model answers, never its camera's frame
//! rate.
//!
//! Replay runs every camera's frames as fast as they decode, one process per
//! clip; there the pool runs each job on the caller's thread at submit
//! ([`InferencePool::set_inline`]), so answers still arrive on the next
//! poll and a replay is repeatable.

use crate::base::lock;
use crate::monitor::inference_stats;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Default number of queued jobs (all cameras together).
pub const DEFAULT_QUEUE: usize = 32;

/// The default number of inference threads for a box with `cpus` cores:
/// one on up to three cores (decoding needs the rest), else one per two
/// cores, at most four.
pub fn default_threads(cpus: usize) -> usize {
    (cpus / 2).clamp(1, 4)
}

/// What became of a job.
#[derive(Debug)]
pub enum Answer<R> {
    /// The job ran; its result.
    Done(R),
    /// The job was dropped from a full queue (or the pool shut down) and
    /// never ran: ask again later if still needed.
    Dropped,
}

/// One queued job: runs the closure and sends its answer, or tells its
/// client it was dropped.
struct Job {
    client: u64,
    run: Box<dyn FnOnce() + Send>,
    drop: Box<dyn FnOnce() + Send>,
}

struct Shared {
    queue: Mutex<VecDeque<Job>>,
    ready: Condvar,
    capacity: usize,
    threads: usize,
    started: OnceLock<()>,
    closed: AtomicBool,
    inline: AtomicBool,
}

impl Shared {
    /// Starts the worker threads the first time a job is queued.
    fn start(self: &Arc<Self>) {
        self.started.get_or_init(|| {
            for n in 0..self.threads {
                let shared = self.clone();
                let spawned = std::thread::Builder::new()
                    .name(format!("ew-infer-{n}"))
                    .spawn(move || work(&shared));
                if let Err(e) = spawned {
                    tracing::error!(error = %e, "cannot start an inference thread");
                }
            }
        });
    }
}

/// Closes the queue when the pool and every client of it are gone: the
/// threads stop after the job each is running, queued jobs are answered
/// [`Answer::Dropped`].
struct Owner {
    shared: Arc<Shared>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        let dropped: Vec<Job> = lock(&self.shared.queue).drain(..).collect();
        inference_stats().set_depth(0);
        for job in dropped {
            (job.drop)();
        }
        self.shared.ready.notify_all();
    }
}

/// The shared inference worker; see the module doc. It runs as long as it
/// or any of its clients lives (the analyzers keep it after the
/// [`Models`](super::Models) that made it are dropped).
pub struct InferencePool {
    owner: Arc<Owner>,
    next_client: AtomicU64,
}

impl std::fmt::Debug for InferencePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InferencePool")
            .field("threads", &self.owner.shared.threads)
            .field("capacity", &self.owner.shared.capacity)
            .finish()
    }
}

impl Default for InferencePool {
    fn default() -> InferencePool {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        InferencePool::new(default_threads(cpus), DEFAULT_QUEUE)
    }
}

impl InferencePool {
    /// A pool of `threads` threads (at least 1) and a queue of `capacity`
    /// jobs (at least 1). Threads start with the first queued job.
    pub fn new(threads: usize, capacity: usize) -> InferencePool {
        InferencePool {
            owner: Arc::new(Owner {
                shared: Arc::new(Shared {
                    queue: Mutex::new(VecDeque::new()),
                    ready: Condvar::new(),
                    capacity: capacity.max(1),
                    threads: threads.max(1),
                    started: OnceLock::new(),
                    closed: AtomicBool::new(false),
                    inline: AtomicBool::new(false),
                }),
            }),
            next_client: AtomicU64::new(1),
        }
    }

    /// Runs every job on the submitting thread, at submit (replay: one clip
    /// per process, as fast as it decodes, answers repeatable).
    pub fn set_inline(&self, inline: bool) {
        self.owner.shared.inline.store(inline, Ordering::SeqCst);
    }

    /// Number of worker threads.
    pub fn threads(&self) -> usize {
        self.owner.shared.threads
    }

    /// Most jobs queued at once.
    pub fn capacity(&self) -> usize {
        self.owner.shared.capacity
    }

    /// A client for one analyzer of `camera` (named in logs); its answers
    /// are of type `R`.
    pub fn client<R: Send + 'static>(&self, camera: &str) -> InferenceClient<R> {
        let (tx, rx) = mpsc::channel();
        InferenceClient {
            shared: self.owner.shared.clone(),
            _owner: self.owner.clone(),
            id: self.next_client.fetch_add(1, Ordering::Relaxed),
            camera: camera.to_string(),
            tx,
            rx,
            pending: 0,
        }
    }
}

/// One worker thread: takes the oldest job, runs it, until the pool closes.
fn work(shared: &Shared) {
    loop {
        let job = {
            let mut q = lock(&shared.queue);
            loop {
                if shared.closed.load(Ordering::SeqCst) {
                    return;
                }
                if let Some(job) = q.pop_front() {
                    inference_stats().set_depth(q.len() as u64);
                    break job;
                }
                q = match shared.ready.wait(q) {
                    Ok(q) => q,
                    Err(poisoned) => poisoned.into_inner(),
                };
            }
        };
        let Job { run, drop, .. } = job;
        // A job that panics must not take the thread (and every camera's
        // model answers) with it; its analyzer hears it was dropped.
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).is_err() {
            tracing::error!("an inference job panicked; answered as dropped");
            drop();
        }
    }
}

/// A job's answer as it travels back: tag, answer, time since submit.
type Reply<R> = (u64, Answer<R>, Duration);

/// One analyzer's line to the pool; see the module doc.
pub struct InferenceClient<R> {
    shared: Arc<Shared>,
    /// Keeps the worker running while this client lives.
    _owner: Arc<Owner>,
    id: u64,
    camera: String,
    tx: Sender<Reply<R>>,
    rx: Receiver<Reply<R>>,
    /// Jobs submitted and not yet answered.
    pending: usize,
}

impl<R: Send + 'static> InferenceClient<R> {
    /// Queues `job` under `tag`; its answer comes from a later
    /// [`poll`](Self::poll). Never waits for the models: a full queue drops
    /// this client's oldest queued job (answered [`Answer::Dropped`]), or
    /// this one when the client has none queued.
    pub fn submit(&mut self, tag: u64, job: impl FnOnce() -> R + Send + 'static) {
        self.pending += 1;
        inference_stats().submitted();
        let asked = Instant::now();
        if self.shared.inline.load(Ordering::SeqCst) {
            let r = job();
            let _ = self.tx.send((tag, Answer::Done(r), asked.elapsed()));
            return;
        }
        let (tx_run, tx_drop) = (self.tx.clone(), self.tx.clone());
        // The job logs under the camera's span, as if it ran on its thread.
        let span = tracing::Span::current();
        let new = Job {
            client: self.id,
            run: Box::new(move || {
                let _in_camera = span.enter();
                let r = job();
                let _ = tx_run.send((tag, Answer::Done(r), asked.elapsed()));
            }),
            drop: Box::new(move || {
                let _ = tx_drop.send((tag, Answer::Dropped, asked.elapsed()));
            }),
        };
        if self.shared.closed.load(Ordering::SeqCst) {
            (new.drop)();
            return;
        }
        self.shared.start();
        let dropped = {
            let mut q = lock(&self.shared.queue);
            let dropped = if q.len() < self.shared.capacity {
                q.push_back(new);
                None
            } else if let Some(i) = q.iter().position(|j| j.client == self.id) {
                let old = q.remove(i);
                q.push_back(new);
                old
            } else {
                Some(new)
            };
            inference_stats().set_depth(q.len() as u64);
            dropped
        };
        self.shared.ready.notify_one();
        if let Some(job) = dropped {
            inference_stats().dropped();
            tracing::debug!(camera = %self.camera, "inference queue full: a request was dropped");
            (job.drop)();
        }
    }

    /// Answers that arrived since the last poll, oldest first, with their
    /// tags. Never blocks.
    pub fn poll(&mut self) -> Vec<(u64, Answer<R>)> {
        let mut out = Vec::new();
        while let Ok((tag, answer, _waited)) = self.rx.try_recv() {
            self.pending = self.pending.saturating_sub(1);
            out.push((tag, answer));
        }
        out
    }

    /// Jobs submitted and not yet polled.
    pub fn pending(&self) -> usize {
        self.pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::sync_channel;

    /// A pool whose one thread is held inside a job until the returned
    /// sender is used (or dropped).
    fn busy_pool(capacity: usize) -> (InferencePool, mpsc::SyncSender<()>) {
        let pool = InferencePool::new(1, capacity);
        let mut blocker = pool.client::<()>("blocker");
        let (release, wait) = sync_channel::<()>(0);
        let (started_tx, started) = sync_channel::<()>(1);
        blocker.submit(0, move || {
            let _ = started_tx.send(());
            let _ = wait.recv();
        });
        started.recv().expect("the worker took the blocking job");
        (pool, release)
    }

    #[test]
    fn a_full_queue_drops_the_same_cameras_oldest_job_and_never_blocks() {
        let (pool, release) = busy_pool(2);
        let mut a = pool.client::<u64>("a");
        let mut b = pool.client::<u64>("b");
        a.submit(1, || 1);
        b.submit(2, || 2);
        // Full: a's oldest (1) goes, 3 is queued.
        a.submit(3, || 3);
        // Full again, and c has nothing queued: its own new job goes.
        let mut c = pool.client::<u64>("c");
        c.submit(4, || 4);
        assert!(matches!(c.poll().as_slice(), [(4, Answer::Dropped)]));
        drop(release);
        let mut got = Vec::new();
        while got.len() < 2 {
            for (tag, ans) in a.poll() {
                got.push((tag, matches!(ans, Answer::Done(v) if v == tag)));
            }
        }
        assert_eq!(got, vec![(1, false), (3, true)]);
        let mut done = b.poll();
        while done.is_empty() {
            done = b.poll();
        }
        assert!(matches!(done.as_slice(), [(2, Answer::Done(2))]));
        assert_eq!((a.pending(), b.pending(), c.pending()), (0, 0, 0));
    }

    #[test]
    fn inline_pools_answer_on_the_next_poll() {
        let pool = InferencePool::new(1, 1);
        pool.set_inline(true);
        let mut a = pool.client::<u32>("a");
        a.submit(7, || 42);
        a.submit(8, || 43);
        let got: Vec<(u64, u32)> = a
            .poll()
            .into_iter()
            .filter_map(|(t, ans)| match ans {
                Answer::Done(v) => Some((t, v)),
                Answer::Dropped => None,
            })
            .collect();
        assert_eq!(got, vec![(7, 42), (8, 43)]);
    }

    #[test]
    fn the_worker_runs_while_a_client_lives_after_the_pool_is_dropped() {
        let (pool, release) = busy_pool(4);
        let mut a = pool.client::<u8>("a");
        a.submit(1, || 1);
        // The analyzers outlive the `Models` that made the pool.
        drop(pool);
        drop(release);
        a.submit(2, || 2);
        let mut got = Vec::new();
        while got.len() < 2 {
            got.extend(
                a.poll()
                    .into_iter()
                    .map(|(t, ans)| (t, matches!(ans, Answer::Done(_)))),
            );
        }
        assert_eq!(got, vec![(1, true), (2, true)]);
    }

    #[test]
    fn default_threads_leave_small_boxes_to_decoding() {
        assert_eq!([1, 2, 3, 4, 8, 16].map(default_threads), [1, 1, 1, 2, 4, 4]);
    }
}
