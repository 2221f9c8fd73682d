//! `estatewatch replay`: runs one camera's analysis over a recorded clip as
//! fast as the machine allows and prints each alert as a JSON line in the
//! MQTT schema. Nothing is published and no outbox is touched.

use crate::alert::Alert;
use crate::analysis::config::CameraConfig;
use crate::analysis::detector::config::RuntimeConfig;
use crate::analysis::{self, worker::AlertBuilder, worker::AlertOrigin};
use crate::ingest::config::camera_names;
use crate::ingest::file::FileReader;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// What went wrong in a replay.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("camera {0:?} is not in the config (cameras: {1})")]
    NoSuchCamera(String, String),
    #[error(transparent)]
    Analysis(#[from] analysis::AnalysisError),
    #[error(transparent)]
    Ingest(#[from] crate::ingest::IngestError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write alerts to stdout: {0}")]
    Stdout(std::io::Error),
    #[error("debug video: {0}")]
    DebugVideo(String),
}

/// Options for [`replay`].
#[derive(Debug, Default, Clone)]
pub struct ReplayOptions {
    /// Save each alert's annotated JPEG here as `<alert id>.jpg`, captioned
    /// as the daemon's snapshots are (camera display name, site-local time).
    pub snapshots: Option<PathBuf>,
    /// Write the frames, with each analyzer's view and the alerts drawn, to
    /// this H.264 MP4 file.
    pub debug_video: Option<PathBuf>,
    /// Show a progress line on stderr (only when stderr is a terminal).
    pub progress: bool,
    /// Print, on stderr, each analyzer's explanation of every alert it
    /// raised and every candidate it rejected, with the cue values and
    /// thresholds (see [`analysis::explain`]).
    pub explain: bool,
}

/// The config sections a replay reads.
#[derive(Debug, Clone, Copy)]
pub struct ReplaySections<'a> {
    /// `site.id` and `gateway.id`, stamped on the alerts.
    pub site: &'a str,
    pub gateway: &'a str,
    /// `[runtime]`, for analyzers that use models.
    pub runtime: &'a RuntimeConfig,
    /// `[[cameras]]`, among which the one replayed.
    pub cameras: &'a [CameraConfig],
    /// `[site] timezone` and `lang`: saved snapshots are captioned with the
    /// camera's display name and the alert's site-local time, as the
    /// daemon's are.
    pub pictures: crate::alert::caption::PictureText,
}

/// Totals of a replay.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReplaySummary {
    pub frames: u64,
    pub alerts: u64,
}

/// Replays `clip` through `camera`'s analyzers, writing alert JSON lines to `out`.
/// Snapshots are not embedded in the printed lines; see `options.snapshots`.
pub fn replay(
    config: ReplaySections<'_>,
    camera: &str,
    clip: &Path,
    options: &ReplayOptions,
    out: &mut dyn Write,
) -> Result<ReplaySummary, ReplayError> {
    let cam = config
        .cameras
        .iter()
        .find(|c| c.name == camera)
        .ok_or_else(|| {
            ReplayError::NoSuchCamera(camera.to_string(), camera_names(config.cameras))
        })?;
    let models = analysis::load_wanted_models(config.runtime, [cam]);
    if let Some(m) = &models {
        // One clip, as fast as it decodes: model answers come on the next
        // frame, every time, so a replay is repeatable.
        m.inference().set_inline(true);
    }
    let mut analyzers = analysis::build_analyzers_with(cam, models.as_ref())?;
    if options.explain {
        for a in analyzers.iter_mut() {
            a.set_explain(true);
        }
    }
    let mut builder = AlertBuilder::new(AlertOrigin {
        site: config.site.to_string(),
        gateway: config.gateway.to_string(),
        camera: cam.name.clone(),
    });
    builder.snapshots = options.snapshots.is_some();
    builder.caption = Some(crate::alert::caption::Caption::new(
        cam.display_name.clone().unwrap_or_else(|| cam.name.clone()),
        config.pictures,
    ));
    if let Some(dir) = &options.snapshots {
        std::fs::create_dir_all(dir).map_err(|source| ReplayError::Write {
            path: dir.clone(),
            source,
        })?;
    }
    let reader = FileReader::open(
        clip,
        &cam.name,
        cam.detect.width,
        cam.detect.height,
        cam.detect.fps,
    )?;
    let show_progress = options.progress && std::io::stderr().is_terminal();
    let mut debug = match &options.debug_video {
        Some(path) => Some(DebugVideo::create(
            path,
            cam.detect.width,
            cam.detect.height,
            cam.detect.fps,
        )?),
        None => None,
    };
    let mut summary = ReplaySummary::default();
    for frame in reader {
        let frame = frame?;
        summary.frames += 1;
        let alerts = analysis::worker::analyse(&frame, &mut analyzers, &mut builder);
        if let Some(d) = debug.as_mut() {
            d.push(&frame, &analyzers, &alerts)?;
        }
        if options.explain {
            let t = frame.pts.unwrap_or_default().as_secs_f64();
            for a in analyzers.iter_mut() {
                for e in a.explain() {
                    eprintln!("explain: t={t:.2}s {e}");
                }
            }
        }
        for alert in alerts {
            summary.alerts += 1;
            emit(alert, options, out)?;
        }
        if show_progress && summary.frames % 25 == 0 {
            let t = frame.pts.unwrap_or_default().as_secs_f32();
            eprint!(
                "\r{}: {:7.1} s, {} frames, {} alerts",
                clip.display(),
                t,
                summary.frames,
                summary.alerts
            );
        }
    }
    if show_progress {
        eprintln!();
    }
    if let Some(d) = debug {
        d.finish()?;
    }
    Ok(summary)
}

