//! Encoded access units taken from a camera's stream before any decoding,
//! for evidence clips: [`EncodedUnit`] and the [`EncodedTap`] callback that
//! receives them.
//!
//! Two places produce them:
//! - an evidence stream ([`spawn_encoded`](super::supervisor::spawn_encoded)):
//!   `rtspsrc ! depay ! parse ! appsink`, never decoded;
//! - the detect stream, when a camera has no evidence stream of its own: a
//!   buffer probe on the parser's output, in front of the decoder, so the
//!   units are the camera's own (no re-encode).
//!
//! The parser runs with `config-interval=-1`, so every keyframe carries its
//! parameter sets (SPS/PPS, VPS for H.265) and a clip may start at any
//! keyframe.

use gstreamer as gst;
use std::sync::Arc;
use std::time::SystemTime;

/// One access unit (a whole frame's compressed data) as the parser output it.
#[derive(Debug, Clone)]
pub struct EncodedUnit {
    /// The buffer, with the stream's own timestamps.
    pub buffer: gst::Buffer,
    /// Its caps (`video/x-h264` or `video/x-h265`, with width and height).
    pub caps: gst::Caps,
    /// Wall-clock time it arrived at the parser's output: the clock both of
    /// a camera's streams are mapped to (see `docs/evidence.md`).
    pub arrived: SystemTime,
    /// True for a keyframe (a clip or a decode may start here).
    pub keyframe: bool,
}

impl EncodedUnit {
    /// Wraps a parser output buffer that arrived now.
    pub fn new(buffer: gst::Buffer, caps: gst::Caps) -> EncodedUnit {
        let keyframe = !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT);
        EncodedUnit {
            buffer,
            caps,
            arrived: SystemTime::now(),
            keyframe,
        }
    }

    /// `(width, height)` from the caps, when they say.
    pub fn size(&self) -> Option<(u32, u32)> {
        let s = self.caps.structure(0)?;
        let w = s.get::<i32>("width").ok()?;
        let h = s.get::<i32>("height").ok()?;
        Some((u32::try_from(w).ok()?, u32::try_from(h).ok()?))
    }
}

/// Receives every encoded unit of a stream, on a GStreamer streaming thread:
/// it must return quickly (store the unit, never wait on a disk).
pub type EncodedTap = Arc<dyn Fn(EncodedUnit) + Send + Sync>;
