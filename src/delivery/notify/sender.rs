//! The sender: one thread per notifier (`ew-notify-<name>`) that reads the
//! outbox from the notifier's own cursor and delivers each row through the
//! notifier's [`Adapter`].
//!
//! For each row, in `seq` order:
//!
//! 1. The adapter says which requests carry it; none: the notifier's routes
//!    do not take it, and it is done at once.
//! 2. Each request is sent (blocking, with the notifier's `timeout_s`) and the
//!    vendor's answer classified: [`Reply::Delivered`] goes on with the next
//!    request; [`Reply::Retry`] (and a failed connection or a timeout) sends
//!    the same request again after a backoff with jitter (1 s doubling to
//!    60 s); [`Reply::Rejected`] is logged and counted and the row passed
//!    over; [`Reply::RateLimited`] waits as long as the vendor asked (its
//!    `Retry-After` header, else one rate window) and sends again.
//! 3. Once every request of the row was taken, the cursor moves past it and
//!    is written to the outbox ([`Store::advance_sink`]): a crash before that
//!    only sends the row again (at least once).
//!
//! **Rate limit.** [`Adapter::rate_limit`] is kept with a sliding window of
//! the times requests were sent. While the budget is spent (or the vendor
//! said it was), the sender keeps reading ahead (up to [`READ_AHEAD`] rows)
//! and, when the budget returns, sends only the newest pending state of each
//! incident: a row whose incident has a later row waiting (same `event`, and
//! the same topic for handling and escalation messages) is counted as
//! `merged` and passed over. Nothing is dropped (the last state always goes)
//! and order within an incident holds. Rows are never merged while the
//! vendor is merely down (retries), only while the budget is spent.
//!
//! **Reload.** [`Senders::apply`] takes a new set of notifiers: a notifier
//! whose table and credentials file are unchanged ([`NotifierSpec::fingerprint`])
//! keeps its thread (its rate-limit window, read-ahead and figures); a
//! removed or changed one is stopped (after the request it may be in, at
//! most its `timeout_s`) and a changed one started again from its cursor in
//! the file; a new one starts at the newest row ([`Store::set_sinks`]).

use super::adapter::{Adapter, Context, HttpRequest, Outgoing, Reply};
use crate::base::{lock, redact, wait_timeout, Backoff, UrlPaths};
use crate::delivery::outbox::SinkRow;
use crate::delivery::store::Store;
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

mod limiter;
use limiter::Limiter;

/// Most rows a notifier holds read ahead of its cursor (the merge window).
pub const READ_AHEAD: usize = 1000;
/// Most payload bytes it holds read ahead (alerts may carry a snapshot).
pub const READ_AHEAD_BYTES: usize = 16 * 1024 * 1024;
/// Rows read from the outbox at a time.
const READ_BATCH: usize = 64;
/// How often an idle notifier looks for rows written by other processes.
pub const IDLE_POLL: Duration = Duration::from_millis(500);
/// First and longest wait before a failed request is sent again.
pub const RETRY_MIN: Duration = Duration::from_secs(1);
pub const RETRY_MAX: Duration = Duration::from_secs(60);
/// Most bytes of a vendor's answer read.
const MAX_REPLY_BYTES: u64 = 256 * 1024;

/// One notifier ready to run: its name, its vendor's adapter (with its
/// routes and secrets) and its request timeout.
#[derive(Clone)]
pub struct NotifierSpec {
    /// `[[notifiers]] name`.
    pub name: String,
    /// `webhook`, `wecom`, … (for metrics and the console).
    pub kind: String,
    pub adapter: Arc<dyn Adapter>,
    /// `timeout_s`.
    pub timeout: Duration,
    /// What the notifier was built from (its table and its credentials
    /// file's content): a reload restarts it only when this changed.
    pub fingerprint: String,
}

