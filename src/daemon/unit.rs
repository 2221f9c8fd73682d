//! One camera's unit: its ingest supervisor, frame slot and analysis worker
//! thread (with the camera's tracing span), started and stopped together;
//! and the [`Pipeline`], the set of running units.

use crate::alert::fusion::FusedSink;
use crate::analysis::config::CameraConfig;
use crate::analysis::selftest::{self, SelftestHandle, SelftestTap};
use crate::analysis::worker::{self, AlertBuilder, AlertOrigin};
use crate::config::Config;
use crate::evidence::Recorder;
use crate::health::{self, Heartbeat, Watchdog};
use crate::ingest::supervisor::{spawn_camera, spawn_camera_tapped, CameraHandle};
use crate::ingest::{CameraEvent, CameraStatus, FrameSlot};
use crate::monitor::{AnalysisStats, CameraSnapshot};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// One running camera: its supervisor (ingest), frame slot and analysis
/// worker, started and stopped together.
pub struct CameraUnit {
    /// The config it runs with (to tell whether a reload changed it).
    pub config: CameraConfig,
    handle: CameraHandle,
    slot: Arc<FrameSlot>,
    stop: Arc<AtomicBool>,
    worker: std::thread::JoinHandle<()>,
    /// Ticked by the worker on every loop turn.
    pub heartbeat: Heartbeat,
    /// Frames analysed and time per analyzer.
    pub analysis: Arc<AnalysisStats>,
    /// Its self-test, when it runs one.
    pub selftest: Option<SelftestHandle>,
    /// Its evidence (clips, full-resolution snapshots), with `[cameras.evidence]`.
    recorder: Option<Arc<Recorder>>,
    /// [`secret_digest`] of its password when it started, so a reload sees a
    /// changed `password_file` or `password_env` content as a change.
    pub(super) secret: Option<[u8; 32]>,
    /// Hands out the next analysed frame on request (the console's
    /// calibration page).
    still: StillTap,
}

/// Hands out a camera's next analysed frame to whoever asks (the console's
/// calibration page draws on it). It rides on the analysis thread as one
/// more analyzer ([`StillAnalyzer`]); when nobody waits it costs one atomic
/// load per frame and keeps no frame.
#[derive(Clone, Default)]
pub struct StillTap(Arc<StillInner>);

#[derive(Default)]
struct StillInner {
    wanted: AtomicBool,
    waiting: std::sync::Mutex<Vec<std::sync::mpsc::SyncSender<crate::ingest::Frame>>>,
}

impl StillTap {
    /// The next frame the camera's analysis sees, or `None` when none comes
    /// within `timeout` (camera offline, or stopped meanwhile).
    pub fn next_frame(&self, timeout: Duration) -> Option<crate::ingest::Frame> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        crate::base::lock(&self.0.waiting).push(tx);
        self.0.wanted.store(true, Ordering::Release);
        rx.recv_timeout(timeout).ok()
    }
}

/// The analyzer side of a [`StillTap`]: finds nothing.
struct StillAnalyzer(StillTap);

impl crate::analysis::Analyzer for StillAnalyzer {
    fn name(&self) -> &'static str {
        "still"
    }

    fn process(&mut self, frame: &crate::ingest::Frame) -> Vec<crate::analysis::Finding> {
        if self.0 .0.wanted.swap(false, Ordering::AcqRel) {
            for tx in crate::base::lock(&self.0 .0.waiting).drain(..) {
                // A frame is an `Arc` of its pixels: no copy.
                let _ = tx.try_send(frame.clone());
            }
        }
        Vec::new()
    }
}

/// What a camera needs from the rest of the daemon.
#[derive(Clone)]
pub struct UnitContext {
    pub site: String,
    pub gateway: String,
    /// Where the camera's analysis submits alerts (shared by every producer).
    pub sink: FusedSink,
    pub events: tokio::sync::mpsc::UnboundedSender<CameraEvent>,
    /// `[evidence] dir`, for cameras with `[cameras.evidence]`.
    pub evidence_dir: std::path::PathBuf,
    /// Models for analyzers that use them as cues, loaded once at start.
    pub models: Option<Arc<crate::analysis::detector::Models>>,
    /// How captions on pictures speak (`[site] timezone` and `lang`).
    pub pictures: crate::alert::caption::PictureText,
}

