//! Snapshots of `custody acquire --simulate` on the bundled example inventories (each reduced to one
//! volume, so that the simulated calls come in one order: see `Sandbox::one_volume_example`), and of
//! its refusals before anything is touched.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod snapshot_support;

use snapshot_support::{snap, strs, Sandbox, FAILURE, SUCCESS};

#[test]
fn simulated_success() {
    let sb = Sandbox::new();
    snap!("simulate-8-success", sb.run(&strs(&sb.simulate_args(SUCCESS))));
}

#[test]
fn simulated_success_json() {
    let sb = Sandbox::new();
    let mut args = sb.simulate_args(("IR-2", "i-02b2b2b2b2b2b2b2b", "2-aws-managed-same-account.json"));
    args.push("--json".into());
    snap!("simulate-2-json", sb.run(&strs(&args)));
}

#[test]
fn simulated_refused_by_the_preflight() {
    let sb = Sandbox::new();
    snap!("simulate-4-refused-by-preflight", sb.run(&strs(&sb.simulate_args(FAILURE))));
}

#[test]
fn simulated_failure_without_preflight() {
    let sb = Sandbox::new();
    let mut args = sb.simulate_args(FAILURE);
    args.push("--no-preflight".into());
    snap!("simulate-4-no-preflight-failure", sb.run(&strs(&args)));
}

#[test]
fn simulated_examples() {
    let sb = Sandbox::new();
    for acquisition in [
        ("IR-1", "i-01a1a1a1a1a1a1a1a", "1-unencrypted.json"),
        ("IR-5", "i-05e5e5e5e5e5e5e5e", "5-cross-account-grant-only.json"),
        ("IR-9", "i-09c9c9c9c9c9c9c9c", "9-direct-read.json"),
    ] {
        let name = format!("simulate-{}", acquisition.2.trim_end_matches(".json"));
        snap!(name, sb.run(&strs(&sb.simulate_args(acquisition))));
    }
}

#[test]
fn simulated_alias_lag() {
    let sb = Sandbox::new();
    let args = sb.simulate_args(SUCCESS);
    snap!("simulate-8-alias-lag", sb.run_with(&strs(&args), "", &[("CUSTODY_SIM_AUTHZ_LAG", "20")]));
    snap!("err-lag-not-a-number", sb.run_with(&strs(&args), "", &[("CUSTODY_SIM_AUTHZ_LAG", "five minutes")]));
}

#[test]
fn refusals_before_anything_is_touched() {
    let sb = Sandbox::new();
    let data = format!("--data-dir={}", sb.file("never"));
    let example = "examples/inventories/8-cross-account-aws-managed.json";
    let table: &[(&str, &[&str])] = &[
        ("err-bad-instance-id", &["acquire", "i-xyz", "--case", "C1"]),
        ("err-bad-case-id", &["acquire", "i-0123456789abcdef0", "--case", "bad case/7"]),
        ("err-case-id-with-dot", &["acquire", "i-0123456789abcdef0", "--case", "IR.7"]),
        ("err-bad-region", &["acquire", "i-0123456789abcdef0", "--case", "C1", "--region", "west"]),
        (
            "err-bad-role-arn",
            &["acquire", "i-0123456789abcdef0", "--case", "C1", "--forensic-role-arn", "arn:aws:iam::1:user/x"],
        ),
        ("err-bad-key-arn", &["acquire", "i-0123456789abcdef0", "--case", "C1", "--forensic-key-arn", "alias/x"]),
        ("err-missing-case", &["acquire", "i-0123456789abcdef0"]),
        ("err-no-instance", &["acquire", "--case", "C1"]),
        ("err-resume-with-case", &["acquire", "--resume", "C1", "--case", "C1"]),
        (
            "err-simulate-and-inventory",
            &["acquire", "i-0123456789abcdef0", "--case", "C1", "--simulate", example, "--inventory", example],
        ),
        ("err-simulate-resume", &["acquire", "--resume", "C1", "--simulate", example]),
        (
            "err-simulate-missing-inventory",
            &["acquire", "i-0123456789abcdef0", "--case", "C1", "--simulate", "no-such.json"],
        ),
        ("err-simulate-unknown-instance", &["acquire", "i-0123456789abcdef0", "--case", "C1", "--simulate", example]),
        ("err-inventory-unknown-instance", &["acquire", "i-0123456789abcdef0", "--case", "C1", "--inventory", example]),
        ("err-bad-parallel", &["acquire", "i-0123456789abcdef0", "--case", "C1", "--parallel", "0"]),
    ];
    for (name, args) in table {
        snap!(*name, sb.run(&[*args, &[data.as_str()]].concat()));
    }
    let bad = sb.write("bad.json", "{\"version\": ");
    snap!(
        "err-malformed-inventory",
        sb.run(&["acquire", "i-01a1a1a1a1a1a1a1a", "--case", "IR-7", "--inventory", &bad, &data])
    );
    assert!(!sb.path().join("never").exists(), "a refusal created the data directory");
}

#[test]
fn resume_of_a_case_the_journal_does_not_have() {
    // Refused (exit 2), but the journal is created first (in the sandbox's data directory).
    let sb = Sandbox::new();
    snap!("err-resume-unknown-case", sb.run(&["acquire", "--resume", "C1"]));
}
