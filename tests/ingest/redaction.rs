//! Issue 17, ingest: secrets in a camera URL's path or query never reach the
//! camera's offline reason (item 9), and a stream without video says "no
//! video stream" rather than GStreamer's transport message (item 17). Real
//! GStreamer and the in-process RTSP server.

use std::time::Duration;

use crate::common::rtsp::{cam_toml, camera, events};
use estatewatch::base::{redact, UrlPaths};
use estatewatch::ingest::synth::{live_launch, Codec};
use estatewatch::ingest::{spawn_camera, FrameSlot, RtspServer};

/// The first offline reason of a camera that cannot work.
fn offline_reason(url: &str) -> String {
    let (tx, mut ev) = events();
    let cam = spawn_camera(camera(&cam_toml("c", url, "")), FrameSlot::new(), tx).unwrap();
    let reason = ev
        .wait_offline(Duration::from_secs(20))
        .expect("an offline event with a reason");
    cam.stop();
    eprintln!("reason: {reason}");
    reason
}

#[test]
fn dvr_style_url_passwords_are_redacted() {
    for (url, shown) in [
        (
            "rtsp://10.0.0.9/user=admin&password=Hunter2x&channel=1",
            "rtsp://10.0.0.9/user=admin&password=***&channel=1",
        ),
        (
            "rtsp://10.0.0.9/user=admin_password=Hunter2x_channel=1_stream=0.sdp",
            "rtsp://10.0.0.9/user=admin_password=***_channel=1_stream=0.sdp",
        ),
        (
            "rtsp://10.0.0.9:554/cam/realmonitor?channel=1&subtype=0&PWD=Hunter2x",
            "rtsp://10.0.0.9:554/cam/realmonitor?channel=1&subtype=0&PWD=***",
        ),
        (
            "rtsp://u:p@10.0.0.9/live;Token=Hunter2x?Key=Hunter2x",
            "rtsp://***@10.0.0.9/live;Token=***?Key=***",
        ),
    ] {
        assert_eq!(redact(url, UrlPaths::Keep), shown);
    }
}

#[test]
fn offline_reason_never_contains_a_password_from_the_path() {
    let server = RtspServer::start(0, None).unwrap();
    server.add_launch("/cam", &live_launch(Codec::H264, 160, 120, 10));
    let url = server.url("/user=admin&password=Hunter2x&channel=1");
    let reason = offline_reason(&url);
    assert!(reason.contains("not found"), "{reason}");
    assert!(!reason.contains("Hunter2x"), "{reason}");
    assert!(reason.contains("password=***"), "{reason}");
    server.stop();
}

#[test]
fn audio_only_rtsp_stream_says_no_video_stream() {
    let server = RtspServer::start(0, None).unwrap();
    server.add_launch(
        "/audio",
        "( audiotestsrc is-live=true ! audioconvert ! audio/x-raw,rate=8000,channels=1 \
         ! mulawenc ! rtppcmupay name=pay0 pt=0 )",
    );
    let reason = offline_reason(&server.url("/audio"));
    assert!(reason.contains("no video stream"), "{reason}");
    assert!(!reason.to_lowercase().contains("transport"), "{reason}");
    server.stop();
}

#[test]
fn audio_only_file_says_no_video_stream() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audio.wav");
    let status = std::process::Command::new("gst-launch-1.0")
        .args([
            "-q",
            "audiotestsrc",
            "num-buffers=20",
            "!",
            "wavenc",
            "!",
            "filesink",
        ])
        .arg(format!("location={}", path.display()))
        .status()
        .expect("gst-launch-1.0 runs");
    assert!(status.success());
    let reason = offline_reason(&format!("file://{}", path.display()));
    assert!(reason.contains("no video stream"), "{reason}");
}
