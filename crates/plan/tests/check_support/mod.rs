//! Shared by the preflight tests: the fixture inventory, the scenario plans (JSON, with `${VAR}`
//! placeholders), and an applier that puts a fix's changes into a request's case file on its own, so
//! that fixes are re-evaluated independently of the code that made them.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test support: each test crate uses a part of it, and fails loudly"
)]

use custody_plan::check::fix::{ChangeAction, Fix};
use custody_plan::check::{CheckReport, RequestCheck, StepCheck};
use custody_plan::inventory::{parse_inventory, Inventory};
use custody_plan::plan::{AuthzRequest, Call, ContextEntry, Phase, Plan, PlannedGrant, PlannedKey, PolicyScope, Step};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/check");

pub const FR: &str = "arn:aws:iam::111111111111:role/CustodyResponse";
pub const FS: &str = "arn:aws:sts::111111111111:assumed-role/CustodyResponse/CASE";
pub const SR: &str = "arn:aws:iam::222222222222:role/forensics/CustodySource";
pub const K_SRC: &str = "arn:aws:kms:eu-west-3:222222222222:key/1111aaaa-2222-3333-4444-555566667777";
pub const K_STRICT: &str = "arn:aws:kms:eu-west-3:222222222222:key/4444dddd-2222-3333-4444-555566667777";
pub const K_REGION: &str = "arn:aws:kms:eu-west-3:111111111111:key/9999ffff-8888-7777-6666-555544443333";
pub const K_NOPOL: &str = "arn:aws:kms:eu-west-3:222222222222:key/3333cccc-2222-3333-4444-555566667777";

/// The fixture inventory as JSON, to patch before loading.
pub fn inventory_json() -> Value {
    let text = std::fs::read_to_string(format!("{DIR}/inventory.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Loads an inventory through the real parser.
pub fn load(inv: &Value) -> Inventory {
    parse_inventory(&inv.to_string()).unwrap_or_else(|e| panic!("fixture inventory: {e}"))
}

/// The fixture inventory, loaded.
pub fn inventory() -> Inventory {
    load(&inventory_json())
}

/// The principal of the inventory JSON with this ARN.
pub fn principal_mut<'a>(inv: &'a mut Value, arn: &str) -> &'a mut Value {
    inv["principals"].as_array_mut().unwrap().iter_mut().find(|p| p["arn"] == arn).unwrap()
}

/// The key of the inventory JSON with this ARN.
pub fn key_mut<'a>(inv: &'a mut Value, arn: &str) -> &'a mut Value {
    inv["keys"].as_array_mut().unwrap().iter_mut().find(|k| k["arn"] == arn).unwrap()
}

fn substitute(v: &Value, vars: &BTreeMap<String, String>) -> Value {
    match v {
        Value::String(s) => {
            let mut s = s.clone();
            for (k, val) in vars {
                s = s.replace(&format!("${{{k}}}"), val);
            }
            Value::String(s)
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| substitute(x, vars)).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, x)| (k.clone(), substitute(x, vars))).collect()),
        other => other.clone(),
    }
}

/// The plan of scenario `name` of `scenarios.json`.
pub fn scenario(name: &str) -> Plan {
    let text = std::fs::read_to_string(format!("{DIR}/scenarios.json")).unwrap();
    let all: Value = serde_json::from_str(&text).unwrap();
    let vars: BTreeMap<String, String> = serde_json::from_value(all["vars"].clone()).unwrap();
    let s = all["scenarios"].get(name).unwrap_or_else(|| panic!("no scenario {name}"));
    plan_from_json(&substitute(s, &vars))
}

fn string(v: &Value, field: &str) -> String {
    v[field].as_str().unwrap_or_else(|| panic!("`{field}` in {v}")).to_string()
}

fn opt(v: &Value, field: &str) -> Option<String> {
    v.get(field).and_then(Value::as_str).map(str::to_string)
}

/// A plan from `{"steps": [...]}`; the plan's accounts and Regions are the fixture's.
pub fn plan_from_json(v: &Value) -> Plan {
    Plan {
        instance_id: "i-0123456789abcdef0".into(),
        case_id: "CASE".into(),
        run_id: String::new(),
        source_account: "222222222222".into(),
        source_region: "eu-west-3".into(),
        dest_account: "111111111111".into(),
        dest_region: "eu-west-1".into(),
        volumes: Vec::new(),
        steps: v["steps"].as_array().unwrap().iter().map(step_from_json).collect(),
        notes: Vec::new(),
    }
}

pub fn step_from_json(s: &Value) -> Step {
    let phase = match s["phase"].as_str().unwrap() {
        "discover" => Phase::Discover,
        "snapshot" => Phase::Snapshot,
        "transfer" => Phase::Transfer,
        "read" => Phase::Read,
        "triage" => Phase::Triage,
        "cleanup" => Phase::Cleanup,
        other => panic!("phase {other}"),
    };
    let list = |field: &str| s.get(field).and_then(Value::as_array).cloned().unwrap_or_default();
    Step {
        id: string(s, "id"),
        title: string(s, "title"),
        phase,
        // The preflight never reads actions (only the executor does): any will do for these fixtures.
        action: custody_plan::plan::Action::Discover,
        volume_id: opt(s, "volume_id"),
        calls: list("calls").iter().map(call_from_json).collect(),
        creates_grants: list("creates_grants")
            .iter()
            .map(|g| PlannedGrant { key_arn: string(g, "key_arn"), grant: g["grant"].clone() })
            .collect(),
        creates_keys: list("creates_keys")
            .iter()
            .map(|k| PlannedKey {
                arn: string(k, "arn"),
                aliases: serde_json::from_value(k["aliases"].clone()).unwrap(),
                policy: k["policy"].clone(),
            })
            .collect(),
    }
}

