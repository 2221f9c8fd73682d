//! Reading a number out of a sensor's MQTT payload: a JSON document with a
//! dotted path to the value, or the raw payload itself. Booleans read as 1 and
//! 0, so a smoke detector's `"smoke": true` can meet `above = 0.5`.

/// Why a payload gave no reading. Counted per sensor and logged at most once
/// a minute; never fatal.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PayloadError {
    #[error("payload is not JSON: {0}")]
    NotJson(String),
    #[error("payload has no `{0}`")]
    MissingPath(String),
    #[error("`{path}` is {found}, expected a number or a boolean")]
    WrongType { path: String, found: &'static str },
    #[error("payload {0:?} is not a number, a boolean or ON/OFF")]
    NotANumber(String),
}

/// The reading in `payload`: at `path` in its JSON, or the whole payload.
pub fn read_value(payload: &[u8], path: Option<&str>) -> Result<f64, PayloadError> {
    match path {
        None => raw_value(payload),
        Some(path) => {
            let doc: serde_json::Value = serde_json::from_slice(payload)
                .map_err(|e| PayloadError::NotJson(e.to_string()))?;
            let mut at = &doc;
            for key in path.split('.') {
                at = match at {
                    serde_json::Value::Object(map) => map.get(key),
                    serde_json::Value::Array(items) => {
                        key.parse::<usize>().ok().and_then(|i| items.get(i))
                    }
                    _ => None,
                }
                .ok_or_else(|| PayloadError::MissingPath(path.to_string()))?;
            }
            json_number(at).ok_or_else(|| PayloadError::WrongType {
                path: path.to_string(),
                found: json_type(at),
            })
        }
    }
}

fn json_number(v: &serde_json::Value) -> Option<f64> {
    match v {
        serde_json::Value::Number(n) => n.as_f64().filter(|f| f.is_finite()),
        serde_json::Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        serde_json::Value::String(s) => word_value(s),
        _ => None,
    }
}

fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

fn raw_value(payload: &[u8]) -> Result<f64, PayloadError> {
    let text = std::str::from_utf8(payload)
        .map_err(|_| PayloadError::NotANumber(String::from_utf8_lossy(payload).into_owned()))?;
    word_value(text).ok_or_else(|| {
        let mut shown: String = text.chars().take(40).collect();
        if text.chars().count() > 40 {
            shown.push('…');
        }
        PayloadError::NotANumber(shown)
    })
}

/// A number, `true`/`false` or `ON`/`OFF` (any case) in text.
fn word_value(text: &str) -> Option<f64> {
    let t = text.trim();
    if let Ok(v) = t.parse::<f64>() {
        return v.is_finite().then_some(v);
    }
    match t.to_ascii_lowercase().as_str() {
        "true" | "on" => Some(1.0),
        "false" | "off" => Some(0.0),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_json_paths_booleans_and_raw_payloads() {
        let doc = br#"{"temperature": 21.5, "smoke": true, "state": {"values": [3, 4]}, "s": "7"}"#;
        assert_eq!(read_value(doc, Some("temperature")), Ok(21.5));
        assert_eq!(read_value(doc, Some("smoke")), Ok(1.0));
        assert_eq!(read_value(doc, Some("state.values.1")), Ok(4.0));
        assert_eq!(read_value(doc, Some("s")), Ok(7.0));
        assert_eq!(read_value(b" 42.25\n", None), Ok(42.25));
        assert_eq!(read_value(b"OFF", None), Ok(0.0));
    }

    #[test]
    fn bad_payloads_say_what_is_wrong() {
        assert!(matches!(
            read_value(b"{not json", Some("t")),
            Err(PayloadError::NotJson(_))
        ));
        assert_eq!(
            read_value(br#"{"a": 1}"#, Some("t")),
            Err(PayloadError::MissingPath("t".into()))
        );
        assert_eq!(
            read_value(br#"{"t": {"x": 1}}"#, Some("t")),
            Err(PayloadError::WrongType {
                path: "t".into(),
                found: "an object"
            })
        );
        assert!(matches!(
            read_value(b"hello", None),
            Err(PayloadError::NotANumber(_))
        ));
        assert!(matches!(
            read_value(&[0xff, 0xfe], None),
            Err(PayloadError::NotANumber(_))
        ));
    }
}
