//! The JSON examples in the docs are tested, and so are the schemas they
//! point to: a doc example that drifts from what the code sends, or a
//! schema that drifts from the code, fails here.
//!
//! Convention (also stated at the top of `docs/mqtt.md`): every
//! fenced ```` ```json ```` block in `README.md` and `docs/**/*.md` has, on
//! the last non-blank line before its fence, a marker naming what it is an
//! example of:
//!
//! - `<!-- example: alert-v1.schema.json -->`: a schema file in `docs/`,
//!   optionally with a JSON pointer into it
//!   (`<!-- example: alert-v1.schema.json#/$defs/garbage_details -->`);
//! - `<!-- example: rust:scenes::Truth -->`: a file the code reads with its
//!   own serde type; the block must read into that type and write back
//!   unchanged.
//!
//! A block without a marker, or that is not JSON, fails. Against a schema an
//! example must be valid, and **closed**: every member of every object in it
//! must be described by the schema at that place (a `properties`,
//! `patternProperties` or `additionalProperties` keyword that applied). The
//! schemas themselves stay open for consumers (unknown properties are to be
//! ignored), but an example cannot show a field the schema does not know,
//! such as a `details.floor` where the alert has `details.origin.floor`.
//!
//! Real payloads built by the code (a throwing alert from the analyzer, a
//! motion alert, camera offline/online alerts and retained states, sensor
//! alerts with fusion, a stats snapshot) are held to the same closed check,
//! so schema and code cannot drift apart either; the docs' throwing alert,
//! camera state and stats examples must also have exactly the fields of the
//! real ones.

use estatewatch::alert::camera::{CameraWatch, Output};
use estatewatch::alert::fusion::Fusion;
use estatewatch::alert::{Alert, AlertKind, AlertState, Severity};
use estatewatch::analysis::build_analyzers;
use estatewatch::analysis::worker::{analyse, AlertBuilder, AlertOrigin};
use estatewatch::config::Config;
use estatewatch::ingest::{CameraEvent, CameraStatus, Frame};
use estatewatch::monitor;
use estatewatch::sensors::SensorMonitor;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

const MARKER: &str = "<!-- example:";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One fenced ```json block.
#[derive(Debug, Clone)]
struct Example {
    /// `docs/mqtt.md:104` (the fence's line).
    place: String,
    /// What the marker names, e.g. `alert-v1.schema.json#/$defs/garbage_details`.
    target: Option<String>,
    text: String,
}

/// Every ```json block of a Markdown text, with the marker before it.
fn examples_in(name: &str, markdown: &str) -> Vec<Example> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim() == "```json" {
            let target = lines[..i]
                .iter()
                .rev()
                .find(|l| !l.trim().is_empty())
                .and_then(|l| l.trim().strip_prefix(MARKER))
                .and_then(|rest| rest.strip_suffix("-->"))
                .map(|t| t.trim().to_string());
            let start = i;
            let mut body = Vec::new();
            i += 1;
            while i < lines.len() && lines[i].trim() != "```" {
                body.push(lines[i]);
                i += 1;
            }
            out.push(Example {
                place: format!("{name}:{}", start + 1),
                target,
                text: body.join("\n"),
            });
        }
        i += 1;
    }
    out
}

/// README.md and every Markdown file under docs/.
fn markdown_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("directory entry").path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "md") {
                out.push(p);
            }
        }
    }
    let mut files = vec![root().join("README.md")];
    walk(&root().join("docs"), &mut files);
    files
}

fn all_examples() -> Vec<Example> {
    markdown_files()
        .iter()
        .flat_map(|p| {
            let name = p.strip_prefix(root()).unwrap_or(p).display().to_string();
            examples_in(&name, &read(p))
        })
        .collect()
}

