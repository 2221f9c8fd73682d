//! The scorecard as text, the table `score` prints.

use super::{ratio, Scorecard};

fn fmt_ratio(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.3}")).unwrap_or_else(|| "-".into())
}

fn fmt_ms(v: Option<i64>) -> String {
    v.map(|x| format!("{x} ms")).unwrap_or_else(|| "-".into())
}

/// The human-readable report.
pub fn render_text(card: &Scorecard, max_events: usize) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "scorecard: {} clips ({} with incidents, {} real), {} alerts counted (state=new), {} ignored",
        card.clips, card.clips_with_incidents, card.real_clips, card.alerts_counted, card.alerts_ignored
    );
    let _ = writeln!(
        s,
        "{:<11} {:>4} {:>4} {:>4} {:>4} {:>9} {:>7} {:>10} {:>10} {:>11} {:>9}  clips +/-",
        "kind",
        "TP",
        "FP",
        "FN",
        "dup",
        "precision",
        "recall",
        "delay p50",
        "delay p95",
        "floor exact",
        "floor ±1"
    );
    for r in &card.rows {
        let alerts = r.tp + r.fp + r.duplicates;
        // Motion borrows every incident; without motion alerts it says nothing.
        if (alerts + r.fn_ == 0 && r.negative_clips == 0) || (r.name == "motion" && alerts == 0) {
            continue;
        }
        let _ = writeln!(
            s,
            "{:<11} {:>4} {:>4} {:>4} {:>4} {:>9} {:>7} {:>10} {:>10} {:>11} {:>9}  {}/{}",
            r.name,
            r.tp,
            r.fp,
            r.fn_,
            r.duplicates,
            fmt_ratio(r.precision),
            fmt_ratio(r.recall),
            fmt_ms(r.delay_p50_ms),
            fmt_ms(r.delay_p95_ms),
            fmt_ratio(r.floor_exact),
            fmt_ratio(r.floor_within_one),
            r.positive_clips,
            r.negative_clips
        );
        if (r.delay_from_start_p50_ms, r.delay_from_start_p95_ms)
            != (r.delay_p50_ms, r.delay_p95_ms)
        {
            let _ = writeln!(
                s,
                "    delay from the start (hidden time included): p50 {}, p95 {}",
                fmt_ms(r.delay_from_start_p50_ms),
                fmt_ms(r.delay_from_start_p95_ms)
            );
        }
        if !r.recall_by_size.is_empty() {
            let parts: Vec<String> = r
                .recall_by_size
                .iter()
                .map(|(k, (hit, n))| format!("{k} {} ({hit}/{n})", fmt_ratio(ratio(*hit, *n))))
                .collect();
            let _ = writeln!(s, "    recall by size: {}", parts.join(", "));
        }
        if let Some((clear, n)) = r.left_panel_clear {
            let _ = writeln!(
                s,
                "    left panel clear of the person: {} ({clear}/{n})",
                fmt_ratio(ratio(clear, n))
            );
        }
        if !r.fp_by_negative.is_empty() {
            let parts: Vec<String> = r
                .fp_by_negative
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            let _ = writeln!(s, "    false positives by negative: {}", parts.join(", "));
        }
        for e in r.misses.iter().take(max_events) {
            let note = if e.note.is_empty() {
                String::new()
            } else {
                format!(" ({})", e.note)
            };
            let _ = writeln!(
                s,
                "    missed {} in {} starting {} ms{note}",
                e.kind, e.clip, e.t_ms
            );
        }
        for e in r.false_alarms.iter().take(max_events) {
            let _ = writeln!(
                s,
                "    false {} alert in {} at {} ms [{}]",
                e.kind, e.clip, e.t_ms, e.note
            );
        }
        let hidden = r.misses.len().saturating_sub(max_events)
            + r.false_alarms.len().saturating_sub(max_events);
        if hidden > 0 {
            let _ = writeln!(s, "    ... {hidden} more (see --json)");
        }
    }
    if card.real_clips > 0 {
        let _ = writeln!(
            s,
            "real footage: {} incident-kind alert(s) on {} clip(s) (must be 0)",
            card.real_alerts, card.real_clips
        );
    }
    s
}
