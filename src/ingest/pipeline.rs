//! GStreamer pipeline construction shared by live cameras ([`super::supervisor`])
//! and file reading ([`super::file`]).
//!
//! Every pipeline ends in the same tail, in the order that is cheapest
//! (decode first, drop frames above the detect rate, then scale the small
//! frame, then convert colour):
//!
//! ```text
//! … decoder ! [RateLimiter probe] videoscale ! videoconvert
//!           ! capsfilter video/x-raw,format=RGB,width=W,height=H ! appsink
//! ```
//!
//! The [`RateLimiter`] (a buffer probe on `videoscale`'s sink pad) only ever
//! drops frames, and it tolerates timestamp jitter: a camera sending F frames
//! per second or fewer is passed through whole, whether its timestamps are
//! exact (a file) or jittered by the RTP jitter buffer (a live camera). It
//! replaces `videorate drop-only=true max-rate=F`, which drops any frame
//! that arrives even a microsecond before its output slot, so at equal rates
//! the live path lost frames that file replay kept.
//!
//! The heads differ:
//! - RTSP: `rtspsrc` (credentials passed as properties, never in `location`);
//!   when its video pad appears the RTP caps' `encoding-name` picks
//!   `rtph264depay ! h264parse ! avdec_h264` or the H.265 equivalent. Any other
//!   codec posts an [`MSG_UNSUPPORTED_CODEC`] application message.
//! - File: `filesrc ! decodebin` (anything decodebin can read).
//!
//! Pipelines report to their owner through the bus only: GStreamer errors, EOS
//! and the application messages named `MSG_*` below.
//!
//! The rooms: this file holds what every pipeline shares (elements and the
//! packages that ship them, the tail, frames out of samples, messages) and
//! the file head; `pipeline/rate.rs` the [`RateLimiter`], `pipeline/rtsp.rs`
//! the RTSP head and its error messages.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;
use gstreamer_video::prelude::*;

use super::{Frame, IngestError};

mod rate;
mod rtsp;

use rate::RateLimiter;
pub(crate) use rtsp::{build_rtsp, classify_rtsp_error, RtspOutput, RtspTarget};

/// Posted by the appsink callback on the first frame of a session.
pub(crate) const MSG_FIRST_FRAME: &str = "estatewatch-first-frame";
/// Posted when the camera's video codec is not H.264/H.265 (field `codec`).
pub(crate) const MSG_UNSUPPORTED_CODEC: &str = "estatewatch-unsupported-codec";
/// Posted when an element needed for the stream is not installed (field `element`).
pub(crate) const MSG_MISSING_ELEMENT: &str = "estatewatch-missing-element";
/// Posted when a source turned out to have no video stream.
pub(crate) const MSG_NO_VIDEO: &str = "estatewatch-no-video";

/// How the appsink hands frames over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SinkMode {
    /// Live camera: newest frame only, never wait for the clock.
    Live,
    /// A file played as a camera: newest frame only, paced to real time.
    Paced,
    /// Replay: every frame, as fast as possible, with backpressure.
    Every,
}

/// The Debian package that ships a GStreamer element, for error messages.
fn package_of(element: &str) -> &'static str {
    match element {
        "rtspsrc" | "rtph264depay" | "rtph265depay" | "qtdemux" | "mp4mux" | "rtpjpegpay" => {
            "gstreamer1.0-plugins-good"
        }
        "h264parse" | "h265parse" | "x265enc" => "gstreamer1.0-plugins-bad",
        "avdec_h264" | "avdec_h265" => "gstreamer1.0-libav",
        "x264enc" => "gstreamer1.0-plugins-ugly",
        "filesrc" | "fakesink" | "capsfilter" | "valve" => "libgstreamer1.0-0",
        _ => "gstreamer1.0-plugins-base",
    }
}

/// Creates an element, or says which package provides it.
pub(crate) fn make(element: &'static str) -> Result<gst::Element, IngestError> {
    gst::ElementFactory::make(element)
        .build()
        .map_err(|_| IngestError::MissingElement {
            element,
            package: package_of(element),
        })
}