impl CameraUnit {
    /// Builds the analyzers (the step that can fail for a bad camera
    /// config), then starts ingest and the worker thread.
    pub fn start(cam: &CameraConfig, ctx: &UnitContext) -> anyhow::Result<CameraUnit> {
        let mut analyzers = crate::analysis::build_analyzers_with(cam, ctx.models.as_deref())?;
        // The self-test runs beside the analyzers (it only watches for its
        // moment and keeps frames; the test runs on a thread of its own).
        let selftest = selftest::enabled(cam).then(SelftestHandle::default);
        if let Some(handle) = &selftest {
            analyzers.push(Box::new(SelftestTap::new(
                cam,
                ctx.models.clone(),
                handle.clone(),
                ctx.pictures.timezone,
            )));
        }
        let still = StillTap::default();
        analyzers.push(Box::new(StillAnalyzer(still.clone())));
        let slot = FrameSlot::new();
        // Its grace first, so a camera added by reload is not judged by the default.
        let _ = ctx.events.send(CameraEvent {
            camera: cam.name.clone(),
            at: std::time::SystemTime::now(),
            status: CameraStatus::Configured {
                offline_grace: Duration::from_secs(cam.offline_grace_s),
                evidence_stream: cam.evidence_stream().is_some(),
            },
        });
        let caption = crate::alert::caption::Caption::new(
            cam.display_name.clone().unwrap_or_else(|| cam.name.clone()),
            ctx.pictures,
        );
        let recorder = match &cam.evidence {
            Some(ev) => Some(Arc::new(
                Recorder::start(
                    &cam.name,
                    ev,
                    &ctx.evidence_dir,
                    cam.evidence_stream(),
                    Arc::new(ctx.sink.clone()),
                    ctx.events.clone(),
                    caption.clone(),
                )
                .map_err(|e| anyhow::anyhow!("camera {} evidence stream: {e}", cam.name))?,
            )),
            None => None,
        };
        let spawned = match &recorder {
            // No evidence stream of its own: clips from the detect stream's units.
            Some(r) if cam.evidence_stream().is_none() => {
                spawn_camera_tapped(cam.stream(), slot.clone(), ctx.events.clone(), r.tap())
            }
            _ => spawn_camera(cam.stream(), slot.clone(), ctx.events.clone()),
        };
        let handle = match spawned {
            Ok(h) => h,
            Err(e) => {
                if let Some(r) = &recorder {
                    r.stop();
                }
                return Err(anyhow::anyhow!("camera {}: {e}", cam.name));
            }
        };
        let stop = Arc::new(AtomicBool::new(false));
        let mut builder = AlertBuilder::new(AlertOrigin {
            site: ctx.site.clone(),
            gateway: ctx.gateway.clone(),
            camera: cam.name.clone(),
        });
        builder.caption = Some(caption);
        let sink = ctx.sink.clone();
        let span = tracing::info_span!("camera", name = %cam.name);
        let heartbeat = Heartbeat::new();
        let analysis = Arc::new(AnalysisStats::default());
        let (w_slot, w_stop, w_beat, w_stats, w_rec) = (
            slot.clone(),
            stop.clone(),
            heartbeat.clone(),
            analysis.clone(),
            recorder.clone(),
        );
        let worker = std::thread::Builder::new()
            .name(format!("ew-analyse-{}", cam.name))
            .spawn(move || {
                let _enter = span.enter();
                worker::run(w_slot, analyzers, builder, w_stop, w_beat, w_stats, |alert| {
                    let (kind, id) = (alert.kind, alert.id);
                    if let Some(r) = &w_rec {
                        r.on_alert(&alert);
                    }
                    if let Err(e) = sink.submit(alert) {
                        tracing::error!(%id, kind = kind.as_str(), error = %e, "alert not accepted by delivery");
                    }
                })
            })?;
        Ok(CameraUnit {
            secret: secret_digest(cam),
            config: cam.clone(),
            handle,
            slot,
            stop,
            worker,
            heartbeat,
            analysis,
            selftest,
            recorder,
            still,
        })
    }

