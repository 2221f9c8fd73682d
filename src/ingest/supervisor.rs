//! Camera supervision: one thread per camera keeps its pipeline alive.
//!
//! The thread runs sessions in a loop:
//!
//! ```text
//!   build pipeline ─► PLAYING ─► watch bus + stall timer ─┬─ stop requested ─► NULL, return
//!        ▲                                                └─ error / EOS / stall
//!        │                                                      │
//!        └──── wait backoff (jittered, doubling, capped) ◄─ NULL, emit Offline (once)
//! ```
//!
//! - Frames go from the appsink callback (a GStreamer streaming thread) straight
//!   into the camera's [`FrameSlot`]; nothing waits for analysis.
//! - The first frame of a session makes the camera Online (event sent once per
//!   transition). A failure makes it Offline with the error as the reason; more
//!   failures while already offline send nothing more, they only count as reconnects.
//! - "Stalled" means no frame for `stall_timeout_s`, whether the connection
//!   never produced one or stopped producing them.
//! - The backoff delay starts at `reconnect_min_ms`, doubles after each failed
//!   session up to `reconnect_max_ms`, and falls back to the minimum after a
//!   session that delivered frames. The actual wait is uniform in [0.8·d, d]
//!   (never below 100 ms) so cameras dropped together do not all come back in
//!   the same instant: the rule of [`Backoff`], shared with the MQTT loops.
//! - A `file://` camera plays at real time and starts over when it reaches
//!   the end (no event: looping is normal for a clip).
//!
//! Channels and ownership: the [`CameraHandle`] owns the stop channel and the
//! thread. Dropping the handle (or [`CameraHandle::stop`]) sends stop, waits
//! for the pipeline to reach NULL and joins the thread, then closes the slot.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use tokio::sync::mpsc::UnboundedSender;
use tracing::{debug, error, info, info_span, warn};

use super::config::{CameraSource, StreamConfig};
use super::encoded::{EncodedTap, EncodedUnit};
use super::pipeline::{
    self, RtspOutput, RtspTarget, SinkMode, MSG_FIRST_FRAME, MSG_MISSING_ELEMENT, MSG_NO_VIDEO,
    MSG_UNSUPPORTED_CODEC,
};
use super::{CameraEvent, CameraStatus, FrameSlot, IngestError};
use crate::base::{lock, Backoff};

/// How often the supervisor looks at the stall timer and the stop channel.
const TICK: Duration = Duration::from_millis(100);
/// Marks "no frame yet" in the per-session last-frame time.
const NO_FRAME: u64 = u64::MAX;

/// Live counters for one camera, shared by its supervisor thread and the
/// GStreamer streaming thread that delivers frames.
#[derive(Debug, Default)]
pub struct CameraStats {
    frames_in: AtomicU64,
    /// Frames the pipeline's rate limiter dropped; shared with each
    /// session's pipeline.
    frames_dropped: Arc<AtomicU64>,
    reconnects: AtomicU64,
    /// Milliseconds since the Unix epoch of the newest frame; 0 = never.
    last_frame_unix_ms: AtomicU64,
    online: AtomicBool,
    /// Next frame's `seq`; kept across reconnects so it never goes back.
    next_seq: AtomicU64,
    last_error: Mutex<Option<String>>,
}

/// A copy of a camera's counters at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraStatsSnapshot {
    pub camera: String,
    /// Frames that left the pipeline (after rate limiting and scaling).
    pub frames_in: u64,
    /// Frames replaced in the slot before analysis took them.
    pub frames_skipped: u64,
    /// Frames the pipeline's rate limiter dropped before they became frames:
    /// above the detect rate, or timestamped closer to the previous frame
    /// than the rate allows (a live stream's timestamps jitter).
    pub frames_dropped: u64,
    /// Pipelines rebuilt after a failure.
    pub reconnects: u64,
    /// True between the first frame of a session and the next failure.
    pub online: bool,
    pub last_frame_at: Option<SystemTime>,
    /// The newest failure's message (credentials never included).
    pub last_error: Option<String>,
}

