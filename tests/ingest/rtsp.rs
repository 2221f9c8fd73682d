//! Live ingest against a real in-process RTSP server: frame size and rate
//! (H.264 over TCP, H.265 over UDP), reconnect after the server goes away,
//! and stall detection.

use std::time::{Duration, Instant};

use crate::common::rtsp::{camera, start_online, wait_until};
use estatewatch::ingest::synth::{live_launch, live_launch_with, Codec};
use estatewatch::ingest::{Frame, FrameSlot, RtspServer, Take};
use gstreamer::prelude::*;

fn take(slot: &FrameSlot) -> Frame {
    match slot.take(Duration::from_secs(5)) {
        Take::Frame(f) => f,
        other => panic!("expected a frame, got {other:?}"),
    }
}

/// SMPTE bars are vertical: in the top half every row is the same. A frame
/// copied without honouring the row stride would drift sideways row by row.
fn assert_rows_match(f: &Frame) {
    let row = f.width as usize * 3;
    let first = &f.rgb[..row];
    for y in 1..f.height as usize / 2 {
        let r = &f.rgb[y * row..(y + 1) * row];
        let diff: u64 = first
            .iter()
            .zip(r)
            .map(|(a, b)| (*a as i32 - *b as i32).unsigned_abs() as u64)
            .sum();
        let mean = diff as f64 / row as f64;
        assert!(
            mean < 12.0,
            "row {y} differs from row 0 by {mean:.1} on average"
        );
    }
    let distinct: std::collections::HashSet<&[u8]> = first.chunks(3).collect();
    assert!(
        distinct.len() >= 5,
        "expected colour bars, got {} colours",
        distinct.len()
    );
}

fn frames_arrive(codec: Codec, transport: &str, width: u32, height: u32) {
    let server = RtspServer::start(0, None).unwrap();
    server.add_launch("/cam", &live_launch(codec, 320, 240, 20));
    let cfg = camera(&format!(
        r#"name = "cam"
url = "{}"
transport = "{transport}"
detect = {{ width = {width}, height = {height}, fps = 10 }}
stall_timeout_s = 5
reconnect_min_ms = 200
reconnect_max_ms = 1000"#,
        server.url("/cam")
    ));
    let (cam, slot, ev) = start_online(cfg, Duration::from_secs(20));

    let f = take(&slot);
    assert_eq!(&*f.camera, "cam");
    assert_eq!((f.width, f.height), (width, height));
    assert_eq!(f.rgb.len(), (width * height * 3) as usize);
    assert_rows_match(&f);

    // Rate: 20 fps served, 10 fps configured.
    let before = cam.stats().frames_in;
    std::thread::sleep(Duration::from_secs(3));
    let n = cam.stats().frames_in - before;
    assert!(
        (24..=36).contains(&n),
        "expected ~30 frames in 3 s at 10 fps, got {n}"
    );

    // Sequence numbers grow, stream timestamps advance, wall clock is recent.
    let a = take(&slot);
    let b = take(&slot);
    assert!(
        b.seq > a.seq && a.seq > f.seq,
        "{} {} {}",
        f.seq,
        a.seq,
        b.seq
    );
    assert!(b.pts > a.pts, "{:?} !> {:?}", b.pts, a.pts);
    assert!(a.captured_at.elapsed().unwrap() < Duration::from_secs(5));

    let s = cam.stats();
    assert!(s.online && s.reconnects == 0, "{s:?}");
    assert_eq!(ev.statuses(), ["on"]);
    cam.stop();
    server.stop();
}

#[test]
fn h264_over_tcp_arrives_at_detect_size_and_rate() {
    // 170 px wide: RGB rows of 510 bytes are padded to 512 by GStreamer.
    frames_arrive(Codec::H264, "tcp", 170, 96);
}

#[test]
fn h265_over_udp_arrives_at_detect_size_and_rate() {
    frames_arrive(Codec::H265, "udp", 160, 120);
}

#[test]
fn server_that_goes_away_and_comes_back_is_reconnected() {
    let server = RtspServer::start(0, None).unwrap();
    let port = server.port();
    let launch = live_launch(Codec::H264, 320, 240, 20);
    server.add_launch("/cam", &launch);
    let cfg = camera(&format!(
        r#"name = "flaky"
url = "{}"
detect = {{ width = 160, height = 120, fps = 10 }}
stall_timeout_s = 3
reconnect_min_ms = 200
reconnect_max_ms = 800"#,
        server.url("/cam")
    ));
    let (cam, _slot, mut ev) = start_online(cfg, Duration::from_secs(20));

    server.stop();
    let reason = ev
        .wait_offline(Duration::from_secs(6))
        .expect("offline after the server went away");
    eprintln!("offline reason after server stop: {reason}");
    // Stay away long enough for several failed attempts.
    assert!(
        wait_until(Duration::from_secs(10), || cam.stats().reconnects >= 3),
        "{:?}",
        cam.stats()
    );
    let frames_before = cam.stats().frames_in;

    let server = RtspServer::start(port, None).unwrap();
    server.add_launch("/cam", &launch);
    let back = Instant::now();
    assert!(
        ev.wait_online(Duration::from_secs(10)).is_some(),
        "{:?}",
        cam.stats()
    );
    // Within the longest backoff (0.8 s) plus connecting and the next key frame (1 s).
    assert!(
        back.elapsed() < Duration::from_secs(5),
        "took {:?}",
        back.elapsed()
    );
    assert!(wait_until(Duration::from_secs(3), || cam.stats().frames_in
        > frames_before + 5));

    // Settle, then check that each transition was announced exactly once.
    std::thread::sleep(Duration::from_millis(500));
    ev.drain();
    assert_eq!(ev.statuses(), ["on", "off", "on"], "reason was: {reason}");
    cam.stop();
    server.stop();
}

#[test]
fn stalled_stream_is_detected_and_retried() {
    let server = RtspServer::start(0, None).unwrap();
    server.add_launch(
        "/cam",
        &live_launch_with(Codec::H264, 320, 240, 20, "valve name=gate drop=false ! "),
    );
    let cfg = camera(&format!(
        r#"name = "stally"
url = "{}"
detect = {{ width = 160, height = 120, fps = 10 }}
stall_timeout_s = 1
reconnect_min_ms = 200
reconnect_max_ms = 500"#,
        server.url("/cam")
    ));
    let (cam, _slot, mut ev) = start_online(cfg, Duration::from_secs(20));

    // The server stays up and keeps the session, but stops sending video.
    let gate = server
        .media_element("/cam", "gate")
        .expect("valve in the served pipeline");
    gate.set_property("drop", true);
    let reason = ev
        .wait_offline(Duration::from_secs(5))
        .expect("stall detected");
    eprintln!("offline reason after the valve closed: {reason}");
    assert!(reason.contains("stall"), "{reason}");
    assert!(wait_until(Duration::from_secs(5), || cam
        .stats()
        .reconnects
        >= 1));

    // The retry builds a new session; once video flows again the camera is back.
    if let Some(gate) = server.media_element("/cam", "gate") {
        gate.set_property("drop", false);
    }
    assert!(
        ev.wait_online(Duration::from_secs(10)).is_some(),
        "{:?}",
        cam.stats()
    );
    assert_eq!(ev.statuses(), ["on", "off", "on"]);
    cam.stop();
    server.stop();
}
