//! The real `estatewatch run` binary with looping `file://` cameras, the
//! motion analyzer and a real mosquitto: `/metrics` counters move and pass
//! `promtool check metrics`, `/healthz` answers 200 and flips to 503 when
//! analysis hangs, names every problem of an unconfigured gateway (no
//! camera, no broker, no outbox), and keeps answering while idle
//! connections pile up; the retained stats topic arrives, and a SIGHUP that
//! changes one camera's zones leaves the other camera running and loses no
//! alert.

use crate::common::daemon::{http_get as get, metric, metrics, wait_for, Daemon, BIN};
use crate::common::mosquitto::{config_text, free_port, Broker, Subscriber};
use estatewatch::ingest::synth::{write_clip, ClipSpec};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A 2 s clip of a moving ball: the motion analyzer sees change on every frame.
pub(crate) fn clip(dir: &Path) -> PathBuf {
    let path = dir.join("ball.mp4");
    write_clip(
        &path,
        &ClipSpec {
            width: 160,
            height: 120,
            fps: 10,
            frames: 20,
            pattern: "ball",
            ..ClipSpec::default()
        },
    )
    .unwrap();
    path
}

/// A `[[cameras]]` table: a looping file camera with motion alerts on every
/// changed frame, in `zones` (TOML array) or the whole frame.
fn camera(name: &str, clip: &Path, zones: &str) -> String {
    format!(
        "[[cameras]]\nname = \"{name}\"\nurl = \"file://{}\"\nstall_timeout_s = 5\n\
         reconnect_min_ms = 100\nreconnect_max_ms = 500\n\
         [cameras.detect]\nwidth = 160\nheight = 120\nfps = 5\n\
         [cameras.analyzers.motion]\nmin_changed_fraction = 0.0005\npixel_threshold = 20\ncooldown_s = 0\n{zones}\n",
        clip.display()
    )
}