pub(crate) fn load_schema(file: &str) -> Value {
    let path = root().join("docs").join(file);
    serde_json::from_str(&read(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The schema a target names: a whole file, or the subschema at a JSON
/// pointer into it (wrapped so that its `#/$defs/...` references resolve).
fn schema_for(target: &str) -> Value {
    let (file, pointer) = target.split_once('#').unwrap_or((target, ""));
    let doc = load_schema(file);
    if pointer.is_empty() {
        return doc;
    }
    assert!(
        doc.pointer(pointer).is_some(),
        "{file} has nothing at {pointer}"
    );
    serde_json::json!({
        "$schema": doc["$schema"],
        "$defs": doc["$defs"],
        "$ref": format!("#{pointer}"),
    })
}

/// Problems with `instance` against `schema`: its validation errors or, when
/// it is valid, every object member the schema does not describe where it
/// sits.
fn problems(schema: &Value, instance: &Value) -> Vec<String> {
    let validator = jsonschema::validator_for(schema).expect("the schema compiles");
    let eval = validator.evaluate(instance);
    let errors: Vec<String> = eval
        .iter_errors()
        .map(|e| format!("at `{}`: {}", e.instance_location.as_str(), e.error))
        .collect();
    // A failing subschema drops its annotations, so members are only judged
    // on a valid instance.
    if !errors.is_empty() {
        return errors;
    }
    let mut out = Vec::new();
    // Members described at each instance location by the keywords that applied.
    let mut described: HashMap<String, BTreeSet<String>> = HashMap::new();
    for a in eval.iter_annotations() {
        let keyword = a.schema_location.rsplit('/').next().unwrap_or("");
        if !matches!(
            keyword,
            "properties" | "patternProperties" | "additionalProperties"
        ) {
            continue;
        }
        if let Some(names) = a.annotations.value().as_array() {
            described
                .entry(a.instance_location.as_str().to_string())
                .or_default()
                .extend(names.iter().filter_map(|n| n.as_str().map(String::from)));
        }
    }
    undescribed(instance, "", &described, &mut out);
    out
}

fn undescribed(
    v: &Value,
    at: &str,
    described: &HashMap<String, BTreeSet<String>>,
    out: &mut Vec<String>,
) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let here = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                if !described.get(at).is_some_and(|s| s.contains(k)) {
                    out.push(format!("`{here}` is not described by the schema"));
                } else {
                    undescribed(child, &here, described, out);
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                undescribed(child, &format!("{at}/{i}"), described, out);
            }
        }
        _ => {}
    }
}

pub(crate) fn assert_fits(schema: &Value, instance: &Value, what: &str) {
    let p = problems(schema, instance);
    assert!(
        p.is_empty(),
        "{what} does not fit its schema:\n  {}\n{}",
        p.join("\n  "),
        serde_json::to_string_pretty(instance).unwrap_or_default()
    );
}

/// Checks one doc example against what its marker names.
fn check_example(ex: &Example) -> Result<(), String> {
    let target = ex.target.as_deref().ok_or_else(|| {
        format!(
            "{}: a ```json block needs a marker line `{MARKER} <schema file>[#pointer] -->` before it",
            ex.place
        )
    })?;
    let value: Value = serde_json::from_str(&ex.text)
        .map_err(|e| format!("{}: not JSON ({e}); write the whole example", ex.place))?;
    if let Some(ty) = target.strip_prefix("rust:") {
        return round_trip(ty, &value).map_err(|e| format!("{}: {e}", ex.place));
    }
    let p = problems(&schema_for(target), &value);
    if p.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}: example of {target}:\n    {}",
            ex.place,
            p.join("\n    ")
        ))
    }
}

/// Reads `value` with the code's own type and writes it back: it must come
/// out unchanged (an unknown or misnamed field would be lost or refused).
fn round_trip(ty: &str, value: &Value) -> Result<(), String> {
    let back = match ty {
        "scenes::Truth" => {
            let t: estatewatch_scenes::Truth =
                serde_json::from_value(value.clone()).map_err(|e| format!("{ty}: {e}"))?;
            serde_json::to_value(&t).map_err(|e| e.to_string())?
        }
        other => return Err(format!("unknown rust: target `{other}`")),
    };
    if same(&back, value) {
        Ok(())
    } else {
        Err(format!(
            "{ty} does not write it back unchanged; it writes\n{}",
            serde_json::to_string_pretty(&back).unwrap_or_default()
        ))
    }
}

