//! Synthetic video for tests, benchmarks and the demo: encoded clips written
//! to disk, and `gst-launch` descriptions of live encoded streams for the
//! [`RtspServer`](super::rtsp_server::RtspServer).

use std::path::Path;
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;

use super::IngestError;

/// Video codec of a synthetic clip or stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    H264,
    H265,
}

/// What [`write_clip`] produces.
#[derive(Debug, Clone)]
pub struct ClipSpec {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// Number of frames (the clip lasts `frames / fps` seconds).
    pub frames: u32,
    pub codec: Codec,
    /// `videotestsrc` pattern, e.g. `ball` (cheap) or `smpte`.
    pub pattern: &'static str,
    /// Pixels per frame the pattern scrolls sideways (motion over the whole frame).
    pub horizontal_speed: i32,
}

impl Default for ClipSpec {
    fn default() -> Self {
        ClipSpec {
            width: 320,
            height: 240,
            fps: 10,
            frames: 20,
            codec: Codec::H264,
            pattern: "ball",
            horizontal_speed: 0,
        }
    }
}

fn encoder(codec: Codec, fps: u32) -> String {
    // Camera-like: no B-frames, a key frame every second.
    match codec {
        Codec::H264 => {
            format!("x264enc speed-preset=veryfast bframes=0 key-int-max={fps} ! h264parse")
        }
        Codec::H265 => format!(
            "x265enc speed-preset=ultrafast key-int-max={fps} option-string=bframes=0 ! h265parse"
        ),
    }
}

/// Encodes a synthetic clip into an MP4 file at `path` and waits until it is written.
pub fn write_clip(path: &Path, spec: &ClipSpec) -> Result<(), IngestError> {
    super::error::init()?;
    let launch = format!(
        "videotestsrc num-buffers={frames} pattern={pattern} horizontal-speed={speed} \
         ! video/x-raw,width={w},height={h},framerate={fps}/1 \
         ! {enc} ! mp4mux ! filesink name=out",
        frames = spec.frames,
        pattern = spec.pattern,
        speed = spec.horizontal_speed,
        w = spec.width,
        h = spec.height,
        fps = spec.fps,
        enc = encoder(spec.codec, spec.fps),
    );
    let err = |detail: String| IngestError::File {
        path: path.to_path_buf(),
        detail,
    };
    let pipeline = gst::parse::launch(&launch)
        .map_err(|e| err(format!("cannot build the encoder pipeline: {e}")))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| err("encoder description is not a pipeline".into()))?;
    let out = pipeline
        .by_name("out")
        .ok_or_else(|| err("encoder pipeline has no filesink".into()))?;
    out.set_property("location", path);
    let bus = pipeline
        .bus()
        .ok_or_else(|| err("pipeline has no bus".into()))?;
    let result = (|| {
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| err(format!("cannot start encoding: {e}")))?;
        let timeout = Duration::from_secs(300);
        match bus.timed_pop_filtered(
            gst::ClockTime::from_seconds(timeout.as_secs()),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        ) {
            Some(msg) => match msg.view() {
                gst::MessageView::Error(e) => Err(err(format!("encoding failed: {}", e.error()))),
                _ => Ok(()),
            },
            None => Err(err("encoding took longer than 5 minutes".into())),
        }
    })();
    let _ = pipeline.set_state(gst::State::Null);
    result
}

/// A live test stream for [`RtspServer::add_launch`](super::rtsp_server::RtspServer::add_launch):
/// `videotestsrc` at `width`×`height`, `fps`, encoded with low latency and a
/// key frame every second, payloaded as `pay0`.
pub fn live_launch(codec: Codec, width: u32, height: u32, fps: u32) -> String {
    live_launch_with(codec, width, height, fps, "")
}

/// Like [`live_launch`], with `extra` (e.g. `"valve name=gate ! "`) inserted
/// between the raw video and the encoder.
pub fn live_launch_with(codec: Codec, width: u32, height: u32, fps: u32, extra: &str) -> String {
    let enc = match codec {
        Codec::H264 => format!(
            "x264enc tune=zerolatency speed-preset=ultrafast key-int-max={fps} ! rtph264pay name=pay0 pt=96 config-interval=-1"
        ),
        Codec::H265 => format!(
            "x265enc tune=zerolatency speed-preset=ultrafast key-int-max={fps} ! rtph265pay name=pay0 pt=96 config-interval=-1"
        ),
    };
    format!(
        "( videotestsrc is-live=true pattern=smpte horizontal-speed=2 \
         ! video/x-raw,width={width},height={height},framerate={fps}/1 ! {extra}{enc} )"
    )
}
