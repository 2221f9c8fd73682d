//! H.264 MP4 writing and reading through GStreamer.
//!
//! Writing: `appsrc ! videoconvert ! video/x-raw,format=I420 ! x264enc !
//! h264parse ! mp4mux ! filesink`, frames pushed with exact presentation times
//! (`n * 1e9 / fps` ns), so frame `n` of a clip is at media time
//! `n * 1000 / fps` ms in every reader. Reading (for tests and probes):
//! `filesrc ! decodebin ! videoconvert ! RGB ! appsink`.

use super::SceneError;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use std::path::{Path, PathBuf};

/// Encoder settings for one clip.
#[derive(Debug, Clone, Copy)]
pub struct EncodeSettings {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub bitrate_kbps: u32,
    /// x264 threads; 1 when several clips are encoded at once.
    pub threads: u32,
}

/// An MP4 file being written frame by frame.
pub struct Mp4Writer {
    path: PathBuf,
    pipeline: gst::Pipeline,
    src: gst_app::AppSrc,
    settings: EncodeSettings,
    frames: u64,
}

fn gst_err(path: &Path, e: impl std::fmt::Display) -> SceneError {
    SceneError::Encode {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

impl Mp4Writer {
    /// Starts writing `path` (overwritten).
    pub fn create(path: &Path, settings: EncodeSettings) -> Result<Mp4Writer, SceneError> {
        gst::init().map_err(|e| gst_err(path, e))?;
        let make = |name: &str| {
            gst::ElementFactory::make(name)
                .build()
                .map_err(|_| gst_err(path, format!("GStreamer element `{name}` is missing (install gstreamer1.0-plugins-base/good/bad/ugly)")))
        };
        let caps = gst::Caps::builder("video/x-raw")
            .field("format", "RGB")
            .field("width", settings.width as i32)
            .field("height", settings.height as i32)
            .field("framerate", gst::Fraction::new(settings.fps as i32, 1))
            .build();
        let src = gst_app::AppSrc::builder()
            .caps(&caps)
            .format(gst::Format::Time)
            .block(true)
            .max_bytes(u64::from(settings.width * settings.height * 3) * 4)
            .build();
        let convert = make("videoconvert")?;
        let i420 = gst::ElementFactory::make("capsfilter")
            .property(
                "caps",
                gst::Caps::builder("video/x-raw")
                    .field("format", "I420")
                    .build(),
            )
            .build()
            .map_err(|e| gst_err(path, e))?;
        let enc = make("x264enc")?;
        enc.set_property("bitrate", settings.bitrate_kbps.max(50));
        enc.set_property_from_str("speed-preset", "ultrafast");
        enc.set_property("key-int-max", (settings.fps * 2).max(1));
        enc.set_property("threads", settings.threads.max(1));
        enc.set_property("bframes", 0u32);
        enc.set_property("trellis", false);
        let parse = make("h264parse")?;
        let mux = make("mp4mux")?;
        let sink = make("filesink")?;
        sink.set_property("location", path.to_string_lossy().to_string());
        let pipeline = gst::Pipeline::new();
        pipeline
            .add_many([src.upcast_ref(), &convert, &i420, &enc, &parse, &mux, &sink])
            .map_err(|e| gst_err(path, e))?;
        gst::Element::link_many([src.upcast_ref(), &convert, &i420, &enc, &parse, &mux, &sink])
            .map_err(|e| gst_err(path, e))?;
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| gst_err(path, format!("cannot start the encoder: {e}")))?;
        Ok(Mp4Writer {
            path: path.to_path_buf(),
            pipeline,
            src,
            settings,
            frames: 0,
        })
    }

    /// Appends one RGB frame (`width * height * 3` bytes).
    pub fn push(&mut self, rgb: Vec<u8>) -> Result<(), SceneError> {
        let expected = (self.settings.width * self.settings.height * 3) as usize;
        if rgb.len() != expected {
            return Err(gst_err(
                &self.path,
                format!("frame has {} bytes, expected {expected}", rgb.len()),
            ));
        }
        let fps = u64::from(self.settings.fps);
        let pts = self.frames * 1_000_000_000 / fps;
        let next = (self.frames + 1) * 1_000_000_000 / fps;
        let mut buf = gst::Buffer::from_mut_slice(rgb);
        if let Some(b) = buf.get_mut() {
            b.set_pts(gst::ClockTime::from_nseconds(pts));
            b.set_duration(gst::ClockTime::from_nseconds(next - pts));
        }
        self.src
            .push_buffer(buf)
            .map_err(|e| gst_err(&self.path, format!("encoder refused a frame: {e:?}")))?;
        self.frames += 1;
        Ok(())
    }

    /// Ends the stream and waits for the file to be complete.
    pub fn finish(self) -> Result<u64, SceneError> {
        let _ = self.src.end_of_stream();
        let result = wait_eos(&self.pipeline, &self.path);
        let _ = self.pipeline.set_state(gst::State::Null);
        result.map(|_| self.frames)
    }
}

fn wait_eos(pipeline: &gst::Pipeline, path: &Path) -> Result<(), SceneError> {
    let bus = pipeline
        .bus()
        .ok_or_else(|| gst_err(path, "pipeline has no bus"))?;
    let msg = bus.timed_pop_filtered(
        gst::ClockTime::from_seconds(300),
        &[gst::MessageType::Eos, gst::MessageType::Error],
    );
    match msg.as_ref().map(|m| m.view()) {
        Some(gst::MessageView::Eos(_)) => Ok(()),
        Some(gst::MessageView::Error(e)) => Err(gst_err(
            path,
            format!("{} ({:?})", e.error(), e.debug().unwrap_or_default()),
        )),
        _ => Err(gst_err(path, "timed out waiting for the end of the stream")),
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
