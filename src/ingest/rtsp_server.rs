//! [`RtspServer`]: an in-process RTSP server on 127.0.0.1, used by the tests
//! (real RTSP, real reconnects) and by `make demo` (cameras from clips).
//!
//! It runs gst-rtsp-server on its own GLib main context and thread. Mounts are
//! shared: all clients of a mount see one pipeline, built when the first
//! client connects and torn down when the last one leaves.
//!
//! [`RtspServer::stop`] closes every client connection and session, stops
//! the media pipelines, closes the listening socket and joins every thread
//! it started, so a test can "unplug" a camera and start a new server on the
//! same port to plug it back in.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_rtsp_server as rtsp;
use gstreamer_rtsp_server::prelude::*;
use tracing::{debug, warn};

use super::IngestError;

/// A feeder thread that pushes a looping file into one media's appsrc.
struct Feeder {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

/// Shared between the server object and the signal handlers on its thread.
#[derive(Default)]
struct Shared {
    /// The newest media built for each mount (for [`RtspServer::media_element`] and stop).
    medias: HashMap<String, rtsp::RTSPMedia>,
    feeders: Vec<Feeder>,
}

/// An RTSP server on 127.0.0.1 with its own GLib main loop thread.
pub struct RtspServer {
    server: rtsp::RTSPServer,
    context: glib::MainContext,
    main_loop: glib::MainLoop,
    source: Option<glib::SourceId>,
    thread: Option<JoinHandle<()>>,
    port: u16,
    auth: bool,
    shared: Arc<Mutex<Shared>>,
}

impl RtspServer {
    /// Listens on 127.0.0.1:`port` (0 = any free port). With `auth`, every
    /// mount requires HTTP Basic credentials `(user, password)`.
    pub fn start(port: u16, auth: Option<(&str, &str)>) -> Result<RtspServer, IngestError> {
        super::error::init()?;
        let server = rtsp::RTSPServer::new();
        server.set_address("127.0.0.1");
        server.set_service(&port.to_string());
        if let Some((user, pass)) = auth {
            let a = rtsp::RTSPAuth::new();
            let token = rtsp::RTSPToken::builder()
                .field(rtsp::RTSP_TOKEN_MEDIA_FACTORY_ROLE, "user")
                .build();
            a.add_basic(rtsp::RTSPAuth::make_basic(user, pass).as_str(), &token);
            server.set_auth(Some(&a));
        }
        let context = glib::MainContext::new();
        let main_loop = glib::MainLoop::new(Some(&context), false);
        let source = server
            .attach(Some(&context))
            .map_err(|e| IngestError::Server(format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
        let bound = u16::try_from(server.bound_port())
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| IngestError::Server(format!("cannot listen on 127.0.0.1:{port}")))?;
        let l = main_loop.clone();
        let thread = std::thread::Builder::new()
            .name(format!("rtsp-{bound}"))
            .spawn(move || l.run())
            .map_err(|e| IngestError::Server(format!("cannot start the server thread: {e}")))?;
        debug!(port = bound, "RTSP server listening");
        Ok(RtspServer {
            server,
            context,
            main_loop,
            source: Some(source),
            thread: Some(thread),
            port: bound,
            auth: auth.is_some(),
            shared: Arc::new(Mutex::new(Shared::default())),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `rtsp://127.0.0.1:<port><mount>`; `mount` starts with `/`.
    pub fn url(&self, mount: &str) -> String {
        format!("rtsp://127.0.0.1:{}{}", self.port, mount)
    }

    fn factory(&self, mount: &str) -> rtsp::RTSPMediaFactory {
        let factory = rtsp::RTSPMediaFactory::new();
        factory.set_shared(true);
        if self.auth {
            factory.add_role_from_structure(
                &gst::Structure::builder("user")
                    .field(rtsp::RTSP_PERM_MEDIA_FACTORY_ACCESS, true)
                    .field(rtsp::RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, true)
                    .build(),
            );
        }
        let shared = self.shared.clone();
        let mount_name = mount.to_string();
        factory.connect_media_configure(move |_, media| {
            if let Ok(mut s) = shared.lock() {
                s.medias.insert(mount_name.clone(), media.clone());
            }
        });
        factory
    }

    fn mount(&self, mount: &str, factory: rtsp::RTSPMediaFactory) {
        match self.server.mount_points() {
            Some(mounts) => mounts.add_factory(mount, factory),
            None => warn!("RTSP server has no mount points; {mount} not served"),
        }
    }

    /// Serves a `gst-launch` description whose payloader is named `pay0`, e.g.
    /// [`synth::live_launch`](super::synth::live_launch).
    pub fn add_launch(&self, mount: &str, launch: &str) {
        let factory = self.factory(mount);
        factory.set_launch(launch);
        self.mount(mount, factory);
    }

    /// Serves an MP4 file with H.264 video, looping forever at real time.
    ///
    /// The media pipeline is `appsrc ! h264parse ! rtph264pay`; a feeder
    /// thread per media reads the file (`filesrc ! qtdemux ! h264parse !
    /// appsink sync=true`), restarts it at the end and shifts the timestamps
    /// onto the media's running time, so clients see one endless stream.
    pub fn add_file_loop(&self, mount: &str, path: &Path) {
        let factory = self.factory(mount);
        // Each client gets its own feeder from the start of the file: a shared
        // media being torn down after one client left would swallow the next
        // client's first connection.
        factory.set_shared(false);
        factory.set_launch(
            "( appsrc name=feed is-live=true format=time do-timestamp=false \
             ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1 )",
        );
        let shared = self.shared.clone();
        let path = path.to_path_buf();
        factory.connect_media_configure(move |_, media| {
            let Some(appsrc) = media
                .element()
                .downcast_ref::<gst::Bin>()
                .and_then(|b| b.by_name("feed"))
                .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
            else {
                warn!("file loop media has no appsrc");
                return;
            };
            let stop = Arc::new(AtomicBool::new(false));
            let stop_on_unprepare = stop.clone();
            media.connect_unprepared(move |_| stop_on_unprepare.store(true, Ordering::SeqCst));
            let (p, s) = (path.clone(), stop.clone());
            match std::thread::Builder::new()
                .name("rtsp-feed".into())
                .spawn(move || feed_loop(&p, &appsrc, &s))
            {
                Ok(thread) => {
                    if let Ok(mut sh) = shared.lock() {
                        sh.feeders.retain(|f| !f.thread.is_finished());
                        sh.feeders.push(Feeder { stop, thread });
                    }
                }
                Err(e) => warn!("cannot start the file feeder thread: {e}"),
            }
        });
        self.mount(mount, factory);
    }

    /// The element called `name` in the newest pipeline serving `mount`
    /// (e.g. a `valve` a test closes to stall the stream).
    pub fn media_element(&self, mount: &str, name: &str) -> Option<gst::Element> {
        let media = self.shared.lock().ok()?.medias.get(mount)?.clone();
        media.element().downcast_ref::<gst::Bin>()?.by_name(name)
    }

    /// Closes all connections and the listening socket, stops every media
    /// pipeline and joins every thread the server started.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        let server = self.server.clone();
        let context = self.context.clone();
        let source = self.source.take();
        let medias: Vec<rtsp::RTSPMedia> = self
            .shared
            .lock()
            .map(|mut s| s.medias.drain().map(|(_, m)| m).collect())
            .unwrap_or_default();
        self.context.invoke(move || {
            if let Some(id) = source {
                if let Some(src) = context.find_source_by_id(&id) {
                    src.destroy();
                }
            }
            server.client_filter(Some(&mut |_, _| rtsp::RTSPFilterResult::Remove));
            if let Some(pool) = server.session_pool() {
                pool.filter(Some(&mut |_, _| rtsp::RTSPFilterResult::Remove));
            }
            for m in medias {
                // Already unprepared medias refuse; that is fine.
                let _ = m.unprepare();
            }
        });
        let l = self.main_loop.clone();
        self.context.invoke(move || l.quit());
        if thread.join().is_err() {
            warn!("RTSP server thread panicked");
        }
        let feeders = self
            .shared
            .lock()
            .map(|mut s| std::mem::take(&mut s.feeders))
            .unwrap_or_default();
        for f in feeders {
            f.stop.store(true, Ordering::SeqCst);
            if f.thread.join().is_err() {
                warn!("RTSP feeder thread panicked");
            }
        }
    }
}

impl Drop for RtspServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Where the stream pushed so far ends, in the media's running time, so the
/// next pass over the file continues it instead of overlapping it.
#[derive(Debug, Default, Clone, Copy)]
struct StreamEnd {
    /// Timestamp of the last frame pushed (ns).
    last: u64,
    /// `last` plus that frame's duration: where the next frame belongs (ns).
    next: u64,
}

/// Pushes `path` into `appsrc` again and again until `stop` is set.
///
/// Each pass continues the timestamps of the one before: its first frame
/// goes one frame duration after the previous pass's last frame, as a camera
/// would send it. (Stamping it with the time the pass happened to start put
/// it a few milliseconds after that last frame, and the client's rate
/// limiter rightly dropped it as a frame too many.)
fn feed_loop(path: &Path, appsrc: &gst_app::AppSrc, stop: &AtomicBool) {
    let mut end: Option<StreamEnd> = None;
    while !stop.load(Ordering::SeqCst) {
        // The reader runs in real time but ends as soon as it has pushed its
        // last frame, one frame duration early: wait for the media to catch
        // up so the passes do not creep ahead of real time.
        if let Some(e) = end {
            while !stop.load(Ordering::SeqCst)
                && appsrc
                    .current_running_time()
                    .is_some_and(|now| now.nseconds() < e.last)
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
        if let Err(e) = feed_once(path, appsrc, stop, &mut end) {
            warn!("file loop {}: {e}", path.display());
            // Avoid a hot loop on a broken file.
            for _ in 0..10 {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
    }
}

/// One pass over the file, paced to real time by the reader's clock,
/// continuing after `end` (updated as frames are pushed).
fn feed_once(
    path: &Path,
    appsrc: &gst_app::AppSrc,
    stop: &AtomicBool,
    end: &mut Option<StreamEnd>,
) -> Result<(), String> {
    let reader = gst::parse::launch(
        "filesrc name=src ! qtdemux ! h264parse ! appsink name=sink sync=true max-buffers=8",
    )
    .map_err(|e| e.to_string())?
    .downcast::<gst::Pipeline>()
    .map_err(|_| "reader is not a pipeline".to_string())?;
    let src = reader.by_name("src").ok_or("no filesrc")?;
    src.set_property("location", path);
    let sink = reader
        .by_name("sink")
        .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
        .ok_or("no appsink")?;
    let bus = reader.bus().ok_or("no bus")?;
    let result = (|| {
        reader
            .set_state(gst::State::Playing)
            .map_err(|e| format!("cannot play: {e}"))?;
        // Offset from file time to the media's running time, fixed at the first key frame.
        let mut offset: Option<i128> = None;
        let mut caps: Option<gst::Caps> = None;
        while !stop.load(Ordering::SeqCst) {
            let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_mseconds(100)) else {
                if sink.is_eos() {
                    return Ok(());
                }
                if let Some(msg) = bus.pop_filtered(&[gst::MessageType::Error]) {
                    if let gst::MessageView::Error(e) = msg.view() {
                        return Err(e.error().to_string());
                    }
                }
                continue;
            };
            let (Some(buffer), Some(sample_caps)) = (sample.buffer(), sample.caps()) else {
                continue;
            };
            let Some(now) = appsrc.current_running_time() else {
                offset = None; // media not playing yet: wait for a key frame once it is
                continue;
            };
            let Some(ts) = buffer.dts().or(buffer.pts()) else {
                continue;
            };
            let off = match offset {
                Some(o) => o,
                None if buffer.flags().contains(gst::BufferFlags::DELTA_UNIT) => continue,
                None => {
                    let now_o = now.nseconds() as i128 - ts.nseconds() as i128;
                    let o = match end {
                        Some(e) => now_o.max(e.next as i128 - ts.nseconds() as i128),
                        None => now_o,
                    };
                    offset = Some(o);
                    o
                }
            };
            if caps.as_deref() != Some(sample_caps) {
                let owned = sample_caps.to_owned();
                appsrc.set_caps(Some(&owned));
                caps = Some(owned);
            }
            let shift = |t: Option<gst::ClockTime>| {
                t.map(|t| gst::ClockTime::from_nseconds((t.nseconds() as i128 + off).max(0) as u64))
            };
            let mut out = buffer.copy();
            {
                let out = out.make_mut();
                out.set_pts(shift(buffer.pts()));
                out.set_dts(shift(buffer.dts()));
            }
            if let Some(pts) = out.pts() {
                let last = pts.nseconds();
                // Without a duration, assume the frame lasts as long as the gap before it.
                let dur = buffer
                    .duration()
                    .map(|d| d.nseconds())
                    .or_else(|| end.map(|e| last.saturating_sub(e.last)))
                    .unwrap_or(0);
                *end = Some(StreamEnd {
                    last,
                    next: last + dur,
                });
            }
            if appsrc.push_buffer(out).is_err() {
                // Flushing or shutting down; the stop flag ends the loop.
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
        Ok(())
    })();
    let _ = reader.set_state(gst::State::Null);
    result
}
