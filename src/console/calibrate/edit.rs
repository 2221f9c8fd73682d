//! The calibration page's view of a camera's geometry in the config file,
//! and the edit that writes it back with `toml_edit`.
//!
//! [`read`] takes the geometry of one `[[cameras]]` entry from the file's
//! text: each zone list the page edits ([`LAYERS`]: motion, fire and
//! garbage zones, fire masks, throwing exclusions) and the throwing facade
//! (its polygon, floor lines, column edges and what the labels are built
//! from: `floors.first`, column labels, `unit_label`). [`apply`] writes a
//! changed [`Geometry`] into the same text and
//! touches nothing else: only the keys of that camera's lists and facade
//! that changed are rewritten, so comments, key order, other cameras and
//! other sections stay as they were. A zone list is kept in the form the
//! file uses (`[[…zones]]` tables or an inline array); a zone read from the
//! file keeps its other keys (`sensitivity`, comments) when its polygon or
//! name changes. Coordinates are normalised (0..1, as the config has them)
//! and rounded to 4 decimals (well under a pixel at 3840 wide).
//!
//! Checking the result is not done here: the page runs `check-config`'s
//! checks on the new text before it is written (see [`super`]).

use crate::analysis::config::CameraConfig;
use serde::{Deserialize, Serialize};
use toml_edit::{Array, ArrayOfTables, DocumentMut, InlineTable, Item, Table, TableLike, Value};

/// The zone lists the page edits: `(analyzer, key)` under
/// `[cameras.analyzers.<analyzer>]`.
pub const LAYERS: &[(&str, &str)] = &[
    ("motion", "zones"),
    ("fire", "zones"),
    ("fire", "masks"),
    ("garbage", "zones"),
    ("throwing", "exclude"),
];

/// One named polygon as the page edits it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shape {
    /// Its index in the file's list when it was read; `None` for a new one.
    #[serde(default)]
    pub orig: Option<usize>,
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    /// Normalised `[x, y]` points.
    pub polygon: Vec<[f64; 2]>,
}

/// One zone list of the camera (`analyzer`.`key`, see [`LAYERS`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    pub analyzer: String,
    pub key: String,
    pub shapes: Vec<Shape>,
}

/// The throwing analyzer's facade calibration, normalised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Facade {
    /// `facade`: empty for the whole frame.
    pub polygon: Vec<[f64; 2]>,
    /// The floor lines, lowest first (`floors.rows`, or the lines
    /// `first_row`, `floor_height`, `count` and `perspective` generate).
    pub rows: Vec<f64>,
    /// `floors.first`: the number of the floor above the lowest line.
    pub first: i32,
    /// `columns.edges` (at the lowest line) and `columns.edges_top` (at
    /// the top line).
    pub edges: Vec<f64>,
    pub edges_top: Vec<f64>,
    /// One label per column (`columns.labels`, else `01`, `02`, …).
    pub labels: Vec<String>,
    /// `unit_label`, e.g. `{floor}{column}`.
    pub unit_label: String,
}

/// What the page edits of one camera.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Geometry {
    /// Only the lists of the analyzers the camera has.
    pub layers: Vec<Layer>,
    /// With a throwing analyzer.
    pub facade: Option<Facade>,
}

/// A camera as the page shows it: its size, names and geometry.
#[derive(Debug, Clone)]
pub struct CameraView {
    pub name: String,
    pub display_name: Option<String>,
    pub width: u32,
    pub height: u32,
    pub geometry: Geometry,
}

/// Why the file cannot be read or edited, naming the file's part.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EditError {
    #[error("the config file is not valid TOML: {0}")]
    Toml(String),
    #[error("camera {0:?} is not in the config file")]
    NoCamera(String),
    #[error(
        "camera {camera:?} has no [cameras.analyzers.{analyzer}] table; add the analyzer first"
    )]
    NoAnalyzer { camera: String, analyzer: String },
    #[error("cameras[{index}] cannot be read: {error}")]
    Camera { index: usize, error: String },
    #[error("{0} is not a list of zones in the file")]
    NotAList(String),
    #[error("{0} cannot be edited: it is not a table in the file")]
    NotATable(String),
}