/// A running camera. Dropping it stops the camera as [`CameraHandle::stop`] does.
pub struct CameraHandle {
    name: String,
    stats: Arc<CameraStats>,
    slot: Arc<FrameSlot>,
    stop_tx: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl CameraHandle {
    /// The camera's configured name.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn stats(&self) -> CameraStatsSnapshot {
        let s = &self.stats;
        let ms = s.last_frame_unix_ms.load(Ordering::Relaxed);
        CameraStatsSnapshot {
            camera: self.name.clone(),
            frames_in: s.frames_in.load(Ordering::Relaxed),
            frames_skipped: self.slot.stats().skipped,
            frames_dropped: s.frames_dropped.load(Ordering::Relaxed),
            reconnects: s.reconnects.load(Ordering::Relaxed),
            online: s.online.load(Ordering::Relaxed),
            last_frame_at: (ms > 0).then(|| UNIX_EPOCH + Duration::from_millis(ms)),
            last_error: lock(&s.last_error).clone(),
        }
    }

    /// Stops the camera: pipeline to NULL, thread joined, slot closed.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(tx) = self.stop_tx.take() {
            // The thread may already have exited; then there is nobody to tell.
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                error!(camera = %self.name, "camera thread panicked");
            }
        }
        self.slot.close();
    }
}

impl Drop for CameraHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts supervising one camera on its own thread.
///
/// Fails only when the camera can never work as configured (unusable URL or
/// password source, GStreamer elements missing); everything that may get
/// better later (camera off, wrong password, unsupported codec) is reported
/// as Offline events and retried.
pub fn spawn_camera(
    cfg: StreamConfig,
    slot: Arc<FrameSlot>,
    events: UnboundedSender<CameraEvent>,
) -> Result<CameraHandle, IngestError> {
    spawn(cfg, slot, events, Output::Frames(None))
}

/// [`spawn_camera`], also handing every encoded unit of the stream to `tap`
/// before it is decoded (clips from the detect stream of a camera without an
/// evidence stream). A `file://` camera has no encoded units: `tap` is never
/// called for it.
pub fn spawn_camera_tapped(
    cfg: StreamConfig,
    slot: Arc<FrameSlot>,
    events: UnboundedSender<CameraEvent>,
    tap: EncodedTap,
) -> Result<CameraHandle, IngestError> {
    spawn(cfg, slot, events, Output::Frames(Some(tap)))
}

/// Supervises a stream that is never decoded (a camera's evidence stream):
/// `rtspsrc ! depay ! parse`, each access unit to `tap`. Reconnects,
/// backoff, stall detection, events and redaction are those of
/// [`spawn_camera`]; `cfg.detect` is not used, and a "frame" in the stats
/// and the stall timer is an access unit. Only `rtsp://` and `rtsps://`
/// URLs are accepted.
pub fn spawn_encoded(
    cfg: StreamConfig,
    events: UnboundedSender<CameraEvent>,
    tap: EncodedTap,
) -> Result<CameraHandle, IngestError> {
    spawn(cfg, FrameSlot::new(), events, Output::Encoded(tap))
}

/// What a supervised pipeline delivers.
enum Output {
    /// Decoded frames to the slot; with a tap, encoded units too.
    Frames(Option<EncodedTap>),
    /// Encoded units only.
    Encoded(EncodedTap),
}

fn spawn(
    cfg: StreamConfig,
    slot: Arc<FrameSlot>,
    events: UnboundedSender<CameraEvent>,
    output: Output,
) -> Result<CameraHandle, IngestError> {
    super::error::init()?;
    let source = cfg.source().map_err(IngestError::Source)?;
    let mut needed: Vec<&'static str> = match output {
        Output::Frames(_) => pipeline::TAIL_ELEMENTS.to_vec(),
        Output::Encoded(_) => vec!["appsink"],
    };
    match &source {
        CameraSource::Rtsp { .. } => needed.push("rtspsrc"),
        CameraSource::File(_) if matches!(output, Output::Encoded(_)) => {
            return Err(IngestError::Source(format!(
                "an evidence stream must be rtsp:// or rtsps://, got {}",
                cfg.redacted_url()
            )));
        }
        CameraSource::File(path) => {
            needed.extend(["filesrc", "decodebin"]);
            if !path.is_file() {
                return Err(IngestError::File {
                    path: path.clone(),
                    detail: "no such file".into(),
                });
            }
        }
    }
    pipeline::require(&needed)?;

    let stats = Arc::new(CameraStats::default());
    let (stop_tx, stop_rx) = mpsc::channel();
    let name = cfg.name.clone();
    let sup = Supervisor {
        camera: Arc::from(cfg.name.as_str()),
        redacted: cfg.redacted_url(),
        source: match source {
            CameraSource::Rtsp { url } => Source::Rtsp(RtspTarget::parse(&url)),
            CameraSource::File(p) => Source::File(p),
        },
        cfg,
        slot: slot.clone(),
        events,
        stats: stats.clone(),
        stop_rx,
        link: Link::Unknown,
        output,
    };
    let thread = std::thread::Builder::new()
        .name(format!("cam-{name}"))
        .spawn(move || sup.run())
        .map_err(|e| IngestError::Pipeline(format!("cannot start camera thread: {e}")))?;
    Ok(CameraHandle {
        name,
        stats,
        slot,
        stop_tx: Some(stop_tx),
        thread: Some(thread),
    })
}