/// Equal JSON, numbers compared by value (`2133` is `2133.0`, an f32's
/// `0.8712` is `0.8712000250816345`).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        // The code keeps most of these as f32: equal to f32 precision.
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => (x - y).abs() <= 1e-6 * x.abs().max(y.abs()).max(1.0),
            _ => false,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// The paths of every object member (`details.origin.floor`; arrays by their
/// first item), for comparing an example with a real payload.
fn key_paths(v: &Value, at: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let here = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                out.insert(here.clone());
                key_paths(child, &here, out);
            }
        }
        Value::Array(items) => {
            if let Some(first) = items.first() {
                key_paths(first, &format!("{at}[]"), out);
            }
        }
        _ => {}
    }
}

fn paths(v: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    key_paths(v, "", &mut out);
    out
}

/// The doc example whose marker names `target` and whose text contains `needle`.
fn doc_example(target: &str, needle: &str) -> Value {
    let ex = all_examples()
        .into_iter()
        .find(|e| e.target.as_deref() == Some(target) && e.text.contains(needle))
        .unwrap_or_else(|| panic!("no example of {target} containing {needle:?} in the docs"));
    serde_json::from_str(&ex.text).unwrap_or_else(|e| panic!("{}: {e}", ex.place))
}

fn alert_value(a: &Alert) -> Value {
    serde_json::from_slice(&a.to_json().expect("alert serialises")).expect("alert JSON parses")
}

// ---------------------------------------------------------------------------
// The docs' examples.

#[test]
fn every_json_example_in_the_docs_fits_what_its_marker_names() {
    let examples = all_examples();
    // mqtt.md alone has the camera state, the stats and an alert.
    assert!(examples.len() >= 5, "found only {examples:#?}");
    let failures: Vec<String> = examples
        .iter()
        .filter_map(|ex| check_example(ex).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} doc examples are wrong:\n{}",
        failures.len(),
        examples.len(),
        failures.join("\n")
    );
}

#[test]
fn blocks_and_markers_are_found_where_the_convention_says() {
    let md = "text\n\n<!-- example: alert-v1.schema.json -->\n\n```json\n{\"a\": 1}\n```\n\n```json\n[]\n```\n";
    let ex = examples_in("x.md", md);
    assert_eq!(ex.len(), 2);
    assert_eq!(ex[0].target.as_deref(), Some("alert-v1.schema.json"));
    assert_eq!(ex[0].text, "{\"a\": 1}");
    assert_eq!(ex[0].place, "x.md:5");
    assert_eq!(ex[1].target, None);
    assert!(check_example(&ex[1])
        .unwrap_err()
        .contains("needs a marker"));
}

#[test]
fn a_drifted_alert_example_is_refused() {
    let schema = load_schema("alert-v1.schema.json");
    let good = doc_example("alert-v1.schema.json", "\"kind\": \"throwing\"");
    assert_fits(&schema, &good, "docs/mqtt.md's throwing alert");

    // The old example: floor and column straight under details.
    let mut flat = good.clone();
    flat["details"] = serde_json::json!({ "floor": 17, "column": 3 });
    let p = problems(&schema, &flat);
    assert!(
        p.iter()
            .any(|m| m.contains("\"origin\" is a required property")),
        "{p:?}"
    );
    // Even beside the real fields, a flat floor is refused.
    let mut beside = good.clone();
    beside["details"]["floor"] = serde_json::json!(17);
    let p = problems(&schema, &beside);
    assert_eq!(p, ["`/details/floor` is not described by the schema"]);

    // A field the schema does not know, deep inside.
    let mut extra = good.clone();
    extra["details"]["origin"]["storey"] = serde_json::json!(17);
    let p = problems(&schema, &extra);
    assert_eq!(
        p,
        ["`/details/origin/storey` is not described by the schema"]
    );

    // A wrong type, and a timestamp in another form.
    let mut wrong = good;
    wrong["details"]["origin"]["floor"] = serde_json::json!("17");
    wrong["detected_at"] = serde_json::json!("2026-03-01T02:14:07.512345678Z");
    let p = problems(&schema, &wrong);
    assert!(
        p.iter().any(|m| m.contains("/details/origin/floor")),
        "{p:?}"
    );
    assert!(p.iter().any(|m| m.contains("/detected_at")), "{p:?}");
}

