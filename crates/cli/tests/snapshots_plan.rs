//! Snapshots of `custody plan`: the readable plan of the bundled examples and of the planner's estate
//! fixture, its JSON, and its refusals (exit 2, nothing on stdout).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod snapshot_support;

use snapshot_support::{snap, Sandbox};

const ESTATE: &str = "crates/plan/tests/fixtures/plan/estate.json";
const INSTANCE: &str = "i-0123456789abcdef0";

#[test]
fn plans() {
    let sb = Sandbox::new();
    snap!("estate", sb.run(&["plan", "--inventory", ESTATE, INSTANCE, "--case", "C1"]));
    snap!(
        "estate-triage-output",
        sb.run(&[
            "plan",
            "--inventory",
            ESTATE,
            INSTANCE,
            "--triage",
            "--output",
            "s3://ir-evidence/C1",
            "--volume-az",
            "eu-west-1a",
        ])
    );
    for (name, file, instance) in [
        ("example-1-unencrypted", "1-unencrypted.json", "i-01a1a1a1a1a1a1a1a"),
        ("example-4-cross-region", "4-cross-region.json", "i-04d4d4d4d4d4d4d4d"),
        ("example-8-cross-account-aws-managed", "8-cross-account-aws-managed.json", "i-08b8b8b8b8b8b8b8b"),
    ] {
        let inventory = format!("examples/inventories/{file}");
        snap!(name, sb.run(&["plan", "--inventory", &inventory, instance]));
    }
    snap!(
        "json",
        sb.run(&["plan", "--inventory", "examples/inventories/1-unencrypted.json", "i-01a1a1a1a1a1a1a1a", "--json"])
    );
    let inventory = std::fs::read_to_string(snapshot_support::workspace().join(ESTATE)).unwrap();
    snap!(
        "stdin-direct-read",
        sb.run_stdin(&["plan", "--inventory", "-", INSTANCE, "--mode", "direct-read"], &inventory)
    );
}

#[test]
fn bad_input() {
    let sb = Sandbox::new();
    let bad = sb.write("bad.json", r#"{"version": "custody-inventory/1", "config": "#);
    snap!("err-malformed-json", sb.run(&["plan", "--inventory", &bad, INSTANCE]));
    let mut wrong: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(snapshot_support::workspace().join(ESTATE)).unwrap()).unwrap();
    wrong["instances"][0]["volumes"][0]["size_gib"] = "eight".into();
    let wrong = sb.write("wrong.json", wrong.to_string());
    snap!("err-json-path", sb.run(&["plan", "--inventory", &wrong, INSTANCE]));
    snap!("err-missing-file", sb.run(&["plan", "--inventory", "/nonexistent/inventory.json", INSTANCE]));
    snap!("err-unknown-instance", sb.run(&["plan", "--inventory", ESTATE, "i-00000000"]));
    snap!("err-impossible-mode", sb.run(&["plan", "--inventory", ESTATE, INSTANCE, "--mode", "grant-only"]));
    snap!("err-bad-to", sb.run(&["plan", "--inventory", ESTATE, INSTANCE, "--to", "12345"]));
    snap!("err-bad-case-id", sb.run(&["plan", "--inventory", ESTATE, INSTANCE, "--case", "IR.7"]));
    snap!("err-missing-instance", sb.run(&["plan", "--inventory", ESTATE]));
    snap!("err-output-without-triage", sb.run(&["plan", "--inventory", ESTATE, INSTANCE, "--output", "s3://b/p"]));
}
