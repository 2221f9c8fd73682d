//! `estatewatch check-config`: every kind of bad config is rejected with the
//! path of the field at fault and exit code 2; good configs exit 0.

use std::process::Command;

use crate::common::check_config::check_config as check;

const BASE: &str = r#"
[site]
id = "estate"
[gateway]
id = "gw1"
[outbox]
path = "/tmp/estatewatch-test-outbox.db"
"#;

const CAMERA: &str = r#"
[[cameras]]
name = "cam1"
url = "rtsp://127.0.0.1:8554/cam1"
"#;

#[test]
fn reference_config_is_valid() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/estatewatch.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_estatewatch"))
        .args(["check-config", path])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn minimal_config_with_a_camera_is_valid() {
    let (code, out) = check(&format!("{BASE}{CAMERA}"));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ok (1 camera(s), 1 enabled)"), "{out}");
}

/// Each case: a config text and the field path (plus a word of the message)
/// that must be reported.
#[test]
fn bad_configs_are_rejected_with_their_field_path() {
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "self-test time of day",
            format!("{BASE}{CAMERA}[cameras.selftest]\nat = \"3:30pm\"\n"),
            "cameras[0].selftest.at: expected a time of day as \"HH:MM\"",
        ),
        (
            "self-test unknown key",
            format!("{BASE}{CAMERA}[cameras.selftest]\nevery_s = 60\n"),
            "every_s",
        ),
        (
            "fps out of range",
            format!("{BASE}{CAMERA}[cameras.detect]\nfps = 0\n"),
            "cameras[0].detect.fps: must be 1..=30, got 0",
        ),
        (
            "odd width",
            format!("{BASE}{CAMERA}[cameras.detect]\nwidth = 641\n"),
            "cameras[0].detect.width: must be an even number",
        ),
        (
            "duplicate camera names",
            format!("{BASE}{CAMERA}{CAMERA}"),
            "cameras[1].name: duplicate camera name",
        ),
        (
            "unsupported URL scheme",
            format!("{BASE}[[cameras]]\nname = \"c\"\nurl = \"http://x/y\"\n"),
            "cameras[0].url: expected rtsp://",
        ),
        (
            "URL without host",
            format!("{BASE}[[cameras]]\nname = \"c\"\nurl = \"rtsp:///stream\"\n"),
            "cameras[0].url: URL has no host",
        ),
        (
            "missing clip for a file camera",
            format!("{BASE}[[cameras]]\nname = \"c\"\nurl = \"file:///nonexistent/clip.mp4\"\n"),
            "cameras[0].url: file /nonexistent/clip.mp4 does not exist",
        ),
        (
            "password variable not set",
            format!(
                "{BASE}[[cameras]]\nname = \"c\"\nurl = \"rtsp://admin@h/s\"\npassword_env = \"EW_UNSET_VARIABLE\"\n"
            ),
            "cameras[0].password_env: environment variable EW_UNSET_VARIABLE is not set",
        ),
        (
            "two password sources",
            format!(
                "{BASE}[[cameras]]\nname = \"c\"\nurl = \"rtsp://admin@h/s\"\npassword = \"a\"\npassword_env = \"B\"\n"
            ),
            "cameras[0].password: set only one of",
        ),
        (
            "bad camera name",
            format!("{BASE}[[cameras]]\nname = \"cam/1\"\nurl = \"rtsp://h/s\"\n"),
            "cameras[0].name: must be 1..=64 characters",
        ),
        (
            "stall timeout zero",
            format!("{BASE}{CAMERA}stall_timeout_s = 0\n"),
            "cameras[0].stall_timeout_s: must be 1..=600, got 0",
        ),
        (
            "backoff max below min",
            format!("{BASE}{CAMERA}reconnect_min_ms = 5000\nreconnect_max_ms = 1000\n"),
            "cameras[0].reconnect_max_ms: must be reconnect_min_ms (5000)..=600000, got 1000",
        ),
        (
            "wildcard in topic prefix",
            format!("{BASE}[mqtt]\ntopic_prefix = \"estate/#\"\n"),
            "mqtt.topic_prefix: must be a non-empty topic without wildcards",
        ),
        (
            "TLS CA file missing",
            format!("{BASE}[mqtt.tls]\nca_file = \"/nonexistent/ca.pem\"\n"),
            "mqtt.tls.ca_file: file /nonexistent/ca.pem does not exist",
        ),
        (
            "client cert without key",
            format!(
                "{BASE}[mqtt.tls]\nca_file = \"{}\"\nclient_cert = \"{}\"\n",
                concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"),
                concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")
            ),
            "mqtt.tls.client_key: required when client_cert is set",
        ),
        (
            "outbox caps zero",
            format!("{BASE}max_rows = 0\n"),
            "outbox.max_rows: must be >= 1, got 0",
        ),
        (
            "zone point outside the frame",
            format!(
                "{BASE}{CAMERA}[cameras.analyzers.motion]\nzones = [{{ name = \"z\", polygon = [[0.0, 0.0], [1.5, 0.0], [0.0, 1.0]] }}]\n"
            ),
            "cameras[0].analyzers.motion.zones[0].polygon[1]: coordinates are normalised",
        ),
        (
            "zone with two points",
            format!(
                "{BASE}{CAMERA}[cameras.analyzers.motion]\nzones = [{{ name = \"z\", polygon = [[0.0, 0.0], [1.0, 0.0]] }}]\n"
            ),
            "cameras[0].analyzers.motion.zones[0].polygon: needs at least 3 points, got 2",
        ),
        (
            "empty site id",
            "[site]\nid = \"\"\n[gateway]\nid = \"g\"\n".to_string(),
            "site.id: must be 1..=64 characters",
        ),
        (
            "notifier hours",
            format!(
                "{BASE}{CAMERA}[[notifiers]]\nname = \"guards\"\nkind = \"dingtalk\"\n\
                 credentials_file = \"/etc/estatewatch/dingtalk.toml\"\n\
                 [notifiers.route]\nhours = \"22-07\"\ncameras = [\"cam9\"]\n"
            ),
            "notifiers[0].route.hours: expected \"HH:MM-HH:MM\"",
        ),
        (
            "notifier route camera",
            format!(
                "{BASE}{CAMERA}[[notifiers]]\nname = \"guards\"\nkind = \"wecom\"\n\
                 credentials_file = \"/etc/estatewatch/wecom.toml\"\n\
                 [notifiers.route]\ncameras = [\"cam9\"]\n"
            ),
            "notifiers[0].route.cameras[0]: no camera named \"cam9\"",
        ),
        (
            "profile payload not JSON",
            format!(
                "{BASE}[[profiles]]\nname = \"district\"\ntopic = \"d/{{{{ alert.kind }}}}\"\n\
                 payload = \"kind={{{{ alert.kind }}}}\"\n"
            ),
            "profiles[0].payload: rendered text is not JSON",
        ),
    ];
    assert!(cases.len() >= 10);
    for (what, text, expected) in cases {
        let (code, out) = check(&text);
        assert_eq!(code, 2, "{what}: expected exit 2, got {code}: {out}");
        assert!(
            out.contains(expected),
            "{what}: expected {expected:?} in:\n{out}"
        );
    }
}

