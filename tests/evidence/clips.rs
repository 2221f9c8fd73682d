//! A thrown object on a camera with a 1080p evidence stream: the clip, its
//! announcement, the full-resolution snapshot; and when the evidence stream
//! is gone: its `evidence_offline` alert, what alerts say meanwhile, its
//! `evidence_online`, and the evidence figures on `/metrics`.

use crate::announces;
use crate::common::daemon::{metric, metrics, promtool_check, wait_for, Daemon};
use crate::common::mosquitto::{config_text, free_port, Broker, Subscriber};
use crate::common::scenegen::{replay_camera, scenegen};
use estatewatch::ingest::{FileReader, RtspServer};
use estatewatch_scenes::Truth;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

/// Seconds before the alert a clip starts at (`pre_s`), and after (`post_s`).
const PRE_S: u64 = 2;
const POST_S: u64 = 3;
/// The scene generator's keyframe interval (`key-int-max = 2 * fps`).
const GOP_MS: i64 = 2000;

/// The same throw rendered at 640x360 (detect) and 1920x1080 (evidence).
fn render(dir: &Path) -> (Truth, std::path::PathBuf, std::path::PathBuf) {
    let sub = dir.join("sub");
    let main = dir.join("main");
    let params = "size_px=16,floor=6,column=1";
    scenegen(&sub, "throwing", 61, None, params, true);
    scenegen(&main, "throwing", 61, Some((1920, 1080)), params, false);
    let truth = Truth::load(&sub.join("throwing-61.json")).unwrap();
    (
        truth,
        sub.join("throwing-61.mp4"),
        main.join("throwing-61.mp4"),
    )
}

/// The replay config's camera, reading `url`, with `[cameras.evidence]`.
fn camera(replay_toml: &Path, url: &str, evidence: &str) -> String {
    let camera = replay_camera(
        replay_toml,
        &format!("url = \"{url}\"\ntransport = \"tcp\""),
    );
    format!("{camera}\n{evidence}\n")
}

/// Waits for the first alert of `kind`, failing the test with the daemon's log.
fn first_alert(
    sub: &Subscriber,
    kind: &str,
    timeout: Duration,
    log: &dyn Fn() -> String,
) -> serde_json::Value {
    wait_for(&format!("an {kind} alert"), timeout, log, || {
        sub.alerts().into_iter().find(|a| a["kind"] == kind)
    })
}

fn ts(v: &serde_json::Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(v.as_str().expect("a time"))
        .unwrap()
        .with_timezone(&chrono::Utc)
}

