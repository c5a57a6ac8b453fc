//! One error path: every command reports an error once, on standard error, as text (`error:`, a
//! `caused by:` line per cause, `help:`) or, when it was given `--json`, as one JSON object
//! `{"error": {"kind", "message", "causes", "help"}}`; the kind decides the exit code (user 2,
//! failure 1, interrupted 130, bug 101). Standard output stays empty.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod cli_support;

use cli_support::{custody_offline, run};
use serde_json::Value;

const INSTANCE: &str = "i-0123456789abcdef0";

/// The one JSON object on standard error.
fn json_error(stderr: &str) -> Value {
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line of JSON: {stderr}");
    let value: Value = serde_json::from_str(stderr).unwrap_or_else(|e| panic!("not JSON ({e}): {stderr}"));
    assert_eq!(value.as_object().map(|o| o.len()), Some(1), "{value}");
    value["error"].clone()
}

#[test]
fn a_user_error_under_json_is_one_json_object_on_stderr_and_exit_2() {
    let (code, stdout, stderr) = run(&["check", "--json", "--inventory", "/nonexistent/inventory.json", INSTANCE], "");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    let error = json_error(&stderr);
    assert_eq!(error["kind"], "user", "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(message.starts_with("/nonexistent/inventory.json: cannot read"), "{message}");
    assert!(error["causes"].is_array(), "{error}");
    assert!(error.get("help").is_some(), "{error}");
}

#[test]
fn a_user_error_with_a_hint_is_text_with_a_help_line() {
    let (code, stdout, stderr) = run(&["check", "--inventory", "-", INSTANCE], "{\"instances\": ");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.starts_with("error: <stdin>: "), "{stderr}");
    assert!(stderr.ends_with("\nhelp: the inventory format is documented in docs/inventory-format.md\n"), "{stderr}");
    assert_eq!(stderr.matches("error:").count(), 1, "reported once: {stderr}");
}

#[test]
fn the_hint_is_in_the_json_form_too() {
    let (code, _, stderr) = run(&["plan", "--json", "--inventory", "-", INSTANCE], "[]");
    assert_eq!(code, Some(2), "{stderr}");
    let error = json_error(&stderr);
    assert_eq!(error["kind"], "user");
    assert_eq!(error["help"], "the inventory format is documented in docs/inventory-format.md");
    assert!(error["message"].as_str().unwrap().starts_with("<stdin>: "), "{error}");
}

#[test]
fn a_case_not_in_the_journal_under_json_is_a_user_error_with_its_help() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    let (code, stdout, stderr) = custody_offline(&["show", "IR-404", "--json", "--data-dir", data_dir]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    let error = json_error(&stderr);
    assert_eq!(error["kind"], "user");
    assert!(error["message"].as_str().unwrap().starts_with("case `IR-404` is not in the journal ("), "{error}");
    assert!(error["help"].as_str().unwrap().contains("--data-dir"), "{error}");
}
