//! Unit tests of the zone-list and facade edits of the calibration page's config file.

use super::*;

/// A config with comments everywhere, two cameras, zones as `[[…]]`
/// tables and as an inline array, and generated floor lines.
const FILE: &str = r#"# Estate config: keep this header.
[site]
id = "estate"  # the estate's id

[gateway]
id = "gw1"

# The gate camera: untouched by edits of the tower.
[[cameras]]
name = "gate"
url = "rtsp://gate.local/s"

[cameras.analyzers.motion]
# motion zones, inline
zones = [ { name = "door", polygon = [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5]] } ]

# The tower.
[[cameras]]
name = "tower"
url = "rtsp://tower.local/s"
display_name = "3号楼南侧"

[cameras.analyzers.fire]
# a shed zone, more eager than usual
[[cameras.analyzers.fire.zones]]
name = "shed"
display_name = "一号车棚"
polygon = [[0.2, 0.2], [0.4, 0.2], [0.4, 0.4]]  # measured on a still
sensitivity = 0.7

[cameras.analyzers.throwing]
facade = [[0.1, 0.0], [0.9, 0.0], [0.9, 0.9], [0.1, 0.9]]
unit_label = "{floor}-{column}"

[cameras.analyzers.throwing.floors]
# generated lines
first_row = 0.9
floor_height = 0.2
count = 4
first = 3
height_m = 3.0

[cameras.evidence]
pre_s = 2
"#;

fn geometry(text: &str, cam: &str) -> Geometry {
    read(text, cam).expect("readable").geometry
}

#[test]
fn reads_each_list_and_the_facade_with_generated_lines_and_default_columns() {
    let v = read(FILE, "tower").unwrap();
    assert_eq!((v.width, v.height), (640, 360));
    assert_eq!(v.display_name.as_deref(), Some("3号楼南侧"));
    let keys: Vec<String> = v
        .geometry
        .layers
        .iter()
        .map(|l| format!("{}.{}", l.analyzer, l.key))
        .collect();
    assert_eq!(keys, ["fire.zones", "fire.masks", "throwing.exclude"]);
    let f = v.geometry.facade.unwrap();
    assert_eq!(f.rows, [0.9, 0.7, 0.5, 0.3, 0.1]);
    assert_eq!(
        (f.first, f.edges.as_slice(), f.labels.as_slice()),
        (3, &[0.0, 1.0][..], &["01".to_string()][..])
    );
    assert_eq!(f.unit_label, "{floor}-{column}");
    assert_eq!(
        read(FILE, "nope").unwrap_err(),
        EditError::NoCamera("nope".into())
    );
}

#[test]
fn an_unchanged_geometry_leaves_the_text_byte_for_byte() {
    let g = geometry(FILE, "tower");
    assert_eq!(apply(FILE, "tower", &g).unwrap(), FILE);
}

#[test]
fn a_new_zone_goes_into_its_list_and_only_the_cameras_keys_change() {
    let mut g = geometry(FILE, "tower");
    let exclude = g.layers.iter_mut().find(|l| l.key == "exclude").unwrap();
    exclude.shapes.push(Shape {
        orig: None,
        name: "tree".into(),
        display_name: None,
        polygon: vec![[0.123456, 0.2], [0.3, 0.2], [0.3, 0.4]],
    });
    // The fire zone moves one point; its sensitivity and comment stay.
    let fire = g
        .layers
        .iter_mut()
        .find(|l| l.analyzer == "fire" && l.key == "zones")
        .unwrap();
    fire.shapes[0].polygon[0] = [0.25, 0.2];
    let out = apply(FILE, "tower", &g).unwrap();
    // Every comment of the file is still there.
    for line in FILE.lines().filter(|l| l.contains('#')) {
        let comment = &line[line.find('#').unwrap()..];
        assert!(out.contains(comment), "lost {comment:?}:\n{out}");
    }
    assert!(out.contains("[[cameras.analyzers.throwing.exclude]]\nname = \"tree\"\npolygon = [[0.1235, 0.2], [0.3, 0.2], [0.3, 0.4]]\n"), "{out}");
    assert!(out.contains("polygon = [[0.25, 0.2], [0.4, 0.2], [0.4, 0.4]]  # measured on a still\nsensitivity = 0.7"), "{out}");
    // The gate camera and the rest of the file are as they were.
    let gate_end = FILE.find("# The tower.").unwrap();
    assert!(out.starts_with(&FILE[..gate_end]), "{out}");
    assert!(out.ends_with("[cameras.evidence]\npre_s = 2\n"), "{out}");
    // Reading it back gives the geometry written.
    let back = geometry(&out, "tower");
    let ex = back.layers.iter().find(|l| l.key == "exclude").unwrap();
    assert_eq!(ex.shapes[0].name, "tree");
    assert_eq!(ex.shapes[0].polygon[0], [0.1235, 0.2]);
    // And it is still a config the daemon parses.
    crate::config::Config::parse(&out).expect("still a config");
}

