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

use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;
use gstreamer_video::prelude::*;

use super::config::{redact_params, redact_url, Transport};
use super::encoded::{EncodedTap, EncodedUnit};
use super::{Frame, IngestError};

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

/// Keeps at most `fps` frames per second of stream time, dropping the rest,
/// and never drops a frame of a stream that is not faster than `fps`, even
/// when its timestamps jitter.
///
/// Output slots are `1/fps` apart, starting at the first frame. A frame is
/// kept when it is the frame nearest the next slot, judged without waiting
/// for the following frame: its timestamp plus half the interval since the
/// previous frame (the best guess of the halfway point to the next frame;
/// at most half a slot) is past the slot. After keeping a frame the next slot is the first one
/// beyond that same point, so a gap in the stream does not cause a burst.
///
/// With exact timestamps this keeps the same frames as `videorate`
/// (e.g. 0, 120, 200, 320, 400 ms of a 25 fps stream at 10 fps, every frame
/// of a 10 fps stream at 10 fps); with jitter of up to half a frame interval
/// it still keeps every frame of a stream at or below `fps`.
#[derive(Debug, Clone)]
pub(crate) struct RateLimiter {
    period_ns: u64,
    /// Timestamp of the previous frame seen (kept or not).
    prev: Option<u64>,
    /// The next output slot.
    slot: u64,
}

impl RateLimiter {
    pub(crate) fn new(fps: u32) -> RateLimiter {
        RateLimiter {
            period_ns: 1_000_000_000 / u64::from(fps.max(1)),
            prev: None,
            slot: 0,
        }
    }

    /// Whether to keep the frame with timestamp `pts_ns` (`None`: untimed, kept).
    pub(crate) fn keep(&mut self, pts_ns: Option<u64>) -> bool {
        let Some(t) = pts_ns else { return true };
        let prev = self.prev.replace(t);
        let half_gap = match prev {
            // The first frame, or time went back (stream restarted): start over.
            None => return self.restart(t),
            Some(p) if t < p => return self.restart(t),
            // Capped at half an output period, so a frame after a gap in
            // the stream does not reach over several slots.
            Some(p) => ((t - p) / 2).min(self.period_ns / 2),
        };
        let reach = t + half_gap;
        if reach <= self.slot {
            return false;
        }
        // Next slot: the first one beyond `reach`.
        let behind = (reach - self.slot) / self.period_ns + 1;
        self.slot += behind * self.period_ns;
        true
    }

    fn restart(&mut self, t: u64) -> bool {
        self.slot = t + self.period_ns;
        true
    }
}

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

/// An RTSP URL split into what `rtspsrc` needs; credentials kept apart.
#[derive(Clone)]
pub(crate) struct RtspTarget {
    /// URL without user info, safe to hand to GStreamer (its debug logs print it).
    pub location: String,
    pub user: Option<String>,
    pub password: Option<String>,
    /// For messages: `rtsp://***@host/…` when credentials were present.
    pub redacted: String,
    /// What the server offered in the current session's SDP (set by
    /// `select-stream`): [`OFFERED_ANY`] and [`OFFERED_VIDEO`] bits, so that
    /// a stream with no video is reported as such.
    pub offered: Arc<AtomicU8>,
}

/// [`RtspTarget::offered`]: the server offered at least one stream.
pub(crate) const OFFERED_ANY: u8 = 1;
/// [`RtspTarget::offered`]: the server offered a video stream.
pub(crate) const OFFERED_VIDEO: u8 = 2;

impl RtspTarget {
    /// Splits `rtsp://user:pass@host:port/path` (user and password percent-encoded).
    pub fn parse(url: &str) -> RtspTarget {
        let redacted = redact_url(url);
        let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
            return RtspTarget {
                location: url.to_string(),
                user: None,
                password: None,
                redacted,
                offered: Arc::default(),
            };
        };
        let rest = &url[scheme_end..];
        let authority_end = rest.find('/').unwrap_or(rest.len());
        match rest[..authority_end].rfind('@') {
            None => RtspTarget {
                location: url.to_string(),
                user: None,
                password: None,
                redacted,
                offered: Arc::default(),
            },
            Some(at) => {
                let userinfo = &rest[..at];
                let (user, password) = match userinfo.split_once(':') {
                    Some((u, p)) => (percent_decode(u), Some(percent_decode(p))),
                    None => (percent_decode(userinfo), None),
                };
                RtspTarget {
                    location: format!("{}{}", &url[..scheme_end], &rest[at + 1..]),
                    user: Some(user),
                    password,
                    redacted,
                    offered: Arc::default(),
                }
            }
        }
    }

    /// Removes the password, and the values of secret URL parameters
    /// ([`redact_params`]), from a text GStreamer produced, should they appear.
    pub fn scrub(&self, text: &str) -> String {
        let text = match &self.password {
            Some(p) if !p.is_empty() => text.replace(p.as_str(), "***"),
            _ => text.to_string(),
        };
        redact_params(&text)
    }
}

