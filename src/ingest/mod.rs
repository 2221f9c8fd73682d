//! Ingest: getting frames out of cameras, reliably.
//!
//! Owns the [`Frame`] type, the latest-frame-wins [`FrameSlot`] between a
//! camera's pipeline and its analysis worker, and the [`CameraEvent`]s that
//! report a camera going offline or coming back.
//!
//! The pipeline never waits for analysis: [`FrameSlot::put`] replaces an
//! unread frame (counting it as skipped) instead of queueing it.
//!
//! Submodules:
//! - [`config`]: a camera's stream settings in the config file, and camera URLs.
//! - [`supervisor`]: one thread per camera that builds its GStreamer pipeline,
//!   watches it, and rebuilds it with backoff ([`spawn_camera`]).
//! - [`encoded`]: [`EncodedUnit`]s, the undecoded access units evidence
//!   clips are cut from, and the [`EncodedTap`] that receives them.
//! - [`file`]: [`FileReader`], every frame of a clip for `estatewatch replay`.
//! - [`rtsp_server`]: an in-process RTSP server for tests and the demo.
//! - [`synth`]: synthetic clips and live test streams.
//! - `pipeline`: the GStreamer element chains both of the first two use.

pub mod config;
pub mod encoded;
mod error;
pub mod file;
pub mod mp4;
mod pipeline;
pub mod rtsp_server;
pub mod supervisor;
pub mod synth;

pub use encoded::{EncodedTap, EncodedUnit};
pub use error::IngestError;
pub use file::FileReader;
pub use rtsp_server::RtspServer;
pub use supervisor::{
    spawn_camera, spawn_camera_tapped, spawn_encoded, CameraHandle, CameraStats,
    CameraStatsSnapshot,
};

use crate::base::{lock, wait_timeout};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, SystemTime};

/// One decoded frame, scaled to the camera's detect size, packed RGB24.
#[derive(Clone)]
pub struct Frame {
    /// Camera name from the config.
    pub camera: Arc<str>,
    /// Monotonic per-camera sequence number; keeps counting across reconnects.
    pub seq: u64,
    /// Stream timestamp (position in the stream or file), when the source gives one.
    pub pts: Option<Duration>,
    /// Wall-clock time the frame left the pipeline.
    pub captured_at: SystemTime,
    pub width: u32,
    pub height: u32,
    /// `width * height * 3` bytes, row-major RGB, no padding.
    pub rgb: Arc<Vec<u8>>,
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frame")
            .field("camera", &self.camera)
            .field("seq", &self.seq)
            .field("pts", &self.pts)
            .field("size", &(self.width, self.height))
            .finish()
    }
}

/// What [`FrameSlot::take`] found.
#[derive(Debug)]
pub enum Take {
    Frame(Frame),
    /// No frame arrived within the timeout.
    Timeout,
    /// The slot was closed (camera removed or shutdown) and is empty.
    Closed,
}

/// Counters kept by a [`FrameSlot`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SlotStats {
    /// Frames put into the slot.
    pub received: u64,
    /// Frames replaced before analysis took them.
    pub skipped: u64,
    /// Frames taken by analysis.
    pub taken: u64,
}

#[derive(Default)]
struct SlotState {
    frame: Option<Frame>,
    closed: bool,
    stats: SlotStats,
}

/// A one-frame mailbox: the producer never blocks, the consumer gets the newest frame.
#[derive(Default)]
pub struct FrameSlot {
    state: Mutex<SlotState>,
    ready: Condvar,
}

impl FrameSlot {
    pub fn new() -> Arc<FrameSlot> {
        Arc::new(FrameSlot::default())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SlotState> {
        // A panic while holding this lock cannot leave the state inconsistent
        // (every update is a single assignment), so poisoning is ignored.
        lock(&self.state)
    }

    /// Stores `frame`, replacing (and counting as skipped) any unread one.
    pub fn put(&self, frame: Frame) {
        let mut s = self.lock();
        s.stats.received += 1;
        if s.frame.replace(frame).is_some() {
            s.stats.skipped += 1;
        }
        drop(s);
        self.ready.notify_one();
    }

    /// Waits up to `timeout` for a frame.
    pub fn take(&self, timeout: Duration) -> Take {
        let deadline = std::time::Instant::now() + timeout;
        let mut s = self.lock();
        loop {
            if let Some(f) = s.frame.take() {
                s.stats.taken += 1;
                return Take::Frame(f);
            }
            if s.closed {
                return Take::Closed;
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return Take::Timeout;
            }
            s = wait_timeout(&self.ready, s, deadline - now);
        }
    }

    /// Marks the slot closed; a waiting consumer wakes and, once the slot is empty, sees [`Take::Closed`].
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }

    pub fn stats(&self) -> SlotStats {
        self.lock().stats
    }
}

/// A camera changed between online and offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraEvent {
    pub camera: String,
    pub at: SystemTime,
    pub status: CameraStatus,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CameraStatus {
    /// Frames are flowing.
    Online,
    /// The camera could not be reached, stalled, or its stream ended.
    Offline { reason: String },
    /// Sent by the daemon (not by ingest) each time it starts the camera,
    /// before any frame: the offline grace its current config gives it, and
    /// whether it has an evidence stream of its own (`[cameras.evidence]
    /// url`; without one, an outage of a former one is over).
    Configured {
        offline_grace: std::time::Duration,
        evidence_stream: bool,
    },
    /// Sent by the daemon when a reload took the camera out of the config.
    Removed,
    /// Sent by the camera's evidence recorder (not by its detect stream):
    /// its evidence stream (`[cameras.evidence] url`) delivers again.
    EvidenceOnline,
    /// Sent by the camera's evidence recorder: its evidence stream could
    /// not be reached, stalled or ended.
    EvidenceOffline { reason: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(seq: u64) -> Frame {
        Frame {
            camera: "c".into(),
            seq,
            pts: None,
            captured_at: SystemTime::now(),
            width: 2,
            height: 2,
            rgb: Arc::new(vec![0; 12]),
        }
    }

    #[test]
    fn latest_frame_wins_and_skips_are_counted() {
        let slot = FrameSlot::new();
        slot.put(frame(1));
        slot.put(frame(2));
        slot.put(frame(3));
        match slot.take(Duration::from_millis(1)) {
            Take::Frame(f) => assert_eq!(f.seq, 3),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            slot.stats(),
            SlotStats {
                received: 3,
                skipped: 2,
                taken: 1
            }
        );
        assert!(matches!(slot.take(Duration::from_millis(5)), Take::Timeout));
        slot.close();
        assert!(matches!(slot.take(Duration::from_secs(5)), Take::Closed));
    }

    #[test]
    fn take_wakes_when_a_frame_arrives() {
        let slot = FrameSlot::new();
        let s2 = slot.clone();
        let t = std::thread::spawn(move || s2.take(Duration::from_secs(10)));
        std::thread::sleep(Duration::from_millis(20));
        slot.put(frame(7));
        match t.join().unwrap() {
            Take::Frame(f) => assert_eq!(f.seq, 7),
            other => panic!("{other:?}"),
        }
    }
}
