//! Evidence through crashes and outages: a SIGKILL while a clip is being
//! written never leaves an announced broken clip; clip announcements made
//! while the broker is down arrive after it returns, in order.

use crate::announces;
use crate::common::daemon::Daemon;
use crate::common::mosquitto::{config_text, Broker, Subscriber};
use crate::common::scenegen::{replay_camera, scenegen};
use estatewatch::ingest::RtspServer;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A throw served as both streams of one camera (the 640x360 render for
/// both: resolution is not the point here), a broker, a subscriber and the
/// daemon's config.
struct Rig {
    dir: tempfile::TempDir,
    server: RtspServer,
    broker: Broker,
    sub: Subscriber,
    config: PathBuf,
    outbox: PathBuf,
    evidence: PathBuf,
    log: PathBuf,
}

fn rig(post_s: u64) -> Rig {
    rig_with(post_s, true)
}

/// [`rig`]; without `own_stream` the camera has `[cameras.evidence]` but no
/// evidence `url`: clips come from its detect stream.
fn rig_with(post_s: u64, own_stream: bool) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    scenegen(
        dir.path(),
        "throwing",
        61,
        None,
        "size_px=16,floor=6,column=1",
        true,
    );
    let server = RtspServer::start(0, None).unwrap();
    let clip = dir.path().join("throwing-61.mp4");
    server.add_file_loop("/tower", &clip);
    server.add_file_loop("/tower-main", &clip);
    let broker = Broker::start();
    let sub = Subscriber::subscribed(broker.port(), "estatewatch/#");
    let evidence = dir.path().join("evidence");
    let outbox = dir.path().join("outbox.db");
    let config = dir.path().join("estatewatch.toml");
    let camera = replay_camera(
        &dir.path().join("throwing-61.toml"),
        &format!("url = \"{}\"", server.url("/tower")),
    );
    std::fs::write(
        &config,
        format!(
            "{}\n{camera}\n[cameras.evidence]\n{}pre_s = 1\npost_s = {post_s}\n",
            // Its `[evidence] dir` is `evidence`, beside the outbox.
            config_text(broker.port(), &outbox, "", ""),
            if own_stream {
                format!("url = \"{}\"\n", server.url("/tower-main"))
            } else {
                String::new()
            },
        ),
    )
    .unwrap();
    let log = dir.path().join("daemon.log");
    Rig {
        dir,
        server,
        broker,
        sub,
        config,
        outbox,
        evidence,
        log,
    }
}

fn clip_dir(evidence: &Path, event: &str) -> PathBuf {
    evidence.join("throwing-61").join(event)
}

#[test]
fn a_sigkill_while_a_clip_is_written_leaves_no_announced_broken_clip() {
    let r = rig(30);
    let mut daemon = Daemon::start(&r.config, &r.outbox, &r.log);
    // A throw: its clip is being written for the next 30 s.
    assert!(
        r.sub.wait_until(Duration::from_secs(150), |msgs| msgs
            .iter()
            .any(|m| m.json()["kind"] == "throwing" && m.json()["state"] == "new")),
        "no throw; daemon log:\n{}",
        daemon.log()
    );
    let new = r
        .sub
        .alerts()
        .into_iter()
        .find(|a| a["kind"] == "throwing" && a["state"] == "new")
        .unwrap();
    let event = new["event"].as_str().unwrap().to_string();
    let folder = clip_dir(&r.evidence, &event);
    let part = folder.join("clip.mp4.part");
    assert!(
        crate::common::rtsp::wait_until(Duration::from_secs(20), || part.exists()),
        "no clip being written in {}; daemon log:\n{}",
        folder.display(),
        daemon.log()
    );
    daemon.kill9();
    assert!(part.exists(), "the unfinished clip stays as .part");
    assert!(
        !folder.join("clip.mp4").exists(),
        "nothing unfinished has the clip's name"
    );

    // The next run removes it and never announces it.
    let daemon = Daemon::start(&r.config, &r.outbox, &r.log);
    daemon.wait_log(
        "removed an unfinished evidence file",
        Duration::from_secs(30),
    );
    assert!(!part.exists());
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !r.sub
            .alerts()
            .iter()
            .any(|a| a["event"] == new["event"] && announces(a)),
        "the killed clip was announced"
    );
    drop(daemon);
    drop(r.server);
    drop(r.dir);
}

