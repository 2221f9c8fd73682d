//! H.264 MP4 reading through GStreamer, and the writer the clips are made
//! with (from the daemon's [`estatewatch::ingest::mp4`]).
//!
//! Frame `n` of a written clip is at media time `n * 1000 / fps` ms in every
//! reader. Reading (for tests and probes): `filesrc ! decodebin ! videoconvert
//! ! RGB ! appsink`.

use super::SceneError;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use std::path::Path;

pub use estatewatch::ingest::mp4::{EncodeSettings, Mp4Writer};

fn gst_err(path: &Path, e: impl std::fmt::Display) -> SceneError {
    SceneError::Encode {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// A decoded frame: its presentation time and RGB pixels.
#[derive(Debug, Clone)]
pub struct DecodedFrame {
    pub pts_ms: u64,
    pub width: u32,
    pub height: u32,
    /// Frame rate from the stream's caps; 0 when unknown.
    pub fps: f64,
    pub rgb: Vec<u8>,
}

/// Decodes a whole video file to RGB frames, calling `each` per frame (so
/// long clips need not be held in memory). Returns the frame count.
pub fn decode_file(path: &Path, mut each: impl FnMut(DecodedFrame)) -> Result<u64, SceneError> {
    gst::init().map_err(|e| gst_err(path, e))?;
    if !path.is_file() {
        return Err(gst_err(path, "no such file"));
    }
    let location = path.to_string_lossy().replace('"', "\\\"");
    let desc = format!(
        "filesrc location=\"{location}\" ! decodebin ! videoconvert ! video/x-raw,format=RGB ! appsink name=sink sync=false"
    );
    let pipeline = gst::parse::launch(&desc)
        .map_err(|e| gst_err(path, e))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| gst_err(path, "not a pipeline"))?;
    let sink = pipeline
        .by_name("sink")
        .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
        .ok_or_else(|| gst_err(path, "no appsink"))?;
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|e| gst_err(path, format!("cannot start the decoder: {e}")))?;
    let mut n = 0;
    let result = loop {
        match sink.try_pull_sample(gst::ClockTime::from_seconds(30)) {
            Some(sample) => {
                let (Some(buf), Some(caps)) = (sample.buffer(), sample.caps()) else {
                    continue;
                };
                let s = caps.structure(0);
                let width = s.and_then(|s| s.get::<i32>("width").ok()).unwrap_or(0) as u32;
                let height = s.and_then(|s| s.get::<i32>("height").ok()).unwrap_or(0) as u32;
                let fps = s
                    .and_then(|s| s.get::<gst::Fraction>("framerate").ok())
                    .filter(|f| f.denom() > 0)
                    .map(|f| f.numer() as f64 / f.denom() as f64)
                    .unwrap_or(0.0);
                let pts_ms = buf.pts().map(|p| p.mseconds()).unwrap_or(0);
                let Ok(map) = buf.map_readable() else {
                    continue;
                };
                // Rows may be padded to 4 bytes; keep only the pixels.
                let row = (width * 3) as usize;
                let stride = if height > 0 {
                    map.len() / height as usize
                } else {
                    row
                };
                let mut rgb = Vec::with_capacity(row * height as usize);
                for y in 0..height as usize {
                    rgb.extend_from_slice(&map[y * stride..y * stride + row]);
                }
                each(DecodedFrame {
                    pts_ms,
                    width,
                    height,
                    fps,
                    rgb,
                });
                n += 1;
            }
            None => {
                if sink.is_eos() {
                    break Ok(n);
                }
                // Not EOS: an error on the bus, or a stall.
                break match pipeline
                    .bus()
                    .and_then(|b| b.pop_filtered(&[gst::MessageType::Error]))
                {
                    Some(m) => match m.view() {
                        gst::MessageView::Error(e) => Err(gst_err(path, e.error())),
                        _ => Err(gst_err(path, "decoder error")),
                    },
                    None => Err(gst_err(path, "decoder stalled for 30 s")),
                };
            }
        }
    };
    let _ = pipeline.set_state(gst::State::Null);
    result
}
