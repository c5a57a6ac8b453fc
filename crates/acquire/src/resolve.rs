//! Placeholders to real ids.
//!
//! The plan names what does not exist yet by placeholders (`snap-source-…`, `key/custody-temp-…`,
//! `custody-grant-…`). Each call that creates one returns the real id; the executor records the
//! pair in the call's journaled outcome (`{"resolves": {placeholder: id}}`), so a resumed run rebuilds
//! the whole map from the journal before it goes on.

use crate::report::{Event, Progress};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Placeholder → real id, shared by the tasks of one instance. Each new pair is told
/// ([`Event::Resolved`]) when the map was made with [`Resolved::telling`].
#[derive(Debug, Default)]
pub struct Resolved {
    map: Mutex<BTreeMap<String, String>>,
    /// Where new pairs are told, and the instance they are of.
    tell: Option<(Progress, String)>,
}

impl Resolved {
    pub fn new() -> Self {
        Resolved::default()
    }

    /// A map that tells `progress` of each new pair, as of `instance`.
    pub fn telling(progress: Progress, instance: &str) -> Self {
        Resolved { map: Mutex::default(), tell: Some((progress, instance.to_string())) }
    }

    pub fn insert(&self, placeholder: &str, real: &str) {
        let Ok(mut map) = self.map.lock() else { return };
        let new = map.insert(placeholder.to_string(), real.to_string()).as_deref() != Some(real);
        drop(map);
        if let (true, Some((progress, instance))) = (new, &self.tell) {
            progress.emit(Event::Resolved {
                instance: instance.clone(),
                placeholder: placeholder.to_string(),
                id: real.to_string(),
            });
        }
    }

    /// The real id of `name`, if it was a placeholder that has been created.
    pub fn get(&self, name: &str) -> Option<String> {
        self.map.lock().ok().and_then(|m| m.get(name).cloned())
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

    /// `text` (a step's title) with each placeholder of `placeholders` it names replaced by its real
    /// id, or, not created yet, by what it stands for ("a new snapshot"): a plan placeholder is no id
    /// the examiner can look up.
    pub fn substitute(&self, text: &str, placeholders: &[String]) -> String {
        let mut longest_first: Vec<&String> = placeholders.iter().filter(|p| !p.is_empty()).collect();
        // A placeholder inside a longer one (none today) must not be replaced in it first.
        longest_first.sort_by_key(|p| std::cmp::Reverse(p.len()));
        let mut out = text.to_string();
        for p in longest_first {
            if out.contains(p.as_str()) {
                let real = self.get(p).unwrap_or_else(|| unmade(p).to_string());
                out = out.replace(p.as_str(), &real);
            }
        }
        out
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

/// What a placeholder not created yet stands for, in words: the plan's snapshots are `snap-…`, its
/// volumes `vol-…`, its keys key ARNs and its grants grant names (`custody_plan::plan`).
fn unmade(placeholder: &str) -> &'static str {
    if placeholder.starts_with("snap-") {
        "a new snapshot"
    } else if placeholder.starts_with("vol-") {
        "a new volume"
    } else if placeholder.contains(":key/") {
        "a new key"
    } else {
        "a new grant"
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

    #[test]
    fn a_title_names_real_ids_once_known_and_never_a_placeholder() {
        let placeholders: Vec<String> = [
            "snap-source-0abc",
            "snap-temp-0abc",
            "arn:aws:kms:eu-west-1:111122223333:key/custody-temp-vol-0abc",
            "custody-grant-vol-0abc",
            "vol-evidence-0abc",
        ]
        .map(String::from)
        .to_vec();
        let r = Resolved::new();
        r.insert("snap-source-0abc", "snap-0123");
        r.insert(
            "arn:aws:kms:eu-west-1:111122223333:key/custody-temp-vol-0abc",
            "arn:aws:kms:eu-west-1:111122223333:key/k-1",
        );
        let title = "Copy snap-source-0abc to snap-temp-0abc, encrypted under \
                     arn:aws:kms:eu-west-1:111122223333:key/custody-temp-vol-0abc, on vol-0abc";
        assert_eq!(
            r.substitute(title, &placeholders),
            "Copy snap-0123 to a new snapshot, encrypted under arn:aws:kms:eu-west-1:111122223333:key/k-1, on vol-0abc"
        );
        assert_eq!(r.substitute("Retire custody-grant-vol-0abc", &placeholders), "Retire a new grant");
        assert_eq!(r.substitute("Create vol-evidence-0abc", &placeholders), "Create a new volume");
    }

    #[test]
    fn each_new_pair_is_told_once() {
        let told = std::sync::Arc::new(Mutex::new(Vec::new()));
        let sink = told.clone();
        let r = Resolved::telling(
            Progress::new(move |e| {
                if let Ok(mut t) = sink.lock() {
                    t.push(e.clone());
                }
            }),
            "i-1",
        );
        r.insert("snap-source-1", "snap-0abc");
        r.absorb(&outcome(&[("snap-source-1", "snap-0abc")], json!({})));
        let told = told.lock().map(|t| t.clone()).unwrap_or_default();
        assert_eq!(
            told,
            vec![Event::Resolved {
                instance: "i-1".into(),
                placeholder: "snap-source-1".into(),
                id: "snap-0abc".into()
            }]
        );
    }
}