#[test]
fn a_drifted_truth_example_is_refused() {
    let good = doc_example("rust:scenes::Truth", "\"generator\"");
    round_trip("scenes::Truth", &good).expect("the docs' example reads back");
    let mut extra = good.clone();
    extra["incidents"][0]["floor"] = serde_json::json!(7);
    assert!(round_trip("scenes::Truth", &extra).is_err());
    let mut missing = good;
    missing.as_object_mut().expect("object").remove("fps");
    assert!(round_trip("scenes::Truth", &missing).is_err());
}

// ---------------------------------------------------------------------------
// Real payloads built by the code.

/// A throwing alert from the analyzer, through the worker that builds alerts.
fn real_throwing_alert() -> Alert {
    use crate::throwing_scene::*;
    let fps = 10;
    let cfg = Config::parse(&config_toml(fps, "")).expect("config parses");
    let mut analyzers = build_analyzers(&cfg.cameras[0]).expect("analyzers build");
    let mut builder = AlertBuilder::new(AlertOrigin {
        site: "harbour-view".into(),
        gateway: "gw-tower-a".into(),
        camera: "tower".into(),
    });
    let base = facade();
    let (x0, y0, release) = (col_mid(3), floor_mid(7), 6.0);
    let mut alerts = Vec::new();
    for k in 0..(5 * fps as u64) {
        let t = 5.0 + k as f64 / fps as f64;
        let d = (t - release) as f32;
        let y = y0 + 0.5 * G_PX * d * d;
        let sprites = if t >= release && y < H as f32 {
            vec![Sprite::Disc {
                x: x0,
                y,
                d: 6.0,
                v: 235,
            }]
        } else {
            Vec::new()
        };
        let fx = Effects {
            noise: 3,
            ..Effects::default()
        };
        let f = frame(k, t, render(&base, &sprites, fx, k as u32));
        alerts.extend(analyse(&f, &mut analyzers, &mut builder));
    }
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    alerts.remove(0)
}

#[test]
fn a_real_throwing_alert_fits_the_schema_and_the_docs_show_its_fields() {
    let alert = real_throwing_alert();
    assert_eq!(alert.kind, AlertKind::Throwing);
    let real = alert_value(&alert);
    assert_eq!(real["details"]["origin"]["floor"], 7, "{real:#}");
    assert_fits(
        &load_schema("alert-v1.schema.json"),
        &real,
        "a real throwing alert",
    );
    // The docs' example has exactly the fields of the alert as published
    // by default: picture stored and pointed to, not embedded.
    let published = alert_value(&published(alert));
    assert_fits(
        &load_schema("alert-v1.schema.json"),
        &published,
        "a real throwing alert as published",
    );
    let doc = doc_example("alert-v1.schema.json", "\"kind\": \"throwing\"");
    assert_eq!(
        paths(&doc),
        paths(&published),
        "docs/mqtt.md's throwing alert"
    );
}

/// `alert` as the daemon publishes it by default: through the real
/// evidence stage (picture stored, `evidence` added), then without the
/// embedded snapshot (`mqtt.embed_snapshots = false`).
fn published(alert: Alert) -> Alert {
    use estatewatch::alert::submit::{AlertSubmit, SubmitError};
    use estatewatch::evidence::sink::EvidenceStage;
    use estatewatch::evidence::store::{EvidenceLink, EvidenceStore, Limits};
    struct Keep(std::sync::Mutex<Vec<Alert>>);
    impl AlertSubmit for Keep {
        fn submit(&self, a: Alert) -> Result<(), SubmitError> {
            self.0.lock().unwrap().push(a);
            Ok(())
        }
    }
    struct NoOutbox;
    impl EvidenceLink for NoOutbox {
        fn protected_events(&self) -> Result<std::collections::BTreeSet<uuid::Uuid>, String> {
            Ok(Default::default())
        }
        fn publish_snapshot(&self, _: &str, _: AlertKind, _: Vec<u8>) {}
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EvidenceStore::new(
        dir.path(),
        Limits {
            max_bytes: 1 << 30,
            min_free_bytes: 0,
            retention: Duration::from_secs(86_400),
        },
    ));
    let keep = Arc::new(Keep(std::sync::Mutex::new(Vec::new())));
    let stage = EvidenceStage::start(
        store,
        Arc::new(NoOutbox),
        Some("https://gw-tower-a.example:8443"),
        keep.clone(),
    )
    .unwrap();
    stage.sink().submit(alert).unwrap();
    stage.shutdown();
    let mut a = keep
        .0
        .lock()
        .unwrap()
        .pop()
        .expect("the stage passed it on");
    assert!(a.evidence.is_some(), "{a:?}");
    a.snapshot = None;
    a
}

