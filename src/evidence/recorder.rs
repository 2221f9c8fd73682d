//! [`Recorder`]: one camera's evidence. It keeps the camera's encoded
//! stream in a [`Ring`], and on each incident's `new` runs a clip job on its
//! own thread:
//!
//! 1. wait until the stream has reached the alert's moment `T` (the alert's
//!    `detected_at`, the wall-clock arrival of the detect frame), decode the
//!    units from the keyframe before `T` up to `T` and write `snapshot.jpg`;
//! 2. write `clip.mp4` from the keyframe at or before `T − pre_s` until the
//!    first unit that arrived after `T + post_s`; each `update` of the
//!    incident moves that end to its own time + `post_s`, never past
//!    `T − pre_s + max_s`;
//! 3. submit an `update` of the incident with [`Evidence`]: both files'
//!    paths and sha256, or null and the reason (evidence stream offline, …).
//!
//! If the stream stops mid-clip (no unit for [`STREAM_GAP`]) the clip ends
//! with what it has. The evidence stream's online/offline changes go to the
//! camera watch as `EvidenceOnline` / `EvidenceOffline` (its
//! `evidence_offline` alert after the camera's grace); the recorder's figures
//! (ring, clips written and failed, announcement delay) are read through
//! [`Recorder::stats`]. Clock mapping: both streams are stamped with the wall
//! clock when their units or frames leave the pipeline, so the same moment
//! is off by the difference in their latencies (`docs/evidence.md`).

use super::clip::{ClipWriter, Pushed};
use super::ring::Ring;
use super::{picture, sha256_file, EvidenceError};
use crate::alert::caption::Caption;
use crate::alert::submit::AlertSubmit;
use crate::alert::{Alert, AlertKind, AlertState, Clip, Evidence, EvidenceImage};
use crate::base::lock;
use crate::ingest::config::EvidenceStreamConfig;
use crate::ingest::{CameraEvent, CameraHandle, CameraStatus, EncodedTap, EncodedUnit};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use uuid::Uuid;

/// A stream with no unit for this long counts as stopped: a clip ends, and
/// an alert with no recent unit gets no clip.
pub const STREAM_GAP: Duration = Duration::from_secs(3);
/// How often a clip job looks for new units (the ring keeps
/// [`RING_MARGIN`] more than `pre_s`, far more than this).
const POLL: Duration = Duration::from_millis(200);
/// What the ring keeps beyond `pre_s`.
const RING_MARGIN: Duration = Duration::from_secs(3);

/// The kinds that get evidence: those seen on a camera's video.
fn wants_evidence(kind: AlertKind) -> bool {
    matches!(
        kind,
        AlertKind::Throwing
            | AlertKind::Fire
            | AlertKind::Smoke
            | AlertKind::Garbage
            | AlertKind::Motion
    )
}

struct Shared {
    camera: String,
    /// The full-resolution snapshot's caption (display name, site time, language).
    caption: Caption,
    dir: PathBuf,
    cfg: EvidenceStreamConfig,
    ring: Mutex<Ring>,
    /// Why the evidence stream is down, or `None` while it is up.
    down: Mutex<Option<String>>,
    /// Open clip jobs: event → the newest end asked for.
    jobs: Mutex<HashMap<Uuid, SystemTime>>,
    sink: Arc<dyn AlertSubmit>,
    /// Set by [`Recorder::stop`]: running clips end now and are announced.
    stopping: AtomicBool,
    /// Whether the camera has an evidence stream of its own (otherwise the
    /// ring is fed by the detect stream).
    own_stream: bool,
    /// Clips announced with a clip, and announcements without one.
    clips_written: AtomicU64,
    clips_failed: AtomicU64,
    /// Milliseconds from the latest written clip's alert (`detected_at`) to
    /// its announcement; `u64::MAX` before the first.
    last_announce_delay_ms: AtomicU64,
}

/// One camera's evidence figures, for `/metrics` and the stats topic.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RecorderStats {
    /// Bytes of encoded video held in memory.
    pub ring_bytes: u64,
    /// Seconds of video held in memory (oldest to newest unit).
    pub ring_s: f64,
    /// The evidence stream delivers (with no stream of its own: the ring
    /// gets units from the detect stream).
    pub stream_online: bool,
    /// Clips written and announced since the camera started.
    pub clips_written: u64,
    /// Announcements that had to say there is no clip (stream offline,
    /// write failure) since the camera started.
    pub clips_failed: u64,
    /// Seconds from the latest clip's `new` (its `detected_at`) to the
    /// clip's announcement; `null` before the first clip.
    pub last_announce_delay_s: Option<f64>,
}

