//! The live path sees what replay sees: the faint-flame shed clip (fire
//! seed 3) served over the in-process RTSP server and read by a real camera
//! supervisor gives the file's frames (as read by `FileReader`, the replay
//! path) pixel for pixel, in the same order, with timestamps that keep the
//! file's pace — across the server's loop back to the start of the clip too.
//!
//! The live path is latest-frame-wins: a frame the reader (here the test)
//! has not taken is replaced by the next one and counted as skipped, and a
//! frame the pipeline's rate limiter drops is counted as dropped. So the test
//! does not ask for every frame, which only an idle machine delivers; it asks
//! that every file frame it did not get was counted: live frames + counted
//! skips + counted drops cover the file frames from the first taken to the
//! last. And the fire analyzer raises the clip's fire on the live frames as
//! it does on a replay of the same file frames.

use std::time::{Duration, Instant};

use crate::common::rtsp::{camera, start_online};
use estatewatch::alert::{AlertKind, AlertState};
use estatewatch::analysis;
use estatewatch::config::Config;
use estatewatch::ingest::{FileReader, Frame, RtspServer, Take};
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

/// The file frame closest to `f`, and how close.
fn closest(f: &Frame, file: &[Frame]) -> (usize, f64) {
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
fn rtsp_frames_of_a_clip_match_the_file_frames_in_order_with_every_missing_frame_counted() {
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
    let (cam, slot, _ev) = start_online(cfg, Duration::from_secs(20));

    // Take frames until the served clip has looped and played 3 s more
    // (at most one and a half passes of the 12 s clip), as fast as this
    // machine lets the test take them.
    //
    // Every frame the camera hands to the slot gets the next `seq`; one
    // replaced there before it was taken is counted as skipped, one the
    // pipeline's rate limiter drops is counted as dropped. So each live frame
    // is the file frame `seq` steps after the previous one, or a few more if
    // frames were dropped. Where the file holds identical frames (a still
    // scene) the pixels cannot tell which one a live frame is, so every
    // reading that fits is kept, as (position in the file, unwrapped; frames
    // dropped before it), the fewest drops per position.
    let mut live: Vec<(Frame, usize)> = Vec::new();
    let mut readings: Vec<(usize, usize)> = Vec::new();
    let mut looped_at: Option<usize> = None;
    let max_jump = 2 * fps as usize;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let (Some(at), Some((_, last))) = (looped_at, live.last()) {
            if *last >= live[at].1 + 3 * fps as usize {
                break;
            }
        }
        let Take::Frame(f) = slot.take(Duration::from_secs(5)) else {
            panic!("the stream stopped: {:?}", cam.stats());
        };
        let shows = |pos: usize| mad(&f.rgb, &file[pos % n].rgb) < TOLERANCE;
        let next: Vec<(usize, usize)> = match live.last() {
            None => (0..n).filter(|&p| shows(p)).map(|p| (p, 0)).collect(),
            Some((prev, _)) => {
                let step = (f.seq - prev.seq) as usize;
                let mut next: Vec<(usize, usize)> = Vec::new();
                for &(pos, dropped) in &readings {
                    let Some(jump) = (0..=max_jump).find(|j| shows(pos + step + j)) else {
                        continue;
                    };
                    let reading = (pos + step + jump, dropped + jump);
                    match next.iter_mut().find(|(p, _)| *p == reading.0) {
                        Some(r) => r.1 = r.1.min(reading.1),
                        None => next.push(reading),
                    }
                }
                next
            }
        };
        if next.is_empty() {
            let (idx, d) = closest(&f, &file);
            let prev = live.last().map(|(p, i)| (p.seq, p.pts, *i));
            panic!(
                "live frame seq {} (pts {:?}) is file frame {idx} ({d:.2} per channel), which is not \
                 the file frame after the one before (seq, pts, file frame) {prev:?}: out of order \
                 or more than {max_jump} frames lost; {:?}",
                f.seq,
                f.pts,
                cam.stats()
            );
        }
        readings = next;
        let idx = readings[0].0 % n;
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

    // live frames + counted skips + counted drops == file frames covered.
    // The seq gaps between the frames taken are skips the slot counted; the
    // frames the pipeline lost must be no more than its rate limiter counted.
    let (first, last) = (&live[0].0, &live[live.len() - 1].0);
    let skipped_between = (last.seq - first.seq + 1) as usize - live.len();
    let lost = readings.iter().map(|r| r.1).min().unwrap_or(0);
    assert!(
        stats.frames_skipped >= skipped_between as u64,
        "the slot counted {} skips, but {skipped_between} frames between the {} taken were not taken: {stats:?}",
        stats.frames_skipped,
        live.len()
    );
    assert!(
        stats.frames_dropped >= lost as u64,
        "{} live frames and {skipped_between} skipped leave {lost} file frames lost, \
         but the pipeline counted {} dropped: {stats:?}",
        live.len(),
        stats.frames_dropped
    );

    eprintln!(
        "{} live frames, {skipped_between} skipped and {lost} lost between them; {stats:?}",
        live.len()
    );

    // Stream timestamps (the analyzers' time base) go forward and keep the
    // file's pace, also across the loop: from the first frame taken to the
    // last they span as many frame periods as the file frames between them,
    // give or take a second (a loaded machine jitters single timestamps).
    let period = 1.0 / fps as f64;
    for pair in live.windows(2) {
        let (a, b) = (&pair[0].0, &pair[1].0);
        assert!(
            b.pts > a.pts,
            "timestamps went back: seq {} at {:?}, seq {} at {:?}",
            a.seq,
            a.pts,
            b.seq,
            b.pts
        );
    }
    let span_pts = last.pts.unwrap().as_secs_f64() - first.pts.unwrap().as_secs_f64();
    let span_file = (last.seq - first.seq) as f64 * period + lost as f64 * period;
    assert!(
        (span_pts - span_file).abs() < 1.0,
        "the live frames span {span_pts:.3} s of stream time but {span_file:.3} s of the file"
    );

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
        // The same file frames the live path delivered, as replay reads them.
        let same: Vec<Frame> = live[..looped_at]
            .iter()
            .map(|(_, i)| file[*i].clone())
            .collect();
        let replayed_same = fire_alerts(&shed, &same);
        let got = fire_alerts(&shed, &first_pass);
        assert!(
            replayed_same.is_empty() || !got.is_empty(),
            "replay of the frames the live path delivered raises fire at {replayed_same:?} s, \
             but the live frames (from file frame {start}) raise none"
        );
    }
}
