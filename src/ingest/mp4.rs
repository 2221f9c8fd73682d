//! H.264 MP4 writing through GStreamer, for `estatewatch replay
//! --debug-video` and the scene generator (`crates/estatewatch-scenes`).
//!
//! The pipeline is `appsrc ! videoconvert ! video/x-raw,format=I420 ! x264enc
//! ! h264parse ! mp4mux ! filesink`, and frames are pushed with exact
//! presentation times (`n * 1e9 / fps` ns), so frame `n` of a file is at media
//! time `n * 1000 / fps` ms in every reader.

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use std::path::{Path, PathBuf};

/// Errors from writing an MP4 file.
#[derive(Debug, thiserror::Error)]
pub enum Mp4Error {
    /// GStreamer could not build, feed or finish the encoder for `path`.
    #[error("encoding {path}: {message}")]
    Encode { path: PathBuf, message: String },
}

/// Encoder settings for one clip.
#[derive(Debug, Clone, Copy)]
pub struct EncodeSettings {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub bitrate_kbps: u32,
    /// x264 threads; 1 when several clips are encoded at once. With more
    /// than one, x264's output differs from run to run (its rate control
    /// depends on which thread finishes first), so a clip that must come out
    /// the same every time (generated test clips) is encoded with 1.
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

fn gst_err(path: &Path, e: impl std::fmt::Display) -> Mp4Error {
    Mp4Error::Encode {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

impl Mp4Writer {
    /// Starts writing `path` (overwritten).
    pub fn create(path: &Path, settings: EncodeSettings) -> Result<Mp4Writer, Mp4Error> {
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
    pub fn push(&mut self, rgb: Vec<u8>) -> Result<(), Mp4Error> {
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
    pub fn finish(self) -> Result<u64, Mp4Error> {
        let _ = self.src.end_of_stream();
        let result = wait_eos(&self.pipeline, &self.path);
        let _ = self.pipeline.set_state(gst::State::Null);
        result.map(|_| self.frames)
    }
}

fn wait_eos(pipeline: &gst::Pipeline, path: &Path) -> Result<(), Mp4Error> {
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