/// One camera's evidence: its ring, its evidence stream (when it has its
/// own) and its clip jobs. Dropping it stops the stream; running clip jobs
/// finish on their own threads.
pub struct Recorder {
    shared: Arc<Shared>,
    stream: Mutex<Option<CameraHandle>>,
    jobs: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl Recorder {
    /// Starts the camera's evidence: its evidence stream when `stream` is
    /// given (supervised like a detect stream; see
    /// [`spawn_encoded`](crate::ingest::spawn_encoded)), otherwise only the
    /// ring, which the detect stream must feed through [`Recorder::tap`].
    /// Announcements go to `sink`; full-resolution snapshots get `caption`.
    pub fn start(
        camera: &str,
        cfg: &EvidenceStreamConfig,
        dir: &Path,
        stream: Option<crate::ingest::config::StreamConfig>,
        sink: Arc<dyn AlertSubmit>,
        watch: tokio::sync::mpsc::UnboundedSender<CameraEvent>,
        caption: Caption,
    ) -> Result<Recorder, crate::ingest::IngestError> {
        let shared = Arc::new(Shared {
            camera: camera.to_string(),
            caption,
            dir: dir.to_path_buf(),
            cfg: cfg.clone(),
            ring: Mutex::new(Ring::new(
                Duration::from_secs(u64::from(cfg.pre_s)) + RING_MARGIN,
            )),
            down: Mutex::new(Some("evidence stream not connected yet".into())),
            jobs: Mutex::new(HashMap::new()),
            sink,
            stopping: Default::default(),
            own_stream: stream.is_some(),
            clips_written: AtomicU64::new(0),
            clips_failed: AtomicU64::new(0),
            last_announce_delay_ms: AtomicU64::new(u64::MAX),
        });
        let stream = match stream {
            None => None,
            Some(scfg) => {
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<CameraEvent>();
                let watcher = shared.clone();
                let span = tracing::info_span!("camera", name = %camera);
                std::thread::Builder::new()
                    .name(format!("ew-evid-{camera}"))
                    .spawn(move || {
                        let _e = span.enter();
                        while let Some(ev) = rx.blocking_recv() {
                            // The camera watch raises `evidence_offline` after the grace.
                            let status = match &ev.status {
                                CameraStatus::Online => Some(CameraStatus::EvidenceOnline),
                                CameraStatus::Offline { reason } => {
                                    Some(CameraStatus::EvidenceOffline {
                                        reason: reason.clone(),
                                    })
                                }
                                _ => None,
                            };
                            if let Some(status) = status {
                                let _ = watch.send(CameraEvent {
                                    camera: ev.camera.clone(),
                                    at: ev.at,
                                    status,
                                });
                            }
                            watcher.stream_event(ev.status);
                        }
                    })
                    .map_err(|e| {
                        crate::ingest::IngestError::Pipeline(format!(
                            "cannot start the evidence watch thread: {e}"
                        ))
                    })?;
                let tap = tap_of(&shared);
                Some(crate::ingest::spawn_encoded(scfg, tx, tap)?)
            }
        };
        Ok(Recorder {
            shared,
            stream: Mutex::new(stream),
            jobs: Mutex::new(Vec::new()),
        })
    }

    /// The tap the detect stream feeds when the camera has no evidence
    /// stream of its own ([`spawn_camera_tapped`](crate::ingest::spawn_camera_tapped)).
    pub fn tap(&self) -> EncodedTap {
        tap_of(&self.shared)
    }

    /// Looks at an alert the camera's analysis produced: a `new` starts a
    /// clip job, an `update` extends its clip.
    pub fn on_alert(&self, alert: &Alert) {
        if !wants_evidence(alert.kind) {
            return;
        }
        let at = SystemTime::from(alert.detected_at);
        let post = Duration::from_secs(u64::from(self.shared.cfg.post_s));
        match alert.state {
            AlertState::New => {
                lock(&self.shared.jobs).insert(alert.event, at + post);
                let shared = self.shared.clone();
                let alert = alert.clone();
                let span = tracing::info_span!("camera", name = %self.shared.camera);
                let job = std::thread::Builder::new()
                    .name(format!("ew-clip-{}", self.shared.camera))
                    .spawn(move || {
                        let _e = span.enter();
                        let event = alert.event;
                        shared.run_job(alert);
                        lock(&shared.jobs).remove(&event);
                    });
                match job {
                    Ok(j) => {
                        let mut jobs = lock(&self.jobs);
                        jobs.retain(|j| !j.is_finished());
                        jobs.push(j);
                    }
                    Err(e) => tracing::error!(error = %e, "cannot start a clip job"),
                }
            }
            AlertState::Update => {
                if let Some(end) = lock(&self.shared.jobs).get_mut(&alert.event) {
                    *end = (*end).max(at + post);
                }
            }
            AlertState::End => {}
        }
    }

    /// Bytes of encoded video held in memory.
    pub fn ring_bytes(&self) -> usize {
        lock(&self.shared.ring).bytes()
    }

    /// The camera's evidence figures now.
    pub fn stats(&self) -> RecorderStats {
        let sh = &self.shared;
        let (ring_bytes, ring_s, newest) = {
            let ring = lock(&sh.ring);
            (
                ring.bytes() as u64,
                ring.span().as_secs_f64(),
                ring.newest(),
            )
        };
        let stream_online = if sh.own_stream {
            lock(&sh.down).is_none()
        } else {
            // Fed by the detect stream: online while units keep coming.
            newest.is_some_and(|n| n.elapsed().map(|d| d <= STREAM_GAP).unwrap_or(true))
        };
        let delay = sh.last_announce_delay_ms.load(Ordering::Relaxed);
        RecorderStats {
            ring_bytes,
            ring_s,
            stream_online,
            clips_written: sh.clips_written.load(Ordering::Relaxed),
            clips_failed: sh.clips_failed.load(Ordering::Relaxed),
            last_announce_delay_s: (delay != u64::MAX).then(|| delay as f64 / 1000.0),
        }
    }

    /// Stops the evidence stream; running clips end with what they have,
    /// are written and announced before this returns.
    pub fn stop(&self) {
        self.shared.stopping.store(true, Ordering::Relaxed);
        let stream = lock(&self.stream).take();
        if let Some(s) = stream {
            s.stop();
        }
        for j in std::mem::take(&mut *lock(&self.jobs)) {
            let _ = j.join();
        }
    }
}

fn tap_of(shared: &Arc<Shared>) -> EncodedTap {
    let s = shared.clone();
    Arc::new(move |unit: EncodedUnit| {
        lock(&s.ring).push(unit);
        if lock(&s.down).is_some() {
            *lock(&s.down) = None;
        }
    })
}

impl Shared {
    fn stream_event(&self, status: CameraStatus) {
        match status {
            CameraStatus::Offline { reason } => {
                tracing::warn!(reason = %reason, "evidence stream offline; alerts will say no clip");
                *lock(&self.down) = Some(reason);
                lock(&self.ring).clear();
            }
            CameraStatus::Online => tracing::info!("evidence stream online"),
            _ => {}
        }
    }

