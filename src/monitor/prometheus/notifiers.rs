//! The `estatewatch_notifier_*` families: each notifier's backlog in the
//! outbox, what it sent, what failed, and when it last succeeded.

use super::Out;
use crate::delivery::notify::sender::NotifierStatus;

/// Appends the notifier families for `ns` (not called without notifiers).
pub(super) fn render(o: &mut Out, ns: &[NotifierStatus]) {
    let l = |n: &NotifierStatus| vec![("notifier", n.name.clone()), ("kind", n.kind.clone())];
    o.each(
        ns,
        "estatewatch_notifier_backlog",
        "gauge",
        "Outbox rows after the notifier's cursor (whether its routes take them or not).",
        |n| (l(n), n.backlog as f64),
    );
    o.each(
        ns,
        "estatewatch_notifier_notified_total",
        "counter",
        "Messages the vendor took, since start.",
        |n| (l(n), n.notified as f64),
    );
    o.each(
        ns,
        "estatewatch_notifier_requests_total",
        "counter",
        "HTTP requests the vendor took, since start.",
        |n| (l(n), n.requests as f64),
    );
    o.each(
        ns,
        "estatewatch_notifier_failures_total",
        "counter",
        "Failed attempts (no answer, timeout, 5xx), each retried, since start.",
        |n| (l(n), n.failures as f64),
    );
    o.each(
        ns,
        "estatewatch_notifier_rejected_total",
        "counter",
        "Messages the vendor refused for good (passed over), since start.",
        |n| (l(n), n.rejected as f64),
    );
    o.each(
        ns,
        "estatewatch_notifier_rate_limited_total",
        "counter",
        "Times a message waited for the rate limit, since start.",
        |n| (l(n), n.rate_limited as f64),
    );
    o.each(
        ns,
        "estatewatch_notifier_merged_total",
        "counter",
        "Messages passed over for a later state of their incident while the rate limit held, since start.",
        |n| (l(n), n.merged as f64),
    );
    o.each(
        ns,
        "estatewatch_notifier_dropped_total",
        "counter",
        "Rows the outbox caps or TTL removed before the notifier got them (kept in the outbox file).",
        |n| (l(n), n.dropped as f64),
    );
    let succeeded: Vec<(&NotifierStatus, f64)> = ns
        .iter()
        .filter_map(|n| n.last_success_unix.map(|t| (n, t)))
        .collect();
    o.each(
        &succeeded,
        "estatewatch_notifier_last_success_timestamp_seconds",
        "gauge",
        "When the vendor last took a message (Unix time); absent before the first.",
        |(n, t)| (l(n), *t),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_carry_the_notifier_label() {
        let mut o = Out(String::new());
        let n = NotifierStatus {
            name: "guards".into(),
            kind: "webhook".into(),
            backlog: 3,
            failures: 2,
            last_success_unix: Some(1_700_000_000.5),
            ..NotifierStatus::default()
        };
        render(&mut o, &[n]);
        assert!(
            o.0.contains("estatewatch_notifier_backlog{notifier=\"guards\",kind=\"webhook\"} 3\n"),
            "{}",
            o.0
        );
        assert!(
            o.0.contains(
                "estatewatch_notifier_failures_total{notifier=\"guards\",kind=\"webhook\"} 2\n"
            ),
            "{}",
            o.0
        );
        assert!(o.0.contains("estatewatch_notifier_last_success_timestamp_seconds{notifier=\"guards\",kind=\"webhook\"} 1700000000.5"), "{}", o.0);
    }
}
