//! The per-camera self-test: once a day (at `[cameras.selftest] at`, in
//! `[site] timezone`), or when asked (`first_after_s`, `estatewatch
//! selftest`), a camera checks that it still sees what it should.
//!
//! - **Capture.** The camera's analysis thread runs a [`SelftestTap`] beside
//!   its analyzers. When a test is due it keeps references to the next
//!   `capture_s` seconds of live detect frames (frames are shared, so this
//!   copies no pixels), then hands them to a thread of its own
//!   (`ew-selftest-<camera>`, nice 10), so the live analysis never waits for
//!   the test.
//! - **View checks** ([`view`]): a grey still averaged from the frames must
//!   be bright enough, have contrast, stay sharp compared with the camera's
//!   reference still, and match the reference's edges (a camera turned away,
//!   covered, blurred or dark fails here even when a synthetic incident on
//!   its black picture would still be "seen"). The reference is
//!   `<reference_dir>/<camera>.png`, taken at the first self-test that passes.
//! - **Incident checks** ([`overlay`]): for each incident analyzer of the
//!   camera (throwing, fire, garbage) a separate, freshly built instance with
//!   the camera's config is fed the frames (repeated back and forth to
//!   [`WARMUP_S`] of warm-up) with a synthetic incident drawn into copies of
//!   them; it passes when that instance raises the incident's kind where it
//!   was drawn. The live analyzers' state, cooldowns and alerts are
//!   untouched, nothing the test instances find is published, and the
//!   pictures sent anywhere are never altered. Garbage's dwell is shortened
//!   to [`GARBAGE_DWELL_S`] in the test instance (and its quiet time to at most
//!   1 s), so the test does not take a minute.
//! - **Result**: a [`SelftestResult`] on the stats topic and `/metrics`
//!   (through [`SelftestHandle`]), and, when it failed, a `selftest_failed`
//!   finding the tap returns on the live thread, so the alert goes the
//!   normal way (worker, snapshot of the live view, fusion, outbox).

pub mod config;
pub mod overlay;
pub mod view;

use super::config::{AnalyzersConfig, CameraConfig};
use super::{detector, Analyzer, Finding};
use crate::alert::{AlertKind, AlertState, Severity};
use crate::base::lock;
use crate::ingest::Frame;
use crate::monitor::selftest::{SelftestCheck, SelftestResult};
use crate::settings::SiteTimezone;
use chrono::{DateTime, TimeZone, Utc};
use overlay::{Overlay, PxBox};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, SystemTime};
use view::Still;

/// Seconds of (repeated) live frames a test instance sees before the
/// synthetic incident starts, so its background models settle.
pub const WARMUP_S: f32 = 2.0;
/// The garbage test instance's dwell, seconds (the camera's own if shorter).
pub const GARBAGE_DWELL_S: f32 = 2.0;

/// Whether the camera has an analyzer the self-test can test.
pub fn has_incident_analyzer(cam: &CameraConfig) -> bool {
    let a = &cam.analyzers;
    a.throwing.is_some() || a.fire.is_some() || a.garbage.is_some()
}

/// Whether the camera runs a self-test.
pub fn enabled(cam: &CameraConfig) -> bool {
    cam.selftest.enabled(has_incident_analyzer(cam))
}

/// The camera's reference still.
pub fn reference_path(cam: &CameraConfig) -> PathBuf {
    cam.selftest
        .reference_dir()
        .join(format!("{}.png", cam.name))
}