/// Checks up front that elements exist, so a broken install fails at start-up
/// rather than on every reconnect.
pub(crate) fn require(elements: &[&'static str]) -> Result<(), IngestError> {
    for e in elements {
        if gst::ElementFactory::find(e).is_none() {
            return Err(IngestError::MissingElement {
                element: e,
                package: package_of(e),
            });
        }
    }
    Ok(())
}

/// Elements of the common tail.
pub(crate) const TAIL_ELEMENTS: [&str; 4] = ["videoscale", "videoconvert", "capsfilter", "appsink"];

/// The tail of every pipeline: its first element (link decoded video here)
/// and the appsink at the end.
pub(crate) struct Tail {
    pub first: gst::Element,
    pub sink: gst_app::AppSink,
}

/// Adds `videoscale ! videoconvert ! capsfilter ! appsink` to `pipeline`,
/// with a [`RateLimiter`] at `fps` on the way in that counts each frame it
/// drops in `dropped`.
pub(crate) fn add_tail(
    pipeline: &gst::Pipeline,
    width: u32,
    height: u32,
    fps: u32,
    mode: SinkMode,
    dropped: &Arc<AtomicU64>,
) -> Result<Tail, IngestError> {
    let scale = make("videoscale")?;
    let convert = make("videoconvert")?;
    let filter = make("capsfilter")?;
    let caps = gst_video::VideoCapsBuilder::new()
        .format(gst_video::VideoFormat::Rgb)
        .width(i32::try_from(width).unwrap_or(i32::MAX))
        .height(i32::try_from(height).unwrap_or(i32::MAX))
        .build();
    filter.set_property("caps", &caps);
    let (max_buffers, drop, sync) = match mode {
        SinkMode::Live => (1, true, false),
        SinkMode::Paced => (1, true, true),
        SinkMode::Every => (2, false, false),
    };
    let sink = gst_app::AppSink::builder()
        .max_buffers(max_buffers)
        .drop(drop)
        .sync(sync)
        .enable_last_sample(false)
        .build();
    let sink_el: &gst::Element = sink.upcast_ref();
    pipeline
        .add_many([&scale, &convert, &filter, sink_el])
        .map_err(|e| IngestError::Pipeline(e.to_string()))?;
    gst::Element::link_many([&scale, &convert, &filter, sink_el])
        .map_err(|e| IngestError::Pipeline(format!("cannot link the scaling tail: {e}")))?;
    let pad = scale
        .static_pad("sink")
        .ok_or_else(|| IngestError::Pipeline("videoscale without a sink pad".into()))?;
    let limiter = std::sync::Mutex::new(RateLimiter::new(fps));
    let dropped = dropped.clone();
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        let pts = info.buffer().and_then(|b| b.pts()).map(|t| t.nseconds());
        // A poisoned lock only means an earlier probe call panicked; the
        // limiter's state is still a valid pair of numbers.
        let keep = crate::base::lock(&limiter).keep(pts);
        if keep {
            gst::PadProbeReturn::Ok
        } else {
            dropped.fetch_add(1, Ordering::Relaxed);
            // `Handled`, not `Drop`: the binding releases the buffer itself,
            // and GStreamer then does not release it a second time (with
            // `Drop` every dropped frame logged a GStreamer-CRITICAL).
            gst::PadProbeReturn::Handled
        }
    });
    Ok(Tail { first: scale, sink })
}