/// Every polygon kind of the config (motion, fire and garbage zones, fire
/// masks, the throwing facade and its excluded areas) must be a simple
/// polygon: a bow-tie in each is refused, naming the field and the crossing
/// edges, in one run.
#[test]
fn every_kind_of_polygon_must_be_simple() {
    // Corners 0 top left, 1 top right, 2 bottom left, 3 bottom right: the
    // edges 1-2 and 3-0 cross.
    let bow = "[[0.1, 0.1], [0.5, 0.1], [0.1, 0.5], [0.5, 0.5]]";
    let square = "[[0.1, 0.1], [0.5, 0.1], [0.5, 0.5], [0.1, 0.5]]";
    let text = format!(
        "{BASE}{CAMERA}\
         [cameras.analyzers.motion]\nzones = [{{ name = \"m\", polygon = {bow} }}]\n\
         [cameras.analyzers.fire]\nzones = [{{ name = \"f\", polygon = {bow} }}]\n\
         masks = [{{ name = \"lamp\", polygon = {bow} }}]\n\
         [cameras.analyzers.garbage]\nzones = [{{ name = \"g\", polygon = {bow} }}]\n\
         [cameras.analyzers.throwing]\nfacade = {bow}\n\
         exclude = [{{ name = \"ok\", polygon = {square} }}, {{ name = \"tree\", polygon = {bow} }}]\n\
         [cameras.analyzers.throwing.floors]\nrows = [0.9, 0.1]\n"
    );
    let (code, out) = check(&text);
    assert_eq!(code, 2, "{out}");
    let a = "cameras[0].analyzers";
    for field in [
        format!("{a}.motion.zones[0].polygon"),
        format!("{a}.fire.zones[0].polygon"),
        format!("{a}.fire.masks[0].polygon"),
        format!("{a}.garbage.zones[0].polygon"),
        format!("{a}.throwing.facade"),
        format!("{a}.throwing.exclude[1].polygon"),
    ] {
        let want = format!("{field}: edges 1-2 and 3-0 cross; expected a simple polygon");
        assert!(out.contains(&want), "expected {want:?} in:\n{out}");
    }
    assert!(
        !out.contains("exclude[0]"),
        "the simple square passes:\n{out}"
    );
}

