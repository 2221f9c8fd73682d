//! [`IngestError`]: everything that can go wrong between a camera (or a file)
//! and a [`Frame`](super::Frame).
//!
//! Messages are written for the installer reading the log: they name the
//! camera URL (always redacted, never with credentials), the file or codec,
//! and what was expected instead.

use std::path::PathBuf;

/// Why a camera session, a file read or the test RTSP server failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum IngestError {
    /// `gst::init()` failed: GStreamer libraries are missing or broken.
    #[error(
        "GStreamer could not be initialised: {0} (is libgstreamer1.0 installed? run `make setup`)"
    )]
    Init(String),

    /// The camera's `url` (or its password source) is not usable.
    #[error("camera source is not usable: {0}")]
    Source(String),

    /// A GStreamer element the pipeline needs is not installed.
    #[error("GStreamer element `{element}` is missing: install the {package} package (`make setup` does)")]
    MissingElement {
        element: &'static str,
        package: &'static str,
    },

    /// Building or starting the pipeline failed for another reason.
    #[error("could not build the pipeline: {0}")]
    Pipeline(String),

    /// The camera sends video in a codec this project does not decode.
    #[error(
        "unsupported codec {codec}: expected H.264 or H.265 (set the camera's stream to H.264)"
    )]
    UnsupportedCodec { codec: String },

    /// The camera announced no video stream at all.
    #[error("no video stream in {url}")]
    NoVideo { url: String },

    /// The camera asked for credentials and rejected the ones given.
    #[error("401 unauthorized: {url} rejected the credentials (check the user and password_file/password_env)")]
    Unauthorized { url: String },

    /// The server answered but has no stream at this path.
    #[error("not found (404): {url} has no such stream (check the URL path)")]
    NotFound { url: String },

    /// No RTSP conversation was possible (refused, unreachable, timed out).
    #[error("cannot connect to {url}: {detail}")]
    Connect { url: String, detail: String },

    /// Frames stopped arriving (or never started) while the connection stayed up.
    #[error("stalled: no frame for {secs} s {context}")]
    Stalled { secs: u64, context: &'static str },

    /// The server ended the stream.
    #[error("stream ended (EOS) from {url}")]
    Eos { url: String },

    /// Any other error GStreamer reported while streaming.
    #[error("stream error from {url}: {detail}")]
    Stream { url: String, detail: String },

    /// A file could not be opened or decoded.
    #[error("cannot read video file {}: {detail}", path.display())]
    File { path: PathBuf, detail: String },

    /// The in-process RTSP server could not start.
    #[error("RTSP server: {0}")]
    Server(String),
}

impl IngestError {
    /// Short machine-friendly kind, used in logs and tests.
    pub fn kind(&self) -> &'static str {
        match self {
            IngestError::Init(_) => "init",
            IngestError::Source(_) => "source",
            IngestError::MissingElement { .. } => "missing_element",
            IngestError::Pipeline(_) => "pipeline",
            IngestError::UnsupportedCodec { .. } => "unsupported_codec",
            IngestError::NoVideo { .. } => "no_video",
            IngestError::Unauthorized { .. } => "unauthorized",
            IngestError::NotFound { .. } => "not_found",
            IngestError::Connect { .. } => "connect",
            IngestError::Stalled { .. } => "stalled",
            IngestError::Eos { .. } => "eos",
            IngestError::Stream { .. } => "stream",
            IngestError::File { .. } => "file",
            IngestError::Server(_) => "server",
        }
    }
}

/// Initialises GStreamer once; cheap to call again.
pub(crate) fn init() -> Result<(), IngestError> {
    gstreamer::init().map_err(|e| IngestError::Init(e.to_string()))
}