fn frame_of(seq: u64, t: f64, w: u32, h: u32, rgb: Vec<u8>) -> Frame {
    Frame {
        camera: Arc::from("lobby"),
        seq,
        pts: Some(Duration::from_secs_f64(t)),
        captured_at: SystemTime::now(),
        width: w,
        height: h,
        rgb: Arc::new(rgb),
    }
}

const SITE: &str = r#"
[site]
id = "harbour-view"

[gateway]
id = "gw-tower-a"
"#;

#[test]
fn a_real_motion_alert_fits_the_schema() {
    let cfg = Config::parse(&format!(
        "{SITE}\n[[cameras]]\nname = \"lobby\"\nurl = \"rtsp://127.0.0.1/x\"\n[cameras.detect]\nwidth = 64\nheight = 36\n[cameras.analyzers.motion]\nzones = [ {{ name = \"door\", polygon = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]] }} ]\n"
    ))
    .expect("config parses");
    let mut analyzers = build_analyzers(&cfg.cameras[0]).expect("analyzers build");
    let mut builder = AlertBuilder::new(AlertOrigin {
        site: "harbour-view".into(),
        gateway: "gw-tower-a".into(),
        camera: "lobby".into(),
    });
    let dark = vec![20u8; 64 * 36 * 3];
    let mut lit = dark.clone();
    lit[..64 * 18 * 3].fill(220);
    let mut alerts = analyse(
        &frame_of(0, 1.0, 64, 36, dark),
        &mut analyzers,
        &mut builder,
    );
    alerts.extend(analyse(
        &frame_of(1, 1.1, 64, 36, lit),
        &mut analyzers,
        &mut builder,
    ));
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].kind, AlertKind::Motion);
    assert!(alerts[0].snapshot.is_some());
    assert_fits(
        &load_schema("alert-v1.schema.json"),
        &alert_value(&alerts[0]),
        "a real motion alert",
    );
}