fn write_config(dir: &Path, broker: u16, http: u16, cameras: &str, health_extra: &str) -> PathBuf {
    let mut text = config_text(
        broker,
        &dir.join("outbox.db"),
        "embed_snapshots = false",
        "",
    );
    text.push_str(&format!(
        "[health]\nlisten = \"127.0.0.1:{http}\"\n{health_extra}\n{cameras}"
    ));
    let path = dir.join("estatewatch.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn metrics_move_healthz_is_ok_and_stats_are_published() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start();
    let sub = Subscriber::connect(broker.port(), "estatewatch/gw1/#");
    sub.wait_subscribed(1, Duration::from_secs(10));
    let clip = clip(dir.path());
    let http = free_port();
    let cams = camera("gate", &clip, "") + &camera("shed", &clip, "");
    let cfg = write_config(
        dir.path(),
        broker.port(),
        http,
        &cams,
        "stats_interval_s = 1",
    );
    let mut d = Daemon::start_with(&cfg, &dir.path().join("daemon.log"), &[], &[]);
    let log = || d.log();

    let first = wait_for(
        "frames on both cameras",
        Duration::from_secs(30),
        &log,
        || {
            let m = get(http, "/metrics").map(|(_, b)| b)?;
            let ok = ["gate", "shed"].iter().all(|c| {
                metric(
                    &m,
                    &format!("estatewatch_camera_frames_analysed_total{{camera=\"{c}\"}}"),
                )
                .is_some_and(|v| v > 0.0)
            });
            ok.then_some(m)
        },
    );
    let later = wait_for("counters to move", Duration::from_secs(30), &log, || {
        let m = metrics(http);
        let grew =
            |name: &str| metric(&m, name).unwrap_or(0.0) > metric(&first, name).unwrap_or(0.0);
        (grew("estatewatch_camera_frames_in_total{camera=\"gate\"}")
            && grew("estatewatch_camera_frames_analysed_total{camera=\"shed\"}")
            && grew(
                "estatewatch_analyzer_duration_seconds_count{camera=\"gate\",analyzer=\"motion\"}",
            )
            && grew("estatewatch_mqtt_delivered_total")
            && metric(&m, "estatewatch_camera_fps_in{camera=\"gate\"}").unwrap_or(0.0) > 0.0)
            .then_some(m)
    });
    assert_eq!(
        metric(&later, "estatewatch_mqtt_connected"),
        Some(1.0),
        "{later}"
    );
    assert_eq!(metric(&later, "estatewatch_up"), Some(1.0), "{later}");
    assert!(metric(&later, "estatewatch_mqtt_publish_latency_seconds_count").unwrap() > 0.0);
    assert!(
        metric(
            &later,
            "estatewatch_analyzer_duration_seconds_sum{camera=\"shed\",analyzer=\"motion\"}"
        )
        .unwrap()
            > 0.0
    );
    assert!(later.contains("# TYPE estatewatch_analyzer_duration_seconds summary"));
    promtool_check(&later);
    for name in [
        "estatewatch_outbox_depth",
        "estatewatch_outbox_oldest_age_seconds",
        "estatewatch_outbox_dropped_total",
        "estatewatch_camera_reconnects_total{camera=\"gate\"}",
        "estatewatch_camera_frames_skipped_total{camera=\"gate\"}",
        "estatewatch_camera_fps_skipped{camera=\"shed\"}",
    ] {
        assert!(metric(&later, name).is_some(), "no {name} in:\n{later}");
    }
    assert!(later.contains("# TYPE estatewatch_camera_frames_in_total counter"));

    let (status, body) = get(http, "/healthz").unwrap();
    assert_eq!(status, 200, "{body}");
    let h: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(h["status"], "ok", "{body}");
    assert_eq!(get(http, "/nope").unwrap().0, 404);

    // The retained stats JSON, with the same figures.
    let topic = "estatewatch/gw1/stats";
    assert!(
        sub.wait_until(Duration::from_secs(15), |msgs| msgs
            .iter()
            .any(|m| m.topic == topic
                && m.json()["cameras"].as_array().is_some_and(|c| c.len() == 2))),
        "no stats on {topic}; log:\n{}",
        d.log()
    );
    let msg = sub
        .messages()
        .into_iter()
        .rev()
        .find(|m| m.topic == topic)
        .unwrap();
    let stats = msg.json();
    assert_eq!(stats["gateway"], "gw1");
    assert_eq!(stats["schema"], "estatewatch.stats.v1");
    let gate = stats["cameras"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["camera"] == "gate")
        .unwrap();
    assert!(gate["frames_in"].as_u64().unwrap() > 0, "{stats}");
    assert!(
        stats["outbox"]["depth"].is_u64() && stats["mqtt"]["connected"] == true,
        "{stats}"
    );
    // A new subscriber gets it from the broker: it is retained.
    let late = Subscriber::connect(broker.port(), topic);
    assert!(
        late.wait_until(Duration::from_secs(10), |m| m.iter().any(|m| m.retain)),
        "stats not retained"
    );
    assert!(d.term(), "daemon did not stop cleanly");
}

#[test]
fn healthz_turns_503_when_an_analysis_worker_hangs() {
    let dir = tempfile::tempdir().unwrap();
    let clip = clip(dir.path());
    let http = free_port();
    let cfg = write_config(
        dir.path(),
        free_port(), // no broker: reported only after broker_down_after_s (60 s)
        http,
        &camera("gate", &clip, ""),
        "hung_after_s = 1\nstats_interval_s = 0",
    );
    let mut d = Daemon::start_with(
        &cfg,
        &dir.path().join("daemon.log"),
        &[],
        &[("ESTATEWATCH_TEST_HANG_ANALYSIS_AFTER_MS", "3000")],
    );
    let log = || d.log();
    let body = wait_for("a 503", Duration::from_secs(30), &log, || {
        get(http, "/healthz").and_then(|(s, b)| (s == 503).then_some(b))
    });
    let h: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(h["status"], "unhealthy");
    let problems = h["problems"].to_string();
    assert!(
        problems.contains("camera gate") && problems.contains("not ticked"),
        "{body}"
    );
    let m = metrics(http);
    assert_eq!(metric(&m, "estatewatch_up"), Some(0.0), "{m}");
    assert!(d.term());
}

/// promtool: on PATH, or unpacked by scripts/setup.sh into .cache/bin/.
fn promtool() -> PathBuf {
    let cached = Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/bin/promtool");
    if cached.is_file() {
        return cached;
    }
    match Command::new("promtool").arg("--version").output() {
        Ok(o) if o.status.success() => PathBuf::from("promtool"),
        _ => panic!("promtool not found: run scripts/setup.sh (it unpacks it into .cache/bin/)"),
    }
}

/// `promtool check metrics` on a `/metrics` text: no lint problem at all.
pub(crate) fn promtool_check(text: &str) {
    use std::io::Write;
    let mut child = Command::new(promtool())
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        o.status.success() && said.trim().is_empty(),
        "promtool check metrics: {:?}\n{said}\nmetrics:\n{text}",
        o.status.code()
    );
}