/// Runs the self-test of `cam` on `frames` (live detect frames, oldest
/// first), building its test analyzers with `models`. Takes the reference
/// still when there is none and everything passed.
pub fn run(
    cam: &CameraConfig,
    models: Option<&detector::Models>,
    frames: &[Frame],
) -> SelftestResult {
    let cpu = thread_cpu();
    let at = chrono::Utc::now();
    let limits = cam.selftest.limits();
    let mut checks = Vec::new();
    let Some(still) = Still::from_frames(frames) else {
        checks.push(check_failed("brightness", "view", "no live frames to test"));
        return finish(at, checks, "missing", 0, cpu);
    };
    let brightness = still.brightness();
    checks.push(at_least("brightness", brightness, limits.min_brightness));
    checks.push(at_least("contrast", still.contrast(), limits.min_contrast));

    let path = reference_path(cam);
    let reference = match Still::load(&path) {
        Ok(Some(r)) if (r.w, r.h) == (still.w, still.h) => Ok(r),
        Ok(Some(r)) => Err(format!(
            "the reference is {}x{}, the view {}x{} (detect size changed); retaken at the next pass",
            r.w, r.h, still.w, still.h
        )),
        Ok(None) => Err("no reference still yet; taken at the first pass".to_string()),
        Err(e) => Err(format!("{e}; retaken at the next pass")),
    };
    let sharpness = still.sharpness();
    match &reference {
        Ok(r) => {
            let sim = still.similarity(r).unwrap_or(0.0);
            checks.push(at_least("similarity", sim, limits.min_similarity));
            let ratio = sharpness / r.sharpness().max(1e-3);
            checks.push(at_least("sharpness", ratio, limits.min_sharpness_ratio));
        }
        Err(note) => {
            checks.push(SelftestCheck {
                name: "similarity",
                kind: "view",
                passed: true,
                value: None,
                threshold: Some(limits.min_similarity as f64),
                note: Some(note.clone()),
            });
            checks.push(SelftestCheck {
                name: "sharpness",
                kind: "view",
                passed: true,
                value: None,
                threshold: Some(limits.min_sharpness_ratio as f64),
                note: Some(note.clone()),
            });
        }
    }

    let (w, h) = (frames[0].width, frames[0].height);
    let a = &cam.analyzers;
    if let Some(t) = &a.throwing {
        let check = match throw_overlay(t, w, h) {
            Ok(o) => incident(
                cam,
                models,
                frames,
                "throwing",
                AlertKind::Throwing,
                AnalyzersConfig {
                    throwing: Some(t.clone()),
                    ..Default::default()
                },
                &o,
                0.0,
            ),
            Err(e) => check_failed(
                "throwing",
                "throwing",
                &format!("cannot place a throw: {e}"),
            ),
        };
        checks.push(check);
    }
    if let Some(f) = &a.fire {
        let check = if !f.flame {
            SelftestCheck {
                name: "fire",
                kind: "fire",
                passed: true,
                value: None,
                threshold: None,
                note: Some("not tested: flame alerts are off (flame = false)".into()),
            }
        } else {
            let poly = f
                .zones
                .first()
                .map(|z| z.polygon.clone())
                .unwrap_or_else(full_frame);
            match overlay::inside_point(&poly, w, h, 0.2) {
                Some((x, y)) => {
                    let width = (w as f32 * 0.04).max(10.0);
                    let o = Overlay::Flame {
                        x,
                        base_y: y.max(2.4 * width).min(h as f32 - 2.0),
                        width,
                    };
                    incident(
                        cam,
                        models,
                        frames,
                        "fire",
                        AlertKind::Fire,
                        AnalyzersConfig {
                            fire: Some(f.clone()),
                            ..Default::default()
                        },
                        &o,
                        0.0,
                    )
                }
                None => check_failed("fire", "fire", "the fire zone covers no pixel"),
            }
        };
        checks.push(check);
    }
    if let Some(g) = a
        .garbage
        .as_ref()
        .filter(|_| cam.selftest.garbage != Some(false))
    {
        let mut g = g.clone();
        g.dwell_s = g.dwell_s.min(GARBAGE_DWELL_S);
        g.quiet_s = g.quiet_s.min(1.0);
        let poly = g
            .zones
            .first()
            .map(|z| z.polygon.clone())
            .unwrap_or_else(full_frame);
        let check = match overlay::inside_point(&poly, w, h, 0.3) {
            Some((x, y)) => {
                let area = (g.min_area * g.max_area).sqrt() * (w * h) as f32;
                let width = (area * 1.3).sqrt().max(6.0);
                let o = Overlay::Bag {
                    x,
                    base_y: y,
                    width,
                    height: width / 1.3,
                };
                let bag_s = g.dwell_s + g.quiet_s + 4.0;
                incident(
                    cam,
                    models,
                    frames,
                    "garbage",
                    AlertKind::Garbage,
                    AnalyzersConfig {
                        garbage: Some(g),
                        ..Default::default()
                    },
                    &o,
                    bag_s,
                )
            }
            None => check_failed("garbage", "garbage", "the garbage zone covers no pixel"),
        };
        checks.push(check);
    }

    let passed = checks.iter().all(|c| c.passed);
    let reference = match (&reference, passed) {
        (Ok(_), _) => "compared",
        (Err(_), true) => match still.save(&path) {
            Ok(()) => {
                tracing::info!(path = %path.display(), "self-test: reference still taken");
                "taken"
            }
            Err(e) => {
                tracing::warn!(error = %e, "self-test: reference still not saved");
                "missing"
            }
        },
        (Err(_), false) => "missing",
    };
    finish(at, checks, reference, frames.len() as u32, cpu)
}