/// `v` rounded to 4 decimals.
pub fn r4(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}

fn r4_points(p: &[[f32; 2]]) -> Vec<[f64; 2]> {
    p.iter()
        .map(|[x, y]| [r4(f64::from(*x)), r4(f64::from(*y))])
        .collect()
}

fn r4_list(v: &[f32]) -> Vec<f64> {
    v.iter().map(|x| r4(f64::from(*x))).collect()
}

/// The index and entry of camera `name` in the file's `[[cameras]]`.
fn find_camera(text: &str, name: &str) -> Result<(usize, CameraConfig), EditError> {
    let value: toml::Value = text
        .parse()
        .map_err(|e: toml::de::Error| EditError::Toml(e.message().to_string()))?;
    let cameras = value
        .get("cameras")
        .and_then(toml::Value::as_array)
        .ok_or_else(|| EditError::NoCamera(name.to_string()))?;
    let index = cameras
        .iter()
        .position(|c| c.get("name").and_then(toml::Value::as_str) == Some(name))
        .ok_or_else(|| EditError::NoCamera(name.to_string()))?;
    let cam: CameraConfig = cameras[index]
        .clone()
        .try_into()
        .map_err(|e: toml::de::Error| EditError::Camera {
            index,
            error: e.message().to_string(),
        })?;
    Ok((index, cam))
}

/// The shapes of a zone list as read (`orig`: each entry's place in the
/// file's list), for any zone type: `parts` gives a zone's name, display
/// name and polygon.
fn shapes_of<Z>(
    zones: &[Z],
    parts: impl Fn(&Z) -> (&String, &Option<String>, &[[f32; 2]]),
) -> Vec<Shape> {
    zones
        .iter()
        .enumerate()
        .map(|(i, z)| {
            let (name, display_name, polygon) = parts(z);
            Shape {
                orig: Some(i),
                name: name.clone(),
                display_name: display_name.clone(),
                polygon: r4_points(polygon),
            }
        })
        .collect()
}

/// Camera `name` of the config text: its detect size, names and geometry.
pub fn read(text: &str, name: &str) -> Result<CameraView, EditError> {
    let (_, cam) = find_camera(text, name)?;
    let a = &cam.analyzers;
    let plain = |zones: &[crate::settings::ZoneConfig]| {
        shapes_of(zones, |z| (&z.name, &z.display_name, &z.polygon))
    };
    let mut layers = Vec::new();
    for (analyzer, key) in LAYERS {
        let shapes = match (*analyzer, *key) {
            ("motion", _) => a.motion.as_ref().map(|m| plain(&m.zones)),
            ("fire", "zones") => a
                .fire
                .as_ref()
                .map(|f| shapes_of(&f.zones, |z| (&z.name, &z.display_name, &z.polygon))),
            ("fire", _) => a.fire.as_ref().map(|f| plain(&f.masks)),
            ("garbage", _) => a.garbage.as_ref().map(|g| plain(&g.zones)),
            ("throwing", _) => a.throwing.as_ref().map(|t| plain(&t.exclude)),
            _ => None,
        };
        if let Some(shapes) = shapes {
            layers.push(Layer {
                analyzer: analyzer.to_string(),
                key: key.to_string(),
                shapes,
            });
        }
    }
    let facade = a.throwing.as_ref().map(|t| {
        let rows = t
            .floors
            .as_ref()
            .and_then(|f| f.lines().ok())
            .map(|l| r4_list(&l))
            .unwrap_or_default();
        let columns =
            t.columns
                .clone()
                .unwrap_or(crate::analysis::throwing::config::ColumnsConfig {
                    edges: vec![0.0, 1.0],
                    edges_top: None,
                    labels: None,
                });
        let (bottom, top) = columns.edges();
        Facade {
            polygon: r4_points(&t.facade),
            rows,
            first: t.floors.as_ref().map_or(1, |f| f.first),
            edges: r4_list(&bottom),
            edges_top: r4_list(&top),
            labels: columns.labels(),
            unit_label: t.unit_label.clone(),
        }
    });
    Ok(CameraView {
        name: cam.name.clone(),
        display_name: cam.display_name.clone(),
        width: cam.detect.width,
        height: cam.detect.height,
        geometry: Geometry { layers, facade },
    })
}

