//! The `estatewatch_desk_*` families: response times as histograms, false
//! alarms, open incidents, escalations, refused platform commands, rows
//! removed by retention.

use super::out::{number, Out};
use crate::desk::DeskFigures;

/// The desk's families (only with the desk running).
pub(super) fn render(o: &mut Out, d: &DeskFigures) {
    use crate::desk::metrics::{Series, BUCKETS_S};
    let histogram = |o: &mut Out, name: &str, help: &str, series: &[Series]| {
        o.family(name, "histogram", help);
        for s in series {
            let h = &s.histogram;
            let base = [("kind", s.kind.as_str()), ("camera", s.camera.as_str())];
            for (i, le) in BUCKETS_S.iter().enumerate() {
                let n = h.buckets.get(i).copied().unwrap_or(0);
                let le = number(*le);
                let labels = [base[0], base[1], ("le", le.as_str())];
                o.sample(&format!("{name}_bucket"), &labels, n as f64);
            }
            let inf = [base[0], base[1], ("le", "+Inf")];
            o.sample(&format!("{name}_bucket"), &inf, h.count as f64);
            o.sample(&format!("{name}_sum"), &base, h.sum_s);
            o.sample(&format!("{name}_count"), &base, h.count as f64);
        }
    };
    histogram(
        o,
        "estatewatch_desk_time_to_acknowledge_seconds",
        "Time from an incident's first alert to its acknowledgement.",
        &d.time_to_acknowledge,
    );
    histogram(
        o,
        "estatewatch_desk_time_to_resolve_seconds",
        "Time from an incident's first alert to its resolution (handled or false alarm).",
        &d.time_to_resolve,
    );
    o.each(
        &d.false_alarms,
        "estatewatch_desk_false_alarms_total",
        "counter",
        "Incidents resolved as false alarms, per camera and analyzer.",
        |f| {
            (
                vec![
                    ("camera", f.camera.clone()),
                    ("analyzer", f.analyzer.clone()),
                ],
                f.count as f64,
            )
        },
    );
    let open: Vec<(&String, &u64)> = d.open.iter().collect();
    o.each(
        &open,
        "estatewatch_desk_open_incidents",
        "gauge",
        "Incidents open or acknowledged, not yet resolved, per kind.",
        |(k, n)| (vec![("kind", (*k).clone())], **n as f64),
    );
    let esc: Vec<(&String, &u64)> = d.escalations.iter().collect();
    o.each(
        &esc,
        "estatewatch_desk_escalations_total",
        "counter",
        "Critical incidents escalated for want of an acknowledgement, per kind.",
        |(k, n)| (vec![("kind", (*k).clone())], **n as f64),
    );
    o.single(
        "estatewatch_desk_commands_refused_total",
        "counter",
        "Platform commands refused (bad topic, payload or step).",
        d.commands_refused as f64,
    );
    o.family(
        "estatewatch_desk_retention_removed_total",
        "counter",
        "Rows of resolved incidents removed from the desk file past [desk] retention_days, since start.",
    );
    for (table, n) in [
        ("incidents", d.retention_removed_incidents),
        ("handling", d.retention_removed_handling),
    ] {
        o.sample(
            "estatewatch_desk_retention_removed_total",
            &[("table", table)],
            n as f64,
        );
    }
}
