//! The live path sees what replay sees: the faint-flame shed clip (fire
//! seed 3) served over the in-process RTSP server and read by a real camera
//! supervisor gives the same frames, in the same order, none missing, with
//! regular timestamps, as the file read by `FileReader` (the replay path) —
//! across the server's loop back to the start of the clip too. And the fire
//! analyzer raises the clip's fire on the live frames as it does in replay.

#[path = "common/rtsp.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{camera, events};
use estatewatch::alert::{AlertKind, AlertState};
use estatewatch::analysis;
use estatewatch::config::Config;
use estatewatch::ingest::{spawn_camera, FileReader, Frame, FrameSlot, RtspServer, Take};
use estatewatch_scenes::camera_config::camera_section;
use estatewatch_scenes::{render_clip, ClipSpec, Kind};

/// Mean absolute difference per channel value, in 0..=255 units.
fn mad(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len(), "frame sizes differ");
    let s: u64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    s as f64 / a.len() as f64
}

/// Frames of the same clip through both paths agree within this.
const TOLERANCE: f64 = 1.0;

/// The file frame `f` shows: tries `hint` first, then every frame.
fn locate(f: &Frame, file: &[Frame], hint: Option<usize>) -> (usize, f64) {
    if let Some(h) = hint {
        let d = mad(&f.rgb, &file[h].rgb);
        if d < TOLERANCE {
            return (h, d);
        }
    }
    file.iter()
        .enumerate()
        .map(|(i, g)| (i, mad(&f.rgb, &g.rgb)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .expect("the file has frames")
}

/// Fire `new` alerts the camera's analyzers raise on `frames`, as stream times (s).
fn fire_alerts(cam: &estatewatch::analysis::config::CameraConfig, frames: &[Frame]) -> Vec<f64> {
    let mut analyzers = analysis::build_analyzers(cam).unwrap();
    let mut out = Vec::new();
    for f in frames {
        for a in analyzers.iter_mut() {
            for finding in a.process(f) {
                if finding.kind == AlertKind::Fire && finding.state == AlertState::New {
                    out.push(f.pts.unwrap_or_default().as_secs_f64());
                }
            }
        }
    }
    out
}

#[test]
fn rtsp_frames_of_a_clip_match_the_file_frames_in_order_with_none_dropped() {
    let tmp = tempfile::tempdir().unwrap();
    let truth = render_clip(&ClipSpec::new(Kind::Fire, 3), tmp.path(), 1).unwrap();
    let video = tmp.path().join(&truth.clip);
    let (w, h, fps) = (truth.width, truth.height, truth.fps);
    let file: Vec<Frame> = FileReader::open(&video, "file", w, h, fps)
        .unwrap()
        .map(|f| f.unwrap())
        .collect();
    let n = file.len();
    assert_eq!(n as u64, truth.frames, "the replay path reads every frame");

    let server = RtspServer::start(0, None).unwrap();
    server.add_file_loop("/shed", &video);
    let section = camera_section(&truth, &video).replace(
        &format!("\"file://{}\"", video.display()),
        &format!("\"{}\"", server.url("/shed")),
    );
    let config = Config::parse(&format!(
        "[site]\nid = \"t\"\n[gateway]\nid = \"g\"\n{section}"
    ))
    .unwrap();
    let shed = config.cameras[0].clone();
    let cfg = camera(&format!(
        r#"name = "shed"
url = "{}"
detect = {{ width = {w}, height = {h}, fps = {fps} }}"#,
        server.url("/shed")
    ));
    let slot = FrameSlot::new();
    let (tx, mut ev) = events();
    let cam = spawn_camera(cfg, slot.clone(), tx).unwrap();
    assert!(
        ev.wait_online(Duration::from_secs(20)).is_some(),
        "camera never came online: {:?}",
        cam.stats()
    );

    // Take frames until the served clip has looped and played 3 s more
    // (at most one and a half passes of the 12 s clip).
    let mut live: Vec<(Frame, usize)> = Vec::new();
    let mut looped_at: Option<usize> = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if looped_at.is_some_and(|at| live.len() >= at + 3 * fps as usize) {
            break;
        }
        let Take::Frame(f) = slot.take(Duration::from_secs(5)) else {
            panic!("the stream stopped: {:?}", cam.stats());
        };
        let hint = live.last().map(|(_, i)| (i + 1) % n);
        let (idx, d) = locate(&f, &file, hint);
        assert!(
            d < TOLERANCE,
            "live frame {} (pts {:?}) matches no file frame: best is {idx} at {d:.2} per channel",
            f.seq,
            f.pts
        );
        if let Some((_, prev)) = live.last() {
            if idx < *prev && looped_at.is_none() {
                looped_at = Some(live.len());
            }
        }
        live.push((f, idx));
    }
    let stats = cam.stats();
    cam.stop();
    server.stop();
    let looped_at = looped_at.expect("the served clip looped within 30 s");

    // Same frames, same order, none dropped: each live frame is the file
    // frame after the previous one, unless the test itself was too slow to
    // take a frame from the slot (a gap in `seq`).
    let mut checked = 0;
    let mut drops = Vec::new();
    for pair in live.windows(2) {
        let ((a, ia), (b, ib)) = (&pair[0], &pair[1]);
        if b.seq != a.seq + 1 {
            continue;
        }
        checked += 1;
        if ib != &((ia + 1) % n) {
            drops.push(format!(
                "file frame {ia} (pts {:?}) then {ib} (pts {:?})",
                a.pts, b.pts
            ));
        }
    }
    assert!(
        checked >= live.len() * 3 / 4,
        "too few consecutive frames to judge ({checked} of {}): {stats:?}",
        live.len()
    );
    assert!(
        drops.is_empty(),
        "the live path lost frames the file path has: {drops:?}"
    );

    // Stream timestamps a frame apart (the analyzers' time base), also
    // across the loop.
    let period = 1.0 / fps as f64;
    for pair in live.windows(2) {
        let ((a, _), (b, _)) = (&pair[0], &pair[1]);
        if b.seq != a.seq + 1 {
            continue;
        }
        let dt = b.pts.unwrap().as_secs_f64() - a.pts.unwrap().as_secs_f64();
        assert!(
            (dt - period).abs() < period / 2.0,
            "frames {} and {} are {dt:.3} s apart; expected {period:.3} s",
            a.seq,
            b.seq
        );
    }

    // The faint flame: replay raises it, and so do the analyzers fed with
    // the live frames (first pass, from where the client joined).
    let replayed = fire_alerts(&shed, &file);
    assert!(!replayed.is_empty(), "replay raises the clip's fire");
    let first_pass: Vec<Frame> = live[..looped_at].iter().map(|(f, _)| f.clone()).collect();
    let start = live[0].1;
    let fire_start_frame = truth
        .incidents
        .iter()
        .find(|i| i.kind == "fire")
        .map(|i| i.start_ms as usize * fps as usize / 1000)
        .expect("the clip has a fire");
    if start + 10 < fire_start_frame {
        let got = fire_alerts(&shed, &first_pass);
        assert!(
            !got.is_empty(),
            "replay raises fire at {replayed:?} s but the live frames (from file frame {start}) raise none"
        );
    }
}