    fn relative(&self, event: Uuid, name: &str) -> String {
        format!("{}/{}/{}", self.camera, event, name)
    }

    /// Why there is no usable video at `at`, if there is none.
    fn no_video(&self, at: SystemTime) -> Option<String> {
        let newest = lock(&self.ring).newest();
        let fresh = newest.is_some_and(|n| {
            at.duration_since(n)
                .map(|d| d <= STREAM_GAP)
                .unwrap_or(true)
        });
        if fresh {
            return None;
        }
        Some(match lock(&self.down).clone() {
            Some(r) => format!("evidence stream offline: {r}"),
            None => format!(
                "evidence stream offline: no video for more than {} s",
                STREAM_GAP.as_secs()
            ),
        })
    }

    fn run_job(&self, alert: Alert) {
        let at = SystemTime::from(alert.detected_at);
        let folder = self.dir.join(&self.camera).join(alert.event.to_string());
        let mut reasons = Vec::new();
        let (mut clip, mut snap) = (None, None);
        match self.no_video(at) {
            Some(r) => reasons.push(r),
            None => {
                if let Err(e) = std::fs::create_dir_all(&folder) {
                    reasons.push(format!("cannot create {}: {e}", folder.display()));
                } else {
                    match self.snapshot(&alert, at, &folder) {
                        Ok(s) => snap = Some(s),
                        Err(e) => {
                            tracing::warn!(error = %e, "no full-resolution snapshot");
                            reasons.push(e.to_string());
                        }
                    }
                    match self.clip(&alert, at, &folder) {
                        Ok(c) => clip = Some(c),
                        Err(e) => {
                            tracing::warn!(error = %e, "no clip");
                            reasons.push(e.to_string());
                        }
                    }
                }
            }
        }
        let evidence = Evidence {
            reason: (!reasons.is_empty()).then(|| reasons.join("; ")),
            clip,
            snapshot: snap,
            ..Evidence::default()
        };
        match &evidence.clip {
            Some(c) => tracing::info!(
                event = %alert.event,
                path = %c.path,
                duration_ms = c.duration_ms,
                sha256 = %c.sha256,
                "evidence clip written"
            ),
            None => {
                tracing::warn!(event = %alert.event, reason = ?evidence.reason, "alert has no clip")
            }
        }
        if evidence.clip.is_some() {
            self.clips_written.fetch_add(1, Ordering::Relaxed);
        } else {
            self.clips_failed.fetch_add(1, Ordering::Relaxed);
        }
        if evidence.clip.is_some() {
            let delay = SystemTime::now()
                .duration_since(at)
                .unwrap_or_default()
                .as_millis();
            self.last_announce_delay_ms.store(
                u64::try_from(delay).unwrap_or(u64::MAX - 1),
                Ordering::Relaxed,
            );
        }
        let update = Alert {
            id: Uuid::now_v7(),
            state: AlertState::Update,
            snapshot: None,
            evidence: Some(evidence),
            ..alert
        };
        if let Err(e) = self.sink.submit(update) {
            tracing::error!(error = %e, "evidence announcement not accepted by delivery");
        }
    }

