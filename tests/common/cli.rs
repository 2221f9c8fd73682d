//! One-off commands of the real `estatewatch` binary (`replay`, `detect`,
//! …): run one, fail the test with its stderr when its exit is not the one
//! expected, and read the JSON lines it prints.
#![allow(dead_code)]

use std::process::Command;

/// The `estatewatch` binary Cargo built for this test run.
pub const BIN: &str = env!("CARGO_BIN_EXE_estatewatch");

/// What a command printed.
pub struct Printed {
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cmd`; fails the test with its stderr unless it exits with success.
pub fn succeeds(cmd: &mut Command) -> Printed {
    let out = cmd.output().expect("the command runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{cmd:?}: {stderr}");
    Printed {
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr,
    }
}

/// Runs `cmd`; fails the test unless it exits with failure. Returns its stderr.
pub fn fails(cmd: &mut Command) -> String {
    let out = cmd.output().expect("the command runs");
    assert!(!out.status.success(), "{cmd:?} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// One JSON value per line of `stdout`.
pub fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}