fn percent_decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What an RTSP pipeline delivers at its appsink.
pub(crate) enum RtspOutput<'a> {
    /// Decoded frames at the detect size and rate (the [`add_tail`] tail);
    /// with `tap`, every encoded unit is also handed to it before decoding.
    Frames {
        width: u32,
        height: u32,
        fps: u32,
        dropped: &'a Arc<AtomicU64>,
        tap: Option<EncodedTap>,
    },
    /// Encoded access units only (`depay ! parse ! appsink`), never decoded:
    /// an evidence stream.
    Encoded,
}

/// Builds `rtspsrc → (depay ! parse ! decoder, on pad-added) → tail`, or
/// with [`RtspOutput::Encoded`] `rtspsrc → depay ! parse → appsink`.
pub(crate) fn build_rtsp(
    target: &RtspTarget,
    transport: Transport,
    timeout: Duration,
    output: RtspOutput<'_>,
) -> Result<(gst::Pipeline, gst_app::AppSink), IngestError> {
    let pipeline = gst::Pipeline::new();
    let src = make("rtspsrc")?;
    src.set_property("location", &target.location);
    if let Some(user) = &target.user {
        src.set_property("user-id", user);
    }
    if let Some(pw) = &target.password {
        src.set_property("user-pw", pw);
    }
    src.set_property_from_str(
        "protocols",
        match transport {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        },
    );
    src.set_property("latency", 200u32);
    let timeout_us = u64::try_from(timeout.as_micros()).unwrap_or(u64::MAX);
    src.set_property("tcp-timeout", timeout_us);
    src.set_property("timeout", timeout_us);
    // Only set up video streams; audio would cost bandwidth for nothing.
    let offered = target.offered.clone();
    offered.store(0, Ordering::SeqCst);
    src.connect("select-stream", false, move |args| {
        let is_video = args
            .get(2)
            .and_then(|v| v.get::<gst::Caps>().ok())
            .and_then(|caps| {
                caps.structure(0)
                    .and_then(|s| s.get::<&str>("media").ok().map(|m| m == "video"))
            })
            .unwrap_or(true);
        let bits = if is_video {
            OFFERED_ANY | OFFERED_VIDEO
        } else {
            OFFERED_ANY
        };
        offered.fetch_or(bits, Ordering::SeqCst);
        Some(is_video.to_value())
    });
    pipeline
        .add(&src)
        .map_err(|e| IngestError::Pipeline(e.to_string()))?;
    let (tail_first, sink, tap) = match output {
        RtspOutput::Frames {
            width,
            height,
            fps,
            dropped,
            tap,
        } => {
            let tail = add_tail(&pipeline, width, height, fps, SinkMode::Live, dropped)?;
            (Some(tail.first), tail.sink, tap)
        }
        RtspOutput::Encoded => {
            // Keep every unit (a clip needs them all); never wait for the clock.
            let sink = gst_app::AppSink::builder()
                .sync(false)
                .max_buffers(64)
                .drop(false)
                .enable_last_sample(false)
                .build();
            pipeline
                .add(&sink)
                .map_err(|e| IngestError::Pipeline(e.to_string()))?;
            (None, sink, None)
        }
    };
    let sink_el: gst::Element = sink.clone().upcast();

    let linked = AtomicBool::new(false);
    let pipeline_weak = pipeline.downgrade();
    src.connect_pad_added(move |src, pad| {
        let Some(pipeline) = pipeline_weak.upgrade() else {
            return;
        };
        let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
        let Some(s) = caps.structure(0) else { return };
        if s.get::<&str>("media")
            .map(|m| m != "video")
            .unwrap_or(false)
        {
            let _ = link_to_fakesink(&pipeline, pad);
            return;
        }
        if linked.swap(true, Ordering::SeqCst) {
            // A second video stream: the first one is the one we analyse.
            let _ = link_to_fakesink(&pipeline, pad);
            return;
        }
        let encoding = s
            .get::<&str>("encoding-name")
            .unwrap_or("unknown")
            .to_ascii_uppercase();
        let names: &[&'static str] = match (encoding.as_str(), tail_first.is_some()) {
            ("H264", true) => &["rtph264depay", "h264parse", "avdec_h264"],
            ("H265", true) => &["rtph265depay", "h265parse", "avdec_h265"],
            ("H264", false) => &["rtph264depay", "h264parse"],
            ("H265", false) => &["rtph265depay", "h265parse"],
            _ => {
                post(src, MSG_UNSUPPORTED_CODEC, Some(("codec", &encoding)));
                return;
            }
        };
        let mut chain = Vec::with_capacity(3);
        for &name in names {
            match make(name) {
                Ok(e) => {
                    if name.starts_with("avdec_") {
                        single_threaded(&e);
                    }
                    chain.push(e)
                }
                Err(_) => {
                    post(src, MSG_MISSING_ELEMENT, Some(("element", name)));
                    return;
                }
            }
        }
        // Parameter sets before every keyframe, so a clip may start at any of them.
        chain[1].set_property("config-interval", -1i32);
        if let Some(tap) = &tap {
            tap_encoded(&chain[1], tap.clone());
        }
        let last = &chain[chain.len() - 1];
        let ok = pipeline.add_many(&chain).is_ok()
            && gst::Element::link_many(&chain).is_ok()
            && last.link(tail_first.as_ref().unwrap_or(&sink_el)).is_ok()
            && chain.iter().all(|e| e.sync_state_with_parent().is_ok())
            && chain[0]
                .static_pad("sink")
                .map(|sink| pad.link(&sink).is_ok())
                .unwrap_or(false);
        if !ok {
            post(
                src,
                MSG_MISSING_ELEMENT,
                Some(("element", "linking the depayloader/decoder")),
            );
        }
    });
    Ok((pipeline, sink))
}

