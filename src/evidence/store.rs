//! The evidence folder's bookkeeping: its size, the sweep that keeps it
//! within `evidence.max_gb`, `evidence.min_free_mb` and
//! `evidence.retention_days`, and the figures `/metrics` and the stats topic
//! show ([`EvidenceStats`]).
//!
//! The sweep runs on its own thread ([`Sweeper`]): every
//! `evidence.sweep_interval_s`, and soon after each file the daemon writes
//! or fails to write ([`EvidenceStore::wake`]). It removes whole event
//! folders, oldest (latest write) first:
//!
//! 1. older than the retention (`retention`);
//! 2. while the folder is over the cap (`cap`);
//! 3. while its filesystem has less free space than the floor (`disk_free`);
//!
//! but never a protected one: an incident still open or with an alert not yet
//! delivered ([`EvidenceLink::protected_events`], asked of the outbox at every
//! sweep), an incident the evidence stage saw open in this run, a folder with
//! a `.part` written in the last [`PART_ACTIVE`] (a clip being written), or a
//! folder written in the last [`GRACE`] (its alert may not be committed yet).
//! When protected folders alone exceed a limit the sweep says so once and
//! keeps them. When the outbox cannot answer (its file is failing) only the
//! incidents the evidence stage itself knows to be open are protected.

use super::config::EvidenceConfig;
use super::{camera_dir_ok, sha256_file, FILE_NAMES, PART_SUFFIX};
use crate::alert::{AlertKind, EvidenceFile};
use crate::base::lock;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, SystemTime};
use uuid::Uuid;

/// A folder written this recently is never removed.
pub const GRACE: Duration = Duration::from_secs(60);
/// A folder with a `.part` file written this recently is being written to.
pub const PART_ACTIVE: Duration = Duration::from_secs(600);
/// Why a folder was removed: the label of the evictions counter.
pub const REASONS: [&str; 3] = ["retention", "cap", "disk_free"];

/// What the evidence side needs from delivery: which incidents must keep
/// their files, and the retained snapshot topic. Implemented by
/// [`StatusProbe`](crate::delivery::StatusProbe).
pub trait EvidenceLink: Send + Sync {
    /// Events with an alert not yet delivered or an incident still open.
    fn protected_events(&self) -> Result<BTreeSet<Uuid>, String>;
    /// Publishes the latest picture of `kind` at `camera` (raw JPEG).
    fn publish_snapshot(&self, camera: &str, kind: AlertKind, jpeg: Vec<u8>);
}

impl EvidenceLink for crate::delivery::StatusProbe {
    fn protected_events(&self) -> Result<BTreeSet<Uuid>, String> {
        crate::delivery::StatusProbe::protected_events(self).map_err(|e| e.to_string())
    }

    fn publish_snapshot(&self, camera: &str, kind: AlertKind, jpeg: Vec<u8>) {
        crate::delivery::StatusProbe::publish_snapshot(self, camera.to_string(), kind, jpeg)
    }
}

/// The limits a sweep holds the folder to (from `[evidence]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub max_bytes: u64,
    /// 0: no floor.
    pub min_free_bytes: u64,
    pub retention: Duration,
}

impl Limits {
    pub fn of(cfg: &EvidenceConfig) -> Limits {
        Limits {
            max_bytes: cfg.max_bytes(),
            min_free_bytes: cfg.min_free_bytes(),
            retention: Duration::from_secs(cfg.retention_days.saturating_mul(86_400)),
        }
    }
}

/// The evidence folder's figures (the stats topic's `evidence`, and
/// `estatewatch_evidence_*` in `/metrics`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EvidenceStats {
    /// Bytes in event folders (complete and partial files).
    pub bytes: u64,
    /// Event folders.
    pub events: u64,
    /// Age of the oldest event folder's latest write, seconds (0 when none).
    pub oldest_age_s: f64,
    /// Folders removed since start, by reason: `retention`, `cap`, `disk_free`.
    pub evictions: BTreeMap<String, u64>,
    /// Files that could not be written since start (full disk, unwritable folder).
    pub write_failures: u64,
    /// False after a failed write, until a write succeeds again.
    pub writable: bool,
    /// The latest write failure, or protected folders over a limit (a sentence).
    pub problem: Option<String>,
    /// Free bytes on the folder's filesystem at the last sweep; null when unknown.
    pub free_bytes: Option<u64>,
}

