//! File sources: FileReader gives every frame of a clip, a `file://` camera
//! loops its clip, the RTSP server's file loop serves a clip forever, and
//! stopping leaves no thread behind.

use std::path::Path;
use std::time::Duration;

use crate::common::own_process::in_own_process;
use crate::common::rtsp::{camera, start_online, thread_names, wait_until};
use estatewatch::ingest::synth::{write_clip, ClipSpec, Codec};
use estatewatch::ingest::{FileReader, IngestError, RtspServer};

fn clip(dir: &Path, name: &str, spec: ClipSpec) -> std::path::PathBuf {
    let path = dir.join(name);
    write_clip(&path, &spec).unwrap();
    path
}

#[test]
fn file_reader_returns_every_frame() {
    let dir = tempfile::tempdir().unwrap();
    for codec in [Codec::H264, Codec::H265] {
        let path = clip(
            dir.path(),
            &format!("{codec:?}.mp4"),
            ClipSpec {
                frames: 20,
                fps: 10,
                codec,
                ..ClipSpec::default()
            },
        );
        let frames: Vec<_> = FileReader::open(&path, "replay", 162, 120, 10)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(frames.len(), 20, "{codec:?}");
        for (i, f) in frames.iter().enumerate() {
            assert_eq!(f.seq, i as u64);
            assert_eq!(&*f.camera, "replay");
            assert_eq!((f.width, f.height, f.rgb.len()), (162, 120, 162 * 120 * 3));
            // pts is the position in the file: frame i at i × 100 ms.
            let pts = f.pts.expect("pts").as_millis() as i64;
            assert!((pts - i as i64 * 100).abs() <= 2, "frame {i} at {pts} ms");
        }
        // The ball moves: consecutive frames differ.
        assert_ne!(frames[0].rgb, frames[10].rgb);
    }

    // Asking for fewer frames per second than the file has drops the surplus evenly.
    let path = dir.path().join("H264.mp4");
    let n = FileReader::open(&path, "replay", 160, 120, 5)
        .unwrap()
        .count();
    assert_eq!(n, 10);
}

#[test]
fn file_reader_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.mp4");
    let err = FileReader::open(&missing, "r", 160, 120, 10)
        .err()
        .expect("missing file fails");
    assert!(matches!(err, IngestError::File { .. }), "{err:?}");
    assert!(err.to_string().contains("missing.mp4"), "{err}");

    let text = dir.path().join("notes.mp4");
    std::fs::write(&text, "this is not a video\n".repeat(100)).unwrap();
    let err = FileReader::open(&text, "r", 160, 120, 10)
        .err()
        .expect("text file fails");
    assert!(err.to_string().contains("notes.mp4"), "{err}");
}

#[test]
fn file_camera_loops_at_real_time() {
    let dir = tempfile::tempdir().unwrap();
    // 1 s of video.
    let path = clip(
        dir.path(),
        "loop.mp4",
        ClipSpec {
            frames: 10,
            fps: 10,
            ..ClipSpec::default()
        },
    );
    let cfg = camera(&format!(
        r#"name = "fileloop"
url = "file://{}"
detect = {{ width = 160, height = 120, fps = 10 }}
stall_timeout_s = 3
reconnect_min_ms = 100
reconnect_max_ms = 500"#,
        path.display()
    ));
    let (cam, _slot, mut ev) = start_online(cfg, Duration::from_secs(10));
    assert!(
        wait_until(Duration::from_secs(6), || cam.stats().frames_in >= 25),
        "a 10-frame clip should be played again and again: {:?}",
        cam.stats()
    );
    // Paced: about 10 fps, not as fast as decoding allows.
    let s = cam.stats();
    assert!(s.frames_in < 60, "{s:?}");
    ev.drain();
    assert_eq!(ev.statuses(), ["on"], "looping is not an outage");
    assert_eq!(s.reconnects, 0);
    cam.stop();
}

#[test]
fn rtsp_server_serves_a_file_in_a_loop_and_stops_cleanly() {
    // Alone: it lists the process's threads.
    in_own_process!();
    let dir = tempfile::tempdir().unwrap();
    let path = clip(
        dir.path(),
        "served.mp4",
        ClipSpec {
            frames: 10,
            fps: 10,
            ..ClipSpec::default()
        },
    );
    let server = RtspServer::start(0, None).unwrap();
    let port = server.port();
    server.add_file_loop("/clip", &path);
    // A 15 s stall limit: 3 s, then 6 s, once tripped on a 2-core box
    // loaded by parallel builds (an "off" then "on"); this test is about
    // looping without an outage at the file's end, not about latency.
    let cfg = camera(&format!(
        r#"name = "served"
url = "{}"
detect = {{ width = 160, height = 120, fps = 10 }}
stall_timeout_s = 15
reconnect_min_ms = 100
reconnect_max_ms = 500"#,
        server.url("/clip")
    ));
    let (cam, _slot, mut ev) = start_online(cfg, Duration::from_secs(15));
    assert!(
        wait_until(Duration::from_secs(8), || cam.stats().frames_in >= 25),
        "a 10-frame clip should be served again and again: {:?}",
        cam.stats()
    );
    ev.drain();
    assert_eq!(ev.statuses(), ["on"]);

    cam.stop();
    server.stop();
    let left: Vec<String> = thread_names()
        .into_iter()
        .filter(|n| n == "cam-served" || n == format!("rtsp-{port}").as_str() || n == "rtsp-feed")
        .collect();
    assert!(left.is_empty(), "threads left behind: {left:?}");
}
