//! The bench's inputs: `cases/policy-set.json` (key policy, three identity policies, two SCP levels,
//! two grants) and one request per file in `cases/requests/`, each with the decision it must get.
//! Each request is merged into the policy set, giving a `custody authz` case file, and parsed once.

use custody_policy::{Case, Decision};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// One parsed case and what it must decide.
pub struct BenchCase {
    /// The request file's name, without `.json`.
    pub name: String,
    pub case: Case,
    expect: Value,
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches").join("cases")
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Loads and parses every case, in file-name order.
pub fn load() -> Result<Vec<BenchCase>, String> {
    let dir = cases_dir();
    let policy_set = read_json(&dir.join("policy-set.json"))?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("requests"))
        .map_err(|e| format!("{}: {e}", dir.join("requests").display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| {
            let file = read_json(path)?;
            let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            let mut case = policy_set.clone();
            let (Some(obj), Some(request)) = (case.as_object_mut(), file.get("request")) else {
                return Err(format!("{}: expected an object with a `request`", path.display()));
            };
            obj.insert("request".into(), request.clone());
            let expect = file.get("expect").cloned().ok_or_else(|| format!("{}: no `expect`", path.display()))?;
            let case = custody_policy::parse_case(&case.to_string()).map_err(|e| format!("{name}: {e}"))?;
            Ok(BenchCase { name, case, expect })
        })
        .collect()
}

impl BenchCase {
    /// Checks `decision` against the file's `expect` (decision, and when given: gate, allowed_by and
    /// denied_by as sets of `<policy>#<statement>`).
    pub fn check(&self, decision: &Decision) -> Result<(), String> {
        let fail = |what: &str, want: &Value, got: &dyn std::fmt::Debug| {
            Err(format!("{}: {what}: expected {want}, got {got:?}", self.name))
        };
        let want = &self.expect["decision"];
        if want.as_str() != Some(decision.kind.as_str()) {
            return fail("decision", want, &decision.kind.as_str());
        }
        if let Some(want) = self.expect.get("gate") {
            let got = decision.gate.map(|g| g.kind.as_str());
            if want.as_str() != got {
                return fail("gate", want, &got);
            }
        }
        let set = |v: &Value| -> BTreeSet<String> {
            v.as_array().into_iter().flatten().filter_map(|s| s.as_str().map(String::from)).collect()
        };
        let hits = |h: &[custody_policy::Hit]| -> BTreeSet<String> { h.iter().map(ToString::to_string).collect() };
        for (field, got) in [("allowed_by", hits(&decision.allowed_by)), ("denied_by", hits(&decision.denied_by))] {
            if let Some(want) = self.expect.get(field) {
                if set(want) != got {
                    return fail(field, want, &got);
                }
            }
        }
        Ok(())
    }
}