    /// Where to ask for the camera's next analysed frame.
    pub fn still_tap(&self) -> StillTap {
        self.still.clone()
    }

    /// Runs the camera's self-test as soon as it has frames; false when it
    /// has none.
    pub fn request_selftest(&self) -> bool {
        self.selftest
            .as_ref()
            .map(SelftestHandle::request)
            .is_some()
    }

    /// Stops ingest (no new frames), then lets the worker finish the frame
    /// it has: its alerts are submitted before this returns.
    pub fn stop(self) {
        self.handle.stop();
        self.slot.close();
        self.stop.store(true, Ordering::Relaxed);
        if self.worker.join().is_err() {
            tracing::error!(camera = %self.config.name, "an analysis thread panicked");
        }
        // Clips in progress end now and are announced before delivery stops.
        if let Some(r) = self.recorder {
            r.stop();
        }
    }

    /// The camera's figures now (rates are filled in by [`Rates`](crate::monitor::Rates)).
    pub fn snapshot(&self) -> CameraSnapshot {
        let s = self.handle.stats();
        CameraSnapshot {
            camera: s.camera,
            online: s.online,
            frames_in: s.frames_in,
            frames_analysed: self.analysis.frames(),
            frames_skipped: s.frames_skipped,
            reconnects: s.reconnects,
            fps_in: 0.0,
            fps_analysed: 0.0,
            fps_skipped: 0.0,
            worker_tick_age_ms: health::now_ms().saturating_sub(self.heartbeat.last()),
            analyzer_ms: self.analysis.analyzers.snapshot(),
            selftest: self.selftest.as_ref().and_then(SelftestHandle::latest),
            evidence: self.recorder.as_ref().map(|r| r.stats()),
            last_outage: s.last_error,
            display_name: self.config.display_name.clone(),
            zones: zone_names(&self.config),
        }
    }
}

/// Every analyzer zone of `cam` as `(name, display_name)`, in config order
/// (fire, garbage, motion, throwing exclusions), each name once.
fn zone_names(cam: &CameraConfig) -> Vec<(String, Option<String>)> {
    let a = &cam.analyzers;
    let fire = a.fire.iter().flat_map(|f| {
        f.zones
            .iter()
            .map(|z| (z.name.clone(), z.display_name.clone()))
    });
    let plain = a
        .garbage
        .iter()
        .flat_map(|g| g.zones.iter())
        .chain(a.motion.iter().flat_map(|m| m.zones.iter()))
        .chain(a.throwing.iter().flat_map(|t| t.exclude.iter()))
        .map(|z| (z.name.clone(), z.display_name.clone()));
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    for (name, display) in fire.chain(plain) {
        if !out.iter().any(|(n, _)| *n == name) {
            out.push((name, display));
        }
    }
    out
}

/// How text on the cameras' pictures speaks: `[site] timezone` and `lang`.
pub fn picture_text(config: &Config) -> crate::alert::caption::PictureText {
    crate::alert::caption::PictureText {
        timezone: config.site.timezone,
        lang: config.site.lang,
    }
}

/// Everything that produces alerts: one [`CameraUnit`] per enabled camera.
#[derive(Default)]
pub struct Pipeline {
    pub cameras: BTreeMap<String, CameraUnit>,
    /// The systemd watchdog's heartbeat set, kept in step on reload.
    pub(super) watchdog: Option<Watchdog>,
}

/// The sha256 of the camera's password as it resolves now (from the config,
/// its file or its environment variable); `None` without one. Only the digest
/// is kept, never a second copy of the secret.
pub fn secret_digest(cam: &CameraConfig) -> Option<[u8; 32]> {
    use sha2::{Digest, Sha256};
    let pw = cam.password.resolve().ok().flatten()?;
    Some(Sha256::digest(pw.as_bytes()).into())
}

