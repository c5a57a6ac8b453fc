//! Snapshots of `custody check`: the preflight of the bundled examples in each format, and its
//! refusals of bad input (exit 2, nothing on stdout). The text report of every example is also in
//! `check_examples.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod snapshot_support;

use snapshot_support::{snap, Sandbox};

const FIXTURE: &str = "crates/plan/tests/fixtures/check/inventory.json";
const INSTANCE: &str = "i-0123456789abcdef0";
const ONE: &str = "examples/inventories/1-unencrypted.json";
const ONE_INSTANCE: &str = "i-01a1a1a1a1a1a1a1a";

#[test]
fn reports() {
    let sb = Sandbox::new();
    snap!("pass-text", sb.run(&["check", "--inventory", ONE, ONE_INSTANCE, "--case", "IR-1"]));
    snap!("pass-json", sb.run(&["check", "--inventory", ONE, ONE_INSTANCE, "--json"]));
    snap!("pass-md", sb.run(&["check", "--inventory", ONE, ONE_INSTANCE, "--format", "md"]));
    snap!("pass-html", sb.run(&["check", "--inventory", ONE, ONE_INSTANCE, "--format", "html"]));
    snap!("fail-text", sb.run(&["check", "--inventory", FIXTURE, INSTANCE]));
    snap!(
        "fail-4-cross-region",
        sb.run(&["check", "--inventory", "examples/inventories/4-cross-region.json", "i-04d4d4d4d4d4d4d4d"])
    );
    snap!(
        "unknown-triage-s3",
        sb.run(&[
            "check",
            "--inventory",
            "examples/inventories/triage.json",
            "i-0e7e7e7e7e7e7e7e7",
            "--triage",
            "--output",
            "s3://ir-evidence/ir",
        ])
    );
    // `--audit`: the CloudTrail look-ups of `custody audit`, in both accounts; the source role without
    // the `audit` feature's statement is refused, and the fix names the feature.
    let five = "examples/inventories/5-cross-account-grant-only.json";
    let text = std::fs::read_to_string(snapshot_support::workspace().join(five)).unwrap();
    let mut inv: serde_json::Value = serde_json::from_str(&text).unwrap();
    for p in inv["principals"].as_array_mut().unwrap() {
        if p["arn"] == "arn:aws:iam::111122223333:role/CustodySource" {
            let statements = p["identity_policies"][0]["Statement"].as_array_mut().unwrap();
            statements.retain(|s| s["Sid"] != "AuditReadCloudTrailEventHistory");
        }
    }
    snap!(
        "fail-audit-source-role",
        sb.run_stdin(&["check", "--inventory", "-", "i-05e5e5e5e5e5e5e5e", "--audit"], &inv.to_string())
    );
}

#[test]
fn bad_input() {
    let sb = Sandbox::new();
    let fixture = std::fs::read_to_string(snapshot_support::workspace().join(FIXTURE)).unwrap();
    let mut bad_policy: serde_json::Value = serde_json::from_str(&fixture).unwrap();
    bad_policy["keys"][0]["policy"]["Statement"][0]["Effect"] = "Permit".into();
    let args = ["check", "--inventory", "-", INSTANCE];
    snap!("err-malformed-json", sb.run_stdin(&args, "{\"version\": "));
    snap!("err-json-path", sb.run_stdin(&args, &bad_policy.to_string()));
    snap!("err-json-path-json-flag", sb.run_stdin(&[&args[..], &["--json"]].concat(), &bad_policy.to_string()));
    snap!("err-missing-file", sb.run(&["check", "--inventory", "/nonexistent/inventory.json", INSTANCE]));
    snap!("err-unknown-instance", sb.run(&["check", "--inventory", FIXTURE, "i-0fffffffffffffff0"]));
    let base = ["check", "--inventory", FIXTURE, INSTANCE];
    snap!("err-bad-to", sb.run(&[&base[..], &["--to", "12:eu-west-1"]].concat()));
    snap!("err-bad-mode", sb.run(&[&base[..], &["--mode", "fast"]].concat()));
    snap!("err-bad-format", sb.run(&[&base[..], &["--format", "pdf"]].concat()));
    snap!("err-json-and-format", sb.run(&[&base[..], &["--json", "--format", "md"]].concat()));
    snap!("err-bad-case-id", sb.run(&[&base[..], &["--case", "bad case/7"]].concat()));
    snap!("err-output-without-triage", sb.run(&[&base[..], &["--output", "s3://ir-evidence/ir"]].concat()));
    snap!("err-missing-inventory", sb.run(&["check", INSTANCE]));
}
