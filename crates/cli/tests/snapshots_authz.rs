//! Snapshots of `custody authz`: the decisions on the bundled examples, in text, JSON and batch, and
//! its refusals of bad input (exit 2: the file, the line of a batch, the JSON path).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod snapshot_support;

use snapshot_support::{snap, Sandbox};

const GOOD: &str = r#"{"request":{"principal":"arn:aws:iam::111111111111:user/alice","action":"s3:GetObject","resource":"arn:aws:s3:::b/k"},"identity_policies":[{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}]}"#;

#[test]
fn decisions_on_the_examples() {
    let sb = Sandbox::new();
    for (name, file) in [
        ("allowed-by-grant", "customer-key-option1-grant-only.json"),
        ("explicit-deny-scp", "scp-region-deny.json"),
        ("implicit-deny-missing-iam", "customer-key-option2-cross-account-missing-iam.json"),
        ("ssm-untagged", "ssm-sendcommand-untagged.json"),
        ("cross-region-condition", "cross-region-condition-precludes.json"),
    ] {
        snap!(name, sb.run(&["authz", &format!("examples/authz/{file}")]));
    }
    snap!("json", sb.run(&["authz", "--json", "examples/authz/scp-region-deny.json"]));
    snap!("batch", sb.run(&["authz", "--batch", "examples/authz/batch.jsonl"]));
    snap!("batch-json", sb.run(&["authz", "--batch", "--json", "examples/authz/batch.jsonl"]));
    snap!("stdin", sb.run_stdin(&["authz", "-"], GOOD));
}

#[test]
fn bad_input() {
    let sb = Sandbox::new();
    snap!("err-missing-file", sb.run(&["authz", "/nonexistent/case.json"]));
    snap!("err-malformed-json", sb.run_stdin(&["authz", "-"], "{\"request\": "));
    snap!("err-not-an-object", sb.run_stdin(&["authz", "-"], "[1,2]"));
    snap!("err-missing-request", sb.run_stdin(&["authz", "-"], "{}"));
    let bad_effect = GOOD.replace(r#""Effect":"Allow""#, r#""Effect":"Permit""#);
    snap!("err-bad-effect-json-path", sb.run_stdin(&["authz", "-"], &bad_effect));
    snap!("err-bad-effect-json-flag", sb.run_stdin(&["authz", "--json", "-"], &bad_effect));
    snap!("err-nul-byte", sb.run_stdin(&["authz", "-"], "\u{0}"));
    let batch = format!("{GOOD}\n\n{}\n{GOOD}\n", GOOD.replace("s3:GetObject", "GetObject"));
    snap!("err-batch-bad-line", sb.run_stdin(&["authz", "--batch", "-"], &batch));
    let not_utf8 = sb.write("not-utf8.json", b"{\"request\": \"\xff\"}");
    snap!("err-not-utf8", sb.run(&["authz", &not_utf8]));
    snap!("err-missing-argument", sb.run(&["authz"]));
    snap!("err-directory", sb.run(&["authz", "examples"]));
}
