//! A camera's latest self-test result as `/metrics` and the stats topic
//! report it (the self-test itself is `analysis::selftest`, which fills this
//! in).

use serde::Serialize;

/// The outcome of one self-test of one camera.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SelftestResult {
    /// When it ran; RFC 3339 UTC with milliseconds.
    #[serde(serialize_with = "super::rfc3339_ms")]
    pub at: chrono::DateTime<chrono::Utc>,
    /// Every check passed.
    pub passed: bool,
    /// Each check with its value and threshold.
    pub checks: Vec<SelftestCheck>,
    /// `compared` (the view was compared with the reference still), `taken`
    /// (there was none; this run's view became it) or `missing` (none, and
    /// this run failed, so none was taken).
    pub reference: &'static str,
    /// Live frames the test used.
    pub frames: u32,
    /// CPU time the test took, milliseconds (its own thread's).
    pub cpu_ms: f64,
}

/// One check of a self-test.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SelftestCheck {
    /// `similarity`, `brightness`, `contrast`, `sharpness` (kind `view`), or
    /// the analyzer whose synthetic incident was tested (`throwing`, `fire`,
    /// `garbage`).
    pub name: &'static str,
    /// `view` or the analyzer's name: the `kind` label of
    /// `estatewatch_selftest_pass`.
    pub kind: &'static str,
    pub passed: bool,
    /// What was measured (for an analyzer: 1 when it raised the incident).
    pub value: Option<f64>,
    /// What it was compared with (`null` when there is nothing to compare
    /// with yet, e.g. no reference still).
    pub threshold: Option<f64>,
    /// Why it failed, or what was not checked, in words.
    pub note: Option<String>,
}

impl SelftestResult {
    /// Each kind (`view`, then the analyzers, in check order) and whether all
    /// its checks passed.
    pub fn kinds(&self) -> Vec<(&'static str, bool)> {
        let mut out: Vec<(&'static str, bool)> = Vec::new();
        for c in &self.checks {
            match out.iter_mut().find(|(k, _)| *k == c.kind) {
                Some((_, ok)) => *ok &= c.passed,
                None => out.push((c.kind, c.passed)),
            }
        }
        out
    }

    /// The names of the checks that failed.
    pub fn failed(&self) -> Vec<&'static str> {
        self.checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.name)
            .collect()
    }
}