#[test]
fn clip_announcements_made_while_the_broker_is_down_arrive_after_it_returns_in_order() {
    let mut r = rig(2);
    let daemon = Daemon::start(&r.config, &r.outbox, &r.log);
    daemon.wait_log("evidence stream online", Duration::from_secs(60));
    r.broker.kill9();
    // Two throws (the clip loops) have their clips written while the broker is down.
    let written = |d: &Daemon| {
        d.log()
            .lines()
            .filter(|l| l.contains("evidence clip written") && l.contains("throwing-61"))
            .count()
    };
    let end = std::time::Instant::now() + Duration::from_secs(240);
    while written(&daemon) < 2 {
        assert!(
            std::time::Instant::now() < end,
            "fewer than two clips written; daemon log:\n{}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let seen_while_down = r.sub.alerts().len();
    r.broker.restart();
    // Count only what arrives after the restart: a `new` alert published
    // before the broker went down may already list its snapshot.
    assert!(
        r.sub.wait_until(Duration::from_secs(90), |msgs| msgs
            .iter()
            .filter(|m| m.topic.contains("/alerts/"))
            .skip(seen_while_down)
            .filter(|m| announces(&m.json()))
            .count()
            >= 2),
        "announcements did not arrive; daemon log:\n{}",
        daemon.log()
    );
    let alerts = r.sub.alerts();
    let updates: Vec<&serde_json::Value> = alerts
        .iter()
        .skip(seen_while_down)
        .filter(|a| announces(a))
        .collect();
    assert!(updates.len() >= 2);
    for u in &updates {
        let pos = |pred: &dyn Fn(&serde_json::Value) -> bool| alerts.iter().position(pred);
        let new_at = pos(&|a| a["event"] == u["event"] && a["state"] == "new");
        let upd_at = pos(&|a| a["id"] == u["id"]);
        assert!(
            new_at.is_some() && new_at < upd_at,
            "an announcement came before its alert: {u}"
        );
        assert!(u["evidence"]["clip"].is_object(), "{u}");
    }
    // In the order they were written (the outbox's order).
    let mut starts: Vec<String> = updates
        .iter()
        .map(|u| u["evidence"]["clip"]["start"].as_str().unwrap().to_string())
        .collect();
    let received = starts.clone();
    starts.sort();
    assert_eq!(received, starts, "announcements out of order");
    drop(daemon);
}

#[test]
fn without_an_evidence_stream_clips_are_cut_from_the_detect_stream() {
    let r = rig_with(2, false);
    let daemon = Daemon::start(&r.config, &r.outbox, &r.log);
    assert!(
        r.sub.wait_until(Duration::from_secs(150), |msgs| msgs
            .iter()
            .any(
                |m| m.json()["kind"] == "throwing" && m.json()["evidence"]["clip"].is_object()
            )),
        "no clip announced; daemon log:\n{}",
        daemon.log()
    );
    let update = r
        .sub
        .alerts()
        .into_iter()
        .find(|a| a["kind"] == "throwing" && a["evidence"]["clip"].is_object())
        .unwrap();
    let clip = &update["evidence"]["clip"];
    // The detect stream's own encoded frames, at its resolution.
    assert_eq!(
        (clip["width"].as_u64(), clip["height"].as_u64()),
        (Some(640), Some(360))
    );
    let path = r.evidence.join(clip["path"].as_str().unwrap());
    let out = std::process::Command::new("gst-discoverer-1.0")
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("Width: 640"),
        "{text}"
    );
    assert!(!daemon.log().contains("evidence stream offline"));
    drop(daemon);
}
