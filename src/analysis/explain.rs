//! Why an analyzer did or did not alert, for integrators (`replay --explain`).
//!
//! An analyzer that supports it records an [`Explanation`] for each alert it
//! raises and each candidate it rejects: what was judged (a track, a fire
//! cell, a bag candidate), the verdict, and every cue with the value seen and
//! the threshold it was compared with. [`Analyzer::explain`](super::Analyzer::explain)
//! hands them out (and forgets them) after each frame; the live daemon never
//! asks, so recording costs nothing unless [`Explain::on`] was set.

use std::fmt;

/// How a cue's value is compared with its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// Passes when `value >= threshold`.
    AtLeast,
    /// Passes when `value <= threshold`.
    AtMost,
}

/// One measured cue and its threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Cue {
    /// The cue's name, as the config or docs name it (e.g. `flicker_hz`).
    pub name: &'static str,
    pub value: f64,
    pub cmp: Cmp,
    pub threshold: f64,
}

impl Cue {
    /// A cue that passes when `value >= threshold`.
    pub fn at_least(name: &'static str, value: f64, threshold: f64) -> Cue {
        Cue {
            name,
            value,
            cmp: Cmp::AtLeast,
            threshold,
        }
    }

    /// A cue that passes when `value <= threshold`.
    pub fn at_most(name: &'static str, value: f64, threshold: f64) -> Cue {
        Cue {
            name,
            value,
            cmp: Cmp::AtMost,
            threshold,
        }
    }

    /// Whether the value is on the passing side of the threshold.
    pub fn passes(&self) -> bool {
        match self.cmp {
            Cmp::AtLeast => self.value >= self.threshold,
            Cmp::AtMost => self.value <= self.threshold,
        }
    }
}

impl fmt::Display for Cue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.cmp {
            Cmp::AtLeast => ">=",
            Cmp::AtMost => "<=",
        };
        let mark = if self.passes() { "ok" } else { "FAIL" };
        write!(
            f,
            "{} {:.3} {op} {:.3} {mark}",
            self.name, self.value, self.threshold
        )
    }
}

/// What became of what was judged.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// An alert of this kind was raised.
    Alert(String),
    /// Rejected, with the reason in a few words (e.g. `too large for its row`).
    Rejected(String),
}

/// One judgement: an alert raised or a candidate rejected, with its cues.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The analyzer's name (`throwing`, `fire`, `garbage`, ...).
    pub analyzer: &'static str,
    /// What was judged, e.g. `track 3`, `cell 4,2`, `candidate 7 at (312,280)`.
    pub subject: String,
    pub verdict: Verdict,
    pub cues: Vec<Cue>,
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.verdict {
            Verdict::Alert(kind) => write!(f, "{} {}: ALERT {kind}", self.analyzer, self.subject)?,
            Verdict::Rejected(why) => {
                write!(f, "{} {}: rejected ({why})", self.analyzer, self.subject)?
            }
        }
        for c in &self.cues {
            write!(f, "; {c}")?;
        }
        Ok(())
    }
}

/// An analyzer's record of explanations, off unless switched on.
#[derive(Debug, Default)]
pub struct Explain {
    /// Record explanations (set by `replay --explain`). Default: off.
    pub on: bool,
    pending: Vec<Explanation>,
}

impl Explain {
    /// Records one explanation when on; `make` is not called when off.
    pub fn record(&mut self, make: impl FnOnce() -> Explanation) {
        if self.on {
            self.pending.push(make());
        }
    }

    /// Hands out what was recorded since the last call.
    pub fn take(&mut self) -> Vec<Explanation> {
        std::mem::take(&mut self.pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cues_compare_the_way_they_say() {
        assert!(Cue::at_least("a", 2.0, 1.0).passes());
        assert!(!Cue::at_least("a", 0.5, 1.0).passes());
        assert!(Cue::at_most("b", 0.5, 1.0).passes());
        assert!(!Cue::at_most("b", 2.0, 1.0).passes());
    }

    #[test]
    fn a_line_names_the_subject_verdict_and_failing_cue() {
        let e = Explanation {
            analyzer: "fire",
            subject: "cell 4,2".into(),
            verdict: Verdict::Rejected("no flicker".into()),
            cues: vec![
                Cue::at_least("flicker_hz", 1.0, 3.0),
                Cue::at_most("sat", 0.2, 0.5),
            ],
        };
        let s = e.to_string();
        assert_eq!(
            s,
            "fire cell 4,2: rejected (no flicker); flicker_hz 1.000 >= 3.000 FAIL; sat 0.200 <= 0.500 ok"
        );
    }

    #[test]
    fn nothing_is_recorded_when_off() {
        let mut x = Explain::default();
        x.record(|| unreachable!("not called when off"));
        assert!(x.take().is_empty());
        x.on = true;
        x.record(|| Explanation {
            analyzer: "t",
            subject: "s".into(),
            verdict: Verdict::Alert("k".into()),
            cues: vec![],
        });
        assert_eq!(x.take().len(), 1);
        assert!(x.take().is_empty());
    }
}
