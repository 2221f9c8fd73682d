//! [`FileReader`]: every frame of a recorded clip, for `estatewatch replay`
//! and tests.
//!
//! Unlike a live camera there is no latest-frame-wins and no pacing: the
//! appsink does not sync to the clock and applies backpressure, so the file is
//! decoded as fast as the consumer takes frames and none is dropped (other
//! than by the rate limiter when the file's rate is above the requested fps).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use super::pipeline::{self, SinkMode, MSG_MISSING_ELEMENT, MSG_NO_VIDEO};
use super::{Frame, IngestError};

/// How long opening may take before the file counts as unreadable.
const OPEN_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a single frame may take before decoding counts as hung.
const FRAME_TIMEOUT: Duration = Duration::from_secs(30);

/// Decodes a file to frames at the detect size and at most `fps` frames per
/// second of file time. `Frame::pts` is the position in the file.
pub struct FileReader {
    pipeline: gst::Pipeline,
    sink: gst_app::AppSink,
    bus: gst::Bus,
    camera: Arc<str>,
    path: PathBuf,
    seq: u64,
    done: bool,
}

impl FileReader {
    /// Opens `path` and waits until its first frame is decoded (or fails).
    pub fn open(
        path: &Path,
        camera: &str,
        width: u32,
        height: u32,
        fps: u32,
    ) -> Result<FileReader, IngestError> {
        super::error::init()?;
        let file_err = |detail: String| IngestError::File {
            path: path.to_path_buf(),
            detail,
        };
        if !path.is_file() {
            return Err(file_err("no such file".into()));
        }
        if width == 0 || height == 0 || fps == 0 {
            return Err(file_err(format!(
                "detect size and fps must be positive, got {width}x{height} at {fps} fps"
            )));
        }
        let (pipeline, sink) =
            pipeline::build_file(path, width, height, fps, SinkMode::Every, &Arc::default())?;
        let bus = pipeline
            .bus()
            .ok_or_else(|| IngestError::Pipeline("pipeline has no bus".into()))?;
        let reader = FileReader {
            pipeline,
            sink,
            bus,
            camera: Arc::from(camera),
            path: path.to_path_buf(),
            seq: 0,
            done: false,
        };
        // Errors from here on are on the bus; a failed state change only says "failed".
        let _ = reader.pipeline.set_state(gst::State::Playing);
        let deadline = Instant::now() + OPEN_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(file_err(format!(
                    "no frame decoded within {} s",
                    OPEN_TIMEOUT.as_secs()
                )));
            }
            let Some(msg) = reader
                .bus
                .timed_pop(gst::ClockTime::from_mseconds(left.as_millis() as u64))
            else {
                continue;
            };
            if let Some(e) = reader.message_error(&msg) {
                return Err(e);
            }
            match msg.view() {
                gst::MessageView::AsyncDone(_) | gst::MessageView::Eos(_) => return Ok(reader),
                _ => {}
            }
        }
    }

    /// The error a bus message stands for, if it stands for one.
    fn message_error(&self, msg: &gst::Message) -> Option<IngestError> {
        let file_err = |detail: String| IngestError::File {
            path: self.path.clone(),
            detail,
        };
        match msg.view() {
            gst::MessageView::Error(e) => Some(file_err(e.error().message().to_string())),
            gst::MessageView::Application(app) => {
                let s = app.structure()?;
                match s.name().as_str() {
                    MSG_NO_VIDEO => Some(file_err("has no video stream".into())),
                    MSG_MISSING_ELEMENT => Some(file_err(format!(
                        "cannot decode: element {} is missing",
                        s.get::<String>("element").unwrap_or_default()
                    ))),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Frames delivered so far.
    pub fn frames_read(&self) -> u64 {
        self.seq
    }
}

impl Iterator for FileReader {
    type Item = Result<Frame, IngestError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let started = Instant::now();
        loop {
            if let Some(sample) = self
                .sink
                .try_pull_sample(gst::ClockTime::from_mseconds(100))
            {
                let frame = pipeline::sample_to_frame(&sample, &self.camera, self.seq);
                self.seq += 1;
                if frame.is_err() {
                    self.done = true;
                }
                return Some(frame);
            }
            if self.sink.is_eos() {
                self.done = true;
                return None;
            }
            while let Some(msg) = self.bus.pop() {
                if let Some(e) = self.message_error(&msg) {
                    self.done = true;
                    return Some(Err(e));
                }
            }
            if started.elapsed() > FRAME_TIMEOUT {
                self.done = true;
                return Some(Err(IngestError::File {
                    path: self.path.clone(),
                    detail: format!("decoding hung: no frame for {} s", FRAME_TIMEOUT.as_secs()),
                }));
            }
        }
    }
}

impl Drop for FileReader {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}