#[test]
fn real_camera_outage_alerts_and_states_fit_their_schemas() {
    let alert_schema = load_schema("alert-v1.schema.json");
    let state_schema = load_schema("camera-state-v1.schema.json");
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_772_330_000);
    let mut watch = CameraWatch::new(
        "harbour-view",
        "gw-tower-a",
        Duration::from_secs(30),
        HashMap::new(),
    );
    let event = |secs: u64, status: CameraStatus| CameraEvent {
        camera: "shed-north".into(),
        at: t0 + Duration::from_secs(secs),
        status,
    };
    let mut out = watch.on_event(&event(0, CameraStatus::Online), t0);
    let offline = CameraStatus::Offline {
        reason: "connection refused".into(),
    };
    out.extend(watch.on_event(&event(10, offline), t0 + Duration::from_secs(10)));
    out.extend(watch.tick(t0 + Duration::from_secs(41)));
    out.extend(watch.on_event(
        &event(100, CameraStatus::Online),
        t0 + Duration::from_secs(100),
    ));
    // Its evidence stream's own outage.
    let evidence_off = CameraStatus::EvidenceOffline {
        reason: "stalled: no data for 10 s".into(),
    };
    out.extend(watch.on_event(&event(110, evidence_off), t0 + Duration::from_secs(110)));
    out.extend(watch.tick(t0 + Duration::from_secs(141)));
    out.extend(watch.on_event(
        &event(150, CameraStatus::EvidenceOnline),
        t0 + Duration::from_secs(150),
    ));
    let mut kinds = Vec::new();
    let mut states = Vec::new();
    for o in &out {
        match o {
            Output::Alert(a) => {
                assert_fits(&alert_schema, &alert_value(a), "a real camera alert");
                kinds.push((a.kind, a.state));
            }
            Output::State { payload, .. } => {
                let v: Value = serde_json::from_slice(payload).expect("state JSON");
                assert_fits(&state_schema, &v, "a real camera state");
                states.push(v);
            }
        }
    }
    assert_eq!(
        kinds,
        [
            (AlertKind::CameraOffline, AlertState::New),
            (AlertKind::CameraOnline, AlertState::End),
            (AlertKind::EvidenceOffline, AlertState::New),
            (AlertKind::EvidenceOnline, AlertState::End)
        ]
    );
    assert!(states.iter().any(|s| s["alerted"] == true), "{states:#?}");
    // The docs' example has exactly a real offline state's fields.
    let doc = doc_example("camera-state-v1.schema.json", "\"status\"");
    let real = states
        .iter()
        .find(|s| s["status"] == "offline")
        .expect("an offline state");
    assert_eq!(paths(&doc), paths(real), "docs/mqtt.md's camera state");
}