#[test]
fn healthz_names_every_problem_of_an_unconfigured_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let http = free_port();
    // The outbox cannot be created: its folder is a regular file.
    std::fs::write(dir.path().join("not-a-folder"), "").unwrap();
    let text = config_text(
        free_port(), // nothing listens: the broker is unreachable
        &dir.path().join("not-a-folder/outbox.db"),
        "",
        "",
    ) + &format!(
        "[health]\nlisten = \"127.0.0.1:{http}\"\nbroker_down_after_s = 1\nstats_interval_s = 0\n"
    );
    let cfg = dir.path().join("estatewatch.toml");
    std::fs::write(&cfg, text).unwrap();
    let mut d = Daemon::start_with(&cfg, &dir.path().join("daemon.log"), &[], &[]);
    let log = || d.log();
    let body = wait_for(
        "a 503 naming all three problems",
        Duration::from_secs(30),
        &log,
        || {
            let (status, body) = get(http, "/healthz")?;
            (status == 503 && body.contains("MQTT broker unreachable")).then_some(body)
        },
    );
    let h: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(h["status"], "unhealthy", "{body}");
    let problems: Vec<String> = h["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    assert_eq!(problems.len(), 3, "{body}");
    assert!(problems[0].contains("no cameras configured"), "{body}");
    assert!(problems[1].contains("(limit 1 s)"), "{body}");
    assert!(problems[2].contains("outbox is not writable"), "{body}");
    assert_eq!(metric(&metrics(http), "estatewatch_up"), Some(0.0));
    // The log says once what to fill in, naming the file.
    let hint = format!("not set up yet: edit {}", cfg.display());
    assert_eq!(d.log_count(&hint), 1, "{}", d.log());
    assert!(d.term());
}

/// Open file descriptors of process `pid`.
fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn idle_connections_cannot_exhaust_the_daemons_descriptors() {
    const IDLE: usize = 300;
    let dir = tempfile::tempdir().unwrap();
    let clip = clip(dir.path());
    let http = free_port();
    let cfg = write_config(
        dir.path(),
        free_port(),
        http,
        &camera("gate", &clip, ""),
        "stats_interval_s = 0",
    );
    let mut d = Daemon::start_with(&cfg, &dir.path().join("daemon.log"), &[], &[]);
    let log = || d.log();
    wait_for("the endpoint", Duration::from_secs(30), &log, || {
        get(http, "/healthz")
    });
    let before = fd_count(d.pid());
    // Connections that never send a request, as a misbehaving client or an
    // attacker would leave them.
    let idle: Vec<std::net::TcpStream> = (0..IDLE)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", http)).unwrap())
        .collect();
    // /healthz still answers while they are open, and the daemon never
    // holds more descriptors than the cap allows (sampled over a while).
    let mut most = 0;
    let (status, _) = wait_for(
        "/healthz with idle connections open",
        Duration::from_secs(60),
        &log,
        || {
            most = most.max(fd_count(d.pid()));
            get(http, "/healthz")
        },
    );
    assert!(status == 200 || status == 503, "{status}");
    let end = std::time::Instant::now() + Duration::from_secs(3);
    while std::time::Instant::now() < end {
        most = most.max(fd_count(d.pid()));
        std::thread::sleep(Duration::from_millis(20));
    }
    let cap = estatewatch::console::server::MAX_CONNECTIONS;
    assert!(
        most <= before + cap + 16,
        "daemon held {most} descriptors with {IDLE} idle connections (before: {before}, cap: {cap})"
    );
    drop(idle);
    assert!(d.term());
}

