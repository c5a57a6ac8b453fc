//! Placeholders to real ids.
//!
//! The plan names what does not exist yet by placeholders (`snap-source-…`, `key/custody-temp-…`,
//! `custody-grant-…`). Each call that creates one returns the real id; the executor records the
//! pair in the call's journaled outcome (`{"resolves": {placeholder: id}}`), so a resumed run rebuilds
//! the whole map from the journal before it goes on.

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Placeholder → real id, shared by the tasks of one instance.
#[derive(Debug, Default)]
pub struct Resolved(Mutex<BTreeMap<String, String>>);

impl Resolved {
    pub fn new() -> Self {
        Resolved::default()
    }

    pub fn insert(&self, placeholder: &str, real: &str) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(placeholder.to_string(), real.to_string());
        }
    }

    /// The real id of `name`, if it was a placeholder that has been created.
    pub fn get(&self, name: &str) -> Option<String> {
        self.0.lock().ok().and_then(|m| m.get(name).cloned())
    }

    /// The real id of `name`, or `name` itself when it is not a placeholder of this plan (a key that
    /// already existed).
    pub fn real(&self, name: &str, placeholders: &[String]) -> Option<String> {
        if placeholders.iter().any(|p| p == name) {
            self.get(name)
        } else {
            Some(name.to_string())
        }
    }

    /// Takes the `resolves` of a journaled outcome.
    pub fn absorb(&self, result: &Value) {
        if let Some(map) = result.get("resolves").and_then(Value::as_object) {
            for (placeholder, real) in map {
                if let Some(real) = real.as_str() {
                    self.insert(placeholder, real);
                }
            }
        }
    }
}

/// What one answered call of the journal created: the placeholder it resolved and the real id.
pub(crate) struct Resolution {
    pub entry: std::sync::Arc<custody_journal::Entry>,
    pub placeholder: String,
    pub real: String,
}

/// Every placeholder the answered calls of `case_id` resolved, in journal order: the one walk over
/// the outcomes' `resolves` that cleanup's reconciling, matching and discarding share.
pub(crate) fn journal_resolutions(
    journal: &custody_journal::Journal,
    case_id: &str,
) -> Result<Vec<Resolution>, custody_journal::JournalError> {
    let mut out = Vec::new();
    for entry in journal.entries(case_id)? {
        let Some(custody_journal::Outcome::Ok { result, .. }) = &entry.outcome else { continue };
        let Some(resolves) = result.get("resolves").and_then(Value::as_object) else { continue };
        let pairs: Vec<(String, String)> =
            resolves.iter().filter_map(|(p, r)| Some((p.clone(), r.as_str()?.to_string()))).collect();
        let entry = std::sync::Arc::new(entry);
        out.extend(pairs.into_iter().map(|(placeholder, real)| Resolution { entry: entry.clone(), placeholder, real }));
    }
    Ok(out)
}

/// An outcome that resolves `pairs`, plus `extra` fields.
pub fn outcome(pairs: &[(&str, &str)], extra: Value) -> Value {
    let resolves: Map<String, Value> = pairs.iter().map(|(p, r)| (p.to_string(), json!(r))).collect();
    let mut out = match extra {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    out.insert("resolves".into(), Value::Object(resolves));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_round_trip_into_the_map() {
        let r = Resolved::new();
        r.absorb(&outcome(&[("snap-source-1", "snap-0abc")], json!({"request": 1})));
        assert_eq!(r.get("snap-source-1").as_deref(), Some("snap-0abc"));
        let placeholders = vec!["snap-source-1".to_string(), "snap-temp-1".to_string()];
        assert_eq!(r.real("snap-temp-1", &placeholders), None);
        assert_eq!(r.real("arn:aws:kms:x", &placeholders).as_deref(), Some("arn:aws:kms:x"));
    }
}