/// Copies a decoded RGB sample into a [`Frame`], dropping any row padding.
pub(crate) fn sample_to_frame(
    sample: &gst::Sample,
    camera: &Arc<str>,
    seq: u64,
) -> Result<Frame, IngestError> {
    let bad = |what: &str| IngestError::Pipeline(format!("appsink gave a sample {what}"));
    let caps = sample.caps().ok_or_else(|| bad("without caps"))?;
    let info = gst_video::VideoInfo::from_caps(caps).map_err(|_| bad("with non-video caps"))?;
    let buffer = sample.buffer().ok_or_else(|| bad("without a buffer"))?;
    let vframe = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, &info)
        .map_err(|_| bad("that cannot be mapped"))?;
    let (width, height) = (info.width(), info.height());
    let row = width as usize * 3;
    let stride =
        usize::try_from(vframe.plane_stride()[0]).map_err(|_| bad("with a negative stride"))?;
    let data = vframe
        .plane_data(0)
        .map_err(|_| bad("without pixel data"))?;
    let mut rgb = Vec::with_capacity(row * height as usize);
    if stride == row {
        rgb.extend_from_slice(
            data.get(..row * height as usize)
                .ok_or_else(|| bad("too short"))?,
        );
    } else {
        for y in 0..height as usize {
            let start = y * stride;
            rgb.extend_from_slice(
                data.get(start..start + row)
                    .ok_or_else(|| bad("too short"))?,
            );
        }
    }
    Ok(Frame {
        camera: camera.clone(),
        seq,
        pts: buffer.pts().map(|t| Duration::from_nanos(t.nseconds())),
        captured_at: SystemTime::now(),
        width,
        height,
        rgb: Arc::new(rgb),
    })
}

/// Posts an application message named `name` (with optional string field) from `element`.
pub(crate) fn post(element: &gst::Element, name: &str, field: Option<(&str, &str)>) {
    let mut s = gst::Structure::new_empty(name);
    if let Some((k, v)) = field {
        s.set(k, v);
    }
    // Posting fails only when the element has no bus (pipeline already gone).
    let _ = element.post_message(gst::message::Application::builder(s).src(element).build());
}

/// Sends a pad nobody analyses (audio, a second video stream) to a
/// `fakesink`, so it does not stall the pipeline.
fn link_to_fakesink(pipeline: &gst::Pipeline, pad: &gst::Pad) -> Result<(), IngestError> {
    let sink = make("fakesink")?;
    sink.set_property("sync", false);
    sink.set_property("async", false);
    pipeline
        .add(&sink)
        .map_err(|e| IngestError::Pipeline(e.to_string()))?;
    sink.sync_state_with_parent()
        .map_err(|e| IngestError::Pipeline(e.to_string()))?;
    let sinkpad = sink
        .static_pad("sink")
        .ok_or_else(|| IngestError::Pipeline("fakesink without a sink pad".into()))?;
    pad.link(&sinkpad)
        .map_err(|e| IngestError::Pipeline(format!("{e:?}")))?;
    Ok(())
}

/// Builds `filesrc ! decodebin → tail`.
pub(crate) fn build_file(
    path: &Path,
    width: u32,
    height: u32,
    fps: u32,
    mode: SinkMode,
    dropped: &Arc<AtomicU64>,
) -> Result<(gst::Pipeline, gst_app::AppSink), IngestError> {
    let pipeline = gst::Pipeline::new();
    let src = make("filesrc")?;
    src.set_property("location", path);
    let decode = make("decodebin")?;
    pipeline
        .add_many([&src, &decode])
        .map_err(|e| IngestError::Pipeline(e.to_string()))?;
    src.link(&decode)
        .map_err(|e| IngestError::Pipeline(e.to_string()))?;
    let tail = add_tail(&pipeline, width, height, fps, mode, dropped)?;

    let linked = Arc::new(AtomicBool::new(false));
    let tail_first = tail.first.clone();
    let pipeline_weak = pipeline.downgrade();
    let linked_pads = linked.clone();
    decode.connect_pad_added(move |_, pad| {
        let Some(pipeline) = pipeline_weak.upgrade() else {
            return;
        };
        let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
        let is_video = caps
            .structure(0)
            .map(|s| s.name().starts_with("video/"))
            .unwrap_or(false);
        if is_video && !linked_pads.swap(true, Ordering::SeqCst) {
            if let Some(sink) = tail_first.static_pad("sink") {
                if pad.link(&sink).is_ok() {
                    return;
                }
            }
        }
        let _ = link_to_fakesink(&pipeline, pad);
    });
    decode.connect_no_more_pads(move |decode| {
        if !linked.load(Ordering::SeqCst) {
            post(decode, MSG_NO_VIDEO, None);
        }
    });
    Ok((pipeline, tail.sink))
}