enum Source {
    Rtsp(RtspTarget),
    File(PathBuf),
}

/// Last state announced by an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    Unknown,
    Online,
    Offline,
}

/// How a session ended.
enum End {
    Stopped,
    /// A file camera reached its end after delivering frames: play it again.
    Replay,
    Failed {
        error: IngestError,
        had_frames: bool,
    },
}

struct Supervisor {
    camera: Arc<str>,
    redacted: String,
    source: Source,
    cfg: StreamConfig,
    slot: Arc<FrameSlot>,
    events: UnboundedSender<CameraEvent>,
    stats: Arc<CameraStats>,
    stop_rx: mpsc::Receiver<()>,
    link: Link,
    output: Output,
}

/// One pipeline's lifetime. Dropping it sets the pipeline to NULL.
struct Session {
    pipeline: gst::Pipeline,
    bus: gst::Bus,
    started: Instant,
    /// Milliseconds after `started` of the newest frame, or [`NO_FRAME`].
    last_frame_ms: Arc<AtomicU64>,
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Err(e) = self.pipeline.set_state(gst::State::Null) {
            warn!("pipeline did not stop cleanly: {e}");
        }
    }
}

impl Supervisor {
    fn run(mut self) {
        let span = info_span!("camera", name = %self.camera);
        let _guard = span.enter();
        info!(url = %self.redacted, "camera starting");
        let mut backoff = Backoff::new(
            Duration::from_millis(self.cfg.reconnect_min_ms),
            Duration::from_millis(self.cfg.reconnect_max_ms),
        );
        loop {
            match self.run_session() {
                End::Stopped => break,
                End::Replay => debug!("file ended; playing it again"),
                End::Failed { error, had_frames } => {
                    let n = self.stats.reconnects.fetch_add(1, Ordering::Relaxed) + 1;
                    *lock(&self.stats.last_error) = Some(error.to_string());
                    self.go_offline(&error);
                    if had_frames {
                        backoff.reset();
                    }
                    let wait = backoff.next_wait();
                    info!(
                        attempt = n,
                        retry_in_ms = wait.as_millis() as u64,
                        kind = error.kind(),
                        "camera failed: {error}; retrying"
                    );
                    if self.wait_for_stop(wait) {
                        break;
                    }
                }
            }
        }
        self.stats.online.store(false, Ordering::Relaxed);
        info!("camera stopped");
    }

    /// Waits `d`, returning true when stop was requested meanwhile.
    fn wait_for_stop(&self, d: Duration) -> bool {
        !matches!(self.stop_rx.recv_timeout(d), Err(RecvTimeoutError::Timeout))
    }

    fn stop_requested(&self) -> bool {
        !matches!(self.stop_rx.try_recv(), Err(TryRecvError::Empty))
    }

    fn emit(&self, status: CameraStatus) {
        // A closed receiver means the daemon is shutting down; nothing to tell.
        let _ = self.events.send(CameraEvent {
            camera: self.camera.to_string(),
            at: SystemTime::now(),
            status,
        });
    }

    fn go_online(&mut self) {
        self.stats.online.store(true, Ordering::Relaxed);
        if self.link != Link::Online {
            info!("camera online");
            self.link = Link::Online;
            self.emit(CameraStatus::Online);
        }
    }