/// Hands every buffer leaving `parser` to `tap`, with the pad's caps.
fn tap_encoded(parser: &gst::Element, tap: EncodedTap) {
    let Some(pad) = parser.static_pad("src") else {
        return;
    };
    pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
        if let (Some(buffer), Some(caps)) = (info.buffer(), pad.current_caps()) {
            tap(EncodedUnit::new(buffer.clone(), caps));
        }
        gst::PadProbeReturn::Ok
    });
}

/// Decodes on the streaming thread alone (`max-threads=1`). libav's default
/// (one thread per core, frame threading) adds a thread and a decoded frame
/// in flight per extra thread (3 MB at 1080p) to every camera, for no gain on
/// a box that decodes several cameras at once (each camera already has its
/// own streaming thread). See docs/capacity.md, "Memory per camera".
fn single_threaded(decoder: &gst::Element) {
    if decoder.find_property("max-threads").is_some() {
        decoder.set_property("max-threads", 1i32);
    }
}

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

/// Turns a GStreamer error message from an RTSP pipeline into an [`IngestError`].
pub(crate) fn classify_rtsp_error(err: &gst::message::Error, target: &RtspTarget) -> IngestError {
    let e = err.error();
    let url = target.redacted.clone();
    // Streams were offered but none was video: rtspsrc then says "No
    // supported stream was found … transport protocols", which misleads.
    if target.offered.load(Ordering::SeqCst) == OFFERED_ANY {
        return IngestError::NoVideo { url };
    }
    let detail = || {
        let mut d = e.message().to_string();
        if let Some(debug) = err.debug() {
            // Keep only the human part after the source location line.
            let last = debug.lines().last().unwrap_or("").trim();
            if !last.is_empty() {
                d = format!("{d} ({last})");
            }
        }
        target.scrub(&d)
    };
    match e.kind::<gst::ResourceError>() {
        Some(gst::ResourceError::NotAuthorized) => IngestError::Unauthorized { url },
        Some(gst::ResourceError::NotFound) => IngestError::NotFound { url },
        Some(gst::ResourceError::OpenRead)
        | Some(gst::ResourceError::OpenReadWrite)
        | Some(gst::ResourceError::OpenWrite) => {
            let probe = probe_tcp(&target.location);
            IngestError::Connect {
                url,
                detail: match probe {
                    Some(p) => p,
                    None => detail(),
                },
            }
        }
        Some(gst::ResourceError::Read) | Some(gst::ResourceError::Write) => IngestError::Stream {
            url,
            detail: format!("connection lost: {}", detail()),
        },
        _ => {
            let d = detail();
            // rtspsrc reports 401/404 as generic errors in some versions.
            if d.contains("Unauthorized") || d.contains("401") {
                IngestError::Unauthorized { url }
            } else if d.contains("Not Found") || d.contains("404") {
                IngestError::NotFound { url }
            } else {
                IngestError::Stream { url, detail: d }
            }
        }
    }
}