impl std::fmt::Debug for NotifierSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotifierSpec")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// One notifier's figures since the daemon started, plus its backlog in
/// the outbox.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct NotifierStatus {
    pub name: String,
    pub kind: String,
    /// Rows after its cursor in the outbox file (whether its routes take
    /// them or not).
    pub backlog: u64,
    /// Rows the outbox caps or TTL removed before it got them (ever).
    pub dropped: u64,
    /// Messages the vendor took (all their requests).
    pub notified: u64,
    /// HTTP requests the vendor took.
    pub requests: u64,
    /// Failed attempts (no answer, timeouts, 5xx): each was retried.
    pub failures: u64,
    /// Messages the vendor refused for good (logged, passed over).
    pub rejected: u64,
    /// Times a message had to wait for the rate limit (the notifier's own
    /// window or the vendor's answer).
    pub rate_limited: u64,
    /// Messages passed over because a later state of their incident was
    /// waiting while the rate limit held.
    pub merged: u64,
    /// Messages its routes do not take.
    pub skipped: u64,
    /// When the vendor last took a message (RFC 3339, UTC).
    pub last_success: Option<String>,
    /// Seconds since the Unix epoch of `last_success`.
    pub last_success_unix: Option<f64>,
    /// The latest failure or refusal, for the console.
    pub last_error: Option<String>,
}

/// Wakes the senders when the writer committed rows (or one of them is
/// told to stop).
#[derive(Default)]
pub struct Wake {
    state: Mutex<u64>,
    cond: Condvar,
}

impl Wake {
    /// Rows were added.
    pub fn rows_added(&self) {
        *lock(&self.state) += 1;
        self.cond.notify_all();
    }

    /// Waits up to `d` for new rows, or for `stop` (set before a
    /// [`rows_added`](Self::rows_added) that wakes the waiters); returns
    /// true when stopping.
    fn wait(&self, seen: &mut u64, d: Duration, stop: &AtomicBool) -> bool {
        let mut st = lock(&self.state);
        if *st == *seen && !stop.load(Ordering::SeqCst) {
            st = wait_timeout(&self.cond, st, d);
        }
        *seen = *st;
        stop.load(Ordering::SeqCst)
    }
}

/// One running notifier thread.
struct Running {
    name: String,
    fingerprint: String,
    /// Its request timeout: how long stopping it may take.
    timeout: Duration,
    stop: Arc<AtomicBool>,
    status: Arc<Mutex<NotifierStatus>>,
    handle: std::thread::JoinHandle<()>,
}

impl Running {
    /// Waits until `deadline` for the thread; false when it is still busy
    /// with a request (it ends after it, without moving its cursor).
    fn join_by(self, deadline: Instant) -> bool {
        while !self.handle.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if self.handle.is_finished() {
            let _ = self.handle.join();
            true
        } else {
            false
        }
    }
}

/// What [`Senders::apply`] did, by notifier name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifierChanges {
    /// Unchanged: their threads kept running.
    pub kept: Vec<String>,
    /// New or changed: started (a new one at the newest row).
    pub started: Vec<String>,
    /// Removed or changed: stopped.
    pub stopped: Vec<String>,
}

/// The running notifiers.
pub struct Senders {
    wake: Arc<Wake>,
    running: Vec<Running>,
    store: Arc<Mutex<Store>>,
    /// The context every thread writes with (replaced on reload).
    ctx: Arc<Mutex<Arc<Context>>>,
}

impl Senders {
    /// Starts one thread per notifier. The store must already know the
    /// notifiers ([`Store::set_sinks`]).
    pub fn start(
        specs: Vec<NotifierSpec>,
        ctx: Arc<Context>,
        store: Arc<Mutex<Store>>,
        wake: Arc<Wake>,
    ) -> std::io::Result<Senders> {
        let mut senders = Senders {
            wake,
            running: Vec::new(),
            store,
            ctx: Arc::new(Mutex::new(ctx)),
        };
        for spec in specs {
            let r = senders.spawn(spec)?;
            senders.running.push(r);
        }
        Ok(senders)
    }

