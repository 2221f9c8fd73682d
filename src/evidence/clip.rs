//! Writing a clip: encoded units, as they came from the camera, muxed into
//! MP4 without re-encoding (`appsrc ! parse ! mp4mux ! filesink`), to
//! `clip.mp4.part`, renamed to `clip.mp4` only once the muxer has finished.

use super::EvidenceError;
use crate::ingest::EncodedUnit;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A clip being written. Units go in with [`ClipWriter::push`]; nothing is
/// final until [`ClipWriter::finish`] renames the file.
pub struct ClipWriter {
    part: PathBuf,
    path: PathBuf,
    pipeline: gst::Pipeline,
    src: gst_app::AppSrc,
    caps: gst::Caps,
    /// Offset added to the stream's timestamps so the clip starts at 0.
    offset: Option<i128>,
    last_out: Option<u64>,
    last_arrived: Option<SystemTime>,
    frame_ns: u64,
    pub(super) first_arrived: Option<SystemTime>,
    pub(super) size: Option<(u32, u32)>,
}

/// What [`ClipWriter::push`] did with a unit.
#[derive(Debug, PartialEq, Eq)]
pub enum Pushed {
    Taken,
    /// The stream changed format (a reconnect to another resolution or
    /// codec): the clip ends before this unit.
    FormatChanged,
}

/// A finished clip.
#[derive(Debug, Clone)]
pub struct Written {
    pub path: PathBuf,
    pub duration: Duration,
    pub width: u32,
    pub height: u32,
    pub start: SystemTime,
}

fn err(path: &Path, e: impl std::fmt::Display) -> EvidenceError {
    EvidenceError::Clip {
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}

/// `h264parse` or `h265parse` for these caps.
pub(super) fn parser_for(caps: &gst::Caps) -> Option<&'static str> {
    match caps.structure(0)?.name().as_str() {
        "video/x-h264" => Some("h264parse"),
        "video/x-h265" => Some("h265parse"),
        _ => None,
    }
}

pub(super) fn element(name: &str, path: &Path) -> Result<gst::Element, EvidenceError> {
    gst::ElementFactory::make(name).build().map_err(|_| {
        err(
            path,
            format!("GStreamer element `{name}` is missing (run `make setup`)"),
        )
    })
}

