//! Issue 17, command line: `check-config --config FILE`, exit codes (64 for
//! usage errors, 2 for invalid configs), one error message for a missing
//! config, and no colour codes in logs that do not go to a terminal. The real
//! binary.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_estatewatch");

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    let mut all = String::from_utf8_lossy(&out.stdout).to_string();
    all.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), all)
}

/// A valid config with its outbox in `dir`, no health endpoint and a broker
/// port nothing listens on.
fn config(dir: &Path) -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text = format!(
        "[site]\nid = \"estate\"\n[gateway]\nid = \"gw1\"\n[mqtt]\nport = {port}\n\
         [outbox]\npath = \"{}\"\n[health]\nlisten = \"\"\n",
        dir.join("outbox.db").display()
    );
    let file = dir.join("c.toml");
    std::fs::write(&file, text).unwrap();
    file.display().to_string()
}

#[test]
fn check_config_takes_config_like_the_other_commands() {
    let dir = tempfile::tempdir().unwrap();
    let file = config(dir.path());
    for args in [
        vec!["check-config", "--config", &file],
        vec!["check-config", "-c", &file],
        vec!["check-config", &file],
    ] {
        let (code, out) = run(&args);
        assert_eq!(code, 0, "{args:?}: {out}");
        assert!(out.contains("ok"), "{args:?}: {out}");
    }
}

#[test]
fn usage_errors_exit_64_and_help_exits_0() {
    for args in [
        vec!["no-such-command"],
        vec!["run"],
        vec!["run", "--config"],
        vec!["check-config"],
        vec!["watch", "--config", "x.toml", "--no-such-flag"],
        vec!["--log-format", "xml", "run", "--config", "x.toml"],
    ] {
        let (code, out) = run(&args);
        assert_eq!(code, 64, "{args:?}: {out}");
    }
    let (code, out) = run(&["--help"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("64"), "--help documents the exit codes: {out}");
    let (code, _) = run(&["--version"]);
    assert_eq!(code, 0);
}

#[test]
fn invalid_configs_exit_2_from_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[site]\nid = \"estate\"\n[gateway]\nid = \"has space\"\n",
    )
    .unwrap();
    let bad = bad.display().to_string();
    for args in [
        vec!["check-config", &bad],
        vec!["run", "--config", &bad],
        vec!["reload", "--config", &bad],
        vec!["watch", "--config", &bad, "--seconds", "1"],
        vec!["send-test-alert", "--config", &bad, "--timeout-s", "1"],
        vec!["run", "--config", "/nonexistent/estatewatch.toml"],
    ] {
        let (code, out) = run(&args);
        assert_eq!(code, 2, "{args:?}: {out}");
    }
}

#[test]
fn a_missing_config_is_reported_once() {
    let (code, out) = run(&["run", "--config", "/nonexistent/estatewatch.toml"]);
    assert_eq!(code, 2, "{out}");
    assert_eq!(
        out.matches("No such file or directory").count(),
        1,
        "one message: {out}"
    );
    assert!(out.contains("/nonexistent/estatewatch.toml"), "{out}");
}

#[test]
fn logs_to_a_file_have_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let file = config(dir.path());
    let log = dir.path().join("log");
    let mut child = Command::new(BIN)
        .args(["run", "--config", &file])
        .env_remove("NO_COLOR")
        .env("ESTATEWATCH_LOG", "info")
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .env_remove("WATCHDOG_PID")
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
        .spawn()
        .unwrap();
    // The broker is absent: the daemon logs its start and the failed connection.
    let end = Instant::now() + Duration::from_secs(30);
    let mut text = String::new();
    while Instant::now() < end {
        text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("MQTT connection failed") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(text.contains("MQTT connection failed"), "{text}");
    assert!(text.contains("INFO") || text.contains("WARN"), "{text}");
    assert!(
        !text.contains("\x1b["),
        "colour codes in a log file: {text:?}"
    );
}