/// `[x, y]` as a TOML array, rounded.
fn point_value(p: [f64; 2]) -> Value {
    let mut a = Array::new();
    a.push(r4(p[0]));
    a.push(r4(p[1]));
    Value::Array(a)
}

/// A polygon as a TOML array of points.
fn polygon_value(poly: &[[f64; 2]]) -> Value {
    let mut a = Array::new();
    for p in poly {
        a.push(point_value(*p));
    }
    Value::Array(a)
}

/// A list of numbers as a TOML array, rounded.
fn list_value(v: &[f64]) -> Value {
    let mut a = Array::new();
    for x in v {
        a.push(r4(*x));
    }
    Value::Array(a)
}

fn strings_value(v: &[String]) -> Value {
    let mut a = Array::new();
    for s in v {
        a.push(s.as_str());
    }
    Value::Array(a)
}

/// Sets `key` to `value` in `t`, keeping the old value's surroundings
/// (its comment after it on the line, its spacing) when there was one.
fn set_value(t: &mut dyn TableLike, key: &str, mut value: Value) {
    if let Some(old) = t.get_mut(key).and_then(Item::as_value_mut) {
        *value.decor_mut() = old.decor().clone();
        *old = value;
    } else {
        t.insert(key, Item::Value(value));
    }
}

/// Writes the fields of `shape` into a zone entry; with `was` (the entry
/// as read), only those that differ, so an unchanged value keeps its exact
/// text (digits beyond the page's 4 decimals included).
fn fill_zone(t: &mut dyn TableLike, shape: &Shape, was: Option<&Shape>) {
    if was.is_none_or(|w| w.name != shape.name) {
        set_value(t, "name", Value::from(shape.name.as_str()));
    }
    if was.is_none_or(|w| w.display_name != shape.display_name) {
        match &shape.display_name {
            Some(d) => set_value(t, "display_name", Value::from(d.as_str())),
            None => {
                t.remove("display_name");
            }
        }
    }
    if was.is_none_or(|w| !same_points(&w.polygon, &shape.polygon)) {
        set_value(t, "polygon", polygon_value(&shape.polygon));
    }
}

/// The entries of a zone list rebuilt for `shapes`, in the list's own form
/// (`T`: a `[[…]]` table or an inline table): a shape read from the file
/// starts from its old entry in `old` (keeping its other keys and their
/// comments), a new one from an empty entry; `was` gives the shape as read.
fn zone_entries<'b, T: TableLike + Clone + Default>(
    old: &[T],
    shapes: &[Shape],
    was: impl Fn(&Shape) -> Option<&'b Shape>,
) -> Vec<T> {
    shapes
        .iter()
        .map(|s| {
            let mut z = s.orig.and_then(|i| old.get(i).cloned()).unwrap_or_default();
            fill_zone(&mut z, s, was(s));
            z
        })
        .collect()
}

