//! Running one test alone in a child process.
//!
//! The tests of an area share one binary and, by default, one process (the
//! test harness runs them on several threads). A test that changes or
//! inspects process-wide state must not share it:
//!
//! - it sets environment variables (`std::env::set_var` races with every
//!   other thread reading the environment, including C code such as
//!   GStreamer);
//! - it counts or names the process's threads (`/proc/self/task`), which
//!   other tests' threads would add to;
//! - it installs global state: a global tracing subscriber, signal handlers;
//! - it loads the ONNX Runtime library in a particular way (a process can
//!   load only one library, once);
//! - or it otherwise assumes it is alone.
//!
//! Start such a test with [`in_own_process!`]:
//!
//! ```ignore
//! use crate::common::own_process::in_own_process;
//!
//! #[test]
//! fn loads_the_runtime_first() {
//!     in_own_process!();
//!     // From here on the test runs alone in a fresh process.
//! }
//! ```
//!
//! The test then re-executes the current test binary with only itself
//! selected (`<name> --exact --include-ignored --test-threads=1`) and the
//! environment variable [`MARKER`] set to its name; the child sees the marker
//! and runs the body. The parent passes if the child reports exactly one
//! passed test, and otherwise fails with the child's output. Filters and
//! `--ignored` given to the parent still decide whether the test runs at all.

use std::process::Command;

/// Environment variable naming the test a child process was started to run.
pub const MARKER: &str = "EW_TEST_OWN_PROCESS";

/// Makes the rest of the calling test function run alone in a child
/// process; see the [module documentation](self). In the parent it returns
/// from the test once the child has passed (and panics if it has not).
macro_rules! in_own_process {
    () => {{
        fn here() {}
        // `<crate>::<module>::<test>::here`
        let path = ::std::any::type_name_of_val(&here);
        let test = path.strip_suffix("::here").unwrap_or(path);
        if !$crate::common::own_process::run_here(test) {
            return;
        }
    }};
}
pub(crate) use in_own_process;

/// Whether the test `path` (`<crate>::<module>::<test>`, as the
/// [`in_own_process!`] macro finds it) should run its body in this process:
/// `true` in the child started for it. In the parent it starts that child,
/// waits for it, panics if the test did not pass there, and returns `false`.
pub fn run_here(path: &str) -> bool {
    // The harness names a test by its path without the crate's name.
    let name = path
        .split_once("::")
        .map_or(path, |(_, rest)| rest)
        .to_string();
    if std::env::var(MARKER).is_ok_and(|v| v == name) {
        return true;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let out = Command::new(&exe)
        .args([
            name.as_str(),
            "--exact",
            "--include-ignored",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(MARKER, &name)
        .output()
        .expect("re-running the test binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Shown by the harness when this test fails (or with --nocapture).
    print!("{stdout}");
    eprint!("{stderr}");
    assert!(
        out.status.success() && stdout.contains("test result: ok. 1 passed"),
        "{name} failed in its own process ({}); its output is above",
        out.status
    );
    false
}