fn call_from_json(c: &Value) -> Call {
    let requests: Vec<AuthzRequest> = c["requests"].as_array().unwrap().iter().map(request_from_json).collect();
    let signer = requests.first().map(|r| r.principal.clone()).unwrap_or_default();
    let account = signer.split(':').nth(4).unwrap_or_default().to_string();
    Call { api: string(c, "api"), account, region: "eu-west-1".into(), signer, requests, when: None }
}

pub fn request_from_json(r: &Value) -> AuthzRequest {
    let context = r
        .get("context")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let entry = match v {
                        Value::Array(a) => {
                            ContextEntry::Multi(a.iter().map(|x| x.as_str().unwrap().to_string()).collect())
                        }
                        Value::String(s) => ContextEntry::Single(s.clone()),
                        other => ContextEntry::Single(other.to_string()),
                    };
                    (k.clone(), entry)
                })
                .collect()
        })
        .unwrap_or_default();
    let scope = match r.get("scope").and_then(Value::as_str) {
        None | Some("all") => PolicyScope::All,
        Some("identity") => PolicyScope::Identity,
        Some("resource") => PolicyScope::Resource,
        Some(other) => panic!("scope {other}"),
    };
    AuthzRequest {
        principal: string(r, "principal"),
        action: string(r, "action"),
        resource: string(r, "resource"),
        resource_account: opt(r, "resource_account"),
        context,
        grant_id: opt(r, "grant_id"),
        scope,
        why: opt(r, "why").unwrap_or_else(|| "test fixture".into()),
        source: String::new(),
        inferred: opt(r, "inferred"),
    }
}

/// The step with this id.
pub fn step<'a>(report: &'a CheckReport, id: &str) -> &'a StepCheck {
    report.steps.iter().find(|s| s.id == id).unwrap_or_else(|| panic!("no step {id}"))
}

/// The request of a step with this action (the first, or the `n`th).
pub fn request<'a>(report: &'a CheckReport, step_id: &str, action: &str) -> &'a RequestCheck {
    step(report, step_id)
        .requests
        .iter()
        .find(|r| r.action == action)
        .unwrap_or_else(|| panic!("no {action} in {step_id}"))
}

fn statements_mut(doc: &mut Value) -> &mut Vec<Value> {
    if let Value::String(s) = doc {
        *doc = serde_json::from_str(s).unwrap();
    }
    let stmt = &mut doc["Statement"];
    if stmt.is_object() {
        *stmt = json!([stmt.clone()]);
    }
    stmt.as_array_mut().unwrap()
}

/// The JSON at a case field such as `resource_policy`, `identity_policies[1]` or `scps[1][0]`.
fn field_mut<'a>(case: &'a mut Value, field: &str) -> &'a mut Value {
    let mut parts = field.split('[');
    let mut at = &mut case[parts.next().unwrap()];
    for p in parts {
        let i: usize = p.trim_end_matches(']').parse().unwrap();
        at = &mut at[i];
    }
    at
}

/// Applies every change of `fix` that lands in this request's case, as its `case_field` says.
pub fn apply(case: &Value, fix: &Fix) -> Value {
    let mut case = case.clone();
    for c in &fix.changes {
        let Some(field) = &c.case_field else { continue };
        let j = c.json.clone().unwrap();
        match (c.action, field.as_str()) {
            (ChangeAction::AddStatement, "identity_policies") => {
                let list = case.as_object_mut().unwrap().entry("identity_policies").or_insert(json!([]));
                list.as_array_mut().unwrap().push(json!({"Version": "2012-10-17", "Statement": [j]}));
            }
            (ChangeAction::AddStatement, f) if f.starts_with("scps[") && f.matches('[').count() == 1 => {
                field_mut(&mut case, f)
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"Version": "2012-10-17", "Statement": [j]}));
            }
            (ChangeAction::AddStatement, f) => statements_mut(field_mut(&mut case, f)).push(j),
            (ChangeAction::ReplaceStatement, f) => statements_mut(field_mut(&mut case, f))[c.statement.unwrap()] = j,
            (ChangeAction::RunCommand | ChangeAction::CustodyCreatesGrant, "grants") => {
                let list = case.as_object_mut().unwrap().entry("grants").or_insert(json!([]));
                list.as_array_mut().unwrap().push(j);
            }
            (ChangeAction::ReplaceGrant, f) => *field_mut(&mut case, f) = j,
            (action, f) => panic!("cannot apply {action:?} at {f}"),
        }
    }
    case
}

/// The engine's decision on a case file.
pub fn decide(case: &Value) -> &'static str {
    let parsed = custody_policy::Case::from_json(case).unwrap_or_else(|e| panic!("{e}: {case}"));
    custody_policy::evaluate(&parsed).kind.as_str()
}