#[test]
fn all_problems_are_reported_at_once() {
    let text = format!(
        "{BASE}{CAMERA}stall_timeout_s = 0\n[cameras.detect]\nfps = 99\nwidth = 3\n[[cameras]]\nname = \"cam1\"\nurl = \"ftp://x\"\n"
    );
    let (code, out) = check(&text);
    assert_eq!(code, 2);
    for p in [
        "cameras[0].stall_timeout_s",
        "cameras[0].detect.fps",
        "cameras[0].detect.width",
        "cameras[1].name",
        "cameras[1].url",
    ] {
        assert!(out.contains(p), "missing {p} in:\n{out}");
    }
    assert!(out.contains("5 problem(s)"), "{out}");
}

#[test]
fn unknown_fields_and_syntax_errors_name_the_field_and_line() {
    let (code, out) = check(&format!("{BASE}{CAMERA}fsp = 10\n"));
    assert_eq!(code, 2);
    assert!(out.contains("unknown field `fsp`"), "{out}");
    assert!(out.contains("line"), "{out}");

    let (code, out) = check(&format!("{BASE}{CAMERA}transport = \"sctp\"\n"));
    assert_eq!(code, 2);
    assert!(out.contains("unknown variant `sctp`"), "{out}");

    let (code, out) = check("[site\nid = 1");
    assert_eq!(code, 2);
    assert!(out.contains("not valid"), "{out}");

    let (code, out) = check(&format!("{BASE}[[cameras]]\nurl = \"rtsp://h/s\"\n"));
    assert_eq!(code, 2);
    assert!(out.contains("missing field `name`"), "{out}");
}

#[test]
fn missing_file_is_a_clear_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_estatewatch"))
        .args(["check-config", "/nonexistent/estatewatch.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot read config file /nonexistent/estatewatch.toml"),
        "{err}"
    );
}

#[test]
fn credentials_never_appear_in_problems() {
    let (code, out) = check(&format!(
        "{BASE}[[cameras]]\nname = \"c\"\nurl = \"http://admin:hunter2@h/s\"\n"
    ));
    assert_eq!(code, 2);
    assert!(!out.contains("hunter2"), "{out}");
    assert!(out.contains("http://***@h/s"), "{out}");
}
