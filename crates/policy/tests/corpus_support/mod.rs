//! Loading corpus entries and checking an outcome against an entry's expectations; shared by the
//! library test and the CLI test, so both hold the engine to the same corpus.
#![allow(dead_code)]

use custody_policy::Explanation;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// One corpus entry.
pub struct Entry {
    pub file: String,
    pub id: String,
    pub doc: String,
    pub case: Value,
    pub expect: Value,
}

/// Every entry of every corpus file, in file order.
pub fn load_corpus() -> Vec<Entry> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|x| x == "json"));
    files.sort();
    let mut out = Vec::new();
    let mut ids = BTreeSet::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let entries: Vec<Value> = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let file = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        for e in entries {
            let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
            let id = s("id");
            assert!(ids.insert(id.clone()), "duplicate corpus id {id}");
            assert!(s("doc").starts_with("https://"), "{file}: {id} cites no documentation page");
            out.push(Entry { file: file.clone(), id, doc: s("doc"), case: e["case"].clone(), expect: e["expect"].clone() });
        }
    }
    out
}

fn refs(v: &[custody_policy::StatementRef]) -> BTreeSet<String> {
    v.iter()
        .map(|r| match r.statement {
            Some(i) => format!("{}#{i}", r.policy),
            None => r.policy.clone(),
        })
        .collect()
}

fn expected_set(v: &Value) -> Option<BTreeSet<String>> {
    v.as_array().map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
}

/// Checks an outcome (an explanation, or an error message) against the entry.
pub fn check_entry(e: &Entry, outcome: Result<&Explanation, String>) -> Result<(), String> {
    let fail = |why: String| Err(format!("{} [{}] {}\n    doc: {}", e.file, e.id, why, e.doc));
    match (outcome, e.expect.get("error").and_then(Value::as_str)) {
        (Err(msg), Some(want)) if msg.contains(want) => Ok(()),
        (Err(msg), Some(want)) => fail(format!("error `{msg}` does not mention `{want}`")),
        (Err(msg), None) => fail(format!("unexpected error: {msg}")),
        (Ok(x), Some(want)) => fail(format!("expected an error mentioning `{want}`, got decision {}", x.decision)),
        (Ok(x), None) => {
            let want = e.expect.get("decision").and_then(Value::as_str).unwrap_or("(missing)");
            if x.decision != want {
                return fail(format!("decision {} (want {want}): {}", x.decision, x.summary));
            }
            if let Some(g) = e.expect.get("gate").and_then(Value::as_str) {
                let got = x.gate.as_ref().map(|g| g.kind).unwrap_or("none");
                if got != g {
                    return fail(format!("gate {got} (want {g}): {}", x.summary));
                }
            }
            if let Some(want) = e.expect.get("allowed_by").and_then(expected_set) {
                let got = refs(&x.allowed_by);
                if got != want {
                    return fail(format!("allowed_by {got:?} (want {want:?})"));
                }
            }
            if let Some(want) = e.expect.get("denied_by").and_then(expected_set) {
                let got = refs(&x.denied_by);
                if got != want {
                    return fail(format!("denied_by {got:?} (want {want:?})"));
                }
            }
            Ok(())
        }
    }
}
