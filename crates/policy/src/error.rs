//! Errors for invalid input: every one names the JSON path of the offending element and says what was
//! expected there, so a user can fix the document without guessing.

use serde_json::{Map, Value};
use std::fmt;

/// An invalid case file or policy document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{path}`: expected {expected}{}", found.as_ref().map(|f| format!(", found {f}")).unwrap_or_default())]
pub struct ParseError {
    /// Where, from the top of the input: `identity_policies[0].Statement[2].Condition.StringEquals`.
    pub path: String,
    /// What the element should have been.
    pub expected: String,
    /// What it was, briefly.
    pub found: Option<String>,
}

impl ParseError {
    /// An error at `path`.
    pub fn new(path: &JsonPath, expected: impl Into<String>, found: Option<&Value>) -> ParseError {
        ParseError { path: path.to_string(), expected: expected.into(), found: found.map(describe) }
    }

    /// An error at `path` where the element is missing.
    pub fn missing(path: &JsonPath, expected: impl Into<String>) -> ParseError {
        ParseError { path: path.to_string(), expected: expected.into(), found: Some("nothing".into()) }
    }
}

/// Refuses a field of `obj` that is not in `known`, naming it and the fields that are.
pub(crate) fn reject_unknown_fields(
    obj: &Map<String, Value>,
    path: &JsonPath,
    known: &[&str],
) -> Result<(), ParseError> {
    match obj.keys().find(|k| !known.contains(&k.as_str())) {
        None => Ok(()),
        Some(k) => Err(ParseError::new(
            &path.key(k),
            format!(
                "no field `{k}` here; the fields are {}",
                known.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ")
            ),
            None,
        )),
    }
}

/// A short description of a JSON value for error messages (never the whole value: it may be huge).
pub fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean `{b}`"),
        Value::Number(n) => format!("the number `{n}`"),
        Value::String(s) if s.chars().count() > 60 => {
            format!("the string `{}…`", s.chars().take(60).collect::<String>())
        }
        Value::String(s) => format!("the string `{s}`"),
        Value::Array(a) => format!("an array of {} element(s)", a.len()),
        Value::Object(_) => "an object".into(),
    }
}

/// A JSON path under construction, cheap to extend.
#[derive(Debug, Clone, Default)]
pub struct JsonPath(String);

impl JsonPath {
    /// The top of the document, or a named starting point such as `identity_policies[0]`.
    pub fn root(start: &str) -> JsonPath {
        JsonPath(start.to_string())
    }

    /// `self.key` (or `self["key"]` when the key would be ambiguous).
    pub fn key(&self, key: &str) -> JsonPath {
        let plain = !key.is_empty() && !key.contains(['.', '[', ']', '"', ' ']);
        let mut s = self.0.clone();
        match (plain, s.is_empty()) {
            (true, true) => s.push_str(key),
            (true, false) => {
                s.push('.');
                s.push_str(key);
            }
            (false, _) => s.push_str(&format!("[{key:?}]")),
        }
        JsonPath(s)
    }

    /// `self[i]`.
    pub fn index(&self, i: usize) -> JsonPath {
        JsonPath(format!("{}[{i}]", self.0))
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("(top level)")
        } else {
            f.write_str(&self.0)
        }
    }
}