impl Default for EvidenceStats {
    fn default() -> Self {
        EvidenceStats {
            bytes: 0,
            events: 0,
            oldest_age_s: 0.0,
            evictions: REASONS.iter().map(|r| (r.to_string(), 0)).collect(),
            write_failures: 0,
            writable: true,
            problem: None,
            free_bytes: None,
        }
    }
}

/// One event folder as a sweep sees it.
#[derive(Debug, Clone)]
pub struct EventFolder {
    pub camera: String,
    pub event: Uuid,
    pub path: PathBuf,
    pub bytes: u64,
    /// The latest modification of the folder or a file in it.
    pub newest: SystemTime,
    /// A `.part` file in it was written within [`PART_ACTIVE`].
    pub writing: bool,
}

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SweepReport {
    /// `(event, reason)` of each folder removed, in order.
    pub evicted: Vec<(Uuid, &'static str)>,
    /// Folders kept although a limit wanted them gone.
    pub kept_protected: usize,
}

/// The latest picture published per camera and kind.
#[derive(Debug, Clone)]
struct Latest {
    event: Uuid,
    full_published: bool,
}

#[derive(Debug, Default)]
struct State {
    stats: EvidenceStats,
    /// Incidents the evidence stage saw open (lifecycle kinds) in this run.
    open: HashSet<Uuid>,
    wake: bool,
    stop: bool,
    over_limit_warned: bool,
    outbox_warned: bool,
    latest: BTreeMap<(String, AlertKind), Latest>,
    /// sha256 by path, valid while length and mtime are unchanged.
    hashes: HashMap<PathBuf, (u64, SystemTime, String)>,
}

/// Most hashes remembered (beyond that the cache starts again).
const HASH_CACHE_MAX: usize = 10_000;

/// The evidence folder: shared by the evidence stage, the sweeper, the HTTP
/// server and the monitor.
#[derive(Debug)]
pub struct EvidenceStore {
    dir: PathBuf,
    limits: Limits,
    state: Mutex<State>,
    wake: Condvar,
}

impl EvidenceStore {
    pub fn new(dir: &Path, limits: Limits) -> EvidenceStore {
        EvidenceStore {
            dir: dir.to_path_buf(),
            limits,
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The figures now (as of the last sweep).
    pub fn stats(&self) -> EvidenceStats {
        lock(&self.state).stats.clone()
    }

    /// Asks the sweeper to run soon.
    pub fn wake(&self) {
        lock(&self.state).wake = true;
        self.wake.notify_all();
    }

    /// Records a file written.
    pub fn wrote(&self) {
        let mut st = lock(&self.state);
        if !st.stats.writable {
            tracing::info!(dir = %self.dir.display(), "evidence files are written again");
        }
        st.stats.writable = true;
        if st
            .stats
            .problem
            .as_deref()
            .is_some_and(|p| p.starts_with("cannot write"))
        {
            st.stats.problem = None;
        }
    }

    /// Records a failed write of `path`; returns the sentence for the alert.
    pub fn write_failed(&self, path: &Path, e: &std::io::Error) -> String {
        let why = match e.raw_os_error() {
            Some(libc::ENOSPC) | Some(libc::EDQUOT) => {
                "the disk is full; the sweep removes the oldest evidence it may, lower evidence.max_gb or free space"
            }
            Some(libc::EACCES) | Some(libc::EPERM) | Some(libc::EROFS) | Some(libc::ENOTDIR) => {
                "check that evidence.dir exists and that the daemon's user may write there"
            }
            _ => "check evidence.dir",
        };
        let sentence = format!("cannot write {}: {e}; {why}", path.display());
        let mut st = lock(&self.state);
        st.stats.write_failures += 1;
        if st.stats.writable {
            tracing::error!(path = %path.display(), error = %e, "evidence file not written: {why}; alerts go on without it");
        } else {
            tracing::debug!(path = %path.display(), error = %e, "evidence file not written");
        }
        st.stats.writable = false;
        st.stats.problem = Some(sentence.clone());
        sentence
    }

    /// Tells the store what an alert says about its incident (lifecycle
    /// kinds: open after `new`/`update`, closed by `end`).
    pub fn note_lifecycle(&self, event: Uuid, kind: AlertKind, state: crate::alert::AlertState) {
        use crate::alert::AlertState;
        if !kind.has_lifecycle() {
            return;
        }
        let mut st = lock(&self.state);
        match state {
            AlertState::End => {
                st.open.remove(&event);
            }
            AlertState::New | AlertState::Update => {
                st.open.insert(event);
            }
        }
    }

    /// Records that the picture of `event` is now the published one for
    /// `camera` and `kind` (`full`: it was the full-resolution snapshot).
    pub fn published(&self, camera: &str, kind: AlertKind, event: Uuid, full: bool) {
        lock(&self.state).latest.insert(
            (camera.to_string(), kind),
            Latest {
                event,
                full_published: full,
            },
        );
    }

    /// The complete evidence files of an event folder, with their sha256
    /// (computed once per file) and the URL prefix `url_base`
    /// (`public_url` or empty).
    pub fn files_of(&self, camera: &str, event: Uuid, url_base: &str) -> Vec<EvidenceFile> {
        let folder = super::event_dir(&self.dir, camera, event);
        let mut out = Vec::new();
        for name in FILE_NAMES {
            let path = folder.join(name);
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if !meta.is_file() {
                continue;
            }
            let mtime = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            let cached = lock(&self.state)
                .hashes
                .get(&path)
                .filter(|(len, t, _)| *len == meta.len() && *t == mtime)
                .map(|(_, _, h)| h.clone());
            let sha = match cached {
                Some(h) => h,
                None => match sha256_file(&path) {
                    Ok(h) => {
                        let mut st = lock(&self.state);
                        if st.hashes.len() >= HASH_CACHE_MAX {
                            st.hashes.clear();
                        }
                        st.hashes
                            .insert(path.clone(), (meta.len(), mtime, h.clone()));
                        h
                    }
                    Err(e) => {
                        tracing::warn!(path = %path.display(), error = %e, "evidence file not hashed; left out of the alert");
                        continue;
                    }
                },
            };
            out.push(EvidenceFile {
                name: name.to_string(),
                path: format!("{camera}/{event}/{name}"),
                url: format!("{url_base}/evidence/{event}/{name}"),
                sha256: sha,
                bytes: meta.len(),
            });
        }
        out
    }

    /// Every event folder under the evidence folder, oldest latest-write first.
    pub fn scan(&self, now: SystemTime) -> Vec<EventFolder> {
        let mut out = Vec::new();
        let Ok(cameras) = std::fs::read_dir(&self.dir) else {
            return out;
        };
        for cam in cameras.flatten() {
            let Some(camera) = cam.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if !camera_dir_ok(&camera) || !cam.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let Ok(events) = std::fs::read_dir(cam.path()) else {
                continue;
            };
            for ev in events.flatten() {
                let name = ev.file_name();
                let Some(event) = name
                    .to_str()
                    .and_then(|n| Uuid::parse_str(n).ok().filter(|u| u.to_string() == n))
                else {
                    continue;
                };
                if !ev.file_type().is_ok_and(|t| t.is_dir()) {
                    continue;
                }
                out.push(folder_of(camera.clone(), event, ev.path(), now));
            }
        }
        out.sort_by_key(|f| (f.newest, f.event));
        out
    }

    /// One sweep: removes what the limits say must go (see the module doc).
    pub fn sweep(&self, link: &dyn EvidenceLink, now: SystemTime) -> SweepReport {
        let started = std::time::Instant::now();
        let folders = self.scan(now);
        let mut protected: BTreeSet<Uuid> = lock(&self.state).open.iter().copied().collect();
        match link.protected_events() {
            Ok(events) => {
                protected.extend(events);
                lock(&self.state).outbox_warned = false;
            }
            Err(e) => {
                let mut st = lock(&self.state);
                if !st.outbox_warned {
                    tracing::warn!(error = %e, "evidence sweep: the outbox cannot say which alerts are undelivered; only incidents seen open in this run are protected");
                    st.outbox_warned = true;
                }
            }
        }
        let age = |f: &EventFolder| now.duration_since(f.newest).unwrap_or_default();
        let keep = |f: &EventFolder| protected.contains(&f.event) || f.writing || age(f) < GRACE;
        let mut report = SweepReport::default();
        let mut gone = vec![false; folders.len()];
        // 1. Retention.
        for (i, f) in folders.iter().enumerate() {
            if age(f) > self.limits.retention {
                if keep(f) {
                    report.kept_protected += 1;
                } else if self.evict(f, "retention") {
                    gone[i] = true;
                    report.evicted.push((f.event, "retention"));
                }
            }
        }
        // 2. The cap.
        let mut total: u64 = folders
            .iter()
            .zip(&gone)
            .filter(|(_, g)| !**g)
            .map(|(f, _)| f.bytes)
            .sum();
        let mut over_cap = false;
        for (i, f) in folders.iter().enumerate() {
            if total <= self.limits.max_bytes {
                break;
            }
            if gone[i] {
                continue;
            }
            if keep(f) {
                over_cap = true;
                continue;
            }
            if self.evict(f, "cap") {
                gone[i] = true;
                total -= f.bytes;
                report.evicted.push((f.event, "cap"));
            }
        }
        if total > self.limits.max_bytes {
            over_cap = true;
            report.kept_protected += 1;
        }
        // 3. The free-space floor.
        let mut free = crate::delivery::outbox::free_bytes(&self.dir.join("."));
        let mut under_floor = false;
        if let (Some(f0), true) = (free, self.limits.min_free_bytes > 0) {
            let mut freed = 0u64;
            for (i, f) in folders.iter().enumerate() {
                if f0 + freed >= self.limits.min_free_bytes {
                    break;
                }
                if gone[i] {
                    continue;
                }
                if keep(f) {
                    continue;
                }
                if self.evict(f, "disk_free") {
                    gone[i] = true;
                    freed += f.bytes;
                    total -= f.bytes;
                    report.evicted.push((f.event, "disk_free"));
                }
            }
            free = crate::delivery::outbox::free_bytes(&self.dir.join("."));
            under_floor = free.is_some_and(|fr| fr < self.limits.min_free_bytes);
        }
        let left: Vec<&EventFolder> = folders
            .iter()
            .zip(&gone)
            .filter(|(_, g)| !**g)
            .map(|(f, _)| f)
            .collect();
        let mut st = lock(&self.state);
        st.stats.bytes = total;
        st.stats.events = left.len() as u64;
        st.stats.oldest_age_s = left.first().map_or(0.0, |f| age(f).as_secs_f64());
        st.stats.free_bytes = free;
        let over = if over_cap {
            Some(format!(
                "evidence of open or undelivered incidents alone holds {total} bytes, over evidence.max_gb ({} bytes); it is kept",
                self.limits.max_bytes
            ))
        } else if under_floor {
            Some(format!(
                "the evidence folder's filesystem has {} bytes free, under evidence.min_free_mb ({} bytes), and no more evidence may be removed",
                free.unwrap_or(0),
                self.limits.min_free_bytes
            ))
        } else {
            None
        };
        match (&over, st.over_limit_warned) {
            (Some(s), false) => {
                tracing::warn!("{s}");
                st.over_limit_warned = true;
            }
            (None, true) => st.over_limit_warned = false,
            _ => {}
        }
        if st.stats.writable {
            st.stats.problem = over;
        }
        let gone_events: HashSet<Uuid> = report.evicted.iter().map(|(e, _)| *e).collect();
        if !gone_events.is_empty() {
            let dir = self.dir.clone();
            st.hashes.retain(|p, _| {
                p.strip_prefix(&dir)
                    .ok()
                    .and_then(|r| r.components().nth(1))
                    .and_then(|c| c.as_os_str().to_str().and_then(|s| Uuid::parse_str(s).ok()))
                    .is_none_or(|e| !gone_events.contains(&e))
            });
        }
        let pending: Vec<((String, AlertKind), Uuid)> = st
            .latest
            .iter()
            .filter(|(_, l)| !l.full_published)
            .map(|(k, l)| (k.clone(), l.event))
            .collect();
        drop(st);
        self.publish_full_snapshots(link, pending);
        tracing::debug!(
            folders = folders.len(),
            protected = protected.len(),
            evicted = report.evicted.len(),
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            "evidence sweep"
        );
        report
    }

    /// Publishes the full-resolution snapshot of each camera's latest
    /// incident once it has appeared (written after the alert).
    fn publish_full_snapshots(
        &self,
        link: &dyn EvidenceLink,
        pending: Vec<((String, AlertKind), Uuid)>,
    ) {
        for ((camera, kind), event) in pending {
            let path = super::event_dir(&self.dir, &camera, event).join(super::SNAPSHOT);
            if let Ok(jpeg) = std::fs::read(&path) {
                link.publish_snapshot(&camera, kind, jpeg);
                let mut st = lock(&self.state);
                if let Some(l) = st.latest.get_mut(&(camera, kind)) {
                    if l.event == event {
                        l.full_published = true;
                    }
                }
            }
        }
    }

    /// Removes one folder; false (logged) when it could not be.
    fn evict(&self, f: &EventFolder, reason: &'static str) -> bool {
        match std::fs::remove_dir_all(&f.path) {
            Ok(()) => {
                tracing::info!(camera = %f.camera, event = %f.event, bytes = f.bytes, reason, "evidence removed");
                *lock(&self.state)
                    .stats
                    .evictions
                    .entry(reason.to_string())
                    .or_default() += 1;
                true
            }
            Err(e) => {
                tracing::warn!(path = %f.path.display(), error = %e, reason, "evidence folder could not be removed");
                false
            }
        }
    }
}

fn folder_of(camera: String, event: Uuid, path: PathBuf, now: SystemTime) -> EventFolder {
    let mut newest = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut bytes = 0;
    let mut writing = false;
    if let Ok(files) = std::fs::read_dir(&path) {
        for f in files.flatten() {
            let Ok(m) = f.metadata() else { continue };
            if !m.is_file() {
                continue;
            }
            bytes += m.len();
            let t = m.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            newest = newest.max(t);
            if f.file_name().to_string_lossy().ends_with(PART_SUFFIX)
                && now.duration_since(t).unwrap_or_default() < PART_ACTIVE
            {
                writing = true;
            }
        }
    }
    EventFolder {
        camera,
        event,
        path,
        bytes,
        newest,
        writing,
    }
}

/// The sweeper thread (`ew-evidence-sweep`).
pub struct Sweeper {
    store: Arc<EvidenceStore>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sweeper {
    /// Starts sweeping now, then every `interval` and after every
    /// [`EvidenceStore::wake`].
    pub fn start(
        store: Arc<EvidenceStore>,
        link: Arc<dyn EvidenceLink>,
        interval: Duration,
    ) -> std::io::Result<Sweeper> {
        let s = store.clone();
        let thread = std::thread::Builder::new()
            .name("ew-evidence-sweep".into())
            .spawn(move || loop {
                s.sweep(&*link, SystemTime::now());
                let mut st = lock(&s.state);
                let deadline = std::time::Instant::now() + interval;
                while !st.wake && !st.stop {
                    let left = deadline.saturating_duration_since(std::time::Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    st = crate::base::wait_timeout(&s.wake, st, left);
                }
                if st.stop {
                    break;
                }
                st.wake = false;
            })?;
        Ok(Sweeper {
            store,
            thread: Some(thread),
        })
    }

    /// Stops the thread (after the sweep in progress).
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        lock(&self.store.state).stop = true;
        self.store.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Sweeper {
    fn drop(&mut self) {
        self.halt();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(BTreeSet<Uuid>);
    impl EvidenceLink for Fixed {
        fn protected_events(&self) -> Result<BTreeSet<Uuid>, String> {
            Ok(self.0.clone())
        }
        fn publish_snapshot(&self, _: &str, _: AlertKind, _: Vec<u8>) {}
    }

    fn folder(dir: &Path, days_old: u64, bytes: usize) -> Uuid {
        let event = Uuid::now_v7();
        let d = super::super::event_dir(dir, "cam", event);
        std::fs::create_dir_all(&d).unwrap();
        let f = d.join(super::super::SNAPSHOT_DETECT);
        std::fs::write(&f, vec![0u8; bytes]).unwrap();
        let t = SystemTime::now() - Duration::from_secs(days_old * 86_400 + 120);
        std::fs::File::options()
            .write(true)
            .open(&f)
            .unwrap()
            .set_modified(t)
            .unwrap();
        std::fs::File::open(&d).unwrap().set_modified(t).unwrap();
        event
    }

    /// An outbox that cannot answer, recording what is published.
    #[derive(Default)]
    struct Failing(Mutex<Vec<(String, AlertKind, Vec<u8>)>>);
    impl EvidenceLink for Failing {
        fn protected_events(&self) -> Result<BTreeSet<Uuid>, String> {
            Err("outbox file is failing".into())
        }
        fn publish_snapshot(&self, camera: &str, kind: AlertKind, jpeg: Vec<u8>) {
            lock(&self.0).push((camera.to_string(), kind, jpeg));
        }
    }

    fn limits(max_bytes: u64) -> Limits {
        Limits {
            max_bytes,
            min_free_bytes: 0,
            retention: Duration::from_secs(30 * 86_400),
        }
    }

    #[test]
    fn without_the_outbox_incidents_seen_open_stay_until_their_end() {
        use crate::alert::AlertState;
        let dir = tempfile::tempdir().unwrap();
        let fire = folder(dir.path(), 2, 1000);
        let other = folder(dir.path(), 1, 1000);
        let store = EvidenceStore::new(dir.path(), limits(500));
        store.note_lifecycle(fire, AlertKind::Fire, AlertState::New);
        // A throw has no lifecycle: never "open".
        store.note_lifecycle(other, AlertKind::Throwing, AlertState::New);
        let r = store.sweep(&Failing::default(), SystemTime::now());
        assert_eq!(r.evicted, [(other, "cap")]);
        store.note_lifecycle(fire, AlertKind::Fire, AlertState::End);
        let r = store.sweep(&Failing::default(), SystemTime::now());
        assert_eq!(r.evicted, [(fire, "cap")]);
    }

    #[test]
    fn the_full_resolution_snapshot_replaces_the_published_picture_when_it_appears() {
        let dir = tempfile::tempdir().unwrap();
        let event = folder(dir.path(), 0, 10);
        let store = EvidenceStore::new(dir.path(), limits(1 << 30));
        store.published("cam", AlertKind::Throwing, event, false);
        let link = Failing::default();
        store.sweep(&link, SystemTime::now());
        assert!(lock(&link.0).is_empty(), "nothing new to publish yet");
        let full = super::super::event_dir(dir.path(), "cam", event).join(super::super::SNAPSHOT);
        std::fs::write(&full, b"full-res jpeg").unwrap();
        store.sweep(&link, SystemTime::now());
        store.sweep(&link, SystemTime::now());
        let got = lock(&link.0).clone();
        assert_eq!(
            got,
            [(
                "cam".to_string(),
                AlertKind::Throwing,
                b"full-res jpeg".to_vec()
            )],
            "published once"
        );
    }

    #[test]
    fn cap_removes_oldest_unprotected_first() {
        let dir = tempfile::tempdir().unwrap();
        let a = folder(dir.path(), 5, 1000);
        let b = folder(dir.path(), 4, 1000);
        let c = folder(dir.path(), 3, 1000);
        let d = folder(dir.path(), 2, 1000);
        let store = EvidenceStore::new(
            dir.path(),
            Limits {
                max_bytes: 2500,
                min_free_bytes: 0,
                retention: Duration::from_secs(30 * 86_400),
            },
        );
        let r = store.sweep(&Fixed([a].into()), SystemTime::now());
        assert_eq!(r.evicted, [(b, "cap"), (c, "cap")]);
        let left: Vec<Uuid> = store
            .scan(SystemTime::now())
            .iter()
            .map(|f| f.event)
            .collect();
        assert_eq!(left, [a, d]);
        let s = store.stats();
        assert_eq!((s.bytes, s.events, s.evictions["cap"]), (2000, 2, 2));
        assert!(s.oldest_age_s > 5.0 * 86_400.0);
    }
}