/// Distinct alert ids received so far, per camera.
fn alert_ids(sub: &Subscriber) -> HashSet<String> {
    sub.alerts()
        .iter()
        .filter_map(|a| a["id"].as_str().map(String::from))
        .collect()
}

#[test]
fn sighup_changes_one_camera_and_loses_no_alert() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start();
    let sub = Subscriber::connect(broker.port(), "estatewatch/gw1/#");
    sub.wait_subscribed(1, Duration::from_secs(10));
    let clip = clip(dir.path());
    let http = free_port();
    let health = "stats_interval_s = 0";
    let whole = camera("gate", &clip, "") + &camera("shed", &clip, "");
    let cfg = write_config(dir.path(), broker.port(), http, &whole, health);
    let mut d = Daemon::start_with(&cfg, &dir.path().join("daemon.log"), &[], &[]);
    let log = || d.log();
    let frames = |m: &str, c: &str| {
        metric(
            m,
            &format!("estatewatch_camera_frames_in_total{{camera=\"{c}\"}}"),
        )
        .unwrap_or(0.0)
    };

    // Alerts flow from both cameras.
    wait_for(
        "alerts from both cameras",
        Duration::from_secs(30),
        &log,
        || {
            let cams: HashSet<String> = sub
                .alerts()
                .iter()
                .filter(|a| a["kind"] == "motion")
                .filter_map(|a| a["camera"].as_str().map(String::from))
                .collect();
            (cams.len() == 2).then_some(())
        },
    );
    // Long enough that a restarted gate would show a much smaller count.
    let before = wait_for(
        "30 frames per camera",
        Duration::from_secs(30),
        &log,
        || {
            let m = metrics(http);
            (frames(&m, "gate") >= 30.0 && frames(&m, "shed") >= 30.0).then_some(m)
        },
    );

    // Only gate's zones change; a broken file first must change nothing.
    std::fs::write(&cfg, "this is not toml [").unwrap();
    d.signal(libc::SIGHUP);
    wait_for("the rejection", Duration::from_secs(10), &log, || {
        log().contains("new config rejected").then_some(())
    });
    let zoned = camera(
        "gate",
        &clip,
        "zones = [ { name = \"left\", polygon = [[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]] } ]",
    ) + &camera("shed", &clip, "");
    write_config(dir.path(), broker.port(), http, &zoned, health);
    d.signal(libc::SIGHUP);
    wait_for("the reload", Duration::from_secs(20), &log, || {
        log().contains("config reloaded").then_some(())
    });
    let l = log();
    assert!(l.contains("restarted=[\"gate\"]"), "{l}");
    assert!(
        l.contains("camera restarted with its new config") && !l.contains("camera removed"),
        "{l}"
    );

    // shed kept running: its counter never went back and keeps growing;
    // gate is a new pipeline (its counter started again) and alerts again,
    // now only from the left zone.
    let after = wait_for(
        "frames after the reload",
        Duration::from_secs(30),
        &log,
        || {
            let m = metrics(http);
            (frames(&m, "shed") > frames(&before, "shed") + 5.0 && frames(&m, "gate") > 0.0)
                .then_some(m)
        },
    );
    assert!(
        frames(&after, "gate") < frames(&before, "gate"),
        "gate was not restarted: before {before}\nafter {after}"
    );
    assert_eq!(
        metric(
            &after,
            "estatewatch_camera_reconnects_total{camera=\"shed\"}"
        ),
        metric(
            &before,
            "estatewatch_camera_reconnects_total{camera=\"shed\"}"
        )
    );
    wait_for(
        "a zoned alert from gate",
        Duration::from_secs(30),
        &log,
        || {
            sub.alerts()
                .iter()
                .any(|a| a["camera"] == "gate" && a["zone"] == "left")
                .then_some(())
        },
    );

    // Stop both cameras by reload, then every alert ever queued must have
    // reached the subscriber.
    write_config(dir.path(), broker.port(), http, "", health);
    d.signal(libc::SIGHUP);
    wait_for("cameras removed", Duration::from_secs(20), &log, || {
        (log().matches("camera removed").count() == 2).then_some(())
    });
    // Their retained state is deleted (an empty retained message), so a
    // dashboard that subscribes now sees no removed camera.
    for cam in ["gate", "shed"] {
        let topic = format!("estatewatch/gw1/cameras/{cam}/state");
        wait_for("the state cleared", Duration::from_secs(20), &log, || {
            (sub.last_on(&topic).as_deref() == Some("")).then_some(())
        });
    }
    let late = Subscriber::connect(broker.port(), "estatewatch/gw1/cameras/+/state");
    late.wait_subscribed(1, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(500));
    assert!(late.messages().is_empty(), "{:?}", late.messages());
    let (submitted, received) = wait_for(
        "every alert delivered",
        Duration::from_secs(30),
        &log,
        || {
            let m = metrics(http);
            let submitted = metric(&m, "estatewatch_alerts_submitted_total")? as usize;
            let depth = metric(&m, "estatewatch_outbox_depth")?;
            let received = alert_ids(&sub).len();
            (depth == 0.0 && received == submitted).then_some((submitted, received))
        },
    );
    assert!(
        submitted > 20,
        "too few alerts to prove anything: {submitted}"
    );
    assert_eq!(received, submitted);
    assert_eq!(
        metric(&metrics(http), "estatewatch_outbox_dropped_total"),
        Some(0.0)
    );
    assert!(d.term(), "daemon did not stop cleanly");
}

