//! The `[cameras.analyzers.garbage]` section: defaults, validation with field
//! paths, and that it builds an analyzer.

use estatewatch::analysis::build_analyzers;
use estatewatch::config::Config;

const BASE: &str = r#"
[site]
id = "estate"
[gateway]
id = "gw1"
[[cameras]]
name = "bins"
url = "rtsp://127.0.0.1:8554/bins"
"#;

fn parse(extra: &str) -> Config {
    Config::parse(&format!("{BASE}{extra}")).expect("parses")
}

#[test]
fn defaults_are_documented_values_and_build_a_garbage_analyzer() {
    let c = parse("[cameras.analyzers.garbage]\n");
    assert!(c.validate().is_empty(), "{:?}", c.validate());
    let g = c.cameras[0].analyzers.garbage.as_ref().expect("section");
    assert_eq!(g.dwell_s, 60.0);
    assert_eq!(g.quiet_s, 3.0);
    assert_eq!(g.max_aspect, 2.0);
    assert!(g.person_detector);
    assert!(g.min_bag_like.is_none());
    let names: Vec<_> = build_analyzers(&c.cameras[0])
        .expect("builds")
        .iter()
        .map(|a| a.name())
        .collect();
    assert_eq!(names, ["garbage"]);
}

#[test]
fn absent_section_means_no_garbage_analyzer() {
    let c = parse("");
    assert!(build_analyzers(&c.cameras[0]).expect("builds").is_empty());
}

#[test]
fn bad_values_are_reported_with_their_paths() {
    let c = parse(
        "[cameras.analyzers.garbage]\ndwell_s = 0\nmin_area = 0.5\nmax_area = 0.1\nmax_aspect = 20\nmin_bag_like = 1.5\nzones = [{ name = \"z\", polygon = [[0.0, 0.0], [1.0, 0.0]] }]\n",
    );
    let problems: Vec<String> = c.validate().iter().map(|p| p.to_string()).collect();
    for want in [
        "cameras[0].analyzers.garbage.dwell_s: must be 1..=3600, got 0",
        "cameras[0].analyzers.garbage.min_area: must be > 0 and < max_area (0.1), got 0.5",
        "cameras[0].analyzers.garbage.max_aspect: must be 0.5..=10, got 20",
        "cameras[0].analyzers.garbage.min_bag_like: must be 0..=1, got 1.5",
        "cameras[0].analyzers.garbage.zones[0].polygon: needs at least 3 points, got 2",
    ] {
        assert!(
            problems.iter().any(|p| p == want),
            "missing {want:?} in {problems:#?}"
        );
    }
}

#[test]
fn unknown_keys_are_rejected() {
    let err = Config::parse(&format!("{BASE}[cameras.analyzers.garbage]\ndwell = 30\n"))
        .expect_err("unknown field");
    assert!(err.contains("dwell"), "{err}");
}
