//! `estatewatch replay`: runs one camera's analysis over a recorded clip as
//! fast as the machine allows and prints each alert as a JSON line in the
//! MQTT schema. Nothing is published and no outbox is touched.

use crate::alert::Alert;
use crate::analysis::{self, worker::AlertBuilder, worker::AlertOrigin};
use crate::config::Config;
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
}

/// Options for [`replay`].
#[derive(Debug, Default, Clone)]
pub struct ReplayOptions {
    /// Save each alert's annotated JPEG here as `<alert id>.jpg`.
    pub snapshots: Option<PathBuf>,
    /// Show a progress line on stderr (only when stderr is a terminal).
    pub progress: bool,
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
    config: &Config,
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
            ReplayError::NoSuchCamera(
                camera.to_string(),
                config
                    .cameras
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        })?;
    let models = analysis::load_wanted_models(&config.runtime, [cam]);
    let mut analyzers = analysis::build_analyzers_with(cam, models.as_ref())?;
    let mut builder = AlertBuilder::new(AlertOrigin {
        site: config.site.id.clone(),
        gateway: config.gateway.id.clone(),
        camera: cam.name.clone(),
    });
    builder.snapshots = options.snapshots.is_some();
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
    let mut summary = ReplaySummary::default();
    for frame in reader {
        let frame = frame?;
        summary.frames += 1;
        for alert in analysis::worker::analyse(&frame, &mut analyzers, &mut builder) {
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
    Ok(summary)
}

fn emit(mut alert: Alert, options: &ReplayOptions, out: &mut dyn Write) -> Result<(), ReplayError> {
    if let (Some(dir), Some(snap)) = (&options.snapshots, alert.snapshot.take()) {
        let path = dir.join(format!("{}.jpg", alert.id));
        std::fs::write(&path, &snap.data).map_err(|source| ReplayError::Write { path, source })?;
    }
    let line = serde_json::to_string(&alert).map_err(|e| ReplayError::Stdout(e.into()))?;
    writeln!(out, "{line}").map_err(ReplayError::Stdout)
}