#[test]
fn real_sensor_alerts_with_fusion_fit_the_schema() {
    let schema = load_schema("alert-v1.schema.json");
    let cfg = Config::parse(&format!(
        r#"{SITE}
[[sensors]]
name = "shed-a-temp"
topic = "zigbee2mqtt/shed-a-temp"
value = "temperature"
unit = "°C"
area = "Block A bike shed"
camera = "shed-north"
stale_after_min = 30

[[sensors.rules]]
type = "threshold"
above = 60.0
hysteresis = 5.0
severity = "major"

[[sensors.rules]]
type = "rate_of_rise"
rise = 8.0
"#
    ))
    .expect("config parses");
    let started = Instant::now();
    let mut m = SensorMonitor::new(&cfg.sensors[0], "harbour-view", "gw-tower-a", started);
    let mut fusion = Fusion::new(&cfg.fusion);
    // A camera fire alert first, then the sensor agrees.
    let mut fire = Alert::new(
        AlertKind::Fire,
        Severity::Critical,
        "harbour-view",
        "gw-tower-a",
    );
    fire.camera = Some("shed-north".into());
    fusion.apply(&mut fire);

    let at = |s: u64| started + Duration::from_secs(s);
    let mut alerts = Vec::new();
    alerts.extend(m.on_payload(br#"{"temperature": 21.5}"#, at(1)));
    alerts.extend(m.on_payload(br#"{"temperature": 64.0}"#, at(20)));
    alerts.extend(m.on_payload(br#"{"temperature": 20.0}"#, at(200)));
    alerts.extend(m.tick(at(200 + 31 * 60)));
    alerts.extend(m.on_payload(br#"{"temperature": 20.5}"#, at(200 + 32 * 60)));
    alerts.extend(m.on_payload(br#"{"temperature": 70.0}"#, at(200 + 33 * 60)));
    alerts.extend(m.end_open("reload"));
    for a in &mut alerts {
        fusion.apply(a);
    }
    let fused = alerts
        .iter()
        .filter(|a| a.details.get("fusion").is_some())
        .count();
    assert!(fused >= 1, "{alerts:#?}");
    let seen: BTreeSet<(String, String)> = alerts
        .iter()
        .map(|a| {
            (
                a.kind.as_str().to_string(),
                format!("{:?}", a.state).to_lowercase(),
            )
        })
        .collect();
    for want in [
        ("sensor", "new"),
        ("sensor", "end"),
        ("sensor_offline", "new"),
        ("sensor_offline", "end"),
    ] {
        assert!(
            seen.contains(&(want.0.to_string(), want.1.to_string())),
            "no {want:?} in {seen:?}"
        );
    }
    for a in &alerts {
        assert_fits(&schema, &alert_value(a), "a real sensor alert");
    }
}

#[test]
fn a_real_stats_snapshot_fits_the_schema_and_the_docs_show_its_fields() {
    let mut timing = monitor::Timing::default();
    timing.record(Duration::from_micros(3900));
    let timings: BTreeMap<String, monitor::Timing> = [("throwing".to_string(), timing)].into();
    let snapshot = monitor::Snapshot {
        schema: monitor::STATS_SCHEMA,
        site: "harbour-view".into(),
        gateway: "gw-tower-a".into(),
        at: chrono::Utc::now(),
        uptime_s: 86400,
        cameras: vec![monitor::CameraSnapshot {
            camera: "tower-a-south".into(),
            online: true,
            frames_in: 864012,
            frames_analysed: 860110,
            frames_skipped: 3902,
            reconnects: 2,
            fps_in: 10.0,
            fps_analysed: 9.8,
            fps_skipped: 0.2,
            worker_tick_age_ms: 31,
            analyzer_ms: timings.clone(),
            selftest: Some(monitor::selftest::SelftestResult {
                at: chrono::Utc::now(),
                passed: true,
                checks: vec![monitor::selftest::SelftestCheck {
                    name: "similarity",
                    kind: "view",
                    passed: true,
                    value: Some(0.91),
                    threshold: Some(0.45),
                    note: None,
                }],
                reference: "compared",
                frames: 30,
                cpu_ms: 412.5,
            }),
            evidence: Some(estatewatch::evidence::RecorderStats {
                ring_bytes: 4_718_592,
                ring_s: 9.2,
                stream_online: true,
                clips_written: 3,
                clips_failed: 0,
                last_announce_delay_s: Some(10.4),
            }),
            last_outage: None,
            display_name: None,
            zones: Vec::new(),
        }],
        models: [("nanodet-g-coco".to_string(), timing)].into(),
        inference: {
            let mut h = monitor::Histogram::default();
            h.record(Duration::from_millis(24));
            monitor::InferenceSnapshot {
                queue_depth: 1,
                submitted: 1210,
                dropped: 0,
                latency: [("nanodet-g-coco".to_string(), h)].into(),
            }
        },
        outbox: monitor::OutboxSnapshot {
            submitted: 41,
            depth: 0,
            oldest_age_s: 0.0,
            dropped: 0,
            writable: true,
            problem: None,
        },
        mqtt: monitor::MqttSnapshot {
            connected: true,
            connects: 3,
            sent: 44,
            delivered: 41,
            publish_latency_ms: timing,
            down_for_s: 0.0,
            failures: 0,
            broker_error: None,
            last_delivered: None,
        },
        sensors: vec![monitor::SensorSnapshot {
            sensor: "shed-smoke-1".into(),
            readings: 1440,
            bad_payloads: 0,
            value: Some(0.02),
            last_reading_age_s: Some(31.5),
        }],
        evidence: Some(estatewatch::evidence::store::EvidenceStats {
            bytes: 7_340_032_000,
            events: 412,
            oldest_age_s: 2_591_000.0,
            evictions: [
                ("retention".to_string(), 120),
                ("cap".to_string(), 0),
                ("disk_free".to_string(), 0),
            ]
            .into(),
            write_failures: 0,
            writable: true,
            problem: None,
            free_bytes: Some(48_000_000_000),
        }),
        desk: None,
        notifiers: Vec::new(),
        profiles: Vec::new(),
    };
    // Serialised as the stats publisher does.
    let real: Value =
        serde_json::from_slice(&serde_json::to_vec(&snapshot).expect("stats serialise"))
            .expect("stats JSON");
    let at = real["at"].as_str().expect("at is a string");
    assert_eq!(at.len(), "2026-03-01T02:15:00.004Z".len(), "{at}");
    assert_fits(
        &load_schema("stats-v1.schema.json"),
        &real,
        "a real stats snapshot",
    );
    let doc = doc_example("stats-v1.schema.json", "\"uptime_s\"");
    assert_eq!(paths(&doc), paths(&real), "docs/mqtt.md's stats example");
}