    fn go_offline(&mut self, error: &IngestError) {
        self.stats.online.store(false, Ordering::Relaxed);
        if self.link != Link::Offline {
            warn!(kind = error.kind(), "camera offline: {error}");
            self.link = Link::Offline;
            self.emit(CameraStatus::Offline {
                reason: error.to_string(),
            });
        }
    }

    fn start_session(&self) -> Result<Session, IngestError> {
        let (w, h, fps) = (
            self.cfg.detect.width,
            self.cfg.detect.height,
            self.cfg.detect.fps,
        );
        let stall = Duration::from_secs(self.cfg.stall_timeout_s);
        let (pipeline, sink) = match &self.source {
            Source::Rtsp(target) => {
                let output = match &self.output {
                    Output::Frames(tap) => RtspOutput::Frames {
                        width: w,
                        height: h,
                        fps,
                        dropped: &self.stats.frames_dropped,
                        tap: tap.clone(),
                    },
                    Output::Encoded(_) => RtspOutput::Encoded,
                };
                pipeline::build_rtsp(target, self.cfg.transport, stall, output)?
            }
            Source::File(path) => {
                let dropped = &self.stats.frames_dropped;
                pipeline::build_file(path, w, h, fps, SinkMode::Paced, dropped)?
            }
        };
        let bus = pipeline
            .bus()
            .ok_or_else(|| IngestError::Pipeline("pipeline has no bus".into()))?;
        let started = Instant::now();
        let last_frame_ms = Arc::new(AtomicU64::new(NO_FRAME));
        match &self.output {
            Output::Frames(_) => self.install_frame_callback(&sink, started, last_frame_ms.clone()),
            Output::Encoded(tap) => {
                self.install_unit_callback(&sink, tap.clone(), started, last_frame_ms.clone())
            }
        }
        let session = Session {
            pipeline,
            bus,
            started,
            last_frame_ms,
        };
        if session.pipeline.set_state(gst::State::Playing).is_err() {
            // The reason, if any, is on the bus; the watch loop will find it.
            debug!("set_state(PLAYING) failed");
        }
        Ok(session)
    }