/// rtspsrc says only "Failed to connect (Generic error)": find out why with a
/// plain TCP connection. `None` when the TCP connection itself works.
fn probe_tcp(location: &str) -> Option<String> {
    let scheme_end = location.find("://")? + 3;
    let default_port = if location.starts_with("rtsps") {
        322
    } else {
        554
    };
    let rest = &location[scheme_end..];
    let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
    let hostport = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        authority.to_string()
    } else {
        format!("{authority}:{default_port}")
    };
    let addrs = match hostport.to_socket_addrs() {
        Ok(a) => a.collect::<Vec<_>>(),
        Err(e) => return Some(format!("cannot resolve {hostport}: {e}")),
    };
    let addr = addrs.first()?;
    match TcpStream::connect_timeout(addr, Duration::from_secs(1)) {
        Ok(_) => None,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            Some(format!("connection refused: nothing listens on {hostport}"))
        }
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
            Some(format!("no answer from {hostport} (timed out)"))
        }
        Err(e) => Some(format!("cannot reach {hostport}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_split_out_and_decoded() {
        let t = RtspTarget::parse("rtsp://admin:p%40ss%3Aw@cam.local:8554/s1");
        assert_eq!(t.location, "rtsp://cam.local:8554/s1");
        assert_eq!(t.user.as_deref(), Some("admin"));
        assert_eq!(t.password.as_deref(), Some("p@ss:w"));
        assert_eq!(t.redacted, "rtsp://***@cam.local:8554/s1");
        assert_eq!(t.scrub("bad p@ss:w here"), "bad *** here");

        let t = RtspTarget::parse("rtsp://cam.local/s1");
        assert_eq!(t.location, "rtsp://cam.local/s1");
        assert!(t.user.is_none() && t.password.is_none());
    }

    #[test]
    fn percent_decode_leaves_malformed_escapes() {
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("a%zz"), "a%zz");
        assert_eq!(percent_decode("%41b"), "Ab");
    }

    /// Timestamps in ms → indices of the frames a limiter at `fps` keeps.
    fn kept(fps: u32, ms: &[u64]) -> Vec<usize> {
        let mut l = RateLimiter::new(fps);
        ms.iter()
            .enumerate()
            .filter(|(_, t)| l.keep(Some(**t * 1_000_000)))
            .map(|(i, _)| i)
            .collect()
    }

    #[test]
    fn limiter_keeps_every_frame_of_a_stream_at_the_rate_even_when_jittered() {
        let exact: Vec<u64> = (0..50).map(|i| i * 100).collect();
        assert_eq!(kept(10, &exact).len(), 50);
        // What the RTP jitter buffer gives while its skew estimate settles:
        // intervals of 95-99 ms, then ±20 ms of jitter.
        let mut t = 2062;
        let mut jittered = vec![t];
        for d in [
            99, 98, 97, 96, 95, 95, 95, 96, 97, 98, 99, 100, 120, 80, 115, 85, 100,
        ] {
            t += d;
            jittered.push(t);
        }
        assert_eq!(kept(10, &jittered).len(), jittered.len());
        // Slower than the limit: all kept; untimed frames: all kept.
        let slow: Vec<u64> = (0..20).map(|i| i * 200).collect();
        assert_eq!(kept(10, &slow).len(), 20);
        let mut l = RateLimiter::new(10);
        assert!((0..5).all(|_| l.keep(None)));
    }

    #[test]
    fn limiter_thins_a_faster_stream_like_videorate() {
        let ms: Vec<u64> = (0..50).map(|i| i * 40).collect(); // 25 fps, 2 s
        let k = kept(10, &ms);
        let times: Vec<u64> = k.iter().map(|&i| ms[i]).collect();
        assert_eq!(&times[..5], &[0, 120, 200, 320, 400]);
        assert_eq!(k.len(), 20);
        let ms: Vec<u64> = (0..90).map(|i| i * 1000 / 30).collect(); // 30 fps, 3 s
        assert_eq!(kept(10, &ms).len(), 30);
        // A gap in the stream does not make a burst afterwards.
        let ms = [0, 40, 80, 900, 940, 980, 1020, 1060, 1100];
        let times: Vec<u64> = kept(10, &ms).iter().map(|&i| ms[i]).collect();
        assert_eq!(times, vec![0, 900, 1020, 1100]);
        // Time going back (a restarted stream) starts over.
        let ms = [0, 100, 200, 50, 150];
        assert_eq!(kept(10, &ms), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn refused_connection_is_named() {
        // Port 1 on loopback is essentially never served.
        let msg = probe_tcp("rtsp://127.0.0.1:1/x").unwrap_or_default();
        assert!(msg.contains("connection refused"), "{msg}");
    }
}