    /// Waits for the stream to reach `at` (up to [`STREAM_GAP`]) and writes
    /// the full-resolution snapshot.
    fn snapshot(
        &self,
        alert: &Alert,
        at: SystemTime,
        folder: &Path,
    ) -> Result<EvidenceImage, EvidenceError> {
        let path = folder.join("snapshot.jpg");
        let deadline = std::time::Instant::now() + STREAM_GAP;
        while lock(&self.ring).newest().is_none_or(|n| n < at)
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        let units: Vec<EncodedUnit> = {
            let ring = lock(&self.ring);
            let from = ring.from_keyframe_before(at);
            // Up to the last unit that arrived at or before `at` (at least one).
            let n = from
                .iter()
                .take_while(|(_, u)| u.arrived <= at)
                .count()
                .max(1);
            from.into_iter().take(n).map(|(_, u)| u).collect()
        };
        let mut img = picture::decode_last(&units, &path)?;
        picture::annotate(&mut img, alert, &self.caption);
        let jpeg = crate::alert::snapshot::encode(&img).map_err(|e| EvidenceError::Snapshot {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        super::write_file(&path, &jpeg.data)?;
        Ok(EvidenceImage {
            path: self.relative(alert.event, "snapshot.jpg"),
            sha256: sha256_file(&path)?,
            width: img.width(),
            height: img.height(),
        })
    }

    /// Writes the clip: from `pre_s` before `at` until its end (see the
    /// module doc), following the ring as units arrive.
    fn clip(&self, alert: &Alert, at: SystemTime, folder: &Path) -> Result<Clip, EvidenceError> {
        let path = folder.join("clip.mp4");
        let pre = Duration::from_secs(u64::from(self.cfg.pre_s));
        let start = at.checked_sub(pre).unwrap_or(at);
        let cap = start + Duration::from_secs(u64::from(self.cfg.max_s));
        let mut pending = lock(&self.ring).from_keyframe_before(start);
        let first = pending.first().ok_or_else(|| EvidenceError::Clip {
            path: path.clone(),
            detail: "no video in memory".into(),
        })?;
        let mut writer = ClipWriter::create(&path, &first.1.caps)?;
        let mut last_seq = 0;
        let mut last_unit_at = std::time::Instant::now();
        'outer: loop {
            let end = lock(&self.jobs)
                .get(&alert.event)
                .copied()
                .unwrap_or(at)
                .min(cap);
            if !pending.is_empty() {
                last_unit_at = std::time::Instant::now();
            }
            for (seq, unit) in pending.drain(..) {
                if unit.arrived > end {
                    break 'outer;
                }
                if writer.push(&unit)? == Pushed::FormatChanged {
                    break 'outer;
                }
                last_seq = seq;
            }
            if self.stopping.load(Ordering::Relaxed) {
                tracing::info!("stopping: the clip ends here");
                break;
            }
            if last_unit_at.elapsed() > STREAM_GAP {
                tracing::warn!("evidence stream stopped during a clip; the clip ends here");
                break;
            }
            std::thread::sleep(POLL);
            pending = lock(&self.ring).after(last_seq);
        }
        let written = writer.finish()?;
        let bytes = std::fs::metadata(&written.path)
            .map(|m| m.len())
            .unwrap_or(0);
        Ok(Clip {
            path: self.relative(alert.event, "clip.mp4"),
            sha256: sha256_file(&written.path)?,
            bytes,
            duration_ms: written.duration.as_millis() as u64,
            width: written.width,
            height: written.height,
            start: DateTime::<Utc>::from(written.start),
        })
    }
}