    /// Frames: appsink (streaming thread) → Frame → slot; counters updated there.
    fn install_frame_callback(
        &self,
        sink: &gst_app::AppSink,
        started: Instant,
        last_frame_ms: Arc<AtomicU64>,
    ) {
        let camera = self.camera.clone();
        let slot = self.slot.clone();
        let stats = self.stats.clone();
        let first = AtomicBool::new(true);
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Flushing)?;
                    let seq = stats.next_seq.fetch_add(1, Ordering::Relaxed);
                    match pipeline::sample_to_frame(&sample, &camera, seq) {
                        Ok(frame) => {
                            let unix_ms = frame
                                .captured_at
                                .duration_since(UNIX_EPOCH)
                                .map(|d| d.as_millis() as u64)
                                .unwrap_or(1);
                            slot.put(frame);
                            stats.frames_in.fetch_add(1, Ordering::Relaxed);
                            stats.last_frame_unix_ms.store(unix_ms, Ordering::Relaxed);
                            last_frame_ms
                                .store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
                            if first.swap(false, Ordering::Relaxed) {
                                pipeline::post(sink.upcast_ref(), MSG_FIRST_FRAME, None);
                            }
                            Ok(gst::FlowSuccess::Ok)
                        }
                        Err(e) => {
                            let msg = e.to_string();
                            gst::element_error!(sink, gst::StreamError::Decode, ("{}", msg));
                            Err(gst::FlowError::Error)
                        }
                    }
                })
                .build(),
        );
    }

    /// Encoded units: appsink (streaming thread) → tap; counted as frames.
    fn install_unit_callback(
        &self,
        sink: &gst_app::AppSink,
        tap: EncodedTap,
        started: Instant,
        last_frame_ms: Arc<AtomicU64>,
    ) {
        let stats = self.stats.clone();
        let first = AtomicBool::new(true);
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Flushing)?;
                    let (Some(buffer), Some(caps)) = (sample.buffer_owned(), sample.caps_owned())
                    else {
                        return Ok(gst::FlowSuccess::Ok);
                    };
                    let unit = EncodedUnit::new(buffer, caps);
                    let unix_ms = unit
                        .arrived
                        .duration_since(UNIX_EPOCH)
                        .map(|d| d.as_millis() as u64)
                        .unwrap_or(1);
                    tap(unit);
                    stats.frames_in.fetch_add(1, Ordering::Relaxed);
                    stats.last_frame_unix_ms.store(unix_ms, Ordering::Relaxed);
                    last_frame_ms.store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
                    if first.swap(false, Ordering::Relaxed) {
                        pipeline::post(sink.upcast_ref(), MSG_FIRST_FRAME, None);
                    }
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
    }

    fn run_session(&mut self) -> End {
        let session = match self.start_session() {
            Ok(s) => s,
            Err(error) => {
                return End::Failed {
                    error,
                    had_frames: false,
                }
            }
        };
        let stall = Duration::from_secs(self.cfg.stall_timeout_s);
        let is_file = matches!(self.source, Source::File(_));
        loop {
            if self.stop_requested() {
                return End::Stopped;
            }
            let had_frames = session.last_frame_ms.load(Ordering::Relaxed) != NO_FRAME;
            let fail = |error| End::Failed { error, had_frames };
            if let Some(msg) = session
                .bus
                .timed_pop(gst::ClockTime::from_mseconds(TICK.as_millis() as u64))
            {
                use gst::MessageView;
                match msg.view() {
                    MessageView::Error(err) => return fail(self.classify(err)),
                    MessageView::Eos(_) => {
                        return match (is_file, had_frames) {
                            (true, true) => End::Replay,
                            (true, false) => fail(IngestError::File {
                                path: self.file_path(),
                                detail: "ended without a single video frame".into(),
                            }),
                            (false, _) => fail(IngestError::Eos {
                                url: self.redacted.clone(),
                            }),
                        };
                    }
                    MessageView::Application(app) => {
                        let Some(s) = app.structure() else { continue };
                        match s.name().as_str() {
                            MSG_FIRST_FRAME => self.go_online(),
                            MSG_UNSUPPORTED_CODEC => {
                                let codec = s.get::<String>("codec").unwrap_or_default();
                                return fail(IngestError::UnsupportedCodec { codec });
                            }
                            MSG_MISSING_ELEMENT => {
                                let element = s.get::<String>("element").unwrap_or_default();
                                return fail(IngestError::Pipeline(format!(
                                    "cannot set up the decoder: {element} is missing or would not link (run `make setup`)"
                                )));
                            }
                            MSG_NO_VIDEO => {
                                return fail(IngestError::NoVideo {
                                    url: self.redacted.clone(),
                                })
                            }
                            _ => {}
                        }
                    }
                    MessageView::Warning(w) => {
                        debug!("gstreamer warning: {}", self.scrub(&w.error().to_string()))
                    }
                    _ => {}
                }
            }
            let now_ms = session.started.elapsed().as_millis() as u64;
            let last = session.last_frame_ms.load(Ordering::Relaxed);
            let stall_ms = stall.as_millis() as u64;
            if last == NO_FRAME && now_ms > stall_ms {
                return fail(IngestError::Stalled {
                    secs: self.cfg.stall_timeout_s,
                    context: "after connecting (no first frame)",
                });
            }
            if last != NO_FRAME && now_ms.saturating_sub(last) > stall_ms {
                return fail(IngestError::Stalled {
                    secs: self.cfg.stall_timeout_s,
                    context: "(the stream stopped sending frames)",
                });
            }
        }
    }

    fn classify(&self, err: &gst::message::Error) -> IngestError {
        match &self.source {
            Source::Rtsp(target) => pipeline::classify_rtsp_error(err, target),
            Source::File(path) => IngestError::File {
                path: path.clone(),
                detail: err.error().message().to_string(),
            },
        }
    }

    fn scrub(&self, text: &str) -> String {
        match &self.source {
            Source::Rtsp(t) => t.scrub(text),
            Source::File(_) => text.to_string(),
        }
    }

    fn file_path(&self) -> PathBuf {
        match &self.source {
            Source::File(p) => p.clone(),
            Source::Rtsp(_) => PathBuf::new(),
        }
    }
}