fn full_frame() -> Vec<[f32; 2]> {
    vec![[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
}

fn finish(
    at: DateTime<chrono::Utc>,
    checks: Vec<SelftestCheck>,
    reference: &'static str,
    frames: u32,
    cpu_start: Option<Duration>,
) -> SelftestResult {
    let cpu_ms = match (cpu_start, thread_cpu()) {
        (Some(a), Some(b)) => b.saturating_sub(a).as_secs_f64() * 1000.0,
        _ => 0.0,
    };
    SelftestResult {
        at,
        passed: checks.iter().all(|c| c.passed),
        checks,
        reference,
        frames,
        cpu_ms,
    }
}

fn at_least(name: &'static str, value: f32, threshold: f32) -> SelftestCheck {
    let passed = value >= threshold;
    SelftestCheck {
        name,
        kind: "view",
        passed,
        value: Some(round3(value as f64)),
        threshold: Some(threshold as f64),
        note: (!passed).then(|| format!("{name} {value:.3} is below {threshold}")),
    }
}

fn check_failed(name: &'static str, kind: &'static str, note: &str) -> SelftestCheck {
    SelftestCheck {
        name,
        kind,
        passed: false,
        value: None,
        threshold: None,
        note: Some(note.to_string()),
    }
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// A throw from the upper quarter of the calibrated floors, down the
/// middle of the columns, at the facade's free-fall acceleration.
fn throw_overlay(
    t: &super::throwing::config::ThrowingConfig,
    w: u32,
    h: u32,
) -> Result<Overlay, String> {
    let cal = super::throwing::calibration::Calibration::new(t, w, h).map_err(|e| e.to_string())?;
    let lines = cal.lines_px();
    let (bottom, top) = (lines[0], lines[lines.len() - 1]);
    let (eb, et) = cal.edges_px();
    let mid = |e: &[f32]| (e[0] + e[e.len() - 1]) / 2.0;
    let size = (w as f32 / 60.0).max(8.0);
    let y0 = (top + 0.25 * (bottom - top)).max(size);
    let y_end = bottom.min(h as f32 - size);
    let t_mid = (y0 + y_end) / 2.0;
    Ok(Overlay::Throw {
        x0: (mid(eb) + mid(et)) / 2.0,
        y0,
        vx: w as f32 * 0.02,
        g: cal.gravity_px(t_mid),
        y_end,
        size,
    })
}

/// Feeds a fresh instance of one analyzer the frames with `overlay` drawn
/// in; passes when it raises `kind` where the overlay was.
#[allow(clippy::too_many_arguments)]
fn incident(
    cam: &CameraConfig,
    models: Option<&detector::Models>,
    frames: &[Frame],
    name: &'static str,
    kind: AlertKind,
    analyzers: AnalyzersConfig,
    overlay: &Overlay,
    bag_s: f32,
) -> SelftestCheck {
    let mut test_cam = cam.clone();
    test_cam.analyzers = analyzers;
    let mut instance = match super::build_analyzers_with(&test_cam, models) {
        Ok(a) => a,
        Err(e) => return check_failed(name, name, &format!("test instance not built: {e}")),
    };
    let fps = cam.detect.fps.max(1) as f32;
    let total = ((WARMUP_S + overlay.duration_s(bag_s) + 1.0) * fps).ceil() as usize;
    let (w, h) = (frames[0].width, frames[0].height);
    let extent = overlay.extent(bag_s);
    let mut raised = None;
    'frames: for i in 0..total {
        let src = &frames[ping_pong(i, frames.len())];
        let t = i as f32 / fps - WARMUP_S;
        let rgb = if t >= 0.0 && src.width == w && src.height == h {
            let mut copy = src.rgb.as_ref().clone();
            overlay.draw(t, i as u64, &mut copy, w, h);
            Arc::new(copy)
        } else {
            src.rgb.clone()
        };
        let frame = Frame {
            camera: src.camera.clone(),
            seq: i as u64,
            pts: Some(Duration::from_secs_f32(i as f32 / fps)),
            captured_at: src.captured_at,
            width: w,
            height: h,
            rgb,
        };
        for a in instance.iter_mut() {
            for f in a.process(&frame) {
                if f.kind == kind && f.bbox.is_none_or(|b| overlaps(&extent, w, h, b)) {
                    raised = Some(t);
                    break 'frames;
                }
            }
        }
    }
    SelftestCheck {
        name,
        kind: name,
        passed: raised.is_some(),
        value: Some(if raised.is_some() { 1.0 } else { 0.0 }),
        threshold: Some(1.0),
        note: match raised {
            Some(t) => Some(format!("raised {kind} {t:.1} s into the synthetic incident")),
            None => Some(format!(
                "no {kind} raised for a synthetic {name} incident at x {:.0}..{:.0}, y {:.0}..{:.0} px",
                extent.0, extent.2, extent.1, extent.3
            )),
        },
    }
}

/// Index `i` of an endless back-and-forth walk over `n` items.
fn ping_pong(i: usize, n: usize) -> usize {
    if n <= 1 {
        return 0;
    }
    let period = 2 * n - 2;
    let k = i % period;
    if k < n {
        k
    } else {
        period - k
    }
}

/// Whether the normalised box `b` touches the pixel box `e` (with a margin).
fn overlaps(e: &PxBox, w: u32, h: u32, b: crate::alert::BBox) -> bool {
    let (bx0, by0) = (b.x * w as f32, b.y * h as f32);
    let (bx1, by1) = (bx0 + b.w * w as f32, by0 + b.h * h as f32);
    let m = 8.0;
    bx0 <= e.2 + m && bx1 >= e.0 - m && by0 <= e.3 + m && by1 >= e.1 - m
}

/// CPU time of the calling thread.
fn thread_cpu() -> Option<Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec we own.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

/// The next `at` (hour, minute) in the site's time zone, more than a minute
/// from now.
fn next_daily(tz: SiteTimezone, at: (u32, u32)) -> SystemTime {
    SystemTime::from(next_at(Utc::now().with_timezone(&tz.0), at).with_timezone(&Utc))
}

/// The next time of day `at` (hour, minute, local time) more than a minute
/// after `now`.
pub fn next_at<Tz: TimeZone>(now: DateTime<Tz>, at: (u32, u32)) -> DateTime<Tz> {
    let tz = now.timezone();
    let mut day = now.date_naive();
    for _ in 0..3 {
        if let Some(naive) = day.and_hms_opt(at.0, at.1, 0) {
            // A time skipped by a DST change runs an hour later.
            let t = tz.from_local_datetime(&naive).earliest().or_else(|| {
                tz.from_local_datetime(&(naive + chrono::Duration::hours(1)))
                    .earliest()
            });
            if let Some(t) = t {
                if t > now.clone() + chrono::Duration::minutes(1) {
                    return t;
                }
            }
        }
        day = day.succ_opt().unwrap_or(day);
    }
    now + chrono::Duration::days(1)
}

/// What the daemon keeps of a camera's self-test: ask for one now, read
/// the latest result. Cloned into the camera's [`SelftestTap`].
#[derive(Clone, Default)]
pub struct SelftestHandle(Arc<Shared>);

#[derive(Default)]
struct Shared {
    requested: AtomicBool,
    running: AtomicBool,
    latest: Mutex<Option<SelftestResult>>,
}

impl SelftestHandle {
    /// Runs a self-test as soon as the camera delivers frames (ignored
    /// while one runs).
    pub fn request(&self) {
        self.0.requested.store(true, Ordering::Relaxed);
    }

    /// The latest result, `None` before the first.
    pub fn latest(&self) -> Option<SelftestResult> {
        lock(&self.0.latest).clone()
    }
}

/// Runs beside a camera's analyzers on its analysis thread: decides when a
/// self-test is due, keeps references to the frames it needs, starts the
/// test on its own thread, and turns a failed result into a
/// `selftest_failed` finding. It raises nothing else and costs the live
/// thread a clock read per frame (and a reference count while capturing).
pub struct SelftestTap {
    cam: CameraConfig,
    models: Option<Arc<detector::Models>>,
    handle: SelftestHandle,
    due: SystemTime,
    capture: Option<Vec<Frame>>,
    want: usize,
    tx: mpsc::Sender<SelftestResult>,
    rx: mpsc::Receiver<SelftestResult>,
    failures: u64,
    /// `[site] timezone`, in which `at` is read.
    tz: SiteTimezone,
}

impl SelftestTap {
    /// The tap of `cam` (whose self-test is [`enabled`]), reporting through
    /// `handle`.
    pub fn new(
        cam: &CameraConfig,
        models: Option<Arc<detector::Models>>,
        handle: SelftestHandle,
        tz: SiteTimezone,
    ) -> SelftestTap {
        let now = SystemTime::now();
        let daily = next_daily(tz, cam.selftest.at());
        let due = match cam.selftest.first_after_s {
            Some(s) => (now + Duration::from_secs(s)).min(daily),
            None => daily,
        };
        let want = (cam.selftest.capture_s() * cam.detect.fps as f32)
            .ceil()
            .max(1.0) as usize;
        tracing::info!(
            camera = %cam.name,
            next = %tz.local(DateTime::<Utc>::from(due)).format("%Y-%m-%d %H:%M:%S %Z"),
            "self-test scheduled"
        );
        let (tx, rx) = mpsc::channel();
        SelftestTap {
            cam: cam.clone(),
            models,
            handle,
            due,
            capture: None,
            want,
            tx,
            rx,
            failures: 0,
            tz,
        }
    }

    fn start_test(&mut self, frames: Vec<Frame>) {
        let shared = self.handle.0.clone();
        shared.running.store(true, Ordering::Relaxed);
        let (cam, models, tx) = (self.cam.clone(), self.models.clone(), self.tx.clone());
        let span = tracing::Span::current();
        let started = std::thread::Builder::new()
            .name(format!("ew-selftest-{}", self.cam.name))
            .spawn(move || {
                let _enter = span.enter();
                // Below the live threads: the test may take its time.
                // SAFETY: setpriority on the calling thread (who = 0 is this thread on Linux).
                unsafe {
                    libc::setpriority(libc::PRIO_PROCESS, 0, 10);
                }
                let result = run(&cam, models.as_deref(), &frames);
                if result.passed {
                    tracing::info!(cpu_ms = result.cpu_ms, reference = result.reference, "self-test passed");
                } else {
                    let notes: Vec<String> = result
                        .checks
                        .iter()
                        .filter(|c| !c.passed)
                        .map(|c| format!("{}: {}", c.name, c.note.as_deref().unwrap_or("failed")))
                        .collect();
                    tracing::warn!(failed = ?result.failed(), cpu_ms = result.cpu_ms, "self-test FAILED: {}", notes.join("; "));
                }
                *lock(&shared.latest) = Some(result.clone());
                let _ = tx.send(result);
                shared.running.store(false, Ordering::Relaxed);
            });
        if let Err(e) = started {
            tracing::error!(error = %e, "self-test thread not started");
            self.handle.0.running.store(false, Ordering::Relaxed);
        }
    }
}

impl Analyzer for SelftestTap {
    fn name(&self) -> &'static str {
        "selftest"
    }

    fn process(&mut self, frame: &Frame) -> Vec<Finding> {
        let mut out = Vec::new();
        if let Ok(result) = self.rx.try_recv() {
            if !result.passed {
                self.failures += 1;
                out.push(Finding {
                    kind: AlertKind::SelftestFailed,
                    severity: Severity::Warning,
                    state: AlertState::New,
                    incident: self.failures,
                    score: 1.0,
                    zone: None,
                    bbox: None,
                    details: serde_json::json!({
                        "failed": result.failed(),
                        "checks": result.checks,
                        "reference": result.reference,
                    }),
                    picture: None,
                });
            }
        }
        if let Some(frames) = &mut self.capture {
            frames.push(frame.clone());
            if frames.len() >= self.want {
                if let Some(frames) = self.capture.take() {
                    self.start_test(frames);
                }
            }
            return out;
        }
        let shared = &self.handle.0;
        if shared.running.load(Ordering::Relaxed) {
            return out;
        }
        let now = SystemTime::now();
        if shared.requested.swap(false, Ordering::Relaxed) || now >= self.due {
            if now >= self.due {
                self.due = next_daily(self.tz, self.cam.selftest.at());
            }
            tracing::info!("self-test: capturing {} frames", self.want);
            self.capture = Some(Vec::with_capacity(self.want));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    #[test]
    fn the_daily_run_is_the_next_such_time_of_day() {
        let tz = FixedOffset::east_opt(8 * 3600).unwrap();
        let now = tz.with_ymd_and_hms(2026, 3, 1, 2, 0, 0).unwrap();
        assert_eq!(
            next_at(now, (3, 30)),
            tz.with_ymd_and_hms(2026, 3, 1, 3, 30, 0).unwrap()
        );
        let after = tz.with_ymd_and_hms(2026, 3, 1, 3, 30, 0).unwrap();
        assert_eq!(
            next_at(after, (3, 30)),
            tz.with_ymd_and_hms(2026, 3, 2, 3, 30, 0).unwrap()
        );
    }

    #[test]
    fn frames_are_walked_back_and_forth() {
        let seq: Vec<usize> = (0..8).map(|i| ping_pong(i, 4)).collect();
        assert_eq!(seq, [0, 1, 2, 3, 2, 1, 0, 1]);
        assert_eq!(ping_pong(5, 1), 0);
    }
}