/// Writes the zone list `key` of the analyzer table `parent` (at `path`,
/// for errors): the file's entries that `shapes` came from keep their
/// other keys; new ones are added in the list's form (`[[…]]` tables under
/// a table, else an inline array); an empty list removes the key (the
/// analyzer's default).
fn write_zones(
    parent: &mut Item,
    key: &str,
    shapes: &[Shape],
    before: &[Shape],
    path: &str,
) -> Result<(), EditError> {
    // Each shape's entry as it was read, when it came from the file.
    let was = |s: &Shape| {
        s.orig
            .and_then(|i| before.iter().find(|b| b.orig == Some(i)))
    };
    let parent_is_table = parent.is_table();
    let t = parent
        .as_table_like_mut()
        .ok_or_else(|| EditError::NotATable(path.to_string()))?;
    if shapes.is_empty() {
        t.remove(key);
        return Ok(());
    }
    match t.get_mut(key) {
        Some(Item::ArrayOfTables(aot)) => {
            let old: Vec<Table> = aot.iter().cloned().collect();
            let new = zone_entries(&old, shapes, was);
            aot.clear();
            for z in new {
                aot.push(z);
            }
        }
        Some(Item::Value(Value::Array(arr))) => {
            let old: Vec<InlineTable> = arr
                .iter()
                .map(|v| v.as_inline_table().cloned().unwrap_or_default())
                .collect();
            let new = zone_entries(&old, shapes, was);
            arr.clear();
            for z in new {
                arr.push(z);
            }
        }
        Some(_) => return Err(EditError::NotAList(format!("{path}.{key}"))),
        None if parent_is_table => {
            let mut aot = ArrayOfTables::new();
            for z in zone_entries::<Table>(&[], shapes, |_| None) {
                aot.push(z);
            }
            t.insert(key, Item::ArrayOfTables(aot));
        }
        None => {
            let mut arr = Array::new();
            for z in zone_entries::<InlineTable>(&[], shapes, |_| None) {
                arr.push(z);
            }
            t.insert(key, Item::Value(Value::Array(arr)));
        }
    }
    Ok(())
}

/// The sub-table `key` of `parent` (at `path`), made (in the parent's form)
/// when missing.
fn sub_table<'a>(parent: &'a mut Item, key: &str, path: &str) -> Result<&'a mut Item, EditError> {
    let parent_is_table = parent.is_table();
    let t = parent
        .as_table_like_mut()
        .ok_or_else(|| EditError::NotATable(path.to_string()))?;
    if t.get(key).is_none() {
        let fresh = if parent_is_table {
            Item::Table(Table::new())
        } else {
            Item::Value(Value::InlineTable(InlineTable::new()))
        };
        t.insert(key, fresh);
    }
    let item = t
        .get_mut(key)
        .ok_or_else(|| EditError::NotATable(format!("{path}.{key}")))?;
    if item.as_table_like().is_none() {
        return Err(EditError::NotATable(format!("{path}.{key}")));
    }
    Ok(item)
}

fn same_points(a: &[[f64; 2]], b: &[[f64; 2]]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(p, q)| r4(p[0]) == r4(q[0]) && r4(p[1]) == r4(q[1]))
}

fn same_list(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| r4(*x) == r4(*y))
}

fn same_shapes(a: &[Shape], b: &[Shape]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.orig == y.orig
                && x.name == y.name
                && x.display_name == y.display_name
                && same_points(&x.polygon, &y.polygon)
        })
}

/// The default column labels for `n` columns: `01`, `02`, …
fn default_labels(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("{i:02}")).collect()
}

