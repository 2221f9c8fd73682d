//! `estatewatch check-config` on a config given as text, for the config tests.

use std::process::Command;

/// Writes `text` to a temporary file, runs `estatewatch check-config` on it
/// and returns its exit code (-1 if killed) with stdout and stderr together.
/// `EW_UNSET_VARIABLE` is removed from its environment, so a config can name
/// it as a `password_env` that is certainly unset.
pub fn check_config(text: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_estatewatch"))
        .arg("check-config")
        .arg(&path)
        .env_remove("EW_UNSET_VARIABLE")
        .output()
        .unwrap();
    let mut all = String::from_utf8_lossy(&out.stdout).to_string();
    all.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), all)
}
