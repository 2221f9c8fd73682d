//! The text format's writer: `# HELP` and `# TYPE` lines, samples with
//! escaped labels, Prometheus numbers, and the shapes every family here
//! takes (one sample, one sample per item, a summary per item).

use crate::monitor::Timing;
use std::fmt::Write;

/// Writes `# HELP` and `# TYPE` lines, then one sample per `(labels, value)`.
pub(super) struct Out(pub(super) String);

impl Out {
    pub(super) fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    pub(super) fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{k}=\"{}\"", escape(v));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {}", number(value));
    }

    /// A family of one sample without labels.
    pub(super) fn single(&mut self, name: &str, kind: &str, help: &str, value: f64) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }

    /// One metric family with one sample per item.
    pub(super) fn each<T>(
        &mut self,
        items: &[T],
        name: &str,
        kind: &str,
        help: &str,
        f: impl Fn(&T) -> (Vec<(&'static str, String)>, f64),
    ) {
        self.family(name, kind, help);
        for it in items {
            let (labels, v) = f(it);
            let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
            self.sample(name, &labels, v);
        }
    }

    /// One summary family (no quantiles): `<name>_sum` in seconds and
    /// `<name>_count` per item, from its [`Timing`].
    pub(super) fn summary<T>(
        &mut self,
        items: &[T],
        name: &str,
        help: &str,
        f: impl Fn(&T) -> (Vec<(&'static str, String)>, Timing),
    ) {
        self.family(name, "summary", help);
        for it in items {
            let (labels, t) = f(it);
            let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
            self.sample(&format!("{name}_sum"), &labels, t.total_ms / 1000.0);
            self.sample(&format!("{name}_count"), &labels, t.count as f64);
        }
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub(super) fn number(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else if v.is_nan() {
        "NaN".into()
    } else if v > 0.0 {
        "+Inf".into()
    } else {
        "-Inf".into()
    }
}

pub(super) fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_numbers_are_prometheus_numbers() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(number(1.5), "1.5");
        assert_eq!(number(3.0), "3");
        assert_eq!(number(f64::INFINITY), "+Inf");
    }
}