    fn spawn(&self, spec: NotifierSpec) -> std::io::Result<Running> {
        let status = Arc::new(Mutex::new(NotifierStatus {
            name: spec.name.clone(),
            kind: spec.kind.clone(),
            ..NotifierStatus::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (name, fingerprint, timeout) =
            (spec.name.clone(), spec.fingerprint.clone(), spec.timeout);
        let worker = Worker::new(
            spec,
            self.ctx.clone(),
            self.store.clone(),
            self.wake.clone(),
            status.clone(),
            stop.clone(),
        );
        let handle = std::thread::Builder::new()
            .name(format!("ew-notify-{name}"))
            .spawn(move || worker.run())?;
        Ok(Running {
            name,
            fingerprint,
            timeout,
            stop,
            status,
            handle,
        })
    }

    /// Makes the running notifiers those of `specs` (a reload; see the
    /// module documentation), writing with `ctx` from now on. Blocks while
    /// the stopped ones finish a request they are in (at most their
    /// `timeout_s`). An error starting a thread leaves the notifiers
    /// started so far running.
    pub fn apply(
        &mut self,
        specs: Vec<NotifierSpec>,
        ctx: Arc<Context>,
    ) -> std::io::Result<NotifierChanges> {
        *lock(&self.ctx) = ctx;
        let mut changes = NotifierChanges::default();
        let (kept, gone): (Vec<Running>, Vec<Running>) = std::mem::take(&mut self.running)
            .into_iter()
            .partition(|r| {
                specs
                    .iter()
                    .any(|s| s.name == r.name && s.fingerprint == r.fingerprint)
            });
        for r in &gone {
            r.stop.store(true, Ordering::SeqCst);
        }
        self.wake.rows_added();
        for r in gone {
            changes.stopped.push(r.name.clone());
            let (name, deadline) = (
                r.name.clone(),
                Instant::now() + r.timeout + Duration::from_secs(2),
            );
            if !r.join_by(deadline) {
                tracing::warn!(notifier = %name, "notifier still busy with a request after its timeout; its message may be sent twice");
            }
        }
        lock(&self.store).set_sinks(specs.iter().map(|s| s.name.clone()).collect());
        let mut kept: Vec<Option<Running>> = kept.into_iter().map(Some).collect();
        for spec in specs {
            let old = kept
                .iter_mut()
                .find(|r| r.as_ref().is_some_and(|r| r.name == spec.name))
                .and_then(Option::take);
            match old {
                Some(r) => {
                    changes.kept.push(r.name.clone());
                    self.running.push(r);
                }
                None => {
                    changes.started.push(spec.name.clone());
                    let r = self.spawn(spec)?;
                    self.running.push(r);
                }
            }
        }
        Ok(changes)
    }

    /// Each notifier's figures, with its backlog read from the outbox.
    pub fn status(&self) -> Vec<NotifierStatus> {
        let figures = lock(&self.store).sink_figures();
        self.running
            .iter()
            .map(|r| {
                let mut s = lock(&r.status).clone();
                if let Some(f) = figures.get(&s.name) {
                    s.backlog = f.backlog;
                    s.dropped = f.dropped;
                }
                s
            })
            .collect()
    }

    /// Tells the threads to stop, without waiting.
    pub fn signal_stop(&self) {
        for r in &self.running {
            r.stop.store(true, Ordering::SeqCst);
        }
        self.wake.rows_added();
    }

    /// Stops the threads; waits up to `wait` for them (one in the middle of
    /// a request is left to finish on its own: its row stays queued and is
    /// sent again at the next start).
    pub fn stop(self, wait: Duration) {
        self.signal_stop();
        let deadline = Instant::now() + wait;
        for r in self.running {
            let name = r.name.clone();
            if !r.join_by(deadline) {
                tracing::warn!(notifier = %name, "notifier still busy with a request at shutdown; its message is sent again at the next start");
            }
        }
    }
}

/// A row read ahead of the cursor.
struct Item {
    seq: i64,
    /// Merge key: the incident (`event`) plus the topic for messages that
    /// are not alerts. `None`: never merged.
    key: Option<String>,
    topic: Option<String>,
    payload: serde_json::Value,
    /// Not taken by the routes (or unreadable): done at once.
    skip: bool,
    /// Requests of this row already taken by the vendor.
    progress: usize,
    /// Counted as rate limited already.
    held: bool,
    /// Payload bytes.
    bytes: usize,
}

/// What one HTTP exchange gave.
enum Exchange {
    Answer {
        status: u16,
        body: Vec<u8>,
        retry_after: Option<Duration>,
    },
    Failed(String),
}

struct Worker {
    spec: NotifierSpec,
    ctx: Arc<Mutex<Arc<Context>>>,
    store: Arc<Mutex<Store>>,
    wake: Arc<Wake>,
    status: Arc<Mutex<NotifierStatus>>,
    /// Set when this notifier is to stop (shutdown, or a reload that
    /// removed or changed it).
    stop: Arc<AtomicBool>,
    agent: ureq::Agent,
    cursor: i64,
    /// The file knows this notifier (its cursor is read from there).
    registered: bool,
    epoch: u64,
    buf: VecDeque<Item>,
    /// Payload bytes in `buf`.
    buf_bytes: usize,
    limiter: Limiter,
    /// A failed request is not sent again before this.
    retry_at: Option<Instant>,
    /// Set while the rate limit holds messages back; cleared once caught up.
    throttled: bool,
    backoff: Backoff,
    seen: u64,
}

impl Worker {
    fn new(
        spec: NotifierSpec,
        ctx: Arc<Mutex<Arc<Context>>>,
        store: Arc<Mutex<Store>>,
        wake: Arc<Wake>,
        status: Arc<Mutex<NotifierStatus>>,
        stop: Arc<AtomicBool>,
    ) -> Worker {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(spec.timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        let limiter = Limiter::new(spec.adapter.rate_limit());
        Worker {
            spec,
            ctx,
            store,
            wake,
            status,
            stop,
            agent,
            cursor: 0,
            registered: false,
            epoch: u64::MAX,
            buf: VecDeque::new(),
            buf_bytes: 0,
            limiter,
            retry_at: None,
            throttled: false,
            backoff: Backoff::new(RETRY_MIN, RETRY_MAX),
            seen: 0,
        }
    }

    fn run(mut self) {
        let span =
            tracing::info_span!("notifier", notifier = %self.spec.name, kind = %self.spec.kind);
        let _enter = span.enter();
        tracing::info!("notifier started");
        while !self.stop.load(Ordering::SeqCst) {
            self.follow_store();
            self.read_ahead();
            let wait = self.step();
            if let Some(wait) = wait {
                if self.wake.wait(&mut self.seen, wait, &self.stop) {
                    break;
                }
            }
        }
        tracing::info!("notifier stopped");
    }

    /// Picks up a new file (salvaged after damage) or moved rows: starts
    /// again from the cursor the file holds.
    fn follow_store(&mut self) {
        let s = lock(&self.store);
        if s.epoch() == self.epoch {
            return;
        }
        self.epoch = s.epoch();
        self.buf.clear();
        self.buf_bytes = 0;
        match s.sink_cursor(&self.spec.name) {
            Some(c) => {
                self.cursor = c;
                self.registered = true;
            }
            None => {
                // The file could not record this notifier yet; it will at
                // the next open (which changes the epoch).
                self.registered = false;
            }
        }
    }

    fn read_ahead(&mut self) {
        if !self.registered {
            return;
        }
        while self.buf.len() < READ_AHEAD
            && (self.buf_bytes < READ_AHEAD_BYTES || self.buf.is_empty())
        {
            let after = self.buf.back().map_or(self.cursor, |i| i.seq);
            let want = READ_BATCH.min(READ_AHEAD - self.buf.len());
            let rows = lock(&self.store).sink_rows(after, want);
            let got = rows.len();
            let now = chrono::Utc::now();
            for row in rows {
                let item = self.item(row, now);
                self.buf_bytes += item.bytes;
                self.buf.push_back(item);
            }
            if got < want {
                break;
            }
        }
    }

    fn item(&self, row: SinkRow, now: chrono::DateTime<chrono::Utc>) -> Item {
        let payload: serde_json::Value = match serde_json::from_slice(&row.payload) {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(seq = row.seq, error = %e, "outbox row is not JSON; passed over");
                return Item {
                    seq: row.seq,
                    key: None,
                    topic: None,
                    payload: serde_json::Value::Null,
                    skip: true,
                    progress: 0,
                    held: false,
                    bytes: 0,
                };
            }
        };
        let key = match &row.topic {
            Some(t) => Some(t.clone()),
            None => payload
                .get("event")
                .and_then(|e| e.as_str())
                .map(|e| format!("alert/{e}")),
        };
        let msg = Outgoing {
            seq: row.seq,
            topic: row.topic.as_deref(),
            payload: &payload,
        };
        let ctx = self.ctx();
        let skip = match self.spec.adapter.requests(&msg, &ctx, now) {
            Ok(r) => r.is_empty(),
            Err(e) => {
                tracing::error!(seq = row.seq, id = %row.id, error = %e, "message cannot be written for this notifier; passed over");
                self.note_rejected(e.to_string());
                true
            }
        };
        Item {
            seq: row.seq,
            key,
            topic: row.topic,
            payload,
            skip,
            progress: 0,
            held: false,
            bytes: row.payload.len(),
        }
    }

    /// The context messages are written with now.
    fn ctx(&self) -> Arc<Context> {
        lock(&self.ctx).clone()
    }

    fn note_rejected(&self, reason: String) {
        let mut s = lock(&self.status);
        s.rejected += 1;
        s.last_error = Some(reason);
    }

    /// Does the next piece of work; returns how long to wait before the
    /// next, `None` to go on at once.
    fn step(&mut self) -> Option<Duration> {
        // Rows done without a request: routes, merges.
        let mut done_to = None;
        while let Some(head) = self.buf.front() {
            if head.skip {
                lock(&self.status).skipped += 1;
            } else if self.throttled && head.progress == 0 && self.superseded(head) {
                lock(&self.status).merged += 1;
                tracing::debug!(
                    seq = head.seq,
                    "merged into a later state of its incident (rate limit)"
                );
            } else {
                break;
            }
            done_to = self.pop_head().map(|i| i.seq);
        }
        if let Some(seq) = done_to {
            self.commit(seq);
        }
        if self.buf.is_empty() {
            self.throttled = false;
            return Some(IDLE_POLL);
        }
        let now = Instant::now();
        if let Some(at) = self.retry_at {
            if now < at {
                // Woken early (new rows): the backoff still holds.
                return Some(at.duration_since(now));
            }
            self.retry_at = None;
        }
        if let Some(at) = self.limiter.ready_at(now) {
            self.throttled = true;
            if let Some(head) = self.buf.front_mut() {
                if !head.held {
                    head.held = true;
                    lock(&self.status).rate_limited += 1;
                }
            }
            // Keep reading ahead meanwhile (new states to merge).
            return Some(at.duration_since(now).min(IDLE_POLL));
        }
        self.send_head()
    }

    /// True when a later row of the same incident waits in the buffer.
    fn superseded(&self, head: &Item) -> bool {
        let Some(key) = &head.key else { return false };
        self.buf
            .iter()
            .skip(1)
            .any(|i| !i.skip && i.key.as_ref() == Some(key))
    }

    /// Sends the head row's next request and handles the answer.
    fn send_head(&mut self) -> Option<Duration> {
        let Some(head) = self.buf.front() else {
            return Some(IDLE_POLL);
        };
        let msg = Outgoing {
            seq: head.seq,
            topic: head.topic.as_deref(),
            payload: &head.payload,
        };
        let ctx = self.ctx();
        let requests = match self.spec.adapter.requests(&msg, &ctx, chrono::Utc::now()) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(seq = head.seq, error = %e, "message cannot be written for this notifier; passed over");
                self.note_rejected(e.to_string());
                return self.finish_head(false);
            }
        };
        let (seq, progress) = (head.seq, head.progress);
        let Some(req) = requests.get(progress) else {
            return self.finish_head(progress > 0);
        };
        let now = Instant::now();
        self.limiter.record(now);
        match self.exchange(req) {
            Exchange::Answer {
                status,
                body,
                retry_after,
            } => match self.spec.adapter.classify(status, &body) {
                Reply::Delivered => {
                    self.backoff.reset();
                    lock(&self.status).requests += 1;
                    if let Some(h) = self.buf.front_mut() {
                        h.progress += 1;
                    }
                    if progress + 1 >= requests.len() {
                        return self.finish_head(true);
                    }
                    None
                }
                Reply::RateLimited { retry_after: r } => {
                    let wait = r.or(retry_after);
                    tracing::warn!(seq, status, wait_s = wait.map(|w| w.as_secs_f64()), "vendor rate limit hit; waiting, later states of an incident are merged meanwhile");
                    self.limiter.block(Instant::now(), wait);
                    self.throttled = true;
                    if let Some(h) = self.buf.front_mut() {
                        h.held = true;
                    }
                    let mut s = lock(&self.status);
                    s.rate_limited += 1;
                    s.last_error = Some(format!("rate limited (HTTP {status})"));
                    None
                }
                Reply::Retry { reason } => self.failed(seq, format!("HTTP {status}: {reason}")),
                Reply::Rejected { reason } => {
                    tracing::error!(seq, status, %reason, "vendor refused the message for good; passed over");
                    self.note_rejected(format!("HTTP {status}: {reason}"));
                    self.finish_head(false)
                }
            },
            Exchange::Failed(reason) => self.failed(seq, reason),
        }
    }

    fn failed(&mut self, seq: i64, reason: String) -> Option<Duration> {
        let wait = self.backoff.next_wait();
        self.retry_at = Some(Instant::now() + wait);
        let first = {
            let mut s = lock(&self.status);
            s.failures += 1;
            let first = s.last_error.as_deref() != Some(reason.as_str());
            s.last_error = Some(reason.clone());
            first
        };
        if first {
            tracing::warn!(seq, error = %reason, retry_in_s = wait.as_secs_f64(), "notification not delivered; retrying with backoff");
        } else {
            tracing::debug!(seq, error = %reason, retry_in_s = wait.as_secs_f64(), "notification still not delivered");
        }
        Some(wait)
    }

    /// The head row is done (delivered, or passed over): move the cursor.
    fn pop_head(&mut self) -> Option<Item> {
        let head = self.buf.pop_front()?;
        self.buf_bytes = self.buf_bytes.saturating_sub(head.bytes);
        Some(head)
    }

    fn finish_head(&mut self, delivered: bool) -> Option<Duration> {
        let head = self.pop_head()?;
        if delivered {
            let now = chrono::Utc::now();
            let mut s = lock(&self.status);
            s.notified += 1;
            s.last_success = Some(now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
            s.last_success_unix = Some(now.timestamp_millis() as f64 / 1000.0);
            s.last_error = None;
        }
        self.commit(head.seq);
        None
    }

    fn commit(&mut self, seq: i64) {
        self.cursor = self.cursor.max(seq);
        lock(&self.store).advance_sink(self.epoch, &self.spec.name, self.cursor);
    }

    fn exchange(&self, req: &HttpRequest) -> Exchange {
        let mut r = self.agent.post(&req.url);
        for (k, v) in &req.headers {
            r = r.header(k.as_str(), v.as_str());
        }
        match r.send(&req.body[..]) {
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                let retry_after = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                let body = resp
                    .body_mut()
                    .with_config()
                    .limit(MAX_REPLY_BYTES)
                    .read_to_vec()
                    .unwrap_or_default();
                Exchange::Answer {
                    status,
                    body,
                    retry_after,
                }
            }
            Err(e) => Exchange::Failed(describe(&e, &req.url)),
        }
    }
}

/// A transport error in words, without the URL's query (keys live there).
/// A failed request's error as logged and shown on the console: the URL is
/// cut to its host (`https://host/***`), because a chat bot's key may be its
/// path (Feishu) or its query (WeCom, DingTalk); see `docs/redaction.md`.
fn describe(e: &ureq::Error, url: &str) -> String {
    redact(&format!("{url}: {e}"), UrlPaths::Hide)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_in_errors_lose_their_query() {
        let url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRET";
        let e = ureq::Error::Io(std::io::Error::other(format!("refused by {url}")));
        let text = describe(&e, url);
        assert!(!text.contains("SECRET"), "{text}");
        assert!(text.starts_with("https://qyapi.weixin.qq.com/"), "{text}");
        assert!(text.contains("refused by"), "{text}");
    }

    #[test]
    fn a_key_in_the_path_is_hidden_too() {
        let url = "https://open.feishu.cn/open-apis/bot/v2/hook/PATHSECRET";
        let e = ureq::Error::Io(std::io::Error::other(format!("refused by {url}")));
        let text = describe(&e, url);
        assert!(!text.contains("PATHSECRET"), "{text}");
        assert!(text.starts_with("https://open.feishu.cn/"), "{text}");
    }
}