impl ClipWriter {
    /// Starts `path` (written as `path` + `.part`) for units with `caps`.
    pub fn create(path: &Path, caps: &gst::Caps) -> Result<ClipWriter, EvidenceError> {
        let part = super::part_path(path);
        let parser = parser_for(caps).ok_or_else(|| err(path, format!("cannot mux {caps}")))?;
        let pipeline = gst::Pipeline::new();
        let src = gst_app::AppSrc::builder()
            .caps(caps)
            .format(gst::Format::Time)
            .is_live(false)
            .build();
        let parse = element(parser, path)?;
        let mux = element("mp4mux", path)?;
        let sink = element("filesink", path)?;
        sink.set_property("location", &part);
        sink.set_property("sync", false);
        let chain = [src.upcast_ref::<gst::Element>(), &parse, &mux, &sink];
        pipeline.add_many(chain).map_err(|e| err(path, e))?;
        gst::Element::link_many(chain).map_err(|e| err(path, e))?;
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| err(path, format!("cannot start the muxer: {e}")))?;
        Ok(ClipWriter {
            part,
            path: path.to_path_buf(),
            pipeline,
            src,
            caps: caps.clone(),
            offset: None,
            last_out: None,
            last_arrived: None,
            frame_ns: 40_000_000,
            first_arrived: None,
            size: None,
        })
    }

    /// Adds the next unit. Timestamps are the stream's own, moved so the
    /// clip starts at 0; where they go back (the stream restarted) the clip
    /// goes on from the previous unit by the gap in arrival times.
    pub fn push(&mut self, unit: &EncodedUnit) -> Result<Pushed, EvidenceError> {
        if unit.caps != self.caps {
            let codec = |c: &gst::Caps| c.structure(0).map(|s| s.name().to_string());
            let size = super::caps_size(&self.caps);
            if codec(&unit.caps) != codec(&self.caps)
                || (size.is_some() && unit.size().is_some() && unit.size() != size)
            {
                return Ok(Pushed::FormatChanged);
            }
            // Same codec and size (new parameter sets after a reconnect).
            self.src.set_caps(Some(&unit.caps));
            self.caps = unit.caps.clone();
        }
        let ts = unit.buffer.dts_or_pts().map(|t| t.nseconds() as i128);
        let arrived_gap = match self.last_arrived {
            Some(prev) => unit
                .arrived
                .duration_since(prev)
                .map(|d| d.as_nanos() as i128)
                .unwrap_or(0),
            None => 0,
        };
        let out: u64 = match (self.offset, self.last_out, ts) {
            (None, _, Some(t)) => {
                self.offset = Some(-t);
                0
            }
            (Some(o), Some(last), Some(t)) if t + o > last as i128 => (t + o) as u64,
            (_, Some(last), t) => {
                let next = last as i128 + arrived_gap.max(1_000_000);
                if let Some(t) = t {
                    self.offset = Some(next - t);
                }
                next as u64
            }
            (_, None, None) => 0,
            (Some(_), None, Some(_)) => 0,
        };
        if let Some(last) = self.last_out {
            if out > last {
                self.frame_ns = out - last;
            }
        }
        let mut b = unit.buffer.copy();
        {
            let b = b.make_mut();
            let pts_shift = match (unit.buffer.pts(), unit.buffer.dts_or_pts()) {
                (Some(p), Some(d)) => p.nseconds() as i128 - d.nseconds() as i128,
                _ => 0,
            };
            b.set_dts(gst::ClockTime::from_nseconds(out));
            b.set_pts(gst::ClockTime::from_nseconds(
                (out as i128 + pts_shift).max(0) as u64,
            ));
        }
        self.src
            .push_buffer(b)
            .map_err(|e| err(&self.path, format!("muxer refused a frame: {e:?}")))?;
        self.last_out = Some(out);
        self.last_arrived = Some(unit.arrived);
        if self.first_arrived.is_none() {
            self.first_arrived = Some(unit.arrived);
            self.size = unit.size();
        }
        Ok(Pushed::Taken)
    }

    /// Ends the stream, waits for the muxer to write the index, syncs the
    /// file and renames it into place.
    pub fn finish(self) -> Result<Written, EvidenceError> {
        let result = self.finish_inner();
        let _ = self.pipeline.set_state(gst::State::Null);
        if result.is_err() {
            let _ = std::fs::remove_file(&self.part);
        }
        result
    }

    fn finish_inner(&self) -> Result<Written, EvidenceError> {
        let (Some(first), Some(last)) = (self.first_arrived, self.last_out) else {
            return Err(err(&self.path, "no video to write"));
        };
        let _ = self.src.end_of_stream();
        let bus = self
            .pipeline
            .bus()
            .ok_or_else(|| err(&self.path, "muxer has no bus"))?;
        match bus.timed_pop_filtered(
            gst::ClockTime::from_seconds(30),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        ) {
            Some(msg) => {
                if let gst::MessageView::Error(e) = msg.view() {
                    return Err(err(&self.path, e.error()));
                }
            }
            None => return Err(err(&self.path, "muxer did not finish within 30 s")),
        }
        self.pipeline
            .set_state(gst::State::Null)
            .map_err(|e| err(&self.path, e))?;
        super::commit(&self.part, &self.path)?;
        let (width, height) = self.size.unwrap_or((0, 0));
        Ok(Written {
            path: self.path.clone(),
            duration: Duration::from_nanos(last + self.frame_ns),
            width,
            height,
            start: first,
        })
    }
}