/// The `--debug-video` writer: every analysed frame with each analyzer's
/// [`draw_debug`](analysis::Analyzer::draw_debug) overlay (zones, motion,
/// tracks, candidates) and the boxes of alerts raised in the last second.
struct DebugVideo {
    path: PathBuf,
    writer: crate::ingest::mp4::Mp4Writer,
    fps: u32,
    /// Alert boxes still on screen, with the frames left to show them.
    recent: Vec<(crate::alert::BBox, u32)>,
}

impl DebugVideo {
    fn create(path: &Path, width: u32, height: u32, fps: u32) -> Result<DebugVideo, ReplayError> {
        let settings = crate::ingest::mp4::EncodeSettings {
            width,
            height,
            fps: fps.max(1),
            bitrate_kbps: 2000,
            threads: 2,
        };
        let writer = crate::ingest::mp4::Mp4Writer::create(path, settings)
            .map_err(|e| ReplayError::DebugVideo(e.to_string()))?;
        Ok(DebugVideo {
            path: path.to_path_buf(),
            writer,
            fps: fps.max(1),
            recent: Vec::new(),
        })
    }

    fn push(
        &mut self,
        frame: &crate::ingest::Frame,
        analyzers: &[Box<dyn analysis::Analyzer>],
        alerts: &[Alert],
    ) -> Result<(), ReplayError> {
        use crate::alert::snapshot;
        let mut img = snapshot::to_image(&frame.rgb, frame.width, frame.height)
            .map_err(|e| ReplayError::DebugVideo(format!("{}: {e}", self.path.display())))?;
        for a in analyzers {
            a.draw_debug(&mut img);
        }
        self.recent.retain_mut(|(_, left)| {
            *left = left.saturating_sub(1);
            *left > 0
        });
        self.recent
            .extend(alerts.iter().filter_map(|a| a.bbox).map(|b| (b, self.fps)));
        for (b, _) in &self.recent {
            snapshot::draw_box(&mut img, *b, snapshot::ALERT_RED, 3);
        }
        self.writer
            .push(img.into_raw())
            .map_err(|e| ReplayError::DebugVideo(e.to_string()))
    }

    fn finish(self) -> Result<(), ReplayError> {
        self.writer
            .finish()
            .map(|_| ())
            .map_err(|e| ReplayError::DebugVideo(e.to_string()))
    }
}

fn emit(mut alert: Alert, options: &ReplayOptions, out: &mut dyn Write) -> Result<(), ReplayError> {
    if let (Some(dir), Some(snap)) = (&options.snapshots, alert.snapshot.take()) {
        let path = dir.join(format!("{}.jpg", alert.id));
        std::fs::write(&path, &snap.data).map_err(|source| ReplayError::Write { path, source })?;
    }
    let line = serde_json::to_string(&alert).map_err(|e| ReplayError::Stdout(e.into()))?;
    writeln!(out, "{line}").map_err(ReplayError::Stdout)
}
