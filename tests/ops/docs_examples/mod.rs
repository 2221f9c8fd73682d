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
//!
//! The checks themselves are here; [`docs`] tests the docs' examples (and
//! that a drifted one is refused), [`real`] the real payloads.

mod docs;
mod real;

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