fn sha256(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Mean absolute difference of two RGB images over a square of half-size
/// `r` around `(x, y)`.
fn patch_diff(a: &[u8], b: &[u8], w: u32, h: u32, x: f32, y: f32, r: i64) -> f64 {
    let (mut sum, mut n) = (0u64, 0u64);
    for py in (y as i64 - r).max(0)..(y as i64 + r).min(h as i64) {
        for px in (x as i64 - r).max(0)..(x as i64 + r).min(w as i64) {
            let i = (py as usize * w as usize + px as usize) * 3;
            for c in 0..3 {
                sum += (a[i + c] as i64 - b[i + c] as i64).unsigned_abs();
            }
            n += 3;
        }
    }
    sum as f64 / n.max(1) as f64
}

#[test]
fn a_throw_gets_a_full_resolution_clip_and_snapshot_announced_with_their_sha256() {
    let dir = tempfile::tempdir().unwrap();
    let (_truth, sub_clip, main_clip) = render(dir.path());
    let server = RtspServer::start(0, None).unwrap();
    server.add_file_loop("/tower", &sub_clip);
    server.add_file_loop("/tower-main", &main_clip);
    let broker = Broker::start();
    let sub = Subscriber::subscribed(broker.port(), "estatewatch/#");

    let evidence_dir = dir.path().join("evidence");
    let outbox = dir.path().join("outbox.db");
    let config = dir.path().join("estatewatch.toml");
    std::fs::write(
        &config,
        format!(
            "{}\n{}",
            // Its `[evidence] dir` is `evidence_dir`, beside the outbox;
            // pictures are captioned in the site's zone and language.
            config_text(broker.port(), &outbox, "", "").replacen(
                "[gateway]",
                "timezone = \"Asia/Shanghai\"\nlang = \"zh-CN\"\n[gateway]",
                1
            ),
            camera(
                &dir.path().join("sub/throwing-61.toml"),
                &server.url("/tower"),
                &format!(
                    "[cameras.evidence]\nurl = \"{}\"\npre_s = {PRE_S}\npost_s = {POST_S}",
                    server.url("/tower-main")
                )
            )
            .replacen("url = ", "display_name = \"3号楼南侧\"\nurl = ", 1)
        ),
    )
    .unwrap();
    let log = dir.path().join("daemon.log");
    let started = SystemTime::now();
    let daemon = Daemon::start(&config, &outbox, &log);

    // The first throw may come before the ring holds pre_s of video: wait
    // for the announcement of a throw seen at least pre_s + a GOP after start.
    let early = chrono::DateTime::<chrono::Utc>::from(started)
        + chrono::Duration::milliseconds(PRE_S as i64 * 1000 + GOP_MS + 1000);
    let announced = |msgs: &[crate::common::mosquitto::Msg]| {
        msgs.iter().any(|m| {
            let a = m.json();
            a["kind"] == "throwing"
                && announces(&a)
                && a["detected_at"].is_string()
                && ts(&a["detected_at"]) > early
        })
    };
    // A slow shared machine may need a few loops of the clip; the timeout
    // only bounds a failure.
    assert!(
        sub.wait_until(Duration::from_secs(150), announced),
        "no evidence announced; daemon log:\n{}",
        daemon.log()
    );
    let alerts = sub.alerts();
    let update = alerts
        .iter()
        .find(|a| a["kind"] == "throwing" && announces(a) && ts(&a["detected_at"]) > early)
        .unwrap()
        .clone();
    let new = alerts
        .iter()
        .find(|a| a["event"] == update["event"] && a["state"] == "new")
        .expect("the incident's new came first")
        .clone();
    let received = |a: &serde_json::Value| {
        sub.messages()
            .into_iter()
            .find(|m| m.json()["id"] == a["id"])
            .map(|m| m.received_at)
            .unwrap()
    };
    // A figure for the report, not a check (timing depends on the machine).
    eprintln!(
        "evidence: announcement {} ms after the new (post_s = {POST_S} s)",
        received(&update).duration_since(received(&new)).as_millis()
    );
    assert_eq!(update["state"], "update", "{update}");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/docs/alert-v1.schema.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&update)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "the announcement does not fit the schema: {errors:?}"
    );
    assert_eq!(update["kind"], "throwing");
    assert!(
        update.get("snapshot").is_none(),
        "the announcement carries no picture bytes"
    );
    let ev = &update["evidence"];
    assert!(ev["reason"].is_null(), "{ev}");

    // The clip: where it says, the sha256 it says, and it plays.
    let clip = &ev["clip"];
    let path = evidence_dir.join(clip["path"].as_str().unwrap());
    assert_eq!(
        clip["path"].as_str().unwrap(),
        format!("throwing-61/{}/clip.mp4", update["event"].as_str().unwrap())
    );
    assert_eq!(sha256(&path), clip["sha256"].as_str().unwrap());
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        clip["bytes"].as_u64().unwrap()
    );
    assert_eq!(
        (clip["width"].as_u64(), clip["height"].as_u64()),
        (Some(1920), Some(1080))
    );
    let at = ts(&new["detected_at"]);
    let start = ts(&clip["start"]);
    let lead_ms = (at - start).num_milliseconds();
    assert!(
        lead_ms >= PRE_S as i64 * 1000 - GOP_MS && lead_ms <= PRE_S as i64 * 1000 + GOP_MS,
        "clip starts {lead_ms} ms before the alert; pre_s = {PRE_S} s, GOP {GOP_MS} ms"
    );
    let duration_ms = clip["duration_ms"].as_u64().unwrap();
    assert!(
        duration_ms + 500 >= (PRE_S + POST_S) * 1000,
        "clip of {duration_ms} ms"
    );
    let out = Command::new("gst-discoverer-1.0")
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("Width: 1920") && text.contains("Height: 1080"),
        "{text}"
    );
    assert!(text.contains("H.264"), "{text}");
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("Duration:"))
        .expect("a duration");
    let hms = line.trim().trim_start_matches("Duration:").trim();
    let secs: f64 = hms
        .split(':')
        .map(|p| p.parse::<f64>().unwrap())
        .fold(0.0, |acc, v| acc * 60.0 + v);
    assert!(
        (secs * 1000.0 - duration_ms as f64).abs() < 500.0,
        "discoverer says {secs} s, the announcement {duration_ms} ms"
    );
    assert!(
        !path.with_extension("mp4.part").exists(),
        "no unfinished file is left beside the clip"
    );

    // The snapshot: full resolution, with the alert's box scaled up.
    let snap = &ev["snapshot"];
    let spath = evidence_dir.join(snap["path"].as_str().unwrap());
    assert_eq!(sha256(&spath), snap["sha256"].as_str().unwrap());
    let img = image::open(&spath).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (1920, 1080));
    let b = &new["box"];
    let (bx, by, bw, bh) = (
        b["x"].as_f64().unwrap() as f32 * 1920.0,
        b["y"].as_f64().unwrap() as f32 * 1080.0,
        b["w"].as_f64().unwrap() as f32 * 1920.0,
        b["h"].as_f64().unwrap() as f32 * 1080.0,
    );
    // The box's left edge (drawn red, 6 px wide at 1920) at its scaled place.
    let mid_y = (by + bh / 2.0) as u32;
    let px = img.get_pixel(bx.floor() as u32, mid_y).0;
    assert!(
        px[0] > 180 && px[1] < 110 && px[2] < 110,
        "no red box edge at ({bx}, {mid_y}): {px:?}"
    );

    // The two clocks: the clip's frame at the alert's moment shows the
    // object where the detect stream saw it (the last trajectory point),
    // inside the box. Compared with the clip's first frame (before the
    // fall), the picture changed there, and far less elsewhere.
    let points = new["details"]["trajectory"].as_array().unwrap();
    let last = points.last().unwrap();
    let (ox, oy) = (
        last[1].as_f64().unwrap() as f32 * 1920.0,
        last[2].as_f64().unwrap() as f32 * 1080.0,
    );
    assert!(ox >= bx && ox <= bx + bw && oy >= by && oy <= by + bh);
    let mut reader = FileReader::open(&path, "clip", 1920, 1080, 30).unwrap();
    let mut first = None;
    let mut at_alert = None;
    while let Some(f) = reader.next().transpose().unwrap() {
        let t = f.pts.unwrap_or_default().as_millis() as i64;
        if first.is_none() {
            first = Some(f.clone());
        }
        if t <= lead_ms {
            at_alert = Some(f);
        } else {
            break;
        }
    }
    let (first, at_alert) = (first.unwrap(), at_alert.unwrap());
    // The caption, bottom left, on both pictures: white text (the display
    // name and the site-local time) on a darkened box, where the camera's
    // own frame has neither.
    let (cx, cy, lh) = estatewatch::alert::caption::Caption::position(1920, 1080);
    let (mut ink, mut dark) = (0, 0);
    for y in cy as u32..cy as u32 + lh {
        for x in cx as u32..700 {
            let p = img.get_pixel(x, y).0;
            let i = (y as usize * 1920 + x as usize) * 3;
            let raw = &at_alert.rgb[i..i + 3];
            ink += usize::from(p.iter().all(|&c| c > 200) && raw.iter().any(|&c| c <= 200));
            dark += usize::from(
                p.iter()
                    .zip(raw)
                    .all(|(a, b)| u32::from(*a) * 2 <= u32::from(*b) + 4),
            );
        }
    }
    assert!(
        ink > 400 && dark > 4000,
        "no caption on the full-resolution snapshot: {ink} text pixels, {dark} darkened"
    );
    let detect = evidence_dir.join(format!(
        "throwing-61/{}/snapshot-detect.jpg",
        new["event"].as_str().unwrap()
    ));
    let small = image::open(&detect).unwrap().to_rgb8();
    let (cx, cy, lh) =
        estatewatch::alert::caption::Caption::position(small.width(), small.height());
    let ink = (cy as u32..cy as u32 + lh)
        .flat_map(|y| (cx as u32..240).map(move |x| (x, y)))
        .filter(|&(x, y)| small.get_pixel(x, y).0.iter().all(|&c| c > 150))
        .count();
    assert!(
        ink > 40,
        "no caption on {}: {ink} text pixels",
        detect.display()
    );
    // Kept for a look: target/evidence-pictures/.
    let keep = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("evidence-pictures");
    let _ = std::fs::create_dir_all(&keep);
    let _ = std::fs::copy(&spath, keep.join("snapshot.jpg"));
    let _ = std::fs::copy(&detect, keep.join("snapshot-detect.jpg"));
    let r = 24;
    let here = patch_diff(&first.rgb, &at_alert.rgb, 1920, 1080, ox, oy, r);
    let elsewhere = patch_diff(&first.rgb, &at_alert.rgb, 1920, 1080, 1920.0 - ox, oy, r);
    assert!(
        here > 3.0 * elsewhere.max(1.0),
        "the object is not where the alert says at the alert's moment: change {here:.1} there, {elsewhere:.1} elsewhere"
    );
    drop(daemon);
    server.stop();
}