/// Whether two camera configs differ in any way that matters. `Debug`
/// covers every field (a new analyzer's config too); inline passwords are
/// compared separately because `Debug` hides them. A changed password file
/// content is caught by comparing [`secret_digest`]s.
pub fn camera_changed(a: &CameraConfig, b: &CameraConfig) -> bool {
    let evidence_pw = |c: &CameraConfig| c.evidence.as_ref().map(|e| e.password.password.clone());
    format!("{a:?}") != format!("{b:?}")
        || a.password.password != b.password.password
        || evidence_pw(a) != evidence_pw(b)
}

impl Pipeline {
    /// Stops every camera, each ingest first so its analysis can drain.
    pub fn stop(self) {
        for unit in self.cameras.into_values() {
            unit.stop();
        }
    }
}

/// Starts, for each enabled camera, its pipeline supervisor and its analysis
/// worker thread, joined by a one-frame [`FrameSlot`].
///
/// Cameras report online/offline on `events`; analysis threads submit
/// alerts to `sink`. A camera whose analyzers
/// cannot be built (a missing model, say) stops the start with an error that
/// names it; a camera that cannot be reached does not: its supervisor keeps
/// retrying and reports it offline.
pub fn start_pipeline(
    config: &Config,
    sink: &FusedSink,
    events: tokio::sync::mpsc::UnboundedSender<CameraEvent>,
) -> anyhow::Result<Pipeline> {
    let ctx = UnitContext {
        site: config.site.id.clone(),
        gateway: config.gateway.id.clone(),
        sink: sink.clone(),
        events,
        evidence_dir: config.evidence.dir.clone(),
        models: crate::analysis::load_wanted_models(&config.runtime, config.enabled_cameras())
            .map(Arc::new),
        pictures: picture_text(config),
    };
    if config.enabled_cameras().any(|c| c.evidence.is_some()) {
        // Unfinished files of a run that crashed: never announced, not kept.
        crate::evidence::clean_stale_parts(&config.evidence.dir);
    }
    let mut pipeline = Pipeline::default();
    for cam in config.enabled_cameras() {
        match CameraUnit::start(cam, &ctx) {
            Ok(unit) => {
                pipeline.cameras.insert(cam.name.clone(), unit);
            }
            Err(e) => {
                pipeline.stop();
                return Err(e);
            }
        }
    }
    Ok(pipeline)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cam(extra: &str) -> CameraConfig {
        let text = format!(
            "[site]\nid = \"s\"\n[gateway]\nid = \"g\"\n[[cameras]]\nname = \"gate\"\nurl = \"rtsp://h/x\"\n{extra}"
        );
        let mut c = Config::parse(&text).unwrap();
        c.cameras.remove(0)
    }

    #[test]
    fn any_camera_key_counts_as_a_change_inline_passwords_too() {
        let base = cam("");
        assert!(!camera_changed(&base, &cam("")));
        assert!(camera_changed(&base, &cam("stall_timeout_s = 11")));
        assert!(camera_changed(
            &cam("[cameras.analyzers.motion]\n"),
            &cam("[cameras.analyzers.motion]\nzones = [ { name = \"z\", polygon = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]] } ]")
        ));
        assert!(camera_changed(
            &cam("password = \"a\""),
            &cam("password = \"b\"")
        ));
        let ev = |pw: &str| {
            cam(&format!(
                "[cameras.evidence]\nurl = \"rtsp://u@h/main\"\npassword = \"{pw}\""
            ))
        };
        assert!(!camera_changed(&ev("a"), &ev("a")));
        assert!(camera_changed(&ev("a"), &ev("b")), "evidence password");
        assert!(camera_changed(&base, &ev("a")), "evidence added");
    }

    #[test]
    fn a_password_file_whose_content_changed_has_another_digest() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "first\n").unwrap();
        let c = cam(&format!("password_file = {:?}", file.display().to_string()));
        let before = secret_digest(&c);
        assert!(before.is_some());
        assert_eq!(secret_digest(&c), before, "same content, same digest");
        std::fs::write(&file, "second\n").unwrap();
        assert!(!camera_changed(&c, &c), "the config text is the same");
        assert_ne!(secret_digest(&c), before, "but the secret is not");
        assert_eq!(secret_digest(&cam("")), None);
    }
}
