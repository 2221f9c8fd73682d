//! Helpers shared by the ingest tests: camera configs from TOML snippets,
//! a camera started and online, event collection with timeouts, polling.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use estatewatch::config::Config;
use estatewatch::ingest::config::StreamConfig;
use estatewatch::ingest::{spawn_camera, CameraEvent, CameraHandle, CameraStatus, FrameSlot};
use std::sync::Arc;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// One camera's keys for the ingest tests: a small detect size, quick
/// stall and reconnect timings, and `extra` lines appended.
pub fn cam_toml(name: &str, url: &str, extra: &str) -> String {
    format!(
        r#"name = "{name}"
url = "{url}"
detect = {{ width = 160, height = 120, fps = 10 }}
stall_timeout_s = 3
reconnect_min_ms = 100
reconnect_max_ms = 300
{extra}"#
    )
}

/// Parses one `[[cameras]]` table (its body, without the header) into a
/// validated camera, as ingest takes it.
pub fn camera(body: &str) -> StreamConfig {
    let text = format!("[site]\nid = \"t\"\n[gateway]\nid = \"g\"\n[[cameras]]\n{body}\n");
    let cfg = Config::parse(&text).expect("camera TOML parses");
    let problems = cfg.validate();
    assert!(problems.is_empty(), "test config invalid: {problems:?}");
    cfg.cameras.first().expect("one camera").stream()
}

/// Collects camera events with timeouts.
pub struct Events {
    rx: UnboundedReceiver<CameraEvent>,
    pub seen: Vec<CameraEvent>,
}

pub fn events() -> (UnboundedSender<CameraEvent>, Events) {
    let (tx, rx) = unbounded_channel();
    (
        tx,
        Events {
            rx,
            seen: Vec::new(),
        },
    )
}

impl Events {
    /// Waits for the next event matching `pred`; every event seen is kept in `seen`.
    pub fn wait_for(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&CameraEvent) -> bool,
    ) -> Option<CameraEvent> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            match self.rx.try_recv() {
                Ok(ev) => {
                    self.seen.push(ev.clone());
                    if pred(&ev) {
                        return Some(ev);
                    }
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        None
    }

    pub fn wait_online(&mut self, timeout: Duration) -> Option<CameraEvent> {
        self.wait_for(timeout, |e| e.status == CameraStatus::Online)
    }

    /// Waits for an Offline event and returns its reason.
    pub fn wait_offline(&mut self, timeout: Duration) -> Option<String> {
        self.wait_for(timeout, |e| {
            matches!(e.status, CameraStatus::Offline { .. })
        })
        .map(|e| match e.status {
            CameraStatus::Offline { reason } => reason,
            other => unreachable!("{other:?}"),
        })
    }

    /// Takes whatever arrived without waiting.
    pub fn drain(&mut self) {
        while let Ok(ev) = self.rx.try_recv() {
            self.seen.push(ev);
        }
    }

    /// The sequence of statuses seen, as "on"/"off".
    pub fn statuses(&self) -> Vec<&'static str> {
        self.seen
            .iter()
            .map(|e| match e.status {
                CameraStatus::Online => "on",
                CameraStatus::Offline { .. } => "off",
                CameraStatus::Configured { .. } => "configured",
                CameraStatus::Removed => "removed",
                CameraStatus::EvidenceOnline => "evidence on",
                CameraStatus::EvidenceOffline { .. } => "evidence off",
            })
            .collect()
    }
}

/// Starts ingest for `cfg` into a slot of its own and waits until the
/// camera is online, failing the test with its stats after `timeout`.
pub fn start_online(
    cfg: StreamConfig,
    timeout: Duration,
) -> (CameraHandle, Arc<FrameSlot>, Events) {
    let slot = FrameSlot::new();
    let (tx, mut ev) = events();
    let cam = spawn_camera(cfg, slot.clone(), tx).expect("the camera starts");
    assert!(
        ev.wait_online(timeout).is_some(),
        "camera never came online: {:?}",
        cam.stats()
    );
    (cam, slot, ev)
}

/// Polls `f` every 20 ms until it is true or `timeout` passes.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}

/// Counts this process's threads (Linux), to prove nothing is left running.
pub fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Names of this process's threads (Linux `comm`, at most 15 characters).
pub fn thread_names() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("comm")).ok())
        .map(|s| s.trim().to_string())
        .collect()
}