#[test]
fn inline_lists_stay_inline_and_deleted_zones_go() {
    let mut g = geometry(FILE, "gate");
    let motion = &mut g.layers[0];
    motion.shapes.push(Shape {
        orig: None,
        name: "path".into(),
        display_name: Some("小路".into()),
        polygon: vec![[0.6, 0.6], [0.9, 0.6], [0.9, 0.9]],
    });
    let out = apply(FILE, "gate", &g).unwrap();
    let line = out
        .lines()
        .find(|l| l.starts_with("zones = ["))
        .expect("the inline list");
    assert!(
        line.contains("{ name = \"door\", polygon = [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5]] }"),
        "{out}"
    );
    assert!(line.contains("{ name = \"path\", display_name = \"小路\", polygon = [[0.6, 0.6], [0.9, 0.6], [0.9, 0.9]] }"), "{out}");
    assert!(out.contains("# motion zones, inline"));
    let mut g = geometry(&out, "gate");
    g.layers[0].shapes.remove(0);
    let out2 = apply(&out, "gate", &g).unwrap();
    let back = geometry(&out2, "gate");
    assert_eq!(back.layers[0].shapes.len(), 1);
    assert_eq!(back.layers[0].shapes[0].name, "path");
    // No zone at all: the key goes (the analyzer's default, the whole frame).
    g = back;
    g.layers[0].shapes.clear();
    let out3 = apply(&out2, "gate", &g).unwrap();
    assert!(
        !out3[..out3.find("# The tower.").unwrap()].contains("zones ="),
        "{out3}"
    );
}

#[test]
fn moved_floor_lines_replace_generated_ones_and_columns_are_added() {
    let mut g = geometry(FILE, "tower");
    let f = g.facade.as_mut().unwrap();
    f.rows[1] = 0.72;
    f.edges = vec![0.1, 0.5, 0.9];
    f.edges_top = vec![0.15, 0.5, 0.85];
    f.labels = vec!["01".into(), "02".into()];
    let out = apply(FILE, "tower", &g).unwrap();
    assert!(
        out.contains(
            "first = 3\nheight_m = 3.0\n# generated lines\nrows = [0.9, 0.72, 0.5, 0.3, 0.1]\n"
        ),
        "{out}"
    );
    assert!(
        !out.contains("first_row") && !out.contains("count ="),
        "{out}"
    );
    assert!(out.contains("[cameras.analyzers.throwing.columns]\nedges = [0.1, 0.5, 0.9]\nedges_top = [0.15, 0.5, 0.85]\n"), "{out}");
    assert!(!out.contains("labels"), "default labels need no key: {out}");
    let back = geometry(&out, "tower").facade.unwrap();
    assert_eq!(back.rows, [0.9, 0.72, 0.5, 0.3, 0.1]);
    assert_eq!(back.edges_top, [0.15, 0.5, 0.85]);
    // The evidence table still belongs to the tower.
    let c = crate::config::Config::parse(&out).expect("a config");
    assert!(c.cameras[1].evidence.is_some());
}

#[test]
fn the_first_floor_and_the_unit_label_are_set_in_place() {
    let mut g = geometry(FILE, "tower");
    let f = g.facade.as_mut().unwrap();
    f.first = -1;
    f.unit_label = "{floor}/{column}".into();
    let out = apply(FILE, "tower", &g).unwrap();
    assert!(
            out.contains("unit_label = \"{floor}/{column}\"\n\n[cameras.analyzers.throwing.floors]\n# generated lines\nfirst_row = 0.9\nfloor_height = 0.2\ncount = 4\nfirst = -1\nheight_m = 3.0\n"),
            "{out}"
        );
    let back = geometry(&out, "tower").facade.unwrap();
    assert_eq!(
        (back.first, back.unit_label.as_str()),
        (-1, "{floor}/{column}")
    );
    // A camera without the keys gets them, in its tables.
    let text = FILE
        .replace("unit_label = \"{floor}-{column}\"\n", "")
        .replace("first = 3\n", "");
    let mut g = geometry(&text, "tower");
    let f = g.facade.as_mut().unwrap();
    assert_eq!((f.first, f.unit_label.as_str()), (1, "{floor}{column}"));
    f.first = 2;
    f.unit_label = "{column}-{floor}".into();
    let out = apply(&text, "tower", &g).unwrap();
    let back = geometry(&out, "tower").facade.unwrap();
    assert_eq!(
        (back.first, back.unit_label.as_str()),
        (2, "{column}-{floor}")
    );
    crate::config::Config::parse(&out).expect("still a config");
}

#[test]
fn zones_left_alone_keep_their_exact_text_when_one_is_added() {
    let text = FILE.replace(
        "polygon = [[0.2, 0.2], [0.4, 0.2], [0.4, 0.4]]",
        "polygon = [[0.200001234, 0.2], [0.4, 0.2], [0.4, 0.4]]",
    );
    let mut g = geometry(&text, "tower");
    let fire = g.layers.iter_mut().find(|l| l.key == "zones").unwrap();
    fire.shapes.push(Shape {
        orig: None,
        name: "shed2".into(),
        display_name: None,
        polygon: vec![[0.5, 0.5], [0.6, 0.5], [0.6, 0.6]],
    });
    let out = apply(&text, "tower", &g).unwrap();
    assert!(
        out.contains(
            "polygon = [[0.200001234, 0.2], [0.4, 0.2], [0.4, 0.4]]  # measured on a still"
        ),
        "{out}"
    );
    assert!(out.contains("name = \"shed2\""), "{out}");
}

#[test]
fn a_list_for_an_analyzer_the_camera_lacks_is_refused() {
    let mut g = geometry(FILE, "tower");
    g.layers.push(Layer {
        analyzer: "garbage".into(),
        key: "zones".into(),
        shapes: vec![],
    });
    g.layers.last_mut().unwrap().shapes.push(Shape {
        orig: None,
        name: "bins".into(),
        display_name: None,
        polygon: vec![[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]],
    });
    assert_eq!(
        apply(FILE, "tower", &g).unwrap_err(),
        EditError::NoAnalyzer {
            camera: "tower".into(),
            analyzer: "garbage".into()
        }
    );
}
