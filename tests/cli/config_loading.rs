//! Issue 17, config and secrets: `check-config` loads TLS material and parses
//! camera URLs as `run` does (item 7); parse errors name the field path and
//! every problem, and oversized files are refused (item 8); systemd
//! credential paths work outside the service (item 10). Real files, the real
//! binary.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::check_config::check_config as check;
use crate::common::mosquitto;

const BASE: &str = r#"
[site]
id = "estate"
[gateway]
id = "gw1"
[outbox]
path = "/tmp/estatewatch-hardening-outbox.db"
"#;

fn camera(url: &str, extra: &str) -> String {
    format!("[[cameras]]\nname = \"cam1\"\nurl = \"{url}\"\n{extra}\n")
}

/// Runs the binary with `args` and `env`; exit code and all output.
fn estatewatch(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_estatewatch"));
    cmd.args(args)
        .env_remove("CREDENTIALS_DIRECTORY")
        .env_remove("ESTATEWATCH_CREDENTIAL_SOURCE_DIR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let mut all = String::from_utf8_lossy(&out.stdout).to_string();
    all.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), all)
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn check_config_rejects_a_ca_file_that_is_not_pem_as_run_does() {
    let dir = tempfile::tempdir().unwrap();
    let ca = write(dir.path(), "ca.pem", "this is not a certificate\n");
    let text = format!("{BASE}[mqtt.tls]\nca_file = \"{ca}\"\n");
    let (code, out) = check(&text);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("mqtt.tls.ca_file"), "{out}");
    assert!(out.contains("PEM"), "{out}");

    // `run` refuses the same file with the same field named.
    let file = write(dir.path(), "c.toml", &text);
    let (code, run_out) = estatewatch(&["run", "--config", &file], &[]);
    assert_ne!(code, 0, "{run_out}");
    assert!(run_out.contains("mqtt.tls.ca_file"), "{run_out}");
}

#[test]
fn check_config_loads_the_client_key_and_sees_it_does_not_match() {
    let dir = tempfile::tempdir().unwrap();
    let a = mosquitto::make_pki(&dir.path().join("a"), "a");
    let b = mosquitto::make_pki(&dir.path().join("b"), "b");
    let text = format!(
        "{BASE}[mqtt.tls]\nca_file = \"{}\"\nclient_cert = \"{}\"\nclient_key = \"{}\"\n",
        a.ca_cert.display(),
        a.client_cert.display(),
        b.client_key.display()
    );
    let (code, out) = check(&text);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("mqtt.tls.client_key"), "{out}");

    // The matching key passes.
    let good = text.replace(
        &b.client_key.display().to_string(),
        &a.client_key.display().to_string(),
    );
    let (code, out) = check(&good);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn check_config_parses_camera_urls_as_run_does() {
    for (url, word) in [
        ("rtsp://10.0.0.5:99999/s1", "port"),
        ("rtsp://10.0.0.5:0/s1", "port"),
        ("rtsp://cam one.local/s1", "' '"),
        ("rtsp://admin@cam\tone/s1", "'\\t'"),
        ("rtsp://cam$one/s1", "host"),
    ] {
        let text = format!("{BASE}{}", camera(&url.replace('\t', "\\t"), ""));
        let (code, out) = check(&text);
        assert_eq!(code, 2, "{url}: {out}");
        assert!(out.contains("cameras[0].url"), "{url}: {out}");
        assert!(out.contains(word), "{url}: {out}");
    }
    for url in [
        "rtsp://10.0.0.5:554/s1",
        "rtsp://[fe80::1]:8554/s1",
        "rtsp://cam-1.local/s1?channel=1&subtype=0",
    ] {
        let (code, out) = check(&format!("{BASE}{}", camera(url, "")));
        assert_eq!(code, 0, "{url}: {out}");
    }
}