/// `text` with camera `name`'s geometry set to `new`: only what differs
/// from the file's geometry ([`read`]) is written (see the module doc).
pub fn apply(text: &str, name: &str, new: &Geometry) -> Result<String, EditError> {
    let before = read(text, name)?.geometry;
    let (index, _) = find_camera(text, name)?;
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| EditError::Toml(e.message().to_string()))?;
    let base = format!("cameras[{index}]");
    let cam: &mut Table = match doc.get_mut("cameras") {
        Some(Item::ArrayOfTables(aot)) => aot
            .get_mut(index)
            .ok_or_else(|| EditError::NoCamera(name.to_string()))?,
        _ => return Err(EditError::NotATable("cameras".into())),
    };
    for layer in &new.layers {
        let old = before
            .layers
            .iter()
            .find(|l| l.analyzer == layer.analyzer && l.key == layer.key);
        if old.is_some_and(|o| same_shapes(&o.shapes, &layer.shapes)) {
            continue;
        }
        if !LAYERS.contains(&(layer.analyzer.as_str(), layer.key.as_str())) {
            return Err(EditError::NotAList(format!(
                "{base}.analyzers.{}.{}",
                layer.analyzer, layer.key
            )));
        }
        let path = format!("{base}.analyzers.{}", layer.analyzer);
        let item = analyzer_item(cam, name, &layer.analyzer)?;
        let was = old.map_or(&[][..], |o| o.shapes.as_slice());
        write_zones(item, &layer.key, &layer.shapes, was, &path)?;
    }
    if let (Some(f), Some(old)) = (&new.facade, &before.facade) {
        let path = format!("{base}.analyzers.throwing");
        if !same_points(&f.polygon, &old.polygon) {
            let item = analyzer_item(cam, name, "throwing")?;
            let t = item
                .as_table_like_mut()
                .ok_or_else(|| EditError::NotATable(path.clone()))?;
            if f.polygon.is_empty() {
                t.remove("facade");
            } else {
                set_value(t, "facade", polygon_value(&f.polygon));
            }
        }
        if !same_list(&f.rows, &old.rows) {
            let item = analyzer_item(cam, name, "throwing")?;
            let floors = sub_table(item, "floors", &path)?;
            let t = floors
                .as_table_like_mut()
                .ok_or_else(|| EditError::NotATable(format!("{path}.floors")))?;
            // Lines placed by hand replace generated ones; a comment above
            // the first generated key moves to `rows`.
            let comment = t.key("first_row").map(|k| k.leaf_decor().clone());
            for k in ["first_row", "floor_height", "count", "perspective"] {
                t.remove(k);
            }
            set_value(t, "rows", list_value(&f.rows));
            if let (Some(decor), Some(mut key)) = (comment, t.key_mut("rows")) {
                *key.leaf_decor_mut() = decor;
            }
        }
        let labels_changed = f.labels != old.labels;
        if !same_list(&f.edges, &old.edges)
            || !same_list(&f.edges_top, &old.edges_top)
            || labels_changed
        {
            let item = analyzer_item(cam, name, "throwing")?;
            let columns = sub_table(item, "columns", &path)?;
            let t = columns
                .as_table_like_mut()
                .ok_or_else(|| EditError::NotATable(format!("{path}.columns")))?;
            set_value(t, "edges", list_value(&f.edges));
            if same_list(&f.edges_top, &f.edges) {
                t.remove("edges_top");
            } else {
                set_value(t, "edges_top", list_value(&f.edges_top));
            }
            let n = f.edges.len().saturating_sub(1);
            // The default numbering needs no key.
            if t.get("labels").is_some() || f.labels != default_labels(n) {
                set_value(t, "labels", strings_value(&f.labels));
            }
        }
        if f.first != old.first {
            let item = analyzer_item(cam, name, "throwing")?;
            let floors = sub_table(item, "floors", &path)?;
            let t = floors
                .as_table_like_mut()
                .ok_or_else(|| EditError::NotATable(format!("{path}.floors")))?;
            set_value(t, "first", Value::from(i64::from(f.first)));
        }
        if f.unit_label != old.unit_label {
            let item = analyzer_item(cam, name, "throwing")?;
            let t = item
                .as_table_like_mut()
                .ok_or_else(|| EditError::NotATable(path.clone()))?;
            set_value(t, "unit_label", Value::from(f.unit_label.as_str()));
        }
    }
    Ok(doc.to_string())
}

/// The analyzer table `analyzer` of the camera entry `cam`.
fn analyzer_item<'a>(
    cam: &'a mut Table,
    camera: &str,
    analyzer: &str,
) -> Result<&'a mut Item, EditError> {
    cam.get_mut("analyzers")
        .and_then(Item::as_table_like_mut)
        .and_then(|a| a.get_mut(analyzer))
        .ok_or_else(|| EditError::NoAnalyzer {
            camera: camera.to_string(),
            analyzer: analyzer.to_string(),
        })
}

#[cfg(test)]
mod tests;
