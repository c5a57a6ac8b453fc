//! Loading corpus entries and checking an outcome against an entry's expectations; shared by the
//! library test and the CLI test, so both hold the engine to the same corpus.
#![allow(dead_code, reason = "test support: each test crate uses a part of it")]
// Test support: a broken corpus file should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// One corpus entry.
pub struct Entry {
    pub file: String,
    pub id: String,
    pub doc: String,
    pub case: Value,
    pub expect: Value,
}

/// The corpus directory, from the workspace root (so the policy and CLI tests read the same files).
pub fn corpus_dir(manifest_dir: &str) -> PathBuf {
    let dir = PathBuf::from(manifest_dir).join("../policy/tests/corpus");
    dir.canonicalize().unwrap_or_else(|e| panic!("corpus directory {}: {e}", dir.display()))
}

/// Every entry of every corpus file in `dir`, in file order; at least 250 of them.
pub fn load_corpus(dir: &Path) -> Vec<Entry> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("corpus directory {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
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
            out.push(Entry {
                file: file.clone(),
                id,
                doc: s("doc"),
                case: e["case"].clone(),
                expect: e["expect"].clone(),
            });
        }
    }
    assert!(out.len() >= 250, "the corpus in {} should hold at least 250 cases, found {}", dir.display(), out.len());
    out
}

/// `policy#statement` (or `policy` for a grant) for each reference of a result's list.
fn refs(v: &Value) -> BTreeSet<String> {
    let list = v.as_array().map(Vec::as_slice).unwrap_or_default();
    list.iter()
        .map(|r| {
            let policy = r["policy"].as_str().unwrap_or_default();
            match r["statement"].as_u64() {
                Some(i) => format!("{policy}#{i}"),
                None => policy.to_string(),
            }
        })
        .collect()
}

fn expected_set(v: &Value) -> Option<BTreeSet<String>> {
    v.as_array().map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
}

/// Checks an outcome (a result as `custody authz --json` prints it, or an error message) against the entry.
pub fn check_entry(e: &Entry, outcome: Result<&Value, String>) -> Result<(), String> {
    let fail = |why: String| Err(format!("{} [{}] {}\n    doc: {}", e.file, e.id, why, e.doc));
    match (outcome, e.expect.get("error").and_then(Value::as_str)) {
        (Err(msg), Some(want)) if msg.contains(want) => Ok(()),
        (Err(msg), Some(want)) => fail(format!("error `{msg}` does not mention `{want}`")),
        (Err(msg), None) => fail(format!("unexpected error: {msg}")),
        (Ok(x), Some(want)) => fail(format!("expected an error mentioning `{want}`, got decision {}", x["decision"])),
        (Ok(x), None) => {
            let want = e.expect.get("decision").and_then(Value::as_str).unwrap_or("(missing)");
            let summary = x["summary"].as_str().unwrap_or_default();
            if x["decision"] != want {
                return fail(format!("decision {} (want {want}): {summary}", x["decision"]));
            }
            if let Some(g) = e.expect.get("gate").and_then(Value::as_str) {
                let got = x["gate"]["kind"].as_str().unwrap_or("none");
                if got != g {
                    return fail(format!("gate {got} (want {g}): {summary}"));
                }
            }
            if let Some(want) = e.expect.get("allowed_by").and_then(expected_set) {
                let got = refs(&x["allowed_by"]);
                if got != want {
                    return fail(format!("allowed_by {got:?} (want {want:?})"));
                }
            }
            if let Some(want) = e.expect.get("denied_by").and_then(expected_set) {
                let got = refs(&x["denied_by"]);
                if got != want {
                    return fail(format!("denied_by {got:?} (want {want:?})"));
                }
            }
            Ok(())
        }
    }
}
