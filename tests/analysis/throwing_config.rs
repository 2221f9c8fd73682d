//! `estatewatch check-config` on the throwing analyzer's settings: each bad
//! setting is reported with its field path; the reference config's example
//! builds a working analyzer.

use estatewatch::analysis::build_analyzers;
use estatewatch::config::Config;

use crate::common::check_config::check_config as check;

const BASE: &str = r#"
[site]
id = "estate"
[gateway]
id = "gw1"
[outbox]
path = "/tmp/estatewatch-test-outbox.db"
[[cameras]]
name = "tower"
url = "rtsp://127.0.0.1:8554/tower"
"#;

const GOOD_FLOORS: &str = "[cameras.analyzers.throwing.floors]\nrows = [0.9, 0.7, 0.5]\n";

fn throwing(settings: &str, tables: &str) -> String {
    format!("{BASE}[cameras.analyzers.throwing]\n{settings}\n{tables}")
}

#[test]
fn a_minimal_throwing_section_is_valid() {
    let (code, out) = check(&throwing("", GOOD_FLOORS));
    assert_eq!(code, 0, "{out}");
}

#[test]
fn bad_throwing_settings_are_reported_with_their_field_path() {
    let t = "cameras[0].analyzers.throwing";
    let cases: Vec<(&str, String, String)> = vec![
        (
            "no floors",
            throwing("", ""),
            format!("{t}.floors: required"),
        ),
        (
            "floor lines not rising",
            throwing("", "[cameras.analyzers.throwing.floors]\nrows = [0.9, 0.7, 0.8]\n"),
            format!("{t}.floors.rows[2]: must be above (smaller than) the line before it"),
        ),
        (
            "floor rows outside the frame",
            throwing("", "[cameras.analyzers.throwing.floors]\nrows = [1.2, 0.7]\n"),
            format!("{t}.floors.rows[0]: rows are normalised: expected 0..=1, got 1.2"),
        ),
        (
            "both ways of giving floors",
            throwing(
                "",
                "[cameras.analyzers.throwing.floors]\nrows = [0.9, 0.7]\nfirst_row = 0.9\n",
            ),
            format!("{t}.floors.rows: give either rows or first_row"),
        ),
        (
            "generated floors without a count",
            throwing(
                "",
                "[cameras.analyzers.throwing.floors]\nfirst_row = 0.9\nfloor_height = 0.05\n",
            ),
            format!("{t}.floors.count: required with first_row"),
        ),
        (
            "storey height out of range",
            throwing("", &format!("{GOOD_FLOORS}height_m = 30\n")),
            format!("{t}.floors.height_m: must be 2..=6 metres, got 30"),
        ),
        (
            "column edges not increasing",
            throwing(
                "",
                &format!("{GOOD_FLOORS}[cameras.analyzers.throwing.columns]\nedges = [0.1, 0.5, 0.4]\n"),
            ),
            format!("{t}.columns.edges[2]: edges must increase left to right"),
        ),
        (
            "top edges of another length",
            throwing(
                "",
                &format!(
                    "{GOOD_FLOORS}[cameras.analyzers.throwing.columns]\nedges = [0.1, 0.5, 0.9]\nedges_top = [0.2, 0.8]\n"
                ),
            ),
            format!("{t}.columns.edges_top: must have as many edges as `edges` (3), got 2"),
        ),
        (
            "a label short",
            throwing(
                "",
                &format!(
                    "{GOOD_FLOORS}[cameras.analyzers.throwing.columns]\nedges = [0.1, 0.5, 0.9]\nlabels = [\"A\"]\n"
                ),
            ),
            format!("{t}.columns.labels: needs one label per column (2), got 1"),
        ),
        (
            "acceleration window upside down",
            throwing("min_g = 3.0\nmax_g = 2.0", GOOD_FLOORS),
            format!("{t}.min_g: must be > 0 and < max_g, got 3"),
        ),
        (
            "too much shake",
            throwing("shake_px = 5", GOOD_FLOORS),
            format!("{t}.shake_px: must be 0..=3, got 5"),
        ),
        (
            "facade of two points",
            throwing("facade = [[0.1, 0.1], [0.9, 0.9]]", GOOD_FLOORS),
            format!("{t}.facade: needs at least 3 points, got 2"),
        ),
        (
            "excluded zone off the frame",
            throwing(
                "exclude = [{ name = \"road\", polygon = [[0.0, 0.9], [1.5, 0.9], [1.0, 1.0]] }]",
                GOOD_FLOORS,
            ),
            format!("{t}.exclude[0].polygon[1]: coordinates are normalised"),
        ),
        (
            "unit label without the floor",
            throwing("unit_label = \"{column}\"", GOOD_FLOORS),
            format!("{t}.unit_label: must contain {{floor}}"),
        ),
        (
            "unknown setting",
            throwing("floor_rows = [0.9, 0.5]", GOOD_FLOORS),
            "unknown field `floor_rows`".to_string(),
        ),
    ];
    let mut failures = Vec::new();
    for (what, text, want) in &cases {
        let (code, out) = check(text);
        if code != 2 || !out.contains(want.as_str()) {
            failures.push(format!("{what}: exit {code}, wanted {want:?} in:\n{out}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_problem_is_reported_at_once() {
    let (code, out) = check(&throwing(
        "shake_px = 9\nmin_points = 1",
        "[cameras.analyzers.throwing.floors]\nrows = [0.5, 0.7]\n",
    ));
    assert_eq!(code, 2);
    for want in ["shake_px", "min_points", "floors.rows[1]"] {
        assert!(out.contains(want), "{want} missing from:\n{out}");
    }
    assert!(out.contains("3 problem(s)"), "{out}");
}

#[test]
fn the_reference_example_builds_an_analyzer() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/estatewatch.toml"
    ))
    .unwrap();
    let cfg = Config::parse(&text).unwrap();
    let cam = &cfg.cameras[0];
    assert!(cam.analyzers.throwing.is_some());
    let names: Vec<&str> = build_analyzers(cam)
        .unwrap()
        .iter()
        .map(|a| a.name())
        .collect();
    assert!(names.contains(&"throwing"), "{names:?}");
}
