//! Cameras that cannot work — wrong URL, nothing listening, wrong password,
//! a codec we do not decode — each give one clear Offline event and keep
//! being retried; and one broken camera does not slow a healthy one.

use std::time::Duration;

use crate::common::own_process::in_own_process;
use crate::common::rtsp::{cam_toml, camera, events, thread_names, wait_until};
use estatewatch::ingest::synth::{live_launch, Codec};
use estatewatch::ingest::{spawn_camera, FrameSlot, RtspServer};

/// Runs a camera that must fail: returns its single Offline reason after it
/// has been retried at least three times without a panic or a second event.
fn failing_camera(body: &str) -> String {
    let slot = FrameSlot::new();
    let (tx, mut ev) = events();
    let cam = spawn_camera(camera(body), slot, tx).unwrap();
    let reason = ev
        .wait_offline(Duration::from_secs(10))
        .expect("an offline event with a reason");
    assert!(
        wait_until(Duration::from_secs(10), || cam.stats().reconnects >= 3),
        "not retried: {:?}",
        cam.stats()
    );
    ev.drain();
    assert_eq!(
        ev.statuses(),
        ["off"],
        "one event per transition: {:?}",
        ev.seen
    );
    let s = cam.stats();
    assert!(!s.online && s.frames_in == 0, "{s:?}");
    assert_eq!(s.last_error.as_deref(), Some(reason.as_str()));
    cam.stop();
    eprintln!("reason: {reason}");
    reason
}

#[test]
fn wrong_path_says_not_found() {
    let server = RtspServer::start(0, None).unwrap();
    server.add_launch("/cam", &live_launch(Codec::H264, 160, 120, 10));
    let reason = failing_camera(&cam_toml("nopath", &server.url("/nope"), ""));
    assert!(reason.contains("not found"), "{reason}");
    assert!(reason.contains("/nope"), "{reason}");
    server.stop();
}

#[test]
fn nothing_listening_says_connection_refused() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("rtsp://127.0.0.1:{port}/cam");
    let reason = failing_camera(&cam_toml("refused", &url, ""));
    assert!(reason.contains("connection refused"), "{reason}");
}

#[test]
fn wrong_password_says_unauthorized_without_printing_it() {
    // Alone: it sets an environment variable.
    in_own_process!();
    let server = RtspServer::start(0, Some(("admin", "s3cret-pw"))).unwrap();
    server.add_launch("/cam", &live_launch(Codec::H264, 160, 120, 10));
    let url = format!("rtsp://admin@127.0.0.1:{}/cam", server.port());

    let reason = failing_camera(&cam_toml("badpw", &url, r#"password = "wrong-pw""#));
    assert!(reason.contains("401 unauthorized"), "{reason}");
    assert!(
        !reason.contains("wrong-pw") && !reason.contains("admin"),
        "{reason}"
    );

    // The right password (from the environment) is accepted by the same server.
    std::env::set_var("EW_TEST_INGEST_PW", "s3cret-pw");
    let slot = FrameSlot::new();
    let (tx, mut ev) = events();
    let cam = spawn_camera(
        camera(&cam_toml(
            "goodpw",
            &url,
            r#"password_env = "EW_TEST_INGEST_PW""#,
        )),
        slot,
        tx,
    )
    .unwrap();
    assert!(
        ev.wait_online(Duration::from_secs(20)).is_some(),
        "{:?}",
        cam.stats()
    );
    cam.stop();
    server.stop();
}

#[test]
fn unsupported_codec_is_named() {
    let server = RtspServer::start(0, None).unwrap();
    server.add_launch(
        "/mjpeg",
        "( videotestsrc is-live=true ! video/x-raw,format=I420,width=160,height=120,framerate=10/1 \
         ! jpegenc ! rtpjpegpay name=pay0 pt=26 )",
    );
    let reason = failing_camera(&cam_toml("mjpeg", &server.url("/mjpeg"), ""));
    assert!(reason.contains("unsupported codec JPEG"), "{reason}");
    assert!(reason.contains("H.264"), "{reason}");
    server.stop();
}

#[test]
fn a_broken_camera_does_not_slow_a_healthy_one() {
    // Alone: it lists the process's threads.
    in_own_process!();
    let server = RtspServer::start(0, None).unwrap();
    server.add_launch("/good", &live_launch(Codec::H264, 320, 240, 20));
    server.add_launch(
        "/vp8",
        "( videotestsrc is-live=true ! video/x-raw,width=320,height=240,framerate=20/1 \
         ! vp8enc deadline=1 ! rtpvp8pay name=pay0 pt=96 )",
    );
    let (tx, mut ev) = events();
    let good = spawn_camera(
        camera(&cam_toml("good", &server.url("/good"), "")),
        FrameSlot::new(),
        tx.clone(),
    )
    .unwrap();
    let bad = spawn_camera(
        camera(&cam_toml("bad", &server.url("/vp8"), "")),
        FrameSlot::new(),
        tx,
    )
    .unwrap();
    assert!(
        ev.wait_for(Duration::from_secs(20), |e| e.camera == "good"
            && e.status == estatewatch::ingest::CameraStatus::Online)
            .is_some(),
        "{:?}",
        good.stats()
    );
    let (g0, b0) = (good.stats().frames_in, bad.stats().reconnects);
    std::thread::sleep(Duration::from_secs(3));
    let (g1, b1) = (good.stats().frames_in, bad.stats().reconnects);
    // 10 fps for 3 s, at least 80 % of it, while the other camera kept failing.
    assert!(
        g1 - g0 >= 24,
        "healthy camera got only {} frames in 3 s",
        g1 - g0
    );
    assert!(
        b1 - b0 >= 3,
        "broken camera was not being retried: {:?}",
        bad.stats()
    );
    assert!(good.stats().online && !bad.stats().online);
    let why = bad.stats().last_error.unwrap_or_default();
    assert!(why.contains("unsupported codec VP8"), "{why}");

    good.stop();
    bad.stop();
    server.stop();
    let left: Vec<String> = thread_names()
        .into_iter()
        .filter(|n| n == "cam-good" || n == "cam-bad")
        .collect();
    assert!(left.is_empty(), "camera threads left behind: {left:?}");
}
