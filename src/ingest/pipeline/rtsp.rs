//! The RTSP head of a camera pipeline: the camera URL split into what
//! `rtspsrc` needs (credentials kept apart and scrubbed from messages),
//! `rtspsrc` with its depayloader, parser and decoder picked from the RTP
//! caps when the video pad appears (or no decoder, for an evidence stream),
//! and GStreamer's errors turned into [`IngestError`]s that say what is
//! wrong (refused, unauthorised, not found, no video).

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use super::{add_tail, link_to_fakesink, make, post, SinkMode};
use super::{MSG_MISSING_ELEMENT, MSG_UNSUPPORTED_CODEC};
use crate::base::{redact, UrlPaths, MASK};
use crate::ingest::config::Transport;
use crate::ingest::encoded::{EncodedTap, EncodedUnit};
use crate::ingest::IngestError;

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
        let redacted = redact(url, UrlPaths::Keep);
        let without_credentials = |redacted| RtspTarget {
            location: url.to_string(),
            user: None,
            password: None,
            redacted,
            offered: Arc::default(),
        };
        let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
            return without_credentials(redacted);
        };
        let rest = &url[scheme_end..];
        let authority_end = rest.find('/').unwrap_or(rest.len());
        match rest[..authority_end].rfind('@') {
            None => without_credentials(redacted),
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

    /// Removes the password, and user information and secret parameters
    /// ([`redact`]), from a text GStreamer produced, should they appear.
    pub fn scrub(&self, text: &str) -> String {
        let text = match &self.password {
            Some(p) if !p.is_empty() => text.replace(p.as_str(), MASK),
            _ => text.to_string(),
        };
        redact(&text, UrlPaths::Keep)
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

    #[test]
    fn refused_connection_is_named() {
        // Port 1 on loopback is essentially never served.
        let msg = probe_tcp("rtsp://127.0.0.1:1/x").unwrap_or_default();
        assert!(msg.contains("connection refused"), "{msg}");
    }
}
