//! The conformance corpus through the binary: every valid case in one `custody authz --json --batch`
//! run (answers must come back in order, one line each), every invalid case on its own (exit 2, the
//! JSON path in the message, nothing on standard output).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

#[path = "../../policy/tests/corpus_support/mod.rs"]
mod corpus_support;

use assert_cmd::Command;
use corpus_support::{check_entry, corpus_dir, load_corpus};
use serde_json::Value;

#[test]
fn corpus_through_the_cli_batch() {
    let entries = load_corpus(&corpus_dir(env!("CARGO_MANIFEST_DIR")));
    let (invalid, valid): (Vec<_>, Vec<_>) = entries.iter().partition(|e| e.expect.get("error").is_some());
    let batch: String = valid.iter().map(|e| format!("{}\n", e.case)).collect();
    let out = Command::cargo_bin("custody")
        .unwrap()
        .args(["authz", "--json", "--batch", "-"])
        .write_stdin(batch)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), valid.len(), "one answer per case, in order");
    let mut failures: Vec<String> = valid.iter().zip(&lines).filter_map(|(e, x)| check_entry(e, Ok(x)).err()).collect();
    for e in &invalid {
        let out = Command::cargo_bin("custody")
            .unwrap()
            .args(["authz", "--json", "-"])
            .write_stdin(e.case.to_string())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if out.status.code() != Some(2) || !out.stdout.is_empty() {
            failures.push(format!("[{}] expected exit 2 and no output, got {:?}", e.id, out.status.code()));
        } else if let Err(f) = check_entry(e, Err(stderr)) {
            failures.push(f);
        }
    }
    assert!(failures.is_empty(), "{} corpus cases failed through the CLI:\n{}", failures.len(), failures.join("\n"));
}
