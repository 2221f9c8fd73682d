//! Loading a config file's text and turning `toml`/serde errors into
//! [`ConfigProblem`]s with field paths and lines: the size cap, the field
//! path of an error, setting an offending key aside so parsing can go on, and
//! finding the line of a key. [`Config::parse_problems`](super::Config::parse_problems)
//! drives it.

use super::{ConfigError, MAX_CONFIG_BYTES};
use crate::settings::ConfigProblem;
use std::path::Path;

/// Reads a config file, refusing one bigger than [`MAX_CONFIG_BYTES`] before
/// reading it.
pub(super) fn read_text(path: &Path) -> Result<String, ConfigError> {
    use std::io::Read;
    let read_err = |error| ConfigError::Read {
        path: path.to_path_buf(),
        error,
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let size = file.metadata().map_err(read_err)?.len();
    if size > MAX_CONFIG_BYTES {
        return Err(ConfigError::TooBig {
            path: path.to_path_buf(),
            size,
        });
    }
    // The size may change while reading (a pipe, a growing file): read at
    // most one byte more than allowed to tell.
    let mut text = String::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(read_err)?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(ConfigError::TooBig {
            path: path.to_path_buf(),
            size: text.len() as u64,
        });
    }
    Ok(text)
}

/// One step of a field path.
pub(super) enum Step {
    Key(String),
    Index(usize),
}

/// The path of the field a parse error is about. For an unknown key serde
/// may name the table it is in (tables with flattened keys); the key itself
/// is then added, see [`key_added`].
pub(super) fn field_path(e: &serde_path_to_error::Error<toml::de::Error>) -> Vec<Step> {
    use serde_path_to_error::Segment;
    let mut steps: Vec<Step> = e
        .path()
        .iter()
        .filter_map(|seg| match seg {
            Segment::Map { key } => Some(Step::Key(key.clone())),
            Segment::Seq { index } => Some(Step::Index(*index)),
            Segment::Enum { .. } | Segment::Unknown => None,
        })
        .collect();
    if let Some(key) = unknown_key(e.inner().message()) {
        if !matches!(steps.last(), Some(Step::Key(k)) if k == key) {
            steps.push(Step::Key(key.to_string()));
        }
    }
    steps
}

/// Whether [`field_path`] added the unknown key to serde's path (so the
/// error's position is the table's, not the key's).
fn key_added(e: &serde_path_to_error::Error<toml::de::Error>) -> bool {
    use serde_path_to_error::Segment;
    unknown_key(e.inner().message()).is_some_and(
        |key| !matches!(e.path().iter().next_back(), Some(Segment::Map { key: k }) if k == key),
    )
}

/// `X` of serde's "unknown field `X`, expected …".
fn unknown_key(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

/// `cameras[0].detect.fps`; empty for the file itself.
fn display_path(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps {
        match step {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// One parse problem: the field path (or `line L, column C` for a TOML
/// syntax error) and serde's message, with where it is in `text` (the
/// file): the error's own line and column when `spans_valid` (the error came
/// from parsing `text` itself), else the line of the key when exactly one
/// line of the file sets a key of that name.
pub(super) fn parse_problem(
    e: &serde_path_to_error::Error<toml::de::Error>,
    text: &str,
    spans_valid: bool,
) -> ConfigProblem {
    let inner = e.inner();
    let message = inner.message().trim_end().to_string();
    let steps = field_path(e);
    let key_line = match steps.last() {
        Some(Step::Key(key)) => unique_key_line(text, key),
        _ => None,
    };
    let span_at = inner.span().filter(|_| spans_valid).map(|span| {
        let before = text.get(..span.start).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    });
    let at = match (span_at, key_line) {
        (Some((line, column)), _) if !key_added(e) => Some(format!("line {line}, column {column}")),
        (_, Some(line)) => Some(format!("line {line}")),
        (Some((line, column)), None) => {
            Some(format!("in the table at line {line}, column {column}"))
        }
        (None, None) => None,
    };
    let path = display_path(&steps);
    match (path.is_empty(), at) {
        (true, Some(at)) => ConfigProblem { path: at, message },
        (true, None) => ConfigProblem {
            path: "(file)".into(),
            message,
        },
        (false, Some(at)) => ConfigProblem {
            path,
            message: format!("{message} ({at})"),
        },
        (false, None) => ConfigProblem { path, message },
    }
}

/// The line number of the only line that sets `key` (`key = …`, bare or
/// quoted), or `None` when no line or several do.
fn unique_key_line(text: &str, key: &str) -> Option<usize> {
    let mut found = None;
    for (i, line) in text.lines().enumerate() {
        let l = line.trim_start();
        let rest = l
            .strip_prefix(key)
            .or_else(|| l.strip_prefix(&format!("\"{key}\"")));
        if rest.is_some_and(|r| r.trim_start().starts_with('=')) {
            if found.is_some() {
                return None;
            }
            found = Some(i + 1);
        }
    }
    found
}

/// Removes the key at `path` from `value`; false when there is no key to
/// remove there (a missing key, an array element).
pub(super) fn remove_at(value: &mut toml::Value, path: &[Step]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut cur = value;
    for step in parents {
        cur = match (step, cur) {
            (Step::Key(key), toml::Value::Table(t)) => match t.get_mut(key) {
                Some(v) => v,
                None => return false,
            },
            (Step::Index(index), toml::Value::Array(a)) => match a.get_mut(*index) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    match (last, cur) {
        (Step::Key(key), toml::Value::Table(t)) => t.remove(key).is_some(),
        _ => false,
    }
}