/// The value of `name{camera="throwing-61"}` in a `/metrics` text.
fn cam_metric(body: &str, name: &str) -> Option<f64> {
    metric(body, &format!("{name}{{camera=\"throwing-61\"}}"))
}

#[test]
fn when_the_evidence_stream_drops_it_is_alerted_alerts_say_no_clip_and_it_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let sub_dir = dir.path().join("sub");
    scenegen(
        &sub_dir,
        "throwing",
        61,
        None,
        "size_px=16,floor=6,column=1",
        true,
    );
    let clip = sub_dir.join("throwing-61.mp4");
    let detect = RtspServer::start(0, None).unwrap();
    detect.add_file_loop("/tower", &clip);
    // The evidence stream on a server of its own, to be unplugged and
    // plugged in again on the same port.
    let main = RtspServer::start(0, None).unwrap();
    main.add_file_loop("/tower-main", &clip);
    let main_port = main.port();
    let main_url = main.url("/tower-main");
    let broker = Broker::start();
    let sub = Subscriber::subscribed(broker.port(), "estatewatch/#");
    let evidence_dir = dir.path().join("evidence");
    let outbox = dir.path().join("outbox.db");
    let config = dir.path().join("estatewatch.toml");
    let http = free_port();
    // A short grace and quick reconnects, as for the detect stream.
    let camera = camera(
        &sub_dir.join("throwing-61.toml"),
        &detect.url("/tower"),
        &format!("[cameras.evidence]\nurl = \"{main_url}\"\npre_s = {PRE_S}\npost_s = {POST_S}"),
    )
    .replacen(
        "transport = \"tcp\"",
        "transport = \"tcp\"\noffline_grace_s = 2\nreconnect_min_ms = 200\nreconnect_max_ms = 1000",
        1,
    );
    std::fs::write(
        &config,
        format!(
            "{}[health]\nlisten = \"127.0.0.1:{http}\"\n{camera}",
            // Its `[evidence] dir` is `evidence_dir`, beside the outbox.
            config_text(broker.port(), &outbox, "", ""),
        ),
    )
    .unwrap();
    let log = dir.path().join("daemon.log");
    let daemon = Daemon::start(&config, &outbox, &log);
    let dlog = || daemon.log();
    daemon.wait_log("evidence stream online", Duration::from_secs(60));
    wait_for(
        "evidence stream online on /metrics",
        Duration::from_secs(30),
        &dlog,
        || {
            (cam_metric(&metrics(http), "estatewatch_evidence_stream_online") == Some(1.0))
                .then_some(())
        },
    );
    main.stop();
    daemon.wait_log("evidence stream offline", Duration::from_secs(60));
    let unplugged = chrono::Utc::now();

    // The outage is alerted after the grace, as its own incident; the
    // camera itself is not offline.
    let offline = first_alert(&sub, "evidence_offline", Duration::from_secs(60), &dlog);
    assert_eq!(offline["state"], "new", "{offline}");
    assert_eq!(offline["severity"], "warning", "{offline}");
    assert_eq!(offline["camera"], "throwing-61", "{offline}");
    assert!(offline["details"]["reason"].is_string(), "{offline}");
    assert_eq!(offline["details"]["grace_s"], 2, "{offline}");

    // Throws seen after the unplugging are still alerted, and their
    // announcement says there is no clip, and why.
    let after = |a: &serde_json::Value, t: chrono::DateTime<chrono::Utc>| {
        a["kind"] == "throwing" && a["detected_at"].is_string() && ts(&a["detected_at"]) > t
    };
    let got = sub.wait_until(Duration::from_secs(150), |msgs| {
        msgs.iter().any(|m| {
            let a = m.json();
            after(&a, unplugged) && announces(&a)
        })
    });
    assert!(got, "no announcement; daemon log:\n{}", daemon.log());
    let alerts = sub.alerts();
    let update = alerts
        .iter()
        .find(|a| after(a, unplugged) && announces(a))
        .unwrap();
    assert!(
        alerts.iter().any(|a| a["event"] == update["event"]
            && a["state"] == "new"
            && a["evidence"]["files"]
                .as_array()
                .is_some_and(|f| f.iter().any(|f| f["name"] == "snapshot-detect.jpg"))),
        "the alert itself went out, with its detect-size snapshot stored"
    );
    let ev = &update["evidence"];
    assert!(ev["clip"].is_null(), "{ev}");
    assert!(ev["snapshot"].is_null(), "{ev}");
    let reason = ev["reason"].as_str().unwrap();
    assert!(reason.starts_with("evidence stream offline"), "{reason}");
    let folder = evidence_dir
        .join("throwing-61")
        .join(update["event"].as_str().unwrap());
    for name in ["clip.mp4", "snapshot.jpg"] {
        assert!(
            !folder.join(name).exists(),
            "no {name} is written without the evidence stream"
        );
    }
    assert!(
        !alerts.iter().any(|a| a["kind"] == "camera_offline"),
        "the detect stream stayed up"
    );
    let m = metrics(http);
    assert_eq!(
        cam_metric(&m, "estatewatch_evidence_stream_online"),
        Some(0.0),
        "{m}"
    );
    assert!(
        cam_metric(&m, "estatewatch_evidence_clips_failed_total").unwrap_or(0.0) >= 1.0,
        "{m}"
    );
    promtool_check(&m);

    // Plugged in again: the outage ends, and clips come back.
    let main = RtspServer::start(main_port, None).unwrap();
    main.add_file_loop("/tower-main", &clip);
    let online = first_alert(&sub, "evidence_online", Duration::from_secs(90), &dlog);
    assert_eq!(online["state"], "end", "{online}");
    assert_eq!(online["event"], offline["event"], "it ends the outage");
    let back = ts(&online["detected_at"]);
    let got = sub.wait_until(Duration::from_secs(150), |msgs| {
        msgs.iter().any(|m| {
            let a = m.json();
            after(&a, back) && a["evidence"]["clip"].is_object()
        })
    });
    assert!(
        got,
        "no clip after the stream came back; daemon log:\n{}",
        daemon.log()
    );
    let m = metrics(http);
    assert_eq!(
        cam_metric(&m, "estatewatch_evidence_stream_online"),
        Some(1.0),
        "{m}"
    );
    assert!(
        cam_metric(&m, "estatewatch_evidence_clips_written_total").unwrap_or(0.0) >= 1.0,
        "{m}"
    );
    let delay = cam_metric(&m, "estatewatch_evidence_last_announce_delay_seconds")
        .expect("a clip's announcement delay");
    assert!(
        delay >= POST_S as f64,
        "announced before post_s was over: {delay}"
    );
    assert!(
        cam_metric(&m, "estatewatch_evidence_ring_bytes").unwrap_or(0.0) > 0.0,
        "{m}"
    );
    assert!(
        cam_metric(&m, "estatewatch_evidence_ring_seconds").unwrap_or(0.0) > 0.0,
        "{m}"
    );
    promtool_check(&m);
    drop(daemon);
    main.stop();
    detect.stop();
}
