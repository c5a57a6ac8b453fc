//! Every bundled example (examples/authz/, built from the product documents in shared/seeds) gives
//! the decision its `expect` field states, alone and in the JSON Lines batch.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use assert_cmd::Command;
use serde_json::Value;
use std::path::PathBuf;

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/authz")
}

fn custody(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("custody").unwrap().args(args).output().unwrap()
}

/// (decision, gate kind) of an expectation or of a result.
fn verdict(v: &Value) -> (String, String) {
    let gate = match &v["gate"] {
        Value::String(s) => s.clone(),
        g => g["kind"].as_str().unwrap_or_default().to_string(),
    };
    (v["decision"].as_str().unwrap_or_default().to_string(), gate)
}

#[test]
fn every_example_gives_its_documented_decision() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 16, "expected the seed examples, found {}", files.len());
    for file in files {
        let case: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert!(case["description"].as_str().is_some_and(|d| !d.is_empty()), "{} has no description", file.display());
        let out = custody(&["authz", "--json", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{}", file.display());
        let result: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(verdict(&result), verdict(&case["expect"]), "{}: {}", file.display(), result["summary"]);
        // The readable report says the same.
        let text = String::from_utf8(custody(&["authz", file.to_str().unwrap()]).stdout).unwrap();
        let headline = if result["decision"] == "allowed" { "ALLOWED" } else { "DENIED" };
        assert!(text.starts_with(headline), "{}: {text}", file.display());
    }
}

#[test]
fn the_batch_answers_every_line_in_order() {
    let batch = examples_dir().join("batch.jsonl");
    let lines: Vec<Value> =
        std::fs::read_to_string(&batch).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let out = custody(&["authz", "--json", "--batch", batch.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let answers: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(answers.len(), lines.len());
    for (case, answer) in lines.iter().zip(&answers) {
        assert_eq!(verdict(answer), verdict(&case["expect"]), "{}", answer["summary"]);
    }
}

#[test]
fn an_implicit_deny_names_the_condition_that_precludes_the_region() {
    // Seeds 000-002, "Cross Region": the policy conditions must not preclude the tool's region.
    let file = examples_dir().join("cross-region-condition-precludes.json");
    let out = custody(&["authz", "--json", file.to_str().unwrap()]);
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    let miss = &result["near_misses"][0];
    assert_eq!(miss["reason"], "condition");
    assert_eq!(miss["condition"]["key"], "kms:ViaService");
    assert_eq!(miss["condition"]["values"][0], "ec2.eu-west-3.amazonaws.com");
    assert_eq!(miss["condition"]["request_values"][0], "ec2.eu-west-1.amazonaws.com");
}