#[test]
fn type_errors_and_unknown_keys_name_the_field_path_and_line() {
    let text = format!(
        "{BASE}{}[cameras.detect]\nfps = \"ten\"\n",
        camera("rtsp://h/s", "")
    );
    let (code, out) = check(&text);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("cameras[0].detect.fps: invalid type"), "{out}");
    assert!(out.contains("line 13, column 7"), "{out}");

    let text = format!(
        "{BASE}{}[cameras.detect]\nfpz = 10\n",
        camera("rtsp://h/s", "")
    );
    let (code, out) = check(&text);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("cameras[0].detect.fpz: unknown field `fpz`"),
        "{out}"
    );
}

#[test]
fn every_unknown_key_and_wrong_type_is_reported_at_once() {
    let text = format!(
        "{BASE}[health]\nlisten_port = 1\n[mqtt]\nport = \"x\"\n{}[cameras.detect]\nfpz = 3\n",
        camera("rtsp://h/s", "password_fil = \"/x\"\nenabeld = true")
    );
    let (code, out) = check(&text);
    assert_eq!(code, 2, "{out}");
    for want in [
        "health.listen_port: unknown field",
        "mqtt.port: invalid type",
        "cameras[0].password_fil: unknown field",
        "cameras[0].enabeld: unknown field",
        "cameras[0].detect.fpz: unknown field",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    assert!(out.contains("5 problem(s)"), "{out}");
    // Each with its line: the first from the parser, the others found by key.
    for want in [
        "`listen_port`, expected",
        "(line 9, column 1)",
        "expected u16 (line 11)",
        "`password_fil` (line 15)",
        "`enabeld` (line 16)",
        "(line 18)",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}

#[test]
fn an_oversized_config_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    // A valid config padded with comments to 2 MiB.
    let mut text = BASE.to_string();
    let line = format!("# {}\n", "x".repeat(77));
    while text.len() < 2 * 1024 * 1024 {
        text.push_str(&line);
    }
    let file = write(dir.path(), "big.toml", &text);
    let started = Instant::now();
    let (code, out) = estatewatch(&["check-config", &file], &[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("at most 1048576 bytes"), "{out}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // Just under the cap is fine.
    text.truncate(1024 * 1024 - 200);
    let cut = text.rfind('\n').unwrap();
    text.truncate(cut + 1);
    let file = write(dir.path(), "ok.toml", &text);
    let (code, out) = estatewatch(&["check-config", &file], &[]);
    assert_eq!(code, 0, "{out}");
}

/// A camera whose password is the documented systemd credential.
fn credential_config(dir: &Path) -> String {
    let text = format!(
        "{BASE}{}",
        camera(
            "rtsp://admin@10.0.0.5/s1",
            "password_file = \"/run/credentials/estatewatch.service/tower-pw\""
        )
    );
    write(dir, "c.toml", &text)
}

#[test]
fn systemd_credential_paths_resolve_outside_the_service() {
    assert!(
        !Path::new("/run/credentials/estatewatch.service/tower-pw").exists(),
        "this test needs a box where the service is not running"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = credential_config(dir.path());

    // No source file: the problem names the file to create.
    let source = tempfile::tempdir().unwrap();
    let source_dir = source.path().display().to_string();
    let (code, out) = estatewatch(
        &["check-config", &file],
        &[("ESTATEWATCH_CREDENTIAL_SOURCE_DIR", &source_dir)],
    );
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("cameras[0].password_file"), "{out}");
    assert!(
        out.contains(&format!("{source_dir}/tower-pw")),
        "names the source file: {out}"
    );

    // The unit's LoadCredential= source file (here in a test folder).
    write(source.path(), "tower-pw", "s3cret\n");
    let (code, out) = estatewatch(
        &["check-config", &file],
        &[("ESTATEWATCH_CREDENTIAL_SOURCE_DIR", &source_dir)],
    );
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("s3cret"), "{out}");

    // $CREDENTIALS_DIRECTORY, as `systemd-run -p LoadCredential=` sets it.
    let creds = tempfile::tempdir().unwrap();
    write(creds.path(), "tower-pw", "s3cret\n");
    let (code, out) = estatewatch(
        &["check-config", &file],
        &[("CREDENTIALS_DIRECTORY", creds.path().to_str().unwrap())],
    );
    assert_eq!(code, 0, "{out}");
}