#[test]
fn reload_command_validates_first_then_signals_the_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let clip = clip(dir.path());
    let http = free_port();
    let broker = free_port(); // no broker needed
    let health = "stats_interval_s = 0";
    let cfg = write_config(dir.path(), broker, http, &camera("gate", &clip, ""), health);
    let mut d = Daemon::start_with(&cfg, &dir.path().join("daemon.log"), &[], &[]);
    let log = || d.log();
    wait_for("the endpoint", Duration::from_secs(30), &log, || {
        get(http, "/healthz")
    });
    let reload = || {
        Command::new(BIN)
            .args(["reload", "--config"])
            .arg(&cfg)
            .env("ESTATEWATCH_LOG", "warn")
            .output()
            .unwrap()
    };

    // Invalid: refused before the daemon hears anything.
    let bad = camera("gate", &clip, "") + "[[cameras]]\nname = \"shed\"\nurl = \"\"\n";
    write_config(dir.path(), broker, http, &bad, health);
    let o = reload();
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("cameras[1].url"),
        "{o:?}"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(!log().contains("reloading the config"), "{}", log());

    // Valid: a camera is added, gate is left alone.
    let two = camera("gate", &clip, "") + &camera("shed", &clip, "");
    write_config(dir.path(), broker, http, &two, health);
    let o = reload();
    assert!(o.status.success(), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("pid"), "{o:?}");
    wait_for("shed frames", Duration::from_secs(30), &log, || {
        let m = metrics(http);
        metric(&m, "estatewatch_camera_frames_in_total{camera=\"shed\"}")
            .filter(|v| *v > 0.0)
            .map(|_| ())
    });
    let l = log();
    assert!(
        l.contains("added=[\"shed\"]") && l.contains("unchanged=1"),
        "{l}"
    );
    assert!(d.term());

    // No daemon: exit 1 with a sentence.
    let o = reload();
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no running daemon"),
        "{o:?}"
    );
}
